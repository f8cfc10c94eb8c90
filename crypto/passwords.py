"""Password hashing with argon2id.

Threat: a stolen user table must not give up passwords cheaply, and the login path must not reveal which
user names exist. Passwords are hashed with argon2id (memory-hard, per-hash random salt, parameters stored
in the PHC string so old hashes keep verifying and `needs_rehash` can upgrade them at the next login).

- Unicode: passwords are NFC-normalised before hashing and verifying, so the same password typed on a
  system that sends decomposed accents (NFD) still verifies.
- Length: more than 128 characters or 1024 UTF-8 bytes is refused before any hashing
  (`PasswordTooLongError`), which bounds the work an attacker can make one request cost.
- Timing: `dummy_verify` runs a full verify against a hash made at start-up with the same parameters, so
  "no such user" takes as long as "wrong password".

Production parameters: m=65536 KiB, t=3, p=4. Measured on the development machine (2 cores): one hash
takes about 0.095 s (0.093-0.102 s over five runs), one verify about 0.094 s. Tests use `FAST_TEST_PARAMS`.
"""

from __future__ import annotations

import contextlib
import unicodedata
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "FAST_TEST_PARAMS",
    "MAX_PASSWORD_BYTES",
    "MAX_PASSWORD_CHARS",
    "PasswordParams",
    "PasswordTooLongError",
    "Passwords",
]

MAX_PASSWORD_CHARS = 128
MAX_PASSWORD_BYTES = 1024
_DUMMY_PASSWORD = "harbour-dummy-password-for-timing"  # noqa: S105 - not a credential, hashed for timing


@dataclass(frozen=True, slots=True)
class PasswordParams:
    """argon2id cost parameters."""

    memory_kib: int = 65536
    time_cost: int = 3
    parallelism: int = 4


# The smallest argon2 allows (8 KiB per lane): for tests only, never for stored hashes.
FAST_TEST_PARAMS = PasswordParams(memory_kib=8, time_cost=1, parallelism=1)


class PasswordTooLongError(ValueError):
    """The password exceeds MAX_PASSWORD_CHARS characters or MAX_PASSWORD_BYTES UTF-8 bytes."""


def _prepare(password: str) -> str:
    normalised = unicodedata.normalize("NFC", password)
    if len(normalised) > MAX_PASSWORD_CHARS or len(normalised.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise PasswordTooLongError(f"password longer than {MAX_PASSWORD_CHARS} characters")
    return normalised


class Passwords:
    """Hash and verify passwords with injected argon2id parameters."""

    def __init__(self, params: PasswordParams = PasswordParams()) -> None:  # noqa: B008 - frozen, immutable
        """Build a hasher and precompute the dummy hash used to equalise timing."""
        self._params = params
        self._hasher = PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._dummy_hash = self._hasher.hash(_DUMMY_PASSWORD)

    @property
    def params(self) -> PasswordParams:
        """The parameters new hashes are made with."""
        return self._params

    def hash(self, password: str) -> str:
        """The argon2id PHC string of the NFC-normalised password; PasswordTooLongError if too long."""
        return self._hasher.hash(_prepare(password))

    def verify(self, hash: str, password: str) -> bool:  # noqa: A002 - the API name the app expects
        """True if password matches hash; False on mismatch, malformed hash or over-long password."""
        try:
            prepared = _prepare(password)
        except PasswordTooLongError:
            self.dummy_verify("")
            return False
        try:
            return self._hasher.verify(hash, prepared)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, hash: str) -> bool:  # noqa: A002 - the API name the app expects
        """True if hash was made with other parameters (or is not a valid argon2 hash)."""
        try:
            return self._hasher.check_needs_rehash(hash)
        except (InvalidHashError, ValueError):
            return True

    def dummy_verify(self, password: str) -> None:
        """Spend the time of one real verify, for logins to unknown users."""
        with contextlib.suppress(VerificationError, InvalidHashError):
            self._hasher.verify(self._dummy_hash, password[:MAX_PASSWORD_CHARS])

    def __repr__(self) -> str:
        return f"Passwords({self._params!r})"
