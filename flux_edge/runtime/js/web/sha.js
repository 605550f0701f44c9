// SHA-1, SHA-256, SHA-384, SHA-512 (FIPS 180-4) and HMAC (RFC 2104) over Uint8Arrays, for
// subtle.js: `HASHES`, `digestBytes` and `hmacBytes` go to it on the internal global __flux_crypto.
// Pure JavaScript and synchronous.
(function (global) {
  'use strict';

  const { Uint8Array, Int32Array, Object, Math } = global;

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


  Object.assign(global.__flux_crypto, { HASHES, digestBytes, hmacBytes });
})(globalThis);
