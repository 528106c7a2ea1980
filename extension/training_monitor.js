// TrainingMonitor widget (anywidget ESM): one or more monitors side by side (nested loops,
// replicas), each a progress bar with rate/ETA and SVG line charts. Python
// (tfnb/notebook/training_monitor.py) sends the states in the `monitors` trait (already
// downsampled, at most ~10 updates/s); this file draws them, smooths the lines with
// TensorBoard's debiased exponential moving average (a slider per monitor), switches the y
// axes to log scale (a checkbox) and reads out every series of a chart at the hovered step.
//
// Stable hooks for tests: each monitor's root `.tfnb-monitor` carries `data-progress` (the
// fraction done, "" when the total is unknown), `data-steps` ("n/total" or "n"), `data-done`
// ("true" once the monitor closed) and `data-position`; the bar is `.tfnb-monitor-fill` (class
// `done` at the end), the text line `.tfnb-monitor-head`, the controls
// `input.tfnb-monitor-smoothing` (range) and `input.tfnb-monitor-log` (checkbox); each chart is
// `svg.tfnb-monitor-chart[data-chart]` with `data-smoothing` and `data-log`, its lines
// `polyline.tfnb-monitor-smooth[data-series]` and `polyline.tfnb-monitor-raw[data-series]`,
// the hover readout `text.tfnb-monitor-readout`.

const SVG = "http://www.w3.org/2000/svg";
const W = 340, H = 150, PAD = { l: 50, r: 10, t: 22, b: 20 };

