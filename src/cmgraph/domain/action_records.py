"""An improvement action read whole: the instance, its definition, and the definition
version it has accepted (what every view of an action shows)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select

from cmgraph.domain.models import ActionDefinition, ActionDefinitionVersion, ImprovementAction


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """An instance with the definition and the definition version it has accepted."""

    action: ImprovementAction
    definition: ActionDefinition
    version: ActionDefinitionVersion


def action_select() -> Select[ImprovementAction, ActionDefinition, ActionDefinitionVersion]:
    return (
        select(ImprovementAction, ActionDefinition, ActionDefinitionVersion)
        .join(ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id)
        .join(
            ActionDefinitionVersion,
            ActionDefinitionVersion.id == ImprovementAction.definition_version_id,
        )
    )
