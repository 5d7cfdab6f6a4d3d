"""Testing source, automation signals and the automatic-testing setting (DOMAIN.md section 5).

Who may do what (DOMAIN.md section 8):
- Turning automatic testing on or off for one action (any switch to or from ``AUTOMATIC``) is
  the "per-action automation" of the ADMINISTRATOR organisation role. Assessors still take an
  action out of automation the way section 5 says: by entering a test date or evidence.
- Linking an action to a parent, relinking it, or leaving ``PARENT`` for ``MANUAL`` changes
  its implementation and testing fields, so it needs ASSESSOR on the action (organisation role
  or grant). The parent is not changed, so reading it is enough; a parent the caller cannot
  read is reported as not found.
- Automation results come only from service accounts (``is_automation``), whatever their
  role: an administrator who wants to record a result by hand sets the action to MANUAL.
- The automatic-testing setting is an organisation setting: OWNER (so are ``due_soon_days``
  and ``retest_loses_points``, DOMAIN.md section 15).

Decisions where DOMAIN.md is silent:
- ``parent_id`` is set exactly while the testing source is ``PARENT``. Leaving ``PARENT``
  keeps the inherited values as the action's own and stops inheriting; actions linked to it
  keep following it (it becomes their root).
- Linking copies the parent's implementation and testing fields (and automation fraction)
  through ``workflow.change_action`` with source ``PARENT``, so the child gets the history
  rows, events and score upkeep of a direct change; later parent changes propagate the same
  way (see ``workflow``). The parent must belong to a live assessment, and chains are at most
  ``workflow.MAX_CHAIN_DEPTH`` links deep.
- Switching to ``AUTOMATIC`` keeps the current values until the first signal, and is refused
  while the organisation setting is ``OFF_FOR_ALL``.
- Automation may not report ``OUT_OF_SCOPE``: scoping is the organisation's decision. A
  fraction (0..1) is required with ``PARTIALLY_TESTED`` and refused with any other status.
- "Own data" that keeps an action ``MANUAL`` when automation arrives: a test status other than
  ``NONE``/``NOT_ASSESSED``, a test date, testing notes, or evidence. Automation arrives
  (``on_automation_available``) under ``ON_FOR_ALL`` and, for an action that gains it (new,
  or by an accepted update), under ``PER_ACTION`` too. Provider actions
  (read-only) and ``PARENT`` actions (a choice the organisation made) are never switched by
  the setting, and neither are actions that belong only to archived (read-only) assessments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, exists, select

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import calendar, calendar_upkeep, clock
from cmgraph.domain.enums import (
    UNTESTED_STATUSES,
    AutomaticTesting,
    ChangeSource,
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
    Evidence,
    HistoryEntry,
    ImprovementAction,
    Organisation,
    utcnow,
)
from cmgraph.domain.organisation import organisation
from cmgraph.domain.permissions import Principal, readable_actions, require_org_role
from cmgraph.domain.workflow import (
    INHERITED_FIELDS,
    MAX_CHAIN_DEPTH,
    PROVIDER_READ_ONLY,
    action_reach,
    change_action,
)


def _invalid(field: str, message: str) -> DomainError:
    return DomainError(ErrorCode.INVALID, message, field)


# -- the organisation setting -----------------------------------------------------------------


@dataclass(frozen=True)
class SettingsUpdate:
    organisation: Organisation
    actions_switched: int  # actions whose testing source the new setting changed


async def update_organisation_settings(
    uow: UnitOfWork,
    actor: Principal,
    *,
    automatic_testing: AutomaticTesting | None = None,
    due_soon_days: int | None = None,
    retest_loses_points: bool | None = None,
) -> SettingsUpdate:
    """Change organisation settings (owners); a new automation setting applies at once, and
    so does a new choice on lapsed retests (``calendar_upkeep.lapse_retests``)."""
    require_org_role(actor, OrgRole.OWNER)
    if due_soon_days is not None:
        calendar.check_due_soon_days(due_soon_days)
    org = await organisation(uow, lock=True)
    switched = 0
    if due_soon_days is not None:
        org.due_soon_days = due_soon_days
    if automatic_testing is not None and automatic_testing is not org.automatic_testing:
        org.automatic_testing = automatic_testing
        await uow.session.flush()
        switched = await apply_automation_setting(uow, actor)
    if retest_loses_points is not None and retest_loses_points is not org.retest_loses_points:
        org.retest_loses_points = retest_loses_points
        await uow.session.flush()
        await calendar_upkeep.lapse_retests(uow, clock.today(), actor=actor)
    await uow.session.flush()
    return SettingsUpdate(org, switched)


def _live() -> ColumnElement[bool]:
    """Actions counted in at least one assessment that is not archived."""
    return ImprovementAction.id.in_(
        select(ControlAction.action_id)
        .join(Control, Control.id == ControlAction.control_id)
        .join(Assessment, Assessment.id == Control.assessment_id)
        .where(Assessment.archived_at.is_(None))
    )


def _without_own_data() -> ColumnElement[bool]:
    """No testing data the organisation entered itself (see the module docs)."""
    return (
        ImprovementAction.test_status.in_(UNTESTED_STATUSES)
        & ImprovementAction.test_date.is_(None)
        & (ImprovementAction.testing_notes == "")
        & ~exists().where(Evidence.action_id == ImprovementAction.id)
    )


async def apply_automation_setting(uow: UnitOfWork, actor: Principal | None = None) -> int:
    """Bring actions in line with the organisation setting; return how many switched.

    ``ON_FOR_ALL``: every customer action whose accepted definition version has automatic
    testing available and that has no own data becomes ``AUTOMATIC`` (the others stay
    ``MANUAL``). ``OFF_FOR_ALL``: every ``AUTOMATIC`` action becomes ``MANUAL``, keeping its
    values. ``PER_ACTION``: nothing changes; administrators decide per action.
    """
    setting = (await organisation(uow)).automatic_testing
    statement = (
        select(ImprovementAction)
        .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
        .join(
            ActionDefinitionVersion,
            ActionDefinitionVersion.id == ImprovementAction.definition_version_id,
        )
        .where(_live())
        .order_by(ImprovementAction.id)
        .with_for_update(of=ImprovementAction)
    )
    if setting is AutomaticTesting.ON_FOR_ALL:
        statement = statement.where(
            ImprovementAction.testing_source == TestingSource.MANUAL,
            ActionDefinition.owner == Owner.CUSTOMER,
            ActionDefinitionVersion.automatic_testing_available.is_(True),
            _without_own_data(),
        )
        target = TestingSource.AUTOMATIC
    elif setting is AutomaticTesting.OFF_FOR_ALL:
        statement = statement.where(ImprovementAction.testing_source == TestingSource.AUTOMATIC)
        target = TestingSource.MANUAL
    else:
        return 0
    actions = list(await uow.session.scalars(statement))
    actor_id = actor.user_id if actor is not None else None
    for action in actions:
        _switch(uow, action, target, None, actor_id=actor_id, source=ChangeSource.USER)
    await uow.session.flush()
    return len(actions)


async def on_automation_available(
    uow: UnitOfWork,
    action: ImprovementAction,
    actor: Principal | None = None,
    *,
    gained: bool = True,
) -> bool:
    """Let an action whose automation availability may have changed follow the setting.

    Call it (inside the same unit of work, with the action flushed) after creating an
    instance or after the action accepted a new definition version; ``gained`` says whether
    automatic testing is new to it (always for a new instance). It reads the accepted
    version: if automatic testing is no longer available, an ``AUTOMATIC`` action goes back
    to ``MANUAL``; if it is available and a ``MANUAL`` customer action has no own data, it
    becomes ``AUTOMATIC`` under ``ON_FOR_ALL``, and under ``PER_ACTION`` when it ``gained``
    automation (DOMAIN.md section 5: "on if your setting is on for all actions or per
    action"; an administrator's later choice for an action that had it already stands).
    ``OFF_FOR_ALL``: it stays ``MANUAL``. History rows carry source ``UPDATE``. Returns
    whether the testing source changed.
    """
    session = uow.session
    version = await session.get(ActionDefinitionVersion, action.definition_version_id)
    definition = await session.get(ActionDefinition, action.definition_id)
    assert version is not None and definition is not None
    actor_id = actor.user_id if actor is not None else None
    if not version.automatic_testing_available:
        if action.testing_source is not TestingSource.AUTOMATIC:
            return False
        _switch(
            uow, action, TestingSource.MANUAL, None, actor_id=actor_id, source=ChangeSource.UPDATE
        )
        await session.flush()
        return True
    setting = (await organisation(uow)).automatic_testing
    if (
        action.testing_source is not TestingSource.MANUAL
        or definition.owner is not Owner.CUSTOMER
        or setting is AutomaticTesting.OFF_FOR_ALL
        or (setting is AutomaticTesting.PER_ACTION and not gained)
    ):
        return False
    untouched = await session.scalar(
        select(ImprovementAction.id).where(ImprovementAction.id == action.id, _without_own_data())
    )
    if untouched is None:
        return False  # the organisation's own data keeps it MANUAL
    _switch(
        uow, action, TestingSource.AUTOMATIC, None, actor_id=actor_id, source=ChangeSource.UPDATE
    )
    await session.flush()
    return True


# -- one action's testing source ---------------------------------------------------------------


def _switch(
    uow: UnitOfWork,
    action: ImprovementAction,
    testing_source: TestingSource,
    parent_id: int | None,
    *,
    actor_id: int | None,
    source: ChangeSource,
) -> bool:
    """Set source and parent with a history row per changed field; True if anything changed."""
    now = utcnow()
    changes = [
        (field, old, new)
        for field, old, new in (
            ("testing_source", action.testing_source.value, testing_source.value),
            ("parent_id", action.parent_id, parent_id),
        )
        if old != new
    ]
    if not changes:
        return False
    uow.session.add_all(
        HistoryEntry(
            action_id=action.id,
            field=field,
            old_value=None if old is None else str(old),
            new_value=None if new is None else str(new),
            source=source,
            actor_id=actor_id,
            created_at=now,
        )
        for field, old, new in changes
    )
    action.testing_source = testing_source
    action.parent_id = parent_id
    action.version += 1
    action.updated_at = now
    return True


async def set_testing_source(
    uow: UnitOfWork,
    actor: Principal,
    action_id: int,
    testing_source: TestingSource,
    *,
    parent_id: int | None = None,
    expected_version: int | None = None,
    today: date | None = None,
    source: ChangeSource = ChangeSource.USER,
) -> ImprovementAction:
    """Make an action MANUAL, AUTOMATIC, or inherit from ``parent_id`` (PARENT).

    ``source`` is what the history rows of the switch say (``IMPORT`` for spreadsheets).
    """
    session = uow.session
    parent: ImprovementAction | None = None
    if testing_source is TestingSource.PARENT:
        if parent_id is None:
            raise _invalid("parentId", "Choose the parent action to inherit from.")
        if parent_id == action_id:
            raise _invalid("parentId", "An action cannot be its own parent.")
        # The parent is locked before the child, the order propagation uses too.
        parent = await _readable_parent(uow, actor, parent_id)
    elif parent_id is not None:
        raise _invalid("parentId", "Only testing source PARENT takes a parent action.")

    action = await session.get(
        ImprovementAction, action_id, with_for_update=True, populate_existing=True
    )
    if action is None:
        raise not_found("Improvement action", "actionId")
    definition = await session.get(ActionDefinition, action.definition_id)
    assert definition is not None
    reach = await action_reach(uow, actor, action_id)
    if definition.owner is Owner.PROVIDER:
        raise forbidden(PROVIDER_READ_ONLY)
    current = action.testing_source
    if TestingSource.AUTOMATIC in (current, testing_source) and current is not testing_source:
        if not actor.has_org_role(OrgRole.ADMINISTRATOR):
            raise forbidden("Turning automatic testing on or off needs the administrator role.")
    elif not reach.assessable:
        raise forbidden("Changing where an action's testing comes from needs the assessor role.")
    if not reach.assessment_ids:
        raise _invalid("actionId", "The action belongs only to archived assessments.")
    if expected_version is not None and expected_version != action.version:
        raise DomainError(
            ErrorCode.CONFLICT,
            f"The action changed since you loaded it (version {action.version}, "
            f"you had {expected_version}); reload and try again.",
            "version",
        )

    if testing_source is TestingSource.AUTOMATIC:
        version = await session.get(ActionDefinitionVersion, action.definition_version_id)
        assert version is not None
        if not version.automatic_testing_available:
            raise _invalid("testingSource", "Automatic testing is not available for this action.")
        if current is not TestingSource.AUTOMATIC and (
            (await organisation(uow)).automatic_testing is AutomaticTesting.OFF_FOR_ALL
        ):
            raise _invalid(
                "testingSource",
                "Automatic testing is off for all actions; an owner can change that setting.",
            )
    if parent is not None:
        await _check_chain(uow, action.id, parent)

    _switch(
        uow,
        action,
        testing_source,
        parent.id if parent is not None else None,
        actor_id=actor.user_id,
        source=source,
    )
    await session.flush()
    if parent is not None:
        inherited = {name: getattr(parent, name) for name in INHERITED_FIELDS}
        await change_action(
            uow, actor, action.id, inherited, source=ChangeSource.PARENT, today=today
        )
    return action


async def _readable_parent(uow: UnitOfWork, actor: Principal, parent_id: int) -> ImprovementAction:
    readable = await uow.session.scalar(
        select(ImprovementAction.id).where(
            ImprovementAction.id == parent_id, readable_actions(actor)
        )
    )
    if readable is None:
        raise not_found("Parent action", "parentId")
    reach = await action_reach(uow, actor, parent_id)
    if not reach.assessment_ids:
        raise _invalid("parentId", "The parent action belongs only to archived assessments.")
    parent = await uow.session.get(
        ImprovementAction, parent_id, with_for_update=True, populate_existing=True
    )
    assert parent is not None
    return parent


async def _check_chain(uow: UnitOfWork, action_id: int, parent: ImprovementAction) -> None:
    """No cycles, and no chain longer than ``MAX_CHAIN_DEPTH`` links once linked."""
    session = uow.session
    ancestors = [parent.id]
    upper = parent.parent_id if parent.testing_source is TestingSource.PARENT else None
    while upper is not None and len(ancestors) <= MAX_CHAIN_DEPTH:
        ancestors.append(upper)
        row = (
            await session.execute(
                select(ImprovementAction.parent_id, ImprovementAction.testing_source).where(
                    ImprovementAction.id == upper
                )
            )
        ).first()
        upper = row[0] if row is not None and row[1] is TestingSource.PARENT else None
    if action_id in ancestors:
        raise _invalid(
            "parentId", "That parent inherits from this action already; links may not form a cycle."
        )
    level, below = [action_id], 0
    while level and below <= MAX_CHAIN_DEPTH:
        level = list(
            await session.scalars(
                select(ImprovementAction.id).where(
                    ImprovementAction.parent_id.in_(level),
                    ImprovementAction.testing_source == TestingSource.PARENT,
                )
            )
        )
        below += 1 if level else 0
    if len(ancestors) + below > MAX_CHAIN_DEPTH:
        raise _invalid(
            "parentId", f"Parent chains are limited to {MAX_CHAIN_DEPTH} links from the root."
        )


# -- automation signals --------------------------------------------------------------------------

_NOT_DETECTABLE_IMPLEMENTATION = frozenset({ImplementationStatus.OUT_OF_SCOPE})
_NOT_DETECTABLE_TEST = frozenset({TestStatus.OUT_OF_SCOPE})


async def record_automation_result(
    uow: UnitOfWork,
    actor: Principal,
    action_id: int,
    implementation_status: ImplementationStatus,
    test_status: TestStatus,
    fraction: float | None = None,
    *,
    today: date | None = None,
) -> ImprovementAction:
    """Store what a detector found for an AUTOMATIC action (history source AUTOMATION).

    The statuses are taken as reported (automation-only values included); the test date is
    left alone, and the implementation date follows rule 3 (cleared when no longer
    implemented). Partial results score points x fraction.
    """
    if not actor.is_automation:
        raise forbidden("Only automation service accounts report automated results.")
    action = await uow.session.get(
        ImprovementAction, action_id, with_for_update=True, populate_existing=True
    )
    if action is None:
        raise not_found("Improvement action", "actionId")
    if action.testing_source is not TestingSource.AUTOMATIC:
        raise _invalid(
            "actionId",
            f"The action is not tested automatically (testing source "
            f"{action.testing_source.value}); results are not recorded for it.",
        )
    if implementation_status in _NOT_DETECTABLE_IMPLEMENTATION:
        raise _invalid("implementationStatus", "Scope is decided by the organisation.")
    if test_status in _NOT_DETECTABLE_TEST:
        raise _invalid("testStatus", "Scope is decided by the organisation.")
    if test_status is TestStatus.PARTIALLY_TESTED:
        if fraction is None or not 0.0 <= fraction <= 1.0:
            raise _invalid("fraction", "PARTIALLY_TESTED needs a fraction from 0 to 1.")
    elif fraction is not None:
        raise _invalid("fraction", "A fraction goes only with PARTIALLY_TESTED.")
    return await change_action(
        uow,
        actor,
        action_id,
        {
            "implementation_status": implementation_status,
            "test_status": test_status,
            "automation_fraction": fraction,
        },
        source=ChangeSource.AUTOMATION,
        today=today,
    )
