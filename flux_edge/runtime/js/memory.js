// ArrayBuffer and typed-array accounting.
//
// V8's heap limit (set_hard_memory_limit) does not count ArrayBuffer backing stores, so a function
// could allocate gigabytes in Uint8Arrays under a 128 MB cap. This file runs before any other prelude
// code and wraps every way JavaScript can allocate a backing store, so that the bytes held by live
// buffers never exceed the function's budget. Buffers are counted when allocated and released when V8
// collects them (FinalizationRegistry, which runs between calls). Sizes given as numbers are checked
// before allocating, so a 2 GB request never reaches the allocator.
//
// The budget is set when the isolate is given to a function (`__flux_memory.setLimit`, called by
// core.js's configure); until then the prelude itself runs under a small one. Exposes
// `__flux_memory` to core.js, which removes it from the global scope.
(function (g) {
  "use strict";
  let limit = 16 * 1024 * 1024;
  // V8 runs with --expose-gc so that buffers can be reclaimed on demand; user code must not see it.
  // (--expose-gc makes `gc` a non-configurable global, so it is emptied rather than deleted)
  const collectGarbage = typeof g.gc === "function" ? g.gc : () => {};
  if ("gc" in g) g.gc = undefined;
  const { construct, apply, defineProperty, getOwnPropertyDescriptor } = Reflect;
  const isView = ArrayBuffer.isView;
  const counted = new WeakSet();
  let live = 0;
  let breachMessage = "";
  let onBreach = () => {};
  const released = new FinalizationRegistry((bytes) => {
    live -= bytes;
  });
  const byteLengthOf = apply.bind(
    null,
    getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength").get,
  );
  const sharedByteLengthOf = apply.bind(
    null,
    getOwnPropertyDescriptor(SharedArrayBuffer.prototype, "byteLength").get,
  );
  const TypedArray = Object.getPrototypeOf(Uint8Array);
  const typedLength = getOwnPropertyDescriptor(TypedArray.prototype, "length").get;
  const typedBuffer = getOwnPropertyDescriptor(TypedArray.prototype, "buffer").get;

  function refuse(bytes) {
    breachMessage =
      `Memory limit exceeded: allocating ${bytes} bytes of ArrayBuffer memory would pass the ` +
      `function's limit of ${limit} bytes (memory_limit_mb)`;
    onBreach();
    throw new RangeError(breachMessage);
  }

  function reserve(bytes) {
    if (bytes > 0 && live + bytes > limit) refuse(bytes);
  }

  function bufferBytes(buffer) {
    try {
      return byteLengthOf(buffer, []);
    } catch {
      return sharedByteLengthOf(buffer, []);
    }
  }

  // Counts a buffer once, whichever path produced it.
  function track(buffer) {
    if (counted.has(buffer)) return;
    const bytes = bufferBytes(buffer);
    counted.add(buffer);
    if (bytes <= 0) return;
    if (live + bytes > limit) refuse(bytes);
    live += bytes;
    released.register(buffer, bytes);
  }

  function trackView(view) {
    track(apply(typedBuffer, view, []));
    return view;
  }

  function toIndex(value) {
    const n = Math.trunc(Number(value));
    return Number.isFinite(n) && n > 0 ? n : 0;
  }

  // new X(length) and new X(typedArray) have sizes known before allocating; iterables are
  // materialised on the (limited) heap first, and plain array-likes are copied once so a hostile
  // `length` getter cannot report one size to us and another to V8.
  function typedArrayArgs(args, bytesPerElement) {
    const source = args[0];
    if (source === null || typeof source !== "object") {
      reserve(toIndex(source) * bytesPerElement);
      return args;
    }
    if (isView(source)) {
      try {
        reserve(apply(typedLength, source, []) * bytesPerElement);
      } catch {
        // A DataView source is not a typed array; V8 rejects it below.
      }
      return args;
    }
    if (source instanceof ArrayBuffer || source instanceof SharedArrayBuffer) return args;
    if (typeof source[Symbol.iterator] === "function") return args;
    const copy = Array.prototype.slice.call(source);
    reserve(copy.length * bytesPerElement);
    return [copy, ...Array.prototype.slice.call(args, 1)];
  }

  function wrapConstructor(name, prepareArgs, afterConstruct) {
    const Original = g[name];
    if (typeof Original !== "function") return;
    const wrapped = new Proxy(Original, {
      construct(target, args, newTarget) {
        const prepared = prepareArgs(args);
        return afterConstruct(construct(target, prepared, newTarget === wrapped ? target : newTarget));
      },
    });
    defineProperty(Original.prototype, "constructor", {
      value: wrapped,
      writable: true,
      configurable: true,
      enumerable: false,
    });
    defineProperty(g, name, { value: wrapped, writable: true, configurable: true, enumerable: false });
  }

  const bufferArgs = (args) => {
    reserve(toIndex(args[0]));
    return args;
  };
  wrapConstructor("ArrayBuffer", bufferArgs, (b) => (track(b), b));
  wrapConstructor("SharedArrayBuffer", bufferArgs, (b) => (track(b), b));
  for (const name of [
    "Int8Array",
    "Uint8Array",
    "Uint8ClampedArray",
    "Int16Array",
    "Uint16Array",
    "Int32Array",
    "Uint32Array",
    "Float16Array",
    "Float32Array",
    "Float64Array",
    "BigInt64Array",
    "BigUint64Array",
  ]) {
    const Original = g[name];
    if (typeof Original !== "function") continue;
    const bpe = Original.BYTES_PER_ELEMENT;
    wrapConstructor(name, (args) => typedArrayArgs(args, bpe), trackView);
  }

  // Methods that may allocate through the intrinsic constructors, bypassing the wrappers above.
  function wrapMethod(owner, name, resultIsView, sizeHint) {
    const original = owner[name];
    if (typeof original !== "function") return;
    const wrapped = {
      [name](...args) {
        if (sizeHint) reserve(sizeHint(this, args));
        const result = apply(original, this, args);
        if (resultIsView) trackView(result);
        else track(result);
        return result;
      },
    }[name];
    defineProperty(owner, name, { value: wrapped, writable: true, configurable: true, enumerable: false });
  }
  for (const name of ["slice", "map", "filter", "toReversed", "toSorted", "with"]) {
    wrapMethod(TypedArray.prototype, name, true);
  }
  wrapMethod(ArrayBuffer.prototype, "slice", false);
  wrapMethod(ArrayBuffer.prototype, "transfer", false, (_, args) => toIndex(args[0]));
  wrapMethod(ArrayBuffer.prototype, "transferToFixedLength", false, (_, args) => toIndex(args[0]));
  wrapMethod(SharedArrayBuffer.prototype, "slice", false);
  const U8 = g.Uint8Array;
  for (const name of ["fromBase64", "fromHex"]) {
    const original = U8[name];
    if (typeof original !== "function") continue;
    defineProperty(U8, name, {
      value: {
        [name](...args) {
          return trackView(apply(original, this, args));
        },
      }[name],
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }

  // Growing a resizable buffer adds the difference to the account.
  function wrapGrow(proto, name, lengthOf) {
    const original = proto[name];
    if (typeof original !== "function") return;
    defineProperty(proto, name, {
      value: {
        [name](newLength) {
          const before = lengthOf(this, []);
          const grow = toIndex(newLength) - before;
          if (grow > 0) {
            reserve(grow);
            live += grow;
          }
          return apply(original, this, [newLength]);
        },
      }[name],
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  wrapGrow(ArrayBuffer.prototype, "resize", byteLengthOf);
  wrapGrow(SharedArrayBuffer.prototype, "grow", sharedByteLengthOf);

  // WebAssembly memories are backing stores we cannot meter; functions run JavaScript only.
  delete g.WebAssembly;

  Object.defineProperty(g, "__flux_memory", {
    value: Object.freeze({
      setLimit: (bytes) => {
        limit = bytes;
      },
      // Called between steps: when buffers hold much of the budget, collect now so that their
      // finalizers (which run before the next step) give the bytes back.
      reclaim: () => {
        if (live > limit / 2) collectGarbage();
      },
      breachMessage: () => breachMessage,
      onBreach: (callback) => {
        onBreach = callback;
      },
    }),
    configurable: true,
    enumerable: false,
  });
})(globalThis);
