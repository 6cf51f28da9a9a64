"""The script and stylesheet urlink adds to its folium pages (no external files).

:data:`MAP_JS` runs once per map after folium has drawn its layers. It is configured by a
JSON object (``cfg``) written by :mod:`urlink.outputs.maps` and does what a facilitator
needs in a workshop room:

- **labels** (``.urlink-label``): shown in priority order (the focus area's zones first,
  then by population) and hidden when they would overlap a label already shown, again after
  every zoom or pan;
- **flow widths** scaled within the visible set: the largest flow with both ends in the
  view (or, with a zone selected, the largest of that zone's flows) is drawn ``wmax`` px
  wide; larger flows elsewhere are capped at ``wmax``; a width key with units follows;
- **arrowheads** (SVG markers in the flow's colour) at the destination end of each flow;
- a **minimum-volume slider** (a share of the largest visible flow of each type);
- **zone selection**: clicking a zone (or choosing it in the legend's list) shows only the
  flows that start or end there (the summed flows of its unit too); closing the popup
  shows all again. Flow lines are not interactive, so they never take a click meant for a
  zone;
- a **collapsible layer panel** (collapsed at first on screens narrower than 1400 px).

Every string of ``cfg`` is HTML-escaped in Python (:func:`urlink.outputs.maps._script_config`);
the script inserts those strings and formatted numbers, nothing else.
"""

from __future__ import annotations

__all__ = ["MAP_CSS", "MAP_JS"]

MAP_CSS = """
.urlink-icon {background: none; border: none;}
.urlink-label {position: absolute; transform: translate(-50%, -50%); white-space: nowrap;
  font: 12px/1.15 "Noto Sans CJK SC", "Noto Sans", sans-serif; color: #222; text-align: center;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; pointer-events: none;}
.urlink-unit {font-weight: 600; font-style: italic; color: #444; font-size: 12.5px;}
.urlink-focus {font-weight: 600;}
.urlink-title {position: fixed; top: 10px; left: 54px; z-index: 1000;
  background: rgba(255,255,255,.92); padding: 4px 12px; border-radius: 4px;
  border: 1px solid #999; font: 600 17px/1.3 "Noto Sans CJK SC", "Noto Sans", sans-serif;
  max-width: calc(100vw - 420px);}
.urlink-box {z-index: 1000; background: rgba(255,255,255,.94); padding: 5px 9px;
  border: 1px solid #999; border-radius: 4px; font: 12px/1.4 "Noto Sans CJK SC", sans-serif;
  max-width: 330px; max-height: 60vh; overflow: auto;}
.urlink-box summary {cursor: pointer; font-weight: 600;}
.urlink-swatch {display: inline-block; width: 12px; height: 12px; border: 1px solid #777;
  vertical-align: -1px;}
.urlink-toggle {display: block; padding: 2px 8px; font: 600 12px sans-serif; cursor: pointer;
  color: #222; text-decoration: none; background: #f4f4f4; border-bottom: 1px solid #ccc;}
.leaflet-control-layers.urlink-collapsed .leaflet-control-layers-list {display: none;}
.leaflet-control-layers-expanded {max-height: 70vh; overflow: auto; font-size: 12px;}
.leaflet-control-layers-expanded label {margin: 0; line-height: 1.35;}
.urlink-slider {width: 170px; vertical-align: middle;}
.leaflet-container {background: #eef1f4;}
.leaflet-popup-content {font: 12.5px/1.4 "Noto Sans CJK SC", "Noto Sans", sans-serif;
  max-height: 42vh; overflow: auto;}
.leaflet-interactive:focus {outline: none;}
"""
"""Styles of labels, title, boxes and the panel toggle."""

