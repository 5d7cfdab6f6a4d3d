"""Assessments, edits and assignment through GraphQL mutations, as a front end uses them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from strawberry.relay import from_base64, to_base64

from cmgraph.domain.enums import ChangeSource, OrgRole
from cmgraph.domain.models import Event, HistoryEntry, ImprovementAction
from cmgraph.domain.templates import import_template
from tests.builders import N1, P1, T1, T2, _template, passed, worked_example
from tests.stored_figures import scores_agree

DAY = "2026-01-15"

UPDATE_IMPLEMENTATION = """
mutation($input: UpdateImplementationInput!) {
  updateImplementation(input: $input) {
    improvementAction { id version implementationStatus implementationDate testStatus testDate
                        score { earned possible } }
    userErrors { field code message }
  }
}"""

UPDATE_TESTING = """
mutation($input: UpdateTestingInput!) {
  updateTesting(input: $input) {
    improvementAction { id version implementationStatus testStatus testDate testingNotes
                        additionalNotes score { earned possible } }
    userErrors { field code message }
  }
}"""

CREATE = """
mutation($input: CreateAssessmentInput!) {
  createAssessment(input: $input) {
    assessment { id name group { id name } score { earned possible } controls { key } }
    userErrors { field code message }
  }
}"""


def gid(type_name: str, row_id: int) -> str:
    return to_base64(type_name, row_id)


async def counts(db) -> tuple[int, int]:
    async with db.sessions() as session:
        history = await session.scalar(select(func.count()).select_from(HistoryEntry))
        events = await session.scalar(select(func.count()).select_from(Event))
    return history, events


@pytest.fixture
async def example(uow, owner):
    async with uow() as u:
        return await worked_example(u, owner)


@pytest.fixture
async def people(token_for) -> dict[str, str]:
    return {
        role.value: await token_for(f"{role.value.lower()}@staff.test", role) for role in OrgRole
    }


# -- implementation and testing --------------------------------------------------------------


async def test_edit_records_history_events_and_moves_scores(api, db, uow, example, people) -> None:
    t2 = example.actions["T2"]
    before = await counts(db)
    data = await api.query(
        UPDATE_IMPLEMENTATION,
        {
            "input": {
                "actionId": gid("ImprovementAction", t2.id),
                "version": t2.version,
                "implementationStatus": "IMPLEMENTED",
                "implementationDate": DAY,
            }
        },
        token=people["CONTRIBUTOR"],
    )
    payload = data["updateImplementation"]
    assert payload["userErrors"] == []
    action = payload["improvementAction"]
    assert (action["implementationStatus"], action["implementationDate"]) == ("IMPLEMENTED", DAY)
    assert action["version"] == t2.version + 1

    data = await api.query(
        UPDATE_TESTING,
        {
            "input": {
                "actionId": gid("ImprovementAction", t2.id),
                "version": action["version"],
                "testStatus": "PASSED",
                "testDate": DAY,
                "testingNotes": "Checked the alert rules.",
            }
        },
        token=people["ASSESSOR"],
    )
    assert data["updateTesting"]["improvementAction"]["score"] == {"earned": 1.0, "possible": 1}
    history, events = await counts(db)
    assert history - before[0] == 5  # status, date; test status, date, notes
    assert events - before[1] == 3  # implementation status, test status, score

    async with db.sessions() as session:
        score_event = (
            await session.scalars(
                select(Event).where(Event.type == "SCORE_CHANGE").order_by(Event.id.desc())
            )
        ).first()
    moved = {a["assessmentId"]: a for a in score_event.payload["assessments"]}
    assert set(moved) == {example.a2.id}  # T2 is only in A2
    assert moved[example.a2.id]["before"] == {"earned": 3.0, "possible": 4}
    assert moved[example.a2.id]["after"] == {"earned": 4.0, "possible": 4}
    assert score_event.payload["delta"] == 1.0
    await scores_agree(uow)


async def test_stale_version_gets_conflict_and_changes_nothing(api, db, example, people) -> None:
    t2 = example.actions["T2"]
    first = {"actionId": gid("ImprovementAction", t2.id), "version": t2.version}
    ok = await api.query(
        UPDATE_IMPLEMENTATION,
        {"input": {**first, "implementationStatus": "PLANNED"}},
        token=people["CONTRIBUTOR"],
    )
    assert ok["updateImplementation"]["userErrors"] == []
    before = await counts(db)
    stale = await api.query(
        UPDATE_IMPLEMENTATION,
        {"input": {**first, "implementationNotes": "overwrites someone else"}},
        token=people["CONTRIBUTOR"],
    )
    payload = stale["updateImplementation"]
    assert payload["improvementAction"] is None
    assert payload["userErrors"][0]["code"] == "CONFLICT"
    assert payload["userErrors"][0]["field"] == ["input", "version"]
    assert await counts(db) == before


@pytest.mark.parametrize(
    ("mutation", "changes", "field"),
    [
        (UPDATE_IMPLEMENTATION, {"implementationDate": DAY}, "implementationDate"),
        (
            UPDATE_IMPLEMENTATION,
            {"implementationStatus": "PARTIALLY_IMPLEMENTED"},
            "implementationStatus",
        ),
        (UPDATE_TESTING, {"testStatus": "PASSED"}, "testStatus"),
        (UPDATE_TESTING, {"testStatus": "PARTIALLY_TESTED"}, "testStatus"),
        (
            UPDATE_IMPLEMENTATION,
            {
                "implementationStatus": "IMPLEMENTED",
                "implementationDate": str(date.today() + timedelta(days=2)),
            },
            "implementationDate",
        ),
    ],
)
async def test_rules_refuse_invalid_combinations(
    api, db, example, people, mutation, changes, field
) -> None:
    t2 = example.actions["T2"]  # NOT_IMPLEMENTED
    before = await counts(db)
    data = await api.query(
        mutation,
        {"input": {"actionId": gid("ImprovementAction", t2.id), "version": t2.version, **changes}},
        token=people["ASSESSOR"],
    )
    payload = next(iter(data.values()))
    assert payload["improvementAction"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID", ["input", field])
    ]
    assert await counts(db) == before


async def test_test_date_may_not_precede_implementation(api, example, people) -> None:
    t1 = example.actions["T1"]  # implemented and passed on DAY
    data = await api.query(
        UPDATE_TESTING,
        {
            "input": {
                "actionId": gid("ImprovementAction", t1.id),
                "version": t1.version,
                "testDate": "2026-01-01",
            }
        },
        token=people["ASSESSOR"],
    )
    errors = data["updateTesting"]["userErrors"]
    assert (errors[0]["code"], errors[0]["field"]) == ("INVALID", ["input", "testDate"])


async def test_leaving_implemented_resets_date_and_test_status(
    api, db, uow, example, people
) -> None:
    t1 = example.actions["T1"]
    data = await api.query(
        UPDATE_IMPLEMENTATION,
        {
            "input": {
                "actionId": gid("ImprovementAction", t1.id),
                "version": t1.version,
                "implementationStatus": "PLANNED",
            }
        },
        token=people["CONTRIBUTOR"],
    )
    action = data["updateImplementation"]["improvementAction"]
    assert (action["implementationDate"], action["testStatus"], action["testDate"]) == (
        None,
        "NONE",
        None,
    )
    async with db.sessions() as session:
        fields = set(
            await session.scalars(
                select(HistoryEntry.field).where(
                    HistoryEntry.action_id == t1.id,
                    HistoryEntry.new_value.is_(None) | (HistoryEntry.new_value == "NONE"),
                )
            )
        )
        types = list(
            await session.scalars(
                select(Event.type).where(Event.action_id == t1.id).order_by(Event.id)
            )
        )
    assert {"implementation_date", "test_status", "test_date"} <= fields
    assert types[-3:] == ["IMPLEMENTATION_STATUS_CHANGE", "TEST_STATUS_CHANGE", "SCORE_CHANGE"]
    await scores_agree(uow)


async def test_out_of_scope_forces_test_status_and_leaves_the_score(
    api, uow, db, example, people
) -> None:
    n1 = example.actions["N1@G2"]
    data = await api.query(
        UPDATE_IMPLEMENTATION,
        {
            "input": {
                "actionId": gid("ImprovementAction", n1.id),
                "version": n1.version,
                "implementationStatus": "OUT_OF_SCOPE",
            }
        },
        token=people["CONTRIBUTOR"],
    )
    action = data["updateImplementation"]["improvementAction"]
    assert action["testStatus"] == "OUT_OF_SCOPE"
    assert action["score"] == {"earned": 0.0, "possible": 0}
    result = await api.query(
        "query($id: ID!) { node(id: $id) { ... on Assessment { score { earned possible } } } }",
        {"id": gid("Assessment", example.a3.id)},
        token=people["READER"],
    )
    assert result["node"]["score"] == {"earned": 27.0, "possible": 27}
    await scores_agree(uow)


async def test_contributors_may_not_record_tests_but_may_add_notes(api, example, people) -> None:
    t1 = example.actions["T1"]
    refused = await api.query(
        UPDATE_TESTING,
        {
            "input": {
                "actionId": gid("ImprovementAction", t1.id),
                "version": t1.version,
                "testStatus": "FAILED_LOW_RISK",
            }
        },
        token=people["CONTRIBUTOR"],
    )
    assert refused["updateTesting"]["userErrors"][0]["code"] == "FORBIDDEN"
    allowed = await api.query(
        UPDATE_TESTING,
        {
            "input": {
                "actionId": gid("ImprovementAction", t1.id),
                "version": t1.version,
                "additionalNotes": "See wiki.",
            }
        },
        token=people["CONTRIBUTOR"],
    )
    assert allowed["updateTesting"]["improvementAction"]["additionalNotes"] == "See wiki."


async def test_provider_actions_are_read_only(api, example, people) -> None:
    p1 = example.actions["P1"]
    data = await api.query(
        UPDATE_IMPLEMENTATION,
        {
            "input": {
                "actionId": gid("ImprovementAction", p1.id),
                "version": p1.version,
                "implementationNotes": "x",
            }
        },
        token=people["OWNER"],
    )
    assert data["updateImplementation"]["userErrors"][0]["code"] == "FORBIDDEN"


async def test_unknown_and_wrong_type_ids_are_not_found(api, example, people) -> None:
    for bad in (gid("ImprovementAction", 999_999), gid("Assessment", example.a1.id)):
        data = await api.query(
            UPDATE_IMPLEMENTATION,
            {"input": {"actionId": bad, "version": 1, "implementationNotes": "x"}},
            token=people["OWNER"],
        )
        assert data["updateImplementation"]["userErrors"][0]["code"] == "NOT_FOUND"


# -- the worked example, built through mutations ----------------------------------------


async def test_worked_example_through_mutations(api, uow, owner, people) -> None:
    async with uow() as u:
        templates = {
            key: (
                await import_template(u, _template(key, reg, controls), source="test")
            ).template.id
            for key, reg, controls in (
                ("x", "Regulation X", {"C1": (T1, N1), "C2": (T1, P1)}),
                ("y", "Regulation Y", {"C3": (N1, T2)}),
                ("z", "Regulation X", {"C4": (T1, N1)}),
            )
        }
    admin = people["ADMINISTRATOR"]

    async def create(template: str, name: str, **group) -> dict:
        data = await api.query(
            CREATE,
            {"input": {"templateId": gid("Template", templates[template]), "name": name, **group}},
            token=admin,
        )
        assert data["createAssessment"]["userErrors"] == []
        return data["createAssessment"]["assessment"]

    a1 = await create("x", "A1", newGroupName="G1")
    await create("y", "A2", groupId=a1["group"]["id"])
    await create("z", "A3", newGroupName="G2")

    actions = (
        await api.query(
            "{ improvementActions { nodes { id key version group { name } } } }", token=admin
        )
    )["improvementActions"]["nodes"]
    by_name = {
        a["key"].split(":")[1].upper() + (f"@{a['group']['name']}" if a["group"] else ""): a
        for a in actions
    }
    for name in ("T1", "N1@G1"):
        action = by_name[name]
        done = await api.query(
            UPDATE_IMPLEMENTATION,
            {
                "input": {
                    "actionId": action["id"],
                    "version": action["version"],
                    "implementationStatus": "IMPLEMENTED",
                    "implementationDate": DAY,
                }
            },
            token=admin,
        )
        version = done["updateImplementation"]["improvementAction"]["version"]
        tested = await api.query(
            UPDATE_TESTING,
            {
                "input": {
                    "actionId": action["id"],
                    "version": version,
                    "testStatus": "PASSED",
                    "testDate": DAY,
                }
            },
            token=admin,
        )
        assert tested["updateTesting"]["userErrors"] == []
    # The provider reports P1 passed (automation; provider actions are read-only for people).
    async with uow() as u:
        p1 = int(from_base64(by_name["P1"]["id"])[1])
        await passed(u, owner, p1, source=ChangeSource.AUTOMATION)

    data = await api.query(
        "{ assessments { nodes { name score { earned possible percent } } } complianceScore { overall { earned possible percent } } }",
        token=people["READER"],
    )
    scores = {a["name"]: a["score"] for a in data["assessments"]["nodes"]}
    assert scores == {
        "A1": {"earned": 39.0, "possible": 39, "percent": 100.0},
        "A2": {"earned": 3.0, "possible": 4, "percent": 75.0},
        "A3": {"earned": 27.0, "possible": 30, "percent": 90.0},
    }
    assert data["complianceScore"]["overall"] == {"earned": 39.0, "possible": 43, "percent": 90.7}


# -- assessments and groups --------------------------------------------------------------


async def test_assessment_rules(api, example, people) -> None:
    admin = people["ADMINISTRATOR"]
    template = gid("Template", example.a1.template_id)
    same_group = await api.query(
        CREATE,
        {
            "input": {
                "templateId": template,
                "name": "Again",
                "groupId": gid("Group", example.a1.group_id),
            }
        },
        token=admin,
    )
    assert same_group["createAssessment"]["userErrors"][0]["code"] == "DUPLICATE"
    taken = await api.query(
        CREATE, {"input": {"templateId": template, "name": "A2", "newGroupName": "G9"}}, token=admin
    )
    assert [(e["code"], e["field"]) for e in taken["createAssessment"]["userErrors"]] == [
        ("DUPLICATE", ["input", "name"])
    ]
    group_taken = await api.query(
        CREATE,
        {"input": {"templateId": template, "name": "New", "newGroupName": "G2"}},
        token=admin,
    )
    assert [(e["code"], e["field"]) for e in group_taken["createAssessment"]["userErrors"]] == [
        ("DUPLICATE", ["input", "newGroupName"])  # the input that holds the taken name
    ]
    refused = await api.query(
        CREATE,
        {"input": {"templateId": template, "name": "New", "newGroupName": "G9"}},
        token=people["ASSESSOR"],
    )
    assert refused["createAssessment"]["userErrors"][0]["code"] == "FORBIDDEN"

    rename = """mutation($input: RenameAssessmentInput!) { renameAssessment(input: $input) {
                  assessment { name } userErrors { code field } } }"""
    renamed = await api.query(
        rename,
        {"input": {"assessmentId": gid("Assessment", example.a1.id), "name": "A1 (2026)"}},
        token=admin,
    )
    assert renamed["renameAssessment"]["assessment"] == {"name": "A1 (2026)"}
    clash = await api.query(
        rename,
        {"input": {"assessmentId": gid("Assessment", example.a1.id), "name": "A2"}},
        token=admin,
    )
    assert clash["renameAssessment"]["userErrors"] == [
        {"code": "DUPLICATE", "field": ["input", "name"]}
    ]
    group = await api.query(
        """mutation($input: RenameGroupInput!) { renameGroup(input: $input) { group { name } userErrors { code } } }""",
        {"input": {"groupId": gid("Group", example.a3.group_id), "name": "Subsidiary"}},
        token=admin,
    )
    assert group["renameGroup"]["group"] == {"name": "Subsidiary"}


async def test_copy_from_group_copies_state_of_non_technical_actions(api, example, people) -> None:
    data = await api.query(
        CREATE,
        {
            "input": {
                "templateId": gid("Template", example.a2.template_id),
                "name": "A2 copy",
                "newGroupName": "G3",
                "copyFromGroupId": gid("Group", example.a1.group_id),
            }
        },
        token=people["ADMINISTRATOR"],
    )
    # N1 is passed in G1 and copied; T2 is organisation-wide and shared anyway.
    assert data["createAssessment"]["assessment"]["score"] == {"earned": 3.0, "possible": 4}


async def test_archive_freezes_the_score_and_blocks_edits(api, db, uow, example, people) -> None:
    admin = people["ADMINISTRATOR"]
    archive = """mutation($input: ArchiveAssessmentInput!) { archiveAssessment(input: $input) {
                   assessment { archived score { earned possible } } userErrors { code } } }"""
    data = await api.query(
        archive, {"input": {"assessmentId": gid("Assessment", example.a3.id)}}, token=admin
    )
    assert data["archiveAssessment"]["assessment"] == {
        "archived": True,
        "score": {"earned": 27.0, "possible": 30},
    }
    again = await api.query(
        archive, {"input": {"assessmentId": gid("Assessment", example.a3.id)}}, token=admin
    )
    assert again["archiveAssessment"]["userErrors"] == [{"code": "INVALID"}]

    # N1@G2 lives only in the archived A3: read-only now.
    n1 = example.actions["N1@G2"]
    refused = await api.query(
        UPDATE_IMPLEMENTATION,
        {
            "input": {
                "actionId": gid("ImprovementAction", n1.id),
                "version": n1.version,
                "implementationNotes": "late",
            }
        },
        token=admin,
    )
    assert refused["updateImplementation"]["userErrors"][0]["code"] == "INVALID"
    # T1 is shared with A1: editing it moves A1 but not the archived A3.
    t1 = example.actions["T1"]
    await api.query(
        UPDATE_IMPLEMENTATION,
        {
            "input": {
                "actionId": gid("ImprovementAction", t1.id),
                "version": t1.version,
                "implementationStatus": "PLANNED",
            }
        },
        token=admin,
    )
    data = await api.query(
        "query($id: ID!) { node(id: $id) { ... on Assessment { score { earned possible } } } complianceScore { overall { earned possible } } }",
        {"id": gid("Assessment", example.a3.id)},
        token=admin,
    )
    assert data["node"]["score"] == {"earned": 27.0, "possible": 30}
    assert data["complianceScore"]["overall"] == {"earned": 12.0, "possible": 40}


async def test_delete_removes_only_actions_nothing_else_uses(api, db, example, people) -> None:
    delete = """mutation($input: DeleteAssessmentInput!) { deleteAssessment(input: $input) {
                  deletedAssessmentId actionsRemoved userErrors { code } } }"""
    assessment_id = gid("Assessment", example.a3.id)
    refused = await api.query(
        delete, {"input": {"assessmentId": assessment_id}}, token=people["ASSESSOR"]
    )
    assert refused["deleteAssessment"]["userErrors"] == [{"code": "FORBIDDEN"}]
    data = await api.query(
        delete, {"input": {"assessmentId": assessment_id}}, token=people["ADMINISTRATOR"]
    )
    assert data["deleteAssessment"] == {
        "deletedAssessmentId": assessment_id,
        "actionsRemoved": 1,
        "userErrors": [],
    }
    async with db.sessions() as session:
        remaining = set(await session.scalars(select(ImprovementAction.id)))
    assert example.actions["N1@G2"].id not in remaining
    assert example.actions["T1"].id in remaining  # still used by A1
    gone = await api.query(
        "query($id: ID!) { node(id: $id) { id } }", {"id": assessment_id}, token=people["OWNER"]
    )
    assert gone == {"node": None}


# -- sharing across OSCAL baselines -----------------------------------------------------


async def test_sharing_between_baselines_follows_the_groups(api, uow, owner, people) -> None:
    from cmgraph.exchange.oscal_catalog import import_catalog
    from tests.conftest import oscal_file

    async with uow() as u:
        low = await import_catalog(
            u, oscal_file("NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json")
        )
        moderate = await import_catalog(
            u, oscal_file("NIST_SP-800-53_rev5_MODERATE-baseline-resolved-profile_catalog-min.json")
        )
    admin = people["ADMINISTRATOR"]
    a_low = (
        await api.query(
            CREATE,
            {
                "input": {
                    "templateId": gid("Template", low.template.id),
                    "name": "Low",
                    "newGroupName": "Main",
                }
            },
            token=admin,
        )
    )["createAssessment"]["assessment"]
    await api.query(
        CREATE,
        {
            "input": {
                "templateId": gid("Template", moderate.template.id),
                "name": "Moderate",
                "groupId": a_low["group"]["id"],
            }
        },
        token=admin,
    )
    await api.query(
        CREATE,
        {
            "input": {
                "templateId": gid("Template", low.template.id),
                "name": "Low elsewhere",
                "newGroupName": "Other",
            }
        },
        token=admin,
    )

    async def action(key: str, assessment: str) -> dict:
        data = await api.query(
            """query($s: String) { assessments(filter: {search: $s}) { nodes { name
                 controls { key actions { id key version implementationNotes } } } } }""",
            {"s": assessment},
            token=admin,
        )
        node = next(n for n in data["assessments"]["nodes"] if n["name"] == assessment)
        return next(a for c in node["controls"] for a in c["actions"] if a["key"] == key)

    document = "nist-sp-800-53-r5:ac-1:examine"  # DOCUMENTATION: one per group
    technical = "nist-sp-800-53-r5:ac-2:test"  # TECHNICAL: one for the organisation
    for key, note in ((document, "policy signed"), (technical, "SSO enforced")):
        target = await action(key, "Low")
        done = await api.query(
            UPDATE_IMPLEMENTATION,
            {
                "input": {
                    "actionId": target["id"],
                    "version": target["version"],
                    "implementationNotes": note,
                }
            },
            token=admin,
        )
        assert done["updateImplementation"]["userErrors"] == []
    assert (await action(document, "Moderate"))["implementationNotes"] == "policy signed"
    assert (await action(document, "Low elsewhere"))["implementationNotes"] == ""
    for name in ("Low", "Moderate", "Low elsewhere"):
        assert (await action(technical, name))["implementationNotes"] == "SSO enforced"


# -- assignment and user history -----------------------------------------------------------

ASSIGN = """
mutation($input: AssignImprovementActionsInput!) {
  assignImprovementActions(input: $input) {
    improvementActions { id assignee { email } assignmentNotes }
    userErrors { field code message }
  }
}"""


async def test_assign_reassign_and_unassign(api, db, uow, example, people, token_for) -> None:
    admin = people["ADMINISTRATOR"]
    users = (await api.query("{ users { nodes { id email } } }", token=people["OWNER"]))["users"][
        "nodes"
    ]
    uid = {u["email"]: u["id"] for u in users}
    ids = [gid("ImprovementAction", example.actions[n].id) for n in ("T1", "T2", "N1@G1")]
    data = await api.query(
        ASSIGN,
        {
            "input": {
                "actionIds": ids,
                "assigneeId": uid["contributor@staff.test"],
                "notes": "Due in March",
                "notify": True,
            }
        },
        token=admin,
    )
    payload = data["assignImprovementActions"]
    assert payload["userErrors"] == []
    assert {a["assignee"]["email"] for a in payload["improvementActions"]} == {
        "contributor@staff.test"
    }
    assert {a["assignmentNotes"] for a in payload["improvementActions"]} == {"Due in March"}
    async with db.sessions() as session:
        events = list(await session.scalars(select(Event).where(Event.type == "ASSIGNMENT_CHANGE")))
    assert len(events) == 3 and all(e.payload["notify"] for e in events)

    filtered = await api.query(
        "query($u: [ID!]) { improvementActions(filter: {assigneeIds: $u}) { totalCount } }",
        {"u": [uid["contributor@staff.test"]]},
        token=admin,
    )
    assert filtered["improvementActions"]["totalCount"] == 3

    moved = await api.query(
        """mutation($input: ReassignUserActionsInput!) { reassignUserActions(input: $input) {
             reassignedCount userErrors { code } } }""",
        {
            "input": {
                "fromUserId": uid["contributor@staff.test"],
                "toUserId": uid["assessor@staff.test"],
            }
        },
        token=admin,
    )
    assert moved["reassignUserActions"] == {"reassignedCount": 3, "userErrors": []}

    unassigned = await api.query(
        ASSIGN, {"input": {"actionIds": ids[:1], "assigneeId": None}}, token=admin
    )
    assert unassigned["assignImprovementActions"]["improvementActions"][0]["assignee"] is None

    # Someone who cannot see an action cannot be given it.
    outsider = await token_for("outsider@example.test", None)
    outsider_id = (await api.query("{ viewer { user { id } } }", token=outsider))["viewer"]["user"][
        "id"
    ]
    refused = await api.query(
        ASSIGN, {"input": {"actionIds": ids, "assigneeId": outsider_id}}, token=admin
    )
    assert refused["assignImprovementActions"]["userErrors"][0]["field"] == ["input", "assigneeId"]


async def test_assignment_is_all_or_nothing(api, db, example, people) -> None:
    users = (await api.query("{ users { nodes { id email } } }", token=people["OWNER"]))["users"][
        "nodes"
    ]
    reader_id = next(u["id"] for u in users if u["email"] == "reader@staff.test")
    before = await counts(db)
    ids = [
        gid("ImprovementAction", example.actions["T1"].id),
        gid("ImprovementAction", example.actions["P1"].id),
    ]
    data = await api.query(
        ASSIGN,
        {"input": {"actionIds": ids, "assigneeId": reader_id}},
        token=people["ADMINISTRATOR"],
    )
    assert (
        data["assignImprovementActions"]["userErrors"][0]["code"] == "FORBIDDEN"
    )  # P1 is a provider action
    assert await counts(db) == before
    async with db.sessions() as session:
        assert (
            await session.scalar(
                select(ImprovementAction.assignee_id).where(
                    ImprovementAction.id == example.actions["T1"].id
                )
            )
            is None
        )


async def test_delete_user_history_shows_a_removed_user(api, db, example, people) -> None:
    owner = people["OWNER"]
    users = (await api.query("{ users { nodes { id email } } }", token=owner))["users"]["nodes"]
    contributor = next(u["id"] for u in users if u["email"] == "contributor@staff.test")
    t2 = gid("ImprovementAction", example.actions["T2"].id)
    await api.query(ASSIGN, {"input": {"actionIds": [t2], "assigneeId": contributor}}, token=owner)
    refused = await api.query(
        """mutation($input: DeleteUserHistoryInput!) { deleteUserHistory(input: $input) { unassignedCount userErrors { code } } }""",
        {"input": {"userId": contributor}},
        token=people["ADMINISTRATOR"],
    )
    assert refused["deleteUserHistory"]["userErrors"] == [{"code": "FORBIDDEN"}]
    data = await api.query(
        """mutation($input: DeleteUserHistoryInput!) { deleteUserHistory(input: $input) { unassignedCount userErrors { code } } }""",
        {"input": {"userId": contributor}},
        token=owner,
    )
    assert data["deleteUserHistory"] == {"unassignedCount": 1, "userErrors": []}
    history = await api.query(
        "query($id: ID!) { node(id: $id) { ... on ImprovementAction { assignee { id } history { field oldValue newValue } } } }",
        {"id": t2},
        token=owner,
    )
    node = history["node"]
    assert node["assignee"] is None
    values = {(h["oldValue"], h["newValue"]) for h in node["history"] if h["field"] == "assignee"}
    assert values == {(None, "(removed user)"), ("(removed user)", None)}


# -- nothing half-applied --------------------------------------------------------------------


async def test_a_mutation_failing_half_way_leaves_nothing(
    api, db, uow, example, people, monkeypatch
) -> None:
    from cmgraph.domain import workflow

    async def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(workflow, "apply_delta", fail)  # after history and events were added
    t2 = example.actions["T2"]
    before = await counts(db)
    response = await api.post(
        UPDATE_IMPLEMENTATION,
        {
            "input": {
                "actionId": gid("ImprovementAction", t2.id),
                "version": t2.version,
                "implementationStatus": "OUT_OF_SCOPE",
            }
        },
        token=people["CONTRIBUTOR"],
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert await counts(db) == before
    async with db.sessions() as session:
        action = await session.get(ImprovementAction, t2.id)
    assert (action.implementation_status.value, action.version) == ("NOT_IMPLEMENTED", t2.version)
    await scores_agree(uow)
