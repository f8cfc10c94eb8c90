"""The identity vault's verbs: register, update, read (pseudonymous or identified, audited), erase.

Threat: a stolen database or backup must not reveal who anyone is, an insider sees only what their role
needs, and erasing a person must hold even against old backups. A person's identity fields (legal name,
aliases, transliterations, birth date, contacts, locations, notes) are sealed under their own IDENTITY-zone
data key (`app.keys.service.dek_for`) with associated data bound to row and column; erasing deletes that key
(and `harbour keys erase-person` then destroys the older identity KEK versions, see `app.keys.service`).
The pseudonym is drawn at random (`crypto.pseudonyms`), never derived from the identity.

The analytic attributes (kind, roles, origin state, target categories, gender, birth decade,
identifiability risk), the residence history and the relations are vocabulary terms in the analysis zone,
in clear: coders of the project read them through the pseudonymous view, which never opens the vault.
Birth decade is derived from the birth date when a date is given without a decade (a decade given with a
date must agree with it): the date stays sealed, the decade is what analysis needs.

Duplicate warnings use a blind index: HMAC-SHA256 of each normalised name, alias and transliteration
(`crypto.blind_index`, which folds Cyrillic and Latin spellings of one name together) under a key derived per
project from the INDEX zone key `keys.zone_key(Zone.INDEX, "person-name", version=1)`. Per project, so a
thief cannot see that two projects registered the same name. Residual risk: with the key store, someone can
test a guessed name against the index (names are guessable); the index rows of an erased person are
deleted, but an old backup still has them, so an old backup plus the current key store can confirm that a
guessed name was registered (and nothing more).

Scope: interviewers of the person's project register, update and read identities; interviewers and coders
of the project read the pseudonymous view; anyone else gets `NotFoundError`, the same as for a missing id.
Every read and change writes an audit entry (opaque ids only; an identity read records its purpose) in the
same transaction. A `None` actor is the system (operator commands), which already holds the keys.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, aliased

from app.auth.policy import Action
from app.context import Context
from app.encryption import DataIntegrityError, EncryptedText, FieldCipher
from app.errors import ConflictError, InvalidInputError, NotFoundError
from app.identities import vocabularies as vocab
from app.identities.models import Person, PersonNameIndex, PersonRelation, Residence
from app.ingest.pseudonymise import PersonNames  # the pseudonymiser's input, re-exported here
from app.keys import service as data_keys
from app.keys.models import today
from app.keys.service import DataKeyGoneError, OwnerType
from app.projects.models import Project
from crypto import blind_index, pseudonyms
from crypto.errors import CryptoError
from crypto.keyring import KeyStore, Zone

__all__ = [
    "IDENTITY_FIELDS",
    "UNSET",
    "IdentityRead",
    "PersonNames",
    "PersonView",
    "RegisteredPerson",
    "RelationView",
    "ResidenceInput",
    "Unset",
    "add_relation",
    "add_residence",
    "erase",
    "get",
    "get_by_pseudonym",
    "list_by_pseudonym",
    "list_in_project",
    "names_for_pseudonymisation",
    "may",
    "possible_duplicates",
    "project_in_scope",
    "read_identity",
    "readable_projects",
    "register",
    "relation_candidates",
    "relations_of",
    "remove_relation",
    "remove_residence",
    "residences_of",
    "update",
]

INDEX_PURPOSE = "person-name"
INDEX_VERSION = 1  # pinned: see app.keys.service on why the index zone does not rotate
_PROJECT_INDEX_DOMAIN = b"harbour-person-name-project-v1\x00"
_IDENTITY_COLUMNS = (
    "legal_name",
    "aliases",
    "transliterations",
    "birth_date",
    "contacts",
    "locations",
    "notes",
)
IDENTITY_FIELDS: Final = frozenset(_IDENTITY_COLUMNS)
_NAME_COLUMNS = ("legal_name", "aliases", "transliterations")
MAX_NAME = 200
MAX_NAMES = 30
MAX_TEXT = 5000

_E = TypeVar("_E", bound=enum.StrEnum)


class Unset(enum.Enum):
    """The marker of a field an update leaves as it is (None clears a field)."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET


