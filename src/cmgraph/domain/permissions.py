"""Who may do what (DOMAIN.md section 8).

The effective role on an object is the highest of the organisation role and the scoped
grants that cover it. Read filters are SQL clauses so lists never load what the caller
may not see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select, true

from cmgraph.domain.clause_shapes import Clauses
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.errors import forbidden
from cmgraph.domain.models import (
    Assessment,
    Control,
    ControlAction,
    Group,
    ImprovementAction,
    Regulation,
    Template,
)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, with everything needed to decide access without a query."""

    user_id: int
    role: OrgRole | None
    assessment_grants: Mapping[int, OrgRole] = field(default_factory=dict)
    regulation_grants: Mapping[int, OrgRole] = field(default_factory=dict)
    is_automation: bool = False

    def has_org_role(self, needed: OrgRole) -> bool:
        return self.role is not None and self.role.rank >= needed.rank

    def role_on_assessment(self, assessment_id: int, regulation_id: int) -> OrgRole | None:
        roles = [
            r
            for r in (
                self.role,
                self.assessment_grants.get(assessment_id),
                self.regulation_grants.get(regulation_id),
            )
            if r is not None
        ]
        return max(roles, key=lambda r: r.rank) if roles else None

    def may_on_assessment(self, needed: OrgRole, assessment_id: int, regulation_id: int) -> bool:
        role = self.role_on_assessment(assessment_id, regulation_id)
        return role is not None and role.rank >= needed.rank

    @property
    def sees_everything(self) -> bool:
        return self.has_org_role(OrgRole.READER)


def require_org_role(principal: Principal, needed: OrgRole) -> None:
    if not principal.has_org_role(needed):
        raise forbidden(f"This needs the {needed.value} organisation role.")


def may_manage_people(principal: Principal) -> bool:
    """Owners manage people: roles, access, tokens, sessions, the audit trail (and run any
    GraphQL document, give access while assigning work, remove a person's history)."""
    return principal.has_org_role(OrgRole.OWNER)


def require_may_manage_people(principal: Principal, what: str = "manage people") -> None:
    """``may_manage_people``, else ``FORBIDDEN`` saying that only owners may ``what``."""
    if not may_manage_people(principal):
        raise forbidden(f"Only owners may {what}.")


def readable_assessments(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause on ``Assessment`` for the assessments the caller may read."""
    if principal.sees_everything:
        return true()
    regulations = list(principal.regulation_grants)
    return _granted(list(principal.assessment_grants), regulations or None)


def _granted(assessment_ids: Any, regulation_ids: Any | None) -> ColumnElement[bool]:
    """Assessments among ``assessment_ids`` or of templates of ``regulation_ids`` (lists or
    bound parameters)."""
    clause: ColumnElement[bool] = Assessment.id.in_(assessment_ids)
    if regulation_ids is not None:
        templates = select(Template.id).where(Template.regulation_id.in_(regulation_ids))
        clause = clause | Assessment.template_id.in_(templates)
    return clause


def may_read_any(
    principal: Principal, assessment_ids: Iterable[int], regulation_of: Mapping[int, int]
) -> bool:
    """``readable_assessments`` in memory, for what spans assessments (an event, an action):
    readable if any of them is. ``regulation_of`` maps assessment ids to their regulation."""
    if principal.sees_everything:
        return True
    return any(
        assessment_id in principal.assessment_grants
        or regulation_of.get(assessment_id) in principal.regulation_grants
        for assessment_id in assessment_ids
    )


def readable_assessment_ids(principal: Principal) -> Select[int]:
    return select(Assessment.id).where(readable_assessments(principal))


def readable_actions(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause on ``ImprovementAction``: readable if any of its assessments is."""
    return and_(true(), *readable_action_clauses(principal).built())


def readable_action_clauses(principal: Principal) -> Clauses:
    """``readable_actions`` known by its shape (``clause_shapes``), the grants as values."""
    clauses = Clauses()
    if principal.sees_everything:
        return clauses
    values: dict[str, Any] = {"granted_assessments": list(principal.assessment_grants)}
    if principal.regulation_grants:
        values["granted_regulations"] = list(principal.regulation_grants)

    def granted(granted_assessments: Any, granted_regulations: Any = None) -> Any:
        readable = select(Assessment.id).where(_granted(granted_assessments, granted_regulations))
        reachable = (
            select(ControlAction.action_id)
            .join(Control, Control.id == ControlAction.control_id)
            .where(Control.assessment_id.in_(readable))
        )
        return ImprovementAction.id.in_(reachable)

    clauses.add(("granted", "granted_regulations" in values), granted, **values)
    return clauses


def readable_groups(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause on ``Group``: groups holding an assessment the caller may read."""
    if principal.sees_everything:
        return true()
    return Group.id.in_(select(Assessment.group_id).where(readable_assessments(principal)))


def readable_templates(principal: Principal) -> ColumnElement[bool]:
    """Templates of readable assessments, and all templates of granted regulations."""
    if principal.sees_everything:
        return true()
    return Template.id.in_(
        select(Assessment.template_id).where(readable_assessments(principal))
    ) | Template.regulation_id.in_(list(principal.regulation_grants))


def readable_regulations(principal: Principal) -> ColumnElement[bool]:
    if principal.sees_everything:
        return true()
    return Regulation.id.in_(select(Template.regulation_id).where(readable_templates(principal)))


def may_find_people(principal: Principal) -> bool:
    """Whoever may assign work (a contributor, by role or by a grant) may search for people
    to assign it to."""
    grants = (*principal.assessment_grants.values(), *principal.regulation_grants.values())
    roles = [r for r in (principal.role, *grants) if r is not None]
    return any(r.rank >= OrgRole.CONTRIBUTOR.rank for r in roles)


def may_look_up_user(principal: Principal, user_id: int) -> bool:
    """Organisation members may look anyone up (to assign work); others only themselves.

    Users reached through something readable (an assignee, an uploader, a history author)
    are shown whatever the caller's role: they are part of what the caller may read.
    """
    return principal.sees_everything or principal.user_id == user_id
