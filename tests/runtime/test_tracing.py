"""Step traces: RunOptions(FULL_TRACE) fills step_stats; the Chrome trace covers every op."""
import json

import numpy as np
import pytest

import tfnb as tf
from tfnb.client import timeline


def test_full_trace_covers_every_executed_op_and_is_valid_chrome_json():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.Variable(np.ones((3, 2), np.float32), name="w")
    y = tf.nn.relu(tf.matmul(x, w), name="y")
    with tf.Session() as sess:
        sess.run(w.initializer)
        opts = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
        md = tf.RunMetadata()
        out = sess.run(y, {x: np.ones((4, 3))}, options=opts, run_metadata=md)
        assert out.shape == (4, 2)
        plan = sess.cached_plans()[-1]
    names = {n.node_name for d in md.step_stats.dev_stats for n in d.node_stats}
    executed = {op.name for op, _, _, _ in plan.body}
    assert names == executed and "y" in names and "MatMul" in names
    stats = {n.node_name: n for d in md.step_stats.dev_stats for n in d.node_stats}
    mm = stats["MatMul"]
    assert mm.output[0].tensor_description.shape == (4, 2)
    assert mm.output[0].tensor_description.requested_bytes == 4 * 2 * 4
    assert mm.all_end_rel_micros >= 0 and mm.all_start_micros > 1e15  # epoch microseconds
    trace = json.loads(timeline.Timeline(md.step_stats).generate_chrome_trace_format())
    op_events = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert {e["args"]["name"] for e in op_events} == executed
    assert all({"ts", "dur", "pid", "tid"} <= set(e) for e in op_events)


def test_untraced_runs_leave_metadata_alone_and_errors_in_traced_runs_are_typed():
    x = tf.placeholder(tf.float32, [None])
    y = tf.reshape(x, [2])
    with tf.Session() as sess:
        md = tf.RunMetadata()
        sess.run(y, {x: [1.0, 2.0]}, run_metadata=md)
        assert md.step_stats is None
        with pytest.raises(tf.errors.InvalidArgumentError, match="Reshape"):
            sess.run(y, {x: [1.0, 2.0, 3.0]},
                     options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=md)
