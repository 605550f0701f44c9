"""The management API's request and response bodies, as strict msgspec Structs.

Request bodies are decoded by `StrictJSON`: unknown fields and wrong types are 400s, with no
coercion of `"true"` to `true` (Litestar's own decoding is lenient, so we decode ourselves).
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar.dto import MsgspecDTO
from litestar.openapi import ResponseSpec
from litestar.typing import FieldDefinition
from msgspec import UNSET, Meta, UnsetType

from flux_edge.api.answers import ErrorBody
from flux_edge.service.errors import InvalidInputError
from flux_edge.store.base import ExecutionStatus, TriggerType

# msgspec matches patterns with re.search, where "$" also matches before a final newline: the
# lookahead refuses "name\n" (the pattern means the same in the OpenAPI document's ECMAScript).
Name = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,64}(?!\n)$", examples=["send-welcome-email"])]
Description = Annotated[str, Meta(max_length=4096)]
Code = Annotated[str, Meta(min_length=1, max_length=5 * 1024 * 1024)]
FilePath = Annotated[str, Meta(min_length=1, max_length=255)]
FileText = Annotated[str, Meta(max_length=5 * 1024 * 1024)]
# Multi-file functions (docs/modules.md): path -> source; the service checks paths and total size.
Files = Annotated[dict[FilePath, FileText], Meta(min_length=1, max_length=1000)]
Timeout = Annotated[int, Meta(ge=1, le=300)]
MemoryLimit = Annotated[int, Meta(ge=64, le=1024)]
Cron = Annotated[str, Meta(max_length=256, examples=["*/5 * * * *"])]
EnvName = Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}(?!\n)$")]
EnvValue = Annotated[str, Meta(max_length=32 * 1024)]
Env = Annotated[dict[EnvName, EnvValue], Meta(max_length=100)]

StructT = TypeVar("StructT", bound=msgspec.Struct)


class StrictJSON(MsgspecDTO[StructT], Generic[StructT]):
    """Decodes a JSON body straight into the Struct with msgspec in strict mode."""

    def decode_bytes(self, value: bytes) -> Any:
        """The body as the handler's Struct; InvalidInputError (400) for anything else."""
        try:
            return msgspec.json.decode(value, type=self.model_type, strict=True)
        except msgspec.ValidationError as exc:
            raise InvalidInputError("Invalid request body", f"{exc}.") from exc
        except msgspec.DecodeError as exc:
            raise InvalidInputError(
                "Malformed JSON", f"The request body is not valid JSON: {exc}."
            ) from exc

    @classmethod
    def create_for_field_definition(
        cls, field_definition: FieldDefinition, handler_id: str, backend_cls: Any = None
    ) -> None:
        """Build nothing: `decode_bytes` and the OpenAPI schema use the Struct itself, so the
        transfer-model backend Litestar would generate for each handler at start (~20 ms of code
        generation for four handlers) would never be used. Only the annotation is checked."""
        if not cls.resolve_model_type(field_definition).is_subclass_of(cls.model_type):
            raise TypeError(
                f"{cls.__name__} decodes {cls.model_type.__name__}, "
                f"the handler takes {field_definition.annotation!r}"
            )

    @classmethod
    def create_openapi_schema(
        cls, field_definition: Any, handler_id: str, schema_creator: Any
    ) -> Any:
        """Describe the Struct itself (with its constraints), not a generated transfer model."""
        return schema_creator.for_field_definition(FieldDefinition.from_annotation(cls.model_type))


class FunctionCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """POST /api/v1/functions. `env` holds the function's own variables (write-only)."""

    name: Name
    code: Code | UnsetType = UNSET
    files: Files | UnsetType = UNSET
    entrypoint: FilePath | UnsetType = UNSET
    description: Description | None = None
    enabled: bool = False
    timeout_seconds: Timeout = 30
    memory_limit_mb: MemoryLimit = 128
    allow_net: bool = True
    allow_env: bool = True
    allow_read: bool = False
    allow_write: bool = False
    allow_unauthenticated: bool = True
    cron_schedule: Cron | None = None
    env: Env = {}


class FunctionUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """PUT /api/v1/functions/:name; all fields optional. `name` may only repeat the current one."""

    name: Name | UnsetType = UNSET
    code: Code | UnsetType = UNSET
    files: Files | UnsetType = UNSET
    entrypoint: FilePath | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    enabled: bool | UnsetType = UNSET
    timeout_seconds: Timeout | UnsetType = UNSET
    memory_limit_mb: MemoryLimit | UnsetType = UNSET
    allow_net: bool | UnsetType = UNSET
    allow_env: bool | UnsetType = UNSET
    allow_read: bool | UnsetType = UNSET
    allow_write: bool | UnsetType = UNSET
    allow_unauthenticated: bool | UnsetType = UNSET
    cron_schedule: Cron | UnsetType | None = UNSET
    env: Env | UnsetType = UNSET


class EnvChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """PATCH /api/v1/functions/:name/env: set some variables, remove others, keep the rest."""

    set: Env = {}
    unset: Annotated[list[EnvName], Meta(max_length=100)] = []


class RollbackRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """POST /api/v1/functions/:name/rollback: the version whose code becomes the next version."""

    version: Annotated[int, Meta(ge=1)]


class FunctionSummary(msgspec.Struct, kw_only=True):
    """A function without its code, as listed. `env_names` shows variable names, never values."""

    id: str
    name: str
    description: str | None
    version: int
    enabled: bool
    timeout_seconds: int
    memory_limit_mb: int
    allow_net: bool
    allow_env: bool
    allow_read: bool
    allow_write: bool
    allow_unauthenticated: bool
    cron_schedule: str | None
    env_names: list[str]
    created_at: str
    updated_at: str
    created_by: str | None


class FunctionResponse(FunctionSummary, kw_only=True):
    """A function with the code as it was submitted (the summary's fields plus `code`). A
    multi-file function (or one whose code imports modules) also has its `files`, `entrypoint`
    and the npm `packages` locked for the version ("name@version" -> integrity); `code` is then
    the entrypoint's source."""

    code: str
    files: dict[str, str] | None = None
    entrypoint: str | None = None
    packages: dict[str, str] | None = None


class VersionSummary(msgspec.Struct, kw_only=True):
    """One entry of a function's version history."""

    version: int
    created_at: str
    created_by: str | None
    current: bool


class VersionResponse(msgspec.Struct, kw_only=True):
    """One version with its code (and files, entrypoint and packages, as FunctionResponse)."""

    version: int
    code: str
    created_at: str
    created_by: str | None
    files: dict[str, str] | None = None
    entrypoint: str | None = None
    packages: dict[str, str] | None = None


class ExecutionResponse(msgspec.Struct, kw_only=True):
    """One invocation record (the reference's fields plus `function_version`)."""

    id: str
    function_id: str
    function_version: int
    trigger_type: TriggerType
    status: ExecutionStatus
    status_code: int | None
    duration_ms: int | None
    result: str | None
    logs: str | None
    error_message: str | None
    executed_at: str
    completed_at: str | None
    # CPU time the call's JavaScript used, in ms, and the isolate's used V8 heap after the call,
    # in bytes (docs/metrics.md says what they measure); null when not measured.
    cpu_time_ms: float | None = None
    heap_used_bytes: int | None = None


def error_spec(description: str) -> ResponseSpec:
    """An error response documented with the contract's body."""
    return ResponseSpec(data_container=ErrorBody, description=description, generate_examples=False)


# What every endpoint may answer besides success, in the contract's error shape (Litestar would
# otherwise document its own {status_code, detail, extra} body for 400s).
ERROR_RESPONSES: dict[int, ResponseSpec] = {
    400: error_spec("Invalid request: the message names the field or rule"),
    401: error_spec("Missing or invalid credential"),
    403: error_spec("The credential may not do this"),
    404: error_spec("No such function (or version)"),
    409: error_spec("The name is taken"),
    413: error_spec("The request body is over the size limit"),
    429: error_spec("Rate limit exceeded; see Retry-After"),
}


class HealthResponse(msgspec.Struct, kw_only=True):
    """GET /health."""

    status: str
