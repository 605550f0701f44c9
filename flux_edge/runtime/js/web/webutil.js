// Helpers every web-platform file would otherwise repeat, on the internal global __flux_webutil.
// Loaded first: each later file captures what it uses when it loads, and request_response.js (the
// last web file) deletes the global, so user code never sees it.
(function (global) {
  "use strict";

  const { Object, Symbol, TypeError, Uint8Array } = global;
  const getter = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
  const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
  const typedArrayTag = getter(typedArrayProto, Symbol.toStringTag);
  const typedArrayBuffer = getter(typedArrayProto, "buffer");
  const typedArrayOffset = getter(typedArrayProto, "byteOffset");
  const typedArrayLength = getter(typedArrayProto, "byteLength");
  const dataViewBuffer = getter(global.DataView.prototype, "buffer");
  const dataViewOffset = getter(global.DataView.prototype, "byteOffset");
  const dataViewLength = getter(global.DataView.prototype, "byteLength");
  const arrayBufferLength = getter(global.ArrayBuffer.prototype, "byteLength");
  const sharedBufferLength =
    typeof global.SharedArrayBuffer === "function"
      ? getter(global.SharedArrayBuffer.prototype, "byteLength")
      : null;

  // How browsers define globals and internal hooks: non-enumerable, writable, configurable.
  const defineHidden = (target, name, value) =>
    Object.defineProperty(target, name, { value, writable: true, enumerable: false, configurable: true });

  const defineGlobal = (name, value) => defineHidden(global, name, value);

  // A WebIDL interface object: the global `name`, its prototype tagged for Object.prototype.toString.
  const defineInterface = (name, ctor) => {
    Object.defineProperty(ctor.prototype, Symbol.toStringTag, { value: name, configurable: true });
    defineGlobal(name, ctor);
  };

  const requireArguments = (given, needed, method) => {
    if (given < needed) {
      throw new TypeError(
        `Failed to execute '${method}': ${needed} argument(s) required, but only ${given} present.`,
      );
    }
  };

  // The intrinsic getters throw for a receiver without the internal slot: that is the brand check.
  const tryCall = (fn, value) => {
    if (fn === null) return undefined;
    try {
      return fn.call(value);
    } catch {
      return undefined;
    }
  };

  // WebIDL BufferSource (ArrayBuffer, typed array, DataView) as a Uint8Array over the same bytes, no
  // copy; with `allowShared`, a SharedArrayBuffer too. Undefined for anything else: callers word the
  // TypeError. Intrinsic getters, so properties user code defines on a view cannot mislead it.
  const bufferSourceBytes = (source, allowShared = false) => {
    if (typedArrayTag.call(source) !== undefined) {
      const length = typedArrayLength.call(source);
      return new Uint8Array(typedArrayBuffer.call(source), typedArrayOffset.call(source), length);
    }
    const viewLength = tryCall(dataViewLength, source);
    if (viewLength !== undefined) {
      return new Uint8Array(dataViewBuffer.call(source), dataViewOffset.call(source), viewLength);
    }
    if (tryCall(arrayBufferLength, source) !== undefined) return new Uint8Array(source);
    if (allowShared && tryCall(sharedBufferLength, source) !== undefined) return new Uint8Array(source);
    return undefined;
  };

  // Globals of earlier files, captured now. One that is missing (a file loaded without the others,
  // as some tests do) is looked up when first needed: then a TypeError names it, or with
  // `required` false the lookup gives undefined.
  const earlierGlobals = (...names) => {
    const atLoad = Object.create(null);
    for (const name of names) atLoad[name] = global[name];
    return (name, required = true) => {
      const value = atLoad[name] ?? global[name];
      if (typeof value === "function") return value;
      if (required) throw new TypeError(`${name} is not available in this isolate`);
      return undefined;
    };
  };

  // Globals whose files load on first use (webapi.py LAZY_WEB_FILES): each name is an accessor
  // until first read, which evaluates the sources (`sourcesJson()` gives them as JSON: function
  // expressions called in order with the global and `context`, the last returning the exports)
  // and turns every name into a plain global.
  // Prelude code captured `evaluate` now, so user code replacing `eval` cannot interfere.
  const evaluate = global.eval;
  const parseJson = global.JSON.parse;
  const defineLazyGlobals = (names, sourcesJson, context) => {
    let exports = null;
    const load = () => {
      if (exports === null) {
        for (const source of parseJson(sourcesJson())) exports = evaluate(source)(global, context);
        for (const name of names) defineGlobal(name, exports[name]);
      }
      return exports;
    };
    for (const name of names) {
      Object.defineProperty(global, name, {
        get: () => load()[name],
        set: (value) => {
          load();
          defineGlobal(name, value);
        },
        enumerable: false,
        configurable: true,
      });
    }
    return load; // for prelude code that needs the files loaded (body.js for streams)
  };

  // The internal hooks web files hand to later ones and to the core prelude, which captures the
  // object before the prelude deletes it (prelude.py).
  defineGlobal("__flux_web", Object.create(null));

  defineGlobal(
    "__flux_webutil",
    Object.freeze({
      defineHidden,
      defineGlobal,
      defineInterface,
      requireArguments,
      bufferSourceBytes,
      earlierGlobals,
      defineLazyGlobals,
      // structuredClone asks each hook (value) => clone | undefined before its own rules, so files
      // loaded after it (blob.js) can make their objects cloneable.
      cloneHooks: [],
      // Brand checks of platform objects structuredClone must refuse (DataCloneError), pushed
      // by the files defining them (URL, Headers, Request, Event, ...).
      uncloneable: [],
    }),
  );
})(globalThis);
