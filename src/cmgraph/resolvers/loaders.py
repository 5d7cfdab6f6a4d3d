"""Per-request DataLoaders, keyed by parent id.

Each loader turns the keys gathered during one tick of the event loop into a single SQL
statement, so the number of statements for a query depends on its shape, not on how many
rows it returns. Read permissions are applied here, at the roots of what a caller can reach.
"""

from __future__ import annotations

from collections import defaultdict, namedtuple
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import Any, TypeVar

from sqlalchemy import Select, and_, func, null, select
from sqlalchemy.orm import aliased
from strawberry.dataloader import DataLoader

from cmgraph.domain import clock
from cmgraph.domain.action_records import ActionRecord, action_select
from cmgraph.domain.alert_access import readable_alerts, readable_policies
from cmgraph.domain.assessment_figures import AssessmentFigures, assessment_figures
from cmgraph.domain.calendar import evidence_expired_clause
from cmgraph.domain.enums import TestingSource
from cmgraph.domain.evidence import parent_chains
from cmgraph.domain.models import (
    ActionDefinition,
    ActionDefinitionVersion,
    Alert,
    AlertMatch,
    AlertPolicy,
    Assessment,
    Control,
    ControlAction,
    Event,
    Evidence,
    Group,
    HistoryEntry,
    ImprovementAction,
    Organisation,
    Regulation,
    Template,
    TemplateVersion,
    User,
)
from cmgraph.domain.organisation import organisation_query
from cmgraph.domain.permissions import (
    Principal,
    readable_actions,
    readable_assessments,
    readable_groups,
    readable_regulations,
    readable_templates,
)
from cmgraph.domain.scoring import ZERO, Score
from cmgraph.domain.status_upkeep import CONTROL_COLUMNS as STATUS_COLUMNS
from cmgraph.domain.updates import template_diffs
from cmgraph.resolvers.reader import StatementReader

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


# Columns of an action row that only the field of the same name shows (no other field or
# resolver reads them), by label: ``action_row_select`` may leave them out. The others
# (ids, points, statuses, scores, due and retest dates) stay: they feed other fields too.
OWN_FIELD_COLUMNS = frozenset(
    {
        "title",
        "implementation_type",
        "owner",
        "enforcement",
        "purpose",
        "category",
        "solution",
        "guidance",
        "testing_logic",
        "automatic_testing_available",
        "implementation_date",
        "implementation_notes",
        "test_status",
        "test_date",
        "testing_notes",
        "additional_notes",
        "assignment_notes",
        "testing_source",
        "automation_fraction",
        "version",
        "updated_at",
    }
)


def action_row_select(left_out: frozenset[str] = frozenset()) -> Select[*tuple[Any, ...]]:
    """One flat row per action with what ``ImprovementAction.from_row`` reads.

    For the loaders that feed large reads: plain columns instead of three ORM entities per
    action, so no identity map and no instance state (whose weak-reference callback puts
    every loaded entity in a reference cycle that only the cyclic garbage collector frees).
    ``left_out``: columns read as NULL, by label (any but the id): those of
    ``OWN_FIELD_COLUMNS`` whose field nobody asked for, or every one a list's nodes do not
    show when they show nothing but columns (``schema.query``). A list of 50 actions
    carries some 70 KB of guidance and testing logic, and each column more costs the
    database to send and the driver to decode (a tenth of a small list's work).
    """
    a, d, v = ImprovementAction, ActionDefinition, ActionDefinitionVersion

    def own(column: Any) -> Any:
        return null().label(column.key) if column.key in left_out else column

    return (
        select(
            a.id,
            own(d.key),
            own(v.title),
            own(d.implementation_type),
            own(d.owner),
            own(v.enforcement),
            own(v.purpose),
            own(a.points),
            own(v.category),
            own(v.solution),
            own(v.guidance),
            own(v.testing_logic),
            own(v.automatic_testing_available),
            own(a.implementation_status),
            own(a.implementation_date),
            own(a.implementation_notes),
            own(a.test_status),
            own(a.test_date),
            own(a.testing_notes),
            own(a.additional_notes),
            own(a.assignment_notes),
            own(a.testing_source),
            own(a.automation_fraction),
            own(a.version),
            own(a.updated_at),
            own(v.version.label("definition_version")),
            own(d.latest_version),
            own(a.earned),
            own(a.possible),
            own(a.group_id),
            own(a.assignee_id),
            own(a.parent_id),
            own(a.due_date),
            own(a.retest_interval_days),
            own(v.retest_interval_days.label("definition_retest_interval_days")),
            own(a.retest_due_on),
            own(a.retest_lapsed),
        )
        .select_from(a)
        .join(d, d.id == a.definition_id)
        .join(v, v.id == a.definition_version_id)
    )


