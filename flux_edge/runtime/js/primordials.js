// Built-ins captured before any user code runs, as Deno's runtime does with its `primordials`:
// code that must not be fooled by user code (the step protocol in core.js) calls these captured
// functions, never methods looked up on prototypes at the time of use, which user code can
// replace (Array.prototype.push, Map.prototype.get, Object.prototype.toJSON, Symbol.iterator, ...).
// Methods are uncurried through a bound Function.prototype.call captured here, so replacing
// `call` or `apply` later changes nothing. Loaded first; the prelude removes `__flux_primordials`
// before user code loads.
(function (g) {
  "use strict";
  const { bind, call } = Function.prototype;
  // uncurryThis(Array.prototype.push)(list, value) === list.push(value) with the original push.
  const uncurryThis = bind.bind(call);
  const { apply, ownKeys, getOwnPropertyDescriptor, defineProperty, getPrototypeOf, setPrototypeOf } =
    Reflect;
  const { create, freeze } = Object;
  const hasOwn = Object.hasOwn;
  const mapIteratorPrototype = getPrototypeOf(new Map().keys());

  // A CallSite's prototype, reached once here: owner() in core.js reads function names from stack
  // frames, and user code could otherwise replace CallSite.prototype.getFunctionName.
  let callSitePrototype = null;
  {
    const savedPrepare = Error.prepareStackTrace;
    Error.prepareStackTrace = (_, sites) => sites;
    const holder = {};
    Error.captureStackTrace(holder);
    callSitePrototype = getPrototypeOf(holder.stack[0]);
    Error.prepareStackTrace = savedPrepare;
  }

  const primordials = {
    uncurryThis,
    ReflectApply: apply,
    ReflectOwnKeys: ownKeys,
    ReflectGetOwnPropertyDescriptor: getOwnPropertyDescriptor,
    ReflectDefineProperty: defineProperty,
    ReflectGetPrototypeOf: getPrototypeOf,
    ReflectSetPrototypeOf: setPrototypeOf,
    ObjectCreate: create,
    ObjectFreeze: freeze,
    ObjectHasOwn: hasOwn,
    ArrayIsArray: Array.isArray,
    ArrayPrototypePush: uncurryThis(Array.prototype.push),
    ArrayPrototypeJoin: uncurryThis(Array.prototype.join),
    ArrayPrototypeSlice: uncurryThis(Array.prototype.slice),
    MapPrototypeGet: uncurryThis(Map.prototype.get),
    MapPrototypeSet: uncurryThis(Map.prototype.set),
    MapPrototypeHas: uncurryThis(Map.prototype.has),
    MapPrototypeDelete: uncurryThis(Map.prototype.delete),
    MapPrototypeForEach: uncurryThis(Map.prototype.forEach),
    MapPrototypeKeys: uncurryThis(Map.prototype.keys),
    MapPrototypeGetSize: uncurryThis(getOwnPropertyDescriptor(Map.prototype, "size").get),
    MapIteratorPrototypeNext: uncurryThis(mapIteratorPrototype.next),
    SetPrototypeHas: uncurryThis(Set.prototype.has),
    StringPrototypeStartsWith: uncurryThis(String.prototype.startsWith),
    StringPrototypeSlice: uncurryThis(String.prototype.slice),
    StringPrototypeToWellFormed: uncurryThis(String.prototype.toWellFormed),
    RegExpPrototypeTest: uncurryThis(RegExp.prototype.test),
    PromisePrototypeThen: uncurryThis(Promise.prototype.then),
    PromiseResolve: Promise.resolve.bind(Promise),
    CallSitePrototypeGetFunctionName: uncurryThis(callSitePrototype.getFunctionName),
    JSONStringify: JSON.stringify,
    JSONParse: JSON.parse,
    NumberIsFinite: Number.isFinite,
    NumberIsInteger: Number.isInteger,
    MathMax: Math.max,
    MathMin: Math.min,
    DateNow: Date.now,
    String,
    Number,
    Promise,
    Error,
    TypeError,
    RangeError,
    Map,
  };
  defineProperty(g, "__flux_primordials", { value: freeze(primordials), configurable: true });
})(globalThis);