MAP_JS = r"""
(function () {
  var map = window[cfg.map];
  var flowLayers = cfg.flowLayers.map(function (n) { return window[n]; });
  var zoneLayers = cfg.zoneLayers.map(function (n) { return window[n]; }).filter(Boolean);
  var state = {sel: null, share: 0};
  var container = map.getContainer();
  var ns = 'http://www.w3.org/2000/svg';

  function fmt(v) {
    var a = Math.abs(v);
    var d = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
    return v.toLocaleString('en-US', {maximumFractionDigits: d});
  }
  function ends(l) {
    var ll = l.getLatLngs();
    return [ll[0], ll[ll.length - 1]];
  }
  function eachFlow(fn) {
    flowLayers.forEach(function (g) {
      g.eachLayer(function (l) { if (l.feature) { fn(l, g); } });
    });
  }
  function touches(p) {
    if (state.sel === null) { return true; }
    if (p.o === state.sel || p.dd === state.sel) { return true; }
    var u = cfg.unitOf[state.sel];
    return !!(p.agg && u && (p.o === u || p.dd === u));
  }
  function reference() {
    // per type and kind (drawn / summed): the largest volume of the reference set
    var b = map.getBounds(), ref = {};
    eachFlow(function (l) {
      var p = l.feature.properties, k = p.t + (p.agg ? '+' : '');
      var r = ref[k] || (ref[k] = {sel: 0, both: 0, one: 0, all: 0});
      var e = ends(l), inA = b.contains(e[0]), inB = b.contains(e[1]);
      r.all = Math.max(r.all, p.v);
      if (inA && inB) { r.both = Math.max(r.both, p.v); }
      if (inA || inB) { r.one = Math.max(r.one, p.v); }
      if (state.sel !== null && touches(p)) { r.sel = Math.max(r.sel, p.v); }
    });
    Object.keys(ref).forEach(function (k) {
      var r = ref[k];
      r.v = (state.sel !== null ? r.sel : 0) || r.both || r.one || r.all || 1;
    });
    return ref;
  }
  function width(v, vref) {
    return cfg.wmin + (cfg.wmax - cfg.wmin) * Math.sqrt(Math.min(v / vref, 1));
  }
  function ensureMarker(svg, colour) {
    var id = 'urlink-arrow-' + colour.replace('#', '');
    if (svg.querySelector('#' + id)) { return id; }
    var defs = svg.querySelector('defs') || svg.insertBefore(
      document.createElementNS(ns, 'defs'), svg.firstChild);
    var m = document.createElementNS(ns, 'marker');
    m.setAttribute('id', id);
    m.setAttribute('viewBox', '0 0 10 10');
    m.setAttribute('refX', '3');
    m.setAttribute('refY', '5');
    m.setAttribute('markerWidth', '2.6');
    m.setAttribute('markerHeight', '2.6');
    m.setAttribute('orient', 'auto');
    var path = document.createElementNS(ns, 'path');
    path.setAttribute('d', 'M0,0 L10,5 L0,10 z');
    path.setAttribute('fill', colour);
    m.appendChild(path);
    defs.appendChild(m);
    return id;
  }
  function restyle() {
    var ref = reference();
    eachFlow(function (l) {
      var p = l.feature.properties, r = ref[p.t + (p.agg ? '+' : '')];
      var vis = touches(p) && p.v >= state.share * r.v;
      var w = width(p.v, r.v);
      l.setStyle({weight: w, opacity: vis ? p.op : 0});
      if (l._path) {
        l._path.style.display = vis ? '' : 'none';
        if (cfg.arrows && !p.agg) {
          var svg = l._path.ownerSVGElement;
          if (svg) {
            l._path.setAttribute('marker-end', 'url(#' + ensureMarker(svg, p.c) + ')');
          }
        }
      }
    });
    drawKey(ref);
  }
  function drawKey(ref) {
    var key = document.getElementById(cfg.keyId);
    if (!key) { return; }
    while (key.firstChild) { key.removeChild(key.firstChild); }
    cfg.types.forEach(function (t) {
      var on = flowLayers.some(function (g, i) {
        return cfg.flowTypes[i] === t.type && !cfg.flowAgg[i] && map.hasLayer(g);
      });
      var r = ref[t.type];
      if (!on || !r) { return; }
      var row = document.createElement('div');
      var head = document.createElement('div');
      head.innerHTML = t.name + ' (' + t.unit + ')';
      row.appendChild(head);
      [1, 0.25, 0.04].forEach(function (s) {
        var v = r.v * s, w = width(v, r.v);
        var svg = document.createElementNS(ns, 'svg');
        svg.setAttribute('width', '34');
        svg.setAttribute('height', '14');
        var ln = document.createElementNS(ns, 'line');
        ln.setAttribute('x1', '2'); ln.setAttribute('x2', '32');
        ln.setAttribute('y1', '7'); ln.setAttribute('y2', '7');
        ln.setAttribute('stroke', t.colour);
        ln.setAttribute('stroke-width', String(Math.min(w, 13)));
        svg.appendChild(ln);
        row.appendChild(svg);
        var span = document.createElement('span');
        span.textContent = ' ' + fmt(v) + '  ';
        row.appendChild(span);
      });
      if (state.share > 0) {
        var thr = document.createElement('div');
        thr.innerHTML = cfg.text.atLeast + ' ' + fmt(state.share * r.v) + ' ' + t.unit;
        row.appendChild(thr);
      }
      key.appendChild(row);
    });
    var sel = document.getElementById(cfg.selId);
    if (sel) {
      sel.innerHTML = state.sel === null ? cfg.text.clickZone
        : cfg.text.only + ' <b>' + (cfg.names[state.sel] || '') + '</b> ' + cfg.text.clickOut;
    }
  }
  function placeLabels() {
    var els = Array.prototype.slice.call(container.querySelectorAll('.urlink-label'));
    var box = container.getBoundingClientRect();
    els.sort(function (a, b) { return (+a.dataset.rank) - (+b.dataset.rank); });
    // the page's boxes and controls are obstacles too: a label under them does not fit
    var placed = Array.prototype.map.call(document.querySelectorAll(
      '.urlink-box, .urlink-title, .leaflet-control'), function (el) {
      return el.getBoundingClientRect();
    });
    els.forEach(function (el) {
      el.style.visibility = 'visible';
      var r = el.getBoundingClientRect();
      var ok = r.width > 0 && r.left >= box.left && r.right <= box.right &&
        r.top >= box.top && r.bottom <= box.bottom &&
        placed.every(function (q) {
          return r.right + 3 < q.left || r.left > q.right + 3 ||
            r.bottom + 1 < q.top || r.top > q.bottom + 1;
        });
      el.style.visibility = ok ? 'visible' : 'hidden';
      if (ok) { placed.push(r); }
    });
  }
  zoneLayers.forEach(function (zl) {
    zl.eachLayer(function (l) {
      l.on('click', function (e) {
        if (e.originalEvent) { e.originalEvent._urlinkZone = true; }
        state.sel = l.feature.properties.zone_id;
        restyle();
      });
    });
  });
  map.on('click', function (e) {
    if (!e.originalEvent || e.originalEvent._urlinkZone) { return; }
    if (state.sel !== null) { state.sel = null; restyle(); }
  });
  map.on('popupclose', function () {
    // another zone's popup opens right after this one closes: keep that selection
    setTimeout(function () {
      var open = false;
      map.eachLayer(function (l) { if (l instanceof L.Popup) { open = true; } });
      if (state.sel !== null && !open) {
        state.sel = null;
        restyle();
      }
    }, 0);
  });
  var finder = document.getElementById(cfg.findId);
  if (finder) {
    // search a zone by name: the same as clicking it
    L.DomEvent.disableClickPropagation(finder);
    finder.addEventListener('change', function () {
      var id = finder.value;
      if (!id) { map.closePopup(); state.sel = null; restyle(); return; }
      zoneLayers.forEach(function (zl) {
        if (!map.hasLayer(zl)) { return; }
        zl.eachLayer(function (l) {
          if (l.feature.properties.zone_id === id) {
            l.fire('click', {latlng: l.getBounds().getCenter()}, true);
          }
        });
      });
    });
  }
  var slider = document.getElementById(cfg.sliderId);
  if (slider) {
    var s0 = (+slider.value) / 100;
    state.share = s0 * s0;
    L.DomEvent.disableClickPropagation(slider);
    slider.addEventListener('input', function () {
      var s = (+slider.value) / 100;
      state.share = s * s;
      restyle();
    });
  }
  var pending = null;
  function later() {
    // after Leaflet has moved the markers (and the fonts have loaded)
    if (pending) { clearTimeout(pending); }
    pending = setTimeout(function () { pending = null; placeLabels(); }, 60);
  }
  map.on('moveend zoomend overlayadd overlayremove resize', function () {
    restyle();
    later();
  });
  var ctl = container.querySelector('.leaflet-control-layers');
  if (ctl && !ctl.querySelector('.urlink-toggle')) {
    var a = document.createElement('a');
    a.className = 'urlink-toggle';
    a.href = '#';
    a.setAttribute('role', 'button');
    a.innerHTML = cfg.text.layers;
    a.addEventListener('click', function (ev) {
      ev.preventDefault();
      ctl.classList.toggle('urlink-collapsed');
    });
    ctl.insertBefore(a, ctl.firstChild);
    if (window.innerWidth < 1400) {
      ctl.classList.add('urlink-collapsed');
      // small screens: the long boxes (indicators) start closed too
      Array.prototype.forEach.call(document.querySelectorAll('.urlink-box details.urlink-long'),
        function (d) { d.removeAttribute('open'); });
    }
  }
  map.on('baselayerchange', function (e) {
    // comparison pages: one zone layer, its fill switched to the chosen effect
    var k = cfg.effects.indexOf(e.name);
    zoneLayers.forEach(function (zl) {
      zl.eachLayer(function (l) {
        var p = l.feature.properties;
        l.setStyle({fillColor: k < 0 ? p.fill : p.fx[k]});
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll('.urlink-effect-legend'),
      function (el) { el.style.display = el.dataset.layer === e.name ? '' : 'none'; });
    placeLabels();
  });
  if (map.attributionControl) {
    cfg.credits.forEach(function (c) { map.attributionControl.addAttribution(c); });
  }
  window[cfg.map + '_urlink'] = {state: state, restyle: restyle, placeLabels: placeLabels};
  restyle();
  placeLabels();
  later();
  setTimeout(placeLabels, 600);
  if (document.fonts && document.fonts.ready) { document.fonts.ready.then(later); }
})();
"""
"""The map script; ``cfg`` is defined just before it."""
