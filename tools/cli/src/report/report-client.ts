/**
 * The report page's script (plain browser JavaScript, embedded as text; no template literals
 * inside, no network). It reads the data from `<script id="data">`, builds one row layout that
 * both the labels and the canvas are drawn from, and draws at the level of detail the zoom asks
 * for. `window.__drmsimReport` exposes the view for tests.
 */
export const REPORT_CLIENT_JS = String.raw`
(function () {
'use strict';
var D = JSON.parse(document.getElementById('data').textContent);
var S = D.strings;
var LANE_H = 16, ROW_PAD = 3, COUNTER_H = 30, GROUP_H = 22, AXIS_H = 28;
var NAMED = {
  job: ['#4e79a7', 'job — pushed to its entity until its finished fence signals'],
  dma_fence: ['#59a14f', 'fence — from init (emitted) until signalled'],
  hw_command: ['#f28e2b', 'command executing on the engine'],
  asahi_fw_command: ['#edc948', 'firmware command'],
  drm_ioctl: ['#b07aa1', 'ioctl'],
  drm_driver_op: ['#ff9da7', 'driver op (inside an ioctl or worker)'],
  dma_fence_wait: ['#9c755f', 'a context waiting for a fence'],
  sleep: ['#7d8590', 'a context asleep (on a lock, a wait queue, a fence…)']
};
var ERRNO = {1:'EPERM',2:'ENOENT',3:'ESRCH',4:'EINTR',5:'EIO',11:'EAGAIN',12:'ENOMEM',16:'EBUSY',19:'ENODEV',22:'EINVAL',28:'ENOSPC',35:'EDEADLK',62:'ETIME',110:'ETIMEDOUT',125:'ECANCELED',512:'ERESTARTSYS'};
function errName(e) { e = Math.abs(e); return ERRNO[e] ? '-' + ERRNO[e] : String(-e); }
function hashColor(name) { var h = 0; for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0; return 'hsl(' + (h % 360) + ',45%,52%)'; }
function colorOf(name) { return NAMED[name] ? NAMED[name][0] : hashColor(name); }

// ---- time formatting -------------------------------------------------------------------------
function unitFor(step) { return step >= 1e9 ? [1e9, 's'] : step >= 1e6 ? [1e6, 'ms'] : step >= 1e3 ? [1e3, 'µs'] : [1, 'ns']; }
function decimalsFor(step, unit) { var d = 0, q = step / unit; while (d < 6 && Math.abs(Math.round(q * Math.pow(10, d)) - q * Math.pow(10, d)) > 1e-6) d++; return d; }
function fmtTick(ns, step) { var u = unitFor(step); return (ns / u[0]).toFixed(decimalsFor(step, u[0])) + ' ' + u[1]; }
function fmtDur(ns) {
  if (ns === 0) return '0';
  var u = unitFor(Math.abs(ns)), v = ns / u[0];
  return (Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 10 ? v.toFixed(2) : v.toFixed(3)) + ' ' + u[1];
}
function fmtAt(ns) { return (ns / 1e6).toFixed(6) + ' ms'; }

// ---- decode ----------------------------------------------------------------------------------
function undelta(a) { var out = new Float64Array(a.length), t = 0; for (var i = 0; i < a.length; i++) { t += a[i]; out[i] = t; } return out; }
function b64(s, Type) { var bin = atob(s), u = new Uint8Array(bin.length); for (var i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i); return new Type(u.buffer); }
var rows = D.rows.map(function (r, i) {
  var o = { i: i, group: r.group, label: r.label, kind: r.kind, lanes: r.lanes, common: r.common,
    sts: undelta(r.s.ts), sdur: Float64Array.from(r.s.dur), slane: r.s.lane, sname: r.s.name, sargs: r.s.args,
    its: undelta(r.i.ts), ilane: r.i.lane, iname: r.i.name, iargs: r.i.args,
    cts: undelta(r.c.ts), cv: Float64Array.from(r.c.v),
    busy: b64(r.busy, Uint8Array), count: b64(r.count, Uint8Array), maxDur: 0, vmax: 0 };
  for (var k = 0; k < o.sdur.length; k++) if (o.sdur[k] > o.maxDur) o.maxDur = o.sdur[k];
  if (r.kind === 'counter') {
    o.cmax = b64(r.max, Float32Array); o.cmin = b64(r.min, Float32Array);
    for (var b = 0; b < o.cmax.length; b++) if (o.cmax[b] > o.vmax) o.vmax = o.cmax[b];
    for (var c = 0; c < o.cv.length; c++) if (o.cv[c] > o.vmax) o.vmax = o.cv[c];
  }
  return o;
});

// ---- one layout for labels and canvas --------------------------------------------------------
var layout = [], groups = [], y = 0, last = null;
rows.forEach(function (r) {
  if (r.group !== last) { groups.push({ name: r.group, y: y }); y += GROUP_H; last = r.group; }
  var h = r.kind === 'counter' ? COUNTER_H : r.lanes * LANE_H + 2 * ROW_PAD;
  layout.push({ y: y, h: h }); y += h;
});
var contentH = y;

// ---- DOM -------------------------------------------------------------------------------------
var view = document.getElementById('view'), cv = document.getElementById('c'), cx = cv.getContext('2d');
var axis = document.getElementById('axis'), acv = document.getElementById('axisc'), ax = acv.getContext('2d');
var labels = document.getElementById('labels'), inner = document.getElementById('labelsinner'), tip = document.getElementById('tip');
var meta = document.getElementById('meta');
meta.textContent = 'seed ' + D.seed + ' · ' + fmtDur(D.endNs) + ' simulated · ' + rows.length + ' rows · ' + D.events + ' events' +
  (D.complete ? '' : ' (detail kept for ' + D.detailEvents + ' events around the findings and the end of the run; elsewhere the overview)') +
  ' · ' + D.findings.length + ' finding' + (D.findings.length === 1 ? '' : 's');
groups.forEach(function (g) {
  var d = document.createElement('div'); d.className = 'group'; d.style.top = g.y + 'px'; d.style.height = GROUP_H + 'px';
  d.textContent = g.name; inner.appendChild(d);
});
var labelEls = rows.map(function (r, i) {
  var d = document.createElement('div'); d.className = 'label ' + r.kind; d.style.top = layout[i].y + 'px'; d.style.height = layout[i].h + 'px';
  d.textContent = r.label; d.title = r.group + ' › ' + r.label; d.dataset.group = r.group; d.dataset.row = String(i);
  inner.appendChild(d); return d;
});
inner.style.height = contentH + 'px';

// Legend: the slice kinds present, then the marks.
(function () {
  var lg = document.getElementById('legend'), seen = {};
  rows.forEach(function (r) { for (var k = 0; k < r.sname.length; k++) seen[S[r.sname[k]]] = true; });
  function item(swatch, text, cls) {
    var s = document.createElement('span'); s.className = 'item';
    var w = document.createElement('i'); w.className = 'sw ' + (cls || ''); if (swatch) w.style.background = swatch;
    s.appendChild(w); s.appendChild(document.createTextNode(text)); lg.appendChild(s);
  }
  Object.keys(seen).sort(function (a, b) { return (NAMED[a] ? 0 : 1) - (NAMED[b] ? 0 : 1) || a.localeCompare(b); }).forEach(function (n) {
    item(colorOf(n), NAMED[n] ? n + ': ' + NAMED[n][1] : n);
  });
  item('#e15759', 'failed (error status)');
  item(null, 'instant event', 'tick');
  item(null, 'dependency / wait arrow (fence → what waited)', 'arrow');
  item(null, 'counter', 'counter');
  item(null, 'validator finding', 'mark-finding');
  if (!D.complete) item(null, 'overview only (no detail kept here)', 'hatch');
})();

// ---- view state ------------------------------------------------------------------------------
var W = 0, H = 0, dpr = 1, t0 = 0, span = Math.max(D.endNs, 1), scrollY = 0, highlight = {}, markT = -1, hover = null;
if (D.focus) { t0 = D.focus[0]; span = Math.max(1000, D.focus[1] - D.focus[0]); }
function X(ts) { return (ts - t0) / span * W; }
function T(x) { return t0 + x / W * span; }
function clampView() { span = Math.min(Math.max(span, 50), Math.max(D.endNs, 1) * 4); scrollY = Math.max(0, Math.min(scrollY, Math.max(0, contentH - H))); }
var pending = false;
function requestDraw() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; draw(); }); } }
function resize() {
  dpr = window.devicePixelRatio || 1; W = view.clientWidth; H = view.clientHeight;
  cv.width = Math.round(W * dpr); cv.height = Math.round(H * dpr); cv.style.width = W + 'px'; cv.style.height = H + 'px';
  acv.width = Math.round(W * dpr); acv.height = Math.round(AXIS_H * dpr); acv.style.width = W + 'px'; acv.style.height = AXIS_H + 'px';
  clampView(); draw();
}
function lowerBound(a, v) { var lo = 0, hi = a.length; while (lo < hi) { var m = (lo + hi) >> 1; if (a[m] < v) lo = m + 1; else hi = m; } return lo; }
function windowsIn(a, b) { var out = []; D.windows.forEach(function (w) { var x0 = Math.max(a, w[0]), x1 = Math.min(b, w[1]); if (x1 > x0) out.push([x0, x1]); }); return out; }
function argsOf(r, nameIdx, argsIdx) {
  var o = {}, c = r.common[nameIdx], k;
  if (c !== undefined) { var cc = JSON.parse(S[c]); for (k in cc) o[k] = cc[k]; }
  if (argsIdx >= 0) { var a = JSON.parse(S[argsIdx]); for (k in a) o[k] = a[k]; }
  return o;
}
function failed(a) { return (typeof a.error === 'number' && a.error < 0) || (typeof a.status === 'number' && a.status !== 0) || (typeof a.ret === 'number' && a.ret < 0); }

// ---- axis ------------------------------------------------------------------------------------
var tickEls = [];
function niceStep(minNs) { var p = Math.pow(10, Math.floor(Math.log10(Math.max(minNs, 1)))); var m = [1, 2, 5, 10]; for (var i = 0; i < m.length; i++) if (m[i] * p >= minNs) return m[i] * p; return 10 * p; }
function drawAxis() {
  ax.setTransform(dpr, 0, 0, dpr, 0, 0); ax.fillStyle = '#1a1a1a'; ax.fillRect(0, 0, W, AXIS_H);
  var step = niceStep(span * 90 / Math.max(W, 1)), first = Math.ceil(t0 / step) * step, n = 0;
  ax.strokeStyle = '#555'; ax.beginPath();
  for (var t = first; t <= t0 + span; t += step, n++) {
    var x = Math.round(X(t)) + 0.5; ax.moveTo(x, AXIS_H - 8); ax.lineTo(x, AXIS_H);
    var el = tickEls[n]; if (!el) { el = document.createElement('span'); el.className = 'tick'; axis.appendChild(el); tickEls[n] = el; }
    el.style.display = ''; el.style.left = (x + 3) + 'px'; el.textContent = fmtTick(t, step); el.dataset.ns = String(t);
  }
  for (var j = n; j < tickEls.length; j++) tickEls[j].style.display = 'none';
  ax.stroke();
  D.findings.forEach(function (f, i) {
    var fx = X(f.timeNs); if (fx < -6 || fx > W + 6) return;
    ax.fillStyle = i === selected ? '#ff6b6b' : '#e15759'; ax.beginPath(); ax.moveTo(fx - 5, 0); ax.lineTo(fx + 5, 0); ax.lineTo(fx, 8); ax.closePath(); ax.fill();
  });
  return step;
}

// ---- rows ------------------------------------------------------------------------------------
var BK = D.buckets, bucketNs = Math.max(D.endNs, 1) / BK;
function drawOverviewRow(r, top, h, xa, xb, faded) {
  for (var px = Math.max(0, Math.floor(xa)); px < Math.min(W, Math.ceil(xb)); px++) {
    var b0 = Math.floor(T(px) / bucketNs), b1 = Math.floor(T(px + 1) / bucketNs);
    if (b1 < 0 || b0 >= BK) continue; b0 = Math.max(0, b0); b1 = Math.min(BK - 1, Math.max(b0, b1));
    if (r.kind === 'counter') {
      var mx = -Infinity, mn = Infinity;
      for (var b = b0; b <= b1; b++) { if (r.cmax[b] > mx) mx = r.cmax[b]; if (r.cmin[b] < mn) mn = r.cmin[b]; }
      if (mx === -Infinity) continue;
      var y1 = top + h - 2 - (mx / (r.vmax || 1)) * (h - 6), y0 = top + h - 2 - (mn / (r.vmax || 1)) * (h - 6);
      cx.fillStyle = faded ? '#3b6f8f' : '#6cb4e4'; cx.fillRect(px, y1, 1, Math.max(1, y0 - y1));
    } else {
      var busy = 0, cnt = 0;
      for (var q = b0; q <= b1; q++) { if (r.busy[q] > busy) busy = r.busy[q]; if (r.count[q] > cnt) cnt = r.count[q]; }
      if (busy === 0 && cnt === 0) continue;
      var a = Math.max(busy, cnt * 0.5) / 255;
      cx.fillStyle = faded ? 'rgba(150,150,150,' + (0.15 + 0.5 * a) + ')' : 'rgba(120,170,230,' + (0.25 + 0.75 * a) + ')';
      cx.fillRect(px, top + ROW_PAD, 1, h - 2 * ROW_PAD);
    }
  }
}
function drawDetailRow(r, top, h, ta, tb) {
  var xa = X(ta), xb = X(tb);
  if (r.kind === 'counter') {
    var i = Math.max(0, lowerBound(r.cts, ta) - 1), n = r.cts.length; if (n === 0) return;
    cx.strokeStyle = '#6cb4e4'; cx.lineWidth = 1.5; cx.beginPath();
    var started = false;
    for (; i < n; i++) {
      var x = Math.max(xa, X(r.cts[i])); if (x > xb) break;
      var yv = top + h - 2 - (r.cv[i] / (r.vmax || 1)) * (h - 6);
      if (!started) { cx.moveTo(x, yv); started = true; } else cx.lineTo(x, yv);
      var nx = i + 1 < n ? Math.min(xb, X(r.cts[i + 1])) : Math.min(xb, X(D.endNs));
      cx.lineTo(nx, yv);
    }
    cx.stroke();
    return;
  }
  var lastPx = [], start = lowerBound(r.sts, ta - r.maxDur);
  cx.font = '10px system-ui,sans-serif'; cx.textBaseline = 'middle';
  for (var k = start; k < r.sts.length; k++) {
    var s = r.sts[k]; if (s > tb) break;
    var e = s + r.sdur[k]; if (e < ta) continue;
    var x0 = Math.max(xa, X(s)), x1 = Math.min(xb, X(e)), lane = r.slane[k], yy = top + ROW_PAD + lane * LANE_H + 1;
    var name = S[r.sname[k]];
    if (x1 - x0 < 1) { var px = Math.floor(x0); if (lastPx[lane] === px) continue; lastPx[lane] = px; }
    var bad = r.sargs[k] >= 0 && failed(argsOf(r, r.sname[k], r.sargs[k]));
    cx.fillStyle = bad ? '#e15759' : colorOf(name);
    cx.fillRect(x0, yy, Math.max(1, x1 - x0), LANE_H - 2);
    if (x1 - x0 > 44) { cx.fillStyle = '#111'; cx.save(); cx.beginPath(); cx.rect(x0, yy, x1 - x0, LANE_H - 2); cx.clip(); cx.fillText(sliceLabel(r, k), x0 + 3, yy + (LANE_H - 2) / 2); cx.restore(); }
  }
  var is = lowerBound(r.its, ta);
  cx.fillStyle = '#ddd';
  for (var j = is; j < r.its.length && r.its[j] <= tb; j++) {
    var ix = X(r.its[j]), iy = top + ROW_PAD + r.ilane[j] * LANE_H;
    cx.beginPath(); cx.moveTo(ix - 3, iy + LANE_H - 1); cx.lineTo(ix + 3, iy + LANE_H - 1); cx.lineTo(ix, iy + LANE_H - 7); cx.closePath(); cx.fill();
  }
}
function sliceLabel(r, k) {
  var a = argsOf(r, r.sname[k], r.sargs[k]), n = S[r.sname[k]];
  if (n === 'job') return 'job ' + a.id;
  if (n === 'dma_fence') return '#' + a.seqno;
  if (n === 'hw_command' || n === 'asahi_fw_command') return a.label || n;
  if (n === 'drm_ioctl') return a.ioctl || n;
  if (n === 'drm_driver_op') return a.op || n;
  if (n === 'dma_fence_wait') return 'wait #' + a.seqno;
  return n;
}

// ---- flows -----------------------------------------------------------------------------------
var flowNote = document.getElementById('flownote');
function rowOfY(yc) { var lo = 0, hi = layout.length - 1; while (lo < hi) { var m = (lo + hi + 1) >> 1; if (layout[m].y <= yc) lo = m; else hi = m - 1; } return lo; }
function laneY(ri, lane) { return layout[ri].y - scrollY + ROW_PAD + lane * LANE_H + LANE_H / 2; }
function drawFlows(detail) {
  if (!detail) { flowNote.textContent = D.flows.length ? 'zoom in to see the ' + D.flows.length + ' dependency arrows' : ''; return; }
  var vis = [], t1 = t0 + span;
  for (var i = 0; i < D.flows.length; i++) {
    var f = D.flows[i], a = rows[f[0]], b = rows[f[2]];
    var fe = a.sts[f[1]] + a.sdur[f[1]], ts = b.sts[f[3]];
    if (Math.max(fe, ts) < t0 || Math.min(fe, ts) > t1) continue;
    vis.push(i);
  }
  var hoverRow = hover ? hover.row : -1, hoverIdx = hover ? hover.k : -1;
  var limit = 1500;
  flowNote.textContent = vis.length > limit ? vis.length + ' arrows in view: showing those of the slice under the mouse; zoom in to see all' : '';
  cx.lineWidth = 1;
  vis.forEach(function (i) {
    var f = D.flows[i], a = rows[f[0]], b = rows[f[2]];
    var on = (f[0] === hoverRow && f[1] === hoverIdx) || (f[2] === hoverRow && f[3] === hoverIdx);
    if (vis.length > limit && !on) return;
    // From where the fence signalled to the same instant on what waited (or its start, if later).
    var fe = a.sts[f[1]] + a.sdur[f[1]], te = Math.min(b.sts[f[3]] + b.sdur[f[3]], Math.max(b.sts[f[3]], fe));
    var xa = X(fe), ya = laneY(f[0], a.slane[f[1]]), xb = X(te), yb = laneY(f[2], b.slane[f[3]]);
    cx.strokeStyle = on ? '#ffd24d' : 'rgba(255,204,102,0.55)'; cx.fillStyle = cx.strokeStyle;
    cx.beginPath(); cx.moveTo(xa, ya);
    cx.bezierCurveTo(xa + 14, ya, xb - 14, yb, xb, yb); cx.stroke();
    cx.beginPath(); cx.moveTo(xb, yb); cx.lineTo(xb - 6, yb - 3); cx.lineTo(xb - 6, yb + 3); cx.closePath(); cx.fill();
  });
}

// ---- draw ------------------------------------------------------------------------------------
var selected = -1, lastMode = '';
function draw() {
  cx.setTransform(dpr, 0, 0, dpr, 0, 0);
  cx.fillStyle = '#111'; cx.fillRect(0, 0, W, H);
  // Every event when a bucket of the overview is a pixel or wider, or when the detail is
  // complete and few enough events are in view to draw them all.
  var detail = bucketNs / span * W >= 1 || (D.complete && D.detailEvents * span / Math.max(D.endNs, 1) <= 60000);
  lastMode = detail ? 'detail' : 'overview';
  var ta = t0, tb = t0 + span, wins = detail ? windowsIn(ta, tb) : [];
  groups.forEach(function (g) { var gy = g.y - scrollY; if (gy > -GROUP_H && gy < H) { cx.fillStyle = '#1d2230'; cx.fillRect(0, gy, W, GROUP_H); } });
  rows.forEach(function (r, i) {
    var top = layout[i].y - scrollY, h = layout[i].h;
    if (top > H || top + h < 0) return;
    cx.fillStyle = highlight[i] ? '#3a2a12' : i % 2 ? '#151515' : '#191919'; cx.fillRect(0, top, W, h);
    if (!detail) { drawOverviewRow(r, top, h, 0, W, false); return; }
    var x = 0;
    wins.forEach(function (w) {
      var wa = X(w[0]), wb = X(w[1]);
      if (wa > x) { drawOverviewRow(r, top, h, x, wa, true); hatch(x, top, wa - x, h); }
      cx.save(); cx.beginPath(); cx.rect(wa, top, wb - wa, h); cx.clip(); drawDetailRow(r, top, h, w[0], w[1]); cx.restore();
      x = wb;
    });
    if (x < W) { drawOverviewRow(r, top, h, x, W, true); hatch(x, top, W - x, h); }
  });
  if (markT >= 0) { var mx = X(markT); cx.strokeStyle = '#ff6b6b'; cx.setLineDash([4, 3]); cx.beginPath(); cx.moveTo(mx, 0); cx.lineTo(mx, H); cx.stroke(); cx.setLineDash([]); }
  D.findings.forEach(function (f) { var fx = X(f.timeNs); if (fx >= 0 && fx <= W) { cx.fillStyle = 'rgba(225,87,89,0.35)'; cx.fillRect(fx, 0, 1, H); } });
  drawFlows(detail);
  drawAxis();
  inner.style.transform = 'translateY(' + (-scrollY) + 'px)';
  document.getElementById('mode').textContent = detail ? (wins.length ? 'detail' : 'overview (no detail kept for this range)') : 'overview: zoom in (W) for every event';
}
function hatch(x, top, w, h) { if (w <= 0 || D.complete) return; cx.fillStyle = 'rgba(255,255,255,0.04)'; for (var k = Math.floor(x / 8) * 8; k < x + w; k += 8) cx.fillRect(k, top, 2, h); }

// ---- hover -----------------------------------------------------------------------------------
function describe(r, k, isInstant) {
  var nameIdx = isInstant ? r.iname[k] : r.sname[k], argsIdx = isInstant ? r.iargs[k] : r.sargs[k];
  var a = argsOf(r, nameIdx, argsIdx), n = S[nameIdx], lines = [], ts = isInstant ? r.its[k] : r.sts[k], dur = isInstant ? 0 : r.sdur[k];
  var where = r.group + ' › ' + r.label;
  var status = failed(a) ? 'failed: ' + (a.error !== undefined ? errName(a.error) : a.status !== undefined ? 'status ' + a.status : errName(a.ret)) : 'ok';
  if (n === 'job') {
    lines.push('job ' + a.id + ' from entity ' + a.entity + ' on ' + r.label.replace(/ jobs$/, ''));
    lines.push('finished fence ' + a.fenceContext + '#' + a.seqno + ' · ' + a.credits + ' credit' + (a.credits === 1 ? '' : 's'));
    if (a.ranAt !== undefined) lines.push('queued ' + fmtDur(a.ranAt - ts) + ', then ran ' + fmtDur(ts + dur - a.ranAt));
    lines.push(a.unfinished ? 'never finished' : status);
  } else if (n === 'dma_fence') {
    lines.push('fence ' + a.driver + ':' + a.timeline + ' — context ' + a.context + ' #' + a.seqno);
    lines.push(a.unfinished ? 'never signalled (still pending at the end)' : 'signalled after ' + fmtDur(dur) + ' · ' + status);
  } else if (n === 'hw_command' || n === 'asahi_fw_command') {
    lines.push((n === 'hw_command' ? 'command ' : 'firmware command ') + JSON.stringify(a.label) + ' on ' + where);
    lines.push('ran ' + fmtDur(dur) + ' · ' + status);
  } else if (n === 'drm_ioctl') {
    lines.push('ioctl ' + a.ioctl + ' on ' + a.file + ' by ' + r.label);
    lines.push('took ' + fmtDur(dur) + ' · returned ' + (a.ret < 0 ? errName(a.ret) : a.ret));
  } else if (n === 'drm_driver_op') {
    lines.push('driver op ' + a.op + ' (' + a.plugin + ') in ' + r.label); lines.push('took ' + fmtDur(dur));
  } else if (n === 'dma_fence_wait') {
    lines.push(r.label + ' waits for fence ' + a.driver + ':' + a.timeline + ' — context ' + a.context + ' #' + a.seqno);
    lines.push('waited ' + fmtDur(dur) + (a.ret !== undefined ? ' · returned ' + (a.ret < 0 ? errName(a.ret) : a.ret) : ''));
  } else {
    lines.push(n + ' on ' + where);
    if (!isInstant) lines.push('took ' + fmtDur(dur));
    Object.keys(a).forEach(function (key) { lines.push(key + ': ' + (typeof a[key] === 'object' ? JSON.stringify(a[key]) : a[key])); });
  }
  lines.push((isInstant ? 'at ' : 'from ') + fmtAt(ts) + (isInstant ? '' : ' to ' + fmtAt(ts + dur)));
  return lines.join(String.fromCharCode(10));
}
function hitTest(clientX, clientY) {
  var rect = view.getBoundingClientRect(), x = clientX - rect.left, yc = clientY - rect.top + scrollY;
  if (x < 0 || x > W || clientY < rect.top || clientY > rect.bottom) return null;
  var ri = rowOfY(yc), r = rows[ri], L = layout[ri];
  if (!r || yc < L.y || yc > L.y + L.h) return null;
  var t = T(x), slop = span / W * 3;
  if (r.kind === 'counter') {
    var ci = lowerBound(r.cts, t + 0.5) - 1; if (ci < 0) return null;
    return { row: ri, k: -1, text: r.group + ' › ' + r.label + ': ' + r.cv[ci] + ' (since ' + fmtAt(r.cts[ci]) + ')' };
  }
  var lane = Math.floor((yc - L.y - ROW_PAD) / LANE_H);
  var best = -1, bestD = Infinity;
  for (var j = lowerBound(r.its, t - slop); j < r.its.length && r.its[j] <= t + slop; j++) if (r.ilane[j] === lane) { var d = Math.abs(r.its[j] - t); if (d < bestD) { bestD = d; best = j; } }
  if (best >= 0) return { row: ri, k: -1, text: describe(r, best, true) };
  for (var k = lowerBound(r.sts, t - r.maxDur - slop); k < r.sts.length && r.sts[k] <= t + slop; k++) {
    if (r.slane[k] !== lane) continue;
    if (r.sts[k] - slop <= t && t <= r.sts[k] + r.sdur[k] + slop) return { row: ri, k: k, text: describe(r, k, false) };
  }
  return null;
}

// ---- input -----------------------------------------------------------------------------------
function zoomAt(factor, x) { var at = T(x); span = span * factor; clampView(); t0 = at - x / W * span; requestDraw(); }
function pan(frac) { t0 += span * frac; requestDraw(); }
var mouseX = -1;
view.addEventListener('wheel', function (e) {
  e.preventDefault();
  var rect = view.getBoundingClientRect();
  if (e.ctrlKey || e.metaKey) zoomAt(Math.pow(1.0015, e.deltaY), e.clientX - rect.left);
  else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) pan((e.shiftKey ? e.deltaY : e.deltaX) / Math.max(W, 1));
  else { scrollY += e.deltaY; clampView(); requestDraw(); }
}, { passive: false });
window.addEventListener('keydown', function (e) {
  if (e.target && (e.target.tagName === 'INPUT' || e.target.tagName === 'TEXTAREA')) return;
  var x = mouseX >= 0 ? mouseX : W / 2, k = e.key.toLowerCase();
  if (k === 'w') zoomAt(0.8, x); else if (k === 's') zoomAt(1.25, x);
  else if (k === 'a') pan(-0.1); else if (k === 'd') pan(0.1);
  else if (k === '0') { t0 = 0; span = Math.max(D.endNs, 1); requestDraw(); }
  else return;
  e.preventDefault();
});
var drag = null;
view.addEventListener('mousedown', function (e) { drag = { x: e.clientX, y: e.clientY, t0: t0, s: scrollY }; view.classList.add('dragging'); });
window.addEventListener('mouseup', function () { drag = null; view.classList.remove('dragging'); });
window.addEventListener('mousemove', function (e) {
  var rect = view.getBoundingClientRect(); mouseX = e.clientX - rect.left;
  if (drag) { t0 = drag.t0 - (e.clientX - drag.x) / W * span; scrollY = drag.s - (e.clientY - drag.y); clampView(); tip.style.display = 'none'; requestDraw(); return; }
  var h = hitTest(e.clientX, e.clientY), changed = (h ? h.row + '/' + h.k : '') !== (hover ? hover.row + '/' + hover.k : '');
  hover = h;
  if (!h) tip.style.display = 'none';
  else { tip.textContent = h.text; tip.style.left = Math.min(e.clientX + 14, window.innerWidth - 420) + 'px'; tip.style.top = (e.clientY + 14) + 'px'; tip.style.display = 'block'; }
  if (changed) requestDraw();
});
labels.addEventListener('wheel', function (e) { e.preventDefault(); scrollY += e.deltaY; clampView(); requestDraw(); }, { passive: false });

// ---- findings --------------------------------------------------------------------------------
var fd = document.getElementById('findings');
function focusFinding(i) {
  var f = D.findings[i]; if (!f) return;
  selected = i; markT = f.timeNs;
  span = Math.min(Math.max(D.endNs, 1000), Math.max(D.endNs / 50, 200000));
  t0 = f.timeNs - span / 2; highlight = {};
  // A context's own row (its label), and the rows of what it stands for: an interrupt line's
  // engine (irq:gfx/3 → gfx), a process context's userspace process (process:game/33 → game).
  var names = {};
  f.contexts.forEach(function (c) { names[c] = true; var m = /^[a-z]+:(.*)\/\d+$/.exec(c); if (m) names[m[1]] = true; });
  var firstRow = -1;
  rows.forEach(function (r, ri) { if (names[r.label] || names[r.group]) { highlight[ri] = true; if (firstRow < 0) firstRow = ri; } });
  labelEls.forEach(function (el, ri) { el.classList.toggle('hl', !!highlight[ri]); });
  if (firstRow >= 0) scrollY = layout[firstRow].y - 40;
  Array.prototype.forEach.call(fd.querySelectorAll('.finding'), function (el, j) { el.classList.toggle('sel', j === i); });
  clampView(); requestDraw();
}
if (D.findings.length === 0) { var ok = document.createElement('h3'); ok.className = 'clean'; ok.textContent = 'validator: clean'; fd.appendChild(ok); }
else {
  var h3 = document.createElement('h3'); h3.textContent = 'validator findings (' + D.findings.length + ') — click one to see it on the timeline'; fd.appendChild(h3);
  D.findings.forEach(function (f, i) {
    var e = document.createElement('div'); e.className = 'finding'; e.tabIndex = 0;
    var t = document.createElement('b'); t.textContent = '[' + f.kind + '] ' + f.title;
    var at = document.createElement('div'); at.className = 'at'; at.textContent = 'at ' + fmtAt(f.timeNs) + ' in ' + f.contexts.join(', ');
    var p = document.createElement('pre'); p.textContent = f.text;
    e.appendChild(t); e.appendChild(at); e.appendChild(p);
    e.addEventListener('click', function () { focusFinding(i); });
    e.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') focusFinding(i); });
    fd.appendChild(e);
  });
}
(function () {
  var sm = document.getElementById('summary'), s = D.summary;
  var list = [['engines', s.engines.length], ['fences signalled', s.fencesSignalled], ['fence errors', s.fenceErrors], ['fence waits', s.waits]];
  s.engines.forEach(function (e) { list.push([e.engine, e.commands + ' commands, ' + (e.utilisation * 100).toFixed(1) + '% busy']); });
  Object.keys(s.extra).forEach(function (k) { list.push([k, s.extra[k]]); });
  var tb = document.createElement('table');
  list.forEach(function (kv) { var tr = document.createElement('tr'), a = document.createElement('td'), b = document.createElement('td'); a.textContent = kv[0]; b.textContent = String(kv[1]); tr.appendChild(a); tr.appendChild(b); tb.appendChild(tr); });
  sm.appendChild(tb);
})();

window.addEventListener('resize', resize);
resize();
if (D.focus && D.findings.length > 0) focusFinding(0);

window.__drmsimReport = {
  rows: rows.length, findings: D.findings.length,
  get span() { return span; }, get t0() { return t0; }, get scrollY() { return scrollY; }, get mode() { return lastMode; },
  zoom: function (f) { span *= f; clampView(); draw(); },
  setView: function (a, s) { t0 = a; span = s; clampView(); draw(); },
  /** Client x (px) of virtual time ns. */
  clientX: function (ns) { return view.getBoundingClientRect().left + X(ns); },
  /** Detail slices of a row, absolute times. */
  slices: function (group, label) {
    var r = rows.filter(function (q) { return q.group === group && q.label === label; })[0]; if (!r) return [];
    var out = []; for (var k = 0; k < r.sts.length; k++) out.push({ ts: r.sts[k], dur: r.sdur[k], lane: r.slane[k], name: S[r.sname[k]], args: argsOf(r, r.sname[k], r.sargs[k]) });
    return out;
  },
  laneHeight: LANE_H, rowPad: ROW_PAD, windows: D.windows,
  focusFinding: focusFinding, draw: draw,
  /** Scrolls the rows so content y is at the top. */
  scrollTo: function (yy) { scrollY = yy; clampView(); draw(); },
  /** The rows as laid out: group, label, kind, lanes, and top/height in content px. */
  layout: function () { return rows.map(function (r, i) { return { group: r.group, label: r.label, kind: r.kind, lanes: r.lanes, top: layout[i].y, height: layout[i].h }; }); },
  /** The colour a slice of this name is drawn in, as #rrggbb. */
  colorHex: function (name) { var c = document.createElement('canvas').getContext('2d'); c.fillStyle = colorOf(name); return c.fillStyle; },
  /** The canvas pixel under a client position, [r, g, b]. */
  pixel: function (clientX, clientY) {
    var rect = cv.getBoundingClientRect(), d = cx.getImageData(Math.floor((clientX - rect.left) * dpr), Math.floor((clientY - rect.top) * dpr), 1, 1).data;
    return [d[0], d[1], d[2]];
  }
};
})();
`;
