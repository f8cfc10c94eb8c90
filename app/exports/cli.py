"""`harbour export KIND --project NAME --format F --out FILE`: one de-identified export to a new file.

`app.cli` imports this module to register it, so the helpers of `app.cli` (`opened`, `out`, `CommandError`)
are imported inside the command, when both modules are complete.

The file is created exclusively (an existing file is never overwritten) with mode 0600, before any work,
and removed again if the export or its transaction fails: a file left behind always has its audit entry
(`export.<kind>`, written by `registry.run` in the same transaction).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated

import typer

from app.context import Context
from app.exports import registry
from app.projects import service as projects


def export(
    kind: Annotated[str, typer.Argument(help="What to export (e.g. codings, codebook, incidents).")],
    project: Annotated[str, typer.Option(help="Project name.")],
    out_file: Annotated[Path, typer.Option("--out", help="The file to create (never overwritten).")],
    fmt: Annotated[str, typer.Option("--format", help="csv, xlsx, qdpx or qdc, as the kind allows.")],
) -> None:
    """Export de-identified project data to a new file (mode 0600; audited)."""
    from app.cli import CommandError, opened, out

    try:
        registry.get(kind, fmt)  # a one-line error naming what exists, before touching the database
    except registry.UnknownExportError as exc:
        raise CommandError(exc.message) from None
    try:
        fd = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        raise CommandError(f"{out_file} already exists: refusing to overwrite it") from None
    except OSError as exc:
        raise CommandError(f"cannot create {out_file}: {exc.strerror or type(exc).__name__}") from None
    done = False
    try:
        os.fchmod(fd, 0o600)
        with opened() as (runtime, session):
            ctx = Context(session, runtime, None)
            found = projects.get_by_name_or_raise(session, name=project)
            _exporter, data = registry.run(ctx, kind=kind, fmt=fmt, project_id=found.id)
            with os.fdopen(fd, "wb", closefd=False) as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        done = True
    finally:
        os.close(fd)
        if not done:
            with contextlib.suppress(OSError):
                out_file.unlink()
    out.print(f"Exported {kind} of {project} as {fmt} to {out_file} ({len(data)} bytes).", markup=False)
