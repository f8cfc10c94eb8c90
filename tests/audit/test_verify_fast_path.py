"""`verify` encodes raw rows with a fixed layout: byte for byte `canonical_bytes`, for any stored entry.

The fast path reads the log without ORM type processing; these tests pin that it builds exactly the bytes
`canonical_bytes` builds from the same rows read through the ORM, for valid entries and for the odd values
only a tampered database holds (quotes, backslashes, control and non-ASCII characters), and that a chain of
such entries still verifies while an edit in it is named.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.audit import service as audit_log
from app.runtime import Runtime
from tests.audit import helpers
from tests.audit.helpers import EVENT

CODE = st.from_regex(r"[a-z][a-z0-9_.:-]{0,20}", fullmatch=True)
# What only a database edit can store: any text the column holds, JSON's special characters included.
ODD = st.text(alphabet=st.characters(codec="utf-8"), max_size=12).filter(lambda value: "\x00" not in value)
TEXT = st.one_of(CODE, ODD)
MOMENT = st.datetimes(
    min_value=datetime(1000, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=moment.microsecond if moment.second % 3 else 0))
ENTRY = st.fixed_dictionaries(
    {
        "occurred_at": MOMENT,
        "actor_id": st.none() | st.uuids(),
        "actor_role": st.none() | TEXT,
        "action": TEXT,
        "object_type": st.none() | TEXT,
        "object_id": st.none() | st.uuids().map(str) | TEXT,
        "project_id": st.none() | st.uuids(),
        "outcome": st.sampled_from(["ok", "denied", "failed"]) | ODD.map(lambda value: value[:16]),
        "reason": st.none() | TEXT,
    }
)


def _insert_chain(session: Session, key: bytes, entries: list[dict[str, Any]]) -> None:
    """Store the entries as a valid chain from seq 1, hashed over `canonical_bytes` as `append` does."""
    prev = audit_log.GENESIS_HASH
    rows = []
    for seq, entry in enumerate(entries, start=1):
        digest = audit_log.entry_hash(key, prev, audit_log.canonical_bytes(seq=seq, **entry))
        rows.append({**entry, "seq": seq, "prev_hash": prev, "entry_hash": digest})
        prev = digest
    session.execute(insert(EVENT), rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ENTRY, min_size=1, max_size=15))
def test_the_fast_encoding_of_raw_rows_is_canonical_bytes(
    db: Session, runtime: Runtime, entries: list[dict[str, Any]]
) -> None:
    assert helpers.head_seq(db) == 0
    savepoint = db.begin_nested()
    try:
        _insert_chain(db, audit_log.chain_key(runtime.keys), entries)
        typed = db.execute(select(*audit_log._ENTRY_COLUMNS).order_by(EVENT.c.seq)).all()
        raw = list(audit_log._raw_entries(db))
        encoder = audit_log._RowEncoder(db.get_bind().dialect)

        assert len(raw) == len(typed) == len(entries)
        for raw_row, row in zip(raw, typed, strict=True):
            reference = audit_log._canonical_of(row)
            assert encoder.canonical(raw_row) == reference
            assert encoder.exact(raw_row) == reference
        report = audit_log.verify(db, keys=runtime.keys)
        assert report == audit_log.VerifyReport(True, len(entries), len(entries), None, None)
    finally:
        savepoint.rollback()


def test_usual_rows_take_the_layout_and_values_seen_again_come_from_the_memo(
    db: Session, runtime: Runtime
) -> None:
    actor, project = uuid.uuid4(), uuid.uuid4()
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    entries = [
        {
            "occurred_at": start + timedelta(seconds=number, microseconds=number * 7),
            "actor_id": actor if number % 3 else None,
            "actor_role": "coder+auditor",
            "action": "transcript.read" if number % 2 else 'say "hi"\\',
            "object_type": "interview",
            "object_id": str(uuid.uuid4()) if number % 4 else "naïve\n",
            "project_id": project,
            "outcome": "ok",
            "reason": None if number % 5 else "search",
        }
        for number in range(40)
    ]
    _insert_chain(db, audit_log.chain_key(runtime.keys), entries)
    encoder = audit_log._RowEncoder(db.get_bind().dialect)
    typed = db.execute(select(*audit_log._ENTRY_COLUMNS).order_by(EVENT.c.seq)).all()

    reference = encoder.exact

    def no_fallback(row: Any) -> bytes:
        raise AssertionError(f"stored timestamps of this backend should take the layout: {row[1]!r}")

    encoder.exact = no_fallback  # type: ignore[method-assign]
    for _ in range(2):  # the second pass is served by the memo
        for raw_row, row in zip(audit_log._raw_entries(db), typed, strict=True):
            assert encoder.canonical(raw_row) == audit_log._canonical_of(row) == reference(raw_row)
    assert audit_log.verify(db, keys=runtime.keys).ok


def test_an_edit_that_adds_a_quote_or_moves_text_between_fields_is_named(
    db: Session, runtime: Runtime
) -> None:
    helpers.append(db, runtime.keys, 6, object_type="interview", reason="search")
    helpers.disable_triggers(db)
    entry = helpers.row(db, 3)
    # The text of two fields run together, as an unescaped layout would have made it look the same.
    helpers.set_fields(db, 3, object_type=f'interview","reason":"{entry["reason"]}', reason=None)
    helpers.set_fields(db, 5, action='transcript.read"')

    report = audit_log.verify(db, keys=runtime.keys)

    assert (report.ok, report.first_bad_seq, report.problem, report.entries) == (
        False,
        3,
        "entry hash mismatch",
        2,
    )


@given(key=st.binary(min_size=1, max_size=130), message=st.binary(max_size=600))
def test_the_keyed_hash_with_precomputed_pads_is_hmac_sha256(key: bytes, message: bytes) -> None:
    mac = audit_log._hmac_sha256(key)

    assert mac(message) == audit_log.entry_hash(key, b"", message) == hmac.digest(key, message, "sha256")
