"""Changing an improvement action's implementation and testing state (DOMAIN.md section 4).

``change_action`` is the single write path for these fields: it checks permission, applies
the rules, writes one history row per changed field, keeps the stored score current and
appends events, all inside the caller's unit of work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from cmgraph.db import UnitOfWork
from cmgraph.domain.enums import (
    AUTOMATION_ONLY_TEST_STATUSES,
    IMPLEMENTED_STATUSES,
    UNTESTED_STATUSES,
    ChangeSource,
    EventType,
    ImplementationStatus,
    OrgRole,
    Owner,
    TestingSource,
    TestStatus,
)
from cmgraph.domain.errors import DomainError, ErrorCode, forbidden, not_found
from cmgraph.domain.models import (
    ActionDefinition,
    Assessment,
    Control,
    ControlAction,
    Event,
    HistoryEntry,
    ImprovementAction,
    Template,
    utcnow,
)
from cmgraph.domain.permissions import Principal
from cmgraph.domain.score_upkeep import apply_delta
from cmgraph.domain.scoring import Score, refresh_score

IMPLEMENTATION_FIELDS = ("implementation_status", "implementation_date", "implementation_notes")
TESTING_FIELDS = ("test_status", "test_date", "testing_notes")
OTHER_FIELDS = ("additional_notes",)
EDITABLE_FIELDS = IMPLEMENTATION_FIELDS + TESTING_FIELDS + OTHER_FIELDS
MAX_NOTE_LENGTH = 100_000


@dataclass(frozen=True)
class ActionState:
    """The fields the rules look at together."""

    implementation_status: ImplementationStatus
    implementation_date: date | None
    test_status: TestStatus
    test_date: date | None


def settle(before: ActionState, after: ActionState) -> ActionState:
    """Apply the automatic consequences of a change (rules 2 and 3)."""
    implemented = after.implementation_status in IMPLEMENTED_STATUSES
    if after.implementation_status is ImplementationStatus.OUT_OF_SCOPE:
        return ActionState(after.implementation_status, None, TestStatus.OUT_OF_SCOPE, None)
    if before.implementation_status in IMPLEMENTED_STATUSES and not implemented:
        return ActionState(after.implementation_status, None, TestStatus.NONE, None)
    if (
        before.implementation_status is ImplementationStatus.OUT_OF_SCOPE
        and after.test_status is TestStatus.OUT_OF_SCOPE
        and before.test_status is TestStatus.OUT_OF_SCOPE
    ):
        return ActionState(
            after.implementation_status, after.implementation_date, TestStatus.NONE, None
        )
    return after


def check_state(state: ActionState, *, today: date, source: ChangeSource) -> None:
    """Refuse a combination the rules forbid (rules 1, 2 and 4, and automation-only values)."""
    implemented = state.implementation_status in IMPLEMENTED_STATUSES
    automated = source is ChangeSource.AUTOMATION
    if state.implementation_status is ImplementationStatus.PARTIALLY_IMPLEMENTED and not automated:
        raise _invalid("implementationStatus", "PARTIALLY_IMPLEMENTED is set only by automation.")
    if state.test_status in AUTOMATION_ONLY_TEST_STATUSES and not automated:
        raise _invalid("testStatus", f"{state.test_status.value} is set only by automation.")
    if state.implementation_date is not None and not implemented:
        raise _invalid(
            "implementationDate",
            "An implementation date needs status IMPLEMENTED or ALTERNATIVE_IMPLEMENTATION.",
        )
    if (
        state.test_status not in UNTESTED_STATUSES
        and state.test_status is not TestStatus.OUT_OF_SCOPE
        and not implemented
        and not automated
    ):
        raise _invalid(
            "testStatus",
            f"Test status {state.test_status.value} needs the action to be implemented first.",
        )
    if state.test_status is TestStatus.OUT_OF_SCOPE and not (
        state.implementation_status is ImplementationStatus.OUT_OF_SCOPE or implemented
    ):
        raise _invalid("testStatus", "Mark the implementation out of scope instead.")
    for name, value in (
        ("implementationDate", state.implementation_date),
        ("testDate", state.test_date),
    ):
        if value is not None and value > today:
            raise _invalid(name, "Dates may not be in the future.")
    if (
        state.test_date is not None
        and state.implementation_date is not None
        and state.test_date < state.implementation_date
    ):
        raise _invalid("testDate", "The test date may not precede the implementation date.")


def _invalid(field: str, message: str) -> DomainError:
    return DomainError(ErrorCode.INVALID, message, field)


@dataclass(frozen=True)
class Reach:
    """The assessments an action belongs to, for permission and score upkeep."""

    assessment_ids: tuple[int, ...]
    editable: bool
    assessable: bool


async def action_reach(uow: UnitOfWork, actor: Principal, action_id: int) -> Reach:
    rows = (
        await uow.session.execute(
            select(Assessment.id, Template.regulation_id, Assessment.archived_at)
            .join(Template, Template.id == Assessment.template_id)
            .join(Control, Control.assessment_id == Assessment.id)
            .join(ControlAction, ControlAction.control_id == Control.id)
            .where(ControlAction.action_id == action_id)
            .distinct()
        )
    ).all()
    live = [(a, r) for a, r, archived in rows if archived is None]
    return Reach(
        assessment_ids=tuple(sorted(a for a, _ in live)),
        editable=any(actor.may_on_assessment(OrgRole.CONTRIBUTOR, a, r) for a, r in live),
        assessable=any(actor.may_on_assessment(OrgRole.ASSESSOR, a, r) for a, r in live),
    )


async def change_action(
    uow: UnitOfWork,
    actor: Principal,
    action_id: int,
    changes: Mapping[str, Any],
    *,
    source: ChangeSource = ChangeSource.USER,
    expected_version: int | None = None,
    today: date | None = None,
) -> ImprovementAction:
    """Apply ``changes`` (field name -> new value) to one action under every rule."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise _invalid(sorted(unknown)[0], "This field cannot be edited.")
    session = uow.session
    action = await session.get(ImprovementAction, action_id, with_for_update=True)
    if action is None:
        raise not_found("Improvement action", "id")
    definition = await session.get(ActionDefinition, action.definition_id)
    assert definition is not None
    reach = await action_reach(uow, actor, action_id)
    if not reach.assessment_ids:
        raise DomainError(
            ErrorCode.INVALID, "The action belongs only to archived assessments.", "id"
        )
    if source is ChangeSource.USER:
        if definition.owner is Owner.PROVIDER:
            raise forbidden("Provider actions are read-only.")
        if not reach.editable:
            raise forbidden("You may not edit this action.")
        if set(changes) & set(TESTING_FIELDS) and not reach.assessable:
            raise forbidden("Test status, test date and testing notes need the assessor role.")
        _check_testing_source(action, changes)
    elif source is ChangeSource.AUTOMATION and not (
        actor.is_automation or actor.has_org_role(OrgRole.ADMINISTRATOR)
    ):
        raise forbidden("Only automation service accounts report automated results.")
    if expected_version is not None and expected_version != action.version:
        raise DomainError(
            ErrorCode.CONFLICT,
            f"The action changed since you loaded it (version {action.version}, "
            f"you had {expected_version}); reload and try again.",
            "version",
        )
    for name in ("implementation_notes", "testing_notes", "additional_notes"):
        if name in changes and len(changes[name] or "") > MAX_NOTE_LENGTH:
            raise _invalid(_camel(name), f"Notes are limited to {MAX_NOTE_LENGTH} characters.")

    before = _state(action)
    proposed = ActionState(**{**before.__dict__, **_pick(changes, before.__dict__)})
    after = settle(before, proposed)
    check_state(after, today=today or datetime.now(UTC).date(), source=source)

    new_values = {
        **{name: changes[name] for name in changes},
        **after.__dict__,
    }
    old_score = Score(action.earned, action.possible)
    changed = [
        name
        for name in EDITABLE_FIELDS
        if name in new_values and new_values[name] != getattr(action, name)
    ]
    if not changed:
        return action
    now = utcnow()
    if (
        source is ChangeSource.USER
        and action.testing_source is TestingSource.AUTOMATIC
        and "test_date" in changed
    ):
        # A test date entered by hand is manual testing data: the action leaves automation.
        new_values["testing_source"] = TestingSource.MANUAL
        changed.append("testing_source")
    for name in changed:
        session.add(
            HistoryEntry(
                action_id=action.id,
                field=name,
                old_value=_text(getattr(action, name)),
                new_value=_text(new_values[name]),
                source=source,
                actor_id=actor.user_id,
                created_at=now,
            )
        )
        setattr(action, name, new_values[name])
    new_score = refresh_score(action)
    action.version += 1
    action.updated_at = now

    def event(kind: EventType, payload: dict[str, Any]) -> Event:
        return Event(
            type=kind.value,
            action_id=action.id,
            actor_id=actor.user_id,
            payload={
                "assessmentIds": list(reach.assessment_ids),
                "source": source.value,
                **payload,
            },
            created_at=now,
        )

    if "implementation_status" in changed:
        session.add(
            event(
                EventType.IMPLEMENTATION_STATUS_CHANGE,
                {
                    "from": before.implementation_status.value,
                    "to": action.implementation_status.value,
                },
            )
        )
    if "test_status" in changed:
        session.add(
            event(
                EventType.TEST_STATUS_CHANGE,
                {"from": before.test_status.value, "to": action.test_status.value},
            )
        )
    if new_score != old_score:
        assessments = await apply_delta(uow, reach.assessment_ids, old_score, new_score)
        session.add(
            event(
                EventType.SCORE_CHANGE,
                {
                    "before": {"earned": old_score.earned, "possible": old_score.possible},
                    "after": {"earned": new_score.earned, "possible": new_score.possible},
                    "delta": new_score.earned - old_score.earned,
                    "assessments": assessments,
                },
            )
        )
    await session.flush()
    return action


def _check_testing_source(action: ImprovementAction, changes: Mapping[str, Any]) -> None:
    """DOMAIN.md section 5: inherited and automated fields are not edited by hand."""
    if action.testing_source is TestingSource.PARENT and set(changes) & set(
        IMPLEMENTATION_FIELDS + TESTING_FIELDS
    ):
        raise _invalid(
            "testingSource",
            "This action inherits implementation and testing from its parent action; change "
            "the parent, or set its testing source to MANUAL first.",
        )
    if action.testing_source is TestingSource.AUTOMATIC and {"test_status", "testing_notes"} & set(
        changes
    ):
        raise _invalid(
            "testingSource",
            "This action is tested automatically; set its testing source to MANUAL to record "
            "results by hand.",
        )


def _state(action: ImprovementAction) -> ActionState:
    return ActionState(
        action.implementation_status,
        action.implementation_date,
        action.test_status,
        action.test_date,
    )


def _pick(changes: Mapping[str, Any], names: Mapping[str, Any]) -> dict[str, Any]:
    return {name: changes[name] for name in names if name in changes}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value.value if hasattr(value, "value") else value)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
