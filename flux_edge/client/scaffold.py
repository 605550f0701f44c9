"""`flux-edge functions new NAME`: a starter function folder in the Supabase layout."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from flux_edge.client.config import ClientError

# The server's own name rule (api/schemas.py), checked here so the folder is deployable as named.
_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")

TEMPLATES: Final = {
    "serve": """// {name}: deploy with `flux-edge functions deploy {folder}`, then call it with
// `flux-edge functions invoke {name} -d '{{"name": "Ada"}}'`.
Deno.serve(async (req: Request): Promise<Response> => {{
  const {{ name }} = req.method === "POST" ? await req.json().catch(() => ({{}})) : {{}};
  return Response.json({{ message: `Hello ${{name ?? "world"}}!` }});
}});
""",
    "fetch": """// {name}: a module with a fetch handler; `env` holds the function's variables
// (`flux-edge env set {name} KEY=VALUE`).
export default {{
  async fetch(request: Request, env: Record<string, string>): Promise<Response> {{
    const url = new URL(request.url);
    return Response.json({{ method: request.method, path: url.pathname, vars: Object.keys(env) }});
  }},
}};
""",
    "handler": """// {name}: an exported handler, called with the web Request.
export async function handler(request: Request): Promise<Response> {{
  const data = request.method === "POST" ? await request.json().catch(() => null) : null;
  return Response.json({{ received: data }});
}}
""",
}


def new_function(folder: Path, name: str, template: str) -> Path:
    """Write `folder/name/index.ts` from `template`; the entry file's path. Never overwrites."""
    if not _NAME.fullmatch(name):
        raise ClientError(f"{name!r} is not a function name: 1-64 letters, digits, '-' or '_'")
    target = folder / name
    entry = target / "index.ts"
    if target.exists():
        raise ClientError(f"{target} already exists")
    try:
        target.mkdir(parents=True)
        entry.write_text(TEMPLATES[template].format(name=name, folder=target.as_posix()))
    except OSError as exc:
        raise ClientError(f"cannot write {entry}: {exc.strerror}") from None
    return entry
