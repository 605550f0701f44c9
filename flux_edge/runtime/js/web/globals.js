// What Deno and workerd put on the global scope beyond the web APIs' own files: `self` (the
// global object), `navigator`, ErrorEvent and reportError (HTML).
(function (global) {
  "use strict";

  const { defineGlobal, defineInterface, requireArguments } = global.__flux_webutil;
  const { Object, String, Number, Event } = global;
  const ILLEGAL = Symbol("illegal");

  class ErrorEvent extends Event {
    #message;
    #filename;
    #lineno;
    #colno;
    #error;

    constructor(type, eventInitDict = undefined) {
      requireArguments(arguments.length, 1, "ErrorEvent");
      super(type, eventInitDict);
      const init = eventInitDict ?? {};
      this.#colno = init.colno === undefined ? 0 : Number(init.colno) >>> 0;
      this.#error = init.error;
      this.#filename = init.filename === undefined ? "" : String(init.filename);
      this.#lineno = init.lineno === undefined ? 0 : Number(init.lineno) >>> 0;
      this.#message = init.message === undefined ? "" : String(init.message);
    }

    get message() {
      return this.#message;
    }

    get filename() {
      return this.#filename;
    }

    get lineno() {
      return this.#lineno;
    }

    get colno() {
      return this.#colno;
    }

    get error() {
      return this.#error;
    }
  }

  // reportError (HTML "report an exception"): an ErrorEvent named "error" goes to the global
  // scope's listeners (addEventListener("error", ...), looked up when called); unless one cancels
  // it, the error is logged with console.error as an uncaught exception would be.
  function reportError(error) {
    requireArguments(arguments.length, 1, "reportError");
    const event = new ErrorEvent("error", {
      cancelable: true,
      error,
      message: error instanceof Error ? error.message : String(error),
    });
    const dispatch = global.dispatchEvent;
    const notCanceled = typeof dispatch === "function" ? dispatch.call(global, event) : true;
    if (notCanceled && global.console !== undefined) global.console.error("Uncaught", error);
  }

  // navigator: what Deno and workerd expose that makes sense on a server.
  class Navigator {
    constructor(token) {
      if (token !== ILLEGAL) throw new TypeError("Illegal constructor");
    }

    get userAgent() {
      return "flux-edge";
    }

    get language() {
      return "en-US";
    }

    get languages() {
      return ["en-US"];
    }

    get hardwareConcurrency() {
      return 1;
    }
  }
  for (const name of ["userAgent", "language", "languages", "hardwareConcurrency"]) {
    Object.defineProperty(Navigator.prototype, name, { enumerable: true });
  }

  defineInterface("ErrorEvent", ErrorEvent);
  defineInterface("Navigator", Navigator);
  defineGlobal("navigator", new Navigator(ILLEGAL));
  defineGlobal("reportError", reportError);
  defineGlobal("self", global);
})(globalThis);
