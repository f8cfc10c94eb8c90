"""Stolen-artefact canary scan: identities registered through the service appear in no stored artefact.

High-entropy canaries in Latin, Cyrillic, Arabic and CJK, each in NFC and NFD, go into every identity field
of persons registered on a fresh installation (`harbour init`: a file database, keys in the data directory).
Then every file of the data directory (the SQLite database with its -wal and -shm while connections are
open, and again after they close; the key store) and, on PostgreSQL, a `pg_dump` of the database are
searched for each canary in UTF-8, UTF-16LE/BE, lower and upper case, base64 and hex.
"""

from __future__ import annotations

import base64
import secrets
import unicodedata
import uuid
from pathlib import Path
from typing import Literal

from app.context import Context
from app.db import unit_of_work
from app.identities import service as identities
from app.projects import service as projects
from app.runtime import Runtime
from app.settings import Settings
from tests.cli_support import Harbour
from tests.keys.helpers import pg_dump

ALPHABETS = {
    "latin": "abcdefghijklmnopqrstuvwxyzéèüöñçåøăș",
    "cyrillic": "абвгдеёжзийклмнопрстуфхцчшщыэюяўқғҳӣ",
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأإ",
    "cjk": "的一是不了人我在有他这中大来上个国到说们为子和你地出会也時間",
}
FIELDS = ("name", "alias1", "alias2", "contact", "note")
Form = Literal["NFC", "NFD"]
FORMS: tuple[Form, ...] = ("NFC", "NFD")


def _canary(script: str, field: str, form: Form) -> str:
    letters = "".join(secrets.choice(ALPHABETS[script]) for _ in range(18))
    return unicodedata.normalize(form, f"{field}{letters}")


def _needles(canary: str) -> set[bytes]:
    needles: set[bytes] = set()
    for form in FORMS:
        for variant in {canary, canary.lower(), canary.upper()}:
            text = unicodedata.normalize(form, variant)
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                needles.add(text.encode(encoding))
            raw = text.encode("utf-8")
            needles.add(raw.hex().encode())
            needles.add(raw.hex().upper().encode())
            for shift in range(3):  # base64 of the canary at each alignment within a longer blob
                encoded = base64.b64encode(b"\x00" * shift + raw)
                needles.add(encoded[4:-4])
    return needles


def _hits(artefacts: dict[str, bytes], canaries: list[str]) -> list[tuple[str, str]]:
    return [
        (name, canary)
        for canary in canaries
        for needle in _needles(canary)
        for name, content in artefacts.items()
        if needle in content
    ]


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes() for path in directory.rglob("*") if path.is_file()
    }


def test_no_canary_appears_in_any_stored_artefact(harbour: Harbour, tmp_path: Path) -> None:
    assert harbour("init").code == 0
    assert harbour("projects", "add", "canary").code == 0
    settings = Settings()
    canaries: list[str] = []
    people: dict[uuid.UUID, tuple[str, str]] = {}
    runtime = Runtime.open(settings)
    try:
        with unit_of_work(runtime.sessions) as session:
            ctx = Context(session, runtime, None)
            project = projects.get_by_name_or_raise(session, name="canary")
            for script in ALPHABETS:
                for form in FORMS:
                    name, alias1, alias2, contact, note = (_canary(script, field, form) for field in FIELDS)
                    canaries += [name, alias1, alias2, contact, note]
                    registered = identities.register(
                        ctx,
                        project_id=project.id,
                        legal_name=name,
                        aliases=[alias1, alias2],
                        contacts=contact,
                        notes=note,
                    )
                    people[registered.person.id] = (registered.person.pseudonym, name)
        with unit_of_work(runtime.sessions) as session:  # stored, and read back intact
            ctx = Context(session, runtime, None)
            for person_id, (_, name) in people.items():
                read = identities.read_identity(ctx, person_id)
                assert read.legal_name is not None
                assert read.legal_name.reveal() == name
        open_artefacts = _files(settings.data_dir)
        if settings.is_sqlite:
            assert "harbour.db-wal" in open_artefacts
            assert "harbour.db-shm" in open_artefacts
            assert len(open_artefacts["harbour.db-wal"]) > 0
        if settings.is_sqlite:  # the scan does see the rows: their clear pseudonyms are there
            stored = open_artefacts["harbour.db"] + open_artefacts["harbour.db-wal"]
            assert all(pseudonym.encode() in stored for pseudonym, _ in people.values())
        assert _hits(open_artefacts, canaries) == []
    finally:
        runtime.close()
    closed_artefacts = _files(settings.data_dir)
    if not settings.is_sqlite:
        closed_artefacts["pg_dump.sql"] = pg_dump(settings.sqlalchemy_url, tmp_path / "dump.sql").read_bytes()
        dump = closed_artefacts["pg_dump.sql"]
        assert all(pseudonym.encode() in dump for pseudonym, _ in people.values())
    assert _hits(closed_artefacts, canaries) == []


