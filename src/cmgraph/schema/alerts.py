"""Alert policies and alerts over GraphQL (DOMAIN.md section 12): objects, inputs, payloads,
and the root fields (the ``alertPolicies`` and ``alerts`` lists and the mutations).

Nested reads go through per-request DataLoaders (the request's ``loaders``), so a list of
alerts with their events, actions and people costs the same number of statements for one
alert or a hundred. Users with scoped grants only see the events of an alert that concern
assessments they may read; ``kind`` and ``eventCount`` count those.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from cmgraph import global_ids
from cmgraph.domain import alert_policies as policies
from cmgraph.domain import enums as domain
from cmgraph.domain import models
from cmgraph.domain.errors import DomainError
from cmgraph.resolvers import alerts as resolvers
from cmgraph.resolvers.pages import PageRequest
from cmgraph.schema.connections import Connection, connection
from cmgraph.schema.enums import OrderDirection, OrgRole
from cmgraph.schema.errors import UserError, user_errors
from cmgraph.schema.types import (
    Assessment,
    Group,
    ImprovementAction,
    Regulation,
    User,
    loaders,
    present,
    resolve_rows,
    row_ids,
)

# ``strawberry.enum`` registers the class it is given and returns it: the names are the
# domain classes themselves (aliases mypy accepts as types), registered by plain calls.
EventType = domain.EventType
Severity = domain.Severity
AlertTrigger = domain.AlertTrigger
AlertStatus = domain.AlertStatus
ScoreDirection = policies.ScoreDirection
AlertKind = policies.AlertKind

strawberry.enum(
    EventType,
    description="What a domain event reports. DUE_SOON, OVERDUE, RETEST_DUE and "
    "EVIDENCE_EXPIRING come from the scheduled checks, once per item and day (UTC).",
)
strawberry.enum(Severity)
strawberry.enum(
    AlertTrigger,
    description="EVERY_MATCH: each match raises or joins an alert; THRESHOLD: only at least "
    "thresholdCount matches within thresholdMinutes do.",
)
strawberry.enum(AlertStatus)
strawberry.enum(ScoreDirection, description="Which way a score change moves the earned points.")
strawberry.enum(
    AlertKind,
    description="SINGLE_EVENT; MULTI_EVENT: several events of one type; MULTI_CONDITION: "
    "events of several types.",
)


async def _users(info: strawberry.Info, ids: Iterable[int]) -> list[User]:
    rows = await loaders(info).user.load_many(list(ids))
    return [User.from_row(row) for row in present(rows)]


async def _user(info: strawberry.Info, user_id: int | None) -> User | None:
    users = await _users(info, [] if user_id is None else [user_id])
    return users[0] if users else None


# -- policies ----------------------------------------------------------------------------


@strawberry.type(description="One thing a policy watches for; narrowing fields may be null.")
class AlertCondition:
    type: EventType
    direction: ScoreDirection | None = strawberry.field(
        description="SCORE_CHANGE: the direction of the earned-points change."
    )
    min_points: float | None = strawberry.field(
        description="SCORE_CHANGE: the smallest change, in points, that counts."
    )
    to_statuses: list[str] | None = strawberry.field(
        description="Status changes: only changes to one of these statuses count."
    )

    @classmethod
    def of(cls, stored: dict[str, Any]) -> AlertCondition:
        direction = stored.get("direction")
        return cls(
            type=domain.EventType(stored["type"]),
            direction=policies.ScoreDirection(direction) if direction else None,
            min_points=stored.get("minPoints"),
            to_statuses=stored.get("toStatuses"),
        )


@strawberry.type(description="Where a policy looks; empty lists do not restrict.")
class AlertScope:
    categories: list[str]
    assessment_ids: strawberry.Private[list[int]]
    group_ids: strawberry.Private[list[int]]
    regulation_ids: strawberry.Private[list[int]]

    @classmethod
    def of(cls, stored: dict[str, Any]) -> AlertScope:
        return cls(
            categories=list(stored.get("categories") or []),
            assessment_ids=list(stored.get("assessmentIds") or []),
            group_ids=list(stored.get("groupIds") or []),
            regulation_ids=list(stored.get("regulationIds") or []),
        )

    @strawberry.field(description="The ones you can read.")
    async def assessments(self, info: strawberry.Info) -> list[Assessment]:
        rows = await loaders(info).assessment.load_many(self.assessment_ids)
        return [Assessment.from_row(row) for row in present(rows)]

    @strawberry.field(description="The ones you can read.")
    async def groups(self, info: strawberry.Info) -> list[Group]:
        rows = await loaders(info).group.load_many(self.group_ids)
        return [Group.from_row(row) for row in present(rows)]

    @strawberry.field(description="The ones you can read.")
    async def regulations(self, info: strawberry.Info) -> list[Regulation]:
        rows = await loaders(info).regulation.load_many(self.regulation_ids)
        return [Regulation.from_row(row) for row in present(rows)]


@strawberry.type(description="What to watch for and whom to tell.")
class AlertPolicy(relay.Node):
    id: relay.NodeID[int]
    name: str = strawberry.field(description="Unique; fixed after creation.")
    description: str
    conditions: list[AlertCondition] = strawberry.field(description="Any one matching counts.")
    scope: AlertScope
    severity: Severity
    trigger: AlertTrigger
    threshold_count: int | None
    threshold_minutes: int | None
    aggregation_seconds: int = strawberry.field(
        description="Matches within this long of an alert's detection join it."
    )
    recipient_roles: list[OrgRole] = strawberry.field(
        description="Whoever holds one of these roles when an alert opens receives it."
    )
    notify_assignee: bool = strawberry.field(
        description="The assignee of each affected action receives the alert too."
    )
    daily_digest: bool = strawberry.field(
        description="Recipients get one mail a day listing the alerts detected that day (UTC), "
        "sent after the day ends, instead of one mail per alert."
    )
    enabled: bool
    is_default: bool = strawberry.field(
        description="The default policy: it can be disabled or given other recipients only."
    )
    is_built_in: bool = strawberry.field(
        description="Shipped with the server (the assignee's failed-test notice): only an "
        "owner may disable it or change its recipients; it cannot be deleted."
    )
    created_at: datetime
    updated_at: datetime
    recipient_ids: strawberry.Private[list[int]]
    created_by_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: models.AlertPolicy) -> AlertPolicy:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            conditions=[AlertCondition.of(c) for c in row.conditions or []],
            scope=AlertScope.of(row.scope or {}),
            severity=row.severity,
            trigger=row.trigger,
            threshold_count=row.threshold_count,
            threshold_minutes=row.threshold_minutes,
            aggregation_seconds=row.aggregation_seconds,
            recipient_roles=[domain.OrgRole(r) for r in row.recipient_roles or []],
            notify_assignee=row.notify_assignee,
            daily_digest=row.daily_digest,
            enabled=row.enabled,
            is_default=row.is_default,
            is_built_in=row.builtin is not None,
            created_at=row.created_at,
            updated_at=row.updated_at,
            recipient_ids=list(row.recipient_ids or []),
            created_by_id=row.created_by_id,
        )

    @strawberry.field(description="Named recipients; the creator and role holders also receive.")
    async def recipients(self, info: strawberry.Info) -> list[User]:
        return await _users(info, self.recipient_ids)

    @strawberry.field(description="Null for the default policy and for removed users.")
    async def created_by(self, info: strawberry.Info) -> User | None:
        return await _user(info, self.created_by_id)

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await resolve_rows(loaders(info).alert_policy, row_ids(node_ids), cls.from_row)


# -- alerts ------------------------------------------------------------------------------


_ID_KEYS = {"fromUserId": "User", "toUserId": "User", "evidenceId": "Evidence"}
_HIDDEN_KEYS = frozenset({"assessmentIds", "assessments"})


def event_details(payload: dict[str, Any]) -> dict[str, Any]:
    """The event's payload for clients: ids made global, assessment lists left to a field."""
    details: dict[str, Any] = {}
    for key, value in payload.items():
        if key in _HIDDEN_KEYS:
            continue
        if key in _ID_KEYS and isinstance(value, int):
            value = global_ids.encode(_ID_KEYS[key], value)
        details[key] = value
    return details


