"""Filter and order inputs of the list fields."""

from __future__ import annotations

from datetime import date
from enum import Enum

import strawberry

from cmgraph.schema.enums import (
    ActionOwner,
    ControlStatus,
    DueState,
    ImplementationStatus,
    ImplementationType,
    OrderDirection,
    OrgRole,
    TestStatus,
)


@strawberry.input
class AssessmentFilter:
    group_ids: list[strawberry.ID] | None = None
    regulation_ids: list[strawberry.ID] | None = None
    template_ids: list[strawberry.ID] | None = None
    archived: bool | None = strawberry.field(
        default=False,
        description="false (the default): active ones only; true: only archived; null: both.",
    )
    search: str | None = strawberry.field(default=None, description="Part of the name.")


@strawberry.enum
class AssessmentOrderField(Enum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"


@strawberry.input
class AssessmentOrder:
    field: AssessmentOrderField = AssessmentOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class ImprovementActionFilter:
    assessment_ids: list[strawberry.ID] | None = None
    group_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Actions used by assessments of these groups."
    )
    regulation_ids: list[strawberry.ID] | None = None
    solutions: list[str] | None = None
    categories: list[str] | None = None
    implementation_types: list[ImplementationType] | None = None
    implementation_statuses: list[ImplementationStatus] | None = None
    test_statuses: list[TestStatus] | None = None
    exclude_test_statuses: list[TestStatus] | None = strawberry.field(
        default=None,
        description="Leaves out actions with these test statuses (e.g. [PASSED], as the "
        "improvement actions page does by default).",
    )
    owner: ActionOwner | None = None
    assignee_ids: list[strawberry.ID] | None = None
    unassigned: bool | None = strawberry.field(
        default=None, description="true: only actions nobody is assigned to."
    )
    pending_update: bool | None = None
    search: str | None = strawberry.field(
        default=None, description="Part of the title, key or guidance, any case."
    )
    due_states: list[DueState] | None = strawberry.field(
        default=None, description="Actions in any of these states against their due date."
    )
    due_before: date | None = strawberry.field(
        default=None,
        description="Open actions (not implemented nor out of scope) due before this day.",
    )
    retest_due: bool | None = strawberry.field(
        default=None, description="true: passed actions due for retest; false: all others."
    )


@strawberry.enum
class ImprovementActionOrderField(Enum):
    KEY = "KEY"
    TITLE = "TITLE"
    CATEGORY = "CATEGORY"
    POINTS = "POINTS"
    IMPLEMENTATION_STATUS = "IMPLEMENTATION_STATUS"
    TEST_STATUS = "TEST_STATUS"
    UPDATED_AT = "UPDATED_AT"


@strawberry.input
class ImprovementActionOrder:
    field: ImprovementActionOrderField = ImprovementActionOrderField.KEY
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input(
    description="Each list matches any of its values; the fields given must all match."
)
class ControlFilter:
    assessment_ids: list[strawberry.ID] | None = None
    families: list[str] | None = strawberry.field(
        default=None, description="Family (article) names, exactly."
    )
    keys: list[str] | None = strawberry.field(
        default=None, description='Control keys (names), exactly, e.g. ["AC-2", "AC-3"].'
    )
    statuses: list[ControlStatus] | None = strawberry.field(
        default=None, description="The control's derived status."
    )
    test_statuses: list[TestStatus] | None = strawberry.field(
        default=None, description="Controls with any action of one of these test results."
    )
    assignee_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Controls with any action assigned to one of these people."
    )
    search: str | None = strawberry.field(default=None, description="Part of the key or title.")


@strawberry.enum
class ControlOrderField(Enum):
    POSITION = "POSITION"
    KEY = "KEY"
    TITLE = "TITLE"


@strawberry.input
class ControlOrder:
    field: ControlOrderField = ControlOrderField.POSITION
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class GroupFilter:
    search: str | None = None


@strawberry.enum
class GroupOrderField(Enum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"


@strawberry.input
class GroupOrder:
    field: GroupOrderField = GroupOrderField.NAME
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class TemplateFilter:
    regulation_ids: list[strawberry.ID] | None = None
    search: str | None = None


@strawberry.enum
class TemplateOrderField(Enum):
    TITLE = "TITLE"
    CREATED_AT = "CREATED_AT"


@strawberry.input
class TemplateOrder:
    field: TemplateOrderField = TemplateOrderField.TITLE
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class UserFilter:
    roles: list[OrgRole] | None = None
    search: str | None = strawberry.field(default=None, description="Part of the name or email.")


@strawberry.enum
class UserOrderField(Enum):
    EMAIL = "EMAIL"
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"


@strawberry.input
class UserOrder:
    field: UserOrderField = UserOrderField.EMAIL
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input(description="Narrows both what is earned and what is possible.")
class ScoreFilter:
    assessment_ids: list[strawberry.ID] | None = None
    group_ids: list[strawberry.ID] | None = None
    regulation_ids: list[strawberry.ID] | None = None
    categories: list[str] | None = None
    solutions: list[str] | None = None
    owner: ActionOwner | None = None
    implementation_types: list[ImplementationType] | None = strawberry.field(
        default=None, description="Action types (implementation types)."
    )
