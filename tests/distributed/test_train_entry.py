"""tfnb.distribute.train: a notebook's graph trained on cluster tasks, async and sync, with the
values coming back; bad input; interrupts. Servers run on 127.0.0.1 and are stopped by each test."""
import _thread
import json
import os
import threading
import time

import numpy as np
import pytest

import tfnb as tf
from cluster_helpers import LocalCluster
from tfnb.distribute import training
from tfnb.distribute.training import train
from tfnb.notebook import TrainingMonitor


def _linear(dtype=tf.float32, optimizer=None, lr=0.1, n_in=3):
    x = tf.placeholder(dtype, [None, n_in], name="x")
    y = tf.placeholder(dtype, [None, 1], name="y")
    w = tf.Variable(np.linspace(-1, 1, n_in).reshape(n_in, 1).astype(dtype.np), name="w")
    b = tf.Variable(np.zeros([1], dtype.np), name="b")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))
    opt = optimizer(lr) if optimizer else tf.train.GradientDescentOptimizer(lr)
    return x, y, w, b, loss, opt.minimize(loss)


def _data(n=40, n_in=3, dtype=np.float32, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, n_in).astype(dtype)
    Y = (X.dot(np.arange(1, n_in + 1).reshape(n_in, 1)) + 0.5).astype(dtype)
    return X, Y


def _quiet_tasks(cluster):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        states = [s.service.state_info() for s in cluster.servers.values()]
        if all(st["live_steps"] == 0 for st in states):
            return states
        time.sleep(0.02)
    return states


def test_async_between_graph_replicas_train_and_the_values_come_back(cluster):
    X, Y = _data(200)
    with tf.Graph().as_default() as g:
        x, y, w, b, loss, step = _linear()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            w_before = sess.run(w)
            first = sess.run(loss, {x: X, y: Y})
            mon = TrainingMonitor(backend=None)
            r = train(step, loss=loss, feeds={x: X, y: Y}, cluster=cluster.cluster, mode="async",
                      steps=60, batch_size=10, monitor=mon, session=sess)
            # The live view: one loss line and one steps/s line per replica.
            assert {"replica 0/loss", "replica 1/loss", "replica 0/steps/s"} <= set(mon.history)
            assert mon.closed and mon.n >= 60
            assert r.mode == "async" and r.replicas == [0, 1]
            assert 60 <= r.global_step <= 61 and r.start_step == 0
            # Both replicas ran; together they made every global step (one each per step).
            local = {rep: h[-1][0] for rep, h in r.history.items()}
            assert set(local) == {0, 1} and all(n > 5 for n in local.values())
            assert sum(local.values()) == r.global_step
            # The trained values are back in the notebook's session ...
            np.testing.assert_array_equal(sess.run(w), r.values["w"])
            assert not np.array_equal(r.values["w"], w_before)
            assert sess.run(loss, {x: X, y: Y}) < first / 10
            # ... and they are the ps's values.
    with tf.Graph().as_default():
        with tf.device("/job:ps/task:0"):
            w_ps = tf.Variable(tf.zeros([3, 1]), name="w")
        with tf.Session(cluster.target()) as s:
            np.testing.assert_array_equal(s.run(w_ps), r.values["w"])
    assert g.get_operation_by_name("x").type == "Placeholder"
    states = _quiet_tasks(cluster)
    assert all(st["live_steps"] == 0 for st in states), states


def _reference(X, Y, shards, batch, steps, optimizer, lr, dtype):
    """One process running the same model on the concatenated batches of every replica."""
    with tf.Graph().as_default():
        x, y, w, b, loss, step = _linear(dtype, optimizer, lr)
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            for k in range(steps):
                rows = [sh[(k * batch + np.arange(batch)) % len(sh)] for sh in shards]
                s.run(step, {x: X[np.concatenate(rows)], y: Y[np.concatenate(rows)]})
            return s.run([w, b])


