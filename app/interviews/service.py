"""Interviews and transcripts: create, upload (parse, pseudonymise, seal), review, approve, read, search.

Threat: the testimony is what the adversary wants most after identities, and coders must never learn who an
interviewee is. So:

- Every text (original file, its name, identified and pseudonymised texts, speaker labels, the anonymisation
  log, replacement texts) is sealed under the interview's own TESTIMONY-zone data key through
  `FieldCipher`, with associated data binding table, column and row id.
- Upload runs in the caller's one transaction: the file is size-checked, parsed (`app.ingest.formats`),
  the names of the interviewee and of every linked person are fetched from the identity vault
  (`identities.names_for_pseudonymisation`) and replaced by their pseudonyms turn by turn
  (`app.ingest.pseudonymise`); candidate identifiers it cannot resolve (phones, e-mails, document numbers)
  become flags. Any failure raises before the transaction commits, so nothing is stored.
- Coders read only approved versions, pseudonymised, without speaker labels or file names; an interview
  without an approved version does not exist for them (404). Interviewers of the project review the flags
  (redact, replace, ignore) and approve, which applies the decisions, recomputes each segment's text and
  offsets, and builds the search tokens.
- Search stores no plaintext: each word of an approved segment's pseudonymised text is normalised (Cyrillic
  and Latin spellings fold together, `app.ingest.tokens`) and kept only as an HMAC under a key derived per
  project from `keys.zone_key(Zone.INDEX, "transcript-search", version=1)`, so equal words in two projects
  do not even share a token. Residual risk: the table shows which segments of one project share a word
  (equality), and with the key store someone can test guessed words. Names never reach the index because it
  is built from pseudonymised text.
- Versions: a corrected upload becomes version n+1 and supersedes any earlier version still pending
  review at once; an earlier APPROVED version stays readable by coders until the new one is approved, then
  it is superseded and its search tokens dropped. `app.interviews.diff.changed_spans` tells a coding module
  which spans of the old pseudonymised text changed; modules register in `APPROVAL_HOOKS` to hear of each
  approval (with the approved version it replaced) in the same transaction.

Every sensitive read, each upload, flag decision and approval writes an audit entry (opaque ids only) in the
same transaction. A `None` actor is the system (operator commands and the demo loader).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from sqlalchemy import LargeBinary, Select, Uuid, bindparam, delete, func, insert, select
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, defer, load_only

from app.auth.policy import Action
from app.context import Context
from app.encryption import DataIntegrityError, EncryptedText, FieldCipher
from app.errors import ConflictError, InvalidInputError, NotFoundError, PayloadTooLargeError
from app.identities import service as identities
from app.identities.models import Person
from app.ingest import formats, tokens
from app.ingest import pseudonymise as pseudonymiser
from app.interviews.languages import language_codes
from app.interviews.models import (
    FlagDecision,
    Interview,
    InterviewMode,
    InterviewPerson,
    InterviewStatus,
    SearchToken,
    Segment,
    TranscriptFlag,
    TranscriptVersion,
    VersionStatus,
)
from app.keys import service as data_keys
from app.keys.models import today
from app.keys.service import OwnerType
from app.projects.models import Project
from crypto.keyring import KeyStore, Zone

__all__ = [
    "APPROVAL_HOOKS",
    "ApprovalResult",
    "FlagRead",
    "InterviewSummary",
    "ReviewPiece",
    "ReviewSegment",
    "SearchHit",
    "SegmentRead",
    "TranscriptRead",
    "approve",
    "counts",
    "create",
    "decide_flag",
    "get_or_raise",
    "link_person",
    "list",
    "list_flags",
    "read_identified",
    "read_pseudonymised",
    "review",
    "search",
    "summary",
    "upload",
    "validate_month",
]

SEARCH_PURPOSE = "transcript-search"
SEARCH_VERSION = 1  # pinned: see app.keys.service on why the index zone does not rotate
_PROJECT_SEARCH_DOMAIN = b"harbour-transcript-search-project-v1\x00"
TURN_SEPARATOR = "\n\n"
MAX_FILENAME = 255
MAX_REPLACEMENT = 200
MAX_SEARCH_RESULTS = 50
MAX_QUERY = 200
SNIPPET = 240
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
EARLIEST_INTERVIEW_YEAR = 1980
# Interviews a coder may see: those with an approved version that has not been withdrawn altogether.
CODER_VISIBLE = (InterviewStatus.APPROVED.value, InterviewStatus.PARTIALLY_WITHDRAWN.value)

_list = list  # `list` is a service verb below


@dataclass(frozen=True, slots=True)
class ApprovalResult:
    """What an approval did: the version now approved and the approved version it replaced, if any."""

    interview_id: uuid.UUID
    version_id: uuid.UUID
    previous_version_id: uuid.UUID | None


# Later domains register here (coding: carry codings over to the new version or mark them obsolete); called
# at the end of `approve`, in the same transaction.
APPROVAL_HOOKS: _list[Callable[[Context, ApprovalResult], None]] = []


# ---- results ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InterviewSummary:
    """An interview as any permitted reader may see it: no identity, the interviewee by pseudonym only."""

    id: uuid.UUID
    project_id: uuid.UUID
    interviewee_pseudonym: str
    interview_month: str
    mode: str
    languages: _list[str]
    interpreter_used: bool
    status: str
    latest_version: int | None
    linked_pseudonyms: _list[str] = field(default_factory=_list)


@dataclass(frozen=True, slots=True)
class SegmentRead:
    """One speaker turn; `speaker` is set only in the identified view."""

    id: uuid.UUID
    seq: int
    role: str
    start_ms: int | None
    end_ms: int | None
    char_start: int
    char_end: int
    text: EncryptedText | None
    suppressed: bool
    speaker: EncryptedText | None = None


@dataclass(frozen=True, slots=True)
class TranscriptRead:
    """One transcript version, decrypted for an authorised reader."""

    interview_id: uuid.UUID
    version_id: uuid.UUID
    version: int
    status: str
    format: str
    interviewee_pseudonym: str
    text: EncryptedText
    segments: _list[SegmentRead]
    original_filename: EncryptedText | None = None


@dataclass(frozen=True, slots=True)
class FlagRead:
    """A flagged candidate identifier with its text and a little context (interviewers only)."""

    id: uuid.UUID
    segment_seq: int
    kind: str
    start: int
    end: int
    decision: str
    text: EncryptedText
    before: EncryptedText
    after: EncryptedText
    replacement: EncryptedText | None


@dataclass(frozen=True, slots=True)
class ReviewPiece:
    """A run of a segment's text: plain, or a flagged span with its flag."""

    text: EncryptedText
    flag: FlagRead | None = None


