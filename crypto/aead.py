"""AES-256-GCM with a versioned, authenticated header.

Threat: an attacker with the database (or a backup of it) can read, swap, truncate and alter ciphertexts,
but holds no keys. They must learn nothing about plaintexts beyond their length, and any change, including
moving a valid ciphertext to another row or column, must fail to decrypt. Every failure is one opaque
`CryptoError`.

Byte layout (all integers big-endian)::

    offset  size  field
    0       2     magic b"HB"
    2       1     format version, 0x01
    3       16    key id (UUID bytes): which key sealed this blob
    19      4     key version (uint32, >= 1)
    23      12    nonce, random per encryption (os.urandom)
    35      n     ciphertext (same length as the plaintext)
    35+n    16    GCM tag

The GCM associated data is ``header || uint64(len(aad)) || aad`` where ``header`` is bytes 0..35 (nonce
included). The header is therefore authenticated: changing the key id or version makes decryption fail
rather than silently selecting another key. The caller's `aad` is length-prefixed so that the split
between header and caller data can never be ambiguous, even if the header grows in a later format.

Nonces: 96 random bits per message. With random nonces NIST SP 800-38D caps one key at 2**32 messages;
Harbour seals a handful of values per row under per-interview or per-person data keys, and key-encryption
keys are rotated, so the bound is far away. `aad_for` builds the canonical associated data (table, column,
row id, schema version) that binds a field ciphertext to its place.

Keys are 32-byte `bytes` passed in by the caller; this module never stores or derives them. A key of the
wrong length is a programming error (`ValueError`), not a decryption failure.
"""

from __future__ import annotations

import os
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.errors import CryptoError

__all__ = [
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "KEY_SIZE",
    "MAGIC",
    "NONCE_SIZE",
    "OVERHEAD",
    "TAG_SIZE",
    "Header",
    "aad_for",
    "length_prefixed",
    "open_sealed",
    "open_with",
    "read_header",
    "seal",
    "seal_with",
]

MAGIC = b"HB"
FORMAT_VERSION = 1
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
_PREFIX = struct.Struct(">2sB16sI")
HEADER_SIZE = _PREFIX.size + NONCE_SIZE  # 35: everything before the ciphertext
OVERHEAD = HEADER_SIZE + TAG_SIZE  # 51 bytes added to every plaintext
_MAX_KEY_VERSION = 2**32 - 1
_AAD_DOMAIN = b"harbour-aad-v1"

# (nonce, plaintext, gcm_aad) -> ciphertext || tag, and (nonce, ciphertext || tag, gcm_aad) -> plaintext.
# A decrypt callable must raise CryptoError (and nothing else) when authentication fails.
EncryptFn = Callable[[bytes, bytes, bytes], bytes]
DecryptFn = Callable[[bytes, bytes, bytes], bytes]


@dataclass(frozen=True, slots=True)
class Header:
    """The public part of a sealed blob: which key (id and version) sealed it."""

    key_id: uuid.UUID
    key_version: int


def length_prefixed(*parts: bytes) -> bytes:
    """Concatenate parts, each preceded by its uint32 length, so no two part lists encode alike."""
    return b"".join(struct.pack(">I", len(part)) + part for part in parts)


def aad_for(table: str, column: str, row_id: uuid.UUID | str, schema_version: int = 1) -> bytes:
    """Canonical associated data binding a ciphertext to one table, column, row and schema version."""
    if not table or not column:
        raise ValueError("table and column must be non-empty")
    if not 0 <= schema_version <= _MAX_KEY_VERSION:
        raise ValueError("schema_version out of range")
    # A UUID is encoded as its canonical lowercase hyphenated text, so str(row.id) and row.id agree.
    # Other strings are used verbatim: callers must not mix spellings of the same id.
    row = str(row_id) if isinstance(row_id, uuid.UUID) else row_id
    if not row:
        raise ValueError("row_id must be non-empty")
    return length_prefixed(
        _AAD_DOMAIN,
        table.encode("utf-8"),
        column.encode("utf-8"),
        row.encode("utf-8"),
        struct.pack(">I", schema_version),
    )


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_SIZE:
        raise ValueError("key must be 32 bytes")


def _gcm_aad(header: bytes, aad: bytes) -> bytes:
    return header + struct.pack(">Q", len(aad)) + aad


def seal_with(
    encrypt: EncryptFn, plaintext: bytes, *, aad: bytes, key_id: uuid.UUID, key_version: int
) -> bytes:
    """Seal with a caller-supplied AES-GCM implementation (e.g. one running inside an HSM)."""
    if not 1 <= key_version <= _MAX_KEY_VERSION:
        raise ValueError("key_version must fit in uint32 and be at least 1")
    nonce = os.urandom(NONCE_SIZE)
    header = _PREFIX.pack(MAGIC, FORMAT_VERSION, key_id.bytes, key_version) + nonce
    body = encrypt(nonce, plaintext, _gcm_aad(header, aad))
    if len(body) != len(plaintext) + TAG_SIZE:
        # A provider returning anything else is broken; refuse rather than write an unreadable blob.
        raise RuntimeError("AES-GCM implementation returned an unexpected length")
    return header + body


def _split(blob: bytes) -> tuple[Header, bytes, bytes, bytes]:
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise CryptoError()
    blob = bytes(blob)
    if len(blob) < OVERHEAD:
        raise CryptoError()
    magic, version, key_id, key_version = _PREFIX.unpack_from(blob)
    if magic != MAGIC or version != FORMAT_VERSION or key_version == 0:
        raise CryptoError()
    header = blob[:HEADER_SIZE]
    nonce = blob[_PREFIX.size : HEADER_SIZE]
    return Header(uuid.UUID(bytes=key_id), key_version), header, nonce, blob[HEADER_SIZE:]


def read_header(blob: bytes) -> Header:
    """Return the key id and version of a sealed blob without decrypting it (CryptoError if malformed)."""
    return _split(blob)[0]


def open_with(decrypt: DecryptFn, blob: bytes, *, aad: bytes) -> bytes:
    """Open a blob with a caller-supplied AES-GCM implementation; CryptoError on any failure."""
    _, header, nonce, body = _split(blob)
    return decrypt(nonce, body, _gcm_aad(header, aad))


def seal(key: bytes, plaintext: bytes, *, aad: bytes, key_id: uuid.UUID, key_version: int) -> bytes:
    """Encrypt and authenticate plaintext under a 32-byte key, bound to aad and to the key id/version."""
    _check_key(key)
    return seal_with(AESGCM(key).encrypt, plaintext, aad=aad, key_id=key_id, key_version=key_version)


def open_sealed(key: bytes, blob: bytes, *, aad: bytes) -> bytes:
    """Decrypt a blob made by `seal`; raises CryptoError on any mismatch, tampering or malformed input."""
    _check_key(key)
    cipher = AESGCM(key)

    def _decrypt(nonce: bytes, body: bytes, gcm_aad: bytes) -> bytes:
        try:
            return cipher.decrypt(nonce, body, gcm_aad)
        except InvalidTag:
            raise CryptoError() from None

    return open_with(_decrypt, blob, aad=aad)
