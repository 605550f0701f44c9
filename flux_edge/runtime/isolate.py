"""One V8 isolate running one version of one function, driven in batched steps.

Every Python<->V8 crossing costs thread hops, so calls are not run one crossing each: a driver
task sends a batch of new calls, finished host operations and due timers in one call of
`__flux_step` and reads back everything that finished (see js/core.js). JavaScript that settles
between steps sends a one-way notification asking for another step. Crossings are mini-racer's
cancelable tasks, so a runaway step is interrupted by its deadline; JavaScript only runs inside a
step (timers are fired by Python), and an isolate that stops answering even so is closed, which
terminates what it runs.

mini-racer's public `wrap_py_function` resolves JavaScript promises with a blocking call on the
event loop thread, which a hostile function could stall forever, so the notification uses the
lower-level `_register_js_notification` of mini-racer 0.14 (pinned below 0.15 for this reason).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from typing import Any

import msgspec
import structlog
from py_mini_racer import (
    DEFAULT_V8_FLAGS,
    JSArray,
    JSEvalException,
    JSFunction,
    JSObject,
    JSOOMException,
    JSParseException,
    MiniRacer,
    init_mini_racer,
)

from flux_edge.runtime.answers import deliver_final
from flux_edge.runtime.codecs import CallCodecs, CodecError
from flux_edge.runtime.cpus import HEAVY_STEP_SECONDS, release
from flux_edge.runtime.host_bridge import HostBridge, HostOpError
from flux_edge.runtime.prelude import configure_script, entropy_script, prelude_source
from flux_edge.runtime.results import (
    after_response,
    broken_result,
    head_result,
    interrupted_result,
    memory_result,
    result_from_payload,
    stream_end_result,
    timeout_result,
)
from flux_edge.runtime.step_call import StepCall
from flux_edge.runtime.streaming import ResponseStream
from flux_edge.runtime.thread_state import KeptThreadState
from flux_edge.runtime.types import (
    CodeError,
    FunctionSpec,
    InvokeRequest,
    InvokeResult,
    OnComplete,
)
from flux_edge.runtime.usage import HEAP_PROBE_SECONDS, HeapReading, ThreadClock, isolate_clock
from flux_edge.runtime.wire import EntryKind, to_isolate

log = structlog.get_logger("flux_edge.runtime")

# How long a stalled isolate gets to answer a recovery step before it is closed.
PROBE_SECONDS = 0.25
# How long a step that ends expired calls may take before the isolate counts as wedged.
CANCEL_GRACE_SECONDS = 0.05
# How long a closing idle isolate's last round trip may take (see Engine.close).
GIVE_BACK_SECONDS = 0.1
# Most calls started in one step; bounds the latency a batch adds to its last call.
MAX_BATCH = 32
# Nothing JavaScript reports is trusted (core.js is hardened, this is the second line): a call may
# have this many timers armed, an isolate this many host operations running.
MAX_TIMERS_PER_CALL = 1000
MAX_HOST_OPS = 1000
MAX_TIMER_MS = 2**31 - 1
# CompressionStream chunks up to this much base64 are (de)compressed on the event loop thread.
_INLINE_CODEC_CHARS = 64 * 1024


class _Call:
    __slots__ = (
        "completed",
        "cpu_ns",
        "deadline",
        "future",
        "head",
        "id",
        "on_complete",
        "request",
        "response",
        "sent",
        "started",
        "stream",
    )

    def __init__(
        self,
        call_id: int,
        request: InvokeRequest,
        deadline: float,
        on_complete: OnComplete | None,
        started: float,
    ) -> None:
        self.id = call_id
        self.request = request
        self.deadline = deadline
        self.on_complete = on_complete
        self.started = started
        self.future: asyncio.Future[InvokeResult] = asyncio.get_running_loop().create_future()
        self.sent = False  # included in a step (JavaScript may have started it)
        self.stream: ResponseStream | None = None  # a streamed response's body, after its head
        self.head: InvokeResult | None = None
        # Set when the call answered before its waitUntil work ended (the call runs on).
        self.response: InvokeResult | None = None
        self.completed: asyncio.Future[None] | None = None
        self.cpu_ns = 0  # its share of the CPU time of the steps it took part in (runtime/usage.py)


Orphaned = Callable[[InvokeRequest, float, "asyncio.Future[InvokeResult]", OnComplete | None], None]
# Given an engine that did not stop when told to: closing it would block until its thread leaves
# whatever builtin it is in (minutes, for some), so an isolate host keeps it unclosed and asks to
# be replaced; its supervisor then kills the whole process.
Unresponsive = Callable[["Engine"], None]


class _StepOutput(msgspec.Struct):
    done: list[tuple[int, dict[str, Any]]] = []
    ops: list[tuple[int, int, str, Any]] = []
    timers: list[tuple[int, float, int]] = []  # timer id, delay in ms, call id
    cleared: list[int] = []
    heads: list[tuple[int, dict[str, Any]]] = []  # streamed responses: status and headers
    chunks: list[tuple[int, str]] = []  # streamed responses: body chunks, base64
    inflight: int = 0
    busyMs: float = 0
    known: list[int] | None = None  # after a recovery: the calls JavaScript still has


def init_v8(extra_flags: tuple[str, ...] = ()) -> None:
    """Initialise V8 once per process (later calls do nothing), before the first isolate.

    `gc()` lets memory.js reclaim ArrayBuffers between steps (it hides the global from user
    code). An isolate host adds its heap cap here; the server process in hosted mode never
    initialises V8 at all.
    """
    init_mini_racer(
        flags=(*DEFAULT_V8_FLAGS, "--expose-gc", *extra_flags), ignore_duplicate_init=True
    )


_decoder = msgspec.json.Decoder(_StepOutput)


def _decode_output(raw: object) -> _StepOutput:
    """A step's output; raises msgspec.DecodeError (or ValidationError) if it is not one."""
    if not isinstance(raw, str):
        raise msgspec.DecodeError(f"a step returned {type(raw).__name__}, not JSON text")
    return _decoder.decode(raw)


