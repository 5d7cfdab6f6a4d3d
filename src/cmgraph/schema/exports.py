"""Download links for exports."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import strawberry

from cmgraph.exchange import downloads


@strawberry.type(
    description="A short-lived link that makes a file for the caller and downloads it. "
    "Follow it with a plain GET (no Authorization header needed) before it expires."
)
class ExportLink:
    url: str
    expires_at: datetime

    @classmethod
    def of(cls, link: downloads.ExportLink) -> ExportLink:
        return cls(url=link.url, expires_at=link.expires_at)


def link_for(info: strawberry.Info, kind: str, params: Mapping[str, Any]) -> ExportLink:
    """A link to export ``kind`` with ``params`` as the caller; access is checked on download."""
    context = info.context
    return ExportLink.of(
        downloads.export_link(context.settings, kind, params, context.principal.user_id)
    )
