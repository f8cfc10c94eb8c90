"""`harbour backup` and `harbour restore`: SECURITY-TESTS.md tests 2 (backup without key) and 7 (erasure holds
against an old backup), refusals, an online snapshot and a canary scan of the archive."""

from __future__ import annotations

import base64
import io
import json
import re
import sqlite3
import stat
import tarfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, select

from app import migrate
from app.audit.models import AuditEvent
from app.backup import service as backups
from app.context import Context
from app.identities import service as identities
from app.main import create_app
from app.projects import service as projects
from app.runtime import Runtime
from app.settings import Settings
from tests.backup.conftest import (
    COUNTED,
    PROJECT,
    Installation,
    fresh_target,
    plaintext_digests,
    populate,
    row_count,
    use_target,
)
from tests.cli_support import Harbour
from tests.databases import DatabaseFactory
from tests.security.canaries import files, hits


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {
            info.name: (tar.extractfile(info) or io.BytesIO()).read()
            for info in tar.getmembers()
            if info.isreg()
        }


def _snapshot(harbour: Harbour) -> tuple[dict[tuple[str, str, str], str], dict[str, int]]:
    with harbour.context() as ctx:
        digests = plaintext_digests(ctx.session, ctx.runtime.keys)
        counts = {model.__name__: row_count(ctx.session, model) for model in COUNTED}
    return digests, counts


def _key_material(data_dir: Path) -> list[bytes]:
    """The root key (raw, hex, base64) and every wrapped KEK in the key store (as stored and decoded)."""
    root = (data_dir / "keys" / "root.key").read_bytes()
    forms = [root, root.hex().encode(), base64.b64encode(root)]
    document = json.loads((data_dir / "keys" / "keystore.json").read_text())
    for versions in document["zones"].values():
        for version in versions:
            if version.get("wrapped"):
                forms += [version["wrapped"].encode(), base64.b64decode(version["wrapped"])]
    return forms


def _one_line_error(result_err: str, needle: str) -> None:
    lines = result_err.strip().splitlines()
    assert len(lines) == 1, result_err
    assert lines[0].startswith("error: ")
    assert needle in lines[0]


def _backup(harbour: Harbour, tmp_path: Path, name: str = "harbour.tar") -> Path:
    target = tmp_path / name
    result = harbour("backup", str(target))
    assert result.code == 0, result.err
    assert "Backup written to" in result.out
    return target


