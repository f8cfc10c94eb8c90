"""Incident verbs: mentions drafted from codings, completed by coders, clustered into incidents; workflow.

- A coding of an incident-bearing code (variable_field `tactic`: groups B-D; `reprisal_type`: group E) drafts
  one mention (`CODING_HOOKS`), prefilled from the code's variable mapping (the first of "a|b" alternatives),
  the interviewee (target, origin state, residence) and the flag codes overlapping the span: H1 (hedged
  date), H2 (hearsay), H3 (repeat mention). A span overlapping an H5 (off the record) coding yields nothing,
  and an H5 coding added later removes the mentions it covers (CODEBOOK.md 5.7).
- Deleting or obsoleting the coding removes its mention; incidents and reprisals that lose their last
  mention are deleted, the others are resolved again from what remains.
- An incident's fields are resolved from its mentions with the rules of CODEBOOK.md 5.4 (`resolve`);
  adjudicated values (`overrides`) win. Workflow draft -> double_coded -> adjudicated -> final; final locks.
- Consent withdrawal (`WITHDRAWAL_HOOKS`): mentions of the withdrawn interviews and of codings removed go, and
  incidents/reprisals left without a source are deleted (nothing derived is kept).
Every change writes an audit entry with opaque ids only.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.policy import Action
from app.coding import service as coding_service
from app.coding.models import Code, Coding, CodingStatus
from app.consent import service as consent
from app.context import Context
from app.encryption import EncryptedText
from app.errors import ConflictError, InvalidInputError, NotFoundError
from app.identities.models import Person, Residence
from app.incidents import dates, matching, vocab
from app.incidents.models import (
    FamilyReprisalEvent,
    Incident,
    IncidentLink,
    IncidentMention,
    IncidentTarget,
)
from app.interviews import service as interviews
from app.interviews.models import Interview, InterviewStatus
from app.keys import service as data_keys

MAX_PHRASE = 500
MAX_SUMMARY = 300

# Fields a coder completes on a mention, with their vocabularies (None: ISO2 state; bool: flag).
MENTION_FIELDS: dict[str, tuple[str, ...] | None] = {
    "tactic": vocab.TACTICS,
    "reprisal_type": vocab.REPRISAL_TYPES,
    "onset_precision": vocab.ONSET_PRECISIONS,
    "onset_basis": vocab.ONSET_BASES,
    "locus_state": None,
    "residence_state": None,
    "origin_state": None,
    "completion_status": vocab.COMPLETION_STATUSES,
    "perpetrator_type": vocab.PERPETRATOR_TYPES,
    "host_cooperation": vocab.HOST_COOPERATION,
    "legal_instrument": vocab.LEGAL_INSTRUMENTS,
    "outcome": vocab.OUTCOMES + vocab.REPRISAL_OUTCOMES,
    "occurrence_confidence": vocab.OCCURRENCE_CONFIDENCE,
    "attribution_confidence": vocab.ATTRIBUTION_CONFIDENCE,
    "evidence_basis": tuple(vocab.EvidenceBasis),
    "status": tuple(vocab.MentionStatus),
}
# Incident fields resolved from mentions by majority, with the conflict flag disagreement raises.
MAJORITY_FIELDS: dict[str, str | None] = {
    "tactic": "tactic_conflict",
    "target_person_id": None,
    "origin_state": None,
    "locus_state": "place_conflict",
    "residence_state": "place_conflict",
    "perpetrator_type": "actor_conflict",
    "completion_status": None,
    "host_cooperation": None,
    "legal_instrument": None,
    "outcome": None,
    "occurrence_confidence": None,
    "attribution_confidence": None,
}
OVERRIDABLE = tuple(MAJORITY_FIELDS) + ("evidence_basis",)
ONSET_FIELDS = ("onset_min", "onset_max", "onset_precision", "onset_basis")


# ---- scope and ciphers -----------------------------------------------------------------------------------


def _require(ctx: Context, project_id: uuid.UUID) -> None:
    if ctx.actor is not None and not ctx.actor.may_in(Action.INCIDENT_WRITE, project_id):
        raise NotFoundError()


def _me(ctx: Context) -> uuid.UUID | None:
    return ctx.actor.user_id if ctx.actor is not None else None


def get_mention(ctx: Context, mention_id: uuid.UUID) -> IncidentMention:
    """A mention the caller may work on, or 404."""
    mention = ctx.session.get(IncidentMention, mention_id)
    if mention is None:
        raise NotFoundError()
    _require(ctx, mention.project_id)
    return mention


def get_incident(ctx: Context, incident_id: uuid.UUID) -> Incident:
    """An incident the caller may work on, or 404."""
    incident = ctx.session.get(Incident, incident_id)
    if incident is None:
        raise NotFoundError()
    _require(ctx, incident.project_id)
    return incident


def get_reprisal(ctx: Context, reprisal_id: uuid.UUID) -> FamilyReprisalEvent:
    """A family reprisal event the caller may work on, or 404."""
    found = ctx.session.get(FamilyReprisalEvent, reprisal_id)
    if found is None:
        raise NotFoundError()
    _require(ctx, found.project_id)
    return found


# ---- residence and flags ---------------------------------------------------------------------------------


def residence_at(session: Session, person_id: uuid.UUID | None, when: date | None) -> str | None:
    """The person's residence country at a date (the current one when the date is unknown)."""
    if person_id is None:
        return None
    rows = list(
        session.scalars(
            select(Residence).where(Residence.person_id == person_id).order_by(Residence.from_period)
        )
    )
    if not rows:
        return None
    if when is None:
        current = [row for row in rows if row.to_period is None]
        return (current or rows)[-1].country
    month = when.isoformat()[:7]
    for row in reversed(rows):
        if (row.from_period is None or row.from_period[:7] <= month) and (
            row.to_period is None or month[: len(row.to_period)] <= row.to_period
        ):
            return row.country
    return None


def _flags_over(session: Session, coding: Coding) -> set[str]:
    """Mnemonics of the active flag codings on a coding's span (same transcript version): H5 when it touches
    the span at all (the consent gate is conservative), the other flags when they cover the whole span."""
    rows = session.execute(
        select(Code.mnemonic, Coding.start, Coding.end)
        .join(Coding, Coding.code_id == Code.id)
        .where(
            Coding.transcript_version_id == coding.transcript_version_id,
            Coding.status == CodingStatus.ACTIVE,
            Code.is_flag.is_(True),
            Coding.start < coding.end,
            coding.start < Coding.end,
        )
    )
    return {
        mnemonic
        for mnemonic, start, end in rows
        if mnemonic == vocab.FLAG_OFF_RECORD or (start <= coding.start and coding.end <= end)
    }


