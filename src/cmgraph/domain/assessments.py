"""Creating groups and assessments from templates (DOMAIN.md sections 2 and 9)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from cmgraph.adapters import signals
from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import clock, score_cells, status_upkeep, text
from cmgraph.domain.accounts import principals_for
from cmgraph.domain.enums import (
    AutomaticTesting,
    ChangeSource,
    ImplementationStatus,
    ImplementationType,
    OrgRole,
    Owner,
    TestingSource,
    TestStatus,
)
from cmgraph.domain.errors import DomainError, ErrorCode, not_found
from cmgraph.domain.evidence import release_files
from cmgraph.domain.models import (
    ActionDefinition,
    ActionDefinitionVersion,
    Assessment,
    Control,
    ControlAction,
    Evidence,
    Group,
    HistoryEntry,
    ImprovementAction,
    ScoreCell,
    ScoreReach,
    Template,
    TemplateControl,
    TemplateControlAction,
    TemplateVersion,
    User,
    utcnow,
)
from cmgraph.domain.organisation import organisation
from cmgraph.domain.permissions import Principal, require_org_role
from cmgraph.domain.provider_results import state_new_instances
from cmgraph.domain.score_upkeep import store_recomputed
from cmgraph.domain.scoring import refresh_score
from cmgraph.domain.testing_sources import on_automation_available
from cmgraph.domain.workflow import history_text, settle_retest

ORG_SCOPE = "org"
# Tables that creating or deleting an assessment changes by the thousand rows.
ASSESSMENT_TABLES = tuple(
    model.__tablename__
    for model in (
        Assessment,
        Control,
        ControlAction,
        ImprovementAction,
        HistoryEntry,
        Evidence,
        ScoreReach,
        ScoreCell,
    )
)

# Fields copied from another group's instance when a new group is created "copy from group".
COPIED_FIELDS = (
    "implementation_status",
    "implementation_date",
    "implementation_notes",
    "test_status",
    "test_date",
    "testing_notes",
    "additional_notes",
    "retest_interval_days",
)
# ...and the assignment (DOMAIN.md section 2: "assignees"), when the assignee may read the
# new assessment and is not disabled; otherwise the copy starts unassigned.
COPIED_ASSIGNMENT_FIELDS = ("assignee_id", "assignment_notes", "due_date")


MAX_NAME_LENGTH = text.MAX_NAME_LENGTH


def clean_name(name: str, what: str) -> str:
    """A display name that fits its column (``domain.text``), or INVALID on ``name``."""
    return text.clean_name(name, what, max_length=MAX_NAME_LENGTH)


def scope_key(implementation_type: ImplementationType, owner: Owner, group_id: int) -> str:
    """Where an instance lives: organisation-wide for technical and provider actions."""
    if owner is Owner.PROVIDER or implementation_type is ImplementationType.TECHNICAL:
        return ORG_SCOPE
    return f"group:{group_id}"


async def create_group(uow: UnitOfWork, actor: Principal, name: str, field: str = "name") -> Group:
    """``field`` names the input that held ``name`` in refusals."""
    require_org_role(actor, OrgRole.ADMINISTRATOR)
    name = text.clean_name(name, "A group", field=field, max_length=MAX_NAME_LENGTH)
    if await uow.session.scalar(select(Group.id).where(Group.name == name)) is not None:
        raise DomainError(ErrorCode.DUPLICATE, f"A group named {name!r} exists.", field)
    group = Group(name=name)
    uow.session.add(group)
    await uow.session.flush()
    return group


@dataclass(frozen=True)
class NewAssessment:
    template_id: int
    name: str
    group_id: int | None = None
    new_group_name: str | None = None
    copy_from_group_id: int | None = None


async def create_assessment(
    uow: UnitOfWork, actor: Principal, request: NewAssessment
) -> Assessment:
    """Instantiate a template's latest version, reusing the group's or organisation's instances."""
    require_org_role(actor, OrgRole.ADMINISTRATOR)
    session = uow.session
    name = clean_name(request.name, "An assessment")
    if (request.group_id is None) == (request.new_group_name is None):
        raise DomainError(
            ErrorCode.INVALID, "Give either an existing group or a new group name.", "group"
        )
    template = await session.get(Template, request.template_id)
    if template is None:
        raise not_found("Template", "templateId")
    if await session.scalar(select(Assessment.id).where(Assessment.name == name)) is not None:
        raise DomainError(ErrorCode.DUPLICATE, f"An assessment named {name!r} exists.", "name")

    if request.group_id is not None:
        group = await session.get(Group, request.group_id)
        if group is None:
            raise not_found("Group", "groupId")
        if request.copy_from_group_id is not None:
            raise DomainError(
                ErrorCode.INVALID,
                "Copy-from applies only when the assessment starts a new group.",
                "copyFromGroupId",
            )
        duplicate = await session.scalar(
            select(Assessment.id).where(
                Assessment.group_id == group.id, Assessment.template_id == template.id
            )
        )
        if duplicate is not None:
            raise DomainError(
                ErrorCode.DUPLICATE,
                "This group already has an assessment of this template and product.",
                "templateId",
            )
    else:
        if request.copy_from_group_id is not None and (
            await session.get(Group, request.copy_from_group_id) is None
        ):
            raise not_found("Group", "copyFromGroupId")
        group = await create_group(uow, actor, request.new_group_name or "", "newGroupName")

    version = await session.scalar(
        select(TemplateVersion).where(
            TemplateVersion.template_id == template.id,
            TemplateVersion.version == template.latest_version,
        )
    )
    if version is None:
        raise not_found("Template version", "templateId")
    assessment = Assessment(
        name=name,
        template_id=template.id,
        template_version_id=version.id,
        group_id=group.id,
        created_by_id=actor.user_id,
    )
    session.add(assessment)
    await session.flush()

    template_controls = (
        await session.scalars(
            select(TemplateControl)
            .where(TemplateControl.template_version_id == version.id)
            .order_by(TemplateControl.sort_order)
        )
    ).all()
    links = (
        await session.execute(
            select(TemplateControlAction.template_control_id, TemplateControlAction.definition_id)
            .join(TemplateControl, TemplateControl.id == TemplateControlAction.template_control_id)
            .where(TemplateControl.template_version_id == version.id)
        )
    ).all()
    definition_ids = {definition_id for _, definition_id in links}
    known = set(
        await session.scalars(
            select(ImprovementAction.id).where(ImprovementAction.definition_id.in_(definition_ids))
        )
    )
    instances = await instances_for(
        uow,
        actor,
        definition_ids,
        group.id,
        request.copy_from_group_id,
        copy_into=(assessment.id, template.regulation_id),
    )
    controls = [
        Control(
            assessment_id=assessment.id,
            key=tc.key,
            family=tc.family,
            title=tc.title,
            description=tc.description,
            sort_order=tc.sort_order,
        )
        for tc in template_controls
    ]
    session.add_all(controls)
    await session.flush()
    control_ids = {tc.id: c.id for tc, c in zip(template_controls, controls, strict=True)}
    session.add_all(
        ControlAction(control_id=control_ids[tc_id], action_id=instances[definition_id].id)
        for tc_id, definition_id in links
    )
    await session.flush()
    # New provider instances take what the template states (DOMAIN.md section 14).
    await state_new_instances(uow, actor, [i for i in instances.values() if i.id not in known])
    await store_recomputed(uow, assessment)
    await status_upkeep.recount(uow, [assessment.id])
    await score_cells.enter(uow, assessment.id)
    uow.refresh_statistics(*ASSESSMENT_TABLES)
    return assessment


