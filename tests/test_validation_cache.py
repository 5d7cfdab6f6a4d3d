"""The validation cache is kept by document object (the parse cache hands out one per text)."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse, specified_rules

from cmgraph.config import Settings
from cmgraph.schema import build
from cmgraph.schema.api import build_api


def test_a_document_is_validated_once_and_another_object_on_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    validated: list[Any] = []
    validate = build.validate_document

    def counting(schema: Any, document: Any, rules: Any) -> Any:
        validated.append(document)
        return validate(schema, document, rules)

    monkeypatch.setattr(build, "validate_document", counting)
    schema = build_api(Settings())._schema
    rules = tuple(specified_rules)
    first = parse("{ viewer { role } }")
    assert build._validate(schema, first, rules) == []
    assert build._validate(schema, first, rules) == []
    assert validated == [first]
    same_text = parse("{ viewer { role } }")
    wrong = parse("{ viewer { nope } }")
    assert build._validate(schema, same_text, rules) == []
    assert [e.message for e in build._validate(schema, wrong, rules)] == [
        "Cannot query field 'nope' on type 'Viewer'. Did you mean 'role'?"
    ]
    assert [e.message for e in build._validate(schema, wrong, rules)] == [
        "Cannot query field 'nope' on type 'Viewer'. Did you mean 'role'?"
    ]
    assert validated == [first, same_text, wrong]
