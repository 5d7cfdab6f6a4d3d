"""The ``cmgraph`` command: serve, migrate, manage users and tokens, import templates."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from cmgraph.adapters.db import UnitOfWork, create_engine, session_factory
from cmgraph.config import Settings
from cmgraph.domain.enums import (
    Enforcement,
    ImplementationStatus,
    OrgRole,
    Purpose,
    TestStatus,
)
from cmgraph.domain.errors import DomainError
from cmgraph.domain.people import MAX_TOKEN_LIFETIME_DAYS

T = TypeVar("T")

app = typer.Typer(
    help="cmgraph: compliance management server with a GraphQL API.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Users and their scoped grants.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
templates_app = typer.Typer(help="Regulation templates.", no_args_is_help=True)
schema_app = typer.Typer(help="The GraphQL schema.", no_args_is_help=True)
export_app = typer.Typer(
    help="Write spreadsheets and OSCAL files, as a given user sees the data.", no_args_is_help=True
)
import_app = typer.Typer(help="Read spreadsheets back in: bulk updates.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(templates_app, name="templates")
app.add_typer(schema_app, name="schema")
app.add_typer(export_app, name="export")
app.add_typer(import_app, name="import")

AsUser = Annotated[
    str, typer.Option("--as", help="Email of the user whose access and name the command uses.")
]
OutFile = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="File to write; by default the export's own name, here."),
]


def run(work: Callable[[Settings, Any], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run one async command against the configured database; domain errors exit 1."""
    settings = settings or Settings.from_env()

    async def main() -> T:
        engine = create_engine(settings.database_url)
        try:
            return await work(settings, session_factory(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        typer.secho(f"error: {exc.message}", err=True, fg="red")
        raise typer.Exit(1) from None


async def _require_current_schema(settings: Settings) -> None:
    from cmgraph.adapters.migrate import current_revision, head_revision

    engine = create_engine(settings.database_url)
    try:
        current = await current_revision(engine)
    finally:
        await engine.dispose()
    if current != head_revision():
        typer.secho(
            f"The database is at revision {current or 'none'}, the code needs {head_revision()}: "
            "run `cmgraph db upgrade` first.",
            err=True,
            fg="red",
        )
        raise typer.Exit(1)


@app.command()
def serve(
    demo: Annotated[
        bool, typer.Option(help="Migrate, seed demo data and print demo tokens.")
    ] = False,
    host: Annotated[str | None, typer.Option(help="Overrides CMGRAPH_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Overrides CMGRAPH_PORT.")] = None,
    processes: Annotated[
        int | None,
        typer.Option(help="Overrides CMGRAPH_PROCESSES: server processes sharing the port."),
    ] = None,
) -> None:
    """Serve the GraphQL API (and the GraphQL IDE at /graphql)."""
    import uvicorn

    from cmgraph.adapters.db import is_sqlite
    from cmgraph.domain.persisted_documents import TrustedDocumentsError
    from cmgraph.http.app import create_app

    settings = Settings.from_env(host=host, port=port, processes=processes)
    if settings.processes > 1 and is_sqlite(settings.database_url):
        typer.secho(
            "error: more than one server process needs PostgreSQL (CMGRAPH_DATABASE_URL): "
            "SQLite takes one writer at a time and tells other processes of nothing",
            err=True,
            fg="red",
        )
        raise typer.Exit(1)
    if demo:
        users = run(_prepare_demo, settings)
        typer.echo(f"\ncmgraph demo: data in {settings.data_dir.resolve()}")
        typer.echo(f"GraphQL API and IDE: {settings.public_url}/graphql")
        typer.echo(
            "Send a token as `Authorization: Bearer <token>`, or sign in with the email and "
            "password (POST /auth/login):"
        )
        for user in users:
            typer.echo(f"  {user.role_label:<32} {user.email:<28} {user.token}  {user.password}")
        typer.echo("")
    else:
        asyncio.run(_require_current_schema(settings))
    try:
        application = create_app(settings)
    except TrustedDocumentsError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(1) from None
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        # Subscription messages are small and go to many sockets: compressing each one for
        # each subscriber costs more CPU than the bytes it saves.
        "ws_per_message_deflate": False,
        # On SIGTERM: requests in flight get this long to finish, then open connections
        # (subscribers' sockets, idle browser connections) are closed, not waited for.
        "timeout_graceful_shutdown": SHUTDOWN_GRACE_SECONDS,
    }
    if settings.processes == 1:
        tune_gc_for_serving()
        uvicorn.run(application, **options)
        return
    # Each process builds its own app from the environment (the one above only checked that
    # the settings start); options given on the command line travel there too.
    os.environ.update(
        CMGRAPH_HOST=settings.host,
        CMGRAPH_PORT=str(settings.port),
        CMGRAPH_DATABASE_URL=settings.database_url,
    )
    uvicorn.run("cmgraph.cli:served_app", factory=True, workers=settings.processes, **options)


def served_app() -> Any:
    """The app of one of several server processes (``serve --processes N``)."""
    from cmgraph.http.app import create_app

    application = create_app(Settings.from_env())
    tune_gc_for_serving()
    return application


SHUTDOWN_GRACE_SECONDS = 20


def tune_gc_for_serving() -> None:
    """Make the cyclic garbage collector cheap for a long-running server process.

    Everything created at start-up (modules, the GraphQL schema, the app) lives as long as
    the process: collect once, then freeze it so that no later collection scans it again.
    A large report allocates hundreds of thousands of short-lived objects that reference
    counting frees; with CPython's default gen-0 threshold (700) they still set off hundreds
    of young collections per request, and the objects alive during the request get promoted
    and trigger full collections. A gen-0 threshold of 50,000 keeps collections rare and
    small. Only the server does this: tests and other commands keep the defaults.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


@app.command()
def worker() -> None:
    """Run background work (alert evaluation, mail delivery, the scheduled checks) without
    HTTP, until stopped.

    Any number of workers (and servers with CMGRAPH_BACKGROUND_WORK=true) may run against one
    database: they claim work there, so each event is evaluated and each mail sent once, and
    each scheduled finding is reported once a day.
    SIGTERM or SIGINT stops it after the step in progress.
    """
    import logging

    settings = Settings.from_env()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(_require_current_schema(settings))
    asyncio.run(_work(settings))


async def _work(settings: Settings) -> None:
    import signal

    from cmgraph.alerts.runner import running

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    try:
        async with running(settings, session_factory(engine), background=True):
            typer.echo("cmgraph worker started", err=True)
            await stop.wait()
            typer.echo("cmgraph worker stopping", err=True)
    finally:
        await engine.dispose()
    typer.echo("cmgraph worker stopped", err=True)


async def _prepare_demo(settings: Settings, sessions: Any) -> list[Any]:
    from cmgraph.adapters.migrate import upgrade
    from cmgraph.demo import seed_demo

    await upgrade(sessions.kw["bind"])
    return await seed_demo(sessions, settings.data_dir)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from cmgraph.adapters.migrate import current_revision, upgrade

    async def work(settings: Settings, sessions: Any) -> str | None:
        engine = sessions.kw["bind"]
        await upgrade(engine, revision)
        return await current_revision(engine)

    typer.echo(f"database at revision {run(work)}")


@users_app.command("add")
def users_add(
    email: str,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    role: Annotated[
        OrgRole | None, typer.Option(help="Organisation role; omit for grants only.")
    ] = None,
    automation: Annotated[
        bool, typer.Option(help="A service account for automation signals.")
    ] = False,
) -> None:
    """Add a user (audited, with no actor: the command line)."""
    from cmgraph.domain import audit
    from cmgraph.domain.accounts import create_user

    async def work(settings: Settings, sessions: Any) -> int:
        async with UnitOfWork(sessions) as uow:
            user = await create_user(uow, email, name or "", role, is_automation=automation)
            await audit.record(
                uow,
                None,
                audit.AuditAction.USER_CREATED,
                user.id,
                email=user.email,
                name=user.name,
                role=role.value if role else None,
                automation=automation,
                source="CLI",
            )
            return user.id

    user_id = run(work)
    typer.echo(
        f"user {user_id} {email.strip().lower()} ({role.value if role else 'no organisation role'})"
    )


@users_app.command("set-password")
def users_set_password(
    email: str,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Asked for when not given; at least 12 characters.",
        ),
    ],
) -> None:
    """Set a person's password for signing in from a browser; their sessions end."""
    from cmgraph.domain.accounts import user_by_email
    from cmgraph.domain.people import set_password

    async def work(settings: Settings, sessions: Any) -> None:
        async with UnitOfWork(sessions) as uow:
            await set_password(uow, None, await user_by_email(uow, email), password, via="CLI")

    run(work)
    typer.echo(f"password set for {email.strip().lower()}")


@users_app.command("grant")
def users_grant(
    email: str,
    role: Annotated[OrgRole, typer.Option(help="READER, CONTRIBUTOR or ASSESSOR.")],
    assessment: Annotated[str | None, typer.Option(help="Assessment name.")] = None,
    regulation: Annotated[str | None, typer.Option(help="Regulation name.")] = None,
) -> None:
    """Give a user a role on one assessment or on one regulation."""
    from sqlalchemy import select

    from cmgraph.domain.accounts import user_by_email
    from cmgraph.domain.errors import not_found
    from cmgraph.domain.models import Assessment, Regulation
    from cmgraph.domain.people import grant_access

    async def work(settings: Settings, sessions: Any) -> None:
        async with UnitOfWork(sessions) as uow:
            user = await user_by_email(uow, email)
            assessment_id = regulation_id = None
            if assessment is not None:
                assessment_id = await uow.session.scalar(
                    select(Assessment.id).where(Assessment.name == assessment)
                )
                if assessment_id is None:
                    raise not_found(f"Assessment {assessment!r}")
            if regulation is not None:
                regulation_id = await uow.session.scalar(
                    select(Regulation.id).where(Regulation.name == regulation)
                )
                if regulation_id is None:
                    raise not_found(f"Regulation {regulation!r}")
            await grant_access(
                uow, None, user.id, role, assessment_id=assessment_id, regulation_id=regulation_id
            )

    run(work)
    typer.echo(f"granted {role.value} to {email} on {assessment or regulation}")


@tokens_app.command("create")
def tokens_create(
    email: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    expires_in_days: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_TOKEN_LIFETIME_DAYS,
            help=f"Lifetime in days, at most {MAX_TOKEN_LIFETIME_DAYS}; omit for no expiry.",
        ),
    ] = None,
) -> None:
    """Create an API token for a user and print it (it is shown only once)."""
    from cmgraph.domain.accounts import user_by_email
    from cmgraph.domain.models import utcnow
    from cmgraph.domain.people import create_api_token

    async def work(settings: Settings, sessions: Any) -> tuple[int, str]:
        async with UnitOfWork(sessions) as uow:
            user = await user_by_email(uow, email)
            now = utcnow()
            expires = now + timedelta(days=expires_in_days) if expires_in_days else None
            issued = await create_api_token(uow, None, user.id, name, expires_at=expires, now=now)
            return issued.token.id, issued.secret

    token_id, secret = run(work)
    typer.echo(f"token {token_id} for {email}:", err=True)
    typer.echo(secret)


