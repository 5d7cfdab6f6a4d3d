"""Access control (DOMAIN.md section 8): API tokens, organisation roles and scoped grants.

The worked example (tests/builders.py) is read by one user per organisation role, by an
external auditor with an ASSESSOR grant on A2 only, by a READER of "Regulation X" and by a
user with neither a role nor a grant. Writes are checked in the domain services themselves.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from strawberry.relay import to_base64

from cmgraph.domain import accounts
from cmgraph.domain.assessments import NewAssessment, create_assessment, create_group
from cmgraph.domain.enums import OrgRole, TestStatus
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.models import (
    Assessment,
    Control,
    Group,
    HistoryEntry,
    ImprovementAction,
    Regulation,
    User,
)
from cmgraph.domain.permissions import Principal, may_read_any
from cmgraph.domain.templates import import_template
from cmgraph.domain.workflow import change_action
from tests.builders import T2, WorkedExample, _template, worked_example

ROLES = [role.value for role in OrgRole]
NON_ADMINISTRATORS = ["READER", "CONTRIBUTOR", "ASSESSOR", "auditor", "x-reader", "nobody"]


# -- the world: the worked example and one user per kind of access --------------------------


@dataclass
class World:
    example: WorkedExample
    regulation_x: int
    user_ids: dict[str, int]  # "READER" ... "OWNER", "auditor", "x-reader", "nobody"
    tokens: dict[str, str]

    def action(self, name: str) -> int:
        return self.example.actions[name].id


async def add_user(
    uow: Any, name: str, role: OrgRole | None, grant: dict[str, Any]
) -> tuple[int, str]:
    """A user with an organisation role and at most one grant, and a fresh API token."""
    async with uow() as u:
        user = await accounts.create_user(u, f"{name.lower()}@org.test", name, role)
        if grant:
            await accounts.grant(u, user, **grant)
        return user.id, (await accounts.create_token(u, user, "test")).secret


@pytest.fixture
async def world(uow, owner: Principal) -> World:
    async with uow() as u:
        example = await worked_example(u, owner)
        regulation_x = await u.session.scalar(
            select(Regulation.id).where(Regulation.name == "Regulation X")
        )
    people: dict[str, tuple[OrgRole | None, dict[str, Any]]] = {
        **{role.value: (role, {}) for role in OrgRole},
        "auditor": (None, {"role": OrgRole.ASSESSOR, "assessment_id": example.a2.id}),
        "x-reader": (None, {"role": OrgRole.READER, "regulation_id": regulation_x}),
        "nobody": (None, {}),
    }
    user_ids, tokens = {}, {}
    for name, (role, grant) in people.items():
        user_ids[name], tokens[name] = await add_user(uow, name, role, grant)
    return World(example, regulation_x, user_ids, tokens)


async def principal(uow: Any, world: World, name: str) -> Principal:
    async with uow() as u:
        user = await u.session.get(User, world.user_ids[name])
        return await accounts.principal_for(u, user)


async def control_ids(uow: Any, assessment_id: int) -> list[int]:
    async with uow() as u:
        return list(
            await u.session.scalars(
                select(Control.id).where(Control.assessment_id == assessment_id)
            )
        )


async def count(uow: Any, model: Any) -> int:
    async with uow() as u:
        return int(await u.session.scalar(select(func.count()).select_from(model)))


LISTS = """
{
  viewer { role user { email } grants { role assessment { name } regulation { name } } }
  assessments { totalCount nodes { name } }
  improvementActions { totalCount nodes { title group { name } } }
  controls { totalCount nodes { key assessment { name } } }
  groups { totalCount nodes { name } }
  templates { totalCount nodes { key } }
  complianceScore {
    overall { earned possible }
    byAssessment { label score { earned possible } }
  }
}
"""

NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename
    ... on Assessment { name }
    ... on Control { key }
    ... on Group { name }
    ... on Template { key }
    ... on ImprovementAction { title assessments { name } controls { key assessment { name } } }
  }
}
"""

NODES = """
query($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename
    ... on Assessment { name }
    ... on Control { key }
    ... on ImprovementAction { title }
  }
}
"""


def names(connection: dict[str, Any], field: str = "name") -> set[str]:
    return {node[field] for node in connection["nodes"]}


def actions(connection: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(a["title"], a["group"] and a["group"]["name"]) for a in connection["nodes"]}


