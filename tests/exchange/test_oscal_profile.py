"""The OSCAL profile importer: selections over the shared MODERATE catalog, its catalog's
location, bad profiles, and sharing definitions with other imports of the same catalog."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cmgraph.cli import app
from cmgraph.domain.enums import Enforcement
from cmgraph.domain.errors import ErrorCode
from cmgraph.domain.models import ActionDefinition, ActionDefinitionVersion, Template
from cmgraph.exchange.oscal_catalog import OscalError, OscalMapping, read_catalog
from cmgraph.exchange.oscal_profile import import_profile, read_profile
from tests.conftest import oscal_file
from tests.databases import Database

MODERATE = "NIST_SP-800-53_rev5_MODERATE-baseline-resolved-profile_catalog-min.json"
AC_2_FAMILY = ["AC-2", "AC-2(1)", "AC-2(2)", "AC-2(3)", "AC-2(4)", "AC-2(5)", "AC-2(13)"]


def profile(
    imports: list[dict[str, Any]], title: str = "Payroll system profile", **members: Any
) -> dict[str, Any]:
    return {
        "profile": {
            "uuid": "6f1c2b9e-3d4a-4c5b-8e7f-0a1b2c3d4e5f",
            "metadata": {
                "title": title,
                "version": "2026.1",
                "remarks": "The controls the payroll system is held to.",
                "last-modified": "2026-01-15T00:00:00Z",
                "oscal-version": "1.1.2",
            },
            "imports": imports,
            **members,
        }
    }


def write(folder: Path, document: dict[str, Any], name: str = "profile.json") -> Path:
    path = folder / name
    path.write_bytes(orjson.dumps(document))
    return path


def relative_href(folder: Path) -> str:
    """The MODERATE catalog as a path relative to ``folder``, as a profile next to it says."""
    return os.path.relpath(oscal_file(MODERATE), folder)


def keys(spec: Any) -> list[str]:
    return [c.key for c in spec.controls]


# --- selections -----------------------------------------------------------------------------


def test_with_ids_and_child_controls(tmp_path: Path) -> None:
    selection = [
        {"with-ids": ["ac-2"], "with-child-controls": "yes"},
        {"with-ids": ["au-2", "ac-3", "ia-2.1"]},
    ]
    path = write(
        tmp_path, profile([{"href": relative_href(tmp_path), "include-controls": selection}])
    )
    spec = read_profile(path)
    spec.validate()

    assert keys(spec) == [*AC_2_FAMILY, "AC-3", "AU-2", "IA-2(1)"]
    assert (spec.title, spec.certification, spec.key) == (
        "Payroll system profile",
        "2026.1",
        "payroll-system-profile",
    )
    assert spec.description == "The controls the payroll system is held to."
    assert spec.regulation == "NIST SP 800-53 Rev. 5"
    # IA-2(1) is selected without IA-2 and is still an enhancement of it.
    catalog = {a.key: a for a in read_catalog(oscal_file(MODERATE)).actions}
    enhancement = {a.key: a for a in spec.actions}["nist-sp-800-53-r5:ia-2.1:examine"]
    assert enhancement.enforcement == Enforcement.DISCRETIONARY
    assert all(action == catalog[action.key] for action in spec.actions)


def test_include_all_minus_exclusions(tmp_path: Path) -> None:
    document = profile(
        [
            {
                "href": relative_href(tmp_path),
                "include-all": {},
                "exclude-controls": [
                    {"with-ids": ["ac-2"], "with-child-controls": "yes"},
                    {"matching": [{"pattern": "pe-*"}]},
                ],
            }
        ]
    )
    spec = read_profile(write(tmp_path, document))
    catalog = read_catalog(oscal_file(MODERATE))
    expected = [k for k in keys(catalog) if k not in AC_2_FAMILY and not k.startswith("PE-")]
    assert keys(spec) == expected
    assert len(spec.controls) == 287 - 7 - sum(k.startswith("PE-") for k in keys(catalog))


def test_set_parameters_fill_in_the_profile_values(tmp_path: Path) -> None:
    document = profile(
        [{"href": relative_href(tmp_path), "include-controls": [{"with-ids": ["ac-1"]}]}],
        modify={
            "set-parameters": [
                {"param-id": "ac-1_prm_1", "values": ["the payroll security officer"]},
                {"param-id": "ac-01_odp.05", "values": ["every year"]},
            ]
        },
    )
    spec = read_profile(write(tmp_path, document))
    description = spec.controls[0].description
    assert description.startswith(
        "a. Develop, document, and disseminate to the payroll security officer:"
    )
    assert "Policy every year and following [Assignment: events]" in description


def test_catalog_from_a_back_matter_resource_or_the_command_line(tmp_path: Path) -> None:
    resource = "0d2f9a1e-5b6c-4d7e-8f90-a1b2c3d4e5f6"
    catalog_path = oscal_file(MODERATE)
    document = profile(
        [{"href": f"#{resource}", "include-controls": [{"with-ids": ["ac-1"]}]}],
        **{
            "back-matter": {
                "resources": [
                    {
                        "uuid": resource,
                        "rlinks": [
                            {"href": "https://example.test/catalog.xml"},
                            {"href": catalog_path.as_uri(), "media-type": "application/json"},
                        ],
                    }
                ]
            }
        },
    )
    assert keys(read_profile(write(tmp_path, document))) == ["AC-1"]

    remote = profile(
        [
            {
                "href": "https://example.test/NIST_SP-800-53_rev5_catalog.json",
                "include-controls": [{"with-ids": ["ac-1"]}],
            }
        ]
    )
    path = write(tmp_path, remote, "remote.json")
    with pytest.raises(OscalError, match=r"remote catalog .* pass --catalog"):
        read_profile(path)
    assert keys(read_profile(path, catalog_path)) == ["AC-1"]


# --- bad profiles ---------------------------------------------------------------------------


def _one_import(**selection: Any) -> dict[str, Any]:
    return profile([{"href": str(oscal_file(MODERATE)), **selection}])


BAD: dict[str, tuple[Any, str]] = {
    "unknown id": (
        _one_import(**{"include-controls": [{"with-ids": ["ac-1", "zz-9"]}]}),
        "profile.json: profile.imports[0].include-controls[0].with-ids[1]: control zz-9 is not in "
        + MODERATE,
    ),
    "nothing selected": (
        _one_import(**{"include-controls": [{"matching": [{"pattern": "zz-*"}]}]}),
        "profile.json: profile.imports: nothing selected",
    ),
    "no selection": (
        _one_import(),
        "profile.imports[0]: import selects nothing: give include-all or include-controls",
    ),
    "a catalog": (
        {"catalog": {"metadata": {"title": "Not a profile"}}},
        "profile.json: not an OSCAL profile: no 'profile' object: it is a catalog",
    ),
    "no imports": (profile([]), "profile.json: profile: profile has no imports"),
    "unknown parameter": (
        profile(
            [{"href": str(oscal_file(MODERATE)), "include-all": {}}],
            modify={"set-parameters": [{"param-id": "zz-01_odp.01", "values": ["x"]}]},
        ),
        "profile.modify.set-parameters[0]: parameter zz-01_odp.01 is not in the catalog",
    ),
    "missing catalog": (
        profile([{"href": "catalogs/missing.json", "include-all": {}}]),
        "missing.json: cannot read the catalog (No such file or directory); pass the catalog "
        "file with --catalog",
    ),
    "catalog is a profile": (
        profile([{"href": "profile.json", "include-all": {}}]),
        "profile.json: the import is a profile, not a catalog",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_profiles_are_refused_with_a_clear_message(tmp_path: Path, case: str) -> None:
    document, message = BAD[case]
    with pytest.raises(OscalError) as caught:
        read_profile(write(tmp_path, document))
    assert caught.value.code == ErrorCode.INVALID
    assert message in caught.value.message


# --- the database ---------------------------------------------------------------------------


async def _count(uow: Any, model: type) -> int:
    async with uow() as u:
        return await u.session.scalar(select(func.count()).select_from(model))


async def test_profiles_over_one_catalog_share_definitions(tmp_path: Path, uow) -> None:
    href = str(oscal_file(MODERATE))
    first = write(
        tmp_path,
        profile(
            [
                {
                    "href": href,
                    "include-controls": [{"with-ids": ["ac-2"], "with-child-controls": "yes"}],
                }
            ],
            title="Payroll",
        ),
        "payroll.json",
    )
    second = write(
        tmp_path,
        profile(
            [{"href": href, "include-controls": [{"with-ids": ["ac-2", "ac-3", "au-2"]}]}],
            title="Ledger",
        ),
        "ledger.json",
    )
    async with uow() as u:
        payroll = await import_profile(u, first)
    async with uow() as u:
        ledger = await import_profile(u, second)

    assert payroll.template_created and payroll.controls == 7
    assert payroll.definitions_created == payroll.actions == 20  # AC-2(5) has no TEST
    assert (ledger.controls, ledger.actions) == (3, 9)
    assert (ledger.definitions_created, ledger.definitions_updated) == (6, 0)  # AC-2's are shared
    assert await _count(uow, ActionDefinition) == 26
    assert await _count(uow, ActionDefinitionVersion) == 26
    async with uow() as u:
        templates = (await u.session.execute(select(Template.key, Template.title))).all()
    assert sorted(templates) == [("ledger", "Ledger"), ("payroll", "Payroll")]

    async with uow() as u:
        again = await import_profile(
            u, second, oscal_file(MODERATE), OscalMapping(template_key="ledger")
        )
    assert not again.version_created
    assert (again.definitions_created, again.definitions_updated) == (0, 0)


async def test_the_command_line_imports_a_profile(db: Database, tmp_path: Path) -> None:
    document = profile(
        [
            {
                "href": "https://example.test/catalog.json",
                "include-controls": [{"with-ids": ["ac-2"], "with-child-controls": "yes"}],
            }
        ]
    )
    path = write(tmp_path, document)

    def cli(*args: str) -> Any:
        env = {"CMGRAPH_DATABASE_URL": db.url}
        return CliRunner().invoke(app, ["templates", "import-oscal-profile", *args], env=env)

    # The CLI runs its own event loop.
    refused = await asyncio.to_thread(cli, str(path))
    assert refused.exit_code == 1 and "pass --catalog" in refused.output
    done = await asyncio.to_thread(cli, str(path), "--catalog", str(oscal_file(MODERATE)))
    assert done.exit_code == 0, done.output
    assert (
        "template 'payroll-system-profile' created: version 1, 7 controls, 20 actions"
        in done.output
    )