@tokens_app.command("revoke")
def tokens_revoke(token_id: int) -> None:
    """Revoke a token by its id; requests with it get 401 from then on."""
    from cmgraph.domain.people import revoke_api_token

    async def work(settings: Settings, sessions: Any) -> None:
        async with UnitOfWork(sessions) as uow:
            await revoke_api_token(uow, None, token_id)

    run(work)
    typer.echo(f"token {token_id} revoked")


@tokens_app.command("list")
def tokens_list(email: Annotated[str | None, typer.Argument()] = None) -> None:
    """List tokens (never their secrets)."""
    from sqlalchemy import select

    from cmgraph.domain.models import ApiToken, User

    async def work(settings: Settings, sessions: Any) -> list[Any]:
        async with sessions() as session:
            statement = select(ApiToken, User.email).join(User, User.id == ApiToken.user_id)
            if email:
                statement = statement.where(User.email == email.strip().lower())
            return list((await session.execute(statement.order_by(ApiToken.id))).all())

    for token, owner in run(work):
        state = "revoked" if token.revoked_at else "active"
        expires = token.expires_at.date().isoformat() if token.expires_at else "never"
        typer.echo(
            f"{token.id:>5}  {token.prefix}…  {owner:<32} {token.name:<20} {state:<8} "
            f"expires {expires}"
        )


