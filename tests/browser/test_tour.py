"""Each role walks its main pages in a real browser: every page loads without an error or a Content-Security-
Policy violation (the `page` fixture fails on any), keeps its layout at tablet width, and the README's
screenshots come from here (scripts/screenshots)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Site, screenshot


def _pages(site: Site, role: str) -> list[tuple[str, str | None]]:
    project, interview = site.project_id, site.interview_id
    tours = {
        "interviewer": [
            ("/", None),
            ("/persons", None),
            (f"/projects/{project}/persons", "people.png"),
            ("/interviews", None),
            (f"/interviews/{interview}", "interview.png"),
            (f"/projects/{project}/guide", None),
        ],
        "coder": [
            ("/", "home-coder.png"),
            (f"/interviews/{interview}/read", "transcript.png"),
            (f"/projects/{project}/codebook", "codebook.png"),
            (f"/projects/{project}/assignments", None),
            (f"/projects/{project}/agreement", None),
            (f"/projects/{project}/reports", None),
            (f"/projects/{project}/incidents", "incidents.png"),
            ("/search?q=passport", "search.png"),
        ],
        "auditor": [("/", None), ("/audit?verify=1", "audit.png")],
    }
    return tours[role]


@pytest.mark.parametrize("role", ["interviewer", "coder", "auditor"])
def test_each_role_walks_its_pages_without_errors(page: Page, site: Site, role: str) -> None:
    username, password = site.accounts[role]
    page.goto(f"{site.base_url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url
    for width in (1280, 800):
        page.set_viewport_size({"width": width, "height": 900})
        for path, picture in _pages(site, role):
            response = page.goto(f"{site.base_url}{path}")
            assert response is not None
            assert response.status == 200, (path, response.status)
            assert page.locator("main h1").count() >= 1, path
            # Nothing but wide tables may scroll sideways: the page itself fits the window.
            overflow = page.evaluate("document.body.scrollWidth - window.innerWidth")
            assert overflow <= 1, (path, width, overflow)
            if picture and width == 1280:
                screenshot(page, picture)
