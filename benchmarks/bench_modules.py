"""Modules: deploying functions that import npm packages, their first call, and a 1 MiB bundle.

1. Through the real server, with the package cache warm (one deploy of each package first):
   create -> 201 for a function importing Hono, and for one importing zod; then create -> first
   invoke response. Targets: deploy well under 1 s; create -> first invoke p50 <= 15 ms for the
   trivial function (bench_cold_start.py), reported here for the package-importing ones.
2. In-process, a linked 1 MiB bundle (synthetic modules): link time, the time a fresh isolate
   takes to load it and answer its first call, and RSS per warm isolate holding it.
3. In-process, where the first call of a Hono function goes: the load (what a deploy pays), the
   first and second call, and inside JavaScript the first request of one Hono app against the
   first request of a second app in the same isolate (functions then compiled: what is left is
   Hono's own per-app work, such as building its router).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import tempfile
import time
from pathlib import Path

from _common import start_server, write_result
from bench_memory import rss_mb

from flux_edge.runtime import FunctionSpec, InvokeRequest, PoolLimits, Runtime
from flux_edge.runtime.codeforms.build import FunctionLinker
from flux_edge.runtime.codeforms.linker import link
from flux_edge.runtime.codeforms.resolver import ModuleResolver

HONO = (
    'import { Hono } from "npm:hono@4.6.20";\n'
    "const app = new Hono();\n"
    'app.get("*", (c) => c.json({ ok: 1 }));\n'
    "export default app;\n"
)
ZOD = (
    'import { z } from "npm:zod@3.24.2";\n'
    "const Body = z.object({ ok: z.number() });\n"
    "export default () => Response.json(Body.parse({ ok: 1 }));\n"
)


def _p50(samples: list[float]) -> float:
    return round(statistics.median(samples), 1)


def server_part(samples: int) -> dict[str, object]:
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "data")
        try:
            with server.admin() as client:
                for label, code in (("hono", HONO), ("zod", ZOD)):
                    warm = client.post(
                        "/api/v1/functions", json={"name": f"{label}-warm", "code": code}
                    )
                    assert warm.status_code == 201, warm.text
                    deploys, firsts = [], []
                    for n in range(samples):
                        name = f"{label}-{n}"
                        started = time.perf_counter()
                        created = client.post(
                            "/api/v1/functions", json={"name": name, "code": code, "enabled": True}
                        )
                        deployed = time.perf_counter()
                        called = client.get(f"/api/v1/functions/{name}/invoke")
                        done = time.perf_counter()
                        assert created.status_code == 201, created.text
                        assert called.json() == {"ok": 1}, called.text
                        deploys.append((deployed - started) * 1000)
                        firsts.append((done - started) * 1000)
                        time.sleep(0.1)
                    results[label] = {
                        "deploy_p50_ms": _p50(deploys),
                        "deploy_max_ms": round(max(deploys), 1),
                        "create_to_first_invoke_p50_ms": _p50(firsts),
                        "first_invoke_after_deploy_p50_ms": _p50(
                            [f - d for f, d in zip(firsts, deploys, strict=True)]
                        ),
                    }
        finally:
            server.stop()
    return results


def synthetic_bundle(target_bytes: int) -> tuple[str, float]:
    """A linked script of about `target_bytes`: 32 modules of plain functions, one entry."""
    modules = 32
    per_module = target_bytes // modules
    files: dict[str, str] = {}
    for m in range(modules):
        body: list[str] = []
        size = 0
        n = 0
        while size < per_module:
            line = (
                f"export function f{m}_{n}(a: number, b: string): string {{\n"
                f"  const items = [a, a + 1, a * 2].map((x) => `${{b}}:${{x}}`);\n"
                f"  return items.join('|') + {n};\n}}\n"
            )
            body.append(line)
            size += len(line)
            n += 1
        files[f"lib/m{m}.ts"] = "".join(body)
    imports = "".join(f'import * as m{m} from "./lib/m{m}.ts";\n' for m in range(modules))
    files["index.ts"] = (
        imports
        + "export default () => Response.json({ ok: m0.f0_0(1, 'x').length > 0 ? 1 : 0 });\n"
    )
    started = time.perf_counter()
    script = link(ModuleResolver.for_upload(files, "index.ts"), "index.ts").script
    return script, (time.perf_counter() - started) * 1000


def plain_script(modules: int = 32, per_module: int = 400) -> str:
    """The synthetic bundle's functions as one classic script, with no linker involved."""
    body = "".join(
        f"function f{m}_{n}(a, b) {{\n"
        f"  const items = [a, a + 1, a * 2].map((x) => `${{b}}:${{x}}`);\n"
        f"  return items.join('|') + {n};\n}}\n"
        for m in range(modules)
        for n in range(per_module)
    )
    return body + "function handler() { return { status: 200, body: '{\"ok\":1}' }; }\n"


