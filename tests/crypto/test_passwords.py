"""Password hashing: argon2id, Unicode-stable, bounded, and quiet about unknown users."""

from __future__ import annotations

import unicodedata

import pytest

from crypto.passwords import (
    FAST_TEST_PARAMS,
    MAX_PASSWORD_CHARS,
    PasswordParams,
    Passwords,
    PasswordTooLongError,
)


def test_hash_verifies_and_rejects_wrong_password(fast_passwords: Passwords) -> None:
    stored = fast_passwords.hash("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert fast_passwords.verify(stored, "correct horse battery staple")
    assert not fast_passwords.verify(stored, "correct horse battery stapler")


def test_hashes_are_salted(fast_passwords: Passwords) -> None:
    assert fast_passwords.hash("same") != fast_passwords.hash("same")


def test_nfc_and_nfd_forms_of_a_password_both_verify(fast_passwords: Passwords) -> None:
    password = "Ёқуб ko‘chasi café"
    nfc, nfd = unicodedata.normalize("NFC", password), unicodedata.normalize("NFD", password)
    assert nfc != nfd
    assert fast_passwords.verify(fast_passwords.hash(nfc), nfd)
    assert fast_passwords.verify(fast_passwords.hash(nfd), nfc)


def test_password_at_the_limit_is_accepted(fast_passwords: Passwords) -> None:
    password = "🔑" * MAX_PASSWORD_CHARS
    assert fast_passwords.verify(fast_passwords.hash(password), password)


def test_too_long_password_is_refused_before_hashing(
    fast_passwords: Passwords, monkeypatch: pytest.MonkeyPatch
) -> None:
    class MustNotHash:
        def hash(self, password: str) -> str:
            raise AssertionError("hashed an over-long password")

    monkeypatch.setattr(fast_passwords, "_hasher", MustNotHash())
    with pytest.raises(PasswordTooLongError):
        fast_passwords.hash("x" * (MAX_PASSWORD_CHARS + 1))


def test_too_long_password_fails_verification_quietly(fast_passwords: Passwords) -> None:
    stored = fast_passwords.hash("x" * MAX_PASSWORD_CHARS)
    assert not fast_passwords.verify(stored, "x" * (MAX_PASSWORD_CHARS + 1))


@pytest.mark.parametrize("stored", ["", "not a hash", "$argon2id$v=19$m=8,t=1,p=1$bad$bad", "$2b$12$abc"])
def test_malformed_hash_does_not_verify(fast_passwords: Passwords, stored: str) -> None:
    assert not fast_passwords.verify(stored, "anything")
    assert fast_passwords.needs_rehash(stored)


def test_legacy_parameters_need_rehash(fast_passwords: Passwords) -> None:
    legacy = Passwords(PasswordParams(memory_kib=16, time_cost=2, parallelism=1)).hash("pw")
    assert fast_passwords.needs_rehash(legacy)
    assert fast_passwords.verify(legacy, "pw")  # still verifies until upgraded
    assert not fast_passwords.needs_rehash(fast_passwords.hash("pw"))


def test_dummy_verify_runs_without_raising(fast_passwords: Passwords) -> None:
    fast_passwords.dummy_verify("whatever")
    fast_passwords.dummy_verify("x" * 10_000)


def test_fast_params_are_for_tests_only() -> None:
    assert FAST_TEST_PARAMS.memory_kib < PasswordParams().memory_kib


def test_production_defaults_are_strong() -> None:
    params = PasswordParams()
    assert params.memory_kib >= 65536
    assert params.time_cost >= 3
    stored = Passwords().hash("correct horse battery staple")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
