"""Who may read alert policies and alerts, as SQL clauses (DOMAIN.md section 8).

- Policies: users with an organisation role (READER and up). Users with scoped grants only
  see none: a policy speaks of the whole organisation.
- Alerts: organisation members see all; others see an alert when one of its events concerns
  an assessment they may read. The assessments come from each event's
  ``payload["assessmentIds"]``, read with the database's JSON functions (``json_each`` on
  SQLite, ``json_array_elements_text`` on PostgreSQL) so lists page in SQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, cast, false, func, select, true

from cmgraph.domain.enums import OrgRole
from cmgraph.domain.models import Alert as AlertRow
from cmgraph.domain.models import AlertMatch, Event
from cmgraph.domain.permissions import Principal, readable_assessment_ids


def json_ints(dialect: str, column: Any, key: str) -> Any:
    """A table-valued ``value`` column: the integers of the JSON array ``column[key]``."""
    if dialect == "postgresql":
        return func.json_array_elements_text(column[key]).table_valued("value")
    return func.json_each(column, f"$.{key}").table_valued("value")


def alert_event_links(dialect: str) -> Any:
    """(alert_id, event_id) of every alert, through its matches."""
    return (
        select(AlertMatch.alert_id.label("alert_id"), AlertMatch.event_id.label("event_id"))
        .where(AlertMatch.alert_id.isnot(None))
        .subquery("alert_event")
    )


def alerts_with_events(dialect: str, *where: ColumnElement[bool]) -> Any:
    """Ids of alerts with an event meeting ``where`` (a clause on ``Event``)."""
    links = alert_event_links(dialect)
    return (
        select(links.c.alert_id)
        .select_from(links)
        .join(Event, Event.id == links.c.event_id)
        .where(*where)
    )


def readable_alerts(principal: Principal, dialect: str) -> ColumnElement[bool]:
    """A WHERE clause on ``Alert``: those with an event about an assessment the caller reads."""
    if principal.sees_everything:
        return true()
    links = alert_event_links(dialect)
    assessments = json_ints(dialect, Event.payload, "assessmentIds")
    return AlertRow.id.in_(
        select(links.c.alert_id)
        .select_from(links)
        .join(Event, Event.id == links.c.event_id)
        .join(assessments, true())
        .where(cast(assessments.c.value, Integer).in_(readable_assessment_ids(principal)))
    )


def readable_policies(principal: Principal) -> ColumnElement[bool]:
    return true() if principal.has_org_role(OrgRole.READER) else false()