@pytest.mark.parametrize("optimizer", [None, tf.train.AdamOptimizer])
def test_sync_equals_one_process_on_the_concatenated_batches(cluster, optimizer):
    X, Y = _data(42, dtype=np.float64)
    lr = 0.1 if optimizer is None else 0.05
    with tf.Graph().as_default():
        x, y, w, b, loss, step = _linear(tf.float64, optimizer, lr)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            r = train(step, loss=loss, feeds={x: X, y: Y}, cluster=cluster.cluster, mode="sync",
                      steps=7, batch_size=5, shuffle=False, monitor=False, session=sess)
    assert r.global_step == 7 and r.samples_per_step == 10
    assert [h[-1][0] for h in r.history.values()] == [7, 7]
    # Replica r holds rows array_split(range(42), 2)[r]; batches wrap around its shard.
    shards = np.array_split(np.arange(42), 2)
    w_ref, b_ref = _reference(X, Y, shards, 5, 7, optimizer, lr, tf.float64)
    np.testing.assert_allclose(r.values["w"], w_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(r.values["b"], b_ref, rtol=1e-12, atol=1e-14)
    assert np.abs(r.values["w"] - np.linspace(-1, 1, 3).reshape(3, 1)).max() > 0.05


def test_sync_graph_places_towers_on_workers_and_averages_on_the_ps(cluster):
    X, Y = _data(40)
    with tf.Graph().as_default():
        x, y, w, b, loss, step = _linear()
        text, job = training.make_job(step, loss, cluster.cluster, mode="sync", batch_size=4,
                                      feeds={x: X, y: Y})
    job["shard_sizes"] = {"0": 20, "1": 20}
    job["target_step"] = 1
    job["ready_timeout"] = job["recovery_timeout"] = 5.0
    assert [v for _, v in job["gradients"]] == ["w", "b"]
    g, h = training.build_replica_graph(job, text, [0, 1])
    with g.as_default(), tf.Session(cluster.target()) as s:
        s.run([v.initializer for v in h.variables])
        for t in (0, 1):
            training.load_shard(job, t, [X[t * 20:(t + 1) * 20], Y[t * 20:(t + 1) * 20]],
                                cluster.target("worker", t))
        s.run([h.step_var.initializer, h.stop_var.initializer, h.version_var.initializer])
        s.run(h.global_step)
        where = {p["op"]: p["assigned"] for p in s.placement()}
    worker = "/job:worker/replica:0/task:%d/device:CPU:0"
    ps = "/job:ps/replica:0/task:0/device:CPU:0"
    assert where["tower_0/MatMul"] == worker % 0 and where["tower_1/MatMul"] == worker % 1
    assert where["GradientDescent/update_w/ApplyGD"] == ps
    averages = [op for op in where if op.startswith("tfnb_train/average/")]
    assert averages and all(where[op] == ps for op in averages)
    data = [op for op in where if op.startswith("tfnb_train/data/w1/")]
    assert data and all(where[op] == worker % 1 for op in data)


def test_dask_cluster_async_then_sync_with_dask_array_data():
    pytest.importorskip("distributed")
    da = pytest.importorskip("dask.array")
    from tfnb.distribute import DaskCluster
    X, Y = _data(240)
    with DaskCluster(ps=1, worker=2, timeout=60) as c, tf.Graph().as_default():
        x, y, w, b, loss, step = _linear()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            feeds = {x: da.from_array(X, chunks=60), y: da.from_array(Y, chunks=60)}
            ra = train(step, loss=loss, feeds=feeds, cluster=c, mode="async", steps=40,
                       batch_size=10, monitor=False)
            # Each replica ran in the Dask worker hosting its task and reported from there.
            assert set(ra.history) == {0, 1} and all(ra.history.values())
            assert ra.global_step >= 40
            np.testing.assert_array_equal(sess.run(w), ra.values["w"])
            rs = train(step, loss=loss, feeds={x: X, y: Y}, cluster=c, mode="sync", steps=20,
                       batch_size=10, monitor=False)
            assert rs.start_step == 0 and rs.global_step == 20  # a fresh step counter per run
            assert rs.final_loss() < ra.final_loss() or rs.final_loss() < 1e-3
            np.testing.assert_array_equal(sess.run(b), rs.values["b"])
        # Another model whose placeholders have the same names but other shapes, with a
        # GraphDef too big to send in a task's arguments (initial values of 1 MB).
        with tf.Graph().as_default():
            X5, Y5 = _data(120, n_in=5)
            x5 = tf.placeholder(tf.float32, [None, 5], name="x")
            y5 = tf.placeholder(tf.float32, [None, 1], name="y")
            big = tf.Variable(np.zeros((500, 500), np.float32), name="big")
            w5 = tf.Variable(tf.zeros([5, 1]), name="w")
            loss5 = tf.reduce_mean(tf.square(tf.matmul(x5, w5) - y5)) + \
                tf.reduce_sum(big) * 0.0
            step5 = tf.train.GradientDescentOptimizer(0.05).minimize(loss5)
            r5 = train(step5, loss=loss5, feeds={x5: X5, y5: Y5}, cluster=c, mode="async",
                       steps=30, batch_size=10, monitor=False)
            assert r5.values["w"].shape == (5, 1) and r5.global_step >= 30
        # The notebook's stop button: every replica, in its Dask worker, stops after its step.
        with tf.Graph().as_default():
            x, y, w, b, loss, step = _linear(lr=0.01)
            timer = threading.Timer(2.0, _thread.interrupt_main)
            timer.start()
            try:
                ri = train(step, loss=loss, feeds={x: X, y: Y}, cluster=c, steps=10 ** 7,
                           batch_size=5, monitor=False)
            finally:
                timer.cancel()
            assert ri.interrupted and 0 < ri.global_step < 10 ** 7
        assert set(c.status().values()) == {"running"}


def test_eager_values_in_an_interactive_session_refresh(cluster):
    X, Y = _data(40)
    g = tf.Graph()
    sess = tf.InteractiveSession(graph=g)
    try:
        with g.as_default():
            x, y, w, b, loss, step = _linear()
            sess.run(tf.global_variables_initializer())
            shown = w.numpy().copy()  # the value the notebook shows
            r = train(step, loss=loss, feeds={x: X, y: Y}, cluster=cluster.cluster,
                      steps=20, batch_size=4, monitor=False)
            assert not np.array_equal(r.values["w"], shown)
            np.testing.assert_array_equal(w.numpy(), r.values["w"])
            np.testing.assert_array_equal(w.eval(), r.values["w"])
    finally:
        sess.close()


def test_a_loss_with_an_optimizer_scalar_feeds_and_input_fn(cluster):
    X, Y = _data(60)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 3], name="x")
        y = tf.placeholder(tf.float32, [None, 1], name="y")
        keep = tf.placeholder(tf.float32, [], name="keep")
        w = tf.Variable(tf.zeros([3, 1]), name="w")
        loss = tf.reduce_mean(tf.square(tf.matmul(x, w) * keep - y))

        def input_fn(replica, num_replicas):
            return {"x": X[replica::num_replicas], y: Y[replica::num_replicas]}
        r = train(loss, optimizer=tf.train.GradientDescentOptimizer(0.05), feeds={keep: 1.0},
                  input_fn=input_fn, cluster=cluster.cluster, steps=30, batch_size=6,
                  monitor=False)
        assert r.global_step >= 30 and r.final_loss() < 2.0
        assert "w" in r.values  # no session: values only in the result


