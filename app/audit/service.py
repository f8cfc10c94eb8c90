"""The tamper-evident audit log: append, checkpoint, verify and list.

Threat: an insider with access to the database (a DBA, a stolen backup restored and edited, a compromised
host) edits, deletes, reorders or inserts audit entries to hide what was read or exported, or truncates the
tail. Database triggers refuse UPDATE and DELETE, but whoever owns the database can drop them; the hash chain
and the signed checkpoints make every such edit detectable, and `verify` names the first entry that does
not match.

Entries never hold content or names: `record` accepts only opaque UUIDs and short lower-case codes matching
`^[a-z][a-z0-9_.:-]{0,63}$` (the actor's role label may also join roles with `+`), so no free text, CR/LF,
ANSI escape or personal name can enter the log. A value that breaks this is a programming error
(ValueError), never data to be cleaned.

Chain format (version 1). Entries are numbered 1, 2, 3, ... with no gaps. For entry n::

    entry_hash[n] = HMAC-SHA256(chain_key, prev_hash[n] || canonical(entry n))
    prev_hash[n]  = entry_hash[n-1]        (32 zero bytes for n = 1)

`canonical` is UTF-8 compact JSON (separators "," and ":", keys sorted, ASCII only) of every column but the
two hashes: `seq` as an integer; `occurred_at` as ISO-8601 UTC with microseconds
("2026-01-02T03:04:05.000006Z"); `actor_id` and `project_id` as lower-case hyphenated UUID strings;
`actor_role`, `action`, `object_type`, `object_id`, `outcome`, `reason` as strings; absent values as null.
chain_key is the AUDIT zone sub-key "audit-chain" (version 1): with only the database, nobody can recompute
a forged chain.

Appends are serialised so that several processes build one chain (no fork, no gap): on PostgreSQL
`pg_advisory_xact_lock(AUDIT_LOCK_ID)` is taken before the head is read and held until the caller's
transaction ends; on SQLite every transaction is BEGIN IMMEDIATE (app/db.py), so one writer at a time. The
entry is flushed in the caller's transaction, never committed here: the entry and the change it records
commit together, and if the entry cannot be written the operation fails. `append` adds several entries
under one lock and one head read; the group committer of sensitive reads (app/audit/group_commit.py) uses
it to make the entries of many reads durable in one commit, each read waiting for its own before replying.

Checkpoint format (version 1). An Ed25519 signature, by the AUDIT zone sub-key "checkpoint-signing"
(version 1) used as seed, over::

    b"harbour-audit-checkpoint-v1\\n" || seq as 8 bytes big-endian || entry_hash[seq]

Checkpoints are stored in `audit_checkpoint` and exported as JSON (`Checkpoint.to_json`, hex fields) to be
kept off the server. `signed_at` is informational and not signed. `verify` checks every stored checkpoint and
an optional external one against a public key pinned by the auditor (or derived from the keys): a rewritten
chain re-signed with another key fails the signature check; a rewritten or truncated chain no longer reaches
or matches an external checkpoint.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Dialect, Select, column, select, table, text
from sqlalchemy.orm import Session

from app.audit.models import HASH_SIZE, AuditCheckpoint, AuditEvent
from app.db import utcnow
from app.errors import ConflictError, InvalidInputError
from crypto import signing
from crypto.keyring import KeyStore, Zone

__all__ = [
    "AUDIT_LOCK_ID",
    "GENESIS_HASH",
    "Checkpoint",
    "Outcome",
    "PendingEntry",
    "VerifyReport",
    "append",
    "canonical_bytes",
    "chain_key",
    "checkpoint",
    "checkpoint_message",
    "entry",
    "entry_hash",
    "list_events",
    "public_key",
    "record",
    "signing_key",
    "verify",
]

GENESIS_HASH = bytes(HASH_SIZE)
# A fixed PostgreSQL advisory lock id for the chain head: the first 8 bytes (signed, big-endian) of
# SHA-256("harbour-audit-chain"). Any process appending to this database takes the same lock.
AUDIT_LOCK_ID = int.from_bytes(hashlib.sha256(b"harbour-audit-chain").digest()[:8], "big", signed=True)
CHAIN_KEY_PURPOSE = "audit-chain"
SIGNING_KEY_PURPOSE = "checkpoint-signing"
KEY_VERSION = 1
CHECKPOINT_DOMAIN = b"harbour-audit-checkpoint-v1\n"
CHECKPOINT_FORMAT = "harbour-audit-checkpoint"
CHECKPOINT_FORMAT_VERSION = 1
VERIFY_BATCH = 5000
MAX_LIST_LIMIT = 500

_CODE = re.compile(r"[a-z][a-z0-9_.:-]{0,63}")
_ROLE = re.compile(r"[a-z][a-z0-9_.:+-]{0,63}")
_FIELD_LIMITS = {"action": 64, "object_type": 32, "reason": 32, "object_id": 64}


class Outcome(enum.StrEnum):
    """How the recorded operation ended."""

    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"


class Problem(enum.StrEnum):
    """What `verify` found wrong, as a short fixed phrase."""

    ENTRY_HASH = "entry hash mismatch"
    GAP = "gap in sequence"
    BROKEN_LINK = "broken link"
    SIGNATURE = "checkpoint signature invalid"
    TRUNCATED = "log truncated before checkpoint"
    CHECKPOINT_MISMATCH = "checkpoint mismatch"


# ---- keys -----------------------------------------------------------------------------------------


def chain_key(keys: KeyStore) -> bytes:
    """The HMAC key of the hash chain."""
    return keys.zone_key(Zone.AUDIT, CHAIN_KEY_PURPOSE, version=KEY_VERSION)


def signing_key(keys: KeyStore) -> signing.SigningKey:
    """The Ed25519 key that signs checkpoints."""
    return signing.SigningKey.from_seed(keys.zone_key(Zone.AUDIT, SIGNING_KEY_PURPOSE, version=KEY_VERSION))


def public_key(keys: KeyStore) -> bytes:
    """The 32-byte public key checkpoints verify under (safe to publish and pin)."""
    return signing_key(keys).public_bytes()


# ---- the chain format -----------------------------------------------------------------------------


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _uuid(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def canonical_bytes(
    *,
    seq: int,
    occurred_at: datetime,
    actor_id: uuid.UUID | None,
    actor_role: str | None,
    action: str,
    object_type: str | None,
    object_id: str | None,
    project_id: uuid.UUID | None,
    outcome: str,
    reason: str | None,
) -> bytes:
    """The unambiguous byte encoding of one entry that its hash covers (see the module docstring)."""
    document = {
        "action": action,
        "actor_id": _uuid(actor_id),
        "actor_role": actor_role,
        "object_id": object_id,
        "object_type": object_type,
        "occurred_at": _time(occurred_at),
        "outcome": outcome,
        "project_id": _uuid(project_id),
        "reason": reason,
        "seq": seq,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def entry_hash(key: bytes, prev_hash: bytes, canonical: bytes) -> bytes:
    """HMAC-SHA256 of the previous hash and the entry's canonical bytes."""
    return hmac.new(key, prev_hash + canonical, hashlib.sha256).digest()


