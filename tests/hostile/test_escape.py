"""Hostile reach: Python objects, host internals, the server's environment, files and the network.

The server of this module runs with a canary environment variable that no function may ever see.
"""

from __future__ import annotations

import json

import pytest

from .support import CANARY, SERVER_ENV, assert_record, run_hostile

__all__ = ["SERVER_ENV"]

# Walks everything reachable from globalThis (own and inherited names, prototypes, functions'
# properties) looking for runtime internals, the canary or anything that smells of Python.
WALK = """
function handler() {
  const seen = new Set(), found = [];
  const bad = /^__flux_(host|notify|memory|entropy|web)$|^__py|^_ctx$|^py_|MiniRacer/i;
  const queue = [[globalThis, 'globalThis']];
  while (queue.length && seen.size < 20000) {
    const [obj, path] = queue.shift();
    if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function') || seen.has(obj)) continue;
    seen.add(obj);
    let names = [];
    try { names = Reflect.ownKeys(obj) } catch { continue }
    for (const key of names) {
      const name = String(key);
      if (bad.test(name)) found.push(path + '.' + name);
      let value;
      try { value = obj[key] } catch { continue }
      if (typeof value === 'string' && value.includes(CANARY)) found.push(path + '.' + name + ' (canary)');
      queue.push([value, path + '.' + name]);
    }
    try { queue.push([Object.getPrototypeOf(obj), path + '.__proto__']) } catch {}
  }
  return {found, visited: seen.size};
}
"""


def test_walking_every_reachable_object_finds_no_host_internals(admin, unharmed):
    outcome = run_hostile(
        admin, f"const CANARY = {json.dumps(CANARY)};\n" + WALK, timeout_seconds=2
    )
    assert_record(outcome, "success", 200)
    body = outcome.response.json()
    assert body["found"] == []
    assert body["visited"] > 500  # the walk really covered the built-ins
    unharmed()


GLOBALS = """
function handler() {
  const names = ['process', 'require', 'module', 'WebAssembly', 'gc', 'FinalizationRegistry',
                 '__flux_host', '__flux_notify', '__flux_memory', '__flux_entropy', 'Bun', 'global'];
  const kinds = {};
  for (const n of names) kinds[n] = typeof globalThis[n];
  return kinds;
}
"""


def test_host_objects_and_dangerous_globals_are_absent(admin, unharmed):
    outcome = run_hostile(admin, GLOBALS)
    assert_record(outcome, "success", 200)
    assert outcome.response.json() == {
        "process": "object",  # only the process.env facade (see the env tests)
        "require": "undefined",
        "module": "undefined",
        "WebAssembly": "undefined",
        "gc": "undefined",
        "FinalizationRegistry": "undefined",
        "__flux_host": "undefined",
        "__flux_notify": "undefined",
        "__flux_memory": "undefined",
        "__flux_entropy": "undefined",
        "Bun": "undefined",
        "global": "undefined",
    }
    unharmed()


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("require('fs')", "ReferenceError: require is not defined"),
        ("gc()", "TypeError: gc is not a function"),
        (
            "new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))",
            "ReferenceError: WebAssembly is not defined",
        ),
        (
            "new FinalizationRegistry(() => {})",
            "ReferenceError: FinalizationRegistry is not defined",
        ),
        ("process.binding('fs')", "TypeError: process.binding is not a function"),
        ("Deno.run({cmd: ['id']})", "TypeError: Deno.run is not a function"),
        ("Deno.Command", "Error: Deno.Command is undefined"),
    ],
    ids=[
        "require",
        "gc",
        "webassembly",
        "finalization-registry",
        "process-binding",
        "deno-run",
        "deno-command",
    ],
)
def test_reaching_for_the_host_throws_inside_the_function(admin, unharmed, expression, message):
    code = (
        f"function handler() {{ const v = {expression}; "
        f"if (v === undefined) throw new Error({json.dumps(expression + ' is undefined')}); return 'reached' }}"
    )
    outcome = run_hostile(admin, code)
    assert_record(outcome, "error", 500, message)
    unharmed()