@dataclass(frozen=True, slots=True)
class ReviewSegment:
    """One turn of the version under review, cut into plain and flagged pieces."""

    seq: int
    role: str
    start_ms: int | None
    pieces: _list[ReviewPiece]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One approved segment matching every word of a query (pseudonymised snippet only)."""

    interview_id: uuid.UUID
    project_id: uuid.UUID
    interviewee_pseudonym: str
    segment_id: uuid.UUID
    seq: int
    role: str
    start_ms: int | None
    snippet: EncryptedText


# ---- scope -----------------------------------------------------------------------------------------------


def _may(ctx: Context, action: Action, project_id: uuid.UUID) -> bool:
    return ctx.actor is None or ctx.actor.may_in(action, project_id)


def _sees_unapproved(ctx: Context, project_id: uuid.UUID) -> bool:
    """Interviewers of the project see drafts and versions under review; coders only approved ones."""
    return _may(ctx, Action.TRANSCRIPT_READ_IDENTIFIED, project_id)


def _interview_for(ctx: Context, interview_id: uuid.UUID, action: Action) -> Interview:
    interview = ctx.session.get(Interview, interview_id)
    if interview is None or not _may(ctx, action, interview.project_id):
        raise NotFoundError()
    if interview.status == InterviewStatus.WITHDRAWN and action is not Action.INTERVIEW_LIST:
        # Its texts are gone and its key destroyed (app/consent): nothing of the testimony can be read.
        raise NotFoundError("The interviewee withdrew this interview; its transcript no longer exists.")
    if not _sees_unapproved(ctx, interview.project_id) and interview.status not in CODER_VISIBLE:
        raise NotFoundError()
    return interview


def get_or_raise(ctx: Context, *, interview_id: uuid.UUID) -> Interview:
    """An interview the caller may list, or NotFoundError (also for one a coder may not see yet)."""
    return _interview_for(ctx, interview_id, Action.INTERVIEW_LIST)


def cipher_for(ctx: Context, interview: Interview, *, create: bool = False) -> FieldCipher:
    """The interview's TESTIMONY-zone cipher (DataIntegrityError if its key is gone or damaged)."""
    return data_keys.field_cipher(
        ctx, zone=Zone.TESTIMONY, owner_type=OwnerType.INTERVIEW, owner_id=interview.id, create=create
    )


def _open(cipher: FieldCipher, row: Any, column: str) -> EncryptedText:
    value = cipher.read(row, column)
    if value is None:
        raise DataIntegrityError()
    return value


# ---- interviews ------------------------------------------------------------------------------------------


def validate_month(value: str, *, current: str) -> str:
    """Check a YYYY-MM month (month precision only), not before 1980 and not in the future."""
    if not isinstance(value, str) or not (match := _MONTH.fullmatch(value.strip())):
        raise InvalidInputError("interview month must be YYYY-MM (month precision only), e.g. 2025-03")
    month = match.group(0)
    if int(match.group(1)) < EARLIEST_INTERVIEW_YEAR or month > current:
        raise InvalidInputError(f"interview month must be between {EARLIEST_INTERVIEW_YEAR}-01 and {current}")
    return month


def _mode(value: str) -> str:
    try:
        return InterviewMode(value).value
    except ValueError:
        raise InvalidInputError(
            "mode must be one of: " + ", ".join(mode.value for mode in InterviewMode)
        ) from None


def _person_in(session: Session, person_id: uuid.UUID, project_id: uuid.UUID) -> Person:
    person = session.get(Person, person_id)
    if person is None or person.project_id != project_id or person.erased_at is not None:
        raise InvalidInputError("no such person in this project")
    return person


def create(
    ctx: Context,
    *,
    project_id: uuid.UUID,
    interviewee_person_id: uuid.UUID,
    interview_month: str,
    mode: str,
    languages: Sequence[str],
    interpreter_used: bool = False,
    linked_person_ids: Sequence[uuid.UUID] = (),
    interviewer_id: uuid.UUID | None = None,
) -> Interview:
    """Record an interview with a registered person (its data key is made now); audited."""
    session = ctx.session
    if not _may(ctx, Action.INTERVIEW_MANAGE, project_id) or session.get(Project, project_id) is None:
        raise NotFoundError()
    if ctx.actor is not None:
        interviewer_id = ctx.actor.user_id
    if interviewer_id is None:
        raise InvalidInputError("an interview needs its interviewer of record")
    month = validate_month(interview_month, current=ctx.runtime.clock().strftime("%Y-%m"))
    interview = Interview(
        id=uuid.uuid4(),
        project_id=project_id,
        interviewee_person_id=_person_in(session, interviewee_person_id, project_id).id,
        interviewer_id=interviewer_id,
        interview_month=month,
        mode=_mode(mode),
        languages=",".join(language_codes(languages)),
        interpreter_used=bool(interpreter_used),
        status=InterviewStatus.DRAFT.value,
    )
    session.add(interview)
    session.flush()
    cipher_for(ctx, interview, create=True)
    for person_id in dict.fromkeys(linked_person_ids):
        if person_id != interview.interviewee_person_id:
            _person_in(session, person_id, project_id)
            session.add(InterviewPerson(interview_id=interview.id, person_id=person_id))
    session.flush()
    ctx.audit("interview.create", object_type="interview", object_id=interview.id, project_id=project_id)
    return interview


