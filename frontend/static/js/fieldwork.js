// CATI console: live skip logic and keyboard shortcuts. The page works without this script (the
// server applies skip logic on every save); with it, questions that become (ir)relevant are
// shown or hidden at once, 1–9 choose an option of the highlighted question and Enter moves on.
(function () {
  "use strict";
  function init() {
    var form = document.getElementById("interview");
    if (!form) { return; }
    var current = null;

    function questions() {
      return Array.prototype.filter.call(form.querySelectorAll(".q[data-item]"), function (q) {
        return !q.hidden && q.getAttribute("data-type") !== "note";
      });
    }
    function answered(q) {
      var type = q.getAttribute("data-type");
      if (type === "select_one" || type === "select_multiple") {
        return !!q.querySelector("input:checked");
      }
      var field = q.querySelector("input, textarea");
      return !!(field && field.value.trim());
    }
    function highlight(q) {
      if (current) { current.classList.remove("current"); }
      current = q || null;
      if (!current) {
        var done = document.getElementById("complete");
        if (done) { done.focus(); }
        return;
      }
      current.classList.add("current");
      var field = current.querySelector("input:checked") || current.querySelector("input, textarea");
      if (field) { field.focus({ preventScroll: true }); }
      current.scrollIntoView({ block: "nearest" });
    }
    function next() {
      var list = questions();
      var index = list.indexOf(current);
      highlight(list[index + 1] || null);
    }
    function firstOpen() {
      var list = questions();
      for (var i = 0; i < list.length; i++) { if (!answered(list[i])) { return list[i]; } }
      return list[0] || null;
    }
    function check() {
      if (!form.dataset.check || !window.fetch) { return Promise.resolve(); }
      var body = new URLSearchParams(new FormData(form));
      body.delete("_action");
      var token = form.querySelector("input[name=_csrf_token]");
      return fetch(form.dataset.check, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded",
                   "x-csrftoken": token ? token.value : "" },
        body: body.toString(),
        credentials: "same-origin"
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (!data || !data.visible) { return; }
        var shown = {};
        data.visible.forEach(function (name) { shown[name] = true; });
        form.querySelectorAll("[data-item]").forEach(function (el) {
          el.hidden = !shown[el.getAttribute("data-item")];
        });
        form.dataset.synced = String(Date.now());
      }).catch(function () { /* the server still applies skip logic on save */ });
    }

    form.addEventListener("change", function () { check(); });
    form.addEventListener("focusin", function (ev) {
      var q = ev.target.closest ? ev.target.closest(".q[data-item]") : null;
      if (q && q !== current) {
        if (current) { current.classList.remove("current"); }
        current = q;
        current.classList.add("current");
      }
    });
    form.addEventListener("keydown", function (ev) {
      var tag = ev.target.tagName;
      if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
      var typing = tag === "TEXTAREA" || (tag === "INPUT" && ev.target.type === "text");
      if (ev.key === "Enter") {
        if (tag === "TEXTAREA" || tag === "BUTTON") { return; }
        ev.preventDefault();
        check().then(next);
        return;
      }
      if (typing || !current || !/^[1-9]$/.test(ev.key)) { return; }
      var inputs = current.querySelectorAll("input[type=radio], input[type=checkbox]");
      var input = inputs[parseInt(ev.key, 10) - 1];
      if (!input) { return; }
      ev.preventDefault();
      if (input.type === "radio") { input.checked = true; } else { input.checked = !input.checked; }
      input.focus({ preventScroll: true });
      var single = input.type === "radio";
      check().then(function () { if (single) { next(); } });
    });
    highlight(firstOpen());
  }
  document.addEventListener("DOMContentLoaded", init);
})();
