"""Envelope encryption: zones, their key-encryption keys (KEKs), and data keys (DEKs).

Threat: the database and its backups may be stolen, and a single person's records must be erasable even
from old backups. Data is sealed under per-record DEKs (one per person, one per interview); each DEK is
stored wrapped by its zone's KEK; the KEKs are stored in a keystore file wrapped by the root key
(`crypto.providers`). Destroying one DEK crypto-shreds a person; destroying a KEK version shreds everything
still wrapped under it; losing the root key makes the keystore noise.

Zones (`Zone`) separate identities, testimony, analysis, blind indexes, TOTP secrets and the audit
signing key, so a bug or compromise that exposes one zone's key does not expose the others.

Keystore file (JSON, mode 0600, replaced atomically: temp file, fsync, rename, fsync of the folder)::

    {"format": "harbour-keystore", "format_version": 1, "provider": "<provider.describe()>",
     "zones": {"identity": [{"version": 1, "status": "primary", "created": "<ISO-8601 UTC>",
                             "wrapped": "<base64 of provider.wrap(kek, aad=kek_aad(zone, version))>"},
                            ...], ...}}

Each version's status is one of:
- ``primary``: wraps new DEKs (exactly one per zone) and unwraps;
- ``active``: an older version that still unwraps, awaiting re-wrap of its DEKs;
- ``retired``: refused for unwrap; the wrapped material is still stored (not loaded into memory);
- ``destroyed``: the wrapped material is deleted from the file for good; only retired versions can be
  destroyed.
The root wrap binds each KEK to its zone and version through the associated data, so a KEK blob copied to
another zone or version does not unwrap. The status field itself is not authenticated: someone who can
write the keystore could mark a retired version active again. That attacker could equally delete the
file; `destroy` is the step that removes material irrevocably (from this file, not from old copies of it).

Wrapped DEK format: `crypto.aead` layout with key id = `zone_key_id(zone)` (uuid5 of a fixed namespace and
the zone name) and key version = the KEK version, so `unwrap_dek` picks the version from the header and
`rewrap_dek` can move a DEK to the primary version. Field ciphertexts under a DEK (`seal_field`) use the
same layout with key id = the DEK's own id and version 1.

`zone_key(zone, purpose)` derives non-envelope sub-keys with HKDF-SHA256 from a zone KEK: the HMAC keys
for blind indexes and search tokens (zone INDEX) and the audit Ed25519 seed (zone AUDIT). These sub-keys
change when the zone's primary version changes: rotating INDEX means recomputing every blind index and
search token, and rotating AUDIT means a new signing key (old checkpoints keep verifying against the old
public key). Callers that must keep using an older version pass ``version=``.

Key material lives in process memory as `bytes` (Python cannot reliably zero it); only primary and active
KEKs are unwrapped.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import enum
import json
import os
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto import aead
from crypto.errors import CryptoError, KeyUnavailableError
from crypto.providers import RootKeyProvider

__all__ = [
    "DEK_SIZE",
    "ZONE_NAMESPACE",
    "KeyStatus",
    "KeyStore",
    "Zone",
    "ZoneKeyStatus",
    "new_dek",
    "open_field",
    "seal_field",
    "zone_key_id",
]

DEK_SIZE = 32
_FORMAT = "harbour-keystore"
_FORMAT_VERSION = 1
# Fixed namespace for zone key ids: uuid5(NAMESPACE_URL, "harbour:zone").
ZONE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "harbour:zone")
_FIELD_KEY_VERSION = 1


class Zone(enum.StrEnum):
    """A separately keyed area of the data."""

    IDENTITY = "identity"
    TESTIMONY = "testimony"
    ANALYSIS = "analysis"
    INDEX = "index"
    TOTP = "totp"
    AUDIT = "audit"


class KeyStatus(enum.StrEnum):
    """Lifecycle state of one KEK version."""

    PRIMARY = "primary"
    ACTIVE = "active"
    RETIRED = "retired"
    DESTROYED = "destroyed"


@dataclass(frozen=True, slots=True)
class ZoneKeyStatus:
    """One row of `harbour keys status`: a zone's KEK version and its state."""

    zone: Zone
    version: int
    status: KeyStatus
    created: str


