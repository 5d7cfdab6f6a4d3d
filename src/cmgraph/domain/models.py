"""ORM-mapped entities: the persistent shape of DOMAIN.md sections 1-11.

Where an action's state lives (DOMAIN.md section 2) is expressed by
``ImprovementAction.scope_key``: ``"org"`` for technical and provider actions, ``"group:<id>"``
for non-technical ones, unique per definition. Scores are kept denormalised on the instance
(``earned``/``possible``) by the write path, so reads only sum.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cmgraph.domain import clock
from cmgraph.domain.enums import (
    AlertStatus,
    AlertTrigger,
    AutomaticTesting,
    ChangeSource,
    Enforcement,
    EvidenceKind,
    ImplementationStatus,
    ImplementationType,
    NotificationKind,
    NotificationStatus,
    OrgRole,
    Owner,
    Purpose,
    ScoreSpan,
    Severity,
    TestingSource,
    TestStatus,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return clock.now()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        # asyncpg reads a timestamptz as a datetime in UTC already: nothing to do per value
        # (a page of 50 actions has a hundred of them).
        if dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)


def enum_column(enum: type) -> SAEnum:
    return SAEnum(enum, native_enum=False, create_constraint=False, length=32)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Indexes that only migrations make, on PostgreSQL alone: the action search's trigram
# indexes (migration 0008), named ``*_trgm``. Declared nowhere here.
MIGRATION_ONLY_INDEX_SUFFIX = "_trgm"
# SQLite's full-text index of the definitions (``search_index``): its FTS5 table and the
# tables FTS5 keeps beside it.
MIGRATION_ONLY_TABLE_PREFIX = "action_definition_search"


def declared_in_models(
    item: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's ``include_object`` for comparing a database with the models: all but the
    indexes and tables only migrations make."""
    if not reflected:
        return True
    if type_ == "index":
        return not (name or "").endswith(MIGRATION_ONLY_INDEX_SUFFIX)
    if type_ == "table":
        return not (name or "").startswith(MIGRATION_ONLY_TABLE_PREFIX)
    return True


class Organisation(Base):
    """The single organisation this server runs for, and its settings."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    automatic_testing: Mapped[AutomaticTesting] = mapped_column(
        enum_column(AutomaticTesting), default=AutomaticTesting.ON_FOR_ALL
    )
    # DOMAIN.md section 15: an action due within this many days is "due soon".
    due_soon_days: Mapped[int] = mapped_column(Integer, default=7)
    # Whether a passed action due for retest stops earning its points until retested.
    retest_loses_points: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # None: no organisation role; the user sees only what scoped grants cover.
    role: Mapped[OrgRole | None] = mapped_column(enum_column(OrgRole), nullable=True)
    is_automation: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # An Argon2 hash (``domain.sign_in``); None: the person cannot sign in with a password.
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Set by an owner (``domain.people``): no sign-in, session or token of theirs works.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEvent(Base):
    """One change to a person or their access, written in the transaction that made it."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_target_user_id_id", "target_user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    action: Mapped[str] = mapped_column(String(40))
    target_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SignInSession(Base):
    """A browser's sign-in: the cookie's secret is stored only as its SHA-256 digest."""

    __tablename__ = "sign_in_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the absolute end
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")