# The columns the GraphQL types show, read as rows (attribute access like entities).
CONTROL_COLUMNS = (
    Control.id,
    Control.assessment_id,
    Control.key,
    Control.family,
    Control.title,
    Control.description,
    *STATUS_COLUMNS,
)
EVIDENCE_COLUMNS = (
    Evidence.id,
    Evidence.action_id,
    Evidence.kind,
    Evidence.name,
    Evidence.url,
    Evidence.size,
    Evidence.sha256,
    Evidence.content_type,
    Evidence.uploaded_at,
    Evidence.uploaded_by_id,
    Evidence.review_by,
)
USER_COLUMNS = (
    User.id,
    User.email,
    User.name,
    User.role,
    User.is_automation,
    User.created_at,
    User.disabled_at,
)


# The prefix of an action row's joined assignee columns (``joined_user``).
ASSIGNEE_PREFIX = "assignee_user_"


@cache
def joined_user(prefix: str, left_out: frozenset[str] = frozenset()) -> tuple[Any, tuple[Any, ...]]:
    """A user table to join, and its ``USER_COLUMNS`` each labelled ``prefix`` + name;
    those in ``left_out`` (by label, never the id) read as NULL.

    Built once per prefix (labelling the columns costs more than reading a page's users).

    Rows that name a user (an assignee, an uploader) bring the user along in the same
    statement; ``prefix`` tells the joined user's columns from the row's own, so it must
    not make a name the row already has (``assignee_`` would: ``assignee_id``).
    """
    user = aliased(User, name=prefix.rstrip("_"))
    labels = [(prefix + c.key, getattr(user, c.key)) for c in USER_COLUMNS]
    return user, tuple(
        null().label(label) if label in left_out and c.key != "id" else c.label(label)
        for label, c in labels
    )


def _one_each(keys: Sequence[K], rows: Iterable[tuple[K, V]]) -> list[V | None]:
    found = dict(rows)
    return [found.get(key) for key in keys]


def _lists(keys: Sequence[K], rows: Iterable[tuple[K, V]]) -> list[list[V]]:
    grouped: dict[K, list[V]] = defaultdict(list)
    for key, value in rows:
        grouped[key].append(value)
    return [grouped.get(key, []) for key in keys]


def reader_dialect(reader: StatementReader) -> str:
    """The database dialect's name, for rules that read JSON differently per database."""
    return str(reader.session.get_bind().dialect.name)


def _on(event: Event) -> set[int]:
    """The assessments an event is about."""
    return {int(a) for a in (event.payload or {}).get("assessmentIds") or ()}


@dataclass(frozen=True, slots=True)
class Source:
    """What batch functions read with: the request's reader and the caller."""

    reader: StatementReader
    principal: Principal

    async def rows(self, statement: Any) -> list[Any]:
        return list((await self.reader.execute(statement)).all())

    async def scalars(self, statement: Any) -> list[Any]:
        return list((await self.reader.execute(statement)).scalars())

    async def records(self, statement: Any) -> list[Any]:
        """The rows as named tuples of the selected columns.

        The same attribute access as SQLAlchemy's rows, at a fraction of the cost: a large
        report reads tens of thousands of values by name.
        """
        result = await self.reader.columns(statement)
        make = _record_type(tuple(result.keys()))._make
        return [make(row) for row in result]