# Options of the OSCAL imports: each overrides a documented default of the mapping.
EnforcementOption = Annotated[
    Enforcement | None, typer.Option("--enforcement", help="Instead of the default rule.")
]
PurposeOption = Annotated[
    Purpose | None, typer.Option("--purpose", help="Instead of the default rule.")
]
NamespaceOption = Annotated[
    str | None, typer.Option("--namespace", help="Prefix of the stable action keys.")
]
RegulationOption = Annotated[str | None, typer.Option("--regulation", help="Regulation name.")]
ProductOption = Annotated[
    str | None, typer.Option("--product", help="Product the template is for.")
]
TemplateKeyOption = Annotated[str | None, typer.Option("--key", help="Template key.")]


@templates_app.command("import-oscal")
def templates_import_oscal(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    enforcement: EnforcementOption = None,
    purpose: PurposeOption = None,
    namespace: NamespaceOption = None,
    regulation: RegulationOption = None,
    product: ProductOption = None,
    key: TemplateKeyOption = None,
) -> None:
    """Import an OSCAL catalog (JSON) as a template, or as a new version of it."""
    from cmgraph.exchange.oscal_catalog import import_catalog

    mapping = _oscal_mapping(enforcement, purpose, namespace, regulation, product, key)

    async def work(settings: Settings, sessions: Any) -> Any:
        async with UnitOfWork(sessions) as uow:
            return await import_catalog(uow, file, mapping)

    result = run(work)
    _report_import(result)


