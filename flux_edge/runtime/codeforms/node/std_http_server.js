// Deno std's http/server.ts `serve(handler, options)`: it only wraps Deno.serve, which is what the
// runtime has (docs/modules.md lists the built-in shims).
export function serve(handler, options = {}) {
  return Deno.serve(options, handler);
}
export default { serve };
