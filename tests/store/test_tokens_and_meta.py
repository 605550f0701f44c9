"""API tokens (hashes only) and server-level meta values."""

from __future__ import annotations

import pytest

from flux_edge.store.base import NameConflictError, NotFoundError
from flux_edge.store.sqlite import SQLiteStore

from .factories import token_record


async def test_a_token_is_found_by_its_hash(store: SQLiteStore) -> None:
    token = token_record(token_hash="abc")
    await store.create_token(token)
    assert await store.find_token("abc") == token
    assert await store.find_token("other") is None


async def test_a_revoked_token_is_not_found(store: SQLiteStore) -> None:
    await store.create_token(token_record("ci", token_hash="abc"))
    revoked = await store.revoke_token("ci")
    assert revoked.revoked_at is not None
    assert revoked.revoked_at.endswith("Z")
    assert await store.find_token("abc") is None


async def test_a_token_can_be_revoked_by_id(store: SQLiteStore) -> None:
    token = token_record()
    await store.create_token(token)
    assert (await store.revoke_token(token.id)).id == token.id


async def test_revoking_twice_by_id_keeps_the_first_time(store: SQLiteStore) -> None:
    token = token_record()
    await store.create_token(token)
    first = await store.revoke_token(token.id)
    assert await store.revoke_token(token.id) == first


async def test_revoking_an_unknown_token_is_not_found(store: SQLiteStore) -> None:
    with pytest.raises(NotFoundError):
        await store.revoke_token("nobody")


async def test_an_unrevoked_name_cannot_be_issued_twice(store: SQLiteStore) -> None:
    await store.create_token(token_record("ci"))
    with pytest.raises(NameConflictError):
        await store.create_token(token_record("ci"))


async def test_a_revoked_name_can_be_issued_again(store: SQLiteStore) -> None:
    await store.create_token(token_record("ci", token_hash="old"))
    await store.revoke_token("ci")
    await store.create_token(token_record("ci", token_hash="new"))
    found = await store.find_token("new")
    assert found is not None
    assert found.name == "ci"


async def test_tokens_are_listed_oldest_first_revoked_included(store: SQLiteStore) -> None:
    await store.create_token(token_record("b", created_at="2024-10-26T10:00:02Z"))
    await store.create_token(token_record("a", created_at="2024-10-26T10:00:01Z"))
    await store.revoke_token("b")
    listed = await store.list_tokens()
    assert [(t.name, t.revoked_at is None) for t in listed] == [("a", True), ("b", False)]


async def test_an_unset_meta_key_reads_as_none(store: SQLiteStore) -> None:
    assert await store.get_meta("admin_token_hash") is None


async def test_a_meta_value_is_set_and_overwritten(store: SQLiteStore) -> None:
    await store.set_meta("admin_token_hash", "one")
    await store.set_meta("admin_token_hash", "two")
    assert await store.get_meta("admin_token_hash") == "two"
