"""`harbour backup PATH` and `harbour restore PATH`.

`app.cli` imports this module to register both commands, so the helpers of `app.cli` (`opened`, `settings`,
`out`, `CommandError`) are imported inside the commands, when both modules are complete. Output is counts
and ids only, never a value. See `app.backup.service` for what a backup holds and how restore verifies.

Exit codes of `restore`: 0 restored and verified; 1 refused (nothing changed) or restored but verification
failed (the message says which); 3 restored, but the keys were not available, so nothing encrypted was
checked (a server on it starts sealed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.backup import service

SEALED_EXIT = 3


def _progress(stage: str) -> None:
    from app.cli import out

    out.print(f"... {stage}", markup=False)


def backup_command(
    path: Annotated[Path, typer.Argument(help="The archive to write (a new file; never overwritten).")],
) -> None:
    """Write a consistent online backup (database ciphertext only; never the key store) to a new file."""
    from app.cli import opened, out

    # The transaction `opened` holds stays unused (it takes no lock); the backup commits its audit entry
    # through runtime.sessions before the snapshot.
    with opened(unlock=True) as (runtime, _session):
        result = service.backup(runtime, path, progress=_progress)
    manifest = result.manifest
    out.print(
        f"Backup written to {result.path} ({result.size} bytes; {manifest.backend} database and "
        f"{len(manifest.members) - 1} other files; schema {manifest.schema_revision}).",
        markup=False,
    )
    out.print(
        f"Audit entry backup.created at seq {result.audit_seq}; backup id {manifest.backup_id}.", markup=False
    )
    out.print(
        f"The key store is NOT in the backup: keep it apart (provider {manifest.key_provider}, "
        f"audit key fingerprint {manifest.audit_key_fingerprint}).",
        markup=False,
    )


def restore_command(
    path: Annotated[Path, typer.Argument(help="The archive to restore.")],
) -> None:
    """Restore a backup into a fresh data directory and empty database, then verify every encrypted value."""
    from app.cli import out, settings

    report = service.restore(settings(), path, progress=_progress)
    manifest = report.manifest
    out.print(
        f"Restored backup {manifest.backup_id} of {manifest.created} ({manifest.backend}; "
        f"every checksum verified).",
        markup=False,
    )
    if report.migrated_from is not None:
        out.print(f"Migrated the schema from {report.migrated_from} to head.", markup=False)
    if report.sealed:
        out.print(
            f"sealed: keys not available; {report.encrypted_values} encrypted values not checked "
            f"({report.sealed_reason}). The backup needs the key store with audit key fingerprint "
            f"{manifest.audit_key_fingerprint}; a server on this data directory starts sealed.",
            markup=False,
        )
        for problem in report.problems:
            out.print(f"problem: {problem}", markup=False)
        raise typer.Exit(SEALED_EXIT)
    audit = report.audit
    if audit is not None and audit.ok:
        out.print(f"Audit log verified: {audit.entries} entries, head at seq {audit.head_seq}.", markup=False)
    elif audit is not None:
        out.print(
            f"AUDIT LOG DOES NOT VERIFY: first bad entry seq {audit.first_bad_seq} ({audit.problem}).",
            markup=False,
        )
    values, keys = report.values, report.data_keys
    out.print(
        f"Data keys: {keys.ok} unwrapped, {keys.erased} erased, {keys.failed} failed. "
        f"Encrypted values: {values.ok} decrypted, {values.erased} erased (crypto-shredded), "
        f"{values.failed} failed, of {values.total}.",
        markup=False,
    )
    for column, counts in sorted(report.columns.items()):
        if counts.failed:
            out.print(f"  {column}: {counts.failed} of {counts.total} fail to decrypt", markup=False)
    for problem in report.problems:
        out.print(f"problem: {problem}", markup=False)
    if not report.verified:
        out.print("RESTORED, BUT VERIFICATION FAILED: do not rely on this copy.", markup=False)
        raise typer.Exit(1)
    out.print("Restore verified.", markup=False)
