"""The distributed execution core: tf.train.Server, tf.Session(target), partitions on tasks,
state on ps tasks, placement of /job:/task: requests, fp16 transfers, traces."""
import subprocess
import sys

import numpy as np
import pytest

import tfnb as tf


def _mlp(x, y, ps="/job:ps/task:0", towers=("/job:worker/task:0", "/job:worker/task:1")):
    """Two towers sharing ps variables; the loss is the mean of the towers' losses."""
    rng = np.random.RandomState(3)
    with tf.device(ps):
        w1 = tf.Variable(rng.randn(4, 8).astype(np.float32), name="w1")
        b1 = tf.Variable(np.zeros(8, np.float32), name="b1")
        w2 = tf.Variable(rng.randn(8, 3).astype(np.float32), name="w2")
    losses = []
    for i, dev in enumerate(towers):
        with tf.device(dev):
            xs = x[i * 4:(i + 1) * 4]
            ys = y[i * 4:(i + 1) * 4]
            h = tf.nn.relu(tf.matmul(xs, w1) + b1)
            logits = tf.matmul(h, w2)
            losses.append(tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(
                labels=ys, logits=logits)))
    loss = tf.add_n(losses) / float(len(losses))
    grads = tf.gradients(loss, [w1, b1, w2])
    with tf.device(ps):
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    return [w1, b1, w2], loss, grads, train


def _data():
    rng = np.random.RandomState(0)
    x = rng.randn(8, 4).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.randint(0, 3, 8)]
    return x, y


def _run_mlp(target, devices, steps=3):
    x_np, y_np = _data()
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [8, 4])
        y = tf.placeholder(tf.float32, [8, 3])
        if devices:
            variables, loss, grads, train = _mlp(x, y)
        else:
            variables, loss, grads, train = _mlp(x, y, ps=None, towers=(None, None))
        out = []
        with tf.Session(target) as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(steps):
                out.append(sess.run([loss] + grads, {x: x_np, y: y_np}))
                sess.run(train, {x: x_np, y: y_np})
            out.append(sess.run(variables))
            placement = sess.placement([loss] + grads, {x: x_np, y: y_np}) if devices else None
    return out, placement


def test_model_split_across_ps_and_two_workers_matches_one_process(cluster):
    remote, placement = _run_mlp(cluster.target(), True)
    local, _ = _run_mlp("", False)
    for r, l in zip(remote, local):
        for a, b in zip(r, l):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    where = {row["op"]: row["assigned"] for row in placement}
    assert where["w1"] == "/job:ps/replica:0/task:0/device:CPU:0"
    assert where["MatMul"].startswith("/job:worker/replica:0/task:0")
    assert where["MatMul_2"].startswith("/job:worker/replica:0/task:1")


def test_ps_variables_persist_across_sessions_and_clients_until_reset(cluster):
    def build():
        with tf.device("/job:ps/task:0"):
            v = tf.Variable(np.arange(3, dtype=np.float32), name="v")
            step = tf.Variable(0, name="step")
        return v, step

    with tf.Graph().as_default():
        v, step = build()
        with tf.Session(cluster.target()) as s:
            s.run(tf.global_variables_initializer())
            s.run([v.assign_add([1.0, 1.0, 1.0]), step.assign_add(5)])
    # Another client graph (same names), through another task of the cluster.
    with tf.Graph().as_default():
        v, step = build()
        with tf.Session(cluster.target("worker", 1)) as s:
            np.testing.assert_array_equal(s.run(v), [1.0, 2.0, 3.0])
            assert s.run(step) == 5
            assert len(s.run(tf.report_uninitialized_variables())) == 0
        tf.Session.reset(cluster.target())
        with tf.Session(cluster.target()) as s:
            assert sorted(s.run(tf.report_uninitialized_variables())) == [b"step", b"v"]
            with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value v"):
                s.run(v)


def test_reset_of_one_container_keeps_the_others(cluster):
    with tf.device("/job:ps/task:0"):
        v = tf.Variable(1.0, name="v")
    with tf.Session(cluster.target()) as s:
        s.run(v.initializer)
    tf.Session.reset(cluster.target(), containers=["other"])
    with tf.Session(cluster.target()) as s:
        assert s.run(v) == 1.0
    tf.Session.reset(cluster.target(), containers=[""])
    with tf.Session(cluster.target()) as s:
        assert not s.run(tf.is_variable_initialized(v))


