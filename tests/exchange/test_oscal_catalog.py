"""The OSCAL catalog importer: the NIST Rev. 5 baselines, older shapes, bad input, the database."""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from cmgraph.domain.enums import Enforcement, ImplementationType, Purpose
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.models import (
    ActionDefinition,
    ActionDefinitionVersion,
    Regulation,
    Template,
    TemplateControl,
    TemplateVersion,
)
from cmgraph.domain.templates import TemplateSpec, import_template
from cmgraph.exchange.oscal_catalog import (
    MAX_INSERTIONS,
    OscalError,
    OscalMapping,
    catalog_to_template,
    import_catalog,
    read_catalog,
)
from tests.conftest import oscal_file

BASELINE = "NIST_SP-800-53_rev5_{}-baseline-resolved-profile_catalog-min.json"
BASIC = "basic-catalog.json"

# Measured in the files: controls + enhancements not withdrawn, families, and the
# EXAMINE/INTERVIEW/TEST methods, which map to DOCUMENTATION/OPERATIONAL/TECHNICAL.
BASELINES = {
    "LOW": (149, 18, 149, 149, 122),
    "MODERATE": (287, 18, 287, 287, 242),
    "HIGH": (370, 18, 370, 370, 316),
    "PRIVACY": (102, 16, 102, 102, 80),
}

Loader = Callable[[str], TemplateSpec]


@pytest.fixture(scope="module")
def baseline() -> Loader:
    """Each big file is parsed at most once per module."""

    @functools.cache
    def load(name: str) -> TemplateSpec:
        return read_catalog(oscal_file(BASELINE.format(name)))

    return load


def _control(spec: TemplateSpec, key: str) -> Any:
    return next(c for c in spec.controls if c.key == key)


def _actions(spec: TemplateSpec) -> dict[str, Any]:
    return {a.key: a for a in spec.actions}


async def _count(uow: Callable[[], Any], model: type) -> int:
    async with uow() as u:
        return await u.session.scalar(select(func.count()).select_from(model))


# --- the NIST SP 800-53 Rev. 5 baselines ----------------------------------------------------


@pytest.mark.parametrize("name", BASELINES)
def test_baseline_maps_every_control(baseline: Loader, name: str) -> None:
    controls, families, documentation, operational, technical = BASELINES[name]
    spec = baseline(name)
    spec.validate()

    assert len(spec.controls) == controls
    assert len({c.family for c in spec.controls}) == families
    types = Counter(a.implementation_type for a in spec.actions)
    assert types == {
        ImplementationType.DOCUMENTATION: documentation,
        ImplementationType.OPERATIONAL: operational,
        ImplementationType.TECHNICAL: technical,
    }
    assert all(c.action_keys for c in spec.controls)
    assert all(re.fullmatch(r"[A-Z]{2}-\d+(\(\d+\))?", c.key) for c in spec.controls)
    texts = [c.description for c in spec.controls] + [
        a.title + a.guidance + a.testing_logic for a in spec.actions
    ]
    assert not [t for t in texts if "{{" in t]
    assert all(c.description for c in spec.controls)
    assert spec.regulation == "NIST SP 800-53 Rev. 5"
    assert spec.certification == "5.1.1+u4"
    assert spec.product == "Information system"
    assert all(a.key.startswith("nist-sp-800-53-r5:") for a in spec.actions)


@pytest.mark.parametrize("name", BASELINES)
def test_baseline_default_enforcement_purpose_and_points(baseline: Loader, name: str) -> None:
    spec = baseline(name)
    for action in spec.actions:
        enhancement = "." in action.key.split(":")[1]
        expected = Enforcement.DISCRETIONARY if enhancement else Enforcement.MANDATORY
        assert action.enforcement == expected
        technical = action.implementation_type == ImplementationType.TECHNICAL
        assert action.purpose == (Purpose.DETECTIVE if technical else Purpose.PREVENTATIVE)
        assert action.points is None
    points = Counter(a.effective_points for a in spec.actions)
    assert set(points) <= {27, 9, 3, 1}


