"""A graph as plain JSON: what the drawing, the widget and the tests all look at.

``graph_to_model`` turns a :class:`~tfnb.framework.graph.Graph` into a dict of
visible nodes, edges and clusters, ready for DOT (:mod:`.graph_draw`) or the
GraphExplorer front end. Name scopes give the hierarchy: an op ``a/b/c`` lives
in scope ``a/b``; an op whose name is also a scope (a variable ``w`` with
``w/Assign``) lives inside that scope, so a collapsed ``w`` stands for the whole
variable. A collapsed scope is one node carrying its member count; an expanded
one is a cluster. Small graphs start fully expanded, large ones fully collapsed,
and no model ever holds more than ``max_nodes`` nodes: expansions are undone, and
then the widest level is folded into one overflow node, each time with a note,
so a huge graph still draws in a few seconds.

Everything here is pure Python over the graph (no IPython, no graphviz), so it is
cheap to test and safe to call from a terminal.

Example:
    >>> m = graph_to_model(tf.get_default_graph(), color_by="device")
    >>> sorted(m)[:4]
    ['clusters', 'color_by', 'edges', 'expanded']
"""
import linecache
import re
import zlib

import numpy as np

from ..framework.tensor_shape import shape_str
from .device_names import canonical_device, device_colors, device_label, device_sort_key, \
    request_satisfied

__all__ = ["graph_to_model", "node_details", "details_view", "search_ops", "scope_of",
           "format_attr", "value_preview", "location_info", "step_times", "format_bytes",
           "node_tooltip", "edge_tooltip",
           "transfers_by_tensor", "COLOR_MODES",
           "COLLAPSE_THRESHOLD", "MAX_NODES", "EDGE_LABEL_LIMIT"]

COLOR_MODES = ("type", "device", "time")
# Graphs with more ops than this start with every scope collapsed.
COLLAPSE_THRESHOLD = 60
# No drawing holds more nodes than this (layout stays a few seconds, even in the browser).
MAX_NODES = 300
# Edge labels become extra ranks in dot's layout: past this many edges, shapes go to tooltips.
EDGE_LABEL_LIMIT = 150
# Past this many nodes or edges, dot is asked for a quicker, rougher layout.
FAST_LAYOUT_NODES = 120
FAST_LAYOUT_EDGES = 200

SEND_RECV_TYPES = frozenset(["_Send", "_Recv", "_HostSend", "_HostRecv", "Send", "Recv"])

# Qualitative palette (ColorBrewer Set3 + Pastel1, light enough for black text).
_PALETTE = ("#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69",
            "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f", "#decbe4", "#fed9a6",
            "#e5d8bd", "#b3cde3")
SCOPE_COLOR = "#e3ecf7"
UNPLACED_COLOR = "#f0f0f0"
NOT_IN_STEP_COLOR = "#fafafa"
MOVED_COLOR = "#e6550d"
NOT_RUN_COLOR = "#f7f7f7"
SEND_RECV_COLOR = "#d62728"
CROSS_DEVICE_COLOR = "#d62728"
# Heat scale for measured time: white -> yellow -> red.
_HEAT = ((255, 255, 255), (254, 224, 139), (215, 48, 39))


# ----------------------------------------------------------------------------------------------
# Small formatting helpers (shared with reprs.py)
# ----------------------------------------------------------------------------------------------
def format_attr(value, limit=80):
    """A short, human-readable form of one attr value (DType, shape, array, list, ...)."""
    if isinstance(value, np.ndarray):
        if value.size <= 8:
            text = np.array2string(value, separator=", ", threshold=8)
            return _clip("%s %s" % (value.dtype.name, text.replace("\n", "")), limit)
        return "%s array of shape %s" % (value.dtype.name, list(value.shape))
    name = getattr(value, "name", None)
    if type(value).__name__ == "DType" and isinstance(name, str):
        return name
    if type(value).__name__ == "TensorShape":
        return str(value)
    return _clip(repr(value), limit)


def _clip(text, limit):
    return text if len(text) <= limit else text[:limit - 1] + "…"


def value_preview(value, threshold=100, edgeitems=3, linewidth=75):
    """A NumPy-style abbreviated text of ``value`` (``...`` past ``threshold`` elements)."""
    if value is None:
        return None
    if not isinstance(value, (np.ndarray, np.generic, int, float, bool, bytes, str)):
        return "<%s %s>" % (type(value).__name__, getattr(value, "name", ""))
    return np.array2string(np.asarray(value), threshold=threshold, edgeitems=edgeitems,
                           max_line_width=linewidth)


