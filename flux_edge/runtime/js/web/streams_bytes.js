// WHATWG Streams, part 3 of 7: readable byte streams (spec section 4.7-4.9): the byte stream
// controller, BYOB requests and the BYOB reader, with the `min` option of read().
(function (global, flux) {
  'use strict';

  const { Object, TypeError, RangeError, Symbol, Reflect, ArrayBuffer, Uint8Array, DataView, Math } = flux.intrinsics;
  const S = flux.streams;
  const { Queue, react, resolved, rejected, newPromise, promiseCall, INTERNAL } = S;
  const illegal = () => new TypeError('Illegal invocation');

  // ---- ArrayBufferView internals, read through intrinsic getters ----
  const typedProto = Object.getPrototypeOf(Uint8Array.prototype);
  const getter = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
  const typedTag = getter(typedProto, Symbol.toStringTag);
  const typedBuffer = getter(typedProto, 'buffer');
  const typedOffset = getter(typedProto, 'byteOffset');
  const typedByteLength = getter(typedProto, 'byteLength');
  const typedLength = getter(typedProto, 'length');
  const viewBuffer = getter(DataView.prototype, 'buffer');
  const viewOffset = getter(DataView.prototype, 'byteOffset');
  const viewByteLength = getter(DataView.prototype, 'byteLength');
  const TYPED = Object.create(null);
  for (const name of ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
    'Uint32Array', 'Float16Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array']) {
    if (typeof flux.intrinsics[name] === 'function') TYPED[name] = flux.intrinsics[name];
  }

  // {buffer, byteOffset, byteLength, elementSize, ctor, length} of an ArrayBufferView, else undefined.
  function viewInfo(view) {
    if (!S.isObject(view)) return undefined;
    const tag = typedTag.call(view);
    if (tag !== undefined) {
      const ctor = TYPED[tag];
      return { buffer: typedBuffer.call(view), byteOffset: typedOffset.call(view), byteLength: typedByteLength.call(view),
        elementSize: ctor.BYTES_PER_ELEMENT, ctor, length: typedLength.call(view) };
    }
    try {
      const byteLength = viewByteLength.call(view);
      return { buffer: viewBuffer.call(view), byteOffset: viewOffset.call(view), byteLength, elementSize: 1,
        ctor: DataView, length: byteLength };
    } catch {
      return undefined;
    }
  }
  S.viewInfo = viewInfo;

  // ---- ReadableByteStreamController ----
  let controllerOf;

  class ReadableByteStreamController {
    #r;

    constructor(token = undefined) {
      if (token !== INTERNAL) throw new TypeError('Illegal constructor');
      const c = { __proto__: null, object: this, kind: 'byte', stream: undefined, byobRequest: null, pendingPullIntos: [] };
      c.cancelSteps = (reason) => {
        clearPendingPullIntos(c);
        S.resetQueue(c);
        const result = c.cancelAlgorithm(reason);
        clearAlgorithms(c);
        return result;
      };
      c.pullSteps = (request) => pullSteps(c, request);
      c.releaseSteps = () => {
        if (c.pendingPullIntos.length > 0) {
          const first = c.pendingPullIntos[0];
          first.readerType = 'none';
          c.pendingPullIntos = [first];
        }
      };
      this.#r = c;
    }

    static { controllerOf = (value) => (S.isObject(value) && #r in value ? value.#r : undefined); }

    get byobRequest() {
      const c = controllerOf(this);
      if (c === undefined) throw illegal();
      return getBYOBRequest(c);
    }

    get desiredSize() {
      const c = controllerOf(this);
      if (c === undefined) throw illegal();
      return S.desiredSize(c);
    }

    close() {
      const c = controllerOf(this);
      if (c === undefined) throw illegal();
      if (c.closeRequested) throw new TypeError('The stream is already closing');
      if (c.stream.state !== 'readable') throw new TypeError('The stream is not readable');
      byteControllerClose(c);
    }

    enqueue(chunk) {
      const c = controllerOf(this);
      if (c === undefined) throw illegal();
      S.requireArguments(arguments.length, 1, "execute 'enqueue' on 'ReadableByteStreamController'");
      const info = viewInfo(chunk);
      if (info === undefined) throw new TypeError('chunk must be an ArrayBufferView');
      if (info.byteLength === 0) throw new TypeError('chunk must not be empty');
      if (S.bufferByteLength(info.buffer) === 0) throw new TypeError("chunk's buffer is detached or empty");
      if (c.closeRequested) throw new TypeError('The stream is closing');
      if (c.stream.state !== 'readable') throw new TypeError('The stream is not readable');
      byteControllerEnqueue(c, info);
    }

    error(e = undefined) {
      const c = controllerOf(this);
      if (c === undefined) throw illegal();
      byteControllerError(c, e);
    }
  }
  S.enumerable(ReadableByteStreamController.prototype, ['byobRequest', 'desiredSize', 'close', 'enqueue', 'error']);

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
    }, (e) => byteControllerError(c, e));
  }

  function shouldCallPull(c) {
    const stream = c.stream;
    if (stream.state !== 'readable' || c.closeRequested || !c.started) return false;
    const reader = stream.reader;
    if (reader !== undefined && reader.kind === 'default' && reader.readRequests.length > 0) return true;
    if (reader !== undefined && reader.kind === 'byob' && reader.readIntoRequests.length > 0) return true;
    return S.desiredSize(c) > 0;
  }

  function clearAlgorithms(c) {
    c.pullAlgorithm = undefined;
    c.cancelAlgorithm = undefined;
  }

  function clearPendingPullIntos(c) {
    invalidateBYOBRequest(c);
    c.pendingPullIntos = [];
  }

  function byteControllerClose(c) {
    const stream = c.stream;
    if (c.closeRequested || stream.state !== 'readable') return;
    if (c.queueTotalSize > 0) {
      c.closeRequested = true;
      return;
    }
    if (c.pendingPullIntos.length > 0) {
      const first = c.pendingPullIntos[0];
      if (first.bytesFilled % first.elementSize !== 0) {
        const error = new TypeError('Insufficient bytes to fill elements in the given buffer');
        byteControllerError(c, error);
        throw error;
      }
    }
    clearAlgorithms(c);
    S.readableStreamClose(stream);
  }

  function commitPullIntoDescriptor(stream, pid) {
    let done = false;
    if (stream.state === 'closed') done = true;
    const filledView = convertPullIntoDescriptor(pid);
    if (pid.readerType === 'default') S.fulfillReadRequest(stream, filledView, done);
    else fulfillReadIntoRequest(stream, filledView, done);
  }

  function convertPullIntoDescriptor(pid) {
    const buffer = S.transferBuffer(pid.buffer);
    return new pid.viewConstructor(buffer, pid.byteOffset, pid.bytesFilled / pid.elementSize);
  }

  function byteControllerEnqueue(c, info) {
    const stream = c.stream;
    if (c.closeRequested || stream.state !== 'readable') return;
    const { buffer, byteOffset, byteLength } = info;
    if (S.isDetached(buffer)) throw new TypeError("chunk's buffer is detached");
    const transferred = S.transferBuffer(buffer);
    if (c.pendingPullIntos.length > 0) {
      const first = c.pendingPullIntos[0];
      if (S.isDetached(first.buffer)) throw new TypeError("The BYOB request's buffer is detached");
      invalidateBYOBRequest(c);
      first.buffer = S.transferBuffer(first.buffer);
      if (first.readerType === 'none') enqueueDetachedPullIntoToQueue(c, first);
    }
    const reader = stream.reader;
    if (reader !== undefined && reader.kind === 'default') {
      processReadRequestsUsingQueue(c);
      if (reader.readRequests.length === 0) {
        enqueueChunkToQueue(c, transferred, byteOffset, byteLength);
      } else {
        if (c.pendingPullIntos.length > 0) shiftPendingPullInto(c);
        S.fulfillReadRequest(stream, new Uint8Array(transferred, byteOffset, byteLength), false);
      }
    } else if (reader !== undefined && reader.kind === 'byob') {
      enqueueChunkToQueue(c, transferred, byteOffset, byteLength);
      for (const pid of processPullIntoDescriptorsUsingQueue(c)) commitPullIntoDescriptor(stream, pid);
    } else {
      enqueueChunkToQueue(c, transferred, byteOffset, byteLength);
    }
    callPullIfNeeded(c);
  }

  function enqueueChunkToQueue(c, buffer, byteOffset, byteLength) {
    c.queue.push({ __proto__: null, buffer, byteOffset, byteLength });
    c.queueTotalSize += byteLength;
  }

  function enqueueClonedChunkToQueue(c, buffer, byteOffset, byteLength) {
    let clone;
    try {
      clone = S.cloneBufferRange(buffer, byteOffset, byteLength);
    } catch (error) {
      byteControllerError(c, error);
      throw error;
    }
    enqueueChunkToQueue(c, clone, 0, byteLength);
  }

  function enqueueDetachedPullIntoToQueue(c, pid) {
    if (pid.bytesFilled > 0) enqueueClonedChunkToQueue(c, pid.buffer, pid.byteOffset, pid.bytesFilled);
    shiftPendingPullInto(c);
  }

  function byteControllerError(c, error) {
    const stream = c.stream;
    if (stream.state !== 'readable') return;
    clearPendingPullIntos(c);
    S.resetQueue(c);
    clearAlgorithms(c);
    S.readableStreamError(stream, error);
  }

  function fillHeadPullIntoDescriptor(c, size, pid) {
    pid.bytesFilled += size;
  }

  function fillPullIntoDescriptorFromQueue(c, pid) {
    const maxBytesToCopy = Math.min(c.queueTotalSize, pid.byteLength - pid.bytesFilled);
    const maxBytesFilled = pid.bytesFilled + maxBytesToCopy;
    let remaining = maxBytesToCopy;
    let ready = false;
    const maxAlignedBytes = maxBytesFilled - (maxBytesFilled % pid.elementSize);
    if (maxAlignedBytes >= pid.minimumFill) {
      remaining = maxAlignedBytes - pid.bytesFilled;
      ready = true;
    }
    const queue = c.queue;
    while (remaining > 0) {
      const head = queue.peek();
      const bytesToCopy = Math.min(remaining, head.byteLength);
      S.copyBytes(pid.buffer, pid.byteOffset + pid.bytesFilled, head.buffer, head.byteOffset, bytesToCopy);
      if (head.byteLength === bytesToCopy) queue.shift();
      else {
        head.byteOffset += bytesToCopy;
        head.byteLength -= bytesToCopy;
      }
      c.queueTotalSize -= bytesToCopy;
      fillHeadPullIntoDescriptor(c, bytesToCopy, pid);
      remaining -= bytesToCopy;
    }
    return ready;
  }

  function fillReadRequestFromQueue(c, request) {
    const entry = c.queue.shift();
    c.queueTotalSize -= entry.byteLength;
    handleQueueDrain(c);
    request.chunk(new Uint8Array(entry.buffer, entry.byteOffset, entry.byteLength));
  }

  function getBYOBRequest(c) {
    if (c.byobRequest === null && c.pendingPullIntos.length > 0) {
      const first = c.pendingPullIntos[0];
      const view = new Uint8Array(first.buffer, first.byteOffset + first.bytesFilled, first.byteLength - first.bytesFilled);
      c.byobRequest = new ReadableStreamBYOBRequest(INTERNAL, c, view);
    }
    return c.byobRequest;
  }

  function handleQueueDrain(c) {
    if (c.queueTotalSize === 0 && c.closeRequested) {
      clearAlgorithms(c);
      S.readableStreamClose(c.stream);
    } else {
      callPullIfNeeded(c);
    }
  }

  function invalidateBYOBRequest(c) {
    if (c.byobRequest === null) return;
    requestOf(c.byobRequest).controller = undefined;
    requestOf(c.byobRequest).view = null;
    c.byobRequest = null;
  }

  function processPullIntoDescriptorsUsingQueue(c) {
    const filled = [];
    while (c.pendingPullIntos.length > 0) {
      if (c.queueTotalSize === 0) break;
      const pid = c.pendingPullIntos[0];
      if (fillPullIntoDescriptorFromQueue(c, pid)) {
        shiftPendingPullInto(c);
        filled.push(pid);
      }
    }
    return filled;
  }

  function processReadRequestsUsingQueue(c) {
    const reader = c.stream.reader;
    while (reader.readRequests.length > 0) {
      if (c.queueTotalSize === 0) return;
      fillReadRequestFromQueue(c, reader.readRequests.shift());
    }
  }

  function pullInto(c, info, min, request) {
    const stream = c.stream;
    const minimumFill = min * info.elementSize;
    let buffer;
    try {
      buffer = S.transferBuffer(info.buffer);
    } catch (error) {
      request.error(error);
      return;
    }
    const pid = { __proto__: null, buffer, bufferByteLength: S.bufferByteLength(buffer), byteOffset: info.byteOffset,
      byteLength: info.byteLength, bytesFilled: 0, minimumFill, elementSize: info.elementSize,
      viewConstructor: info.ctor, readerType: 'byob' };
    if (c.pendingPullIntos.length > 0) {
      c.pendingPullIntos.push(pid);
      stream.reader.readIntoRequests.push(request);
      return;
    }
    if (stream.state === 'closed') {
      request.close(new pid.viewConstructor(pid.buffer, pid.byteOffset, 0));
      return;
    }
    if (c.queueTotalSize > 0) {
      if (fillPullIntoDescriptorFromQueue(c, pid)) {
        const filledView = convertPullIntoDescriptor(pid);
        handleQueueDrain(c);
        request.chunk(filledView);
        return;
      }
      if (c.closeRequested) {
        const error = new TypeError('Insufficient bytes to fill elements in the given buffer');
        byteControllerError(c, error);
        request.error(error);
        return;
      }
    }
    c.pendingPullIntos.push(pid);
    stream.reader.readIntoRequests.push(request);
    callPullIfNeeded(c);
  }

  function respond(c, bytesWritten) {
    const first = c.pendingPullIntos[0];
    if (c.stream.state === 'closed') {
      if (bytesWritten !== 0) throw new TypeError('bytesWritten must be 0 when calling respond() on a closed stream');
    } else {
      if (bytesWritten === 0) throw new TypeError('bytesWritten must be greater than 0 when calling respond() on a readable stream');
      if (first.bytesFilled + bytesWritten > first.byteLength) throw new RangeError('bytesWritten out of range');
    }
    first.buffer = S.transferBuffer(first.buffer);
    respondInternal(c, bytesWritten);
  }

  function respondInClosedState(c, first) {
    if (first.readerType === 'none') shiftPendingPullInto(c);
    const stream = c.stream;
    const reader = stream.reader;
    if (reader !== undefined && reader.kind === 'byob') {
      const filled = [];
      while (filled.length < reader.readIntoRequests.length) filled.push(shiftPendingPullInto(c));
      for (const pid of filled) commitPullIntoDescriptor(stream, pid);
    }
  }

  function respondInReadableState(c, bytesWritten, pid) {
    fillHeadPullIntoDescriptor(c, bytesWritten, pid);
    if (pid.readerType === 'none') {
      enqueueDetachedPullIntoToQueue(c, pid);
      for (const filled of processPullIntoDescriptorsUsingQueue(c)) commitPullIntoDescriptor(c.stream, filled);
      return;
    }
    if (pid.bytesFilled < pid.minimumFill) return;
    shiftPendingPullInto(c);
    const remainder = pid.bytesFilled % pid.elementSize;
    if (remainder > 0) {
      const end = pid.byteOffset + pid.bytesFilled;
      enqueueClonedChunkToQueue(c, pid.buffer, end - remainder, remainder);
    }
    pid.bytesFilled -= remainder;
    const filledPullIntos = processPullIntoDescriptorsUsingQueue(c);
    commitPullIntoDescriptor(c.stream, pid);
    for (const filled of filledPullIntos) commitPullIntoDescriptor(c.stream, filled);
  }

  function respondInternal(c, bytesWritten) {
    const first = c.pendingPullIntos[0];
    invalidateBYOBRequest(c);
    if (c.stream.state === 'closed') respondInClosedState(c, first);
    else respondInReadableState(c, bytesWritten, first);
    callPullIfNeeded(c);
  }

  function respondWithNewView(c, info) {
    const first = c.pendingPullIntos[0];
    if (c.stream.state === 'closed') {
      if (info.byteLength !== 0) throw new TypeError('The view must be empty when the stream is closed');
    } else if (info.byteLength === 0) {
      throw new TypeError('The view must not be empty when the stream is readable');
    }
    if (first.byteOffset + first.bytesFilled !== info.byteOffset) throw new RangeError('The region specified by view does not match byobRequest');
    if (first.bufferByteLength !== S.bufferByteLength(info.buffer)) throw new RangeError('The buffer of view has a different capacity than byobRequest');
    if (first.bytesFilled + info.byteLength > first.byteLength) throw new RangeError('The region specified by view is larger than byobRequest');
    const length = info.byteLength;
    first.buffer = S.transferBuffer(info.buffer);
    respondInternal(c, length);
  }

  function shiftPendingPullInto(c) {
    return c.pendingPullIntos.shift();
  }

  function pullSteps(c, request) {
    const stream = c.stream;
    if (c.queueTotalSize > 0) {
      fillReadRequestFromQueue(c, request);
      return;
    }
    const size = c.autoAllocateChunkSize;
    if (size !== undefined) {
      let buffer;
      try {
        buffer = new ArrayBuffer(size);
      } catch (error) {
        request.error(error);
        return;
      }
      c.pendingPullIntos.push({ __proto__: null, buffer, bufferByteLength: size, byteOffset: 0, byteLength: size, bytesFilled: 0,
        minimumFill: 1, elementSize: 1, viewConstructor: Uint8Array, readerType: 'default' });
    }
    stream.reader.readRequests.push(request);
    callPullIfNeeded(c);
  }

  function setUpByteController(stream, c, start, pull, cancel, highWaterMark, autoAllocateChunkSize) {
    c.stream = stream;
    c.pullAgain = false;
    c.pulling = false;
    c.byobRequest = null;
    S.resetQueue(c);
    c.closeRequested = false;
    c.started = false;
    c.highWaterMark = highWaterMark;
    c.pullAlgorithm = pull;
    c.cancelAlgorithm = cancel;
    c.autoAllocateChunkSize = autoAllocateChunkSize;
    c.pendingPullIntos = [];
    stream.controller = c;
    react(resolved(start()), () => {
      c.started = true;
      callPullIfNeeded(c);
    }, (e) => byteControllerError(c, e));
  }

  S.setUpByteControllerFromSource = (stream, source, dict, highWaterMark) => {
    const controller = new ReadableByteStreamController(INTERNAL);
    const start = dict.start === undefined ? () => undefined : () => Reflect.apply(dict.start, source, [controller]);
    const pull = () => promiseCall(dict.pull, source, [controller]);
    const cancel = (reason) => promiseCall(dict.cancel, source, [reason]);
    if (dict.autoAllocateChunkSize === 0) throw new TypeError('autoAllocateChunkSize must be greater than 0');
    setUpByteController(stream, controllerOf(controller), start, pull, cancel, highWaterMark, dict.autoAllocateChunkSize);
  };

  // CreateReadableByteStream
  S.createReadableByteStream = (start, pull, cancel) => {
    const stream = S.newReadableRecord();
    const c = controllerOf(new ReadableByteStreamController(INTERNAL));
    setUpByteController(stream, c, start, pull, cancel, 0, undefined);
    return stream;
  };

  // ---- ReadableStreamBYOBRequest ----
  let requestOf;

  class ReadableStreamBYOBRequest {
    #r;
    constructor(token = undefined, controller = undefined, view = undefined) {
      if (token !== INTERNAL) throw new TypeError('Illegal constructor');
      this.#r = { __proto__: null, controller, view };
    }
    static { requestOf = (value) => (S.isObject(value) && #r in value ? value.#r : undefined); }

    get view() {
      const r = requestOf(this);
      if (r === undefined) throw illegal();
      return r.view;
    }

    respond(bytesWritten) {
      const r = requestOf(this);
      if (r === undefined) throw illegal();
      S.requireArguments(arguments.length, 1, "execute 'respond' on 'ReadableStreamBYOBRequest'");
      const n = S.enforceRange(bytesWritten, 'bytesWritten');
      if (r.controller === undefined) throw new TypeError('This BYOB request has been invalidated');
      if (S.isDetached(viewInfo(r.view).buffer)) throw new TypeError("The BYOB request's buffer is detached");
      respond(r.controller, n);
    }

    respondWithNewView(view) {
      const r = requestOf(this);
      if (r === undefined) throw illegal();
      S.requireArguments(arguments.length, 1, "execute 'respondWithNewView' on 'ReadableStreamBYOBRequest'");
      const info = viewInfo(view);
      if (info === undefined) throw new TypeError('view must be an ArrayBufferView');
      if (r.controller === undefined) throw new TypeError('This BYOB request has been invalidated');
      if (S.isDetached(info.buffer)) throw new TypeError("The view's buffer is detached");
      respondWithNewView(r.controller, info);
    }
  }
  S.enumerable(ReadableStreamBYOBRequest.prototype, ['view', 'respond', 'respondWithNewView']);

  // ---- ReadableStreamBYOBReader ----
  let readerOf;

  class ReadableStreamBYOBReader {
    #r;

    constructor(stream) {
      S.requireArguments(arguments.length, 1, "construct 'ReadableStreamBYOBReader'");
      const record = S.streamOf(stream);
      if (record === undefined) throw new TypeError("Failed to construct 'ReadableStreamBYOBReader': not a ReadableStream");
      this.#r = { __proto__: null, object: this, kind: 'byob', stream: undefined, closed: undefined, readIntoRequests: new Queue() };
      if (S.isLocked(record)) throw new TypeError('The ReadableStream is already locked to a reader');
      if (record.controller.kind !== 'byte') throw new TypeError('A BYOB reader needs a byte stream');
      S.readerGenericInitialize(this.#r, record);
      this.#r.readIntoRequests = new Queue();
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
      return S.readableStreamCancel(reader.stream, reason);
    }

    read(view, options = undefined) {
      const reader = readerOf(this);
      if (reader === undefined) return rejected(illegal());
      const info = viewInfo(view);
      if (info === undefined) return rejected(new TypeError('view must be an ArrayBufferView'));
      let min;
      try {
        const dict = S.dictionary(options, "Failed to execute 'read': options");
        min = dict.min === undefined ? 1 : S.enforceRange(dict.min, 'min');
      } catch (error) {
        return rejected(error);
      }
      if (info.byteLength === 0) return rejected(new TypeError('view must have a non-zero byteLength'));
      if (S.bufferByteLength(info.buffer) === 0) return rejected(new TypeError("view's buffer must have a non-zero byteLength"));
      if (S.isDetached(info.buffer)) return rejected(new TypeError("view's buffer is detached"));
      if (min === 0) return rejected(new TypeError('min must be greater than 0'));
      if (min > info.length) return rejected(new RangeError('min must not exceed the length of view'));
      if (reader.stream === undefined) return rejected(new TypeError('The reader has been released'));
      const { promise, resolve, reject } = newPromise();
      byobReaderRead(reader, info, min, {
        chunk: (value) => resolve({ value, done: false }),
        close: (value) => resolve({ value, done: true }),
        error: (e) => reject(e),
      });
      return promise;
    }

    releaseLock() {
      const reader = readerOf(this);
      if (reader === undefined) throw illegal();
      if (reader.stream === undefined) return;
      byobReaderRelease(reader);
    }
  }
  S.enumerable(ReadableStreamBYOBReader.prototype, ['closed', 'cancel', 'read', 'releaseLock']);

  function byobReaderRead(reader, info, min, request) {
    const stream = reader.stream;
    stream.disturbed = true;
    if (stream.state === 'errored') request.error(stream.storedError);
    else pullInto(stream.controller, info, min, request);
  }

  function byobReaderRelease(reader) {
    S.readerGenericRelease(reader);
    S.byobReaderErrorReadIntoRequests(reader, new TypeError('The reader was released'));
  }

  S.byobReaderErrorReadIntoRequests = (reader, error) => {
    const requests = reader.readIntoRequests;
    reader.readIntoRequests = new Queue();
    for (const request of requests) request.error(error);
  };

  function fulfillReadIntoRequest(stream, chunk, done) {
    const request = stream.reader.readIntoRequests.shift();
    if (done) request.close(chunk);
    else request.chunk(chunk);
  }

  S.acquireBYOBReader = (stream) => new ReadableStreamBYOBReader(stream.object);
  Object.assign(S, {
    byobReaderRead, byobReaderRelease, byteControllerClose, byteControllerEnqueue, byteControllerError,
    getBYOBRequest, byteRespond: respond, byteRespondWithNewView: respondWithNewView,
    byobRequestOf: requestOf, byobReaderOf: readerOf,
  });

  S.defineInterface('ReadableByteStreamController', ReadableByteStreamController);
  S.defineInterface('ReadableStreamBYOBRequest', ReadableStreamBYOBRequest);
  S.defineInterface('ReadableStreamBYOBReader', ReadableStreamBYOBReader);
})
