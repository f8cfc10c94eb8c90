"""Persons, their residence history and relations, and the blind index of their names.

A `person` row carries a random pseudonym in clear, analytic attributes in clear (vocabulary terms from
`app.identities.vocabularies`, no identity), and the identity in encrypted columns, all sealed under the
person's IDENTITY-zone data key; destroying that key erases the person. `residence` and `person_relation`
are analysis-zone rows (countries, periods, statuses, relation terms between pseudonyms). `person_name_index`
holds keyed HMACs of normalised names (never the names), for duplicate warnings across scripts and spellings.

Vocabulary columns carry no CHECK constraints: the services validate every value (one list, in Python), and
the vocabularies will grow; a constraint per term would need a migration for each new term.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, UUIDPrimaryKey
from app.encryption import EncryptedColumn, Sealed
from app.keys.models import today


def _empty() -> list[Any]:
    return []


class Person(UUIDPrimaryKey, Base):
    """Someone in a project's records, known in clear only by a random pseudonym."""

    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("project_id", "pseudonym"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project.id"), index=True)
    pseudonym: Mapped[str] = mapped_column(String(64))
    # Day precision: exact times would let a thief line registrations up with other events.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=today)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    legal_name: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    aliases: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)  # a JSON list
    contacts: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    notes: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    transliterations: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)  # a JSON list
    birth_date: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)  # ISO 8601 date
    locations: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    # Analysis zone: vocabulary terms in clear (see app.identities.vocabularies).
    person_kind: Mapped[str] = mapped_column(
        String(16), default="individual", server_default=text("'individual'")
    )
    roles: Mapped[list[Any]] = mapped_column(JSON, default=_empty, server_default=text("'[]'"))
    origin_state: Mapped[str | None] = mapped_column(String(2), default=None)
    target_category: Mapped[list[Any]] = mapped_column(JSON, default=_empty, server_default=text("'[]'"))
    gender: Mapped[str | None] = mapped_column(String(16), default=None)
    birth_decade: Mapped[int | None] = mapped_column(Integer, default=None)
    # Unreviewed records count as easy to recognise until someone decides otherwise.
    identifiability_risk: Mapped[str] = mapped_column(
        String(8), default="high", server_default=text("'high'")
    )


class Residence(UUIDPrimaryKey, Base):
    """One period of a person's residence: host country, year or year-month bounds, legal status."""

    __tablename__ = "residence"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    country: Mapped[str] = mapped_column(String(2))
    from_period: Mapped[str | None] = mapped_column(String(7), default=None)  # "2019" or "2019-05"
    to_period: Mapped[str | None] = mapped_column(String(7), default=None)
    legal_status: Mapped[str] = mapped_column(String(32), default="unknown", server_default=text("'unknown'"))


class PersonRelation(UUIDPrimaryKey, Base):
    """Person A is the `relation` of person B, both in one project (symmetric relations in id order)."""

    __tablename__ = "person_relation"
    __table_args__ = (UniqueConstraint("person_a_id", "person_b_id", "relation"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project.id"), index=True)
    person_a_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    person_b_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    relation: Mapped[str] = mapped_column(String(32))


class PersonNameIndex(UUIDPrimaryKey, Base):
    """One blind-index token (HMAC of a normalised name or alias) of one person."""

    __tablename__ = "person_name_index"
    __table_args__ = (UniqueConstraint("person_id", "token"),)

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    token: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
