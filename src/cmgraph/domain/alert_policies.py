"""Alert policies and the alert lifecycle (DOMAIN.md section 12): the write path for both.

Stored shapes (``AlertPolicy`` JSON columns):
- ``conditions``: ``[{"type": "SCORE_CHANGE", "direction": "DOWN", "minPoints": 5.0},
  {"type": "TEST_STATUS_CHANGE", "toStatuses": ["FAILED_HIGH_RISK"]}, {"type": ...}]``.
  Score changes narrow by direction of the earned-points delta (``UP``, ``DOWN``, ``ANY``) and
  an optional minimum size of that delta; status changes by the status reached; the other
  types do not narrow. Any one condition matching is enough. ``DUE_SOON``, ``OVERDUE``,
  ``RETEST_DUE`` and ``EVIDENCE_EXPIRING`` are the date-driven types: the scheduled checks
  (``domain.scheduled_checks``) append them once per item and day.
- ``scope``: ``{"assessmentIds": [], "groupIds": [], "regulationIds": [], "categories": []}``;
  an empty (or missing) list does not restrict. Non-empty lists combine like the list filters
  of the API: an event must touch an assessment that is in every given list (its own id, its
  group, its template's regulation), and its action's category must be among ``categories``.

Decisions:
- Managing policies needs the CONTRIBUTOR organisation role; a scoped grant is not enough,
  as a policy watches the whole organisation. Reading them needs an organisation role too:
  users with scoped grants only see no policies (a policy may name assessments they cannot
  read) but do see the alerts about what they can read, with the policy's name.
- Recipients hold an organisation role: an alert email describes events without regard to
  scoped grants. The creator always receives (kept as ``created_by_id``, added when the
  notifications are written); role recipients (the default policy's owners and
  administrators) are whoever holds the role when an alert opens, service accounts aside.
- The default policy keeps its name and its watch (conditions, scope, severity, trigger,
  windows, description); only ``enabled`` and the recipients change, as DOMAIN.md says.
- ``daily_digest``: the policy's alerts reach each recipient in one mail a day (the alerts
  detected that UTC day) instead of one mail per alert. It is about delivery, not about what
  is watched, so the default and built-in policies may be switched to it too.
- Deleting a policy keeps its alerts and their matches: both point at no policy from then on,
  and the snapshot taken when each alert opened says what raised it.
- An alert's status may move between any two values; who may update it is whoever may
  contribute to one of the assessments its events concern. The assignee must be able to
  read the alert.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import text
from cmgraph.domain.accounts import principal_for
from cmgraph.domain.enums import (
    AlertStatus,
    AlertTrigger,
    EventType,
    ImplementationStatus,
    OrgRole,
    Severity,
    TestStatus,
)
from cmgraph.domain.errors import DomainError, ErrorCode, forbidden, not_found
from cmgraph.domain.models import (
    Alert,
    AlertMatch,
    AlertPolicy,
    Assessment,
    Event,
    Group,
    Regulation,
    Template,
    User,
    utcnow,
)
from cmgraph.domain.permissions import Principal, require_org_role

MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 2000
MAX_CONDITIONS = 20
MAX_SCOPE_ENTRIES = 200
MAX_RECIPIENTS = 200
MAX_CATEGORY_LENGTH = 200
MAX_THRESHOLD_COUNT = 10_000
MAX_THRESHOLD_MINUTES = 1440
MAX_AGGREGATION_SECONDS = 86_400
DEFAULT_AGGREGATION_SECONDS = 60
# What the default policy lets anyone change.
# What may change on the default policy and the built-in ones: they stay what they are.
# How recipients get the mail (one per alert, or a daily digest) is theirs to choose too.
FIXED_POLICY_EDITABLE = frozenset({"enabled", "recipient_ids", "recipient_roles", "daily_digest"})
STATUS_VALUES: dict[EventType, frozenset[str]] = {
    EventType.IMPLEMENTATION_STATUS_CHANGE: frozenset(s.value for s in ImplementationStatus),
    EventType.TEST_STATUS_CHANGE: frozenset(s.value for s in TestStatus),
}


class ScoreDirection(StrEnum):
    """Which way a score change must move the action's earned points."""

    UP = "UP"
    DOWN = "DOWN"
    ANY = "ANY"


class AlertKind(StrEnum):
    SINGLE_EVENT = "SINGLE_EVENT"
    MULTI_EVENT = "MULTI_EVENT"
    MULTI_CONDITION = "MULTI_CONDITION"


