"""Guide verbs: save a new version, read the current one, link transcript turns to questions, read answers.

Suggested links: an interviewer turn is matched to the guide question whose words it contains best (at
least half of the question's words and at least two of them, compared as normalised tokens so Cyrillic and
Latin spellings meet); that turn and the answers that follow it, up to the next interviewer turn, are linked
to the question as `suggested`. The interviewer confirms, changes or removes links; confirmed links are never
overwritten by a new suggestion.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.auth.policy import Action
from app.context import Context
from app.encryption import DataIntegrityError, EncryptedText, FieldCipher
from app.errors import InvalidInputError, NotFoundError
from app.guides.models import GuideQuestion, GuideTopic, InterviewGuide, LinkOrigin, SegmentQuestion
from app.identities.models import Person
from app.ingest.formats import SpeakerRole
from app.ingest.tokens import tokenise
from app.interviews import service as interviews
from app.interviews.models import Interview, Segment, TranscriptVersion, VersionStatus
from app.keys import service as data_keys

MAX_TOPICS = 100
MAX_QUESTIONS = 500
MAX_TEXT = 2000
MIN_SHARED_WORDS = 2


@dataclass(frozen=True)
class QuestionIn:
    """A question to save; `key` keeps its identity from an earlier version."""

    text: str
    key: uuid.UUID | None = None


@dataclass(frozen=True)
class TopicIn:
    """A topic to save with its questions."""

    title: str
    questions: Sequence[QuestionIn] = ()
    key: uuid.UUID | None = None


@dataclass(frozen=True)
class QuestionRead:
    """A question of the current guide."""

    key: uuid.UUID
    text: str


@dataclass(frozen=True)
class TopicRead:
    """A topic of the current guide."""

    key: uuid.UUID
    title: str
    questions: list[QuestionRead] = field(default_factory=list)


@dataclass(frozen=True)
class GuideRead:
    """The current version of a project's guide."""

    project_id: uuid.UUID
    version: int
    topics: list[TopicRead]


@dataclass(frozen=True)
class LinkRead:
    """A segment's link to a question."""

    segment_id: uuid.UUID
    seq: int
    role: str
    question_key: uuid.UUID
    origin: str


@dataclass(frozen=True)
class AnswerRead:
    """One answer to a question in one interview, pseudonymised."""

    interview_id: uuid.UUID
    interviewee: str
    segment_id: uuid.UUID
    seq: int
    role: str
    text: str


def _require(ctx: Context, action: Action, project_id: uuid.UUID) -> None:
    if ctx.actor is not None and not ctx.actor.may_in(action, project_id):
        raise NotFoundError()


def _may_read_guide(ctx: Context, project_id: uuid.UUID) -> bool:
    return ctx.actor is None or any(
        ctx.actor.may_in(action, project_id)
        for action in (Action.INTERVIEW_LIST, Action.TRANSCRIPT_READ_PSEUDONYMISED)
    )


