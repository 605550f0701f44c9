"""Forged protocol: user code trying to rewrite, call or poison what the runtime reads back from
its isolate (issue 12, cases 3 and 6; response header values of case 8).

The step protocol is built on captured built-ins and null-prototype data and its entry points
demand a secret only Python knows; Python validates every status, header and number again.
"""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from tests.conftest import ServerProcess

from .support import (
    SERVER_ENV,
    assert_record,
    assert_resources_back,
    baseline,
    delete_function,
    deploy,
    invoke,
    measured_attack,
)

__all__ = ["SERVER_ENV"]

FORGED_TIMERS = """
function handler() {
  const forged = {done: [], ops: [], cleared: [], busyMs: 0, inflight: 0,
                  timers: Array.from({length: 100000}, (_, i) => [i + 1, 0, 1])};
  Object.prototype.toJSON = function () { return forged };
  Array.prototype.toJSON = function () { return forged.timers };
  return 'ok';
}
"""


def test_a_forged_tojson_cannot_arm_timers_or_grow_the_server(
    server: ServerProcess, admin: httpx.Client, control: str
) -> None:
    name = deploy(admin, FORGED_TIMERS, timeout_seconds=5)
    before = baseline(server)
    with measured_attack(server, admin, control):
        outcomes = [invoke(admin, name) for _ in range(5)]
    for outcome in outcomes:
        assert_record(outcome, "success", 200)
        assert outcome.response.text == "ok"
    delete_function(admin, name)
    assert_resources_back(server, before)


@pytest.mark.parametrize(
    "forged",
    [
        "{done: [[__CALL__, {response: {status: 999, headers: {}, body: 'forged'}}]]}",
        "{done: [[__CALL__, {response: {status: 1e10, headers: {}, body: 'forged'}}]]}",
        "{done: [[__CALL__, {response: {status: 200, headers: {'x-forged': 'yes'}, body: 'forged'}}]]}",
    ],
    ids=["status-999", "status-1e10", "forged-header"],
)
def test_a_forged_step_output_is_never_believed(admin: httpx.Client, unharmed, forged) -> None:
    code = (
        "function handler() {"
        f" const forged = {forged.replace('__CALL__', '1')};"
        " Object.prototype.toJSON = function () { return forged };"
        " JSON.stringify = () => JSON_TEXT;"
        " return {status: 201, body: 'real'} }"
    ).replace("JSON_TEXT", json.dumps(json.dumps({"done": []})))
    name = deploy(admin, code)
    for _ in range(2):
        outcome = invoke(admin, name)
        assert_record(outcome, "success", 201)
        assert outcome.response.text == "real"
        assert "x-forged" not in outcome.response.headers
    unharmed()


ENTRY_POINTS = """
function handler() {
  const seen = {};
  for (const name of ['__flux_step', '__flux_recover', '__flux_check_entry']) {
    const fn = globalThis[name];
    const attempts = [];
    for (const args of [[], ['{}'], ['[]'], [undefined, '{}'], [null, '{"start": []}']]) {
      try { fn(...args); attempts.push('called') } catch (e) { attempts.push(e.constructor.name + ': ' + e.message) }
    }
    let replaced = 'no';
    try { globalThis[name] = () => 'x'; if (globalThis[name] !== fn) replaced = 'assigned' }
    catch (e) { replaced = 'threw' }
    try { Object.defineProperty(globalThis, name, {value: () => 'x'}); replaced = 'redefined' } catch (e) {}
    try { delete globalThis[name]; if (!(name in globalThis)) replaced = 'deleted' } catch (e) {}
    seen[name] = {attempts: [...new Set(attempts)], replaced};
  }
  return seen;
}
"""


def test_runtime_entry_points_cannot_be_called_replaced_or_removed(admin, unharmed) -> None:
    outcome = invoke(admin, deploy(admin, ENTRY_POINTS))
    assert_record(outcome, "success", 200)
    reserved = "TypeError: this function is reserved for the runtime"
    assert outcome.response.json() == {
        name: {"attempts": [reserved], "replaced": "no"}
        for name in ("__flux_step", "__flux_recover", "__flux_check_entry")
    }
    unharmed()


def test_a_global_declaration_cannot_shadow_an_entry_point(admin, unharmed) -> None:
    response = admin.post(
        "/api/v1/functions",
        json={
            "name": "hostile-shadow",
            "code": "let __flux_step = () => '{}'\nfunction handler() {}",
        },
    )
    assert response.status_code == 400, response.text
    assert "__flux_step" in response.json()["message"]
    unharmed()


STEAL = """
let parked = null;
async function handler(req) {
  if (req.body === 'victim') {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return 'victim-answer';
  }
  // The thief tries to finish the other call in flight through the runtime's entry points.
  const stolen = [];
  for (const name of ['__flux_step', '__flux_recover']) {
    try { stolen.push(String(globalThis[name]('{"cancel": [1, 2, 3, 4, 5, 6, 7, 8]}'))) }
    catch (e) { stolen.push(e.message) }
  }
  return stolen;
}
"""


