"""Litestar guards and providers over `flux_edge.service.auth`."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.types import Scope

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


async def authenticate_optional(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """For public endpoints (invoke): the caller if a credential was sent, None if not.

    A credential that is present but invalid raises AuthenticationError (401), never None.
    """
    authenticator = services_of(connection).authenticator
    return await authenticator.authenticate(authorization_header(connection.scope))


def authorization_header(scope: Scope) -> str | None:
    """The request's first `Authorization` value, as Litestar's `headers.get` gives it, read
    from the scope: Litestar's `headers` builds a multidict of every header per request."""
    for key, value in scope["headers"]:
        if key.lower() == b"authorization":
            return value.decode("latin-1")
    return None
