"""SummaryViewer: what ``tf.summary`` ops produce, rendered in the notebook (no TensorBoard).

From a logdir (every run under it, side by side, as TensorBoard shows them) or from summaries
fetched in the loop::

    SummaryViewer("/tmp/logs")                 # or: %tf_summaries /tmp/logs
    viewer = SummaryViewer()
    viewer.add(sess.run(merged), step)         # a Summary protobuf (bytes) from a merged op

Scalars are charted per tag with the runs overlaid and TensorBoard's smoothing; histograms get
TensorBoard's two views, the distribution (bands between percentiles over steps) and the
histogram (one outline per step, later steps in front); images and audio clips have a step
slider; text is listed by step. ``viewer.watch()`` tails the event files while training writes
them (a background thread reads the records added since the last look); the files themselves
are left as TensorBoard reads them.

:class:`SummaryData` parses summaries into plain JSON (:meth:`SummaryData.model`, unit-tested
without a browser); ``extension/summary_viewer.js`` draws it as an anywidget, and
:func:`to_html` draws the same model as static HTML for viewers where widgets do not load.
"""
import base64
import html
import math
import os
import struct
import threading

from ..summary import protos

__all__ = ["SummaryData", "SummaryViewer", "LogdirReader", "to_html", "scalar_values",
           "PERCENTILES"]

# TensorBoard's distribution view: these basis points of each step's histogram (the bands
# between 0-100, 7-93, 16-84 and 31-69 percent, and the median).
PERCENTILES = (0, 668, 1587, 3085, 5000, 6915, 8413, 9332, 10000)
KINDS = ("scalars", "histograms", "images", "audio", "text")
_PLUGIN_KIND = {"scalars": "scalars", "histograms": "histograms", "images": "images",
                "audio": "audio", "text": "text"}


def _summary_proto(summary):
    """A tensorboardX ``Summary`` from bytes (a fetched merged summary) or a proto."""
    if isinstance(summary, (bytes, bytearray)):
        return protos.load().summary_pb2.Summary.FromString(bytes(summary))
    if hasattr(summary, "tobytes") and not hasattr(summary, "value"):  # a 0-d object array
        return _summary_proto(summary.item() if getattr(summary, "ndim", 1) == 0 else
                              summary.tobytes())
    return summary


def _tensor_text(t):
    """The strings of a TensorProto of dtype string (a text summary), joined by newlines."""
    return "\n".join(s.decode("utf-8", "replace") for s in t.string_val)


def _tensor_scalar(t):
    """A float from a rank-0 numeric TensorProto, or None."""
    for field in ("float_val", "double_val", "int_val", "int64_val"):
        vals = getattr(t, field)
        if len(vals) == 1:
            return float(vals[0])
    if t.tensor_content and t.dtype in (1, 2):  # DT_FLOAT, DT_DOUBLE
        fmt = "<f" if t.dtype == 1 else "<d"
        if len(t.tensor_content) == struct.calcsize(fmt):
            return float(struct.unpack(fmt, t.tensor_content)[0])
    return None


def scalar_values(summary):
    """{tag: float} of the scalar values of a ``Summary`` (proto or bytes), in order."""
    out = {}
    for v in _summary_proto(summary).value:
        kind = v.WhichOneof("value")
        if kind == "simple_value":
            out[v.tag] = float(v.simple_value)
        elif kind == "tensor" and v.tensor.dtype != 7:
            x = _tensor_scalar(v.tensor)
            if x is not None:
                out[v.tag] = x
    return out


def percentiles(limits, counts, lo, hi, basis=PERCENTILES):
    """Values at the given basis points of a histogram (TensorBoard's interpolation).

    ``limits[i]`` is the right edge of bucket ``i`` (its left edge the previous limit, or
    ``lo``); within a bucket, values are taken as evenly spread.
    """
    total = float(sum(counts))
    if total <= 0:
        return [0.0] * len(basis)
    out = []
    edges = [lo] + [min(max(x, lo), hi) for x in limits[:-1]] + [hi]
    for bp in basis:
        target = total * bp / 10000.0
        acc = 0.0
        value = hi
        for i, c in enumerate(counts):
            if c and acc + c >= target:
                left, right = edges[i], edges[i + 1]
                frac = (target - acc) / c
                value = left + (right - left) * frac
                break
            acc += c
        out.append(min(max(value, lo), hi))
    return out