@templates_app.command("import-oscal-profile")
def templates_import_oscal_profile(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    catalog: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            readable=True,
            help="The catalog the profile selects from; by default its local import href.",
        ),
    ] = None,
    enforcement: EnforcementOption = None,
    purpose: PurposeOption = None,
    namespace: NamespaceOption = None,
    regulation: RegulationOption = None,
    product: ProductOption = None,
    key: TemplateKeyOption = None,
) -> None:
    """Import an OSCAL profile (JSON) over its catalog as a template, or a new version of it."""
    from cmgraph.exchange.oscal_profile import import_profile

    mapping = _oscal_mapping(enforcement, purpose, namespace, regulation, product, key)

    async def work(settings: Settings, sessions: Any) -> Any:
        async with UnitOfWork(sessions) as uow:
            return await import_profile(uow, file, catalog, mapping)

    _report_import(run(work))


def _oscal_mapping(
    enforcement: Enforcement | None,
    purpose: Purpose | None,
    namespace: str | None,
    regulation: str | None,
    product: str | None,
    key: str | None,
) -> Any:
    """The OSCAL import options; unset ones keep the documented default rules."""
    from cmgraph.exchange.oscal_catalog import OscalMapping

    options: dict[str, Any] = {
        "enforcement": enforcement,
        "purpose": purpose,
        "key_namespace": namespace,
        "regulation": regulation,
        "template_key": key,
    }
    if product is not None:
        options["product"] = product
    return OscalMapping(**options)


@templates_app.command("import-starter")
def templates_import_starter() -> None:
    """Import (or update) the project's starter template."""
    from cmgraph.domain.starter import starter_template
    from cmgraph.domain.templates import import_template

    async def work(settings: Settings, sessions: Any) -> Any:
        async with UnitOfWork(sessions) as uow:
            return await import_template(uow, starter_template(), source="starter")

    _report_import(run(work))


