// Volunteers: the visit form. Browser geolocation fills the coordinates; marking a checklist
// item "fail" preselects it for the next finding. Everything works without this script too.
(function () {
  "use strict";
  var locate = document.getElementById("locate");
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  var source = document.getElementById("location_source");
  var status = document.getElementById("locate-status");

  function say(text) { if (status) { status.textContent = text || ""; } }

  if (locate && lat && lon) {
    if (!("geolocation" in navigator)) {
      locate.disabled = true;
    }
    locate.addEventListener("click", function () {
      say(locate.dataset.locating);
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          lat.value = pos.coords.latitude.toFixed(6);
          lon.value = pos.coords.longitude.toFixed(6);
          if (source) { source.value = "gps"; }
          say(locate.dataset.located);
        },
        function () { say(locate.dataset.failed); },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
    [lat, lon].forEach(function (input) {
      input.addEventListener("input", function () { if (source) { source.value = "pin"; } });
    });
  }

  var itemSelect = document.getElementById("finding_item");
  document.querySelectorAll('#checklist input[type="radio"][value="fail"]').forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (radio.checked && itemSelect && !itemSelect.value) {
        itemSelect.value = radio.dataset.item;
      }
    });
  });
})();
