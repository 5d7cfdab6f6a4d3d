"""``people``: whoever may assign work finds the person to assign it to."""

from __future__ import annotations

from typing import Any

from strawberry.relay import to_base64

from cmgraph.domain import accounts
from cmgraph.domain.enums import OrgRole
from tests.builders import worked_example

PEOPLE = """query($search: String, $first: Int) {
  people(search: $search, first: $first) { totalCount nodes { id name email } } }"""
ASSIGN = """mutation($input: AssignImprovementActionsInput!) {
  assignImprovementActions(input: $input) {
    improvementActions { assignee { email } } userErrors { code } } }"""


async def test_contributors_find_people_by_name_or_email_and_assign_them(
    api: Any, uow: Any, owner: Any, token_for: Any
) -> None:
    async with uow() as u:
        example = await worked_example(u, owner)
        await accounts.create_user(u, "zed@example.test", "Zed Zimmer", OrgRole.READER)
        await accounts.create_user(u, "robot@example.test", "Zed Robot", None, is_automation=True)
    contributor = await token_for("carl@example.test", OrgRole.CONTRIBUTOR)
    found = (await api.query(PEOPLE, {"search": "zed"}, token=contributor))["people"]
    assert found["totalCount"] == 1  # automation accounts are not people to assign
    [zed] = found["nodes"]
    assert zed == {"id": zed["id"], "name": "Zed Zimmer", "email": "zed@example.test"}
    by_email = await api.query(PEOPLE, {"search": "example.test", "first": 2}, token=contributor)
    names = [p["name"] for p in by_email["people"]["nodes"]]
    assert names == sorted(names) and len(names) == 2
    assert by_email["people"]["totalCount"] == 3  # Olivia Owner, Carl, Zed
    action = to_base64("ImprovementAction", example.actions["T2"].id)
    assigned = await api.query(
        ASSIGN,
        {"input": {"actionIds": [action], "assigneeId": zed["id"]}},
        token=await token_for("admin@example.test", OrgRole.ADMINISTRATOR),
    )
    assert assigned["assignImprovementActions"]["improvementActions"] == [
        {"assignee": {"email": "zed@example.test"}}
    ]


async def test_only_those_who_may_assign_work_search_people(
    api: Any, uow: Any, owner: Any, token_for: Any
) -> None:
    async with uow() as u:
        example = await worked_example(u, owner)
    scoped = await token_for(
        "scoped@example.test",
        None,
        grant_role=OrgRole.CONTRIBUTOR,
        assessment_id=example.a1.id,
    )
    assert (await api.query(PEOPLE, token=scoped))["people"]["totalCount"] >= 1
    for token in (
        await token_for("reader@example.test", OrgRole.READER),
        await token_for("looker@example.test", None, assessment_id=example.a1.id),
    ):
        errors = await api.errors(PEOPLE, token=token)
        assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
    contributor = await token_for("carl@example.test", OrgRole.CONTRIBUTOR)
    errors = await api.errors(PEOPLE, {"search": "a\x00"}, token=contributor)
    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"]
