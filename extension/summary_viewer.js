// SummaryViewer widget (anywidget ESM): scalars (runs overlaid, TensorBoard's smoothing),
// distributions and histograms over steps, images and audio with a step slider, text. The
// model comes ready from tfnb/notebook/summaries.py in the `summaries` trait (percentiles and
// re-binned histograms computed there); this file only draws it.
//
// Stable hooks for tests: the root `.tfnb-sv` has `data-version`; sections
// `.tfnb-sv-section[data-kind]`; charts `svg.tfnb-sv-scalar[data-tag]` (lines
// `polyline.tfnb-sv-smooth[data-run]`), `svg.tfnb-sv-distribution[data-tag]`,
// `svg.tfnb-sv-histogram[data-tag]` (one `polyline[data-step]` per step); image cards
// `.tfnb-sv-image[data-tag]` with an `img` and `input.tfnb-sv-step`; audio cards
// `.tfnb-sv-audio[data-tag]` with an `audio`; text `.tfnb-sv-text[data-tag]`; the smoothing
// slider `input.tfnb-sv-smoothing`.

const SVG = "http://www.w3.org/2000/svg";
const W = 360, H = 180, PAD = { l: 48, r: 10, t: 20, b: 20 };

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

function smooth(ys, w) {
  w = Math.min(Math.max(w, 0), 0.999);
  const out = [];
  let acc = 0, n = 0;
  for (const v of ys) {
    if (v === null || !Number.isFinite(v)) { out.push(v); continue; }
    acc = acc * w + (1 - w) * v;
    n += 1;
    out.push(w > 0 ? acc / (1 - Math.pow(w, n)) : v);
  }
  return out;
}

function niceRange(lo, hi, n = 4) {
  if (hi === lo) { const pad = Math.abs(lo) * 0.1 || 1; lo -= pad; hi += pad; }
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const a = Math.floor(lo / step) * step, b = Math.ceil(hi / step) * step;
  const ticks = [];
  for (let i = 0; i <= Math.round((b - a) / step); i++) ticks.push(a + i * step);
  return [a, b, ticks];
}

function frame(parent, cls, tag, title) {
  const svg = svgEl("svg", { width: W, height: H, class: cls, "data-tag": tag }, parent);
  svgEl("text", { x: PAD.l, y: 13, class: "tfnb-sv-title" }, svg).textContent = title;
  return svg;
}

function axes(svg, x0, x1, lo, hi, ticks) {
  const w = W - PAD.l - PAD.r, hh = H - PAD.t - PAD.b;
  const sx = (x) => PAD.l + (w * (x - x0)) / (x1 - x0 || 1);
  const sy = (y) => PAD.t + hh * (1 - (y - lo) / (hi - lo || 1));
  for (const t of ticks || [lo, hi]) {
    svgEl("line", { x1: PAD.l, x2: PAD.l + w, y1: sy(t), y2: sy(t), class: "tfnb-sv-grid" }, svg);
    svgEl("text", { x: PAD.l - 4, y: sy(t) + 3, "text-anchor": "end" }, svg).textContent = fmt(t);
  }
  svgEl("rect", { x: PAD.l, y: PAD.t, width: w, height: hh, class: "tfnb-sv-frame" }, svg);
  svgEl("text", { x: PAD.l, y: H - 5 }, svg).textContent = `step ${x0}`;
  svgEl("text", { x: W - PAD.r, y: H - 5, "text-anchor": "end" }, svg).textContent = String(x1);
  return [sx, sy];
}

