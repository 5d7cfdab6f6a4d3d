"""Input objects built by ``schema/input_values.py`` equal Strawberry's own conversion.

Every input type of the API is built from the same coerced values twice: through the direct
``from_input`` hook, and through Strawberry's field-by-field conversion (the hooks taken off
for the moment). Values: every field sent (lists of two, inputs nested), only the required
ones, and every nullable field sent as null.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
    coerce_input_value,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_argument

from cmgraph.config import Settings
from cmgraph.schema import input_values
from cmgraph.schema.api import build_api
from cmgraph.schema.input_values import build_inputs_directly

SCHEMA = build_api(Settings.from_env({}))
INPUTS = {
    name: named
    for name, named in SCHEMA._schema.type_map.items()
    if isinstance(named, GraphQLInputObjectType)
}
UPLOAD = object()  # a file part: passed through as it is
SAMPLES: dict[str, Any] = {
    "String": "some text",
    "ID": "SW1wcm92ZW1lbnRBY3Rpb246MQ==",
    "Int": 7,
    "Float": 2.5,
    "Boolean": True,
    "Date": "2026-03-04",
    "DateTime": "2026-03-04T05:06:07+00:00",
    "JSON": {"nested": [1, "two"]},
    "Upload": UPLOAD,
}


def _definition(named: GraphQLInputObjectType) -> Any:
    return named.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]


def _sample(type_: GraphQLInputType, shape: str) -> Any:
    """A JSON value of ``type_`` as a client sends it, in the given shape."""
    if isinstance(type_, GraphQLNonNull):
        return _sample(type_.of_type, shape)
    if isinstance(type_, GraphQLList):
        return [_sample(type_.of_type, shape) for _ in range(2)]
    if isinstance(type_, GraphQLEnumType):
        return list(type_.values)[-1]
    if isinstance(type_, GraphQLScalarType):
        return SAMPLES[type_.name]
    assert isinstance(type_, GraphQLInputObjectType)
    value = {}
    for name, field in type_.fields.items():
        required = isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        if shape == "full" or required:
            value[name] = _sample(field.type, shape)
        elif shape == "nulls" and not isinstance(field.type, GraphQLNonNull):
            value[name] = None
    return value


@contextmanager
def _strawberry_conversion() -> Iterator[None]:
    """Strawberry's field-by-field conversion for every input type, for the moment."""
    hooks = {name: _definition(named).from_input for name, named in INPUTS.items()}
    for named in INPUTS.values():
        _definition(named).from_input = None
    try:
        yield
    finally:
        for name, named in INPUTS.items():
            _definition(named).from_input = hooks[name]


def _convert(named: GraphQLInputObjectType, value: Any) -> Any:
    registry = SCHEMA.schema_converter.scalar_registry
    return convert_argument(value, _definition(named).origin, registry, SCHEMA.config)


def test_every_input_type_is_built_directly() -> None:
    assert build_inputs_directly(SCHEMA) == sorted(INPUTS)
    assert {"ImprovementActionFilter", "ImprovementActionOrder", "ControlFilter"} <= set(INPUTS)


@pytest.mark.parametrize("name", sorted(INPUTS))
@pytest.mark.parametrize("shape", ["full", "required", "nulls"])
def test_built_as_strawberry_builds_it(name: str, shape: str) -> None:
    named = INPUTS[name]
    coerced = coerce_input_value(_sample(named, shape), named)
    direct = _convert(named, coerced)
    with _strawberry_conversion():
        reference = _convert(named, coerced)
    assert type(direct) is type(reference) is _definition(named).origin
    assert direct == reference
    # graphql-core hands every request the same default value: lists are the input's own.
    for field in _definition(named).fields:
        sent = coerced.get(SCHEMA.config.name_converter.from_field(field))
        if isinstance(sent, list):
            assert getattr(direct, field.python_name) is not sent, field.python_name


def test_without_the_hook_strawberry_converts_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(input_values, "_IMPORT_ERROR", ImportError("moved"))
    with caplog.at_level(logging.WARNING, logger="cmgraph.schema.input_values"):
        assert build_inputs_directly(SCHEMA) == []
    assert "keep Strawberry's conversion: an import failed (moved)" in caplog.text