def checkpoint_message(seq: int, head_hash: bytes) -> bytes:
    """The bytes a checkpoint signature covers."""
    return CHECKPOINT_DOMAIN + seq.to_bytes(8, "big") + head_hash


# ---- appending ------------------------------------------------------------------------------------


def _code(name: str, value: object) -> str:
    if not isinstance(value, str) or not _CODE.fullmatch(value) or len(value) > _FIELD_LIMITS[name]:
        raise ValueError(f"audit {name} must be a short lower-case code, not free text")
    return value


def _optional_code(name: str, value: object) -> str | None:
    return None if value is None else _code(name, value)


def _object_id(value: object) -> str | None:
    """A UUID (as its canonical string) or a short code; anything else is refused."""
    if value is None or isinstance(value, uuid.UUID):
        return _uuid(value)
    if isinstance(value, str) and _CODE.fullmatch(value):
        return value
    if isinstance(value, str) and value.isascii() and len(value) == 36:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    raise ValueError("audit object_id must be a UUID or a short lower-case code")


def _optional_uuid(name: str, value: object) -> uuid.UUID | None:
    if value is not None and not isinstance(value, uuid.UUID):
        raise ValueError(f"audit {name} must be a UUID")
    return value


def _lock_chain(session: Session) -> None:
    """Serialise appends to the chain until this transaction ends (SQLite: BEGIN IMMEDIATE already does)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:lock_id)"), {"lock_id": AUDIT_LOCK_ID})


def _head(session: Session) -> tuple[int, bytes]:
    row = session.execute(
        select(AuditEvent.seq, AuditEvent.entry_hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if row is None else (row.seq, row.entry_hash)


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """A validated audit entry not yet on the chain: `append` gives it its seq, time and hashes."""

    action: str
    actor_id: uuid.UUID | None
    actor_role: str | None
    object_type: str | None
    object_id: str | None
    project_id: uuid.UUID | None
    outcome: str
    reason: str | None


def entry(
    *,
    action: str,
    actor_id: uuid.UUID | None,
    actor_role: str | None,
    object_type: str | None = None,
    object_id: uuid.UUID | str | None = None,
    project_id: uuid.UUID | None = None,
    outcome: Outcome = Outcome.OK,
    reason: str | None = None,
) -> PendingEntry:
    """Check an entry's fields (ValueError for free text or a bad id) without touching the database."""
    if actor_role is not None and (not isinstance(actor_role, str) or not _ROLE.fullmatch(actor_role)):
        raise ValueError("audit actor_role must be a short lower-case role label")
    return PendingEntry(
        action=_code("action", action),
        actor_id=_optional_uuid("actor_id", actor_id),
        actor_role=actor_role,
        object_type=_optional_code("object_type", object_type),
        object_id=_object_id(object_id),
        project_id=_optional_uuid("project_id", project_id),
        outcome=Outcome(outcome).value,
        reason=_optional_code("reason", reason),
    )


