"""Subscription fan-out: one hub per server process reads committed changes and routes them.

The database is the only source of truth. When woken (an in-process signal after a local
commit, a PostgreSQL NOTIFY relayed by ``signals.PgListener`` for commits elsewhere, or a
slow poll that catches anything a wake-up missed) the hub reads the events it has not seen,
resolves once per batch what routing needs (assessment -> regulation, the changed actions,
the affected assessments, overall scores per read scope) and hands a message to every
subscriber that asked for it and may read it. Each subscriber has a bounded queue: the hub
never waits for a subscriber, and one that falls too far behind is closed with a reason
instead of holding memory or slowing the others.

Event ids are not committed in id order on PostgreSQL (a transaction that took an id early
may commit after one that took a later id), so ids skipped over are remembered as gaps and
looked at again for a while; ids a rollback consumed simply never show up.

Each pump reads events and the rows it sends in one snapshot (SQLite's read transaction;
REPEATABLE READ on PostgreSQL), so a message shows the state right after the events it was
read for, never a commit whose event comes in a later pump: every commit is covered by
exactly one message, in commit order per action. Commits read in the same pump share one
message, the latest state (so a version may be skipped, never repeated). Each subscriber
also drops a message whose action state it already has, or whose ``version`` is older than
one it was sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmgraph.adapters import signals
from cmgraph.adapters.db import database_unavailable
from cmgraph.domain.action_records import action_select
from cmgraph.domain.compliance_score import overall_score
from cmgraph.domain.enums import AlertStatus, EventType, Severity
from cmgraph.domain.models import (
    Alert,
    Assessment,
    Event,
    Evidence,
    ImprovementAction,
    Template,
    utcnow,
)
from cmgraph.domain.permissions import Principal, may_read_any
from cmgraph.domain.scoring import Score

log = logging.getLogger("cmgraph.resolvers.hub")

POLL_SECONDS = 2.0
QUEUE_SIZE = 256
# Action states the hub remembers to drop repeats: a repeat can only come from reads close
# together, so the most recently sent actions suffice.
REMEMBERED_STATES = 4096
BATCH = 500
GAP_SECONDS = 120.0  # how long a skipped event id may still turn up (a long transaction)
MAX_GAPS = 1000
ALERT_LOOKBACK = timedelta(seconds=30)  # alert rows are written with the writer's clock


# -- what subscribers ask for -----------------------------------------------------------------


@dataclass(frozen=True)
class ActionTopic:
    """Changes of improvement actions, optionally only of given assessments or actions."""

    assessment_ids: frozenset[int] | None = None
    action_ids: frozenset[int] | None = None

    def matches(self, action_id: int, assessment_ids: Iterable[int]) -> bool:
        if self.action_ids is not None and action_id not in self.action_ids:
            return False
        return self.assessment_ids is None or not self.assessment_ids.isdisjoint(assessment_ids)


@dataclass(frozen=True)
class ScoreTopic:
    """Score changes of one assessment, or of the overall score (``assessment_id`` None)."""

    assessment_id: int | None = None


@dataclass(frozen=True)
class AlertTopic:
    severities: frozenset[Severity] | None = None
    statuses: frozenset[AlertStatus] | None = None

    def matches(self, alert: Alert) -> bool:
        return (self.severities is None or alert.severity in self.severities) and (
            self.statuses is None or alert.status in self.statuses
        )


Topic = ActionTopic | ScoreTopic | AlertTopic


# -- what they receive ------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionChanged:
    """The action as read right after the change (shared by every subscriber of this batch).

    ``memo`` holds what subscribers derive from the message alike (the GraphQL object), so
    it is built once per message rather than once per subscriber.
    """

    action_id: int
    row: tuple[Any, Any, Any]  # (ImprovementAction, ActionDefinition, ActionDefinitionVersion)
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # (version, definition's latest version, evidence count, highest evidence id, evidence
    # ids with review-by dates): equal states look the same to a subscriber. Evidence and
    # pending updates leave ``version``.
    state: tuple[Any, ...] | None = None

    @property
    def version(self) -> int:
        return int(self.row[0].version)


@dataclass(frozen=True)
class ScoreChanged:
    """``assessment`` None: the overall score over what the subscriber may read."""

    assessment: Assessment | None
    score: Score
    delta: float
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class AlertChanged:
    alert: Alert
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


Message = ActionChanged | ScoreChanged | AlertChanged


class SubscriberClosed(Exception):
    """The hub closed this subscriber; ``reason`` says why (shown to the client)."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class NotReadable(Exception):
    """The subscription names something the subscriber may not read (or that does not exist)."""


