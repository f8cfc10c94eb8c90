"""Envelope encryption: zones, KEK versions, rotation, and the keystore file."""

from __future__ import annotations

import base64
import json
import os
import stat
import struct
import uuid
from pathlib import Path

import pytest

from crypto import aead
from crypto.aead import aad_for
from crypto.errors import CryptoError, KeyUnavailableError
from crypto.keyring import KeyStatus, KeyStore, Zone, new_dek, open_field, seal_field, zone_key_id
from crypto.providers import FileKeyProvider, PassphraseKeyProvider, new_salt
from tests.crypto.conftest import FAST_KDF

PERSON = uuid.UUID("5d0c8f2e-1a3b-4c5d-8e9f-0a1b2c3d4e5f")
DEK_AAD = aad_for("people", "wrapped_dek", PERSON)
NAME_AAD = aad_for("people", "name", PERSON)


def _statuses(store: KeyStore, zone: Zone) -> dict[int, KeyStatus]:
    return {row.version: row.status for row in store.zone_status() if row.zone is zone}


def test_new_keystore_has_one_primary_version_per_zone(store: KeyStore) -> None:
    rows = store.zone_status()
    assert {(row.zone, row.version, row.status) for row in rows} == {(z, 1, KeyStatus.PRIMARY) for z in Zone}
    assert all(row.created for row in rows)


def test_keystore_file_is_mode_0600(store: KeyStore, keystore_path: Path) -> None:
    assert stat.S_IMODE(keystore_path.stat().st_mode) == 0o600
    store.add_version(Zone.IDENTITY)
    assert stat.S_IMODE(keystore_path.stat().st_mode) == 0o600


def test_keystore_file_holds_no_key_material_in_clear(store: KeyStore, keystore_path: Path) -> None:
    document = json.loads(keystore_path.read_text())
    for zone in Zone:
        (entry,) = document["zones"][zone.value]
        assert set(entry) == {"version", "status", "created", "wrapped"}
        wrapped = base64.b64decode(entry["wrapped"])
        assert len(wrapped) == 32 + aead.OVERHEAD  # a sealed 32-byte KEK, not a raw one


def test_create_refuses_an_existing_keystore(
    store: KeyStore, keystore_path: Path, file_provider: FileKeyProvider
) -> None:
    before = keystore_path.read_bytes()
    with pytest.raises(FileExistsError):
        KeyStore.create(keystore_path, file_provider)
    assert keystore_path.read_bytes() == before


def test_writes_leave_no_temporary_files(store: KeyStore, keystore_path: Path) -> None:
    version = store.add_version(Zone.TESTIMONY)
    store.retire(Zone.TESTIMONY, version - 1)
    store.destroy(Zone.TESTIMONY, version - 1)
    assert [p.name for p in keystore_path.parent.iterdir() if p.name.startswith(".")] == []


