"""Rendering notifications as email: plain text and HTML alternatives, stable headers.

Links point at ``CMGRAPH_PUBLIC_URL``: the GraphQL endpoint ``{public_url}/graphql`` and deep
links ``{public_url}/alerts/{id}`` and ``{public_url}/actions/{id}``, where ``id`` is the
object's GraphQL global id, percent-encoded (global ids are base64 and may contain ``/``).
A front end mounted at the public URL resolves them with the ``node`` query.

Message-ID and Date come from the notification row, so every attempt at the same
notification produces the same message and a duplicate after a crash is recognisable.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cmgraph import global_ids
from cmgraph.adapters.storage import link_key
from cmgraph.config import Settings
from cmgraph.domain.accounts import principal_of
from cmgraph.domain.enums import EventType, NotificationKind, Severity
from cmgraph.domain.models import (
    ActionDefinitionVersion,
    Alert,
    AlertMatch,
    AlertPolicy,
    Assessment,
    DigestEntry,
    Event,
    ImprovementAction,
    Notification,
    PasswordLink,
    User,
)
from cmgraph.domain.password_links import SET_PASSWORD_PATH, token_for
from cmgraph.domain.permissions import readable_actions, readable_assessments
from cmgraph.domain.scoring import priority
from cmgraph.domain.single_sign_on import SSO_PATH

SUBJECT_PREFIX = "[cmgraph]"
GUIDANCE_SUMMARY_LENGTH = 300
_SEVERITY_ORDER = [Severity.LOW, Severity.MEDIUM, Severity.HIGH]
MAX_EVENTS_LISTED = 50
MAX_SUBJECT_LENGTH = 200


class RenderError(Exception):
    """The notification cannot become a message (its alert or action is gone): never retried."""


def new_message_id(settings: Settings) -> str:
    """A globally unique Message-ID, made once when a notification row is created."""
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2]
    if not domain:
        domain = urlsplit(settings.public_url).hostname or "localhost"
    return make_msgid(idstring="cmgraph", domain=domain)


def deep_link(settings: Settings, kind: str, type_name: str, row_id: int) -> str:
    """``{public_url}/{kind}/{percent-encoded global id}``, e.g. ``/alerts/QWxlcnQ6Nw%3D%3D``."""
    base = settings.public_url.rstrip("/")
    return f"{base}/{kind}/{quote(global_ids.encode(type_name, row_id), safe='')}"


def api_link(settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}/graphql"


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def one_line(text: str, limit: int = MAX_SUBJECT_LENGTH) -> str:
    """Header-safe text: no line breaks (no header injection), bounded length."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Item:
    """One line of a list in the message: a heading, details, and perhaps a link."""

    title: str
    details: str = ""
    url: str = ""


@dataclass(frozen=True)
class Section:
    heading: str
    items: list[Item]
    note: str = ""


@dataclass(frozen=True)
class Content:
    subject: str
    greeting: str
    intro: list[str]
    facts: list[tuple[str, str]]
    sections: list[Section]
    links: list[Link]
    footer: str


async def render(
    session: AsyncSession, notification: Notification, settings: Settings
) -> EmailMessage:
    """The message for one notification, as it is in the database now."""
    recipient = (
        await session.get(User, notification.recipient_id)
        if notification.recipient_id is not None
        else None
    )
    if recipient is not None and recipient.disabled_at is not None:
        # Queued before they were disabled: a person who has left gets nothing more.
        raise RenderError(f"{recipient.email} is disabled")
    if notification.kind is NotificationKind.ALERT:
        content = await _alert_content(session, notification, settings, recipient)
    elif notification.kind is NotificationKind.ASSIGNMENT:
        content = await _assignment_content(session, notification, settings)
    elif notification.kind is NotificationKind.DIGEST:
        content = await _digest_content(session, notification, settings)
    elif notification.kind in (NotificationKind.INVITATION, NotificationKind.PASSWORD_RESET):
        content = await _password_link_content(session, notification, settings)
    else:
        raise RenderError(f"unknown notification kind {notification.kind}")
    greeting = f"Hello {recipient.name}," if recipient and recipient.name.strip() else "Hello,"
    content = replace(content, greeting=greeting)
    return compose(content, notification, settings, recipient.name if recipient else "")


