"""The domain's enums, registered as GraphQL enums (values keep their SCREAMING_SNAKE_CASE)."""

from __future__ import annotations

from enum import Enum

import strawberry

from cmgraph.domain import enums as domain

OrgRole = strawberry.enum(
    domain.OrgRole, description="Organisation role; each includes the ones before."
)
ImplementationType = strawberry.enum(domain.ImplementationType)
Enforcement = strawberry.enum(domain.Enforcement)
Purpose = strawberry.enum(domain.Purpose)
ActionOwner = strawberry.enum(domain.Owner, name="ActionOwner")
ImplementationStatus = strawberry.enum(domain.ImplementationStatus)
TestStatus = strawberry.enum(domain.TestStatus)
TestingSource = strawberry.enum(domain.TestingSource)
EvidenceKind = strawberry.enum(domain.EvidenceKind)
ChangeSource = strawberry.enum(domain.ChangeSource)
ControlStatus = strawberry.enum(domain.ControlStatus)
AssessmentStatus = strawberry.enum(domain.AssessmentStatus)
AutomaticTesting = strawberry.enum(domain.AutomaticTesting)


@strawberry.enum
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"
