"""The nested report reads in a fixed number of SQL statements, whatever the assessment's size."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from strawberry.relay import to_base64

from cmgraph.domain.enums import OrgRole
from cmgraph.domain.models import Assessment, Control, ControlAction, Evidence, ImprovementAction
from cmgraph.exchange.oscal_catalog import read_catalog
from tests.conftest import oscal_file
from tests.report_data import REPORT_QUERY, build_report_assessment, count_statements

LOW = "NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json"
HIGH = "NIST_SP-800-53_rev5_HIGH-baseline-resolved-profile_catalog-min.json"
MAX_STATEMENTS = 9  # the report's reads, the credentials' and SQLite's BEGINs
# The report's own reads: the page of assessments; group, template and regulation; the
# controls; the actions with their assignees; the evidence with its uploaders.
REPORT_READS = 5
CREDENTIAL_TABLES = ("api_token", "access_grant", "sign_in_session")
OWNER_NAME = "Olivia Owner"  # the conftest ``owner``: adds all evidence, is the assignee


async def _stored(db: Any, assessment_id: int) -> tuple[int, dict[str, Any], dict[str, list[str]]]:
    """Group id, each action's (implementation, test) status and its evidence, by global id."""
    async with db.sessions() as session:
        group_id = await session.scalar(
            select(Assessment.group_id).where(Assessment.id == assessment_id)
        )
        in_assessment = (
            select(ControlAction.action_id)
            .join(Control, Control.id == ControlAction.control_id)
            .where(Control.assessment_id == assessment_id)
        )
        states = {
            to_base64("ImprovementAction", a): (i.value, t.value)
            for a, i, t in await session.execute(
                select(
                    ImprovementAction.id,
                    ImprovementAction.implementation_status,
                    ImprovementAction.test_status,
                ).where(ImprovementAction.id.in_(in_assessment))
            )
        }
        evidence: dict[str, list[str]] = defaultdict(list)
        for evidence_id, action_id in await session.execute(
            select(Evidence.id, Evidence.action_id)
            .where(Evidence.action_id.in_(in_assessment))
            .order_by(Evidence.id)
        ):
            evidence[to_base64("ImprovementAction", action_id)].append(
                to_base64("Evidence", evidence_id)
            )
    return group_id, states, evidence


async def test_nested_report_reads_in_a_constant_number_of_statements(
    db, owner, api, token_for
) -> None:
    baselines = [("LOW", oscal_file(LOW), 149), ("HIGH", oscal_file(HIGH), 370)]
    built = [
        await build_report_assessment(
            db.sessions,
            owner,
            path,
            name=f"{label} report",
            group=f"{label} group",
            states_every=4,  # sparser than the benchmark's data, with the same variety
            evidence_every=2,
        )
        for label, path, _ in baselines
    ]
    token = await token_for("reader@example.test", OrgRole.READER)
    # The first request stamps the token's last use; keep that write out of the counts.
    await api.query("{ viewer { user { name } } }", token=token)

    counts = []
    for (label, path, expected_controls), assessment_id in zip(baselines, built, strict=True):
        group_id, states, evidence = await _stored(db, assessment_id)
        with count_statements(db.engine) as statements:
            data = await api.query(
                REPORT_QUERY, {"groups": [to_base64("Group", group_id)]}, token=token
            )
        counts.append(len(statements))
        print(f"nested report, {label} baseline: {len(statements)} SQL statements")
        reads = [
            s
            for s in statements
            if s.lstrip().upper().startswith("SELECT")
            and not any(table in s for table in CREDENTIAL_TABLES)
        ]
        assert len(reads) == REPORT_READS, reads

        [report] = data["assessments"]["nodes"]
        assert report["id"] == to_base64("Assessment", assessment_id)
        assert report["template"]["regulation"]["name"] == "NIST SP 800-53 Rev. 5"
        controls = report["controls"]
        assert len(controls) == expected_controls
        spec = read_catalog(path)
        assert [c["key"] for c in controls] == [c.key for c in spec.controls]
        actions = [a for c in controls for a in c["actions"]]
        assert len(actions) == sum(len(c.action_keys) for c in spec.controls)

        assert {a["id"]: (a["implementationStatus"], a["testStatus"]) for a in actions} == states
        shown = {a["id"]: [e["id"] for e in a["evidence"]] for a in actions}
        assert {action: items for action, items in shown.items() if items} == evidence
        assert any(a["evidence"] for a in actions) and not all(a["evidence"] for a in actions)
        assert {e["uploadedBy"]["name"] for a in actions for e in a["evidence"]} == {OWNER_NAME}
        assignees = [a["assignee"] for a in actions]
        assert {a["name"] for a in assignees if a is not None} == {OWNER_NAME}
        assert None in assignees
        assert all(e["url"].startswith("https://") for a in actions for e in a["evidence"])
        assert {a["implementationStatus"] for a in actions} >= {
            "IMPLEMENTED",
            "PLANNED",
            "OUT_OF_SCOPE",
            "NOT_IMPLEMENTED",
        }
        assert {a["testStatus"] for a in actions} >= {"PASSED", "FAILED_MEDIUM_RISK"}

        distinct = {a["id"]: a["score"] for a in actions}
        assert report["score"]["possible"] == sum(s["possible"] for s in distinct.values())
        assert report["score"]["earned"] == sum(s["earned"] for s in distinct.values())
        assert 0 < report["score"]["earned"] < report["score"]["possible"]
        for control in controls:
            assert control["score"]["possible"] == sum(
                a["score"]["possible"] for a in control["actions"]
            )

    low, high = counts
    assert low == high, f"LOW took {low} statements, HIGH {high}"
    assert low <= MAX_STATEMENTS
