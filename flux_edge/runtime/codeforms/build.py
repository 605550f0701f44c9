"""What a deploy runs: the linker with the deploy's settings (package cache, registry, hosts)."""

from __future__ import annotations

from pathlib import Path

from flux_edge.runtime.codeforms.linker import LinkedFunction, link
from flux_edge.runtime.codeforms.npm import DEFAULT_REGISTRY, PackageCache
from flux_edge.runtime.codeforms.remote import RemoteModules
from flux_edge.runtime.codeforms.resolver import ModuleResolver
from flux_edge.runtime.types import CodeError

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
    """

    def __init__(
        self,
        cache_dir: Path,
        *,
        registry: str = DEFAULT_REGISTRY,
        import_hosts: frozenset[str] = frozenset(),
    ) -> None:
        self.cache = PackageCache(cache_dir, registry)
        self.remote = RemoteModules(cache_dir, import_hosts)

    def __call__(self, files: dict[str, str], entrypoint: str) -> LinkedFunction:
        """The linked script of `files` run from `entrypoint` (raises CodeError)."""
        resolver = ModuleResolver.for_upload(
            files, entrypoint, cache=self.cache, remote=self.remote
        )
        return link(resolver, entrypoint)

    def close(self) -> None:
        """Release the registry connection."""
        self.cache.close()
        self.remote.close()
