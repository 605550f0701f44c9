"""The isolate host: a child process that runs a Runtime for the server's workers.

The zygote (zygote.py) forks it, with its first worker's socket, its taken-calls mark (taken.py),
V8's heap cap and a channel on which the zygote hands it the sockets (and marks) of other
workers that share it (fork_server.py). It runs every call it is sent on its own in-process
Runtime, answers each worker in batched frames on its socket (see wire.py), and ends when its
last worker has gone. It never has to close an isolate it could not stop: such an
engine is kept unclosed and the host asks to be recycled; the process ends (killed, or leaving
with `os._exit` when its workers have left it), which is the one thing that always ends a thread
stuck inside a V8 builtin. V8's heap is capped per
process, so a runaway allocation aborts this process, never the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from typing import Any

from msgspec.structs import replace

from flux_edge.runtime.capabilities import CapabilityBridge
from flux_edge.runtime.cpus import pin_process
from flux_edge.runtime.hosting.fork_server import UNBIND
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


class _Peer:
    """One worker's connection: its socket, the mark of the calls taken from it, and the
    streamed responses relayed to it (the local stream and the worker's credits)."""

    __slots__ = ("connection", "streams", "taken")

    def __init__(self, taken: TakenMark) -> None:
        self.taken = taken
        self.connection: FrameConnection | None = None
        self.streams: dict[int, tuple[ResponseStream, asyncio.Semaphore]] = {}

    def send(self, message: Any) -> None:
        if self.connection is not None:
            self.connection.send(message)


class _HostCall:
    """A call a worker sent: where its answer goes, and whether its response went already."""

    __slots__ = ("finished", "host", "message", "peer", "responded", "spec", "started")

    def __init__(
        self, host: IsolateHostProcess, peer: _Peer, message: Invoke, spec: FunctionSpec
    ) -> None:
        self.host = host
        self.peer = peer
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
        else:
            final = host._within_budget(self.spec, self.message.request, self.started, final)
            self.peer.send(Completed(id=self.message.id, result=final))

    def settled(self, future: asyncio.Future[InvokeResult]) -> None:
        """The future `submit_now` gave has its response, or the call failed."""
        error = future.exception() if not future.cancelled() else asyncio.CancelledError()
        if error is None:
            self.host._answer(self, future.result())
        else:
            self.host._failed(self, error)


class IsolateHostProcess:
    """The host's side of its workers' sockets: runs calls, checks code, watches its own memory."""

    def __init__(self, channel: socket.socket | None = None) -> None:
        self.runtime: Runtime | None = None
        self.config: HostConfig | None = None
        self.peers: list[_Peer] = []
        self._channel = channel  # to the zygote: joining workers come on it (fork_server.py)
        self._configured: asyncio.Future[None] | None = None
        self._specs: dict[tuple[str, int], FunctionSpec] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._unstoppable: list[Engine] = []  # never closed: see the module docstring
        self._recycling: str | None = None
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

    def _usage(self) -> Usage | None:
        if self.runtime is None or not self._memory_mb:
            return None
        return Usage(isolates=self.runtime.pool.isolate_count, budget_bytes=self.budget_bytes())

    def _send_usage(self, _count: int = 0) -> None:
        if (usage := self._usage()) is not None:
            for peer in self.peers:
                peer.send(usage)

    def _recycle(self, reason: str) -> None:
        if self._recycling is None:
            self._recycling = reason
            for peer in self.peers:
                peer.send(Recycle(reason=reason))
            if self._channel is not None:  # no worker may join it from now on
                with contextlib.suppress(OSError):
                    self._channel.send(UNBIND)

    def _unresponsive(self, engine: Engine) -> None:
        self._unstoppable.append(engine)
        self._recycle("an isolate did not stop when its call ran out of time")

    # ---- workers ---------------------------------------------------------------------------------
    def add_peer(self, taken: TakenMark) -> _Peer:
        """A worker's connection, counted from now on (its socket is served by `connect`)."""
        peer = _Peer(taken)
        self.peers.append(peer)
        return peer

    async def connect(self, peer: _Peer, sock: socket.socket) -> None:
        """Serve `peer` on `sock`."""

        def made() -> FrameConnection:
            # Set before any of its messages can arrive.
            peer.connection = FrameConnection(
                ToHost, lambda messages: self.on_messages(peer, messages), lambda: self.lost(peer)
            )
            return peer.connection

        try:
            await asyncio.get_running_loop().connect_accepted_socket(made, sock)
        except OSError:
            self.lost(peer)

    def on_join(self) -> None:
        """The zygote handed over another worker's socket and mark (or it is gone)."""
        assert self._channel is not None
        try:
            data, fds, _, _ = socket.recv_fds(self._channel, 1, 2)
        except BlockingIOError:
            return
        except OSError:
            data, fds = b"", []
        if not data or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            if not data:
                asyncio.get_running_loop().remove_reader(self._channel.fileno())
            return
        sock = socket.socket(fileno=fds[0])
        taken = TakenMark(fds[1])
        os.close(fds[1])
        peer = self.add_peer(taken)
        self._spawn(self.connect(peer, sock))

    def lost(self, peer: _Peer) -> None:
        """A worker closed its socket or died: its streams stop; the last one ends the host."""
        if peer not in self.peers:
            return
        self.peers.remove(peer)
        peer.taken.close()  # no call of its can arrive any more
        streams, peer.streams = peer.streams, {}
        for stream, credit in streams.values():
            self._spawn(stream.aclose())
            credit.release()
        if not self.peers and not self.done.done():
            self.done.set_result(None)

    # ---- messages --------------------------------------------------------------------------------
    def on_messages(self, peer: _Peer, messages: list[Any]) -> None:
        """Dispatch one frame's messages from `peer`."""
        for message in messages:
            if isinstance(message, Invoke):
                # Marked before the call's code can run: the worker runs a call again on
                # another host only if this one dies before taking it.
                peer.taken.take(message.id)
                self._start_call(peer, message)
            elif isinstance(message, Pull):
                relay = peer.streams.get(message.id)
                if relay is not None:
                    relay[1].release()
            elif isinstance(message, StopStream):
                relay = peer.streams.pop(message.id, None)
                if relay is not None:
                    self._spawn(relay[0].aclose())
                    relay[1].release()  # the pump wakes, sees it was stopped, sends the end
            elif isinstance(message, Place):
                pin_process(message.cpu)
            elif isinstance(message, Ping):
                peer.send(Pong(seq=message.seq))
                if self.runtime is not None:  # every 100 ms: a long step gives up the CPU
                    self.runtime.pool.release_busy_cpus()
            elif isinstance(message, Load):
                spec = message.spec
                self._specs[(spec.function_id, spec.version)] = spec
                self._memory_mb = max(self._memory_mb, spec.memory_limit_mb)
                self._send_usage()
            elif isinstance(message, Check):
                self._spawn(self._check(peer, message))
            elif isinstance(message, Prewarm):
                spec = self._specs[(message.function_id, message.version)]
                assert self.runtime is not None
                self._spawn(self.runtime.prewarm(spec))
            elif isinstance(message, Retire):
                assert self.runtime is not None
                self.runtime.retire(message.function_id)
            elif isinstance(message, HostConfig):
                if self._configured is None:  # the first worker's: they all send the same
                    self._configured = asyncio.get_running_loop().create_future()
                    self._spawn(self._configure(message))
                self._spawn(self._greet(peer))

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
        assert self._configured is not None
        self._configured.set_result(None)

    async def _greet(self, peer: _Peer) -> None:
        """Tell a worker the host is ready, and what a worker that joined late has missed."""
        assert self._configured is not None
        await self._configured
        peer.send(Ready(pid=os.getpid()))
        if (usage := self._usage()) is not None:
            peer.send(usage)
        if self._recycling is not None:
            peer.send(Recycle(reason=self._recycling))

    def _start_call(self, peer: _Peer, message: Invoke) -> None:
        """Run a call: straight on a warm isolate when one can take it now, else in a task that
        waits for one (a task per call costs the host's loop more than the call's own work)."""
        assert self.runtime is not None
        call = _HostCall(self, peer, message, self._specs[(message.function_id, message.version)])
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
        message = call.message
        if result.stream is not None:
            # A streamed response: the head now, the chunks as the server pulls them, and the
            # record (`Completed`, from `complete`) when the call ends with its stream.
            call.responded = True
            self._relay(call, result, result.stream)
            return
        finished = call.finished
        call.responded = finished is None
        if finished is not None:  # the complete result: the response, with every log line
            result = self._within_budget(call.spec, message.request, call.started, finished)
        call.peer.send(Result(id=message.id, result=result, pending=call.responded))

    def _failed(self, call: _HostCall, error: BaseException) -> None:
        """Every call is answered, or the worker would wait for ever."""
        call_id = call.message.id
        if isinstance(error, RuntimeUnavailableError):
            call.peer.send(
                Unavailable(id=call_id, message=str(error), retry_after=error.retry_after)
            )
        elif isinstance(error, CodeError):
            # Code that does not load (never compiled, or its top level throws): the caller gets
            # the CodeError the in-process Runtime raises, with its position.
            call.peer.send(self._code_error(call_id, error))
        else:
            text = f"the isolate host could not run the call: {type(error).__name__}: {error}"
            failed = error_result(call.spec, call.message.request, call.started, "", text)
            call.peer.send(Result(id=call_id, result=failed))

    # ---- streamed responses ------------------------------------------------------------------------
    def _relay(self, call: _HostCall, head: InvokeResult, stream: ResponseStream) -> None:
        """Send a streamed response's head, then one chunk per `Pull` the worker sends (so the
        worker's client holds the function back across the process boundary), then its end."""
        call_id = call.message.id
        call.peer.send(
            Result(id=call_id, result=replace(head, stream=None), pending=True, streamed=True)
        )
        credit = asyncio.Semaphore(0)
        call.peer.streams[call_id] = (stream, credit)
        self._spawn(self._pump(call, stream, credit))

    async def _pump(
        self, call: _HostCall, stream: ResponseStream, credit: asyncio.Semaphore
    ) -> None:
        peer, call_id = call.peer, call.message.id
        try:
            while True:
                await credit.acquire()
                if call_id not in peer.streams:  # stopped by the worker
                    break
                chunk = await anext(stream, None)
                if chunk is None:
                    break
                peer.send(Chunk(id=call_id, data=chunk))
        except ResponseStreamError:
            pass
        finally:
            peer.streams.pop(call_id, None)
        final = self._within_budget(
            call.spec, call.message.request, call.started, await stream.outcome()
        )
        peer.send(StreamEnd(id=call_id, result=final, failed=final.outcome != "success"))

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

    async def _check(self, peer: _Peer, message: Check) -> None:
        assert self.runtime is not None
        spec = self._specs[(message.function_id, message.version)]
        try:
            await self.runtime.check(spec.compiled, spec if spec.function_id else None)
        except CodeError as error:
            peer.send(self._code_error(message.id, error))
            return
        except RuntimeUnavailableError as error:
            peer.send(Checked(id=message.id, message=str(error)))
            return
        if process_rss() > self.budget_bytes():
            self._recycle("memory over the budget of its functions' memory_limit_mb")
            message_text = "top-level code exceeded the memory limit (memory_limit_mb)"
            peer.send(Checked(id=message.id, message=message_text))
            return
        # Written now: the isolate's first heap reading, which blocks this loop for ~1 ms, is
        # due next (isolate.py `start`), and the deploy's answer must not wait for it.
        if peer.connection is not None:
            peer.connection.send_now(Checked(id=message.id))


async def _serve(sock: socket.socket, taken: TakenMark, channel: socket.socket | None) -> None:
    host = IsolateHostProcess(channel)
    if channel is not None:
        channel.setblocking(False)
        asyncio.get_running_loop().add_reader(channel.fileno(), host.on_join)
    await host.connect(host.add_peer(taken), sock)
    await host.done


def main(argv: list[str]) -> int:
    """`zygote FD`: the fork server on control socket FD (see fork_server.py), which forks hosts."""
    if argv[:1] != ["zygote"] or len(argv) != 2:
        print("usage: python -m flux_edge.runtime.hosting zygote FD", file=sys.stderr)
        return 2
    from flux_edge.runtime.hosting.fork_server import serve

    serve(socket.socket(fileno=int(argv[1])))
    return 0


def run(
    sock: socket.socket, taken_fd: int, heap_mb: int, channel: socket.socket | None = None
) -> None:
    """Run a host for its first worker on `sock` with the taken-calls mark `taken_fd`, V8's heap
    capped at `heap_mb` MiB, and other workers joining on the zygote's `channel`; never
    returns."""
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
        runner.run(_serve(sock, taken, channel))
    # Never run interpreter teardown: it would close isolates, and one may be unstoppable.
    sys.stdout.flush()
    os._exit(0)


__all__ = ["FromHost", "IsolateHostProcess", "main", "process_rss", "run"]