def test_low_baseline_account_management(baseline: Loader) -> None:
    spec = baseline("LOW")
    control = _control(spec, "AC-2")
    assert control.family == "Access Control"
    assert control.title == "Account Management"
    assert control.description.startswith("a. Define and document the types of accounts allowed")
    assert "c. Require [Assignment: prerequisites and criteria] for group" in control.description
    assert "\n  1. Authorized users of the system;" in control.description
    assert control.action_keys == (
        "nist-sp-800-53-r5:ac-2:examine",
        "nist-sp-800-53-r5:ac-2:interview",
        "nist-sp-800-53-r5:ac-2:test",
    )
    examine, interview, test = (_actions(spec)[k] for k in control.action_keys)
    assert examine.title.startswith("AC-2: Examine")
    assert interview.title.startswith("AC-2: Interview")
    assert test.title.startswith("AC-2: Test")
    assert "- Access control policy" in examine.guidance
    assert "- system/network administrators" in interview.guidance
    assert "- mechanisms for implementing account management" in test.guidance
    assert "AC-02a.[01] account types allowed" in examine.guidance
    assert test.testing_logic.startswith("AC-02a.[01] account types allowed")
    assert (examine.category, examine.solution) == ("Control access", "Access Control")
    assert (examine.effective_points, interview.effective_points, test.effective_points) == (
        27,
        27,
        3,
    )


def test_parameters_selections_and_aggregates(baseline: Loader) -> None:
    spec = baseline("LOW")
    policy = _control(spec, "AC-1").description
    assert policy.startswith(
        "a. Develop, document, and disseminate to "
        "[Assignment: organization-defined personnel or roles]:"
    )
    assert (
        "[Selection (one or more): organization-level; mission/business process-level; "
        "system-level] access control policy" in policy
    )
    lockout = _control(spec, "AC-7").description
    assert "[Selection (one or more): lock the account or node for [Assignment: time period];" in (
        lockout
    )
    assert "during a [Assignment: time period]; and" in lockout


def test_enhancements_are_discretionary_and_use_base_parameters(baseline: Loader) -> None:
    spec = baseline("MODERATE")
    enhancement = _control(spec, "AC-2(1)")
    assert enhancement.family == "Access Control"
    assert enhancement.description == (
        "Support the management of system accounts using [Assignment: automated mechanisms]."
    )
    examine = _actions(spec)["nist-sp-800-53-r5:ac-2.1:examine"]
    assert examine.title.startswith("AC-2(1): Examine")
    assert examine.enforcement == Enforcement.DISCRETIONARY
    assert examine.effective_points == 9
    assert _actions(spec)["nist-sp-800-53-r5:ac-2.1:test"].effective_points == 1


def test_categories_follow_the_family(baseline: Loader) -> None:
    spec = baseline("HIGH")
    category = {a.key.split(":")[1].split("-")[0]: a.category for a in spec.actions}
    assert category["ac"] == category["ia"] == "Control access"
    assert category["sc"] == category["mp"] == category["pe"] == "Protect information"
    assert category["cm"] == category["ma"] == "Manage devices"
    assert category["au"] == category["ir"] == category["cp"] == "Discover and respond"
    assert category["si"] == "Protect against threats"
    assert category["ra"] == category["sr"] == "Govern information"


def test_baselines_share_action_keys_and_content(baseline: Loader) -> None:
    low, moderate, high, privacy = (_actions(baseline(n)) for n in BASELINES)
    assert set(low) <= set(moderate) <= set(high)
    for smaller, larger in ((low, moderate), (moderate, high), (privacy, high), (privacy, low)):
        shared = set(smaller) & set(larger)
        assert shared
        assert all(smaller[k] == larger[k] for k in shared)
    keys = {baseline(n).key for n in BASELINES}
    assert len(keys) == 4
    assert (
        baseline("LOW").key == "nist-special-publication-800-53-revision-5-1-1-low-impact-baseline"
    )


