// What a handler returns, turned into a plain {status, headers, body, base64?} response: the
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

  function bytesToBase64(bytes) {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return g.btoa(binary);
  }

  function encodeBody(body, headers) {
    if (body === undefined || body === null) return { body: "" };
    if (typeof body === "string") return { body };
    if (body instanceof ArrayBuffer) return { body: bytesToBase64(new Uint8Array(body)), base64: true };
    if (ArrayBuffer.isView(body)) {
      const view = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
      return { body: bytesToBase64(view), base64: true };
    }
    if (!hasHeader(headers, "content-type")) headers["content-type"] = "application/json";
    return { body: stringify(body) };
  }

  function hasHeader(headers, name) {
    const keys = objectKeys(headers);
    for (let i = 0; i < keys.length; i++) if (P.String(keys[i]).toLowerCase() === name) return true;
    return false;
  }

  function plainHeaders(value) {
    const headers = {};
    if (value === undefined || value === null) return headers;
    if (typeof value.forEach === "function" && !Array.isArray(value) && g.Headers && value instanceof g.Headers) {
      value.forEach((v, k) => (headers[k] = v));
      return headers;
    }
    const entries = isArray(value) ? value : objectEntries(value);
    for (let i = 0; i < entries.length; i++) {
      headers[P.String(entries[i][0]).toLowerCase()] = P.String(entries[i][1]);
    }
    return headers;
  }

  /** Turns whatever the handler returned into {status, headers, body, base64?} (may be async). */
  function toResponse(value) {
    if (g.Response && value instanceof g.Response) {
      return web.responseToPlain(value).then((plain) => ({
        status: plain.status,
        headers: plain.headers,
        body: plain.bodyText !== null ? plain.bodyText : plain.bodyBase64 || "",
        base64: plain.bodyText === null && plain.bodyBase64 !== null,
      }));
    }
    if (value === undefined) return { status: 204, headers: {}, body: "" };
    if (typeof value === "string") {
      return { status: 200, headers: { "content-type": "text/plain; charset=utf-8" }, body: value };
    }
    if (isResponseObject(value)) {
      const status = hasOwn.call(value, "status") ? value.status : 200;
      if (!Number.isInteger(status) || status < 200 || status > 599) {
        throw new TypeError(
          `the handler returned status ${formatValue(status, 1, new Set())}; ` +
            "status must be an integer from 200 to 599",
        );
      }
      const headers = plainHeaders(value.headers);
      const encoded = encodeBody(value.body, headers);
      return { status, headers, body: encoded.body, base64: encoded.base64 || false };
    }
    const headers = { "content-type": "application/json" };
    const body = stringify(value);
    if (body === undefined) return { status: 204, headers: {}, body: "" };
    return { status: 200, headers, body };
  }

  Object.defineProperty(g, "__flux_response", {
    value: Object.freeze({ toResponse }),
    configurable: true,
  });
})(globalThis);
