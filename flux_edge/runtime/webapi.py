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
    "body.js",
    "request_response.js",
)


@cache
def web_prelude_source() -> str:
    """All web-platform JavaScript, concatenated in load order."""
    return "\n".join((JS_DIR / name).read_text(encoding="utf-8") for name in WEB_FILES)
