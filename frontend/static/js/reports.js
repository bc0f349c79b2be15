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

// The map pin: street boundaries drawn as SVG (equirectangular, fitted to the box); a tap puts
// the pin there, fills the coordinates and chooses the street containing it.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  function rings(geometry) {
    if (geometry.type === "Polygon") { return [geometry.coordinates]; }
    if (geometry.type === "MultiPolygon") { return geometry.coordinates; }
    return [];
  }
  function inRing(x, y, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) { inside = !inside; }
    }
    return inside;
  }
  function contains(feature, lon, lat) {
    return rings(feature.geometry).some(function (poly) {
      return inRing(lon, lat, poly[0]) && !poly.slice(1).some(function (h) { return inRing(lon, lat, h); });
    });
  }
  function draw(box, data) {
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    data.features.forEach(function (f) {
      rings(f.geometry).forEach(function (poly) {
        poly[0].forEach(function (p) {
          minX = Math.min(minX, p[0]); maxX = Math.max(maxX, p[0]);
          minY = Math.min(minY, p[1]); maxY = Math.max(maxY, p[1]);
        });
      });
    });
    if (!isFinite(minX)) { return; }
    var k = Math.cos((minY + maxY) / 2 * Math.PI / 180);
    var w = 1000, h = Math.max(200, Math.round(w * (maxY - minY) / ((maxX - minX) * k || 1)));
    var sx = function (lon) { return (lon - minX) / (maxX - minX) * w; };
    var sy = function (lat) { return (maxY - lat) / (maxY - minY) * h; };
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    data.features.forEach(function (f) {
      var d = "";
      rings(f.geometry).forEach(function (poly) {
        poly.forEach(function (ring) {
          d += "M" + ring.map(function (p) { return sx(p[0]).toFixed(1) + " " + sy(p[1]).toFixed(1); }).join("L") + "Z";
        });
      });
      var path = document.createElementNS(SVG, "path");
      path.setAttribute("d", d);
      path.setAttribute("data-code", f.id);
      var title = document.createElementNS(SVG, "title");
      title.textContent = f.properties.name || f.id;
      path.appendChild(title);
      svg.appendChild(path);
    });
    var pin = document.createElementNS(SVG, "circle");
    pin.setAttribute("r", "9");
    pin.setAttribute("class", "pin");
    pin.style.display = "none";
    svg.appendChild(pin);
    svg.addEventListener("click", function (ev) {
      var pt = svg.createSVGPoint();
      pt.x = ev.clientX; pt.y = ev.clientY;
      var p = pt.matrixTransform(svg.getScreenCTM().inverse());
      var lon = minX + p.x / w * (maxX - minX);
      var lat = maxY - p.y / h * (maxY - minY);
      pin.setAttribute("cx", p.x); pin.setAttribute("cy", p.y); pin.style.display = "";
      document.getElementById("f-lat").value = lat.toFixed(6);
      document.getElementById("f-lon").value = lon.toFixed(6);
      var hit = data.features.filter(function (f) { return contains(f, lon, lat); })[0];
      var select = document.getElementById("f-street_code");
      svg.querySelectorAll("path.chosen").forEach(function (el) { el.classList.remove("chosen"); });
      if (hit) {
        svg.querySelector('path[data-code="' + hit.id + '"]').classList.add("chosen");
        if (select) { select.value = hit.id; }
      }
      box.dataset.pinned = "1";
    });
    box.appendChild(svg);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("pin-map");
    if (!box) { return; }
    fetch(box.dataset.src, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { draw(box, data); } });
  });
})();
