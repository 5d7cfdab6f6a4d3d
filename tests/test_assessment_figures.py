"""An assessment's figures beside its score (issue 13, point 4): completed actions by owner,
its last change, archived ones left out of the list unless asked for, the same counts in
the report."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import openpyxl
import pytest
from strawberry.relay import to_base64

from cmgraph.domain import clock
from cmgraph.domain.enums import ImplementationStatus, OrgRole
from cmgraph.domain.templates import ControlSpec, TemplateSpec, import_template
from cmgraph.domain.workflow import change_action
from tests.builders import N1, T2, WorkedExample, worked_example
from tests.report_data import count_statements

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

FIGURES = """
query($filter: AssessmentFilter) {
  assessments(filter: $filter, orderBy: {field: NAME}) { nodes {
    name
    customerActionCounts { completed total }
    providerActionCounts { completed total }
    lastModifiedAt
  } }
}
"""


@pytest.fixture
def frozen() -> Iterator[None]:
    clock.freeze(T0)
    try:
        yield
    finally:
        clock.reset()


@pytest.fixture
async def example(uow, owner, frozen) -> WorkedExample:
    async with uow() as u:
        return await worked_example(u, owner)


@pytest.fixture
async def admin(token_for) -> str:
    return await token_for("admin@example.test", OrgRole.ADMINISTRATOR)


def gid(kind: str, row_id: int) -> str:
    return to_base64(kind, row_id)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def figures(api, token: str, **filter: Any) -> dict[str, dict[str, Any]]:
    data = await api.query(FIGURES, {"filter": filter or None}, token=token)
    return {a["name"]: a for a in data["assessments"]["nodes"]}


def counts(assessment: dict[str, Any]) -> tuple[tuple[int, int], tuple[int, int]]:
    c, p = assessment["customerActionCounts"], assessment["providerActionCounts"]
    return (c["completed"], c["total"]), (p["completed"], p["total"])


async def test_completed_actions_by_owner(api, uow, owner, example, token_for) -> None:
    reader = await token_for("reader@example.test", OrgRole.READER)
    shown = await figures(api, reader)
    # A1: T1 and N1@G1 passed (T1 meets two controls, counted once); P1 passed (provider).
    assert counts(shown["A1"]) == ((2, 2), (1, 1))
    # A2: N1@G1 passed, T2 not implemented; no provider action.
    assert counts(shown["A2"]) == ((1, 2), (0, 0))
    # A3: T1 passed; its own N1@G2 not.
    assert counts(shown["A3"]) == ((1, 2), (0, 0))

    # Out of scope leaves both counts, as it leaves both earned and possible.
    async with uow() as u:
        status = {"implementation_status": ImplementationStatus.OUT_OF_SCOPE}
        await change_action(u, owner, example.actions["T2"].id, status)
    assert counts((await figures(api, reader))["A2"]) == ((1, 1), (0, 0))


async def test_a_page_of_assessments_reads_its_figures_in_one_statement(
    api, db, example, token_for
) -> None:
    reader = await token_for("reader@example.test", OrgRole.READER)
    await api.query("{ viewer { user { name } } }", token=reader)  # stamps the token's use
    plain = "{ assessments { nodes { name score { percent } } } }"
    with count_statements(db.engine) as without:
        await api.query(plain, token=reader)
    with count_statements(db.engine) as with_figures:
        shown = await figures(api, reader)
    assert len(shown) == 3
    assert len(with_figures) == len(without) + 1


async def test_last_modified_follows_actions_renames_archives_and_updates(
    api, uow, owner, example, admin
) -> None:
    shown = await figures(api, admin)
    assert {name: when(a["lastModifiedAt"]) for name, a in shown.items()} == {
        "A1": T0,
        "A2": T0,
        "A3": T0,
    }

    # T2 is only in A2: an edit of it moves A2 alone.
    clock.advance(timedelta(hours=1))
    async with uow() as u:
        status = {"implementation_status": ImplementationStatus.PLANNED}
        await change_action(u, owner, example.actions["T2"].id, status)
    shown = await figures(api, admin)
    assert when(shown["A2"]["lastModifiedAt"]) == T0 + timedelta(hours=1)
    assert when(shown["A1"]["lastModifiedAt"]) == T0

    clock.advance(timedelta(hours=1))
    renamed = await api.query(
        """mutation($input: RenameAssessmentInput!) { renameAssessment(input: $input) {
             assessment { lastModifiedAt } userErrors { code } } }""",
        {"input": {"assessmentId": gid("Assessment", example.a1.id), "name": "A1 renamed"}},
        token=admin,
    )
    assert renamed["renameAssessment"]["userErrors"] == []
    assert when(renamed["renameAssessment"]["assessment"]["lastModifiedAt"]) == T0 + timedelta(
        hours=2
    )

    clock.advance(timedelta(hours=1))
    archived = await api.query(
        """mutation($input: ArchiveAssessmentInput!) { archiveAssessment(input: $input) {
             userErrors { code } } }""",
        {"input": {"assessmentId": gid("Assessment", example.a3.id)}},
        token=admin,
    )
    assert archived["archiveAssessment"]["userErrors"] == []
    shown = await figures(api, admin, archived=True)
    assert when(shown["A3"]["lastModifiedAt"]) == T0 + timedelta(hours=3)

    # A new version of A2's template, accepted: the assessment changed though no action did.
    clock.advance(timedelta(hours=1))
    async with uow() as u:
        await import_template(
            u,
            TemplateSpec(
                key="y",
                title="Y",
                regulation="Regulation Y",
                product="Worked example",
                controls=(
                    ControlSpec("C3", "Family", "Control C3", action_keys=(N1.key, T2.key)),
                    ControlSpec("C5", "Family", "Control C5", action_keys=(T2.key,)),
                ),
                actions=(N1, T2),
            ),
            source="test",
        )
    accepted = await api.query(
        """mutation($input: AcceptAssessmentUpdateInput!) { acceptAssessmentUpdate(input: $input) {
             assessment { lastModifiedAt } userErrors { code } } }""",
        {"input": {"assessmentId": gid("Assessment", example.a2.id)}},
        token=admin,
    )
    assert accepted["acceptAssessmentUpdate"]["userErrors"] == []
    assert when(accepted["acceptAssessmentUpdate"]["assessment"]["lastModifiedAt"]) == (
        T0 + timedelta(hours=4)
    )


async def test_archived_assessments_are_listed_only_when_asked_for(
    api, example, admin, token_for
) -> None:
    await api.query(
        """mutation($input: ArchiveAssessmentInput!) { archiveAssessment(input: $input) {
             userErrors { code } } }""",
        {"input": {"assessmentId": gid("Assessment", example.a3.id)}},
        token=admin,
    )
    reader = await token_for("reader@example.test", OrgRole.READER)
    listed = "query($f: AssessmentFilter) { assessments(filter: $f) { totalCount nodes { name } } }"

    async def names(variables: dict[str, Any]) -> list[str]:
        data = await api.query(listed, variables, token=reader)
        return [a["name"] for a in data["assessments"]["nodes"]]

    assert await names({}) == ["A1", "A2"]  # no filter: active ones
    assert await names({"f": {"search": "A"}}) == ["A1", "A2"]  # a filter without the field
    assert await names({"f": {"archived": False}}) == ["A1", "A2"]
    assert await names({"f": {"archived": True}}) == ["A3"]
    assert await names({"f": {"archived": None}}) == ["A1", "A2", "A3"]  # null: both


async def test_the_report_shows_the_same_figures(api, example, token_for) -> None:
    reader = await token_for("reader@example.test", OrgRole.READER)
    shown = await figures(api, reader)
    data = await api.query(
        "query($id: ID!) { node(id: $id) { ... on Assessment { reportExport { url } } } }",
        {"id": gid("Assessment", example.a2.id)},
        token=reader,
    )
    url = urlsplit(data["node"]["reportExport"]["url"])
    response = await api.client.get(f"{url.path}?{url.query}")
    assert response.status_code == 200, response.text
    sheet = openpyxl.load_workbook(io.BytesIO(response.content))["Summary"]
    summary = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    (customer_done, customer_all), (provider_done, provider_all) = counts(shown["A2"])
    assert (
        (
            summary["Customer actions completed"],
            summary["Customer actions in scope"],
            summary["Provider actions completed"],
            summary["Provider actions in scope"],
        )
        == (customer_done, customer_all, provider_done, provider_all)
        == (1, 2, 0, 0)
    )
    last = summary["Last modified (UTC)"]
    assert last.replace(tzinfo=UTC) == when(shown["A2"]["lastModifiedAt"])
