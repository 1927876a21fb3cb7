// Filters the index as the reader types and picks a verdict. Without JavaScript the page is a plain list
// (and the verdict choice still filters it through CSS); nothing here is needed to read any entry.
(function () {
  "use strict";
  var form = document.getElementById("finder");
  var list = document.getElementById("entries");
  if (!form || !list) { return; }
  var box = document.getElementById("q");
  var count = document.getElementById("count");
  var none = document.getElementById("no-match");
  var items = Array.prototype.slice.call(list.children);
  var total = items.length;

  function fold(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }
  var haystacks = items.map(function (li) { return fold(li.getAttribute("data-search") || ""); });

  function chosenVerdict() {
    var checked = form.querySelector("input[name=verdict]:checked");
    return checked ? checked.value : "";
  }

  function apply() {
    var words = fold(box.value).split(/\s+/).filter(Boolean);
    var verdict = chosenVerdict();
    var shown = 0;
    items.forEach(function (li, i) {
      var ok = (!verdict || li.getAttribute("data-verdict") === verdict) &&
        words.every(function (w) { return haystacks[i].indexOf(w) !== -1; });
      li.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown === total ? total + " entries" : shown + " of " + total + " entries shown";
    none.hidden = shown !== 0;
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-js-only]"), function (el) { el.hidden = false; });
  count.setAttribute("aria-live", "polite");
  var initial = new URLSearchParams(window.location.search).get("q");
  if (initial) { box.value = initial; }
  box.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
  apply();
}());
