"""jsr: imports, resolved through JSR's registry protocol against a registry on loopback that
serves packages written here (tests/jsr_registry.py), and run in a real isolate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from flux_edge.runtime.codeforms.jsr import JsrRegistry
from flux_edge.runtime.codeforms.linker import link
from flux_edge.runtime.codeforms.npm import PackageCache
from flux_edge.runtime.codeforms.remote import RemoteModules
from flux_edge.runtime.codeforms.resolver import ModuleResolver
from flux_edge.runtime.types import CodeError
from tests.jsr_registry import JsrFixture
from tests.runtime.modules.conftest import Run

GREET_1 = {
    "mod.ts": (
        'import { shout } from "./text/shout.ts";\n'
        'import version from "./version.json" with { type: "json" };\n'
        "export { version };\n"
        "export const greet = (name: string): string => shout(`hello ${name}`);\n"
    ),
    "text/shout.ts": "export const shout = (s: string) => s.toUpperCase() + '!';\n",
    "version.json": '"1.2.0"',
    "polite.ts": (
        'import { greet } from "./mod.ts";\n'
        'import { wrap } from "jsr:@flux/wrap@^0.3";\n'
        "export const polite = (name: string) => wrap(greet(name));\n"
    ),
}


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[JsrFixture]:
    fixture = JsrFixture(tmp_path / "jsr")
    fixture.publish("@flux/greet", "1.0.0", {"mod.ts": "export const greet = () => 'old';\n"})
    fixture.publish("@flux/greet", "1.2.0", GREET_1, {".": "./mod.ts", "./polite": "./polite.ts"})
    fixture.publish("@flux/greet", "1.3.0", {"mod.ts": "export const greet = () => 'yanked';\n"},
                    yanked=True)  # fmt: skip
    fixture.publish("@flux/greet", "2.0.0", {"mod.ts": "export const greet = () => 'two';\n"})
    fixture.publish("@flux/wrap", "0.3.1", {"wrap.ts": "export const wrap = (s: string) => `(${s})`;\n"},
                    "./wrap.ts")  # fmt: skip
    try:
        yield fixture
    finally:
        fixture.close()


def _resolver(files: dict[str, str], cache: Path, url: str, *, online: bool) -> ModuleResolver:
    hosts = frozenset({"127.0.0.1"}) if online else frozenset()
    return ModuleResolver.for_upload(
        files, "index.ts", remote=RemoteModules(cache, hosts), jsr=JsrRegistry(cache, url)
    )


async def test_a_jsr_package_resolves_its_range_exports_and_own_imports(
    run: Run, registry: JsrFixture, tmp_path: Path
) -> None:
    files = {
        "index.ts": (
            'import { greet, version } from "jsr:@flux/greet@^1.0.0";\n'
            'import { polite } from "jsr:@flux/greet@1/polite";\n'
            "export default () => Response.json({ greet: greet('ada'), polite: polite('bo'),"
            " version, url: import.meta.resolve('jsr:@flux/greet@^1.0.0') });\n"
        )
    }
    resolver = _resolver(files, tmp_path / "cache", registry.url, online=True)
    linked = link(resolver, "index.ts")
    assert sorted(linked.packages) == ["jsr:@flux/greet@1.2.0", "jsr:@flux/wrap@0.3.1"]
    assert all(value.startswith("sha256-") for value in linked.packages.values())
    jsr = JsrRegistry(tmp_path / "cache", registry.url)
    options = {"remote": RemoteModules(tmp_path / "cache", frozenset({"127.0.0.1"})), "jsr": jsr}
    assert await run(files, **options) == {
        "greet": "HELLO ADA!",
        "polite": "(HELLO BO!)",
        "version": "1.2.0",
        "url": f"{registry.url}/@flux/greet/1.2.0/mod.ts",
    }


async def test_no_range_means_latest_and_yanked_versions_only_when_named(
    run: Run, registry: JsrFixture, tmp_path: Path
) -> None:
    files = {
        "index.ts": (
            'import { greet as latest } from "jsr:@flux/greet";\n'
            'import { greet as pinned } from "jsr:@flux/greet@1.3.0";\n'
            "export default () => Response.json([latest(), pinned()]);\n"
        )
    }
    jsr = JsrRegistry(tmp_path / "cache", registry.url)
    remote = RemoteModules(tmp_path / "cache", frozenset({"127.0.0.1"}))
    assert await run(files, remote=remote, jsr=jsr) == ["two", "yanked"]


def test_a_deploy_from_the_cache_needs_no_registry(registry: JsrFixture, tmp_path: Path) -> None:
    files = {"index.ts": 'import { greet } from "jsr:@flux/greet@^1";\nexport default greet;\n'}
    cache = tmp_path / "cache"
    first = link(_resolver(files, cache, registry.url, online=True), "index.ts")
    registry.close()
    # The host is no longer allowed and the registry is gone: the cache answers alone.
    again = link(_resolver(files, cache, registry.url, online=False), "index.ts")
    assert again.script == first.script
    assert again.packages == first.packages
    uncached = {"index.ts": 'import "jsr:@flux/greet@^2";\n'}
    with pytest.raises(CodeError) as caught:
        link(_resolver(uncached, cache, registry.url, online=False), "index.ts")
    assert "is not in the package cache" in caught.value.message
    assert "FLUX_EDGE_IMPORT_HOSTS" in caught.value.message
    assert (caught.value.file, caught.value.line, caught.value.column) == ("index.ts", 1, 8)


def test_a_file_that_does_not_match_its_checksum_is_refused(
    registry: JsrFixture, tmp_path: Path
) -> None:
    registry.tamper("@flux/greet", "1.2.0", "text/shout.ts", "export const shout = eval;\n")
    files = {"index.ts": 'import "jsr:@flux/greet@1.2.0";\n'}
    with pytest.raises(CodeError) as caught:
        link(_resolver(files, tmp_path / "cache", registry.url, online=True), "index.ts")
    assert "jsr:@flux/greet@1.2.0/text/shout.ts: the file does not match its checksum" in (
        caught.value.message
    )
    assert not (tmp_path / "cache" / "jsr" / "@flux/greet" / "1.2.0" / "text").exists()


@pytest.mark.parametrize(
    ("specifier", "message"),
    [
        ("jsr:@flux/greet@^1/nope", "does not export './nope' (exports: ., ./polite)"),
        ("jsr:@flux/greet@^9", "jsr:@flux/greet@^9 matches no published version"),
        ("jsr:@flux/absent", "not found in the JSR registry"),
        ("jsr:flux/greet", "is not a valid JSR specifier"),
    ],
)
def test_bad_jsr_imports_are_refused_with_the_reason(
    registry: JsrFixture, tmp_path: Path, specifier: str, message: str
) -> None:
    files = {"index.ts": f'import "{specifier}";\n'}
    with pytest.raises(CodeError) as caught:
        link(_resolver(files, tmp_path / "cache", registry.url, online=True), "index.ts")
    assert message in caught.value.message
    assert f"import of {specifier!r} refused" in caught.value.message


def test_without_a_registry_host_allowed_jsr_imports_are_refused(
    registry: JsrFixture, tmp_path: Path
) -> None:
    files = {"index.ts": 'import { greet } from "jsr:@flux/greet@^1";\n'}
    with pytest.raises(CodeError) as caught:
        link(_resolver(files, tmp_path / "cache", registry.url, online=False), "index.ts")
    assert "the JSR registry's host '127.0.0.1' is not in FLUX_EDGE_IMPORT_HOSTS" in (
        caught.value.message
    )
    assert registry.requests == []


async def test_the_std_http_serve_shim_needs_no_registry(run: Run, tmp_path: Path) -> None:
    files = {
        "index.ts": (
            'import { serve } from "jsr:@std/http@0.224.0/server";\n'
            'import { serve as plain } from "jsr:@std/http/server";\n'
            "serve((req: Request) => Response.json({ same: serve === plain, path: new URL(req.url)"
            ".pathname }));\n"
        )
    }
    # No registry at all (nothing listens on port 9): the shim is built in.
    jsr = JsrRegistry(tmp_path / "cache", "http://127.0.0.1:9")
    remote = RemoteModules(tmp_path / "cache", frozenset({"127.0.0.1"}))
    assert await run(files, remote=remote, jsr=jsr) == {"same": True, "path": "/linked/path"}


def _cached_npm_package(cache: Path, name: str, version: str, files: dict[str, str]) -> None:
    """An npm package already in the package cache (as an earlier deploy leaves it)."""
    metadata = {"name": name, "dist-tags": {"latest": version}, "versions": {version: {}}}
    (cache / "npm" / "metadata").mkdir(parents=True, exist_ok=True)
    (cache / "npm" / "metadata" / f"{name}.json").write_text(json.dumps(metadata))
    folder = cache / "npm" / "packages" / f"{name}@{version}"
    for path, text in files.items():
        (folder / "package" / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / "package" / path).write_text(text)
    manifest = {"integrity": "sha512-ours", "dependencies": {}}
    (folder / ".flux-package.json").write_text(json.dumps(manifest))


async def test_a_jsr_package_imports_npm_and_node_modules_and_is_reached_by_the_import_map(
    run: Run, registry: JsrFixture, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    _cached_npm_package(
        cache,
        "tiny-case",
        "1.0.0",
        {
            "package.json": '{"name": "tiny-case", "version": "1.0.0", "main": "index.js"}',
            "index.js": "exports.kebab = (s) => s.replace(/\\s+/g, '-').toLowerCase();\n",
        },
    )
    registry.publish(
        "@flux/slug",
        "1.0.0",
        {
            "mod.ts": (
                'import { kebab } from "npm:tiny-case@^1";\n'
                'import { Buffer } from "node:buffer";\n'
                'import { greet } from "jsr:@flux/greet@^1.2";\n'
                "export const slug = (s: string) => kebab(greet(s));\n"
                "export const b64 = (s: string) => Buffer.from(s).toString('base64');\n"
            )
        },
    )
    files = {
        "deno.json": '{ "imports": { "@flux/slug": "jsr:@flux/slug@^1", "@flux/": "jsr:@flux/" } }',
        "index.ts": (
            'import { slug, b64 } from "@flux/slug";\n'
            'import { polite } from "@flux/greet@1/polite";\n'
            "export default () => Response.json([slug('Ada Lovelace'), b64('hi'), polite('x')]);\n"
        ),
    }
    resolver = _resolver(files, cache, registry.url, online=True)
    resolver.cache = PackageCache(cache, "http://127.0.0.1:9")
    linked = link(resolver, "index.ts")
    assert sorted(linked.packages) == [
        "jsr:@flux/greet@1.2.0",
        "jsr:@flux/slug@1.0.0",
        "jsr:@flux/wrap@0.3.1",
        "tiny-case@1.0.0",
    ]
    options = {
        "remote": RemoteModules(cache, frozenset({"127.0.0.1"})),
        "jsr": JsrRegistry(cache, registry.url),
        "cache": PackageCache(cache, "http://127.0.0.1:9"),
    }
    assert await run(files, **options) == ["hello-ada-lovelace!", "aGk=", "(HELLO X!)"]


async def test_package_files_resolve_sloppy_imports_and_direct_urls(
    run: Run, registry: JsrFixture, tmp_path: Path
) -> None:
    registry.publish(
        "@flux/sloppy",
        "0.1.0",
        {
            "mod.ts": (
                'import { one } from "./one";\n'  # no extension
                'import { two } from "./two.js";\n'  # .js naming a .ts file
                'import { three } from "./three";\n'  # a folder's mod.ts
                'import { EventEmitter } from "events";\n'  # a Node built-in by bare name
                "export const all = [one, two, three, typeof EventEmitter];\n"
            ),
            "one.ts": "export const one = 1;\n",
            "two.ts": "export const two = 2;\n",
            "three/mod.ts": "export const three = 3;\n",
        },
    )
    files = {
        "index.ts": (
            'import { all } from "jsr:@flux/sloppy@0.1";\n'
            f'import {{ greet }} from "{registry.url}/@flux/greet/1.2.0/mod.ts";\n'
            "export default () => Response.json([...all, greet('u')]);\n"
        )
    }
    jsr = JsrRegistry(tmp_path / "cache", registry.url)
    remote = RemoteModules(tmp_path / "cache", frozenset({"127.0.0.1"}))
    assert await run(files, remote=remote, jsr=jsr) == [1, 2, 3, "function", "HELLO U!"]


def test_an_error_in_a_package_file_names_it(registry: JsrFixture, tmp_path: Path) -> None:
    registry.publish("@flux/broken", "1.0.0", {"mod.ts": "export const x = 1;\nlet y = (;\n"})
    registry.publish("@flux/lost", "1.0.0", {"mod.ts": 'import "./gone.ts";\n'})
    cases = [("@flux/broken", (2, 7), "syntax error"), ("@flux/lost", (1, 8), "gone.ts")]
    for name, (line, column), message in cases:
        files = {"index.ts": f'import "jsr:{name}@1";\n'}
        with pytest.raises(CodeError) as caught:
            link(_resolver(files, tmp_path / "cache", registry.url, online=True), "index.ts")
        error = caught.value
        assert (error.file, error.line, error.column) == (f"jsr:{name}@1.0.0/mod.ts", line, column)
        assert message in error.message


def test_a_cached_file_changed_on_disk_is_refused(registry: JsrFixture, tmp_path: Path) -> None:
    files = {"index.ts": 'import "jsr:@flux/greet@1.2.0";\n'}
    cache = tmp_path / "cache"
    link(_resolver(files, cache, registry.url, online=True), "index.ts")
    (cache / "jsr" / "@flux/greet" / "1.2.0" / "mod.ts").write_text("export const greet = 1;\n")
    with pytest.raises(CodeError) as caught:
        link(_resolver(files, cache, registry.url, online=False), "index.ts")
    assert "jsr:@flux/greet@1.2.0/mod.ts (cached): the file does not match its checksum" in (
        caught.value.message
    )


def test_a_cold_deploy_fetches_a_packages_files_together(
    registry: JsrFixture, tmp_path: Path
) -> None:
    modules = {f"part{n}.ts": f"export const p{n} = {n};\n" for n in range(6)}
    entry = "".join(f'export * from "./part{n}.ts";\n' for n in range(6))
    registry.publish("@flux/parts", "1.0.0", {"mod.ts": entry, "unused.ts": "", **modules})
    registry.slow_files(0.2)
    files = {"index.ts": 'import * as parts from "jsr:@flux/parts@1";\nexport default parts;\n'}
    link(_resolver(files, tmp_path / "cache", registry.url, online=True), "index.ts")
    assert registry.max_in_flight > 1
    fetched = {path.rsplit("/", 1)[1] for path in registry.requests if "/1.0.0/" in path}
    assert fetched == {"mod.ts", *modules}  # what the entry reaches, and nothing else
