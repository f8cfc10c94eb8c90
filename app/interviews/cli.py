"""`harbour interviews list` and `harbour import`: the same services as the API, as the operator (system).

`app.cli` imports this module to register it, so the helpers of `app.cli` (`opened`, `out`, `CommandError`)
are imported inside the commands, when both modules are complete.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer

from app.context import Context
from app.interviews import service as interviews
from app.projects import service as projects

interviews_cli = typer.Typer(help="List interviews (no identities).", no_args_is_help=True)


@interviews_cli.command("list")
def list_interviews(project: Annotated[str, typer.Option(help="Project name.")]) -> None:
    """One interview a line, its id first: interviewee pseudonym, month, mode, status (no identities)."""
    from app.cli import opened, out

    with opened() as (runtime, session):
        ctx = Context(session, runtime, None)
        found = projects.get_by_name_or_raise(session, name=project)
        rows = interviews.list(ctx, project_id=found.id)
        ctx.audit("interview.list", object_type="project", object_id=found.id, project_id=found.id)
    for row in rows:
        version = f"v{row.latest_version}" if row.latest_version else "-"
        fields = (row.interviewee_pseudonym, row.interview_month, row.mode, row.status, version)
        out.print(
            f"{row.id}  " + "  ".join(fields),
            markup=False,
            soft_wrap=True,
        )
    if not rows:
        out.print(f"No interviews in {project}.", markup=False)


def import_transcript(
    file: Annotated[
        Path, typer.Argument(help="The transcript file (txt, md, vtt, srt, json, docx, odt, pdf).")
    ],
    interview: Annotated[str, typer.Option(help="The interview id (see `harbour interviews list`).")],
) -> None:
    """Import a transcript as the interview's next version (parsed, pseudonymised, sealed; audited)."""
    from app.cli import CommandError, opened, out

    try:
        interview_id = uuid.UUID(interview)
    except ValueError:
        raise CommandError("--interview must be an interview id (see `harbour interviews list`)") from None
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {file}: {type(exc).__name__}") from None
    with opened() as (runtime, session):
        ctx = Context(session, runtime, None)
        version = interviews.upload(ctx, interview_id=interview_id, filename=file.name, data=data)
        turns, flags = interviews.counts(session, version_id=version.id)
        number = version.version
    out.print(
        f"Imported version {number}: {turns} turns, {flags} flagged identifiers to review.", markup=False
    )
