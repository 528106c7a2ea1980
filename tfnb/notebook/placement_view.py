"""PlacementView: where each op of a step runs, why, what it costs and what crosses devices.

One call shows the placement of a set of fetches (compiling the plan if needed, so it is
not limited to the last run)::

    sess.placement_view(train_op, {x: None, y: None})   # or: %tf_placement train_op
    view = tfnb.notebook.placement_view(sess, loss, run_metadata=md)
    view.to_dataframe()                                  # op, type, requested, assigned, ...

The view draws the graph coloured by the device each op was *assigned* (one colour and one
legend entry per canonical device, grouped by ``/job:.../task:...``), outlines the ops the
placer put elsewhere than they asked (the reason on hover and click), gives scopes that span
devices a proportional bar, and draws the tensors that cross devices as red edges labelled
with their bytes per step and the Send/Recv pair that carries them. Below the drawing: the
per-device totals (ops, estimated and measured compute, bytes in and out) and a sortable
table of every op.

:func:`placement_model` is the plain-JSON part (unit-tested without a browser). In Jupyter
the view is a :class:`~tfnb.notebook.graph_explorer.GraphExplorer` with a placement panel;
elsewhere (and in every saved output) a static HTML/SVG rendering of the same model.
"""
import html
import sys

from .device_names import (canonical_device, device_colors, device_label, device_sort_key,
                           request_satisfied, task_label, task_of)
from .graph_model import MAX_NODES, format_bytes, format_duration, graph_to_model, step_times

__all__ = ["PlacementView", "placement_view", "placement_model", "session_transfers",
           "trace_transfers", "merge_transfers", "needed_placeholders", "panel_html", "COLUMNS"]

# The table's columns: (key, heading, numeric).
COLUMNS = (("op", "op", False), ("type", "type", False), ("requested", "requested", False),
           ("assigned", "assigned", False), ("reason", "reason", False),
           ("est_us", "est. µs", True), ("measured_us", "measured µs", True))
_TRANSFER_TYPES = frozenset(("_Send", "_Recv", "Send", "Recv", "_HostSend", "_HostRecv"))


# ----------------------------------------------------------------------------------------------
# Inputs: the plan's transfers, the trace's
# ----------------------------------------------------------------------------------------------
def session_transfers(session, fetches=None, feed_dict=None):
    """The tensors a step sends between devices: one dict per Send/Recv pair.

    Read from the public ``Session.placement(fetches, feed_dict, transfers=True)`` (the
    latest run's plan when ``fetches`` is None); a session without that API has none.

    Returns:
        ``[{"tensor", "src_device", "dst_device", "bytes", "send", "recv", "control"}]``
        (canonical device names; ``bytes`` estimated from the tensor's static shape, None
        when a dimension is unknown; ``control`` True for a token that only carries a
        control dependency). Empty for a one-device step.
    """
    try:
        rows = session.placement(fetches, feed_dict, transfers=True)
    except TypeError:  # a session type whose placement() has no transfers
        return []
    return [{"tensor": r["tensor"], "src_device": canonical_device(r["src_device"]),
             "dst_device": canonical_device(r["dst_device"]), "bytes": r["bytes_estimate"],
             "send": r["send"], "recv": r["recv"], "control": r["control"]} for r in rows]


def _label_transfer(ns, device):
    """(tensor, src, dst) of a traced _Send/_Recv, from the label the session gives it."""
    from ..runtime.session import parse_transfer_label
    found = parse_transfer_label(getattr(ns, "timeline_label", ""), device)
    if found is None:
        return None
    tensor, src, dst = found
    return tensor, canonical_device(src), canonical_device(dst)


def trace_transfers(step_stats):
    """The transfers a traced step made, measured: ``{(tensor, dst device): dict}``.

    Each dict has ``tensor``, ``src_device``, ``dst_device``, ``bytes`` (what the Recv
    delivered), ``send``/``recv`` (op names), ``send_us``/``recv_us`` (their durations).
    """
    step_stats = getattr(step_stats, "step_stats", step_stats)
    out = {}
    if step_stats is None:
        return out
    for dev in step_stats.dev_stats:
        device = canonical_device(dev.device)
        for ns in dev.node_stats:
            if ns.op_type not in _TRANSFER_TYPES:
                continue
            key3 = _label_transfer(ns, device)
            if key3 is None:
                continue
            tensor, src, dst = key3
            rec = out.setdefault((tensor, dst), {"tensor": tensor, "src_device": src,
                                                 "dst_device": dst, "bytes": None, "send": None,
                                                 "recv": None, "send_us": None, "recv_us": None})
            if ns.op_type.endswith("Send"):
                rec["send"], rec["send_us"] = ns.node_name, ns.all_end_rel_micros
            else:
                rec["recv"], rec["recv_us"] = ns.node_name, ns.all_end_rel_micros
                rec["bytes"] = sum(int(o.tensor_description.requested_bytes) for o in ns.output)
    return out


