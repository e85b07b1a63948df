// Live parts of a page: re-read every few seconds while the page is visible. The server
// renders them (autoescaped), so nothing here builds markup from data.
(function () {
  "use strict";
  var live = document.querySelector("[data-live]");
  if (live) {
    var every = parseInt(live.getAttribute("data-refresh-ms"), 10) || 5000;
    var refresh = function () {
      if (document.hidden) { return; }
      fetch(live.getAttribute("data-live"), { headers: { "Accept": "text/html" }, cache: "no-store" })
        .then(function (r) {
          // Sent to the sign-in page (the session expired): show it rather than splice it in.
          if (r.redirected) { window.location.reload(); return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (html) { if (html !== null) { live.innerHTML = html; } })
        .catch(function () { /* the next round tries again */ });
    };
    setInterval(refresh, every);
  }
  document.querySelectorAll("[data-autosubmit]").forEach(function (input) {
    input.addEventListener("change", function () { input.form.submit(); });
  });
}());
