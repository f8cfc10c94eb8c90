"""The `harbour` command: every operator job, with a one-line message on bad input and never a traceback."""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app import migrate, validation
from app.audit.cli import audit_cli
from app.auth import service as users
from app.auth import sessions
from app.auth.models import Role
from app.backup.cli import backup_command, restore_command
from app.context import Context
from app.db import make_engine, unit_of_work
from app.errors import AppError
from app.exports.cli import export as export_command
from app.interviews.cli import import_transcript, interviews_cli
from app.keys import provider as key_provider
from app.keys.cli import keys_cli
from app.projects import service as projects
from app.runtime import Runtime
from app.settings import Settings
from crypto.errors import CryptoError, KeyUnavailableError

cli = typer.Typer(
    name="harbour",
    help="Harbour: secure interview and testimony management.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
users_cli = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
projects_cli = typer.Typer(help="Manage projects and who holds which role in them.", no_args_is_help=True)
cli.add_typer(users_cli, name="users")
cli.add_typer(projects_cli, name="projects")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(interviews_cli, name="interviews")
cli.command("import")(import_transcript)
cli.command("export")(export_command)
cli.command("backup")(backup_command)
cli.command("restore")(restore_command)

out = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # one line per error, however long


class CommandError(Exception):
    """A failure to report to the operator as one line."""


def settings() -> Settings:
    """Read settings from the environment, turning a bad value into a one-line error."""
    try:
        return Settings()
    except ValueError as exc:
        first = str(exc).splitlines()
        raise CommandError(f"bad setting: {first[-1].strip() if first else exc}") from None


@contextmanager
def opened(*, unlock: bool = True, read_only: bool = False) -> Iterator[tuple[Runtime, Session]]:
    """A runtime on an initialised, up-to-date database (keys unlocked) and one transaction.

    `read_only` work (such as verifying the audit log) does not take SQLite's write lock, so writers carry on.
    """
    current = settings()
    runtime = Runtime.open(current, unlock=False)
    try:
        _require_current_schema(runtime)
        if unlock:
            runtime.unlock()
            if runtime.keystore is None:
                raise CommandError(f"keys are sealed: {runtime.sealed_reason}")
        with unit_of_work(runtime.sessions) as session:
            if read_only:
                session.connection(execution_options={"read_only": True})
            yield runtime, session
    finally:
        runtime.close()


def _require_current_schema(runtime: Runtime) -> None:
    try:
        current = migrate.current_revision(runtime.engine)
    except OperationalError:
        current = None
    if current is None:
        raise CommandError(f"no Harbour database at {runtime.settings.data_dir}: run `harbour init` first")
    if current != migrate.head_revision(runtime.engine):
        raise CommandError("the database schema is out of date: run `harbour migrate`")


@cli.command()
def init(
    admin: Annotated[str, typer.Option(help="Username of the first administrator.")] = "admin",
) -> None:
    """Create the data directory, keys, database and first admin (prints a one-time password)."""
    current = settings()
    data_dir = current.data_dir
    if data_dir.exists() and any(data_dir.iterdir()):
        raise CommandError(f"{data_dir} already holds data: refusing to initialise over it (nothing changed)")
    engine = make_engine(current.sqlalchemy_url)
    try:
        if not current.is_sqlite and sa_inspect(engine).get_table_names():
            raise CommandError("the database already has tables: refusing to initialise over it")
    finally:
        engine.dispose()
    validation.handle(admin, what="username")
    created_dir = not data_dir.exists()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        key_provider.create_keystore(current)
        runtime = Runtime.open(current, unlock=False)
        try:
            migrate.upgrade(runtime.engine)
            runtime.unlock()
            with unit_of_work(runtime.sessions) as session:
                new = users.create(Context(session, runtime, None), username=admin, role=Role.ADMIN)
        finally:
            runtime.close()
    except BaseException:
        # Leave nothing half-made behind, so the operator can simply run init again.
        if created_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            for child in data_dir.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
    out.print(f"Initialised Harbour in {data_dir} (key provider: {current.key_provider}).")
    out.print(f"Administrator: [bold]{new.user.username}[/bold]")
    out.print(f"One-time password: [bold]{new.one_time_password}[/bold]")
    out.print("It is shown only once; it must be changed at first login.")


@cli.command("migrate")
def migrate_command() -> None:
    """Bring the database schema up to date."""
    current = settings()
    engine = make_engine(current.sqlalchemy_url)
    try:
        if migrate.current_revision(engine) is None:
            raise CommandError(f"no Harbour database at {current.data_dir}: run `harbour init` first")
        migrate.upgrade(engine)
        out.print(f"Database at revision {migrate.current_revision(engine)}.")
    finally:
        engine.dispose()


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only for more than one).")] = 1,
) -> None:
    """Serve the web application and the API."""
    import uvicorn

    current = settings()
    if workers > 1 and current.is_sqlite:
        raise CommandError("several workers need PostgreSQL: SQLite allows one writer process")
    runtime = Runtime.open(current, unlock=False)
    try:
        _require_current_schema(runtime)
        # Refuse to start rather than serve sealed when the keys cannot be opened without a prompt (an unsafe
        # key file, a wrong passphrase file or PIN); a typed passphrase is asked for by the server itself.
        if not (current.key_provider == "passphrase" and current.passphrase_file is None):
            runtime.unlock()
            if runtime.keystore is None:
                raise CommandError(f"keys are sealed: {runtime.sealed_reason}")
    finally:
        runtime.close()
    out.print(f"Harbour on http://{host}:{port}/  (Ctrl+C to stop)")
    uvicorn.run(
        "app.main:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        server_header=False,
        log_level="warning",
    )