def _device_times(step_stats):
    """{canonical device: µs of compute} from a trace (Send/Recv time left out)."""
    step_stats = getattr(step_stats, "step_stats", step_stats)
    out = {}
    if step_stats is None:
        return out
    for dev in step_stats.dev_stats:
        d = canonical_device(dev.device)
        us = sum(max(ns.all_end_rel_micros, 0) for ns in dev.node_stats
                 if ns.op_type not in _TRANSFER_TYPES)
        out[d] = out.get(d, 0) + us
    return out


def merge_transfers(planned, traced):
    """The plan's transfers with the trace's measured bytes and names where it has them."""
    merged = []
    seen = set()
    for t in planned:
        key = (t["tensor"], t["dst_device"])
        seen.add(key)
        m = traced.get(key)
        if m is not None:
            t = dict(t, bytes=m["bytes"] if m["bytes"] is not None else t["bytes"],
                     send=t["send"] or m["send"], recv=t["recv"] or m["recv"], measured=True)
        merged.append(t)
    for key, m in traced.items():
        if key not in seen:
            merged.append(dict(m, control=m["tensor"].startswith("^"), measured=True))
    return merged


# ----------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------
def placement_model(rows, step_stats=None, transfers=None):
    """Per-device totals and the op table of a placement, as plain JSON.

    Args:
        rows: ``Session.placement()`` rows ``{op, type, requested, assigned, reason, est_us}``.
        step_stats: a StepStats/RunMetadata from a traced run (measured times), or None.
        transfers: the step's transfers (:func:`session_transfers`, possibly merged with the
            trace's by :func:`merge_transfers`), or None.

    Returns:
        ``{"devices": [{device, label, task, color, ops, est_us, measured_us, bytes_in,
        bytes_out, transfers_in, transfers_out}], "tasks": [{task, label, devices}],
        "rows": [{op, type, requested, assigned, assigned_label, reason, est_us,
        measured_us, moved, color}], "transfers": [...], "columns": [[key, heading,
        numeric]], "traced": bool, "n_moved": int}``; devices in canonical order.
    """
    times = step_times(step_stats)
    dev_times = _device_times(step_stats)
    transfers = [t for t in (transfers or ()) if not t.get("control")]
    names = [canonical_device(r["assigned"]) for r in rows]
    colors = device_colors(names + [t["src_device"] for t in transfers] +
                           [t["dst_device"] for t in transfers])
    devices = {}

    def dev_entry(d):
        e = devices.get(d)
        if e is None:
            e = devices[d] = {"device": d, "label": device_label(d), "task": task_of(d),
                              "color": colors.get(d, "#f0f0f0"), "ops": 0, "est_us": 0.0,
                              "measured_us": dev_times.get(d), "bytes_in": 0, "bytes_out": 0,
                              "transfers_in": 0, "transfers_out": 0, "unknown_bytes": 0}
        return e

    out_rows = []
    for r, d in zip(rows, names):
        e = dev_entry(d)
        e["ops"] += 1
        est = r.get("est_us")
        if est is not None:
            e["est_us"] += est
        moved = bool(r.get("requested")) and not request_satisfied(r["requested"], d)
        out_rows.append({"op": r["op"], "type": r["type"], "requested": r.get("requested") or "",
                         "assigned": d, "assigned_label": device_label(d),
                         "reason": r.get("reason") or "", "est_us": est,
                         "measured_us": times.get(r["op"]), "moved": moved,
                         "color": e["color"]})
    for t in transfers:
        src, dst = dev_entry(t["src_device"]), dev_entry(t["dst_device"])
        src["transfers_out"] += 1
        dst["transfers_in"] += 1
        if t["bytes"] is None:
            src["unknown_bytes"] += 1
            dst["unknown_bytes"] += 1
        else:
            src["bytes_out"] += t["bytes"]
            dst["bytes_in"] += t["bytes"]
    ordered = sorted(devices.values(), key=lambda e: device_sort_key(e["device"]))
    for e in ordered:
        e["est_us"] = round(e["est_us"], 3)
    tasks = []
    for e in ordered:
        if not tasks or tasks[-1]["task"] != e["task"]:
            tasks.append({"task": e["task"], "label": task_label(e["task"]) or "this process",
                          "devices": []})
        tasks[-1]["devices"].append(e["device"])
    return {"devices": ordered, "tasks": tasks, "rows": out_rows, "transfers": transfers,
            "columns": [list(c) for c in COLUMNS], "traced": bool(times),
            "n_moved": sum(r["moved"] for r in out_rows)}