def rebin(limits, counts, lo, hi, edges):
    """A histogram's counts spread over new bucket ``edges`` (proportionally to overlap)."""
    out = [0.0] * (len(edges) - 1)
    prev = lo
    for limit, c in zip(limits, counts):
        left, right = prev, min(max(limit, lo), hi)
        prev = right
        if not c:
            continue
        width = right - left
        for j in range(len(out)):
            a, b = max(left, edges[j]), min(right, edges[j + 1])
            if width <= 0:
                if edges[j] <= left <= edges[j + 1]:
                    out[j] += c
                    break
            elif b > a:
                out[j] += c * (b - a) / width
    return out


class SummaryData:
    """Summaries parsed by kind, tag and run: what the viewer draws.

    ``scalars[tag][run]`` is a list of ``(step, wall_time, value)``, ``histograms[tag][run]``
    of ``{step, min, max, num, sum, limits, counts}``, ``images``/``audio`` of
    ``{step, width, height | sample_rate, mime, data (base64)}``, ``text`` of ``{step, text}``.
    """

    def __init__(self):
        self.runs = []
        self.data = {k: {} for k in KINDS}
        self._plugin = {}  # tag -> plugin name (only the first value of a tag carries it)
        self.version = 0

    def _put(self, kind, tag, run, item):
        if run not in self.runs:
            self.runs.append(run)
        self.data[kind].setdefault(tag, {}).setdefault(run, []).append(item)
        self.version += 1

    def add(self, summary, step=0, run=".", wall_time=None):
        """Adds the values of one ``Summary`` (a proto, or the bytes a summary op returns)."""
        summary = _summary_proto(summary)
        step = int(step or 0)
        for v in summary.value:
            plugin = v.metadata.plugin_data.plugin_name if v.HasField("metadata") else ""
            if plugin:
                self._plugin[v.tag] = plugin
            plugin = self._plugin.get(v.tag, "")
            kind = v.WhichOneof("value")
            if kind == "simple_value":
                self._put("scalars", v.tag, run, (step, wall_time, float(v.simple_value)))
            elif kind == "histo":
                h = v.histo
                self._put("histograms", v.tag, run, {
                    "step": step, "min": h.min, "max": h.max, "num": h.num, "sum": h.sum,
                    "limits": list(h.bucket_limit), "counts": list(h.bucket)})
            elif kind == "image":
                im = v.image
                self._put("images", _base_tag(v.tag, "image"), run, {
                    "step": step, "width": im.width, "height": im.height,
                    "mime": _image_mime(im.encoded_image_string),
                    "data": base64.b64encode(im.encoded_image_string).decode("ascii"),
                    "tag": v.tag})
            elif kind == "audio":
                a = v.audio
                self._put("audio", _base_tag(v.tag, "audio"), run, {
                    "step": step, "sample_rate": a.sample_rate,
                    "mime": a.content_type or "audio/wav",
                    "data": base64.b64encode(a.encoded_audio_string).decode("ascii"),
                    "tag": v.tag})
            elif kind == "tensor":
                t = v.tensor
                if plugin == "text" or t.dtype == 7:  # DT_STRING
                    self._put("text", v.tag, run, {"step": step, "text": _tensor_text(t)})
                else:
                    x = _tensor_scalar(t)
                    if x is not None:
                        self._put("scalars", v.tag, run, (step, wall_time, x))

    def add_event(self, event, run="."):
        """Adds an ``Event`` proto (only its summary; graphs and session logs are skipped)."""
        if event.WhichOneof("what") == "summary":
            self.add(event.summary, event.step, run, event.wall_time)

    def tags(self, kind):
        return list(self.data[kind])

    def model(self, max_points=1000, max_samples=10, hist_bins=30):
        """The viewer's plain-JSON model (see the module docstring)."""
        runs = list(self.runs)
        colors = {r: _RUN_COLORS[i % len(_RUN_COLORS)] for i, r in enumerate(runs)}
        out = {"runs": [{"name": r, "color": colors[r]} for r in runs], "version": self.version,
               "scalars": [], "histograms": [], "images": [], "audio": [], "text": []}
        for tag, by_run in self.data["scalars"].items():
            series = []
            for run, pts in by_run.items():
                pts = sorted(pts, key=lambda p: p[0])
                stride = max(1, int(math.ceil(len(pts) / float(max_points))))
                pts = pts[::stride]
                series.append({"run": run, "color": colors[run], "steps": [p[0] for p in pts],
                               "values": [p[2] if math.isfinite(p[2]) else None for p in pts]})
            out["scalars"].append({"tag": tag, "series": series})
        for tag, by_run in self.data["histograms"].items():
            for run, hs in by_run.items():
                out["histograms"].append(_histogram_model(tag, run, colors[run], hs, hist_bins))
        for kind in ("images", "audio"):
            for tag, by_run in self.data[kind].items():
                for run, items in by_run.items():
                    out[kind].append({"tag": tag, "run": run, "items": items[-max_samples:],
                                      "count": len(items)})
        for tag, by_run in self.data["text"].items():
            for run, items in by_run.items():
                out["text"].append({"tag": tag, "run": run, "items": items[-max_samples:]})
        return out


