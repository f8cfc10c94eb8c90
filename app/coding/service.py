"""Coding verbs: apply codes to spans, blind double coding with assignments, adjudication, obsolescence.

Threat: codings are analysis of testimony. The quoted text is never stored with the coding; a coding keeps
code-point offsets into a transcript version's pseudonymised text and a keyed hash of the quoted text:
HMAC-SHA256 under a key derived per project from `keys.zone_key(Zone.INDEX, "coding-span", version=1)`, so
a stolen database cannot test guessed phrases and equal quotes in two projects do not share a hash.
`verify_provenance` recomputes the hash against the text the coding points at: a coding moved, edited or
pointed at other text no longer verifies. Memos are free text and are sealed under the interview's
TESTIMONY data key (`interviews.cipher_for`), with associated data binding the coding row.

Rules:
- Codings are made on the interview's latest APPROVED version only, never on a span touching a suppressed
  (withdrawn) segment, only with current (not retired) codes of the interview's project, one row per code.
- Blind double coding: while any blind assignee of an interview has not marked it done, every caller sees
  only their own codings of it (and gets 404 for anyone else's). Once all assignees are done, all see all.
- A coder who marked an interview done can no longer change their codings of it (the agreement is computed
  on what they handed in); adjudication starts once every assignee is done. An adjudication records an
  adjudicated coding (origin `adjudicated`, coder = the adjudicator) or a rejection: a row with status
  `rejected`, so the decision is kept and the next look at the disagreements shows it.
- When a newer transcript version is approved (`APPROVAL_HOOKS`), a coding whose span overlaps a change
  becomes `obsolete` and is listed for re-coding; any other one moves to the new version with shifted
  offsets, after its hash is re-verified against the new text.
- When consent is withdrawn (`WITHDRAWAL_HOOKS`), codings overlapping the suppressed segments are deleted in
  the same transaction.
Every change and every read of codings writes an audit entry (opaque ids only).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import Membership, Role, User, UserStatus
from app.auth.policy import Action
from app.coding import codebook
from app.coding.models import Assignment, Code, Coding, CodingOrigin, CodingStatus
from app.consent import service as consent
from app.context import Context
from app.encryption import DataIntegrityError, EncryptedText, FieldCipher
from app.errors import ConflictError, InvalidInputError, NotFoundError
from app.identities.models import Person
from app.interviews import diff
from app.interviews import service as interviews
from app.interviews.models import Interview, InterviewStatus, Segment, TranscriptVersion, VersionStatus
from crypto.keyring import KeyStore, Zone

SPAN_PURPOSE = "coding-span"
SPAN_VERSION = 1  # pinned: the index zone does not rotate (see app.keys.service)
_PROJECT_SPAN_DOMAIN = b"harbour-coding-span-project-v1\x00"
_SPAN_DOMAIN = b"harbour-coding-span-v1\x00"
REJECTED = CodingStatus.REJECTED.value  # an adjudicator's recorded rejection (not a coding anyone applied)
MAX_CODES_PER_APPLY = 20
MAX_MEMO = 10_000
MAX_CODERS = 10


class CodingEvent:
    """What happened to codings, for `CODING_HOOKS`."""

    CREATED = "created"
    DELETED = "deleted"  # called before the rows are deleted
    OBSOLETED = "obsoleted"


# Later domains (incident mentions) register here: called with the event and the codings concerned, in the
# same transaction. Deletion by consent withdrawal is not reported here (see `WITHDRAWAL_HOOKS`).
CODING_HOOKS: list[Callable[[Context, str, Sequence[Coding]], None]] = []


def _notify(ctx: Context, event: str, codings: Sequence[Coding]) -> None:
    if codings:
        for hook in CODING_HOOKS:
            hook(ctx, event, codings)


class Decision:
    """An adjudicator's decision on one code in one segment."""

    APPLY = "apply"
    REJECT = "reject"


# ---- results ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodingRead:
    """A coding with its quoted text (pseudonymised) and memo, for a permitted reader."""

    id: uuid.UUID
    interview_id: uuid.UUID
    transcript_version_id: uuid.UUID
    code_id: uuid.UUID
    mnemonic: str
    coder_id: uuid.UUID
    coder: str
    start: int
    end: int
    quote: EncryptedText | None
    memo: EncryptedText | None
    status: str
    origin: str
    codebook_version: int
    created_at: datetime
    own: bool


@dataclass(frozen=True, slots=True)
class AssignmentRead:
    """One coder's assignment to one interview, with progress."""

    id: uuid.UUID
    project_id: uuid.UUID
    interview_id: uuid.UUID
    interviewee_pseudonym: str
    coder_id: uuid.UUID
    coder: str
    blind: bool
    done_at: datetime | None
    codings: int


@dataclass(frozen=True, slots=True)
class CoderSpan:
    """One coder's coding of a code inside a segment."""

    coder_id: uuid.UUID
    coder: str
    start: int
    end: int
    quote: EncryptedText