def link_person(ctx: Context, *, interview_id: uuid.UUID, person_id: uuid.UUID) -> Interview:
    """Add a person mentioned in the interview, whose names the next upload pseudonymises too; audited."""
    interview = _interview_for(ctx, interview_id, Action.INTERVIEW_MANAGE)
    _person_in(ctx.session, person_id, interview.project_id)
    known = ctx.session.scalar(
        select(InterviewPerson.id).where(
            InterviewPerson.interview_id == interview.id, InterviewPerson.person_id == person_id
        )
    )
    if known is None and person_id != interview.interviewee_person_id:
        ctx.session.add(InterviewPerson(interview_id=interview.id, person_id=person_id))
        ctx.session.flush()
    ctx.audit(
        "interview.link_person",
        object_type="interview",
        object_id=interview.id,
        project_id=interview.project_id,
    )
    return interview


def _linked_ids(session: Session, interview_id: uuid.UUID) -> _list[uuid.UUID]:
    return _list(
        session.scalars(
            select(InterviewPerson.person_id)
            .where(InterviewPerson.interview_id == interview_id)
            .order_by(InterviewPerson.id)
        ).all()
    )


def _versions(session: Session, interview_id: uuid.UUID) -> _list[TranscriptVersion]:
    return _list(
        session.scalars(
            select(TranscriptVersion)
            .where(TranscriptVersion.interview_id == interview_id)
            # The original file and the identified text are the largest values and few paths read them:
            # loaded when first used, not with every version listed.
            .options(defer(TranscriptVersion.original), defer(TranscriptVersion.identified_text))
            .order_by(TranscriptVersion.version.desc())
        ).all()
    )


def _latest(session: Session, interview_id: uuid.UUID, *, approved_only: bool) -> TranscriptVersion | None:
    for version in _versions(session, interview_id):
        if not approved_only or version.status == VersionStatus.APPROVED:
            return version
    return None


def summary(ctx: Context, interview: Interview) -> InterviewSummary:
    """What a permitted reader may see of an interview (call only on one `get_or_raise` returned)."""
    session = ctx.session
    pseudonyms = dict(
        session.execute(
            select(Person.id, Person.pseudonym).where(
                Person.id.in_([interview.interviewee_person_id, *_linked_ids(session, interview.id)])
            )
        ).all()
    )
    latest = _latest(session, interview.id, approved_only=not _sees_unapproved(ctx, interview.project_id))
    linked = [pseudonyms[pid] for pid in _linked_ids(session, interview.id) if pid in pseudonyms]
    return InterviewSummary(
        id=interview.id,
        project_id=interview.project_id,
        interviewee_pseudonym=pseudonyms.get(interview.interviewee_person_id, "?"),
        interview_month=interview.interview_month,
        mode=interview.mode,
        languages=interview.languages.split(","),
        interpreter_used=interview.interpreter_used,
        status=interview.status,
        latest_version=latest.version if latest else None,
        linked_pseudonyms=linked if _sees_unapproved(ctx, interview.project_id) else [],
    )


def list(ctx: Context, *, project_id: uuid.UUID) -> _list[InterviewSummary]:  # noqa: A001 - service verb
    """A project's interviews (coders: only those with an approved version), newest month first."""
    if not _may(ctx, Action.INTERVIEW_LIST, project_id) or ctx.session.get(Project, project_id) is None:
        raise NotFoundError()
    query = select(Interview).where(Interview.project_id == project_id)
    if not _sees_unapproved(ctx, project_id):
        query = query.where(Interview.status.in_(CODER_VISIBLE))
    query = query.order_by(Interview.interview_month.desc(), Interview.id)
    return [summary(ctx, interview) for interview in ctx.session.scalars(query).all()]


# ---- upload ----------------------------------------------------------------------------------------------


def _filename(value: str) -> str:
    name = PureWindowsPath(PurePosixPath(value or "").name).name.replace("\x00", "").strip()
    if not name:
        raise InvalidInputError("the upload needs a file name with an extension (.txt, .srt, .json ...)")
    return name[-MAX_FILENAME:]


