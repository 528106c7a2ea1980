// Static graph drawing, laid out in the browser.
//
// tfnb/notebook/graph_draw.py inlines this classic script (after the vendored
// WebAssembly Graphviz, vendor/viz-global.js, which defines window.Viz) into the
// HTML of a drawing when the system `dot` program is missing. It lays out the DOT
// text and marks each node group with data-op-name / data-scope / data-kind, and
// each cross-device edge with data-cross-device / data-bytes / data-tensors /
// data-send / data-recv, as the SVG made by `dot` is marked in Python.
(function () {
  "use strict";
  if (window.tfnbRenderStatic) return;
  var vizPromise = null;

  window.tfnbRenderStatic = function (root, dot, nodes, edges) {
    if (!root) return;
    var canvas = root.querySelector(".tfnb-graph-canvas");
    if (!window.Viz) {
      canvas.textContent = "The in-browser Graphviz did not load.";
      return;
    }
    vizPromise = vizPromise || window.Viz.instance();
    vizPromise.then(function (viz) {
      var svg = viz.renderSVGElement(dot);
      svg.querySelectorAll("g.node").forEach(function (g) {
        var title = g.querySelector("title");
        var n = title && nodes[title.textContent];
        if (!n) return;
        var key = n[0] === "op" ? "data-op-name" : n[0] === "scope" ? "data-scope" : "data-overflow";
        g.setAttribute(key, n[1]);
        g.setAttribute("data-kind", n[0]);
      });
      svg.querySelectorAll("g.edge").forEach(function (g) {
        var data = edges && edges[g.id];
        if (!data) return;
        Object.keys(data).forEach(function (k) { g.setAttribute("data-" + k, data[k]); });
      });
      canvas.replaceChildren(svg);
      root.setAttribute("data-rendered", "true");
    }).catch(function (err) {
      canvas.textContent = "Could not lay out the graph: " + err;
    });
  };
})();
