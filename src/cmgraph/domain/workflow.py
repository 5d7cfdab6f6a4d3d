"""Changing an improvement action's implementation and testing state (DOMAIN.md section 4).

``change_action`` is the single write path for these fields: it checks permission, applies
the rules, writes one history row per changed field, keeps the stored score current and
appends events, all inside the caller's unit of work.

Testing source (DOMAIN.md section 5) shapes it in three places:
- ``PARENT``: every change that touches an inherited field is passed on to the actions that
  link to this one, recursively, through ``change_action`` itself with source ``PARENT`` (so
  children get the same history, events and score upkeep as a direct change). Inherited values
  are copied as they are: the parent already settled and checked them.
- ``AUTOMATION`` reports both statuses at once; the reported test status wins over rule 3's
  reset and the test date is left alone unless the caller gives one.
- Users (and imports) may not edit inherited fields of a ``PARENT`` action nor the test status
  or testing notes of an ``AUTOMATIC`` one; a test date entered by hand is manual testing data
  and takes the action out of automation (evidence does the same, see ``evidence``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import calendar, clock, score_cells, status_upkeep, text
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
    ActionDefinitionVersion,
    Assessment,
    Control,
    ControlAction,
    Event,
    HistoryEntry,
    ImprovementAction,
    Template,
    utcnow,
)
from cmgraph.domain.organisation import organisation
from cmgraph.domain.permissions import Principal
from cmgraph.domain.score_upkeep import apply_delta
from cmgraph.domain.scoring import Score, refresh_score

IMPLEMENTATION_FIELDS = ("implementation_status", "implementation_date", "implementation_notes")
TESTING_FIELDS = ("test_status", "test_date", "testing_notes")
OTHER_FIELDS = ("additional_notes",)
# Planning (DOMAIN.md section 15): the action's own, never inherited from a parent nor
# reported by automation, so contributors set them whatever the testing source.
PLANNING_FIELDS = ("due_date", "retest_interval_days")
EDITABLE_FIELDS = IMPLEMENTATION_FIELDS + TESTING_FIELDS + OTHER_FIELDS + PLANNING_FIELDS
# Written only by automation signals and by inheritance, never by hand.
AUTOMATION_FIELDS = ("automation_fraction",)
# What an action with testing source PARENT takes from its parent.
INHERITED_FIELDS = IMPLEMENTATION_FIELDS + TESTING_FIELDS + AUTOMATION_FIELDS
TRACKED_FIELDS = EDITABLE_FIELDS + AUTOMATION_FIELDS
# What the day of the next retest depends on (besides the definition's default cadence).
RETEST_INPUTS = ("test_status", "test_date", "retest_interval_days")
# What a provider attests (DOMAIN.md section 14): its statuses, dates and notes.
PROVIDER_FIELDS = IMPLEMENTATION_FIELDS + TESTING_FIELDS
PROVIDER_READ_ONLY = (
    "Provider actions are read-only: their results are the provider's, stated by the "
    "template or recorded with recordProviderResult."
)
MAX_NOTE_LENGTH = 100_000
# Longest parent chain (links from the root to the deepest child). Linking refuses longer
# chains, and propagation stops with an error if it ever goes deeper (a cycle written by a
# race would otherwise recurse without end).
MAX_CHAIN_DEPTH = 20
# Sources whose values were decided elsewhere (a detector, or the parent's own checks).
_REPORTED_SOURCES = frozenset({ChangeSource.AUTOMATION, ChangeSource.PARENT})


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
    # An inherited state is the parent's, and the parent may be automated.
    automated = source in _REPORTED_SOURCES
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


def provider_statement(before: ActionState, changes: Mapping[str, Any]) -> ActionState:
    """A provider's statement as given (DOMAIN.md section 14), to be checked before rule 3
    settles it: "not implemented, test passed" is refused, not read as "no test". Fields
    left out keep ``before``, or follow rule 3 when the given status leaves it implemented.
    """
    given = _pick(changes, before.__dict__)
    settled = settle(before, ActionState(**{**before.__dict__, **given}))
    return ActionState(**{**settled.__dict__, **given})


def may_record_provider(actor: Principal) -> bool:
    return actor.is_automation or actor.has_org_role(OrgRole.ADMINISTRATOR)


def _invalid(field: str, message: str) -> DomainError:
    return DomainError(ErrorCode.INVALID, message, field)


@dataclass(frozen=True)
class Reach:
    """The assessments an action belongs to, for permission and score upkeep."""

    assessment_ids: tuple[int, ...]
    editable: bool
    assessable: bool


async def action_reach(uow: UnitOfWork, actor: Principal | None, action_id: int) -> Reach:
    """``actor`` None is the operator (a template's own statement): may do anything."""
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
        editable=any(
            actor is None or actor.may_on_assessment(OrgRole.CONTRIBUTOR, a, r) for a, r in live
        ),
        assessable=any(
            actor is None or actor.may_on_assessment(OrgRole.ASSESSOR, a, r) for a, r in live
        ),
    )


