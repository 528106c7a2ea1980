"""Drawing a graph: DOT text from the model, then SVG by graphviz or in the browser.

``to_dot(model)`` writes Graphviz DOT: expanded name scopes are clusters, collapsed
ones are bold boxes labelled with their op count, data edges carry their tensor's
shape, control edges are dashed, cross-device edges and Send/Recv ops are red. The
SVG comes from the system ``dot`` program through the ``graphviz`` package when both
are there (:func:`to_svg`); otherwise :func:`to_html` returns a page fragment that
lays the DOT out in the browser with the WebAssembly Graphviz vendored in
``extension/vendor/`` (inlined, never fetched from a CDN). Either way every node
group of the SVG carries ``data-op-name`` (op) or ``data-scope`` (collapsed scope)
so tests and scripts can find it.

Example:
    >>> d = draw_graph(tf.get_default_graph(), color_by="device")
    >>> d            # in Jupyter: the drawing; d.dot is the DOT text, d.svg the SVG or None
"""
import functools
import html
import itertools
import json
import math
import os
import re
import shutil
import sys
import sysconfig

from .graph_model import (CROSS_DEVICE_COLOR, MAX_NODES, MOVED_COLOR, SEND_RECV_COLOR, _n_ops,
                          graph_to_model)

__all__ = ["to_dot", "to_svg", "to_html", "dot_available", "draw_graph", "GraphDrawing",
           "extension_dir", "read_extension_file"]

_EXTENSION_ENV = "TFNB_EXTENSION_DIR"
_drawing_ids = itertools.count()


# ----------------------------------------------------------------------------------------------
# Front-end files (extension/)
# ----------------------------------------------------------------------------------------------
def extension_dir():
    """The folder holding the front-end files (``graph_explorer.js``, ``vendor/``...).

    Looked for, in order: ``$TFNB_EXTENSION_DIR``; ``extension/`` beside the ``tfnb``
    package (a source checkout or an editable install); ``<prefix>/share/tfnb/extension``
    (where a wheel installs it, see ``[tool.setuptools.data-files]`` in pyproject.toml).

    Raises:
        FileNotFoundError: none of these holds ``graph_explorer.js``.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.environ.get(_EXTENSION_ENV),
                  os.path.join(here, os.pardir, os.pardir, "extension"),
                  os.path.join(sys.prefix, "share", "tfnb", "extension"),
                  os.path.join(sysconfig.get_path("data"), "share", "tfnb", "extension")]
    for c in candidates:
        if c and os.path.isfile(os.path.join(c, "graph_explorer.js")):
            return os.path.normpath(c)
    raise FileNotFoundError("tfnb's front-end files (extension/graph_explorer.js) were not found; "
                            "set %s to the extension folder of a tfnb checkout" % _EXTENSION_ENV)


@functools.lru_cache(maxsize=None)
def read_extension_file(relpath):
    """The text of ``extension/<relpath>`` (cached: the vendored engine is 1.3 MB)."""
    with open(os.path.join(extension_dir(), relpath), encoding="utf-8") as f:
        return f.read()


# ----------------------------------------------------------------------------------------------
# DOT
# ----------------------------------------------------------------------------------------------
def _q(text):
    """A DOT double-quoted string (``\\n`` in ``text`` stays a line break)."""
    return '"%s"' % str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class _HtmlLabel(str):
    """A Graphviz HTML-like label: written as ``<...>``, not quoted."""


def _attrs(**kw):
    return "[" + " ".join("%s=%s" % (k, "<%s>" % v if isinstance(v, _HtmlLabel) else _q(v))
                          for k, v in kw.items() if v is not None) + "]"


def _h(text):
    return html.escape(str(text), quote=True)


BAR_WIDTH = 84  # points: the bar of a scope spanning devices


def _scope_bar_label(n):
    """A scope's label with a bar below it: one cell per device, width ∝ its ops."""
    lines = "<BR/>".join(_h(t) for t in n["label"].split("\n"))
    shares = n["device_shares"]
    total = float(sum(s["count"] for s in shares))
    widths = [max(3, int(round(BAR_WIDTH * s["count"] / total))) for s in shares]
    cells = "".join('<TD BGCOLOR="%s" WIDTH="%d" HEIGHT="7" FIXEDSIZE="TRUE"></TD>'
                    % (_h(s["color"]), w) for s, w in zip(shares, widths))
    return _HtmlLabel('<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
                      '<TR><TD>%s</TD></TR><TR><TD><TABLE BORDER="1" COLOR="#555555" '
                      'CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>%s</TR></TABLE></TD>'
                      '</TR></TABLE>' % (lines, cells))


