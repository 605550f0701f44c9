"""The web-platform part of the isolate prelude: which .js files, in which order."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import NamedTuple

from flux_edge.runtime.jssource import js_source
from flux_edge.runtime.webdata import encoding_data_script, idna_data_script, lazy_literal

JS_DIR = Path(__file__).parent / "js" / "web"

# Order matters: later files use globals the earlier ones define. webutil.js comes first: it puts
# the helpers every file shares on `__flux_webutil`, which the last file, request_response.js,
# deletes. The URL files hand their internals on through `__flux_url` (deleted by url.js), the
# crypto files through `__flux_crypto` (deleted by subtle.js).
WEB_FILES = (
    "webutil.js",
    "base64.js",
    "encoding.js",
    "url_search_params.js",
    "url_idna.js",
    "url_host.js",
    "url_parser.js",
    "url.js",
    "events.js",
    "globals.js",
    "structured_clone.js",
    "performance.js",
    "streams_lazy.js",
    "blob.js",
    "crypto.js",
    "sha.js",
    "subtle.js",
    "headers.js",
    "formdata.js",
    "body.js",
    "request_response.js",
)


class LazyWebFiles(NamedTuple):
    """Files only some functions use: their globals are defined when first read, not at boot."""

    after: str  # the WEB_FILES entry after which the stub goes (where the context still exists)
    names: tuple[str, ...]  # the globals they define
    # Function expressions `(global, context) => ...`, run in order; the last returns the exports.
    files: tuple[str, ...]
    context: str  # a JavaScript expression evaluated at boot and handed to every file


# The stub embeds the files as a string inside a function (webdata.lazy_literal): V8 only scans
# it, so an isolate that never uses these globals pays the source bytes and nothing else.
LAZY_WEB_FILES = (
    LazyWebFiles(
        after="url_parser.js",
        names=("URLPattern",),
        files=("urlpattern_parser.js", "urlpattern.js"),
        context="{ ...globalThis.__flux_url, webutil: globalThis.__flux_webutil }",
    ),
    LazyWebFiles(
        after="formdata.js",
        names=("FileReader", "ProgressEvent"),
        files=("filereader.js",),
        context=(
            "{ blob: globalThis.__flux_blob, webutil: globalThis.__flux_webutil,"
            " EventTarget, Event, DOMException, TextDecoder, btoa }"
        ),
    ),
)


def lazy_stub_source(lazy: LazyWebFiles) -> str:
    """The boot-time JavaScript that defines `lazy.names` as globals loading `lazy.files` on first use."""
    sources = [js_source(JS_DIR / name) for name in lazy.files]
    return (
        f"globalThis.__flux_webutil.defineLazyGlobals({json.dumps(list(lazy.names))}, "
        f"{lazy_literal(json.dumps(sources))}, {lazy.context});"
    )


# The streams and the APIs built on them (streams_lazy.js loads them on first use; body.js and
# blob.js need a handle on that loader, so the stub is that file rather than a LazyWebFiles entry).
# Each file is one `(function (global, flux) {...})` expression; the last returns the exports.
STREAM_FILES = (
    "streams_util.js",
    "streams_readable.js",
    "streams_bytes.js",
    "streams_writable.js",
    "streams_pipe.js",
    "streams_transform.js",
    "streams_body.js",
    "text_streams.js",
    "compression.js",
)
_STREAM_MARKER = "__FLUX_STREAM_SOURCES__"  # an identifier: minifying keeps it


def web_file_source(name: str) -> str:
    """The script the WEB_FILES entry `name` contributes (streams_lazy.js with the sources in)."""
    source = js_source(JS_DIR / name)
    if name != "streams_lazy.js":
        return source
    sources = [js_source(JS_DIR / file) for file in STREAM_FILES]
    assert _STREAM_MARKER in source
    return source.replace(_STREAM_MARKER, lazy_literal(json.dumps(sources)))


# Generated data a file reads (and deletes) when it loads, evaluated right before that file.
DATA_BEFORE: dict[str, Callable[[], str]] = {
    "encoding.js": encoding_data_script,
    "url_idna.js": idna_data_script,
}


def web_file_scripts(name: str) -> list[str]:
    """What loading the web file `name` evaluates, in order: its generated data, the file, then
    the stubs of the lazy files placed after it. Loaders that go file by file use this."""
    scripts = [DATA_BEFORE[name]()] if name in DATA_BEFORE else []
    scripts.append(web_file_source(name))
    scripts.extend(lazy_stub_source(lazy) for lazy in LAZY_WEB_FILES if lazy.after == name)
    return scripts


@cache
def web_prelude_source() -> str:
    """All web-platform JavaScript in load order, with its data and the stubs of the lazy files."""
    return "\n".join(script for name in WEB_FILES for script in web_file_scripts(name))