async def change_action(
    uow: UnitOfWork,
    actor: Principal | None,
    action_id: int,
    changes: Mapping[str, Any],
    *,
    source: ChangeSource = ChangeSource.USER,
    expected_version: int | None = None,
    today: date | None = None,
    planning_event: bool = True,
    _depth: int = 0,
) -> ImprovementAction:
    """Apply ``changes`` (field name -> new value) to one action under every rule.

    A changed due date or cadence is announced as an ``ASSIGNMENT_CHANGE`` event (the due
    date is part of the assignment, DOMAIN.md section 11) unless ``planning_event`` is false:
    ``assignment`` folds it into the event of the assignment it belongs to. ``retest_due_on``
    and ``retest_lapsed`` follow whatever changed (``settle_retest``).
    ``actor`` None is the operator, for what a template states (source ``PROVIDER`` or
    ``PARENT`` only). ``_depth`` counts parent links followed by propagation; callers leave
    it at 0.
    """
    today = today or clock.today()
    if actor is None and source not in (ChangeSource.PROVIDER, ChangeSource.PARENT):
        raise ValueError(f"A {source.value} change needs an actor.")
    actor_id = actor.user_id if actor is not None else None
    allowed: tuple[str, ...] = TRACKED_FIELDS if source in _REPORTED_SOURCES else EDITABLE_FIELDS
    if source is ChangeSource.PROVIDER:
        allowed = PROVIDER_FIELDS
    unknown = set(changes) - set(allowed)
    if unknown:
        raise _invalid(sorted(unknown)[0], "This field cannot be edited.")
    if source is ChangeSource.PROVIDER and actor is not None and not may_record_provider(actor):
        # DOMAIN.md section 14: the provider's attestation, recorded by an administrator or
        # an automation account (or stated by a template: no actor).
        raise forbidden("Provider results are recorded by administrators and automation accounts.")
    if _depth > MAX_CHAIN_DEPTH:
        raise DomainError(
            ErrorCode.INVALID,
            f"Parent links are followed at most {MAX_CHAIN_DEPTH} deep; check for a cycle.",
            "testingSource",
        )
    session = uow.session
    # On SQLite the unit of work holds the database's write lock from its start, so an
    # action already loaded in this transaction is current; elsewhere lock and reload it.
    lock = session.get_bind().dialect.name != "sqlite"
    action = await session.get(ImprovementAction, action_id, with_for_update=lock or None)
    if action is None:
        raise not_found("Improvement action", "actionId")
    definition = await session.get(ActionDefinition, action.definition_id)
    assert definition is not None
    reach = await action_reach(uow, actor, action_id)
    if not reach.assessment_ids:
        if source is ChangeSource.PARENT:
            # Frozen with its archived assessments, but its own children still follow the root.
            await _propagate(uow, actor, action.id, _pick(changes, INHERITED_FIELDS), _depth)
            return action
        raise DomainError(
            ErrorCode.INVALID, "The action belongs only to archived assessments.", "id"
        )
    if source in (ChangeSource.USER, ChangeSource.IMPORT):
        if definition.owner is Owner.PROVIDER:
            raise forbidden(PROVIDER_READ_ONLY)
        if not reach.editable:
            raise forbidden("You may not edit this action.")
        if set(changes) & set(TESTING_FIELDS) and not reach.assessable:
            raise forbidden("Test status, test date and testing notes need the assessor role.")
    elif source is ChangeSource.AUTOMATION and not (
        actor is not None and (actor.is_automation or actor.has_org_role(OrgRole.ADMINISTRATOR))
    ):
        raise forbidden("Only automation service accounts report automated results.")
    elif source is ChangeSource.PROVIDER and definition.owner is not Owner.PROVIDER:
        raise _invalid(
            "actionId",
            "Only provider actions take a provider's result; record your own work with "
            "updateImplementation and updateTesting.",
        )
    if source in (ChangeSource.USER, ChangeSource.IMPORT):
        _check_testing_source(action, changes)
    if expected_version is not None and expected_version != action.version:
        raise DomainError(
            ErrorCode.CONFLICT,
            f"The action changed since you loaded it (version {action.version}, "
            f"you had {expected_version}); reload and try again.",
            "version",
        )
    for name in ("implementation_notes", "testing_notes", "additional_notes"):
        if name in changes:
            text.check_text(
                changes[name], "Notes", field=text.camel(name), max_length=MAX_NOTE_LENGTH
            )
    if "due_date" in changes:
        calendar.check_day(changes["due_date"], today, "dueDate", "A due date")
    if "retest_interval_days" in changes:
        calendar.check_retest_interval(changes["retest_interval_days"])

    before = _state(action)
    proposed = ActionState(**{**before.__dict__, **_pick(changes, before.__dict__)})
    after = _settle_for(source, before, proposed, changes)
    if source is ChangeSource.PROVIDER:
        check_state(provider_statement(before, changes), today=today, source=source)
    check_state(after, today=today, source=source)

    new_values = {
        **{name: changes[name] for name in changes},
        **after.__dict__,
    }
    if after.test_status is not TestStatus.PARTIALLY_TESTED:
        new_values["automation_fraction"] = None  # a fraction means nothing without it
    old_score = Score(action.earned, action.possible)
    counted = await score_cells.snapshot(uow, action)
    changed = [
        name
        for name in TRACKED_FIELDS
        if name in new_values and new_values[name] != getattr(action, name)
    ]
    if not changed:
        return action
    now = utcnow()
    if (
        source in (ChangeSource.USER, ChangeSource.IMPORT)
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
                old_value=history_text(getattr(action, name)),
                new_value=history_text(new_values[name]),
                source=source,
                actor_id=actor_id,
                created_at=now,
            )
        )
        setattr(action, name, new_values[name])
    if set(changed) & set(RETEST_INPUTS):
        await settle_retest(uow, action, today, source=source, actor_id=actor_id, now=now)
    new_score = refresh_score(action)
    action.version += 1
    action.updated_at = now

    def event(kind: EventType, payload: dict[str, Any]) -> Event:
        return Event(
            type=kind.value,
            action_id=action.id,
            actor_id=actor_id,
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
    if planning_event and set(changed) & set(PLANNING_FIELDS):
        session.add(event(EventType.ASSIGNMENT_CHANGE, planning_payload(action, changed)))
    await record_score_change(
        uow,
        actor_id,
        action.id,
        reach.assessment_ids,
        old_score,
        new_score,
        source=source,
        now=now,
    )
    await score_cells.move(uow, action, counted)
    if {"implementation_status", "test_status"} & set(changed):
        await status_upkeep.move_action(
            uow,
            action.id,
            (before.implementation_status, before.test_status),
            (action.implementation_status, action.test_status),
        )
    await session.flush()
    if set(changed) & set(INHERITED_FIELDS):
        inherited = {name: getattr(action, name) for name in INHERITED_FIELDS}
        await _propagate(uow, actor, action.id, inherited, _depth)
    return action


def planning_payload(action: ImprovementAction, changed: Iterable[str]) -> dict[str, Any]:
    """What an ASSIGNMENT_CHANGE event says of the plan: the assignee stays, nobody is mailed."""
    return {
        "fromUserId": action.assignee_id,
        "toUserId": action.assignee_id,
        "notes": action.assignment_notes,
        "notify": False,
        "dueDate": history_text(action.due_date),
        "retestIntervalDays": action.retest_interval_days,
        "changed": [text.camel(name) for name in changed if name in PLANNING_FIELDS],
    }


async def settle_retest(
    uow: UnitOfWork,
    action: ImprovementAction,
    today: date,
    *,
    source: ChangeSource,
    actor_id: int | None,
    now: datetime,
) -> bool:
    """Keep ``retest_due_on`` and ``retest_lapsed`` to the calendar's rules.

    Called whenever the test status or date, the cadence or the definition version (its
    default cadence) may have changed; a lapse that comes or goes is recorded by
    ``apply_lapse``. Returns whether it did; the caller refreshes the score, the version and
    ``updated_at`` with the rest of its change. The organisation's choice is read only when
    a retest is due.
    """
    default = await uow.session.scalar(
        select(ActionDefinitionVersion.retest_interval_days).where(
            ActionDefinitionVersion.id == action.definition_version_id
        )
    )
    interval = calendar.effective_retest_interval(action.retest_interval_days, default)
    action.retest_due_on = calendar.retest_due_on(action.test_status, action.test_date, interval)
    loses = False
    if calendar.is_retest_due(action.retest_due_on, today):
        loses = (await organisation(uow)).retest_loses_points
    lapsed = calendar.retest_lapsed(action.retest_due_on, today, loses)
    return apply_lapse(uow, action, lapsed, source=source, actor_id=actor_id, now=now)


def apply_lapse(
    uow: UnitOfWork,
    action: ImprovementAction,
    lapsed: bool,
    *,
    source: ChangeSource,
    actor_id: int | None,
    now: datetime,
) -> bool:
    """Set ``retest_lapsed``, with its history row when it changes; returns whether it did.

    The one place a lapse is written, whatever brought it (an edit, an accepted update, a
    copy, the daily upkeep); the caller moves the score, version and ``updated_at``.
    """
    if bool(action.retest_lapsed) == lapsed:
        return False
    uow.session.add(
        HistoryEntry(
            action_id=action.id,
            field="retest_lapsed",
            old_value=history_text(bool(action.retest_lapsed)),
            new_value=history_text(lapsed),
            source=source,
            actor_id=actor_id,
            created_at=now,
        )
    )
    action.retest_lapsed = lapsed
    return True


async def change_lapse(
    uow: UnitOfWork,
    action: ImprovementAction,
    lapsed: bool,
    assessment_ids: Iterable[int],
    *,
    actor_id: int | None,
    now: datetime,
) -> bool:
    """A lapse (or its end) as a change of its own, made by the server (source AUTOMATION):
    history, a new version, ``updated_at`` and the score upkeep with its SCORE_CHANGE event.
    ``assessment_ids`` are the live assessments holding the action."""
    old = Score(action.earned, action.possible)
    counted = await score_cells.snapshot(uow, action)
    source = ChangeSource.AUTOMATION
    if not apply_lapse(uow, action, lapsed, source=source, actor_id=actor_id, now=now):
        return False
    new = refresh_score(action)
    action.version += 1
    action.updated_at = now
    await record_score_change(
        uow, actor_id, action.id, assessment_ids, old, new, source=source, now=now
    )
    await score_cells.move(uow, action, counted)
    return True


def _settle_for(
    source: ChangeSource, before: ActionState, proposed: ActionState, changes: Mapping[str, Any]
) -> ActionState:
    """Rules 2 and 3 for hand edits; reported values keep what their reporter decided."""
    if source is ChangeSource.PARENT:
        return proposed  # the parent's state, settled and checked when the parent changed
    after = settle(before, proposed)
    if source is ChangeSource.AUTOMATION and "test_status" in changes:
        # The detector reported this test status together with the implementation status;
        # rule 3's reset must not overwrite it, and automation never moves the test date.
        return ActionState(
            after.implementation_status,
            after.implementation_date,
            proposed.test_status,
            proposed.test_date,
        )
    return after


async def _propagate(
    uow: UnitOfWork,
    actor: Principal | None,
    parent_id: int,
    values: Mapping[str, Any],
    depth: int,
) -> None:
    """Pass inherited values to every action linked to ``parent_id`` (and so on down)."""
    if not values:
        return
    children = await uow.session.scalars(
        select(ImprovementAction.id)
        .where(
            ImprovementAction.parent_id == parent_id,
            ImprovementAction.testing_source == TestingSource.PARENT,
        )
        .order_by(ImprovementAction.id)
    )
    for child_id in list(children):
        await change_action(
            uow, actor, child_id, values, source=ChangeSource.PARENT, _depth=depth + 1
        )


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
            "This action is tested automatically; its test status and testing notes come from "
            "automation. Entering a test date or evidence by hand, or an administrator setting "
            "its testing source to MANUAL, hands it back to manual testing.",
        )


