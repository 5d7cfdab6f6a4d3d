"""What the write path stores for reads (scores, statuses) against a full recount."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from cmgraph.domain import score_upkeep, scoring
from cmgraph.domain.enums import ScoreSpan
from cmgraph.domain.models import (
    ActionDefinition,
    ActionDefinitionVersion,
    Assessment,
    Control,
    ControlAction,
    ImprovementAction,
    ScoreCell,
    ScoreTotal,
    Template,
)
from cmgraph.domain.status_upkeep import stored_tally


async def scores_agree(uow, *, live_only: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Stored assessment scores equal a full recount (``live_only``: archived ones are frozen,
    so a test that archives leaves them out). Statuses and the score's sums are checked
    too."""
    async with uow() as u:
        query = select(Assessment)
        if live_only:
            query = query.where(Assessment.archived_at.is_(None))
        stored = {a.id: (a.earned, a.possible) for a in await u.session.scalars(query)}
        fresh = await score_upkeep.recompute(u, stored)
    assert stored == {i: (s.earned, s.possible) for i, s in fresh.items()}
    await statuses_agree(uow)
    await cells_agree(uow)


async def statuses_agree(uow) -> dict[int, tuple[str, float]]:  # type: ignore[no-untyped-def]
    """Every control's and assessment's stored counts equal a count of the actions' states
    as they are now, by the list rules of ``scoring``; returns (status, progress) per
    assessment."""
    async with uow() as u:
        links = (
            await u.session.execute(
                select(
                    Control.assessment_id,
                    Control.id,
                    ImprovementAction.implementation_status,
                    ImprovementAction.test_status,
                )
                .outerjoin(ControlAction, ControlAction.control_id == Control.id)
                .outerjoin(ImprovementAction, ImprovementAction.id == ControlAction.action_id)
            )
        ).all()
        controls = {c.id: c for c in await u.session.scalars(select(Control))}
        assessments = list(await u.session.scalars(select(Assessment)))
    states: dict[int, list] = defaultdict(list)
    for _, control_id, implementation, test in links:
        states[control_id]
        if implementation is not None:
            states[control_id].append((implementation, test))
    statuses: dict[int, list] = defaultdict(list)
    for control_id, control in controls.items():
        status = scoring.control_status(states[control_id])
        assert scoring.control_status_of(stored_tally(control, "actions_")) == status, control.key
        statuses[control.assessment_id].append(status)
    found = {}
    for assessment in assessments:
        expected = (
            scoring.assessment_status(statuses[assessment.id]),
            scoring.progress(statuses[assessment.id]),
        )
        counted = stored_tally(assessment, "controls_")
        assert (scoring.assessment_status_of(counted), scoring.progress_of(counted)) == expected
        assert counted.total == len(statuses[assessment.id])
        found[assessment.id] = (expected[0].value, expected[1])
    return found


async def cells_agree(uow) -> dict:  # type: ignore[no-untyped-def]
    """The kept score sums (``score_cells``) equal sums over the distinct instances of each
    span, counted from the controls of the active assessments, and each span's total their
    sum; returns the cells."""
    async with uow() as u:
        held = (
            await u.session.execute(
                select(
                    ControlAction.action_id,
                    Assessment.id,
                    Assessment.group_id,
                    Template.regulation_id,
                )
                .join(Control, Control.id == ControlAction.control_id)
                .join(Assessment, Assessment.id == Control.assessment_id)
                .join(Template, Template.id == Assessment.template_id)
                .where(Assessment.archived_at.is_(None))
                .distinct()
            )
        ).all()
        standings = {
            action.id: (
                (
                    version.category,
                    version.solution,
                    definition.owner,
                    definition.implementation_type,
                    action.implementation_status,
                    action.test_status,
                ),
                (1, int(action.possible > 0), action.earned, action.possible),
            )
            for action, definition, version in (
                await u.session.execute(
                    select(ImprovementAction, ActionDefinition, ActionDefinitionVersion)
                    .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
                    .join(
                        ActionDefinitionVersion,
                        ActionDefinitionVersion.id == ImprovementAction.definition_version_id,
                    )
                )
            ).all()
        }
        cells = list(await u.session.scalars(select(ScoreCell)))
        totals = {
            (t.span, t.span_id): [t.actions, t.scored, round(t.earned, 6), t.possible]
            for t in await u.session.scalars(select(ScoreTotal))
            if t.actions
        }
    members: set[tuple] = set()
    for action_id, assessment_id, group_id, regulation_id in held:
        members |= {
            (ScoreSpan.ALL, 0, action_id),
            (ScoreSpan.ASSESSMENT, assessment_id, action_id),
            (ScoreSpan.GROUP, group_id, action_id),
            (ScoreSpan.REGULATION, regulation_id, action_id),
        }
    expected: dict[tuple, list] = {}
    for span, span_id, action_id in members:
        standing, sums = standings[action_id]
        total = expected.setdefault((span, span_id, *standing), [0, 0, 0.0, 0])
        for n, value in enumerate(sums):
            total[n] += value
    kept = {
        (
            c.span,
            c.span_id,
            c.category,
            c.solution,
            c.owner,
            c.implementation_type,
            c.implementation_status,
            c.test_status,
        ): [c.actions, c.scored, round(c.earned, 6), c.possible]
        for c in cells
        if (c.actions, c.scored, round(c.earned, 6), c.possible) != (0, 0, 0.0, 0)
    }
    assert kept == {k: [a, s, round(e, 6), p] for k, (a, s, e, p) in expected.items()}
    added: dict[tuple, list] = {}
    for (span, span_id, *_), (a, s, e, p) in expected.items():
        total = added.setdefault((span, span_id), [0, 0, 0.0, 0])
        for n, value in enumerate((a, s, e, p)):
            total[n] += value
    assert totals == {k: [a, s, round(e, 6), p] for k, (a, s, e, p) in added.items()}
    return kept