def test_round_trip_with_keys_restores_every_value_and_holds_no_key_material(
    harbour: Harbour, databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    made = populate(harbour)
    before, counts = _snapshot(harbour)
    assert len(before) > 100  # identities, transcript, codebook, memos: real ciphertext
    archive = _backup(harbour, tmp_path)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp left

    members = _members(archive)
    database = "database/harbour.sqlite" if databases.backend == "sqlite" else "database/harbour.pgdump"
    assert set(members) == {"manifest.json", "manifest.sha256", database}
    manifest = json.loads(members["manifest.json"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", manifest["created"])  # a day, no time
    assert manifest["backend"] == databases.backend
    assert manifest["keys"]["provider"] == "file"
    assert manifest["keys"]["data_key_versions"]["identity"] == [1]
    raw = archive.read_bytes()
    for secret in _key_material(harbour.data_dir):
        assert secret not in raw
        assert all(secret not in content for content in members.values())
    with harbour.context() as ctx:
        head = ctx.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
        assert (head.action, head.object_id) == ("backup.created", manifest["backup_id"])
    assert manifest["audit_head"] == {"seq": head.seq, "hash": head.entry_hash.hex()}

    target = fresh_target(tmp_path, databases, "withkeys", keys_from=harbour.data_dir)
    use_target(monkeypatch, target)
    result = harbour("restore", str(archive))
    assert result.code == 0, result.out + result.err
    assert "Restore verified." in result.out
    assert f"{len(before)} decrypted, 0 erased (crypto-shredded), 0 failed, of {len(before)}" in result.out
    after, restored_counts = _snapshot(harbour)
    assert after == before
    assert restored_counts == counts
    with harbour.context() as ctx:
        actions = [e.action for e in ctx.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        assert actions[-2:] == ["backup.created", "backup.restored"]
        for pseudonym, name in made.persons.items():
            [person] = identities.list_by_pseudonym(ctx.session, pseudonym)
            read = identities.read_identity(ctx, person.id)
            assert read.legal_name is not None
            assert read.legal_name.reveal() == name
    verify = harbour("audit", "verify")
    assert verify.code == 0, verify.out
    assert all(p.name == "keys" or p.name.startswith("harbour.db") for p in target.data_dir.iterdir())


def test_restore_without_keys_loads_the_data_and_the_server_starts_sealed(
    harbour: Harbour, databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    made = populate(harbour)
    before, _ = _snapshot(harbour)
    token = harbour("users", "token", "ivy", "--expires", "1h")
    assert token.code == 0, token.err
    bearer = token.out.strip()
    with harbour.context() as ctx:
        [person] = identities.list_by_pseudonym(ctx.session, next(iter(made.persons)))
        person_id = person.id
    archive = _backup(harbour, tmp_path)

    target = fresh_target(tmp_path, databases, "nokeys")
    use_target(monkeypatch, target)
    result = harbour("restore", str(archive))
    assert result.code == 3, result.out + result.err
    assert f"sealed: keys not available; {len(before)} encrypted values not checked" in result.out
    assert not (target.data_dir / "keys").exists()

    settings = Settings()
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json() == {"status": "unavailable", "database": "ok", "keys": "sealed"}
        auth = {"Authorization": f"Bearer {bearer}"}
        for path in (
            f"/api/v1/persons/{person_id}/identity",
            f"/api/v1/persons/{person_id}",
            f"/api/v1/interviews/{made.interview_id}/transcripts/latest/identified",
        ):
            response = client.get(path, headers=auth)
            assert response.status_code == 503, (path, response.text)
            assert response.json()["error"]["code"] == "unavailable"
            assert not hits({path: response.content}, made.canaries)
    # Nothing restored holds a plaintext: not the archive, not the data directory, not the database.
    artefacts = files(target.data_dir) | {"archive": archive.read_bytes()}
    assert hits(artefacts, made.canaries) == []
    # And the same archive opens fully once the key store is there.
    with_keys = fresh_target(tmp_path, databases, "laterkeys", keys_from=harbour.data_dir)
    use_target(monkeypatch, with_keys)
    assert harbour("restore", str(archive)).code == 0


def test_an_old_backup_restored_after_an_erasure_keeps_the_person_erased(
    harbour: Harbour, databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """SECURITY-TESTS test 7. The key store destroys every identity key version older than the erasure
    (app/keys/service.py), so an older backup loses the identities of EVERYONE in it (the documented price);
    testimony, codings and incidents in it still open."""
    made = populate(harbour)
    before, counts = _snapshot(harbour)
    archive = _backup(harbour, tmp_path)
    victim = next(iter(made.persons))
    erased = harbour("keys", "erase-person", victim, "--yes")
    assert erased.code == 0, erased.err

    target = fresh_target(tmp_path, databases, "aftererase", keys_from=harbour.data_dir)
    use_target(monkeypatch, target)
    report = backups.restore(Settings(), archive)
    assert report.verified, report.problems
    identity = {column: c for column, c in report.columns.items() if column.startswith("person.")}
    assert sum(c.total for c in identity.values()) > 0
    assert all(c.ok == 0 and c.failed == 0 and c.erased == c.total for c in identity.values())
    assert report.data_keys.failed == 0
    assert report.data_keys.erased == len(made.persons)  # every identity key of the old backup
    opened = report.values
    identity_values = sum(1 for table, _, _ in before if table == "person")
    assert (opened.ok, opened.erased, opened.failed) == (len(before) - identity_values, identity_values, 0)
    for column in (
        "transcript_version.pseudonymised_text",
        "coding.memo",
        "code.name",
        "segment.identified_text",
    ):
        assert report.columns[column].ok > 0, column
        assert report.columns[column].ok == report.columns[column].total, column

    with harbour.context() as ctx:
        assert {model.__name__: row_count(ctx.session, model) for model in COUNTED} == counts
        for pseudonym in made.persons:
            [person] = identities.list_by_pseudonym(ctx.session, pseudonym)
            read = identities.read_identity(ctx, person.id)
            assert read.erased
            assert read.legal_name is None
    result = harbour("audit", "verify")
    assert result.code == 0, result.out


def test_backup_refuses_to_overwrite_and_writes_nothing(harbour: Harbour, tmp_path: Path) -> None:
    populate(harbour, people=1)
    target = tmp_path / "existing.tar"
    target.write_bytes(b"keep me")
    with harbour.context() as ctx:
        entries = row_count(ctx.session, AuditEvent)
    result = harbour("backup", str(target))
    assert result.code == 1
    _one_line_error(result.err, "already exists")
    assert target.read_bytes() == b"keep me"
    missing_folder = harbour("backup", str(tmp_path / "no-such-folder" / "b.tar"))
    assert missing_folder.code == 1
    _one_line_error(missing_folder.err, "does not exist")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    with harbour.context() as ctx:
        assert row_count(ctx.session, AuditEvent) == entries  # refused before the audit entry


def test_backup_without_keys_fails_rather_than_go_unrecorded(harbour: Harbour, tmp_path: Path) -> None:
    populate(harbour, people=1)
    (harbour.data_dir / "keys" / "root.key").rename(tmp_path / "root.key.away")
    result = harbour("backup", str(tmp_path / "b.tar"))
    assert result.code == 1
    _one_line_error(result.err, "keys are sealed")
    assert not (tmp_path / "b.tar").exists()


def _nothing_written(target: Path, databases: DatabaseFactory, url: str | None) -> None:
    assert not target.exists() or [p.name for p in target.iterdir()] == ["keys"]
    if url is not None:
        engine = create_engine(url)
        try:
            assert inspect(engine).get_table_names() == []
        finally:
            engine.dispose()


def _corruptions(archive: Path) -> list[tuple[str, bytes]]:
    """Copies of the archive with one byte flipped in every region, and truncated at several lengths."""
    raw = archive.read_bytes()
    with tarfile.open(archive) as tar:
        infos = tar.getmembers()
    offsets = {"first header": 100, "manifest body": infos[0].offset_data + 40}
    offsets["manifest digest"] = infos[1].offset_data + 3
    offsets["second header checksum"] = infos[1].offset + 150
    data = infos[2]
    offsets["database start"] = data.offset_data
    offsets["database middle"] = data.offset_data + data.size // 2
    offsets["database end"] = data.offset_data + data.size - 1
    offsets["end blocks"] = len(raw) - 700
    offsets["last byte"] = len(raw) - 1
    cases = []
    for label, at in offsets.items():
        flipped = bytearray(raw)
        flipped[at] ^= 0x01
        cases.append((f"flip {label}", bytes(flipped)))
    for cut in (0, 10, 600, data.offset_data + 1000, len(raw) - 1024, len(raw) - 1):
        cases.append((f"truncated at {cut}", raw[:cut]))
    return cases


def test_restore_refuses_damaged_truncated_and_missing_archives_and_writes_nothing(
    harbour: Harbour, databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    populate(harbour, people=1)
    archive = _backup(harbour, tmp_path)
    target = fresh_target(tmp_path, databases, "refused", keys_from=harbour.data_dir)
    use_target(monkeypatch, target)
    bad = tmp_path / "bad.tar"
    for label, content in _corruptions(archive):
        bad.unlink(missing_ok=True)
        bad.write_bytes(content)
        result = harbour("restore", str(bad))
        assert result.code == 1, label
        _one_line_error(result.err, "")
        assert "Restored" not in result.out, label
        _nothing_written(target.data_dir, databases, target.database_url)
    missing = harbour("restore", str(tmp_path / "nowhere.tar"))
    assert missing.code == 1
    _one_line_error(missing.err, "no backup at")
    not_a_backup = tmp_path / "other.tar"
    with tarfile.open(not_a_backup, "w") as tar:
        tar.add(harbour.data_dir / "keys" / "keystore.json", arcname="manifest.json")
    assert harbour("restore", str(not_a_backup)).code == 1
    _nothing_written(target.data_dir, databases, target.database_url)
    assert harbour("restore", str(archive)).code == 0  # the intact archive still restores there


def test_restore_refuses_a_data_directory_or_database_in_use(
    harbour: Harbour, databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    populate(harbour, people=1)
    archive = _backup(harbour, tmp_path)
    live = Settings()
    # Over the live installation itself (on PostgreSQL its data directory holds only keys/).
    result = harbour("restore", str(archive))
    assert result.code == 1
    _one_line_error(result.err, "already holds data" if databases.backend == "sqlite" else "not empty")
    # A fresh data directory, but the live database.
    target = fresh_target(tmp_path, databases, "busydb")
    monkeypatch.setenv("HARBOUR_DATA_DIR", str(target.data_dir))
    monkeypatch.setenv("HARBOUR_DATABASE_URL", live.sqlalchemy_url)
    result = harbour("restore", str(archive))
    assert result.code == 1
    _one_line_error(result.err, "already exists" if databases.backend == "sqlite" else "not empty")
    assert not target.data_dir.exists()
    # A data directory holding something besides the key store.
    target = fresh_target(tmp_path, databases, "busydir", keys_from=harbour.data_dir)
    (target.data_dir / "notes.txt").write_text("operator notes")
    use_target(monkeypatch, target)
    result = harbour("restore", str(archive))
    assert result.code == 1
    _one_line_error(result.err, "already holds data")
    assert sorted(p.name for p in target.data_dir.iterdir()) == ["keys", "notes.txt"]


def test_a_backup_taken_during_an_open_write_transaction_is_consistent(
    harbour: Harbour, databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    populate(harbour, people=2)
    settings = Settings()
    runtime = Runtime.open(settings)
    writer = Runtime.open(settings)
    held = writer.sessions()
    try:

        def write_during_snapshot(stage: str) -> None:
            if stage == "snapshot":  # another connection holds an open write transaction from here on
                projects.create(Context(held, writer, None), name="uncommitted")
                held.flush()

        archive = tmp_path / "online.tar"
        result = backups.backup(runtime, archive, progress=write_during_snapshot)
        held.commit()  # the writer finishes after the snapshot
    finally:
        held.close()
        writer.close()
        runtime.close()
    with harbour.context() as ctx:  # the live installation has it, and its chain still verifies
        assert projects.get_by_name_or_raise(ctx.session, name="uncommitted")
    if databases.backend == "sqlite":
        snapshot = tmp_path / "snapshot.sqlite"
        snapshot.write_bytes(_members(archive)["database/harbour.sqlite"])
        with sqlite3.connect(snapshot) as check:
            assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    target = fresh_target(tmp_path, databases, "online", keys_from=harbour.data_dir)
    use_target(monkeypatch, target)
    restored = harbour("restore", str(archive))
    assert restored.code == 0, restored.out + restored.err
    with harbour.context() as ctx:
        names = [p.name for p in projects.list_all(ctx.session)]
        assert names == [PROJECT]  # the uncommitted write is not in the backup
        events = list(ctx.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        assert events[-2].object_id == result.manifest.backup_id
        assert events[-2].seq == result.audit_seq == result.manifest.audit_head_seq


def test_no_canary_appears_in_the_archive_or_its_members(
    harbour: Harbour, databases: DatabaseFactory, tmp_path: Path
) -> None:
    made: Installation = populate(harbour, people=4)
    with harbour.context() as ctx:  # the canaries are really stored, as ciphertext
        [person] = identities.list_by_pseudonym(ctx.session, next(iter(made.persons)))
        read = identities.read_identity(ctx, person.id)
        assert read.legal_name is not None
        assert read.legal_name.reveal() == made.name(0)
    archive = _backup(harbour, tmp_path)
    members = _members(archive)
    artefacts = {"archive": archive.read_bytes(), **members}
    assert hits(artefacts, made.canaries) == []
    # The scan does see inside the database member (compressed by pg_dump): the clear pseudonyms are found.
    database = "database/harbour.sqlite" if databases.backend == "sqlite" else "database/harbour.pgdump"
    found = hits({database: members[database]}, list(made.persons))
    assert sorted(pseudonym for _, pseudonym in found) == sorted(made.persons)


def test_an_archive_of_an_older_schema_is_migrated_to_head_on_restore(
    harbour: Harbour, databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    populate(harbour, people=1)
    settings = Settings()
    runtime = Runtime.open(settings)
    try:
        head = migrate.head_revision(runtime.engine)
        migrate.downgrade(runtime.engine, "-1")
        older = migrate.current_revision(runtime.engine)
        assert older != head
        made = backups.backup(runtime, tmp_path / "older.tar")
    finally:
        runtime.close()
    assert made.manifest.schema_revision == older
    target = fresh_target(tmp_path, databases, "older", keys_from=harbour.data_dir)
    use_target(monkeypatch, target)
    result = harbour("restore", str(made.path))
    assert result.code == 0, result.out + result.err
    assert f"Migrated the schema from {older} to head." in result.out
    restored = Runtime.open(Settings(), unlock=False)
    try:
        assert migrate.current_revision(restored.engine) == head
    finally:
        restored.close()