def _node_line(n, prefix):
    kind = n["kind"]
    tip = n.get("tooltip") or n["name"]
    color = n["color"]
    if kind == "op":
        extra = dict(shape="cds", style="filled", color=SEND_RECV_COLOR, penwidth="2.5") \
            if n["send_recv"] else dict(shape="box", style="rounded,filled")
        cls = "tfnb-op"
        if n.get("moved"):
            extra.update(color=MOVED_COLOR, penwidth="3.5")
            cls += " tfnb-moved"
        attrs = _attrs(id=prefix + n["id"], label=n["label"], tooltip=tip, fillcolor=color,
                       **{"class": cls}, **extra)
    elif kind == "scope":
        label = _scope_bar_label(n) if n.get("device_shares") else n["label"]
        attrs = _attrs(id=prefix + n["id"], label=label, tooltip=tip, shape="box",
                       style="filled,bold", fillcolor=color, penwidth="1.8",
                       color=SEND_RECV_COLOR if n["send_recv"] else "#4a6fa5",
                       **{"class": "tfnb-scope"})
    else:
        attrs = _attrs(id=prefix + n["id"], label=n["label"], tooltip=n["name"], shape="note",
                       style="filled,dashed", fillcolor="#ffffff", **{"class": "tfnb-overflow"})
    return "%s %s;" % (n["id"], attrs)


def _edge_line(e, prefix, index, labels):
    eid = "%se%d" % (prefix, index)
    if e["kind"] == "control":
        attrs = _attrs(id=eid, style="dashed", color="#9a9a9a", arrowhead="odot",
                       tooltip="control dependency", **{"class": "tfnb-control"})
    else:
        label = " " + e["label"].replace("\n", "\n ") if labels else None
        if e["cross_device"]:
            attrs = _attrs(id=eid, label=label, tooltip=e.get("tooltip") or e["label"],
                           color=CROSS_DEVICE_COLOR, fontcolor=CROSS_DEVICE_COLOR, penwidth="2.5",
                           style="bold", **{"class": "tfnb-data tfnb-cross-device"})
        else:
            attrs = _attrs(id=eid, label=label, tooltip=e["label"],
                           penwidth="1.2" if e["count"] == 1 else "2", **{"class": "tfnb-data"})
    return "%s -> %s %s;" % (e["source"], e["target"], attrs)


def _grid_lines(model, by_cluster):
    """Invisible edges stacking unconnected nodes into a square grid, cluster by cluster.

    Without them dot puts every unconnected node in one row (thousands of points wide).
    (Graphviz's own ``pack`` would do this, but it drops edge labels.)
    """
    linked = set()
    for e in model["edges"]:
        linked.add(e["source"])
        linked.add(e["target"])
    out = []
    for nodes in by_cluster.values():
        lone = [n["id"] for n in nodes if n["id"] not in linked]
        if len(lone) <= 6:
            continue
        cols = math.ceil(math.sqrt(len(lone)))
        out.extend('  %s -> %s [style="invis"];' % (lone[i], lone[i + cols])
                   for i in range(len(lone) - cols))
    return out


