"""The root ``Subscription`` type, its inputs and types (served over WebSocket on /graphql).

The value of a hub message is built once and kept in the message's ``memo``: every
subscriber of the message shares it; nested fields are still resolved per subscriber.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from typing import TypeVar

import strawberry

from cmgraph.domain.action_records import ActionRecord
from cmgraph.resolvers import subscriptions as resolvers
from cmgraph.resolvers.hub import ActionChanged, AlertChanged, ScoreChanged
from cmgraph.schema.alerts import Alert, AlertStatus, Severity
from cmgraph.schema.types import Assessment, ImprovementAction, Score

T = TypeVar("T")
MessageT = TypeVar("MessageT", ActionChanged, ScoreChanged, AlertChanged)


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


def _memo(message: MessageT, build: Callable[[MessageT], T]) -> T:
    """The message's value, built by its first subscriber."""
    value = message.memo.get("value")
    if value is None:
        value = message.memo["value"] = build(message)
    return value


def _action(message: ActionChanged) -> ImprovementAction:
    return ImprovementAction.from_record(ActionRecord(*message.row))


def _alert(message: AlertChanged) -> Alert:
    return Alert.from_row(message.alert)


def _score_change(message: ScoreChanged) -> ScoreChange:
    row = message.assessment
    return ScoreChange(
        assessment=Assessment.from_row(row) if row is not None else None,
        score=Score.of(message.score),
        delta=message.delta,
    )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="An improvement action after committed changes to it (status, "
        "testing, assignment, evidence, score, pending update), as you may read it now. "
        "Each message is the state right after the commits it reports, in commit order: "
        "changes committed together, or so quickly that the server reads them together, "
        "arrive as one message with the latest state, so a `version` may be skipped. A "
        "subscription never receives the same state twice nor a lower `version` after a "
        "higher one; a message may repeat `version` when only evidence or `pendingUpdate` "
        "changed, which do not change it."
    )
    async def improvement_action_changed(
        self, info: strawberry.Info, filter: ImprovementActionChangeFilter | None = None
    ) -> AsyncGenerator[ImprovementAction, None]:
        messages = resolvers.action_changes(info, filter or ImprovementActionChangeFilter())
        stream: AsyncIterator[ActionChanged]
        async with aclosing(messages) as stream:
            async for message in stream:
                yield _memo(message, _action)

    @strawberry.subscription(
        description="Score changes of one assessment, or with no assessmentId of the overall "
        "score over the active assessments you can read."
    )
    async def score_changed(
        self, info: strawberry.Info, assessment_id: strawberry.ID | None = None
    ) -> AsyncGenerator[ScoreChange, None]:
        stream: AsyncIterator[ScoreChanged]
        async with aclosing(resolvers.score_changes(info, assessment_id)) as stream:
            async for message in stream:
                yield _memo(message, _score_change)

    @strawberry.subscription(
        description="An alert when it opens, when further events join it, and when its status "
        "or assignee changes. Alerts are shown to users who may read at least one of their "
        "events' assessments, with only those events."
    )
    async def alert_changed(
        self, info: strawberry.Info, filter: AlertChangeFilter | None = None
    ) -> AsyncGenerator[Alert, None]:
        stream: AsyncIterator[AlertChanged]
        async with aclosing(resolvers.alert_changes(info, filter or AlertChangeFilter())) as stream:
            async for message in stream:
                yield _memo(message, _alert)
