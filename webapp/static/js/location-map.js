/* Centro 311 — the optional map pin of the intake form (Leaflet).
 *
 * The form's two coordinate fields (latitud, longitud) work without this
 * script: the citizen types the point or leaves it empty. With it, a map
 * below the address sets them: a click or tap puts the pin; by keyboard the
 * map takes the focus, the arrows move it, + and − zoom, and "Usar el centro
 * del mapa" pins the centre (marked by a cross-hair); "Usar mi ubicación"
 * asks the device; "Quitar el punto" empties both fields. Typing into the
 * fields moves the pin. If the tiles do not load the buttons and fields
 * still work, and a note (#mapa-aviso) says so. Texts come from the panel's `data-msg-*`
 * attributes (translated by the server) and are set as text, never HTML.
 */
(function () {
  'use strict';

  var DECIMALS = 5;
  var PIN_ZOOM = 17;

  var tools = document.getElementById('mapa-herramientas');
  var lat = document.getElementById('latitud');
  var lon = document.getElementById('longitud');
  if (!tools || !lat || !lon || !window.L) {
    return;
  }
  var L = window.L;
  var status = document.getElementById('mapa-estado');
  var limits = (tools.getAttribute('data-bounds') || '').split(',').map(Number);
  var panama = L.latLngBounds([limits[0], limits[1]], [limits[2], limits[3]]);
  var marker = null;
  var tilesFailed = false;

  function msg(name) {
    return tools.getAttribute('data-msg-' + name) || '';
  }

  function say(text) {
    status.textContent = text;
  }

  function parse(text) {
    var value = String(text || '').trim().replace(',', '.');
    return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(value) ? Number(value) : NaN;
  }

  function typedPoint() {
    var y = parse(lat.value);
    var x = parse(lon.value);
    return isNaN(y) || isNaN(x) ? null : L.latLng(y, x);
  }

  function showPin(point) {
    if (marker) {
      marker.setLatLng(point);
    } else {
      marker = L.marker(point, {
        keyboard: false,
        interactive: false,
        alt: msg('marker'),
      }).addTo(map);
    }
  }

  function setPin(point) {
    if (!panama.contains(point)) {
      say(msg('outside'));
      return;
    }
    lat.value = point.lat.toFixed(DECIMALS);
    lon.value = point.lng.toFixed(DECIMALS);
    showPin(point);
    say(
      msg('set')
        .replace('{lat}', lat.value)
        .replace('{lon}', lon.value)
    );
  }

  function clearPin() {
    lat.value = '';
    lon.value = '';
    if (marker) {
      map.removeLayer(marker);
      marker = null;
    }
    say(msg('cleared'));
  }

  tools.hidden = false;
  var map = L.map('mapa', {
    keyboard: true,
    zoomControl: false,
    maxBounds: panama.pad(0.5),
    minZoom: 6,
  });
  L.control
    .zoom({ zoomInTitle: msg('zoom-in'), zoomOutTitle: msg('zoom-out') })
    .addTo(map);
  L.tileLayer(tools.getAttribute('data-tiles'), {
    maxZoom: 19,
    attribution: tools.getAttribute('data-attribution') || '',
    // The tile server's usage policy asks for the page's origin; the
    // app's own policy sends no referrer to other sites.
    referrerPolicy: 'strict-origin-when-cross-origin',
  })
    .on('tileerror', function () {
      if (!tilesFailed) {
        tilesFailed = true;
        tools.classList.add('map-without-tiles');
        document.getElementById('mapa-aviso').hidden = false;
      }
    })
    .addTo(map);

  var start = typedPoint();
  if (start && panama.contains(start)) {
    map.setView(start, PIN_ZOOM);
    showPin(start);
  } else {
    map.fitBounds(panama);
  }

  map.on('click', function (event) {
    setPin(event.latlng);
  });
  document.getElementById('mapa-centro').addEventListener('click', function () {
    setPin(map.getCenter());
  });
  document.getElementById('mapa-quitar').addEventListener('click', clearPin);

  var locate = document.getElementById('mapa-mi-ubicacion');
  if ('geolocation' in navigator && window.isSecureContext) {
    locate.hidden = false;
    locate.addEventListener('click', function () {
      say(msg('locating'));
      navigator.geolocation.getCurrentPosition(
        function (position) {
          var point = L.latLng(
            position.coords.latitude,
            position.coords.longitude
          );
          setPin(point);
          if (panama.contains(point)) {
            map.setView(point, PIN_ZOOM);
          }
        },
        function () {
          say(msg('no-location'));
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 0 }
      );
    });
  }

  // Coordinates typed by hand move the pin once both make a point.
  [lat, lon].forEach(function (input) {
    input.addEventListener('change', function () {
      var point = typedPoint();
      if (!lat.value.trim() && !lon.value.trim()) {
        clearPin();
      } else if (point && panama.contains(point)) {
        showPin(point);
        map.setView(point, Math.max(map.getZoom(), PIN_ZOOM));
      }
    });
  });
})();
