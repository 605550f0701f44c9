// crypto: getRandomValues and randomUUID from a ChaCha20 CSPRNG, and crypto.subtle with SHA-1/2
// digests and HMAC. Pure JavaScript: the isolate has no bridge for this. The generator is keyed once
// from globalThis.__flux_entropy (64 bytes from os.urandom, hex), which is captured and deleted here.
(function (global) {
  'use strict';

  const { Uint8Array, Int32Array, ArrayBuffer, Promise, TypeError, Error, Object, Symbol } = global;
  const apply = Reflect.apply;
  const getter = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
  const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype);
  const typedArrayTag = getter(typedArrayProto, Symbol.toStringTag);
  const typedArrayBuffer = getter(typedArrayProto, 'buffer');
  const typedArrayOffset = getter(typedArrayProto, 'byteOffset');
  const typedArrayLength = getter(typedArrayProto, 'byteLength');
  const dataViewBuffer = getter(global.DataView.prototype, 'buffer');
  const dataViewOffset = getter(global.DataView.prototype, 'byteOffset');
  const dataViewLength = getter(global.DataView.prototype, 'byteLength');
  const arrayBufferLength = getter(ArrayBuffer.prototype, 'byteLength');
  const DOMExceptionAtLoad = global.DOMException;

  const entropyHex = global.__flux_entropy;
  delete global.__flux_entropy;
  if (typeof entropyHex !== 'string' || !/^[0-9a-fA-F]{128}$/.test(entropyHex)) {
    throw new Error('crypto.js: globalThis.__flux_entropy must hold 64 random bytes as hex');
  }

  function defineHidden(target, name, value) {
    Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
  }

  function domException(message, name) {
    // events.js defines DOMException before this file in production; looked up late only so the
    // file still loads alone.
    const Ctor = DOMExceptionAtLoad ?? global.DOMException;
    if (typeof Ctor === 'function') return new Ctor(message, name);
    const error = new Error(message);
    error.name = name;
    return error;
  }

  function tryCall(fn, value) {
    try {
      return apply(fn, value, []);
    } catch {
      return undefined;
    }
  }

  // A Uint8Array over the bytes of a BufferSource (ArrayBuffer, typed array, DataView); no copy.
  function bufferSourceBytes(source, what) {
    if (typedArrayTag.call(source) !== undefined) {
      return new Uint8Array(typedArrayBuffer.call(source), typedArrayOffset.call(source),
        typedArrayLength.call(source));
    }
    const viewLength = tryCall(dataViewLength, source);
    if (viewLength !== undefined) {
      return new Uint8Array(dataViewBuffer.call(source), dataViewOffset.call(source), viewLength);
    }
    if (tryCall(arrayBufferLength, source) !== undefined) return new Uint8Array(source);
    throw new TypeError(`${what} is not an ArrayBuffer, a typed array or a DataView`);
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
      if (tryCall(dataViewLength, array) !== undefined) {
        throw domException('getRandomValues: a DataView is not an integer typed array', 'TypeMismatchError');
      }
      throw new TypeError("Failed to execute 'getRandomValues': argument is not a typed array");
    }
    if (INTEGER_ARRAYS[tag] !== true) {
      throw domException(`getRandomValues: ${tag} is not an integer typed array`, 'TypeMismatchError');
    }
    const length = typedArrayLength.call(array);
    if (length > MAX_RANDOM_BYTES) {
      throw domException(`getRandomValues: the array's byte length (${length}) exceeds the number of ` +
        `bytes of entropy available via this API (${MAX_RANDOM_BYTES})`, 'QuotaExceededError');
    }
    fillRandom(new Uint8Array(typedArrayBuffer.call(array), typedArrayOffset.call(array), length));
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

  const webInternals = global.__flux_web ?? Object.create(null);
  if (global.__flux_web === undefined) defineHidden(global, '__flux_web', webInternals);
  defineHidden(webInternals, 'bufferSourceBytes', bufferSourceBytes);
  defineHidden(webInternals, 'domException', domException);

  // ---- SHA-1, SHA-256, SHA-384, SHA-512 (FIPS 180-4) ----
  // 64-bit words are (high, low) pairs of 32-bit integers: no BigInt in the compression loops.
  const K512 = new Int32Array([
    0x428a2f98, 0xd728ae22, 0x71374491, 0x23ef65cd, 0xb5c0fbcf, 0xec4d3b2f, 0xe9b5dba5, 0x8189dbbc,
    0x3956c25b, 0xf348b538, 0x59f111f1, 0xb605d019, 0x923f82a4, 0xaf194f9b, 0xab1c5ed5, 0xda6d8118,
    0xd807aa98, 0xa3030242, 0x12835b01, 0x45706fbe, 0x243185be, 0x4ee4b28c, 0x550c7dc3, 0xd5ffb4e2,
    0x72be5d74, 0xf27b896f, 0x80deb1fe, 0x3b1696b1, 0x9bdc06a7, 0x25c71235, 0xc19bf174, 0xcf692694,
    0xe49b69c1, 0x9ef14ad2, 0xefbe4786, 0x384f25e3, 0x0fc19dc6, 0x8b8cd5b5, 0x240ca1cc, 0x77ac9c65,
    0x2de92c6f, 0x592b0275, 0x4a7484aa, 0x6ea6e483, 0x5cb0a9dc, 0xbd41fbd4, 0x76f988da, 0x831153b5,
    0x983e5152, 0xee66dfab, 0xa831c66d, 0x2db43210, 0xb00327c8, 0x98fb213f, 0xbf597fc7, 0xbeef0ee4,
    0xc6e00bf3, 0x3da88fc2, 0xd5a79147, 0x930aa725, 0x06ca6351, 0xe003826f, 0x14292967, 0x0a0e6e70,
    0x27b70a85, 0x46d22ffc, 0x2e1b2138, 0x5c26c926, 0x4d2c6dfc, 0x5ac42aed, 0x53380d13, 0x9d95b3df,
    0x650a7354, 0x8baf63de, 0x766a0abb, 0x3c77b2a8, 0x81c2c92e, 0x47edaee6, 0x92722c85, 0x1482353b,
    0xa2bfe8a1, 0x4cf10364, 0xa81a664b, 0xbc423001, 0xc24b8b70, 0xd0f89791, 0xc76c51a3, 0x0654be30,
    0xd192e819, 0xd6ef5218, 0xd6990624, 0x5565a910, 0xf40e3585, 0x5771202a, 0x106aa070, 0x32bbd1b8,
    0x19a4c116, 0xb8d2d0c8, 0x1e376c08, 0x5141ab53, 0x2748774c, 0xdf8eeb99, 0x34b0bcb5, 0xe19b48a8,
    0x391c0cb3, 0xc5c95a63, 0x4ed8aa4a, 0xe3418acb, 0x5b9cca4f, 0x7763e373, 0x682e6ff3, 0xd6b2b8a3,
    0x748f82ee, 0x5defb2fc, 0x78a5636f, 0x43172f60, 0x84c87814, 0xa1f0ab72, 0x8cc70208, 0x1a6439ec,
    0x90befffa, 0x23631e28, 0xa4506ceb, 0xde82bde9, 0xbef9a3f7, 0xb2c67915, 0xc67178f2, 0xe372532b,
    0xca273ece, 0xea26619c, 0xd186b8c7, 0x21c0c207, 0xeada7dd6, 0xcde0eb1e, 0xf57d4f7f, 0xee6ed178,
    0x06f067aa, 0x72176fba, 0x0a637dc5, 0xa2c898a6, 0x113f9804, 0xbef90dae, 0x1b710b35, 0x131c471b,
    0x28db77f5, 0x23047d84, 0x32caab7b, 0x40c72493, 0x3c9ebe0a, 0x15c9bebc, 0x431d67c4, 0x9c100d4c,
    0x4cc5d4be, 0xcb3e42b6, 0x597f299c, 0xfc657e2a, 0x5fcb6fab, 0x3ad6faec, 0x6c44198c, 0x4a475817,
  ]);
  const IV512 = [
    0x6a09e667, 0xf3bcc908, 0xbb67ae85, 0x84caa73b, 0x3c6ef372, 0xfe94f82b, 0xa54ff53a, 0x5f1d36f1,
    0x510e527f, 0xade682d1, 0x9b05688c, 0x2b3e6c1f, 0x1f83d9ab, 0xfb41bd6b, 0x5be0cd19, 0x137e2179,
  ];
  const IV384 = [
    0xcbbb9d5d, 0xc1059ed8, 0x629a292a, 0x367cd507, 0x9159015a, 0x3070dd17, 0x152fecd8, 0xf70e5939,
    0x67332667, 0xffc00b31, 0x8eb44a87, 0x68581511, 0xdb0c2e0d, 0x64f98fa7, 0x47b5481d, 0xbefa4fa4,
  ];
  // SHA-256's constants are the high halves of SHA-512's (same roots, 32 bits instead of 64).
  const K256 = new Int32Array(64);
  for (let i = 0; i < 64; i++) K256[i] = K512[i * 2];
  const IV256 = IV512.filter((_, i) => i % 2 === 0);
  const IV1 = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const W = new Int32Array(80);
  const WL = new Int32Array(80);

  const readBE32 = (b, i) => (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];

  function sha1Blocks(H, b, offset, end) {
    for (; offset < end; offset += 64) {
      for (let i = 0; i < 16; i++) W[i] = readBE32(b, offset + i * 4);
      for (let i = 16; i < 80; i++) {
        const x = W[i - 3] ^ W[i - 8] ^ W[i - 14] ^ W[i - 16];
        W[i] = (x << 1) | (x >>> 31);
      }
      let a = H[0], bb = H[1], c = H[2], d = H[3], e = H[4];
      // Four loops, one per round function, keep branches out of the hot path.
      for (let i = 0; i < 20; i++) {
        const t = (((a << 5) | (a >>> 27)) + ((bb & c) | (~bb & d)) + e + 0x5a827999 + W[i]) | 0;
        e = d; d = c; c = (bb << 30) | (bb >>> 2); bb = a; a = t;
      }
      for (let i = 20; i < 40; i++) {
        const t = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e + 0x6ed9eba1 + W[i]) | 0;
        e = d; d = c; c = (bb << 30) | (bb >>> 2); bb = a; a = t;
      }
      for (let i = 40; i < 60; i++) {
        const t = (((a << 5) | (a >>> 27)) + ((bb & c) | (bb & d) | (c & d)) + e + 0x8f1bbcdc + W[i]) | 0;
        e = d; d = c; c = (bb << 30) | (bb >>> 2); bb = a; a = t;
      }
      for (let i = 60; i < 80; i++) {
        const t = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e + 0xca62c1d6 + W[i]) | 0;
        e = d; d = c; c = (bb << 30) | (bb >>> 2); bb = a; a = t;
      }
      H[0] = (H[0] + a) | 0; H[1] = (H[1] + bb) | 0; H[2] = (H[2] + c) | 0;
      H[3] = (H[3] + d) | 0; H[4] = (H[4] + e) | 0;
    }
  }

  function sha256Blocks(H, b, offset, end) {
    for (; offset < end; offset += 64) {
      for (let i = 0; i < 16; i++) W[i] = readBE32(b, offset + i * 4);
      for (let i = 16; i < 64; i++) {
        const x = W[i - 15];
        const y = W[i - 2];
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
      }
      let a = H[0], bb = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
      for (let i = 0; i < 64; i++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K256[i] + W[i]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const t2 = (S0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
        h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = bb; bb = a; a = (t1 + t2) | 0;
      }
      H[0] = (H[0] + a) | 0; H[1] = (H[1] + bb) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0;
      H[4] = (H[4] + e) | 0; H[5] = (H[5] + f) | 0; H[6] = (H[6] + g) | 0; H[7] = (H[7] + h) | 0;
    }
  }

  // H holds 8 words as [h0 high, h0 low, h1 high, ...]. Low halves are summed as unsigned numbers
  // (exact in a double) and the carry is (sum / 2^32) | 0.
  function sha512Blocks(H, b, offset, end) {
    const C = 0x100000000;
    for (; offset < end; offset += 128) {
      for (let i = 0; i < 16; i++) {
        W[i] = readBE32(b, offset + i * 8);
        WL[i] = readBE32(b, offset + i * 8 + 4);
      }
      for (let i = 16; i < 80; i++) {
        let xh = W[i - 15], xl = WL[i - 15];
        const s0h = ((xh >>> 1) | (xl << 31)) ^ ((xh >>> 8) | (xl << 24)) ^ (xh >>> 7);
        const s0l = ((xl >>> 1) | (xh << 31)) ^ ((xl >>> 8) | (xh << 24)) ^ ((xl >>> 7) | (xh << 25));
        xh = W[i - 2]; xl = WL[i - 2];
        const s1h = ((xh >>> 19) | (xl << 13)) ^ ((xl >>> 29) | (xh << 3)) ^ (xh >>> 6);
        const s1l = ((xl >>> 19) | (xh << 13)) ^ ((xh >>> 29) | (xl << 3)) ^ ((xl >>> 6) | (xh << 26));
        const lo = (s0l >>> 0) + (s1l >>> 0) + (WL[i - 7] >>> 0) + (WL[i - 16] >>> 0);
        W[i] = (s0h + s1h + W[i - 7] + W[i - 16] + ((lo / C) | 0)) | 0;
        WL[i] = lo | 0;
      }
      let ah = H[0], al = H[1], bh = H[2], bl = H[3], ch = H[4], cl = H[5], dh = H[6], dl = H[7];
      let eh = H[8], el = H[9], fh = H[10], fl = H[11], gh = H[12], gl = H[13], hh = H[14], hl = H[15];
      for (let i = 0; i < 80; i++) {
        const S1h = ((eh >>> 14) | (el << 18)) ^ ((eh >>> 18) | (el << 14)) ^ ((el >>> 9) | (eh << 23));
        const S1l = ((el >>> 14) | (eh << 18)) ^ ((el >>> 18) | (eh << 14)) ^ ((eh >>> 9) | (el << 23));
        const chh = (eh & fh) ^ (~eh & gh);
        const chl = (el & fl) ^ (~el & gl);
        const t1l = (hl >>> 0) + (S1l >>> 0) + (chl >>> 0) + (K512[i * 2 + 1] >>> 0) + (WL[i] >>> 0);
        const t1h = (hh + S1h + chh + K512[i * 2] + W[i] + ((t1l / C) | 0)) | 0;
        const S0h = ((ah >>> 28) | (al << 4)) ^ ((al >>> 2) | (ah << 30)) ^ ((al >>> 7) | (ah << 25));
        const S0l = ((al >>> 28) | (ah << 4)) ^ ((ah >>> 2) | (al << 30)) ^ ((ah >>> 7) | (al << 25));
        const majh = (ah & bh) ^ (ah & ch) ^ (bh & ch);
        const majl = (al & bl) ^ (al & cl) ^ (bl & cl);
        const t2l = (S0l >>> 0) + (majl >>> 0);
        const t2h = S0h + majh + ((t2l / C) | 0);
        hh = gh; hl = gl; gh = fh; gl = fl; fh = eh; fl = el;
        let sum = (dl >>> 0) + (t1l >>> 0);
        eh = (dh + t1h + ((sum / C) | 0)) | 0; el = sum | 0;
        dh = ch; dl = cl; ch = bh; cl = bl; bh = ah; bl = al;
        sum = (t1l >>> 0) + (t2l >>> 0);
        ah = (t1h + t2h + ((sum / C) | 0)) | 0; al = sum | 0;
      }
      const words = [ah, al, bh, bl, ch, cl, dh, dl, eh, el, fh, fl, gh, gl, hh, hl];
      for (let i = 0; i < 16; i += 2) {
        const lo = (H[i + 1] >>> 0) + (words[i + 1] >>> 0);
        H[i] = (H[i] + words[i] + ((lo / C) | 0)) | 0;
        H[i + 1] = lo | 0;
      }
    }
  }

  const HASHES = Object.freeze({
    __proto__: null,
    'SHA-1': { blockSize: 64, outputLength: 20, iv: IV1, blocks: sha1Blocks },
    'SHA-256': { blockSize: 64, outputLength: 32, iv: IV256, blocks: sha256Blocks },
    'SHA-384': { blockSize: 128, outputLength: 48, iv: IV384, blocks: sha512Blocks },
    'SHA-512': { blockSize: 128, outputLength: 64, iv: IV512, blocks: sha512Blocks },
  });

  // Hashes bytes after `prefixLength` bytes already absorbed into state (HMAC's padded key block).
  function finishHash(hash, state, bytes, prefixLength) {
    const blockSize = hash.blockSize;
    const whole = bytes.length - (bytes.length % blockSize);
    hash.blocks(state, bytes, 0, whole);
    const rest = bytes.length - whole;
    // SHA-384/512 carry a 128-bit length; the upper 64 bits are zero for any input we can hold.
    const tailLength = rest + 1 + blockSize / 8 <= blockSize ? blockSize : blockSize * 2;
    const tail = new Uint8Array(tailLength);
    tail.set(bytes.subarray(whole));
    tail[rest] = 0x80;
    const total = prefixLength + bytes.length;
    const bitsHigh = Math.floor(total / 0x20000000);
    const bitsLow = (total * 8) >>> 0;
    for (let i = 0; i < 4; i++) {
      tail[tailLength - 8 + i] = bitsHigh >>> (24 - i * 8);
      tail[tailLength - 4 + i] = bitsLow >>> (24 - i * 8);
    }
    hash.blocks(state, tail, 0, tailLength);
    const out = new Uint8Array(hash.outputLength);
    for (let i = 0; i < hash.outputLength; i++) out[i] = state[i >> 2] >>> (24 - (i & 3) * 8);
    return out;
  }

  const digestBytes = (hash, bytes) => finishHash(hash, new Int32Array(hash.iv), bytes, 0);

  function hmacBytes(hash, key, data) {
    const blockSize = hash.blockSize;
    const block = new Uint8Array(blockSize);
    block.set(key.length > blockSize ? digestBytes(hash, key) : key);
    for (let i = 0; i < blockSize; i++) block[i] ^= 0x36;
    const inner = new Int32Array(hash.iv);
    hash.blocks(inner, block, 0, blockSize);
    const innerDigest = finishHash(hash, inner, data, blockSize);
    for (let i = 0; i < blockSize; i++) block[i] ^= 0x36 ^ 0x5c;
    const outer = new Int32Array(hash.iv);
    hash.blocks(outer, block, 0, blockSize);
    block.fill(0);
    return finishHash(hash, outer, innerDigest, blockSize);
  }

  // Constant time in the contents: every byte is compared whatever the first difference.
  function bytesEqual(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  // ---- SubtleCrypto ----
  const KEY_USAGES = ['encrypt', 'decrypt', 'sign', 'verify', 'deriveKey', 'deriveBits', 'wrapKey', 'unwrapKey'];
  const CONSTRUCT = Symbol('CryptoKey construct');
  let keySecrets;

  // The exposed algorithm and usages objects can be mutated by callers; operations read the
  // private copies instead.
  class CryptoKey {
    #algorithm; #extractable; #usages; #secrets;

    constructor(token, hashName, length, extractable, usages, data) {
      if (token !== CONSTRUCT) throw new TypeError('Illegal constructor');
      this.#algorithm = { name: 'HMAC', hash: { name: hashName }, length };
      this.#extractable = Boolean(extractable);
      this.#usages = [...usages];
      this.#secrets = Object.freeze({ name: 'HMAC', hashName, extractable: this.#extractable, usages, data });
    }

    static {
      keySecrets = (key) => (key !== null && typeof key === 'object' && #secrets in key ? key.#secrets : undefined);
    }

    get type() { return 'secret'; }
    get extractable() { return this.#extractable; }
    get algorithm() { return this.#algorithm; }
    get usages() { return this.#usages; }
  }
  Object.defineProperty(CryptoKey.prototype, Symbol.toStringTag, { value: 'CryptoKey', configurable: true });

  function algorithmName(algorithm) {
    if (typeof algorithm === 'string') return algorithm;
    if (algorithm === null || typeof algorithm !== 'object' || algorithm.name === undefined) {
      throw new TypeError('Algorithm: the name member is required');
    }
    return String(algorithm.name);
  }

  // Case-insensitive match against the names this file implements for an operation.
  function normalizeName(algorithm, supported, operation) {
    const name = algorithmName(algorithm);
    const upper = name.toUpperCase();
    for (const candidate of supported) if (candidate.toUpperCase() === upper) return candidate;
    throw domException(`Unrecognized or unsupported algorithm for ${operation}: ${name}`, 'NotSupportedError');
  }

  const hashByName = (algorithm, operation) => HASHES[normalizeName(algorithm, Object.keys(HASHES), operation)];

  function hmacParams(algorithm, operation) {
    normalizeName(algorithm, ['HMAC'], operation);
    if (algorithm.hash === undefined) throw new TypeError('HmacImportParams: the hash member is required');
    const hashName = normalizeName(algorithm.hash, Object.keys(HASHES), operation);
    const length = algorithm.length === undefined ? undefined : Number(algorithm.length) >>> 0;
    return { hashName, length };
  }

  function hmacUsages(usages) {
    if (usages === null || typeof usages !== 'object' || typeof usages[Symbol.iterator] !== 'function') {
      throw new TypeError('keyUsages must be a sequence of strings');
    }
    const result = [];
    for (const usage of usages) {
      const value = String(usage);
      if (!KEY_USAGES.includes(value)) throw new TypeError(`'${value}' is not a valid KeyUsage`);
      if (value !== 'sign' && value !== 'verify') {
        throw domException(`Cannot create an HMAC key with usage '${value}'`, 'SyntaxError');
      }
      if (!result.includes(value)) result.push(value);
    }
    if (result.length === 0) throw domException('Usages cannot be empty for a secret key', 'SyntaxError');
    return result;
  }

  const makeHmacKey = (hashName, length, extractable, usages, data) =>
    new CryptoKey(CONSTRUCT, hashName, length, extractable, usages, data);

  function secretsOf(key) {
    const secrets = keySecrets(key);
    if (secrets === undefined) throw new TypeError('key is not a CryptoKey');
    return secrets;
  }

  // The key's secrets after checking it may serve `usage` with `algorithm`.
  function usableKey(key, algorithm, usage) {
    const secrets = secretsOf(key);
    const name = normalizeName(algorithm, ['HMAC'], usage);
    if (secrets.name !== name) {
      throw domException(`The key is a ${secrets.name} key, not ${name}`, 'InvalidAccessError');
    }
    if (!secrets.usages.includes(usage)) {
      throw domException(`The key does not allow the '${usage}' usage`, 'InvalidAccessError');
    }
    return secrets;
  }

  function toArrayBuffer(bytes) {
    return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
  }

  // WebIDL: a promise-returning operation reports every failure, argument errors included, by rejecting.
  const settle = (compute) => new Promise((resolve) => resolve(compute()));
  const unsupported = (operation) => () =>
    settle(() => { throw domException(`crypto.subtle.${operation} is not supported by flux-edge`, 'NotSupportedError'); });

  class SubtleCrypto {
    constructor() {
      throw new TypeError('Illegal constructor');
    }

    digest(algorithm, data) {
      return settle(() => {
        const hash = hashByName(algorithm, 'digest');
        return toArrayBuffer(digestBytes(hash, bufferSourceBytes(data, 'data')));
      });
    }

    importKey(format, keyData, algorithm, extractable, keyUsages) {
      return settle(() => {
        if (format !== 'raw') {
          throw domException(`importKey: format '${format}' is not supported (only 'raw')`, 'NotSupportedError');
        }
        const { hashName, length } = hmacParams(algorithm, 'importKey');
        const data = bufferSourceBytes(keyData, 'keyData').slice();
        const usages = hmacUsages(keyUsages);
        const bits = data.length * 8;
        if (bits === 0) throw domException('HMAC key data must not be empty', 'DataError');
        if (length !== undefined && (length > bits || length <= bits - 8)) {
          throw domException(`HMAC length ${length} does not match ${data.length} bytes of key data`, 'DataError');
        }
        return makeHmacKey(hashName, length ?? bits, extractable, usages, data);
      });
    }

    exportKey(format, key) {
      return settle(() => {
        const secrets = secretsOf(key);
        if (format !== 'raw') {
          throw domException(`exportKey: format '${format}' is not supported (only 'raw')`, 'NotSupportedError');
        }
        if (!secrets.extractable) throw domException('The key is not extractable', 'InvalidAccessError');
        return secrets.data.slice().buffer;
      });
    }

    generateKey(algorithm, extractable, keyUsages) {
      return settle(() => {
        const { hashName, length } = hmacParams(algorithm, 'generateKey');
        const usages = hmacUsages(keyUsages);
        const bits = length ?? HASHES[hashName].blockSize * 8;
        if (bits === 0) throw domException('HMAC key length must not be zero', 'OperationError');
        const data = new Uint8Array(Math.ceil(bits / 8));
        fillRandom(data);
        return makeHmacKey(hashName, bits, extractable, usages, data);
      });
    }

    sign(algorithm, key, data) {
      return settle(() => {
        const { hashName, data: secret } = usableKey(key, algorithm, 'sign');
        return toArrayBuffer(hmacBytes(HASHES[hashName], secret, bufferSourceBytes(data, 'data')));
      });
    }

    verify(algorithm, key, signature, data) {
      return settle(() => {
        const { hashName, data: secret } = usableKey(key, algorithm, 'verify');
        const expected = bufferSourceBytes(signature, 'signature').slice();
        const actual = hmacBytes(HASHES[hashName], secret, bufferSourceBytes(data, 'data'));
        return bytesEqual(actual, expected);
      });
    }
  }
  for (const operation of ['encrypt', 'decrypt', 'deriveBits', 'deriveKey', 'wrapKey', 'unwrapKey']) {
    defineHidden(SubtleCrypto.prototype, operation, unsupported(operation));
  }
  Object.defineProperty(SubtleCrypto.prototype, Symbol.toStringTag, { value: 'SubtleCrypto', configurable: true });
  const subtle = Object.create(SubtleCrypto.prototype);

  class Crypto {
    constructor() {
      throw new TypeError('Illegal constructor');
    }

    /** The SubtleCrypto interface (digest, HMAC). */
    get subtle() {
      return subtle;
    }

    getRandomValues(array) {
      if (arguments.length < 1) throw new TypeError("Failed to execute 'getRandomValues': 1 argument required");
      return getRandomValues(array);
    }

    randomUUID() {
      return randomUUID();
    }
  }
  Object.defineProperty(Crypto.prototype, Symbol.toStringTag, { value: 'Crypto', configurable: true });

  defineHidden(global, 'Crypto', Crypto);
  defineHidden(global, 'SubtleCrypto', SubtleCrypto);
  defineHidden(global, 'CryptoKey', CryptoKey);
  defineHidden(global, 'crypto', Object.create(Crypto.prototype));
})(globalThis);