@strawberry.type(description="One event in an alert's log.")
class AlertEvent:
    type: EventType
    occurred_at: datetime
    details: JSON = strawberry.field(
        description="What the event reported, e.g. before/after/delta of a score change, "
        "from/to of a status change, fromUserId/toUserId/notes of an assignment."
    )
    points_delta: float | None = strawberry.field(
        description="SCORE_CHANGE: earned points gained (positive) or lost (negative)."
    )
    from_status: str | None = strawberry.field(description="Status changes: the old status.")
    to_status: str | None = strawberry.field(description="Status changes: the new status.")
    actor_id: strawberry.Private[int | None]
    action_id: strawberry.Private[int | None]
    assessment_ids: strawberry.Private[list[int]]

    @classmethod
    def from_row(cls, row: models.Event) -> AlertEvent:
        payload = row.payload or {}
        kind = domain.EventType(row.type)
        status_change = kind in policies.STATUS_VALUES
        delta = payload.get("delta") if kind is domain.EventType.SCORE_CHANGE else None
        return cls(
            type=kind,
            occurred_at=row.created_at,
            details=JSON(event_details(payload)),
            points_delta=float(delta) if isinstance(delta, int | float) else None,
            from_status=payload.get("from") if status_change else None,
            to_status=payload.get("to") if status_change else None,
            actor_id=row.actor_id,
            action_id=row.action_id,
            assessment_ids=[int(a) for a in payload.get("assessmentIds") or []],
        )

    @strawberry.field(description="Who caused it; null for system events and removed users.")
    async def user(self, info: strawberry.Info) -> User | None:
        return await _user(info, self.actor_id)

    @strawberry.field(description="The action concerned; null if none, removed or unreadable.")
    async def action(self, info: strawberry.Info) -> ImprovementAction | None:
        if self.action_id is None:
            return None
        record = await loaders(info).action.load(self.action_id)
        return ImprovementAction.from_record(record) if record is not None else None

    @strawberry.field(description="The assessments concerned that you can read.")
    async def assessments(self, info: strawberry.Info) -> list[Assessment]:
        rows = await loaders(info).assessment.load_many(self.assessment_ids)
        return [Assessment.from_row(row) for row in present(rows)]


