"""The one codec of global ids, the download token numbers, and the text rules of the domain.

The API-level cases (every query, mutation and HTTP route that takes an id, name or search
text) are in tests/test_bad_input.py.
"""

from __future__ import annotations

import base64
import time

import pytest
from strawberry.relay import to_base64

from cmgraph import global_ids
from cmgraph.adapters.links import LinkExpired, LinkInvalid
from cmgraph.adapters.storage import check_download, sign_download
from cmgraph.domain import text
from cmgraph.domain.action_filter import ActionFilter
from cmgraph.domain.errors import DomainError, ErrorCode


def raw(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


@pytest.mark.parametrize("row_id", [1, 7, 10, 987_654, global_ids.MAX_ROW_ID])
def test_ids_round_trip_and_match_relay(row_id: int) -> None:
    encoded = global_ids.encode("ImprovementAction", row_id)
    assert encoded == to_base64("ImprovementAction", row_id)  # ids clients hold stay valid
    assert global_ids.decode(encoded) == ("ImprovementAction", row_id)
    assert global_ids.row_id_of(encoded, "ImprovementAction") == row_id
    assert global_ids.row_id_of(encoded, "Assessment") is None


@pytest.mark.parametrize(
    "value",
    [
        raw("Evidence:²"),
        raw("Evidence:٣"),
        raw("Evidence:\uff13"),  # fullwidth three
        raw("Evidence:07"),
        raw("Evidence:0"),
        raw("Evidence:-7"),
        raw("Evidence:+7"),
        raw("Evidence:7 "),
        raw("Evidence:7\n"),
        raw("Evidence:1_0"),
        raw("Evidence:7.0"),
        raw(f"Evidence:{2**31}"),
        raw("Evidence:"),
        raw("Evidence"),
        raw(":7"),
        raw("Évidence:7"),
        raw("Evi dence:7"),
        raw("7Evidence:7"),
        raw("Evidence:7:8"),
        "RXZpZGVuY2U6Nw",  # padding left off
        "RXZpZGVuY2U6Nx==",  # spare bits set: decodes as Evidence:7 too
        "RXZp\nZGVuY2U6Nw==",
        " RXZpZGVuY2U6Nw==",
        "RXZpZGVuY2U6Nw==\n",
        "RXZpZGVuY2U6Nw=!",
        "RXZpZGVuY2U6Nw==RXZp",
        "Evidence:7",
        "",
        "=" * 8,
        raw("Evidence:7") + "=",
        raw("E" * 500 + ":7"),
    ],
)
def test_anything_but_the_canonical_spelling_names_nothing(value: str) -> None:
    assert global_ids.decode(value) is None
    assert global_ids.row_id_of(value, "Evidence") is None


def test_the_spare_bits_case_is_really_an_alias() -> None:
    assert base64.b64decode("RXZpZGVuY2U6Nx==") == b"Evidence:7"
    assert global_ids.decode("RXZpZGVuY2U6Nw==") == ("Evidence", 7)


def test_values_of_other_types_name_nothing() -> None:
    for value in (None, 7, b"RXZpZGVuY2U6Nw==", ["RXZpZGVuY2U6Nw=="]):
        assert global_ids.decode(value) is None


def test_download_tokens_have_one_spelling() -> None:
    """The signature covers the token's exact bytes: any other spelling is refused."""
    key = b"k" * 32
    expires = int(time.time()) + 60
    token = sign_download(key, 5, 42, expires)
    assert check_download(key, token, 5) == 42
    payload, _, signature = token.rpartition(".")
    for other in (
        "0" + token,
        token + "é",
        token.replace(payload[-1], "A" if payload[-1] != "A" else "B"),
        f"{payload}.",
        f".{signature}",
        sign_download(key, 6, 42, expires),  # another file's link
        sign_download(b"x" * 32, 5, 42, expires),  # another server's key
        "x",
        "",
    ):
        with pytest.raises(LinkInvalid):
            check_download(key, other, 5)
    with pytest.raises(LinkExpired):
        check_download(key, sign_download(key, 5, 42, int(time.time()) - 1), 5)


# -- the text rules ----------------------------------------------------------------------


def refusal(call) -> DomainError:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as refused:
        call()
    assert refused.value.code is ErrorCode.INVALID
    return refused.value


@pytest.mark.parametrize(
    "name",
    [
        "a\x00b",
        "a\tb",
        "a\nb",
        "a\rb",
        "a\x1bb",
        "a\x7fb",
        "a\x85b",
        "a\u2028b",
        "a\u202eb",
        "a\ud800",
    ],
)
def test_names_refuse_control_characters(name: str) -> None:
    error = refusal(lambda: text.clean_name(name, "A group", field="groupName"))
    assert error.field == "groupName"
    assert "control characters" in error.message


def test_names_are_trimmed_bounded_and_required() -> None:
    assert text.clean_name("  Q1 review  ", "A group") == "Q1 review"
    assert text.clean_name("Prüfung 👩‍💻 «2026»", "A group") == "Prüfung 👩‍💻 «2026»"
    assert text.clean_name("n" * 200, "A group") == "n" * 200
    assert "200" in refusal(lambda: text.clean_name("n" * 201, "A group")).message
    assert refusal(lambda: text.clean_name(" ", "A group")).message == "A group needs a name."
    assert text.clean_name(None, "A user", required=False) == ""


def test_multi_line_text_takes_tabs_and_line_breaks_only() -> None:
    text.check_text("a\tb\r\nc\n", "Notes", field="notes", max_length=10)
    text.check_text(None, "Notes", field="notes", max_length=10)
    for bad in ("a\x00", "\x1b[2J", "\x0b", "\ud800"):
        assert refusal(lambda b=bad: text.check_text(b, "Notes", field="notes", max_length=10))
    assert refusal(lambda: text.check_text("x" * 11, "Notes", field="notes", max_length=10))


def test_search_text() -> None:
    assert text.clean_search(None) is None
    assert text.clean_search("") is None
    assert text.clean_search("x" * 200) == "x" * 200
    for bad in ("x" * 201, "\x00", "a\nb"):
        assert refusal(lambda b=bad: text.clean_search(b)).field == "search"


def test_the_actions_filter_holds_the_text_rules_whoever_builds_it() -> None:
    """The CLI's export and the API build the same filter: both get the same refusals."""
    assert ActionFilter(search="", categories=["Audit"]) == ActionFilter(categories=["Audit"])
    assert refusal(lambda: ActionFilter(search="\x00x")).field == "search"
    assert refusal(lambda: ActionFilter(categories=["a\x00"])).field == "categories"
    assert (
        refusal(lambda: ActionFilter(solutions=["x"] * (text.MAX_FILTER_VALUES + 1))).field
        == "solutions"
    )