def format_duration(us):
    """Microseconds as '850 µs' / '12.3 ms' / '1.20 s'."""
    if us < 1000:
        return "%d µs" % us
    if us < 1_000_000:
        return "%.1f ms" % (us / 1000.0)
    return "%.2f s" % (us / 1e6)


def format_bytes(n):
    """Bytes as '512 B' / '16.0 KiB' / '3.2 MiB' / '1.50 GiB' ('?' for None)."""
    if n is None:
        return "?"
    if n < 1024:
        return "%d B" % n
    for unit, scale in (("KiB", 2 ** 10), ("MiB", 2 ** 20), ("GiB", 2 ** 30)):
        if n < scale * 1024 or unit == "GiB":
            return "%.1f %s" % (n / scale, unit) if unit != "GiB" else "%.2f GiB" % (n / scale)
    return "%d B" % n


def _n_ops(n):
    return "1 op" if n == 1 else "%d ops" % n


def _palette_color(key):
    return _PALETTE[zlib.crc32(key.encode("utf-8")) % len(_PALETTE)]


def _heat_color(frac):
    frac = min(max(frac, 0.0), 1.0)
    lo, hi, t = (_HEAT[0], _HEAT[1], frac * 2) if frac < 0.5 else (_HEAT[1], _HEAT[2],
                                                                    frac * 2 - 1)
    return "#%02x%02x%02x" % tuple(int(round(a + (b - a) * t)) for a, b in zip(lo, hi))


# ----------------------------------------------------------------------------------------------
# Inputs: step stats and placement, in whatever shape the caller has them
# ----------------------------------------------------------------------------------------------
def step_times(step_stats):
    """{op name: total µs} from a StepStats, a RunMetadata, a ``StepStats.as_dict()`` or a dict.

    Several records of one op (e.g. traces of several steps merged) are summed.
    """
    if step_stats is None:
        return {}
    step_stats = getattr(step_stats, "step_stats", step_stats)  # a RunMetadata
    if step_stats is None:
        return {}
    if isinstance(step_stats, dict) and "dev_stats" not in step_stats:
        return {k: float(v) for k, v in step_stats.items()}
    if isinstance(step_stats, dict):
        records = [(n["node_name"], n["duration_us"]) for d in step_stats["dev_stats"]
                   for n in d["node_stats"]]
    else:
        records = [(n.node_name, n.all_end_rel_micros) for d in step_stats.dev_stats
                   for n in d.node_stats]
    out = {}
    for name, us in records:
        out[name] = out.get(name, 0.0) + float(us)
    return out


def _placement_of(placement, name):
    """(assigned device, reason) for op ``name`` from a normalized placement, or ("", "")."""
    if not placement:
        return "", ""
    p = placement.get(name)
    if p is None:
        return "", ""
    return p["assigned"], p["reason"]


def _normalize_placement(placement):
    """{op name: {"assigned", "reason", ...}} with canonical device names.

    Accepts a dict ({op: device} or {op: {"assigned"/"device", "reason"}}), the rows
    ``Session.placement()`` returns, a callable returning either, or a session (its last run).
    """
    if placement is None:
        return None
    if hasattr(placement, "placement") and callable(placement.placement):
        placement = placement.placement()
    elif callable(placement):
        placement = placement()
    if not placement:
        return None
    if isinstance(placement, (list, tuple)):  # Session.placement() rows
        placement = {row["op"]: row for row in placement}
    out = {}
    for name, p in placement.items():
        if isinstance(p, str):
            row = {"assigned": p, "reason": ""}
        elif isinstance(p, dict):
            row = dict(p)
            row["assigned"] = p.get("assigned") or p.get("device") or ""
            row["reason"] = p.get("reason") or ""
        else:
            row = {"assigned": getattr(p, "assigned", "") or getattr(p, "device", ""),
                   "reason": getattr(p, "reason", "")}
        row["assigned"] = canonical_device(row["assigned"])
        out[name] = row
    return out


def transfers_by_tensor(transfers):
    """{(tensor name, canonical destination device): transfer} from a list of transfers.

    A transfer is a dict with ``tensor``, ``src_device``, ``dst_device`` and optionally
    ``bytes``, ``send`` and ``recv`` (the Send/Recv op names), as
    :func:`tfnb.notebook.placement_view.session_transfers` makes them.
    """
    return {(t["tensor"], canonical_device(t["dst_device"])): t for t in transfers or ()}


# ----------------------------------------------------------------------------------------------
# The scope tree
# ----------------------------------------------------------------------------------------------
def scope_of(name, scopes):
    """The scope an op named ``name`` belongs to ('' for the root), given all scope names."""
    if name in scopes:
        return name
    return name.rpartition("/")[0]


