// The entry forms a function may use, and what each one is given (docs/code-forms.md, "Entry
// forms"). Only the reference's top-level `handler(req)` gets the plain FunctionRequest object;
// every module and serve form gets a web Request:
//   export default function (request)              export [async] function handler(request)
//   export default { fetch(request, env, ctx) }    Deno.serve(handler | options, handler | {handler})
//   addEventListener("fetch", (event) => event.respondWith(response))
// Loaded after deno.js, before core.js, which takes `__flux_entry` and removes it.
(function (g) {
  "use strict";
  const OriginalError = Error;
  const EventBase = g.Event;
  const EventTargetBase = g.EventTarget;
  const deno = g.__flux_deno;
  const apply = Reflect.apply;

  // ---- the service-worker form: addEventListener("fetch", ...) on the global scope -------------
  const fetchListeners = [];
  const otherEvents = new EventTargetBase(); // other event types behave as on any EventTarget

  function define(name, value) {
    Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
  }

  define("addEventListener", function addEventListener(type, listener, options) {
    if (String(type) !== "fetch") return otherEvents.addEventListener(type, listener, options);
    if (listener === null || listener === undefined) return undefined;
    if (typeof listener !== "function" && typeof listener !== "object") {
      throw new TypeError("addEventListener: the listener must be a function or an object.");
    }
    if (!fetchListeners.includes(listener)) fetchListeners.push(listener);
    return undefined;
  });
  define("removeEventListener", function removeEventListener(type, listener, options) {
    if (String(type) !== "fetch") return otherEvents.removeEventListener(type, listener, options);
    const index = fetchListeners.indexOf(listener);
    if (index >= 0) fetchListeners.splice(index, 1);
    return undefined;
  });

  const RESPOND = Symbol("respond");

  class FetchEvent extends EventBase {
    #request;
    #context;
    #response = undefined;
    #responded = false;

    constructor(type, init) {
      super(type, init);
      const context = init && init[RESPOND];
      if (!context) throw new TypeError("Illegal constructor");
      this.#request = init.request;
      this.#context = context;
    }

    get request() {
      return this.#request;
    }

    respondWith(response) {
      if (this.#responded) {
        throw new g.DOMException("respondWith() was already called", "InvalidStateError");
      }
      this.#responded = true;
      this.#response = response;
    }

    waitUntil(promise) {
      this.#context.ctx.waitUntil(promise);
    }

    passThroughOnException() {}

    static responseOf(event) {
      return event.#responded ? { value: event.#response } : null;
    }
  }
  const responseOf = FetchEvent.responseOf;
  delete FetchEvent.responseOf;
  define("FetchEvent", FetchEvent);

  function dispatchFetch(request, context) {
    const event = new FetchEvent("fetch", { request, [RESPOND]: context });
    for (const listener of [...fetchListeners]) {
      if (typeof listener === "function") apply(listener, g, [event]);
      else if (typeof listener.handleEvent === "function") apply(listener.handleEvent, listener, [event]);
      else throw new TypeError("a fetch listener's 'handleEvent' is not a function");
      const answered = responseOf(event);
      if (answered) return answered.value;
    }
    throw new OriginalError("the fetch event listener did not call event.respondWith()");
  }

  // ---- what a call gets besides its request ------------------------------------------------------
  /**
   * `env` and `ctx` for `export default { fetch(request, env, ctx) }` (Workers), `info` for
   * Deno.serve handlers. `waitUntil(promise)` keeps the call running after its response;
   * `completed()` makes the promise `info.completed` is (core.js).
   */
  function callContext(remote, waitUntil, completed) {
    const ctx = { waitUntil, passThroughOnException() {}, props: {} };
    const remoteAddr = {
      transport: "tcp",
      hostname: remote ? remote[0] : "0.0.0.0",
      port: remote ? remote[1] : 0,
    };
    const info = {
      remoteAddr,
      get completed() {
        return completed();
      },
    };
    return { env: deno.envObject(), ctx, info };
  }

  // ---- resolution ------------------------------------------------------------------------------
  /**
   * The entry point of loaded user code: {kind, fn(input, context)} or null. `kind` is "plain"
   * (input is the reference's FunctionRequest object) or "web" (input is a web Request); `context`
   * is the call's {env, ctx, info} (`callContext`).
   */
  function resolve(exportsObject, globalHandler) {
    const candidate = exportsObject.default;
    if (typeof candidate === "function") {
      return { kind: "web", fn: (request) => candidate(request) };
    }
    if (candidate && typeof candidate === "object" && typeof candidate.fetch === "function") {
      return { kind: "web", fn: (request, context) => candidate.fetch(request, context.env, context.ctx) };
    }
    const exported = exportsObject.handler;
    if (typeof exported === "function") return { kind: "web", fn: (request) => exported(request) };
    const served = deno.served();
    if (served) return { kind: "web", fn: (request, context) => served(request, context.info) };
    if (fetchListeners.length) return { kind: "web", fn: dispatchFetch };
    const fn = globalHandler();
    if (fn) return { kind: "plain", fn: (request) => fn(request) };
    return null;
  }

  Object.defineProperty(g, "__flux_entry", {
    value: Object.freeze({ resolve, callContext }),
    configurable: true,
  });
})(globalThis);
