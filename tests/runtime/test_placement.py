"""Device specs, placer rules, Send/Recv partitioning, concurrent execution and aborts,
traces across devices, and the two seed examples (layer-per-device LSTM, data-parallel towers)."""
import json
import time

import numpy as np
import pytest

import tfnb as tf
from tfnb.client import timeline
from tfnb.framework.registry import register_op
from tfnb.ops import core


def cfg(n=2, **kw):
    return tf.ConfigProto(device_count={"CPU": n}, **kw)


# --- DeviceSpec and tf.device nesting --------------------------------------------------------
def test_device_spec_parse_print_merge():
    s = tf.DeviceSpec.from_string("/job:ps/replica:1/task:2/device:GPU:3")
    assert (s.job, s.replica, s.task, s.device_type, s.device_index) == ("ps", 1, 2, "GPU", 3)
    assert s.to_string() == "/job:ps/replica:1/task:2/device:GPU:3"
    assert tf.DeviceSpec.from_string("/cpu:0").to_string() == "/device:CPU:0"
    assert tf.DeviceSpec.from_string("/gpu:1").to_string() == "/device:GPU:1"
    assert tf.DeviceSpec.from_string("/device:GPU:*").to_string() == "/device:GPU:*"
    merged = tf.DeviceSpec.from_string("/job:worker/task:1").make_merged_spec("/gpu:0")
    assert merged.to_string() == "/job:worker/task:1/device:GPU:0"
    with pytest.raises(ValueError):
        tf.DeviceSpec.from_string("/nonsense:x:y:z")


def test_nested_device_scopes_merge_and_none_clears():
    with tf.device("/job:worker/task:1"):
        with tf.device("/gpu:0"):
            a = tf.constant(1.0)
            with tf.device(None):
                b = tf.constant(2.0)
        with tf.device("/task:3"):
            c = tf.constant(3.0)
    assert a.device == "/job:worker/task:1/device:GPU:0"
    assert b.device == ""
    assert c.device == "/job:worker/task:3"


def test_list_local_devices():
    from tfnb.client import device_lib
    names = [d.name for d in device_lib.list_local_devices()]
    assert names[0] == "/job:localhost/replica:0/task:0/device:CPU:0"
    with tf.Session(config=cfg(3)) as s:
        assert [d.device_type for d in s.list_devices()] == ["CPU"] * 3


# --- placer rules -----------------------------------------------------------------------------
def _placement(sess):
    return {r["op"]: r for r in sess.placement()}


def test_explicit_requests_and_variables_colocate_with_their_users():
    with tf.device("/cpu:1"):
        v = tf.Variable(np.ones(3, np.float32), name="v")
    with tf.device("/cpu:0"):
        y = v * 2.0  # the read of v must stay with v on CPU:1
        upd = v.assign_add([1.0, 1.0, 1.0])
    with tf.Session(config=cfg()) as s:
        s.run(v.initializer)
        s.run([y, upd])
        p = _placement(s)
    read = [r for n, r in p.items() if r["type"] == "ReadVariableOp"][0]
    assert read["assigned"].endswith("CPU:1") and "colocated with v" in read["reason"]
    assert p["mul"]["assigned"].endswith("CPU:0") and "requested" in p["mul"]["reason"]
    assert p["AssignAddVariableOp"]["assigned"].endswith("CPU:1")


def test_colocate_with():
    with tf.device("/cpu:1"):
        a = tf.constant(1.0, name="a")
    with tf.colocate_with(a):
        b = tf.add(a, 1.0, name="b")
    with tf.Session(config=cfg()) as s:
        s.run(b)
        assert _placement(s)["b"]["assigned"].endswith("CPU:1")


def test_bad_requests_are_typed_errors_naming_the_op_or_soft_fallback(capsys):
    with tf.device("/cpu:5"):
        x = tf.constant(1.0, name="far")
    with tf.device("/tpu:0"):
        z = tf.constant(1.0, name="weird")
    with tf.Session(config=cfg()) as s:
        with pytest.raises(tf.errors.InvalidArgumentError, match="far.*'/device:CPU:5'"):
            s.run(x)
        with pytest.raises(tf.errors.InvalidArgumentError, match="weird"):
            s.run(z)
    with tf.Session(config=cfg(allow_soft_placement=True, log_device_placement=True)) as s:
        assert s.run(x) == 1.0
        row = _placement(s)["far"]
        assert "soft placement" in row["reason"]
    assert "far: (Const)" in capsys.readouterr().err  # log_device_placement: one line per op


