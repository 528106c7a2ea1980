"""PlacementView: the JSON model behind the placement widget, its static HTML and its doors."""
import re
import sys

import numpy as np
import pytest

import tfnb as tf
from tfnb.notebook import device_names, graph_model, placement_view
from tfnb.notebook.placement_view import PlacementView, placement_model

CPU0 = "/job:localhost/replica:0/task:0/device:CPU:0"
CPU1 = "/job:localhost/replica:0/task:0/device:CPU:1"


@pytest.fixture(autouse=True)
def lazy_graphs():
    saved = tf.executing_eagerly()
    tf.disable_eager_execution()
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()
    if saved:
        tf.enable_eager_execution()


def _two_device_model():
    """x -> layer/MatMul (CPU:1) with w on CPU:0 (read there, as TF1 reads a resource variable
    on its own device), out asks for a GPU that is not there (soft placement)."""
    x = tf.placeholder(tf.float32, [None, 64], name="x")
    with tf.device("/cpu:0"):
        w = tf.Variable(np.ones((64, 64), np.float32), name="w")
    with tf.device("/cpu:1"), tf.name_scope("layer"):
        y = tf.matmul(x, w, name="MatMul")
        z = tf.nn.relu(y, name="Relu")
    with tf.device("/gpu:0"):
        out = tf.reduce_sum(z, name="out")
    sess = tf.Session(config=tf.ConfigProto(device_count={"CPU": 2},
                                            allow_soft_placement=True))
    sess.run(w.initializer)
    return sess, x, w, out


# ----------------------------------------------------------------------------------------------
# Device names
# ----------------------------------------------------------------------------------------------
def test_device_names_are_canonical_and_grouped_by_task():
    for name in ("/cpu:0", "/device:CPU:0", "CPU:0", CPU0, "/job:localhost/device:CPU:0"):
        assert device_names.canonical_device(name) == CPU0
    w1 = "/job:worker/replica:0/task:1/device:CPU:0"
    assert device_names.canonical_device("/job:worker/task:1/cpu:0") == w1
    assert device_names.canonical_device("/job:ps") == "/job:ps"  # a partial request
    assert device_names.canonical_device("") == ""
    assert device_names.task_of(w1) == "/job:worker/replica:0/task:1"
    assert device_names.device_label(CPU1) == "CPU:1"
    assert device_names.device_label(w1) == "worker:1 CPU:0"
    assert device_names.request_satisfied("/device:CPU:1", CPU1)
    assert device_names.request_satisfied("/job:localhost", CPU1)
    assert not device_names.request_satisfied("/gpu:0", CPU1)
    assert not device_names.request_satisfied("/job:ps", w1)
    assert device_names.request_satisfied("", w1)
    ps0 = "/job:ps/replica:0/task:0/device:CPU:0"
    ordered = sorted([w1, CPU1, ps0, CPU0], key=device_names.device_sort_key)
    assert ordered == [CPU0, CPU1, ps0, w1]
    colors = device_names.device_colors(["/cpu:0", CPU0, CPU1, "/device:CPU:1"])
    assert list(colors) == [CPU0, CPU1] and colors[CPU0] != colors[CPU1]


# ----------------------------------------------------------------------------------------------
# The model
# ----------------------------------------------------------------------------------------------
def test_placement_of_given_fetches_with_transfers_reasons_and_totals():
    sess, x, w, out = _two_device_model()
    view = sess.placement_view(out)  # x is fed by default: the placeholder `out` needs
    m = view.model
    assert [d["device"] for d in m["devices"]] == [CPU0, CPU1]
    assert [(d["label"], d["ops"]) for d in m["devices"]] == [("CPU:0", 2), ("CPU:1", 3)]
    rows = {r["op"]: r for r in m["rows"]}
    assert set(rows) == {"w", "layer/ReadVariableOp", "layer/MatMul", "layer/Relu", "out"}
    read = rows["layer/ReadVariableOp"]
    assert read["assigned"] == CPU0 and not read["moved"] and "colocated with w" in read["reason"]
    assert rows["out"]["moved"] and "soft placement" in rows["out"]["reason"]
    assert not rows["layer/MatMul"]["moved"] and rows["layer/MatMul"]["assigned"] == CPU1
    assert m["n_moved"] == 1 and not m["traced"]
    # The Send/Recv pair the plan inserted for the variable's value, 64*64 float32.
    (t,) = view.transfers
    assert t["tensor"] == "layer/ReadVariableOp:0" and t["bytes"] == 64 * 64 * 4
    assert (t["src_device"], t["dst_device"]) == (CPU0, CPU1)
    assert t["send"].startswith("_send/") and t["recv"].startswith("_recv/")
    assert m["devices"][0]["bytes_out"] == m["devices"][1]["bytes_in"] == 16384
    assert m["devices"][0]["est_us"] == pytest.approx(sum(
        r["est_us"] for r in m["rows"] if r["assigned"] == CPU0), abs=1e-3)
    # The drawing: one legend entry per device used, the transfer edge with its bytes.
    g = view.graph_model
    used = [i["device"] for i in g["legend"] if i["device"] != graph_model.NOT_IN_STEP]
    assert used == [CPU0, CPU1]
    cross = [e for e in g["edges"] if e["cross_device"]]
    assert len(cross) == 1 and cross[0]["bytes"] == 16384
    assert cross[0]["transfers"][0]["send"] == t["send"]
    assert "16.0 KiB/step" in cross[0]["label"] and t["recv"] in cross[0]["tooltip"]
    node = next(n for n in g["nodes"] if n["name"] == "out")
    assert node["moved"] and "soft placement" in node["tooltip"]
    sess.close()