# ---- mentions from codings -------------------------------------------------------------------------------


def _draft_mention(ctx: Context, coding: Coding, code: Code) -> IncidentMention | None:
    session = ctx.session
    kind = {"tactic": vocab.MentionKind.INCIDENT, "reprisal_type": vocab.MentionKind.FAMILY_REPRISAL}.get(
        code.variable_field or ""
    )
    if kind is None or not code.variable_value:
        return None
    flags = _flags_over(session, coding)
    if vocab.FLAG_OFF_RECORD in flags:
        return None  # consent gate: nothing is derived from off-record material
    interview = session.get(Interview, coding.interview_id)
    if interview is None:
        return None
    person = session.get(Person, interview.interviewee_person_id)
    value = code.variable_value.split("|")[0]
    mention = IncidentMention(
        id=uuid.uuid4(),
        project_id=coding.project_id,
        interview_id=coding.interview_id,
        coding_id=coding.id,
        code_id=code.id,
        kind=kind.value,
        tactic=value if kind == vocab.MentionKind.INCIDENT else None,
        reprisal_type=value if kind == vocab.MentionKind.FAMILY_REPRISAL else None,
        stage=vocab.TACTIC_STAGE.get(value),
        target_person_id=interview.interviewee_person_id,
        origin_state=person.origin_state if person is not None else None,
        residence_state=residence_at(session, interview.interviewee_person_id, None),
        onset_hedged=vocab.FLAG_UNCERTAIN_DATE in flags,
        evidence_basis=(
            vocab.EvidenceBasis.HEARSAY if vocab.FLAG_HEARSAY in flags else vocab.EvidenceBasis.DIRECT
        ).value,
        is_repeat_mention=vocab.FLAG_REPEAT in flags,
        status=vocab.MentionStatus.DRAFT.value,
        coder_id=coding.coder_id,
    )
    session.add(mention)
    return mention


def _apply_flag(ctx: Context, coding: Coding, mnemonic: str) -> None:
    """A flag coding added over existing mentions: H5 removes them, H1/H2/H3 update drafts."""
    session = ctx.session
    covered = list(
        session.scalars(
            select(IncidentMention)
            .join(Coding, Coding.id == IncidentMention.coding_id)
            .where(
                Coding.transcript_version_id == coding.transcript_version_id,
                Coding.start < coding.end,
                coding.start < Coding.end,
            )
        )
    )
    if mnemonic == vocab.FLAG_OFF_RECORD:
        _remove_mentions(ctx, covered, force=True)
        return
    spans = {
        row.id: (row.start, row.end)
        for row in session.scalars(select(Coding).where(Coding.id.in_([m.coding_id for m in covered])))
    }
    for mention in covered:
        start, end = spans.get(mention.coding_id, (-1, -1))
        if not (coding.start <= start and end <= coding.end):
            continue  # H1-H3 apply to the mentions whose whole span they cover
        if mnemonic == vocab.FLAG_HEARSAY and mention.evidence_basis == vocab.EvidenceBasis.DIRECT:
            mention.evidence_basis = vocab.EvidenceBasis.HEARSAY.value
        elif mnemonic == vocab.FLAG_UNCERTAIN_DATE:
            mention.onset_hedged = True
        elif mnemonic == vocab.FLAG_REPEAT:
            mention.is_repeat_mention = True
    session.flush()
    _refresh(
        ctx,
        {m.incident_id for m in covered if m.incident_id},
        {m.reprisal_id for m in covered if m.reprisal_id},
    )


def _on_coding(ctx: Context, event: str, codings: Sequence[Coding]) -> None:
    session = ctx.session
    if event == coding_service.CodingEvent.CREATED:
        codes = {
            code.id: code
            for code in session.scalars(select(Code).where(Code.id.in_({c.code_id for c in codings})))
        }
        made = []
        for coding in codings:
            code = codes.get(coding.code_id)
            if code is None:
                continue
            if code.is_flag:
                _apply_flag(ctx, coding, code.mnemonic)
            else:
                mention = _draft_mention(ctx, coding, code)
                if mention is not None:
                    made.append(mention)
        session.flush()
        for mention in made:
            ctx.audit(
                "incident.mention_create",
                object_type="incident_mention",
                object_id=mention.id,
                project_id=mention.project_id,
            )
        return
    doomed = list(
        session.scalars(select(IncidentMention).where(IncidentMention.coding_id.in_([c.id for c in codings])))
    )
    _remove_mentions(ctx, doomed, force=event != coding_service.CodingEvent.DELETED)


def _remove_mentions(ctx: Context, mentions: Sequence[IncidentMention], *, force: bool) -> None:
    """Delete mentions and resolve (or delete) what they supported; a final incident refuses unless forced."""
    if not mentions:
        return
    session = ctx.session
    incident_ids = {m.incident_id for m in mentions if m.incident_id is not None}
    reprisal_ids = {m.reprisal_id for m in mentions if m.reprisal_id is not None}
    if not force:
        for incident_id in incident_ids:
            found = session.get(Incident, incident_id)
            if found is not None and found.status == vocab.Workflow.FINAL:
                raise ConflictError("This coding supports a final incident: reopen the incident first.")
    for mention in mentions:
        ctx.audit(
            "incident.mention_delete",
            object_type="incident_mention",
            object_id=mention.id,
            project_id=mention.project_id,
        )
        session.delete(mention)
    session.flush()
    _refresh(ctx, incident_ids, reprisal_ids)


def _refresh(ctx: Context, incident_ids: Iterable[uuid.UUID], reprisal_ids: Iterable[uuid.UUID]) -> None:
    """Resolve incidents and reprisals again; those without a mention left are deleted."""
    session = ctx.session
    for incident_id in set(incident_ids):
        found = session.get(Incident, incident_id)
        if found is not None:
            if _mentions_of(session, found.id):
                resolve(session, found)
            else:
                ctx.audit(
                    "incident.delete", object_type="incident", object_id=found.id, project_id=found.project_id
                )
                session.delete(found)
    for reprisal_id in set(reprisal_ids):
        reprisal = session.get(FamilyReprisalEvent, reprisal_id)
        if reprisal is not None:
            if _reprisal_mentions(session, reprisal.id):
                resolve_reprisal(session, reprisal)
            else:
                ctx.audit(
                    "incident.reprisal_delete",
                    object_type="family_reprisal_event",
                    object_id=reprisal.id,
                    project_id=reprisal.project_id,
                )
                session.delete(reprisal)
    session.flush()