# ----------------------------------------------------------------------------------------------
# Getting a placement out of a session
# ----------------------------------------------------------------------------------------------
def _flatten_fetches(graph, fetches):
    """The graph elements (tensors and ops) of a nested fetch structure."""
    out = []
    stack = [fetches]
    while stack:
        f = stack.pop()
        if isinstance(f, (list, tuple)):
            stack.extend(f)
        elif isinstance(f, dict):
            stack.extend(f.values())
        elif f is not None:
            try:
                out.append(graph.as_graph_element(f, allow_tensor=True, allow_operation=True))
            except (KeyError, ValueError, TypeError):
                continue  # the session reports bad fetches itself, with its own message
    return out


def needed_placeholders(graph, fetches):
    """The placeholders (without default) that computing ``fetches`` reads: what a step must feed.

    ``PlacementView`` treats them as fed when no ``feed_dict`` is given, so
    ``%tf_placement loss`` shows the plan of a step that feeds its inputs.
    """
    from ..runtime.plan import prune
    tensors, ops = [], []
    for el in _flatten_fetches(graph, fetches):
        if hasattr(el, "_op"):
            tensors.append(el)
        else:
            ops.append(el)
    needed = prune(tensors, ops, set())
    return [op._outputs[0] for op in needed if op.type == "Placeholder"]


def _last_trace_for(session):
    """The step trace of the last ``%%tf_trace`` run on ``session``, if it was one."""
    magics = sys.modules.get("tfnb.notebook.magics")
    tl = getattr(magics, "last_trace", None) if magics is not None else None
    if tl is not None and getattr(tl, "session", None) is session:
        return tl.step_stats
    return None


