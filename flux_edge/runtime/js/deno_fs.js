// Deno's file API (the asynchronous part) over hostCall("fs.*"): files live in the function's own
// directory, which Python enforces (see capabilities/files.py), as it re-checks allow_read and
// allow_write. The checks here only give a quick, clear error. The *Sync variants cannot exist
// (a host operation is always asynchronous): they throw NotSupported saying so.
(function (g) {
  "use strict";
  const host = g.__flux_host;
  const deno = g.Deno;
  const { Uint8Array, ArrayBuffer, Object, String, Error, TypeError, Date, Promise, Symbol } = g;
  const toBase64 = Uint8Array.prototype.toBase64;
  const fromBase64 = Uint8Array.fromBase64;
  const permissions = host.permissions;
  const encoder = new g.TextEncoder();
  const PermissionDenied = host.PermissionDenied;
  const NotFound = host.NotFound;

  // The Deno error classes file operations reject with (core.js defines two of them).
  const errors = deno.errors;
  for (const name of ["AlreadyExists", "IsADirectory", "NotADirectory", "NotSupported", "QuotaExceeded"]) {
    if (typeof errors[name] !== "function") {
      errors[name] = { [name]: class extends Error {
        constructor(message) {
          super(message);
          this.name = name;
        }
      } }[name];
    }
  }
  const classes = { ...errors, PermissionDenied, NotFound };

  // Python's errors arrive as Error objects named after the class: rebuild them as that class.
  function fromHost(error) {
    if (error && typeof error.name === "string" && error.constructor === Error) {
      const Class = Object.prototype.hasOwnProperty.call(classes, error.name) ? classes[error.name] : null;
      if (typeof Class === "function") return new Class(error.message);
    }
    return error;
  }

  function pathString(path, what) {
    if (typeof g.URL === "function" && path instanceof g.URL) {
      if (path.protocol !== "file:") throw new TypeError(`${what}: only file: URLs name files`);
      return decodeURIComponent(path.pathname);
    }
    if (typeof path !== "string") throw new TypeError(`${what}: the path must be a string or a file: URL`);
    return path;
  }

  function requirePermission(flag, access, path) {
    if (permissions && !permissions[flag]) {
      throw new PermissionDenied(
        `Requires ${access} access to "${path}": allow_${access} is false for this function ` +
          "(set it with the management API)",
      );
    }
  }

  // One file operation: argument and permission errors reject the promise, like Deno's.
  function op(kind, flag, access, rawPath, extra) {
    const callId = host.owner();
    let path;
    try {
      path = pathString(rawPath, kind.slice(3));
      requirePermission(flag, access, path);
    } catch (error) {
      return Promise.reject(error);
    }
    return host.hostCall(kind, { path, ...extra }, callId).catch((error) => {
      throw fromHost(error);
    });
  }

  function bytesOf(data, what) {
    if (data instanceof Uint8Array) return data;
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    throw new TypeError(`${what}: data must be a Uint8Array`);
  }

  function writeOptions(options) {
    const o = options === undefined || options === null ? {} : options;
    return {
      append: Boolean(o.append),
      create: o.create === undefined ? true : Boolean(o.create),
      createNew: Boolean(o.createNew),
    };
  }

  function toFileInfo(info) {
    return {
      isFile: info.isFile,
      isDirectory: info.isDirectory,
      isSymlink: info.isSymlink,
      size: info.size,
      mtime: new Date(info.mtime),
      atime: new Date(info.atime),
      birthtime: null,
      mode: info.mode,
    };
  }

  const api = {
    readTextFile(path) {
      return op("fs.readTextFile", "read", "read", path, {});
    },
    readFile(path) {
      return op("fs.readFile", "read", "read", path, {}).then((answer) => fromBase64(answer.base64));
    },
    writeFile(path, data, options) {
      let bytes;
      try {
        bytes = bytesOf(data, "writeFile");
      } catch (error) {
        return Promise.reject(error);
      }
      return op("fs.writeFile", "write", "write", path, { base64: toBase64.call(bytes), ...writeOptions(options) })
        .then(() => undefined);
    },
    writeTextFile(path, text, options) {
      const bytes = encoder.encode(String(text));
      return op("fs.writeFile", "write", "write", path, { base64: toBase64.call(bytes), ...writeOptions(options) })
        .then(() => undefined);
    },
    readDir(path) {
      const pending = op("fs.readDir", "read", "read", path, {});
      pending.catch(() => {}); // not an unhandled rejection if never iterated
      // Deno.readDir returns an async iterable; errors surface on the first iteration.
      return {
        async *[Symbol.asyncIterator]() {
          for (const entry of await pending) yield entry;
        },
      };
    },
    stat(path) {
      return op("fs.stat", "read", "read", path, {}).then(toFileInfo);
    },
    mkdir(path, options) {
      const recursive = Boolean(options && options.recursive);
      return op("fs.mkdir", "write", "write", path, { recursive }).then(() => undefined);
    },
    remove(path, options) {
      const recursive = Boolean(options && options.recursive);
      return op("fs.remove", "write", "write", path, { recursive }).then(() => undefined);
    },
  };

  for (const [name, fn] of Object.entries(api)) {
    Object.defineProperty(deno, name, { value: fn, writable: true, configurable: true, enumerable: true });
    const syncName = `${name}Sync`;
    Object.defineProperty(deno, syncName, {
      value: () => {
        throw new errors.NotSupported(
          `Deno.${syncName} is not supported by flux-edge (file operations are asynchronous): ` +
            `use await Deno.${name}(...)`,
        );
      },
      writable: true,
      configurable: true,
      enumerable: true,
    });
  }
})(globalThis);