def _jsonable(value: Any) -> Any:
    """The pseudonymiser's records as JSON values (they go into the sealed anonymisation log only)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {item.name: _jsonable(getattr(value, item.name)) for item in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {key: _jsonable(item) for key, item in value._asdict().items()}
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, _list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, EncryptedText):
        return value.reveal()
    return str(value)


def _seal(cipher: FieldCipher, row: Any, column: str, text: str) -> None:
    cipher.write(row, column, EncryptedText(text))


SEGMENT_BATCH = 1_000  # segment rows per executemany
_SEGMENT = Segment.__table__


class _RowRef:
    """A row about to be inserted through Core: its table and id, which is all a seal binds (the AAD)."""

    __slots__ = ("__table__", "id")

    def __init__(self, table: Any, row_id: uuid.UUID) -> None:
        self.__table__ = table
        self.id = row_id


def upload(ctx: Context, *, interview_id: uuid.UUID, filename: str, data: bytes) -> TranscriptVersion:
    """Parse, pseudonymise and seal an uploaded transcript as the interview's next version; audited.

    Runs in the caller's transaction and raises before it commits on any failure, so a bad file stores
    nothing. CPU-heavy: call it from a plain `def` route (the thread pool), never on the event loop.
    """
    session = ctx.session
    settings = ctx.runtime.settings
    interview = _interview_for(ctx, interview_id, Action.TRANSCRIPT_UPLOAD)
    if interview.status == InterviewStatus.WITHDRAWN:
        raise ConflictError("consent to this interview was withdrawn: no new transcript can be added")
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLargeError(f"the file is larger than the limit of {settings.max_upload_bytes} bytes")
    name = _filename(filename)
    # A refused file raises app.ingest.errors.IngestError: an AppError naming the problem (413, 415 or 422).
    parsed = formats.parse(data, name, max_bytes=settings.max_upload_bytes)
    if not parsed.turns:
        raise InvalidInputError("the file holds no transcript text")
    people = [
        pseudonymiser.PersonNames(person.pseudonym, tuple(person.names))
        for person in identities.names_for_pseudonymisation(
            ctx, person_ids=[interview.interviewee_person_id, *_linked_ids(session, interview.id)]
        )
    ]
    names = pseudonymiser.NameIndex(people)  # built once per upload, not once per turn
    cipher = cipher_for(ctx, interview, create=True)
    previous = _versions(session, interview.id)
    version = TranscriptVersion(
        id=uuid.uuid4(),
        interview_id=interview.id,
        version=(previous[0].version + 1) if previous else 1,
        format=str(getattr(parsed.format, "value", parsed.format))[:16],
        status=VersionStatus.PENDING_REVIEW.value,
        uploaded_by=ctx.actor.user_id if ctx.actor else None,
    )
    # Memory: the upload itself is held by the request (app/body_limit.py). Besides it, the turns are held
    # once in clear; each full-text copy is sealed, written and released before the next is made, and the
    # segments go to the database in batches, so a large file is never held three or four times over.
    _seal(cipher, version, "original", base64.b64encode(data).decode("ascii"))
    _seal(cipher, version, "original_filename", name)
    _seal(cipher, version, "identified_text", TURN_SEPARATOR.join(turn.text for turn in parsed.turns))
    for older in previous:
        if older.status == VersionStatus.PENDING_REVIEW:
            older.status = VersionStatus.SUPERSEDED.value
    session.add(version)
    session.flush()
    session.expire(version, ["original", "identified_text"])  # stored: drop the ciphertexts from memory
    segments: _list[dict[str, Any]] = []  # Core rows: thousands of ORM objects cost more than the sealing
    flags: _list[TranscriptFlag] = []
    pseudonymised_parts: _list[str] = []
    log: dict[str, Any] = {"version": version.version, "turns": [], "decisions": []}
    identified_at = pseudonymised_at = 0
    for seq, turn in enumerate(parsed.turns):
        if seq:
            identified_at += len(TURN_SEPARATOR)
            pseudonymised_at += len(TURN_SEPARATOR)
        result = pseudonymiser.pseudonymise(turn.text, names)
        place = _RowRef(_SEGMENT, uuid.uuid4())
        segments.append(
            {
                "id": place.id,
                "transcript_version_id": version.id,
                "seq": seq,
                "speaker": (
                    cipher.seal(place, "speaker", EncryptedText(turn.speaker)) if turn.speaker else None
                ),
                "role": str(getattr(turn.role, "value", turn.role)),
                "start_ms": turn.start_ms,
                "end_ms": turn.end_ms,
                "char_start": pseudonymised_at,
                "char_end": pseudonymised_at + len(result.text),
                "identified_start": identified_at,
                "identified_end": identified_at + len(turn.text),
                "identified_text": cipher.seal(place, "identified_text", EncryptedText(turn.text)),
                "pseudonymised_text": cipher.seal(place, "pseudonymised_text", EncryptedText(result.text)),
                "suppressed": False,
                "suppression_reason": None,
            }
        )
        if len(segments) >= SEGMENT_BATCH:
            session.execute(insert(Segment), segments)
            segments = []
        for flag in result.flags:
            flags.append(
                TranscriptFlag(
                    id=uuid.uuid4(),
                    transcript_version_id=version.id,
                    segment_id=place.id,
                    kind=str(getattr(flag.kind, "value", flag.kind))[:32],
                    start=pseudonymised_at + flag.start,
                    end=pseudonymised_at + flag.end,
                    decision=FlagDecision.PENDING.value,
                )
            )
        log["turns"].append(
            {"seq": seq, "replacements": _jsonable(result.replacements), "flags": _jsonable(result.flags)}
        )
        pseudonymised_parts.append(result.text)
        identified_at += len(turn.text)
        pseudonymised_at += len(result.text)
    if segments:
        session.execute(insert(Segment), segments)
    del parsed, segments
    _seal(cipher, version, "pseudonymised_text", TURN_SEPARATOR.join(pseudonymised_parts))
    del pseudonymised_parts
    _seal(cipher, version, "anonymisation_log", json.dumps(log, ensure_ascii=False))
    del log
    session.add_all(flags)
    if interview.status == InterviewStatus.DRAFT:
        interview.status = InterviewStatus.AWAITING_REVIEW.value
    session.flush()
    ctx.audit(
        "transcript.upload",
        object_type="transcript_version",
        object_id=version.id,
        project_id=interview.project_id,
    )
    return version


def counts(session: Session, *, version_id: uuid.UUID) -> tuple[int, int]:
    """How many turns and flags a version has."""
    turns = session.scalar(select(func.count()).where(Segment.transcript_version_id == version_id)) or 0
    flagged = (
        session.scalar(select(func.count()).where(TranscriptFlag.transcript_version_id == version_id)) or 0
    )
    return turns, flagged


# ---- reading ---------------------------------------------------------------------------------------------
# The transcript reads are the hottest sensitive reads, so their statements are built once, with bind
# parameters (building and cache-keying a statement cost about as much as running it), and a read is five
# queries: the caller (app.auth.sessions), the interview, the version with the interviewee's pseudonym, the
# interview's data key (never cached: app.keys.service.dek_for) and the segments, each loading only the
# columns that view shows.


def _segments(session: Session, version_id: uuid.UUID) -> _list[Segment]:
    return _list(
        session.scalars(
            select(Segment).where(Segment.transcript_version_id == version_id).order_by(Segment.seq)
        ).all()
    )


_INTERVIEWEE_PSEUDONYM = select(Person.pseudonym).where(Person.id == bindparam("person_id")).scalar_subquery()


def _latest_version_query(*, approved_only: bool, identified: bool) -> Select[TranscriptVersion, str]:
    """The latest (approved) version of an interview with its interviewee's pseudonym; the view's columns."""
    query = (
        select(TranscriptVersion, _INTERVIEWEE_PSEUDONYM)
        .where(TranscriptVersion.interview_id == bindparam("interview_id"))
        .options(defer(TranscriptVersion.original))
        .order_by(TranscriptVersion.version.desc())
        .limit(1)
    )
    if approved_only:
        query = query.where(TranscriptVersion.status == VersionStatus.APPROVED)
    if not identified:
        query = query.options(defer(TranscriptVersion.identified_text))
    return query


_LATEST_VERSION = {
    (approved_only, identified): _latest_version_query(approved_only=approved_only, identified=identified)
    for approved_only in (False, True)
    for identified in (False, True)
}
_SEGMENTS_OF_VERSION = (
    select(Segment).where(Segment.transcript_version_id == bindparam("version_id")).order_by(Segment.seq)
)
_SEGMENTS = {
    False: _SEGMENTS_OF_VERSION.options(defer(Segment.identified_text), defer(Segment.speaker)),
    True: _SEGMENTS_OF_VERSION.options(defer(Segment.pseudonymised_text)),
}


def _reading(
    ctx: Context, interview: Interview, *, approved_only: bool, identified: bool
) -> tuple[TranscriptVersion, str]:
    """The version a read shows and the interviewee's pseudonym; NotFoundError if there is none yet."""
    found = ctx.session.execute(
        _LATEST_VERSION[(approved_only, identified)],
        {"interview_id": interview.id, "person_id": interview.interviewee_person_id},
    ).one_or_none()
    if found is None:
        raise NotFoundError("This interview has no transcript yet.")
    version, pseudonym = found
    return version, pseudonym or "?"