_encode = msgspec.json.encode
_call_ids = itertools.count(1)


class Engine:
    """A booted V8 isolate with the prelude loaded, not yet given to a function.

    Booting costs most of an isolate's start (the prelude is ~400 KB of minified JavaScript), so
    the pool keeps a few engines ready and a new function version starts in about a millisecond.
    """

    def __init__(self) -> None:
        init_v8()
        self.mr, self.clock = isolate_clock(MiniRacer)
        # core.js's entry points demand this, so user code cannot call them (see its header).
        self.secret = secrets.token_hex(16)
        self.entry = {
            name: f"{name}({_encode(self.secret).decode()}"
            for name in ("__flux_recover", "__flux_check_entry")
        }
        self.on_notify: Callable[[], None] | None = None
        self._step_call: StepCall | None = None  # set by boot
        self._collecting: asyncio.Future[None] | None = None  # see collect_garbage
        self._closing = False
        self._freeing: asyncio.Task[None] | None = None  # see close
        self._exit = ExitStack()
        self._exit.callback(self.mr.close)
        ctx = self.mr._ctx  # private API: see the module docstring
        assert ctx is not None
        self._thread_state = KeptThreadState(ctx)
        notify = self._exit.enter_context(ctx._register_js_notification(self._notified))
        global_object = self.mr.eval("globalThis")
        assert isinstance(global_object, JSObject)
        ctx.set_object_item(global_object, "__flux_notify", notify)

    async def step(self, payload: str) -> object:
        """Run one step (core.js `step`) on `payload`, its input as JSON text; cancelable."""
        assert self._step_call is not None  # booted
        try:
            return await self._step_call(payload)
        except JSEvalException as error:
            # eval reports V8's heap limit as JSOOMException; a function call as a bare `null`.
            if not isinstance(error, JSOOMException) and self.mr.was_hard_memory_limit_reached():
                raise JSOOMException("JavaScript memory limit reached") from error
            raise

    def _notified(self, _handle: object) -> None:
        if self.on_notify is not None:
            self.on_notify()

    async def boot(self, seconds: float = 30.0, *, compact: bool = False) -> None:
        """Seed `crypto` with OS entropy and load the prelude.

        `compact` then collects what loading left behind (~0.25 MB of RSS an isolate, 3-6 ms of
        the isolate's thread): for engines booted ahead of need, never on a call's path.
        """
        for script in (entropy_script(self.secret), prelude_source(), "__flux_warm_up()"):
            await asyncio.wait_for(self.mr.eval_cancelable(script), seconds)
        # Steps call this function, the step's input as its `this` (a primitive in strict
        # mode): no script to compile per step. Made before any user code, kept only here.
        stepper = await asyncio.wait_for(
            self.mr.eval_cancelable(
                f"(() => {{ const step = __flux_step, secret = {_encode(self.secret).decode()}; "
                'return function () { "use strict"; return step(secret, this); }; })()'
            ),
            seconds,
        )
        no_arguments = await asyncio.wait_for(self.mr.eval_cancelable("[]"), seconds)
        assert isinstance(stepper, JSFunction)
        assert isinstance(no_arguments, JSArray)
        self._step_call = StepCall(self.mr._ctx, stepper, no_arguments)
        if compact:
            await self.collect_garbage()

    async def collect_garbage(self) -> None:
        """A full collection that gives unused heap back to the system (V8's low-memory
        notification): ~4 ms for a fresh isolate, ~0.2 s for 40 MB of live objects, so it runs
        on a worker thread while the event loop goes on serving."""
        if self._collecting is None:
            self._collecting = asyncio.ensure_future(
                asyncio.to_thread(self.mr.low_memory_notification)
            )
            self._collecting.add_done_callback(self._collected)
        # Shielded: a cancelled caller leaves V8 to finish (close waits for it).
        await asyncio.shield(self._collecting)

    def _collected(self, _done: asyncio.Future[None]) -> None:
        self._collecting = None
        if self._closing:
            self._free(idle=True)

    def close(self, *, idle: bool = False) -> None:
        """Free the isolate; V8 terminates whatever it is running. During a collection on a
        worker thread the isolate is freed when that ends: freeing it under V8's feet is not safe.

        `idle`: nothing runs in the isolate, so its thread first gives back its Python thread
        state in one last round trip (runtime/thread_state.py), at most GIVE_BACK_SECONDS."""
        self.on_notify = None
        self._closing = True
        if self._collecting is None:
            self._free(idle=idle)

    def _free(self, *, idle: bool) -> None:
        if self._freeing is not None:
            return  # the last round trip frees it
        if idle and self._thread_state.kept:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop to await the round trip on
                loop = None
            if loop is not None:
                self._thread_state.give_back()
                self._freeing = loop.create_task(self._give_back_then_free())
                return
        self._exit.close()

    async def _give_back_then_free(self) -> None:
        try:
            await asyncio.wait_for(self.mr.eval_cancelable("0"), GIVE_BACK_SECONDS)
        except (TimeoutError, JSEvalException):
            pass  # freed all the same; the thread state stays behind (~4 KB)
        finally:
            self._exit.close()


