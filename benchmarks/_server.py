"""The real flux-edge app plus one plain Litestar endpoint doing the same JSON work in Python.

Run by bench_http.py as `python benchmarks/_server.py PORT`, with FLUX_EDGE_* settings in the
environment, so both endpoints share one process, one event loop and one middleware stack (the plain endpoint
is served by the HTTP API behind flux-edge's front, as the management routes are).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import uvicorn
from litestar import Request, Response, post

from flux_edge.app import build_api
from flux_edge.front import FrontApp
from flux_edge.logging import configure_logging
from flux_edge.settings import load_settings


@post("/bench/plain", status_code=200)
async def plain(request: Request) -> Response[bytes]:
    data = json.loads(await request.body())
    return Response(
        content=json.dumps({"ok": data.get("a")}).encode(), media_type="application/json"
    )


def main() -> None:
    settings = load_settings({"port": int(sys.argv[1])})
    configure_logging(settings.log_format, settings.log_level)

    def api_with_plain(settings: Any, state: dict[str, Any]) -> Any:
        api = build_api(settings, state)  # the HTTP API behind flux-edge's front, plus `plain`
        api.register(plain)
        return api

    app = FrontApp(settings, api_with_plain)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=settings.port,
        log_level="warning",
        loop=os.environ.get("BENCH_LOOP", "auto"),
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
