"""The people pages: projects, a project's people, register, a person (identity on request), edit.

Forms validate through the same schemas as the API (`PersonCreate`, `PersonUpdate`, `ResidenceCreate`), so the
rules are one set; errors come back inline with a 422 and the values typed so far. A person's identity is
shown only after an interviewer of the project asks for it with a purpose (a POST with the CSRF token, so a
link or a prefetch cannot open it); each showing is audited. Editing opens the identity with the purpose
`correction`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from app.auth.policy import Action
from app.context import Context
from app.errors import ConflictError, InvalidInputError
from app.identities import service as identities
from app.identities import vocabularies as vocab
from app.identities.dependencies import IdentityReader, PersonRegistrar, PseudonymousReader
from app.identities.schemas import (
    PersonCreate,
    PersonPseudonymousRead,
    PersonRead,
    PersonSummary,
    PersonUpdate,
    ResidenceCreate,
)
from app.web.pagination import PagingDep
from app.web.render import page

router = APIRouter(include_in_schema=False)

VOCABULARIES = {
    "person_kind": [term.value for term in vocab.PersonKind],
    "roles": [term.value for term in vocab.PersonRole],
    "target_category": [term.value for term in vocab.TargetCategory],
    "gender": [term.value for term in vocab.Gender],
    "identifiability_risk": [term.value for term in vocab.IdentifiabilityRisk],
    "legal_status": [term.value for term in vocab.LegalStatus],
    "relation": [term.value for term in vocab.Relation],
    "purpose": [term.value for term in vocab.IdentityPurpose],
}

SAVED_MESSAGES = {
    "registered": "The person is registered.",
    "updated": "The changes are saved.",
    "residence": "The residence history is updated.",
    "relation": "The relations are updated.",
}


class PersonForm(BaseModel):
    """The register/edit form as posted: text fields, lists one name a line, multi-selects."""

    legal_name: str = ""
    aliases: str = ""
    transliterations: str = ""
    birth_date: str = ""
    contacts: str = ""
    locations: str = ""
    notes: str = ""
    person_kind: str = ""
    roles: list[str] = []
    origin_state: str = ""
    target_category: list[str] = []
    gender: str = ""
    birth_decade: str = ""
    identifiability_risk: str = ""

    def to_data(self) -> dict[str, Any]:
        """The values as the schemas take them: blank is absent, lists split one item a line."""
        data: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if name in ("aliases", "transliterations"):
                data[name] = [line.strip() for line in value.splitlines() if line.strip()]
            elif isinstance(value, list):
                data[name] = value
            else:
                data[name] = value.strip() or None if name != "legal_name" else value.strip()
        return data


class ResidenceForm(BaseModel):
    """The residence form as posted."""

    country: str = ""
    from_period: str = ""
    to_period: str = ""
    legal_status: str = "unknown"


def _errors(exc: ValidationError) -> dict[str, str]:
    """Field -> message, first error per field; messages never echo the submitted value."""
    found: dict[str, str] = {}
    for error in exc.errors():
        where = str(error["loc"][0]) if error["loc"] else "form"
        message = str(error["msg"]).removeprefix("Value error, ")
        found.setdefault(where, message)
    return found


def _form_values(data: dict[str, Any]) -> dict[str, Any]:
    """Values to put back into the form fields."""
    values = dict(data)
    for name in ("aliases", "transliterations"):
        items = values.get(name) or []
        values[name] = "\n".join(str(item) for item in items) if isinstance(items, list) else str(items)
    for name, value in list(values.items()):
        if value is None:
            values[name] = ""
        elif not isinstance(value, list | str):
            values[name] = str(value)
    return values


def _form_page(
    request: Request,
    ctx: Context,
    *,
    project_id: uuid.UUID,
    person: PersonSummary | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    project = identities.project_in_scope(ctx, project_id=project_id, action=Action.PERSON_REGISTER)
    return page(
        request,
        "identities/form.html",
        ctx,
        {
            "project": project,
            "person": person,
            "values": values,
            "errors": errors or {},
            "vocabularies": VOCABULARIES,
        },
        status=status,
    )


def _person_page(
    request: Request,
    ctx: Context,
    person_id: uuid.UUID,
    *,
    identity: identities.IdentityRead | None = None,
    purpose: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    view = identities.get(ctx, person_id=person_id)
    person = PersonPseudonymousRead.of_view(view)
    project_id = view.person.project_id
    can_change = identities.may(ctx, Action.PERSON_REGISTER, project_id)
    can_identify = identities.may(ctx, Action.PERSON_READ_IDENTITY, project_id)
    others = identities.relation_candidates(ctx, person_id=person_id) if can_change else []
    return page(
        request,
        "identities/person.html",
        ctx,
        {
            "person": person,
            "project": identities.project_in_scope(
                ctx, project_id=project_id, action=Action.PERSON_READ_PSEUDONYMOUS
            ),
            "identity": None if identity is None else PersonRead.of_identity(view.person, identity),
            "purpose": purpose,
            "can_change": can_change,
            "can_identify": can_identify,
            "duplicates": identities.possible_duplicates(ctx, person_id=person_id) if can_change else [],
            "others": others,
            "error": error,
            "saved": SAVED_MESSAGES.get(request.query_params.get("saved", "")),
            "vocabularies": VOCABULARIES,
        },
        status=status,
    )


def _to_person(person_id: uuid.UUID, saved: str) -> RedirectResponse:
    return RedirectResponse(f"/persons/{person_id}?saved={saved}", status_code=303)


@router.get("/persons", response_class=HTMLResponse)
def projects_page(request: Request, ctx: PseudonymousReader) -> HTMLResponse:
    """The caller's projects, to pick whose people to see."""
    projects = identities.readable_projects(ctx)
    return page(
        request,
        "identities/projects.html",
        ctx,
        {
            "projects": [
                (project, count, identities.may(ctx, Action.PERSON_REGISTER, project.id))
                for project, count in projects
            ]
        },
    )