@dataclass(frozen=True, slots=True)
class DisagreementRead:
    """A segment where some assigned coders applied a code and others did not."""

    segment_id: uuid.UUID
    seq: int
    role: str
    start_ms: int | None
    char_start: int
    char_end: int
    text: EncryptedText
    code_id: uuid.UUID
    mnemonic: str
    applied_by: list[str]
    not_applied_by: list[str]
    spans: list[CoderSpan] = field(default_factory=list)
    decision: str | None = None


@dataclass(frozen=True, slots=True)
class CodeChoice:
    """A current code of the project as the coding page shows it (name when it can be read)."""

    id: uuid.UUID
    parent_id: uuid.UUID | None
    mnemonic: str
    name: str
    group: str
    palette: int
    depth: int


# ---- keys and hashes -------------------------------------------------------------------------------------


def _span_key(keys: KeyStore, project_id: uuid.UUID) -> bytes:
    base = keys.zone_key(Zone.INDEX, SPAN_PURPOSE, version=SPAN_VERSION)
    return hmac.new(base, _PROJECT_SPAN_DOMAIN + project_id.bytes, hashlib.sha256).digest()


def span_hash(keys: KeyStore, project_id: uuid.UUID, quote: str) -> bytes:
    """The keyed hash of a quoted span of pseudonymised text (provenance without storing the text)."""
    return hmac.new(
        _span_key(keys, project_id), _SPAN_DOMAIN + quote.encode("utf-8"), hashlib.sha256
    ).digest()


# ---- scope -----------------------------------------------------------------------------------------------


def _may(ctx: Context, action: Action, project_id: uuid.UUID) -> bool:
    return ctx.actor is None or ctx.actor.may_in(action, project_id)


def _me(ctx: Context) -> uuid.UUID | None:
    return ctx.actor.user_id if ctx.actor is not None else None


def _interview(ctx: Context, interview_id: uuid.UUID, action: Action) -> Interview:
    """An interview the caller may see and act on with `action`, or 404 (coders: approved ones only)."""
    interview = interviews.get_or_raise(ctx, interview_id=interview_id)
    if interview.status == InterviewStatus.WITHDRAWN or not _may(ctx, action, interview.project_id):
        raise NotFoundError()
    return interview


def _approved_version(session: Session, interview_id: uuid.UUID) -> TranscriptVersion:
    version = session.scalars(
        select(TranscriptVersion)
        .where(
            TranscriptVersion.interview_id == interview_id,
            TranscriptVersion.status == VersionStatus.APPROVED,
        )
        .order_by(TranscriptVersion.version.desc())
        .limit(1)
    ).first()
    if version is None:
        raise NotFoundError("This interview has no approved transcript yet.")
    return version


def _text(cipher: FieldCipher, version: TranscriptVersion) -> str | None:
    value = cipher.read(version, "pseudonymised_text")
    return None if value is None else value.reveal()


def _segments(session: Session, version_id: uuid.UUID) -> list[Segment]:
    return list(
        session.scalars(
            select(Segment).where(Segment.transcript_version_id == version_id).order_by(Segment.seq)
        )
    )


def _assignments(session: Session, interview_id: uuid.UUID) -> list[Assignment]:
    return list(
        session.scalars(
            select(Assignment).where(Assignment.interview_id == interview_id).order_by(Assignment.created_at)
        )
    )


def blind_open(session: Session, interview_id: uuid.UUID) -> bool:
    """Whether a blind assignment of the interview is still open (some assignee has not marked it done)."""
    found = _assignments(session, interview_id)
    return any(item.blind for item in found) and any(item.done_at is None for item in found)


def all_done(session: Session, interview_id: uuid.UUID) -> bool:
    """Whether the interview has assignments and every assignee marked it done."""
    found = _assignments(session, interview_id)
    return bool(found) and all(item.done_at is not None for item in found)


def _own_assignment(
    session: Session, interview_id: uuid.UUID, coder_id: uuid.UUID | None
) -> Assignment | None:
    if coder_id is None:
        return None
    return session.scalars(
        select(Assignment).where(Assignment.interview_id == interview_id, Assignment.coder_id == coder_id)
    ).first()


def _visible(ctx: Context, coding: Coding) -> bool:
    """Blind mode: while it is open, a caller sees only their own codings of the interview."""
    if coding.coder_id == _me(ctx) or ctx.actor is None:
        return True
    return not blind_open(ctx.session, coding.interview_id)


def _codebook_version(session: Session, project_id: uuid.UUID) -> int:
    return codebook.current_version(session, project_id)


