"""The isolate host: a child process that runs a Runtime for the server, over one socket.

The zygote (zygote.py) forks it, with its socket, its taken-calls mark (taken.py) and V8's heap
cap. It runs every call it is sent on its own in-process Runtime and answers
in batched frames (see wire.py). It never has to close an isolate it could not stop: such an
engine is kept unclosed and the host asks to be recycled; the server kills the process, which is
the one thing that always ends a thread stuck inside a V8 builtin. V8's heap is capped per
process, so a runaway allocation aborts this process, never the server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from typing import Any

from msgspec.structs import replace

from flux_edge.runtime.capabilities import CapabilityBridge
from flux_edge.runtime.cpus import pin_process
from flux_edge.runtime.hosting.process import MIB, die_with_parent, process_rss
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
    ToHost,
    Unavailable,
    Usage,
)
from flux_edge.runtime.isolate import Engine, init_v8
from flux_edge.runtime.limits import PoolLimits
from flux_edge.runtime.results import error_result, memory_result
from flux_edge.runtime.runtime import Runtime
from flux_edge.runtime.streaming import ResponseStream, ResponseStreamError
from flux_edge.runtime.types import (
    CodeError,
    FunctionSpec,
    InvokeRequest,
    InvokeResult,
    RuntimeUnavailableError,
)


class _HostCall:
    """A call the server sent: where its answer goes, and whether its response went already."""

    __slots__ = ("finished", "host", "message", "responded", "spec", "started")

    def __init__(self, host: IsolateHostProcess, message: Invoke, spec: FunctionSpec) -> None:
        self.host = host
        self.message = message
        self.spec = spec
        self.started = time.monotonic()
        self.responded = False
        self.finished: InvokeResult | None = None  # the complete result, if it came first

    def complete(self, final: InvokeResult) -> None:
        """The call has ended (the runtime's `on_complete`): before its response unless it works
        on after it (waitUntil); then its record goes on its own."""
        host = self.host
        if not self.responded:
            self.finished = final
        elif host.connection is not None:
            final = host._within_budget(self.spec, self.message.request, self.started, final)
            host.connection.send(Completed(id=self.message.id, result=final))

    def settled(self, future: asyncio.Future[InvokeResult]) -> None:
        """The future `submit_now` gave has its response, or the call failed."""
        error = future.exception() if not future.cancelled() else asyncio.CancelledError()
        if error is None:
            self.host._answer(self, future.result())
        else:
            self.host._failed(self, error)


class IsolateHostProcess:
    """The host's side of the socket: runs calls, checks code, watches its own memory."""

    def __init__(self, taken: TakenMark) -> None:
        self.taken = taken
        self.runtime: Runtime | None = None
        self.config: HostConfig | None = None
        self.connection: FrameConnection | None = None
        self._specs: dict[tuple[str, int], FunctionSpec] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Streamed responses being relayed: the local stream and the server's credits.
        self._streams: dict[int, tuple[ResponseStream, asyncio.Semaphore]] = {}
        self._unstoppable: list[Engine] = []  # never closed: see the module docstring
        self._recycling = False
        self._baseline = 0
        self._memory_mb = 0
        self._rss: int | None = None
        self.done = asyncio.get_running_loop().create_future()

    # ---- memory ----------------------------------------------------------------------------------
    def budget_bytes(self) -> int:
        """What this host may hold: its baseline, plus per isolate 2 x memory_limit_mb (heap and
        buffers, see docs/runtime.md) and a slack for V8's own structures."""
        assert self.config is not None
        assert self.runtime is not None
        isolates = max(1, self.runtime.pool.isolate_count)
        per_isolate = 2 * self._memory_mb + self.config.slack_mb
        return self._baseline + isolates * per_isolate * MIB

    def _rss_now(self) -> int:
        """The host's RSS, read once per loop turn: calls that finish together share a reading."""
        if self._rss is None:
            self._rss = process_rss()
            asyncio.get_running_loop().call_soon(self._forget_rss)
        return self._rss

    def _forget_rss(self) -> None:
        self._rss = None

    def _send_usage(self, _count: int = 0) -> None:
        if self.connection is not None and self.runtime is not None and self._memory_mb:
            self.connection.send(
                Usage(isolates=self.runtime.pool.isolate_count, budget_bytes=self.budget_bytes())
            )

    def _recycle(self, reason: str) -> None:
        if not self._recycling and self.connection is not None:
            self._recycling = True
            self.connection.send(Recycle(reason=reason))

    def _unresponsive(self, engine: Engine) -> None:
        self._unstoppable.append(engine)
        self._recycle("an isolate did not stop when its call ran out of time")

    # ---- messages --------------------------------------------------------------------------------
    def on_messages(self, messages: list[Any]) -> None:
        """Dispatch one frame's messages."""
        for message in messages:
            if isinstance(message, Invoke):
                # Marked before the call's code can run: the server runs a call again on
                # another host only if this one dies before taking it.
                self.taken.take(message.id)
                self._start_call(message)
            elif isinstance(message, Pull):
                relay = self._streams.get(message.id)
                if relay is not None:
                    relay[1].release()
            elif isinstance(message, StopStream):
                relay = self._streams.pop(message.id, None)
                if relay is not None:
                    self._spawn(relay[0].aclose())
                    relay[1].release()  # the pump wakes, sees it was stopped, sends the end
            elif isinstance(message, Place):
                pin_process(message.cpu)
            elif isinstance(message, Ping):
                assert self.connection is not None
                self.connection.send(Pong(seq=message.seq))
                if self.runtime is not None:  # every 100 ms: a long step gives up the CPU
                    self.runtime.pool.release_busy_cpus()
            elif isinstance(message, Load):
                spec = message.spec
                self._specs[(spec.function_id, spec.version)] = spec
                self._memory_mb = max(self._memory_mb, spec.memory_limit_mb)
                self._send_usage()
            elif isinstance(message, Check):
                self._spawn(self._check(message))
            elif isinstance(message, Prewarm):
                spec = self._specs[(message.function_id, message.version)]
                assert self.runtime is not None
                self._spawn(self.runtime.prewarm(spec))
            elif isinstance(message, Retire):
                assert self.runtime is not None
                self.runtime.retire(message.function_id)
            elif isinstance(message, HostConfig):
                self._spawn(self._configure(message))

    def on_lost(self) -> None:
        """The server closed the socket or died: nothing left to answer to."""
        if not self.done.done():
            self.done.set_result(None)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _configure(self, config: HostConfig) -> None:
        self.config = config
        bridge = CapabilityBridge(
            net_allow=config.net_allow,
            max_subrequests=config.max_subrequests,
            max_fetch_response_bytes=config.max_fetch_response_bytes,
            file_quota_bytes=config.file_quota_bytes,
        )
        limits = PoolLimits(
            max_isolates=config.max_isolates_per_function + config.spare_engines + 1,
            max_memory_mb=1 << 30,  # the server budgets hosts; this host has one function
            max_isolates_per_function=config.max_isolates_per_function,
            max_concurrency_per_isolate=config.max_concurrency_per_isolate,
            max_queue_per_function=config.max_queue_per_function,
            isolate_max_calls=config.isolate_max_calls,
            spare_engines=config.spare_engines,
            max_log_bytes=config.max_log_bytes,
            max_response_bytes=config.max_response_bytes,
        )
        self.runtime = Runtime(limits, host=bridge, on_unresponsive=self._unresponsive)
        await self.runtime.start()
        self.runtime.pool.on_isolate_count = self._send_usage
        self._baseline = process_rss()
        assert self.connection is not None
        self.connection.send(Ready(pid=os.getpid()))

    def _start_call(self, message: Invoke) -> None:
        """Run a call: straight on a warm isolate when one can take it now, else in a task that
        waits for one (a task per call costs the host's loop more than the call's own work)."""
        assert self.runtime is not None
        call = _HostCall(self, message, self._specs[(message.function_id, message.version)])
        try:
            future = self.runtime.submit_now(call.spec, message.request, call.complete)
        except Exception as error:  # answered all the same (see `_failed`)
            self._failed(call, error)
            return
        if future is None:
            self._spawn(self._invoke(call))
        else:
            future.add_done_callback(call.settled)

    async def _invoke(self, call: _HostCall) -> None:
        assert self.runtime is not None
        try:
            result = await self.runtime.invoke(call.spec, call.message.request, call.complete)
        except Exception as error:
            self._failed(call, error)
            return
        self._answer(call, result)

    def _answer(self, call: _HostCall, result: InvokeResult) -> None:
        """Send a call's response: with its record (every log line) unless it works on after it."""
        assert self.connection is not None
        message = call.message
        if result.stream is not None:
            # A streamed response: the head now, the chunks as the server pulls them, and the
            # record (`Completed`, from `complete`) when the call ends with its stream.
            call.responded = True
            self._relay(message.id, result, result.stream, call.spec, message.request, call.started)
            return
        finished = call.finished
        call.responded = finished is None
        if finished is not None:  # the complete result: the response, with every log line
            result = self._within_budget(call.spec, message.request, call.started, finished)
        self.connection.send(Result(id=message.id, result=result, pending=call.responded))

    def _failed(self, call: _HostCall, error: BaseException) -> None:
        """Every call is answered, or the server would wait for ever."""
        assert self.connection is not None
        call_id = call.message.id
        if isinstance(error, RuntimeUnavailableError):
            self.connection.send(
                Unavailable(id=call_id, message=str(error), retry_after=error.retry_after)
            )
        elif isinstance(error, CodeError):
            # Code that does not load (never compiled, or its top level throws): the caller gets
            # the CodeError the in-process Runtime raises, with its position.
            self.connection.send(self._code_error(call_id, error))
        else:
            text = f"the isolate host could not run the call: {type(error).__name__}: {error}"
            failed = error_result(call.spec, call.message.request, call.started, "", text)
            self.connection.send(Result(id=call_id, result=failed))

    # ---- streamed responses ------------------------------------------------------------------------
    def _relay(
        self,
        call_id: int,
        head: InvokeResult,
        stream: ResponseStream,
        spec: FunctionSpec,
        request: InvokeRequest,
        started: float,
    ) -> None:
        """Send a streamed response's head, then one chunk per `Pull` the server sends (so the
        server's client holds the function back across the process boundary), then its end."""
        assert self.connection is not None
        self.connection.send(
            Result(id=call_id, result=replace(head, stream=None), pending=True, streamed=True)
        )
        credit = asyncio.Semaphore(0)
        self._streams[call_id] = (stream, credit)
        self._spawn(self._pump(call_id, stream, credit, spec, request, started))

    async def _pump(
        self,
        call_id: int,
        stream: ResponseStream,
        credit: asyncio.Semaphore,
        spec: FunctionSpec,
        request: InvokeRequest,
        started: float,
    ) -> None:
        assert self.connection is not None
        try:
            while True:
                await credit.acquire()
                if call_id not in self._streams:  # stopped by the server
                    break
                chunk = await anext(stream, None)
                if chunk is None:
                    break
                self.connection.send(Chunk(id=call_id, data=chunk))
        except ResponseStreamError:
            pass
        finally:
            self._streams.pop(call_id, None)
        final = self._within_budget(spec, request, started, await stream.outcome())
        self.connection.send(StreamEnd(id=call_id, result=final, failed=final.outcome != "success"))

    def _within_budget(
        self, spec: FunctionSpec, request: InvokeRequest, started: float, result: InvokeResult
    ) -> InvokeResult:
        """A call that leaves the host over its memory budget fails with the memory limit (V8's
        heap limit does not see flattened strings, ICU objects or one big builtin allocation),
        and the host is recycled so the memory goes back to the system."""
        if self._rss_now() <= self.budget_bytes():
            return result
        self._recycle("memory over the budget of its functions' memory_limit_mb")
        if result.limit is not None:
            return result
        return memory_result(spec, request, started, result.logs)

    @staticmethod
    def _code_error(call_id: int, error: CodeError) -> Checked:
        """The answer that makes the server raise `error` for call or check `call_id`."""
        return Checked(
            id=call_id, message=error.message, line=error.line, column=error.column, file=error.file
        )

    async def _check(self, message: Check) -> None:
        assert self.runtime is not None
        assert self.connection is not None
        spec = self._specs[(message.function_id, message.version)]
        try:
            await self.runtime.check(spec.compiled, spec if spec.function_id else None)
        except CodeError as error:
            self.connection.send(self._code_error(message.id, error))
            return
        except RuntimeUnavailableError as error:
            self.connection.send(Checked(id=message.id, message=str(error)))
            return
        if process_rss() > self.budget_bytes():
            self._recycle("memory over the budget of its functions' memory_limit_mb")
            message_text = "top-level code exceeded the memory limit (memory_limit_mb)"
            self.connection.send(Checked(id=message.id, message=message_text))
            return
        # Written now: the isolate's first heap reading, which blocks this loop for ~1 ms, is
        # due next (isolate.py `start`), and the deploy's answer must not wait for it.
        self.connection.send_now(Checked(id=message.id))


async def _serve(sock: socket.socket, taken: TakenMark) -> None:
    host = IsolateHostProcess(taken)
    loop = asyncio.get_running_loop()
    _, connection = await loop.connect_accepted_socket(
        lambda: FrameConnection(ToHost, host.on_messages, host.on_lost), sock
    )
    host.connection = connection
    await host.done


def main(argv: list[str]) -> int:
    """`zygote FD`: the fork server on control socket FD (see fork_server.py), which forks hosts."""
    if argv[:1] != ["zygote"] or len(argv) != 2:
        print("usage: python -m flux_edge.runtime.hosting zygote FD", file=sys.stderr)
        return 2
    from flux_edge.runtime.hosting.fork_server import serve

    serve(socket.socket(fileno=int(argv[1])))
    return 0


def run(sock: socket.socket, taken_fd: int, heap_mb: int) -> None:
    """Run a host on `sock` with the taken-calls mark `taken_fd`, V8's heap capped at `heap_mb`
    MiB; never returns."""
    die_with_parent()
    # The server stops hosts with SIGKILL; SIGINT from a terminal is the server's to handle.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    taken = TakenMark(taken_fd)
    os.close(taken_fd)
    init_v8((f"--max-old-space-size={heap_mb}",))
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        runner = asyncio.Runner()
    with runner:
        runner.run(_serve(sock, taken))
    # Never run interpreter teardown: it would close isolates, and one may be unstoppable.
    sys.stdout.flush()
    os._exit(0)


__all__ = ["FromHost", "IsolateHostProcess", "main", "process_rss", "run"]
