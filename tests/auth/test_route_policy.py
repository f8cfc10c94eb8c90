"""Every route declares its action, and what each kind of caller gets matches the policy table exactly.

Generated from the app's routes and app/auth/policy.py (security test 9): every route is called as
{anonymous, admin, interviewer, coder, auditor, a disabled user, an expired session}.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Sequence

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from app.auth import service as users
from app.auth.models import Role
from app.auth.policy import POLICY, Action
from app.context import Context
from tests.auth_support import Clock, LoggedIn, use


def _declared(route: APIRoute) -> Action | str | None:
    """The action a route declares ('public' for the allowlist), found in its dependency tree."""

    def walk(dependant: object) -> Iterator[object]:
        for dependency in getattr(dependant, "dependencies", []):
            yield dependency.call
            yield from walk(dependency)

    for call in walk(route.dependant):
        if getattr(call, "harbour_public", False):
            return "public"
        action = getattr(call, "harbour_action", None)
        if action is not None:
            return Action(action)
    return None


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route, looking inside included routers (FastAPI keeps them as wrappers)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def undeclared_routes(app: FastAPI) -> list[str]:
    """Routes that declare neither an action nor that they are public."""
    return [
        f"{sorted(route.methods or ())} {route.path}"
        for route in api_routes(app.routes)
        if _declared(route) is None and route.path != "/healthz"
    ]


def test_every_route_declares_an_action(app: FastAPI) -> None:
    assert undeclared_routes(app) == []


def test_a_new_route_without_a_declared_action_fails_the_check(app: FastAPI) -> None:
    @app.get("/api/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    assert undeclared_routes(app) == ["['GET'] /api/v1/forgotten"]


def test_the_public_allowlist_is_short_and_known(app: FastAPI) -> None:
    public = sorted(
        f"{sorted(route.methods or ())[0]} {route.path}"
        for route in api_routes(app.routes)
        if _declared(route) == "public"
    )
    assert public == ["GET /", "GET /login", "POST /api/v1/auth/token", "POST /login"]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


DENIED_ANONYMOUS = {401, 303}


@pytest.fixture
def principals(
    login_as: Callable[..., LoggedIn], ctx: Context, clock: Clock
) -> Callable[[], dict[str, LoggedIn | None]]:
    """Makes one caller of each kind (fresh for every route: some routes end sessions)."""
    return lambda: _principals(login_as, ctx)


def _principals(login_as: Callable[..., LoggedIn], ctx: Context) -> dict[str, LoggedIn | None]:
    made: dict[str, LoggedIn | None] = {"anonymous": None}
    for role in Role:
        made[role.value] = login_as(role)
    disabled = login_as(Role.CODER)
    users.disable(ctx, username=disabled.user.username)
    made["disabled"] = disabled
    expired = login_as(Role.INTERVIEWER)
    made["expired"] = expired
    return made


def test_every_route_answers_each_caller_as_the_policy_says(
    app: FastAPI, principals: Callable[[], dict[str, LoggedIn | None]], clock: Clock
) -> None:
    checked = 0
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        for route in api_routes(app.routes):
            declared = _declared(route)
            if declared in (None, "public"):
                continue
            assert isinstance(declared, Action)
            for method in route.methods or ():
                for name, who in principals().items():
                    if name == "expired":
                        clock.advance(minutes=16)
                    use(client, who)
                    headers = {"x-csrf-token": who.csrf} if who else {}
                    response = client.request(
                        method, _concrete(route.path), headers=headers, follow_redirects=False
                    )
                    if name == "expired":
                        clock.advance(minutes=-16)
                    status = response.status_code
                    where = f"{method} {route.path} as {name}: {status}"
                    if name in ("anonymous", "disabled", "expired"):
                        assert status in DENIED_ANONYMOUS, where
                    elif Role(name) in POLICY[declared]:
                        assert status not in (401, 403), where
                        assert status < 500, where
                    else:  # refused by role: 404 where the route names an object, as for one out of scope
                        assert status == (404 if "{" in route.path else 403), where
                    checked += 1
    assert checked > 0


def test_every_operation_of_the_openapi_schema_is_a_checked_route(app: FastAPI, client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operations = {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method != "parameters"
    }
    declared = {
        (method, route.path): _declared(route)
        for route in api_routes(app.routes)
        for method in route.methods or ()
    }
    assert operations
    for operation in operations:
        if operation[1] == "/healthz":
            continue
        assert declared.get(operation) is not None, operation