def append(session: Session, *, keys: KeyStore, entries: Sequence[PendingEntry]) -> list[AuditEvent]:
    """Append entries, in order, to the chain in the caller's transaction (flushed, not committed).

    The chain lock is taken and the head read once for all of them, which is what makes a group commit
    (app/audit/group_commit.py) cheap: n entries cost one lock, one head read and one flush.
    """
    if not entries:
        return []
    key = chain_key(keys)
    _lock_chain(session)
    head_seq, head_hash = _head(session)
    events = []
    for pending in entries:
        # Stamped after the lock: seq order and time order agree within a process.
        event = AuditEvent(
            occurred_at=utcnow(),
            actor_id=pending.actor_id,
            actor_role=pending.actor_role,
            action=pending.action,
            object_type=pending.object_type,
            object_id=pending.object_id,
            project_id=pending.project_id,
            outcome=pending.outcome,
            reason=pending.reason,
        )
        head_seq += 1
        event.seq = head_seq
        event.prev_hash = head_hash
        event.entry_hash = head_hash = entry_hash(key, event.prev_hash, _canonical_of(event))
        events.append(event)
    session.add_all(events)
    session.flush()
    return events


def record(
    session: Session,
    *,
    keys: KeyStore,
    action: str,
    actor_id: uuid.UUID | None,
    actor_role: str | None,
    object_type: str | None = None,
    object_id: uuid.UUID | str | None = None,
    project_id: uuid.UUID | None = None,
    outcome: Outcome = Outcome.OK,
    reason: str | None = None,
) -> AuditEvent:
    """Append one entry to the chain in the caller's transaction (flushed, not committed)."""
    pending = entry(
        action=action,
        actor_id=actor_id,
        actor_role=actor_role,
        object_type=object_type,
        object_id=object_id,
        project_id=project_id,
        outcome=outcome,
        reason=reason,
    )
    return append(session, keys=keys, entries=[pending])[0]


