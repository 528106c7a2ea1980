"""TrainingMonitor: model state (progress, rate, ETA, downsampling), text/tqdm fallbacks, widget."""
import importlib.util
import io
import json
import math
import time

import pytest

from tfnb.notebook import training_monitor as tm
from tfnb.notebook.training_monitor import TrainingMonitor, monitor


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_progress_rate_eta_and_history_follow_the_loop():
    clock = FakeClock()
    mon = TrainingMonitor(100, backend=None, clock=clock, title="fit")
    assert mon.progress == 0.0 and mon.eta is None and mon.rate is None
    for step in range(40):
        clock.t += 0.5  # 2 steps/s
        mon(step, loss=1.0 / (step + 1), acc=step / 100)
    assert mon.n == 40 and mon.progress == pytest.approx(0.4)
    assert mon.rate == pytest.approx(2.0)
    assert mon.eta == pytest.approx(30.0)  # 60 steps left at 2 steps/s
    assert mon.elapsed == pytest.approx(20.0)
    assert mon.history["loss"][:2] == [(0, 1.0), (1, 0.5)] and len(mon.history["acc"]) == 40
    state = mon.state()
    json.dumps(state, allow_nan=False)  # plain JSON, as the widget receives it
    assert state["progress"] == pytest.approx(0.4) and state["eta_text"] == "00:30"
    assert [m["name"] for m in state["metrics"]] == ["loss", "acc"]
    assert state["metrics"][0]["last"] == pytest.approx(1 / 40)
    assert not mon.closed
    for step in range(40, 100):
        clock.t += 0.5
        mon(step, loss=0.01)
    assert mon.closed and mon.progress == 1.0 and mon.eta == 0.0 and mon.state()["done"]
    elapsed = mon.elapsed
    clock.t += 10
    mon(100, loss=0.5)  # past the end: still recorded, no longer timed or drawn
    assert mon.elapsed == elapsed and mon.history["loss"][-1] == (100, 0.5)


def test_rate_follows_the_recent_speed():
    clock = FakeClock()
    mon = TrainingMonitor(1000, backend=None, clock=clock, interval=0.1)
    for step in range(50):  # slow start: 1 step/s
        clock.t += 1.0
        mon(step)
    for step in range(50, 400):  # then 100 steps/s
        clock.t += 0.01
        mon(step)
    assert mon.rate == pytest.approx(100.0, rel=0.05)
    assert mon.eta == pytest.approx(600 / 100.0, rel=0.05)


def test_long_runs_are_downsampled_to_bucket_means():
    mon = TrainingMonitor(None, backend=None, max_points=500)
    n = 10_000
    for step in range(n):
        mon(step, loss=float(step))
    s = mon.state()["metrics"][0]
    assert len(s["x"]) <= 501 and len(s["x"]) == len(s["y"])
    assert s["stride"] == 32 and s["count"] == n  # 10000 / 32 buckets > 250: strides doubled 5x
    assert s["x"] == sorted(s["x"]) and s["x"][-1] == n - 1
    for x, y in zip(s["x"][:-1], s["y"][:-1]):  # bucket i holds steps x-stride+1..x
        assert y == pytest.approx(x - (s["stride"] - 1) / 2)
    assert s["min"] == 0 and s["max"] == n - 1 and s["last"] == n - 1
    assert len(mon.history["loss"]) == n  # history keeps everything


def test_positional_values_every_and_unknown_total():
    mon = TrainingMonitor(metrics=["loss", "acc"], every=10, backend=None)
    for step in range(25):
        mon(step, 2.0, 0.5)  # callback(step, loss, acc)
    assert [s for s, _ in mon.history["loss"]] == [0, 10, 20]
    assert mon.n == 25 and mon.progress is None and mon.eta is None
    assert "25 [" in mon.summary() and "%" not in mon.summary()
    with pytest.raises(TypeError, match="positional"):
        mon(30, 1.0, 2.0, 3.0)
    default = TrainingMonitor(3, backend=None)
    default(0, 1.5)  # the tutorials' callback(step, loss)
    assert default.history == {"loss": [(0, 1.5)]}


