// StepTimeline widget (anywidget ESM): one lane per device/thread (grouped by task), one box
// per executed op (labelled where it fits), Send/Recv arrows between lanes, zoom and pan,
// tooltips fixed to the viewport. The model (times, lanes, colours, hover text) comes ready
// from tfnb/notebook/step_timeline.py in the `timeline` trait; this file only draws it.
//
// Gestures: drag pans; ctrl/⌘ + wheel (or pinch) zooms around the pointer; shift + wheel pans;
// double-click a box zooms to it; the −/fit/+ buttons zoom around the centre.
//
// Stable hooks for tests: the root `.tfnb-timeline` gets `data-rendered` (a draw counter) and
// `data-view` ("start,end" in µs); boxes are `rect.tfnb-timeline-op[data-op]`, their labels
// `text.tfnb-timeline-label[data-op]`, arrows `path.tfnb-timeline-arrow` with `data-tensor`,
// `data-src-lane`, `data-dst-lane`; lane names `text.tfnb-timeline-lane[data-lane]`; the
// tooltip `.tfnb-timeline-tip` (a child of <body>).

const SVG = "http://www.w3.org/2000/svg";
const LANE_H = 26, BOX_H = 18, LABEL_W = 170, AXIS_H = 22, CHAR_W = 6.2, MIN_SPAN = 0.5;

function svgEl(tag, attrs, parent) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function fmtUs(us) {
  if (us >= 1e6) return `${(us / 1e6).toPrecision(3)} s`;
  if (us >= 1e3) return `${(us / 1e3).toPrecision(3)} ms`;
  if (us >= 10 || us === Math.round(us)) return `${Math.round(us)} µs`;
  return `${us.toFixed(1)} µs`;
}

function ticks(t0, t1, width) {
  const span = t1 - t0;
  const raw = span / Math.max(2, Math.floor(width / 110));
  const mag = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-3))));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1 + 1e-9; t += step) out.push(t);
  return out;
}

function fitLabel(text, px) {
  const n = Math.floor((px - 4) / CHAR_W);
  if (n >= text.length) return text;
  if (n < 4) return null;
  return text.slice(0, n - 1) + "…";
}

// One tooltip per page, fixed to the viewport: output areas clip absolutely placed children.
function tooltip() {
  let tip = document.querySelector("body > .tfnb-timeline-tip");
  if (!tip) {
    tip = document.createElement("pre");
    tip.className = "tfnb-timeline-tip";
    document.body.appendChild(tip);
  }
  return tip;
}

function showTip(ev, text) {
  const tip = tooltip();
  tip.textContent = text;
  tip.style.display = "block";
  const pad = 12, w = tip.offsetWidth, h = tip.offsetHeight;
  let x = ev.clientX + pad, y = ev.clientY + pad;
  if (x + w > window.innerWidth - 4) x = Math.max(4, ev.clientX - w - pad);
  if (y + h > window.innerHeight - 4) y = Math.max(4, ev.clientY - h - pad);
  tip.style.left = `${x}px`;
  tip.style.top = `${y}px`;
}