def _read_segments(session: Session, version_id: uuid.UUID, *, identified: bool) -> Sequence[Segment]:
    return session.scalars(_SEGMENTS[identified], {"version_id": version_id}).all()


def read_identified(ctx: Context, *, interview_id: uuid.UUID) -> TranscriptRead:
    """The latest version with its identified text and speaker labels (interviewers; audited)."""
    interview = _interview_for(ctx, interview_id, Action.TRANSCRIPT_READ_IDENTIFIED)
    version, pseudonym = _reading(ctx, interview, approved_only=False, identified=True)
    ctx.audit(
        "transcript.read_identified",
        object_type="transcript_version",
        object_id=version.id,
        project_id=interview.project_id,
    )
    cipher = cipher_for(ctx, interview)
    segments = [
        SegmentRead(
            id=segment.id,
            seq=segment.seq,
            role=segment.role,
            start_ms=segment.start_ms,
            end_ms=segment.end_ms,
            char_start=segment.identified_start,
            char_end=segment.identified_end,
            text=None if segment.suppressed else _open(cipher, segment, "identified_text"),
            suppressed=segment.suppressed,
            speaker=None if segment.suppressed else cipher.read(segment, "speaker"),
        )
        for segment in _read_segments(ctx.session, version.id, identified=True)
    ]
    return TranscriptRead(
        interview_id=interview.id,
        version_id=version.id,
        version=version.version,
        status=version.status,
        format=version.format,
        interviewee_pseudonym=pseudonym,
        text=_open(cipher, version, "identified_text"),
        segments=segments,
        original_filename=cipher.read(version, "original_filename"),
    )


def read_pseudonymised(ctx: Context, *, interview_id: uuid.UUID) -> TranscriptRead:
    """The pseudonymised text: the latest approved version for coders, the latest one for interviewers."""
    interview = _interview_for(ctx, interview_id, Action.TRANSCRIPT_READ_PSEUDONYMISED)
    approved_only = not _sees_unapproved(ctx, interview.project_id)
    version, pseudonym = _reading(ctx, interview, approved_only=approved_only, identified=False)
    ctx.audit(
        "transcript.read_pseudonymised",
        object_type="transcript_version",
        object_id=version.id,
        project_id=interview.project_id,
    )
    cipher = cipher_for(ctx, interview)
    segments = [
        SegmentRead(
            id=segment.id,
            seq=segment.seq,
            role=segment.role,
            start_ms=segment.start_ms,
            end_ms=segment.end_ms,
            char_start=segment.char_start,
            char_end=segment.char_end,
            text=None if segment.suppressed else _open(cipher, segment, "pseudonymised_text"),
            suppressed=segment.suppressed,
        )
        for segment in _read_segments(ctx.session, version.id, identified=False)
    ]
    return TranscriptRead(
        interview_id=interview.id,
        version_id=version.id,
        version=version.version,
        status=version.status,
        format=version.format,
        interviewee_pseudonym=pseudonym,
        text=_open(cipher, version, "pseudonymised_text"),
        segments=segments,
    )


# ---- review ----------------------------------------------------------------------------------------------


def _pending_version(ctx: Context, interview: Interview) -> TranscriptVersion:
    version = _latest(ctx.session, interview.id, approved_only=False)
    if version is None or version.status != VersionStatus.PENDING_REVIEW:
        raise NotFoundError("No transcript of this interview is waiting for review.")
    return version


def _flags(session: Session, version_id: uuid.UUID) -> _list[TranscriptFlag]:
    return _list(
        session.scalars(
            select(TranscriptFlag)
            .where(TranscriptFlag.transcript_version_id == version_id)
            .order_by(TranscriptFlag.start, TranscriptFlag.id)
        ).all()
    )


def _flag_read(
    cipher: FieldCipher, flag: TranscriptFlag, segment: Segment, text: str, context: int = 40
) -> FlagRead:
    start, end = flag.start - segment.char_start, flag.end - segment.char_start
    return FlagRead(
        id=flag.id,
        segment_seq=segment.seq,
        kind=flag.kind,
        start=flag.start,
        end=flag.end,
        decision=flag.decision,
        text=EncryptedText(text[start:end]),
        before=EncryptedText(text[max(0, start - context) : start]),
        after=EncryptedText(text[end : end + context]),
        replacement=cipher.read(flag, "replacement"),
    )


def _review_material(
    ctx: Context, interview: Interview
) -> tuple[TranscriptVersion, FieldCipher, _list[Segment], dict[uuid.UUID, str], _list[TranscriptFlag]]:
    version = _pending_version(ctx, interview)
    cipher = cipher_for(ctx, interview)
    segments = _list(
        ctx.session.scalars(
            select(Segment)
            .where(Segment.transcript_version_id == version.id)
            .options(defer(Segment.identified_text))  # review and approval work on the pseudonymised text
            .order_by(Segment.seq)
        ).all()
    )
    texts = {segment.id: _open(cipher, segment, "pseudonymised_text").reveal() for segment in segments}
    return version, cipher, segments, texts, _flags(ctx.session, version.id)


@dataclass(frozen=True)
class SpeakerRead:
    """One speaker label of the version under review, the role its turns have, and how many turns."""

    index: int
    label: EncryptedText
    role: str
    turns: int


