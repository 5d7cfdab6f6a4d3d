"""GraphQL object types. Nested fields read through the request's DataLoaders."""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import strawberry
from strawberry import relay
from strawberry.utils.str_converters import to_camel_case

from cmgraph import global_ids
from cmgraph.adapters.storage import download_url as signed_download_url
from cmgraph.domain import calendar, clock, models, scoring
from cmgraph.domain.enums import ControlStatus as ControlStatusValue
from cmgraph.domain.permissions import may_look_up_user
from cmgraph.domain.status_upkeep import stored_tally
from cmgraph.domain.updates import definition_changes
from cmgraph.domain.versions import update_pending
from cmgraph.resolvers import people as people_reads
from cmgraph.resolvers.loaders import ASSIGNEE_PREFIX
from cmgraph.resolvers.selection import Selection, selected
from cmgraph.schema.enums import (
    ActionOwner,
    AssessmentStatus,
    AutomaticTesting,
    ChangeSource,
    ControlStatus,
    DueState,
    Enforcement,
    EvidenceKind,
    ImplementationStatus,
    ImplementationType,
    OrgRole,
    Priority,
    Purpose,
    TestingSource,
    TestStatus,
)
from cmgraph.schema.execution import NOT_LOADED, PREFETCHED
from cmgraph.schema.exports import ExportLink, link_for
from cmgraph.schema.update_changes import FieldChange, TemplateUpdateChanges

if TYPE_CHECKING:
    from strawberry.types.base import StrawberryObjectDefinition


MAX_HISTORY = 100

T = TypeVar("T")


def loaders(info: strawberry.Info) -> Any:
    return info.context.loaders


def present(items: Iterable[Any | None]) -> list[Any]:
    return [item for item in items if item is not None]


def row_ids(node_ids: Iterable[str]) -> list[int | None]:
    """The row ids behind ``resolve_nodes``' node ids; None for any that is not canonical."""
    return [global_ids.parse_row_id(i) for i in node_ids]


async def resolve_rows(loader: Any, ids: Sequence[int | None], convert: Any) -> list[Any]:
    """The objects behind row ids, in order; None for absent ones and None ids."""
    rows = await loader.load_many([i for i in ids if i is not None])
    found = {i: row for i, row in zip([i for i in ids if i is not None], rows, strict=True)}
    return [convert(found[i]) if i is not None and found.get(i) is not None else None for i in ids]


@strawberry.type
class StoredIdNode(relay.Node):
    """A relay ``Node`` whose global id is computed once, when the object is made.

    ``relay.Node`` resolves ``id`` per object through a resolver (type name, id, a
    ``GlobalID``, then its serialisation), which shows when a report lists thousands of
    objects. Here ``id`` is a plain field holding the same base64 ``"TypeName:id"`` string,
    so ids stay as they were; ``id`` in Python remains the database id (``NodeID``).
    """

    _id: strawberry.ID = strawberry.field(
        name="id", description="The Globally Unique ID of this object", default=""
    )

    if TYPE_CHECKING:
        # For mypy only: set by ``@strawberry.type``, and declared by each subclass.
        __strawberry_definition__: ClassVar[StrawberryObjectDefinition]
        id: int

    def __post_init__(self) -> None:
        name = self.__strawberry_definition__.name
        self._id = strawberry.ID(global_ids.encode(name, self.id))


@strawberry.type(description="Points earned out of points possible.")
class Score:
    earned: float
    possible: int
    percent: float = strawberry.field(description="earned / possible, as 0-100 with two decimals.")

    @classmethod
    def of(cls, score: scoring.Score) -> Score:
        return cls(earned=score.earned, possible=score.possible, percent=score.percent)

    @staticmethod
    @functools.lru_cache(maxsize=4096)
    def of_action(earned: float, possible: int) -> Score:
        """An action's score, one object per pair (never changed once made): a list of
        actions holds few distinct pairs, and building each costs more than finding it."""
        return Score.of(scoring.Score(earned, possible))


@strawberry.type(description="An assessment's actions: completed (passed) of all in scope.")
class ActionCounts:
    completed: int = strawberry.field(description="Distinct in-scope actions whose test passed.")
    total: int = strawberry.field(description="Distinct actions, out-of-scope ones left out.")

    @classmethod
    def of(cls, counts: Any) -> ActionCounts:
        return cls(completed=counts.completed, total=counts.total)


@strawberry.type
class Regulation(StoredIdNode):
    id: relay.NodeID[int]
    name: str

    @classmethod
    def from_row(cls, row: models.Regulation) -> Regulation:
        return cls(id=row.id, name=row.name)

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await resolve_rows(loaders(info).regulation, row_ids(node_ids), cls.from_row)


@strawberry.type(description="Someone work can be assigned to: just enough to choose them.")
class Person:
    id: strawberry.ID = strawberry.field(description="The person's `User` id.")
    name: str
    email: str

    @classmethod
    def from_row(cls, row: Any) -> Person:
        return cls(
            id=strawberry.ID(global_ids.encode("User", row.id)), name=row.name, email=row.email
        )


