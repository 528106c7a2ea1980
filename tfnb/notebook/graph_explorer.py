"""GraphExplorer: an interactive graph view (anywidget) for JupyterLab, Notebook 7 and VS Code.

The widget keeps its state in synced traits and the thinking in Python: the
front end (``extension/graph_explorer.js``, with the vendored WebAssembly
Graphviz) lays out ``model["dot"]`` and reports gestures by setting traits.

=============  ==========================================================
trait          meaning
=============  ==========================================================
``model``      the drawing: :func:`~.graph_model.graph_to_model` + ``dot``
``expanded``   open scopes; a click on a scope adds it, on a cluster's
               title removes it; Python recomputes ``model``
``color_by``   "type" | "device" | "time"
``search``     the search box; Python answers in ``matches``
               (``ops``: first names, ``count``, ``nodes``: visible ids);
               Enter sends ``{"event": "show_first_match"}``
``selected``   an op or scope name; Python opens the scopes hiding it and
               fills ``details`` (``title``, ``sections``, raw ``node``)
``placement_panel``  per-device totals and the op table of a placement
               (:func:`~.placement_view.placement_model`), drawn below the
               graph when not empty
=============  ==========================================================

Where widgets do not load (a static notebook viewer, nbconvert), the output
falls back to the static drawing of :mod:`.graph_draw` (``text/html``).

Example:
    >>> from tfnb.notebook import GraphExplorer
    >>> GraphExplorer(tf.get_default_graph(), color_by="device")
"""
import itertools

import anywidget
import traitlets

from ..framework.graph import get_default_graph
from .graph_draw import read_extension_file, to_dot, to_html
from .graph_model import (COLOR_MODES, MAX_NODES, details_view, graph_to_model, node_details,
                          search_ops)

__all__ = ["GraphExplorer"]

_ids = itertools.count()
_MATCHES_SHOWN = 50


def _esm_source():
    """The widget's ES module: the vendored engine (defines globalThis.Viz) + the view."""
    return read_extension_file("vendor/viz-global.js") + "\n" + read_extension_file(
        "graph_explorer.js")


