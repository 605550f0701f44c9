// How console arguments become text in the execution logs: strings as they are, other values in a
// readable, bounded form (depth 5, 100 items, cycles marked) that never throws. Loaded before
// core.js, which takes `__flux_format` and removes it from the global scope.
(function (g) {
  "use strict";
  const { stringify } = JSON;
  const OriginalError = Error;

  function formatValue(value, depth, seen) {
    switch (typeof value) {
      case "string":
        return depth === 0 ? value : stringify(value);
      case "function":
        return `[Function: ${value.name || "anonymous"}]`;
      case "symbol":
        return value.toString();
      case "bigint":
        return `${value}n`;
      case "undefined":
        return "undefined";
      case "object":
        break;
      default:
        return String(value);
    }
    if (value === null) return "null";
    if (value instanceof OriginalError) return value.stack || `${value.name}: ${value.message}`;
    if (seen.has(value)) return "[Circular]";
    if (depth > 4) return Array.isArray(value) ? "[Array]" : "[Object]";
    seen.add(value);
    try {
      if (Array.isArray(value)) {
        const items = value.slice(0, 100).map((item) => formatValue(item, depth + 1, seen));
        if (value.length > 100) items.push(`... ${value.length - 100} more items`);
        return `[ ${items.join(", ")} ]`;
      }
      if (value instanceof Map) {
        const items = [...value].slice(0, 100).map(
          ([k, v]) => `${formatValue(k, depth + 1, seen)} => ${formatValue(v, depth + 1, seen)}`,
        );
        return `Map(${value.size}) { ${items.join(", ")} }`;
      }
      if (value instanceof Set) {
        const items = [...value].slice(0, 100).map((v) => formatValue(v, depth + 1, seen));
        return `Set(${value.size}) { ${items.join(", ")} }`;
      }
      if (value instanceof Date) return value.toISOString();
      if (ArrayBuffer.isView(value)) {
        return `${value.constructor.name}(${value.length}) [ ${Array.prototype.slice
          .call(value, 0, 50)
          .join(", ")}${value.length > 50 ? ", ..." : ""} ]`;
      }
      const keys = Object.keys(value);
      const items = keys
        .slice(0, 100)
        .map((key) => `${key}: ${formatValue(value[key], depth + 1, seen)}`);
      if (keys.length > 100) items.push(`... ${keys.length - 100} more keys`);
      const tag = value.constructor && value.constructor !== Object ? `${value.constructor.name} ` : "";
      return items.length ? `${tag}{ ${items.join(", ")} }` : `${tag}{}`;
    } catch (error) {
      return `[unprintable: ${error && error.message}]`;
    } finally {
      seen.delete(value);
    }
  }

  function formatArgs(args) {
    let text = "";
    for (let i = 0; i < args.length; i++) {
      if (i) text += " ";
      text += formatValue(args[i], 0, new Set());
    }
    return text;
  }

  Object.defineProperty(g, "__flux_format", {
    value: Object.freeze({ formatValue, formatArgs }),
    configurable: true,
  });
})(globalThis);
