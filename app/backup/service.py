"""Online backup and verified restore of a Harbour installation.

Threat: backups leave the server, so a backup must be as useless to a thief as the database: it holds the
database exactly as Harbour stores it (identities, testimony and memos only as ciphertext) and NEVER the key
store (the data directory's keys/ folder: root key file, key store, passphrase record), which the operator
keeps apart. Restoring a backup must not silently bring back damaged or erased data: the archive is checked
byte for byte before anything is written (`app.backup.archive`), and the restored data is then verified:
the audit chain is recomputed and every encrypted value of every table is decrypted in memory, its
plaintext discarded at once.

`backup` writes an audit entry (`backup.created`, the backup's random id) and commits it BEFORE the snapshot,
so the backup holds the entry that records it; if the entry cannot be written, no backup is made. The
snapshot is consistent while the server runs: SQLite through the sqlite3 backup API (one read transaction;
writers carry on in WAL mode), PostgreSQL through `pg_dump --format=custom` on a snapshot exported from a
REPEATABLE READ transaction, in which the manifest's facts (schema revision, audit head, key versions) are
read too. The archive is written to a temporary file beside the target (mode 0600), fsynced, and linked to
the target name, which is never overwritten.

`restore` loads an archive into a fresh installation: a data directory that is absent, empty or holds only
the key store, and an absent SQLite file or an empty PostgreSQL database. It migrates an older schema to
head, then verifies. Without keys it still restores, and reports how many encrypted values it could not
check; a server started on it stays sealed. Values whose data key is wrapped under a destroyed key version
(persons erased with `harbour keys erase-person` after the backup) are counted as erased, not as failures.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Table, create_engine, func, make_url, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from app import __version__, migrate
from app.audit import service as audit_log
from app.audit.models import AuditEvent
from app.backup import archive
from app.backup.archive import ArchiveError, Manifest
from app.context import Context
from app.db import Base, make_engine, unit_of_work, utcnow
from app.encryption import EncryptedColumn
from app.errors import AppError
from app.keys import provider as key_provider
from app.keys.models import DataKey
from app.keys.service import wrap_aad
from app.runtime import Runtime
from app.settings import Settings
from crypto import aead
from crypto.errors import CryptoError
from crypto.keyring import KeyStatus, KeyStore, Zone, open_field
from crypto.signing import fingerprint

__all__ = [
    "ArchiveError",
    "BackupError",
    "BackupResult",
    "Counts",
    "RestoreReport",
    "backup",
    "check_target",
    "count_encrypted",
    "data_files",
    "encrypted_tables",
    "restore",
    "verify_encrypted",
]

ProgressFn = Callable[[str], None]
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


class BackupError(AppError):
    """A backup or restore was refused or failed; the message says what, nothing was changed."""

    status_code = 409
    code = "backup_failed"


@dataclass(frozen=True, slots=True)
class BackupResult:
    """What `backup` wrote."""

    path: Path
    size: int
    manifest: Manifest
    audit_seq: int


@dataclass(slots=True)
class Counts:
    """Encrypted values (or data keys) by outcome."""

    ok: int = 0
    erased: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        """All values counted."""
        return self.ok + self.erased + self.failed

    def add(self, outcome: str) -> None:
        """Count one outcome: "ok", "erased" or "failed"."""
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass(slots=True)
class RestoreReport:
    """What `restore` did and found: counts only, never values."""

    manifest: Manifest
    migrated_from: str | None = None
    sealed_reason: str | None = None
    encrypted_values: int = 0
    columns: dict[str, Counts] = field(default_factory=dict)  # "table.column" -> outcomes
    data_keys: Counts = field(default_factory=Counts)
    audit: audit_log.VerifyReport | None = None
    keys_match: bool | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def sealed(self) -> bool:
        """Whether the keys were not available, so nothing encrypted was checked."""
        return self.sealed_reason is not None

    @property
    def values(self) -> Counts:
        """Outcomes over every encrypted column."""
        total = Counts()
        for counts in self.columns.values():
            total.ok += counts.ok
            total.erased += counts.erased
            total.failed += counts.failed
        return total

    @property
    def verified(self) -> bool:
        """Keys available, the audit chain verifies and every value decrypts or was erased."""
        return (
            not self.sealed
            and not self.problems
            and self.audit is not None
            and self.audit.ok
            and self.values.failed == 0
            and self.data_keys.failed == 0
        )


def _note(progress: ProgressFn | None, stage: str) -> None:
    if progress is not None:
        progress(stage)


def _today(clock: Callable[[], datetime]) -> datetime:
    return clock().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


# ---- libpq tools ---------------------------------------------------------------------------------------


def _libpq(sqlalchemy_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and an environment carrying it (never on a command line)."""
    url = make_url(sqlalchemy_url)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run_tool(tool: str, args: list[str], sqlalchemy_url: str) -> None:
    conninfo, env = _libpq(sqlalchemy_url)
    try:
        done = subprocess.run(  # noqa: S603 - fixed tool, arguments are paths and a URL
            [tool, *args, "--dbname", conninfo], env=env, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise BackupError(f"{tool} not found: install the PostgreSQL client tools") from None
    if done.returncode != 0:
        first = next((line for line in done.stderr.splitlines() if line.strip()), "no message")
        raise BackupError(f"{tool} failed (exit {done.returncode}): {first.strip()[:200]}")


# ---- facts read from a snapshot --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Facts:
    revision: str
    head_seq: int | None
    head_hash: str | None
    versions: dict[str, list[int]]


def _facts(connection: Connection) -> _Facts:
    """Schema revision, audit head and the KEK versions data keys are under, as this connection sees them."""
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None:
        raise BackupError("the database has no Harbour schema")
    head = connection.execute(
        select(AuditEvent.seq, AuditEvent.entry_hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    versions: dict[str, list[int]] = {}
    for zone, version in connection.execute(
        select(DataKey.zone, DataKey.kek_version).distinct().order_by(DataKey.zone, DataKey.kek_version)
    ):
        versions.setdefault(str(zone), []).append(int(version))
    return _Facts(
        revision=revision,
        head_seq=None if head is None else int(head[0]),
        head_hash=None if head is None else bytes(head[1]).hex(),
        versions=versions,
    )


def _sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.sqlalchemy_url).database
    if not database or database == ":memory:":
        raise BackupError("backup needs a file database")
    return Path(database)


def _snapshot_sqlite(settings: Settings, out: Path) -> _Facts:
    """A consistent copy through the sqlite3 backup API, checked and in one file (no WAL beside it)."""
    source_path = _sqlite_path(settings)
    if not source_path.is_file():
        raise BackupError(f"no SQLite database at {source_path}")
    source = sqlite3.connect(source_path, timeout=30, isolation_level=None)
    try:
        target = sqlite3.connect(out, isolation_level=None)
        try:
            source.backup(target)  # one step: one read transaction, a consistent snapshot, WAL included
            target.execute("PRAGMA journal_mode = DELETE")
            (integrity,) = target.execute("PRAGMA integrity_check").fetchone()
        finally:
            target.close()
    finally:
        source.close()
    if integrity != "ok":
        raise BackupError("the database copy fails SQLite's integrity check: nothing was written")
    engine = create_engine(f"sqlite:///{out}", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return _facts(connection)
    finally:
        engine.dispose()


def _snapshot_postgresql(settings: Settings, runtime: Runtime, out: Path) -> _Facts:
    """`pg_dump --format=custom` of a snapshot exported from the transaction that reads the facts."""
    with runtime.engine.connect() as connection:
        connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = str(connection.execute(text("SELECT pg_export_snapshot()")).scalar_one())
            facts = _facts(connection)
            _run_tool(
                "pg_dump",
                [
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    "--file",
                    str(out),
                ],
                settings.sqlalchemy_url,
            )
    return facts


# ---- backup ------------------------------------------------------------------------------------------------


def _key_paths(settings: Settings) -> set[Path]:
    """Every file the key provider owns or reads, wherever it lives."""
    paths = {
        settings.keys_dir / key_provider.ROOT_KEY_FILE,
        key_provider.keystore_path(settings),
        settings.keys_dir / key_provider.PASSPHRASE_FILE,
    }
    for extra in (settings.passphrase_file, settings.pkcs11_pin_file):
        if extra is not None:
            paths.add(extra)
    return {path.resolve() for path in paths}


def _is_ciphertext_file(path: Path) -> bool:
    with path.open("rb") as handle:
        start = handle.read(3)
    return start == aead.MAGIC + bytes([aead.FORMAT_VERSION])


def data_files(settings: Settings, *, skip: tuple[Path, ...] = ()) -> dict[str, Path]:
    """Harbour ciphertext files in the data directory (member name -> path): never keys/, never the database.

    Only files that open with the Harbour ciphertext header are taken, so nothing else an operator put in
    the data directory (and certainly no key material) can end up in a backup.
    """
    data_dir = settings.data_dir.resolve()
    if not data_dir.is_dir():
        return {}
    keys_dir = settings.keys_dir.resolve()
    excluded = _key_paths(settings)
    if settings.is_sqlite:
        database = _sqlite_path(settings).resolve()
        excluded |= {database, *(database.with_name(database.name + side) for side in _SQLITE_SIDE_FILES)}
    skipped = tuple(path.resolve() for path in skip)
    found: dict[str, Path] = {}
    for path in sorted(data_dir.rglob("*")):
        resolved = path.resolve()
        if (
            path.is_symlink()
            or not path.is_file()
            or resolved in excluded
            or resolved.is_relative_to(keys_dir)
            or any(resolved == s or resolved.is_relative_to(s) for s in skipped)
            or not _is_ciphertext_file(path)
        ):
            continue
        name = archive.FILES_PREFIX + path.relative_to(data_dir).as_posix()
        archive.member_name(name)
        found[name] = path
    return found


def _refuse_target(target: Path) -> None:
    if os.path.lexists(target):
        raise BackupError(f"{target} already exists: refusing to overwrite it")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")


def _record_backup(runtime: Runtime, backup_id: uuid.UUID) -> int:
    """Write and commit the `backup.created` entry; its sequence number."""
    with unit_of_work(runtime.sessions) as session:
        Context(session, runtime, None).audit("backup.created", object_type="backup", object_id=backup_id)
        session.flush()
        seq = session.scalar(
            select(AuditEvent.seq).where(
                AuditEvent.action == "backup.created", AuditEvent.object_id == str(backup_id)
            )
        )
    if seq is None:  # pragma: no cover - the entry was just flushed
        raise BackupError("the audit entry for the backup was not written")
    return int(seq)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(
    runtime: Runtime,
    target: Path,
    *,
    progress: ProgressFn | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> BackupResult:
    """Write a consistent backup archive of the running installation to a new file (audited first)."""
    settings = runtime.settings
    target = target.absolute()
    _refuse_target(target)
    keys = runtime.keys
    backup_id = uuid.uuid4()
    audit_seq = _record_backup(runtime, backup_id)
    _note(progress, "audit entry written")
    day = _today(clock)
    work = Path(tempfile.mkdtemp(prefix=".harbour-backup-", dir=target.parent))
    partial: Path | None = None
    try:
        _note(progress, "snapshot")
        if settings.is_sqlite:
            database = work / "harbour.sqlite"
            facts = _snapshot_sqlite(settings, database)
            sources = {archive.SQLITE_MEMBER: database}
        else:
            database = work / "harbour.pgdump"
            facts = _snapshot_postgresql(settings, runtime, database)
            sources = {archive.PGDUMP_MEMBER: database}
        sources |= data_files(settings, skip=(work, target))
        _note(progress, "checksums")
        manifest = Manifest(
            backup_id=str(backup_id),
            created=day.date().isoformat(),
            harbour_version=__version__,
            schema_revision=facts.revision,
            backend="sqlite" if settings.is_sqlite else "postgresql",
            audit_head_seq=facts.head_seq,
            audit_head_hash=facts.head_hash,
            key_provider=settings.key_provider,
            audit_key_fingerprint=fingerprint(audit_log.public_key(keys)),
            data_key_versions=facts.versions,
            members={name: archive.file_digest(path) for name, path in sources.items()},
        )
        _note(progress, "archive")
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        partial = Path(name)
        with os.fdopen(fd, "wb") as handle:
            archive.write(handle, manifest, sources, mtime=int(day.timestamp()))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(partial, target)  # atomic, and never replaces a file that appeared meanwhile
        except FileExistsError:
            raise BackupError(f"{target} already exists: refusing to overwrite it") from None
        _fsync_dir(target.parent)
        size = target.stat().st_size
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return BackupResult(path=target, size=size, manifest=manifest, audit_seq=audit_seq)


# ---- verification of encrypted data ----------------------------------------------------------------


def encrypted_tables() -> list[tuple[Table, list[str]]]:
    """Every table with encrypted columns, and those columns, from the one metadata."""
    import app.models  # noqa: F401 - registers every table in the metadata

    found: list[tuple[Table, list[str]]] = []
    for table in Base.metadata.sorted_tables:
        columns = [column.name for column in table.columns if isinstance(column.type, EncryptedColumn)]
        if columns:
            if "id" not in table.c:  # pragma: no cover - every sealed row has a uuid id (its AAD)
                raise RuntimeError(f"{table.name} has encrypted columns but no id")
            found.append((table, columns))
    return found


def count_encrypted(session: Session) -> int:
    """How many encrypted values the database holds (no keys needed)."""
    total = 0
    for table, columns in encrypted_tables():
        for column in columns:
            total += int(session.scalar(select(func.count(table.c[column]))) or 0)
    return total


class _DataKeys:
    """Data keys by id, unwrapped once; "erased" for keys under destroyed KEK versions, "failed" otherwise."""

    def __init__(self, session: Session, keys: KeyStore) -> None:
        self._session = session
        self._keys = keys
        self._status = {(row.zone, row.version): row.status for row in keys.zone_status()}
        self._cache: dict[uuid.UUID, bytes | str] = {}

    def outcome(self, row: DataKey) -> bytes | str:
        """The unwrapped DEK of a row, or the outcome that stands for it."""
        try:
            zone = Zone(row.zone)
            version = self._keys.wrapped_version(row.wrapped)
        except (CryptoError, ValueError):
            return "failed"
        status = self._status.get((zone, version))
        if status is KeyStatus.DESTROYED:
            return "erased"
        if status not in (KeyStatus.PRIMARY, KeyStatus.ACTIVE):
            return "failed"  # retired, or a version this key store does not know
        try:
            return self._keys.unwrap_dek(zone, row.wrapped, aad=wrap_aad(row.id))
        except CryptoError:
            return "failed"

    def get(self, dek_id: uuid.UUID) -> bytes | str:
        """The DEK with this id (cached), or its outcome."""
        if dek_id not in self._cache:
            row = self._session.get(DataKey, dek_id)
            self._cache[dek_id] = "failed" if row is None else self.outcome(row)
        return self._cache[dek_id]

    def check_all(self) -> Counts:
        """Unwrap every data key in the database."""
        counts = Counts()
        for row in self._session.scalars(select(DataKey)):
            result = self.outcome(row)
            self._cache[row.id] = result
            counts.add("ok" if isinstance(result, bytes) else result)
        return counts


def verify_encrypted(session: Session, keys: KeyStore) -> tuple[Counts, dict[str, Counts]]:
    """Unwrap every data key and decrypt every encrypted value in memory; counts by outcome, no values."""
    deks = _DataKeys(session, keys)
    data_keys = deks.check_all()
    columns: dict[str, Counts] = {}
    for table, names in encrypted_tables():
        for name in names:
            counts = columns.setdefault(f"{table.name}.{name}", Counts())
            rows = session.execute(
                select(table.c.id, table.c[name]).where(table.c[name].is_not(None))
            ).yield_per(500)
            for row_id, sealed in rows:
                counts.add(_open_one(deks, table.name, name, row_id, sealed.blob))
    return data_keys, columns


def _open_one(deks: _DataKeys, table: str, column: str, row_id: uuid.UUID, blob: bytes) -> str:
    try:
        dek = deks.get(aead.read_header(blob).key_id)
        if isinstance(dek, str):
            return dek
        open_field(dek, blob, aad=aead.aad_for(table, column, row_id))  # plaintext dropped at once
    except CryptoError:
        return "failed"
    return "ok"


# ---- restore ---------------------------------------------------------------------------------------


def _check_revision(manifest: Manifest) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(config)
    try:
        known = script.get_revision(manifest.schema_revision) is not None
    except Exception:  # alembic raises several kinds for an unknown or malformed revision
        known = False
    if not known:
        raise BackupError(
            f"the backup's schema revision {manifest.schema_revision} is unknown to this Harbour "
            f"({__version__}): restore it with the Harbour version that made it ({manifest.harbour_version})"
        )


def _postgres_is_empty(url: str) -> bool:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM pg_catalog.pg_class c"
                    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
                    " AND n.nspname NOT LIKE 'pg\\_%')"
                    " + (SELECT count(*) FROM pg_catalog.pg_proc p"
                    " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
                    " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
                    " AND n.nspname NOT LIKE 'pg\\_%')"
                )
            ).scalar_one()
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot open the target database ({type(exc).__name__})") from None
    finally:
        engine.dispose()
    return int(found) == 0


def check_target(settings: Settings, manifest: Manifest) -> None:
    """Refuse anything but a fresh installation of the archive's backend (nothing is changed)."""
    backend = "sqlite" if settings.is_sqlite else "postgresql"
    if manifest.backend != backend:
        raise BackupError(
            f"this is a {manifest.backend} backup but HARBOUR_DATABASE_URL names a {backend} database"
        )
    data_dir = settings.data_dir
    if data_dir.exists():
        if not data_dir.is_dir():
            raise BackupError(f"{data_dir} is not a directory")
        other = sorted(child.name for child in data_dir.iterdir() if child.name != "keys")
        if other:
            raise BackupError(
                f"{data_dir} already holds data: restore needs a fresh data directory (only keys/ in it)"
            )
    if settings.is_sqlite:
        database = _sqlite_path(settings)
        if any(
            os.path.lexists(database.with_name(database.name + side)) for side in ("", *_SQLITE_SIDE_FILES)
        ):
            raise BackupError(f"{database} already exists: restore needs an absent database file")
    elif not _postgres_is_empty(settings.sqlalchemy_url):
        raise BackupError("the target database is not empty: restore needs an empty database")


@contextlib.contextmanager
def _new_files(paths: dict[str, Path]) -> Iterator[dict[str, IO[bytes]]]:
    """New files (O_EXCL, mode 0600) for members; all removed again if the block fails."""
    handles: dict[str, IO[bytes]] = {}
    try:
        for name, path in paths.items():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            handles[name] = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        yield handles
        for handle in handles.values():
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        for name in handles:
            paths[name].unlink(missing_ok=True)
        raise
    finally:
        for handle in handles.values():
            handle.close()


def _load(settings: Settings, path: Path, manifest: Manifest) -> None:
    """Extract the members into the fresh installation, hashing again as they are written."""
    data_dir = settings.data_dir
    targets = {
        name: data_dir / name[len(archive.FILES_PREFIX) :]
        for name in manifest.members
        if name.startswith(archive.FILES_PREFIX)
    }
    work = Path(tempfile.mkdtemp(prefix=".restore-", dir=data_dir))
    try:
        database = work / Path(manifest.database_member).name
        with _new_files({**targets, manifest.database_member: database}) as sinks:
            archive.read(path, sinks=sinks)
        if settings.is_sqlite:
            final = _sqlite_path(settings)
            final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.link(database, final)
            _fsync_dir(final.parent)
        else:
            _run_tool(
                "pg_restore",
                ["--exit-on-error", "--single-transaction", "--no-owner", "--no-privileges", str(database)],
                settings.sqlalchemy_url,
            )
    except BaseException:
        for target in targets.values():
            target.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _head(runtime: Runtime) -> tuple[int | None, str | None]:
    with runtime.engine.connect() as connection:
        head = connection.execute(
            select(AuditEvent.seq, AuditEvent.entry_hash).order_by(AuditEvent.seq.desc()).limit(1)
        ).first()
    return (None, None) if head is None else (int(head[0]), bytes(head[1]).hex())


def _verify(runtime: Runtime, report: RestoreReport) -> None:
    """With keys: the audit chain, every data key and every encrypted value; then the audit entry."""
    keys = runtime.keys
    manifest = report.manifest
    report.keys_match = manifest.audit_key_fingerprint == fingerprint(audit_log.public_key(keys))
    if not report.keys_match:
        report.problems.append("the unlocked key store is not the one this backup was made with")
    with unit_of_work(runtime.sessions) as session:
        session.connection(execution_options={"read_only": True})
        report.audit = audit_log.verify(session, keys=keys)
        found = session.scalar(
            select(func.count()).where(
                AuditEvent.action == "backup.created", AuditEvent.object_id == manifest.backup_id
            )
        )
        if not found:
            report.problems.append("the backup's own audit entry is missing")
        report.data_keys, report.columns = verify_encrypted(session, keys)
    outcome = audit_log.Outcome.OK if report.verified else audit_log.Outcome.FAILED
    with unit_of_work(runtime.sessions) as session:
        Context(session, runtime, None).audit(
            "backup.restored", object_type="backup", object_id=uuid.UUID(manifest.backup_id), outcome=outcome
        )


def restore(settings: Settings, path: Path, *, progress: ProgressFn | None = None) -> RestoreReport:
    """Check the archive, load it into a fresh installation, migrate it to head, then verify what it holds."""
    _note(progress, "checking the archive")
    manifest = archive.read(path)
    _check_revision(manifest)
    check_target(settings, manifest)
    _note(progress, "restoring")
    created_dir = not settings.data_dir.exists()
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        _load(settings, path, manifest)
    except BaseException:
        if created_dir:
            shutil.rmtree(settings.data_dir, ignore_errors=True)
        raise
    report = RestoreReport(manifest=manifest)
    runtime = Runtime.open(settings, unlock=False)
    try:
        if _head(runtime) != (manifest.audit_head_seq, manifest.audit_head_hash):
            report.problems.append("the restored audit head is not the one the manifest records")
        current = migrate.current_revision(runtime.engine)
        if current != migrate.head_revision(runtime.engine):
            _note(progress, "migrating")
            migrate.upgrade(runtime.engine)
            report.migrated_from = current
        runtime.unlock()
        if runtime.keystore is None:
            report.sealed_reason = runtime.sealed_reason or "keys not available"
            with unit_of_work(runtime.sessions) as session:
                session.connection(execution_options={"read_only": True})
                report.encrypted_values = count_encrypted(session)
            return report
        _note(progress, "verifying")
        with unit_of_work(runtime.sessions) as session:
            session.connection(execution_options={"read_only": True})
            report.encrypted_values = count_encrypted(session)
        _verify(runtime, report)
    finally:
        runtime.close()
    return report
