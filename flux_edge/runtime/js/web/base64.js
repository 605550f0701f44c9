// atob/btoa (HTML "forgiving-base64") and a minimal DOMException for engines that have none.
(function (global) {
  "use strict";

  const { defineGlobal, defineInterface } = global.__flux_webutil;

  // WebIDL's legacy numeric codes; names not listed here have code 0.
  const LEGACY_CODES = {
    IndexSizeError: 1,
    HierarchyRequestError: 3,
    WrongDocumentError: 4,
    InvalidCharacterError: 5,
    NoModificationAllowedError: 7,
    NotFoundError: 8,
    NotSupportedError: 9,
    InvalidStateError: 11,
    SyntaxError: 12,
    InvalidModificationError: 13,
    NamespaceError: 14,
    InvalidAccessError: 15,
    TypeMismatchError: 17,
    SecurityError: 18,
    NetworkError: 19,
    AbortError: 20,
    URLMismatchError: 21,
    QuotaExceededError: 22,
    TimeoutError: 23,
    InvalidNodeTypeError: 24,
    DataCloneError: 25,
  };

  if (typeof global.DOMException !== "function") {
    // Extends Error (as in browsers) so stacks and `instanceof Error` work; name and code are
    // prototype getters like WebIDL attributes, so `{...error}` stays empty.
    class DOMException extends Error {
      #name;

      constructor(message = "", name = "Error") {
        super(String(message));
        this.#name = String(name);
      }

      get name() {
        return this.#name;
      }

      get code() {
        return Object.hasOwn(LEGACY_CODES, this.#name) ? LEGACY_CODES[this.#name] : 0;
      }
    }
    // The legacy code constants 1-25, on the interface object and its prototype (enumerable, as
    // IDL constants are); four of them name codes no error name has any more.
    const LEGACY_CONSTANTS = [
      "INDEX_SIZE_ERR", "DOMSTRING_SIZE_ERR", "HIERARCHY_REQUEST_ERR", "WRONG_DOCUMENT_ERR",
      "INVALID_CHARACTER_ERR", "NO_DATA_ALLOWED_ERR", "NO_MODIFICATION_ALLOWED_ERR", "NOT_FOUND_ERR",
      "NOT_SUPPORTED_ERR", "INUSE_ATTRIBUTE_ERR", "INVALID_STATE_ERR", "SYNTAX_ERR",
      "INVALID_MODIFICATION_ERR", "NAMESPACE_ERR", "INVALID_ACCESS_ERR", "VALIDATION_ERR",
      "TYPE_MISMATCH_ERR", "SECURITY_ERR", "NETWORK_ERR", "ABORT_ERR", "URL_MISMATCH_ERR",
      "QUOTA_EXCEEDED_ERR", "TIMEOUT_ERR", "INVALID_NODE_TYPE_ERR", "DATA_CLONE_ERR",
    ];
    LEGACY_CONSTANTS.forEach((constant, index) => {
      const descriptor = { value: index + 1, enumerable: true, writable: false, configurable: false };
      Object.defineProperty(DOMException, constant, descriptor);
      Object.defineProperty(DOMException.prototype, constant, descriptor);
    });
    defineInterface("DOMException", DOMException);
  }

  // QuotaExceededError (WebIDL): a DOMException with the optional `quota` and `requested` numbers.
  if (typeof global.QuotaExceededError !== "function") {
    const toOptionalNumber = (value, what) => {
      if (value === undefined) return null;
      const number = Number(value);
      if (!Number.isFinite(number)) throw new TypeError(`QuotaExceededError: ${what} must be a finite number`);
      if (number < 0) throw new RangeError(`QuotaExceededError: ${what} must not be negative`);
      return number;
    };
    class QuotaExceededError extends global.DOMException {
      #quota;
      #requested;

      constructor(message = "", options = undefined) {
        super(message, "QuotaExceededError");
        const quota = toOptionalNumber(options?.quota, "quota");
        const requested = toOptionalNumber(options?.requested, "requested");
        if (quota !== null && requested !== null && requested < quota) {
          throw new RangeError("QuotaExceededError: requested must not be less than quota");
        }
        this.#quota = quota;
        this.#requested = requested;
      }

      get quota() {
        return this.#quota;
      }

      get requested() {
        return this.#requested;
      }
    }
    defineInterface("QuotaExceededError", QuotaExceededError);
  }
  const DOMExceptionCtor = global.DOMException;
  const fromCharCode = String.fromCharCode;

  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const ENCODE = Array.from(ALPHABET, (char) => char.charCodeAt(0));
  // Sextet value per char code; 255 marks "not in the alphabet".
  const DECODE = new Uint8Array(256).fill(255);
  ENCODE.forEach((code, index) => {
    DECODE[code] = index;
  });
  const ASCII_WHITESPACE = /[\t\n\f\r ]/g;
  // fromCharCode.apply takes its arguments on the stack: convert in bounded slices.
  const CHUNK = 8192;

  const codesToString = (codes) => {
    const parts = [];
    for (let start = 0; start < codes.length; start += CHUNK) {
      parts.push(fromCharCode.apply(null, codes.subarray(start, start + CHUNK)));
    }
    return parts.join("");
  };

  const invalidCharacter = (message) => new DOMExceptionCtor(message, "InvalidCharacterError");

  const requireArgument = (count, name) => {
    if (count < 1) {
      throw new TypeError(`Failed to execute '${name}': 1 argument required, but only 0 present.`);
    }
  };

  function btoa(data) {
    requireArgument(arguments.length, "btoa");
    const input = String(data);
    const length = input.length;
    const output = new Uint16Array(Math.ceil(length / 3) * 4);
    let out = 0;
    let index = 0;
    const byteAt = (position) => {
      const code = input.charCodeAt(position);
      if (code > 0xff) {
        throw invalidCharacter("The string to be encoded contains characters outside of the Latin1 range.");
      }
      return code;
    };
    for (; index + 2 < length; index += 3) {
      const triple = (byteAt(index) << 16) | (byteAt(index + 1) << 8) | byteAt(index + 2);
      output[out++] = ENCODE[triple >> 18];
      output[out++] = ENCODE[(triple >> 12) & 63];
      output[out++] = ENCODE[(triple >> 6) & 63];
      output[out++] = ENCODE[triple & 63];
    }
    const rest = length - index;
    if (rest > 0) {
      const first = byteAt(index);
      const second = rest === 2 ? byteAt(index + 1) : 0;
      output[out++] = ENCODE[first >> 2];
      output[out++] = ENCODE[((first & 3) << 4) | (second >> 4)];
      output[out++] = rest === 2 ? ENCODE[(second & 15) << 2] : 61; // "="
      output[out++] = 61;
    }
    return codesToString(output);
  }

  function atob(data) {
    requireArgument(arguments.length, "atob");
    let input = String(data).replace(ASCII_WHITESPACE, "");
    if (input.length % 4 === 0) {
      input = input.replace(/==?$/, "");
    }
    if (input.length % 4 === 1) {
      throw invalidCharacter("The string to be decoded is not correctly encoded.");
    }
    const length = input.length;
    const output = new Uint8Array(Math.floor((length * 3) / 4));
    let out = 0;
    let buffer = 0;
    let bits = 0;
    for (let index = 0; index < length; index++) {
      const code = input.charCodeAt(index);
      const sextet = code < 256 ? DECODE[code] : 255;
      if (sextet === 255) {
        throw invalidCharacter("The string to be decoded is not correctly encoded.");
      }
      buffer = ((buffer << 6) | sextet) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        output[out++] = (buffer >> bits) & 0xff;
      }
    }
    // Leftover bits (fewer than 8) are discarded, as forgiving-base64 says.
    return codesToString(output.subarray(0, out));
  }

  defineGlobal("btoa", btoa);
  defineGlobal("atob", atob);
})(globalThis);
