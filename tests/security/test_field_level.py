"""Security test 11: field-level access (BOPLA) and mass assignment, from the published OpenAPI schema.

tests/identities/test_schemas.py checks the Python response models of routes open to coders, auditors and
admins; here the same property is checked on what the app publishes (`/openapi.json`, `$ref`s followed),
with the identified transcript fields added. Request bodies open to coders declare no server-owned field
and refuse unknown ones; a coder who sends `role`, `owner_id`, `key_version`, another project's
`project_id` and the like gets a 422 and nothing changes. (An interviewer's PATCH of a person with
server-owned fields: tests/identities/test_api.py,
test_patch_with_server_owned_fields_is_422_and_changes_nothing.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.auth.models import Role
from app.auth.policy import POLICY, Action
from app.context import Context
from app.identities.service import IDENTITY_FIELDS
from tests import factories
from tests.auth.test_route_policy import _declared, api_routes
from tests.auth_support import use
from tests.coding.conftest import Bench, apply, bench  # noqa: F401 - fixture
from tests.interviews.conftest import get, world  # noqa: F401 - fixture
from tests.security.test_object_access import _digest

IDENTIFIED = IDENTITY_FIELDS | {"identified_text", "original_filename", "original", "anonymisation_log"}
SERVER_OWNED = {
    "role",
    "roles",
    "is_admin",
    "owner_id",
    "user_id",
    "coder_id",
    "created_by",
    "key_version",
    "kek_version",
    "data_key_id",
    "project_id",
    "id",
    "pseudonym",
    "span_hash",
}
# Fields named like server-owned ones that are vocabulary terms of the object: a target's role in an incident
# (primary or co-target), not a user's role.
VOCABULARY_FIELDS = {"TargetBody": {"role"}}
# Bodies that ignore unknown fields instead of refusing them (pydantic's default). Ignoring is within the
# test's pass criterion when the model declares no server-owned field, which the test checks.
IGNORES_EXTRAS = {"ExportJobCreate"}
EXTRAS: dict[str, Any] = {
    "role": "admin",
    "owner_id": "00000000-0000-4000-8000-000000000000",
    "key_version": 99,
    "coder_id": "00000000-0000-4000-8000-000000000001",
    "is_admin": True,
}


def _operations(app: FastAPI, roles: set[Role]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, OpenAPI operation) of every API route some of these roles may call."""
    paths = app.openapi()["paths"]
    for route in api_routes(app.routes):
        declared = _declared(route)
        if not isinstance(declared, Action) or not POLICY[declared] & roles or route.path not in paths:
            continue
        for method in route.methods or ():
            yield method, route.path, paths[route.path][method.lower()]


def _properties(schema: Any, components: dict[str, Any], seen: set[str] | None = None) -> set[str]:
    """Every property name reachable from a schema, through $ref, items, unions and nested objects."""
    seen = set() if seen is None else seen
    names: set[str] = set()
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                names |= _properties(components[name], components, seen)
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                names |= set(value)
                for sub in value.values():
                    names |= _properties(sub, components, seen)
            elif key != "$ref":
                names |= _properties(value, components, seen)
    elif isinstance(schema, list):
        for item in schema:
            names |= _properties(item, components, seen)
    return names


def _responses(operation: dict[str, Any]) -> list[Any]:
    return [
        media.get("schema", {})
        for response in operation.get("responses", {}).values()
        for media in response.get("content", {}).values()
    ]


def test_no_response_published_to_coders_or_auditors_carries_an_identity_field(app: FastAPI) -> None:
    components = app.openapi()["components"]["schemas"]
    checked = 0
    for method, path, operation in _operations(app, {Role.CODER, Role.AUDITOR}):
        names = _properties(_responses(operation), components)
        assert not names & IDENTIFIED, f"{method} {path}: {sorted(names & IDENTIFIED)}"
        checked += 1
    assert checked > 40
    identified = app.openapi()["paths"]["/api/v1/persons/{person_id}/identity"]["get"]
    assert _properties(_responses(identified), components) >= IDENTITY_FIELDS  # the walk does see them


def test_bodies_open_to_coders_declare_no_server_owned_field_and_refuse_unknown_ones(app: FastAPI) -> None:
    components = app.openapi()["components"]["schemas"]
    bodies = 0
    for method, path, operation in _operations(app, {Role.CODER, Role.AUDITOR}):
        content = operation.get("requestBody", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if schema is None:
            continue
        name = schema["$ref"].rsplit("/", 1)[-1]
        declared = set(components[name].get("properties", {})) - VOCABULARY_FIELDS.get(name, set())
        assert not declared & SERVER_OWNED, f"{method} {path} {name}: {sorted(declared & SERVER_OWNED)}"
        if name not in IGNORES_EXTRAS:
            assert components[name].get("additionalProperties") is False, f"{method} {path} {name}"
        bodies += 1
    assert bodies >= 10


def test_a_coder_sending_server_owned_fields_gets_422_and_nothing_changes(
    client: TestClient,
    ctx: Context,
    bench: Bench,  # noqa: F811 - fixture
) -> None:
    made = apply(
        client, bench.coder, bench.interview_id, "they took my passport at the border", [bench.codes["C3"]]
    )
    mention = get(client, bench.coder, f"/api/v1/projects/{bench.world.project.id}/incident-mentions").json()[
        0
    ]
    incident = client.post(
        f"/api/v1/incident-mentions/{mention['id']}/incident",
        json={},
        headers={"x-csrf-token": bench.coder.csrf},
    )
    assert incident.status_code == 201, incident.text
    extras = EXTRAS | {"project_id": str(factories.project(ctx).id)}
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        ("PATCH", f"/api/v1/codings/{made[0]['id']}", {"memo": "m"}),
        (
            "POST",
            f"/api/v1/interviews/{bench.interview_id}/codings",
            {"start": 0, "end": 4, "code_ids": [str(bench.codes["C3"])]},
        ),
        ("PATCH", f"/api/v1/incident-mentions/{mention['id']}", {"locus_state": "DE"}),
        ("PATCH", f"/api/v1/incidents/{incident.json()['id']}", {"summary": "s"}),
        ("PATCH", f"/api/v1/codes/{bench.codes['C3']}", {"name": "renamed"}),
        ("POST", f"/api/v1/projects/{bench.world.project.id}/codes", {"name": "another"}),
    ]
    ctx.session.flush()
    for method, url, body in attempts:
        ctx.session.expire_all()
        before = _digest(ctx.session)
        use(client, bench.coder)
        response = client.request(method, url, json=body | extras, headers={"x-csrf-token": bench.coder.csrf})
        assert response.status_code == 422, f"{method} {url}: {response.status_code} {response.text}"
        ctx.session.expire_all()
        assert _digest(ctx.session) == before, f"{method} {url}"
