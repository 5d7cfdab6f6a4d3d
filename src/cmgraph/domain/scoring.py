"""Points, scores and derived statuses (DOMAIN.md sections 3 and 7), as pure functions."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Protocol

from cmgraph.domain.enums import (
    FAILED_TEST_STATUSES,
    AssessmentStatus,
    ControlStatus,
    Enforcement,
    ImplementationStatus,
    Priority,
    Purpose,
    TestStatus,
)

DEFAULT_POINTS: dict[tuple[Purpose, Enforcement], int] = {
    (Purpose.PREVENTATIVE, Enforcement.MANDATORY): 27,
    (Purpose.PREVENTATIVE, Enforcement.DISCRETIONARY): 9,
    (Purpose.DETECTIVE, Enforcement.MANDATORY): 3,
    (Purpose.DETECTIVE, Enforcement.DISCRETIONARY): 1,
    (Purpose.CORRECTIVE, Enforcement.MANDATORY): 3,
    (Purpose.CORRECTIVE, Enforcement.DISCRETIONARY): 1,
}

# Test statuses that mean nobody has looked yet, for a control's status (and
# ``control_filter``'s SQL form of it). Wider than ``enums.UNTESTED_STATUSES``: an action
# waiting for its detector (TO_BE_DETECTED) has not been tested either.
NOT_TESTED_STATUSES = frozenset(
    {TestStatus.NONE, TestStatus.NOT_ASSESSED, TestStatus.TO_BE_DETECTED}
)


def default_points(purpose: Purpose, enforcement: Enforcement) -> int:
    return DEFAULT_POINTS[(purpose, enforcement)]


def priority(points: int) -> Priority:
    """HIGH from 20 points (a mandatory preventative action's 27), MEDIUM from 5
    (discretionary preventative, 9), LOW below (detective and corrective, 1-3): where a
    point of work moves the score most."""
    if points >= 20:
        return Priority.HIGH
    return Priority.MEDIUM if points >= 5 else Priority.LOW


@dataclass(frozen=True, slots=True)
class Score:
    earned: float
    possible: int

    @property
    def percent(self) -> float:
        """Share earned, 0-100, two decimals; 0 when nothing is possible."""
        return round(100 * self.earned / self.possible, 2) if self.possible else 0.0

    def __add__(self, other: Score) -> Score:
        return Score(self.earned + other.earned, self.possible + other.possible)


ZERO = Score(0.0, 0)


def is_out_of_scope(implementation: ImplementationStatus, test: TestStatus) -> bool:
    return implementation is ImplementationStatus.OUT_OF_SCOPE or test is TestStatus.OUT_OF_SCOPE


def action_score(
    points: int,
    implementation: ImplementationStatus,
    test: TestStatus,
    fraction: float | None = None,
) -> Score:
    """What one action earns and could earn; out of scope leaves both."""
    if is_out_of_scope(implementation, test):
        return ZERO
    if test is TestStatus.PASSED:
        return Score(float(points), points)
    if test is TestStatus.PARTIALLY_TESTED:
        return Score(points * min(max(fraction or 0.0, 0.0), 1.0), points)
    return Score(0.0, points)


class _Scored(Protocol):
    points: int
    implementation_status: ImplementationStatus
    test_status: TestStatus
    automation_fraction: float | None
    retest_lapsed: bool
    earned: float
    possible: int


def refresh_score(action: _Scored) -> Score:
    """Recompute an instance's stored ``earned``/``possible`` from its state.

    A passed action whose retest is overdue, where the organisation takes points away until
    the retest (``retest_lapsed``, DOMAIN.md section 15), earns nothing; its points stay
    possible, so the gap shows in every score.
    """
    score = action_score(
        action.points, action.implementation_status, action.test_status, action.automation_fraction
    )
    if action.retest_lapsed:
        score = Score(0.0, score.possible)
    action.earned, action.possible = score.earned, score.possible
    return score


def total(scores: Iterable[Score]) -> Score:
    """Sum of scores; callers pass each distinct action instance once."""
    result = ZERO
    for score in scores:
        result = result + score
    return result


def control_status(actions: Iterable[tuple[ImplementationStatus, TestStatus]]) -> ControlStatus:
    """FAILED, then OUT_OF_SCOPE, PASSED, NONE, IN_PROGRESS, in that order of precedence."""
    states = list(actions)
    if any(test in FAILED_TEST_STATUSES for _, test in states):
        return ControlStatus.FAILED
    in_scope = [test for impl, test in states if not is_out_of_scope(impl, test)]
    if states and not in_scope:
        return ControlStatus.OUT_OF_SCOPE
    if in_scope and all(test is TestStatus.PASSED for test in in_scope):
        return ControlStatus.PASSED
    if all(test in NOT_TESTED_STATUSES for test in in_scope):
        return ControlStatus.NONE
    return ControlStatus.IN_PROGRESS


def assessment_status(controls: Iterable[ControlStatus]) -> AssessmentStatus:
    in_scope = [status for status in controls if status is not ControlStatus.OUT_OF_SCOPE]
    if any(status is ControlStatus.FAILED for status in in_scope):
        return AssessmentStatus.INCOMPLETE
    if in_scope and all(status is ControlStatus.PASSED for status in in_scope):
        return AssessmentStatus.COMPLETE
    if all(status is ControlStatus.NONE for status in in_scope):
        return AssessmentStatus.NONE
    return AssessmentStatus.IN_PROGRESS


def progress(controls: Iterable[ControlStatus]) -> float:
    """Share (0-1) of in-scope controls that passed."""
    in_scope = [status for status in controls if status is not ControlStatus.OUT_OF_SCOPE]
    if not in_scope:
        return 0.0
    return sum(status is ControlStatus.PASSED for status in in_scope) / len(in_scope)


def breakdown(rows: Iterable[tuple[Hashable, int, Score]]) -> dict[Hashable, Score]:
    """Score per key, counting each (key, action instance) pair once.

    Rows come from the reachable (assessment, action) pairs, so the same instance shows up
    once per assessment; a breakdown by category, solution, regulation or owner must still
    count it once per key (DOMAIN.md section 7).
    """
    seen: set[tuple[Hashable, int]] = set()
    result: dict[Hashable, Score] = {}
    for key, action_id, score in rows:
        if (key, action_id) in seen:
            continue
        seen.add((key, action_id))
        result[key] = result.get(key, ZERO) + score
    return result