function scalarChart(parent, entry, weight) {
  const svg = frame(parent, "tfnb-sv-scalar", entry.tag, entry.tag);
  const vals = entry.series.flatMap((s) => s.values.filter((v) => v !== null));
  const steps = entry.series.flatMap((s) => s.steps);
  if (!vals.length) return;
  const [lo, hi, ticks] = niceRange(Math.min(...vals), Math.max(...vals));
  const x0 = Math.min(...steps), x1 = Math.max(Math.max(...steps), x0 + 1);
  const [sx, sy] = axes(svg, x0, x1, lo, hi, ticks);
  const lines = [];
  for (const s of entry.series) {
    const pts = s.steps.map((x, i) => [x, s.values[i]]).filter((p) => p[1] !== null);
    const sm = smooth(pts.map((p) => p[1]), weight);
    const poly = (ys) => pts.map((p, i) => `${sx(p[0]).toFixed(1)},${sy(ys[i]).toFixed(1)}`).join(" ");
    if (weight > 0) svgEl("polyline", { points: poly(pts.map((p) => p[1])), stroke: s.color,
      class: "tfnb-sv-raw", "data-run": s.run }, svg);
    svgEl("polyline", { points: poly(sm), stroke: s.color, class: "tfnb-sv-smooth",
      "data-run": s.run }, svg);
    lines.push({ s, pts, sm });
  }
  const dots = svgEl("g", {}, svg);
  const readout = svgEl("text", { x: PAD.l + 4, y: PAD.t + 11, class: "tfnb-sv-readout" }, svg);
  svg.addEventListener("mousemove", (ev) => {
    const r = svg.getBoundingClientRect();
    const step = x0 + ((ev.clientX - r.left - PAD.l) / (W - PAD.l - PAD.r)) * (x1 - x0);
    dots.replaceChildren();
    const parts = [];
    for (const { s, pts, sm } of lines) {
      if (!pts.length) continue;
      let i = 0;
      for (let k = 1; k < pts.length; k++) if (Math.abs(pts[k][0] - step) < Math.abs(pts[i][0] - step)) i = k;
      svgEl("circle", { cx: sx(pts[i][0]), cy: sy(sm[i]), r: 3, fill: s.color }, dots);
      parts.push(`${s.run} @${pts[i][0]}: ${fmt(sm[i])}`);
    }
    readout.textContent = parts.join("  ");
  });
  svg.addEventListener("mouseleave", () => { dots.replaceChildren(); readout.textContent = ""; });
}

function distributionChart(parent, hm) {
  const svg = frame(parent, "tfnb-sv-distribution", hm.tag, `${hm.tag} (${hm.run})`);
  const d = hm.distribution;
  if (!d.length) return;
  const x0 = d[0].step, x1 = Math.max(d[d.length - 1].step, x0 + 1);
  const [sx, sy] = axes(svg, x0, x1, hm.min, hm.max, null);
  const n = hm.basis_points.length;
  for (let k = 0; k < Math.floor(n / 2); k++) {
    let top = d.map((p) => [sx(p.step), sy(p.values[n - 1 - k])]);
    let bottom = d.slice().reverse().map((p) => [sx(p.step), sy(p.values[k])]);
    if (d.length === 1) {
      top = [[top[0][0] - 3, top[0][1]], [top[0][0] + 3, top[0][1]]];
      bottom = [[bottom[0][0] + 3, bottom[0][1]], [bottom[0][0] - 3, bottom[0][1]]];
    }
    svgEl("polygon", { points: top.concat(bottom).map((p) => p.join(",")).join(" "),
      fill: hm.color, "fill-opacity": 0.15 + 0.15 * k }, svg);
  }
  svgEl("polyline", { points: d.map((p) => `${sx(p.step)},${sy(p.values[Math.floor(n / 2)])}`).join(" "),
    stroke: hm.color, fill: "none", "stroke-width": 1.5 }, svg);
}

function histogramChart(parent, hm) {
  const svg = frame(parent, "tfnb-sv-histogram", hm.tag, `${hm.tag} (${hm.run})`);
  const curves = hm.histogram;
  if (!curves.length) return;
  const e = hm.edges, w = W - PAD.l - PAD.r, hh = H - PAD.t - PAD.b;
  const peak = Math.max(...curves.map((c) => Math.max(...c.counts))) || 1;
  const band = hh * 0.5, off = (hh * 0.5) / Math.max(curves.length - 1, 1);
  curves.forEach((c, i) => {
    const base = PAD.t + band + off * i;
    const pts = [[PAD.l, base]];
    c.counts.forEach((v, j) => {
      const x = PAD.l + (w * (0.5 * (e[j] + e[j + 1]) - e[0])) / (e[e.length - 1] - e[0]);
      pts.push([x, base - (band * v) / peak]);
    });
    pts.push([PAD.l + w, base]);
    const p = svgEl("polyline", { points: pts.map((q) => q.map((z) => z.toFixed(1)).join(",")).join(" "),
      stroke: hm.color, "stroke-opacity": 0.35 + (0.65 * (i + 1)) / curves.length,
      class: "tfnb-sv-curve", "data-step": c.step }, svg);
    svgEl("title", {}, p).textContent = `step ${c.step}`;
  });
  svgEl("text", { x: PAD.l, y: H - 5 }, svg).textContent = fmt(e[0]);
  svgEl("text", { x: W - PAD.r, y: H - 5, "text-anchor": "end" }, svg).textContent = fmt(e[e.length - 1]);
}

