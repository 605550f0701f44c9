// crypto.subtle: SubtleCrypto and CryptoKey. SHA-1/2 digests and HMAC sign/verify run here, in
// JavaScript (sha.js); everything else (key import/export/generation, RSA, EC, Ed25519, X25519,
// AES, HKDF, PBKDF2, wrapping, SHA-3) is done by Python's `cryptography` through the host bridge
// (flux_edge/runtime/webcrypto/), loaded on the first such call. Arguments are converted here, at
// call time, into plain values (BufferSources copied as base64), so later changes to the caller's
// buffers do not matter; Python applies each algorithm's dictionary and returns JSON.
// A CryptoKey's record (type, algorithm, usages, material) sits in a private field.
// subtle_host.js, loaded after core.js, hands over hostCall through __flux_subtle_connect.
(function (global) {
  'use strict';

  const { Uint8Array, Promise, TypeError, Object, Symbol, String, Number, Boolean, Array } = global;
  const { defineHidden, defineInterface, bufferSourceBytes } = global.__flux_webutil;
  const { Crypto, HASHES, digestBytes, hmacBytes } = global.__flux_crypto;
  delete global.__flux_crypto;
  const DOMExceptionCtor = global.DOMException;
  const toBase64 = Uint8Array.prototype.toBase64;
  const fromBase64 = Uint8Array.fromBase64;
  const isArray = Array.isArray;
  const iteratorSymbol = Symbol.iterator;

  let hostCall = null;
  defineHidden(global, '__flux_subtle_connect', (call) => {
    hostCall = call;
  });

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
  const KEY_FORMATS = ['raw', 'spki', 'pkcs8', 'jwk', 'raw-public', 'raw-private', 'raw-seed', 'raw-secret'];
  const CONSTRUCT = Symbol('CryptoKey construct');
  let recordOf;
  let secretOf;

  // The algorithm object a key exposes: the record's, with {$b} (publicExponent) as a Uint8Array.
  function exposed(value) {
    if (value === null || typeof value !== 'object') return value;
    if (typeof value.$b === 'string') return fromBase64(value.$b);
    const out = {};
    for (const name of Object.keys(value)) out[name] = exposed(value[name]);
    return out;
  }

  // `algorithm` and `usages` are made once and returned every time (the spec caches them); they
  // can be mutated by callers, so operations read the private record instead.
  class CryptoKey {
    #record; #algorithm; #usages; #secret;

    constructor(token, record) {
      if (token !== CONSTRUCT) throw new TypeError('Illegal constructor');
      this.#record = record;
      this.#algorithm = exposed(record.algorithm);
      this.#usages = [...record.usages];
    }

    static {
      recordOf = (key) => (key !== null && typeof key === 'object' && #record in key ? key.#record : undefined);
      // The raw bytes of a secret key, decoded once, for the HMAC done here.
      secretOf = (key) => {
        if (key.#secret === undefined) key.#secret = fromBase64(key.#record.data);
        return key.#secret;
      };
    }

    get type() { return this.#record.type; }
    get extractable() { return this.#record.extractable; }
    get algorithm() { return this.#algorithm; }
    get usages() { return this.#usages; }
  }

  // ---- argument conversion (WebIDL) ----------------------------------------------------------
  // Every member of every WebCrypto algorithm dictionary; Python picks those its dictionary has.
  const ALGORITHM_MEMBERS = ['additionalData', 'counter', 'hash', 'info', 'iterations', 'iv', 'label', 'length',
    'modulusLength', 'namedCurve', 'public', 'publicExponent', 'salt', 'saltLength', 'tagLength'];

  function encodeMember(value, member) {
    if (value === null) return null;
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        return Number.isFinite(value) ? value : { $n: String(value) };
      case 'object':
      case 'function': {
        const bytes = bufferSourceBytes(value);
        if (bytes !== undefined) return { $b: toBase64.call(bytes) };
        const record = recordOf(value);
        if (record !== undefined) return { $k: record };
        if (member === 'hash') return convertAlgorithm(value);
        return { $bad: 'object' };
      }
      default:
        return { $bad: typeof value };
    }
  }

  // AlgorithmIdentifier: a string, or an object whose members are read and converted now.
  function convertAlgorithm(algorithm) {
    if (algorithm === null || (typeof algorithm !== 'object' && typeof algorithm !== 'function')) {
      return String(algorithm);
    }
    const name = algorithm.name;
    if (name === undefined) throw new TypeError('Algorithm: the name member is required');
    const out = { name: String(name) };
    for (const member of ALGORITHM_MEMBERS) {
      const value = algorithm[member];
      if (value !== undefined) out[member] = encodeMember(value, member);
    }
    return out;
  }

  const JWK_STRINGS = ['alg', 'crv', 'd', 'dp', 'dq', 'e', 'k', 'kty', 'n', 'p', 'q', 'qi', 'use', 'x', 'y'];

  function stringSequence(value, what) {
    if (value === null || typeof value !== 'object' || typeof value[iteratorSymbol] !== 'function') {
      throw new TypeError(`${what} must be a sequence`);
    }
    const out = [];
    for (const item of value) out.push(String(item));
    return out;
  }

  // (BufferSource or JsonWebKey): bytes as {$b}, anything else read as a JsonWebKey dictionary.
  function convertKeyData(keyData) {
    const bytes = bufferSourceBytes(keyData);
    if (bytes !== undefined) return { $b: toBase64.call(bytes) };
    if (keyData !== null && keyData !== undefined && typeof keyData !== 'object' && typeof keyData !== 'function') {
      throw new TypeError('keyData must be a BufferSource or a JsonWebKey');
    }
    const jwk = {};
    if (keyData === null || keyData === undefined) return jwk;
    for (const member of JWK_STRINGS) {
      const value = keyData[member];
      if (value !== undefined) jwk[member] = String(value);
    }
    if (keyData.ext !== undefined) jwk.ext = Boolean(keyData.ext);
    if (keyData.key_ops !== undefined) jwk.key_ops = stringSequence(keyData.key_ops, 'JsonWebKey.key_ops');
    if (keyData.oth !== undefined) jwk.oth = [];
    return jwk;
  }

  function convertUsages(usages) {
    const out = stringSequence(usages, 'keyUsages');
    for (const usage of out) {
      if (!KEY_USAGES.includes(usage)) throw new TypeError(`'${usage}' is not a valid KeyUsage`);
    }
    return out;
  }

  function convertFormat(format) {
    const value = String(format);
    if (!KEY_FORMATS.includes(value)) throw new TypeError(`'${value}' is not a valid KeyFormat`);
    return value;
  }

  function convertKey(key, what) {
    const record = recordOf(key);
    if (record === undefined) throw new TypeError(`${what} is not a CryptoKey`);
    return { $k: record };
  }

  const convertBytes = (source, what) => ({ $b: toBase64.call(bytesOf(source, what)) });

  function requireArguments(args, needed, method) {
    if (args.length < needed) {
      throw new TypeError(`Failed to execute '${method}' on 'SubtleCrypto': ${needed} arguments required, ` +
        `but only ${args.length} present.`);
    }
  }

  // ---- results from Python -------------------------------------------------------------------
  function decodeResult(value) {
    if (value === null || typeof value !== 'object') return value;
    if (typeof value.$b === 'string') return fromBase64(value.$b).buffer;
    if (value.$k !== undefined) return new CryptoKey(CONSTRUCT, value.$k);
    if (value.publicKey !== undefined && value.privateKey !== undefined && value.publicKey.$k !== undefined) {
      return { publicKey: decodeResult(value.publicKey), privateKey: decodeResult(value.privateKey) };
    }
    return value; // an exported JWK: a fresh object from JSON
  }

  function fromPython(answer) {
    if (answer !== null && typeof answer === 'object' && isArray(answer.error)) {
      const [name, message] = answer.error;
      throw name === 'TypeError' ? new TypeError(message) : domException(message, name);
    }
    return decodeResult(answer.ok);
  }

  // One SubtleCrypto method in Python: one round trip through the host bridge.
  function python(method, payload) {
    if (hostCall === null) {
      throw domException(`crypto.subtle.${method} needs the runtime's host bridge`, 'NotSupportedError');
    }
    return hostCall(`crypto.${method}`, payload).then(fromPython);
  }

  // ---- HMAC sign/verify, done here (the common webhook case stays free of crossings) ----------
  function localHmac(converted, key, usage) {
    const name = typeof converted === 'string' ? converted : converted.name;
    if (name.toUpperCase() !== 'HMAC') return undefined;
    const record = recordOf(key);
    if (record === undefined || record.algorithm.name !== 'HMAC') return undefined;
    if (!record.usages.includes(usage)) {
      throw domException(`The key does not allow the '${usage}' usage`, 'InvalidAccessError');
    }
    return HASHES[record.algorithm.hash.name];
  }

  function toArrayBuffer(bytes) {
    return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
  }

  // WebIDL: a promise-returning operation reports every failure, argument errors included, by rejecting.
  const settle = (compute) => new Promise((resolve) => resolve(compute()));

  class SubtleCrypto {
    constructor() {
      throw new TypeError('Illegal constructor');
    }

    digest(algorithm, data) {
      const args = arguments;
      return settle(() => {
        requireArguments(args, 2, 'digest');
        const converted = convertAlgorithm(algorithm);
        const name = typeof converted === 'string' ? converted : converted.name;
        const bytes = bytesOf(data, 'data');
        const upper = name.toUpperCase();
        for (const candidate of Object.keys(HASHES)) {
          if (candidate === upper) return toArrayBuffer(digestBytes(HASHES[candidate], bytes));
        }
        if (!upper.startsWith('SHA3-') || hostCall === null) {
          throw domException(`Unrecognized or unsupported algorithm for digest: ${name}`, 'NotSupportedError');
        }
        return python('digest', { algorithm: converted, data: { $b: toBase64.call(bytes) } });
      });
    }

    importKey(format, keyData, algorithm, extractable, keyUsages) {
      const args = arguments;
      return settle(() => {
        requireArguments(args, 5, 'importKey');
        return python('importKey', {
          format: convertFormat(format), keyData: convertKeyData(keyData), algorithm: convertAlgorithm(algorithm),
          extractable: Boolean(extractable), usages: convertUsages(keyUsages),
        });
      });
    }

    exportKey(format, key) {
      const args = arguments;
      return settle(() => {
        requireArguments(args, 2, 'exportKey');
        return python('exportKey', { format: convertFormat(format), key: convertKey(key, 'key') });
      });
    }

    generateKey(algorithm, extractable, keyUsages) {
      const args = arguments;
      return settle(() => {
        requireArguments(args, 3, 'generateKey');
        return python('generateKey', {
          algorithm: convertAlgorithm(algorithm), extractable: Boolean(extractable), usages: convertUsages(keyUsages),
        });
      });
    }

    sign(algorithm, key, data) {
      const args = arguments;
      return settle(() => {
        requireArguments(args, 3, 'sign');
        const converted = convertAlgorithm(algorithm);
        const bytes = bytesOf(data, 'data');
        const hash = localHmac(converted, key, 'sign');
        if (hash !== undefined) return toArrayBuffer(hmacBytes(hash, secretOf(key), bytes));
        return python('sign', {
          algorithm: converted, key: convertKey(key, 'key'), data: { $b: toBase64.call(bytes) },
        });
      });
    }

    verify(algorithm, key, signature, data) {
      const args = arguments;
      return settle(() => {
        requireArguments(args, 4, 'verify');
        const converted = convertAlgorithm(algorithm);
        const sig = bytesOf(signature, 'signature');
        const bytes = bytesOf(data, 'data');
        const hash = localHmac(converted, key, 'verify');
        if (hash !== undefined) return bytesEqual(hmacBytes(hash, secretOf(key), bytes), sig.slice());
        return python('verify', {
          algorithm: converted, key: convertKey(key, 'key'),
          signature: { $b: toBase64.call(sig) }, data: { $b: toBase64.call(bytes) },
        });
      });
    }

    encrypt(algorithm, key, data) {
      const args = arguments;
      return settle(() => {
        requireArguments(args, 3, 'encrypt');
        return python('encrypt', {
          algorithm: convertAlgorithm(algorithm), key: convertKey(key, 'key'), data: convertBytes(data, 'data'),
        });
      });
    }

    decrypt(algorithm, key, data) {
      const args = arguments;
      return settle(() => {
        requireArguments(args, 3, 'decrypt');
        return python('decrypt', {
          algorithm: convertAlgorithm(algorithm), key: convertKey(key, 'key'), data: convertBytes(data, 'data'),
        });
      });
    }

    deriveBits(algorithm, baseKey, length = null) {
      const args = arguments;
      return settle(() => {
        requireArguments(args, 2, 'deriveBits');
        const converted = length === null || length === undefined ? null : encodeMember(length, 'length');
        return python('deriveBits', {
          algorithm: convertAlgorithm(algorithm), key: convertKey(baseKey, 'baseKey'), length: converted,
        });
      });
    }

    deriveKey(algorithm, baseKey, derivedKeyType, extractable, keyUsages) {
      const args = arguments;
      return settle(() => {
        requireArguments(args, 5, 'deriveKey');
        return python('deriveKey', {
          algorithm: convertAlgorithm(algorithm), key: convertKey(baseKey, 'baseKey'),
          derivedKeyType: convertAlgorithm(derivedKeyType), extractable: Boolean(extractable),
          usages: convertUsages(keyUsages),
        });
      });
    }

    wrapKey(format, key, wrappingKey, wrapAlgorithm) {
      const args = arguments;
      return settle(() => {
        requireArguments(args, 4, 'wrapKey');
        return python('wrapKey', {
          format: convertFormat(format), key: convertKey(key, 'key'),
          wrappingKey: convertKey(wrappingKey, 'wrappingKey'), algorithm: convertAlgorithm(wrapAlgorithm),
        });
      });
    }

    unwrapKey(format, wrappedKey, unwrappingKey, unwrapAlgorithm, unwrappedKeyAlgorithm, extractable, keyUsages) {
      const args = arguments;
      return settle(() => {
        requireArguments(args, 7, 'unwrapKey');
        return python('unwrapKey', {
          format: convertFormat(format), wrappedKey: convertBytes(wrappedKey, 'wrappedKey'),
          unwrappingKey: convertKey(unwrappingKey, 'unwrappingKey'), algorithm: convertAlgorithm(unwrapAlgorithm),
          unwrappedKeyAlgorithm: convertAlgorithm(unwrappedKeyAlgorithm), extractable: Boolean(extractable),
          usages: convertUsages(keyUsages),
        });
      });
    }
  }
  const subtle = Object.create(SubtleCrypto.prototype);

  // As a class getter would be: non-enumerable, configurable, named "get subtle".
  const subtleAttribute = Object.getOwnPropertyDescriptor({
    /** The SubtleCrypto interface. */
    get subtle() {
      return subtle;
    },
  }, 'subtle');
  subtleAttribute.enumerable = false;
  Object.defineProperty(Crypto.prototype, 'subtle', subtleAttribute);
  defineInterface('SubtleCrypto', SubtleCrypto);
  defineInterface('CryptoKey', CryptoKey);
})(globalThis);
