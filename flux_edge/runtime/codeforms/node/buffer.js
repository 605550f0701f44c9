// node:buffer for edge code: Buffer as a Uint8Array subclass with the encodings edge code uses
// (utf8, hex, base64, base64url, latin1/binary, ascii, utf16le), concat/compare/equals, slices that
// share memory, and the common integer reads and writes.
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEX = "0123456789abcdef";
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function normalize(encoding) {
  const e = String(encoding ?? "utf8").toLowerCase();
  if (e === "utf8" || e === "utf-8") return "utf8";
  if (e === "binary" || e === "latin1") return "latin1";
  if (e === "ucs2" || e === "ucs-2" || e === "utf16le" || e === "utf-16le") return "utf16le";
  if (e === "hex" || e === "base64" || e === "base64url" || e === "ascii") return e;
  throw new TypeError(`Unknown encoding: ${encoding}`);
}

function base64Decode(text) {
  const clean = String(text).replace(/[^A-Za-z0-9+/\-_]/g, "").replace(/-/g, "+").replace(/_/g, "/");
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0, value = 0, n = 0;
  for (const ch of clean) {
    value = (value << 6) | B64.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (value >> bits) & 0xff;
    }
  }
  return out.subarray(0, n);
}

function base64Encode(bytes, url) {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[v >> 18] + B64[(v >> 12) & 63] + B64[(v >> 6) & 63] + B64[v & 63];
  }
  if (i < bytes.length) {
    const v = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8);
    out += B64[v >> 18] + B64[(v >> 12) & 63];
    out += i + 1 < bytes.length ? B64[(v >> 6) & 63] + "=" : "==";
  }
  return url ? out.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "") : out;
}

function bytesOf(text, encoding) {
  switch (normalize(encoding)) {
    case "utf8":
      return encoder.encode(text);
    case "hex": {
      const out = new Uint8Array(text.length >> 1);
      for (let i = 0; i < out.length; i++) {
        const byte = parseInt(text.substr(i * 2, 2), 16);
        if (Number.isNaN(byte)) return out.subarray(0, i);
        out[i] = byte;
      }
      return out;
    }
    case "base64":
    case "base64url":
      return base64Decode(text);
    case "latin1":
    case "ascii": {
      const out = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
      return out;
    }
    case "utf16le": {
      const out = new Uint8Array(text.length * 2);
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        out[i * 2] = c & 0xff;
        out[i * 2 + 1] = c >> 8;
      }
      return out;
    }
  }
}

