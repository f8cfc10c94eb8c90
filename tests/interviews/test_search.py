"""Blind search: approved pseudonymised text only, Cyrillic and Latin, project-scoped, never names."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.context import Context
from app.identities import service as identities
from app.ingest import tokens
from app.interviews import service
from app.interviews.models import SearchToken
from app.projects.models import Project
from tests.auth_support import LoggedIn
from tests.interviews.conftest import World, get, new_interview, post, upload

STORY = (
    "Interviewer: What happened in Namangan?\n\n"
    "Farhod Ismoilov: The police summoned my father. Милиция вызвала отца на допрос.\n\n"
    "Interviewer: And your sister?\n\n"
    "Farhod Ismoilov: Dilnoza Ismoilova lost her job at the hospital.\n"
)


def _approved(client: TestClient, world: World, text: str = STORY) -> str:
    interview = new_interview(client, world)
    assert upload(client, world.interviewer, interview["id"], "t.txt", text.encode()).status_code == 201
    for flag in get(client, world.interviewer, f"/api/v1/interviews/{interview['id']}/flags").json():
        post(
            client,
            world.interviewer,
            f"/api/v1/interviews/{interview['id']}/flags/{flag['id']}",
            json={"decision": "redact"},
        )
    response = post(
        client, world.interviewer, f"/api/v1/interviews/{interview['id']}/transcripts/latest/approve"
    )
    assert response.status_code == 200, response.text
    return str(interview["id"])


def _search(client: TestClient, who: LoggedIn, query: str) -> list[dict[str, object]]:
    response = get(client, who, "/api/v1/search", params={"q": query})
    assert response.status_code == 200, response.text
    hits: list[dict[str, object]] = response.json()
    return hits


def test_latin_and_cyrillic_words_are_found(client: TestClient, world: World) -> None:
    interview_id = _approved(client, world)
    hits = _search(client, world.coder, "summoned father")
    assert [hit["seq"] for hit in hits] == [1]
    assert hits[0]["interview_id"] == interview_id
    assert "summoned" in str(hits[0]["snippet"])
    assert [hit["seq"] for hit in _search(client, world.coder, "допрос")] == [1]
    assert [hit["seq"] for hit in _search(client, world.coder, "ДОПРОС")] == [1]
    assert [hit["seq"] for hit in _search(client, world.coder, "hospital")] == [3]
    assert _search(client, world.coder, "hospital summoned") == []


def test_identity_names_never_match(client: TestClient, world: World) -> None:
    _approved(client, world)
    for name in ("Farhod", "Ismoilov", "Dilnoza", "Ismoilova", "Фарход", "Дилноза"):
        assert _search(client, world.coder, name) == [], name
        assert _search(client, world.interviewer, name) == [], name


def test_unapproved_transcripts_are_not_searchable(client: TestClient, world: World, ctx: Context) -> None:
    interview = new_interview(client, world)
    upload(client, world.interviewer, interview["id"], "t.txt", STORY.encode())
    assert _search(client, world.coder, "hospital") == []
    assert _search(client, world.interviewer, "hospital") == []
    assert ctx.session.scalars(select(SearchToken)).all() == []


def test_search_is_limited_to_the_callers_projects(
    client: TestClient, world: World, ctx: Context, login_as: Callable[..., LoggedIn]
) -> None:
    _approved(client, world)
    stranger = login_as(Role.CODER)
    assert _search(client, stranger, "hospital") == []
    # The same word in another project is found by that project's coder only, under its own key.
    other_interviewer = login_as(Role.INTERVIEWER)
    other_project = ctx.session.get(Project, other_interviewer.project_id)
    assert other_project is not None
    other_coder = login_as(Role.CODER, project_name=other_project.name)
    person = identities.register(ctx, project_id=other_project.id, legal_name="Rustam Boqiyev").person
    other = World(other_project, other_interviewer, other_coder, person.id, person.pseudonym, person.id, "")
    body = {
        "interviewee_person_id": str(person.id),
        "interview_month": "2024-11",
        "mode": "written",
        "languages": ["en"],
    }
    created = post(client, other_interviewer, f"/api/v1/projects/{other_project.id}/interviews", json=body)
    assert created.status_code == 201
    interview_id = created.json()["id"]
    assert (
        upload(
            client, other_interviewer, interview_id, "o.txt", b"Q: Where?\n\nRustam Boqiyev: At the hospital."
        ).status_code
        == 201
    )
    for flag in get(client, other_interviewer, f"/api/v1/interviews/{interview_id}/flags").json():
        post(
            client,
            other_interviewer,
            f"/api/v1/interviews/{interview_id}/flags/{flag['id']}",
            json={"decision": "redact"},
        )
    assert (
        post(
            client, other_interviewer, f"/api/v1/interviews/{interview_id}/transcripts/latest/approve"
        ).status_code
        == 200
    )
    assert {hit["interview_id"] for hit in _search(client, other.coder, "hospital")} == {interview_id}
    assert interview_id not in {hit["interview_id"] for hit in _search(client, world.coder, "hospital")}
    stored = set(ctx.session.scalars(select(SearchToken.token)).all())
    keys = ctx.runtime.keys
    mine = tokens.keyed(service._search_key(keys, world.project.id), tokens.query_tokens("hospital"))
    theirs = tokens.keyed(service._search_key(keys, other_project.id), tokens.query_tokens("hospital"))
    assert mine <= stored
    assert theirs <= stored
    assert not mine & theirs  # equal words of two projects do not share a token


def test_search_is_audited_without_the_query(client: TestClient, world: World, ctx: Context) -> None:
    _approved(client, world)
    _search(client, world.coder, "hospital")
    events = ctx.session.scalars(select(AuditEvent).where(AuditEvent.action == "transcript.search")).all()
    assert len(events) == 1
    assert "hospital" not in str([events[0].object_id, events[0].reason, events[0].object_type])
    reads = ctx.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "transcript.read_pseudonymised", AuditEvent.reason == "search"
        )
    ).all()
    assert len(reads) == 1


def test_empty_or_wordless_queries_are_refused(client: TestClient, world: World) -> None:
    assert get(client, world.coder, "/api/v1/search", params={"q": ""}).status_code == 422
    assert get(client, world.coder, "/api/v1/search", params={"q": "!!! ..."}).status_code == 422
    page = get(client, world.coder, "/search", params={"q": "!!!"})
    assert page.status_code == 200
    assert "flash error" in page.text


def test_the_search_page_shows_snippets(client: TestClient, world: World) -> None:
    _approved(client, world)
    page = get(client, world.coder, "/search", params={"q": "hospital"})
    assert page.status_code == 200
    assert "hospital" in page.text
    assert "1 matching turn" in page.text