def test_the_scan_finds_a_canary_stored_in_clear() -> None:
    canary = _canary("cyrillic", "name", "NFD")
    clear = b"prefix" + unicodedata.normalize("NFC", canary).upper().encode("utf-16-be") + b"suffix"
    assert _hits({"file": clear}, [canary]) == [("file", canary)]
    hexed = b"\\x" + canary.encode().hex().encode()
    assert _hits({"dump": hexed}, [canary]) == [("dump", canary)]
    for shift in range(3):
        blob = base64.b64encode(b"x" * shift + canary.encode() + b"tail")
        assert _hits({"b64": blob}, [canary]) == [("b64", canary)]


def _turns_file(turns: list[tuple[str, str]]) -> bytes:
    return "\n\n".join(f"{speaker}: {text}" for speaker, text in turns).encode("utf-8")


def test_no_transcript_canary_appears_in_any_stored_artefact_or_coder_response(
    harbour: Harbour, tmp_path: Path
) -> None:
    """Transcript text, speaker labels, file names and the names in them: sealed at rest, and coders see
    neither labels, file names nor names (the text itself is what coders read, pseudonymised)."""
    from sqlalchemy import select

    from app.auth import service as users
    from app.auth import sessions
    from app.ingest import tokens
    from app.interviews import service as interviews
    from app.interviews.models import TranscriptFlag
    from app.interviews.schemas import InterviewRead, PseudonymisedTranscriptRead, SearchHitRead

    assert harbour("init").code == 0
    assert harbour("projects", "add", "canary").code == 0
    assert harbour("users", "add", "coder", "--role", "coder", "--project", "canary").code == 0
    settings = Settings()
    content: list[str] = []  # testimony words: sealed at rest, readable by coders
    hidden: list[str] = []  # names, labels, file names: sealed at rest and never shown to coders
    searchable: list[str] = []
    runtime = Runtime.open(settings)
    try:
        with unit_of_work(runtime.sessions) as session:
            ctx = Context(session, runtime, None)
            project = projects.get_by_name_or_raise(session, name="canary")
            coder = users.get_by_username_or_raise(session, username="coder")
            for script in ALPHABETS:
                for form in FORMS:
                    name = f"{_canary(script, 'Given', form)} {_canary(script, 'Family', form)}"
                    label = _canary(script, "Speaker", form)
                    filename = _canary(script, "file", form) + ".txt"
                    words = [_canary(script, "Text", form) for _ in range(2)]
                    content += words
                    searchable.append(words[0])
                    hidden += [name, label, filename.removesuffix(".txt")]
                    person = identities.register(ctx, project_id=project.id, legal_name=name).person
                    interview = interviews.create(
                        ctx,
                        project_id=project.id,
                        interviewee_person_id=person.id,
                        interview_month="2025-01",
                        mode="in_person",
                        languages=["ru"],
                        interviewer_id=coder.id,
                    )
                    data = _turns_file(
                        [
                            ("Interviewer", f"Tell me about {words[0]}."),
                            (label, f"My name is {name}. {words[0]} and {words[1]}."),
                            (label, f"{name} again: call +998 90 123 45 67."),
                        ]
                    )
                    version = interviews.upload(ctx, interview_id=interview.id, filename=filename, data=data)
                    for flag in session.scalars(
                        select(TranscriptFlag).where(TranscriptFlag.transcript_version_id == version.id)
                    ).all():
                        interviews.decide_flag(
                            ctx, interview_id=interview.id, flag_id=flag.id, decision="redact"
                        )
                    interviews.approve(ctx, interview_id=interview.id)
        with unit_of_work(runtime.sessions) as session:  # what a coder gets back
            coder_id = users.get_by_username_or_raise(session, username="coder").id
            actor = sessions.actor_for(session, user_id=coder_id)
            assert actor is not None
            as_coder = Context(session, runtime, actor)
            project = projects.get_by_name_or_raise(session, name="canary")
            responses: list[str] = []
            listed = interviews.list(as_coder, project_id=project.id)
            assert len(listed) == len(ALPHABETS) * len(FORMS)
            for item in listed:
                responses.append(InterviewRead.of(item).model_dump_json())
                read = interviews.read_pseudonymised(as_coder, interview_id=item.id)
                responses.append(PseudonymisedTranscriptRead.of(read).model_dump_json())
            found = 0
            for word in searchable:
                if not tokens.query_tokens(word):
                    continue
                hits = interviews.search(as_coder, query=word)
                found += len(hits)
                responses += [SearchHitRead.of(hit).model_dump_json() for hit in hits]
            assert found >= len(searchable) // 2
            coder_view = {"coder responses": "\n".join(responses).encode("utf-8")}
            assert _hits(coder_view, hidden) == []
            assert any(
                word.encode() in coder_view["coder responses"] for word in content
            )  # the scan sees text
        open_artefacts = _files(settings.data_dir)
        assert _hits(open_artefacts, content + hidden) == []
    finally:
        runtime.close()
    closed_artefacts = _files(settings.data_dir)
    if not settings.is_sqlite:
        closed_artefacts["pg_dump.sql"] = pg_dump(settings.sqlalchemy_url, tmp_path / "dump.sql").read_bytes()
    assert _hits(closed_artefacts, content + hidden) == []