class _Scopes:
    """Scope tree of a list of ops: parents, member counts, home scope of each op."""

    def __init__(self, ops):
        names = set()
        for op in ops:
            parts = op._name.split("/")
            prefix = ""
            for p in parts[:-1]:
                prefix = p if not prefix else prefix + "/" + p
                names.add(prefix)
        self.names = names
        self.parent = {s: s.rpartition("/")[0] for s in names}
        self.home = {}
        self.count = dict.fromkeys(names, 0)
        self.first_id = {}
        for op in ops:
            s = scope_of(op._name, names)
            self.home[op] = s
            while s:
                self.count[s] += 1
                if s not in self.first_id:
                    self.first_id[s] = op._id
                s = self.parent[s]

    def ancestors(self, scope):
        """``scope`` and its ancestors, innermost first."""
        out = []
        while scope:
            out.append(scope)
            scope = self.parent[scope]
        return out


# ----------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------
class _Visible:
    """Which node (op or collapsed scope) each op shows as, for one set of expanded scopes."""

    def __init__(self, tree, expanded):
        self.tree = tree
        self.expanded = expanded
        self._collapsed_at = {"": None}

    def collapsed_at(self, scope):
        """The outermost collapsed scope on ``scope``'s chain, or None if all are expanded."""
        memo = self._collapsed_at
        if scope in memo:
            return memo[scope]
        chain = []
        s = scope
        while s not in memo:
            chain.append(s)
            s = self.tree.parent[s]
        found = memo[s]
        for s in reversed(chain):
            if found is None and s not in self.expanded:
                found = s
            memo[s] = found
        return found

    def items(self, ops):
        """{op: visible key} where a key is ('op', op) or ('scope', name)."""
        out = {}
        home = self.tree.home
        for op in ops:
            c = self.collapsed_at(home[op])
            out[op] = ("op", op) if c is None else ("scope", c)
        return out


def _visible_clusters(tree, vis):
    return sorted((s for s in tree.names if s in vis.expanded and vis.collapsed_at(s) is None),
                  key=lambda s: (s.count("/"), tree.first_id[s]))


def _parent_cluster(key, tree):
    """The expanded scope a visible node sits in ('' for the root)."""
    kind, obj = key
    return tree.home[obj] if kind == "op" else tree.parent[obj]


