"""`harbour audit`: verify the chain and export signed checkpoints to keep off the server.

`app.cli` imports this module to register it, so the helpers of `app.cli` (`opened`, `out`, `CommandError`)
are imported inside the commands, when both modules are complete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from app.audit import service as audit_log
from crypto.signing import fingerprint

audit_cli = typer.Typer(help="Verify and checkpoint the audit log.", no_args_is_help=True)


def _read_checkpoint(path: Path) -> audit_log.Checkpoint:
    from app.cli import CommandError

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read checkpoint file {path}: {type(exc).__name__}") from None
    return audit_log.Checkpoint.from_json(text)


@audit_cli.command("verify")
def verify(
    checkpoint: Annotated[
        Path | None, typer.Option(help="A checkpoint file exported earlier and kept off the server.")
    ] = None,
) -> None:
    """Recompute the hash chain, check the checkpoints and name the first entry that does not match."""
    from app.cli import opened, out

    external = _read_checkpoint(checkpoint) if checkpoint is not None else None
    with opened(read_only=True) as (runtime, session):
        report = audit_log.verify(session, keys=runtime.keys, external=external)
    if not report.ok:
        out.print(
            f"AUDIT LOG DOES NOT VERIFY: first bad entry seq {report.first_bad_seq} ({report.problem})",
            markup=False,
        )
        raise typer.Exit(1)
    head = report.head_seq if report.head_seq is not None else "-"
    out.print(f"Audit log verified: {report.entries} entries, head at seq {head}", markup=False)


@audit_cli.command("checkpoint")
def checkpoint(
    out_file: Annotated[Path, typer.Option("--out", help="The file to write (it must not exist).")],
) -> None:
    """Sign the current head and write the checkpoint to a new file (mode 0600) to keep off the server."""
    from app.cli import CommandError, opened, out

    if out_file.exists():
        raise CommandError(f"{out_file} already exists: refusing to overwrite it")
    with opened(unlock=True) as (runtime, session):
        made = audit_log.checkpoint(session, keys=runtime.keys)
        try:
            # O_EXCL: never overwrite, even if the file appeared since the check above.
            fd = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CommandError(f"{out_file} already exists: refusing to overwrite it") from None
        except OSError as exc:
            raise CommandError(f"cannot write {out_file}: {type(exc).__name__}") from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(made.to_json())
    out.print(f"Checkpoint at seq {made.seq} written to {out_file}", markup=False)
    out.print(f"Signing key fingerprint: {fingerprint(made.public_key)}", markup=False)
