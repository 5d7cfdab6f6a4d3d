"""Alert policies and alerts over GraphQL: the ``alertPolicies`` and ``alerts`` lists and the
mutations. Who may read what is the domain's (``domain.alert_access``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import strawberry
from sqlalchemy import select

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import alert_policies as service
from cmgraph.domain.alert_access import alerts_with_events, readable_alerts, readable_policies
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.models import Alert as AlertRow
from cmgraph.domain.models import AlertPolicy as AlertPolicyRow
from cmgraph.domain.models import Event
from cmgraph.domain.permissions import Principal
from cmgraph.resolvers.loaders import reader_dialect
from cmgraph.resolvers.mutations.base import Outcome, node_id, perform
from cmgraph.resolvers.queries import ids_of, paginate, sort
from cmgraph.schema import alerts as schema
from cmgraph.schema.connections import Connection
from cmgraph.schema.errors import UserError

# -- queries ----------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@strawberry.type
class AlertQueries:
    @strawberry.field(description="Alert policies; empty for users without an organisation role.")
    async def alert_policies(
        self,
        info: strawberry.Info,
        filter: schema.AlertPolicyFilter | None = None,
        order_by: schema.AlertPolicyOrder | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[schema.AlertPolicy]:
        statement = select(AlertPolicyRow).where(readable_policies(info.context.principal))
        f = filter or schema.AlertPolicyFilter()
        if f.enabled is not None:
            statement = statement.where(AlertPolicyRow.enabled.is_(f.enabled))
        if f.severity is not None:
            statement = statement.where(AlertPolicyRow.severity == f.severity)
        o = order_by or schema.AlertPolicyOrder()
        column = {
            schema.AlertPolicyOrderField.NAME: AlertPolicyRow.name,
            schema.AlertPolicyOrderField.CREATED_AT: AlertPolicyRow.created_at,
        }[o.field]
        return await paginate(
            info,
            statement,
            sort(column, o.direction, AlertPolicyRow.id),
            first,
            after,
            schema.AlertPolicy.from_row,
        )

    @strawberry.field(description="Alerts about what you can read; newest first by default.")
    async def alerts(
        self,
        info: strawberry.Info,
        filter: schema.AlertFilter | None = None,
        order_by: schema.AlertOrder | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[schema.Alert]:
        dialect = reader_dialect(info.context.reader)
        statement = select(AlertRow).where(readable_alerts(info.context.principal, dialect))
        f = filter or schema.AlertFilter()
        if f.statuses is not None:
            statement = statement.where(AlertRow.status.in_(f.statuses))
        if f.severities is not None:
            statement = statement.where(AlertRow.severity.in_(f.severities))
        if (ids := ids_of(f.policy_ids, "AlertPolicy")) is not None:
            statement = statement.where(AlertRow.policy_id.in_(ids))
        if f.event_types is not None:
            types = [t.value for t in f.event_types]
            statement = statement.where(
                AlertRow.id.in_(alerts_with_events(dialect, Event.type.in_(types)))
            )
        if (ids := ids_of(f.assignee_ids, "User")) is not None:
            statement = statement.where(AlertRow.assignee_id.in_(ids))
        if f.detected_after is not None:
            statement = statement.where(AlertRow.detected_at >= _utc(f.detected_after))
        if f.detected_before is not None:
            statement = statement.where(AlertRow.detected_at < _utc(f.detected_before))
        o = order_by or schema.AlertOrder()
        column = {
            schema.AlertOrderField.DETECTED_AT: AlertRow.detected_at,
            schema.AlertOrderField.UPDATED_AT: AlertRow.updated_at,
        }[o.field]
        return await paginate(
            info,
            statement,
            sort(column, o.direction, AlertRow.id.desc() if _desc(o) else AlertRow.id),
            first,
            after,
            schema.Alert.from_row,
        )


def _desc(order: schema.AlertOrder) -> bool:
    return order.direction.value == "DESC"


# -- mutations --------------------------------------------------------------------------


def _errors(outcome: Outcome[Any]) -> list[UserError]:
    """User errors with nested field paths (``scope.groupIds`` -> ["input", "scope", ...])."""
    return [
        UserError(field=[*e.field[:1], *e.field[1].split(".")], code=e.code, message=e.message)
        if e.field and len(e.field) == 2
        else e
        for e in outcome.user_errors
    ]


def _ids(gids: Iterable[str], type_name: str, field: str) -> list[int]:
    return [node_id(g, type_name, field) for g in gids]


def _conditions(items: Iterable[schema.AlertConditionInput]) -> list[service.ConditionSpec]:
    return [
        service.ConditionSpec(
            type=c.type, direction=c.direction, min_points=c.min_points, to_statuses=c.to_statuses
        )
        for c in items
    ]


def _scope(scope: schema.AlertScopeInput | None) -> service.ScopeSpec:
    if scope is None:
        return service.ScopeSpec()
    return service.ScopeSpec(
        assessment_ids=tuple(_ids(scope.assessment_ids, "Assessment", "scope.assessmentIds")),
        group_ids=tuple(_ids(scope.group_ids, "Group", "scope.groupIds")),
        regulation_ids=tuple(_ids(scope.regulation_ids, "Regulation", "scope.regulationIds")),
        categories=tuple(scope.categories),
    )


_NOT_NULL = ("conditions", "severity", "trigger", "aggregation_seconds", "enabled")


def _policy_changes(input: schema.UpdateAlertPolicyInput) -> dict[str, Any]:
    """The settings the client sent, converted; null is refused where a value is required."""
    changes: dict[str, Any] = {}
    for name in sorted(service.SETTING_NAMES):
        value = getattr(input, name, strawberry.UNSET)
        if value is strawberry.UNSET:
            continue
        if value is None and name in _NOT_NULL:
            raise DomainError(ErrorCode.INVALID, "This field cannot be null.", service.camel(name))
        if name == "conditions":
            value = _conditions(value)
        elif name == "scope":
            value = _scope(value)
        elif name == "recipient_ids":
            value = _ids(value or [], "User", "recipientIds")
        elif name == "recipient_roles":
            value = list(value or [])
        elif name == "description":
            value = value or ""
        changes[name] = value
    return changes


@strawberry.type
class AlertMutations:
    @strawberry.mutation(description="Create an alert policy (CONTRIBUTOR and up).")
    async def create_alert_policy(
        self, info: strawberry.Info, input: schema.CreateAlertPolicyInput
    ) -> schema.CreateAlertPolicyPayload:
        async def work(uow: UnitOfWork, actor: Principal) -> AlertPolicyRow:
            settings = service.PolicySettings(
                description=input.description,
                conditions=_conditions(input.conditions),
                scope=_scope(input.scope),
                severity=input.severity,
                trigger=input.trigger,
                threshold_count=input.threshold_count,
                threshold_minutes=input.threshold_minutes,
                aggregation_seconds=input.aggregation_seconds,
                recipient_ids=_ids(input.recipient_ids, "User", "recipientIds"),
                recipient_roles=list(input.recipient_roles),
                enabled=input.enabled,
            )
            return await service.create_alert_policy(uow, actor, input.name, settings)

        outcome = await perform(info, work)
        return schema.CreateAlertPolicyPayload(
            alert_policy=schema.AlertPolicy.from_row(outcome.value) if outcome.value else None,
            user_errors=_errors(outcome),
        )

    @strawberry.mutation(description="Change a policy's settings; its name stays.")
    async def update_alert_policy(
        self, info: strawberry.Info, input: schema.UpdateAlertPolicyInput
    ) -> schema.UpdateAlertPolicyPayload:
        async def work(uow: UnitOfWork, actor: Principal) -> AlertPolicyRow:
            policy_id = node_id(input.alert_policy_id, "AlertPolicy", "alertPolicyId")
            return await service.update_alert_policy(uow, actor, policy_id, _policy_changes(input))

        outcome = await perform(info, work)
        return schema.UpdateAlertPolicyPayload(
            alert_policy=schema.AlertPolicy.from_row(outcome.value) if outcome.value else None,
            user_errors=_errors(outcome),
        )

    @strawberry.mutation(description="Delete a policy; its alerts stay, with its name.")
    async def delete_alert_policy(
        self, info: strawberry.Info, input: schema.DeleteAlertPolicyInput
    ) -> schema.DeleteAlertPolicyPayload:
        async def work(uow: UnitOfWork, actor: Principal) -> bool:
            policy_id = node_id(input.alert_policy_id, "AlertPolicy", "alertPolicyId")
            await service.delete_alert_policy(uow, actor, policy_id)
            return True

        outcome = await perform(info, work)
        return schema.DeleteAlertPolicyPayload(
            deleted_alert_policy_id=input.alert_policy_id if outcome.value else None,
            user_errors=_errors(outcome),
        )

    @strawberry.mutation(description="Set an alert's status (any to any) and assignee.")
    async def update_alert(
        self, info: strawberry.Info, input: schema.UpdateAlertInput
    ) -> schema.UpdateAlertPayload:
        async def work(uow: UnitOfWork, actor: Principal) -> AlertRow:
            alert_id = node_id(input.alert_id, "Alert", "alertId")
            changes: dict[str, Any] = {}
            if input.status is not strawberry.UNSET:
                changes["status"] = input.status
            if input.assignee_id is not strawberry.UNSET:
                changes["assignee_id"] = (
                    None
                    if input.assignee_id is None
                    else node_id(input.assignee_id, "User", "assigneeId")
                )
            return await service.update_alert(uow, actor, alert_id, **changes)

        outcome = await perform(info, work)
        return schema.UpdateAlertPayload(
            alert=schema.Alert.from_row(outcome.value) if outcome.value else None,
            user_errors=_errors(outcome),
        )
