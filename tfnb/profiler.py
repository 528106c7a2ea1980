"""Op profiles of traced steps: where the time goes, by op type, by op and by device.

Trace one or several steps, then summarize them (the equivalent of PyTorch's
``prof.key_averages().table()`` and TF's ``tfprof``)::

    md = tf.RunMetadata()
    sess.run(train_op, feed, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
             run_metadata=md)
    prof = tfnb.profiler.profile(md)            # or a list of RunMetadata / StepStats
    print(prof.table(group_by="type", row_limit=10))

    with tfnb.profiler.trace() as runs:          # every Session.run in the block is traced
        for _ in range(20):
            sess.run(train_op, feed)
    prof = tfnb.profiler.profile(runs, skip_first=1)   # leave out the warm-up step

Each row gives calls, total/mean/min/max time, the share of all op time ("% of ops") and of
the steps' wall time ("% of step"; ops on several devices run at once, so these can add up to
more than 100%), and the bytes the op's outputs hold. Durations have the tracing bias (two
clock reads and a callback per op, measured once per process) taken off, as the timeline does.

This module needs only NumPy; :meth:`OpProfile.to_dataframe` imports pandas when called, and
in Jupyter the profile displays as sortable HTML tables (``%%tf_trace --profile`` shows one).
"""
import contextlib
import time

__all__ = ["OpProfile", "profile", "trace", "trace_bias_us", "GROUPS", "COLUMNS"]

GROUPS = ("type", "op", "device")
# (key, heading, numeric) of the rows, after the group key.
COLUMNS = (("calls", "calls", True), ("total_us", "total µs", True),
           ("mean_us", "mean µs", True), ("min_us", "min µs", True), ("max_us", "max µs", True),
           ("pct_ops", "% of ops", True), ("pct_step", "% of step", True),
           ("bytes", "out bytes/call", True))
_TRANSFERS = frozenset(("_Send", "_Recv", "Send", "Recv", "_HostSend", "_HostRecv"))
_RECV_NOTE = ("A Recv's time includes waiting for its Send (the producing device's work before "
              "it), not only the copy.")
_bias = None