function svgEl(tag, attrs, parent) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmt(v) {
  if (v === null || v === undefined) return "-";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

// TensorBoard's smoothing (same as tfnb.notebook.training_monitor.smooth).
function smooth(ys, w) {
  w = Math.min(Math.max(w, 0), 0.999);
  const out = [];
  let acc = 0, n = 0;
  for (const v of ys) {
    if (!Number.isFinite(v)) { out.push(v); continue; }
    acc = acc * w + (1 - w) * v;
    n += 1;
    out.push(w > 0 ? acc / (1 - Math.pow(w, n)) : v);
  }
  return out;
}

// Round axis limits and ticks (same as tfnb.notebook.training_monitor.nice_range).
function niceRange(lo, hi, log, n = 4) {
  if (log) {
    let a = Math.floor(Math.log10(Math.max(lo, 1e-300)));
    let b = Math.ceil(Math.log10(Math.max(hi, 1e-300)));
    if (a === b) a -= 1;
    const step = Math.max(1, Math.ceil((b - a) / n));
    const ticks = [];
    for (let e = a; e <= b; e += step) ticks.push(Math.pow(10, e));
    return [Math.pow(10, a), Math.pow(10, b), ticks];
  }
  if (hi === lo) {
    const pad = Math.abs(lo) * 0.1 || 1;
    lo -= pad; hi += pad;
  }
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const a = Math.floor(lo / step) * step, b = Math.ceil(hi / step) * step;
  const ticks = [];
  for (let i = 0; i <= Math.round((b - a) / step); i++) ticks.push(a + i * step);
  return [a, b, ticks];
}

function nearest(xs, x) {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (Math.abs(xs[i] - x) < Math.abs(xs[best] - x)) best = i;
  return best;
}

class Chart {
  constructor(parent, name) {
    this.svg = svgEl("svg", { width: W, height: H, class: "tfnb-monitor-chart", "data-chart": name },
      parent);
    this.name = name;
    this.grid = svgEl("g", {}, this.svg);
    svgEl("rect", { x: PAD.l, y: PAD.t, width: W - PAD.l - PAD.r, height: H - PAD.t - PAD.b,
      class: "tfnb-monitor-frame" }, this.svg);
    this.title = svgEl("text", { x: PAD.l, y: 13, class: "tfnb-monitor-name" }, this.svg);
    this.last = svgEl("text", { x: W - PAD.r, y: 13, "text-anchor": "end" }, this.svg);
    this.x0 = svgEl("text", { x: PAD.l, y: H - 5 }, this.svg);
    this.x1 = svgEl("text", { x: W - PAD.r, y: H - 5, "text-anchor": "end" }, this.svg);
    this.lines = svgEl("g", {}, this.svg);
    this.legend = svgEl("g", {}, this.svg);
    this.cursor = svgEl("line", { y1: PAD.t, y2: H - PAD.b, class: "tfnb-monitor-cursor",
      visibility: "hidden" }, this.svg);
    this.dots = svgEl("g", {}, this.svg);
    this.readout = svgEl("text", { x: PAD.l + 4, y: H - PAD.b - 4, class: "tfnb-monitor-readout",
      visibility: "hidden" }, this.svg);
    this.svg.addEventListener("mousemove", (ev) => this.hover(ev));
    this.svg.addEventListener("mouseleave", () => {
      this.cursor.setAttribute("visibility", "hidden");
      this.readout.setAttribute("visibility", "hidden");
      this.dots.replaceChildren();
    });
  }

  draw(series, weight, log) {
    this.series = series;
    this.svg.dataset.smoothing = String(weight);
    this.svg.dataset.log = String(log);
    this.title.textContent = this.name + (log ? " (log)" : "");
    this.last.textContent = series.length === 1 ? "last " + series[0].last_text : "";
    this.lines.replaceChildren();
    this.legend.replaceChildren();
    this.grid.replaceChildren();
    const pts = series.map((m) => {
      const keep = m.x.map((x, i) => [x, m.y[i]]).filter(([, y]) => !log || y > 0);
      return { m, x: keep.map((p) => p[0]), y: keep.map((p) => p[1]) };
    });
    const ys = pts.flatMap((p) => p.y), xs = pts.flatMap((p) => p.x);
    if (!xs.length) { this.sx = null; return; }
    const [y0, y1, ticks] = niceRange(Math.min(...ys), Math.max(...ys), log);
    const x0 = Math.min(...xs), x1 = Math.max(Math.max(...xs), x0 + 1);
    const w = W - PAD.l - PAD.r, hh = H - PAD.t - PAD.b;
    const f = log ? Math.log10 : (v) => v;
    this.sx = (x) => PAD.l + (w * (x - x0)) / (x1 - x0);
    this.sy = (y) => PAD.t + hh * (1 - (f(y) - f(y0)) / (f(y1) - f(y0)));
    this.xRange = [x0, x1];
    for (const t of ticks) {
      const y = this.sy(t);
      svgEl("line", { x1: PAD.l, x2: PAD.l + w, y1: y, y2: y, class: "tfnb-monitor-gridline" },
        this.grid);
      svgEl("text", { x: PAD.l - 4, y: y + 3, "text-anchor": "end" }, this.grid).textContent = fmt(t);
    }
    this.x0.textContent = "step " + x0;
    this.x1.textContent = String(x1);
    this.smoothed = [];
    pts.forEach((p, k) => {
      const sm = smooth(p.y, weight);
      this.smoothed.push({ x: p.x, raw: p.y, sm, m: p.m });
      const line = (vals) => p.x.map((x, i) => `${this.sx(x).toFixed(1)},${this.sy(vals[i]).toFixed(1)}`).join(" ");
      if (weight > 0) {
        svgEl("polyline", { points: line(p.y), stroke: p.m.color, class: "tfnb-monitor-raw",
          "data-series": p.m.name }, this.lines);
      }
      svgEl("polyline", { points: line(sm), stroke: p.m.color, class: "tfnb-monitor-smooth",
        "data-series": p.m.name }, this.lines);
      if (series.length > 1) {
        svgEl("text", { x: PAD.l + 4, y: PAD.t + 10 + 11 * k, fill: p.m.color,
          class: "tfnb-monitor-legend" }, this.legend).textContent = `${p.m.label} ${p.m.last_text}`;
      }
    });
  }

  hover(ev) {
    if (!this.sx || !this.smoothed.length) return;
    const r = this.svg.getBoundingClientRect();
    const px = ev.clientX - r.left;
    const [x0, x1] = this.xRange;
    const step = x0 + ((px - PAD.l) / (W - PAD.l - PAD.r)) * (x1 - x0);
    const parts = [];
    this.dots.replaceChildren();
    let at = null;
    for (const s of this.smoothed) {
      if (!s.x.length) continue;
      const i = nearest(s.x, step);
      at = at === null ? s.x[i] : at;
      svgEl("circle", { cx: this.sx(s.x[i]), cy: this.sy(s.sm[i]), r: 3, fill: s.m.color },
        this.dots);
      const mean = s.m.stride > 1 ? ` (mean of ${s.m.stride})` : "";
      const val = s.sm[i] !== s.raw[i] ? `${fmt(s.sm[i])} [${fmt(s.raw[i])}]` : fmt(s.raw[i]);
      parts.push(`${this.smoothed.length > 1 ? s.m.label + " " : ""}${val}${mean}`);
    }
    this.cursor.setAttribute("x1", this.sx(at));
    this.cursor.setAttribute("x2", this.sx(at));
    this.cursor.setAttribute("visibility", "visible");
    this.readout.textContent = `step ${at}: ${parts.join(", ")}`;
    this.readout.setAttribute("visibility", "visible");
  }
}

function monitorView(parent) {
  const root = h("div", "tfnb-monitor");
  const head = h("div", "tfnb-monitor-head");
  const bar = h("div", "tfnb-monitor-bar");
  const fill = h("div", "tfnb-monitor-fill");
  bar.appendChild(fill);
  const tools = h("div", "tfnb-monitor-tools");
  const sl = h("label", "", "smoothing ");
  const slider = h("input", "tfnb-monitor-smoothing");
  slider.type = "range";
  slider.min = "0";
  slider.max = "0.99";
  slider.step = "0.01";
  const slv = h("span", "tfnb-monitor-smoothing-value");
  sl.append(slider, slv);
  const ll = h("label", "", " log scale ");
  const logBox = h("input", "tfnb-monitor-log");
  logBox.type = "checkbox";
  ll.prepend(logBox);
  tools.append(sl, ll);
  const charts = h("div", "tfnb-monitor-charts");
  root.append(head, bar, tools, charts);
  parent.appendChild(root);
  const byName = new Map();
  const view = { root, state: null, weight: null, log: null, pyWeight: null, pyLog: null };

  function drawCharts() {
    const s = view.state;
    for (const c of s.charts || s.metrics.map((m, i) => ({ name: m.name, series: [i] }))) {
      let chart = byName.get(c.name);
      if (!chart) { chart = new Chart(charts, c.name); byName.set(c.name, chart); }
      chart.draw(c.series.map((i) => s.metrics[i]), view.weight, view.log);
    }
    slv.textContent = view.weight.toFixed(2);
  }
  slider.addEventListener("input", () => { view.weight = Number(slider.value); drawCharts(); });
  logBox.addEventListener("change", () => { view.log = logBox.checked; drawCharts(); });

  view.update = (s) => {
    view.state = s;
    // Python's settings apply until the user moves a control (and again if Python changes them).
    if (view.pyWeight !== s.smoothing) { view.pyWeight = s.smoothing; view.weight = s.smoothing; }
    if (view.pyLog !== s.log_scale) { view.pyLog = s.log_scale; view.log = s.log_scale; }
    slider.value = String(view.weight);
    logBox.checked = view.log;
    const of = s.total === null ? `${s.n}` : `${s.n}/${s.total}`;
    const pct = s.progress === null ? "" : `${(100 * s.progress).toFixed(0)}% · `;
    head.textContent = (s.title ? s.title + " — " : "") +
      `${pct}${of} · ${s.rate_text} · elapsed ${s.elapsed_text} · ETA ${s.eta_text}`;
    fill.style.width = `${100 * (s.progress === null ? (s.done ? 1 : 0) : s.progress)}%`;
    fill.classList.toggle("done", !!s.done);
    root.dataset.progress = s.progress === null ? "" : String(s.progress);
    root.dataset.steps = of;
    root.dataset.done = String(!!s.done);
    root.dataset.position = String(s.position ?? 0);
    tools.style.display = s.metrics.length ? "" : "none";
    drawCharts();
  };
  return view;
}

function render({ model, el }) {
  const board = h("div", "tfnb-monitor-board");
  el.appendChild(board);
  const views = [];

  function draw() {
    const states = model.get("monitors") || [];
    states.forEach((s, i) => {
      // A new monitor in a finished one's place (the next inner loop) starts fresh.
      if (views[i] && views[i].title !== s.title) {
        views[i].root.remove();
        views[i] = null;
      }
      if (!views[i]) {
        views[i] = monitorView(board);
        views[i].title = s.title;
        const next = views.slice(i + 1).find((v) => v);
        if (next) board.insertBefore(views[i].root, next.root);
      }
      views[i].update(s);
    });
  }
  model.on("change:monitors", draw);
  draw();
  return () => model.off("change:monitors", draw);
}

export default { render };
