"""Encrypted columns: the only way a sensitive value reaches the database.

Threat: a stolen database or backup must reveal nothing, and a developer slip (assigning a name to a column,
logging a value, pickling a row into a cache) must not undo that. So:

- `EncryptedText` holds a plaintext that never shows itself: repr, str, format, f-strings and logging print
  ``<redacted>``; pickling and JSON serialisation refuse. Only `reveal()` returns the text.
- `EncryptedColumn` is a column type (LargeBinary underneath) that accepts only `Sealed` ciphertexts. A
  `str`, `bytes` or `EncryptedText` is refused with TypeError: on attribute assignment through the ORM,
  and again when binding a statement parameter (Core `insert`/`update`, comparisons in `where`), so there
  is no path that stores plaintext in an encrypted column.
- `FieldCipher` seals and opens values with one owner's data key (DEK, see `app.keys.service`), with
  associated data `crypto.aead.aad_for(table, column, row id)`: a ciphertext copied to another row or
  column fails to open with the one opaque `CryptoError`, which services turn into `DataIntegrityError`
  (a clean 500 that shows nothing).

Ciphertext layout: `crypto.aead` (magic, format version, key id = the DEK id, key version 1, nonce,
ciphertext, tag). Rows must have their id set before a field is sealed, since the id is part of the
associated data: services assign `id=uuid.uuid4()` when they construct a row.
"""

from __future__ import annotations

import hmac
import uuid
from typing import TYPE_CHECKING, Any, Final, NoReturn, final

from sqlalchemy import LargeBinary, event
from sqlalchemy.orm import Mapper
from sqlalchemy.types import TypeDecorator

from app.errors import AppError
from crypto import aead
from crypto.errors import CryptoError
from crypto.keyring import open_field, seal_field

if TYPE_CHECKING:
    from app.keys.service import DataKeyRef

__all__ = [
    "DataIntegrityError",
    "EncryptedColumn",
    "EncryptedText",
    "FieldCipher",
    "Sealed",
    "aad_of",
]

_REDACTED: Final = "<redacted>"


@final
class EncryptedText:
    """A sensitive string that never prints itself; `reveal()` is the one way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("EncryptedText holds a str")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The plaintext. Call it only where the text is about to be shown to an authorised reader."""
        value: str = object.__getattribute__(self, "_value")
        return value

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("EncryptedText is immutable")

    def __repr__(self) -> str:
        return f"EncryptedText({_REDACTED})"

    def __str__(self) -> str:
        return _REDACTED

    def __format__(self, format_spec: str) -> str:
        return _REDACTED

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EncryptedText):
            return NotImplemented
        return hmac.compare_digest(self.reveal().encode("utf-8"), other.reveal().encode("utf-8"))

    __hash__ = None  # type: ignore[assignment]  # a hash of the plaintext would be an oracle

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("EncryptedText cannot be pickled")

    def __reduce__(self) -> NoReturn:
        raise TypeError("EncryptedText cannot be pickled")

    def __copy__(self) -> EncryptedText:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> EncryptedText:
        return self


@final
class Sealed:
    """A field ciphertext as stored in an `EncryptedColumn` (opaque bytes in the `crypto.aead` layout)."""

    __slots__ = ("blob",)

    def __init__(self, blob: bytes) -> None:
        if not isinstance(blob, bytes):
            raise TypeError("Sealed holds bytes")
        self.blob = blob

    def __repr__(self) -> str:
        return f"Sealed(<{len(self.blob)} bytes>)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sealed) and other.blob == self.blob

    def __hash__(self) -> int:
        return hash(self.blob)


def _refuse(value: object) -> NoReturn:
    raise TypeError(
        f"an encrypted column takes a Sealed ciphertext, not {type(value).__name__}; "
        "use app.encryption.FieldCipher to seal the value"
    )


class EncryptedColumn(TypeDecorator[Sealed]):
    """A column holding a `Sealed` ciphertext; plaintext (str, bytes, EncryptedText) is a TypeError."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Sealed | None, dialect: Any) -> bytes | None:
        """Only ciphertext objects reach the database."""
        if value is None:
            return None
        if not isinstance(value, Sealed):
            _refuse(value)
        return value.blob

    def process_result_value(self, value: bytes | None, dialect: Any) -> Sealed | None:
        """Rows come back as `Sealed`, to be opened by a `FieldCipher`."""
        if value is None:
            return None
        return Sealed(bytes(value))


def _check_assignment(_target: object, value: object, _old: object, _initiator: object) -> object:
    if value is not None and not isinstance(value, Sealed):
        _refuse(value)
    return value


@event.listens_for(Mapper, "mapper_configured")
def _guard_encrypted_attributes(mapper: Mapper[Any], class_: type) -> None:
    """Refuse plaintext at assignment time too, so the mistake points at the line that made it."""
    for attribute in mapper.column_attrs:
        if any(isinstance(column.type, EncryptedColumn) for column in attribute.columns):
            event.listen(getattr(class_, attribute.key), "set", _check_assignment, retval=True)


class DataIntegrityError(AppError):
    """Stored ciphertext failed authentication (tampered, moved or unreadable): a clean, content-free 500."""

    status_code = 500
    code = "integrity_failed"

    def __init__(self, *, object_type: str | None = None, object_id: uuid.UUID | None = None) -> None:
        super().__init__("Stored data failed its integrity check.")
        # Which row failed (table name and id: opaque), for the `integrity.tamper_detected` audit entry.
        self.object_type = object_type
        self.object_id = object_id


def aad_of(row: Any, column: str) -> bytes:
    """Associated data for one encrypted column of one row: table, column and row id."""
    table = row.__table__
    if column not in table.c or not isinstance(table.c[column].type, EncryptedColumn):
        raise ValueError(f"{table.name}.{column} is not an encrypted column")
    row_id = row.id
    if not isinstance(row_id, uuid.UUID):
        raise ValueError("set the row id before sealing: it is part of the associated data")
    return aead.aad_for(table.name, column, row_id)


class FieldCipher:
    """Seals and opens the encrypted columns of rows owned by one data key."""

    __slots__ = ("_dek",)

    def __init__(self, dek: DataKeyRef) -> None:
        self._dek = dek

    def seal(self, row: Any, column: str, value: EncryptedText) -> Sealed:
        """Encrypt a value for `row.column` (row id, table and column bound as associated data)."""
        if not isinstance(value, EncryptedText):
            raise TypeError("seal takes an EncryptedText")
        blob = seal_field(
            self._dek.key, value.reveal().encode("utf-8"), aad=aad_of(row, column), dek_id=self._dek.id
        )
        return Sealed(blob)

    def write(self, row: Any, column: str, value: EncryptedText | None) -> None:
        """Seal a value (or store NULL) into `row.column`."""
        setattr(row, column, None if value is None else self.seal(row, column, value))

    def read(self, row: Any, column: str) -> EncryptedText | None:
        """Open `row.column`; DataIntegrityError if tampered with, moved or sealed under another key."""
        sealed = getattr(row, column)
        if sealed is None:
            return None
        aad = aad_of(row, column)
        try:
            if aead.read_header(sealed.blob).key_id != self._dek.id:
                raise CryptoError()
            plaintext = open_field(self._dek.key, sealed.blob, aad=aad)
            return EncryptedText(plaintext.decode("utf-8"))
        except (CryptoError, UnicodeDecodeError):
            raise DataIntegrityError(object_type=row.__table__.name, object_id=row.id) from None

    def __repr__(self) -> str:
        return f"FieldCipher(dek_id={self._dek.id})"
