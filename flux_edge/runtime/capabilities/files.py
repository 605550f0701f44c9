"""The file jail: Deno-style file operations confined to one function's directory.

A path is checked in two steps. First it is resolved: joined to the jail (relative paths), or
accepted only if it lies inside it (absolute paths), normalised lexically (`..` may not climb
above the jail), then canonicalised with realpath, which follows symlinks; the result must still
lie inside the jail. Then it is opened from the jail's own file descriptor one component at a time
with O_NOFOLLOW, so a symlink swapped in after the check makes the operation fail instead of
escaping. Every method is blocking: the bridge runs them in a worker thread.

Error messages name the path as the function wrote it, never the server's directory.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flux_edge.runtime.isolate import HostOpError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

# errno -> the Deno.errors class the promise rejects with.
_ERRNO_TYPES = {
    errno.ENOENT: "NotFound",
    errno.EEXIST: "AlreadyExists",
    errno.EISDIR: "IsADirectory",
    errno.ENOTDIR: "NotADirectory",
    errno.EACCES: "PermissionDenied",
    errno.EPERM: "PermissionDenied",
    # A component turned into a symlink after the path was checked (O_NOFOLLOW refused it).
    errno.ELOOP: "PermissionDenied",
    errno.ENOTEMPTY: "Error",
}


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
            with os.fdopen(fd, "rb") as file:
                info = os.fstat(file.fileno())
                if stat.S_ISDIR(info.st_mode):
                    raise HostOpError("IsADirectory", f"Is a directory: read '{path}'")
                if info.st_size > self.max_read_bytes:
                    raise HostOpError(
                        "RangeError",
                        f"read '{path}': the file has {info.st_size} bytes, more than the "
                        f"{self.max_read_bytes} this function's memory limit allows",
                    )
                return file.read(self.max_read_bytes + 1)

    def write(
        self, path: str, data: bytes, *, append: bool, create: bool, create_new: bool
    ) -> None:
        """Write (or append) `data`; refused if the jail would grow past the quota."""
        with self._at(path, op="write") as (parent, name):
            old_size = 0
            try:
                info = os.stat(name, dir_fd=parent, follow_symlinks=False)
                if stat.S_ISREG(info.st_mode):
                    old_size = info.st_size
            except FileNotFoundError:
                pass
            used = self.usage()
            after = used + len(data) if append else used - old_size + len(data)
            if len(data) and after > self.quota_bytes:
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
            with os.fdopen(fd, "wb") as file:
                file.write(data)

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
        """Create a directory (and its parents with `recursive`)."""
        parts = self._canonical(path, "mkdir", follow_last=True)
        if not parts:
            if recursive:
                return
            raise HostOpError("AlreadyExists", f"File exists: mkdir '{path}'")
        if not recursive:
            with self._at(path, op="mkdir") as (parent, name):
                try:
                    os.mkdir(name, 0o777, dir_fd=parent)
                except OSError as error:
                    raise _error(error, path, "mkdir") from None
            return
        fd = self._open_root()
        try:
            for part in parts:
                try:
                    os.mkdir(part, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass
                except OSError as error:
                    raise _error(error, path, "mkdir") from None
                child = _open(fd, part, _DIR_FLAGS, path, "mkdir")
                os.close(fd)
                fd = child
        finally:
            os.close(fd)

    def remove(self, path: str, *, recursive: bool) -> None:
        """Remove a file, a symlink (not its target) or a directory (non-empty with `recursive`)."""
        if not self._parts(path, "remove"):
            raise HostOpError(
                "PermissionDenied",
                f"remove '{path}': the function's own directory cannot be removed",
            )
        with self._at(path, op="remove", follow_last=False) as (parent, name):
            try:
                info = os.stat(name, dir_fd=parent, follow_symlinks=False)
                if not stat.S_ISDIR(info.st_mode):
                    os.unlink(name, dir_fd=parent)
                elif recursive:
                    # fd-based rmtree never follows symlinks out of the tree.
                    shutil.rmtree(name, dir_fd=parent)
                else:
                    os.rmdir(name, dir_fd=parent)
            except OSError as error:
                raise _error(error, path, "remove") from None

    def usage(self) -> int:
        """Bytes held by the regular files of the jail."""
        total = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                try:
                    info = os.lstat(os.path.join(dirpath, name))
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    total += info.st_size
        return total

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
    kind = _ERRNO_TYPES.get(error.errno or 0, "Error")
    reason = os.strerror(error.errno) if error.errno else str(error)
    if error.errno == errno.ELOOP:
        reason = "the path changed into a symlink during the operation"
    return HostOpError(kind, f"{reason}: {op} '{path}'")
