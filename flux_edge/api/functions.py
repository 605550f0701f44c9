"""The management endpoints: functions, their versions, rollback and execution history."""

from __future__ import annotations

from typing import Annotated, TypeVar

import msgspec
from litestar import Controller, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from msgspec import UNSET

from flux_edge.api.auth import management_guard, provide_principal
from flux_edge.api.docs import MANAGEMENT_SECURITY
from flux_edge.api.schemas import (
    ERROR_RESPONSES,
    EnvChange,
    ExecutionResponse,
    FunctionCreate,
    FunctionResponse,
    FunctionSummary,
    FunctionUpdate,
    RollbackRequest,
    StrictJSON,
    VersionResponse,
    VersionSummary,
)
from flux_edge.api.state import SERVICES_KEY, Services
from flux_edge.service.auth import Principal
from flux_edge.service.errors import InvalidInputError
from flux_edge.service.functions import FunctionChanges
from flux_edge.store.base import ExecutionStatus, FunctionRecord, SourceSet, TriggerType

SummaryT = TypeVar("SummaryT", bound=FunctionSummary)


_SOURCE_FIELDS = ("files", "entrypoint", "packages")


def provide_services(state: State) -> Services:
    """Dependency provider for handlers that take `services: Services`."""
    services: Services = state[SERVICES_KEY]
    return services


def _view(record: FunctionRecord, schema: type[SummaryT]) -> SummaryT:
    """The record as `schema` shows it: variable names instead of values."""
    fields = {
        f: getattr(record, f)
        for f in schema.__struct_fields__
        if f != "env_names" and f not in _SOURCE_FIELDS
    }
    if schema is FunctionResponse and record.sources is not None:
        fields.update(_sources(record.sources))
    return schema(**fields, env_names=sorted(record.env))


def _sources(sources: SourceSet | None) -> dict[str, object]:
    if sources is None:
        return {}
    return {
        "files": sources.files,
        "entrypoint": sources.entrypoint,
        "packages": sources.packages,
    }


def _full(record: FunctionRecord) -> FunctionResponse:
    return _view(record, FunctionResponse)


def _summary(record: FunctionRecord) -> FunctionSummary:
    return _view(record, FunctionSummary)


def _changes(data: FunctionCreate | FunctionUpdate) -> FunctionChanges:
    fields = {
        f: value
        for f in FunctionChanges.__struct_fields__
        if (value := getattr(data, f)) is not UNSET
    }
    return FunctionChanges(**fields)


class FunctionController(Controller):
    """CRUD over functions plus version history (an extension). All need management auth."""

    path = "/api/v1/functions"
    tags = ["functions"]  # noqa: RUF012  (Litestar reads these as class attributes)
    guards = [management_guard]  # noqa: RUF012
    security = MANAGEMENT_SECURITY
    dependencies = {  # noqa: RUF012
        "services": Provide(provide_services, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    @post(
        "/",
        dto=StrictJSON[FunctionCreate],
        return_dto=None,
        status_code=201,
        responses=ERROR_RESPONSES,
    )
    async def create_function(
        self,
        data: JSONBody[FunctionCreate],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> FunctionResponse:
        """Deploy a new function (version 1). Defaults: disabled, 30 s, 128 MiB, net and env on."""
        record = await services.functions.create(data.name, _changes(data), principal.id)
        return _full(record)

    @get("/", responses=ERROR_RESPONSES)
    async def list_functions(self, services: NamedDependency[Services]) -> list[FunctionSummary]:
        """Every function without its code, ordered by name."""
        return [_summary(r) for r in await services.functions.list_functions()]

    @get("/{name:str}", responses=ERROR_RESPONSES)
    async def get_function(
        self, name: FromPath[str], services: NamedDependency[Services]
    ) -> FunctionResponse:
        """One function with its code; `env_names` lists its variables (values are write-only)."""
        return _full(await services.functions.get(name))

    @put("/{name:str}", dto=StrictJSON[FunctionUpdate], return_dto=None, responses=ERROR_RESPONSES)
    async def update_function(
        self,
        name: FromPath[str],
        data: JSONBody[FunctionUpdate],
        services: NamedDependency[Services],
    ) -> FunctionResponse:
        """Partial update; every successful update increments `version`. `env` replaces all."""
        if data.name is not UNSET and data.name != name:
            raise InvalidInputError(
                "Renaming is not supported",
                f"`name` must be {name!r} or absent; create a new function to use another name.",
            )
        return _full(await services.functions.update(name, _changes(data)))

    @patch(
        "/{name:str}/env",
        operation_id="changeFunctionEnv",
        dto=StrictJSON[EnvChange],
        return_dto=None,
        responses=ERROR_RESPONSES,
    )
    async def change_env(
        self,
        name: FromPath[str],
        data: JSONBody[EnvChange],
        services: NamedDependency[Services],
    ) -> FunctionResponse:
        """Set (`set`) and remove (`unset`) variables, keeping the others; a new version
        (extension: a PUT with `env` replaces them all, and values are never shown)."""
        return _full(await services.functions.change_env(name, dict(data.set), list(data.unset)))

    @delete("/{name:str}", status_code=204, responses=ERROR_RESPONSES)
    async def delete_function(
        self, name: FromPath[str], services: NamedDependency[Services]
    ) -> None:
        """Delete the function with its versions, executions, files and schedule."""
        await services.functions.delete(name)

    @get("/{name:str}/versions", responses=ERROR_RESPONSES)
    async def list_versions(
        self, name: FromPath[str], services: NamedDependency[Services]
    ) -> list[VersionSummary]:
        """The version history, oldest first (extension)."""
        current = await services.functions.get(name)
        return [
            VersionSummary(
                version=v.version,
                created_at=v.created_at,
                created_by=v.created_by,
                current=v.version == current.version,
            )
            for v in await services.functions.list_versions(name)
        ]

    @get("/{name:str}/versions/{version:int}", responses=ERROR_RESPONSES)
    async def get_version(
        self, name: FromPath[str], version: FromPath[int], services: NamedDependency[Services]
    ) -> VersionResponse:
        """One version with its code (extension)."""
        v = await services.functions.get_version(name, version)
        return VersionResponse(
            version=v.version,
            code=v.code,
            created_at=v.created_at,
            created_by=v.created_by,
            **_sources(v.sources),  # type: ignore[arg-type]
        )

    @post(
        "/{name:str}/rollback",
        operation_id="rollbackFunction",
        dto=StrictJSON[RollbackRequest],
        return_dto=None,
        status_code=200,
        responses=ERROR_RESPONSES,
    )
    async def rollback(
        self,
        name: FromPath[str],
        data: JSONBody[RollbackRequest],
        services: NamedDependency[Services],
    ) -> FunctionResponse:
        """Create a new version holding version N's code (extension)."""
        return _full(await services.functions.rollback(name, data.version))

    @get("/{name:str}/executions", responses=ERROR_RESPONSES)
    async def list_executions(
        self,
        name: FromPath[str],
        services: NamedDependency[Services],
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 50,
        offset: Annotated[int, Parameter(ge=0)] = 0,
        status: FromQuery[ExecutionStatus | None] = None,
        trigger_type: FromQuery[TriggerType | None] = None,
    ) -> list[ExecutionResponse]:
        """Executions of a function, newest first, filtered by status and trigger type."""
        records = await services.executions.list_for(
            name, limit=limit, offset=offset, status=status, trigger_type=trigger_type
        )
        return [msgspec.convert(r, ExecutionResponse, from_attributes=True) for r in records]
