"""Provider attestations (DOMAIN.md section 14): a provider action's result is the provider's.

Provider actions are read-only to the organisation's people: their implementation and test
status, dates and notes are what the provider states, from two places:
- a template: each definition version may carry a ``ProviderResult`` (the template
  workbook's provider columns). A new instance gets it when an assessment creates it, and an
  existing one when a template version with a changed result is imported (provider actions
  take new versions directly, see ``updates.take_provider_versions``). A template that
  states nothing leaves the instance as it is.
- ``record_provider_result``: an administrator or an automation account records a later
  statement through the API.

Either way the values go through ``workflow.change_action`` with source ``PROVIDER``: the
same history rows, events and score upkeep as any change, and rules 1-4 of section 4. It
also makes the provider's own checks (who may record, provider actions only, a statement
checked as given: ``workflow.provider_statement``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import clock, text
from cmgraph.domain.enums import ChangeSource, ImplementationStatus, Owner, TestStatus
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.models import ActionDefinition, ActionDefinitionVersion, ImprovementAction
from cmgraph.domain.permissions import Principal
from cmgraph.domain.workflow import (
    MAX_NOTE_LENGTH,
    PROVIDER_FIELDS,
    ActionState,
    change_action,
    check_state,
    provider_statement,
)


@dataclass(frozen=True)
class ProviderResult:
    """A whole statement, as a template carries it: every field, blanks included."""

    implementation_status: ImplementationStatus
    implementation_date: date | None = None
    implementation_notes: str = ""
    test_status: TestStatus = TestStatus.NONE
    test_date: date | None = None
    testing_notes: str = ""

    def changes(self) -> dict[str, Any]:
        """Field name -> value, as ``change_action`` takes them."""
        return {name: getattr(self, name) for name in PROVIDER_FIELDS}

    def to_json(self) -> dict[str, Any]:
        """The form stored on ``ActionDefinitionVersion.provider_result``."""
        return {
            name: value.value
            if hasattr(value, "value")
            else (value.isoformat() if isinstance(value, date) else value)
            for name, value in self.changes().items()
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProviderResult:
        def day(name: str) -> date | None:
            value = data.get(name)
            return date.fromisoformat(value) if value else None

        return cls(
            implementation_status=ImplementationStatus(data["implementation_status"]),
            implementation_date=day("implementation_date"),
            implementation_notes=data.get("implementation_notes") or "",
            test_status=TestStatus(data.get("test_status") or TestStatus.NONE.value),
            test_date=day("test_date"),
            testing_notes=data.get("testing_notes") or "",
        )


def check_statement(changes: Mapping[str, Any], *, today: date | None = None) -> None:
    """Refuse a template's statement the rules forbid, as given (INVALID, naming the field),
    when the template is imported (a fresh action: fields left out are its defaults)."""
    fresh = ActionState(ImplementationStatus.NOT_IMPLEMENTED, None, TestStatus.NONE, None)
    stated = provider_statement(fresh, changes)
    check_state(stated, today=today or clock.today(), source=ChangeSource.PROVIDER)
    for name in ("implementation_notes", "testing_notes"):
        if name in changes:
            text.check_text(
                changes[name], "Notes", field=text.camel(name), max_length=MAX_NOTE_LENGTH
            )


async def record_provider_result(
    uow: UnitOfWork,
    actor: Principal,
    action_id: int,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> ImprovementAction:
    """Record what the provider states for one of its actions (history source PROVIDER).

    Fields left out stay as they are (or follow rule 3); ``change_action`` makes every check.
    """
    if not changes:
        raise DomainError(
            ErrorCode.INVALID, "State at least one field of the provider's result.", None
        )
    return await change_action(
        uow,
        actor,
        action_id,
        changes,
        source=ChangeSource.PROVIDER,
        expected_version=expected_version,
    )


async def apply_stated(
    uow: UnitOfWork, actor: Principal | None, action_id: int, stated: Mapping[str, Any]
) -> ImprovementAction:
    """Give an instance the result its template states (``provider_result`` as stored)."""
    return await change_action(
        uow,
        actor,
        action_id,
        ProviderResult.from_json(stated).changes(),
        source=ChangeSource.PROVIDER,
    )


async def state_new_instances(
    uow: UnitOfWork, actor: Principal | None, instances: Iterable[ImprovementAction]
) -> int:
    """New provider instances take what their definition version states; returns how many.

    Call it once the instances are linked to their (live) assessment's controls.
    """
    ids = [i.id for i in instances]
    if not ids:
        return 0
    rows = (
        await uow.session.execute(
            select(ImprovementAction.id, ActionDefinitionVersion.provider_result)
            .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
            .join(
                ActionDefinitionVersion,
                ActionDefinitionVersion.id == ImprovementAction.definition_version_id,
            )
            .where(ImprovementAction.id.in_(ids), ActionDefinition.owner == Owner.PROVIDER)
            .order_by(ImprovementAction.id)
        )
    ).all()
    # Filtered here: a JSON column may hold SQL NULL or JSON null for "nothing stated".
    stated = [(action_id, result) for action_id, result in rows if result]
    for action_id, result in stated:
        await apply_stated(uow, actor, action_id, result)
    return len(stated)
