"""The two functions every peer runs: the same work in flux-edge, workerd and plain Litestar."""

from __future__ import annotations

# JSON.parse the body, return a small JSON body (the reference's handler form).
TRIVIAL = (
    "async function handler(req) {\n"
    "  const data = JSON.parse(req.body);\n"
    "  return { status: 200, body: JSON.stringify({ ok: data.a }) };\n"
    "}"
)

# Reads a header and a query parameter, computes a little, answers JSON with a header: written as
# users write functions today (Deno.serve); the workerd peer runs the same body in `fetch`.
REALISTIC_BODY = """
  const url = new URL(req.url);
  const user = req.headers.get("x-user") ?? "anonymous";
  const n = Number(url.searchParams.get("n") ?? "10");
  const data = await req.json();
  let total = 0;
  for (let i = 0; i < n; i++) total += i * i;
  const body = { user, email: data.email, total, even: total % 2 === 0 };
  return Response.json(body, { headers: { "x-total": String(total) } });
"""
REALISTIC = f"Deno.serve(async (req) => {{{REALISTIC_BODY}}});"

WORKERD_SCRIPT = f"""
export default {{
  async fetch(req) {{
    if (new URL(req.url).pathname === "/trivial") {{
      const data = JSON.parse(await req.text());
      return new Response(JSON.stringify({{ ok: data.a }}), {{
        headers: {{ "content-type": "application/json" }},
      }});
    }}
{REALISTIC_BODY}
  }},
}};
"""

WORKERD_CONFIG = """using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:{port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2026-11-01",
);
"""
