"""SyncReplicasOptimizer with replicas as threads sharing one session (as TF1's tests did):
N replicas of batch B train exactly as one process on the N*B concatenated batch; stale
gradients are dropped; backup replicas; every wait bounded; bad setups as typed errors."""
import threading
import time

import numpy as np
import pytest

import tfnb as tf

DIM = 3
LR = 0.1


class Replicas:
    """N towers over shared variables, each with its own SyncReplicasOptimizer (they meet in
    the accumulators and the token queue by shared name, as separate worker graphs would)."""

    def __init__(self, n, aggregate=None, total=None, num_tokens=0, sparse=False,
                 averages=None, seed=0):
        rng = np.random.RandomState(seed)
        self.n = n
        self.sparse = sparse
        if sparse:
            self.w0 = rng.randn(6, 2)
            self.v = np.array([0.5, -1.0])
        else:
            self.w0 = rng.randn(DIM, 1)
        self.w = tf.Variable(self.w0, name="w")
        self.b = None if sparse else tf.Variable(np.zeros(1), name="b")
        self.step = tf.train.get_or_create_global_step()
        self.towers = []
        for r in range(n):
            with tf.name_scope("replica_%d" % r):
                if sparse:
                    ids = tf.placeholder(tf.int32, [None], name="ids")
                    y = tf.placeholder(tf.float64, [None], name="y")
                    rows = tf.gather(self.w, ids)
                    loss = tf.reduce_mean(tf.square(tf.reduce_sum(rows * self.v, 1) - y))
                    feeds = (ids, y)
                else:
                    x = tf.placeholder(tf.float64, [None, DIM], name="x")
                    y = tf.placeholder(tf.float64, [None, 1], name="y")
                    loss = tf.reduce_mean(tf.square(tf.matmul(x, self.w) + self.b - y))
                    feeds = (x, y)
            opt = tf.train.SyncReplicasOptimizer(
                tf.train.GradientDescentOptimizer(LR), aggregate or n, total_num_replicas=total,
                variable_averages=averages, variables_to_average=[self.w] if averages else None)
            train = opt.minimize(loss, global_step=self.step)
            hook = opt.make_session_run_hook(is_chief=(r == 0), num_tokens=num_tokens)
            self.towers.append((feeds, train, hook, opt))
        self.init = tf.global_variables_initializer()
        self.local_init = tf.local_variables_initializer()
        for _, _, hook, _ in self.towers:
            hook.begin()

    def start(self, config=None):
        self.sess = tf.Session(config=config)
        self.sess.run(self.init)
        self.sess.run(self.local_init)
        self.coord = tf.train.Coordinator()
        for _, _, hook, _ in self.towers:
            hook.after_create_session(self.sess, self.coord)
        return self

    def run(self, replicas, batches, timeout=10):
        """Runs one train step of each of ``replicas`` concurrently (batches[r] is fed to r)."""
        errors, threads = [], []

        def step(r):
            feeds, train, _, _ = self.towers[r]
            try:
                self.sess.run(train, dict(zip(feeds, batches[r])))
            except BaseException as e:  # noqa: BLE001 - handed to the test
                errors.append(e)
        for r in replicas:
            threads.append(threading.Thread(target=step, args=(r,), name="replica-%d" % r))
            threads[-1].start()
        for t in threads:
            t.join(timeout)
        assert not any(t.is_alive() for t in threads), "a replica is still blocked"
        if errors:
            raise errors[0]

    def wait_for_step(self, value, timeout=5):
        deadline = time.monotonic() + timeout
        while self.sess.run(self.step) < value:
            assert time.monotonic() < deadline, "the chief did not reach step %d" % value
            time.sleep(0.005)

    def accumulated(self):
        opt = self.towers[0][3]
        return [self.sess.run(a.num_accumulated()) for a, _ in opt._accumulator_list]

    def stop(self):
        start = time.monotonic()
        self.coord.request_stop()
        self.coord.join(stop_grace_period_secs=10)
        stopped_in = time.monotonic() - start
        self.sess.close()
        return stopped_in


