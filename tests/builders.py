"""Test data built through the domain services, as a user of the API would build it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cmgraph.domain.assessments import NewAssessment, create_assessment
from cmgraph.domain.enums import (
    ChangeSource,
    Enforcement,
    ImplementationStatus,
    ImplementationType,
    Owner,
    Purpose,
    TestStatus,
)
from cmgraph.domain.models import Assessment, ImprovementAction
from cmgraph.domain.permissions import Principal
from cmgraph.domain.templates import ActionSpec, ControlSpec, TemplateSpec, import_template
from cmgraph.domain.workflow import change_action

DAY = date(2026, 1, 15)

T1 = ActionSpec(
    "we:t1",
    "T1",
    ImplementationType.TECHNICAL,
    Enforcement.MANDATORY,
    Purpose.PREVENTATIVE,
    category="Control access",
    solution="Identity",
)
T2 = ActionSpec(
    "we:t2",
    "T2",
    ImplementationType.TECHNICAL,
    Enforcement.DISCRETIONARY,
    Purpose.DETECTIVE,
    category="Discover and respond",
    solution="Audit",
)
N1 = ActionSpec(
    "we:n1",
    "N1",
    ImplementationType.DOCUMENTATION,
    Enforcement.MANDATORY,
    Purpose.DETECTIVE,
    category="Govern information",
    solution="Policies",
)
P1 = ActionSpec(
    "we:p1",
    "P1",
    ImplementationType.TECHNICAL,
    Enforcement.DISCRETIONARY,
    Purpose.PREVENTATIVE,
    owner=Owner.PROVIDER,
    category="Protect information",
    solution="Platform",
)


def _template(
    key: str, regulation: str, controls: dict[str, tuple[ActionSpec, ...]]
) -> TemplateSpec:
    actions = {a.key: a for specs in controls.values() for a in specs}
    return TemplateSpec(
        key=key,
        title=key.upper(),
        regulation=regulation,
        product="Worked example",
        controls=tuple(
            ControlSpec(name, "Family", f"Control {name}", action_keys=tuple(a.key for a in specs))
            for name, specs in controls.items()
        ),
        actions=tuple(actions.values()),
    )


@dataclass
class WorkedExample:
    a1: Assessment
    a2: Assessment
    a3: Assessment
    actions: dict[str, ImprovementAction]  # "T1", "T2", "P1", "N1@G1", "N1@G2"


async def passed(
    uow, actor: Principal, action_id: int, *, source: ChangeSource = ChangeSource.USER
) -> None:  # type: ignore[no-untyped-def]
    await change_action(
        uow,
        actor,
        action_id,
        {
            "implementation_status": ImplementationStatus.IMPLEMENTED,
            "implementation_date": DAY,
            "test_status": TestStatus.PASSED,
            "test_date": DAY,
        },
        source=source,
    )


async def worked_example(  # type: ignore[no-untyped-def]
    uow, owner: Principal, *, attest_p1: bool = True
) -> WorkedExample:
    """DOMAIN.md section 7: A1 = 39/39, A2 = 3/4, A3 = 27/30, overall 39/43.

    P1's pass is the provider's attestation (source PROVIDER); without ``attest_p1`` it is
    left untested, for a test to record it.
    """
    x = await import_template(
        uow, _template("x", "Regulation X", {"C1": (T1, N1), "C2": (T1, P1)}), source="test"
    )
    y = await import_template(uow, _template("y", "Regulation Y", {"C3": (N1, T2)}), source="test")
    z = await import_template(uow, _template("z", "Regulation X", {"C4": (T1, N1)}), source="test")
    a1 = await create_assessment(
        uow, owner, NewAssessment(x.template.id, "A1", new_group_name="G1")
    )
    a2 = await create_assessment(
        uow, owner, NewAssessment(y.template.id, "A2", group_id=a1.group_id)
    )
    a3 = await create_assessment(
        uow, owner, NewAssessment(z.template.id, "A3", new_group_name="G2")
    )
    from sqlalchemy import select

    from cmgraph.domain.models import ActionDefinition

    rows = (
        await uow.session.execute(
            select(ImprovementAction, ActionDefinition.key).join(
                ActionDefinition, ActionDefinition.id == ImprovementAction.definition_id
            )
        )
    ).all()
    actions: dict[str, ImprovementAction] = {}
    for action, key in rows:
        name = key.split(":")[1].upper()
        if name == "N1":
            name += "@G1" if action.group_id == a1.group_id else "@G2"
        actions[name] = action
    await passed(uow, owner, actions["T1"].id)
    await passed(uow, owner, actions["N1@G1"].id)
    if attest_p1:
        await passed(uow, owner, actions["P1"].id, source=ChangeSource.PROVIDER)
    return WorkedExample(a1, a2, a3, actions)