def _on_withdrawal(ctx: Context, result: consent.WithdrawalResult) -> None:
    """After codings of suppressed material are gone: remove their mentions and orphaned incidents."""
    session = ctx.session
    doomed = (
        list(
            session.scalars(
                select(IncidentMention).where(IncidentMention.interview_id.in_(result.interview_ids))
            )
        )
        if result.interview_ids
        else []
    )
    withdrawn = [
        m
        for m in doomed
        if (interview := session.get(Interview, m.interview_id)) is not None
        and interview.status == InterviewStatus.WITHDRAWN
    ]
    _remove_mentions(ctx, withdrawn, force=True)
    # Mentions whose coding was deleted went with it (ON DELETE CASCADE): sweep what lost its sources.
    projects = {
        row[0]
        for row in session.execute(select(Interview.project_id).where(Interview.id.in_(result.interview_ids)))
    }
    for project_id in projects:
        orphans = session.scalars(
            select(Incident.id).where(
                Incident.project_id == project_id,
                ~select(IncidentMention.id).where(IncidentMention.incident_id == Incident.id).exists(),
            )
        ).all()
        lone = session.scalars(
            select(FamilyReprisalEvent.id).where(
                FamilyReprisalEvent.project_id == project_id,
                ~select(IncidentMention.id)
                .where(IncidentMention.reprisal_id == FamilyReprisalEvent.id)
                .exists(),
            )
        ).all()
        survivors = session.scalars(
            select(IncidentMention.incident_id).where(
                IncidentMention.project_id == project_id, IncidentMention.incident_id.is_not(None)
            )
        ).all()
        _refresh(ctx, list(orphans) + [i for i in survivors if i is not None], lone)


if _on_coding not in coding_service.CODING_HOOKS:
    coding_service.CODING_HOOKS.append(_on_coding)
if _on_withdrawal not in consent.WITHDRAWAL_HOOKS:
    consent.WITHDRAWAL_HOOKS.append(_on_withdrawal)


# ---- reading and completing mentions ---------------------------------------------------------------------


def _mentions_of(session: Session, incident_id: uuid.UUID) -> list[IncidentMention]:
    return list(
        session.scalars(
            select(IncidentMention)
            .where(IncidentMention.incident_id == incident_id)
            .order_by(IncidentMention.created_at, IncidentMention.id)
        )
    )


def _reprisal_mentions(session: Session, reprisal_id: uuid.UUID) -> list[IncidentMention]:
    return list(
        session.scalars(
            select(IncidentMention)
            .where(IncidentMention.reprisal_id == reprisal_id)
            .order_by(IncidentMention.created_at, IncidentMention.id)
        )
    )


def mentions(
    ctx: Context, *, project_id: uuid.UUID, interview_id: uuid.UUID | None = None
) -> list[IncidentMention]:
    """A project's mentions (optionally of one interview); audited."""
    _require(ctx, project_id)
    query = select(IncidentMention).where(IncidentMention.project_id == project_id)
    if interview_id is not None:
        query = query.where(IncidentMention.interview_id == interview_id)
    ctx.audit("incident.mention_list", object_type="project", object_id=project_id, project_id=project_id)
    return list(session_rows(ctx.session, query.order_by(IncidentMention.created_at, IncidentMention.id)))


def session_rows(session: Session, query: Any) -> list[Any]:
    """Rows of a select (a small helper to keep call sites short)."""
    return list(session.scalars(query))


def _state(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) != 2 or not value.isalpha():
        raise InvalidInputError(f"{name} must be an ISO 3166-1 alpha-2 code")
    return value.upper()


def _check(name: str, value: Any) -> Any:
    allowed = MENTION_FIELDS[name]
    if allowed is None:
        return _state(value, name)
    if value is None or value == "":
        if name in ("onset_precision", "evidence_basis", "status"):
            raise InvalidInputError(f"{name} is required")
        return None
    if value not in allowed:
        raise InvalidInputError(f"{name}: {value!r} is not a term of its vocabulary")
    return value


def mention_phrase(ctx: Context, mention: IncidentMention) -> str | None:
    """The sealed verbatim onset phrase of a mention (testimony: under the interview's key)."""
    interview = ctx.session.get(Interview, mention.interview_id)
    if interview is None:
        return None
    value = interviews.cipher_for(ctx, interview).read(mention, "onset_phrase")
    return None if value is None else value.reveal()


_BASIS = {"explicit": "stated", "anchor": "anchored_public_event", "relative": "relative_to_interview"}


def _resolve_phrase(phrase: str, interview: Interview) -> tuple[date, date, str, str | None] | None:
    """The onset window a phrase supports (app/incidents/dates.py), or None when it cannot be resolved."""
    try:
        window = dates.resolve_onset(phrase, interview_month=interview.interview_month)
    except ValueError:
        return None
    if window.onset_min is None or window.onset_max is None:
        return None
    return window.onset_min, window.onset_max, window.precision, _BASIS.get(window.basis)