@router.get("/projects/{project_id}/persons", response_class=HTMLResponse)
def people_page(
    request: Request, ctx: PseudonymousReader, project_id: uuid.UUID, paging: PagingDep
) -> HTMLResponse:
    """A project's people by pseudonym, a page at a time; interviewers can register someone."""
    everyone = identities.list_in_project(ctx, project_id=project_id)
    shown = everyone[paging.offset : paging.offset + paging.limit]
    people = [PersonSummary.of(person) for person in shown]
    project = identities.project_in_scope(ctx, project_id=project_id, action=Action.PERSON_READ_PSEUDONYMOUS)
    return page(
        request,
        "identities/list.html",
        ctx,
        {
            "project": project,
            "people": people,
            "pager": paging.pager(request, len(everyone)),
            "can_register": identities.may(ctx, Action.PERSON_REGISTER, project_id),
        },
    )


@router.get("/projects/{project_id}/persons/new", response_class=HTMLResponse)
def register_form(request: Request, ctx: PersonRegistrar, project_id: uuid.UUID) -> HTMLResponse:
    """The registration form."""
    values = _form_values(PersonForm().to_data())
    values.update(person_kind="individual", identifiability_risk="high")
    return _form_page(request, ctx, project_id=project_id, person=None, values=values)


@router.post("/projects/{project_id}/persons", response_class=HTMLResponse)
def register_submit(
    request: Request, ctx: PersonRegistrar, project_id: uuid.UUID, form: Annotated[PersonForm, Form()]
) -> Response:
    """Register the person, then show their page (with the duplicate warning if any)."""
    data = form.to_data()
    identities.project_in_scope(ctx, project_id=project_id, action=Action.PERSON_REGISTER)
    try:
        body = PersonCreate.model_validate({k: v for k, v in data.items() if v is not None})
        saved = identities.register(ctx, project_id=project_id, **body.to_kwargs())
    except ValidationError as exc:
        errors = _errors(exc)
    except InvalidInputError as exc:
        errors = {"form": exc.message}
    else:
        return _to_person(saved.person.id, "registered")
    values = _form_values(data)
    return _form_page(
        request, ctx, project_id=project_id, person=None, values=values, errors=errors, status=422
    )


@router.get("/persons/{person_id}", response_class=HTMLResponse)
def person_page(request: Request, ctx: PseudonymousReader, person_id: uuid.UUID) -> HTMLResponse:
    """A person by pseudonym: attributes, residence history, relations; identity only on request."""
    return _person_page(request, ctx, person_id)


