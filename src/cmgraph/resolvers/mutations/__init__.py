"""The root mutation type, merged from one module per area."""

from __future__ import annotations

from strawberry.tools import merge_types

from cmgraph.resolvers.alerts import AlertMutations
from cmgraph.resolvers.mail import OutboxMutations
from cmgraph.resolvers.mutations.actions import ActionMutations
from cmgraph.resolvers.mutations.assessments import AssessmentMutations
from cmgraph.resolvers.mutations.evidence import EvidenceMutations
from cmgraph.resolvers.mutations.imports import ImportMutations
from cmgraph.resolvers.mutations.templates import TemplateMutations
from cmgraph.resolvers.mutations.testing import TestingMutations
from cmgraph.resolvers.mutations.updates import UpdateMutations

Mutation = merge_types(
    "Mutation",
    (
        AssessmentMutations,
        ActionMutations,
        TestingMutations,
        UpdateMutations,
        TemplateMutations,
        EvidenceMutations,
        ImportMutations,
        OutboxMutations,
        AlertMutations,
    ),
)
