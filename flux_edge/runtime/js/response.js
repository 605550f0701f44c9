// What a handler returns, turned into a plain {status, headers: [[name, value]], body, base64?}: the
// reference's {status, headers?, body} object, a web Response (async), a string (200 text/plain),
// undefined (204), or any other JSON value (200 application/json). Loaded after the web platform
// and format.js, before core.js, which takes `__flux_response` and removes it.
(function (g) {
  "use strict";
  const { stringify } = JSON;
  const hasOwn = Object.prototype.hasOwnProperty;
  const web = g.__flux_web || {};
  const { formatValue } = g.__flux_format;

  const responseKeys = new Set(["status", "statusText", "headers", "body"]);

  function isResponseObject(value) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return false;
    const keys = Object.keys(value);
    if (!keys.length) return false;
    for (const key of keys) if (!responseKeys.has(key)) return false;
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
      if (type !== null && !hasHeader(headers, "content-type")) headers.push(["content-type", type]);
      return { body: bytesToBase64(bytes), base64: true };
    }
    if (!hasHeader(headers, "content-type")) headers.push(["content-type", "application/json"]);
    return { body: stringify(body) };
  }

  function hasHeader(headers, name) {
    for (const pair of headers) if (pair[0] === name) return true;
    return false;
  }

  // [lower-case name, value] pairs, in order; a Headers object gives Fetch's sorted view, in which
  // each set-cookie stays separate.
  function headerList(value) {
    if (value === undefined || value === null) return [];
    if (Headers && value instanceof Headers) return web.headerPairs(value).map((p) => [p[0], p[1]]);
    const entries = Array.isArray(value) ? value : Object.entries(value);
    const headers = [];
    for (const [k, v] of entries) headers.push([String(k).toLowerCase(), String(v)]);
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