@strawberry.type(description="Matches of one policy, grouped while its window was open.")
class Alert(relay.Node):
    id: relay.NodeID[int]
    severity: Severity
    status: AlertStatus
    detected_at: datetime
    updated_at: datetime
    window_ends_at: datetime = strawberry.field(
        description="Until then, further matches of the policy join this alert."
    )
    policy_name: str = strawberry.field(description="As when the alert opened.")
    policy_id: strawberry.Private[int | None]
    assignee_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: models.Alert) -> Alert:
        snapshot = row.policy_snapshot or {}
        return cls(
            id=row.id,
            severity=row.severity,
            status=row.status,
            detected_at=row.detected_at,
            updated_at=row.updated_at,
            window_ends_at=row.window_ends_at,
            policy_name=str(snapshot.get("name") or ""),
            policy_id=row.policy_id,
            assignee_id=row.assignee_id,
        )

    async def _events(self, info: strawberry.Info) -> list[models.Event]:
        return await loaders(info).alert_events.load(self.id)

    @strawberry.field(
        description="Null once the policy was deleted (policyName keeps its name), or for "
        "users without an organisation role."
    )
    async def policy(self, info: strawberry.Info) -> AlertPolicy | None:
        if self.policy_id is None:
            return None
        row = await loaders(info).alert_policy.load(self.policy_id)
        return AlertPolicy.from_row(row) if row is not None else None

    @strawberry.field
    async def assignee(self, info: strawberry.Info) -> User | None:
        return await _user(info, self.assignee_id)

    @strawberry.field
    async def kind(self, info: strawberry.Info) -> AlertKind:
        return policies.alert_kind([e.type for e in await self._events(info)])

    @strawberry.field
    async def event_count(self, info: strawberry.Info) -> int:
        return len(await self._events(info))

    @strawberry.field(description="The events log, oldest first.")
    async def events(self, info: strawberry.Info) -> list[AlertEvent]:
        return [AlertEvent.from_row(e) for e in await self._events(info)]

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await resolve_rows(loaders(info).alert, row_ids(node_ids), cls.from_row)


