"""The identity vault's verbs: register a person, read (and audit) their identity, erase them.

Threat: a stolen database or backup must not reveal who anyone is, and erasing a person must hold even
against old backups. A person's identity fields are sealed under their own IDENTITY-zone data key
(`app.keys.service.dek_for`); erasing deletes that key (and `harbour keys erase-person` then destroys the
older identity KEK versions, see `app.keys.service`). The pseudonym is drawn at random
(`crypto.pseudonyms`), never derived from the identity.

Duplicate warnings use a blind index: HMAC-SHA256 of each normalised name and alias (`crypto.blind_index`,
which folds Cyrillic and Latin spellings of one name together) under a key derived per project from the
INDEX zone key `keys.zone_key(Zone.INDEX, "person-name", version=1)`. Per project, so a thief cannot see
that two projects registered the same name. Residual risk: with the key store, someone can test a guessed
name against the index (names are guessable); the index rows of an erased person are deleted, but an old
backup still has them, so an old backup plus the current key store can confirm that a guessed name was
registered (and nothing more).

Every identity read writes an audit entry (opaque ids only) in the same transaction. An actor may register
and read only in projects where the policy allows it; anything else is "not found". A `None` actor is the
system (operator commands), which already holds the keys.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.auth.policy import Action
from app.context import Context
from app.encryption import DataIntegrityError, EncryptedText, FieldCipher
from app.errors import InvalidInputError, NotFoundError
from app.identities.models import Person, PersonNameIndex
from app.keys import service as data_keys
from app.keys.models import today
from app.keys.service import DataKeyGoneError, OwnerType
from app.projects.models import Project
from crypto import blind_index, pseudonyms
from crypto.errors import CryptoError
from crypto.keyring import KeyStore, Zone

__all__ = [
    "IdentityRead",
    "RegisteredPerson",
    "erase",
    "get_by_pseudonym",
    "list_by_pseudonym",
    "read_identity",
    "register",
]

INDEX_PURPOSE = "person-name"
INDEX_VERSION = 1  # pinned: see app.keys.service on why the index zone does not rotate
_PROJECT_INDEX_DOMAIN = b"harbour-person-name-project-v1\x00"
_IDENTITY_COLUMNS = ("legal_name", "aliases", "contacts", "notes")


@dataclass(frozen=True, slots=True)
class RegisteredPerson:
    """A new person and the pseudonyms of persons in the project whose name or alias matches."""

    person: Person
    possible_duplicates: list[str]


@dataclass(frozen=True, slots=True)
class IdentityRead:
    """A person's decrypted identity; the values never print themselves (see `EncryptedText`)."""

    id: uuid.UUID
    project_id: uuid.UUID
    pseudonym: str
    erased: bool
    legal_name: EncryptedText | None = None
    aliases: list[EncryptedText] = field(default_factory=list)
    contacts: EncryptedText | None = None
    notes: EncryptedText | None = None


def _allowed(ctx: Context, action: Action, project_id: uuid.UUID) -> bool:
    return ctx.actor is None or ctx.actor.may_in(action, project_id)


def _name_key(keys: KeyStore, project_id: uuid.UUID) -> bytes:
    base = keys.zone_key(Zone.INDEX, INDEX_PURPOSE, version=INDEX_VERSION)
    return hmac.new(base, _PROJECT_INDEX_DOMAIN + project_id.bytes, hashlib.sha256).digest()


def _tokens(key: bytes, names: Sequence[str]) -> list[bytes]:
    tokens: dict[bytes, None] = {}
    for name in names:
        try:
            tokens.setdefault(blind_index.blind_index(key, name), None)
        except ValueError:  # nothing indexable in it (punctuation only)
            continue
    return list(tokens)