@dataclass(slots=True)
class _Kek:
    version: int
    status: KeyStatus
    created: str
    wrapped: str | None  # base64; None once destroyed
    key: bytes | None = None  # unwrapped only while primary or active

    def __repr__(self) -> str:
        # Never show the key, even in a debugger or a traceback with locals.
        return f"_Kek(version={self.version}, status={self.status})"


def zone_key_id(zone: Zone) -> uuid.UUID:
    """The fixed key id written into DEKs wrapped by this zone's KEKs."""
    return uuid.uuid5(ZONE_NAMESPACE, Zone(zone).value)


def new_dek() -> bytes:
    """Return a fresh random 32-byte data key."""
    return os.urandom(DEK_SIZE)


def seal_field(dek: bytes, plaintext: bytes, *, aad: bytes, dek_id: uuid.UUID) -> bytes:
    """Encrypt a field value under a DEK; aad should come from `aead.aad_for`."""
    return aead.seal(dek, plaintext, aad=aad, key_id=dek_id, key_version=_FIELD_KEY_VERSION)


def open_field(dek: bytes, blob: bytes, *, aad: bytes) -> bytes:
    """Decrypt a field value sealed by `seal_field`; CryptoError on any failure."""
    return aead.open_sealed(dek, blob, aad=aad)


def _kek_aad(zone: Zone, version: int) -> bytes:
    return aead.length_prefixed(b"harbour-kek-v1", zone.value.encode(), str(version).encode())


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _malformed(path: Path, what: str) -> KeyUnavailableError:
    return KeyUnavailableError(f"keystore {path} is malformed: {what}")


