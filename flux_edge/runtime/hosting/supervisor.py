"""The server's side of one isolate host: start it, send it calls, watch it, kill it.

Nothing here ever waits on the host: a host that stops answering pings, passes its memory budget
or crashes is killed with SIGKILL (which never blocks), and every call it had is answered at once
with a result that says what happened. A host the server's workers share (zygote.py) is left,
not killed, when this worker is done with it: it ends when the last of them has left.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from msgspec.structs import replace

from flux_edge.runtime.hosting.calls import (
    Failure,
    PendingCall,
    Retry,
    crashed_failure,
    over_memory,
    timed_out_or_interrupted,
)
from flux_edge.runtime.hosting.process import process_rss
from flux_edge.runtime.hosting.taken import TakenMark
from flux_edge.runtime.hosting.wire import (
    Check,
    Checked,
    Chunk,
    Completed,
    FrameConnection,
    FromHost,
    HostConfig,
    Invoke,
    Load,
    Ping,
    Place,
    Pong,
    Prewarm,
    Pull,
    Ready,
    Recycle,
    Result,
    Retire,
    StopStream,
    StreamEnd,
    Unavailable,
    Usage,
)
from flux_edge.runtime.hosting.zygote import Zygote
from flux_edge.runtime.results import error_result
from flux_edge.runtime.streaming import ResponseStream
from flux_edge.runtime.types import (
    CodeError,
    FunctionSpec,
    InvokeRequest,
    InvokeResult,
    OnComplete,
    RuntimeUnavailableError,
)

log = structlog.get_logger("flux_edge.runtime.hosts")

READY_SECONDS = 60.0  # booting a host: Python, V8 and the spare engines, on a busy machine
# A host answers a ping at once unless its event loop is blocked; one that has not answered for
# this long is killed.
PING_ANSWER_SECONDS = 1.0
IDLE_PING_SECONDS = 1.0
_ids = itertools.count(1)
_reaping: set[asyncio.Task[int | None]] = set()


class IsolateHost:
    """One host process and the calls it has not answered yet."""

    def __init__(
        self,
        zygote: Zygote,
        on_gone: Callable[[IsolateHost], None],
        retry: Retry | None = None,
    ) -> None:
        self._zygote = zygote
        self._on_gone = on_gone
        self._retry = retry
        self._pid: int | None = None
        self.returncode: int | None = None
        self.connection: FrameConnection | None = None
        self._pending: dict[int, PendingCall] = {}
        self._taken: TakenMark | None = None  # which calls the host took (set at start)
        self._streams: dict[int, tuple[PendingCall, ResponseStream]] = {}  # streamed responses
        self._loaded: set[tuple[str, int]] = set()
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._ping_sent: float | None = None
        self._ping_seq = 0
        self._last_ping = 0.0
        self.isolates = 0
        self.budget_bytes = 0
        self.recycling: str | None = None  # why it takes no new calls
        self.gone = False
        self.last_used = time.monotonic()
        self.served = False  # has run a call or loaded code that passed its check
        self.cpu: int | None = None  # the CPU its threads run on, once placed (runtime/cpus.py)
        self.shared = False  # bound to its function for every worker, or joined (zygote.py)
        self.joined = False  # found through the zygote, started by another worker

    # ---- lifecycle -------------------------------------------------------------------------------
    async def start(self, config: HostConfig, heap_mb: int) -> None:
        """Start the process and wait until it has booted V8 (kills it on failure)."""
        ours = await self._hand_over(lambda sock, fd: self._zygote.launch(sock, fd, heap_mb))
        assert ours is not None
        await self._connect(ours, config)

    async def join(self, function_id: str, config: HostConfig) -> bool:
        """Connect to the host another worker bound to `function_id` (zygote.py) and wait until
        it has greeted this worker; False when there is none."""
        ours = await self._hand_over(lambda sock, fd: self._zygote.join(function_id, sock, fd))
        if ours is None:
            return False
        self.shared = self.served = self.joined = True  # never killed as unused: others use it
        await self._connect(ours, config)
        return True

    async def _hand_over(
        self, ask: Callable[[socket.socket, int], Awaitable[int | None]]
    ) -> socket.socket | None:
        """Make this worker's socket to a host and its taken-calls mark; `ask` hands the host's
        ends to the zygote and gives the host's pid (None: no host). This end, if there is one."""
        ours, theirs = socket.socketpair()
        self._taken, taken_fd = TakenMark.create()
        try:
            self._pid = await ask(theirs, taken_fd)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
            os.close(taken_fd)
        if self._pid is None:
            ours.close()
            self._taken.close()
            self._taken = None
            return None
        return ours

    async def _connect(self, ours: socket.socket, config: HostConfig) -> None:
        loop = asyncio.get_running_loop()
        _, self.connection = await loop.create_unix_connection(
            lambda: FrameConnection(FromHost, self._on_messages, self._on_lost), sock=ours
        )
        self.connection.send(config)
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), READY_SECONDS)
        except BaseException:
            self.drop()
            raise

    def place(self, cpu: int) -> None:
        """Have the host run every thread on `cpu` (runtime/cpus.py), before what is sent next."""
        self.cpu = cpu
        if self.connection is not None:
            self.connection.send(Place(cpu=cpu))

    @property
    def pid(self) -> int:
        """The host's process id."""
        assert self._pid is not None
        return self._pid

    @property
    def load(self) -> int:
        """Calls and checks sent and not answered."""
        return len(self._pending)

    @property
    def taken(self) -> int:
        """Calls the host has taken (their code may have run) and not answered."""
        return sum(1 for call_id, call in self._pending.items() if self._took(call_id, call))

    def _took(self, call_id: int, call: PendingCall) -> bool:
        """Whether the host took `call` (a check is never taken: it is never retried)."""
        if not call.request.execution_id:
            return False
        return self._taken is not None and self._taken.taken(call_id)

    def futures(self) -> list[asyncio.Future[Any]]:
        """The answers not received yet (for a call that answered, its end)."""
        return [call.completed or call.future for call in self._pending.values()]

    def drop(self) -> None:
        """Done with the host: kill it, or leave it if the workers share it."""
        if self.shared:
            self.leave()
        else:
            self.kill(None)

    def leave(self) -> None:
        """Close this worker's socket to the host; it ends once no worker is left. Calls still
        unanswered end interrupted."""
        self.kill(None, signal_it=False)

    def kill(
        self, failure: Failure | None, *, crashed: bool = False, signal_it: bool = True
    ) -> None:
        """SIGKILL the host now; calls it had end with `failure(call)` (default: interrupted).

        `crashed`: it died by itself; a call it never took (see taken.py) never ran, and runs
        again on another host (once).
        """
        if self.gone:
            return
        self.gone = True
        if signal_it and self._pid is not None and self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
        retry = self._retry if crashed else None
        self._fail_pending(failure or timed_out_or_interrupted, retry)
        if self._taken is not None:
            self._taken.close()
            self._taken = None
        if self.connection is not None:
            self.connection.close()
        if not self._ready.done():
            self._ready.set_exception(RuntimeUnavailableError("the isolate host did not start"))
            self._ready.exception()  # start() re-raises it if it is still waiting
        self._reap_soon()
        self._on_gone(self)

    def _reap_soon(self) -> None:
        if self._pid is not None and self.returncode is None:
            task = asyncio.get_running_loop().create_task(self._zygote.wait(self._pid))
            _reaping.add(task)
            task.add_done_callback(_reaping.discard)

    def _fail_pending(self, failure: Failure, retry: Retry | None) -> None:
        streams, self._streams = self._streams, {}
        for call, stream in streams.values():
            stream.end(failure(call), failed=True)
        pending, self._pending = self._pending, {}
        for call_id, call in pending.items():
            if call.response is not None:
                call.complete(failure(call))
                continue
            if call.future.done():
                continue
            if retry is not None and call.may_retry and not self._took(call_id, call):
                log.info("running a call its crashed isolate host never took on another host")
                retry(call.spec, call.request, call.on_complete, call.future)
            elif call.request.execution_id:
                call.complete(failure(call))
            else:  # a check
                call.future.set_exception(
                    CodeError("top-level code stopped its isolate host (memory or a crash)")
                )

    def _on_lost(self) -> None:
        if self.gone:
            return
        asyncio.get_running_loop().create_task(self._lost())

    async def _lost(self) -> None:
        # The socket closed without us killing the host: it crashed. Its exit status says how.
        returncode = None
        if self._pid is not None:
            with contextlib.suppress(TimeoutError):
                returncode = await asyncio.wait_for(self._zygote.wait(self._pid), 0.5)
                self.returncode = returncode
        if self.gone:
            return
        log.warning("isolate host stopped", pid=self.pid, returncode=returncode)
        self.kill(crashed_failure(returncode), crashed=True)

    # ---- watching --------------------------------------------------------------------------------
    def watch(self, now: float) -> None:
        """Called every tick by the runtime: ping it, kill it if it stopped answering or holds
        more memory than its functions may."""
        if self.gone or not self._ready.done():
            return
        if self._ping_sent is not None and now - self._ping_sent > PING_ANSWER_SECONDS:
            log.warning("killing an isolate host that stopped answering", pid=self.pid)
            self.kill(timed_out_or_interrupted)
            return
        if self.budget_bytes and process_rss(self.pid) > self.budget_bytes:
            log.warning("killing an isolate host over its memory budget", pid=self.pid)
            self.kill(over_memory)
            return
        # Busy hosts are pinged every tick, idle ones once a second (they wake for each ping).
        due = self._pending or now - self._last_ping >= IDLE_PING_SECONDS
        if self._ping_sent is None and due and self.connection is not None:
            self._ping_seq += 1
            self._ping_sent = self._last_ping = now
            self.connection.send(Ping(seq=self._ping_seq))

    # ---- calls -----------------------------------------------------------------------------------
    def _load(self, spec: FunctionSpec) -> None:
        key = (spec.function_id, spec.version)
        if key not in self._loaded:
            self._loaded.add(key)
            assert self.connection is not None
            self.connection.send(Load(spec=spec))

    async def invoke(
        self,
        spec: FunctionSpec,
        request: InvokeRequest,
        on_complete: OnComplete | None = None,
        *,
        may_retry: bool = True,
    ) -> InvokeResult:
        """Run one call in the host; `on_complete` as for `Runtime.invoke`. With `may_retry`, a
        call the host never took before it crashed runs again on another host (see `kill`)."""
        self._load(spec)
        call_id = next(_ids)
        call = PendingCall(spec, request, on_complete, may_retry=may_retry)
        self._pending[call_id] = call
        self.last_used = call.started
        assert self.connection is not None
        try:
            # Written at once, not with the rest of this loop turn's messages: the host starts
            # on it while this process parses the next requests. Batched per turn, a burst went
            # over in one frame and the two processes took turns idling (docs/performance.md).
            self.connection.send_now(
                Invoke(
                    id=call_id, function_id=spec.function_id, version=spec.version, request=request
                )
            )
        except (TypeError, ValueError, NotImplementedError) as error:  # encoded at send
            del self._pending[call_id]
            log.error("a call could not be sent to its isolate host", error=str(error))
            text = f"the call could not be sent to its isolate host: {error}"
            return error_result(spec, request, call.started, "", text)
        result: InvokeResult = await call.future
        return result

    async def check(self, spec: FunctionSpec) -> None:
        """Load `spec` in a fresh isolate of the host (kept warm); raises CodeError."""
        self._load(spec)
        call_id = next(_ids)
        call = PendingCall(
            spec, InvokeRequest(method="", url="", headers=[], body=b"", execution_id="")
        )
        self._pending[call_id] = call
        assert self.connection is not None
        self.connection.send(Check(id=call_id, function_id=spec.function_id, version=spec.version))
        await call.future
        self.served = True

    def prewarm(self, spec: FunctionSpec) -> None:
        """Ask the host to keep a warm isolate of `spec`."""
        self._load(spec)
        assert self.connection is not None
        self.connection.send(Prewarm(function_id=spec.function_id, version=spec.version))

    def retire(self, function_id: str) -> None:
        """Drain a function's isolates in the host."""
        if self.connection is not None and not self.gone:
            self.connection.send(Retire(function_id=function_id))

    def _stream(self, call_id: int, call: PendingCall) -> ResponseStream:
        """The server's end of a streamed response relayed by the host (see host.py `_relay`)."""
        connection = self.connection
        assert connection is not None

        # The host ignores ids it no longer streams, so these need no bookkeeping here.
        def request_more() -> None:
            connection.send(Pull(id=call_id))

        def abort() -> None:
            connection.send(StopStream(id=call_id))

        stream = ResponseStream(request_more, abort)
        self._streams[call_id] = (call, stream)
        return stream

    def _on_messages(self, messages: list[Any]) -> None:
        for message in messages:
            if isinstance(message, Result):
                call = self._pending.get(message.id)
                if call is not None and not call.future.done():
                    self.served = True
                    if message.streamed:  # the body follows; the record at `Completed`
                        call.completed = asyncio.get_running_loop().create_future()
                        stream = self._stream(message.id, call)
                        call.future.set_result(replace(message.result, stream=stream))
                    elif message.pending:  # it works on: answer now, record at `Completed`
                        call.response = message.result
                        call.completed = asyncio.get_running_loop().create_future()
                        call.future.set_result(message.result)
                    else:
                        del self._pending[message.id]
                        call.complete(message.result)
            elif isinstance(message, Completed):
                call = self._pending.pop(message.id, None)
                if call is not None:
                    call.complete(message.result)
            elif isinstance(message, Chunk):
                if (relay := self._streams.get(message.id)) is not None:
                    relay[1].push(message.data)
            elif isinstance(message, StreamEnd):
                if (relay := self._streams.pop(message.id, None)) is not None:
                    relay[1].end(message.result, failed=message.failed)
            elif isinstance(message, Pong):
                if message.seq == self._ping_seq:
                    self._ping_sent = None
            elif isinstance(message, Unavailable):
                call = self._pending.pop(message.id, None)
                if call is not None and not call.future.done():
                    call.future.set_exception(
                        RuntimeUnavailableError(message.message, retry_after=message.retry_after)
                    )
            elif isinstance(message, Checked):
                call = self._pending.pop(message.id, None)
                if call is not None and not call.future.done():
                    if message.message is None:
                        call.future.set_result(None)
                    else:
                        call.future.set_exception(
                            CodeError(message.message, message.line, message.column, message.file)
                        )
            elif isinstance(message, Usage):
                self.isolates = message.isolates
                self.budget_bytes = message.budget_bytes
            elif isinstance(message, Recycle):
                if self.recycling is None:
                    log.info("recycling an isolate host", pid=self.pid, reason=message.reason)
                self.recycling = message.reason
            elif isinstance(message, Ready) and not self._ready.done():
                self._ready.set_result(None)
        if self.recycling is not None and not self._pending and not self._streams:
            self.drop()
