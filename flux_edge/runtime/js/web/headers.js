// Headers (Fetch standard, "Headers class"): a case-insensitive, ordered header list. Iteration
// yields lower-case names sorted by code unit, values of repeated names combined with ", ", except
// set-cookie, which is never combined. Forbidden-header guards are not applied: this is a server
// runtime, as in Deno and Cloudflare Workers; only the "immutable" guard exists.
(function (global) {
  'use strict';

  const { TypeError, Object, Symbol, String, Iterator } = global;
  const apply = Reflect.apply;
  const ownKeys = Reflect.ownKeys;
  const getOwnDescriptor = Reflect.getOwnPropertyDescriptor;
  const { defineHidden, defineInterface, uncloneable } = global.__flux_webutil;

  const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  const NOT_BYTE = /[^\x00-\xff]/;
  const FORBIDDEN_IN_VALUE = /[\0\r\n]/;
  const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;
  // Names and values already in the form they are stored in (what a server's request headers
  // are): one test each instead of the conversions below, with the same result.
  const LOWER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
  const STORED_VALUE = /^(?:[\x21-\xff](?:[\t\x20-\xff]*[\x21-\xff])?)?$/;

  // WebIDL ByteString: code units above 0xFF are a TypeError, not silently mangled.
  function byteString(value, what) {
    const s = typeof value === 'symbol' ? value : String(value);
    if (typeof s !== 'string') throw new TypeError(`${what} cannot be a symbol`);
    if (NOT_BYTE.test(s)) throw new TypeError(`${what} contains a character outside the range U+0000..U+00FF`);
    return s;
  }

  function headerName(name) {
    if (typeof name === 'string' && LOWER_TOKEN.test(name)) return name;
    const s = byteString(name, 'Header name');
    if (!TOKEN.test(s)) throw new TypeError(`Invalid header name: "${s}"`);
    return s.toLowerCase();
  }

  function headerValue(value, name) {
    if (typeof value === 'string' && STORED_VALUE.test(value)) return value;
    const s = byteString(value, `Value of header "${name}"`).replace(EDGE_WHITESPACE, '');
    if (FORBIDDEN_IN_VALUE.test(s)) throw new TypeError(`Invalid value for header "${name}": NUL, CR or LF`);
    return s;
  }

  const byName = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

  const isObject = (value) => value !== null && (typeof value === 'object' || typeof value === 'function');

  const ITERATOR = Symbol('HeadersIterator');
  let listOf;
  let pairsOf;
  let makeImmutable;
  let immutableOf;

  class Headers {
    // [lower-case name, value] pairs in insertion order.
    #list = [];
    static {
      uncloneable.push((value) => value !== null && typeof value === "object" && #list in value);
    }
    #immutable = false;
    // The sort-and-combine view used by iteration; dropped on every change.
    #sorted = null;

    constructor(init = undefined) {
      if (init === undefined) return;
      if (!isObject(init)) throw new TypeError("Failed to construct 'Headers': init must be an object");
      const iteratorMethod = init[Symbol.iterator];
      if (iteratorMethod !== undefined && iteratorMethod !== null) {
        if (typeof iteratorMethod !== 'function') throw new TypeError('Headers init: @@iterator is not callable');
        for (const pair of { [Symbol.iterator]: () => apply(iteratorMethod, init, []) }) {
          if (!isObject(pair) || typeof pair[Symbol.iterator] !== 'function') {
            throw new TypeError('Headers init: each entry must be a [name, value] sequence');
          }
          const items = [...pair];
          if (items.length !== 2) throw new TypeError('Headers init: each entry must have exactly 2 items');
          this.append(items[0], items[1]);
        }
        return;
      }
      // WebIDL record<ByteString, ByteString>: each key is converted before its value is read,
      // and the whole record before anything is appended.
      const record = [];
      for (const key of ownKeys(init)) {
        const descriptor = getOwnDescriptor(init, key);
        if (descriptor === undefined || !descriptor.enumerable) continue;
        const name = byteString(key, 'Header name');
        record.push([name, byteString(init[key], `Value of header "${name}"`)]);
      }
      for (const [name, value] of record) this.append(name, value);
    }

    static {
      listOf = (headers) => headers.#list;
      pairsOf = (headers) => headers.#pairs();
      makeImmutable = (headers) => { headers.#immutable = true; };
      immutableOf = (headers) => headers.#immutable;
    }

    #change() {
      if (this.#immutable) throw new TypeError('Headers are immutable');
      this.#sorted = null;
    }

    append(name, value) {
      const lower = headerName(name);
      const normalized = headerValue(value, lower);
      this.#change();
      this.#list.push([lower, normalized]);
    }

    delete(name) {
      const lower = headerName(name);
      this.#change();
      this.#list = this.#list.filter((entry) => entry[0] !== lower);
    }

    get(name) {
      const lower = headerName(name);
      let result = null;
      for (const [entryName, value] of this.#list) {
        if (entryName === lower) result = result === null ? value : `${result}, ${value}`;
      }
      return result;
    }

    getSetCookie() {
      return this.#list.filter((entry) => entry[0] === 'set-cookie').map((entry) => entry[1]);
    }

    has(name) {
      const lower = headerName(name);
      return this.#list.some((entry) => entry[0] === lower);
    }

    set(name, value) {
      const lower = headerName(name);
      const normalized = headerValue(value, lower);
      this.#change();
      const index = this.#list.findIndex((entry) => entry[0] === lower);
      if (index === -1) {
        this.#list.push([lower, normalized]);
        return;
      }
      this.#list[index] = [lower, normalized];
      this.#list = this.#list.filter((entry, i) => i <= index || entry[0] !== lower);
    }

    forEach(callback, thisArg = undefined) {
      if (typeof callback !== 'function') throw new TypeError("Headers.forEach: callback is not a function");
      // Re-read the view on each step: the callback may change the headers (as WebIDL specifies).
      for (let i = 0; i < this.#pairs().length; i++) {
        const [name, value] = this.#pairs()[i];
        apply(callback, thisArg, [value, name, this]);
      }
    }

    keys() { return new HeadersIterator(ITERATOR, this, 'key'); }
    values() { return new HeadersIterator(ITERATOR, this, 'value'); }
    entries() { return new HeadersIterator(ITERATOR, this, 'key+value'); }

    // Fetch "sort and combine": a stable sort by name (code units), then the values of each name
    // but set-cookie joined in their order.
    #pairs() {
      if (this.#sorted !== null) return this.#sorted;
      const sorted = this.#list.slice().sort(byName);
      const pairs = [];
      let last = null;
      for (let i = 0; i < sorted.length; i++) {
        const [name, value] = sorted[i];
        if (last !== null && last[0] === name && name !== 'set-cookie') last[1] = `${last[1]}, ${value}`;
        else pairs.push((last = [name, value]));
      }
      this.#sorted = pairs;
      return pairs;
    }

  }

  class HeadersIterator extends Iterator {
    #target;
    #kind;
    #index = 0;

    constructor(token, target, kind) {
      if (token !== ITERATOR) throw new TypeError('Illegal constructor');
      super();
      this.#target = target;
      this.#kind = kind;
    }

    next() {
      const pairs = pairsOf(this.#target);
      if (this.#index >= pairs.length) return { value: undefined, done: true };
      const [name, value] = pairs[this.#index++];
      if (this.#kind === 'key') return { value: name, done: false };
      if (this.#kind === 'value') return { value, done: false };
      return { value: [name, value], done: false };
    }
  }
  // WebIDL operations are enumerable; class syntax makes methods non-enumerable.
  for (const name of ['append', 'delete', 'get', 'getSetCookie', 'has', 'set', 'forEach', 'keys', 'values', 'entries']) {
    Object.defineProperty(Headers.prototype, name, { enumerable: true });
  }
  Object.defineProperty(HeadersIterator.prototype, 'next', { enumerable: true });
  Object.defineProperty(HeadersIterator.prototype, Symbol.toStringTag, {
    value: 'Headers Iterator', configurable: true,
  });
  Object.defineProperty(Headers.prototype, Symbol.iterator, {
    value: Headers.prototype.entries, writable: true, configurable: true,
  });

  // Internal hooks for body.js and request_response.js (and the core prelude's fetch), on
  // webutil.js's `__flux_web`.
  const webInternals = global.__flux_web;
  defineHidden(webInternals, 'setHeadersImmutable', (headers) => makeImmutable(headers));
  // The sorted and combined [name, value] pairs, safe from changes to Headers.prototype.
  defineHidden(webInternals, 'headerPairs', (headers) => pairsOf(headers));
  // Headers from [name, value] pairs the prelude made (an incoming request's), appended one by
  // one without the constructor's iteration protocol.
  defineHidden(webInternals, 'headersFromPairs', (pairs) => {
    const headers = new Headers();
    for (let i = 0; i < pairs.length; i++) headers.append(pairs[i][0], pairs[i][1]);
    return headers;
  });
  // A copy with the same entries and guard (Request/Response clone()).
  defineHidden(webInternals, 'copyHeaders', (headers) => {
    const copy = new Headers();
    listOf(copy).push(...listOf(headers).map((entry) => [entry[0], entry[1]]));
    if (immutableOf(headers)) makeImmutable(copy);
    return copy;
  });

  defineInterface('Headers', Headers);
})(globalThis);
