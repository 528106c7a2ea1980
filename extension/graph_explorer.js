// GraphExplorer front end (an anywidget ES module).
//
// Python (tfnb/notebook/graph_explorer.py) does the thinking: it sends `model`
// (visible nodes, clusters, legend, notes and the DOT text), `matches` for the
// search box and `details` for the selected node. This file only lays the DOT
// out with the vendored WebAssembly Graphviz (globalThis.Viz; Python prepends
// vendor/viz-global.js to this module), and turns gestures into trait changes:
//   click a collapsed scope  -> `expanded` += scope, `selected` = scope
//   click a cluster's title  -> `expanded` -= scope
//   click an op              -> `selected` = op name
//   type in the search box   -> `search`;  Enter -> message "show_first_match"
//                               (Python selects the first match, opening its scopes)
//   colour dropdown          -> `color_by`
// Wheel zooms around the pointer, dragging pans (both on the SVG viewBox);
// double-click on the background fits the drawing.
//
// Hovering a node or edge shows its tooltip (shapes, value, device, the placer's reason,
// bytes and Send/Recv of a transfer) in a box fixed to the viewport, never clipped by the
// output area. With a `placement_panel`, the per-device totals and a sortable op table are
// drawn below the graph (a click on a row selects the op).
//
// Stable hooks for tests: node groups `g.node[data-op-name]`, `g.node[data-scope]`,
// `g.node[data-overflow]` (all with `data-kind`), clusters `g.cluster[data-cluster]`,
// matches get class `tfnb-match`, the selection `tfnb-selected`; controls are
// `input.tfnb-ge-search`, `select.tfnb-ge-color`, `button.tfnb-ge-fit`,
// `button.tfnb-ge-collapse`; the details panel is `.tfnb-ge-details`; the root gets
// `data-rendered="<graph version>"` after each drawing. Op nodes placed against their request
// get `data-moved`, every op node `data-assigned`; cross-device edges are
// `g.edge[data-cross-device]` with `data-bytes`, `data-tensors`, `data-send`, `data-recv`;
// legend entries `.tfnb-ge-legend-item[data-device]`, keys `.tfnb-ge-key[data-key]`; the
// tooltip `.tfnb-ge-tip`; the panel `.tfnb-pv-devices tr[data-device]` and
// `.tfnb-pv-ops tr[data-op]`.

let vizPromise = null;

function getViz() {
  if (!vizPromise) {
    const Viz = globalThis.Viz;
    if (!Viz) return Promise.reject(new Error("the in-browser Graphviz did not load"));
    vizPromise = Viz.instance();
  }
  return vizPromise;
}

function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function renderLegend(box, m) {
  box.replaceChildren();
  for (const item of m.legend || []) {
    const s = h("span", "tfnb-ge-legend-item");
    const sw = h("span", "tfnb-ge-swatch");
    sw.style.background = item.color.split(";")[0];
    s.append(sw, document.createTextNode(item.label));
    if (item.device !== undefined) {
      s.dataset.device = item.device;
      s.title = `${item.title || item.device} (${item.count} op${item.count === 1 ? "" : "s"})`;
    }
    box.append(s);
  }
  for (const k of m.legend_keys || []) {
    const d = h("div", "tfnb-ge-key");
    d.dataset.key = k.kind;
    const sw = h("span", "tfnb-ge-key-swatch tfnb-ge-key-" + k.kind);
    sw.style.borderColor = k.color;
    d.append(sw, document.createTextNode(k.label));
    box.append(d);
  }
}

function fmtBytes(n) {
  if (n === null || n === undefined) return "?";
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1073741824) return `${(n / 1048576).toFixed(1)} MiB`;
  return `${(n / 1073741824).toFixed(2)} GiB`;
}

function fmtUs(us) {
  if (us === null || us === undefined) return "–";
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1e6) return `${(us / 1000).toFixed(1)} ms`;
  return `${(us / 1e6).toFixed(2)} s`;
}

// One tooltip per page, fixed to the viewport (output areas clip absolutely placed children).
function tooltip() {
  let tip = document.querySelector("body > .tfnb-ge-tip");
  if (!tip) {
    tip = h("pre", "tfnb-ge-tip");
    document.body.appendChild(tip);
  }
  return tip;
}

