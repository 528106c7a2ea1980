// TrainingMonitor widget (anywidget ESM): a progress bar with rate/ETA and one SVG line
// chart per metric. Python (tfnb/notebook/training_monitor.py) computes everything into the
// `state` trait (already downsampled, at most ~10 updates/s); this file only draws it.
//
// Stable hooks for tests: the root `.tfnb-monitor` carries `data-progress` (the fraction
// done, "" when the total is unknown), `data-steps` ("n/total" or "n") and `data-done`
// ("true" once the monitor closed); the bar is `.tfnb-monitor-fill` (class `done` at the end),
// the text line `.tfnb-monitor-head`, each chart `svg.tfnb-monitor-chart`.

const SVG = "http://www.w3.org/2000/svg";
const W = 320, H = 130, PAD = { l: 48, r: 10, t: 20, b: 20 };

function svgEl(tag, attrs, parent) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function fmt(v) {
  if (v === null || v === undefined) return "-";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

function makeChart(parent, name, color) {
  const svg = svgEl("svg", { width: W, height: H, class: "tfnb-monitor-chart" }, parent);
  const c = { svg, color };
  svgEl("rect", { x: PAD.l, y: PAD.t, width: W - PAD.l - PAD.r, height: H - PAD.t - PAD.b,
                  class: "tfnb-monitor-frame" }, svg);
  c.title = svgEl("text", { x: PAD.l, y: 13, class: "tfnb-monitor-name" }, svg);
  c.title.textContent = name;
  c.last = svgEl("text", { x: W - PAD.r, y: 13, "text-anchor": "end" }, svg);
  c.hi = svgEl("text", { x: PAD.l - 4, y: PAD.t + 8, "text-anchor": "end" }, svg);
  c.lo = svgEl("text", { x: PAD.l - 4, y: H - PAD.b, "text-anchor": "end" }, svg);
  c.x0 = svgEl("text", { x: PAD.l, y: H - 5 }, svg);
  c.x1 = svgEl("text", { x: W - PAD.r, y: H - 5, "text-anchor": "end" }, svg);
  c.line = svgEl("polyline", { fill: "none", stroke: color, "stroke-width": 1.5 }, svg);
  c.dot = svgEl("circle", { r: 3, fill: color, visibility: "hidden" }, svg);
  c.readout = svgEl("text", { x: PAD.l + 4, y: PAD.t + 12, visibility: "hidden" }, svg);
  // Hover: the nearest point's step and value.
  svg.addEventListener("mousemove", (ev) => {
    const m = c.data;
    if (!m || !m.x.length) return;
    const px = ev.offsetX, i = nearest(m.x.map(c.sx), px);
    c.dot.setAttribute("cx", c.sx(m.x[i]));
    c.dot.setAttribute("cy", c.sy(m.y[i]));
    const mean = m.stride > 1 ? ` (mean of ${m.stride})` : "";
    c.readout.textContent = `step ${m.x[i]}: ${fmt(m.y[i])}${mean}`;
    c.dot.setAttribute("visibility", "visible");
    c.readout.setAttribute("visibility", "visible");
  });
  svg.addEventListener("mouseleave", () => {
    c.dot.setAttribute("visibility", "hidden");
    c.readout.setAttribute("visibility", "hidden");
  });
  return c;
}

function nearest(xs, px) {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (Math.abs(xs[i] - px) < Math.abs(xs[best] - px)) best = i;
  return best;
}

function drawChart(c, m) {
  c.data = m;
  c.last.textContent = "last " + m.last_text;
  if (!m.x.length) { c.line.setAttribute("points", ""); return; }
  let lo = m.min, hi = m.max;
  if (hi === lo) { lo -= 0.5; hi += 0.5; }
  const x0 = m.x[0], x1 = Math.max(m.x[m.x.length - 1], x0 + 1);
  const w = W - PAD.l - PAD.r, h = H - PAD.t - PAD.b;
  c.sx = (x) => PAD.l + (w * (x - x0)) / (x1 - x0);
  c.sy = (y) => PAD.t + h * (1 - (y - lo) / (hi - lo));
  const pts = m.x.map((x, i) => `${c.sx(x).toFixed(1)},${c.sy(m.y[i]).toFixed(1)}`);
  c.line.setAttribute("points", pts.join(" "));
  c.hi.textContent = fmt(hi);
  c.lo.textContent = fmt(lo);
  c.x0.textContent = "step " + x0;
  c.x1.textContent = String(x1);
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "tfnb-monitor";
  const head = document.createElement("div");
  head.className = "tfnb-monitor-head";
  const bar = document.createElement("div");
  bar.className = "tfnb-monitor-bar";
  const fill = document.createElement("div");
  fill.className = "tfnb-monitor-fill";
  bar.appendChild(fill);
  const charts = document.createElement("div");
  charts.className = "tfnb-monitor-charts";
  root.append(head, bar, charts);
  el.appendChild(root);
  const byName = new Map();

  function draw() {
    const s = model.get("state") || {};
    if (s.n === undefined) return;
    const of = s.total === null ? `${s.n}` : `${s.n}/${s.total}`;
    const pct = s.progress === null ? "" : `${(100 * s.progress).toFixed(0)}% · `;
    head.textContent = (s.title ? s.title + " — " : "") +
      `${pct}${of} steps · ${s.rate_text} steps/s · ` +
      `elapsed ${s.elapsed_text} · ETA ${s.eta_text}`;
    fill.style.width = `${100 * (s.progress === null ? (s.done ? 1 : 0) : s.progress)}%`;
    fill.classList.toggle("done", !!s.done);
    root.dataset.progress = s.progress === null ? "" : String(s.progress);
    root.dataset.steps = of;
    root.dataset.done = String(!!s.done);
    for (const m of s.metrics) {
      let c = byName.get(m.name);
      if (!c) { c = makeChart(charts, m.name, m.color); byName.set(m.name, c); }
      drawChart(c, m);
    }
  }
  model.on("change:state", draw);
  draw();
  return () => model.off("change:state", draw);
}

export default { render };
