"""Fictional demo interviews, their transcript files generated in code (a .txt, an .srt, a Whisper .json).

Every name, place, number and story here is invented. The people are the demo persons of `app.demo`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from sqlalchemy import select

from app.context import Context
from app.identities import service as identities
from app.identities.models import Person
from app.interviews import service as interviews
from app.interviews.models import FlagDecision, TranscriptFlag

_TXT_TURNS = (
    ("Interviewer", "Thank you for agreeing to talk. When did you leave?"),
    (
        "Ozoda Nomavjud",
        "I left in the spring. Before that, two men came to my workplace and said they knew where my "
        "brother Bahrom Xayoliy lived abroad.",
    ),
    ("Interviewer", "Did anyone contact you after you arrived?"),
    (
        "Ozoda Nomavjud",
        "Yes. Someone wrote to me from +998 90 123 45 67 and said my mother would be questioned again. "
        "Озода, они сказали, подумай о семье.",
    ),
)

_SRT_CUES = (
    ("00:00:01,000", "00:00:04,000", "Interviewer: How did the summons reach your family?"),
    ("00:00:04,500", "00:00:09,000", "Bahrom Xayoliy: The district police brought it to my father."),
    ("00:00:09,500", "00:00:14,000", "They told him Bakhrom Khayoliy must come back for a conversation."),
    ("00:00:14,500", "00:00:18,000", "Interviewer: Did you answer them?"),
    ("00:00:18,500", "00:00:23,000", "Bahrom Xayoliy: No. My lawyer in Berlin advised me not to."),
)

_WHISPER_SEGMENTS = (
    (0.0, 3.2, "SPEAKER_00", "Can you describe the online messages?"),
    (3.4, 9.8, "SPEAKER_01", "They arrived every week. Samira Uydirma, you know what happens to traitors."),
    (10.0, 14.5, "SPEAKER_01", "Later my sister was called to the security service office."),
)


def txt_transcript(turns: Sequence[tuple[str, str]] = _TXT_TURNS) -> bytes:
    """A plain-text transcript of "Name: text" turns."""
    return "\n\n".join(f"{speaker}: {text}" for speaker, text in turns).encode("utf-8")


def srt_transcript(cues: Sequence[tuple[str, str, str]] = _SRT_CUES) -> bytes:
    """An SRT subtitle file with "Name:" speaker prefixes."""
    blocks = [f"{number}\n{start} --> {end}\n{text}" for number, (start, end, text) in enumerate(cues, 1)]
    return ("\n\n".join(blocks) + "\n").encode("utf-8")


def whisper_transcript(segments: Sequence[tuple[float, float, str, str]] = _WHISPER_SEGMENTS) -> bytes:
    """A Whisper-style JSON transcript (segments with start, end, speaker and text)."""
    document = {
        "text": " ".join(text for _, _, _, text in segments),
        "language": "en",
        "segments": [
            {"id": number, "start": start, "end": end, "speaker": speaker, "text": text}
            for number, (start, end, speaker, text) in enumerate(segments)
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def _persons_by_name(ctx: Context, project_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """The demo persons' ids by legal name (read back through the vault, as the interviewer would)."""
    ids = dict(
        ctx.session.execute(select(Person.pseudonym, Person.id).where(Person.project_id == project_id)).all()
    )
    people = identities.names_for_pseudonymisation(ctx, person_ids=list(ids.values()))
    return {person.names[0]: ids[person.pseudonym] for person in people if person.names}


def load(ctx: Context, *, project_id: uuid.UUID) -> int:
    """Record three interviews of the demo persons; approve the first so coders see it. Returns how many."""
    persons = _persons_by_name(ctx, project_id)
    ozoda, bahrom, samira = (persons[name] for name in ("Ozoda Nomavjud", "Bahrom Xayoliy", "Samira Uydirma"))
    first = interviews.create(
        ctx,
        project_id=project_id,
        interviewee_person_id=ozoda,
        interview_month="2025-03",
        mode="in_person",
        languages=["uz", "ru"],
        interpreter_used=False,
        linked_person_ids=[bahrom],
    )
    version = interviews.upload(
        ctx, interview_id=first.id, filename="demo-interview-1.txt", data=txt_transcript()
    )
    flags = ctx.session.scalars(
        select(TranscriptFlag).where(TranscriptFlag.transcript_version_id == version.id)
    )
    for flag in flags.all():
        interviews.decide_flag(ctx, interview_id=first.id, flag_id=flag.id, decision=FlagDecision.REDACT)
    interviews.approve(ctx, interview_id=first.id)
    second = interviews.create(
        ctx,
        project_id=project_id,
        interviewee_person_id=bahrom,
        interview_month="2025-05",
        mode="encrypted_call",
        languages=["ru"],
        linked_person_ids=[ozoda],
    )
    interviews.upload(ctx, interview_id=second.id, filename="demo-interview-2.srt", data=srt_transcript())
    third = interviews.create(
        ctx,
        project_id=project_id,
        interviewee_person_id=samira,
        interview_month="2025-06",
        mode="written",
        languages=["en"],
    )
    interviews.upload(ctx, interview_id=third.id, filename="demo-interview-3.json", data=whisper_transcript())
    return 3
