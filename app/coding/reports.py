"""Coding reports: inter-coder agreement, code frequencies, co-occurrence and the coded segments of a code.

What is read: the *approved* material only. For each interview coders may see (approved or partially
withdrawn), its latest approved transcript version, the codings made on that version (`active`), and the
version's segments that are not suppressed. Nothing here reads identified text: quotes and context come from
the pseudonymised full text, and never from a withdrawn (suppressed) turn: a coding that touches one is left
out, and context stops at its edge.

Scope: every function takes the caller's context and answers only inside projects where the caller may code
(`coding.write`); elsewhere the project or interview is simply not found. The system context (CLI) sees all.
Each report is audited once (`agreement.read`, `report.read` with the report as reason).

Agreement (`agreement_report`) uses the codings of coders (origin `coder`, not adjudicated results) of the
coders *assigned* to each interview (optionally only some of them). A coder assigned to an interview who made
no coding there agreed that nothing applies (all absences); a coder not assigned to it is missing there.
Codes: those any included coder applied in scope, in codebook order. See `app.coding.agreement` for units.

Co-occurrence: two codes co-occur when a coding of one and a coding of the other overlap by at least one code
point in the same interview version *and come from the same author* (the same coder, or both adjudicated):
comparing different coders' codings of a double-coded interview would count disagreement as co-occurrence.
Cell (A, B) counts such overlapping pairs of codings; the diagonal is the number of codings of the code.

Coders in downloads: pages show usernames to the project team; files leave the server, so they name coders by
a keyed per-export label (`coder-1a2b3c4d`, HMAC of the user id under a random key drawn for that one export
and then forgotten): consistent inside the file, unlinkable across files and to accounts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from app.auth.models import User
from app.auth.policy import Action
from app.coding import agreement
from app.coding.models import Assignment, Code, Coding, CodingOrigin, CodingStatus
from app.context import Context
from app.encryption import DataIntegrityError, FieldCipher
from app.errors import InvalidInputError, NotFoundError
from app.identities.models import Person
from app.interviews import service as interviews
from app.interviews.models import Interview, Segment, TranscriptVersion, VersionStatus
from app.keys import service as data_keys
from app.keys.service import DataKeyGoneError, OwnerType
from app.projects.models import Project
from crypto.keyring import Zone

CONTEXT_CHARS = 160
"""Code points of pseudonymised context shown on each side of a coded span (clipped at withdrawn turns)."""
MAX_CODERS = 50
ADJUDICATED = "adjudicated"


# ---- results -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """A code as reports show it: mnemonic and (decrypted) name."""

    id: uuid.UUID
    mnemonic: str
    name: str
    seq: int


@dataclass(frozen=True, slots=True)
class AgreementReport:
    """Agreement of the assigned coders over some approved interviews: per code and overall, per unit kind."""

    project_id: uuid.UUID
    interview_ids: list[uuid.UUID]
    coder_ids: list[uuid.UUID]
    codes: list[CodeInfo]
    segment: list[agreement.Agreement]
    character: list[agreement.Agreement]

    @property
    def rows(self) -> list[agreement.Agreement]:
        """Every result: per code and overall, segment level then character level."""
        return [*self.segment, *self.character]


@dataclass(frozen=True, slots=True)
class FrequencyReport:
    """How often each code was applied: in total, per interview and per author (coder or adjudicated)."""

    project_id: uuid.UUID
    codes: list[CodeInfo]
    interviews: list[tuple[uuid.UUID, str]]
    authors: list[tuple[str, str]]  # (key, label): a coder's id or "adjudicated", and its display label
    totals: dict[uuid.UUID, int]
    by_interview: dict[tuple[uuid.UUID, uuid.UUID], int]
    by_author: dict[tuple[uuid.UUID, str], int]


@dataclass(frozen=True, slots=True)
class CooccurrenceReport:
    """Overlapping pairs of codings by the same author, per pair of codes (diagonal: codings of the code)."""

    project_id: uuid.UUID
    codes: list[CodeInfo]
    counts: dict[tuple[uuid.UUID, uuid.UUID], int]


@dataclass(frozen=True, slots=True)
class CodedSegment:
    """One coding of a code with its pseudonymised quote and context."""

    coding_id: uuid.UUID
    interview_id: uuid.UUID
    interviewee_pseudonym: str
    version: int
    author: str
    origin: str
    start: int
    end: int
    before: str
    quote: str
    after: str


@dataclass(frozen=True, slots=True)
class CodedSegmentsReport:
    """Every readable coding of one code in a project."""

    project_id: uuid.UUID
    code: CodeInfo
    segments: list[CodedSegment]


# ---- material ----------------------------------------------------------------------------------------------


@dataclass
class Material:
    """One interview's latest approved version, its readable segments and its active codings."""

    interview: Interview
    version: TranscriptVersion
    pseudonym: str
    readable: list[tuple[int, int]]
    regions: list[tuple[int, int]]
    codings: list[Coding] = field(default_factory=list)
    _text: str | None = None

    def text(self, ctx: Context) -> str:
        """The version's pseudonymised full text (decrypted once)."""
        if self._text is None:
            value = interviews.cipher_for(ctx, self.interview).read(self.version, "pseudonymised_text")
            if value is None:
                raise DataIntegrityError()
            self._text = value.reveal()
        return self._text

    def region_of(self, start: int, end: int) -> tuple[int, int] | None:
        """The readable region holding [start, end) whole, or None if the span touches a withdrawn turn."""
        for region in self.regions:
            if region[0] <= start and end <= region[1]:
                return region
        return None


