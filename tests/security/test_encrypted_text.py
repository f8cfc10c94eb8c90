"""EncryptedText, data keys and identity reads never show plaintext: not in repr, str, format or logs."""

from __future__ import annotations

import copy
import json
import logging
import pickle
import uuid

import pytest

from app.encryption import EncryptedText, Sealed
from app.identities.service import IdentityRead
from app.keys.service import DataKeyRef

SECRET = "Gulnora Qodirova +998901234567"


def test_repr_str_and_format_show_no_plaintext() -> None:
    value = EncryptedText(SECRET)
    renderings = [
        repr(value),
        str(value),
        format(value),
        format(value, ">40"),
        f"{value}",
        f"{value!r}",
        f"{value!s}",
        f"{value:s}",
        "%s %r" % (value, value),  # noqa: UP031 - the old style is what some loggers use
        "{} {!r}".format(value, value),  # noqa: UP032 - str.format is its own code path
        str([value]),
        repr({"name": value}),
    ]
    for rendered in renderings:
        assert SECRET not in rendered
        assert "Gulnora" not in rendered
    assert str(value) == "<redacted>"


def test_logging_shows_no_plaintext(caplog: pytest.LogCaptureFixture) -> None:
    value = EncryptedText(SECRET)
    logger = logging.getLogger("harbour.test")
    with caplog.at_level(logging.DEBUG, logger="harbour.test"):
        logger.info("value %s", value)
        logger.info("value %r", value)
        logger.info(value)
        logger.warning("values %s", {"name": value})
        try:
            raise ValueError(value)
        except ValueError:
            logger.exception("failed")
    assert caplog.records
    assert "Gulnora" not in caplog.text
    for record in caplog.records:
        assert "Gulnora" not in record.getMessage()


def test_reveal_is_the_only_way_to_the_text() -> None:
    value = EncryptedText(SECRET)
    assert value.reveal() == SECRET
    assert value == EncryptedText(SECRET)
    assert value != EncryptedText("other")
    assert value != SECRET  # never equal to a plain str: no accidental comparisons with plaintext
    with pytest.raises(AttributeError):
        value._value = "x"
    with pytest.raises(TypeError):
        hash(value)
    with pytest.raises(TypeError):
        EncryptedText(SECRET.encode())  # type: ignore[arg-type]


def test_pickling_and_json_are_refused() -> None:
    value = EncryptedText(SECRET)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError):
            pickle.dumps(value, protocol=protocol)
    with pytest.raises(TypeError):
        pickle.dumps({"nested": [value]})
    with pytest.raises(TypeError):
        json.dumps({"name": value})
    assert copy.copy(value) is value
    assert copy.deepcopy([value])[0] is value


def test_identity_reads_and_data_keys_print_nothing_secret() -> None:
    key = bytes(range(32))
    dek = DataKeyRef(uuid.uuid4(), key)
    assert key.hex() not in repr(dek)
    assert repr(key) not in repr(dek)
    assert str(key) not in str(dek)
    read = IdentityRead(
        uuid.uuid4(), uuid.uuid4(), "Calm-Otter-10", erased=False, legal_name=EncryptedText(SECRET),
        aliases=[EncryptedText(SECRET)], contacts=EncryptedText(SECRET), notes=EncryptedText(SECRET),
    )  # fmt: skip
    assert "Gulnora" not in repr(read) + str(read)
    assert "Gulnora" not in repr(Sealed(SECRET.encode()))
