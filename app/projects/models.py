"""Projects."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, UUIDPrimaryKey, utcnow


class Project(UUIDPrimaryKey, Base):
    """A research project; names are short operator-chosen handles such as `demo`."""

    __tablename__ = "project"

    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