def test_contradictory_colocation_is_an_error():
    with tf.device("/cpu:0"):
        v = tf.Variable(1.0, name="here")
    with tf.device("/cpu:1"):
        w = tf.Variable(1.0, name="there")
    with tf.colocate_with(w.op):
        r = v.assign(2.0)  # must live with v (CPU:0) and with w (CPU:1)
    with tf.Session(config=cfg()) as s:
        with pytest.raises(tf.errors.InvalidArgumentError, match="Cannot colocate nodes here and "
                                                                 "there"):
            s.run(r)


register_op("GpuOnlyForTest", infer=lambda op: [(op._inputs[0].dtype, op._inputs[0].shape)],
            kernel=lambda op, ctx: lambda x: x, device_types=("GPU",))


def test_kernel_not_available_on_requested_device():
    with tf.device("/cpu:0"):
        y = core.out("GpuOnlyForTest", [tf.constant(1.0)], name="needs_gpu")
    with tf.Session(config=cfg()) as s:
        with pytest.raises(tf.errors.InvalidArgumentError, match="no kernel for device type CPU"):
            s.run(y)


def test_cost_model_spreads_independent_branches_and_keeps_chains_together():
    x = tf.placeholder(tf.float32, [512, 512])
    a = tf.matmul(tf.matmul(x, x), x)
    b = tf.matmul(tf.matmul(x + 1.0, x), x)
    with tf.Session(config=cfg()) as s:
        s.run([a, b], {x: np.ones((512, 512), np.float32) * 1e-3})
        p = _placement(s)
    mm = [r for r in p.values() if r["type"] == "MatMul"]
    assert {r["assigned"] for r in mm} == {"/job:localhost/replica:0/task:0/device:CPU:0",
                                          "/job:localhost/replica:0/task:0/device:CPU:1"}
    assert all("cost model" in r["reason"] for r in mm)


# --- partitioning and execution ---------------------------------------------------------------
def test_one_send_recv_pair_per_tensor_and_destination():
    with tf.device("/cpu:0"):
        x = tf.placeholder_with_default(np.arange(4, dtype=np.float32), [4])
    with tf.device("/cpu:1"):
        y1 = x * 2.0
        y2 = x + 3.0  # a second consumer on the same device: no second transfer
        y3 = tf.reduce_sum(y1 + y2)
    with tf.Session(config=cfg()) as s:
        assert s.run(y3) == (np.arange(4) * 2 + np.arange(4) + 3).sum()
        plan = s._last_plan
    transfers = [(e[1], p.device.short_name) for p in plan.partitions for e in p.body
                 if e[1] in ("_send", "_recv")]
    assert sorted(transfers) == [("_recv", "/device:CPU:1"), ("_send", "/device:CPU:0")]


def test_fp16_transfer_option():
    with tf.device("/cpu:0"):
        x = tf.placeholder_with_default(np.float32([1.0001, 2.0, 3.0]), [3])
    with tf.device("/cpu:1"):
        y = x * 1.0
    with tf.Session(config=cfg()) as s:
        exact = s.run(y)
    with tf.Session(config=cfg(transfer_fp16=True)) as s:
        half = s.run(y)
    assert exact[0] == np.float32(1.0001) and half[0] == np.float32(np.float16(1.0001)) != exact[0]
    assert half.dtype == np.float32


def test_error_on_one_device_aborts_the_step_without_hanging_and_rolls_back():
    v = tf.Variable(1.0)
    x = tf.placeholder(tf.float32, [None])
    with tf.device("/cpu:0"):
        bump = v.assign_add(1.0)
        with tf.control_dependencies([bump]):
            waiting = tf.identity(x)
    with tf.device("/cpu:1"):
        bad = tf.reshape(x, [2])  # fails at run time for other lengths
    with tf.device("/cpu:0"):
        out = waiting + tf.reduce_sum(bad)  # CPU:0 waits for a Recv from CPU:1
    with tf.Session(config=cfg()) as s:
        s.run(v.initializer)
        t0 = time.time()
        with pytest.raises(tf.errors.InvalidArgumentError, match="Reshape"):
            s.run(out, {x: [1.0, 2.0, 3.0]})
        assert time.time() - t0 < 5
        assert s.run(v) == 1.0  # the assign on the other device was undone
        np.testing.assert_allclose(s.run(out, {x: [1.0, 2.0]}), [4.0, 5.0])