@dataclass(frozen=True, slots=True)
class RegisteredPerson:
    """A saved person and the pseudonyms of persons in the project whose name forms match."""

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
    transliterations: list[EncryptedText] = field(default_factory=list)
    birth_date: EncryptedText | None = None  # ISO 8601
    contacts: EncryptedText | None = None
    locations: EncryptedText | None = None
    notes: EncryptedText | None = None


@dataclass(frozen=True, slots=True)
class ResidenceInput:
    """One period of residence to record."""

    country: str
    from_period: str | None = None
    to_period: str | None = None
    legal_status: str = vocab.LegalStatus.UNKNOWN


@dataclass(frozen=True, slots=True)
class RelationView:
    """A relation between two persons of a project, named by pseudonym: "A is the <relation> of B"."""

    id: uuid.UUID
    relation: str
    person_a_id: uuid.UUID
    person_a: str
    person_b_id: uuid.UUID
    person_b: str


@dataclass(frozen=True, slots=True)
class PersonView:
    """The pseudonymous view of a person: no identity field, nothing decrypted."""

    person: Person
    residences: list[Residence]
    relations: list[RelationView]


# ---- scope and helpers ----------------------------------------------------------------------------


def _allowed(ctx: Context, action: Action, project_id: uuid.UUID) -> bool:
    return ctx.actor is None or ctx.actor.may_in(action, project_id)


def _scoped(ctx: Context, person_id: uuid.UUID, action: Action) -> Person:
    """The person if the caller may do `action` in their project; NotFoundError otherwise."""
    person = ctx.session.get(Person, person_id) if isinstance(person_id, uuid.UUID) else None
    if person is None or not _allowed(ctx, action, person.project_id):
        raise NotFoundError()
    return person


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


def _clean(value: str | None, what: str, *, limit: int = MAX_TEXT) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be text")
    if len(value) > limit:
        raise InvalidInputError(f"{what} must be at most {limit} characters")
    return value if value.strip() else None


def _name_list(values: Iterable[str], what: str) -> list[str]:
    if isinstance(values, str | bytes):
        raise InvalidInputError(f"{what} must be a list of names")
    kept: dict[str, None] = {}
    for value in values:
        cleaned = _clean(value, what, limit=MAX_NAME)
        if cleaned is not None:
            kept.setdefault(cleaned.strip(), None)
    if len(kept) > MAX_NAMES:
        raise InvalidInputError(f"at most {MAX_NAMES} {what}")
    return list(kept)


def _term(kind: type[_E], value: object, what: str) -> _E:
    try:
        if not isinstance(value, str):
            raise ValueError(what)
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidInputError(f"{what} must be one of: {allowed}") from None


def _terms(kind: type[_E], values: Iterable[object], what: str) -> list[str]:
    if isinstance(values, str | bytes):
        raise InvalidInputError(f"{what} must be a list")
    chosen = {_term(kind, value, what) for value in values}
    return [member.value for member in kind if member in chosen]  # vocabulary order, no repeats


def _country(value: str, what: str) -> str:
    try:
        return vocab.country_code(value)
    except ValueError as exc:
        raise InvalidInputError(f"{what} {exc}") from None


def _decade(value: int, what: str = "birth decade") -> int:
    try:
        return vocab.birth_decade(value)
    except ValueError as exc:
        raise InvalidInputError(f"{what} {exc}") from None


def _birth_date(value: date) -> date:
    if not isinstance(value, date):
        raise InvalidInputError("birth date must be a date")
    if value.year < vocab.EARLIEST_YEAR or value > date.today():
        raise InvalidInputError(f"birth date must be between {vocab.EARLIEST_YEAR} and today")
    return value


def _residence(value: ResidenceInput) -> Residence:
    country = _country(value.country, "residence country")
    periods: list[str | None] = []
    for what, period in (("from", value.from_period), ("to", value.to_period)):
        if period is None or (isinstance(period, str) and not period.strip()):
            periods.append(None)
            continue
        try:
            periods.append(vocab.period(period))
        except ValueError as exc:
            raise InvalidInputError(f"residence {what} {exc}") from None
    start, end = periods
    if start is not None and end is not None and vocab.period_bounds(start)[0] > vocab.period_bounds(end)[1]:
        raise InvalidInputError("a residence cannot end before it starts")
    status = _term(vocab.LegalStatus, value.legal_status, "legal status")
    return Residence(id=uuid.uuid4(), country=country, from_period=start, to_period=end, legal_status=status)


