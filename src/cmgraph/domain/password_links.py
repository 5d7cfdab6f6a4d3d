"""One-time links to set a password: an owner's invitation, or a reset a person asked for.

A link is a row (who, why, until when, used or not) and a token signed with the server's
key that names the row (``adapters.links``): the token is not stored, and the email is
rendered when it is sent, so the outbox makes the same token again from the row. A link
works once, until it expires; using it sets the password and ends the person's sessions.
Asking for a reset says the same whether or not the email names someone, and sends at most
one email per person per ``RESET_EVERY``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from cmgraph.adapters import links
from cmgraph.adapters.db import UnitOfWork
from cmgraph.domain import audit
from cmgraph.domain.accounts import create_user
from cmgraph.domain.audit import AuditAction
from cmgraph.domain.enums import NotificationKind, NotificationStatus, OrgRole
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.models import Notification, PasswordLink, SignInFailure, User, utcnow
from cmgraph.domain.people import set_password
from cmgraph.domain.permissions import Principal, require_org_role

SET_PASSWORD_PATH = "/set-password"  # the web app's page; it posts to /auth/password
INVITATION_VALID = timedelta(days=7)
RESET_VALID = timedelta(hours=1)
RESET_EVERY = timedelta(minutes=5)
_PURPOSE = "password-link"
_KINDS = {
    NotificationKind.INVITATION: INVITATION_VALID,
    NotificationKind.PASSWORD_RESET: RESET_VALID,
}


def token_for(key: bytes, link: PasswordLink) -> str:
    """The link's token: the same each time it is made, so the email can be rendered late."""
    return links.sign(key, _PURPOSE, link.id, int(link.expires_at.timestamp()))


async def invite_user(
    uow: UnitOfWork,
    actor: Principal,
    email: str,
    name: str,
    role: OrgRole | None,
    *,
    now: datetime | None = None,
) -> User:
    """A new person (owners only), emailed a link to set their password."""
    require_org_role(actor, OrgRole.OWNER)
    user = await create_user(uow, email, name, role)
    await audit.record(
        uow,
        actor.user_id,
        AuditAction.USER_INVITED,
        user.id,
        email=user.email,
        name=user.name,
        role=role.value if role else None,
    )
    await _send_link(uow, user, NotificationKind.INVITATION, actor.user_id, now or utcnow())
    return user


async def request_reset(uow: UnitOfWork, email: str, *, now: datetime | None = None) -> None:
    """Email a reset link to the person with ``email``, if there is one who signs in."""
    now = now or utcnow()
    user = await uow.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or user.is_automation or user.disabled_at is not None:
        return
    recent = await uow.session.scalar(
        select(PasswordLink.id).where(
            PasswordLink.user_id == user.id,
            PasswordLink.kind == NotificationKind.PASSWORD_RESET,
            PasswordLink.created_at > now - RESET_EVERY,
        )
    )
    if recent is None:
        await _send_link(uow, user, NotificationKind.PASSWORD_RESET, None, now)


async def _send_link(
    uow: UnitOfWork, user: User, kind: NotificationKind, sent_by: int | None, now: datetime
) -> None:
    link = PasswordLink(
        user_id=user.id,
        kind=kind,
        created_by_id=sent_by,
        created_at=now,
        expires_at=now + _KINDS[kind],
    )
    uow.session.add(link)
    await uow.session.flush()
    uow.session.add(
        Notification(
            kind=kind,
            subject_id=link.id,
            recipient_id=user.id,
            recipient_email=user.email,
            status=NotificationStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            message_id=f"<{kind.value.lower()}-{link.id}.{secrets.token_hex(8)}@cmgraph>",
            created_at=now,
        )
    )


@dataclass(frozen=True)
class UsedLink:
    user: User
    kind: NotificationKind


async def use_link(
    uow: UnitOfWork, key: bytes, token: str, password: str, *, now: datetime | None = None
) -> UsedLink:
    """Set the password a link was sent for; the link is then spent."""
    now = now or utcnow()
    refused = DomainError(
        ErrorCode.INVALID,
        "This link is not valid, was used already, or has expired: ask for a new one.",
        "token",
    )
    try:
        link_id = links.check(key, _PURPOSE, token, now=now.timestamp())
    except (links.LinkInvalid, links.LinkExpired):
        raise refused from None
    link = await uow.session.get(PasswordLink, link_id, with_for_update=True)
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise refused
    user = await uow.session.get(User, link.user_id)
    assert user is not None  # links go with their user
    if user.disabled_at is not None:
        raise refused
    await set_password(uow, user.id, user, password, via=link.kind.value)
    link.used_at = now
    # Whoever opened the link reads the person's mail: earlier wrong guesses stop counting.
    await uow.session.execute(delete(SignInFailure).where(SignInFailure.email == user.email))
    return UsedLink(user, link.kind)
