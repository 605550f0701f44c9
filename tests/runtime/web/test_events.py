"""Event, EventTarget, AbortController and AbortSignal."""

from __future__ import annotations

import asyncio

from .conftest import WebIsolate


async def test_listeners_run_capture_first_then_in_registration_order(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const t = new EventTarget(), log = [];
          t.addEventListener('x', () => log.push('a'));
          t.addEventListener('x', () => log.push('capture'), {capture: true});
          t.addEventListener('x', {handleEvent: (e) => log.push('object:' + e.type)});
          t.addEventListener('y', () => log.push('other type'));
          t.dispatchEvent(new Event('x')); return log; })()"""
    )
    assert got == ["capture", "a", "object:x"]


async def test_the_same_listener_is_registered_once(web: WebIsolate) -> None:
    got = web.eval(
        """(() => { const t = new EventTarget(); let n = 0; const f = () => n++;
          t.addEventListener('x', f); t.addEventListener('x', f);
          t.dispatchEvent(new Event('x')); return n; })()"""
    )
    assert got == 1


async def test_once_listeners_run_a_single_time(web: WebIsolate) -> None:
    got = web.eval(
        """(() => { const t = new EventTarget(); let n = 0;
          t.addEventListener('x', () => n++, {once: true});
          t.dispatchEvent(new Event('x')); t.dispatchEvent(new Event('x')); return n; })()"""
    )
    assert got == 1


async def test_remove_event_listener_matches_on_capture(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const t = new EventTarget(), log = []; const f = (e) => log.push(e.eventPhase);
          t.addEventListener('x', f, true); t.removeEventListener('x', f);
          t.dispatchEvent(new Event('x')); t.removeEventListener('x', f, {capture: true});
          t.dispatchEvent(new Event('x')); return log; })()"""
    )
    assert got == [2]


async def test_an_aborted_signal_removes_its_listener(web: WebIsolate) -> None:
    got = web.eval(
        """(() => { const t = new EventTarget(), c = new AbortController(); let n = 0;
          t.addEventListener('x', () => n++, {signal: c.signal});
          t.dispatchEvent(new Event('x')); c.abort(); t.dispatchEvent(new Event('x'));
          t.addEventListener('x', () => n++, {signal: c.signal});
          t.dispatchEvent(new Event('x')); return n; })()"""
    )
    assert got == 1


async def test_dispatch_sets_target_phase_and_resets_afterwards(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const t = new EventTarget(), e = new Event('x'); let during;
          t.addEventListener('x', function (ev) {
            during = [ev.target === t, ev.currentTarget === t, this === t, ev.eventPhase,
                      ev.composedPath().length]; });
          t.dispatchEvent(e);
          return [during, e.target === t, e.currentTarget, e.eventPhase, e.isTrusted]; })()"""
    )
    assert got == [[True, True, True, 2, 1], True, None, 0, False]


async def test_prevent_default_needs_cancelable_and_a_non_passive_listener(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const t = new EventTarget();
          t.addEventListener('c', (e) => e.preventDefault());
          t.addEventListener('p', (e) => e.preventDefault(), {passive: true});
          return [t.dispatchEvent(new Event('c', {cancelable: true})),
                  t.dispatchEvent(new Event('c')),
                  t.dispatchEvent(new Event('p', {cancelable: true}))]; })()"""
    )
    assert got == [False, True, True]


async def test_stop_immediate_propagation_skips_later_listeners(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const t = new EventTarget(), log = [];
          t.addEventListener('x', (e) => { log.push(1); e.stopImmediatePropagation(); });
          t.addEventListener('x', () => log.push(2));
          t.dispatchEvent(new Event('x')); return log; })()"""
    )
    assert got == [1]


async def test_a_throwing_listener_does_not_stop_dispatch(web: WebIsolate) -> None:
    got = web.eval(
        """(() => { const t = new EventTarget(); let ran = false;
          t.addEventListener('x', () => { throw new Error('listener failed'); });
          t.addEventListener('x', () => { ran = true; });
          return t.dispatchEvent(new Event('x')) && ran; })()"""
    )
    assert got is True


async def test_redispatching_an_event_in_flight_is_an_invalid_state_error(web: WebIsolate) -> None:
    got = web.eval(
        """(() => { const t = new EventTarget(); let name;
          t.addEventListener('x', (e) => { try { t.dispatchEvent(e); } catch (err) { name = err.name; } });
          t.dispatchEvent(new Event('x')); return name; })()"""
    )
    assert got == "InvalidStateError"


async def test_event_init_and_custom_event_detail(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const e = new Event('x', {bubbles: true, cancelable: 1});
          const c = new CustomEvent('y', {detail: {n: 1}});
          return [e.type, e.bubbles, e.cancelable, e.composed, c.detail, c instanceof Event,
                  new CustomEvent('z').detail, Event.AT_TARGET]; })()"""
    )
    assert got == ["x", True, True, False, {"n": 1}, True, None, 2]


async def test_abort_sets_reason_fires_once_and_calls_onabort(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const c = new AbortController(), s = c.signal, log = [];
          s.onabort = (e) => log.push('onabort:' + e.isTrusted);
          s.addEventListener('abort', () => log.push('listener'));
          const before = s.aborted; c.abort('why'); c.abort('again');
          return [before, s.aborted, s.reason, log]; })()"""
    )
    assert got == [False, True, "why", ["onabort:true", "listener"]]


async def test_default_abort_reason_is_an_abort_error(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const c = new AbortController(); c.abort();
          const a = AbortSignal.abort();
          return [c.signal.reason.name, c.signal.reason.code, a.aborted, a.reason.name]; })()"""
    )
    assert got == ["AbortError", 20, True, "AbortError"]


async def test_throw_if_aborted_throws_the_reason(web: WebIsolate) -> None:
    assert (
        web.error("AbortSignal.abort(new RangeError('r')).throwIfAborted()")["name"] == "RangeError"
    )
    assert web.eval("new AbortController().signal.throwIfAborted() === undefined") is True


async def test_abort_signal_cannot_be_constructed(web: WebIsolate) -> None:
    assert web.error("new AbortSignal()")["name"] == "TypeError"


async def test_any_follows_the_first_source_to_abort(web: WebIsolate) -> None:
    got = web.json(
        """(() => { const a = new AbortController(), b = new AbortController(), log = [];
          const any = AbortSignal.any([a.signal, b.signal]);
          const nested = AbortSignal.any([any]);
          any.onabort = () => log.push('any'); nested.onabort = () => log.push('nested');
          b.abort('b'); a.abort('a');
          return [any.aborted, any.reason, nested.reason, log]; })()"""
    )
    assert got == [True, "b", "b", ["any", "nested"]]


async def test_any_of_an_aborted_signal_is_aborted_at_once(web: WebIsolate) -> None:
    got = web.json(
        "(() => { const s = AbortSignal.any([AbortSignal.abort('x')]); return [s.aborted, s.reason]; })()"
    )
    assert got == [True, "x"]


async def test_timeout_aborts_with_a_timeout_error(web: WebIsolate) -> None:
    # mini-racer's own setTimeout stands in for core.js's timers here.
    web.eval("globalThis.timed = AbortSignal.timeout(10)")
    assert web.eval("timed.aborted") is False
    for _ in range(100):
        await asyncio.sleep(0.01)
        if web.eval("timed.aborted"):
            break
    assert web.json("[timed.aborted, timed.reason.name]") == [True, "TimeoutError"]


async def test_timeout_rejects_negative_delays(web: WebIsolate) -> None:
    assert web.error("AbortSignal.timeout(-1)")["name"] == "TypeError"