function hideTip() {
  const tip = document.querySelector("body > .tfnb-timeline-tip");
  if (tip) tip.style.display = "none";
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "tfnb-timeline";
  const head = document.createElement("div");
  head.className = "tfnb-timeline-head";
  const text = document.createElement("span");
  const tools = document.createElement("span");
  tools.className = "tfnb-timeline-tools";
  head.append(text, tools);
  const plot = document.createElement("div");
  plot.className = "tfnb-timeline-plot";
  const types = document.createElement("div");
  types.className = "tfnb-timeline-types";
  root.append(head, plot, types);
  el.appendChild(root);
  let view = null;  // [start, end] in µs from the step start
  let draws = 0;

  function total() {
    const m = model.get("timeline") || {};
    return Math.max(m.duration_us || 0, 1);
  }
  function zoomAt(t, k) {
    const T = total();
    let span = Math.min(T, Math.max(MIN_SPAN, (view[1] - view[0]) * k));
    let a = t - (t - view[0]) * (span / (view[1] - view[0]));
    a = Math.min(Math.max(a, 0), T - span);
    view = [a, a + span];
    schedule();
  }
  for (const [label, k, title] of [["−", 2, "zoom out"], ["fit", 0, "show the whole step"],
    ["+", 0.5, "zoom in"]]) {
    const b = document.createElement("button");
    b.textContent = label;
    b.title = title;
    b.className = "tfnb-timeline-zoom";
    b.onclick = () => {
      if (k === 0) { view = [0, total()]; schedule(); } else zoomAt((view[0] + view[1]) / 2, k);
    };
    tools.appendChild(b);
  }
  const hint = document.createElement("span");
  hint.className = "tfnb-timeline-hint";
  hint.textContent = "drag: pan · ctrl+wheel: zoom · double-click a box: zoom to it";
  tools.appendChild(hint);

  let pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  }

  function plotWidth() {
    return Math.max(300, (plot.clientWidth || el.clientWidth || 900) - LABEL_W - 12);
  }

  function draw() {
    const m = model.get("timeline") || {};
    const lanes = m.lanes || [], ops = m.ops || [], arrows = m.arrows || [];
    const groups = m.groups || [];
    if (!view) view = [0, total()];
    text.textContent = (m.title ? m.title + " — " : "") +
      `${plural(ops.length, "op")} on ${plural(lanes.length, "lane")}, ` +
      `step ${fmtUs(m.duration_us || 0)}` +
      (arrows.length ? `, ${plural(arrows.length, "transfer")}` : "") +
      (m.trace_bias_us ? ` (op times less ${m.trace_bias_us.toFixed(1)} µs of tracing each)` : "") +
      "  ";
    const W = plotWidth();
    const [v0, v1] = view;
    const scale = W / (v1 - v0);
    const height = AXIS_H + LANE_H * Math.max(lanes.length, 1) + 6;
    const svg = svgEl("svg", { width: LABEL_W + W + 10, height });
    const defs = svgEl("defs", {}, svg);
    const clipId = `tfnb-tl-clip-${Math.random().toString(36).slice(2)}`;
    const clip = svgEl("clipPath", { id: clipId }, defs);
    svgEl("rect", { x: LABEL_W, y: 0, width: W, height }, clip);
    const markerId = clipId + "-arrow";
    const marker = svgEl("marker", { id: markerId, viewBox: "0 0 10 10", refX: 10, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
    svgEl("path", { d: "M0,0L10,5L0,10z", class: "tfnb-timeline-arrowhead" }, marker);
    const x = (us) => LABEL_W + (us - v0) * scale;
    const y = (lane) => AXIS_H + lane * LANE_H + (LANE_H - BOX_H) / 2;

    groups.forEach((g, gi) => {
      if (gi % 2 === 1) {
        svgEl("rect", { x: 0, y: AXIS_H + g.lanes[0] * LANE_H, width: LABEL_W + W + 10,
          height: g.lanes.length * LANE_H, class: "tfnb-timeline-band" }, svg);
      }
    });
    for (const t of ticks(v0, v1, W)) {
      svgEl("line", { x1: x(t), x2: x(t), y1: AXIS_H - 4, y2: height,
                      class: "tfnb-timeline-grid" }, svg);
      svgEl("text", { x: x(t), y: 14, "text-anchor": "middle", class: "tfnb-timeline-tick" }, svg)
        .textContent = fmtUs(t);
    }
    lanes.forEach((lane, i) => {
      const t = svgEl("text", { x: 4, y: y(i) + BOX_H - 5, class: "tfnb-timeline-lane",
        "data-lane": i }, svg);
      t.textContent = lane.label;
      t.addEventListener("mousemove", (ev) => showTip(ev, lane.device));
      t.addEventListener("mouseleave", hideTip);
    });
    const body = svgEl("g", { "clip-path": `url(#${clipId})` }, svg);
    const arrowLayer = svgEl("g", {}, body);
    const arrowEls = arrows.map((a) => {
      const s = ops[a.src], d = ops[a.dst];
      const x0 = x(s.start + s.dur), y0 = y(s.lane) + BOX_H / 2;
      const x1 = x(d.start + d.dur), y1 = y(d.lane) + BOX_H / 2;
      const dx = Math.max(Math.abs(x1 - x0) * 0.5, 12);
      const p = svgEl("path", { d: `M${x0},${y0} C${x0 + dx},${y0} ${x1 - dx},${y1} ${x1},${y1}`,
        class: "tfnb-timeline-arrow", "marker-end": `url(#${markerId})`,
        "data-tensor": a.tensor, "data-src-lane": a.src_lane, "data-dst-lane": a.dst_lane },
      arrowLayer);
      const tipText = `${a.tensor}: ${a.bytes} bytes\n${s.name} (${lanes[s.lane].label})\n` +
        `→ ${d.name} (${lanes[d.lane].label})`;
      p.addEventListener("mousemove", (ev) => showTip(ev, tipText));
      p.addEventListener("mouseleave", hideTip);
      return p;
    });
    ops.forEach((op, i) => {
      if (op.start + op.dur < v0 || op.start > v1) return;
      const x0 = Math.max(x(op.start), LABEL_W - 2);
      const w = Math.max(x(op.start + op.dur) - x0, 1);
      const r = svgEl("rect", { x: x(op.start), y: y(op.lane), width: Math.max(op.dur * scale, 1),
        height: BOX_H, fill: op.color, class: "tfnb-timeline-op", "data-op": op.name }, body);
      if (op.transfer) r.classList.add("tfnb-timeline-transfer");
      const label = fitLabel(op.label, Math.min(w, LABEL_W + W - x0));
      if (label) {
        const t = svgEl("text", { x: x0 + 2, y: y(op.lane) + BOX_H - 5,
          class: "tfnb-timeline-label", "data-op": op.name }, body);
        t.textContent = label;
      }
      const linked = arrowEls.filter((_, k) => arrows[k].src === i || arrows[k].dst === i);
      r.addEventListener("mousemove", (ev) => {
        showTip(ev, op.details);
        linked.forEach((p) => p.classList.add("hot"));
      });
      r.addEventListener("mouseleave", () => {
        hideTip();
        linked.forEach((p) => p.classList.remove("hot"));
      });
      r.addEventListener("dblclick", (ev) => {
        ev.preventDefault();
        const pad = Math.max(op.dur * 0.25, MIN_SPAN);
        view = [Math.max(0, op.start - pad), Math.min(total(), op.start + op.dur + pad)];
        schedule();
      });
    });
    arrowLayer.parentNode.appendChild(arrowLayer);  // arrows above the boxes
    plot.replaceChildren(svg);
    types.replaceChildren();
    for (const t of (m.by_type || []).slice(0, 8)) {
      const s = document.createElement("span");
      s.className = "tfnb-timeline-type";
      const sw = document.createElement("span");
      sw.className = "tfnb-timeline-swatch";
      sw.style.background = t.color;
      s.append(sw, document.createTextNode(`${t.type} ${fmtUs(t.total_us)} (${t.count})`));
      types.appendChild(s);
    }
    root.dataset.view = `${v0},${v1}`;
    root.dataset.rendered = String(++draws);
  }

  // --- pan (drag, shift+wheel) and zoom (ctrl/⌘+wheel, pinch) ---
  let drag = null;
  plot.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    drag = { x: ev.clientX, view: view.slice(), moved: false };
  });
  plot.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const dx = ev.clientX - drag.x;
    if (!drag.moved && Math.abs(dx) < 3) return;
    if (!drag.moved) plot.setPointerCapture(ev.pointerId);
    drag.moved = true;
    hideTip();
    const span = drag.view[1] - drag.view[0];
    let a = drag.view[0] - dx * span / plotWidth();
    a = Math.min(Math.max(a, 0), total() - span);
    view = [a, a + span];
    schedule();
  });
  const endDrag = (ev) => {
    if (drag && drag.moved) plot.releasePointerCapture(ev.pointerId);
    drag = null;
  };
  plot.addEventListener("pointerup", endDrag);
  plot.addEventListener("pointercancel", endDrag);
  plot.addEventListener("wheel", (ev) => {
    if (!view) return;
    const r = plot.getBoundingClientRect();
    const px = ev.clientX - r.left - LABEL_W;
    const t = view[0] + Math.max(0, px) * (view[1] - view[0]) / plotWidth();
    if (ev.ctrlKey || ev.metaKey) {
      ev.preventDefault();
      zoomAt(t, Math.exp(Math.max(-100, Math.min(100, ev.deltaY)) * 0.01));
    } else if (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) {
      ev.preventDefault();
      const d = (ev.shiftKey ? ev.deltaY : ev.deltaX) * (view[1] - view[0]) / plotWidth();
      const span = view[1] - view[0];
      const a = Math.min(Math.max(view[0] + d, 0), total() - span);
      view = [a, a + span];
      schedule();
    }  // a plain vertical wheel scrolls the notebook
  }, { passive: false });
  plot.addEventListener("mouseleave", hideTip);

  const onChange = () => { view = null; draw(); };
  model.on("change:timeline", onChange);
  draw();
  if (!plot.clientWidth) requestAnimationFrame(draw);  // laid out once the page shows it
  return () => { hideTip(); model.off("change:timeline", onChange); };
}

export default { render };