def speakers(ctx: Context, *, interview_id: uuid.UUID) -> _list[SpeakerRead]:
    """The distinct speaker labels of the version under review (labels are names: interviewers; audited)."""
    interview = _interview_for(ctx, interview_id, Action.INTERVIEW_MANAGE)
    version = _pending_version(ctx, interview)
    ctx.audit(
        "transcript.read_identified",
        object_type="transcript_version",
        object_id=version.id,
        project_id=interview.project_id,
        reason="speakers",
    )
    return _speakers(ctx, interview, version)


def _speakers(ctx: Context, interview: Interview, version: TranscriptVersion) -> _list[SpeakerRead]:
    cipher = cipher_for(ctx, interview)
    grouped: dict[str, _list[Segment]] = {}
    for segment in _segments(ctx.session, version.id):
        label = cipher.read(segment, "speaker")
        grouped.setdefault(label.reveal() if label is not None else "", []).append(segment)
    ordered = sorted(grouped.items(), key=lambda item: item[1][0].seq)
    return [
        SpeakerRead(index, EncryptedText(label), rows[0].role, len(rows))
        for index, (label, rows) in enumerate(ordered)
    ]


def assign_speaker_roles(ctx: Context, *, interview_id: uuid.UUID, roles: dict[int, str]) -> int:
    """Set the role of each speaker's turns (by index in `speakers`) before approval; returns turns changed.

    Speech-to-text output names speakers SPEAKER_00, SPEAKER_01: the interviewer says which one asked.
    """
    interview = _interview_for(ctx, interview_id, Action.INTERVIEW_MANAGE)
    version = _pending_version(ctx, interview)
    known = _speakers(ctx, interview, version)
    by_label = {speaker.index: speaker.label.reveal() for speaker in known}
    wanted: dict[str, str] = {}
    for index, role in roles.items():
        if index not in by_label:
            raise InvalidInputError("unknown speaker")
        try:
            wanted[by_label[index]] = formats.SpeakerRole(role).value
        except ValueError:
            choices = ", ".join(item.value for item in formats.SpeakerRole)
            raise InvalidInputError(f"unknown role {role!r} (choose from {choices})") from None
    cipher = cipher_for(ctx, interview)
    changed = 0
    for segment in _segments(ctx.session, version.id):
        label = cipher.read(segment, "speaker")
        new_role = wanted.get(label.reveal() if label is not None else "")
        if new_role is not None and new_role != segment.role:
            segment.role = new_role
            changed += 1
    ctx.session.flush()
    ctx.audit(
        "transcript.speaker_roles",
        object_type="transcript_version",
        object_id=version.id,
        project_id=interview.project_id,
    )
    return changed


def list_flags(ctx: Context, *, interview_id: uuid.UUID) -> _list[FlagRead]:
    """The flags of the version under review, with their text in context (interviewers; audited)."""
    interview = _interview_for(ctx, interview_id, Action.INTERVIEW_MANAGE)
    version, cipher, segments, texts, flags = _review_material(ctx, interview)
    ctx.audit(
        "transcript.read_pseudonymised",
        object_type="transcript_version",
        object_id=version.id,
        project_id=interview.project_id,
        reason="review",
    )
    by_id = {segment.id: segment for segment in segments}
    return [_flag_read(cipher, flag, by_id[flag.segment_id], texts[flag.segment_id]) for flag in flags]


def review(ctx: Context, *, interview_id: uuid.UUID) -> tuple[TranscriptVersion, _list[ReviewSegment]]:
    """The version under review, each turn cut into plain and flagged pieces (interviewers; audited)."""
    interview = _interview_for(ctx, interview_id, Action.INTERVIEW_MANAGE)
    version, cipher, segments, texts, flags = _review_material(ctx, interview)
    ctx.audit(
        "transcript.read_pseudonymised",
        object_type="transcript_version",
        object_id=version.id,
        project_id=interview.project_id,
        reason="review",
    )
    by_segment: dict[uuid.UUID, _list[TranscriptFlag]] = {}
    for flag in flags:
        by_segment.setdefault(flag.segment_id, []).append(flag)
    result: _list[ReviewSegment] = []
    for segment in segments:
        text = texts[segment.id]
        pieces: _list[ReviewPiece] = []
        at = 0
        for flag in _non_overlapping(by_segment.get(segment.id, [])):
            start, end = flag.start - segment.char_start, flag.end - segment.char_start
            if start > at:
                pieces.append(ReviewPiece(EncryptedText(text[at:start])))
            pieces.append(
                ReviewPiece(EncryptedText(text[start:end]), _flag_read(cipher, flag, segment, text))
            )
            at = end
        if at < len(text) or not pieces:
            pieces.append(ReviewPiece(EncryptedText(text[at:])))
        result.append(ReviewSegment(segment.seq, segment.role, segment.start_ms, pieces))
    return version, result


def _non_overlapping(flags: Iterable[TranscriptFlag]) -> _list[TranscriptFlag]:
    kept: _list[TranscriptFlag] = []
    for flag in sorted(flags, key=lambda item: (item.start, -item.end)):
        if flag.end > flag.start and (not kept or flag.start >= kept[-1].end):
            kept.append(flag)
    return kept


def decide_flag(
    ctx: Context,
    *,
    interview_id: uuid.UUID,
    flag_id: uuid.UUID,
    decision: str,
    replacement: str | None = None,
) -> TranscriptFlag:
    """Record the decision on one flag of the version under review: redact, replace or ignore; audited."""
    interview = _interview_for(ctx, interview_id, Action.INTERVIEW_MANAGE)
    version = _pending_version(ctx, interview)
    flag = ctx.session.get(TranscriptFlag, flag_id)
    if flag is None or flag.transcript_version_id != version.id:
        raise NotFoundError()
    try:
        chosen = FlagDecision(decision)
    except ValueError:
        raise InvalidInputError("decision must be one of: redact, replace, ignore, pending") from None
    cipher = cipher_for(ctx, interview)
    if chosen is FlagDecision.REPLACE:
        text = " ".join((replacement or "").split())
        if not text or len(text) > MAX_REPLACEMENT:
            raise InvalidInputError(f"a replacement needs 1-{MAX_REPLACEMENT} characters of text")
        _seal(cipher, flag, "replacement", text)
    else:
        flag.replacement = None
    flag.decision = chosen.value
    flag.decided_by = ctx.actor.user_id if ctx.actor else None
    ctx.session.flush()
    ctx.audit(
        "transcript.flag_decide",
        object_type="transcript_flag",
        object_id=flag.id,
        project_id=interview.project_id,
        reason=chosen.value,
    )
    return flag


