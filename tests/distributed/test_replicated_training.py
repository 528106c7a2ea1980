"""Replicated training over the distributed runtime (issue 11, item 2, and the seed's program):
async between-graph replicas, SyncReplicasOptimizer, in-graph towers on worker tasks, model
parallelism across tasks and the hybrid, the seed slide's Supervisor program in real processes.

Servers run on 127.0.0.1; every wait is bounded; every process is stopped by its test."""
import json
import threading
import time

import numpy as np
import pytest

import tfnb as tf
from cluster_helpers import LocalCluster
from replica_programs import ProcCluster, read_json_lines

PS = "/job:ps/replica:0/task:%d/device:CPU:0"
WORKER = "/job:worker/replica:0/task:%d/device:CPU:0"


def _states(cluster):
    return [s.service.state_info() for s in cluster.servers.values()]


def test_closing_a_session_sends_the_last_steps_commit(cluster):
    """The verdict of a multi-task step is one-way; closing the session must not drop it (the
    task would keep the step's undo journal for STALE_STEP_S)."""
    with tf.device("/job:ps/task:0"):
        v = tf.Variable(1.0, name="v")
    with tf.device("/job:worker/task:1"):
        u = tf.Variable(0.0, name="u")
        step = tf.group(v.assign_add(1.0), u.assign_add(v.read_value()))
    s = tf.Session(cluster.target())
    s.run(tf.global_variables_initializer())
    s.run(step)
    s.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(st["pending_journals"] for st in _states(cluster)):
        time.sleep(0.02)
    assert [st["pending_journals"] for st in _states(cluster)] == [0, 0, 0]


def test_report_uninitialized_variables_over_variables_on_several_tasks(cluster):
    """Supervisor/MonitoredSession readiness: one op reading handles of variables on ps and
    worker tasks cannot be placed; one check per variable (as TF1) can."""
    with tf.device("/job:ps/task:0"):
        a = tf.Variable(1.0, name="a")
    with tf.device("/job:worker/task:1"):
        b = tf.Variable(2.0, name="b")
    ready = tf.report_uninitialized_variables()
    with tf.Session(cluster.target()) as s:
        assert list(s.run(ready)) == [b"a", b"b"]
        s.run(a.initializer)
        assert list(s.run(ready)) == [b"b"]
        s.run(b.initializer)
        assert list(s.run(ready)) == []


# --- async: between-graph replication --------------------------------------------------------
def _replica_graph(cluster_spec, task, lr=0.05):
    g = tf.Graph()
    with g.as_default():
        with tf.device(tf.train.replica_device_setter(
                cluster=cluster_spec, worker_device="/job:worker/task:%d" % task)):
            gs = tf.train.get_or_create_global_step()
            x = tf.placeholder(tf.float32, [None, 4], name="x")
            y = tf.placeholder(tf.float32, [None, 1], name="y")
            w = tf.Variable(tf.zeros([4, 1]), name="w")
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
            train = tf.train.GradientDescentOptimizer(lr).minimize(loss, global_step=gs)
            init = tf.global_variables_initializer()
    return g, dict(x=x, y=y, w=w, loss=loss, train=train, gs=gs, init=init)


