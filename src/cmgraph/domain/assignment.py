"""Assigning improvement actions to people (DOMAIN.md section 11) and a user's history.

History rows name assignees by email, so they read well in exports; deleting a user's
history replaces those emails with ``REMOVED_USER``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select, update

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import calendar, clock, people, text
from cmgraph.domain.accounts import principal_for
from cmgraph.domain.enums import ChangeSource, EventType, OrgRole, Owner
from cmgraph.domain.errors import DomainError, ErrorCode, forbidden, not_found
from cmgraph.domain.models import (
    ActionDefinition,
    Event,
    Evidence,
    HistoryEntry,
    ImprovementAction,
    User,
    utcnow,
)
from cmgraph.domain.permissions import (
    Principal,
    readable_actions,
    require_may_manage_people,
    require_org_role,
)
from cmgraph.domain.workflow import (
    MAX_NOTE_LENGTH,
    PROVIDER_READ_ONLY,
    action_reach,
    change_action,
    history_text,
)

MAX_ACTIONS_PER_ASSIGNMENT = 500
# Given with ``grant_access``: enough to work on the action, not to test it.
ASSIGNEE_GRANT_ROLE = OrgRole.CONTRIBUTOR
REMOVED_USER = "(removed user)"


async def _user(uow: UnitOfWork, user_id: int, field: str) -> User:
    user = await uow.session.get(User, user_id)
    if user is None:
        raise not_found("User", field)
    return user


async def assign_actions(
    uow: UnitOfWork,
    actor: Principal,
    action_ids: Sequence[int],
    assignee_id: int | None,
    *,
    notes: str | None = None,
    notify: bool = True,
    source: ChangeSource = ChangeSource.USER,
    grant_access: bool = False,
    due_date: date | None = None,
) -> list[ImprovementAction]:
    """Assign (or, with no assignee, unassign) every action, or none of them.

    A ``due_date`` is set on each action through ``workflow.change_action`` (history like
    any field) and told in the one ASSIGNMENT_CHANGE event of the assignment; None keeps
    the due dates as they are.

    The assignee must be able to read each action, or the assignment would point them at
    something they cannot open (``ASSIGNEE_CANNOT_READ``). With ``grant_access`` an owner
    gives them, in the same transaction, ``ASSIGNEE_GRANT_ROLE`` on each live assessment of
    an action they cannot read: the least role that lets them work on it (implementation,
    notes, evidence). The email goes out from the alerts pipeline, driven by the
    ASSIGNMENT_CHANGE event and its ``notify`` flag.
    """
    if grant_access:
        require_may_manage_people(actor, "give access while assigning work")
    ids = list(dict.fromkeys(action_ids))
    if not ids:
        raise DomainError(ErrorCode.INVALID, "Name at least one action.", "actionIds")
    if len(ids) > MAX_ACTIONS_PER_ASSIGNMENT:
        raise DomainError(
            ErrorCode.INVALID,
            f"At most {MAX_ACTIONS_PER_ASSIGNMENT} actions at once.",
            "actionIds",
        )
    text.check_text(notes, "Notes", field="notes", max_length=MAX_NOTE_LENGTH)
    calendar.check_day(due_date, clock.today(), "dueDate", "A due date")
    assignee = await _user(uow, assignee_id, "assigneeId") if assignee_id is not None else None
    if assignee is not None and assignee.disabled_at is not None:
        raise DomainError(
            ErrorCode.INVALID, f"{assignee.email} is disabled and cannot take work.", "assigneeId"
        )
    assignee_principal = await principal_for(uow, assignee) if assignee is not None else None

    session = uow.session
    rows = (
        await session.execute(
            select(ImprovementAction, ActionDefinition.owner)
            .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
            .where(ImprovementAction.id.in_(ids))
            .with_for_update(of=ImprovementAction)
        )
    ).all()
    found = {action.id: (action, owner) for action, owner in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise not_found(f"Improvement action {missing[0]}", "actionIds")
    previous = {
        u.id: u.email
        for u in await session.scalars(
            select(User).where(User.id.in_({a.assignee_id for a, _ in found.values()} - {None}))
        )
    }
    now = utcnow()
    for action_id in ids:
        action, owner = found[action_id]
        if owner is Owner.PROVIDER:
            raise forbidden(PROVIDER_READ_ONLY)
        reach = await action_reach(uow, actor, action.id)
        if not reach.assessment_ids:
            raise DomainError(
                ErrorCode.INVALID, "The action belongs only to archived assessments.", "actionIds"
            )
        if not reach.editable:
            raise forbidden("You may not assign this action.")
        if (
            assignee is not None
            and assignee_principal is not None
            and not await _may_read(uow, assignee_principal, action.id)
        ):
            if not grant_access:
                raise DomainError(
                    ErrorCode.ASSIGNEE_CANNOT_READ,
                    f"{assignee.email} cannot read this action: they need an organisation "
                    "role, or a grant on one of its assessments. An owner can grant it while "
                    "assigning (grantAccess).",
                    "assigneeId",
                )
            for assessment_id in reach.assessment_ids:
                await people.grant_access(
                    uow,
                    actor,
                    assignee.id,
                    ASSIGNEE_GRANT_ROLE,
                    assessment_id=assessment_id,
                    reason={"forActionId": action.id},
                )
            assignee_principal = await principal_for(uow, assignee)
        new_notes = notes if notes is not None else action.assignment_notes
        plan_only = action.assignee_id == assignee_id and new_notes == action.assignment_notes
        if due_date is not None and due_date != action.due_date:
            # Only the plan changed: change_action announces it; else the assignment's event.
            await change_action(
                uow,
                actor,
                action.id,
                {"due_date": due_date},
                source=source,
                planning_event=plan_only,
            )
        if plan_only:
            continue
        if action.assignee_id != assignee_id:
            session.add(
                HistoryEntry(
                    action_id=action.id,
                    field="assignee",
                    old_value=previous.get(action.assignee_id) if action.assignee_id else None,
                    new_value=assignee.email if assignee else None,
                    source=source,
                    actor_id=actor.user_id,
                    created_at=now,
                )
            )
        if new_notes != action.assignment_notes:
            session.add(
                HistoryEntry(
                    action_id=action.id,
                    field="assignment_notes",
                    old_value=action.assignment_notes,
                    new_value=new_notes,
                    source=source,
                    actor_id=actor.user_id,
                    created_at=now,
                )
            )
        session.add(
            Event(
                type=EventType.ASSIGNMENT_CHANGE.value,
                action_id=action.id,
                actor_id=actor.user_id,
                payload={
                    "assessmentIds": list(reach.assessment_ids),
                    "source": source.value,
                    "fromUserId": action.assignee_id,
                    "toUserId": assignee_id,
                    "notes": new_notes,
                    "notify": notify and assignee_id is not None,
                    "dueDate": history_text(action.due_date),
                },
                created_at=now,
            )
        )
        action.assignee_id = assignee_id
        action.assignment_notes = new_notes
        action.version += 1
        action.updated_at = now
    await session.flush()
    return [found[i][0] for i in ids]


async def _may_read(uow: UnitOfWork, principal: Principal, action_id: int) -> bool:
    found = await uow.session.scalar(
        select(ImprovementAction.id).where(
            ImprovementAction.id == action_id, readable_actions(principal)
        )
    )
    return found is not None


async def reassign_user_actions(
    uow: UnitOfWork, actor: Principal, from_user_id: int, to_user_id: int, *, notify: bool = True
) -> list[ImprovementAction]:
    """Move every action assigned to one user onto another (for leavers and handovers)."""
    require_org_role(actor, OrgRole.ADMINISTRATOR)
    await _user(uow, from_user_id, "fromUserId")
    if from_user_id == to_user_id:
        raise DomainError(ErrorCode.INVALID, "Choose a different user.", "toUserId")
    ids = list(
        await uow.session.scalars(
            select(ImprovementAction.id)
            .where(ImprovementAction.assignee_id == from_user_id)
            .order_by(ImprovementAction.id)
        )
    )
    if not ids:
        await _user(uow, to_user_id, "toUserId")
        return []
    return await _assign_in_chunks(uow, actor, ids, to_user_id, notify)


async def _assign_in_chunks(
    uow: UnitOfWork, actor: Principal, ids: list[int], to_user_id: int | None, notify: bool
) -> list[ImprovementAction]:
    result: list[ImprovementAction] = []
    for start in range(0, len(ids), MAX_ACTIONS_PER_ASSIGNMENT):
        chunk = ids[start : start + MAX_ACTIONS_PER_ASSIGNMENT]
        result += await assign_actions(uow, actor, chunk, to_user_id, notify=notify)
    return result


async def delete_user_history(uow: UnitOfWork, actor: Principal, user_id: int) -> int:
    """Remove a person from the record: unassigned everywhere, anonymous on evidence and history.

    Returns how many actions were unassigned. The account itself stays (revoke its tokens or
    remove its role separately).
    """
    require_may_manage_people(actor, "remove a person's history")
    user = await _user(uow, user_id, "userId")
    ids = list(
        await uow.session.scalars(
            select(ImprovementAction.id).where(ImprovementAction.assignee_id == user.id)
        )
    )
    if ids:
        await _assign_in_chunks(uow, actor, ids, None, False)
    session = uow.session
    await session.execute(
        update(Evidence).where(Evidence.uploaded_by_id == user.id).values(uploaded_by_id=None)
    )
    await session.execute(
        update(HistoryEntry).where(HistoryEntry.actor_id == user.id).values(actor_id=None)
    )
    for column in (HistoryEntry.old_value, HistoryEntry.new_value):
        await session.execute(
            update(HistoryEntry)
            .where(HistoryEntry.field == "assignee", column == user.email)
            .values({column.key: REMOVED_USER})
        )
    await session.flush()
    return len(ids)
