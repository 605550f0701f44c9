// Hosts for the URL parser (WHATWG URL Standard, "Hosts"): domain to ASCII with Punycode and an
// approximation of UTS #46 (IDNA), IPv4 in every numeric form, IPv6, and their serializations.
// Reads the percent-encoding helpers from __flux_url and adds `parseHost` to it for url_parser.js.
(function (global) {
  "use strict";

  const internals = global.__flux_url;
  const { percentEncode, percentDecode, hexValue, C0_CONTROL_SET } = internals;

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

  internals.parseHost = parseHost;
})(globalThis);