def graph_to_model(graph, expanded=None, color_by="type", step_stats=None, placement=None,
                   max_nodes=MAX_NODES, collapse_threshold=COLLAPSE_THRESHOLD, transfers=None):
    """Describes ``graph`` as visible nodes, edges and clusters (plain JSON-able dict).

    Args:
        graph: a ``tf.Graph``.
        expanded: names of the scopes to show open (a cluster); ``None`` means the default:
            all scopes open when the graph has at most ``collapse_threshold`` ops, else none.
        color_by: "type" (op type), "device" (assigned device when ``placement`` is given,
            else the requested ``op.device``) or "time" (measured time from ``step_stats``).
        step_stats: a StepStats / RunMetadata (from a ``FULL_TRACE`` run), its ``as_dict()``,
            or ``{op name: µs}``; summed per collapsed scope.
        placement: ``{op name: {"assigned": device, "reason": why}}`` (or ``{op: device}``),
            the rows of ``Session.placement()``, or a session (its last run's placement).
            Device names are made canonical (``/device:CPU:0`` is
            ``/job:localhost/replica:0/task:0/device:CPU:0``); ops it leaves out are
            "not in this step".
        transfers: the tensors a plan sends between devices (see
            :func:`transfers_by_tensor`): cross-device edges carry their bytes and Send/Recv
            names. Without it, an edge between ops on two devices counts as a transfer of the
            tensor's static size.
        max_nodes: the most nodes the model may hold; beyond it expansions are undone and
            then the widest level is folded into an overflow node (with a note).
        collapse_threshold: graphs with more ops start collapsed.

    Returns:
        dict with keys ``nodes`` (id, name, kind "op"/"scope"/"overflow", label, color,
        cluster, devices, outputs, value; with a placement also assigned, requested, reason,
        moved; a scope over several devices ``device_shares``), ``edges`` (source, target,
        kind "data"/"control", label, count, cross_device, bytes, transfers), ``clusters``
        (id, name, parent), ``expanded`` (the scopes actually open), ``legend`` (one entry
        per colour; in device mode one per device, with ``device``), ``legend_keys`` (what
        outlines, bars and red edges mean, when present), ``device_source`` ("assigned" or
        "requested"), ``notes``, ``n_ops``, ``color_by``, ``graph_version``, and the layout
        hints ``edge_labels`` (draw shapes on edges) and ``fast_layout``.

    Raises:
        ValueError: unknown ``color_by``.
    """
    if color_by not in COLOR_MODES:
        raise ValueError("color_by must be one of %s, got %r" % (", ".join(COLOR_MODES), color_by))
    ops = graph.get_operations()
    tree = _Scopes(ops)
    placement = _normalize_placement(placement)
    times = step_times(step_stats)
    notes = []
    if expanded is None:
        want = sorted(tree.names) if len(ops) <= collapse_threshold else []
    else:
        want = [s for s in dict.fromkeys(expanded) if s in tree.names]
    open_set = set(want)
    vis = _Visible(tree, open_set)
    visible = vis.items(ops)
    n_visible = len(set(visible.values()))
    dropped = []
    while n_visible > max_nodes and want:
        dropped.append(want.pop(0))  # undo the oldest expansion first
        open_set.discard(dropped[-1])
        vis = _Visible(tree, open_set)
        visible = vis.items(ops)
        n_visible = len(set(visible.values()))
    if dropped:
        shown = ", ".join(repr(s) for s in dropped[:5]) + (", …" if len(dropped) > 5 else "")
        notes.append("Collapsed %d scope%s (%s) to keep the drawing under %d nodes."
                     % (len(dropped), "" if len(dropped) == 1 else "s", shown, max_nodes))
    want = [s for s in want if vis.collapsed_at(s) is None]
    overflow = _fold_overflow(visible, tree, max_nodes, notes)

    colorer = _Colorer(color_by, placement, times, ops)
    nodes, ids = _build_nodes(visible, tree, overflow, colorer)
    clusters = [{"id": "c%d" % i, "name": s, "label": s, "parent": tree.parent[s],
                 "count": tree.count[s]}
                for i, s in enumerate(_visible_clusters(tree, vis))]
    edges = _build_edges(ops, visible, ids, colorer, transfers)
    for n in nodes:
        n["tooltip"] = node_tooltip(n)
    for e in edges:
        e["tooltip"] = edge_tooltip(e)
    edge_labels = len(edges) <= EDGE_LABEL_LIMIT
    if not edge_labels:
        notes.append("%d edges: shapes are shown when hovering an edge instead of as labels."
                     % len(edges))
    if color_by == "device" and placement is None:
        notes.append("Colours show the devices ops *request* (tf.device). For the devices they "
                     "run on, pass a session: %tf_graph --session sess, or "
                     "sess.placement_view(fetches).")
    if color_by == "time" and not times:
        notes.append("No step trace: run with tf.RunOptions(trace_level=FULL_TRACE) and pass "
                     "run_metadata to colour by measured time.")
    return {"graph_version": graph.version, "n_ops": len(ops), "color_by": color_by,
            "expanded": want, "nodes": nodes, "edges": edges, "clusters": clusters,
            "legend": colorer.legend(nodes), "legend_keys": _legend_keys(nodes, edges, colorer),
            "device_source": "assigned" if placement is not None else "requested",
            "notes": notes, "edge_labels": edge_labels,
            "fast_layout": len(nodes) > FAST_LAYOUT_NODES or len(edges) > FAST_LAYOUT_EDGES}


def _fold_overflow(visible, tree, max_nodes, notes):
    """Folds the tail of the widest level into one overflow key when there are too many nodes.

    Returns {visible key: overflow key} for the folded keys (mutating nothing).
    """
    keys = list(dict.fromkeys(visible.values()))
    if len(keys) <= max_nodes:
        return {}
    by_parent = {}
    for k in keys:
        by_parent.setdefault(_parent_cluster(k, tree), []).append(k)
    parent, members = max(by_parent.items(), key=lambda kv: len(kv[1]))
    excess = len(keys) - max_nodes + 1
    # Keep scopes (they summarize many ops) and the earliest ops; fold the latest ops.
    members.sort(key=lambda k: (k[0] == "op", tree.first_id[k[1]] if k[0] == "scope"
                                else k[1]._id))
    folded = members[len(members) - excess:]
    ov = ("overflow", parent)
    n_ops = sum(1 if k[0] == "op" else tree.count[k[1]] for k in folded)
    notes.append("Too large to draw in full: the last %d of %d nodes in %s are folded into "
                 "one node (%d ops). Put ops in name scopes, or search an op by name."
                 % (len(folded), len(members), "scope %r" % parent if parent else "the top level",
                    n_ops))
    return {k: ov for k in folded}


NOT_IN_STEP = "(not in this step)"


