"""Helpers for the audit tests: appending in bulk, and acting as an attacker with database access."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, text, update
from sqlalchemy.orm import Session

from app.audit import service as audit_log
from app.audit.models import AuditCheckpoint, AuditEvent
from crypto.keyring import KeyStore
from crypto.signing import SigningKey

EVENT = cast(Table, AuditEvent.__table__)
CHECKPOINT = cast(Table, AuditCheckpoint.__table__)
TRIGGERS = (
    "audit_event_no_update",
    "audit_event_no_delete",
    "audit_checkpoint_no_update",
    "audit_checkpoint_no_delete",
)


def append(session: Session, keys: KeyStore, count: int, **fields: Any) -> list[AuditEvent]:
    """Record `count` ordinary entries through the service."""
    values: dict[str, Any] = {
        "action": "transcript.read",
        "actor_id": uuid.uuid4(),
        "actor_role": "interviewer",
        "object_type": "interview",
        **fields,
    }
    return [audit_log.record(session, keys=keys, object_id=uuid.uuid4(), **values) for _ in range(count)]


def bulk_append(session: Session, keys: KeyStore, count: int, *, batch: int = 5000) -> None:
    """Insert `count` valid entries quickly (Core executemany), computing the chain as `record` does."""
    key = audit_log.chain_key(keys)
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.entry_hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (0, audit_log.GENESIS_HASH) if head is None else (head.seq, head.entry_hash)
    start = datetime(2026, 11, 28, tzinfo=UTC)
    actor, project = uuid.uuid4(), uuid.uuid4()
    rows: list[dict[str, Any]] = []
    for _ in range(count):
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "occurred_at": start + timedelta(microseconds=seq * 1001),
            "actor_id": actor,
            "actor_role": "coder",
            "action": "coding.write",
            "object_type": "segment",
            "object_id": str(uuid.uuid4()),
            "project_id": project,
            "outcome": "ok",
            "reason": None,
            "prev_hash": prev,
        }
        row["entry_hash"] = prev = audit_log.entry_hash(key, prev, _canonical(row))
        rows.append(row)
        if len(rows) == batch:
            session.execute(insert(EVENT), rows)
            rows = []
    if rows:
        session.execute(insert(EVENT), rows)


def _canonical(row: dict[str, Any]) -> bytes:
    return audit_log.canonical_bytes(**{k: v for k, v in row.items() if k not in ("prev_hash", "entry_hash")})


# ---- the attacker ---------------------------------------------------------------------------------


def disable_triggers(session: Session) -> None:
    """What an attacker who owns the database does first (undone when the test's transaction rolls back)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        session.execute(text("ALTER TABLE audit_checkpoint DISABLE TRIGGER USER"))
    else:
        for name in TRIGGERS:
            session.execute(text(f"DROP TRIGGER {name}"))


def row(session: Session, seq: int) -> dict[str, Any]:
    """One stored entry as a plain dict."""
    found = session.execute(select(EVENT).where(EVENT.c.seq == seq)).mappings().one()
    return dict(found)


def set_fields(session: Session, at_seq: int, /, **values: Any) -> None:
    """UPDATE one entry directly in the database."""
    session.execute(update(EVENT).where(EVENT.c.seq == at_seq).values(**values))


def delete_entries(session: Session, *, from_seq: int, to_seq: int | None = None) -> None:
    """DELETE entries from_seq..to_seq (to the end when to_seq is None)."""
    statement = delete(EVENT).where(EVENT.c.seq >= from_seq)
    if to_seq is not None:
        statement = statement.where(EVENT.c.seq <= to_seq)
    session.execute(statement)


def head_seq(session: Session) -> int:
    """The newest seq (0 when empty)."""
    return session.scalar(select(EVENT.c.seq).order_by(EVENT.c.seq.desc()).limit(1)) or 0


def renumber_up(session: Session, *, from_seq: int) -> None:
    """Shift entries from_seq.. up by one, newest first so the primary key never collides."""
    for seq in range(head_seq(session), from_seq - 1, -1):
        session.execute(update(EVENT).where(EVENT.c.seq == seq).values(seq=seq + 1))


def rechain(session: Session, key: bytes, *, from_seq: int = 1) -> None:
    """Recompute prev_hash and entry_hash from from_seq to the head with the given HMAC key."""
    prev = audit_log.GENESIS_HASH if from_seq == 1 else row(session, from_seq - 1)["entry_hash"]
    for seq in range(from_seq, head_seq(session) + 1):
        values = row(session, seq)
        values["prev_hash"] = prev
        prev = audit_log.entry_hash(key, prev, _canonical(values))
        set_fields(session, seq, prev_hash=values["prev_hash"], entry_hash=prev)


def resign_checkpoints(session: Session, key: SigningKey) -> None:
    """Replace every stored checkpoint's hash, key and signature with ones matching the current chain."""
    for seq in session.scalars(select(CHECKPOINT.c.seq)).all():
        head_hash = row(session, seq)["entry_hash"]
        session.execute(
            update(CHECKPOINT)
            .where(CHECKPOINT.c.seq == seq)
            .values(
                entry_hash=head_hash,
                public_key=key.public_bytes(),
                signature=key.sign(audit_log.checkpoint_message(seq, head_hash)),
            )
        )