def test_measured_times_and_bytes_come_from_a_traced_step():
    sess, x, w, out = _two_device_model()
    md = tf.RunMetadata()
    sess.run(out, {x: np.ones((8, 64), np.float32)},
             options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=md)
    view = PlacementView(sess, out, run_metadata=md)
    m = view.model
    assert m["traced"]
    rows = {r["op"]: r for r in m["rows"]}
    assert all(rows[n]["measured_us"] is not None for n in rows)
    times = graph_model.step_times(md)
    cpu1 = m["devices"][1]
    assert cpu1["measured_us"] == sum(times[n] for n in ("layer/MatMul", "layer/Relu", "out"))
    (t,) = view.transfers
    assert t["measured"] and t["bytes"] == 16384  # what the Recv delivered
    text = view.text()
    assert "2 devices" in text and "layer/MatMul" in text and "* soft placement" in text
    sess.close()


def test_placement_of_a_step_that_did_not_run_last():
    """The towers example: the last run fetched only w; the view shows the training step."""
    rng = np.random.RandomState(1)
    xs, ys = rng.randn(8, 5).astype(np.float32), rng.randn(8, 1).astype(np.float32)
    with tf.device("/cpu:0"):
        w = tf.Variable(rng.randn(5, 1).astype(np.float32), name="w")
    opt = tf.train.GradientDescentOptimizer(0.1)
    grads = []
    for i, (xb, yb) in enumerate(zip(np.split(xs, 2), np.split(ys, 2))):
        with tf.device("/cpu:%d" % i), tf.name_scope("tower%d" % i):
            loss = tf.reduce_mean(tf.square(tf.matmul(tf.constant(xb), w) - yb))
            grads.append(opt.compute_gradients(loss, [w])[0][0])
    with tf.device("/cpu:0"):
        step = opt.apply_gradients([(tf.add_n(grads) / 2.0, w)])
    with tf.Session(config=tf.ConfigProto(device_count={"CPU": 2})) as s:
        s.run(w.initializer)
        s.run(step)
        s.run(w)
        last = s.placement()
        assert not any(r["op"].startswith("tower") for r in last)  # the seed's "0 ops in all"
        view = s.placement_view(step)
        towers = [r for r in view.model["rows"] if r["op"].startswith("tower1/")]
        assert len(towers) > 5
        # Variable reads run where the variable lives (TF1's resource value()); the rest of
        # the tower where it asked to be.
        reads = [r for r in towers if r["type"] == "ReadVariableOp"]
        assert reads and all(r["assigned"] == CPU0 and "colocat" in r["reason"] for r in reads)
        assert all(r["assigned"] == CPU1 for r in towers if not r["moved"] and r not in reads)
        assert {d["device"] for d in view.devices} == {CPU0, CPU1}
        assert any(t["dst_device"] == CPU0 for t in view.transfers)  # tower 1's gradient


def test_table_sorting_dataframe_and_missing_pandas(monkeypatch):
    sess, x, w, out = _two_device_model()
    view = sess.placement_view(out)
    est = [r["est_us"] for r in view.table("est_us")]
    assert est == sorted(est, reverse=True)
    assert [r["op"] for r in view.table("op", descending=False)] == sorted(
        r["op"] for r in view.model["rows"])
    with pytest.raises(ValueError, match="sort_by must be one of"):
        view.table("speed")
    pd = pytest.importorskip("pandas")
    df = view.to_dataframe()
    assert list(df.columns) == ["op", "type", "requested", "assigned", "reason", "est_us",
                                "measured_us", "moved"]
    assert len(df) == 5 and df.set_index("op").loc["out", "moved"]
    assert isinstance(df, pd.DataFrame)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="needs pandas"):
        view.to_dataframe()
    sess.close()


def test_one_device_session_and_nothing_run_yet():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    y = tf.reduce_sum(tf.square(x), name="y")
    with tf.Session() as s:
        with pytest.raises(ValueError, match="has not run anything yet"):
            s.placement_view()
        view = s.placement_view(y)
        assert [d["device"] for d in view.devices] == [CPU0]
        assert view.transfers == [] and view.model["transfers"] == []
        assert all(r["reason"] == "only device" for r in view.model["rows"])
        s.run(y, {x: np.ones((2, 3))})
        assert [r["op"] for r in s.placement_view().model["rows"]] == ["Square", "y"]


