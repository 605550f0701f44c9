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
# RFC 9110 §5.1 field-name (a token) and §5.5 field-value: visible ASCII, obs-text (0x80-0xFF),
# spaces and tabs inside, none at either end. A character above 0xFF cannot be sent at all.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(
    r"(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?"
)
# What one response may carry in headers (nginx and Cloudflare allow less per request line).
MAX_RESPONSE_HEADERS = 100
MAX_RESPONSE_HEADER_BYTES = 64 * 1024
# What an error report keeps of the message and the stack (core.js clips at 64 KiB first and
# says so; this is the backstop).
MAX_ERROR_CHARS = 65 * 1024
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


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[truncated: {len(text)} characters]"


def _header_problem(raw: object) -> tuple[list[tuple[str, str]], str | None]:
    """The response headers as (lower-case name, value) pairs in order, or the reason they cannot
    be sent (RFC 9110 rules, with a count and a size cap)."""
    pairs: list[tuple[object, object]]
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list) and all(isinstance(p, list) and len(p) == 2 for p in raw):
        pairs = [(p[0], p[1]) for p in raw]
    elif raw is None:
        pairs = []
    else:
        return [], "the response headers are not a list of name/value pairs"
    if len(pairs) > MAX_RESPONSE_HEADERS:
        return (
            [],
            f"the response has {len(pairs)} headers; at most {MAX_RESPONSE_HEADERS} are allowed",
        )
    headers: list[tuple[str, str]] = []
    size = 0
    for name, value in pairs:
        if not isinstance(name, str) or not isinstance(value, str):
            return [], "a response header name or value is not a string"
        value = value.strip(" \t")  # as the fetch standard's Headers normalise a value
        size += len(name) + len(value) + 4
        if not _TOKEN.fullmatch(name):
            return [], f"the response header name {name[:100]!r} is not an HTTP token (RFC 9110)"
        if not _FIELD_VALUE.fullmatch(value):
            return [], (
                f"the response header {name[:100]!r} has a value HTTP cannot carry: only visible "
                "ASCII, spaces, tabs and bytes 0x80-0xFF are allowed (RFC 9110); encode other "
                "text first, e.g. with encodeURIComponent"
            )
        headers.append((name.lower(), value))
    if size > MAX_RESPONSE_HEADER_BYTES:
        return [], (
            f"the response headers take {size} bytes; at most {MAX_RESPONSE_HEADER_BYTES} are allowed"
        )
    return headers, None


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
    message = _clip(message, MAX_ERROR_CHARS)
    if stack is not None:
        stack = _clip(stack, MAX_ERROR_CHARS)
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
    """The response headers as lower-cased pairs without hop-by-hop ones; or why they cannot be
    sent (see `_header_problem`)."""
    headers, problem = _header_problem(response.get("headers"))
    if problem is not None:
        return [], problem
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
    max_log_bytes: int = 256 * 1024,
) -> CallOutcome:
    """Map one `done` entry of a step (see js/core.js `finish`) to a CallOutcome.

    Nothing in `payload` is trusted: core.js builds it out of reach of user code, and this checks
    it again. What cannot be sent as HTTP (a status outside 200-599, a header HTTP cannot carry, a
    body over the cap) becomes a 500 whose record says why.
    """
    raw_logs = payload.get("logs")
    # core.js caps logs at max_log_bytes characters plus its truncation note.
    logs = _clip(raw_logs, max_log_bytes + 1024) if isinstance(raw_logs, str) else ""
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
        if not isinstance(error, dict):
            error = {}
        message = error.get("message")
        message = message if isinstance(message, str) and message else "Error"
        stack = error.get("stack")
        stack = stack if isinstance(stack, str) and stack else None
        failed = error_result(spec, request, started, logs, message, stack=stack, limit=limit)
        return CallOutcome(failed, limit)
    response = payload.get("response")
    if response is None and payload.get("background") is True:
        response = {}  # waitUntil work ended well after the response went out (core.js settleWait)
    if not isinstance(response, dict):
        return _invalid(spec, request, started, logs, "the runtime received no response")
    status = response.get("status", 200)
    if type(status) is not int or not 200 <= status <= 599:
        shown = repr(status)[:100]
        return _invalid(
            spec, request, started, logs, f"status {shown} is not an integer from 200 to 599"
        )
    body_text = response.get("body")
    if body_text is None:
        body_text = ""
    if not isinstance(body_text, str):
        return _invalid(spec, request, started, logs, "the response body is not a string")
    if len(body_text) > 4 * max_response_bytes:  # no UTF-8 or base64 text this long fits
        message = f"the response body is more than {max_response_bytes} bytes"
        return CallOutcome(error_result(spec, request, started, logs, message), None)
    try:
        body = (
            base64.b64decode(body_text, validate=True)
            if response.get("base64") is True
            else body_text.encode()
        )
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return _invalid(spec, request, started, logs, "the response body is not valid")
    if len(body) > max_response_bytes:
        message = f"the response body is {len(body)} bytes; the limit is {max_response_bytes}"
        return CallOutcome(error_result(spec, request, started, logs, message), None)
    headers, invalid = _response_headers(response)
    if invalid is not None:
        return CallOutcome(error_result(spec, request, started, logs, invalid), None)
    return CallOutcome(
        InvokeResult(
            outcome="success",
            status_code=status,
            headers=headers,
            body=body,
            logs=logs,
            duration_ms=_elapsed_ms(started),
        ),
        None,
    )


def _invalid(
    spec: FunctionSpec, request: InvokeRequest, started: float, logs: str, why: str
) -> CallOutcome:
    message = f"the function's response cannot be sent: {why}"
    return CallOutcome(error_result(spec, request, started, logs, message), None)


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
