"""What a pending update would change (DOMAIN.md sections 9 and 10), as actions, assessments
and the accept mutations show it."""

from __future__ import annotations

import strawberry

from cmgraph.domain import updates

# ``strawberry.enum`` registers the class it is given and returns it: the name is the domain
# class itself (an alias mypy accepts as a type), registered by a plain call.
DefinitionField = updates.DefinitionField
strawberry.enum(DefinitionField, description="A field of an action definition version.")


@strawberry.type(description="One field a newer definition version changes.")
class FieldChange:
    field: DefinitionField
    current_value: str = strawberry.field(description="As accepted now.")
    new_value: str = strawberry.field(description="In the latest definition version.")

    @classmethod
    def of(cls, change: updates.FieldChange) -> FieldChange:
        return cls(field=change.field, current_value=change.current, new_value=change.new)


@strawberry.type(description="A control-to-action link of a template, by keys.")
class ControlActionMapping:
    control_key: str
    action_key: str


@strawberry.type(
    description="What moving from one template version to another changes. Mappings of "
    "added or removed controls count as added or removed mappings."
)
class TemplateUpdateChanges:
    from_version: int
    to_version: int
    controls_added: list[str] = strawberry.field(description="Control keys, in template order.")
    controls_removed: list[str]
    controls_changed: list[str] = strawberry.field(
        description="Controls whose family, title or text changed."
    )
    mappings_added: list[ControlActionMapping]
    mappings_removed: list[ControlActionMapping]
    controls_added_count: int
    controls_removed_count: int
    controls_changed_count: int
    mappings_added_count: int
    mappings_removed_count: int

    @classmethod
    def of(cls, diff: updates.TemplateDiff) -> TemplateUpdateChanges:
        def mappings(pairs: tuple[tuple[str, str], ...]) -> list[ControlActionMapping]:
            return [ControlActionMapping(control_key=c, action_key=a) for c, a in pairs]

        return cls(
            from_version=diff.from_version,
            to_version=diff.to_version,
            controls_added=list(diff.controls_added),
            controls_removed=list(diff.controls_removed),
            controls_changed=list(diff.controls_changed),
            mappings_added=mappings(diff.mappings_added),
            mappings_removed=mappings(diff.mappings_removed),
            controls_added_count=len(diff.controls_added),
            controls_removed_count=len(diff.controls_removed),
            controls_changed_count=len(diff.controls_changed),
            mappings_added_count=len(diff.mappings_added),
            mappings_removed_count=len(diff.mappings_removed),
        )