def test_async_worker_programs_apply_their_own_gradients_on_the_ps():
    c = LocalCluster(ps=1, worker=3)
    try:
        rng = np.random.RandomState(0)
        X = rng.randn(300, 4).astype(np.float32)
        Y = X.dot([[1.0], [2.0], [-1.0], [0.5]]).astype(np.float32)
        g, m = _replica_graph(c.cluster, 0)
        with g.as_default(), tf.Session(c.target("worker", 0)) as s:  # the chief initializes
            s.run(m["init"])
            first = s.run(m["loss"], {m["x"]: X, m["y"]: Y})
        rounds, n = 30, 3
        seen, errors_, barrier = {}, [], threading.Barrier(n, timeout=30)

        def replica(task):
            try:
                g, m = _replica_graph(c.cluster, task)
                with g.as_default(), tf.Session(c.target("worker", task)) as s:
                    steps = []
                    for k in range(rounds):
                        barrier.wait()  # rounds: every replica makes one step per round
                        rows = slice(task * 100 + k % 10 * 10, task * 100 + k % 10 * 10 + 10)
                        _, step = s.run([m["train"], m["gs"]], {m["x"]: X[rows], m["y"]: Y[rows]})
                        steps.append(int(step))
                    seen[task] = (steps, s.placement())
            except BaseException as e:  # noqa: BLE001 - handed to the test
                errors_.append(e)
                barrier.abort()
        threads = [threading.Thread(target=replica, args=(t,)) for t in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors_, errors_
        # Every step of every replica increments the one global step on the ps: in round k
        # (all replicas past round k-1) a replica reads a global step in [N*k, N*(k+1)].
        for steps, _ in seen.values():
            assert len(steps) == rounds
            for k, step in enumerate(steps):
                assert n * k <= step <= n * (k + 1)
        for task, (_, placement) in seen.items():
            where = {p["op"]: p["assigned"] for p in placement}
            assert where["GradientDescent/update_w/ApplyGD"] == PS % 0  # the update runs there
            assert where["MatMul"] == WORKER % task
        with g.as_default(), tf.Session(c.target("worker", 1)) as s:
            last = s.run(m["loss"], {m["x"]: X, m["y"]: Y})
            assert s.run(m["gs"]) == n * rounds
        assert last < first / 20
    finally:
        c.stop()


# --- sync: SyncReplicasOptimizer over the runtime ---------------------------------------------
def test_sync_replicas_optimizer_across_tasks_equals_one_process_on_the_concatenated_batches(
        cluster):
    rng = np.random.RandomState(3)
    X = rng.randn(64, 3)
    Y = X.dot([[0.5], [-1.0], [2.0]]) + 0.1
    w0 = rng.randn(3, 1)
    K, B, N = 6, 4, 2

    def batch(r, k):
        rows = (r * 32 + k * B + np.arange(B)) % 64
        return X[rows], Y[rows]

    def build(task):
        with tf.device(tf.train.replica_device_setter(
                cluster=cluster.cluster, worker_device="/job:worker/task:%d" % task)):
            gs = tf.train.get_or_create_global_step()
            x = tf.placeholder(tf.float64, [None, 3], name="x")
            y = tf.placeholder(tf.float64, [None, 1], name="y")
            w = tf.Variable(w0, name="w")
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
            opt = tf.train.SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(0.1),
                                                 replicas_to_aggregate=N, total_num_replicas=N)
            train = opt.minimize(loss, global_step=gs)
        # num_tokens=0: no free first token, so every replica waits for each update and step
        # k averages exactly the replicas' k-th batches (TF1's default gives each replica a
        # token up front, and a fast replica's second batch may then count for step 0).
        return x, y, w, train, opt.make_session_run_hook(is_chief=(task == 0), num_tokens=0)

    results, errors_ = {}, []
    chief_ready = threading.Event()

    def replica(task):
        try:
            with tf.Graph().as_default():
                x, y, w, train, hook = build(task)
                hooks = [hook, tf.train.StopAtStepHook(last_step=K)]
                config = tf.ConfigProto(operation_timeout_in_ms=20000)
                if task != 0:  # TF1's SessionManager re-checks only every 30 s: start when ready
                    assert chief_ready.wait(60)
                with tf.train.MonitoredTrainingSession(
                        master=cluster.target("worker", task), is_chief=(task == 0),
                        hooks=hooks, config=config, max_wait_secs=60,
                        save_checkpoint_secs=None, save_summaries_steps=None,
                        log_step_count_steps=None) as sess:
                    chief_ready.set()
                    k = 0
                    while not sess.should_stop():
                        bx, by = batch(task, k)
                        sess.run(train, {x: bx, y: by})
                        k += 1
                    results[task] = k
        except BaseException as e:  # noqa: BLE001 - handed to the test
            errors_.append(e)
            chief_ready.set()
    threads = [threading.Thread(target=replica, args=(t,)) for t in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a replica hangs"
    assert not errors_, "\n\n".join(str(e) for e in errors_)
    with tf.Graph().as_default():
        with tf.device("/job:ps/task:0"):
            w_ps = tf.Variable(np.zeros((3, 1)), name="w")
            gs_ps = tf.Variable(np.int64(0), name="global_step")
        with tf.Session(cluster.target()) as s:
            w_dist, step = s.run([w_ps, gs_ps])
    assert step == K
    # One process, plain SGD on the K concatenated batches.
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [None, 3])
        y = tf.placeholder(tf.float64, [None, 1])
        w = tf.Variable(w0)
        train = tf.train.GradientDescentOptimizer(0.1).minimize(
            tf.reduce_mean(tf.square(tf.matmul(x, w) - y)))
        with tf.Session() as s:
            s.run(w.initializer)
            for k in range(K):
                parts = [batch(r, k) for r in range(N)]
                s.run(train, {x: np.concatenate([p[0] for p in parts]),
                              y: np.concatenate([p[1] for p in parts])})
            w_ref = s.run(w)
    np.testing.assert_allclose(w_dist, w_ref, rtol=1e-12, atol=1e-14)
    assert np.abs(w_ref - w0).max() > 0.05


