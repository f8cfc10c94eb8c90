"""Data keys, key status, rotation and crypto-shredding.

Envelope: every record owner (a person, an interview, a user's TOTP secret) has one random 32-byte data key
(DEK) per zone. The DEK lives in the `data_key` table only wrapped by the zone's key-encryption key (KEK,
`crypto.keyring.KeyStore`), in the `crypto.aead` layout whose header names the zone key id and the KEK
version; the associated data is `aad_for("data_key", "wrapped", <data key id>)`, so a wrapped DEK moved to
another row does not unwrap. The `kek_version` column mirrors the header so status counts and rotation are
index lookups. The KEKs are in the key store file under the root key, never in the database.

Rotation (`rotate`): only the zones whose KEKs wrap DEKs rotate: identity, testimony, analysis and totp.
The index and audit zones do not wrap DEKs: they derive HMAC keys (blind indexes, search tokens) and the
audit signing seed from their KEK, and callers pin those derivations to version 1
(`keys.zone_key(Zone.INDEX, purpose, version=1)`); rotating them would mean recomputing every index and
starting a new signing key, a separate, deliberate migration that `harbour keys rotate` refuses.

A rotation is: add a new primary KEK version (the old one becomes "active": it still unwraps); re-wrap
every DEK still under an older version, in batches, one committed transaction per batch; then retire the
older versions (refused for unwrap from then on). Every step is idempotent and the state lives in the key
store and the database, so a rotation killed at any point is resumed, not restarted, by running it again:
a zone with an "active" (non-primary, not retired) version is mid-rotation, and the next run re-wraps what
is left and retires. A DEK that fails authentication stops the rotation before anything is retired.

Run rotations with the web server stopped, or restart it afterwards: a process that loaded the key store
before the rotation does not know the new version. `dek_for` reloads the key store when it meets a DEK
under a newer version than it knows, which covers reads and most writes, but restarting is the sure way.

Crypto-shredding (`shred_zone_history`, used by `harbour keys erase-person`): deleting a person's DEK row
makes their identity unreadable in the live database. An OLD BACKUP of the database still holds that
wrapped DEK, and restored alongside the current key store it would unwrap again. So after the deletion is
committed, the identity zone is rotated and every earlier identity KEK version is DESTROYED (its wrapped
material deleted from the key store), not just retired. The trade-off: every backup taken before the
erasure loses the identity data of EVERYONE in it (all its identity DEKs are under destroyed versions);
the testimony and analysis zones are untouched, so their data in old backups still opens. Copies of the key
store file itself must not be kept (it is outside the database and its backups by design).
"""

from __future__ import annotations

import dataclasses
import enum
import threading
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from app.context import Context
from app.db import unit_of_work
from app.encryption import DataIntegrityError, FieldCipher
from app.errors import AppError, InvalidInputError
from app.keys.models import DataKey
from app.runtime import Runtime
from crypto import aead
from crypto.errors import CryptoError
from crypto.keyring import KeyStatus, KeyStore, Zone

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "PINNED_ZONES",
    "ROTATING_ZONES",
    "DataKeyGoneError",
    "DataKeyRef",
    "OwnerType",
    "RotationBlockedError",
    "RotationResult",
    "VersionStatus",
    "destroy_dek",
    "destroy_retired",
    "dek_for",
    "derived_key",
    "rotate",
    "rotation_in_progress",
    "shred_zone_history",
    "status",
    "wrap_aad",
]

ROTATING_ZONES: tuple[Zone, ...] = (Zone.IDENTITY, Zone.TESTIMONY, Zone.ANALYSIS, Zone.TOTP)
PINNED_ZONES: tuple[Zone, ...] = (Zone.INDEX, Zone.AUDIT)
DEFAULT_BATCH_SIZE = 500


class OwnerType(enum.StrEnum):
    """What a data key belongs to."""

    PERSON = "person"
    INTERVIEW = "interview"
    USER = "user"
    PROJECT = "project"


