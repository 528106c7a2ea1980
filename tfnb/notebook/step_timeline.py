"""StepTimeline: the per-device op timeline of one traced step.

Trace a step, then display the timeline::

    md = tf.RunMetadata()
    sess.run(train_op, feed, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
             run_metadata=md)
    tfnb.notebook.StepTimeline(md)        # or: %%tf_trace around the cell (tfnb.notebook.magics)

Each device/thread is a lane; each executed op a box placed at its start time relative to
the step start, coloured by op type; hovering shows its name, type, device, timing, output
dtypes/shapes/bytes and the line that created it. Transfers between devices (``_Send``/
``_Recv`` or ``Send``/``Recv`` ops paired by their ``tensor_name`` attr, or by TF's
``"name = _Send(tensor @recv_device)"`` timeline label) are drawn as arrows between lanes;
a step without them simply has none.

:func:`timeline_model` turns ``StepStats`` into plain JSON (the unit-tested part);
``extension/step_timeline.js`` draws it as an anywidget in Jupyter, and :meth:`StepTimeline.to_html`
draws the same model as static SVG (kept in every output, for viewers where widgets do not load).
"""
import re
import zlib

__all__ = ["StepTimeline", "timeline_model"]

_SEND = frozenset(("_Send", "Send", "_HostSend"))
_RECV = frozenset(("_Recv", "Recv", "_HostRecv"))
# TensorFlow's timeline label of a transfer: "name = _Send(tensor_name @recv_device)".
_TRANSFER_LABEL = re.compile(r"=\s*\w+\((?P<tensor>[^@()]*?)\s*@(?P<device>[^()]*)\)\s*$")


def _short_device(name):
    """'/job:localhost/replica:0/task:0/device:CPU:0' -> 'CPU:0'; other jobs keep job and task."""
    parts = [p for p in name.split("/") if p]
    dev = [p[len("device:"):] if p.startswith("device:") else p.upper() for p in parts
           if p.startswith("device:") or p.lower().startswith(("cpu:", "gpu:"))]
    if not dev:
        return name
    job = [p for p in parts if p.startswith(("job:", "task:"))]
    if "job:localhost" in job or not any(p.startswith("job:") for p in job):
        job = []
    return "/".join(job + dev[-1:])


def _color(op_type):
    """A stable colour per op type (same in the widget and the static HTML)."""
    h = zlib.crc32(op_type.encode()) % 360
    return "hsl(%d,55%%,62%%)" % h


def _transfer_key(ns, graph_op):
    """The key that pairs a Send with its Recv, or None."""
    if graph_op is not None:
        attrs = graph_op._attrs
        name = attrs.get("tensor_name", attrs.get("key"))
        if name is not None:
            return (str(name), str(attrs.get("send_device", "")), str(attrs.get("recv_device", "")))
    m = _TRANSFER_LABEL.search(ns.timeline_label or "")
    if m:
        return (m.group("tensor"), "", m.group("device").strip())
    return None


def _output(td):
    """An output's description as JSON (a variable's handle reports a TensorShape and a DType)."""
    shape = [getattr(d, "value", d) for d in td.shape]
    dtype = getattr(td.dtype, "name", None) or str(td.dtype)
    m = re.match(r"<dtype: '(\w+)'>", dtype)
    return {"dtype": m.group(1) if m else dtype,
            "shape": [d if d is None else int(d) for d in shape], "bytes": int(td.requested_bytes)}


def _graph_op(graph, ns):
    if graph is None:
        return None
    op = graph._get_operation_by_name_unsafe(ns.node_name)
    return op if op is not None and op.type == ns.op_type else None


