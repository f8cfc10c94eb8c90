"""Consent and withdrawal: scopes recorded, and withdrawal (in full, by segment, topic or person) cascading so
nothing derived from the withdrawn material remains, while a content-free tombstone does."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.consent.models import ConsentWithdrawal, WithdrawalTarget
from app.context import Context
from app.interviews.models import SearchToken, Segment
from app.keys.models import DataKey
from tests.interviews.conftest import World, get, new_interview, post, upload

TRANSCRIPT = (
    "Interviewer: When did you leave the country?\n\n"
    "Farhod Ismoilov: In the spring of 2019, after the second summons about the orchard.\n\n"
    "Interviewer: Did the authorities contact your family?\n\n"
    "Farhod Ismoilov: Yes. They questioned Dilnoza Ismoilova about the printing press.\n\n"
    "Interviewer: Anything else?\n\n"
    "Farhod Ismoilov: The neighbours watched the gate.\n"
)


def _consent(client: TestClient, world: World, **overrides: Any) -> dict[str, Any]:
    body = {
        "info_sheet_version": "v2.1",
        "recorded_on": "2025-03-02",
        "scopes": ["participate", "retain_transcript", "incident_db", "family_information"],
    } | overrides
    response = post(client, world.interviewer, f"/api/v1/persons/{world.interviewee}/consents", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _approved(client: TestClient, world: World) -> str:
    interview = new_interview(client, world)
    assert upload(client, world.interviewer, interview["id"], "t.txt", TRANSCRIPT.encode()).status_code == 201
    assert (
        post(
            client, world.interviewer, f"/api/v1/interviews/{interview['id']}/transcripts/latest/approve"
        ).status_code
        == 200
    )
    return str(interview["id"])


def _coder_text(client: TestClient, world: World, interview_id: str) -> dict[str, Any]:
    response = get(client, world.coder, f"/api/v1/interviews/{interview_id}/transcripts/latest/pseudonymised")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _search(client: TestClient, world: World, word: str) -> int:
    response = get(client, world.coder, "/api/v1/search", params={"q": word})
    assert response.status_code == 200
    return len(response.json())


def test_consent_records_its_scopes_and_refuses_unknown_ones(client: TestClient, world: World) -> None:
    created = _consent(client, world, evidence="recorded verbally, file 7 of the field kit")
    assert created["scopes"] == ["participate", "retain_transcript", "incident_db", "family_information"]
    assert created["has_evidence"] is True
    assert "field kit" not in str(created)
    bad = post(
        client,
        world.interviewer,
        f"/api/v1/persons/{world.interviewee}/consents",
        json={"info_sheet_version": "v1", "recorded_on": "2025-01-01", "scopes": ["sell_data"]},
    )
    assert bad.status_code == 422
    assert get(client, world.coder, f"/api/v1/persons/{world.interviewee}/consents").status_code == 404


def test_withdrawing_segments_removes_their_text_search_entries_and_spans(
    client: TestClient, world: World, ctx: Context
) -> None:
    interview_id = _approved(client, world)
    consent = _consent(client, world, interview_id=interview_id)
    before = _coder_text(client, world, interview_id)
    assert _search(client, world, "orchard") == 1
    target = before["segments"][1]
    response = post(
        client,
        world.interviewer,
        f"/api/v1/consents/{consent['id']}/withdrawals",
        json={"scope": "segments", "segment_ids": [target["id"]]},
    )
    assert response.status_code == 201, response.text
    assert response.json()["segments_suppressed"] == 1
    after = _coder_text(client, world, interview_id)
    withdrawn = next(segment for segment in after["segments"] if segment["id"] == target["id"])
    assert withdrawn["suppressed"] is True
    assert withdrawn["text"] is None
    assert "orchard" not in after["text"]
    assert len(after["text"]) == len(before["text"])  # offsets of the rest stay valid
    assert after["segments"][3]["text"] == before["segments"][3]["text"]
    assert _search(client, world, "orchard") == 0
    assert _search(client, world, "gate") == 1
    identified = get(
        client, world.interviewer, f"/api/v1/interviews/{interview_id}/transcripts/latest/identified"
    )
    assert identified.status_code == 200
    assert "orchard" not in identified.text
    tombstones = ctx.session.scalars(select(WithdrawalTarget.target_type)).all()
    assert tombstones == ["segment"]
    actions = ctx.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert "consent.withdraw" in actions
    assert "consent.cascade" in actions


def test_withdrawing_what_was_said_about_a_person_removes_those_turns(
    client: TestClient, world: World
) -> None:
    interview_id = _approved(client, world)
    consent = _consent(client, world)
    response = post(
        client,
        world.interviewer,
        f"/api/v1/consents/{consent['id']}/withdrawals",
        json={"scope": "person", "person_id": str(world.relative)},
    )
    assert response.status_code == 201, response.text
    assert response.json()["segments_suppressed"] == 1
    after = _coder_text(client, world, interview_id)
    assert f"[{world.relative_pseudonym}]" not in after["text"]
    assert "printing press" not in after["text"]
    assert "gate" in after["text"]


def test_withdrawing_a_topic_removes_the_linked_turns(client: TestClient, world: World) -> None:
    get(client, world.interviewer, "/")
    guide = client.put(
        f"/api/v1/projects/{world.project.id}/guide",
        json={
            "topics": [
                {"title": "Family", "questions": [{"text": "Did the authorities contact your family?"}]}
            ]
        },
        headers={"x-csrf-token": world.interviewer.csrf},
    ).json()
    interview_id = _approved(client, world)
    post(client, world.interviewer, f"/api/v1/interviews/{interview_id}/question-links/suggest")
    consent = _consent(client, world)
    response = post(
        client,
        world.interviewer,
        f"/api/v1/consents/{consent['id']}/withdrawals",
        json={"scope": "topic", "topic_key": guide["topics"][0]["key"]},
    )
    assert response.status_code == 201, response.text
    assert response.json()["segments_suppressed"] == 2
    after = _coder_text(client, world, interview_id)
    assert "printing press" not in after["text"]
    assert "Did the authorities" not in after["text"]
    assert "second summons" in after["text"]


def test_withdrawing_in_full_shreds_the_interview(client: TestClient, world: World, ctx: Context) -> None:
    interview_id = _approved(client, world)
    consent = _consent(client, world)
    response = post(
        client, world.interviewer, f"/api/v1/consents/{consent['id']}/withdrawals", json={"scope": "all"}
    )
    assert response.status_code == 201, response.text
    assert (
        get(
            client, world.coder, f"/api/v1/interviews/{interview_id}/transcripts/latest/pseudonymised"
        ).status_code
        == 404
    )
    assert (
        get(
            client, world.interviewer, f"/api/v1/interviews/{interview_id}/transcripts/latest/identified"
        ).status_code
        == 404
    )
    listed = get(client, world.coder, f"/api/v1/projects/{world.project.id}/interviews").json()
    assert interview_id not in {item["id"] for item in listed}
    assert _search(client, world, "orchard") == 0
    assert ctx.session.scalar(select(func.count()).select_from(SearchToken)) == 0
    assert (
        ctx.session.scalar(
            select(func.count()).select_from(Segment).where(Segment.pseudonymised_text.is_not(None))
        )
        == 0
    )
    assert (
        ctx.session.scalar(
            select(func.count())
            .select_from(DataKey)
            .where(DataKey.owner_id == __import__("uuid").UUID(interview_id))
        )
        == 0
    )
    assert ctx.session.scalar(select(func.count()).select_from(ConsentWithdrawal)) == 1
    again = post(
        client, world.interviewer, f"/api/v1/consents/{consent['id']}/withdrawals", json={"scope": "all"}
    )
    assert again.status_code == 409


def test_a_bad_withdrawal_changes_nothing(client: TestClient, world: World, ctx: Context) -> None:
    interview_id = _approved(client, world)
    consent = _consent(client, world)
    before = _coder_text(client, world, interview_id)
    for body in (
        {"scope": "segments", "segment_ids": []},
        {"scope": "segments", "segment_ids": ["00000000-0000-4000-8000-000000000000"]},
        {"scope": "topic", "topic_key": "00000000-0000-4000-8000-000000000000"},
        {"scope": "person"},
        {"scope": "everything"},
    ):
        response = post(client, world.interviewer, f"/api/v1/consents/{consent['id']}/withdrawals", json=body)
        assert response.status_code == 422, body
    assert _coder_text(client, world, interview_id) == before
    assert ctx.session.scalar(select(func.count()).select_from(ConsentWithdrawal)) == 0


def test_the_consent_page_records_and_withdraws(client: TestClient, world: World) -> None:
    page = get(client, world.interviewer, f"/persons/{world.interviewee}/consent")
    assert page.status_code == 200
    assert "No consent is recorded" in page.text
    recorded = client.post(
        f"/persons/{world.interviewee}/consent",
        data={
            "info_sheet_version": "v3",
            "recorded_on": "2025-02-01",
            "participate": "on",
            "csrf_token": world.interviewer.csrf,
        },
        follow_redirects=False,
    )
    assert recorded.status_code == 303
    listed = get(client, world.interviewer, f"/persons/{world.interviewee}/consent")
    assert "Take part in the interview" in listed.text
    consent_id = get(client, world.interviewer, f"/api/v1/persons/{world.interviewee}/consents").json()[0][
        "id"
    ]
    unconfirmed = client.post(
        f"/consents/{consent_id}/withdraw", data={"scope": "all", "csrf_token": world.interviewer.csrf}
    )
    assert unconfirmed.status_code == 422
    done = client.post(
        f"/consents/{consent_id}/withdraw",
        data={"scope": "all", "confirm": "yes", "csrf_token": world.interviewer.csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
