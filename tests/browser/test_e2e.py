"""End to end in a real browser: the research flow through the pages, one role after another, and the guards.

1. An interviewer registers a person, records an interview, uploads a .docx transcript, decides its flags
   and approves it.
2. A coder codes a passage with an incident-bearing code and turns the drafted mention into an incident.
3. The coder starts an export, watches its progress and downloads the file.
4. An auditor verifies the log and finds each of those steps in it.
Plus: a coder cannot reach identified text, a form without its CSRF token is refused, and markup in a
transcript is shown as text and never runs.

Every page must load without a console error or a Content-Security-Policy violation (`watched` below);
screenshots go to test-artifacts/screenshots/, or to docs/screenshots/ when HARBOUR_SCREENSHOTS=1
(scripts/screenshots).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.browser.conftest import Site, screenshot

FIXTURES = Path(__file__).resolve().parents[1] / "ingest" / "fixtures"
INTERVIEWEE = "Farhod Oydinsoyev"  # the fictional speaker of tests/ingest/fixtures/interview.docx
PASSPORT = "they took my passport at the border"
SCRIPT = '<script>alert("harbour-xss")</script>'

SELECT = """
(phrase) => {
  const root = document.querySelector("[data-coding-transcript]");
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(phrase);
    if (at >= 0) {
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + phrase.length);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      root.dispatchEvent(new MouseEvent("mouseup", {bubbles: true}));
      return true;
    }
  }
  return false;
}
"""

# Form controls without a name a screen reader can read: no <label for>, no wrapping label, no aria-label.
UNLABELLED = """
() => Array.from(document.querySelectorAll("input, select, textarea"))
  .filter((el) => el.type !== "hidden" && !el.disabled)
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                  && !el.getAttribute("aria-labelledby"))
  .map((el) => el.outerHTML.slice(0, 120))
"""


class Watched:
    """What the browser reported while a scenario ran."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.expected_failures: list[str] = []
        self.failed: list[str] = []  # responses with an error status, named in the failure message
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"script error: {error}"))
        page.on("dialog", self._dialog)
        page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def _console(self, message: object) -> None:
        text = getattr(message, "text", "")
        reported = getattr(message, "type", "") == "error" or "Content Security Policy" in text
        if reported and not any(expected in text for expected in self.expected_failures):
            self.errors.append(text)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def watched(browser: Browser) -> Iterator[tuple[Page, Watched]]:
    """A page that fails the test on any console error, CSP violation, script error or dialog."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    seen = Watched(opened)
    yield opened, seen
    context.close()
    assert seen.errors == [], (seen.errors, seen.failed)
    assert seen.dialogs == [], seen.dialogs


def _login(page: Page, site: Site, role: str) -> None:
    username, password = site.accounts[role]
    page.goto(f"{site.base_url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url


def _labelled(page: Page) -> None:
    assert page.evaluate(UNLABELLED) == [], page.url


def _new_interview(page: Page, site: Site, legal_name: str) -> str:
    """Register a person and record an interview with them; the interview's id."""
    page.goto(f"{site.base_url}/projects/{site.project_id}/persons/new")
    _labelled(page)
    page.fill("#legal_name", legal_name)
    page.click("button:has-text('Register')")
    page.wait_for_url(re.compile(r"/persons/[0-9a-f-]{36}"))
    person_id = re.findall(r"/persons/([0-9a-f-]{36})", page.url)[0]
    page.goto(f"{site.base_url}/interviews")
    _labelled(page)
    form = page.locator("form[action='/interviews']").first
    form.locator("select[name=interviewee_person_id]").select_option(person_id)
    form.locator("input[name=interview_month]").fill("2025-04")
    form.locator("input[name=languages]").fill("uz ru")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/interviews/[0-9a-f-]{36}\?done=created"))
    found: str = re.findall(r"/interviews/([0-9a-f-]{36})", page.url)[0]
    return found


def _upload(page: Page, site: Site, interview_id: str, file: Path) -> None:
    page.goto(f"{site.base_url}/interviews/{interview_id}")
    page.set_input_files("#file", str(file))
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/interviews/{interview_id}(/review)?\?done="))


def _approve(page: Page, site: Site, interview_id: str) -> None:
    page.goto(f"{site.base_url}/interviews/{interview_id}/review")
    _labelled(page)
    while page.locator("form.flag", has_text="now: pending").count():
        page.locator("form.flag", has_text="now: pending").first.locator("button[type=submit]").click()
        page.wait_for_load_state()
    page.click("button:has-text('Approve version')")
    page.wait_for_load_state()
    expect(page.locator("main")).to_contain_text("approved")


def _audited(page: Page, site: Site, action: str, object_id: str = "") -> None:
    page.goto(f"{site.base_url}/audit?action={action}&object_id={object_id}")
    expect(page.locator("main table tbody tr").first).to_contain_text(action)