async def instances_for(
    uow: UnitOfWork,
    actor: Principal,
    definition_ids: set[int],
    group_id: int,
    copy_from_group_id: int | None,
    *,
    copy_into: tuple[int, int] | None = None,
) -> dict[int, ImprovementAction]:
    """The instance each definition uses in this group, creating the missing ones.

    ``copy_into`` (assessment id, regulation id) is the assessment a copy from another group
    is for: assignees are copied only where they may read it.
    """
    session = uow.session
    definitions = {
        d.id: (d, v)
        for d, v in (
            await session.execute(
                select(ActionDefinition, ActionDefinitionVersion)
                .join(
                    ActionDefinitionVersion,
                    (ActionDefinitionVersion.definition_id == ActionDefinition.id)
                    & (ActionDefinitionVersion.version == ActionDefinition.latest_version),
                )
                .where(ActionDefinition.id.in_(definition_ids))
            )
        ).all()
    }
    wanted = {
        d_id: scope_key(d.implementation_type, d.owner, group_id)
        for d_id, (d, _) in definitions.items()
    }
    existing = {
        (a.definition_id, a.scope_key): a
        for a in await session.scalars(
            select(ImprovementAction).where(
                ImprovementAction.definition_id.in_(definition_ids),
                ImprovementAction.scope_key.in_(set(wanted.values())),
            )
        )
    }
    sources: dict[int, ImprovementAction] = {}
    if copy_from_group_id is not None:
        sources = {
            a.definition_id: a
            for a in await session.scalars(
                select(ImprovementAction).where(
                    ImprovementAction.definition_id.in_(definition_ids),
                    ImprovementAction.scope_key == f"group:{copy_from_group_id}",
                )
            )
        }
    assignable = await _assignable(uow, sources.values(), copy_into)
    result: dict[int, ImprovementAction] = {}
    created: list[tuple[ImprovementAction, ImprovementAction | None]] = []
    for d_id, key in wanted.items():
        found = existing.get((d_id, key))
        if found is not None:
            result[d_id] = found
            continue
        definition, definition_version = definitions[d_id]
        instance = ImprovementAction(
            definition_id=d_id,
            sort_key=definition.key,
            scope_key=key,
            group_id=None if key == ORG_SCOPE else group_id,
            points=definition_version.points,
            implementation_status=ImplementationStatus.NOT_IMPLEMENTED,
            test_status=TestStatus.NONE,
            testing_source=TestingSource.MANUAL,
        )
        instance.accept_version(definition_version)
        source = sources.get(d_id) if key != ORG_SCOPE else None
        if source is not None:
            for name in COPIED_FIELDS:
                setattr(instance, name, getattr(source, name))
            if source.assignee_id in assignable:
                for name in COPIED_ASSIGNMENT_FIELDS:
                    setattr(instance, name, getattr(source, name))
        refresh_score(instance)
        created.append((instance, source))
        result[d_id] = instance
    session.add_all(i for i, _ in created)
    await session.flush()
    copies = [(i, s) for i, s in created if s is not None]
    now = utcnow()
    for instance, _ in copies:  # a copied pass has its retest day too (DOMAIN.md section 15)
        if await settle_retest(
            uow, instance, clock.today(), source=ChangeSource.USER, actor_id=actor.user_id, now=now
        ):
            refresh_score(instance)
    await session.flush()
    await _record_copies(uow, [i for i, _ in copies], actor, now)
    await _copy_evidence(uow, copies)
    await _follow_automation_setting(uow, [i for i, _ in created], definitions)
    return result