class DataKeyRef(NamedTuple):
    """An unwrapped DEK and its id (the key id in field ciphertexts); never printed."""

    id: uuid.UUID
    key: bytes

    def __repr__(self) -> str:
        return f"DataKeyRef(id={self.id}, key=<redacted>)"


class DataKeyGoneError(Exception):
    """The owner's DEK no longer exists, or its KEK version was retired or destroyed (erased data)."""


class RotationBlockedError(AppError):
    """A rotation cannot finish: a DEK fails authentication; nothing was retired."""

    status_code = 500
    code = "rotation_blocked"


@dataclass(frozen=True, slots=True)
class VersionStatus:
    """One line of `harbour keys status`."""

    zone: Zone
    version: int
    status: str
    created: str
    deks: int | None  # None for zones that wrap no DEKs


@dataclass(frozen=True, slots=True)
class RotationResult:
    """What one `rotate` call did in one zone."""

    zone: Zone
    version: int
    resumed: bool
    rewrapped: int
    retired: tuple[int, ...]
    destroyed: tuple[int, ...] = ()


# (rewrapped so far, total to rewrap) after each committed batch.
ProgressFn = Callable[[int, int], None]


def wrap_aad(dek_id: uuid.UUID) -> bytes:
    """Associated data for a wrapped DEK: bound to its own `data_key` row."""
    return aead.aad_for("data_key", "wrapped", dek_id)


def _version_status(keys: KeyStore, zone: Zone, version: int) -> KeyStatus | None:
    for row in keys.zone_status():
        if row.zone is zone and row.version == version:
            return row.status
    return None


def _catch_up(keys: KeyStore, zone: Zone, version: int) -> None:
    """Reload the key store if another process rotated the zone past what this one knows."""
    if version > keys.primary_version(zone):
        keys.reload()


# The DEK lookup of every sensitive read, built once: a read pays neither statement construction nor ORM
# entity loading, only the wrapped key and its row id (ORM attributes, so pending changes still autoflush).
_DEK_OF_OWNER = select(DataKey.id, DataKey.wrapped).where(
    DataKey.owner_type == bindparam("owner_type"),
    DataKey.owner_id == bindparam("owner_id"),
    DataKey.zone == bindparam("zone"),
)


def dek_for(
    session: Session,
    keys: KeyStore,
    *,
    zone: Zone,
    owner_type: OwnerType | str,
    owner_id: uuid.UUID,
    create: bool,
) -> DataKeyRef:
    """The owner's DEK in a zone, made on first use when `create`; DataKeyGoneError if erased or missing.

    Not cached: the DEK row is read on every call, so an erasure (row deleted) or a retired KEK version in
    any process takes effect on the next read.
    """
    zone = Zone(zone)
    owner = OwnerType(owner_type).value
    row = session.execute(
        _DEK_OF_OWNER, {"owner_type": owner, "owner_id": owner_id, "zone": zone.value}
    ).one_or_none()
    if row is None:
        if not create:
            raise DataKeyGoneError()
        newest = session.scalar(select(func.max(DataKey.kek_version)).where(DataKey.zone == zone.value))
        if newest is not None:
            _catch_up(keys, zone, newest)
        dek_id = uuid.uuid4()
        dek = keys.new_dek()
        wrapped = keys.wrap_dek(zone, dek, aad=wrap_aad(dek_id))
        session.add(
            DataKey(
                id=dek_id,
                zone=zone.value,
                owner_type=owner,
                owner_id=owner_id,
                wrapped=wrapped,
                kek_version=keys.wrapped_version(wrapped),
            )
        )
        session.flush()
        return DataKeyRef(dek_id, dek)
    dek_id, wrapped = row
    version = keys.wrapped_version(wrapped)
    _catch_up(keys, zone, version)
    try:
        return DataKeyRef(dek_id, keys.unwrap_dek(zone, wrapped, aad=wrap_aad(dek_id)))
    except CryptoError:
        # The key store refuses retired and destroyed versions: that is erased data, not tampering.
        # (Asked only on failure: listing every zone's status on each read cost more than the unwrap.)
        if _version_status(keys, zone, version) in (KeyStatus.RETIRED, KeyStatus.DESTROYED):
            raise DataKeyGoneError() from None
        raise