class GraphExplorer(anywidget.AnyWidget):
    """Pan, zoom, open scopes, search ops and inspect them, in a live notebook.

    Args:
        graph: the ``tf.Graph`` (default: the session's graph, else the default graph).
        color_by: "type", "device" or "time" (time needs ``run_metadata``).
        run_metadata: a ``tf.RunMetadata`` from a ``FULL_TRACE`` run (or a StepStats).
        session: a session; the placement of its last run gives the assigned devices
            (with the Send/Recv transfers of that run's plan).
        placement: ``{op: {"assigned": ..., "reason": ...}}`` or ``Session.placement()``
            rows, overriding ``session``'s.
        transfers: the plan's transfers (:func:`~.placement_view.session_transfers`), for the
            bytes and Send/Recv names of cross-device edges.
        placement_panel: a :func:`~.placement_view.placement_model` to show below the graph.
        expanded: scopes to open at first (None: all when the graph is small).
        max_nodes: the most nodes drawn at once.
    """

    _esm = _esm_source()
    _css = read_extension_file("graph_explorer.css")

    model = traitlets.Dict().tag(sync=True)
    expanded = traitlets.List(traitlets.Unicode()).tag(sync=True)
    color_by = traitlets.Unicode("type").tag(sync=True)
    search = traitlets.Unicode("").tag(sync=True)
    matches = traitlets.Dict().tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    details = traitlets.Dict().tag(sync=True)
    placement_panel = traitlets.Dict().tag(sync=True)

    def __init__(self, graph=None, color_by="type", run_metadata=None, session=None,
                 placement=None, expanded=None, max_nodes=MAX_NODES, transfers=None,
                 **kwargs):
        if graph is None:
            graph = session.graph if session is not None else get_default_graph()
        if color_by not in COLOR_MODES:
            raise ValueError("color_by must be one of %s, got %r" % (", ".join(COLOR_MODES),
                                                                    color_by))
        self._graph = graph
        self._step_stats = getattr(run_metadata, "step_stats", run_metadata)
        if placement is None and session is not None and hasattr(session, "placement"):
            placement = session.placement() or None
            if transfers is None:
                from .placement_view import session_transfers
                transfers = session_transfers(session) or None
        self._placement = placement
        self._transfers = transfers
        self._max_nodes = max_nodes
        self._prefix = "tfnbge%d_" % next(_ids)
        self._busy = False
        super().__init__(color_by=color_by, **kwargs)
        self._recompute(expanded)
        self.on_msg(self._on_front_end_message)

    # --- Python API ---
    @property
    def graph(self):
        return self._graph

    def refresh(self):
        """Redraws after the graph grew (keeps open scopes, search and selection)."""
        self._recompute(self.expanded)
        self._update_matches()
        self._update_details()

    def set_trace(self, run_metadata):
        """Uses the timings of a new ``FULL_TRACE`` run (for ``color_by="time"``)."""
        self._step_stats = run_metadata
        self.refresh()

    # --- trait reactions ---
    @traitlets.validate("color_by")
    def _check_color_by(self, proposal):
        if proposal["value"] not in COLOR_MODES:
            raise traitlets.TraitError("color_by must be one of %s" % ", ".join(COLOR_MODES))
        return proposal["value"]

    @traitlets.observe("expanded", "color_by")
    def _on_view_change(self, change):
        if not self._busy:
            self._recompute(self.expanded)
            self._update_matches()

    @traitlets.observe("search")
    def _on_search(self, change):
        self._update_matches()

    @traitlets.observe("selected")
    def _on_selected(self, change):
        name = self.selected
        if name and self._graph._get_operation_by_name_unsafe(name) is not None:
            self._reveal(name)
        self._update_details()

    def show_first_match(self, query=None):
        """Selects the first op matching ``query`` (default: the current search), opening
        the scopes around it; what Enter in the search box does."""
        if query is not None:
            self.search = query
        names, _ = search_ops(self._graph, self.search, limit=1)
        if names:
            self.selected = names[0]

    def _on_front_end_message(self, widget, content, buffers):
        if isinstance(content, dict) and content.get("event") == "show_first_match":
            self.show_first_match(content.get("query"))

    # --- internals ---
    def _recompute(self, expanded):
        m = graph_to_model(self._graph, expanded=expanded, color_by=self.color_by,
                           step_stats=self._step_stats, placement=self._placement,
                           max_nodes=self._max_nodes, transfers=self._transfers)
        m["dot"] = to_dot(m, self._prefix)
        self._busy = True
        try:
            with self.hold_sync():
                self.model = m
                if list(self.expanded) != m["expanded"]:
                    self.expanded = m["expanded"]
        finally:
            self._busy = False

    def _reveal(self, op_name):
        """Opens the scopes around ``op_name`` when it is hidden in a collapsed one."""
        if any(n["kind"] == "op" and n["name"] == op_name for n in self.model["nodes"]):
            return
        parts = op_name.split("/")
        wanted = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        new = list(self.expanded) + [s for s in wanted if s not in self.expanded]
        self.expanded = new

    def _update_matches(self):
        names, total = search_ops(self._graph, self.search, limit=None)
        self.matches = {"query": self.search, "count": total, "ops": names[:_MATCHES_SHOWN],
                        "nodes": _visible_ids(self.model, names)} if self.search else {}

    def _update_details(self):
        raw = node_details(self._graph, self.selected, placement=self._placement,
                           step_stats=self._step_stats) if self.selected else None
        view = details_view(raw)
        if view:
            view["node"] = raw
        self.details = view

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, meta = bundle
        model = {k: v for k, v in self.model.items() if k != "dot"}
        page = to_html(model)  # for viewers where widgets do not load
        if self.placement_panel:
            from .placement_view import panel_html
            page = '<div class="tfnb-placement">%s%s</div>' % (page,
                                                                 panel_html(self.placement_panel))
        data["text/html"] = page
        return data, meta


def _visible_ids(model, op_names):
    """Ids of the visible nodes (op, collapsed scope or overflow) that hold ``op_names``."""
    ops = {}
    scopes = {}
    overflow = []
    for n in model["nodes"]:
        if n["kind"] == "op":
            ops[n["name"]] = n["id"]
        elif n["kind"] == "scope":
            scopes[n["name"]] = n["id"]
        else:
            overflow.append(n["id"])
    hits = []
    for name in op_names:
        nid = ops.get(name)
        if nid is None:
            parts = name.split("/")
            for i in range(1, len(parts) + 1):
                nid = scopes.get("/".join(parts[:i]))
                if nid is not None:
                    break
        if nid is None and overflow:
            nid = overflow[0]
        if nid is not None and nid not in hits:
            hits.append(nid)
    return hits
