"""JSON from an untrusted party is bounded before it is parsed: a document nested deeper
than the C parser's stack (under a megabyte) is refused instead of killing the process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral import bounded_json


def test_deep_nesting_is_refused_before_the_parser_sees_it():
    deep = "[" * 200_000 + "]" * 200_000  # 400 KB: enough to overflow the C stack in json.loads
    with pytest.raises(bounded_json.JsonTooLarge, match="deeper than 32"):
        bounded_json.loads(deep, max_bytes=1024 * 1024)


def test_the_signer_process_survives_the_document_that_crashed_it():
    """In a child process, so that if the bound failed the crash would not take pytest down."""
    script = ("from corral import bounded_json\n"
              "try:\n bounded_json.loads('{\"a\":' * 200000 + '1' + '}' * 200000, max_bytes=10**7)\n"
              "except bounded_json.JsonTooLarge as e:\n print('refused', e)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("refused"), (done.returncode, done.stderr[-500:])


def test_size_is_bounded_and_brackets_inside_strings_do_not_count():
    with pytest.raises(bounded_json.JsonTooLarge, match="characters"):
        bounded_json.loads('"' + "x" * 300_000 + '"')
    assert bounded_json.loads('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "b": "\\\\", "c": [1]}')["c"] == [1]
    assert bounded_json.nesting_depth('["\\"[[[", [[]]]') == 3


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), lambda children: st.lists(children) | st.dictionaries(st.text(), children),
                    max_leaves=20))
def test_depth_is_counted_as_the_parser_nests(value):
    text = json.dumps(value)

    def depth(v) -> int:
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        return 0

    assert bounded_json.nesting_depth(text) == depth(value)
    assert bounded_json.loads(text, max_depth=depth(value)) == value