class PasswordLink(Base):
    """A one-time link to set a password (``domain.password_links``); its token is not kept."""

    __tablename__ = "password_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SignInFailure(Base):
    """One refused password sign-in, counted per account and per client address."""

    __tablename__ = "sign_in_failure"
    __table_args__ = (
        Index("ix_sign_in_failure_email_at", "email", "at"),
        Index("ix_sign_in_failure_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Grant(Base):
    """A scoped role on one assessment or on one regulation (all its assessments)."""

    __tablename__ = "access_grant"
    __table_args__ = (
        CheckConstraint("(assessment_id IS NULL) <> (regulation_id IS NULL)", name="one_scope"),
        UniqueConstraint("user_id", "assessment_id", "regulation_id"),
        # One grant per person and scope: the constraint above never fires, since one of
        # the scope columns is always NULL (and NULLs are distinct).
        Index(
            "uq_access_grant_user_id_assessment_id",
            "user_id",
            "assessment_id",
            unique=True,
            sqlite_where=text("assessment_id IS NOT NULL"),
            postgresql_where=text("assessment_id IS NOT NULL"),
        ),
        Index(
            "uq_access_grant_user_id_regulation_id",
            "user_id",
            "regulation_id",
            unique=True,
            sqlite_where=text("regulation_id IS NOT NULL"),
            postgresql_where=text("regulation_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[OrgRole] = mapped_column(enum_column(OrgRole))
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE"), nullable=True
    )
    regulation_id: Mapped[int | None] = mapped_column(
        ForeignKey("regulation.id", ondelete="CASCADE"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Regulation(Base):
    __tablename__ = "regulation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)


class Template(Base):
    """A regulation's controls mapped to actions for one product; its content is versioned."""

    __tablename__ = "template"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    regulation_id: Mapped[int] = mapped_column(ForeignKey("regulation.id"), index=True)
    product: Mapped[str] = mapped_column(String(200))
    certification: Mapped[str] = mapped_column(String(200), default="")
    # The cloud or product services the template covers, as its source names them.
    services: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TemplateVersion(Base):
    __tablename__ = "template_version"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("template.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TemplateControl(Base):
    __tablename__ = "template_control"
    __table_args__ = (UniqueConstraint("template_version_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_version_id: Mapped[int] = mapped_column(
        ForeignKey("template_version.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(100))
    family: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    sort_order: Mapped[int] = mapped_column(Integer)


class TemplateControlAction(Base):
    __tablename__ = "template_control_action"

    template_control_id: Mapped[int] = mapped_column(
        ForeignKey("template_control.id", ondelete="CASCADE"), primary_key=True
    )
    definition_id: Mapped[int] = mapped_column(
        ForeignKey("action_definition.id"), primary_key=True, index=True
    )


class ActionDefinition(Base):
    """A catalogue entry. Its key is stable across templates, so instances can be shared."""

    __tablename__ = "action_definition"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    implementation_type: Mapped[ImplementationType] = mapped_column(enum_column(ImplementationType))
    owner: Mapped[Owner] = mapped_column(enum_column(Owner), default=Owner.CUSTOMER)
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ActionDefinitionVersion(Base):
    __tablename__ = "action_definition_version"
    __table_args__ = (
        UniqueConstraint("definition_id", "version"),
        CheckConstraint("points BETWEEN 1 AND 99", name="points_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(
        ForeignKey("action_definition.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    guidance: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(200), default="")
    testing_logic: Mapped[str] = mapped_column(Text, default="")
    enforcement: Mapped[Enforcement] = mapped_column(enum_column(Enforcement))
    purpose: Mapped[Purpose] = mapped_column(enum_column(Purpose))
    # Effective points: the template's custom value, else the default table's.
    points: Mapped[int] = mapped_column(Integer)
    custom_points: Mapped[bool] = mapped_column(Boolean, default=False)
    automatic_testing_available: Mapped[bool] = mapped_column(Boolean, default=False)
    # The template's default re-testing cadence for the action, in days (None: none).
    retest_interval_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A provider action's attested result as the template states it (DOMAIN.md section 14):
    # implementation/test status, their dates and notes, keyed by field name; None: none.
    provider_result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def default_retest_interval_days(self) -> int | None:
        """The cadence as a default for actions (their own cadence may differ)."""
        return self.retest_interval_days


class Group(Base):
    __tablename__ = "assessment_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Assessment(Base):
    __tablename__ = "assessment"
    __table_args__ = (UniqueConstraint("group_id", "template_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("template.id"), index=True)
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_version.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("assessment_group.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Changes to the assessment itself (name, archive, accepted update); its actions carry
    # their own ``updated_at``.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The score, kept current by the write path (deltas, never a rescan); once archived it
    # stops changing, which is the frozen score DOMAIN.md asks for.
    earned: Mapped[float] = mapped_column(Float, default=0.0)
    possible: Mapped[int] = mapped_column(Integer, default=0)
    # Its controls by status (``scoring.Tally``), kept like the score (``status_upkeep``):
    # status and progress are read from these. Unlike the score, they follow shared actions
    # after archiving, as a control's status does.
    controls_total: Mapped[int] = mapped_column(Integer, default=0)
    controls_failed: Mapped[int] = mapped_column(Integer, default=0)
    controls_out_of_scope: Mapped[int] = mapped_column(Integer, default=0)
    controls_passed: Mapped[int] = mapped_column(Integer, default=0)
    controls_untested: Mapped[int] = mapped_column(Integer, default=0)


class Control(Base):
    __tablename__ = "control"
    __table_args__ = (UniqueConstraint("assessment_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    family: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    sort_order: Mapped[int] = mapped_column(Integer)
    # Its actions by standing (``scoring.Tally``), kept by ``status_upkeep``.
    actions_total: Mapped[int] = mapped_column(Integer, default=0)
    actions_failed: Mapped[int] = mapped_column(Integer, default=0)
    actions_out_of_scope: Mapped[int] = mapped_column(Integer, default=0)
    actions_passed: Mapped[int] = mapped_column(Integer, default=0)
    actions_untested: Mapped[int] = mapped_column(Integer, default=0)


class ControlAction(Base):
    __tablename__ = "control_action"

    control_id: Mapped[int] = mapped_column(
        ForeignKey("control.id", ondelete="CASCADE"), primary_key=True
    )
    action_id: Mapped[int] = mapped_column(
        ForeignKey("improvement_action.id", ondelete="CASCADE"), primary_key=True, index=True
    )


# Columns of ``improvement_action`` the action lists filter by most (see its indexes).
FILTERED_ACTION_COLUMNS = ("definition_version_id", "implementation_status", "test_status")
# Columns of ``improvement_action`` the action lists sort by (see its indexes).
ORDERED_ACTION_COLUMNS = (
    "sort_key",
    "sort_title",
    "sort_category",
    "points",
    "implementation_status",
    "test_status",
    "updated_at",
)


class ImprovementAction(Base):
    """The organisation's working copy of a definition (DOMAIN.md section 2 and 4)."""

    __tablename__ = "improvement_action"
    __table_args__ = (
        UniqueConstraint("definition_id", "scope_key"),
        Index("ix_improvement_action_assignee_id", "assignee_id"),
        Index("ix_improvement_action_group_id", "group_id"),
        Index("ix_improvement_action_parent_id", "parent_id"),
        Index("ix_improvement_action_due_date", "due_date"),
        Index("ix_improvement_action_retest_due_on", "retest_due_on"),
        # The matches of a search (by accepted version) or a status filter, in the lists'
        # default order, without a look-up of each row.
        *(
            Index(f"ix_improvement_action_{name}_sort_key", name, "sort_key", "id")
            for name in FILTERED_ACTION_COLUMNS
        ),
        # One per sort of the action lists (``action_filter.ACTION_ORDER``), with the id that
        # ends each order: any page, however deep, is read from the index in order.
        *(
            Index(f"ix_improvement_action_order_{name}", name, "id")
            for name in ORDERED_ACTION_COLUMNS
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("action_definition.id"))
    definition_version_id: Mapped[int] = mapped_column(ForeignKey("action_definition_version.id"))
    # The definition's key and the accepted version's title and category, copied so that
    # lists sort by them on this table's own indexes (``accept_version`` keeps them).
    sort_key: Mapped[str] = mapped_column(String(200), default="")
    sort_title: Mapped[str] = mapped_column(String(500), default="")
    sort_category: Mapped[str] = mapped_column(String(200), default="")
    scope_key: Mapped[str] = mapped_column(String(40))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessment_group.id", ondelete="CASCADE"), nullable=True
    )
    implementation_status: Mapped[ImplementationStatus] = mapped_column(
        enum_column(ImplementationStatus), default=ImplementationStatus.NOT_IMPLEMENTED
    )
    implementation_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    implementation_notes: Mapped[str] = mapped_column(Text, default="")
    test_status: Mapped[TestStatus] = mapped_column(
        enum_column(TestStatus), default=TestStatus.NONE
    )
    test_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    testing_notes: Mapped[str] = mapped_column(Text, default="")
    additional_notes: Mapped[str] = mapped_column(Text, default="")
    testing_source: Mapped[TestingSource] = mapped_column(
        enum_column(TestingSource), default=TestingSource.MANUAL
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("improvement_action.id", ondelete="SET NULL"), nullable=True
    )
    automation_fraction: Mapped[float | None] = mapped_column(Float, nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    assignment_notes: Mapped[str] = mapped_column(Text, default="")
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Re-testing cadence in days; None follows the definition's default.
    retest_interval_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The day a passed test turns as old as the cadence (``domain.calendar``), kept by the
    # write path so "retest due" is a plain date comparison on every backend.
    retest_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Set while the action is due for retest and the organisation takes its points away.
    retest_lapsed: Mapped[bool] = mapped_column(Boolean, default=False)
    points: Mapped[int] = mapped_column(Integer)
    earned: Mapped[float] = mapped_column(Float, default=0.0)
    possible: Mapped[int] = mapped_column(Integer, default=0)
    # Optimistic concurrency: every edit carries the version the client last saw.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def accept_version(self, version: ActionDefinitionVersion) -> None:
        """Take ``version`` of the definition as this instance's, with its sort keys."""
        self.definition_version_id = version.id
        self.sort_title, self.sort_category = version.title, version.category


class ScoreReach(Base):
    """How many active assessments of a span (the organisation, an assessment, a group, a
    regulation) hold an instance: it counts in that span's score while this is above zero
    (``score_cells``). Span ``ALL`` has id 0."""

    __tablename__ = "score_reach"

    action_id: Mapped[int] = mapped_column(
        ForeignKey("improvement_action.id", ondelete="CASCADE"), primary_key=True
    )
    span: Mapped[ScoreSpan] = mapped_column(enum_column(ScoreSpan), primary_key=True)
    span_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessments: Mapped[int] = mapped_column(Integer, default=0)


class ScoreTotal(Base):
    """A span's sums over all its distinct instances: its ``ScoreCell`` rows added up, kept
    with them (``score_cells``), so an unfiltered total is one row."""

    __tablename__ = "score_total"

    span: Mapped[ScoreSpan] = mapped_column(enum_column(ScoreSpan), primary_key=True)
    span_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actions: Mapped[int] = mapped_column(Integer, default=0)
    scored: Mapped[int] = mapped_column(Integer, default=0)
    earned: Mapped[float] = mapped_column(Float, default=0.0)
    possible: Mapped[int] = mapped_column(Integer, default=0)


class ScoreCell(Base):
    """The compliance score's sums over the distinct instances of one span that share a
    category, solution, owner, type and statuses (``score_cells``)."""

    __tablename__ = "score_cell"

    span: Mapped[ScoreSpan] = mapped_column(enum_column(ScoreSpan), primary_key=True)
    span_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(200), primary_key=True)
    solution: Mapped[str] = mapped_column(String(200), primary_key=True)
    owner: Mapped[Owner] = mapped_column(enum_column(Owner), primary_key=True)
    implementation_type: Mapped[ImplementationType] = mapped_column(
        enum_column(ImplementationType), primary_key=True
    )
    implementation_status: Mapped[ImplementationStatus] = mapped_column(
        enum_column(ImplementationStatus), primary_key=True
    )
    test_status: Mapped[TestStatus] = mapped_column(enum_column(TestStatus), primary_key=True)
    actions: Mapped[int] = mapped_column(Integer, default=0)
    scored: Mapped[int] = mapped_column(Integer, default=0)  # with points possible
    earned: Mapped[float] = mapped_column(Float, default=0.0)
    possible: Mapped[int] = mapped_column(Integer, default=0)


class Evidence(Base):
    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("improvement_action.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[EvidenceKind] = mapped_column(enum_column(EvidenceKind))
    name: Mapped[str] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(200), nullable=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # After this day the evidence is expired and flagged (DOMAIN.md section 15).
    review_by: Mapped[date | None] = mapped_column(Date, nullable=True)


class HistoryEntry(Base):
    """One field change of one action: who, when, old, new and where it came from."""

    __tablename__ = "action_history"
    __table_args__ = (Index("ix_action_history_action_id_id", "action_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("improvement_action.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(60))
    old_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[ChangeSource] = mapped_column(enum_column(ChangeSource))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """A domain event, appended in the writing transaction and consumed after commit.

    No foreign keys: an event outlives the rows it speaks of.
    """

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_processed_at_id", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    action_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    assessment_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Lease of the evaluator working on it; a crashed worker's lease simply runs out.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AlertPolicy(Base):
    """What to watch for and whom to tell (DOMAIN.md section 12).

    ``conditions`` is a list of ``{"type": EventType, ...narrowing}``; ``scope`` holds id and
    name lists (empty: everything). ``recipient_roles`` lets the default policy follow whoever
    holds a role now, rather than a list frozen at migration time.
    """

    __tablename__ = "alert_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    severity: Mapped[Severity] = mapped_column(enum_column(Severity), default=Severity.MEDIUM)
    trigger: Mapped[AlertTrigger] = mapped_column(
        enum_column(AlertTrigger), default=AlertTrigger.EVERY_MATCH
    )
    threshold_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    threshold_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    aggregation_seconds: Mapped[int] = mapped_column(Integer, default=60)
    recipient_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    recipient_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # A policy the server ships with, by its fixed key (the failed-test notice to assignees);
    # like the default policy it cannot be deleted, only turned off.
    builtin: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    # One mail per recipient per day listing the day's alerts, instead of one per alert.
    daily_digest: Mapped[bool] = mapped_column(Boolean, default=False)
    # Also email the assignee of each affected action (DOMAIN.md section 11: an assignee
    # is told when their action fails testing).
    notify_assignee: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Alert(Base):
    """Matches of one policy, joined while its aggregation window is open."""

    __tablename__ = "alert"
    __table_args__ = (Index("ix_alert_policy_id_status", "policy_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_policy.id", ondelete="SET NULL"), nullable=True
    )
    # Kept so the alert still says what raised it after the policy is deleted.
    policy_snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    severity: Mapped[Severity] = mapped_column(enum_column(Severity))
    status: Mapped[AlertStatus] = mapped_column(
        enum_column(AlertStatus), default=AlertStatus.ACTIVE
    )
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    window_ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertMatch(Base):
    """One event matched by one policy; the unique key makes re-processing harmless.

    Deleting a policy keeps its matches (``policy_id`` becomes null), so its alerts keep
    their events log.
    """

    __tablename__ = "alert_match"
    __table_args__ = (
        UniqueConstraint("policy_id", "event_id"),
        Index("ix_alert_match_policy_id_matched_at", "policy_id", "matched_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_policy.id", ondelete="SET NULL"), nullable=True
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert.id", ondelete="CASCADE"), nullable=True, index=True
    )
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    """One email to one recipient: the outbox the sender works through, surviving restarts."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("kind", "subject_id", "recipient_id"),
        Index("ix_notification_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind))
    # The alert id for ALERT, the event id for ASSIGNMENT, the day (date.toordinal) for DIGEST.
    subject_id: Mapped[int] = mapped_column(Integer)
    recipient_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    recipient_email: Mapped[str] = mapped_column(String(320))
    status: Mapped[NotificationStatus] = mapped_column(
        enum_column(NotificationStatus), default=NotificationStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DigestEntry(Base):
    """One alert in one recipient's daily digest (a DIGEST notification): who is told what
    is fixed when the alert opens or is joined, as for an alert's own mail."""

    __tablename__ = "digest_entry"

    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notification.id", ondelete="CASCADE"), primary_key=True
    )
    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alert.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class PersistedQuery(Base):
    """A GraphQL document registered by a client (automatic persisted queries), by its hash.

    A SHA-256 names one document for ever: rows are only added, never changed, so every
    server process may cache what it has read (``domain.persisted_documents``).
    """

    __tablename__ = "persisted_query"

    sha256_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduledCheck(Base):
    """One date-driven finding (due soon, overdue, retest due, evidence expiring) per item
    and day: the unique key makes the scheduler's run exactly-once across workers and
    restarts, as the event claim does for the event pipeline."""

    __tablename__ = "scheduled_check"
    __table_args__ = (UniqueConstraint("kind", "subject_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    # The improvement action's id, or the evidence's id for EVIDENCE_EXPIRING.
    subject_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    event_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