def test_fp16_transfer_option_rounds_only_cross_task_float32_edges(cluster):
    third = np.float32(1.0) / np.float32(3.0)
    with tf.device("/job:worker/task:1"):
        a = tf.constant([third, 1000.1], tf.float32) * 1.0
        n = tf.constant([7], tf.int32) + 0
    with tf.device("/job:worker/task:0"):
        b = a * 1.0
        m = n + 0
    with tf.Session(cluster.target()) as s:
        exact = s.run(b)
    with tf.Session(cluster.target(), config=tf.ConfigProto(transfer_fp16=True)) as s:
        rounded, ints = s.run([b, m])
        here = s.run(a)  # fetched from its own task: no transfer between tasks
    np.testing.assert_array_equal(exact, [third, np.float32(1000.1)])
    np.testing.assert_array_equal(rounded, np.array([third, 1000.1], np.float16).astype(np.float32))
    assert rounded.dtype == np.float32 and ints.tolist() == [7]
    np.testing.assert_array_equal(here, [third, np.float32(1000.1)])


def test_requests_without_a_job_run_on_the_session_task(cluster):
    with tf.device("/cpu:0"):
        a = tf.constant(1.0, name="a")
    b = tf.add(a, 1.0, name="b")
    with tf.device("/job:worker"):  # no task: the job's first task, as TF1
        c = tf.add(b, 1.0, name="c")
    with tf.Session(cluster.target("worker", 1)) as s:
        assert s.run(c) == 3.0
        where = {r["op"]: r["assigned"] for r in s.placement()}
    assert where["a"] == where["b"] == "/job:worker/replica:0/task:1/device:CPU:0"
    assert where["c"] == "/job:worker/replica:0/task:0/device:CPU:0"


@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("request_", ["/job:nope/task:0", "/job:worker/task:7"])
def test_unknown_job_or_task_is_an_error_with_or_without_soft_placement(cluster, soft, request_):
    with tf.device(request_):
        x = tf.constant(2.0, name="far_away") * 3.0
    with tf.Session(cluster.target(), config=tf.ConfigProto(allow_soft_placement=soft)) as s:
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match="Cannot assign a device for operation far_away.*%s"
                           % request_.replace("/", ".")):
            s.run(x)


def test_soft_placement_relaxes_the_device_but_keeps_the_task(cluster):
    with tf.device("/job:worker/task:1/device:GPU:3"):
        x = tf.constant(2.0, name="gpu_op") * 3.0
    with tf.Session(cluster.target(), config=tf.ConfigProto(allow_soft_placement=True)) as s:
        assert s.run(x) == 6.0
        where = {r["op"]: r for r in s.placement()}
    assert where["gpu_op"]["assigned"] == "/job:worker/replica:0/task:1/device:CPU:0"
    assert "soft placement" in where["gpu_op"]["reason"]


def test_control_dependency_across_tasks_orders_the_step(cluster):
    with tf.device("/job:ps/task:0"):
        v = tf.Variable(0.0, name="v")
        inc = v.assign_add(1.0)
    with tf.device("/job:worker/task:1"):
        with tf.control_dependencies([inc]):
            after = v.read_value() * 1.0
    with tf.Session(cluster.target()) as s:
        s.run(v.initializer)
        assert [s.run(after) for _ in range(3)] == [1.0, 2.0, 3.0]


def test_shared_queue_by_name_across_clients(cluster):
    def build():
        with tf.device("/job:ps/task:0"):
            q = tf.FIFOQueue(10, tf.float32, shapes=[], shared_name="shared_q", name="q")
        return q

    with tf.Graph().as_default():
        q = build()
        with tf.Session(cluster.target()) as s:
            s.run(q.enqueue_many([[1.0, 2.0, 3.0]]))
    with tf.Graph().as_default():
        q = build()
        with tf.Session(cluster.target("worker", 1)) as s:
            assert s.run(q.size()) == 3
            assert s.run(q.dequeue()) == 1.0