def to_dot(model, id_prefix=""):
    """Graphviz DOT text for a model from :func:`~.graph_model.graph_to_model`.

    Args:
        model: the model dict.
        id_prefix: prepended to every SVG element id, so several drawings on one page
            do not share ids (gradient fills refer to ids).

    Returns:
        str: a ``digraph``; node names are the model's node ids (``n0``, ``n1`` ...).
    """
    by_cluster = {}
    for n in model["nodes"]:
        by_cluster.setdefault(n["cluster"], []).append(n)
    children = {}
    for c in model["clusters"]:
        children.setdefault(c["parent"], []).append(c)
    fast = (' mclimit="0.1" nslimit="1" nslimit1="1" searchsize="5" remincross="false"'
            if model.get("fast_layout") else "")
    lines = ["digraph tfnb {",
             '  graph [rankdir="TB" fontname="Helvetica" fontsize="10" nodesep="0.25" '
             'ranksep="0.35" bgcolor="white"%s id=%s];'
             % (fast, _q(id_prefix + "graph")),
             '  node [fontname="Helvetica" fontsize="9" height="0.3" margin="0.08,0.03" '
             'color="#555555"];',
             '  edge [fontname="Helvetica" fontsize="8" color="#777777" fontcolor="#555555" '
             'arrowsize="0.6"];']

    def emit(scope, indent):
        pad = "  " * indent
        for c in children.get(scope, ()):
            lines.append("%ssubgraph cluster_%s {" % (pad, c["id"]))
            lines.append('%s  id=%s; class="tfnb-cluster"; label=%s; tooltip=%s; '
                         'style="rounded,filled"; fillcolor="#f7f9fc"; color="#9aa9bf";'
                         % (pad, _q(id_prefix + c["id"]), _q(c["label"]),
                            _q("%s (%d op%s): click the title to collapse"
                               % (c["name"], c["count"], "" if c["count"] == 1 else "s"))))
            emit(c["name"], indent + 1)
            lines.append(pad + "}")
        for n in by_cluster.get(scope, ()):
            lines.append(pad + _node_line(n, id_prefix))

    emit("", 1)
    labels = model.get("edge_labels", True)
    for i, e in enumerate(model["edges"]):
        lines.append("  " + _edge_line(e, id_prefix, i, labels))
    lines.extend(_grid_lines(model, by_cluster))
    lines.append("}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------
# SVG: system dot, or the browser
# ----------------------------------------------------------------------------------------------
def dot_available():
    """True when the ``graphviz`` package imports and the ``dot`` program is on PATH."""
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    return shutil.which("dot") is not None


def to_svg(dot):
    """SVG text laid out by the system ``dot`` (via the ``graphviz`` package), or None.

    None means "draw it in the browser instead": no graphviz package, no ``dot``
    program, or ``dot`` failed. It never raises for a missing layout engine.
    """
    if not dot_available():
        return None
    import graphviz
    try:
        return graphviz.Source(dot).pipe(format="svg", encoding="utf-8")
    except (graphviz.ExecutableNotFound, graphviz.CalledProcessError, OSError, RuntimeError):
        return None


_SVG_NODE = re.compile(r'<g id="([^"]*?)(n\d+)" class="node')
_SVG_EDGE = re.compile(r'<g id="([^"]*?)e(\d+)" class="edge')


def _edge_data(e):
    """data-* attributes of a cross-device edge's group (tests and scripts find it by them)."""
    if not e.get("cross_device"):
        return ""
    t = e["transfers"]
    return 'data-cross-device="true" data-bytes="%s" data-tensors="%s" data-send="%s" ' \
        'data-recv="%s" ' % ("" if e["bytes"] is None else e["bytes"],
                             html.escape(" ".join(x["tensor"] for x in t)),
                             html.escape(" ".join(x["send"] or "" for x in t)),
                             html.escape(" ".join(x["recv"] or "" for x in t)))


def annotate_svg(svg, model, id_prefix):
    """Adds ``data-op-name``/``data-scope``/``data-kind`` to the node groups of ``svg``."""
    nodes = {n["id"]: n for n in model["nodes"]}

    def add(m):
        n = nodes.get(m.group(2)) if html.unescape(m.group(1)) == id_prefix else None
        if n is None:
            return m.group(0)
        key = {"op": "data-op-name", "scope": "data-scope"}.get(n["kind"], "data-overflow")
        return '<g %s="%s" data-kind="%s" id="%s%s" class="node' % (
            key, html.escape(n["name"]), n["kind"], m.group(1), m.group(2))
    svg = _SVG_NODE.sub(add, svg)
    edges = model["edges"]

    def add_edge(m):
        i = int(m.group(2))
        if html.unescape(m.group(1)) != id_prefix or i >= len(edges):
            return m.group(0)
        return '<g %sid="%se%d" class="edge' % (_edge_data(edges[i]), m.group(1), i)
    svg = _SVG_EDGE.sub(add_edge, svg)
    # Drop the XML prolog so the SVG can sit inside HTML.
    start = svg.find("<svg")
    return svg[start:] if start > 0 else svg


def _plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def _node_map(model):
    return {n["id"]: [n["kind"], n["name"]] for n in model["nodes"]}


def _edge_map(model, prefix):
    """{SVG id of a cross-device edge: its data-* attributes} for the in-browser renderer."""
    out = {}
    for i, e in enumerate(model["edges"]):
        if e.get("cross_device"):
            t = e["transfers"]
            out["%se%d" % (prefix, i)] = {
                "cross-device": "true", "bytes": "" if e["bytes"] is None else str(e["bytes"]),
                "tensors": " ".join(x["tensor"] for x in t),
                "send": " ".join(x["send"] or "" for x in t),
                "recv": " ".join(x["recv"] or "" for x in t)}
    return out


def _script_json(obj):
    """JSON that is safe inside a <script> element."""
    return json.dumps(obj).replace("<", "\\u003c").replace(">", "\\u003e").replace("&",
                                                                                  "\\u0026")


def _legend_html(model):
    items = []
    for item in model["legend"]:
        color = item["color"].split(";")[0]
        attr = ' data-device="%s" title="%s"' % (html.escape(item["device"]),
                                                 html.escape(item.get("title", ""))) \
            if "device" in item else ""
        items.append('<span class="tfnb-legend-item"%s style="display:inline-block;'
                     'margin-right:8px;white-space:nowrap">'
                     '<span style="display:inline-block;width:10px;height:10px;background:%s;'
                     'border:1px solid #888;margin-right:3px;vertical-align:middle"></span>%s'
                     '</span>' % (attr, html.escape(color), html.escape(item["label"])))
    return "".join(items)


_KEY_SWATCH = {
    "moved": '<span style="display:inline-block;width:14px;height:9px;border:3px solid %s;'
             'border-radius:3px;margin-right:3px;vertical-align:middle"></span>',
    "bar": '<span style="display:inline-block;width:22px;height:7px;border:1px solid %s;'
           'background:linear-gradient(90deg,#8dd3c7 60%%,#fdb462 60%%);margin-right:3px;'
           'vertical-align:middle"></span>',
    "cross_device": '<span style="display:inline-block;width:22px;height:0;border-top:3px '
                    'solid %s;margin-right:3px;vertical-align:middle"></span>',
}


def legend_keys_html(model):
    """One line per key of the drawing (outlined ops, scope bars, cross-device edges)."""
    return "".join('<div class="tfnb-legend-key" data-key="%s" style="font:12px sans-serif;'
                   'color:#333;margin:1px 0">%s%s</div>'
                   % (k["kind"], _KEY_SWATCH[k["kind"]] % html.escape(k["color"]),
                      html.escape(k["label"])) for k in model.get("legend_keys") or ())


def to_html(model, use_dot=True):
    """An HTML fragment showing the drawing: inline SVG if ``dot`` ran, else drawn in the browser.

    Args:
        model: the model dict.
        use_dot: try the system ``dot`` program first.

    Returns:
        str: a ``<div class="tfnb-graph">`` with a header (op and node counts, legend), the
        model's notes, and either the SVG or the vendored WebAssembly Graphviz plus a short
        script that renders the DOT into the div when the page shows it. Never raises for a
        missing ``dot``.
    """
    prefix = "tfnb%d_" % next(_drawing_ids)
    dot = to_dot(model, prefix)
    return _html(model, dot, to_svg(dot) if use_dot else None, prefix)


def _html(model, dot, svg, prefix):
    mode = model["color_by"]
    if mode == "device":
        mode = "%s device" % model.get("device_source", "requested")
    head = ('<div class="tfnb-graph-head" style="font:12px sans-serif;color:#333;margin:2px 0">'
            '<b>Graph</b>: %s, %s shown, colour by %s &nbsp; %s</div>%s'
            % (_n_ops(model["n_ops"]), _plural(len(model["nodes"]), "node"), html.escape(mode),
               _legend_html(model), legend_keys_html(model)))
    notes = "".join('<div class="tfnb-graph-note" style="font:12px sans-serif;color:#8a5a00;'
                    'background:#fff8e1;padding:2px 6px;margin:2px 0">%s</div>'
                    % html.escape(t) for t in model["notes"])
    box = ('<div class="tfnb-graph-canvas" style="overflow:auto;max-height:760px;'
           'border:1px solid #ddd;background:#fff">%s</div>')
    if not model["nodes"]:
        return '<div class="tfnb-graph">%s%s</div>' % (
            head, box % '<i style="font:12px sans-serif">(empty graph)</i>')
    if svg is not None:
        return '<div class="tfnb-graph">%s%s%s</div>' % (head, notes,
                                                         box % annotate_svg(svg, model, prefix))
    waiting = ('<i style="font:12px sans-serif">Laying out the graph in the browser… (if this '
               'stays, scripts are blocked here, e.g. an untrusted notebook; with Graphviz\'s '
               '<code>dot</code> installed the drawing is a static SVG)</i>')
    return '<div class="tfnb-graph" data-tfnb-graph="%s">%s%s%s%s</div>' % (
        prefix, head, notes, box % waiting, _browser_render_scripts(dot, model, prefix))


def _browser_render_scripts(dot, model, prefix):
    """The vendored engine, the static renderer and the call that draws ``dot`` in place."""
    try:
        engine = read_extension_file("vendor/viz-global.js")
        static = read_extension_file("graph_static.js")
    except OSError as e:
        return ('<pre class="tfnb-graph-dot" style="font-size:10px">%s</pre><div>%s</div>'
                % (html.escape(dot), html.escape(str(e))))
    call = ("(function(s){var root=s&&s.closest?s.closest('.tfnb-graph'):document.querySelector("
            "'[data-tfnb-graph=\"%s\"]');tfnbRenderStatic(root,%s,%s,%s);})"
            "(document.currentScript);"
            % (prefix, _script_json(dot), _script_json(_node_map(model)),
               _script_json(_edge_map(model, prefix))))
    return ("<script>if(!window.Viz){%s\n}</script><script>%s</script><script>%s</script>"
            % (engine, static, call))


# ----------------------------------------------------------------------------------------------
# The user-facing drawing
# ----------------------------------------------------------------------------------------------
class GraphDrawing:
    """A drawn graph: ``.model`` (JSON), ``.dot`` (DOT text), ``.svg`` (or None), ``.html``.

    Displays itself in Jupyter (HTML); ``save("g.svg")``/``save("g.html")``/``save("g.dot")``.
    """

    def __init__(self, model, use_dot=True):
        self.model = model
        self._prefix = "tfnb%d_" % next(_drawing_ids)
        self.dot = to_dot(model, self._prefix)
        self.svg = to_svg(self.dot) if use_dot else None
        self._html = None

    @property
    def html(self):
        if self._html is None:
            self._html = _html(self.model, self.dot, self.svg, self._prefix)
        return self._html

    def save(self, path):
        """Writes the drawing; the format follows the extension (.svg needs ``dot``)."""
        ext = os.path.splitext(path)[1].lower()
        if ext in (".dot", ".gv"):
            text = self.dot
        elif ext == ".svg":
            if self.svg is None:
                raise RuntimeError("Saving SVG needs the Graphviz 'dot' program; save as .html "
                                   "(drawn in the browser) or .dot instead.")
            text = annotate_svg(self.svg, self.model, self._prefix)
        else:
            text = "<!DOCTYPE html><meta charset='utf-8'>" + self.html
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def __repr__(self):
        return "<GraphDrawing: %d ops, %d nodes, %d edges, colour by %s%s>" % (
            self.model["n_ops"], len(self.model["nodes"]), len(self.model["edges"]),
            self.model["color_by"], "".join("; " + n for n in self.model["notes"]))

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": repr(self), "text/html": self.html}


def draw_graph(graph=None, color_by="type", expanded=None, run_metadata=None, placement=None,
               max_nodes=MAX_NODES, use_dot=True, session=None, transfers=None):
    """Draws ``graph`` (default: the default graph) as a static SVG/HTML drawing.

    Args:
        graph: a ``tf.Graph``; the default graph if None.
        color_by: "type", "device" or "time" (needs ``run_metadata``).
        expanded: scope names to draw open (None: open all when the graph is small).
        run_metadata: a ``tf.RunMetadata`` filled by a ``FULL_TRACE`` run (or a StepStats).
        placement: ``{op: {"assigned": ..., "reason": ...}}`` or ``Session.placement()`` rows.
        max_nodes: the most nodes drawn (larger graphs are collapsed, with a note).
        use_dot: use the system ``dot`` program when present (else the browser lays it out).
        session: a session: its graph (when ``graph`` is None) and the placement and
            transfers of its last run (unless ``placement`` is given).
        transfers: the plan's transfers (:func:`~.placement_view.session_transfers`).

    Returns:
        GraphDrawing: displays in Jupyter; ``.dot``, ``.svg``, ``.model``, ``save(path)``.
    """
    if graph is None and session is not None:
        graph = session.graph
    if graph is None:
        from ..framework.graph import get_default_graph
        graph = get_default_graph()
    if session is not None and placement is None:
        placement = session.placement() or None
        if transfers is None:
            from .placement_view import session_transfers
            transfers = session_transfers(session) or None
    model = graph_to_model(graph, expanded=expanded, color_by=color_by, step_stats=run_metadata,
                           placement=placement, max_nodes=max_nodes, transfers=transfers)
    return GraphDrawing(model, use_dot=use_dot)
