// Gives crypto.subtle (web/subtle.js, loaded before core.js) the host bridge: its methods beyond
// digests and HMAC run in Python (flux_edge/runtime/webcrypto/) through hostCall("crypto.*").
(function (g) {
  "use strict";
  const connect = g.__flux_subtle_connect;
  delete g.__flux_subtle_connect;
  if (typeof connect === "function") connect(g.__flux_host.hostCall);
})(globalThis);
