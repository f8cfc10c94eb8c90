"""Recording consent and withdrawing it, with the cascade through everything derived from the material.

Withdrawal (CODEBOOK.md §4.4, A.0) is segment-level suppression:
- `all`: every transcript of the consent's interviews is wiped, the interviews are marked withdrawn and their
  TESTIMONY data keys destroyed, so no copy of the text, original file or anonymisation log can be opened
  again, not even from an older backup restored with today's keys after the next key rotation;
- `segments`, `topic` (segments linked to the questions of one guide topic) and `person` (segments that name
  one person: their bracketed pseudonym in the coders' text, or one of their names in the identified text):
  those segments lose their texts and speaker labels, their search tokens, question links and identifier
  flags; the same spans of the version's full texts are overwritten with a block character of the same
  length (so code-point offsets of the rest stay valid); their anonymisation-log entries are dropped; the
  uploaded original file, which cannot be redacted in place, is deleted; superseded versions are wiped whole.
Later domains (codings, mentions, incidents, exports) register a hook in `WITHDRAWAL_HOOKS` and remove what
they derived from the suppressed segments in the same transaction. What remains is a content-free tombstone.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.auth.policy import Action
from app.consent.models import (
    SCOPES,
    Consent,
    ConsentStatus,
    ConsentWithdrawal,
    WithdrawalScope,
    WithdrawalTarget,
)
from app.context import Context
from app.encryption import DataIntegrityError, EncryptedText, FieldCipher
from app.errors import ConflictError, InvalidInputError, NotFoundError
from app.guides.models import GuideQuestion, GuideTopic, InterviewGuide, SegmentQuestion
from app.identities import service as identities
from app.identities.models import Person
from app.ingest.tokens import tokenise
from app.interviews import service as interviews
from app.interviews.models import (
    Interview,
    InterviewStatus,
    SearchToken,
    Segment,
    TranscriptFlag,
    TranscriptVersion,
    VersionStatus,
)
from app.keys import service as data_keys
from app.keys.service import DataKeyGoneError, OwnerType
from crypto.keyring import Zone

BLOCK = "\u2588"
SUPPRESSION_REASON = "consent_withdrawal"
_TEXT_COLUMNS = (
    "original",
    "original_filename",
    "identified_text",
    "pseudonymised_text",
    "anonymisation_log",
)


@dataclass(frozen=True)
class WithdrawalResult:
    """What a withdrawal did, in opaque ids and counts."""

    withdrawal: ConsentWithdrawal
    interview_ids: tuple[uuid.UUID, ...]
    segment_ids: tuple[uuid.UUID, ...]


# Later domains register here: called with the withdrawal and the ids of the segments just suppressed.
WITHDRAWAL_HOOKS: list[Callable[[Context, WithdrawalResult], None]] = []


def _require(ctx: Context, project_id: uuid.UUID) -> None:
    if ctx.actor is not None and not ctx.actor.may_in(Action.CONSENT_MANAGE, project_id):
        raise NotFoundError()


def _person(ctx: Context, person_id: uuid.UUID) -> Person:
    person = ctx.session.get(Person, person_id)
    if person is None:
        raise NotFoundError()
    _require(ctx, person.project_id)
    return person


def _person_cipher(ctx: Context, person: Person) -> FieldCipher:
    try:
        dek = data_keys.dek_for(
            ctx.session,
            ctx.runtime.keys,
            zone=Zone.IDENTITY,
            owner_type=OwnerType.PERSON,
            owner_id=person.id,
            create=True,
        )
    except DataKeyGoneError:
        raise ConflictError("This person has been erased.") from None
    return FieldCipher(dek)


def record(
    ctx: Context,
    *,
    person_id: uuid.UUID,
    info_sheet_version: str,
    recorded_on: date,
    scopes: Iterable[str],
    interview_id: uuid.UUID | None = None,
    withdrawal_deadline: date | None = None,
    evidence: str | None = None,
) -> Consent:
    """Record what a person consented to (audited); unknown scopes are refused."""
    person = _person(ctx, person_id)
    granted = set(scopes)
    unknown = granted - set(SCOPES)
    if unknown:
        raise InvalidInputError(
            f"unknown consent scope {sorted(unknown)[0]!r} (choose from {', '.join(SCOPES)})"
        )
    version = info_sheet_version.strip()
    if not version or len(version) > 32:
        raise InvalidInputError("the information sheet version must be 1 to 32 characters")
    if recorded_on > ctx.runtime.clock().date():
        raise InvalidInputError("consent cannot be recorded in the future")
    if withdrawal_deadline is not None and withdrawal_deadline < recorded_on:
        raise InvalidInputError("the withdrawal deadline is before the consent date")
    if interview_id is not None:
        interview = ctx.session.get(Interview, interview_id)
        if interview is None or interview.project_id != person.project_id:
            raise InvalidInputError("that interview is not in this person's project")
    consent = Consent(
        project_id=person.project_id,
        person_id=person.id,
        interview_id=interview_id,
        info_sheet_version=version,
        recorded_on=recorded_on,
        withdrawal_deadline=withdrawal_deadline,
        recorded_by=ctx.actor.user_id if ctx.actor else None,
        **{scope: scope in granted for scope in SCOPES},
    )
    ctx.session.add(consent)
    ctx.session.flush()
    if evidence and evidence.strip():
        _person_cipher(ctx, person).write(consent, "evidence", EncryptedText(evidence.strip()))
        ctx.session.flush()
    ctx.audit("consent.record", object_type="consent", object_id=consent.id, project_id=person.project_id)
    return consent


def list_for(ctx: Context, *, person_id: uuid.UUID) -> list[Consent]:
    """A person's consent records, newest first."""
    person = _person(ctx, person_id)
    return list(
        ctx.session.scalars(
            select(Consent).where(Consent.person_id == person.id).order_by(Consent.recorded_on.desc())
        )
    )


