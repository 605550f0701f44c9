// What a handler returns, turned into a plain {status, headers: [[name, value]], body, base64?}: the
// reference's {status, headers?, body} object, a web Response (async), a string (200 text/plain),
// undefined (204), or any other JSON value (200 application/json). Loaded after the web platform
// and format.js, before core.js, which takes `__flux_response` and removes it.
(function (g) {
  "use strict";
  // Built-ins captured before user code loads: a handler's changes to them must not change how
  // its return value is read (see primordials.js).
  const P = g.__flux_primordials;
  const stringify = P.JSONStringify;
  const hasOwn = { call: P.ObjectHasOwn };
  const objectKeys = Object.keys;
  const objectEntries = Object.entries;
  const getPrototypeOf = P.ReflectGetPrototypeOf;
  const isArray = P.ArrayIsArray;
  const setHas = P.SetPrototypeHas;
  const push = P.ArrayPrototypePush;
  const ObjectPrototype = Object.prototype;
  const web = g.__flux_web || {};
  const { formatValue } = g.__flux_format;

  const responseKeys = new Set(["status", "statusText", "headers", "body"]);

  function isResponseObject(value) {
    if (value === null || typeof value !== "object" || isArray(value)) return false;
    const proto = getPrototypeOf(value);
    if (proto !== ObjectPrototype && proto !== null) return false;
    const keys = objectKeys(value);
    if (!keys.length) return false;
    for (let i = 0; i < keys.length; i++) if (!setHas(responseKeys, keys[i])) return false;
    return hasOwn.call(value, "status") || hasOwn.call(value, "body");
  }

  // V8's own base64 (captured: user code may replace the prototype's method or `btoa`).
  const toBase64 = Uint8Array.prototype.toBase64;
  const bytesToBase64 = (bytes) => toBase64.call(bytes);

  const { Blob, Headers, Response } = g; // captured: user code may replace the globals
  const isBlob = (value) => Blob !== undefined && value instanceof Blob;

  function encodeBody(body, headers) {
    if (body === undefined || body === null) return { body: "" };
    if (typeof body === "string") return { body };
    if (body instanceof ArrayBuffer || ArrayBuffer.isView(body) || isBlob(body)) {
      const { bytes, type } = web.extractBody(body);
      if (type !== null && !hasHeader(headers, "content-type")) push(headers, ["content-type", type]);
      return { body: bytesToBase64(bytes), base64: true };
    }
    if (!hasHeader(headers, "content-type")) push(headers, ["content-type", "application/json"]);
    return { body: stringify(body) };
  }

  function hasHeader(headers, name) {
    for (let i = 0; i < headers.length; i++) if (headers[i][0] === name) return true;
    return false;
  }

  // [lower-case name, value] pairs, in order; a Headers object gives Fetch's sorted view, in which
  // each set-cookie stays separate.
  function headerList(value) {
    if (value === undefined || value === null) return [];
    const entries = Headers && value instanceof Headers
      ? web.headerPairs(value)
      : isArray(value) ? value : objectEntries(value);
    const headers = [];
    for (let i = 0; i < entries.length; i++) {
      push(headers, [P.String(entries[i][0]).toLowerCase(), P.String(entries[i][1])]);
    }
    return headers;
  }

  /** Turns whatever the handler returned into {status, headers, body, base64?} (may be async). */
  function toResponse(value) {
    if (Response && value instanceof Response) {
      return web.responseToPlain(value).then((plain) => ({
        status: plain.status,
        headers: plain.headers,
        body: plain.bodyText !== null ? plain.bodyText : plain.bodyBase64 || "",
        base64: plain.bodyText === null && plain.bodyBase64 !== null,
      }));
    }
    if (value === undefined) return { status: 204, headers: [], body: "" };
    if (typeof value === "string") {
      return { status: 200, headers: [["content-type", "text/plain; charset=utf-8"]], body: value };
    }
    if (isResponseObject(value)) {
      const status = hasOwn.call(value, "status") ? value.status : 200;
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        throw new TypeError(
          `the handler returned status ${formatValue(status, 1, new Set())}; ` +
            "status must be an integer from 200 to 599",
        );
      }
      const headers = headerList(value.headers);
      const encoded = encodeBody(value.body, headers);
      return { status, headers, body: encoded.body, base64: encoded.base64 || false };
    }
    const headers = [["content-type", "application/json"]];
    const body = stringify(value);
    if (body === undefined) return { status: 204, headers: [], body: "" };
    return { status: 200, headers, body };
  }

  Object.defineProperty(g, "__flux_response", {
    value: Object.freeze({ toResponse }),
    configurable: true,
  });
})(globalThis);
