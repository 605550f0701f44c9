// WHATWG Streams, part 6 of 7: TransformStream and its default controller (spec section 6).
(function (global, flux) {
  'use strict';

  const { Object, TypeError, RangeError, Reflect } = flux.intrinsics;
  const S = flux.streams;
  const { react, resolved, rejected, deferred, promiseCall, INTERNAL } = S;
  const illegal = () => new TypeError('Illegal invocation');

  let streamOf;

  class TransformStream {
    #r;

    constructor(transformer = undefined, writableStrategy = undefined, readableStrategy = undefined) {
      S.optionalObject(transformer, "Failed to construct 'TransformStream': transformer");
      const writable = S.strategy(writableStrategy, "Failed to construct 'TransformStream': writableStrategy");
      const readable = S.strategy(readableStrategy, "Failed to construct 'TransformStream': readableStrategy");
      const source = transformer === undefined ? {} : transformer;
      const dict = {
        __proto__: null,
        cancel: S.callback(source.cancel, 'transformer.cancel'),
        flush: S.callback(source.flush, 'transformer.flush'),
        readableType: source.readableType,
        start: S.callback(source.start, 'transformer.start'),
        transform: S.callback(source.transform, 'transformer.transform'),
        writableType: source.writableType,
      };
      if (dict.readableType !== undefined) throw new RangeError('Invalid readableType specified');
      if (dict.writableType !== undefined) throw new RangeError('Invalid writableType specified');
      const readableHWM = S.extractHighWaterMark(readable, 0);
      const readableSize = S.extractSizeAlgorithm(readable);
      const writableHWM = S.extractHighWaterMark(writable, 1);
      const writableSize = S.extractSizeAlgorithm(writable);
      const start = deferred();
      const stream = { __proto__: null, object: this };
      this.#r = stream;
      initialize(stream, start.promise, writableHWM, writableSize, readableHWM, readableSize);
      const controller = setUpControllerFromTransformer(stream, source, dict);
      if (dict.start !== undefined) start.resolve(Reflect.apply(dict.start, source, [controller]));
      else start.resolve(undefined);
    }

    static { streamOf = (value) => (S.isObject(value) && #r in value ? value.#r : undefined); }

    get readable() {
      const stream = streamOf(this);
      if (stream === undefined) throw illegal();
      return stream.readable.object;
    }

    get writable() {
      const stream = streamOf(this);
      if (stream === undefined) throw illegal();
      return stream.writable.object;
    }
  }
  S.enumerable(TransformStream.prototype, ['readable', 'writable']);

  function initialize(stream, startPromise, writableHWM, writableSize, readableHWM, readableSize) {
    const start = () => startPromise;
    stream.writable = S.createWritableStream(start, (chunk) => sinkWrite(stream, chunk), () => sinkClose(stream),
      (reason) => sinkAbort(stream, reason), writableHWM, writableSize);
    stream.readable = S.createReadableStream(start, () => sourcePull(stream), (reason) => sourceCancel(stream, reason),
      readableHWM, readableSize);
    stream.backpressure = undefined;
    stream.backpressureChange = undefined;
    setBackpressure(stream, true);
    stream.controller = undefined;
  }

  function transformStreamError(stream, error) {
    S.defaultControllerError(stream.readable.controller, error);
    errorWritableAndUnblockWrite(stream, error);
  }

  function errorWritableAndUnblockWrite(stream, error) {
    clearAlgorithms(stream.controller);
    S.writableControllerErrorIfNeeded(stream.writable.controller, error);
    unblockWrite(stream);
  }

  function unblockWrite(stream) {
    if (stream.backpressure) setBackpressure(stream, false);
  }

  function setBackpressure(stream, backpressure) {
    if (stream.backpressureChange !== undefined) stream.backpressureChange.resolve(undefined);
    stream.backpressureChange = deferred();
    stream.backpressure = backpressure;
  }

  // ---- TransformStreamDefaultController ----
  let controllerOf;

  class TransformStreamDefaultController {
    #r;

    constructor(token = undefined) {
      if (token !== INTERNAL) throw new TypeError('Illegal constructor');
      this.#r = { __proto__: null, object: this, stream: undefined, finish: undefined };
    }

    static { controllerOf = (value) => (S.isObject(value) && #r in value ? value.#r : undefined); }

    get desiredSize() {
      const c = controllerOf(this);
      if (c === undefined) throw illegal();
      return S.desiredSize(c.stream.readable.controller);
    }

    enqueue(chunk = undefined) {
      const c = controllerOf(this);
      if (c === undefined) throw illegal();
      controllerEnqueue(c, chunk);
    }

    error(reason = undefined) {
      const c = controllerOf(this);
      if (c === undefined) throw illegal();
      transformStreamError(c.stream, reason);
    }

    terminate() {
      const c = controllerOf(this);
      if (c === undefined) throw illegal();
      controllerTerminate(c);
    }
  }
  S.enumerable(TransformStreamDefaultController.prototype, ['desiredSize', 'enqueue', 'error', 'terminate']);

  function setUpController(stream, c, transform, flush, cancel) {
    c.stream = stream;
    stream.controller = c;
    c.transformAlgorithm = transform;
    c.flushAlgorithm = flush;
    c.cancelAlgorithm = cancel;
  }

  function setUpControllerFromTransformer(stream, transformer, dict) {
    const controller = new TransformStreamDefaultController(INTERNAL);
    const c = controllerOf(controller);
    let transform = (chunk) => {
      try {
        controllerEnqueue(c, chunk);
        return resolved(undefined);
      } catch (error) {
        return rejected(error);
      }
    };
    if (dict.transform !== undefined) transform = (chunk) => promiseCall(dict.transform, transformer, [chunk, controller]);
    const flush = () => promiseCall(dict.flush, transformer, [controller]);
    const cancel = (reason) => promiseCall(dict.cancel, transformer, [reason]);
    setUpController(stream, c, transform, flush, cancel);
    return controller;
  }

  function clearAlgorithms(c) {
    c.transformAlgorithm = undefined;
    c.flushAlgorithm = undefined;
    c.cancelAlgorithm = undefined;
  }

  function controllerEnqueue(c, chunk) {
    const stream = c.stream;
    const rc = stream.readable.controller;
    if (!S.canCloseOrEnqueue(rc)) throw new TypeError('The readable side cannot take more chunks');
    try {
      S.defaultControllerEnqueue(rc, chunk);
    } catch (error) {
      errorWritableAndUnblockWrite(stream, error);
      throw stream.readable.storedError;
    }
    const backpressure = S.hasBackpressure(rc);
    if (backpressure !== stream.backpressure) setBackpressure(stream, true);
  }

  function controllerTerminate(c) {
    const stream = c.stream;
    S.defaultControllerClose(stream.readable.controller);
    errorWritableAndUnblockWrite(stream, new TypeError('The TransformStream was terminated'));
  }

  function performTransform(c, chunk) {
    return react(c.transformAlgorithm(chunk), undefined, (reason) => {
      transformStreamError(c.stream, reason);
      throw reason;
    });
  }

  // ---- the sink and source algorithms ----
  function sinkWrite(stream, chunk) {
    const c = stream.controller;
    if (stream.backpressure) {
      return react(stream.backpressureChange.promise, () => {
        const writable = stream.writable;
        if (writable.state === 'erroring') throw writable.storedError;
        return performTransform(c, chunk);
      });
    }
    return performTransform(c, chunk);
  }

  function sinkAbort(stream, reason) {
    const c = stream.controller;
    if (c.finish !== undefined) return c.finish.promise;
    const readable = stream.readable;
    c.finish = deferred();
    const cancelPromise = c.cancelAlgorithm(reason);
    clearAlgorithms(c);
    react(cancelPromise, () => {
      if (readable.state === 'errored') c.finish.reject(readable.storedError);
      else {
        S.defaultControllerError(readable.controller, reason);
        c.finish.resolve(undefined);
      }
    }, (r) => {
      S.defaultControllerError(readable.controller, r);
      c.finish.reject(r);
    });
    return c.finish.promise;
  }

  function sinkClose(stream) {
    const c = stream.controller;
    if (c.finish !== undefined) return c.finish.promise;
    const readable = stream.readable;
    c.finish = deferred();
    const flushPromise = c.flushAlgorithm();
    clearAlgorithms(c);
    react(flushPromise, () => {
      if (readable.state === 'errored') c.finish.reject(readable.storedError);
      else {
        S.defaultControllerClose(readable.controller);
        c.finish.resolve(undefined);
      }
    }, (r) => {
      S.defaultControllerError(readable.controller, r);
      c.finish.reject(r);
    });
    return c.finish.promise;
  }

  function sourcePull(stream) {
    setBackpressure(stream, false);
    return stream.backpressureChange.promise;
  }

  function sourceCancel(stream, reason) {
    const c = stream.controller;
    if (c.finish !== undefined) return c.finish.promise;
    const writable = stream.writable;
    c.finish = deferred();
    const cancelPromise = c.cancelAlgorithm(reason);
    clearAlgorithms(c);
    react(cancelPromise, () => {
      if (writable.state === 'errored') c.finish.reject(writable.storedError);
      else {
        S.writableControllerErrorIfNeeded(writable.controller, reason);
        unblockWrite(stream);
        c.finish.resolve(undefined);
      }
    }, (r) => {
      S.writableControllerErrorIfNeeded(writable.controller, r);
      unblockWrite(stream);
      c.finish.reject(r);
    });
    return c.finish.promise;
  }

  // A TransformStream made by prelude code (TextEncoderStream, CompressionStream): `transform` and
  // `flush` get the internal controller record; returns the stream record.
  S.createTransformStream = (transform, flush, cancel = () => resolved(undefined)) => {
    const stream = { __proto__: null, object: undefined };
    const start = deferred();
    initialize(stream, start.promise, 1, () => 1, 0, () => 1);
    const c = controllerOf(new TransformStreamDefaultController(INTERNAL));
    setUpController(stream, c, (chunk) => {
      try {
        return resolved(transform(chunk, c));
      } catch (error) {
        return rejected(error);
      }
    }, () => {
      try {
        return resolved(flush(c));
      } catch (error) {
        return rejected(error);
      }
    }, cancel);
    start.resolve(undefined);
    return stream;
  };
  S.transformEnqueue = controllerEnqueue;
  S.transformStreamOf = streamOf;

  S.defineInterface('TransformStream', TransformStream);
  S.defineInterface('TransformStreamDefaultController', TransformStreamDefaultController);
})