def _dek(ctx: Context, person: Person, *, create: bool = False) -> FieldCipher:
    try:
        dek = data_keys.dek_for(
            ctx.session,
            ctx.runtime.keys,
            zone=Zone.IDENTITY,
            owner_type=OwnerType.PERSON,
            owner_id=person.id,
            create=create,
        )
    except CryptoError:
        raise DataIntegrityError() from None
    return FieldCipher(dek)


def _write_list(cipher: FieldCipher, person: Person, column: str, values: list[str]) -> None:
    text = EncryptedText(json.dumps(values, ensure_ascii=False)) if values else None
    cipher.write(person, column, text)


def _read_list(cipher: FieldCipher, person: Person, column: str) -> list[EncryptedText]:
    sealed = cipher.read(person, column)
    if sealed is None:
        return []
    try:
        parsed = json.loads(sealed.reveal())
    except ValueError:
        raise DataIntegrityError() from None
    if not isinstance(parsed, list):
        raise DataIntegrityError()
    return [EncryptedText(str(item)) for item in parsed]


def _write_text(cipher: FieldCipher, person: Person, column: str, value: str | None) -> None:
    cipher.write(person, column, None if value is None else EncryptedText(value))


def _index_names(ctx: Context, person: Person, names: Sequence[str]) -> None:
    """Replace the person's blind-index tokens by those of these names."""
    session = ctx.session
    session.execute(delete(PersonNameIndex).where(PersonNameIndex.person_id == person.id))
    tokens = _tokens(_name_key(ctx.runtime.keys, person.project_id), names)
    session.add_all(PersonNameIndex(person_id=person.id, token=token) for token in tokens)
    session.flush()


def _duplicates(session: Session, person: Person) -> list[str]:
    mine = aliased(PersonNameIndex)
    theirs = aliased(PersonNameIndex)
    query = (
        select(Person.pseudonym)
        .join(theirs, theirs.person_id == Person.id)
        .join(mine, mine.token == theirs.token)
        .where(
            mine.person_id == person.id,
            Person.id != person.id,
            Person.project_id == person.project_id,
            Person.erased_at.is_(None),
        )
        .distinct()
        .order_by(Person.pseudonym)
    )
    return list(session.scalars(query).all())


def _attributes(
    *,
    person_kind: str | Unset,
    roles: Iterable[str] | Unset,
    origin_state: str | None | Unset,
    target_category: Iterable[str] | Unset,
    gender: str | None | Unset,
    birth_decade: int | None | Unset,
    identifiability_risk: str | Unset,
) -> dict[str, object]:
    """Validated analytic attributes, for the fields that are set."""
    values: dict[str, object] = {}
    if not isinstance(person_kind, Unset):
        values["person_kind"] = _term(vocab.PersonKind, person_kind, "person kind").value
    if not isinstance(roles, Unset):
        values["roles"] = _terms(vocab.PersonRole, roles, "roles")
    if not isinstance(origin_state, Unset):
        values["origin_state"] = None if origin_state is None else _country(origin_state, "origin state")
    if not isinstance(target_category, Unset):
        values["target_category"] = _terms(vocab.TargetCategory, target_category, "target category")
    if not isinstance(gender, Unset):
        values["gender"] = None if gender is None else _term(vocab.Gender, gender, "gender").value
    if not isinstance(birth_decade, Unset):
        values["birth_decade"] = None if birth_decade is None else _decade(birth_decade)
    if not isinstance(identifiability_risk, Unset):
        risk = _term(vocab.IdentifiabilityRisk, identifiability_risk, "identifiability risk")
        values["identifiability_risk"] = risk.value
    return values


def _settle_decade(values: dict[str, object], birth: date | None) -> None:
    """Derive the decade from a birth date, or check that a given decade agrees with it."""
    if birth is None:
        return
    derived = vocab.decade_of(birth)
    given = values.get("birth_decade")
    if given is None:
        values["birth_decade"] = derived
    elif given != derived:
        raise InvalidInputError("birth decade does not match the birth date")


# ---- lookups (no scope: for operator commands and the audit domain) -------------------------------


def get_by_pseudonym(session: Session, project_id: uuid.UUID, pseudonym: str) -> Person | None:
    """The person with this pseudonym in the project, if any."""
    query = select(Person).where(Person.project_id == project_id, Person.pseudonym == pseudonym)
    return session.scalars(query).one_or_none()