class Isolate:
    """A warm isolate for one function version; takes calls until retired or closed."""

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        host: HostBridge | None = None,
        max_log_bytes: int = 256 * 1024,
        max_response_bytes: int = 10 * 1024 * 1024,
        on_call_done: Callable[[Isolate], None] | None = None,
        on_closed: Callable[[Isolate], None] | None = None,
        on_orphaned: Orphaned | None = None,
        on_unresponsive: Unresponsive | None = None,
    ) -> None:
        self.spec = spec
        self._on_unresponsive = on_unresponsive
        self._host = host
        self._max_log_bytes = max_log_bytes
        self._max_response_bytes = max_response_bytes
        self._on_call_done = on_call_done
        self._on_closed = on_closed
        self._on_orphaned = on_orphaned
        self._mr: MiniRacer | None = None
        self._engine: Engine | None = None
        self._clock: ThreadClock | None = None
        self.heap = HeapReading()  # the used V8 heap, as last read (see runtime/usage.py)
        self._op_calls: dict[int, int] = {}  # host operation id -> call id, for CPU attribution
        self._calls: dict[int, _Call] = {}
        self._to_start: deque[_Call] = deque()
        self._io: list[tuple[int, bool, Any]] = []
        self._due_timers: list[int] = []
        self._to_cancel: list[int] = []
        # One timer for every call's deadline, at the earliest (see `_watch_deadline`).
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._deadline_at = 0.0
        # One timer that cuts a step off at its deadline, kept across steps (see `_step_within`).
        self._step_timer: asyncio.TimerHandle | None = None
        self._step_timer_at = 0.0
        self._step_deadline = 0.0  # the deadline of the step in flight
        self._step_overran = False  # the timer cancelled the driver: its step timed out
        self._timer_handles: dict[int, asyncio.TimerHandle] = {}
        self._timer_calls: dict[int, int] = {}  # timer id -> call id
        self._timers_of: dict[int, int] = {}  # call id -> timers armed
        self._host_tasks: set[asyncio.Task[None]] = set()
        self._codecs: dict[int, CallCodecs] = {}  # per call: CompressionStream's zlib codecs
        self._pulls: list[int] = []  # streamed responses: one chunk wanted (a credit) per entry
        self._aborts: list[int] = []  # streamed responses the consumer stopped
        self._wanted = False
        self._driver: asyncio.Task[None] | None = None
        self._loading = False  # start() is evaluating the function's code
        # Evaluations and steps sent to V8 that have not come back: V8 may still run them.
        self._in_v8 = 0
        self.calls_started = 0
        self.retiring = False
        self.closed = False
        self.last_used = time.monotonic()
        self.probed = self.last_used
        self.compacted = False  # heap given back since the last call (see compact)
        self.ever_compacted = False  # its start's garbage (boot, code, first calls) given back
        # Smoothed JavaScript time of a step: long steps mean CPU-heavy code, which another
        # isolate can run in parallel; short ones mean batching on this isolate is cheaper.
        self.step_seconds = 0.0
        self.step_started: float | None = None  # when the step in progress began
        self._cpu_released = False  # its V8 thread may run on any CPU (runtime/cpus.py)
        self._async_entry = True  # learnt from the first batch: do calls outlive their step?
        self.entry_kind: EntryKind = "plain"  # what the entry form takes (js/entry.js)

    # ---- lifecycle -------------------------------------------------------------------------------
    async def start(self, engine: Engine | None = None, load_seconds: float | None = None) -> None:
        """Bind a booted engine (or boot one) to the function and load its code.

        Raises CodeError when the code does not compile, throws at top level, runs too long, or
        defines no handler; the engine is closed then.
        """
        if engine is None:
            engine = Engine()
            await engine.boot()
        self._engine = engine
        self._mr = engine.mr
        self._clock = engine.clock
        engine.on_notify = self._on_notify
        self._mr.set_hard_memory_limit(self.spec.memory_limit_mb * 1024 * 1024)
        timeout = load_seconds if load_seconds is not None else self.spec.timeout_seconds
        self._loading = True
        scripts = (
            configure_script(self.spec, max_log_bytes=self._max_log_bytes),
            self.spec.compiled,
            engine.entry["__flux_check_entry"] + ")",
        )
        try:
            # Sent together, run in order on the isolate's thread: one wait, not three round
            # trips on a deploy's path. The first that failed is the answer.
            results = await asyncio.wait_for(
                asyncio.gather(
                    *(self._in_v8_until_back(self._mr.eval_cancelable(s)) for s in scripts),
                    return_exceptions=True,
                ),
                timeout,
            )
            for result in results:
                if isinstance(result, BaseException):
                    raise result
            self.entry_kind = "web" if results[-1] == "web" else "plain"
        except JSParseException as error:
            self.close()
            raise _code_error(str(error)) from None
        except JSOOMException:
            self.close()
            raise CodeError("top-level code exceeded the memory limit (memory_limit_mb)") from None
        except JSEvalException as error:
            self.close()
            raise _code_error(str(error)) from None
        except TimeoutError:
            self.close()
            raise CodeError(f"top-level code did not finish within {timeout:g} s") from None
        finally:
            self._loading = False
        if self._wanted:
            self._want_step()
        else:
            # The first heap reading, at once: it takes ~1 ms of the isolate's thread, which the
            # deploy's answer and the client's next request leave free, and the first call then
            # reports it instead of waiting for one. Later (it was 2 ms), it met that first call.
            asyncio.get_running_loop().call_soon(self._first_heap_reading)

    def _first_heap_reading(self) -> None:
        # Taken as the driver, so no step is sent meanwhile; a call that comes first reads it
        # after its step instead.
        idle = self._mr is not None and not self.closed and not self.busy and not self._calls
        if idle and self.heap.due(time.monotonic()):
            self._driver = asyncio.get_running_loop().create_task(self._read_heap_as_driver())

    async def _read_heap_as_driver(self) -> None:
        try:
            await self._read_heap(time.monotonic())
        finally:
            self._release_driver()

    def _release_driver(self) -> None:
        """The task that drove the isolate outside `_drive` is done: a step wanted meanwhile
        starts now."""
        self._driver = None
        if self._wanted and not self.closed:
            self._want_step()

    async def _read_heap(self, now: float) -> None:
        """Take the heap reading that is due (runtime/usage.py). Its blocking round trip waits
        for the isolate's thread, which may still be in the microtask drain after a step, for
        ever if a call spins there: a cancelable evaluation shows the thread free first, and a
        thread that does not answer in HEAP_PROBE_SECONDS is tried again once the next reading
        is due. Only while this task drives the isolate, so no step can be queued in between."""
        if self._mr is None:
            return
        self.heap.read_at = now  # the try counts: a busy thread is not probed at every step
        try:
            await self._in_v8_until_back(
                asyncio.wait_for(self._mr.eval_cancelable("0"), HEAP_PROBE_SECONDS)
            )
        except (TimeoutError, JSEvalException):
            return
        if self._mr is not None and not self.closed:
            self.heap.read(self._mr)

    async def _eval(self, code: str, seconds: float) -> Any:
        assert self._mr is not None
        return await self._in_v8_until_back(
            asyncio.wait_for(self._mr.eval_cancelable(code), seconds)
        )

    async def _in_v8_until_back(self, work: Awaitable[Any]) -> Any:
        """Await `work` sent to V8, counted in `_in_v8` until V8 answers it; one that timed out
        or was cancelled stays counted (V8 may still be running it)."""
        self._in_v8 += 1
        try:
            result = await work
        except JSEvalException:
            self._in_v8 -= 1
            raise
        self._in_v8 -= 1
        return result

    def retire(self) -> None:
        """Take no new calls; close once the calls in flight have finished."""
        self.retiring = True
        if not self._calls and not self._to_start:
            self.close()

    def close(self) -> None:
        """Close the isolate now: V8 terminates whatever it runs; unfinished calls fail."""
        if self.closed:
            return
        self.closed = True
        self.retiring = True
        for handle in self._timer_handles.values():
            handle.cancel()
        self._timer_handles.clear()
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer = None
        if self._step_timer is not None:
            self._step_timer.cancel()
            self._step_timer = None
        for task in self._host_tasks:
            task.cancel()
        if self._engine is not None:
            self._engine.close(idle=not self._in_v8)
        self._mr = None
        for call in list(self._calls.values()):
            self._resolve(call, interrupted_result(self.spec, call.request, call.started, ""))
        if self._on_closed is not None:
            self._on_closed(self)

    def _give_up_unresponsive(self) -> None:
        """Before closing an isolate that did not answer: where a supervisor can end the process
        instead (see `Unresponsive`), hand the engine over unclosed, so `close` does not block;
        else `close` will close it, which may block until its thread is free."""
        if self._on_unresponsive is not None and self._engine is not None:
            engine, self._engine = self._engine, None
            engine.on_notify = None
            self._on_unresponsive(engine)

    def futures(self) -> list[asyncio.Future[Any]]:
        """What the calls not finished yet will settle (after a response, the work after it)."""
        return [call.completed or call.future for call in self._calls.values()]

    @property
    def load(self) -> int:
        """Calls waiting to start plus calls in flight."""
        return len(self._calls)

    @property
    def busy(self) -> bool:
        """A step is running or about to, or the code is loading: the reaper's probe and the
        pool's eviction leave it alone (a probe timing out behind a long load closed it)."""
        return self._driver is not None or self._loading

    # ---- calls -----------------------------------------------------------------------------------
    def submit(
        self,
        request: InvokeRequest,
        deadline: float | None = None,
        on_complete: OnComplete | None = None,
    ) -> asyncio.Future[InvokeResult]:
        """Queue a call for the next step; the future resolves with its response.

        `on_complete` gets the complete result once the call has ended: for a call that works on
        after its response (waitUntil), later; otherwise the response itself, before the future
        resolves. `deadline` (time.monotonic()) is for a call moved here from a stopped isolate.
        """
        now = time.monotonic()
        if deadline is None:
            deadline = now + self.spec.timeout_seconds
        call = _Call(next(_call_ids), request, deadline, on_complete, now)
        self._calls[call.id] = call
        self._to_start.append(call)
        self.calls_started += 1
        self.last_used = now
        self.compacted = False
        if self._deadline_timer is None or deadline < self._deadline_at:
            self._watch_deadline(deadline)
        self._want_step()
        return call.future

    def _watch_deadline(self, deadline: float) -> None:
        """Fire `_deadlines_passed` at `deadline`. One timer for all the isolate's calls, not one
        per call: deadlines mostly arrive in order (one timeout per function), so a new call
        seldom moves it, and a call that ends leaves it to fire and find nothing."""
        self._deadline_at = deadline
        self._deadline_timer = _timer_at(deadline, self._deadlines_passed, self._deadline_timer)

    def _deadlines_passed(self) -> None:
        # The calls past their deadline end in the next step; a step still running past it
        # recovers on its own. The loop's timer may fire a little before time.monotonic() reaches
        # the deadline (uvloop caches its clock per iteration): the calls due then are due now.
        self._deadline_timer = None
        now = max(time.monotonic(), self._deadline_at)
        nearest: float | None = None
        for call in self._calls.values():
            if call.deadline <= now:
                if call.id not in self._to_cancel:
                    self._to_cancel.append(call.id)
            elif nearest is None or call.deadline < nearest:
                nearest = call.deadline
        if self._to_cancel:
            self._want_step()
        if nearest is not None and not self.closed:
            self._watch_deadline(nearest)

    def _respond(self, call: _Call, response: InvokeResult) -> None:
        """The call answered and works on (waitUntil): send the response, keep the call."""
        call.response = response
        call.completed = asyncio.get_running_loop().create_future()
        if not call.future.done():
            call.future.set_result(response)

    def _resolve(self, call: _Call, result: InvokeResult) -> None:
        self._calls.pop(call.id, None)
        if call.response is not None:
            result = after_response(call.response, result)
        # A fresh struct per call (results are built per call), so setting fields is safe.
        result.heap_used_bytes = self.heap.used_bytes
        if self._clock is not None and call.sent:
            result.cpu_time_ms = call.cpu_ns / 1e6
        if self._timers_of.pop(call.id, 0):
            for timer_id in [t for t, owner in self._timer_calls.items() if owner == call.id]:
                self._drop_timer(timer_id)
        self._codecs.pop(call.id, None)
        if call.stream is not None:
            call.stream.end(result, failed=result.outcome != "success")
        if self._host is not None:
            self._host.call_finished(call.request)
        deliver_final(
            result,
            response=None,  # merged above, before the usage fields were set on it
            on_complete=call.on_complete,
            future=call.future,
            completed=call.completed,
        )
        if self._on_call_done is not None:
            self._on_call_done(self)
        if self.retiring and not self._calls and not self.closed:
            self.close()

    # ---- stepping --------------------------------------------------------------------------------
    def _on_notify(self) -> None:
        self._want_step()

    def _want_step(self) -> None:
        self._wanted = True
        # Not while the code loads: a step would queue behind the load with the idle deadline and
        # time out (a booted engine's late notification asks for one); `start` steps after it.
        if self._driver is None and not self.closed and not self._loading:
            self._driver = asyncio.get_running_loop().create_task(self._drive())

    async def _drive(self) -> None:
        try:
            while self._wanted and not self.closed:
                # Two turns of the event loop first. The callbacks the last step's results
                # scheduled (an isolate host's answers to its server) run in the first, and the
                # frame they queued is written in the second before this step takes the CPU that
                # the host's threads share: with one turn it waited for the whole step. Calls that
                # arrive meanwhile (a burst of requests parsed together) join this step.
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                if self.closed:  # closed during those turns (its last call ended, say)
                    break
                self._wanted = False
                await self._step()
        except Exception:
            # A bug here must not leave callers waiting forever: fail them and drop the isolate.
            log.exception("isolate driver failed", function=self.spec.name)
            self._fail_all(lambda c: interrupted_result(self.spec, c.request, c.started, ""))
        finally:
            self._driver = None

    async def compact(self) -> None:
        """Give an idle isolate's spare heap back: V8 grows a long-lived heap lazily towards its
        limit and keeps it, which shows as slowly rising RSS on a server with many functions.
        A call that comes meanwhile runs once the collection is over."""
        if not self.busy and not self._calls and self._engine is not None and not self.closed:
            self.compacted = self.ever_compacted = True
            await self._engine.collect_garbage()

    async def probe(self) -> None:
        """Check that an idle isolate still answers; close it if not.

        JavaScript a finished call left running (a microtask chain) would otherwise spin unseen
        until the next call of the function arrived and timed out behind it.
        """
        if self.busy or self._calls or self.closed or self._mr is None:
            return
        self.probed = time.monotonic()
        if self._mr.was_hard_memory_limit_reached():
            # V8 stopped something (JavaScript a call left running, say) at the heap limit; the
            # heap is suspect, so the isolate goes.
            self.close()
            return
        self._driver = asyncio.current_task()
        try:
            await self._eval("0", PROBE_SECONDS)
        except (TimeoutError, JSEvalException):
            log.warning("closing an isolate that stopped answering", function=self.spec.name)
            self._give_up_unresponsive()
            self._settle_stopped(time.monotonic(), known=None)
            self.close()
        finally:
            self._release_driver()

    async def _step(self) -> None:
        batch = [self._to_start.popleft() for _ in range(min(len(self._to_start), MAX_BATCH))]
        if self._to_start:
            self._wanted = True
        now = time.monotonic()
        expired = [cid for cid in self._to_cancel if cid in self._calls]
        self._to_cancel.clear()
        payload: dict[str, Any] = {}
        # The calls this step runs JavaScript for, which share its CPU time (runtime/usage.py).
        touched = {call.id for call in batch}
        touched.update(expired)
        if self._io:
            touched.update(self._op_calls.pop(op[0], -1) for op in self._io)
            payload["io"], self._io = self._io, []
        if self._due_timers:
            fired = self._timers_to_fire()
            touched.update(self._timer_calls.get(t, -1) for t in fired)
            payload["timers"] = fired
        if expired:
            payload["cancel"] = expired
        if self._pulls:
            touched.update(self._pulls)
            payload["pull"], self._pulls = self._pulls, []
        if self._aborts:
            touched.update(self._aborts)
            payload["abort"], self._aborts = self._aborts, []
        if batch:
            # A third element asks for a streamed response (see flux_edge.runtime.streaming).
            payload["start"] = [
                (call.id, to_isolate(call.request, self.entry_kind), True)
                if call.request.stream_response
                else (call.id, to_isolate(call.request, self.entry_kind))
                for call in batch
            ]
            for call in batch:
                call.sent = True
        # Async handlers settle in the microtask drain right after a step that started them, so
        # the next step is sent at once rather than after the notification (which JavaScript then
        # skips); calls that arrived meanwhile ride along with it.
        if batch and self._async_entry:
            payload["follow"] = True
        # Calls this step cancels end first thing in it: their passed deadlines give it a short
        # grace, not nothing, or a step that takes more than a moment under load is cut off and
        # what it returned (their logs) is lost. Short, because a wedged isolate (a microtask
        # storm) keeps running, and growing, until the step gives up on it.
        deadline = min(
            (c.deadline for c in self._calls.values() if c.id not in expired),
            default=now + PROBE_SECONDS,
        )
        if expired:
            deadline = min(deadline, now + CANCEL_GRACE_SECONDS)
        assert self._mr is not None
        assert self._engine is not None
        text = _encode(payload).decode()
        self.step_started = time.monotonic()
        clock = self._clock
        cpu_before = clock.read_ns() if clock is not None else None
        try:
            raw = await self._step_within(text, max(deadline, time.monotonic() + 0.001))
        except TimeoutError:
            # The runaway's time goes to the calls in flight: the step was theirs.
            cpu_after = clock.read_ns() if clock is not None else None
            self._charge(cpu_before, cpu_after, {c.id for c in self._calls.values() if c.sent})
            await self._recover(deadline)
            return
        except JSOOMException:
            self._fail_all(lambda c: memory_result(self.spec, c.request, c.started, ""))
            return
        except JSEvalException as error:
            # The step itself failed: user code broke a built-in the prelude relies on.
            log.warning("isolate step failed", function=self.spec.name, error=str(error))
            detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
            self._fail_all(lambda c: broken_result(self.spec, c.request, c.started, detail))
            return
        finally:
            self.step_started = None
        # Read before the heap reading below, which is work on the same thread.
        cpu_after = clock.read_ns() if clock is not None else None
        try:
            output = _decode_output(raw)
        except msgspec.DecodeError as error:
            self._protocol_broken(error)
            return
        if batch:
            self._async_entry = output.inflight > 0
            if self._async_entry:
                self._wanted = True
        if output.done:
            touched.update(call_id for call_id, _ in output.done)
            # Before the calls resolve, so they carry the heap they left (throttled: usage.py).
            now = time.monotonic()
            if self.heap.due(now):
                await self._read_heap(now)
                if self.closed:  # closed meanwhile: its calls have been answered
                    return
        touched.update(call_id for call_id, _ in output.heads)
        self._charge(cpu_before, cpu_after, touched)
        self._apply(output)

    async def _step_within(self, text: str, deadline: float) -> Any:
        """Run a step; TimeoutError if it is still running at `deadline`.

        What `asyncio.timeout` does (cancel the driver at the deadline, then tell that from any
        other cancellation), with one timer kept across steps: under load every step has about
        the same deadline (the oldest call's), and a timer armed and cancelled per step cost ~9 µs
        of the host's loop each."""
        assert self._engine is not None
        self._step_deadline = deadline
        if self._step_timer is None or deadline < self._step_timer_at:
            self._arm_step_timer(deadline)
        try:
            return await self._in_v8_until_back(self._engine.step(text))
        except asyncio.CancelledError:
            # Ours unless someone else cancelled the driver too (then theirs wins, as in asyncio).
            task = asyncio.current_task()
            if not self._step_overran or task is None or task.uncancel() > 0:
                raise
            raise TimeoutError from None
        finally:
            self._step_overran = False

    def _arm_step_timer(self, deadline: float) -> None:
        self._step_timer_at = deadline
        self._step_timer = _timer_at(deadline, self._step_timer_fired, self._step_timer)

    def _step_timer_fired(self) -> None:
        self._step_timer = None
        if self.step_started is None or self._driver is None or self.closed:
            return  # no step in flight: the next one arms the timer again
        if self._step_deadline > self._step_timer_at:
            self._arm_step_timer(self._step_deadline)  # armed for an earlier step's deadline
            return
        self._step_overran = True
        self._driver.cancel()

    def _charge(self, cpu_before: int | None, cpu_after: int | None, touched: set[int]) -> None:
        """Split the isolate thread's CPU time of one step among the calls it `touched`."""
        if cpu_before is None or cpu_after is None:
            return
        calls = [c for cid in touched if (c := self._calls.get(cid)) is not None]
        if not calls:
            return
        share = (cpu_after - cpu_before) // len(calls)
        for call in calls:
            call.cpu_ns += share

    async def _recover(self, deadline: float) -> None:
        """A step ran past the earliest deadline: find what ran, fail it, retire the isolate."""
        self.retiring = True
        assert self._mr is not None
        assert self._engine is not None
        # The loop's timer may fire a little before time.monotonic() reaches the deadline (uvloop
        # caches its clock per iteration); the call that set the deadline has timed out all the same.
        now = max(time.monotonic(), deadline)
        expired = [cid for cid, call in self._calls.items() if call.deadline <= now]
        try:
            raw = await asyncio.wait_for(
                self._mr.eval_cancelable(
                    self._engine.entry["__flux_recover"]
                    + ","
                    + _encode(_encode(expired).decode()).decode()
                    + ")"
                ),
                PROBE_SECONDS,
            )
        except (TimeoutError, JSEvalException):
            # Wedged (a runaway outside the step, or a dead heap): closing terminates it.
            self._give_up_unresponsive()
            self._settle_stopped(now, known=None)
            self.close()
            return
        try:
            output = _decode_output(raw)
        except msgspec.DecodeError as error:
            self._protocol_broken(error)
            return
        self._apply(output, now=now)
        # Async calls JavaScript still holds may finish here (the isolate is retiring); the rest
        # never started and move to another isolate.
        self._settle_stopped(now, known=set(output.known or ()))

    def _settle_stopped(self, now: float, known: set[int] | None) -> None:
        """After a stop: time out what is past its deadline, move what never started elsewhere,
        and fail what was cut off (`known` None: the isolate is closing, nothing else can finish)."""
        for call in list(self._calls.values()):
            if call.deadline <= now:
                self._resolve(call, timeout_result(self.spec, call.request, call.started, ""))
            elif not call.sent or (known is not None and call.id not in known):
                self._orphan(call)
            elif known is None:
                self._resolve(call, interrupted_result(self.spec, call.request, call.started, ""))

    def _orphan(self, call: _Call) -> None:
        if self._on_orphaned is None:
            self._resolve(call, interrupted_result(self.spec, call.request, call.started, ""))
            return
        if call.stream is not None:  # its head was sent: it cannot move to another isolate
            self._resolve(call, interrupted_result(self.spec, call.request, call.started, ""))
            return
        self._calls.pop(call.id, None)
        self._on_orphaned(call.request, call.deadline, call.future, call.on_complete)

    def _protocol_broken(self, error: Exception) -> None:
        """The step's output was not what core.js writes: nothing in it can be believed."""
        log.warning("isolate step output invalid", function=self.spec.name, error=str(error))
        detail = f"the runtime could not read what the step reported ({str(error)[:200]})"
        self._fail_all(lambda c: broken_result(self.spec, c.request, c.started, detail))

    def _drop_timer(self, timer_id: int) -> None:
        handle = self._timer_handles.pop(timer_id, None)
        if handle is not None:
            handle.cancel()
        owner = self._timer_calls.pop(timer_id, None)
        if owner is not None and owner in self._timers_of:
            self._timers_of[owner] -= 1

    def _fail_all(self, failed: Callable[[_Call], InvokeResult]) -> None:
        """The isolate cannot go on: calls JavaScript received end with `failed(call)`, calls it
        never received move to another isolate, and the isolate closes."""
        for call in list(self._calls.values()):
            if call.sent:
                self._resolve(call, failed(call))
            else:
                self._orphan(call)
        self.close()

    def release_cpu(self) -> None:
        """Let the V8 thread run on every CPU (runtime/cpus.py): its JavaScript is CPU-bound,
        better on any CPU than on its host's."""
        if not self._cpu_released:
            self._cpu_released = True
            if self._clock is not None:
                release(self._clock.tid)

    def _apply(self, output: _StepOutput, now: float | None = None) -> None:
        self.step_seconds += (output.busyMs / 1000 - self.step_seconds) / 8
        if self.step_seconds > HEAVY_STEP_SECONDS:
            self.release_cpu()
        loop = asyncio.get_running_loop()
        for timer_id in output.cleared:
            self._drop_timer(timer_id)
        over: set[int] = set()
        for timer_id, delay_ms, call_id in output.timers:
            if call_id not in self._calls or timer_id in self._timer_handles:
                continue
            if self._timer_calls.get(timer_id) != call_id:
                armed = self._timers_of.get(call_id, 0)
                if armed >= MAX_TIMERS_PER_CALL:
                    over.add(call_id)
                    continue
                self._timers_of[call_id] = armed + 1
                self._timer_calls[timer_id] = call_id
            delay = min(max(delay_ms, 0.0), MAX_TIMER_MS) if delay_ms == delay_ms else 0.0
            self._timer_handles[timer_id] = loop.call_later(delay / 1000, self._timer_due, timer_id)
        for op_id, call_id, kind, op_payload in output.ops:
            if len(self._host_tasks) >= MAX_HOST_OPS:
                message = f"more than {MAX_HOST_OPS} host operations (fetch, files) in flight"
                self._io.append((op_id, False, {"type": "RangeError", "message": message}))
                self._want_step()
                continue
            self._op_calls[op_id] = call_id
            if kind.startswith("crypto."):
                operation = self._run_crypto_op(op_id, kind, op_payload)
            elif (call := self._calls.get(call_id)) is None:
                del self._op_calls[op_id]
                continue
            elif kind == "zlib":
                self._run_codec(op_id, op_payload, call)
                continue
            else:
                operation = self._run_host_op(op_id, kind, op_payload, call)
            task = loop.create_task(operation)
            self._host_tasks.add(task)
            task.add_done_callback(self._host_tasks.discard)
        for call_id, head in output.heads:
            self._start_stream(call_id, head)
        for call_id, chunk in output.chunks:
            call = self._calls.get(call_id)
            if call is not None and call.stream is not None:
                call.stream.push(base64.b64decode(chunk))
        current = time.monotonic() if now is None else now
        for call_id, done in output.done:
            call = self._calls.get(call_id)
            if call is None:
                continue
            if call.head is not None:
                ended = stream_end_result(
                    self.spec,
                    call.request,
                    call.head,
                    done,
                    started=call.started,
                    timed_out=call.deadline <= current,
                )
                if ended.limit is not None:
                    self.retiring = True
                self._resolve(call, ended.result)
                continue
            outcome = result_from_payload(
                self.spec,
                call.request,
                done,
                started=call.started,
                timed_out=call.deadline <= current,
                max_response_bytes=self._max_response_bytes,
                max_log_bytes=self._max_log_bytes,
            )
            if outcome.limit is not None:
                self.retiring = True
            if done.get("pending") and call.response is None:
                self._respond(call, outcome.result)
            else:
                self._resolve(call, outcome.result)
        for call_id in over:
            call = self._calls.get(call_id)
            if call is not None:
                message = f"the call armed more than {MAX_TIMERS_PER_CALL} timers"
                self._resolve(call, broken_result(self.spec, call.request, call.started, message))
        if self.retiring and not self._calls:
            self.close()

    def _start_stream(self, call_id: int, head: dict[str, Any]) -> None:
        """A streamed response's head: the call's result resolves now, with a ResponseStream that
        asks for chunks one credit at a time; the call stays in flight until the stream ends."""
        call = self._calls.get(call_id)
        if call is None:
            return
        result, valid = head_result(self.spec, call.request, head, call.started)
        if not valid:
            self._aborts.append(call_id)
            self._want_step()
            self._resolve(call, result)
            return

        def request_more() -> None:
            if call_id in self._calls:
                self._pulls.append(call_id)
                self._want_step()

        def abort() -> None:
            if call_id in self._calls:
                self._aborts.append(call_id)
                self._want_step()

        call.head = result
        call.stream = ResponseStream(request_more, abort)
        if not call.future.done():
            call.future.set_result(msgspec.structs.replace(result, stream=call.stream))

    def _timers_to_fire(self) -> list[int]:
        """The due timers this step fires: at most one per call. JavaScript's microtasks run
        when the step returns, and a timer's callback must see those of the timer before it
        (HTML and Node run a microtask checkpoint after each): a later timer of the same call
        waits for the next step, sent at once. Due timers are in deadline order."""
        fired: list[int] = []
        waiting: list[int] = []
        owners: set[int | None] = set()
        for timer_id in self._due_timers:
            owner = self._timer_calls.get(timer_id)
            if owner in owners:
                waiting.append(timer_id)
            else:
                owners.add(owner)
                fired.append(timer_id)
        self._due_timers = waiting
        if waiting:
            self._wanted = True
        return fired

    def _timer_due(self, timer_id: int) -> None:
        self._timer_handles.pop(timer_id, None)
        # Still counted against its call until JavaScript clears it or re-arms it.
        self._due_timers.append(timer_id)
        self._want_step()

    def _run_codec(self, op_id: int, payload: Any, call: _Call) -> None:
        """A CompressionStream chunk: small ones inline (microseconds), big ones on a thread
        (zlib and Brotli release the GIL; the event loop must not stall for a megabyte). A
        codec's chunks come one at a time: JavaScript awaits each before sending the next."""
        codecs = self._codecs.get(call.id)
        if codecs is None:
            codecs = self._codecs[call.id] = CallCodecs(self.spec.memory_limit_mb * 1024 * 1024)
        data = payload.get("data") if isinstance(payload, dict) else None
        if isinstance(data, str) and len(data) > _INLINE_CODEC_CHARS:
            task = asyncio.get_running_loop().create_task(
                self._codec_on_thread(op_id, payload, codecs)
            )
            self._host_tasks.add(task)
            task.add_done_callback(self._host_tasks.discard)
            return
        self._io.append(_codec_answer(op_id, codecs, payload))
        self._want_step()

    async def _codec_on_thread(self, op_id: int, payload: Any, codecs: CallCodecs) -> None:
        self._io.append(await asyncio.to_thread(_codec_answer, op_id, codecs, payload))
        if not self.closed:
            self._want_step()

    async def _run_host_op(self, op_id: int, kind: str, payload: Any, call: _Call) -> None:
        try:
            if self._host is None:
                raise HostOpError("TypeError", f"{kind} is not available in this runtime")
            value = await self._host.run(kind, payload, call.request, self.spec, call.deadline)
            self._io.append((op_id, True, value))
        except HostOpError as error:
            self._io.append((op_id, False, {"type": error.type, "message": error.message}))
        except Exception:  # any host failure becomes a JavaScript error, never a crash
            # The details (Python's message, paths, descriptor numbers) go to the server log only.
            log.exception("host operation failed", kind=kind, function=self.spec.name)
            failure = {"type": "Error", "message": f"{kind} failed: internal error in the host"}
            self._io.append((op_id, False, failure))
        if not self.closed:
            self._want_step()

    async def _run_crypto_op(self, op_id: int, kind: str, payload: Any) -> None:
        # WebCrypto is part of every runtime, needs no permission and no call: it is answered
        # here, not by the capability bridge (which a runtime may lack or replace). The module,
        # and `cryptography` with it, is imported on the first use.
        from flux_edge.runtime import webcrypto

        try:
            value = await webcrypto.run(kind, payload)  # before reading self._io: a step swaps it
            self._io.append((op_id, True, value))
        except Exception as error:  # a bug in the crypto code becomes a JavaScript error
            log.exception("crypto operation failed", kind=kind, function=self.spec.name)
            self._io.append((op_id, False, {"type": "Error", "message": f"{kind} failed: {error}"}))
        if not self.closed:
            self._want_step()


