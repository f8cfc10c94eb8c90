"""TOTP: RFC 6238 known answers, a one-step window, and single use."""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlparse

import pytest

from crypto.totp import code_at, counter_at, new_secret, provisioning_uri, verify

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
SECRET = new_secret()
NOW = 1_700_000_015.0  # middle of a 30-second step
STEP = counter_at(NOW)

# RFC 6238 Appendix B, SHA1 column.
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("unix_time", "expected"), RFC_VECTORS)
def test_rfc6238_known_answers(unix_time: int, expected: str) -> None:
    assert code_at(RFC_SECRET, counter_at(unix_time), digits=8) == expected
    assert code_at(RFC_SECRET, counter_at(unix_time)) == expected[-6:]


def test_rfc_example_verifies_as_six_digits() -> None:
    assert verify(RFC_SECRET, "287082", now=59, last_counter=None) == 1


@pytest.mark.parametrize(("offset", "accepted"), [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
def test_codes_are_accepted_one_step_either_side(offset: int, accepted: bool) -> None:
    code = code_at(SECRET, STEP + offset)
    assert verify(SECRET, code, now=NOW, last_counter=None) == (STEP + offset if accepted else None)


def test_step_boundaries_follow_the_clock() -> None:
    start = STEP * 30.0
    code = code_at(SECRET, STEP + 1)
    assert verify(SECRET, code, now=start, last_counter=None) == STEP + 1
    assert verify(SECRET, code, now=start - 0.001, last_counter=None) is None


def test_a_code_cannot_be_replayed() -> None:
    code = code_at(SECRET, STEP)
    used = verify(SECRET, code, now=NOW, last_counter=None)
    assert used == STEP
    assert verify(SECRET, code, now=NOW, last_counter=used) is None
    assert verify(SECRET, code, now=NOW + 20, last_counter=used) is None


def test_an_older_code_after_a_newer_one_is_refused() -> None:
    assert verify(SECRET, code_at(SECRET, STEP - 1), now=NOW, last_counter=STEP) is None


def test_the_next_step_works_after_a_used_one() -> None:
    assert verify(SECRET, code_at(SECRET, STEP + 1), now=NOW + 30, last_counter=STEP) == STEP + 1


def test_spaces_in_the_code_are_accepted() -> None:
    code = code_at(SECRET, STEP)
    assert verify(SECRET, f"{code[:3]} {code[3:]}", now=NOW, last_counter=None) == STEP
    assert verify(SECRET, f" {code} ", now=NOW, last_counter=None) == STEP


@pytest.mark.parametrize(
    "bad", ["", "     ", "12345", "1234567", "12a456", "12-456", "+12345", "١٢٣٤٥٦", "１２３４５６"]
)
def test_malformed_codes_are_rejected(bad: str) -> None:
    assert verify(SECRET, bad, now=NOW, last_counter=None) is None


def test_wrong_code_is_rejected() -> None:
    valid = {code_at(SECRET, STEP + d) for d in (-1, 0, 1)}
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in valid)
    assert verify(SECRET, wrong, now=NOW, last_counter=None) is None


def test_new_secret_has_160_bits() -> None:
    secret = new_secret()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert len(base64.b32decode(secret)) == 20
    assert new_secret() != secret


def test_provisioning_uri_names_issuer_account_and_parameters() -> None:
    uri = urlparse(provisioning_uri(SECRET, account="farhod@example.org"))
    assert uri.scheme == "otpauth"
    assert uri.netloc == "totp"
    assert "Harbour" in uri.path
    query = parse_qs(uri.query)
    assert query["secret"] == [SECRET]
    assert query["issuer"] == ["Harbour"]
    assert query.get("digits", ["6"]) == ["6"]
    assert query.get("period", ["30"]) == ["30"]
