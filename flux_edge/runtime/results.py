"""Turning what JavaScript reported for a call into an InvokeResult (the HTTP response to send)."""

from __future__ import annotations

import base64
import binascii
import re
import time
from typing import Any

import msgspec

from flux_edge.runtime.types import FunctionSpec, InvokeRequest, InvokeResult, LimitHit, Outcome

_encode = msgspec.json.encode
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_HOP_BY_HOP = (
    "connection",
    "content-length",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
)


def _valid_header(name: str, value: str) -> bool:
    return bool(_TOKEN.match(name)) and not any(c in value for c in "\r\n\0")


class CallOutcome(msgspec.Struct):
    """A finished call's result and the limit it hit, if any (the isolate is retired then)."""

    result: InvokeResult
    limit: LimitHit | None


def _elapsed_ms(started: float) -> float:
    return (time.monotonic() - started) * 1000


FAILED = "Function execution failed"


def error_result(
    spec: FunctionSpec,
    request: InvokeRequest,
    started: float,
    logs: str,
    message: str,
    *,
    status_code: int = 500,
    outcome: Outcome = "error",
    title: str = FAILED,
    stack: str | None = None,
    limit: LimitHit | None = None,
) -> InvokeResult:
    """A failed call: the reference's error JSON, naming the function and the execution."""
    body = _encode(
        {
            "error": title,
            "message": message,
            "function": spec.name,
            "execution_id": request.execution_id,
        }
    )
    return InvokeResult(
        outcome=outcome,
        status_code=status_code,
        headers=[("content-type", "application/json")],
        body=body,
        logs=logs,
        duration_ms=_elapsed_ms(started),
        error_message=message,
        error_stack=stack,
        limit=limit,
    )


def timeout_result(
    spec: FunctionSpec, request: InvokeRequest, started: float, logs: str
) -> InvokeResult:
    """The call ran past timeout_seconds: 408."""
    message = (
        f"the function did not finish within its timeout of {spec.timeout_seconds:g} s "
        "(timeout_seconds)"
    )
    return error_result(
        spec,
        request,
        started,
        logs,
        message,
        status_code=408,
        outcome="timeout",
        title="Function timed out",
        limit="timeout",
    )


def memory_result(
    spec: FunctionSpec, request: InvokeRequest, started: float, logs: str
) -> InvokeResult:
    """The isolate's heap passed memory_limit_mb: 500."""
    message = (
        f"Memory limit exceeded: the function used more than {spec.memory_limit_mb} MB "
        "(memory_limit_mb)"
    )
    return error_result(spec, request, started, logs, message, limit="memory")


def interrupted_result(
    spec: FunctionSpec, request: InvokeRequest, started: float, logs: str
) -> InvokeResult:
    """The isolate was stopped under this call because another call of the function hit a limit."""
    message = (
        "the call was interrupted: its isolate was stopped because another call of this "
        "function exceeded a limit"
    )
    return error_result(spec, request, started, logs, message)


def broken_result(
    spec: FunctionSpec, request: InvokeRequest, started: float, detail: str
) -> InvokeResult:
    """The function's code broke a built-in the runtime relies on (e.g. Array.prototype.push)."""
    message = (
        "the function broke a built-in the runtime relies on, so its call could not complete: "
        f"{detail or 'the runtime step failed'}"
    )
    return error_result(spec, request, started, "", message)


def _response_headers(response: dict[str, Any]) -> tuple[list[tuple[str, str]], str | None]:
    """The response headers as lower-cased pairs without hop-by-hop ones; or why one is invalid."""
    headers = [(str(pair[0]).lower(), str(pair[1])) for pair in response.get("headers") or ()]
    bad = next((name for name, value in headers if not _valid_header(name, value)), None)
    if bad is not None:
        message = (
            f"the response header {bad[:100]!r} has an invalid name or value "
            "(names are HTTP tokens; values may not contain CR, LF or NUL)"
        )
        return headers, message
    # Framing belongs to the server, not the function.
    return [pair for pair in headers if pair[0] not in _HOP_BY_HOP], None


