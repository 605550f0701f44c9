// Hosts for the URL parser (WHATWG URL Standard, "Hosts"): IPv4 in every numeric form, IPv6,
// opaque hosts and their serializations; domains go to ASCII through url_idna.js. Reads the
// percent-encoding helpers and `domainToASCII` from __flux_url and adds `parseHost` to it.
(function (global) {
  "use strict";

  const internals = global.__flux_url;
  const { percentEncode, percentDecode, hexValue, C0_CONTROL_SET } = internals;

  // ---- Hosts --------------------------------------------------------------------------------------

  const FORBIDDEN_HOST = /[\0\t\n\r #/:<>?@[\\\]^|]/;
  const FAILURE = null;

  const { domainToASCII } = internals;

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