def alert_kind(event_types: Sequence[str]) -> AlertKind:
    """Several types: multi-condition; several events of one type: multi-event."""
    if len(set(event_types)) > 1:
        return AlertKind.MULTI_CONDITION
    if len(event_types) > 1:
        return AlertKind.MULTI_EVENT
    return AlertKind.SINGLE_EVENT


@dataclass(frozen=True)
class ConditionSpec:
    type: EventType
    direction: ScoreDirection | None = None
    min_points: float | None = None
    to_statuses: Sequence[str] | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConditionSpec:
        direction = data.get("direction")
        return cls(
            type=EventType(data["type"]),
            direction=ScoreDirection(direction) if direction else None,
            min_points=data.get("minPoints"),
            to_statuses=data.get("toStatuses"),
        )


@dataclass(frozen=True)
class ScopeSpec:
    assessment_ids: Sequence[int] = ()
    group_ids: Sequence[int] = ()
    regulation_ids: Sequence[int] = ()
    categories: Sequence[str] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScopeSpec:
        return cls(
            assessment_ids=tuple(data.get("assessmentIds") or ()),
            group_ids=tuple(data.get("groupIds") or ()),
            regulation_ids=tuple(data.get("regulationIds") or ()),
            categories=tuple(data.get("categories") or ()),
        )


@dataclass(frozen=True)
class PolicySettings:
    """Everything about a policy but its name, which is fixed at creation."""

    description: str = ""
    conditions: Sequence[ConditionSpec] = ()
    scope: ScopeSpec = field(default_factory=ScopeSpec)
    severity: Severity = Severity.MEDIUM
    trigger: AlertTrigger = AlertTrigger.EVERY_MATCH
    threshold_count: int | None = None
    threshold_minutes: int | None = None
    aggregation_seconds: int = DEFAULT_AGGREGATION_SECONDS
    recipient_ids: Sequence[int] = ()
    recipient_roles: Sequence[OrgRole] = ()
    notify_assignee: bool = False
    daily_digest: bool = False
    enabled: bool = True

    @classmethod
    def of(cls, policy: AlertPolicy) -> PolicySettings:
        return cls(
            description=policy.description,
            conditions=tuple(ConditionSpec.from_json(c) for c in policy.conditions),
            scope=ScopeSpec.from_json(policy.scope or {}),
            severity=policy.severity,
            trigger=policy.trigger,
            threshold_count=policy.threshold_count,
            threshold_minutes=policy.threshold_minutes,
            aggregation_seconds=policy.aggregation_seconds,
            recipient_ids=tuple(policy.recipient_ids or ()),
            recipient_roles=tuple(OrgRole(r) for r in policy.recipient_roles or ()),
            notify_assignee=policy.notify_assignee,
            daily_digest=policy.daily_digest,
            enabled=policy.enabled,
        )


SETTING_NAMES = frozenset(f.name for f in fields(PolicySettings))


def _invalid(field_path: str, message: str) -> DomainError:
    return DomainError(ErrorCode.INVALID, message, field_path)


def clean_policy_name(name: str) -> str:
    return text.clean_name(name, "An alert policy", max_length=MAX_NAME_LENGTH)


def condition_json(index: int, condition: ConditionSpec) -> dict[str, Any]:
    """The stored form of one condition, refusing narrowing its type does not have."""
    where = f"conditions.{index}"
    kind = EventType(condition.type)
    stored: dict[str, Any] = {"type": kind.value}
    if kind is EventType.SCORE_CHANGE:
        stored["direction"] = ScoreDirection(condition.direction or ScoreDirection.ANY).value
        if condition.min_points is not None:
            points = float(condition.min_points)
            if not math.isfinite(points) or points <= 0:
                raise _invalid(f"{where}.minPoints", "minPoints must be a positive number.")
            stored["minPoints"] = points
    else:
        if condition.direction is not None:
            raise _invalid(f"{where}.direction", "Only SCORE_CHANGE conditions have a direction.")
        if condition.min_points is not None:
            raise _invalid(f"{where}.minPoints", "Only SCORE_CHANGE conditions have minPoints.")
    if condition.to_statuses is not None:
        allowed = STATUS_VALUES.get(kind)
        if allowed is None:
            raise _invalid(
                f"{where}.toStatuses",
                "Only IMPLEMENTATION_STATUS_CHANGE and TEST_STATUS_CHANGE narrow by status.",
            )
        statuses = list(dict.fromkeys(s.strip() for s in condition.to_statuses))
        if not statuses:
            raise _invalid(
                f"{where}.toStatuses", "Name at least one status, or leave toStatuses out."
            )
        unknown = [s for s in statuses if s not in allowed]
        if unknown:
            raise _invalid(
                f"{where}.toStatuses",
                f"{unknown[0]!r} is not a status of {kind.value}; use one of "
                f"{', '.join(sorted(allowed))}.",
            )
        stored["toStatuses"] = statuses
    return stored


