"""StepTimeline: the per-device op timeline of one traced step.

Trace a step, then display the timeline::

    md = tf.RunMetadata()
    sess.run(train_op, feed, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
             run_metadata=md)
    tfnb.notebook.StepTimeline(md)        # or: %%tf_trace around the cell (tfnb.notebook.magics)

Each device (canonical name; grouped by ``/job:.../task:...`` in a cluster) and executor
thread is a lane; each executed op a box placed at its start time relative to the step start,
coloured by op type and labelled with its name where the box is wide enough; hovering shows
its name, type, device, timing, output dtypes/shapes/bytes and the line that created it.
Transfers between devices are drawn as arrows from the Send's lane to the Recv's: a Send and
its Recv are paired by the tensor and the two devices, read from tfnb's trace label (parsed by
the runtime's public ``tfnb.runtime.session.parse_transfer_label``), from TF's
(``"name = _Send(tensor @recv_device)"``) or from the graph op's
``tensor_name``/``send_device``/``recv_device`` attrs.

Durations are what the instrumented plan measured around each kernel call; the tracing itself
(two clock reads and a callback per op) adds a bias that :func:`trace_bias_us` measures once per
process -- about half a microsecond -- and that the model subtracts (``raw_dur`` keeps the
measured value). The first run of a plan also pays one-time costs (BLAS thread start-up, first
touches of memory): profile several steps (:mod:`tfnb.profiler`) to see steady-state times.

:func:`timeline_model` turns ``StepStats`` into plain JSON (the unit-tested part);
``extension/step_timeline.js`` draws it as an anywidget in Jupyter (zoom, pan, labels,
tooltips fixed to the viewport), and :meth:`StepTimeline.to_html` draws the same model as static
SVG (kept in every output, for viewers where widgets do not load).
"""
import re
import zlib

from ..profiler import trace_bias_us
from ..runtime.session import parse_transfer_label
from .device_names import canonical_device, device_label, device_sort_key, task_label, task_of

__all__ = ["StepTimeline", "timeline_model", "trace_bias_us"]

_SEND = frozenset(("_Send", "Send", "_HostSend"))
_RECV = frozenset(("_Recv", "Recv", "_HostRecv"))
# TensorFlow's timeline label of a transfer: "name = _Send(tensor_name @recv_device)".
_TRANSFER_LABEL = re.compile(r"=\s*\w+\((?P<tensor>[^@()]*?)\s*@(?P<device>[^()]*)\)\s*$")


def _plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def _color(op_type):
    """A stable colour per op type (same in the widget and the static HTML)."""
    h = zlib.crc32(op_type.encode()) % 360
    return "hsl(%d,55%%,62%%)" % h


def _transfer_key(ns, graph_op, device):
    """(tensor, src device, dst device) pairing a Send with its Recv ("" where unknown)."""
    is_send = ns.op_type in _SEND
    if graph_op is not None:
        attrs = graph_op._attrs
        name = attrs.get("tensor_name", attrs.get("key"))
        if name is not None:
            return (str(name), canonical_device(str(attrs.get("send_device", ""))),
                    canonical_device(str(attrs.get("recv_device", ""))))
    label = ns.timeline_label or ""
    found = parse_transfer_label(label, device)  # tfnb's own trace
    if found is not None:
        return found[0], canonical_device(found[1]), canonical_device(found[2])
    m = _TRANSFER_LABEL.search(label)
    if m:
        recv_dev = canonical_device(m.group("device").strip())
        return (m.group("tensor"), device if is_send else "", recv_dev)
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


def _box_label(ns, tkey):
    """The text on an op's box: the last part of its name; for a transfer, what and where."""
    if tkey is not None and (ns.op_type in _SEND or ns.op_type in _RECV):
        peer = tkey[2] if ns.op_type in _SEND else tkey[1]
        arrow = "→" if ns.op_type in _SEND else "←"
        return "%s %s %s" % (tkey[0], arrow, device_label(peer) if peer else "?")
    return ns.node_name.rpartition("/")[2]