async def test_moderate_reuses_every_low_definition(baseline: Loader, uow) -> None:
    low, moderate = baseline("LOW"), baseline("MODERATE")
    moderate_only = {a.key for a in moderate.actions} - {a.key for a in low.actions}

    async with uow() as u:
        first = await import_template(u, low, source="oscal:low")
    async with uow() as u:
        second = await import_template(u, moderate, source="oscal:moderate")

    assert first.template_created and first.version_created
    assert first.definitions_created == len(low.actions) == 420
    assert second.template_created and second.version_created
    assert second.definitions_created == len(moderate_only) == 816 - 420
    assert second.definitions_updated == 0
    assert await _count(uow, ActionDefinition) == len(moderate.actions)
    assert await _count(uow, ActionDefinitionVersion) == len(moderate.actions)
    assert await _count(uow, Template) == 2
    assert await _count(uow, TemplateVersion) == 2
    assert await _count(uow, Regulation) == 1
    assert await _count(uow, TemplateControl) == len(low.controls) + len(moderate.controls)

    async with uow() as u:
        again = await import_catalog(u, oscal_file(BASELINE.format("MODERATE")))
    assert not again.template_created
    assert not again.version_created
    assert (again.definitions_created, again.definitions_updated) == (0, 0)
    assert again.version.version == 1
    assert await _count(uow, ActionDefinitionVersion) == len(moderate.actions)
    assert await _count(uow, TemplateVersion) == 2


# --- other catalogs and older shapes --------------------------------------------------------


def test_basic_catalog() -> None:
    spec = read_catalog(oscal_file(BASIC))
    assert [c.key for c in spec.controls] == ["1.1.1", "1.1.2", "2.1.1", "2.1.2"]
    assert {c.family for c in spec.controls} == {
        "Internal Organization",
        "Business requirements of access control",
    }
    assert (
        spec.regulation == spec.title == "Sample Security Catalog *for Demonstration* and Testing"
    )
    assert spec.key == "sample-security-catalog-for-demonstration-and-testing"
    assert spec.certification == "1.1"
    roles = _control(spec, "1.1.1")
    assert (
        "A value has been assigned to [Selection (one or more): initiating a device lock after "
        "[Assignment: a duration] of inactivity; requiring the user" in roles.description
    )
    action = _actions(spec)[roles.action_keys[0]]
    assert action.key == "sample-security-catalog-for-demonstration-and-testing:s1.1.1:statement"
    assert action.title == "1.1.1: Implement Information security roles and responsibilities"
    assert action.implementation_type == ImplementationType.OPERATIONAL
    assert (action.enforcement, action.purpose) == (Enforcement.MANDATORY, Purpose.PREVENTATIVE)
    assert "Discussion:" in action.guidance
    assert action.category == action.solution == "Internal Organization"


def _item(label: str, prose: str) -> dict[str, Any]:
    return {"name": "item", "props": [{"name": "label", "value": label}], "prose": prose}


def _older_catalog() -> dict[str, Any]:
    """OSCAL 1.0-era shapes: ``assessment`` parts, ``objects``, nested statements, values."""
    statement = {
        "name": "statement",
        "prose": "Patch within {{ insert: param, p1 }}:",
        "parts": [
            _item("a.", "all {{ insert: param, p3 }}"),
            _item("b.", "if {{insert: param,p4}}"),
        ],
    }
    params = [
        {"id": "p1", "label": "time"},
        {"id": "p2", "values": ["7 days"]},
        {
            "id": "p3",
            "label": "joined",
            "props": [{"name": "aggregates", "value": "p1"}, {"name": "aggregates", "value": "p2"}],
        },
        {"id": "p4", "select": {"choice": ["yes", "no"]}},
    ]
    parts = [
        {"name": "overview", "parts": [statement]},
        {"name": "objective", "prose": "patches are applied"},
        {
            "name": "assessment",
            "props": [{"name": "method", "value": "test"}],
            "parts": [{"name": "objects", "prose": "scanner"}],
        },
        {"name": "assessment", "props": [{"name": "method", "value": "OBSERVE"}]},
    ]
    enhancements = [
        {
            "id": "ex-1.1",
            "title": "Automatic patching",
            "parts": [{"name": "statement", "prose": "Automate."}],
        },
        {"id": "ex-1.2", "title": "Old", "props": [{"name": "status", "value": "withdrawn"}]},
    ]
    control = {
        "id": "ex-1",
        "title": "Patching",
        "params": params,
        "props": [{"name": "label", "value": "EX-1"}],
        "parts": parts,
        "controls": enhancements,
    }
    loose = {
        "id": "top-1",
        "title": "Loose control",
        "parts": [{"name": "statement", "prose": "Review {{ insert: param, freq }}."}],
    }
    inner = {"id": "inner", "title": "Inner", "controls": [control]}
    return {
        "catalog": {
            "metadata": {"title": "Example Corp Controls", "version": "2"},
            "params": [{"id": "freq", "values": ["monthly"]}],
            "controls": [loose],
            "groups": [{"id": "outer", "title": "Outer", "groups": [inner]}],
        }
    }


