// Web survey: live skip logic and autosave. The page works without this script (the server
// re-evaluates skip logic on every page); with it, answers are saved as they change and the
// questions that become (ir)relevant are shown or hidden at once.
(function () {
  "use strict";
  function init() {
    var form = document.getElementById("survey");
    if (!form || !form.dataset.check || !window.fetch) { return; }
    var pending = null;
    function check() {
      var body = new URLSearchParams(new FormData(form));
      body.delete("_action");
      var token = form.querySelector("input[name=_csrf_token]");
      fetch(form.dataset.check, {
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
      }).catch(function () { /* offline: the server still applies skip logic on submit */ });
    }
    form.addEventListener("change", function () {
      if (pending) { window.clearTimeout(pending); }
      pending = window.setTimeout(check, 150);
    });
  }
  document.addEventListener("DOMContentLoaded", init);
})();
