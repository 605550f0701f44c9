// FileReader and ProgressEvent (W3C File API, XHR's ProgressEvent). Loaded on first use (webapi.py
// LAZY_WEB_FILES): a function expression called with the global and a context captured at boot
// (EventTarget, Event, DOMException, TextDecoder, btoa and blob.js's internals). A blob's bytes are
// already in memory, so a read is one chunk: loadstart, progress (unless empty), load or error,
// loadend, each in its own task (setTimeout 0), as the standard's task queueing orders them.
(function (global, context) {
  "use strict";

  const { TypeError, Object, String, Math, Number } = global;
  const { EventTarget, Event, DOMException, TextDecoder, btoa, blob, webutil } = context;
  const { blobBytes, isBlob } = blob;
  const { defineInterface, requireArguments } = webutil;
  const setTimeoutOf = () => global.setTimeout;
  const typeOf = Object.getOwnPropertyDescriptor(global.Blob.prototype, "type").get;

  class ProgressEvent extends Event {
    #lengthComputable;
    #loaded;
    #total;

    constructor(type, init = undefined) {
      requireArguments(arguments.length, 1, "ProgressEvent");
      super(type, init);
      const options = init ?? {};
      this.#lengthComputable = Boolean(options.lengthComputable);
      this.#loaded = Math.trunc(Number(options.loaded ?? 0)) || 0;
      this.#total = Math.trunc(Number(options.total ?? 0)) || 0;
    }

    get lengthComputable() {
      return this.#lengthComputable;
    }

    get loaded() {
      return this.#loaded;
    }

    get total() {
      return this.#total;
    }
  }

  const EMPTY = 0;
  const LOADING = 1;
  const DONE = 2;
  const HANDLERS = ["loadstart", "progress", "load", "abort", "error", "loadend"];

  // readAsText's decoding: a BOM wins, then the label if it names a supported encoding, then the
  // blob type's charset, then UTF-8.
  const decodeText = (bytes, label, type) => {
    const charset = /;\s*charset=("?)([^";]*)\1/i.exec(type)?.[2];
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return new TextDecoder().decode(bytes);
    const bomLabel = bytes[0] === 0xfe && bytes[1] === 0xff ? "utf-16be" : bytes[0] === 0xff && bytes[1] === 0xfe ? "utf-16le" : null;
    for (const candidate of [bomLabel, label, charset]) {
      if (candidate === null || candidate === undefined) continue;
      try {
        return new TextDecoder(candidate).decode(bytes);
      } catch {
        // An unknown or unsupported label falls back to UTF-8, as the standard says.
      }
    }
    return new TextDecoder().decode(bytes);
  };

  const binaryString = (bytes) => {
    const parts = [];
    for (let index = 0; index < bytes.length; index += 8192) {
      parts.push(String.fromCharCode.apply(null, bytes.subarray(index, index + 8192)));
    }
    return parts.join("");
  };

  const packageData = (bytes, kind, label, type) => {
    if (kind === "arraybuffer") return bytes.slice().buffer;
    if (kind === "binarystring") return binaryString(bytes);
    if (kind === "text") return decodeText(bytes, label, type);
    return `data:${type === "" ? "application/octet-stream" : type};base64,${btoa(binaryString(bytes))}`;
  };

  class FileReader extends EventTarget {
    #state = EMPTY;
    #result = null;
    #error = null;
    #handlers = Object.create(null);
    // Each read or abort starts a new generation; tasks of an older one do nothing.
    #generation = 0;

    get readyState() {
      return this.#state;
    }

    get result() {
      return this.#result;
    }

    get error() {
      return this.#error;
    }

    readAsArrayBuffer(blob) {
      requireArguments(arguments.length, 1, "readAsArrayBuffer");
      this.#read(blob, "arraybuffer");
    }

    readAsBinaryString(blob) {
      requireArguments(arguments.length, 1, "readAsBinaryString");
      this.#read(blob, "binarystring");
    }

    readAsText(blob, encoding = undefined) {
      requireArguments(arguments.length, 1, "readAsText");
      this.#read(blob, "text", encoding === undefined ? undefined : String(encoding));
    }

    readAsDataURL(blob) {
      requireArguments(arguments.length, 1, "readAsDataURL");
      this.#read(blob, "dataurl");
    }

    abort() {
      if (this.#state === EMPTY || this.#state === DONE) {
        this.#result = null;
        return;
      }
      this.#state = DONE;
      this.#result = null;
      this.#generation++;
      this.#fire("abort");
      if (this.#state !== LOADING) this.#fire("loadend");
    }

    #read(blob, kind, label = undefined) {
      if (!isBlob(blob)) throw new TypeError("FileReader: parameter 1 is not of type 'Blob'.");
      if (this.#state === LOADING) {
        throw new DOMException("The object is already busy reading Blobs.", "InvalidStateError");
      }
      this.#state = LOADING;
      this.#result = null;
      this.#error = null;
      const generation = ++this.#generation;
      const bytes = blobBytes(blob);
      const type = typeOf.call(blob);
      const total = bytes.length;
      const steps = [() => this.#fire("loadstart", 0, total)];
      if (total > 0) steps.push(() => this.#fire("progress", total, total));
      // loadend goes in a task of its own: our listeners run inside one script, with no microtask
      // checkpoint between them, so code awaiting "load" could otherwise not see "loadend" coming.
      let loadend = false;
      steps.push(() => {
        this.#state = DONE;
        let failed = false;
        try {
          this.#result = packageData(bytes, kind, label, type);
        } catch (error) {
          this.#error = error;
          failed = true;
        }
        this.#fire(failed ? "error" : "load", total, total);
        loadend = this.#state !== LOADING;
      });
      steps.push(() => {
        if (loadend) this.#fire("loadend", total, total);
      });
      const schedule = setTimeoutOf();
      const run = (index) => {
        schedule(() => {
          if (generation !== this.#generation && index < steps.length - 1) return;
          steps[index]();
          if (index + 1 < steps.length) run(index + 1);
        }, 0);
      };
      run(0);
    }

    #fire(type, loaded = 0, total = 0) {
      this.dispatchEvent(new ProgressEvent(type, { lengthComputable: true, loaded, total }));
    }

    static {
      // The event handler IDL attributes (onload, ...): one listener each, added when first set.
      for (const name of HANDLERS) {
        Object.defineProperty(FileReader.prototype, "on" + name, {
          get() {
            return this.#handlers[name]?.handler ?? null;
          },
          set(value) {
            const handler = typeof value === "function" || (value !== null && typeof value === "object") ? value : null;
            const slot = this.#handlers[name];
            if (slot !== undefined) {
              slot.handler = handler;
              return;
            }
            if (handler === null) return;
            const entry = { handler };
            this.#handlers[name] = entry;
            this.addEventListener(name, (event) => {
              if (typeof entry.handler === "function") entry.handler.call(this, event);
            });
          },
          enumerable: true,
          configurable: true,
        });
      }
    }
  }

  for (const [name, value] of [["EMPTY", EMPTY], ["LOADING", LOADING], ["DONE", DONE]]) {
    const constant = { value, writable: false, enumerable: true, configurable: false };
    Object.defineProperty(FileReader, name, constant);
    Object.defineProperty(FileReader.prototype, name, constant);
  }

  defineInterface("ProgressEvent", ProgressEvent);
  defineInterface("FileReader", FileReader);
  return { FileReader, ProgressEvent };
});
