"""Export jobs: one long export run in the background for one user, its file kept encrypted until it expires.

The job row lives in the database so that any process can report on it and hand out its file. The finished
file is sealed in `result` under the project's ANALYSIS-zone data key with associated data bound to this
table, column and row id (`app.encryption.aad_of`): a result copied to another job does not open. Rows are
deleted once `expires_at` has passed, file and all.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, UUIDPrimaryKey, utcnow
from app.encryption import EncryptedColumn, Sealed


class JobStatus(enum.StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ExportJob(UUIDPrimaryKey, Base):
    """One background export of a project, visible only to the user who asked for it."""

    __tablename__ = "export_job"

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    fmt: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    # A fixed, content-free sentence for the user when the job failed.
    message: Mapped[str | None] = mapped_column(String(200), default=None)
    # The process-local runner that holds the job, and when it last said it is still alive.
    runner: Mapped[str | None] = mapped_column(String(32), default=None)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    size: Mapped[int | None] = mapped_column(Integer, default=None)
    result: Mapped[Sealed | None] = mapped_column(EncryptedColumn(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