def list_by_pseudonym(session: Session, pseudonym: str) -> list[Person]:
    """Every person with this pseudonym, in any project (pseudonyms are unique per project only)."""
    return list(session.scalars(select(Person).where(Person.pseudonym == pseudonym)).all())


# ---- the vault ------------------------------------------------------------------------------------


def register(
    ctx: Context,
    *,
    project_id: uuid.UUID,
    legal_name: str,
    aliases: Sequence[str] = (),
    transliterations: Sequence[str] = (),
    birth_date: date | None = None,
    contacts: str | None = None,
    locations: str | None = None,
    notes: str | None = None,
    person_kind: str = vocab.PersonKind.INDIVIDUAL,
    roles: Sequence[str] = (),
    origin_state: str | None = None,
    target_category: Sequence[str] = (),
    gender: str | None = None,
    birth_decade: int | None = None,
    identifiability_risk: str = vocab.IdentifiabilityRisk.HIGH,
    residences: Sequence[ResidenceInput] = (),
) -> RegisteredPerson:
    """Register a person under a new random pseudonym, identity sealed under their own data key."""
    session = ctx.session
    if not _allowed(ctx, Action.PERSON_REGISTER, project_id) or session.get(Project, project_id) is None:
        raise NotFoundError()
    name = _clean(legal_name, "legal name", limit=MAX_NAME)
    if name is None:
        raise InvalidInputError("a legal name is required")
    name = name.strip()
    kept_aliases = _name_list(aliases, "aliases")
    kept_translits = _name_list(transliterations, "transliterations")
    birth = None if birth_date is None else _birth_date(birth_date)
    texts = {
        "contacts": _clean(contacts, "contacts"),
        "locations": _clean(locations, "locations"),
        "notes": _clean(notes, "notes"),
    }
    values = _attributes(
        person_kind=person_kind,
        roles=roles,
        origin_state=origin_state,
        target_category=target_category,
        gender=gender,
        birth_decade=birth_decade,
        identifiability_risk=identifiability_risk,
    )
    _settle_decade(values, birth)
    rows = [_residence(residence) for residence in residences]
    pseudonym = pseudonyms.generate_unique(
        lambda candidate: get_by_pseudonym(session, project_id, candidate) is not None
    )
    person = Person(id=uuid.uuid4(), project_id=project_id, pseudonym=pseudonym, **values)
    cipher = _dek(ctx, person, create=True)
    _write_text(cipher, person, "legal_name", name)
    _write_list(cipher, person, "aliases", kept_aliases)
    _write_list(cipher, person, "transliterations", kept_translits)
    _write_text(cipher, person, "birth_date", None if birth is None else birth.isoformat())
    for column, text in texts.items():
        _write_text(cipher, person, column, text)
    session.add(person)
    session.flush()
    for row in rows:
        row.person_id = person.id
    session.add_all(rows)
    _index_names(ctx, person, [name, *kept_aliases, *kept_translits])
    ctx.audit("person.register", object_type="person", object_id=person.id, project_id=project_id)
    return RegisteredPerson(person, _duplicates(session, person))


