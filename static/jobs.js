// Export job progress: poll the job's JSON status and reload the page when it ends (the server then
// shows the download or the failure). Without this script a <noscript> meta refresh reloads the page.
"use strict";
(function () {
  const card = document.getElementById("export-job");
  if (!card || !window.fetch) { return; }
  const url = card.dataset.statusUrl;
  const bar = document.getElementById("job-progress");
  const state = document.getElementById("job-state");
  let delay = 500;

  function show(status) {
    if (bar) { bar.value = status.progress; bar.textContent = status.progress + "%"; }
    if (state) {
      state.textContent = status.status === "queued" ? "Waiting to start…" : "Building the file: " + status.progress + "%";
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (status) {
        if (status.status === "done" || status.status === "failed") {
          window.location.reload();
          return;
        }
        show(status);
        delay = Math.min(delay * 1.5, 5000);
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        if (state) { state.textContent = "Lost contact with Harbour; retrying…"; }
        window.setTimeout(poll, 5000);
      });
  }
  window.setTimeout(poll, delay);
})();
