"""Stolen-artefact canary scan: identities registered through the service appear in no stored artefact.

High-entropy canaries in Latin, Cyrillic, Arabic and CJK, each in NFC and NFD, go into every identity field
of persons registered on a fresh installation (`harbour init`: a file database, keys in the data directory).
Then every file of the data directory (the SQLite database with its -wal and -shm while connections are
open, and again after they close; the key store) and, on PostgreSQL, a `pg_dump` of the database are
searched for each canary with tests/security/canaries.py (every encoding, and inside compressed streams).
"""

from __future__ import annotations

import base64
import gzip
import secrets
import unicodedata
import uuid
import zipfile
import zlib
from io import BytesIO
from pathlib import Path

from app.context import Context
from app.db import unit_of_work
from app.identities import service as identities
from app.projects import service as projects
from app.runtime import Runtime
from app.settings import Settings
from tests.cli_support import Harbour
from tests.keys.helpers import pg_dump
from tests.security.canaries import ALPHABETS, FORMS, canary, files, hits

FIELDS = ("name", "alias1", "alias2", "contact", "note")


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
                    name, alias1, alias2, contact, note = (canary(script, field, form) for field in FIELDS)
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
        open_artefacts = files(settings.data_dir)
        if settings.is_sqlite:
            assert "harbour.db-wal" in open_artefacts
            assert "harbour.db-shm" in open_artefacts
            assert len(open_artefacts["harbour.db-wal"]) > 0
        if settings.is_sqlite:  # the scan does see the rows: their clear pseudonyms are there
            stored = open_artefacts["harbour.db"] + open_artefacts["harbour.db-wal"]
            assert all(pseudonym.encode() in stored for pseudonym, _ in people.values())
        assert hits(open_artefacts, canaries) == []
    finally:
        runtime.close()
    closed_artefacts = files(settings.data_dir)
    if not settings.is_sqlite:
        closed_artefacts["pg_dump.sql"] = pg_dump(settings.sqlalchemy_url, tmp_path / "dump.sql").read_bytes()
        dump = closed_artefacts["pg_dump.sql"]
        assert all(pseudonym.encode() in dump for pseudonym, _ in people.values())
    assert hits(closed_artefacts, canaries) == []


def test_the_scan_finds_a_canary_stored_in_clear() -> None:
    marker = canary("cyrillic", "name", "NFD")
    clear = b"prefix" + unicodedata.normalize("NFC", marker).upper().encode("utf-16-be") + b"suffix"
    assert hits({"file": clear}, [marker]) == [("file", marker)]
    hexed = b"\\x" + marker.encode().hex().encode()
    assert hits({"dump": hexed}, [marker]) == [("dump", marker)]
    for shift in range(3):
        blob = base64.b64encode(b"x" * shift + marker.encode() + b"tail")
        assert hits({"b64": blob}, [marker]) == [("b64", marker)]


def test_the_scan_finds_a_latin1_canary_and_canaries_inside_compressed_streams() -> None:
    latin = "name" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyzéèüöñçåø") for _ in range(18))
    assert hits({"file": b"x" + latin.upper().encode("latin-1") + b"y"}, [latin]) == [("file", latin)]
    marker = canary("arabic", "note", "NFC")
    payload = b"head" + marker.encode() + b"tail" * 50
    compressed = {
        "zlib": b"junk\x00" + zlib.compress(payload) + b"more",
        "gzip": b"\xff" * 7 + gzip.compress(payload),
    }
    archive = BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("xl/sharedStrings.xml", payload)
    compressed["zip"] = archive.getvalue()
    nested = BytesIO()
    with zipfile.ZipFile(nested, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("inner.gz", gzip.compress(payload))
    compressed["zip of gzip"] = nested.getvalue()
    for name, blob in compressed.items():
        assert marker.encode() not in blob
        assert hits({name: blob}, [marker]) == [(name, marker)]
    assert hits({"other": zlib.compress(b"nothing to see" * 40)}, [marker]) == []


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
                    name = f"{canary(script, 'Given', form)} {canary(script, 'Family', form)}"
                    label = canary(script, "Speaker", form)
                    filename = canary(script, "file", form) + ".txt"
                    words = [canary(script, "Text", form) for _ in range(2)]
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
                results = interviews.search(as_coder, query=word)
                found += len(results)
                responses += [SearchHitRead.of(hit).model_dump_json() for hit in results]
            assert found >= len(searchable) // 2
            coder_view = {"coder responses": "\n".join(responses).encode("utf-8")}
            assert hits(coder_view, hidden) == []
            assert any(
                word.encode() in coder_view["coder responses"] for word in content
            )  # the scan sees text
        open_artefacts = files(settings.data_dir)
        assert hits(open_artefacts, content + hidden) == []
    finally:
        runtime.close()
    closed_artefacts = files(settings.data_dir)
    if not settings.is_sqlite:
        closed_artefacts["pg_dump.sql"] = pg_dump(settings.sqlalchemy_url, tmp_path / "dump.sql").read_bytes()
    assert hits(closed_artefacts, content + hidden) == []