def test_an_import_of_the_host_is_refused_at_deploy(admin, unharmed):
    # Imports are linked at deploy (docs/modules.md): nothing can name the server's own modules.
    for code, named in (
        ("import fs from 'fs'\nexport default function handler() {}", "'fs'"),
        ("import fs from 'node:fs'\nexport default function handler() {}", "node:fs"),
        ("async function handler() { return import('fs') }", "'fs'"),
        ("async function handler() { return import('node:child_process') }", "node:child_process"),
    ):
        response = admin.post("/api/v1/functions", json={"name": "hostile-import", "code": code})
        assert response.status_code == 400, response.text
        assert named in response.json()["message"], response.text
    unharmed()


def test_an_import_hidden_in_eval_rejects_at_run_time(admin, unharmed):
    outcome = run_hostile(
        admin, "async function handler() { return await eval('imp' + 'ort(\"fs\")') }"
    )
    assert_record(outcome, "error", 500, "Error: Not supported")
    unharmed()


def test_function_constructor_escapes_reach_only_the_functions_own_global(admin, unharmed):
    code = (
        "function handler() {\n"
        "  const g = ({}).constructor.constructor('return this')();\n"
        "  const h = (function () { return this })() || Function('return this')();\n"
        "  return {same: g === globalThis && h === globalThis, host: typeof g.__flux_host,\n"
        "          evalHost: eval('typeof __flux_notify'), indirect: (0, eval)('typeof __flux_memory')};\n"
        "}"
    )
    outcome = run_hostile(admin, code)
    assert_record(outcome, "success", 200)
    assert outcome.response.json() == {
        "same": True,
        "host": "undefined",
        "evalHost": "undefined",
        "indirect": "undefined",
    }
    unharmed()


def test_shared_array_buffer_and_atomics_stay_inside_the_isolate(admin, unharmed):
    code = (
        "function handler() {\n"
        "  const sab = new SharedArrayBuffer(1024); const i = new Int32Array(sab);\n"
        "  Atomics.store(i, 0, 41); Atomics.add(i, 0, 1);\n"
        "  let cloned; try { cloned = structuredClone(sab) !== sab } catch (e) { cloned = e.name }\n"
        "  return {value: Atomics.load(i, 0), waited: Atomics.wait(i, 0, 0, 5), cloned};\n"
        "}"
    )
    outcome = run_hostile(admin, code)
    assert_record(outcome, "success", 200)
    assert outcome.response.json() == {
        "value": 42,
        "waited": "not-equal",
        "cloned": "DataCloneError",
    }
    unharmed()


def test_a_shared_array_buffer_bomb_is_refused(admin, unharmed):
    outcome = run_hostile(
        admin,
        "function handler() { return new SharedArrayBuffer(2 ** 31).byteLength }",
        memory_limit_mb=64,
    )
    assert_record(
        outcome,
        "error",
        500,
        "RangeError: Memory limit exceeded: allocating 2147483648 bytes of ArrayBuffer memory would pass "
        "the function's limit of 67108864 bytes (memory_limit_mb)",
    )
    unharmed()


ENV_READER = """
function handler() {
  const seen = {};
  try { seen.process = JSON.stringify(process.env) } catch (e) { seen.process = e.name + ': ' + e.message }
  try { seen.deno = JSON.stringify(Deno.env.toObject()) } catch (e) { seen.deno = e.name + ': ' + e.message }
  try { seen.get = String(Deno.env.get('FLUX_HOSTILE_CANARY')) } catch (e) { seen.get = e.name + ': ' + e.message }
  try { seen.path = String(Deno.env.get('PATH')) } catch (e) { seen.path = e.name + ': ' + e.message }
  return seen;
}
"""


def test_the_servers_environment_is_invisible_with_allow_env(admin, unharmed):
    outcome = run_hostile(admin, ENV_READER, allow_env=True, env={"OWN": "mine"})
    assert_record(outcome, "success", 200)
    assert outcome.response.json() == {
        "process": '{"OWN":"mine"}',
        "deno": '{"OWN":"mine"}',
        "get": "undefined",
        "path": "undefined",
    }
    assert CANARY not in outcome.response.text
    unharmed()


