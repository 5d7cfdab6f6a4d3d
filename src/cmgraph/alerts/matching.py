"""Does a policy match an event? Pure functions over the stored policy and event shapes.

The evaluator gathers, per batch, what the rules need beyond the event itself (where each
assessment sits, the category of each action) into ``EventFacts``; nothing here reads the
database, so the rules are tested directly.

- A policy matches when any of its conditions matches and the event is in its scope.
- ``SCORE_CHANGE`` narrows on the earned-points delta of the action (``payload["delta"]``):
  ``UP`` needs it above zero, ``DOWN`` below zero, and ``minPoints`` a size of at least that.
  A change of possible points alone (delta 0) therefore matches ``ANY`` only.
- Status changes narrow on the status reached (``payload["to"]``).
- Scope (see ``cmgraph.domain.alert_policies``): every non-empty location list must hold for
  one and the same assessment among the event's existing ones; categories need the event's
  action and its category. Events about assessments deleted since, or without an action,
  match a scope only where the scope does not ask about them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cmgraph.domain.alert_policies import ScoreDirection
from cmgraph.domain.enums import EventType


@dataclass(frozen=True)
class Place:
    """Where an assessment sits: its group and its template's regulation."""

    group_id: int
    regulation_id: int


@dataclass(frozen=True)
class EventFacts:
    type: str
    payload: Mapping[str, Any]
    # The event's assessments that still exist, by id.
    places: Mapping[int, Place] = field(default_factory=dict)
    # The category of the event's action (its accepted definition version), if any.
    category: str | None = None


def points_delta(payload: Mapping[str, Any]) -> float:
    try:
        return float(payload.get("delta") or 0)
    except (TypeError, ValueError):
        return 0.0


def condition_matches(condition: Mapping[str, Any], event_type: str, payload: Mapping) -> bool:
    if condition.get("type") != event_type:
        return False
    if event_type == EventType.SCORE_CHANGE:
        delta = points_delta(payload)
        direction = ScoreDirection(condition.get("direction") or ScoreDirection.ANY)
        if direction is ScoreDirection.UP and delta <= 0:
            return False
        if direction is ScoreDirection.DOWN and delta >= 0:
            return False
        minimum = condition.get("minPoints")
        return minimum is None or abs(delta) >= float(minimum)
    statuses: Sequence[str] | None = condition.get("toStatuses")
    if statuses is not None:
        return payload.get("to") in statuses
    return True


def scope_matches(scope: Mapping[str, Any], facts: EventFacts) -> bool:
    assessments = set(scope.get("assessmentIds") or ())
    groups = set(scope.get("groupIds") or ())
    regulations = set(scope.get("regulationIds") or ())
    categories = set(scope.get("categories") or ())
    if categories and facts.category not in categories:
        return False
    if not (assessments or groups or regulations):
        return True
    return any(
        (not assessments or assessment_id in assessments)
        and (not groups or place.group_id in groups)
        and (not regulations or place.regulation_id in regulations)
        for assessment_id, place in facts.places.items()
    )


def policy_matches(
    conditions: Sequence[Mapping[str, Any]], scope: Mapping[str, Any], facts: EventFacts
) -> bool:
    return any(condition_matches(c, facts.type, facts.payload) for c in conditions) and (
        scope_matches(scope or {}, facts)
    )


def needs_places(scope: Mapping[str, Any]) -> bool:
    return bool(scope.get("assessmentIds") or scope.get("groupIds") or scope.get("regulationIds"))


def needs_category(scope: Mapping[str, Any]) -> bool:
    return bool(scope.get("categories"))
