"""URL imports (`https://`, `http://`) for deploys: fetched only from hosts the operator allows
(FLUX_EDGE_IMPORT_HOSTS), kept in the cache directory so later deploys need no network."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import httpx

from flux_edge.runtime.codeforms.fetching import describe_failure, new_client
from flux_edge.runtime.types import CodeError

_MAX_BYTES: Final = 10 * 1024 * 1024


class RemoteModules:
    """Fetches URL modules from allowed hosts and keeps them under `root/remote/`."""

    def __init__(
        self, root: Path, allowed_hosts: frozenset[str], ca_file: Path | None = None
    ) -> None:
        self.root = root / "remote"
        self.ca_file = ca_file
        self.allowed_hosts = allowed_hosts
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def host_allowed(self, url: str) -> bool:
        """Whether the operator lets deploys fetch from `url`'s host."""
        return (urlsplit(url).hostname or "") in self.allowed_hosts

    def cached(self, url: str) -> str | None:
        """The cached source of `url`, if an earlier deploy fetched it."""
        try:
            return self._path(url).read_text(encoding="utf-8")
        except OSError:
            return None

    def fetch(self, url: str) -> str:
        """The source of `url`, from the cache or fetched (the host must be allowed)."""
        found = self.cached(url)
        if found is not None:
            return found
        with self._lock:
            if self._client is None:
                self._client = new_client(self.ca_file)
        try:
            response = self._client.get(url)
        except httpx.HTTPError as exc:
            raise CodeError(f"cannot fetch {url}: {describe_failure(exc)}") from None
        if response.status_code != 200:
            raise CodeError(f"cannot fetch {url}: the server answered {response.status_code}")
        if len(response.content) > _MAX_BYTES:
            raise CodeError(f"{url} is larger than 10 MiB")
        text = response.text
        path = self._path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
        return text

    def close(self) -> None:
        """Close the HTTP client (if one was opened)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _path(self, url: str) -> Path:
        return self.root / hashlib.sha256(url.encode()).hexdigest()


def integrity(source: str) -> str:
    """The SRI hash the lockfile records for a URL module."""
    return "sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode()
