// node:process: `env` (the global process.env, with its permission check), nextTick, and the
// static facts Node code reads.
const base = globalThis.process;
export const env = base.env;
export function nextTick(callback, ...args) {
  queueMicrotask(() => callback(...args));
}
export const platform = "linux";
export const version = "v20.0.0";
export const versions = { node: "20.0.0" };
export const argv = [];
export const browser = false;
export function cwd() {
  return "/";
}
const process = { env, nextTick, platform, version, versions, argv, browser, cwd };
export default process;