async def _existing(uow: UnitOfWork, model: Any, ids: Sequence[int], field_path: str) -> list[int]:
    wanted = list(dict.fromkeys(ids))
    if len(wanted) > MAX_SCOPE_ENTRIES:
        raise _invalid(field_path, f"At most {MAX_SCOPE_ENTRIES} entries.")
    if not wanted:
        return []
    found = set(await uow.session.scalars(select(model.id).where(model.id.in_(wanted))))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise DomainError(
            ErrorCode.NOT_FOUND, f"No {model.__name__.lower()} with id {missing[0]}.", field_path
        )
    return wanted


async def scope_json(uow: UnitOfWork, scope: ScopeSpec) -> dict[str, Any]:
    categories = list(dict.fromkeys((c or "").strip() for c in scope.categories))
    if len(categories) > MAX_SCOPE_ENTRIES:
        raise _invalid("scope.categories", f"At most {MAX_SCOPE_ENTRIES} categories.")
    for category in categories:
        text.clean_name(
            category, "A category", field="scope.categories", max_length=MAX_CATEGORY_LENGTH
        )
    return {
        "assessmentIds": await _existing(
            uow, Assessment, scope.assessment_ids, "scope.assessmentIds"
        ),
        "groupIds": await _existing(uow, Group, scope.group_ids, "scope.groupIds"),
        "regulationIds": await _existing(
            uow, Regulation, scope.regulation_ids, "scope.regulationIds"
        ),
        "categories": categories,
    }


async def _recipients(uow: UnitOfWork, ids: Sequence[int]) -> list[int]:
    wanted = list(dict.fromkeys(ids))
    if len(wanted) > MAX_RECIPIENTS:
        raise _invalid("recipientIds", f"At most {MAX_RECIPIENTS} recipients.")
    if not wanted:
        return []
    roles = dict(
        (await uow.session.execute(select(User.id, User.role).where(User.id.in_(wanted)))).all()
    )
    for user_id in wanted:
        if user_id not in roles:
            raise DomainError(ErrorCode.NOT_FOUND, f"No user with id {user_id}.", "recipientIds")
        if roles[user_id] is None:
            raise _invalid(
                "recipientIds",
                f"User {user_id} has no organisation role; alert emails go to organisation "
                "members only.",
            )
    return wanted


async def check_settings(uow: UnitOfWork, settings: PolicySettings) -> dict[str, Any]:
    """Settings in their stored form (column -> value), checked against every rule.

    The first broken rule is reported, with the path of the field at fault.
    """
    description = (settings.description or "").strip()
    text.check_text(
        description, "Descriptions", field="description", max_length=MAX_DESCRIPTION_LENGTH
    )
    if not settings.conditions:
        raise _invalid("conditions", "A policy needs at least one condition.")
    if len(settings.conditions) > MAX_CONDITIONS:
        raise _invalid("conditions", f"At most {MAX_CONDITIONS} conditions.")
    conditions = [condition_json(i, c) for i, c in enumerate(settings.conditions)]
    trigger = AlertTrigger(settings.trigger)
    count, minutes = settings.threshold_count, settings.threshold_minutes
    if trigger is AlertTrigger.THRESHOLD:
        if count is None or not 2 <= count <= MAX_THRESHOLD_COUNT:
            raise _invalid(
                "thresholdCount",
                f"A THRESHOLD policy needs thresholdCount from 2 to {MAX_THRESHOLD_COUNT}.",
            )
        if minutes is None or not 1 <= minutes <= MAX_THRESHOLD_MINUTES:
            raise _invalid(
                "thresholdMinutes",
                f"A THRESHOLD policy needs thresholdMinutes from 1 to {MAX_THRESHOLD_MINUTES}.",
            )
    else:
        for name, value in (("thresholdCount", count), ("thresholdMinutes", minutes)):
            if value is not None:
                raise _invalid(name, f"{name} applies to the THRESHOLD trigger only.")
    if not 1 <= settings.aggregation_seconds <= MAX_AGGREGATION_SECONDS:
        raise _invalid(
            "aggregationSeconds",
            f"aggregationSeconds must be from 1 to {MAX_AGGREGATION_SECONDS}.",
        )
    return {
        "description": description,
        "conditions": conditions,
        "scope": await scope_json(uow, settings.scope),
        "severity": Severity(settings.severity),
        "trigger": trigger,
        "threshold_count": count,
        "threshold_minutes": minutes,
        "aggregation_seconds": settings.aggregation_seconds,
        "recipient_ids": await _recipients(uow, settings.recipient_ids),
        "recipient_roles": [
            OrgRole(r).value for r in dict.fromkeys(OrgRole(r) for r in settings.recipient_roles)
        ],
        "notify_assignee": bool(settings.notify_assignee),
        "daily_digest": bool(settings.daily_digest),
        "enabled": bool(settings.enabled),
    }


