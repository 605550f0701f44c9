// Loads the streams files (and the APIs built on them) on first use, so a function that never
// touches a stream pays almost nothing for them at boot: webapi.py puts their sources here as
// JSON in a function that returns it (in place of __FLUX_STREAM_SOURCES__; V8 only scans a
// string literal of a function that has not run), which webutil.defineLazyGlobals evaluates
// when one of the globals is first read or written. The files are functions of
// `(global, flux)`: `flux` holds what no user code can reach (the shared helpers, abort
// algorithms, the host bridge for compression) and `flux.intrinsics`, the global object's values
// as they were when the prelude ran, so user code replacing a global before the first use cannot
// change how streams behave.
// blob.js and body.js reach the streams through the internal global `__flux_streams`, which
// body.js deletes.
(function (global) {
  'use strict';

  const { Object, Promise, TypeError } = global;
  const webutil = global.__flux_webutil;
  const abort = global.__flux_abort;
  delete global.__flux_abort;

  const intrinsics = Object.create(null);
  for (const name of Object.getOwnPropertyNames(global)) {
    const descriptor = Object.getOwnPropertyDescriptor(global, name);
    if ('value' in descriptor) intrinsics[name] = descriptor.value;
  }

  const flux = {
    __proto__: null,
    webutil,
    intrinsics,
    promiseThen: Promise.prototype.then,
    AbortController: global.AbortController,
    isAbortSignal: abort.isSignal,
    addAbortAlgorithm: abort.onAbort,
    removeAbortAlgorithm: abort.offAbort,
    TextEncoder: global.TextEncoder,
    TextDecoder: global.TextDecoder,
    hostCall: () => Promise.reject(new TypeError('This operation is only available during a call')),
    hostOwner: () => null,
    streams: null,
  };

  const NAMES = [
    'ReadableStream', 'ReadableStreamDefaultReader', 'ReadableStreamDefaultController',
    'ReadableByteStreamController', 'ReadableStreamBYOBRequest', 'ReadableStreamBYOBReader',
    'WritableStream', 'WritableStreamDefaultWriter', 'WritableStreamDefaultController',
    'TransformStream', 'TransformStreamDefaultController', 'ByteLengthQueuingStrategy',
    'CountQueuingStrategy', 'TextEncoderStream', 'TextDecoderStream', 'CompressionStream',
    'DecompressionStream',
  ];
  const SOURCES = __FLUX_STREAM_SOURCES__;

  const load = webutil.defineLazyGlobals(NAMES, SOURCES, flux);

  Object.defineProperty(global, '__flux_streams', {
    value: Object.freeze({
      // The streams' internals (flux.streams), loading them first if need be.
      load: () => {
        load();
        return flux.streams;
      },
      loaded: () => flux.streams !== null,
      // core.js's host bridge, handed over (through body.js) once core.js has made it.
      attachHost: (host) => {
        flux.hostCall = host.hostCall;
        flux.hostOwner = host.owner;
      },
    }),
    configurable: true,
  });
})(globalThis);