def test_non_finite_values_are_kept_in_history_but_not_charted():
    mon = TrainingMonitor(4, backend=None)
    for step, v in enumerate([1.0, float("nan"), 3.0, float("inf")]):
        mon(step, loss=v)
    assert math.isnan(mon.history["loss"][1][1])
    s = mon.state()["metrics"][0]
    assert s["y"] == [1.0, 3.0] and s["last"] is None and s["last_text"] == "inf"
    json.dumps(mon.state(), allow_nan=False)


def test_monitor_wraps_an_iterable_and_closes_even_on_break():
    for step in (mon := monitor(range(10), backend=None)):
        mon.log(loss=10 - step)
    assert mon.closed and mon.n == 10 and mon.history["loss"][-1] == (9, 1.0)
    m2 = monitor(range(10), backend=None)
    for step in m2:
        if step == 3:
            break
    assert m2.closed and m2.n == 3
    with pytest.raises(TypeError, match="wraps no iterable"):
        iter(TrainingMonitor(3, backend=None)).__next__()


def test_auto_backend_outside_jupyter_is_text_or_tqdm():
    assert not tm._in_jupyter_kernel()
    mon = TrainingMonitor(2, file=io.StringIO())
    expected = "_TqdmDisplay" if importlib.util.find_spec("tqdm") else "_TextDisplay"
    assert type(mon._display).__name__ == expected
    mon.close()
    with pytest.raises(ValueError, match="backend"):
        TrainingMonitor(2, backend="curses")


def test_text_fallback_prints_a_line_per_tenth_and_the_final_state(capsys):
    mon = TrainingMonitor(50, title="train", backend="text")
    for step in range(50):
        mon(step, loss=1.0 / (step + 1))
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert 2 <= len(lines) <= 12  # not one per step: this goes to log files
    assert lines[-1].startswith("train: 100% 50/50 [") and "loss=0.02" in lines[-1]
    assert " it/s]" in lines[-1]


def test_text_fallback_on_a_terminal_redraws_in_place():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    mon = TrainingMonitor(3, backend="text", file=out, interval=0)
    for step in range(3):
        mon(step, loss=1.0)
    text = out.getvalue()
    assert text.count("\r") >= 2 and text.endswith("\n") and text.count("\n") == 1
    assert "100% 3/3" in text


def test_tqdm_fallback(capsys):
    pytest.importorskip("tqdm")
    with TrainingMonitor(20, title="tq", backend="tqdm") as mon:
        for step in range(20):
            mon(step, loss=0.5)
    err = capsys.readouterr().err
    assert "tq" in err and "20/20" in err and "loss=0.5" in err


def test_overhead_per_update_is_small():
    """Measures (prints) the cost of one call; timing is reported, not asserted."""
    n = 20_000
    for backend in (None, "text") + (("widget",) if importlib.util.find_spec("anywidget") else ()):
        mon = TrainingMonitor(n, backend=backend, file=io.StringIO())
        t = time.perf_counter()
        for step in range(n):
            mon(step, loss=0.5, acc=0.9)
        per_call = (time.perf_counter() - t) / n
        print("TrainingMonitor overhead, backend=%s: %.2f us per mon(step, loss=, acc=)"
              % (backend, per_call * 1e6))
        assert mon.closed