async def _name_taken(uow: UnitOfWork, name: str) -> bool:
    return (
        await uow.session.scalar(select(AlertPolicy.id).where(AlertPolicy.name == name)) is not None
    )


async def create_alert_policy(
    uow: UnitOfWork, actor: Principal, name: str, settings: PolicySettings
) -> AlertPolicy:
    require_org_role(actor, OrgRole.CONTRIBUTOR)
    name = clean_policy_name(name)
    checked = await check_settings(uow, settings)
    if await _name_taken(uow, name):
        raise DomainError(ErrorCode.DUPLICATE, f"An alert policy named {name!r} exists.", "name")
    now = utcnow()
    policy = AlertPolicy(
        name=name,
        **checked,
        is_default=False,
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(policy)
    await uow.session.flush()
    return policy


async def _policy(uow: UnitOfWork, policy_id: int) -> AlertPolicy:
    policy = await uow.session.get(AlertPolicy, policy_id, with_for_update=True)
    if policy is None:
        raise not_found("Alert policy", "alertPolicyId")
    return policy


async def update_alert_policy(
    uow: UnitOfWork, actor: Principal, policy_id: int, changes: Mapping[str, Any]
) -> AlertPolicy:
    """Change any settings but the name; the next event evaluated sees the new ones.

    ``changes`` maps ``PolicySettings`` field names to new values; those left out stay.
    Moving to ``EVERY_MATCH`` drops stored threshold values unless ``changes`` names them.
    """
    require_org_role(actor, OrgRole.CONTRIBUTOR)
    if "name" in changes:
        raise _invalid("name", "A policy's name is fixed after creation.")
    unknown = set(changes) - SETTING_NAMES
    if unknown:
        raise _invalid(text.camel(sorted(unknown)[0]), "This field cannot be changed.")
    policy = await _policy(uow, policy_id)
    current = PolicySettings.of(policy)
    if policy.builtin is not None:
        # DOMAIN.md section 11: a built-in notice that an owner may turn off.
        require_org_role(actor, OrgRole.OWNER)
    if policy.is_default or policy.builtin is not None:
        for name in sorted(set(changes) - FIXED_POLICY_EDITABLE):
            if _normal(name, getattr(current, name)) != _normal(name, changes[name]):
                raise _invalid(
                    text.camel(name),
                    f"The {'default' if policy.is_default else 'built-in'} policy can only be "
                    "enabled, disabled, given other recipients or a daily digest.",
                )
    merged = replace(current, **changes)
    if merged.trigger is AlertTrigger.EVERY_MATCH:
        merged = replace(
            merged,
            threshold_count=changes.get("threshold_count"),
            threshold_minutes=changes.get("threshold_minutes"),
        )
    checked = await check_settings(uow, merged)
    for name, value in checked.items():
        setattr(policy, name, value)
    policy.updated_at = utcnow()
    await uow.session.flush()
    return policy


def _normal(name: str, value: Any) -> Any:
    """A setting in a form that compares equal however it was spelled."""
    if name == "conditions":
        return [condition_json(i, c) for i, c in enumerate(value)]
    if name == "scope":
        return tuple(tuple(getattr(value, f.name)) for f in fields(ScopeSpec))
    if name == "description":
        return (value or "").strip()
    return value


async def delete_alert_policy(uow: UnitOfWork, actor: Principal, policy_id: int) -> None:
    """Delete a policy; its alerts stay, with their events and the policy's snapshot."""
    require_org_role(actor, OrgRole.CONTRIBUTOR)
    policy = await _policy(uow, policy_id)
    if policy.is_default or policy.builtin is not None:
        kind = "default" if policy.is_default else "built-in"
        raise _invalid("alertPolicyId", f"The {kind} policy cannot be deleted; disable it.")
    session = uow.session
    for alert in await session.scalars(select(Alert).where(Alert.policy_id == policy.id)):
        alert.policy_id = None  # the foreign key would too; this keeps the session in step
    await session.flush()
    await session.execute(delete(AlertPolicy).where(AlertPolicy.id == policy.id))


def policy_snapshot(policy: AlertPolicy) -> dict[str, Any]:
    """What an alert keeps of its policy, so it still reads right once the policy changes."""
    return {
        "id": policy.id,
        "name": policy.name,
        "description": policy.description,
        "severity": Severity(policy.severity).value,
        "trigger": AlertTrigger(policy.trigger).value,
        "thresholdCount": policy.threshold_count,
        "thresholdMinutes": policy.threshold_minutes,
        "aggregationSeconds": policy.aggregation_seconds,
        "conditions": list(policy.conditions),
        "scope": dict(policy.scope or {}),
        "isDefault": policy.is_default,
        "builtin": policy.builtin,
        "dailyDigest": policy.daily_digest,
    }


# -- alerts ------------------------------------------------------------------------------


async def alert_event_ids(uow: UnitOfWork, alert: Alert) -> list[int]:
    """The events of an alert, through its matches."""
    return list(
        await uow.session.scalars(
            select(AlertMatch.event_id).where(AlertMatch.alert_id == alert.id)
        )
    )


async def alert_places(uow: UnitOfWork, alert: Alert) -> list[tuple[int, int]]:
    """(assessment id, regulation id) of the existing assessments the alert's events touch."""
    ids = await alert_event_ids(uow, alert)
    payloads = await uow.session.scalars(select(Event.payload).where(Event.id.in_(ids)))
    assessment_ids = {int(a) for p in payloads for a in (p or {}).get("assessmentIds", [])}
    if not assessment_ids:
        return []
    rows = await uow.session.execute(
        select(Assessment.id, Template.regulation_id)
        .join(Template, Template.id == Assessment.template_id)
        .where(Assessment.id.in_(assessment_ids))
    )
    return [(a, r) for a, r in rows.all()]


def may_on_alert(principal: Principal, needed: OrgRole, places: Iterable[tuple[int, int]]) -> bool:
    if principal.has_org_role(needed):
        return True
    return any(principal.may_on_assessment(needed, a, r) for a, r in places)


_KEEP: Any = object()


async def update_alert(
    uow: UnitOfWork,
    actor: Principal,
    alert_id: int,
    *,
    status: AlertStatus | None = _KEEP,
    assignee_id: int | None = _KEEP,
) -> Alert:
    """Move an alert to any status and (un)assign it; leave out what should stay."""
    alert = await uow.session.get(Alert, alert_id, with_for_update=True)
    if alert is None:
        raise not_found("Alert", "alertId")
    places = [] if actor.has_org_role(OrgRole.CONTRIBUTOR) else await alert_places(uow, alert)
    if not may_on_alert(actor, OrgRole.READER, places):
        raise not_found("Alert", "alertId")
    if not may_on_alert(actor, OrgRole.CONTRIBUTOR, places):
        raise forbidden("Updating alerts needs the CONTRIBUTOR role.")
    changed = False
    if status is not _KEEP:
        if status is None:
            raise _invalid("status", "An alert always has a status.")
        if alert.status != status:
            alert.status = AlertStatus(status)
            changed = True
    if assignee_id is not _KEEP and assignee_id != alert.assignee_id:
        if assignee_id is not None:
            assignee = await uow.session.get(User, assignee_id)
            if assignee is None:
                raise not_found("User", "assigneeId")
            assignee_principal = await principal_for(uow, assignee)
            if not assignee_principal.has_org_role(OrgRole.READER):
                places = places or await alert_places(uow, alert)
                if not may_on_alert(assignee_principal, OrgRole.READER, places):
                    raise _invalid("assigneeId", f"{assignee.email} cannot see this alert.")
        alert.assignee_id = assignee_id
        changed = True
    if changed:
        alert.updated_at = utcnow()
        await uow.session.flush()
    return alert