_FRESH = {
    "implementation_status": ImplementationStatus.NOT_IMPLEMENTED,
    "test_status": TestStatus.NONE,
}


async def _assignable(
    uow: UnitOfWork, sources: Iterable[ImprovementAction], copy_into: tuple[int, int] | None
) -> set[int]:
    """The copied instances' assignees who may read the new assessment and take work."""
    ids = {s.assignee_id for s in sources if s.assignee_id is not None}
    if not ids or copy_into is None:
        return set()
    assessment_id, regulation_id = copy_into
    users = await uow.session.scalars(
        select(User).where(User.id.in_(ids), User.disabled_at.is_(None))
    )
    principals = await principals_for(uow, users)
    return {
        user_id
        for user_id, principal in principals.items()
        if principal.may_on_assessment(OrgRole.READER, assessment_id, regulation_id)
    }


async def _record_copies(
    uow: UnitOfWork, copies: list[ImprovementAction], actor: Principal, now: datetime
) -> None:
    """History for values copied from another group, so testing history starts complete.

    The assignee reads as everywhere in history: by email (``assignment``).
    """
    emails = {
        u.id: u.email
        for u in await uow.session.scalars(
            select(User).where(User.id.in_({i.assignee_id for i in copies} - {None}))
        )
    }
    for instance in copies:
        for name in COPIED_FIELDS + COPIED_ASSIGNMENT_FIELDS:
            value = getattr(instance, name)
            if value == _FRESH.get(name, "" if name.endswith("notes") else None):
                continue
            field, shown = name, history_text(value)
            if name == "assignee_id":
                field, shown = "assignee", emails.get(value)
            uow.session.add(
                HistoryEntry(
                    action_id=instance.id,
                    field=field,
                    old_value=None,
                    new_value=shown,
                    source=ChangeSource.USER,
                    actor_id=actor.user_id,
                    created_at=now,
                )
            )