def _usernames(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {
        row[0]: row[1] for row in session.execute(select(User.id, User.username).where(User.id.in_(wanted)))
    }


def _mnemonics(session: Session, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {
        row[0]: row[1] for row in session.execute(select(Code.id, Code.mnemonic).where(Code.id.in_(wanted)))
    }


def _touches_suppressed(segments: Sequence[Segment], start: int, end: int) -> bool:
    return any(s.suppressed and s.char_start < end and start < s.char_end for s in segments)


def _current_codes(session: Session, project_id: uuid.UUID, code_ids: Sequence[uuid.UUID]) -> list[Code]:
    wanted = list(dict.fromkeys(code_ids))
    if not wanted:
        raise InvalidInputError("choose at least one code")
    if len(wanted) > MAX_CODES_PER_APPLY:
        raise InvalidInputError(f"apply at most {MAX_CODES_PER_APPLY} codes at once")
    found = {
        code.id: code
        for code in session.scalars(
            select(Code).where(
                Code.id.in_(wanted), Code.project_id == project_id, Code.retired_in_version.is_(None)
            )
        )
    }
    if len(found) != len(wanted):
        raise InvalidInputError("unknown or retired code for this project")
    return [found[code_id] for code_id in wanted]


def _memo(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if len(text) > MAX_MEMO:
        raise InvalidInputError(f"a memo is at most {MAX_MEMO} characters")
    return text or None


def _refuse_if_done(ctx: Context, interview_id: uuid.UUID) -> None:
    own = _own_assignment(ctx.session, interview_id, _me(ctx))
    if own is not None and own.done_at is not None:
        raise ConflictError("You marked this interview done: your codings of it are handed in.")


# ---- codings ---------------------------------------------------------------------------------------------


def apply(
    ctx: Context,
    *,
    interview_id: uuid.UUID,
    start: int,
    end: int,
    code_ids: Sequence[uuid.UUID],
    memo: str | None = None,
) -> list[Coding]:
    """Apply one or more codes to a span of the latest approved version (one coding per code); audited."""
    session = ctx.session
    interview = _interview(ctx, interview_id, Action.CODING_WRITE)
    coder_id = _me(ctx)
    if coder_id is None:
        raise InvalidInputError("a coding needs a coder")
    _refuse_if_done(ctx, interview.id)
    version = _approved_version(session, interview.id)
    cipher = interviews.cipher_for(ctx, interview)
    text = _text(cipher, version)
    if text is None:
        raise DataIntegrityError()
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
        raise InvalidInputError(f"the span must satisfy 0 <= start < end <= {len(text)} (code points)")
    if _touches_suppressed(_segments(session, version.id), start, end):
        raise InvalidInputError("the span touches withdrawn material, which cannot be coded")
    codes = _current_codes(session, interview.project_id, code_ids)
    note = _memo(memo)
    digest = span_hash(ctx.runtime.keys, interview.project_id, text[start:end])
    codebook_version = _codebook_version(session, interview.project_id)
    made: list[Coding] = []
    for code in codes:
        coding = Coding(
            id=uuid.uuid4(),
            project_id=interview.project_id,
            interview_id=interview.id,
            transcript_version_id=version.id,
            code_id=code.id,
            coder_id=coder_id,
            start=start,
            end=end,
            span_hash=digest,
            codebook_version=codebook_version,
            status=CodingStatus.ACTIVE.value,
            origin=CodingOrigin.CODER.value,
        )
        if note is not None:
            cipher.write(coding, "memo", EncryptedText(note))
        session.add(coding)
        made.append(coding)
    session.flush()
    for coding in made:
        ctx.audit("coding.create", object_type="coding", object_id=coding.id, project_id=interview.project_id)
    _notify(ctx, CodingEvent.CREATED, made)
    return made


def _coding(ctx: Context, coding_id: uuid.UUID) -> tuple[Coding, Interview]:
    """A coding the caller may see (blind mode respected), or 404."""
    coding = ctx.session.get(Coding, coding_id)
    if coding is None or not _may(ctx, Action.TRANSCRIPT_READ_PSEUDONYMISED, coding.project_id):
        raise NotFoundError()
    interview = _interview(ctx, coding.interview_id, Action.TRANSCRIPT_READ_PSEUDONYMISED)
    if not _visible(ctx, coding):
        raise NotFoundError()
    return coding, interview


def update_memo(ctx: Context, *, coding_id: uuid.UUID, memo: str | None) -> Coding:
    """Replace the memo of one of the caller's codings (empty removes it); audited."""
    coding, interview = _coding(ctx, coding_id)
    if not _may(ctx, Action.CODING_WRITE, coding.project_id):
        raise NotFoundError()
    if ctx.actor is not None and coding.coder_id != ctx.actor.user_id:
        raise NotFoundError()
    _refuse_if_done(ctx, interview.id)
    note = _memo(memo)
    interviews.cipher_for(ctx, interview).write(coding, "memo", EncryptedText(note) if note else None)
    ctx.session.flush()
    ctx.audit("coding.update", object_type="coding", object_id=coding.id, project_id=coding.project_id)
    return coding


def delete(ctx: Context, *, coding_id: uuid.UUID) -> None:
    """Delete a coding: one's own, or anyone's when adjudicating (every assignee done); audited."""
    coding, interview = _coding(ctx, coding_id)
    if not _may(ctx, Action.CODING_WRITE, coding.project_id):
        raise NotFoundError()
    own = ctx.actor is None or coding.coder_id == ctx.actor.user_id
    if own:
        if coding.origin == CodingOrigin.CODER:
            _refuse_if_done(ctx, interview.id)
    elif not (_may(ctx, Action.CODING_ADJUDICATE, coding.project_id) and all_done(ctx.session, interview.id)):
        raise ConflictError("Only your own codings can be deleted, unless you are adjudicating.")
    _notify(ctx, CodingEvent.DELETED, [coding])
    ctx.session.delete(coding)
    ctx.session.flush()
    ctx.audit("coding.delete", object_type="coding", object_id=coding.id, project_id=coding.project_id)


def _reads(ctx: Context, interview: Interview, rows: Sequence[Coding]) -> list[CodingRead]:
    session = ctx.session
    cipher = interviews.cipher_for(ctx, interview)
    texts: dict[uuid.UUID, str | None] = {}
    for row in rows:
        if row.transcript_version_id not in texts:
            version = session.get(TranscriptVersion, row.transcript_version_id)
            texts[row.transcript_version_id] = _text(cipher, version) if version is not None else None
    names = _usernames(session, (row.coder_id for row in rows))
    mnemonics = _mnemonics(session, (row.code_id for row in rows))
    me = _me(ctx)
    result = []
    for row in rows:
        text = texts[row.transcript_version_id]
        result.append(
            CodingRead(
                id=row.id,
                interview_id=row.interview_id,
                transcript_version_id=row.transcript_version_id,
                code_id=row.code_id,
                mnemonic=mnemonics.get(row.code_id, "?"),
                coder_id=row.coder_id,
                coder=names.get(row.coder_id, "?"),
                start=row.start,
                end=row.end,
                quote=EncryptedText(text[row.start : row.end]) if text is not None else None,
                memo=cipher.read(row, "memo"),
                status=row.status,
                origin=row.origin,
                codebook_version=row.codebook_version,
                created_at=row.created_at,
                own=row.coder_id == me,
            )
        )
    return result


def list_for(ctx: Context, *, interview_id: uuid.UUID, coder_id: uuid.UUID | None = None) -> list[CodingRead]:
    """The active codings of the latest approved version (blind mode: only one's own while open); audited."""
    session = ctx.session
    interview = _interview(ctx, interview_id, Action.TRANSCRIPT_READ_PSEUDONYMISED)
    version = _approved_version(session, interview.id)
    query = select(Coding).where(
        Coding.interview_id == interview.id,
        Coding.transcript_version_id == version.id,
        Coding.status == CodingStatus.ACTIVE,
    )
    if coder_id is not None:
        query = query.where(Coding.coder_id == coder_id)
    if ctx.actor is not None and blind_open(session, interview.id):
        query = query.where(Coding.coder_id == ctx.actor.user_id)
    rows = list(session.scalars(query.order_by(Coding.start, Coding.end, Coding.created_at, Coding.id)))
    ctx.audit("coding.list", object_type="interview", object_id=interview.id, project_id=interview.project_id)
    return _reads(ctx, interview, rows)


def get(ctx: Context, *, coding_id: uuid.UUID) -> CodingRead:
    """One coding the caller may see (blind mode respected), with its quote and memo; audited."""
    coding, interview = _coding(ctx, coding_id)
    ctx.audit("coding.read", object_type="coding", object_id=coding.id, project_id=coding.project_id)
    return _reads(ctx, interview, [coding])[0]


@dataclass(frozen=True, slots=True)
class TurnText:
    """One turn of the approved version as the coding page shows it (no text when withdrawn)."""

    id: uuid.UUID
    seq: int
    role: str
    start_ms: int | None
    char_start: int
    char_end: int
    text: EncryptedText | None


def read_for_coding(ctx: Context, *, interview_id: uuid.UUID) -> tuple[TranscriptVersion, list[TurnText]]:
    """The latest approved version's pseudonymised turns, which codings point into; audited."""
    interview = _interview(ctx, interview_id, Action.CODING_WRITE)
    version = _approved_version(ctx.session, interview.id)
    cipher = interviews.cipher_for(ctx, interview)
    ctx.audit(
        "transcript.read_pseudonymised",
        object_type="transcript_version",
        object_id=version.id,
        project_id=interview.project_id,
        reason="coding",
    )
    turns = [
        TurnText(
            segment.id,
            segment.seq,
            segment.role,
            segment.start_ms,
            segment.char_start,
            segment.char_end,
            None if segment.suppressed else cipher.read(segment, "pseudonymised_text"),
        )
        for segment in _segments(ctx.session, version.id)
    ]
    return version, turns


def verify_provenance(ctx: Context, *, coding_id: uuid.UUID) -> bool:
    """Whether the coding's stored hash matches the text its span points at now; audited."""
    coding, interview = _coding(ctx, coding_id)
    version = ctx.session.get(TranscriptVersion, coding.transcript_version_id)
    text = _text(interviews.cipher_for(ctx, interview), version) if version is not None else None
    ok = (
        text is not None
        and 0 <= coding.start < coding.end <= len(text)
        and hmac.compare_digest(
            span_hash(ctx.runtime.keys, coding.project_id, text[coding.start : coding.end]), coding.span_hash
        )
    )
    ctx.audit(
        "coding.verify",
        object_type="coding",
        object_id=coding.id,
        project_id=coding.project_id,
        reason="verified" if ok else "mismatch",
    )
    return ok


def recode_list(
    ctx: Context, *, project_id: uuid.UUID | None = None, interview_id: uuid.UUID | None = None
) -> list[CodingRead]:
    """Obsolete codings (their span changed in a newer version), to be coded again; audited."""
    session = ctx.session
    if interview_id is not None:
        found = [_interview(ctx, interview_id, Action.CODING_WRITE)]
    elif project_id is not None:
        if not _may(ctx, Action.CODING_WRITE, project_id):
            raise NotFoundError()
        found = list(
            session.scalars(
                select(Interview)
                .where(Interview.project_id == project_id, Interview.status.in_(interviews.CODER_VISIBLE))
                .order_by(Interview.interview_month.desc(), Interview.id)
            )
        )
    else:
        raise InvalidInputError("name a project or an interview")
    result: list[CodingRead] = []
    for interview in found:
        query = select(Coding).where(
            Coding.interview_id == interview.id, Coding.status == CodingStatus.OBSOLETE
        )
        if ctx.actor is not None and blind_open(session, interview.id):
            query = query.where(Coding.coder_id == ctx.actor.user_id)
        rows = list(session.scalars(query.order_by(Coding.start, Coding.id)))
        if rows:
            ctx.audit(
                "coding.list",
                object_type="interview",
                object_id=interview.id,
                project_id=interview.project_id,
            )
            result += _reads(ctx, interview, rows)
    return result


# ---- new versions and withdrawal -------------------------------------------------------------------------


def obsolete_after_new_version(
    ctx: Context, *, interview_id: uuid.UUID, old_version_id: uuid.UUID, new_version_id: uuid.UUID
) -> tuple[int, int]:
    """Carry codings of the old version to the new one, or mark them obsolete; returns (moved, obsolete)."""
    session = ctx.session
    interview = session.get(Interview, interview_id)
    if interview is None or not _may(ctx, Action.INTERVIEW_MANAGE, interview.project_id):
        raise NotFoundError()
    old = session.get(TranscriptVersion, old_version_id)
    new = session.get(TranscriptVersion, new_version_id)
    if old is None or new is None or {old.interview_id, new.interview_id} != {interview.id}:
        raise NotFoundError()
    rows = list(
        session.scalars(
            select(Coding).where(
                Coding.transcript_version_id == old.id, Coding.status.in_([CodingStatus.ACTIVE, REJECTED])
            )
        )
    )
    if not rows:
        return 0, 0
    cipher = interviews.cipher_for(ctx, interview)
    old_text, new_text = _text(cipher, old), _text(cipher, new)
    if old_text is None or new_text is None:
        raise DataIntegrityError()
    spans = diff.changed_spans(old_text, new_text)
    suppressed = _segments(session, new.id)
    moved = obsolete = 0
    obsoleted: list[Coding] = []
    for coding in rows:
        start, end = coding.start, coding.end
        carried = not diff.is_affected(spans, start, end)
        if carried:
            start, end = diff.shift(spans, start), diff.shift(spans, end)
            carried = (
                0 <= start < end <= len(new_text)
                and not _touches_suppressed(suppressed, start, end)
                and hmac.compare_digest(
                    span_hash(ctx.runtime.keys, coding.project_id, new_text[start:end]), coding.span_hash
                )
            )
        if carried:
            coding.transcript_version_id, coding.start, coding.end = new.id, start, end
            moved += 1
        elif coding.status == REJECTED:
            session.delete(coding)  # a rejection of a span that changed no longer decides anything
        else:
            coding.status = CodingStatus.OBSOLETE.value
            obsolete += 1
            obsoleted.append(coding)
            ctx.audit(
                "coding.obsolete", object_type="coding", object_id=coding.id, project_id=coding.project_id
            )
    session.flush()
    _notify(ctx, CodingEvent.OBSOLETED, obsoleted)
    ctx.audit(
        "coding.carry_over",
        object_type="transcript_version",
        object_id=new.id,
        project_id=interview.project_id,
        reason=f"moved:{moved}.obsolete:{obsolete}"[:32],
    )
    return moved, obsolete


def _on_approval(ctx: Context, result: interviews.ApprovalResult) -> None:
    if result.previous_version_id is not None:
        obsolete_after_new_version(
            ctx,
            interview_id=result.interview_id,
            old_version_id=result.previous_version_id,
            new_version_id=result.version_id,
        )


def _on_withdrawal(ctx: Context, result: consent.WithdrawalResult) -> None:
    """Delete every coding that overlaps a segment just suppressed (all of a withdrawn interview's)."""
    session = ctx.session
    removed: dict[uuid.UUID, int] = {}
    withdrawn = list(
        session.scalars(
            select(Interview).where(
                Interview.id.in_(result.interview_ids), Interview.status == InterviewStatus.WITHDRAWN
            )
        )
    )
    for interview in withdrawn:
        doomed = list(session.scalars(select(Coding.id).where(Coding.interview_id == interview.id)))
        session.execute(sql_delete(Coding).where(Coding.id.in_(doomed)))
        removed[interview.id] = removed.get(interview.id, 0) + len(doomed)
    gone = {interview.id for interview in withdrawn}
    by_version: dict[uuid.UUID, list[Segment]] = {}
    for segment in session.scalars(select(Segment).where(Segment.id.in_(result.segment_ids))):
        by_version.setdefault(segment.transcript_version_id, []).append(segment)
    for version_id, segments in by_version.items():
        for coding in session.scalars(select(Coding).where(Coding.transcript_version_id == version_id)):
            if coding.interview_id in gone:
                continue
            if any(s.char_start < coding.end and coding.start < s.char_end for s in segments):
                session.delete(coding)
                removed[coding.interview_id] = removed.get(coding.interview_id, 0) + 1
    session.flush()
    for interview_id, count in removed.items():
        owner = session.get(Interview, interview_id)
        if count and owner is not None:
            ctx.audit(
                "coding.withdrawal_delete",
                object_type="interview",
                object_id=interview_id,
                project_id=owner.project_id,
                reason=f"removed:{count}",
            )


if _on_approval not in interviews.APPROVAL_HOOKS:
    interviews.APPROVAL_HOOKS.append(_on_approval)
if _on_withdrawal not in consent.WITHDRAWAL_HOOKS:
    consent.WITHDRAWAL_HOOKS.append(_on_withdrawal)


# ---- assignments -----------------------------------------------------------------------------------------


def _coders_of(session: Session, project_id: uuid.UUID, coder_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    wanted = list(dict.fromkeys(coder_ids))
    if not wanted:
        raise InvalidInputError("name at least one coder")
    if len(wanted) > MAX_CODERS:
        raise InvalidInputError(f"assign at most {MAX_CODERS} coders")
    found = set(
        session.scalars(
            select(Membership.user_id)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.user_id.in_(wanted),
                Membership.project_id == project_id,
                Membership.role == Role.CODER,
                User.status == UserStatus.ACTIVE,
            )
        )
    )
    if found != set(wanted):
        raise InvalidInputError("every assignee must be an active coder of this project")
    return wanted


def assign(
    ctx: Context, *, interview_id: uuid.UUID, coder_ids: Sequence[uuid.UUID], blind: bool = True
) -> list[Assignment]:
    """Assign coders to an interview (blind double coding needs two or more); returns all its assignments."""
    session = ctx.session
    interview = _interview(ctx, interview_id, Action.CODING_ASSIGN)
    _approved_version(session, interview.id)
    wanted = _coders_of(session, interview.project_id, coder_ids)
    existing = {item.coder_id: item for item in _assignments(session, interview.id)}
    if blind and len(set(existing) | set(wanted)) < 2:
        raise InvalidInputError("blind double coding needs two or more coders")
    for item in existing.values():
        item.blind = blind
    added: list[Assignment] = []
    for coder_id in wanted:
        if coder_id in existing:
            continue
        assignment = Assignment(
            id=uuid.uuid4(),
            project_id=interview.project_id,
            interview_id=interview.id,
            coder_id=coder_id,
            assigned_by=_me(ctx),
            blind=blind,
        )
        session.add(assignment)
        added.append(assignment)
    session.flush()
    for assignment in added:
        ctx.audit(
            "coding.assign",
            object_type="assignment",
            object_id=assignment.id,
            project_id=interview.project_id,
        )
    return _assignments(session, interview.id)


def mark_done(ctx: Context, *, interview_id: uuid.UUID) -> Assignment:
    """Mark the caller's own assignment to the interview done (hands in their codings); audited."""
    interview = _interview(ctx, interview_id, Action.CODING_WRITE)
    assignment = _own_assignment(ctx.session, interview.id, _me(ctx))
    if assignment is None:
        raise NotFoundError("You are not assigned to this interview.")
    if assignment.done_at is None:
        assignment.done_at = ctx.runtime.clock()
        ctx.session.flush()
        ctx.audit(
            "coding.done", object_type="assignment", object_id=assignment.id, project_id=interview.project_id
        )
    return assignment


def _assignment_reads(session: Session, pairs: list[tuple[Assignment, Interview]]) -> list[AssignmentRead]:
    names = _usernames(session, (item.coder_id for item, _ in pairs))
    pseudonyms = {
        row[0]: row[1]
        for row in session.execute(
            select(Person.id, Person.pseudonym).where(
                Person.id.in_({interview.interviewee_person_id for _, interview in pairs})
            )
        )
    }
    result = []
    for item, interview in pairs:
        count = session.scalar(
            select(func.count()).where(
                Coding.interview_id == interview.id,
                Coding.coder_id == item.coder_id,
                Coding.status == CodingStatus.ACTIVE,
                Coding.origin == CodingOrigin.CODER,
            )
        )
        result.append(
            AssignmentRead(
                id=item.id,
                project_id=item.project_id,
                interview_id=interview.id,
                interviewee_pseudonym=pseudonyms.get(interview.interviewee_person_id, "?"),
                coder_id=item.coder_id,
                coder=names.get(item.coder_id, "?"),
                blind=item.blind,
                done_at=item.done_at,
                codings=int(count or 0),
            )
        )
    return result


def assignments_for(
    ctx: Context, *, project_id: uuid.UUID, coder_id: uuid.UUID | None = None
) -> list[AssignmentRead]:
    """A project's assignments (optionally one coder's) with each coder's count of active codings."""
    if not _may(ctx, Action.CODING_ASSIGN, project_id):
        raise NotFoundError()
    query = (
        select(Assignment, Interview)
        .join(Interview, Interview.id == Assignment.interview_id)
        .where(Assignment.project_id == project_id, Interview.status.in_(interviews.CODER_VISIBLE))
    )
    if coder_id is not None:
        query = query.where(Assignment.coder_id == coder_id)
    rows = ctx.session.execute(
        query.order_by(Interview.interview_month.desc(), Interview.id, Assignment.created_at)
    )
    return _assignment_reads(ctx.session, [(row[0], row[1]) for row in rows])


def assignments_for_interview(ctx: Context, *, interview_id: uuid.UUID) -> list[AssignmentRead]:
    """One interview's assignments with progress, for anyone who may read it."""
    interview = _interview(ctx, interview_id, Action.TRANSCRIPT_READ_PSEUDONYMISED)
    return _assignment_reads(
        ctx.session, [(item, interview) for item in _assignments(ctx.session, interview.id)]
    )


def project_coders(ctx: Context, *, project_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """The active coders of a project (id, username), for assignment forms."""
    if not _may(ctx, Action.CODING_ASSIGN, project_id):
        raise NotFoundError()
    rows = ctx.session.execute(
        select(User.id, User.username)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.project_id == project_id,
            Membership.role == Role.CODER,
            User.status == UserStatus.ACTIVE,
        )
        .order_by(User.username)
    )
    return [(row[0], row[1]) for row in rows]


# ---- adjudication ----------------------------------------------------------------------------------------


def _adjudicable(ctx: Context, interview_id: uuid.UUID) -> tuple[Interview, list[Assignment]]:
    interview = _interview(ctx, interview_id, Action.CODING_ADJUDICATE)
    found = _assignments(ctx.session, interview.id)
    if len(found) < 2:
        raise ConflictError("Adjudication needs two or more coders assigned to this interview.")
    if any(item.done_at is None for item in found):
        raise ConflictError("Adjudication starts when every assigned coder has marked the interview done.")
    return interview, found


def disagreements(ctx: Context, *, interview_id: uuid.UUID) -> list[DisagreementRead]:
    """Segments where assigned coders differ on a code (present for some, absent for others); audited."""
    session = ctx.session
    interview, found = _adjudicable(ctx, interview_id)
    version = _approved_version(session, interview.id)
    cipher = interviews.cipher_for(ctx, interview)
    text = _text(cipher, version)
    if text is None:
        raise DataIntegrityError()
    coders = [item.coder_id for item in found]
    names = _usernames(session, coders)
    rows = list(
        session.scalars(
            select(Coding).where(Coding.transcript_version_id == version.id).order_by(Coding.start, Coding.id)
        )
    )
    coded = [row for row in rows if row.origin == CodingOrigin.CODER and row.status == CodingStatus.ACTIVE]
    decided = [row for row in rows if row.origin == CodingOrigin.ADJUDICATED]
    mnemonics = _mnemonics(session, (row.code_id for row in rows))
    result: list[DisagreementRead] = []
    for segment in _segments(session, version.id):
        if segment.suppressed:
            continue
        inside = [row for row in coded if row.start < segment.char_end and segment.char_start < row.end]
        for code_id in dict.fromkeys(row.code_id for row in inside):
            applied = {row.coder_id for row in inside if row.code_id == code_id and row.coder_id in coders}
            if not applied or applied == set(coders):
                continue
            decision = None
            for row in decided:
                if row.code_id == code_id and row.start < segment.char_end and segment.char_start < row.end:
                    decision = Decision.REJECT if row.status == REJECTED else Decision.APPLY
            result.append(
                DisagreementRead(
                    segment_id=segment.id,
                    seq=segment.seq,
                    role=segment.role,
                    start_ms=segment.start_ms,
                    char_start=segment.char_start,
                    char_end=segment.char_end,
                    text=EncryptedText(text[segment.char_start : segment.char_end]),
                    code_id=code_id,
                    mnemonic=mnemonics.get(code_id, "?"),
                    applied_by=[names.get(c, "?") for c in coders if c in applied],
                    not_applied_by=[names.get(c, "?") for c in coders if c not in applied],
                    spans=[
                        CoderSpan(
                            row.coder_id,
                            names.get(row.coder_id, "?"),
                            row.start,
                            row.end,
                            EncryptedText(text[row.start : row.end]),
                        )
                        for row in inside
                        if row.code_id == code_id
                    ],
                    decision=decision,
                )
            )
    ctx.audit(
        "coding.disagreements",
        object_type="interview",
        object_id=interview.id,
        project_id=interview.project_id,
    )
    return result


def adjudicate(
    ctx: Context,
    *,
    interview_id: uuid.UUID,
    code_id: uuid.UUID,
    decision: str,
    segment_id: uuid.UUID | None = None,
    start: int | None = None,
    end: int | None = None,
) -> Coding:
    """Decide a code on a segment (or span): an adjudicated coding, or a recorded rejection; audited.

    A new decision on the same code and segment replaces the earlier one.
    """
    session = ctx.session
    interview, _found = _adjudicable(ctx, interview_id)
    if decision not in (Decision.APPLY, Decision.REJECT):
        raise InvalidInputError("decision must be apply or reject")
    adjudicator = _me(ctx)
    if adjudicator is None:
        raise InvalidInputError("an adjudication needs an adjudicator")
    version = _approved_version(session, interview.id)
    segments = _segments(session, version.id)
    if segment_id is not None:
        segment = next((item for item in segments if item.id == segment_id), None)
        if segment is None:
            raise InvalidInputError("that segment is not in the current transcript version")
        start, end = (segment.char_start, segment.char_end) if start is None or end is None else (start, end)
        if not (segment.char_start <= start < end <= segment.char_end):
            raise InvalidInputError("the span must lie inside the segment")
    if start is None or end is None:
        raise InvalidInputError("name a segment or a span")
    cipher = interviews.cipher_for(ctx, interview)
    text = _text(cipher, version)
    if text is None:
        raise DataIntegrityError()
    if not 0 <= start < end <= len(text):
        raise InvalidInputError(f"the span must satisfy 0 <= start < end <= {len(text)} (code points)")
    if _touches_suppressed(segments, start, end):
        raise InvalidInputError("the span touches withdrawn material, which cannot be coded")
    code = _current_codes(session, interview.project_id, [code_id])[0]
    around = [s for s in segments if s.char_start < end and start < s.char_end]
    for earlier in session.scalars(
        select(Coding).where(
            Coding.transcript_version_id == version.id,
            Coding.code_id == code.id,
            Coding.origin == CodingOrigin.ADJUDICATED,
        )
    ):
        if any(s.char_start < earlier.end and earlier.start < s.char_end for s in around):
            _notify(ctx, CodingEvent.DELETED, [earlier])
            session.delete(earlier)
    coding = Coding(
        id=uuid.uuid4(),
        project_id=interview.project_id,
        interview_id=interview.id,
        transcript_version_id=version.id,
        code_id=code.id,
        coder_id=adjudicator,
        start=start,
        end=end,
        span_hash=span_hash(ctx.runtime.keys, interview.project_id, text[start:end]),
        codebook_version=_codebook_version(session, interview.project_id),
        status=CodingStatus.ACTIVE.value if decision == Decision.APPLY else REJECTED,
        origin=CodingOrigin.ADJUDICATED.value,
    )
    session.add(coding)
    session.flush()
    ctx.audit(
        "coding.adjudicate",
        object_type="coding",
        object_id=coding.id,
        project_id=interview.project_id,
        reason=decision,
    )
    if coding.status == CodingStatus.ACTIVE:
        _notify(ctx, CodingEvent.CREATED, [coding])
    return coding


# ---- the code tree ---------------------------------------------------------------------------------------


def code_choices(ctx: Context, *, project_id: uuid.UUID) -> list[CodeChoice]:
    """The project's current codes as a tree in reading order, with a palette index per code group."""
    groups: dict[str, int] = {}
    result = []
    for code in codebook.tree(ctx, project_id=project_id):
        group = code.mnemonic[:1].upper() or "?"
        palette = groups.setdefault(group, len(groups) % PALETTE_SIZE)
        result.append(
            CodeChoice(code.id, code.parent_id, code.mnemonic, code.name, group, palette, code.depth)
        )
    return result


PALETTE_SIZE = 8
