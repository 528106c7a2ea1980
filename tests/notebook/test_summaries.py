"""SummaryViewer: the model of real event files and fetched summaries, static HTML, magic."""
import base64
import json
import os

import numpy as np
import pytest

import tfnb as tf
from tfnb.notebook import summaries as sv
from tfnb.notebook.summaries import LogdirReader, SummaryData, SummaryViewer

pytest.importorskip("tensorboardX")


@pytest.fixture(autouse=True)
def lazy_graphs():
    saved = tf.executing_eagerly()
    tf.disable_eager_execution()
    yield
    if saved:
        tf.enable_eager_execution()


def _summary_ops():
    x = tf.placeholder(tf.float32, [None], name="x")
    tf.summary.scalar("loss", tf.reduce_mean(x))
    tf.summary.histogram("weights", x)
    pixel = tf.reshape(tf.tile(tf.cast(tf.reduce_mean(x) * 50.0, tf.uint8)[None], [48]),
                       [1, 4, 4, 3])
    tf.summary.image("picture", pixel)
    tf.summary.audio("tone", tf.reshape(tf.sin(tf.range(0, 800, dtype=tf.float32) / 10.0),
                                        [1, 800]), 8000)
    tf.summary.text("note", tf.constant("hello **world**"))
    return x, tf.summary.merge_all()


def _write_logdir(root, runs=("train", "validation"), steps=3):
    x, merged = _summary_ops()
    with tf.Session() as s:
        for k, run in enumerate(runs):
            with tf.summary.FileWriter(os.path.join(root, run)) as w:
                for step in range(steps):
                    w.add_summary(s.run(merged, {x: np.linspace(0, 1, 101) + step + k}), step)


def test_a_logdir_of_two_runs(tmp_path):
    _write_logdir(str(tmp_path))
    viewer = SummaryViewer(str(tmp_path))
    m = viewer.model
    json.dumps(m)
    assert [r["name"] for r in m["runs"]] == ["train", "validation"]
    (loss,) = m["scalars"]
    assert loss["tag"] == "loss" and [s["run"] for s in loss["series"]] == ["train", "validation"]
    train = loss["series"][0]
    assert train["steps"] == [0, 1, 2]
    assert train["values"] == pytest.approx([0.5, 1.5, 2.5])  # mean of linspace + step
    assert loss["series"][1]["values"] == pytest.approx([1.5, 2.5, 3.5])
    hist = next(h for h in m["histograms"] if h["run"] == "train")
    assert hist["tag"] == "weights" and [d["step"] for d in hist["distribution"]] == [0, 1, 2]
    med = [d["values"][4] for d in hist["distribution"]]  # the 50th percentile
    assert med == pytest.approx([0.5, 1.5, 2.5], abs=0.1)
    lo, hi = hist["distribution"][0]["values"][0], hist["distribution"][0]["values"][-1]
    assert lo == pytest.approx(0.0) and hi == pytest.approx(1.0)
    assert len(hist["histogram"]) == 3 and sum(hist["histogram"][0]["counts"]) == \
        pytest.approx(101)
    img = next(i for i in m["images"] if i["run"] == "train")
    assert img["tag"] == "picture" and img["count"] == 3
    first = img["items"][0]
    assert (first["width"], first["height"], first["mime"]) == (4, 4, "image/png")
    assert base64.b64decode(first["data"])[:4] == b"\x89PNG"
    aud = next(a for a in m["audio"] if a["run"] == "train")
    assert aud["tag"] == "tone" and aud["items"][0]["sample_rate"] == 8000
    assert base64.b64decode(aud["items"][0]["data"])[:4] == b"RIFF"
    txt = next(t for t in m["text"] if t["run"] == "train")
    assert txt["items"][-1] == {"step": 2, "text": "hello **world**"}
    assert repr(viewer) == ("<SummaryViewer: 2 runs; scalars: loss; histograms: weights; "
                            "images: picture; audio: tone; text: note>")


