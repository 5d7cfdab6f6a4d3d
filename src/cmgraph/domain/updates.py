"""Pending updates: new definition and template versions, and accepting them (DOMAIN.md 9, 10).

A re-import (``templates.import_template``) publishes new versions; nothing moves by itself.
An instance whose accepted definition version is older than the latest one, and an assessment
whose template version is older than the template's latest, are *pending*. Deferring is doing
nothing: the flag stays until an administrator accepts.

Decisions where DOMAIN.md is silent:
- ``UPDATE_AVAILABLE`` is appended once per customer instance per newly published definition
  version, and once per live assessment per newly published template version, in the
  import's transaction. Provider instances are never pending: they take a new version at
  once (``take_provider_versions``), with the result it states. A re-import that publishes
  nothing appends nothing. Instances reachable only from archived assessments get no event
  (nobody can accept for a read-only assessment), and neither do archived assessments.
- Accepting an action moves exactly that instance: technical and provider instances are
  organisation-wide, so every group sees the change; a non-technical instance is one group's.
  Points follow the new version; the score moves by the delta in every live assessment that
  holds the instance (archived ones keep their frozen score). Automatic testing that comes or
  goes with the new version is settled by ``testing.on_automation_available`` (the
  organisation setting decides; an action that lost it leaves ``AUTOMATIC``).
- Accepting a template version applies it to one live assessment: controls added, removed and
  re-worded, mappings added and removed. New mappings use the group's (or organisation's)
  existing instances, creating missing ones; instances no assessment uses any more are
  removed, as when an assessment is deleted. The assessment's score is recounted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import aliased

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import clock, score_cells, status_upkeep
from cmgraph.domain.assessments import get_assessment, instances_for, remove_unused_instances
from cmgraph.domain.compliance_score import overall_score
from cmgraph.domain.enums import ChangeSource, EventType, OrgRole
from cmgraph.domain.errors import DomainError, ErrorCode, not_found
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
    TemplateControl,
    TemplateControlAction,
    TemplateVersion,
    utcnow,
)
from cmgraph.domain.permissions import Principal, require_org_role
from cmgraph.domain.provider_results import apply_stated, state_new_instances
from cmgraph.domain.score_upkeep import store_recomputed
from cmgraph.domain.scoring import Score, refresh_score
from cmgraph.domain.testing_sources import on_automation_available
from cmgraph.domain.versions import update_pending
from cmgraph.domain.workflow import record_score_change, settle_retest

# Runs one statement: ``AsyncSession.execute`` for writers, the request's reader for loaders.
Execute = Callable[[Any], Awaitable[Any]]

MAX_ASSESSMENTS_AT_ONCE = 1000  # ids in one statement stay well below the bind-parameter limits

# Long text is named in event payloads but not copied into them.
_LONG_FIELDS = frozenset({"GUIDANCE", "TESTING_LOGIC"})


class DefinitionField(StrEnum):
    """The fields of a definition version a user sees change; ``attribute`` names the column."""

    POINTS = "POINTS"
    TITLE = "TITLE"
    GUIDANCE = "GUIDANCE"
    ENFORCEMENT = "ENFORCEMENT"
    PURPOSE = "PURPOSE"
    CATEGORY = "CATEGORY"
    SOLUTION = "SOLUTION"
    TESTING_LOGIC = "TESTING_LOGIC"
    AUTOMATIC_TESTING_AVAILABLE = "AUTOMATIC_TESTING_AVAILABLE"
    DEFAULT_RETEST_INTERVAL_DAYS = "DEFAULT_RETEST_INTERVAL_DAYS"

    @property
    def attribute(self) -> str:
        return self.value.lower()


@dataclass(frozen=True)
class FieldChange:
    field: DefinitionField
    current: str
    new: str


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(getattr(value, "value", value))


def definition_changes(current: Any, latest: Any) -> list[FieldChange]:
    """What moving from ``current`` to ``latest`` changes, field by field.

    Both are read by attribute name, so a definition version row, an instance's GraphQL view
    or any object with the same attributes will do.
    """
    changes = []
    for name in DefinitionField:
        old, new = getattr(current, name.attribute), getattr(latest, name.attribute)
        if old != new:
            changes.append(FieldChange(name, _text(old), _text(new)))
    return changes


def changes_summary(changes: Iterable[FieldChange]) -> list[dict[str, str]]:
    """Event payload form: every changed field, with values unless they are long text."""
    return [
        {"field": c.field.value}
        if c.field.value in _LONG_FIELDS
        else {"field": c.field.value, "from": c.current, "to": c.new}
        for c in changes
    ]


# -- template versions -------------------------------------------------------------------------


@dataclass(frozen=True)
class ControlContent:
    """One control of a template version, with the definitions it maps to (key -> id)."""

    key: str
    family: str
    title: str
    description: str
    sort_order: int
    actions: dict[str, int] = field(default_factory=dict)

    def same_text(self, other: Any) -> bool:
        return (self.family, self.title, self.description) == (
            other.family,
            other.title,
            other.description,
        )


@dataclass(frozen=True)
class TemplateDiff:
    """From one template version to another: control keys, and (control, action key) pairs."""

    from_version: int
    to_version: int
    controls_added: tuple[str, ...] = ()
    controls_removed: tuple[str, ...] = ()
    controls_changed: tuple[str, ...] = ()
    mappings_added: tuple[tuple[str, str], ...] = ()
    mappings_removed: tuple[tuple[str, str], ...] = ()

    def summary(self) -> dict[str, Any]:
        return {
            "controlsAdded": list(self.controls_added),
            "controlsRemoved": list(self.controls_removed),
            "controlsChanged": list(self.controls_changed),
            "mappingsAdded": len(self.mappings_added),
            "mappingsRemoved": len(self.mappings_removed),
        }


def diff_contents(
    old: Mapping[str, Any], new: Mapping[str, ControlContent], from_version: int, to_version: int
) -> TemplateDiff:
    """Compare controls by key. Mappings are compared as (control key, action key) pairs, so
    the mappings of an added or removed control count as added or removed too."""
    new_order = sorted(new.values(), key=lambda c: c.sort_order)
    old_order = sorted(old.values(), key=lambda c: c.sort_order)
    old_pairs = [(c.key, a) for c in old_order for a in sorted(c.actions)]
    new_pairs = [(c.key, a) for c in new_order for a in sorted(c.actions)]
    old_set, new_set = set(old_pairs), set(new_pairs)
    return TemplateDiff(
        from_version=from_version,
        to_version=to_version,
        controls_added=tuple(c.key for c in new_order if c.key not in old),
        controls_removed=tuple(c.key for c in old_order if c.key not in new),
        controls_changed=tuple(
            c.key for c in new_order if c.key in old and not c.same_text(old[c.key])
        ),
        mappings_added=tuple(p for p in new_pairs if p not in old_set),
        mappings_removed=tuple(p for p in old_pairs if p not in new_set),
    )


async def version_contents(
    execute: Execute, version_ids: Iterable[int]
) -> dict[int, dict[str, ControlContent]]:
    """Controls and mappings of template versions, in one statement."""
    ids = sorted(set(version_ids))
    if not ids:
        return {}
    rows = (
        await execute(
            select(
                TemplateControl.template_version_id,
                TemplateControl.key,
                TemplateControl.family,
                TemplateControl.title,
                TemplateControl.description,
                TemplateControl.sort_order,
                ActionDefinition.key,
                ActionDefinition.id,
            )
            .outerjoin(
                TemplateControlAction,
                TemplateControlAction.template_control_id == TemplateControl.id,
            )
            .outerjoin(ActionDefinition, ActionDefinition.id == TemplateControlAction.definition_id)
            .where(TemplateControl.template_version_id.in_(ids))
        )
    ).all()
    result: dict[int, dict[str, ControlContent]] = {i: {} for i in ids}
    for version_id, key, family, title, description, order, action_key, action_id in rows:
        control = result[version_id].get(key)
        if control is None:
            control = result[version_id][key] = ControlContent(
                key, family, title, description, order
            )
        if action_key is not None:
            control.actions[action_key] = action_id
    return result


async def template_diffs(execute: Execute, version_ids: Iterable[int]) -> dict[int, TemplateDiff]:
    """For each template version that is not its template's latest: the diff to the latest.

    Two statements whatever the number of versions, so a list of assessments stays batched.
    """
    ids = sorted(set(version_ids))
    if not ids:
        return {}
    old, latest = aliased(TemplateVersion), aliased(TemplateVersion)
    pairs = (
        await execute(
            select(old.id, old.version, latest.id, latest.version)
            .join(Template, Template.id == old.template_id)
            .join(
                latest,
                (latest.template_id == Template.id) & (latest.version == Template.latest_version),
            )
            .where(old.id.in_(ids), latest.id != old.id)
        )
    ).all()
    contents = await version_contents(execute, [p[0] for p in pairs] + [p[2] for p in pairs])
    return {
        old_id: diff_contents(contents[old_id], contents[new_id], old_version, new_version)
        for old_id, old_version, new_id, new_version in pairs
    }


# -- announcing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Announced:
    """How many UPDATE_AVAILABLE events an import appended."""

    actions: int = 0
    assessments: int = 0


async def announce_updates(
    uow: UnitOfWork, definition_ids: Sequence[int], template_id: int | None
) -> Announced:
    """Append UPDATE_AVAILABLE for what an import just made pending.

    ``definition_ids``: definitions that got a new version; ``template_id``: a template that
    got a new version (None when it did not, or was just created). Called by
    ``import_template`` inside its transaction.
    """
    now = utcnow()
    actions = await _announce_actions(uow, definition_ids, now) if definition_ids else 0
    assessments = await _announce_assessments(uow, template_id, now) if template_id else 0
    await uow.session.flush()
    return Announced(actions, assessments)


async def _announce_actions(uow: UnitOfWork, definition_ids: Sequence[int], now: Any) -> int:
    session = uow.session
    current, latest = aliased(ActionDefinitionVersion), aliased(ActionDefinitionVersion)
    rows = (
        await session.execute(
            select(ImprovementAction.id, ActionDefinition.key, current, latest)
            .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
            .join(current, current.id == ImprovementAction.definition_version_id)
            .join(
                latest,
                (latest.definition_id == ActionDefinition.id)
                & (latest.version == ActionDefinition.latest_version),
            )
            .where(
                ImprovementAction.definition_id.in_(definition_ids),
                current.version < latest.version,
            )
            .order_by(ImprovementAction.id)
        )
    ).all()
    reach = await live_reach(
        uow, select(ImprovementAction.id).where(ImprovementAction.definition_id.in_(definition_ids))
    )
    count = 0
    for action_id, key, from_version, to_version in rows:
        assessment_ids = reach.get(action_id)
        if not assessment_ids:
            continue
        session.add(
            Event(
                type=EventType.UPDATE_AVAILABLE.value,
                action_id=action_id,
                payload={
                    "kind": "ACTION_DEFINITION",
                    "definitionKey": key,
                    "fromVersion": from_version.version,
                    "toVersion": to_version.version,
                    "assessmentIds": list(assessment_ids),
                    "changes": changes_summary(definition_changes(from_version, to_version)),
                },
                created_at=now,
            )
        )
        count += 1
    return count


async def _announce_assessments(uow: UnitOfWork, template_id: int, now: Any) -> int:
    session = uow.session
    template = await session.get(Template, template_id)
    assert template is not None
    rows = (
        await session.execute(
            select(Assessment.id, Assessment.template_version_id)
            .join(TemplateVersion, TemplateVersion.id == Assessment.template_version_id)
            .where(
                Assessment.template_id == template_id,
                Assessment.archived_at.is_(None),
                update_pending(TemplateVersion.version, template.latest_version),
            )
            .order_by(Assessment.id)
        )
    ).all()
    diffs = await template_diffs(session.execute, {version_id for _, version_id in rows})
    for assessment_id, version_id in rows:
        diff = diffs[version_id]
        session.add(
            Event(
                type=EventType.UPDATE_AVAILABLE.value,
                assessment_id=assessment_id,
                payload={
                    "kind": "TEMPLATE",
                    "templateKey": template.key,
                    "fromVersion": diff.from_version,
                    "toVersion": diff.to_version,
                    "assessmentIds": [assessment_id],
                    "changes": diff.summary(),
                },
                created_at=now,
            )
        )
    return len(rows)


async def live_reach(uow: UnitOfWork, action_ids: Any) -> dict[int, tuple[int, ...]]:
    """Live assessments holding each action; ``action_ids`` is a list or a SELECT of ids."""
    rows = await uow.session.execute(
        select(ControlAction.action_id, Control.assessment_id)
        .join(Control, Control.id == ControlAction.control_id)
        .join(Assessment, Assessment.id == Control.assessment_id)
        .where(ControlAction.action_id.in_(action_ids), Assessment.archived_at.is_(None))
        .distinct()
    )
    reach: dict[int, set[int]] = {}
    for action_id, assessment_id in rows.all():
        reach.setdefault(action_id, set()).add(assessment_id)
    return {a: tuple(sorted(ids)) for a, ids in reach.items()}


# -- accepting definition versions ---------------------------------------------------------------


@dataclass(frozen=True)
class AssessmentScoreMove:
    assessment_id: int
    before: Score
    after: Score


@dataclass(frozen=True)
class ScoreImpact:
    """Overall score (distinct instances of live assessments) and each affected assessment."""

    overall_before: Score
    overall_after: Score
    assessments: tuple[AssessmentScoreMove, ...]


@dataclass(frozen=True)
class AcceptedActions:
    action_ids: tuple[int, ...]
    versions: Mapping[int, tuple[int, int]]  # action id -> (from, to)
    impact: ScoreImpact

    @property
    def accepted_count(self) -> int:
        return len(self.action_ids)


@dataclass(frozen=True)
class _Pending:
    action: ImprovementAction
    current: ActionDefinitionVersion
    latest: ActionDefinitionVersion


def _pending_select() -> Select[
    ImprovementAction, ActionDefinitionVersion, ActionDefinitionVersion
]:
    current, latest = aliased(ActionDefinitionVersion), aliased(ActionDefinitionVersion)
    return (
        select(ImprovementAction, current, latest)
        .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
        .join(current, current.id == ImprovementAction.definition_version_id)
        .join(
            latest,
            (latest.definition_id == ActionDefinition.id)
            & (latest.version == ActionDefinition.latest_version),
        )
        .where(current.version < latest.version)
        .order_by(ImprovementAction.id)
        .with_for_update(of=ImprovementAction)
    )


async def _stored_scores(uow: UnitOfWork, assessment_ids: Iterable[int]) -> dict[int, Score]:
    ids = sorted(set(assessment_ids))
    if not ids:
        return {}
    rows = await uow.session.execute(
        select(Assessment.id, Assessment.earned, Assessment.possible).where(Assessment.id.in_(ids))
    )
    return {i: Score(float(e), int(p)) for i, e, p in rows.all()}


async def accept_action_update(
    uow: UnitOfWork, actor: Principal, action_id: int
) -> AcceptedActions:
    """Move one instance to its definition's latest version (and its points, and scores)."""
    require_org_role(actor, OrgRole.ADMINISTRATOR)
    session = uow.session
    if await session.get(ImprovementAction, action_id) is None:
        raise not_found("Improvement action", "actionId")
    rows = (await session.execute(_pending_select().where(ImprovementAction.id == action_id))).all()
    if not rows:
        raise DomainError(
            ErrorCode.INVALID, "This action has no pending update to accept.", "actionId"
        )
    reach = await live_reach(uow, [action_id])
    if not reach.get(action_id):
        raise DomainError(
            ErrorCode.INVALID, "The action belongs only to archived assessments.", "actionId"
        )
    return await _accept(uow, actor, [_Pending(*row) for row in rows], reach)


