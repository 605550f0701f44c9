// fetch(): a web Request is built here, sent to Python with hostCall("fetch", ...), and Python's
// answer comes back as a web Response. Python does the network work and re-checks allow_net and
// the outbound policy itself; the check here only gives a quick, clear error.
//
// Abort: the returned promise rejects at once with the signal's reason, and Python is told to
// cancel with hostCall("fetch.abort", {id}); whatever Python answers afterwards is ignored.
// Fetches made after the call ended are refused by hostCall (they would outlive their call).
(function (g) {
  "use strict";
  const host = g.__flux_host;
  const web = g.__flux_web;
  const Request = g.Request;
  const { Uint8Array, ArrayBuffer, Promise, Object, Error } = g;
  const toBase64 = Uint8Array.prototype.toBase64;
  const DenoErrors = g.Deno.errors;
  const PermissionDenied = host.PermissionDenied;
  // The flags, when core.js exposes them; Python checks again in any case.
  const permissions = host.permissions;

  let nextFetchId = 1;

  function abortReason(signal) {
    if (signal.reason !== undefined) return signal.reason;
    if (typeof g.DOMException === "function") return new g.DOMException("The operation was aborted.", "AbortError");
    const error = new Error("The operation was aborted.");
    error.name = "AbortError";
    return error;
  }

  // Errors from Python arrive as Error objects named after their class: use the Deno classes.
  function fromHost(error) {
    if (error && error.name === "PermissionDenied" && !(error instanceof PermissionDenied)) {
      return new PermissionDenied(error.message);
    }
    if (error && typeof error.name === "string" && error.constructor === Error) {
      const Class = Object.prototype.hasOwnProperty.call(DenoErrors, error.name) ? DenoErrors[error.name] : null;
      if (typeof Class === "function") return new Class(error.message);
    }
    return error;
  }

  // The body's bytes now, when that can be done synchronously (no body, or an init.body of a
  // plain type: extracting it again gives the bytes the Request holds); undefined otherwise.
  // Doing the hostCall synchronously inside fetch() attributes it to the right call for certain;
  // after an await, core.js finds the call from the async stack.
  function bodyNow(request, init) {
    if (request.method === "GET" || request.method === "HEAD" || !web.requestHasBody(request)) return null;
    const body = init === undefined || init === null ? undefined : init.body;
    if (
      typeof body === "string" ||
      body instanceof ArrayBuffer ||
      ArrayBuffer.isView(body) ||
      (typeof g.URLSearchParams === "function" && body instanceof g.URLSearchParams) ||
      (typeof g.Blob === "function" && body instanceof g.Blob)
    ) {
      return web.extractBodyBytes(body);
    }
    return undefined;
  }

  function headerPairs(headers) {
    const pairs = [];
    headers.forEach((value, name) => pairs.push([name, value]));
    return pairs;
  }

  function denied(request) {
    let target = request.url;
    try {
      target = new g.URL(request.url).host;
    } catch {
      // keep the whole URL in the message
    }
    return new PermissionDenied(
      `Requires net access to "${target}": allow_net is false for this function ` +
        "(set it with the management API)",
    );
  }

  // Sends the request now; resolves with a Response, or rejects (abort, host error).
  function send(request, bytes, callId) {
    const signal = request.signal;
    if (signal.aborted) return Promise.reject(abortReason(signal));
    const id = nextFetchId++;
    let settled = false;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (settled) return;
        settled = true;
        reject(abortReason(signal));
        host.hostCall("fetch.abort", { id }, callId).catch(() => {});
      };
      signal.addEventListener("abort", onAbort, { once: true });
      host
        .hostCall(
          "fetch",
          {
            id,
            method: request.method,
            url: request.url,
            headers: headerPairs(request.headers),
            bodyBase64: bytes === null ? null : toBase64.call(bytes),
            redirect: request.redirect,
          },
          callId,
        )
        .then(
          (plain) => {
            if (settled) return;
            settled = true;
            signal.removeEventListener("abort", onAbort);
            resolve(web.responseFromPlain(plain));
          },
          (error) => {
            if (settled) return;
            settled = true;
            signal.removeEventListener("abort", onAbort);
            reject(fromHost(error));
          },
        );
    });
  }

  async function sendLater(request, callId) {
    const bytes = new Uint8Array(await request.arrayBuffer());
    return await send(request, bytes, callId);
  }

  /** The Fetch standard's fetch(), over the host's HTTP client. */
  function fetch(input, init = undefined) {
    let request;
    try {
      request = new Request(input, init);
    } catch (error) {
      return Promise.reject(error);
    }
    if (request.signal.aborted) return Promise.reject(abortReason(request.signal));
    if (permissions && !permissions.net) return Promise.reject(denied(request));
    // Passed to hostCall for core.js versions that take the call explicitly.
    const callId = host.owner();
    const bytes = bodyNow(request, init);
    return bytes === undefined ? sendLater(request, callId) : send(request, bytes, callId);
  }

  Object.defineProperty(g, "fetch", { value: fetch, writable: true, configurable: true, enumerable: false });
})(globalThis);
