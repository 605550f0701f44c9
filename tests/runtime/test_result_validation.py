"""Python's own check of what a step reported for a call: nothing JavaScript hands back is used
unchecked, even if core.js were fooled (issue 12, case 3)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from flux_edge.runtime.results import result_from_payload
from flux_edge.runtime.types import FunctionSpec, InvokeRequest

SPEC = FunctionSpec(function_id="f", name="f", version=1, compiled="")
REQUEST = InvokeRequest(method="GET", url="http://x/", headers=[], body=b"", execution_id="e")


def outcome(response: Any, **payload: Any):
    return result_from_payload(
        SPEC,
        REQUEST,
        {"response": response, "logs": "", **payload},
        started=time.monotonic(),
        timed_out=False,
        max_response_bytes=1024,
        max_log_bytes=100,
    ).result


@pytest.mark.parametrize("status", [999, 10**10, 199, 600, 200.5, True, "200", None, [200]])
def test_a_status_outside_200_to_599_is_a_500_that_says_so(status) -> None:
    result = outcome({"status": status, "headers": [], "body": "x"})
    assert (result.outcome, result.status_code) == ("error", 500)
    assert "is not an integer from 200 to 599" in (result.error_message or "")


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ([["x-a", "\u0100"]], "has a value HTTP cannot carry"),
        ([["x-a", "a\u2028b"]], "has a value HTTP cannot carry"),
        ([["x-a", "\U0001f600"]], "has a value HTTP cannot carry"),
        ([["x-a", "a\x01b"]], "has a value HTTP cannot carry"),
        ([["x a", "v"]], "is not an HTTP token"),
        ([["", "v"]], "is not an HTTP token"),
        ([["x-a", 5]], "is not a string"),
        ([["x-a"]], "not a list of name/value pairs"),
        ("x-a: v", "not a list of name/value pairs"),
        ([["x-" + str(i), "v"] for i in range(101)], "at most 100 are allowed"),
        ([["x-a", "v" * 70000]], "at most 65536 are allowed"),
    ],
)
def test_headers_http_cannot_carry_are_a_500_that_says_so(headers, why) -> None:
    result = outcome({"status": 200, "headers": headers, "body": ""})
    assert (result.outcome, result.status_code) == ("error", 500)
    assert why in (result.error_message or "")


def test_valid_headers_keep_their_order_case_folded_and_trimmed() -> None:
    result = outcome(
        {"status": 201, "headers": [["Set-Cookie", "a=1"], ["set-cookie", " b=2\t"], ["X", "caf\u00e9"]],
         "body": "ok"}
    )  # fmt: skip
    assert (result.outcome, result.status_code, result.body) == ("success", 201, b"ok")
    assert result.headers == [("set-cookie", "a=1"), ("set-cookie", "b=2"), ("x", "caf\u00e9")]


@pytest.mark.parametrize(
    "response", [None, "text", {"status": 200, "body": 5}, {"status": 200, "body": "\ud800"}]
)
def test_a_malformed_response_is_a_500(response) -> None:
    result = outcome(response)
    assert (result.outcome, result.status_code) == ("error", 500)
    assert (result.error_message or "").startswith("the function's response cannot be sent")


def test_error_messages_stacks_and_logs_are_capped() -> None:
    result = outcome(
        None, error={"message": "m" * 200_000, "stack": "s" * 200_000}, logs="l" * 5000
    )
    assert result.status_code == 500
    assert len(result.error_message or "") < 70_000
    assert len(result.error_stack or "") < 70_000
    assert len(result.body) < 70_000 * 2
    assert result.logs.endswith("[truncated: 5000 characters]")


def test_an_error_that_is_not_an_object_is_still_an_error() -> None:
    result = outcome(None, error=["forged"])
    assert (result.outcome, result.status_code, result.error_message) == ("error", 500, "Error")