class KeyStore:
    """The zone KEKs, unwrapped in memory, backed by an atomically replaced JSON file."""

    def __init__(self, path: Path, provider: RootKeyProvider, *, clock: Callable[[], str] = _now_iso) -> None:
        """Bind to a keystore path and provider; use `create` or `load` rather than calling this."""
        self._path = Path(path)
        self._provider = provider
        self._clock = clock
        self._zones: dict[Zone, dict[int, _Kek]] = {}
        self._created_with = provider.describe()
        # Mutations read-modify-write the file; one at a time within a process.
        self._lock = threading.RLock()

    # ---- construction and persistence -------------------------------------------------------------

    @classmethod
    def create(
        cls, path: Path, provider: RootKeyProvider, *, clock: Callable[[], str] = _now_iso
    ) -> KeyStore:
        """Create a keystore with a fresh primary KEK (version 1) per zone; FileExistsError if present."""
        store = cls(path, provider, clock=clock)
        created = clock()
        for zone in Zone:
            kek = os.urandom(DEK_SIZE)
            wrapped = base64.b64encode(provider.wrap(kek, aad=_kek_aad(zone, 1))).decode("ascii")
            store._zones[zone] = {1: _Kek(1, KeyStatus.PRIMARY, created, wrapped, kek)}
        store._write(exclusive=True)
        return store

    @classmethod
    def load(cls, path: Path, provider: RootKeyProvider, *, clock: Callable[[], str] = _now_iso) -> KeyStore:
        """Read the keystore and unwrap every primary and active KEK; KeyUnavailableError if it cannot."""
        store = cls(path, provider, clock=clock)
        store.reload()
        return store

    def reload(self) -> None:
        """Re-read the file (e.g. after `harbour keys rotate` in another process)."""
        with self._lock:
            document = self._read()
            self._zones = self._parse(document)

    def _read(self) -> dict[str, Any]:
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise KeyUnavailableError(f"keystore not found: {self._path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyUnavailableError(f"cannot read keystore {self._path}: {type(exc).__name__}") from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            raise _malformed(self._path, "not JSON") from None
        if not isinstance(document, dict):
            raise _malformed(self._path, "not an object")
        return document

    def _parse(self, document: dict[str, Any]) -> dict[Zone, dict[int, _Kek]]:
        path = self._path
        if document.get("format") != _FORMAT or document.get("format_version") != _FORMAT_VERSION:
            raise _malformed(path, "unknown format or format version")
        created_with = document.get("provider")
        if isinstance(created_with, str):
            self._created_with = created_with
        zones_doc = document.get("zones")
        if not isinstance(zones_doc, dict):
            raise _malformed(path, "no zones")
        zones: dict[Zone, dict[int, _Kek]] = {}
        for zone in Zone:
            entries = zones_doc.get(zone.value)
            if not isinstance(entries, list) or not entries:
                raise _malformed(path, f"zone {zone.value} missing")
            versions: dict[int, _Kek] = {}
            for entry in entries:
                kek = self._parse_entry(zone, entry)
                if kek.version in versions:
                    raise _malformed(path, f"zone {zone.value} repeats version {kek.version}")
                versions[kek.version] = kek
            primaries = [k for k in versions.values() if k.status is KeyStatus.PRIMARY]
            if len(primaries) != 1:
                raise _malformed(path, f"zone {zone.value} must have exactly one primary version")
            zones[zone] = versions
        return zones

    def _parse_entry(self, zone: Zone, entry: object) -> _Kek:
        path = self._path
        if not isinstance(entry, dict):
            raise _malformed(path, f"zone {zone.value} has a bad entry")
        version = entry.get("version")
        created = entry.get("created", "")
        wrapped = entry.get("wrapped")
        try:
            status = KeyStatus(str(entry.get("status")))
        except ValueError:
            raise _malformed(path, f"zone {zone.value} has an unknown status") from None
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise _malformed(path, f"zone {zone.value} has a bad version")
        if not isinstance(created, str):
            raise _malformed(path, f"zone {zone.value} version {version} has a bad date")
        if status is KeyStatus.DESTROYED:
            return _Kek(version, status, created, None)
        if not isinstance(wrapped, str):
            raise _malformed(path, f"zone {zone.value} version {version} has no key material")
        kek = _Kek(version, status, created, wrapped)
        if status in (KeyStatus.PRIMARY, KeyStatus.ACTIVE):
            kek.key = self._unwrap_kek(zone, version, wrapped)
        return kek

    def _unwrap_kek(self, zone: Zone, version: int, wrapped: str) -> bytes:
        try:
            blob = base64.b64decode(wrapped, validate=True)
            key = self._provider.unwrap(blob, aad=_kek_aad(zone, version))
        except (CryptoError, binascii.Error):
            raise KeyUnavailableError(
                f"root key provider {self._provider.describe()!r} cannot open keystore {self._path} "
                f"(zone {zone.value} version {version}; keystore written with {self._created_with!r})"
            ) from None
        if len(key) != DEK_SIZE:
            raise _malformed(self._path, f"zone {zone.value} version {version} key has a bad length")
        return key

    def _document(self) -> dict[str, Any]:
        zones: dict[str, list[dict[str, Any]]] = {}
        for zone, versions in self._zones.items():
            rows: list[dict[str, Any]] = []
            for kek in sorted(versions.values(), key=lambda k: k.version):
                row: dict[str, Any] = {
                    "version": kek.version,
                    "status": kek.status.value,
                    "created": kek.created,
                }
                if kek.wrapped is not None:
                    row["wrapped"] = kek.wrapped
                rows.append(row)
            zones[zone.value] = rows
        return {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "provider": self._provider.describe(),
            "zones": zones,
        }

    def _write(self, *, exclusive: bool = False) -> None:
        data = (json.dumps(self._document(), indent=2, sort_keys=True) + "\n").encode("utf-8")
        directory = self._path.parent
        # mkstemp creates the file with mode 0600, so the keystore is never briefly world-readable.
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{self._path.name}.", suffix=".tmp")
        try:
            try:
                os.fchmod(fd, 0o600)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            if exclusive:
                # link() refuses an existing target: creating never overwrites a keystore.
                os.link(tmp_name, self._path)
            else:
                os.replace(tmp_name, self._path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
        dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    # ---- status -----------------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The keystore file."""
        return self._path

    def zone_status(self) -> list[ZoneKeyStatus]:
        """Every zone's KEK versions and their states, for `harbour keys status`."""
        with self._lock:
            return [
                ZoneKeyStatus(zone, kek.version, kek.status, kek.created)
                for zone in Zone
                for kek in sorted(self._zones[zone].values(), key=lambda k: k.version)
            ]

    def primary_version(self, zone: Zone) -> int:
        """The version that wraps new DEKs in this zone."""
        with self._lock:
            return self._primary(Zone(zone)).version

    def _primary(self, zone: Zone) -> _Kek:
        return next(k for k in self._zones[zone].values() if k.status is KeyStatus.PRIMARY)

    def _usable_key(self, zone: Zone, version: int) -> bytes:
        """The KEK for a version that may decrypt; CryptoError for unknown, retired or destroyed."""
        kek = self._zones[zone].get(version)
        if kek is None or kek.key is None or kek.status not in (KeyStatus.PRIMARY, KeyStatus.ACTIVE):
            raise CryptoError()
        return kek.key

    # ---- DEKs -------------------------------------------------------------------------------------

    @staticmethod
    def new_dek() -> bytes:
        """Return a fresh random 32-byte data key."""
        return new_dek()

    def wrap_dek(self, zone: Zone, dek: bytes, *, aad: bytes) -> bytes:
        """Wrap a DEK under the zone's primary KEK; the result names the zone and KEK version."""
        if len(dek) != DEK_SIZE:
            raise ValueError("DEK must be 32 bytes")
        zone = Zone(zone)
        with self._lock:
            kek = self._primary(zone)
            key = self._usable_key(zone, kek.version)
            return aead.seal(key, dek, aad=aad, key_id=zone_key_id(zone), key_version=kek.version)

    def unwrap_dek(self, zone: Zone, wrapped: bytes, *, aad: bytes) -> bytes:
        """Unwrap a DEK with the KEK version named in its header; CryptoError if refused or tampered."""
        zone = Zone(zone)
        header = aead.read_header(wrapped)
        if header.key_id != zone_key_id(zone):
            raise CryptoError()
        with self._lock:
            key = self._usable_key(zone, header.key_version)
        dek = aead.open_sealed(key, wrapped, aad=aad)
        if len(dek) != DEK_SIZE:
            raise CryptoError()
        return dek

    @staticmethod
    def wrapped_version(wrapped: bytes) -> int:
        """The KEK version a wrapped DEK is under (CryptoError if malformed)."""
        return aead.read_header(wrapped).key_version

    def rewrap_dek(self, zone: Zone, wrapped: bytes, *, aad: bytes) -> bytes:
        """Re-wrap a DEK under the primary KEK; returns the input unchanged if it is already there."""
        zone = Zone(zone)
        with self._lock:
            if aead.read_header(wrapped).key_version == self._primary(zone).version:
                # Still authenticate, so a rotation job never silently passes over a corrupt DEK.
                self.unwrap_dek(zone, wrapped, aad=aad)
                return wrapped
            return self.wrap_dek(zone, self.unwrap_dek(zone, wrapped, aad=aad), aad=aad)

    # ---- rotation ---------------------------------------------------------------------------------

    def add_version(self, zone: Zone) -> int:
        """Add a new primary KEK version; the previous primary becomes active (still decrypts)."""
        zone = Zone(zone)
        with self._lock:
            versions = self._zones[zone]
            version = max(versions) + 1
            kek = os.urandom(DEK_SIZE)
            wrapped = base64.b64encode(self._provider.wrap(kek, aad=_kek_aad(zone, version))).decode("ascii")
            old = self._primary(zone)
            old.status = KeyStatus.ACTIVE
            versions[version] = _Kek(version, KeyStatus.PRIMARY, self._clock(), wrapped, kek)
            try:
                self._write()
            except BaseException:
                del versions[version]
                old.status = KeyStatus.PRIMARY
                raise
            return version

    def retire(self, zone: Zone, version: int) -> None:
        """Refuse a non-primary version for decryption from now on; its wrapped material stays stored."""
        zone = Zone(zone)
        with self._lock:
            kek = self._get(zone, version)
            if kek.status is KeyStatus.PRIMARY:
                raise ValueError("cannot retire the primary version; add a new version first")
            if kek.status is KeyStatus.DESTROYED:
                raise ValueError("version is already destroyed")
            if kek.status is KeyStatus.RETIRED:
                return
            key = kek.key
            kek.status, kek.key = KeyStatus.RETIRED, None
            try:
                self._write()
            except BaseException:
                kek.status, kek.key = KeyStatus.ACTIVE, key
                raise

    def destroy(self, zone: Zone, version: int) -> None:
        """Delete a retired version's wrapped material from the keystore for good."""
        zone = Zone(zone)
        with self._lock:
            kek = self._get(zone, version)
            if kek.status is KeyStatus.DESTROYED:
                return
            if kek.status is not KeyStatus.RETIRED:
                raise ValueError("only a retired version can be destroyed")
            wrapped = kek.wrapped
            kek.status, kek.wrapped = KeyStatus.DESTROYED, None
            try:
                self._write()
            except BaseException:
                kek.status, kek.wrapped = KeyStatus.RETIRED, wrapped
                raise

    def _get(self, zone: Zone, version: int) -> _Kek:
        kek = self._zones[zone].get(version)
        if kek is None:
            raise ValueError(f"zone {zone.value} has no version {version}")
        return kek

    def change_provider(self, provider: RootKeyProvider) -> None:
        """Re-wrap every stored KEK (retired ones too) under a new root key provider and persist."""
        with self._lock:
            rewrapped: dict[tuple[Zone, int], str] = {}
            for zone, versions in self._zones.items():
                for kek in versions.values():
                    if kek.wrapped is None:
                        continue
                    key = kek.key
                    if key is None:
                        key = self._unwrap_kek(zone, kek.version, kek.wrapped)
                    blob = provider.wrap(key, aad=_kek_aad(zone, kek.version))
                    rewrapped[(zone, kek.version)] = base64.b64encode(blob).decode("ascii")
            old_provider, old_wrapped = (
                self._provider,
                {(z, v): k.wrapped for z, vs in self._zones.items() for v, k in vs.items()},
            )
            self._provider = provider
            for (zone, version), wrapped in rewrapped.items():
                self._zones[zone][version].wrapped = wrapped
            try:
                self._write()
            except BaseException:
                self._provider = old_provider
                for (zone, version), wrapped_old in old_wrapped.items():
                    self._zones[zone][version].wrapped = wrapped_old
                raise
            self._created_with = provider.describe()

    # ---- derived sub-keys -------------------------------------------------------------------------

    def zone_key(self, zone: Zone, purpose: str, version: int | None = None) -> bytes:
        """A 32-byte sub-key derived (HKDF-SHA256) from the zone's primary (or given) KEK for one purpose."""
        if not purpose:
            raise ValueError("purpose must be non-empty")
        zone = Zone(zone)
        with self._lock:
            if version is None:
                version = self._primary(zone).version
            try:
                kek = self._usable_key(zone, version)
            except CryptoError:
                raise ValueError(f"zone {zone.value} version {version} is not usable") from None
        info = aead.length_prefixed(b"harbour-zone-key-v1", zone.value.encode(), purpose.encode("utf-8"))
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(kek)

    def __repr__(self) -> str:
        return f"<KeyStore {str(self._path)!r} provider={self._provider.describe()!r}>"
