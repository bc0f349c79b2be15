// Scoring pages and bulletins: print button, auto-submitting selects.
(function () {
  "use strict";
  function autosubmit() {
    document.querySelectorAll("select.js-autosubmit").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }
  function printButtons() {
    document.querySelectorAll("button.js-print").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  }
  function resizeOnPrint() {
    window.addEventListener("beforeprint", function () {
      if (!window.Plotly) { return; }
      document.querySelectorAll(".js-plotly-plot").forEach(function (el) { window.Plotly.Plots.resize(el); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { autosubmit(); printButtons(); resizeOnPrint(); });
})();