def compose(
    content: Content, notification: Notification, settings: Settings, recipient_name: str
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = one_line(content.subject)
    message["From"] = settings.mail_from
    try:
        message["To"] = Address(
            display_name=one_line(recipient_name, 100), addr_spec=notification.recipient_email
        )
    except (ValueError, IndexError) as error:
        raise RenderError(f"invalid recipient address {notification.recipient_email!r}") from error
    message["Date"] = format_datetime(notification.created_at)
    message_id = notification.message_id.strip()
    message["Message-ID"] = message_id if message_id.startswith("<") else f"<{message_id}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(plain_text(content))
    message.add_alternative(html_text(content), subtype="html")
    return message


def plain_text(content: Content) -> str:
    lines = [content.greeting, "", *content.intro, ""]
    width = max((len(label) for label, _ in content.facts), default=0)
    lines += [f"{label + ':':<{width + 1}} {value}" for label, value in content.facts]
    for section in content.sections:
        lines += ["", f"{section.heading}:"]
        for item in section.items:
            lines.append(f"- {item.title}")
            if item.details:
                lines.append(f"  {item.details}")
            if item.url:
                lines.append(f"  {item.url}")
        if section.note:
            lines.append(section.note)
    lines.append("")
    lines += [f"{link.label}: {link.url}" for link in content.links]
    lines += ["", "-- ", content.footer]
    return "\n".join(lines) + "\n"


def html_text(content: Content) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"><title>' + e(one_line(content.subject)) + "</title>",
        '</head><body style="font-family: sans-serif; line-height: 1.4">',
        f"<p>{e(content.greeting)}</p>",
        *(f"<p>{e(paragraph)}</p>" for paragraph in content.intro),
    ]
    if content.facts:
        parts.append("<table>")
        parts += [
            f'<tr><th style="text-align: left; padding-right: 1em">{e(label)}</th>'
            f"<td>{e(value)}</td></tr>"
            for label, value in content.facts
        ]
        parts.append("</table>")
    for section in content.sections:
        parts += [f"<h3>{e(section.heading)}</h3>", "<ul>"]
        for item in section.items:
            title = f'<a href="{e(item.url)}">{e(item.title)}</a>' if item.url else e(item.title)
            details = f"<br>{e(item.details)}" if item.details else ""
            parts.append(f"<li>{title}{details}</li>")
        parts.append("</ul>")
        if section.note:
            parts.append(f"<p>{e(section.note)}</p>")
    parts += [f'<p><a href="{e(link.url)}">{e(link.label)}</a></p>' for link in content.links]
    parts += [f'<hr><p style="color: #666; font-size: small">{e(content.footer)}</p>']
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


async def _users(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in await session.scalars(select(User).where(User.id.in_(wanted)))}