def test_cluster_devices_are_grouped_by_task():
    """Rows as a cluster session's placer writes them: lanes and colours per task."""
    ps = "/job:ps/replica:0/task:0/device:CPU:0"
    w0 = "/job:worker/replica:0/task:0/device:CPU:0"
    w1 = "/job:worker/replica:0/task:1/device:CPU:0"
    rows = [{"op": "w", "type": "VarHandleOp", "requested": "/job:ps", "assigned": ps,
             "reason": "requested '/job:ps'", "est_us": 1.0},
            {"op": "a", "type": "MatMul", "requested": "/job:worker/task:0", "assigned": w0,
             "reason": "requested", "est_us": 5.0},
            {"op": "b", "type": "MatMul", "requested": "/job:worker/task:0", "assigned": w1,
             "reason": "soft placement", "est_us": 5.0}]
    transfers = [{"tensor": "w:0", "src_device": ps, "dst_device": w0, "bytes": 400,
                  "send": "_send/w_0/job:worker/replica:0/task:0/device:CPU:0",
                  "recv": "_recv/w_0/job:ps/replica:0/task:0/device:CPU:0", "control": False}]
    m = placement_model(rows, transfers=transfers)
    assert [t["label"] for t in m["tasks"]] == ["ps:0", "worker:0", "worker:1"]
    assert [d["label"] for d in m["devices"]] == ["ps:0 CPU:0", "worker:0 CPU:0",
                                                  "worker:1 CPU:0"]
    assert len({d["color"] for d in m["devices"]}) == 3
    assert [r["moved"] for r in m["rows"]] == [False, False, True]
    assert m["devices"][0]["bytes_out"] == 400 and m["devices"][1]["bytes_in"] == 400


# ----------------------------------------------------------------------------------------------
# Static HTML, the widget, the magics
# ----------------------------------------------------------------------------------------------
def test_static_html_has_legend_tables_and_the_transfer_edge(monkeypatch):
    sess, x, w, out = _two_device_model()
    view = sess.placement_view(out)
    page = view.to_html()
    legend = re.findall(r'class="tfnb-legend-item" data-device="([^"]*)"', page)
    assert legend[:2] == [CPU0, CPU1] and set(legend[2:]) <= {graph_model.NOT_IN_STEP}
    assert 'data-key="moved"' in page and 'data-key="cross_device"' in page
    assert page.count('<tr data-device=') == 2 and '<tr data-op="out"' in page
    assert "colour by assigned device" in page
    from tfnb.notebook.graph_draw import dot_available
    if dot_available():  # drawn by the system dot: the edge is marked in the SVG
        assert 'data-cross-device="true" data-bytes="16384"' in page
    else:
        assert '"bytes": "16384"' in page
    bundle = view._repr_mimebundle_()
    assert "PlacementView: 5 ops on 2 devices" in bundle["text/plain"]
    sess.close()


def test_widget_carries_the_panel_and_placement():
    pytest.importorskip("anywidget")
    sess, x, w, out = _two_device_model()
    view = sess.placement_view(out)
    widget = view.widget()
    assert widget.color_by == "device" and widget.placement_panel["devices"] == view.devices
    assert widget.model["device_source"] == "assigned"
    widget.selected = "out"
    rows = dict(widget.details["sections"][0]["rows"])
    assert rows["assigned device"] == CPU1 and "soft placement" in rows["placement"]
    assert rows["note"] == "placed on another device than requested"
    data, _ = widget._repr_mimebundle_()
    assert "tfnb-placement-panel" in data["text/html"]
    widget.close()
    sess.close()


def test_magics_tf_placement_and_tf_graph_session(ip):
    tf.disable_eager_execution()
    tf.reset_default_graph()
    sess, x, w, out = _two_device_model()
    ip.user_ns.update(sess=sess, out=out, x=x)
    shown = ip.run_line_magic("tf_placement", "--session sess out")
    assert "PlacementView: 5 ops on 2 devices" in repr(shown)
    assert "tfnb-placement-panel" in shown._repr_mimebundle_()["text/html"]
    sess.run(out, {x: np.ones((2, 64), np.float32)})
    drawing = ip.run_line_magic("tf_graph", "--session sess")
    assert drawing.model["color_by"] == "device"
    assert drawing.model["device_source"] == "assigned"
    assert any(e["cross_device"] and e["bytes"] == 16384 for e in drawing.model["edges"])
    with sess.as_default():  # no --session: the default session
        again = ip.run_line_magic("tf_placement", "")
    assert "5 ops" in repr(again)
    from IPython.core.error import UsageError
    with pytest.raises(UsageError, match="--session needs a tf.Session"):
        ip.run_line_magic("tf_placement", "--session 3 out")
    sess.close()
