"""Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits).

Threat: a stolen password alone must not open an account, and a code seen over someone's shoulder or
replayed from a log must not work twice. Codes are accepted one step either side of now (clock drift) and
only for a time step later than the last one accepted for that user: the caller stores the returned
counter and passes it back as ``last_counter``, which makes every code single-use.

Secrets are 160-bit base32 strings (the RFC 4226 recommended length), stored by the app encrypted in the
TOTP zone. Time is always passed in (``now``), so tests freeze it and nothing here reads the clock.
Comparison of codes is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import math

import pyotp

__all__ = [
    "DIGITS",
    "INTERVAL",
    "VALID_WINDOW",
    "code_at",
    "counter_at",
    "new_secret",
    "provisioning_uri",
    "verify",
]

DIGITS = 6
INTERVAL = 30
VALID_WINDOW = 1  # steps accepted either side of now
_SECRET_CHARS = 32  # 32 base32 characters = 160 bits


def new_secret() -> str:
    """A fresh random 160-bit TOTP secret, base32-encoded."""
    return pyotp.random_base32(length=_SECRET_CHARS)


def provisioning_uri(secret: str, *, account: str, issuer: str = "Harbour") -> str:
    """The otpauth:// URI an authenticator app scans (shown once, as a QR code, at enrolment)."""
    totp = pyotp.TOTP(secret, digits=DIGITS, digest=hashlib.sha1, interval=INTERVAL)
    uri: str = totp.provisioning_uri(name=account, issuer_name=issuer)
    return uri


def counter_at(now: float) -> int:
    """The RFC 6238 time-step counter for a Unix time."""
    return math.floor(now / INTERVAL)


def code_at(secret: str, counter: int, *, digits: int = DIGITS) -> str:
    """The code for one time-step counter (RFC 4226 HOTP over the counter)."""
    otp = pyotp.OTP(secret, digits=digits, digest=hashlib.sha1)
    code: str = otp.generate_otp(counter)
    return code


def _clean(code: str) -> str | None:
    compact = code.replace(" ", "")
    # isascii() first: str.isdigit() also accepts Arabic-Indic and other Unicode digits.
    if len(compact) != DIGITS or not compact.isascii() or not compact.isdigit():
        return None
    return compact


def verify(secret: str, code: str, *, now: float, last_counter: int | None) -> int | None:
    """The matched time-step counter if code is valid within one step of now and newer than last_counter."""
    compact = _clean(code)
    if compact is None:
        return None
    current = counter_at(now)
    matched: int | None = None
    # Check every candidate step, without stopping early, so timing does not say which step matched.
    for counter in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if counter < 0:
            continue
        is_match = hmac.compare_digest(code_at(secret, counter), compact)
        if is_match and matched is None and (last_counter is None or counter > last_counter):
            matched = counter
    return matched
