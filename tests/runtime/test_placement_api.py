"""The public placement API: ``Session.placement(fetches, feed_dict, transfers=...)``.

Ops rows say where each op runs; transfer rows say which tensors cross devices, between
which devices, by which Send/Recv pair and roughly how many bytes; ``parse_transfer_label``
reads the label a traced Send/Recv carries in ``run_metadata.step_stats``.
"""
import numpy as np
import pytest

import tfnb as tf
from tfnb.runtime.session import parse_transfer_label

CPU0 = "/job:localhost/replica:0/task:0/device:CPU:0"
CPU1 = "/job:localhost/replica:0/task:0/device:CPU:1"


@pytest.fixture(autouse=True)
def lazy_graph():
    saved = tf.executing_eagerly()
    tf.disable_eager_execution()
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()
    if saved:
        tf.enable_eager_execution()


def _model():
    x = tf.placeholder(tf.float32, [None, 8], name="x")
    with tf.device("/cpu:0"):
        w = tf.Variable(np.ones((8, 4), np.float32), name="w")
        a = tf.matmul(tf.ones([2, 8]), w, name="a")   # [2, 4] float32: 32 bytes
    with tf.device("/cpu:1"):
        y = tf.reduce_sum(tf.matmul(x, w) + a, name="y")
    sess = tf.Session(config=tf.ConfigProto(device_count={"CPU": 2}))
    sess.run(w.initializer)
    return sess, x, w, a, y


def test_transfer_rows_of_given_fetches_without_running():
    sess, x, w, a, y = _model()
    with sess:
        rows = sess.placement(y, {x: None}, transfers=True)
        by_tensor = {r["tensor"]: r for r in rows}
        assert set(by_tensor) >= {"a:0"}
        r = by_tensor["a:0"]
        assert (r["src_device"], r["dst_device"]) == (CPU0, CPU1)
        assert r["bytes_estimate"] == 2 * 4 * 4
        assert r["send"] and r["recv"] and r["send"] != r["recv"]
        assert r["control"] is False
        assert set(r) == {"tensor", "src_device", "dst_device", "send", "recv",
                          "bytes_estimate", "control"}
        # The variable's value crosses too; its batch dimension is unknown on no tensor.
        assert all(t["src_device"] != t["dst_device"] for t in rows)
        ops = {r["op"]: r for r in sess.placement(y, [x])}
        assert ops["y"]["assigned"] == CPU1 and ops["a"]["assigned"] == CPU0


def test_no_arguments_describe_the_last_run_and_one_device_has_no_transfers():
    sess, x, w, a, y = _model()
    with sess:
        assert sess.placement(transfers=True) == []   # w.initializer: one device
        sess.run(y, {x: np.ones((2, 8), np.float32)})
        assert any(t["tensor"] == "a:0" for t in sess.placement(transfers=True))
    with tf.Session() as one:
        assert one.placement(tf.constant(1.0) + 1.0, transfers=True) == []


def test_traced_transfers_carry_a_label_the_api_parses():
    sess, x, w, a, y = _model()
    with sess:
        md = tf.RunMetadata()
        sess.run(y, {x: np.ones((2, 8), np.float32)},
                 options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=md)
        planned = {(t["tensor"], t["dst_device"]): t for t in sess.placement(transfers=True)}
        seen = set()
        for dev in md.step_stats.dev_stats:
            for ns in dev.node_stats:
                if ns.op_type in ("_Send", "_Recv"):
                    tensor, src, dst = parse_transfer_label(ns.timeline_label, dev.device)
                    assert (tensor, dst) in planned and planned[(tensor, dst)]["src_device"] == src
                    seen.add(ns.node_name)
                else:
                    assert parse_transfer_label(ns.timeline_label, dev.device) is None
        assert seen == {t[k] for t in planned.values() for k in ("send", "recv")}


def test_the_notebook_view_needs_only_the_public_api():
    """PlacementView of a session object that offers nothing but ``graph`` and
    ``placement()``: the transfers come from the public rows."""
    from tfnb.notebook.placement_view import PlacementView
    sess, x, w, a, y = _model()

    class PublicOnly:
        graph = sess.graph

        def placement(self, fetches=None, feed_dict=None, transfers=False):
            return sess.placement(fetches, feed_dict, transfers=transfers)

    with sess:
        view = PlacementView(PublicOnly(), y, [x])
        t = {v["tensor"]: v for v in view.transfers}["a:0"]
        assert (t["src_device"], t["dst_device"], t["bytes"]) == (CPU0, CPU1, 32)
        assert view.model["devices"][0]["bytes_out"] >= 32
