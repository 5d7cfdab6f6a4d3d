"""The shipped starter template: valid, varied enough to show every feature, import-stable."""

from __future__ import annotations

import json
from collections import Counter
from importlib.resources import files

from sqlalchemy import func, select

from cmgraph.domain.enums import Enforcement, ImplementationType, Owner, Purpose
from cmgraph.domain.models import ActionDefinition, Template, TemplateControl, TemplateVersion
from cmgraph.domain.starter import STARTER_TEMPLATE_KEY, starter_template
from cmgraph.domain.templates import TemplateSpec, import_template

CATEGORIES = {
    "Control access",
    "Protect information",
    "Manage devices",
    "Govern information",
    "Discover and respond",
    "Protect against threats",
}


def test_spec_validates_and_has_the_expected_shape() -> None:
    spec = starter_template()
    spec.validate()
    assert spec.key == STARTER_TEMPLATE_KEY
    assert "GDPR" not in spec.regulation and "ISO" not in spec.regulation
    assert 25 <= len(spec.controls) <= 35
    assert 35 <= len(spec.actions) <= 50
    assert 5 <= len({c.family for c in spec.controls}) <= 7


def test_file_parses_the_same_way_directly() -> None:
    raw = json.loads((files("cmgraph") / "data" / "starter_template.json").read_text("utf-8"))
    assert TemplateSpec.from_dict(raw) == starter_template()


def test_covers_every_kind_of_action() -> None:
    actions = starter_template().actions
    assert {a.implementation_type for a in actions} == set(ImplementationType)
    assert {a.enforcement for a in actions} == set(Enforcement)
    assert {a.purpose for a in actions} == set(Purpose)
    assert any(a.owner is Owner.PROVIDER for a in actions)
    assert any(a.automatic_testing_available for a in actions)
    custom = [a.points for a in actions if a.points is not None]
    assert custom and all(1 <= p <= 99 for p in custom)
    assert {a.category for a in actions} == CATEGORIES
    assert all(a.solution and a.guidance and a.testing_logic for a in actions)
    assert all(a.key.startswith("dpb:") for a in actions)


def test_every_action_is_mapped_and_some_map_to_several_controls() -> None:
    spec = starter_template()
    uses = Counter(key for c in spec.controls for key in c.action_keys)
    assert set(uses) == {a.key for a in spec.actions}
    assert sum(1 for n in uses.values() if n > 1) >= 5
    assert all(c.action_keys for c in spec.controls)


async def test_importing_twice_creates_one_version(uow) -> None:
    spec = starter_template()
    async with uow() as u:
        first = await import_template(u, spec, source="starter")
    assert first.template_created and first.version_created
    assert first.definitions_created == len(spec.actions)

    async with uow() as u:
        second = await import_template(u, spec, source="starter")
    assert not second.template_created and not second.version_created
    assert second.definitions_created == 0 and second.definitions_updated == 0
    assert second.version.id == first.version.id

    async with uow() as u:
        count = select(func.count()).select_from
        assert await u.session.scalar(count(Template)) == 1
        assert await u.session.scalar(count(TemplateVersion)) == 1
        assert await u.session.scalar(count(TemplateControl)) == len(spec.controls)
        assert await u.session.scalar(count(ActionDefinition)) == len(spec.actions)
        template = await u.session.scalar(select(Template))
        assert template is not None and template.latest_version == 1
