"""Rate limits on the HTTP API: an ASGI middleware that classifies each request and counts it.

It runs before routing and authentication, keyed by the bearer credential as sent (per token), or
by the client address when there is none, so refusing a request costs no database read. Every
response of a limited endpoint carries X-RateLimit-Limit/Remaining/Reset; a refusal is 429 with
`{"error": "Rate limit exceeded", "retry_after": N}` and `Retry-After: N`, N being the real wait.
"""

from __future__ import annotations

from typing import Any

import msgspec

from flux_edge.api.invoke import INVOKE_PATTERN
from flux_edge.api.state import RATE_LIMITER_KEY, SERVICES_KEY
from flux_edge.asgi import ASGIApp, Receive, Scope, Send, authorization_header
from flux_edge.http.cycle import SendWithFields, send_whole, wire_fields
from flux_edge.ratelimit import Decision, LimitClass, RateLimiter

_PREFIX = "/api/v1/functions"
# The Supabase route counts per client address: its bearer is usually the anon key every user
# shares, and public functions do not check it, so fresh made-up bearers must not buy fresh budgets.
_SUPABASE_PREFIX = "/functions/v1/"
_RELAY_FIELDS = b"x-relay-error: true\r\nsb-error-code: RATE_LIMITED\r\n"
_LIMIT_FIELDS = b"x-ratelimit-limit: %d\r\nx-ratelimit-remaining: %d\r\nx-ratelimit-reset: %d\r\n"
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RateLimitBody(msgspec.Struct):
    """The 429 body: the reference's two fields plus the contract's `message`."""

    error: str
    message: str
    retry_after: int


def rate_limiter_of(scope: Scope | Any) -> RateLimiter | None:
    """The app's limiter (None when rate limits are off or the app has not started)."""
    limiter: RateLimiter | None = scope["app"].state.get(RATE_LIMITER_KEY)
    return limiter


def classify(method: str, path: str) -> tuple[LimitClass, str | None] | None:
    """The limit class of a request and, for invocations, the function; None when unlimited."""
    # The invoke route as routing serves it, without the split below: what most requests are.
    invoke = INVOKE_PATTERN.match(path)
    if invoke is not None:
        return "invoke", invoke["name"]
    if path.startswith(_SUPABASE_PREFIX):
        name = path[len(_SUPABASE_PREFIX) :].split("/", 1)[0]
        return ("invoke", name) if name else None
    if not path.startswith(_PREFIX):
        return None
    parts = [p for p in path[len(_PREFIX) :].split("/") if p]
    if not parts:
        return ("write", None) if method == "POST" else ("list", None)
    if len(parts) >= 2 and parts[1] == "invoke":
        return "invoke", parts[0]
    if len(parts) >= 2 and parts[1] == "executions":
        return "executions", None
    if method in _WRITE_METHODS:
        return "write", None
    return "read", None


def caller_of(authorization: str | None, client: tuple[str, int] | None) -> str:
    """The rate-limit identity: the credential as sent, else the client address."""
    if authorization:
        return "t:" + authorization.strip()
    return "ip:" + (client[0] if client else "unknown")


def limit_fields(decision: Decision) -> bytes:
    """X-RateLimit-Limit, -Remaining and -Reset (seconds until the full budget is back), as they
    go on the wire."""
    return _LIMIT_FIELDS % (decision.limit, decision.remaining, decision.reset_seconds)


def rate_limited_body(decision: Decision, kind: LimitClass) -> bytes:
    """The JSON body of a refusal."""
    wait = decision.retry_after_seconds
    message = (
        f"More than {decision.limit} {kind} requests in {decision.period:g} s from this caller; "
        f"retry in {wait} s."
    )
    return msgspec.json.encode(RateLimitBody("Rate limit exceeded", message, wait))


class RateLimitMiddleware:
    """Pure ASGI middleware over HTTP requests under /api/v1/functions and /functions/v1
    (WebSocket messages are counted by the stream handler itself, one invocation each)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse with 429 or pass through, adding the limit headers to the response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limiter = rate_limiter_of(scope)
        kind = classify(scope["method"], scope["path"]) if limiter is not None else None
        if limiter is None or kind is None:
            await self.app(scope, receive, send)
            return
        supabase = scope["path"].startswith(_SUPABASE_PREFIX)
        authorization = None if supabase else authorization_header(scope)
        caller = caller_of(authorization, scope.get("client"))
        decision = limiter.check(kind[0], caller, kind[1])
        fields = limit_fields(decision)
        if not decision.allowed:
            services = scope["app"].state.get(SERVICES_KEY)
            if services is not None:
                services.metrics.refused(kind[0])
            refusal = fields + _RELAY_FIELDS if supabase else fields
            await _refuse(send, rate_limited_body(decision, kind[0]), decision, refusal)
            return

        await self.app(scope, receive, SendWithFields(send, fields))


async def _refuse(send: Send, body: bytes, decision: Decision, fields: bytes) -> None:
    """The 429, in one write when the server is flux-edge's own: refusing is what a flood costs.
    `fields`: the limit's (and the relay's) fields as they go on the wire, after the 429's own."""
    own = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(decision.retry_after_seconds).encode()),
    ]
    limited = SendWithFields(send, fields)
    if send_whole(limited, 429, wire_fields(own), body):
        return
    await limited({"type": "http.response.start", "status": 429, "headers": own})
    await send({"type": "http.response.body", "body": body, "more_body": False})
