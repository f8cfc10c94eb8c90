"""Adjudication: after every assigned coder is done, disagreements per segment and code, side by side, and
decisions recorded as adjudicated codings or rejections."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.coding.models import Coding
from app.context import Context
from tests.coding.conftest import Bench, apply, codings_of
from tests.coding.test_assignments import BROTHER, PASSPORT, assign, done
from tests.interviews.conftest import get, post


def _double_coded(client: TestClient, bench: Bench) -> tuple[str, str]:
    """Both coders code B1 on the passport turn; on the brother turn one codes E1, the other E2."""
    assign(client, bench)
    apply(client, bench.coder, bench.interview_id, PASSPORT, [bench.codes["B1"]])
    apply(client, bench.second, bench.interview_id, "took my passport", [bench.codes["B1"]])
    e1 = apply(client, bench.coder, bench.interview_id, BROTHER, [bench.codes["E1"]])
    e2 = apply(client, bench.second, bench.interview_id, "questioned twice", [bench.codes["E2"]])
    return str(e1[0]["id"]), str(e2[0]["id"])


def test_disagreements_wait_until_every_coder_is_done(client: TestClient, bench: Bench) -> None:
    _double_coded(client, bench)
    url = f"/api/v1/interviews/{bench.interview_id}/disagreements"
    assert get(client, bench.coder, url).status_code == 409
    done(client, bench, bench.coder)
    assert get(client, bench.coder, url).status_code == 409
    assert get(client, bench.interviewer, url).status_code == 404


def test_disagreements_are_listed_per_segment_and_code_and_adjudicated(
    client: TestClient, bench: Bench, ctx: Context
) -> None:
    _e1, e2 = _double_coded(client, bench)
    done(client, bench, bench.coder)
    done(client, bench, bench.second)
    url = f"/api/v1/interviews/{bench.interview_id}/disagreements"
    found = get(client, bench.coder, url).json()
    # B1 overlaps the same turn for both coders (different spans): agreement at segment level.
    assert sorted(row["mnemonic"] for row in found) == ["E1", "E2"]
    by_code = {row["mnemonic"]: row for row in found}
    assert by_code["E1"]["applied_by"] == [bench.coder.user.username]
    assert by_code["E1"]["not_applied_by"] == [bench.second.user.username]
    assert by_code["E2"]["spans"][0]["quote"] == "questioned twice"
    assert BROTHER in by_code["E1"]["text"]
    segment_id = by_code["E1"]["segment_id"]
    adjudications = f"/api/v1/interviews/{bench.interview_id}/adjudications"
    applied = post(
        client,
        bench.second,
        adjudications,
        json={"segment_id": segment_id, "code_id": str(bench.codes["E1"]), "decision": "apply"},
    )
    assert applied.status_code == 201, applied.text
    assert applied.json()["adjudicator_id"] == str(bench.second.user.id)
    rejected = post(
        client,
        bench.second,
        adjudications,
        json={"segment_id": segment_id, "code_id": str(bench.codes["E2"]), "decision": "reject"},
    )
    assert rejected.status_code == 201
    decided = {row["mnemonic"]: row["decision"] for row in get(client, bench.coder, url).json()}
    assert decided == {"E1": "apply", "E2": "reject"}
    listed = codings_of(client, bench.coder, bench.interview_id)
    adjudicated = [row for row in listed if row["origin"] == "adjudicated"]
    assert [(row["mnemonic"], row["coder"]) for row in adjudicated] == [("E1", bench.second.user.username)]
    row = ctx.session.get(Coding, uuid.UUID(rejected.json()["id"]))
    assert row is not None
    assert row.status == "rejected"
    # Deciding again replaces the earlier decision.
    again = post(
        client,
        bench.second,
        adjudications,
        json={"segment_id": segment_id, "code_id": str(bench.codes["E1"]), "decision": "reject"},
    )
    assert again.status_code == 201
    assert {row["mnemonic"]: row["decision"] for row in get(client, bench.coder, url).json()}[
        "E1"
    ] == "reject"
    # Adjudicating, a coder may delete another coder's coding.
    response = client.delete(f"/api/v1/codings/{e2}", headers={"x-csrf-token": bench.coder.csrf})
    assert response.status_code == 204
    actions = list(ctx.session.scalars(select(AuditEvent.action)))
    assert actions.count("coding.adjudicate") == 3


def test_a_bad_decision_is_refused(client: TestClient, bench: Bench) -> None:
    _double_coded(client, bench)
    done(client, bench, bench.coder)
    done(client, bench, bench.second)
    response = post(
        client,
        bench.coder,
        f"/api/v1/interviews/{bench.interview_id}/adjudications",
        json={"segment_id": str(uuid.uuid4()), "code_id": str(bench.codes["E1"]), "decision": "apply"},
    )
    assert response.status_code == 422
