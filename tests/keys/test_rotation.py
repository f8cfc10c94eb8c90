"""KEK rotation: every DEK re-wrapped, resumable after a crash at any point, old versions retired."""

from __future__ import annotations

import json
import uuid
from typing import cast

import pytest
from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.context import Context
from app.errors import InvalidInputError
from app.identities import service as identities
from app.identities.models import Person
from app.keys import service as data_keys
from app.keys.models import DataKey
from app.keys.service import OwnerType, RotationBlockedError
from app.runtime import Runtime
from crypto.keyring import KeyStatus, KeyStore, Zone
from crypto.providers import FileKeyProvider
from tests import factories


class KilledError(Exception):
    """Stands for the process dying between two batches."""


def _register(ctx: Context, count: int) -> list[Person]:
    project = factories.project(ctx)
    return [
        identities.register(
            ctx, project_id=project.id, legal_name=f"Person {n} Testov", notes=f"note {n}"
        ).person
        for n in range(count)
    ]


def _versions(session: Session, zone: Zone) -> dict[int, int]:
    session.expire_all()
    query = select(DataKey.kek_version, func.count()).where(DataKey.zone == zone.value)
    return dict(session.execute(query.group_by(DataKey.kek_version)).all())


def _state(keys: KeyStore, zone: Zone) -> dict[int, KeyStatus]:
    return {row.version: row.status for row in keys.zone_status() if row.zone is zone}


def _assert_all_readable(ctx: Context, people: list[Person]) -> None:
    ctx.session.expire_all()
    for n, person in enumerate(people):
        read = identities.read_identity(ctx, person.id)
        assert read.legal_name is not None
        assert read.legal_name.reveal() == f"Person {n} Testov"


def _reloaded(keys: KeyStore) -> KeyStore:
    """The key store as a new process would load it from disk."""
    return KeyStore.load(keys.path, FileKeyProvider.load(keys.path.parent / "root.key"))


def test_rotation_rewraps_every_data_key_and_retires_the_old_version(
    ctx: Context, runtime: Runtime, keys: KeyStore
) -> None:
    people = _register(ctx, 5)
    interview = uuid.uuid4()
    before = data_keys.dek_for(
        ctx.session,
        keys,
        zone=Zone.TESTIMONY,
        owner_type=OwnerType.INTERVIEW,
        owner_id=interview,
        create=True,
    )
    result = data_keys.rotate(runtime, Zone.IDENTITY, batch_size=2)
    assert (result.version, result.resumed, result.rewrapped, result.retired) == (2, False, 5, (1,))
    assert _versions(ctx.session, Zone.IDENTITY) == {2: 5}
    assert _state(keys, Zone.IDENTITY) == {1: KeyStatus.RETIRED, 2: KeyStatus.PRIMARY}
    assert _state(keys, Zone.TESTIMONY) == {1: KeyStatus.PRIMARY}  # other zones untouched
    _assert_all_readable(ctx, people)
    again = data_keys.rotate(runtime, Zone.IDENTITY)
    assert (again.version, again.rewrapped, again.retired) == (3, 5, (2,))
    _assert_all_readable(ctx, people)
    for zone in (Zone.TESTIMONY, Zone.ANALYSIS, Zone.TOTP):
        data_keys.rotate(runtime, zone)
    after = data_keys.dek_for(
        ctx.session,
        keys,
        zone=Zone.TESTIMONY,
        owner_type=OwnerType.INTERVIEW,
        owner_id=interview,
        create=False,
    )
    assert after == before  # the same DEK, now under version 2
    assert _versions(ctx.session, Zone.TESTIMONY) == {2: 1}
    audited = ctx.session.scalars(
        select(AuditEvent.object_id).where(AuditEvent.action == "keys.rotate")
    ).all()
    assert sorted(map(str, audited)) == sorted(["identity", "identity", "testimony", "analysis", "totp"])


def test_rotation_killed_after_a_batch_resumes_and_loses_nothing(
    ctx: Context, runtime: Runtime, keys: KeyStore
) -> None:
    people = _register(ctx, 7)

    def die(done: int, total: int) -> None:
        raise KilledError()

    with pytest.raises(KilledError):
        data_keys.rotate(runtime, Zone.IDENTITY, batch_size=3, progress=die)
    # Mid-rotation: the first batch is committed under version 2, the rest still under version 1.
    assert _versions(ctx.session, Zone.IDENTITY) == {1: 4, 2: 3}
    restarted = _reloaded(keys)
    assert data_keys.rotation_in_progress(restarted, Zone.IDENTITY)
    assert _state(restarted, Zone.IDENTITY) == {1: KeyStatus.ACTIVE, 2: KeyStatus.PRIMARY}
    runtime.keystore = restarted
    _assert_all_readable(ctx, people)  # both versions still open during the rotation
    result = data_keys.rotate(runtime, Zone.IDENTITY, batch_size=3)
    assert (result.version, result.resumed, result.rewrapped, result.retired) == (2, True, 4, (1,))
    assert _versions(ctx.session, Zone.IDENTITY) == {2: 7}
    assert _state(restarted, Zone.IDENTITY) == {1: KeyStatus.RETIRED, 2: KeyStatus.PRIMARY}
    _assert_all_readable(ctx, people)


