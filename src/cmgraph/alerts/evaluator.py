"""The alert evaluator: turns committed events into matches, alerts and notification rows.

``evaluate_pending`` works through unprocessed events in batches, in event-id order. Each
batch is one transaction that claims its events, matches them against the enabled policies,
writes matches, alerts and notifications, and marks the events processed; a crash rolls all
of it back and the events are simply claimed again.

Claiming, so that concurrent evaluators (server tasks, ``cmgraph worker`` processes) take
each event once:
- PostgreSQL: ``UPDATE event ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)``, so
  evaluators take disjoint batches without waiting for each other; then the enabled policies
  are locked (``FOR UPDATE``, in id order), so two batches never decide about the same
  policy's open alert at once.
- SQLite: a conditional ``UPDATE ... WHERE processed_at IS NULL AND (claimed_until IS NULL
  OR claimed_until < now) RETURNING id``. It is the transaction's first statement and takes
  the database's write lock, which serialises evaluators for the rest of the batch.
Both set ``claimed_until`` (a lease) and the claim skips events under a live lease, so a
claim that ever outlived its transaction would lapse rather than block an event for good.

Idempotence: ``alert_match`` is unique per (policy, event) and an event is acted on for a
policy only when its match row was new, so re-processing an event (its ``processed_at``
cleared) never opens a second alert nor writes a second notification. Assignment
notifications are unique per (kind, event, recipient) and looked up before writing.

Time is the evaluator's clock (``now``): matches are stamped with it, an alert opens at it
(``detected_at``) and stays joinable until ``detected_at + aggregation_seconds``, and a
threshold counts the policy's matches of the last ``threshold_minutes`` by it. Events are
evaluated moments after their commit, so this is their time in practice; after an outage a
backlog is judged as one burst.

Alert lifecycle:
- ``EVERY_MATCH``: a match joins the policy's newest open (ACTIVE/INVESTIGATING) alert while
  its window lasts, else opens a new alert. The window does not slide, so a busy policy
  opens (and emails) at most one alert per window.
- ``THRESHOLD``: a match joins an open alert in its window; otherwise, once the policy's
  matches not yet in any alert within the last ``threshold_minutes`` reach
  ``threshold_count``, a new alert opens holding all of them. Matches already reported do
  not count again, so a new alert needs a new burst.
- A resolved or dismissed alert is never joined: the next match opens a new one.
- A new alert gets one notification per recipient: the policy's users, its creator and the
  current holders of its roles (users with an organisation role only, service accounts left
  out of role recipients). Joining an existing alert sends nothing.
- ``ASSIGNMENT_CHANGE`` events with ``notify`` and an assignee email that assignee, whatever
  the policies (DOMAIN.md section 11).
- A ``daily_digest`` policy writes no mail per alert: each recipient's alert is listed
  (``digest_entry``) in their DIGEST notification of the day (UTC), one per recipient and
  day, due when the day ends; the sender renders it then, with every alert listed in it.
  A batch makes and locks all its digests at its end, in one order (day, then recipient),
  so evaluators whose batches share recipients wait for each other, never deadlock.
- A policy with ``notify_assignee`` also emails the current assignee of each action whose
  event opens or joins one of its alerts, once per alert and person (the built-in "assigned
  action failed testing" policy is such a policy).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmgraph.adapters.db import UnitOfWork
from cmgraph.alerts.matching import (
    EventFacts,
    Place,
    needs_category,
    needs_places,
    policy_matches,
)
from cmgraph.domain.alert_policies import policy_snapshot
from cmgraph.domain.enums import (
    OPEN_ALERT_STATUSES,
    AlertStatus,
    AlertTrigger,
    EventType,
    NotificationKind,
    NotificationStatus,
    OrgRole,
)
from cmgraph.domain.models import (
    ActionDefinitionVersion,
    Alert,
    AlertMatch,
    AlertPolicy,
    Assessment,
    DigestEntry,
    Event,
    ImprovementAction,
    Notification,
    Template,
    User,
    utcnow,
)

log = logging.getLogger("cmgraph.alerts.evaluator")

LEASE = timedelta(minutes=5)
DEFAULT_BATCH = 200


async def evaluate_pending(
    sessions: async_sessionmaker[AsyncSession],
    *,
    batch: int = DEFAULT_BATCH,
    now: datetime | None = None,
) -> int:
    """Process every event not yet processed (nor claimed by another evaluator).

    Returns how many events this call processed. ``now`` fixes the clock (tests simulate
    time with it); by default each batch reads the current time.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    total = 0
    while True:
        done = await _evaluate_batch(sessions, batch, now or utcnow())
        total += done
        if done < batch:
            return total


