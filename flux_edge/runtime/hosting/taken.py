"""Which calls an isolate host has taken, kept in memory the server and the host share.

A call the host has taken may have run some of its code, so when the host dies the server must
not run it again; a call it never took is safe to run on another host. Calls reach a host in
increasing id order, so one number says which it took: the id of the last one. The host stores
it in a small shared memory file before any code of those calls can run. A store is all it
costs: no message, no system call, no wake-up of the server (a `Taken` message per frame of
calls cost about a tenth of a hosted call's throughput, docs/performance.md). The number
outlives the host, and the server reads it once the host is gone.
"""

from __future__ import annotations

import mmap
import os
import struct

_MARK = struct.Struct("<Q")


class TakenMark:
    """The id of the last call a host took (0: none yet), shared through a memfd."""

    __slots__ = ("_map",)

    def __init__(self, fd: int) -> None:
        """Map the file `fd` (the caller may close `fd` afterwards; the map stays)."""
        self._map = mmap.mmap(fd, _MARK.size)  # MAP_SHARED: both processes see one page

    @classmethod
    def create(cls) -> tuple[TakenMark, int]:
        """A fresh mark, and its file's descriptor to hand to the host (close it once sent)."""
        fd = os.memfd_create("flux-edge-taken", os.MFD_CLOEXEC)
        try:
            os.ftruncate(fd, _MARK.size)
            return cls(fd), fd
        except BaseException:
            os.close(fd)
            raise

    def take(self, call_id: int) -> None:
        """Record that call `call_id`, and every call sent before it, has been taken."""
        _MARK.pack_into(self._map, 0, call_id)

    def taken(self, call_id: int) -> bool:
        """Whether call `call_id` has been taken (its code may have run)."""
        last: int = _MARK.unpack_from(self._map, 0)[0]
        return call_id <= last

    def close(self) -> None:
        """Unmap the page."""
        self._map.close()