def test_step_trace_has_one_lane_per_task_device_with_send_and_recv(cluster):
    with tf.device("/job:ps/task:0"):
        w = tf.Variable(np.ones((3, 3), np.float32), name="w")
    with tf.device("/job:worker/task:1"):
        y = tf.matmul(w, w, name="y")
    z = tf.reduce_sum(y, name="z")
    with tf.Session(cluster.target()) as s:
        s.run(w.initializer)
        md = tf.RunMetadata()
        assert s.run(z, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE),
                     run_metadata=md) == 27.0
    lanes = {d.device: d.node_stats for d in md.step_stats.dev_stats}
    assert set(lanes) == {"/job:ps/replica:0/task:0/device:CPU:0",
                          "/job:worker/replica:0/task:0/device:CPU:0",
                          "/job:worker/replica:0/task:1/device:CPU:0"}
    names = {d: [(n.node_name, n.op_type) for n in ns] for d, ns in lanes.items()}
    assert ("y", "MatMul") in names["/job:worker/replica:0/task:1/device:CPU:0"]
    assert ("z", "Sum") in names["/job:worker/replica:0/task:0/device:CPU:0"]
    sends = [n for n in lanes["/job:worker/replica:0/task:1/device:CPU:0"] if n.op_type == "_Send"]
    assert sends and sends[0].timeline_label == "_Send y:0 to /job:worker/replica:0/task:0/device:CPU:0"
    for ns in lanes.values():
        for n in ns:
            assert n.all_start_micros > 1e15 and n.all_end_rel_micros >= 0
    recvs = [n for n in lanes["/job:worker/replica:0/task:0/device:CPU:0"] if n.op_type == "_Recv"]
    assert recvs[0].timeline_label == "_Recv y:0 from /job:worker/replica:0/task:1/device:CPU:0"
    from tfnb.client import timeline
    trace = timeline.Timeline(md.step_stats).generate_chrome_trace_format()
    assert "task:1" in trace
    from tfnb.notebook.step_timeline import timeline_model
    model = timeline_model(md.step_stats, tf.get_default_graph())
    assert len(model["arrows"]) == 3 and model["unmatched_transfers"] == 0  # w twice, y once
    assert [g["label"] for g in model["groups"]] == ["ps:0", "worker:0", "worker:1"]


def test_server_target_server_def_and_local_server():
    server = tf.train.Server.create_local_server()
    try:
        assert server.target.startswith("grpc://localhost:")
        assert server.server_def.job_name == "localhost"
        assert server.server_def.cluster.job[0].tasks[0] == server.target[len("grpc://"):]
        with tf.Session(server.target) as s:
            assert s.run(tf.constant(2.0) * 4.0) == 8.0
            assert [d.name for d in s.list_devices()] == [
                "/job:localhost/replica:0/task:0/device:CPU:0"]
        for scheme in ("tcp://", b"grpc://"):
            target = scheme + server.target[len("grpc://"):].encode() if isinstance(scheme, bytes) \
                else scheme + server.target[len("grpc://"):]
            with tf.Session(target) as s:
                assert s.run(tf.constant(1.0) + 1.0) == 2.0
    finally:
        server.stop()


def test_core_import_does_not_import_dask():
    out = subprocess.run([sys.executable, "-c", "import sys, tfnb as tf; tf.Session; tf.train; "
                          "print(any(m.split('.')[0] in ('distributed', 'dask') "
                          "for m in sys.modules))"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# --- issue 9: placement requests hold on one-device sessions and for folded ops ---------------
def test_unsatisfiable_request_on_a_one_device_session_even_when_folded():
    with tf.device("/gpu:7"):
        a = tf.constant(2.0, name="c") * 3.0
    with tf.Session() as s:
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match="Cannot assign a device for operation c.*/device:GPU:7"):
            s.run(a)
    with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as s:
        assert s.run(a) == 6.0
    with tf.device("/job:worker/task:0"):
        b = tf.constant(1.0, name="remote") + 1.0
    with tf.Session(config=tf.ConfigProto(allow_soft_placement=True)) as s:
        with pytest.raises(tf.errors.InvalidArgumentError, match="operation remote"):
            s.run(b)
    with tf.device("/job:localhost/replica:0/task:0/cpu:0"):
        c = tf.constant(1.0) + 1.0
    with tf.Session() as s:
        assert s.run(c) == 2.0


def test_device_filters_hide_the_other_tasks(cluster):
    with tf.device("/job:worker/task:1"):
        x = tf.constant(1.0, name="elsewhere") + 1.0
    cfg = tf.ConfigProto(device_filters=["/job:ps", "/job:worker/task:0"])
    with tf.Session(cluster.target(), config=cfg) as s:
        assert [d.name for d in s.list_devices()] == [
            "/job:worker/replica:0/task:0/device:CPU:0", "/job:ps/replica:0/task:0/device:CPU:0"]
        with pytest.raises(tf.errors.InvalidArgumentError, match="operation elsewhere"):
            s.run(x)


def test_functions_on_tasks_while_cond_and_their_gradients(cluster):
    with tf.device("/job:ps/task:0"):
        v = tf.Variable(2.0, name="v")
    idx = tf.placeholder(tf.int32, [])
    with tf.device("/job:worker/task:1"):
        r = tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * v),
                          [tf.constant(0), tf.constant(1.0)])[1]  # reads v: runs with v on ps
        c = tf.cond(r > 5.0, lambda: r * 2.0, lambda: r)
        bad = tf.while_loop(lambda i, a: i < 2,
                            lambda i, a: (i + 1, a + tf.gather(a, [idx, 0], name="in_loop")),
                            [tf.constant(0), tf.constant([1.0, 2.0])])[1]
    g = tf.gradients(c, v)[0]
    with tf.Session(cluster.target()) as s:
        s.run(v.initializer)
        assert s.run([r, c, g]) == [8.0, 16.0, 24.0]  # d(2 v^3)/dv = 6 v^2
        np.testing.assert_array_equal(s.run(bad, {idx: 1}), [6.0, 6.0])
        with pytest.raises(tf.errors.InvalidArgumentError) as e:
            s.run(bad, {idx: 5})
        assert "in_loop" in str(e.value) and "test_runtime.py:" in str(e.value)
        assert "task:1" in str(e.value)
        where = {row["op"]: row for row in s.placement([r, c, g])}
    assert where["while/While"]["assigned"].startswith("/job:ps/replica:0/task:0")
    assert where["cond/If"]["assigned"].startswith("/job:worker/replica:0/task:1")