def _batches(n, k, b=4, seed=1):
    rng = np.random.RandomState(seed)
    return rng.randn(k, n, b, DIM), rng.randn(k, n, b, 1)


def _gd_step(w, bias, xs, ys):
    """One GD step on the mean squared error of the batch (xs, ys)."""
    err = xs @ w + bias - ys
    return w - LR * 2 * xs.T @ err / len(xs), bias - LR * 2 * err.sum(0) / len(xs)


def test_n_replicas_train_exactly_as_one_process_on_the_concatenated_batches(no_leaked_threads):
    n, k = 3, 4
    reps = Replicas(n).start()
    xs, ys = _batches(n, k)
    for step in range(k):
        reps.run(range(n), [(xs[step, r], ys[step, r]) for r in range(n)])
    w, b, gs = reps.sess.run([reps.w, reps.b, reps.step])
    assert reps.stop() < 5.0  # the chief's runner is cancelled, not waited out
    ref_w, ref_b = reps.w0, np.zeros(1)
    for step in range(k):
        ref_w, ref_b = _gd_step(ref_w, ref_b, xs[step].reshape(-1, DIM), ys[step].reshape(-1, 1))
    assert gs == k
    np.testing.assert_allclose(w, ref_w, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b, ref_b, rtol=1e-12, atol=1e-14)
    # The check can fail: one replica's batch alone gives other parameters.
    solo_w, _ = _gd_step(reps.w0, np.zeros(1), xs[0, 0], ys[0, 0])
    assert not np.allclose(solo_w, _gd_step(reps.w0, np.zeros(1), xs[0].reshape(-1, DIM),
                                            ys[0].reshape(-1, 1))[0])


def test_default_tokens_let_the_first_step_finish_and_the_next_gradients_go_stale(
        no_leaked_threads):
    reps = Replicas(2, num_tokens=-1).start()
    xs, ys = _batches(2, 3)
    feed = [[(xs[s, r], ys[s, r]) for r in range(2)] for s in range(3)]
    reps.run([0, 1], feed[0])  # returns on the initial tokens, before the update
    reps.wait_for_step(1)
    reps.run([0, 1], feed[1])  # computed at local step 0 < 1: dropped; takes the step-1 tokens
    assert reps.accumulated() == [0, 0] and reps.sess.run(reps.step) == 1
    reps.run([0, 1], feed[2])  # local step 1: aggregated into update 2
    w, gs = reps.sess.run([reps.w, reps.step])
    assert reps.stop() < 5.0
    ref_w, ref_b = _gd_step(reps.w0, np.zeros(1), xs[0].reshape(-1, DIM), ys[0].reshape(-1, 1))
    ref_w, ref_b = _gd_step(ref_w, ref_b, xs[2].reshape(-1, DIM), ys[2].reshape(-1, 1))
    assert gs == 2
    np.testing.assert_allclose(w, ref_w, rtol=1e-12)


def test_backup_replicas_do_not_stall_a_step_and_late_gradients_are_dropped(no_leaked_threads):
    reps = Replicas(3, aggregate=2, total=3).start()
    xs, ys = _batches(3, 3)
    ref_w, ref_b = reps.w0, np.zeros(1)
    # Each step the first two replicas make the update; the third, late, is dropped (and does
    # not wait: a third token is there for it).
    for step, (fast, late) in enumerate([((0, 1), 2), ((0, 1), 2), ((0, 2), 1)]):
        feed = [(xs[step, r], ys[step, r]) for r in range(3)]
        reps.run(fast, feed)
        start = time.monotonic()
        reps.run([late], feed, timeout=5)
        assert time.monotonic() - start < 5
        assert reps.accumulated() == [0, 0]
        ref_w, ref_b = _gd_step(ref_w, ref_b, np.concatenate([xs[step, r] for r in fast]),
                                np.concatenate([ys[step, r] for r in fast]))
    w, b, gs = reps.sess.run([reps.w, reps.b, reps.step])
    assert reps.stop() < 5.0
    assert gs == 3
    np.testing.assert_allclose(w, ref_w, rtol=1e-12)
    np.testing.assert_allclose(b, ref_b, rtol=1e-12)


