// The codebook page's search box: shows the codes whose text matches every word typed, with their parents.
// Plain script from our own origin (the CSP forbids inline script).
"use strict";
(function () {
  const input = document.querySelector("[data-codebook-filter]");
  if (!input) { return; }
  const tree = document.getElementById(input.dataset.codebookFilter);
  const status = document.getElementById("codebook-filter-status");
  if (!tree) { return; }
  const items = Array.prototype.slice.call(tree.querySelectorAll("li[data-code]"));
  function ownText(item) {
    const details = item.querySelector(":scope > details");
    if (!details) { return ""; }
    const parts = [];
    details.querySelectorAll("summary, dd").forEach(function (node) { parts.push(node.textContent); });
    return parts.join(" ").toLowerCase();
  }
  const texts = new Map(items.map(function (item) { return [item, ownText(item)]; }));
  function apply() {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    items.forEach(function (item) { item.hidden = words.length > 0; });
    items.forEach(function (item) {
      const text = texts.get(item);
      if (words.length && words.every(function (word) { return text.indexOf(word) !== -1; })) {
        shown += 1;
        // Show the match and every code above it, so the match keeps its place in the tree.
        for (let node = item; node && node !== tree; node = node.parentElement) {
          if (node.matches && node.matches("li[data-code]")) { node.hidden = false; }
        }
      }
    });
    if (status) {
      status.textContent = words.length ? shown + " matching code" + (shown === 1 ? "" : "s") : "";
    }
  }
  input.addEventListener("input", apply);
})();