function sampleCard(parent, entry, kind) {
  const card = h("div", `tfnb-sv-${kind}`);
  card.dataset.tag = entry.tag;
  const title = h("div", "tfnb-sv-card-title");
  const media = kind === "image" ? h("img") : h("audio");
  if (kind === "audio") media.controls = true;
  const slider = h("input", "tfnb-sv-step");
  slider.type = "range";
  slider.min = "0";
  slider.max = String(entry.items.length - 1);
  slider.value = slider.max;
  const show = () => {
    const it = entry.items[Number(slider.value)];
    media.src = `data:${it.mime};base64,${it.data}`;
    title.textContent = `${entry.tag} (${entry.run}) — step ${it.step}` +
      (kind === "image" ? ` · ${it.width}×${it.height}` : ` · ${it.sample_rate} Hz`);
    card.dataset.step = String(it.step);
  };
  slider.addEventListener("input", show);
  card.append(title, media);
  if (entry.items.length > 1) card.append(slider);
  show();
  parent.append(card);
}

function render({ model, el }) {
  const root = h("div", "tfnb-sv");
  const head = h("div", "tfnb-sv-head");
  const runs = h("span", "tfnb-sv-runs");
  const sl = h("label", "", " smoothing ");
  const slider = h("input", "tfnb-sv-smoothing");
  slider.type = "range";
  slider.min = "0";
  slider.max = "0.99";
  slider.step = "0.01";
  const slv = h("span");
  sl.append(slider, slv);
  head.append(runs, sl);
  const body = h("div", "tfnb-sv-body");
  root.append(head, body);
  el.appendChild(root);
  let weight = model.get("smoothing");

  function section(kind, title) {
    const s = h("div", "tfnb-sv-section");
    s.dataset.kind = kind;
    s.append(h("div", "tfnb-sv-section-title", title));
    const grid = h("div", "tfnb-sv-grid-box");
    s.append(grid);
    body.append(s);
    return grid;
  }

  function draw() {
    const m = model.get("summaries") || {};
    body.replaceChildren();
    runs.replaceChildren(document.createTextNode("runs: "));
    for (const r of m.runs || []) {
      const s = h("span", "tfnb-sv-run", `■ ${r.name}`);
      s.style.color = r.color;
      runs.append(s);
    }
    slider.value = String(weight);
    slv.textContent = weight.toFixed(2);
    if ((m.scalars || []).length) {
      const g = section("scalars", "Scalars");
      for (const e of m.scalars) scalarChart(g, e, weight);
    }
    if ((m.histograms || []).length) {
      const g1 = section("distributions", "Distributions");
      for (const hm of m.histograms) distributionChart(g1, hm);
      const g2 = section("histograms", "Histograms");
      for (const hm of m.histograms) histogramChart(g2, hm);
    }
    if ((m.images || []).length) {
      const g = section("images", "Images");
      for (const e of m.images) sampleCard(g, e, "image");
    }
    if ((m.audio || []).length) {
      const g = section("audio", "Audio");
      for (const e of m.audio) sampleCard(g, e, "audio");
    }
    if ((m.text || []).length) {
      const g = section("text", "Text");
      for (const e of m.text) {
        const card = h("div", "tfnb-sv-text");
        card.dataset.tag = e.tag;
        card.append(h("div", "tfnb-sv-card-title", `${e.tag} (${e.run})`));
        for (const it of e.items) {
          const row = h("div");
          row.append(h("span", "tfnb-sv-text-step", `step ${it.step} `), h("pre", "", it.text));
          card.append(row);
        }
        g.append(card);
      }
    }
    if (!body.children.length) body.append(h("i", "", "no summaries yet"));
    root.dataset.version = String(m.version || 0);
  }
  slider.addEventListener("input", () => { weight = Number(slider.value); draw(); });
  model.on("change:summaries", draw);
  draw();
  return () => model.off("change:summaries", draw);
}

export default { render };
