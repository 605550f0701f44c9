"""A listening socket of its own for each `flux-edge serve` worker, so the kernel spreads
connections over the workers.

uvicorn's workers share one socket bound by the supervisor and race to accept from it, and
asyncio accepts every connection waiting at each wake-up: the first worker to wake takes most of a
burst of keep-alive connections (a proxy's pool, a load generator's) and keeps them (measured: the
busier of two workers did 64-100 % of a 16-connection burst's work in 7 of 12 fresh starts;
docs/decisions.md). On Linux each worker
binds its own socket into one SO_REUSEPORT group instead, and the kernel hands each new connection
to one of them by a hash of its addresses.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator

from uvicorn.config import STARTUP_FAILURE

SPREADS_CONNECTIONS = sys.platform == "linux"  # elsewhere SO_REUSEPORT does not balance


class WorkerListeners(list[socket.socket]):
    """The list of sockets uvicorn hands each worker: read in a worker, it holds that process's
    own listener, bound on first read (uvicorn reads it once its app has loaded, to listen, and
    again at shutdown, to close). The supervisor only passes it on and never reads it."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__()
        self._address = (host, port)
        self._owner: int | None = None

    def __iter__(self) -> Iterator[socket.socket]:
        if self._owner != os.getpid():  # a worker forked with the supervisor's empty list
            try:
                self[:] = [reuse_port_listener(*self._address)]
            except OSError as exc:
                # As uvicorn's own bind does: the supervisor stops instead of restarting workers.
                host, port = self._address
                print(f"flux-edge: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
                raise SystemExit(STARTUP_FAILURE) from None
            self._owner = os.getpid()
        return super().__iter__()


def reuse_port_listener(host: str, port: int) -> socket.socket:
    """A socket bound to `host:port` in the port's SO_REUSEPORT group (not yet listening). IPv6
    only for an IPv6 address, as uvicorn's own bind for several workers: `localhost` is
    127.0.0.1."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
