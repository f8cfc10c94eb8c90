// The coding page: turn a mouse selection of the transcript into code-point offsets for the coding form,
// filter the code tree, and keyboard shortcuts. Progressive enhancement: without this script the form still
// posts, with start and end typed by hand.
//
// Offsets: every run of transcript text sits in an element whose data-start is the code-point offset of its
// first character in the version's full pseudonymised text. A DOM selection gives offsets in UTF-16 code
// units inside a text node; astral characters (emoji, some scripts) are two units but one code point, so
// the units before the selection point are converted with Array.from, which iterates by code point.
"use strict";
(function () {
  const transcript = document.querySelector("[data-coding-transcript]");
  const form = document.getElementById("coding-form");
  if (!transcript || !form) { return; }
  const startField = document.getElementById("span-start");
  const endField = document.getElementById("span-end");
  const status = document.getElementById("selection-status");
  const filter = document.getElementById("code-filter");

  function codePoints(text) { return Array.from(text).length; }

  function pieceStart(element) { return Number(element.dataset.start); }

  // The code-point offset in the full text of a DOM boundary point (node, offset), or null outside the text.
  function toOffset(node, offset) {
    if (node.nodeType === Node.TEXT_NODE) {
      const piece = node.parentElement ? node.parentElement.closest("[data-start]") : null;
      if (!piece || !transcript.contains(piece)) { return null; }
      let before = 0;
      for (const child of piece.childNodes) {
        if (child === node) { break; }
        before += codePoints(child.textContent || "");
      }
      return pieceStart(piece) + before + codePoints(node.data.slice(0, offset));
    }
    if (node.nodeType !== Node.ELEMENT_NODE || !transcript.contains(node)) { return null; }
    if (node.matches("[data-start]")) {
      const kids = Array.from(node.childNodes).slice(0, offset);
      return pieceStart(node) + kids.reduce(function (sum, kid) { return sum + codePoints(kid.textContent || ""); }, 0);
    }
    if (node.classList.contains("turn-text")) {
      const pieces = node.querySelectorAll(":scope > [data-start]");
      if (offset < pieces.length) { return pieceStart(pieces[offset]); }
      if (pieces.length) {
        const last = pieces[pieces.length - 1];
        return pieceStart(last) + codePoints(last.textContent || "");
      }
    }
    return null;
  }

  function say(message) { if (status) { status.textContent = message; } }

  function readSelection() {
    const selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) { return; }
    const range = selection.getRangeAt(0);
    if (!transcript.contains(range.commonAncestorContainer)) { return; }
    const start = toOffset(range.startContainer, range.startOffset);
    const end = toOffset(range.endContainer, range.endOffset);
    if (start === null || end === null || end <= start) {
      say("Select text inside the transcript turns.");
      return;
    }
    startField.value = String(start);
    endField.value = String(end);
    const quoted = selection.toString().replace(/\s+/g, " ").trim();
    const preview = Array.from(quoted).length > 80 ? Array.from(quoted).slice(0, 80).join("") + "…" : quoted;
    say("Selected " + (end - start) + " characters (" + start + "–" + end + "): “" + preview + "”");
  }

  document.addEventListener("selectionchange", readSelection);
  transcript.addEventListener("mouseup", readSelection);
  transcript.addEventListener("keyup", readSelection);

  if (filter) {
    filter.addEventListener("input", function () {
      const wanted = filter.value.trim().toLowerCase();
      document.querySelectorAll("#code-tree .code-item").forEach(function (item) {
        item.hidden = wanted !== "" && !(item.dataset.filter || "").includes(wanted);
      });
    });
  }

  function typing(target) {
    return target instanceof HTMLElement && (target.isContentEditable || target.matches("textarea, input:not([type=checkbox])"));
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    const target = event.target;
    if (event.key === "/" && !typing(target) && filter) {
      event.preventDefault();
      filter.focus();
      return;
    }
    if ((event.key === "a" || event.key === "A") && target instanceof HTMLInputElement && target.matches("[data-code-choice]")) {
      event.preventDefault();
      target.checked = true;
      if (!startField.value || !endField.value) {
        say("Select a passage of the transcript first.");
        return;
      }
      form.requestSubmit();
    }
  });
})();
