"""The root mutation type, merged from one module per area."""

from __future__ import annotations

from strawberry.tools import merge_types

from cmgraph.resolvers.mutations.actions import ActionMutations
from cmgraph.resolvers.mutations.assessments import AssessmentMutations

Mutation = merge_types("Mutation", (AssessmentMutations, ActionMutations))