@strawberry.type(description="A person or service account that can sign in with API tokens.")
class User(StoredIdNode):
    id: relay.NodeID[int]
    email: str
    name: str
    role: OrgRole | None = strawberry.field(
        description="Organisation role; null for users with scoped grants only."
    )
    is_automation: bool
    created_at: datetime
    disabled_at: datetime | None = strawberry.field(
        description="When an owner disabled the account (no sign-in, session or token of "
        "theirs works); null while it is active."
    )

    @classmethod
    def from_row(cls, row: Any) -> User:
        """From a ``models.User`` or a row with the same column names."""
        return cls(
            id=row.id,
            email=row.email,
            name=row.name,
            role=row.role,
            is_automation=row.is_automation,
            created_at=row.created_at,
            disabled_at=row.disabled_at,
        )

    @classmethod
    def from_joined(cls, row: Any, prefix: str, known: dict[int, User]) -> User | None:
        """The user whose columns ``row`` holds under ``prefix`` (``loaders.joined_user``);
        None if none. ``known`` keeps one object per user across rows."""
        user_id = getattr(row, prefix + "id")
        if user_id is None:
            return None
        user = known.get(user_id)
        if user is None:
            user = known[user_id] = cls(
                id=user_id,
                email=getattr(row, prefix + "email"),
                name=getattr(row, prefix + "name"),
                role=getattr(row, prefix + "role"),
                is_automation=getattr(row, prefix + "is_automation"),
                created_at=getattr(row, prefix + "created_at"),
                disabled_at=getattr(row, prefix + "disabled_at"),
            )
        return user

    @strawberry.field(description="Scoped grants on assessments and regulations. Owners only.")
    async def grants(self, info: strawberry.Info) -> list[Grant] | None:
        return [Grant.of(record) for record in await people_reads.grants_of(info, self.id)]

    @strawberry.field(description="API tokens, newest first, never their secrets. Owners only.")
    async def api_tokens(self, info: strawberry.Info) -> list[ApiToken] | None:
        rows = await people_reads.tokens_of(info, self.id)
        disabled = self.disabled_at is not None
        return [ApiToken.from_row(row, user_disabled=disabled) for row in rows]

    @strawberry.field(
        description="Browser sessions, newest first: the open ones, or all with "
        "`includeEnded`. Owners only."
    )
    async def sessions(
        self, info: strawberry.Info, include_ended: bool = False
    ) -> list[SignInSession] | None:
        rows = await people_reads.sessions_of(info, self.id, include_ended)
        return [SignInSession.from_row(info, row) for row in rows]

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        principal = info.context.principal
        allowed = [
            i if i is not None and may_look_up_user(principal, i) else None
            for i in row_ids(node_ids)
        ]
        return await resolve_rows(loaders(info).user, allowed, cls.from_row)

    @strawberry.field(
        description="Spreadsheet of the actions assigned to this user and the evidence they "
        "uploaded (xlsx). Owners, and the user themself."
    )
    def history_export(self, info: strawberry.Info) -> ExportLink:
        return link_for(info, "user-history", {"user_id": self.id})


@strawberry.type(description="A scoped role on one assessment or on one regulation.")
class Grant:
    id: strawberry.ID = strawberry.field(description="Names the grant for `revokeGrant`.")
    role: OrgRole
    assessment: Assessment | None
    regulation: Regulation | None
    created_at: datetime

    @classmethod
    def of(cls, record: Any) -> Grant:
        """From a ``GrantRecord`` of the resolvers (the grant and what it names)."""
        assessment, regulation = record.assessment, record.regulation
        return cls(
            id=strawberry.ID(global_ids.encode("Grant", record.id)),
            role=record.role,
            assessment=Assessment.from_row(assessment) if assessment is not None else None,
            regulation=Regulation.from_row(regulation) if regulation is not None else None,
            created_at=record.created_at,
        )


@strawberry.type(description="An API token; its secret was shown once, when it was made.")
class ApiToken:
    id: strawberry.ID = strawberry.field(description="Names the token for `revokeApiToken`.")
    name: str
    prefix: str = strawberry.field(description="The secret's first characters, to recognise it.")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = strawberry.field(description="Written at most once a minute.")
    active: bool = strawberry.field(
        description="Signs its user in now: neither revoked nor expired, and the user is not "
        "disabled (enabling them again makes it active again)."
    )

    @classmethod
    def from_row(cls, row: models.ApiToken, *, user_disabled: bool = False) -> ApiToken:
        """``user_disabled``: whether the token's user is disabled (a new or just revoked
        token needs none: tokens are made for enabled people only)."""
        return cls(
            id=strawberry.ID(global_ids.encode("ApiToken", row.id)),
            name=row.name,
            prefix=row.prefix,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
            active=people_reads.token_active(row, user_disabled=user_disabled),
        )


@strawberry.type(description="A browser's sign-in (password or single sign-on).")
class SignInSession:
    id: strawberry.ID = strawberry.field(description="Names the session for `endSession`.")
    created_at: datetime
    last_seen_at: datetime = strawberry.field(description="Written at most once a minute.")
    expires_at: datetime = strawberry.field(description="The end, however busy the session.")
    ended_at: datetime | None = strawberry.field(description="Signed out, or ended by an owner.")
    address: str
    user_agent: str
    active: bool = strawberry.field(description="Still signs its browser in.")

    @classmethod
    def from_row(cls, info: strawberry.Info, row: models.SignInSession) -> SignInSession:
        return cls(
            id=strawberry.ID(global_ids.encode("SignInSession", row.id)),
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            ended_at=row.ended_at,
            address=row.address,
            user_agent=row.user_agent,
            active=people_reads.session_open(info, row),
        )


@strawberry.type(description="The caller and what it may do.")
class Viewer:
    user: User
    role: OrgRole | None
    grants: list[Grant]


