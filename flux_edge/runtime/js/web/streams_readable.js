// WHATWG Streams, part 2 of 7: ReadableStream, its default reader and default controller (spec
// section 4), the async iterator and ReadableStream.from. Internal state lives in plain records
// (the spec's internal slots) held by private fields; `flux.streams` hands the abstract operations
// to the other stream files.
(function (global, flux) {
  'use strict';

  const { Object, TypeError, RangeError, String, Symbol, Reflect, Boolean } = flux.intrinsics;
  const S = flux.streams;
  const { Queue, react, resolved, rejected, newPromise, deferred, markHandled, promiseCall } = S;
  const INTERNAL = (S.INTERNAL = Object.freeze({}));

  const illegal = () => new TypeError('Illegal invocation');

  // ---- ReadableStream ----
  let streamOf;

  class ReadableStream {
    #r;

    constructor(underlyingSource = undefined, strategy = undefined) {
      this.#r = newStreamRecord(this);
      if (underlyingSource === INTERNAL) return;
      // WebIDL converts the arguments (an optional object, then the strategy) before the body
      // converts the source to its dictionary.
      S.optionalObject(underlyingSource, "Failed to construct 'ReadableStream': underlyingSource");
      const strat = S.strategy(strategy, "Failed to construct 'ReadableStream': strategy");
      const source = underlyingSource === undefined ? {} : underlyingSource;
      const dict = sourceDictionary(source);
      if (dict.type === 'bytes') {
        if (strat.size !== undefined) throw new RangeError('The strategy of a byte stream cannot have a size function');
        const hwm = S.extractHighWaterMark(strat, 0);
        S.setUpByteControllerFromSource(this.#r, source, dict, hwm);
      } else {
        const sizeAlgorithm = S.extractSizeAlgorithm(strat);
        const hwm = S.extractHighWaterMark(strat, 1);
        setUpDefaultControllerFromSource(this.#r, source, dict, hwm, sizeAlgorithm);
      }
    }

    static { streamOf = (value) => (S.isObject(value) && #r in value ? value.#r : undefined); }

    get locked() {
      const stream = streamOf(this);
      if (stream === undefined) throw illegal();
      return isLocked(stream);
    }

    cancel(reason = undefined) {
      const stream = streamOf(this);
      if (stream === undefined) return rejected(illegal());
      if (isLocked(stream)) return rejected(new TypeError('Cannot cancel a locked ReadableStream'));
      return readableStreamCancel(stream, reason);
    }

    getReader(options = undefined) {
      const stream = streamOf(this);
      if (stream === undefined) throw illegal();
      const dict = S.dictionary(options, "Failed to execute 'getReader': options");
      const mode = dict.mode;
      if (mode === undefined) return acquireDefaultReader(stream);
      if (String(mode) !== 'byob') throw new TypeError(`'${String(mode)}' is not a valid reader mode`);
      return S.acquireBYOBReader(stream);
    }

    pipeThrough(transform, options = undefined) {
      const stream = streamOf(this);
      if (stream === undefined) throw illegal();
      S.requireArguments(arguments.length, 1, "execute 'pipeThrough' on 'ReadableStream'");
      const pair = S.dictionary(transform, "Failed to execute 'pipeThrough': transform");
      const readable = streamOf(pair.readable);
      if (readable === undefined) throw new TypeError("Failed to execute 'pipeThrough': readable must be a ReadableStream");
      const writable = S.writableOf(pair.writable);
      if (writable === undefined) throw new TypeError("Failed to execute 'pipeThrough': writable must be a WritableStream");
      const opts = pipeOptions(options);
      if (isLocked(stream)) throw new TypeError('Cannot pipe a locked ReadableStream');
      if (S.isWritableLocked(writable)) throw new TypeError('Cannot pipe to a locked WritableStream');
      const promise = S.pipeTo(stream, writable, opts.preventClose, opts.preventAbort, opts.preventCancel, opts.signal);
      markHandled(promise);
      return pair.readable;
    }

    pipeTo(destination, options = undefined) {
      const stream = streamOf(this);
      if (stream === undefined) return rejected(illegal());
      const writable = S.writableOf(destination);
      if (writable === undefined) return rejected(new TypeError("Failed to execute 'pipeTo': destination must be a WritableStream"));
      let opts;
      try {
        opts = pipeOptions(options);
      } catch (error) {
        return rejected(error);
      }
      if (isLocked(stream)) return rejected(new TypeError('Cannot pipe a locked ReadableStream'));
      if (S.isWritableLocked(writable)) return rejected(new TypeError('Cannot pipe to a locked WritableStream'));
      return S.pipeTo(stream, writable, opts.preventClose, opts.preventAbort, opts.preventCancel, opts.signal);
    }

    tee() {
      const stream = streamOf(this);
      if (stream === undefined) throw illegal();
      return S.tee(stream, false).map((r) => r.object);
    }

    values(options = undefined) {
      const stream = streamOf(this);
      if (stream === undefined) throw illegal();
      const dict = S.dictionary(options, "Failed to execute 'values': options");
      const reader = acquireDefaultReader(stream);
      return newAsyncIterator(readerOf(reader), Boolean(dict.preventCancel));
    }

    static from(asyncIterable) {
      S.requireArguments(arguments.length, 1, "execute 'from' on 'ReadableStream'");
      return fromIterable(asyncIterable).object;
    }
  }
  Object.defineProperty(ReadableStream.prototype, Symbol.asyncIterator, {
    value: ReadableStream.prototype.values, writable: true, configurable: true,
  });
  S.enumerable(ReadableStream.prototype, ['locked', 'cancel', 'getReader', 'pipeThrough', 'pipeTo', 'tee', 'values']);
  S.enumerable(ReadableStream, ['from']);

  function sourceDictionary(source) {
    // WebIDL reads dictionary members in lexicographic order.
    const dict = { __proto__: null };
    const size = source.autoAllocateChunkSize;
    dict.autoAllocateChunkSize = size === undefined ? undefined : S.enforceRange(size, 'autoAllocateChunkSize');
    dict.cancel = S.callback(source.cancel, 'underlyingSource.cancel');
    dict.pull = S.callback(source.pull, 'underlyingSource.pull');
    dict.start = S.callback(source.start, 'underlyingSource.start');
    const type = source.type;
    if (type !== undefined) {
      dict.type = String(type);
      if (dict.type !== 'bytes' && dict.type !== 'owning') {
        throw new TypeError(`'${dict.type}' is not a valid ReadableStream type`);
      }
    }
    return dict;
  }

  function pipeOptions(options) {
    const dict = S.dictionary(options, 'pipe options');
    const out = {
      preventAbort: Boolean(dict.preventAbort),
      preventCancel: Boolean(dict.preventCancel),
      preventClose: Boolean(dict.preventClose),
      signal: dict.signal,
    };
    if (out.signal !== undefined && !S.isAbortSignal(out.signal)) throw new TypeError('signal must be an AbortSignal');
    return out;
  }
  S.isAbortSignal = flux.isAbortSignal;

  function newStreamRecord(object) {
    return { __proto__: null, object, state: 'readable', reader: undefined, storedError: undefined, disturbed: false, controller: undefined };
  }

  // CreateReadableStream
  function createReadableStream(startAlgorithm, pullAlgorithm, cancelAlgorithm, highWaterMark = 1, sizeAlgorithm = () => 1) {
    const stream = streamOf(new ReadableStream(INTERNAL));
    const controller = controllerOf(new ReadableStreamDefaultController(INTERNAL));
    setUpDefaultController(stream, controller, startAlgorithm, pullAlgorithm, cancelAlgorithm, highWaterMark, sizeAlgorithm);
    return stream;
  }
  const newReadableRecord = () => streamOf(new ReadableStream(INTERNAL));

  const isLocked = (stream) => stream.reader !== undefined;

  function readableStreamCancel(stream, reason) {
    stream.disturbed = true;
    if (stream.state === 'closed') return resolved(undefined);
    if (stream.state === 'errored') return rejected(stream.storedError);
    readableStreamClose(stream);
    const reader = stream.reader;
    if (reader !== undefined && reader.kind === 'byob') {
      const requests = reader.readIntoRequests;
      reader.readIntoRequests = new Queue();
      for (const request of requests) request.close(undefined);
    }
    return react(stream.controller.cancelSteps(reason), () => undefined);
  }

  function readableStreamClose(stream) {
    stream.state = 'closed';
    const reader = stream.reader;
    if (reader === undefined) return;
    reader.closed.resolve(undefined);
    if (reader.kind === 'default') {
      const requests = reader.readRequests;
      reader.readRequests = new Queue();
      for (const request of requests) request.close();
    }
  }

  function readableStreamError(stream, error) {
    stream.state = 'errored';
    stream.storedError = error;
    const reader = stream.reader;
    if (reader === undefined) return;
    reader.closed.reject(error);
    markHandled(reader.closed.promise);
    if (reader.kind === 'default') defaultReaderErrorReadRequests(reader, error);
    else S.byobReaderErrorReadIntoRequests(reader, error);
  }

  function fulfillReadRequest(stream, chunk, done) {
    const request = stream.reader.readRequests.shift();
    if (done) request.close();
    else request.chunk(chunk);
  }

  const numReadRequests = (stream) => stream.reader.readRequests.length;
  const hasDefaultReader = (stream) => stream.reader !== undefined && stream.reader.kind === 'default';

  // ---- readers (shared) ----
  function readerGenericInitialize(reader, stream) {
    reader.stream = stream;
    stream.reader = reader;
    reader.closed = deferred();
    if (stream.state === 'closed') reader.closed.resolve(undefined);
    else if (stream.state === 'errored') {
      reader.closed.reject(stream.storedError);
      markHandled(reader.closed.promise);
    }
  }

  function readerGenericRelease(reader) {
    const stream = reader.stream;
    const error = new TypeError('The reader was released');
    if (stream.state === 'readable') reader.closed.reject(error);
    else {
      reader.closed = deferred();
      reader.closed.reject(error);
    }
    markHandled(reader.closed.promise);
    stream.controller.releaseSteps();
    stream.reader = undefined;
    reader.stream = undefined;
  }

  // ---- ReadableStreamDefaultReader ----
  let readerOf;

  class ReadableStreamDefaultReader {
    #r;

    constructor(stream) {
      S.requireArguments(arguments.length, 1, "construct 'ReadableStreamDefaultReader'");
      const record = streamOf(stream);
      if (record === undefined) throw new TypeError("Failed to construct 'ReadableStreamDefaultReader': not a ReadableStream");
      this.#r = { __proto__: null, object: this, kind: 'default', stream: undefined, closed: undefined, readRequests: new Queue() };
      setUpDefaultReader(this.#r, record);
    }

    static { readerOf = (value) => (S.isObject(value) && #r in value ? value.#r : undefined); }

    get closed() {
      const reader = readerOf(this);
      if (reader === undefined) return rejected(illegal());
      return reader.closed.promise;
    }

    cancel(reason = undefined) {
      const reader = readerOf(this);
      if (reader === undefined) return rejected(illegal());
      if (reader.stream === undefined) return rejected(new TypeError('The reader has been released'));
      return readableStreamCancel(reader.stream, reason);
    }

    read() {
      const reader = readerOf(this);
      if (reader === undefined) return rejected(illegal());
      if (reader.stream === undefined) return rejected(new TypeError('The reader has been released'));
      const { promise, resolve, reject } = newPromise();
      defaultReaderRead(reader, {
        chunk: (value) => resolve({ value, done: false }),
        close: () => resolve({ value: undefined, done: true }),
        error: (e) => reject(e),
      });
      return promise;
    }

    releaseLock() {
      const reader = readerOf(this);
      if (reader === undefined) throw illegal();
      if (reader.stream === undefined) return;
      defaultReaderRelease(reader);
    }
  }
  S.enumerable(ReadableStreamDefaultReader.prototype, ['closed', 'cancel', 'read', 'releaseLock']);

  function setUpDefaultReader(reader, stream) {
    if (isLocked(stream)) throw new TypeError('The ReadableStream is already locked to a reader');
    readerGenericInitialize(reader, stream);
    reader.readRequests = new Queue();
  }

  function acquireDefaultReader(stream) {
    return new ReadableStreamDefaultReader(stream.object);
  }

  function defaultReaderRead(reader, request) {
    const stream = reader.stream;
    stream.disturbed = true;
    if (stream.state === 'closed') request.close();
    else if (stream.state === 'errored') request.error(stream.storedError);
    else stream.controller.pullSteps(request);
  }

  function defaultReaderRelease(reader) {
    readerGenericRelease(reader);
    defaultReaderErrorReadRequests(reader, new TypeError('The reader was released'));
  }

  function defaultReaderErrorReadRequests(reader, error) {
    const requests = reader.readRequests;
    reader.readRequests = new Queue();
    for (const request of requests) request.error(error);
  }

  // ---- ReadableStreamDefaultController ----
  let controllerOf;

  class ReadableStreamDefaultController {
    #r;

    constructor(token = undefined) {
      if (token !== INTERNAL) throw new TypeError('Illegal constructor');
      const c = { __proto__: null, object: this, kind: 'default', stream: undefined };
      c.cancelSteps = (reason) => {
        S.resetQueue(c);
        const result = c.cancelAlgorithm(reason);
        clearAlgorithms(c);
        return result;
      };
      c.pullSteps = (request) => defaultControllerPullSteps(c, request);
      c.releaseSteps = () => {};
      this.#r = c;
    }

    static { controllerOf = (value) => (S.isObject(value) && #r in value ? value.#r : undefined); }

    get desiredSize() {
      const c = controllerOf(this);
      if (c === undefined) throw illegal();
      return desiredSize(c);
    }

    close() {
      const c = controllerOf(this);
      if (c === undefined) throw illegal();
      if (!canCloseOrEnqueue(c)) throw new TypeError('The stream is not in a state that permits close');
      defaultControllerClose(c);
    }

    enqueue(chunk = undefined, options = undefined) {
      const c = controllerOf(this);
      if (c === undefined) throw illegal();
      const dict = S.dictionary(options, "Failed to execute 'enqueue': options");
      const transfer = dict.transfer === undefined ? [] : [...dict.transfer];
      if (!c.owning && transfer.length > 0) throw new TypeError('Only an owning stream can transfer chunks');
      if (!canCloseOrEnqueue(c)) throw new TypeError('The stream is not in a state that permits enqueue');
      if (c.owning) chunk = flux.intrinsics.structuredClone(chunk, { transfer });
      defaultControllerEnqueue(c, chunk);
    }

    error(e = undefined) {
      const c = controllerOf(this);
      if (c === undefined) throw illegal();
      defaultControllerError(c, e);
    }
  }
  S.enumerable(ReadableStreamDefaultController.prototype, ['desiredSize', 'close', 'enqueue', 'error']);

  function defaultControllerPullSteps(c, request) {
    const stream = c.stream;
    if (c.queue.length > 0) {
      const chunk = S.dequeueValue(c);
      if (c.closeRequested && c.queue.length === 0) {
        clearAlgorithms(c);
        readableStreamClose(stream);
      } else {
        callPullIfNeeded(c);
      }
      request.chunk(chunk);
    } else {
      stream.reader.readRequests.push(request);
      callPullIfNeeded(c);
    }
  }

  function callPullIfNeeded(c) {
    if (!shouldCallPull(c)) return;
    if (c.pulling) {
      c.pullAgain = true;
      return;
    }
    c.pulling = true;
    react(c.pullAlgorithm(), () => {
      c.pulling = false;
      if (c.pullAgain) {
        c.pullAgain = false;
        callPullIfNeeded(c);
      }
    }, (e) => defaultControllerError(c, e));
  }

  function shouldCallPull(c) {
    const stream = c.stream;
    if (!canCloseOrEnqueue(c) || !c.started) return false;
    if (isLocked(stream) && hasDefaultReader(stream) && numReadRequests(stream) > 0) return true;
    return desiredSize(c) > 0;
  }

  function clearAlgorithms(c) {
    c.pullAlgorithm = undefined;
    c.cancelAlgorithm = undefined;
    c.sizeAlgorithm = undefined;
  }

  function defaultControllerClose(c) {
    if (!canCloseOrEnqueue(c)) return;
    c.closeRequested = true;
    if (c.queue.length === 0) {
      clearAlgorithms(c);
      readableStreamClose(c.stream);
    }
  }

  function defaultControllerEnqueue(c, chunk) {
    if (!canCloseOrEnqueue(c)) return;
    const stream = c.stream;
    if (isLocked(stream) && numReadRequests(stream) > 0) {
      fulfillReadRequest(stream, chunk, false);
    } else {
      let size;
      try {
        size = c.sizeAlgorithm(chunk);
        S.enqueueValueWithSize(c, chunk, size);
      } catch (error) {
        defaultControllerError(c, error);
        throw error;
      }
    }
    callPullIfNeeded(c);
  }

  function defaultControllerError(c, error) {
    if (c.stream.state !== 'readable') return;
    S.resetQueue(c);
    clearAlgorithms(c);
    readableStreamError(c.stream, error);
  }

  function desiredSize(c) {
    const state = c.stream.state;
    if (state === 'errored') return null;
    if (state === 'closed') return 0;
    return c.highWaterMark - c.queueTotalSize;
  }

  const canCloseOrEnqueue = (c) => !c.closeRequested && c.stream.state === 'readable';
  const hasBackpressure = (c) => !shouldCallPull(c);

  function setUpDefaultController(stream, c, startAlgorithm, pullAlgorithm, cancelAlgorithm, highWaterMark, sizeAlgorithm) {
    c.stream = stream;
    S.resetQueue(c);
    c.started = false;
    c.closeRequested = false;
    c.pullAgain = false;
    c.pulling = false;
    c.sizeAlgorithm = sizeAlgorithm;
    c.highWaterMark = highWaterMark;
    c.pullAlgorithm = pullAlgorithm;
    c.cancelAlgorithm = cancelAlgorithm;
    stream.controller = c;
    const startResult = startAlgorithm();
    react(resolved(startResult), () => {
      c.started = true;
      callPullIfNeeded(c);
    }, (e) => defaultControllerError(c, e));
  }

  function setUpDefaultControllerFromSource(stream, source, dict, highWaterMark, sizeAlgorithm) {
    const controller = new ReadableStreamDefaultController(INTERNAL);
    const c = controllerOf(controller);
    // An "owning" stream (a proposal in the Streams standard) transfers what enqueue() lists.
    c.owning = dict.type === 'owning';
    const start = dict.start === undefined ? () => undefined : () => Reflect.apply(dict.start, source, [controller]);
    const pull = () => promiseCall(dict.pull, source, [controller]);
    const cancel = (reason) => promiseCall(dict.cancel, source, [reason]);
    setUpDefaultController(stream, c, start, pull, cancel, highWaterMark, sizeAlgorithm);
  }

  // ---- async iteration ----
  const AsyncIteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype);
  const END = {};
  let iteratorOf;

  // The iterator's state lives in a private field of a base class whose constructor returns the
  // object to brand, so the prototype (next, return) has no `constructor`, as WebIDL's has none.
  class Brand {
    constructor(object) { return object; }
  }
  class IteratorState extends Brand {
    #r;
    constructor(object, reader, preventCancel) {
      super(object);
      this.#r = { __proto__: null, reader, preventCancel, ongoing: undefined, finished: false };
    }
    static { iteratorOf = (value) => (S.isObject(value) && #r in value ? value.#r : undefined); }
  }

  const iteratorMethods = {

    next() {
      const it = iteratorOf(this);
      if (it === undefined) return rejected(illegal());
      const nextSteps = () => {
        if (it.finished) return resolved({ value: undefined, done: true });
        const { promise, resolve, reject } = newPromise();
        const reader = it.reader;
        defaultReaderRead(reader, {
          chunk: (value) => resolve(value),
          close: () => { defaultReaderRelease(reader); resolve(END); },
          error: (e) => { defaultReaderRelease(reader); reject(e); },
        });
        return react(promise, (value) => {
          it.ongoing = undefined;
          if (value === END) {
            it.finished = true;
            return { value: undefined, done: true };
          }
          return { value, done: false };
        }, (error) => {
          it.ongoing = undefined;
          it.finished = true;
          throw error;
        });
      };
      it.ongoing = it.ongoing === undefined ? nextSteps() : react(it.ongoing, nextSteps, nextSteps);
      return it.ongoing;
    }
,

    return(value) {
      const it = iteratorOf(this);
      if (it === undefined) return rejected(illegal());
      const returnSteps = () => {
        if (it.finished) return resolved({ value, done: true });
        it.finished = true;
        const reader = it.reader;
        if (reader.stream === undefined) return resolved(undefined);
        if (!it.preventCancel) {
          const stream = reader.stream;
          const result = readableStreamCancel(stream, value);
          defaultReaderRelease(reader);
          return result;
        }
        defaultReaderRelease(reader);
        return resolved(undefined);
      };
      it.ongoing = it.ongoing === undefined ? returnSteps() : react(it.ongoing, returnSteps, returnSteps);
      return react(it.ongoing, () => ({ value, done: true }));
    }
  };
  const iteratorPrototype = Object.create(AsyncIteratorPrototype);
  for (const name of ['next', 'return']) {
    Object.defineProperty(iteratorPrototype, name, {
      value: iteratorMethods[name], writable: true, enumerable: true, configurable: true,
    });
  }
  Object.defineProperty(iteratorPrototype, Symbol.toStringTag, {
    value: 'ReadableStream AsyncIterator', configurable: true,
  });
  const newAsyncIterator = (reader, preventCancel) => new IteratorState(Object.create(iteratorPrototype), reader, preventCancel);

  // ---- ReadableStream.from ----
  function getAsyncIterator(object) {
    const asyncMethod = object === null || object === undefined ? undefined : object[Symbol.asyncIterator];
    if (asyncMethod !== undefined && asyncMethod !== null) {
      if (typeof asyncMethod !== 'function') throw new TypeError('Symbol.asyncIterator is not a function');
      const iterator = Reflect.apply(asyncMethod, object, []);
      if (!S.isObject(iterator)) throw new TypeError('The async iterator is not an object');
      return { iterator, next: iterator.next };
    }
    const syncMethod = object === null || object === undefined ? undefined : object[Symbol.iterator];
    if (syncMethod === undefined || syncMethod === null) throw new TypeError('The value is not async iterable');
    if (typeof syncMethod !== 'function') throw new TypeError('Symbol.iterator is not a function');
    const sync = Reflect.apply(syncMethod, object, []);
    if (!S.isObject(sync)) throw new TypeError('The iterator is not an object');
    const syncNext = sync.next;
    // CreateAsyncFromSyncIterator
    const continuation = (result) => {
      if (!S.isObject(result)) throw new TypeError('The iterator result is not an object');
      const done = Boolean(result.done);
      return react(resolved(result.value), (value) => ({ value, done }), (error) => {
        if (!done) closeSync();
        throw error;
      });
    };
    const closeSync = () => {
      try {
        const ret = sync.return;
        if (ret !== undefined && ret !== null) Reflect.apply(ret, sync, []);
      } catch { /* the original error wins */ }
    };
    const iterator = {
      next(v) {
        try {
          return continuation(Reflect.apply(syncNext, sync, [v]));
        } catch (error) {
          return rejected(error);
        }
      },
      return(v) {
        try {
          const ret = sync.return;
          if (ret === undefined || ret === null) return resolved({ value: v, done: true });
          const result = Reflect.apply(ret, sync, [v]);
          if (!S.isObject(result)) throw new TypeError('The iterator result is not an object');
          return continuation(result);
        } catch (error) {
          return rejected(error);
        }
      },
    };
    return { iterator, next: iterator.next };
  }

  function fromIterable(asyncIterable) {
    const record = getAsyncIterator(asyncIterable);
    let stream;
    const pull = () => {
      let nextResult;
      try {
        if (typeof record.next !== 'function') throw new TypeError('The iterator has no next method');
        nextResult = Reflect.apply(record.next, record.iterator, []);
      } catch (error) {
        return rejected(error);
      }
      return react(resolved(nextResult), (result) => {
        if (!S.isObject(result)) throw new TypeError('The iterator result is not an object');
        if (result.done) defaultControllerClose(stream.controller);
        else defaultControllerEnqueue(stream.controller, result.value);
      });
    };
    const cancel = (reason) => {
      let result;
      try {
        const ret = record.iterator.return;
        if (ret === undefined || ret === null) return resolved(undefined);
        if (typeof ret !== 'function') throw new TypeError('return is not a function');
        result = Reflect.apply(ret, record.iterator, [reason]);
      } catch (error) {
        return rejected(error);
      }
      return react(resolved(result), (value) => {
        if (!S.isObject(value)) throw new TypeError('The iterator result is not an object');
        return undefined;
      });
    };
    stream = createReadableStream(() => undefined, pull, cancel, 0);
    return stream;
  }

  Object.assign(S, {
    ReadableStream, streamOf, readerOf, controllerOf, createReadableStream, newReadableRecord, isLocked,
    readableStreamCancel, readableStreamClose, readableStreamError, fulfillReadRequest, numReadRequests,
    hasDefaultReader, readerGenericInitialize, readerGenericRelease, acquireDefaultReader, defaultReaderRead,
    defaultReaderRelease, defaultControllerClose, defaultControllerEnqueue, defaultControllerError,
    desiredSize, canCloseOrEnqueue, hasBackpressure, setUpDefaultController, callPullIfNeeded,
  });
  S.newDefaultController = () => controllerOf(new ReadableStreamDefaultController(INTERNAL));

  S.defineInterface('ReadableStream', ReadableStream);
  S.defineInterface('ReadableStreamDefaultReader', ReadableStreamDefaultReader);
  S.defineInterface('ReadableStreamDefaultController', ReadableStreamDefaultController);
})