# ---- derived sub-keys ------------------------------------------------------------------------------------

# Per process and per key store: (zone, purpose, version) -> the HKDF-derived sub-key. Only derived keys of
# a zone's primary version are served from here (checked on every use, which is cheap), so a version that
# stopped being primary is derived afresh, and the key store then refuses it if it is no longer usable.
# Unwrapped DEKs are never cached (see dek_for).
_DerivedKeys = dict[tuple[Zone, str, int], bytes]
_DERIVED: weakref.WeakKeyDictionary[KeyStore, _DerivedKeys] = weakref.WeakKeyDictionary()
_DERIVED_LOCK = threading.Lock()


def derived_key(keys: KeyStore, zone: Zone, purpose: str, *, version: int) -> bytes:
    """`keys.zone_key(zone, purpose, version=version)`, derived once per process while it is primary."""
    zone = Zone(zone)
    if keys.primary_version(zone) != version:
        return keys.zone_key(zone, purpose, version=version)
    with _DERIVED_LOCK:
        cached = _DERIVED.get(keys, {}).get((zone, purpose, version))
    if cached is not None:
        return cached
    key = keys.zone_key(zone, purpose, version=version)
    with _DERIVED_LOCK:
        _DERIVED.setdefault(keys, {})[(zone, purpose, version)] = key
    return key


def destroy_dek(session: Session, *, zone: Zone, owner_type: OwnerType | str, owner_id: uuid.UUID) -> bool:
    """Delete the owner's DEK (crypto-shredding in the live database); False if there was none."""
    row = session.scalars(
        select(DataKey).where(
            DataKey.owner_type == OwnerType(owner_type).value,
            DataKey.owner_id == owner_id,
            DataKey.zone == Zone(zone).value,
        )
    ).one_or_none()
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def status(session: Session, keys: KeyStore) -> list[VersionStatus]:
    """Every zone's KEK versions, their state and how many DEKs each wraps."""
    query = select(DataKey.zone, DataKey.kek_version, func.count())
    grouped = session.execute(query.group_by(DataKey.zone, DataKey.kek_version))
    counts: dict[tuple[str, int], int] = {(zone, version): count for zone, version, count in grouped}
    rows: list[VersionStatus] = []
    for entry in keys.zone_status():
        wraps = entry.zone in ROTATING_ZONES
        deks = counts.pop((entry.zone.value, entry.version), 0) if wraps else None
        rows.append(VersionStatus(entry.zone, entry.version, entry.status.value, entry.created, deks))
    # DEKs under versions this key store does not know (a database restored beside another key store).
    for (zone, version), count in sorted(counts.items()):
        rows.append(VersionStatus(Zone(zone), version, "unknown", "", count))
    return rows


def rotation_in_progress(keys: KeyStore, zone: Zone) -> bool:
    """Whether the zone has an older version still marked active: a rotation to resume."""
    return any(row.zone is zone and row.status is KeyStatus.ACTIVE for row in keys.zone_status())


def _pending(session: Session, zone: Zone, primary: int) -> int:
    query = select(func.count()).where(DataKey.zone == zone.value, DataKey.kek_version != primary)
    return int(session.scalar(query) or 0)


