// TextEncoder and TextDecoder (WHATWG Encoding). TextEncoder is UTF-8 (all the standard allows);
// TextDecoder decodes UTF-8, UTF-16LE/BE and the single-byte encodings, and knows every label.
(function (global) {
  "use strict";

  const { defineInterface, bufferSourceBytes } = global.__flux_webutil;

  // Captured now, so user code replacing globals cannot change how the prelude behaves.
  const Uint8ArrayCtor = Uint8Array;
  const Uint16ArrayCtor = Uint16Array;
  const fromCharCode = String.fromCharCode;
  // fromCharCode.apply takes its arguments on the stack: convert in bounded slices.
  const CHUNK = 8192;
  const REPLACEMENT = 0xfffd;
  // The Encoding standard's labels (generated from the `webencodings` package, webdata.py) and
  // a function giving the single-byte tables as JSON, called when a legacy encoding is first used.
  const parseJson = JSON.parse;
  const data = global.__flux_encoding_data;
  delete global.__flux_encoding_data;
  const LABELS = Object.assign(Object.create(null), data === undefined ? { "utf-8": "utf-8", utf8: "utf-8" } : data.labels);
  let singleByteTables = null;
  const singleByteTable = (name) => {
    if (data === undefined) return undefined;
    singleByteTables ??= parseJson(data.singleByte());
    return Object.hasOwn(singleByteTables, name) ? singleByteTables[name] : undefined;
  };

  // "get an encoding": only ASCII whitespace is trimmed and only ASCII letters are lowered, so
  // "\vutf-8" or a non-breaking space around a label leaves it unknown.
  const getEncoding = (label) => {
    const key = label.replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, "").replace(/[A-Z]/g, (c) => c.toLowerCase());
    return LABELS[key] ?? null;
  };

  const decodingError = () => new TypeError("The encoded data was not valid for the decoder's encoding.");

  // Decoders other than UTF-8 (which TextDecoder runs inline, being the hot path): each is a
  // function (bytes, units, flush) -> count of UTF-16 units written, keeping its state between
  // streaming calls and throwing a TypeError on an error when fatal.
  const utf16Decoder = (bigEndian, fatal) => {
    let leadByte = -1;
    let leadSurrogate = -1;
    return (bytes, units, flush) => {
      let count = 0;
      const error = () => {
        if (fatal) {
          leadByte = leadSurrogate = -1;
          throw decodingError();
        }
        units[count++] = REPLACEMENT;
      };
      for (let index = 0; index < bytes.length; index++) {
        const byte = bytes[index];
        if (leadByte < 0) {
          leadByte = byte;
          continue;
        }
        const unit = bigEndian ? (leadByte << 8) | byte : (byte << 8) | leadByte;
        leadByte = -1;
        if (leadSurrogate >= 0) {
          const lead = leadSurrogate;
          leadSurrogate = -1;
          if (unit >= 0xdc00 && unit <= 0xdfff) {
            units[count++] = lead;
            units[count++] = unit;
            continue;
          }
          error(); // the unit after a lone lead surrogate is read afresh
        }
        if (unit >= 0xd800 && unit <= 0xdbff) leadSurrogate = unit;
        else if (unit >= 0xdc00 && unit <= 0xdfff) error();
        else units[count++] = unit;
      }
      if (flush && (leadByte >= 0 || leadSurrogate >= 0)) {
        leadByte = leadSurrogate = -1;
        error();
      }
      return count;
    };
  };

  // Single-byte encodings: `table` holds the code points of bytes 0x80-0xFF, U+FFFF where the
  // index has none (an error).
  const singleByteDecoder = (table, fatal) => (bytes, units) => {
    let count = 0;
    for (let index = 0; index < bytes.length; index++) {
      const byte = bytes[index];
      if (byte < 0x80) {
        units[count++] = byte;
        continue;
      }
      const point = table === null ? 0xf700 + byte : table.charCodeAt(byte - 0x80);
      if (point !== 0xffff) units[count++] = point;
      else if (fatal) throw decodingError();
      else units[count++] = REPLACEMENT;
    }
    return count;
  };

  // A decoder factory for `encoding`, or null when it is not supported (the legacy multi-byte
  // encodings and "replacement").
  const decoderFactory = (encoding) => {
    if (encoding === "utf-16le" || encoding === "utf-16be") {
      return (fatal) => utf16Decoder(encoding === "utf-16be", fatal);
    }
    if (encoding === "x-user-defined") return (fatal) => singleByteDecoder(null, fatal);
    const table = singleByteTable(encoding);
    return table === undefined ? null : (fatal) => singleByteDecoder(table, fatal);
  };

  // [AllowShared] BufferSource -> a Uint8Array over the same bytes (no copy).
  const bytesOf = (input, method) => {
    const bytes = bufferSourceBytes(input, true);
    if (bytes !== undefined) return bytes;
    throw new TypeError(
      `Failed to execute '${method}': The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.`,
    );
  };

  // Lone surrogates become U+FFFD (USVString conversion), so every unit maps to 1-3 bytes.
  const utf8Length = (string) => {
    let bytes = 0;
    for (let index = 0; index < string.length; index++) {
      const unit = string.charCodeAt(index);
      if (unit < 0x80) bytes += 1;
      else if (unit < 0x800) bytes += 2;
      else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(string.charCodeAt(index + 1))) {
        bytes += 4;
        index++;
      } else bytes += 3;
    }
    return bytes;
  };

  const isLowSurrogate = (unit) => unit >= 0xdc00 && unit <= 0xdfff;

  const isAscii = (bytes) => {
    for (let index = 0; index < bytes.length; index++) if (bytes[index] > 0x7f) return false;
    return true;
  };

  // Writes `source` into `target` from 0 until a code point does not fit.
  const writeUtf8 = (source, target) => {
    const capacity = target.length;
    let read = 0;
    let written = 0;
    while (read < source.length) {
      let point = source.charCodeAt(read);
      let units = 1;
      if (point < 0x80) {
        if (written >= capacity) break;
        target[written++] = point;
        read++;
        continue;
      }
      if (point >= 0xd800 && point <= 0xdfff) {
        const next = source.charCodeAt(read + 1);
        if (point <= 0xdbff && isLowSurrogate(next)) {
          point = 0x10000 + ((point - 0xd800) << 10) + (next - 0xdc00);
          units = 2;
        } else {
          point = REPLACEMENT;
        }
      }
      if (point < 0x800) {
        if (written + 2 > capacity) break;
        target[written++] = 0xc0 | (point >> 6);
      } else if (point < 0x10000) {
        if (written + 3 > capacity) break;
        target[written++] = 0xe0 | (point >> 12);
        target[written++] = 0x80 | ((point >> 6) & 0x3f);
      } else {
        if (written + 4 > capacity) break;
        target[written++] = 0xf0 | (point >> 18);
        target[written++] = 0x80 | ((point >> 12) & 0x3f);
        target[written++] = 0x80 | ((point >> 6) & 0x3f);
      }
      target[written++] = 0x80 | (point & 0x3f);
      read += units;
    }
    return { read, written };
  };

  class TextEncoder {
    get encoding() {
      return "utf-8";
    }

    encode(input = "") {
      const string = String(input);
      const bytes = new Uint8ArrayCtor(utf8Length(string));
      writeUtf8(string, bytes);
      return bytes;
    }

    encodeInto(source, destination) {
      if (!(destination instanceof Uint8ArrayCtor)) {
        throw new TypeError("Failed to execute 'encodeInto': parameter 2 is not of type 'Uint8Array'.");
      }
      return writeUtf8(String(source), destination);
    }
  }

  class TextDecoder {
    #encoding;
    // null for UTF-8; else the factory of the encoding's decoder, and the decoder of this stream.
    #factory = null;
    #decoder = null;
    #fatal;
    #ignoreBOM;
    #streaming = false;
    #bomSeen = false;
    // The Encoding standard's UTF-8 decoder state, kept between streaming calls.
    #codePoint = 0;
    #bytesNeeded = 0;
    #bytesSeen = 0;
    #lower = 0x80;
    #upper = 0xbf;

    constructor(label = "utf-8", options = {}) {
      const encoding = getEncoding(`${label}`);
      if (encoding === null || encoding === "replacement") {
        throw new RangeError(`The encoding label provided ('${label}') is invalid.`);
      }
      if (encoding !== "utf-8") {
        this.#factory = decoderFactory(encoding);
        if (this.#factory === null) {
          throw new RangeError(`The encoding '${encoding}' is not supported by flux-edge.`);
        }
      }
      this.#encoding = encoding;
      const settings = options ?? {};
      this.#fatal = Boolean(settings.fatal);
      this.#ignoreBOM = Boolean(settings.ignoreBOM);
    }

    get encoding() {
      return this.#encoding;
    }

    get fatal() {
      return this.#fatal;
    }

    get ignoreBOM() {
      return this.#ignoreBOM;
    }

    decode(input = undefined, options = {}) {
      if (!this.#streaming) this.#reset();
      this.#streaming = Boolean((options ?? {}).stream);
      const bytes = input === undefined ? new Uint8ArrayCtor(0) : bytesOf(input, "decode");
      if (this.#factory === null && this.#bytesNeeded === 0 && bytes.length <= CHUNK && isAscii(bytes)) {
        // ASCII (most JSON and form bodies) is its own UTF-16: no decoder, no unit buffer.
        if (bytes.length > 0) this.#bomSeen = true;
        return fromCharCode.apply(null, bytes);
      }
      // Each byte yields at most one UTF-16 unit; a sequence carried over from the previous call
      // can add one more, and so can the U+FFFD for a sequence cut off by the end of the stream.
      const units = new Uint16ArrayCtor(bytes.length + 3);
      if (this.#factory !== null) return this.#decodeOther(bytes, units);
      let count = this.#decodeInto(bytes, units);
      if (!this.#streaming && this.#bytesNeeded !== 0) {
        if (this.#fatal) throw this.#fail();
        this.#saveState(0, 0, 0, 0x80, 0xbf);
        units[count++] = REPLACEMENT;
      }
      return this.#serialize(units, count);
    }

    #decodeOther(bytes, units) {
      this.#decoder ??= this.#factory(this.#fatal);
      let count;
      try {
        count = this.#decoder(bytes, units, !this.#streaming);
      } catch (error) {
        this.#decoder = null;
        throw error;
      }
      if (!this.#streaming) this.#decoder = null;
      return this.#serialize(units, count);
    }

    // The units as a string, without a leading BOM unless ignoreBOM (UTF-8 and UTF-16 only).
    #serialize(units, count) {
      let start = 0;
      const unicode = this.#encoding === "utf-8" || this.#encoding.startsWith("utf-16");
      if (unicode && !this.#ignoreBOM && !this.#bomSeen && count > 0) {
        this.#bomSeen = true;
        if (units[0] === 0xfeff) start = 1;
      }
      const parts = [];
      for (; start < count; start += CHUNK) {
        parts.push(fromCharCode.apply(null, units.subarray(start, Math.min(start + CHUNK, count))));
      }
      return parts.join("");
    }

    #reset() {
      this.#saveState(0, 0, 0, 0x80, 0xbf);
      this.#decoder = null;
      this.#bomSeen = false;
    }

    // Fatal mode: the decoder drops the broken sequence, as its error step does, then throws.
    #fail() {
      this.#saveState(0, 0, 0, 0x80, 0xbf);
      return new TypeError("The encoded data was not valid utf-8.");
    }

    // Runs the UTF-8 decoder over `bytes`, writing UTF-16 units; returns how many were written.
    #decodeInto(bytes, units) {
      let codePoint = this.#codePoint;
      let bytesNeeded = this.#bytesNeeded;
      let bytesSeen = this.#bytesSeen;
      let lower = this.#lower;
      let upper = this.#upper;
      let count = 0;
      const length = bytes.length;
      for (let index = 0; index < length; index++) {
        const byte = bytes[index];
        if (bytesNeeded === 0) {
          if (byte < 0x80) {
            units[count++] = byte;
          } else if (byte >= 0xc2 && byte <= 0xdf) {
            bytesNeeded = 1;
            codePoint = byte & 0x1f;
          } else if (byte >= 0xe0 && byte <= 0xef) {
            if (byte === 0xe0) lower = 0xa0;
            else if (byte === 0xed) upper = 0x9f; // no surrogates
            bytesNeeded = 2;
            codePoint = byte & 0x0f;
          } else if (byte >= 0xf0 && byte <= 0xf4) {
            if (byte === 0xf0) lower = 0x90;
            else if (byte === 0xf4) upper = 0x8f; // nothing above U+10FFFF
            bytesNeeded = 3;
            codePoint = byte & 0x07;
          } else {
            if (this.#fatal) throw this.#fail();
            units[count++] = REPLACEMENT;
          }
          continue;
        }
        if (byte < lower || byte > upper) {
          // An ill-formed sequence ends before this byte, which is then read afresh.
          if (this.#fatal) throw this.#fail();
          codePoint = bytesNeeded = bytesSeen = 0;
          lower = 0x80;
          upper = 0xbf;
          units[count++] = REPLACEMENT;
          index--;
          continue;
        }
        lower = 0x80;
        upper = 0xbf;
        codePoint = (codePoint << 6) | (byte & 0x3f);
        bytesSeen++;
        if (bytesSeen !== bytesNeeded) continue;
        if (codePoint > 0xffff) {
          codePoint -= 0x10000;
          units[count++] = 0xd800 | (codePoint >> 10);
          units[count++] = 0xdc00 | (codePoint & 0x3ff);
        } else {
          units[count++] = codePoint;
        }
        codePoint = bytesNeeded = bytesSeen = 0;
      }
      this.#saveState(codePoint, bytesNeeded, bytesSeen, lower, upper);
      return count;
    }

    #saveState(codePoint, bytesNeeded, bytesSeen, lower, upper) {
      this.#codePoint = codePoint;
      this.#bytesNeeded = bytesNeeded;
      this.#bytesSeen = bytesSeen;
      this.#lower = lower;
      this.#upper = upper;
    }
  }

  defineInterface("TextEncoder", TextEncoder);
  defineInterface("TextDecoder", TextDecoder);
})(globalThis);
