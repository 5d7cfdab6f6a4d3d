"""The rules for text people type: names, multi-line notes and search strings.

Written once here so that every service refuses the same things the same way (``INVALID``
on the field at fault): a name is one trimmed line of bounded length; notes may span lines;
neither may hold control characters. A NUL or an escape sequence in a name only ever comes
from a mistake or an attack: it breaks mail headers, spreadsheets and terminals, hides text,
and PostgreSQL refuses NUL in text columns outright.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from cmgraph.domain.errors import DomainError, ErrorCode

MAX_NAME_LENGTH = 200
MAX_SEARCH_LENGTH = 200
MAX_FILTER_VALUE_LENGTH = 500  # the longest text column a list filter compares with
MAX_FILTER_VALUES = 200

# C0 and C1 controls and DEL (Unicode category Cc), lone surrogates (invalid UTF-8 that
# JSON can smuggle in), and the bidirectional embeddings, overrides and isolates that make
# text display in another order than it is stored in. Multi-line text may hold tabs and
# line breaks; a one-line name may not, nor the Unicode line and paragraph separators.
_ALWAYS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069"
_MULTI_LINE = re.compile(f"[{_ALWAYS}]")
_ONE_LINE = re.compile(f"[{_ALWAYS}\t\n\r\u2028\u2029]")


def _refuse_controls(value: str, pattern: re.Pattern[str], what: str, field: str) -> None:
    found = pattern.search(value)
    if found is not None:
        raise DomainError(
            ErrorCode.INVALID,
            f"{what} may not contain control characters (found U+{ord(found.group()):04X}).",
            field,
        )


def clean_name(
    value: str | None,
    what: str,
    *,
    field: str = "name",
    max_length: int = MAX_NAME_LENGTH,
    required: bool = True,
) -> str:
    """A name as stored: trimmed, one line, at most ``max_length`` characters, else INVALID.

    ``what`` starts the messages ("An assessment needs a name."). An empty name is refused
    unless ``required`` is false, when it comes back as "".
    """
    name = (value or "").strip()
    if not name:
        if required:
            raise DomainError(ErrorCode.INVALID, f"{what} needs a name.", field)
        return name
    if len(name) > max_length:
        raise DomainError(
            ErrorCode.INVALID, f"Names are limited to {max_length} characters.", field
        )
    _refuse_controls(name, _ONE_LINE, "Names", field)
    return name


def camel(name: str) -> str:
    """A field's domain name as the API spells it (``test_date`` -> ``testDate``)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def check_text(value: str | None, what: str, *, field: str, max_length: int) -> None:
    """Refuse multi-line text (notes, descriptions) that is too long or holds controls.

    Tabs and line breaks are part of such text; the value is stored as given.
    """
    if not value:
        return
    if len(value) > max_length:
        raise DomainError(
            ErrorCode.INVALID, f"{what} are limited to {max_length:,} characters.", field
        )
    _refuse_controls(value, _MULTI_LINE, what, field)


def clean_search(value: str | None, *, field: str = "search") -> str | None:
    """A search string for a substring filter; None when there is nothing to search for.

    Bounded because every character becomes part of a LIKE pattern (SQLite refuses long
    ones), and free of control characters (SQLite ends a pattern at a NUL, so that
    ``"\\0x"`` would match every row; PostgreSQL refuses NUL altogether).
    """
    if not value:
        return None
    if len(value) > MAX_SEARCH_LENGTH:
        raise DomainError(
            ErrorCode.INVALID,
            f"Search text is limited to {MAX_SEARCH_LENGTH} characters.",
            field,
        )
    _refuse_controls(value, _ONE_LINE, "Search text", field)
    return value


def clean_filter_values(values: Sequence[str] | None, *, field: str) -> list[str] | None:
    """Values a list filter matches exactly (categories, families ...), else INVALID.

    No stored name holds a control character or is longer than its column, so such a value
    could match nothing; PostgreSQL would refuse a NUL outright.
    """
    if values is None:
        return None
    if len(values) > MAX_FILTER_VALUES:
        raise DomainError(ErrorCode.INVALID, f"At most {MAX_FILTER_VALUES} values.", field)
    for value in values:
        if len(value) > MAX_FILTER_VALUE_LENGTH:
            raise DomainError(
                ErrorCode.INVALID,
                f"Filter values are limited to {MAX_FILTER_VALUE_LENGTH} characters.",
                field,
            )
        _refuse_controls(value, _ONE_LINE, "Filter values", field)
    return list(values)
