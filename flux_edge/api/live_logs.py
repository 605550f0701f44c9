"""`GET /api/v1/functions/{name}/logs`: a function's live log as Server-Sent Events.

Events: `console` (`{"execution_id", "level", "message"}`, one per console line) and `execution`
(`{"execution_id", "status", "status_code", "duration_ms", "error"}`, one per call). The stream
starts with what the server has buffered (after `Last-Event-ID` when the client resumes), then
follows, with every worker's calls; a comment every 15 s keeps idle connections open through
proxies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.params import FromPath, Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from flux_edge.api.auth import management_guard
from flux_edge.api.schemas import ERROR_RESPONSES
from flux_edge.api.state import services_of
from flux_edge.service.errors import NotFoundError


@get(
    "/api/v1/functions/{name:str}/logs",
    guards=[management_guard],
    responses=ERROR_RESPONSES,
    tags=["functions"],
    operation_id="followFunctionLogs",
)
async def function_logs(
    name: FromPath[str],
    request: Request[Any, Any, Any],
    follow: Annotated[bool, Parameter(description="keep the stream open for new events")] = True,
) -> ServerSentEvent:
    """Console lines and execution summaries of a function as Server-Sent Events (extension).

    Resumable with `Last-Event-ID`; `follow=false` sends what is buffered and ends. Lines arrive
    when their call ends. Every worker's calls are included (docs/operator-tools.md).
    """
    services = services_of(request)
    if await services.store.get_function(name) is None:
        raise NotFoundError("Function not found", f"No function named {name!r}.")
    hub = services.live_logs
    last_event_id = request.headers.get("last-event-id")

    async def events() -> AsyncIterator[ServerSentEventMessage]:
        if not follow:
            for event in await hub.after(name, last_event_id):
                yield _message(event.id, event.kind, event.data)
            return
        async for live in hub.follow(name, last_event_id):
            if live is None:
                yield ServerSentEventMessage(comment="keepalive")
            else:
                yield _message(live.id, live.kind, live.data)

    return ServerSentEvent(events(), headers={"Cache-Control": "no-store"})


def _message(event_id: str, kind: str, data: dict[str, object]) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=msgspec.json.encode(data).decode(), event=kind, id=event_id)