def overall(data: dict[str, Any]) -> tuple[float, int]:
    score = data["complianceScore"]["overall"]
    return score["earned"], score["possible"]


# -- 1. authentication: 401 with a JSON error ---------------------------------------------


@dataclass
class Credentials:
    headers: dict[str, str]
    message: str  # a part of the expected error message


@pytest.fixture
async def credentials(uow) -> dict[str, Credentials]:
    async with uow() as u:
        user = await accounts.create_user(u, "holder@org.test", "Holder", OrgRole.READER)
        valid = await accounts.create_token(u, user, "valid")
        revoked = await accounts.create_token(u, user, "revoked")
        expired = await accounts.create_token(u, user, "expired", expires_in=timedelta(seconds=-1))
        later = await accounts.create_token(u, user, "later", expires_in=timedelta(hours=1))
    async with uow() as u:
        await accounts.revoke_token(u, revoked.token.id)

    def bearer(secret: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"}

    required = "Authentication required"
    return {
        "no header": Credentials({}, required),
        "basic scheme": Credentials({"Authorization": "Basic aG9sZGVyOnNlY3JldA=="}, required),
        "bare token": Credentials({"Authorization": valid.secret}, required),
        "empty bearer": Credentials({"Authorization": "Bearer "}, required),
        "wrong token": Credentials(bearer("cmg_" + "x" * 43), "Invalid API token"),
        "revoked token": Credentials(bearer(revoked.secret), "revoked"),
        "expired token": Credentials(bearer(expired.secret), "expired"),
        "valid token": Credentials(bearer(valid.secret), ""),
        "token expiring later": Credentials(bearer(later.secret), ""),
    }


@pytest.mark.parametrize(
    "case",
    [
        "no header",
        "basic scheme",
        "bare token",
        "empty bearer",
        "wrong token",
        "revoked token",
        "expired token",
    ],
)
async def test_request_without_a_valid_token_gets_401_json(api, credentials, case) -> None:
    sent = credentials[case]
    response = await api.client.post(
        "/graphql", json={"query": "{ viewer { role } }"}, headers=sent.headers
    )
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body == {
        "errors": [
            {"message": body["errors"][0]["message"], "extensions": {"code": "UNAUTHENTICATED"}}
        ]
    }
    assert sent.message in body["errors"][0]["message"]
    assert "data" not in body


async def test_invalid_revoked_and_expired_tokens_are_told_apart(api, credentials) -> None:
    messages = set()
    for case in ("wrong token", "revoked token", "expired token", "no header"):
        response = await api.client.post(
            "/graphql", json={"query": "{ viewer { role } }"}, headers=credentials[case].headers
        )
        messages.add(response.json()["errors"][0]["message"])
    assert len(messages) == 4


@pytest.mark.parametrize("case", ["valid token", "token expiring later"])
async def test_valid_tokens_are_accepted(api, credentials, case) -> None:
    response = await api.client.post(
        "/graphql",
        json={"query": "{ viewer { role user { email } } }"},
        headers=credentials[case].headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": {"viewer": {"role": "READER", "user": {"email": "holder@org.test"}}}
    }


async def test_revoking_one_token_leaves_the_others_working(uow, api) -> None:
    async with uow() as u:
        user = await accounts.create_user(u, "two@org.test", "Two", OrgRole.READER)
        first = await accounts.create_token(u, user, "first")
        second = await accounts.create_token(u, user, "second")
    assert (await api.post("{ viewer { role } }", token=first.secret)).status_code == 200
    async with uow() as u:
        await accounts.revoke_token(u, first.token.id)
    assert (await api.post("{ viewer { role } }", token=first.secret)).status_code == 401
    assert (await api.post("{ viewer { role } }", token=second.secret)).status_code == 200


# -- 2. tokens are stored hashed ------------------------------------------------------------


async def test_token_is_stored_only_as_its_sha256(uow, api) -> None:
    async with uow() as u:
        user = await accounts.create_user(u, "hashed@org.test", "Hashed", OrgRole.READER)
        secret = (await accounts.create_token(u, user, "laptop")).secret
    async with uow() as u:
        rows = (await u.session.execute(text("SELECT * FROM api_token"))).mappings().all()
    assert len(rows) == 1
    row = rows[0]
    stored = " ".join(str(value) for value in row.values())

    assert row["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    prefix = row["prefix"]
    assert secret.startswith(prefix)
    assert len(prefix) <= len(accounts.TOKEN_PREFIX) + 6
    assert secret not in stored
    rest = secret[len(prefix) :]
    assert len(rest) >= 32
    leaked = [rest[i : i + 8] for i in range(len(rest) - 7) if rest[i : i + 8] in stored]
    assert leaked == []
    # ... and the secret still signs in.
    assert (await api.post("{ viewer { role } }", token=secret)).status_code == 200


# -- 3. every organisation role reads everything -----------------------------------------


@pytest.mark.parametrize("role", ROLES)
async def test_every_organisation_role_reads_everything(api, world, role) -> None:
    data = await api.query(LISTS, token=world.tokens[role])

    assert data["viewer"]["role"] == role
    assert data["viewer"]["user"]["email"] == f"{role.lower()}@org.test"
    assert data["viewer"]["grants"] == []
    assert names(data["assessments"]) == {"A1", "A2", "A3"}
    assert data["assessments"]["totalCount"] == 3
    assert data["improvementActions"]["totalCount"] == 5
    assert actions(data["improvementActions"]) == {
        ("T1", None),
        ("T2", None),
        ("P1", None),
        ("N1", "G1"),
        ("N1", "G2"),
    }
    assert data["controls"]["totalCount"] == 4
    assert names(data["groups"]) == {"G1", "G2"}
    assert names(data["templates"], "key") == {"x", "y", "z"}
    assert overall(data) == (39, 43)


@pytest.mark.parametrize("role", [*ROLES, "auditor", "x-reader", "nobody"])
async def test_only_owners_list_users(api, world, role) -> None:
    query = "{ users { totalCount nodes { email role } } }"
    response = await api.post(query, token=world.tokens[role])
    assert response.status_code == 200, response.text
    body = response.json()
    if role == "OWNER":
        assert "errors" not in body, body
        users = body["data"]["users"]
        assert users["totalCount"] == len(world.user_ids) + 1  # and the fixture's owner
        assert names(users, "email") == {"owner@example.test"} | {
            f"{name.lower()}@org.test" for name in world.user_ids
        }
        return
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert body["errors"][0]["path"] == ["users"]
    assert body["data"] is None or body["data"].get("users") is None
    assert "@org.test" not in response.text
    assert "@example.test" not in response.text


# -- 4. a scoped auditor sees one assessment and nothing else ----------------------------


async def test_scoped_auditor_lists_only_their_assessment(api, world) -> None:
    data = await api.query(LISTS, token=world.tokens["auditor"])

    assert data["viewer"]["role"] is None
    assert data["viewer"]["grants"] == [
        {"role": "ASSESSOR", "assessment": {"name": "A2"}, "regulation": None}
    ]
    assert data["assessments"] == {"totalCount": 1, "nodes": [{"name": "A2"}]}
    assert data["improvementActions"]["totalCount"] == 2
    assert actions(data["improvementActions"]) == {("N1", "G1"), ("T2", None)}
    assert data["controls"] == {
        "totalCount": 1,
        "nodes": [{"key": "C3", "assessment": {"name": "A2"}}],
    }
    assert data["groups"] == {"totalCount": 1, "nodes": [{"name": "G1"}]}
    assert data["templates"] == {"totalCount": 1, "nodes": [{"key": "y"}]}
    assert overall(data) == (3, 4)
    assert data["complianceScore"]["byAssessment"] == [
        {"label": "A2", "score": {"earned": 3, "possible": 4}}
    ]


async def test_scoped_auditor_sees_only_its_assessment_through_a_group(api, world) -> None:
    data = await api.query(
        "{ groups { nodes { name assessments { name } score { earned possible } } } }",
        token=world.tokens["auditor"],
    )
    # G1 also holds A1; the auditor sees A2 only, and G1's score over A2 alone.
    assert data["groups"]["nodes"] == [
        {"name": "G1", "assessments": [{"name": "A2"}], "score": {"earned": 3, "possible": 4}}
    ]


async def test_scoped_auditor_node_returns_null_outside_the_grant(uow, api, world) -> None:
    token = world.tokens["auditor"]
    (a1_control, *_) = await control_ids(uow, world.example.a1.id)
    hidden = [
        to_base64("Assessment", world.example.a1.id),
        to_base64("Assessment", world.example.a3.id),
        to_base64("Control", a1_control),
        to_base64("ImprovementAction", world.action("T1")),
        to_base64("ImprovementAction", world.action("P1")),
        to_base64("ImprovementAction", world.action("N1@G2")),
    ]
    for gid in hidden:
        assert await api.query(NODE, {"id": gid}, token=token) == {"node": None}, gid

    data = await api.query(NODE, {"id": to_base64("Assessment", world.example.a2.id)}, token=token)
    assert data == {"node": {"__typename": "Assessment", "name": "A2"}}


async def test_scoped_auditor_nodes_nulls_the_unreadable(uow, api, world) -> None:
    (a1_control, *_) = await control_ids(uow, world.example.a1.id)
    (a2_control,) = await control_ids(uow, world.example.a2.id)
    ids = [
        to_base64("Assessment", world.example.a1.id),
        to_base64("Assessment", world.example.a2.id),
        to_base64("ImprovementAction", world.action("T1")),
        to_base64("ImprovementAction", world.action("T2")),
        to_base64("Control", a1_control),
        to_base64("Control", a2_control),
    ]
    data = await api.query(NODES, {"ids": ids}, token=world.tokens["auditor"])
    assert data["nodes"] == [
        None,
        {"__typename": "Assessment", "name": "A2"},
        None,
        {"__typename": "ImprovementAction", "title": "T2"},
        None,
        {"__typename": "Control", "key": "C3"},
    ]


async def test_shared_action_shows_only_the_readable_assessment(api, world) -> None:
    # N1@G1 counts in A1 and A2; the auditor reads it through A2 and sees nothing of A1.
    gid = to_base64("ImprovementAction", world.action("N1@G1"))
    data = await api.query(NODE, {"id": gid}, token=world.tokens["auditor"])
    assert data["node"] == {
        "__typename": "ImprovementAction",
        "title": "N1",
        "assessments": [{"name": "A2"}],
        "controls": [{"key": "C3", "assessment": {"name": "A2"}}],
    }
    # An organisation reader sees both.
    data = await api.query(NODE, {"id": gid}, token=world.tokens["READER"])
    assert {a["name"] for a in data["node"]["assessments"]} == {"A1", "A2"}
    assert {c["key"] for c in data["node"]["controls"]} == {"C1", "C3"}


async def test_scoped_auditor_cannot_reach_other_groups_by_id(api, world) -> None:
    """``groups`` hides G2 from the auditor, so ``node`` must not hand it out either."""
    token = world.tokens["auditor"]
    g1, g2 = world.example.a1.group_id, world.example.a3.group_id
    data = await api.query(NODE, {"id": to_base64("Group", g1)}, token=token)
    assert data == {"node": {"__typename": "Group", "name": "G1"}}
    data = await api.query(NODE, {"id": to_base64("Group", g2)}, token=token)
    assert data == {"node": None}


async def test_scoped_auditor_cannot_reach_other_templates_by_id(api, world) -> None:
    """``templates`` shows the auditor only A2's template; ``node`` must agree."""
    token = world.tokens["auditor"]
    data = await api.query(
        NODE, {"id": to_base64("Template", world.example.a2.template_id)}, token=token
    )
    assert data == {"node": {"__typename": "Template", "key": "y"}}
    data = await api.query(
        NODE, {"id": to_base64("Template", world.example.a1.template_id)}, token=token
    )
    assert data == {"node": None}


# -- 5. a grant on a regulation covers its present and future assessments ----------------


async def test_regulation_grant_covers_present_and_future_assessments(
    uow, api, owner, world
) -> None:
    token = world.tokens["x-reader"]
    data = await api.query(LISTS, token=token)
    assert data["viewer"]["role"] is None
    assert data["viewer"]["grants"] == [
        {"role": "READER", "assessment": None, "regulation": {"name": "Regulation X"}}
    ]
    assert names(data["assessments"]) == {"A1", "A3"}
    assert actions(data["improvementActions"]) == {
        ("T1", None),
        ("P1", None),
        ("N1", "G1"),
        ("N1", "G2"),
    }
    assert names(data["groups"]) == {"G1", "G2"}
    assert names(data["templates"], "key") == {"x", "z"}
    assert {e["label"] for e in data["complianceScore"]["byAssessment"]} == {"A1", "A3"}

    async with uow() as u:
        w = await import_template(u, _template("w", "Regulation X", {"C5": (T2,)}), source="test")
        a4 = await create_assessment(
            u, owner, NewAssessment(w.template.id, "A4", new_group_name="G3")
        )
        # A Regulation Y assessment in the same new group stays out of reach.
        await create_assessment(
            u, owner, NewAssessment(world.example.a2.template_id, "A5", group_id=a4.group_id)
        )

    data = await api.query(LISTS, token=token)
    assert names(data["assessments"]) == {"A1", "A3", "A4"}
    # T2 is now readable through A4.
    assert ("T2", None) in actions(data["improvementActions"])
    assert names(data["groups"]) == {"G1", "G2", "G3"}
    assert names(data["templates"], "key") == {"x", "z", "w"}
    assert {e["label"] for e in data["complianceScore"]["byAssessment"]} == {"A1", "A3", "A4"}
    data = await api.query(NODE, {"id": to_base64("Assessment", a4.id)}, token=token)
    assert data == {"node": {"__typename": "Assessment", "name": "A4"}}


# -- 6. no role and no grant: empty, not an error -----------------------------------------


async def test_user_without_role_or_grant_sees_empty_lists(api, world) -> None:
    data = await api.query(LISTS, token=world.tokens["nobody"])
    assert data["viewer"] == {"role": None, "user": {"email": "nobody@org.test"}, "grants": []}
    for name in ("assessments", "improvementActions", "controls", "groups", "templates"):
        assert data[name] == {"totalCount": 0, "nodes": []}, name
    assert overall(data) == (0, 0)
    assert data["complianceScore"]["byAssessment"] == []


# -- 7. the domain services enforce roles, not only the API -----------------------------


@pytest.mark.parametrize("name", NON_ADMINISTRATORS)
async def test_only_administrators_create_groups_and_assessments(uow, world, name) -> None:
    actor = await principal(uow, world, name)
    before = [await count(uow, model) for model in (Assessment, Group, Control)]

    with pytest.raises(DomainError) as refused:
        async with uow() as u:
            await create_group(u, actor, "G9")
    assert refused.value.code is ErrorCode.FORBIDDEN

    for request in (
        NewAssessment(world.example.a2.template_id, "A9", new_group_name="G9"),
        NewAssessment(world.example.a3.template_id, "A9", group_id=world.example.a1.group_id),
    ):
        with pytest.raises(DomainError) as refused:
            async with uow() as u:
                await create_assessment(u, actor, request)
        assert refused.value.code is ErrorCode.FORBIDDEN

    assert [await count(uow, model) for model in (Assessment, Group, Control)] == before


@pytest.mark.parametrize("name", ["ADMINISTRATOR", "OWNER"])
async def test_administrators_create_groups_and_assessments(uow, world, name) -> None:
    actor = await principal(uow, world, name)
    async with uow() as u:
        group = await create_group(u, actor, "G9")
        await create_assessment(
            u, actor, NewAssessment(world.example.a2.template_id, "A9", group_id=group.id)
        )
    assert await count(uow, Assessment) == 4


async def test_scoped_grants_stop_at_assessor(uow, world) -> None:
    for role in (OrgRole.ADMINISTRATOR, OrgRole.OWNER):
        with pytest.raises(DomainError) as refused:
            async with uow() as u:
                user = await u.session.get(User, world.user_ids["nobody"])
                await accounts.grant(u, user, role, assessment_id=world.example.a2.id)
        assert refused.value.code is ErrorCode.INVALID


async def action_state(uow: Any, action_id: int) -> tuple[Any, ...]:
    async with uow() as u:
        a = await u.session.get(ImprovementAction, action_id)
        history = await u.session.scalar(
            select(func.count()).where(HistoryEntry.action_id == action_id)
        )
        return (
            a.implementation_notes,
            a.test_status,
            a.testing_notes,
            a.version,
            history,
        )


async def change(uow: Any, actor: Principal, action_id: int, **changes: Any) -> None:
    async with uow() as u:
        await change_action(u, actor, action_id, changes)


async def refused(uow: Any, actor: Principal, action_id: int, **changes: Any) -> None:
    """The change is refused as FORBIDDEN and nothing of it is stored."""
    before = await action_state(uow, action_id)
    with pytest.raises(DomainError) as error:
        await change(uow, actor, action_id, **changes)
    assert error.value.code is ErrorCode.FORBIDDEN
    assert await action_state(uow, action_id) == before


@pytest.mark.parametrize("name", ["READER", "x-reader", "nobody"])
async def test_readers_may_not_change_actions(uow, world, name) -> None:
    actor = await principal(uow, world, name)
    for action in ("N1@G1", "T1"):
        await refused(uow, actor, world.action(action), implementation_notes="mine")
        await refused(uow, actor, world.action(action), testing_notes="mine")


async def test_contributor_changes_implementation_but_not_test_fields(uow, world) -> None:
    actor = await principal(uow, world, "CONTRIBUTOR")
    n1 = world.action("N1@G1")

    await change(uow, actor, n1, implementation_notes="Policy published.")
    assert (await action_state(uow, n1))[0] == "Policy published."

    await refused(uow, actor, n1, testing_notes="Looks fine.")
    await refused(uow, actor, n1, test_status=TestStatus.FAILED_LOW_RISK)
    # Mixed with an allowed field, the whole change is refused.
    await refused(uow, actor, n1, implementation_notes="Other.", test_status=TestStatus.NONE)
    assert (await action_state(uow, n1))[:3] == (
        "Policy published.",
        TestStatus.PASSED,
        "",
    )


async def test_assessor_changes_test_fields(uow, world) -> None:
    actor = await principal(uow, world, "ASSESSOR")
    n1 = world.action("N1@G1")
    await change(
        uow, actor, n1, test_status=TestStatus.FAILED_LOW_RISK, testing_notes="Policy outdated."
    )
    state = await action_state(uow, n1)
    assert state[1:3] == (TestStatus.FAILED_LOW_RISK, "Policy outdated.")


async def test_scoped_auditor_edits_only_actions_of_their_assessment(uow, world) -> None:
    actor = await principal(uow, world, "auditor")
    n1 = world.action("N1@G1")  # in A1 and A2: the grant on A2 is enough
    await change(uow, actor, n1, test_status=TestStatus.FAILED_LOW_RISK, testing_notes="Seen.")
    assert (await action_state(uow, n1))[1:3] == (TestStatus.FAILED_LOW_RISK, "Seen.")

    for outside in ("T1", "N1@G2"):  # only in A1 and A3
        await refused(uow, actor, world.action(outside), testing_notes="Seen.")
        await refused(uow, actor, world.action(outside), implementation_notes="Seen.")


async def test_users_by_id_only_for_members_or_yourself(api, world) -> None:
    owner_id = to_base64("User", world.user_ids["OWNER"])
    own_id = to_base64("User", world.user_ids["auditor"])
    query = "query($id: ID!) { node(id: $id) { ... on User { email } } }"
    reader = world.tokens["READER"]
    assert (await api.query(query, {"id": owner_id}, token=reader))["node"] is not None
    auditor = world.tokens["auditor"]
    assert (await api.query(query, {"id": owner_id}, token=auditor)) == {"node": None}
    assert (await api.query(query, {"id": own_id}, token=auditor))["node"] is not None


async def test_scoped_auditor_cannot_reach_other_regulations_by_id(api, world) -> None:
    query = "query($id: ID!) { node(id: $id) { ... on Regulation { name } } }"
    x = to_base64("Regulation", world.regulation_x)
    assert (await api.query(query, {"id": x}, token=world.tokens["auditor"])) == {"node": None}
    assert (await api.query(query, {"id": x}, token=world.tokens["x-reader"])) == {
        "node": {"name": "Regulation X"}
    }


def test_in_memory_reads_follow_the_same_grants() -> None:
    """What the subscription hub checks per event: readable if any assessment is."""
    regulation_of = {1: 10, 2: 20, 3: 20}
    auditor = Principal(user_id=7, role=None, assessment_grants={1: OrgRole.ASSESSOR})
    by_regulation = Principal(user_id=8, role=None, regulation_grants={20: OrgRole.READER})
    reader = Principal(user_id=9, role=OrgRole.READER)
    assert may_read_any(auditor, [2, 1], regulation_of)
    assert not may_read_any(auditor, [2, 3], regulation_of)
    assert may_read_any(by_regulation, [3], regulation_of)
    assert not may_read_any(by_regulation, [1, 4], regulation_of)
    assert may_read_any(reader, [4], regulation_of)
    assert not may_read_any(auditor, [], regulation_of)
