"""The file jail: Deno-style file operations confined to one function's directory.

A path is checked in two steps. First it is resolved: joined to the jail (relative paths), or
accepted only if it lies inside it (absolute paths), normalised lexically (`..` may not climb
above the jail), then canonicalised with realpath, which follows symlinks; the result must still
lie inside the jail. Then it is opened from the jail's own file descriptor one component at a time
with O_NOFOLLOW, so a symlink swapped in after the check makes the operation fail instead of
escaping. Every method is blocking: the bridge runs them in a worker thread.

The quota counts bytes of regular files plus ENTRY_BYTES for every entry (file, directory,
symlink), so a function cannot fill a disk with empty directories or files either. The jail's usage
is kept in a ledger file next to it (`<root>.usage`), updated by every write, mkdir and remove
under an exclusive flock (worker processes share it), so a write never walks the whole tree; the
tree is walked only when the ledger is missing or an operation failed halfway.

Error messages name the path as the function wrote it, never the server's directory.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flux_edge.runtime.host_bridge import HostOpError

# What one entry (file, directory, symlink) costs in the quota besides its bytes: one block.
ENTRY_BYTES = 4096
LEDGER_SUFFIX = ".usage"
# Paths deeper or longer than this are refused, which also bounds the walk's recursion and fds.
MAX_DEPTH = 128
MAX_PATH_CHARS = 4096

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

# errno -> the Deno.errors class the promise rejects with.
ERRNO_TYPES = {
    errno.ENOENT: "NotFound",
    errno.EEXIST: "AlreadyExists",
    errno.EISDIR: "IsADirectory",
    errno.ENOTDIR: "NotADirectory",
    errno.EACCES: "PermissionDenied",
    errno.EPERM: "PermissionDenied",
    # A component turned into a symlink after the path was checked (O_NOFOLLOW refused it).
    errno.ELOOP: "PermissionDenied",
    errno.ENOTEMPTY: "Error",
    errno.ENOSPC: "QuotaExceeded",
    errno.EDQUOT: "QuotaExceeded",
    errno.ENAMETOOLONG: "TypeError",
    errno.EINVAL: "TypeError",
}


class _Usage:
    """The jail's usage while the ledger is locked; `stale` asks for a fresh walk at the end."""

    __slots__ = ("bytes", "stale")

    def __init__(self, used: int) -> None:
        self.bytes = used
        self.stale = False


