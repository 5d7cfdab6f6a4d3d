"""Single sign-on: which user an identity vouched for by the OpenID provider becomes.

The HTTP layer checks the provider's answer (state, PKCE, the ID token's signature,
issuer, audience, expiry and nonce); what reaches this module are the claims it vouches
for. The rule:

- the email must be there and verified by the provider (``email_verified`` true): an
  unverified address could be anyone's, and the email is what names a person here;
- the user with that email signs in; automation accounts and disabled people never do;
- nobody has that email: only when ``CMGRAPH_OIDC_DEFAULT_ROLE`` is set is a new user made,
  with the role the provider's groups map to (``CMGRAPH_OIDC_ROLE_MAP``), else with the
  default role; otherwise refused, so the provider alone never admits someone new;
- the groups map to a role: an existing user's organisation role becomes it at every
  sign-in (the provider is where an organisation keeps who is what), the highest one when
  several groups map, recorded in the audit trail; except that the last active owner stays
  one. Someone in no mapped group keeps the role set here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cmgraph.adapters.db import UnitOfWork
from cmgraph.config import Settings
from cmgraph.domain import audit, text
from cmgraph.domain.accounts import MAX_EMAIL_LENGTH, AuthenticationError, create_user
from cmgraph.domain.audit import AuditAction
from cmgraph.domain.enums import OrgRole
from cmgraph.domain.errors import DomainError, ErrorCode
from cmgraph.domain.models import User, utcnow
from cmgraph.domain.people import change_role
from cmgraph.domain.sign_in import SessionPolicy, StartedSession, open_session

log = logging.getLogger("cmgraph.sso")
SSO_PATH = "/auth/oidc"  # the routes; an invitation under single sign-on only links here


class Refusal(StrEnum):
    """Why a provider's identity does not sign anyone in."""

    EMAIL_MISSING = "EMAIL_MISSING"
    EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"
    UNKNOWN_USER = "UNKNOWN_USER"
    AUTOMATION_ACCOUNT = "AUTOMATION_ACCOUNT"
    ACCOUNT_DISABLED = "ACCOUNT_DISABLED"


_MESSAGES = {
    Refusal.EMAIL_MISSING: "The identity provider did not give a usable email address.",
    Refusal.EMAIL_NOT_VERIFIED: "The identity provider has not verified your email address.",
    Refusal.UNKNOWN_USER: "Nobody with your email may use this server; ask an owner to add you.",
    Refusal.AUTOMATION_ACCOUNT: "Automation accounts sign in with API tokens only.",
    Refusal.ACCOUNT_DISABLED: "This account is disabled.",
}


class SingleSignOnRefused(AuthenticationError):
    def __init__(self, reason: Refusal) -> None:
        super().__init__(_MESSAGES[reason])
        self.reason = reason


@dataclass(frozen=True)
class Identity:
    """What the provider vouches for: the claims this server uses."""

    email: str
    email_verified: bool
    name: str = ""
    groups: tuple[str, ...] = ()

    @classmethod
    def from_claims(cls, claims: Mapping[str, object], group_claim: str = "") -> Identity:
        """Read the claims; ``group_claim`` may name a nested one (``realm_access.roles``)."""
        email = claims.get("email")
        verified = claims.get("email_verified")
        name = claims.get("name") or claims.get("preferred_username")
        return cls(
            email=email.strip().lower() if isinstance(email, str) else "",
            # Some providers send the boolean as a string.
            email_verified=verified is True or str(verified).lower() == "true",
            name=name if isinstance(name, str) else "",
            groups=_groups(claims, group_claim) if group_claim else (),
        )


def _groups(claims: Mapping[str, object], path: str) -> tuple[str, ...]:
    value: object = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence):
        return tuple(group for group in value if isinstance(group, str))
    return ()


