// CompressionStream and DecompressionStream (Compression standard): gzip, deflate (zlib),
// deflate-raw and brotli. The compression itself is Python's zlib and Brotli (C), reached through
// the host bridge: one
// host operation per chunk, on a codec Python keeps for the call (docs/web-platform.md has the
// measurement that chose this over JavaScript). Loaded with the streams.
(function (global, flux) {
  'use strict';

  const { Object, TypeError, String, Uint8Array } = flux.intrinsics;
  const S = flux.streams;
  const { react } = S;
  const toBase64 = Uint8Array.prototype.toBase64;
  const fromBase64 = Uint8Array.fromBase64;
  const FORMATS = ['brotli', 'deflate', 'deflate-raw', 'gzip'];
  const illegal = () => new TypeError('Illegal invocation');
  let nextCodec = 1;

  function codecStream(mode, format, what) {
    const name = String(format);
    if (!FORMATS.includes(name)) {
      throw new TypeError(`Failed to construct '${what}': '${name}' is not a supported format (brotli, deflate, deflate-raw, gzip)`);
    }
    const id = nextCodec++;
    const call = flux.hostOwner();
    const run = (bytes, finish, c) => {
      const payload = { id, mode, format: name, data: toBase64.call(bytes), finish };
      return react(flux.hostCall('zlib', payload, call), (answer) => {
        if (answer.data.length > 0) S.transformEnqueue(c, fromBase64(answer.data));
        if (answer.error !== null) throw new TypeError(`${what}: ${answer.error}`);
      });
    };
    const transform = (chunk, c) => {
      const bytes = flux.webutil.bufferSourceBytes(chunk, true);
      if (bytes === undefined) throw new TypeError(`${what}: the chunk must be an ArrayBuffer or ArrayBufferView`);
      if (bytes.length === 0) return undefined;
      return run(bytes, false, c);
    };
    const flush = (c) => run(new Uint8Array(0), true, c);
    const cancel = () => {
      // Frees the codec Python holds; its answer does not matter.
      S.markHandled(flux.hostCall('zlib', { id, mode, format: name, data: '', finish: true, drop: true }, call));
      return S.UNDEFINED;
    };
    return S.createTransformStream(transform, flush, cancel);
  }

  function defineCodecClass(name, mode) {
    let recordOf;
    const Class = class {
      #r;
      constructor(format) {
        S.requireArguments(arguments.length, 1, `construct '${name}'`);
        this.#r = codecStream(mode, format, name);
      }
      static { recordOf = (value) => (S.isObject(value) && #r in value ? value.#r : undefined); }
      get readable() {
        const r = recordOf(this);
        if (r === undefined) throw illegal();
        return r.readable.object;
      }
      get writable() {
        const r = recordOf(this);
        if (r === undefined) throw illegal();
        return r.writable.object;
      }
    };
    Object.defineProperty(Class, 'name', { value: name });
    S.enumerable(Class.prototype, ['readable', 'writable']);
    S.defineInterface(name, Class);
  }

  defineCodecClass('CompressionStream', 'compress');
  defineCodecClass('DecompressionStream', 'decompress');
  return S.exports; // the last streams file: webutil.defineLazyGlobals defines these globals
})
