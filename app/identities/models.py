"""Persons and the blind index of their names.

A `person` row carries a random pseudonym in clear and the identity in encrypted columns, all sealed under
the person's IDENTITY-zone data key; destroying that key erases the person. `person_name_index` holds
keyed HMACs of normalised names (never the names), for duplicate warnings across scripts and spellings.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, UUIDPrimaryKey
from app.encryption import EncryptedColumn, Sealed
from app.keys.models import today


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


class PersonNameIndex(UUIDPrimaryKey, Base):
    """One blind-index token (HMAC of a normalised name or alias) of one person."""

    __tablename__ = "person_name_index"
    __table_args__ = (UniqueConstraint("person_id", "token"),)

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    token: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
