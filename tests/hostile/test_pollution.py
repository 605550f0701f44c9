"""Hostile mutation of the JavaScript world: polluted prototypes and globals, broken built-ins,
runtime entry points overwritten, `eval`/`Function` misuse. Each may break only the function itself:
never another function, never the next version of the same function, never the server.
"""

from __future__ import annotations

import pytest

from .support import CONTROL_ANSWER, SERVER_ENV, assert_record, deploy, invoke, run_hostile

__all__ = ["SERVER_ENV"]

POLLUTE = """
Object.prototype.polluted = 'yes';
Array.prototype.polluted = 'yes';
globalThis.sharedSecret = 'from-v1';
String.prototype.trim = undefined;
function handler() { return {polluted: ({}).polluted, secret: globalThis.sharedSecret} }
"""

READ_WORLD = """
function handler() {
  return {polluted: typeof ({}).polluted, array: typeof [].polluted, secret: typeof globalThis.sharedSecret,
          trim: typeof ''.trim};
}
"""


def test_prototype_and_global_pollution_stays_inside_the_polluting_function(admin, unharmed):
    name = deploy(admin, POLLUTE)
    outcome = invoke(admin, name)
    assert_record(outcome, "success", 200)
    assert outcome.response.json() == {"polluted": "yes", "secret": "from-v1"}
    unharmed()  # the control function checks the same prototypes and globals


def test_the_next_version_of_a_polluting_function_starts_clean(admin, unharmed):
    name = deploy(admin, POLLUTE)
    assert invoke(admin, name).response.json()["polluted"] == "yes"
    assert admin.put(f"/api/v1/functions/{name}", json={"code": READ_WORLD}).status_code == 200
    outcome = invoke(admin, name)
    assert_record(outcome, "success", 200)
    assert outcome.record["function_version"] == 2
    assert outcome.response.json() == {
        "polluted": "undefined",
        "array": "undefined",
        "secret": "undefined",
        "trim": "function",
    }
    unharmed()


def test_pollution_from_inside_a_call_does_not_outlive_its_function(admin, unharmed):
    code = "function handler() { Object.prototype.polluted = 'late'; globalThis.sharedSecret = 1; return 'done' }"
    assert_record(run_hostile(admin, code), "success", 200)
    assert_record(run_hostile(admin, READ_WORLD), "success", 200)
    assert run_hostile(admin, READ_WORLD).response.json()["polluted"] == "undefined"
    unharmed()


@pytest.mark.parametrize(
    ("code", "body"),
    [
        (
            "function handler() { JSON.stringify = () => { throw new Error('no') }; "
            "JSON.parse = () => 1; return {a: 1} }",
            '{"a":1}',
        ),
        (
            "function handler() { Promise.prototype.then = function () { for (;;) {} }; "
            "globalThis.Promise = null; return 'ok' }",
            "ok",
        ),
        (
            "function handler() { Object.defineProperty = null; Object.keys = null; "
            "Reflect.apply = null; return 'ok' }",
            "ok",
        ),
        (
            "function handler() { Array.prototype.map = null; Array.prototype.filter = null; "
            "Array.prototype.reduce = null; return 'ok' }",
            "ok",
        ),
        (
            "function handler() { Error.prepareStackTrace = () => 'hijacked'; "
            "Error.stackTraceLimit = 0; Error.captureStackTrace = null; return 'ok' }",
            "ok",
        ),
        (
            "function handler() { globalThis.setTimeout = null; globalThis.queueMicrotask = null; "
            "globalThis.console = null; return 'ok' }",
            "ok",
        ),
        (
            "function handler() { String.prototype.slice = null; Number.prototype.toString = null; "
            "Symbol.iterator; return 'ok' }",
            "ok",
        ),
    ],
    ids=[
        "json",
        "promise",
        "object-reflect",
        "collections",
        "error-stack",
        "timers-console",
        "string-number",
    ],
)
def test_breaking_built_ins_in_the_returning_call_still_gives_its_answer(
    admin, unharmed, code, body
):
    outcome = run_hostile(admin, code)
    assert_record(outcome, "success", 200)
    assert outcome.response.text == body
    unharmed()


