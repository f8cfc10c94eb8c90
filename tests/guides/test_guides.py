"""Interview guides: versions with stable question keys, suggested and confirmed links, answers."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from app.auth.models import Role
from app.context import Context
from tests.interviews.conftest import World, get, new_interview, post, upload

GUIDE = {
    "topics": [
        {
            "title": "Leaving the country",
            "questions": [{"text": "When did you leave the country?"}, {"text": "Who helped you leave?"}],
        },
        {"title": "Family at home", "questions": [{"text": "Did the authorities contact your family?"}]},
    ]
}

TRANSCRIPT = (
    "Interviewer: When did you leave the country?\n\n"
    "Farhod Ismoilov: In the spring of 2019, after the second summons.\n\n"
    "Interviewer: And later, did the authorities contact your family at home?\n\n"
    "Farhod Ismoilov: Yes. They came to my mother twice.\n\n"
    "Interviewer: What do you do now?\n\n"
    "Farhod Ismoilov: I teach.\n"
)


def _save_guide(client: TestClient, world: World, body: dict[str, Any] = GUIDE) -> dict[str, Any]:
    response = client.put(
        f"/api/v1/projects/{world.project.id}/guide",
        json=body,
        headers={"x-csrf-token": world.interviewer.csrf},
    )
    assert response.status_code == 201, response.text
    saved: dict[str, Any] = response.json()
    return saved


def _approved_interview(client: TestClient, world: World) -> str:
    interview = new_interview(client, world)
    assert upload(client, world.interviewer, interview["id"], "t.txt", TRANSCRIPT.encode()).status_code == 201
    approved = post(
        client, world.interviewer, f"/api/v1/interviews/{interview['id']}/transcripts/latest/approve"
    )
    assert approved.status_code == 200, approved.text
    return str(interview["id"])


def test_a_guide_is_versioned_and_questions_keep_their_keys(client: TestClient, world: World) -> None:
    get(client, world.interviewer, "/")
    first = _save_guide(client, world)
    assert first["version"] == 1
    question = first["topics"][0]["questions"][0]
    revised = {
        "topics": [
            {
                "title": "Leaving the country",
                "key": first["topics"][0]["key"],
                "questions": [{"text": "When and how did you leave the country?", "key": question["key"]}],
            }
        ]
    }
    second = _save_guide(client, world, revised)
    assert second["version"] == 2
    assert second["topics"][0]["questions"][0]["key"] == question["key"]
    assert second["topics"][0]["questions"][0]["text"] == "When and how did you leave the country?"
    foreign = {
        "topics": [
            {"title": "x", "questions": [{"text": "y", "key": "00000000-0000-4000-8000-000000000000"}]}
        ]
    }
    response = client.put(
        f"/api/v1/projects/{world.project.id}/guide",
        json=foreign,
        headers={"x-csrf-token": world.interviewer.csrf},
    )
    assert response.status_code == 422


def test_guide_texts_are_sealed_in_the_database(client: TestClient, world: World, ctx: Context) -> None:
    get(client, world.interviewer, "/")
    _save_guide(client, world)
    stored = ctx.session.execute(text("SELECT text FROM guide_question")).scalars().all()
    assert stored
    assert all(b"leave the country" not in bytes(value) for value in stored)


def test_suggested_links_group_each_answer_under_its_question(client: TestClient, world: World) -> None:
    get(client, world.interviewer, "/")
    guide = _save_guide(client, world)
    interview_id = _approved_interview(client, world)
    suggested = post(client, world.interviewer, f"/api/v1/interviews/{interview_id}/question-links/suggest")
    assert suggested.status_code == 200, suggested.text
    assert suggested.json()["linked"] == 4
    links = get(client, world.interviewer, f"/api/v1/interviews/{interview_id}/question-links").json()
    leave_key = guide["topics"][0]["questions"][0]["key"]
    family_key = guide["topics"][1]["questions"][0]["key"]
    assert [(link["seq"], link["question_key"]) for link in links] == [
        (0, leave_key),
        (1, leave_key),
        (2, family_key),
        (3, family_key),
    ]
    answers = get(client, world.coder, f"/api/v1/guide-questions/{family_key}/answers")
    assert answers.status_code == 200
    assert [answer["text"] for answer in answers.json()] == ["Yes. They came to my mother twice."]
    assert all(answer["interviewee"] == world.interviewee_pseudonym for answer in answers.json())
    page = get(client, world.coder, f"/guide-questions/{family_key}/answers")
    assert "They came to my mother twice." in page.text


def test_an_interviewer_confirms_or_removes_a_link_and_suggestions_keep_it(
    client: TestClient, world: World
) -> None:
    get(client, world.interviewer, "/")
    guide = _save_guide(client, world)
    interview_id = _approved_interview(client, world)
    post(client, world.interviewer, f"/api/v1/interviews/{interview_id}/question-links/suggest")
    links = get(client, world.interviewer, f"/api/v1/interviews/{interview_id}/question-links").json()
    helped_key = guide["topics"][0]["questions"][1]["key"]
    last_answer = links[-1]["segment_id"]
    use_put = client.put(
        f"/api/v1/segments/{last_answer}/question",
        json={"question_key": helped_key},
        headers={"x-csrf-token": world.interviewer.csrf},
    )
    assert use_put.status_code == 204
    post(client, world.interviewer, f"/api/v1/interviews/{interview_id}/question-links/suggest")
    after = {
        link["segment_id"]: link
        for link in get(client, world.interviewer, f"/api/v1/interviews/{interview_id}/question-links").json()
    }
    assert after[last_answer]["question_key"] == helped_key
    assert after[last_answer]["origin"] == "confirmed"
    removed = client.put(
        f"/api/v1/segments/{last_answer}/question",
        json={"question_key": None},
        headers={"x-csrf-token": world.interviewer.csrf},
    )
    assert removed.status_code == 204


def test_coders_cannot_edit_the_guide_and_other_projects_do_not_see_it(
    client: TestClient, world: World, login_as: Any
) -> None:
    get(client, world.interviewer, "/")
    guide = _save_guide(client, world)
    key = guide["topics"][0]["questions"][0]["key"]
    get(client, world.coder, "/")
    response = client.put(
        f"/api/v1/projects/{world.project.id}/guide", json=GUIDE, headers={"x-csrf-token": world.coder.csrf}
    )
    assert response.status_code == 404
    outsider = login_as(Role.CODER)
    assert get(client, outsider, f"/api/v1/projects/{world.project.id}/guide").status_code == 404
    assert get(client, outsider, f"/api/v1/guide-questions/{key}/answers").status_code == 404


def test_the_guide_page_edits_an_outline(client: TestClient, world: World) -> None:
    page = get(client, world.interviewer, f"/projects/{world.project.id}/guide")
    assert "no interview guide yet" in page.text
    outline = "# Leaving\n- When did you leave?\n- Who helped you?\n\n# Family\n- Were they questioned?\n"
    saved = client.post(
        f"/projects/{world.project.id}/guide",
        data={"outline": outline, "csrf_token": world.interviewer.csrf},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    first = get(client, world.interviewer, f"/api/v1/projects/{world.project.id}/guide").json()
    reworded = outline.replace("Who helped you?", "Who helped you to leave?")
    client.post(
        f"/projects/{world.project.id}/guide",
        data={"outline": reworded, "csrf_token": world.interviewer.csrf},
    )
    second = get(client, world.interviewer, f"/api/v1/projects/{world.project.id}/guide").json()
    assert second["version"] == 2
    assert second["topics"][0]["questions"][1]["key"] == first["topics"][0]["questions"][1]["key"]
    bad = client.post(
        f"/projects/{world.project.id}/guide",
        data={"outline": "- orphan question", "csrf_token": world.interviewer.csrf},
    )
    assert bad.status_code == 422
    assert "needs a" in bad.text