def test_sparse_gradients_are_averaged_row_by_row(no_leaked_threads):
    reps = Replicas(2, sparse=True).start()
    ids = [[np.array([0, 3, 3]), np.array([3, 5])], [np.array([1]), np.array([1, 2, 2, 4])]]
    rng = np.random.RandomState(3)
    ys = [[rng.randn(len(i)) for i in step] for step in ids]
    for step in range(2):
        reps.run([0, 1], [(ids[step][r], ys[step][r]) for r in range(2)])
    w = reps.sess.run(reps.w)
    assert reps.stop() < 5.0
    ref = reps.w0.copy()
    for step in range(2):
        sums, counts = {}, {}
        for r in range(2):
            err = ref[ids[step][r]] @ reps.v - ys[step][r]
            grad_rows = {}
            for j, e in zip(ids[step][r], err):
                grad_rows[j] = grad_rows.get(j, 0) + 2 * e * reps.v / len(err)
            for j, g in grad_rows.items():
                sums[j] = sums.get(j, 0) + g
                counts[j] = counts.get(j, 0) + 1
        for j in sums:  # a row's mean over the replicas whose batch had it (TF1's rule)
            ref[j] = ref[j] - LR * sums[j] / counts[j]
    np.testing.assert_allclose(w, ref, rtol=1e-12)


def test_variable_averages_are_updated_after_each_step(no_leaked_threads):
    ema = tf.train.ExponentialMovingAverage(0.5)
    reps = Replicas(1, averages=ema)
    shadow = ema.average(reps.w)
    reps.start()
    xs, ys = _batches(1, 2)
    expected_shadow = reps.w0
    w = reps.w0
    b = np.zeros(1)
    for step in range(2):
        reps.run([0], [(xs[step, 0], ys[step, 0])])
        reps.wait_for_step(step + 1)
        w, b = _gd_step(w, b, xs[step, 0], ys[step, 0])
        expected_shadow = 0.5 * expected_shadow + 0.5 * w
    deadline = time.monotonic() + 5
    while not np.allclose(reps.sess.run(shadow), expected_shadow, rtol=1e-12):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert reps.stop() < 5.0


def test_monitored_training_session_with_the_hook_and_a_fast_close(tmp_path, no_leaked_threads):
    x = tf.placeholder(tf.float32, [None, 1])
    w = tf.Variable([[0.0]])
    step = tf.train.get_or_create_global_step()
    loss = tf.reduce_mean(tf.square(x * w - 3.0 * x))
    opt = tf.train.SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(0.1), 1)
    train = opt.minimize(loss, global_step=step)
    hooks = [opt.make_session_run_hook(is_chief=True, num_tokens=0),
             tf.train.StopAtStepHook(last_step=20)]
    runs = 0
    with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), hooks=hooks,
                                           save_summaries_steps=None) as sess:
        while not sess.should_stop():
            sess.run(train, {x: [[1.0], [2.0]]})
            runs += 1
        start = time.monotonic()
    closed_in = time.monotonic() - start
    assert closed_in < 10.0  # not the 120 s grace period
    assert runs == 20
    last = tf.train.latest_checkpoint(str(tmp_path))
    assert last.endswith("-20")
    assert abs(tf.train.load_variable(last, "Variable")[0, 0] - 3.0) < 0.05


