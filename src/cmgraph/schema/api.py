"""The API: every area's root fields merged into one schema, and that schema as SDL."""

from __future__ import annotations

import strawberry
from strawberry.tools import merge_types

from cmgraph.config import Settings
from cmgraph.schema.alerts import AlertMutations, AlertQueries
from cmgraph.schema.build import build_schema
from cmgraph.schema.mail import OutboxMutations, OutboxQueries
from cmgraph.schema.mutations.actions import ActionMutations
from cmgraph.schema.mutations.assessments import AssessmentMutations
from cmgraph.schema.mutations.evidence import EvidenceMutations
from cmgraph.schema.mutations.imports import ImportMutations
from cmgraph.schema.mutations.people import PeopleMutations
from cmgraph.schema.mutations.provider_results import ProviderResultMutations
from cmgraph.schema.mutations.templates import TemplateMutations
from cmgraph.schema.mutations.testing import TestingMutations
from cmgraph.schema.mutations.updates import UpdateMutations
from cmgraph.schema.people import AuditQueries
from cmgraph.schema.query import Query as CoreQueries
from cmgraph.schema.subscriptions import Subscription

Query = merge_types("Query", (CoreQueries, OutboxQueries, AlertQueries, AuditQueries))
Mutation = merge_types(
    "Mutation",
    (
        AssessmentMutations,
        ActionMutations,
        TestingMutations,
        ProviderResultMutations,
        UpdateMutations,
        TemplateMutations,
        EvidenceMutations,
        ImportMutations,
        OutboxMutations,
        AlertMutations,
        PeopleMutations,
    ),
)


def build_api(settings: Settings) -> strawberry.Schema:
    return build_schema(Query, settings, mutation=Mutation, subscription=Subscription)


def schema_sdl() -> str:
    """The schema as committed in ``schema.graphql``."""
    return str(build_api(Settings())) + "\n"