@cli.command()
def demo() -> None:
    """Load the fictional demo project `demo` (prints a log-in for each role)."""
    from app import demo as demo_data

    with opened() as (runtime, session):
        logins = demo_data.load(Context(session, runtime, None))
    table = Table(title="Demo log-ins (fictional data; passwords shown once)")
    table.add_column("role")
    table.add_column("username")
    table.add_column("password")
    for login in logins:
        table.add_row(login.role, login.username, login.password)
    out.print(table)
    out.print(
        f"Registered {len(demo_data.DEMO_PERSONS)} fictional persons in the project `demo`, with consent"
        " records, an interview guide and three interviews (one approved, linked to the guide)."
    )


@users_cli.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Username (3-64 of a-z 0-9 . _ -).")],
    role: Annotated[str, typer.Option(help="admin, interviewer, coder or auditor.")],
    project: Annotated[str | None, typer.Option(help="Project, for the project roles.")] = None,
) -> None:
    """Add a user with one role; prints a one-time password."""
    parsed = users.parse_role(role)
    with opened() as (runtime, session):
        new = users.create(Context(session, runtime, None), username=name, role=parsed, project_name=project)
    where = f" in {project}" if project else ""
    out.print(f"Added {new.user.username} ({parsed.value}{where}).")
    out.print(f"One-time password: [bold]{new.one_time_password}[/bold] (must be changed at first login)")


@users_cli.command("list")
def users_list() -> None:
    """List users, their status and roles."""
    with opened() as (_runtime, session):
        table = Table()
        table.add_column("username")
        table.add_column("status")
        table.add_column("roles")
        for user in users.list_all(session):
            roles = ["admin"] if user.is_admin else []
            roles += [f"{role} in {project}" for project, role in users.roles_of(session, user_id=user.id)]
            table.add_row(user.username, user.status, ", ".join(roles) or "-")
    out.print(table)


@users_cli.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="Username.")]) -> None:
    """Disable a user: they can no longer log in or act."""
    with opened() as (runtime, session):
        users.disable(Context(session, runtime, None), username=name)
    out.print(f"Disabled {name}; their sessions and tokens have ended.")


@users_cli.command("reset-totp")
def users_reset_totp(name: Annotated[str, typer.Argument(help="Username.")]) -> None:
    """Forget a user's TOTP device: they set up a new one at their next login."""
    with opened() as (runtime, session):
        users.reset_totp(Context(session, runtime, None), username=name)
    out.print(f"Reset two-factor authentication of {name}; they enrol again at next login.")


@users_cli.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="Username.")],
    expires: Annotated[str, typer.Option(help="Lifetime such as 90m, 1h or 7d (at most 30d).")] = "1h",
) -> None:
    """Print an API token for scripts (audited; shown once)."""
    try:
        lifetime = sessions.parse_lifetime(expires)
    except ValueError as exc:
        raise CommandError(f"--expires: {exc}") from None
    with opened() as (runtime, session):
        ctx = Context(session, runtime, None)
        user = users.get_by_username_or_raise(session, username=name)
        if not user.is_active:
            raise CommandError(f"{name} is disabled")
        row, clear = sessions.issue_token(session, runtime, user=user, lifetime=lifetime)
        ctx.audit("auth.token_issue", object_type="api_token", object_id=row.id, reason="operator")
        expires_at = row.expires_at
    out.print(clear, markup=False)
    err.print(
        f"expires {expires_at.isoformat(timespec='minutes')}; send it as 'Authorization: Bearer <token>'"
    )


@projects_cli.command("add")
def projects_add(name: Annotated[str, typer.Argument(help="Project name (3-64 of a-z 0-9 . _ -).")]) -> None:
    """Create a project."""
    with opened() as (runtime, session):
        project = projects.create(Context(session, runtime, None), name=name)
    out.print(f"Created project {project.name}.")


@projects_cli.command("list")
def projects_list() -> None:
    """List projects."""
    with opened() as (_runtime, session):
        table = Table()
        table.add_column("project")
        table.add_column("created")
        for project in projects.list_all(session):
            table.add_row(project.name, project.created_at.date().isoformat())
    out.print(table)


@projects_cli.command("grant")
def projects_grant(
    project: Annotated[str, typer.Argument(help="Project name.")],
    user: Annotated[str, typer.Argument(help="Username.")],
    role: Annotated[str, typer.Argument(help="interviewer, coder or auditor.")],
) -> None:
    """Give a user a role in a project."""
    parsed = users.parse_role(role)
    with opened() as (runtime, session):
        target = users.get_by_username_or_raise(session, username=user)
        found = projects.get_by_name_or_raise(session, name=project)
        users.grant(Context(session, runtime, None), user=target, project_id=found.id, role=parsed)
    out.print(f"{user} is now {parsed.value} in {project}.")


def _one_line(message: str) -> str:
    return " ".join(message.split())


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command, turning every failure into one line on stderr and a non-zero exit."""
    # Commands report failures themselves, in one line; library warnings must not add a second one.
    logging.getLogger("harbour").addHandler(logging.NullHandler())
    command = typer.main.get_command(cli)
    try:
        result = command.main(args=argv, prog_name="harbour", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err.print("error: aborted")
        sys.exit(130)
    except typer.TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            out.print(exc.format_message(), markup=False)
            sys.exit(0)
        err.print(f"error: {_one_line(exc.format_message())}", markup=False)
        sys.exit(exc.exit_code)
    except (AppError, CommandError, KeyUnavailableError) as exc:
        message = exc.message if isinstance(exc, AppError) else str(exc)
        err.print(f"error: {_one_line(message)}", markup=False)
        sys.exit(1)
    except CryptoError:
        err.print("error: integrity check failed")
        sys.exit(1)
    except Exception as exc:
        err.print(f"error: internal error ({type(exc).__name__}); nothing was printed of its content")
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)
