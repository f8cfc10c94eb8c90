"""Security properties of crypto.aead: known answers, tamper detection, binding to row and column."""

from __future__ import annotations

import os
import struct
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import aead
from crypto.aead import HEADER_SIZE, OVERHEAD, aad_for, open_sealed, read_header, seal
from crypto.errors import CryptoError

KEY = bytes(range(32))
KEY_ID = uuid.UUID("6f1c7e0a-9b1d-4c55-8d7e-2a9b3c4d5e6f")
ROW = uuid.UUID("0b7e4f8e-3f0a-4d7c-9e1b-5a6c7d8e9f00")
AAD = aad_for("people", "name", ROW)

# McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, 96-bit IV, with AAD).
GCM16_KEY = bytes.fromhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
GCM16_IV = bytes.fromhex("cafebabefacedbaddecaf888")
GCM16_PLAINTEXT = bytes.fromhex(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
)
GCM16_AAD = bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
GCM16_CIPHERTEXT = bytes.fromhex(
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
)
GCM16_TAG = bytes.fromhex("76fc6ece0f4e1768cddf8853bb2d551b")


def sealed(plaintext: bytes = b"Farhod Ismoilov", aad: bytes = AAD) -> bytes:
    return seal(KEY, plaintext, aad=aad, key_id=KEY_ID, key_version=3)


def test_primitive_matches_gcm_known_answer() -> None:
    assert AESGCM(GCM16_KEY).encrypt(GCM16_IV, GCM16_PLAINTEXT, GCM16_AAD) == GCM16_CIPHERTEXT + GCM16_TAG


def test_seal_output_matches_documented_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "urandom", lambda n: GCM16_IV)
    blob = seal(GCM16_KEY, GCM16_PLAINTEXT, aad=GCM16_AAD, key_id=KEY_ID, key_version=7)

    header = b"HB" + b"\x01" + KEY_ID.bytes + struct.pack(">I", 7) + GCM16_IV
    gcm_aad = header + struct.pack(">Q", len(GCM16_AAD)) + GCM16_AAD
    assert blob == header + AESGCM(GCM16_KEY).encrypt(GCM16_IV, GCM16_PLAINTEXT, gcm_aad)
    assert len(blob) == len(GCM16_PLAINTEXT) + OVERHEAD
    assert open_sealed(GCM16_KEY, blob, aad=GCM16_AAD) == GCM16_PLAINTEXT


def test_round_trip_and_header() -> None:
    blob = sealed()
    assert open_sealed(KEY, blob, aad=AAD) == b"Farhod Ismoilov"
    assert read_header(blob) == aead.Header(KEY_ID, 3)


def test_plaintext_does_not_appear_in_ciphertext() -> None:
    assert b"Farhod" not in sealed()


def test_empty_plaintext_round_trips() -> None:
    assert open_sealed(KEY, sealed(b""), aad=AAD) == b""


def test_every_flipped_byte_is_rejected() -> None:
    blob = sealed(b"short")
    for position in range(len(blob)):
        for bit in range(8):
            tampered = bytearray(blob)
            tampered[position] ^= 1 << bit
            with pytest.raises(CryptoError):
                open_sealed(KEY, bytes(tampered), aad=AAD)


@settings(max_examples=200, deadline=None)
@given(plaintext=st.binary(max_size=256), aad=st.binary(max_size=64), data=st.data())
def test_any_flipped_bit_is_rejected(plaintext: bytes, aad: bytes, data: st.DataObject) -> None:
    blob = seal(KEY, plaintext, aad=aad, key_id=KEY_ID, key_version=1)
    position = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    mask = data.draw(st.integers(min_value=1, max_value=255))
    tampered = bytearray(blob)
    tampered[position] ^= mask
    with pytest.raises(CryptoError):
        open_sealed(KEY, bytes(tampered), aad=aad)


@pytest.mark.parametrize("length", [0, 1, 2, 3, 22, 23, 35, 50])
def test_truncated_blob_is_rejected(length: int) -> None:
    with pytest.raises(CryptoError):
        open_sealed(KEY, sealed()[:length], aad=AAD)


def test_every_truncation_is_rejected() -> None:
    blob = sealed(b"x")
    for length in range(len(blob)):
        with pytest.raises(CryptoError):
            open_sealed(KEY, blob[:length], aad=AAD)


def test_extended_blob_is_rejected() -> None:
    with pytest.raises(CryptoError):
        open_sealed(KEY, sealed() + b"\x00", aad=AAD)


