"""A fixed-size hash table of GCRA TATs in a memory-mapped file that every worker process maps.

Each slot is (64-bit key hash, TAT as a float); slots come in groups of eight, and a key lives in
the group its hash picks. A check locks only that group's bytes (a POSIX record lock, held for a few
microseconds of arithmetic), so workers see one budget without a server or a database commit. The
file holds hashes only, never a token. Losing it (a reboot, a deleted file) only refills budgets.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
from collections.abc import Callable
from pathlib import Path

import structlog

from flux_edge.ratelimit.gcra import Decision, gcra
from flux_edge.ratelimit.policy import Limit

log = structlog.get_logger("flux_edge.ratelimit")

_MAGIC = b"FXRL0001"
_HEADER = struct.Struct("<8sII")  # magic, slot count, slots per group
_HEADER_BYTES = 64
_GROUP = 8
_SLOT = struct.Struct("<Qd")
_GROUP_LAYOUT = struct.Struct("<" + "Qd" * _GROUP)
_GROUP_BYTES = _GROUP_LAYOUT.size
DEFAULT_SLOTS = 1 << 16  # 1 MiB: room for tens of thousands of active keys
_HASH_CACHE_SIZE = 10_000


def _key_hash(key: str) -> int:
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") or 1  # 0 marks an empty slot


class SharedTable:
    """GCRA state shared by all processes that open the same file. Use from one thread per process
    (POSIX record locks exclude other processes, not other threads of the same one)."""

    def __init__(
        self, path: Path, *, slots: int = DEFAULT_SLOTS, clock: Callable[[], float]
    ) -> None:
        self._groups = max(1, slots // _GROUP)
        self._size = _HEADER_BYTES + self._groups * _GROUP_BYTES
        self._clock = clock
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            self._initialise()
            self._map = mmap.mmap(self._fd, self._size)
        except BaseException:
            os.close(self._fd)
            raise
        self._evictions_logged = 0
        # Callers repeat (one token, one function): each key's hash and the slot it was last in,
        # which saves a BLAKE2b and, while the key keeps its slot, the search of its group.
        self._places: dict[str, tuple[int, int, int]] = {}  # key -> hash, group offset, slot

    def _initialise(self) -> None:
        # Whole-file flock (a separate lock family from the record locks) so that only one of the
        # workers starting together formats the file.
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            header = os.pread(self._fd, _HEADER.size, 0)
            expected = _HEADER.pack(_MAGIC, self._groups * _GROUP, _GROUP)
            if os.fstat(self._fd).st_size != self._size or header != expected:
                os.ftruncate(self._fd, 0)
                os.ftruncate(self._fd, self._size)
                os.pwrite(self._fd, expected, 0)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def check(self, key: str, limit: Limit) -> Decision:
        """Count one request of `key` against `limit` and say whether it is admitted."""
        place = self._places.get(key)
        if place is None:
            if len(self._places) >= _HASH_CACHE_SIZE:
                self._places.clear()
            key_hash = _key_hash(key)
            place = (key_hash, _HEADER_BYTES + (key_hash % self._groups) * _GROUP_BYTES, -1)
        key_hash, offset, slot = place
        fcntl.lockf(self._fd, fcntl.LOCK_EX, _GROUP_BYTES, offset)
        try:
            now = self._clock()
            at = offset + slot * _SLOT.size
            # Still the key's slot (no other process has given it to another key since)?
            if slot < 0 or _SLOT.unpack_from(self._map, at)[0] != key_hash:
                group = _GROUP_LAYOUT.unpack_from(self._map, offset)
                slot = self._slot_for(key_hash, group, now)
                at = offset + slot * _SLOT.size
                self._places[key] = (key_hash, offset, slot)
            stored_hash, stored = _SLOT.unpack_from(self._map, at)
            if stored_hash != key_hash:
                stored = 0.0  # a free slot, or one taken from the key closest to refilled
            new_tat, decision = gcra(stored, now, limit)
            if decision.allowed or stored_hash != key_hash:
                _SLOT.pack_into(self._map, at, key_hash, new_tat)
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, _GROUP_BYTES, offset)
        return decision

    def _slot_for(self, key_hash: int, group: tuple[float | int, ...], now: float) -> int:
        """The key's slot, else a free one (empty or refilled), else the one closest to refilled."""
        free = -1
        oldest, oldest_tat = 0, float("inf")
        for slot in range(_GROUP):
            stored_hash, tat = group[2 * slot], group[2 * slot + 1]
            if stored_hash == key_hash:
                return slot
            if free < 0 and (stored_hash == 0 or tat <= now):
                free = slot
            if tat < oldest_tat:
                oldest, oldest_tat = slot, float(tat)
        if free >= 0:
            return free
        # Every slot holds a live key: the evicted key gets a fresh budget, which errs on the side
        # of admitting. Logged sparingly; a bigger table fixes it.
        if self._evictions_logged < 10:
            self._evictions_logged += 1
            log.warning("rate_limit_table_full", slots=self._groups * _GROUP)
        return oldest

    def close(self) -> None:
        """Unmap and close the file (the state stays for the other processes)."""
        self._map.close()
        os.close(self._fd)
