"""`harbour keys`: key status, KEK rotation and crypto-shredding of one person.

`app.cli` imports this module to register it, so the helpers of `app.cli` (`opened`, `out`, `CommandError`)
are imported inside the commands, when both modules are complete. See `app.keys.service` for what rotation
and erasure do to old backups.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from app.context import Context
from app.db import unit_of_work
from app.identities import service as identities
from app.keys import service as data_keys
from app.projects import service as projects
from app.runtime import Runtime
from crypto.keyring import Zone

keys_cli = typer.Typer(help="Key status, rotation and erasure.", no_args_is_help=True)


@contextmanager
def _runtime() -> Iterator[Runtime]:
    """An unlocked runtime on an up-to-date database; commands open their own transactions."""
    from app.cli import opened

    # The transaction `opened` holds stays unused (a session only begins on first use), so it takes no
    # lock; the commands below commit batch by batch through runtime.sessions.
    with opened(unlock=True) as (runtime, _session):
        yield runtime


@contextmanager
def _progress(label: str) -> Iterator[data_keys.ProgressFn]:
    from app.cli import out

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=out,
    ) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def _report(result: data_keys.RotationResult) -> str:
    verb = "Resumed and finished" if result.resumed else "Rotated"
    line = f"{verb} {result.zone.value}: primary version {result.version}, "
    line += f"{result.rewrapped} data keys re-wrapped"
    if result.retired:
        line += f", retired version(s) {', '.join(map(str, result.retired))}"
    if result.destroyed:
        line += f", destroyed version(s) {', '.join(map(str, result.destroyed))}"
    return line + "."


@keys_cli.command("status")
def status() -> None:
    """Show every zone's key versions, their state and how many data keys each wraps."""
    from app.cli import out

    with _runtime() as runtime, unit_of_work(runtime.sessions) as session:
        rows = data_keys.status(session, runtime.keys)
    table = Table()
    for column in ("zone", "version", "status", "created", "data keys"):
        table.add_column(column)
    for row in rows:
        deks = "pinned (derived keys)" if row.deks is None else str(row.deks)
        table.add_row(row.zone.value, str(row.version), row.status, row.created, deks)
    out.print(table)


@keys_cli.command("rotate")
def rotate(
    zone: Annotated[
        str | None, typer.Option(help="identity, testimony, analysis or totp (default: all four).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Data keys re-wrapped per transaction.", min=1)] = (
        data_keys.DEFAULT_BATCH_SIZE
    ),
) -> None:
    """Add a new key version, re-wrap every data key, retire the old version (resumes an interrupted run)."""
    from app.cli import CommandError, out

    zones = data_keys.ROTATING_ZONES
    if zone is not None:
        try:
            chosen = Zone(zone)
        except ValueError:
            raise CommandError(f"unknown zone {zone!r}") from None
        if chosen not in data_keys.ROTATING_ZONES:
            raise CommandError(f"zone {zone} is not rotated: its keys are derived and pinned to version 1")
        zones = (chosen,)
    with _runtime() as runtime:
        for each in zones:
            with _progress(f"re-wrapping {each.value}") as progress:
                result = data_keys.rotate(runtime, each, batch_size=batch_size, progress=progress)
            out.print(_report(result))


@keys_cli.command("erase-person")
def erase_person(
    pseudonym: Annotated[str, typer.Argument(help="The person's pseudonym, e.g. Cobalt-Heron-42.")],
    project: Annotated[str | None, typer.Option(help="The project, if the pseudonym is in several.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a person for good: destroy their data key, then the older identity key versions."""
    from app.cli import CommandError, out

    with _runtime() as runtime:
        with unit_of_work(runtime.sessions) as session:
            if project is not None:
                found = identities.get_by_pseudonym(
                    session, projects.get_by_name_or_raise(session, name=project).id, pseudonym
                )
                matches = [] if found is None else [found]
            else:
                matches = identities.list_by_pseudonym(session, pseudonym)
            if not matches:
                raise CommandError(f"no person with pseudonym {pseudonym!r}")
            if len(matches) > 1:
                raise CommandError(f"pseudonym {pseudonym!r} is in several projects: name one with --project")
            person = matches[0]
            if person.erased_at is None and not yes:
                typer.confirm(
                    f"Erase {pseudonym} for good? Their identity becomes unreadable here and in every "
                    "backup, and older backups lose all identity data",
                    abort=True,
                )
            already = person.erased_at is not None
            identities.erase(Context(session, runtime, None), person_id=person.id)
        if already:
            out.print(f"{pseudonym} was already erased; completing the destruction of older key versions.")
        with _progress("re-wrapping identity") as progress:
            result = data_keys.shred_zone_history(runtime, Zone.IDENTITY, progress=progress)
    out.print(f"Erased {pseudonym}. {_report(result)}")
