// Request and Response (Fetch standard) over the Body mixin of body.js, plus the internal
// converters the core prelude uses at the isolate boundary (globalThis.__flux_web):
// requestFromPlain(plain) -> Request, responseToPlain(response) -> Promise<plain>, and
// responseFromPlain(plain) -> Response for fetch() results.
(function (global) {
  'use strict';

  const { Uint8Array, TypeError, RangeError, Object, Symbol, String, Number, Promise, JSON } = global;
  const web = global.__flux_web;
  if (web === undefined || typeof web.installBody !== 'function' || typeof global.Headers !== 'function') {
    throw new Error('request_response.js: load headers.js and body.js first');
  }
  const Headers = global.Headers;
  const { newBodyState, textBodyState, extractBody, installBody, cloneBodyState, transferBodyState, consumeBodyBytes } = web;
  const { consumeBodyText, isSerializedURL } = web;
  const { isNullBody, bodyChunkReader } = web;
  const { setHeadersImmutable, copyHeaders, headerPairs, headersFromPairs } = web;
  const toBase64 = Uint8Array.prototype.toBase64;
  const toWellFormed = String.prototype.toWellFormed;
  // The last web file: the shared helpers are captured here and removed from the global scope.
  const { defineHidden, defineInterface, earlierGlobals, uncloneable } = global.__flux_webutil;
  delete global.__flux_webutil;
  // url.js, events.js and encoding.js load earlier.
  const earlierGlobal = earlierGlobals('URL', 'AbortSignal', 'AbortController', 'TextDecoder');

  // There is no document base URL in an edge isolate: URLs must be absolute.
  function parseURL(input, what) {
    const URL = earlierGlobal('URL');
    let url;
    try {
      url = new URL(String(input));
    } catch {
      throw new TypeError(`${what}: invalid URL "${String(input)}" (an absolute URL is required)`);
    }
    return url;
  }

  // WebIDL dictionary conversion: undefined and null are an empty dictionary.
  function dictionary(value, what) {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' && typeof value !== 'function') throw new TypeError(`${what} must be an object`);
    return value;
  }

  const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  const NORMALIZED_METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'];
  const FORBIDDEN_METHODS = ['CONNECT', 'TRACE', 'TRACK'];

  function normalizeMethod(value) {
    const method = String(value);
    if (!TOKEN.test(method)) throw new TypeError(`'${method}' is not a valid HTTP method`);
    const upper = method.toUpperCase();
    if (FORBIDDEN_METHODS.includes(upper)) throw new TypeError(`'${method}' HTTP method is unsupported`);
    return NORMALIZED_METHODS.includes(upper) ? upper : method;
  }

  const REQUEST_ENUMS = {
    __proto__: null,
    mode: ['same-origin', 'no-cors', 'cors'],
    credentials: ['omit', 'same-origin', 'include'],
    cache: ['default', 'no-store', 'reload', 'no-cache', 'force-cache', 'only-if-cached'],
    redirect: ['follow', 'error', 'manual'],
    referrerPolicy: ['', 'no-referrer', 'no-referrer-when-downgrade', 'same-origin', 'origin', 'strict-origin',
      'origin-when-cross-origin', 'strict-origin-when-cross-origin', 'unsafe-url'],
    priority: ['high', 'low', 'auto'],
  };
  const DEFAULT_OPTIONS = Object.freeze({
    mode: 'cors', credentials: 'same-origin', cache: 'default', redirect: 'follow', referrerPolicy: '',
    priority: 'auto', integrity: '', keepalive: false,
  });

  const isAbortSignal = (value) => {
    const AbortSignal = earlierGlobal('AbortSignal');
    return value instanceof AbortSignal;
  };

  const isArray = Array.isArray;

  // A Request's URL: absolute, without credentials, serialized.
  function requestURL(input) {
    const url = parseURL(input, "Failed to construct 'Request'");
    if (url.username !== '' || url.password !== '') {
      throw new TypeError("Failed to construct 'Request': the URL includes credentials");
    }
    return url.href;
  }

  const INTERNAL = Symbol('internal'); // constructs a Request or Response left for its class to fill
  let requestState;
  let incomingRequest;

  class Request {
    #method;
    static {
      uncloneable.push((value) => value !== null && typeof value === "object" && #method in value);
    }
    #url;
    #headers;
    #body;
    #signal = null;
    #options;

    constructor(input, init = undefined) {
      if (input === INTERNAL) return;
      if (arguments.length < 1) throw new TypeError("Failed to construct 'Request': 1 argument required");
      init = dictionary(init, "Failed to construct 'Request': init");
      const source = requestState(input);
      if (source === undefined) {
        this.#url = requestURL(input);
        this.#method = 'GET';
        this.#options = DEFAULT_OPTIONS;
      } else {
        this.#url = source.url;
        this.#method = source.method;
        this.#options = source.options;
        this.#signal = source.signal;
      }

      const options = { ...this.#options };
      for (const name in REQUEST_ENUMS) {
        if (init[name] === undefined) continue;
        const value = String(init[name]);
        if (!REQUEST_ENUMS[name].includes(value)) {
          throw new TypeError(`Failed to construct 'Request': '${value}' is not a valid value for ${name}`);
        }
        options[name] = value;
      }
      if (init.integrity !== undefined) options.integrity = String(init.integrity);
      if (init.keepalive !== undefined) options.keepalive = Boolean(init.keepalive);
      this.#options = Object.freeze(options);
      if (init.method !== undefined) this.#method = normalizeMethod(init.method);
      if (init.signal !== undefined) {
        if (init.signal !== null && !isAbortSignal(init.signal)) {
          throw new TypeError("Failed to construct 'Request': signal is not an AbortSignal");
        }
        this.#signal = init.signal;
      }

      this.#headers = init.headers !== undefined ? new Headers(init.headers)
        : source !== undefined ? copyHeaders(source.headers) : new Headers();

      const initBody = init.body;
      const hasInitBody = initBody !== undefined && initBody !== null;
      const inputHasBody = source !== undefined && !isNullBody(source.body);
      if ((hasInitBody || inputHasBody) && (this.#method === 'GET' || this.#method === 'HEAD')) {
        throw new TypeError("Failed to construct 'Request': a GET or HEAD request cannot have a body");
      }
      if (hasInitBody) {
        const { bytes, stream, type, text } = extractBody(initBody);
        if (stream !== null) {
          if (init.duplex === undefined || String(init.duplex) !== 'half') {
            throw new TypeError("Failed to construct 'Request': a request with a ReadableStream body needs duplex: 'half'");
          }
          if (options.keepalive) throw new TypeError("Failed to construct 'Request': keepalive cannot be used with a stream body");
        }
        this.#body = newBodyState(bytes, stream, text);
        if (type !== null && !this.#headers.has('content-type')) this.#headers.append('content-type', type);
      } else if (inputHasBody && initBody === undefined) {
        this.#body = transferBodyState(source.body); // a TypeError if that body is used or locked
      } else {
        this.#body = newBodyState(null);
      }
    }

    static {
      requestState = (value) => (value !== null && typeof value === 'object' && #body in value
        ? { url: value.#url, method: value.#method, headers: value.#headers, body: value.#body,
          signal: value.#signal, options: value.#options }
        : undefined);
      // What `new Request(url, {headers})` makes, without the constructor's conversions of an
      // init a script wrote (see requestFromPlain).
      incomingRequest = (url, method, headers, bodyState) => {
        const request = new Request(INTERNAL);
        request.#url = isSerializedURL(url) ? url : requestURL(url);
        request.#method = method;
        request.#options = DEFAULT_OPTIONS;
        request.#headers = isArray(headers) ? headersFromPairs(headers) : new Headers(headers);
        request.#body = bodyState;
        return request;
      };
      installBody(Request.prototype, (self) => self.#body, (self) => self.#headers);
    }

    get method() { return this.#method; }
    get url() { return this.#url; }
    get headers() { return this.#headers; }
    get destination() { return ''; }
    get referrer() { return 'about:client'; }
    get referrerPolicy() { return this.#options.referrerPolicy; }
    get mode() { return this.#options.mode; }
    get credentials() { return this.#options.credentials; }
    get cache() { return this.#options.cache; }
    get redirect() { return this.#options.redirect; }
    get integrity() { return this.#options.integrity; }
    get keepalive() { return this.#options.keepalive; }
    get isReloadNavigation() { return false; }
    get isHistoryNavigation() { return false; }
    get duplex() { return 'half'; }

    // The given signal itself (not a follower, as the spec has it): aborting it aborts the request.
    get signal() {
      if (this.#signal === null) {
        const AbortController = earlierGlobal('AbortController');
        this.#signal = new AbortController().signal;
      }
      return this.#signal;
    }

    clone() {
      const body = cloneBodyState(this.#body);
      const copy = new Request(this.#url, { method: this.#method, headers: copyHeaders(this.#headers),
        signal: this.#signal, ...this.#options });
      copy.#body = body;
      return copy;
    }
  }

  // ---- Response ----
  const NULL_BODY_STATUSES = [101, 103, 204, 205, 304];
  const REDIRECT_STATUSES = [301, 302, 303, 307, 308];
  const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

  // WebIDL `unsigned short`: ToNumber, truncate, wrap modulo 2^16 (so 'abc' becomes 0).
  function unsignedShort(value) {
    const n = Number(value);
    if (!Number.isFinite(n)) return 0;
    const wrapped = Math.trunc(n) % 65536;
    return wrapped < 0 ? wrapped + 65536 : wrapped;
  }

  let responseState;
  let responseFromPlain;

  class Response {
    #type = 'default';
    #status = 200;
    #statusText = '';
    #headers;
    static {
      uncloneable.push((value) => value !== null && typeof value === "object" && #headers in value);
    }
    #body;
    #url = '';
    #redirected = false;

    constructor(body = null, init = undefined) {
      if (body === INTERNAL) return;
      init = dictionary(init, "Failed to construct 'Response': init");
      const extracted = body === null || body === undefined ? null : extractBody(body);
      this.#initialize(init, extracted);
    }

    // Fetch "initialize a response".
    #initialize(init, extracted) {
      const status = init.status === undefined ? 200 : unsignedShort(init.status);
      if (status < 200 || status > 599) {
        throw new RangeError(`Failed to construct 'Response': the status provided (${status}) is outside the range [200, 599]`);
      }
      const statusText = init.statusText === undefined ? '' : String(init.statusText);
      if (!REASON_PHRASE.test(statusText)) {
        throw new TypeError("Failed to construct 'Response': statusText is not a valid reason phrase");
      }
      this.#status = status;
      this.#statusText = statusText;
      this.#headers = new Headers(init.headers);
      if (extracted === null) {
        this.#body = newBodyState(null);
        return;
      }
      if (NULL_BODY_STATUSES.includes(status)) {
        throw new TypeError(`Failed to construct 'Response': a response with status ${status} cannot have a body`);
      }
      this.#body = newBodyState(extracted.bytes, extracted.stream, extracted.text);
      if (extracted.type !== null && !this.#headers.has('content-type')) {
        this.#headers.append('content-type', extracted.type);
      }
    }

    static {
      responseState = (value) => (value !== null && typeof value === 'object' && #body in value
        ? { body: value.#body, status: value.#status, headers: value.#headers }
        : undefined);
      installBody(Response.prototype, (self) => self.#body, (self) => self.#headers);
    }

    static error() {
      const response = new Response(INTERNAL);
      response.#type = 'error';
      response.#status = 0;
      response.#headers = new Headers();
      setHeadersImmutable(response.#headers);
      response.#body = newBodyState(null);
      return response;
    }

    static redirect(url, status = 302) {
      const location = parseURL(url, "Failed to execute 'redirect' on 'Response'").href;
      const code = unsignedShort(status);
      if (!REDIRECT_STATUSES.includes(code)) {
        throw new RangeError(`Failed to execute 'redirect' on 'Response': invalid redirect status ${code}`);
      }
      const response = new Response(null, { status: code, headers: { location } });
      setHeadersImmutable(response.#headers);
      return response;
    }

    static json(data, init = undefined) {
      const text = JSON.stringify(data);
      if (text === undefined) throw new TypeError("Failed to execute 'json' on 'Response': data is not JSON serializable");
      const response = new Response(INTERNAL);
      response.#initialize(dictionary(init, "Failed to execute 'json' on 'Response': init"),
        { bytes: undefined, stream: null, type: 'application/json', text });
      return response;
    }

    get type() { return this.#type; }
    get url() { return this.#url; }
    get redirected() { return this.#redirected; }
    get status() { return this.#status; }
    get ok() { return this.#status >= 200 && this.#status <= 299; }
    get statusText() { return this.#statusText; }
    get headers() { return this.#headers; }

    clone() {
      const copy = new Response(INTERNAL);
      copy.#body = cloneBodyState(this.#body);
      copy.#type = this.#type;
      copy.#status = this.#status;
      copy.#statusText = this.#statusText;
      copy.#headers = copyHeaders(this.#headers);
      copy.#url = this.#url;
      copy.#redirected = this.#redirected;
      return copy;
    }

    static {
      // A fetch() result: type "basic", immutable headers, any status the server sent.
      responseFromPlain = (plain) => {
        const response = new Response(INTERNAL);
        response.#type = 'basic';
        response.#status = unsignedShort(plain.status);
        response.#statusText = plain.statusText === undefined ? '' : String(plain.statusText);
        response.#headers = new Headers(plain.headers ?? undefined);
        setHeadersImmutable(response.#headers);
        response.#body = plainBodyState(plain);
        response.#url = plain.url === undefined ? '' : String(plain.url);
        response.#redirected = Boolean(plain.redirected);
        return response;
      };
    }
  }

  // ---- The isolate boundary ----
  const fromBase64 = Uint8Array.fromBase64;

  // The body state of a plain object: bodyBase64, or body/bodyText as a string (kept as text: see
  // body.js, "Body state") or bytes. Null for no body or, when `emptyIsNone`, an empty one.
  function plainBodyState(plain, emptyIsNone = false) {
    let state;
    if (typeof plain.bodyBase64 === 'string') {
      state = newBodyState(fromBase64(plain.bodyBase64));
    } else {
      const body = plain.bodyText ?? plain.body;
      if (body === undefined || body === null) return newBodyState(null);
      if (typeof body === 'string') {
        state = textBodyState(body);
      } else {
        const extracted = extractBody(body);
        if (extracted.stream !== null) throw new TypeError('A stream body is not supported here');
        state = newBodyState(extracted.bytes);
      }
    }
    const empty = state.text !== null ? state.text.length === 0 : state.bytes.length === 0;
    return emptyIsNone && empty ? newBodyState(null) : state;
  }

  let strictDecoder;
  // Text when the bytes are valid UTF-8 (a BOM is kept, so the text round-trips exactly), else null.
  function utf8OrNull(bytes) {
    strictDecoder ??= new (earlierGlobal('TextDecoder'))('utf-8', { fatal: true, ignoreBOM: true });
    try {
      return strictDecoder.decode(bytes);
    } catch {
      return null;
    }
  }

  function plainHead(state) {
    // [name, value] pairs as Fetch's "sort and combine" gives them: each set-cookie separate.
    const headers = headerPairs(state.headers).map((pair) => [pair[0], pair[1]]);
    return { status: state.status, headers };
  }

  function plainBody(head, bodyBase64, bodyText) {
    return { status: head.status, headers: head.headers, bodyBase64, bodyText };
  }

  function plainWithBytes(head, bytes) {
    const bodyText = bytes === null ? null : utf8OrNull(bytes);
    return plainBody(head, bytes === null || bodyText !== null ? null : toBase64.call(bytes), bodyText);
  }

  // The response as {status, headers, bodyBase64, bodyText}; a stream body is read to its end.
  function responseToPlain(response) {
    return new Promise((resolve) => {
      const state = responseState(response);
      if (state === undefined) throw new TypeError('Expected a Response object');
      const head = plainHead(state);
      const text = consumeBodyText(state.body);
      if (text !== undefined) {
        // What decoding its UTF-8 would give: lone surrogates were encoded as U+FFFD.
        resolve(plainBody(head, null, toWellFormed.call(text)));
        return;
      }
      const bytes = consumeBodyBytes(state.body); // a TypeError if the body is used or locked
      if (bytes === null || bytes instanceof Uint8Array) resolve(plainWithBytes(head, bytes));
      else resolve(bytes.then((all) => plainWithBytes(head, all)));
    });
  }

  // For a response whose body is a stream: {status, headers, reader} to send it as it comes
  // (reader.read() gives a Uint8Array or null at the end). Undefined for a bytes or null body.
  function responseStreamHead(response) {
    const state = responseState(response);
    if (state === undefined) return undefined;
    const reader = bodyChunkReader(state.body);
    if (reader === null) return undefined;
    const head = plainHead(state);
    head.reader = reader;
    return head;
  }

  // An incoming request: the method as the client sent it (any token the server accepted, TRACE
  // included: the constructor's forbidden-method check is for requests a script makes).
  function requestFromPlain(plain) {
    const method = plain.method === undefined ? 'GET' : String(plain.method);
    // The body arrives as sent: no default Content-Type, and an empty body is no body.
    const body = method === 'GET' || method === 'HEAD' ? newBodyState(null) : plainBodyState(plain, true);
    return incomingRequest(String(plain.url), method, plain.headers ?? undefined, body);
  }

  defineHidden(web, 'responseFromPlain', responseFromPlain);
  defineHidden(web, 'responseToPlain', responseToPlain);
  defineHidden(web, 'responseStreamHead', responseStreamHead);
  defineHidden(web, 'requestHasBody', (request) => !isNullBody(requestState(request).body));
  defineHidden(web, 'requestFromPlain', requestFromPlain);
  defineHidden(web, 'isResponse', (value) => responseState(value) !== undefined);
  defineHidden(web, 'isRequest', (value) => requestState(value) !== undefined);

  defineInterface('Request', Request);
  defineInterface('Response', Response);
})(globalThis);