@cache
def _record_type(names: tuple[str, ...]) -> Any:
    return namedtuple("Record", names)  # the names are known at run time only


class Loaders:
    """All loaders of one request; created lazily by attribute access."""

    def __init__(self, reader: StatementReader, principal: Principal) -> None:
        self.reader = reader
        self.principal = principal
        self._source = Source(reader, principal)
        self._loaders: dict[str, DataLoader[Any, Any]] = {}

    def loader(self, name: str, batch: Callable[..., Any]) -> DataLoader[Any, Any]:
        """The loader ``name``, made on first use from ``batch(source, keys)``.

        The batch function is bound to a ``Source`` (reader and principal), never to
        ``self``: a loader that referred back to this object would make a reference cycle
        that keeps every request's loaders and cached rows alive until the cyclic garbage
        collector runs, which is slow when there are many of them.
        """
        loader = self._loaders.get(name)
        if loader is None:
            load_fn = partial(batch, self._source)
            loader = self._loaders[name] = DataLoader(load_fn=load_fn)
        return loader

    # -- single objects ------------------------------------------------------------------

    @property
    def assessment(self) -> DataLoader[int, Assessment | None]:
        async def batch(src: Source, keys: list[int]) -> list[Assessment | None]:
            rows = await src.scalars(
                select(Assessment).where(
                    Assessment.id.in_(keys), readable_assessments(src.principal)
                )
            )
            return _one_each(keys, ((a.id, a) for a in rows))

        return self.loader("assessment", batch)

    @property
    def action(self) -> DataLoader[int, ActionRecord | None]:
        async def batch(src: Source, keys: list[int]) -> list[ActionRecord | None]:
            rows = await src.rows(
                action_select().where(
                    ImprovementAction.id.in_(keys), readable_actions(src.principal)
                )
            )
            return _one_each(keys, ((a.id, ActionRecord(a, d, v)) for a, d, v in rows))

        return self.loader("action", batch)

    @property
    def control(self) -> DataLoader[int, Control | None]:
        async def batch(src: Source, keys: list[int]) -> list[Control | None]:
            rows = await src.scalars(
                select(Control)
                .join(Assessment, Assessment.id == Control.assessment_id)
                .where(Control.id.in_(keys), readable_assessments(src.principal))
            )
            return _one_each(keys, ((c.id, c) for c in rows))

        return self.loader("control", batch)

    def _simple(self, name: str, model: Any, *readable: Any) -> DataLoader[int, Any]:
        async def batch(src: Source, keys: list[int]) -> list[Any]:
            rows = await src.scalars(select(model).where(model.id.in_(keys), *readable))
            return _one_each(keys, ((row.id, row) for row in rows))

        return self.loader(name, batch)

    @property
    def group(self) -> DataLoader[int, Group | None]:
        return self._simple("group", Group, readable_groups(self.principal))

    @property
    def template(self) -> DataLoader[int, Template | None]:
        return self._simple("template", Template, readable_templates(self.principal))

    @property
    def template_version(self) -> DataLoader[int, TemplateVersion | None]:
        return self._simple("template_version", TemplateVersion)

    @property
    def regulation(self) -> DataLoader[int, Regulation | None]:
        return self._simple("regulation", Regulation, readable_regulations(self.principal))

    @property
    def user(self) -> DataLoader[int, Any]:
        """Rows of ``USER_COLUMNS``; any signed-in user may see names and emails."""

        async def batch(src: Source, keys: list[int]) -> list[Any]:
            rows = await src.records(select(*USER_COLUMNS).where(User.id.in_(keys)))
            return _one_each(keys, ((row.id, row) for row in rows))

        return self.loader("user", batch)

    @property
    def evidence_item(self) -> DataLoader[int, Evidence | None]:
        async def batch(src: Source, keys: list[int]) -> list[Evidence | None]:
            rows = await src.scalars(
                select(Evidence)
                .join(ImprovementAction, ImprovementAction.id == Evidence.action_id)
                .where(Evidence.id.in_(keys), readable_actions(src.principal))
            )
            return _one_each(keys, ((e.id, e) for e in rows))

        return self.loader("evidence_item", batch)

    # -- children of a parent ------------------------------------------------------------

    @property
    def controls_by_assessment(self) -> DataLoader[int, list[Any]]:
        """Rows of ``CONTROL_COLUMNS``, in template order."""

        async def batch(src: Source, keys: list[int]) -> list[list[Any]]:
            rows = await src.records(
                select(*CONTROL_COLUMNS)
                .where(Control.assessment_id.in_(keys))
                .order_by(Control.assessment_id, Control.sort_order)
            )
            return _lists(keys, ((c.assessment_id, c) for c in rows))

        return self.loader("controls_by_assessment", batch)

    @property
    def actions_by_control(self) -> DataLoader[int, list[Any]]:
        """Rows of ``action_row_select()``, by action key."""

        async def batch(src: Source, keys: list[int]) -> list[list[Any]]:
            rows = await src.records(
                action_row_select()
                .add_columns(ControlAction.control_id)
                .join(ControlAction, ControlAction.action_id == ImprovementAction.id)
                .where(ControlAction.control_id.in_(keys))
                .order_by(ControlAction.control_id, ActionDefinition.key)
            )
            return _lists(keys, ((row.control_id, row) for row in rows))

        return self.loader("actions_by_control", batch)

    @property
    def evidence_by_action(self) -> DataLoader[int, list[Any]]:
        """Rows of ``EVIDENCE_COLUMNS``, oldest first."""

        async def batch(src: Source, keys: list[int]) -> list[list[Any]]:
            rows = await src.records(
                select(*EVIDENCE_COLUMNS).where(Evidence.action_id.in_(keys)).order_by(Evidence.id)
            )
            return _lists(keys, ((e.action_id, e) for e in rows))

        return self.loader("evidence_by_action", batch)

    @property
    def expired_evidence_by_action(self) -> DataLoader[int, bool]:
        """Whether an action holds evidence past its review-by date (its own evidence)."""

        async def batch(src: Source, keys: list[int]) -> list[bool]:
            rows = await src.scalars(
                select(Evidence.action_id)
                .where(Evidence.action_id.in_(keys), evidence_expired_clause(clock.today()))
                .distinct()
            )
            found = set(rows)
            return [key in found for key in keys]

        return self.loader("expired_evidence_by_action", batch)

    @property
    def calendar_settings(self) -> DataLoader[int, Organisation]:
        """The organisation's calendar settings (one row; any key)."""

        async def batch(src: Source, keys: list[int]) -> list[Organisation]:
            rows = await src.scalars(organisation_query())
            return [rows[0] for _ in keys]

        return self.loader("calendar_settings", batch)

    @property
    def controls_by_action(self) -> DataLoader[int, list[Control]]:
        async def batch(src: Source, keys: list[int]) -> list[list[Control]]:
            rows = await src.rows(
                select(ControlAction.action_id, Control)
                .join(Control, Control.id == ControlAction.control_id)
                .join(Assessment, Assessment.id == Control.assessment_id)
                .where(ControlAction.action_id.in_(keys), readable_assessments(src.principal))
                .order_by(ControlAction.action_id, Control.assessment_id, Control.sort_order)
            )
            return _lists(keys, rows)

        return self.loader("controls_by_action", batch)

    @property
    def assessments_by_action(self) -> DataLoader[int, list[Assessment]]:
        async def batch(src: Source, keys: list[int]) -> list[list[Assessment]]:
            rows = await src.rows(
                select(ControlAction.action_id, Assessment)
                .join(Control, Control.id == ControlAction.control_id)
                .join(Assessment, Assessment.id == Control.assessment_id)
                .where(ControlAction.action_id.in_(keys), readable_assessments(src.principal))
                .distinct()
                .order_by(ControlAction.action_id, Assessment.id)
            )
            return _lists(keys, rows)

        return self.loader("assessments_by_action", batch)

    @property
    def assessments_by_group(self) -> DataLoader[int, list[Assessment]]:
        async def batch(src: Source, keys: list[int]) -> list[list[Assessment]]:
            rows = await src.scalars(
                select(Assessment)
                .where(Assessment.group_id.in_(keys), readable_assessments(src.principal))
                .order_by(Assessment.name)
            )
            return _lists(keys, ((a.group_id, a) for a in rows))

        return self.loader("assessments_by_group", batch)

    @property
    def history_by_action(self) -> DataLoader[tuple[int, int], list[HistoryEntry]]:
        """Newest first; keyed by (action id, how many)."""

        async def batch(src: Source, keys: list[tuple[int, int]]) -> list[list[HistoryEntry]]:
            limit = max(n for _, n in keys)
            ranked = (
                select(
                    HistoryEntry.id,
                    func.row_number()
                    .over(partition_by=HistoryEntry.action_id, order_by=HistoryEntry.id.desc())
                    .label("rank"),
                )
                .where(HistoryEntry.action_id.in_({a for a, _ in keys}))
                .subquery()
            )
            rows = await src.scalars(
                select(HistoryEntry)
                .join(ranked, and_(ranked.c.id == HistoryEntry.id, ranked.c.rank <= limit))
                .order_by(HistoryEntry.action_id, HistoryEntry.id.desc())
            )
            by_action = _lists([a for a, _ in keys], ((h.action_id, h) for h in rows))
            return [entries[:n] for entries, (_, n) in zip(by_action, keys, strict=True)]

        return self.loader("history_by_action", batch)

    # -- a whole assessment at once (the nested report) ----------------------------------
    #
    # Keyed by assessment id, so that the parts of many assessments' reports are each read
    # in one statement, and all of them in the same tick: no statement waits for another.

    @property
    def assessment_context(self) -> DataLoader[int, tuple[Group, Template, Regulation] | None]:
        """Each assessment's group, template and regulation, in one statement.

        Whoever may read an assessment may read these three (``domain.permissions``).
        """

        async def batch(src: Source, keys: list[int]) -> list[Any]:
            rows = await src.rows(
                select(Assessment.id, Group, Template, Regulation)
                .join(Group, Group.id == Assessment.group_id)
                .join(Template, Template.id == Assessment.template_id)
                .join(Regulation, Regulation.id == Template.regulation_id)
                .where(Assessment.id.in_(keys), readable_assessments(src.principal))
            )
            return _one_each(keys, ((i, (g, t, r)) for i, g, t, r in rows))

        return self.loader("assessment_context", batch)

    @property
    def action_links_by_assessment(self) -> DataLoader[int, list[Any]]:
        """Rows of ``action_row_select()`` with ``control_id`` and the assignee's columns
        (``joined_user(ASSIGNEE_PREFIX)``), one per control-action link, by control then key."""

        async def batch(src: Source, keys: list[int]) -> list[list[Any]]:
            assignee, columns = joined_user(ASSIGNEE_PREFIX)
            rows = await src.records(
                action_row_select()
                .add_columns(Control.assessment_id, ControlAction.control_id, *columns)
                .join(ControlAction, ControlAction.action_id == ImprovementAction.id)
                .join(Control, Control.id == ControlAction.control_id)
                .outerjoin(assignee, assignee.id == ImprovementAction.assignee_id)
                .where(Control.assessment_id.in_(keys))
                .order_by(Control.assessment_id, ControlAction.control_id, ActionDefinition.key)
            )
            return _lists(keys, ((row.assessment_id, row) for row in rows))

        return self.loader("action_links_by_assessment", batch)

    @property
    def evidence_by_assessment(self) -> DataLoader[int, list[Any]]:
        """Rows of ``EVIDENCE_COLUMNS`` with the uploader's (``joined_user("uploader_user_")``)
        for every action of the assessment, oldest first."""

        async def batch(src: Source, keys: list[int]) -> list[list[Any]]:
            links = (
                select(Control.assessment_id, ControlAction.action_id)
                .join(ControlAction, ControlAction.control_id == Control.id)
                .where(Control.assessment_id.in_(keys))
                .distinct()
                .subquery()
            )
            uploader, columns = joined_user("uploader_user_")
            rows = await src.records(
                select(links.c.assessment_id, *EVIDENCE_COLUMNS, *columns)
                .join(links, links.c.action_id == Evidence.action_id)
                .outerjoin(uploader, uploader.id == Evidence.uploaded_by_id)
                .order_by(links.c.assessment_id, Evidence.id)
            )
            return _lists(keys, ((row.assessment_id, row) for row in rows))

        return self.loader("evidence_by_assessment", batch)

    # -- scores and derived statuses -----------------------------------------------------

    @property
    def group_score(self) -> DataLoader[int, Score]:
        """Distinct instances across the group's live assessments the caller can read."""

        async def batch(src: Source, keys: list[int]) -> list[Score]:
            distinct = (
                select(
                    Assessment.group_id,
                    ImprovementAction.id,
                    ImprovementAction.earned,
                    ImprovementAction.possible,
                )
                .join(Control, Control.assessment_id == Assessment.id)
                .join(ControlAction, ControlAction.control_id == Control.id)
                .join(ImprovementAction, ImprovementAction.id == ControlAction.action_id)
                .where(
                    Assessment.group_id.in_(keys),
                    Assessment.archived_at.is_(None),
                    readable_assessments(src.principal),
                )
                .distinct()
                .subquery()
            )
            rows = await src.rows(
                select(
                    distinct.c.group_id,
                    func.sum(distinct.c.earned),
                    func.sum(distinct.c.possible),
                ).group_by(distinct.c.group_id)
            )
            found = {g: Score(float(e), int(p)) for g, e, p in rows}
            return [found.get(key, ZERO) for key in keys]

        return self.loader("group_score", batch)

    @property
    def assessment_figures(self) -> DataLoader[int, AssessmentFigures]:
        """Completed and in-scope actions by owner, and the latest action change."""

        async def batch(src: Source, keys: list[int]) -> list[AssessmentFigures]:
            figures = await assessment_figures(src.reader.execute, keys)
            return [figures[key] for key in keys]

        return self.loader("assessment_figures", batch)

    # -- alerts (who may read what: domain.alert_access) -------------------------------------

    @property
    def alert_policy(self) -> DataLoader[int, AlertPolicy | None]:
        async def batch(src: Source, keys: list[int]) -> list[AlertPolicy | None]:
            readable = readable_policies(src.principal)
            rows = await src.scalars(select(AlertPolicy).where(AlertPolicy.id.in_(keys), readable))
            return _one_each(keys, ((row.id, row) for row in rows))

        return self.loader("alert_policy", batch)

    @property
    def alert(self) -> DataLoader[int, Alert | None]:
        async def batch(src: Source, keys: list[int]) -> list[Alert | None]:
            readable = readable_alerts(src.principal, reader_dialect(src.reader))
            rows = await src.scalars(select(Alert).where(Alert.id.in_(keys), readable))
            return _one_each(keys, ((row.id, row) for row in rows))

        return self.loader("alert", batch)

    @property
    def alert_events(self) -> DataLoader[int, list[Event]]:
        """Per alert id: its events, oldest first, as far as the caller may read them."""

        async def batch(src: Source, keys: list[int]) -> list[list[Event]]:
            by_alert: dict[int, list[Event]] = {alert_id: [] for alert_id in keys}
            matched = await src.rows(
                select(AlertMatch.alert_id, Event)
                .join(Event, Event.id == AlertMatch.event_id)
                .where(AlertMatch.alert_id.in_(list(by_alert)))
            )
            for alert_id, event in matched:
                by_alert[alert_id].append(event)
            if not src.principal.sees_everything:
                touched = {a for events in by_alert.values() for e in events for a in _on(e)}
                readable = set(
                    await src.scalars(
                        select(Assessment.id).where(
                            Assessment.id.in_(touched), readable_assessments(src.principal)
                        )
                    )
                )
                by_alert = {
                    alert_id: [e for e in events if readable.intersection(_on(e))]
                    for alert_id, events in by_alert.items()
                }
            return [sorted(by_alert[key], key=lambda e: (e.created_at, e.id)) for key in keys]

        return self.loader("alert_events", batch)

    # -- parent links (testing source PARENT) ------------------------------------------------

    @property
    def inherited_evidence_by_action(self) -> DataLoader[int, list[Evidence]]:
        """Evidence along each action's parent chain, nearest parent first.

        One recursive query for all keys, bounded by the chain limit. Only evidence of
        ancestors the caller may read is shown, the same rule as for looking it up by id.
        """

        async def batch(src: Source, keys: list[int]) -> list[list[Evidence]]:
            chain = parent_chains(keys)
            rows = await src.rows(
                select(chain.c.start, Evidence)
                .select_from(chain)
                .join(Evidence, Evidence.action_id == chain.c.ancestor)
                .join(ImprovementAction, ImprovementAction.id == chain.c.ancestor)
                .where(readable_actions(src.principal))
                .order_by(chain.c.start, chain.c.depth, Evidence.id)
            )
            return _lists(keys, rows)

        return self.loader("inherited_evidence_by_action", batch)

    @property
    def children_by_action(self) -> DataLoader[int, list[ActionRecord]]:
        """The readable actions that inherit directly from each action."""

        async def batch(src: Source, keys: list[int]) -> list[list[ActionRecord]]:
            rows = await src.rows(
                action_select()
                .where(
                    ImprovementAction.parent_id.in_(keys),
                    ImprovementAction.testing_source == TestingSource.PARENT,
                    readable_actions(src.principal),
                )
                .order_by(ImprovementAction.parent_id, ImprovementAction.id)
            )
            return _lists(keys, ((a.parent_id, ActionRecord(a, d, v)) for a, d, v in rows))

        return self.loader("children_by_action", batch)

    # -- pending updates (DOMAIN.md sections 9 and 10) ----------------------------------------

    @property
    def latest_definition_version(self) -> DataLoader[str, ActionDefinitionVersion | None]:
        """Each definition's latest version, by definition key."""

        async def batch(src: Source, keys: list[str]) -> list[ActionDefinitionVersion | None]:
            rows = await src.rows(
                select(ActionDefinition.key, ActionDefinitionVersion)
                .join(
                    ActionDefinitionVersion,
                    (ActionDefinitionVersion.definition_id == ActionDefinition.id)
                    & (ActionDefinitionVersion.version == ActionDefinition.latest_version),
                )
                .where(ActionDefinition.key.in_(keys))
            )
            return _one_each(keys, rows)

        return self.loader("latest_definition_version", batch)

    @property
    def template_update(self) -> DataLoader[int, Any]:
        """By template version id: the diff to its template's latest version (None if it is)."""

        async def batch(src: Source, keys: list[int]) -> list[Any]:
            diffs = await template_diffs(src.reader.execute, keys)
            return [diffs.get(key) for key in keys]

        return self.loader("template_update", batch)
