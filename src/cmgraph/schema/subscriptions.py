"""Types and inputs of the subscription fields (served over WebSocket on /graphql)."""

from __future__ import annotations

import strawberry

from cmgraph.schema.alerts import AlertStatus, Severity
from cmgraph.schema.types import Assessment, Score


@strawberry.input(description="Empty or null lists mean no restriction.")
class ImprovementActionChangeFilter:
    assessment_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only actions used by these assessments."
    )
    action_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Only these actions."
    )


@strawberry.type(description="A score after a change.")
class ScoreChange:
    assessment: Assessment | None = strawberry.field(
        description="The assessment whose score changed; null for the overall score."
    )
    score: Score = strawberry.field(
        description="For an assessment: its score right after the change. Overall: the "
        "current overall score over the active assessments you can read."
    )
    delta: float = strawberry.field(
        description="Earned points gained (negative: lost) since the previous message of this "
        "subscription (overall), or by this change (assessment)."
    )


@strawberry.input(description="Empty or null lists mean no restriction.")
class AlertChangeFilter:
    severities: list[Severity] | None = None
    statuses: list[AlertStatus] | None = strawberry.field(
        default=None, description="The alert's status after the change."
    )