def head_result(
    spec: FunctionSpec, request: InvokeRequest, head: dict[str, Any], started: float
) -> tuple[InvokeResult, bool]:
    """The head (status, headers) of a streamed response as an InvokeResult without a body, and
    whether it is valid (an invalid header makes it a 500, and the stream is not sent)."""
    headers, message = _response_headers(head)
    if message is not None:
        return error_result(spec, request, started, "", message), False
    result = InvokeResult(
        outcome="success",
        status_code=int(head.get("status") or 200),
        headers=headers,
        body=b"",
        logs="",
        duration_ms=_elapsed_ms(started),
    )
    return result, True


def stream_end_result(
    spec: FunctionSpec,
    request: InvokeRequest,
    head: InvokeResult,
    payload: dict[str, Any],
    *,
    started: float,
    timed_out: bool,
) -> CallOutcome:
    """The final result of a streamed response, from its `done` entry: success when the stream
    closed (or the client went away), else the error, timeout or limit that cut it off."""
    if payload.get("end") and not timed_out:
        logs = str(payload.get("logs") or "")
        return CallOutcome(
            msgspec.structs.replace(head, logs=logs, duration_ms=_elapsed_ms(started)), None
        )
    return result_from_payload(
        spec, request, payload, started=started, timed_out=timed_out, max_response_bytes=0
    )


def result_from_payload(
    spec: FunctionSpec,
    request: InvokeRequest,
    payload: dict[str, Any],
    *,
    started: float,
    timed_out: bool,
    max_response_bytes: int,
) -> CallOutcome:
    """Map one `done` entry of a step (see js/core.js `finish`) to a CallOutcome."""
    logs = str(payload.get("logs") or "")
    if payload.get("interrupted") and not timed_out:
        return CallOutcome(interrupted_result(spec, request, started, logs), None)
    if (
        payload.get("cancelled")
        or payload.get("interrupted")
        or (timed_out and "response" not in payload)
    ):
        return CallOutcome(timeout_result(spec, request, started, logs), "timeout")
    error = payload.get("error")
    if error is not None:
        limit: LimitHit | None = "memory" if payload.get("limit") == "memory" else None
        message = str(error.get("message") or "Error")
        stack = str(error.get("stack") or "") or None
        failed = error_result(spec, request, started, logs, message, stack=stack, limit=limit)
        return CallOutcome(failed, limit)
    response = payload.get("response") or {}
    body_text = str(response.get("body") or "")
    try:
        body = (
            base64.b64decode(body_text, validate=True)
            if response.get("base64")
            else body_text.encode()
        )
    except (binascii.Error, ValueError):
        body = body_text.encode()
    if len(body) > max_response_bytes:
        message = f"the response body is {len(body)} bytes; the limit is {max_response_bytes}"
        return CallOutcome(error_result(spec, request, started, logs, message), None)
    headers, invalid = _response_headers(response)
    if invalid is not None:
        return CallOutcome(error_result(spec, request, started, logs, invalid), None)
    return CallOutcome(
        InvokeResult(
            outcome="success",
            status_code=int(response.get("status") or 200),
            headers=headers,
            body=body,
            logs=logs,
            duration_ms=_elapsed_ms(started),
        ),
        None,
    )


def after_response(response: InvokeResult, rest: InvokeResult) -> InvokeResult:
    """The record of a call that answered before the work it passed to waitUntil had ended: the
    response as sent, the logs of the whole call, and how that work ended (an error, the timeout)."""
    if rest.outcome == "success":
        return msgspec.structs.replace(response, logs=rest.logs, duration_ms=rest.duration_ms)
    return msgspec.structs.replace(
        response,
        outcome=rest.outcome,
        logs=rest.logs or response.logs,
        duration_ms=rest.duration_ms,
        error_message=rest.error_message
        if rest.limit is None
        else f"after the response: {rest.error_message}",
        error_stack=rest.error_stack,
        limit=rest.limit,
    )