def _clean(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be text")
    return value if value.strip() else None


def get_by_pseudonym(session: Session, project_id: uuid.UUID, pseudonym: str) -> Person | None:
    """The person with this pseudonym in the project, if any."""
    query = select(Person).where(Person.project_id == project_id, Person.pseudonym == pseudonym)
    return session.scalars(query).one_or_none()


def list_by_pseudonym(session: Session, pseudonym: str) -> list[Person]:
    """Every person with this pseudonym, in any project (pseudonyms are unique per project only)."""
    return list(session.scalars(select(Person).where(Person.pseudonym == pseudonym)).all())


def register(
    ctx: Context,
    *,
    project_id: uuid.UUID,
    legal_name: str,
    aliases: Sequence[str] = (),
    contacts: str | None = None,
    notes: str | None = None,
) -> RegisteredPerson:
    """Register a person under a new random pseudonym, identity sealed under their own data key."""
    session = ctx.session
    if not _allowed(ctx, Action.PERSON_REGISTER, project_id) or session.get(Project, project_id) is None:
        raise NotFoundError()
    name = _clean(legal_name, "legal name")
    if name is None:
        raise InvalidInputError("a legal name is required")
    if isinstance(aliases, str):
        raise InvalidInputError("aliases must be a list of names")
    kept = [alias for alias in (_clean(alias, "alias") for alias in aliases) if alias is not None]
    keys = ctx.runtime.keys
    pseudonym = pseudonyms.generate_unique(
        lambda candidate: get_by_pseudonym(session, project_id, candidate) is not None
    )
    person = Person(id=uuid.uuid4(), project_id=project_id, pseudonym=pseudonym)
    dek = data_keys.dek_for(
        session, keys, zone=Zone.IDENTITY, owner_type=OwnerType.PERSON, owner_id=person.id, create=True
    )
    cipher = FieldCipher(dek)
    cipher.write(person, "legal_name", EncryptedText(name))
    if kept:
        cipher.write(person, "aliases", EncryptedText(json.dumps(kept, ensure_ascii=False)))
    if (text := _clean(contacts, "contacts")) is not None:
        cipher.write(person, "contacts", EncryptedText(text))
    if (text := _clean(notes, "notes")) is not None:
        cipher.write(person, "notes", EncryptedText(text))
    session.add(person)
    session.flush()
    tokens = _tokens(_name_key(keys, project_id), [name, *kept])
    duplicates: list[str] = []
    if tokens:
        duplicates = list(
            session.scalars(
                select(Person.pseudonym)
                .join(PersonNameIndex, PersonNameIndex.person_id == Person.id)
                .where(
                    PersonNameIndex.token.in_(tokens),
                    Person.project_id == project_id,
                    Person.id != person.id,
                    Person.erased_at.is_(None),
                )
                .distinct()
                .order_by(Person.pseudonym)
            ).all()
        )
        session.add_all(PersonNameIndex(person_id=person.id, token=token) for token in tokens)
        session.flush()
    ctx.audit("person.register", object_type="person", object_id=person.id, project_id=project_id)
    return RegisteredPerson(person, duplicates)


def read_identity(ctx: Context, person_id: uuid.UUID) -> IdentityRead:
    """Decrypt a person's identity (audited); an erased person reads as erased, tampering as a clean error."""
    session = ctx.session
    person = session.get(Person, person_id)
    if person is None or not _allowed(ctx, Action.PERSON_READ_IDENTITY, person.project_id):
        raise NotFoundError()
    ctx.audit("person.read_identity", object_type="person", object_id=person.id, project_id=person.project_id)
    erased = IdentityRead(person.id, person.project_id, person.pseudonym, erased=True)
    if person.erased_at is not None:
        return erased
    try:
        dek = data_keys.dek_for(
            session,
            ctx.runtime.keys,
            zone=Zone.IDENTITY,
            owner_type=OwnerType.PERSON,
            owner_id=person.id,
            create=False,
        )
    except DataKeyGoneError:
        return erased
    except CryptoError:
        raise DataIntegrityError() from None
    cipher = FieldCipher(dek)
    aliases: list[EncryptedText] = []
    sealed_aliases = cipher.read(person, "aliases")
    if sealed_aliases is not None:
        try:
            parsed = json.loads(sealed_aliases.reveal())
        except ValueError:
            raise DataIntegrityError() from None
        aliases = [EncryptedText(str(alias)) for alias in parsed]
    return IdentityRead(
        person.id,
        person.project_id,
        person.pseudonym,
        erased=False,
        legal_name=cipher.read(person, "legal_name"),
        aliases=aliases,
        contacts=cipher.read(person, "contacts"),
        notes=cipher.read(person, "notes"),
    )


def erase(ctx: Context, *, person_id: uuid.UUID) -> Person:
    """Crypto-shred a person: destroy their data key, drop ciphertexts and index tokens (audited)."""
    session = ctx.session
    person = session.get(Person, person_id)
    if person is None:
        raise NotFoundError()
    data_keys.destroy_dek(session, zone=Zone.IDENTITY, owner_type=OwnerType.PERSON, owner_id=person.id)
    for column in _IDENTITY_COLUMNS:
        setattr(person, column, None)
    if person.erased_at is None:
        person.erased_at = today()
    session.execute(delete(PersonNameIndex).where(PersonNameIndex.person_id == person.id))
    session.flush()
    ctx.audit("keys.erase_person", object_type="person", object_id=person.id, project_id=person.project_id)
    return person
