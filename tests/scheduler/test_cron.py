"""The cron scheduler over a real database and runtime, driven through chosen due times."""

from __future__ import annotations

import asyncio
import json

import structlog

from flux_edge.scheduler import CronLedger, CronScheduler, Schedule
from flux_edge.scheduler.ledger import Claim
from flux_edge.service.functions import FunctionChanges

ECHO = "function handler(req) { return {status: 200, body: JSON.stringify(req)}; }"
SLOW = (
    "async function handler(req) {\n"
    "  await new Promise((resolve) => setTimeout(resolve, 800));\n"
    "  return 'done';\n"
    "}"
)


async def test_a_due_run_fires_once_with_the_cron_request_and_trigger_type(stack, at):
    function_id = await stack.deploy("nightly", ECHO, "* * * * *")
    scheduler = stack.scheduler()
    await scheduler.refresh(at("10:00:30"))
    try:
        assert await scheduler.tick(at("10:00:59")) == []
        started = await scheduler.tick(at("10:01:00"))
        assert len(started) == 1
        await asyncio.gather(*started)
    finally:
        await scheduler.stop()
    [record] = await stack.executions(function_id)
    assert record.trigger_type == "cron"
    assert record.status == "success"
    request = json.loads(record.result or "")
    assert request["method"] == "POST"
    assert request["url"] == "http://127.0.0.1:8080/api/v1/functions/nightly/invoke"
    assert request["headers"] == {"x-flux-trigger": "cron"}
    assert request["body"] == ""


async def test_the_next_run_is_due_at_the_next_matching_minute(stack, at):
    await stack.deploy("every-five", ECHO, "*/5 * * * *")
    scheduler = stack.scheduler()
    try:
        await scheduler.tick(at("10:00:30"))
        function_id = (await stack.store.get_function("every-five")).id  # type: ignore[union-attr]
        assert scheduler.next_due(function_id) == at("10:05:00")
    finally:
        await scheduler.stop()


async def test_a_late_tick_fires_once_and_missed_runs_are_not_replayed(stack, at):
    function_id = await stack.deploy("late", ECHO, "* * * * *")
    scheduler = stack.scheduler()
    await scheduler.refresh(at("10:00:30"))
    try:
        # The loop was stalled for five minutes: one run now, then the next minute, no backlog.
        await asyncio.gather(*await scheduler.tick(at("10:05:10")))
        assert await scheduler.tick(at("10:05:50")) == []
        assert scheduler.next_due(function_id) == at("10:06:00")
    finally:
        await scheduler.stop()
    assert len(await stack.executions(function_id)) == 1


async def test_editing_the_schedule_takes_effect_at_the_next_tick(stack, at):
    function_id = await stack.deploy("edited", ECHO, "0 0 * * *")
    scheduler = stack.scheduler()
    try:
        await scheduler.tick(at("10:00:30"))
        assert scheduler.next_due(function_id) == at("00:00:00").replace(day=6)
        await stack.functions.update("edited", FunctionChanges(cron_schedule="*/2 * * * *"))
        await scheduler.tick(at("10:00:40"))
        assert scheduler.next_due(function_id) == at("10:02:00")
        assert len(await scheduler.tick(at("10:02:00"))) == 1
    finally:
        await scheduler.stop()


async def test_deleting_the_function_removes_its_schedule(stack, at):
    function_id = await stack.deploy("deleted", ECHO, "* * * * *")
    scheduler = stack.scheduler()
    try:
        await scheduler.tick(at("10:00:30"))
        await stack.functions.delete("deleted")
        assert await scheduler.tick(at("10:01:00")) == []
        assert scheduler.next_due(function_id) is None
    finally:
        await scheduler.stop()


async def test_disabling_stops_runs_and_enabling_resumes_them_from_now(stack, at):
    await stack.deploy("toggled", ECHO, "* * * * *")
    scheduler = stack.scheduler()
    try:
        await scheduler.tick(at("10:00:30"))
        await stack.functions.update("toggled", FunctionChanges(enabled=False))
        assert await scheduler.tick(at("10:01:00")) == []
        await stack.functions.update("toggled", FunctionChanges(enabled=True))
        assert await scheduler.tick(at("10:03:20")) == []  # not a replay of 10:02 and 10:03
        assert len(await scheduler.tick(at("10:04:00"))) == 1
    finally:
        await scheduler.stop()


