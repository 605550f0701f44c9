// Blob and File (W3C File API). A blob holds its bytes as one Uint8Array that is never written after
// construction, so slices, clones and bodies made from it can share it. Hands `blobBytes`, `isBlob`
// and `newFile` to formdata.js and body.js on the internal global __flux_blob (body.js deletes it),
// and registers how structuredClone copies a blob (webutil's `cloneHooks`).
(function (global) {
  "use strict";

  const { Uint8Array, TypeError, Object, Symbol, Math, Number, Date, Promise } = global;
  const { defineGlobal, defineInterface, bufferSourceBytes, earlierGlobals, cloneHooks } = global.__flux_webutil;
  const streamsHooks = global.__flux_streams; // Blob.stream() (streams_lazy.js; body.js deletes it)
  const earlierGlobal = earlierGlobals("TextEncoder", "TextDecoder");

  let encoder;
  let decoder;
  const utf8Encode = (text) => (encoder ??= new (earlierGlobal("TextEncoder"))()).encode(text);
  const utf8Decode = (bytes) => (decoder ??= new (earlierGlobal("TextDecoder"))()).decode(bytes);

  const INTERNAL = Symbol("BlobInternal");
  const EMPTY = new Uint8Array(0);

  const concat = (chunks) => {
    if (chunks.length === 0) return EMPTY;
    if (chunks.length === 1) return chunks[0];
    let length = 0;
    for (const chunk of chunks) length += chunk.length;
    const out = new Uint8Array(length);
    let offset = 0;
    for (const chunk of chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  };

  // The File API: a type with a character outside U+0020..U+007E is the empty string; else lower case.
  const normalizeType = (type) => (/^[\x20-\x7e]*$/.test(type) ? type.toLowerCase() : "");

  const isObject = (value) => value !== null && (typeof value === "object" || typeof value === "function");

  // WebIDL sequence<BlobPart>: each part converted as it is iterated (Blob, BufferSource or
  // USVString, in that order of preference). The bytes of buffers are copied now.
  const convertParts = (parts, what) => {
    if (parts === undefined) return [];
    if (!isObject(parts)) throw new TypeError(`Failed to construct '${what}': blobParts must be a sequence`);
    const iteratorMethod = parts[Symbol.iterator];
    if (typeof iteratorMethod !== "function") {
      throw new TypeError(`Failed to construct '${what}': blobParts must be a sequence`);
    }
    const items = [];
    for (const part of { [Symbol.iterator]: () => iteratorMethod.call(parts) }) {
      if (isBlob(part)) {
        items.push(blobBytes(part));
        continue;
      }
      const bytes = isObject(part) ? bufferSourceBytes(part) : undefined;
      items.push(bytes !== undefined ? bytes.slice() : `${part}`);
    }
    return items;
  };

  // BlobPropertyBag: `endings` then `type` (dictionary members are read in lexicographic order).
  const readBlobOptions = (options, what) => {
    if (options === undefined || options === null) return { endings: "transparent", type: "" };
    if (!isObject(options)) throw new TypeError(`Failed to construct '${what}': options must be an object`);
    const endingsValue = options.endings;
    const endings = endingsValue === undefined ? "transparent" : `${endingsValue}`;
    if (endings !== "transparent" && endings !== "native") {
      throw new TypeError(`Failed to construct '${what}': endings must be "transparent" or "native"`);
    }
    const typeValue = options.type;
    return { endings, type: typeValue === undefined ? "" : `${typeValue}` };
  };

  // Strings become UTF-8; with endings "native", their line breaks become "\n" (the native ending here).
  const partsToBytes = (items, endings) =>
    concat(
      items.map((item) => {
        if (typeof item !== "string") return item;
        return utf8Encode(endings === "native" ? item.replace(/\r\n?/g, "\n") : item);
      }),
    );

  // WebIDL [Clamp] long long: NaN is 0, then round half to even.
  const clampLongLong = (value) => {
    const number = Number(value);
    if (Number.isNaN(number)) return 0;
    const floor = Math.floor(number);
    const rest = number - floor;
    if (rest < 0.5) return floor;
    if (rest > 0.5) return floor + 1;
    return floor % 2 === 0 ? floor : floor + 1;
  };

  let blobBytes;
  let isBlob;

  class Blob {
    #bytes;
    #type;

    constructor(blobParts = undefined, options = undefined) {
      if (blobParts === INTERNAL) {
        this.#bytes = options.bytes;
        this.#type = options.type;
        return;
      }
      const items = convertParts(blobParts, "Blob");
      const { endings, type } = readBlobOptions(options, "Blob");
      this.#bytes = partsToBytes(items, endings);
      this.#type = normalizeType(type);
    }

    static {
      blobBytes = (blob) => blob.#bytes;
      isBlob = (value) => isObject(value) && #bytes in value;
    }

    get size() {
      return this.#bytes.length;
    }

    get type() {
      return this.#type;
    }

    slice(start = undefined, end = undefined, contentType = undefined) {
      const size = this.#bytes.length;
      const relative = (value, fallback) => {
        if (value === undefined) return fallback;
        const n = clampLongLong(value);
        return n < 0 ? Math.max(size + n, 0) : Math.min(n, size);
      };
      const from = relative(start, 0);
      const to = Math.max(relative(end, size), from);
      const type = contentType === undefined ? "" : normalizeType(`${contentType}`);
      return new Blob(INTERNAL, { bytes: this.#bytes.subarray(from, to), type });
    }

    text() {
      const bytes = this.#bytes;
      return Promise.resolve().then(() => utf8Decode(bytes));
    }

    arrayBuffer() {
      const bytes = this.#bytes;
      return Promise.resolve().then(() => bytes.slice().buffer);
    }

    bytes() {
      const bytes = this.#bytes;
      return Promise.resolve().then(() => bytes.slice());
    }

    stream() {
      return streamsHooks.load().streamFromBytes(this.#bytes).object;
    }
  }

  class File extends Blob {
    #name;
    #lastModified;

    constructor(fileBits, fileName, options = undefined) {
      if (arguments.length < 2) {
        throw new TypeError(
          `Failed to construct 'File': 2 arguments required, but only ${arguments.length} present.`,
        );
      }
      if (fileBits === INTERNAL) {
        super(INTERNAL, options);
        this.#name = options.name;
        this.#lastModified = options.lastModified;
        return;
      }
      const items = convertParts(fileBits, "File");
      const name = `${fileName}`.toWellFormed();
      const { endings, type } = readBlobOptions(options, "File");
      const modified = options === undefined || options === null ? undefined : options.lastModified;
      const lastModified = modified === undefined ? Date.now() : Math.trunc(Number(modified)) || 0;
      super(INTERNAL, { bytes: partsToBytes(items, endings), type: normalizeType(type) });
      this.#name = name;
      this.#lastModified = lastModified;
    }

    get name() {
      return this.#name;
    }

    get lastModified() {
      return this.#lastModified;
    }
  }

  // Brand checks and reads through the prototypes' own getters, which user code cannot replace.
  const getterOf = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
  const nameGetter = getterOf(File.prototype, "name");
  const modifiedGetter = getterOf(File.prototype, "lastModified");
  const typeGetter = getterOf(Blob.prototype, "type");
  const fileName = (value) => {
    try {
      return nameGetter.call(value);
    } catch {
      return null;
    }
  };
  const isFile = (value) => isBlob(value) && fileName(value) !== null;

  // A File over existing bytes (FormData entries, multipart parsing); nothing is copied.
  const newFile = (bytes, name, type, lastModified = Date.now()) =>
    new File(INTERNAL, "", { bytes, type: normalizeType(type), name, lastModified });
  const newBlob = (bytes, type) => new Blob(INTERNAL, { bytes, type: normalizeType(type) });

  // structuredClone: a blob's bytes never change, so the copy shares them.
  cloneHooks.push((value) => {
    if (!isBlob(value)) return undefined;
    const bytes = blobBytes(value);
    const type = typeGetter.call(value);
    return isFile(value) ? newFile(bytes, fileName(value), type, modifiedGetter.call(value)) : newBlob(bytes, type);
  });

  defineInterface("Blob", Blob);
  defineInterface("File", File);
  defineGlobal(
    "__flux_blob",
    Object.freeze({ blobBytes, isBlob, isFile, fileName, newFile, newBlob, utf8Encode, utf8Decode }),
  );
})(globalThis);
