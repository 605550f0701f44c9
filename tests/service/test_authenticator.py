"""Authenticator: which credentials become which Principal, against a real SQLite store."""

from __future__ import annotations

import time

import jwt
import pytest

from flux_edge.service.auth import (
    AuthenticationError,
    Authenticator,
    PermissionDeniedError,
    hash_token,
)
from flux_edge.service.tokens import TokenService, ensure_admin_token
from flux_edge.store.sqlite import SQLiteStore

SECRET = "s" * 64


@pytest.fixture
async def store(tmp_path):
    opened = await SQLiteStore.open(tmp_path / "flux-edge.db")
    yield opened
    await opened.close()


async def test_no_header_is_anonymous(store):
    auth = Authenticator(store, admin_token="adm", jwt_secret=SECRET)
    assert await auth.authenticate(None) is None


async def test_the_configured_admin_token_is_the_admin(store):
    auth = Authenticator(store, admin_token="adm", jwt_secret=SECRET)
    principal = await auth.authenticate("Bearer adm")
    assert (principal.id, principal.kind, principal.role) == ("admin", "admin", "admin")


async def test_the_scheme_is_case_insensitive(store):
    auth = Authenticator(store, admin_token="adm", jwt_secret=SECRET)
    assert (await auth.authenticate("bearer adm")).kind == "admin"


async def test_a_generated_admin_token_works_through_its_stored_hash(store):
    secret = await ensure_admin_token(store, configured=None)
    auth = Authenticator(store, admin_token=None, jwt_secret=SECRET)
    await auth.load()
    assert (await auth.authenticate(f"Bearer {secret}")).kind == "admin"


async def test_the_admin_token_is_generated_only_once(store):
    assert await ensure_admin_token(store, configured=None) is not None
    assert await ensure_admin_token(store, configured=None) is None


async def test_a_configured_admin_token_replaces_a_generated_one(store):
    generated = await ensure_admin_token(store, configured=None)
    auth = Authenticator(store, admin_token="configured", jwt_secret=SECRET)
    await auth.load()
    with pytest.raises(AuthenticationError):
        await auth.authenticate(f"Bearer {generated}")


async def test_an_api_token_is_found_by_its_hash_and_named_by_its_id(store):
    record, secret = await TokenService(store).create("ci")
    assert record.token_hash == hash_token(secret)
    auth = Authenticator(store, admin_token=None, jwt_secret=SECRET)
    principal = await auth.authenticate(f"Bearer {secret}")
    assert (principal.id, principal.kind, principal.can_manage) == (record.id, "api_token", True)


async def test_a_revoked_api_token_is_refused(store):
    tokens = TokenService(store)
    _, secret = await tokens.create("gone")
    await tokens.revoke("gone")
    auth = Authenticator(store, admin_token=None, jwt_secret=SECRET)
    with pytest.raises(AuthenticationError):
        await auth.authenticate(f"Bearer {secret}")


async def test_a_jwt_gives_its_subject_and_role(store):
    auth = Authenticator(store, admin_token=None, jwt_secret=SECRET)
    token = jwt.encode({"sub": "u7", "role": "authenticated"}, SECRET, algorithm="HS256")
    principal = await auth.authenticate(f"Bearer {token}")
    assert (principal.id, principal.kind, principal.role) == ("u7", "jwt", "authenticated")
    assert not principal.can_manage


async def test_a_jwt_without_a_subject_has_no_id(store):
    auth = Authenticator(store, admin_token=None, jwt_secret=SECRET)
    token = jwt.encode({"role": "service_role"}, SECRET, algorithm="HS256")
    principal = await auth.authenticate(f"Bearer {token}")
    assert principal.id is None
    assert principal.can_manage


async def test_jwts_are_refused_when_no_secret_is_configured(store):
    auth = Authenticator(store, admin_token=None, jwt_secret=None)
    token = jwt.encode({"sub": "u", "role": "admin"}, SECRET, algorithm="HS256")
    with pytest.raises(AuthenticationError):
        await auth.authenticate(f"Bearer {token}")


async def test_an_expired_jwt_is_refused(store):
    auth = Authenticator(store, admin_token=None, jwt_secret=SECRET)
    token = jwt.encode({"sub": "u", "exp": int(time.time()) - 1}, SECRET, algorithm="HS256")
    with pytest.raises(AuthenticationError, match="expired"):
        await auth.authenticate(f"Bearer {token}")


async def test_require_manager_tells_401_from_403(store):
    auth = Authenticator(store, admin_token=None, jwt_secret=SECRET)
    with pytest.raises(AuthenticationError):
        await auth.require_manager(None)
    token = jwt.encode({"sub": "u", "role": "anon"}, SECRET, algorithm="HS256")
    with pytest.raises(PermissionDeniedError):
        await auth.require_manager(f"Bearer {token}")
