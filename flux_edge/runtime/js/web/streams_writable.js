// WHATWG Streams, part 4 of 7: WritableStream, its default writer and default controller (spec
// section 5).
(function (global, flux) {
  'use strict';

  const { Object, TypeError, RangeError, Reflect } = flux.intrinsics;
  const S = flux.streams;
  const { Queue, react, resolved, rejected, deferred, markHandled, promiseCall, INTERNAL } = S;
  const illegal = () => new TypeError('Illegal invocation');
  const CLOSE = Object.freeze({});

  // ---- WritableStream ----
  let streamOf;

  class WritableStream {
    #r;

    constructor(underlyingSink = undefined, strategy = undefined) {
      this.#r = { __proto__: null, object: this, state: 'writable', storedError: undefined, writer: undefined, controller: undefined,
        inFlightWriteRequest: undefined, closeRequest: undefined, inFlightCloseRequest: undefined,
        pendingAbortRequest: undefined, writeRequests: new Queue(), backpressure: false };
      if (underlyingSink === INTERNAL) return;
      S.optionalObject(underlyingSink, "Failed to construct 'WritableStream': underlyingSink");
      const strat = S.strategy(strategy, "Failed to construct 'WritableStream': strategy");
      const sink = underlyingSink === undefined ? {} : underlyingSink;
      const dict = {
        __proto__: null,
        abort: S.callback(sink.abort, 'underlyingSink.abort'),
        close: S.callback(sink.close, 'underlyingSink.close'),
        start: S.callback(sink.start, 'underlyingSink.start'),
        type: sink.type,
        write: S.callback(sink.write, 'underlyingSink.write'),
      };
      if (dict.type !== undefined) throw new RangeError('Invalid type is specified');
      const sizeAlgorithm = S.extractSizeAlgorithm(strat);
      const hwm = S.extractHighWaterMark(strat, 1);
      setUpControllerFromSink(this.#r, sink, dict, hwm, sizeAlgorithm);
    }

    static { streamOf = (value) => (S.isObject(value) && #r in value ? value.#r : undefined); }

    get locked() {
      const stream = streamOf(this);
      if (stream === undefined) throw illegal();
      return isLocked(stream);
    }

    abort(reason = undefined) {
      const stream = streamOf(this);
      if (stream === undefined) return rejected(illegal());
      if (isLocked(stream)) return rejected(new TypeError('Cannot abort a locked WritableStream'));
      return writableStreamAbort(stream, reason);
    }

    close() {
      const stream = streamOf(this);
      if (stream === undefined) return rejected(illegal());
      if (isLocked(stream)) return rejected(new TypeError('Cannot close a locked WritableStream'));
      if (closeQueuedOrInFlight(stream)) return rejected(new TypeError('The stream is already closing'));
      return writableStreamClose(stream);
    }

    getWriter() {
      const stream = streamOf(this);
      if (stream === undefined) throw illegal();
      return new WritableStreamDefaultWriter(stream.object);
    }
  }
  S.enumerable(WritableStream.prototype, ['locked', 'abort', 'close', 'getWriter']);

  const isLocked = (stream) => stream.writer !== undefined;

  function writableStreamAbort(stream, reason) {
    if (stream.state === 'closed' || stream.state === 'errored') return resolved(undefined);
    stream.controller.abortController.abort(reason);
    const state = stream.state;
    if (state === 'closed' || state === 'errored') return resolved(undefined);
    if (stream.pendingAbortRequest !== undefined) return stream.pendingAbortRequest.promise;
    let wasAlreadyErroring = false;
    if (state === 'erroring') {
      wasAlreadyErroring = true;
      reason = undefined;
    }
    const request = deferred();
    request.reason = reason;
    request.wasAlreadyErroring = wasAlreadyErroring;
    stream.pendingAbortRequest = request;
    if (!wasAlreadyErroring) startErroring(stream, reason);
    return request.promise;
  }

  function writableStreamClose(stream) {
    const state = stream.state;
    if (state === 'closed' || state === 'errored') {
      return rejected(new TypeError('The stream is closed or errored'));
    }
    const request = deferred();
    stream.closeRequest = request;
    const writer = stream.writer;
    if (writer !== undefined && stream.backpressure && state === 'writable') writer.ready.resolve(undefined);
    S.enqueueValueWithSize(stream.controller, CLOSE, 0);
    advanceQueueIfNeeded(stream.controller);
    return request.promise;
  }

  function addWriteRequest(stream) {
    const request = deferred();
    stream.writeRequests.push(request);
    return request.promise;
  }

  function dealWithRejection(stream, error) {
    if (stream.state === 'writable') {
      startErroring(stream, error);
      return;
    }
    finishErroring(stream);
  }

  function startErroring(stream, reason) {
    const controller = stream.controller;
    stream.state = 'erroring';
    stream.storedError = reason;
    const writer = stream.writer;
    if (writer !== undefined) writerEnsureReadyPromiseRejected(writer, reason);
    if (!hasOperationMarkedInFlight(stream) && controller.started) finishErroring(stream);
  }

  function finishErroring(stream) {
    stream.state = 'errored';
    S.resetQueue(stream.controller);
    const storedError = stream.storedError;
    for (const request of stream.writeRequests) request.reject(storedError);
    stream.writeRequests = new Queue();
    const abortRequest = stream.pendingAbortRequest;
    if (abortRequest === undefined) {
      rejectCloseAndClosedPromiseIfNeeded(stream);
      return;
    }
    stream.pendingAbortRequest = undefined;
    if (abortRequest.wasAlreadyErroring) {
      abortRequest.reject(storedError);
      rejectCloseAndClosedPromiseIfNeeded(stream);
      return;
    }
    const c = stream.controller;
    const promise = c.abortAlgorithm(abortRequest.reason);
    clearAlgorithms(c);
    react(promise, () => {
      abortRequest.resolve(undefined);
      rejectCloseAndClosedPromiseIfNeeded(stream);
    }, (reason) => {
      abortRequest.reject(reason);
      rejectCloseAndClosedPromiseIfNeeded(stream);
    });
  }

  function finishInFlightWrite(stream) {
    stream.inFlightWriteRequest.resolve(undefined);
    stream.inFlightWriteRequest = undefined;
  }

  function finishInFlightWriteWithError(stream, error) {
    stream.inFlightWriteRequest.reject(error);
    stream.inFlightWriteRequest = undefined;
    dealWithRejection(stream, error);
  }

  function finishInFlightClose(stream) {
    stream.inFlightCloseRequest.resolve(undefined);
    stream.inFlightCloseRequest = undefined;
    if (stream.state === 'erroring') {
      stream.storedError = undefined;
      if (stream.pendingAbortRequest !== undefined) {
        stream.pendingAbortRequest.resolve(undefined);
        stream.pendingAbortRequest = undefined;
      }
    }
    stream.state = 'closed';
    if (stream.writer !== undefined) stream.writer.closed.resolve(undefined);
  }

  function finishInFlightCloseWithError(stream, error) {
    stream.inFlightCloseRequest.reject(error);
    stream.inFlightCloseRequest = undefined;
    if (stream.pendingAbortRequest !== undefined) {
      stream.pendingAbortRequest.reject(error);
      stream.pendingAbortRequest = undefined;
    }
    dealWithRejection(stream, error);
  }

  const closeQueuedOrInFlight = (s) => s.closeRequest !== undefined || s.inFlightCloseRequest !== undefined;
  const hasOperationMarkedInFlight = (s) => s.inFlightWriteRequest !== undefined || s.inFlightCloseRequest !== undefined;

  function rejectCloseAndClosedPromiseIfNeeded(stream) {
    if (stream.closeRequest !== undefined) {
      stream.closeRequest.reject(stream.storedError);
      stream.closeRequest = undefined;
    }
    const writer = stream.writer;
    if (writer !== undefined) {
      writer.closed.reject(stream.storedError);
      markHandled(writer.closed.promise);
    }
  }

  function updateBackpressure(stream, backpressure) {
    const writer = stream.writer;
    if (writer !== undefined && backpressure !== stream.backpressure) {
      if (backpressure) writer.ready = deferred();
      else writer.ready.resolve(undefined);
    }
    stream.backpressure = backpressure;
  }

  // ---- WritableStreamDefaultWriter ----
  let writerOf;

  class WritableStreamDefaultWriter {
    #r;

    constructor(stream) {
      S.requireArguments(arguments.length, 1, "construct 'WritableStreamDefaultWriter'");
      const record = streamOf(stream);
      if (record === undefined) throw new TypeError("Failed to construct 'WritableStreamDefaultWriter': not a WritableStream");
      if (isLocked(record)) throw new TypeError('The WritableStream is already locked to a writer');
      const writer = { __proto__: null, object: this, stream: record, ready: deferred(), closed: deferred() };
      this.#r = writer;
      record.writer = writer;
      const state = record.state;
      if (state === 'writable') {
        if (closeQueuedOrInFlight(record) || !record.backpressure) writer.ready.resolve(undefined);
      } else if (state === 'erroring') {
        writer.ready.reject(record.storedError);
        markHandled(writer.ready.promise);
      } else if (state === 'closed') {
        writer.ready.resolve(undefined);
        writer.closed.resolve(undefined);
      } else {
        writer.ready.reject(record.storedError);
        markHandled(writer.ready.promise);
        writer.closed.reject(record.storedError);
        markHandled(writer.closed.promise);
      }
    }

    static { writerOf = (value) => (S.isObject(value) && #r in value ? value.#r : undefined); }

    get closed() {
      const writer = writerOf(this);
      if (writer === undefined) return rejected(illegal());
      return writer.closed.promise;
    }

    get desiredSize() {
      const writer = writerOf(this);
      if (writer === undefined) throw illegal();
      if (writer.stream === undefined) throw new TypeError('The writer has been released');
      return writerGetDesiredSize(writer);
    }

    get ready() {
      const writer = writerOf(this);
      if (writer === undefined) return rejected(illegal());
      return writer.ready.promise;
    }

    abort(reason = undefined) {
      const writer = writerOf(this);
      if (writer === undefined) return rejected(illegal());
      if (writer.stream === undefined) return rejected(new TypeError('The writer has been released'));
      return writableStreamAbort(writer.stream, reason);
    }

    close() {
      const writer = writerOf(this);
      if (writer === undefined) return rejected(illegal());
      const stream = writer.stream;
      if (stream === undefined) return rejected(new TypeError('The writer has been released'));
      if (closeQueuedOrInFlight(stream)) return rejected(new TypeError('The stream is already closing'));
      return writableStreamClose(stream);
    }

    releaseLock() {
      const writer = writerOf(this);
      if (writer === undefined) throw illegal();
      if (writer.stream === undefined) return;
      writerRelease(writer);
    }

    write(chunk = undefined) {
      const writer = writerOf(this);
      if (writer === undefined) return rejected(illegal());
      if (writer.stream === undefined) return rejected(new TypeError('The writer has been released'));
      return writerWrite(writer, chunk);
    }
  }
  S.enumerable(WritableStreamDefaultWriter.prototype, ['closed', 'desiredSize', 'ready', 'abort', 'close', 'releaseLock', 'write']);

  function writerCloseWithErrorPropagation(writer) {
    const stream = writer.stream;
    const state = stream.state;
    if (closeQueuedOrInFlight(stream) || state === 'closed') return resolved(undefined);
    if (state === 'errored') return rejected(stream.storedError);
    return writableStreamClose(stream);
  }

  function writerEnsureClosedPromiseRejected(writer, error) {
    if (writer.closed.state !== 'pending') writer.closed = deferred();
    writer.closed.reject(error);
    markHandled(writer.closed.promise);
  }

  function writerEnsureReadyPromiseRejected(writer, error) {
    if (writer.ready.state !== 'pending') writer.ready = deferred();
    writer.ready.reject(error);
    markHandled(writer.ready.promise);
  }

  function writerGetDesiredSize(writer) {
    const stream = writer.stream;
    const state = stream.state;
    if (state === 'errored' || state === 'erroring') return null;
    if (state === 'closed') return 0;
    return controllerGetDesiredSize(stream.controller);
  }

  function writerRelease(writer) {
    const stream = writer.stream;
    const error = new TypeError('The writer was released');
    writerEnsureReadyPromiseRejected(writer, error);
    writerEnsureClosedPromiseRejected(writer, error);
    stream.writer = undefined;
    writer.stream = undefined;
  }

  function writerWrite(writer, chunk) {
    const stream = writer.stream;
    const controller = stream.controller;
    const chunkSize = controllerGetChunkSize(controller, chunk);
    if (stream !== writer.stream) return rejected(new TypeError('The writer was released'));
    const state = stream.state;
    if (state === 'errored') return rejected(stream.storedError);
    if (closeQueuedOrInFlight(stream) || state === 'closed') return rejected(new TypeError('The stream is closing or closed'));
    if (state === 'erroring') return rejected(stream.storedError);
    const promise = addWriteRequest(stream);
    controllerWrite(controller, chunk, chunkSize);
    return promise;
  }

  // ---- WritableStreamDefaultController ----
  let controllerOf;

  class WritableStreamDefaultController {
    #r;

    constructor(token = undefined) {
      if (token !== INTERNAL) throw new TypeError('Illegal constructor');
      this.#r = { __proto__: null, object: this, stream: undefined };
    }

    static { controllerOf = (value) => (S.isObject(value) && #r in value ? value.#r : undefined); }

    get signal() {
      const c = controllerOf(this);
      if (c === undefined) throw illegal();
      return c.abortController.signal;
    }

    error(e = undefined) {
      const c = controllerOf(this);
      if (c === undefined) throw illegal();
      if (c.stream.state !== 'writable') return;
      controllerError(c, e);
    }
  }
  S.enumerable(WritableStreamDefaultController.prototype, ['signal', 'error']);

  function setUpController(stream, c, start, write, close, abort, highWaterMark, sizeAlgorithm) {
    c.stream = stream;
    stream.controller = c;
    S.resetQueue(c);
    c.abortController = new flux.AbortController();
    c.started = false;
    c.sizeAlgorithm = sizeAlgorithm;
    c.highWaterMark = highWaterMark;
    c.writeAlgorithm = write;
    c.closeAlgorithm = close;
    c.abortAlgorithm = abort;
    updateBackpressure(stream, controllerGetDesiredSize(c) <= 0);
    react(resolved(start()), () => {
      c.started = true;
      advanceQueueIfNeeded(c);
    }, (reason) => {
      c.started = true;
      dealWithRejection(stream, reason);
    });
  }

  function setUpControllerFromSink(stream, sink, dict, highWaterMark, sizeAlgorithm) {
    const controller = new WritableStreamDefaultController(INTERNAL);
    const start = dict.start === undefined ? () => undefined : () => Reflect.apply(dict.start, sink, [controller]);
    const write = (chunk) => promiseCall(dict.write, sink, [chunk, controller]);
    const close = () => promiseCall(dict.close, sink, []);
    const abort = (reason) => promiseCall(dict.abort, sink, [reason]);
    setUpController(stream, controllerOf(controller), start, write, close, abort, highWaterMark, sizeAlgorithm);
  }

  function advanceQueueIfNeeded(c) {
    const stream = c.stream;
    if (!c.started || stream.inFlightWriteRequest !== undefined) return;
    if (stream.state === 'erroring') {
      finishErroring(stream);
      return;
    }
    if (c.queue.length === 0) return;
    const value = S.peekQueueValue(c);
    if (value === CLOSE) processClose(c);
    else processWrite(c, value);
  }

  function clearAlgorithms(c) {
    c.writeAlgorithm = undefined;
    c.closeAlgorithm = undefined;
    c.abortAlgorithm = undefined;
    c.sizeAlgorithm = undefined;
  }

  function controllerError(c, error) {
    clearAlgorithms(c);
    startErroring(c.stream, error);
  }

  function controllerErrorIfNeeded(c, error) {
    if (c.stream.state === 'writable') controllerError(c, error);
  }

  function controllerGetChunkSize(c, chunk) {
    if (c.sizeAlgorithm === undefined) return 1;
    try {
      return c.sizeAlgorithm(chunk);
    } catch (error) {
      controllerErrorIfNeeded(c, error);
      return 1;
    }
  }

  const controllerGetDesiredSize = (c) => c.highWaterMark - c.queueTotalSize;

  function processClose(c) {
    const stream = c.stream;
    stream.inFlightCloseRequest = stream.closeRequest;
    stream.closeRequest = undefined;
    S.dequeueValue(c);
    const promise = c.closeAlgorithm();
    clearAlgorithms(c);
    react(promise, () => finishInFlightClose(stream), (reason) => finishInFlightCloseWithError(stream, reason));
  }

  function processWrite(c, chunk) {
    const stream = c.stream;
    stream.inFlightWriteRequest = stream.writeRequests.shift();
    react(c.writeAlgorithm(chunk), () => {
      finishInFlightWrite(stream);
      S.dequeueValue(c);
      if (!closeQueuedOrInFlight(stream) && stream.state === 'writable') {
        updateBackpressure(stream, controllerGetDesiredSize(c) <= 0);
      }
      advanceQueueIfNeeded(c);
    }, (reason) => {
      if (stream.state === 'writable') clearAlgorithms(c);
      finishInFlightWriteWithError(stream, reason);
    });
  }

  function controllerWrite(c, chunk, chunkSize) {
    try {
      S.enqueueValueWithSize(c, chunk, chunkSize);
    } catch (error) {
      controllerErrorIfNeeded(c, error);
      return;
    }
    const stream = c.stream;
    if (!closeQueuedOrInFlight(stream) && stream.state === 'writable') {
      updateBackpressure(stream, controllerGetDesiredSize(c) <= 0);
    }
    advanceQueueIfNeeded(c);
  }

  // CreateWritableStream
  S.createWritableStream = (start, write, close, abort, highWaterMark = 1, sizeAlgorithm = () => 1) => {
    const stream = streamOf(new WritableStream(INTERNAL));
    const c = controllerOf(new WritableStreamDefaultController(INTERNAL));
    setUpController(stream, c, start, write, close, abort, highWaterMark, sizeAlgorithm);
    return stream;
  };

  Object.assign(S, {
    WritableStream, writableOf: streamOf, isWritableLocked: isLocked, writableStreamAbort, writableStreamClose,
    writableCloseQueuedOrInFlight: closeQueuedOrInFlight, writableDealWithRejection: dealWithRejection,
    writableStartErroring: startErroring, writableFinishErroring: finishErroring,
    writableUpdateBackpressure: updateBackpressure, writableControllerErrorIfNeeded: controllerErrorIfNeeded,
    writableControllerError: controllerError, writerOf, acquireWriter: (stream) => writerOf(new WritableStreamDefaultWriter(stream.object)),
    writerCloseWithErrorPropagation, writerRelease, writerWrite, writerGetDesiredSize,
    writerEnsureReadyPromiseRejected,
  });

  S.defineInterface('WritableStream', WritableStream);
  S.defineInterface('WritableStreamDefaultWriter', WritableStreamDefaultWriter);
  S.defineInterface('WritableStreamDefaultController', WritableStreamDefaultController);
})
