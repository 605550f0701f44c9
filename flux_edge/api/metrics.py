"""`GET /metrics`: Prometheus text exposition of this worker's numbers."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST

from flux_edge.api.state import services_of


@get(
    "/metrics",
    tags=["operations"],
    summary="Prometheus metrics",
    media_type=CONTENT_TYPE_LATEST,
)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Invocations by function and status, durations, live isolates and queue depth."""
    return Response(content=services_of(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)