def test_older_shapes_and_fallbacks() -> None:
    spec = catalog_to_template(_older_catalog())
    assert [(c.key, c.family) for c in spec.controls] == [
        ("TOP-1", "General"),
        ("EX-1", "Inner"),
        ("EX-1.1", "Inner"),
    ]
    assert spec.regulation == "Example Corp Controls"
    assert spec.key == "example-corp-controls"
    assert _control(spec, "TOP-1").description == "Review monthly."
    assert _control(spec, "EX-1").description == (
        "Patch within [Assignment: time]:\n"
        "  a. all [Assignment: time], 7 days\n"
        "  b. if [Selection: yes; no]"
    )
    actions = _actions(spec)
    assert _control(spec, "EX-1").action_keys == ("example-corp-controls:ex-1:test",)
    test = actions["example-corp-controls:ex-1:test"]
    assert test.implementation_type == ImplementationType.TECHNICAL
    assert test.purpose == Purpose.DETECTIVE
    assert "- scanner" in test.guidance
    assert test.testing_logic == "patches are applied"
    automated = actions["example-corp-controls:ex-1.1:statement"]
    assert automated.enforcement == Enforcement.DISCRETIONARY
    assert automated.category == "Inner"
    assert automated.guidance == "Automate."


def test_sp_800_53_revisions_get_their_own_namespace() -> None:
    document = _older_catalog()
    document["catalog"]["metadata"]["title"] = "NIST SP 800-53 Rev. 4 MODERATE baseline"
    spec = catalog_to_template(document)
    assert spec.regulation == "NIST SP 800-53 Rev. 4"
    assert spec.actions[0].key.startswith("nist-sp-800-53-r4:")


def test_mapping_overrides() -> None:
    mapping = OscalMapping(
        enforcement=Enforcement.DISCRETIONARY,
        purpose=Purpose.CORRECTIVE,
        key_namespace="corp",
        regulation="Corp rules",
        product="Payroll",
        template_key="corp-payroll",
    )
    spec = catalog_to_template(_older_catalog(), mapping)
    assert (spec.key, spec.regulation, spec.product) == ("corp-payroll", "Corp rules", "Payroll")
    assert {a.enforcement for a in spec.actions} == {Enforcement.DISCRETIONARY}
    assert {a.purpose for a in spec.actions} == {Purpose.CORRECTIVE}
    assert {a.effective_points for a in spec.actions} == {1}
    assert all(a.key.startswith("corp:") for a in spec.actions)


def test_mapping_overrides_on_a_baseline(baseline: Loader) -> None:
    mapping = OscalMapping(enforcement=Enforcement.MANDATORY, purpose=Purpose.PREVENTATIVE)
    spec = read_catalog(oscal_file(BASELINE.format("PRIVACY")), mapping)
    assert {a.effective_points for a in spec.actions} == {27}
    assert {a.effective_points for a in baseline("PRIVACY").actions} == {27, 9, 3, 1}


async def test_overrides_change_stored_points(uow) -> None:
    path = oscal_file(BASIC)
    async with uow() as u:
        await import_catalog(u, path)
    mapping = OscalMapping(enforcement=Enforcement.DISCRETIONARY, purpose=Purpose.DETECTIVE)
    async with uow() as u:
        result = await import_catalog(u, path, mapping)
    assert result.definitions_updated == 4
    assert not result.version_created
    async with uow() as u:
        rows = (
            await u.session.execute(
                select(ActionDefinitionVersion.version, ActionDefinitionVersion.points)
            )
        ).all()
    assert sorted(rows) == [(1, 27)] * 4 + [(2, 1)] * 4


# --- bad input ------------------------------------------------------------------------------

_ONE_CONTROL = {"id": "a-1", "title": "Fine", "parts": [{"name": "statement", "prose": "Do."}]}


def _catalog(**members: Any) -> dict[str, Any]:
    return {"catalog": {"metadata": {"title": "Broken"}, **members}}


