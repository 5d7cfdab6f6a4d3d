"""Work on a calendar (DOMAIN.md section 15): the date rules, as predicates and SQL terms.

Every reader (lists, filters, the dashboard, the report) and the scheduled checks ask these
functions, so "overdue" means one thing everywhere. Days count in UTC from
``clock.today()``.

- Due: an action with a due date is *due soon* from ``due_soon_days`` before that date up to
  it, and *overdue* after it, while its work is open (not implemented, alternatively
  implemented or out of scope).
- Retest: a passed action tested on day T with a cadence of N days (its own, else its
  definition's) is *due for retest* from day T + N on: ``retest_due_on`` holds that day,
  kept by the write path, so the rule is a date comparison on every backend. The stored
  column is null unless the action passed (``retest_due_on`` below; ``workflow.settle_retest``
  runs whenever the test status changes), so the retest predicates and clauses never check
  the test status again, and neither do their callers.
- Lapse: under the organisation's ``retest_loses_points``, an action due for retest has lost
  its points until it is retested.
- Evidence: past its review-by date, evidence is *expired*; within ``due_soon_days`` of it,
  *expiring*.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_

from cmgraph.domain.clause_shapes import constant
from cmgraph.domain.enums import IMPLEMENTED_STATUSES, ImplementationStatus, TestStatus
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.models import Evidence, ImprovementAction, Organisation
from cmgraph.domain.organisation import setting_query

# Work that is done or will not be done has no due date to miss.
CLOSED_STATUSES = frozenset(IMPLEMENTED_STATUSES | {ImplementationStatus.OUT_OF_SCOPE})
# The longest cadence and the furthest date accepted: a typo (year 20260) should not pass.
MAX_RETEST_INTERVAL_DAYS = 3660
MAX_DAYS_AHEAD = 3660
# How far back a due or review-by date may lie: an old backlog imports with its real dates,
# a century-old one is a typo.
MAX_DAYS_BEHIND = 3660
MIN_DUE_SOON_DAYS, MAX_DUE_SOON_DAYS = 1, 365


class DueState(StrEnum):
    """Where an action stands against its due date."""

    NONE = "NONE"  # no due date, or the work is closed
    ON_TRACK = "ON_TRACK"
    DUE_SOON = "DUE_SOON"
    OVERDUE = "OVERDUE"


def due_state(
    due_date: date | None, status: ImplementationStatus, today: date, due_soon_days: int
) -> DueState:
    if due_date is None or status in CLOSED_STATUSES:
        return DueState.NONE
    if due_date < today:
        return DueState.OVERDUE
    if due_date <= due_soon_until(today, due_soon_days):
        return DueState.DUE_SOON
    return DueState.ON_TRACK


def retest_due_on(
    test_status: TestStatus, test_date: date | None, interval_days: int | None
) -> date | None:
    """The day a passed test needs repeating, or None when no retest is scheduled."""
    if test_status is not TestStatus.PASSED or test_date is None or not interval_days:
        return None
    return test_date + timedelta(days=interval_days)


def is_retest_due(due_on: date | None, today: date) -> bool:
    return due_on is not None and due_on <= today


def evidence_expired(review_by: date | None, today: date) -> bool:
    return review_by is not None and review_by < today


def evidence_expiring(review_by: date | None, today: date, within_days: int) -> bool:
    return review_by is not None and today <= review_by <= today + timedelta(days=within_days)


# What a date or a cadence may be, wherever it is entered.


def check_day(value: date | None, today: date, field: str, what: str = "The date") -> None:
    """A due or review-by date: within ``MAX_DAYS_BEHIND`` before and ``MAX_DAYS_AHEAD``
    after today. Past days are allowed (an imported backlog is overdue from the start)."""
    if value is None:
        return
    if value > today + timedelta(days=MAX_DAYS_AHEAD):
        raise DomainError(
            ErrorCode.INVALID,
            f"{what} may be at most {MAX_DAYS_AHEAD} days ahead ({value.isoformat()} is further).",
            field,
        )
    if value < today - timedelta(days=MAX_DAYS_BEHIND):
        raise DomainError(
            ErrorCode.INVALID,
            f"{what} may be at most {MAX_DAYS_BEHIND} days in the past "
            f"({value.isoformat()} is older).",
            field,
        )


def check_retest_interval(days: int | None, field: str = "retestIntervalDays") -> None:
    """A cadence is 1 to ``MAX_RETEST_INTERVAL_DAYS`` days; None means none of its own."""
    if days is not None and not 1 <= days <= MAX_RETEST_INTERVAL_DAYS:
        raise DomainError(
            ErrorCode.INVALID,
            f"Retest every 1 to {MAX_RETEST_INTERVAL_DAYS} days, or never (blank or null), "
            f"not {days}.",
            field,
        )


def check_due_soon_days(days: int, field: str = "dueSoonDays") -> None:
    if not MIN_DUE_SOON_DAYS <= days <= MAX_DUE_SOON_DAYS:
        raise DomainError(
            ErrorCode.INVALID,
            f"Due soon means {MIN_DUE_SOON_DAYS} to {MAX_DUE_SOON_DAYS} days before the due date.",
            field,
        )


def effective_retest_interval(own: int | None, default: int | None) -> int | None:
    """The action's own cadence, else its definition version's default."""
    return own if own is not None else default


def retest_lapsed(due_on: date | None, today: date, loses_points: bool) -> bool:
    """Whether an action has lost its points until retested (organisation's choice)."""
    return loses_points and is_retest_due(due_on, today)


# SQL terms of the same rules, for filters and the scheduled checks.


def due_soon_days_query() -> Select[int]:
    """The organisation's ``due_soon_days``, for readers that need it with a filter."""
    return setting_query(Organisation.due_soon_days)


def _open_work() -> ColumnElement[bool]:
    return ImprovementAction.implementation_status.not_in(
        constant("closed_statuses", sorted(CLOSED_STATUSES))
    )


def due_soon_until(today: date, due_soon_days: int) -> date:
    """The last due date that is due soon today."""
    return today + timedelta(days=due_soon_days)


# ``today`` and ``until`` (``due_soon_until``) are dates or bound parameters.


def overdue_clause(today: Any) -> ColumnElement[bool]:
    return and_(ImprovementAction.due_date < today, _open_work())


def due_soon_clause(today: Any, until: Any) -> ColumnElement[bool]:
    return and_(
        ImprovementAction.due_date >= today,
        ImprovementAction.due_date <= until,
        _open_work(),
    )


def on_track_clause(until: Any) -> ColumnElement[bool]:
    return and_(ImprovementAction.due_date > until, _open_work())


def no_due_state_clause() -> ColumnElement[bool]:
    """``DueState.NONE``: no due date, or the work is closed."""
    return or_(ImprovementAction.due_date.is_(None), ~_open_work())


def due_state_clause(state: DueState, today: Any, until: Any) -> ColumnElement[bool]:
    """``until``: ``due_soon_until``, needed for DUE_SOON and ON_TRACK."""
    if state is DueState.OVERDUE:
        return overdue_clause(today)
    if state is DueState.DUE_SOON:
        return due_soon_clause(today, until)
    if state is DueState.ON_TRACK:
        return on_track_clause(until)
    return no_due_state_clause()


def due_before_clause(day: Any) -> ColumnElement[bool]:
    """Open work whose due date comes before ``day``."""
    return and_(ImprovementAction.due_date < day, _open_work())


def retest_due_clause(today: Any) -> ColumnElement[bool]:
    due: ColumnElement[bool] = ImprovementAction.retest_due_on <= today
    return due


def retest_lapsed_clause(today: date, loses_points: bool) -> ColumnElement[bool]:
    """``retest_lapsed`` in SQL; never null (no retest day is not due), so it negates."""
    if not loses_points:
        return false()
    return and_(ImprovementAction.retest_due_on.is_not(None), retest_due_clause(today))


def evidence_expired_clause(today: date) -> ColumnElement[bool]:
    return Evidence.review_by < today


def evidence_expiring_clause(today: date, within_days: int) -> ColumnElement[bool]:
    return and_(
        Evidence.review_by >= today, Evidence.review_by <= today + timedelta(days=within_days)
    )
