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
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def die_with_parent() -> None:
    """Be killed when the server dies, however it dies (a wedged host would otherwise spin on)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
