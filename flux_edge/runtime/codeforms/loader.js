// The module registry a linked function runs in: one classic script that instantiates every module
// of the function, evaluates the entry's static graph depth first, and publishes the entry's exports
// on __flux_exports. The linker appends the call `(records, entry)`. Each record is
// [url, kind, source, deps, table, stars, isAsync, columns]: kind is "esm", "cjs" or "json"; `deps`
// are record indices of the static imports in order; `table` maps every specifier the module may
// import (dynamically or by require) to a record index; `stars` are positions in `deps` re-exported
// with `export *`; `columns` (or null) is the module's column map (codeforms/edits.py column_map).
// Module sources are compiled with //# sourceURL so stack traces name each file, with the file's
// own lines; Error.prepareStackTrace puts each frame's column back where it is in the file.
(function (records, entryIndex) {
  "use strict";
  // Captured before any module runs: user code must not be able to change how linking works.
  const indirectEval = eval;
  const ObjectCreate = Object.create;
  const ObjectDefineProperty = Object.defineProperty;
  const ObjectKeys = Object.keys;
  const ObjectFreeze = Object.freeze;
  const ObjectPrototypeHasOwn = Object.prototype.hasOwnProperty;
  const ReflectApply = Reflect.apply;
  const JSONParse = JSON.parse;
  const PromiseResolve = Promise.resolve.bind(Promise);
  const PromiseReject = Promise.reject.bind(Promise);
  const PromisePrototypeThen = Promise.prototype.then;
  const ErrorCtor = Error;
  const TypeErrorCtor = TypeError;
  const toStringTag = Symbol.toStringTag;
  const exportsObject = globalThis.__flux_exports;
  const ErrorPrototypeToString = Error.prototype.toString;
  const StringPrototypeLastIndexOf = String.prototype.lastIndexOf;
  const StringPrototypeSlice = String.prototype.slice;
  const hasOwn = (o, k) => ReflectApply(ObjectPrototypeHasOwn, o, [k]);
  const then = (p, f, r) => ReflectApply(PromisePrototypeThen, p, [f, r]);

  // ---- stack traces with the files' own columns ----------------------------------------------
  // Rewrites (an imported binding read through its module's namespace, the prologue on line 1)
  // make some lines longer. V8 formats each frame; the frames in a linked module get their
  // column mapped back. User code may still set its own Error.prepareStackTrace.
  const columnMaps = ObjectCreate(null);
  for (const record of records) if (record[7]) columnMaps[record[0]] = record[7];
  const savedPrepare = Error.prepareStackTrace;
  Error.prepareStackTrace = (_, sites) => sites;
  const probe = {};
  Error.captureStackTrace(probe);
  const callSite = Object.getPrototypeOf(probe.stack[0]);
  Error.prepareStackTrace = savedPrepare;
  const siteToString = callSite.toString;
  const siteFileName = callSite.getScriptNameOrSourceURL;
  const siteLine = callSite.getLineNumber;
  const siteColumn = callSite.getColumnNumber;

  function originalColumn(map, column) {
    let shift = 0;
    for (let i = 0; i < map.length; i += 2) {
      const at = map[i], growth = map[i + 1];
      if (column < at) break;
      if (column < at + growth) return at - shift;
      shift += growth;
    }
    return column - shift;
  }

  function frameText(site) {
    const text = ReflectApply(siteToString, site, []);
    const file = ReflectApply(siteFileName, site, []);
    if (typeof file !== "string" || !hasOwn(columnMaps, file)) return text;
    const line = ReflectApply(siteLine, site, []);
    const map = columnMaps[file][line];
    if (!map) return text;
    const column = ReflectApply(siteColumn, site, []);
    const where = `${file}:${line}:${column}`;
    const at = ReflectApply(StringPrototypeLastIndexOf, text, [where]);
    if (at < 0) return text;
    const before = ReflectApply(StringPrototypeSlice, text, [0, at]);
    const after = ReflectApply(StringPrototypeSlice, text, [at + where.length]);
    return `${before}${file}:${line}:${originalColumn(map, column)}${after}`;
  }

  // V8's own format: the error's toString(), then one "    at <frame>" line per frame.
  Error.prepareStackTrace = function prepareStackTrace(error, sites) {
    let text;
    try {
      text = ReflectApply(ErrorPrototypeToString, error, []);
    } catch {
      text = "<error>";
    }
    for (let i = 0; i < sites.length; i++) text += "\n    at " + frameText(sites[i]);
    return text;
  };

  const UNLINKED = 0, EVALUATING = 1, EVALUATED = 2;
  const modules = [];
  for (let i = 0; i < records.length; i++) {
    const [url, kind, source, deps, table, stars, isAsync] = records[i];
    const ns = ObjectCreate(null);
    ObjectDefineProperty(ns, toStringTag, { value: "Module" });
    modules.push({
      index: i, url, kind, source, deps, table, stars, isAsync,
      ns, state: UNLINKED, promise: undefined, generator: null, cjs: null, cjsModule: null,
    });
  }

  function defineExports(ns, getters) {
    for (const name of ObjectKeys(getters)) {
      ObjectDefineProperty(ns, name, { get: getters[name], enumerable: true, configurable: true });
    }
  }

  function compile(m) {
    return indirectEval(m.source + "\n//# sourceURL=" + m.url);
  }

  function resolveIn(m, specifier) {
    if (!hasOwn(m.table, specifier)) return null;
    return modules[m.table[specifier]];
  }

  function metaOf(m) {
    return ObjectFreeze({
      url: m.url,
      main: m.index === entryIndex,
      resolve(specifier) {
        const target = resolveIn(m, String(specifier));
        if (target === null) throw new TypeErrorCtor(`Module not found: ${specifier} (from ${m.url})`);
        return target.url;
      },
    });
  }

  function dynamicImport(m) {
    return function (specifier) {
      const target = resolveIn(m, String(specifier));
      if (target === null) {
        return PromiseReject(
          new TypeErrorCtor(
            `Module not found: ${specifier} (from ${m.url}): only modules found at deploy time can be imported`,
          ),
        );
      }
      try {
        return then(PromiseResolve(evaluate(target)), () => target.ns);
      } catch (error) {
        return PromiseReject(error);
      }
    };
  }

  // Instantiation: hoisting and export getters for every ES module, before any module runs.
  for (const m of modules) {
    if (m.kind === "esm") {
      const factory = compile(m);
      const deps = [];
      for (const d of m.deps) deps.push(modules[d].ns);
      m.generator = factory(
        (getters) => defineExports(m.ns, getters), deps, metaOf(m), dynamicImport(m),
      );
      m.generator.next(); // runs the prologue up to its `yield`
    } else if (m.kind === "cjs") {
      m.cjs = compile(m);
    }
  }

  function reexportStars(m) {
    for (const position of m.stars) {
      const from = modules[m.deps[position]].ns;
      for (const name of ObjectKeys(from)) {
        if (name === "default" || hasOwn(m.ns, name)) continue;
        ObjectDefineProperty(m.ns, name, { get: () => from[name], enumerable: true, configurable: true });
      }
    }
  }
  for (const m of modules) if (m.stars.length) reexportStars(m);

  function requireFrom(m) {
    return function require(specifier) {
      const target = resolveIn(m, String(specifier));
      if (target === null) {
        const error = new ErrorCtor(`Cannot find module '${specifier}' from ${m.url}`);
        error.code = "MODULE_NOT_FOUND";
        throw error;
      }
      if (target.kind === "cjs") {
        if (target.state === UNLINKED) evaluate(target);
        return target.cjsModule.exports;
      }
      const pending = evaluate(target);
      if (pending !== undefined && target.state !== EVALUATED) {
        throw new ErrorCtor(`require() of a module that awaits at top level: ${target.url}`);
      }
      if (target.kind === "json") return target.ns.default;
      return hasOwn(target.ns, "module.exports") ? target.ns["module.exports"] : target.ns;
    };
  }

  function execute(m) {
    if (m.kind === "esm") {
      if (m.stars.length) reexportStars(m);
      if (m.isAsync) return then(m.generator.next(), () => undefined);
      m.generator.next();
      return undefined;
    }
    if (m.kind === "json") {
      const value = JSONParse(m.source);
      defineExports(m.ns, { default: () => value });
      return undefined;
    }
    const module = { exports: {}, id: m.url, filename: m.url, loaded: false };
    m.cjsModule = module;
    const slash = m.url.lastIndexOf("/");
    let buffer;
    if (hasOwn(m.table, "\u0000Buffer")) {
      const bufferModule = modules[m.table["\u0000Buffer"]];
      evaluate(bufferModule);
      buffer = bufferModule.ns.Buffer;
    }
    ReflectApply(m.cjs, module.exports, [
      module.exports, requireFrom(m), module, m.url, m.url.slice(0, slash), globalThis, buffer,
    ]);
    module.loaded = true;
    const value = module.exports;
    defineExports(m.ns, { default: () => module.exports });
    if (value !== null && (typeof value === "object" || typeof value === "function")) {
      for (const name of ObjectKeys(value)) {
        if (name !== "default" && !hasOwn(m.ns, name)) {
          ObjectDefineProperty(m.ns, name, { get: () => module.exports[name], enumerable: true });
        }
      }
    }
    return undefined;
  }

  // Depth first, dependencies before dependents; a module met again while it is evaluating (a
  // cycle) is skipped, as in ES. Returns a promise only when something on the way awaits. Errors
  // are not caught and rethrown here: a rethrow would move the error's reported position.
  function evaluate(m) {
    if (m.state !== UNLINKED) return m.promise;
    m.state = EVALUATING;
    let i = 0;
    const run = () => {
      for (; i < m.deps.length; i++) {
        const pending = evaluate(modules[m.deps[i]]);
        if (pending !== undefined) {
          i++;
          return then(pending, run);
        }
      }
      return execute(m);
    };
    try {
      m.promise = run();
    } finally {
      m.state = EVALUATED;
    }
    return m.promise;
  }

  const entry = modules[entryIndex];
  function publish() {
    for (const name of ObjectKeys(entry.ns)) exportsObject[name] = entry.ns[name];
  }
  const pending = evaluate(entry);
  if (pending === undefined) {
    publish();
  } else {
    // Top-level await: if it is still running when the runtime checks the entry (it may wait for
    // host work such as crypto.subtle), the check finds this promise and calls wait for it
    // (core.js loadingEntry). Settled by then (microtasks only), the entry is checked as usual.
    const loading = then(pending, () => {
      delete exportsObject.__flux_loading;
      publish();
    });
    ObjectDefineProperty(exportsObject, "__flux_loading", { value: loading, configurable: true });
  }
})