def get_or_raise(ctx: Context, *, consent_id: uuid.UUID) -> Consent:
    """A consent record in the caller's scope, or 404."""
    consent = ctx.session.get(Consent, consent_id)
    if consent is None:
        raise NotFoundError()
    _require(ctx, consent.project_id)
    return consent


def granted_scopes(consent: Consent) -> list[str]:
    """The scopes a consent grants."""
    return [scope for scope in SCOPES if getattr(consent, scope)]


# ---- withdrawal -------------------------------------------------------------------------------------------


def _interviews_of(session: Session, consent: Consent) -> list[Interview]:
    if consent.interview_id is not None:
        found = session.get(Interview, consent.interview_id)
        return [found] if found is not None else []
    return list(
        session.scalars(
            select(Interview).where(
                Interview.project_id == consent.project_id,
                Interview.interviewee_person_id == consent.person_id,
            )
        )
    )


def _versions(session: Session, interview_ids: Sequence[uuid.UUID]) -> list[TranscriptVersion]:
    return list(
        session.scalars(select(TranscriptVersion).where(TranscriptVersion.interview_id.in_(interview_ids)))
    )


def _segments_of(session: Session, version_ids: Sequence[uuid.UUID]) -> list[Segment]:
    return list(
        session.scalars(
            select(Segment).where(Segment.transcript_version_id.in_(version_ids)).order_by(Segment.seq)
        )
    )


def _topic_segments(
    session: Session, consent: Consent, topic_key: uuid.UUID, pool: list[Segment]
) -> list[Segment]:
    question_keys = set(
        session.scalars(
            select(GuideQuestion.key)
            .join(GuideTopic, GuideTopic.id == GuideQuestion.topic_id)
            .join(InterviewGuide, InterviewGuide.id == GuideTopic.guide_id)
            .where(InterviewGuide.project_id == consent.project_id, GuideTopic.key == topic_key)
        )
    )
    if not question_keys:
        raise InvalidInputError("that topic is not in this project's guide")
    linked = set(
        session.scalars(
            select(SegmentQuestion.segment_id).where(
                SegmentQuestion.segment_id.in_([segment.id for segment in pool]),
                SegmentQuestion.question_key.in_(question_keys),
            )
        )
    )
    return [segment for segment in pool if segment.id in linked]