async def accept_all_action_updates(
    uow: UnitOfWork, actor: Principal, assessment_ids: Sequence[int] | None = None
) -> AcceptedActions:
    """Accept every pending definition update of actions in live assessments.

    ``assessment_ids`` narrows it to the actions of those assessments (an organisation-wide
    action still changes everywhere it is used).
    """
    require_org_role(actor, OrgRole.ADMINISTRATOR)
    if assessment_ids is not None and len(set(assessment_ids)) > MAX_ASSESSMENTS_AT_ONCE:
        raise DomainError(
            ErrorCode.INVALID,
            f"At most {MAX_ASSESSMENTS_AT_ONCE} assessments at once.",
            "assessmentIds",
        )
    statement = _pending_select()
    if assessment_ids is not None:
        statement = statement.where(
            ImprovementAction.id.in_(
                select(ControlAction.action_id)
                .join(Control, Control.id == ControlAction.control_id)
                .where(Control.assessment_id.in_(list(assessment_ids)))
            )
        )
    pending = [_Pending(*row) for row in (await uow.session.execute(statement)).all()]
    reach = await live_reach(uow, [p.action.id for p in pending]) if pending else {}
    return await _accept(uow, actor, [p for p in pending if reach.get(p.action.id)], reach)


async def _accept(
    uow: UnitOfWork,
    actor: Principal,
    pending: list[_Pending],
    reach: Mapping[int, tuple[int, ...]],
) -> AcceptedActions:
    affected = sorted({a for p in pending for a in reach[p.action.id]})
    overall_before = await overall_score(uow.session.execute, None)
    before = await _stored_scores(uow, affected)
    now = utcnow()
    for item in pending:
        await _move_to_latest(uow, actor, item, reach[item.action.id], now)
    await uow.session.flush()
    after = await _stored_scores(uow, affected)
    return AcceptedActions(
        action_ids=tuple(p.action.id for p in pending),
        versions={p.action.id: (p.current.version, p.latest.version) for p in pending},
        impact=ScoreImpact(
            overall_before=overall_before,
            overall_after=await overall_score(uow.session.execute, None),
            assessments=tuple(AssessmentScoreMove(a, before[a], after[a]) for a in affected),
        ),
    )


