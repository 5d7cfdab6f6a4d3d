"""Alert policies and alerts: the reads behind the ``alertPolicies`` and ``alerts`` lists and
the writes behind the mutations. Who may read what is the domain's (``domain.alert_access``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import strawberry
from sqlalchemy import select

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import alert_policies as service
from cmgraph.domain import text
from cmgraph.domain.alert_access import alerts_with_events, readable_alerts, readable_policies
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.keyset import sort
from cmgraph.domain.models import Alert as AlertRow
from cmgraph.domain.models import AlertPolicy as AlertPolicyRow
from cmgraph.domain.models import Event
from cmgraph.domain.permissions import Principal
from cmgraph.resolvers.loaders import reader_dialect
from cmgraph.resolvers.mutations.base import Outcome, node_id, perform
from cmgraph.resolvers.pages import Page, PageRequest, descending, read_page
from cmgraph.resolvers.queries import ids_of

# -- queries ----------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


async def alert_policies(
    info: strawberry.Info, filter: Any, order_by: Any, request: PageRequest
) -> Page:
    statement = select(AlertPolicyRow).where(readable_policies(info.context.principal))
    if filter.enabled is not None:
        statement = statement.where(AlertPolicyRow.enabled.is_(filter.enabled))
    if filter.severity is not None:
        statement = statement.where(AlertPolicyRow.severity == filter.severity)
    column = {"NAME": AlertPolicyRow.name, "CREATED_AT": AlertPolicyRow.created_at}[
        order_by.field.value
    ]
    return await read_page(
        info, statement, sort(column, descending(order_by), AlertPolicyRow.id), request
    )


async def alerts(info: strawberry.Info, filter: Any, order_by: Any, request: PageRequest) -> Page:
    dialect = reader_dialect(info.context.reader)
    statement = select(AlertRow).where(readable_alerts(info.context.principal, dialect))
    if filter.statuses is not None:
        statement = statement.where(AlertRow.status.in_(filter.statuses))
    if filter.severities is not None:
        statement = statement.where(AlertRow.severity.in_(filter.severities))
    if (ids := ids_of(filter.policy_ids, "AlertPolicy")) is not None:
        statement = statement.where(AlertRow.policy_id.in_(ids))
    if filter.event_types is not None:
        types = [t.value for t in filter.event_types]
        statement = statement.where(
            AlertRow.id.in_(alerts_with_events(dialect, Event.type.in_(types)))
        )
    if (ids := ids_of(filter.assignee_ids, "User")) is not None:
        statement = statement.where(AlertRow.assignee_id.in_(ids))
    if filter.detected_after is not None:
        statement = statement.where(AlertRow.detected_at >= _utc(filter.detected_after))
    if filter.detected_before is not None:
        statement = statement.where(AlertRow.detected_at < _utc(filter.detected_before))
    column = {"DETECTED_AT": AlertRow.detected_at, "UPDATED_AT": AlertRow.updated_at}[
        order_by.field.value
    ]
    order = sort(column, descending(order_by), AlertRow.id)
    return await read_page(info, statement, order, request)


# -- mutations --------------------------------------------------------------------------


def _ids(gids: Iterable[str], type_name: str, field: str) -> list[int]:
    return [node_id(g, type_name, field) for g in gids]


def _conditions(items: Iterable[Any]) -> list[service.ConditionSpec]:
    return [
        service.ConditionSpec(
            type=c.type, direction=c.direction, min_points=c.min_points, to_statuses=c.to_statuses
        )
        for c in items
    ]


def _scope(scope: Any) -> service.ScopeSpec:
    if scope is None:
        return service.ScopeSpec()
    return service.ScopeSpec(
        assessment_ids=tuple(_ids(scope.assessment_ids, "Assessment", "scope.assessmentIds")),
        group_ids=tuple(_ids(scope.group_ids, "Group", "scope.groupIds")),
        regulation_ids=tuple(_ids(scope.regulation_ids, "Regulation", "scope.regulationIds")),
        categories=tuple(scope.categories),
    )


_NOT_NULL = (
    "conditions",
    "severity",
    "trigger",
    "aggregation_seconds",
    "enabled",
    "notify_assignee",
    "daily_digest",
)


def _policy_changes(input: Any) -> dict[str, Any]:
    """The settings the client sent, converted; null is refused where a value is required."""
    changes: dict[str, Any] = {}
    for name in sorted(service.SETTING_NAMES):
        value = getattr(input, name, strawberry.UNSET)
        if value is strawberry.UNSET:
            continue
        if value is None and name in _NOT_NULL:
            raise DomainError(ErrorCode.INVALID, "This field cannot be null.", text.camel(name))
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


async def create_alert_policy(info: strawberry.Info, input: Any) -> Outcome[AlertPolicyRow]:
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
            notify_assignee=input.notify_assignee,
            daily_digest=input.daily_digest,
            enabled=input.enabled,
        )
        return await service.create_alert_policy(uow, actor, input.name, settings)

    return await perform(info, work)


async def update_alert_policy(info: strawberry.Info, input: Any) -> Outcome[AlertPolicyRow]:
    async def work(uow: UnitOfWork, actor: Principal) -> AlertPolicyRow:
        policy_id = node_id(input.alert_policy_id, "AlertPolicy", "alertPolicyId")
        return await service.update_alert_policy(uow, actor, policy_id, _policy_changes(input))

    return await perform(info, work)


async def delete_alert_policy(info: strawberry.Info, input: Any) -> Outcome[bool]:
    async def work(uow: UnitOfWork, actor: Principal) -> bool:
        policy_id = node_id(input.alert_policy_id, "AlertPolicy", "alertPolicyId")
        await service.delete_alert_policy(uow, actor, policy_id)
        return True

    return await perform(info, work)


async def update_alert(info: strawberry.Info, input: Any) -> Outcome[AlertRow]:
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

    return await perform(info, work)
