"""StepTimeline: the JSON model of a real traced step, Send/Recv arrows, static HTML, widget."""
import json

import numpy as np
import pytest

import tfnb as tf
from tfnb.notebook.step_timeline import StepTimeline, timeline_model
from tfnb.runtime.step_stats import (DeviceStepStats, NodeExecStats, NodeOutput, StepStats,
                                     TensorDescription)

CPU = "/job:localhost/replica:0/task:0/device:CPU:0"
GPU = "/job:localhost/replica:0/task:0/device:GPU:0"


def _traced_step():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.Variable(np.ones((3, 2), np.float32), name="w")
    y = tf.nn.relu(tf.matmul(x, w), name="y")
    with tf.Session() as sess:
        sess.run(w.initializer)
        md = tf.RunMetadata()
        sess.run(y, {x: np.ones((4, 3))},
                 options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=md)
        executed = {op.name for op, _, _, _ in sess.cached_plans()[-1].body}
    return md, executed


def test_model_of_a_real_traced_run():
    md, executed = _traced_step()
    tl = StepTimeline(md, title="one step")
    m = tl.model
    json.dumps(m, allow_nan=False)  # plain JSON for the widget
    assert {op["name"] for op in m["ops"]} == executed
    task = "/job:localhost/replica:0/task:0"
    assert m["lanes"] == [{"device": CPU, "short": "CPU:0", "task": task, "task_label": "",
                           "thread": 0, "label": "CPU:0"}]
    assert m["groups"] == [{"task": "/job:localhost/replica:0/task:0", "label": "this process",
                            "lanes": [0]}]
    assert min(op["start"] for op in m["ops"]) == 0
    assert all(op["dur"] >= 0 and op["start"] + op["dur"] <= m["duration_us"] for op in m["ops"])
    mm = next(op for op in m["ops"] if op["type"] == "MatMul")
    assert mm["outputs"] == [{"dtype": "float32", "shape": [4, 2], "bytes": 32}]
    assert mm["inputs"][0] == "x:0" and "test_step_timeline.py" in mm["location"]
    assert "MatMul (MatMul)" in mm["details"] and "float32 [4, 2], 32 bytes" in mm["details"]
    handle = next(op for op in m["ops"] if op["type"] == "VarHandleOp")
    # a variable handle
    assert handle["outputs"][0] == {"dtype": "resource", "shape": [], "bytes": 0}
    assert m["arrows"] == [] and m["unmatched_transfers"] == 0
    by_type = {t["type"]: t for t in m["by_type"]}
    assert by_type["MatMul"]["count"] == 1 and by_type["MatMul"]["total_us"] == mm["dur"]
    assert sum(t["count"] for t in m["by_type"]) == len(m["ops"])
    assert "%d ops on 1 lane," % len(executed) in repr(tl)  # "1 lane", not "1 lanes"
    assert all(op["raw_dur"] - op["dur"] <= m["trace_bias_us"] + 1e-9 for op in m["ops"])
    html = tl.to_html()
    assert html.count("<rect") == len(executed) and "<title>y (Relu)" in html
    assert "one step" in html and "MatMul" in html


def test_step_stats_alone_and_untraced_metadata():
    md, _ = _traced_step()
    assert len(StepTimeline(md.step_stats).ops) == len(StepTimeline(md).ops)
    with pytest.raises(ValueError, match="FULL_TRACE"):
        StepTimeline(tf.RunMetadata())


def _ns(name, op_type, start, dur, thread=1, nbytes=16, label=""):
    out = [NodeOutput(0, TensorDescription("float32", (2, 2), nbytes))]
    return NodeExecStats(name, op_type, start, start + dur, thread, out, label)


