"""OSCAL assessment results: downloaded through the API's link, validated with
compliance-trestle (an independent OSCAL implementation), and read as an auditor would."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
import pytest
from sqlalchemy import select
from strawberry.relay import to_base64
from trestle.oscal.assessment_results import AssessmentResults
from typer.testing import CliRunner

from cmgraph.cli import app
from cmgraph.config import Settings
from cmgraph.domain import accounts
from cmgraph.domain.assessments import NewAssessment, archive_assessment, create_assessment
from cmgraph.domain.enums import ImplementationStatus, TestStatus
from cmgraph.domain.evidence import add_evidence_link
from cmgraph.domain.models import ActionDefinition, Assessment, ImprovementAction, User
from cmgraph.domain.permissions import Principal
from cmgraph.domain.workflow import change_action
from cmgraph.exchange.downloads import export_link
from cmgraph.exchange.oscal_profile import import_profile
from tests.builders import DAY, WorkedExample, worked_example
from tests.conftest import Api, oscal_file
from tests.databases import Database

MODERATE = "NIST_SP-800-53_rev5_MODERATE-baseline-resolved-profile_catalog-min.json"
PUBLIC_URL = "http://cmgraph.test"
CSRF = {"X-CMGraph-CSRF": "1"}
POLICY_URL = "https://intranet.example.test/policies/access-control"
NS = "nist-sp-800-53-r5"

LINK = """
query ($id: ID!) { node(id: $id) { ... on Assessment { oscalResultsExport { url expiresAt } } } }
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({}, data_dir=tmp_path / "data", public_url=PUBLIC_URL)


@dataclass
class World:
    example: WorkedExample
    payroll: Assessment
    actions: dict[str, int]  # definition key -> improvement action id
    owner_token: str
    rita_id: int  # reader of A2 only
    rita_token: str


async def _profile_template(uow: Any, tmp_path: Path) -> int:
    document = {
        "profile": {
            "uuid": "6f1c2b9e-3d4a-4c5b-8e7f-0a1b2c3d4e5f",
            "metadata": {"title": "Payroll profile", "version": "1"},
            "imports": [
                {
                    "href": str(oscal_file(MODERATE)),
                    "include-controls": [{"with-ids": ["ac-1", "ac-2", "au-2", "ia-2"]}],
                }
            ],
        }
    }
    path = tmp_path / "payroll-profile.json"
    path.write_bytes(orjson.dumps(document))
    async with uow() as u:
        return (await import_profile(u, path)).template.id


@pytest.fixture
async def world(uow, owner: Principal, token_for, tmp_path: Path) -> World:
    async with uow() as u:
        example = await worked_example(u, owner)
        owner_user = await u.session.get(User, owner.user_id)
        owner_token = (await accounts.create_token(u, owner_user, "test")).secret
    template_id = await _profile_template(uow, tmp_path)
    async with uow() as u:
        payroll = await create_assessment(
            u, owner, NewAssessment(template_id, "Payroll 2026", new_group_name="Payroll")
        )
        rows = await u.session.execute(
            select(ActionDefinition.key, ImprovementAction.id)
            .join(ImprovementAction, ImprovementAction.definition_id == ActionDefinition.id)
            .where(ActionDefinition.key.like(f"{NS}:%"))
        )
        actions = dict(rows.all())
        implemented = {
            "implementation_status": ImplementationStatus.IMPLEMENTED,
            "implementation_date": DAY,
            "test_date": DAY,
        }
        for method in ("examine", "interview"):
            await change_action(
                u,
                owner,
                actions[f"{NS}:ac-1:{method}"],
                {**implemented, "test_status": TestStatus.PASSED},
            )
        await change_action(
            u,
            owner,
            actions[f"{NS}:ac-2:test"],
            {
                **implemented,
                "test_status": TestStatus.FAILED_HIGH_RISK,
                "testing_notes": "Dormant accounts are not disabled.",
            },
        )
        for key, action_id in actions.items():
            if key.startswith(f"{NS}:ia-2:"):
                await change_action(
                    u,
                    owner,
                    action_id,
                    {"implementation_status": ImplementationStatus.OUT_OF_SCOPE},
                )
        await add_evidence_link(u, owner, actions[f"{NS}:ac-1:examine"], "Policy", POLICY_URL)
    rita_token = await token_for("rita@example.test", None, assessment_id=example.a2.id)
    async with uow() as u:
        rita = await accounts.user_by_email(u, "rita@example.test")
    return World(example, payroll, actions, owner_token, rita.id, rita_token)


async def fetch(api: Api, url: str) -> Any:
    """Follow a link as a browser would: no Authorization header, just the signed URL."""
    parts = urlsplit(url)
    return await api.client.get(f"{parts.path}?{parts.query}")