@router.post("/persons/{person_id}/identity", response_class=HTMLResponse)
def show_identity(
    request: Request,
    ctx: IdentityReader,
    person_id: uuid.UUID,
    purpose: Annotated[str, Form(max_length=32)] = "",
) -> HTMLResponse:
    """Open the identity for a stated purpose (audited) and show it on the person's page."""
    try:
        chosen = vocab.IdentityPurpose(purpose)
    except ValueError:  # (out of scope is still "not found": the page itself checks scope first)
        return _person_page(
            request, ctx, person_id, error="Choose why you need to see the identity.", status=422
        )
    identity = identities.read_identity(ctx, person_id, purpose=chosen)
    return _person_page(request, ctx, person_id, identity=identity, purpose=chosen.value)


@router.get("/persons/{person_id}/edit", response_class=HTMLResponse)
def edit_form(request: Request, ctx: IdentityReader, person_id: uuid.UUID) -> HTMLResponse:
    """The edit form, prefilled: opens the identity with the purpose `correction` (audited)."""
    identity = identities.read_identity(ctx, person_id, purpose=vocab.IdentityPurpose.CORRECTION)
    view = identities.get(ctx, person_id=person_id)
    if identity.erased:
        raise ConflictError("this person was erased; their record can no longer change")
    read = PersonRead.of_identity(view.person, identity)
    values = _form_values(read.model_dump())
    return _form_page(request, ctx, project_id=view.person.project_id, person=read, values=values)


@router.post("/persons/{person_id}/edit", response_class=HTMLResponse)
def edit_submit(
    request: Request, ctx: PersonRegistrar, person_id: uuid.UUID, form: Annotated[PersonForm, Form()]
) -> Response:
    """Save the edited fields (every field of the form is replaced)."""
    data = form.to_data()
    try:
        body = PersonUpdate.model_validate(data)
        identities.update(ctx, person_id=person_id, **body.to_kwargs())
    except ValidationError as exc:
        errors = _errors(exc)
    except InvalidInputError as exc:
        errors = {"form": exc.message}
    else:
        return _to_person(person_id, "updated")
    view = identities.get(ctx, person_id=person_id)
    return _form_page(
        request,
        ctx,
        project_id=view.person.project_id,
        person=PersonSummary.of(view.person),
        values=_form_values(data),
        errors=errors,
        status=422,
    )


@router.post("/persons/{person_id}/residences", response_class=HTMLResponse)
def add_residence(
    request: Request, ctx: PersonRegistrar, person_id: uuid.UUID, form: Annotated[ResidenceForm, Form()]
) -> Response:
    """Add a period of residence."""
    data = {name: value.strip() or None for name, value in form.model_dump().items()}
    try:
        body = ResidenceCreate.model_validate({k: v for k, v in data.items() if v is not None})
        identities.add_residence(ctx, person_id=person_id, residence=body.to_input())
    except ValidationError as exc:
        message = "; ".join(f"{field.replace('_', ' ')}: {text}" for field, text in _errors(exc).items())
    except InvalidInputError as exc:
        message = exc.message
    else:
        return _to_person(person_id, "residence")
    return _person_page(request, ctx, person_id, error=f"The residence was not added: {message}", status=422)


@router.post("/persons/{person_id}/residences/{residence_id}/delete")
def remove_residence(
    request: Request, ctx: PersonRegistrar, person_id: uuid.UUID, residence_id: uuid.UUID
) -> Response:
    """Delete a period of residence."""
    identities.remove_residence(ctx, person_id=person_id, residence_id=residence_id)
    return _to_person(person_id, "residence")


@router.post("/persons/{person_id}/relations", response_class=HTMLResponse)
def add_relation(
    request: Request,
    ctx: PersonRegistrar,
    person_id: uuid.UUID,
    relation: Annotated[str, Form(max_length=32)] = "",
    other_person_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Record a relation to another person of the project."""
    try:
        other = uuid.UUID(other_person_id)
    except ValueError:
        return _person_page(request, ctx, person_id, error="Choose the other person.", status=422)
    try:
        identities.add_relation(ctx, person_id=person_id, relation=relation, other_person_id=other)
    except (InvalidInputError, ConflictError) as exc:
        return _person_page(
            request, ctx, person_id, error=f"The relation was not added: {exc.message}", status=422
        )
    return _to_person(person_id, "relation")


@router.post("/persons/{person_id}/relations/{relation_id}/delete")
def remove_relation(
    request: Request, ctx: PersonRegistrar, person_id: uuid.UUID, relation_id: uuid.UUID
) -> Response:
    """Delete a relation."""
    identities.remove_relation(ctx, person_id=person_id, relation_id=relation_id)
    return _to_person(person_id, "relation")