def _state(action: ImprovementAction) -> ActionState:
    return ActionState(
        action.implementation_status,
        action.implementation_date,
        action.test_status,
        action.test_date,
    )


def _pick(changes: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {name: changes[name] for name in names if name in changes}


def history_text(value: Any) -> str | None:
    """How a field value reads in history: ISO dates, enum values, plain text."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value.value if hasattr(value, "value") else value)


async def record_score_change(
    uow: UnitOfWork,
    actor_id: int | None,
    action_id: int,
    assessment_ids: Iterable[int],
    before: Score,
    after: Score,
    *,
    source: ChangeSource,
    now: datetime,
) -> None:
    """Move the live assessments holding an action by its score change; log SCORE_CHANGE.

    Shared by every writer that changes an action's score (edits, automation, accepted
    definition updates), so the event reads the same whatever caused it.
    """
    if after == before:
        return
    ids = sorted(assessment_ids)
    assessments = await apply_delta(uow, ids, before, after)
    uow.session.add(
        Event(
            type=EventType.SCORE_CHANGE.value,
            action_id=action_id,
            actor_id=actor_id,
            payload={
                "assessmentIds": ids,
                "source": source.value,
                "before": {"earned": before.earned, "possible": before.possible},
                "after": {"earned": after.earned, "possible": after.possible},
                "delta": after.earned - before.earned,
                "assessments": assessments,
            },
            created_at=now,
        )
    )
