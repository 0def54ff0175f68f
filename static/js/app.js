// Refreshes the channels banner without a reload. Pages work without it: this only keeps the banner current.
(function () {
  "use strict";
  var REFRESH_MS = 30000;
  function refresh() {
    var banner = document.getElementById("attention-banner");
    if (!banner || document.hidden) return;
    fetch(banner.getAttribute("data-refresh-url"), {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#attention-banner");
        // Leave the banner alone while the user is on one of its buttons.
        if (fresh && !banner.contains(document.activeElement) && fresh.innerHTML !== banner.innerHTML) {
          banner.innerHTML = fresh.innerHTML;
        }
      })
      .catch(function () { /* offline for a moment: the next round tries again */ });
  }
  document.addEventListener("DOMContentLoaded", function () { setInterval(refresh, REFRESH_MS); });
})();
