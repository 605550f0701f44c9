"""Which limit class each API request falls in, and how callers are told apart."""

from __future__ import annotations

import pytest

from flux_edge.api.rate_limit import caller_of, classify


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/api/v1/functions", ("write", None)),
        ("POST", "/api/v1/functions/", ("write", None)),
        ("GET", "/api/v1/functions", ("list", None)),
        ("GET", "/api/v1/functions/hello", ("read", None)),
        ("GET", "/api/v1/functions/hello/versions", ("read", None)),
        ("GET", "/api/v1/functions/hello/versions/2", ("read", None)),
        ("PUT", "/api/v1/functions/hello", ("write", None)),
        ("DELETE", "/api/v1/functions/hello", ("write", None)),
        ("POST", "/api/v1/functions/hello/rollback", ("write", None)),
        ("GET", "/api/v1/functions/hello/executions", ("executions", None)),
        ("POST", "/api/v1/functions/hello/invoke", ("invoke", "hello")),
        ("GET", "/api/v1/functions/hello/invoke", ("invoke", "hello")),
        ("DELETE", "/api/v1/functions/hello/invoke", ("invoke", "hello")),
        # Sub-paths, and the forms the one-match path does not take, which the split still does.
        ("POST", "/api/v1/functions/hello/invoke/a/b", ("invoke", "hello")),
        ("POST", "/api/v1/functions/hello/invoke/", ("invoke", "hello")),
        ("POST", "/api/v1/functions//hello//invoke", ("invoke", "hello")),
        ("POST", "/api/v1/functions/hello/invoked", ("write", None)),
        ("GET", "/api/v1/functionsX/hello/invoke", ("read", None)),
        ("POST", "/functions/v1/hello/sub", ("invoke", "hello")),
    ],
)
def test_api_requests_fall_in_their_limit_class(method, path, expected):
    assert classify(method, path) == expected


@pytest.mark.parametrize("path", ["/health", "/metrics", "/schema/openapi.json", "/"])
def test_requests_outside_the_functions_api_are_not_limited(path):
    assert classify("GET", path) is None


def test_callers_are_their_credential_or_else_their_address():
    assert caller_of("Bearer abc", ("10.0.0.1", 5000)) == "t:Bearer abc"
    assert caller_of(None, ("10.0.0.1", 5000)) == "ip:10.0.0.1"
    assert caller_of(None, None) == "ip:unknown"