@templates_app.command("import-workbook")
def templates_import_workbook(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import a template workbook (xlsx) as a template, or as a new version of it."""
    from cmgraph.exchange.reading import WorkbookRejected
    from cmgraph.exchange.template_workbook import store_template_workbook

    async def work(settings: Settings, sessions: Any) -> Any:
        try:
            with file.open("rb") as handle:
                async with UnitOfWork(sessions) as uow:
                    return await store_template_workbook(uow, handle, file.name)
        except WorkbookRejected as rejected:
            return rejected

    result = run(work)
    if isinstance(result, WorkbookRejected):
        for error in result.errors:
            where = " ".join(
                part
                for part in (error.sheet, f"row {error.row}" if error.row else "", error.column)
                if part
            )
            typer.secho(f"{where}: {error.code.value}: {error.message}", err=True, fg="red")
        typer.secho(
            f"error: {len(result.errors)} problems in {file.name}; nothing was imported",
            err=True,
            fg="red",
        )
        raise typer.Exit(1)
    _report_import(result)


def _report_import(result: Any) -> None:
    if result.version_created:
        what = "created" if result.template_created else "updated"
        typer.echo(
            f"template {result.template.key!r} {what}: version {result.version.version}, "
            f"{result.controls} controls, {result.actions} actions "
            f"({result.definitions_created} new definitions, "
            f"{result.definitions_updated} with new versions)"
        )
    else:
        typer.echo(
            f"template {result.template.key!r} unchanged at version {result.version.version}"
        )
    if result.actions_pending_update or result.assessments_pending_update:
        typer.echo(
            f"pending updates: {result.actions_pending_update} improvement actions, "
            f"{result.assessments_pending_update} assessments; an administrator accepts them "
            "with acceptActionUpdate, acceptAllActionUpdates or acceptAssessmentUpdate"
        )
    if result.provider_actions_updated:
        typer.echo(
            f"provider actions updated at once: {result.provider_actions_updated} "
            "(they take new versions and stated results without waiting)"
        )


async def acting_user(sessions: Any, email: str) -> Any:
    """The principal of the user a command acts as (``--as``)."""
    from cmgraph.domain.accounts import principal_for, user_by_email

    async with UnitOfWork(sessions) as uow:
        return await principal_for(uow, await user_by_email(uow, email))


def write_export(kind: str, params: dict[str, Any], as_email: str, out: Path | None) -> Path:
    """Make one export as ``as_email`` and write it to ``out`` (or its own name, here)."""
    import tempfile

    from cmgraph.exchange.kinds import EXPORT_KINDS

    export = EXPORT_KINDS[kind]
    folder = out.parent if out else Path.cwd()
    # What ``NamedTemporaryFile(delete=False)`` does, with a handle typed as a ``BinaryIO``.
    descriptor, part = tempfile.mkstemp(dir=folder, suffix=".part")
    temp = Path(part)
    with open(descriptor, "w+b") as handle:

        async def work(settings: Settings, sessions: Any) -> str:
            from cmgraph.exchange.rows import snapshot

            principal = await acting_user(sessions, as_email)
            async with sessions() as session:
                await snapshot(session)
                return await export.write(session, principal, params, handle)

        try:
            name = run(work)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    target = out or folder / name
    temp.replace(target)
    typer.echo(f"wrote {target}")
    return target


def _look_up(find: Callable[[Any], Awaitable[int]]) -> int:
    """An id that a command names by name or key, read with ``find(session)``."""

    async def work(settings: Settings, sessions: Any) -> int:
        async with sessions() as session:
            return await find(session)

    return run(work)


@export_app.command("actions")
def export_actions(
    as_email: AsUser,
    out: OutFile = None,
    assessment: Annotated[
        list[str] | None, typer.Option(help="Assessment name; repeat for several.")
    ] = None,
    group: Annotated[str | None, typer.Option(help="Group name.")] = None,
    implementation_status: Annotated[ImplementationStatus | None, typer.Option()] = None,
    test_status: Annotated[TestStatus | None, typer.Option()] = None,
    assignee: Annotated[str | None, typer.Option(help="Email of the assignee.")] = None,
    search: Annotated[str | None, typer.Option(help="Part of the title, key or guidance.")] = None,
) -> None:
    """The improvement actions list (xlsx), filtered as in the API; the bulk update format."""
    from sqlalchemy import select

    from cmgraph.domain.action_filter import ActionFilter
    from cmgraph.domain.errors import not_found
    from cmgraph.domain.models import Assessment, Group, User

    async def ids(session: Any, column: Any, key: Any, names: list[str], kind: str) -> list[int]:
        found = dict((await session.execute(select(key, column).where(key.in_(names)))).all())
        for name in names:
            if name not in found:
                raise not_found(f"{kind} {name!r}")
        return [found[name] for name in names]

    async def work(settings: Settings, sessions: Any) -> ActionFilter:
        async with sessions() as session:
            assessments = [n.strip() for n in assessment or []]
            email = assignee.strip().lower() if assignee else None
            return ActionFilter(
                assessment_ids=(
                    await ids(session, Assessment.id, Assessment.name, assessments, "Assessment")
                    if assessments
                    else None
                ),
                group_ids=(
                    await ids(session, Group.id, Group.name, [group.strip()], "Group")
                    if group
                    else None
                ),
                implementation_statuses=[implementation_status] if implementation_status else None,
                test_statuses=[test_status] if test_status else None,
                assignee_ids=(
                    await ids(session, User.id, User.email, [email], "User") if email else None
                ),
                search=search,
            )

    params = {"filter": run(work).to_json(), "order": "KEY", "descending": False}
    write_export("improvement-actions", params, as_email, out)


@export_app.command("report")
def export_report(assessment: str, as_email: AsUser, out: OutFile = None) -> None:
    """The report of an assessment (xlsx): summary, controls, actions, evidence."""
    from cmgraph.exchange.assessment_report import assessment_id_by_name

    assessment_id = _look_up(lambda session: assessment_id_by_name(session, assessment))
    params = {"assessment_id": assessment_id, "public_url": Settings.from_env().public_url}
    write_export("assessment-report", params, as_email, out)


@export_app.command("oscal-results")
def export_oscal_results(assessment: str, as_email: AsUser, out: OutFile = None) -> None:
    """An assessment as OSCAL assessment results (JSON): a finding per control."""
    from cmgraph.exchange.assessment_report import assessment_id_by_name

    assessment_id = _look_up(lambda session: assessment_id_by_name(session, assessment))
    # The server's public URL makes the documents' evidence links absolute.
    params = {"assessment_id": assessment_id, "public_url": Settings.from_env().public_url}
    write_export("oscal-assessment-results", params, as_email, out)


@export_app.command("testing-history")
def export_testing_history(
    action: Annotated[str, typer.Argument(help="Action key, or the action's global id.")],
    as_email: AsUser,
    assessment: Annotated[
        str | None, typer.Option(help="An assessment the action counts in (for per-group keys).")
    ] = None,
    group: Annotated[str | None, typer.Option(help="The group (for per-group keys).")] = None,
    out: OutFile = None,
) -> None:
    """The testing history of one action (xlsx), newest first."""
    from cmgraph.exchange.histories import action_id_for

    action_id = _look_up(
        lambda session: action_id_for(session, action, assessment=assessment, group=group)
    )
    write_export("testing-history", {"action_id": action_id}, as_email, out)


@export_app.command("user-history")
def export_user_history(email: str, as_email: AsUser, out: OutFile = None) -> None:
    """A user's assigned actions, assignment changes and uploaded evidence (xlsx)."""
    from cmgraph.domain.accounts import user_by_email

    async def user_id(settings: Settings, sessions: Any) -> int:
        async with UnitOfWork(sessions) as uow:
            return (await user_by_email(uow, email)).id

    write_export("user-history", {"user_id": run(user_id)}, as_email, out)


@export_app.command("template")
def export_template(
    template: Annotated[str, typer.Argument(help="Template key.")],
    as_email: AsUser,
    out: OutFile = None,
) -> None:
    """A template's latest version as a template workbook (xlsx), the format import reads."""
    write_export("template-workbook", {"template_key": template}, as_email, out)


@import_app.command("actions")
def import_actions_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_email: AsUser,
    apply: Annotated[
        bool, typer.Option("--apply", help="Apply the rows; without it, only a dry run.")
    ] = False,
    notify: Annotated[bool, typer.Option(help="Email users the import assigns actions to.")] = True,
) -> None:
    """Bulk update from an edited actions export (xlsx): dry run, or --apply (all or nothing)."""
    from cmgraph.exchange.action_import import import_actions

    async def work(settings: Settings, sessions: Any) -> Any:
        principal = await acting_user(sessions, as_email)
        with file.open("rb") as handle:
            async with UnitOfWork(sessions) as uow:
                return await import_actions(
                    uow, principal, handle, dry_run=not apply, notify=notify
                )

    result = run(work)
    for error in result.errors:
        where = f"row {error.row}" if error.row else "file"
        where += f", {error.column}" if error.column else ""
        typer.secho(f"{where}: {error.code.value}: {error.message}", err=True, fg="red")
    if result.file_rejected:
        typer.secho(f"error: {file.name} cannot be imported; nothing was applied", err=True)
        raise typer.Exit(1)
    state = "applied" if result.applied else "dry run, nothing applied"
    typer.echo(f"{result.actions_changed} of {result.rows_read} rows change their action ({state})")

    def score(s: Any) -> str:
        return f"{s.earned:g}/{s.possible} ({s.percent:g}%)"

    typer.echo(
        f"overall score: {score(result.overall_before)} -> {score(result.overall_after)} "
        f"({result.overall_delta:+g})"
    )
    for impact in result.assessments:
        typer.echo(
            f"  {impact.name}: {score(impact.before)} -> {score(impact.after)} ({impact.delta:+g})"
        )
    if result.errors:
        typer.secho(f"error: {len(result.errors)} problems; nothing was applied", err=True)
        raise typer.Exit(1)
    if not apply:
        typer.echo("run again with --apply to apply these changes")


@schema_app.command("export")
def schema_export(
    path: Annotated[
        Path | None, typer.Argument(help="File to write; standard output if omitted.")
    ] = None,
) -> None:
    """Print or write the GraphQL schema (SDL)."""
    from cmgraph.schema.api import schema_sdl

    sdl = schema_sdl()
    if path is None:
        sys.stdout.write(sdl)
    else:
        path.write_text(sdl, encoding="utf-8")
        typer.echo(f"wrote {path}")


def main() -> None:
    app()
