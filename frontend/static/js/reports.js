// Reports: the public form's "use my location" (browser geolocation fills the coordinates; the
// server resolves the street from loaded boundaries) and small helpers of the officials' pages.
(function () {
  "use strict";
  function setupLocate() {
    var button = document.getElementById("locate");
    if (!button) { return; }
    var status = document.getElementById("locate-status");
    var lat = document.getElementById("f-lat");
    var lon = document.getElementById("f-lon");
    if (!navigator.geolocation) { button.hidden = true; return; }
    button.addEventListener("click", function () {
      status.textContent = button.dataset.locating;
      navigator.geolocation.getCurrentPosition(function (pos) {
        lat.value = pos.coords.latitude.toFixed(6);
        lon.value = pos.coords.longitude.toFixed(6);
        var details = lat.closest("details");
        if (details) { details.open = true; }
        status.textContent = button.dataset.located + " (±" + Math.round(pos.coords.accuracy) + " m)";
      }, function () {
        status.textContent = button.dataset.failed;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }
  function focusError() {
    var error = document.getElementById("form-error");
    if (!error || !error.dataset.field) { return; }
    var field = document.querySelector('[name="' + error.dataset.field + '"]');
    if (field && field.focus) { field.focus(); }
  }
  function guardSubmit() {
    var form = document.getElementById("report-form");
    if (!form) { return; }
    form.addEventListener("submit", function () {
      var button = document.getElementById("submit-report");
      if (button) { setTimeout(function () { button.disabled = true; }, 0); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    setupLocate();
    focusError();
    guardSubmit();
  });
})();
