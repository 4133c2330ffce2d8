// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // The live view may send a row the page already shows (its cursor trails the clock on purpose).
  // Skip such swaps so an open editor or a focused control is not replaced by identical content.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    var fragment = event.detail.fragment;
    if (!target || !fragment || !target.classList || !target.classList.contains("item-row")) { return; }
    var incoming = fragment.firstElementChild || fragment.firstChild;
    if (!incoming || !incoming.getAttribute) { return; }
    var stamp = incoming.getAttribute("data-stamp");
    if (stamp && stamp === target.getAttribute("data-stamp")) {
      event.detail.shouldSwap = false;
    }
  });
})();
