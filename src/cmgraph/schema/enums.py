"""The domain's enums, registered as GraphQL enums (values keep their SCREAMING_SNAKE_CASE).

``strawberry.enum`` registers the class it is given and returns that same class, so each name
here is the domain class itself (an alias mypy accepts as a type), registered by a plain call.
"""

from __future__ import annotations

from enum import Enum

import strawberry

from cmgraph.domain import calendar
from cmgraph.domain import enums as domain

OrgRole = domain.OrgRole
ImplementationType = domain.ImplementationType
Enforcement = domain.Enforcement
Purpose = domain.Purpose
ActionOwner = domain.Owner
ImplementationStatus = domain.ImplementationStatus
TestStatus = domain.TestStatus
TestingSource = domain.TestingSource
EvidenceKind = domain.EvidenceKind
ChangeSource = domain.ChangeSource
ControlStatus = domain.ControlStatus
AssessmentStatus = domain.AssessmentStatus
AutomaticTesting = domain.AutomaticTesting
Priority = domain.Priority
DueState = calendar.DueState

strawberry.enum(OrgRole, description="Organisation role; each includes the ones before.")
strawberry.enum(ImplementationType)
strawberry.enum(Priority, description="From points: HIGH from 20, MEDIUM from 5, LOW below.")
strawberry.enum(Enforcement)
strawberry.enum(Purpose)
strawberry.enum(ActionOwner, name="ActionOwner")
strawberry.enum(ImplementationStatus)
strawberry.enum(TestStatus)
strawberry.enum(TestingSource)
strawberry.enum(EvidenceKind)
strawberry.enum(ChangeSource)
strawberry.enum(ControlStatus)
strawberry.enum(AssessmentStatus)
strawberry.enum(AutomaticTesting)
strawberry.enum(
    DueState,
    description="An action against its due date: NONE (no due date, or implemented or out of "
    "scope), ON_TRACK, DUE_SOON (within the organisation's dueSoonDays), OVERDUE.",
)


@strawberry.enum
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"