# -- list inputs -------------------------------------------------------------------------


@strawberry.input
class AlertPolicyFilter:
    enabled: bool | None = None
    severity: Severity | None = None


@strawberry.enum
class AlertPolicyOrderField(Enum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"


@strawberry.input
class AlertPolicyOrder:
    field: AlertPolicyOrderField = AlertPolicyOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class AlertFilter:
    statuses: list[AlertStatus] | None = None
    severities: list[Severity] | None = None
    policy_ids: list[strawberry.ID] | None = None
    event_types: list[EventType] | None = strawberry.field(
        default=None, description="Alerts holding at least one event of these types."
    )
    assignee_ids: list[strawberry.ID] | None = None
    detected_after: datetime | None = strawberry.field(default=None, description="Inclusive.")
    detected_before: datetime | None = strawberry.field(default=None, description="Exclusive.")


@strawberry.enum
class AlertOrderField(Enum):
    DETECTED_AT = "DETECTED_AT"
    UPDATED_AT = "UPDATED_AT"


@strawberry.input
class AlertOrder:
    field: AlertOrderField = AlertOrderField.DETECTED_AT
    direction: OrderDirection = OrderDirection.DESC


# -- mutation inputs and payloads --------------------------------------------------------


@strawberry.input(description="One condition; narrowing fields apply to their event types only.")
class AlertConditionInput:
    type: EventType
    direction: ScoreDirection | None = strawberry.field(
        default=None, description="SCORE_CHANGE only; default ANY."
    )
    min_points: float | None = strawberry.field(default=None, description="SCORE_CHANGE only.")
    to_statuses: list[str] | None = strawberry.field(
        default=None,
        description="IMPLEMENTATION_STATUS_CHANGE: ImplementationStatus values; "
        "TEST_STATUS_CHANGE: TestStatus values.",
    )


@strawberry.input(description="Empty lists do not restrict.")
class AlertScopeInput:
    assessment_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    group_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    regulation_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    categories: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class CreateAlertPolicyInput:
    name: str
    conditions: list[AlertConditionInput]
    description: str = ""
    scope: AlertScopeInput | None = None
    severity: Severity = domain.Severity.MEDIUM
    trigger: AlertTrigger = domain.AlertTrigger.EVERY_MATCH
    threshold_count: int | None = strawberry.field(default=None, description="THRESHOLD: N >= 2.")
    threshold_minutes: int | None = strawberry.field(
        default=None, description="THRESHOLD: M, 1-1440."
    )
    aggregation_seconds: int = strawberry.field(
        default=policies.DEFAULT_AGGREGATION_SECONDS, description="1-86400."
    )
    recipient_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Users with an organisation role; you always receive."
    )
    recipient_roles: list[OrgRole] = strawberry.field(default_factory=list)
    notify_assignee: bool = strawberry.field(
        default=False, description="Also email the assignee of each affected action."
    )
    daily_digest: bool = strawberry.field(
        default=False, description="One mail a day per recipient instead of one per alert."
    )
    enabled: bool = True


@strawberry.type
class CreateAlertPolicyPayload:
    alert_policy: AlertPolicy | None
    user_errors: list[UserError]


@strawberry.input(description="Fields left out stay as they are. The name cannot change.")
class UpdateAlertPolicyInput:
    alert_policy_id: strawberry.ID
    description: str | None = strawberry.UNSET
    conditions: list[AlertConditionInput] | None = strawberry.UNSET
    scope: AlertScopeInput | None = strawberry.field(
        default=strawberry.UNSET, description="Null: everything."
    )
    severity: Severity | None = strawberry.UNSET
    trigger: AlertTrigger | None = strawberry.UNSET
    threshold_count: int | None = strawberry.UNSET
    threshold_minutes: int | None = strawberry.UNSET
    aggregation_seconds: int | None = strawberry.UNSET
    recipient_ids: list[strawberry.ID] | None = strawberry.UNSET
    recipient_roles: list[OrgRole] | None = strawberry.UNSET
    notify_assignee: bool | None = strawberry.UNSET
    daily_digest: bool | None = strawberry.UNSET
    enabled: bool | None = strawberry.UNSET


