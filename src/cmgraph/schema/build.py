"""Builds the GraphQL schema with its limits, caches and error masking."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from cmgraph.config import Settings

log = logging.getLogger("cmgraph.graphql")

CACHE_SIZE = 512


class MaskUnexpectedErrors(SchemaExtension):
    """Replace errors nobody meant to show with a generic one carrying the request id.

    Errors raised on purpose (``GraphQLError`` with a code, validation errors) pass through;
    anything else is logged with its traceback and the request id the client can quote.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if not result or not result.errors:
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


def build_schema(query: type, settings: Settings, **kwargs: object) -> strawberry.Schema:
    return strawberry.Schema(
        query=query,
        extensions=[
            lambda: ParserCache(maxsize=CACHE_SIZE),
            lambda: ValidationCache(maxsize=CACHE_SIZE),
            lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
            lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
            MaskUnexpectedErrors,
        ],
        **kwargs,  # type: ignore[arg-type]
    )
