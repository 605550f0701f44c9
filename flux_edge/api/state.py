"""The objects a running app shares between requests, built once at startup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flux_edge.runtime.types import FunctionRunner
from flux_edge.service.auth import Authenticator
from flux_edge.service.executions import ExecutionService
from flux_edge.service.functions import FunctionService
from flux_edge.service.invocations import InvocationService
from flux_edge.service.live_logs import LiveLogHub
from flux_edge.service.metrics import InvocationMetrics
from flux_edge.settings import Settings
from flux_edge.store.base import Store

SERVICES_KEY = "services"
RATE_LIMITER_KEY = "rate_limiter"


@dataclass(frozen=True, slots=True)
class Services:
    """Everything handlers use, built once per worker process at startup."""

    settings: Settings
    store: Store
    authenticator: Authenticator
    functions: FunctionService
    executions: ExecutionService
    invocations: InvocationService
    metrics: InvocationMetrics
    runtime: FunctionRunner
    live_logs: LiveLogHub


def services_of(connection: Any) -> Services:
    """The app's Services from any Litestar request or websocket."""
    services: Services = connection.app.state[SERVICES_KEY]
    return services