# --- in-graph replication, model parallelism, hybrid -----------------------------------------
def _towers(n_towers, device_of_tower, ps_device, xs, ys, w0, steps=5):
    g = tf.Graph()
    with g.as_default():
        with tf.device(ps_device):
            w = tf.Variable(w0, name="w")
        opt = tf.train.GradientDescentOptimizer(0.1)
        grads = []
        for i, (xb, yb) in enumerate(zip(np.split(xs, n_towers), np.split(ys, n_towers))):
            with tf.device(device_of_tower(i)), tf.name_scope("tower%d" % i):
                loss = tf.reduce_mean(tf.square(tf.matmul(tf.constant(xb), w) - yb))
                grads.append(opt.compute_gradients(loss, [w])[0][0])
        with tf.device(ps_device):
            step = opt.apply_gradients([(tf.add_n(grads) / float(n_towers), w)])
    return g, w, step


def test_in_graph_towers_on_worker_tasks_equal_one_device(cluster):
    """The placement notebook's towers example, its towers on worker tasks."""
    rng = np.random.RandomState(1)
    xs, ys, w0 = rng.randn(8, 5), rng.randn(8, 1), rng.randn(5, 1)
    g1, w1, step1 = _towers(1, lambda i: None, None, xs, ys, w0)
    with g1.as_default(), tf.Session() as s:
        s.run(w1.initializer)
        for _ in range(5):
            s.run(step1)
        ref = s.run(w1)
    g2, w2, step2 = _towers(2, lambda i: "/job:worker/task:%d" % i, "/job:ps/task:0", xs, ys, w0)
    with g2.as_default(), tf.Session(cluster.target()) as s:
        s.run(w2.initializer)
        for _ in range(5):
            s.run(step2)
        where = {p["op"]: p["assigned"] for p in s.placement()}
        np.testing.assert_allclose(s.run(w2), ref, rtol=1e-12)
    assert where["tower0/MatMul"] == WORKER % 0 and where["tower1/MatMul"] == WORKER % 1
    assert where["GradientDescent/update_w/ApplyGD"] == PS % 0


def _two_layer(device_of_layer, x0, w1_0, w2_0):
    g = tf.Graph()
    with g.as_default():
        x = tf.constant(x0)
        h = x
        ws = []
        for k, w0 in enumerate((w1_0, w2_0)):
            with tf.device(device_of_layer(k)):
                w = tf.Variable(w0, name="w%d" % k)
                h = tf.tanh(tf.matmul(h, w), name="layer%d" % k)
            ws.append(w)
        loss = tf.reduce_sum(tf.square(h))
        grads = tf.gradients(loss, ws)
    return g, loss, grads


