// The URL record, the basic URL parser and the URL serializers (WHATWG URL Standard).
// The parser follows the standard's state machine step by step, so the spec is the reference
// for reading it; the state names below are the spec's. Reads the percent-encoding helpers and
// `parseHost` from __flux_url and adds what url.js needs to it.
(function (global) {
  "use strict";

  const internals = global.__flux_url;
  const { percentEncode, parseHost } = internals;
  const { C0_CONTROL_SET, FRAGMENT_SET, QUERY_SET, SPECIAL_QUERY_SET, PATH_SET, USERINFO_SET } = internals;
  const FAILURE = null;

  // ---- The URL record and its parser --------------------------------------------------------------

  const SPECIAL_PORTS = { "ftp:": 21, "file:": null, "http:": 80, "https:": 443, "ws:": 80, "wss:": 443 };
  const isSpecialScheme = (scheme) => Object.hasOwn(SPECIAL_PORTS, scheme + ":");
  const defaultPort = (scheme) => (isSpecialScheme(scheme) ? SPECIAL_PORTS[scheme + ":"] : null);

  const newRecord = () => ({
    scheme: "",
    username: "",
    password: "",
    host: null,
    port: null,
    path: [], // a string when the path is opaque
    query: null,
    fragment: null,
  });
  const copyRecord = (record) => ({
    ...record,
    path: typeof record.path === "string" ? record.path : [...record.path],
  });
  const hasOpaquePath = (record) => typeof record.path === "string";
  const includesCredentials = (record) => record.username !== "" || record.password !== "";
  const cannotHaveCredentialsOrPort = (record) =>
    record.host === null || record.host === "" || record.scheme === "file";

  const isWindowsDriveLetter = (string, normalizedOnly = false) =>
    string.length === 2 &&
    /[a-zA-Z]/.test(string[0]) &&
    (string[1] === ":" || (!normalizedOnly && string[1] === "|"));
  const startsWithWindowsDriveLetter = (chars, pointer) =>
    chars.length - pointer >= 2 &&
    isWindowsDriveLetter(chars[pointer] + chars[pointer + 1]) &&
    (chars.length - pointer === 2 || "/\\?#".includes(chars[pointer + 2]));
  const isSingleDot = (segment) => segment === "." || segment.toLowerCase() === "%2e";
  const isDoubleDot = (segment) => /^(\.|%2e)(\.|%2e)$/i.test(segment);

  const shortenPath = (record) => {
    const path = record.path;
    if (record.scheme === "file" && path.length === 1 && isWindowsDriveLetter(path[0], true)) return;
    path.pop();
  };

  const S = {
    SCHEME_START: 1,
    SCHEME: 2,
    NO_SCHEME: 3,
    SPECIAL_RELATIVE_OR_AUTHORITY: 4,
    PATH_OR_AUTHORITY: 5,
    RELATIVE: 6,
    RELATIVE_SLASH: 7,
    SPECIAL_AUTHORITY_SLASHES: 8,
    SPECIAL_AUTHORITY_IGNORE_SLASHES: 9,
    AUTHORITY: 10,
    HOST: 11,
    HOSTNAME: 12,
    PORT: 13,
    FILE: 14,
    FILE_SLASH: 15,
    FILE_HOST: 16,
    PATH_START: 17,
    PATH: 18,
    OPAQUE_PATH: 19,
    QUERY: 20,
    FRAGMENT: 21,
  };

  // A fast path for the URLs servers see on every call: plain ASCII http(s) URLs with a lower-case
  // domain (or a canonical dotted-quad address), an optional port, no credentials, no dot segments and
  // only characters no encode set touches. For such input the state machine below produces exactly
  // this record whatever the base is ("scheme://" never reads the base); everything else (upper
  // case, spaces, tabs, "%"-escaped or numeric-looking hosts, "xn--" labels, "." segments, "\\",
  // characters that need encoding) returns null and takes the full parser. tests/runtime/web/
  // test_url_fast_path.py compares both paths over generated URLs.
  const FAST_URL =
    /^(https?):\/\/([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::([0-9]{0,5}))?(\/[!$-.0-;=@-\[\]_a-z|~\/]*)?(?:\?([!$-&(-;=?-~]*))?(?:#([!#-;=?-_a-~]*))?$/;
  const FAST_NUMERIC_LAST_LABEL = /(?:^|\.)(?:[0-9]+|0x[0-9a-f]*)$/;
  const FAST_DOTTED_QUAD = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;
  const FAST_DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?=\/|$)/i;
  // The fast path's match of `input` (scheme, host, port, path, query, fragment), or null. The
  // last input's is kept: a server's calls repeat their URL, and the boundary's check of it
  // (`isSerializedURL`) is followed by the handler's `new URL(request.url)`. Only read, never
  // changed: records are made from it afresh.
  let lastInput = null;
  let lastMatch = null;
  const fastMatch = (input) => {
    if (input === lastInput) return lastMatch;
    lastMatch = uncachedFastMatch(input);
    lastInput = input;
    return lastMatch;
  };
  const uncachedFastMatch = (input) => {
    const match = FAST_URL.exec(input);
    if (match === null) return null;
    const host = match[2];
    if (host.includes("xn--")) return null;
    if (FAST_NUMERIC_LAST_LABEL.test(host) && !FAST_DOTTED_QUAD.test(host)) return null;
    const portText = match[3];
    if (portText !== undefined && portText !== "" && parseInt(portText, 10) > 65535) return null;
    const pathText = match[4];
    if (pathText !== undefined && pathText !== "" && FAST_DOT_SEGMENT.test(pathText)) return null;
    return match;
  };

  const fastParse = (input) => {
    const match = fastMatch(input);
    if (match === null) return FAILURE;
    const [, scheme, host, portText, pathText, query, fragment] = match;
    let port = null;
    if (portText !== undefined && portText !== "") {
      port = parseInt(portText, 10);
      if (port === SPECIAL_PORTS[scheme + ":"]) port = null;
    }
    const path = pathText !== undefined && pathText !== "" ? pathText.slice(1).split("/") : [""];
    return {
      scheme,
      username: "",
      password: "",
      host,
      port,
      path,
      query: query === undefined ? null : query,
      fragment: fragment === undefined ? null : fragment,
    };
  };

  // Whether `input` is a URL the fast path takes that serializes back to itself (its href is
  // `input`): it has a path, and a port only if that port is written plainly and not the default.
  const isSerializedURL = (input) => {
    const match = fastMatch(input);
    if (match === null) return false;
    const [, scheme, , portText, pathText] = match;
    if (pathText === undefined || pathText === "") return false;
    if (portText === undefined) return true;
    return portText !== "" && portText[0] !== "0" && parseInt(portText, 10) !== SPECIAL_PORTS[scheme + ":"];
  };

  // The basic URL parser. With `stateOverride` it edits `record` in place (the setters' mode) and
  // returns it, or FAILURE when the value is rejected; without, it returns a new record or FAILURE.
  const basicParse = (input, base = null, record = null, stateOverride = 0) => {
    if (record === null) {
      const fast = fastParse(input);
      if (fast !== FAILURE) return fast;
      record = newRecord();
      input = input.replace(/^[\0-\x20]+|[\0-\x20]+$/g, "");
    }
    input = input.replace(/[\t\n\r]/g, "");
    const chars = Array.from(input);
    let state = stateOverride || S.SCHEME_START;
    let buffer = "";
    let atSignSeen = false,
      insideBrackets = false,
      passwordTokenSeen = false;
    for (let pointer = 0; ; pointer++) {
      const c = chars[pointer]; // undefined is the spec's EOF code point
      const special = isSpecialScheme(record.scheme);
      const endsAuthority = c === undefined || c === "/" || c === "?" || c === "#" || (special && c === "\\");
      switch (state) {
        case S.SCHEME_START:
          if (c !== undefined && /[a-zA-Z]/.test(c)) {
            buffer += c.toLowerCase();
            state = S.SCHEME;
          } else if (!stateOverride) {
            state = S.NO_SCHEME;
            pointer--;
          } else return FAILURE;
          break;
        case S.SCHEME:
          if (c !== undefined && /[a-zA-Z0-9+\-.]/.test(c)) {
            buffer += c.toLowerCase();
          } else if (c === ":") {
            if (stateOverride) {
              if (special !== isSpecialScheme(buffer)) return record;
              if ((includesCredentials(record) || record.port !== null) && buffer === "file") return record;
              if (record.scheme === "file" && record.host === "") return record;
            }
            record.scheme = buffer;
            if (stateOverride) {
              if (record.port === defaultPort(record.scheme)) record.port = null;
              return record;
            }
            buffer = "";
            if (record.scheme === "file") state = S.FILE;
            else if (isSpecialScheme(record.scheme)) {
              state =
                base !== null && base.scheme === record.scheme
                  ? S.SPECIAL_RELATIVE_OR_AUTHORITY
                  : S.SPECIAL_AUTHORITY_SLASHES;
            } else if (chars[pointer + 1] === "/") {
              state = S.PATH_OR_AUTHORITY;
              pointer++;
            } else {
              record.path = "";
              state = S.OPAQUE_PATH;
            }
          } else if (!stateOverride) {
            buffer = "";
            state = S.NO_SCHEME;
            pointer = -1;
          } else return FAILURE;
          break;
        case S.NO_SCHEME:
          if (base === null || (hasOpaquePath(base) && c !== "#")) return FAILURE;
          if (hasOpaquePath(base)) {
            Object.assign(record, { scheme: base.scheme, path: base.path, query: base.query, fragment: "" });
            state = S.FRAGMENT;
          } else {
            state = base.scheme === "file" ? S.FILE : S.RELATIVE;
            pointer--;
          }
          break;
        case S.SPECIAL_RELATIVE_OR_AUTHORITY:
          if (c === "/" && chars[pointer + 1] === "/") {
            state = S.SPECIAL_AUTHORITY_IGNORE_SLASHES;
            pointer++;
          } else {
            state = S.RELATIVE;
            pointer--;
          }
          break;
        case S.PATH_OR_AUTHORITY:
          if (c === "/") state = S.AUTHORITY;
          else {
            state = S.PATH;
            pointer--;
          }
          break;
        case S.RELATIVE:
          record.scheme = base.scheme;
          if (c === "/" || (isSpecialScheme(record.scheme) && c === "\\")) {
            state = S.RELATIVE_SLASH;
          } else {
            const { username, password, host, port, path, query } = copyRecord(base);
            Object.assign(record, { username, password, host, port, path, query });
            if (c === "?") {
              record.query = "";
              state = S.QUERY;
            } else if (c === "#") {
              record.fragment = "";
              state = S.FRAGMENT;
            } else if (c !== undefined) {
              record.query = null;
              shortenPath(record);
              state = S.PATH;
              pointer--;
            }
          }
          break;
        case S.RELATIVE_SLASH:
          if (special && (c === "/" || c === "\\")) state = S.SPECIAL_AUTHORITY_IGNORE_SLASHES;
          else if (c === "/") state = S.AUTHORITY;
          else {
            const { username, password, host, port } = base;
            Object.assign(record, { username, password, host, port });
            state = S.PATH;
            pointer--;
          }
          break;
        case S.SPECIAL_AUTHORITY_SLASHES:
          state = S.SPECIAL_AUTHORITY_IGNORE_SLASHES;
          if (c === "/" && chars[pointer + 1] === "/") pointer++;
          else pointer--;
          break;
        case S.SPECIAL_AUTHORITY_IGNORE_SLASHES:
          if (c !== "/" && c !== "\\") {
            state = S.AUTHORITY;
            pointer--;
          }
          break;
        case S.AUTHORITY:
          if (c === "@") {
            if (atSignSeen) buffer = "%40" + buffer;
            atSignSeen = true;
            for (const char of buffer) {
              if (char === ":" && !passwordTokenSeen) {
                passwordTokenSeen = true;
                continue;
              }
              const encoded = percentEncode(char, USERINFO_SET);
              if (passwordTokenSeen) record.password += encoded;
              else record.username += encoded;
            }
            buffer = "";
          } else if (endsAuthority) {
            if (atSignSeen && buffer === "") return FAILURE;
            pointer -= Array.from(buffer).length + 1;
            buffer = "";
            state = S.HOST;
          } else buffer += c;
          break;
        case S.HOST:
        case S.HOSTNAME:
          if (stateOverride && record.scheme === "file") {
            pointer--;
            state = S.FILE_HOST;
          } else if (c === ":" && !insideBrackets) {
            if (buffer === "" || stateOverride === S.HOSTNAME) return FAILURE;
            const host = parseHost(buffer, !special);
            if (host === FAILURE) return FAILURE;
            record.host = host;
            buffer = "";
            state = S.PORT;
          } else if (endsAuthority) {
            pointer--;
            if (special && buffer === "") return FAILURE;
            if (stateOverride && buffer === "" && (includesCredentials(record) || record.port !== null)) {
              return FAILURE;
            }
            const host = parseHost(buffer, !special);
            if (host === FAILURE) return FAILURE;
            record.host = host;
            buffer = "";
            state = S.PATH_START;
            if (stateOverride) return record;
          } else {
            if (c === "[") insideBrackets = true;
            if (c === "]") insideBrackets = false;
            buffer += c;
          }
          break;
        case S.PORT:
          if (c !== undefined && /[0-9]/.test(c)) {
            buffer += c;
          } else if (endsAuthority || stateOverride) {
            if (buffer !== "") {
              const port = parseInt(buffer, 10);
              if (port > 65535) return FAILURE;
              record.port = port === defaultPort(record.scheme) ? null : port;
              buffer = "";
            }
            if (stateOverride) return record;
            state = S.PATH_START;
            pointer--;
          } else return FAILURE;
          break;
        case S.FILE:
          record.scheme = "file";
          record.host = "";
          if (c === "/" || c === "\\") {
            state = S.FILE_SLASH;
          } else if (base !== null && base.scheme === "file") {
            const { host, path, query } = copyRecord(base);
            Object.assign(record, { host, path, query });
            if (c === "?") {
              record.query = "";
              state = S.QUERY;
            } else if (c === "#") {
              record.fragment = "";
              state = S.FRAGMENT;
            } else if (c !== undefined) {
              record.query = null;
              if (!startsWithWindowsDriveLetter(chars, pointer)) shortenPath(record);
              else record.path = [];
              state = S.PATH;
              pointer--;
            }
          } else {
            state = S.PATH;
            pointer--;
          }
          break;
        case S.FILE_SLASH:
          if (c === "/" || c === "\\") {
            state = S.FILE_HOST;
          } else {
            if (base !== null && base.scheme === "file") {
              record.host = base.host;
              if (
                !startsWithWindowsDriveLetter(chars, pointer) &&
                base.path.length > 0 &&
                isWindowsDriveLetter(base.path[0], true)
              ) {
                record.path.push(base.path[0]);
              }
            }
            state = S.PATH;
            pointer--;
          }
          break;
        case S.FILE_HOST:
          if (c === undefined || "/\\?#".includes(c)) {
            pointer--;
            if (!stateOverride && isWindowsDriveLetter(buffer)) {
              state = S.PATH; // the buffer is kept: it becomes the first path segment
            } else if (buffer === "") {
              record.host = "";
              if (stateOverride) return record;
              state = S.PATH_START;
            } else {
              const host = parseHost(buffer, !special);
              if (host === FAILURE) return FAILURE;
              record.host = host === "localhost" ? "" : host;
              if (stateOverride) return record;
              buffer = "";
              state = S.PATH_START;
            }
          } else buffer += c;
          break;
        case S.PATH_START:
          if (special) {
            state = S.PATH;
            if (c !== "/" && c !== "\\") pointer--;
          } else if (!stateOverride && c === "?") {
            record.query = "";
            state = S.QUERY;
          } else if (!stateOverride && c === "#") {
            record.fragment = "";
            state = S.FRAGMENT;
          } else if (c !== undefined) {
            state = S.PATH;
            if (c !== "/") pointer--;
          } else if (stateOverride && record.host === null) {
            record.path.push("");
          }
          break;
        case S.PATH: {
          const slash = c === "/" || (special && c === "\\");
          if (c === undefined || slash || (!stateOverride && (c === "?" || c === "#"))) {
            if (isDoubleDot(buffer)) {
              shortenPath(record);
              if (!slash) record.path.push("");
            } else if (isSingleDot(buffer) && !slash) {
              record.path.push("");
            } else if (!isSingleDot(buffer)) {
              if (record.scheme === "file" && record.path.length === 0 && isWindowsDriveLetter(buffer)) {
                buffer = buffer[0] + ":";
              }
              record.path.push(buffer);
            }
            buffer = "";
            if (c === "?") {
              record.query = "";
              state = S.QUERY;
            } else if (c === "#") {
              record.fragment = "";
              state = S.FRAGMENT;
            }
          } else buffer += percentEncode(c, PATH_SET);
          break;
        }
        case S.OPAQUE_PATH:
          if (c === "?") {
            record.query = "";
            state = S.QUERY;
          } else if (c === "#") {
            record.fragment = "";
            state = S.FRAGMENT;
          } else if (c === " ") {
            // Encoded before a query or fragment so the serialization re-parses identically.
            const next = chars[pointer + 1];
            record.path += next === "?" || next === "#" ? "%20" : " ";
          } else if (c !== undefined) {
            record.path += percentEncode(c, C0_CONTROL_SET);
          }
          break;
        case S.QUERY:
          if ((!stateOverride && c === "#") || c === undefined) {
            record.query += percentEncode(buffer, special ? SPECIAL_QUERY_SET : QUERY_SET);
            buffer = "";
            if (c === "#") {
              record.fragment = "";
              state = S.FRAGMENT;
            }
          } else buffer += c;
          break;
        case S.FRAGMENT:
          if (c !== undefined) record.fragment += percentEncode(c, FRAGMENT_SET);
          break;
      }
      if (pointer >= chars.length) return record;
    }
  };

  const serializePath = (record) =>
    hasOpaquePath(record) ? record.path : record.path.map((segment) => "/" + segment).join("");

  const serializeURL = (record, excludeFragment = false) => {
    let output = record.scheme + ":";
    if (record.host !== null) {
      output += "//";
      if (includesCredentials(record)) {
        output += record.username + (record.password !== "" ? ":" + record.password : "") + "@";
      }
      output += record.host + (record.port !== null ? ":" + record.port : "");
    } else if (!hasOpaquePath(record) && record.path.length > 1 && record.path[0] === "") {
      output += "/."; // keeps "//" at the start of the path from reading as an authority
    }
    output += serializePath(record);
    if (record.query !== null) output += "?" + record.query;
    if (!excludeFragment && record.fragment !== null) output += "#" + record.fragment;
    return output;
  };

  const serializeOrigin = (record) => {
    if (record.scheme === "blob") {
      const inner = basicParse(serializePath(record));
      return inner !== FAILURE && (inner.scheme === "http" || inner.scheme === "https")
        ? serializeOrigin(inner)
        : "null";
    }
    if (!isSpecialScheme(record.scheme) || record.scheme === "file") return "null";
    return record.scheme + "://" + record.host + (record.port !== null ? ":" + record.port : "");
  };

  Object.assign(internals, {
    S,
    newRecord,
    isSpecialScheme,
    defaultPort,
    basicParse,
    serializeURL,
    serializePath,
    serializeOrigin,
    hasOpaquePath,
    cannotHaveCredentialsOrPort,
    isSerializedURL,
  });
})(globalThis);
