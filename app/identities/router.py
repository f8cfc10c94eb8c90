"""The persons API: register and change persons, read them pseudonymously or (audited, with a purpose)
identified, and keep their residence history and relations.

Scope is the services' job: a person outside the caller's projects is "not found", exactly like a missing id.
Only `GET /persons/{id}/identity` returns identity fields; writes answer with the pseudonymous view, so an
identity is never echoed back outside an audited read.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from app.deps import reads_only
from app.identities import service as identities
from app.identities.dependencies import IdentityReader, PersonRegistrar, PseudonymousReader
from app.identities.models import Person
from app.identities.schemas import (
    PersonCreate,
    PersonPseudonymousRead,
    PersonRead,
    PersonSaved,
    PersonSummary,
    PersonUpdate,
    RelationCreate,
    RelationRead,
    ResidenceCreate,
    ResidenceRead,
)
from app.identities.vocabularies import IdentityPurpose

router = APIRouter(prefix="/api/v1", tags=["persons"])


def _saved(ctx: PersonRegistrar, saved: identities.RegisteredPerson) -> PersonSaved:
    view = identities.PersonView(
        saved.person,
        identities.residences_of(ctx.session, saved.person),
        identities.relations_of(ctx.session, saved.person),
    )
    return PersonSaved(
        person=PersonPseudonymousRead.of_view(view), possible_duplicates=saved.possible_duplicates
    )


@router.post("/projects/{project_id}/persons", status_code=201)
def register_person(
    ctx: PersonRegistrar, project_id: uuid.UUID, body: Annotated[PersonCreate, Body()]
) -> PersonSaved:
    """Register a person in the project; answers with the pseudonymous view and possible duplicates."""
    return _saved(ctx, identities.register(ctx, project_id=project_id, **body.to_kwargs()))


@router.get("/projects/{project_id}/persons")
@reads_only
def list_persons(ctx: PseudonymousReader, project_id: uuid.UUID) -> list[PersonSummary]:
    """The persons of a project by pseudonym, with their analytic attributes (never identity)."""
    return [PersonSummary.of(person) for person in identities.list_in_project(ctx, project_id=project_id)]


@router.get("/persons/{person_id}")
@reads_only
def read_person(ctx: PseudonymousReader, person_id: uuid.UUID) -> PersonPseudonymousRead:
    """The pseudonymous view of a person: attributes, residence history, relations by pseudonym."""
    return PersonPseudonymousRead.of_view(identities.get(ctx, person_id=person_id))


@router.get("/persons/{person_id}/identity")
@reads_only
def read_identity(
    ctx: IdentityReader, person_id: uuid.UUID, purpose: Annotated[IdentityPurpose, Query()]
) -> PersonRead:
    """A person's identity, for interviewers of the project; audited with the stated purpose."""
    identity = identities.read_identity(ctx, person_id, purpose=purpose)
    person = ctx.session.get(Person, identity.id)
    assert person is not None  # noqa: S101 - read_identity found it in scope
    return PersonRead.of_identity(person, identity)


@router.patch("/persons/{person_id}")
def update_person(
    ctx: PersonRegistrar, person_id: uuid.UUID, body: Annotated[PersonUpdate, Body()]
) -> PersonSaved:
    """Change the fields sent (others stay); unknown fields, including server-owned ones, are a 422."""
    return _saved(ctx, identities.update(ctx, person_id=person_id, **body.to_kwargs()))


@router.post("/persons/{person_id}/residences", status_code=201)
def add_residence(
    ctx: PersonRegistrar, person_id: uuid.UUID, body: Annotated[ResidenceCreate, Body()]
) -> ResidenceRead:
    """Record a period of residence."""
    return ResidenceRead.of(identities.add_residence(ctx, person_id=person_id, residence=body.to_input()))


@router.delete("/persons/{person_id}/residences/{residence_id}", status_code=204)
def remove_residence(ctx: PersonRegistrar, person_id: uuid.UUID, residence_id: uuid.UUID) -> Response:
    """Delete a period of residence."""
    identities.remove_residence(ctx, person_id=person_id, residence_id=residence_id)
    return Response(status_code=204)


@router.post("/persons/{person_id}/relations", status_code=201)
def add_relation(
    ctx: PersonRegistrar, person_id: uuid.UUID, body: Annotated[RelationCreate, Body()]
) -> RelationRead:
    """Record that this person is the `relation` of another person of the project (409 if known)."""
    view = identities.add_relation(
        ctx, person_id=person_id, relation=body.relation, other_person_id=body.other_person_id
    )
    return RelationRead.of(view)


@router.delete("/persons/{person_id}/relations/{relation_id}", status_code=204)
def remove_relation(ctx: PersonRegistrar, person_id: uuid.UUID, relation_id: uuid.UUID) -> Response:
    """Delete a relation of this person."""
    identities.remove_relation(ctx, person_id=person_id, relation_id=relation_id)
    return Response(status_code=204)
