// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
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
      return;
    }
    // A ticked row stays ticked, with the version it was ticked at: a bulk change then reports the
    // conflict instead of applying to a state its author did not see.
    var oldPick = target.querySelector(".bulk-pick");
    var newPick = incoming.querySelector && incoming.querySelector(".bulk-pick");
    if (oldPick && oldPick.checked && newPick) {
      newPick.setAttribute("checked", "checked");
      newPick.setAttribute("value", oldPick.value);
    }
  });

  // Status drop-downs save on an explicit choice only. A choice made with the mouse (or confirmed
  // with Enter in the open list) saves at once; arrow keys on the closed control only pick a value,
  // shown with its Save button, until Enter or Save; Escape puts the saved value back.
  var NAVIGATION_KEYS = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"];
  function statusSelect(target) {
    return target && target.classList && target.classList.contains("status-select") ? target : null;
  }
  function savedValue(select) {
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].defaultSelected) { return select.options[i].value; }
    }
    return select.options.length ? select.options[0].value : "";
  }
  function markDirty(select) {
    var form = select.form;
    if (form) { form.classList.toggle("dirty", select.value !== savedValue(select)); }
  }
  document.addEventListener("keydown", function (event) {
    var select = statusSelect(event.target);
    if (!select) { return; }
    if (NAVIGATION_KEYS.indexOf(event.key) >= 0 || event.key.length === 1) {
      select.setAttribute("data-keyed", "1");
    } else if (event.key === "Enter" && select.value !== savedValue(select)) {
      event.preventDefault();
      select.form.requestSubmit();
    } else if (event.key === "Escape") {
      select.value = savedValue(select);
      markDirty(select);
    }
  });
  document.addEventListener("pointerdown", function (event) {
    var select = statusSelect(event.target);
    if (select) { select.removeAttribute("data-keyed"); }
  });
  document.addEventListener("change", function (event) {
    var select = statusSelect(event.target);
    if (select) {
      if (select.getAttribute("data-keyed") === "1") {
        markDirty(select);
      } else if (select.value !== savedValue(select)) {
        select.form.requestSubmit();
      }
      return;
    }
    if (event.target.classList && event.target.classList.contains("bulk-pick")) {
      var count = document.querySelectorAll(".bulk-pick:checked").length;
      var shown = document.querySelector("[data-bulk-count]");
      if (shown) { shown.textContent = String(count); }
      var selected = document.getElementById("bulk-scope-selected");
      if (selected && count) { selected.checked = true; }
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
