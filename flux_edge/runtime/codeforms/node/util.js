// node:util, the part edge code uses: format/inspect, promisify/callbackify, inherits, deprecate,
// types, isDeepStrictEqual, TextEncoder/TextDecoder.
export function inspect(value, options) {
  const depth = options?.depth ?? 2;
  const seen = new Set();
  const show = (v, level) => {
    if (typeof v === "string") return level === 0 ? v : JSON.stringify(v);
    if (typeof v === "bigint") return `${v}n`;
    if (typeof v === "function") return `[Function: ${v.name || "(anonymous)"}]`;
    if (typeof v === "symbol") return v.toString();
    if (v === null || typeof v !== "object") return String(v);
    if (v instanceof Error) return v.stack || `${v.name}: ${v.message}`;
    if (v instanceof Date) return v.toISOString();
    if (v instanceof RegExp) return String(v);
    if (seen.has(v)) return "[Circular *1]";
    if (level > depth) return Array.isArray(v) ? "[Array]" : "[Object]";
    seen.add(v);
    let out;
    if (Array.isArray(v)) out = `[ ${v.map((x) => show(x, level + 1)).join(", ")} ]`;
    else if (v instanceof Map) out = `Map(${v.size}) { ${[...v].map(([k, x]) => `${show(k, level + 1)} => ${show(x, level + 1)}`).join(", ")} }`;
    else if (v instanceof Set) out = `Set(${v.size}) { ${[...v].map((x) => show(x, level + 1)).join(", ")} }`;
    else {
      const keys = Object.keys(v);
      const body = keys.map((k) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${show(v[k], level + 1)}`);
      out = keys.length ? `{ ${body.join(", ")} }` : "{}";
    }
    seen.delete(v);
    return out;
  };
  return show(value, 1);
}
inspect.custom = Symbol.for("nodejs.util.inspect.custom");

export function format(first, ...args) {
  if (typeof first !== "string") return [first, ...args].map((v) => inspect(v)).join(" ");
  let i = 0;
  let out = first.replace(/%[sdifjoO%c]/g, (token) => {
    if (token === "%%") return "%";
    if (i >= args.length) return token;
    const value = args[i++];
    switch (token) {
      case "%s": return typeof value === "string" ? value : inspect(value, { depth: 0 });
      case "%d": return typeof value === "bigint" ? `${value}n` : String(Number(value));
      case "%i": return String(parseInt(value, 10));
      case "%f": return String(parseFloat(value));
      case "%j": try { return JSON.stringify(value); } catch { return "[Circular]"; }
      case "%c": return "";
      default: return inspect(value);
    }
  });
  for (; i < args.length; i++) out += " " + (typeof args[i] === "string" ? args[i] : inspect(args[i]));
  return out;
}

const kCustomPromisify = Symbol.for("nodejs.util.promisify.custom");
export function promisify(original) {
  if (typeof original !== "function") throw new TypeError('The "original" argument must be a function');
  if (original[kCustomPromisify]) return original[kCustomPromisify];
  return function (...args) {
    return new Promise((resolve, reject) => {
      Reflect.apply(original, this, [...args, (error, value) => (error ? reject(error) : resolve(value))]);
    });
  };
}
promisify.custom = kCustomPromisify;

export function callbackify(original) {
  return function (...args) {
    const callback = args.pop();
    Reflect.apply(original, this, args).then((value) => callback(null, value), (error) => callback(error));
  };
}

export function inherits(constructor, superConstructor) {
  Object.defineProperty(constructor, "super_", { value: superConstructor, writable: true, configurable: true });
  Object.setPrototypeOf(constructor.prototype, superConstructor.prototype);
}

export function deprecate(fn, message) {
  let warned = false;
  return function (...args) {
    if (!warned) {
      warned = true;
      console.warn(`DeprecationWarning: ${message}`);
    }
    return Reflect.apply(fn, this, args);
  };
}

export function isDeepStrictEqual(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const keysA = Object.keys(a), keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((k) => Object.hasOwn(b, k) && isDeepStrictEqual(a[k], b[k]));
}

const tag = (v) => Object.prototype.toString.call(v).slice(8, -1);
export const types = {
  isDate: (v) => v instanceof Date,
  isRegExp: (v) => v instanceof RegExp,
  isPromise: (v) => v instanceof Promise,
  isMap: (v) => v instanceof Map,
  isSet: (v) => v instanceof Set,
  isTypedArray: (v) => ArrayBuffer.isView(v) && !(v instanceof DataView),
  isUint8Array: (v) => v instanceof Uint8Array,
  isArrayBuffer: (v) => v instanceof ArrayBuffer,
  isAnyArrayBuffer: (v) => v instanceof ArrayBuffer || v instanceof SharedArrayBuffer,
  isAsyncFunction: (v) => tag(v) === "AsyncFunction",
  isGeneratorFunction: (v) => tag(v) === "GeneratorFunction" || tag(v) === "AsyncGeneratorFunction",
  isNativeError: (v) => v instanceof Error,
};

export const isArray = Array.isArray;
export const TextEncoder = globalThis.TextEncoder;
export const TextDecoder = globalThis.TextDecoder;
export function debuglog() {
  const log = () => {};
  log.enabled = false;
  return log;
}

export default {
  format, inspect, promisify, callbackify, inherits, deprecate, isDeepStrictEqual, types, isArray,
  TextEncoder, TextDecoder, debuglog,
};
