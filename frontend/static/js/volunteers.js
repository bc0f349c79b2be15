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
          locate.dispatchEvent(new Event("pinmoved"));
        },
        function () { say(locate.dataset.failed); },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
    [lat, lon].forEach(function (input) {
      input.addEventListener("input", function () { if (source) { source.value = "pin"; } });
    });
  }

  // The map pin: a tap (or the arrow keys) on the street map sets the coordinates.
  var map = document.getElementById("pin-map");
  var pin = document.getElementById("pin");
  if (map && pin && lat && lon) {
    var box = map.dataset.bbox.split(",").map(Number);
    var w = Number(map.dataset.width), h = Number(map.dataset.height);
    var toLonLat = function (x, y) {
      return [box[0] + (x / w) * (box[2] - box[0]), box[3] - (y / h) * (box[3] - box[1])];
    };
    var toXY = function (lo, la) {
      return [((lo - box[0]) / (box[2] - box[0])) * w, ((box[3] - la) / (box[3] - box[1])) * h];
    };
    var place = function (x, y) {
      x = Math.max(0, Math.min(w, x));
      y = Math.max(0, Math.min(h, y));
      var ll = toLonLat(x, y);
      lon.value = ll[0].toFixed(6);
      lat.value = ll[1].toFixed(6);
      if (source) { source.value = "pin"; }
      pin.setAttribute("cx", x.toFixed(2));
      pin.setAttribute("cy", y.toFixed(2));
      pin.classList.remove("hidden");
    };
    map.addEventListener("click", function (ev) {
      var pt = map.createSVGPoint();
      pt.x = ev.clientX;
      pt.y = ev.clientY;
      var local = pt.matrixTransform(map.getScreenCTM().inverse());
      place(local.x, local.y);
    });
    map.addEventListener("keydown", function (ev) {
      var steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
      var step = steps[ev.key];
      if (!step) { return; }
      ev.preventDefault();
      var x = pin.classList.contains("hidden") ? w / 2 : Number(pin.getAttribute("cx"));
      var y = pin.classList.contains("hidden") ? h / 2 : Number(pin.getAttribute("cy"));
      var k = ev.shiftKey ? 10 : 2;
      place(x + step[0] * k, y + step[1] * k);
    });
    var follow = function () {
      var la = parseFloat(lat.value), lo = parseFloat(lon.value);
      if (isNaN(la) || isNaN(lo)) { return; }
      var xy = toXY(lo, la);
      pin.setAttribute("cx", xy[0].toFixed(2));
      pin.setAttribute("cy", xy[1].toFixed(2));
      pin.classList.remove("hidden");
    };
    lat.addEventListener("change", follow);
    lon.addEventListener("change", follow);
    if (locate) { locate.addEventListener("pinmoved", follow); }
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