def _codec_answer(op_id: int, codecs: CallCodecs, payload: Any) -> tuple[int, bool, Any]:
    try:
        return (op_id, True, codecs.run(payload))
    except CodecError as error:
        return (op_id, False, {"type": error.type, "message": error.message})


def _loop_time(loop: asyncio.AbstractEventLoop, monotonic_deadline: float) -> float:
    return loop.time() + (monotonic_deadline - time.monotonic())


def _timer_at(
    deadline: float, callback: Callable[[], None], replaced: asyncio.TimerHandle | None
) -> asyncio.TimerHandle:
    """A loop timer calling `callback` at `deadline` (time.monotonic), instead of `replaced`."""
    if replaced is not None:
        replaced.cancel()
    loop = asyncio.get_running_loop()
    return loop.call_at(_loop_time(loop, deadline), callback)


_LOCATION = re.compile(r"(<anonymous>|undefined|file:///\S*?|node:\S*?|https?://\S*?):(\d+): ")
# The linker's module prologues (codeforms/esm.py, commonjs.py) share line 1 with the module's code.
_PROLOGUE = re.compile(
    r"\((?:async )?function\*\(__flux_e,.*?yield;"
    r"|\(function\(exports,require,module,__filename,__dirname,global,Buffer\)\{"
)


