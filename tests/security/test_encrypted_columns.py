"""Encrypted columns: ciphertexts are bound to their row and column, and plaintext cannot be stored."""

from __future__ import annotations

import uuid
from typing import cast

import pytest
from sqlalchemy import LargeBinary, Table, insert, select, type_coerce, update
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from app.context import Context
from app.encryption import DataIntegrityError, EncryptedText, FieldCipher, Sealed, aad_of
from app.identities import service as identities
from app.identities.models import Person
from app.keys import service as data_keys
from app.keys.models import DataKey
from app.keys.service import OwnerType
from crypto.errors import CryptoError
from crypto.keyring import Zone, open_field
from tests import factories

PERSON = cast(Table, Person.__table__)
SECRET = "Zarina Hamidova"


def _two_people(ctx: Context) -> tuple[Person, Person]:
    project = factories.project(ctx)
    first = identities.register(ctx, project_id=project.id, legal_name=SECRET, notes="first notes").person
    second = identities.register(ctx, project_id=project.id, legal_name="Other Person", notes="n2").person
    return first, second


def _attacker_sets(session: Session, person: Person, column: str, value: Sealed | None) -> None:
    """What someone with write access to the database does: put bytes from elsewhere in a column."""
    session.execute(update(PERSON).where(PERSON.c.id == person.id).values({column: value}))
    session.expire(person)


def _dek(ctx: Context, person: Person) -> data_keys.DataKeyRef:
    return data_keys.dek_for(
        ctx.session,
        ctx.runtime.keys,
        zone=Zone.IDENTITY,
        owner_type=OwnerType.PERSON,
        owner_id=person.id,
        create=False,
    )


def test_ciphertext_moved_to_another_row_fails_with_the_opaque_error(ctx: Context) -> None:
    first, second = _two_people(ctx)
    assert first.legal_name is not None
    stolen = first.legal_name
    _attacker_sets(ctx.session, second, "legal_name", stolen)
    # The crypto layer: one opaque error, whichever key is tried.
    for person in (first, second):
        with pytest.raises(CryptoError) as caught:
            open_field(_dek(ctx, person).key, stolen.blob, aad=aad_of(second, "legal_name"))
        assert str(caught.value) == "integrity check failed"
    # The app: a clean error that carries no content.
    with pytest.raises(DataIntegrityError) as app_error:
        identities.read_identity(ctx, second.id)
    assert app_error.value.status_code == 500
    assert SECRET not in repr(app_error.value) + str(app_error.value)
    assert app_error.value.__cause__ is None
    assert app_error.value.__suppress_context__


def test_ciphertext_moved_to_another_row_under_the_same_key_still_fails(ctx: Context) -> None:
    first, _ = _two_people(ctx)
    cipher = FieldCipher(_dek(ctx, first))
    twin = Person(id=uuid.uuid4(), project_id=first.project_id, pseudonym="Calm-Otter-11")
    assert first.legal_name is not None
    twin.legal_name = first.legal_name  # the right DEK, the wrong row id in the associated data
    with pytest.raises(DataIntegrityError):
        cipher.read(twin, "legal_name")


def test_ciphertext_moved_to_another_column_fails(ctx: Context) -> None:
    first, _ = _two_people(ctx)
    legal_name, notes = first.legal_name, first.notes
    _attacker_sets(ctx.session, first, "notes", legal_name)
    _attacker_sets(ctx.session, first, "legal_name", notes)
    with pytest.raises(DataIntegrityError):
        identities.read_identity(ctx, first.id)
    cipher = FieldCipher(_dek(ctx, first))
    with pytest.raises(DataIntegrityError):
        cipher.read(first, "notes")


def test_wrapped_data_key_moved_to_another_owner_fails(ctx: Context) -> None:
    first, second = _two_people(ctx)
    table = cast(Table, DataKey.__table__)
    wrapped = ctx.session.scalar(select(table.c.wrapped).where(table.c.owner_id == first.id))
    ctx.session.execute(update(table).where(table.c.owner_id == second.id).values(wrapped=wrapped))
    with pytest.raises(DataIntegrityError):
        identities.read_identity(ctx, second.id)


@pytest.mark.parametrize("flip", [0, 3, 20, 30, 40, -1])
def test_tampered_ciphertext_fails_cleanly(ctx: Context, flip: int) -> None:
    first, _ = _two_people(ctx)
    assert first.legal_name is not None
    blob = bytearray(first.legal_name.blob)
    blob[flip] ^= 0x01
    _attacker_sets(ctx.session, first, "legal_name", Sealed(bytes(blob)))
    with pytest.raises(DataIntegrityError):
        identities.read_identity(ctx, first.id)


@pytest.mark.parametrize(
    "plaintext", [SECRET, SECRET.encode(), EncryptedText(SECRET)], ids=["str", "bytes", "text"]
)
def test_plaintext_assignment_to_an_encrypted_column_is_refused(ctx: Context, plaintext: object) -> None:
    first, _ = _two_people(ctx)
    with pytest.raises(TypeError, match="Sealed"):
        first.legal_name = plaintext  # type: ignore[assignment]
    with pytest.raises(TypeError, match="Sealed"):
        Person(id=uuid.uuid4(), project_id=first.project_id, pseudonym="Calm-Otter-12", notes=plaintext)


def test_str_that_reaches_a_flush_is_refused(ctx: Context) -> None:
    first, _ = _two_people(ctx)
    first.__dict__["legal_name"] = SECRET  # slipping past the attribute guard, e.g. via a raw __dict__ write
    flag_modified(first, "legal_name")
    with pytest.raises(StatementError) as caught:
        ctx.session.flush()
    assert isinstance(caught.value.orig, TypeError)
    ctx.session.rollback()


@pytest.mark.parametrize(
    "plaintext", [SECRET, SECRET.encode(), EncryptedText(SECRET)], ids=["str", "bytes", "text"]
)
def test_core_statements_with_plaintext_are_refused(ctx: Context, plaintext: object) -> None:
    first, _ = _two_people(ctx)
    statements = [
        update(PERSON).where(PERSON.c.id == first.id).values(notes=plaintext),
        insert(PERSON).values(
            id=uuid.uuid4(), project_id=first.project_id, pseudonym="Calm-Otter-13", legal_name=plaintext
        ),
        select(Person).where(Person.legal_name == plaintext),
    ]
    for statement in statements:
        with pytest.raises(StatementError) as caught:
            ctx.session.execute(statement)
        assert isinstance(caught.value.orig, TypeError)


def test_sealing_needs_the_row_id_and_a_real_encrypted_column(ctx: Context) -> None:
    first, _ = _two_people(ctx)
    cipher = FieldCipher(_dek(ctx, first))
    with pytest.raises(ValueError, match="row id"):
        cipher.seal(Person(project_id=first.project_id, pseudonym="x"), "legal_name", EncryptedText("x"))
    with pytest.raises(ValueError, match="not an encrypted column"):
        cipher.seal(first, "pseudonym", EncryptedText("x"))
    with pytest.raises(TypeError):
        cipher.seal(first, "notes", SECRET)  # type: ignore[arg-type]


def test_stored_bytes_are_ciphertext_with_the_data_key_id(ctx: Context) -> None:
    first, _ = _two_people(ctx)
    raw = ctx.session.scalar(
        select(type_coerce(PERSON.c.legal_name, LargeBinary)).where(PERSON.c.id == first.id)
    )
    assert isinstance(raw, bytes)
    assert SECRET.encode() not in raw
    assert raw[:3] == b"HB\x01"
    assert raw[3:19] == _dek(ctx, first).id.bytes