def timeline_model(step_stats, graph=None, title=None, subtract_bias=True):
    """The timeline of ``step_stats`` as plain JSON.

    Args:
        step_stats: a ``tfnb.runtime.step_stats.StepStats`` (``run_metadata.step_stats``).
        graph: the graph that ran, for creation sites and transfer attrs (optional).
        title: a heading.
        subtract_bias: take :func:`trace_bias_us` off each op's duration (``raw_dur`` keeps
            the measured one).

    Returns:
        ``{"title", "duration_us", "start_us", "trace_bias_us", "lanes": [{"device", "short",
        "task", "task_label", "thread", "label"}], "groups": [{"task", "label", "lanes"}],
        "ops": [{"lane", "name", "label", "type", "start", "dur", "raw_dur", "outputs",
        "bytes", "color", "location", "inputs", "transfer", "details"}], "arrows": [{"src",
        "dst", "tensor", "bytes", "src_lane", "dst_lane"}], "unmatched_transfers",
        "by_type": [{"type", "total_us", "count", "color"}]}``; op ``start``/``dur`` are
        microseconds from the step start, ``src``/``dst`` op indices; lanes are ordered
        task by task, device by device.
    """
    bias = trace_bias_us() if subtract_bias else 0.0
    nodes = [(canonical_device(d.device), ns) for d in step_stats.dev_stats for ns in d.node_stats]
    t0 = min((ns.all_start_micros for _, ns in nodes), default=0)
    t1 = max((ns.all_start_micros + max(ns.all_end_rel_micros, 0) for _, ns in nodes), default=0)
    # Lanes: one per (device, thread), ordered by device, then by first use of the thread.
    threads = {}
    for device, ns in nodes:
        k = threads.setdefault(device, [])
        if ns.thread_id not in k:
            k.append(ns.thread_id)
    lanes, lane_of = [], {}
    for device in sorted(threads, key=device_sort_key):
        many = len(threads[device]) > 1
        for i, tid in enumerate(threads[device]):
            lane_of[(device, tid)] = len(lanes)
            short = device_label(device)
            task = task_of(device)
            lanes.append({"device": device, "short": short, "task": task,
                          "task_label": task_label(task), "thread": i,
                          "label": short + (" · thread %d" % i if many else "")})
    groups = []
    for i, lane in enumerate(lanes):
        if not groups or groups[-1]["task"] != lane["task"]:
            groups.append({"task": lane["task"], "label": lane["task_label"] or "this process",
                           "lanes": []})
        groups[-1]["lanes"].append(i)
    ops, sends, recvs, by_type = [], {}, [], {}
    for device, ns in nodes:
        gop = _graph_op(graph, ns)
        raw = max(ns.all_end_rel_micros, 0)
        tkey = None
        transfer = None
        if ns.op_type in _SEND or ns.op_type in _RECV:
            tkey = _transfer_key(ns, gop, device)
            transfer = "send" if ns.op_type in _SEND else "recv"
        outputs = [_output(o.tensor_description) for o in ns.output]
        entry = {"lane": lane_of[(device, ns.thread_id)], "name": ns.node_name,
                 "label": _box_label(ns, tkey), "type": ns.op_type,
                 "detail": ns.timeline_label or "",  # e.g. the ops a fused kernel ran
                 "start": ns.all_start_micros - t0, "dur": max(raw - bias, 0.0), "raw_dur": raw,
                 "outputs": outputs, "bytes": sum(o["bytes"] for o in outputs),
                 "color": _color(ns.op_type), "transfer": transfer,
                 "location": str(gop.location) if gop is not None and gop.location else None,
                 "inputs": [t.name for t in gop._inputs] if gop is not None else []}
        if tkey is not None:
            if transfer == "send":
                sends.setdefault(tkey, []).append(len(ops))
            else:
                recvs.append((tkey, len(ops)))
        ops.append(entry)
        t = by_type.setdefault(ns.op_type, [0.0, 0])
        t[0] += entry["dur"]
        t[1] += 1
    arrows, unmatched = [], 0
    for tkey, dst in recvs:
        src = _pop_send(sends, tkey)
        if src is None:
            unmatched += 1
            continue
        arrows.append({"src": src, "dst": dst, "tensor": tkey[0], "bytes": ops[dst]["bytes"],
                       "src_lane": ops[src]["lane"], "dst_lane": ops[dst]["lane"]})
    unmatched += sum(len(v) for v in sends.values())
    for op in ops:
        op["details"] = op_details(op, lanes, bias)
    return {"title": title or "", "duration_us": t1 - t0, "start_us": t0, "trace_bias_us": bias,
            "lanes": lanes, "groups": groups, "ops": ops, "arrows": arrows,
            "unmatched_transfers": unmatched,
            "by_type": [{"type": k, "total_us": v[0], "count": v[1], "color": _color(k)}
                        for k, v in sorted(by_type.items(), key=lambda kv: -kv[1][0])]}


def _pop_send(sends, tkey):
    """The first unpaired Send for ``tkey``; one that knows less ("" devices) still pairs."""
    if sends.get(tkey):
        return sends[tkey].pop(0)
    for k, idx in sends.items():
        if idx and k[0] == tkey[0] and all(not a or not b or a == b
                                           for a, b in zip(k[1:], tkey[1:])):
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
        return "StepTimeline: " + _headline(self.model)

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
_LANE_H, _BOX_H, _LABEL_W, _AXIS_H, _CHAR_W = 26, 18, 170, 22, 6.2


def _headline(m):
    """'12 ops on 2 lanes, 0.310 ms, 3 transfers' (correct plurals)."""
    return "%s on %s, %.3f ms%s" % (
        _plural(len(m["ops"]), "op"), _plural(len(m["lanes"]), "lane"),
        m["duration_us"] / 1000.0,
        ", %s" % _plural(len(m["arrows"]), "transfer") if m["arrows"] else "")


def _esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
                 .replace('"', "&quot;")