async def _follow_automation_setting(
    uow: UnitOfWork,
    instances: list[ImprovementAction],
    definitions: dict[int, tuple[ActionDefinition, ActionDefinitionVersion]],
) -> None:
    """New instances of automatable definitions follow ON_FOR_ALL and PER_ACTION (DOMAIN.md
    section 5: a new action gains automation; copied own data keeps it MANUAL)."""
    candidates = [
        i for i in instances if definitions[i.definition_id][1].automatic_testing_available
    ]
    if not candidates:
        return
    if (await organisation(uow)).automatic_testing is AutomaticTesting.OFF_FOR_ALL:
        return
    for instance in candidates:
        await on_automation_available(uow, instance)


async def _copy_evidence(
    uow: UnitOfWork, pairs: list[tuple[ImprovementAction, ImprovementAction]]
) -> None:
    if not pairs:
        return
    target = {source.id: instance.id for instance, source in pairs}
    rows = await uow.session.scalars(select(Evidence).where(Evidence.action_id.in_(target)))
    uow.session.add_all(
        Evidence(
            action_id=target[e.action_id],
            kind=e.kind,
            name=e.name,
            url=e.url,
            sha256=e.sha256,
            size=e.size,
            content_type=e.content_type,
            uploaded_by_id=e.uploaded_by_id,
            uploaded_at=e.uploaded_at,
        )
        for e in rows
    )
    await uow.session.flush()


async def get_assessment(uow: UnitOfWork, assessment_id: int, *, live: bool = False) -> Assessment:
    assessment = await uow.session.get(Assessment, assessment_id, with_for_update=True)
    if assessment is None:
        raise not_found("Assessment", "assessmentId")
    if live and assessment.archived_at is not None:
        raise DomainError(
            ErrorCode.INVALID, "The assessment is archived and read-only.", "assessmentId"
        )
    return assessment


async def rename_assessment(
    uow: UnitOfWork, actor: Principal, assessment_id: int, name: str
) -> Assessment:
    require_org_role(actor, OrgRole.ADMINISTRATOR)
    assessment = await get_assessment(uow, assessment_id, live=True)
    name = clean_name(name, "An assessment")
    clash = await uow.session.scalar(
        select(Assessment.id).where(Assessment.name == name, Assessment.id != assessment.id)
    )
    if clash is not None:
        raise DomainError(ErrorCode.DUPLICATE, f"An assessment named {name!r} exists.", "name")
    assessment.name = name
    assessment.updated_at = utcnow()
    await uow.session.flush()
    return assessment


async def rename_group(uow: UnitOfWork, actor: Principal, group_id: int, name: str) -> Group:
    require_org_role(actor, OrgRole.ADMINISTRATOR)
    group = await uow.session.get(Group, group_id, with_for_update=True)
    if group is None:
        raise not_found("Group", "groupId")
    name = clean_name(name, "A group")
    clash = await uow.session.scalar(
        select(Group.id).where(Group.name == name, Group.id != group.id)
    )
    if clash is not None:
        raise DomainError(ErrorCode.DUPLICATE, f"A group named {name!r} exists.", "name")
    group.name = name
    await uow.session.flush()
    return group