def test_too_few_replicas_fail_with_the_operation_timeout(no_leaked_threads):
    x = tf.placeholder(tf.float32, [])
    w = tf.Variable(1.0)
    step = tf.train.get_or_create_global_step()
    opt = tf.train.SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(0.1), 2)
    train = opt.minimize(tf.square(w * x), global_step=step)
    hook = opt.make_session_run_hook(is_chief=True, num_tokens=0)
    start = time.monotonic()
    with pytest.raises(tf.errors.DeadlineExceededError, match="gradients the take needs|Timed"):
        with tf.train.MonitoredTrainingSession(
                hooks=[hook], config=tf.ConfigProto(operation_timeout_in_ms=400)) as sess:
            sess.run(train, {x: 1.0})  # the only replica: the second gradient never comes
    assert time.monotonic() - start < 5


def test_closing_the_session_unblocks_a_waiting_replica(no_leaked_threads):
    reps = Replicas(2).start()
    xs, ys = _batches(2, 1)
    feeds, train, _, _ = reps.towers[0]
    box = {}

    def lonely():
        try:
            reps.sess.run(train, dict(zip(feeds, (xs[0, 0], ys[0, 0]))))
        except BaseException as e:  # noqa: BLE001
            box["error"] = e
    t = threading.Thread(target=lonely)
    t.start()
    tokens = reps.sess._state.resources[("queue", "sync_token_q")]
    deadline = time.monotonic() + 10
    while not tokens._dequeuers:  # the replica waits for a token (its gradient is applied)
        assert time.monotonic() < deadline and t.is_alive()
        time.sleep(0.01)
    assert reps.accumulated() == [1, 1]  # and the chief for the other replica's gradients
    reps.coord.request_stop()
    reps.coord.join(stop_grace_period_secs=5)
    reps.sess.close()
    t.join(5)
    assert not t.is_alive() and isinstance(box["error"], tf.errors.CancelledError)


def test_replicas_with_different_settings_are_rejected(no_leaked_threads):
    w = tf.Variable(1.0)
    step = tf.train.get_or_create_global_step()
    loss = tf.square(w)
    hooks = []
    for total in (2, 3):
        opt = tf.train.SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(0.1), 2,
                                             total_num_replicas=total)
        opt.minimize(loss, global_step=step)
        hooks.append(opt.make_session_run_hook(is_chief=(total == 2)))
    for h in hooks:
        h.begin()
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    sess.run(tf.local_variables_initializer())
    coord = tf.train.Coordinator()
    hooks[0].after_create_session(sess, coord)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match="total_num_replicas=3, but .* total_num_replicas=2"):
        hooks[1].after_create_session(sess, coord)
    coord.request_stop()
    coord.join(stop_grace_period_secs=5)
    sess.close()


def test_argument_errors():
    w = tf.Variable(1.0)
    step = tf.train.get_or_create_global_step()
    gd = tf.train.GradientDescentOptimizer(0.1)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="replicas_to_aggregate"):
            tf.train.SyncReplicasOptimizer(gd, bad)
    with pytest.raises(ValueError, match="total_num_replicas"):
        tf.train.SyncReplicasOptimizer(gd, 2, total_num_replicas=0)
    with pytest.raises(TypeError, match="Optimizer"):
        tf.train.SyncReplicasOptimizer("sgd", 2)
    opt = tf.train.SyncReplicasOptimizer(gd, 3, total_num_replicas=1)
    with pytest.raises(ValueError, match="after apply_gradients"):
        opt.get_chief_queue_runner()
    with pytest.raises(ValueError, match="after apply_gradients"):
        opt.get_init_tokens_op()
    with pytest.raises(ValueError, match="apply_gradient should be called"):
        opt.make_session_run_hook(True).begin()
    with pytest.raises(ValueError, match="Global step is required"):
        opt.minimize(tf.square(w))
    opt.minimize(tf.square(w), global_step=step)
    with pytest.raises(ValueError, match="Too few tokens to finish the first step: 1 .* 2"):
        opt.get_init_tokens_op(1)
    assert opt.get_init_tokens_op(2).type == "QueueEnqueueManyV2"
    assert opt.get_chief_queue_runner().queue.name == "dummy_queue"
    assert opt.variables() == [] and opt.get_slot_names() == []