def timeline_model(step_stats, graph=None, title=None):
    """The timeline of ``step_stats`` as plain JSON.

    Args:
        step_stats: a ``tfnb.runtime.step_stats.StepStats`` (``run_metadata.step_stats``).
        graph: the graph that ran, for creation sites and transfer attrs (optional).
        title: a heading.

    Returns:
        ``{"title", "duration_us", "start_us", "lanes": [{"device", "short", "thread", "label"}],
        "ops": [{"lane", "name", "type", "start", "dur", "outputs", "bytes", "color",
        "location", "inputs", "details"}], "arrows": [{"src", "dst", "tensor", "bytes"}],
        "unmatched_transfers", "by_type": [{"type", "total_us", "count", "color"}]}``;
        op ``start``/``dur`` are microseconds from the step start, ``src``/``dst`` op indices.
    """
    nodes = [(d.device, ns) for d in step_stats.dev_stats for ns in d.node_stats]
    t0 = min((ns.all_start_micros for _, ns in nodes), default=0)
    t1 = max((ns.all_start_micros + max(ns.all_end_rel_micros, 0) for _, ns in nodes), default=0)
    lanes, lane_of, threads = [], {}, {}
    ops, sends, recvs, by_type = [], {}, [], {}
    for device, ns in nodes:
        key = (device, ns.thread_id)
        lane = lane_of.get(key)
        if lane is None:
            k = threads.setdefault(device, [])
            k.append(ns.thread_id)
            lane = lane_of[key] = len(lanes)
            lanes.append({"device": device, "short": _short_device(device), "thread": len(k) - 1})
        outputs = [_output(o.tensor_description) for o in ns.output]
        gop = _graph_op(graph, ns)
        dur = max(ns.all_end_rel_micros, 0)
        entry = {"lane": lane, "name": ns.node_name, "type": ns.op_type,
                 "start": ns.all_start_micros - t0, "dur": dur, "outputs": outputs,
                 "bytes": sum(o["bytes"] for o in outputs), "color": _color(ns.op_type),
                 "location": str(gop.location) if gop is not None and gop.location else None,
                 "inputs": [t.name for t in gop._inputs] if gop is not None else []}
        if ns.op_type in _SEND or ns.op_type in _RECV:
            tkey = _transfer_key(ns, gop)
            if tkey is not None:
                if ns.op_type in _SEND:
                    sends.setdefault(tkey, []).append(len(ops))
                else:
                    recvs.append((tkey, len(ops)))
        ops.append(entry)
        t = by_type.setdefault(ns.op_type, [0, 0])
        t[0] += dur
        t[1] += 1
    for lane in lanes:
        many = len(threads[lane["device"]]) > 1
        lane["label"] = lane["short"] + (" · thread %d" % lane["thread"] if many else "")
    arrows, unmatched = [], 0
    for tkey, dst in recvs:
        src = _pop_send(sends, tkey)
        if src is None:
            unmatched += 1
            continue
        arrows.append({"src": src, "dst": dst, "tensor": tkey[0], "bytes": ops[dst]["bytes"]})
    unmatched += sum(len(v) for v in sends.values())
    for op in ops:
        op["details"] = op_details(op, lanes)
    return {"title": title or "", "duration_us": t1 - t0, "start_us": t0, "lanes": lanes,
            "ops": ops, "arrows": arrows, "unmatched_transfers": unmatched,
            "by_type": [{"type": k, "total_us": v[0], "count": v[1], "color": _color(k)}
                        for k, v in sorted(by_type.items(), key=lambda kv: -kv[1][0])]}


def _pop_send(sends, tkey):
    """The first unpaired Send for ``tkey``; a Recv that knows less (no send_device) still pairs."""
    if sends.get(tkey):
        return sends[tkey].pop(0)
    for k, idx in sends.items():
        if idx and k[0] == tkey[0] and (not tkey[2] or not k[2] or k[2] == tkey[2]):
            return idx.pop(0)
    return None


_widget_class = None