def _flag_kind(kind: str) -> pseudonymiser.FlagKind:
    """A stored flag kind as the pseudonymiser's type (unknown kinds redact like a document number)."""
    known: dict[str, pseudonymiser.FlagKind] = {
        "phone": "phone",
        "email": "email",
        "url": "url",
        "document_number": "document_number",
        "address": "address",
    }
    return known.get(kind, "document_number")


def _decision(cipher: FieldCipher, flag: TranscriptFlag) -> pseudonymiser.Decision:
    """The pseudonymiser's decision for a reviewed flag; replacements are bracketed, as UKDS advises."""
    if flag.decision == FlagDecision.REDACT:
        return pseudonymiser.Decision.accept()
    if flag.decision == FlagDecision.REPLACE:
        text = _open(cipher, flag, "replacement").reveal()
        return pseudonymiser.Decision.replace(
            text if text.startswith("[") and text.endswith("]") else f"[{text}]"
        )
    return pseudonymiser.Decision.ignore()


def _search_key(keys: KeyStore, project_id: uuid.UUID) -> bytes:
    base = data_keys.derived_key(keys, Zone.INDEX, SEARCH_PURPOSE, version=SEARCH_VERSION)
    return hmac.new(base, _PROJECT_SEARCH_DOMAIN + project_id.bytes, hashlib.sha256).digest()


TOKEN_BATCH = 5_000  # search-token rows per executemany: bounded memory, few round trips


def _same(value: Any) -> Any:
    """A value the driver takes as it is."""
    return value


# PostgreSQL: one statement per batch, the rows passed as two arrays (one plan, one round trip; an
# executemany runs the INSERT once per row).
_TOKENS_FROM_ARRAYS = sql_text(
    "INSERT INTO search_token (segment_id, token, transcript_version_id) "
    "SELECT batch.segment_id, batch.token, :version "
    "FROM unnest(:segments, :tokens) AS batch(segment_id, token)"
).bindparams(
    bindparam("version", type_=Uuid()),
    bindparam("segments", type_=ARRAY(Uuid())),
    bindparam("tokens", type_=ARRAY(LargeBinary())),
)


def _index(
    session: Session, version_id: uuid.UUID, key: bytes, segments: Sequence[Segment], texts: Sequence[str]
) -> None:
    """Store the search tokens of the approved segments: one row per distinct word of each segment.

    This is the bulk of an approval's writes (about 100,000 rows per MB of text), so no ORM or per-row
    parameter processing runs: on PostgreSQL each batch is one INSERT from two arrays; elsewhere the
    rows go to the driver's executemany, the ids converted for it once per segment instead of once per
    row. Each segment's tokens go in key order; memory stays bounded by the batch.
    """
    keyer = tokens.Keyer(key)
    connection = session.connection()
    dialect = connection.dialect
    arrays = dialect.name == "postgresql"
    compiled = insert(SearchToken).compile(dialect=dialect)
    names = _list(compiled.positiontup or ()) if compiled.positional else None
    convert: Callable[[Any], Any] = SearchToken.segment_id.expression.type.bind_processor(dialect) or _same
    version = convert(version_id)
    segment_ids: _list[Any] = []
    found: _list[bytes] = []

    def write() -> None:
        if arrays:
            connection.execute(
                _TOKENS_FROM_ARRAYS, {"version": version_id, "segments": segment_ids, "tokens": found}
            )
        else:
            rows = [
                {"segment_id": segment_id, "token": token, "transcript_version_id": version}
                for segment_id, token in zip(segment_ids, found, strict=True)
            ]
            connection.exec_driver_sql(
                compiled.string, [tuple(row[name] for name in names) for row in rows] if names else rows
            )
        segment_ids.clear()
        found.clear()

    for segment, segment_text in zip(segments, texts, strict=True):
        keyed = sorted(keyer.text_keyed(segment_text))
        segment_ids.extend([segment.id if arrays else convert(segment.id)] * len(keyed))
        found.extend(keyed)
        if len(found) >= TOKEN_BATCH:
            write()
    if found:
        write()


def approve(ctx: Context, *, interview_id: uuid.UUID) -> TranscriptVersion:
    """Apply the flag decisions, make the version the one coders read, and index it for search; audited."""
    session = ctx.session
    interview = _interview_for(ctx, interview_id, Action.INTERVIEW_MANAGE)
    version, cipher, segments, texts, flags = _review_material(ctx, interview)
    undecided = sum(flag.decision == FlagDecision.PENDING for flag in flags)
    if undecided:
        raise ConflictError(f"{undecided} flagged identifier(s) still need a decision before approval")
    by_segment: dict[uuid.UUID, _list[TranscriptFlag]] = {}
    for flag in flags:
        by_segment.setdefault(flag.segment_id, []).append(flag)
    decisions: _list[dict[str, Any]] = []
    finals: _list[str] = []
    at = 0
    for segment in segments:
        text = texts.pop(segment.id)  # each text is released once its final form is made
        kept = _non_overlapping(by_segment.get(segment.id, []))
        local = [
            pseudonymiser.Flag(
                _flag_kind(flag.kind), flag.start - segment.char_start, flag.end - segment.char_start
            )
            for flag in kept
        ]
        for flag, span in zip(kept, local, strict=True):
            decisions.append(
                {
                    "flag": str(flag.id),
                    "kind": flag.kind,
                    "decision": flag.decision,
                    "original": text[span.start : span.end],
                }
            )
        reviewed = pseudonymiser.apply_decisions(
            text, local, {index: _decision(cipher, flag) for index, flag in enumerate(kept)}
        )
        final = reviewed.text
        if finals:
            at += len(TURN_SEPARATOR)
        segment.char_start, segment.char_end = at, at + len(final)
        _seal(cipher, segment, "pseudonymised_text", final)
        finals.append(final)
        at += len(final)
    session.flush()  # written: the segments' previous ciphertexts are released before the full text is made
    _seal(cipher, version, "pseudonymised_text", TURN_SEPARATOR.join(finals))
    log = json.loads(_open(cipher, version, "anonymisation_log").reveal())
    log["decisions"] = decisions
    _seal(cipher, version, "anonymisation_log", json.dumps(log, ensure_ascii=False))
    previous_approved = _latest(session, interview.id, approved_only=True)
    for older in _versions(session, interview.id):
        if older.id != version.id and older.status != VersionStatus.SUPERSEDED:
            older.status = VersionStatus.SUPERSEDED.value
            session.execute(delete(SearchToken).where(SearchToken.transcript_version_id == older.id))
    version.status = VersionStatus.APPROVED.value
    version.approved_at = today()
    version.approved_by = ctx.actor.user_id if ctx.actor else None
    session.flush()
    _index(session, version.id, _search_key(ctx.runtime.keys, interview.project_id), segments, finals)
    if interview.status in (InterviewStatus.DRAFT, InterviewStatus.AWAITING_REVIEW):
        interview.status = InterviewStatus.APPROVED.value
    session.flush()
    ctx.audit(
        "transcript.approve",
        object_type="transcript_version",
        object_id=version.id,
        project_id=interview.project_id,
    )
    result = ApprovalResult(interview.id, version.id, previous_approved.id if previous_approved else None)
    for hook in APPROVAL_HOOKS:
        hook(ctx, result)
    return version