def test_checkpoints_resume_with_max_steps(cluster, tmp_path):
    X, Y = _data(40)
    with tf.Graph().as_default():
        x, y, w, b, loss, step = _linear()
        r1 = train(step, loss=loss, feeds={x: X, y: Y}, cluster=cluster.cluster, mode="sync",
                   max_steps=5, batch_size=4, monitor=False, checkpoint_dir=str(tmp_path))
        assert r1.global_step == 5 and r1.checkpoint.endswith("model.ckpt-5")
        assert tf.train.latest_checkpoint(str(tmp_path)) == r1.checkpoint
        r2 = train(step, loss=loss, feeds={x: X, y: Y}, cluster=cluster.cluster, mode="sync",
                   max_steps=9, batch_size=4, monitor=False, checkpoint_dir=str(tmp_path))
        assert r2.start_step == 5 and r2.global_step == 9
        assert any("restored model.ckpt-5" in text for _, text in r2.events)


def test_keyboard_interrupt_stops_cleanly_and_the_cluster_stays_usable(cluster):
    X, Y = _data(100)
    with tf.Graph().as_default():
        x, y, w, b, loss, step = _linear(lr=0.01)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            timer = threading.Timer(1.5, _thread.interrupt_main)
            timer.start()
            t0 = time.monotonic()
            try:
                r = train(step, loss=loss, feeds={x: X, y: Y}, cluster=cluster.cluster,
                          steps=10 ** 7, batch_size=5, monitor=False, session=sess)
            finally:
                timer.cancel()
            assert r.interrupted and 0 < r.global_step < 10 ** 7
            assert time.monotonic() - t0 < 30
            assert any("interrupted" in t for _, t in r.events)
            np.testing.assert_array_equal(sess.run(w), r.values["w"])  # values came back
            assert all(st["live_steps"] == 0 for st in _quiet_tasks(cluster))
            again = train(step, loss=loss, feeds={x: X, y: Y}, cluster=cluster.cluster,
                          steps=10, batch_size=5, monitor=False, session=sess)
            assert not again.interrupted and again.start_step == 0 and again.global_step >= 10