def test_the_environment_is_refused_without_allow_env(admin, unharmed):
    outcome = run_hostile(admin, ENV_READER, allow_env=False, env={"OWN": "mine"})
    assert_record(outcome, "success", 200)
    denied = (
        "PermissionDenied: environment access is not allowed for this function (allow_env is false)"
    )
    assert outcome.response.json() == {
        "process": denied,
        "deno": denied,
        "get": denied,
        "path": denied,
    }
    unharmed()


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "/proc/self/environ",
        "../../flux-edge.db",
        "../../../../../../etc/hostname",
        "./../other-function/secret",
        "/proc/self/cwd/flux-edge.db",
    ],
)
def test_files_outside_the_jail_are_refused(admin, unharmed, path):
    code = f"async function handler() {{ return await Deno.readTextFile({json.dumps(path)}) }}"
    outcome = run_hostile(admin, code, allow_read=True)
    assert_record(outcome, "error", 500, "PermissionDenied: read ")
    assert "outside the function's directory" in outcome.record["error_message"]
    unharmed()


def test_a_symlink_cannot_be_planted_or_followed_out_of_the_jail(admin, unharmed):
    code = (
        "async function handler() {\n"
        "  const names = Object.keys(Deno).filter((k) => /link/i.test(k));\n"
        "  let read;\n"
        "  try { read = await Deno.readTextFile('/proc/self/root/etc/passwd') } catch (e) { read = e.name }\n"
        "  return {names, read};\n"
        "}"
    )
    outcome = run_hostile(admin, code, allow_read=True, allow_write=True)
    assert_record(outcome, "success", 200)
    assert outcome.response.json() == {"names": [], "read": "PermissionDenied"}
    unharmed()


def test_files_are_refused_without_allow_read(admin, unharmed):
    outcome = run_hostile(
        admin,
        "async function handler() { return await Deno.readTextFile('x.txt') }",
        allow_read=False,
    )
    assert_record(outcome, "error", 500, "PermissionDenied: ")
    unharmed()


FETCHER = """
async function handler(req) {
  const out = {};
  for (const url of JSON.parse(req.body)) {
    try { const r = await fetch(url); out[url] = 'FETCHED ' + r.status } catch (e) { out[url] = e.name }
  }
  return out;
}
"""


def test_fetch_to_loopback_metadata_and_private_addresses_is_refused(server, admin, unharmed):
    port = server.port
    urls = [
        f"http://127.0.0.1:{port}/health",
        f"http://localhost:{port}/health",
        f"http://LocalHost:{port}/health",
        f"http://[::1]:{port}/health",
        f"http://[::ffff:127.0.0.1]:{port}/health",
        f"http://0.0.0.0:{port}/health",
        f"http://2130706433:{port}/health",
        f"http://127.1:{port}/health",
        f"http://0x7f.0.0.1:{port}/health",
        f"http://017700000001:{port}/health",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.0.1/",
        "http://172.16.0.1/",
    ]
    # A URL with credentials never gets as far: the Request constructor rejects it (TypeError).
    sneaky = f"http://user:pass@127.0.0.1:{port}/health"
    outcome = run_hostile(
        admin, FETCHER, json.dumps([*urls, sneaky]), allow_net=True, timeout_seconds=5
    )
    assert_record(outcome, "success", 200)
    assert outcome.response.json() == {
        **dict.fromkeys(urls, "PermissionDenied"),
        sneaky: "TypeError",
    }
    unharmed()


def test_fetch_to_other_schemes_fails_without_touching_the_host(admin, unharmed):
    urls = [
        "file:///etc/passwd",
        "ftp://127.0.0.1/",
        "data:text/plain,hi",
        "gopher://127.0.0.1:6379/_INFO",
    ]
    outcome = run_hostile(admin, FETCHER, json.dumps(urls), allow_net=True)
    assert_record(outcome, "success", 200)
    assert outcome.response.json() == dict.fromkeys(urls, "TypeError")
    unharmed()


def test_fetch_is_refused_without_allow_net(server, admin, unharmed):
    urls = [f"http://127.0.0.1:{server.port}/health", "https://example.com/"]
    outcome = run_hostile(admin, FETCHER, json.dumps(urls), allow_net=False)
    assert_record(outcome, "success", 200)
    assert outcome.response.json() == dict.fromkeys(urls, "PermissionDenied")
    unharmed()
