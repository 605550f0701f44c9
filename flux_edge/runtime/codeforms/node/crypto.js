// node:crypto, the cheap part: createHash and createHmac (sha1, sha256, sha384, sha512) with
// update/digest, randomUUID, randomBytes, getRandomValues, timingSafeEqual, and webcrypto.
// The hashes are the runtime's own (web/sha.js), evaluated here over a private scope.
import { Buffer } from "node:buffer";

const sha = { Uint8Array, Int32Array, Object, Math, __flux_crypto: {} };
/*__FLUX_SHA__*/
const { HASHES, digestBytes, hmacBytes } = sha.__flux_crypto;
const NAMES = { sha1: "SHA-1", sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" };

function hashOf(algorithm) {
  const name = NAMES[String(algorithm).toLowerCase().replace("-", "")];
  if (!name) throw new Error(`Digest method not supported: ${algorithm} (flux-edge has sha1, sha256, sha384, sha512)`);
  return HASHES[name];
}

function bytes(data, encoding) {
  if (typeof data === "string") return Buffer.from(data, encoding);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError('The "data" argument must be a string, Buffer, TypedArray or DataView');
}

class Digest {
  #hash;
  #chunks = [];
  #key;
  #done = false;
  constructor(hash, key) {
    this.#hash = hash;
    this.#key = key;
  }
  update(data, encoding) {
    if (this.#done) throw new Error("Digest already called");
    this.#chunks.push(bytes(data, encoding).slice());
    return this;
  }
  digest(encoding) {
    if (this.#done) throw new Error("Digest already called");
    this.#done = true;
    const data = Buffer.concat(this.#chunks);
    const out = this.#key ? hmacBytes(this.#hash, this.#key, data) : digestBytes(this.#hash, data);
    const buffer = Buffer.from(out);
    return encoding ? buffer.toString(encoding) : buffer;
  }
  copy() {
    const copy = new Digest(this.#hash, this.#key);
    for (const chunk of this.#chunks) copy.update(chunk);
    return copy;
  }
}

export function createHash(algorithm) {
  return new Digest(hashOf(algorithm), null);
}

export function createHmac(algorithm, key) {
  return new Digest(hashOf(algorithm), bytes(key).slice());
}

export function timingSafeEqual(a, b) {
  const x = bytes(a), y = bytes(b);
  if (x.byteLength !== y.byteLength) throw new RangeError("Input buffers must have the same byte length");
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

export function randomUUID() {
  return globalThis.crypto.randomUUID();
}

export function randomBytes(size, callback) {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += 65536) globalThis.crypto.getRandomValues(out.subarray(i, i + 65536));
  if (callback) {
    queueMicrotask(() => callback(null, out));
    return undefined;
  }
  return out;
}

export function getHashes() {
  return Object.keys(NAMES);
}

export const getRandomValues = (array) => globalThis.crypto.getRandomValues(array);
export const webcrypto = globalThis.crypto;
export const subtle = globalThis.crypto.subtle;
export default {
  createHash, createHmac, timingSafeEqual, randomUUID, randomBytes, getHashes, getRandomValues,
  webcrypto, subtle,
};
