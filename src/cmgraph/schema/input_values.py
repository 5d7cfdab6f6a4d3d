"""Input objects built straight from the values graphql-core has already coerced.

Before a resolver runs, graphql-core coerces its arguments: enum names become members,
scalars are parsed, required fields are checked. Strawberry then converts each input object
again, field by field, working out every field's GraphQL name and type on each request,
whether the client sent the field or not; for a list's filter that was a tenth of a request.

For an input type whose fields need nothing more (scalars, enums, lists of them, and input
types like it), ``build_inputs_directly`` gives the type Strawberry's ``from_input`` hook
(its way for a type to build its own value): the names, types and implicit nulls are worked
out once, and a request only copies the fields it sent. Lists are copied, as Strawberry does,
because graphql-core hands every request the same default value. Any other input type
(a global id, a ``Maybe`` field, an input with a hook of its own) keeps Strawberry's
conversion. ``tests/test_input_values.py`` builds every input type both ways and compares.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import GraphQLInputObjectType
from strawberry.relay import GlobalID
from strawberry.scalars import is_scalar

_IMPORT_ERROR: ImportError | None = None
if TYPE_CHECKING:
    from strawberry.schema.schema_converter import GraphQLCoreConverter
    from strawberry.types.base import (
        StrawberryList,
        StrawberryMaybe,
        StrawberryObjectDefinition,
        StrawberryOptional,
        has_object_definition,
    )
    from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
else:
    try:  # internals: when one is gone, every input keeps Strawberry's conversion
        from strawberry.schema.schema_converter import GraphQLCoreConverter
        from strawberry.types.base import (
            StrawberryList,
            StrawberryMaybe,
            StrawberryObjectDefinition,
            StrawberryOptional,
            has_object_definition,
        )
        from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
    except ImportError as error:
        _IMPORT_ERROR = error

log = logging.getLogger(__name__)

# A field as the hook copies it: GraphQL name, Python name, and what its value needs.
COPY, COPY_LIST, NESTED, NESTED_LIST = range(4)
Builder = Callable[[type, Mapping[str, Any], Any], Any]


@dataclass(frozen=True)
class _Field:
    graphql_name: str
    python_name: str
    kind: int
    nested: Any  # what a NESTED (an input type) or NESTED_LIST (a list of it) field holds


def build_inputs_directly(schema: strawberry.Schema) -> list[str]:
    """Give every input type of ``schema`` that qualifies the direct ``from_input`` hook.

    Returns the names of the input types that have it (now or from an earlier schema);
    none, with a warning, when Strawberry no longer has what the hook needs.
    """
    problem = _problem()
    if problem is not None:
        log.warning("input objects keep Strawberry's conversion: %s", problem)
        return []
    definition_key = GraphQLCoreConverter.DEFINITION_BACKREF
    definitions: dict[type, StrawberryObjectDefinition] = {}
    for named in schema._schema.type_map.values():
        if isinstance(named, GraphQLInputObjectType):
            definition = (named.extensions or {}).get(definition_key)
            if isinstance(definition, StrawberryObjectDefinition):
                definitions[definition.origin] = definition
    plans: dict[type, list[_Field] | None] = {}

    def plan(origin: type) -> list[_Field] | None:
        if origin not in plans:
            plans[origin] = None  # a type that contains itself is left to Strawberry
            plans[origin] = _plan(definitions[origin], schema, definitions, plan)
        return plans[origin]

    built = []
    for origin, definition in definitions.items():
        planned = plan(origin)
        if planned is None:
            continue
        if definition.from_input is None:
            definition.from_input = _hook(planned, _implicit_nulls(definition))
        if getattr(definition.from_input, _DIRECT, False):
            built.append(definition.name)
    return sorted(built)


_DIRECT = "_cmgraph_direct"  # marks a hook of this module


def _problem() -> str | None:
    if _IMPORT_ERROR is not None:
        return f"an import failed ({_IMPORT_ERROR})"
    if "from_input" not in {f.name for f in dataclasses.fields(StrawberryObjectDefinition)}:
        return "type definitions have no from_input hook"
    if not isinstance(getattr(GraphQLCoreConverter, "DEFINITION_BACKREF", None), str):
        return "GraphQL types do not name their Strawberry definitions"
    return None


def _plan(
    definition: StrawberryObjectDefinition,
    schema: strawberry.Schema,
    definitions: Mapping[type, StrawberryObjectDefinition],
    plan: Callable[[type], list[_Field] | None],
) -> list[_Field] | None:
    """How each field is copied, or None if any field needs Strawberry's conversion."""
    if definition.from_input is not None and not getattr(definition.from_input, _DIRECT, False):
        return None
    copied = []
    for field in definition.fields:
        kind, nested = _kind(field.resolve_type(type_definition=definition), schema, definitions)
        if kind is None or (nested is not None and plan(nested) is None):
            return None
        graphql_name = schema.config.name_converter.from_field(field)
        annotation = list[nested] if kind == NESTED_LIST else nested  # type: ignore[valid-type]
        copied.append(_Field(graphql_name, field.python_name, kind, annotation))
    return copied


def _kind(
    type_: Any, schema: strawberry.Schema, definitions: Mapping[type, Any]
) -> tuple[int | None, type | None]:
    if isinstance(type_, StrawberryMaybe):
        return None, None
    if isinstance(type_, StrawberryOptional):
        type_ = type_.of_type
    listed = isinstance(type_, StrawberryList)
    if listed:
        type_ = type_.of_type
        if isinstance(type_, StrawberryOptional | StrawberryMaybe | StrawberryList):
            return None, None
    if _is_leaf(type_, schema):
        return (COPY_LIST if listed else COPY), None
    if isinstance(type_, type) and has_object_definition(type_) and type_ in definitions:
        return (NESTED_LIST if listed else NESTED), type_
    return None, None


def _is_leaf(type_: Any, schema: strawberry.Schema) -> bool:
    """A value graphql-core has already made what the resolver gets."""
    if type_ is GlobalID:
        return False  # Strawberry decodes global ids
    if isinstance(type_, StrawberryEnumDefinition) or has_enum_definition(type_):
        return True
    return is_scalar(type_, schema.schema_converter.scalar_registry)


def _implicit_nulls(definition: StrawberryObjectDefinition) -> dict[str, None]:
    """Fields without a default are None when not sent, as Strawberry makes them."""
    return {
        field.python_name: None
        for field in definition.fields
        if field.default_value is MISSING and field.default_factory is MISSING
    }


def _hook(copied: list[_Field], nulls: dict[str, None]) -> Builder:
    def from_input(cls: type, value: Mapping[str, Any], context: Any) -> Any:
        kwargs: dict[str, Any] = dict(nulls)
        for field in copied:
            if field.graphql_name not in value:
                continue
            item = value[field.graphql_name]
            if item is not None and field.kind != COPY:
                if field.kind == COPY_LIST:
                    item = list(item)
                else:
                    item = context.convert(item, field.nested, field.graphql_name)
            kwargs[field.python_name] = item
        return cls(**kwargs)

    setattr(from_input, _DIRECT, True)
    return from_input
