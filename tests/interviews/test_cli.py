"""`harbour interviews list` and `harbour import`, and the demo interviews, as an operator meets them."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select

from app.identities import service as identities
from app.interviews import service as interviews
from app.interviews.models import TranscriptVersion
from app.projects import service as projects
from tests.cli_support import Harbour
from tests.interviews.conftest import INTERVIEWEE_NAMES, TXT


def _interview(harbour: Harbour) -> tuple[uuid.UUID, str]:
    assert harbour("init").code == 0
    assert harbour("projects", "add", "field").code == 0
    assert harbour("users", "add", "ivan", "--role", "interviewer", "--project", "field").code == 0
    with harbour.context() as ctx:
        project = projects.get_by_name_or_raise(ctx.session, name="field")
        person = identities.register(
            ctx, project_id=project.id, legal_name=INTERVIEWEE_NAMES[0], aliases=list(INTERVIEWEE_NAMES[1:])
        ).person
        from app.auth import service as users

        interviewer = users.get_by_username_or_raise(ctx.session, username="ivan")
        interview = interviews.create(
            ctx,
            project_id=project.id,
            interviewee_person_id=person.id,
            interview_month="2025-02",
            mode="encrypted_call",
            languages=["ru"],
            interviewer_id=interviewer.id,
        )
        return interview.id, person.pseudonym


def test_import_then_list(harbour: Harbour, tmp_path: Path) -> None:
    interview_id, pseudonym = _interview(harbour)
    file = tmp_path / "Farhod_Ismoilov_interview.txt"
    file.write_text(TXT, encoding="utf-8")
    result = harbour("import", str(file), "--interview", str(interview_id))
    assert result.code == 0, result.err
    assert "version 1" in result.out
    assert "4 turns" in result.out
    assert "flagged" in result.out
    listed = harbour("interviews", "list", "--project", "field")
    assert listed.code == 0, listed.err
    lines = [line for line in listed.out.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith(str(interview_id))
    assert pseudonym in lines[0]
    assert "2025-02" in lines[0]
    assert "encrypted_call" in lines[0]
    assert "awaiting_review" in lines[0]
    for name in (*INTERVIEWEE_NAMES, "Farhod"):
        assert name not in listed.out
        assert name not in result.out
    with harbour.context() as ctx:
        version = ctx.session.scalars(select(TranscriptVersion)).one()
        assert version.uploaded_by is None


def test_a_bad_file_is_one_line_error_and_stores_nothing(harbour: Harbour, tmp_path: Path) -> None:
    interview_id, _ = _interview(harbour)
    file = tmp_path / "broken.json"
    file.write_bytes(b'{"segments": [')
    result = harbour("import", str(file), "--interview", str(interview_id))
    assert result.code != 0
    assert result.err.startswith("error: ")
    assert len(result.err.strip().splitlines()) == 1
    with harbour.context() as ctx:
        assert ctx.session.scalars(select(TranscriptVersion)).all() == []


def test_import_errors_are_clear(harbour: Harbour, tmp_path: Path) -> None:
    interview_id, _ = _interview(harbour)
    missing = harbour("import", str(tmp_path / "nope.txt"), "--interview", str(interview_id))
    assert missing.code != 0
    assert "cannot read" in missing.err
    file = tmp_path / "t.txt"
    file.write_text(TXT, encoding="utf-8")
    bad_id = harbour("import", str(file), "--interview", "not-an-id")
    assert bad_id.code != 0
    assert "interview id" in bad_id.err
    unknown = harbour("import", str(file), "--interview", str(uuid.uuid4()))
    assert unknown.code != 0
    assert "not found" in unknown.err.lower()
    assert harbour("interviews", "list", "--project", "nope").code != 0


def test_the_demo_has_interviews_and_one_is_approved(harbour: Harbour) -> None:
    assert harbour("init").code == 0
    result = harbour("demo")
    assert result.code == 0, result.err
    listed = harbour("interviews", "list", "--project", "demo")
    assert listed.code == 0, listed.err
    lines = [line for line in listed.out.splitlines() if line.strip()]
    assert len(lines) == 3
    assert sum(" approved " in line for line in lines) == 1
    for name in ("Ozoda", "Bahrom", "Samira", "Nomavjud"):
        assert name not in listed.out
