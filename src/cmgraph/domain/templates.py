"""Templates as plain specs, and the service that stores them as versioned rows.

Every source of templates (the starter JSON, OSCAL catalogs, template workbooks) produces a
``TemplateSpec``; ``import_template`` is the one place that writes them. Importing a spec
whose content differs from the stored latest version publishes a new version; importing the
same content again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import calendar, text
from cmgraph.domain.enums import Enforcement, ImplementationType, Owner, Purpose
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.models import (
    ActionDefinition,
    ActionDefinitionVersion,
    HistoryEntry,
    ImprovementAction,
    Regulation,
    Template,
    TemplateControl,
    TemplateControlAction,
    TemplateVersion,
)
from cmgraph.domain.permissions import Principal
from cmgraph.domain.provider_results import ProviderResult, check_statement
from cmgraph.domain.scoring import default_points
from cmgraph.domain.updates import announce_updates, take_provider_versions

# The largest template cmgraph takes (the whole SP 800-53 Rev. 5 catalog has about 1,200
# controls with enhancements, and SP 800-53A three methods per control); the API's query cost
# relies on these bounds (schema/limits.py).
MAX_CONTROLS_PER_TEMPLATE = 1500
# Tables a template version fills (provider instances may take its versions at once).
TEMPLATE_TABLES = tuple(
    model.__tablename__
    for model in (
        Template,
        TemplateVersion,
        TemplateControl,
        TemplateControlAction,
        ActionDefinition,
        ActionDefinitionVersion,
        ImprovementAction,
        HistoryEntry,
    )
)
MAX_ACTIONS_PER_CONTROL = 20


@dataclass(frozen=True)
class ActionSpec:
    """One action definition as a template describes it. ``key`` is stable across templates."""

    key: str
    title: str
    implementation_type: ImplementationType
    enforcement: Enforcement
    purpose: Purpose
    owner: Owner = Owner.CUSTOMER
    points: int | None = None  # custom points 1-99; None means the default table
    guidance: str = ""
    solution: str = ""
    category: str = ""
    testing_logic: str = ""
    automatic_testing_available: bool = False
    # Default re-testing cadence in days for its instances (DOMAIN.md section 15).
    retest_interval_days: int | None = None
    # A provider action's attested result (DOMAIN.md section 14); None: the template states
    # nothing, and its instances keep what they hold.
    provider_result: ProviderResult | None = None

    @property
    def effective_points(self) -> int:
        return (
            self.points
            if self.points is not None
            else default_points(self.purpose, self.enforcement)
        )


@dataclass(frozen=True)
class ControlSpec:
    key: str
    family: str
    title: str
    description: str = ""
    action_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class TemplateSpec:
    key: str
    title: str
    regulation: str
    product: str
    certification: str = ""
    services: str = ""
    description: str = ""
    controls: tuple[ControlSpec, ...] = ()
    actions: tuple[ActionSpec, ...] = ()

    def validate(self) -> None:
        """Refuse a spec that cannot be stored whole."""
        if not self.key.strip() or not self.title.strip():
            raise DomainError(ErrorCode.INVALID, "A template needs a key and a title.", "key")
        if not self.controls:
            raise DomainError(ErrorCode.INVALID, "A template needs at least one control.")
        if len(self.controls) > MAX_CONTROLS_PER_TEMPLATE:
            raise DomainError(
                ErrorCode.INVALID,
                f"A template holds at most {MAX_CONTROLS_PER_TEMPLATE} controls; "
                f"this one has {len(self.controls)}.",
                "controls",
            )
        action_keys = [a.key for a in self.actions]
        _no_duplicates(action_keys, "action key")
        _no_duplicates([c.key for c in self.controls], "control key")
        known = set(action_keys)
        for action in self.actions:
            if action.points is not None and not 1 <= action.points <= 99:
                raise DomainError(
                    ErrorCode.INVALID,
                    f"Action {action.key}: custom points must be 1-99, got {action.points}.",
                    "points",
                )
            calendar.check_retest_interval(action.retest_interval_days)
            if action.provider_result is not None:
                if action.owner is not Owner.PROVIDER:
                    raise DomainError(
                        ErrorCode.INVALID,
                        f"Action {action.key}: only provider actions carry a provider result.",
                        "providerResult",
                    )
                check_statement(action.provider_result.changes())
        for control in self.controls:
            if len(control.action_keys) > MAX_ACTIONS_PER_CONTROL:
                raise DomainError(
                    ErrorCode.INVALID,
                    f"Control {control.key} has {len(control.action_keys)} actions; "
                    f"a control holds at most {MAX_ACTIONS_PER_CONTROL}.",
                    "controls",
                )
            missing = [k for k in control.action_keys if k not in known]
            if missing:
                raise DomainError(
                    ErrorCode.INVALID,
                    f"Control {control.key} names unknown actions: {', '.join(missing)}.",
                    "controls",
                )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TemplateSpec:
        """Build a spec from the project's JSON template format (see the starter template)."""
        try:
            actions = tuple(
                ActionSpec(
                    key=a["key"],
                    title=a["title"],
                    implementation_type=ImplementationType(a["implementationType"]),
                    enforcement=Enforcement(a["enforcement"]),
                    purpose=Purpose(a["purpose"]),
                    owner=Owner(a.get("owner", "CUSTOMER")),
                    points=a.get("points"),
                    guidance=a.get("guidance", ""),
                    solution=a.get("solution", ""),
                    category=a.get("category", ""),
                    testing_logic=a.get("testingLogic", ""),
                    automatic_testing_available=bool(a.get("automaticTestingAvailable", False)),
                    retest_interval_days=a.get("retestIntervalDays"),
                    provider_result=_provider_result(a.get("providerResult")),
                )
                for a in data["actions"]
            )
            controls = tuple(
                ControlSpec(
                    key=c["key"],
                    family=c["family"],
                    title=c["title"],
                    description=c.get("description", ""),
                    action_keys=tuple(c.get("actions", ())),
                )
                for c in data["controls"]
            )
            spec = cls(
                key=data["key"],
                title=data["title"],
                regulation=data["regulation"],
                product=data.get("product", ""),
                certification=data.get("certification", ""),
                services=data.get("services", ""),
                description=data.get("description", ""),
                controls=controls,
                actions=actions,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DomainError(ErrorCode.INVALID, f"Malformed template: {exc!r}") from exc
        spec.validate()
        return spec


def _provider_result(data: dict[str, Any] | None) -> ProviderResult | None:
    """The JSON format's ``providerResult`` (camelCase keys, ISO dates), if any."""
    if data is None:
        return None
    return ProviderResult.from_json(
        {name: data.get(text.camel(name)) for name in ProviderResult.__dataclass_fields__}
    )


def _no_duplicates(keys: list[str], what: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise DomainError(ErrorCode.INVALID, f"Duplicate {what}: {key}.")
        seen.add(key)


@dataclass
class TemplateImport:
    """What an import did, for the CLI and the API to report."""

    template: Template
    version: TemplateVersion
    template_created: bool
    version_created: bool
    definitions_created: int = 0
    definitions_updated: int = 0
    controls: int = 0
    actions: int = 0
    updated_definition_ids: list[int] = field(default_factory=list)
    # UPDATE_AVAILABLE events appended: instances and live assessments now pending an update.
    actions_pending_update: int = 0
    assessments_pending_update: int = 0
    # Provider instances moved to a new definition version at once (never pending).
    provider_actions_updated: int = 0


_VERSIONED_FIELDS = (
    "title",
    "guidance",
    "solution",
    "category",
    "testing_logic",
    "enforcement",
    "purpose",
    "points",
    "custom_points",
    "automatic_testing_available",
    "retest_interval_days",
    "provider_result",
)


def _version_values(spec: ActionSpec) -> dict[str, Any]:
    return {
        "title": spec.title,
        "guidance": spec.guidance,
        "solution": spec.solution,
        "category": spec.category,
        "testing_logic": spec.testing_logic,
        "enforcement": spec.enforcement,
        "purpose": spec.purpose,
        "points": spec.effective_points,
        "custom_points": spec.points is not None,
        "automatic_testing_available": spec.automatic_testing_available,
        "retest_interval_days": spec.retest_interval_days,
        "provider_result": spec.provider_result.to_json() if spec.provider_result else None,
    }


async def import_template(
    uow: UnitOfWork, spec: TemplateSpec, *, source: str, actor: Principal | None = None
) -> TemplateImport:
    """Store a template spec: new template, new version, or nothing when unchanged.

    What a new version makes pending (instances of changed customer definitions, assessments
    of an updated template) is announced with UPDATE_AVAILABLE events in the same
    transaction. Provider instances take their new definition versions at once, with the
    result the template states (``updates.take_provider_versions``), written as ``actor``'s
    (None: the operator). Authorisation is the caller's: the CLI runs as the operator, the
    API checks ADMINISTRATOR before calling.
    """
    result = await _store_template(uow, spec, source=source)
    updated_template = result.version_created and not result.template_created
    updated = result.updated_definition_ids
    provider_ids: set[int] = set()
    if updated:
        provider_ids = set(
            await uow.session.scalars(
                select(ActionDefinition.id).where(
                    ActionDefinition.id.in_(updated), ActionDefinition.owner == Owner.PROVIDER
                )
            )
        )
    announced = await announce_updates(
        uow,
        [i for i in updated if i not in provider_ids],
        result.template.id if updated_template else None,
    )
    result.provider_actions_updated = await take_provider_versions(uow, actor, sorted(provider_ids))
    result.actions_pending_update = announced.actions
    result.assessments_pending_update = announced.assessments
    if result.version_created:
        uow.refresh_statistics(*TEMPLATE_TABLES)
    return result


async def _store_template(uow: UnitOfWork, spec: TemplateSpec, *, source: str) -> TemplateImport:
    spec.validate()
    session = uow.session
    definitions = await _upsert_definitions(uow, spec.actions)
    created = sum(1 for _, state in definitions.values() if state == "created")
    updated = [d.id for d, state in definitions.values() if state == "updated"]

    regulation = await session.scalar(select(Regulation).where(Regulation.name == spec.regulation))
    if regulation is None:
        regulation = Regulation(name=spec.regulation)
        session.add(regulation)
        await session.flush()

    template = await session.scalar(select(Template).where(Template.key == spec.key))
    template_created = template is None
    if template is None:
        template = Template(
            key=spec.key,
            title=spec.title,
            regulation_id=regulation.id,
            product=spec.product,
            certification=spec.certification,
            services=spec.services,
            description=spec.description,
            latest_version=0,
        )
        session.add(template)
        await session.flush()
    else:
        template.title = spec.title
        template.regulation_id = regulation.id
        template.product = spec.product
        template.certification = spec.certification
        template.services = spec.services
        template.description = spec.description

    wanted = frozenset(
        (c.key, c.family, c.title, c.description, tuple(sorted(c.action_keys)))
        for c in spec.controls
    )
    latest = None
    if not template_created:
        latest = await session.scalar(
            select(TemplateVersion).where(
                TemplateVersion.template_id == template.id,
                TemplateVersion.version == template.latest_version,
            )
        )
    if latest is not None and await _stored_fingerprint(uow, latest.id) == wanted:
        return TemplateImport(
            template,
            latest,
            False,
            False,
            created,
            len(updated),
            len(spec.controls),
            len(spec.actions),
            updated,
        )

    version = TemplateVersion(
        template_id=template.id, version=template.latest_version + 1, source=source
    )
    session.add(version)
    template.latest_version = version.version
    await session.flush()
    controls = [
        TemplateControl(
            template_version_id=version.id,
            key=c.key,
            family=c.family,
            title=c.title,
            description=c.description,
            sort_order=i,
        )
        for i, c in enumerate(spec.controls)
    ]
    session.add_all(controls)
    await session.flush()
    session.add_all(
        TemplateControlAction(template_control_id=row.id, definition_id=definitions[key][0].id)
        for row, c in zip(controls, spec.controls, strict=True)
        for key in dict.fromkeys(c.action_keys)
    )
    await session.flush()
    return TemplateImport(
        template,
        version,
        template_created,
        True,
        created,
        len(updated),
        len(spec.controls),
        len(spec.actions),
        updated,
    )


async def _stored_fingerprint(uow: UnitOfWork, version_id: int) -> frozenset[tuple[Any, ...]]:
    rows = (
        await uow.session.execute(
            select(TemplateControl, ActionDefinition.key)
            .outerjoin(
                TemplateControlAction,
                TemplateControlAction.template_control_id == TemplateControl.id,
            )
            .outerjoin(ActionDefinition, ActionDefinition.id == TemplateControlAction.definition_id)
            .where(TemplateControl.template_version_id == version_id)
        )
    ).all()
    by_control: dict[int, tuple[TemplateControl, list[str]]] = {}
    for control, action_key in rows:
        entry = by_control.setdefault(control.id, (control, []))
        if action_key is not None:
            entry[1].append(action_key)
    return frozenset(
        (c.key, c.family, c.title, c.description, tuple(sorted(keys)))
        for c, keys in by_control.values()
    )


async def _upsert_definitions(
    uow: UnitOfWork, actions: tuple[ActionSpec, ...]
) -> dict[str, tuple[ActionDefinition, str]]:
    """Create missing definitions and publish a new version where content changed."""
    session = uow.session
    keys = [a.key for a in actions]
    existing: dict[str, tuple[ActionDefinition, ActionDefinitionVersion]] = {}
    for chunk in _chunks(keys, 500):
        rows = await session.execute(
            select(ActionDefinition, ActionDefinitionVersion)
            .join(
                ActionDefinitionVersion,
                (ActionDefinitionVersion.definition_id == ActionDefinition.id)
                & (ActionDefinitionVersion.version == ActionDefinition.latest_version),
            )
            .where(ActionDefinition.key.in_(chunk))
        )
        existing.update({d.key: (d, v) for d, v in rows.all()})

    result: dict[str, tuple[ActionDefinition, str]] = {}
    new_definitions: list[tuple[ActionSpec, ActionDefinition]] = []
    for spec in actions:
        found = existing.get(spec.key)
        if found is None:
            definition = ActionDefinition(
                key=spec.key,
                implementation_type=spec.implementation_type,
                owner=spec.owner,
                latest_version=1,
            )
            new_definitions.append((spec, definition))
            result[spec.key] = (definition, "created")
            continue
        definition, version = found
        if (definition.implementation_type, definition.owner) != (
            spec.implementation_type,
            spec.owner,
        ):
            raise DomainError(
                ErrorCode.INVALID,
                f"Action {spec.key} cannot change its implementation type or owner "
                "(that decides where its state is shared); give it a new key.",
                "actions",
            )
        values = _version_values(spec)
        if all(getattr(version, name) == values[name] for name in _VERSIONED_FIELDS):
            result[spec.key] = (definition, "unchanged")
            continue
        definition.latest_version += 1
        session.add(
            ActionDefinitionVersion(
                definition_id=definition.id, version=definition.latest_version, **values
            )
        )
        result[spec.key] = (definition, "updated")

    session.add_all(d for _, d in new_definitions)
    await session.flush()
    session.add_all(
        ActionDefinitionVersion(definition_id=d.id, version=1, **_version_values(spec))
        for spec, d in new_definitions
    )
    await session.flush()
    return result


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
