"""Evidence links (DOMAIN.md section 6): validation, permission, history and events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cmgraph.domain import accounts
from cmgraph.domain.assessments import NewAssessment, create_assessment
from cmgraph.domain.enums import (
    AutomaticTesting,
    ChangeSource,
    Enforcement,
    EventType,
    EvidenceKind,
    ImplementationType,
    OrgRole,
    Owner,
    Purpose,
    TestingSource,
)
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.evidence import add_evidence_link, delete_evidence
from cmgraph.domain.models import (
    ActionDefinition,
    Assessment,
    Event,
    Evidence,
    HistoryEntry,
    ImprovementAction,
    utcnow,
)
from cmgraph.domain.organisation import organisation
from cmgraph.domain.people import grant_access
from cmgraph.domain.permissions import Principal
from cmgraph.domain.templates import ActionSpec, ControlSpec, TemplateSpec, import_template

SPEC = TemplateSpec(
    key="evidence-test",
    title="Evidence test",
    regulation="Evidence test regulation",
    product="Test",
    controls=(
        ControlSpec("C1", "F", "Control one", action_keys=("ev:doc", "ev:tech")),
        ControlSpec("C2", "F", "Control two", action_keys=("ev:provider", "ev:auto")),
    ),
    actions=(
        ActionSpec("ev:doc", "Write it down", ImplementationType.DOCUMENTATION,
                   Enforcement.MANDATORY, Purpose.PREVENTATIVE),
        ActionSpec("ev:tech", "Configure it", ImplementationType.TECHNICAL,
                   Enforcement.MANDATORY, Purpose.DETECTIVE),
        ActionSpec("ev:provider", "Provider does it", ImplementationType.TECHNICAL,
                   Enforcement.MANDATORY, Purpose.PREVENTATIVE, owner=Owner.PROVIDER),
        ActionSpec("ev:auto", "Automatically tested", ImplementationType.TECHNICAL,
                   Enforcement.DISCRETIONARY, Purpose.PREVENTATIVE,
                   automatic_testing_available=True),
    ),
)  # fmt: skip


@dataclass
class World:
    owner: Principal
    contributor: Principal
    reader: Principal
    assessment_id: int
    actions: dict[str, int]


@pytest.fixture
async def world(uow, owner: Principal) -> World:
    async with uow() as u:
        # Every action starts MANUAL (made under OFF_FOR_ALL): the tests choose what is automatic.
        (await organisation(u)).automatic_testing = AutomaticTesting.OFF_FOR_ALL
        imported = await import_template(u, SPEC, source="test")
        assessment = await create_assessment(
            u, owner, NewAssessment(imported.template.id, "Evidence A", new_group_name="G")
        )
        (await organisation(u)).automatic_testing = AutomaticTesting.PER_ACTION
        contributor = await accounts.create_user(
            u, "contributor@example.test", "Carl Contributor", OrgRole.CONTRIBUTOR
        )
        reader = await accounts.create_user(u, "reader@example.test", "Rita Reader", OrgRole.READER)
        rows = await u.session.execute(
            select(ActionDefinition.key, ImprovementAction.id).join(
                ImprovementAction, ImprovementAction.definition_id == ActionDefinition.id
            )
        )
        return World(
            owner,
            await accounts.principal_for(u, contributor),
            await accounts.principal_for(u, reader),
            assessment.id,
            {key: action_id for key, action_id in rows},
        )


async def _counts(uow) -> tuple[int, int, int]:
    async with uow() as u:
        return tuple(  # type: ignore[return-value]
            [
                await u.session.scalar(select(func.count()).select_from(model))
                for model in (Evidence, HistoryEntry, Event)
            ]
        )


async def test_valid_link_is_stored_with_uploader_time_history_and_event(uow, world: World):
    before = utcnow()
    async with uow() as u:
        evidence = await add_evidence_link(
            u,
            world.contributor,
            world.actions["ev:doc"],
            "  Policy on the wiki  ",
            " https://wiki.example.test/policies/access?v=3#top ",
        )
    async with uow() as u:
        stored = await u.session.get(Evidence, evidence.id)
        assert stored is not None
        assert stored.kind is EvidenceKind.LINK
        assert stored.name == "Policy on the wiki"
        assert stored.url == "https://wiki.example.test/policies/access?v=3#top"
        assert stored.uploaded_by_id == world.contributor.user_id
        assert before - timedelta(seconds=1) <= stored.uploaded_at <= utcnow()
        assert stored.sha256 is None and stored.size is None

        history = (await u.session.scalars(select(HistoryEntry))).all()
        assert [(h.field, h.old_value, h.new_value, h.source) for h in history] == [
            ("evidence", None, "added link Policy on the wiki", ChangeSource.USER)
        ]
        assert history[0].actor_id == world.contributor.user_id
        events = (await u.session.scalars(select(Event))).all()
        assert len(events) == 1
        assert events[0].type == EventType.EVIDENCE_CHANGE.value
        assert events[0].action_id == world.actions["ev:doc"]
        assert events[0].payload["assessmentIds"] == [world.assessment_id]
        assert events[0].payload["evidenceId"] == evidence.id
        assert events[0].payload["change"] == "ADDED"
        assert events[0].payload["kind"] == "LINK"
        assert events[0].payload["name"] == "Policy on the wiki"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://files.example.test/report.pdf",
        "javascript:alert(1)",
        "JavaScript://%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "/relative/path/report.pdf",
        "report.pdf",
        "wiki.example.test/page",
        "//wiki.example.test/page",
        "http://",
        "https:///no-host",
        "http://wiki.example.test:99999/",
        "https://wiki.example.test/a b",
        "",
        "https://example.test/" + "a" * 2000,
    ],
)
async def test_bad_urls_are_refused_and_nothing_is_written(uow, world: World, url: str):
    before = await _counts(uow)
    with pytest.raises(DomainError) as caught:
        async with uow() as u:
            await add_evidence_link(u, world.contributor, world.actions["ev:doc"], "Link", url)
    assert caught.value.code is ErrorCode.INVALID
    assert caught.value.field == "url"
    assert await _counts(uow) == before


@pytest.mark.parametrize("name", ["", "   ", "x" * 301])
async def test_bad_names_are_refused(uow, world: World, name: str):
    before = await _counts(uow)
    with pytest.raises(DomainError) as caught:
        async with uow() as u:
            await add_evidence_link(
                u, world.contributor, world.actions["ev:doc"], name, "https://example.test/"
            )
    assert caught.value.code is ErrorCode.INVALID
    assert caught.value.field == "name"
    assert await _counts(uow) == before


async def test_http_with_port_and_uppercase_scheme_is_accepted(uow, world: World):
    async with uow() as u:
        evidence = await add_evidence_link(
            u, world.owner, world.actions["ev:tech"], "Dashboard", "HTTP://intranet:8080/x"
        )
    assert evidence.url == "HTTP://intranet:8080/x"


async def test_reader_is_refused(uow, world: World):
    before = await _counts(uow)
    with pytest.raises(DomainError) as caught:
        async with uow() as u:
            await add_evidence_link(
                u, world.reader, world.actions["ev:doc"], "Link", "https://example.test/"
            )
    assert caught.value.code is ErrorCode.FORBIDDEN
    assert await _counts(uow) == before


async def test_scoped_grants_decide(uow, world: World):
    async with uow() as u:
        outsider = await accounts.create_user(u, "ext@example.test", "Ext Auditor", None)
        await accounts.grant(u, outsider, OrgRole.READER, assessment_id=world.assessment_id)
        as_reader = await accounts.principal_for(u, outsider)
    with pytest.raises(DomainError) as caught:
        async with uow() as u:
            await add_evidence_link(
                u, as_reader, world.actions["ev:doc"], "Link", "https://example.test/"
            )
    assert caught.value.code is ErrorCode.FORBIDDEN

    async with uow() as u:
        user = await accounts.user_by_email(u, "ext@example.test")
        # The same scope again: the grant takes the new role (one grant per person and scope).
        await grant_access(u, None, user.id, OrgRole.CONTRIBUTOR, assessment_id=world.assessment_id)
        as_contributor = await accounts.principal_for(u, user)
    async with uow() as u:
        evidence = await add_evidence_link(
            u, as_contributor, world.actions["ev:doc"], "Link", "https://example.test/"
        )
    assert evidence.uploaded_by_id == as_contributor.user_id


async def test_provider_actions_refuse_evidence(uow, world: World):
    with pytest.raises(DomainError) as caught:
        async with uow() as u:
            await add_evidence_link(
                u, world.owner, world.actions["ev:provider"], "Link", "https://example.test/"
            )
    assert caught.value.code is ErrorCode.FORBIDDEN


async def test_unknown_action_is_not_found(uow, world: World):
    with pytest.raises(DomainError) as caught:
        async with uow() as u:
            await add_evidence_link(u, world.owner, 987654, "Link", "https://example.test/")
    assert caught.value.code is ErrorCode.NOT_FOUND


async def test_archived_only_action_is_refused(uow, world: World):
    async with uow() as u:
        assessment = await u.session.get(Assessment, world.assessment_id)
        assert assessment is not None
        assessment.archived_at = utcnow()
    before = await _counts(uow)
    with pytest.raises(DomainError) as caught:
        async with uow() as u:
            await add_evidence_link(
                u, world.owner, world.actions["ev:doc"], "Link", "https://example.test/"
            )
    assert caught.value.code is ErrorCode.INVALID
    assert await _counts(uow) == before


async def test_evidence_on_automatic_action_switches_it_to_manual(uow, world: World):
    action_id = world.actions["ev:auto"]
    async with uow() as u:
        # No service switches automation on yet; set the precondition directly.
        action = await u.session.get(ImprovementAction, action_id)
        assert action is not None
        action.testing_source = TestingSource.AUTOMATIC
    async with uow() as u:
        await add_evidence_link(u, world.contributor, action_id, "Scan", "https://example.test/")
    async with uow() as u:
        action = await u.session.get(ImprovementAction, action_id)
        assert action is not None
        assert action.testing_source is TestingSource.MANUAL
        assert action.version == 2
        fields = await u.session.scalars(
            select(HistoryEntry.field)
            .where(HistoryEntry.action_id == action_id)
            .order_by(HistoryEntry.id)
        )
        assert fields.all() == ["evidence", "testing_source"]


async def test_callers_who_cannot_read_the_action_get_not_found(uow, world: World):
    async with uow() as u:
        stranger = await accounts.create_user(u, "nobody@example.test", "No Body", None)
        as_stranger = await accounts.principal_for(u, stranger)
    with pytest.raises(DomainError) as caught:
        async with uow() as u:
            await add_evidence_link(
                u, as_stranger, world.actions["ev:doc"], "Link", "https://example.test/"
            )
    assert caught.value.code is ErrorCode.NOT_FOUND


async def test_deleting_a_link_writes_history_and_event(uow, world: World):
    async with uow() as u:
        link = await add_evidence_link(
            u, world.contributor, world.actions["ev:doc"], "Wiki", "https://example.test/"
        )
    async with uow() as u:
        removed = await delete_evidence(u, world.contributor, link.id)
    assert removed.id == link.id
    async with uow() as u:
        assert await u.session.get(Evidence, link.id) is None
        history = await u.session.scalars(select(HistoryEntry.new_value).order_by(HistoryEntry.id))
        assert history.all() == ["added link Wiki", "removed link Wiki"]
        event = await u.session.scalar(select(Event).order_by(Event.id.desc()).limit(1))
        assert event is not None
        assert event.type == EventType.EVIDENCE_CHANGE.value
        assert (event.payload["change"], event.payload["kind"]) == ("REMOVED", "LINK")
        assert event.payload["evidenceId"] == link.id


async def test_deletion_checks_access_and_archive(uow, world: World):
    async with uow() as u:
        link = await add_evidence_link(
            u, world.contributor, world.actions["ev:doc"], "Wiki", "https://example.test/"
        )
    with pytest.raises(DomainError) as caught:
        async with uow() as u:
            await delete_evidence(u, world.reader, link.id)
    assert caught.value.code is ErrorCode.FORBIDDEN
    with pytest.raises(DomainError) as caught:
        async with uow() as u:
            await delete_evidence(u, world.contributor, 987654)
    assert caught.value.code is ErrorCode.NOT_FOUND

    async with uow() as u:
        assessment = await u.session.get(Assessment, world.assessment_id)
        assert assessment is not None
        assessment.archived_at = utcnow()
    before = await _counts(uow)
    with pytest.raises(DomainError) as caught:
        async with uow() as u:
            await delete_evidence(u, world.owner, link.id)
    assert caught.value.code is ErrorCode.INVALID
    assert await _counts(uow) == before
