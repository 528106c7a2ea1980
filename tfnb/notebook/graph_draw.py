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

from .graph_model import CROSS_DEVICE_COLOR, MAX_NODES, SEND_RECV_COLOR, _n_ops, graph_to_model

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


def _attrs(**kw):
    return "[" + " ".join("%s=%s" % (k, _q(v)) for k, v in kw.items() if v is not None) + "]"


def _node_line(n, prefix):
    kind = n["kind"]
    tip = "%s (%s)" % (n["name"], n["type"] or _n_ops(n["count"]))
    color = n["color"]
    striped = ";" in color
    if kind == "op":
        extra = dict(shape="cds", style="filled", color=SEND_RECV_COLOR, penwidth="2.5") \
            if n["send_recv"] else dict(shape="box", style="rounded,filled")
        attrs = _attrs(id=prefix + n["id"], label=n["label"], tooltip=tip, fillcolor=color,
                       **{"class": "tfnb-op"}, **extra)
    elif kind == "scope":
        attrs = _attrs(id=prefix + n["id"], label=n["label"], tooltip=tip, shape="box",
                       style="striped,bold" if striped else "filled,bold", fillcolor=color,
                       penwidth="1.8", color=SEND_RECV_COLOR if n["send_recv"] else "#4a6fa5",
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
        label = " " + e["label"] if labels else None
        if e["cross_device"]:
            attrs = _attrs(id=eid, label=label, tooltip=e["label"], color=CROSS_DEVICE_COLOR,
                           fontcolor=CROSS_DEVICE_COLOR, penwidth="2",
                           **{"class": "tfnb-data tfnb-cross-device"})
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
    # Drop the XML prolog so the SVG can sit inside HTML.
    start = svg.find("<svg")
    return svg[start:] if start > 0 else svg


def _node_map(model):
    return {n["id"]: [n["kind"], n["name"]] for n in model["nodes"]}


def _script_json(obj):
    """JSON that is safe inside a <script> element."""
    return json.dumps(obj).replace("<", "\\u003c").replace(">", "\\u003e").replace("&",
                                                                                  "\\u0026")


def _legend_html(model):
    items = []
    for item in model["legend"]:
        color = item["color"].split(";")[0]
        items.append('<span style="display:inline-block;margin-right:8px;white-space:nowrap">'
                     '<span style="display:inline-block;width:10px;height:10px;background:%s;'
                     'border:1px solid #888;margin-right:3px;vertical-align:middle"></span>%s'
                     '</span>' % (html.escape(color), html.escape(item["label"])))
    return "".join(items)


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
    head = ('<div class="tfnb-graph-head" style="font:12px sans-serif;color:#333;margin:2px 0">'
            '<b>Graph</b>: %d ops, %d nodes shown, colour by %s &nbsp; %s</div>'
            % (model["n_ops"], len(model["nodes"]), html.escape(model["color_by"]),
               _legend_html(model)))
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
            "'[data-tfnb-graph=\"%s\"]');tfnbRenderStatic(root,%s,%s);})(document.currentScript);"
            % (prefix, _script_json(dot), _script_json(_node_map(model))))
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
               max_nodes=MAX_NODES, use_dot=True):
    """Draws ``graph`` (default: the default graph) as a static SVG/HTML drawing.

    Args:
        graph: a ``tf.Graph``; the default graph if None.
        color_by: "type", "device" or "time" (needs ``run_metadata``).
        expanded: scope names to draw open (None: open all when the graph is small).
        run_metadata: a ``tf.RunMetadata`` filled by a ``FULL_TRACE`` run (or a StepStats).
        placement: ``{op: {"assigned": ..., "reason": ...}}`` or a session with ``placement()``.
        max_nodes: the most nodes drawn (larger graphs are collapsed, with a note).
        use_dot: use the system ``dot`` program when present (else the browser lays it out).

    Returns:
        GraphDrawing: displays in Jupyter; ``.dot``, ``.svg``, ``.model``, ``save(path)``.
    """
    if graph is None:
        from ..framework.graph import get_default_graph
        graph = get_default_graph()
    model = graph_to_model(graph, expanded=expanded, color_by=color_by, step_stats=run_metadata,
                           placement=placement, max_nodes=max_nodes)
    return GraphDrawing(model, use_dot=use_dot)
