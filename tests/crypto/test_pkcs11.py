"""The PKCS#11 root-key provider against a real SoftHSM2 token."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pkcs11
import pytest
from pkcs11 import Attribute, KeyType, ObjectClass

from crypto.errors import CryptoError, KeyUnavailableError
from crypto.keyring import KeyStore, Zone
from crypto.providers import FileKeyProvider, Pkcs11KeyProvider, RootKeyProvider, make_check, verify_check
from tests.crypto.conftest import SoftHsmToken

AAD = b"zone=identity;version=1"
SECRET = bytes(range(32))


@pytest.fixture
def token_session(
    softhsm_token: SoftHsmToken, pkcs11_provider: Pkcs11KeyProvider
) -> Iterator[pkcs11.Session]:
    """A second, unauthenticated session for inspecting the key the provider logged in to use."""
    token = pkcs11.lib(softhsm_token.lib_path).get_token(token_label=softhsm_token.label)
    # Login state is shared per process, so this session sees the provider's private objects.
    session = token.open()
    yield session
    session.close()


def test_generated_root_key_never_leaves_the_token(token_session: pkcs11.Session) -> None:
    key = token_session.get_key(
        object_class=ObjectClass.SECRET_KEY, key_type=KeyType.AES, label="harbour-root"
    )
    assert key[Attribute.EXTRACTABLE] is False
    assert key[Attribute.SENSITIVE] is True
    assert key[Attribute.TOKEN] is True
    assert key[Attribute.NEVER_EXTRACTABLE] is True
    assert key[Attribute.VALUE_LEN] == 32
    with pytest.raises(pkcs11.PKCS11Error):
        key[Attribute.VALUE]


def test_wrap_round_trips_inside_the_token(pkcs11_provider: Pkcs11KeyProvider) -> None:
    blob = pkcs11_provider.wrap(SECRET, aad=AAD)
    assert SECRET not in blob
    assert pkcs11_provider.unwrap(blob, aad=AAD) == SECRET


def test_provider_satisfies_the_protocol(pkcs11_provider: Pkcs11KeyProvider) -> None:
    assert isinstance(pkcs11_provider, RootKeyProvider)
    assert pkcs11_provider.describe() == "pkcs11:harbour-test"


def test_wrong_aad_is_an_opaque_error(pkcs11_provider: Pkcs11KeyProvider) -> None:
    blob = pkcs11_provider.wrap(SECRET, aad=AAD)
    with pytest.raises(CryptoError) as caught:
        pkcs11_provider.unwrap(blob, aad=b"zone=identity;version=2")
    assert str(caught.value) == "integrity check failed"
    assert caught.value.__cause__ is None


def test_every_flipped_byte_is_rejected_by_the_token(pkcs11_provider: Pkcs11KeyProvider) -> None:
    blob = pkcs11_provider.wrap(b"k", aad=AAD)
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(CryptoError):
            pkcs11_provider.unwrap(bytes(tampered), aad=AAD)


@pytest.mark.parametrize("length", [0, 10, 35, 50])
def test_truncated_blob_is_rejected_by_the_token(pkcs11_provider: Pkcs11KeyProvider, length: int) -> None:
    with pytest.raises(CryptoError):
        pkcs11_provider.unwrap(pkcs11_provider.wrap(SECRET, aad=AAD)[:length], aad=AAD)


def test_file_provider_blob_is_rejected(
    pkcs11_provider: Pkcs11KeyProvider, file_provider: FileKeyProvider
) -> None:
    with pytest.raises(CryptoError):
        pkcs11_provider.unwrap(file_provider.wrap(SECRET, aad=AAD), aad=AAD)
    with pytest.raises(CryptoError):
        file_provider.unwrap(pkcs11_provider.wrap(SECRET, aad=AAD), aad=AAD)


def test_root_key_persists_across_sessions(softhsm_token: SoftHsmToken) -> None:
    with Pkcs11KeyProvider.open(
        softhsm_token.lib_path, softhsm_token.label, softhsm_token.pin, create=True
    ) as first:
        blob = first.wrap(SECRET, aad=AAD)
    with Pkcs11KeyProvider.open(softhsm_token.lib_path, softhsm_token.label, softhsm_token.pin) as second:
        assert second.unwrap(blob, aad=AAD) == SECRET


def test_keys_with_other_labels_are_separate(softhsm_token: SoftHsmToken) -> None:
    lib, label, pin = softhsm_token.lib_path, softhsm_token.label, softhsm_token.pin
    with Pkcs11KeyProvider.open(lib, label, pin, key_label="harbour-root-a", create=True) as first:
        blob = first.wrap(SECRET, aad=AAD)
    with (
        Pkcs11KeyProvider.open(lib, label, pin, key_label="harbour-root-b", create=True) as second,
        pytest.raises(CryptoError),
    ):
        second.unwrap(blob, aad=AAD)


def test_missing_key_is_not_created_without_create(softhsm_token: SoftHsmToken) -> None:
    with pytest.raises(KeyUnavailableError, match="not found"):
        Pkcs11KeyProvider.open(
            softhsm_token.lib_path, softhsm_token.label, softhsm_token.pin, key_label="absent"
        )


def test_wrong_pin_is_reported_without_the_pin(softhsm_token: SoftHsmToken) -> None:
    with pytest.raises(KeyUnavailableError, match="login") as caught:
        Pkcs11KeyProvider.open(softhsm_token.lib_path, softhsm_token.label, "987654")
    assert "987654" not in str(caught.value)


def test_unknown_token_is_reported(softhsm_token: SoftHsmToken) -> None:
    with pytest.raises(KeyUnavailableError, match="not found"):
        Pkcs11KeyProvider.open(softhsm_token.lib_path, "no-such-token", softhsm_token.pin)


def test_missing_library_is_reported(tmp_path: Path) -> None:
    with pytest.raises(KeyUnavailableError, match="library"):
        Pkcs11KeyProvider.open(str(tmp_path / "libmissing.so"), "harbour-test", "1234")


def test_second_provider_on_a_logged_in_token_is_refused(
    softhsm_token: SoftHsmToken, pkcs11_provider: Pkcs11KeyProvider
) -> None:
    # Even with a wrong PIN: a second open must not ride on the first provider's login.
    with pytest.raises(KeyUnavailableError, match="already in use"):
        Pkcs11KeyProvider.open(softhsm_token.lib_path, softhsm_token.label, "000000")


def test_closed_provider_refuses_to_work(softhsm_token: SoftHsmToken) -> None:
    provider = Pkcs11KeyProvider.open(
        softhsm_token.lib_path, softhsm_token.label, softhsm_token.pin, create=True
    )
    blob = provider.wrap(SECRET, aad=AAD)
    provider.close()
    provider.close()  # idempotent
    with pytest.raises(KeyUnavailableError, match="closed"):
        provider.wrap(SECRET, aad=AAD)
    with pytest.raises(KeyUnavailableError, match="closed"):
        provider.unwrap(blob, aad=AAD)


def test_concurrent_calls_are_serialised(pkcs11_provider: Pkcs11KeyProvider) -> None:
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(50):
                assert pkcs11_provider.unwrap(pkcs11_provider.wrap(SECRET, aad=AAD), aad=AAD) == SECRET
        except BaseException as exc:  # collected and re-raised in the main thread
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_check_value_detects_another_root_key(
    softhsm_token: SoftHsmToken, file_provider: FileKeyProvider
) -> None:
    lib, label, pin = softhsm_token.lib_path, softhsm_token.label, softhsm_token.pin
    with Pkcs11KeyProvider.open(lib, label, pin, create=True) as provider:
        check = make_check(provider)
        verify_check(provider, check)
    with pytest.raises(KeyUnavailableError):
        verify_check(file_provider, check)


def test_keystore_works_over_the_token(tmp_path: Path, pkcs11_provider: Pkcs11KeyProvider) -> None:
    path = tmp_path / "keystore.json"
    store = KeyStore.create(path, pkcs11_provider)
    dek = store.new_dek()
    wrapped = store.wrap_dek(Zone.TESTIMONY, dek, aad=b"interview-1")
    assert KeyStore.load(path, pkcs11_provider).unwrap_dek(Zone.TESTIMONY, wrapped, aad=b"interview-1") == dek
    assert '"provider": "pkcs11:harbour-test"' in path.read_text()