def digest_due_at(day: date) -> datetime:
    """A day's digest goes out when the day (UTC) is over."""
    return datetime.combine(day + timedelta(days=1), time(), UTC)


def message_id(kind: str, subject_id: int, recipient_id: int) -> str:
    """A stable RFC 5322 Message-ID, made once with the notification row."""
    return f"<{kind}-{subject_id}-{recipient_id}.{secrets.token_hex(8)}@cmgraph>"


async def _evaluate_batch(
    sessions: async_sessionmaker[AsyncSession], batch: int, now: datetime
) -> int:
    async with UnitOfWork(sessions) as uow:
        session = uow.session
        ids = await _claim(session, batch, now)
        if not ids:
            return 0
        events = list(
            await session.scalars(select(Event).where(Event.id.in_(ids)).order_by(Event.id))
        )
        await _Batch(session, now).run(events)
        await session.execute(
            update(Event)
            .where(Event.id.in_(ids))
            .values(processed_at=now, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        return len(ids)


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def _claim(session: AsyncSession, batch: int, now: datetime) -> list[int]:
    pending = (
        select(Event.id)
        .where(
            Event.processed_at.is_(None),
            or_(Event.claimed_until.is_(None), Event.claimed_until < now),
        )
        .order_by(Event.id)
        .limit(batch)
    )
    if _postgres(session):
        # Lock first, then update exactly those rows: as one statement, PostgreSQL may
        # re-run the locking subquery and claim more than ``batch`` rows.
        locked = list(await session.scalars(pending.with_for_update(skip_locked=True)))
        if not locked:
            return []
        target = Event.id.in_(locked)
    else:
        target = Event.id.in_(pending.scalar_subquery())
    result = await session.execute(
        update(Event)
        .where(target)
        .values(claimed_until=now + LEASE)
        .returning(Event.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result.scalars())


def _insert(session: AsyncSession, model: Any) -> Any:
    return (postgresql.insert if _postgres(session) else sqlite.insert)(model)


class _Batch:
    """One batch's work, with what it looked up once for all its events."""

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self.session = session
        self.now = now
        self.open_alerts: dict[int, Alert] = {}
        self.users: dict[int, User] = {}
        self.role_holders: dict[str, list[User]] = {}
        self.assignees: dict[int, int] = {}  # action id -> assignee, for notify_assignee
        self.digested: dict[int, tuple[User, set[int]]] = {}  # recipient id -> their alerts

    async def run(self, events: Sequence[Event]) -> None:
        statement = (
            select(AlertPolicy).where(AlertPolicy.enabled.is_(True)).order_by(AlertPolicy.id)
        )
        if _postgres(self.session):
            statement = statement.with_for_update()
        policies = list(await self.session.scalars(statement))
        facts = await self._facts(events, policies)
        matched = [
            (event, policy)
            for event, fact in zip(events, facts, strict=True)
            for policy in policies
            if _matches(policy, event, fact)
        ]
        assignments = [e for e in events if _assignment_recipient(e) is not None]
        await self._load_assignees(
            {e.action_id for e, p in matched if p.notify_assignee and e.action_id is not None}
        )
        await self._load_users(
            {p.id: p for _, p in matched}.values(),
            [_assignment_recipient(e) for e in assignments] + list(self.assignees.values()),
        )
        if matched:
            await self._load_open_alerts({p.id for _, p in matched})
        for event, policy in matched:
            await self._match(event, policy)
        await self._write_digests()
        await self._assignment_notifications(assignments)
        await self.session.flush()

    # -- what the rules need to know ----------------------------------------------------

    async def _facts(
        self, events: Sequence[Event], policies: Sequence[AlertPolicy]
    ) -> list[EventFacts]:
        places: dict[int, Place] = {}
        categories: dict[int, str] = {}
        if any(needs_places(p.scope or {}) for p in policies):
            ids = {a for e in events for a in _assessment_ids(e)}
            if ids:
                rows = await self.session.execute(
                    select(Assessment.id, Assessment.group_id, Template.regulation_id)
                    .join(Template, Template.id == Assessment.template_id)
                    .where(Assessment.id.in_(ids))
                )
                places = {a: Place(g, r) for a, g, r in rows.all()}
        if any(needs_category(p.scope or {}) for p in policies):
            action_ids = {e.action_id for e in events if e.action_id is not None}
            if action_ids:
                category_rows = await self.session.execute(
                    select(ImprovementAction.id, ActionDefinitionVersion.category)
                    .join(
                        ActionDefinitionVersion,
                        ActionDefinitionVersion.id == ImprovementAction.definition_version_id,
                    )
                    .where(ImprovementAction.id.in_(action_ids))
                )
                categories = dict(category_rows.all())
        return [
            EventFacts(
                type=event.type,
                payload=event.payload if isinstance(event.payload, dict) else {},
                places={int(a): places[int(a)] for a in _assessment_ids(event) if int(a) in places},
                category=categories.get(event.action_id) if event.action_id else None,
            )
            for event in events
        ]

    async def _load_users(
        self, policies: Iterable[AlertPolicy], assignees: Iterable[int | None]
    ) -> None:
        """Every possible recipient of this batch, in one statement: disabled people get no
        mail (alerts, assignments), so they are never loaded."""
        ids: set[int] = {i for i in assignees if i is not None}
        roles: set[str] = set()
        for policy in policies:
            ids.update(int(i) for i in policy.recipient_ids or ())
            if policy.created_by_id is not None:
                ids.add(policy.created_by_id)
            roles.update(policy.recipient_roles or ())
        if not ids and not roles:
            return
        clauses = [User.id.in_(ids)] if ids else []
        if roles:
            clauses.append(User.role.in_([OrgRole(r) for r in roles]))
        chosen = select(User).where(or_(*clauses), User.disabled_at.is_(None))
        for user in await self.session.scalars(chosen):
            self.users[user.id] = user
            if user.role is not None and not user.is_automation:
                self.role_holders.setdefault(user.role.value, []).append(user)

    async def _load_assignees(self, action_ids: set[int]) -> None:
        if action_ids:
            rows = await self.session.execute(
                select(ImprovementAction.id, ImprovementAction.assignee_id).where(
                    ImprovementAction.id.in_(action_ids),
                    ImprovementAction.assignee_id.is_not(None),
                )
            )
            self.assignees = {action: user for action, user in rows.all() if user}

    async def _load_open_alerts(self, policy_ids: set[int]) -> None:
        rows = await self.session.scalars(
            select(Alert)
            .where(
                Alert.policy_id.in_(policy_ids),
                Alert.status.in_(list(OPEN_ALERT_STATUSES)),
            )
            .order_by(Alert.id)
        )
        for alert in rows:
            if alert.policy_id is not None:  # always, by the WHERE clause
                self.open_alerts[alert.policy_id] = alert  # the newest wins

    # -- alerts -------------------------------------------------------------------------

    async def _match(self, event: Event, policy: AlertPolicy) -> None:
        alert = self.open_alerts.get(policy.id)
        joinable = alert if alert is not None and alert.window_ends_at > self.now else None
        inserted = await self.session.execute(
            _insert(self.session, AlertMatch)
            .values(
                policy_id=policy.id,
                event_id=event.id,
                alert_id=joinable.id if joinable is not None else None,
                matched_at=self.now,
            )
            .on_conflict_do_nothing(index_elements=["policy_id", "event_id"])
            .returning(AlertMatch.id)
        )
        match_id = inserted.scalar()
        if match_id is None:
            return  # matched before: this event was already acted on for this policy
        if joinable is not None:
            joinable.updated_at = self.now
            await self._notify_assignee(policy, joinable, event)
            return
        if policy.trigger is AlertTrigger.THRESHOLD:
            since = self.now - timedelta(minutes=policy.threshold_minutes or 0)
            waiting = (
                AlertMatch.policy_id == policy.id,
                AlertMatch.alert_id.is_(None),
                AlertMatch.matched_at >= since,
            )
            count = await self.session.scalar(
                select(func.count()).select_from(AlertMatch).where(*waiting)
            )
            if (count or 0) < (policy.threshold_count or 0):
                return
            alert = await self._open_alert(policy)
            await self.session.execute(
                update(AlertMatch)
                .where(*waiting)
                .values(alert_id=alert.id)
                .execution_options(synchronize_session=False)
            )
            await self._notify_assignee(policy, alert, event)
            return
        alert = await self._open_alert(policy)
        await self.session.execute(
            update(AlertMatch)
            .where(AlertMatch.id == match_id)
            .values(alert_id=alert.id)
            .execution_options(synchronize_session=False)
        )
        await self._notify_assignee(policy, alert, event)

    async def _notify_assignee(self, policy: AlertPolicy, alert: Alert, event: Event) -> None:
        if not policy.notify_assignee or event.action_id is None:
            return
        user = self.users.get(self.assignees.get(event.action_id, 0))
        if user is None:
            return
        if policy.daily_digest:
            self._add_to_digest(alert, user)
            return
        await self.session.flush()  # a role recipient's row, added above, goes first
        await self.session.execute(
            _insert(self.session, Notification)
            .values(**self._alert_mail(alert, user), last_error="")
            .on_conflict_do_nothing(index_elements=["kind", "subject_id", "recipient_id"])
        )

    async def _open_alert(self, policy: AlertPolicy) -> Alert:
        alert = Alert(
            policy_id=policy.id,
            policy_snapshot=policy_snapshot(policy),
            severity=policy.severity,
            status=AlertStatus.ACTIVE,
            detected_at=self.now,
            window_ends_at=self.now + timedelta(seconds=policy.aggregation_seconds),
            updated_at=self.now,
        )
        self.session.add(alert)
        await self.session.flush()
        self.open_alerts[policy.id] = alert
        for user in self._recipients(policy):
            if policy.daily_digest:
                self._add_to_digest(alert, user)
                continue
            self.session.add(Notification(**self._alert_mail(alert, user)))
        return alert

    def _alert_mail(self, alert: Alert, user: User) -> dict[str, Any]:
        """The notification row of one alert's mail to one person, due now."""
        return {
            "kind": NotificationKind.ALERT,
            "subject_id": alert.id,
            "recipient_id": user.id,
            "recipient_email": user.email,
            "status": NotificationStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": self.now,
            "message_id": message_id("alert", alert.id, user.id),
            "created_at": self.now,
        }

    def _add_to_digest(self, alert: Alert, user: User) -> None:
        """Note the alert for ``user``'s digest; ``_write_digests`` lists it."""
        self.digested.setdefault(user.id, (user, set()))[1].add(alert.id)

    async def _write_digests(self) -> None:
        """List the noted alerts in each recipient's digest of today (UTC), made on first use
        and due when the day ends; if that digest is already out (a clock behind), in
        tomorrow's.

        The digests are inserted and locked in (day, recipient) order, whatever order the
        alerts came in: a batch holding one recipient's digest never waits for another's
        that a second batch holds while waiting for the first.
        """
        waiting = sorted(self.digested)
        day = self.now.astimezone(UTC).date()
        for _ in range(2):
            if not waiting:
                return
            subject = day.toordinal()
            await self.session.execute(
                _insert(self.session, Notification).on_conflict_do_nothing(
                    index_elements=["kind", "subject_id", "recipient_id"]
                ),
                [
                    {
                        "kind": NotificationKind.DIGEST,
                        "subject_id": subject,
                        "recipient_id": user_id,
                        "recipient_email": self.digested[user_id][0].email,
                        "status": NotificationStatus.PENDING,
                        "attempts": 0,
                        "next_attempt_at": digest_due_at(day),
                        "message_id": message_id("digest", subject, user_id),
                        # Its age (and so its last retry) counts from when it is due.
                        "created_at": digest_due_at(day),
                        "last_error": "",
                    }
                    for user_id in waiting
                ],
            )
            digests = await self.session.execute(
                select(
                    Notification.id,
                    Notification.recipient_id,
                    Notification.status,
                    Notification.claimed_until,
                )
                .where(
                    Notification.kind == NotificationKind.DIGEST,
                    Notification.subject_id == subject,
                    Notification.recipient_id.in_(waiting),
                )
                .order_by(Notification.recipient_id)
                .with_for_update()
            )
            entries: list[dict[str, int]] = []
            later: list[int] = []
            for digest in digests.all():
                if digest.status == NotificationStatus.PENDING and digest.claimed_until is None:
                    alerts = sorted(self.digested[digest.recipient_id][1])
                    entries += [{"notification_id": digest.id, "alert_id": a} for a in alerts]
                else:
                    later.append(digest.recipient_id)
            if entries:
                await self.session.execute(
                    _insert(self.session, DigestEntry).on_conflict_do_nothing(
                        index_elements=["notification_id", "alert_id"]
                    ),
                    entries,
                )
            waiting = later
            day += timedelta(days=1)
        for user_id in waiting:
            alerts = sorted(self.digested[user_id][1])
            log.warning("no open digest for user %s; alerts %s not listed", user_id, alerts)

    def _recipients(self, policy: AlertPolicy) -> list[User]:
        chosen: dict[int, User] = {}
        named = [int(i) for i in policy.recipient_ids or ()]
        if policy.created_by_id is not None:
            named.append(policy.created_by_id)
        for user_id in named:
            user = self.users.get(user_id)
            if user is not None and user.role is not None:
                chosen[user.id] = user
        for role in policy.recipient_roles or ():
            for user in self.role_holders.get(role, []):
                chosen[user.id] = user
        return [chosen[i] for i in sorted(chosen)]

    # -- assignment emails --------------------------------------------------------------

    async def _assignment_notifications(self, events: Sequence[Event]) -> None:
        if not events:
            return
        existing = set(
            (
                await self.session.execute(
                    select(Notification.subject_id, Notification.recipient_id).where(
                        Notification.kind == NotificationKind.ASSIGNMENT,
                        Notification.subject_id.in_([e.id for e in events]),
                    )
                )
            ).all()
        )
        for event in events:
            user = self.users.get(_assignment_recipient(event) or 0)
            if user is None or (event.id, user.id) in existing:
                continue
            self.session.add(
                Notification(
                    kind=NotificationKind.ASSIGNMENT,
                    subject_id=event.id,
                    recipient_id=user.id,
                    recipient_email=user.email,
                    status=NotificationStatus.PENDING,
                    attempts=0,
                    next_attempt_at=self.now,
                    message_id=message_id("assignment", event.id, user.id),
                    created_at=self.now,
                )
            )


def _matches(policy: AlertPolicy, event: Event, facts: EventFacts) -> bool:
    """Whether ``policy`` matches; an event or policy the rules cannot read matches nothing.

    A malformed row must not stop the pipeline: its batch would fail on every retry.
    """
    try:
        return policy_matches(policy.conditions, policy.scope or {}, facts)
    except (KeyError, TypeError, ValueError):
        log.exception("alert policy %s cannot judge event %s; skipped", policy.id, event.id)
        return False


def _assessment_ids(event: Event) -> list[int]:
    """The assessments an event concerns; unreadable entries are left out."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    ids = payload.get("assessmentIds")
    if not isinstance(ids, list):
        return []
    return [int(i) for i in ids if isinstance(i, int) or (isinstance(i, str) and i.isdigit())]


def _assignment_recipient(event: Event) -> int | None:
    if event.type != EventType.ASSIGNMENT_CHANGE or not isinstance(event.payload, dict):
        return None
    to_user = event.payload.get("toUserId")
    return to_user if event.payload.get("notify") and isinstance(to_user, int) else None