def update_mention(ctx: Context, *, mention_id: uuid.UUID, values: dict[str, Any]) -> IncidentMention:
    """Complete or correct a mention (validated vocabularies: 422 on bad values); audited."""
    mention = get_mention(ctx, mention_id)
    _refuse_locked(ctx, mention.incident_id)
    session = ctx.session
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if name in MENTION_FIELDS:
            changes[name] = _check(name, value)
        elif name in ("onset_min", "onset_max"):
            if value is not None and not isinstance(value, date):
                raise InvalidInputError(f"{name} must be a date")
            changes[name] = value
        elif name in ("onset_hedged", "self_correction", "is_repeat_mention"):
            changes[name] = bool(value)
        elif name in ("target_person_id", "relative_person_id"):
            if value is not None:
                person = session.get(Person, value)
                if person is None or person.project_id != mention.project_id:
                    raise InvalidInputError(f"{name} is not a person of this project")
            changes[name] = value
        elif name != "onset_phrase":
            raise InvalidInputError(f"unknown field {name}")
    if "onset_phrase" in values:
        phrase = (values["onset_phrase"] or "").strip()
        if len(phrase) > MAX_PHRASE:
            raise InvalidInputError(f"an onset phrase is at most {MAX_PHRASE} characters")
        interview = session.get(Interview, mention.interview_id)
        if interview is None:
            raise NotFoundError()
        interviews.cipher_for(ctx, interview).write(
            mention, "onset_phrase", EncryptedText(phrase) if phrase else None
        )
        if phrase and changes.get("onset_min") is None and mention.onset_min is None:
            resolved = _resolve_phrase(phrase, interview)
            if resolved is not None:
                changes.setdefault("onset_min", resolved[0])
                changes.setdefault("onset_max", resolved[1])
                changes.setdefault("onset_precision", resolved[2])
                changes.setdefault("onset_basis", resolved[3])
    for name, value in changes.items():
        setattr(mention, name, value)
    if mention.kind == vocab.MentionKind.INCIDENT and mention.tactic is None:
        raise InvalidInputError("an incident mention needs a tactic")
    if mention.kind == vocab.MentionKind.FAMILY_REPRISAL and mention.reprisal_type is None:
        raise InvalidInputError("a family reprisal mention needs a reprisal type")
    if mention.onset_min and mention.onset_max and mention.onset_min > mention.onset_max:
        raise InvalidInputError("onset_min must not be after onset_max")
    mention.stage = vocab.TACTIC_STAGE.get(mention.tactic or "")
    if "residence_state" not in values and ("onset_max" in changes or "target_person_id" in changes):
        mention.residence_state = (
            residence_at(session, mention.target_person_id, mention.onset_max) or mention.residence_state
        )
    session.flush()
    ctx.audit(
        "incident.mention_update",
        object_type="incident_mention",
        object_id=mention.id,
        project_id=mention.project_id,
    )
    _refresh(
        ctx,
        [mention.incident_id] if mention.incident_id else [],
        [mention.reprisal_id] if mention.reprisal_id else [],
    )
    return mention


# ---- resolution (CODEBOOK.md 5.4) ------------------------------------------------------------------------


def _majority(values: list[Any]) -> tuple[Any, bool]:
    """The most frequent non-null value (ties: the earliest) and whether the values disagree."""
    present = [v for v in values if v is not None]
    if not present:
        return None, False
    counts = Counter(present)
    best = max(counts.values())
    winner = next(v for v in present if counts[v] == best)
    return winner, len(counts) > 1


@dataclass(frozen=True)
class Window:
    """A resolved onset window."""

    onset_min: date | None
    onset_max: date | None
    precision: str
    basis: str | None
    conflict: bool
    supporting: tuple[uuid.UUID, ...] = ()


def resolve_window(mentions_: Sequence[IncidentMention]) -> Window:
    """Overlapping windows: the tightest unhedged one (hedged never narrows; else the union). Disjoint: an
    explicit self-correction is adopted, otherwise the union; both disjoint cases set `date_conflict`."""
    dated = [m for m in mentions_ if m.onset_min is not None and m.onset_max is not None]
    if not dated:
        return Window(None, None, "unknown", None, False)
    lo = min(m.onset_min for m in dated if m.onset_min)
    hi = max(m.onset_max for m in dated if m.onset_max)
    overlap = max(m.onset_min for m in dated if m.onset_min) <= min(m.onset_max for m in dated if m.onset_max)
    if overlap:
        firm = [m for m in dated if not m.onset_hedged]
        if firm:
            best = min(firm, key=lambda m: (m.onset_max - m.onset_min) if m.onset_max and m.onset_min else 0)
            return Window(
                best.onset_min, best.onset_max, best.onset_precision, best.onset_basis, False, (best.id,)
            )
        precision = dated[0].onset_precision if len(dated) == 1 else "range"
        return Window(lo, hi, precision, dated[0].onset_basis, False, tuple(m.id for m in dated))
    corrected = [m for m in dated if m.self_correction]
    if corrected:
        best = corrected[-1]
        return Window(
            best.onset_min, best.onset_max, best.onset_precision, best.onset_basis, True, (best.id,)
        )
    return Window(lo, hi, "range", None, True, tuple(m.id for m in dated))


def _fh_comparable(incident: Incident) -> bool:
    completed = incident.completion_status == "completed" or (
        incident.tactic == "S3_ASSASSINATION" and incident.completion_status == "attempted_failed"
    )
    return (
        incident.tactic in vocab.FH_TACTICS
        and completed
        and incident.attribution_confidence in ("confirmed", "probable")
        and incident.locus_state is not None
        and incident.locus_state != incident.origin_state
    )


def resolve(session: Session, incident: Incident) -> None:
    """Resolve an incident's fields from its mentions (adjudicated overrides win); derive stage, fh."""
    found = _mentions_of(session, incident.id)
    flags: set[str] = set()
    for name, flag in MAJORITY_FIELDS.items():
        value, disagree = _majority([getattr(m, name) for m in found])
        if name == "tactic" and value is None:
            value = incident.tactic
        setattr(incident, name, value)
        if disagree and flag is not None:
            flags.add(flag)
    window = resolve_window(found)
    incident.onset_min, incident.onset_max = window.onset_min, window.onset_max
    incident.onset_precision, incident.onset_basis = window.precision, window.basis
    if window.conflict:
        flags.add("date_conflict")
    strongest = [m.evidence_basis for m in found if m.evidence_basis in vocab.EVIDENCE_STRENGTH]
    incident.evidence_basis = (
        max(strongest, key=lambda v: vocab.EVIDENCE_STRENGTH[vocab.EvidenceBasis(v)]) if strongest else None
    )
    for name, value in (incident.overrides or {}).items():
        if name in OVERRIDABLE:
            setattr(incident, name, value)
    incident.stage = vocab.TACTIC_STAGE.get(incident.tactic, incident.stage)
    incident.conflict_flags = sorted(flags)
    incident.fh_comparable = _fh_comparable(incident)
    incident.n_mentions = len(found)
    _sync_primary(session, incident)


