"""DOMAIN.md section 7 as pure functions, with its worked example."""

from __future__ import annotations

import pytest

from cmgraph.domain.enums import (
    AssessmentStatus,
    ControlStatus,
    Enforcement,
    ImplementationStatus,
    Purpose,
    TestStatus,
)
from cmgraph.domain.scoring import (
    Score,
    action_score,
    assessment_status,
    breakdown,
    control_status,
    default_points,
    progress,
    total,
)

IMPL = ImplementationStatus.IMPLEMENTED
NOT = ImplementationStatus.NOT_IMPLEMENTED
OOS = ImplementationStatus.OUT_OF_SCOPE


@pytest.mark.parametrize(
    ("purpose", "enforcement", "points"),
    [
        (Purpose.PREVENTATIVE, Enforcement.MANDATORY, 27),
        (Purpose.PREVENTATIVE, Enforcement.DISCRETIONARY, 9),
        (Purpose.DETECTIVE, Enforcement.MANDATORY, 3),
        (Purpose.DETECTIVE, Enforcement.DISCRETIONARY, 1),
        (Purpose.CORRECTIVE, Enforcement.MANDATORY, 3),
        (Purpose.CORRECTIVE, Enforcement.DISCRETIONARY, 1),
    ],
)
def test_default_points_table(purpose: Purpose, enforcement: Enforcement, points: int) -> None:
    assert default_points(purpose, enforcement) == points


def test_action_score_rules() -> None:
    assert action_score(27, IMPL, TestStatus.PASSED) == Score(27.0, 27)
    assert action_score(27, IMPL, TestStatus.FAILED_LOW_RISK) == Score(0.0, 27)
    assert action_score(10, IMPL, TestStatus.PARTIALLY_TESTED, 0.4) == Score(4.0, 10)
    assert action_score(10, OOS, TestStatus.OUT_OF_SCOPE) == Score(0.0, 0)
    assert action_score(10, IMPL, TestStatus.OUT_OF_SCOPE) == Score(0.0, 0)
    assert action_score(3, NOT, TestStatus.NONE) == Score(0.0, 3)


def test_worked_example_with_pure_functions() -> None:
    t1 = action_score(27, IMPL, TestStatus.PASSED)
    t2 = action_score(1, NOT, TestStatus.NONE)
    n1_g1 = action_score(3, IMPL, TestStatus.PASSED)
    n1_g2 = action_score(3, NOT, TestStatus.NONE)
    p1 = action_score(9, IMPL, TestStatus.PASSED)
    a1 = total([t1, n1_g1, p1])  # C1{T1,N1} C2{T1,P1}: T1 counts once
    a2 = total([n1_g1, t2])
    a3 = total([t1, n1_g2])
    overall = total([t1, t2, n1_g1, n1_g2, p1])
    assert (a1.earned, a1.possible, a1.percent) == (39, 39, 100.0)
    assert (a2.earned, a2.possible, a2.percent) == (3, 4, 75.0)
    assert (a3.earned, a3.possible, a3.percent) == (27, 30, 90.0)
    assert (overall.earned, overall.possible, overall.percent) == (39, 43, 90.7)
    average = round((a1.percent + a2.percent + a3.percent) / 3, 1)
    assert average == 88.3 != overall.percent


def test_breakdown_counts_each_instance_once_per_key() -> None:
    t1 = Score(27.0, 27)
    rows = [("Control access", 1, t1), ("Control access", 1, t1), ("Govern", 2, Score(0.0, 3))]
    assert breakdown(rows) == {"Control access": t1, "Govern": Score(0.0, 3)}


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ([(IMPL, TestStatus.PASSED), (IMPL, TestStatus.FAILED_HIGH_RISK)], ControlStatus.FAILED),
        (
            [(OOS, TestStatus.OUT_OF_SCOPE), (IMPL, TestStatus.OUT_OF_SCOPE)],
            ControlStatus.OUT_OF_SCOPE,
        ),
        ([(IMPL, TestStatus.PASSED), (OOS, TestStatus.OUT_OF_SCOPE)], ControlStatus.PASSED),
        ([(NOT, TestStatus.NONE), (IMPL, TestStatus.NOT_ASSESSED)], ControlStatus.NONE),
        ([(IMPL, TestStatus.PASSED), (NOT, TestStatus.NONE)], ControlStatus.IN_PROGRESS),
        ([(IMPL, TestStatus.IN_PROGRESS)], ControlStatus.IN_PROGRESS),
        ([], ControlStatus.NONE),
    ],
)
def test_control_status_precedence(actions: list, expected: ControlStatus) -> None:
    assert control_status(actions) is expected


def test_assessment_status_and_progress() -> None:
    P, F, N = ControlStatus.PASSED, ControlStatus.FAILED, ControlStatus.NONE
    WIP, OUT = ControlStatus.IN_PROGRESS, ControlStatus.OUT_OF_SCOPE
    assert assessment_status([P, P, OUT]) is AssessmentStatus.COMPLETE
    assert assessment_status([P, F, P]) is AssessmentStatus.INCOMPLETE
    assert assessment_status([N, N, OUT]) is AssessmentStatus.NONE
    assert assessment_status([P, N]) is AssessmentStatus.IN_PROGRESS
    assert assessment_status([WIP]) is AssessmentStatus.IN_PROGRESS
    assert progress([P, N, OUT, F]) == pytest.approx(1 / 3)
    assert progress([OUT]) == 0.0