def trace_bias_us(repeats=3000):
    """Microseconds a traced op's measured duration includes for the tracing itself.

    Measured once per process the way a traced plan times a kernel (a clock read before the
    call, a callback that reads the clock and records the outputs after it) around a kernel
    that does nothing: the median of ``repeats`` such records.
    """
    global _bias
    if _bias is None:
        now = time.perf_counter_ns
        recs = []
        value = object()

        def rec(i, t0, outs):
            recs.append((i, t0, now(), outs))

        def kernel():
            return value
        for i in range(repeats):
            _t = now()
            v = kernel()
            rec(i, _t, (v,))
        d = sorted(r[2] - r[1] for r in recs)
        _bias = d[len(d) // 2] / 1000.0
    return _bias


def _step_stats_list(traced):
    """StepStats from a RunMetadata, a StepStats, a trace() recorder or a list of them."""
    if traced is None:
        return []
    if hasattr(traced, "run_metadata_list"):
        traced = traced.run_metadata_list
    if not isinstance(traced, (list, tuple)):
        traced = [traced]
    out = []
    for t in traced:
        stats = getattr(t, "step_stats", t) if not hasattr(t, "dev_stats") else t
        if stats is None or not hasattr(stats, "dev_stats"):
            raise ValueError("not a traced step: %r (run with options=tf.RunOptions(trace_level="
                             "tf.RunOptions.FULL_TRACE) and pass run_metadata)" % (t,))
        out.append(stats)
    return out


class OpProfile:
    """Time by op type, op and device over one or several traced steps.

    Args:
        traced: a ``RunMetadata``/``StepStats`` of a traced step, a list of them, or what
            :func:`trace` yields.
        skip_first: leave out this many first steps (warm-up: first touches, thread starts).
        subtract_bias: take the tracing's own per-op cost off each duration.

    Raises:
        ValueError: something is not a traced step, or no step is left.
    """

    def __init__(self, traced, skip_first=0, subtract_bias=True):
        steps = _step_stats_list(traced)
        if skip_first:
            steps = steps[skip_first:]
        if not steps:
            raise ValueError("no traced step to profile (skip_first=%d)" % skip_first)
        from .notebook.device_names import canonical_device
        self.bias_us = trace_bias_us() if subtract_bias else 0.0
        self.records = []  # (step, op, type, device, µs, output bytes)
        self.step_us = []
        for i, stats in enumerate(steps):
            t0, t1 = None, None
            for dev in stats.dev_stats:
                device = canonical_device(dev.device)
                for ns in dev.node_stats:
                    raw = max(ns.all_end_rel_micros, 0)
                    start = ns.all_start_micros
                    t0 = start if t0 is None else min(t0, start)
                    t1 = start + raw if t1 is None else max(t1, start + raw)
                    nbytes = sum(int(o.tensor_description.requested_bytes) for o in ns.output)
                    self.records.append((i, ns.node_name, ns.op_type, device,
                                         max(raw - self.bias_us, 0.0), nbytes))
            self.step_us.append(0 if t0 is None else t1 - t0)
        self.n_steps = len(steps)
        self.skipped = skip_first

    # --- summaries ---
    @property
    def total_op_us(self):
        """The summed duration of every op of every step."""
        return sum(r[4] for r in self.records)

    def rows(self, group_by="type", sort_by="total_us", descending=True):
        """One dict per group: the key(s), ``calls``, ``total_us``, ``mean_us``, ``min_us``,
        ``max_us``, ``pct_ops``, ``pct_step``, ``bytes`` (mean output bytes per call), and for
        ``group_by="op"`` its ``type`` and ``device``; ``transfer`` marks Send/Recv.

        Raises:
            ValueError: unknown ``group_by`` or ``sort_by``.
        """
        if group_by not in GROUPS:
            raise ValueError("group_by must be one of %s, got %r" % (", ".join(GROUPS), group_by))
        keys = [c[0] for c in COLUMNS] + [group_by]
        if sort_by not in keys:
            raise ValueError("sort_by must be one of %s, got %r" % (", ".join(keys), sort_by))
        index = {"op": 1, "type": 2, "device": 3}[group_by]
        groups = {}
        for r in self.records:
            g = groups.get(r[index])
            if g is None:
                g = groups[r[index]] = {group_by: r[index], "calls": 0, "total_us": 0.0,
                                        "min_us": None, "max_us": None, "_bytes": 0,
                                        "type": r[2], "device": r[3]}
            g["calls"] += 1
            g["total_us"] += r[4]
            g["min_us"] = r[4] if g["min_us"] is None else min(g["min_us"], r[4])
            g["max_us"] = r[4] if g["max_us"] is None else max(g["max_us"], r[4])
            g["_bytes"] += r[5]
        all_ops = self.total_op_us
        all_steps = float(sum(self.step_us))
        out = []
        for g in groups.values():
            row = {group_by: g[group_by], "calls": g["calls"], "total_us": g["total_us"],
                   "mean_us": g["total_us"] / g["calls"], "min_us": g["min_us"],
                   "max_us": g["max_us"],
                   "pct_ops": 100.0 * g["total_us"] / all_ops if all_ops else 0.0,
                   "pct_step": 100.0 * g["total_us"] / all_steps if all_steps else 0.0,
                   "bytes": g["_bytes"] / g["calls"],
                   "transfer": g["type"] in _TRANSFERS if group_by != "device" else False}
            if group_by == "op":
                row["type"] = g["type"]
                row["device"] = g["device"]
            out.append(row)
        known = sorted((r for r in out if r[sort_by] is not None), key=lambda r: r[sort_by],
                       reverse=descending)
        return known + [r for r in out if r[sort_by] is None]

    def summary(self):
        """One line: steps, mean step time, op time, the warm-up note when it matters."""
        n = self.n_steps
        mean = sum(self.step_us) / n
        text = "OpProfile: %d step%s%s, mean step %s, %d op calls taking %s" % (
            n, "" if n == 1 else "s", " (after %d skipped)" % self.skipped if self.skipped else "",
            _fmt_us(mean), len(self.records), _fmt_us(self.total_op_us))
        if n >= 3:
            rest = sorted(self.step_us[1:])
            median = rest[len(rest) // 2]
            if median and self.step_us[0] > 2 * median:
                text += "; the first step took %.1fx the others (warm-up: skip_first=1)" % (
                    self.step_us[0] / median)
        return text

    def table(self, group_by="type", sort_by="total_us", row_limit=20):
        """The summary as fixed-width text, like ``key_averages().table()``."""
        rows = self.rows(group_by, sort_by)
        key_head = {"type": "Op type", "op": "Op", "device": "Device"}[group_by]
        width = max([len(key_head)] + [len(str(r[group_by])) for r in rows[:row_limit]])
        width = min(width, 48)
        extra = group_by == "op"
        cols = "%-*s  %6s  %11s  %10s  %10s  %10s  %8s  %9s  %14s" + ("  %-14s" if extra else "")
        head_vals = [width, key_head, "Calls", "Total", "Mean", "Min", "Max", "% ops",
                     "% step", "Out bytes/call"] + (["Type"] if extra else [])
        head = cols % tuple(head_vals)
        lines = [self.summary(), "-" * len(head), head, "-" * len(head)]
        for r in rows[:row_limit]:
            name = str(r[group_by])
            if len(name) > width:
                name = "…" + name[-(width - 1):]
            vals = [width, name, r["calls"], _fmt_us(r["total_us"]), _fmt_us(r["mean_us"]),
                    _fmt_us(r["min_us"]), _fmt_us(r["max_us"]), "%.1f%%" % r["pct_ops"],
                    "%.1f%%" % r["pct_step"], _fmt_bytes(r["bytes"])]
            if extra:
                vals.append(r["type"][:14])
            lines.append(cols % tuple(vals))
        if len(rows) > row_limit:
            lines.append("… %d more (row_limit=None for all)" % (len(rows) - row_limit)
                         if row_limit is not None else "")
        lines.append("-" * len(head))
        lines.append("Op time total: %s over %d step%s; tracing bias %.2f µs per op subtracted"
                     % (_fmt_us(self.total_op_us), self.n_steps, "" if self.n_steps == 1 else "s",
                        self.bias_us))
        if any(r[2] in _TRANSFERS for r in self.records):
            lines.append(_RECV_NOTE)
        return "\n".join(lines)

    def to_dataframe(self, group_by="type", sort_by="total_us"):
        """The rows as a pandas DataFrame.

        Raises:
            ImportError: pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("OpProfile.to_dataframe() needs pandas (pip install pandas); "
                              "prof.rows() gives the same rows as dicts") from None
        return pd.DataFrame(self.rows(group_by, sort_by))

    def as_dict(self, row_limit=None):
        """Plain JSON: steps, step times, bias and the rows of each grouping."""
        return {"n_steps": self.n_steps, "skipped": self.skipped, "step_us": list(self.step_us),
                "bias_us": self.bias_us, "total_op_us": self.total_op_us,
                "summary": self.summary(),
                "by_type": self.rows("type")[:row_limit], "by_op": self.rows("op")[:row_limit],
                "by_device": self.rows("device")[:row_limit]}

    def __repr__(self):
        return "<%s>" % self.summary()

    def __str__(self):
        return self.table()

    def _repr_html_(self):
        return to_html(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.table(row_limit=15), "text/html": to_html(self)}


def profile(traced, skip_first=0, subtract_bias=True):
    """An :class:`OpProfile` of ``traced`` (see there)."""
    return OpProfile(traced, skip_first, subtract_bias)


class _Runs:
    """What :func:`trace` recorded: the RunMetadata of each traced run, in order."""

    def __init__(self):
        self.run_metadata_list = []
        self.sessions = []

    def __len__(self):
        return len(self.run_metadata_list)

    def profile(self, skip_first=0):
        return OpProfile(self, skip_first)


@contextlib.contextmanager
def trace():
    """Traces every ``Session.run`` made inside the block; yields the list of runs.

    ``BaseSession.run`` is wrapped for the block (sessions created inside it are traced too)
    and restored afterwards, also on errors; a run that already traces keeps its own
    ``run_metadata`` (and it is recorded too). Runs made through ``make_callable`` are not
    traced.
    """
    from .runtime import session as _session
    runs = _Runs()
    original = _session.BaseSession.run

    def traced_run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        if options is None or getattr(options, "trace_level", 0) < _session.RunOptions.FULL_TRACE:
            options = _session.RunOptions(
                trace_level=_session.RunOptions.FULL_TRACE,
                timeout_in_ms=getattr(options, "timeout_in_ms", 0),
                output_partition_graphs=getattr(options, "output_partition_graphs", False))
        md = run_metadata if run_metadata is not None else _session.RunMetadata()
        out = original(self, fetches, feed_dict, options, md)
        runs.run_metadata_list.append(md)
        runs.sessions.append(self)
        return out

    traced_run.__doc__ = original.__doc__
    _session.BaseSession.run = traced_run
    try:
        yield runs
    finally:
        _session.BaseSession.run = original


def _fmt_us(us):
    if us is None:
        return "-"
    if us >= 1e6:
        return "%.3f s" % (us / 1e6)
    if us >= 1e3:
        return "%.3f ms" % (us / 1e3)
    return "%.1f us" % us


def _fmt_bytes(n):
    if n is None:
        return "-"
    if n < 1024:
        return "%d B" % round(n)
    if n < 2 ** 20:
        return "%.1f KiB" % (n / 1024.0)
    return "%.1f MiB" % (n / 2.0 ** 20)


def to_html(prof, row_limit=200):
    """The profile as sortable HTML tables: by op type, by op, by device."""
    import html

    from .notebook.html_tables import sortable_table
    parts = ['<div class="tfnb-profile" style="font:12px sans-serif">',
             "<div><b>%s</b></div>" % html.escape(prof.summary())]
    for group_by, title in (("type", "By op type"), ("op", "By op"), ("device", "By device")):
        rows = prof.rows(group_by)
        key = {"type": "op type", "op": "op", "device": "device"}[group_by]
        cols = [(group_by, key, False)]
        if group_by == "op":
            cols += [("type", "type", False), ("device", "device", False)]
        cols += list(COLUMNS)
        shown = []
        for r in rows[:row_limit]:
            text = {k: _fmt_us(r[k]).replace(" us", "") for k in ("total_us", "mean_us",
                                                                  "min_us", "max_us")}
            text.update(pct_ops="%.1f%%" % r["pct_ops"], pct_step="%.1f%%" % r["pct_step"],
                        bytes=html.escape(_fmt_bytes(r["bytes"])))
            if group_by == "op":
                text["device"] = html.escape(_short_device(r["device"]))
            if group_by == "device":
                text["device"] = html.escape(_short_device(r["device"]))
            shown.append(dict(r, _text=text))
        parts.append('<div style="font-weight:bold;margin:8px 0 2px">%s (%d; click a heading '
                     'to sort)</div>' % (title, len(rows)))
        parts.append(sortable_table(cols, shown, "tfnb-profile-" + group_by,
                                    row_attrs=lambda r, k=group_by: 'data-key="%s"'
                                    % html.escape(str(r[k])), max_height=300))
    recv = (" " + _RECV_NOTE) if any(r[2] in _TRANSFERS for r in prof.records) else ""
    parts.append('<div style="color:#666;margin-top:4px">times in µs unless marked; tracing '
                 'bias %.2f µs per op subtracted; "%% of step" can pass 100%% when devices run '
                 'ops at once.%s</div></div>' % (prof.bias_us, html.escape(recv)))
    return "".join(parts)


def _short_device(name):
    prefix = "/job:localhost/replica:0/task:0/device:"
    return name[len(prefix):] if name.startswith(prefix) else name
