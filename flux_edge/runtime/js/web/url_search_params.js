// URLSearchParams and application/x-www-form-urlencoded (WHATWG URL Standard), with the
// percent-encoding the URL files share. The first of the URL files: what url_host.js, url_parser.js
// and url.js need from here goes to them on the internal global __flux_url, which url.js deletes.
(function (global) {
  "use strict";

  const { defineHidden, defineInterface, requireArguments, uncloneable } = global.__flux_webutil;
  const encoder = new global.TextEncoder();
  // The standard decodes "without BOM": a leading U+FEFF is content, not a marker.
  const decoder = new global.TextDecoder("utf-8", { ignoreBOM: true });
  const Uint8ArrayCtor = Uint8Array;

  // ---- Percent-encoding -------------------------------------------------------------------------

  // An encode set is a 128-entry table for ASCII; everything above U+007E is always encoded.
  const encodeSet = (base, chars, from = 0x7f) => {
    const set = base ? base.slice() : Array.from({ length: 128 }, (_, code) => code < 0x20);
    for (const char of chars) set[char.charCodeAt(0)] = true;
    for (let code = from; code < 128; code++) set[code] = true;
    return set;
  };
  const C0_CONTROL_SET = encodeSet(null, "");
  const FRAGMENT_SET = encodeSet(C0_CONTROL_SET, ' "<>`');
  const QUERY_SET = encodeSet(C0_CONTROL_SET, ' "#<>');
  const SPECIAL_QUERY_SET = encodeSet(QUERY_SET, "'");
  const PATH_SET = encodeSet(QUERY_SET, "?^`{}");
  const USERINFO_SET = encodeSet(PATH_SET, "/:;=@[\\]|");
  const COMPONENT_SET = encodeSet(USERINFO_SET, "$%&+,");
  const FORM_SET = encodeSet(COMPONENT_SET, "!'()~");

  const HEX_BYTES = Array.from(
    { length: 256 },
    (_, byte) => "%" + byte.toString(16).toUpperCase().padStart(2, "0"),
  );

  const percentEncode = (string, set, spaceAsPlus = false) => {
    let output = "";
    for (const char of string) {
      const code = char.charCodeAt(0);
      if (code < 0x80) {
        if (spaceAsPlus && code === 0x20) output += "+";
        else output += set[code] ? HEX_BYTES[code] : char;
      } else {
        for (const byte of encoder.encode(char)) output += HEX_BYTES[byte];
      }
    }
    return output;
  };

  const hexValue = (code) => {
    if (code >= 0x30 && code <= 0x39) return code - 0x30;
    const lower = code | 0x20;
    return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
  };

  // Percent-decodes `string` as UTF-8 bytes, then decodes those bytes with U+FFFD for bad ones.
  const percentDecode = (string) => {
    if (!string.includes("%")) return string;
    const bytes = encoder.encode(string);
    const output = new Uint8ArrayCtor(bytes.length);
    let length = 0;
    for (let index = 0; index < bytes.length; index++) {
      const high = bytes[index] === 0x25 ? hexValue(bytes[index + 1]) : -1;
      const low = high >= 0 ? hexValue(bytes[index + 2]) : -1;
      if (low >= 0) {
        output[length++] = (high << 4) | low;
        index += 2;
      } else {
        output[length++] = bytes[index];
      }
    }
    return decoder.decode(output.subarray(0, length));
  };

  // WebIDL USVString conversion: symbols are rejected, lone surrogates become U+FFFD.
  const toUSVString = (value) => {
    if (typeof value === "symbol") throw new TypeError("Cannot convert a Symbol value to a string.");
    return String(value).toWellFormed();
  };

  // ---- application/x-www-form-urlencoded ----------------------------------------------------------

  const parseForm = (input) => {
    const pairs = [];
    for (const sequence of input.split("&")) {
      if (sequence === "") continue;
      const equals = sequence.indexOf("=");
      const name = equals < 0 ? sequence : sequence.slice(0, equals);
      const value = equals < 0 ? "" : sequence.slice(equals + 1);
      pairs.push([percentDecode(name.replaceAll("+", " ")), percentDecode(value.replaceAll("+", " "))]);
    }
    return pairs;
  };

  const serializeForm = (pairs) =>
    pairs
      .map(
        ([name, value]) => percentEncode(name, FORM_SET, true) + "=" + percentEncode(value, FORM_SET, true),
      )
      .join("&");

  // ---- URLSearchParams ----------------------------------------------------------------------------

  // Lets URL reach into URLSearchParams' private state; assigned in its static block.
  let bindSearchParams;
  let replaceSearchParams;

  class URLSearchParams {
    #pairs = [];
    static {
      uncloneable.push((value) => value !== null && typeof value === "object" && #pairs in value);
    }
    #record = null; // the URL record this object is bound to, if any

    constructor(init = "") {
      if (init !== null && (typeof init === "object" || typeof init === "function")) {
        if (init[Symbol.iterator] !== undefined) {
          for (const pair of init) {
            const items = [...pair];
            if (items.length !== 2)
              throw new TypeError("Each URLSearchParams init pair must have exactly two items.");
            this.#pairs.push([toUSVString(items[0]), toUSVString(items[1])]);
          }
        } else {
          // record<USVString, USVString>: keys that become equal once converted (unpaired
          // surrogates turn into U+FFFD) keep the first one's place and the last one's value.
          const record = new Map();
          for (const key of Reflect.ownKeys(init)) {
            const descriptor = Reflect.getOwnPropertyDescriptor(init, key);
            if (descriptor !== undefined && descriptor.enumerable) {
              record.set(toUSVString(key), toUSVString(init[key]));
            }
          }
          for (const pair of record) this.#pairs.push(pair);
        }
      } else {
        const string = toUSVString(init);
        this.#pairs = parseForm(string.startsWith("?") ? string.slice(1) : string);
      }
    }

    static {
      bindSearchParams = (params, record) => {
        params.#record = record;
      };
      replaceSearchParams = (params, query) => {
        params.#pairs = query === null ? [] : parseForm(query);
      };
    }

    // The standard's "update" steps: write the list back into the bound URL's query.
    #update() {
      if (this.#record === null) return;
      const serialized = serializeForm(this.#pairs);
      this.#record.query = serialized === "" ? null : serialized;
    }

    get size() {
      return this.#pairs.length;
    }

    append(name, value) {
      requireArguments(arguments.length, 2, "append");
      this.#pairs.push([toUSVString(name), toUSVString(value)]);
      this.#update();
    }

    delete(name, value = undefined) {
      requireArguments(arguments.length, 1, "delete");
      const key = toUSVString(name);
      const wanted = value === undefined ? undefined : toUSVString(value);
      this.#pairs = this.#pairs.filter(([n, v]) => n !== key || (wanted !== undefined && v !== wanted));
      this.#update();
    }

    get(name) {
      requireArguments(arguments.length, 1, "get");
      const key = toUSVString(name);
      const pair = this.#pairs.find(([n]) => n === key);
      return pair === undefined ? null : pair[1];
    }

    getAll(name) {
      requireArguments(arguments.length, 1, "getAll");
      const key = toUSVString(name);
      return this.#pairs.filter(([n]) => n === key).map(([, v]) => v);
    }

    has(name, value = undefined) {
      requireArguments(arguments.length, 1, "has");
      const key = toUSVString(name);
      const wanted = value === undefined ? undefined : toUSVString(value);
      return this.#pairs.some(([n, v]) => n === key && (wanted === undefined || v === wanted));
    }

    set(name, value) {
      requireArguments(arguments.length, 2, "set");
      const key = toUSVString(name);
      const index = this.#pairs.findIndex(([n]) => n === key);
      if (index < 0) {
        this.#pairs.push([key, toUSVString(value)]);
      } else {
        this.#pairs[index] = [key, toUSVString(value)];
        this.#pairs = this.#pairs.filter(([n], position) => n !== key || position <= index);
      }
      this.#update();
    }

    sort() {
      // Array sort is stable and compares UTF-16 code units, which is what the standard asks.
      this.#pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      this.#update();
    }

    forEach(callback, thisArg = undefined) {
      requireArguments(arguments.length, 1, "forEach");
      if (typeof callback !== "function")
        throw new TypeError("URLSearchParams.forEach: callback is not a function.");
      for (let index = 0; index < this.#pairs.length; index++) {
        const [name, value] = this.#pairs[index];
        callback.call(thisArg, value, name, this);
      }
    }

    // Iterators read the live list, so changes made while iterating are seen (as in browsers).
    *entries() {
      for (let index = 0; index < this.#pairs.length; index++) yield [...this.#pairs[index]];
    }

    *keys() {
      for (let index = 0; index < this.#pairs.length; index++) yield this.#pairs[index][0];
    }

    *values() {
      for (let index = 0; index < this.#pairs.length; index++) yield this.#pairs[index][1];
    }

    [Symbol.iterator]() {
      return this.entries();
    }

    toString() {
      return serializeForm(this.#pairs);
    }
  }

  defineInterface("URLSearchParams", URLSearchParams);
  defineHidden(global, "__flux_url", {
    __proto__: null,
    percentEncode,
    percentDecode,
    hexValue,
    toUSVString,
    C0_CONTROL_SET,
    FRAGMENT_SET,
    QUERY_SET,
    SPECIAL_QUERY_SET,
    PATH_SET,
    USERINFO_SET,
    URLSearchParams,
    bindSearchParams,
    replaceSearchParams,
  });
})(globalThis);