def test_one_call_cannot_finish_or_read_another_call_in_flight(admin, unharmed) -> None:
    name = deploy(admin, STEAL, timeout_seconds=5)
    answers: dict[str, httpx.Response] = {}
    victim = threading.Thread(
        target=lambda: answers.setdefault(
            "victim", admin.post(f"/api/v1/functions/{name}/invoke", content="victim")
        )
    )
    victim.start()
    thief = invoke(admin, name, "thief")
    victim.join()
    assert_record(thief, "success", 200)
    assert thief.response.json() == ["this function is reserved for the runtime"] * 2
    assert (answers["victim"].status_code, answers["victim"].text) == (200, "victim-answer")
    unharmed()


def test_more_timers_than_a_call_may_arm_is_a_range_error_in_that_call(admin, unharmed) -> None:
    outcome = invoke(
        admin,
        deploy(
            admin,
            "function handler() { for (let i = 0; i < 1001; i++) setTimeout(() => {}, 60000) }",
        ),
    )
    assert_record(outcome, "error", 500, "RangeError: more than 1000 pending timers in one call")
    unharmed()


LONE_SURROGATES = """
function handler(req) {
  const name = JSON.parse(req.body).name;
  console.log('hello', name);
  return {greeting: 'hi ' + name};
}
"""


def test_a_lone_surrogate_fails_nobody_batched_with_it(admin: httpx.Client, unharmed) -> None:
    name = deploy(admin, LONE_SURROGATES, timeout_seconds=10)
    bad = '{"name":"\\ud800"}'
    bodies = [json.dumps({"name": f"n{i}"}) for i in range(40)]
    bodies.insert(20, bad)
    answers: list[httpx.Response | None] = [None] * len(bodies)

    def send(i: int) -> None:
        answers[i] = admin.post(f"/api/v1/functions/{name}/invoke", content=bodies[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, response in enumerate(answers):
        assert response is not None
        assert response.status_code == 200, response.text
        # JSON.stringify escapes the lone surrogate (`\ud800`), as it does in Deno.
        expected = "hi \ud800" if i == 20 else f"hi n{i if i < 20 else i - 1}"
        assert response.json() == {"greeting": expected}
    unharmed()


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("throw new Error('bad \\ud800 message')", "Error: bad \ufffd message"),
        (
            "return {status: 200, headers: {'x-a': 'b\\udc00'}, body: ''}",
            "the response header 'x-a'",
        ),
    ],
    ids=["error-message", "header-value"],
)
def test_a_lone_surrogate_elsewhere_is_that_calls_truthful_answer(
    admin: httpx.Client, unharmed, code, message
) -> None:
    outcome = invoke(admin, deploy(admin, f"function handler() {{ {code} }}"))
    assert_record(outcome, "error", 500, message)
    unharmed()


@pytest.mark.parametrize(
    "value",
    [
        "\\u0100",
        "\\u2028",
        "\\ud83d\\ude00",
        "a\\u0000b",
        "a\\u0007b",
        "a\\u007fb",
        "a\\rb",
        "a\\nb",
    ],
    ids=["u0100", "u2028", "emoji", "nul", "bel", "del", "cr", "lf"],
)
def test_a_header_value_http_cannot_carry_is_a_clean_500(admin, unharmed, value) -> None:
    outcome = invoke(
        admin,
        deploy(
            admin,
            f"function handler() {{ return {{status: 200, headers: {{'x-a': '{value}'}}, body: ''}} }}",
        ),
    )
    assert_record(outcome, "error", 500, "the response header 'x-a' has a value HTTP cannot carry")
    unharmed()


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (
            "Object.fromEntries(Array.from({length: 101}, (_, i) => ['x-' + i, 'v']))",
            "the response has 101 headers; at most 100 are allowed",
        ),
        ("{'x-a': 'v'.repeat(70000)}", "the response headers take 70007 bytes"),
        ("{'bad name': 'v'}", "the response header name 'bad name' is not an HTTP token"),
    ],
    ids=["count", "size", "name"],
)
def test_response_header_count_size_and_names_are_limited(admin, unharmed, headers, message):
    outcome = invoke(
        admin,
        deploy(
            admin, f"function handler() {{ return {{status: 200, headers: {headers}, body: 'x'}} }}"
        ),
    )
    assert_record(outcome, "error", 500, message)
    unharmed()


def test_obs_text_and_tabs_are_valid_header_values(admin, unharmed) -> None:
    outcome = invoke(
        admin,
        deploy(
            admin,
            "function handler() { return {status: 200, headers: {'x-a': ' caf\\u00e9\\tb '}, body: 'x'} }",
        ),
    )
    assert_record(outcome, "success", 200)
    assert outcome.response.headers["x-a"].encode("latin-1") == "caf\u00e9\tb".encode("latin-1")
    unharmed()