class _Colorer:
    """Fill colours for one colour mode, and the legend that explains them."""

    def __init__(self, mode, placement, times, ops):
        self.mode = mode
        self.placement = placement
        self.times = times
        self.max_time = 0.0
        self.colors = {}
        self.device_counts = {}
        if mode == "device":
            for op in ops:
                d = self.device_of(op)
                self.device_counts[d] = self.device_counts.get(d, 0) + 1
            self.colors = device_colors(d for d in self.device_counts if d and d != NOT_IN_STEP)

    def device_of(self, op):
        """The op's canonical assigned device (with a placement) or requested one (without)."""
        if self.placement is not None:
            p = self.placement.get(op._name)
            return p["assigned"] if p is not None else NOT_IN_STEP
        return canonical_device(op._device)

    def device_color(self, dev):
        if not dev:
            return UNPLACED_COLOR
        if dev == NOT_IN_STEP:
            return NOT_IN_STEP_COLOR
        return self.colors.get(dev) or _palette_color(dev)

    def prepare(self, node_times):
        self.max_time = max(node_times, default=0.0)

    def time_color(self, us):
        if us is None:
            return NOT_RUN_COLOR
        return _heat_color(us / self.max_time if self.max_time > 0 else 0.0)

    def legend(self, nodes):
        if self.mode == "type":
            seen = {}
            for n in nodes:
                if n["kind"] == "op":
                    seen[n["type"]] = n["color"]
            items = [{"label": t, "color": c} for t, c in sorted(seen.items())[:24]]
            return items + [{"label": "scope (collapsed)", "color": SCOPE_COLOR}]
        if self.mode == "device":
            order = sorted(self.device_counts, key=lambda d: (d == NOT_IN_STEP, d == "",
                                                               device_sort_key(d)))
            none = "(no device requested)" if self.placement is None else "(unplaced)"
            return [{"label": d if d == NOT_IN_STEP else device_label(d) if d else none,
                     "device": d, "title": d or none, "color": self.device_color(d),
                     "count": self.device_counts[d]} for d in order]
        if not self.max_time:
            return [{"label": "not run", "color": NOT_RUN_COLOR}]
        return [{"label": "0", "color": _heat_color(0.0)},
                {"label": format_duration(self.max_time / 2), "color": _heat_color(0.5)},
                {"label": format_duration(self.max_time), "color": _heat_color(1.0)},
                {"label": "not run", "color": NOT_RUN_COLOR}]


def _legend_keys(nodes, edges, colorer):
    """What the outlines, bars and red edges of this drawing mean (only those it has)."""
    keys = []
    if colorer.mode != "device":
        return keys
    if any(n.get("moved") for n in nodes):
        keys.append({"kind": "moved", "color": MOVED_COLOR,
                     "label": "thick orange outline: placed on another device than requested "
                              "(hover or click for the placer's reason)"})
    if any(n.get("device_shares") for n in nodes):
        keys.append({"kind": "bar", "color": "#555555",
                     "label": "bar in a scope: its ops per device, in proportion"})
    if any(e["cross_device"] for e in edges):
        keys.append({"kind": "cross_device", "color": CROSS_DEVICE_COLOR,
                     "label": "red edge: tensors sent between devices (bytes per step; one "
                              "Send/Recv pair per tensor and destination)"})
    return keys


def _outputs_text(op):
    return ["%s %s" % (t.dtype.name, shape_str(t._shape.as_tuple())) for t in op._outputs]


def _short_value(op):
    """A one-line preview of the op's first output when eager mode computed it, else None."""
    if not op._outputs:
        return None
    try:
        v = op._graph._eager_value(op._outputs[0])
    except Exception:  # noqa: BLE001 - a value that cannot be read is simply not shown
        return None
    if v is None:
        return None
    text = value_preview(v, threshold=12, edgeitems=2, linewidth=70)
    text = " ".join(text.split())
    return _clip(text, 120)


def node_tooltip(n):
    """The hover text of a node: name and type, shapes, value, device and placer's reason."""
    if n["kind"] != "op":
        lines = ["%s (%s)" % (n["name"], _n_ops(n["count"]))]
        real = [d for d in n["devices"] if d and d != NOT_IN_STEP]
        if len(real) == 1:
            lines.append("on " + device_label(real[0]))
        for s in n.get("device_shares") or ():
            lines.append("%s: %s" % (s["label"], _n_ops(s["count"])))
        if n.get("not_in_step"):
            lines.append("%s not in this step" % _n_ops(n["not_in_step"]))
        if n.get("moved_count"):
            lines.append("%s placed against the request" % _n_ops(n["moved_count"]))
        return "\n".join(lines)
    lines = ["%s (%s)" % (n["name"], n["type"])]
    outs = n.get("outputs") or []
    if outs:
        lines.append("output%s: %s" % ("" if len(outs) == 1 else "s", ", ".join(outs)))
    if n.get("value"):
        lines.append("value: " + n["value"])
    if "assigned" in n:
        lines.append("assigned: " + (n["assigned"] or "(not in this step)"))
        lines.append("requested: " + (n["requested"] or "(any device)"))
        if n["reason"]:
            lines.append("reason: " + n["reason"])
    elif n.get("requested"):
        lines.append("requested: " + n["requested"])
    if n.get("time_us") is not None:
        lines.append("time: %d µs" % n["time_us"])
    return "\n".join(lines)