def _require_project(ctx: Context, project_id: uuid.UUID, action: Action = Action.CODING_WRITE) -> Project:
    project = ctx.session.get(Project, project_id)
    if project is None or (ctx.actor is not None and not ctx.actor.may_in(action, project_id)):
        raise NotFoundError()
    return project


def _regions(segments: Sequence[Segment]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Readable segments, and runs of consecutive readable segments (a withdrawn turn breaks a run)."""
    readable: list[tuple[int, int]] = []
    regions: list[tuple[int, int]] = []
    previous_readable = False
    for segment in sorted(segments, key=lambda s: s.char_start):
        if segment.suppressed:
            previous_readable = False
            continue
        readable.append((segment.char_start, segment.char_end))
        if previous_readable and regions:
            regions[-1] = (regions[-1][0], segment.char_end)
        else:
            regions.append((segment.char_start, segment.char_end))
        previous_readable = True
    return readable, regions


def _materials(ctx: Context, interview_list: Sequence[Interview]) -> list[Material]:
    """The approved material of these interviews (interviews without an approved version are skipped)."""
    if not interview_list:
        return []
    ids = [interview.id for interview in interview_list]
    versions: dict[uuid.UUID, TranscriptVersion] = {}
    for version in ctx.session.scalars(
        select(TranscriptVersion)
        .where(TranscriptVersion.interview_id.in_(ids), TranscriptVersion.status == VersionStatus.APPROVED)
        .order_by(TranscriptVersion.version)
    ):
        versions[version.interview_id] = version  # the latest approved wins
    pseudonyms = dict(
        ctx.session.execute(
            select(Person.id, Person.pseudonym).where(
                Person.id.in_({interview.interviewee_person_id for interview in interview_list})
            )
        ).all()
    )
    version_ids = [version.id for version in versions.values()]
    segments: dict[uuid.UUID, list[Segment]] = {}
    for segment in ctx.session.scalars(select(Segment).where(Segment.transcript_version_id.in_(version_ids))):
        segments.setdefault(segment.transcript_version_id, []).append(segment)
    codings: dict[uuid.UUID, list[Coding]] = {}
    for coding in ctx.session.scalars(
        select(Coding)
        .where(Coding.transcript_version_id.in_(version_ids), Coding.status == CodingStatus.ACTIVE)
        .order_by(Coding.start, Coding.end, Coding.id)
    ):
        codings.setdefault(coding.transcript_version_id, []).append(coding)
    found = []
    for interview in interview_list:
        approved = versions.get(interview.id)
        if approved is None:
            continue
        readable, regions = _regions(segments.get(approved.id, []))
        found.append(
            Material(
                interview=interview,
                version=approved,
                pseudonym=pseudonyms.get(interview.interviewee_person_id, "?"),
                readable=readable,
                regions=regions,
                codings=codings.get(approved.id, []),
            )
        )
    return found


def project_materials(
    ctx: Context, *, project_id: uuid.UUID, action: Action = Action.CODING_WRITE
) -> list[Material]:
    """The approved material of every interview of a project where the caller may act, by month then id."""
    _require_project(ctx, project_id, action)
    rows = ctx.session.scalars(
        select(Interview)
        .where(Interview.project_id == project_id, Interview.status.in_(interviews.CODER_VISIBLE))
        .order_by(Interview.interview_month, Interview.id)
    ).all()
    return _materials(ctx, rows)


def _interview_material(ctx: Context, interview_id: uuid.UUID) -> Material:
    interview = interviews.get_or_raise(ctx, interview_id=interview_id)
    _require_project(ctx, interview.project_id)
    if interview.status not in interviews.CODER_VISIBLE:
        raise NotFoundError("This interview has no approved transcript yet.")
    found = _materials(ctx, [interview])
    if not found:
        raise NotFoundError("This interview has no approved transcript yet.")
    return found[0]


def _analysis_cipher(ctx: Context, project_id: uuid.UUID) -> FieldCipher | None:
    try:
        dek = data_keys.dek_for(
            ctx.session,
            ctx.runtime.keys,
            zone=Zone.ANALYSIS,
            owner_type=OwnerType.PROJECT,
            owner_id=project_id,
            create=False,
        )
    except DataKeyGoneError:
        return None
    return FieldCipher(dek)


def code_infos(
    ctx: Context, *, project_id: uuid.UUID, code_ids: Iterable[uuid.UUID] | None = None
) -> list[CodeInfo]:
    """The project's codes (or only these) in codebook order, with their names decrypted."""
    query = select(Code).where(Code.project_id == project_id)
    if code_ids is not None:
        query = query.where(Code.id.in_(list(code_ids)))
    codes = ctx.session.scalars(query.order_by(Code.seq, Code.mnemonic)).all()
    cipher = _analysis_cipher(ctx, project_id) if any(code.name is not None for code in codes) else None
    infos = []
    for code in codes:
        name = cipher.read(code, "name") if cipher is not None and code.name is not None else None
        infos.append(CodeInfo(code.id, code.mnemonic, name.reveal() if name is not None else "", code.seq))
    return infos


def usernames(ctx: Context, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Usernames of these accounts (staff handles, shown on pages only)."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    return dict(ctx.session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


class CoderLabels:
    """Per-export pseudonymous coder labels: an HMAC of the user id under a key drawn for this export only."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def __call__(self, coder_id: uuid.UUID) -> str:
        """The label of this coder in this export."""
        return "coder-" + hmac.new(self._key, coder_id.bytes, hashlib.sha256).hexdigest()[:12]


# ---- agreement ---------------------------------------------------------------------------------------------


def _assignments(ctx: Context, interview_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, set[uuid.UUID]]:
    assigned: dict[uuid.UUID, set[uuid.UUID]] = {}
    if interview_ids:
        for interview_id, coder_id in ctx.session.execute(
            select(Assignment.interview_id, Assignment.coder_id).where(
                Assignment.interview_id.in_(interview_ids)
            )
        ):
            assigned.setdefault(interview_id, set()).add(coder_id)
    return assigned


def agreement_report(
    ctx: Context,
    *,
    interview_id: uuid.UUID | None = None,
    project_id: uuid.UUID | None = None,
    coder_ids: Sequence[uuid.UUID] | None = None,
) -> AgreementReport:
    """Agreement of the assigned coders on one interview or a project, per code and overall (audited)."""
    if (interview_id is None) == (project_id is None):
        raise InvalidInputError("name either an interview or a project")
    if coder_ids is not None and len(set(coder_ids)) > MAX_CODERS:
        raise InvalidInputError(f"at most {MAX_CODERS} coders")
    if interview_id is not None:
        material = _interview_material(ctx, interview_id)
        materials = [material]
        scope_project = material.interview.project_id
    else:
        assert project_id is not None  # noqa: S101 - narrowed by the check above
        materials = project_materials(ctx, project_id=project_id)
        scope_project = project_id
    wanted = set(coder_ids) if coder_ids is not None else None
    assigned = _assignments(ctx, [m.interview.id for m in materials])
    per_interview: list[tuple[Material, set[uuid.UUID], list[Coding]]] = []
    coders: set[uuid.UUID] = set()
    for material in materials:
        who = assigned.get(material.interview.id, set())
        if wanted is not None:
            who &= wanted
        used = [c for c in material.codings if c.origin == CodingOrigin.CODER and c.coder_id in who]
        per_interview.append((material, who, used))
        coders |= who
    ordered_coders = sorted(coders)
    used_codes = {c.code_id for _m, _w, used in per_interview for c in used}
    codes = code_infos(ctx, project_id=scope_project, code_ids=used_codes) if used_codes else []
    keys = [str(code.id) for code in codes]
    segment_tables: dict[str, agreement.Tally] = {key: Counter() for key in keys}
    character_tables: dict[str, agreement.Tally] = {key: Counter() for key in keys}
    for material, who, used in per_interview:
        spans: list[list[agreement.Span] | None] = []
        for coder in ordered_coders:
            if coder not in who:
                spans.append(None)
                continue
            spans.append(
                [agreement.Span(str(c.code_id), c.start, c.end) for c in used if c.coder_id == coder]
            )
        for key, rows in agreement.segment_units(material.readable, spans, keys).items():
            segment_tables[key].update(rows)
        for key, rows in agreement.character_units(material.readable, spans, keys).items():
            character_tables[key].update(rows)
    ctx.audit(
        "agreement.read",
        object_type="interview" if interview_id is not None else "project",
        object_id=interview_id if interview_id is not None else scope_project,
        project_id=scope_project,
    )
    by_key = {str(code.id): code.mnemonic for code in codes}

    def labelled(results: list[agreement.Agreement]) -> list[agreement.Agreement]:
        return [
            agreement.Agreement(
                r.unit, by_key.get(r.code) if r.code else None, r.n, r.coders, r.percent, r.kappa, r.alpha
            )
            for r in results
        ]

    return AgreementReport(
        project_id=scope_project,
        interview_ids=[m.interview.id for m in materials],
        coder_ids=ordered_coders,
        codes=codes,
        segment=labelled(agreement.summarise(segment_tables, unit=agreement.SEGMENT)),
        character=labelled(agreement.summarise(character_tables, unit=agreement.CHARACTER)),
    )


# ---- frequencies and co-occurrence -------------------------------------------------------------------------


def _readable_codings(material: Material) -> list[Coding]:
    """The codings of the material that lie wholly in readable text (none touching a withdrawn turn)."""
    return [c for c in material.codings if material.region_of(c.start, c.end) is not None]


def _author(coding: Coding) -> str:
    return ADJUDICATED if coding.origin == CodingOrigin.ADJUDICATED else str(coding.coder_id)


def frequencies(
    ctx: Context,
    *,
    project_id: uuid.UUID,
    anonymous_coders: bool = False,
    action: Action = Action.CODING_WRITE,
    audit: bool = True,
) -> FrequencyReport:
    """Code frequencies in approved interviews: total, per interview and per author (audited)."""
    materials = project_materials(ctx, project_id=project_id, action=action)
    totals: Counter[uuid.UUID] = Counter()
    by_interview: Counter[tuple[uuid.UUID, uuid.UUID]] = Counter()
    by_author: Counter[tuple[uuid.UUID, str]] = Counter()
    for material in materials:
        for coding in _readable_codings(material):
            totals[coding.code_id] += 1
            by_interview[(coding.code_id, material.interview.id)] += 1
            by_author[(coding.code_id, _author(coding))] += 1
    author_keys = sorted({author for _code, author in by_author})
    if anonymous_coders:
        labels = CoderLabels()
        names = {uuid.UUID(a): labels(uuid.UUID(a)) for a in author_keys if a != ADJUDICATED}
    else:
        names = usernames(ctx, [uuid.UUID(a) for a in author_keys if a != ADJUDICATED])
    authors = [(a, ADJUDICATED if a == ADJUDICATED else names.get(uuid.UUID(a), "?")) for a in author_keys]
    if audit:
        ctx.audit(
            "report.read",
            object_type="project",
            object_id=project_id,
            project_id=project_id,
            reason="frequencies",
        )
    return FrequencyReport(
        project_id=project_id,
        codes=code_infos(ctx, project_id=project_id),
        interviews=[(m.interview.id, m.pseudonym) for m in materials],
        authors=authors,
        totals=dict(totals),
        by_interview=dict(by_interview),
        by_author=dict(by_author),
    )


def cooccurrence(
    ctx: Context, *, project_id: uuid.UUID, action: Action = Action.CODING_WRITE, audit: bool = True
) -> CooccurrenceReport:
    """Pairs of overlapping codings by the same author, per pair of codes (audited)."""
    counts: Counter[tuple[uuid.UUID, uuid.UUID]] = Counter()
    for material in project_materials(ctx, project_id=project_id, action=action):
        by_author: dict[str, list[Coding]] = {}
        for coding in _readable_codings(material):
            by_author.setdefault(_author(coding), []).append(coding)
            counts[(coding.code_id, coding.code_id)] += 1
        for codings in by_author.values():
            ordered = sorted(codings, key=lambda c: (c.start, c.end))
            for index, first in enumerate(ordered):
                for second in ordered[index + 1 :]:
                    if second.start >= first.end:
                        break
                    if (
                        second.code_id != first.code_id
                        and second.end > second.start
                        and first.end > first.start
                    ):
                        counts[(first.code_id, second.code_id)] += 1
                        counts[(second.code_id, first.code_id)] += 1
    if audit:
        ctx.audit(
            "report.read",
            object_type="project",
            object_id=project_id,
            project_id=project_id,
            reason="cooccurrence",
        )
    return CooccurrenceReport(
        project_id=project_id, codes=code_infos(ctx, project_id=project_id), counts=dict(counts)
    )


# ---- coded segments ----------------------------------------------------------------------------------------


def coded_segments(
    ctx: Context,
    *,
    project_id: uuid.UUID,
    code_id: uuid.UUID,
    anonymous_coders: bool = False,
    action: Action = Action.CODING_WRITE,
    audit: bool = True,
) -> CodedSegmentsReport:
    """Every readable coding of a code with its pseudonymised quote and context (audited)."""
    _require_project(ctx, project_id, action)
    found = code_infos(ctx, project_id=project_id, code_ids=[code_id])
    if not found:
        raise NotFoundError()
    materials = project_materials(ctx, project_id=project_id, action=action)
    labels = CoderLabels()
    names = (
        {}
        if anonymous_coders
        else usernames(ctx, [c.coder_id for m in materials for c in m.codings if c.code_id == code_id])
    )
    segments = []
    for material in materials:
        for coding in material.codings:
            if coding.code_id != code_id:
                continue
            region = material.region_of(coding.start, coding.end)
            if region is None:
                continue
            text = material.text(ctx)
            if coding.origin == CodingOrigin.ADJUDICATED:
                author = ADJUDICATED
            else:
                author = labels(coding.coder_id) if anonymous_coders else names.get(coding.coder_id, "?")
            segments.append(
                CodedSegment(
                    coding_id=coding.id,
                    interview_id=material.interview.id,
                    interviewee_pseudonym=material.pseudonym,
                    version=material.version.version,
                    author=author,
                    origin=coding.origin,
                    start=coding.start,
                    end=coding.end,
                    before=text[max(region[0], coding.start - CONTEXT_CHARS) : coding.start],
                    quote=text[coding.start : coding.end],
                    after=text[coding.end : min(region[1], coding.end + CONTEXT_CHARS)],
                )
            )
    if audit:
        ctx.audit(
            "report.read",
            object_type="code",
            object_id=code_id,
            project_id=project_id,
            reason="coded_segments",
        )
    return CodedSegmentsReport(project_id=project_id, code=found[0], segments=segments)
