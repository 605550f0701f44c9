"""A counter shared by every process using one database, moved after each change to functions.

`Store.change_counter()` is read on every invocation to decide whether cached function rows are
still good. `PRAGMA data_version` answers that too, but costs a statement per call and moves with
every execution batch as well; this is one 8-byte read of a memory-mapped file beside the
database. Writers bump it after their commit, so a reader that sees the new value also sees the
change. Two bumps racing may lose one increment; the value still moves, which is all readers need.
"""

from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path

_COUNTER = struct.Struct("<Q")


class FunctionGeneration:
    """The shared counter at `<database>.gen`."""

    def __init__(self, database: Path) -> None:
        path = database.with_name(database.name + ".gen")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _COUNTER.size:
                # Written, not truncated: a sparse page written through the map on a full disk
                # would be a SIGBUS.
                os.pwrite(fd, bytes(_COUNTER.size), 0)
            self._map = mmap.mmap(fd, _COUNTER.size)
        finally:
            os.close(fd)

    def value(self) -> int:
        """The current generation."""
        return int(_COUNTER.unpack_from(self._map)[0])

    def bump(self) -> None:
        """Announce a committed change to functions."""
        _COUNTER.pack_into(self._map, 0, (self.value() + 1) % 2**64)

    def close(self) -> None:
        """Unmap the file."""
        self._map.close()