def edge_tooltip(e):
    """The hover text of an edge: shapes; for a transfer its bytes and Send/Recv pair."""
    if e["kind"] == "control":
        return "control dependency"
    lines = [e["label"].split("\n")[0]]
    for t in e.get("transfers") or ():
        lines.append("%s: %s → %s, %s per step" % (t["tensor"], device_label(t["src_device"]),
                                                  device_label(t["dst_device"]),
                                                  format_bytes(t["bytes"])))
        if t.get("send"):
            lines.append("  via %s → %s" % (t["send"], t["recv"]))
    return "\n".join(lines)


def _build_nodes(visible, tree, overflow, colorer):
    """One node dict per visible key; returns (nodes, {visible key: node id})."""
    members = {}
    for op, key in visible.items():
        key = overflow.get(key, key)
        members.setdefault(key, []).append(op)
    times = colorer.times
    placement = colorer.placement
    nodes = []
    ids = {}
    node_times = []
    for i, (key, ops) in enumerate(members.items()):
        kind, obj = key
        nid = "n%d" % i
        ids[key] = nid
        devs = {}
        total = None
        moved = 0
        for op in ops:
            d = colorer.device_of(op)
            devs[d] = devs.get(d, 0) + 1
            t = times.get(op._name)
            if t is not None:
                total = t if total is None else total + t
            if placement is not None and op._device:
                p = placement.get(op._name)
                if p is not None and not request_satisfied(op._device, p["assigned"]):
                    moved += 1
        node = {"id": nid, "kind": kind, "count": len(ops),
                "devices": sorted(devs, key=device_sort_key), "time_us": total}
        if kind == "op":
            short = obj._name.rpartition("/")[2]
            node.update(name=obj._name, type=obj.type, cluster=_parent_cluster(key, tree),
                        send_recv=obj.type in SEND_RECV_TYPES,
                        label=short if short.startswith(obj.type) else "%s\n%s" % (short,
                                                                                   obj.type),
                        requested=obj._device, outputs=_outputs_text(obj),
                        value=_short_value(obj))
            if placement is not None:
                p = placement.get(obj._name)
                node.update(assigned=p["assigned"] if p else "", reason=p["reason"] if p else "",
                            moved=bool(moved))
        elif kind == "scope":
            node.update(name=obj, type="", cluster=_parent_cluster(key, tree),
                        send_recv=any(op.type in SEND_RECV_TYPES for op in ops),
                        label="%s\n(%s)" % (obj.rpartition("/")[2], _n_ops(len(ops))),
                        moved_count=moved)
        else:
            node.update(name="(%d more ops)" % len(ops), type="", cluster=obj, send_recv=False,
                        label="… %d more ops" % len(ops), moved_count=moved)
        real = {d: n for d, n in devs.items() if d != NOT_IN_STEP}
        if colorer.mode == "device" and len(real) > 1:
            node["device_shares"] = [
                {"device": d, "label": device_label(d) if d else "(none)", "count": n,
                 "color": colorer.device_color(d)}
                for d, n in sorted(real.items(), key=lambda kv: (-kv[1], device_sort_key(kv[0])))]
        if kind != "op" and NOT_IN_STEP in devs and real:
            node["not_in_step"] = devs[NOT_IN_STEP]
        node["_devs"] = real or devs
        nodes.append(node)
        if total is not None:
            node_times.append(total)
    colorer.prepare(node_times)
    for node in nodes:
        node["color"] = _node_color(node, colorer)
        if colorer.mode == "time" and node["time_us"] is not None:
            node["label"] += "\n" + format_duration(node["time_us"])
        del node["_devs"]
    for key, ov in overflow.items():
        ids[key] = ids[ov]
    return nodes, ids


def _node_color(node, colorer):
    mode = colorer.mode
    if mode == "type":
        return _palette_color(node["type"]) if node["kind"] == "op" else SCOPE_COLOR
    if mode == "time":
        return colorer.time_color(node["time_us"])
    devs = node["_devs"]
    if len(devs) == 1:
        return colorer.device_color(next(iter(devs)))
    return SCOPE_COLOR  # a scope spanning devices: its bar shows the split (device_shares)


