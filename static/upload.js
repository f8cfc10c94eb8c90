// Upload progress for the transcript form (progressive enhancement: without this script the form posts
// normally). Sends the same multipart form with XMLHttpRequest, shows upload progress, then "parsing"
// while the server reads and pseudonymises the file, and finally shows the page the server answered with.
"use strict";
(function () {
  const form = document.querySelector("form[data-upload-progress]");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  const status = form.querySelector(".upload-status");
  const bar = status ? status.querySelector("progress") : null;
  const text = status ? status.querySelector("[role=status]") : null;
  const button = form.querySelector("button[type=submit]");

  function say(message) { if (text) { text.textContent = message; } }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", function (progress) {
      if (progress.lengthComputable && bar) {
        const percent = Math.round((progress.loaded / progress.total) * 100);
        bar.value = percent;
        say("Uploading: " + percent + "%");
      }
    });
    request.upload.addEventListener("load", function () {
      if (bar) { bar.removeAttribute("value"); }
      say("Uploaded. Parsing and pseudonymising the transcript…");
    });
    request.addEventListener("load", function () {
      if (request.status < 400 && request.responseURL) {
        window.location.assign(request.responseURL);
        return;
      }
      // A refused file: show the server's page, which explains why and stores nothing.
      document.open();
      document.write(request.responseText);
      document.close();
    });
    request.addEventListener("error", function () {
      if (button) { button.disabled = false; }
      say("The upload failed (network error). Nothing was stored; please try again.");
    });
    if (status) { status.hidden = false; }
    if (button) { button.disabled = true; }
    say("Uploading…");
    request.send(new FormData(form));
  });
})();
