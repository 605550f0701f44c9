"""The ASGI interface's types, for the layers that serve requests without Litestar.

`flux-edge serve` answers `/health` and the function routes before Litestar is imported (start-up)
or involved (per call), so those layers type their scopes and messages here rather than with
`litestar.types`, whose import loads all of Litestar. A scope is a plain mapping at runtime either
way; code that hands one to Litestar casts it there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def authorization_header(scope: Scope) -> str | None:
    """The request's first `Authorization` value, as Litestar's `headers.get` gives it, read
    from the scope: Litestar's `headers` builds a multidict of every header per request."""
    for key, value in scope["headers"]:
        if key.lower() == b"authorization":
            return str(value.decode("latin-1"))
    return None
