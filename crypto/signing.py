"""Ed25519 signatures for audit-log checkpoints.

Threat: someone with write access to the database rewrites the hash-chained audit log and recomputes the
chain. Signed checkpoints (sequence number and head hash) exported off the server make that detectable:
they cannot be re-signed without the private key. The signing seed is a 32-byte sub-key of the AUDIT zone
(`KeyStore.zone_key(Zone.AUDIT, ...)`), passed in here; this module never stores it. Verification needs only
the 32-byte raw public key, which is safe to publish; `fingerprint` gives a short id to compare by eye.
`verify` never raises: any malformed key or signature is simply "not valid".
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = ["PUBLIC_KEY_SIZE", "SEED_SIZE", "SIGNATURE_SIZE", "SigningKey", "fingerprint", "verify"]

SEED_SIZE = 32
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


class SigningKey:
    """An Ed25519 private key built from a 32-byte seed."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        """Wrap a cryptography private key; prefer `from_seed`."""
        self._private = private_key

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """Build the key deterministically from a 32-byte seed."""
        if len(seed) != SEED_SIZE:
            raise ValueError("Ed25519 seed must be 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    def public_bytes(self) -> bytes:
        """The 32-byte raw public key."""
        return self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def sign(self, message: bytes) -> bytes:
        """A 64-byte Ed25519 signature over message."""
        return self._private.sign(message)

    def __repr__(self) -> str:
        return f"<SigningKey {fingerprint(self.public_bytes())}>"


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """True if signature is a valid Ed25519 signature of message under the raw public key; never raises."""
    if len(public) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def fingerprint(public: bytes) -> str:
    """Hex of the first 16 bytes of SHA-256 of the raw public key."""
    return hashlib.sha256(public).digest()[:16].hex()
