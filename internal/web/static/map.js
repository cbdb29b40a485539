// The map of located photos (/map): Leaflet with Leaflet.markercluster.
// The country outlines (embedded Natural Earth borders) are drawn beneath
// the tiles, so the map still works where the tiles do not load (offline,
// or SHOEBOX_MAP_TILES=off). Clicking a cluster or a photo lists its
// photos beside the map; #ID in the address opens on that photo.
(function () {
  'use strict';
  var el = document.getElementById('map');
  if (!el || !window.L) return;
  var status = document.getElementById('map-status');
  var panel = document.getElementById('map-list');
  var said = '', note = ''; // the status line: what was said, and that the map is offline
  var map = L.map(el, { worldCopyJump: true, minZoom: 1, maxZoom: 19 }).setView([25, 0], 2);
  map.attributionControl.addAttribution('Borders: Natural Earth; places: GeoNames');
  map.createPane('outline');
  map.getPane('outline').style.zIndex = 150; // under the tiles (200)

  fetch(el.dataset.outline).then(function (r) { return r.json(); }).then(function (g) {
    L.geoJSON(g, { pane: 'outline', interactive: false,
      style: { color: '#8a8578', weight: 1, fillColor: '#efeadc', fillOpacity: 1 } }).addTo(map);
  });

  if (el.dataset.tiles) {
    var tiles = L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution || '' });
    var loaded = 0, failed = 0;
    tiles.on('tileload', function () { loaded++; });
    tiles.on('tileerror', function () {
      failed++;
      if (!loaded && failed >= 4) { // none loads: offline; the outline stays
        map.removeLayer(tiles);
        offline();
      }
    });
    tiles.addTo(map);
  } else {
    offline();
  }

  var done = null; // run once the markers are all clustered
  var cluster = L.markerClusterGroup({ chunkedLoading: true, zoomToBoundsOnClick: false,
    showCoverageOnHover: false, maxClusterRadius: 60,
    chunkProgress: function (n, total) { if (n >= total && done) { var f = done; done = null; f(); } } });
  var icon = L.divIcon({ className: 'map-pin', iconSize: [14, 14] });
  var shown = null; // the cluster listed, for "Zoom in"
  cluster.on('clusterclick', function (e) { shown = e.layer; list(e.layer.getAllChildMarkers()); });
  cluster.on('click', function (e) { shown = null; list([e.layer]); });
  map.addLayer(cluster);

  fetch(el.dataset.photos, { credentials: 'same-origin' }).then(function (r) {
    if (!r.ok) throw new Error(r.status);
    return r.json();
  }).then(function (d) {
    var byId = {};
    var markers = d.photos.map(function (p) {
      var m = L.marker([p.lat, p.lon], { icon: icon, keyboard: false });
      m.photo = p;
      byId[p.id] = m;
      return m;
    });
    var n = markers.length;
    var want = byId[location.hash.slice(1)];
    done = function () {
      say(n === 0 ? 'No photo with a GPS position yet.' :
        n + (n === 1 ? ' located photo' : ' located photos') + (d.truncated ? ' (the newest; more are not shown)' : ''));
      if (want) cluster.zoomToShowLayer(want, function () { list([want]); });
    };
    if (n && !want) {
      map.fitBounds(L.latLngBounds(markers.map(function (m) { return m.getLatLng(); })), { maxZoom: 12, padding: [20, 20] });
    }
    if (n) cluster.addLayers(markers); else done();
  }).catch(function (err) { say('Could not load the photos (' + (err && err.message || err) + ').'); });

  function say(t) { said = t; status.textContent = (said || 'Loading the map…') + note; }
  function offline() {
    el.classList.add('offline');
    note = el.dataset.tiles ? ' · Map tiles could not be loaded: country outlines only.' : '';
    say(said);
  }

  // list shows up to 200 of markers' photos beside the map.
  function list(markers) {
    var grid = panel.querySelector('.grid');
    grid.textContent = '';
    markers.slice(0, 200).forEach(function (m) {
      var a = document.createElement('a');
      a.className = 'tile';
      a.href = '/photo/' + m.photo.id;
      var img = document.createElement('img');
      img.src = m.photo.thumbnail_url;
      img.loading = 'lazy';
      img.alt = '';
      a.appendChild(img);
      grid.appendChild(a);
    });
    var n = markers.length;
    panel.querySelector('.count').textContent = n + (n === 1 ? ' photo' : ' photos') + (n > 200 ? ' (the first 200)' : '');
    panel.querySelector('.zoom').hidden = !shown;
    panel.hidden = false;
  }
  panel.querySelector('.close').addEventListener('click', function () { panel.hidden = true; });
  panel.querySelector('.zoom').addEventListener('click', function () {
    if (shown) shown.zoomToBounds({ padding: [20, 20] });
  });
})();
