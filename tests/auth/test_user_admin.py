"""Administrators manage accounts and roles; self-grants and admin grants need a second administrator
(security test 12); no administrator reads testimony or the log."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.context import Context
from app.runtime import Runtime
from tests import factories
from tests.auth_support import Clock, LoggedIn, use


def test_an_admin_creates_lists_and_disables_accounts(
    client: TestClient, login_as: Callable[..., LoggedIn], ctx: Context, clock: Clock
) -> None:
    project = factories.project(ctx)
    admin = login_as(Role.ADMIN)
    use(client, admin)
    created = client.post(
        "/api/v1/users",
        json={"username": "new-coder", "role": "coder", "project": project.name},
        headers={"x-csrf-token": admin.csrf},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert len(body["one_time_password"]) >= 15
    assert body["user"]["roles"] == [[project.name, "coder"]]
    listed = client.get("/api/v1/users").json()
    assert "new-coder" in {user["username"] for user in listed}
    assert all(set(user) == {"id", "username", "status", "is_admin", "roles"} for user in listed)
    user_id = body["user"]["id"]
    disabled = client.post(f"/api/v1/users/{user_id}/disable", headers={"x-csrf-token": admin.csrf})
    assert disabled.status_code == 204
    own = client.post(f"/api/v1/users/{admin.user.id}/disable", headers={"x-csrf-token": admin.csrf})
    assert own.status_code == 409


def test_granting_another_user_a_project_role_applies_at_once(
    client: TestClient, login_as: Callable[..., LoggedIn], ctx: Context, clock: Clock
) -> None:
    project = factories.project(ctx)
    coder = login_as(Role.CODER)
    admin = login_as(Role.ADMIN)
    use(client, admin)
    response = client.post(
        f"/api/v1/users/{coder.user.id}/roles",
        json={"role": "auditor", "project": project.name},
        headers={"x-csrf-token": admin.csrf},
    )
    assert response.status_code == 201
    assert response.json()["applied"] is True
    use(client, coder)
    assert client.get("/api/v1/auth/me").status_code == 401  # the role change ended their sessions


def test_an_admin_cannot_grant_themselves_a_role_without_a_second_admin(
    client: TestClient, login_as: Callable[..., LoggedIn], ctx: Context, runtime: Runtime, clock: Clock
) -> None:
    project = factories.project(ctx)
    first = login_as(Role.ADMIN)
    second = login_as(Role.ADMIN)
    use(client, first)
    asked = client.post(
        f"/api/v1/users/{first.user.id}/roles",
        json={"role": "interviewer", "project": project.name},
        headers={"x-csrf-token": first.csrf},
    )
    assert asked.status_code == 202
    request_id = asked.json()["request"]["id"]
    me = client.get("/api/v1/auth/me").json()
    assert me["roles"] == []  # nothing changed yet
    approve = f"/api/v1/role-requests/{request_id}/approve"
    own_approval = client.post(approve, headers={"x-csrf-token": first.csrf})
    assert own_approval.status_code == 403
    assert [item["id"] for item in client.get("/api/v1/role-requests").json()] == [request_id]
    use(client, second)
    approved = client.post(approve, headers={"x-csrf-token": second.csrf})
    assert approved.status_code == 200
    assert approved.json()["decision"] == "approved"
    again = client.post(approve, headers={"x-csrf-token": second.csrf})
    assert again.status_code == 404
    with runtime.sessions() as session:
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    assert "user.role_request" in actions
    assert "user.role_request_approved" in actions
    assert actions.index("user.role_request") < actions.index("user.role_request_approved")


def test_making_anyone_an_admin_needs_a_second_admin_and_can_be_rejected(
    client: TestClient, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    coder = login_as(Role.CODER)
    first = login_as(Role.ADMIN)
    second = login_as(Role.ADMIN)
    use(client, first)
    asked = client.post(
        f"/api/v1/users/{coder.user.id}/roles", json={"role": "admin"}, headers={"x-csrf-token": first.csrf}
    )
    assert asked.status_code == 202
    request_id = asked.json()["request"]["id"]
    use(client, second)
    rejected = client.post(
        f"/api/v1/role-requests/{request_id}/reject", headers={"x-csrf-token": second.csrf}
    )
    assert rejected.json()["decision"] == "rejected"
    listed = {user["id"]: user for user in client.get("/api/v1/users").json()}
    assert listed[str(coder.user.id)]["is_admin"] is False


def test_admins_read_neither_the_log_nor_testimony(
    client: TestClient, login_as: Callable[..., LoggedIn], clock: Clock
) -> None:
    use(client, login_as(Role.ADMIN))
    assert client.get("/api/v1/audit/events").status_code == 403
    assert client.get("/audit").status_code == 403