def test_failed_write_leaves_file_and_memory_unchanged(
    store: KeyStore, keystore_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = keystore_path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.add_version(Zone.IDENTITY)
    assert keystore_path.read_bytes() == before
    assert store.primary_version(Zone.IDENTITY) == 1
    assert [p.name for p in keystore_path.parent.iterdir() if p.name.startswith(".")] == []


def test_dek_round_trips_through_a_reloaded_keystore(
    store: KeyStore, keystore_path: Path, file_provider: FileKeyProvider
) -> None:
    dek = store.new_dek()
    wrapped = store.wrap_dek(Zone.IDENTITY, dek, aad=DEK_AAD)
    reloaded = KeyStore.load(keystore_path, file_provider)
    assert reloaded.unwrap_dek(Zone.IDENTITY, wrapped, aad=DEK_AAD) == dek


def test_wrapped_dek_names_zone_and_version(store: KeyStore) -> None:
    wrapped = store.wrap_dek(Zone.IDENTITY, new_dek(), aad=DEK_AAD)
    assert aead.read_header(wrapped) == aead.Header(zone_key_id(Zone.IDENTITY), 1)
    assert store.wrapped_version(wrapped) == 1


def test_zone_key_ids_are_fixed_and_distinct() -> None:
    ids = {zone_key_id(zone) for zone in Zone}
    assert len(ids) == len(Zone)
    assert zone_key_id(Zone.IDENTITY) == uuid.uuid5(
        uuid.uuid5(uuid.NAMESPACE_URL, "harbour:zone"), "identity"
    )


def test_dek_wrapped_for_one_zone_is_rejected_in_another(store: KeyStore) -> None:
    wrapped = store.wrap_dek(Zone.IDENTITY, new_dek(), aad=DEK_AAD)
    with pytest.raises(CryptoError):
        store.unwrap_dek(Zone.TESTIMONY, wrapped, aad=DEK_AAD)


def test_dek_moved_to_another_row_is_rejected(store: KeyStore) -> None:
    wrapped = store.wrap_dek(Zone.IDENTITY, new_dek(), aad=DEK_AAD)
    with pytest.raises(CryptoError):
        store.unwrap_dek(Zone.IDENTITY, wrapped, aad=aad_for("people", "wrapped_dek", uuid.uuid4()))


def test_unknown_version_is_rejected(store: KeyStore) -> None:
    wrapped = store.wrap_dek(Zone.IDENTITY, new_dek(), aad=DEK_AAD)
    forged = wrapped[:19] + struct.pack(">I", 2) + wrapped[23:]
    with pytest.raises(CryptoError):
        store.unwrap_dek(Zone.IDENTITY, forged, aad=DEK_AAD)


def test_dek_must_be_32_bytes(store: KeyStore) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        store.wrap_dek(Zone.IDENTITY, bytes(16), aad=DEK_AAD)


def test_field_round_trip_under_a_dek() -> None:
    dek, dek_id = new_dek(), uuid.uuid4()
    blob = seal_field(dek, "Фарход".encode(), aad=NAME_AAD, dek_id=dek_id)
    assert aead.read_header(blob) == aead.Header(dek_id, 1)
    assert open_field(dek, blob, aad=NAME_AAD).decode() == "Фарход"
    with pytest.raises(CryptoError):
        open_field(new_dek(), blob, aad=NAME_AAD)
    with pytest.raises(CryptoError):
        open_field(dek, blob, aad=aad_for("people", "alias", PERSON))


def test_rotation_keeps_old_deks_readable_until_retired(store: KeyStore) -> None:
    dek = store.new_dek()
    old = store.wrap_dek(Zone.IDENTITY, dek, aad=DEK_AAD)

    assert store.add_version(Zone.IDENTITY) == 2
    assert _statuses(store, Zone.IDENTITY) == {1: KeyStatus.ACTIVE, 2: KeyStatus.PRIMARY}
    assert store.unwrap_dek(Zone.IDENTITY, old, aad=DEK_AAD) == dek
    assert store.wrapped_version(store.wrap_dek(Zone.IDENTITY, dek, aad=DEK_AAD)) == 2

    rewrapped = store.rewrap_dek(Zone.IDENTITY, old, aad=DEK_AAD)
    assert store.wrapped_version(rewrapped) == 2
    assert store.unwrap_dek(Zone.IDENTITY, rewrapped, aad=DEK_AAD) == dek

    store.retire(Zone.IDENTITY, 1)
    assert _statuses(store, Zone.IDENTITY) == {1: KeyStatus.RETIRED, 2: KeyStatus.PRIMARY}
    with pytest.raises(CryptoError):
        store.unwrap_dek(Zone.IDENTITY, old, aad=DEK_AAD)
    assert store.unwrap_dek(Zone.IDENTITY, rewrapped, aad=DEK_AAD) == dek


def test_rotation_touches_only_its_zone(store: KeyStore) -> None:
    store.add_version(Zone.IDENTITY)
    assert all(store.primary_version(zone) == 1 for zone in Zone if zone is not Zone.IDENTITY)


def test_rewrap_is_idempotent_at_the_primary_version(store: KeyStore) -> None:
    wrapped = store.wrap_dek(Zone.TESTIMONY, new_dek(), aad=DEK_AAD)
    assert store.rewrap_dek(Zone.TESTIMONY, wrapped, aad=DEK_AAD) is wrapped
    store.add_version(Zone.TESTIMONY)
    once = store.rewrap_dek(Zone.TESTIMONY, wrapped, aad=DEK_AAD)
    assert store.rewrap_dek(Zone.TESTIMONY, once, aad=DEK_AAD) is once


def test_rewrap_refuses_a_tampered_dek_even_at_primary(store: KeyStore) -> None:
    wrapped = bytearray(store.wrap_dek(Zone.TESTIMONY, new_dek(), aad=DEK_AAD))
    wrapped[-1] ^= 1
    with pytest.raises(CryptoError):
        store.rewrap_dek(Zone.TESTIMONY, bytes(wrapped), aad=DEK_AAD)


def test_destroyed_version_is_gone_from_the_file(
    store: KeyStore, keystore_path: Path, file_provider: FileKeyProvider
) -> None:
    old = store.wrap_dek(Zone.IDENTITY, new_dek(), aad=DEK_AAD)
    old_material = json.loads(keystore_path.read_text())["zones"]["identity"][0]["wrapped"]
    store.add_version(Zone.IDENTITY)
    store.retire(Zone.IDENTITY, 1)
    store.destroy(Zone.IDENTITY, 1)

    text = keystore_path.read_text()
    assert old_material not in text
    entry = json.loads(text)["zones"]["identity"][0]
    assert entry["status"] == "destroyed"
    assert "wrapped" not in entry
    reloaded = KeyStore.load(keystore_path, file_provider)
    assert _statuses(reloaded, Zone.IDENTITY) == {1: KeyStatus.DESTROYED, 2: KeyStatus.PRIMARY}
    with pytest.raises(CryptoError):
        reloaded.unwrap_dek(Zone.IDENTITY, old, aad=DEK_AAD)


def test_retired_version_stays_retired_after_reload(
    store: KeyStore, keystore_path: Path, file_provider: FileKeyProvider
) -> None:
    old = store.wrap_dek(Zone.ANALYSIS, new_dek(), aad=DEK_AAD)
    store.add_version(Zone.ANALYSIS)
    store.retire(Zone.ANALYSIS, 1)
    reloaded = KeyStore.load(keystore_path, file_provider)
    with pytest.raises(CryptoError):
        reloaded.unwrap_dek(Zone.ANALYSIS, old, aad=DEK_AAD)


def test_primary_cannot_be_retired_or_destroyed(store: KeyStore) -> None:
    with pytest.raises(ValueError, match="primary"):
        store.retire(Zone.IDENTITY, 1)
    with pytest.raises(ValueError, match="retired"):
        store.destroy(Zone.IDENTITY, 1)


def test_active_version_must_be_retired_before_destruction(store: KeyStore) -> None:
    store.add_version(Zone.IDENTITY)
    with pytest.raises(ValueError, match="retired"):
        store.destroy(Zone.IDENTITY, 1)


def test_retire_and_destroy_are_idempotent(store: KeyStore) -> None:
    store.add_version(Zone.IDENTITY)
    store.retire(Zone.IDENTITY, 1)
    store.retire(Zone.IDENTITY, 1)
    store.destroy(Zone.IDENTITY, 1)
    store.destroy(Zone.IDENTITY, 1)
    with pytest.raises(ValueError, match="destroyed"):
        store.retire(Zone.IDENTITY, 1)


def test_unknown_version_cannot_be_retired(store: KeyStore) -> None:
    with pytest.raises(ValueError, match="no version 7"):
        store.retire(Zone.IDENTITY, 7)


def test_reload_sees_rotation_by_another_process(
    store: KeyStore, keystore_path: Path, file_provider: FileKeyProvider
) -> None:
    other = KeyStore.load(keystore_path, file_provider)
    other.add_version(Zone.INDEX)
    assert store.primary_version(Zone.INDEX) == 1
    store.reload()
    assert store.primary_version(Zone.INDEX) == 2


def test_wrong_root_key_cannot_open_the_keystore(
    store: KeyStore, keystore_path: Path, tmp_path: Path
) -> None:
    other = FileKeyProvider.create(tmp_path / "other.key")
    with pytest.raises(KeyUnavailableError, match="cannot open keystore"):
        KeyStore.load(keystore_path, other)


def test_kek_copied_to_another_zone_does_not_unwrap(
    store: KeyStore, keystore_path: Path, file_provider: FileKeyProvider
) -> None:
    document = json.loads(keystore_path.read_text())
    document["zones"]["identity"][0]["wrapped"] = document["zones"]["index"][0]["wrapped"]
    keystore_path.write_text(json.dumps(document))
    with pytest.raises(KeyUnavailableError, match="zone identity"):
        KeyStore.load(keystore_path, file_provider)


@pytest.mark.parametrize(
    "damage",
    [
        "not json",
        "[]",
        '{"format": "harbour-keystore", "format_version": 2, "zones": {}}',
        '{"format": "harbour-keystore", "format_version": 1, "zones": {}}',
    ],
)
def test_malformed_keystore_is_reported(
    keystore_path: Path, file_provider: FileKeyProvider, damage: str
) -> None:
    keystore_path.write_text(damage)
    with pytest.raises(KeyUnavailableError, match="malformed"):
        KeyStore.load(keystore_path, file_provider)


def test_keystore_with_two_primaries_is_refused(
    store: KeyStore, keystore_path: Path, file_provider: FileKeyProvider
) -> None:
    store.add_version(Zone.AUDIT)
    document = json.loads(keystore_path.read_text())
    document["zones"]["audit"][0]["status"] = "primary"
    keystore_path.write_text(json.dumps(document))
    with pytest.raises(KeyUnavailableError, match="exactly one primary"):
        KeyStore.load(keystore_path, file_provider)


def test_missing_keystore_is_reported(keystore_path: Path, file_provider: FileKeyProvider) -> None:
    with pytest.raises(KeyUnavailableError, match="not found"):
        KeyStore.load(keystore_path, file_provider)


def test_zone_keys_are_stable_and_separated(
    store: KeyStore, keystore_path: Path, file_provider: FileKeyProvider
) -> None:
    index_key = store.zone_key(Zone.INDEX, "blind-index:people.name")
    assert len(index_key) == 32
    assert (
        KeyStore.load(keystore_path, file_provider).zone_key(Zone.INDEX, "blind-index:people.name")
        == index_key
    )
    assert store.zone_key(Zone.INDEX, "search-token") != index_key
    assert store.zone_key(Zone.AUDIT, "blind-index:people.name") != index_key


def test_zone_key_follows_the_primary_version(store: KeyStore) -> None:
    first = store.zone_key(Zone.AUDIT, "ed25519-seed")
    store.add_version(Zone.AUDIT)
    assert store.zone_key(Zone.AUDIT, "ed25519-seed") != first
    assert store.zone_key(Zone.AUDIT, "ed25519-seed", version=1) == first
    store.retire(Zone.AUDIT, 1)
    with pytest.raises(ValueError, match="not usable"):
        store.zone_key(Zone.AUDIT, "ed25519-seed", version=1)


def test_change_provider_rewraps_every_kek(
    store: KeyStore, keystore_path: Path, file_provider: FileKeyProvider
) -> None:
    dek = new_dek()
    store.add_version(Zone.IDENTITY)
    active = store.wrap_dek(Zone.IDENTITY, dek, aad=DEK_AAD)
    store.add_version(Zone.IDENTITY)
    store.retire(Zone.IDENTITY, 1)
    before = {e["version"]: e["wrapped"] for e in json.loads(keystore_path.read_text())["zones"]["identity"]}
    passphrase = PassphraseKeyProvider.derive("new root", salt=new_salt(), params=FAST_KDF)

    store.change_provider(passphrase)

    after = {e["version"]: e["wrapped"] for e in json.loads(keystore_path.read_text())["zones"]["identity"]}
    assert all(after[version] != before[version] for version in (1, 2, 3))  # retired one included
    reloaded = KeyStore.load(keystore_path, passphrase)
    assert reloaded.unwrap_dek(Zone.IDENTITY, active, aad=DEK_AAD) == dek
    assert '"provider": "passphrase"' in keystore_path.read_text()
    with pytest.raises(KeyUnavailableError):
        KeyStore.load(keystore_path, file_provider)


def test_repr_shows_no_key_material(store: KeyStore) -> None:
    text = repr(store) + repr(store.zone_status())
    assert "wrapped" not in text
    assert store.zone_key(Zone.INDEX, "x").hex() not in text
