"""Small process helpers shared by the server (reading a host's memory) and the hosts themselves.

Apart from host.py so that the server's side of hosting does not import V8.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

_PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024
_PR_SET_PDEATHSIG = 1


def process_rss(pid: int | str = "self") -> int:
    """Resident memory of a process in bytes (0 once it is gone)."""
    if pid == "self":
        return _own_rss()
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


# A host reads its own RSS after every call: its statm stays open and is re-read from offset 0
# (the kernel renders it afresh on each read), one pread instead of open, read and close.
_own_statm: int | None = None


def _own_rss() -> int:
    global _own_statm
    try:
        if _own_statm is None:
            _own_statm = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
        return int(os.pread(_own_statm, 128, 0).split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _forget_own_statm() -> None:
    """In a forked child: the inherited descriptor still shows the parent's memory."""
    global _own_statm
    if _own_statm is not None:
        with contextlib.suppress(OSError):
            os.close(_own_statm)
        _own_statm = None


os.register_at_fork(after_in_child=_forget_own_statm)


def die_with_parent() -> None:
    """Be killed when the server dies, however it dies (a wedged host would otherwise spin on)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