# --- bad input -------------------------------------------------------------------------------
def test_bad_arguments_are_named_before_anything_runs(cluster, tmp_path):
    X, Y = _data(20)
    with tf.Graph().as_default():
        x, y, w, b, loss, step = _linear()
        kw = dict(loss=loss, cluster=cluster.cluster, monitor=False)
        with pytest.raises(tf.errors.InvalidArgumentError, match="placeholder.*'y'"):
            train(step, feeds={x: X}, **kw)
        with pytest.raises(ValueError, match="distinct worker task indices"):
            train(step, feeds={x: X, y: Y}, replicas=[0, 5], **kw)
        with pytest.raises(ValueError, match="mode must be"):
            train(step, feeds={x: X, y: Y}, mode="bulk", **kw)
        with pytest.raises(ValueError, match="same number of rows"):
            train(step, feeds={x: X, y: Y[:5]}, **kw)
        with pytest.raises(TypeError, match="needs loss="):
            train(step, feeds={x: X, y: Y}, cluster=cluster.cluster)
        with pytest.raises(TypeError, match="cluster must be"):
            train(step, loss=loss, feeds={x: X, y: Y}, cluster=42)
        blocker = tmp_path / "a_file"
        blocker.write_text("not a directory")
        with pytest.raises(tf.errors.PermissionDeniedError, match="not writable"):
            train(step, feeds={x: X, y: Y}, checkpoint_dir=str(blocker / "ckpt"), **kw)
        assert blocker.read_text() == "not a directory"
        ro = tmp_path / "ro"
        ro.mkdir()
        os.chmod(ro, 0o500)
        try:
            if os.access(str(ro), os.W_OK):
                pytest.skip("running as a user who can write anywhere")
            with pytest.raises(tf.errors.PermissionDeniedError, match="not writable"):
                train(step, feeds={x: X, y: Y}, checkpoint_dir=str(ro), **kw)
            assert os.listdir(str(ro)) == []
        finally:
            os.chmod(ro, 0o700)


def test_sync_refuses_sparse_gradients_with_a_typed_error(cluster):
    with tf.Graph().as_default():
        ids = tf.placeholder(tf.int32, [None], name="ids")
        emb = tf.Variable(tf.ones([10, 2]), name="emb")
        loss = tf.reduce_sum(tf.nn.embedding_lookup(emb, ids))
        step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with pytest.raises(tf.errors.UnimplementedError, match="sparse"):
            train(step, loss=loss, feeds={ids: np.arange(10)}, cluster=cluster.cluster,
                  mode="sync", monitor=False)


def test_nan_in_one_replicas_data_fails_the_step_and_changes_nothing(cluster):
    X, Y = _data(40)
    X[20:] = np.nan  # replica 1's whole shard (shuffle=False)
    with tf.Graph().as_default():
        x, y, w, b, loss, step = _linear()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            before = sess.run(w)
            with pytest.raises(tf.errors.InvalidArgumentError, match="loss of replica 1"):
                train(step, loss=loss, feeds={x: X, y: Y}, cluster=cluster.cluster, mode="sync",
                      steps=5, batch_size=4, shuffle=False, monitor=False, session=sess)
            np.testing.assert_array_equal(sess.run(w), before)  # nothing came back
    with tf.Graph().as_default():
        with tf.device("/job:ps/task:0"):
            w_ps = tf.Variable(tf.zeros([3, 1]), name="w")
        with tf.Session(cluster.target()) as s:
            np.testing.assert_array_equal(s.run(w_ps), before)  # no step was applied


