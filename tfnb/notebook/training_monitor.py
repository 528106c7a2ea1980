"""TrainingMonitor: a progress bar with rate and ETA, and live charts of scalars.

One line in a plain training loop::

    mon = tfnb.notebook.TrainingMonitor(1000, title="softmax")
    for step in range(1000):
        _, l, a = sess.run([train_op, loss, accuracy], feed)
        mon(step, loss=l, acc=a)              # <- the one line

or let it drive the loop (as ``tqdm`` does) and log inside it::

    for step in (mon := tfnb.notebook.monitor(range(1000))):
        _, l = sess.run([train_op, loss], feed)
        mon.log(loss=l)

or hand it to code that takes a ``callback(step, loss)``: positional values are named by
``metrics`` (default ``("loss",)``), so ``train(..., callback=TrainingMonitor(n))`` works.

Several series share a chart, as runs do in TensorBoard: values logged with ``series=``
(``mon.update(step, loss=val_loss, series="validation")``) are drawn in the chart of their
metric beside the training values; ``charts={"loss": ["train_loss", "val_loss"]}`` puts
differently named metrics together. Lines are smoothed with TensorBoard's debiased exponential
moving average (``smoothing``, 0 to 0.99, adjustable in the widget, the raw values drawn
faintly behind), the y axis can be logarithmic (``log_scale``, a toggle in the widget), and
hovering a chart reads out every series at that step. The rate reads ``it/s``, or ``s/it``
when a step takes longer than a second (``unit`` renames the step).

Monitors opened while another one of the same cell is still running (nested loops: epochs
and batches, or one per replica) join its output side by side, as tqdm stacks its bars; a
finished inner monitor's place is taken by the next one.

What is shown depends on where the code runs, detected at construction:

* in a Jupyter kernel with ``anywidget`` installed: a widget (``extension/training_monitor.js``)
  with a progress bar, rate, ETA and one SVG line chart per metric, updated live while the
  loop runs in the same cell; a static HTML snapshot of the final state is kept in the output
  for viewers where widgets do not load (the monitor itself shows nothing more: a cell ending
  in a loop shows no stray value);
* elsewhere (scripts, terminal IPython, CI logs): ``tqdm`` if installed, else a text progress
  line on stderr (redrawn in place on a terminal, a line per 10% in a log file).

The monitor's state is plain JSON (:meth:`TrainingMonitor.state`), so it is testable without a
browser. Updates reach the display at most ``10/s`` (``interval``); between two of them a call
only records the values (a few microseconds), so a fast loop is not slowed down. Series sent
to the display are downsampled to at most ``max_points`` points (bucket means), while
``history`` keeps every logged value.
"""
import collections
import math
import sys
import time

__all__ = ["TrainingMonitor", "monitor"]

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#17becf")


def _in_jupyter_kernel():
    """True inside a Jupyter kernel (not terminal IPython, not a plain script)."""
    ipy = sys.modules.get("IPython")  # never import IPython just to find out
    if ipy is None:
        return False
    try:
        shell = ipy.get_ipython()
    except Exception:  # noqa: BLE001 - a broken IPython install means "not in Jupyter"
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def _importable(name):
    import importlib.util
    return importlib.util.find_spec(name) is not None


def _fmt_seconds(s):
    if s is None or not math.isfinite(s):
        return "?"
    s = int(round(s))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return "%d:%02d:%02d" % (h, m, sec) if h else "%02d:%02d" % (m, sec)


def _fmt_value(v):
    if v is None:
        return "-"
    if v != v or v in (math.inf, -math.inf):
        return str(v)
    return "%.4g" % v


def smooth(values, weight):
    """TensorBoard's smoothing: an exponential moving average, debiased at the start.

    ``s_i = (w * a_{i-1} + (1 - w) * v_i) / (1 - w**(i+1))`` with ``a`` the running average,
    so the first point is the first value (not pulled towards 0) and ``weight=0`` returns the
    values unchanged. Non-finite values are passed through and do not enter the average.
    """
    w = min(max(float(weight), 0.0), 0.999)
    out = []
    acc = 0.0
    n = 0
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(v)
            continue
        acc = acc * w + (1 - w) * v
        n += 1
        out.append(acc / (1 - w ** n) if w > 0 else v)
    return out


