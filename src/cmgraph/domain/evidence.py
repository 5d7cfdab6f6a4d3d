"""Evidence attached to improvement actions (DOMAIN.md section 6).

Links are stored as given (after trimming) once they pass a strict check: only absolute
``http``/``https`` URLs with a host, because the front ends render them as clickable links and
anything else (``javascript:``, ``data:``, ``file:``, relative paths) would be an injection
vector or meaningless to other readers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from cmgraph.db import UnitOfWork
from cmgraph.domain.enums import (
    ChangeSource,
    EventType,
    EvidenceKind,
    Owner,
    TestingSource,
)
from cmgraph.domain.errors import DomainError, ErrorCode, forbidden, not_found
from cmgraph.domain.models import (
    ActionDefinition,
    Event,
    Evidence,
    HistoryEntry,
    ImprovementAction,
    utcnow,
)
from cmgraph.domain.permissions import Principal
from cmgraph.domain.workflow import action_reach

MAX_NAME_LENGTH = 300
MAX_URL_LENGTH = 2000
LINK_SCHEMES = frozenset({"http", "https"})


def clean_link_name(name: str) -> str:
    """The trimmed display name, or an INVALID error on field ``name``."""
    name = (name or "").strip()
    if not name:
        raise DomainError(ErrorCode.INVALID, "A link needs a name.", "name")
    if len(name) > MAX_NAME_LENGTH:
        raise DomainError(
            ErrorCode.INVALID, f"Names are limited to {MAX_NAME_LENGTH} characters.", "name"
        )
    return name


def clean_link_url(url: str) -> str:
    """The trimmed URL if it is an absolute http(s) URL with a host, else INVALID on ``url``."""
    url = (url or "").strip()
    if not url:
        raise DomainError(ErrorCode.INVALID, "A link needs a URL.", "url")
    if len(url) > MAX_URL_LENGTH:
        raise DomainError(
            ErrorCode.INVALID, f"URLs are limited to {MAX_URL_LENGTH} characters.", "url"
        )
    # Whitespace and control characters inside a URL are how parsers get confused; refuse them
    # rather than guess what the sender meant.
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise DomainError(ErrorCode.INVALID, "A URL may not contain spaces.", "url")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError as exc:
        raise DomainError(ErrorCode.INVALID, f"Not a valid URL: {exc}.", "url") from exc
    if parts.scheme.lower() not in LINK_SCHEMES:
        raise DomainError(ErrorCode.INVALID, "Links must be absolute http or https URLs.", "url")
    if not parts.hostname:
        raise DomainError(ErrorCode.INVALID, "The URL needs a host name.", "url")
    return url


async def add_evidence_link(
    uow: UnitOfWork, actor: Principal, action_id: int, name: str, url: str
) -> Evidence:
    """Attach a named link to an action, with history and an EVIDENCE_CHANGE event.

    Permission comes before validation so that callers without access learn nothing about
    the action. Adding evidence by hand to an AUTOMATIC action switches it to MANUAL testing
    (DOMAIN.md section 5), recorded like any other field change.
    """
    session = uow.session
    action = await session.get(ImprovementAction, action_id, with_for_update=True)
    if action is None:
        raise not_found("Improvement action", "actionId")
    definition = await session.get(ActionDefinition, action.definition_id)
    assert definition is not None
    if definition.owner is Owner.PROVIDER:
        raise forbidden("Provider actions are read-only.")
    reach = await action_reach(uow, actor, action_id)
    if not reach.assessment_ids:
        raise DomainError(
            ErrorCode.INVALID, "The action belongs only to archived assessments.", "actionId"
        )
    if not reach.editable:
        raise forbidden("You may not add evidence to this action.")
    name = clean_link_name(name)
    url = clean_link_url(url)

    now = utcnow()
    evidence = Evidence(
        action_id=action.id,
        kind=EvidenceKind.LINK,
        name=name,
        url=url,
        uploaded_by_id=actor.user_id,
        uploaded_at=now,
    )
    session.add(evidence)
    history: list[tuple[str, Any, Any]] = [("evidence", None, f"added link {name}")]
    if action.testing_source is TestingSource.AUTOMATIC:
        history.append(
            ("testing_source", TestingSource.AUTOMATIC.value, TestingSource.MANUAL.value)
        )
        action.testing_source = TestingSource.MANUAL
        action.version += 1
        action.updated_at = now
    session.add_all(
        HistoryEntry(
            action_id=action.id,
            field=field,
            old_value=old,
            new_value=new,
            source=ChangeSource.USER,
            actor_id=actor.user_id,
            created_at=now,
        )
        for field, old, new in history
    )
    await session.flush()
    session.add(
        Event(
            type=EventType.EVIDENCE_CHANGE.value,
            action_id=action.id,
            actor_id=actor.user_id,
            payload={
                "assessmentIds": list(reach.assessment_ids),
                "source": ChangeSource.USER.value,
                "evidenceId": evidence.id,
                "change": "ADDED",
                "kind": EvidenceKind.LINK.value,
                "name": name,
            },
            created_at=now,
        )
    )
    await session.flush()
    return evidence
