// The Fetch "Body" mixin shared by Request and Response (Blob and File are blob.js's, FormData
// formdata.js's). A body is held as bytes until a ReadableStream is asked for (`body`) or given
// (`new Response(stream)`); see "Body state" below.
(function (global) {
  'use strict';

  const { Uint8Array, TypeError, Object, String, Promise, JSON } = global;
  const toWellFormed = String.prototype.toWellFormed;
  const webInternals = global.__flux_web;
  if (typeof webInternals?.headerPairs !== 'function') throw new Error('body.js: load headers.js first');
  const { defineHidden, defineInterface, bufferSourceBytes, earlierGlobals } = global.__flux_webutil;
  // url.js loads earlier.
  const earlierGlobal = earlierGlobals('URLSearchParams');

  // The streams, loaded on first use (streams_lazy.js); this is the last reader of the hooks.
  const streamsHooks = global.__flux_streams;
  delete global.__flux_streams;
  const streams = streamsHooks.load;

  // blob.js hands over its internals and the UTF-8 helpers; this is their last reader.
  const { blobBytes, isBlob, newBlob, utf8Encode, utf8Decode } = global.__flux_blob;
  delete global.__flux_blob;

  // ---- Body state ----
  // { bytes: Uint8Array | null | undefined, stream: ReadableStream | null, used, text }. A body is
  // bytes (what the isolate boundary, strings and buffers give) until something asks for a stream:
  // `body` makes a ReadableStream over the bytes on first access, and from then on the stream is
  // the body (reads disturb it). A body given as a ReadableStream has only the stream. `bytes` is
  // never written after extraction, so clones share it; every consumer gets a copy. The streams
  // load on first use (web.streams()), so a function that only calls text() or json() never loads
  // them.
  // `text`: the string the body was made from, if any. It is what text(), json() and the isolate
  // boundary read (`consumeBodyText`), and its UTF-8 bytes are made only when something asks for
  // bytes (`bytes` is undefined until then): most bodies made from strings (an incoming request's,
  // Response.json's) are read back as text, and encoding one only to decode it again cost a
  // tracked allocation and two passes over it.
  const newBodyState = (bytes, stream = null, text = null) =>
    ({ bytes, stream: stream ?? null, used: false, text: text ?? null });
  const textBodyState = (text) => newBodyState(undefined, null, text);
  const isNullBody = (state) => state.bytes === null && state.stream === null;
  const streamRecord = (stream) => streams().streamOf(stream);
  // The bytes of a bytes body, encoded from its text on first use.
  const bytesOf = (state) => (state.bytes === undefined ? (state.bytes = utf8Encode(state.text)) : state.bytes);

  function unusable(state) {
    if (state.stream !== null) return streams().isUnusable(streamRecord(state.stream));
    return state.bytes !== null && state.used;
  }

  // Marks a bytes body used (a TypeError if it was).
  function take(state) {
    if (unusable(state)) throw new TypeError('Body has already been used');
    state.used = true;
  }

  function takeBytes(state) {
    take(state);
    return bytesOf(state) ?? new Uint8Array(0);
  }

  // What UTF-8 decoding the body's bytes would give (Encoding's "UTF-8 decode": lone surrogates
  // were encoded as U+FFFD, and a leading BOM is dropped), without the bytes.
  function decodedText(text) {
    const wellFormed = toWellFormed.call(text);
    return wellFormed.charCodeAt(0) === 0xfeff ? wellFormed.slice(1) : wellFormed;
  }

  // The body as a ReadableStream, made from the bytes on first use.
  function bodyStream(state) {
    if (state.stream === null && state.bytes !== null) {
      const S = streams();
      state.stream = (state.used ? S.usedStream() : S.streamFromBytes(bytesOf(state))).object;
    }
    return state.stream;
  }

  // Whether `value` is a ReadableStream. Before the streams load, no value can be one.
  const isReadableStream = (value) => streamsHooks.loaded() && streamRecord(value) !== undefined;

  // The whole body of a stream body (a promise of a Uint8Array); bytes bodies use takeBytes.
  function streamBodyBytes(state) {
    if (unusable(state)) throw new TypeError('Body has already been used');
    return streams().readAllBytes(streamRecord(state.stream));
  }

  // Fetch "extract a body": the bytes (or the stream) and the Content-Type to default to (or null).
  // A string gives its text and no bytes yet (undefined: see "Body state"; `extractBodyBytes`).
  function extractBody(object) {
    if (typeof object === 'string') {
      return { bytes: undefined, stream: null, type: 'text/plain;charset=UTF-8', text: object };
    }
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
    if (webInternals.isFormData(object)) return { stream: null, ...webInternals.encodeFormData(object) };
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
        return streamBodyBytes(state).then((all) => convert(all, self));
      } catch (error) {
        return Promise.reject(error);
      }
    };
    // text() and json(): a body made from a string gives it back without its bytes.
    const consumeText = (self, convert) => {
      try {
        const state = stateOf(self);
        if (state.text !== null && state.stream === null) {
          take(state);
          return Promise.resolve(convert(decodedText(state.text)));
        }
      } catch (error) {
        return Promise.reject(error);
      }
      return consume(self, (bytes) => convert(utf8Decode(bytes)));
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
      text() { return consumeText(this, (text) => text); },
      json() { return consumeText(this, (text) => JSON.parse(text)); },
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
  defineHidden(webInternals, 'textBodyState', textBodyState);
  defineHidden(webInternals, 'extractBody', extractBody);
  // The bytes of a body that is not a stream, encoded now.
  defineHidden(webInternals, 'extractBodyBytes', (object) => bytesOf(extractBody(object)));
  defineHidden(webInternals, 'installBody', installBody);
  defineHidden(webInternals, 'isNullBody', isNullBody);
  defineHidden(webInternals, 'attachStreamsHost', streamsHooks.attachHost);
  defineHidden(webInternals, 'isReadableStream', isReadableStream);
  // A second state for clone(): over the same (never written) bytes, or one branch of a tee.
  defineHidden(webInternals, 'cloneBodyState', (state) => {
    if (unusable(state)) throw new TypeError('Cannot clone: the body has already been used');
    if (state.stream === null) return newBodyState(state.bytes, null, state.text);
    const [first, second] = streams().tee(streamRecord(state.stream), true);
    state.stream = first.object;
    return newBodyState(null, second.object);
  });
  // Moves a body to a new owner (new Request(request)), leaving the source used.
  defineHidden(webInternals, 'transferBodyState', (state) => {
    if (isNullBody(state)) return newBodyState(null);
    if (state.stream === null) {
      take(state);
      return newBodyState(state.bytes, null, state.text);
    }
    if (unusable(state)) throw new TypeError('Body has already been used');
    const moved = newBodyState(null, state.stream);
    state.stream = streams().usedStream().object;
    return moved;
  });
  // The body at the isolate boundary: null, a Uint8Array, or a promise of one (a stream body).
  defineHidden(webInternals, 'consumeBodyBytes', (state) => {
    if (isNullBody(state)) return null;
    return state.stream === null ? takeBytes(state) : streamBodyBytes(state);
  });
  // The body at the isolate boundary as the string it was made from (marked used, as
  // consumeBodyBytes does), or undefined when it was not made from one or is a stream by now.
  defineHidden(webInternals, 'consumeBodyText', (state) => {
    if (state.text === null || state.stream !== null) return undefined;
    take(state);
    return state.text;
  });
  // A stream body (not bytes) for a streamed response: a chunk reader, or null.
  defineHidden(webInternals, 'bodyChunkReader', (state) => {
    if (state.stream === null) return null;
    if (unusable(state)) throw new TypeError('Body has already been used');
    return streams().chunkReader(streamRecord(state.stream));
  });
  defineHidden(webInternals, 'utf8Encode', utf8Encode);
})(globalThis);
