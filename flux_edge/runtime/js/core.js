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
//
// User code shares this realm, so nothing here trusts what it can change: the protocol runs on
// built-ins captured before user code loads (primordials.js), everything it reports is copied into
// null-prototype objects and arrays of own data properties (`plain`), read without getters, with
// well-formed strings (a lone surrogate would break the whole step's JSON), and the three entry
// points Python evaluates demand a secret only Python knows (set at boot in `__flux_secret`), so
// user code can neither call them nor, being non-configurable and non-writable, replace them.
(function (g) {
  "use strict";
  const {
    ReflectApply,
    ReflectOwnKeys,
    ReflectGetOwnPropertyDescriptor,
    ReflectDefineProperty,
    ReflectSetPrototypeOf,
    ObjectFreeze,
    ObjectHasOwn,
    ArrayIsArray,
    ArrayPrototypePush,
    ArrayPrototypeJoin,
    MapPrototypeGet,
    MapPrototypeSet,
    MapPrototypeHas,
    MapPrototypeDelete,
    MapPrototypeForEach,
    MapPrototypeKeys,
    MapPrototypeGetSize,
    MapIteratorPrototypeNext,
    StringPrototypeStartsWith,
    StringPrototypeSlice,
    StringPrototypeToWellFormed,
    RegExpPrototypeTest,
    PromisePrototypeThen,
    PromiseResolve,
    CallSitePrototypeGetFunctionName,
    JSONStringify,
    JSONParse,
    NumberIsFinite,
    NumberIsInteger,
    MathMax,
    MathMin,
    DateNow,
    String,
    Number,
    Promise,
    Map,
    TypeError,
    RangeError,
  } = g.__flux_primordials;
  const secret = g.__flux_secret;
  delete g.__flux_secret;
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

  const stringify = JSONStringify;
  const parseJSON = JSONParse;
  // Captured before user code runs, like the primordials: streamed chunks cross as base64.
  const Uint8ArrayPrototypeToBase64 = g.Uint8Array.prototype.toBase64;
  const OriginalError = g.__flux_primordials.Error;
  // Set by configure() when the isolate is given to a function (isolates boot before that, so a
  // spare with the prelude loaded can take a new function in about a millisecond).
  let maxLogBytes = 256 * 1024;
  const permissions = { net: false, read: false, write: false, env: false };
  // Pending timers of one call; Python holds the same bound (isolate.py MAX_TIMERS_PER_CALL).
  const maxTimers = 1000;
  // What an error report may carry (Python caps it again).
  const maxErrorChars = 64 * 1024;
  const maxDepth = 64;

  // ---- data that cannot be forged ---------------------------------------------------------------
  function list() {
    const array = [];
    ReflectSetPrototypeOf(array, null);
    return array;
  }

  function push(array, value) {
    ArrayPrototypePush(array, value);
  }

  // Null-prototype objects that V8 keeps in fast mode. Object.create(null) and `{__proto__: null}`
  // make dictionary-mode objects (a hash lookup per property, several per call on the step's
  // path); an instance of a class whose prototype has no prototype and no properties has nothing
  // user code can change on its chain either, and gets V8's hidden classes.
  function nullClass(Class) {
    ReflectSetPrototypeOf(Class.prototype, null);
    delete Class.prototype.constructor; // at load, before any user code
    return Class;
  }

  const Record = nullClass(class {});

  function record() {
    return new Record();
  }

  function mapSize(map) {
    return MapPrototypeGetSize(map);
  }

  function firstKey(map) {
    return MapIteratorPrototypeNext(MapPrototypeKeys(map)).value;
  }

  /**
   * A copy of `value` made of null-prototype objects and arrays holding only the own data
   * properties of the original (getters are skipped, never run), with well-formed strings and
   * finite numbers: what JSON.stringify turns into exactly the JSON Python expects, whatever user
   * code did to Object.prototype, Array.prototype or toJSON.
   */
  function plain(value, depth = 0) {
    switch (typeof value) {
      case "string":
        return StringPrototypeToWellFormed(value);
      case "number":
        return NumberIsFinite(value) ? value : null;
      case "boolean":
        return value;
      case "object":
        break;
      default:
        return null;
    }
    if (value === null) return null;
    if (depth > maxDepth) throw new RangeError("a value handed to the runtime is nested too deeply");
    if (ArrayIsArray(value)) {
      const out = list();
      const length = ReflectGetOwnPropertyDescriptor(value, "length").value;
      if (length > 1e6) throw new RangeError("an array handed to the runtime is too long");
      for (let i = 0; i < length; i++) {
        const descriptor = ReflectGetOwnPropertyDescriptor(value, i);
        push(out, descriptor !== undefined && ObjectHasOwn(descriptor, "value")
          ? plain(descriptor.value, depth + 1)
          : null);
      }
      return out;
    }
    const out = record();
    const keys = ReflectOwnKeys(value);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (typeof key !== "string") continue;
      const descriptor = ReflectGetOwnPropertyDescriptor(value, key);
      if (descriptor === undefined || !descriptor.enumerable || !ObjectHasOwn(descriptor, "value")) {
        continue;
      }
      // A plain assignment: nothing is on a record's chain (no setter, no special `__proto__`).
      out[StringPrototypeToWellFormed(key)] = plain(descriptor.value, depth + 1);
    }
    return out;
  }

  function clip(text) {
    return text.length > maxErrorChars
      ? StringPrototypeSlice(text, 0, maxErrorChars) + `\u2026[truncated: ${text.length} characters]`
      : text;
  }

  // ---- calls in flight -------------------------------------------------------------------------
  /** @type {Map<number, {id: number, logs: string[], logBytes: number, logTruncated: boolean}>} */
  const calls = new Map();
  let current = null; // the call whose synchronous code is running, if known
  let lastOwner = null;
  let outbox = emptyOutbox();
  let notified = false;
  let followed = false;

  function emptyOutbox() {
    const out = record();
    out.done = list();
    out.ops = list();
    out.timers = list();
    out.cleared = list();
    out.heads = list();
    out.chunks = list();
    out.busyMs = 0;
    return out;
  }

  function ownerFromStack() {
    const savedLimit = OriginalError.stackTraceLimit;
    const savedPrepare = OriginalError.prepareStackTrace;
    let frames = null;
    try {
      OriginalError.stackTraceLimit = 200;
      OriginalError.prepareStackTrace = (_, callSites) => callSites;
      const holder = record();
      OriginalError.captureStackTrace(holder, ownerFromStack);
      frames = holder.stack; // an own accessor V8 defined, not user code
    } catch {
      frames = null;
    } finally {
      OriginalError.stackTraceLimit = savedLimit;
      OriginalError.prepareStackTrace = savedPrepare;
    }
    if (!ArrayIsArray(frames)) return null;
    for (let i = 0; i < frames.length; i++) {
      let name = null;
      try {
        name = CallSitePrototypeGetFunctionName(frames[i]);
      } catch {
        continue;
      }
      if (typeof name === "string" && StringPrototypeStartsWith(name, "__flux_call_")) {
        const id = Number(StringPrototypeSlice(name, 12));
        if (MapPrototypeHas(calls, id)) return id;
      }
    }
    return null;
  }

  // The call an effect belongs to: the running one, else the awaiting one, else the only one.
  function owner() {
    if (current !== null) return current;
    const size = mapSize(calls);
    if (size === 1) return firstKey(calls);
    if (size === 0) return null;
    const found = ownerFromStack();
    if (found !== null) return found;
    return MapPrototypeHas(calls, lastOwner) ? lastOwner : firstKey(calls);
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
    const call = MapPrototypeGet(calls, id);
    if (!call || call.logTruncated) return;
    const line = `console.${level}: ${String(formatArgs(args))}`;
    if (call.logBytes + line.length > maxLogBytes) {
      call.logTruncated = true;
      push(call.logs, `console.${level}: \u2026[log truncated: more than ${maxLogBytes} bytes]`);
      return;
    }
    call.logBytes += line.length + 1;
    push(call.logs, line);
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
    let id = callId !== undefined && MapPrototypeHas(calls, callId) ? callId : owner();
    // WebCrypto belongs to no call (it outlives none and touches nothing outside the isolate), so
    // top-level code may import keys too: its operations run as call 0.
    if (id === null && typeof kind === "string" && StringPrototypeStartsWith(kind, "crypto.")) id = 0;
    if (id === null) return Promise.reject(new TypeError(`${kind} is only available during a call`));
    let copy;
    try {
      copy = plain(payload);
    } catch (error) {
      return Promise.reject(error);
    }
    const opId = nextOpId++;
    return new Promise((resolve, reject) => {
      MapPrototypeSet(pendingOps, opId, { __proto__: null, resolve, reject, call: id });
      const entry = list();
      push(entry, opId);
      push(entry, id);
      push(entry, String(kind));
      push(entry, copy);
      push(outbox.ops, entry);
      wake();
    });
  }

  function settleOp(opId, ok, value) {
    const op = MapPrototypeGet(pendingOps, opId);
    if (!op) return;
    MapPrototypeDelete(pendingOps, opId);
    if (ok) op.resolve(value);
    else {
      const type = String(value.type);
      const Class = type === "TypeError" ? TypeError : type === "RangeError" ? RangeError : OriginalError;
      const error = new Class(String(value.message));
      if (Class === OriginalError) error.name = type;
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
    const state = MapPrototypeGet(calls, call);
    if (state.timers >= maxTimers) {
      throw new RangeError(`more than ${maxTimers} pending timers in one call`);
    }
    state.timers++;
    const id = nextTimerId++;
    const ms = MathMax(0, MathMin(Number(delay) || 0, 2147483647));
    MapPrototypeSet(timers, id, { __proto__: null, callback, args, repeat, ms, call });
    pushTimer(id, ms, call);
    wake();
    return id;
  }

  function pushTimer(id, ms, callId) {
    const entry = list();
    push(entry, id);
    push(entry, ms);
    push(entry, callId);
    push(outbox.timers, entry);
  }

  function forgetTimer(id, timer) {
    MapPrototypeDelete(timers, id);
    const state = MapPrototypeGet(calls, timer.call);
    if (state) state.timers--;
  }

  function clearTimer(id) {
    const timer = MapPrototypeGet(timers, id);
    if (timer === undefined) return;
    forgetTimer(id, timer);
    push(outbox.cleared, id);
  }

  function fireTimer(id) {
    const timer = MapPrototypeGet(timers, id);
    if (!timer) return;
    if (!MapPrototypeHas(calls, timer.call)) {
      MapPrototypeDelete(timers, id);
      return;
    }
    if (timer.repeat) pushTimer(id, timer.ms, timer.call);
    else {
      forgetTimer(id, timer);
      push(outbox.cleared, id); // Python counts it against its call until told
    }
    runAs(timer.call, () => ReflectApply(timer.callback, undefined, timer.args));
  }

  // Drops the timers of a call that ended, so they never run into a later call.
  function dropTimersOf(callId) {
    MapPrototypeForEach(timers, (timer, id) => {
      if (timer.call === callId) {
        MapPrototypeDelete(timers, id);
        push(outbox.cleared, id);
      }
    });
  }

  define(g, "setTimeout", (callback, delay, ...args) => armTimer(callback, delay, args, false));
  define(g, "setInterval", (callback, delay, ...args) => armTimer(callback, delay, args, true));
  define(g, "clearTimeout", (id) => clearTimer(id));
  define(g, "clearInterval", (id) => clearTimer(id));
  define(g, "queueMicrotask", (callback) => {
    if (typeof callback !== "function") throw new TypeError("queueMicrotask needs a function");
    PromisePrototypeThen(PromiseResolve(), () => callback());
  });
  // mini-racer's own setTimeout schedules work outside our steps; it must not be reachable.
  // (its `var __timer_manager` cannot be deleted, only emptied; without Atomics.waitAsync its class
  // can schedule nothing)
  g.__timer_manager = undefined;
  if (g.Atomics) delete g.Atomics.waitAsync;
  // Finalizer callbacks would run outside any step, where no time limit applies.
  delete g.FinalizationRegistry;

  memory.onBreach(() => {
    const call = MapPrototypeGet(calls, owner());
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

  // What a thrown value says about itself: its getters are user code, so they may throw too.
  function errorInfo(error) {
    const info = record();
    try {
      if (error instanceof OriginalError || (error && typeof error.message === "string")) {
        const type = String(error.name || "Error");
        info.message = clip(`${type}: ${String(error.message)}`);
        info.stack = clip(String(error.stack || ""));
      } else {
        info.message = clip(`Uncaught: ${String(formatValue(error, 1, new Set()))}`);
        info.stack = "";
      }
    } catch {
      info.message = "Uncaught: a value that could not be described (reading it threw)";
      info.stack = "";
    }
    info.message = StringPrototypeToWellFormed(info.message);
    info.stack = StringPrototypeToWellFormed(info.stack);
    return info;
  }

  /** Reports a call as ended; `payload` is a record() built by this file (a response in it is
   * copied with plain(), so nothing of it is user code by the time it is serialized). */
  function finish(callId, payload) {
    const call = MapPrototypeGet(calls, callId);
    if (!call) return;
    if (call.reader && !call.ended) {
      // A streamed body that did not end (timeout, client gone): the function's stream is
      // cancelled, so its cancel() runs (its console lines still count) and its producer stops.
      call.ended = true;
      const saved = current;
      current = callId;
      try {
        PromisePrototypeThen(
          call.reader.cancel(new OriginalError("the response stream was cancelled")),
          undefined,
          () => {},
        );
      } catch {
        // the function's cancel() threw: the call ends all the same
      } finally {
        current = saved;
      }
    }
    if (ObjectHasOwn(payload, "response")) {
      try {
        payload.response = plain(payload.response);
      } catch (error) {
        payload = record();
        payload.error = errorInfo(error);
      }
    }
    MapPrototypeDelete(calls, callId);
    dropTimersOf(callId);
    MapPrototypeForEach(pendingOps, (op, opId) => {
      if (op.call === callId) MapPrototypeDelete(pendingOps, opId);
    });
    payload.logs = StringPrototypeToWellFormed(ArrayPrototypeJoin(call.logs, "\n"));
    if (call.memoryBreached && !ObjectHasOwn(payload, "limit")) {
      // The call caught the RangeError and carried on: it still broke its memory limit.
      const info = record();
      info.message = `RangeError: ${memory.breachMessage()}`;
      info.stack = "";
      payload.error = info;
      delete payload.response;
      payload.limit = "memory";
    }
    const entry = list();
    push(entry, callId);
    push(entry, payload);
    push(outbox.done, entry);
    wake();
  }

  function ended(key) {
    const payload = record();
    payload[key] = true;
    return payload;
  }

  function failure(error, prefix = "") {
    const info = errorInfo(error);
    const limited = error instanceof RangeError &&
      RegExpPrototypeTest(/^RangeError: Memory limit exceeded/, info.message);
    info.message = prefix + info.message;
    if (info.stack) info.stack = prefix + info.stack;
    const payload = record();
    payload.error = info;
    if (limited) {
      payload.limit = "memory";
    }
    return payload;
  }

  function fail(callId, error) {
    if (MapPrototypeHas(calls, callId)) finish(callId, failure(error));
  }

  // ---- work after the response: waitUntil, info.completed ------------------------------------------
  // A call that used either answers as soon as its response is ready (a `pending` entry, no logs)
  // and ends when the work passed to waitUntil has settled (a `background` entry with every log
  // line and the first failure), within the call's deadline, which Python keeps.
  function keepAlive(callId, promise) {
    const call = MapPrototypeGet(calls, callId);
    if (!call) throw new TypeError("waitUntil() can only be called while the call is running");
    call.waits += 1;
    call.waited = true;
    PromisePrototypeThen(
      PromiseResolve(promise),
      () => settleWait(callId, false, undefined),
      (error) => settleWait(callId, true, error),
    );
  }

  function settleWait(callId, failed, error) {
    const call = MapPrototypeGet(calls, callId);
    if (!call) return;
    if (failed && !call.waitFailed) {
      call.waitFailed = true;
      call.waitError = error;
    }
    call.waits -= 1;
    if (call.waits === 0 && call.response !== undefined) {
      const payload = call.waitFailed ? failure(call.waitError, "waitUntil: ") : record();
      payload.background = true;
      finish(callId, payload);
    }
  }

  // Deno.serve's `info.completed`, made on first use: it settles once the response is ready.
  function completedOf(callId) {
    const call = MapPrototypeGet(calls, callId);
    if (!call) return PromiseResolve();
    call.completed ??= new Promise((resolve) => (call.resolveCompleted = resolve));
    return call.completed;
  }

  function respond(callId, response) {
    const call = MapPrototypeGet(calls, callId);
    if (!call) return;
    const payload = record();
    payload.response = response;
    if (!call.waited && call.completed === undefined) {
      finish(callId, payload);
      return;
    }
    try {
      payload.response = plain(response);
    } catch (error) {
      fail(callId, error);
      return;
    }
    call.response = response;
    payload.pending = true;
    const entry = list();
    push(entry, callId);
    push(entry, payload);
    push(outbox.done, entry);
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
    const call = MapPrototypeGet(calls, callId);
    call.reader = head.reader;
    call.credit = 0;
    call.reading = false;
    call.ended = false;
    const shown = record();
    shown.status = head.status;
    shown.headers = head.headers;
    const entry = list();
    push(entry, callId);
    push(entry, plain(shown));
    push(outbox.heads, entry);
    wake();
  }

  function pump(callId) {
    const call = MapPrototypeGet(calls, callId);
    if (!call || call.ended || call.reading || call.credit <= 0) return;
    call.reading = true;
    PromisePrototypeThen(
      runAs(callId, () => call.reader.read()),
      (chunk) => {
        call.reading = false;
        if (!MapPrototypeHas(calls, callId) || call.ended) return;
        if (chunk === null) {
          call.ended = true;
          finish(callId, ended("end"));
          return;
        }
        call.credit -= 1;
        if (chunk.length > 0) {
          const entry = list();
          push(entry, callId);
          push(entry, ReflectApply(Uint8ArrayPrototypeToBase64, chunk, []));
          push(outbox.chunks, entry);
        } else {
          call.credit += 1; // an empty chunk sends nothing: read on
        }
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
    const call = MapPrototypeGet(calls, callId);
    if (!call || !call.reader) return;
    call.credit += 1;
    pump(callId);
  }

  // The client went away: the stream is cancelled and the call ends normally.
  function abortStream(callId) {
    const call = MapPrototypeGet(calls, callId);
    if (!call || !call.reader) return;
    const payload = ended("end");
    payload.aborted = true;
    finish(callId, payload);
  }

  // ---- results -----------------------------------------------------------------------------------
  function deliver(callId, value) {
    const call = MapPrototypeGet(calls, callId);
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
    if (response instanceof Promise) {
      PromisePrototypeThen(response, (plainValue) => respond(callId, plainValue), (error) => fail(callId, error));
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

  // A running call's state (fast mode, nothing on its chain: see `nullClass`).
  const CallState = nullClass(class {
    constructor(id, streamResponse) {
      this.id = id;
      this.logs = list();
      this.logBytes = 0;
      this.logTruncated = false;
      this.memoryBreached = false;
      this.timers = 0;
      this.waits = 0;
      this.waited = false;
      this.response = undefined;
      this.completed = undefined;
      this.resolveCompleted = undefined;
      this.waitFailed = false;
      this.waitError = undefined;
      this.streamResponse = streamResponse;
      this.reader = undefined;
      this.credit = 0;
      this.reading = false;
      this.ended = false;
    }
  });

  // A function named after its call, as stack traces report it (V8 takes a function's own `name`).
  // Computed keys (`{ [name]: ... }[name]`) did the same with a new hidden class for every call.
  const nameDescriptor = record();
  nameDescriptor.configurable = true;

  function named(fn, name) {
    nameDescriptor.value = name;
    ReflectDefineProperty(fn, "name", nameDescriptor);
    return fn;
  }

  function start(callId, request, streamResponse = false) {
    MapPrototypeSet(calls, callId, new CallState(callId, streamResponse));
    const name = `__flux_call_${callId}`;
    const saved = current;
    current = callId;
    lastOwner = callId;
    let result;
    try {
      const input = entry.kind === "web" ? web.requestFromPlain(request) : request;
      const context = entry.kind === "web" ? contextFor(callId, request) : undefined;
      result = named(() => entry.fn(input, context), name)();
    } catch (error) {
      current = saved;
      fail(callId, error);
      return;
    }
    current = saved;
    if (result !== null && typeof result === "object" && typeof result.then === "function") {
      // Awaiting inside a function named after the call lets owner() find the call from any
      // continuation of the handler.
      const awaiter = named(async () => await result, name);
      PromisePrototypeThen(
        awaiter(),
        (value) => deliver(callId, value),
        (error) => fail(callId, error),
      );
    } else {
      deliver(callId, result);
    }
  }

  // A field of Python's parsed input: own properties only (Object.prototype may have getters).
  function field(input, name) {
    return ObjectHasOwn(input, name) ? input[name] : undefined;
  }

  /** One crossing: {io: [[opId, ok, value]], timers: [id], cancel: [callId], start: [[callId, req]]}. */
  function step(inputJson) {
    notified = true; // this step returns the outbox: nothing it produces needs a notification
    const began = DateNow();
    const input = inputJson ? parseJSON(inputJson) : record();
    followed = field(input, "follow") === true;
    const io = field(input, "io");
    if (io) for (let i = 0; i < io.length; i++) settleOp(io[i][0], io[i][1], io[i][2]);
    const due = field(input, "timers");
    if (due) for (let i = 0; i < due.length; i++) fireTimer(due[i]);
    const cancel = field(input, "cancel");
    if (cancel) for (let i = 0; i < cancel.length; i++) finish(cancel[i], ended("cancelled"));
    const started = field(input, "start");
    if (started) {
      for (let i = 0; i < started.length; i++) {
        start(started[i][0], started[i][1], started[i][2] === true);
      }
    }
    const pull = field(input, "pull");
    if (pull) for (let i = 0; i < pull.length; i++) grant(pull[i]);
    const abort = field(input, "abort");
    if (abort) for (let i = 0; i < abort.length; i++) abortStream(abort[i]);
    outbox.busyMs = DateNow() - began;
    return flush();
  }

  function flush() {
    const out = outbox;
    outbox = emptyOutbox();
    // Python sends the next step at once after a step that started async calls: what settles
    // in between needs no notification.
    notified = followed;
    followed = false;
    out.inflight = mapSize(calls);
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
    const expired = parseJSON(expiredJson);
    for (let i = 0; i < expired.length; i++) finish(expired[i], ended("cancelled"));
    if (interrupted !== null) finish(interrupted, ended("interrupted"));
    const known = list();
    MapPrototypeForEach(calls, (_, callId) => push(known, callId));
    const out = outbox;
    out.known = known;
    return flush();
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
      entry = { kind: "plain", fn: () => ({ status: 200, body: "", headers: { a: "b" } }) };
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
  // The entry points Python evaluates: non-writable and non-configurable (so user code can neither
  // replace them nor declare a global of the same name), and useless without Python's secret.
  function guarded(fn) {
    return (token, ...args) => {
      if (token !== secret) throw new TypeError("this function is reserved for the runtime");
      return ReflectApply(fn, undefined, args);
    };
  }
  for (const [name, fn] of [
    ["__flux_step", step],
    ["__flux_recover", recover],
    ["__flux_check_entry", checkEntry],
  ]) {
    ReflectDefineProperty(g, name, {
      __proto__: null,
      value: ObjectFreeze(guarded(fn)),
      writable: false,
      configurable: false,
      enumerable: false,
    });
  }
})(globalThis);
