"""The auditor's API and page: filtered events, verification, and denial for everyone else."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from app.auth.models import Role
from tests.auth_support import Clock, LoggedIn, use


def test_an_auditor_lists_filters_and_verifies_the_log(
    client: TestClient, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    auditor = login_as(Role.AUDITOR)
    use(client, auditor)
    everything = client.get("/api/v1/audit/events", params={"limit": 500})
    assert everything.status_code == 200
    events = everything.json()["events"]
    assert events
    seqs = [event["seq"] for event in events]
    assert seqs == sorted(seqs, reverse=True)
    creates = client.get("/api/v1/audit/events", params={"action": "user.create"}).json()["events"]
    assert creates
    assert {event["action"] for event in creates} == {"user.create"}
    assert client.get("/api/v1/audit/events", params={"limit": 0}).status_code == 422
    verify = client.get("/api/v1/audit/verify")
    assert verify.status_code == 200
    assert verify.json()["ok"] is True
    page = client.get("/audit")
    assert page.status_code == 200
    assert "Verify the whole log now" in page.text
    assert "The log verifies" in client.get("/audit", params={"verify": 1}).text


def test_paging_walks_the_log_without_overlap(
    client: TestClient, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    use(client, login_as(Role.AUDITOR))
    first = client.get("/api/v1/audit/events", params={"limit": 2}).json()
    assert len(first["events"]) == 2
    second = client.get(
        "/api/v1/audit/events", params={"limit": 2, "before_seq": first["next_before_seq"]}
    ).json()
    assert second["events"][0]["seq"] < first["events"][-1]["seq"]


def test_no_other_role_reads_the_log(
    client: TestClient, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    for role in (Role.ADMIN, Role.INTERVIEWER, Role.CODER):
        use(client, login_as(role))
        assert client.get("/api/v1/audit/events").status_code == 403
        assert client.get("/api/v1/audit/verify").status_code == 403
        assert client.get("/audit").status_code == 403