def _sync_primary(session: Session, incident: Incident) -> None:
    """Keep the incident's main target as its one `primary` target row (a co-target who becomes the main
    target is promoted; a former main target's primary row goes)."""
    rows = list(session.scalars(select(IncidentTarget).where(IncidentTarget.incident_id == incident.id)))
    main = incident.target_person_id
    for row in rows:
        if row.role == vocab.TargetRole.PRIMARY and row.person_id != main:
            session.delete(row)
    if main is None:
        return
    mine = next((row for row in rows if row.person_id == main), None)
    if mine is None:
        session.add(
            IncidentTarget(
                id=uuid.uuid4(), incident_id=incident.id, person_id=main, role=vocab.TargetRole.PRIMARY.value
            )
        )
    else:
        mine.role = vocab.TargetRole.PRIMARY.value


def resolve_reprisal(session: Session, reprisal: FamilyReprisalEvent) -> None:
    """Resolve a reprisal's fields from its mentions."""
    found = _reprisal_mentions(session, reprisal.id)
    flags = set()
    value, disagree = _majority([m.reprisal_type for m in found])
    reprisal.reprisal_type = value or reprisal.reprisal_type
    reprisal.linked_exile_person_id, _ = _majority([m.target_person_id for m in found])
    reprisal.relative_person_id, _ = _majority([m.relative_person_id for m in found])
    reprisal.origin_state, _ = _majority([m.origin_state for m in found])
    reprisal.outcome, _ = _majority([m.outcome for m in found])
    window = resolve_window(found)
    reprisal.onset_min, reprisal.onset_max, reprisal.onset_precision = (
        window.onset_min,
        window.onset_max,
        window.precision,
    )
    if window.conflict:
        flags.add("date_conflict")
    if disagree:
        flags.add("tactic_conflict")
    strongest = [m.evidence_basis for m in found if m.evidence_basis in vocab.EVIDENCE_STRENGTH]
    reprisal.evidence_basis = (
        max(strongest, key=lambda v: vocab.EVIDENCE_STRENGTH[vocab.EvidenceBasis(v)]) if strongest else None
    )
    reprisal.conflict_flags = sorted(flags)


# ---- incidents -------------------------------------------------------------------------------------------


def _refuse_locked(ctx: Context, incident_id: uuid.UUID | None) -> None:
    if incident_id is None:
        return
    found = ctx.session.get(Incident, incident_id)
    if found is not None and found.status == vocab.Workflow.FINAL:
        raise ConflictError("This incident is final (locked): reopen it to change it.")


def _overlaps(a: IncidentMention | Incident, b: IncidentMention | Incident) -> bool:
    if a.onset_min is None or a.onset_max is None or b.onset_min is None or b.onset_max is None:
        return True  # an unknown window overlaps anything
    return a.onset_min <= b.onset_max and b.onset_min <= a.onset_max


def likely_duplicates(ctx: Context, mention_id: uuid.UUID) -> list[Incident]:
    """Incidents of the same target, same tactic family and overlapping onset windows as the mention."""
    mention = get_mention(ctx, mention_id)
    if mention.kind != vocab.MentionKind.INCIDENT or mention.tactic is None:
        return []
    family = vocab.TACTIC_FAMILY.get(mention.tactic)
    candidates = ctx.session.scalars(
        select(Incident)
        .where(
            Incident.project_id == mention.project_id, Incident.target_person_id == mention.target_person_id
        )
        .order_by(Incident.created_at, Incident.id)
    )
    return [
        item
        for item in candidates
        if vocab.TACTIC_FAMILY.get(item.tactic) == family
        and _overlaps(mention, item)
        and item.id != mention.incident_id
    ]


def _attach(ctx: Context, mention: IncidentMention, incident: Incident) -> None:
    previous = mention.incident_id
    mention.incident_id = incident.id
    ctx.session.flush()
    resolve(ctx.session, incident)
    incident.updated_at = ctx.runtime.clock()
    if previous is not None and previous != incident.id:
        _refresh(ctx, [previous], [])
    ctx.session.flush()


def cluster(ctx: Context, *, mention_id: uuid.UUID, incident_id: uuid.UUID | None = None) -> Incident:
    """Put an incident mention into an incident: the one named, or (H3 repeat) its likely duplicate, or a new
    incident; audited."""
    mention = get_mention(ctx, mention_id)
    if mention.kind != vocab.MentionKind.INCIDENT or mention.tactic is None:
        raise InvalidInputError("only incident mentions with a tactic form incidents")
    _refuse_locked(ctx, mention.incident_id)
    session = ctx.session
    target: Incident | None = None
    if incident_id is not None:
        target = get_incident(ctx, incident_id)
        if target.project_id != mention.project_id:
            raise NotFoundError()
    elif mention.is_repeat_mention:
        if mention.incident_id is not None:
            found = session.get(Incident, mention.incident_id)
            if found is not None:
                return found
        duplicates = likely_duplicates(ctx, mention.id)
        if not duplicates:
            raise ConflictError(
                "This is a repeat mention (H3): link it to the existing incident (no likely duplicate found)."
            )
        target = duplicates[0]
    if target is not None:
        _refuse_locked(ctx, target.id)
        _attach(ctx, mention, target)
        ctx.audit(
            "incident.cluster", object_type="incident", object_id=target.id, project_id=target.project_id
        )
        return target
    if mention.incident_id is not None:
        found = session.get(Incident, mention.incident_id)
        if found is not None and len(_mentions_of(session, found.id)) == 1:
            return found
    incident = Incident(
        id=uuid.uuid4(),
        project_id=mention.project_id,
        tactic=mention.tactic,
        stage=vocab.TACTIC_STAGE[mention.tactic],
        status=vocab.Workflow.DRAFT.value,
        created_by=_me(ctx),
        created_at=ctx.runtime.clock(),
    )
    session.add(incident)
    session.flush()
    _attach(ctx, mention, incident)
    ctx.audit(
        "incident.create", object_type="incident", object_id=incident.id, project_id=incident.project_id
    )
    return incident


def detach(ctx: Context, *, mention_id: uuid.UUID) -> None:
    """Take a mention out of its incident (deleted when it was its last source); audited."""
    mention = get_mention(ctx, mention_id)
    _refuse_locked(ctx, mention.incident_id)
    previous = mention.incident_id
    mention.incident_id = None
    ctx.session.flush()
    if previous is not None:
        _refresh(ctx, [previous], [])
        ctx.audit(
            "incident.detach",
            object_type="incident_mention",
            object_id=mention.id,
            project_id=mention.project_id,
        )


