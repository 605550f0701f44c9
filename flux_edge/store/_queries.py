"""The SQL the store runs, next to each other so the indexes they need are easy to check."""

# ruff: noqa: S608, S105
# S608: the f-strings only splice in the column lists and WHERE clauses defined here; every value
# is a bound parameter. S105: "TOKEN" in a name is a table here, not a secret.

from __future__ import annotations

from typing import Any

from flux_edge.store._rows import (
    EXECUTION_COLUMNS,
    FUNCTION_COLUMNS,
    TOKEN_COLUMNS,
    VERSION_COLUMNS,
)
from flux_edge.store.base import ExecutionQuery

# Functions and versions

INSERT_FUNCTION = f"INSERT INTO functions ({FUNCTION_COLUMNS}) VALUES ({', '.join('?' * 20)})"
# Every column but the id, in FUNCTION_COLUMNS order, so function_params(r)[1:] + (r.id,) binds it.
_FUNCTION_SETS = ", ".join(f"{name.strip()} = ?" for name in FUNCTION_COLUMNS.split(",")[1:])
UPDATE_FUNCTION = f"UPDATE functions SET {_FUNCTION_SETS} WHERE id = ?"
FUNCTION_NAME_TAKEN = "SELECT 1 FROM functions WHERE name = ?"
SELECT_FUNCTION_BY_NAME = f"SELECT {FUNCTION_COLUMNS} FROM functions WHERE name = ?"
SELECT_FUNCTIONS = f"SELECT {FUNCTION_COLUMNS} FROM functions ORDER BY name"
DELETE_FUNCTION = "DELETE FROM functions WHERE id = ?"

INSERT_VERSION = f"INSERT INTO function_versions ({VERSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
VERSION_EXISTS = "SELECT 1 FROM function_versions WHERE function_id = ? AND version = ?"
SELECT_VERSION = (
    f"SELECT {VERSION_COLUMNS} FROM function_versions WHERE function_id = ? AND version = ?"
)
SELECT_VERSIONS = (
    f"SELECT {VERSION_COLUMNS} FROM function_versions WHERE function_id = ? ORDER BY version"
)

# Executions

PRUNE_EXECUTIONS = """
DELETE FROM executions WHERE rowid IN (
    SELECT rowid FROM executions WHERE executed_us < ? LIMIT ?
)
"""


def executions_query(query: ExecutionQuery) -> tuple[str, tuple[Any, ...]]:
    """SQL and parameters listing one function's executions, newest first.

    Each filter combination is served by an index ending in `executed_us DESC`, so SQLite walks the
    index in order and stops after offset + limit rows; rowid breaks ties between equal timestamps
    (later insert first), which keeps pagination stable.
    """
    if query.limit < 1 or query.offset < 0:
        raise ValueError(f"limit must be >= 1 and offset >= 0 (got {query.limit}, {query.offset})")
    where = ["function_id = ?"]
    params: list[Any] = [query.function_id]
    if query.status is not None:
        where.append("status = ?")
        params.append(query.status)
    if query.trigger_type is not None:
        where.append("trigger_type = ?")
        params.append(query.trigger_type)
    sql = (
        f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE {' AND '.join(where)} "
        "ORDER BY executed_us DESC, rowid DESC LIMIT ? OFFSET ?"
    )
    return sql, (*params, query.limit, query.offset)


# Tokens and meta

INSERT_TOKEN = f"INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
TOKEN_NAME_TAKEN = "SELECT 1 FROM api_tokens WHERE name = ? AND revoked_at IS NULL"
SELECT_ACTIVE_TOKEN_BY_HASH = (
    f"SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL"
)
SELECT_TOKENS = f"SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, rowid"
# An id wins over a name; among tokens with that name only the unrevoked one can match.
SELECT_TOKEN_FOR_REVOKE = f"""
SELECT {TOKEN_COLUMNS} FROM api_tokens
WHERE id = ?1 OR (name = ?2 AND revoked_at IS NULL)
ORDER BY id = ?1 DESC
LIMIT 1
"""
REVOKE_TOKEN = "UPDATE api_tokens SET revoked_at = ? WHERE id = ?"

SELECT_META = "SELECT value FROM meta WHERE key = ?"
UPSERT_META = """
INSERT INTO meta (key, value) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""
