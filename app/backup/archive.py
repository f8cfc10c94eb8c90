"""The backup archive: a plain ustar file whose every byte is checked before anything is restored.

Threat: a backup travels and is stored where the adversary may reach it (a stolen disk, a courier, a cloud
bucket). It must hold nothing but ciphertext and clear structure (the database as Harbour stores it) and
never the key store; and a damaged or altered archive must be refused before a single byte is written.

Layout (version 1), in this order::

    manifest.json        what the backup is (see `Manifest`), with the SHA-256 and size of every member below
    manifest.sha256      the hex SHA-256 of manifest.json, so the manifest is checked like every other member
    database/harbour.sqlite   (SQLite: a consistent copy made by the sqlite3 backup API)
    database/harbour.pgdump   (PostgreSQL: `pg_dump --format=custom`)
    files/<path>         Harbour ciphertext files of the data directory, if any (never keys/)

Members are regular files in the ustar format (no links, no long-name extensions), with mode 0600, owner 0
and the day of the backup as their time: nothing in the archive is more precise than a day. Reading
(`read`) checks the member names, every member's SHA-256 against the manifest, and that every byte of the
file belongs to a header (tar checksums every header block), a member, or zero padding and the end blocks:
a flipped or truncated byte anywhere makes the archive refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from app.errors import AppError

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "MANIFEST_DIGEST",
    "ArchiveError",
    "Manifest",
    "Member",
    "file_digest",
    "read",
    "write",
]

FORMAT = "harbour-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_DIGEST = "manifest.sha256"
SQLITE_MEMBER = "database/harbour.sqlite"
PGDUMP_MEMBER = "database/harbour.pgdump"
FILES_PREFIX = "files/"
BLOCK = 512
_CHUNK = 1024 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")
_SAFE_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MAX_MANIFEST = 1024 * 1024


class ArchiveError(AppError):
    """The archive is missing, damaged, altered or not a Harbour backup: nothing was restored."""

    status_code = 422
    code = "bad_backup"


@dataclass(frozen=True, slots=True)
class Member:
    """One member of the archive: its SHA-256 and size."""

    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a backup holds: no content, no names, no time finer than a day."""

    backup_id: str
    created: str  # YYYY-MM-DD
    harbour_version: str
    schema_revision: str
    backend: str  # "sqlite" or "postgresql"
    audit_head_seq: int | None
    audit_head_hash: str | None
    key_provider: str
    audit_key_fingerprint: str | None  # names the key store that can open this backup; public
    data_key_versions: dict[str, list[int]]  # zone -> KEK versions the backup's data keys are wrapped under
    members: dict[str, Member] = field(default_factory=dict)

    @property
    def database_member(self) -> str:
        """The member holding the database."""
        return SQLITE_MEMBER if self.backend == "sqlite" else PGDUMP_MEMBER

    def to_json(self) -> bytes:
        """Canonical JSON bytes (sorted keys)."""
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "backup_id": self.backup_id,
            "created": self.created,
            "harbour_version": self.harbour_version,
            "schema_revision": self.schema_revision,
            "backend": self.backend,
            "audit_head": {"seq": self.audit_head_seq, "hash": self.audit_head_hash},
            "keys": {
                "provider": self.key_provider,
                "audit_key_fingerprint": self.audit_key_fingerprint,
                "data_key_versions": self.data_key_versions,
            },
            "members": {
                name: {"sha256": member.sha256, "size": member.size}
                for name, member in sorted(self.members.items())
            },
        }
        return json.dumps(document, sort_keys=True, indent=1).encode("ascii")

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse and check a manifest; ArchiveError on anything unexpected."""
        try:
            document: dict[str, Any] = json.loads(data.decode("ascii"))
            if document["format"] != FORMAT:
                raise ArchiveError("not a Harbour backup (unknown manifest format)")
            if document["format_version"] != FORMAT_VERSION:
                raise ArchiveError(
                    f"backup format version {document['format_version']} is not supported by this Harbour"
                )
            head, keys = document["audit_head"], document["keys"]
            members = {
                str(name): Member(str(entry["sha256"]), int(entry["size"]))
                for name, entry in document["members"].items()
            }
            manifest = cls(
                backup_id=str(document["backup_id"]),
                created=str(document["created"]),
                harbour_version=str(document["harbour_version"]),
                schema_revision=str(document["schema_revision"]),
                backend=str(document["backend"]),
                audit_head_seq=None if head["seq"] is None else int(head["seq"]),
                audit_head_hash=None if head["hash"] is None else str(head["hash"]),
                key_provider=str(keys["provider"]),
                audit_key_fingerprint=(
                    None if keys["audit_key_fingerprint"] is None else str(keys["audit_key_fingerprint"])
                ),
                data_key_versions={
                    str(zone): [int(v) for v in versions]
                    for zone, versions in keys["data_key_versions"].items()
                },
                members=members,
            )
        except ArchiveError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            raise ArchiveError("the backup manifest is damaged") from None
        if manifest.backend not in ("sqlite", "postgresql"):
            raise ArchiveError("the backup manifest names an unknown database backend")
        if manifest.database_member not in manifest.members:
            raise ArchiveError("the backup manifest lists no database")
        for name, member in manifest.members.items():
            member_name(name)
            if not _HEX64.fullmatch(member.sha256) or member.size < 0:
                raise ArchiveError("the backup manifest is damaged")
        return manifest


def member_name(name: str) -> str:
    """Check a member name: one of the fixed names, or files/ and a plain relative path outside keys/."""
    if name in (MANIFEST, MANIFEST_DIGEST, SQLITE_MEMBER, PGDUMP_MEMBER):
        return name
    if name.startswith(FILES_PREFIX):
        parts = PurePosixPath(name[len(FILES_PREFIX) :]).parts
        if parts and parts[0] != "keys" and all(_SAFE_PART.fullmatch(part) for part in parts):
            return name
    raise ArchiveError("the archive holds an unexpected member: not a Harbour backup, or altered")


def file_digest(path: Path) -> Member:
    """SHA-256 and size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return Member(digest.hexdigest(), size)