def create_reprisal(
    ctx: Context, *, mention_id: uuid.UUID, reprisal_id: uuid.UUID | None = None
) -> FamilyReprisalEvent:
    """Put a family reprisal mention into a reprisal event (the one named, or a new one); audited."""
    mention = get_mention(ctx, mention_id)
    if mention.kind != vocab.MentionKind.FAMILY_REPRISAL or mention.reprisal_type is None:
        raise InvalidInputError("only family reprisal mentions form reprisal events")
    session = ctx.session
    if reprisal_id is not None:
        event = get_reprisal(ctx, reprisal_id)
        if event.project_id != mention.project_id:
            raise NotFoundError()
    else:
        event = FamilyReprisalEvent(
            id=uuid.uuid4(), project_id=mention.project_id, reprisal_type=mention.reprisal_type
        )
        session.add(event)
        session.flush()
    previous = mention.reprisal_id
    mention.reprisal_id = event.id
    session.flush()
    resolve_reprisal(session, event)
    if previous is not None and previous != event.id:
        _refresh(ctx, [], [previous])
    session.flush()
    ctx.audit(
        "incident.reprisal_cluster",
        object_type="family_reprisal_event",
        object_id=event.id,
        project_id=event.project_id,
    )
    return event


def update_incident(
    ctx: Context,
    *,
    incident_id: uuid.UUID,
    overrides: dict[str, Any] | None = None,
    summary: str | None = None,
) -> Incident:
    """Adjudicate field values (they win over the mentions) and the sealed summary; 409 when final."""
    incident = get_incident(ctx, incident_id)
    _refuse_locked(ctx, incident.id)
    if overrides:
        merged = dict(incident.overrides or {})
        for name, value in overrides.items():
            if name not in OVERRIDABLE:
                raise InvalidInputError(f"{name} cannot be adjudicated here")
            if name == "target_person_id":
                raise InvalidInputError("change the target on the mentions")
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = _check(name, value) if name in MENTION_FIELDS else value
        incident.overrides = merged
    if summary is not None:
        text = summary.strip()
        if len(text) > MAX_SUMMARY:
            raise InvalidInputError(f"a summary is at most {MAX_SUMMARY} characters")
        data_keys.project_cipher(ctx, incident.project_id, create=True).write(
            incident, "summary", EncryptedText(text) if text else None
        )
    resolve(ctx.session, incident)
    incident.updated_at = ctx.runtime.clock()
    ctx.session.flush()
    ctx.audit(
        "incident.update", object_type="incident", object_id=incident.id, project_id=incident.project_id
    )
    return incident


def summary_of(ctx: Context, incident: Incident) -> str | None:
    """The sealed summary of an incident."""
    if incident.summary is None:
        return None
    value = data_keys.project_cipher(ctx, incident.project_id).read(incident, "summary")
    return None if value is None else value.reveal()


def set_status(ctx: Context, *, incident_id: uuid.UUID, status: str) -> Incident:
    """Move an incident one step forward in the workflow; final locks it; audited."""
    incident = get_incident(ctx, incident_id)
    _refuse_locked(ctx, incident.id)
    try:
        wanted = vocab.Workflow(status)
    except ValueError:
        raise InvalidInputError("status must be draft, double_coded, adjudicated or final") from None
    current = vocab.WORKFLOW_ORDER.index(vocab.Workflow(incident.status))
    if vocab.WORKFLOW_ORDER.index(wanted) != current + 1:
        raise ConflictError(f"An incident moves one step at a time (now {incident.status}).")
    incident.status = wanted.value
    if wanted == vocab.Workflow.FINAL:
        incident.locked_at = ctx.runtime.clock()
        incident.locked_by = _me(ctx)
    ctx.session.flush()
    ctx.audit(
        "incident.status",
        object_type="incident",
        object_id=incident.id,
        project_id=incident.project_id,
        reason=wanted.value,
    )
    return incident


def reopen(ctx: Context, *, incident_id: uuid.UUID, reason: str | None = None) -> Incident:
    """Unlock a final incident (back to adjudicated); audited as `incident.reopen`."""
    incident = get_incident(ctx, incident_id)
    if incident.status != vocab.Workflow.FINAL:
        raise ConflictError("Only a final incident can be reopened.")
    incident.status = vocab.Workflow.ADJUDICATED.value
    incident.locked_at = None
    incident.locked_by = None
    ctx.session.flush()
    ctx.audit(
        "incident.reopen", object_type="incident", object_id=incident.id, project_id=incident.project_id
    )
    return incident


def add_link(ctx: Context, *, from_id: uuid.UUID, to_id: uuid.UUID, kind: str) -> IncidentLink:
    """Link two incidents of a project (precedes, causes, part_of); audited."""
    source, target = get_incident(ctx, from_id), get_incident(ctx, to_id)
    if source.project_id != target.project_id:
        raise NotFoundError()
    if source.id == target.id:
        raise InvalidInputError("an incident cannot be linked to itself")
    try:
        link_kind = vocab.LinkKind(kind)
    except ValueError:
        raise InvalidInputError("kind must be precedes, causes or part_of") from None
    _refuse_locked(ctx, source.id)
    existing = ctx.session.scalars(
        select(IncidentLink).where(
            IncidentLink.from_id == source.id, IncidentLink.to_id == target.id, IncidentLink.kind == link_kind
        )
    ).first()
    if existing is not None:
        return existing
    link = IncidentLink(
        id=uuid.uuid4(),
        project_id=source.project_id,
        from_id=source.id,
        to_id=target.id,
        kind=link_kind.value,
        created_by=_me(ctx),
    )
    ctx.session.add(link)
    ctx.session.flush()
    ctx.audit("incident.link", object_type="incident_link", object_id=link.id, project_id=source.project_id)
    return link


@dataclass(frozen=True)
class TargetRead:
    """A person an incident targets: opaque id, pseudonym (never an identity) and role."""

    person_id: uuid.UUID
    pseudonym: str
    role: str


def targets_of(session: Session, incident: Incident) -> list[TargetRead]:
    """An incident's targets, the primary first, then by pseudonym."""
    rows = session.execute(
        select(IncidentTarget.person_id, Person.pseudonym, IncidentTarget.role)
        .join(Person, Person.id == IncidentTarget.person_id)
        .where(IncidentTarget.incident_id == incident.id)
    ).all()
    found = [TargetRead(person_id, pseudonym, role) for person_id, pseudonym, role in rows]
    return sorted(found, key=lambda t: (t.role != vocab.TargetRole.PRIMARY, t.pseudonym))


