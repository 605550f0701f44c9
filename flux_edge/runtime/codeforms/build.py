"""What a deploy runs: the linker with the deploy's settings (package cache, registry, hosts)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flux_edge.runtime.types import CodeError

if TYPE_CHECKING:
    from flux_edge.runtime.codeforms.jsr import JsrRegistry
    from flux_edge.runtime.codeforms.linker import LinkedFunction
    from flux_edge.runtime.codeforms.npm import PackageCache
    from flux_edge.runtime.codeforms.remote import RemoteModules

# compile_source's refusals that the linker handles: the code is a module graph, not a script.
_LINKABLE = (
    "imports are not supported yet",
    "`export ... from` is not supported yet",
    "import.meta is not supported",
    "top-level await is not supported",
)


def needs_linking(error: CodeError) -> bool:
    """Whether compile_source refused the code only for module features the linker provides."""
    return error.message.startswith(_LINKABLE)


class FunctionLinker:
    """Links uploaded files into one script, resolving packages through one shared cache.

    Call it in a worker thread: it parses every module and may fetch packages from the registry.
    The linker, the parsers and the registry client are imported on the first link, not at server
    start (a server that never links never pays for them; see docs/performance.md).
    """

    def __init__(
        self,
        cache_dir: Path,
        *,
        registry: str | None = None,
        import_hosts: frozenset[str] = frozenset(),
        jsr_url: str | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self.cache_dir = cache_dir
        self.registry = registry
        self.import_hosts = import_hosts
        self.jsr_url = jsr_url
        self.ca_file = ca_file
        self._cache: PackageCache | None = None
        self._remote: RemoteModules | None = None
        self._jsr: JsrRegistry | None = None

    @property
    def cache(self) -> PackageCache:
        """The package cache, made on first use (None registry: npm's public registry)."""
        if self._cache is None:
            from flux_edge.runtime.codeforms.npm import DEFAULT_REGISTRY, PackageCache

            self._cache = PackageCache(
                self.cache_dir, self.registry or DEFAULT_REGISTRY, self.ca_file
            )
        return self._cache

    @property
    def remote(self) -> RemoteModules:
        """The URL-import fetcher for the allowed hosts, made on first use."""
        if self._remote is None:
            from flux_edge.runtime.codeforms.remote import RemoteModules

            self._remote = RemoteModules(self.cache_dir, self.import_hosts, self.ca_file)
        return self._remote

    @property
    def jsr(self) -> JsrRegistry:
        """The JSR registry client (None URL: https://jsr.io), made on first use."""
        if self._jsr is None:
            from flux_edge.runtime.codeforms.jsr import DEFAULT_JSR_URL, JsrRegistry

            self._jsr = JsrRegistry(self.cache_dir, self.jsr_url or DEFAULT_JSR_URL, self.ca_file)
        return self._jsr

    def __call__(self, files: dict[str, str], entrypoint: str) -> LinkedFunction:
        """The linked script of `files` run from `entrypoint` (raises CodeError)."""
        from flux_edge.runtime.codeforms.linker import link
        from flux_edge.runtime.codeforms.resolver import ModuleResolver

        resolver = ModuleResolver.for_upload(
            files, entrypoint, cache=self.cache, remote=self.remote, jsr=self.jsr
        )
        return link(resolver, entrypoint)

    def close(self) -> None:
        """Release the registry connections, if any were made."""
        if self._cache is not None:
            self._cache.close()
        if self._remote is not None:
            self._remote.close()
        if self._jsr is not None:
            self._jsr.close()
