// crypto.subtle: SubtleCrypto with SHA-1/2 digests and HMAC keys (import, export, generate, sign,
// verify), and CryptoKey. Takes the hashes of sha.js and the generator of crypto.js from the
// internal global __flux_crypto, deletes it, and adds the `subtle` attribute to Crypto.prototype.
(function (global) {
  'use strict';

  const { Uint8Array, Promise, TypeError, Object, Symbol } = global;
  const { defineHidden, defineInterface, bufferSourceBytes } = global.__flux_webutil;
  const { Crypto, fillRandom, HASHES, digestBytes, hmacBytes } = global.__flux_crypto;
  delete global.__flux_crypto;
  const DOMExceptionCtor = global.DOMException;

  const domException = (message, name) => new DOMExceptionCtor(message, name);

  // A Uint8Array over the bytes of a BufferSource (ArrayBuffer, typed array, DataView); no copy.
  function bytesOf(source, what) {
    const bytes = bufferSourceBytes(source);
    if (bytes === undefined) throw new TypeError(`${what} is not an ArrayBuffer, a typed array or a DataView`);
    return bytes;
  }

  // Constant time in the contents: every byte is compared whatever the first difference.
  function bytesEqual(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

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
        return toArrayBuffer(digestBytes(hash, bytesOf(data, 'data')));
      });
    }

    importKey(format, keyData, algorithm, extractable, keyUsages) {
      return settle(() => {
        if (format !== 'raw') {
          throw domException(`importKey: format '${format}' is not supported (only 'raw')`, 'NotSupportedError');
        }
        const { hashName, length } = hmacParams(algorithm, 'importKey');
        const data = bytesOf(keyData, 'keyData').slice();
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
        return toArrayBuffer(hmacBytes(HASHES[hashName], secret, bytesOf(data, 'data')));
      });
    }

    verify(algorithm, key, signature, data) {
      return settle(() => {
        const { hashName, data: secret } = usableKey(key, algorithm, 'verify');
        const expected = bytesOf(signature, 'signature').slice();
        const actual = hmacBytes(HASHES[hashName], secret, bytesOf(data, 'data'));
        return bytesEqual(actual, expected);
      });
    }
  }
  for (const operation of ['encrypt', 'decrypt', 'deriveBits', 'deriveKey', 'wrapKey', 'unwrapKey']) {
    defineHidden(SubtleCrypto.prototype, operation, unsupported(operation));
  }
  const subtle = Object.create(SubtleCrypto.prototype);

  // As a class getter would be: non-enumerable, configurable, named "get subtle".
  const subtleAttribute = Object.getOwnPropertyDescriptor({
    /** The SubtleCrypto interface (digest, HMAC). */
    get subtle() {
      return subtle;
    },
  }, 'subtle');
  subtleAttribute.enumerable = false;
  Object.defineProperty(Crypto.prototype, 'subtle', subtleAttribute);
  defineInterface('SubtleCrypto', SubtleCrypto);
  defineInterface('CryptoKey', CryptoKey);
})(globalThis);