def read_scope(principal: Principal) -> Hashable:
    """Principals with the same scope see the same things (and the same overall score)."""
    if principal.sees_everything:
        return "all"
    return (frozenset(principal.assessment_grants), frozenset(principal.regulation_grants))


class Subscriber:
    """One subscription's mailbox: bounded, filled by the hub without ever waiting."""

    def __init__(self, hub: Hub, principal: Principal, topic: Topic, size: int) -> None:
        self.hub = hub
        self.principal = principal
        self.topic = topic
        self.scope = read_scope(principal)
        self.size = size
        self._queue: deque[Message] = deque()
        self._ready = asyncio.Event()
        self._closed: SubscriberClosed | None = None

    @property
    def closed(self) -> bool:
        return self._closed is not None

    @property
    def pending(self) -> int:
        """Messages queued and not yet taken."""
        return len(self._queue)

    def offer(self, message: Message) -> bool:
        """Queue ``message``; False when it was dropped (the subscriber is closed)."""
        if self._closed is not None:
            return False
        if len(self._queue) >= self.size:
            self.close(
                f"Subscriber fell behind: more than {self.size} changes were waiting to be "
                "sent. Read faster, or subscribe again to resume from now.",
                "SUBSCRIBER_TOO_SLOW",
            )
            return False
        self._queue.append(message)
        self._ready.set()
        return True

    def close(self, reason: str, code: str) -> None:
        """Stop this subscriber: queued messages are dropped, the reader gets the reason."""
        if self._closed is not None:
            return
        self._closed = SubscriberClosed(reason, code)
        self._queue.clear()
        self._ready.set()
        self.hub.unsubscribe(self)

    async def get(self) -> Message:
        while not self._queue:
            if self._closed is not None:
                raise self._closed
            self._ready.clear()
            await self._ready.wait()
        if self._closed is not None:
            raise self._closed
        return self._queue.popleft()

    def __aiter__(self) -> Subscriber:
        return self

    async def __anext__(self) -> Message:
        return await self.get()


@dataclass
class _Gap:
    low: int
    high: int
    until: float


@dataclass
class HubStats:
    """Counters for tests and benchmarks."""

    wakeups: int = 0
    events: int = 0
    delivered: int = 0
    closed_slow: int = 0
    repeats: int = 0  # action states read again after being sent (dropped)
    errors: int = 0
    last_batch_at: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)


