"""A coder codes a passage in a real browser: select with the mouse selection API, apply, reload, see it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, screenshot

PASSPORT = "they took my passport at the border"
BROTHER = "My brother was questioned twice"

# Select a phrase of the transcript as a mouse drag would: a DOM range over the text node holding it.
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
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      root.dispatchEvent(new MouseEvent("mouseup", {bubbles: true}));
      return true;
    }
  }
  return false;
}
"""


def _login(page: Page, site: Site) -> None:
    page.goto(f"{site.base_url}/login")
    page.fill("#username", site.coder)
    page.fill("#password", site.password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _select(page: Page, site: Site, phrase: str) -> None:
    assert page.evaluate(SELECT, phrase) is True
    start = site.text.index(phrase)  # code points (Python str), past the astral emoji
    expect(page.locator("#span-start")).to_have_value(str(start))
    expect(page.locator("#span-end")).to_have_value(str(start + len(phrase)))


def test_a_coder_selects_a_passage_applies_a_code_and_sees_it_highlighted(page: Page, site: Site) -> None:
    _login(page, site)
    url = f"{site.base_url}/interviews/{site.interview_id}/code"
    page.goto(url)
    expect(page.locator("h1")).to_contain_text("Code the interview")
    _select(page, site, PASSPORT)
    expect(page.locator("#selection-status")).to_contain_text(PASSPORT)
    page.fill("#code-filter", "b1")
    expect(page.locator(".code-item", has_text="A1")).to_be_hidden()
    page.locator(".code-item", has_text="B1").first.locator("input").check()
    page.fill("#memo", "passport taken at the border")
    page.click("#apply-codes")
    page.wait_for_url("**/code?done=coded*")
    page.reload()
    expect(page.locator("mark.coded", has_text=PASSPORT)).to_have_count(1)
    expect(page.locator("#codings td.quote", has_text=PASSPORT)).to_have_count(1)

    # By keyboard: with a passage selected, focus a code and press A to apply it.
    _select(page, site, BROTHER)
    page.fill("#code-filter", "e1")
    page.locator(".code-item", has_text="E1").first.locator("input").focus()
    page.keyboard.press("a")
    page.wait_for_url("**/code?done=coded*")
    expect(page.locator("mark.coded", has_text=BROTHER)).to_have_count(1)
    expect(page.locator("#codings tbody tr")).to_have_count(2)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "coding.png")
