"""`/console`: the web console, one static page (HTML, JS, CSS from flux_edge/console/) that
talks to the management API with the token the user signs in with. No third-party code."""

from __future__ import annotations

from importlib.resources import files
from typing import Final

from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

_ASSETS: Final = {
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
# Only our own files run on the page, and it cannot be framed (the token lives in it).
_HEADERS: Final = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _read(name: str) -> bytes:
    return files("flux_edge.console").joinpath(name).read_bytes()


@get(["/console", "/console/"], include_in_schema=False)
async def console_page() -> Response[bytes]:
    """The console's page."""
    return Response(_read("index.html"), media_type="text/html; charset=utf-8", headers=_HEADERS)


@get("/console/{asset:str}", include_in_schema=False)
async def console_asset(asset: FromPath[str]) -> Response[bytes]:
    """The console's script and style sheet."""
    media_type = _ASSETS.get(asset)
    if media_type is None:
        raise NotFoundException(f"No console file {asset!r}.")
    return Response(_read(asset), media_type=media_type, headers=_HEADERS)
