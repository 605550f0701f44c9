// TextEncoderStream and TextDecoderStream (Encoding standard, section 7), over the TextEncoder and
// TextDecoder of encoding.js and a TransformStream of the streams files. Loaded with the streams.
(function (global, flux) {
  'use strict';

  const { TypeError, String, Uint8Array } = flux.intrinsics;
  const S = flux.streams;
  const { TextEncoder, TextDecoder } = flux;
  const illegal = () => new TypeError('Illegal invocation');
  const REPLACEMENT = [0xef, 0xbf, 0xbd];

  let encoderOf;

  class TextEncoderStream {
    #r;

    constructor() {
      const encoder = new TextEncoder();
      let pendingHigh = null; // a lead surrogate that ended the previous chunk
      const transform = (chunk, c) => {
        let text = String(chunk);
        if (pendingHigh !== null) {
          text = pendingHigh + text;
          pendingHigh = null;
        }
        const last = text.length === 0 ? 0 : text.charCodeAt(text.length - 1);
        if (last >= 0xd800 && last <= 0xdbff) {
          pendingHigh = text[text.length - 1];
          text = text.slice(0, -1);
        }
        if (text.length > 0) S.transformEnqueue(c, encoder.encode(text));
      };
      const flush = (c) => {
        if (pendingHigh !== null) S.transformEnqueue(c, new Uint8Array(REPLACEMENT));
      };
      this.#r = S.createTransformStream(transform, flush);
    }

    static { encoderOf = (value) => (S.isObject(value) && #r in value ? value.#r : undefined); }

    get encoding() {
      if (encoderOf(this) === undefined) throw illegal();
      return 'utf-8';
    }

    get readable() {
      const r = encoderOf(this);
      if (r === undefined) throw illegal();
      return r.readable.object;
    }

    get writable() {
      const r = encoderOf(this);
      if (r === undefined) throw illegal();
      return r.writable.object;
    }
  }
  S.enumerable(TextEncoderStream.prototype, ['encoding', 'readable', 'writable']);

  let decoderOf;

  class TextDecoderStream {
    #r;
    #decoder;

    constructor(label = 'utf-8', options = undefined) {
      const decoder = new TextDecoder(label, options);
      this.#decoder = decoder;
      const transform = (chunk, c) => {
        const bytes = flux.webutil.bufferSourceBytes(chunk, true);
        if (bytes === undefined) throw new TypeError('TextDecoderStream: the chunk must be an ArrayBuffer or ArrayBufferView');
        const text = decoder.decode(bytes, { stream: true });
        if (text.length > 0) S.transformEnqueue(c, text);
      };
      const flush = (c) => {
        const text = decoder.decode();
        if (text.length > 0) S.transformEnqueue(c, text);
      };
      this.#r = S.createTransformStream(transform, flush);
    }

    static { decoderOf = (value) => (S.isObject(value) && #r in value ? value : undefined); }

    get encoding() {
      if (decoderOf(this) === undefined) throw illegal();
      return this.#decoder.encoding;
    }

    get fatal() {
      if (decoderOf(this) === undefined) throw illegal();
      return this.#decoder.fatal;
    }

    get ignoreBOM() {
      if (decoderOf(this) === undefined) throw illegal();
      return this.#decoder.ignoreBOM;
    }

    get readable() {
      if (decoderOf(this) === undefined) throw illegal();
      return this.#r.readable.object;
    }

    get writable() {
      if (decoderOf(this) === undefined) throw illegal();
      return this.#r.writable.object;
    }
  }
  S.enumerable(TextDecoderStream.prototype, ['encoding', 'fatal', 'ignoreBOM', 'readable', 'writable']);

  S.defineInterface('TextEncoderStream', TextEncoderStream);
  S.defineInterface('TextDecoderStream', TextDecoderStream);
})