async def _move_to_latest(
    uow: UnitOfWork,
    actor: Principal | None,
    item: _Pending,
    assessment_ids: tuple[int, ...],
    now: Any,
) -> None:
    action, current, latest = item.action, item.current, item.latest
    actor_id = actor.user_id if actor is not None else None
    changed: list[tuple[str, Any, Any]] = [("definition_version", current.version, latest.version)]
    if action.points != latest.points:
        changed.append(("points", action.points, latest.points))
        action.points = latest.points
    uow.session.add_all(
        HistoryEntry(
            action_id=action.id,
            field=name,
            old_value=str(old),
            new_value=str(new),
            source=ChangeSource.UPDATE,
            actor_id=actor_id,
            created_at=now,
        )
        for name, old, new in changed
    )
    old_score = Score(action.earned, action.possible)
    counted = await score_cells.snapshot(uow, action)
    action.accept_version(latest)
    # The default cadence may have changed, and with it the retest day and a lapse.
    await settle_retest(
        uow, action, clock.today(), source=ChangeSource.UPDATE, actor_id=actor_id, now=now
    )
    new_score = refresh_score(action)
    action.version += 1
    action.updated_at = now
    await record_score_change(
        uow,
        actor_id,
        action.id,
        assessment_ids,
        old_score,
        new_score,
        source=ChangeSource.UPDATE,
        now=now,
    )
    await score_cells.move(uow, action, counted)
    await uow.session.flush()
    await on_automation_available(
        uow, action, actor, gained=not current.automatic_testing_available
    )
    if latest.provider_result and latest.provider_result != current.provider_result:
        # A provider's new statement (only provider definitions carry one): its result.
        await apply_stated(uow, actor, action.id, latest.provider_result)


