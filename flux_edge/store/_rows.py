"""Converting records to SQL parameters and result rows back to records, in one place per table."""

from __future__ import annotations

from typing import Any

import msgspec

from flux_edge.store.base import (
    ExecutionRecord,
    FunctionRecord,
    FunctionVersionRecord,
    SourceSet,
    TokenRecord,
)

FUNCTION_COLUMNS = (
    "id, name, description, code, compiled, version, enabled, timeout_seconds, memory_limit_mb, "
    "allow_net, allow_env, allow_read, allow_write, allow_unauthenticated, cron_schedule, env, "
    "created_at, updated_at, created_by, sources"
)
VERSION_COLUMNS = "function_id, version, code, compiled, created_at, created_by, sources"
EXECUTION_COLUMNS = (
    "id, function_id, function_version, trigger_type, status, status_code, duration_ms, result, "
    "logs, error_message, executed_at, completed_at, cpu_time_ms, heap_used_bytes"
)
TOKEN_COLUMNS = "id, name, token_hash, created_at, revoked_at, scope"  # noqa: S105 (not a secret)

_env_encoder = msgspec.json.Encoder()
_env_decoder = msgspec.json.Decoder(dict[str, str])
_sources_decoder = msgspec.json.Decoder(SourceSet)


def sources_param(sources: SourceSet | None) -> str | None:
    """A SourceSet as its JSON column value (NULL for a single-`code` function)."""
    return None if sources is None else _env_encoder.encode(sources).decode()


def _sources(value: str | None) -> SourceSet | None:
    return None if value is None else _sources_decoder.decode(value)


def function_params(r: FunctionRecord) -> tuple[Any, ...]:
    """FunctionRecord as parameters in FUNCTION_COLUMNS order."""
    return (
        r.id,
        r.name,
        r.description,
        r.code,
        r.compiled,
        r.version,
        r.enabled,
        r.timeout_seconds,
        r.memory_limit_mb,
        r.allow_net,
        r.allow_env,
        r.allow_read,
        r.allow_write,
        r.allow_unauthenticated,
        r.cron_schedule,
        _env_encoder.encode(r.env).decode(),
        r.created_at,
        r.updated_at,
        r.created_by,
        sources_param(r.sources),
    )


def function_from_row(row: tuple[Any, ...]) -> FunctionRecord:
    """A row selected with FUNCTION_COLUMNS as a FunctionRecord."""
    return FunctionRecord(
        id=row[0],
        name=row[1],
        description=row[2],
        code=row[3],
        compiled=row[4],
        version=row[5],
        enabled=bool(row[6]),
        timeout_seconds=row[7],
        memory_limit_mb=row[8],
        allow_net=bool(row[9]),
        allow_env=bool(row[10]),
        allow_read=bool(row[11]),
        allow_write=bool(row[12]),
        allow_unauthenticated=bool(row[13]),
        cron_schedule=row[14],
        env=_env_decoder.decode(row[15]),
        created_at=row[16],
        updated_at=row[17],
        created_by=row[18],
        sources=_sources(row[19]),
    )


def version_from_row(row: tuple[Any, ...]) -> FunctionVersionRecord:
    """A row selected with VERSION_COLUMNS as a FunctionVersionRecord."""
    return FunctionVersionRecord(
        function_id=row[0],
        version=row[1],
        code=row[2],
        compiled=row[3],
        created_at=row[4],
        created_by=row[5],
        sources=_sources(row[6]),
    )


def execution_from_row(row: tuple[Any, ...]) -> ExecutionRecord:
    """A row selected with EXECUTION_COLUMNS as an ExecutionRecord."""
    return ExecutionRecord(
        id=row[0],
        function_id=row[1],
        function_version=row[2],
        trigger_type=row[3],
        status=row[4],
        status_code=row[5],
        duration_ms=row[6],
        result=row[7],
        logs=row[8],
        error_message=row[9],
        executed_at=row[10],
        completed_at=row[11],
        cpu_time_ms=row[12],
        heap_used_bytes=row[13],
    )


def token_params(r: TokenRecord) -> tuple[Any, ...]:
    """TokenRecord as parameters in TOKEN_COLUMNS order."""
    return (r.id, r.name, r.token_hash, r.created_at, r.revoked_at, r.scope)


def token_from_row(row: tuple[Any, ...]) -> TokenRecord:
    """A row selected with TOKEN_COLUMNS as a TokenRecord."""
    return TokenRecord(
        id=row[0],
        name=row[1],
        token_hash=row[2],
        created_at=row[3],
        revoked_at=row[4],
        scope=row[5],
    )
