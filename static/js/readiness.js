// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // The live view may send a row the page already shows (your own save comes back with the next poll).
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

  // Cancel on a form loaded into the page (the section bulk form): empty its slot instead of leaving.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-dismiss]");
    if (!link) { return; }
    var slot = document.getElementById(link.getAttribute("data-dismiss"));
    if (!slot) { return; }
    event.preventDefault();
    var opener = slot.parentElement && slot.parentElement.querySelector("a[hx-get]");
    slot.innerHTML = "";
    if (opener) { opener.focus(); }
  });

  // A loaded form takes the focus, so keyboard users land in it.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.classList && target.classList.contains("bulk")) {
      var first = target.querySelector("select, input:not([type=hidden])");
      if (first) { first.focus(); }
    }
  });

  // Links to #something inside a closed <details> (a collapsed panel or section): open it and scroll.
  function revealHash() {
    if (!location.hash || location.hash.length < 2) { return; }
    var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!target) { return; }
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
    // Keep the top of the page (and its messages) in view when the target is on the first screen.
    if (target.getBoundingClientRect().top + window.scrollY < window.innerHeight * 0.8) {
      window.scrollTo(0, 0);
    } else {
      target.scrollIntoView();
    }
  }
  window.addEventListener("load", revealHash);
  window.addEventListener("hashchange", revealHash);
})();