def test_empty_blob_is_rejected() -> None:
    with pytest.raises(CryptoError):
        read_header(b"")
    with pytest.raises(CryptoError):
        open_sealed(KEY, b"", aad=AAD)


def test_wrong_key_is_rejected() -> None:
    with pytest.raises(CryptoError):
        open_sealed(bytes(32), sealed(), aad=AAD)


def test_swapped_ciphertext_between_rows_is_rejected() -> None:
    other_row = aad_for("people", "name", uuid.uuid4())
    with pytest.raises(CryptoError):
        open_sealed(KEY, sealed(aad=AAD), aad=other_row)


def test_swapped_ciphertext_between_columns_is_rejected() -> None:
    with pytest.raises(CryptoError):
        open_sealed(KEY, sealed(aad=AAD), aad=aad_for("people", "birth_place", ROW))


def test_swapped_ciphertext_between_tables_is_rejected() -> None:
    with pytest.raises(CryptoError):
        open_sealed(KEY, sealed(aad=AAD), aad=aad_for("relatives", "name", ROW))


def test_ciphertext_from_another_schema_version_is_rejected() -> None:
    with pytest.raises(CryptoError):
        open_sealed(KEY, sealed(aad=AAD), aad=aad_for("people", "name", ROW, schema_version=2))


def test_changed_key_version_in_header_is_rejected() -> None:
    blob = bytearray(sealed())
    blob[19:23] = struct.pack(">I", 4)
    with pytest.raises(CryptoError):
        open_sealed(KEY, bytes(blob), aad=AAD)


@pytest.mark.parametrize(
    ("position", "value"),
    [(0, b"X"), (2, b"\x02"), (2, b"\x00"), (19, b"\x00\x00\x00\x00")],
    ids=["bad-magic", "future-format", "zero-format", "zero-version"],
)
def test_unknown_format_is_rejected_by_read_header(position: int, value: bytes) -> None:
    blob = bytearray(sealed())
    blob[position : position + len(value)] = value
    with pytest.raises(CryptoError):
        read_header(bytes(blob))


def test_aad_encoding_is_unambiguous() -> None:
    # Without length prefixes these pairs would concatenate to the same bytes.
    assert aad_for("ab", "c", "1") != aad_for("a", "bc", "1")
    assert aad_for("a", "b", "c1") != aad_for("a", "bc", "1")
    assert aad_for("t", "c", "r", 1) != aad_for("t", "c", "r", 2)


def test_aad_treats_uuid_and_its_canonical_text_alike() -> None:
    assert aad_for("people", "name", ROW) == aad_for("people", "name", str(ROW))


@pytest.mark.parametrize(("table", "column", "row"), [("", "c", "r"), ("t", "", "r"), ("t", "c", "")])
def test_aad_requires_every_part(table: str, column: str, row: str) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        aad_for(table, column, row)


@pytest.mark.parametrize("key", [b"", bytes(16), bytes(24), bytes(33)])
def test_key_of_wrong_length_is_a_programming_error(key: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        seal(key, b"x", aad=AAD, key_id=KEY_ID, key_version=1)
    with pytest.raises(ValueError, match="32 bytes"):
        open_sealed(key, sealed(), aad=AAD)


@pytest.mark.parametrize("version", [0, -1, 2**32])
def test_key_version_must_fit_uint32(version: int) -> None:
    with pytest.raises(ValueError, match="key_version"):
        seal(KEY, b"x", aad=AAD, key_id=KEY_ID, key_version=version)


def test_aad_is_keyword_only_and_required() -> None:
    with pytest.raises(TypeError):
        seal(KEY, b"x", key_id=KEY_ID, key_version=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        open_sealed(KEY, sealed(), AAD)  # type: ignore[call-arg]


def test_no_nonce_repeats_in_a_million_encryptions() -> None:
    # Real seal() calls, reading the nonce back out of each blob.
    start, end = HEADER_SIZE - aead.NONCE_SIZE, HEADER_SIZE
    nonces = {
        int.from_bytes(seal(KEY, b"", aad=b"", key_id=KEY_ID, key_version=1)[start:end])
        for _ in range(1_000_000)
    }
    assert len(nonces) == 1_000_000


def test_two_encryptions_of_one_plaintext_differ() -> None:
    assert sealed() != sealed()


def test_nonce_comes_from_os_urandom(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real_urandom = os.urandom

    def fake_urandom(n: int) -> bytes:
        calls.append(n)
        return real_urandom(n)

    monkeypatch.setattr(os, "urandom", fake_urandom)
    sealed()
    assert calls == [12]
