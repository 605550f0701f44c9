"""Who is calling: admin token, API tokens and HS256 JWTs, and what each may do.

The admin token is compared in constant time; API tokens are found by the SHA-256 hash of the
presented secret, so only hashes are ever stored. JWTs must be HS256 with our secret; `exp` is
honoured when present. A credential that is present but wrong is always an error, never ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Literal

import msgspec

from flux_edge.store.base import Store, TokenScope

PrincipalKind = Literal["admin", "api_token", "jwt"]

ADMIN_TOKEN_META_KEY = "admin_token_hash"  # noqa: S105  (a key name, not a secret)
MANAGEMENT_ROLES = frozenset({"service_role", "admin"})
TOKEN_PREFIX = "fe_"  # noqa: S105  (a visible prefix, not a secret)


class AuthenticationError(Exception):
    """The credential is missing, malformed, unknown, revoked or expired (HTTP 401)."""


class PermissionDeniedError(Exception):
    """The credential is valid but does not allow this operation (HTTP 403)."""


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """An authenticated caller.

    `id` is what `created_by` and `req.user_id` show: "admin" for the admin token, the token id for
    API tokens, the `sub` claim for JWTs (None when the JWT has no `sub`).
    """

    id: str | None
    kind: PrincipalKind
    role: str | None
    scope: TokenScope = "manage"  # of an API token; the admin token and JWTs have "manage"

    @property
    def can_manage(self) -> bool:
        """Whether this caller may use the management endpoints."""
        if self.kind == "api_token":
            return self.scope == "manage"
        return self.kind == "admin" or self.role in MANAGEMENT_ROLES


def generate_token() -> str:
    """A new random bearer secret (256 bits), recognisable by its prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Authenticator:
    """Turns an `Authorization` header into a Principal, reading token hashes from the store."""

    def __init__(self, store: Store, *, admin_token: str | None, jwt_secret: str | None) -> None:
        self._store = store
        self._admin_token = admin_token
        self._jwt_secret = jwt_secret
        self._stored_admin_hash: str | None = None

    async def load(self) -> None:
        """Read the generated admin token's hash (used only when no admin token is configured)."""
        if self._admin_token is None:
            self._stored_admin_hash = await self._store.get_meta(ADMIN_TOKEN_META_KEY)

    async def authenticate(self, header: str | None) -> Principal | None:
        """The caller behind `header`; None when there is no header. Raises AuthenticationError."""
        if header is None:
            return None
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError("Send the credential as 'Authorization: Bearer <token>'.")
        if self._is_admin(token):
            return Principal(id="admin", kind="admin", role="admin")
        if token.count(".") == 2:
            return self._decode_jwt(token)
        record = await self._store.find_token(hash_token(token))
        if record is None:
            raise AuthenticationError("The token is unknown or has been revoked.")
        return Principal(id=record.id, kind="api_token", role="service_role", scope=record.scope)

    async def is_server_credential(self, header: str) -> bool:
        """Whether `header` (an Authorization value) carries the admin token or an API token:
        credentials of this server, which function code must never receive. JWTs are not: they
        are the end user's, forwarded to the function as Supabase does."""
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        if self._is_admin(token):
            return True
        if token.count(".") == 2:
            return False
        return await self._store.find_token(hash_token(token)) is not None

    async def require_manager(self, header: str | None) -> Principal:
        """The caller, who must be allowed to manage functions (401 or 403 otherwise)."""
        principal = await self.authenticate(header)
        if principal is None:
            raise AuthenticationError(
                "This endpoint needs 'Authorization: Bearer <token>' with the admin token, "
                "an API token or a JWT."
            )
        if not principal.can_manage:
            if principal.kind == "api_token":
                raise PermissionDeniedError(
                    "This API token may only invoke functions (scope 'invoke'); managing "
                    "functions needs a token with scope 'manage' or the admin token."
                )
            raise PermissionDeniedError(
                "Managing functions needs a JWT whose 'role' claim is 'service_role' or 'admin'."
            )
        return principal

    def _is_admin(self, token: str) -> bool:
        if self._admin_token is not None:
            return hmac.compare_digest(token.encode("utf-8"), self._admin_token.encode("utf-8"))
        if self._stored_admin_hash is not None:
            return hmac.compare_digest(hash_token(token), self._stored_admin_hash)
        return False

    def _decode_jwt(self, token: str) -> Principal:
        if not self._jwt_secret:
            raise AuthenticationError("JWTs are not accepted: the server has no JWT secret.")
        import jwt  # on the first JWT: PyJWT imports `cryptography`, which a server start does not need

        try:
            # Pinning the algorithm list rejects `alg: none` and any algorithm confusion.
            claims = jwt.decode(token, self._jwt_secret, algorithms=["HS256"])
        except jwt.ExpiredSignatureError as exc:
            raise AuthenticationError("The JWT has expired.") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthenticationError(f"The JWT is invalid: {exc}.") from exc
        sub = claims.get("sub")
        role = claims.get("role")
        return Principal(
            id=sub if isinstance(sub, str) else None,
            kind="jwt",
            role=role if isinstance(role, str) else None,
        )