def nice_range(lo, hi, log=False, ticks=4):
    """(low, high, tick values) of an axis holding [lo, hi], with round tick values.

    A constant series gets a band around its value (±10%, or ±1 around 0) instead of a
    zero-height range; a logarithmic axis spans whole decades of the positive values.
    """
    if lo is None or hi is None:
        return 0.0, 1.0, [0.0, 1.0]
    if log:
        lo, hi = max(lo, 1e-300), max(hi, 1e-300)
        a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        if a == b:
            a, b = a - 1, b
        step = max(1, int(math.ceil((b - a) / ticks)))
        return 10.0 ** a, 10.0 ** b, [10.0 ** e for e in range(a, b + 1, step)]
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / ticks
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    a = math.floor(lo / step) * step
    b = math.ceil(hi / step) * step
    n = int(round((b - a) / step))
    return a, b, [a + i * step for i in range(n + 1)]


def format_rate(rate, unit="it"):
    """``12.3 it/s``, or ``4.56 s/it`` below one step per second (``?`` when unknown)."""
    if not rate:
        return "? %s/s" % unit
    if rate >= 1:
        return "%.3g %s/s" % (rate, unit)
    return "%.3g s/%s" % (1.0 / rate, unit)


class _Series:
    """One metric for display: bucket means, at most ``max_points`` buckets.

    Each bucket averages ``stride`` logged values; when the buckets outgrow ``max_points``,
    neighbours merge and ``stride`` doubles, so a long run costs O(1) per value and O(max_points)
    to send. Non-finite values are kept in ``history`` but left out of the chart.
    """

    __slots__ = ("x", "y", "stride", "acc", "cnt", "lastx", "max_points", "last", "lo", "hi",
                 "count")

    def __init__(self, max_points):
        self.max_points = max(2, int(max_points) // 2 * 2)
        self.x = []
        self.y = []
        self.stride = 1
        self.acc = 0.0
        self.cnt = 0
        self.lastx = None
        self.last = None
        self.lo = math.inf
        self.hi = -math.inf
        self.count = 0

    def extend(self, points):
        """Adds ``(step, value)`` pairs (called at display time, not per training step)."""
        isfinite = math.isfinite
        for x, v in points:
            self.last = v
            if not isfinite(v):
                continue
            if v < self.lo:
                self.lo = v
            if v > self.hi:
                self.hi = v
            self.acc += v
            self.cnt += 1
            self.lastx = x
            if self.cnt == self.stride:
                self.x.append(x)
                self.y.append(self.acc / self.cnt)
                self.acc = 0.0
                self.cnt = 0
                if len(self.x) > self.max_points:
                    self._merge()
        self.count += len(points)

    def _merge(self):
        odd = len(self.x) % 2
        if odd:  # the newest full bucket becomes half of the next, wider one
            self.lastx = self.x.pop()
            self.cnt = self.stride
            self.acc = self.y.pop() * self.stride
        xs, ys = self.x, self.y
        self.x = xs[1::2]
        self.y = [(a + b) / 2 for a, b in zip(ys[0::2], ys[1::2])]
        self.stride *= 2

    def as_dict(self):
        x, y = list(self.x), list(self.y)
        if self.cnt:  # the partial bucket, so the newest value shows at once
            x.append(self.lastx)
            y.append(self.acc / self.cnt)
        finite = self.lo <= self.hi
        return {"x": x, "y": y, "stride": self.stride, "count": self.count,
                "last": self.last if self.last is not None and math.isfinite(self.last) else None,
                "last_text": _fmt_value(self.last),
                "min": self.lo if finite else None, "max": self.hi if finite else None}


class TrainingMonitor:
    """Progress, rate, ETA and live charts of scalar metrics for a training loop.

    Args:
        total_steps: number of steps expected (None if unknown: no ETA, no percentage).
        metrics: names of the charted scalars, in display order; positional values given to
            :meth:`update` are matched to them. Other names passed as keywords are added as
            they appear. Default ``("loss",)``.
        every: record metrics only on steps divisible by ``every`` (progress counts every step).
        title: a label shown above the bar.
        interval: minimum seconds between two display updates (default 0.1, i.e. 10/s).
        max_points: most points per chart series sent to the display.
        backend: ``"auto"`` (widget in Jupyter, else tqdm, else text), ``"widget"``,
            ``"tqdm"``, ``"text"`` or ``None`` (no display, state only).
        file: stream of the text/tqdm backends (default ``sys.stderr`` at construction).
        clock: a function returning seconds (default ``time.perf_counter``; tests pass a fake).
        smoothing: TensorBoard's smoothing weight, 0 (none) to 0.99 (see :func:`smooth`).
        log_scale: draw the y axes logarithmic.
        charts: ``{chart title: [metric names]}`` drawn together in one chart each.
        unit: what a step is called in the rate (``it/s``, ``s/it``).

    Example:
        >>> mon = TrainingMonitor(3, backend=None)
        >>> for step in range(3):
        ...     mon(step, loss=1.0 / (step + 1))
        >>> mon.progress, mon.history["loss"][-1]
        (1.0, (2, 0.3333333333333333))
    """

    def __init__(self, total_steps=None, metrics=None, every=1, title=None, interval=0.1,
                 max_points=500, backend="auto", file=None, clock=None, smoothing=0.6,
                 log_scale=False, charts=None, unit="it"):
        self.total = int(total_steps) if total_steps is not None else None
        self.title = title or ""
        self.every = max(1, int(every))
        self.interval = float(interval)
        self.max_points = int(max_points)
        if not 0.0 <= float(smoothing) < 1.0:
            raise ValueError("smoothing must be in [0, 1), got %r" % (smoothing,))
        self.smoothing = float(smoothing)
        self.log_scale = bool(log_scale)
        self.unit = unit
        self._names = list(metrics) if metrics is not None else ["loss"]
        self._series = {}
        self._history = {}
        self._chart_of = {}
        self._label_of = {}
        for chart, names in (charts or {}).items():
            for name in names:
                self._chart_of[name] = chart
        for name in (metrics or ()):
            self._add_metric(name)
        self._clock = clock or time.perf_counter
        self._file = file if file is not None else sys.stderr
        self.n = 0
        self.step = None
        self.closed = False
        self._iterable = None
        self._t0 = self._clock()
        self._t_last = self._t0
        self._window = collections.deque([(self._t0, 0)], maxlen=20)
        self._next_render = self._t0
        self._display = _make_display(self, backend)

    # --- recording (the hot path) ---
    def update(self, step=None, *values, series=None, summary=None, **metrics):
        """Marks ``step`` (0-based) as done and records its metric values.

        ``mon(step, loss=l)`` is the same call.

        Args:
            step: index of the finished step (None: the one after the last).
            *values: metric values named by the constructor's ``metrics``, in order.
            series: the series these values belong to, e.g. ``"validation"``: each is drawn
                in its metric's chart as a line of its own (history key ``"SERIES/NAME"``).
            summary: a ``Summary`` (the bytes ``sess.run(merged)`` returns, or the proto): its
                scalar values are logged under their tags.
            **metrics: more metric values by name (floats, NumPy scalars, 0-d arrays).
        """
        if summary is not None:
            from .summaries import scalar_values
            metrics = dict(scalar_values(summary), **metrics)
        if series is not None:
            metrics = {self._series_key(series, k): v for k, v in metrics.items()}
        if step is None:
            step = self.n
        self.step = step
        if step >= self.n:
            self.n = step + 1
        if (values or metrics) and step % self.every == 0:
            if values:
                if len(values) > len(self._names):
                    raise TypeError("TrainingMonitor got %d positional values but knows only the "
                                    "metrics %s; name them with keywords or pass metrics=[...]"
                                    % (len(values), self._names))
                metrics.update(zip(self._names, values))
            history = self._history
            for name, v in metrics.items():
                h = history.get(name)
                if h is None:
                    h = self._add_metric(name)
                h.append((step, float(v)))
        if self.closed:
            return
        t = self._clock()
        self._t_last = t
        if self.total is not None and self.n >= self.total:
            self.close()
        elif t >= self._next_render:
            self._render(t)

    __call__ = update

    def log(self, series=None, **metrics):
        """Records metrics for the current step of an iterated monitor (see :func:`monitor`)."""
        self.update(self.step if self.step is not None else self.n, series=series, **metrics)

    def _series_key(self, series, name):
        key = "%s/%s" % (series, name)
        if key not in self._chart_of:
            self._chart_of[key] = self._chart_of.get(name, name)
            self._label_of[key] = str(series)
        return key

    def _add_metric(self, name):
        self._series[name] = _Series(self.max_points)
        h = self._history[name] = []
        if name not in self._names:
            self._names.append(name)
        return h

    def _sync(self):
        """Feeds the values logged since the last display update into the chart series."""
        for name, s in self._series.items():
            h = self._history[name]
            if s.count < len(h):
                s.extend(h[s.count:])

    # --- iteration: for step in monitor(range(n)) ---
    def __iter__(self):
        if self._iterable is None:
            raise TypeError("this TrainingMonitor wraps no iterable; use monitor(iterable)")
        try:
            for i, item in enumerate(self._iterable):
                self.step = self.n = i  # ``n`` steps are done while step ``i`` runs
                yield item
                self.update(i)
        finally:
            self.close()

    def __len__(self):
        if self.total is None:
            raise TypeError("TrainingMonitor of unknown length")
        return self.total

    # --- derived state ---
    @property
    def progress(self):
        """Fraction of ``total_steps`` done, in [0, 1] (None if the total is unknown)."""
        if self.total is None:
            return None
        return min(1.0, self.n / self.total) if self.total > 0 else 1.0

    @property
    def elapsed(self):
        """Seconds since the monitor was created (until it closed)."""
        return self._t_last - self._t0

    @property
    def rate(self):
        """Steps per second over the last couple of seconds (the whole run if shorter)."""
        t_old, n_old = self._window[0]
        dt = self._t_last - t_old
        if dt <= 0 or self.n == n_old:
            dt, dn = self._t_last - self._t0, self.n
        else:
            dn = self.n - n_old
        return dn / dt if dt > 0 else None

    @property
    def eta(self):
        """Estimated seconds to finish (None if unknown)."""
        if self.total is None:
            return None
        if self.n >= self.total:
            return 0.0
        r = self.rate
        return (self.total - self.n) / r if r else None

    @property
    def history(self):
        """Every recorded value: ``{metric: [(step, value), ...]}``."""
        return self._history

    @property
    def metrics(self):
        """Names of the metrics, in display order."""
        return list(self._series)

    def state(self):
        """The display model as plain JSON: progress, rate, ETA and a series per metric."""
        self._sync()
        rate = self.rate
        eta = self.eta
        series = self._series
        return {
            "title": self.title, "n": self.n, "total": self.total, "progress": self.progress,
            "rate": rate, "eta": eta, "elapsed": self.elapsed, "done": self.closed,
            "rate_text": format_rate(rate, self.unit), "unit": self.unit,
            "eta_text": _fmt_seconds(eta), "elapsed_text": _fmt_seconds(self.elapsed),
            "smoothing": self.smoothing, "log_scale": self.log_scale,
            "metrics": [dict(series[name].as_dict(), name=name,
                             chart=self._chart_of.get(name, name),
                             label=self._label_of.get(name, name),
                             color=_PALETTE[i % len(_PALETTE)])
                        for i, name in enumerate(self._names) if name in series],
            "charts": self._charts(),
        }

    def _charts(self):
        """[{"name": chart, "series": [indices into state()["metrics"]]}], in first-use order."""
        charts = {}
        shown = [n for n in self._names if n in self._series]
        for i, name in enumerate(shown):
            charts.setdefault(self._chart_of.get(name, name), []).append(i)
        return [{"name": c, "series": idx} for c, idx in charts.items()]

    def summary(self):
        """One line: ``title  45% 450/1000 [00:03<00:04, 130 it/s] loss=0.31``."""
        head = "%s: " % self.title if self.title else ""
        pct = "" if self.total is None else "%3.0f%% " % (100 * self.progress)
        of = "%d/%d" % (self.n, self.total) if self.total is not None else "%d" % self.n
        self._sync()
        rate = self.rate
        timing = " [%s<%s, %s]" % (_fmt_seconds(self.elapsed), _fmt_seconds(self.eta),
                                    format_rate(rate, self.unit))
        vals = "".join(" %s=%s" % (k, _fmt_value(s.last)) for k, s in self._series.items()
                       if s.last is not None)
        return head + pct + of + timing + vals

    # --- display ---
    def _render(self, t):
        self._window.append((t, self.n))
        self._next_render = t + self.interval
        if self._display is not None:
            self._display.render()

    def close(self):
        """Final display update; later updates still record but no longer redraw."""
        if self.closed:
            return
        self.closed = True
        self._t_last = self._clock()
        self._window.append((self._t_last, self.n))
        self._next_render = math.inf
        if self._display is not None:
            self._display.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return "<TrainingMonitor %s>" % self.summary()

    def _repr_html_(self):
        return to_html(self.state())


def monitor(iterable, total=None, **kwargs):
    """A :class:`TrainingMonitor` that iterates over ``iterable`` and counts its steps.

    Example:
        >>> for step in (mon := monitor(range(100), backend=None)):
        ...     mon.log(loss=1.0 / (step + 1))
        >>> mon.n
        100
    """
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    mon = TrainingMonitor(total, **kwargs)
    mon._iterable = iterable
    return mon


# ----------------------------------------------------------------------------------------------
# Display backends: widget (Jupyter), tqdm, text
# ----------------------------------------------------------------------------------------------
def _make_display(mon, backend):
    if backend == "auto":
        if _in_jupyter_kernel() and _importable("anywidget"):
            backend = "widget"
        elif _importable("tqdm"):
            backend = "tqdm"
        else:
            backend = "text"
    if backend is None:
        return None
    if backend == "widget":
        return _WidgetDisplay(mon)
    if backend == "tqdm":
        return _TqdmDisplay(mon)
    if backend == "text":
        return _TextDisplay(mon)
    raise ValueError("backend must be 'auto', 'widget', 'tqdm', 'text' or None, got %r"
                     % (backend,))


_widget_class = None


def widget_class():
    """The anywidget class of the monitor (created on first use: anywidget is optional)."""
    global _widget_class
    if _widget_class is None:
        import anywidget
        import traitlets

        from .graph_draw import read_extension_file

        class TrainingMonitorWidget(anywidget.AnyWidget):
            _esm = read_extension_file("training_monitor.js")
            _css = read_extension_file("training_monitor.css")
            monitors = traitlets.List(traitlets.Dict()).tag(sync=True)

        _widget_class = TrainingMonitorWidget
    return _widget_class


class _Board:
    """One output showing one or more monitors side by side (nested loops, replicas).

    A monitor opened while a board of the same cell still shows a running monitor joins
    that board; it takes the place of a finished monitor other than the first (the inner
    loop of the previous epoch), else a new place. A board whose monitors have all finished
    takes no more.
    """

    current = None

    def __init__(self):
        self.widget = widget_class()(monitors=[])
        self.slots = []
        self.cell = _execution_count()
        self.handle = None
        if _in_jupyter_kernel():
            from IPython.display import display
            self.handle = display(_Bundle(self), display_id=True)

    @classmethod
    def join(cls, mon):
        """The board ``mon`` shows on (a new one if none of this cell is running)."""
        board = cls.current
        if board is None or board.cell is None or board.cell != _execution_count() or \
                all(m.closed for m in board.slots):
            board = cls.current = _Board()
        for i, m in enumerate(board.slots):
            if i > 0 and m.closed:
                board.slots[i] = mon
                break
        else:
            board.slots.append(mon)
        return board

    def states(self):
        return [dict(m.state(), position=i) for i, m in enumerate(self.slots)]

    def bundle(self):
        data = self.widget._repr_mimebundle_()
        if isinstance(data, tuple):
            data = data[0]
        data = dict(data)
        data["text/plain"] = "\n".join(m.summary() for m in self.slots)
        data["text/html"] = '<div style="display:flex;flex-wrap:wrap;gap:16px">%s</div>' % (
            "".join(to_html(st) for st in self.states()))
        return data

    def render(self):
        self.widget.monitors = self.states()

    def finish(self):
        """The last redraw, and a static snapshot kept in the output once all are done."""
        self.render()
        if self.handle is not None and all(m.closed for m in self.slots):
            self.handle.update(_Bundle(self))


class _WidgetDisplay:
    """A monitor's place on a :class:`_Board`."""

    def __init__(self, mon):
        self.mon = mon
        self.board = _Board.join(mon)
        self.widget = self.board.widget

    def bundle(self):
        return self.board.bundle()

    def render(self):
        self.board.render()

    def close(self):
        self.board.finish()


def _execution_count():
    """The number of the running cell (None outside IPython)."""
    ipy = sys.modules.get("IPython")
    try:
        shell = ipy.get_ipython() if ipy is not None else None
    except Exception:  # noqa: BLE001
        shell = None
    return getattr(shell, "execution_count", None)


class _Bundle:
    __slots__ = ("display",)

    def __init__(self, display):
        self.display = display

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.display.bundle()


class _TqdmDisplay:
    def __init__(self, mon):
        if _in_jupyter_kernel() and _importable("ipywidgets"):  # tqdm's notebook bar needs it
            from tqdm.notebook import tqdm
        else:
            from tqdm import tqdm
        self.mon = mon
        self.bar = tqdm(total=mon.total, desc=mon.title or None, file=mon._file, unit=mon.unit,
                        mininterval=0, dynamic_ncols=True)

    def render(self):
        mon = self.mon
        mon._sync()
        post = ", ".join("%s=%s" % (k, _fmt_value(s.last)) for k, s in mon._series.items()
                         if s.last is not None)
        self.bar.set_postfix_str(post, refresh=False)
        self.bar.update(mon.n - self.bar.n)

    def close(self):
        self.render()
        self.bar.close()


class _TextDisplay:
    """A progress line on ``file``: redrawn in place on a terminal, else a line per 10%."""

    def __init__(self, mon):
        self.mon = mon
        self.file = mon._file
        isatty = getattr(self.file, "isatty", None)
        self.tty = bool(isatty and isatty())
        self.width = 0
        self.printed_decile = -1
        self.next_log = 0.0

    def render(self):
        mon = self.mon
        if self.tty:
            line = mon.summary()
            self.file.write("\r" + line.ljust(self.width))
            self.width = len(line)
            self.file.flush()
            return
        if mon.total:
            decile = int(10 * mon.n / mon.total)
            if decile <= self.printed_decile:
                return
            self.printed_decile = decile
        elif mon._t_last < self.next_log:  # unknown total: a line every 30 s
            return
        else:
            self.next_log = mon._t_last + 30.0
        self.file.write(mon.summary() + "\n")
        self.file.flush()

    def close(self):
        if self.tty:
            self.render()
            self.file.write("\n")
        else:
            self.file.write(self.mon.summary() + "\n")
        self.file.flush()


# ----------------------------------------------------------------------------------------------
# Static HTML (the fallback where widgets do not load; also TrainingMonitor._repr_html_)
# ----------------------------------------------------------------------------------------------
def _esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
                 .replace('"', "&quot;")


def _axis_text(v):
    a = abs(v)
    if a != 0 and (a < 1e-3 or a >= 1e5):
        return "%.1e" % v
    return "%.4g" % v


def chart_model(state, chart, width=320, height=130):
    """The drawing of one chart of a monitor state: axes, ticks and, per series, the raw and
    the smoothed polyline (pixel coordinates). The widget draws the same, live."""
    pad_l, pad_r, pad_t, pad_b = 46, 8, 20, 20
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    series = [state["metrics"][i] for i in chart["series"]]
    log = state.get("log_scale", False)
    weight = state.get("smoothing", 0.0)
    xs_all = [x for m in series for x in m["x"]]
    lo = [v for m in series for v in m["y"] if not log or v > 0]
    out = {"name": chart["name"], "width": width, "height": height, "lines": [], "yticks": [],
           "x0": None, "x1": None, "log": log, "pad": [pad_l, pad_r, pad_t, pad_b]}
    if not xs_all or not lo:
        return out
    y0, y1, ticks = nice_range(min(lo), max(lo), log=log)
    x0, x1 = min(xs_all), max(max(xs_all), min(xs_all) + 1)
    f = math.log10 if log else float

    def sx(x):
        return pad_l + w * (x - x0) / (x1 - x0)

    def sy(y):
        return pad_t + h * (1 - (f(y) - f(y0)) / (f(y1) - f(y0)))

    out.update(x0=x0, x1=x1, y0=y0, y1=y1,
               yticks=[[sy(t), _axis_text(t)] for t in ticks])
    for m in series:
        pts = [(x, y) for x, y in zip(m["x"], m["y"]) if not log or y > 0]
        sm = smooth([y for _, y in pts], weight)
        out["lines"].append({
            "label": m["label"], "color": m["color"], "last_text": m["last_text"],
            "raw": " ".join("%.1f,%.1f" % (sx(x), sy(y)) for x, y in pts),
            "smooth": " ".join("%.1f,%.1f" % (sx(x), sy(y)) for (x, _), y in zip(pts, sm))})
    return out


def _chart_svg(state, chart, width=320, height=130):
    c = chart_model(state, chart, width, height)
    pad_l, pad_r, pad_t, pad_b = c["pad"]
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    lines = c["lines"]
    last = lines[0]["last_text"] if len(lines) == 1 else ""
    parts = ['<svg width="%d" height="%d" style="font:10px sans-serif" class="tfnb-monitor-chart">'
             % (width, height),
             '<text x="%d" y="12" font-weight="bold">%s%s</text>'
             % (pad_l, _esc(c["name"]), " (log)" if c["log"] else ""),
             '<text x="%d" y="12" text-anchor="end">%s</text>'
             % (width - pad_r, _esc("last " + last) if last else "")]
    for y, text in c["yticks"]:
        parts.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/>'
                     '<text x="%d" y="%.1f" text-anchor="end" fill="#555">%s</text>'
                     % (pad_l, pad_l + w, y, y, pad_l - 4, y + 3, _esc(text)))
    for ln in lines:
        if ln["raw"] and ln["smooth"] != ln["raw"]:
            parts.append('<polyline fill="none" stroke="%s" stroke-opacity="0.3" '
                         'stroke-width="1" points="%s"/>' % (ln["color"], ln["raw"]))
        parts.append('<polyline fill="none" stroke="%s" stroke-width="1.6" points="%s"/>'
                     % (ln["color"], ln["smooth"]))
    if c["x0"] is not None:
        parts.append('<text x="%d" y="%d" fill="#555">step %s</text><text x="%d" y="%d" '
                     'text-anchor="end" fill="#555">%s</text>'
                     % (pad_l, height - 4, c["x0"], width - pad_r, height - 4, c["x1"]))
    if len(lines) > 1:
        for i, ln in enumerate(lines):
            parts.append('<text x="%d" y="%d" fill="%s">%s %s</text>'
                         % (pad_l + 4, pad_t + 10 + 11 * i, ln["color"], _esc(ln["label"]),
                            _esc(ln["last_text"])))
    parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#ccc"/></svg>'
                 % (pad_l, pad_t, w, h))
    return "".join(parts)