async def _action_titles(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(
        select(ImprovementAction.id, ActionDefinitionVersion.title)
        .join(
            ActionDefinitionVersion,
            ActionDefinitionVersion.id == ImprovementAction.definition_version_id,
        )
        .where(ImprovementAction.id.in_(wanted))
    )
    return {action_id: title for action_id, title in rows.all()}


async def _assessment_names(session: AsyncSession, events: Iterable[Event]) -> dict[int, str]:
    wanted: set[int] = set()
    for event in events:
        wanted.update(i for i in event.payload.get("assessmentIds", []) if isinstance(i, int))
        if event.assessment_id is not None:
            wanted.add(event.assessment_id)
    if not wanted:
        return {}
    rows = await session.execute(
        select(Assessment.id, Assessment.name).where(Assessment.id.in_(wanted))
    )
    return {assessment_id: name for assessment_id, name in rows.all()}


def _person(users: Mapping[int, User], user_id: int | None) -> str:
    user = users.get(user_id) if user_id is not None else None
    if user is not None:
        return f"{user.name} <{user.email}>" if user.name else user.email
    return "a removed user" if user_id is not None else "the system"


def _score(value: Any) -> str:
    if not isinstance(value, dict):
        return "?"
    return f"{value.get('earned', 0):g}/{value.get('possible', 0)}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _days(count: Any) -> str:
    return _count(int(count or 0), "day")


def event_details(event: Event, users: dict[int, User], assessments: dict[int, str]) -> str:
    """What happened, in a few words: a points delta, a status move, an evidence change."""
    p = event.payload or {}
    kind = event.type
    if kind == EventType.SCORE_CHANGE:
        delta = p.get("delta")
        points = f"points {delta:+g}" if isinstance(delta, int | float) else "points changed"
        text = f"{points} ({_score(p.get('before'))} → {_score(p.get('after'))})"
    elif kind == EventType.IMPLEMENTATION_STATUS_CHANGE:
        text = f"implementation status {p.get('from')} → {p.get('to')}"
    elif kind == EventType.TEST_STATUS_CHANGE:
        text = f"test status {p.get('from')} → {p.get('to')}"
    elif kind == EventType.EVIDENCE_CHANGE:
        text = f"evidence {str(p.get('change', 'changed')).lower()}: {p.get('name', '')}"
    elif kind == EventType.ASSIGNMENT_CHANGE and p.get("changed"):
        # The plan changed (workflow.planning_payload), not the assignee.
        text = (
            f"due date {p.get('dueDate') or 'cleared'}"
            if "dueDate" in p["changed"]
            else f"retest every {p.get('retestIntervalDays') or '(default)'} days"
        )
    elif kind == EventType.ASSIGNMENT_CHANGE:
        to_id = p.get("toUserId")
        text = f"assigned to {_person(users, to_id)}" if to_id is not None else "unassigned"
    elif kind == EventType.UPDATE_AVAILABLE:
        key = p.get("definitionKey") or p.get("templateKey") or ""
        text = f"update available for {key}: version {p.get('fromVersion')} → {p.get('toVersion')}"
    elif kind == EventType.DUE_SOON:
        text = f"due {p.get('dueDate')} ({_days(p.get('daysLeft'))} left)"
    elif kind == EventType.OVERDUE:
        text = f"due {p.get('dueDate')}, overdue by {_days(-int(p.get('daysLeft') or 0))}"
    elif kind == EventType.RETEST_DUE:
        text = f"passed on {p.get('testDate')}; retest due on {p.get('retestDueOn')}"
    elif kind == EventType.EVIDENCE_EXPIRING:
        text = f"evidence “{p.get('name', '')}” to review by {p.get('reviewBy')}"
    else:
        text = ""
    names = [assessments[i] for i in p.get("assessmentIds", []) if i in assessments]
    if names:
        text += ("; " if text else "") + "assessments: " + ", ".join(names)
    return text


async def _alert_content(
    session: AsyncSession, notification: Notification, settings: Settings, recipient: User | None
) -> Content:
    alert = await session.get(Alert, notification.subject_id)
    if alert is None:
        raise RenderError(f"alert {notification.subject_id} no longer exists")
    snapshot = alert.policy_snapshot or {}
    policy = await session.get(AlertPolicy, alert.policy_id) if alert.policy_id else None
    policy_name = str(snapshot.get("name") or (policy.name if policy else "") or "alert policy")
    description = str(snapshot.get("description") or (policy.description if policy else ""))
    events = list(
        await session.scalars(
            select(Event)
            .join(AlertMatch, AlertMatch.event_id == Event.id)
            .where(AlertMatch.alert_id == alert.id)
            .order_by(Event.created_at, Event.id)
        )
    )
    events = await _readable_events(session, events, recipient)
    users = await _users(
        session,
        [e.actor_id for e in events]
        + [e.payload.get("toUserId") for e in events if isinstance(e.payload, dict)],
    )
    titles = await _action_titles(session, [e.action_id for e in events])
    assessments = await _assessment_names(session, events)

    event_items = []
    for event in events[:MAX_EVENTS_LISTED]:
        subject = ""
        if event.action_id is not None:
            subject = titles.get(event.action_id, f"removed action {event.action_id}")
        elif event.assessment_id is not None:
            subject = assessments.get(event.assessment_id, f"assessment {event.assessment_id}")
        by = _person(users, event.actor_id)
        title = f"{when(event.created_at)} {event.type}" + (f": {subject}" if subject else "")
        details = f"by {by}"
        described = event_details(event, users, assessments)
        if described:
            details += f"; {described}"
        event_items.append(Item(title, details))
    more = len(events) - MAX_EVENTS_LISTED
    action_ids = list(dict.fromkeys(e.action_id for e in events if e.action_id in titles))
    action_items = [
        Item(titles[i], url=deep_link(settings, "actions", "ImprovementAction", i))
        for i in action_ids
    ]
    alert_url = deep_link(settings, "alerts", "Alert", alert.id)
    types = sorted({e.type for e in events})
    sections = [
        Section(
            f"Events ({len(events)})",
            event_items,
            note=f"…and {more} more, listed with the alert." if more > 0 else "",
        )
    ]
    if action_items:
        sections.append(Section(f"Affected actions ({len(action_items)})", action_items))
    intro = [f"The alert policy “{policy_name}” raised a {alert.severity} alert."]
    if description:
        intro.append(description)
    return Content(
        subject=f"{SUBJECT_PREFIX} {alert.severity} alert: {policy_name}",
        greeting="",
        intro=intro,
        facts=[
            ("Severity", str(alert.severity)),
            ("Detected", when(alert.detected_at)),
            ("Status", str(alert.status)),
            ("Conditions", ", ".join(types) if types else "-"),
        ],
        sections=sections,
        links=[Link("Open the alert", alert_url), Link("GraphQL API", api_link(settings))],
        footer=f"You receive this as a recipient of the alert policy “{policy_name}”.",
    )


async def _digest_content(
    session: AsyncSession, notification: Notification, settings: Settings
) -> Content:
    """Every alert listed in this digest, as it is now: one line each, with its link."""
    day = date.fromordinal(notification.subject_id)
    alerts = list(
        await session.scalars(
            select(Alert)
            .join(DigestEntry, DigestEntry.alert_id == Alert.id)
            .where(DigestEntry.notification_id == notification.id)
            .order_by(Alert.detected_at, Alert.id)
        )
    )
    if not alerts:
        raise RenderError(f"digest {notification.id} lists no alert that still exists")
    events: dict[int, list[Event]] = {alert.id: [] for alert in alerts}
    rows = await session.execute(
        select(AlertMatch.alert_id, Event)
        .join(Event, Event.id == AlertMatch.event_id)
        .where(AlertMatch.alert_id.in_(list(events)))
        .order_by(Event.created_at, Event.id)
    )
    for alert_id, event in rows.all():
        if alert_id is not None:
            events[alert_id].append(event)
    titles = await _action_titles(
        session, [e.action_id for listed in events.values() for e in listed]
    )
    items = []
    for alert in alerts[:MAX_EVENTS_LISTED]:
        listed = events[alert.id]
        name = str((alert.policy_snapshot or {}).get("name") or "alert policy")
        types = ", ".join(sorted({e.type for e in listed})) or "no events"
        actions = list(dict.fromkeys(titles[e.action_id] for e in listed if e.action_id in titles))
        events_seen = _count(len(listed), "event")
        details = f"detected {when(alert.detected_at)}, {alert.status}; {events_seen} ({types})"
        if actions:
            shown = ", ".join(actions[:5]) + (
                f" and {len(actions) - 5} more" if len(actions) > 5 else ""
            )
            details += f": {shown}"
        items.append(
            Item(
                f"{alert.severity} · {name}",
                details,
                deep_link(settings, "alerts", "Alert", alert.id),
            )
        )
    more = len(alerts) - MAX_EVENTS_LISTED
    count = _count(len(alerts), "alert")
    return Content(
        subject=f"{SUBJECT_PREFIX} Daily digest for {day.isoformat()}: {count}",
        greeting="",
        intro=[
            f"Alert policies you receive as a daily digest raised {count} on "
            f"{day.isoformat()} (UTC)."
        ],
        facts=[
            ("Day", day.isoformat()),
            ("Alerts", str(len(alerts))),
            ("Highest severity", str(max((a.severity for a in alerts), key=_SEVERITY_ORDER.index))),
        ],
        sections=[
            Section(
                f"Alerts ({len(alerts)})",
                items,
                note=f"…and {more} more, listed in the app." if more > 0 else "",
            )
        ],
        links=[Link("GraphQL API", api_link(settings))],
        footer="You receive this once a day as a recipient of alert policies set to a daily "
        "digest; each alert's link shows it as it is now.",
    )


def _due_date(payload: Mapping[str, Any], action: ImprovementAction) -> str | None:
    """The due date the assignment set (its event says), else the action's."""
    if "dueDate" in payload:
        return str(payload["dueDate"]) if payload["dueDate"] else None
    return action.due_date.isoformat() if action.due_date else None


async def _readable_events(
    session: AsyncSession, events: list[Event], recipient: User | None
) -> list[Event]:
    """The events the recipient may read about: an assignee told of their action's failure
    may hold only a grant, and the alert may also hold other people's actions."""
    if recipient is None or recipient.role is not None:
        return events  # every organisation role reads everything
    principal = await principal_of(session, recipient)
    action_ids = {e.action_id for e in events if e.action_id is not None}
    actions = set(
        await session.scalars(
            select(ImprovementAction.id).where(
                ImprovementAction.id.in_(action_ids), readable_actions(principal)
            )
        )
    )
    assessment_ids = {e.assessment_id for e in events if e.assessment_id is not None}
    places = set(
        await session.scalars(
            select(Assessment.id).where(
                Assessment.id.in_(assessment_ids), readable_assessments(principal)
            )
        )
    )
    return [
        e
        for e in events
        if (e.action_id in actions if e.action_id is not None else e.assessment_id in places)
    ]


async def _assignment_content(
    session: AsyncSession, notification: Notification, settings: Settings
) -> Content:
    event = await session.get(Event, notification.subject_id)
    if event is None:
        raise RenderError(f"event {notification.subject_id} no longer exists")
    if event.action_id is None:
        raise RenderError(f"event {event.id} names no action")
    row = (
        await session.execute(
            select(
                ActionDefinitionVersion.title, ActionDefinitionVersion.guidance, ImprovementAction
            )
            .join(
                ActionDefinitionVersion,
                ActionDefinitionVersion.id == ImprovementAction.definition_version_id,
            )
            .where(ImprovementAction.id == event.action_id)
        )
    ).first()
    if row is None:
        raise RenderError(f"improvement action {event.action_id} no longer exists")
    title, guidance, action = row
    payload = event.payload or {}
    users = await _users(session, [event.actor_id])
    assessments = await _assessment_names(session, [event])
    names = [assessments[i] for i in payload.get("assessmentIds", []) if i in assessments]
    notes = str(payload.get("notes") or "").strip()
    facts = [
        ("Action", title),
        ("Points", str(action.points)),
        ("Priority", priority(action.points).value.title()),
        ("Due", _due_date(payload, action) or "no due date"),
        ("Assigned by", _person(users, event.actor_id)),
        ("Assigned at", when(event.created_at)),
    ]
    if names:
        facts.append(("Assessments", ", ".join(names)))
    sections = []
    summary = guidance_summary(guidance)
    if summary:
        sections.append(Section("What to do", [Item(summary)]))
    if notes:
        sections.append(
            Section("Notes", [Item(line) for line in notes.splitlines() if line.strip()])
        )
    return Content(
        subject=f"{SUBJECT_PREFIX} Assigned to you: {title}",
        greeting="",
        intro=[f"You were assigned the improvement action “{title}”."],
        facts=facts,
        sections=sections,
        links=[
            Link(
                "Open the action",
                deep_link(settings, "actions", "ImprovementAction", event.action_id),
            ),
            Link("GraphQL API", api_link(settings)),
        ],
        footer="You receive this because an improvement action was assigned to you.",
    )


def guidance_summary(guidance: str, limit: int = GUIDANCE_SUMMARY_LENGTH) -> str:
    """The guidance's first paragraph as plain text, cut at a word: enough to know the
    task from the mail; the link opens the whole of it."""
    for paragraph in re.split(r"\n\s*\n", guidance or ""):
        plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", paragraph)  # [text](url) -> text
        plain = re.sub(r"^\s{0,3}(#{1,6}|[-*+>]|\d+[.)])\s+", "", plain, flags=re.M)
        plain = " ".join(re.sub(r"[*_`]+", "", plain).split())
        if plain:
            if len(plain) <= limit:
                return plain
            return plain[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"
    return ""


async def _password_link_content(
    session: AsyncSession, notification: Notification, settings: Settings
) -> Content:
    link = await session.get(PasswordLink, notification.subject_id)
    if link is None:
        raise RenderError(f"password link {notification.subject_id} no longer exists")
    url = f"{settings.public_url}{SET_PASSWORD_PATH}?token={token_for(link_key(settings), link)}"
    facts = [("Valid until", when(link.expires_at))]
    if notification.kind is NotificationKind.INVITATION:
        users = await _users(session, [link.created_by_id])
        inviter = _person(users, link.created_by_id)
        if not settings.password_sign_in:  # single sign-on only: the link would be refused
            return Content(
                subject=f"{SUBJECT_PREFIX} You are invited to cmgraph",
                greeting="",
                intro=[
                    f"{inviter} invited you to cmgraph, where your organisation tracks its "
                    "compliance. Sign in with your organisation's single sign-on."
                ],
                facts=[],
                sections=[],
                links=[Link("Sign in", f"{settings.public_url}{SSO_PATH}/login")],
                footer="",
            )
        return Content(
            subject=f"{SUBJECT_PREFIX} You are invited to cmgraph",
            greeting="",
            intro=[
                f"{inviter} invited you to cmgraph, where your "
                "organisation tracks its compliance. Choose a password to sign in."
            ],
            facts=facts,
            sections=[],
            links=[Link("Choose your password", url)],
            footer="The link works once. Ask the person who invited you for a new one if it "
            "has expired.",
        )
    return Content(
        subject=f"{SUBJECT_PREFIX} Reset your password",
        greeting="",
        intro=[
            "Someone asked to reset the password of your cmgraph account. If it was you, "
            "choose a new password; if not, ignore this email: nothing changes."
        ],
        facts=facts,
        sections=[],
        links=[Link("Choose a new password", url)],
        footer="The link works once. Your sessions end when the password changes.",
    )
