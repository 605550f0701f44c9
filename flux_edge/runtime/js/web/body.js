// The Fetch "Body" mixin shared by Request and Response (Blob and File are blob.js's, FormData
// formdata.js's). Bodies are held as
// whole byte arrays (edge requests and responses are size-capped): there are no ReadableStreams.
// `body` is a small stream-like object (getReader(), async iteration, cancel()) that yields the
// whole body as one Uint8Array chunk, enough for `new Response(request.body)` and `for await`.
(function (global) {
  'use strict';

  const { Uint8Array, TypeError, Object, Symbol, String, Promise, JSON } = global;
  const webInternals = global.__flux_web;
  if (webInternals === undefined) throw new Error('body.js: load headers.js first (it makes __flux_web)');
  const { defineHidden, defineInterface, bufferSourceBytes, earlierGlobals } = global.__flux_webutil;
  // url.js loads earlier.
  const earlierGlobal = earlierGlobals('URLSearchParams');

  // blob.js hands over its internals and the UTF-8 helpers; this is their last reader.
  const { blobBytes, isBlob, newBlob, utf8Encode, utf8Decode } = global.__flux_blob;
  delete global.__flux_blob;

  // ---- Body state ----
  // { bytes: Uint8Array | null, used, locked, stream }. `used` is the standard's "disturbed" (read
  // has begun); `locked` means a reader holds the body. `bytes` is never written after extraction,
  // so clones share it; every consumer gets a copy.
  const newBodyState = (bytes) => ({ bytes, used: false, locked: false, stream: null });
  const unusable = (state) => state.bytes !== null && (state.used || state.locked);

  function takeBytes(state) {
    if (unusable(state)) throw new TypeError('Body has already been used');
    state.used = true;
    return state.bytes ?? new Uint8Array(0);
  }

  const STREAM = Symbol('BodyStream');
  let streamState;

  class BodyStream {
    #state;

    constructor(token, state) {
      if (token !== STREAM) throw new TypeError('Illegal constructor');
      this.#state = state;
    }

    static {
      streamState = (value) => (value !== null && typeof value === 'object' && #state in value ? value.#state : undefined);
    }

    get locked() { return this.#state.locked; }

    getReader() {
      const state = this.#state;
      if (state.locked) throw new TypeError('The body stream is already locked to a reader');
      state.locked = true;
      let done = false;
      const finish = () => { done = true; state.used = true; };
      return {
        read() {
          if (done) return Promise.resolve({ value: undefined, done: true });
          const value = state.used ? null : state.bytes.slice();
          finish();
          return Promise.resolve(value === null ? { value: undefined, done: true } : { value, done: false });
        },
        cancel() { finish(); return Promise.resolve(); },
        releaseLock() {},
        closed: Promise.resolve(),
      };
    }

    cancel() {
      if (this.#state.locked) return Promise.reject(new TypeError('The body stream is locked to a reader'));
      this.#state.used = true;
      return Promise.resolve();
    }

    [Symbol.asyncIterator]() {
      const reader = this.getReader();
      return {
        next: () => reader.read(),
        return: () => reader.cancel().then(() => ({ value: undefined, done: true })),
        [Symbol.asyncIterator]() { return this; },
      };
    }
  }
  Object.defineProperty(BodyStream.prototype, Symbol.toStringTag, { value: 'ReadableStream', configurable: true });

  // Fetch "extract a body": the bytes and the Content-Type to default to (or null).
  function extractBody(object) {
    if (typeof object === 'string') return { bytes: utf8Encode(object), type: 'text/plain;charset=UTF-8' };
    if (isBlob(object)) return { bytes: blobBytes(object), type: object.type === '' ? null : object.type };
    const bytes = bufferSourceBytes(object);
    if (bytes !== undefined) return { bytes: bytes.slice(), type: null };
    const params = earlierGlobal('URLSearchParams', false);
    if (params !== undefined && object instanceof params) {
      return { bytes: utf8Encode(object.toString()), type: 'application/x-www-form-urlencoded;charset=UTF-8' };
    }
    const source = streamState(object);
    if (source !== undefined) {
      if (unusable(source)) throw new TypeError('The body stream is locked or already read');
      return { bytes: takeBytes(source), type: null };
    }
    if (webInternals.isFormData(object)) return webInternals.encodeFormData(object);
    return { bytes: utf8Encode(String(object)), type: 'text/plain;charset=UTF-8' };
  }

  // Defines the Body members on a Request/Response prototype. stateOf(this) must throw a TypeError
  // for a foreign receiver; headersOf(this) gives the Headers that carry Content-Type.
  function installBody(proto, stateOf, headersOf) {
    const consume = (self, convert) => {
      try {
        const state = stateOf(self);
        // A null body is never "used": reading it again yields empty content (Fetch "consume body").
        const bytes = state.bytes === null ? new Uint8Array(0) : takeBytes(state);
        return Promise.resolve(convert(bytes, self));
      } catch (error) {
        return Promise.reject(error);
      }
    };
    const members = {
      get body() {
        const state = stateOf(this);
        if (state.bytes === null) return null;
        return (state.stream ??= new BodyStream(STREAM, state));
      },
      get bodyUsed() {
        const state = stateOf(this);
        return state.bytes !== null && state.used;
      },
      arrayBuffer() { return consume(this, (bytes) => bytes.slice().buffer); },
      bytes() { return consume(this, (bytes) => bytes.slice()); },
      text() { return consume(this, (bytes) => utf8Decode(bytes)); },
      json() { return consume(this, (bytes) => JSON.parse(utf8Decode(bytes))); },
      blob() {
        return consume(this, (bytes, self) => newBlob(bytes.slice(), headersOf(self).get('content-type') ?? ''));
      },
      formData() {
        return consume(this, (bytes, self) => webInternals.parseFormData(bytes, headersOf(self).get('content-type')));
      },
    };
    for (const name of Object.getOwnPropertyNames(members)) {
      const descriptor = Object.getOwnPropertyDescriptor(members, name);
      descriptor.enumerable = true;
      Object.defineProperty(proto, name, descriptor);
    }
  }

  defineHidden(webInternals, 'newBodyState', newBodyState);
  defineHidden(webInternals, 'extractBody', extractBody);
  defineHidden(webInternals, 'installBody', installBody);
  // The bytes of a body for clone(): a second state over the same (never written) bytes.
  defineHidden(webInternals, 'cloneBodyState', (state) => {
    if (unusable(state)) throw new TypeError('Cannot clone: the body has already been used');
    return newBodyState(state.bytes);
  });
  // Moves a body to a new owner (new Request(request)), leaving the source used.
  defineHidden(webInternals, 'transferBodyState', (state) => {
    if (state.bytes === null) return newBodyState(null);
    return newBodyState(takeBytes(state));
  });
  defineHidden(webInternals, 'consumeBodyBytes', (state) => (state.bytes === null ? null : takeBytes(state)));
  defineHidden(webInternals, 'utf8Encode', utf8Encode);
})(globalThis);