def test_send_recv_pairs_become_arrows_between_lanes():
    label = "%s = %s(edge_7_y:0 @" + GPU + ")"
    stats = StepStats([
        DeviceStepStats(CPU, [_ns("a", "MatMul", 1000, 10),
                              _ns("send_a", "_Send", 1010, 5, label=label % ("send_a", "_Send")),
                              _ns("send_b", "_Send", 1011, 5, label=label.replace("7", "9")
                                  % ("send_b", "_Send"))]),
        DeviceStepStats(GPU, [_ns("recv_a", "_Recv", 1012, 8, nbytes=64,
                                  label=label % ("recv_a", "_Recv")),
                              _ns("b", "Relu", 1020, 4, thread=2)]),
    ])
    m = timeline_model(stats)
    assert [lane["label"] for lane in m["lanes"]] == ["CPU:0", "GPU:0 · thread 0",
                                                      "GPU:0 · thread 1"]
    names = [op["name"] for op in m["ops"]]
    assert m["arrows"] == [{"src": names.index("send_a"), "dst": names.index("recv_a"),
                            "tensor": "edge_7_y:0", "bytes": 64, "src_lane": 0, "dst_lane": 1}]
    assert m["unmatched_transfers"] == 1  # send_b has no Recv in this step
    assert m["duration_us"] == 24 and m["ops"][names.index("b")]["start"] == 20
    html = StepTimeline(stats, title="t").to_html()
    assert "marker-end" in html and "edge_7_y:0 (64 bytes)" in html


def test_send_recv_pair_by_graph_attrs_and_missing_transfers_are_fine():
    class Op:
        def __init__(self, op_type, **attrs):
            self.type, self._attrs, self._inputs, self.location = op_type, attrs, (), None

    class Graph:
        ops = {"s": Op("Send", tensor_name="t:0", send_device=CPU, recv_device=GPU),
               "r": Op("Recv", tensor_name="t:0", send_device=CPU, recv_device=GPU),
               "r2": Op("Recv", tensor_name="other:0", send_device=CPU, recv_device=GPU)}

        def _get_operation_by_name_unsafe(self, name):
            return self.ops.get(name)

    stats = StepStats([DeviceStepStats(CPU, [_ns("s", "Send", 0, 3)]),
                       DeviceStepStats(GPU, [_ns("r", "Recv", 2, 3), _ns("r2", "Recv", 6, 1),
                                             _ns("unknown", "_Recv", 8, 1)])])
    m = timeline_model(stats, graph=Graph())
    assert [(a["src"], a["dst"], a["tensor"]) for a in m["arrows"]] == [(0, 1, "t:0")]
    assert m["unmatched_transfers"] == 1  # r2; "unknown" has no key at all
    assert timeline_model(StepStats([]))["ops"] == []


def test_widget_traitlets_and_mimebundle():
    pytest.importorskip("anywidget")
    md, _ = _traced_step()
    tl = StepTimeline(md)
    w = tl.widget()
    assert w.timeline == tl.model and "export default" in w._esm and ".tfnb-timeline" in w._css
    assert tl.widget() is w
    bundle = tl._repr_mimebundle_()
    assert "<svg" in bundle["text/html"] and bundle["text/plain"].startswith("<StepTimeline")
    # outside a Jupyter kernel no widget view is offered (nothing could render it)
    assert "application/vnd.jupyter.widget-view+json" not in bundle
    w.close()