def _canonical_of(row: Any) -> bytes:
    """Canonical bytes of an AuditEvent or a row with the same column names."""
    return canonical_bytes(
        seq=row.seq,
        occurred_at=row.occurred_at,
        actor_id=row.actor_id,
        actor_role=row.actor_role,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        project_id=row.project_id,
        outcome=row.outcome,
        reason=row.reason,
    )


# ---- checkpoints ----------------------------------------------------------------------------------


def _hex_bytes(document: dict[str, Any], name: str, size: int) -> bytes:
    value = document.get(name)
    if not isinstance(value, str):
        raise ValueError(name)
    raw = bytes.fromhex(value)
    if len(raw) != size:
        raise ValueError(name)
    return raw


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement that the log's entry `seq` has hash `entry_hash`; exportable as JSON."""

    seq: int
    entry_hash: bytes
    signed_at: datetime
    public_key: bytes
    signature: bytes

    def message(self) -> bytes:
        """The bytes the signature covers."""
        return checkpoint_message(self.seq, self.entry_hash)

    def is_signed_by(self, public: bytes) -> bool:
        """Whether the signature is valid under the given public key."""
        return signing.verify(public, self.message(), self.signature)

    def to_json(self) -> str:
        """The checkpoint file's content."""
        document = {
            "format": CHECKPOINT_FORMAT,
            "format_version": CHECKPOINT_FORMAT_VERSION,
            "seq": self.seq,
            "entry_hash": self.entry_hash.hex(),
            "signed_at": self.signed_at.astimezone(UTC).isoformat(),
            "public_key": self.public_key.hex(),
            "signature": self.signature.hex(),
        }
        return json.dumps(document, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        """Parse a checkpoint file; InvalidInputError if it is not one (verify checks the signature)."""
        try:
            document = json.loads(text)
            if not isinstance(document, dict):
                raise ValueError("not an object")
            if (
                document.get("format") != CHECKPOINT_FORMAT
                or document.get("format_version") != CHECKPOINT_FORMAT_VERSION
            ):
                raise ValueError("format")
            seq = document.get("seq")
            if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq < 2**63:
                raise ValueError("seq")
            signed_at = datetime.fromisoformat(str(document.get("signed_at")))
            if signed_at.tzinfo is None:
                raise ValueError("signed_at")
            return cls(
                seq=seq,
                entry_hash=_hex_bytes(document, "entry_hash", HASH_SIZE),
                signed_at=signed_at.astimezone(UTC),
                public_key=_hex_bytes(document, "public_key", signing.PUBLIC_KEY_SIZE),
                signature=_hex_bytes(document, "signature", signing.SIGNATURE_SIZE),
            )
        except (ValueError, TypeError, RecursionError):
            raise InvalidInputError("not a Harbour audit checkpoint file") from None

    @classmethod
    def from_row(cls, row: AuditCheckpoint) -> Checkpoint:
        """The checkpoint a stored row holds."""
        return cls(row.seq, row.entry_hash, row.signed_at, row.public_key, row.signature)


def checkpoint(session: Session, *, keys: KeyStore, clock: Callable[[], datetime] = utcnow) -> Checkpoint:
    """Sign the current head, store the checkpoint (once per seq) and return it for export."""
    _lock_chain(session)
    head_seq, head_hash = _head(session)
    if head_seq == 0:
        raise ConflictError("the audit log is empty: there is nothing to checkpoint")
    key = signing_key(keys)
    public = key.public_bytes()
    stored = session.get(AuditCheckpoint, head_seq)
    if stored is not None:
        existing = Checkpoint.from_row(stored)
        if existing.entry_hash == head_hash and existing.is_signed_by(public):
            return existing
        # A stored row that does not hold up cannot be replaced (append-only); verify reports it. Hand
        # out a good checkpoint anyway, without storing it.
        signature = key.sign(checkpoint_message(head_seq, head_hash))
        return Checkpoint(head_seq, head_hash, clock(), public, signature)
    made = Checkpoint(head_seq, head_hash, clock(), public, key.sign(checkpoint_message(head_seq, head_hash)))
    session.add(
        AuditCheckpoint(
            seq=made.seq,
            entry_hash=made.entry_hash,
            signed_at=made.signed_at,
            public_key=made.public_key,
            signature=made.signature,
        )
    )
    session.flush()
    return made


# ---- verification ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of `verify`: how far the log holds up and, if not, the first entry that does not.

    `entries` entries (seq 1 to `head_seq`) verified; when `ok` is false, `first_bad_seq` is the first entry
    that is missing or does not match, or the seq of a checkpoint that fails, and `problem` says which.
    """

    ok: bool
    entries: int
    head_seq: int | None
    first_bad_seq: int | None
    problem: str | None


_ENTRY_COLUMNS = (
    AuditEvent.seq,
    AuditEvent.occurred_at,
    AuditEvent.actor_id,
    AuditEvent.actor_role,
    AuditEvent.action,
    AuditEvent.object_type,
    AuditEvent.object_id,
    AuditEvent.project_id,
    AuditEvent.outcome,
    AuditEvent.reason,
    AuditEvent.prev_hash,
    AuditEvent.entry_hash,
)
# The same columns untyped: the driver's values come back as stored (no type processing per row), in one
# query streamed in batches (a server-side cursor on PostgreSQL; SQLite's cursor always streams).
_RAW_ENTRIES: Select[*tuple[Any, ...]] = (
    select(*(column(attribute.key) for attribute in _ENTRY_COLUMNS))
    .select_from(table(AuditEvent.__tablename__))
    .order_by(column("seq"))
)
# canonical_bytes's JSON for fixed keys, in sorted order: each %s is a JSON value already encoded, but for
# the time, which is put in as "YYYY-MM-DDTHH:MM:SS.ffffff".
_CANONICAL_LAYOUT = (
    '{"action":%s,"actor_id":%s,"actor_role":%s,"object_id":%s,"object_type":%s,"occurred_at":"%sZ",'
    '"outcome":%s,"project_id":%s,"reason":%s,"seq":%d}'
)
_IPAD = bytes(byte ^ 0x36 for byte in range(256))
_OPAD = bytes(byte ^ 0x5C for byte in range(256))
# How SQLite stores a UTC timestamp (SQLAlchemy's DATETIME storage format); year 1000 and later.
_SQLITE_TIME = re.compile(r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}")
_FRAGMENT_MEMO = 4096
_MEMO_CLASSES = (str, uuid.UUID, type(None))
_json_string = json.encoder.encode_basestring_ascii


class _Fragments(dict[Any, str]):
    """One column's JSON values by raw driver value, each worked out the exact way once (a bounded memo)."""

    def __init__(self, encode: Callable[[Any], str]) -> None:
        super().__init__()
        self.encode = encode

    def __missing__(self, raw: Any) -> str:
        """Encode a value not seen yet; remember it while the memo is small (ids and codes recur)."""
        fragment = self.encode(raw)
        if raw.__class__ in _MEMO_CLASSES and len(self) < _FRAGMENT_MEMO:  # 1 == 1.0 == True: not keys
            self[raw] = fragment
        return fragment


class _RowEncoder:
    """Canonical bytes of raw rows of `_RAW_ENTRIES`, byte for byte those of `canonical_bytes`.

    `exact` is the reference: the ORM's own type processing of each raw value, then `canonical_bytes`.
    `canonical` fills a fixed layout instead; every piece is either the exact encoding of that value (memoised
    per column) or taken only when the value has the usual stored form that makes it equal (a plain `str`
    object id; a timestamp in SQLite's storage format, or a UTC datetime), and otherwise the row goes `exact`.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.processors = [
            attribute.type.dialect_impl(dialect).result_processor(dialect, None)
            for attribute in _ENTRY_COLUMNS[:10]
        ]
        self.names = [attribute.key for attribute in _ENTRY_COLUMNS[:10]]
        self.plain_object_id = self.processors[6] is None  # a str object id is stored as it is
        self.action = self._fragments(4, lambda value: value)
        self.actor_id = self._fragments(2, _uuid)
        self.actor_role = self._fragments(3, lambda value: value)
        self.object_type = self._fragments(5, lambda value: value)
        self.object_id = self._fragments(6, lambda value: value)
        self.project_id = self._fragments(7, _uuid)
        self.outcome = self._fragments(8, lambda value: value)
        self.reason = self._fragments(9, lambda value: value)

    def _fragments(self, index: int, canonical: Callable[[Any], Any]) -> _Fragments:
        processor = self.processors[index]

        def encode(raw: Any) -> str:
            return json.dumps(canonical(raw if processor is None else processor(raw)))

        return _Fragments(encode)

    def exact(self, row: Sequence[Any]) -> bytes:
        """The reference encoding (slow): typed values as the ORM reads them, through `canonical_bytes`."""
        values = {
            name: raw if processor is None else processor(raw)
            for name, processor, raw in zip(self.names, self.processors, row, strict=False)
        }
        return canonical_bytes(**values)

    def canonical(self, row: Sequence[Any]) -> bytes:
        """The canonical bytes of one raw row: the fixed layout, or `exact` for a value in an unusual form."""
        seq, at, actor_id, actor_role, action, object_type, object_id, project_id, outcome, reason, *_ = row
        if at.__class__ is str and _SQLITE_TIME.fullmatch(at):
            occurred = at.replace(" ", "T")  # the one space, between date and time
        elif at.__class__ is datetime:
            stamp = at.isoformat(timespec="microseconds")
            if stamp[0] == "0" or not stamp.endswith("+00:00"):
                return self.exact(row)
            occurred = stamp[:-6]
        else:
            return self.exact(row)
        if seq.__class__ is not int:
            return self.exact(row)
        text = _CANONICAL_LAYOUT % (
            self.action[action],
            self.actor_id[actor_id],
            self.actor_role[actor_role],
            (
                _json_string(object_id)
                if object_id.__class__ is str and self.plain_object_id
                else self.object_id[object_id]
            ),
            self.object_type[object_type],
            occurred,
            self.outcome[outcome],
            self.project_id[project_id],
            self.reason[reason],
            seq,
        )
        return text.encode("ascii")


def _raw_entries(session: Session) -> Iterator[Sequence[Any]]:
    """Every entry in seq order as the driver's raw values, read in batches of VERIFY_BATCH rows."""
    connection = session.connection()
    options = {"stream_results": True, "yield_per": VERIFY_BATCH}
    with connection.execute(_RAW_ENTRIES, execution_options=options) as result:
        for rows in result.partitions():
            yield from rows


def _hmac_sha256(key: bytes) -> Callable[[bytes], bytes]:
    """HMAC-SHA256 under one key (RFC 2104), the padded-key blocks hashed once for every message to come.

    Same digest as `entry_hash`; about twice as fast per short message as `hmac.digest`, which sets the key
    up again on every call.
    """
    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    inner, outer = hashlib.sha256(block.translate(_IPAD)), hashlib.sha256(block.translate(_OPAD))

    def mac(message: bytes) -> bytes:
        inside = inner.copy()
        inside.update(message)
        outside = outer.copy()
        outside.update(inside.digest())
        return outside.digest()

    return mac


def _entry_matches(
    mac: Callable[[bytes], bytes], prev: bytes, row: Sequence[Any], encoder: _RowEncoder
) -> bool:
    """Whether the row's stored hash is the HMAC of `prev` and its canonical bytes.

    A mismatch is confirmed with the reference encoding before it is reported, and a value that cannot
    be encoded at all (only a tampered row has one) is a mismatch.
    """
    stored = row[11]
    try:
        if hmac.compare_digest(mac(prev + encoder.canonical(row)), stored):
            return True
        return hmac.compare_digest(mac(prev + encoder.exact(row)), stored)
    except (ValueError, TypeError, AttributeError, OverflowError, UnicodeError):
        return False


def verify(
    session: Session,
    *,
    keys: KeyStore,
    external: Checkpoint | None = None,
    pinned_public_key: bytes | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Recompute the chain, check stored and external checkpoints, and name the first bad entry."""
    expected_key = pinned_public_key if pinned_public_key is not None else public_key(keys)
    problems: list[tuple[int, Problem]] = []
    # What the chain must show at given seqs: every checkpoint whose signature holds.
    expected: dict[int, list[bytes]] = {}
    checkpoints = [Checkpoint.from_row(row) for row in session.scalars(select(AuditCheckpoint))]
    if external is not None:
        checkpoints.append(external)
    for cp in checkpoints:
        if cp.is_signed_by(expected_key):
            expected.setdefault(cp.seq, []).append(cp.entry_hash)
        else:
            problems.append((cp.seq, Problem.SIGNATURE))

    mac = _hmac_sha256(chain_key(keys))
    encoder = _RowEncoder(session.get_bind().dialect)
    count = 0
    next_seq = 1
    prev = GENESIS_HASH
    for row in _raw_entries(session):
        seq = row[0]
        if seq != next_seq:
            problems.append((next_seq, Problem.GAP))
            break
        if row[10] != prev:
            problems.append((seq, Problem.BROKEN_LINK))
            break
        if not _entry_matches(mac, prev, row, encoder):
            problems.append((seq, Problem.ENTRY_HASH))
            break
        prev = row[11]
        if seq in expected and any(h != prev for h in expected.pop(seq)):
            problems.append((seq, Problem.CHECKPOINT_MISMATCH))
            break
        count += 1
        next_seq += 1
        if progress is not None and count % VERIFY_BATCH == 0:
            progress(count)
    else:
        # The whole log holds up; a signed checkpoint beyond its end means entries were cut off.
        if expected and max(expected) >= next_seq:
            problems.append((next_seq, Problem.TRUNCATED))
    head_seq = next_seq - 1 if next_seq > 1 else None
    if progress is not None:
        progress(count)
    if not problems:
        return VerifyReport(ok=True, entries=count, head_seq=head_seq, first_bad_seq=None, problem=None)
    first_bad, problem = min(problems, key=lambda found: found[0])
    return VerifyReport(
        ok=False, entries=count, head_seq=head_seq, first_bad_seq=first_bad, problem=problem.value
    )


# ---- reading --------------------------------------------------------------------------------------


def list_events(
    session: Session,
    *,
    project_ids: frozenset[uuid.UUID] | None,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: uuid.UUID | str | None = None,
    outcome: Outcome | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    before_seq: int | None = None,
    visible: ColumnElement[bool] | None = None,
) -> list[AuditEvent]:
    """Entries newest first, scoped to projects (None: every project and the global entries), keyset-paged.

    `visible` is an extra scope condition (the auditor's, see app/audit/router.py `visible_to`).
    """
    statement: Select[tuple[AuditEvent]] = select(AuditEvent)
    if project_ids is not None:
        statement = statement.where(AuditEvent.project_id.in_(project_ids))
    if visible is not None:
        statement = statement.where(visible)
    if actor_id is not None:
        statement = statement.where(AuditEvent.actor_id == actor_id)
    if action is not None:
        statement = statement.where(AuditEvent.action == action)
    if object_type is not None:
        statement = statement.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        statement = statement.where(
            AuditEvent.object_id == (str(object_id) if isinstance(object_id, uuid.UUID) else object_id)
        )
    if outcome is not None:
        statement = statement.where(AuditEvent.outcome == Outcome(outcome).value)
    if since is not None:
        statement = statement.where(AuditEvent.occurred_at >= since)
    if until is not None:
        statement = statement.where(AuditEvent.occurred_at < until)
    if before_seq is not None:
        statement = statement.where(AuditEvent.seq < before_seq)
    limit = max(1, min(limit, MAX_LIST_LIMIT))
    return list(session.scalars(statement.order_by(AuditEvent.seq.desc()).limit(limit)))