def widget_class():
    """The anywidget class of the timeline (created on first use: anywidget is optional)."""
    global _widget_class
    if _widget_class is None:
        import anywidget
        import traitlets

        from .graph_draw import read_extension_file

        class StepTimelineWidget(anywidget.AnyWidget):
            _esm = read_extension_file("step_timeline.js")
            _css = read_extension_file("step_timeline.css")
            timeline = traitlets.Dict().tag(sync=True)

        _widget_class = StepTimelineWidget
    return _widget_class


class StepTimeline:
    """The op timeline of one traced ``Session.run``, per device lane.

    Args:
        run_metadata_or_step_stats: a ``tf.RunMetadata`` filled by a traced run, or its
            ``step_stats``.
        graph: the graph that ran (default: the default graph), for creation sites and the
            attrs pairing Send/Recv; ops not found in it are shown without them.
        title: a heading.

    Raises:
        ValueError: the run was not traced (no ``step_stats``).

    Example:
        >>> md = tf.RunMetadata()
        >>> sess.run(y, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
        ...          run_metadata=md)
        >>> StepTimeline(md)     # in Jupyter: the timeline widget
    """

    def __init__(self, run_metadata_or_step_stats, graph=None, title=None):
        stats = run_metadata_or_step_stats
        if hasattr(stats, "partition_graphs") or stats is None:
            stats = getattr(stats, "step_stats", None)
            if stats is None:
                raise ValueError("this RunMetadata holds no step trace: run with options="
                                 "tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)")
        if graph is None:
            from ..framework.graph import get_default_graph
            graph = get_default_graph()
        self.step_stats = stats
        self.session = None  # the session that ran the step, when known (%%tf_trace sets it)
        self.model = timeline_model(stats, graph, title)
        self._widget = None

    @property
    def ops(self):
        return self.model["ops"]

    @property
    def lanes(self):
        return self.model["lanes"]

    @property
    def arrows(self):
        return self.model["arrows"]

    def widget(self):
        """The anywidget showing this timeline (needs ``anywidget``)."""
        if self._widget is None:
            self._widget = widget_class()(timeline=self.model)
        return self._widget

    def to_html(self, width=900):
        """The timeline as static HTML/SVG (native hover tooltips, Send/Recv arrows)."""
        return to_html(self.model, width)

    def summary(self):
        m = self.model
        return "StepTimeline: %d ops on %d lanes, %.3f ms%s" % (
            len(m["ops"]), len(m["lanes"]), m["duration_us"] / 1000.0,
            ", %d transfers" % len(m["arrows"]) if m["arrows"] else "")

    def __repr__(self):
        return "<%s>" % self.summary()

    def _repr_html_(self):
        return self.to_html()

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"text/plain": repr(self), "text/html": self.to_html()}
        if _widgets_live():
            bundle = self.widget()._repr_mimebundle_()
            bundle = bundle[0] if isinstance(bundle, tuple) else bundle
            data["application/vnd.jupyter.widget-view+json"] = \
                bundle["application/vnd.jupyter.widget-view+json"]
        return data


def _widgets_live():
    """True in a Jupyter kernel with anywidget installed (widgets can render there)."""
    from .training_monitor import _importable, _in_jupyter_kernel
    return _in_jupyter_kernel() and _importable("anywidget")


# ----------------------------------------------------------------------------------------------
# Static SVG
# ----------------------------------------------------------------------------------------------
_LANE_H, _BOX_H, _LABEL_W, _AXIS_H = 24, 16, 170, 22


def _esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
                 .replace('"', "&quot;")


def _fmt_us(us):
    if us >= 1e6:
        return "%.3g s" % (us / 1e6)
    if us >= 1e3:
        return "%.3g ms" % (us / 1e3)
    return "%d µs" % us


