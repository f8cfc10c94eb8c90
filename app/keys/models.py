"""Data keys (DEKs): one per record owner and zone, stored only wrapped by the zone's key-encryption key."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, UUIDPrimaryKey, utcnow


def today() -> datetime:
    """Midnight UTC of the current day: the precision Harbour keeps for record timestamps."""
    return utcnow().replace(hour=0, minute=0, second=0, microsecond=0)


class DataKey(UUIDPrimaryKey, Base):
    """A wrapped DEK; its id is the key id written into every field ciphertext sealed under it."""

    __tablename__ = "data_key"
    __table_args__ = (
        UniqueConstraint("owner_type", "owner_id", "zone"),
        Index("ix_data_key_zone_kek_version", "zone", "kek_version"),
    )

    zone: Mapped[str] = mapped_column(String(16))
    owner_type: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    # crypto.aead layout under the zone KEK, aad = aad_for("data_key", "wrapped", id).
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    # Mirrors the version in the wrapped blob's header, so status counts and rotation are index lookups.
    kek_version: Mapped[int] = mapped_column(Integer)
    # Day precision: a key's exact creation time would date the registration of its owner.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=today)