def test_widget_traitlets_follow_the_state():
    pytest.importorskip("anywidget")
    mon = TrainingMonitor(10, title="w", backend="widget", interval=0)
    widget = mon._display.widget
    assert "export default" in widget._esm and widget.monitors == []
    for step in range(5):
        mon(step, loss=float(step))
    (state,) = widget.monitors
    assert state["n"] == 5 and state["metrics"][0]["y"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    for step in range(5, 10):
        mon(step, loss=0.0)
    assert widget.monitors == [dict(mon.state(), position=0)] and widget.monitors[0]["done"]
    bundle = mon._display.bundle()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "<svg" in bundle["text/html"] and "100%" not in bundle["text/plain"][:3]
    widget.close()


def test_in_a_kernel_the_widget_is_displayed_and_the_final_snapshot_kept(monkeypatch):
    pytest.importorskip("anywidget")
    import IPython
    import IPython.display

    class Kernel:
        kernel = object()

    shown = []

    class Handle:
        def update(self, obj):
            shown.append(("update", obj._repr_mimebundle_()))

    def display(obj, display_id=None):
        shown.append(("display", obj._repr_mimebundle_()))
        return Handle()

    Kernel.execution_count = 7
    monkeypatch.setattr(IPython, "get_ipython", lambda: Kernel())
    monkeypatch.setattr(IPython.display, "display", display)
    mon = TrainingMonitor(3, title="k")
    assert type(mon._display).__name__ == "_WidgetDisplay"
    for step in range(3):
        mon(step, loss=1.0)
    assert [k for k, _ in shown] == ["display", "update"]
    final = shown[-1][1]
    assert "application/vnd.jupyter.widget-view+json" in final
    assert "3/3" in final["text/html"] and "loss" in final["text/html"]
    mon._display.widget.close()


def test_static_html_shows_bar_and_charts():
    mon = TrainingMonitor(4, title="<b>", backend=None)
    for step in range(4):
        mon(step, loss=4.0 - step, acc=step / 4)
    html = mon._repr_html_()
    assert html.count("<svg") == 2 and "polyline" in html and "&lt;b&gt;" in html
    assert "4/4" in html


def test_smoothing_is_tensorboards_debiased_ema():
    assert tm.smooth([1.0, 2.0, 3.0], 0.0) == [1.0, 2.0, 3.0]
    w = 0.6
    out = tm.smooth([4.0, 2.0, float("nan"), 1.0], w)
    assert out[0] == pytest.approx(4.0)  # debiased: the first point is the first value
    a1 = (1 - w) * 4.0
    a2 = a1 * w + (1 - w) * 2.0
    assert out[1] == pytest.approx(a2 / (1 - w ** 2))
    assert math.isnan(out[2])  # passed through, not averaged in
    a3 = a2 * w + (1 - w) * 1.0
    assert out[3] == pytest.approx(a3 / (1 - w ** 3))
    assert tm.smooth([5.0] * 10, 0.99) == pytest.approx([5.0] * 10)
    with pytest.raises(ValueError, match="smoothing"):
        TrainingMonitor(3, backend=None, smoothing=1.0)


def test_axes_start_at_the_data_and_constant_series_get_a_band():
    lo, hi, ticks = tm.nice_range(0.13, 0.87)
    assert lo <= 0.13 and hi >= 0.87 and hi - lo < 1.5 and ticks[0] == lo and ticks[-1] == hi
    step = ticks[1] - ticks[0]
    assert step == pytest.approx(0.2)  # round ticks: multiples of 1, 2, 2.5 or 5 x 10^k
    assert all(abs(t / step - round(t / step)) < 1e-9 for t in ticks)
    lo, hi, _ = tm.nice_range(1000.0, 1000.0)  # a constant series: ±10%, not ±0.5
    assert 850 <= lo < 1000 < hi <= 1150
    lo, hi, _ = tm.nice_range(0.0, 0.0)
    assert lo < 0 < hi
    lo, hi, ticks = tm.nice_range(0.002, 30.0, log=True)
    assert (lo, hi) == (1e-3, 1e2) and ticks[0] == 1e-3
    mon = TrainingMonitor(None, backend=None)
    for step in range(100, 110):  # the x axis starts at the first logged step, not 0
        mon(step, loss=2.0)
    c = tm.chart_model(mon.state(), mon.state()["charts"][0])
    assert c["x0"] == 100 and c["x1"] == 109 and c["y0"] < 2.0 < c["y1"]


def test_rates_read_it_per_s_or_s_per_it():
    assert tm.format_rate(12.345) == "12.3 it/s"
    assert tm.format_rate(0.25) == "4 s/it"
    assert tm.format_rate(None) == "? it/s"
    assert tm.format_rate(0.5, unit="epoch") == "2 s/epoch"
    clock = FakeClock()
    mon = TrainingMonitor(10, backend=None, clock=clock)
    for step in range(3):
        clock.t += 4.0
        mon(step)
    assert mon.state()["rate_text"] == "4 s/it" and "4 s/it]" in mon.summary()


def test_series_share_their_metrics_chart_and_charts_group_metrics():
    mon = TrainingMonitor(None, backend=None, charts={"accuracy": ["train_acc", "val_acc"]})
    for step in range(6):
        mon(step, loss=1.0 / (step + 1), train_acc=step / 6)
        if step % 2 == 0:
            mon.update(step, loss=2.0 / (step + 1), val_acc=step / 7, series="validation")
    assert mon.history["validation/loss"] == [(0, 2.0), (2, 2.0 / 3), (4, 0.4)]
    assert mon.n == 6
    st = mon.state()
    names = [m["name"] for m in st["metrics"]]
    charts = {c["name"]: [names[i] for i in c["series"]] for c in st["charts"]}
    assert charts == {"loss": ["loss", "validation/loss"],
                      "accuracy": ["train_acc", "validation/val_acc"]}
    labels = {m["name"]: m["label"] for m in st["metrics"]}
    assert labels["validation/loss"] == "validation" and labels["loss"] == "loss"
    html = tm.to_html(st)
    assert html.count("<svg") == 2 and "validation" in html
    json.dumps(st, allow_nan=False)


def test_static_html_smooths_and_draws_log_scale():
    mon = TrainingMonitor(20, backend=None, smoothing=0.8, log_scale=True)
    for step in range(20):
        mon(step, loss=10.0 ** (-step / 5) * (1.5 if step % 2 else 0.7))
    html = mon._repr_html_()
    assert "(log)" in html and html.count("<polyline") == 2  # raw (faint) and smoothed
    assert 'stroke-opacity="0.3"' in html and "smoothing 0.80" in html
    flat = TrainingMonitor(3, backend=None, smoothing=0.0)
    for step in range(3):
        flat(step, loss=1.0)
    assert flat._repr_html_().count("<polyline") == 1


def test_nested_monitors_share_one_output_side_by_side(monkeypatch):
    pytest.importorskip("anywidget")
    import IPython
    import IPython.display

    class Kernel:
        kernel = object()
        execution_count = 3

    shown = []

    class Handle:
        def update(self, obj):
            shown.append("update")

    def display(obj, display_id=None):
        shown.append("display")
        return Handle()

    monkeypatch.setattr(IPython, "get_ipython", lambda: Kernel())
    monkeypatch.setattr(IPython.display, "display", display)
    monkeypatch.setattr(tm._Board, "current", None)
    outer = TrainingMonitor(3, title="epochs", interval=0)
    inners = []
    for epoch in range(3):
        inner = TrainingMonitor(4, title="batches", interval=0)
        inners.append(inner)
        for b in range(4):
            inner(b, loss=1.0 / (b + 1))
        outer(epoch, val=epoch)
        if epoch < 2:
            assert inner._display.board is outer._display.board
    board = outer._display.board
    assert shown == ["display", "update"]  # one output; its snapshot once all finished
    assert board.slots == [outer, inners[-1]]  # each epoch's inner loop took the same place
    states = board.widget.monitors
    assert [(s["title"], s["position"], s["done"]) for s in states] == [
        ("epochs", 0, True), ("batches", 1, True)]
    assert "epochs" in board.bundle()["text/plain"] and "batches" in board.bundle()["text/plain"]
    Kernel.execution_count = 4  # a new cell: a new output
    later = TrainingMonitor(2, title="next cell")
    assert later._display.board is not board
    later.close()
    board.widget.close()
    later._display.board.widget.close()


@pytest.mark.skipif(__import__("shutil").which("node") is None, reason="needs node")
def test_widget_smoothing_and_axes_match_python(tmp_path):
    """The widget's JS smooth()/niceRange() give the numbers the Python model does."""
    import subprocess

    from tfnb.notebook.graph_draw import read_extension_file
    src = read_extension_file("training_monitor.js")
    src = src.replace("export default { render };", "module.exports = { smooth, niceRange };")
    (tmp_path / "m.cjs").write_text(src)
    values = [4.0, 2.0, 3.5, 1.0, 0.5, 0.75]
    script = ("const m = require(%s); console.log(JSON.stringify([m.smooth(%s, 0.6), "
              "m.niceRange(0.13, 0.87, false), m.niceRange(1000, 1000, false), "
              "m.niceRange(0.002, 30, true)]))" % (json.dumps(str(tmp_path / "m.cjs")),
                                                    json.dumps(values)))
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    js = json.loads(out.stdout)
    assert js[0] == pytest.approx(tm.smooth(values, 0.6))
    for got, want in zip(js[1:], [tm.nice_range(0.13, 0.87), tm.nice_range(1000.0, 1000.0),
                                  tm.nice_range(0.002, 30.0, log=True)]):
        assert got[0] == pytest.approx(want[0]) and got[1] == pytest.approx(want[1])
        assert got[2] == pytest.approx(want[2])