def test_a_replica_with_another_graph_version_or_no_chief_is_refused(cluster):
    X, Y = _data(40)
    with tf.Graph().as_default():
        x, y, w, b, loss, step = _linear()
        text, job = training.make_job(step, loss, cluster.cluster, batch_size=4,
                                      feeds={x: X, y: Y})
    job.update(shard_sizes={"0": 20, "1": 20}, target_step=10 ** 6, ready_timeout=1.0,
               recovery_timeout=1.0)
    # No chief initialized anything: a bounded wait, then a clear error.
    tf.Session.reset(cluster.target())
    t0 = time.monotonic()
    with pytest.raises(tf.errors.DeadlineExceededError, match="is there a chief"):
        training.run_replica(job, text, 1, cluster.target("worker", 1),
                             data=[X[:20], Y[:20]])
    assert time.monotonic() - t0 < 10
    # A chief trains this graph; a replica built from a changed graph is refused at once.
    with tf.Graph().as_default():
        x2, y2, w2, b2, loss2, step2 = _linear(lr=0.2)  # another learning rate: another graph
        text2, job2 = training.make_job(step2, loss2, cluster.cluster, batch_size=4,
                                        feeds={x2: X, y2: Y})
    assert job2["graph_version"] != job["graph_version"]
    job2.update(shard_sizes={"0": 20, "1": 20}, target_step=10 ** 6, ready_timeout=5.0,
                recovery_timeout=1.0)
    g, h = training.build_replica_graph(job, text, [0])
    with g.as_default(), tf.Session(cluster.target()) as s:
        s.run([v.initializer for v in h.variables] + [h.step_var.initializer,
                                                      h.stop_var.initializer,
                                                      h.version_var.initializer])
        with pytest.raises(tf.errors.FailedPreconditionError, match="graph version"):
            training.run_replica(job2, text2, 1, cluster.target("worker", 1),
                                 data=[X[:20], Y[:20]])


def test_job_is_plain_json_and_the_graph_travels_as_graphdef_text(cluster):
    X, Y = _data(20)
    with tf.Graph().as_default():
        x, y, w, b, loss, step = _linear()
        text, job = training.make_job(step, loss, cluster.cluster, feeds={x: X, y: Y})
    assert json.loads(json.dumps(job)) == job
    assert isinstance(text, bytes)  # GraphDef.SerializeToString: versioned JSON, never a pickle
    assert [n.name for n in tf.GraphDef.FromString(text).node] == [
        op.name for op in step.graph.get_operations()]
    with pytest.raises(ValueError, match="not a tfnb.TrainJob"):
        training.run_replica({"format": "pickle"}, text, 0, cluster.target())


def test_sync_trace_gives_the_placement_view_and_a_timeline_across_tasks(cluster):
    X, Y = _data(40)
    with tf.Graph().as_default():
        x, y, w, b, loss, step = _linear()
        r = train(step, loss=loss, feeds={x: X, y: Y}, cluster=cluster.cluster, mode="sync",
                  steps=5, batch_size=4, monitor=False, trace=True)
    devices = {row["assigned"] for row in r.placement.rows}
    assert devices == {"/job:ps/replica:0/task:0/device:CPU:0",
                       "/job:worker/replica:0/task:0/device:CPU:0",
                       "/job:worker/replica:0/task:1/device:CPU:0"}
    timeline = r.timeline()
    assert len(timeline.lanes) >= 3 and len(timeline.arrows) > 0  # network Send/Recv
    assert "/job:ps" in r.placement.to_html(use_dot=False)


def test_two_ps_tasks_share_the_variables_by_bytes():
    c = LocalCluster(ps=2, worker=2)
    try:
        X, Y = _data(40)
        with tf.Graph().as_default():
            x, y, w, b, loss, step = _linear()
            big = tf.Variable(np.zeros((50, 50), np.float32), name="big")
            loss2 = loss + tf.reduce_sum(big) * 0.0
            step2 = tf.train.GradientDescentOptimizer(0.1).minimize(loss2)
            _, job = training.make_job(step2, loss2, c.cluster, feeds={x: X, y: Y})
            assert job["ps"]["big"] != job["ps"]["w"] and set(job["ps"].values()) == {0, 1}
            for mode in ("async", "sync"):
                r = train(step2, loss=loss2, feeds={x: X, y: Y}, cluster=c.cluster, mode=mode,
                          steps=10, batch_size=4, monitor=False, trace=(mode == "sync"))
                assert r.global_step >= 10
            used = {row["assigned"].split("/device:")[0] for row in r.placement.rows}
            assert {"/job:ps/replica:0/task:0", "/job:ps/replica:0/task:1"} <= used
    finally:
        c.stop()
