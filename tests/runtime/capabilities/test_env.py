"""Environment variables: a function sees its own, never the server's, and only with allow_env."""

from __future__ import annotations

import pytest

from flux_edge.runtime import Permissions
from tests.runtime.capabilities.conftest import RunFunction, answer

CANARY = "FLUX_EDGE_SECRET_CANARY"


@pytest.fixture(autouse=True)
def server_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """A variable of the server process (this test process hosts the runtime)."""
    monkeypatch.setenv(CANARY, "server-only-value")


async def test_a_function_sees_exactly_its_own_variables(run_js: RunFunction):
    result = await run_js(
        f"""
        return {{
          all: Deno.env.toObject(),
          get: Deno.env.get("API_KEY"),
          has: Deno.env.has("API_KEY"),
          canary: [Deno.env.get("{CANARY}") ?? null, Deno.env.has("{CANARY}"),
                   process.env.{CANARY} ?? null, "{CANARY}" in process.env],
          keys: Object.keys(process.env),
          path: Deno.env.get("PATH") ?? null,
        }};
        """,
        env={"API_KEY": "k-123", "REGION": "eu"},
    )
    assert answer(result) == {
        "all": {"API_KEY": "k-123", "REGION": "eu"},
        "get": "k-123",
        "has": True,
        "canary": [None, False, None, False],
        "keys": ["API_KEY", "REGION"],
        "path": None,
    }


async def test_the_server_value_appears_nowhere_in_the_global_scope(run_js: RunFunction):
    result = await run_js("""
        const seen = new Set();
        const found = [];
        function walk(value, depth) {
          if (depth > 3 || value === null || (typeof value !== "object" && typeof value !== "function")) {
            if (typeof value === "string" && value.includes("server-only-value")) found.push(value);
            return;
          }
          if (seen.has(value)) return;
          seen.add(value);
          for (const key of Reflect.ownKeys(value)) {
            let child;
            try { child = value[key]; } catch { continue; }
            walk(child, depth + 1);
          }
        }
        walk(globalThis, 0);
        return found;
    """)
    assert answer(result) == []


@pytest.mark.parametrize(
    "expression",
    [
        'Deno.env.get("API_KEY")',
        'Deno.env.has("API_KEY")',
        "Deno.env.toObject()",
        "process.env.API_KEY",
        "Object.keys(process.env)",
    ],
)
async def test_without_allow_env_every_read_throws_permission_denied(
    run_js: RunFunction, expression: str
):
    result = await run_js(
        f"""
        try {{ {expression}; return "read"; }}
        catch (e) {{ return [e.name, e instanceof Deno.errors.PermissionDenied]; }}
        """,
        env={"API_KEY": "k-123"},
        permissions=Permissions(allow_env=False),
    )
    assert answer(result) == ["PermissionDenied", True]


async def test_variables_are_read_only(run_js: RunFunction):
    result = await run_js(
        """
        const errors = [];
        try { Deno.env.set("API_KEY", "changed"); } catch (e) { errors.push(e.name); }
        try { process.env.API_KEY = "changed"; } catch (e) { errors.push(e.name); }
        return [errors, Deno.env.get("API_KEY")];
        """,
        env={"API_KEY": "k-123"},
    )
    assert answer(result) == [["PermissionDenied", "PermissionDenied"], "k-123"]
