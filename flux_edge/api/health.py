"""Liveness: answers without auth and without touching the database."""

from __future__ import annotations

from litestar import get

from flux_edge.api.schemas import HealthResponse


@get("/health", tags=["operations"], sync_to_thread=False)
def health() -> HealthResponse:
    """200 `{"status": "ok"}` while the server is up."""
    return HealthResponse(status="ok")