class FileJail:
    """Operations on the files of one function, inside `root` (created on first use)."""

    def __init__(self, root: str, *, quota_bytes: int, max_read_bytes: int) -> None:
        self.root = os.path.abspath(root)
        self.quota_bytes = quota_bytes
        self.max_read_bytes = max_read_bytes

    # ---- operations ----------------------------------------------------------------------------
    def read(self, path: str) -> bytes:
        """The whole file at `path` (symlinks inside the jail are followed)."""
        with self._at(path, op="read") as (parent, name):
            fd = _open(parent, name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, path, "read")
            try:
                info = os.fstat(fd)
                if stat.S_ISDIR(info.st_mode):
                    raise HostOpError("IsADirectory", f"Is a directory: read '{path}'")
                if not stat.S_ISREG(info.st_mode):
                    raise HostOpError("NotSupported", f"Not a regular file: read '{path}'")
                if info.st_size > self.max_read_bytes:
                    raise HostOpError(
                        "RangeError",
                        f"read '{path}': the file has {info.st_size} bytes, more than the "
                        f"{self.max_read_bytes} this function's memory limit allows",
                    )
                chunks: list[bytes] = []
                left = self.max_read_bytes + 1
                while left > 0:
                    chunk = os.read(fd, min(left, 1024 * 1024))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    left -= len(chunk)
                return b"".join(chunks)
            except OSError as error:
                raise _error(error, path, "read") from None
            finally:
                os.close(fd)

    def write(
        self, path: str, data: bytes, *, append: bool, create: bool, create_new: bool
    ) -> None:
        """Write (or append) `data`; refused if the jail would grow past the quota."""
        with self._ledger() as usage, self._at(path, op="write") as (parent, name):
            old_charge = 0
            try:
                info = os.stat(name, dir_fd=parent, follow_symlinks=False)
                old_charge = ENTRY_BYTES + (info.st_size if stat.S_ISREG(info.st_mode) else 0)
            except FileNotFoundError:
                pass
            except OSError as error:
                raise _error(error, path, "write") from None
            base = old_charge - ENTRY_BYTES if append and old_charge else 0
            new_charge = ENTRY_BYTES + base + len(data)
            after = usage.bytes - old_charge + new_charge
            if after > self.quota_bytes and after > usage.bytes:
                raise HostOpError(
                    "QuotaExceeded",
                    f"write '{path}': the function's files would take {after} bytes, more than "
                    f"its quota of {self.quota_bytes} (file_quota_bytes)",
                )
            flags = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
            flags |= os.O_APPEND if append else os.O_TRUNC
            if create or create_new:
                flags |= os.O_CREAT
            if create_new:
                flags |= os.O_EXCL
            fd = _open(parent, name, flags, path, "write", mode=0o666)
            usage.stale = True  # until the bytes are all written
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            except OSError as error:
                raise _error(error, path, "write") from None
            finally:
                os.close(fd)
            usage.bytes = after
            usage.stale = False

    def read_dir(self, path: str) -> list[dict[str, Any]]:
        """The entries of a directory: name, isFile, isDirectory, isSymlink."""
        with self._at(path, op="readdir") as (parent, name):
            fd = _open(parent, name, _DIR_FLAGS, path, "readdir")
            try:
                with os.scandir(fd) as entries:
                    return [
                        {
                            "name": entry.name,
                            "isFile": entry.is_file(follow_symlinks=False),
                            "isDirectory": entry.is_dir(follow_symlinks=False),
                            "isSymlink": entry.is_symlink(),
                        }
                        for entry in entries
                    ]
            finally:
                os.close(fd)

    def stat(self, path: str) -> dict[str, Any]:
        """Size, type and times of `path` (symlinks inside the jail are followed)."""
        with self._at(path, op="stat") as (parent, name):
            try:
                info = os.stat(name, dir_fd=parent, follow_symlinks=False)
            except OSError as error:
                raise _error(error, path, "stat") from None
            return {
                "size": info.st_size,
                "isFile": stat.S_ISREG(info.st_mode),
                "isDirectory": stat.S_ISDIR(info.st_mode),
                "isSymlink": stat.S_ISLNK(info.st_mode),
                "mtime": info.st_mtime * 1000,
                "atime": info.st_atime * 1000,
                "mode": info.st_mode,
            }

    def mkdir(self, path: str, *, recursive: bool) -> None:
        """Create a directory (and its parents with `recursive`); each counts in the quota."""
        parts = self._canonical(path, "mkdir", follow_last=True)
        if not parts:
            if recursive:
                return
            raise HostOpError("AlreadyExists", f"File exists: mkdir '{path}'")
        with self._ledger() as usage:
            if not recursive:
                with self._at(path, op="mkdir") as (parent, name):
                    self._make_dir(parent, name, path, usage, exist_ok=False)
                return
            fd = self._open_root()
            try:
                for part in parts:
                    self._make_dir(fd, part, path, usage, exist_ok=True)
                    child = _open(fd, part, _DIR_FLAGS, path, "mkdir")
                    os.close(fd)
                    fd = child
            finally:
                os.close(fd)

    def _make_dir(
        self, parent: int, name: str, path: str, usage: _Usage, *, exist_ok: bool
    ) -> None:
        if usage.bytes + ENTRY_BYTES > self.quota_bytes:
            try:
                os.stat(name, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                raise HostOpError(
                    "QuotaExceeded",
                    f"mkdir '{path}': the function's files would take more than its quota of "
                    f"{self.quota_bytes} bytes (file_quota_bytes; each entry counts "
                    f"{ENTRY_BYTES} bytes)",
                ) from None
            except OSError as error:
                raise _error(error, path, "mkdir") from None
        try:
            os.mkdir(name, 0o777, dir_fd=parent)
        except FileExistsError:
            if exist_ok:
                return
            raise HostOpError("AlreadyExists", f"File exists: mkdir '{path}'") from None
        except OSError as error:
            raise _error(error, path, "mkdir") from None
        usage.bytes += ENTRY_BYTES

    def remove(self, path: str, *, recursive: bool) -> None:
        """Remove a file, a symlink (not its target) or a directory (non-empty with `recursive`)."""
        if not self._parts(path, "remove"):
            raise HostOpError(
                "PermissionDenied",
                f"remove '{path}': the function's own directory cannot be removed",
            )
        with (
            self._ledger() as usage,
            self._at(path, op="remove", follow_last=False) as (parent, name),
        ):
            try:
                info = os.stat(name, dir_fd=parent, follow_symlinks=False)
                if not stat.S_ISDIR(info.st_mode):
                    os.unlink(name, dir_fd=parent)
                    freed = ENTRY_BYTES + (info.st_size if stat.S_ISREG(info.st_mode) else 0)
                elif recursive:
                    freed = _tree_usage(parent, name)
                    usage.stale = True  # until the whole tree is gone
                    # fd-based rmtree never follows symlinks out of the tree.
                    shutil.rmtree(name, dir_fd=parent)
                    usage.stale = False
                else:
                    os.rmdir(name, dir_fd=parent)
                    freed = ENTRY_BYTES
            except OSError as error:
                raise _error(error, path, "remove") from None
            usage.bytes = max(0, usage.bytes - freed)

    def usage(self) -> int:
        """What the jail holds in quota terms: bytes of regular files plus ENTRY_BYTES per entry
        (walks the tree; writes use the ledger instead)."""
        if not os.path.isdir(self.root):
            return 0
        fd = self._open_root()
        try:
            return _tree_usage(fd, ".") - ENTRY_BYTES  # the jail itself is free
        finally:
            os.close(fd)

    @contextmanager
    def _ledger(self) -> Iterator[_Usage]:
        """The jail's usage, locked against every other writer of this function until the end."""
        self._real_root()
        fd = os.open(self.root + LEDGER_SUFFIX, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, 32, 0)
            usage = _Usage(int(raw) if raw.strip().isdigit() else self.usage())
            try:
                yield usage
            finally:
                if usage.stale:
                    usage.bytes = self.usage()
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(usage.bytes).encode(), 0)
        finally:
            os.close(fd)  # closing releases the lock

    # ---- resolution ------------------------------------------------------------------------------
    def _real_root(self) -> str:
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        return os.path.realpath(self.root)

    def _roots(self) -> tuple[str, str]:
        # Absolute paths may name the jail as configured or as resolved (its parents may be links).
        return (self.root, self._real_root())

    def _open_root(self) -> int:
        return os.open(self._real_root(), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def _parts(self, path: str, op: str) -> list[str]:
        """`path` as components below the jail, lexically normalised; refuses escapes."""
        if "\0" in path:
            raise HostOpError("TypeError", f"{op}: the path contains a NUL character")
        if path == "":
            raise HostOpError("NotFound", f"No such file or directory: {op} ''")
        if len(path) > MAX_PATH_CHARS:
            raise HostOpError(
                "TypeError", f"{op}: the path has more than {MAX_PATH_CHARS} characters"
            )
        relative = path
        if os.path.isabs(path):
            candidates = (os.path.relpath(os.path.normpath(path), root) for root in self._roots())
            inside = [c for c in candidates if c != ".." and not c.startswith("../")]
            if not inside:
                raise _outside(path, op)
            relative = inside[0]
        parts: list[str] = []
        for part in relative.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise _outside(path, op)
                parts.pop()
            else:
                parts.append(part)
        if len(parts) > MAX_DEPTH:
            raise HostOpError(
                "NotSupported", f"{op} '{path[:200]}': paths may be at most {MAX_DEPTH} levels deep"
            )
        return parts

    def _canonical(self, path: str, op: str, follow_last: bool) -> list[str]:
        """Components of the canonical path (symlinks resolved) below the jail."""
        parts = self._parts(path, op)
        root = self._real_root()
        if not parts:
            return []
        if follow_last:
            real = os.path.realpath(os.path.join(root, *parts))
        else:
            real = os.path.join(os.path.realpath(os.path.join(root, *parts[:-1])), parts[-1])
        relative = os.path.relpath(real, root)
        if relative == ".." or relative.startswith("../"):
            raise _outside(path, op, via_link=True)
        return [] if relative == "." else relative.split("/")

    @contextmanager
    def _at(self, path: str, *, op: str, follow_last: bool = True) -> Iterator[tuple[int, str]]:
        """(fd of the parent directory, last component) of `path`, opened without following."""
        parts = self._canonical(path, op, follow_last)
        fd = self._open_root()
        try:
            if not parts:
                # The jail itself: address it as "." of itself.
                yield fd, "."
                return
            for part in parts[:-1]:
                child = _open(fd, part, _DIR_FLAGS, path, op)
                os.close(fd)
                fd = child
            yield fd, parts[-1]
        finally:
            os.close(fd)


def _tree_usage(dir_fd: int, name: str) -> int:
    """Quota bytes of the entry `name` under `dir_fd` and, for a directory, all it contains."""
    info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if not stat.S_ISDIR(info.st_mode):
        return ENTRY_BYTES + (info.st_size if stat.S_ISREG(info.st_mode) else 0)
    total = ENTRY_BYTES
    fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    try:
        with os.scandir(fd) as entries:
            names = [entry.name for entry in entries]
        for child in names:
            try:
                total += _tree_usage(fd, child)
            except FileNotFoundError:
                continue
    finally:
        os.close(fd)
    return total


def _open(dir_fd: int, name: str, flags: int, path: str, op: str, mode: int = 0o777) -> int:
    try:
        return os.open(name, flags, mode, dir_fd=dir_fd)
    except OSError as error:
        if error.errno == errno.ENOTDIR and _is_symlink(dir_fd, name):
            # O_DIRECTORY|O_NOFOLLOW on a symlink reports ENOTDIR: it is the swapped-in link.
            error = OSError(errno.ELOOP, os.strerror(errno.ELOOP))
        raise _error(error, path, op) from None


def _is_symlink(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _outside(path: str, op: str, *, via_link: bool = False) -> HostOpError:
    how = " through a symlink" if via_link else ""
    return HostOpError(
        "PermissionDenied",
        f"{op} '{path}': the path leads{how} outside the function's directory",
    )


def _error(error: OSError, path: str, op: str) -> HostOpError:
    kind = ERRNO_TYPES.get(error.errno or 0, "Error")
    reason = os.strerror(error.errno) if error.errno else str(error)
    if error.errno == errno.ELOOP:
        reason = "the path changed into a symlink during the operation"
    return HostOpError(kind, f"{reason}: {op} '{path}'")