def test_trace_across_devices_covers_every_op_and_transfers():
    with tf.device("/cpu:0"):
        x = tf.placeholder_with_default(np.ones((8, 8), np.float32), [8, 8])
    with tf.device("/cpu:1"):
        y = tf.matmul(x, x)
    with tf.Session(config=cfg()) as s:
        md = tf.RunMetadata()
        s.run(y, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=md)
        plan = s._last_plan
    devs = {d.device: {n.node_name for n in d.node_stats} for d in md.step_stats.dev_stats}
    executed = {e[0].name for p in plan.partitions for e in p.body}
    assert set().union(*devs.values()) == executed
    types = {n.op_type for d in md.step_stats.dev_stats for n in d.node_stats}
    assert {"_Send", "_Recv", "MatMul"} <= types
    trace = json.loads(timeline.Timeline(md.step_stats).generate_chrome_trace_format())
    pids = {e["pid"] for e in trace["traceEvents"] if e["ph"] == "X"}
    assert len(pids) == 2
    assert len(md.partition_graphs) == 2


# --- the seed examples ------------------------------------------------------------------------
def _lstm_model(n_layers, device_for_layer):
    rng = np.random.RandomState(0)
    x = tf.constant(rng.randn(4, 6, 5).astype(np.float32))
    inputs = tf.unstack(x, axis=1)
    for d in range(n_layers):
        with tf.device(device_for_layer(d)), tf.variable_scope("layer%d" % d,
                                                                 initializer=tf.constant_initializer(0.1)):
            cell = tf.nn.rnn_cell.BasicLSTMCell(7)
            inputs, _ = tf.nn.static_rnn(cell, inputs, dtype=tf.float32)
    loss = tf.reduce_sum(tf.square(inputs[-1]))
    grads = tf.gradients(loss, tf.trainable_variables())
    return loss, grads


def _run_model(build, config):
    with tf.Graph().as_default():
        loss, grads = build()
        with tf.Session(config=config) as s:
            s.run(tf.global_variables_initializer())
            return s.run([loss, grads]), s.placement()


def test_seed_example_lstm_layer_per_device_matches_single_device():
    # The slide puts layer d on "/gpu:%d"; without GPUs we use 4 virtual CPUs.
    (l1, g1), _ = _run_model(lambda: _lstm_model(4, lambda d: None), cfg(1))
    (l4, g4), placement = _run_model(lambda: _lstm_model(4, lambda d: "/cpu:%d" % d), cfg(4))
    np.testing.assert_allclose(l1, l4, rtol=1e-6)
    for a, b in zip(g1, g4):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert {r["assigned"][-5:] for r in placement} == {"CPU:0", "CPU:1", "CPU:2", "CPU:3"}


def test_seed_example_data_parallel_towers_match_one_device_with_n_times_the_batch():
    rng = np.random.RandomState(1)
    xs = rng.randn(8, 5).astype(np.float32)
    ys = rng.randn(8, 1).astype(np.float32)
    w0 = rng.randn(5, 1).astype(np.float32)

    def train(n_towers, config):
        with tf.Graph().as_default():
            with tf.device("/cpu:0"):
                w = tf.Variable(w0)
            opt = tf.train.GradientDescentOptimizer(0.1)
            grads = []
            for i, (xb, yb) in enumerate(zip(np.split(xs, n_towers), np.split(ys, n_towers))):
                with tf.device("/cpu:%d" % i), tf.name_scope("tower%d" % i):
                    loss = tf.reduce_mean(tf.square(tf.matmul(tf.constant(xb), w) - yb))
                    grads.append(opt.compute_gradients(loss, [w])[0][0])
            with tf.device("/cpu:0"):
                step = opt.apply_gradients([(tf.add_n(grads) / float(n_towers), w)])
            with tf.Session(config=config) as s:
                s.run(w.initializer)
                for _ in range(3):
                    s.run(step)
                return s.run(w)
    np.testing.assert_allclose(train(1, cfg(1)), train(4, cfg(4)), rtol=1e-5, atol=1e-6)