async def test_removing_the_schedule_stops_runs(stack, at):
    function_id = await stack.deploy("unscheduled", ECHO, "* * * * *")
    scheduler = stack.scheduler()
    try:
        await scheduler.tick(at("10:00:30"))
        await stack.functions.update("unscheduled", FunctionChanges(cron_schedule=None))
        assert await scheduler.tick(at("10:01:00")) == []
        assert scheduler.next_due(function_id) is None
    finally:
        await scheduler.stop()


async def test_a_run_never_overlaps_the_previous_run_and_the_skip_is_logged(stack, at):
    function_id = await stack.deploy("slow", SLOW, "* * * * *")
    scheduler = stack.scheduler()
    await scheduler.refresh(at("10:00:30"))
    try:
        first = await scheduler.tick(at("10:01:00"))
        with structlog.testing.capture_logs() as logs:
            second = await scheduler.tick(at("10:02:00"))  # the first run is still sleeping
        assert len(first) == 1
        assert second == []
        await asyncio.gather(*first)
        assert len(await scheduler.tick(at("10:03:00"))) == 1  # once it finished, runs resume
    finally:
        await scheduler.stop()
    skips = [e for e in logs if e["event"] == "cron_run_skipped"]
    assert [(e["function"], e["due_at"]) for e in skips] == [("slow", "2026-01-05T10:02:00Z")]
    assert len(await stack.executions(function_id)) == 2


async def test_two_workers_fire_each_due_run_exactly_once(stack, second_worker, at):
    function_id = await stack.deploy("shared", ECHO, "* * * * *")
    one, two = stack.scheduler("worker-1"), second_worker.scheduler("worker-2")
    await one.refresh(at("10:00:30"))
    await two.refresh(at("10:00:45"))
    try:
        first = [*await one.tick(at("10:01:00")), *await two.tick(at("10:01:00.200"))]
        await asyncio.gather(*first)
        second = [*await two.tick(at("10:02:00")), *await one.tick(at("10:02:00.100"))]
        await asyncio.gather(*second)
    finally:
        await one.stop()
        await two.stop()
    assert (len(first), len(second)) == (1, 1)
    await second_worker.store.flush_executions()
    assert len(await stack.executions(function_id)) == 2


def test_a_function_deleted_meanwhile_gets_no_claim(stack):
    schedule = Schedule("missing-function", "ghost", "* * * * *", 30)
    ledger = CronLedger(stack.db_path, worker="w")
    try:
        assert ledger.claim(schedule, "2026-01-05T10:01:00Z") is Claim.TAKEN
    finally:
        ledger.close()


async def test_a_crashed_run_blocks_only_until_its_lease_expires(stack, at):
    function_id = await stack.deploy("crashed", ECHO, "* * * * *", timeout_seconds=1)
    schedule = Schedule(function_id, "crashed", "* * * * *", 1)
    ledger = CronLedger(stack.db_path, worker="dead-worker")
    try:
        assert ledger.claim(schedule, "2026-01-05T10:01:00Z") is Claim.RUN  # never finished
        assert ledger.claim(schedule, "2026-01-05T10:02:00Z") is Claim.SKIPPED
        ledger._conn.execute("UPDATE cron_claims SET lease_until = 0 WHERE outcome = 'running'")
        assert ledger.claim(schedule, "2026-01-05T10:03:00Z") is Claim.RUN
    finally:
        ledger.close()


async def test_the_loop_loads_schedules_at_start_and_follows_changes_until_stopped(stack):
    function_id = await stack.deploy("looped", ECHO, "0 0 1 1 *")
    scheduler = CronScheduler(
        CronLedger(stack.db_path, worker="w"),
        stack.invocations,
        invoke_url=lambda name: name,
        tick_seconds=0.05,
    )
    await scheduler.start()
    try:
        assert scheduler.next_due(function_id) is not None
        await stack.functions.delete("looped")
        for _ in range(100):  # the loop notices within a tick
            if scheduler.next_due(function_id) is None:
                break
            await asyncio.sleep(0.02)
        assert scheduler.next_due(function_id) is None
    finally:
        await scheduler.stop()
