"""Reading a function's execution history, newest first."""

from __future__ import annotations

from flux_edge.service.errors import NotFoundError
from flux_edge.store.base import (
    ExecutionQuery,
    ExecutionRecord,
    ExecutionStatus,
    Store,
    TriggerType,
)


class ExecutionService:
    """Lists the execution records of one function by name."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def list_for(
        self,
        name: str,
        *,
        limit: int,
        offset: int,
        status: ExecutionStatus | None,
        trigger_type: TriggerType | None,
    ) -> list[ExecutionRecord]:
        """Executions of `name`, newest first. Raises NotFoundError for an unknown function."""
        function = await self._store.get_function(name)
        if function is None:
            raise NotFoundError("Function not found", f"No function named {name!r}.")
        query = ExecutionQuery(
            function_id=function.id,
            limit=limit,
            offset=offset,
            status=status,
            trigger_type=trigger_type,
        )
        return await self._store.list_executions(query)