def _static_bytes(t):
    """Bytes of tensor ``t`` from its static shape and dtype, or None if not fully known."""
    dims = t._shape.as_tuple()
    if dims is None or any(d is None for d in dims):
        return None
    try:
        size = t.dtype.size
    except (TypeError, AttributeError, ValueError):
        return None
    n = 1
    for d in dims:
        n *= d
    return int(n * size)


def _build_edges(ops, visible, ids, colorer, transfers=None):
    """Data and control edges between distinct visible nodes, merged per (src, dst, kind).

    A data edge is cross-device when the producer and consumer sit on two known devices and
    (given ``transfers``, the plan's own list) the plan really sends the tensor; it then
    lists each tensor once per destination device with its bytes and Send/Recv names.
    """
    edges = {}
    by_tensor = transfers_by_tensor(transfers) if transfers is not None else None
    device_mode = colorer.mode == "device" or colorer.placement is not None

    def device(op):
        if colorer.placement is not None:
            p = colorer.placement.get(op._name)
            return p["assigned"] if p is not None else ""
        return canonical_device(op._device)

    for op in ops:
        dst = ids[visible[op]]
        for t in op._inputs:
            src = ids[visible[t._op]]
            if src == dst:
                continue
            e = edges.get((src, dst, "data"))
            if e is None:
                e = edges[(src, dst, "data")] = {"source": src, "target": dst, "kind": "data",
                                                 "count": 0, "shapes": [], "cross_device": False,
                                                 "transfers": [], "bytes": None}
            e["count"] += 1
            if len(e["shapes"]) < 4:
                s = shape_str(t._shape.as_tuple())
                if s not in e["shapes"]:
                    e["shapes"].append(s)
            if not device_mode:
                continue
            a, b = device(t._op), device(op)
            if not (a and b and a != b):
                continue
            if any(x["tensor"] == t.name and x["dst_device"] == b for x in e["transfers"]):
                continue
            if by_tensor is not None:
                tr = by_tensor.get((t.name, b))
                if tr is None:
                    continue  # e.g. a folded constant: the plan moves no data
                rec = {"tensor": t.name, "src_device": canonical_device(tr["src_device"]),
                       "dst_device": b, "bytes": tr.get("bytes"), "send": tr.get("send"),
                       "recv": tr.get("recv")}
            else:
                rec = {"tensor": t.name, "src_device": a, "dst_device": b,
                       "bytes": _static_bytes(t), "send": None, "recv": None}
            e["cross_device"] = True
            e["transfers"].append(rec)
        for c in op._control_inputs:
            src = ids[visible[c]]
            if src == dst:
                continue
            e = edges.get((src, dst, "control"))
            if e is None:
                e = edges[(src, dst, "control")] = {"source": src, "target": dst,
                                                    "kind": "control", "count": 0, "shapes": [],
                                                    "cross_device": False, "transfers": [],
                                                    "bytes": None}
            e["count"] += 1
    out = []
    for e in edges.values():
        if e["kind"] == "data":
            shapes = e["shapes"]
            if e["count"] == 1:
                e["label"] = shapes[0]
            elif len(shapes) == 1:
                e["label"] = "%d× %s" % (e["count"], shapes[0])
            else:
                e["label"] = "%d tensors" % e["count"]
            if e["transfers"]:
                sizes = [x["bytes"] for x in e["transfers"]]
                e["bytes"] = sum(sizes) if all(x is not None for x in sizes) else None
                e["label"] += "\n%s/step" % format_bytes(e["bytes"])
        else:
            e["label"] = ""
        out.append(e)
    return out


# ----------------------------------------------------------------------------------------------
# Details of one node, and search
# ----------------------------------------------------------------------------------------------
def location_info(loc):
    """A SourceLocation as a dict (text, filename, lineno, function, cell, code line), or None."""
    if loc is None:
        return None
    d = loc.as_dict()
    d["text"] = str(loc)
    code = loc.code or linecache.getline(loc.filename, loc.lineno).strip()
    d["code"] = code or None
    return d