def _info(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write(handle: IO[bytes], manifest: Manifest, sources: dict[str, Path], *, mtime: int) -> None:
    """Write the archive: the manifest, its digest, then each member from its source file."""
    if set(sources) != set(manifest.members):
        raise ValueError("every member needs a source and a manifest entry")
    body = manifest.to_json()
    digest = hashlib.sha256(body).hexdigest().encode("ascii") + b"\n"
    with tarfile.open(fileobj=handle, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in ((MANIFEST, body), (MANIFEST_DIGEST, digest)):
            tar.addfile(_info(name, len(data), mtime), _BytesReader(data))
        for name in sorted(sources):
            with sources[name].open("rb") as source:
                tar.addfile(_info(name, manifest.members[name].size, mtime), source)


class _BytesReader:
    """A minimal readable over bytes for tarfile.addfile."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def read(self, size: int = -1) -> bytes:
        """Up to size bytes."""
        end = len(self._data) if size < 0 else self._at + size
        chunk = self._data[self._at : end]
        self._at += len(chunk)
        return chunk


def _zeros(handle: IO[bytes], start: int, end: int) -> bool:
    handle.seek(start)
    remaining = end - start
    while remaining > 0:
        chunk = handle.read(min(_CHUNK, remaining))
        if not chunk or chunk.count(0) != len(chunk):
            return False
        remaining -= len(chunk)
    return True


def _copy_member(tar: tarfile.TarFile, info: tarfile.TarInfo, sink: IO[bytes] | None) -> Member:
    source = tar.extractfile(info)
    if source is None:  # pragma: no cover - regular files always extract
        raise ArchiveError("the archive is damaged")
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if sink is not None:
            sink.write(chunk)
    return Member(digest.hexdigest(), size)


@contextmanager
def _opened(path: Path) -> Iterator[IO[bytes]]:
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise ArchiveError(f"no backup at {path}") from None
    except IsADirectoryError:
        raise ArchiveError(f"{path} is a directory, not a backup archive") from None
    except OSError as exc:
        raise ArchiveError(f"cannot read {path}: {type(exc).__name__}") from None
    with handle:
        yield handle


def read(path: Path, sinks: dict[str, IO[bytes]] | None = None) -> Manifest:
    """Check the whole archive and return its manifest; with `sinks`, also copy those members into them.

    Without sinks nothing is written anywhere. With sinks, the caller must discard what was written if this
    raises: the members are copied and hashed in one pass.
    """
    sinks = sinks or {}
    with _opened(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        try:
            tar = tarfile.open(fileobj=handle, mode="r:")  # noqa: SIM115 - closed by the with below
        except (tarfile.TarError, EOFError, OSError):
            raise ArchiveError("not a Harbour backup, or the archive is damaged or truncated") from None
        with tar:
            manifest: Manifest | None = None
            manifest_bytes = b""
            seen: dict[str, Member] = {}
            end = 0
            try:
                for position, info in enumerate(_members(tar)):
                    name = member_name(info.name)
                    if not info.isreg() or name in seen or info.offset != end:
                        raise ArchiveError("the archive is damaged or altered")
                    if (position == 0) != (name == MANIFEST) or (position == 1) != (name == MANIFEST_DIGEST):
                        raise ArchiveError("not a Harbour backup: the manifest does not come first")
                    if name == MANIFEST:
                        if info.size > MAX_MANIFEST:
                            raise ArchiveError("the backup manifest is damaged")
                        stream = tar.extractfile(info)
                        manifest_bytes = stream.read() if stream is not None else b""
                        seen[name] = Member(hashlib.sha256(manifest_bytes).hexdigest(), len(manifest_bytes))
                        manifest = Manifest.from_json(manifest_bytes)
                    elif name == MANIFEST_DIGEST:
                        stream = tar.extractfile(info)
                        expected = stream.read(100) if stream is not None else b""
                        if expected != seen[MANIFEST].sha256.encode("ascii") + b"\n":
                            raise ArchiveError("the backup manifest fails its checksum: damaged or altered")
                        seen[name] = Member(expected.decode("ascii"), len(expected))
                    else:
                        assert manifest is not None  # noqa: S101 - position 0 is the manifest
                        wanted = manifest.members.get(name)
                        if wanted is None or wanted.size != info.size:
                            raise ArchiveError(f"member {name} is not the one the manifest lists")
                        got = _copy_member(tar, info, sinks.get(name))
                        if got != wanted:
                            raise ArchiveError(f"member {name} fails its SHA-256 check: damaged or altered")
                        seen[name] = got
                    data_end = info.offset_data + info.size
                    end = data_end + (-data_end % BLOCK)
                    if not _zeros(handle, data_end, end):
                        raise ArchiveError("the archive is damaged or altered")
            except (tarfile.TarError, EOFError, OSError):
                raise ArchiveError("the archive is damaged or truncated") from None
        if manifest is None or MANIFEST_DIGEST not in seen:
            raise ArchiveError("not a Harbour backup, or the archive is damaged or truncated")
        missing = set(manifest.members) - set(seen)
        if missing:
            raise ArchiveError("the archive is truncated or incomplete: members are missing")
        # Two zero blocks end a tar file, padded with zeros to a whole record: exactly what `write` makes.
        length = end + 2 * BLOCK
        length += -length % tarfile.RECORDSIZE
        if size != length or not _zeros(handle, end, size):
            raise ArchiveError("the archive is damaged or truncated")
        return manifest


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    while True:
        info = tar.next()
        if info is None:
            return
        yield info
