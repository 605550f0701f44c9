// The calling convention between Python and one isolate.
//
// Python drives the isolate with "steps": one eval of `__flux_step(json)` per crossing. A step
// delivers finished host operations (fetch, files) and due timers, starts a batch of new calls, and
// returns everything that happened since the last step as one JSON string: finished calls with their
// logs, new host operations, timers to arm. Async work that settles after a step (in the microtask
// drain that follows every eval) is reported by a one-way notification, `__flux_notify`, which asks
// Python for another step. Batching calls into steps keeps Python<->V8 thread hops per call low.
//
// Console lines, timers and host operations belong to the call that caused them. Synchronous code
// runs under `current`; continuations after an `await` are attributed through V8's async stack
// traces, which name the per-call wrapper function `__flux_call_<n>` that awaits the handler.
(function (g) {
  "use strict";
  const memory = g.__flux_memory;
  const notifyPython = g.__flux_notify;
  const { formatValue, formatArgs } = g.__flux_format;
  const { toResponse } = g.__flux_response;
  const deno = g.__flux_deno;
  const { PermissionDenied, NotFound } = deno;
  const web = g.__flux_web; // deleted after the capability shims load (prelude.py)
  const entryForms = g.__flux_entry;
  delete g.__flux_entry;
  delete g.__flux_memory;
  delete g.__flux_notify;
  delete g.__flux_format;
  delete g.__flux_response;
  delete g.__flux_deno;
  delete g.__flux_entropy;

  const { stringify } = JSON;
  const parseJSON = JSON.parse;
  const toBase64 = Uint8Array.prototype.toBase64;
  const OriginalError = Error;
  // Set by configure() when the isolate is given to a function (isolates boot before that, so a
  // spare with the prelude loaded can take a new function in about a millisecond).
  let maxLogBytes = 256 * 1024;
  const permissions = { net: false, read: false, write: false, env: false };
  const maxTimers = 10000;

  // ---- calls in flight -------------------------------------------------------------------------
  /** @type {Map<number, {id: number, logs: string[], logBytes: number, logTruncated: boolean}>} */
  const calls = new Map();
  let current = null; // the call whose synchronous code is running, if known
  let lastOwner = null;
  let outbox = emptyOutbox();
  let notified = false;
  let followed = false;

  function emptyOutbox() {
    return { done: [], ops: [], timers: [], cleared: [], heads: [], chunks: [], busyMs: 0 };
  }

  function ownerFromStack() {
    const savedLimit = OriginalError.stackTraceLimit;
    const savedPrepare = OriginalError.prepareStackTrace;
    let frames = null;
    try {
      OriginalError.stackTraceLimit = 200;
      OriginalError.prepareStackTrace = (_, callSites) => callSites;
      const holder = {};
      OriginalError.captureStackTrace(holder, ownerFromStack);
      frames = holder.stack;
    } catch {
      frames = null;
    } finally {
      OriginalError.stackTraceLimit = savedLimit;
      OriginalError.prepareStackTrace = savedPrepare;
    }
    if (!Array.isArray(frames)) return null;
    for (const frame of frames) {
      const name = frame.getFunctionName();
      if (name && name.startsWith("__flux_call_")) {
        const id = Number(name.slice(12));
        if (calls.has(id)) return id;
      }
    }
    return null;
  }

  // The call an effect belongs to: the running one, else the awaiting one, else the only one.
  function owner() {
    if (current !== null) return current;
    if (calls.size === 1) return calls.keys().next().value;
    if (calls.size === 0) return null;
    const found = ownerFromStack();
    if (found !== null) return found;
    return calls.has(lastOwner) ? lastOwner : calls.keys().next().value;
  }

  function wake() {
    if (!notified) {
      notified = true;
      notifyPython("step");
    }
  }

  // ---- console ---------------------------------------------------------------------------------
  function log(level, args) {
    const id = owner();
    const call = calls.get(id);
    if (!call || call.logTruncated) return;
    const line = `console.${level}: ${formatArgs(args)}`;
    if (call.logBytes + line.length > maxLogBytes) {
      call.logTruncated = true;
      call.logs.push(`console.${level}: \u2026[log truncated: more than ${maxLogBytes} bytes]`);
      return;
    }
    call.logBytes += line.length + 1;
    call.logs.push(line);
  }

  const counts = new Map();
  const timersByLabel = new Map();
  const consoleObject = {};
  for (const level of ["log", "info", "warn", "error", "debug"]) {
    consoleObject[level] = { [level]: (...args) => log(level, args) }[level];
  }
  consoleObject.trace = (...args) => log("trace", [...args, new OriginalError().stack]);
  consoleObject.assert = (condition, ...args) => {
    if (!condition) log("error", ["Assertion failed", ...args]);
  };
  consoleObject.dir = (value) => log("log", [value]);
  consoleObject.table = (value) => log("log", [value]);
  consoleObject.count = (label = "default") => {
    const n = (counts.get(label) || 0) + 1;
    counts.set(label, n);
    log("log", [`${label}: ${n}`]);
  };
  consoleObject.time = (label = "default") => timersByLabel.set(label, Date.now());
  consoleObject.timeEnd = (label = "default") => {
    const started = timersByLabel.get(label);
    timersByLabel.delete(label);
    if (started !== undefined) log("log", [`${label}: ${Date.now() - started}ms`]);
  };
  define(g, "console", consoleObject);

  // ---- host operations (privileged work done in Python) ------------------------------------------
  let nextOpId = 1;
  const pendingOps = new Map();

  /**
   * Asks Python to do `kind` with a JSON-able payload; resolves with Python's JSON answer.
   * Shims pass the call they captured synchronously (`owner()` at their entry), since after an
   * `await` the stack may no longer say whose work this is.
   */
  function hostCall(kind, payload, callId) {
    let id = callId !== undefined && calls.has(callId) ? callId : owner();
    // WebCrypto belongs to no call (it outlives none and touches nothing outside the isolate), so
    // top-level code may import keys too: its operations run as call 0.
    if (id === null && typeof kind === "string" && kind.startsWith("crypto.")) id = 0;
    if (id === null) return Promise.reject(new TypeError(`${kind} is only available during a call`));
    const opId = nextOpId++;
    return new Promise((resolve, reject) => {
      pendingOps.set(opId, { resolve, reject, call: id });
      outbox.ops.push([opId, id, kind, payload]);
      wake();
    });
  }

  function settleOp(opId, ok, value) {
    const op = pendingOps.get(opId);
    if (!op) return;
    pendingOps.delete(opId);
    if (ok) op.resolve(value);
    else {
      const error = new (g[value.type] || OriginalError)(value.message);
      if (!g[value.type]) error.name = value.type;
      op.reject(error);
    }
  }

  // ---- timers: armed and fired by Python, so that a callback only ever runs inside a step ----------
  let nextTimerId = 1;
  const timers = new Map();

  function armTimer(callback, delay, args, repeat) {
    if (typeof callback !== "function") {
      throw new TypeError("setTimeout/setInterval need a function (strings are not evaluated)");
    }
    const call = owner();
    if (call === null) return 0; // timers outside any call would outlive it: ignored
    if (timers.size >= maxTimers) throw new RangeError(`more than ${maxTimers} pending timers`);
    const id = nextTimerId++;
    const ms = Math.max(0, Math.min(Number(delay) || 0, 2147483647));
    timers.set(id, { callback, args, repeat, ms, call });
    outbox.timers.push([id, ms]);
    wake();
    return id;
  }

  function clearTimer(id) {
    if (timers.delete(id)) outbox.cleared.push(id);
  }

  function fireTimer(id) {
    const timer = timers.get(id);
    if (!timer) return;
    if (!calls.has(timer.call)) {
      timers.delete(id);
      return;
    }
    if (timer.repeat) outbox.timers.push([id, timer.ms]);
    else timers.delete(id);
    runAs(timer.call, () => timer.callback(...timer.args));
  }

  // Drops the timers of a call that ended, so they never run into a later call.
  function dropTimersOf(callId) {
    for (const [id, timer] of timers) {
      if (timer.call === callId) {
        timers.delete(id);
        outbox.cleared.push(id);
      }
    }
  }

  define(g, "setTimeout", (callback, delay, ...args) => armTimer(callback, delay, args, false));
  define(g, "setInterval", (callback, delay, ...args) => armTimer(callback, delay, args, true));
  define(g, "clearTimeout", (id) => clearTimer(id));
  define(g, "clearInterval", (id) => clearTimer(id));
  define(g, "queueMicrotask", (callback) => {
    if (typeof callback !== "function") throw new TypeError("queueMicrotask needs a function");
    Promise.resolve().then(() => callback());
  });
  // mini-racer's own setTimeout schedules work outside our steps; it must not be reachable.
  // (its `var __timer_manager` cannot be deleted, only emptied; without Atomics.waitAsync its class
  // can schedule nothing)
  g.__timer_manager = undefined;
  if (g.Atomics) delete g.Atomics.waitAsync;
  // Finalizer callbacks would run outside any step, where no time limit applies.
  delete g.FinalizationRegistry;

  memory.onBreach(() => {
    const call = calls.get(owner());
    if (call) call.memoryBreached = true;
  });

  // ---- calls -----------------------------------------------------------------------------------
  function runAs(callId, fn) {
    const name = `__flux_call_${callId}`;
    const saved = current;
    current = callId;
    lastOwner = callId;
    try {
      return { [name]: () => fn() }[name]();
    } catch (error) {
      fail(callId, error);
      return undefined;
    } finally {
      current = saved;
    }
  }

  function errorInfo(error) {
    if (error instanceof OriginalError || (error && typeof error.message === "string")) {
      const type = error.name || "Error";
      return { message: `${type}: ${error.message}`, stack: String(error.stack || "") };
    }
    return { message: `Uncaught: ${formatValue(error, 1, new Set())}`, stack: "" };
  }

  function finish(callId, payload) {
    const call = calls.get(callId);
    if (!call) return;
    if (call.reader && !call.ended) {
      // A streamed body that did not end (timeout, client gone): the function's stream is
      // cancelled, so its cancel() runs (its console lines still count) and its producer stops.
      call.ended = true;
      const saved = current;
      current = callId;
      try {
        call.reader.cancel(new OriginalError("the response stream was cancelled")).catch(() => {});
      } catch {
        // the function's cancel() threw: the call ends all the same
      } finally {
        current = saved;
      }
    }
    calls.delete(callId);
    dropTimersOf(callId);
    for (const [opId, op] of pendingOps) if (op.call === callId) pendingOps.delete(opId);
    payload.logs = call.logs.join("\n");
    if (call.memoryBreached && payload.limit === undefined) {
      // The call caught the RangeError and carried on: it still broke its memory limit.
      payload.error = { message: `RangeError: ${memory.breachMessage()}`, stack: "" };
      delete payload.response;
      payload.limit = "memory";
    }
    outbox.done.push([callId, payload]);
    wake();
  }

  function failure(error, prefix = "") {
    const info = errorInfo(error);
    info.message = prefix + info.message;
    if (info.stack) info.stack = prefix + info.stack;
    const payload = { error: info };
    if (error instanceof RangeError && /^Memory limit exceeded/.test(error.message)) {
      payload.limit = "memory";
    }
    return payload;
  }

  function fail(callId, error) {
    if (calls.has(callId)) finish(callId, failure(error));
  }

  // ---- work after the response: waitUntil, info.completed ------------------------------------------
  // A call that used either answers as soon as its response is ready (a `pending` entry, no logs)
  // and ends when the work passed to waitUntil has settled (a `background` entry with every log
  // line and the first failure), within the call's deadline, which Python keeps.
  function keepAlive(callId, promise) {
    const call = calls.get(callId);
    if (!call) throw new TypeError("waitUntil() can only be called while the call is running");
    call.waits += 1;
    call.waited = true;
    Promise.resolve(promise).then(
      () => settleWait(callId, false, undefined),
      (error) => settleWait(callId, true, error),
    );
  }

  function settleWait(callId, failed, error) {
    const call = calls.get(callId);
    if (!call) return;
    if (failed && !call.waitFailed) {
      call.waitFailed = true;
      call.waitError = error;
    }
    call.waits -= 1;
    if (call.waits === 0 && call.response !== undefined) {
      const payload = call.waitFailed ? failure(call.waitError, "waitUntil: ") : {};
      payload.background = true;
      finish(callId, payload);
    }
  }

  // Deno.serve's `info.completed`, made on first use: it settles once the response is ready.
  function completedOf(callId) {
    const call = calls.get(callId);
    if (!call) return Promise.resolve();
    call.completed ??= new Promise((resolve) => (call.resolveCompleted = resolve));
    return call.completed;
  }

  function respond(callId, response) {
    const call = calls.get(callId);
    if (!call) return;
    if (!call.waited && call.completed === undefined) {
      finish(callId, { response });
      return;
    }
    call.response = response;
    outbox.done.push([callId, { response, pending: true }]);
    wake();
    if (call.resolveCompleted) call.resolveCompleted();
    // One more turn, so `info.completed` callbacks run (and log) inside the call.
    keepAlive(callId, undefined);
  }

  // ---- streamed responses ----------------------------------------------------------------------------
  // A Response with a stream body, for a call whose request asked for streaming: the head (status,
  // headers) goes to Python at once, then one chunk per credit Python grants (`pull` in a step),
  // so a slow client holds the function's stream back instead of filling memory. The call ends
  // (finish, with its logs) when the stream does.
  function sendHead(callId, head) {
    const call = calls.get(callId);
    call.reader = head.reader;
    call.credit = 0;
    call.reading = false;
    call.ended = false;
    outbox.heads.push([callId, { status: head.status, headers: head.headers }]);
    wake();
  }

  function pump(callId) {
    const call = calls.get(callId);
    if (!call || call.ended || call.reading || call.credit <= 0) return;
    call.reading = true;
    runAs(callId, () => call.reader.read()).then(
      (chunk) => {
        call.reading = false;
        if (!calls.has(callId) || call.ended) return;
        if (chunk === null) {
          call.ended = true;
          finish(callId, { end: true });
          return;
        }
        call.credit -= 1;
        if (chunk.length > 0) outbox.chunks.push([callId, toBase64.call(chunk)]);
        else call.credit += 1; // an empty chunk sends nothing: read on
        wake();
        pump(callId);
      },
      (error) => {
        call.reading = false;
        call.ended = true;
        fail(callId, error);
      },
    );
  }

  function grant(callId) {
    const call = calls.get(callId);
    if (!call || !call.reader) return;
    call.credit += 1;
    pump(callId);
  }

  // The client went away: the stream is cancelled and the call ends normally.
  function abortStream(callId) {
    const call = calls.get(callId);
    if (!call || !call.reader) return;
    finish(callId, { end: true, aborted: true });
  }

  // ---- results -----------------------------------------------------------------------------------
  function deliver(callId, value) {
    const call = calls.get(callId);
    if (call && call.streamResponse && web.isResponse(value)) {
      let head;
      try {
        head = web.responseStreamHead(value);
      } catch (error) {
        fail(callId, error);
        return;
      }
      if (head !== undefined) {
        sendHead(callId, head);
        return;
      }
    }
    let response;
    try {
      response = toResponse(value);
    } catch (error) {
      fail(callId, error);
      return;
    }
    if (response && typeof response.then === "function") {
      response.then(
        (plain) => respond(callId, plain),
        (error) => fail(callId, error),
      );
    } else {
      respond(callId, response);
    }
  }

  // ---- the entry point -------------------------------------------------------------------------
  const exportsObject = {};
  define(g, "__flux_exports", exportsObject);

  let entry = null;

  // What the serve and module forms get besides the request (js/entry.js `callContext`).
  function contextFor(callId, request) {
    return entryForms.callContext(
      request.remote,
      (promise) => keepAlive(callId, promise),
      () => completedOf(callId),
    );
  }

  define(g, "EdgeRuntime", Object.freeze({
    waitUntil(promise) {
      const callId = owner();
      if (callId === null) throw new TypeError("EdgeRuntime.waitUntil() needs a running call");
      keepAlive(callId, promise);
    },
  }));

  function start(callId, request, streamResponse = false) {
    calls.set(callId, {
      id: callId, logs: [], logBytes: 0, logTruncated: false, waits: 0, waited: false,
      response: undefined, completed: undefined, resolveCompleted: undefined,
      waitFailed: false, waitError: undefined, streamResponse,
    });
    const name = `__flux_call_${callId}`;
    const saved = current;
    current = callId;
    lastOwner = callId;
    let result;
    try {
      const input = entry.kind === "web" ? web.requestFromPlain(request) : request;
      const context = entry.kind === "web" ? contextFor(callId, request) : undefined;
      result = { [name]: () => entry.fn(input, context) }[name]();
    } catch (error) {
      current = saved;
      fail(callId, error);
      return;
    }
    current = saved;
    if (result !== null && typeof result === "object" && typeof result.then === "function") {
      // Awaiting inside a function named after the call lets owner() find the call from any
      // continuation of the handler.
      const awaiter = {
        async [name]() {
          return await result;
        },
      }[name];
      awaiter().then(
        (value) => deliver(callId, value),
        (error) => fail(callId, error),
      );
    } else {
      deliver(callId, result);
    }
  }

  /** One crossing: {io: [[opId, ok, value]], timers: [id], cancel: [callId], start: [[callId, req]]}. */
  function step(inputJson) {
    notified = true; // this step returns the outbox: nothing it produces needs a notification
    const began = Date.now();
    const input = inputJson ? parseJSON(inputJson) : {};
    followed = input.follow === true;
    if (input.io) for (const [opId, ok, value] of input.io) settleOp(opId, ok, value);
    if (input.timers) for (const id of input.timers) fireTimer(id);
    if (input.cancel) {
      for (const callId of input.cancel) finish(callId, { cancelled: true });
    }
    if (input.start) {
      for (const [callId, request, stream] of input.start) start(callId, request, stream === true);
    }
    if (input.pull) for (const callId of input.pull) grant(callId);
    if (input.abort) for (const callId of input.abort) abortStream(callId);
    outbox.busyMs = Date.now() - began;
    return flush();
  }

  function flush() {
    const out = outbox;
    outbox = emptyOutbox();
    // Python sends the next step at once after a step that started async calls: what settles
    // in between needs no notification.
    notified = followed;
    followed = false;
    out.inflight = calls.size;
    memory.reclaim();
    return stringify(out);
  }

  /**
   * After a terminated step: ends the calls that ran out of time and the call whose code was
   * cut off (it cannot resume), with the logs they wrote, and returns everything produced so far.
   */
  function recover(expiredJson) {
    const interrupted = current;
    current = null;
    for (const callId of parseJSON(expiredJson)) finish(callId, { cancelled: true });
    if (interrupted !== null) finish(interrupted, { interrupted: true });
    const out = parseJSON(flush());
    out.known = [...calls.keys()];
    return stringify(out);
  }

  function define(target, name, value) {
    const existing = Object.getOwnPropertyDescriptor(target, name);
    if (existing && !existing.configurable) {
      // mini-racer declares `var setTimeout`, which makes a non-configurable (but writable) global.
      target[name] = value;
      return;
    }
    Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
  }

  // A top-level `function handler` or `const handler` of the user's script: resolved through the
  // global scope at call time, which sees lexical declarations of later scripts too.
  function globalHandler() {
    try {
      // eslint-disable-next-line no-undef
      return typeof handler === "function" ? handler : null;
    } catch {
      return null; // declared but not initialised (TDZ)
    }
  }

  const NO_HANDLER =
    "no handler found: define `function handler(req)`, `export default` a function or " +
    "`{ fetch }`, `export function handler`, call `Deno.serve(fn)` or " +
    '`addEventListener("fetch", ...)`';

  /** Checks that loaded user code has an entry point; returns its kind or throws. */
  function checkEntry() {
    // A linked module graph still in its top-level await (codeforms/loader.js) leaves its
    // promise here: calls wait for it, then find the entry (always a module form: a web Request).
    const loading = exportsObject.__flux_loading;
    if (loading !== undefined) {
      delete exportsObject.__flux_loading;
      entry = loadingEntry(loading);
      return entry.kind;
    }
    entry = entryForms.resolve(exportsObject, globalHandler);
    if (entry === null) throw new TypeError(NO_HANDLER);
    return entry.kind;
  }

  function loadingEntry(loading) {
    let resolved = null;
    const ready = loading.then(() => {
      resolved = entryForms.resolve(exportsObject, globalHandler);
      if (resolved === null) throw new TypeError(NO_HANDLER);
      if (resolved.kind !== "web") throw new TypeError("a plain handler(req) cannot follow top-level await");
    });
    ready.catch(() => {}); // each call reports the failure
    const waiting = {
      kind: "web",
      fn: (input, context) =>
        resolved !== null
          ? resolved.fn(input, context)
          : ready.then(() => resolved.fn(input, context)),
    };
    return waiting;
  }

  /** Once, before user code loads: the function's limits, permissions and variables. */
  function configure(json) {
    delete g.__flux_configure;
    outbox = emptyOutbox(); // whatever the boot-time warm-up left
    const settings = parseJSON(json);
    maxLogBytes = settings.maxLogBytes;
    memory.setLimit(settings.bufferLimit);
    deno.configure(settings.env, settings.allowEnv);
    permissions.env = settings.allowEnv;
    permissions.net = settings.allowNet;
    permissions.read = settings.allowRead;
    permissions.write = settings.allowWrite;
    Object.freeze(permissions);
  }

  // Runs the call path once with built-in handlers while the engine boots, so V8 has compiled it
  // before the first real call (lazy compilation otherwise costs that call milliseconds).
  function warmUp() {
    const request = { method: "GET", url: "http://warm.up/", headers: {}, body: "", params: {} };
    const saved = entry;
    try {
      entry = { kind: "plain", fn: () => ({ status: 200, body: "" }) };
      step(stringify({ start: [[-1, request]] }));
      entry = { kind: "plain", fn: async () => "warm" };
      step(stringify({ start: [[-2, request]] }));
    } finally {
      entry = saved;
    }
  }

  Object.defineProperty(g, "__flux_configure", { value: configure, configurable: true });
  Object.defineProperty(g, "__flux_warm_up", {
    value: () => {
      delete g.__flux_warm_up;
      warmUp();
    },
    configurable: true,
  });
  Object.defineProperty(g, "__flux_host", {
    value: Object.freeze({ hostCall, owner, PermissionDenied, NotFound, permissions }),
    configurable: true,
    enumerable: false,
  });
  Object.defineProperty(g, "__flux_step", { value: step, enumerable: false });
  Object.defineProperty(g, "__flux_recover", { value: recover, enumerable: false });
  Object.defineProperty(g, "__flux_check_entry", { value: checkEntry, enumerable: false });
})(globalThis);
