// Solas lightcurve plot: reads the JSON in #lc-data and draws one group of points with
// error bars per band into the SVG #lc-plot. Flux or magnitude (magnitude axis inverted),
// hover for values. No library: plain DOM and SVG.
(function () {
  'use strict';
  var src = document.getElementById('lc-data');
  var svg = document.getElementById('lc-plot');
  if (!src || !svg) return;
  var data = JSON.parse(src.textContent);
  var tip = document.getElementById('lc-tip');
  var NS = 'http://www.w3.org/2000/svg';
  var COLORS = { u: '#56b4e9', g: '#009e73', r: '#d55e00', i: '#cc79a7', z: '#0072b2', y: '#e69f00' };
  var W = 800, H = 360, L = 70, R = 70, T = 15, B = 45;
  var mode = data.hasFlux ? 'flux' : 'mag';

  function el(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function finite(x) { return typeof x === 'number' && isFinite(x); }
  function ticks(lo, hi, n) {
    var span = hi - lo, step = Math.pow(10, Math.floor(Math.log10(span / n)));
    [1, 2, 5, 10].some(function (m) { if (span / (step * m) <= n) { step *= m; return true; } return false; });
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toFixed(10));
    return out;
  }
  function series() {
    return data.bands.map(function (b) {
      var pts = [];
      b.points.forEach(function (p) {
        var y = mode === 'flux' ? p.flux : p.mag, e = mode === 'flux' ? p.fluxErr : p.magErr;
        if (finite(y) && finite(p.mjd)) pts.push({ x: p.mjd, y: y, e: finite(e) ? e : 0, p: p });
      });
      return { band: b.band, pts: pts };
    });
  }
  function draw() {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var all = series(), xs = [], ys = [];
    all.forEach(function (s) { s.pts.forEach(function (q) { xs.push(q.x); ys.push(q.y - q.e, q.y + q.e); }); });
    if (!xs.length) {
      el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, svg).textContent = 'No ' + mode + ' measurements';
      return;
    }
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    var px = (x1 - x0) * 0.05 || 1, py = (y1 - y0) * 0.08 || 1;
    x0 -= px; x1 += px; y0 -= py; y1 += py;
    var sx = function (x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
    // Magnitudes grow fainter downwards, as astronomers plot them.
    var sy = mode === 'mag'
      ? function (y) { return T + (y - y0) / (y1 - y0) * (H - T - B); }
      : function (y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
    var axes = el('g', { 'class': 'axes' }, svg);
    ticks(x0, x1, 8).forEach(function (v) {
      el('line', { x1: sx(v), x2: sx(v), y1: T, y2: H - B, 'class': 'grid' }, axes);
      el('text', { x: sx(v), y: H - B + 16, 'text-anchor': 'middle' }, axes).textContent = v;
    });
    ticks(y0, y1, 6).forEach(function (v) {
      el('line', { x1: L, x2: W - R, y1: sy(v), y2: sy(v), 'class': 'grid' }, axes);
      el('text', { x: L - 6, y: sy(v) + 4, 'text-anchor': 'end' }, axes).textContent = v;
    });
    el('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: 'none', 'class': 'axis' }, axes);
    el('text', { x: (L + W - R) / 2, y: H - 8, 'text-anchor': 'middle' }, axes).textContent = 'MJD';
    el('text', { x: 14, y: (T + H - B) / 2, 'text-anchor': 'middle', transform: 'rotate(-90 14 ' + (T + H - B) / 2 + ')' }, axes)
      .textContent = mode === 'flux' ? 'difference flux (' + data.fluxUnit + ')' : 'magnitude (AB)';
    if (mode === 'flux' && y0 < 0 && y1 > 0) {
      el('line', { x1: L, x2: W - R, y1: sy(0), y2: sy(0), stroke: '#9aa7b4', 'stroke-dasharray': '4 3' }, axes);
    }
    all.forEach(function (s, k) {
      if (!s.pts.length) return;
      var color = COLORS[s.band] || '#444';
      var g = el('g', { 'class': 'band', 'data-band': s.band, fill: color, stroke: color }, svg);
      s.pts.forEach(function (q) {
        var cx = sx(q.x), cy = sy(q.y);
        if (q.e > 0) el('line', { x1: cx, x2: cx, y1: sy(q.y - q.e), y2: sy(q.y + q.e), 'stroke-width': 1.2 }, g);
        var c = el('circle', { cx: cx, cy: cy, r: 4, 'class': 'pt' }, g);
        var label = s.band + '  MJD ' + q.x.toFixed(4) + '  ' + mode + ' ' +
          (mode === 'flux' ? q.y.toFixed(1) + ' ± ' + q.e.toFixed(1) : q.y.toFixed(3) + ' ± ' + q.e.toFixed(3)) +
          '  (source ' + q.p.id + ')';
        el('title', {}, c).textContent = label;
        c.addEventListener('mouseenter', function () {
          if (!tip) return;
          tip.textContent = label;
          tip.hidden = false;
          var box = svg.getBoundingClientRect(), scale = box.width / W;
          tip.style.left = (cx * scale + 12) + 'px';
          tip.style.top = (cy * scale + 12) + 'px';
        });
        c.addEventListener('mouseleave', function () { if (tip) tip.hidden = true; });
      });
      // Legend on the right.
      var ly = T + 14 + k * 18;
      el('circle', { cx: W - R + 16, cy: ly - 4, r: 4, fill: color, stroke: color }, svg);
      el('text', { x: W - R + 26, y: ly }, svg).textContent = s.band + ' (' + s.pts.length + ')';
    });
    document.querySelectorAll('.lc-controls button').forEach(function (b) {
      b.classList.toggle('active', b.dataset.mode === mode);
    });
  }
  document.querySelectorAll('.lc-controls button').forEach(function (b) {
    b.addEventListener('click', function () { mode = b.dataset.mode; draw(); });
  });
  draw();
})();
