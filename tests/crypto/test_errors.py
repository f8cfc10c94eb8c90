"""Every cryptographic failure looks the same and carries nothing secret."""

from __future__ import annotations

import pickle
import struct
import traceback
import uuid
from collections.abc import Callable

import pytest

from crypto.aead import aad_for, open_sealed, read_header, seal
from crypto.errors import CryptoError, KeyFilePermissionError, KeyUnavailableError
from crypto.keyring import KeyStore, Zone

KEY = bytes.fromhex("11" * 32)
KEY_ID = uuid.uuid4()
SECRET = b"Secret witness name: Dilnoza Karimova"
AAD = aad_for("people", "name", uuid.uuid4())


def _blob() -> bytes:
    return seal(KEY, SECRET, aad=AAD, key_id=KEY_ID, key_version=1)


def _flip(blob: bytes, position: int) -> bytes:
    data = bytearray(blob)
    data[position] ^= 0x80
    return bytes(data)


def _with_version(blob: bytes, version: int) -> bytes:
    return blob[:19] + struct.pack(">I", version) + blob[23:]


FAILURES: dict[str, Callable[[], object]] = {
    "wrong key": lambda: open_sealed(bytes(32), _blob(), aad=AAD),
    "wrong aad": lambda: open_sealed(KEY, _blob(), aad=b"other"),
    "truncated": lambda: open_sealed(KEY, _blob()[:-1], aad=AAD),
    "too short": lambda: open_sealed(KEY, b"HB\x01", aad=AAD),
    "empty": lambda: open_sealed(KEY, b"", aad=AAD),
    "flipped tag": lambda: open_sealed(KEY, _flip(_blob(), -1), aad=AAD),
    "flipped body": lambda: open_sealed(KEY, _flip(_blob(), 40), aad=AAD),
    "bad magic": lambda: read_header(b"XX" + _blob()[2:]),
    "future format": lambda: read_header(b"HB\x02" + _blob()[3:]),
    "zero version": lambda: read_header(_with_version(_blob(), 0)),
    "changed version": lambda: open_sealed(KEY, _with_version(_blob(), 2), aad=AAD),
}


def _capture(action: Callable[[], object]) -> CryptoError:
    with pytest.raises(CryptoError) as caught:
        action()
    return caught.value


def test_all_failures_give_an_identical_error() -> None:
    errors = [_capture(action) for action in FAILURES.values()]
    assert {str(error) for error in errors} == {"integrity check failed"}
    assert {repr(error) for error in errors} == {"CryptoError()"}
    assert {error.args for error in errors} == {("integrity check failed",)}


def test_keyring_failures_give_the_same_error(store: KeyStore) -> None:
    wrapped = store.wrap_dek(Zone.IDENTITY, store.new_dek(), aad=AAD)
    unknown_version = _with_version(wrapped, 99)
    errors = [
        _capture(lambda: store.unwrap_dek(Zone.IDENTITY, wrapped, aad=b"x")),
        _capture(lambda: store.unwrap_dek(Zone.TESTIMONY, wrapped, aad=AAD)),
        _capture(lambda: store.unwrap_dek(Zone.IDENTITY, unknown_version, aad=AAD)),
    ]
    assert {str(error) for error in errors} == {"integrity check failed"}


def test_error_carries_no_plaintext_key_or_cause() -> None:
    error = _capture(FAILURES["wrong aad"])
    rendered = "".join(traceback.format_exception(error))
    for text in (str(error), repr(error), rendered):
        assert "Dilnoza" not in text
        assert KEY.hex() not in text
        assert "InvalidTag" not in text
    assert error.__cause__ is None
    assert error.__suppress_context__


def test_error_ignores_arguments_that_could_leak() -> None:
    error = CryptoError()
    assert str(error) == "integrity check failed"
    with pytest.raises(TypeError):
        CryptoError("Dilnoza")  # type: ignore[call-arg]


def test_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(CryptoError()))  # noqa: S301 - our own object
    assert isinstance(error, CryptoError)
    assert str(error) == "integrity check failed"


def test_key_file_permission_error_is_a_key_unavailable_error() -> None:
    assert issubclass(KeyFilePermissionError, KeyUnavailableError)
    assert not issubclass(KeyUnavailableError, CryptoError)