@strawberry.type
class UpdateAlertPolicyPayload:
    alert_policy: AlertPolicy | None
    user_errors: list[UserError]


@strawberry.input
class DeleteAlertPolicyInput:
    alert_policy_id: strawberry.ID


@strawberry.type
class DeleteAlertPolicyPayload:
    deleted_alert_policy_id: strawberry.ID | None
    user_errors: list[UserError]


@strawberry.input(description="Fields left out stay as they are; a null assignee unassigns.")
class UpdateAlertInput:
    alert_id: strawberry.ID
    status: AlertStatus | None = strawberry.field(
        default=strawberry.UNSET, description="Any status may follow any other."
    )
    assignee_id: strawberry.ID | None = strawberry.UNSET


@strawberry.type
class UpdateAlertPayload:
    alert: Alert | None
    user_errors: list[UserError]


# -- root fields -------------------------------------------------------------------------


@strawberry.type
class AlertQueries:
    @strawberry.field(description="Alert policies; empty for users without an organisation role.")
    async def alert_policies(
        self,
        info: strawberry.Info,
        filter: AlertPolicyFilter | None = None,
        order_by: AlertPolicyOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AlertPolicy]:
        page = await resolvers.alert_policies(
            info,
            filter or AlertPolicyFilter(),
            order_by or AlertPolicyOrder(),
            PageRequest(first, after, last, before),
        )
        return connection(page, AlertPolicy.from_row)

    @strawberry.field(description="Alerts about what you can read; newest first by default.")
    async def alerts(
        self,
        info: strawberry.Info,
        filter: AlertFilter | None = None,
        order_by: AlertOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Alert]:
        page = await resolvers.alerts(
            info,
            filter or AlertFilter(),
            order_by or AlertOrder(),
            PageRequest(first, after, last, before),
        )
        return connection(page, Alert.from_row)


def _user_errors(errors: Iterable[DomainError]) -> list[UserError]:
    """User errors with nested field paths (``scope.groupIds`` -> ["input", "scope", ...])."""
    return [
        UserError(field=[*e.field[:1], *e.field[1].split(".")], code=e.code, message=e.message)
        if e.field and len(e.field) == 2
        else e
        for e in user_errors(errors)
    ]


@strawberry.type
class AlertMutations:
    @strawberry.mutation(description="Create an alert policy (CONTRIBUTOR and up).")
    async def create_alert_policy(
        self, info: strawberry.Info, input: CreateAlertPolicyInput
    ) -> CreateAlertPolicyPayload:
        outcome = await resolvers.create_alert_policy(info, input)
        return CreateAlertPolicyPayload(
            alert_policy=AlertPolicy.from_row(outcome.value) if outcome.value else None,
            user_errors=_user_errors(outcome.errors),
        )

    @strawberry.mutation(description="Change a policy's settings; its name stays.")
    async def update_alert_policy(
        self, info: strawberry.Info, input: UpdateAlertPolicyInput
    ) -> UpdateAlertPolicyPayload:
        outcome = await resolvers.update_alert_policy(info, input)
        return UpdateAlertPolicyPayload(
            alert_policy=AlertPolicy.from_row(outcome.value) if outcome.value else None,
            user_errors=_user_errors(outcome.errors),
        )

    @strawberry.mutation(description="Delete a policy; its alerts stay, with its name.")
    async def delete_alert_policy(
        self, info: strawberry.Info, input: DeleteAlertPolicyInput
    ) -> DeleteAlertPolicyPayload:
        outcome = await resolvers.delete_alert_policy(info, input)
        return DeleteAlertPolicyPayload(
            deleted_alert_policy_id=input.alert_policy_id if outcome.value else None,
            user_errors=_user_errors(outcome.errors),
        )

    @strawberry.mutation(description="Set an alert's status (any to any) and assignee.")
    async def update_alert(
        self, info: strawberry.Info, input: UpdateAlertInput
    ) -> UpdateAlertPayload:
        outcome = await resolvers.update_alert(info, input)
        return UpdateAlertPayload(
            alert=Alert.from_row(outcome.value) if outcome.value else None,
            user_errors=_user_errors(outcome.errors),
        )