def _rewrap_batches(runtime: Runtime, zone: Zone, *, batch_size: int, progress: ProgressFn | None) -> int:
    keys = runtime.keys
    primary = keys.primary_version(zone)
    with unit_of_work(runtime.sessions) as session:
        total = _pending(session, zone, primary)
    done = 0
    while True:
        with unit_of_work(runtime.sessions) as session:
            batch = session.scalars(
                select(DataKey)
                .where(DataKey.zone == zone.value, DataKey.kek_version != primary)
                .order_by(DataKey.id)
                .limit(batch_size)
                .with_for_update()
            ).all()
            for row in batch:
                try:
                    row.wrapped = keys.rewrap_dek(zone, row.wrapped, aad=wrap_aad(row.id))
                except CryptoError:
                    raise RotationBlockedError(
                        f"data key {row.id} in zone {zone.value} fails its integrity check "
                        "(or is under a retired version); the rotation stopped and nothing was retired"
                    ) from None
                row.kek_version = primary
        if not batch:
            return done
        done += len(batch)
        if progress is not None:
            progress(done, max(total, done))


def rotate(
    runtime: Runtime,
    zone: Zone,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressFn | None = None,
) -> RotationResult:
    """Rotate a zone's KEK (or resume a rotation in progress): new version, re-wrap every DEK, retire."""
    zone = Zone(zone)
    if zone not in ROTATING_ZONES:
        raise InvalidInputError(
            f"zone {zone.value} is not rotated: its keys are derived and pinned to version 1"
        )
    if batch_size < 1:
        raise InvalidInputError("batch size must be at least 1")
    keys = runtime.keys
    resumed = rotation_in_progress(keys, zone)
    version = keys.primary_version(zone) if resumed else keys.add_version(zone)
    rewrapped = _rewrap_batches(runtime, zone, batch_size=batch_size, progress=progress)
    with unit_of_work(runtime.sessions) as session:
        if _pending(session, zone, version):
            raise RotationBlockedError(f"zone {zone.value} still has data keys under older versions")
        retired = tuple(
            row.version for row in keys.zone_status() if row.zone is zone and row.status is KeyStatus.ACTIVE
        )
        for old in retired:
            keys.retire(zone, old)
        Context(session, runtime, None).audit("keys.rotate", object_type="key_zone", object_id=zone.value)
    return RotationResult(zone, version, resumed, rewrapped, retired)


def destroy_retired(keys: KeyStore, zone: Zone) -> tuple[int, ...]:
    """Destroy every retired version of a zone for good; returns the versions destroyed."""
    zone = Zone(zone)
    retired = tuple(
        row.version for row in keys.zone_status() if row.zone is zone and row.status is KeyStatus.RETIRED
    )
    for version in retired:
        keys.destroy(zone, version)
    return retired


def shred_zone_history(
    runtime: Runtime,
    zone: Zone,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressFn | None = None,
) -> RotationResult:
    """Rotate a zone and destroy all its earlier versions, so old backups' DEKs in it never unwrap again."""
    result = rotate(runtime, zone, batch_size=batch_size, progress=progress)
    destroyed = destroy_retired(runtime.keys, zone)
    return dataclasses.replace(result, destroyed=destroyed)


def field_cipher(
    ctx: Context, *, zone: Zone, owner_type: OwnerType | str, owner_id: uuid.UUID, create: bool = False
) -> FieldCipher:
    """The cipher for an owner's sealed columns; a missing, erased or damaged key is a bland error."""
    try:
        dek = dek_for(
            ctx.session, ctx.runtime.keys, zone=zone, owner_type=owner_type, owner_id=owner_id, create=create
        )
    except (DataKeyGoneError, CryptoError):
        raise DataIntegrityError() from None
    return FieldCipher(dek)


def project_cipher(ctx: Context, project_id: uuid.UUID, *, create: bool = False) -> FieldCipher:
    """A project's ANALYSIS-zone cipher: codebook, guide and incident texts."""
    return field_cipher(
        ctx, zone=Zone.ANALYSIS, owner_type=OwnerType.PROJECT, owner_id=project_id, create=create
    )
