"""Root-key providers in software: the key file and the passphrase."""

from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path

import pytest

from crypto.errors import CryptoError, KeyFilePermissionError, KeyUnavailableError
from crypto.providers import (
    FileKeyProvider,
    KdfParams,
    PassphraseKeyProvider,
    RootKeyProvider,
    make_check,
    new_salt,
    read_passphrase_file,
    verify_check,
)
from tests.crypto.conftest import FAST_KDF

AAD = b"zone=identity;version=1"
SECRET = bytes(range(32))


def test_file_key_is_created_with_mode_0600_and_32_bytes(key_path: Path) -> None:
    FileKeyProvider.create(key_path)
    info = key_path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_size == 32


def test_file_key_creation_ignores_a_permissive_umask(key_path: Path) -> None:
    old = os.umask(0)
    try:
        FileKeyProvider.create(key_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_file_key_creation_never_overwrites(key_path: Path) -> None:
    FileKeyProvider.create(key_path)
    original = key_path.read_bytes()
    with pytest.raises(FileExistsError):
        FileKeyProvider.create(key_path)
    assert key_path.read_bytes() == original
    assert sorted(p.name for p in key_path.parent.iterdir()) == [key_path.name]


def test_file_key_round_trips_after_reload(key_path: Path) -> None:
    blob = FileKeyProvider.create(key_path).wrap(SECRET, aad=AAD)
    assert FileKeyProvider.load(key_path).unwrap(blob, aad=AAD) == SECRET


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o700, 0o610])
def test_file_provider_refuses_key_file_others_can_access(key_path: Path, mode: int) -> None:
    FileKeyProvider.create(key_path)
    key_path.chmod(mode)
    if mode & 0o077 == 0:
        FileKeyProvider.load(key_path)  # 0700: owner-only is fine, even if odd
        return
    with pytest.raises(KeyFilePermissionError, match="chmod 600"):
        FileKeyProvider.load(key_path)


def test_file_provider_accepts_read_only_owner_file(key_path: Path) -> None:
    FileKeyProvider.create(key_path)
    key_path.chmod(0o400)
    FileKeyProvider.load(key_path)


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_file_provider_refuses_key_file_of_wrong_size(key_path: Path, size: int) -> None:
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"k" * size)
    os.close(fd)
    with pytest.raises(KeyUnavailableError, match="32 bytes"):
        FileKeyProvider.load(key_path)


def test_file_provider_reports_missing_key_file(key_path: Path) -> None:
    with pytest.raises(KeyUnavailableError, match="not found"):
        FileKeyProvider.load(key_path)


def test_file_provider_refuses_a_symlinked_key_file(key_path: Path) -> None:
    target = key_path.with_name("real.key")
    FileKeyProvider.create(target)
    key_path.symlink_to(target)
    with pytest.raises(KeyUnavailableError):
        FileKeyProvider.load(key_path)


def test_permission_error_does_not_contain_key_material(key_path: Path) -> None:
    FileKeyProvider.create(key_path)
    key = key_path.read_bytes()
    key_path.chmod(0o644)
    with pytest.raises(KeyFilePermissionError) as caught:
        FileKeyProvider.load(key_path)
    assert key.hex() not in str(caught.value)
    assert repr(key) not in str(caught.value)


def test_file_provider_repr_hides_the_key(file_provider: FileKeyProvider, key_path: Path) -> None:
    assert key_path.read_bytes().hex() not in repr(file_provider)
    assert file_provider.describe() == "file"


def test_another_file_key_cannot_unwrap(tmp_path: Path, file_provider: FileKeyProvider) -> None:
    other = FileKeyProvider.create(tmp_path / "other.key")
    with pytest.raises(CryptoError):
        other.unwrap(file_provider.wrap(SECRET, aad=AAD), aad=AAD)


def test_wrapped_secret_is_bound_to_its_aad(file_provider: FileKeyProvider) -> None:
    blob = file_provider.wrap(SECRET, aad=AAD)
    with pytest.raises(CryptoError):
        file_provider.unwrap(blob, aad=b"zone=identity;version=2")


def test_providers_satisfy_the_protocol(file_provider: FileKeyProvider) -> None:
    passphrase = PassphraseKeyProvider.derive("pass", salt=new_salt(), params=FAST_KDF)
    assert isinstance(file_provider, RootKeyProvider)
    assert isinstance(passphrase, RootKeyProvider)