async def take_provider_versions(
    uow: UnitOfWork, actor: Principal | None, definition_ids: Sequence[int]
) -> int:
    """Move the live instances of provider definitions to their latest versions at once.

    Provider actions are the provider's, not the organisation's work: they receive no update
    notice and wait for nobody (DOMAIN.md section 10). Called by ``import_template`` for
    the provider definitions it gave a new version; history source UPDATE, then PROVIDER for
    a changed stated result. Instances used only by archived assessments stay as they were.
    Returns how many moved.
    """
    if not definition_ids:
        return 0
    statement = _pending_select().where(ImprovementAction.definition_id.in_(definition_ids))
    pending = [_Pending(*row) for row in (await uow.session.execute(statement)).all()]
    reach = await live_reach(uow, [p.action.id for p in pending]) if pending else {}
    moved = [p for p in pending if reach.get(p.action.id)]
    now = utcnow()
    for item in moved:
        await _move_to_latest(uow, actor, item, reach[item.action.id], now)
    await uow.session.flush()
    return len(moved)


# -- accepting template versions -----------------------------------------------------------------


@dataclass(frozen=True)
class AcceptedTemplateUpdate:
    assessment: Assessment
    applied: TemplateDiff
    actions_created: int
    actions_removed: int
    before: Score
    after: Score
    files_released: tuple[str, ...] = field(default=())


