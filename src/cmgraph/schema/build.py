"""Builds the GraphQL schema with its limits, caches and error masking."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from cmgraph.config import Settings
from cmgraph.schema.execution import LeafShortcutExecutionContext, use_direct_resolvers

log = logging.getLogger("cmgraph.graphql")

CACHE_SIZE = 512


class MaskUnexpectedErrors(SchemaExtension):
    """Replace errors nobody meant to show with a generic one carrying the request id.

    Errors raised on purpose (``GraphQLError`` with a code, validation errors) pass through;
    anything else is logged with its traceback and the request id the client can quote.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        self._mask(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """Subscriptions: each message is masked before it is sent."""
        self._mask(result)
        yield None

    def _mask(self, result: Any) -> None:
        if not result or not getattr(result, "errors", None):
            return
        context = self.execution_context.context
        request_id = getattr(context, "request_id", "-")
        masked = []
        for error in result.errors:
            original = error.original_error
            if original is None or isinstance(original, GraphQLError):
                masked.append(error)
                continue
            log.error(
                "unexpected error in request %s at %s",
                request_id,
                error.path,
                exc_info=(type(original), original, original.__traceback__),
            )
            masked.append(
                GraphQLError(
                    f"Unexpected error (request id {request_id}).",
                    nodes=error.nodes,
                    path=error.path,
                    extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
                )
            )
        result.errors = masked


class ReleaseRequestState(SchemaExtension):
    """Lets the context drop what it cached for the operation (``release()``) once done."""

    def on_operation(self) -> Iterator[None]:
        yield
        release = getattr(self.execution_context.context, "release", None)
        if release is not None:
            release()


def build_schema(query: type, settings: Settings, **kwargs: object) -> strawberry.Schema:
    # The depth and alias limits are validation rules, made here once: the validation cache
    # is keyed by the rules, and limiters made per request would make new rule classes each
    # time, so that every request missed the cache and was validated again.
    limits = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    schema = strawberry.Schema(
        query=query,
        extensions=[
            lambda: ParserCache(maxsize=CACHE_SIZE),
            lambda: ValidationCache(maxsize=CACHE_SIZE),
            lambda: AddValidationRules(limits),
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
            MaskUnexpectedErrors,
            ReleaseRequestState,
        ],
        execution_context_class=LeafShortcutExecutionContext,
        **kwargs,  # type: ignore[arg-type]
    )
    use_direct_resolvers(schema)
    return schema
