"""Overwriting key bytes in memory once they are no longer needed.

Python gives no guarantee here: the interpreter may have copied a value before we wipe
it, and `bytes` are immutable by contract. What this does is the most the language
allows: zero the buffers of the objects that hold a decrypted key (in place, through
ctypes for `bytes`), so a later memory dump, core file or swap page is less likely to
hold it. Core dumps are also turned off for the signer process (see `signer.server`).
"""

from __future__ import annotations

import ctypes
import sys

# CPython lays out a bytes object's data right after its header; getsizeof(b"") is the
# header plus the trailing NUL byte.
_BYTES_DATA_OFFSET = sys.getsizeof(b"") - 1


def wipe(buffer: bytes | bytearray | None) -> None:
    """Zeroes `buffer` in place."""
    if buffer is None:
        return
    if isinstance(buffer, bytearray):
        buffer[:] = bytes(len(buffer))
    elif isinstance(buffer, bytes) and len(buffer) > 1:
        # Length 0 and 1 bytes objects are shared interpreter singletons: never touch them.
        ctypes.memset(id(buffer) + _BYTES_DATA_OFFSET, 0, len(buffer))
