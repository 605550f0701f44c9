"""The web-platform part of the isolate prelude: which .js files, in which order."""

from __future__ import annotations

from functools import cache
from pathlib import Path

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
    "url_host.js",
    "url_parser.js",
    "url.js",
    "events.js",
    "structured_clone.js",
    "performance.js",
    "crypto.js",
    "sha.js",
    "subtle.js",
    "headers.js",
    "streams_lazy.js",
    "body.js",
    "request_response.js",
)


# The streams and the APIs built on them, loaded on first use by streams_lazy.js (which lists the
# globals that trigger it). Each file is one `(function (global, flux) {...})` expression.
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
_STREAM_MARKER = "/* STREAM FILES */"


def _read(name: str) -> str:
    return (JS_DIR / name).read_text(encoding="utf-8")


def _lazy_streams_source() -> str:
    # Inside a function that runs on first use, V8 only pre-parses these files at boot.
    files = ",\n".join(_read(name).strip().rstrip(";") for name in STREAM_FILES)
    loader = _read("streams_lazy.js")
    assert _STREAM_MARKER in loader
    return loader.replace(_STREAM_MARKER, files)


def web_file_source(name: str) -> str:
    """The script WEB_FILES entry `name` contributes (streams_lazy.js with the stream files in)."""
    return _lazy_streams_source() if name == "streams_lazy.js" else _read(name)


@cache
def web_prelude_source() -> str:
    """All web-platform JavaScript, concatenated in load order."""
    return "\n".join(web_file_source(name) for name in WEB_FILES)
