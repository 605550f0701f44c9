"""`GET /metrics`: Prometheus text exposition of the totals over all of the server's workers."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request, Response, get

from flux_edge.api.answers import ErrorBody
from flux_edge.api.errors import error_response
from flux_edge.api.state import services_of
from flux_edge.service.metrics import CONTENT_TYPE

# Litestar appends "; charset=utf-8" to text types itself, which makes CONTENT_TYPE exactly.
_MEDIA_TYPE = CONTENT_TYPE.removesuffix("; charset=utf-8")


@get(
    "/metrics",
    tags=["operations"],
    summary="Prometheus metrics",
    operation_id="getMetrics",
    media_type=_MEDIA_TYPE,
)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes] | Response[ErrorBody]:
    """Invocations by function and status, errors by kind, durations, rate-limit refusals,
    live isolates and queue depth. With FLUX_EDGE_METRICS_TOKEN set, a bearer token is required."""
    services = services_of(request)
    expected = services.settings.metrics_token
    if expected:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            return error_response(
                401,
                "Unauthorized",
                "GET /metrics needs `Authorization: Bearer <FLUX_EDGE_METRICS_TOKEN>`",
                headers={"WWW-Authenticate": "Bearer"},
            )
    return Response(content=services.metrics.render(), media_type=_MEDIA_TYPE)