def test_fetched_summaries_and_the_monitor_takes_one():
    x, merged = _summary_ops()
    from tfnb.notebook import TrainingMonitor
    viewer = SummaryViewer()
    mon = TrainingMonitor(3, backend=None)
    with tf.Session() as s:
        for step in range(3):
            out = s.run(merged, {x: np.full(4, float(step))})
            viewer.add(out, step)
            mon.update(step, summary=out)
    assert viewer.model["scalars"][0]["series"][0]["values"] == [0.0, 1.0, 2.0]
    assert mon.history["loss"] == [(0, 0.0), (1, 1.0), (2, 2.0)]
    assert sv.scalar_values(out) == {"loss": 2.0}


def test_percentiles_and_rebinning_are_exact_on_simple_histograms():
    # 10 values spread evenly over [0, 10): percentiles are linear.
    p = sv.percentiles([5.0, 10.0], [5, 5], 0.0, 10.0, basis=(0, 2500, 5000, 10000))
    assert p == pytest.approx([0.0, 2.5, 5.0, 10.0])
    counts = sv.rebin([5.0, 10.0], [5, 5], 0.0, 10.0, [0.0, 2.5, 5.0, 7.5, 10.0])
    assert counts == pytest.approx([2.5, 2.5, 2.5, 2.5])
    assert sv.rebin([3.0], [7], 3.0, 3.0, [0.0, 5.0, 10.0]) == [7, 0.0]  # all on one value


def test_watching_a_growing_event_file(tmp_path):
    logdir = str(tmp_path)
    x = tf.placeholder(tf.float32, [], name="x")
    merged = tf.summary.scalar("loss", x)
    reader = LogdirReader(logdir)
    with tf.Session() as s, tf.summary.FileWriter(logdir) as w:
        for step in range(3):
            w.add_summary(s.run(merged, {x: float(step)}), step)
        w.flush()
        assert reader.poll() >= 3
        assert reader.poll() == 0  # nothing new
        for step in range(3, 5):
            w.add_summary(s.run(merged, {x: float(step)}), step)
        w.flush()
        # A record being written: the reader stops at its start and reads it once complete.
        (path,) = [p for _, p in reader.files()]
        with open(path, "ab") as f:
            f.write(b"\x10\x00\x00")
        assert reader.poll() == 2
    pts = reader.data.data["scalars"]["loss"]["."]
    assert [p[0] for p in pts] == [0, 1, 2, 3, 4]


def test_static_html_and_magic(tmp_path, ip):
    _write_logdir(str(tmp_path), runs=("run",), steps=2)
    page = SummaryViewer(str(tmp_path)).to_html()
    for hook in ('class="tfnb-sv-scalar" data-tag="loss"', 'class="tfnb-sv-distribution"',
                 'class="tfnb-sv-histogram"', 'class="tfnb-sv-image" data-tag="picture"',
                 'class="tfnb-sv-audio" data-tag="tone"', "hello **world**"):
        assert hook in page, hook
    assert "data:image/png;base64," in page and "data:audio/wav;base64," in page
    viewer = ip.run_line_magic("tf_summaries", str(tmp_path))
    assert isinstance(viewer, SummaryViewer) and viewer.model["runs"][0]["name"] == "run"
    from IPython.core.error import UsageError
    with pytest.raises(UsageError, match="no such logdir"):
        ip.run_line_magic("tf_summaries", str(tmp_path / "missing"))


def test_widget_receives_the_model(tmp_path):
    pytest.importorskip("anywidget")
    _write_logdir(str(tmp_path), runs=("run",), steps=1)
    viewer = SummaryViewer(str(tmp_path), smoothing=0.3)
    w = viewer.widget()
    assert w.summaries == viewer.model and w.smoothing == 0.3 and "export default" in w._esm
    data = SummaryData()
    assert data.model()["scalars"] == [] and data.runs == []
    w.close()
