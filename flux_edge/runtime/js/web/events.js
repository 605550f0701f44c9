// Event, CustomEvent, EventTarget, AbortController and AbortSignal (WHATWG DOM).
// There is no node tree here: dispatch reaches only the target itself.
(function (global) {
  "use strict";

  const { defineInterface, requireArguments, uncloneable } = global.__flux_webutil;

  const DOMExceptionCtor = global.DOMException;
  let isTrustedGetter;
  const NONE = 0,
    CAPTURING_PHASE = 1,
    AT_TARGET = 2,
    BUBBLING_PHASE = 3;

  // Looked up at call time: performance.js and core.js (console) load after this file.
  const currentTime = () => (typeof global.performance?.now === "function" ? global.performance.now() : 0);
  const reportListenerError = (error) => {
    const console = global.console;
    if (console !== undefined && typeof console.error === "function") console.error(error);
  };

  // The dispatch algorithm needs to write an event's internal flags; assigned in Event's static block.
  let eventInternals;

  class Event {
    #type;
    static {
      uncloneable.push((value) => value !== null && typeof value === "object" && #type in value);
    }
    #bubbles;
    #cancelable;
    #composed;
    #timeStamp = currentTime();
    #target = null;
    #currentTarget = null;
    #phase = NONE;
    #isTrusted = false;
    #dispatching = false;
    #canceled = false;
    #inPassiveListener = false;
    #stopPropagation = false;
    #stopImmediatePropagation = false;

    constructor(type, eventInitDict = {}) {
      requireArguments(arguments.length, 1, "Event");
      // [LegacyUnforgeable]: an own, non-configurable accessor on each event, one getter for all.
      Object.defineProperty(this, "isTrusted", { get: isTrustedGetter, enumerable: true, configurable: false });
      const init = eventInitDict ?? {};
      this.#type = String(type);
      this.#bubbles = Boolean(init.bubbles);
      this.#cancelable = Boolean(init.cancelable);
      this.#composed = Boolean(init.composed);
    }

    static {
      eventInternals = {
        isDispatching: (event) => event.#dispatching,
        stopsPropagation: (event) => event.#stopPropagation,
        stopsImmediately: (event) => event.#stopImmediatePropagation,
        trust: (event) => {
          event.#isTrusted = true;
        },
        begin: (event, target) => {
          event.#dispatching = true;
          event.#target = event.#currentTarget = target;
          event.#phase = AT_TARGET;
        },
        setPassive: (event, passive) => {
          event.#inPassiveListener = passive;
        },
        end: (event) => {
          event.#dispatching = false;
          event.#currentTarget = null;
          event.#phase = NONE;
          event.#stopPropagation = event.#stopImmediatePropagation = false;
        },
      };
    }

    get type() {
      return this.#type;
    }
    get target() {
      return this.#target;
    }
    get srcElement() {
      return this.#target;
    }
    get currentTarget() {
      return this.#currentTarget;
    }
    get eventPhase() {
      return this.#phase;
    }
    get bubbles() {
      return this.#bubbles;
    }
    get cancelable() {
      return this.#cancelable;
    }
    get composed() {
      return this.#composed;
    }
    static {
      isTrustedGetter = {
        get isTrusted() {
          return this.#isTrusted;
        },
      };
      isTrustedGetter = Object.getOwnPropertyDescriptor(isTrustedGetter, "isTrusted").get;
    }
    get timeStamp() {
      return this.#timeStamp;
    }
    get defaultPrevented() {
      return this.#canceled;
    }
    get returnValue() {
      return !this.#canceled;
    }

    set returnValue(value) {
      if (!value) this.preventDefault();
    }

    get cancelBubble() {
      return this.#stopPropagation;
    }

    set cancelBubble(value) {
      if (value) this.#stopPropagation = true;
    }

    composedPath() {
      return this.#dispatching ? [this.#currentTarget] : [];
    }

    stopPropagation() {
      this.#stopPropagation = true;
    }

    stopImmediatePropagation() {
      this.#stopPropagation = this.#stopImmediatePropagation = true;
    }

    preventDefault() {
      if (this.#cancelable && !this.#inPassiveListener) this.#canceled = true;
    }
  }

  class CustomEvent extends Event {
    #detail;

    constructor(type, eventInitDict = {}) {
      requireArguments(arguments.length, 1, "CustomEvent");
      super(type, eventInitDict);
      this.#detail = (eventInitDict ?? {}).detail ?? null;
    }

    get detail() {
      return this.#detail;
    }
  }

  for (const ctor of [Event, Event.prototype]) {
    Object.entries({ NONE, CAPTURING_PHASE, AT_TARGET, BUBBLING_PHASE }).forEach(([name, value]) =>
      Object.defineProperty(ctor, name, { value, enumerable: true }),
    );
  }

  // AddEventListenerOptions (members read in lexicographic order: capture, once, passive,
  // signal); removeEventListener's EventListenerOptions has only `capture`. An explicit null
  // signal is a TypeError (the member is not nullable), undefined means none.
  const isOptionsObject = (options) => options !== null && (typeof options === "object" || typeof options === "function");
  const flattenOptions = (options) => {
    if (!isOptionsObject(options)) return { capture: Boolean(options), once: false, passive: false, signal: null };
    const capture = Boolean(options.capture);
    const once = Boolean(options.once);
    const passive = Boolean(options.passive);
    const signal = options.signal;
    if (signal === null) throw new TypeError("addEventListener: 'signal' is not an AbortSignal.");
    return { capture, once, passive, signal: signal ?? null };
  };
  const captureOption = (options) => Boolean(isOptionsObject(options) ? options.capture : options);

  // AbortSignal's internals, assigned in its static block; EventTarget uses them for `signal`.
  let signalInternals;

  class EventTarget {
    // type -> listeners in registration order; a removed listener is flagged so a dispatch
    // already walking a snapshot of the list skips it.
    #listeners = new Map();
    static {
      uncloneable.push((value) => value !== null && typeof value === "object" && #listeners in value);
    }

    addEventListener(type, callback, options = undefined) {
      requireArguments(arguments.length, 2, "addEventListener");
      const { capture, once, passive, signal } = flattenOptions(options);
      if (signal !== null && !(signal instanceof AbortSignal)) {
        throw new TypeError("addEventListener: 'signal' is not an AbortSignal.");
      }
      if (callback !== null && typeof callback !== "function" && typeof callback !== "object") {
        throw new TypeError("addEventListener: the listener must be a function or an object.");
      }
      if (callback === null || callback === undefined || (signal !== null && signal.aborted)) return;
      const name = String(type);
      const listeners = this.#listeners.get(name) ?? [];
      if (listeners.some((entry) => entry.callback === callback && entry.capture === capture)) return;
      const entry = { callback, capture, once, passive, removed: false };
      listeners.push(entry);
      this.#listeners.set(name, listeners);
      if (signal !== null) signalInternals.onAbort(signal, () => this.#remove(name, entry));
    }

    removeEventListener(type, callback, options = undefined) {
      requireArguments(arguments.length, 2, "removeEventListener");
      const capture = captureOption(options);
      const name = String(type);
      const entry = (this.#listeners.get(name) ?? []).find(
        (item) => item.callback === callback && item.capture === capture,
      );
      if (entry !== undefined) this.#remove(name, entry);
    }

    dispatchEvent(event) {
      requireArguments(arguments.length, 1, "dispatchEvent");
      if (!(event instanceof Event))
        throw new TypeError("dispatchEvent: parameter 1 is not of type 'Event'.");
      if (eventInternals.isDispatching(event)) {
        throw new DOMExceptionCtor("The event is already being dispatched.", "InvalidStateError");
      }
      eventInternals.begin(event, this);
      try {
        // With no tree the target is the whole path: capture listeners run, then the others, and
        // stopPropagation() in the first pass skips the second, as at a target in a tree.
        const snapshot = [...(this.#listeners.get(event.type) ?? [])];
        for (const capturePass of [true, false]) {
          if (eventInternals.stopsPropagation(event)) break;
          for (const entry of snapshot) {
            if (entry.capture !== capturePass || entry.removed) continue;
            if (entry.once) this.#remove(event.type, entry);
            this.#invoke(entry, event);
            if (eventInternals.stopsImmediately(event)) return !event.defaultPrevented;
          }
        }
        return !event.defaultPrevented;
      } finally {
        eventInternals.end(event);
      }
    }

    #invoke(entry, event) {
      eventInternals.setPassive(event, entry.passive);
      try {
        const { callback } = entry;
        if (typeof callback === "function") {
          callback.call(this, event);
        } else {
          const handleEvent = callback.handleEvent;
          if (typeof handleEvent !== "function")
            throw new TypeError("The listener's 'handleEvent' is not a function.");
          handleEvent.call(callback, event);
        }
      } catch (error) {
        // The standard "reports" listener errors instead of letting them escape dispatchEvent.
        reportListenerError(error);
      } finally {
        eventInternals.setPassive(event, false);
      }
    }

    #remove(type, entry) {
      entry.removed = true;
      const listeners = this.#listeners.get(type);
      if (listeners === undefined) return;
      const index = listeners.indexOf(entry);
      if (index >= 0) listeners.splice(index, 1);
      if (listeners.length === 0) this.#listeners.delete(type);
    }
  }

  const defaultAbortReason = () => new DOMExceptionCtor("signal is aborted without reason", "AbortError");
  const CONSTRUCT_SIGNAL = Symbol("AbortSignal construction");

  class AbortSignal extends EventTarget {
    #aborted = false;
    #reason = undefined;
    #algorithms = [];
    // Dependent signals from AbortSignal.any(). They are held strongly (the standard says weakly):
    // a dependent signal then lives as long as its sources, which are request-scoped in practice.
    #dependents = [];
    #sources = [];
    #isDependent = false;
    #onabort = null;
    #onabortListener = null;

    constructor(token = undefined) {
      if (token !== CONSTRUCT_SIGNAL) throw new TypeError("Illegal constructor");
      super();
    }

    static {
      signalInternals = {
        onAbort: (signal, algorithm) => {
          signal.#algorithms.push(algorithm);
        },
        signalAbort: (signal, reason) => signal.#signalAbort(reason),
        isSignal: (value) => value !== null && typeof value === "object" && #aborted in value,
        offAbort: (signal, algorithm) => {
          const index = signal.#algorithms.indexOf(algorithm);
          if (index >= 0) signal.#algorithms.splice(index, 1);
        },
      };
    }

    static abort(reason = undefined) {
      const signal = new AbortSignal(CONSTRUCT_SIGNAL);
      signal.#aborted = true;
      signal.#reason = reason === undefined ? defaultAbortReason() : reason;
      return signal;
    }

    static timeout(milliseconds) {
      requireArguments(arguments.length, 1, "timeout");
      const delay = Number(milliseconds);
      if (!Number.isFinite(delay) || delay < 0 || delay > Number.MAX_SAFE_INTEGER) {
        throw new TypeError("AbortSignal.timeout: milliseconds must be a finite, non-negative number.");
      }
      const setTimer = global.setTimeout; // timers come from core.js, which loads later
      if (typeof setTimer !== "function")
        throw new TypeError("AbortSignal.timeout needs setTimeout, which is not available.");
      const signal = new AbortSignal(CONSTRUCT_SIGNAL);
      setTimer(
        () => signal.#signalAbort(new DOMExceptionCtor("signal timed out", "TimeoutError")),
        Math.trunc(delay),
      );
      return signal;
    }

    static any(signals) {
      requireArguments(arguments.length, 1, "any");
      const inputs = [...signals];
      for (const input of inputs) {
        if (!(input instanceof AbortSignal))
          throw new TypeError("AbortSignal.any: every item must be an AbortSignal.");
      }
      const result = new AbortSignal(CONSTRUCT_SIGNAL);
      const abortedInput = inputs.find((input) => input.#aborted);
      if (abortedInput !== undefined) {
        result.#aborted = true;
        result.#reason = abortedInput.#reason;
        return result;
      }
      result.#isDependent = true;
      // Link straight to the non-dependent sources, so chains of any() stay one level deep.
      for (const input of inputs) {
        for (const source of input.#isDependent ? input.#sources : [input]) {
          if (result.#sources.includes(source)) continue;
          result.#sources.push(source);
          source.#dependents.push(result);
        }
      }
      return result;
    }

    get aborted() {
      return this.#aborted;
    }

    get reason() {
      return this.#reason;
    }

    throwIfAborted() {
      if (this.#aborted) throw this.#reason;
    }

    get onabort() {
      return this.#onabort;
    }

    // An event handler attribute: its listener keeps the position of the first non-null value.
    set onabort(handler) {
      this.#onabort =
        typeof handler === "function" || (handler !== null && typeof handler === "object") ? handler : null;
      if (this.#onabort !== null && this.#onabortListener === null) {
        this.#onabortListener = (event) => {
          const current = this.#onabort;
          if (typeof current === "function") current.call(this, event);
        };
        this.addEventListener("abort", this.#onabortListener);
      }
    }

    // "signal abort": the reason is set on every dependent first, then each runs its abort steps.
    #signalAbort(reason) {
      if (this.#aborted) return;
      this.#aborted = true;
      this.#reason = reason === undefined ? defaultAbortReason() : reason;
      const dependentsToAbort = this.#dependents.filter((dependent) => !dependent.#aborted);
      for (const dependent of dependentsToAbort) {
        dependent.#aborted = true;
        dependent.#reason = this.#reason;
      }
      this.#runAbortSteps();
      for (const dependent of dependentsToAbort) dependent.#runAbortSteps();
    }

    #runAbortSteps() {
      const algorithms = this.#algorithms;
      this.#algorithms = [];
      for (const algorithm of algorithms) algorithm();
      const event = new Event("abort");
      eventInternals.trust(event);
      this.dispatchEvent(event);
    }
  }

  class AbortController {
    #signal = new AbortSignal(CONSTRUCT_SIGNAL);

    get signal() {
      return this.#signal;
    }

    abort(reason = undefined) {
      signalInternals.signalAbort(this.#signal, reason);
    }
  }

  defineInterface("Event", Event);
  defineInterface("CustomEvent", CustomEvent);
  defineInterface("EventTarget", EventTarget);
  defineInterface("AbortSignal", AbortSignal);
  defineInterface("AbortController", AbortController);
  // Abort algorithms (the standard's, run before the abort event) for the streams files, which
  // take this when the prelude loads; webapi.py's lazy loader deletes the global.
  Object.defineProperty(global, "__flux_abort", {
    value: Object.freeze({
      onAbort: signalInternals.onAbort,
      offAbort: signalInternals.offAbort,
      isSignal: signalInternals.isSignal,
    }),
    configurable: true,
  });
})(globalThis);
