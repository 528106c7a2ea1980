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
// Stable hooks for tests: node groups `g.node[data-op-name]`, `g.node[data-scope]`,
// `g.node[data-overflow]` (all with `data-kind`), clusters `g.cluster[data-cluster]`,
// matches get class `tfnb-match`, the selection `tfnb-selected`; controls are
// `input.tfnb-ge-search`, `select.tfnb-ge-color`, `button.tfnb-ge-fit`,
// `button.tfnb-ge-collapse`; the details panel is `.tfnb-ge-details`; the root gets
// `data-rendered="<graph version>"` after each drawing.

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
    box.append(s);
  }
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
  bar.append(search, count, color, fit, collapse);
  const legend = h("div", "tfnb-ge-legend");
  const notes = h("div", "tfnb-ge-notes");
  const main = h("div", "tfnb-ge-main");
  const canvas = h("div", "tfnb-ge-canvas");
  const details = h("div", "tfnb-ge-details");
  main.append(canvas, details);
  el.append(bar, legend, notes, main);

  let svg = null;
  let full = null;
  let view = null;
  let drawn = 0;

  function setView(v) {
    view = v;
    svg.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
  }

  // Fit the drawing, unless that makes its text unreadable: then start at the top-left corner.
  function initialView() {
    const cw = canvas.clientWidth || 800;
    const ch = canvas.clientHeight || 560;
    if (Math.min(cw / full.w, ch / full.h) >= 0.5) return { ...full };
    return { x: full.x, y: full.y, w: cw / 0.9, h: ch / 0.9 };
  }

  function highlight() {
    if (!svg) return;
    const hits = new Set((model.get("matches") || {}).nodes || []);
    const sel = model.get("selected");
    svg.querySelectorAll("g.node").forEach((g) => {
      const id = g.dataset.nodeId;
      g.classList.toggle("tfnb-match", hits.has(id));
      g.classList.toggle("tfnb-selected", !!sel && (g.dataset.opName === sel || g.dataset.scope === sel));
    });
    const mt = model.get("matches") || {};
    count.textContent = mt.count ? `${mt.count} match${mt.count === 1 ? "" : "es"}` :
      (model.get("search") ? "no match" : "");
  }

  async function draw() {
    const m = model.get("model");
    const ticket = ++drawn;
    renderLegend(legend, m);
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
      if (n.kind === "op") g.dataset.opName = n.name;
      else if (n.kind === "scope") g.dataset.scope = n.name;
      else g.dataset.overflow = n.name;
    });
    const clusters = {};
    for (const c of m.clusters || []) clusters["cluster_" + c.id] = c.name;
    s.querySelectorAll("g.cluster").forEach((g) => {
      const t = g.querySelector("title");
      if (t && clusters[t.textContent] !== undefined) g.dataset.cluster = clusters[t.textContent];
    });
    const vb = s.viewBox.baseVal;
    full = { x: vb.x, y: vb.y, w: vb.width, h: vb.height };
    s.removeAttribute("width");
    s.removeAttribute("height");
    canvas.replaceChildren(s);
    svg = s;
    setView(initialView());
    highlight();
    el.dataset.rendered = String(m.graph_version);
  }

  function toggleScope(name, open) {
    const cur = model.get("expanded").filter((s) => s !== name);
    model.set("expanded", open ? [...cur, name] : cur);
    model.set("selected", name);
    model.save_changes();
  }

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
    if (svg && !ev.target.closest("g.node")) setView({ ...full });
  });

  // --- clicks on nodes and cluster titles ---
  canvas.addEventListener("click", (ev) => {
    if (canvas.dataset.dragged) {
      delete canvas.dataset.dragged;
      return;
    }
    const node = ev.target.closest("g.node");
    if (node) {
      ev.preventDefault(); // the node's tooltip link
      if (node.dataset.kind === "scope") toggleScope(node.dataset.scope, true);
      else if (node.dataset.kind === "op") {
        model.set("selected", node.dataset.opName);
        model.save_changes();
      }
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
    model.set("search", search.value);
    model.save_changes();
    model.send({ event: "show_first_match", query: search.value }); // Python selects it
  });
  color.addEventListener("change", () => {
    model.set("color_by", color.value);
    model.save_changes();
  });
  fit.addEventListener("click", () => svg && setView({ ...full }));
  collapse.addEventListener("click", () => {
    model.set("expanded", []);
    model.save_changes();
  });

  const onModel = () => draw();
  const onDetails = () => renderDetails(details, model.get("details"));
  const onColor = () => { color.value = model.get("color_by"); };
  model.on("change:model", onModel);
  model.on("change:matches", highlight);
  model.on("change:selected", highlight);
  model.on("change:details", onDetails);
  model.on("change:color_by", onColor);
  onDetails();
  draw();
  return () => {
    model.off("change:model", onModel);
    model.off("change:matches", highlight);
    model.off("change:selected", highlight);
    model.off("change:details", onDetails);
    model.off("change:color_by", onColor);
  };
}

export default { render };
