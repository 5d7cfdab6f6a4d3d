"""The vocabularies of DOMAIN.md, as string enums stored by name."""

from __future__ import annotations

from enum import StrEnum


class OrgRole(StrEnum):
    """Organisation roles; each includes the ones before it."""

    READER = "READER"
    CONTRIBUTOR = "CONTRIBUTOR"
    ASSESSOR = "ASSESSOR"
    ADMINISTRATOR = "ADMINISTRATOR"
    OWNER = "OWNER"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]


_ROLE_RANK = {role: rank for rank, role in enumerate(OrgRole, start=1)}

GRANTABLE_ROLES = (OrgRole.READER, OrgRole.CONTRIBUTOR, OrgRole.ASSESSOR)


class ImplementationType(StrEnum):
    TECHNICAL = "TECHNICAL"
    OPERATIONAL = "OPERATIONAL"
    DOCUMENTATION = "DOCUMENTATION"


class Enforcement(StrEnum):
    MANDATORY = "MANDATORY"
    DISCRETIONARY = "DISCRETIONARY"


class Purpose(StrEnum):
    PREVENTATIVE = "PREVENTATIVE"
    DETECTIVE = "DETECTIVE"
    CORRECTIVE = "CORRECTIVE"


class Owner(StrEnum):
    CUSTOMER = "CUSTOMER"
    PROVIDER = "PROVIDER"


class ImplementationStatus(StrEnum):
    NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
    PLANNED = "PLANNED"
    PARTIALLY_IMPLEMENTED = "PARTIALLY_IMPLEMENTED"
    IMPLEMENTED = "IMPLEMENTED"
    ALTERNATIVE_IMPLEMENTATION = "ALTERNATIVE_IMPLEMENTATION"
    OUT_OF_SCOPE = "OUT_OF_SCOPE"


IMPLEMENTED_STATUSES = frozenset(
    {ImplementationStatus.IMPLEMENTED, ImplementationStatus.ALTERNATIVE_IMPLEMENTATION}
)


class TestStatus(StrEnum):
    __test__ = False  # not a pytest test class

    NONE = "NONE"
    NOT_ASSESSED = "NOT_ASSESSED"
    IN_PROGRESS = "IN_PROGRESS"
    PASSED = "PASSED"
    FAILED_LOW_RISK = "FAILED_LOW_RISK"
    FAILED_MEDIUM_RISK = "FAILED_MEDIUM_RISK"
    FAILED_HIGH_RISK = "FAILED_HIGH_RISK"
    REMEDIATED = "REMEDIATED"
    OUT_OF_SCOPE = "OUT_OF_SCOPE"
    TO_BE_DETECTED = "TO_BE_DETECTED"
    COULD_NOT_BE_DETECTED = "COULD_NOT_BE_DETECTED"
    PARTIALLY_TESTED = "PARTIALLY_TESTED"


FAILED_TEST_STATUSES = frozenset(
    {TestStatus.FAILED_LOW_RISK, TestStatus.FAILED_MEDIUM_RISK, TestStatus.FAILED_HIGH_RISK}
)
UNTESTED_STATUSES = frozenset({TestStatus.NONE, TestStatus.NOT_ASSESSED})
AUTOMATION_ONLY_TEST_STATUSES = frozenset(
    {TestStatus.TO_BE_DETECTED, TestStatus.COULD_NOT_BE_DETECTED, TestStatus.PARTIALLY_TESTED}
)


class TestingSource(StrEnum):
    __test__ = False

    MANUAL = "MANUAL"
    AUTOMATIC = "AUTOMATIC"
    PARENT = "PARENT"


class AutomaticTesting(StrEnum):
    """Organisation setting for actions that have automatic testing available."""

    ON_FOR_ALL = "ON_FOR_ALL"
    OFF_FOR_ALL = "OFF_FOR_ALL"
    PER_ACTION = "PER_ACTION"


class EvidenceKind(StrEnum):
    DOCUMENT = "DOCUMENT"
    LINK = "LINK"


class ChangeSource(StrEnum):
    USER = "USER"
    IMPORT = "IMPORT"
    AUTOMATION = "AUTOMATION"
    PARENT = "PARENT"
    UPDATE = "UPDATE"
    PROVIDER = "PROVIDER"


class Priority(StrEnum):
    """How much an action weighs, from its points (``scoring.priority``)."""

    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class ControlStatus(StrEnum):
    FAILED = "FAILED"
    OUT_OF_SCOPE = "OUT_OF_SCOPE"
    PASSED = "PASSED"
    NONE = "NONE"
    IN_PROGRESS = "IN_PROGRESS"


class ScoreSpan(StrEnum):
    """What a compliance score sum covers: the whole organisation, or one of its parts."""

    ALL = "ALL"
    ASSESSMENT = "ASSESSMENT"
    GROUP = "GROUP"
    REGULATION = "REGULATION"


class AssessmentStatus(StrEnum):
    COMPLETE = "COMPLETE"
    INCOMPLETE = "INCOMPLETE"
    NONE = "NONE"
    IN_PROGRESS = "IN_PROGRESS"


class EventType(StrEnum):
    ASSIGNMENT_CHANGE = "ASSIGNMENT_CHANGE"
    EVIDENCE_CHANGE = "EVIDENCE_CHANGE"
    IMPLEMENTATION_STATUS_CHANGE = "IMPLEMENTATION_STATUS_CHANGE"
    TEST_STATUS_CHANGE = "TEST_STATUS_CHANGE"
    SCORE_CHANGE = "SCORE_CHANGE"
    UPDATE_AVAILABLE = "UPDATE_AVAILABLE"
    # Date-driven, appended by the scheduled checks (DOMAIN.md section 15).
    DUE_SOON = "DUE_SOON"
    OVERDUE = "OVERDUE"
    RETEST_DUE = "RETEST_DUE"
    EVIDENCE_EXPIRING = "EVIDENCE_EXPIRING"


class Severity(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class AlertTrigger(StrEnum):
    EVERY_MATCH = "EVERY_MATCH"
    THRESHOLD = "THRESHOLD"


class AlertStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INVESTIGATING = "INVESTIGATING"
    RESOLVED = "RESOLVED"
    DISMISSED = "DISMISSED"


OPEN_ALERT_STATUSES = frozenset({AlertStatus.ACTIVE, AlertStatus.INVESTIGATING})


class NotificationKind(StrEnum):
    ALERT = "ALERT"
    ASSIGNMENT = "ASSIGNMENT"
    INVITATION = "INVITATION"
    PASSWORD_RESET = "PASSWORD_RESET"
    DIGEST = "DIGEST"


class NotificationStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    DEAD = "DEAD"
