"""An assessment as an OSCAL 1.1.2 ``assessment-results`` document (JSON).

The document has one result: the assessment as it stands at export time (archived ones
too, their statuses as they were left).

* ``reviewed-controls`` includes every control of the assessment and excludes the
  out-of-scope ones: OSCAL has no "not applicable" state, and calling them satisfied or not
  satisfied would misstate them, so they get no finding.
* One finding per other control, targeting the control's statement (``<id>_smt``):
  ``satisfied`` (reason ``pass``) when the cmgraph control status is PASSED, else
  ``not-satisfied`` with reason ``fail`` (FAILED) or ``other`` (NONE, IN_PROGRESS); the
  status remarks give the cmgraph status. Findings link the observations of their actions.
* One observation per improvement action with test data (a test status other than NONE or
  NOT_ASSESSED, a test date or testing notes) or evidence, its own or (testing source
  PARENT) its parent chain's where the reader may read the parent: method TEST for
  technical, INTERVIEW for operational and EXAMINE for documentation actions; collected at
  the test date, else when the action or its evidence last changed. Evidence links are
  referenced by their URL, documents by ``/evidence/<global id>/download`` on the server
  (absolute when the public URL is known; the download needs the reader's credentials).
  An action shared by several controls is one observation.
* OSCAL control ids: templates imported from OSCAL keep their actions' control id
  (``<namespace>:<control id>:<method>`` keys); other controls derive one from their key,
  lower-case with ``(n)`` as ``.n`` (``AC-2(1)`` -> ``ac-2.1``).
* UUIDs are name-based (UUID v5) on the assessment's id and creation time and the object's
  id, so exporting again keeps them; the document's own uuid is new on every export.
  ``import-ap`` points at a back-matter resource describing the assessment, as cmgraph
  keeps no separate OSCAL assessment plan.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any, BinaryIO

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph.adapters.storage import evidence_path
from cmgraph.domain import scoring
from cmgraph.domain.enums import (
    UNTESTED_STATUSES,
    ControlStatus,
    EvidenceKind,
    ImplementationType,
)
from cmgraph.domain.evidence import parent_chains
from cmgraph.domain.models import (
    ActionDefinition,
    ActionDefinitionVersion,
    Assessment,
    Control,
    ControlAction,
    Evidence,
    ImprovementAction,
    Organisation,
    utcnow,
)
from cmgraph.domain.organisation import setting_query
from cmgraph.domain.permissions import Principal, readable_actions
from cmgraph.exchange.assessment_report import readable_assessment
from cmgraph.exchange.downloads import JSON, ExportKind, int_param
from cmgraph.exchange.names import slug

OSCAL_VERSION = "1.1.2"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:cmgraph:oscal-assessment-results")

_METHODS = {
    ImplementationType.TECHNICAL: "TEST",
    ImplementationType.OPERATIONAL: "INTERVIEW",
    ImplementationType.DOCUMENTATION: "EXAMINE",
}
_OSCAL_ACTION_KEY = re.compile(r"^[^:]+:([A-Za-z_][\w.-]*):(?:examine|interview|test|statement)$")


async def write_oscal_results(
    session: AsyncSession, principal: Principal, params: Mapping[str, Any], out: BinaryIO
) -> str:
    """Write the results of a readable assessment; ``public_url`` makes evidence links absolute."""
    assessment_id = int_param(params, "assessment_id")
    public_url = str(params.get("public_url") or "").rstrip("/")
    assessment, template, version, _, regulation, group = await readable_assessment(
        session, principal, assessment_id
    )
    data = await _load(session, principal, assessment.id)
    organisation = await session.scalar(setting_query(Organisation.name))
    document = _Document(assessment, public_url).build(
        _Context(template, version, regulation, group, organisation), data
    )
    out.write(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return f"{slug(assessment.name) or 'assessment'}-assessment-results.json"


OSCAL_RESULTS = ExportKind("oscal-assessment-results", JSON, write_oscal_results)


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Action:
    row: ImprovementAction
    key: str
    title: str
    implementation_type: ImplementationType


@dataclass
class _Data:
    controls: list[Control] = field(default_factory=list)
    actions: dict[int, _Action] = field(default_factory=dict)
    control_actions: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    evidence: dict[int, list[Evidence]] = field(default_factory=lambda: defaultdict(list))


async def _load(session: AsyncSession, principal: Principal, assessment_id: int) -> _Data:
    """Controls, their actions and the actions' evidence, own and inherited (DOMAIN.md 5):
    four queries, whatever the size."""
    data = _Data()
    data.controls = list(
        await session.scalars(
            select(Control)
            .where(Control.assessment_id == assessment_id)
            .order_by(Control.sort_order, Control.id)
        )
    )
    links = await session.execute(
        select(
            ControlAction.control_id,
            ImprovementAction,
            ActionDefinition.key,
            ActionDefinitionVersion.title,
            ActionDefinition.implementation_type,
        )
        .join(Control, Control.id == ControlAction.control_id)
        .join(ImprovementAction, ImprovementAction.id == ControlAction.action_id)
        .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
        .join(
            ActionDefinitionVersion,
            ActionDefinitionVersion.id == ImprovementAction.definition_version_id,
        )
        .where(Control.assessment_id == assessment_id)
        .order_by(ControlAction.control_id, ActionDefinition.key, ImprovementAction.id)
    )
    for control_id, action, key, title, implementation_type in links:
        data.actions[action.id] = _Action(action, key, title, implementation_type)
        data.control_actions[control_id].append(action.id)
    in_assessment = (
        select(ControlAction.action_id)
        .join(Control, Control.id == ControlAction.control_id)
        .where(Control.assessment_id == assessment_id)
    )
    for evidence in await session.scalars(
        select(Evidence)
        .where(Evidence.action_id.in_(in_assessment))
        .order_by(Evidence.action_id, Evidence.id)
    ):
        data.evidence[evidence.action_id].append(evidence)
    chain = parent_chains(in_assessment)
    inherited = await session.execute(
        select(chain.c.start, Evidence)
        .join(Evidence, Evidence.action_id == chain.c.ancestor)
        .join(ImprovementAction, ImprovementAction.id == chain.c.ancestor)
        .where(readable_actions(principal))  # a parent's evidence, for those who may read it
        .order_by(chain.c.start, chain.c.depth, Evidence.id)
    )
    for start, evidence in inherited.all():
        data.evidence[start].append(evidence)
    return data


# --- building -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    template: str
    version: int
    regulation: str
    group: str
    organisation: str | None


class _Document:
    def __init__(self, assessment: Assessment, public_url: str) -> None:
        self.assessment = assessment
        self.public_url = public_url
        self.seed = f"assessment/{assessment.id}@{assessment.created_at.isoformat()}"

    def uuid(self, *names: object) -> str:
        """Stable for one object of this assessment, distinct across assessments."""
        return str(uuid.uuid5(_NAMESPACE, "/".join((self.seed, *map(str, names)))))

    def build(self, context: _Context, data: _Data) -> dict[str, Any]:
        assessment = self.assessment
        now = utcnow()
        observations = {
            action_id: self.observation(action, data.evidence.get(action_id, []))
            for action_id, action in data.actions.items()
            if _has_test_data(action.row) or data.evidence.get(action_id)
        }
        control_ids = _control_ids(data)
        statuses: list[ControlStatus] = []
        findings = []
        excluded = []
        for control in data.controls:
            actions = [data.actions[i] for i in data.control_actions.get(control.id, [])]
            status = scoring.control_status(
                (a.row.implementation_status, a.row.test_status) for a in actions
            )
            statuses.append(status)
            if status is ControlStatus.OUT_OF_SCOPE:
                excluded.append({"control-id": control_ids[control.id]})
                continue
            related = [observations[a.row.id]["uuid"] for a in actions if a.row.id in observations]
            findings.append(
                self.finding(control, control_ids[control.id], status, actions, related)
            )
        selection: dict[str, Any] = {
            "description": "The controls of the assessment; out-of-scope controls are excluded.",
            "include-controls": [{"control-id": control_ids[c.id]} for c in data.controls],
        }
        if excluded:
            selection["exclude-controls"] = excluded
        score = scoring.Score(assessment.earned, assessment.possible)
        result: dict[str, Any] = {
            "uuid": self.uuid("result"),
            "title": f"{assessment.name}: {context.template}",
            "description": (
                f"cmgraph assessment {assessment.name} of the template {context.template} "
                f"(version {context.version}, regulation {context.regulation}) in the group "
                f"{context.group}. Assessment status: {scoring.assessment_status(statuses)}; "
                f"score {score.earned:g} of {score.possible} points ({score.percent:g}%)."
            ),
            "start": _time(assessment.created_at),
            "reviewed-controls": {"control-selections": [selection]},
        }
        if assessment.archived_at is not None:
            result["end"] = _time(assessment.archived_at)
            result["remarks"] = "The assessment is archived: read-only, its score frozen."
        if observations:
            result["observations"] = list(observations.values())
        if findings:
            result["findings"] = findings
        plan = self.uuid("assessment-plan")
        metadata: dict[str, Any] = {
            "title": f"{assessment.name}: assessment results",
            "last-modified": _time(now),
            "version": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "oscal-version": OSCAL_VERSION,
        }
        if context.organisation:
            metadata["parties"] = [
                {
                    "uuid": self.uuid("organisation"),
                    "type": "organization",
                    "name": context.organisation,
                }
            ]
        return {
            "assessment-results": {
                "uuid": str(uuid.uuid4()),
                "metadata": metadata,
                "import-ap": {"href": f"#{plan}"},
                "results": [result],
                "back-matter": {
                    "resources": [
                        {
                            "uuid": plan,
                            "title": f"Assessment plan: {assessment.name}",
                            "description": (
                                "cmgraph keeps no separate OSCAL assessment plan: the plan is "
                                f"the assessment {assessment.name}, of the template "
                                f"{context.template} version {context.version}, whose controls "
                                "are the reviewed controls of these results."
                            ),
                        }
                    ]
                },
            }
        }

    def observation(self, action: _Action, evidence: list[Evidence]) -> dict[str, Any]:
        row = action.row
        status = (
            f"Implementation status: {row.implementation_status}. Test status: "
            f"{row.test_status}"
            + (f", tested {row.test_date.isoformat()}." if row.test_date else ".")
        )
        observation: dict[str, Any] = {
            "uuid": self.uuid("action", row.id),
            "title": action.title,
            "description": status,
            "methods": [_METHODS[action.implementation_type]],
            "types": ["finding"],
            "collected": _time(_collected(row, evidence)),
        }
        if evidence:
            observation["relevant-evidence"] = [self.evidence(e) for e in evidence]
        if row.testing_notes.strip():
            observation["remarks"] = row.testing_notes
        return observation

    def evidence(self, evidence: Evidence) -> dict[str, Any]:
        if evidence.kind is EvidenceKind.LINK:
            return {"href": evidence.url or "", "description": f"Link: {evidence.name}"}
        details = ", ".join(
            part
            for part in (
                evidence.content_type or "",
                f"{evidence.size} bytes" if evidence.size is not None else "",
                f"SHA-256 {evidence.sha256}" if evidence.sha256 else "",
            )
            if part
        )
        return {
            "href": f"{self.public_url}{evidence_path(evidence.id)}",
            "description": f"Document: {evidence.name}" + (f" ({details})" if details else ""),
        }

    def finding(
        self,
        control: Control,
        oscal_id: str,
        status: ControlStatus,
        actions: list[_Action],
        related: list[str],
    ) -> dict[str, Any]:
        satisfied = status is ControlStatus.PASSED
        reason = "pass" if satisfied else "fail" if status is ControlStatus.FAILED else "other"
        summary = "\n".join(
            f"- {a.title}: implementation {a.row.implementation_status}, test {a.row.test_status}"
            for a in actions
        )
        finding: dict[str, Any] = {
            "uuid": self.uuid("control", control.id),
            "title": f"{control.key}: {control.title}",
            "description": f"cmgraph control status: {status}."
            + (f" Improvement actions:\n\n{summary}" if summary else " No improvement actions."),
            "target": {
                "type": "statement-id",
                "target-id": f"{oscal_id}_smt",
                "status": {
                    "state": "satisfied" if satisfied else "not-satisfied",
                    "reason": reason,
                    "remarks": f"cmgraph control status {status}.",
                },
            },
        }
        if related:
            finding["related-observations"] = [{"observation-uuid": u} for u in related]
        return finding


def _has_test_data(action: ImprovementAction) -> bool:
    return (
        action.test_status not in UNTESTED_STATUSES
        or action.test_date is not None
        or bool(action.testing_notes.strip())
    )


def _collected(action: ImprovementAction, evidence: list[Evidence]) -> datetime:
    if action.test_date is not None:
        return datetime.combine(action.test_date, time(), UTC)
    return max([action.updated_at, *(e.uploaded_at for e in evidence)])


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _control_ids(data: _Data) -> dict[int, str]:
    """Each control's OSCAL control id, unique within the document."""
    taken: set[str] = set()
    ids: dict[int, str] = {}
    for control in data.controls:
        keys = [data.actions[i].key for i in data.control_actions.get(control.id, [])]
        base = _oscal_id(control.key, keys)
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        taken.add(candidate)
        ids[control.id] = candidate
    return ids


def _oscal_id(key: str, action_keys: list[str]) -> str:
    found = {m[1] for k in action_keys if (m := _OSCAL_ACTION_KEY.match(k))}
    if action_keys and len(found) == 1 and all(_OSCAL_ACTION_KEY.match(k) for k in action_keys):
        return found.pop()
    derived = re.sub(r"\((\w+)\)", r".\1", key.strip().lower())
    derived = re.sub(r"[^a-z0-9_.-]+", "-", derived).strip("-.")
    return derived if re.match(r"[a-z_]", derived) else f"_{derived}"