async def load_times(runtime: Runtime, script: str, label: str, isolates: int) -> list[float]:
    request = InvokeRequest(
        method="GET", url="http://bench/", headers=[], body=b"", execution_id="e"
    )
    loads = []
    for n in range(isolates):
        spec = FunctionSpec(
            function_id=f"{label}{n}", name=f"{label}{n}", version=1, compiled=script
        )
        started = time.perf_counter()
        result = await runtime.invoke(spec, request)
        loads.append((time.perf_counter() - started) * 1000)
        assert result.status_code == 200, result.error_message
        await asyncio.sleep(0.2)  # spares refill between loads, as between real deploys
    return loads


async def bundle_part(isolates: int) -> dict[str, object]:
    script, link_ms = synthetic_bundle(1024 * 1024)
    runtime = Runtime()
    await runtime.start()
    request = InvokeRequest(
        method="GET", url="http://bench/", headers=[], body=b"", execution_id="e"
    )
    warm = FunctionSpec(function_id="warm", name="warm", version=1, compiled=script)
    assert (await runtime.invoke(warm, request)).status_code == 200
    await asyncio.sleep(0.5)
    gc.collect()
    before = rss_mb()
    loads = await load_times(runtime, script, "b", isolates)
    await asyncio.sleep(1)
    gc.collect()
    after = rss_mb()
    plain = plain_script()
    plain_loads = await load_times(runtime, plain, "p", isolates)
    await runtime.close(grace=1)
    return {
        "bundle_bytes": len(script.encode()),
        "link_ms": round(link_ms, 1),
        "isolates": isolates,
        "load_and_first_call_p50_ms": _p50(loads),
        "load_and_first_call_max_ms": round(max(loads), 1),
        "rss_mb_per_isolate": round((after - before) / isolates, 2),
        "plain_script_bytes": len(plain.encode()),
        "plain_script_load_and_first_call_p50_ms": _p50(plain_loads),
    }


HONO_TWO_APPS = (
    'import { Hono } from "npm:hono@4.6.20";\n'
    "const make = () => {\n"
    "  const app = new Hono();\n"
    '  app.get("*", (c) => c.json({ ok: 1 }));\n'
    "  return app;\n"
    "};\n"
    "const first = make(), second = make();\n"
    "export default async (req: Request) => {\n"
    "  const t0 = performance.now();\n"
    "  await first.fetch(req.clone());\n"
    "  const t1 = performance.now();\n"
    "  await second.fetch(req);\n"
    "  return Response.json([t1 - t0, performance.now() - t1]);\n"
    "};\n"
)


async def first_call_part(samples: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        linker = FunctionLinker(Path(tmp))
        try:
            script = linker({"index.ts": HONO_TWO_APPS}, "index.ts").script
        finally:
            linker.close()
    runtime = Runtime(PoolLimits(max_isolates=8, max_queue_per_function=8))
    await runtime.start()
    await asyncio.sleep(0.5)
    loads, firsts, seconds, first_app, second_app = [], [], [], [], []
    for n in range(samples):
        spec = FunctionSpec(
            function_id=f"h{n}", name=f"h{n}", version=1, compiled=script, memory_limit_mb=128
        )
        started = time.perf_counter()
        await runtime.prewarm(spec)  # what the deploy does: the call finds the isolate loaded
        loaded = time.perf_counter()
        request = InvokeRequest(
            method="GET", url="http://bench/", headers=[], body=b"", execution_id="e"
        )
        result = await runtime.invoke(spec, request)
        called = time.perf_counter()
        await runtime.invoke(spec, request)
        again = time.perf_counter()
        inside = json.loads(result.body)
        loads.append((loaded - started) * 1000)
        firsts.append((called - loaded) * 1000)
        seconds.append((again - called) * 1000)
        first_app.append(inside[0])
        second_app.append(inside[1])
        await asyncio.sleep(0.2)
    await runtime.close(grace=1)
    return {
        "samples": samples,
        "load_p50_ms": _p50(loads),
        "first_call_p50_ms": _p50(firsts),
        "second_call_p50_ms": _p50(seconds),
        "first_app_first_request_in_js_p50_ms": _p50(first_app),
        "second_app_first_request_in_js_p50_ms": _p50(second_app),
        "note": "performance.now() in the isolate counts whole milliseconds",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--isolates", type=int, default=10)
    args = parser.parse_args()
    result: dict[str, object] = {"packages": server_part(args.samples)}
    result["bundle_1mib"] = asyncio.run(bundle_part(args.isolates))
    result["hono_first_call"] = asyncio.run(first_call_part(args.samples))
    result["target_deploy_ms"] = 1000
    result["target_create_to_first_invoke_p50_ms"] = 15
    write_result("modules", result)


if __name__ == "__main__":
    main()