def op_details(op, lanes):
    """The hover text of one op box (the widget shows the same text)."""
    lines = ["%s (%s)" % (op["name"], op["type"]), lanes[op["lane"]]["device"],
             "start +%s, duration %s" % (_fmt_us(op["start"]), _fmt_us(op["dur"]))]
    for i, o in enumerate(op["outputs"]):
        lines.append("output %d: %s %s, %d bytes" % (i, o["dtype"], o["shape"], o["bytes"]))
    if op["inputs"]:
        lines.append("inputs: " + ", ".join(op["inputs"][:6]) +
                     (" …" if len(op["inputs"]) > 6 else ""))
    if op["location"]:
        lines.append("created at " + op["location"])
    return "\n".join(lines)


def _ticks(total):
    if total <= 0:
        return [0]
    raw = total / 6.0
    mag = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    return [i * step for i in range(int(total // step) + 1)]


def to_html(model, width=900):
    """Static SVG of a :func:`timeline_model` (what the widget draws, without zoom)."""
    lanes, ops = model["lanes"], model["ops"]
    total = max(model["duration_us"], 1)
    plot_w = width - _LABEL_W - 10
    scale = plot_w / total
    height = _AXIS_H + _LANE_H * max(len(lanes), 1) + 6

    def x(us):
        return _LABEL_W + us * scale

    def y(lane):
        return _AXIS_H + lane * _LANE_H + (_LANE_H - _BOX_H) / 2

    parts = ['<svg width="%d" height="%d" style="font:11px sans-serif">' % (width, height),
             '<defs><marker id="tfnb-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
             'markerWidth="6" markerHeight="6" orient="auto-start-reverse">'
             '<path d="M0,0L10,5L0,10z" fill="#333"/></marker></defs>']
    for t in _ticks(total):
        parts.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#eee"/>'
                     '<text x="%.1f" y="14" text-anchor="middle" fill="#666">%s</text>'
                     % (x(t), x(t), _AXIS_H - 4, height, x(t), _fmt_us(t)))
    for i, lane in enumerate(lanes):
        parts.append('<text x="4" y="%.1f"><title>%s</title>%s</text>'
                     % (y(i) + _BOX_H - 4, _esc(lane["device"]), _esc(lane["label"])))
    for op in ops:
        parts.append('<rect x="%.2f" y="%.1f" width="%.2f" height="%d" fill="%s" stroke="#555" '
                     'stroke-width="0.3"><title>%s</title></rect>'
                     % (x(op["start"]), y(op["lane"]), max(op["dur"] * scale, 1.0), _BOX_H,
                        op["color"], _esc(op["details"])))
    for a in model["arrows"]:
        s, d = ops[a["src"]], ops[a["dst"]]
        parts.append('<path d="M%.1f,%.1f L%.1f,%.1f" stroke="#333" fill="none" '
                     'marker-end="url(#tfnb-arrow)"><title>%s (%d bytes)</title></path>'
                     % (x(s["start"] + s["dur"]), y(s["lane"]) + _BOX_H / 2,
                        x(d["start"] + d["dur"]), y(d["lane"]) + _BOX_H / 2,
                        _esc(a["tensor"]), a["bytes"]))
    parts.append("</svg>")
    rows = "".join('<tr><td><span style="background:%s">&nbsp;&nbsp;</span> %s</td>'
                   '<td style="text-align:right">%s</td><td style="text-align:right">%d</td></tr>'
                   % (t["color"], _esc(t["type"]), _fmt_us(t["total_us"]), t["count"])
                   for t in model["by_type"][:8])
    head = "<b>%s</b> " % _esc(model["title"]) if model["title"] else ""
    return ('<div class="tfnb-timeline" style="font:12px sans-serif">'
            '<div>%s%d ops, %d lanes, step %s%s</div>%s'
            '<table style="font-size:11px"><tr><th>op type</th><th>time</th><th>ops</th></tr>%s'
            '</table></div>'
            % (head, len(ops), len(lanes), _fmt_us(model["duration_us"]),
               ", %d transfers" % len(model["arrows"]) if model["arrows"] else "",
               "".join(parts), rows))
