"""The auditor's API and page: filtered events, verification, and denial for everyone else."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from app.audit import service as audit_log
from app.auth import sessions
from app.auth.models import Role
from app.context import Context
from app.identities import service as identities
from app.projects.models import Project
from tests import factories
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


def test_the_access_report_shows_who_touched_one_person(
    client: TestClient, login_as: Callable[..., LoggedIn], ctx: Context, clock: Clock
) -> None:
    project = factories.project(ctx)
    interviewer = login_as(Role.INTERVIEWER, project_name=project.name)
    actor = sessions.actor_for(ctx.session, user_id=interviewer.user.id)
    as_interviewer = Context(ctx.session, ctx.runtime, actor)
    registered = identities.register(
        as_interviewer, project_id=project.id, legal_name="Dilnoza Karimova-Test"
    )
    identities.read_identity(as_interviewer, registered.person.id)
    ctx.session.flush()
    use(client, login_as(Role.AUDITOR, project_name=project.name))
    report = client.get("/api/v1/audit/access-report", params={"pseudonym": registered.person.pseudonym})
    assert report.status_code == 200
    actions = [(event["action"], event["actor_id"]) for event in report.json()["events"]]
    assert ("person.read_identity", str(interviewer.user.id)) in actions
    assert ("person.register", str(interviewer.user.id)) in actions
    assert "Nomavjud" not in report.text
    # An auditor of another project cannot learn that the pseudonym exists.
    use(client, login_as(Role.AUDITOR))
    other = client.get("/api/v1/audit/access-report", params={"pseudonym": registered.person.pseudonym})
    missing = client.get("/api/v1/audit/access-report", params={"pseudonym": "No-Such-Pseudonym-1"})
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()


def test_an_auditor_sees_only_the_entries_of_the_projects_they_audit(
    client: TestClient, ctx: Context, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    auditor = login_as(Role.AUDITOR)
    outsider = login_as(Role.INTERVIEWER)  # a member of another project only
    colleague = login_as(Role.INTERVIEWER, project_name=_project_name(ctx, auditor))
    assert outsider.project_id != auditor.project_id

    marks = {
        "other_project": {"project_id": outsider.project_id, "actor_id": outsider.user.id},
        "other_member": {"project_id": None, "actor_id": outsider.user.id},
        "own_project": {"project_id": auditor.project_id, "actor_id": colleague.user.id},
        "own_member": {"project_id": None, "actor_id": colleague.user.id},
        "anonymous": {"project_id": None, "actor_id": None},
    }
    for name, where in marks.items():
        audit_log.record(
            ctx.session,
            keys=ctx.runtime.keys,
            action="scope.probe",
            actor_role=None,
            object_type="probe",
            object_id=name,
            **where,  # type: ignore[arg-type]
        )
    ctx.session.flush()
    use(client, auditor)
    listed = client.get("/api/v1/audit/events", params={"action": "scope.probe", "limit": 500}).json()
    assert {event["object_id"] for event in listed["events"]} == {"own_project", "own_member", "anonymous"}
    page = client.get("/audit", params={"action": "scope.probe"}).text  # the page shows ids cut to 8
    assert [name[:8] in page for name in marks] == [False, False, True, True, True]


def _project_name(ctx: Context, who: LoggedIn) -> str:
    project = ctx.session.get(Project, who.project_id)
    assert project is not None
    return project.name
