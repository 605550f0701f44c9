// URL and URLSearchParams (WHATWG URL Standard), UTF-8 only.
// The parser follows the standard's state machine step by step, so the spec is the reference
// for reading it; the state names below are the spec's.
(function (global) {
  "use strict";

  const defineGlobal = (name, value) =>
    Object.defineProperty(global, name, {
      value,
      writable: true,
      enumerable: false,
      configurable: true,
    });

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

  // ---- Hosts --------------------------------------------------------------------------------------

  const FORBIDDEN_HOST = /[\0\t\n\r #/:<>?@[\\\]^|]/;
  const FORBIDDEN_DOMAIN = /[\0-\x20#%/:<>?@[\\\]^|\x7f]/;
  const FAILURE = null;

  // Punycode (RFC 3492) with its parameters for IDNA.
  const BASE = 36,
    T_MIN = 1,
    T_MAX = 26,
    SKEW = 38,
    DAMP = 700;
  const adaptBias = (delta, points, first) => {
    let value = first ? Math.floor(delta / DAMP) : delta >> 1;
    value += Math.floor(value / points);
    let k = 0;
    for (; value > ((BASE - T_MIN) * T_MAX) >> 1; k += BASE) value = Math.floor(value / (BASE - T_MIN));
    return k + Math.floor(((BASE - T_MIN + 1) * value) / (value + SKEW));
  };
  const threshold = (k, bias) => (k <= bias ? T_MIN : k >= bias + T_MAX ? T_MAX : k - bias);
  const digitChar = (digit) => String.fromCharCode(digit < 26 ? 0x61 + digit : 0x16 + digit);
  const digitValue = (code) => {
    if (code >= 0x30 && code <= 0x39) return code - 0x16;
    const lower = code | 0x20;
    return lower >= 0x61 && lower <= 0x7a ? lower - 0x61 : BASE;
  };

  const punycodeEncode = (label) => {
    const points = Array.from(label, (char) => char.codePointAt(0));
    let output = points
      .filter((point) => point < 0x80)
      .map((point) => String.fromCharCode(point))
      .join("");
    const basicCount = output.length;
    if (basicCount > 0) output += "-";
    let handled = basicCount,
      next = 0x80,
      delta = 0,
      bias = 72;
    while (handled < points.length) {
      const smallest = Math.min(...points.filter((point) => point >= next));
      delta += (smallest - next) * (handled + 1);
      next = smallest;
      for (const point of points) {
        if (point < next) delta++;
        if (point !== next) continue;
        let q = delta;
        for (let k = BASE; ; k += BASE) {
          const t = threshold(k, bias);
          if (q < t) break;
          output += digitChar(t + ((q - t) % (BASE - t)));
          q = Math.floor((q - t) / (BASE - t));
        }
        output += digitChar(q);
        bias = adaptBias(delta, handled + 1, handled === basicCount);
        delta = 0;
        handled++;
      }
      delta++;
      next++;
    }
    return output;
  };

  const punycodeDecode = (input) => {
    const basicEnd = Math.max(input.lastIndexOf("-"), 0);
    const points = [];
    for (let index = 0; index < basicEnd; index++) {
      if (input.charCodeAt(index) >= 0x80) return FAILURE;
      points.push(input.charCodeAt(index));
    }
    let next = 0x80,
      bias = 72,
      position = 0;
    for (let index = basicEnd > 0 ? basicEnd + 1 : 0; index < input.length;) {
      const oldPosition = position;
      for (let weight = 1, k = BASE; ; k += BASE) {
        if (index >= input.length) return FAILURE;
        const digit = digitValue(input.charCodeAt(index++));
        if (digit >= BASE) return FAILURE;
        position += digit * weight;
        const t = threshold(k, bias);
        if (digit < t) break;
        weight *= BASE - t;
        if (position > 0x7fffffff) return FAILURE;
      }
      bias = adaptBias(position - oldPosition, points.length + 1, oldPosition === 0);
      next += Math.floor(position / (points.length + 1));
      position %= points.length + 1;
      if (next > 0x10ffff) return FAILURE;
      points.splice(position++, 0, next);
    }
    return String.fromCodePoint(...points);
  };

  const isAscii = (string) => /^[\0-\x7f]*$/.test(string);
  // UTS #46 "ignored" code points and the dots it maps to U+002E.
  const IDNA_IGNORED = /[\xad\u034f\u180b-\u180d\u200b\u2060\ufe00-\ufe0f\ufeff]/g;
  const IDNA_DOTS = /[\u3002\uff0e\uff61]/g;

  // domain to ASCII: UTS #46 mapping approximated by NFKC + lower case (see docs/web-platform.md).
  const domainToASCII = (domain) => {
    const mapped = isAscii(domain)
      ? domain.toLowerCase()
      : domain
          .replace(IDNA_DOTS, ".")
          .replace(IDNA_IGNORED, "")
          .normalize("NFKC")
          .toLowerCase()
          .normalize("NFC");
    const labels = mapped.split(".");
    for (let index = 0; index < labels.length; index++) {
      const label = labels[index];
      if (label.startsWith("xn--")) {
        const decoded = punycodeDecode(label.slice(4));
        if (decoded === FAILURE || decoded === "" || isAscii(decoded)) return FAILURE;
      } else if (!isAscii(label)) {
        labels[index] = "xn--" + punycodeEncode(label);
      }
    }
    const result = labels.join(".");
    return result === "" || FORBIDDEN_DOMAIN.test(result) ? FAILURE : result;
  };

  // IPv4 number parser: decimal, 0x-prefixed hex or 0-prefixed octal; NaN on failure.
  const parseIPv4Number = (part) => {
    if (part === "") return NaN;
    let radix = 10;
    if (/^0[xX]/.test(part)) {
      radix = 16;
      part = part.slice(2);
    } else if (part.length > 1 && part[0] === "0") {
      radix = 8;
      part = part.slice(1);
    }
    if (part === "") return 0;
    const digits = radix === 16 ? /^[0-9a-fA-F]+$/ : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
    return digits.test(part) ? parseInt(part, radix) : NaN;
  };

  const endsInANumber = (domain) => {
    const parts = domain.split(".");
    if (parts[parts.length - 1] === "") {
      if (parts.length === 1) return false;
      parts.pop();
    }
    const last = parts[parts.length - 1];
    return /^[0-9]+$/.test(last) || !Number.isNaN(parseIPv4Number(last));
  };

  const parseIPv4 = (input) => {
    const parts = input.split(".");
    if (parts[parts.length - 1] === "" && parts.length > 1) parts.pop();
    if (parts.length > 4) return FAILURE;
    const numbers = parts.map(parseIPv4Number);
    if (numbers.some(Number.isNaN)) return FAILURE;
    const last = numbers.pop();
    if (numbers.some((number) => number > 255) || last >= 256 ** (4 - numbers.length)) return FAILURE;
    const address = numbers.reduce((sum, number, index) => sum + number * 256 ** (3 - index), last);
    return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join(".");
  };

  const parseIPv6 = (input) => {
    const pieces = [0, 0, 0, 0, 0, 0, 0, 0];
    let pieceIndex = 0;
    let compress = null;
    let pointer = 0;
    const at = (offset = 0) => input[pointer + offset];
    const hexAt = (offset = 0) =>
      pointer + offset < input.length ? hexValue(input.charCodeAt(pointer + offset)) : -1;
    if (at() === ":") {
      if (at(1) !== ":") return FAILURE;
      pointer += 2;
      compress = ++pieceIndex;
    }
    while (at() !== undefined) {
      if (pieceIndex === 8) return FAILURE;
      if (at() === ":") {
        if (compress !== null) return FAILURE;
        pointer++;
        compress = ++pieceIndex;
        continue;
      }
      let value = 0;
      let length = 0;
      while (length < 4 && hexAt() >= 0) {
        value = value * 16 + hexAt();
        pointer++;
        length++;
      }
      if (at() === ".") {
        if (length === 0) return FAILURE;
        pointer -= length;
        if (pieceIndex > 6) return FAILURE;
        let numbersSeen = 0;
        while (at() !== undefined) {
          let ipv4Piece = null;
          if (numbersSeen > 0) {
            if (at() !== "." || numbersSeen >= 4) return FAILURE;
            pointer++;
          }
          if (!/[0-9]/.test(at() ?? "")) return FAILURE;
          while (/[0-9]/.test(at() ?? "")) {
            const digit = Number(at());
            if (ipv4Piece === 0) return FAILURE;
            ipv4Piece = ipv4Piece === null ? digit : ipv4Piece * 10 + digit;
            if (ipv4Piece > 255) return FAILURE;
            pointer++;
          }
          pieces[pieceIndex] = pieces[pieceIndex] * 0x100 + ipv4Piece;
          numbersSeen++;
          if (numbersSeen === 2 || numbersSeen === 4) pieceIndex++;
        }
        if (numbersSeen !== 4) return FAILURE;
        break;
      } else if (at() === ":") {
        pointer++;
        if (at() === undefined) return FAILURE;
      } else if (at() !== undefined) {
        return FAILURE;
      }
      pieces[pieceIndex++] = value;
    }
    if (compress !== null) {
      let swaps = pieceIndex - compress;
      pieceIndex = 7;
      while (pieceIndex !== 0 && swaps > 0) {
        [pieces[pieceIndex], pieces[compress + swaps - 1]] = [
          pieces[compress + swaps - 1],
          pieces[pieceIndex],
        ];
        pieceIndex--;
        swaps--;
      }
    } else if (pieceIndex !== 8) {
      return FAILURE;
    }
    return serializeIPv6(pieces);
  };

  // Compresses the first longest run of two or more zero pieces to "::".
  const serializeIPv6 = (pieces) => {
    let bestStart = -1,
      bestLength = 1;
    for (let start = 0; start < 8;) {
      let end = start;
      while (end < 8 && pieces[end] === 0) end++;
      if (end - start > bestLength) [bestStart, bestLength] = [start, end - start];
      start = end === start ? start + 1 : end;
    }
    let output = "";
    for (let index = 0; index < 8; index++) {
      if (index === bestStart) {
        output += index === 0 ? "::" : ":";
        index += bestLength - 1;
        continue;
      }
      output += pieces[index].toString(16) + (index < 7 ? ":" : "");
    }
    return "[" + output + "]";
  };

  // host parser; returns the serialized host or FAILURE.
  const parseHost = (input, isOpaque) => {
    if (input.startsWith("[")) return input.endsWith("]") ? parseIPv6(input.slice(1, -1)) : FAILURE;
    if (isOpaque) return FORBIDDEN_HOST.test(input) ? FAILURE : percentEncode(input, C0_CONTROL_SET);
    const asciiDomain = domainToASCII(percentDecode(input));
    if (asciiDomain === FAILURE) return FAILURE;
    return endsInANumber(asciiDomain) ? parseIPv4(asciiDomain) : asciiDomain;
  };

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

  // The basic URL parser. With `stateOverride` it edits `record` in place (the setters' mode) and
  // returns it, or FAILURE when the value is rejected; without, it returns a new record or FAILURE.
  const basicParse = (input, base = null, record = null, stateOverride = 0) => {
    if (record === null) {
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

  // ---- The API classes ----------------------------------------------------------------------------

  const requireArguments = (given, needed, method) => {
    if (given < needed) {
      throw new TypeError(
        `Failed to execute '${method}': ${needed} argument(s) required, but only ${given} present.`,
      );
    }
  };

  // Lets URL reach into URLSearchParams' private state; assigned in its static block.
  let bindSearchParams;
  let replaceSearchParams;

  class URLSearchParams {
    #pairs = [];
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
          for (const key of Reflect.ownKeys(init)) {
            const descriptor = Reflect.getOwnPropertyDescriptor(init, key);
            if (descriptor !== undefined && descriptor.enumerable) {
              this.#pairs.push([toUSVString(key), toUSVString(init[key])]);
            }
          }
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

  const parseOrThrow = (url, base) => {
    let baseRecord = null;
    if (base !== undefined) {
      baseRecord = basicParse(toUSVString(base));
      if (baseRecord === FAILURE) throw new TypeError(`Invalid base URL: ${String(base)}`);
    }
    const record = basicParse(toUSVString(url), baseRecord);
    if (record === FAILURE) throw new TypeError(`Invalid URL: ${String(url)}`);
    return record;
  };

  class URL {
    #record;
    #searchParams;

    constructor(url, base = undefined) {
      requireArguments(arguments.length, 1, "URL");
      this.#record = parseOrThrow(url, base);
      this.#searchParams = new URLSearchParams();
      replaceSearchParams(this.#searchParams, this.#record.query);
      bindSearchParams(this.#searchParams, this.#record);
    }

    static canParse(url, base = undefined) {
      requireArguments(arguments.length, 1, "canParse");
      try {
        parseOrThrow(url, base);
        return true;
      } catch {
        return false;
      }
    }

    static parse(url, base = undefined) {
      requireArguments(arguments.length, 1, "parse");
      try {
        return new URL(url, base);
      } catch {
        return null;
      }
    }

    get href() {
      return serializeURL(this.#record);
    }

    set href(value) {
      const record = basicParse(toUSVString(value));
      if (record === FAILURE) throw new TypeError(`Invalid URL: ${String(value)}`);
      // In place, so the bound URLSearchParams keeps pointing at this URL's record.
      Object.assign(this.#record, record);
      replaceSearchParams(this.#searchParams, this.#record.query);
    }

    get origin() {
      return serializeOrigin(this.#record);
    }

    get protocol() {
      return this.#record.scheme + ":";
    }

    set protocol(value) {
      this.#editRecord(toUSVString(value) + ":", S.SCHEME_START);
    }

    get username() {
      return this.#record.username;
    }

    set username(value) {
      if (cannotHaveCredentialsOrPort(this.#record)) return;
      this.#record.username = percentEncode(toUSVString(value), USERINFO_SET);
    }

    get password() {
      return this.#record.password;
    }

    set password(value) {
      if (cannotHaveCredentialsOrPort(this.#record)) return;
      this.#record.password = percentEncode(toUSVString(value), USERINFO_SET);
    }

    get host() {
      const { host, port } = this.#record;
      if (host === null) return "";
      return port === null ? host : host + ":" + port;
    }

    set host(value) {
      if (hasOpaquePath(this.#record)) return;
      this.#editRecord(toUSVString(value), S.HOST);
    }

    get hostname() {
      return this.#record.host ?? "";
    }

    set hostname(value) {
      if (hasOpaquePath(this.#record)) return;
      this.#editRecord(toUSVString(value), S.HOSTNAME);
    }

    get port() {
      return this.#record.port === null ? "" : String(this.#record.port);
    }

    set port(value) {
      if (cannotHaveCredentialsOrPort(this.#record)) return;
      const input = toUSVString(value);
      if (input === "") this.#record.port = null;
      else this.#editRecord(input, S.PORT);
    }

    get pathname() {
      return serializePath(this.#record);
    }

    set pathname(value) {
      if (hasOpaquePath(this.#record)) return;
      this.#editRecord(toUSVString(value), S.PATH_START, { path: [] });
    }

    get search() {
      const query = this.#record.query;
      return query === null || query === "" ? "" : "?" + query;
    }

    set search(value) {
      const input = toUSVString(value);
      if (input === "") {
        this.#record.query = null;
        replaceSearchParams(this.#searchParams, null);
        return;
      }
      const query = input.startsWith("?") ? input.slice(1) : input;
      this.#editRecord(query, S.QUERY, { query: "" });
      replaceSearchParams(this.#searchParams, query);
    }

    get searchParams() {
      return this.#searchParams;
    }

    get hash() {
      const fragment = this.#record.fragment;
      return fragment === null || fragment === "" ? "" : "#" + fragment;
    }

    set hash(value) {
      const input = toUSVString(value);
      if (input === "") {
        this.#record.fragment = null;
        return;
      }
      const fragment = input.startsWith("#") ? input.slice(1) : input;
      this.#editRecord(fragment, S.FRAGMENT, { fragment: "" });
    }

    toString() {
      return this.href;
    }

    toJSON() {
      return this.href;
    }

    // Setters run the parser in place, as the standard does: a failure can leave earlier parts
    // applied (host "example.com:99999" still sets the hostname).
    #editRecord(input, stateOverride, changes = {}) {
      Object.assign(this.#record, changes);
      basicParse(input, null, this.#record, stateOverride);
    }
  }

  for (const [ctor, tag] of [
    [URL, "URL"],
    [URLSearchParams, "URLSearchParams"],
  ]) {
    Object.defineProperty(ctor.prototype, Symbol.toStringTag, { value: tag, configurable: true });
  }
  defineGlobal("URL", URL);
  defineGlobal("URLSearchParams", URLSearchParams);
})(globalThis);
