"""Span codings: apply, list, delete; offsets in code points; sealed memos; provenance; withdrawal and new
transcript versions; who may code what."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.coding.models import Coding
from app.context import Context
from tests.auth_support import LoggedIn, use
from tests.coding.conftest import (
    CORRECTED,
    Bench,
    apply,
    approve,
    coder_text,
    codings_of,
    span,
)
from tests.interviews.conftest import get, post, upload

PASSPORT = "they took my passport at the border"
BROTHER = "My brother was questioned twice"


def _audit_actions(ctx: Context) -> list[str]:
    return list(ctx.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_a_coder_applies_codes_lists_and_deletes_them(client: TestClient, bench: Bench, ctx: Context) -> None:
    made = apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["B1"], bench.codes["H1"]])
    assert len(made) == 2
    assert {row["code_id"] for row in made} == {str(bench.codes["B1"]), str(bench.codes["H1"])}
    listed = codings_of(client, bench.coder, bench.interview_id)
    assert [row["quote"] for row in listed] == [PASSPORT, PASSPORT]
    assert {row["mnemonic"] for row in listed} == {"B1", "H1"}
    assert all(row["status"] == "active" and row["origin"] == "coder" for row in listed)
    response = client.delete(f"/api/v1/codings/{made[0]['id']}", headers={"x-csrf-token": bench.coder.csrf})
    assert response.status_code == 204
    assert len(codings_of(client, bench.coder, bench.interview_id)) == 1
    actions = _audit_actions(ctx)
    assert actions.count("coding.create") == 2
    assert "coding.delete" in actions
    assert "coding.list" in actions


def test_offsets_are_code_points_past_an_astral_character(client: TestClient, bench: Bench) -> None:
    text = coder_text(client, bench.coder, bench.interview_id)["text"]
    phrase = "\U0001f642 and they"
    start, end = span(client, bench.coder, bench.interview_id, phrase)
    assert end - start == len(phrase) == 10  # one code point for the emoji, two UTF-16 units in a browser
    apply(client, bench.coder, bench.interview_id, phrase, [bench.codes["B1"]])
    assert codings_of(client, bench.coder, bench.interview_id)[0]["quote"] == text[start:end] == phrase


def test_bad_spans_and_codes_are_refused(client: TestClient, bench: Bench) -> None:
    url = f"/api/v1/interviews/{bench.interview_id}/codings"
    length = len(coder_text(client, bench.coder, bench.interview_id)["text"])
    code = str(bench.codes["B1"])
    for start, end in ((5, 5), (9, 3), (-1, 4), (0, length + 1)):
        response = post(client, bench.coder, url, json={"start": start, "end": end, "code_ids": [code]})
        assert response.status_code == 422, (start, end)
    whole = post(client, bench.coder, url, json={"start": 0, "end": length, "code_ids": [code]})
    assert whole.status_code == 201
    unknown = post(client, bench.coder, url, json={"start": 0, "end": 4, "code_ids": [str(uuid.uuid4())]})
    assert unknown.status_code == 422
    assert post(client, bench.coder, url, json={"start": 0, "end": 4, "code_ids": []}).status_code == 422


def test_memos_are_sealed_and_only_their_coder_edits_them(
    client: TestClient, bench: Bench, ctx: Context
) -> None:
    made = apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["B1"]], memo="asked twice")
    row = ctx.session.get(Coding, uuid.UUID(made[0]["id"]))
    assert row is not None
    assert row.memo is not None
    assert b"asked twice" not in row.memo.blob
    assert codings_of(client, bench.coder, bench.interview_id)[0]["memo"] == "asked twice"
    use(client, bench.coder)
    response = client.patch(
        f"/api/v1/codings/{made[0]['id']}",
        json={"memo": "asked three times"},
        headers={"x-csrf-token": bench.coder.csrf},
    )
    assert response.status_code == 200, response.text
    assert response.json()["memo"] == "asked three times"
    use(client, bench.second)
    other = client.patch(
        f"/api/v1/codings/{made[0]['id']}",
        json={"memo": "mine now"},
        headers={"x-csrf-token": bench.second.csrf},
    )
    assert other.status_code == 404


def test_interviewers_cannot_code_and_other_projects_see_nothing(
    client: TestClient, bench: Bench, login_as: Any
) -> None:
    made = apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["B1"]])
    body = {"start": 0, "end": 4, "code_ids": [str(bench.codes["B1"])]}
    url = f"/api/v1/interviews/{bench.interview_id}/codings"
    assert post(client, bench.interviewer, url, json=body).status_code == 404
    stranger: LoggedIn = login_as(Role.CODER)
    assert get(client, stranger, url).status_code == 404
    assert post(client, stranger, url, json=body).status_code == 404
    assert get(client, stranger, f"/api/v1/codings/{made[0]['id']}/provenance").status_code == 404
    assert get(client, stranger, f"/api/v1/projects/{bench.world.project.id}/recode").status_code == 404
    response = client.delete(f"/api/v1/codings/{made[0]['id']}", headers={"x-csrf-token": stranger.csrf})
    assert response.status_code == 404


def test_provenance_verifies_and_fails_after_the_stored_hash_is_tampered_with(
    client: TestClient, bench: Bench, ctx: Context
) -> None:
    made = apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["B1"]])
    url = f"/api/v1/codings/{made[0]['id']}/provenance"
    assert get(client, bench.coder, url).json() == {"coding_id": made[0]["id"], "verified": True}
    row = ctx.session.get(Coding, uuid.UUID(made[0]["id"]))
    assert row is not None
    row.span_hash = bytes(32)
    ctx.session.flush()
    assert get(client, bench.coder, url).json()["verified"] is False
    assert "coding.verify" in _audit_actions(ctx)


def test_equal_quotes_in_two_projects_do_not_share_a_hash(
    client: TestClient, bench: Bench, ctx: Context
) -> None:
    from app.coding.service import span_hash

    keys = ctx.runtime.keys
    assert span_hash(keys, bench.world.project.id, PASSPORT) != span_hash(
        keys, bench.second.user.id, PASSPORT
    )
    assert span_hash(keys, bench.world.project.id, PASSPORT) == span_hash(
        keys, bench.world.project.id, PASSPORT
    )


def _withdraw_turn(client: TestClient, bench: Bench, seq: int) -> None:
    consent = post(
        client,
        bench.interviewer,
        f"/api/v1/persons/{bench.world.interviewee}/consents",
        json={
            "info_sheet_version": "v1",
            "recorded_on": "2025-03-02",
            "scopes": ["participate", "retain_transcript"],
            "interview_id": bench.interview_id,
        },
    )
    assert consent.status_code == 201, consent.text
    segment = coder_text(client, bench.coder, bench.interview_id)["segments"][seq]
    response = post(
        client,
        bench.interviewer,
        f"/api/v1/consents/{consent.json()['id']}/withdrawals",
        json={"scope": "segments", "segment_ids": [segment["id"]]},
    )
    assert response.status_code == 201, response.text


def test_withdrawal_removes_codings_on_the_withdrawn_turn_and_refuses_new_ones(
    client: TestClient, bench: Bench, ctx: Context
) -> None:
    apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["B1"]])
    apply(client, bench.coder, bench.interview_id, BROTHER, [bench.codes["E1"]])
    start, end = span(client, bench.coder, bench.interview_id, PASSPORT)
    turns = coder_text(client, bench.coder, bench.interview_id)["segments"]
    across = (turns[1]["char_start"], turns[2]["char_end"])  # a span reaching into the withdrawn turn
    _withdraw_turn(client, bench, 1)
    left = codings_of(client, bench.coder, bench.interview_id)
    assert [row["quote"] for row in left] == [BROTHER]
    assert ctx.session.scalars(select(Coding.id)).all() == [uuid.UUID(left[0]["id"])]
    url = f"/api/v1/interviews/{bench.interview_id}/codings"
    code = str(bench.codes["B1"])
    for a, b in ((start, end), across):
        response = post(client, bench.coder, url, json={"start": a, "end": b, "code_ids": [code]})
        assert response.status_code == 422
        assert "withdrawn" in response.json()["error"]["message"]
    assert "coding.withdrawal_delete" in _audit_actions(ctx)


def test_a_corrected_version_makes_changed_codings_obsolete_and_moves_the_others(
    client: TestClient, bench: Bench, ctx: Context
) -> None:
    changed = apply(
        client, bench.coder, bench.interview_id, "The summons arrived in March", [bench.codes["B1"]]
    )
    kept = apply(client, bench.coder, bench.interview_id, BROTHER, [bench.codes["E1"]], memo="twice")
    before = span(client, bench.coder, bench.interview_id, BROTHER)
    response = upload(client, bench.interviewer, bench.interview_id, "t2.txt", CORRECTED.encode())
    assert response.status_code == 201, response.text
    # Until the correction is approved the coders keep working on the approved version.
    assert len(codings_of(client, bench.coder, bench.interview_id)) == 2
    approve(client, bench.world, bench.interview_id)
    after = span(client, bench.coder, bench.interview_id, BROTHER)
    assert after != before  # the text before it changed length
    current = codings_of(client, bench.coder, bench.interview_id)
    assert [(row["id"], row["quote"], row["memo"]) for row in current] == [(kept[0]["id"], BROTHER, "twice")]
    assert (current[0]["start"], current[0]["end"]) == after
    provenance = get(client, bench.coder, f"/api/v1/codings/{kept[0]['id']}/provenance")
    assert provenance.json()["verified"] is True
    recode = get(client, bench.coder, f"/api/v1/projects/{bench.world.project.id}/recode")
    assert recode.status_code == 200
    assert [(row["id"], row["status"], row["quote"]) for row in recode.json()] == [
        (changed[0]["id"], "obsolete", "The summons arrived in March")
    ]
    actions = _audit_actions(ctx)
    assert "coding.obsolete" in actions
    assert "coding.carry_over" in actions
    # An obsolete coding can be deleted once it has been coded again.
    gone = client.delete(f"/api/v1/codings/{changed[0]['id']}", headers={"x-csrf-token": bench.coder.csrf})
    assert gone.status_code == 204


def test_withdrawing_the_whole_interview_deletes_all_its_codings(
    client: TestClient, bench: Bench, ctx: Context
) -> None:
    apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["B1"]], memo="a memo")
    apply(client, bench.coder, bench.interview_id, BROTHER, [bench.codes["E1"]])
    consent = post(
        client,
        bench.interviewer,
        f"/api/v1/persons/{bench.world.interviewee}/consents",
        json={"info_sheet_version": "v1", "recorded_on": "2025-03-02", "scopes": ["participate"]},
    )
    assert consent.status_code == 201, consent.text
    response = post(
        client,
        bench.interviewer,
        f"/api/v1/consents/{consent.json()['id']}/withdrawals",
        json={"scope": "all"},
    )
    assert response.status_code == 201, response.text
    assert ctx.session.scalars(select(Coding.id)).all() == []
    assert get(client, bench.coder, f"/api/v1/interviews/{bench.interview_id}/codings").status_code == 404
