"""No response a coder, an auditor or a list can receive has an identity field, by construction."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel

from app.auth.models import Role
from app.auth.policy import POLICY, Action
from app.identities import schemas
from app.identities.service import IDENTITY_FIELDS
from tests.auth.test_route_policy import _declared, api_routes


def _models(annotation: object) -> Iterator[type[BaseModel]]:
    """Every pydantic model inside a type annotation (lists, unions, nested models)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models(field.annotation)
        return
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for argument in typing.get_args(annotation):
            yield from _models(argument)


def _field_names(annotation: object) -> set[str]:
    return {name for model in _models(annotation) for name in model.model_fields}


def test_identity_fields_are_the_sealed_columns() -> None:
    assert {
        "legal_name",
        "aliases",
        "transliterations",
        "birth_date",
        "contacts",
        "locations",
        "notes",
    } == IDENTITY_FIELDS


def test_only_the_identified_read_model_has_identity_fields() -> None:
    for name in dir(schemas):
        model = getattr(schemas, name)
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or model is BaseModel:
            continue
        if name.endswith(("Create", "Update", "Form")) or model is schemas.PersonRead:
            continue
        assert not IDENTITY_FIELDS & _field_names(model), name
    assert _field_names(schemas.PersonRead) >= IDENTITY_FIELDS


def test_no_route_open_to_coders_or_auditors_returns_an_identity_field(app: FastAPI) -> None:
    checked = 0
    for route in api_routes(app.routes):
        declared = _declared(route)
        if not isinstance(route, APIRoute) or not isinstance(declared, Action):
            continue
        if not POLICY[declared] & {Role.CODER, Role.AUDITOR, Role.ADMIN}:
            continue
        assert not IDENTITY_FIELDS & _field_names(route.response_model), route.path
        checked += (
            1 if route.path.startswith(("/api/v1/persons", "/api/v1/projects/{project_id}/persons")) else 0
        )
    assert checked >= 2


def test_the_identity_route_is_for_interviewers_only(app: FastAPI) -> None:
    routes = [
        route
        for route in api_routes(app.routes)
        if isinstance(route, APIRoute) and IDENTITY_FIELDS & _field_names(route.response_model)
    ]
    assert [route.path for route in routes] == ["/api/v1/persons/{person_id}/identity"]
    assert all(POLICY[_declared(route)] == {Role.INTERVIEWER} for route in routes)  # type: ignore[index]