function showTip(ev, text) {
  const tip = tooltip();
  tip.textContent = text;
  tip.style.display = "block";
  const pad = 12, w = tip.offsetWidth, hh = tip.offsetHeight;
  let x = ev.clientX + pad, y = ev.clientY + pad;
  if (x + w > window.innerWidth - 4) x = Math.max(4, ev.clientX - w - pad);
  if (y + hh > window.innerHeight - 4) y = Math.max(4, ev.clientY - hh - pad);
  tip.style.left = `${x}px`;
  tip.style.top = `${y}px`;
}

function hideTip() {
  const tip = document.querySelector("body > .tfnb-ge-tip");
  if (tip) tip.style.display = "none";
}

function renderPanel(box, p, onPick) {
  box.replaceChildren();
  if (!p || !p.devices || !p.devices.length) return;
  box.append(h("div", "tfnb-pv-title", "Per device"));
  const dt = h("table", "tfnb-pv-devices");
  const hr = h("tr");
  for (const c of ["device", "ops", "est. compute", "measured compute", "bytes in", "bytes out"]) {
    hr.append(h("th", "", c));
  }
  dt.append(hr);
  for (const task of p.tasks) {
    if (p.tasks.length > 1) {
      const tr = h("tr", "tfnb-pv-task");
      const td = h("td", "", task.label);
      td.colSpan = 6;
      tr.append(td);
      dt.append(tr);
    }
    for (const d of p.devices) {
      if (!task.devices.includes(d.device)) continue;
      const tr = h("tr");
      tr.dataset.device = d.device;
      const name = h("td");
      const sw = h("span", "tfnb-ge-swatch");
      sw.style.background = d.color;
      name.append(sw, document.createTextNode(d.label));
      name.title = d.device;
      tr.append(name, h("td", "num", String(d.ops)), h("td", "num", fmtUs(d.est_us)),
        h("td", "num", fmtUs(d.measured_us)), h("td", "num", fmtBytes(d.bytes_in)),
        h("td", "num", fmtBytes(d.bytes_out)));
      dt.append(tr);
    }
  }
  box.append(dt);
  const rows = p.rows.slice();
  box.append(h("div", "tfnb-pv-title",
    `Ops (${rows.length}; click a heading to sort, a row to show the op)`));
  const wrap = h("div", "tfnb-pv-scroll");
  const ot = h("table", "tfnb-pv-ops");
  const head = h("tr");
  const body = h("tbody");
  let sortKey = "est_us", dir = -1;
  const cols = p.columns;
  for (const [key, label, num] of cols) {
    const th = h("th", num ? "num" : "", label);
    th.dataset.col = key;
    th.addEventListener("click", () => {
      dir = sortKey === key ? -dir : (num ? -1 : 1);
      sortKey = key;
      fill();
    });
    head.append(th);
  }
  const thead = h("thead");
  thead.append(head);
  ot.append(thead, body);
  function fill() {
    rows.sort((a, b) => {
      const x = a[sortKey], y = b[sortKey];
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      if (typeof x === "number") return dir * (x - y);
      const sx = String(x), sy = String(y);
      return dir * (sx < sy ? -1 : sx > sy ? 1 : 0);
    });
    head.querySelectorAll("th").forEach((th) => {
      th.classList.toggle("sorted", th.dataset.col === sortKey);
      th.dataset.dir = th.dataset.col === sortKey ? (dir > 0 ? "asc" : "desc") : "";
    });
    body.replaceChildren();
    for (const r of rows) {
      const tr = h("tr");
      tr.dataset.op = r.op;
      if (r.moved) tr.classList.add("moved");
      for (const [key, , num] of cols) {
        let td;
        if (key === "assigned") {
          td = h("td");
          const sw = h("span", "tfnb-ge-swatch");
          sw.style.background = r.color;
          td.append(sw, document.createTextNode(r.assigned_label));
          td.title = r.assigned;
        } else if (num) {
          const v = r[key];
          td = h("td", "num", v === null || v === undefined ? "–" :
            (key === "est_us" ? v.toFixed(1) : String(Math.round(v))));
        } else {
          td = h("td", "", r[key] || "–");
        }
        tr.append(td);
      }
      tr.addEventListener("click", () => onPick(r.op));
      body.append(tr);
    }
  }
  fill();
  wrap.append(ot);
  box.append(wrap);
  if (!p.traced) {
    box.append(h("div", "tfnb-ge-hint", "measured µs: trace a step (RunOptions(trace_level=FULL_TRACE)" +
      " and run_metadata, or %%tf_trace) and pass its run_metadata"));
  }
}