def update(
    ctx: Context,
    *,
    person_id: uuid.UUID,
    legal_name: str | Unset = UNSET,
    aliases: Sequence[str] | Unset = UNSET,
    transliterations: Sequence[str] | Unset = UNSET,
    birth_date: date | None | Unset = UNSET,
    contacts: str | None | Unset = UNSET,
    locations: str | None | Unset = UNSET,
    notes: str | None | Unset = UNSET,
    person_kind: str | Unset = UNSET,
    roles: Sequence[str] | Unset = UNSET,
    origin_state: str | None | Unset = UNSET,
    target_category: Sequence[str] | Unset = UNSET,
    gender: str | None | Unset = UNSET,
    birth_decade: int | None | Unset = UNSET,
    identifiability_risk: str | Unset = UNSET,
) -> RegisteredPerson:
    """Change the given fields (UNSET leaves a field, None clears it); names are re-indexed (audited)."""
    session = ctx.session
    person = _scoped(ctx, person_id, Action.PERSON_REGISTER)
    if person.erased_at is not None:
        raise ConflictError("this person was erased; their record can no longer change")
    identity: dict[str, object] = {}
    if not isinstance(legal_name, Unset):
        name = _clean(legal_name, "legal name", limit=MAX_NAME)
        if name is None:
            raise InvalidInputError("a legal name is required")
        identity["legal_name"] = name.strip()
    if not isinstance(aliases, Unset):
        identity["aliases"] = _name_list(aliases, "aliases")
    if not isinstance(transliterations, Unset):
        identity["transliterations"] = _name_list(transliterations, "transliterations")
    if not isinstance(birth_date, Unset):
        identity["birth_date"] = None if birth_date is None else _birth_date(birth_date)
    for column, text in (("contacts", contacts), ("locations", locations), ("notes", notes)):
        if not isinstance(text, Unset):
            identity[column] = _clean(text, column)
    values = _attributes(
        person_kind=person_kind,
        roles=roles,
        origin_state=origin_state,
        target_category=target_category,
        gender=gender,
        birth_decade=birth_decade,
        identifiability_risk=identifiability_risk,
    )
    try:
        cipher = _dek(ctx, person) if identity or "birth_decade" in values else None
    except DataKeyGoneError:
        raise ConflictError(
            "this person's identity key is gone; their identity can no longer change"
        ) from None
    if "birth_decade" in values and "birth_date" not in identity and cipher is not None:
        sealed = cipher.read(person, "birth_date")
        if sealed is not None and values["birth_decade"] is not None:
            _settle_decade(values, date.fromisoformat(sealed.reveal()))
    if isinstance(identity.get("birth_date"), date):
        birth = identity["birth_date"]
        assert isinstance(birth, date)  # noqa: S101 - narrowed just above
        _settle_decade(values, birth)
    if cipher is not None:
        for column, new in identity.items():
            if isinstance(new, list):
                _write_list(cipher, person, column, new)
            elif isinstance(new, date):
                _write_text(cipher, person, column, new.isoformat())
            else:
                assert new is None or isinstance(new, str)  # noqa: S101 - built above
                _write_text(cipher, person, column, new)
        if any(column in identity for column in _NAME_COLUMNS):
            names: list[str] = []
            for column in _NAME_COLUMNS:
                if column == "legal_name":
                    current = cipher.read(person, column)
                    names += [current.reveal()] if current is not None else []
                else:
                    names += [item.reveal() for item in _read_list(cipher, person, column)]
            _index_names(ctx, person, names)
    for column, term in values.items():
        setattr(person, column, term)
    session.flush()
    changed = "identity_and_attributes" if identity and values else "identity" if identity else "attributes"
    ctx.audit(
        "person.update",
        object_type="person",
        object_id=person.id,
        project_id=person.project_id,
        reason=changed if identity or values else "nothing",
    )
    return RegisteredPerson(person, _duplicates(session, person))


def possible_duplicates(ctx: Context, *, person_id: uuid.UUID) -> list[str]:
    """Pseudonyms of other persons of the project sharing a name form with this one (interviewers only)."""
    return _duplicates(ctx.session, _scoped(ctx, person_id, Action.PERSON_REGISTER))


def read_identity(
    ctx: Context, person_id: uuid.UUID, *, purpose: vocab.IdentityPurpose | str | None = None
) -> IdentityRead:
    """Decrypt a person's identity (audited with its purpose); erased reads as erased, tampering fails."""
    reason = None if purpose is None else _term(vocab.IdentityPurpose, purpose, "purpose").value
    person = _scoped(ctx, person_id, Action.PERSON_READ_IDENTITY)
    ctx.audit(
        "person.read_identity",
        object_type="person",
        object_id=person.id,
        project_id=person.project_id,
        reason=reason,
    )
    erased = IdentityRead(person.id, person.project_id, person.pseudonym, erased=True)
    if person.erased_at is not None:
        return erased
    try:
        cipher = _dek(ctx, person)
    except DataKeyGoneError:
        return erased
    return IdentityRead(
        person.id,
        person.project_id,
        person.pseudonym,
        erased=False,
        legal_name=cipher.read(person, "legal_name"),
        aliases=_read_list(cipher, person, "aliases"),
        transliterations=_read_list(cipher, person, "transliterations"),
        birth_date=cipher.read(person, "birth_date"),
        contacts=cipher.read(person, "contacts"),
        locations=cipher.read(person, "locations"),
        notes=cipher.read(person, "notes"),
    )