_RUN_COLORS = ("#e8710a", "#1a73e8", "#12b5cb", "#e52592", "#f9ab00", "#9334e6", "#7cb342",
               "#425066")


def _base_tag(tag, kind):
    """``img/image/0`` -> ``img`` (TF1 names one value per image of a batch)."""
    parts = tag.rsplit("/", 2)
    if len(parts) == 3 and parts[1] == kind and parts[2].isdigit():
        return parts[0]
    return tag


def _image_mime(data):
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:3] == b"GIF":
        return "image/gif"
    if data[:2] == b"\xff\xd8":
        return "image/jpeg"
    return "image/png"


def _histogram_model(tag, run, color, hs, bins):
    hs = sorted(hs, key=lambda h: h["step"])
    lo = min((h["min"] for h in hs if h["num"]), default=0.0)
    hi = max((h["max"] for h in hs if h["num"]), default=1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = [lo + (hi - lo) * i / bins for i in range(bins + 1)]
    dist = []
    curves = []
    for h in hs:
        if not h["num"]:
            continue
        dist.append({"step": h["step"], "values": percentiles(h["limits"], h["counts"],
                                                              h["min"], h["max"])})
        curves.append({"step": h["step"], "counts": rebin(h["limits"], h["counts"], h["min"],
                                                          h["max"], edges)})
    return {"tag": tag, "run": run, "color": color, "min": lo, "max": hi, "edges": edges,
            "basis_points": list(PERCENTILES), "distribution": dist, "histogram": curves}


# ----------------------------------------------------------------------------------------------
# Reading event files, also while they grow
# ----------------------------------------------------------------------------------------------
class LogdirReader:
    """Reads the event files under a logdir incrementally: each :meth:`poll` adds the records
    written since the previous one (a partly written last record waits for the next poll).

    A run is the folder of an event file, relative to the logdir (``"."`` for the logdir).
    """

    def __init__(self, logdir, data=None):
        self.logdir = logdir
        self.data = data if data is not None else SummaryData()
        self._offsets = {}
        self._lock = threading.Lock()

    def files(self):
        found = []
        for root, _, names in os.walk(self.logdir):
            for n in sorted(names):
                if "tfevents" in n:
                    run = os.path.relpath(root, self.logdir)
                    found.append((run, os.path.join(root, n)))
        return sorted(found)

    def poll(self):
        """Reads what is new; returns the number of events read."""
        if not os.path.isdir(self.logdir):
            raise FileNotFoundError("no such logdir: %s" % self.logdir)
        event_cls = protos.load().event_pb2.Event
        masked_crc = protos.load().masked_crc32c
        n = 0
        with self._lock:
            for run, path in self.files():
                offset = self._offsets.get(path, 0)
                with open(path, "rb") as f:
                    f.seek(offset)
                    while True:
                        header = f.read(12)
                        if len(header) < 12:
                            break
                        length, length_crc = struct.unpack("<QI", header)
                        if masked_crc(header[:8]) != length_crc:
                            break  # torn or corrupt: stop at the last good record
                        body = f.read(length + 4)
                        if len(body) < length + 4:
                            break  # still being written
                        data = body[:length]
                        if masked_crc(data) != struct.unpack("<I", body[length:])[0]:
                            break
                        offset += 16 + length
                        self.data.add_event(event_cls.FromString(data), run)
                        n += 1
                self._offsets[path] = offset
        return n


# ----------------------------------------------------------------------------------------------
# The viewer
# ----------------------------------------------------------------------------------------------
_widget_class = None


def widget_class():
    """The anywidget class of the viewer (created on first use: anywidget is optional)."""
    global _widget_class
    if _widget_class is None:
        import anywidget
        import traitlets

        from .graph_draw import read_extension_file

        class SummaryViewerWidget(anywidget.AnyWidget):
            _esm = read_extension_file("summary_viewer.js")
            _css = read_extension_file("summary_viewer.css")
            summaries = traitlets.Dict().tag(sync=True)
            smoothing = traitlets.Float(0.6).tag(sync=True)

        _widget_class = SummaryViewerWidget
    return _widget_class


class SummaryViewer:
    """Scalars, histograms, images, audio and text of ``tf.summary`` ops, in the notebook.

    Args:
        logdir: a folder of event files (every run under it); None to fill the viewer with
            :meth:`add`.
        smoothing: TensorBoard's smoothing weight of the scalar charts (a slider in the widget).
        max_samples: the most recent images / audio clips / texts kept per tag and run.

    Example:
        >>> viewer = SummaryViewer("/tmp/logs")
        >>> viewer.watch()      # follow the files while training writes them
    """

    def __init__(self, logdir=None, smoothing=0.6, max_samples=10):
        self.data = SummaryData()
        self.smoothing = float(smoothing)
        self.max_samples = max_samples
        self.reader = LogdirReader(logdir, self.data) if logdir is not None else None
        if self.reader is not None:
            self.reader.poll()
        self._widget = None
        self._watcher = None
        self._stop = threading.Event()

    def add(self, summary, step=0, run="."):
        """Adds a fetched summary (the bytes a summary op returns, or a ``Summary`` proto)."""
        self.data.add(summary, step, run)
        self._push()
        return self

    def refresh(self):
        """Reads what the event files gained since the last look; returns the events read."""
        n = self.reader.poll() if self.reader is not None else 0
        if n:
            self._push()
        return n

    def watch(self, every=2.0):
        """Refreshes every ``every`` seconds in a background thread until :meth:`stop`."""
        if self._watcher is not None or self.reader is None:
            return self
        self._stop.clear()

        def loop():
            while not self._stop.wait(every):
                try:
                    self.refresh()
                except OSError:
                    continue  # a file being rotated: try again on the next tick

        self._watcher = threading.Thread(target=loop, name="tfnb-summary-watch", daemon=True)
        self._watcher.start()
        return self

    def stop(self):
        """Stops :meth:`watch`."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
            self._watcher = None

    @property
    def model(self):
        return self.data.model(max_samples=self.max_samples)

    def widget(self):
        if self._widget is None:
            self._widget = widget_class()(summaries=self.model, smoothing=self.smoothing)
        return self._widget

    def _push(self):
        if self._widget is not None:
            self._widget.summaries = self.model

    def to_html(self):
        return to_html(self.model, self.smoothing)

    def summary(self):
        runs = self.data.runs
        parts = []
        for k in KINDS:
            tags = self.data.tags(k)
            if tags:
                shown = ", ".join(tags[:3]) + (", …" if len(tags) > 3 else "")
                parts.append("%s: %s" % (k, shown))
        return "SummaryViewer: %d run%s%s" % (len(runs), "" if len(runs) == 1 else "s",
                                             ("; " + "; ".join(parts)) if parts
                                             else " (no summaries)")

    def __repr__(self):
        return "<%s>" % self.summary()

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = {"text/plain": repr(self), "text/html": self.to_html()}
        from .step_timeline import _widgets_live
        if _widgets_live():
            bundle = self.widget()._repr_mimebundle_()
            bundle = bundle[0] if isinstance(bundle, tuple) else bundle
            data["application/vnd.jupyter.widget-view+json"] = \
                bundle["application/vnd.jupyter.widget-view+json"]
        return data


# ----------------------------------------------------------------------------------------------
# Static HTML
# ----------------------------------------------------------------------------------------------
def _e(x):
    return html.escape(str(x))


def _scalar_svg(entry, smoothing, w=360, h=170):
    from .training_monitor import nice_range, smooth
    pl, pr, pt, pb = 46, 8, 18, 20
    vals = [v for s in entry["series"] for v in s["values"] if v is not None]
    steps = [x for s in entry["series"] for x in s["steps"]]
    parts = ['<svg class="tfnb-sv-scalar" data-tag="%s" width="%d" height="%d" '
             'style="font:10px sans-serif"><text x="%d" y="12" font-weight="bold">%s</text>'
             % (_e(entry["tag"]), w, h, pl, _e(entry["tag"]))]
    if vals:
        y0, y1, ticks = nice_range(min(vals), max(vals))
        x0, x1 = min(steps), max(max(steps), min(steps) + 1)

        def sx(x):
            return pl + (w - pl - pr) * (x - x0) / (x1 - x0)

        def sy(y):
            return pt + (h - pt - pb) * (1 - (y - y0) / (y1 - y0))
        for t in ticks:
            parts.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" '
                         'y="%.1f" text-anchor="end" fill="#555">%.4g</text>'
                         % (pl, w - pr, sy(t), sy(t), pl - 4, sy(t) + 3, t))
        for s in entry["series"]:
            pts = [(x, y) for x, y in zip(s["steps"], s["values"]) if y is not None]
            sm = smooth([y for _, y in pts], smoothing)
            parts.append('<polyline fill="none" stroke="%s" stroke-opacity="0.3" points="%s"/>'
                         % (s["color"], " ".join("%.1f,%.1f" % (sx(x), sy(y)) for x, y in pts)))
            parts.append('<polyline fill="none" stroke="%s" stroke-width="1.6" data-run="%s" '
                         'points="%s"/>' % (s["color"], _e(s["run"]), " ".join(
                             "%.1f,%.1f" % (sx(x), sy(y)) for (x, _), y in zip(pts, sm))))
        parts.append('<text x="%d" y="%d" fill="#555">step %s</text><text x="%d" y="%d" '
                     'text-anchor="end" fill="#555">%s</text>' % (pl, h - 4, x0, w - pr, h - 4, x1))
    parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#ccc"/></svg>'
                 % (pl, pt, w - pl - pr, h - pt - pb))
    return "".join(parts)


def _distribution_svg(hm, w=360, h=170):
    """TensorBoard's distribution view: bands between symmetric percentiles, over steps."""
    pl, pr, pt, pb = 46, 8, 18, 20
    d = hm["distribution"]
    parts = ['<svg class="tfnb-sv-distribution" data-tag="%s" width="%d" height="%d" '
             'style="font:10px sans-serif"><text x="%d" y="12" font-weight="bold">%s (%s)</text>'
             % (_e(hm["tag"]), w, h, pl, _e(hm["tag"]), _e(hm["run"]))]
    if d:
        x0, x1 = d[0]["step"], max(d[-1]["step"], d[0]["step"] + 1)
        lo, hi = hm["min"], hm["max"]

        def sx(x):
            return pl + (w - pl - pr) * (x - x0) / (x1 - x0)

        def sy(y):
            return pt + (h - pt - pb) * (1 - (y - lo) / (hi - lo))
        n = len(hm["basis_points"])
        for k in range(n // 2):
            top = [(sx(p["step"]), sy(p["values"][n - 1 - k])) for p in d]
            bottom = [(sx(p["step"]), sy(p["values"][k])) for p in reversed(d)]
            if len(d) == 1:
                top = [(top[0][0] - 3, top[0][1]), (top[0][0] + 3, top[0][1])]
                bottom = [(bottom[0][0] + 3, bottom[0][1]), (bottom[0][0] - 3, bottom[0][1])]
            parts.append('<polygon fill="%s" fill-opacity="%.2f" stroke="none" points="%s"/>'
                         % (hm["color"], 0.15 + 0.15 * k,
                            " ".join("%.1f,%.1f" % p for p in top + bottom)))
        parts.append('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>'
                     % (hm["color"], " ".join("%.1f,%.1f" % (sx(p["step"]), sy(p["values"][n // 2]))
                                              for p in d)))
        parts.append('<text x="%d" y="%d" text-anchor="end" fill="#555">%.3g</text><text x="%d" '
                     'y="%d" text-anchor="end" fill="#555">%.3g</text>'
                     % (pl - 4, pt + 8, hi, pl - 4, h - pb, lo))
        parts.append('<text x="%d" y="%d" fill="#555">step %s</text><text x="%d" y="%d" '
                     'text-anchor="end" fill="#555">%s</text>' % (pl, h - 4, x0, w - pr, h - 4, x1))
    parts.append("</svg>")
    return "".join(parts)


def _histogram_svg(hm, w=360, h=170):
    """TensorBoard's histogram view (offset): one outline per step, the newest in front."""
    pl, pr, pt, pb = 46, 8, 18, 20
    curves = hm["histogram"]
    parts = ['<svg class="tfnb-sv-histogram" data-tag="%s" width="%d" height="%d" '
             'style="font:10px sans-serif"><text x="%d" y="12" font-weight="bold">%s (%s)</text>'
             % (_e(hm["tag"]), w, h, pl, _e(hm["tag"]), _e(hm["run"]))]
    if curves:
        edges = hm["edges"]
        peak = max(max(c["counts"]) for c in curves) or 1.0
        n = len(curves)
        offset = (h - pt - pb) * 0.5 / max(n - 1, 1)
        band = (h - pt - pb) * 0.5
        for i, c in enumerate(curves):
            base = pt + band + offset * i
            pts = ["%.1f,%.1f" % (pl, base)]
            for j, v in enumerate(c["counts"]):
                x = pl + (w - pl - pr) * (0.5 * (edges[j] + edges[j + 1]) - edges[0]) / (
                    edges[-1] - edges[0])
                pts.append("%.1f,%.1f" % (x, base - band * v / peak))
            pts.append("%.1f,%.1f" % (w - pr, base))
            parts.append('<polyline fill="white" fill-opacity="0.6" stroke="%s" stroke-opacity='
                         '"%.2f" points="%s" data-step="%d"/>'
                         % (hm["color"], 0.35 + 0.65 * (i + 1) / n, " ".join(pts), c["step"]))
        parts.append('<text x="%d" y="%d" fill="#555">%.3g</text><text x="%d" y="%d" '
                     'text-anchor="end" fill="#555">%.3g</text>'
                     % (pl, h - 4, edges[0], w - pr, h - 4, edges[-1]))
    parts.append("</svg>")
    return "".join(parts)


def to_html(model, smoothing=0.6):
    """The static rendering of a :meth:`SummaryData.model` (the newest image/audio/text)."""
    sec = []
    runs = " ".join('<span style="color:%s">■</span> %s' % (r["color"], _e(r["name"]))
                    for r in model["runs"])
    if model["scalars"]:
        sec.append(("Scalars", "".join(_scalar_svg(s, smoothing) for s in model["scalars"])))
    if model["histograms"]:
        sec.append(("Distributions", "".join(_distribution_svg(h) for h in model["histograms"])))
        sec.append(("Histograms", "".join(_histogram_svg(h) for h in model["histograms"])))
    if model["images"]:
        sec.append(("Images", "".join(
            '<figure class="tfnb-sv-image" data-tag="%s" style="margin:4px"><img src="data:%s;'
            'base64,%s" style="image-rendering:pixelated;min-width:64px;max-width:320px">'
            '<figcaption>%s (%s), step %d</figcaption></figure>'
            % (_e(i["tag"]), i["items"][-1]["mime"], i["items"][-1]["data"], _e(i["tag"]),
               _e(i["run"]), i["items"][-1]["step"]) for i in model["images"])))
    if model["audio"]:
        sec.append(("Audio", "".join(
            '<div class="tfnb-sv-audio" data-tag="%s">%s (%s), step %d<br><audio controls '
            'src="data:%s;base64,%s"></audio></div>'
            % (_e(a["tag"]), _e(a["tag"]), _e(a["run"]), a["items"][-1]["step"],
               a["items"][-1]["mime"], a["items"][-1]["data"]) for a in model["audio"])))
    if model["text"]:
        sec.append(("Text", "".join(
            '<div class="tfnb-sv-text" data-tag="%s"><b>%s</b> (%s)%s</div>'
            % (_e(t["tag"]), _e(t["tag"]), _e(t["run"]), "".join(
                '<div>step %d: <pre style="display:inline;white-space:pre-wrap">%s</pre></div>'
                % (x["step"], _e(x["text"])) for x in t["items"])) for t in model["text"])))
    body = "".join('<div style="font-weight:bold;margin:8px 0 2px">%s</div><div style="display:'
                   'flex;flex-wrap:wrap;gap:8px;align-items:flex-start">%s</div>' % (t, b)
                   for t, b in sec) or "<i>no summaries yet</i>"
    return ('<div class="tfnb-summaries" style="font:12px sans-serif"><div>runs: %s</div>%s</div>'
            % (runs or "–", body))
