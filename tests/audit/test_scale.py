"""Verification streams the log in batches: tens of thousands of entries verify, and a late edit is found."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.audit import service as audit_log
from app.runtime import Runtime
from tests.audit import helpers

ENTRIES = 20_000


def test_a_large_log_verifies_in_batches_and_a_late_edit_is_named(db: Session, runtime: Runtime) -> None:
    assert helpers.head_seq(db) == 0
    helpers.bulk_append(db, runtime.keys, ENTRIES)
    seen: list[int] = []

    report = audit_log.verify(db, keys=runtime.keys, progress=seen.append)

    assert report == audit_log.VerifyReport(True, ENTRIES, ENTRIES, None, None)
    assert seen[-1] == ENTRIES
    assert len(seen) > 2

    # An entry appended through the service continues the bulk chain.
    audit_log.record(db, keys=runtime.keys, action="login", actor_id=None, actor_role=None)
    helpers.disable_triggers(db)
    helpers.set_fields(db, ENTRIES - 3, reason="edited")
    late = audit_log.verify(db, keys=runtime.keys)
    assert (late.first_bad_seq, late.problem, late.entries) == (
        ENTRIES - 3,
        "entry hash mismatch",
        ENTRIES - 4,
    )
