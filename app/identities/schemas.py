"""Request and response bodies of the persons API.

Requests forbid unknown fields (`extra="forbid"`), so a body cannot set what the server owns (`project_id`,
`pseudonym`, key versions): mass assignment is a 422, not a silent ignore. Responses come in two kinds:
`PersonRead` carries the identity and is only built for an audited, purposed identity read; every other
response (`PersonSummary`, `PersonPseudonymousRead`, `PersonSaved`, residences, relations) has no identity
field at all, so a coder's or a list response cannot leak one by construction (tests/identities checks the
field names of every response model).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.encryption import EncryptedText
from app.identities import service as identities
from app.identities import vocabularies as vocab
from app.identities.models import Person, Residence
from app.identities.vocabularies import (
    Gender,
    IdentifiabilityRisk,
    LegalStatus,
    PersonKind,
    PersonRole,
    Relation,
    TargetCategory,
)

Name = Annotated[str, StringConstraints(max_length=identities.MAX_NAME)]
RequiredName = Annotated[str, StringConstraints(min_length=1, max_length=identities.MAX_NAME)]
Text = Annotated[str, StringConstraints(max_length=identities.MAX_TEXT)]
CountryCode = Annotated[str, StringConstraints(max_length=8), AfterValidator(vocab.country_code)]
Period = Annotated[str, StringConstraints(max_length=7), AfterValidator(vocab.period)]
Decade = Annotated[int, AfterValidator(vocab.birth_decade)]
Names = Annotated[list[Name], Field(max_length=identities.MAX_NAMES)]

_STRICT = ConfigDict(extra="forbid")


class ResidenceCreate(BaseModel):
    """One period of residence: host country, from/to as a year or year-month, legal status."""

    model_config = _STRICT

    country: CountryCode
    from_period: Period | None = None
    to_period: Period | None = None
    legal_status: LegalStatus = LegalStatus.UNKNOWN

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        start, end = self.from_period, self.to_period
        if start and end and vocab.period_bounds(start)[0] > vocab.period_bounds(end)[1]:
            raise ValueError("a residence cannot end before it starts")
        return self

    def to_input(self) -> identities.ResidenceInput:
        """The service's form of this period."""
        return identities.ResidenceInput(
            country=self.country,
            from_period=self.from_period,
            to_period=self.to_period,
            legal_status=self.legal_status,
        )


class PersonCreate(BaseModel):
    """A person to register: identity (sealed in the vault) and analytic attributes (vocabulary terms)."""

    model_config = _STRICT

    legal_name: RequiredName
    aliases: Names = Field(default_factory=list)
    transliterations: Names = Field(default_factory=list)
    birth_date: date | None = None
    contacts: Text | None = None
    locations: Text | None = None
    notes: Text | None = None
    person_kind: PersonKind = PersonKind.INDIVIDUAL
    roles: list[PersonRole] = Field(default_factory=list)
    origin_state: CountryCode | None = None
    target_category: list[TargetCategory] = Field(default_factory=list)
    gender: Gender | None = None
    birth_decade: Decade | None = Field(default=None, description="derived from birth_date when omitted")
    identifiability_risk: IdentifiabilityRisk = IdentifiabilityRisk.HIGH
    residences: Annotated[list[ResidenceCreate], Field(max_length=50)] = Field(default_factory=list)

    def to_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `identities.register`."""
        values = self.model_dump(exclude={"residences"})
        values["residences"] = [residence.to_input() for residence in self.residences]
        return values


class PersonUpdate(BaseModel):
    """Fields to change: one left out stays as it is, null clears it (the legal name cannot be cleared)."""

    model_config = _STRICT

    legal_name: RequiredName | None = None
    aliases: Names | None = None
    transliterations: Names | None = None
    birth_date: date | None = None
    contacts: Text | None = None
    locations: Text | None = None
    notes: Text | None = None
    person_kind: PersonKind | None = None
    roles: list[PersonRole] | None = None
    origin_state: CountryCode | None = None
    target_category: list[TargetCategory] | None = None
    gender: Gender | None = None
    birth_decade: Decade | None = None
    identifiability_risk: IdentifiabilityRisk | None = None

    def to_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `identities.update`: only the fields the caller sent."""
        values: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if value is None and name in ("aliases", "transliterations", "roles", "target_category"):
                value = []
            values[name] = value
        return values