def _person_segments(
    ctx: Context,
    consent: Consent,
    person_id: uuid.UUID,
    pool: list[Segment],
    ciphers: dict[uuid.UUID, FieldCipher],
) -> list[Segment]:
    target = ctx.session.get(Person, person_id)
    if target is None or target.project_id != consent.project_id:
        raise InvalidInputError("that person is not in this project")
    names = identities.names_for_pseudonymisation(ctx, person_ids=[target.id])
    name_tokens = [set(tokenise(name)) for entry in names for name in entry.names]
    marker = f"[{target.pseudonym}]"
    hits = []
    for segment in pool:
        if segment.suppressed:
            continue
        cipher = ciphers[segment.transcript_version_id]
        pseudonymised = _read(cipher, segment, "pseudonymised_text")
        identified = set(tokenise(_read(cipher, segment, "identified_text")))
        if marker in pseudonymised or any(tokens and tokens <= identified for tokens in name_tokens):
            hits.append(segment)
    return hits


def _read(cipher: FieldCipher, row: object, column: str) -> str:
    value = cipher.read(row, column)
    return "" if value is None else value.reveal()


def _blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        for index in range(max(start, 0), min(end, len(chars))):
            if chars[index] != "\n":
                chars[index] = BLOCK
    return "".join(chars)


def _suppress(session: Session, segments: Sequence[Segment]) -> None:
    ids = [segment.id for segment in segments]
    if not ids:
        return
    session.execute(delete(SearchToken).where(SearchToken.segment_id.in_(ids)))
    session.execute(delete(SegmentQuestion).where(SegmentQuestion.segment_id.in_(ids)))
    session.execute(delete(TranscriptFlag).where(TranscriptFlag.segment_id.in_(ids)))
    for segment in segments:
        segment.suppressed = True
        segment.suppression_reason = SUPPRESSION_REASON
        segment.identified_text = None
        segment.pseudonymised_text = None
        segment.speaker = None


def _wipe(version: TranscriptVersion) -> None:
    for column in _TEXT_COLUMNS:
        setattr(version, column, None)


def _redact_version(cipher: FieldCipher, version: TranscriptVersion, segments: Sequence[Segment]) -> None:
    """Blank the withdrawn spans in the version's full texts and drop their anonymisation-log entries."""
    identified = _read(cipher, version, "identified_text")
    pseudonymised = _read(cipher, version, "pseudonymised_text")
    cipher.write(
        version,
        "identified_text",
        EncryptedText(_blank(identified, ((s.identified_start, s.identified_end) for s in segments))),
    )
    cipher.write(
        version,
        "pseudonymised_text",
        EncryptedText(_blank(pseudonymised, ((s.char_start, s.char_end) for s in segments))),
    )
    if version.anonymisation_log is not None:
        log = json.loads(_read(cipher, version, "anonymisation_log"))
        withdrawn = {segment.seq for segment in segments}
        log["turns"] = [turn for turn in log.get("turns", []) if turn.get("seq") not in withdrawn]
        cipher.write(version, "anonymisation_log", EncryptedText(json.dumps(log, ensure_ascii=False)))
    version.original = None
    version.original_filename = None