@strawberry.type(description="A regulation's controls mapped to actions for one product.")
class Template(StoredIdNode):
    id: relay.NodeID[int]
    key: str
    title: str
    product: str
    certification: str
    services: str
    description: str
    version: int = strawberry.field(description="The latest published version.")
    created_at: datetime
    regulation_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: models.Template) -> Template:
        return cls(
            id=row.id,
            key=row.key,
            title=row.title,
            product=row.product,
            certification=row.certification,
            services=row.services,
            description=row.description,
            version=row.latest_version,
            created_at=row.created_at,
            regulation_id=row.regulation_id,
        )

    @strawberry.field
    async def regulation(self, info: strawberry.Info) -> Regulation:
        return Regulation.from_row(await loaders(info).regulation.load(self.regulation_id))

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await resolve_rows(loaders(info).template, row_ids(node_ids), cls.from_row)

    @strawberry.field(
        description="The latest version as a template workbook (xlsx; sheets Template, "
        "ControlFamily, Actions, Dimensions), the format `importTemplateWorkbook` reads."
    )
    def workbook_export(self, info: strawberry.Info) -> ExportLink:
        return link_for(info, "template-workbook", {"template_id": self.id})


@strawberry.type(
    description="A named container of assessments; decides which action state is shared."
)
class Group(StoredIdNode):
    id: relay.NodeID[int]
    name: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: models.Group) -> Group:
        return cls(id=row.id, name=row.name, created_at=row.created_at)

    @strawberry.field
    async def assessments(self, info: strawberry.Info) -> list[Assessment]:
        rows = await loaders(info).assessments_by_group.load(self.id)
        return [Assessment.from_row(row) for row in rows]

    @strawberry.field(description="Distinct actions across the group's active assessments.")
    async def score(self, info: strawberry.Info) -> Score:
        return Score.of(await loaders(info).group_score.load(self.id))

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await resolve_rows(loaders(info).group, row_ids(node_ids), cls.from_row)


@strawberry.type(description="One template instantiated for the organisation, in one group.")
class Assessment(StoredIdNode):
    id: relay.NodeID[int]
    name: str
    created_at: datetime
    archived_at: datetime | None
    row: strawberry.Private[models.Assessment]
    # Filled in ahead by ``prefetch_assessments``; else NOT_LOADED: read through the loaders.
    prefetched_controls: strawberry.Private[Any] = NOT_LOADED  # list[Control]

    @classmethod
    def from_row(cls, row: models.Assessment) -> Assessment:
        return cls(
            id=row.id,
            name=row.name,
            created_at=row.created_at,
            archived_at=row.archived_at,
            row=row,
        )

    @strawberry.field
    def archived(self) -> bool:
        return self.archived_at is not None

    @strawberry.field
    async def group(self, info: strawberry.Info) -> Group:
        return Group.from_row(await loaders(info).group.load(self.row.group_id))

    @strawberry.field
    async def template(self, info: strawberry.Info) -> Template:
        return Template.from_row(await loaders(info).template.load(self.row.template_id))

    @strawberry.field
    async def regulation(self, info: strawberry.Info) -> Regulation:
        template = await loaders(info).template.load(self.row.template_id)
        return Regulation.from_row(await loaders(info).regulation.load(template.regulation_id))

    @strawberry.field(description="The template version this assessment is on.")
    async def template_version(self, info: strawberry.Info) -> int:
        return (await loaders(info).template_version.load(self.row.template_version_id)).version

    @strawberry.field(description="A newer template version is waiting to be accepted.")
    async def pending_update(self, info: strawberry.Info) -> bool:
        template = await loaders(info).template.load(self.row.template_id)
        version = await loaders(info).template_version.load(self.row.template_version_id)
        return bool(update_pending(version.version, template.latest_version))

    @strawberry.field(description="Each distinct action counts once; frozen once archived.")
    def score(self) -> Score:
        return Score.of(scoring.Score(self.row.earned, self.row.possible))

    @strawberry.field
    def status(self) -> AssessmentStatus:
        return scoring.assessment_status_of(stored_tally(self.row, "controls_"))

    @strawberry.field(description="Share (0-1) of in-scope controls that passed.")
    def progress(self) -> float:
        return scoring.progress_of(stored_tally(self.row, "controls_"))

    @strawberry.field(description="Customer-managed actions: completed (passed) of all in scope.")
    async def customer_action_counts(self, info: strawberry.Info) -> ActionCounts:
        return ActionCounts.of((await loaders(info).assessment_figures.load(self.id)).customer)

    @strawberry.field(description="Provider-managed actions: completed (passed) of all in scope.")
    async def provider_action_counts(self, info: strawberry.Info) -> ActionCounts:
        return ActionCounts.of((await loaders(info).assessment_figures.load(self.id)).provider)

    @strawberry.field(
        description="The latest change of the assessment itself (rename, archive, accepted "
        "update) or of any of its actions."
    )
    async def last_modified_at(self, info: strawberry.Info) -> datetime:
        figures = await loaders(info).assessment_figures.load(self.id)
        return figures.last_modified_at(self.row.updated_at)

    # Asynchronous even when prefetched, on purpose: the controls' subtree (tens of thousands
    # of fields) is then completed in this field's own coroutine, near the bottom of the
    # interpreter's data stack. Completed synchronously below the page and the assessment, its
    # deepest fields sat on a 16 KiB data-stack chunk boundary, and CPython before 3.13 maps
    # and unmaps a chunk at each crossing (python/cpython#142183): thousands of page faults
    # per report.
    @strawberry.field(description="All controls, in template order.")
    async def controls(self, info: strawberry.Info) -> list[Control]:
        if self.prefetched_controls is not NOT_LOADED:
            return self.prefetched_controls
        rows = await loaders(info).controls_by_assessment.load(self.id)
        controls = [Control.from_row(row) for row in rows]
        await prefetch_controls(info, controls, selected(info))
        return controls

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await resolve_rows(loaders(info).assessment, row_ids(node_ids), cls.from_row)

    @strawberry.field(
        description="Spreadsheet report (xlsx): summary, controls, customer and provider "
        "actions, evidence (with links that download each file after signing in)."
    )
    def report_export(self, info: strawberry.Info) -> ExportLink:
        params = {"assessment_id": self.id, "public_url": info.context.settings.public_url}
        return link_for(info, "assessment-report", params)

    @strawberry.field(
        description="OSCAL assessment results (JSON): a finding per control, observations "
        "referencing evidence."
    )
    def oscal_results_export(self, info: strawberry.Info) -> ExportLink:
        params = {"assessment_id": self.id, "public_url": info.context.settings.public_url}
        return link_for(info, "oscal-assessment-results", params)

    @strawberry.field(
        description="What accepting the pending template update would change; null when the "
        "assessment is on the latest version."
    )
    async def pending_update_changes(self, info: strawberry.Info) -> TemplateUpdateChanges | None:
        diff = await loaders(info).template_update.load(self.row.template_version_id)
        return TemplateUpdateChanges.of(diff) if diff is not None else None