def add_target(
    ctx: Context, *, incident_id: uuid.UUID, person_id: uuid.UUID, role: str = "co_target"
) -> TargetRead:
    """Add a further target (a person of the incident's project) as `co_target`; 422 for another project's
    person or another role (the primary target is resolved from the mentions), 409 when final; audited."""
    incident = get_incident(ctx, incident_id)
    _refuse_locked(ctx, incident.id)
    if role != vocab.TargetRole.CO_TARGET:
        raise InvalidInputError("role must be co_target (the primary target is resolved from the mentions)")
    session = ctx.session
    person = session.get(Person, person_id)
    if person is None or person.project_id != incident.project_id or person.erased_at is not None:
        raise InvalidInputError("person_id is not a person of this project")
    existing = session.scalars(
        select(IncidentTarget).where(
            IncidentTarget.incident_id == incident.id, IncidentTarget.person_id == person.id
        )
    ).first()
    if existing is not None:
        return TargetRead(person.id, person.pseudonym, existing.role)
    row = IncidentTarget(
        id=uuid.uuid4(),
        incident_id=incident.id,
        person_id=person.id,
        role=vocab.TargetRole.CO_TARGET.value,
        created_by=_me(ctx),
        created_at=ctx.runtime.clock(),
    )
    session.add(row)
    incident.updated_at = ctx.runtime.clock()
    session.flush()
    ctx.audit(
        "incident.target_add", object_type="incident_target", object_id=row.id, project_id=incident.project_id
    )
    return TargetRead(person.id, person.pseudonym, row.role)


def remove_target(ctx: Context, *, incident_id: uuid.UUID, person_id: uuid.UUID) -> None:
    """Remove a co-target (404 when not a target; 409 for the primary target or when final); audited."""
    incident = get_incident(ctx, incident_id)
    _refuse_locked(ctx, incident.id)
    row = ctx.session.scalars(
        select(IncidentTarget).where(
            IncidentTarget.incident_id == incident.id, IncidentTarget.person_id == person_id
        )
    ).first()
    if row is None:
        raise NotFoundError()
    if row.role == vocab.TargetRole.PRIMARY:
        raise ConflictError("The primary target is resolved from the mentions: change it on the mentions.")
    ctx.audit(
        "incident.target_remove",
        object_type="incident_target",
        object_id=row.id,
        project_id=incident.project_id,
    )
    ctx.session.delete(row)
    incident.updated_at = ctx.runtime.clock()
    ctx.session.flush()


def target_ids(ctx: Context, project_id: uuid.UUID) -> dict[uuid.UUID, list[tuple[uuid.UUID, str]]]:
    """Per incident of a project: its target persons and roles (for exports)."""
    _require(ctx, project_id)
    rows = ctx.session.execute(
        select(IncidentTarget.incident_id, IncidentTarget.person_id, IncidentTarget.role)
        .join(Incident, Incident.id == IncidentTarget.incident_id)
        .where(Incident.project_id == project_id)
    ).all()
    found: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
    for incident_id, person_id, role in rows:
        found.setdefault(incident_id, []).append((person_id, role))
    return found


def links_of(ctx: Context, incident: Incident) -> list[IncidentLink]:
    """Links from or to an incident."""
    return list(
        ctx.session.scalars(
            select(IncidentLink).where(
                (IncidentLink.from_id == incident.id) | (IncidentLink.to_id == incident.id)
            )
        )
    )


def list_incidents(
    ctx: Context,
    *,
    project_id: uuid.UUID,
    stage: int | None = None,
    tactic: str | None = None,
    status: str | None = None,
    residence_state: str | None = None,
) -> list[Incident]:
    """A project's incidents, filtered; audited."""
    _require(ctx, project_id)
    query = select(Incident).where(Incident.project_id == project_id)
    if stage is not None:
        query = query.where(Incident.stage == stage)
    if tactic:
        query = query.where(Incident.tactic == tactic)
    if status:
        query = query.where(Incident.status == status)
    if residence_state:
        query = query.where(Incident.residence_state == residence_state.upper())
    ctx.audit("incident.list", object_type="project", object_id=project_id, project_id=project_id)
    return list(ctx.session.scalars(query.order_by(Incident.onset_min, Incident.created_at, Incident.id)))


# The clear, de-identifiable columns an incident export reads (never `summary`, `overrides` or who locked it).
EXPORT_COLUMNS = (
    Incident.id,
    Incident.target_person_id,
    Incident.tactic,
    Incident.stage,
    Incident.origin_state,
    Incident.locus_state,
    Incident.residence_state,
    Incident.onset_min,
    Incident.onset_max,
    Incident.onset_precision,
    Incident.completion_status,
    Incident.perpetrator_type,
    Incident.host_cooperation,
    Incident.legal_instrument,
    Incident.outcome,
    Incident.occurrence_confidence,
    Incident.attribution_confidence,
    Incident.evidence_basis,
    Incident.conflict_flags,
    Incident.fh_comparable,
    Incident.n_mentions,
    Incident.status,
)


def incident_export_rows(ctx: Context, *, project_id: uuid.UUID) -> Sequence[Any]:
    """A project's incidents as plain rows of `EXPORT_COLUMNS`, in `list_incidents`' order; audited as it is.

    For exports of 100,000 incidents: one SELECT of the columns they publish, without building (and
    identity-mapping) an ORM object per incident, which cost more than everything else the export does.
    """
    _require(ctx, project_id)
    ctx.audit("incident.list", object_type="project", object_id=project_id, project_id=project_id)
    return ctx.session.execute(
        select(*EXPORT_COLUMNS)
        .where(Incident.project_id == project_id)
        .order_by(Incident.onset_min, Incident.created_at, Incident.id)
    ).all()


def list_reprisals(ctx: Context, *, project_id: uuid.UUID) -> list[FamilyReprisalEvent]:
    """A project's family reprisal events; audited."""
    _require(ctx, project_id)
    ctx.audit("incident.reprisal_list", object_type="project", object_id=project_id, project_id=project_id)
    return list(
        ctx.session.scalars(
            select(FamilyReprisalEvent)
            .where(FamilyReprisalEvent.project_id == project_id)
            .order_by(FamilyReprisalEvent.onset_min, FamilyReprisalEvent.created_at)
        )
    )


