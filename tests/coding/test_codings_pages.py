"""The coding pages: code by form post, highlighted spans, delete, mark done, assignments, adjudication."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.testclient import TestClient

from tests.auth_support import LoggedIn, use
from tests.coding.conftest import Bench, apply, codings_of, span
from tests.coding.test_assignments import BROTHER, PASSPORT, assign, done
from tests.interviews.conftest import get


def _form(client: TestClient, who: LoggedIn, url: str, data: Mapping[str, Any]) -> int:
    use(client, who)
    response = client.post(url, data={"csrf_token": who.csrf, **data}, follow_redirects=False)
    return response.status_code


def test_the_coding_page_codes_by_form_and_highlights_the_span(client: TestClient, bench: Bench) -> None:
    start, end = span(client, bench.coder, bench.interview_id, PASSPORT)
    url = f"/interviews/{bench.interview_id}/code"
    page = get(client, bench.coder, url)
    assert page.status_code == 200
    assert "B1" in page.text
    assert 'id="code-filter"' in page.text
    assert "coding.js" in page.text
    data = {"start": str(start), "end": str(end), "code_ids": [str(bench.codes["B1"])], "memo": "by form"}
    assert _form(client, bench.coder, url, data) == 303
    page = get(client, bench.coder, url)
    assert f'<mark class="coded code-p1" data-start="{start}" title="B1">{PASSPORT}</mark>' in page.text
    assert "by form" in page.text
    bad = _form(client, bench.coder, url, {"start": "", "end": "", "code_ids": [str(bench.codes["B1"])]})
    assert bad == 422
    coding_id = codings_of(client, bench.coder, bench.interview_id)[0]["id"]
    assert _form(client, bench.coder, f"/codings/{coding_id}/delete", {}) == 303
    assert codings_of(client, bench.coder, bench.interview_id) == []
    assert get(client, bench.interviewer, url).status_code == 404


def test_assignment_and_adjudication_pages(client: TestClient, bench: Bench) -> None:
    project_url = f"/projects/{bench.world.project.id}/assignments"
    assert get(client, bench.interviewer, project_url).status_code == 200
    form = {
        "interview_id": bench.interview_id,
        "coder_ids": [str(bench.coder.user.id), str(bench.second.user.id)],
        "blind": "true",
    }
    assert _form(client, bench.interviewer, project_url, form) == 303
    page = get(client, bench.interviewer, project_url)
    assert bench.second.user.username in page.text
    assert "blind" in page.text
    assign(client, bench)  # idempotent
    apply(client, bench.coder, bench.interview_id, BROTHER, [bench.codes["E1"]])
    apply(client, bench.second, bench.interview_id, PASSPORT, [bench.codes["B1"]])
    adjudicate = f"/interviews/{bench.interview_id}/adjudicate"
    assert "every assigned coder" in get(client, bench.coder, adjudicate).text
    assert _form(client, bench.coder, f"/interviews/{bench.interview_id}/done", {}) == 303
    done(client, bench, bench.second)
    page = get(client, bench.coder, adjudicate)
    assert page.status_code == 200
    assert "Applied by" in page.text
    assert BROTHER in page.text
    segment = get(client, bench.coder, f"/api/v1/interviews/{bench.interview_id}/disagreements").json()[0]
    decision = {"segment_id": segment["segment_id"], "code_id": segment["code_id"], "decision": "apply"}
    assert _form(client, bench.coder, adjudicate, decision) == 303
    assert "decided: apply" in get(client, bench.coder, adjudicate).text
