// The Fetch "Body" mixin shared by Request and Response, and a minimal Blob. A body is held as
// bytes until a ReadableStream is asked for (`body`) or given (`new Response(stream)`); see
// "Body state" below.
(function (global) {
  'use strict';

  const { Uint8Array, TypeError, Object, Symbol, String, Promise, JSON } = global;
  const webInternals = global.__flux_web;
  if (webInternals === undefined) throw new Error('body.js: load headers.js first (it makes __flux_web)');
  const { defineHidden, defineInterface, bufferSourceBytes, earlierGlobals } = global.__flux_webutil;
  // encoding.js and url.js load earlier.
  const earlierGlobal = earlierGlobals('TextEncoder', 'TextDecoder', 'URLSearchParams');

  let encoder;
  let decoder;
  const utf8Encode = (text) => (encoder ??= new (earlierGlobal('TextEncoder'))()).encode(text);
  const utf8Decode = (bytes) => (decoder ??= new (earlierGlobal('TextDecoder'))()).decode(bytes);

  // ---- Blob ----
  let blobBytes;
  let isBlob;

  class Blob {
    #bytes;
    #type;

    constructor(blobParts = undefined, options = undefined) {
      const chunks = [];
      if (blobParts !== undefined) {
        if (blobParts === null || typeof blobParts !== 'object' || typeof blobParts[Symbol.iterator] !== 'function') {
          throw new TypeError("Failed to construct 'Blob': blobParts must be a sequence");
        }
        for (const part of blobParts) {
          if (part !== null && typeof part === 'object' && #bytes in part) {
            chunks.push(part.#bytes);
            continue;
          }
          const bytes = bufferSourceBytes(part);
          chunks.push(bytes !== undefined ? bytes.slice() : utf8Encode(String(part)));
        }
      }
      this.#bytes = concat(chunks);
      const type = options === undefined || options === null || options.type === undefined ? '' : String(options.type);
      // The File API: a type with characters outside U+0020..U+007E becomes the empty string.
      this.#type = /^[\x20-\x7e]*$/.test(type) ? type.toLowerCase() : '';
    }

    static {
      blobBytes = (blob) => blob.#bytes;
      isBlob = (value) => value !== null && typeof value === 'object' && #bytes in value;
    }

    get size() { return this.#bytes.length; }
    get type() { return this.#type; }

    slice(start = undefined, end = undefined, contentType = undefined) {
      const size = this.#bytes.length;
      const clamp = (value, fallback) => {
        if (value === undefined) return fallback;
        const n = Math.trunc(Number(value)) || 0;
        return n < 0 ? Math.max(size + n, 0) : Math.min(n, size);
      };
      const from = clamp(start, 0);
      const to = Math.max(clamp(end, size), from);
      return new Blob([this.#bytes.subarray(from, to)], { type: contentType === undefined ? '' : contentType });
    }

    text() { return Promise.resolve(utf8Decode(this.#bytes)); }
    arrayBuffer() { return Promise.resolve(this.#bytes.slice().buffer); }
    bytes() { return Promise.resolve(this.#bytes.slice()); }
    stream() { return webInternals.streams().streamFromBytes(this.#bytes).object; }
  }

  function concat(chunks) {
    if (chunks.length === 1) return chunks[0];
    let length = 0;
    for (const chunk of chunks) length += chunk.length;
    const out = new Uint8Array(length);
    let offset = 0;
    for (const chunk of chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  // ---- Body state ----
  // { bytes: Uint8Array | null, stream: ReadableStream | null, used }. A body is bytes (what the
  // isolate boundary, strings and buffers give) until something asks for a stream: `body` makes a
  // ReadableStream over the bytes on first access, and from then on the stream is the body (reads
  // disturb it). A body given as a ReadableStream has only the stream. `bytes` is never written
  // after extraction, so clones share it; every consumer gets a copy. The streams load lazily
  // (web.streams()), so a function that only calls text() or json() never loads them.
  const newBodyState = (bytes, stream = null) => ({ bytes, stream, used: false });
  const isNullBody = (state) => state.bytes === null && state.stream === null;
  const streams = () => webInternals.streams();
  const streamRecord = (stream) => streams().streamOf(stream);

  function unusable(state) {
    if (state.stream !== null) return streams().isUnusable(streamRecord(state.stream));
    return state.bytes !== null && state.used;
  }

  function takeBytes(state) {
    if (unusable(state)) throw new TypeError('Body has already been used');
    state.used = true;
    return state.bytes ?? new Uint8Array(0);
  }

  // The body as a ReadableStream, made from the bytes on first use.
  function bodyStream(state) {
    if (state.stream === null && state.bytes !== null) {
      const S = streams();
      state.stream = (state.used ? S.usedStream() : S.streamFromBytes(state.bytes)).object;
    }
    return state.stream;
  }

  // Whether `value` is a ReadableStream. Before the streams load, no value can be one.
  const isReadableStream = (value) => webInternals.streamsLoaded() && streamRecord(value) !== undefined;

  // The whole body: synchronously (a Uint8Array) for bytes, else a promise of one.
  function bodyBytes(state) {
    if (state.stream === null) return takeBytes(state);
    if (unusable(state)) throw new TypeError('Body has already been used');
    const S = streams();
    return S.readAllBytes(streamRecord(state.stream));
  }

  // Fetch "extract a body": the bytes and the Content-Type to default to (or null).
  function extractBody(object) {
    if (typeof object === 'string') return { bytes: utf8Encode(object), stream: null, type: 'text/plain;charset=UTF-8' };
    if (isBlob(object)) return { bytes: blobBytes(object), stream: null, type: object.type === '' ? null : object.type };
    const bytes = bufferSourceBytes(object);
    if (bytes !== undefined) return { bytes: bytes.slice(), stream: null, type: null };
    const params = earlierGlobal('URLSearchParams', false);
    if (params !== undefined && object instanceof params) {
      return { bytes: utf8Encode(object.toString()), stream: null, type: 'application/x-www-form-urlencoded;charset=UTF-8' };
    }
    if (isReadableStream(object)) {
      if (streams().isUnusable(streamRecord(object))) throw new TypeError('The body stream is locked or already read');
      return { bytes: null, stream: object, type: null };
    }
    if (typeof global.FormData === 'function' && object instanceof global.FormData) {
      throw new TypeError('FormData bodies are not supported by flux-edge');
    }
    return { bytes: utf8Encode(String(object)), stream: null, type: 'text/plain;charset=UTF-8' };
  }

  // Defines the Body members on a Request/Response prototype. stateOf(this) must throw a TypeError
  // for a foreign receiver; headersOf(this) gives the Headers that carry Content-Type.
  function installBody(proto, stateOf, headersOf) {
    const consume = (self, convert) => {
      try {
        const state = stateOf(self);
        // A null body is never "used": reading it again yields empty content (Fetch "consume body").
        if (isNullBody(state)) return Promise.resolve(convert(new Uint8Array(0), self));
        if (state.stream === null) return Promise.resolve(convert(takeBytes(state), self));
        return bodyBytes(state).then((all) => convert(all, self));
      } catch (error) {
        return Promise.reject(error);
      }
    };
    const members = {
      get body() {
        return bodyStream(stateOf(this));
      },
      get bodyUsed() {
        const state = stateOf(this);
        if (state.stream !== null) return streamRecord(state.stream).disturbed;
        return state.bytes !== null && state.used;
      },
      arrayBuffer() { return consume(this, (bytes) => bytes.slice().buffer); },
      bytes() { return consume(this, (bytes) => bytes.slice()); },
      text() { return consume(this, (bytes) => utf8Decode(bytes)); },
      json() { return consume(this, (bytes) => JSON.parse(utf8Decode(bytes))); },
      blob() {
        return consume(this, (bytes, self) => new Blob([bytes], { type: headersOf(self).get('content-type') ?? '' }));
      },
      formData() {
        return consume(this, () => { throw new TypeError('formData() is not supported by flux-edge'); });
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
  defineHidden(webInternals, 'isNullBody', isNullBody);
  defineHidden(webInternals, 'isReadableStream', isReadableStream);
  // A second state for clone(): over the same (never written) bytes, or one branch of a tee.
  defineHidden(webInternals, 'cloneBodyState', (state) => {
    if (unusable(state)) throw new TypeError('Cannot clone: the body has already been used');
    if (state.stream === null) return newBodyState(state.bytes);
    const [first, second] = streams().tee(streamRecord(state.stream), true);
    state.stream = first.object;
    return newBodyState(null, second.object);
  });
  // Moves a body to a new owner (new Request(request)), leaving the source used.
  defineHidden(webInternals, 'transferBodyState', (state) => {
    if (isNullBody(state)) return newBodyState(null);
    if (state.stream === null) return newBodyState(takeBytes(state));
    if (unusable(state)) throw new TypeError('Body has already been used');
    const moved = newBodyState(null, state.stream);
    state.stream = streams().usedStream().object;
    return moved;
  });
  // The body at the isolate boundary: null, a Uint8Array, or a promise of one (a stream body).
  defineHidden(webInternals, 'consumeBodyBytes', (state) => (isNullBody(state) ? null : bodyBytes(state)));
  // A stream body (not bytes) for a streamed response: a chunk reader, or null.
  defineHidden(webInternals, 'bodyChunkReader', (state) => {
    if (state.stream === null) return null;
    if (unusable(state)) throw new TypeError('Body has already been used');
    return streams().chunkReader(streamRecord(state.stream));
  });
  defineHidden(webInternals, 'utf8Encode', utf8Encode);

  defineInterface('Blob', Blob);
})(globalThis);