def test_interviewer_coder_export_and_auditor_end_to_end(
    watched: tuple[Page, Watched], browser: Browser, site: Site
) -> None:
    page, _seen = watched

    # 1. The interviewer: person, interview, .docx transcript, flags decided, approved.
    _login(page, site, "interviewer")
    interview_id = _new_interview(page, site, INTERVIEWEE)
    _upload(page, site, interview_id, FIXTURES / "interview.docx")
    _approve(page, site, interview_id)
    page.goto(f"{site.base_url}/interviews/{interview_id}/read")
    expect(page.locator("main")).not_to_contain_text(INTERVIEWEE)  # pseudonymised
    screenshot(page, "e2e-approved.png")

    # 2. The coder: a code on a passage of the spare interview drafts a mention, which becomes an incident.
    page.context.clear_cookies()
    _login(page, site, "coder")
    page.goto(f"{site.base_url}/interviews/{site.spare_interview_id}/code")
    _labelled(page)
    assert page.evaluate(SELECT, PASSPORT) is True
    page.fill("#code-filter", "b1")
    page.locator(".code-item", has_text="B1").first.locator("input").check()
    page.click("#apply-codes")
    page.wait_for_url("**/code?done=coded*")
    expect(page.locator("mark.coded", has_text=PASSPORT)).to_have_count(1)
    page.goto(f"{site.base_url}/projects/{site.project_id}/incidents")
    page.locator("a[href^='/incident-mentions/']").first.click()
    page.wait_for_url(re.compile(r"/incident-mentions/"))
    _labelled(page)
    page.fill("#m-phrase", "last winter")
    page.click("form[action^='/incident-mentions/'] >> button:has-text('Save')")
    page.wait_for_load_state()
    page.click("button:has-text('Cluster')")
    page.wait_for_url(re.compile(r"/incidents/[0-9a-f-]{36}"))
    incident_id = re.findall(r"/incidents/([0-9a-f-]{36})", page.url)[0]
    expect(page.locator("main h1")).to_be_visible()
    screenshot(page, "e2e-incident.png")

    # 3. The export: started from the page, its progress shown, then downloaded.
    page.goto(f"{site.base_url}/projects/{site.project_id}/exports")
    _labelled(page)
    page.select_option(f"#export-{site.project_id}", "incidents:csv")
    page.click("button:has-text('Start export')")
    page.wait_for_url(re.compile(r"/exports/[0-9a-f-]{36}$"))
    job_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#export-job")).to_be_visible()
    expect(page.locator("#job-progress, #job-download").first).to_be_visible()
    download_link = page.locator("#job-download")
    expect(download_link).to_be_visible(timeout=30_000)  # the page script reloads when the job ends
    screenshot(page, "export.png")
    with page.expect_download() as event:
        download_link.click()
    downloaded = Path(event.value.path()).read_text(encoding="utf-8-sig")
    header = next(csv.reader(io.StringIO(downloaded)))
    direct = page.request.get(
        f"{site.base_url}/api/v1/projects/{site.project_id}/exports/incidents?format=csv"
    )
    assert header == next(csv.reader(io.StringIO(direct.text().lstrip("\ufeff"))))
    assert "tactic" in header
    page.goto(f"{site.base_url}/exports")
    expect(page.locator("main")).to_contain_text("Showing 1–")

    # 4. The auditor: the log verifies, and every step above is in it.
    page.context.clear_cookies()
    _login(page, site, "auditor")
    page.goto(f"{site.base_url}/audit?verify=1")
    expect(page.locator(".status-ok")).to_contain_text("The log verifies")
    _labelled(page)
    screenshot(page, "audit.png")
    _audited(page, site, "person.register")
    _audited(page, site, "interview.create", interview_id)
    _audited(page, site, "transcript.upload")
    _audited(page, site, "transcript.approve")
    _audited(page, site, "coding.create")
    _audited(page, site, "incident.mention_update")
    _audited(page, site, "incident.create", incident_id)
    for action in ("export_job.start", "export_job.complete", "export_job.download"):
        _audited(page, site, action, job_id)
    _audited(page, site, "export.incidents")


def test_a_coder_cannot_reach_identified_text(watched: tuple[Page, Watched], site: Site) -> None:
    page, seen = watched
    _login(page, site, "coder")
    seen.expected_failures.append("404")
    for path in (
        f"/interviews/{site.interview_id}/review",
        f"/api/v1/interviews/{site.interview_id}/transcripts/latest/identified",
    ):
        response = page.request.get(f"{site.base_url}{path}")
        # Refused by role on a route naming an object: 404, the same answer as an object out of scope
        # (tests/auth/test_route_policy.py checks this for every route).
        assert response.status == 404, (path, response.status)
        assert "Uydirma" not in response.text()


def test_a_form_posted_without_its_csrf_token_is_refused(watched: tuple[Page, Watched], site: Site) -> None:
    page, _seen = watched
    _login(page, site, "coder")
    page.goto(f"{site.base_url}/projects/{site.project_id}/exports")
    refused = page.request.post(
        f"{site.base_url}/projects/{site.project_id}/exports",
        form={"export": "incidents:csv"},
        max_redirects=0,
    )
    assert refused.status == 403
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    accepted = page.request.post(
        f"{site.base_url}/projects/{site.project_id}/exports",
        form={"export": "incidents:csv", "csrf_token": token or ""},
        max_redirects=0,
    )
    assert accepted.status == 303  # the same form with its token goes through


def test_markup_in_a_transcript_is_shown_as_text_and_never_runs(
    watched: tuple[Page, Watched], site: Site, tmp_path: Path
) -> None:
    page, seen = watched
    transcript = tmp_path / "markup.txt"
    transcript.write_text(
        f"Interviewer: What did the note say?\n\nZarina Tuqima: It said {SCRIPT} and nothing else.\n",
        encoding="utf-8",
    )
    _login(page, site, "interviewer")
    interview_id = _new_interview(page, site, f"Zarina Tuqima {uuid.uuid4().hex[:4]}")
    _upload(page, site, interview_id, transcript)
    for path in (f"/interviews/{interview_id}/review", f"/interviews/{interview_id}/read"):
        if path.endswith("/read"):
            _approve(page, site, interview_id)
        page.goto(f"{site.base_url}{path}")
        expect(page.locator("main").get_by_text(SCRIPT, exact=False).first).to_be_visible()
        assert page.locator("main script").count() == 0
    assert seen.dialogs == []
    screenshot(page, "e2e-markup.png")
