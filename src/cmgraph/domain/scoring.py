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


@dataclass(frozen=True, slots=True)
class Tally:
    """Things by standing: a control's actions, or an assessment's controls.

    Stored on each control and assessment and moved by deltas as actions change
    (``status_upkeep``), so a status is read from one row; the rules below read only these
    counts. ``total`` counts everything, the others one standing each (none of them for work
    under way).
    """

    total: int = 0
    failed: int = 0
    out_of_scope: int = 0
    passed: int = 0
    untested: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(a + b for a, b in zip(self.counts, other.counts, strict=True)))

    def __sub__(self, other: Tally) -> Tally:
        return Tally(*(a - b for a, b in zip(self.counts, other.counts, strict=True)))

    @property
    def counts(self) -> tuple[int, int, int, int, int]:
        return (self.total, self.failed, self.out_of_scope, self.passed, self.untested)

    @property
    def in_scope(self) -> int:
        return self.total - self.out_of_scope


NO_TALLY = Tally()


def action_tally(implementation: ImplementationStatus, test: TestStatus) -> Tally:
    """One action as a control counts it: failed first, then out of scope, passed, untested."""
    if test in FAILED_TEST_STATUSES:
        return Tally(total=1, failed=1)
    if is_out_of_scope(implementation, test):
        return Tally(total=1, out_of_scope=1)
    if test is TestStatus.PASSED:
        return Tally(total=1, passed=1)
    return Tally(total=1, untested=int(test in NOT_TESTED_STATUSES))


def control_tally(status: ControlStatus) -> Tally:
    """One control as its assessment counts it."""
    return Tally(
        total=1,
        failed=int(status is ControlStatus.FAILED),
        out_of_scope=int(status is ControlStatus.OUT_OF_SCOPE),
        passed=int(status is ControlStatus.PASSED),
        untested=int(status is ControlStatus.NONE),
    )


def control_status_of(actions: Tally) -> ControlStatus:
    """FAILED, then OUT_OF_SCOPE, PASSED, NONE, IN_PROGRESS, in that order of precedence."""
    if actions.failed:
        return ControlStatus.FAILED
    if actions.total and not actions.in_scope:
        return ControlStatus.OUT_OF_SCOPE
    if actions.in_scope and actions.passed == actions.in_scope:
        return ControlStatus.PASSED
    if actions.untested == actions.in_scope:
        return ControlStatus.NONE
    return ControlStatus.IN_PROGRESS


def assessment_status_of(controls: Tally) -> AssessmentStatus:
    if controls.failed:
        return AssessmentStatus.INCOMPLETE
    if controls.in_scope and controls.passed == controls.in_scope:
        return AssessmentStatus.COMPLETE
    if controls.untested == controls.in_scope:
        return AssessmentStatus.NONE
    return AssessmentStatus.IN_PROGRESS


def progress_of(controls: Tally) -> float:
    """Share (0-1) of in-scope controls that passed."""
    return controls.passed / controls.in_scope if controls.in_scope else 0.0


def tally(items: Iterable[Tally]) -> Tally:
    result = NO_TALLY
    for item in items:
        result = result + item
    return result


def tally_controls(
    links: Iterable[tuple[int, ImplementationStatus | None, TestStatus | None]],
) -> dict[int, Tally]:
    """Each control's actions from (control id, action state) rows; a control without actions
    comes as one row with no state."""
    controls: dict[int, Tally] = {}
    for control_id, implementation, test in links:
        counted = controls.get(control_id, NO_TALLY)
        if implementation is not None and test is not None:
            counted += action_tally(implementation, test)
        controls[control_id] = counted
    return controls


def control_status(actions: Iterable[tuple[ImplementationStatus, TestStatus]]) -> ControlStatus:
    return control_status_of(tally(action_tally(impl, test) for impl, test in actions))


def assessment_status(controls: Iterable[ControlStatus]) -> AssessmentStatus:
    return assessment_status_of(tally(control_tally(status) for status in controls))


def progress(controls: Iterable[ControlStatus]) -> float:
    return progress_of(tally(control_tally(status) for status in controls))


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
