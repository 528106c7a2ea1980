// StepTimeline widget (anywidget ESM): one lane per device/thread, one box per executed op,
// Send/Recv arrows between lanes, hover tooltips, zoom. The model (times, lanes, colours,
// hover text) comes ready from tfnb/notebook/step_timeline.py in the `timeline` trait.

const SVG = "http://www.w3.org/2000/svg";
const LANE_H = 24, BOX_H = 16, LABEL_W = 170, AXIS_H = 22, BASE_W = 880;

function svgEl(tag, attrs, parent) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function fmtUs(us) {
  if (us >= 1e6) return `${(us / 1e6).toPrecision(3)} s`;
  if (us >= 1e3) return `${(us / 1e3).toPrecision(3)} ms`;
  return `${Math.round(us)} µs`;
}

function ticks(total, width) {
  const raw = total / Math.max(2, Math.floor(width / 120));
  const mag = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let t = 0; t <= total; t += step) out.push(t);
  return out;
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "tfnb-timeline";
  const head = document.createElement("div");
  head.className = "tfnb-timeline-head";
  const tools = document.createElement("span");
  tools.className = "tfnb-timeline-tools";
  const scroller = document.createElement("div");
  scroller.className = "tfnb-timeline-scroll";
  const tip = document.createElement("pre");
  tip.className = "tfnb-timeline-tip";
  root.append(head, scroller, tip);
  el.appendChild(root);
  let zoom = 1;

  for (const [label, f] of [["−", 0.5], ["fit", 0], ["+", 2]]) {
    const b = document.createElement("button");
    b.textContent = label;
    b.onclick = () => { zoom = f === 0 ? 1 : Math.min(Math.max(zoom * f, 1), 4096); draw(); };
    tools.appendChild(b);
  }

  function showTip(ev, text) {
    tip.textContent = text;
    tip.style.display = "block";
    const r = root.getBoundingClientRect();
    tip.style.left = `${ev.clientX - r.left + 12}px`;
    tip.style.top = `${ev.clientY - r.top + 12}px`;
  }

  function draw() {
    const m = model.get("timeline") || {};
    const lanes = m.lanes || [], ops = m.ops || [], arrows = m.arrows || [];
    head.textContent = (m.title ? m.title + " — " : "") +
      `${ops.length} ops, ${lanes.length} lanes, step ${fmtUs(m.duration_us || 0)}` +
      (arrows.length ? `, ${arrows.length} transfers` : "") + "  ";
    head.appendChild(tools);
    scroller.replaceChildren();
    const total = Math.max(m.duration_us || 0, 1);
    const plotW = BASE_W * zoom, scale = plotW / total;
    const height = AXIS_H + LANE_H * Math.max(lanes.length, 1) + 6;
    const svg = svgEl("svg", { width: LABEL_W + plotW + 10, height }, scroller);
    const defs = svgEl("defs", {}, svg);
    const marker = svgEl("marker", { id: "tfnb-tl-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
      markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" }, defs);
    svgEl("path", { d: "M0,0L10,5L0,10z", class: "tfnb-timeline-arrowhead" }, marker);
    const x = (us) => LABEL_W + us * scale;
    const y = (lane) => AXIS_H + lane * LANE_H + (LANE_H - BOX_H) / 2;

    for (const t of ticks(total, plotW)) {
      svgEl("line", { x1: x(t), x2: x(t), y1: AXIS_H - 4, y2: height,
                      class: "tfnb-timeline-grid" }, svg);
      svgEl("text", { x: x(t), y: 14, "text-anchor": "middle", class: "tfnb-timeline-tick" }, svg)
        .textContent = fmtUs(t);
    }
    lanes.forEach((lane, i) => {
      const t = svgEl("text", { x: 4, y: y(i) + BOX_H - 4, class: "tfnb-timeline-lane" }, svg);
      t.textContent = lane.label;
      svgEl("title", {}, t).textContent = lane.device;
    });
    const arrowEls = arrows.map((a) => {
      const s = ops[a.src], d = ops[a.dst];
      const from = `${x(s.start + s.dur)},${y(s.lane) + BOX_H / 2}`;
      const to = `${x(d.start + d.dur)},${y(d.lane) + BOX_H / 2}`;
      const p = svgEl("path", { d: `M${from} L${to}`,
        class: "tfnb-timeline-arrow", "marker-end": "url(#tfnb-tl-arrow)" }, svg);
      const text = `${a.tensor}\n${s.name} → ${d.name}\n${a.bytes} bytes`;
      p.addEventListener("mousemove", (ev) => showTip(ev, text));
      p.addEventListener("mouseleave", () => { tip.style.display = "none"; });
      return p;
    });
    ops.forEach((op, i) => {
      const r = svgEl("rect", { x: x(op.start), y: y(op.lane), width: Math.max(op.dur * scale, 1),
        height: BOX_H, fill: op.color, class: "tfnb-timeline-op" }, svg);
      const linked = arrowEls.filter((_, k) => arrows[k].src === i || arrows[k].dst === i);
      r.addEventListener("mousemove", (ev) => {
        showTip(ev, op.details);
        linked.forEach((p) => p.classList.add("hot"));
      });
      r.addEventListener("mouseleave", () => {
        tip.style.display = "none";
        linked.forEach((p) => p.classList.remove("hot"));
      });
    });
  }

  scroller.addEventListener("wheel", (ev) => {
    if (!ev.ctrlKey) return;  // ctrl+wheel zooms; plain wheel scrolls the page
    ev.preventDefault();
    zoom = Math.min(Math.max(zoom * (ev.deltaY < 0 ? 1.25 : 0.8), 1), 4096);
    draw();
  }, { passive: false });
  model.on("change:timeline", draw);
  draw();
  return () => model.off("change:timeline", draw);
}

export default { render };