class RelationCreate(BaseModel):
    """This person is the `relation` of the other person (both in the same project)."""

    model_config = _STRICT

    relation: Relation
    other_person_id: uuid.UUID


class ResidenceRead(BaseModel):
    """One period of residence."""

    id: uuid.UUID
    country: str
    from_period: str | None
    to_period: str | None
    legal_status: str

    @classmethod
    def of(cls, row: Residence) -> ResidenceRead:
        """Serialise a residence row."""
        return cls.model_validate(row, from_attributes=True)


class RelationRead(BaseModel):
    """A relation by pseudonym: `person_a` is the `relation` of `person_b`."""

    id: uuid.UUID
    person_a_id: uuid.UUID
    person_a: str
    relation: str
    person_b_id: uuid.UUID
    person_b: str

    @classmethod
    def of(cls, view: identities.RelationView) -> RelationRead:
        """Serialise a relation view."""
        return cls.model_validate(view, from_attributes=True)


class PersonSummary(BaseModel):
    """A person as lists show them: pseudonym and analytic attributes, no identity field."""

    id: uuid.UUID
    project_id: uuid.UUID
    pseudonym: str
    erased: bool
    person_kind: str
    roles: list[str]
    origin_state: str | None
    target_category: list[str]
    gender: str | None
    birth_decade: int | None
    identifiability_risk: str

    @classmethod
    def of(cls, person: Person) -> PersonSummary:
        """Serialise a person's pseudonymous attributes."""
        return cls(**_summary(person))


class PersonPseudonymousRead(PersonSummary):
    """What a coder sees of a person: the summary, residence history, relations by pseudonym."""

    residences: list[ResidenceRead]
    relations: list[RelationRead]

    @classmethod
    def of_view(cls, view: identities.PersonView) -> PersonPseudonymousRead:
        """Serialise the pseudonymous view."""
        return cls(
            **_summary(view.person),
            residences=[ResidenceRead.of(row) for row in view.residences],
            relations=[RelationRead.of(relation) for relation in view.relations],
        )


class PersonSaved(BaseModel):
    """A registered or updated person (pseudonymous view) and the pseudonyms of possible duplicates."""

    person: PersonPseudonymousRead
    possible_duplicates: list[str]


class PersonRead(PersonSummary):
    """A person's identity, for interviewers of the project only, after an audited read with a purpose."""

    legal_name: str | None
    aliases: list[str]
    transliterations: list[str]
    birth_date: date | None
    contacts: str | None
    locations: str | None
    notes: str | None

    @classmethod
    def of_identity(cls, person: Person, identity: identities.IdentityRead) -> PersonRead:
        """Serialise a decrypted identity together with the attributes (the one place text is revealed)."""
        birth = identity.birth_date.reveal() if identity.birth_date is not None else None
        return cls(
            **_summary(person),
            legal_name=_reveal(identity.legal_name),
            aliases=[alias.reveal() for alias in identity.aliases],
            transliterations=[name.reveal() for name in identity.transliterations],
            birth_date=date.fromisoformat(birth) if birth else None,
            contacts=_reveal(identity.contacts),
            locations=_reveal(identity.locations),
            notes=_reveal(identity.notes),
        )


def _reveal(value: EncryptedText | None) -> str | None:
    return None if value is None else value.reveal()


def _summary(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "project_id": person.project_id,
        "pseudonym": person.pseudonym,
        "erased": person.erased_at is not None,
        "person_kind": person.person_kind,
        "roles": list(person.roles or []),
        "origin_state": person.origin_state,
        "target_category": list(person.target_category or []),
        "gender": person.gender,
        "birth_decade": person.birth_decade,
        "identifiability_risk": person.identifiability_risk,
    }
