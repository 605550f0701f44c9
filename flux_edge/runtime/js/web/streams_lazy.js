// Loads the streams files (and the APIs built on them) on first use, so a function that never
// touches a stream does not pay for compiling and running them at boot. The stream interfaces
// are accessors on the global object until then; the first read or write of any of them runs the
// files (webapi.py puts them where the STREAM FILES marker is, each as a function of
// `(global, flux)`). The files see `global`: the global object's values as they were when the
// prelude ran, so user code replacing a global before the first use cannot change how streams
// behave; and `flux`: internals no user code can reach (the shared helpers, abort algorithms,
// the host bridge for compression). body.js and request_response.js reach the streams through
// `__flux_web.streams()`.
(function (global) {
  'use strict';

  const { Object, Promise } = global;
  const webutil = global.__flux_webutil;
  const web = global.__flux_web;
  const abort = global.__flux_abort;
  delete global.__flux_abort;
  const { defineHidden } = webutil;

  const snapshot = Object.create(null);
  for (const name of Object.getOwnPropertyNames(global)) {
    const descriptor = Object.getOwnPropertyDescriptor(global, name);
    if ('value' in descriptor) snapshot[name] = descriptor.value;
  }

  const flux = {
    webutil,
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

  let loaded = false;
  function load() {
    if (!loaded) {
      loaded = true;
      const files = [
        /* STREAM FILES */
      ];
      for (const file of files) file(snapshot, flux);
    }
    return flux.streams;
  }

  for (const name of NAMES) {
    Object.defineProperty(global, name, {
      get() {
        load();
        return global[name];
      },
      set(value) {
        load();
        global[name] = value;
      },
      enumerable: false,
      configurable: true,
    });
  }

  defineHidden(web, 'streams', load);
  defineHidden(web, 'streamsLoaded', () => loaded);
  // core.js's host bridge, handed over by prelude.py once core.js has made it.
  defineHidden(web, 'attachHost', (host) => {
    flux.hostCall = host.hostCall;
    flux.hostOwner = host.owner;
  });
})(globalThis);
