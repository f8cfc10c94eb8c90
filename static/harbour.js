// Harbour's page script: no inline script anywhere (the CSP forbids it).
"use strict";
(function () {
  // Warn a minute before the idle timeout ends the session.
  const minutes = Number(document.body.dataset.idleMinutes || 0);
  if (minutes > 1) {
    window.setTimeout(function () {
      const warning = document.getElementById("idle-warning");
      if (warning) { warning.hidden = false; }
    }, (minutes - 1) * 60 * 1000);
  }
})();