async def results(api: Api, assessment_id: int, token: str) -> dict[str, Any]:
    """The assessment's results, downloaded and validated with trestle."""
    data = await api.query(LINK, {"id": to_base64("Assessment", assessment_id)}, token=token)
    response = await fetch(api, data["node"]["oscalResultsExport"]["url"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    validated = AssessmentResults.model_validate(document["assessment-results"])
    assert len(validated.results) == 1
    return document


def findings(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Findings by target id."""
    result = document["assessment-results"]["results"][0]
    return {f["target"]["target-id"]: f for f in result.get("findings", [])}


def observations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result = document["assessment-results"]["results"][0]
    return {o["uuid"]: o for o in result.get("observations", [])}


def state(finding: dict[str, Any]) -> tuple[str, str]:
    status = finding["target"]["status"]
    return status["state"], status["reason"]


async def test_the_worked_example_as_assessment_results(api: Api, world: World) -> None:
    document = await results(api, world.example.a1.id, world.owner_token)
    ar = document["assessment-results"]
    assert ar["metadata"]["oscal-version"] == "1.1.2"
    assert ar["metadata"]["title"] == "A1: assessment results"
    plan = ar["import-ap"]["href"]
    assert [r["uuid"] for r in ar["back-matter"]["resources"]] == [plan.removeprefix("#")]
    result = ar["results"][0]
    assert "score 39 of 39 points (100%)" in result["description"]
    selection = result["reviewed-controls"]["control-selections"][0]
    assert selection["include-controls"] == [{"control-id": "c1"}, {"control-id": "c2"}]
    assert "exclude-controls" not in selection

    found = findings(document)
    assert set(found) == {"c1_smt", "c2_smt"}
    assert state(found["c1_smt"]) == state(found["c2_smt"]) == ("satisfied", "pass")
    observed = observations(document)
    assert sorted(o["title"] for o in observed.values()) == ["N1", "P1", "T1"]
    by_title = {o["title"]: o for o in observed.values()}
    assert by_title["N1"]["methods"] == ["EXAMINE"]
    assert by_title["T1"]["methods"] == ["TEST"]
    assert by_title["T1"]["collected"] == f"{DAY.isoformat()}T00:00:00+00:00"
    assert "Test status: PASSED, tested 2026-01-15." in by_title["T1"]["description"]

    def related(target: str) -> list[str]:
        uuids = [r["observation-uuid"] for r in found[target]["related-observations"]]
        return sorted(observed[u]["title"] for u in uuids)

    assert related("c1_smt") == ["N1", "T1"]
    assert related("c2_smt") == ["P1", "T1"]  # T1 is one observation shared by both

    a2 = await results(api, world.example.a2.id, world.owner_token)
    (c3,) = findings(a2).values()
    assert state(c3) == ("not-satisfied", "other")
    assert c3["target"]["status"]["remarks"] == "cmgraph control status IN_PROGRESS."
    assert [o["title"] for o in observations(a2).values()] == ["N1"]  # T2 is untouched

    again = await results(api, world.example.a1.id, world.owner_token)
    assert findings(again) == found  # stable uuids, export after export
    assert again["assessment-results"]["uuid"] != ar["uuid"]


async def upload(api: Api, world: World, content: bytes) -> str:
    """A document on the failed AC-2 test action; its global id."""
    uploaded = await api.client.post(
        "/evidence/upload",
        data={"actionId": to_base64("ImprovementAction", world.actions[f"{NS}:ac-2:test"])},
        files={"file": ("account-review.txt", content, "text/plain")},
        headers={**CSRF, "Authorization": f"Bearer {world.owner_token}"},
    )
    assert uploaded.status_code == 201, uploaded.text
    return uploaded.json()["evidence"]["id"]


async def test_oscal_controls_findings_and_evidence(api: Api, world: World) -> None:
    content = b"Account review, January 2026.\n"
    document_id = await upload(api, world, content)

    document = await results(api, world.payroll.id, world.owner_token)
    result = document["assessment-results"]["results"][0]
    selection = result["reviewed-controls"]["control-selections"][0]
    assert [c["control-id"] for c in selection["include-controls"]] == [
        "ac-1",
        "ac-2",
        "au-2",
        "ia-2",
    ]
    assert selection["exclude-controls"] == [{"control-id": "ia-2"}]  # out of scope

    found = findings(document)
    assert set(found) == {"ac-1_smt", "ac-2_smt", "au-2_smt"}
    assert found["ac-1_smt"]["title"] == "AC-1: Policy and Procedures"
    assert state(found["ac-1_smt"]) == ("satisfied", "pass")
    assert state(found["ac-2_smt"]) == ("not-satisfied", "fail")
    assert found["ac-2_smt"]["target"]["status"]["remarks"] == "cmgraph control status FAILED."
    assert state(found["au-2_smt"]) == ("not-satisfied", "other")
    assert "related-observations" not in found["au-2_smt"]

    observed = observations(document)
    ac1 = [observed[r["observation-uuid"]] for r in found["ac-1_smt"]["related-observations"]]
    assert sorted(o["methods"][0] for o in ac1) == ["EXAMINE", "INTERVIEW"]
    examine = next(o for o in ac1 if o["methods"] == ["EXAMINE"])
    assert examine["types"] == ["finding"]
    assert examine["relevant-evidence"] == [{"href": POLICY_URL, "description": "Link: Policy"}]

    (failed,) = [observed[r["observation-uuid"]] for r in found["ac-2_smt"]["related-observations"]]
    assert failed["methods"] == ["TEST"]
    assert failed["remarks"] == "Dormant accounts are not disabled."
    (evidence,) = failed["relevant-evidence"]
    assert evidence["description"].startswith("Document: account-review.txt (text/plain")
    path = urlsplit(evidence["href"]).path
    assert path == f"/evidence/{quote(document_id, safe='')}/download"
    fetched = await api.client.get(path, headers={"Authorization": f"Bearer {world.owner_token}"})
    assert fetched.status_code == 200 and fetched.content == content


async def test_archived_assessments_export_and_unreadable_ones_do_not(
    api: Api, world: World, settings: Settings, uow, owner: Principal
) -> None:
    async with uow() as u:
        await archive_assessment(u, owner, world.example.a3.id)
    archived = (await results(api, world.example.a3.id, world.owner_token))["assessment-results"]
    assert "end" in archived["results"][0]
    assert "archived" in archived["results"][0]["remarks"]

    # Rita reads A2 only: a link to A1 made out for her is refused as if A1 did not exist.
    assert (await results(api, world.example.a2.id, world.rita_token))["assessment-results"]
    link = export_link(
        settings, "oscal-assessment-results", {"assessment_id": world.example.a1.id}, world.rita_id
    )
    refused = await fetch(api, link.url)
    assert refused.status_code == 404
    assert refused.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_the_command_line_writes_results_with_absolute_evidence_links(
    api: Api, db: Database, world: World, tmp_path: Path
) -> None:
    document_id = await upload(api, world, b"Account review, January 2026.\n")

    def cli(*args: str) -> Any:
        env = {"CMGRAPH_DATABASE_URL": db.url, "CMGRAPH_PUBLIC_URL": "https://grc.example.test"}
        return CliRunner().invoke(app, ["export", "oscal-results", *args], env=env)

    out = tmp_path / "payroll.json"
    # The CLI runs its own event loop.
    done = await asyncio.to_thread(
        cli, "Payroll 2026", "--as", "owner@example.test", "-o", str(out)
    )
    assert done.exit_code == 0, done.output
    assert f"wrote {out}" in done.output
    document = json.loads(out.read_bytes())
    AssessmentResults.model_validate(document["assessment-results"])
    assert set(findings(document)) == {"ac-1_smt", "ac-2_smt", "au-2_smt"}
    hrefs = [
        e["href"] for o in observations(document).values() for e in o.get("relevant-evidence", [])
    ]
    assert sorted(hrefs) == [
        f"https://grc.example.test/evidence/{quote(document_id, safe='')}/download",
        POLICY_URL,
    ]

    out = tmp_path / "refused.json"
    done = await asyncio.to_thread(
        cli, "Payroll 2026", "--as", "rita@example.test", "--out", str(out)
    )
    assert done.exit_code == 1 and "not found" in done.output
    assert not out.exists()


async def test_an_inheriting_action_references_its_parents_evidence(
    api: Api, world: World, uow, owner: Principal
) -> None:
    """DOMAIN.md 5: a PARENT action sees its parent's evidence, and so does its observation."""
    from cmgraph.domain.enums import TestingSource
    from cmgraph.domain.evidence import add_evidence_link
    from cmgraph.domain.testing_sources import set_testing_source

    t1, t2 = world.example.actions["T1"].id, world.example.actions["T2"].id
    async with uow() as u:
        await add_evidence_link(u, owner, t1, "MFA policy", "https://evidence.test/mfa")
        await set_testing_source(u, owner, t2, TestingSource.PARENT, parent_id=t1)
    a2 = await results(api, world.example.a2.id, world.owner_token)
    by_title = {o["title"]: o for o in observations(a2).values()}
    assert by_title["T2"]["relevant-evidence"] == [
        {"href": "https://evidence.test/mfa", "description": "Link: MFA policy"}
    ]
