"""`/api/v1/functions/stream`: invoke functions over one WebSocket, many calls at a time.

A message `{"function": NAME, "payload": ANY, "id"?: ANY}` runs NAME with the JSON-encoded payload
as a POST body (trigger_type `websocket`); the answer is `{"type": "result", "id", "status",
"body", "headers", "execution_id"}`. Calls run concurrently and answer in completion order, so
clients match them by `id`. At most `ws_max_in_flight` calls run per socket: when that many are
running the handler stops reading, which lets TCP push back on a client that sends faster than
its calls finish, or that stops reading its answers.

Credentials: `Authorization: Bearer` at connect, `?token=` (browsers cannot set headers), or an
`{"type": "auth", "token": ...}` message, which applies to the calls sent after it. An invalid
credential closes the socket with code 4401 after an error message, as HTTP answers 401.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import msgspec
import structlog
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from flux_edge.api.rate_limit import caller_of, rate_limited_body, rate_limiter_of
from flux_edge.api.state import Services, services_of
from flux_edge.runtime import InvokeResult, RuntimeUnavailableError
from flux_edge.service.auth import AuthenticationError, Principal
from flux_edge.service.errors import NotFoundError, ServiceError
from flux_edge.service.invocations import CallInput

log = structlog.get_logger("flux_edge.stream")

AUTH_FAILED_CLOSE_CODE = 4401
_CALL_FIELDS = frozenset({"function", "payload", "id"})
_AUTH_FIELDS = frozenset({"type", "token", "id"})
# Handshake headers that describe the socket, not the call the function receives.
_HOP_HEADERS = frozenset({"connection", "upgrade", "host"})
_JSON_START = ("{", "[")


class _Refused(Exception):
    """A call that ends before reaching the function: status and error body, as HTTP would send."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _error_body(title: str, message: str, **extra: Any) -> bytes:
    return msgspec.json.encode({"error": title, "message": message, **extra})


def _decode_body(headers: dict[str, str], body: bytes) -> Any:
    """JSON bodies come back parsed, anything else as text (the same rule HTTP uses to infer a
    JSON content type: a declared JSON type, or none and a body starting with { or [)."""
    text = body.decode("utf-8", "replace")
    declared = headers.get("content-type")
    looks_json = "json" in declared if declared else text.lstrip()[:1] in _JSON_START
    if looks_json:
        with contextlib.suppress(msgspec.DecodeError):
            return msgspec.json.decode(body)
    return text


