// The Deno and process namespaces a function sees: `Deno.errors`, `Deno.env` and `process.env`
// (only the function's own variables, and only with allow_env), and `Deno.serve` (which registers
// the fetch-style entry point). File APIs are added by deno_fs.js. Loaded before core.js, which takes
// `__flux_deno`, configures it when the isolate is given to a function, and removes it.
(function (g) {
  "use strict";
  const OriginalError = Error;
  const hasOwn = Object.prototype.hasOwnProperty;
  let env = Object.create(null);
  let allowEnv = false;
  let served = null; // the Deno.serve handler

  function define(name, value) {
    Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false });
  }

  function requireEnv() {
    if (!allowEnv) {
      throw new PermissionDenied(
        "environment access is not allowed for this function (allow_env is false)",
      );
    }
  }
  function envObject() {
    return allowEnv ? Object.assign({}, env) : {};
  }
  class PermissionDenied extends OriginalError {
    constructor(message) {
      super(message);
      this.name = "PermissionDenied";
    }
  }
  class NotFound extends OriginalError {
    constructor(message) {
      super(message);
      this.name = "NotFound";
    }
  }
  const deno = {
    errors: { PermissionDenied, NotFound },
    env: {
      get(name) {
        requireEnv();
        return hasOwn.call(env, name) ? env[name] : undefined;
      },
      has(name) {
        requireEnv();
        return hasOwn.call(env, name);
      },
      toObject() {
        requireEnv();
        return Object.assign({}, env);
      },
      set() {
        throw new PermissionDenied("environment variables are read-only in flux-edge");
      },
      delete() {
        throw new PermissionDenied("environment variables are read-only in flux-edge");
      },
    },
    serve(optionsOrHandler, maybeHandler) {
      const handler = typeof optionsOrHandler === "function" ? optionsOrHandler : maybeHandler;
      const options = typeof optionsOrHandler === "object" && optionsOrHandler ? optionsOrHandler : {};
      const fn = typeof handler === "function" ? handler : options.handler;
      if (typeof fn !== "function") throw new TypeError("Deno.serve needs a handler function");
      served = fn;
      return { finished: new Promise(() => {}), shutdown: async () => {}, ref() {}, unref() {} };
    },
  };
  define("Deno", deno);
  define("process", {
    env: new Proxy(
      {},
      {
        get(_, name) {
          requireEnv();
          return typeof name === "string" && hasOwn.call(env, name) ? env[name] : undefined;
        },
        has(_, name) {
          requireEnv();
          return hasOwn.call(env, name);
        },
        ownKeys() {
          requireEnv();
          return Object.keys(env);
        },
        getOwnPropertyDescriptor(_, name) {
          requireEnv();
          return hasOwn.call(env, name)
            ? { value: env[name], enumerable: true, configurable: true, writable: false }
            : undefined;
        },
        set() {
          throw new PermissionDenied("environment variables are read-only in flux-edge");
        },
      },
    ),
  });


  Object.defineProperty(g, "__flux_deno", {
    value: Object.freeze({
      PermissionDenied,
      NotFound,
      envObject,
      served: () => served,
      configure(variables, allowed) {
        env = Object.freeze(Object.assign(Object.create(null), variables));
        allowEnv = allowed;
      },
    }),
    configurable: true,
  });
})(globalThis);
