"""API tokens and the generated admin token: created once, shown once, stored as hashes."""

from __future__ import annotations

import re
import uuid

from flux_edge.service.auth import ADMIN_TOKEN_META_KEY, generate_token, hash_token
from flux_edge.service.errors import ConflictError, InvalidInputError, NotFoundError
from flux_edge.store import base
from flux_edge.store.base import Store, TokenRecord, TokenScope
from flux_edge.store.clock import utc_now

TOKEN_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # used with fullmatch


class TokenService:
    """Create, list and revoke API tokens."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def create(self, name: str, scope: TokenScope = "manage") -> tuple[TokenRecord, str]:
        """Store a new token under `name` with `scope`; returns the record and the secret (shown
        only now)."""
        if scope not in ("manage", "invoke"):
            raise InvalidInputError(
                "Invalid token scope", "A token's scope is 'manage' or 'invoke'."
            )
        if not TOKEN_NAME.fullmatch(name):
            raise InvalidInputError(
                "Invalid token name", "A token name is 1-64 letters, digits, '-' or '_'."
            )
        secret = generate_token()
        record = TokenRecord(
            id=str(uuid.uuid4()),
            name=name,
            token_hash=hash_token(secret),
            created_at=utc_now(),
            scope=scope,
        )
        try:
            await self._store.create_token(record)
        except base.NameConflictError as exc:
            raise ConflictError(
                "Token name taken",
                f"An active token named {name!r} exists; revoke it or pick another.",
            ) from exc
        return record, secret

    async def list_tokens(self) -> list[TokenRecord]:
        """Every token, revoked ones included, oldest first."""
        return await self._store.list_tokens()

    async def revoke(self, id_or_name: str) -> TokenRecord:
        """Revoke a token by id or name; it stops working at once."""
        try:
            return await self._store.revoke_token(id_or_name)
        except base.NotFoundError as exc:
            raise NotFoundError(
                "Token not found", f"No token with id or name {id_or_name!r}."
            ) from exc


async def ensure_admin_token(store: Store, configured: str | None) -> str | None:
    """On first start without a configured admin token, create one and return it (else None).

    Only its hash is kept, so the caller must show the returned secret to the operator now.
    """
    if configured is not None or await store.get_meta(ADMIN_TOKEN_META_KEY) is not None:
        return None
    secret = generate_token()
    await store.set_meta(ADMIN_TOKEN_META_KEY, hash_token(secret))
    return secret


async def replace_admin_token(store: Store) -> str:
    """Generate a new admin token in place of the stored one (a lost token's way back); a running
    server reads the stored hash at start, so it takes the new token after a restart."""
    secret = generate_token()
    await store.set_meta(ADMIN_TOKEN_META_KEY, hash_token(secret))
    return secret