async def archive_assessment(uow: UnitOfWork, actor: Principal, assessment_id: int) -> Assessment:
    """Read-only from now on; its stored score stops moving, which freezes it."""
    require_org_role(actor, OrgRole.ADMINISTRATOR)
    assessment = await get_assessment(uow, assessment_id, live=True)
    await score_cells.leave(uow, assessment.id)
    assessment.archived_at = assessment.updated_at = utcnow()
    await uow.session.flush()
    return assessment


@dataclass(frozen=True)
class Deletion:
    assessment_id: int
    actions_removed: int
    files_released: tuple[str, ...]  # sha256 of document evidence that lost its last row


async def delete_assessment(uow: UnitOfWork, actor: Principal, assessment_id: int) -> Deletion:
    """Delete for good; instances no other assessment uses go with it (and their evidence)."""
    require_org_role(actor, OrgRole.ADMINISTRATOR)
    session = uow.session
    assessment = await get_assessment(uow, assessment_id)
    used_here = set(
        await session.scalars(
            select(ControlAction.action_id)
            .join(Control, Control.id == ControlAction.control_id)
            .where(Control.assessment_id == assessment.id)
        )
    )
    if assessment.archived_at is None:
        await score_cells.leave(uow, assessment.id)
    await session.execute(delete(Control).where(Control.assessment_id == assessment.id))
    await session.delete(assessment)
    await session.flush()
    # Grants on it went with it; a remembered one must not outlive it (SQLite reuses ids).
    uow.wake(signals.CREDENTIALS_CHANNEL)
    removed, released = await remove_unused_instances(uow, used_here, actor)
    uow.refresh_statistics(*ASSESSMENT_TABLES)
    return Deletion(assessment_id, removed, released)


async def remove_unused_instances(
    uow: UnitOfWork, candidates: set[int], actor: Principal
) -> tuple[int, tuple[str, ...]]:
    """Delete the candidate instances that no control uses any more, with their evidence.

    Actions that inherited from a removed one fall back to MANUAL, keeping their values, and
    say so in their history. Returns how many went and the SHA-256 of document evidence that
    lost its last row; those files leave storage once the change commits.
    """
    session = uow.session
    if not candidates:
        return 0, ()
    orphans = list(
        await session.scalars(
            select(ImprovementAction.id).where(
                ImprovementAction.id.in_(candidates),
                ImprovementAction.id.not_in(select(ControlAction.action_id)),
            )
        )
    )
    if not orphans:
        return 0, ()
    documents = {
        sha256
        for sha256 in await session.scalars(
            select(Evidence.sha256).where(
                Evidence.action_id.in_(orphans), Evidence.sha256.isnot(None)
            )
        )
        if sha256 is not None  # always, by the WHERE clause
    }
    now = utcnow()
    children = await session.scalars(
        select(ImprovementAction).where(
            ImprovementAction.parent_id.in_(orphans), ImprovementAction.id.not_in(orphans)
        )
    )
    for child in children:
        session.add_all(
            HistoryEntry(
                action_id=child.id,
                field=name,
                old_value=old,
                new_value=new,
                source=ChangeSource.UPDATE,
                actor_id=actor.user_id,
                created_at=now,
            )
            for name, old, new in (
                ("testing_source", child.testing_source.value, TestingSource.MANUAL.value),
                ("parent_id", str(child.parent_id), None),
            )
        )
        child.testing_source, child.parent_id = TestingSource.MANUAL, None
        child.version += 1
        child.updated_at = now
    await session.flush()
    await session.execute(delete(ImprovementAction).where(ImprovementAction.id.in_(orphans)))
    await session.flush()
    still_used = set(
        await session.scalars(select(Evidence.sha256).where(Evidence.sha256.in_(documents)))
    )
    released = tuple(sorted(documents - still_used))
    release_files(uow, released)
    return len(orphans), released