@dataclass(frozen=True)
class SingleSignOnPolicy:
    default_role: OrgRole | None
    roles: Mapping[str, OrgRole]  # a provider's group -> the organisation role it gives

    @classmethod
    def of(cls, settings: Settings) -> SingleSignOnPolicy:
        return cls(
            default_role=OrgRole(settings.oidc_default_role)
            if settings.oidc_default_role
            else None,
            roles={group: OrgRole(role) for group, role in settings.oidc_roles.items()},
        )

    def mapped_role(self, groups: Sequence[str]) -> OrgRole | None:
        """The highest role the groups map to (roles nest), or None when none maps."""
        mapped = [self.roles[group] for group in groups if group in self.roles]
        return max(mapped, key=lambda role: role.rank) if mapped else None


async def user_for_identity(
    uow: UnitOfWork, policy: SingleSignOnPolicy, identity: Identity
) -> User:
    """The user ``identity`` signs in as, made or given their mapped role; else refused."""
    if not identity.email or "@" not in identity.email:
        raise SingleSignOnRefused(Refusal.EMAIL_MISSING)
    if not identity.email_verified:
        raise SingleSignOnRefused(Refusal.EMAIL_NOT_VERIFIED)
    email = identity.email[:MAX_EMAIL_LENGTH]
    mapped = policy.mapped_role(identity.groups)
    user = await uow.session.scalar(select(User).where(User.email == email))
    if user is None:
        if policy.default_role is None:
            raise SingleSignOnRefused(Refusal.UNKNOWN_USER)
        role = mapped or policy.default_role
        try:
            user = await create_user(uow, email, _usable_name(identity.name), role)
        except DomainError:  # an address this server does not take
            raise SingleSignOnRefused(Refusal.EMAIL_MISSING) from None
        await audit.record(
            uow,
            None,
            AuditAction.USER_CREATED,
            user.id,
            email=user.email,
            name=user.name,
            role=role.value,
            source="SSO",
        )
        return user
    if user.is_automation:
        raise SingleSignOnRefused(Refusal.AUTOMATION_ACCOUNT)
    if user.disabled_at is not None:
        raise SingleSignOnRefused(Refusal.ACCOUNT_DISABLED)
    if mapped is not None and user.role != mapped:
        user = await _take_mapped_role(uow, user, mapped)
    return user


async def _take_mapped_role(uow: UnitOfWork, user: User, role: OrgRole) -> User:
    """Give ``user`` the role their groups map to, recorded in the audit trail; except that
    the last active owner stays one (``people.change_role``: nobody locks the organisation
    out, not even the provider), which the log says."""
    try:
        return await change_role(uow, None, user, role, source="SSO")
    except DomainError as refused:
        if refused.code is not ErrorCode.LAST_OWNER:
            raise
        log.warning(
            "single sign-on: %s is the last active owner; their groups map to %s, "
            "but they stay an owner until another owner exists",
            user.email,
            role.value,
        )
        return user


def _usable_name(name: str) -> str:
    """The provider's display name if it is a valid one here; else none (the email is used)."""
    try:
        return text.clean_name(name, "A user", required=False)
    except DomainError:
        return ""


async def sign_in_with_identity(
    sessions: async_sessionmaker[AsyncSession],
    session_policy: SessionPolicy,
    policy: SingleSignOnPolicy,
    identity: Identity,
    *,
    address: str,
    user_agent: str = "",
    now: datetime | None = None,
) -> StartedSession:
    """Open a session for the user ``identity`` becomes (``SingleSignOnRefused`` if none)."""
    now = now or utcnow()
    for attempt in range(2):
        try:
            async with UnitOfWork(sessions) as uow:
                user = await user_for_identity(uow, policy, identity)
                return await open_session(
                    uow, session_policy, user, address=address, user_agent=user_agent, now=now
                )
        except IntegrityError:
            # The same new person signing in twice at once: the other made the user first.
            if attempt:
                raise
    raise AssertionError("unreachable")
