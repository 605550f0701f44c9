"""Cron schedules: a per-worker scheduler whose runs are claimed once across workers in SQLite."""

from flux_edge.scheduler.cron import CronScheduler, rfc3339, utc_clock, worker_name
from flux_edge.scheduler.ledger import Claim, CronLedger, Schedule

__all__ = [
    "Claim",
    "CronLedger",
    "CronScheduler",
    "Schedule",
    "rfc3339",
    "utc_clock",
    "worker_name",
]
