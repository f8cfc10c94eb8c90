"""Upload, pseudonymisation, review, approval, versions and the coder's view of transcripts."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.context import Context
from app.ingest import tokens
from app.interviews import service
from app.interviews.diff import changed_spans, is_affected, shift
from app.interviews.models import Interview, SearchToken, Segment, TranscriptVersion
from app.runtime import Runtime
from app.settings import Settings
from tests.auth_support import LoggedIn, use
from tests.interviews.conftest import (
    FORMATS,
    INTERVIEWEE_NAMES,
    RELATIVE_NAMES,
    TXT,
    World,
    get,
    new_interview,
    post,
    row_counts,
    upload,
)

FIXTURES = Path(__file__).resolve().parent.parent / "ingest" / "fixtures"
ALL_NAMES = INTERVIEWEE_NAMES + RELATIVE_NAMES
NAME_PARTS = ("Farhod", "Farkhod", "Фарход", "Dilnoza", "Дилноза", "Ismoilov", "Исмоилов")


def _no_names(text: str) -> None:
    for name in (*ALL_NAMES, *NAME_PARTS):
        assert name not in text, name


def _approve_all(client: TestClient, world: World, interview_id: str, decision: str = "redact") -> None:
    flags = get(client, world.interviewer, f"/api/v1/interviews/{interview_id}/flags").json()
    for flag in flags:
        response = post(
            client,
            world.interviewer,
            f"/api/v1/interviews/{interview_id}/flags/{flag['id']}",
            json={"decision": decision},
        )
        assert response.status_code == 200, response.text
    response = post(
        client, world.interviewer, f"/api/v1/interviews/{interview_id}/transcripts/latest/approve"
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("filename", sorted(FORMATS))
def test_every_format_uploads_into_consistent_segments(
    client: TestClient, world: World, filename: str
) -> None:
    interview = new_interview(client, world)
    response = upload(client, world.interviewer, interview["id"], filename, FORMATS[filename].encode())
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["version"] == 1
    assert stored["status"] == "pending_review"
    assert stored["turns"] >= 2
    for view in ("identified", "pseudonymised"):
        read = get(
            client, world.interviewer, f"/api/v1/interviews/{interview['id']}/transcripts/latest/{view}"
        )
        assert read.status_code == 200, read.text
        body = read.json()
        text = body["text"]
        assert "\n\n".join(segment["text"] for segment in body["segments"]) == text
        for segment in body["segments"]:
            assert text[segment["char_start"] : segment["char_end"]] == segment["text"]
    identified = get(
        client, world.interviewer, f"/api/v1/interviews/{interview['id']}/transcripts/latest/identified"
    )
    assert identified.json()["original_filename"] == filename
    assert any(name in identified.json()["text"] for name in ALL_NAMES)
    pseudonymised = get(
        client, world.interviewer, f"/api/v1/interviews/{interview['id']}/transcripts/latest/pseudonymised"
    )
    _no_names(pseudonymised.text)


@pytest.mark.parametrize(
    "name", ["interview.srt", "interview.vtt", "interview.whisper.json", "interview.fodt"]
)
def test_the_ingest_fixtures_upload(client: TestClient, world: World, name: str) -> None:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"fixture {name} not present")
    interview = new_interview(client, world)
    response = upload(client, world.interviewer, interview["id"], name, path.read_bytes())
    assert response.status_code in (201, 415), response.text
    if response.status_code == 201:
        assert response.json()["turns"] >= 1


def test_timestamps_and_roles_survive(client: TestClient, world: World) -> None:
    interview = new_interview(client, world)
    assert (
        upload(
            client, world.interviewer, interview["id"], "s.srt", FORMATS["subtitles.srt"].encode()
        ).status_code
        == 201
    )
    body = get(
        client, world.interviewer, f"/api/v1/interviews/{interview['id']}/transcripts/latest/identified"
    ).json()
    first = body["segments"][0]
    assert first["start_ms"] == 1000
    assert first["role"] == "interviewer"
    assert first["speaker"] == "Interviewer"


def test_names_of_linked_persons_vanish_from_every_coder_response(client: TestClient, world: World) -> None:
    interview = new_interview(client, world)
    assert upload(client, world.interviewer, interview["id"], "t.txt", TXT.encode()).status_code == 201
    _approve_all(client, world, interview["id"])
    responses = [
        get(client, world.coder, f"/api/v1/interviews/{interview['id']}/transcripts/latest/pseudonymised"),
        get(client, world.coder, f"/api/v1/interviews/{interview['id']}"),
        get(client, world.coder, f"/api/v1/projects/{world.project.id}/interviews"),
        get(client, world.coder, "/api/v1/search", params={"q": "sister"}),
        get(client, world.coder, "/interviews"),
        get(client, world.coder, f"/interviews/{interview['id']}"),
        get(client, world.coder, f"/interviews/{interview['id']}/read"),
        get(client, world.coder, "/search", params={"q": "sister"}),
    ]
    for response in responses:
        assert response.status_code == 200, (response.url, response.text)
        _no_names(response.text)
        assert "t.txt" not in response.text
        assert "+998 90 123 45 67" not in response.text
    pseudonymised = responses[0].json()
    assert world.interviewee_pseudonym in pseudonymised["text"]
    assert world.relative_pseudonym in pseudonymised["text"]
    assert "speaker" not in pseudonymised["segments"][0]
    assert "original_filename" not in pseudonymised


def test_coders_cannot_read_before_approval_and_can_after(client: TestClient, world: World) -> None:
    interview = new_interview(client, world)
    url = f"/api/v1/interviews/{interview['id']}/transcripts/latest/pseudonymised"
    assert get(client, world.coder, url).status_code == 404
    assert upload(client, world.interviewer, interview["id"], "t.txt", TXT.encode()).status_code == 201
    assert get(client, world.coder, url).status_code == 404
    assert get(client, world.coder, f"/interviews/{interview['id']}/read").status_code == 404
    _approve_all(client, world, interview["id"])
    read = get(client, world.coder, url)
    assert read.status_code == 200
    assert read.json()["status"] == "approved"
    assert (
        get(
            client, world.coder, f"/api/v1/interviews/{interview['id']}/transcripts/latest/identified"
        ).status_code
        == 404
    )


def test_flags_are_decided_and_applied_on_approval(client: TestClient, world: World, ctx: Context) -> None:
    interview = new_interview(client, world)
    assert upload(client, world.interviewer, interview["id"], "t.txt", TXT.encode()).status_code == 201
    flags = get(client, world.interviewer, f"/api/v1/interviews/{interview['id']}/flags").json()
    kinds = {flag["kind"] for flag in flags}
    assert len(flags) >= 2, flags
    assert any("phone" in kind for kind in kinds), kinds
    phone = next(flag for flag in flags if "phone" in flag["kind"])
    assert "123 45 67" in phone["text"]
    approve_url = f"/api/v1/interviews/{interview['id']}/transcripts/latest/approve"
    refused = post(client, world.interviewer, approve_url)
    assert refused.status_code == 409
    bad = post(
        client,
        world.interviewer,
        f"/api/v1/interviews/{interview['id']}/flags/{phone['id']}",
        json={"decision": "replace"},
    )
    assert bad.status_code == 422
    for flag in flags:
        body: dict[str, Any] = {"decision": "redact"}
        if flag["id"] == phone["id"]:
            body = {"decision": "replace", "replacement": "a mobile number"}
        elif "mail" in flag["kind"]:
            body = {"decision": "ignore"}
        decided = post(
            client, world.interviewer, f"/api/v1/interviews/{interview['id']}/flags/{flag['id']}", json=body
        )
        assert decided.status_code == 200
    approved = post(client, world.interviewer, approve_url)
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    text = get(
        client, world.coder, f"/api/v1/interviews/{interview['id']}/transcripts/latest/pseudonymised"
    ).json()
    assert "[a mobile number]" in text["text"]
    assert "123 45 67" not in text["text"]
    for segment in text["segments"]:
        assert text["text"][segment["char_start"] : segment["char_end"]] == segment["text"]
    assert post(client, world.interviewer, approve_url).status_code in (404, 409)
    for action in (
        "transcript.upload",
        "transcript.flag_decide",
        "transcript.approve",
        "transcript.read_pseudonymised",
    ):
        events = ctx.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        assert events, action


def test_sensitive_reads_are_audited(client: TestClient, world: World, ctx: Context) -> None:
    interview = new_interview(client, world)
    upload(client, world.interviewer, interview["id"], "t.txt", TXT.encode())
    get(client, world.interviewer, f"/api/v1/interviews/{interview['id']}/transcripts/latest/identified")
    version = ctx.session.scalars(select(TranscriptVersion)).one()
    event = ctx.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "transcript.read_identified")
    ).one()
    assert event.object_id == str(version.id)
    assert event.actor_id == world.interviewer.user.id
    assert event.project_id == world.project.id


def test_a_corrected_upload_is_version_two_and_its_changes_are_known(
    client: TestClient, world: World, ctx: Context
) -> None:
    interview = new_interview(client, world)
    assert upload(client, world.interviewer, interview["id"], "t.txt", TXT.encode()).status_code == 201
    _approve_all(client, world, interview["id"])
    before = get(
        client, world.coder, f"/api/v1/interviews/{interview['id']}/transcripts/latest/pseudonymised"
    ).json()
    corrected = TXT.replace("I left in 2019.", "I left in 2020, in winter.")
    second = upload(client, world.interviewer, interview["id"], "t2.txt", corrected.encode())
    assert second.status_code == 201
    assert second.json()["version"] == 2
    # Coders keep reading version 1 until version 2 is approved.
    assert (
        get(
            client, world.coder, f"/api/v1/interviews/{interview['id']}/transcripts/latest/pseudonymised"
        ).json()["version"]
        == 1
    )
    _approve_all(client, world, interview["id"])
    after = get(
        client, world.coder, f"/api/v1/interviews/{interview['id']}/transcripts/latest/pseudonymised"
    ).json()
    assert after["version"] == 2
    statuses = {row.version: row.status for row in ctx.session.scalars(select(TranscriptVersion)).all()}
    assert statuses == {1: "superseded", 2: "approved"}
    spans = changed_spans(before["text"], after["text"])
    assert spans
    old = before["text"]
    changed = "".join(old[span.old_start : span.old_end] for span in spans)
    assert set(changed) <= set("2019.")
    where = old.index("2019")
    assert is_affected(spans, where, where + 4)
    last = before["segments"][-1]
    assert not is_affected(spans, last["char_start"], last["char_end"])
    moved = shift(spans, last["char_start"])
    assert after["text"][moved : moved + 20] == old[last["char_start"] : last["char_start"] + 20]


def test_changed_spans_of_simple_texts() -> None:
    assert changed_spans("same", "same") == []
    spans = changed_spans("one two three\nfour\n", "one 2 three\nfour\nfive\n")
    old = "one two three\nfour\n"
    assert [old[span.old_start : span.old_end] for span in spans] == ["two", ""]
    assert is_affected(spans, 4, 7)
    assert not is_affected(spans, 0, 3)
    assert shift(spans, 8) == 6


MALFORMED = {
    "broken.json": b'{"segments": [ {"start": 0, "text": ',
    "deep.json": b"[" * 200 + b"]" * 200,
    "bad.srt": b"1\n00:00:01,000 --> banana\nhello\n\n2\nnot a time\n",
    "bad.vtt": b"NOT A WEBVTT FILE\n\n00:01 --> 00:02\nx\n",
    "latin1.txt": "Interviewer: caf\xe9 ol\xe9".encode("latin-1") + b"\xff\xfe\x00",
    "empty.txt": b"",
    "fake.docx": b"PK\x03\x04 this is not a real zip archive",
    "fake.odt": b"not an odt at all",
    "fake.pdf": b"%PDF-1.7 garbage without objects",
    "binary.md": bytes(range(256)) * 4,
    "program.exe": b"MZ\x90\x00",
}


@pytest.mark.parametrize("filename", sorted(MALFORMED))
def test_a_malformed_file_is_refused_and_nothing_is_stored(
    client: TestClient, world: World, ctx: Context, filename: str
) -> None:
    interview = new_interview(client, world)
    before = row_counts(ctx.session)
    response = upload(client, world.interviewer, interview["id"], filename, MALFORMED[filename])
    assert 400 <= response.status_code < 500, (filename, response.status_code, response.text)
    assert response.json()["error"]["message"]
    assert row_counts(ctx.session) == before


def test_a_file_over_the_size_limit_is_refused_with_413(
    world: World, ctx: Context, settings: Settings, runtime: Runtime
) -> None:
    from fastapi.testclient import TestClient as Client

    from app.main import create_app

    small = settings.model_copy(update={"max_upload_bytes": 2048})
    runtime.settings = small
    app = create_app(small, runtime=runtime)
    with Client(app, base_url="https://testserver") as client:
        interview = new_interview(client, world)
        before = row_counts(ctx.session)
        response = upload(
            client, world.interviewer, interview["id"], "big.txt", b"Interviewer: hello\n" * 200
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
        assert row_counts(ctx.session) == before


def test_a_refused_upload_from_the_page_shows_the_problem(client: TestClient, world: World) -> None:
    interview = new_interview(client, world)
    response = post(
        client,
        world.interviewer,
        f"/interviews/{interview['id']}/transcripts",
        files={"file": ("broken.json", b"{", "application/json")},
        data={"csrf_token": world.interviewer.csrf},
    )
    assert response.status_code == 422
    assert "The file was not stored" in response.text


def test_the_pages_walk_through_upload_review_and_reading(client: TestClient, world: World) -> None:
    listing = get(client, world.interviewer, "/interviews")
    assert listing.status_code == 200
    assert "New interview" in listing.text
    created = post(
        client,
        world.interviewer,
        "/interviews",
        data={
            "csrf_token": world.interviewer.csrf,
            "project_id": str(world.project.id),
            "interviewee_person_id": str(world.interviewee),
            "linked_person_ids": [str(world.relative)],
            "interview_month": "2025-04",
            "mode": "written",
            "languages": "uz ru",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    page_url = created.headers["location"].split("?")[0]
    interview_id = page_url.rsplit("/", 1)[1]
    page = get(client, world.interviewer, page_url)
    assert 'enctype="multipart/form-data"' in page.text
    assert "upload.js" in page.text
    uploaded = post(
        client,
        world.interviewer,
        f"/interviews/{interview_id}/transcripts",
        files={"file": ("t.txt", TXT.encode(), "text/plain")},
        data={"csrf_token": world.interviewer.csrf},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    status = get(client, world.interviewer, uploaded.headers["location"])
    assert "pending review" in status.text
    review = get(client, world.interviewer, f"/interviews/{interview_id}/review")
    assert review.status_code == 200
    assert 'class="flagged' in review.text
    assert "style=" not in review.text
    flags = get(client, world.interviewer, f"/api/v1/interviews/{interview_id}/flags").json()
    for flag in flags:
        decided = post(
            client,
            world.interviewer,
            f"/interviews/{interview_id}/flags/{flag['id']}",
            data={"csrf_token": world.interviewer.csrf, "decision": "redact"},
            follow_redirects=False,
        )
        assert decided.status_code == 303
    approved = post(
        client,
        world.interviewer,
        f"/interviews/{interview_id}/approve",
        data={"csrf_token": world.interviewer.csrf},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    read = get(client, world.coder, f"/interviews/{interview_id}/read")
    assert read.status_code == 200
    assert "interviewer" in read.text
    _no_names(read.text)


def test_segment_rows_hold_no_plaintext(client: TestClient, world: World, ctx: Context) -> None:
    interview = new_interview(client, world)
    upload(client, world.interviewer, interview["id"], "t.txt", TXT.encode())
    segments = ctx.session.scalars(select(Segment)).all()
    assert segments
    for segment in segments:
        for column in ("speaker", "identified_text", "pseudonymised_text"):
            sealed = getattr(segment, column)
            if sealed is not None:
                assert b"Farhod" not in sealed.blob
                assert b"Interviewer" not in sealed.blob


def test_search_tokens_are_one_row_per_distinct_word_of_each_approved_segment(
    client: TestClient, world: World, ctx: Context
) -> None:
    interview = new_interview(client, world)
    assert upload(client, world.interviewer, interview["id"], "t.txt", TXT.encode()).status_code == 201
    _approve_all(client, world, interview["id"])
    read = get(
        client, world.coder, f"/api/v1/interviews/{interview['id']}/transcripts/latest/pseudonymised"
    ).json()
    key = service._search_key(ctx.runtime.keys, world.project.id)
    expected = {
        (uuid.UUID(segment["id"]), token)
        for segment in read["segments"]
        for token in tokens.keyed(key, tokens.tokenise(segment["text"]))
    }
    stored = ctx.session.execute(select(SearchToken.segment_id, SearchToken.token)).all()
    assert len(stored) == len(expected)  # no repeats: a word said twice in a turn is one row
    assert {(row.segment_id, row.token) for row in stored} == expected
    version_ids = set(ctx.session.scalars(select(SearchToken.transcript_version_id)).all())
    assert version_ids == {uuid.UUID(read["version_id"])}
    # A corrected version, once approved, replaces the tokens of the one it supersedes.
    corrected = TXT.replace("I left in 2019.", "I left in 2020, in winter.")
    assert upload(client, world.interviewer, interview["id"], "t2.txt", corrected.encode()).status_code == 201
    _approve_all(client, world, interview["id"])
    latest = ctx.session.scalar(select(TranscriptVersion.id).where(TranscriptVersion.version == 2))
    assert set(ctx.session.scalars(select(SearchToken.transcript_version_id)).all()) == {latest}


def test_uploading_to_another_projects_interview_is_not_found(
    client: TestClient, world: World, login_as: Callable[..., LoggedIn]
) -> None:
    interview = new_interview(client, world)
    other = login_as(Role.INTERVIEWER)
    response = upload(client, other, interview["id"], "t.txt", TXT.encode())
    assert response.status_code == 404
    assert upload(client, world.coder, interview["id"], "t.txt", TXT.encode()).status_code == 404
    assert upload(client, world.interviewer, str(uuid.uuid4()), "t.txt", TXT.encode()).status_code == 404


def test_the_anonymisation_log_records_replacements_and_decisions(
    client: TestClient, world: World, ctx: Context
) -> None:
    from app.interviews import service

    interview = new_interview(client, world)
    upload(client, world.interviewer, interview["id"], "t.txt", TXT.encode())
    _approve_all(client, world, interview["id"])
    version = ctx.session.scalars(select(TranscriptVersion)).one()
    row = ctx.session.get(Interview, version.interview_id)
    assert row is not None
    log = json.loads(service._open(service.cipher_for(ctx, row), version, "anonymisation_log").reveal())
    assert log["version"] == 1
    assert log["decisions"]
    assert all(item["decision"] == "redact" for item in log["decisions"])


def test_the_interviewer_maps_speech_to_text_speakers_to_roles_before_approval(
    client: TestClient, world: World
) -> None:
    from tests.interviews.conftest import WHISPER

    interview = new_interview(client, world)
    assert (
        upload(client, world.interviewer, interview["id"], "whisper.json", WHISPER.encode()).status_code
        == 201
    )
    listed = get(client, world.interviewer, f"/api/v1/interviews/{interview['id']}/speakers")
    assert listed.status_code == 200
    speakers = listed.json()
    assert [(item["label"], item["role"]) for item in speakers] == [
        ("SPEAKER_00", "unknown"),
        ("SPEAKER_01", "unknown"),
    ]
    use(client, world.interviewer)
    saved = client.put(
        f"/api/v1/interviews/{interview['id']}/speakers",
        json={"roles": {"0": "interviewer", "1": "interviewee"}},
        headers={"x-csrf-token": world.interviewer.csrf},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"changed": 2}
    bad = client.put(
        f"/api/v1/interviews/{interview['id']}/speakers",
        json={"roles": {"0": "judge"}},
        headers={"x-csrf-token": world.interviewer.csrf},
    )
    assert bad.status_code == 422
    assert get(client, world.coder, f"/api/v1/interviews/{interview['id']}/speakers").status_code == 404
    post(client, world.interviewer, f"/api/v1/interviews/{interview['id']}/transcripts/latest/approve")
    read = get(
        client, world.coder, f"/api/v1/interviews/{interview['id']}/transcripts/latest/pseudonymised"
    ).json()
    assert [segment["role"] for segment in read["segments"]] == ["interviewer", "interviewee"]
    assert "SPEAKER_0" not in str(read)