def _code_error(text: str) -> CodeError:
    """Turn V8's '<where>:LINE: SyntaxError: ...' report into a CodeError with its position.

    `<where>` is `<anonymous>` for the compiled script and the module's URL for a module of a
    linked function (which then names the file).
    """
    first = text.strip().splitlines()
    line: int | None = None
    column: int | None = None
    file: str | None = None
    message = first[0] if first else text
    found = _LOCATION.match(message)
    if found is not None:
        where, line, message = found.group(1), int(found.group(2)), message[found.end() :]
        if where.startswith("file:///node_modules/"):
            file = "npm:" + where.removeprefix("file:///node_modules/")
        elif where.startswith(("file:///", "node:", "https://", "http://")):
            file = where.removeprefix("file:///")
        # The error's stack (which a linked function's loader maps back to the file's own
        # columns) locates it best; else V8's caret under the failing column of the source line.
        framed = re.search(rf"^ +at .*?{re.escape(where)}:{line}:(\d+)\)?$", text, re.MULTILINE)
        if framed is not None and file is not None:
            column = int(framed.group(1))
        elif len(first) >= 3 and "^" in first[2]:
            column = first[2].index("^") + 1
            prologue = _PROLOGUE.match(first[1]) if file is not None and line == 1 else None
            if prologue is not None:
                column -= prologue.end()
    return CodeError(message, line, column, file)


__all__ = ["Engine", "HostBridge", "HostOpError", "Isolate"]