class StreamSession:
    """One WebSocket: reads messages, runs calls concurrently, writes answers one at a time."""

    def __init__(self, socket: WebSocket[Any, Any, Any], services: Services) -> None:
        self._socket = socket
        self._services = services
        self._limiter = rate_limiter_of(socket.scope)
        self._slots = asyncio.Semaphore(max(1, services.settings.ws_max_in_flight))
        self._send_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._credential: str | None = None
        self._principal: Principal | None = None
        self._open = True
        self._calls = 0
        # Plain str names: Litestar's header keys are multidict `istr`s, which the isolate hosts'
        # wire encoding (msgspec) refuses.
        self._headers = {
            str(name): value
            for name, value in socket.headers.items()
            if name not in _HOP_HEADERS and not name.startswith("sec-websocket-")
        }
        self._headers.update({"content-type": "application/json", "x-flux-trigger": "websocket"})
        scheme = "https" if socket.url.scheme == "wss" else "http"
        self._base_url = f"{scheme}://{socket.headers.get('host', 'localhost')}/api/v1/functions"

    async def run(self) -> None:
        """Authenticate, then serve messages until the client goes away."""
        header = self._socket.headers.get("authorization")
        token = self._socket.query_params.get("token")
        await self._socket.accept()
        credential = header or (f"Bearer {token}" if token is not None else None)
        if credential is not None and not await self._authenticate(credential, None):
            return
        log.info("stream_opened", authenticated=self._principal is not None)
        try:
            await self._read_loop()
        except WebSocketDisconnect:
            pass  # the client left; nothing to answer
        finally:
            self._open = False
            # Calls already running finish (their executions are recorded); answers are dropped.
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            log.info("stream_closed", calls=self._calls)

    async def _read_loop(self) -> None:
        max_bytes = self._services.settings.max_body_bytes
        while True:
            await self._slots.acquire()  # backpressure: no read while the socket is at its bound
            message = await self._socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text, data = message.get("text"), message.get("bytes")
            raw: str | bytes = (
                text if isinstance(text, str) else data if isinstance(data, bytes) else b""
            )
            if len(raw) > max_bytes:
                self._slots.release()
                await self._send_error(
                    None, "Message too large", f"Messages are limited to {max_bytes} bytes."
                )
                continue
            if not await self._dispatch(raw):
                return

    async def _dispatch(self, raw: str | bytes) -> bool:
        """Start a call, or handle an auth or malformed message; False once the socket is closed."""
        try:
            message = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            self._slots.release()
            await self._send_error(None, "Invalid message", f"The message is not JSON: {exc}.")
            return True
        if not isinstance(message, dict):
            self._slots.release()
            await self._send_error(
                None,
                "Invalid message",
                'Send an object: {"function": NAME, "payload": ANY, "id": ANY}.',
            )
            return True
        if message.get("type") == "auth":
            self._slots.release()
            return await self._auth_message(message)
        problem = self._problem(message)
        if problem is not None:
            self._slots.release()
            await self._send_error(message.get("id"), "Invalid message", problem)
            return True
        self._calls += 1
        task = asyncio.create_task(self._call(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    @staticmethod
    def _problem(message: dict[str, Any]) -> str | None:
        unknown = sorted(set(message) - _CALL_FIELDS)
        if unknown:
            return f"Unknown field {unknown[0]!r}; a call has 'function', 'payload' and 'id'."
        name = message.get("function")
        if not isinstance(name, str) or not name:
            return "'function' must be the name of a function (a non-empty string)."
        return None

    async def _auth_message(self, message: dict[str, Any]) -> bool:
        unknown = sorted(set(message) - _AUTH_FIELDS)
        token = message.get("token")
        if unknown or not isinstance(token, str) or not token:
            await self._send_error(
                message.get("id"),
                "Invalid message",
                'Authenticate with {"type": "auth", "token": "<token>"}.',
            )
            return True
        if await self._authenticate(f"Bearer {token}", message.get("id")):
            await self._send({"type": "auth", "id": message.get("id"), "status": 200})
            return True
        return False

    async def _authenticate(self, header: str, message_id: Any) -> bool:
        try:
            principal = await self._services.authenticator.authenticate(header)
        except AuthenticationError as exc:
            await self._send(
                {
                    "type": "error",
                    "id": message_id,
                    "status": 401,
                    "error": "Unauthorized",
                    "message": str(exc),
                }
            )
            with contextlib.suppress(Exception):
                await self._socket.close(AUTH_FAILED_CLOSE_CODE, "Unauthorized")
            self._open = False
            return False
        self._credential, self._principal = header, principal
        return True

    async def _call(self, message: dict[str, Any]) -> None:
        name: str = message["function"]
        try:
            try:
                result, execution_id = await self._invoke(name, message)
            except _Refused as refused:
                await self._send_result(
                    message.get("id"), refused.status, refused.headers, refused.body, None
                )
                return
            headers = dict(result.headers)
            await self._send_result(
                message.get("id"), result.status_code, headers, result.body, execution_id
            )
        except Exception:
            log.exception("stream_call_failed", function=name)
            await self._send_error(
                message.get("id"),
                "Internal server error",
                "The call failed unexpectedly; the error was logged.",
            )
        finally:
            self._slots.release()

    async def _invoke(self, name: str, message: dict[str, Any]) -> tuple[InvokeResult, str]:
        if self._limiter is not None:
            client = self._socket.scope.get("client")
            decision = self._limiter.check("invoke", caller_of(self._credential, client), name)
            if not decision.allowed:
                self._services.metrics.refused("invoke")
                headers = {"retry-after": str(decision.retry_after_seconds)}
                raise _Refused(429, rate_limited_body(decision, "invoke"), headers)
        body = msgspec.json.encode(message["payload"]) if "payload" in message else b""
        call = CallInput(
            method="POST",
            url=f"{self._base_url}/{name}/invoke",
            headers=list(self._headers.items()),
            body=body,
            trigger_type="websocket",
        )
        try:
            return await self._services.invocations.invoke(name, call, self._principal)
        except ServiceError as exc:
            status = 404 if isinstance(exc, NotFoundError) else 400
            raise _Refused(status, _error_body(exc.title, exc.message, function=name)) from exc
        except AuthenticationError as exc:
            raise _Refused(401, _error_body("Unauthorized", str(exc), function=name)) from exc
        except RuntimeUnavailableError as exc:
            raise _Refused(
                503,
                _error_body("Service unavailable", str(exc), function=name),
                {"retry-after": str(exc.retry_after)},
            ) from exc

    async def _send_result(
        self,
        message_id: Any,
        status: int,
        headers: dict[str, str],
        body: bytes,
        execution_id: str | None,
    ) -> None:
        if "content-type" not in headers and body:
            headers["content-type"] = (
                "application/json"
                if body.lstrip()[:1] in (b"{", b"[")
                else "text/plain; charset=utf-8"
            )
        await self._send(
            {
                "type": "result",
                "id": message_id,
                "status": status,
                "body": _decode_body(headers, body) if body else None,
                "headers": headers,
                "execution_id": execution_id,
            }
        )

    async def _send_error(self, message_id: Any, title: str, message: str) -> None:
        await self._send(
            {"type": "error", "id": message_id, "status": 400, "error": title, "message": message}
        )

    async def _send(self, message: dict[str, Any]) -> None:
        if not self._open:
            return
        data = msgspec.json.encode(message).decode()
        # One frame at a time; a client that stops reading blocks here, holding its call's slot.
        async with self._send_lock:
            try:
                await self._socket.send_text(data)
            except (WebSocketDisconnect, RuntimeError, OSError):
                self._open = False


@websocket(
    "/api/v1/functions/stream",
    name="function_stream",
)
async def function_stream(socket: WebSocket[Any, Any, Any]) -> None:
    """Invoke functions over a WebSocket; see the module docstring for the protocol."""
    await StreamSession(socket, services_of(socket)).run()