def names_for_pseudonymisation(ctx: Context, *, person_ids: Sequence[uuid.UUID]) -> list[PersonNames]:
    """Pseudonym and every name form of each person the caller may identify (one audit entry each)."""
    found: list[PersonNames] = []
    for person_id in dict.fromkeys(person_ids):
        person = ctx.session.get(Person, person_id)
        if person is None or not _allowed(ctx, Action.PERSON_READ_IDENTITY, person.project_id):
            continue
        if person.erased_at is not None:
            continue
        try:
            cipher = _dek(ctx, person)
        except DataKeyGoneError:
            continue
        ctx.audit(
            "person.decrypt_for_pseudonymisation",
            object_type="person",
            object_id=person.id,
            project_id=person.project_id,
        )
        legal = cipher.read(person, "legal_name")
        names = [legal.reveal()] if legal is not None else []
        names += [item.reveal() for item in _read_list(cipher, person, "aliases")]
        names += [item.reveal() for item in _read_list(cipher, person, "transliterations")]
        found.append(PersonNames(person.pseudonym, tuple(dict.fromkeys(names))))
    return found


# ---- the pseudonymous view ------------------------------------------------------------------------


def relations_of(session: Session, person: Person) -> list[RelationView]:
    """Every relation the person is part of, by pseudonym (no scope check: callers have checked)."""
    a = aliased(Person)
    b = aliased(Person)
    rows = session.execute(
        select(PersonRelation, a.pseudonym, b.pseudonym)
        .join(a, a.id == PersonRelation.person_a_id)
        .join(b, b.id == PersonRelation.person_b_id)
        .where((PersonRelation.person_a_id == person.id) | (PersonRelation.person_b_id == person.id))
        .order_by(PersonRelation.relation, a.pseudonym, b.pseudonym)
    ).all()
    return [
        RelationView(row.id, row.relation, row.person_a_id, a_name, row.person_b_id, b_name)
        for row, a_name, b_name in rows
    ]


def residences_of(session: Session, person: Person) -> list[Residence]:
    """The person's residence history, by period (no scope check: callers have checked)."""
    query = select(Residence).where(Residence.person_id == person.id)
    rows = list(session.scalars(query).all())
    # Undated periods last; otherwise by start, then end.
    return sorted(rows, key=lambda row: (row.from_period is None, row.from_period or "", row.to_period or ""))


def get(ctx: Context, *, person_id: uuid.UUID) -> PersonView:
    """The pseudonymous view of a person, for interviewers and coders of the project (audited)."""
    person = _scoped(ctx, person_id, Action.PERSON_READ_PSEUDONYMOUS)
    ctx.audit("person.read", object_type="person", object_id=person.id, project_id=person.project_id)
    return PersonView(person, residences_of(ctx.session, person), relations_of(ctx.session, person))