export class Buffer extends Uint8Array {
  static from(value, encodingOrOffset, length) {
    if (typeof value === "string") return toBuffer(bytesOf(value, encodingOrOffset));
    if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
      const offset = encodingOrOffset ?? 0;
      return new Buffer(value, offset, length ?? value.byteLength - offset);
    }
    if (ArrayBuffer.isView(value)) {
      return toBuffer(new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice());
    }
    if (value && value.type === "Buffer" && Array.isArray(value.data)) return toBuffer(Uint8Array.from(value.data));
    if (value && typeof value.length === "number") return toBuffer(Uint8Array.from(value));
    throw new TypeError("The first argument must be a string, Buffer, ArrayBuffer, Array or array-like");
  }
  static alloc(size, fill, encoding) {
    const buffer = new Buffer(size);
    if (fill !== undefined && fill !== 0) buffer.fill(fill, 0, size, encoding);
    return buffer;
  }
  static allocUnsafe(size) {
    return new Buffer(size);
  }
  static isBuffer(value) {
    return value instanceof Buffer;
  }
  static isEncoding(encoding) {
    try {
      normalize(encoding);
      return typeof encoding === "string";
    } catch {
      return false;
    }
  }
  static byteLength(value, encoding) {
    if (typeof value !== "string") return value.byteLength;
    return bytesOf(value, encoding).length;
  }
  static concat(list, totalLength) {
    const total = totalLength ?? list.reduce((sum, b) => sum + b.length, 0);
    const out = Buffer.alloc(total);
    let offset = 0;
    for (const item of list) {
      if (offset >= total) break;
      const part = item.subarray(0, total - offset);
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
  static compare(a, b) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
  }
  toString(encoding, start = 0, end = this.length) {
    const bytes = this.subarray(start, end);
    switch (normalize(encoding)) {
      case "utf8":
        return decoder.decode(bytes);
      case "hex": {
        let out = "";
        for (const b of bytes) out += HEX[b >> 4] + HEX[b & 15];
        return out;
      }
      case "base64":
        return base64Encode(bytes, false);
      case "base64url":
        return base64Encode(bytes, true);
      case "latin1":
        return String.fromCharCode(...bytes);
      case "ascii":
        return String.fromCharCode(...bytes.map((b) => b & 0x7f));
      case "utf16le": {
        let out = "";
        for (let i = 0; i + 1 < bytes.length; i += 2) out += String.fromCharCode(bytes[i] | (bytes[i + 1] << 8));
        return out;
      }
    }
  }
  toJSON() {
    return { type: "Buffer", data: Array.from(this) };
  }
  equals(other) {
    return Buffer.compare(this, other) === 0;
  }
  compare(other) {
    return Buffer.compare(this, other);
  }
  write(text, offset = 0, length, encoding) {
    if (typeof offset === "string") [encoding, offset] = [offset, 0];
    if (typeof length === "string") [encoding, length] = [length, undefined];
    const bytes = bytesOf(text, encoding).subarray(0, length ?? this.length - offset);
    this.set(bytes.subarray(0, this.length - offset), offset);
    return Math.min(bytes.length, this.length - offset);
  }
  fill(value, start = 0, end = this.length, encoding) {
    if (typeof start === "string") [encoding, start] = [start, 0];
    if (typeof value === "string") {
      const bytes = bytesOf(value, encoding);
      for (let i = start; i < end; i++) this[i] = bytes[(i - start) % bytes.length];
      return this;
    }
    return super.fill(value, start, end);
  }
  subarray(start, end) {
    const view = Uint8Array.prototype.subarray.call(this, start, end);
    return new Buffer(view.buffer, view.byteOffset, view.length);
  }
  slice(start, end) {
    return this.subarray(start, end);
  }
  copy(target, targetStart = 0, sourceStart = 0, sourceEnd = this.length) {
    const part = this.subarray(sourceStart, Math.min(sourceEnd, sourceStart + target.length - targetStart));
    target.set(part, targetStart);
    return part.length;
  }
  indexOf(value, byteOffset = 0, encoding) {
    if (typeof value === "number") return super.indexOf(value, byteOffset);
    const needle = typeof value === "string" ? bytesOf(value, encoding) : value;
    outer: for (let i = byteOffset; i <= this.length - needle.length; i++) {
      for (let j = 0; j < needle.length; j++) if (this[i + j] !== needle[j]) continue outer;
      return i;
    }
    return -1;
  }
  includes(value, byteOffset, encoding) {
    return this.indexOf(value, byteOffset, encoding) !== -1;
  }
  #view() {
    return new DataView(this.buffer, this.byteOffset, this.byteLength);
  }
  readUInt8(offset = 0) { return this.#view().getUint8(offset); }
  readUInt16BE(offset = 0) { return this.#view().getUint16(offset); }
  readUInt16LE(offset = 0) { return this.#view().getUint16(offset, true); }
  readUInt32BE(offset = 0) { return this.#view().getUint32(offset); }
  readUInt32LE(offset = 0) { return this.#view().getUint32(offset, true); }
  readInt8(offset = 0) { return this.#view().getInt8(offset); }
  readInt16BE(offset = 0) { return this.#view().getInt16(offset); }
  readInt32BE(offset = 0) { return this.#view().getInt32(offset); }
  readInt32LE(offset = 0) { return this.#view().getInt32(offset, true); }
  readBigUInt64BE(offset = 0) { return this.#view().getBigUint64(offset); }
  readDoubleBE(offset = 0) { return this.#view().getFloat64(offset); }
  writeUInt8(value, offset = 0) { this.#view().setUint8(offset, value); return offset + 1; }
  writeUInt16BE(value, offset = 0) { this.#view().setUint16(offset, value); return offset + 2; }
  writeUInt32BE(value, offset = 0) { this.#view().setUint32(offset, value); return offset + 4; }
  writeUInt32LE(value, offset = 0) { this.#view().setUint32(offset, value, true); return offset + 4; }
  writeInt32BE(value, offset = 0) { this.#view().setInt32(offset, value); return offset + 4; }
}
Buffer.prototype.readUint8 = Buffer.prototype.readUInt8;
Buffer.prototype.readUint32BE = Buffer.prototype.readUInt32BE;
Buffer.poolSize = 8192;

function toBuffer(bytes) {
  return new Buffer(bytes.buffer, bytes.byteOffset, bytes.length);
}

export const constants = { MAX_LENGTH: 2 ** 32 - 1, MAX_STRING_LENGTH: 2 ** 29 - 24 };
export const kMaxLength = constants.MAX_LENGTH;
export const atob = globalThis.atob;
export const btoa = globalThis.btoa;
export const Blob = globalThis.Blob;
export default { Buffer, constants, kMaxLength, atob, btoa, Blob };