class Hub:
    """Reads committed changes once and fans them out to this process's subscribers."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        poll_seconds: float | None = None,
        queue_size: int | None = None,
        batch: int | None = None,
    ) -> None:
        self._sessions = sessions
        # Module defaults read at construction, so a test can shrink them for a whole app.
        self.poll_seconds = poll_seconds or POLL_SECONDS
        self.queue_size = queue_size or QUEUE_SIZE
        self.batch = batch or BATCH
        # Subscribers by kind, each with its topic.
        self._actions: dict[Subscriber, ActionTopic] = {}
        self._scores: dict[Subscriber, ScoreTopic] = {}
        self._alerts: dict[Subscriber, AlertTopic] = {}
        self._regulations: dict[int, int] = {}  # assessment id -> regulation id (never changes)
        self._last_id = 0
        self._gaps: list[_Gap] = []
        self._overall: dict[Hashable, Score] = {}
        self._alert_since = utcnow()
        self._alert_seen: dict[int, datetime] = {}
        self._sent: dict[int, tuple[Any, ...]] = {}  # action id -> last state sent
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.stats = HubStats()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        async with self._sessions() as session:
            self._last_id = int(await session.scalar(select(func.max(Event.id))) or 0)
        self._alert_since = utcnow()
        self._task = asyncio.create_task(self._run(), name="cmgraph-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for subscriber in [*self._actions, *self._scores, *self._alerts]:
            subscriber.close("The server is shutting down; subscribe again.", "SHUTTING_DOWN")

    @property
    def subscriber_count(self) -> int:
        return len(self._actions) + len(self._scores) + len(self._alerts)

    # -- subscribing --------------------------------------------------------------------------

    async def subscribe(self, principal: Principal, topic: Topic) -> Subscriber:
        """A new subscriber; raises ``NotReadable`` for an assessment the caller cannot read."""
        subscriber = Subscriber(self, principal, topic, self.queue_size)
        if isinstance(topic, ScoreTopic):
            if topic.assessment_id is not None:
                async with self._sessions() as session:
                    await self._learn(session, [topic.assessment_id])
                if topic.assessment_id not in self._regulations or not self._may_read(
                    principal, [topic.assessment_id]
                ):
                    raise NotReadable(topic.assessment_id)
            else:
                async with self._lock:
                    if subscriber.scope not in self._overall:
                        async with self._sessions() as session:
                            self._overall[subscriber.scope] = await overall_score(
                                session.execute, principal
                            )
            self._scores[subscriber] = topic
        elif isinstance(topic, ActionTopic):
            self._actions[subscriber] = topic
        else:
            self._alerts[subscriber] = topic
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._actions.pop(subscriber, None)
        self._scores.pop(subscriber, None)
        self._alerts.pop(subscriber, None)
        overall = ScoreTopic(None)
        if subscriber.topic == overall and not any(
            s.scope == subscriber.scope and s.topic == overall for s in self._scores
        ):
            self._overall.pop(subscriber.scope, None)

    # -- the loop -----------------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            seen = {
                signals.events_committed: signals.events_committed.generation,
                signals.alerts_committed: signals.alerts_committed.generation,
            }
            try:
                await self.pump()
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.stats.errors += 1
                if database_unavailable(error):
                    log.warning("subscription hub: database unavailable, retrying: %r", error)
                else:
                    log.exception("subscription hub: reading changes failed; retrying")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
            await signals.wait_any(seen, self.poll_seconds)
            self.stats.wakeups += 1

    async def pump(self) -> None:
        """Read and route everything committed since the last pump."""
        async with self._lock:
            async with self._sessions() as session:
                if session.get_bind().dialect.name == "postgresql":
                    # One snapshot for the events and the rows sent for them (SQLite's read
                    # transaction is one already): see the module docstring.
                    await session.connection(
                        execution_options={"isolation_level": "REPEATABLE READ"}
                    )
                while True:
                    events = await self._read_events(session)
                    if events:
                        self.stats.events += len(events)
                        if self._actions or self._scores:
                            try:
                                await self._route(session, events)
                            except Exception:
                                # A batch that cannot be routed must not stop the ones after.
                                self.stats.errors += 1
                                log.exception("subscription hub: routing events failed")
                    if len(events) < self.batch:
                        break
                await self._pump_alerts(session)
            self.stats.last_batch_at = time.monotonic()

    # -- reading events -----------------------------------------------------------------------

    async def _read_events(self, session: AsyncSession) -> list[Any]:
        now = time.monotonic()
        self._gaps = [gap for gap in self._gaps if gap.until > now][-MAX_GAPS:]
        where: ColumnElement[bool] = Event.id > self._last_id
        for gap in self._gaps:
            where = where | Event.id.between(gap.low, gap.high)
        rows = (
            await session.execute(
                select(Event.id, Event.type, Event.action_id, Event.assessment_id, Event.payload)
                .where(where)
                .order_by(Event.id)
                .limit(self.batch)
            )
        ).all()
        expected = self._last_id + 1
        for row in rows:
            if row.id < expected:
                self._fill_gap(row.id)
                continue
            if row.id > expected:
                self._gaps.append(_Gap(expected, row.id - 1, now + GAP_SECONDS))
            expected = row.id + 1
        self._last_id = max(self._last_id, expected - 1)
        return list(rows)

    def _fill_gap(self, event_id: int) -> None:
        for index, gap in enumerate(self._gaps):
            if gap.low <= event_id <= gap.high:
                parts = [
                    _Gap(low, high, gap.until)
                    for low, high in ((gap.low, event_id - 1), (event_id + 1, gap.high))
                    if low <= high
                ]
                self._gaps[index : index + 1] = parts
                return

    async def _learn(self, session: AsyncSession, assessment_ids: Iterable[int]) -> None:
        """Cache assessment -> regulation for ids not seen before (one query)."""
        unknown = {a for a in assessment_ids if a not in self._regulations}
        if not unknown:
            return
        rows = await session.execute(
            select(Assessment.id, Template.regulation_id)
            .join(Template, Template.id == Assessment.template_id)
            .where(Assessment.id.in_(unknown))
        )
        self._regulations.update({a: r for a, r in rows.all()})

    def _may_read(self, principal: Principal, assessment_ids: Iterable[int]) -> bool:
        return may_read_any(principal, assessment_ids, self._regulations)

    # -- routing ------------------------------------------------------------------------------

    async def _route(self, session: AsyncSession, events: list[Any]) -> None:
        reach = {e.id: _assessment_ids(e) for e in events}
        await self._learn(session, {a for ids in reach.values() for a in ids})
        if self._actions:
            await self._route_actions(session, events, reach)
        if self._scores:
            await self._route_scores(session, events, reach)

    async def _route_actions(
        self, session: AsyncSession, events: list[Any], reach: dict[int, list[int]]
    ) -> None:
        wanted: dict[Subscriber, dict[int, None]] = {}
        readable: dict[tuple[Hashable, int], bool] = {}
        for event in events:
            if event.action_id is None:
                continue
            ids = reach[event.id]
            for subscriber, topic in self._actions.items():
                if not topic.matches(event.action_id, ids):
                    continue
                key = (subscriber.scope, event.id)
                if key not in readable:
                    readable[key] = self._may_read(subscriber.principal, ids)
                if readable[key]:
                    # One message per action and batch: the state after all of its events.
                    wanted.setdefault(subscriber, {})[event.action_id] = None
        if not wanted:
            return

        action_ids = {a for ids in wanted.values() for a in ids}
        rows = await session.execute(action_select().where(ImprovementAction.id.in_(action_ids)))
        evidence = await session.execute(
            select(Evidence.action_id, Evidence.id, Evidence.review_by)
            .where(Evidence.action_id.in_(action_ids))
            .order_by(Evidence.action_id, Evidence.id)
        )
        held: dict[int, list[tuple[int, Any]]] = {}
        for action_id, evidence_id, review_by in evidence.all():
            held.setdefault(action_id, []).append((evidence_id, review_by))
        found = {
            a.id: ActionChanged(
                a.id, (a, d, v), state=(a.version, d.latest_version, *_evidence_state(held, a.id))
            )
            for a, d, v in rows.all()
        }
        for action_id, message in list(found.items()):
            if not self._news(message):
                del found[action_id]
                self.stats.repeats += 1
        for subscriber, changed in wanted.items():
            for action_id in changed:
                if action_id in found:
                    self._offer(subscriber, found[action_id])

    async def _route_scores(
        self, session: AsyncSession, events: list[Any], reach: dict[int, list[int]]
    ) -> None:
        changes = [e for e in events if e.type == EventType.SCORE_CHANGE.value]
        if not changes:
            return
        by_assessment: dict[int, list[Subscriber]] = {}
        overall: dict[Hashable, list[Subscriber]] = {}
        for subscriber, topic in self._scores.items():
            assessment_id = topic.assessment_id
            if assessment_id is None:
                overall.setdefault(subscriber.scope, []).append(subscriber)
            else:
                by_assessment.setdefault(assessment_id, []).append(subscriber)

        if by_assessment:
            entries = [
                entry
                for event in changes
                for entry in (event.payload or {}).get("assessments", [])
                if entry.get("assessmentId") in by_assessment
            ]
            wanted = {entry["assessmentId"] for entry in entries}
            rows: dict[int, Assessment] = {}
            if wanted:
                found = await session.scalars(select(Assessment).where(Assessment.id.in_(wanted)))
                rows = {a.id: a for a in found}
            for entry in entries:
                assessment = rows.get(entry["assessmentId"])
                if assessment is None:
                    continue
                after = entry.get("after") or {}
                message = ScoreChanged(
                    assessment,
                    Score(float(after.get("earned", 0.0)), int(after.get("possible", 0))),
                    float(entry.get("delta", 0.0)),
                )
                for subscriber in by_assessment[assessment.id]:
                    if self._may_read(subscriber.principal, [assessment.id]):
                        self._offer(subscriber, message)

        for scope, subscribers in overall.items():
            principal = subscribers[0].principal
            if not any(self._may_read(principal, reach[e.id]) for e in changes):
                continue
            now = await overall_score(session.execute, principal)
            before = self._overall.get(scope)
            self._overall[scope] = now
            if before is not None and before == now:
                continue
            delta = now.earned - (before.earned if before is not None else now.earned)
            message = ScoreChanged(None, now, delta)
            for subscriber in subscribers:
                self._offer(subscriber, message)

    async def _pump_alerts(self, session: AsyncSession) -> None:
        """Alerts change without events (the evaluator, ``updateAlert``): watch updated_at."""
        if not self._alerts:
            self._alert_since = utcnow()
            self._alert_seen.clear()
            return
        since = self._alert_since - ALERT_LOOKBACK
        rows = list(
            await session.scalars(
                select(Alert).where(Alert.updated_at >= since).order_by(Alert.updated_at, Alert.id)
            )
        )
        changed = [a for a in rows if self._alert_seen.get(a.id) != a.updated_at]
        for alert in rows:
            self._alert_seen[alert.id] = alert.updated_at
            self._alert_since = max(self._alert_since, alert.updated_at)
        self._alert_seen = {
            i: t for i, t in self._alert_seen.items() if t >= self._alert_since - ALERT_LOOKBACK
        }
        for alert in changed:
            # Who may read an alert depends on its events; scoped subscribers re-read it
            # through their own (permission-checked) loader at delivery.
            message = AlertChanged(alert)
            for subscriber, topic in list(self._alerts.items()):
                if topic.matches(alert):
                    self._offer(subscriber, message)

    def _offer(self, subscriber: Subscriber, message: Message) -> None:
        if subscriber.closed:
            return
        if subscriber.offer(message):
            self.stats.delivered += 1
        else:
            self.stats.closed_slow += 1

    def _news(self, message: ActionChanged) -> bool:
        """Whether the action's state is new (and remember it if so).

        Checked once for all subscribers: none gets the same state twice, nor an older
        version after a newer one.
        """
        state = message.state or (message.version, 0, 0, 0, ())
        last = self._sent.pop(message.action_id, None)
        if last is not None and (state[0] < last[0] or state == last):
            self._sent[message.action_id] = last
            return False
        self._sent[message.action_id] = state  # now the most recent entry
        if len(self._sent) > REMEMBERED_STATES:
            del self._sent[next(iter(self._sent))]
        return True


def _evidence_state(held: dict[int, list[tuple[int, Any]]], action_id: int) -> tuple[Any, ...]:
    """How many items, the newest one, and the review-by dates (which an edit may change)."""
    items = held.get(action_id, [])
    return (len(items), items[-1][0] if items else 0, tuple(items))


def _assessment_ids(event: Any) -> list[int]:
    ids = (event.payload or {}).get("assessmentIds")
    if ids:
        return [int(i) for i in ids]
    return [event.assessment_id] if event.assessment_id is not None else []
