// Solas lightcurve plot: reads the JSON in #lc-data and draws, per band, the detections
// with error bars, the forced measurements (flux only) and the upper limits (downward
// triangles) into the SVG #lc-plot. Flux, difference magnitude (axis inverted; negative
// differences are never drawn as magnitudes) or, for ZTF, the apparent (DC) magnitude, calendar dates in UTC (Rubin's MJDs are TAI),
// zoom and pan in time, bands hidden by clicking the legend; users' own photometry as
// diamonds; the other survey's detections of the same source (its counterparts) as open
// circles, on this page's time scale. No library: plain DOM and SVG.
(function () {
  'use strict';
  var src = document.getElementById('lc-data');
  var svg = document.getElementById('lc-plot');
  if (!src || !svg) return;
  var data = JSON.parse(src.textContent);
  var tip = document.getElementById('lc-tip');
  var NS = 'http://www.w3.org/2000/svg';
  var COLORS = { u: '#56b4e9', g: '#009e73', r: '#d55e00', i: '#cc79a7', z: '#0072b2', y: '#e69f00' };
  // Drawn at the width it is shown (within 340–800), so text stays 12 px on a phone.
  var W = Math.round(Math.min(800, Math.max(340, svg.clientWidth || 800)));
  var narrow = W < 600;
  // Wider on the right when the legend names the other survey's bands ("Rubin i (12)").
  var wide = (data.counterparts || []).length > 0;
  var H = narrow ? 330 : 380, L = narrow ? 60 : 78, R = (narrow ? 66 : 80) + (wide ? 36 : 0), T = 15, B = 62;
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  var mode = data.start === 'mag' || !data.hasFlux ? 'mag' : 'flux';
  // A link may ask for a mode: ?lc=mag or ?lc=flux.
  var asked = new URLSearchParams(window.location.search).get('lc');
  if (asked === 'mag' || (asked === 'flux' && data.hasFlux) || (asked === 'dc' && data.hasDc)) mode = asked;
  var hidden = {};
  var view = null; // [from, to] in MJD when zoomed
  var forcedBox = document.getElementById('lc-forced');
  var limitsBox = document.getElementById('lc-limits');
  var userBox = document.getElementById('lc-user');
  var userPoints = data.user || [];
  // TAI − UTC since 2017-01-01.
  var TAI_UTC = 37 / 86400;
  // The counterparts' bands, each its own legend entry ("ZTF g"), shifted to this page's
  // time scale (Rubin's MJDs are TAI, ZTF's UTC).
  var others = [];
  (data.counterparts || []).forEach(function (c) {
    var shift = c.timescale === data.timescale ? 0 : c.timescale === 'UTC' ? TAI_UTC : -TAI_UTC;
    c.bands.forEach(function (b) {
      others.push({ key: c.survey + ' ' + b.band, band: b.band, c: c, points: b.points, shift: shift });
    });
  });
  function colorOf(name) { return COLORS[name] || COLORS[name.split(' ').pop()] || '#444'; }

  function el(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function finite(x) { return typeof x === 'number' && isFinite(x); }
  function utc(mjd) {
    var u = data.timescale === 'TAI' ? mjd - TAI_UTC : mjd;
    return new Date(Math.round((u - 40587) * 86400000));
  }
  function iso(mjd) { return utc(mjd).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'); }
  function ticks(lo, hi, n) {
    var span = hi - lo, step = Math.pow(10, Math.floor(Math.log10(span / n)));
    [1, 2, 5, 10].some(function (m) { if (span / (step * m) <= n) { step *= m; return true; } return false; });
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toFixed(10));
    return out;
  }
  function short(v) {
    var a = Math.abs(v);
    if (a >= 1e6) return +(v / 1e6).toFixed(2) + 'M';
    if (a >= 1e4) return +(v / 1e3).toFixed(1) + 'k';
    return String(+v.toFixed(3));
  }
  // Everything drawable now, by kind: {x, y, e, kind, p, band}.
  function marks() {
    var out = [], negatives = 0, forcedMag = 0, limitsDc = 0;
    data.bands.forEach(function (b) {
      if (hidden[b.band]) return;
      b.points.forEach(function (p) {
        if (mode === 'mag' && p.positive === false) { negatives++; return; }
        // The apparent (DC) magnitude holds for negative differences too: reference − difference.
        var y = mode === 'flux' ? p.flux : mode === 'dc' ? p.dcMag : p.mag;
        var e = mode === 'flux' ? p.fluxErr : mode === 'dc' ? p.dcMagErr : p.magErr;
        if (finite(y) && finite(p.mjd)) out.push({ x: p.mjd, y: y, e: finite(e) ? e : 0, kind: 'pt', p: p, band: b.band });
      });
      if (forcedBox && forcedBox.checked) (b.forced || []).forEach(function (p) {
        if (mode !== 'flux') { forcedMag++; return; }
        if (finite(p.flux) && finite(p.mjd)) out.push({ x: p.mjd, y: p.flux, e: finite(p.fluxErr) ? p.fluxErr : 0, kind: 'fp', p: p, band: b.band });
      });
      if (limitsBox && limitsBox.checked) (b.limits || []).forEach(function (p) {
        // A limit on the difference image says nothing of the apparent brightness.
        if (mode === 'dc') { limitsDc++; return; }
        var y = mode === 'flux' ? p.flux : p.mag;
        if (finite(y) && finite(p.mjd)) out.push({ x: p.mjd, y: y, e: 0, kind: 'lim', p: p, band: b.band });
      });
    });
    // The other survey's detections: no DC magnitude, no limits.
    others.forEach(function (o) {
      if (hidden[o.key] || mode === 'dc') return;
      o.points.forEach(function (p) {
        if (mode === 'mag' && p.positive === false) { negatives++; return; }
        var y = mode === 'flux' ? p.flux : p.mag, e = mode === 'flux' ? p.fluxErr : p.magErr;
        if (finite(y) && finite(p.mjd)) out.push({ x: p.mjd + o.shift, y: y, e: finite(e) ? e : 0, kind: 'cp', p: p, band: o.key, other: o });
      });
    });
    // Users' own measurements, as they gave them (drawn as diamonds).
    if (!userBox || userBox.checked) userPoints.forEach(function (p) {
      if (hidden[p.band]) return;
      var y = mode === 'flux' ? p.flux : p.mag, e = mode === 'flux' ? p.fluxErr : p.magErr;
      if (finite(y) && finite(p.mjd)) out.push({ x: p.mjd, y: y, e: finite(e) ? e : 0, kind: 'usr', p: p, band: p.band });
    });
    return { all: out, negatives: negatives, forcedMag: forcedMag, limitsDc: limitsDc };
  }
  function label(q) {
    var what = { pt: 'detection', fp: 'forced', lim: 'upper limit',
      cp: 'detection of ' + (q.other ? q.other.c.name + ', ' + q.other.c.arcsec.toFixed(2) + '″ away' : ''),
      usr: 'user photometry' + (q.p.source ? ' (' + q.p.source + ')' : '') + (q.p.mine ? ', yours' : '') }[q.kind];
    var v = mode === 'flux' ? q.y.toFixed(1) + (q.e ? ' ± ' + q.e.toFixed(1) : '') + ' ' + data.fluxUnit
      : q.y.toFixed(3) + (q.e ? ' ± ' + q.e.toFixed(3) : '') + ' mag';
    var s = q.band + ' ' + what + '  ' + iso(q.x) + '  (MJD ' + q.x.toFixed(5) + ' ' + data.timescale + ')  ' +
      (q.kind === 'lim' ? (mode === 'flux' ? '< ' : '> ') : '') + v;
    if (q.kind === 'pt') {
      if (q.p.positive === false) s += '  negative difference';
      if (finite(q.p.reliability)) s += '  ' + data.rbLabel + ' ' + q.p.reliability.toFixed(3);
      if (finite(q.p.rb)) s += '  rb ' + q.p.rb.toFixed(3);
    }
    if (q.p.id) s += '  (source ' + q.p.id + ')';
    return s;
  }
  var scaleX = null;
  function draw() {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var m = marks(), all = m.all;
    var xsAll = all.map(function (q) { return q.x; });
    if (!xsAll.length) {
      el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, svg).textContent = 'No ' + mode + ' measurements';
      legend([]);
      return;
    }
    var x0, x1;
    if (view) { x0 = view[0]; x1 = view[1]; } else {
      x0 = Math.min.apply(null, xsAll); x1 = Math.max.apply(null, xsAll);
      var px = (x1 - x0) * 0.05 || 1; x0 -= px; x1 += px;
    }
    var shown = all.filter(function (q) { return q.x >= x0 && q.x <= x1; });
    var ys = [];
    shown.forEach(function (q) { ys.push(q.y - q.e, q.y + q.e); });
    if (!ys.length) ys = [0, 1];
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    var py = (y1 - y0) * 0.08 || 1; y0 -= py; y1 += py;
    var sx = function (x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
    scaleX = { x0: x0, x1: x1, sx: sx };
    // Magnitudes grow fainter downwards, as astronomers plot them.
    var sy = mode !== 'flux'
      ? function (y) { return T + (y - y0) / (y1 - y0) * (H - T - B); }
      : function (y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
    var axes = el('g', { 'class': 'axes' }, svg);
    var xt = ticks(x0, x1, narrow ? 3 : 7), span = x1 - x0;
    xt.forEach(function (v) {
      el('line', { x1: sx(v), x2: sx(v), y1: T, y2: H - B, 'class': 'grid' }, axes);
      el('text', { x: sx(v), y: H - B + 15, 'text-anchor': 'middle' }, axes).textContent = v;
      var d = utc(v).toISOString();
      el('text', { x: sx(v), y: H - B + 30, 'text-anchor': 'middle', 'class': 'date' }, axes).textContent =
        span > 3 ? d.slice(0, 10) : d.slice(5, 16).replace('T', ' ');
    });
    ticks(y0, y1, narrow ? 5 : 6).forEach(function (v) {
      el('line', { x1: L, x2: W - R, y1: sy(v), y2: sy(v), 'class': 'grid' }, axes);
      el('text', { x: L - 6, y: sy(v) + 4, 'text-anchor': 'end' }, axes).textContent = mode === 'flux' ? short(v) : v;
    });
    el('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: 'none', 'class': 'axis' }, axes);
    el('text', { x: (L + W - R) / 2, y: H - 6, 'text-anchor': 'middle' }, axes).textContent =
      'MJD (' + data.timescale + ') and date (UTC)';
    el('text', { x: 12, y: (T + H - B) / 2, 'text-anchor': 'middle', transform: 'rotate(-90 12 ' + (T + H - B) / 2 + ')' }, axes)
      .textContent = mode === 'flux' ? 'difference flux (' + data.fluxUnit + ')'
        : mode === 'dc' ? 'apparent magnitude (DC)' : 'difference magnitude (AB)';
    if (mode === 'flux' && y0 < 0 && y1 > 0) {
      el('line', { x1: L, x2: W - R, y1: sy(0), y2: sy(0), stroke: '#9aa7b4', 'stroke-dasharray': '4 3' }, axes);
    }
    var clip = el('clipPath', { id: 'lc-clip' }, el('defs', {}, svg));
    el('rect', { x: L, y: T, width: W - L - R, height: H - T - B }, clip);
    var area = el('g', { 'clip-path': 'url(#lc-clip)' }, svg);
    // The survey's bands, then any other band users' photometry names.
    var groups = data.bands.map(function (b) { return b.band; });
    userPoints.forEach(function (p) { if (groups.indexOf(p.band) < 0) groups.push(p.band); });
    others.forEach(function (o) { if (groups.indexOf(o.key) < 0) groups.push(o.key); });
    groups.forEach(function (name) {
      var b = { band: name };
      var color = colorOf(b.band);
      var g = el('g', { 'class': data.bands.some(function (x) { return x.band === name; }) ? 'band' : 'band user-band', 'data-band': b.band, fill: color, stroke: color }, area);
      shown.forEach(function (q) {
        if (q.band !== b.band) return;
        var cx = sx(q.x), cy = sy(q.y), mark;
        if (q.kind === 'lim') {
          // Points down: the source was fainter than this.
          mark = el('path', { d: 'M' + (cx - 5) + ' ' + (cy - 4) + 'h10l-5 8z', 'class': 'lim', 'fill-opacity': 0.35 }, g);
        } else {
          if (q.e > 0) el('line', { x1: cx, x2: cx, y1: sy(q.y - q.e), y2: sy(q.y + q.e), 'stroke-width': 1.2 }, g);
          mark = q.kind === 'fp'
            ? el('rect', { x: cx - 3.5, y: cy - 3.5, width: 7, height: 7, fill: '#fff', 'stroke-width': 1.5, 'class': 'fp' }, g)
            : q.kind === 'cp'
              ? el('circle', { cx: cx, cy: cy, r: 4, fill: '#fff', 'stroke-width': 1.5, 'class': 'cp' }, g)
            : q.kind === 'usr'
              ? el('path', { d: 'M' + cx + ' ' + (cy - 6) + 'l6 6l-6 6l-6-6z', 'stroke-width': 1.5, 'fill-opacity': 0.55, 'class': 'usr' }, g)
              : el('circle', { cx: cx, cy: cy, r: 4, 'class': 'pt' }, g);
        }
        var text = label(q);
        el('title', {}, mark).textContent = text;
        mark.addEventListener('mouseenter', function () {
          if (!tip) return;
          tip.textContent = text;
          tip.hidden = false;
          var box = svg.getBoundingClientRect(), scale = box.width / W;
          tip.style.left = Math.min(cx * scale + 12, box.width - 260) + 'px';
          tip.style.top = (cy * scale + 12) + 'px';
        });
        mark.addEventListener('mouseleave', function () { if (tip) tip.hidden = true; });
      });
    });
    var notes = [];
    if (m.negatives) notes.push(m.negatives + ' negative difference' + (m.negatives > 1 ? 's' : '') + ' shown in flux only');
    if (m.forcedMag) notes.push('forced photometry in flux only');
    if (m.limitsDc) notes.push('upper limits in difference magnitude only');
    if (notes.length) el('text', { x: L + 4, y: T + 14, 'class': 'note' }, svg).textContent = notes.join('; ');
    legend(all);
    document.querySelectorAll('.lc-controls button[data-mode]').forEach(function (b) {
      b.classList.toggle('active', b.dataset.mode === mode);
    });
  }
  // One entry per band: its colour and counts; a click hides or shows it. The
  // counterparts' bands follow, as open circles.
  function legend(all) {
    var entries = data.bands.map(function (b) { return { key: b.band, kind: 'pt' }; })
      .concat(others.map(function (o) { return { key: o.key, kind: 'cp' }; }));
    entries.forEach(function (b, k) {
      var color = colorOf(b.key);
      var n = all.filter(function (q) { return q.band === b.key && q.kind === b.kind; }).length;
      var ly = T + 14 + k * 18;
      var g = el('g', { 'class': 'legend', 'data-band': b.key, cursor: 'pointer', opacity: hidden[b.key] ? 0.35 : 1 }, svg);
      el('circle', { cx: W - R + 14, cy: ly - 4, r: 4, fill: b.kind === 'cp' ? '#fff' : color, stroke: color, 'stroke-width': 1.5 }, g);
      el('text', { x: W - R + 24, y: ly }, g).textContent = b.key + ' (' + (hidden[b.key] ? 'hidden' : n) + ')';
      g.addEventListener('click', function () { hidden[b.key] = !hidden[b.key]; draw(); });
    });
  }
  function zoom(factor, at) {
    if (!scaleX) return;
    var x0 = scaleX.x0, x1 = scaleX.x1, c = at === undefined ? (x0 + x1) / 2 : at;
    view = [c - (c - x0) * factor, c + (x1 - c) * factor];
    draw();
  }
  function mjdAt(evt) {
    var box = svg.getBoundingClientRect(), x = (evt.clientX - box.left) * W / box.width;
    return scaleX.x0 + (x - L) / (W - L - R) * (scaleX.x1 - scaleX.x0);
  }
  svg.addEventListener('wheel', function (evt) {
    if (!scaleX) return;
    evt.preventDefault();
    zoom(evt.deltaY < 0 ? 0.8 : 1.25, mjdAt(evt));
  }, { passive: false });
  var drag = null;
  svg.addEventListener('mousedown', function (evt) { if (scaleX) drag = { at: mjdAt(evt), x0: scaleX.x0, x1: scaleX.x1 }; });
  window.addEventListener('mouseup', function () { drag = null; });
  svg.addEventListener('mousemove', function (evt) {
    if (!drag) return;
    var shift = drag.at - mjdAt(evt);
    if (Math.abs(shift) > 0) { view = [scaleX.x0 + shift, scaleX.x1 + shift]; draw(); drag.at = mjdAt(evt); }
  });
  svg.addEventListener('dblclick', function () { view = null; draw(); });
  document.querySelectorAll('.lc-controls button[data-mode]').forEach(function (b) {
    b.addEventListener('click', function () { mode = b.dataset.mode; draw(); });
  });
  [forcedBox, limitsBox, userBox].forEach(function (c) { if (c) c.addEventListener('change', draw); });
  var zin = document.getElementById('lc-zoom-in'), zout = document.getElementById('lc-zoom-out');
  var reset = document.getElementById('lc-reset');
  if (zin) zin.addEventListener('click', function () { zoom(0.6); });
  if (zout) zout.addEventListener('click', function () { zoom(1 / 0.6); });
  if (reset) reset.addEventListener('click', function () { view = null; draw(); });
  draw();
})();