class PlacementView:
    """The placement of one step: drawing, per-device totals and the op table.

    Args:
        session: the session whose placer decides (a one-device session puts everything on
            its device).
        fetches: what the step fetches (any nesting of tensors, ops and names); None: the
            last run's plan.
        feed_dict: the fed tensors (a dict, whose values are ignored, or a list of tensors);
            None: the placeholders ``fetches`` needs (:func:`needed_placeholders`).
        run_metadata: a RunMetadata/StepStats of a traced run, for measured times and bytes
            (default: the last ``%%tf_trace`` run of this session, if any).
        expanded: scopes to draw open (None: all when the graph is small).
        max_nodes: the most nodes drawn.

    Example:
        >>> view = PlacementView(sess, loss, {x: None})
        >>> view.devices[0]["label"], view.devices[0]["ops"]
        ('CPU:0', 12)
        >>> df = view.to_dataframe()
    """

    def __init__(self, session, fetches=None, feed_dict=None, run_metadata=None, expanded=None,
                 max_nodes=MAX_NODES):
        self.session = session
        self.graph = session.graph
        if run_metadata is None:
            run_metadata = _last_trace_for(session)
        self.step_stats = getattr(run_metadata, "step_stats", run_metadata)
        if fetches is not None and feed_dict is None:
            feed_dict = needed_placeholders(self.graph, fetches)
        self.rows = session.placement(fetches, feed_dict) if fetches is not None else \
            session.placement()
        if fetches is None and not self.rows:
            raise ValueError("this session has not run anything yet: pass the fetches whose "
                             "placement to show, e.g. sess.placement_view(train_op)")
        planned = session_transfers(session, fetches, feed_dict)
        self.transfers = merge_transfers(planned, trace_transfers(self.step_stats))
        self.model = placement_model(self.rows, self.step_stats, self.transfers)
        self._expanded = expanded
        self._max_nodes = max_nodes
        self._widget = None
        self._graph_model = None

    # --- data ---
    @property
    def devices(self):
        """Per-device totals: ``[{device, label, task, ops, est_us, measured_us, bytes_in,
        bytes_out, ...}]``."""
        return self.model["devices"]

    @property
    def graph_model(self):
        """The drawing's model (:func:`~tfnb.notebook.graph_model.graph_to_model`)."""
        if self._graph_model is None:
            self._graph_model = graph_to_model(
                self.graph, expanded=self._expanded, color_by="device",
                step_stats=self.step_stats, placement=self.rows, max_nodes=self._max_nodes,
                transfers=self.transfers)
        return self._graph_model

    def table(self, sort_by="est_us", descending=True):
        """The op rows sorted by a column (``op``, ``type``, ..., ``est_us``, ``measured_us``)."""
        keys = [c[0] for c in COLUMNS]
        if sort_by not in keys:
            raise ValueError("sort_by must be one of %s, got %r" % (", ".join(keys), sort_by))
        rows = self.model["rows"]
        known = [r for r in rows if r[sort_by] is not None]
        unknown = [r for r in rows if r[sort_by] is None]
        return sorted(known, key=lambda r: r[sort_by], reverse=descending) + unknown

    def to_dataframe(self):
        """The op table as a pandas DataFrame (columns op, type, requested, assigned, reason,
        est_us, measured_us, moved).

        Raises:
            ImportError: pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("PlacementView.to_dataframe() needs pandas (pip install pandas); "
                              "view.table() gives the same rows as dicts") from None
        cols = [c[0] for c in COLUMNS] + ["moved"]
        return pd.DataFrame([[r[c] for c in cols] for r in self.model["rows"]], columns=cols)

    def summary(self):
        m = self.model
        per = ", ".join("%s %s" % (d["label"], _plural(d["ops"], "op")) for d in m["devices"])
        return "PlacementView: %s on %s (%s)%s%s" % (
            _plural(len(m["rows"]), "op"), _plural(len(m["devices"]), "device"), per,
            ", %s" % _plural(len(m["transfers"]), "transfer") if m["transfers"] else "",
            ", %d placed against the request" % m["n_moved"] if m["n_moved"] else "")

    def text(self, limit=30, sort_by="est_us"):
        """Per-device totals and the op table as plain text (for terminals and logs)."""
        lines = [self.summary(), ""]
        head = "%-28s %6s %12s %12s %11s %11s" % ("device", "ops", "est.", "measured",
                                                  "bytes in", "bytes out")
        lines += [head, "-" * len(head)]
        for d in self.devices:
            lines.append("%-28s %6d %12s %12s %11s %11s" % (
                d["label"][:28], d["ops"], format_duration(d["est_us"]),
                "-" if d["measured_us"] is None else format_duration(d["measured_us"]),
                format_bytes(d["bytes_in"]), format_bytes(d["bytes_out"])))
        lines.append("")
        head = "%-36s %-14s %-12s %-12s %9s %9s  %s" % ("op", "type", "requested", "assigned",
                                                         "est. µs", "meas. µs", "reason")
        lines += [head, "-" * len(head)]
        rows = self.table(sort_by)
        for r in rows[:limit]:
            lines.append("%-36s %-14s %-12s %-12s %9s %9s  %s" % (
                r["op"][:36], r["type"][:14], device_label(r["requested"])[:12]
                if r["requested"] else "-", r["assigned_label"][:12],
                "-" if r["est_us"] is None else "%.1f" % r["est_us"],
                "-" if r["measured_us"] is None else "%d" % r["measured_us"],
                ("* " if r["moved"] else "") + r["reason"]))
        if len(rows) > limit:
            lines.append("… %d more (view.table() or view.to_dataframe() has them all)"
                         % (len(rows) - limit))
        return "\n".join(lines)

    # --- display ---
    def widget(self):
        """The interactive view: a GraphExplorer with the placement panel (needs anywidget)."""
        if self._widget is None:
            from .graph_explorer import GraphExplorer
            self._widget = GraphExplorer(self.graph, color_by="device",
                                         run_metadata=self.step_stats, placement=self.rows,
                                         transfers=self.transfers, expanded=self._expanded,
                                         max_nodes=self._max_nodes, placement_panel=self.model)
        return self._widget

    def to_html(self, use_dot=True):
        """The static rendering: the drawing (SVG) and the two tables."""
        from .graph_draw import to_html
        return ('<div class="tfnb-placement">%s%s</div>'
                % (to_html(self.graph_model, use_dot=use_dot), panel_html(self.model)))

    def __repr__(self):
        return "<%s>" % self.summary()

    def _repr_mimebundle_(self, include=None, exclude=None):
        from .step_timeline import _widgets_live
        if _widgets_live():
            bundle = self.widget()._repr_mimebundle_()
            if bundle is not None:
                data, meta = bundle if isinstance(bundle, tuple) else (bundle, {})
                data["text/plain"] = repr(self)
                return data, meta
        return {"text/plain": self.text(), "text/html": self.to_html()}


def placement_view(session, fetches=None, feed_dict=None, run_metadata=None, **kwargs):
    """A :class:`PlacementView` of ``fetches`` on ``session`` (see there)."""
    return PlacementView(session, fetches, feed_dict, run_metadata, **kwargs)


def _plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


# ----------------------------------------------------------------------------------------------
# Static HTML of the panel (the widget's JS draws the same from the model)
# ----------------------------------------------------------------------------------------------
_CELL = 'style="padding:1px 8px;text-align:%s;white-space:nowrap"'


def _e(x):
    return html.escape(str(x))


def _swatch(color):
    return ('<span style="display:inline-block;width:10px;height:10px;background:%s;'
            'border:1px solid #888;margin-right:4px;vertical-align:middle"></span>' % _e(color))


def _num(v, fmt="%.1f"):
    return "–" if v is None else fmt % v


def panel_html(model, max_rows=400):
    """The per-device totals and the op table as static HTML (sortable where scripts run)."""
    head = "".join("<th %s>%s</th>" % (_CELL % ("right" if i else "left"), _e(h)) for i, h in
                   enumerate(["device", "ops", "est. compute", "measured compute", "bytes in",
                              "bytes out"]))
    body = []
    for task in model["tasks"]:
        if len(model["tasks"]) > 1:
            body.append('<tr><td colspan="6" style="font-weight:bold;padding-top:4px">%s</td>'
                        '</tr>' % _e(task["label"]))
        for d in model["devices"]:
            if d["device"] not in task["devices"]:
                continue
            body.append('<tr data-device="%s"><td %s title="%s">%s%s</td><td %s>%d</td>'
                        '<td %s>%s</td><td %s>%s</td><td %s>%s</td><td %s>%s</td></tr>' % (
                            _e(d["device"]), _CELL % "left", _e(d["device"]), _swatch(d["color"]),
                            _e(d["label"]), _CELL % "right", d["ops"], _CELL % "right",
                            format_duration(d["est_us"]), _CELL % "right",
                            "–" if d["measured_us"] is None else format_duration(
                                d["measured_us"]),
                            _CELL % "right", format_bytes(d["bytes_in"]), _CELL % "right",
                            format_bytes(d["bytes_out"])))
    totals = ('<table class="tfnb-placement-devices" style="border-collapse:collapse;'
              'font:12px sans-serif"><tr>%s</tr>%s</table>' % (head, "".join(body)))
    from .html_tables import sortable_table
    rows = []
    for r in model["rows"][:max_rows]:
        rows.append(dict(r, _text={
            "assigned": _swatch(r["color"]) + _e(r["assigned_label"]),
            "est_us": _num(r["est_us"], "%.1f"), "measured_us": _num(r["measured_us"], "%d")}))
    table = sortable_table(
        [tuple(c) for c in model["columns"]], rows, "tfnb-placement-ops",
        row_attrs=lambda r: 'data-op="%s"%s' % (_e(r["op"]), ' style="outline:2px solid '
                                                '#e6550d"' if r["moved"] else ""),
        max_height=320)
    more = ("<div>… %d more rows (view.to_dataframe() has them all)</div>"
            % (len(model["rows"]) - max_rows) if len(model["rows"]) > max_rows else "")
    note = ("" if model["traced"] else '<div style="color:#666">measured µs: run a step with '
            "<code>options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)</code> and pass "
            "its <code>run_metadata</code> (or run it under <code>%%tf_trace</code>)</div>")
    return ('<div class="tfnb-placement-panel" style="font:12px sans-serif;margin-top:6px">'
            '<div style="font-weight:bold;margin:4px 0">Per device</div>%s'
            '<div style="font-weight:bold;margin:6px 0 2px">Ops (%d; click a heading to sort)'
            '</div>%s%s%s</div>' % (totals, len(model["rows"]), table, more, note))