def relation_candidates(ctx: Context, *, person_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """The other persons of the person's project, (id, pseudonym), for choosing a relation (interviewers)."""
    person = _scoped(ctx, person_id, Action.PERSON_REGISTER)
    query = (
        select(Person.id, Person.pseudonym)
        .where(Person.project_id == person.project_id, Person.id != person.id)
        .order_by(Person.pseudonym)
    )
    return [(row_id, pseudonym) for row_id, pseudonym in ctx.session.execute(query).all()]


def list_in_project(ctx: Context, *, project_id: uuid.UUID) -> list[Person]:
    """The persons of a project, by pseudonym, for interviewers and coders of the project (audited)."""
    session = ctx.session
    if (
        not _allowed(ctx, Action.PERSON_READ_PSEUDONYMOUS, project_id)
        or session.get(Project, project_id) is None
    ):
        raise NotFoundError()
    ctx.audit("person.list", object_type="project", object_id=project_id, project_id=project_id)
    query = select(Person).where(Person.project_id == project_id).order_by(Person.pseudonym)
    return list(session.scalars(query).all())


def project_in_scope(ctx: Context, *, project_id: uuid.UUID, action: Action) -> Project:
    """The project if the caller may do `action` in it; NotFoundError otherwise (as for a missing id)."""
    project = ctx.session.get(Project, project_id) if isinstance(project_id, uuid.UUID) else None
    if project is None or not _allowed(ctx, action, project.id):
        raise NotFoundError()
    return project


def may(ctx: Context, action: Action, project_id: uuid.UUID) -> bool:
    """Whether the caller may do `action` in the project (for showing or hiding controls on pages)."""
    return _allowed(ctx, action, project_id)


def readable_projects(ctx: Context) -> list[tuple[Project, int]]:
    """The projects whose persons the caller may see, by name, with how many persons each holds."""
    query = (
        select(Project, func.count(Person.id))
        .outerjoin(Person, Person.project_id == Project.id)
        .group_by(Project.id)
        .order_by(Project.name)
    )
    if ctx.actor is not None:
        allowed = ctx.actor.project_ids(Action.PERSON_READ_PSEUDONYMOUS)
        if not allowed:
            return []
        query = query.where(Project.id.in_(allowed))
    return [(project, count) for project, count in ctx.session.execute(query).all()]


# ---- residence history and relations ---------------------------------------------------------------


def add_residence(ctx: Context, *, person_id: uuid.UUID, residence: ResidenceInput) -> Residence:
    """Record one period of residence of a person (audited)."""
    person = _scoped(ctx, person_id, Action.PERSON_REGISTER)
    row = _residence(residence)
    row.person_id = person.id
    ctx.session.add(row)
    ctx.session.flush()
    ctx.audit("person.residence_add", object_type="person", object_id=person.id, project_id=person.project_id)
    return row


def remove_residence(ctx: Context, *, person_id: uuid.UUID, residence_id: uuid.UUID) -> None:
    """Delete one period of residence of a person (audited)."""
    person = _scoped(ctx, person_id, Action.PERSON_REGISTER)
    row = ctx.session.get(Residence, residence_id)
    if row is None or row.person_id != person.id:
        raise NotFoundError()
    ctx.session.delete(row)
    ctx.session.flush()
    ctx.audit(
        "person.residence_remove", object_type="person", object_id=person.id, project_id=person.project_id
    )


def add_relation(
    ctx: Context, *, person_id: uuid.UUID, relation: str, other_person_id: uuid.UUID
) -> RelationView:
    """Record that the person is the `relation` of another person of the same project (audited)."""
    session = ctx.session
    person = _scoped(ctx, person_id, Action.PERSON_REGISTER)
    term = _term(vocab.Relation, relation, "relation")
    other = session.get(Person, other_person_id) if isinstance(other_person_id, uuid.UUID) else None
    # A person of another project and a missing id get the same answer.
    if other is None or other.project_id != person.project_id:
        raise InvalidInputError("the other person is not in this project")
    if other.id == person.id:
        raise InvalidInputError("a person cannot be related to themselves")
    a, b = person, other
    if term is vocab.Relation.CHILD:  # "A is the child of B" is stored as "B is the parent of A"
        term, a, b = vocab.Relation.PARENT, other, person
    elif term in vocab.SYMMETRIC_RELATIONS and a.id.bytes > b.id.bytes:
        a, b = b, a
    exists = session.scalar(
        select(PersonRelation.id).where(
            PersonRelation.person_a_id == a.id,
            PersonRelation.person_b_id == b.id,
            PersonRelation.relation == term.value,
        )
    )
    if exists is not None:
        raise ConflictError("this relation is already recorded")
    row = PersonRelation(
        id=uuid.uuid4(), project_id=person.project_id, person_a_id=a.id, person_b_id=b.id, relation=term.value
    )
    session.add(row)
    session.flush()
    ctx.audit("person.relation_add", object_type="person", object_id=person.id, project_id=person.project_id)
    return RelationView(row.id, row.relation, a.id, a.pseudonym, b.id, b.pseudonym)


def remove_relation(ctx: Context, *, person_id: uuid.UUID, relation_id: uuid.UUID) -> None:
    """Delete a relation of the person (audited)."""
    person = _scoped(ctx, person_id, Action.PERSON_REGISTER)
    row = ctx.session.get(PersonRelation, relation_id)
    if row is None or person.id not in (row.person_a_id, row.person_b_id):
        raise NotFoundError()
    ctx.session.delete(row)
    ctx.session.flush()
    ctx.audit(
        "person.relation_remove", object_type="person", object_id=person.id, project_id=person.project_id
    )


# ---- erasure --------------------------------------------------------------------------------------


def erase(ctx: Context, *, person_id: uuid.UUID) -> Person:
    """Crypto-shred a person: destroy their data key, drop ciphertexts and index tokens (audited).

    The pseudonymous record (attributes, residence history, relations) stays: it identifies no one.
    """
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
