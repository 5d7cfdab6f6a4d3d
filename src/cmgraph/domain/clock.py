"""The one clock every date rule and scheduled check reads (DOMAIN.md section 15).

Production reads the system clock. Tests move this clock (``freeze``, ``advance``) rather
than sleeping, so "overdue tomorrow" or "retest due in 90 days" is a step, not a wait.
Everything that stamps a row goes through ``models.utcnow``, which reads it too, so a moved
clock moves history, events and alerts together.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

_frozen: datetime | None = None
_offset = timedelta(0)


def now() -> datetime:
    """The current moment, timezone-aware UTC."""
    return (_frozen if _frozen is not None else datetime.now(UTC)) + _offset


def today() -> date:
    """Today's date in UTC: the day every calendar rule counts in."""
    return now().date()


def freeze(at: datetime) -> None:
    """Stop the clock at ``at`` (tests only)."""
    global _frozen, _offset
    if at.tzinfo is None:
        raise ValueError("freeze needs a timezone-aware datetime")
    _frozen, _offset = at.astimezone(UTC), timedelta(0)


def run_from(at: datetime) -> None:
    """Let the clock run on from ``at`` (tests only): time passes, from a chosen moment."""
    global _frozen, _offset
    if at.tzinfo is None:
        raise ValueError("run_from needs a timezone-aware datetime")
    _frozen, _offset = None, at - datetime.now(UTC)


def advance(by: timedelta) -> None:
    """Move the clock on by ``by``, frozen or running (tests only)."""
    global _offset
    _offset += by


def reset() -> None:
    """Back to the system clock."""
    global _frozen, _offset
    _frozen, _offset = None, timedelta(0)