def _fmt_us(us):
    if us >= 1e6:
        return "%.3g s" % (us / 1e6)
    if us >= 1e3:
        return "%.3g ms" % (us / 1e3)
    if us >= 10 or us == int(us):
        return "%d µs" % round(us)
    return "%.1f µs" % us


def op_details(op, lanes, bias=0.0):
    """The hover text of one op box (the widget shows the same text)."""
    lines = ["%s (%s)" % (op["name"], op["type"]), lanes[op["lane"]]["device"],
             "start +%s, duration %s" % (_fmt_us(op["start"]), _fmt_us(op["dur"]))]
    if bias:
        lines[-1] += " (measured %s, less %.1f µs of tracing)" % (_fmt_us(op["raw_dur"]), bias)
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


def fit_label(text, width_px, char_w=_CHAR_W):
    """``text`` as it fits in ``width_px`` (shortened with '…'), or None if nothing fits."""
    n = int((width_px - 4) // char_w)
    if n >= len(text):
        return text
    if n < 4:
        return None
    return text[:n - 1] + "…"


def _arrow_path(x0, y0, x1, y1):
    """A curve from the Send's end to the Recv's end (bends so crossing arrows stay apart)."""
    dx = max(abs(x1 - x0) * 0.5, 12.0)
    return "M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f" % (x0, y0, x0 + dx, y0, x1 - dx, y1,
                                                         x1, y1)


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
             'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
             '<path d="M0,0L10,5L0,10z" fill="#c0392b"/></marker></defs>']
    for gi, g in enumerate(model.get("groups") or ()):
        if gi % 2 == 1:
            top = _AXIS_H + g["lanes"][0] * _LANE_H
            parts.append('<rect x="0" y="%d" width="%d" height="%d" fill="#f4f6fa"/>'
                         % (top, width, len(g["lanes"]) * _LANE_H))
    for t in _ticks(total):
        parts.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#eee"/>'
                     '<text x="%.1f" y="14" text-anchor="middle" fill="#666">%s</text>'
                     % (x(t), x(t), _AXIS_H - 4, height, x(t), _fmt_us(t)))
    for i, lane in enumerate(lanes):
        parts.append('<text x="4" y="%.1f" data-lane="%d"><title>%s</title>%s</text>'
                     % (y(i) + _BOX_H - 5, i, _esc(lane["device"]), _esc(lane["label"])))
    for i, op in enumerate(ops):
        w = max(op["dur"] * scale, 1.0)
        parts.append('<rect x="%.2f" y="%.1f" width="%.2f" height="%d" fill="%s" stroke="#555" '
                     'stroke-width="0.3" data-op="%s"><title>%s</title></rect>'
                     % (x(op["start"]), y(op["lane"]), w, _BOX_H, op["color"],
                        _esc(op["name"]), _esc(op["details"])))
        text = fit_label(op["label"], w)
        if text:
            parts.append('<text x="%.2f" y="%.1f" fill="#111" pointer-events="none">%s</text>'
                         % (x(op["start"]) + 2, y(op["lane"]) + _BOX_H - 5, _esc(text)))
    for a in model["arrows"]:
        s, d = ops[a["src"]], ops[a["dst"]]
        parts.append('<path d="%s" stroke="#c0392b" stroke-width="1.5" fill="none" '
                     'marker-end="url(#tfnb-arrow)" data-tensor="%s"><title>%s (%d bytes)'
                     '</title></path>'
                     % (_arrow_path(x(s["start"] + s["dur"]), y(s["lane"]) + _BOX_H / 2,
                                    x(d["start"] + d["dur"]), y(d["lane"]) + _BOX_H / 2),
                        _esc(a["tensor"]), _esc(a["tensor"]), a["bytes"]))
    parts.append("</svg>")
    rows = "".join('<tr><td><span style="background:%s">&nbsp;&nbsp;</span> %s</td>'
                   '<td style="text-align:right">%s</td><td style="text-align:right">%d</td></tr>'
                   % (t["color"], _esc(t["type"]), _fmt_us(t["total_us"]), t["count"])
                   for t in model["by_type"][:8])
    head = "<b>%s</b> — " % _esc(model["title"]) if model["title"] else ""
    bias = model.get("trace_bias_us") or 0.0
    note = (' <span style="color:#666">(op times less %.1f µs of tracing each)</span>' % bias
            if bias else "")
    return ('<div class="tfnb-timeline" style="font:12px sans-serif">'
            '<div>%s%s, step %s%s</div>%s'
            '<table style="font-size:11px"><tr><th>op type</th><th>time</th><th>ops</th></tr>%s'
            '</table></div>'
            % (head, _headline_no_time(model), _fmt_us(model["duration_us"]), note,
               "".join(parts), rows))


def _headline_no_time(m):
    return "%s on %s%s" % (_plural(len(m["ops"]), "op"), _plural(len(m["lanes"]), "lane"),
                           ", %s" % _plural(len(m["arrows"]), "transfer") if m["arrows"] else "")
