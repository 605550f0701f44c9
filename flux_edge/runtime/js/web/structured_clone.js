// structuredClone (HTML "StructuredSerialize" + "StructuredDeserialize" in one pass).
(function (global) {
  "use strict";

  const { defineGlobal, cloneHooks, uncloneable } = global.__flux_webutil;

  const DOMExceptionCtor = global.DOMException;
  const MapCtor = Map;
  const SetCtor = Set;
  const DateCtor = Date;
  const RegExpCtor = RegExp;
  const ArrayBufferCtor = ArrayBuffer;
  const DataViewCtor = DataView;
  const isArray = Array.isArray;
  const isView = ArrayBuffer.isView;
  const objectToString = Object.prototype.toString;
  const ownKeys = Object.keys;
  const getPrototypeOf = Object.getPrototypeOf;
  const uncurry =
    (fn) =>
    (self, ...args) =>
      fn.apply(self, args);
  const getter = (proto, name) => uncurry(Object.getOwnPropertyDescriptor(proto, name).get);
  const TypedArrayPrototype = getPrototypeOf(Uint8Array.prototype);
  const typedArrayName = getter(TypedArrayPrototype, Symbol.toStringTag);
  const typedArrayBuffer = getter(TypedArrayPrototype, "buffer");
  const typedArrayByteOffset = getter(TypedArrayPrototype, "byteOffset");
  const typedArrayLength = getter(TypedArrayPrototype, "length");
  const dataViewBuffer = getter(DataView.prototype, "buffer");
  const dataViewByteOffset = getter(DataView.prototype, "byteOffset");
  const bufferByteLength = getter(ArrayBuffer.prototype, "byteLength");
  const bufferSlice = uncurry(ArrayBuffer.prototype.slice);
  const bufferTransfer = uncurry(ArrayBuffer.prototype.transfer);
  const bufferDetached = getter(ArrayBuffer.prototype, "detached");
  const bufferResizable = getter(ArrayBuffer.prototype, "resizable");
  const bufferMaxByteLength = getter(ArrayBuffer.prototype, "maxByteLength");
  const dataViewByteLength = getter(DataView.prototype, "byteLength");
  const mapSize = getter(Map.prototype, "size");
  const mapEntries = uncurry(Map.prototype.entries);
  const setSize = getter(Set.prototype, "size");
  const setValues = uncurry(Set.prototype.values);
  const dateGetTime = uncurry(Date.prototype.getTime);
  const regExpSource = getter(RegExp.prototype, "source");
  const regExpFlags = getter(RegExp.prototype, "flags"); // generic: not a brand check
  const booleanValueOf = uncurry(Boolean.prototype.valueOf);
  const numberValueOf = uncurry(Number.prototype.valueOf);
  const stringValueOf = uncurry(String.prototype.valueOf);
  const bigIntValueOf = uncurry(BigInt.prototype.valueOf);
  const isError = Error.isError;
  // Typed-array constructors by name, captured so later changes to the globals do not matter.
  const TYPED_ARRAYS = Object.fromEntries(
    [
      Int8Array,
      Uint8Array,
      Uint8ClampedArray,
      Int16Array,
      Uint16Array,
      Int32Array,
      Uint32Array,
      Float32Array,
      Float64Array,
      BigInt64Array,
      BigUint64Array,
      ...(typeof Float16Array === "function" ? [Float16Array] : []),
    ].map((ctor) => [ctor.name, ctor]),
  );
  const ERROR_TYPES = Object.fromEntries(
    [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError].map((ctor) => [
      ctor.name,
      ctor,
    ]),
  );

  const dataCloneError = (description) =>
    new DOMExceptionCtor(`${description} could not be cloned.`, "DataCloneError");

  const describe = (value) => {
    try {
      return String(value);
    } catch {
      return "The value";
    }
  };

  // True when `check(value)` succeeds, i.e. value has the internal slot the getter reads.
  const hasBrand = (check, value) => {
    try {
      check(value);
      return true;
    } catch {
      return false;
    }
  };

  // Objects that have internal state the clone cannot carry over.
  const UNCLONEABLE_TAGS = new SetCtor([
    "[object WeakMap]",
    "[object WeakSet]",
    "[object WeakRef]",
    "[object Promise]",
    "[object FinalizationRegistry]",
    "[object SharedArrayBuffer]",
    "[object Symbol]",
  ]);

  const cloneBuffer = (buffer) => {
    if (bufferDetached(buffer)) throw dataCloneError("A detached ArrayBuffer");
    if (!bufferResizable(buffer)) return bufferSlice(buffer, 0);
    const copy = new ArrayBufferCtor(bufferByteLength(buffer), {
      maxByteLength: bufferMaxByteLength(buffer),
    });
    new Uint8Array(copy).set(new Uint8Array(buffer));
    return copy;
  };

  // CreateDataProperty: plain assignment, except that "__proto__" must not set the prototype.
  const defineData = (target, key, value) => {
    if (key === "__proto__") {
      Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
    } else {
      target[key] = value;
    }
  };

  // `memory` maps each original object to its clone, so cycles and shared references survive.
  const cloneValue = (value, memory) => {
    const type = typeof value;
    if (type === "symbol" || type === "function") throw dataCloneError(describe(value));
    if (value === null || type !== "object") return value;
    const seen = memory.get(value);
    if (seen !== undefined) return seen;

    if (isArray(value)) {
      const copy = new Array(value.length);
      memory.set(value, copy);
      for (const key of ownKeys(value)) defineData(copy, key, cloneValue(value[key], memory));
      return copy;
    }
    if (isView(value)) {
      const name = typedArrayName(value);
      const copy =
        name === undefined
          ? new DataViewCtor(
              cloneValue(dataViewBuffer(value), memory),
              dataViewByteOffset(value),
              dataViewByteLength(value),
            )
          : new TYPED_ARRAYS[name](
              cloneValue(typedArrayBuffer(value), memory),
              typedArrayByteOffset(value),
              typedArrayLength(value),
            );
      memory.set(value, copy);
      return copy;
    }

    for (const isPlatformObject of uncloneable) {
      if (isPlatformObject(value)) throw dataCloneError(`#<${objectToString.call(value).slice(8, -1)}>`);
    }
    for (const hook of cloneHooks) {
      const hooked = hook(value);
      if (hooked !== undefined) {
        memory.set(value, hooked);
        return hooked;
      }
    }
    const tag = objectToString.call(value);
    let copy;
    if (tag === "[object ArrayBuffer]" && hasBrand(bufferByteLength, value)) {
      copy = cloneBuffer(value);
    } else if (tag === "[object Date]" && hasBrand(dateGetTime, value)) {
      copy = new DateCtor(dateGetTime(value));
    } else if (tag === "[object RegExp]" && hasBrand(regExpSource, value)) {
      copy = new RegExpCtor(regExpSource(value), regExpFlags(value)); // lastIndex is not kept
    } else if (tag === "[object Boolean]" && hasBrand(booleanValueOf, value)) {
      copy = Object(booleanValueOf(value));
    } else if (tag === "[object Number]" && hasBrand(numberValueOf, value)) {
      copy = Object(numberValueOf(value));
    } else if (tag === "[object String]" && hasBrand(stringValueOf, value)) {
      copy = Object(stringValueOf(value));
    } else if (tag === "[object BigInt]" && hasBrand(bigIntValueOf, value)) {
      copy = Object(bigIntValueOf(value));
    } else if (tag === "[object Map]" && hasBrand(mapSize, value)) {
      copy = new MapCtor();
      memory.set(value, copy);
      // Entries are listed before any is cloned, as the standard does.
      for (const [key, item] of [...mapEntries(value)])
        copy.set(cloneValue(key, memory), cloneValue(item, memory));
      return copy;
    } else if (tag === "[object Set]" && hasBrand(setSize, value)) {
      copy = new SetCtor();
      memory.set(value, copy);
      for (const item of [...setValues(value)]) copy.add(cloneValue(item, memory));
      return copy;
    } else if (isError(value)) {
      return cloneError(value, memory);
    } else if (UNCLONEABLE_TAGS.has(tag)) {
      throw dataCloneError(`#<${tag.slice(8, -1)}>`);
    } else {
      // Any other object is copied as a plain object of its own enumerable string keys; its
      // prototype (class) is not kept.
      copy = {};
      memory.set(value, copy);
      for (const key of ownKeys(value)) defineData(copy, key, cloneValue(value[key], memory));
      return copy;
    }
    memory.set(value, copy);
    return copy;
  };

  const cloneError = (error, memory) => {
    if (error instanceof DOMExceptionCtor) {
      const copy = new DOMExceptionCtor(error.message, error.name);
      memory.set(error, copy);
      return copy;
    }
    // Only the standard's error names survive; other names (and subclasses) become "Error".
    const name = String(error.name);
    const ErrorType = Object.hasOwn(ERROR_TYPES, name) ? ERROR_TYPES[name] : Error;
    const messageDescriptor = Object.getOwnPropertyDescriptor(error, "message");
    const copy =
      messageDescriptor !== undefined && "value" in messageDescriptor
        ? new ErrorType(String(messageDescriptor.value))
        : new ErrorType();
    memory.set(error, copy);
    const stack = error.stack;
    if (typeof stack === "string") {
      Object.defineProperty(copy, "stack", { value: stack, writable: true, configurable: true });
    }
    if (Object.hasOwn(error, "cause")) {
      Object.defineProperty(copy, "cause", {
        value: cloneValue(error.cause, memory),
        writable: true,
        configurable: true,
      });
    }
    return copy;
  };

  // Validates the transfer list: only ArrayBuffers exist here that can be transferred.
  const transferableBuffers = (transfer) => {
    const buffers = [...transfer];
    buffers.forEach((buffer, index) => {
      if (typeof buffer !== "object" || buffer === null || !hasBrand(bufferByteLength, buffer)) {
        throw dataCloneError(`Value at index ${index}`);
      }
      if (buffers.indexOf(buffer) !== index) throw dataCloneError("An ArrayBuffer listed twice");
      if (bufferDetached(buffer)) throw dataCloneError("A detached ArrayBuffer");
    });
    return buffers;
  };

  function structuredClone(value, options = undefined) {
    if (arguments.length < 1) {
      throw new TypeError("Failed to execute 'structuredClone': 1 argument required, but only 0 present.");
    }
    const transfer =
      options === undefined || options === null || options.transfer === undefined
        ? []
        : transferableBuffers(options.transfer);
    const clone = cloneValue(value, new MapCtor());
    // A transferred buffer was copied like any other; detaching the original afterwards gives
    // the sender the observable result of a transfer (length 0, `detached` true).
    for (const buffer of transfer) bufferTransfer(buffer);
    return clone;
  }

  defineGlobal("structuredClone", structuredClone);
})(globalThis);
