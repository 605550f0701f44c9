"""Schemathesis against the OpenAPI document of a running server: no 5xx, bodies match the schema.

The examples per operation are bounded (FUZZ_EXAMPLES, default 15) so the module runs in well under
a minute; raise it locally for a deeper run: `FUZZ_EXAMPLES=500 pytest tests/fuzz`.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.conftest import ADMIN_TOKEN, ServerProcess

SERVER_ENV = {"FLUX_EDGE_RATE_LIMITS": "off"}
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
CHECKS = [not_a_server_error]
CONFORMANCE = [response_schema_conformance, content_type_conformance]
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
FEW = settings(FUZZ, max_examples=max(EXAMPLES // 3, 3))


@pytest.fixture(scope="module")
def api_schema(server: ServerProcess) -> schemathesis.BaseSchema:
    """The live document, as the server serves it."""
    return schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


# Invocations run user code, whose own 500s are legitimate; they are fuzzed below without functions.
@schema.exclude(path_regex=r"/(invoke|logs)$").parametrize()  # a followed log never ends
@FUZZ
def test_management_endpoints_never_answer_with_a_server_error(case, server):
    case.call_and_validate(base_url=server.url, headers=AUTH, checks=CHECKS, timeout=30)


@schema.include(path_regex=r"/invoke$").parametrize()
@FEW
def test_invoking_missing_functions_with_any_input_never_fails(case, server):
    case.call_and_validate(base_url=server.url, checks=[not_a_server_error], timeout=30)


@schema.exclude(path_regex=r"/(invoke|logs)$").parametrize()  # a followed log never ends
@FEW
def test_management_endpoints_without_credentials_never_fail(case, server):
    case.call_and_validate(base_url=server.url, checks=[not_a_server_error], timeout=30)


def _case(api_schema: schemathesis.BaseSchema, path: str, method: str, **parts: object):
    return api_schema[path][method].Case(**parts)


def test_successful_management_responses_match_the_documented_schema(api_schema, server):
    code = "function handler(req) { return {ok: true} }"
    calls = [
        (
            "/api/v1/functions",
            "POST",
            {"body": {"name": "fuzz-doc", "code": code, "enabled": True}},
        ),
        (
            "/api/v1/functions/{name}",
            "PUT",
            {"path_parameters": {"name": "fuzz-doc"}, "body": {"code": code}},
        ),
        ("/api/v1/functions", "GET", {}),
        ("/api/v1/functions/{name}", "GET", {"path_parameters": {"name": "fuzz-doc"}}),
        ("/api/v1/functions/{name}/versions", "GET", {"path_parameters": {"name": "fuzz-doc"}}),
        (
            "/api/v1/functions/{name}/versions/{version}",
            "GET",
            {"path_parameters": {"name": "fuzz-doc", "version": 1}},
        ),
        (
            "/api/v1/functions/{name}/rollback",
            "POST",
            {"path_parameters": {"name": "fuzz-doc"}, "body": {"version": 1}},
        ),
        ("/api/v1/functions/{name}/executions", "GET", {"path_parameters": {"name": "fuzz-doc"}}),
        ("/health", "GET", {}),
        ("/api/v1/functions/{name}", "DELETE", {"path_parameters": {"name": "fuzz-doc"}}),
    ]
    for path, method, parts in calls:
        response = _case(api_schema, path, method, **parts).call_and_validate(
            base_url=server.url, headers=AUTH, checks=[*CHECKS, *CONFORMANCE], timeout=30
        )
        assert response.status_code < 300, (path, method, response.text)


def test_documented_400_bodies_match_what_the_server_sends(api_schema, server):
    case = _case(api_schema, "/api/v1/functions", "POST", body={"name": "bad name!", "code": "x"})
    response = case.call_and_validate(
        base_url=server.url, headers=AUTH, checks=CONFORMANCE, timeout=30
    )
    assert response.status_code == 400


def test_the_metrics_content_type_is_documented(api_schema, server):
    case = _case(api_schema, "/metrics", "GET")
    case.call_and_validate(base_url=server.url, checks=CONFORMANCE, timeout=30)