def _clean(value: str, *, what: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise InvalidInputError(f"{what} must not be empty")
    if len(text) > MAX_TEXT:
        raise InvalidInputError(f"{what} is longer than {MAX_TEXT} characters")
    return text


def _known_keys(session: Session, project_id: uuid.UUID) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    topic_keys = set(
        session.scalars(
            select(GuideTopic.key).join(InterviewGuide).where(InterviewGuide.project_id == project_id)
        )
    )
    question_keys = set(
        session.scalars(
            select(GuideQuestion.key)
            .join(GuideTopic)
            .join(InterviewGuide)
            .where(InterviewGuide.project_id == project_id)
        )
    )
    return topic_keys, question_keys


def save(ctx: Context, *, project_id: uuid.UUID, topics: Sequence[TopicIn]) -> InterviewGuide:
    """Store the guide as a new version of the project's guide (keys carried over keep their questions)."""
    _require(ctx, Action.INTERVIEW_MANAGE, project_id)
    if not topics:
        raise InvalidInputError("a guide needs at least one topic")
    if len(topics) > MAX_TOPICS or sum(len(topic.questions) for topic in topics) > MAX_QUESTIONS:
        raise InvalidInputError(f"a guide holds at most {MAX_TOPICS} topics and {MAX_QUESTIONS} questions")
    topic_keys, question_keys = _known_keys(ctx.session, project_id)
    seen: set[uuid.UUID] = set()
    for topic in topics:
        for key, known in [
            (topic.key, topic_keys),
            *((question.key, question_keys) for question in topic.questions),
        ]:
            if key is None:
                continue
            if key not in known or key in seen:
                raise InvalidInputError("a topic or question key does not belong to this project's guide")
            seen.add(key)
    version = (
        ctx.session.scalar(
            select(func.max(InterviewGuide.version)).where(InterviewGuide.project_id == project_id)
        )
        or 0
    ) + 1
    guide = InterviewGuide(
        project_id=project_id, version=version, created_by=ctx.actor.user_id if ctx.actor else None
    )
    ctx.session.add(guide)
    ctx.session.flush()
    cipher = data_keys.project_cipher(ctx, project_id, create=True)
    for topic_seq, topic in enumerate(topics, start=1):
        topic_row = GuideTopic(guide_id=guide.id, seq=topic_seq, key=topic.key or uuid.uuid4())
        ctx.session.add(topic_row)
        ctx.session.flush()
        cipher.write(topic_row, "title", EncryptedText(_clean(topic.title, what="a topic title")))
        for question_seq, question in enumerate(topic.questions, start=1):
            question_row = GuideQuestion(
                topic_id=topic_row.id, seq=question_seq, key=question.key or uuid.uuid4()
            )
            ctx.session.add(question_row)
            ctx.session.flush()
            cipher.write(question_row, "text", EncryptedText(_clean(question.text, what="a question")))
    ctx.session.flush()
    ctx.audit("guide.save", object_type="interview_guide", object_id=guide.id, project_id=project_id)
    return guide


def parse_outline(outline: str) -> list[TopicIn]:
    """Read the page's outline format: '# Topic' lines, each followed by '- question' lines."""
    topics: list[TopicIn] = []
    title: str | None = None
    questions: list[QuestionIn] = []
    for number, raw in enumerate(outline.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if title is not None:
                topics.append(TopicIn(title=title, questions=tuple(questions)))
            title, questions = line.lstrip("#").strip(), []
        elif line.startswith(("-", "*")):
            if title is None:
                raise InvalidInputError(f"line {number}: a question needs a '# Topic' line above it")
            questions.append(QuestionIn(text=line[1:].strip()))
        else:
            raise InvalidInputError(f"line {number}: start topics with '#' and questions with '-'")
    if title is not None:
        topics.append(TopicIn(title=title, questions=tuple(questions)))
    return topics


def carry_keys(previous: GuideRead | None, topics: Sequence[TopicIn]) -> list[TopicIn]:
    """Give topics and questions of an edited outline the keys of the previous version where they match.

    A topic keeps its key when its title is unchanged or it stands at the same place; a question keeps its key
    when its text is unchanged (anywhere in the guide) or it stands at the same place in a kept topic, so
    rewording a question does not orphan the answers already linked to it.
    """
    if previous is None:
        return list(topics)
    old_topics = {topic.title: topic for topic in previous.topics}
    old_questions = {question.text: question.key for topic in previous.topics for question in topic.questions}
    used: set[uuid.UUID] = set()
    carried = []
    for index, topic in enumerate(topics):
        old = old_topics.get(topic.title) or (
            previous.topics[index] if index < len(previous.topics) else None
        )
        topic_key = old.key if old is not None and old.key not in used else None
        if topic_key is not None:
            used.add(topic_key)
        questions = []
        for place, question in enumerate(topic.questions):
            key = old_questions.get(question.text)
            if key is None and old is not None and place < len(old.questions):
                key = old.questions[place].key
            if key in used:
                key = None
            if key is not None:
                used.add(key)
            questions.append(QuestionIn(text=question.text, key=key))
        carried.append(TopicIn(title=topic.title, questions=tuple(questions), key=topic_key))
    return carried


def question_text(ctx: Context, *, question_key: uuid.UUID) -> str | None:
    """The current text of a question (for page titles); None if the current guide no longer has it."""
    project_id = _project_of_question(ctx.session, question_key)
    if project_id is None:
        return None
    guide = current(ctx, project_id=project_id)
    for topic in guide.topics if guide else []:
        for question in topic.questions:
            if question.key == question_key:
                return question.text
    return None


def _project_of_question(session: Session, question_key: uuid.UUID) -> uuid.UUID | None:
    return session.scalar(
        select(InterviewGuide.project_id)
        .join(GuideTopic, GuideTopic.guide_id == InterviewGuide.id)
        .join(GuideQuestion, GuideQuestion.topic_id == GuideTopic.id)
        .where(GuideQuestion.key == question_key)
        .limit(1)
    )


def _current(session: Session, project_id: uuid.UUID) -> InterviewGuide | None:
    return session.scalars(
        select(InterviewGuide)
        .where(InterviewGuide.project_id == project_id)
        .order_by(InterviewGuide.version.desc())
        .limit(1)
    ).first()


def current(ctx: Context, *, project_id: uuid.UUID) -> GuideRead | None:
    """The project's current guide, decrypted (audited), or None when it has none yet."""
    if not _may_read_guide(ctx, project_id):
        raise NotFoundError()
    guide = _current(ctx.session, project_id)
    if guide is None:
        return None
    ctx.audit("guide.read", object_type="interview_guide", object_id=guide.id, project_id=project_id)
    cipher = data_keys.project_cipher(ctx, project_id, create=False)
    topics = []
    for topic in ctx.session.scalars(
        select(GuideTopic).where(GuideTopic.guide_id == guide.id).order_by(GuideTopic.seq)
    ):
        questions = [
            QuestionRead(key=question.key, text=_reveal(cipher, question, "text"))
            for question in ctx.session.scalars(
                select(GuideQuestion).where(GuideQuestion.topic_id == topic.id).order_by(GuideQuestion.seq)
            )
        ]
        topics.append(TopicRead(key=topic.key, title=_reveal(cipher, topic, "title"), questions=questions))
    return GuideRead(project_id=project_id, version=guide.version, topics=topics)


def _reveal(cipher: FieldCipher, row: object, column: str) -> str:
    value = cipher.read(row, column)
    if value is None:
        raise DataIntegrityError()
    return value.reveal()


# ---- links between segments and questions ------------------------------------------------------------------


def _latest_version(session: Session, interview_id: uuid.UUID) -> TranscriptVersion:
    version = session.scalars(
        select(TranscriptVersion)
        .where(
            TranscriptVersion.interview_id == interview_id,
            TranscriptVersion.status != VersionStatus.SUPERSEDED,
        )
        .order_by(TranscriptVersion.version.desc())
        .limit(1)
    ).first()
    if version is None:
        raise NotFoundError("This interview has no transcript yet.")
    return version


def _segments(session: Session, version_id: uuid.UUID) -> list[Segment]:
    return list(
        session.scalars(
            select(Segment).where(Segment.transcript_version_id == version_id).order_by(Segment.seq)
        )
    )


def _question_tokens(ctx: Context, project_id: uuid.UUID) -> list[tuple[uuid.UUID, set[str]]]:
    guide = current(ctx, project_id=project_id)
    if guide is None:
        raise InvalidInputError("This project has no interview guide yet.")
    return [
        (question.key, set(tokenise(question.text))) for topic in guide.topics for question in topic.questions
    ]


def best_question(turn: str, questions: Sequence[tuple[uuid.UUID, set[str]]]) -> uuid.UUID | None:
    """The question an interviewer turn asks, if one matches well enough (see the module docstring)."""
    words = set(tokenise(turn))
    best: tuple[float, int, uuid.UUID] | None = None
    for key, question_words in questions:
        if not question_words:
            continue
        shared = len(words & question_words)
        score = shared / len(question_words)
        if shared >= min(MIN_SHARED_WORDS, len(question_words)) and score >= 0.5:
            candidate = (score, shared, key)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    return best[2] if best else None


def suggest_links(ctx: Context, *, interview_id: uuid.UUID) -> int:
    """Suggest question links for the latest transcript version; returns how many segments were linked."""
    interview = interviews.get_or_raise(ctx, interview_id=interview_id)
    _require(ctx, Action.INTERVIEW_MANAGE, interview.project_id)
    questions = _question_tokens(ctx, interview.project_id)
    version = _latest_version(ctx.session, interview.id)
    segments = _segments(ctx.session, version.id)
    confirmed = set(
        ctx.session.scalars(
            select(SegmentQuestion.segment_id).where(
                SegmentQuestion.segment_id.in_([segment.id for segment in segments]),
                SegmentQuestion.origin == LinkOrigin.CONFIRMED,
            )
        )
    )
    ctx.session.execute(
        delete(SegmentQuestion).where(
            SegmentQuestion.segment_id.in_([segment.id for segment in segments]),
            SegmentQuestion.origin == LinkOrigin.SUGGESTED,
        )
    )
    cipher = interviews.cipher_for(ctx, interview)
    current_key: uuid.UUID | None = None
    linked = 0
    for segment in segments:
        if segment.suppressed or segment.pseudonymised_text is None:
            continue
        if segment.role == SpeakerRole.INTERVIEWER:
            current_key = best_question(_reveal(cipher, segment, "pseudonymised_text"), questions)
        if current_key is None or segment.id in confirmed:
            continue
        ctx.session.add(
            SegmentQuestion(segment_id=segment.id, question_key=current_key, origin=LinkOrigin.SUGGESTED)
        )
        linked += 1
    ctx.session.flush()
    ctx.audit(
        "guide.suggest_links",
        object_type="interview",
        object_id=interview.id,
        project_id=interview.project_id,
    )
    return linked


def set_link(ctx: Context, *, segment_id: uuid.UUID, question_key: uuid.UUID | None) -> None:
    """Confirm a segment's question (or remove its link with None)."""
    segment, interview = _segment_and_interview(ctx, segment_id)
    _require(ctx, Action.INTERVIEW_MANAGE, interview.project_id)
    if question_key is not None and question_key not in _known_keys(ctx.session, interview.project_id)[1]:
        raise InvalidInputError("that question is not in this project's guide")
    ctx.session.execute(delete(SegmentQuestion).where(SegmentQuestion.segment_id == segment.id))
    if question_key is not None:
        ctx.session.add(
            SegmentQuestion(
                segment_id=segment.id,
                question_key=question_key,
                origin=LinkOrigin.CONFIRMED,
                created_by=ctx.actor.user_id if ctx.actor else None,
            )
        )
    ctx.session.flush()
    ctx.audit("guide.link", object_type="segment", object_id=segment.id, project_id=interview.project_id)


def _segment_and_interview(ctx: Context, segment_id: uuid.UUID) -> tuple[Segment, Interview]:
    row = ctx.session.execute(
        select(Segment, Interview)
        .join(TranscriptVersion, TranscriptVersion.id == Segment.transcript_version_id)
        .join(Interview, Interview.id == TranscriptVersion.interview_id)
        .where(Segment.id == segment_id)
    ).first()
    if row is None:
        raise NotFoundError()
    segment, interview = row
    _require(ctx, Action.INTERVIEW_MANAGE, interview.project_id)
    return segment, interview


def links(ctx: Context, *, interview_id: uuid.UUID) -> list[LinkRead]:
    """The question links of the latest transcript version of an interview."""
    interview = interviews.get_or_raise(ctx, interview_id=interview_id)
    _require(ctx, Action.INTERVIEW_MANAGE, interview.project_id)
    version = _latest_version(ctx.session, interview.id)
    rows = ctx.session.execute(
        select(Segment.id, Segment.seq, Segment.role, SegmentQuestion.question_key, SegmentQuestion.origin)
        .join(SegmentQuestion, SegmentQuestion.segment_id == Segment.id)
        .where(Segment.transcript_version_id == version.id)
        .order_by(Segment.seq)
    ).all()
    return [LinkRead(*row) for row in rows]


def answers(ctx: Context, *, question_key: uuid.UUID) -> list[AnswerRead]:
    """Every answer to one question across the approved interviews of its project, pseudonymised (audited)."""
    project_id = _project_of_question(ctx.session, question_key)
    if project_id is None:
        raise NotFoundError()
    _require(ctx, Action.TRANSCRIPT_READ_PSEUDONYMISED, project_id)
    rows = ctx.session.execute(
        select(Segment, Interview, Person.pseudonym)
        .join(SegmentQuestion, SegmentQuestion.segment_id == Segment.id)
        .join(TranscriptVersion, TranscriptVersion.id == Segment.transcript_version_id)
        .join(Interview, Interview.id == TranscriptVersion.interview_id)
        .join(Person, Person.id == Interview.interviewee_person_id)
        .where(
            SegmentQuestion.question_key == question_key,
            Interview.project_id == project_id,
            TranscriptVersion.status == VersionStatus.APPROVED,
            Segment.suppressed.is_(False),
            Segment.role != SpeakerRole.INTERVIEWER,
        )
        .order_by(Interview.interview_month, Interview.id, Segment.seq)
    ).all()
    results = []
    ciphers: dict[uuid.UUID, FieldCipher] = {}
    for segment, interview, pseudonym in rows:
        if interview.id not in ciphers:
            ctx.audit(
                "transcript.read_pseudonymised",
                object_type="interview",
                object_id=interview.id,
                project_id=project_id,
                reason="guide_answers",
            )
            ciphers[interview.id] = interviews.cipher_for(ctx, interview)
        text = _reveal(ciphers[interview.id], segment, "pseudonymised_text")
        results.append(AnswerRead(interview.id, pseudonym, segment.id, segment.seq, segment.role, text))
    return results
