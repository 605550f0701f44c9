// IDNA for URL hosts (WHATWG URL Standard, "domain to ASCII" with beStrict false): UTS #46
// processing (non-transitional, CheckBidi, CheckJoiners, no STD3 rules, no DNS length check) and
// Punycode (RFC 3492). The tables come from webdata.py: `__flux_idna_data` is a function giving
// them as JSON, called when the first host that needs them arrives (non-ASCII, or an "xn--" label); plain ASCII
// hosts never touch them. Adds `domainToASCII` to __flux_url for url_host.js.
(function (global) {
  "use strict";

  const internals = global.__flux_url;
  const source = global.__flux_idna_data;
  delete global.__flux_idna_data;
  const { Int32Array, Uint8Array, String, Object, TypeError } = global;
  const parseJson = global.JSON.parse;
  const FAILURE = null;
  const FORBIDDEN_DOMAIN = /[\0-\x20#%/:<>?@[\\\]^|\x7f]/;

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


  // ---- Tables -------------------------------------------------------------------------------------

  let tables = null;

  // "<start delta, base 36><kind letter>[<offset, base 36>]" tokens to sorted starts, the kinds
  // (char codes) and the payloads (O: the offset; M: the index of the mapping string).
  const parseRanges = (text) => {
    const tokens = text.split(",");
    const starts = new Int32Array(tokens.length);
    const kinds = new Uint8Array(tokens.length);
    const payloads = new Int32Array(tokens.length);
    let start = 0;
    let mapping = 0;
    for (let index = 0; index < tokens.length; index++) {
      const token = tokens[index];
      let at = 1; // the kind is the first upper-case letter after the delta
      while (token.charCodeAt(at) > 0x5a || token.charCodeAt(at) < 0x41) at++;
      start += parseInt(token.slice(0, at), 36);
      starts[index] = start;
      const kind = token.charCodeAt(at);
      kinds[index] = kind;
      if (kind === 0x4f) payloads[index] = parseInt(token.slice(at + 1), 36); // O
      else if (kind === 0x4d) payloads[index] = mapping++; // M
    }
    return { starts, kinds, payloads };
  };

  // Joining types as one sorted range list: starts, (inclusive) ends and the type's char code.
  const parseJoining = (joining) => {
    const ranges = [];
    for (const kind of Object.keys(joining)) for (const [first, last] of joining[kind]) ranges.push([first, last, kind]);
    ranges.sort((a, b) => a[0] - b[0]);
    return {
      starts: Int32Array.from(ranges, (range) => range[0]),
      ends: Int32Array.from(ranges, (range) => range[1]),
      kinds: ranges.map((range) => range[2]),
    };
  };

  const loadTables = () => {
    if (tables !== null) return tables;
    if (source === undefined) throw new TypeError("IDNA tables are not available in this isolate");
    const data = parseJson(source());
    tables = {
      uts46: parseRanges(data.table),
      mappings: data.mappings,
      bidi: parseRanges(data.bidi),
      joining: parseJoining(data.joining),
      viramas: new Set(data.viramas),
    };
    return tables;
  };

  // The index of the last range starting at or before `point` (-1 if none).
  const rangeIndex = (starts, point) => {
    let low = -1;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (starts[middle] <= point) low = middle;
      else high = middle - 1;
    }
    return low;
  };

  const KIND = { V: 0x56, I: 0x49, X: 0x58, M: 0x4d, O: 0x4f };
  const uts46Index = (point) => rangeIndex(tables.uts46.starts, point);
  const bidiOf = (point) => String.fromCharCode(tables.bidi.kinds[rangeIndex(tables.bidi.starts, point)]);
  const joiningOf = (point) => {
    const { starts, ends, kinds } = tables.joining;
    const index = rangeIndex(starts, point);
    return index >= 0 && point <= ends[index] ? kinds[index] : undefined;
  };

  // ---- UTS #46 processing -------------------------------------------------------------------------

  const isAscii = (string) => /^[\0-\x7f]*$/.test(string);
  const LEADING_MARK = /^\p{M}/u;

  // RFC 5892 appendix A.1 and A.2 (CheckJoiners).
  const joinersValid = (points) => {
    for (let index = 0; index < points.length; index++) {
      const point = points[index];
      if (point !== 0x200c && point !== 0x200d) continue;
      if (index > 0 && tables.viramas.has(points[index - 1])) continue;
      if (point === 0x200d) return false;
      const type = (at) => joiningOf(points[at]);
      let before = index - 1;
      while (before >= 0 && type(before) === "T") before--;
      let after = index + 1;
      while (after < points.length && type(after) === "T") after++;
      const left = before >= 0 ? type(before) : undefined;
      const right = after < points.length ? type(after) : undefined;
      if (!(left === "L" || left === "D") || !(right === "R" || right === "D")) return false;
    }
    return true;
  };

  // RFC 5893 section 2 (CheckBidi), for a label of a domain that has right-to-left labels.
  const RTL_ALLOWED = /^[RANESCTOBM]*$/;
  const LTR_ALLOWED = /^[LESCTOBM]*$/;
  const bidiValid = (classes) => {
    if (classes === "") return true;
    const first = classes[0];
    const end = classes.replace(/M+$/, "").at(-1);
    if (first === "R" || first === "A") {
      return RTL_ALLOWED.test(classes) && /[RAEN]/.test(end ?? "") && !(classes.includes("E") && classes.includes("N"));
    }
    return first === "L" && LTR_ALLOWED.test(classes) && (end === "L" || end === "E");
  };

  // A label's validity criteria (UTS #46 section 4.1), the mapping step already done.
  const labelValid = (label, points, decoded) => {
    if (decoded && (label.normalize("NFC") !== label || label.startsWith("xn--") || label.includes("."))) {
      return false;
    }
    if (LEADING_MARK.test(label)) return false;
    for (const point of points) if (tables.uts46.kinds[uts46Index(point)] !== KIND.V) return false;
    return joinersValid(points);
  };

  // UTS #46 ToASCII with the URL Standard's flags; FAILURE on any error.
  const uts46ToASCII = (domain) => {
    loadTables();
    let mapped = "";
    let failed = false;
    for (const char of domain) {
      const point = char.codePointAt(0);
      const index = uts46Index(point);
      const kind = tables.uts46.kinds[index];
      const payload = tables.uts46.payloads[index];
      if (kind === KIND.V) mapped += char;
      else if (kind === KIND.O) mapped += String.fromCodePoint(point + payload);
      else if (kind === KIND.M) mapped += tables.mappings[payload];
      else if (kind === KIND.X) {
        failed = true;
        mapped += char;
      }
    }
    if (failed) return FAILURE;
    const labels = mapped.normalize("NFC").split(".");
    const unicodeLabels = [];
    for (const label of labels) {
      let unicode = label;
      let decoded = false;
      if (label.startsWith("xn--")) {
        if (!isAscii(label)) return FAILURE;
        unicode = punycodeDecode(label.slice(4));
        if (unicode === FAILURE || unicode === "" || isAscii(unicode)) return FAILURE;
        decoded = true;
      }
      if (unicode !== "" && !labelValid(unicode, Array.from(unicode, (c) => c.codePointAt(0)), decoded)) return FAILURE;
      unicodeLabels.push(unicode);
    }
    const classes = unicodeLabels.map((label) => Array.from(label, (c) => bidiOf(c.codePointAt(0))).join(""));
    if (classes.some((label) => /[RAN]/.test(label)) && !classes.every(bidiValid)) return FAILURE;
    return unicodeLabels.map((label) => (isAscii(label) ? label : "xn--" + punycodeEncode(label))).join(".");
  };

  // "domain to ASCII" (beStrict false), then the host parser's forbidden domain code point check.
  const domainToASCII = (domain) => {
    let result = isAscii(domain) ? domain.toLowerCase() : null;
    if (result === null || /(^|\.)xn--/.test(result)) result = uts46ToASCII(domain);
    return result === FAILURE || result === "" || FORBIDDEN_DOMAIN.test(result) ? FAILURE : result;
  };

  internals.domainToASCII = domainToASCII;
})(globalThis);
