"""A standalone plain Litestar app doing in Python what the benchmark's functions do in JavaScript.

The peer a user would compare with: its own process (uvicorn, one worker, no access log), nothing
of flux-edge mounted in it. Run: `python plain_litestar.py PORT`.
"""

from __future__ import annotations

import sys

import msgspec
import uvicorn
from litestar import Litestar, Request, Response, post


@post("/trivial", status_code=200)
async def trivial(request: Request) -> Response[bytes]:
    data = msgspec.json.decode(await request.body())
    return Response(msgspec.json.encode({"ok": data["a"]}), media_type="application/json")


@post("/realistic", status_code=200)
async def realistic(request: Request) -> Response[bytes]:
    user = request.headers.get("x-user", "anonymous")
    n = int(request.query_params.get("n", "10"))
    data = msgspec.json.decode(await request.body())
    total = sum(i * i for i in range(n))
    body = {"user": user, "email": data["email"], "total": total, "even": total % 2 == 0}
    return Response(
        msgspec.json.encode(body), media_type="application/json", headers={"x-total": str(total)}
    )


app = Litestar([trivial, realistic], logging_config=None, openapi_config=None)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
