"""The audit log tables: hash-chained entries and signed checkpoints (format in app/audit/service.py).

Both tables are append-only: database triggers (migration 5d2e8f1a6c93) refuse UPDATE and DELETE. Entries
hold opaque ids and short codes only, never content or names. `project_id` has no foreign key on purpose:
deleting a project must not touch its history.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime

HASH_SIZE = 32


class AuditEvent(Base):
    """One entry of the chain; `seq` is assigned by the appender (previous head + 1), not the database."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_project_id_seq", "project_id", "seq"),
        Index("ix_audit_event_actor_id_seq", "actor_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_role: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    project_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_SIZE))
    entry_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_SIZE))

    def __repr__(self) -> str:
        return f"<AuditEvent {self.seq} {self.action} {self.outcome}>"


class AuditCheckpoint(Base):
    """An Ed25519 signature over one entry's seq and hash, made by `harbour audit checkpoint`."""

    __tablename__ = "audit_checkpoint"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_SIZE))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))

    def __repr__(self) -> str:
        return f"<AuditCheckpoint {self.seq}>"
