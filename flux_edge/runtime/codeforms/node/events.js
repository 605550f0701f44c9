// node:events: EventEmitter (on/once/off/emit, prepend, listener counts, the 'error' rule) and
// the promise form of `once`.
const kListeners = Symbol("listeners");

export class EventEmitter {
  static defaultMaxListeners = 10;
  constructor() {
    this[kListeners] = new Map();
    this._maxListeners = undefined;
  }
  #map() {
    if (!this[kListeners]) this[kListeners] = new Map(); // a subclass that skipped super()
    return this[kListeners];
  }
  #add(name, listener, prepend) {
    if (typeof listener !== "function") throw new TypeError('The "listener" argument must be a function');
    const list = this.#map().get(name) ?? [];
    if (this.#map().has("newListener")) this.emit("newListener", name, listener.listener ?? listener);
    if (prepend) list.unshift(listener);
    else list.push(listener);
    this.#map().set(name, list);
    return this;
  }
  on(name, listener) { return this.#add(name, listener, false); }
  addListener(name, listener) { return this.#add(name, listener, false); }
  prependListener(name, listener) { return this.#add(name, listener, true); }
  once(name, listener) { return this.#add(name, wrapOnce(this, name, listener), false); }
  prependOnceListener(name, listener) { return this.#add(name, wrapOnce(this, name, listener), true); }
  off(name, listener) { return this.removeListener(name, listener); }
  removeListener(name, listener) {
    const list = this.#map().get(name);
    if (!list) return this;
    const index = list.findLastIndex((l) => l === listener || l.listener === listener);
    if (index >= 0) {
      list.splice(index, 1);
      if (list.length === 0) this.#map().delete(name);
      if (this.#map().has("removeListener")) this.emit("removeListener", name, listener);
    }
    return this;
  }
  removeAllListeners(name) {
    if (name === undefined) this.#map().clear();
    else this.#map().delete(name);
    return this;
  }
  emit(name, ...args) {
    const list = this.#map().get(name);
    if (!list || list.length === 0) {
      if (name === "error") {
        const error = args[0];
        throw error instanceof Error ? error : new Error(`Unhandled error. (${String(error)})`);
      }
      return false;
    }
    for (const listener of [...list]) Reflect.apply(listener, this, args);
    return true;
  }
  listeners(name) { return (this.#map().get(name) ?? []).map((l) => l.listener ?? l); }
  rawListeners(name) { return [...(this.#map().get(name) ?? [])]; }
  listenerCount(name) { return this.#map().get(name)?.length ?? 0; }
  eventNames() { return [...this.#map().keys()]; }
  setMaxListeners(n) { this._maxListeners = n; return this; }
  getMaxListeners() { return this._maxListeners ?? EventEmitter.defaultMaxListeners; }
}

function wrapOnce(emitter, name, listener) {
  if (typeof listener !== "function") throw new TypeError('The "listener" argument must be a function');
  const wrapped = function (...args) {
    emitter.removeListener(name, wrapped);
    return Reflect.apply(listener, this, args);
  };
  wrapped.listener = listener;
  return wrapped;
}

export function once(emitter, name) {
  return new Promise((resolve, reject) => {
    const onError = (error) => {
      emitter.removeListener(name, onEvent);
      reject(error);
    };
    const onEvent = (...args) => {
      if (name !== "error") emitter.removeListener("error", onError);
      resolve(args);
    };
    emitter.once(name, onEvent);
    if (name !== "error") emitter.once("error", onError);
  });
}

EventEmitter.EventEmitter = EventEmitter;
EventEmitter.once = once;
export default EventEmitter;