async def accept_assessment_update(
    uow: UnitOfWork, actor: Principal, assessment_id: int
) -> AcceptedTemplateUpdate:
    """Move a live assessment to its template's latest version and recount its score."""
    require_org_role(actor, OrgRole.ADMINISTRATOR)
    session = uow.session
    assessment = await get_assessment(uow, assessment_id, live=True)
    template = await session.get(Template, assessment.template_id)
    assert template is not None
    current = await session.get(TemplateVersion, assessment.template_version_id)
    latest = await session.scalar(
        select(TemplateVersion).where(
            TemplateVersion.template_id == template.id,
            TemplateVersion.version == template.latest_version,
        )
    )
    assert current is not None and latest is not None
    if latest.id == current.id:
        raise DomainError(
            ErrorCode.INVALID,
            "The assessment is already on the template's latest version.",
            "assessmentId",
        )
    wanted = (await version_contents(session.execute, [latest.id]))[latest.id]
    await score_cells.leave(uow, assessment.id)  # and enters again once its controls changed
    controls = {
        c.key: c
        for c in await session.scalars(
            select(Control).where(Control.assessment_id == assessment.id)
        )
    }
    links = (
        await session.execute(
            select(ControlAction, ImprovementAction.definition_id, ActionDefinition.key)
            .join(Control, Control.id == ControlAction.control_id)
            .join(ImprovementAction, ImprovementAction.id == ControlAction.action_id)
            .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
            .where(Control.assessment_id == assessment.id)
        )
    ).all()
    have: dict[int, dict[str, ControlAction]] = {}
    existing = {
        key: ControlContent(c.key, c.family, c.title, c.description, c.sort_order)
        for key, c in controls.items()
    }
    by_id = {c.id: existing[key] for key, c in controls.items()}
    for link, definition_id, action_key in links:
        have.setdefault(link.control_id, {})[action_key] = link
        by_id[link.control_id].actions[action_key] = definition_id
    applied = diff_contents(existing, wanted, current.version, latest.version)
    used_before = {link.action_id for link, _, _ in links}

    removed_ids = [controls[key].id for key in applied.controls_removed]
    if removed_ids:
        await session.execute(delete(Control).where(Control.id.in_(removed_ids)))
    for content in wanted.values():
        control = controls.get(content.key)
        if control is None:
            control = Control(assessment_id=assessment.id, key=content.key, sort_order=0)
            session.add(control)
            controls[content.key] = control
        control.family, control.title = content.family, content.title
        control.description, control.sort_order = content.description, content.sort_order
    await session.flush()

    removed_pairs = set(applied.mappings_removed) - {
        (key, a) for key in applied.controls_removed for a in existing[key].actions
    }
    for control_key, action_key in removed_pairs:
        await session.delete(have[controls[control_key].id][action_key])
    added = applied.mappings_added
    definition_ids = {wanted[c].actions[a] for c, a in added}
    known = set(
        await session.scalars(
            select(ImprovementAction.id).where(ImprovementAction.definition_id.in_(definition_ids))
        )
    )
    instances = await instances_for(uow, actor, definition_ids, assessment.group_id, None)
    session.add_all(
        ControlAction(control_id=controls[c].id, action_id=instances[wanted[c].actions[a]].id)
        for c, a in added
    )
    await session.flush()
    created = [i for i in instances.values() if i.id not in known]
    for instance in created:
        await on_automation_available(uow, instance, actor)  # new instances follow the setting
    await state_new_instances(uow, actor, created)  # and provider ones take the stated result
    removed, released = await remove_unused_instances(uow, used_before, actor)

    before = Score(assessment.earned, assessment.possible)
    assessment.template_version_id = latest.id
    assessment.updated_at = utcnow()
    after = await store_recomputed(uow, assessment)
    await status_upkeep.recount(uow, [assessment.id])
    await score_cells.enter(uow, assessment.id)
    if after != before:
        scores = {
            "before": {"earned": before.earned, "possible": before.possible},
            "after": {"earned": after.earned, "possible": after.possible},
            "delta": after.earned - before.earned,
        }
        session.add(
            Event(
                type=EventType.SCORE_CHANGE.value,
                assessment_id=assessment.id,
                actor_id=actor.user_id,
                payload={
                    "assessmentIds": [assessment.id],
                    "source": ChangeSource.UPDATE.value,
                    "templateVersion": {"from": current.version, "to": latest.version},
                    **scores,
                    "assessments": [{"assessmentId": assessment.id, **scores}],
                },
                created_at=utcnow(),
            )
        )
    await session.flush()
    return AcceptedTemplateUpdate(
        assessment, applied, len(created), removed, before, after, released
    )