function edgeDetails(e) {
  const rows = [["kind", e.cross_device ? "cross-device transfer" : e.kind], ["tensors", e.label.split("\n")[0]]];
  for (const t of e.transfers || []) {
    rows.push([t.tensor, `${fmtBytes(t.bytes)} per step`]);
    rows.push(["from → to", `${t.src_device} → ${t.dst_device}`]);
    if (t.send) rows.push(["Send/Recv", `${t.send} → ${t.recv}`]);
  }
  return { title: "edge", sections: [{ title: "Edge", rows }] };
}

function renderDetails(box, d) {
  box.replaceChildren();
  if (!d || !d.title) {
    box.append(h("div", "tfnb-ge-hint", "Click an op for its details; click a scope to open it."));
    return;
  }
  box.append(h("div", "tfnb-ge-details-title", d.title));
  for (const sec of d.sections || []) {
    box.append(h("div", "tfnb-ge-details-section", sec.title));
    if (sec.rows) {
      const table = h("table");
      for (const [k, v] of sec.rows) {
        const tr = h("tr");
        tr.append(h("th", "", k), h("td", "", v));
        table.append(tr);
      }
      box.append(table);
    }
    if (sec.pre) box.append(h("pre", "", sec.pre));
  }
}

function render({ model, el }) {
  el.classList.add("tfnb-ge");
  const bar = h("div", "tfnb-ge-toolbar");
  const search = h("input", "tfnb-ge-search");
  search.type = "search";
  search.placeholder = "Search ops (name or regex), Enter to show";
  search.value = model.get("search");
  const count = h("span", "tfnb-ge-count");
  const color = h("select", "tfnb-ge-color");
  for (const [value, label] of [["type", "colour: op type"], ["device", "colour: device"],
    ["time", "colour: time"]]) {
    const o = h("option", "", label);
    o.value = value;
    color.append(o);
  }
  color.value = model.get("color_by");
  const fit = h("button", "tfnb-ge-fit", "Fit");
  const collapse = h("button", "tfnb-ge-collapse", "Collapse all");
  const heading = h("span", "tfnb-ge-heading");
  bar.append(search, count, color, fit, collapse, heading);
  const legend = h("div", "tfnb-ge-legend");
  const notes = h("div", "tfnb-ge-notes");
  const main = h("div", "tfnb-ge-main");
  const canvas = h("div", "tfnb-ge-canvas");
  const details = h("div", "tfnb-ge-details");
  const panel = h("div", "tfnb-pv");
  main.append(canvas, details);
  el.append(bar, legend, notes, main, panel);

  let svg = null;
  let full = null;
  let view = null;
  let drawn = 0;
  let edgeSelected = null;

  function setView(v) {
    view = v;
    svg.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
  }

  // Size the canvas to the drawing (at most MAX_H tall), then fit the whole drawing in it.
  const MAX_H = 640, MIN_H = 160;
  function sizeCanvas() {
    const cw = canvas.clientWidth || el.clientWidth || 800;
    const scale = Math.min(1.2, cw / full.w);
    const px = `${Math.round(Math.max(MIN_H, Math.min(MAX_H, full.h * scale + 8)))}px`;
    canvas.style.height = px;
    details.style.height = px;
  }
  function fitView() {
    const cw = canvas.clientWidth || 800, ch = canvas.clientHeight || 560;
    const k = Math.max(full.w / cw, full.h / ch);  // drawing units per pixel
    const w = cw * k, hh = ch * k;
    return { x: full.x - (w - full.w) / 2, y: full.y - (hh - full.h) / 2, w, h: hh };
  }

  // Centre the view on a node; zoom in if the node would be too small to read.
  function focusNode(g) {
    if (!svg || !g) return;
    // The node's centre in the drawing's coordinates (graphviz wraps nodes in a transform).
    const r = g.getBoundingClientRect();
    const c = new DOMPoint(r.x + r.width / 2, r.y + r.height / 2)
      .matrixTransform(svg.getScreenCTM().inverse());
    const cw = canvas.clientWidth || 800, ch = canvas.clientHeight || 560;
    let k = view.w / cw;
    if (k > 1.25) k = 1.0;
    const w = cw * k, hh = ch * k;
    setView({ x: c.x - w / 2, y: c.y - hh / 2, w, h: hh });
  }

  function highlight() {
    if (!svg) return;
    const hits = new Set((model.get("matches") || {}).nodes || []);
    const sel = model.get("selected");
    let selected = null;
    svg.querySelectorAll("g.node").forEach((g) => {
      const id = g.dataset.nodeId;
      const on = !!sel && (g.dataset.opName === sel || g.dataset.scope === sel);
      g.classList.toggle("tfnb-match", hits.has(id));
      g.classList.toggle("tfnb-selected", on);
      if (on) selected = g;
    });
    const mt = model.get("matches") || {};
    count.textContent = mt.count ? `${mt.count} match${mt.count === 1 ? "" : "es"}` :
      (model.get("search") ? "no match" : "");
    return selected;
  }

  let pendingFocus = false;
  function highlightAndFocus() {
    const g = highlight();
    if (pendingFocus && g) {
      focusNode(g);
      pendingFocus = false;
    }
  }

  async function draw() {
    const m = model.get("model");
    const ticket = ++drawn;
    renderLegend(legend, m);
    const mode = m.color_by === "device" ? `${m.device_source || "requested"} device` : m.color_by;
    heading.textContent = `${m.n_ops} op${m.n_ops === 1 ? "" : "s"}, colour by ${mode}`;
    notes.replaceChildren(...(m.notes || []).map((t) => h("div", "tfnb-ge-note", t)));
    if (!m.nodes || !m.nodes.length) {
      canvas.replaceChildren(h("i", "", "(empty graph)"));
      return;
    }
    let s;
    try {
      const viz = await getViz();
      s = viz.renderSVGElement(m.dot);
    } catch (err) {
      canvas.replaceChildren(h("div", "tfnb-ge-error", "Could not lay out the graph: " + err.message));
      return;
    }
    if (ticket !== drawn) return; // a newer model arrived while laying out
    const byId = {};
    for (const n of m.nodes) byId[n.id] = n;
    s.querySelectorAll("g.node").forEach((g) => {
      const t = g.querySelector("title");
      const n = t && byId[t.textContent];
      if (!n) return;
      g.dataset.nodeId = n.id;
      g.dataset.kind = n.kind;
      if (n.kind === "op") {
        g.dataset.opName = n.name;
        if (n.assigned !== undefined) g.dataset.assigned = n.assigned;
        if (n.moved) g.dataset.moved = "true";
      } else if (n.kind === "scope") g.dataset.scope = n.name;
      else g.dataset.overflow = n.name;
      g._tfnbTip = n.tooltip || n.name;
    });
    s.querySelectorAll("g.edge").forEach((g) => {
      const k = /e(\d+)$/.exec(g.id || "");
      const e = k && m.edges[Number(k[1])];
      if (!e) return;
      g._tfnbEdge = e;
      g._tfnbTip = e.tooltip || e.label;
      if (e.cross_device) {
        g.dataset.crossDevice = "true";
        g.dataset.bytes = e.bytes === null ? "" : String(e.bytes);
        g.dataset.tensors = e.transfers.map((t) => t.tensor).join(" ");
        g.dataset.send = e.transfers.map((t) => t.send || "").join(" ");
        g.dataset.recv = e.transfers.map((t) => t.recv || "").join(" ");
      }
    });
    const clusters = {};
    for (const c of m.clusters || []) clusters["cluster_" + c.id] = c.name;
    s.querySelectorAll("g.cluster").forEach((g) => {
      const t = g.querySelector("title");
      if (t && clusters[t.textContent] !== undefined) g.dataset.cluster = clusters[t.textContent];
    });
    // Our tooltip replaces the browser's (which the output area may clip or delay).
    s.querySelectorAll("g.node title, g.edge title").forEach((t) => t.remove());
    s.querySelectorAll("g.node a, g.edge a").forEach((a) => {
      a.removeAttributeNS("http://www.w3.org/1999/xlink", "title");
      a.removeAttribute("title");
    });
    const vb = s.viewBox.baseVal;
    const first = full === null;
    full = { x: vb.x, y: vb.y, w: vb.width, h: vb.height };
    s.removeAttribute("width");
    s.removeAttribute("height");
    canvas.replaceChildren(s);
    svg = s;
    if (first) {
      sizeCanvas();
      if (!canvas.clientWidth) {  // not in the page yet: size it once it is
        requestAnimationFrame(() => { sizeCanvas(); if (svg) setView(fitView()); });
      }
    }
    setView(fitView());
    highlightAndFocus();
    el.dataset.rendered = String(m.graph_version);
  }

  function toggleScope(name, open) {
    const cur = model.get("expanded").filter((s) => s !== name);
    model.set("expanded", open ? [...cur, name] : cur);
    model.set("selected", name);
    model.save_changes();
  }

  // --- hover: our own tooltip ---
  canvas.addEventListener("mousemove", (ev) => {
    const g = ev.target.closest && ev.target.closest("g.node, g.edge");
    if (!g || !g._tfnbTip || drag) { hideTip(); return; }
    showTip(ev, g._tfnbTip);
  });
  canvas.addEventListener("mouseleave", hideTip);

  // --- pan and zoom on the viewBox ---
  let drag = null;
  canvas.addEventListener("wheel", (ev) => {
    if (!svg) return;
    ev.preventDefault();
    const p = new DOMPoint(ev.clientX, ev.clientY).matrixTransform(svg.getScreenCTM().inverse());
    const k = Math.exp(Math.max(-100, Math.min(100, ev.deltaY)) * 0.002);
    setView({ x: p.x - (p.x - view.x) * k, y: p.y - (p.y - view.y) * k, w: view.w * k, h: view.h * k });
  }, { passive: false });
  canvas.addEventListener("pointerdown", (ev) => {
    if (!svg || ev.button !== 0) return;
    drag = { x: ev.clientX, y: ev.clientY, view: { ...view }, moved: false };
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const dx = ev.clientX - drag.x;
    const dy = ev.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    if (!drag.moved) canvas.setPointerCapture(ev.pointerId);
    drag.moved = true;
    const ctm = svg.getScreenCTM();
    setView({ ...drag.view, x: drag.view.x - dx / ctm.a, y: drag.view.y - dy / ctm.d });
  });
  const endDrag = (ev) => {
    if (drag && drag.moved) {
      canvas.releasePointerCapture(ev.pointerId);
      canvas.dataset.dragged = "1";
    }
    drag = null;
  };
  canvas.addEventListener("pointerup", endDrag);
  canvas.addEventListener("pointercancel", endDrag);
  canvas.addEventListener("dblclick", (ev) => {
    if (svg && !ev.target.closest("g.node")) setView(fitView());
  });

  // --- clicks on nodes, edges and cluster titles ---
  canvas.addEventListener("click", (ev) => {
    if (canvas.dataset.dragged) {
      delete canvas.dataset.dragged;
      return;
    }
    const node = ev.target.closest("g.node");
    if (node) {
      ev.preventDefault(); // the node's tooltip link
      edgeSelected = null;
      if (node.dataset.kind === "scope") toggleScope(node.dataset.scope, true);
      else if (node.dataset.kind === "op") {
        model.set("selected", node.dataset.opName);
        model.save_changes();
      }
      return;
    }
    const edge = ev.target.closest("g.edge");
    if (edge && edge._tfnbEdge) {
      ev.preventDefault();
      edgeSelected = edge._tfnbEdge;
      renderDetails(details, edgeDetails(edgeSelected));
      return;
    }
    const cluster = ev.target.closest("g.cluster");
    if (cluster && cluster.dataset.cluster !== undefined && ev.target.tagName === "text") {
      toggleScope(cluster.dataset.cluster, false);
    }
  });

  // --- toolbar ---
  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      model.set("search", search.value);
      model.save_changes();
    }, 200);
  });
  search.addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter") return;
    clearTimeout(timer);
    pendingFocus = true;
    model.set("search", search.value);
    model.save_changes();
    model.send({ event: "show_first_match", query: search.value }); // Python selects it
  });
  color.addEventListener("change", () => {
    model.set("color_by", color.value);
    model.save_changes();
  });
  fit.addEventListener("click", () => svg && setView(fitView()));
  collapse.addEventListener("click", () => {
    model.set("expanded", []);
    model.save_changes();
  });

  const pick = (op) => {
    pendingFocus = true;
    model.set("selected", op);
    model.save_changes();
  };
  const onModel = () => draw();
  const onDetails = () => { if (!edgeSelected) renderDetails(details, model.get("details")); };
  const onSelected = () => { edgeSelected = null; highlightAndFocus(); };
  const onColor = () => { color.value = model.get("color_by"); };
  const onPanel = () => renderPanel(panel, model.get("placement_panel"), pick);
  model.on("change:model", onModel);
  model.on("change:matches", highlight);
  model.on("change:selected", onSelected);
  model.on("change:details", onDetails);
  model.on("change:color_by", onColor);
  model.on("change:placement_panel", onPanel);
  onDetails();
  onPanel();
  draw();
  return () => {
    hideTip();
    model.off("change:model", onModel);
    model.off("change:matches", highlight);
    model.off("change:selected", onSelected);
    model.off("change:details", onDetails);
    model.off("change:color_by", onColor);
    model.off("change:placement_panel", onPanel);
  };
}

export default { render };