def test_feed_only_and_empty_steps(cluster):
    x = tf.placeholder(tf.float32, [])
    with tf.Session(cluster.target()) as s:
        assert s.run(x, {x: 3.0}) == 3.0
        assert s.run([]) == []


def test_tls_servers_and_session():
    from distributed import Security
    from cluster_helpers import free_ports
    sec = Security.temporary()
    p1, p2 = free_ports(2)
    spec = {"ps": ["127.0.0.1:%d" % p1], "worker": ["127.0.0.1:%d" % p2]}
    servers = [tf.train.Server(spec, job, 0, protocol="tls", security=sec)
               for job in ("ps", "worker")]
    try:
        assert servers[1].target == "tls://127.0.0.1:%d" % p2
        with tf.device("/job:ps/task:0"):
            v = tf.Variable(3.0)
        with tf.device("/job:worker/task:0"):
            y = v * 2.0
        with tf.Session(servers[1].target, config=tf.ConfigProto(security=sec)) as s:
            s.run(v.initializer)
            assert s.run(y) == 6.0
        with pytest.raises(tf.errors.InvalidArgumentError, match="uses TLS"):
            tf.Session(servers[1].target)
    finally:
        for s in servers:
            s.stop()


def test_tfcompat_distributed_local_program_matches_tensorflow():
    import os
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    check = os.path.join(os.path.dirname(root), "shared", "tfcompat", "check.py")
    if not os.path.exists(check):
        pytest.skip("../shared/tfcompat is not beside the repo")
    r = subprocess.run([sys.executable, check, "distributed_local"], cwd=root,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "1 passed, 0 failed" in r.stdout, r.stdout + r.stderr


def test_queue_runner_threads_on_a_remote_queue_and_closing_cancels_blocked_steps(cluster):
    with tf.device("/job:worker/task:1"):
        q = tf.FIFOQueue(4, tf.float32, shapes=[], name="q")
        counter = tf.Variable(0.0, name="counter")
        enqueue = q.enqueue(counter.assign_add(1.0))
        taken = q.dequeue()
    qr = tf.train.QueueRunner(q, [enqueue])
    s = tf.Session(cluster.target())
    s.run(counter.initializer)
    coord = tf.train.Coordinator()
    threads = qr.create_threads(s, coord=coord, start=True)
    got = [s.run(taken) for _ in range(6)]
    assert got == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    coord.request_stop()
    coord.join(threads, stop_grace_period_secs=10)
    # A step blocked on the task (the queue is empty after draining) ends when the session closes.
    s.run(q.close(cancel_pending_enqueues=True))
    with tf.device("/job:worker/task:1"):
        q2 = tf.FIFOQueue(1, tf.float32, shapes=[], name="empty")
    errs = []

    def blocked():
        try:
            s.run(q2.dequeue())
        except (tf.errors.CancelledError, RuntimeError) as e:
            errs.append(e)
    import threading
    t = threading.Thread(target=blocked)
    t.start()
    import time
    time.sleep(0.3)
    s.close()
    t.join(10)
    assert not t.is_alive() and isinstance(errs[0], tf.errors.CancelledError)