MALFORMED: dict[str, tuple[bytes, str]] = {
    "not json": (b"{not json", "bad.json: not valid JSON"),
    "array": (b"[1, 2]", "bad.json: the document must be a JSON object, not an array"),
    "no catalog": (b'{"profile": {}}', "bad.json: not an OSCAL catalog: no 'catalog' member"),
    "no metadata": (orjson.dumps({"catalog": {}}), "bad.json: catalog: catalog has no metadata"),
    "no title": (
        orjson.dumps({"catalog": {"metadata": {}}}),
        "bad.json: catalog.metadata: metadata has no title",
    ),
    "empty": (
        orjson.dumps(_catalog()),
        "bad.json: catalog: nothing to import: it has no controls",
    ),
    "all withdrawn": (
        orjson.dumps(
            _catalog(
                controls=[
                    {
                        "id": "a-1",
                        "title": "Gone",
                        "props": [{"name": "status", "value": "withdrawn"}],
                    }
                ]
            )
        ),
        "catalog: nothing to import: every control is withdrawn",
    ),
    "control without id": (
        orjson.dumps(_catalog(groups=[{"title": "G", "controls": [_ONE_CONTROL, {"title": "T"}]}])),
        "bad.json: catalog.groups[0].controls[1]: control has no id",
    ),
    "control without title": (
        orjson.dumps(_catalog(controls=[{"id": "a-2"}])),
        "catalog.controls[0]: control has no title",
    ),
    "title not a string": (
        orjson.dumps(_catalog(controls=[{"id": "a-2", "title": 7}])),
        "catalog.controls[0].title: control title must be a string, not a number",
    ),
    "groups not an array": (
        orjson.dumps(_catalog(groups={"title": "G"})),
        "catalog.groups: must be an array, not an object",
    ),
    "group without title": (
        orjson.dumps(_catalog(groups=[{"id": "g", "controls": [_ONE_CONTROL]}])),
        "catalog.groups[0]: group has no title",
    ),
    "enhancement not an object": (
        orjson.dumps(_catalog(controls=[{**_ONE_CONTROL, "controls": ["a-1.1"]}])),
        "catalog.controls[0].controls[0]: control must be a JSON object, not a string",
    ),
    "bad parameter values": (
        orjson.dumps(_catalog(controls=[{**_ONE_CONTROL, "params": [{"id": "p", "values": 3}]}])),
        "catalog.controls[0].params[0].values: parameter values must be an array of strings",
    ),
    "parameters that multiply": (
        orjson.dumps(
            _catalog(
                controls=[
                    {
                        "id": "a-1",
                        "title": "Fine",
                        "params": [
                            {"id": f"p{i}", "values": [f"{{{{ insert: param, p{i + 1} }}}}" * 2]}
                            for i in range(60)
                        ],
                        "parts": [{"name": "statement", "prose": "{{ insert: param, p0 }}"}],
                    }
                ]
            )
        ),
        f"catalog: a text inserts more than {MAX_INSERTIONS} parameters",
    ),
    "duplicate control": (
        orjson.dumps(_catalog(controls=[_ONE_CONTROL, _ONE_CONTROL])),
        "catalog.controls[1]: duplicate control id a-1 (catalog.controls[0])",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_catalogs_are_refused_with_a_clear_message(tmp_path: Path, case: str) -> None:
    content, message = MALFORMED[case]
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(OscalError) as caught:
        read_catalog(path)
    assert isinstance(caught.value, DomainError)
    assert caught.value.code == ErrorCode.INVALID
    assert message in caught.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(OscalError, match=r"missing\.json: cannot read the file"):
        read_catalog(tmp_path / "missing.json")


def test_document_without_source_name() -> None:
    with pytest.raises(OscalError) as caught:
        catalog_to_template(_catalog(controls=[{"title": "T"}]))
    assert caught.value.message == "catalog.controls[0]: control has no id"
    assert caught.value.path == "catalog.controls[0]"


async def test_failed_import_leaves_nothing_behind(tmp_path: Path, uow) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(MALFORMED["control without id"][0])
    with pytest.raises(OscalError):
        async with uow() as u:
            await import_catalog(u, oscal_file(BASIC))
            await import_catalog(u, path)
    for model in (Template, TemplateVersion, Regulation, ActionDefinition, TemplateControl):
        assert await _count(uow, model) == 0