# ---- search ----------------------------------------------------------------------------------------------


_SNIPPET_WORD = re.compile(r"\w[\w'’-]*")


def _snippet(text: str, wanted: set[str], seen: dict[str, bool] | None = None) -> str:
    """Up to SNIPPET code points of the text around the first word matching the query.

    `seen` remembers, for one search request only, whether a word matched: the hits of one search share
    most of their words, and tokenising each again cost more than decrypting the segment.
    """
    centre = 0
    seen = {} if seen is None else seen
    for match in _SNIPPET_WORD.finditer(text):
        word = match.group(0)
        found = seen.get(word)
        if found is None:
            found = seen[word] = not wanted.isdisjoint(tokens.tokenise(word))
        if found:
            centre = match.start()
            break
    start = max(0, centre - SNIPPET // 3)
    piece = text[start : start + SNIPPET]
    return ("…" if start else "") + piece + ("…" if start + SNIPPET < len(text) else "")


_HIT_COLUMNS = (
    Segment.transcript_version_id,
    Segment.seq,
    Segment.role,
    Segment.start_ms,
    Segment.pseudonymised_text,
)


def search(ctx: Context, *, query: str, limit: int = MAX_SEARCH_RESULTS) -> _list[SearchHit]:
    """Approved segments containing every word of the query, in the caller's projects (audited)."""
    session = ctx.session
    if not isinstance(query, str) or len(query) > MAX_QUERY:
        raise InvalidInputError(f"a search is 1-{MAX_QUERY} characters")
    words = _list(dict.fromkeys(tokens.query_tokens(query)))
    if not words:
        raise InvalidInputError("search for at least one word")
    limit = max(1, min(limit, MAX_SEARCH_RESULTS))
    if ctx.actor is None:
        project_ids = _list(session.scalars(select(Project.id)).all())
    else:
        project_ids = sorted(ctx.actor.project_ids(Action.TRANSCRIPT_READ_PSEUDONYMISED))
    ctx.audit("transcript.search", object_type="search")
    hits: _list[SearchHit] = []
    wanted_words = set(words)
    seen: dict[str, bool] = {}  # this request's snippet matches (plaintext words: never kept beyond it)
    for project_id in project_ids:
        wanted = tokens.keyed(_search_key(ctx.runtime.keys, project_id), words)
        matching = (
            select(SearchToken.segment_id)
            .join(TranscriptVersion, TranscriptVersion.id == SearchToken.transcript_version_id)
            .join(Interview, Interview.id == TranscriptVersion.interview_id)
            .where(
                Interview.project_id == project_id,
                Interview.status.in_(CODER_VISIBLE),
                TranscriptVersion.status == VersionStatus.APPROVED,
                SearchToken.token.in_(wanted),
            )
            .group_by(SearchToken.segment_id)
            .having(func.count(func.distinct(SearchToken.token)) == len(wanted))
        )
        rows = session.execute(
            select(Segment, Interview)
            .join(TranscriptVersion, TranscriptVersion.id == Segment.transcript_version_id)
            .join(Interview, Interview.id == TranscriptVersion.interview_id)
            .where(Segment.id.in_(matching), Segment.suppressed.is_(False))
            .order_by(Interview.interview_month.desc(), Interview.id, Segment.seq)
            .limit(limit - len(hits))
            # Only what a hit shows: not the identified text, whose ciphertext is as large again.
            .options(load_only(*_HIT_COLUMNS))
        ).all()
        # One query for the pseudonyms of every interviewee hit, not one per hit.
        interviewees = {interview.interviewee_person_id for _segment, interview in rows}
        found = session.execute(select(Person.id, Person.pseudonym).where(Person.id.in_(interviewees))).all()
        pseudonyms: dict[uuid.UUID, str] = {row.id: row.pseudonym for row in found}
        ciphers: dict[uuid.UUID, FieldCipher] = {}
        for segment, interview in rows:
            if interview.id not in ciphers:
                ciphers[interview.id] = cipher_for(ctx, interview)
                ctx.audit(
                    "transcript.read_pseudonymised",
                    object_type="interview",
                    object_id=interview.id,
                    project_id=project_id,
                    reason="search",
                )
            text = _open(ciphers[interview.id], segment, "pseudonymised_text").reveal()
            hits.append(
                SearchHit(
                    interview_id=interview.id,
                    project_id=project_id,
                    interviewee_pseudonym=pseudonyms.get(interview.interviewee_person_id) or "?",
                    segment_id=segment.id,
                    seq=segment.seq,
                    role=segment.role,
                    start_ms=segment.start_ms,
                    snippet=EncryptedText(_snippet(text, wanted_words, seen)),
                )
            )
        if len(hits) >= limit:
            break
    return hits
