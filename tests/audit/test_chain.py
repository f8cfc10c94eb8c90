"""The audit chain: appends make one contiguous chain, and every edit made directly in the database shows."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.audit import service as audit_log
from app.audit.models import AuditCheckpoint, AuditEvent
from app.errors import ConflictError, InvalidInputError
from app.runtime import Runtime
from crypto.keyring import KeyStore, Zone
from crypto.signing import SigningKey
from tests.audit import helpers
from tests.audit.helpers import CHECKPOINT, EVENT


@pytest.fixture
def keys(runtime: Runtime) -> KeyStore:
    """The unlocked key store."""
    return runtime.keys


@pytest.fixture
def log(db: Session) -> Session:
    """The test's session over an audit log that starts empty (every test's writes are rolled back)."""
    assert helpers.head_seq(db) == 0, "the shared test database should hold no committed audit entries"
    return db


def _verify(session: Session, keys: KeyStore, **kwargs: object) -> audit_log.VerifyReport:
    return audit_log.verify(session, keys=keys, **kwargs)  # type: ignore[arg-type]


# ---- appending ------------------------------------------------------------------------------------


def test_appends_make_a_contiguous_linked_chain_that_verifies(log: Session, keys: KeyStore) -> None:
    events = helpers.append(log, keys, 25)

    assert [event.seq for event in events] == list(range(1, 26))
    assert events[0].prev_hash == audit_log.GENESIS_HASH
    assert all(
        later.prev_hash == earlier.entry_hash for earlier, later in zip(events, events[1:], strict=False)
    )
    report = _verify(log, keys)
    assert report == audit_log.VerifyReport(
        ok=True, entries=25, head_seq=25, first_bad_seq=None, problem=None
    )


def test_an_empty_log_verifies(log: Session, keys: KeyStore) -> None:
    assert _verify(log, keys) == audit_log.VerifyReport(True, 0, None, None, None)


def test_an_entry_stores_only_opaque_ids_and_codes(log: Session, keys: KeyStore) -> None:
    actor, project, interview = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    event = audit_log.record(
        log,
        keys=keys,
        action="transcript.read_identified",
        actor_id=actor,
        actor_role="coder+interviewer",
        object_type="interview",
        object_id=interview,
        project_id=project,
        outcome=audit_log.Outcome.DENIED,
        reason="not_in_project",
    )

    stored = helpers.row(log, event.seq)
    assert stored["object_id"] == str(interview)
    assert (stored["actor_id"], stored["project_id"], stored["outcome"]) == (actor, project, "denied")
    assert _verify(log, keys).ok


def test_the_hash_covers_the_documented_canonical_encoding(log: Session, keys: KeyStore) -> None:
    (event,) = helpers.append(log, keys, 1, actor_id=None, actor_role=None)

    canonical = audit_log.canonical_bytes(
        seq=1,
        occurred_at=event.occurred_at,
        actor_id=None,
        actor_role=None,
        action="transcript.read",
        object_type="interview",
        object_id=event.object_id,
        project_id=None,
        outcome="ok",
        reason=None,
    )
    assert canonical.startswith(
        b'{"action":"transcript.read","actor_id":null,"actor_role":null,"object_id":"'
    )
    assert canonical.endswith(b'"outcome":"ok","project_id":null,"reason":null,"seq":1}')
    assert event.entry_hash == audit_log.entry_hash(audit_log.chain_key(keys), bytes(32), canonical)


def test_the_entry_commits_or_rolls_back_with_the_callers_transaction(
    runtime: Runtime, keys: KeyStore
) -> None:
    with runtime.sessions() as session:
        assert helpers.head_seq(session) == 0
        with pytest.raises(RuntimeError), session.begin_nested():
            _append_then_fail(session, keys)
        assert helpers.head_seq(session) == 0
        helpers.append(session, keys, 1)
        assert helpers.head_seq(session) == 1


def _append_then_fail(session: Session, keys: KeyStore) -> None:
    helpers.append(session, keys, 1)
    raise RuntimeError("the operation failed after its entry was written")


# ---- refusing content ------------------------------------------------------------------------------

CONTENT_LIKE = [
    "Maria Lopez",
    "login\r\naudit ok forged",
    "read\nentry",
    "\x1b[31mred",
    "x" * 10_000,
    "",
    "Transcript.Read",
    '{"action":"x"}',
    "имя",
    "read\x00",
    "1starts_with_digit",
]


@pytest.mark.parametrize("value", CONTENT_LIKE)
@pytest.mark.parametrize("field", ["action", "object_type", "object_id", "reason", "actor_role"])
def test_record_refuses_content_like_values(log: Session, keys: KeyStore, field: str, value: str) -> None:
    values: dict[str, object] = {
        "action": "interview.read",
        "actor_id": None,
        "actor_role": None,
        field: value,
    }
    with pytest.raises(ValueError, match="audit"):
        audit_log.record(log, keys=keys, **values)  # type: ignore[arg-type]
    assert helpers.head_seq(log) == 0


def test_record_refuses_ids_that_are_not_uuids(log: Session, keys: KeyStore) -> None:
    with pytest.raises(ValueError, match="UUID"):
        audit_log.record(log, keys=keys, action="x", actor_id="someone", actor_role=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="UUID"):
        audit_log.record(log, keys=keys, action="x", actor_id=None, actor_role=None, project_id=7)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="object_id"):
        audit_log.record(log, keys=keys, action="x", actor_id=None, actor_role=None, object_id=42)  # type: ignore[arg-type]


def test_record_accepts_a_uuid_string_as_object_id_in_canonical_form(log: Session, keys: KeyStore) -> None:
    object_id = uuid.uuid4()
    event = audit_log.record(
        log, keys=keys, action="x", actor_id=None, actor_role=None, object_id=str(object_id).upper()
    )
    assert event.object_id == str(object_id)


# ---- the triggers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET action = 'nothing'",
        "DELETE FROM audit_event",
        "UPDATE audit_checkpoint SET seq = 99",
        "DELETE FROM audit_checkpoint",
    ],
)
def test_update_and_delete_are_refused_by_the_database(log: Session, keys: KeyStore, statement: str) -> None:
    helpers.append(log, keys, 3)
    audit_log.checkpoint(log, keys=keys)

    with pytest.raises(DBAPIError, match="append-only"), log.begin_nested():
        log.execute(text(statement))
    assert helpers.head_seq(log) == 3
    assert log.scalar(select(AuditCheckpoint.seq)) == 3


def test_truncate_is_refused_on_postgresql(log: Session, keys: KeyStore) -> None:
    if log.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    helpers.append(log, keys, 1)
    with pytest.raises(DBAPIError, match="append-only"), log.begin_nested():
        log.execute(text("TRUNCATE audit_event"))


# ---- tampering, each detected at the right entry ----------------------------------------------------


def test_an_edited_entry_is_named(log: Session, keys: KeyStore) -> None:
    helpers.append(log, keys, 10)
    helpers.disable_triggers(log)
    helpers.set_fields(log, 4, action="codebook.read")

    report = _verify(log, keys)
    assert (report.ok, report.first_bad_seq, report.problem) == (False, 4, "entry hash mismatch")


def test_an_edited_entry_with_a_hash_computed_without_the_key_is_named(log: Session, keys: KeyStore) -> None:
    helpers.append(log, keys, 10)
    helpers.disable_triggers(log)
    helpers.set_fields(log, 6, outcome="ok", reason=None, actor_id=None)
    helpers.rechain(log, b"\x00" * 32, from_seq=6)  # a guessed key: only the database is in hand

    report = _verify(log, keys)
    assert (report.first_bad_seq, report.problem) == (6, "entry hash mismatch")


def test_a_deleted_entry_is_named(log: Session, keys: KeyStore) -> None:
    helpers.append(log, keys, 10)
    helpers.disable_triggers(log)
    helpers.delete_entries(log, from_seq=5, to_seq=5)

    report = _verify(log, keys)
    assert (report.ok, report.first_bad_seq, report.problem) == (False, 5, "gap in sequence")
    assert report.entries == 4


def test_a_deleted_entry_hidden_by_renumbering_is_named(log: Session, keys: KeyStore) -> None:
    helpers.append(log, keys, 10)
    helpers.disable_triggers(log)
    helpers.delete_entries(log, from_seq=5, to_seq=5)
    for seq in range(6, 11):
        helpers.set_fields(log, seq, seq=seq - 1)

    report = _verify(log, keys)
    assert (report.first_bad_seq, report.problem) == (5, "broken link")


def test_two_swapped_entries_are_named(log: Session, keys: KeyStore) -> None:
    helpers.append(log, keys, 10)
    helpers.disable_triggers(log)
    third, seventh = helpers.row(log, 3), helpers.row(log, 7)
    helpers.set_fields(log, 3, **{k: v for k, v in seventh.items() if k != "seq"})
    helpers.set_fields(log, 7, **{k: v for k, v in third.items() if k != "seq"})

    report = _verify(log, keys)
    assert (report.first_bad_seq, report.problem) == (3, "broken link")


def test_two_entries_with_swapped_contents_but_kept_hashes_are_named(log: Session, keys: KeyStore) -> None:
    helpers.append(log, keys, 10)
    helpers.disable_triggers(log)
    content = ("occurred_at", "actor_id", "actor_role", "action", "object_type", "object_id", "project_id")
    third, seventh = helpers.row(log, 3), helpers.row(log, 7)
    helpers.set_fields(log, 3, **{k: seventh[k] for k in content})
    helpers.set_fields(log, 7, **{k: third[k] for k in content})

    report = _verify(log, keys)
    assert (report.first_bad_seq, report.problem) == (3, "entry hash mismatch")


def test_an_entry_inserted_in_the_middle_is_named(log: Session, keys: KeyStore) -> None:
    helpers.append(log, keys, 10)
    helpers.disable_triggers(log)
    helpers.renumber_up(log, from_seq=6)
    forged = helpers.row(log, 5) | {
        "seq": 6,
        "action": "login",
        "prev_hash": helpers.row(log, 5)["entry_hash"],
    }
    log.execute(EVENT.insert().values(**forged))

    report = _verify(log, keys)
    assert (report.first_bad_seq, report.problem) == (6, "entry hash mismatch")
    assert report.entries == 5


def test_a_truncated_tail_is_named_given_a_later_external_checkpoint(log: Session, keys: KeyStore) -> None:
    helpers.append(log, keys, 10)
    held_off_server = audit_log.Checkpoint.from_json(audit_log.checkpoint(log, keys=keys).to_json())
    helpers.append(log, keys, 2)
    helpers.disable_triggers(log)
    helpers.delete_entries(log, from_seq=7)
    log.execute(delete(CHECKPOINT))

    # Without anything held off the server a clean cut is undetectable: that is what checkpoints are for.
    assert _verify(log, keys).ok
    report = _verify(log, keys, external=held_off_server)
    assert (report.ok, report.first_bad_seq, report.problem) == (False, 7, "log truncated before checkpoint")
    assert (report.entries, report.head_seq) == (6, 6)


def test_a_truncated_tail_is_named_given_a_stored_checkpoint_left_behind(
    log: Session, keys: KeyStore
) -> None:
    helpers.append(log, keys, 10)
    audit_log.checkpoint(log, keys=keys)
    helpers.disable_triggers(log)
    helpers.delete_entries(log, from_seq=9)

    report = _verify(log, keys)
    assert (report.first_bad_seq, report.problem) == (9, "log truncated before checkpoint")


def test_a_rewritten_chain_resigned_with_another_key_fails_the_stored_checkpoints(
    log: Session, keys: KeyStore
) -> None:
    # The worst case: the attacker even holds the chain's HMAC key, but not the auditors' signing key.
    helpers.append(log, keys, 5)
    audit_log.checkpoint(log, keys=keys)
    helpers.append(log, keys, 5)
    audit_log.checkpoint(log, keys=keys)
    helpers.disable_triggers(log)
    helpers.set_fields(log, 3, action="nothing.happened")
    helpers.rechain(log, audit_log.chain_key(keys), from_seq=3)
    helpers.resign_checkpoints(log, SigningKey.from_seed(b"\x07" * 32))

    report = _verify(log, keys)
    assert (report.ok, report.first_bad_seq, report.problem) == (False, 5, "checkpoint signature invalid")
    # The auditor's pinned key gives the same answer without trusting the server's keys for it.
    pinned = _verify(log, keys, pinned_public_key=audit_log.public_key(keys))
    assert (pinned.first_bad_seq, pinned.problem) == (5, "checkpoint signature invalid")


def test_a_rewritten_chain_mismatches_an_external_checkpoint(log: Session, keys: KeyStore) -> None:
    helpers.append(log, keys, 8)
    held_off_server = audit_log.checkpoint(log, keys=keys)
    helpers.append(log, keys, 4)
    helpers.disable_triggers(log)
    helpers.set_fields(log, 2, action="nothing.happened")
    helpers.rechain(log, audit_log.chain_key(keys), from_seq=2)
    log.execute(delete(CHECKPOINT))

    report = _verify(log, keys, external=held_off_server)
    assert (report.ok, report.first_bad_seq, report.problem) == (False, 8, "checkpoint mismatch")
    assert (report.entries, report.head_seq) == (7, 7)


def test_a_forged_external_checkpoint_is_refused(log: Session, keys: KeyStore) -> None:
    helpers.append(log, keys, 4)
    attacker = SigningKey.from_seed(b"\x09" * 32)
    head = helpers.row(log, 4)["entry_hash"]
    forged = audit_log.Checkpoint(
        seq=4,
        entry_hash=head,
        signed_at=helpers.row(log, 4)["occurred_at"],
        public_key=attacker.public_bytes(),
        signature=attacker.sign(audit_log.checkpoint_message(4, head)),
    )

    report = _verify(log, keys, external=forged)
    assert (report.first_bad_seq, report.problem) == (4, "checkpoint signature invalid")


def test_the_first_of_several_problems_is_named(log: Session, keys: KeyStore) -> None:
    helpers.append(log, keys, 10)
    helpers.disable_triggers(log)
    helpers.set_fields(log, 8, action="late.edit")
    helpers.delete_entries(log, from_seq=3, to_seq=3)

    report = _verify(log, keys)
    assert (report.first_bad_seq, report.problem) == (3, "gap in sequence")


# ---- checkpoints -----------------------------------------------------------------------------------


def test_a_checkpoint_signs_the_head_and_round_trips_through_json(log: Session, keys: KeyStore) -> None:
    events = helpers.append(log, keys, 3)
    made = audit_log.checkpoint(log, keys=keys)

    assert (made.seq, made.entry_hash) == (3, events[-1].entry_hash)
    assert made.public_key == audit_log.public_key(keys)
    assert made.is_signed_by(audit_log.public_key(keys))
    assert audit_log.Checkpoint.from_json(made.to_json()) == made
    assert log.get(AuditCheckpoint, 3) is not None
    assert audit_log.checkpoint(log, keys=keys) == made  # the same head is stored once
    assert _verify(log, keys, external=made).ok


def test_an_empty_log_cannot_be_checkpointed(log: Session, keys: KeyStore) -> None:
    with pytest.raises(ConflictError):
        audit_log.checkpoint(log, keys=keys)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"format": "harbour-audit-checkpoint", "format_version": 1}',
        '{"format": "other", "format_version": 1, "seq": 1}',
        "[" * 100_000,
    ],
)
def test_a_malformed_checkpoint_file_is_refused(text: str) -> None:
    with pytest.raises(InvalidInputError, match="not a Harbour audit checkpoint file"):
        audit_log.Checkpoint.from_json(text)


def test_a_checkpoint_file_with_a_bad_field_is_refused(log: Session, keys: KeyStore) -> None:
    helpers.append(log, keys, 1)
    good = audit_log.checkpoint(log, keys=keys).to_json()
    for bad in (
        good.replace('"seq": 1', '"seq": 0'),
        good.replace('"seq": 1', '"seq": true'),
        good.replace('"signature": "', '"signature": "zz'),
        good.replace('"public_key": "', '"public_key": "00'),
    ):
        with pytest.raises(InvalidInputError, match="not a Harbour audit checkpoint file"):
            audit_log.Checkpoint.from_json(bad)


def test_the_signing_key_is_stable_and_separate_from_the_chain_key(keys: KeyStore) -> None:
    assert audit_log.public_key(keys) == audit_log.signing_key(keys).public_bytes()
    assert audit_log.public_key(keys) == audit_log.public_key(keys)
    assert audit_log.chain_key(keys) != keys.zone_key(Zone.AUDIT, "checkpoint-signing", version=1)


# ---- listing ---------------------------------------------------------------------------------------


def test_listing_is_scoped_to_projects_newest_first_and_keyset_paged(log: Session, keys: KeyStore) -> None:
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    helpers.append(log, keys, 3, project_id=mine)
    helpers.append(log, keys, 2, project_id=theirs)
    helpers.append(log, keys, 1, project_id=None, action="login")
    helpers.append(log, keys, 2, project_id=mine, outcome=audit_log.Outcome.DENIED, reason="not_in_project")

    scoped = audit_log.list_events(log, project_ids=frozenset({mine}))
    assert [event.seq for event in scoped] == [8, 7, 3, 2, 1]
    everything = audit_log.list_events(log, project_ids=None)
    assert [event.seq for event in everything] == list(range(8, 0, -1))
    assert audit_log.list_events(log, project_ids=frozenset()) == []

    first = audit_log.list_events(log, project_ids=frozenset({mine}), limit=2)
    rest = audit_log.list_events(log, project_ids=frozenset({mine}), limit=2, before_seq=first[-1].seq)
    assert [e.seq for e in first + rest] == [8, 7, 3, 2]

    denied = audit_log.list_events(log, project_ids=None, outcome=audit_log.Outcome.DENIED)
    assert [e.seq for e in denied] == [8, 7]
    assert [e.seq for e in audit_log.list_events(log, project_ids=None, action="login")] == [6]


def test_listing_filters_by_actor_object_and_time(log: Session, keys: KeyStore) -> None:
    actor, interview = uuid.uuid4(), uuid.uuid4()
    helpers.append(log, keys, 2)
    target = audit_log.record(
        log, keys=keys, action="transcript.read", actor_id=actor, actor_role="coder", object_id=interview
    )
    helpers.append(log, keys, 2)

    assert [e.seq for e in audit_log.list_events(log, project_ids=None, actor_id=actor)] == [3]
    assert [e.seq for e in audit_log.list_events(log, project_ids=None, object_id=interview)] == [3]
    assert [e.seq for e in audit_log.list_events(log, project_ids=None, object_type="interview")] == [
        5,
        4,
        2,
        1,
    ]
    since = audit_log.list_events(log, project_ids=None, since=target.occurred_at)
    assert {e.seq for e in since} >= {3, 4, 5}
    until = audit_log.list_events(log, project_ids=None, until=target.occurred_at)
    assert all(e.seq < 3 or e.occurred_at < target.occurred_at for e in until)
    assert log.scalar(select(AuditEvent.seq).where(AuditEvent.object_id == str(interview))) == 3
