// Small progressive enhancements shared by every page. No inline scripts anywhere (strict CSP):
// charts are described by <script type="application/json" data-plotly-figure> and drawn here.
(function () {
  "use strict";
  function drawCharts() {
    if (!window.Plotly) { return; }
    document.querySelectorAll("script[data-plotly-figure]").forEach(function (node) {
      var target = document.getElementById(node.getAttribute("data-plotly-figure"));
      if (!target || target.dataset.drawn) { return; }
      var fig = JSON.parse(node.textContent);
      var config = Object.assign({ responsive: true, displaylogo: false,
        toImageButtonOptions: { format: "png", filename: target.id } }, fig.config || {});
      window.Plotly.newPlot(target, fig.data, fig.layout, config);
      target.dataset.drawn = "1";
    });
  }
  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { drawCharts(); confirmForms(); });
  window.participation = { drawCharts: drawCharts };
})();