def test_model_parallelism_across_tasks_values_and_gradients(cluster):
    rng = np.random.RandomState(2)
    x0, w1, w2 = rng.randn(4, 6), rng.randn(6, 5), rng.randn(5, 3)
    g, loss, grads = _two_layer(lambda k: None, x0, w1, w2)
    with g.as_default(), tf.Session() as s:
        s.run(tf.global_variables_initializer())
        ref = s.run([loss] + grads)
    g, loss, grads = _two_layer(lambda k: "/job:worker/task:%d" % k, x0, w1, w2)
    with g.as_default(), tf.Session(cluster.target()) as s:
        s.run(tf.global_variables_initializer())
        got = s.run([loss] + grads)
        where = {p["op"]: p["assigned"] for p in s.placement()}
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert where["layer0"] == WORKER % 0 and where["layer1"] == WORKER % 1


def test_hybrid_two_model_parallel_parts_times_two_replicas():
    """M=2 parts per replica (layer k of replica r on worker task 2r+k), N=2 replicas
    averaging their gradients on the ps: equal to one device with the whole batch."""
    c = LocalCluster(ps=1, worker=4)
    try:
        rng = np.random.RandomState(4)
        xs, ys = rng.randn(8, 6), rng.randn(8, 3)
        w_init = [rng.randn(6, 5) * 0.5, rng.randn(5, 3) * 0.5]

        def build(n_rep, device_of):
            g = tf.Graph()
            with g.as_default():
                with tf.device("/job:ps/task:0" if n_rep > 1 else None):
                    ws = [tf.Variable(w, name="w%d" % k) for k, w in enumerate(w_init)]
                opt = tf.train.GradientDescentOptimizer(0.2)
                tower_grads = []
                for r, (xb, yb) in enumerate(zip(np.split(xs, n_rep), np.split(ys, n_rep))):
                    h = tf.constant(xb)
                    for k, w in enumerate(ws):
                        with tf.device(device_of(r, k)):
                            h = tf.tanh(tf.matmul(h, w), name="r%d_layer%d" % (r, k))
                    loss = tf.reduce_mean(tf.square(h - yb))
                    tower_grads.append(tf.gradients(loss, ws))
                avg = [tf.add_n(list(gs)) / float(n_rep) for gs in zip(*tower_grads)]
                step = opt.apply_gradients(list(zip(avg, ws)))
            return g, ws, step
        g, ws, step = build(1, lambda r, k: None)
        with g.as_default(), tf.Session() as s:
            s.run(tf.global_variables_initializer())
            for _ in range(4):
                s.run(step)
            ref = s.run(ws)
        g, ws, step = build(2, lambda r, k: "/job:worker/task:%d" % (2 * r + k))
        with g.as_default(), tf.Session(c.target()) as s:
            s.run(tf.global_variables_initializer())
            for _ in range(4):
                s.run(step)
            where = {p["op"]: p["assigned"] for p in s.placement()}
            got = s.run(ws)
        for a, b in zip(got, ref):
            np.testing.assert_allclose(a, b, rtol=1e-10)
        for r in range(2):
            for k in range(2):
                assert where["r%d_layer%d" % (r, k)] == WORKER % (2 * r + k)
    finally:
        c.stop()


