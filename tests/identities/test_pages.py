"""The people pages: lists with empty states, registration with inline errors and the duplicate warning,
identity shown only on request with a purpose (audited), editing, and nothing identifying for coders."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.context import Context
from app.projects.models import Project
from tests.auth_support import Clock, LoggedIn, use
from tests.identities.conftest import CANARY, CANARY_STRINGS, Team


def _form(who: LoggedIn, **fields: Any) -> dict[str, Any]:
    return {"csrf_token": who.csrf, **fields}


def _register(client: TestClient, who: LoggedIn, project: Project, **fields: Any) -> Any:
    use(client, who)
    return client.post(f"/projects/{project.id}/persons", data=_form(who, **fields), follow_redirects=False)


def _person_id(response: Any) -> str:
    match = re.fullmatch(r"/persons/([0-9a-f-]{36})\?saved=registered", response.headers["location"])
    assert match is not None, response.headers.get("location")
    return match.group(1)


def _canary_form() -> dict[str, Any]:
    return {
        "legal_name": CANARY["legal_name"],
        "aliases": "\n".join(CANARY["aliases"]),
        "transliterations": "\n".join(CANARY["transliterations"]),
        "birth_date": CANARY["birth_date"],
        "contacts": CANARY["contacts"],
        "locations": CANARY["locations"],
        "notes": CANARY["notes"],
        "person_kind": "individual",
        "roles": ["interviewee", "target"],
        "origin_state": "uz",
        "target_category": ["OPPOSITION"],
        "gender": "f",
        "birth_decade": "",
        "identifiability_risk": "high",
    }


def test_empty_states_say_what_to_do_next(
    client: TestClient, team: Team, project: Project, clock: Clock
) -> None:
    use(client, team.interviewer)
    projects = client.get("/persons")
    assert projects.status_code == 200
    assert project.name in projects.text
    people = client.get(f"/projects/{project.id}/persons")
    assert people.status_code == 200
    assert "Nobody is registered in this project yet" in people.text
    assert "Register a person" in people.text
    use(client, team.coder)
    coder_view = client.get(f"/projects/{project.id}/persons")
    assert "Interviewers register people" in coder_view.text
    assert "Register a person" not in coder_view.text


def test_the_register_form_is_labelled_protected_and_not_autocompleted(
    client: TestClient, team: Team, project: Project, clock: Clock
) -> None:
    use(client, team.interviewer)
    form = client.get(f"/projects/{project.id}/persons/new")
    assert form.status_code == 200
    assert f'name="csrf_token" value="{team.interviewer.csrf}"' in form.text
    for field in (
        "legal_name",
        "aliases",
        "transliterations",
        "birth_date",
        "contacts",
        "locations",
        "notes",
    ):
        assert f'<label for="{field}">' in form.text
        assert re.search(rf'id="{field}" name="{field}"[^>]*autocomplete="off"', form.text), field
    assert "<script" not in form.text.split("</main>")[0]
    assert "style=" not in form.text


def test_registering_shows_the_person_and_the_cross_script_duplicate_warning(
    client: TestClient, team: Team, project: Project, clock: Clock
) -> None:
    first = _register(client, team.interviewer, project, legal_name="Farkhod Ismoilov")
    assert first.status_code == 303
    first_page = client.get(first.headers["location"])
    assert "The person is registered." in first_page.text
    assert "Possible duplicate" not in first_page.text
    pseudonym = re.search(r"<h1>([A-Za-z]+-[A-Za-z]+-[0-9]+)", first_page.text)
    assert pseudonym is not None
    second = _register(client, team.interviewer, project, legal_name="Фарход Исмоилов")
    second_page = client.get(second.headers["location"])
    assert "Possible duplicate" in second_page.text
    assert pseudonym.group(1) in second_page.text
    assert "Фарход" not in second_page.text  # the identity stays sealed until asked for


def test_invalid_registration_is_422_with_inline_errors_and_the_values_kept(
    client: TestClient, team: Team, project: Project, ctx: Context, clock: Clock
) -> None:
    response = _register(
        client,
        team.interviewer,
        project,
        legal_name="Kept Name",
        origin_state="QQ",
        birth_decade="1985",
        roles=["interviewee"],
    )
    assert response.status_code == 422
    assert 'id="origin_state-error"' in response.text
    assert 'id="birth_decade-error"' in response.text
    assert 'aria-invalid="true" aria-describedby="origin_state-error"' in response.text
    assert 'value="Kept Name"' in response.text
    assert '<option value="interviewee" selected>' in response.text
    missing = _register(client, team.interviewer, project, legal_name="  ")
    assert missing.status_code == 422
    assert 'id="legal_name-error"' in missing.text


def test_identity_is_shown_only_on_request_with_a_purpose_and_audited(
    client: TestClient, team: Team, project: Project, ctx: Context, clock: Clock
) -> None:
    person_id = _person_id(_register(client, team.interviewer, project, **_canary_form()))
    page = client.get(f"/persons/{person_id}")
    assert page.status_code == 200
    assert "Show identity" in page.text
    assert all(canary not in page.text for canary in CANARY_STRINGS)
    no_purpose = client.post(f"/persons/{person_id}/identity", data=_form(team.interviewer, purpose=""))
    assert no_purpose.status_code == 422
    assert CANARY["legal_name"] not in no_purpose.text
    shown = client.post(f"/persons/{person_id}/identity", data=_form(team.interviewer, purpose="safety"))
    assert shown.status_code == 200
    for value in (CANARY["legal_name"], CANARY["contacts"], CANARY["locations"], CANARY["birth_date"]):
        assert value in shown.text
    assert shown.headers["cache-control"] == "no-store"
    events = ctx.session.scalars(select(AuditEvent).where(AuditEvent.action == "person.read_identity")).all()
    assert [(event.object_id, event.reason) for event in events] == [(person_id, "safety")]
    forged = client.post(f"/persons/{person_id}/identity", data={"csrf_token": "forged", "purpose": "safety"})
    assert forged.status_code == 403


def test_coders_see_the_person_page_without_identity_or_its_controls(
    client: TestClient, team: Team, project: Project, clock: Clock
) -> None:
    person_id = _person_id(_register(client, team.interviewer, project, **_canary_form()))
    use(client, team.coder)
    for path in ("/persons", f"/projects/{project.id}/persons", f"/persons/{person_id}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert all(canary not in response.text for canary in CANARY_STRINGS), path
    page = client.get(f"/persons/{person_id}").text
    assert "Show identity" not in page
    assert "Edit this person" not in page
    assert "Add residence" not in page
    assert "UZ" in page
    assert (
        client.post(f"/persons/{person_id}/identity", data=_form(team.coder, purpose="safety")).status_code
        == 404
    )
    assert client.get(f"/persons/{person_id}/edit").status_code == 404
    for who in (team.auditor, team.admin):
        use(client, who)
        assert client.get(f"/persons/{person_id}").status_code == 404
    use(client, team.other_interviewer)
    assert client.get(f"/persons/{person_id}").status_code == 404
    assert client.get(f"/persons/{uuid.uuid4()}").status_code == 404


def test_editing_opens_the_identity_for_correction_and_saves_changes(
    client: TestClient, team: Team, project: Project, ctx: Context, clock: Clock
) -> None:
    person_id = _person_id(_register(client, team.interviewer, project, **_canary_form()))
    form = client.get(f"/persons/{person_id}/edit")
    assert form.status_code == 200
    assert f'value="{CANARY["legal_name"]}"' in form.text
    assert CANARY["transliterations"][0] in form.text
    event = ctx.session.scalars(select(AuditEvent).where(AuditEvent.action == "person.read_identity")).one()
    assert event.reason == "correction"
    changed = {**_canary_form(), "notes": "", "gender": "undisclosed", "origin_state": "TJ"}
    saved = client.post(
        f"/persons/{person_id}/edit", data=_form(team.interviewer, **changed), follow_redirects=False
    )
    assert saved.status_code == 303
    page = client.get(saved.headers["location"]).text
    assert "The changes are saved." in page
    assert "TJ" in page
    bad = client.post(
        f"/persons/{person_id}/edit",
        data=_form(team.interviewer, **{**changed, "gender": "x"}),
        follow_redirects=False,
    )
    assert bad.status_code == 422
    assert 'id="gender-error"' in bad.text


def test_residence_and_relation_forms_add_remove_and_explain_errors(
    client: TestClient, team: Team, project: Project, clock: Clock
) -> None:
    first = _person_id(_register(client, team.interviewer, project, legal_name="Form One"))
    second = _person_id(_register(client, team.interviewer, project, legal_name="Form Two"))
    added = client.post(
        f"/persons/{first}/residences",
        data=_form(
            team.interviewer, country="de", from_period="2019-05", to_period="", legal_status="refugee_status"
        ),
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = client.get(f"/persons/{first}").text
    assert "refugee status" in page
    bad = client.post(
        f"/persons/{first}/residences", data=_form(team.interviewer, country="de", from_period="2019-14")
    )
    assert bad.status_code == 422
    assert "The residence was not added" in bad.text
    related = client.post(
        f"/persons/{first}/relations",
        data=_form(team.interviewer, relation="sibling", other_person_id=second),
        follow_redirects=False,
    )
    assert related.status_code == 303
    assert "is the sibling of" in client.get(f"/persons/{second}").text
    again = client.post(
        f"/persons/{second}/relations",
        data=_form(team.interviewer, relation="sibling", other_person_id=first),
    )
    assert again.status_code == 422
    assert "already recorded" in again.text
    residence_id = re.search(r"/persons/[0-9a-f-]+/residences/([0-9a-f-]{36})/delete", page)
    assert residence_id is not None
    removed = client.post(
        f"/persons/{first}/residences/{residence_id.group(1)}/delete",
        data=_form(team.interviewer),
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert "No residence recorded yet" in client.get(f"/persons/{first}").text