def test_rotation_killed_after_the_last_batch_only_retires_on_resume(
    ctx: Context, runtime: Runtime, keys: KeyStore
) -> None:
    people = _register(ctx, 3)

    def die(done: int, total: int) -> None:
        if done == total:
            raise KilledError()

    with pytest.raises(KilledError):
        data_keys.rotate(runtime, Zone.IDENTITY, progress=die)
    assert _versions(ctx.session, Zone.IDENTITY) == {2: 3}
    result = data_keys.rotate(runtime, Zone.IDENTITY)
    assert (result.version, result.resumed, result.rewrapped, result.retired) == (2, True, 0, (1,))
    _assert_all_readable(ctx, people)


def test_rotation_killed_right_after_adding_the_version_resumes(
    ctx: Context, runtime: Runtime, keys: KeyStore
) -> None:
    people = _register(ctx, 2)
    keys.add_version(Zone.IDENTITY)  # the process died before its first batch
    result = data_keys.rotate(runtime, Zone.IDENTITY)
    assert (result.version, result.resumed, result.rewrapped) == (2, True, 2)
    _assert_all_readable(ctx, people)


def test_a_corrupt_data_key_stops_the_rotation_before_anything_is_retired(
    ctx: Context, runtime: Runtime, keys: KeyStore
) -> None:
    people = _register(ctx, 3)
    table = cast(Table, DataKey.__table__)
    victim = people[1].id
    wrapped = bytearray(ctx.session.scalar(select(table.c.wrapped).where(table.c.owner_id == victim)) or b"")
    wrapped[-1] ^= 0x01
    ctx.session.execute(update(table).where(table.c.owner_id == victim).values(wrapped=bytes(wrapped)))
    with pytest.raises(RotationBlockedError, match="integrity"):
        data_keys.rotate(runtime, Zone.IDENTITY, batch_size=1)
    assert _state(keys, Zone.IDENTITY)[1] is KeyStatus.ACTIVE
    _assert_all_readable(ctx, [people[0]])


@pytest.mark.parametrize("zone", [Zone.INDEX, Zone.AUDIT])
def test_derived_key_zones_are_not_rotated(runtime: Runtime, keys: KeyStore, zone: Zone) -> None:
    with pytest.raises(InvalidInputError, match="pinned"):
        data_keys.rotate(runtime, zone)
    assert _state(keys, zone) == {1: KeyStatus.PRIMARY}


def test_status_counts_data_keys_per_zone_and_version(ctx: Context, runtime: Runtime, keys: KeyStore) -> None:
    _register(ctx, 3)
    for _ in range(2):
        data_keys.dek_for(
            ctx.session,
            keys,
            zone=Zone.TESTIMONY,
            owner_type=OwnerType.INTERVIEW,
            owner_id=uuid.uuid4(),
            create=True,
        )
    data_keys.rotate(runtime, Zone.IDENTITY)
    ctx.session.expire_all()
    rows = {(row.zone, row.version): (row.status, row.deks) for row in data_keys.status(ctx.session, keys)}
    assert rows[(Zone.IDENTITY, 1)] == ("retired", 0)
    assert rows[(Zone.IDENTITY, 2)] == ("primary", 3)
    assert rows[(Zone.TESTIMONY, 1)] == ("primary", 2)
    assert rows[(Zone.ANALYSIS, 1)] == ("primary", 1)  # the project's codebook key, made with the project
    assert rows[(Zone.INDEX, 1)] == ("primary", None)
    assert rows[(Zone.AUDIT, 1)] == ("primary", None)


def test_a_process_with_a_stale_key_store_catches_up_after_a_rotation(
    ctx: Context, runtime: Runtime, keys: KeyStore
) -> None:
    people = _register(ctx, 2)
    stale_reader, stale_writer = _reloaded(keys), _reloaded(keys)
    data_keys.rotate(runtime, Zone.IDENTITY)
    runtime.keystore = stale_reader
    _assert_all_readable(ctx, people)  # meets a version-2 DEK: reloads instead of failing
    assert stale_writer.primary_version(Zone.IDENTITY) == 1
    data_keys.dek_for(
        ctx.session,
        stale_writer,
        zone=Zone.IDENTITY,
        owner_type=OwnerType.PERSON,
        owner_id=uuid.uuid4(),
        create=True,
    )
    assert stale_writer.primary_version(Zone.IDENTITY) == 2
    assert _versions(ctx.session, Zone.IDENTITY) == {2: 3}  # not wrapped under the retired version


def test_shredding_a_zone_destroys_every_earlier_version(
    ctx: Context, runtime: Runtime, keys: KeyStore
) -> None:
    people = _register(ctx, 2)
    data_keys.rotate(runtime, Zone.IDENTITY)
    result = data_keys.shred_zone_history(runtime, Zone.IDENTITY)
    assert (result.version, result.retired, result.destroyed) == (3, (2,), (1, 2))
    assert _state(keys, Zone.IDENTITY) == {
        1: KeyStatus.DESTROYED,
        2: KeyStatus.DESTROYED,
        3: KeyStatus.PRIMARY,
    }
    stored = json.loads(keys.path.read_text())["zones"]["identity"]
    assert [entry["version"] for entry in stored if "wrapped" in entry] == [3]
    _assert_all_readable(ctx, people)
