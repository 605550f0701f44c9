// crypto: getRandomValues and randomUUID from a ChaCha20 CSPRNG, and the Crypto interface (its
// `subtle` attribute comes with subtle.js). Pure JavaScript: the isolate has no bridge for this.
// The generator is keyed once from globalThis.__flux_entropy (64 bytes from os.urandom, hex), which
// is captured and deleted here; it goes on to subtle.js on the internal global __flux_crypto.
(function (global) {
  'use strict';

  // First of all, so the entropy is gone from the global scope even if a later line fails.
  const entropyHex = global.__flux_entropy;
  delete global.__flux_entropy;
  if (typeof entropyHex !== 'string' || !/^[0-9a-fA-F]{128}$/.test(entropyHex)) {
    throw new Error('crypto.js: globalThis.__flux_entropy must hold 64 random bytes as hex');
  }

  const { Uint8Array, Int32Array, TypeError, Object, Symbol } = global;
  const { defineHidden, defineGlobal, defineInterface, bufferSourceBytes } = global.__flux_webutil;
  const getter = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
  const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
  const typedArrayTag = getter(typedArrayProto, Symbol.toStringTag);
  const dataViewLength = getter(global.DataView.prototype, 'byteLength');
  const DOMExceptionCtor = global.DOMException;
  // QuotaExceededError is base64.js's (a DOMException subclass); without it, a plain DOMException.
  const QuotaErrorCtor = global.QuotaExceededError;
  const quotaError = (message) => (typeof QuotaErrorCtor === 'function'
    ? new QuotaErrorCtor(message) : new DOMExceptionCtor(message, 'QuotaExceededError'));

  function isDataView(value) {
    try {
      dataViewLength.call(value);
      return true;
    } catch {
      return false;
    }
  }

  // ---- ChaCha20 (RFC 8439 section 2.3) with fast key erasure ----
  const chachaState = new Int32Array(16);
  const chachaWork = new Int32Array(16);

  const readLE32 = (b, i) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);

  function quarterRound(x, a, b, c, d) {
    x[a] += x[b]; x[d] ^= x[a]; x[d] = (x[d] << 16) | (x[d] >>> 16);
    x[c] += x[d]; x[b] ^= x[c]; x[b] = (x[b] << 12) | (x[b] >>> 20);
    x[a] += x[b]; x[d] ^= x[a]; x[d] = (x[d] << 8) | (x[d] >>> 24);
    x[c] += x[d]; x[b] ^= x[c]; x[b] = (x[b] << 7) | (x[b] >>> 25);
  }

  // Writes one 64-byte keystream block for (key words, counter, nonce words) into out at offset.
  function chachaBlock(key, counter, nonce, out, offset) {
    const s = chachaState;
    const x = chachaWork;
    s[0] = 0x61707865; s[1] = 0x3320646e; s[2] = 0x79622d32; s[3] = 0x6b206574;
    for (let i = 0; i < 8; i++) s[4 + i] = key[i];
    s[12] = counter;
    s[13] = nonce[0]; s[14] = nonce[1]; s[15] = nonce[2];
    x.set(s);
    for (let round = 0; round < 10; round++) {
      quarterRound(x, 0, 4, 8, 12); quarterRound(x, 1, 5, 9, 13);
      quarterRound(x, 2, 6, 10, 14); quarterRound(x, 3, 7, 11, 15);
      quarterRound(x, 0, 5, 10, 15); quarterRound(x, 1, 6, 11, 12);
      quarterRound(x, 2, 7, 8, 13); quarterRound(x, 3, 4, 9, 14);
    }
    for (let i = 0; i < 16; i++) {
      const word = (x[i] + s[i]) | 0;
      const j = offset + i * 4;
      out[j] = word; out[j + 1] = word >>> 8; out[j + 2] = word >>> 16; out[j + 3] = word >>> 24;
    }
  }

  const entropy = new Uint8Array(64);
  for (let i = 0; i < 64; i++) entropy[i] = parseInt(entropyHex.slice(i * 2, i * 2 + 2), 16);
  const rngKey = new Int32Array(8);
  const rngNonce = new Int32Array(3);
  for (let i = 0; i < 8; i++) rngKey[i] = readLE32(entropy, i * 4);
  // The last 20 bytes are folded into the key so that all 64 bytes of entropy count.
  for (let i = 0; i < 5; i++) rngKey[i] ^= readLE32(entropy, 44 + i * 4);
  for (let i = 0; i < 3; i++) rngNonce[i] = readLE32(entropy, 32 + i * 4);
  entropy.fill(0);

  const POOL_BLOCKS = 16;
  const pool = new Uint8Array(POOL_BLOCKS * 64);
  let poolPos = pool.length;

  // Fast key erasure: each refill's first 32 bytes become the next key and are never handed out,
  // so the (key, counter) pair never repeats and past output cannot be recomputed from the state.
  function refillPool() {
    for (let block = 0; block < POOL_BLOCKS; block++) chachaBlock(rngKey, block, rngNonce, pool, block * 64);
    for (let i = 0; i < 8; i++) rngKey[i] = readLE32(pool, i * 4);
    pool.fill(0, 0, 32);
    poolPos = 32;
  }

  function fillRandom(bytes) {
    let offset = 0;
    while (offset < bytes.length) {
      if (poolPos === pool.length) refillPool();
      const n = Math.min(pool.length - poolPos, bytes.length - offset);
      bytes.set(pool.subarray(poolPos, poolPos + n), offset);
      pool.fill(0, poolPos, poolPos + n);
      poolPos += n;
      offset += n;
    }
  }

  const INTEGER_ARRAYS = Object.freeze({
    __proto__: null, Int8Array: true, Uint8Array: true, Uint8ClampedArray: true, Int16Array: true,
    Uint16Array: true, Int32Array: true, Uint32Array: true, BigInt64Array: true, BigUint64Array: true,
  });
  const MAX_RANDOM_BYTES = 65536;

  function getRandomValues(array) {
    const tag = typedArrayTag.call(array);
    if (tag === undefined) {
      if (isDataView(array)) {
        throw new DOMExceptionCtor('getRandomValues: a DataView is not an integer typed array', 'TypeMismatchError');
      }
      throw new TypeError("Failed to execute 'getRandomValues': argument is not a typed array");
    }
    if (INTEGER_ARRAYS[tag] !== true) {
      throw new DOMExceptionCtor(`getRandomValues: ${tag} is not an integer typed array`, 'TypeMismatchError');
    }
    const bytes = bufferSourceBytes(array);
    if (bytes.length > MAX_RANDOM_BYTES) {
      throw quotaError(`getRandomValues: the array's byte length (${bytes.length}) exceeds the number ` +
        `of bytes of entropy available via this API (${MAX_RANDOM_BYTES})`);
    }
    fillRandom(bytes);
    return array;
  }

  const HEX = [];
  for (let i = 0; i < 256; i++) HEX.push((i < 16 ? '0' : '') + i.toString(16));
  const uuidBytes = new Uint8Array(16);

  function randomUUID() {
    const b = uuidBytes;
    fillRandom(b);
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    const h = (i) => HEX[b[i]];
    const uuid = h(0) + h(1) + h(2) + h(3) + '-' + h(4) + h(5) + '-' + h(6) + h(7) + '-' + h(8) + h(9) +
      '-' + h(10) + h(11) + h(12) + h(13) + h(14) + h(15);
    b.fill(0);
    return uuid;
  }

  class Crypto {
    constructor() {
      throw new TypeError('Illegal constructor');
    }

    getRandomValues(array) {
      if (arguments.length < 1) throw new TypeError("Failed to execute 'getRandomValues': 1 argument required");
      return getRandomValues(array);
    }

    randomUUID() {
      return randomUUID();
    }
  }

  defineInterface('Crypto', Crypto);
  defineGlobal('crypto', Object.create(Crypto.prototype));
  defineHidden(global, '__flux_crypto', { __proto__: null, Crypto, fillRandom });
})(globalThis);
