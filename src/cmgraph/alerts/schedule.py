"""The scheduler: the date-driven work of one day, run by background work on an interval.

Each run, for ``clock.today()``: first the retests that fell due stop earning points where
the organisation asks for it (``domain.calendar_upkeep``), then the scheduled checks append
their events (``domain.scheduled_checks``), each in its own transaction. Both are keyed by
day, so running them on every worker, at every start and every ``CMGRAPH_SCHEDULE_SECONDS``
changes nothing twice; the interval only decides how soon a new finding is noticed. A run
also follows each UTC midnight, so a new day's findings do not wait for the interval.

The events wake the evaluator like any other commit; alerts, digests and mail follow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import calendar_upkeep, clock
from cmgraph.domain.scheduled_checks import CheckRun, run_checks

log = logging.getLogger("cmgraph.schedule")

# Past midnight by this much, so that a clock a little behind still sees the new day.
AFTER_MIDNIGHT = timedelta(seconds=5)


@dataclass(frozen=True)
class ScheduleRun:
    day: date
    retests_lapsed: int
    checks: CheckRun


async def run_schedule(
    sessions: async_sessionmaker[AsyncSession], *, today: date | None = None
) -> ScheduleRun:
    """One run of the day's date-driven work; safe to repeat and to run on many workers."""
    day = today or clock.today()
    lapsed = await lapse_retests(sessions, day)
    async with UnitOfWork(sessions) as uow:
        checks = await run_checks(uow, day)
    if checks.events or lapsed:
        log.info(
            "scheduled checks for %s: %d new findings %s, %d retest lapses changed",
            day,
            checks.events,
            checks.reported,
            lapsed,
        )
    return ScheduleRun(day, lapsed, checks)


async def lapse_retests(sessions: async_sessionmaker[AsyncSession], day: date) -> int:
    """Actions due for retest stop earning points where the organisation says so (or get
    them back); returns how many changed."""
    async with UnitOfWork(sessions) as uow:
        return await calendar_upkeep.lapse_retests(uow, day)


def seconds_until_next_run(interval_seconds: float, now: datetime | None = None) -> float:
    """The interval, or less when a UTC day begins sooner."""
    moment = now or clock.now()
    next_day = datetime.combine(moment.date() + timedelta(days=1), time(), UTC)
    until_midnight = (next_day + AFTER_MIDNIGHT - moment).total_seconds()
    return max(1.0, min(float(interval_seconds), until_midnight))