# ---- provenance ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpanRef:
    """A supporting mention and the coding span it came from."""

    mention_id: uuid.UUID
    coding_id: uuid.UUID
    interview_id: uuid.UUID
    start: int
    end: int


@dataclass(frozen=True)
class IncidentRead:
    """An incident with its mentions, links and per-field provenance."""

    incident: Incident
    mentions: list[IncidentMention]
    links: list[IncidentLink]
    provenance: dict[str, list[SpanRef]] = field(default_factory=dict)
    summary: str | None = None
    targets: list[TargetRead] = field(default_factory=list)


def read_incident(ctx: Context, *, incident_id: uuid.UUID) -> IncidentRead:
    """An incident with provenance: for each field, the mentions that support its value and their spans."""
    incident = get_incident(ctx, incident_id)
    session = ctx.session
    found = _mentions_of(session, incident.id)
    codings = {
        c.id: c for c in session.scalars(select(Coding).where(Coding.id.in_([m.coding_id for m in found])))
    }

    def ref(m: IncidentMention) -> SpanRef | None:
        coding = codings.get(m.coding_id)
        if coding is None:
            return None
        return SpanRef(m.id, coding.id, coding.interview_id, coding.start, coding.end)

    provenance: dict[str, list[SpanRef]] = {}
    window = resolve_window(found)
    for name in (*OVERRIDABLE, *ONSET_FIELDS):
        if name in ONSET_FIELDS:
            support = [m for m in found if m.id in window.supporting]
        else:
            value = getattr(incident, name)
            support = [m for m in found if value is not None and getattr(m, name) == value]
        provenance[name] = [r for r in (ref(m) for m in support) if r is not None]
    provenance["stage"] = provenance["tactic"]
    ctx.audit("incident.read", object_type="incident", object_id=incident.id, project_id=incident.project_id)
    return IncidentRead(
        incident,
        found,
        links_of(ctx, incident),
        provenance,
        summary_of(ctx, incident),
        targets_of(session, incident),
    )


# ---- derived views (CODEBOOK.md A.7) ---------------------------------------------------------------------


@dataclass(frozen=True)
class StageSummary:
    """A person's highest stage reached (completed incidents) and attempted (any)."""

    person_id: uuid.UUID
    pseudonym: str
    max_stage_reached: int | None
    max_stage_attempted: int | None
    incidents: int


def stage_summary(ctx: Context, *, project_id: uuid.UUID) -> list[StageSummary]:
    """Per-person stage summary over the project's incidents; audited."""
    rows = list_incidents(ctx, project_id=project_id)
    by_person: dict[uuid.UUID, list[Incident]] = {}
    for row in rows:
        if row.target_person_id is not None:
            by_person.setdefault(row.target_person_id, []).append(row)
    names = {p.id: p.pseudonym for p in ctx.session.scalars(select(Person).where(Person.id.in_(by_person)))}
    result = []
    for person_id, items in by_person.items():
        reached = [i.stage for i in items if i.completion_status == "completed"]
        result.append(
            StageSummary(
                person_id,
                names.get(person_id, "?"),
                max(reached) if reached else None,
                max(i.stage for i in items),
                len(items),
            )
        )
    return sorted(result, key=lambda s: s.pseudonym)


@dataclass(frozen=True)
class DyadYear:
    """One cell of the dyad-year table over fh_comparable incidents."""

    origin_state: str
    residence_state: str
    year: int | None
    tactic: str
    incidents: int
    person_incidents: int


def dyad_years(ctx: Context, *, project_id: uuid.UUID, fh_only: bool = True) -> list[DyadYear]:
    """Origin x residence state x year x tactic counts (fh_comparable incidents by default); audited."""
    counts: dict[tuple[str, str, int | None, str], tuple[int, set[uuid.UUID]]] = {}
    for row in list_incidents(ctx, project_id=project_id):
        if fh_only and not row.fh_comparable:
            continue
        year = row.onset_max.year if row.onset_max is not None else None
        key = (row.origin_state or "XX", row.residence_state or "XX", year, row.tactic)
        n, persons = counts.get(key, (0, set()))
        if row.target_person_id is not None:
            persons.add(row.target_person_id)
        counts[key] = (n + 1, persons)
    return [
        DyadYear(k[0], k[1], k[2], k[3], n, len(persons))
        for k, (n, persons) in sorted(
            counts.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 0, kv[0][3])
        )
    ]


# ---- incident-level agreement ------------------------------------------------------------------------------


def coder_agreement(
    ctx: Context,
    *,
    project_id: uuid.UUID,
    coder_a: uuid.UUID,
    coder_b: uuid.UUID,
    interview_id: uuid.UUID | None = None,
) -> matching.IncidentAgreement:
    """How far two coders extract the same incidents: each coder's incident mentions are matched on target,
    tactic family and overlapping onset window; precision, recall, F1 and alpha per field (audited)."""
    _require(ctx, project_id)
    if coder_a == coder_b:
        raise InvalidInputError("compare two different coders")

    def facts(coder_id: uuid.UUID) -> list[matching.IncidentFacts]:
        query = select(IncidentMention).where(
            IncidentMention.project_id == project_id,
            IncidentMention.coder_id == coder_id,
            IncidentMention.kind == "incident",
            IncidentMention.tactic.is_not(None),
        )
        if interview_id is not None:
            query = query.where(IncidentMention.interview_id == interview_id)
        found = []
        for mention in ctx.session.scalars(query.order_by(IncidentMention.id)):
            tactic = mention.tactic or ""
            found.append(
                matching.IncidentFacts(
                    id=str(mention.id),
                    target=str(mention.target_person_id),
                    tactic=tactic,
                    family=vocab.TACTIC_FAMILY.get(tactic, tactic),
                    onset_min=mention.onset_min,
                    onset_max=mention.onset_max,
                    fields={
                        "stage": None if mention.stage is None else str(mention.stage),
                        "completion_status": mention.completion_status,
                        "onset_precision": mention.onset_precision,
                        "attribution_confidence": mention.attribution_confidence,
                        "host_cooperation": mention.host_cooperation,
                    },
                )
            )
        return found

    result = matching.compare(facts(coder_a), facts(coder_b))
    ctx.audit("incident.agreement", object_type="project", object_id=project_id, project_id=project_id)
    return result