def node_details(graph, name, placement=None, step_stats=None):
    """Everything the explorer shows for op or scope ``name`` (plain JSON-able dict).

    Args:
        graph: the graph.
        name: an op name, or a scope name.
        placement, step_stats: as for :func:`graph_to_model`.

    Returns:
        For an op: kind "op", name, type, attrs ({name: short text}), inputs and outputs
        (name, dtype, shape), control_inputs, requested_device, assigned_device,
        placement_reason, location ({text, filename, lineno, function, cell, code}),
        values (one abbreviated text per output, None where not computed) and time_us.
        For a scope: kind "scope", name, count, op_types ({type: n}), devices, time_us.
        None if ``name`` is neither.
    """
    placement = _normalize_placement(placement)
    times = step_times(step_stats)
    op = graph._get_operation_by_name_unsafe(name)
    if op is not None:
        assigned, reason = _placement_of(placement, name)
        values = []
        for t in op._outputs:
            v = graph._eager_value(t)
            values.append(value_preview(v, threshold=30, edgeitems=2))
        return {
            "kind": "op", "name": op._name, "type": op.type,
            "attrs": {k: format_attr(v) for k, v in sorted(op._attrs.items())},
            "inputs": [{"name": t.name, "dtype": t.dtype.name, "shape": shape_str(
                t._shape.as_tuple())} for t in op._inputs],
            "outputs": [{"name": t.name, "dtype": t.dtype.name, "shape": shape_str(
                t._shape.as_tuple())} for t in op._outputs],
            "control_inputs": [c._name for c in op._control_inputs],
            "requested_device": op._device, "assigned_device": assigned,
            "placement_reason": reason, "location": location_info(op._location),
            "moved": bool(assigned and not request_satisfied(op._device, assigned)),
            "values": values, "time_us": times.get(name),
        }
    prefix = name + "/"
    members = [o for o in graph.get_operations() if o._name == name or
               o._name.startswith(prefix)]
    if not members or not name:
        return None
    types = {}
    devices = {}
    total = None
    for o in members:
        types[o.type] = types.get(o.type, 0) + 1
        d = _placement_of(placement, o._name)[0] or o._device
        devices[d] = devices.get(d, 0) + 1
        t = times.get(o._name)
        if t is not None:
            total = t if total is None else total + t
    return {"kind": "scope", "name": name, "count": len(members),
            "op_types": dict(sorted(types.items(), key=lambda kv: -kv[1])),
            "devices": devices, "time_us": total}


def search_ops(graph, query, limit=50):
    """Op names matching ``query``: a case-insensitive regex, or a substring if not a regex.

    Returns:
        (names of the first ``limit`` matches (all if None) in creation order, total count).
    """
    query = (query or "").strip()
    if not query:
        return [], 0
    try:
        pattern = re.compile(query, re.IGNORECASE)
        match = pattern.search
    except re.error:
        q = query.lower()

        def match(s):
            return q in s.lower()
    found = [op._name for op in graph.get_operations() if match(op._name)]
    return found[:limit], len(found)


def details_view(details):
    """Lays out :func:`node_details` output as titled sections of rows for display.

    Returns:
        ``{"title": str, "sections": [{"title": str, "rows": [[key, text]...]} or
        {"title": str, "pre": text}]}``; an empty dict for None.
    """
    if not details:
        return {}
    if details["kind"] == "scope":
        rows = [["ops", str(details["count"])]]
        if details["time_us"] is not None:
            rows.append(["time", format_duration(details["time_us"])])
        secs = [{"title": "Scope", "rows": rows},
                {"title": "Op types", "rows": [[t, str(n)] for t, n in
                                              list(details["op_types"].items())[:20]]},
                {"title": "Devices", "rows": [[d or "(none requested)", "%d ops" % n]
                                             for d, n in sorted(details["devices"].items())]}]
        return {"title": details["name"], "sections": secs}
    loc = details["location"]
    rows = [["type", details["type"]],
            ["requested device", details["requested_device"] or "(none)"],
            ["assigned device", details["assigned_device"] or "(not placed yet)"]]
    if details.get("moved"):
        rows.append(["note", "placed on another device than requested"])
    if details["placement_reason"]:
        rows.append(["placement", details["placement_reason"]])
    if details["time_us"] is not None:
        rows.append(["time", format_duration(details["time_us"])])
    if loc is not None:
        rows.append(["created at", "%s in %s" % (loc["text"], loc["function"])])
        if loc["code"]:
            rows.append(["code", loc["code"]])
    secs = [{"title": "Op", "rows": rows}]
    if details["inputs"] or details["control_inputs"]:
        secs.append({"title": "Inputs", "rows": [[t["name"], "%s %s" % (t["dtype"], t["shape"])]
                                                 for t in details["inputs"]] +
                     [["^" + c, "control"] for c in details["control_inputs"]]})
    if details["outputs"]:
        secs.append({"title": "Outputs", "rows": [[t["name"], "%s %s" % (t["dtype"], t["shape"])]
                                                  for t in details["outputs"]]})
    if details["attrs"]:
        secs.append({"title": "Attrs", "rows": [[k, v] for k, v in details["attrs"].items()]})
    for t, v in zip(details["outputs"], details["values"]):
        if v is not None:
            secs.append({"title": "Value of " + t["name"], "pre": v})
    return {"title": details["name"], "sections": secs}
