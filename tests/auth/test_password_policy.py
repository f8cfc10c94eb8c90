"""Password rules after NIST SP 800-63B."""

from __future__ import annotations

import unicodedata

import pytest

from app.auth import password_policy
from app.errors import InvalidInputError


@pytest.mark.parametrize("length", [8, 14])
def test_short_passwords_are_refused(length: int) -> None:
    with pytest.raises(InvalidInputError, match="at least 15"):
        password_policy.check(
            "plover-dune-" + "x" * (length - 12) if length > 12 else "k7#q" * 2, username="ana"
        )


@pytest.mark.parametrize("length", [15, 64, 128])
def test_lengths_from_15_to_128_are_accepted(length: int) -> None:
    words = "lantern orchard violet ferry pebble summit "
    candidate = (words * 4)[:length]
    assert password_policy.check(candidate, username="ana") == candidate


@pytest.mark.parametrize("length", [129, 10_000])
def test_passwords_over_128_are_refused(length: int) -> None:
    with pytest.raises(InvalidInputError, match="at most 128"):
        password_policy.check("w" * length, username="ana")


@pytest.mark.parametrize(
    "password",
    ["passwordpassword", "PasswordPassword", "123456789012345", "aaaaaaaaaaaaaaaaaa", "qwertyuiopasdfghj"],
)
def test_common_and_sequence_passwords_are_refused(password: str) -> None:
    with pytest.raises(InvalidInputError, match="too common"):
        password_policy.check(password, username="ana")


def test_the_username_is_not_allowed_inside_the_password() -> None:
    with pytest.raises(InvalidInputError, match="username"):
        password_policy.check("my name is marisol-field and I like tea", username="marisol-field")


def test_no_composition_rules_apply() -> None:
    assert password_policy.check("only lower case words here", username="ana")


def test_nfc_and_nfd_spellings_are_the_same_password() -> None:
    composed = "café crème brûlée à l'aube"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert password_policy.check(decomposed, username="ana") == password_policy.check(
        composed, username="ana"
    )