def withdraw(
    ctx: Context,
    *,
    consent_id: uuid.UUID,
    scope: WithdrawalScope,
    segment_ids: Sequence[uuid.UUID] = (),
    topic_key: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
) -> WithdrawalResult:
    """Withdraw consent in full or in part and cascade (see the module docstring); audited, all or nothing."""
    consent = get_or_raise(ctx, consent_id=consent_id)
    if consent.status == ConsentStatus.WITHDRAWN:
        raise ConflictError("This consent is already withdrawn in full.")
    session = ctx.session
    found = _interviews_of(session, consent)
    interview_ids = [interview.id for interview in found]
    versions = _versions(session, interview_ids)
    current = [version for version in versions if version.status != VersionStatus.SUPERSEDED]
    pool = _segments_of(session, [version.id for version in current])
    ciphers: dict[uuid.UUID, FieldCipher] = {}
    if scope is not WithdrawalScope.ALL:
        ciphers = {
            version.id: interviews.cipher_for(ctx, _by_id(found, version.interview_id))
            for version in current
            if _by_id(found, version.interview_id).status != InterviewStatus.WITHDRAWN
        }
        pool = [segment for segment in pool if segment.transcript_version_id in ciphers]
    targets: list[tuple[str, uuid.UUID]] = []
    if scope is WithdrawalScope.ALL:
        chosen = _segments_of(session, [version.id for version in versions])
        targets = [("interview", interview_id) for interview_id in interview_ids]
    elif scope is WithdrawalScope.SEGMENTS:
        wanted = set(segment_ids)
        chosen = [segment for segment in pool if segment.id in wanted]
        if not wanted or len(chosen) != len(wanted):
            raise InvalidInputError("name one or more segments of this consent's interviews")
        targets = [("segment", segment.id) for segment in chosen]
    elif scope is WithdrawalScope.TOPIC:
        if topic_key is None:
            raise InvalidInputError("name the guide topic to withdraw")
        chosen = _topic_segments(session, consent, topic_key, pool)
        targets = [("topic", topic_key)]
    else:
        if person_id is None:
            raise InvalidInputError("name the person whose mentions are withdrawn")
        chosen = _person_segments(ctx, consent, person_id, pool, ciphers)
        targets = [("person", person_id)]
    chosen = [segment for segment in chosen if not segment.suppressed]
    if scope is WithdrawalScope.ALL:
        for version in versions:
            _wipe(version)
        for interview in found:
            interview.status = InterviewStatus.WITHDRAWN.value
            data_keys.destroy_dek(
                session, zone=Zone.TESTIMONY, owner_type=OwnerType.INTERVIEW, owner_id=interview.id
            )
        consent.status = ConsentStatus.WITHDRAWN.value
    else:
        by_version: dict[uuid.UUID, list[Segment]] = {}
        for segment in chosen:
            by_version.setdefault(segment.transcript_version_id, []).append(segment)
        for version in current:
            if version.id in by_version:
                _redact_version(ciphers[version.id], version, by_version[version.id])
        for version in versions:
            if version.status == VersionStatus.SUPERSEDED:
                _wipe(version)
                chosen += [s for s in _segments_of(session, [version.id]) if not s.suppressed]
        for interview in found:
            if interview.status != InterviewStatus.WITHDRAWN and by_version:
                interview.status = InterviewStatus.PARTIALLY_WITHDRAWN.value
        consent.status = ConsentStatus.PARTIALLY_WITHDRAWN.value
    _suppress(session, chosen)
    withdrawal = ConsentWithdrawal(
        consent_id=consent.id,
        scope=scope.value,
        performed_by=ctx.actor.user_id if ctx.actor else None,
        segments_suppressed=len(chosen),
    )
    session.add(withdrawal)
    session.flush()
    for target_type, target_id in [
        *targets,
        *(("segment", s.id) for s in chosen if scope is not WithdrawalScope.SEGMENTS),
    ]:
        session.add(
            WithdrawalTarget(withdrawal_id=withdrawal.id, target_type=target_type, target_id=target_id)
        )
    session.flush()
    result = WithdrawalResult(withdrawal, tuple(interview_ids), tuple(segment.id for segment in chosen))
    for hook in WITHDRAWAL_HOOKS:
        hook(ctx, result)
    ctx.audit(
        "consent.withdraw",
        object_type="consent",
        object_id=consent.id,
        project_id=consent.project_id,
        reason=scope.value,
    )
    for interview_id in interview_ids:
        ctx.audit(
            "consent.cascade",
            object_type="interview",
            object_id=interview_id,
            project_id=consent.project_id,
            reason=scope.value,
        )
    return result


def _by_id(found: Sequence[Interview], interview_id: uuid.UUID) -> Interview:
    for interview in found:
        if interview.id == interview_id:
            return interview
    raise DataIntegrityError()