@strawberry.type(description="One requirement of the regulation inside an assessment.")
class Control(StoredIdNode):
    id: relay.NodeID[int]
    key: str
    family: str
    title: str
    description: str
    assessment_id: strawberry.Private[int]
    stored_status: strawberry.Private[ControlStatusValue]  # from the row's counts
    # Filled in ahead by ``prefetch_controls``; else NOT_LOADED: read through the loaders.
    prefetched_actions: strawberry.Private[Any] = NOT_LOADED  # list[ImprovementAction]
    prefetched_score: strawberry.Private[Any] = NOT_LOADED  # Score

    @classmethod
    def from_row(cls, row: Any) -> Control:
        """From a ``models.Control`` or a row with the same column names."""
        return cls(
            id=row.id,
            key=row.key,
            family=row.family,
            title=row.title,
            description=row.description,
            assessment_id=row.assessment_id,
            stored_status=scoring.control_status_of(stored_tally(row, "actions_")),
        )

    @strawberry.field
    async def assessment(self, info: strawberry.Info) -> Assessment:
        return Assessment.from_row(await loaders(info).assessment.load(self.assessment_id))

    # The fields below answer with what was prefetched when there is something (their
    # ``PREFETCHED`` metadata lets the schema read it without calling them). Otherwise they
    # return an awaitable, which GraphQL execution awaits as it would an async resolver's
    # result; ``graphql_type`` gives the GraphQL type, as the return annotation cannot.

    @strawberry.field(
        metadata={PREFETCHED: "prefetched_actions"}, graphql_type="list[ImprovementAction]"
    )
    def actions(
        self, info: strawberry.Info
    ) -> list[ImprovementAction] | Awaitable[list[ImprovementAction]]:
        if self.prefetched_actions is not NOT_LOADED:
            return self.prefetched_actions
        return self._load_actions(info)

    @strawberry.field(metadata={PREFETCHED: "stored_status"}, graphql_type="ControlStatus")
    def status(self) -> ControlStatus:
        return self.stored_status

    @strawberry.field(metadata={PREFETCHED: "prefetched_score"}, graphql_type="Score")
    def score(self, info: strawberry.Info) -> Score | Awaitable[Score]:
        if self.prefetched_score is not NOT_LOADED:
            return self.prefetched_score
        return self._later(info, _control_score)

    async def _load_actions(self, info: strawberry.Info) -> list[ImprovementAction]:
        rows = await loaders(info).actions_by_control.load(self.id)
        return [ImprovementAction.from_row(row) for row in rows]

    async def _later(
        self, info: strawberry.Info, compute: Callable[[list[ImprovementAction]], T]
    ) -> T:
        return compute(await self._load_actions(info))

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await resolve_rows(loaders(info).control, row_ids(node_ids), cls.from_row)


@strawberry.type(description="A file or a link backing an improvement action.")
class Evidence(StoredIdNode):
    id: relay.NodeID[int]
    kind: EvidenceKind
    name: str
    url: str | None
    size: int | None
    sha256: str | None
    content_type: str | None
    uploaded_at: datetime
    review_by: date | None = strawberry.field(
        description="Review (or replace) it by this day; after it, it is expired."
    )
    uploaded_by_id: strawberry.Private[int | None]
    prefetched_uploaded_by: strawberry.Private[Any] = NOT_LOADED  # User | None

    @classmethod
    def from_row(cls, row: Any) -> Evidence:
        """From a ``models.Evidence`` or a row with the same column names."""
        return cls(
            id=row.id,
            kind=row.kind,
            name=row.name,
            url=row.url,
            size=row.size,
            sha256=row.sha256,
            content_type=row.content_type,
            uploaded_at=row.uploaded_at,
            review_by=row.review_by,
            uploaded_by_id=row.uploaded_by_id,
        )

    @strawberry.field(description="Past its review-by date.")
    def is_expired(self) -> bool:
        return calendar.evidence_expired(self.review_by, clock.today())

    # Prefetched, or an awaitable as in ``Control.actions``.
    @strawberry.field(
        description="Null when the uploader was removed.",
        metadata={PREFETCHED: "prefetched_uploaded_by"},
        graphql_type="User | None",
    )
    def uploaded_by(self, info: strawberry.Info) -> User | Awaitable[User | None] | None:
        if self.prefetched_uploaded_by is not NOT_LOADED:
            return self.prefetched_uploaded_by
        return _user(info, self.uploaded_by_id)

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await resolve_rows(loaders(info).evidence_item, row_ids(node_ids), cls.from_row)

    @strawberry.field(
        description="Absolute URL that downloads the file for the caller during the next "
        "ten minutes, without an Authorization header; null for links."
    )
    def download_url(self, info: strawberry.Info) -> str | None:
        if self.sha256 is None:
            return None
        return signed_download_url(info.context.settings, self.id, info.context.principal.user_id)