def to_html(state):
    """A static HTML rendering of :meth:`TrainingMonitor.state` (progress bar + SVG charts)."""
    pct = 100 * (state["progress"] or 0)
    of = "%d/%s" % (state["n"], state["total"] if state["total"] is not None else "?")
    info = "%s &middot; %s &middot; elapsed %s &middot; ETA %s" % (
        of, _esc(state["rate_text"]), state["elapsed_text"], state["eta_text"])
    if state.get("smoothing"):
        info += " &middot; smoothing %.2f" % state["smoothing"]
    bar_color = "#2ca02c" if state["done"] else "#1f77b4"
    head = "<b>%s</b> " % _esc(state["title"]) if state["title"] else ""
    charts = state.get("charts") or [{"name": m["name"], "series": [i]}
                                     for i, m in enumerate(state["metrics"])]
    return ('<div class="tfnb-monitor" style="font:12px sans-serif">'
            '<div>%s%s</div>'
            '<div style="background:#eee;width:100%%;max-width:660px;height:10px;'
            'border-radius:3px">'
            '<div style="background:%s;width:%.1f%%;height:10px;border-radius:3px"></div></div>'
            '<div style="display:flex;flex-wrap:wrap">%s</div></div>'
            % (head, info, bar_color, pct, "".join(_chart_svg(state, c) for c in charts)))
