"""`harbour audit verify` and `harbour audit checkpoint` as an operator or auditor meets them."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from app.audit import service as audit_log
from app.db import unit_of_work
from app.runtime import Runtime
from app.settings import Settings
from crypto.signing import fingerprint
from tests.audit import helpers
from tests.cli_support import Harbour, harbour_env
from tests.databases import DatabaseFactory


class AuditHarbour(Harbour):
    """The command, plus ways to append entries and to tamper with them as an insider would."""

    base = 0  # entries already in the log after `harbour init`

    def record(self, count: int) -> None:
        """Append entries as the running application would."""
        runtime = Runtime.open(Settings())
        try:
            with unit_of_work(runtime.sessions) as session:
                for _ in range(count):
                    audit_log.record(
                        session, keys=runtime.keys, action="login", actor_id=uuid.uuid4(), actor_role="coder"
                    )
        finally:
            runtime.close()

    def tamper(self, seq: int) -> None:
        """Edit one entry directly in the database, as an insider would."""
        runtime = Runtime.open(Settings(), unlock=False)
        try:
            with unit_of_work(runtime.sessions) as session:
                helpers.disable_triggers(session)
                session.execute(
                    text("UPDATE audit_event SET action = 'edited' WHERE seq = :seq"), {"seq": seq}
                )
        finally:
            runtime.close()


@pytest.fixture
def harbour(
    tmp_path: Path,
    databases: DatabaseFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> AuditHarbour:
    """An initialised Harbour on a fresh data directory and database of the backend under test."""
    command = AuditHarbour(harbour_env(tmp_path, databases, monkeypatch, label="audit_cli"), capsys)
    assert command("init").code == 0
    command.base = _head()
    return command


def test_verify_reports_the_entries_and_head(harbour: AuditHarbour) -> None:
    harbour.record(3)
    head = harbour.base + 3

    result = harbour("audit", "verify")
    assert result.code == 0, result.err
    assert f"Audit log verified: {head} entries, head at seq {head}" in result.out


def test_checkpoint_writes_a_private_file_once_and_verify_checks_it(
    harbour: AuditHarbour, tmp_path: Path
) -> None:
    harbour.record(2)
    out_file = tmp_path / "checkpoint.json"

    result = harbour("audit", "checkpoint", "--out", str(out_file))
    assert result.code == 0, result.err
    saved = audit_log.Checkpoint.from_json(out_file.read_text())
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    assert f"seq {saved.seq}" in result.out
    assert fingerprint(saved.public_key) in result.out

    again = harbour("audit", "checkpoint", "--out", str(out_file))
    assert again.code == 1
    assert "refusing to overwrite" in again.err
    assert audit_log.Checkpoint.from_json(out_file.read_text()) == saved

    harbour.record(1)
    assert harbour("audit", "verify", "--checkpoint", str(out_file)).code == 0


def test_verify_names_the_first_bad_entry_and_fails(harbour: AuditHarbour, tmp_path: Path) -> None:
    harbour.record(5)
    harbour.tamper(harbour.base + 2)

    result = harbour("audit", "verify")
    assert result.code == 1
    assert (
        f"AUDIT LOG DOES NOT VERIFY: first bad entry seq {harbour.base + 2} (entry hash mismatch)"
        in result.out
    )


@pytest.mark.parametrize("content", [None, "not a checkpoint", "{}"])
def test_a_missing_or_bad_checkpoint_file_is_one_line_error(
    harbour: AuditHarbour, tmp_path: Path, content: str | None
) -> None:
    harbour.record(1)
    path = tmp_path / "checkpoint.json"
    if content is not None:
        path.write_text(content)

    result = harbour("audit", "verify", "--checkpoint", str(path))
    assert result.code == 1
    assert result.err.startswith("error: ")
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err + result.out


def _head() -> int:
    """The newest seq (commands other than these may come to audit themselves)."""
    runtime = Runtime.open(Settings(), unlock=False)
    try:
        with unit_of_work(runtime.sessions) as session:
            return helpers.head_seq(session)
    finally:
        runtime.close()
