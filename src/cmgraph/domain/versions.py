"""Template and definition versions: when an update waits to be accepted (DOMAIN.md: a
re-import publishes new versions; nothing moves until an administrator accepts)."""

from __future__ import annotations

from typing import Any


def update_pending(accepted_version: Any, latest_version: Any) -> Any:
    """Whether a newer version than the accepted one exists.

    Written once for numbers and SQL columns alike: on columns it is the WHERE clause.
    """
    return accepted_version < latest_version