# --- the seed slide's program, in real processes ---------------------------------------------
@pytest.mark.parametrize("n_ps", [1, 2])
def test_seed_slide_program_runs_as_written_on_worker_and_ps_processes(tmp_path, n_ps):
    pc = ProcCluster(jobs={"ps": n_ps, "worker": 2}, start=False)
    try:
        for i in range(n_ps):
            pc.start("ps", i, wait=False)
        for i in range(n_ps):
            pc.wait_serving("ps", i)
        max_steps = 400  # long enough for the non-chief (it re-checks readiness each second)
        workers = [pc.spawn("slide", json.dumps(pc.spec), str(t), str(tmp_path), str(max_steps))
                   for t in range(2)]
        outs = [read_json_lines(p, 180, until=lambda d: d.get("done")) for p in workers]
        for p in workers:
            p.wait(30)
        finals = [o[-1] if o else {} for o in outs]
        assert all(f.get("done") for f in finals), [
            (o, p.stderr.read()[-3000:]) for o, p in zip(outs, workers)]
        assert max(f["global_step"] for f in finals) >= max_steps
        # Both worker tasks trained (between-graph), their steps add up to the global step.
        assert all(f["local"] > 5 for f in finals)
        assert sum(f["local"] for f in finals) >= max_steps
        assert all(f["last_loss"] < f["first_loss"] for f in finals)
        # The updates ran on the ps tasks (round-robin over n_ps by replica_device_setter).
        placed = set(sum((f["placement"] for f in finals), []))
        assert placed == {PS % i for i in range(n_ps)}
        assert any(name.startswith("model.ckpt") for name in
                   __import__("os").listdir(str(tmp_path)))  # the chief's Supervisor saved
    finally:
        pc.stop()


# --- bad input over the runtime ---------------------------------------------------------------
def _sro_replica(cluster, task, aggregate, total):
    g = tf.Graph()
    with g.as_default():
        with tf.device(tf.train.replica_device_setter(
                cluster=cluster.cluster, worker_device="/job:worker/task:%d" % task)):
            gs = tf.train.get_or_create_global_step()
            x = tf.placeholder(tf.float32, [None, 2], name="x")
            w = tf.Variable(tf.ones([2, 1]), name="w")
            loss = tf.reduce_mean(tf.square(tf.matmul(x, w)))
            opt = tf.train.SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(0.1),
                                                 replicas_to_aggregate=aggregate,
                                                 total_num_replicas=total)
            train = opt.minimize(loss, global_step=gs)
        hook = opt.make_session_run_hook(is_chief=(task == 0), num_tokens=0)
    return g, x, train, hook


def test_more_replicas_to_aggregate_than_exist_fails_in_bounded_time(cluster):
    g, x, train, hook = _sro_replica(cluster, 0, aggregate=3, total=3)  # only 2 workers exist
    config = tf.ConfigProto(operation_timeout_in_ms=1500)
    with g.as_default():
        sess = tf.train.MonitoredTrainingSession(
            master=cluster.target(), is_chief=True, hooks=[hook], config=config,
            save_checkpoint_secs=None, save_summaries_steps=None, log_step_count_steps=None)
        t0 = time.monotonic()
        try:
            with pytest.raises(tf.errors.DeadlineExceededError):
                sess.run(train, {x: np.ones((4, 2), np.float32)})
            assert time.monotonic() - t0 < 10
        finally:
            try:
                sess.close()
            except tf.errors.DeadlineExceededError:
                pass  # the chief's queue runner waited for the third gradient in vain too
        assert time.monotonic() - t0 < 20


def test_replicas_with_different_total_num_replicas_are_refused(cluster):
    g0, x0, train0, hook0 = _sro_replica(cluster, 0, aggregate=2, total=2)
    g1, x1, train1, hook1 = _sro_replica(cluster, 1, aggregate=2, total=3)
    config = tf.ConfigProto(operation_timeout_in_ms=5000)
    kw = dict(config=config, save_checkpoint_secs=None, save_summaries_steps=None,
              log_step_count_steps=None)
    with g0.as_default():
        chief = tf.train.MonitoredTrainingSession(master=cluster.target("worker", 0),
                                                  is_chief=True, hooks=[hook0], **kw)
    try:
        with g1.as_default():
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match="total_num_replicas=3.*total_num_replicas=2"):
                tf.train.MonitoredTrainingSession(master=cluster.target("worker", 1),
                                                  is_chief=False, hooks=[hook1],
                                                  max_wait_secs=5, **kw)
    finally:
        chief.close()


