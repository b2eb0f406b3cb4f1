"""Agent-chosen text shown by the CLI cannot drive the author's terminal."""

from corral_cli.display import printable


def test_control_and_format_characters_are_escaped():
    assert printable("a\x1b]0;owned\x07b\r\nc\u202ed") == "a\\x1b]0;owned\\x07b\\r\\nc\\u202ed"
    assert printable("plain – text, ünïcode") == "plain – text, ünïcode"


def test_long_text_is_cut_and_says_so():
    assert printable("x" * 10, limit=4) == "xxxx…"
    assert printable("x" * 10, limit=None) == "x" * 10
