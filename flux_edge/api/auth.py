"""Litestar guards and providers over `flux_edge.service.auth`."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from flux_edge.api.state import services_of
from flux_edge.service.auth import Principal

PRINCIPAL_KEY = "principal"


async def management_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Admit the admin token, API tokens and management-role JWTs; 401 or 403 otherwise."""
    authenticator = services_of(connection).authenticator
    principal = await authenticator.require_manager(connection.headers.get("authorization"))
    connection.state[PRINCIPAL_KEY] = principal


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The caller admitted by `management_guard`."""
    principal: Principal = request.state[PRINCIPAL_KEY]
    return principal
