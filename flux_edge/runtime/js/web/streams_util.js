// WHATWG Streams, part 1 of 7: what every stream file shares (promises that user code patching
// `Promise.prototype.then` cannot observe, the queue-with-sizes, strategy and WebIDL conversions,
// buffer helpers) and the two queuing strategies. Streams load lazily (see webapi.py): the files
// are functions of `(global, flux)` run on first use, and hand their internals on through
// `flux.streams`, which only prelude code holds.
(function (global, flux) {
  'use strict';

  const { Object, Promise, TypeError, RangeError, Number, Symbol, ArrayBuffer, Uint8Array, Reflect, Math } = flux.intrinsics;
  const { defineInterface, requireArguments } = flux.webutil;
  const S = (flux.streams = Object.create(null));
  S.exports = Object.create(null);
  S.defineInterface = (name, ctor) => {
    defineInterface(name, ctor);
    S.exports[name] = ctor;
  };

  // ---- promises ----
  const then = flux.promiseThen;
  S.newPromise = () => {
    let resolve;
    let reject;
    const promise = new Promise((a, b) => { resolve = a; reject = b; });
    return { __proto__: null, promise, resolve, reject };
  };
  S.resolved = (value) => new Promise((resolve) => resolve(value));
  S.rejected = (reason) => new Promise((_, reject) => reject(reason));
  S.react = (promise, onFulfilled, onRejected) => then.call(promise, onFulfilled, onRejected);
  S.markHandled = (promise) => { then.call(promise, undefined, () => {}); };
  S.UNDEFINED = S.resolved(undefined);
  // A promise that settles later and whose rejection nobody may be waiting for.
  S.handledRejected = (reason) => {
    const promise = S.rejected(reason);
    S.markHandled(promise);
    return promise;
  };
  // WebIDL "invoke a callback function" that returns a promise: a throw becomes a rejection.
  S.promiseCall = (fn, thisArg, args) => {
    if (fn === undefined) return S.UNDEFINED;
    try {
      return S.resolved(Reflect.apply(fn, thisArg, args));
    } catch (error) {
      return S.rejected(error);
    }
  };
  // A deferred with a `settled` state for the spec's "[[closedPromise]]"-like slots that are
  // replaced and inspected.
  S.deferred = () => {
    const d = { __proto__: null, ...S.newPromise(), state: 'pending' };
    const { resolve, reject } = d;
    d.resolve = (v) => { if (d.state === 'pending') { d.state = 'fulfilled'; resolve(v); } };
    d.reject = (e) => { if (d.state === 'pending') { d.state = 'rejected'; reject(e); } };
    return d;
  };

  // ---- queue-with-sizes ----
  // A FIFO with O(1) shift: a head index into an array that is compacted when half consumed.
  class Queue {
    constructor() { this.items = []; this.head = 0; }
    get length() { return this.items.length - this.head; }
    push(item) { this.items.push(item); }
    peek() { return this.items[this.head]; }
    last() { return this.items[this.items.length - 1]; }
    shift() {
      const item = this.items[this.head];
      this.items[this.head++] = undefined;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return item;
    }
    clear() { this.items = []; this.head = 0; }
    *[Symbol.iterator]() { for (let i = this.head; i < this.items.length; i++) yield this.items[i]; }
  }
  S.Queue = Queue;

  // Controllers keep {queue, queueTotalSize}.
  S.resetQueue = (c) => { c.queue = new Queue(); c.queueTotalSize = 0; };
  S.enqueueValueWithSize = (c, value, size) => {
    size = Number(size);
    if (!(size >= 0) || size === Infinity) throw new RangeError('The chunk size must be a finite, non-negative number');
    c.queue.push({ __proto__: null, value, size });
    c.queueTotalSize += size;
  };
  S.dequeueValue = (c) => {
    const pair = c.queue.shift();
    c.queueTotalSize -= pair.size;
    if (c.queueTotalSize < 0) c.queueTotalSize = 0; // rounding
    return pair.value;
  };
  S.peekQueueValue = (c) => c.queue.peek().value;

  // ---- WebIDL conversions ----
  const isObject = (v) => (typeof v === 'object' && v !== null) || typeof v === 'function';
  S.isObject = isObject;
  S.dictionary = (value, what) => {
    if (value === undefined || value === null) return {};
    if (!isObject(value)) throw new TypeError(`${what} must be an object`);
    return value;
  };
  // WebIDL `optional object`: undefined (missing) or an object; null is not an object.
  S.optionalObject = (value, what) => {
    if (value !== undefined && !isObject(value)) throw new TypeError(`${what} must be an object`);
  };
  S.callback = (value, what) => {
    if (value === undefined) return undefined;
    if (typeof value !== 'function') throw new TypeError(`${what} must be a function`);
    return value;
  };
  // unrestricted double
  S.toNumber = (value) => Number(value);
  // [EnforceRange] unsigned long long
  S.enforceRange = (value, what) => {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new TypeError(`${what} must be a finite number`);
    const t = Math.trunc(n);
    if (t < 0 || t > Number.MAX_SAFE_INTEGER) throw new TypeError(`${what} is out of range`);
    return t;
  };
  S.requireArguments = requireArguments;

  // QueuingStrategy dictionary (members in lexicographic order, as WebIDL reads them).
  S.strategy = (value, what) => {
    const dict = S.dictionary(value, what);
    const highWaterMark = dict.highWaterMark;
    const hwm = highWaterMark === undefined ? undefined : Number(highWaterMark);
    return { __proto__: null, highWaterMark: hwm, size: S.callback(dict.size, `${what}: size`) };
  };
  S.extractHighWaterMark = (strategy, fallback) => {
    if (strategy.highWaterMark === undefined) return fallback;
    const hwm = strategy.highWaterMark;
    if (Number.isNaN(hwm) || hwm < 0) throw new RangeError('highWaterMark must be a non-negative number');
    return hwm;
  };
  S.extractSizeAlgorithm = (strategy) => {
    const size = strategy.size;
    if (size === undefined) return () => 1;
    return (chunk) => Reflect.apply(size, undefined, [chunk]);
  };

  // ---- buffers ----
  const detachedGetter = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'detached').get;
  const byteLengthGetter = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength').get;
  const transfer = ArrayBuffer.prototype.transfer;
  const sliceBuffer = ArrayBuffer.prototype.slice;
  S.isDetached = (buffer) => detachedGetter.call(buffer);
  S.bufferByteLength = (buffer) => byteLengthGetter.call(buffer);
  S.isArrayBuffer = (value) => {
    try { byteLengthGetter.call(value); return true; } catch { return false; }
  };
  // Streams "transfer array buffer": a new buffer with the bytes, the old one detached.
  S.transferBuffer = (buffer) => {
    if (S.isDetached(buffer)) throw new TypeError('The ArrayBuffer is detached');
    return transfer.call(buffer);
  };
  S.canTransfer = (buffer) => !S.isDetached(buffer);
  S.cloneBufferRange = (buffer, offset, length) => sliceBuffer.call(buffer, offset, offset + length);
  S.copyBytes = (dest, destOffset, src, srcOffset, length) => {
    new Uint8Array(dest, destOffset, length).set(new Uint8Array(src, srcOffset, length));
  };

  // ---- ByteLengthQueuingStrategy, CountQueuingStrategy ----
  const byteSize = { size(chunk) { return chunk.byteLength; } }.size;
  const countSize = { size() { return 1; } }.size;

  function initStrategy(init, name) {
    if (!isObject(init)) throw new TypeError(`Failed to construct '${name}': init must be an object`);
    const hwm = init.highWaterMark;
    if (hwm === undefined) throw new TypeError(`Failed to construct '${name}': highWaterMark is required`);
    return Number(hwm);
  }

  class ByteLengthQueuingStrategy {
    #highWaterMark;
    constructor(init) {
      requireArguments(arguments.length, 1, "construct 'ByteLengthQueuingStrategy'");
      this.#highWaterMark = initStrategy(init, 'ByteLengthQueuingStrategy');
    }
    get highWaterMark() { return this.#highWaterMark; }
    get size() { if (!(#highWaterMark in this)) throw new TypeError('Illegal invocation'); return byteSize; }
  }
  class CountQueuingStrategy {
    #highWaterMark;
    constructor(init) {
      requireArguments(arguments.length, 1, "construct 'CountQueuingStrategy'");
      this.#highWaterMark = initStrategy(init, 'CountQueuingStrategy');
    }
    get highWaterMark() { return this.#highWaterMark; }
    get size() { if (!(#highWaterMark in this)) throw new TypeError('Illegal invocation'); return countSize; }
  }
  for (const C of [ByteLengthQueuingStrategy, CountQueuingStrategy]) {
    for (const name of ['highWaterMark', 'size']) {
      Object.defineProperty(C.prototype, name, { ...Object.getOwnPropertyDescriptor(C.prototype, name), enumerable: true });
    }
    S.defineInterface(C.name, C);
  }

  // Makes the listed prototype members enumerable, as WebIDL operations and attributes are.
  S.enumerable = (proto, names) => {
    for (const name of names) {
      const d = Object.getOwnPropertyDescriptor(proto, name);
      d.enumerable = true;
      Object.defineProperty(proto, name, d);
    }
  };
})