async def _user(info: strawberry.Info, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    row = await loaders(info).user.load(user_id)
    return User.from_row(row) if row is not None else None


@strawberry.type(description="One change of one field of an action.")
class HistoryEntry:
    field: str
    old_value: str | None
    new_value: str | None
    source: ChangeSource
    created_at: datetime
    actor_id: strawberry.Private[int | None]

    @strawberry.field(description="Null when the user was removed.")
    async def actor(self, info: strawberry.Info) -> User | None:
        return await _user(info, self.actor_id)


@strawberry.type(description="The organisation's working copy of an action definition.")
class ImprovementAction(StoredIdNode):
    id: relay.NodeID[int]
    key: str
    title: str
    implementation_type: ImplementationType
    owner: ActionOwner
    enforcement: Enforcement
    purpose: Purpose
    points: int

    @strawberry.field(description="From the points: where work moves the score most.")
    def priority(self) -> Priority:
        return scoring.priority(self.points)

    category: str
    solution: str
    guidance: str
    testing_logic: str
    automatic_testing_available: bool
    implementation_status: ImplementationStatus
    implementation_date: date | None
    implementation_notes: str
    test_status: TestStatus
    test_date: date | None
    testing_notes: str
    additional_notes: str
    assignment_notes: str
    testing_source: TestingSource
    automation_fraction: float | None
    version: int = strawberry.field(description="Send it back with an edit to detect conflicts.")
    updated_at: datetime
    pending_update: bool = strawberry.field(
        description="A newer definition version awaits acceptance."
    )
    score: Score
    due_date: date | None = strawberry.field(
        description="When the work should be done (set when assigning, or later)."
    )
    retest_interval_days: int | None = strawberry.field(
        description="This action's own re-testing cadence in days; null follows the definition."
    )
    effective_retest_interval_days: int | None = strawberry.field(
        description="The cadence that applies: the action's own, else its definition's default."
    )
    retest_due_on: date | None = strawberry.field(
        description="The day a passed test needs repeating (test date + cadence); null when no "
        "retest is scheduled."
    )
    points_lapsed: bool = strawberry.field(
        description="Due for retest while the organisation takes the points of such actions "
        "away (retestLosesPoints): it earns nothing until retested."
    )
    group_id: strawberry.Private[int | None]
    assignee_id: strawberry.Private[int | None]
    parent_id: strawberry.Private[int | None]
    default_retest_interval_days: strawberry.Private[int | None]
    # Filled in ahead by ``prefetch_actions``; else NOT_LOADED: read through the loaders.
    prefetched_evidence: strawberry.Private[Any] = NOT_LOADED  # list[Evidence]
    prefetched_assignee: strawberry.Private[Any] = NOT_LOADED  # User | None

    @classmethod
    def from_record(cls, record: Any) -> ImprovementAction:
        """From an ``ActionRecord``: the action, its definition and the accepted version."""
        a, d, v = record.action, record.definition, record.version
        return cls._of(a, d, v, v.version, v.retest_interval_days)

    @classmethod
    def from_row(cls, row: Any) -> ImprovementAction:
        """From a flat row of ``action_row_select()`` (see the loaders)."""
        return cls._of(row, row, row, row.definition_version, row.definition_retest_interval_days)

    @classmethod
    def reading(
        cls, wanted: Iterable[str], with_assignee: bool, *, fill: bool = True
    ) -> Callable[[Any], ImprovementAction]:
        """``from_row`` for a list whose nodes show ``wanted`` (GraphQL names), for rows
        that bring their assignee along (``ASSIGNEE_PREFIX``) when ``with_assignee``.

        An action is made with only the fields ``wanted`` names that its row holds as
        columns, and its id; the first read of any other field fills in all of them from
        the row (``_ROW_FIELDS``). A list shows a few of some forty fields, and setting
        each costs. ``fill=False``: the rows hold only what ``wanted`` shows (the rest is
        NULL), and reading any other field raises rather than fill in those NULLs.
        """
        shown = frozenset(wanted)
        users: dict[int, User] = {}
        made: list[Callable[[Any], ImprovementAction]] = []

        def convert(row: Any) -> ImprovementAction:
            if not made:
                made.append(_row_backed(row._fields, shown, fill))
            action = made[0](row)
            if with_assignee:
                action.prefetched_assignee = User.from_joined(row, ASSIGNEE_PREFIX, users)
            return action

        return convert

    def _fill(self) -> None:
        """Every field of an action ``reading`` made, from its row (those set stay)."""
        state = self.__dict__
        row = state.pop("_row", None)
        if row is None:  # (or by one that holds only what its list shows)
            raise AttributeError(f"{type(self).__name__!r} object is not backed by a row")
        for name, value in self.from_row(row).__dict__.items():
            state.setdefault(name, value)

    @classmethod
    def _of(
        cls, a: Any, d: Any, v: Any, definition_version: int, default_interval: int | None
    ) -> ImprovementAction:
        """``a``: the action's columns, ``d``: its definition's, ``v``: its version's.

        Its fields are filled in directly rather than through the dataclass ``__init__``,
        whose 38 keyword arguments cost as much again as reading them (a list makes 50 of
        these, a report over a thousand); ``tests/test_page_totals.py`` checks that the
        result equals the one ``__init__`` makes, every field included.
        """
        action = cls.__new__(cls)
        action.__dict__.update(
            _id=global_ids.encode(cls.__strawberry_definition__.name, a.id),
            id=a.id,
            key=d.key,
            title=v.title,
            implementation_type=d.implementation_type,
            owner=d.owner,
            enforcement=v.enforcement,
            purpose=v.purpose,
            points=a.points,
            category=v.category,
            solution=v.solution,
            guidance=v.guidance,
            testing_logic=v.testing_logic,
            automatic_testing_available=v.automatic_testing_available,
            implementation_status=a.implementation_status,
            implementation_date=a.implementation_date,
            implementation_notes=a.implementation_notes,
            test_status=a.test_status,
            test_date=a.test_date,
            testing_notes=a.testing_notes,
            additional_notes=a.additional_notes,
            assignment_notes=a.assignment_notes,
            testing_source=a.testing_source,
            automation_fraction=a.automation_fraction,
            version=a.version,
            updated_at=a.updated_at,
            pending_update=bool(update_pending(definition_version, d.latest_version)),
            score=Score.of_action(a.earned, a.possible),
            due_date=a.due_date,
            retest_interval_days=a.retest_interval_days,
            effective_retest_interval_days=calendar.effective_retest_interval(
                a.retest_interval_days, default_interval
            ),
            retest_due_on=a.retest_due_on,
            points_lapsed=bool(a.retest_lapsed),
            group_id=a.group_id,
            assignee_id=a.assignee_id,
            parent_id=a.parent_id,
            default_retest_interval_days=default_interval,
            prefetched_evidence=NOT_LOADED,
            prefetched_assignee=NOT_LOADED,
        )
        return action

    @strawberry.field(
        description="Against the due date, with the organisation's dueSoonDays: NONE, "
        "ON_TRACK, DUE_SOON or OVERDUE."
    )
    async def due_state(self, info: strawberry.Info) -> DueState:
        if self.due_date is None:
            return DueState.NONE
        settings = await loaders(info).calendar_settings.load(0)
        return calendar.due_state(
            self.due_date, self.implementation_status, clock.today(), settings.due_soon_days
        )

    @strawberry.field(description="Passed, and its retest day (retestDueOn) has come.")
    def is_retest_due(self) -> bool:
        return calendar.is_retest_due(self.retest_due_on, clock.today())

    @strawberry.field(description="Some of its own evidence is past its review-by date.")
    async def has_expired_evidence(self, info: strawberry.Info) -> bool:
        return bool(await loaders(info).expired_evidence_by_action.load(self.id))

    @strawberry.field(
        description="The group whose state this is; null for organisation-wide actions."
    )
    async def group(self, info: strawberry.Info) -> Group | None:
        if self.group_id is None:
            return None
        return Group.from_row(await loaders(info).group.load(self.group_id))

    # ``assignee`` and ``evidence``: prefetched, or an awaitable as in ``Control.actions``.
    @strawberry.field(metadata={PREFETCHED: "prefetched_assignee"}, graphql_type="User | None")
    def assignee(self, info: strawberry.Info) -> User | Awaitable[User | None] | None:
        if self.prefetched_assignee is not NOT_LOADED:
            return self.prefetched_assignee
        return _user(info, self.assignee_id)

    @strawberry.field(description="The action this one inherits from (testing source PARENT).")
    async def parent(self, info: strawberry.Info) -> ImprovementAction | None:
        if self.parent_id is None:
            return None
        record = await loaders(info).action.load(self.parent_id)
        return ImprovementAction.from_record(record) if record is not None else None

    @strawberry.field(metadata={PREFETCHED: "prefetched_evidence"}, graphql_type="list[Evidence]")
    def evidence(self, info: strawberry.Info) -> list[Evidence] | Awaitable[list[Evidence]]:
        if self.prefetched_evidence is not NOT_LOADED:
            return self.prefetched_evidence
        return self._load_evidence(info)

    async def _load_evidence(self, info: strawberry.Info) -> list[Evidence]:
        return [Evidence.from_row(e) for e in await loaders(info).evidence_by_action.load(self.id)]

    @strawberry.field(description="Controls this action satisfies, in assessments you can read.")
    async def controls(self, info: strawberry.Info) -> list[Control]:
        return [Control.from_row(c) for c in await loaders(info).controls_by_action.load(self.id)]

    @strawberry.field(description="Assessments this action counts in, that you can read.")
    async def assessments(self, info: strawberry.Info) -> list[Assessment]:
        return [
            Assessment.from_row(a) for a in await loaders(info).assessments_by_action.load(self.id)
        ]

    @strawberry.field(description="Changes, newest first.")
    async def history(self, info: strawberry.Info, first: int = MAX_HISTORY) -> list[HistoryEntry]:
        first = max(0, min(first, MAX_HISTORY))
        rows = await loaders(info).history_by_action.load((self.id, first))
        return [
            HistoryEntry(
                field=h.field,
                old_value=h.old_value,
                new_value=h.new_value,
                source=h.source,
                created_at=h.created_at,
                actor_id=h.actor_id,
            )
            for h in rows
        ]

    @classmethod
    async def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        return await resolve_rows(loaders(info).action, row_ids(node_ids), cls.from_record)

    @strawberry.field(
        description="With testing source PARENT: the evidence of the parent chain that you can "
        "read, nearest parent first. The action's own evidence is in `evidence`."
    )
    async def inherited_evidence(self, info: strawberry.Info) -> list[Evidence]:
        if self.parent_id is None:
            return []
        rows = await loaders(info).inherited_evidence_by_action.load(self.id)
        return [Evidence.from_row(e) for e in rows]

    @strawberry.field(description="Actions that inherit from this one (testing source PARENT).")
    async def children(self, info: strawberry.Info) -> list[ImprovementAction]:
        rows = await loaders(info).children_by_action.load(self.id)
        return [ImprovementAction.from_record(r) for r in rows]

    @strawberry.field(description="Spreadsheet of this action's testing history (xlsx).")
    def testing_history_export(self, info: strawberry.Info) -> ExportLink:
        return link_for(info, "testing-history", {"action_id": self.id})

    @strawberry.field(
        description="What accepting the pending definition update would change; empty when none."
    )
    async def pending_update_changes(self, info: strawberry.Info) -> list[FieldChange]:
        if not self.pending_update:
            return []
        latest = await loaders(info).latest_definition_version.load(self.key)
        if latest is None:
            return []
        return [FieldChange.of(change) for change in definition_changes(self, latest)]


class _FromRow:
    """A field of ``ImprovementAction`` on the class, reached only when an action made by
    ``reading`` has not set it yet (a value the object holds comes first): it fills the
    action in from its row. Read on the class, the field is absent, as before."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, action: ImprovementAction | None, owner: type | None = None) -> Any:
        if action is None:
            raise AttributeError(self.name)
        action._fill()
        return action.__dict__[self.name]


# What ``reading`` may leave for later: every field ``_of`` sets but the global id and the
# ones filled in ahead.
_ROW_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(ImprovementAction)
    if f.init and f.name not in ("_id", "prefetched_evidence", "prefetched_assignee")
)
for _name in _ROW_FIELDS:
    setattr(ImprovementAction, _name, _FromRow(_name))


@functools.lru_cache(maxsize=256)
def _row_backed(
    columns: tuple[str, ...], wanted: frozenset[str], fill: bool
) -> Callable[[Any], ImprovementAction]:
    """Makes actions from rows with these ``columns``, setting the fields ``wanted`` names
    and the id; with ``fill``, keeping the row to fill in the others when one is read."""
    cls = ImprovementAction
    shown = tuple(
        name
        for name in columns
        if name in _ROW_FIELDS and (name == "id" or to_camel_case(name) in wanted)
    )
    # Written out, so that nothing of the shape is looked up per row: half the cost of a
    # loop over the fields (a page makes 50 of these).
    items = [f"{name!r}: row[{columns.index(name)}]" for name in shown]
    items.append(f"'_id': encode(type_name, row[{columns.index('id')}])")
    items += ["'prefetched_evidence': NOT_LOADED", "'prefetched_assignee': NOT_LOADED"]
    if fill:
        items.append("'_row': row")
    names: dict[str, Any] = {
        "new": cls.__new__,
        "cls": cls,
        "encode": global_ids.encode,
        "type_name": cls.__strawberry_definition__.name,
        "NOT_LOADED": NOT_LOADED,
    }
    text = (  # column positions and quoted field names only
        f"def make(row):\n    action = new(cls)\n    action.__dict__ = {{{', '.join(items)}}}\n"
        "    return action"
    )
    exec(compile(text, "<cmgraph.schema.types._row_backed>", "exec"), names)
    make: Callable[[Any], ImprovementAction] = names["make"]
    return make


# -- loading nested fields ahead ----------------------------------------------------------------
#
# A report asks for every control of an assessment with its actions, their evidence and the
# users named on them. Resolving each of those fields on its own means thousands of awaits on
# DataLoader futures. Instead, the resolver that returns the controls (or actions) looks at
# what the query selects below them and loads each level for all of them with one batched
# ``load_many``, through the same loaders, so the number of statements stays the same; the
# nested fields then answer synchronously from what was loaded (see ``PREFETCHED``).


def _control_score(actions: Sequence[ImprovementAction]) -> Score:
    distinct = {a.id: scoring.Score(a.score.earned, a.score.possible) for a in actions}
    return Score.of(scoring.total(distinct.values()))


async def prefetch_assessments(
    info: strawberry.Info, assessments: Sequence[Assessment], wanted: Selection
) -> None:
    """Load what ``wanted`` (the assessments' selection) reads below ``assessments``.

    Every part is keyed by assessment, so the parts of all the assessments are read in one
    statement each, all asked for in the same tick: group, template and regulation together
    (primed into their loaders); the controls; their actions with the assignees; the
    actions' evidence with the uploaders.
    """
    if not assessments:
        return
    ids = [a.id for a in assessments]
    reads = loaders(info)
    context = None
    if wanted.keys() & {"group", "template", "regulation"}:
        context = reads.assessment_context.load_many(ids)
    below = wanted.get("controls")
    if below is None:
        if context is not None:
            _prime_context(reads, await context)
        return
    on_actions = below.get("actions", {})
    wants_actions = bool(below.keys() & {"actions", "score"})
    controls = reads.controls_by_assessment.load_many(ids)
    links = reads.action_links_by_assessment.load_many(ids) if wants_actions else None
    evidence = reads.evidence_by_assessment.load_many(ids) if "evidence" in on_actions else None
    if context is not None:
        _prime_context(reads, await context)
    users: dict[int, User] = {}
    wants_uploader = "uploadedBy" in on_actions.get("evidence", {})
    evidence_lists = (
        [_evidence_by_action(rows, wants_uploader, users) for rows in await evidence]
        if evidence is not None
        else None
    )
    link_lists = await links if links is not None else None
    for n, (assessment, rows) in enumerate(zip(assessments, await controls, strict=True)):
        own = assessment.prefetched_controls = [Control.from_row(row) for row in rows]
        if link_lists is None:
            continue
        _prefetch_links(
            own, link_lists[n], below, None if evidence_lists is None else evidence_lists[n], users
        )


def _prime_context(reads: Any, context: Sequence[Any]) -> None:
    for group, template, regulation in present(context):
        reads.group.prime(group.id, group)
        reads.template.prime(template.id, template)
        reads.regulation.prime(regulation.id, regulation)


def _evidence_by_action(
    rows: Sequence[Any], wants_uploader: bool, users: dict[int, User]
) -> dict[int, list[Evidence]]:
    """Rows of ``loaders.evidence_by_assessment`` as ``Evidence``, by action id."""
    by_action: dict[int, list[Evidence]] = defaultdict(list)
    for row in rows:
        item = Evidence.from_row(row)
        if wants_uploader:
            item.prefetched_uploaded_by = User.from_joined(row, "uploader_user_", users)
        by_action[row.action_id].append(item)
    return by_action


def _prefetch_links(
    controls: Sequence[Control],
    rows: Sequence[Any],
    wanted: Selection,
    evidence: dict[int, list[Evidence]] | None,
    users: dict[int, User],
) -> None:
    """Give ``controls`` their actions from ``rows`` (``loaders.action_links_by_assessment``),
    with what ``wanted`` (the controls' selection) reads of them.

    An action linked to several controls is one object, shown under each of them.
    """
    on_actions = wanted.get("actions", {})
    wants_assignee = "assignee" in on_actions
    actions: dict[int, ImprovementAction] = {}
    by_control: dict[int, list[ImprovementAction]] = defaultdict(list)
    for row in rows:
        action = actions.get(row.id)
        if action is None:
            action = actions[row.id] = ImprovementAction.from_row(row)
            if wants_assignee:
                action.prefetched_assignee = User.from_joined(row, ASSIGNEE_PREFIX, users)
            if evidence is not None:
                action.prefetched_evidence = evidence.get(row.id, [])
        by_control[row.control_id].append(action)
    wants_score = "score" in wanted
    for control in controls:
        own = control.prefetched_actions = by_control.get(control.id, [])
        if wants_score:
            control.prefetched_score = _control_score(own)


async def prefetch_controls(
    info: strawberry.Info, controls: Sequence[Control], wanted: Selection
) -> None:
    """Load the actions of ``controls`` when ``wanted`` (their selection) needs them."""
    if not controls or not wanted.keys() & {"actions", "score"}:
        return
    records = await loaders(info).actions_by_control.load_many([c.id for c in controls])
    wants_score = "score" in wanted
    actions: list[ImprovementAction] = []
    for control, rows in zip(controls, records, strict=True):
        own = [ImprovementAction.from_row(row) for row in rows]
        control.prefetched_actions = own
        if wants_score:
            control.prefetched_score = _control_score(own)
        actions.extend(own)
    await prefetch_actions(info, actions, wanted.get("actions", {}))


async def prefetch_actions(
    info: strawberry.Info, actions: Sequence[ImprovementAction], wanted: Selection
) -> None:
    """Load the evidence and users that ``wanted`` (the actions' selection) names.

    Evidence first, then the assignees and uploaders together in one batch.
    """
    if not actions:
        return
    evidence: list[Evidence] = []
    wants_evidence = "evidence" in wanted
    if wants_evidence:
        lists = await loaders(info).evidence_by_action.load_many([a.id for a in actions])
        for action, rows in zip(actions, lists, strict=True):
            action.prefetched_evidence = [Evidence.from_row(e) for e in rows]
            evidence.extend(action.prefetched_evidence)
    wants_assignee = "assignee" in wanted
    wants_uploader = wants_evidence and "uploadedBy" in wanted["evidence"]
    user_ids: set[int] = set()
    unassigned = [a for a in actions if a.prefetched_assignee is NOT_LOADED]
    if wants_assignee:
        user_ids.update(a.assignee_id for a in unassigned if a.assignee_id is not None)
    if wants_uploader:
        user_ids.update(e.uploaded_by_id for e in evidence if e.uploaded_by_id is not None)
    users: dict[int | None, User] = {}
    if user_ids:
        ids = sorted(user_ids)
        rows = await loaders(info).user.load_many(ids)
        users = {i: User.from_row(row) for i, row in zip(ids, rows, strict=True) if row}
    if wants_assignee:
        for action in unassigned:
            action.prefetched_assignee = users.get(action.assignee_id)
    if wants_uploader:
        for item in evidence:
            item.prefetched_uploaded_by = users.get(item.uploaded_by_id)


@strawberry.type(description="The organisation this server runs for, and its settings.")
class Organisation:
    name: str
    automatic_testing: AutomaticTesting = strawberry.field(
        description="How actions with automatic testing available are tested: ON_FOR_ALL, "
        "OFF_FOR_ALL, or PER_ACTION (administrators choose per action)."
    )
    due_soon_days: int = strawberry.field(
        description="An open action is DUE_SOON from this many days before its due date."
    )
    retest_loses_points: bool = strawberry.field(
        description="Whether a passed action due for retest earns nothing until retested."
    )

    @classmethod
    def from_row(cls, row: models.Organisation) -> Organisation:
        return cls(
            name=row.name,
            automatic_testing=row.automatic_testing,
            due_soon_days=row.due_soon_days,
            retest_loses_points=row.retest_loses_points,
        )