def test_a_non_chief_with_no_chief_gives_up_in_bounded_time(cluster):
    g, x, train, hook = _sro_replica(cluster, 1, aggregate=2, total=2)
    t0 = time.monotonic()
    with g.as_default():
        with pytest.raises(tf.errors.DeadlineExceededError, match="not ready"):
            tf.train.MonitoredTrainingSession(
                master=cluster.target("worker", 1), is_chief=False, hooks=[hook],
                max_wait_secs=2, config=tf.ConfigProto(operation_timeout_in_ms=2000))
    assert time.monotonic() - t0 < 20


def test_nan_in_one_replicas_loss_under_nan_tensor_hook(cluster):
    """NanTensorHook (TF1): the replica that sees a NaN loss fails with
    NanLossDuringTrainingError -- after its step was applied, as in TF1 (the hook looks at the
    loss the step computed). The other replica's state is as before that step except for the
    NaN update; tfnb.distribute.train's check_numerics fails the step before it applies
    (test_train_entry.py)."""
    g, m = _replica_graph(cluster.cluster, 0)
    with g.as_default(), tf.Session(cluster.target()) as s:
        s.run(m["init"])
    g, m = _replica_graph(cluster.cluster, 1)
    bad = np.full((4, 4), np.nan, np.float32)
    with g.as_default():
        hook = tf.train.NanTensorHook(m["loss"])
        with pytest.raises(tf.train.NanLossDuringTrainingError):
            with tf.train.MonitoredSession(
                    tf.train.WorkerSessionCreator(master=cluster.target("worker", 1)),
                    hooks=[hook]) as sess:
                sess.run(m["train"], {m["x"]: bad, m["y"]: np.zeros((4, 1), np.float32)})
        with tf.Session(cluster.target("worker", 1)) as s:
            assert np.isnan(s.run(m["w"])).all()  # TF1: the hook reports, it cannot undo


def test_sync_replicas_with_a_backup_proceed_when_a_worker_task_dies():
    """replicas_to_aggregate=2 of total_num_replicas=3: when worker 2's process dies (its
    server and its client program), the other two keep making synchronous steps -- no hang."""
    c = LocalCluster(ps=1, worker=3)
    try:
        K, done, errors_, steps_after = 30, {}, {}, {}
        chief_ready, killed = threading.Event(), threading.Event()
        rng = np.random.RandomState(5)
        X = rng.randn(64, 2).astype(np.float32)

        def replica(task):
            try:
                g, x, train, hook = _sro_replica(c, task, aggregate=2, total=3)
                with g.as_default():
                    if task:
                        assert chief_ready.wait(60)
                    sess = tf.train.MonitoredTrainingSession(
                        master=c.target("worker", task), is_chief=(task == 0),
                        hooks=[hook, tf.train.StopAtStepHook(last_step=K)],
                        config=tf.ConfigProto(operation_timeout_in_ms=5000),
                        max_wait_secs=60, save_checkpoint_secs=None, save_summaries_steps=None,
                        log_step_count_steps=None)
                    chief_ready.set()
                    k = 0
                    while not sess.should_stop():
                        sess.run(train, {x: X[(k * 4) % 60:(k * 4) % 60 + 4]})
                        k += 1
                        if killed.is_set():
                            steps_after[task] = steps_after.get(task, 0) + 1
                        if task == 2 and k == 5:
                            # The process dies: its server stops, its client program ends
                            # there (nothing closes its session).
                            c.servers[("worker", 2)].stop()
                            killed.set()
                            done[task] = k
                            return
                    sess.close()
                    done[task] = k
            except BaseException as e:  # noqa: BLE001 - handed to the test
                errors_[task] = e
                chief_ready.set()
        threads = [threading.Thread(target=replica, args=(t,), daemon=True) for t in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads), "a replica hangs"
        assert not errors_, errors_
        assert killed.is_set() and steps_after.get(0, 0) > 5 and steps_after.get(1, 0) > 5
        with tf.Graph().as_default():
            with tf.device("/job:ps/task:0"):
                gs = tf.Variable(np.int64(0), name="global_step")
            with tf.Session(c.target("worker", 0)) as s:
                assert s.run(gs) >= K
    finally:
        c.stop()
