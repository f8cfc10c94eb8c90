"""Incidents end to end: codings draft mentions, mentions cluster into incidents with provenance to spans,
H2/H3/H5 flags, the 5.4 rules, the workflow lock, and consent withdrawal leaving nothing behind."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.context import Context
from app.incidents.models import FamilyReprisalEvent, Incident, IncidentMention
from tests.auth_support import use
from tests.coding.conftest import Bench, apply, coder_text
from tests.interviews.conftest import get, post

SUMMONS = "The summons arrived in March"
PASSPORT = "they took my passport at the border"
BROTHER = "My brother was questioned twice"


def _mentions(client: TestClient, bench: Bench) -> list[dict[str, Any]]:
    response = get(
        client,
        bench.coder,
        f"/api/v1/projects/{bench.world.project.id}/incident-mentions",
        params={"interview_id": bench.interview_id},
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def _patch(client: TestClient, bench: Bench, mention_id: str, **values: Any) -> Any:
    use(client, bench.coder)
    return client.patch(
        f"/api/v1/incident-mentions/{mention_id}", json=values, headers={"x-csrf-token": bench.coder.csrf}
    )


def _cluster(client: TestClient, bench: Bench, mention_id: str, incident_id: str | None = None) -> Any:
    return post(
        client,
        bench.coder,
        f"/api/v1/incident-mentions/{mention_id}/incident",
        json={"incident_id": incident_id},
    )


def test_coding_an_interview_yields_mentions_and_an_incident_with_provenance(
    client: TestClient, bench: Bench
) -> None:
    made = apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["C3"]])
    apply(client, bench.coder, bench.interview_id, BROTHER, [bench.codes["E1"]])
    apply(client, bench.coder, bench.interview_id, SUMMONS, [bench.codes["A1"]])  # context: no mention
    found = _mentions(client, bench)
    assert sorted(m["kind"] for m in found) == ["family_reprisal", "incident"]
    mention = next(m for m in found if m["kind"] == "incident")
    assert mention["tactic"] == "S2_DETENTION_BORDER"
    assert mention["stage"] == 2
    assert mention["target_person_id"] == str(bench.world.interviewee)
    assert mention["evidence_basis"] == "direct"
    assert mention["status"] == "draft"
    assert mention["coding_id"] == made[0]["id"]
    # The coder completes it; bad vocabulary is refused.
    assert _patch(client, bench, mention["id"], completion_status="nonsense").status_code == 422
    assert _patch(client, bench, mention["id"], locus_state="Kazakhstan").status_code == 422
    response = _patch(
        client,
        bench,
        mention["id"],
        onset_phrase="in March 2024",
        locus_state="TR",
        completion_status="completed",
        attribution_confidence="probable",
        perpetrator_type="HOST_POLICE",
        status="complete",
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["onset_min"] == "2024-03-01"
    assert body["onset_max"] == "2024-03-31"
    assert body["onset_precision"] == "month"
    assert "onset_phrase" not in body  # sealed free text is not in the listing
    phrase = get(client, bench.coder, f"/api/v1/incident-mentions/{mention['id']}/phrase")
    assert phrase.json() == {"onset_phrase": "in March 2024"}
    created = _cluster(client, bench, mention["id"])
    assert created.status_code == 201, created.text
    incident = get(client, bench.coder, f"/api/v1/incidents/{created.json()['id']}").json()
    assert incident["tactic"] == "S2_DETENTION_BORDER"
    assert incident["stage"] == 2
    assert incident["onset_min"] == "2024-03-01"
    assert incident["conflict_flags"] == []
    assert incident["status"] == "draft"
    assert incident["n_mentions"] == 1
    start, end = made[0]["start"], made[0]["end"]
    for name in ("tactic", "stage", "locus_state", "onset_min"):
        spans = incident["provenance"][name]
        assert spans == [
            {
                "mention_id": mention["id"],
                "coding_id": made[0]["id"],
                "interview_id": bench.interview_id,
                "start": start,
                "end": end,
            }
        ]
    text = coder_text(client, bench.coder, bench.interview_id)["text"]
    assert text[start:end] == PASSPORT
    page = get(client, bench.coder, f"/incidents/{incident['id']}")
    assert page.status_code == 200
    assert f"/interviews/{bench.interview_id}/code?start={start}&amp;end={end}" in page.text
    listing = get(client, bench.coder, f"/projects/{bench.world.project.id}/incidents")
    assert listing.status_code == 200
    assert "S2_DETENTION_BORDER" in listing.text


def test_a_repeat_mention_adds_no_second_incident(client: TestClient, bench: Bench) -> None:
    apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["C3"]])
    apply(client, bench.coder, bench.interview_id, "took my passport", [bench.codes["C3"], bench.codes["H3"]])
    first, repeat = sorted(_mentions(client, bench), key=lambda m: m["is_repeat_mention"])
    assert (first["is_repeat_mention"], repeat["is_repeat_mention"]) == (False, True)
    incident = _cluster(client, bench, first["id"]).json()
    again = _cluster(client, bench, repeat["id"])
    assert again.status_code == 201
    assert again.json()["id"] == incident["id"]
    listing = get(client, bench.coder, f"/api/v1/projects/{bench.world.project.id}/incidents").json()
    assert len(listing) == 1
    assert listing[0]["n_mentions"] == 2


def test_hearsay_flag_and_conflicting_dates(client: TestClient, bench: Bench) -> None:
    apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["C3"]])
    apply(client, bench.coder, bench.interview_id, "took my passport", [bench.codes["C3"], bench.codes["H2"]])
    direct, hearsay = sorted(_mentions(client, bench), key=lambda m: m["evidence_basis"])
    assert (direct["evidence_basis"], hearsay["evidence_basis"]) == ("direct", "hearsay")
    _patch(
        client, bench, direct["id"], onset_min="2024-03-01", onset_max="2024-03-31", onset_precision="month"
    )
    _patch(
        client, bench, hearsay["id"], onset_min="2024-10-01", onset_max="2024-10-31", onset_precision="month"
    )
    incident = _cluster(client, bench, direct["id"]).json()
    merged = _cluster(client, bench, hearsay["id"], incident["id"]).json()
    assert merged["conflict_flags"] == ["date_conflict"]
    assert (merged["onset_min"], merged["onset_max"]) == ("2024-03-01", "2024-10-31")  # the union
    assert merged["evidence_basis"] == "direct"  # the strongest available
    # An explicit self-correction is adopted.
    _patch(client, bench, hearsay["id"], self_correction=True)
    corrected = get(client, bench.coder, f"/api/v1/incidents/{incident['id']}").json()
    assert (corrected["onset_min"], corrected["onset_max"]) == ("2024-10-01", "2024-10-31")
    assert corrected["conflict_flags"] == ["date_conflict"]


def test_off_record_spans_produce_nothing(client: TestClient, bench: Bench, ctx: Context) -> None:
    apply(client, bench.coder, bench.interview_id, "took my passport", [bench.codes["H5"]])
    apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["C3"]])
    assert _mentions(client, bench) == []
    # An H5 flag added later removes the mentions (and incidents) under it.
    apply(client, bench.coder, bench.interview_id, BROTHER, [bench.codes["C1"]])
    mention = _mentions(client, bench)[0]
    assert _cluster(client, bench, mention["id"]).status_code == 201
    apply(client, bench.coder, bench.interview_id, "brother was", [bench.codes["H5"]])
    assert _mentions(client, bench) == []
    assert ctx.session.scalars(select(Incident.id)).all() == []


def test_deleting_the_coding_removes_its_mention_and_incident(
    client: TestClient, bench: Bench, ctx: Context
) -> None:
    made = apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["C3"]])
    mention = _mentions(client, bench)[0]
    _cluster(client, bench, mention["id"])
    use(client, bench.coder)
    response = client.delete(f"/api/v1/codings/{made[0]['id']}", headers={"x-csrf-token": bench.coder.csrf})
    assert response.status_code == 204, response.text
    assert _mentions(client, bench) == []
    assert ctx.session.scalars(select(Incident.id)).all() == []


def test_workflow_final_locks_and_reopening_is_audited(
    client: TestClient, bench: Bench, ctx: Context
) -> None:
    apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["C3"]])
    mention = _mentions(client, bench)[0]
    incident = _cluster(client, bench, mention["id"]).json()
    url = f"/api/v1/incidents/{incident['id']}"
    assert post(client, bench.coder, f"{url}/status", json={"status": "final"}).status_code == 409
    for status in ("double_coded", "adjudicated", "final"):
        response = post(client, bench.coder, f"{url}/status", json={"status": status})
        assert response.status_code == 200, response.text
    assert response.json()["locked_at"] is not None
    use(client, bench.coder)
    headers = {"x-csrf-token": bench.coder.csrf}
    assert client.patch(url, json={"summary": "x"}, headers=headers).status_code == 409
    assert _patch(client, bench, mention["id"], locus_state="TR").status_code == 409
    assert post(client, bench.coder, f"{url}/reopen").status_code == 200
    assert (
        client.patch(url, json={"overrides": {"completion_status": "completed"}}, headers=headers).status_code
        == 200
    )
    actions = ctx.session.scalars(select(AuditEvent.action)).all()
    assert "incident.reopen" in actions


def test_links_between_incidents(client: TestClient, bench: Bench) -> None:
    apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["C3"]])
    apply(client, bench.coder, bench.interview_id, SUMMONS, [bench.codes["B7"]])
    first, second = (_cluster(client, bench, m["id"]).json() for m in _mentions(client, bench))
    assert first["id"] != second["id"]
    response = post(
        client,
        bench.coder,
        f"/api/v1/incidents/{second['id']}/links",
        json={"to_id": first["id"], "kind": "precedes"},
    )
    assert response.status_code == 201, response.text
    bad = post(
        client,
        bench.coder,
        f"/api/v1/incidents/{second['id']}/links",
        json={"to_id": first["id"], "kind": "x"},
    )
    assert bad.status_code == 422
    detail = get(client, bench.coder, f"/api/v1/incidents/{first['id']}").json()
    assert detail["links"][0]["kind"] == "precedes"


def test_withdrawn_interview_leaves_nothing(client: TestClient, bench: Bench, ctx: Context) -> None:
    apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["C3"]])
    apply(client, bench.coder, bench.interview_id, BROTHER, [bench.codes["E1"]])
    for mention in _mentions(client, bench):
        if mention["kind"] == "incident":
            _patch(client, bench, mention["id"], completion_status="completed")
            assert _cluster(client, bench, mention["id"]).status_code == 201
        else:
            assert (
                post(
                    client, bench.coder, f"/api/v1/incident-mentions/{mention['id']}/reprisal", json={}
                ).status_code
                == 201
            )
    assert ctx.session.scalars(select(FamilyReprisalEvent.id)).all()
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
    assert ctx.session.scalars(select(IncidentMention.id)).all() == []
    assert ctx.session.scalars(select(Incident.id)).all() == []
    assert ctx.session.scalars(select(FamilyReprisalEvent.id)).all() == []


def test_withdrawn_turn_removes_its_mentions_only(client: TestClient, bench: Bench, ctx: Context) -> None:
    apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["C3"]])
    apply(client, bench.coder, bench.interview_id, BROTHER, [bench.codes["C1"]])
    for mention in _mentions(client, bench):
        _cluster(client, bench, mention["id"])
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
    segment = coder_text(client, bench.coder, bench.interview_id)["segments"][1]
    response = post(
        client,
        bench.interviewer,
        f"/api/v1/consents/{consent.json()['id']}/withdrawals",
        json={"scope": "segments", "segment_ids": [segment["id"]]},
    )
    assert response.status_code == 201, response.text
    left = ctx.session.scalars(select(IncidentMention.tactic)).all()
    assert left == ["S2_DETENTION_ON_REQUEST"]
    assert [i.tactic for i in ctx.session.scalars(select(Incident))] == ["S2_DETENTION_ON_REQUEST"]


def test_interviewer_cannot_reach_incidents(client: TestClient, bench: Bench) -> None:
    response = get(client, bench.interviewer, f"/api/v1/projects/{bench.world.project.id}/incidents")
    assert response.status_code == 404


def test_incident_level_agreement_matches_two_coders_extractions(client: TestClient, bench: Bench) -> None:
    apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["C3"]])
    apply(client, bench.second, bench.interview_id, PASSPORT, [bench.codes["C3"]])
    apply(client, bench.second, bench.interview_id, SUMMONS, [bench.codes["B6"]])
    url = f"/api/v1/projects/{bench.world.project.id}/incident-agreement"
    params = {"coder_a": str(bench.coder.user.id), "coder_b": str(bench.second.user.id)}
    response = get(client, bench.coder, url, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["unit"] == "incident"
    assert body["detection"] == {
        "matched": 1,
        "only_a": 0,
        "only_b": 1,
        "precision": 0.5,
        "recall": 1.0,
        "f1": 2 / 3,
    }
    same = get(
        client,
        bench.coder,
        url,
        params={"coder_a": str(bench.coder.user.id), "coder_b": str(bench.coder.user.id)},
    )
    assert same.status_code == 422
    assert get(client, bench.interviewer, url, params=params).status_code == 404


def test_a_provenance_link_shows_the_span_on_the_coding_page(client: TestClient, bench: Bench) -> None:
    made = apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["C3"]])
    start, end = made[0]["start"], made[0]["end"]
    page = get(
        client, bench.coder, f"/interviews/{bench.interview_id}/code", params={"start": start, "end": end}
    )
    assert page.status_code == 200
    assert "The span this link points to" in page.text
    assert PASSPORT in page.text.split("The span this link points to")[1].split("</section>")[0]