@pytest.mark.parametrize(
    "code",
    [
        "function handler() { globalThis.__flux_step = () => 'garbage'; return 'ok' }",
        "function handler() { globalThis.__flux_step = () => { for (;;) {} }; return 'ok' }",
        "function handler() { globalThis.__flux_recover = null; globalThis.__flux_step = null; return 'ok' }",
        "function handler() { JSON.stringify = () => "
        '\'{"done": [[1, {"response": {"status": 200}}]]}\'; return \'ok\' }',
    ],
    ids=["step-returns-garbage", "step-loops", "entry-points-removed", "forged-step-output"],
)
def test_overwriting_runtime_entry_points_changes_nothing_the_runtime_sees(admin, unharmed, code):
    # The runtime holds its own references to its entry points and to JSON, so replacing the
    # globals neither forges results nor wedges later calls of the function.
    name = deploy(admin, code)
    for _ in range(3):
        outcome = invoke(admin, name)
        assert_record(outcome, "success", 200)
        assert outcome.response.text == "ok"
    assert (
        admin.put(
            f"/api/v1/functions/{name}", json={"code": "function handler() { return 'fixed' }"}
        ).status_code
        == 200
    )
    fixed = invoke(admin, name)
    assert_record(fixed, "success", 200)
    assert fixed.response.text == "fixed"
    unharmed()


USED_TO_BREAK_THE_STEP = [
    "function handler() { Object.prototype.toJSON = () => { throw new Error('poisoned toJSON') }; return 'ok' }",
    "function handler() { Array.prototype.push = null; return 'ok' }",
    "function handler() { Object.defineProperty(Array.prototype, '0',"
    " {set() {}, get() { return 'x' }, configurable: true}); return 'ok' }",
    "function handler() { Map.prototype.get = () => undefined; Map.prototype.has = () => false; return 'ok' }",
]


@pytest.mark.parametrize(
    "code",
    USED_TO_BREAK_THE_STEP,
    ids=["tojson-throws", "array-push-removed", "index-setter", "map"],
)
def test_breaking_built_ins_the_step_used_to_rely_on_breaks_nothing(admin, unharmed, code):
    # The step protocol runs on captured built-ins and null-prototype data (primordials.js).
    name = deploy(admin, code)
    for _ in range(2):
        outcome = invoke(admin, name)
        assert_record(outcome, "success", 200)
        assert outcome.response.text == "ok"
    unharmed()


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("function handler() { return eval('(function () { syntax error') }", "SyntaxError: "),
        (
            "function handler() { return new Function('return ' + 'x'.repeat(10))() }",
            "ReferenceError: xxxxxxxxxx is not defined",
        ),
        (
            "function handler() { return Function('throw new TypeError(\"from Function\")')() }",
            "TypeError: from Function",
        ),
        ("function handler() { return eval('throw 42') }", "Uncaught: 42"),
    ],
    ids=["eval-syntax-error", "function-reference-error", "function-throws", "eval-throws-number"],
)
def test_eval_and_function_misuse_is_an_ordinary_500(admin, unharmed, code, message):
    outcome = run_hostile(admin, code)
    assert_record(outcome, "error", 500, message)
    unharmed()


def test_eval_of_an_infinite_loop_is_a_408(admin, unharmed):
    outcome = run_hostile(admin, "function handler() { return eval('for (;;) {}') }")
    assert_record(
        outcome,
        "timeout",
        408,
        "the function did not finish within its timeout of 1 s (timeout_seconds)",
    )
    unharmed()


def test_eval_cannot_redefine_the_handler_of_another_function(admin, unharmed, control):
    code = (
        f"function handler() {{ eval('globalThis.handler = () => \"hijacked\"'); "
        f"return typeof {control.replace('-', '_')} }}"
    )
    assert_record(run_hostile(admin, code), "success", 200)
    response = admin.post(f"/api/v1/functions/{control}/invoke", content="ping")
    assert response.json() == CONTROL_ANSWER
    unharmed()