def test_passphrase_derivation_is_repeatable() -> None:
    salt = new_salt()
    blob = PassphraseKeyProvider.derive("correct horse", salt=salt, params=FAST_KDF).wrap(SECRET, aad=AAD)
    again = PassphraseKeyProvider.derive("correct horse", salt=salt, params=FAST_KDF)
    assert again.unwrap(blob, aad=AAD) == SECRET
    assert again.describe() == "passphrase"


def test_wrong_passphrase_is_detected_at_unlock() -> None:
    salt = new_salt()
    check = make_check(PassphraseKeyProvider.derive("correct horse", salt=salt, params=FAST_KDF))
    verify_check(PassphraseKeyProvider.derive("correct horse", salt=salt, params=FAST_KDF), check)
    wrong = PassphraseKeyProvider.derive("correct hose", salt=salt, params=FAST_KDF)
    with pytest.raises(KeyUnavailableError, match="wrong passphrase"):
        verify_check(wrong, check)


def test_different_salt_derives_a_different_key() -> None:
    blob = PassphraseKeyProvider.derive("pass", salt=new_salt(), params=FAST_KDF).wrap(SECRET, aad=AAD)
    with pytest.raises(CryptoError):
        PassphraseKeyProvider.derive("pass", salt=new_salt(), params=FAST_KDF).unwrap(blob, aad=AAD)


def test_different_kdf_parameters_derive_a_different_key() -> None:
    salt = new_salt()
    blob = PassphraseKeyProvider.derive("pass", salt=salt, params=FAST_KDF).wrap(SECRET, aad=AAD)
    slower = KdfParams(memory_kib=16, time_cost=2, parallelism=1)
    with pytest.raises(CryptoError):
        PassphraseKeyProvider.derive("pass", salt=salt, params=slower).unwrap(blob, aad=AAD)


def test_passphrase_in_nfc_and_nfd_derives_one_key() -> None:
    salt = new_salt()
    phrase = "Tоshkent ko'chasi, Dushanbe — Ёқуб"
    nfc = PassphraseKeyProvider.derive(unicodedata.normalize("NFC", phrase), salt=salt, params=FAST_KDF)
    nfd = PassphraseKeyProvider.derive(unicodedata.normalize("NFD", phrase), salt=salt, params=FAST_KDF)
    assert nfd.unwrap(nfc.wrap(SECRET, aad=AAD), aad=AAD) == SECRET


def test_file_and_passphrase_blobs_do_not_cross(file_provider: FileKeyProvider) -> None:
    passphrase = PassphraseKeyProvider.derive("pass", salt=new_salt(), params=FAST_KDF)
    with pytest.raises(CryptoError):
        passphrase.unwrap(file_provider.wrap(SECRET, aad=AAD), aad=AAD)
    with pytest.raises(CryptoError):
        file_provider.unwrap(passphrase.wrap(SECRET, aad=AAD), aad=AAD)


@pytest.mark.parametrize("salt", [b"", bytes(8), bytes(15), bytes(17), bytes(32)])
def test_salt_must_be_16_bytes(salt: bytes) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        PassphraseKeyProvider.derive("pass", salt=salt, params=FAST_KDF)


def test_empty_passphrase_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        PassphraseKeyProvider.derive("", salt=new_salt(), params=FAST_KDF)


def test_kdf_production_defaults() -> None:
    params = KdfParams()
    assert params.memory_kib >= 65536
    assert params.time_cost >= 3
    assert params.parallelism == 4


def _write_private(path: Path, content: bytes, mode: int = 0o600) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.write(fd, content)
    os.close(fd)
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"hunter2 horse\n", "hunter2 horse"),
        (b"hunter2 horse", "hunter2 horse"),
        (b"hunter2 horse\r\n", "hunter2 horse"),
        (b"hunter2 horse\n\n", "hunter2 horse\n"),
        (b"  spaced  \n", "  spaced  "),
        ("Ёқуб ko'chasi\n".encode(), "Ёқуб ko'chasi"),
    ],
)
def test_passphrase_file_drops_exactly_one_trailing_newline(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    assert read_passphrase_file(_write_private(tmp_path / "pass", content)) == expected


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_passphrase_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = _write_private(tmp_path / "pass", b"secret phrase\n", mode)
    with pytest.raises(KeyFilePermissionError) as caught:
        read_passphrase_file(path)
    assert "secret phrase" not in str(caught.value)


@pytest.mark.parametrize("content", [b"", b"\n"])
def test_empty_passphrase_file_is_refused(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(KeyUnavailableError, match="empty"):
        read_passphrase_file(_write_private(tmp_path / "pass", content))


def test_missing_passphrase_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(KeyUnavailableError, match="not found"):
        read_passphrase_file(tmp_path / "absent")
