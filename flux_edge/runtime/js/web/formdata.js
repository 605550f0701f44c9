// FormData (XMLHttpRequest standard), its multipart/form-data encoding (HTML) for bodies, and the
// parsers behind `formData()` (Fetch: multipart/form-data and application/x-www-form-urlencoded).
// Reads blob.js's internals from __flux_blob and hands `encodeFormData` and `parseFormData` to
// body.js on `__flux_web`.
(function (global) {
  "use strict";

  const { TypeError, Object, Symbol, String, Uint8Array, Iterator, Math } = global;
  const { defineHidden, defineInterface, requireArguments, earlierGlobals, uncloneable } = global.__flux_webutil;
  const { blobBytes, isBlob, isFile, fileName, newFile, utf8Encode, utf8Decode } = global.__flux_blob;
  const webInternals = global.__flux_web;
  const earlierGlobal = earlierGlobals("URLSearchParams", "TextDecoder");
  const cryptoObject = global.crypto;
  const typeOf = Object.getOwnPropertyDescriptor(global.Blob.prototype, "type").get;
  const modifiedOf = Object.getOwnPropertyDescriptor(global.File.prototype, "lastModified").get;

  const toUSV = (value) => `${value}`.toWellFormed();
  const ITERATOR = Symbol("FormDataIterator");

  // The standard's "create an entry": a Blob that is not a File becomes a File named "blob", and a
  // filename makes a new File over the same bytes.
  const makeEntry = (name, value, filename, hasFilename) => {
    name = toUSV(name);
    if (!isBlob(value)) return [name, toUSV(value)];
    if (!hasFilename && isFile(value)) return [name, value];
    const fileNameValue = hasFilename ? toUSV(filename) : isFile(value) ? fileName(value) : "blob";
    const modified = isFile(value) ? modifiedOf.call(value) : undefined;
    return [name, newFile(blobBytes(value), fileNameValue, typeOf.call(value), modified)];
  };

  let entriesOf;

  class FormData {
    #entries = [];
    static {
      uncloneable.push((value) => value !== null && typeof value === "object" && #entries in value);
    }

    constructor(form = undefined, submitter = undefined) {
      if (form !== undefined) {
        throw new TypeError("Failed to construct 'FormData': there are no HTML forms in this runtime");
      }
      void submitter;
    }

    static {
      entriesOf = (formData) => formData.#entries;
    }

    append(name, value, filename = undefined) {
      requireArguments(arguments.length, 2, "append");
      if (arguments.length > 2 && !isBlob(value)) {
        throw new TypeError("Failed to execute 'append' on 'FormData': parameter 2 is not of type 'Blob'.");
      }
      this.#entries.push(makeEntry(name, value, filename, arguments.length > 2));
    }

    delete(name) {
      requireArguments(arguments.length, 1, "delete");
      const key = toUSV(name);
      this.#entries = this.#entries.filter((entry) => entry[0] !== key);
    }

    get(name) {
      requireArguments(arguments.length, 1, "get");
      const key = toUSV(name);
      const entry = this.#entries.find((item) => item[0] === key);
      return entry === undefined ? null : entry[1];
    }

    getAll(name) {
      requireArguments(arguments.length, 1, "getAll");
      const key = toUSV(name);
      return this.#entries.filter((entry) => entry[0] === key).map((entry) => entry[1]);
    }

    has(name) {
      requireArguments(arguments.length, 1, "has");
      const key = toUSV(name);
      return this.#entries.some((entry) => entry[0] === key);
    }

    set(name, value, filename = undefined) {
      requireArguments(arguments.length, 2, "set");
      if (arguments.length > 2 && !isBlob(value)) {
        throw new TypeError("Failed to execute 'set' on 'FormData': parameter 2 is not of type 'Blob'.");
      }
      const entry = makeEntry(name, value, filename, arguments.length > 2);
      const index = this.#entries.findIndex((item) => item[0] === entry[0]);
      if (index < 0) {
        this.#entries.push(entry);
        return;
      }
      this.#entries[index] = entry;
      this.#entries = this.#entries.filter((item, at) => at <= index || item[0] !== entry[0]);
    }

    forEach(callback, thisArg = undefined) {
      requireArguments(arguments.length, 1, "forEach");
      if (typeof callback !== "function") {
        throw new TypeError("Failed to execute 'forEach' on 'FormData': parameter 1 is not a function.");
      }
      for (let index = 0; index < this.#entries.length; index++) {
        const [name, value] = this.#entries[index];
        callback.call(thisArg, value, name, this);
      }
    }

    keys() {
      entriesOf(this);
      return new FormDataIterator(ITERATOR, this, "key");
    }

    values() {
      entriesOf(this);
      return new FormDataIterator(ITERATOR, this, "value");
    }

    entries() {
      entriesOf(this);
      return new FormDataIterator(ITERATOR, this, "key+value");
    }
  }

  // A WebIDL pair iterator: live, it reads the entry at its index on every step.
  class FormDataIterator extends Iterator {
    #target;
    #kind;
    #index = 0;

    constructor(token, target, kind) {
      if (token !== ITERATOR) throw new TypeError("Illegal constructor");
      super();
      this.#target = target;
      this.#kind = kind;
    }

    next() {
      const entries = entriesOf(this.#target);
      if (this.#index >= entries.length) return { value: undefined, done: true };
      const [name, value] = entries[this.#index++];
      if (this.#kind === "key") return { value: name, done: false };
      if (this.#kind === "value") return { value, done: false };
      return { value: [name, value], done: false };
    }
  }
  Object.defineProperty(FormDataIterator.prototype, Symbol.toStringTag, {
    value: "FormData Iterator",
    configurable: true,
  });
  Object.defineProperty(FormData.prototype, Symbol.iterator, {
    value: FormData.prototype.entries,
    writable: true,
    configurable: true,
  });
  for (const name of ["append", "delete", "get", "getAll", "has", "set", "forEach", "keys", "values", "entries"]) {
    Object.defineProperty(FormData.prototype, name, { enumerable: true });
  }

  // ---- multipart/form-data encoding (HTML) ----------------------------------------------------

  const randomHex = (count) => {
    const bytes = new Uint8Array(count);
    if (cryptoObject !== undefined) cryptoObject.getRandomValues(bytes);
    else for (let index = 0; index < count; index++) bytes[index] = Math.floor(Math.random() * 256);
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  };
  const toCRLF = (text) => text.replace(/\r\n|\r|\n/g, "\r\n");
  const escapeName = (text) => text.replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/"/g, "%22");

  // The body bytes and Content-Type of a FormData body.
  const encodeFormData = (formData) => {
    const boundary = "----formdata-flux-" + randomHex(12);
    const chunks = [];
    let length = 0;
    const push = (bytes) => {
      chunks.push(bytes);
      length += bytes.length;
    };
    for (const [name, value] of entriesOf(formData)) {
      let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(toCRLF(name))}"`;
      if (typeof value === "string") {
        push(utf8Encode(`${head}\r\n\r\n${toCRLF(value)}\r\n`));
        continue;
      }
      const type = typeOf.call(value) || "application/octet-stream";
      head += `; filename="${escapeName(fileName(value))}"\r\nContent-Type: ${type}\r\n\r\n`;
      push(utf8Encode(head));
      push(blobBytes(value));
      push(utf8Encode("\r\n"));
    }
    push(utf8Encode(`--${boundary}--\r\n`));
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    return { bytes, type: `multipart/form-data; boundary=${boundary}` };
  };

  // ---- formData() parsing (Fetch "package data", FormData) --------------------------------------

  // A MIME type's essence and parameters (MIME Sniffing "parse a MIME type", enough for bodies).
  const parseMimeType = (value) => {
    const [essence, ...rest] = value.split(";");
    const parameters = Object.create(null);
    for (const parameter of rest) {
      const equals = parameter.indexOf("=");
      if (equals < 0) continue;
      const key = parameter.slice(0, equals).trim().toLowerCase();
      let parameterValue = parameter.slice(equals + 1).trim();
      if (parameterValue.startsWith('"')) parameterValue = parameterValue.slice(1).replace(/"[^]*$/, "").replace(/\\(.)/g, "$1");
      if (!(key in parameters)) parameters[key] = parameterValue;
    }
    return { essence: essence.trim().toLowerCase(), parameters };
  };

  const indexOfBytes = (haystack, needle, from) => {
    const first = needle[0];
    const last = haystack.length - needle.length;
    for (let index = haystack.indexOf(first, from); index !== -1 && index <= last; index = haystack.indexOf(first, index + 1)) {
      let at = 1;
      while (at < needle.length && haystack[index + at] === needle[at]) at++;
      if (at === needle.length) return index;
    }
    return -1;
  };

  const malformed = () => new TypeError("Failed to parse the body as FormData: malformed multipart/form-data");
  const unescapeName = (text) => text.replace(/%0A/gi, "\n").replace(/%0D/gi, "\r").replace(/%22/g, '"');
  const dispositionParameter = (disposition, key) => {
    const match = new RegExp(`;\\s*${key}\\s*=\\s*(?:"([^"]*)"|([^;\\s]*))`, "i").exec(disposition);
    return match === null ? null : unescapeName(match[1] ?? match[2]);
  };

  const parseMultipart = (bytes, boundary) => {
    const formData = new FormData();
    const entries = entriesOf(formData);
    const delimiter = utf8Encode(`--${boundary}`);
    const CR = 0x0d;
    const LF = 0x0a;
    let position = indexOfBytes(bytes, delimiter, 0);
    if (position !== 0 && (position < 2 || bytes[position - 2] !== CR || bytes[position - 1] !== LF)) {
      throw malformed();
    }
    const next = utf8Encode(`\r\n--${boundary}`);
    for (;;) {
      position += delimiter.length;
      if (bytes[position] === 0x2d && bytes[position + 1] === 0x2d) return formData;
      while (bytes[position] === 0x20 || bytes[position] === 0x09) position++; // transport padding
      if (bytes[position] !== CR || bytes[position + 1] !== LF) throw malformed();
      position += 2;
      const headerEnd = indexOfBytes(bytes, utf8Encode("\r\n\r\n"), position);
      if (headerEnd < 0) throw malformed();
      const headerText = utf8Decode(bytes.subarray(position, headerEnd));
      let name = null;
      let filename = null;
      let contentType = null;
      for (const line of headerText.split("\r\n")) {
        const colon = line.indexOf(":");
        if (colon <= 0) continue;
        const field = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (field === "content-disposition") {
          if (!/^form-data\s*(;|$)/i.test(value)) throw malformed();
          name = dispositionParameter(value, "name");
          filename = dispositionParameter(value, "filename");
        } else if (field === "content-type") {
          contentType = value;
        }
      }
      if (name === null) throw malformed();
      const bodyStart = headerEnd + 4;
      const bodyEnd = indexOfBytes(bytes, next, bodyStart);
      if (bodyEnd < 0) throw malformed();
      const body = bytes.subarray(bodyStart, bodyEnd);
      if (filename === null) entries.push([name, utf8Decode(body)]);
      else entries.push([name, newFile(body, filename, contentType ?? "text/plain")]);
      position = bodyEnd + 2;
    }
  };

  // `bytes` as FormData, by the body's Content-Type (or a TypeError, as the standard says).
  const parseFormData = (bytes, contentType) => {
    const { essence, parameters } = parseMimeType(contentType ?? "");
    if (essence === "multipart/form-data") {
      const boundary = parameters.boundary;
      if (boundary === undefined || boundary === "") throw new TypeError("multipart/form-data without a boundary");
      return parseMultipart(bytes, boundary);
    }
    if (essence === "application/x-www-form-urlencoded") {
      const formData = new FormData();
      const entries = entriesOf(formData);
      // The urlencoded parser decodes UTF-8 without stripping a BOM: it is part of the first name.
      const text = new (earlierGlobal("TextDecoder"))("utf-8", { ignoreBOM: true }).decode(bytes);
      for (const [name, value] of new (earlierGlobal("URLSearchParams"))(text)) entries.push([name, value]);
      return formData;
    }
    throw new TypeError(`Cannot parse a body of type ${JSON.stringify(contentType ?? "")} as FormData`);
  };

  defineHidden(webInternals, "isFormData", (value) => {
    try {
      entriesOf(value);
      return true;
    } catch {
      return false;
    }
  });
  defineHidden(webInternals, "encodeFormData", encodeFormData);
  defineHidden(webInternals, "parseFormData", parseFormData);

  defineInterface("FormData", FormData);
})(globalThis);
