"""Ed25519 checkpoint signatures: known answers, verification that never raises, fingerprints."""

from __future__ import annotations

import pytest

from crypto.signing import SigningKey, fingerprint, verify

# RFC 8032 section 7.1, test 1 (empty message).
RFC_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)
CHECKPOINT = b"harbour-checkpoint-v1\x00seq=1042\x00head=9f86d081884c7d65"


def test_rfc8032_known_answer() -> None:
    key = SigningKey.from_seed(RFC_SEED)
    assert key.public_bytes() == RFC_PUBLIC
    assert key.sign(b"") == RFC_SIGNATURE
    assert verify(RFC_PUBLIC, b"", RFC_SIGNATURE)


def test_signature_verifies_and_is_deterministic() -> None:
    key = SigningKey.from_seed(bytes(range(32)))
    signature = key.sign(CHECKPOINT)
    assert len(signature) == 64
    assert key.sign(CHECKPOINT) == signature
    assert verify(key.public_bytes(), CHECKPOINT, signature)


def test_altered_checkpoint_does_not_verify() -> None:
    key = SigningKey.from_seed(bytes(range(32)))
    signature = key.sign(CHECKPOINT)
    assert not verify(key.public_bytes(), CHECKPOINT.replace(b"1042", b"1043"), signature)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    assert not verify(key.public_bytes(), CHECKPOINT, flipped)


def test_another_key_does_not_verify() -> None:
    signature = SigningKey.from_seed(bytes(32)).sign(CHECKPOINT)
    assert not verify(SigningKey.from_seed(bytes(range(32))).public_bytes(), CHECKPOINT, signature)


@pytest.mark.parametrize(
    ("public", "signature"),
    [
        (b"", b""),
        (bytes(31), bytes(64)),
        (bytes(32), bytes(63)),
        (b"\xff" * 32, b"\xff" * 64),
        (bytes(33), bytes(64)),
    ],
)
def test_garbage_never_raises(public: bytes, signature: bytes) -> None:
    assert verify(public, CHECKPOINT, signature) is False


@pytest.mark.parametrize("seed", [b"", bytes(16), bytes(31), bytes(33), bytes(64)])
def test_seed_must_be_32_bytes(seed: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SigningKey.from_seed(seed)


def test_fingerprint_is_16_bytes_of_sha256_in_hex() -> None:
    assert fingerprint(RFC_PUBLIC) == "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9"[:32]


def test_repr_shows_only_the_fingerprint() -> None:
    key = SigningKey.from_seed(RFC_SEED)
    assert RFC_SEED.hex() not in repr(key)
    assert fingerprint(RFC_PUBLIC) in repr(key)