def test_a_real_two_device_step_has_labelled_boxes_and_send_recv_arrows():
    """tfnb's own trace labels ("_Send x:0 to DEVICE") pair each Send with its Recv."""
    x = tf.placeholder(tf.float32, [None, 8], name="x")
    with tf.device("/cpu:0"):
        a = tf.matmul(x, tf.ones([8, 8]), name="first")
    with tf.device("/cpu:1"):
        b = tf.nn.relu(a, name="second")
    with tf.device("/cpu:0"):
        c = tf.reduce_sum(b, name="third")
    with tf.Session(config=tf.ConfigProto(device_count={"CPU": 2})) as sess:
        md = tf.RunMetadata()
        sess.run(c, {x: np.ones((4, 8), np.float32)},
                 options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=md)
    tl = StepTimeline(md, graph=tf.get_default_graph())
    m = tl.model
    assert [lane["label"] for lane in m["lanes"]] == ["CPU:0", "CPU:1"]
    assert len(m["arrows"]) == 2 and m["unmatched_transfers"] == 0
    lanes = {(a["src_lane"], a["dst_lane"]) for a in m["arrows"]}
    assert lanes == {(0, 1), (1, 0)}
    there = next(a for a in m["arrows"] if a["tensor"] == "first:0")
    assert there["bytes"] == 4 * 8 * 4
    send = m["ops"][there["src"]]
    assert send["transfer"] == "send" and send["label"] == "first:0 → CPU:1"
    assert m["ops"][there["dst"]]["label"] == "first:0 ← CPU:0"
    assert {op["label"] for op in m["ops"] if op["transfer"] is None} >= {"first", "second",
                                                                          "third"}
    assert "2 transfers" in tl.summary()
    html = tl.to_html(width=4000)  # wide: labels fit their boxes
    assert ">second<" in html and 'data-tensor="first:0"' in html


def test_box_labels_fit_or_are_left_out():
    from tfnb.notebook.step_timeline import fit_label
    assert fit_label("MatMul", 100) == "MatMul"
    assert fit_label("a_long_op_name", 50) == "a_long…"
    assert fit_label("MatMul", 10) is None


def test_trace_bias_is_measured_small_and_positive():
    from tfnb.notebook.step_timeline import trace_bias_us
    bias = trace_bias_us()
    assert 0.0 < bias < 50.0  # two clock reads and a call: well under a millisecond
    assert trace_bias_us() == bias  # measured once per process
    stats = StepStats([DeviceStepStats(CPU, [_ns("a", "MatMul", 0, 10)])])
    raw = timeline_model(stats, subtract_bias=False)
    fixed = timeline_model(stats)
    assert raw["ops"][0]["dur"] == 10 and raw["trace_bias_us"] == 0.0
    assert fixed["ops"][0]["dur"] == pytest.approx(10 - bias)
    assert fixed["ops"][0]["raw_dur"] == 10 and "less %.1f µs of tracing" % bias in \
        fixed["ops"][0]["details"]


def test_cluster_lanes_are_grouped_by_task_with_network_transfers():
    """Step stats of a cluster session: one device entry per task, Send/Recv between tasks."""
    ps = "/job:ps/replica:0/task:0/device:CPU:0"
    w1 = "/job:worker/replica:0/task:1/device:CPU:0"
    w0 = "/job:worker/replica:0/task:0/device:CPU:0"
    stats = StepStats([
        DeviceStepStats(w1, [_ns("grad", "MatMul", 100, 10, thread=5)]),
        DeviceStepStats(ps, [_ns("_send/w_0/job:worker/replica:0/task:0/device:CPU:0", "_Send", 0,
                                 3, label="_Send w:0 to " + w0),
                             _ns("apply", "AssignSub", 120, 2)]),
        DeviceStepStats(w0, [_ns("_recv/w_0/job:ps/replica:0/task:0/device:CPU:0", "_Recv", 1, 9,
                                 nbytes=400, label="_Recv w:0 from " + ps),
                             _ns("fwd", "MatMul", 12, 20, thread=3)]),
    ])
    m = timeline_model(stats)
    assert [lane["label"] for lane in m["lanes"]] == ["ps:0 CPU:0", "worker:0 CPU:0 · thread 0",
                                                      "worker:0 CPU:0 · thread 1",
                                                      "worker:1 CPU:0"]
    assert [(g["label"], g["lanes"]) for g in m["groups"]] == [
        ("ps:0", [0]), ("worker:0", [1, 2]), ("worker:1", [3])]
    (arrow,) = m["arrows"]
    assert (arrow["tensor"], arrow["bytes"], arrow["src_lane"], arrow["dst_lane"]) == \
        ("w:0", 400, 0, 1)
    recv = m["ops"][arrow["dst"]]
    assert recv["label"] == "w:0 ← ps:0 CPU:0"
