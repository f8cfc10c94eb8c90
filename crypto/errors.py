"""Errors raised by the crypto package.

Threat: error messages leak. A message that says "bad tag" for one failure and "unknown key version" for
another lets an attacker who can submit ciphertexts learn which part of a forgery was wrong, and an
exception chained from a lower layer may carry key ids, lengths or even buffers into logs. So every failure
to authenticate or decrypt is one `CryptoError` whose text never varies and which never carries the
underlying exception (raise it with ``from None``).

`KeyUnavailableError` is different: it is an operator-facing condition (the keys are sealed, the HSM cannot
be reached, a key file has unsafe permissions). Its message may be specific, because the operator needs it,
but it must never contain key material.
"""

from __future__ import annotations

__all__ = ["CryptoError", "KeyFilePermissionError", "KeyUnavailableError"]

_OPAQUE_MESSAGE = "integrity check failed"


class CryptoError(Exception):
    """The one opaque failure: wrong key, wrong associated data, tampering, unknown or retired key."""

    def __init__(self) -> None:
        # No arguments on purpose: nothing a caller passes can end up in str() or repr().
        super().__init__(_OPAQUE_MESSAGE)

    def __str__(self) -> str:
        return _OPAQUE_MESSAGE

    def __repr__(self) -> str:
        return "CryptoError()"

    def __reduce__(self) -> tuple[type[CryptoError], tuple[()]]:
        # Keeps pickling (e.g. across worker processes) working with the argument-free constructor.
        return (CryptoError, ())


class KeyUnavailableError(Exception):
    """Keys cannot be used: sealed, provider unreachable, missing or unsafe key file."""


class KeyFilePermissionError(KeyUnavailableError):
    """A key or passphrase file is readable or writable by group or others."""
