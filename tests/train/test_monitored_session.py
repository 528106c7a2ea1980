"""MonitoredSession / MonitoredTrainingSession / Scaffold / SessionManager / the global step:
hooks called in TF1's order with the right values, initialization vs restore, recovery from a
preempted task, clean ends, waits that are bounded, bad checkpoint directories."""
import os
import threading
import time

import numpy as np
import pytest

import tfnb as tf
from event_helpers import scalar_values


# An op that fails with AbortedError (a preempted task) while `_ABORT["armed"]` is set,
# disarming itself: the next session runs it normally.
_ABORT = {"armed": False, "fired": 0}


def _abort_kernel(op, ctx):
    def abort_once(x):
        if _ABORT["armed"]:
            _ABORT["armed"] = False
            _ABORT["fired"] += 1
            raise tf.errors.AbortedError(None, None, "the parameter server went away")
        return x
    return abort_once


_abort_once = tf.register_op(
    "TestMonitoredAbortOnce", infer=lambda op: [(op.inputs[0].dtype, op.inputs[0].shape)],
    kernel=_abort_kernel, grad=tf.NOT_DIFFERENTIABLE, stateful=True, side_effects=True,
    replace=True)


class RecordingHook(tf.train.SessionRunHook):
    """Records every call with what it was given; fetches ``fetch`` and feeds ``feed``."""

    def __init__(self, fetch=None, feed=None):
        self.calls = []
        self.fetch = fetch
        self.feed = feed
        self.results = []

    def begin(self):
        self.calls.append("begin")
        self.graph_finalized_in_begin = tf.get_default_graph().finalized

    def after_create_session(self, session, coord):
        self.calls.append("after_create_session")
        assert isinstance(session, tf.Session) and isinstance(coord, tf.train.Coordinator)

    def before_run(self, run_context):
        self.calls.append("before_run")
        return tf.train.SessionRunArgs(self.fetch, self.feed)

    def after_run(self, run_context, run_values):
        self.calls.append("after_run")
        self.results.append(run_values.results)

    def end(self, session):
        self.calls.append("end")


def _linear_model():
    x = tf.placeholder(tf.float32, [None, 2], name="x")
    w = tf.Variable([[0.5], [-1.0]], name="w")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - 1.0))
    step = tf.train.get_or_create_global_step()
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
    return x, w, loss, step, train


# ----------------------------------------------------------------------------------------------
# The global step
# ----------------------------------------------------------------------------------------------
def test_global_step_create_get_and_read():
    assert tf.train.get_global_step() is None
    with tf.name_scope("inner"), tf.control_dependencies([tf.no_op()]):
        step = tf.train.create_global_step()
    assert step.name == "global_step:0" and step.dtype == tf.int64 and step.shape.ndims == 0
    assert step.op.control_inputs == [] and not step.trainable
    read = tf.train.training_util._get_or_create_global_step_read()
    assert read.name == "global_step/add:0" and read.dtype == tf.int64
    assert tf.train.training_util._get_or_create_global_step_read() is read
    assert tf.get_collection(tf.GraphKeys.GLOBAL_STEP) == [step]
    assert tf.train.get_global_step() is step and tf.train.get_or_create_global_step() is step
    with pytest.raises(ValueError, match="already exists"):
        tf.train.create_global_step()
    inc = tf.assign_add(step, 5)
    with tf.Session() as sess:
        sess.run(step.initializer)
        sess.run(inc)
        assert tf.train.global_step(sess, step) == 5


def test_global_step_found_by_name_and_checked():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(3, dtype=tf.int64, name="global_step", trainable=False)
        assert tf.train.get_global_step() is v
    g2 = tf.Graph()
    with g2.as_default():
        tf.Variable(1.0, name="global_step")
        with pytest.raises(TypeError, match="integer type"):
            tf.train.get_global_step()
    g3 = tf.Graph()
    with g3.as_default():
        tf.add_to_collection(tf.GraphKeys.GLOBAL_STEP, tf.Variable([1, 2], name="gs"))
        with pytest.raises(TypeError, match="not scalar"):
            tf.train.get_global_step()


# ----------------------------------------------------------------------------------------------
# MonitoredSession
# ----------------------------------------------------------------------------------------------
def test_hooks_are_called_in_order_with_their_fetches_and_feeds(no_leaked_threads):
    x, w, loss, step, train = _linear_model()
    scale = tf.placeholder(tf.float32, [])
    scaled = loss * scale
    hook = RecordingHook(fetch={"loss": loss, "scaled": scaled}, feed={scale: 10.0})
    graph = tf.get_default_graph()
    data = np.array([[1.0, 2.0], [3.0, -1.0]], np.float32)
    with tf.train.MonitoredSession(hooks=[hook]) as sess:
        assert graph.finalized and sess.graph is graph
        assert hook.calls == ["begin", "after_create_session"]
        assert not hook.graph_finalized_in_begin
        out = sess.run({"train": train, "loss": loss}, feed_dict={x: data})
        assert set(out) == {"train", "loss"} and out["train"] is None
        w_after = sess.run(w, {x: data})  # the hook fetches the loss: feed x
    assert hook.calls == ["begin", "after_create_session"] + ["before_run", "after_run"] * 2 + \
        ["end"]
    assert not graph.finalized  # unfinalized again on close, as the graph was before
    w0 = np.array([[0.5], [-1.0]], np.float32)
    want_loss = np.mean((data @ w0 - 1.0) ** 2)
    np.testing.assert_allclose(hook.results[0]["loss"], want_loss, rtol=1e-6)
    np.testing.assert_allclose(hook.results[0]["scaled"], 10 * want_loss, rtol=1e-6)
    grad = 2 * data.T @ (data @ w0 - 1.0) / 2
    np.testing.assert_allclose(w_after, w0 - 0.1 * grad, rtol=1e-5)


def test_conflicting_feeds_and_running_after_stop_are_errors():
    x, w, loss, step, train = _linear_model()
    data = np.ones((1, 2), np.float32)

    class StopHook(tf.train.SessionRunHook):
        def after_run(self, run_context, run_values):
            run_context.request_stop()

    with tf.train.MonitoredSession(hooks=[RecordingHook(feed={x: data})]) as sess:
        with pytest.raises(RuntimeError, match="fed by a SessionRunHook and user"):
            sess.run(train, {x: data})
    with tf.train.MonitoredSession(hooks=[RecordingHook(feed={x: data}),
                                          RecordingHook(feed={x: data})]) as sess:
        with pytest.raises(RuntimeError, match="fed by two hooks"):
            sess.run(train)
    with tf.train.MonitoredSession(hooks=[StopHook()]) as sess:
        sess.run(train, {x: data})
        assert sess.should_stop()
        with pytest.raises(RuntimeError, match="should_stop"):
            sess.run(train, {x: data})


def test_out_of_range_ends_a_with_block_cleanly_and_other_errors_skip_end(no_leaked_threads):
    x, w, loss, step, train = _linear_model()
    q = tf.FIFOQueue(10, tf.float32, shapes=[[2]])
    fill = q.enqueue_many([np.ones((3, 2), np.float32)])
    close = q.close()
    item = q.dequeue()
    hook = RecordingHook()
    n = 0
    with tf.train.MonitoredSession(hooks=[hook]) as sess:
        sess.run(fill)
        sess.run(close)
        while not sess.should_stop():
            sess.run(item)
            n += 1
    assert n == 3 and hook.calls[-1] == "end"
    hook = RecordingHook()
    with pytest.raises(ZeroDivisionError):
        with tf.train.MonitoredSession(hooks=[hook]) as sess:
            1 / 0
    assert "end" not in hook.calls and sess.should_stop()
    with pytest.raises(RuntimeError, match="closed"):
        sess.run(train)


def test_queue_runners_are_started_and_joined(no_leaked_threads):
    counter = tf.Variable(0.0, trainable=False, collections=[tf.GraphKeys.LOCAL_VARIABLES])
    example = [tf.stack([tf.assign_add(counter, 1.0), 0.0])]
    batch = tf.train.batch(example, batch_size=4, capacity=8)
    tf.train.get_or_create_global_step()
    seen = []
    with tf.train.MonitoredSession() as sess:
        for _ in range(3):
            seen.append(sess.run(batch))
    assert all(b.shape == (4, 2) for b in seen)
    firsts = np.concatenate([b[:, 0] for b in seen])
    assert sorted(firsts) == list(firsts) and len(set(firsts)) == 12  # one runner, in order


def test_run_step_fn_runs_with_and_without_hooks_and_can_stop():
    x, w, loss, step, train = _linear_model()
    hook = RecordingHook()
    data = np.ones((2, 2), np.float32)

    def step_fn(step_context):
        before = step_context.session.run(step)  # no hooks
        step_context.run_with_hooks(train, {x: data})
        if before >= 1:
            step_context.request_stop()
        return before

    with tf.train.MonitoredSession(hooks=[hook]) as sess:
        assert sess.run_step_fn(step_fn) == 0
        assert hook.calls.count("before_run") == 1
        with pytest.raises(StopIteration):
            sess.run_step_fn(step_fn)
        assert sess.should_stop()
        with pytest.raises(ValueError, match="step_context"):
            sess.run_step_fn(lambda ctx: None)


def test_a_thread_error_is_raised_from_run():
    x, w, loss, step, train = _linear_model()

    class ThreadHook(tf.train.SessionRunHook):
        def after_create_session(self, session, coord):
            def fail():
                with coord.stop_on_exception():
                    raise tf.errors.InternalError(None, None, "reader thread failed")
            t = threading.Thread(target=fail)
            coord.register_thread(t)
            t.start()
            t.join()

    hook = RecordingHook()
    runs = 0
    with pytest.raises(tf.errors.InternalError, match="reader thread failed"):
        with tf.train.MonitoredSession(hooks=[ThreadHook(), hook]) as sess:
            while not sess.should_stop():  # the failed thread stopped the coordinator
                sess.run(train, {x: np.ones((1, 2), np.float32)})
                runs += 1
    assert runs == 0 and hook.calls[-1] == "end"  # closing re-raises the thread's error


def test_recovers_from_a_preempted_task_by_restoring_the_latest_checkpoint(tmp_path):
    w = tf.Variable(0.0, name="w")
    step = tf.train.get_or_create_global_step()
    guard = _abort_once(step.value())
    with tf.control_dependencies([guard]):
        train = tf.group(tf.assign_add(w, 1.0), tf.assign_add(step, 1))
    hook = RecordingHook()
    _ABORT.update(armed=False, fired=0)
    steps = []
    with tf.train.MonitoredTrainingSession(
            checkpoint_dir=str(tmp_path), save_checkpoint_steps=1, save_summaries_steps=None,
            log_step_count_steps=None,
            hooks=[tf.train.StopAtStepHook(last_step=6), hook]) as sess:
        while not sess.should_stop():
            gs = sess.run(step)
            if gs == 3 and not _ABORT["fired"]:
                _ABORT["armed"] = True  # the next run fails on a "lost" task
            sess.run(train)
            steps.append(gs)
        final = sess._tf_sess().run([w, step])
    assert _ABORT["fired"] == 1
    assert hook.calls.count("after_create_session") == 2  # the session was made again
    assert final == [6.0, 6]  # restored at step 3: nothing lost, nothing done twice
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-6")


def test_singular_monitored_session_does_not_recover_and_exposes_the_raw_session():
    w = tf.Variable(0.0)
    step = tf.train.get_or_create_global_step()
    train = tf.group(tf.assign_add(w, _abort_once(tf.constant(1.0))), tf.assign_add(step, 1))
    _ABORT.update(armed=False, fired=0)
    with tf.train.SingularMonitoredSession() as sess:
        assert isinstance(sess.raw_session(), tf.Session)
        sess.run(train)
        _ABORT["armed"] = True
        with pytest.raises(tf.errors.AbortedError):
            sess.run(train)
        assert sess.raw_session().run(w) == 1.0  # the failed step changed nothing


def test_chief_restores_the_latest_checkpoint(tmp_path):
    x, w, loss, step, train = _linear_model()
    saver = tf.train.Saver()
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        s.run(tf.assign(w, [[7.0], [8.0]]))
        s.run(tf.assign(step, 41))
        path = saver.save(s, str(tmp_path / "model.ckpt"), global_step=step)
    scaffold = tf.train.Scaffold(saver=saver)
    with tf.train.MonitoredSession(session_creator=tf.train.ChiefSessionCreator(
            scaffold=scaffold, checkpoint_dir=str(tmp_path))) as sess:
        np.testing.assert_array_equal(sess.run(w), [[7.0], [8.0]])
        assert sess.run(step) == 41
    with tf.train.SingularMonitoredSession(scaffold=tf.train.Scaffold(saver=saver),
                                           checkpoint_filename_with_path=path) as sess:
        assert sess.run(step) == 41
    with pytest.raises(ValueError, match="both"):
        tf.train.SessionManager().prepare_session("", saver=saver, checkpoint_dir=str(tmp_path),
                                                  checkpoint_filename_with_path=path)


def test_monitored_training_session_checkpoints_and_summaries(tmp_path, read_events):
    x, w, loss, step, train = _linear_model()
    tf.summary.scalar("loss", loss)
    data = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    losses = []
    with tf.train.MonitoredTrainingSession(
            checkpoint_dir=str(tmp_path), save_checkpoint_steps=4, save_summaries_steps=2,
            log_step_count_steps=3, hooks=[tf.train.StopAtStepHook(last_step=10)]) as sess:
        while not sess.should_stop():
            losses.append(sess.run([train, loss], {x: data})[1])
    assert len(losses) == 10
    ckpts = tf.train.get_checkpoint_state(str(tmp_path)).all_model_checkpoint_paths
    # At the start, every 4 steps, and at the end.
    assert [int(p.rsplit("-", 1)[1]) for p in ckpts] == [0, 4, 8, 10]
    assert os.path.exists(tmp_path / "graph.pbtxt")
    events = read_events(str(tmp_path))
    recorded = scalar_values(events, "loss")
    # Summaries at steps 1, 3, 5, ... (the global step after the run), with that run's loss.
    assert [s for s, _ in recorded] == [1, 3, 5, 7, 9]
    np.testing.assert_allclose([v for _, v in recorded], [losses[s - 1] for s in (1, 3, 5, 7, 9)],
                               rtol=1e-6)
    rates = scalar_values(events, "global_step/sec")
    assert rates and all(v > 0 for _, v in rates)
    logs = [e.session_log for e in events if e.HasField("session_log")]
    assert any(lg.status == lg.CHECKPOINT for lg in logs) and any(lg.status == lg.START
                                                                  for lg in logs)
    # A new run restores step 10 and the trained weights, and goes on to 12.
    w_trained = None
    with tf.train.SingularMonitoredSession(checkpoint_dir=str(tmp_path)) as sess:
        assert sess.run(step) == 10
        w_trained = sess.run(w)
    with tf.train.MonitoredTrainingSession(
            checkpoint_dir=str(tmp_path), save_checkpoint_steps=1, save_summaries_steps=None,
            hooks=[tf.train.StopAtStepHook(num_steps=2)]) as sess:
        np.testing.assert_array_equal(sess.run(w), w_trained)
        while not sess.should_stop():
            sess.run(train, {x: data})
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-12")


def test_unwritable_checkpoint_dir_fails_at_creation_and_changes_nothing(tmp_path):
    x, w, loss, step, train = _linear_model()
    blocker = tmp_path / "a_file"
    blocker.write_bytes(b"precious")
    graph = tf.get_default_graph()
    start = time.monotonic()
    with pytest.raises((tf.errors.FailedPreconditionError, tf.errors.PermissionDeniedError),
                       match="a_file"):
        tf.train.MonitoredTrainingSession(checkpoint_dir=str(blocker / "run"))
    assert time.monotonic() - start < 5
    assert blocker.read_bytes() == b"precious" and not graph.finalized
    # The same graph still trains.
    with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path / "ok")) as sess:
        sess.run(train, {x: np.ones((1, 2), np.float32)})


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
def test_read_only_checkpoint_dir_is_permission_denied(tmp_path):
    _linear_model()
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(tf.errors.PermissionDeniedError):
            tf.train.MonitoredTrainingSession(checkpoint_dir=str(ro))
        assert os.listdir(ro) == []
    finally:
        ro.chmod(0o700)


# ----------------------------------------------------------------------------------------------
# Workers, and the SessionManager
# ----------------------------------------------------------------------------------------------
def test_non_chief_without_a_chief_gives_up_after_max_wait_secs():
    _linear_model()
    start = time.monotonic()
    with pytest.raises(tf.errors.DeadlineExceededError, match="not ready after waiting 0.5 secs"):
        tf.train.MonitoredTrainingSession(is_chief=False, max_wait_secs=0.5)
    assert time.monotonic() - start < 5
    assert not tf.get_default_graph().finalized
    sm = tf.train.SessionManager(ready_op=tf.report_uninitialized_variables(),
                                 recovery_wait_secs=0.1)
    start = time.monotonic()
    with pytest.raises(tf.errors.DeadlineExceededError, match="Variables not initialized: w"):
        sm.wait_for_session("", max_wait_secs=0.5)
    assert 0.3 < time.monotonic() - start < 5


class _Shared:
    """A session several SessionManagers connect to (what a cluster target gives), whose
    ``close`` only disconnects."""

    def __init__(self, sess):
        self._sess = sess

    def __getattr__(self, name):
        return getattr(self._sess, name)

    def close(self):
        pass


class _SharedStateManager(tf.train.SessionManager):
    def __init__(self, shared, **kwargs):
        super().__init__(**kwargs)
        self.shared = shared
        self.sessions_made = 0

    def _new_session(self, master, config):
        self.sessions_made += 1
        return _Shared(self.shared)


def test_worker_waits_for_the_chief_to_initialize(no_leaked_threads):
    x, w, loss, step, train = _linear_model()
    local = tf.Variable(5.0, trainable=False, collections=[tf.GraphKeys.LOCAL_VARIABLES],
                        name="local")
    shared = tf.Session()
    init = tf.global_variables_initializer()
    local_init = tf.local_variables_initializer()
    ready = tf.report_uninitialized_variables()
    ready_for_local = tf.report_uninitialized_variables(tf.global_variables())
    worker = _SharedStateManager(shared, ready_op=ready, local_init_op=local_init,
                                 ready_for_local_init_op=ready_for_local, recovery_wait_secs=0.05)
    chief = threading.Timer(0.3, lambda: shared.run(init))
    chief.start()
    start = time.monotonic()
    sess = worker.wait_for_session("", max_wait_secs=10)
    waited = time.monotonic() - start
    chief.join()
    assert 0.25 < waited < 5 and worker.sessions_made > 2
    assert sess.run(local) == 5.0 and sess.run(step) == 0
    shared.close()


def test_prepare_session_errors_close_the_session():
    v = tf.Variable(1.0, name="v")
    made = []

    class Recording(tf.train.SessionManager):
        def _new_session(self, master, config):
            made.append(super()._new_session(master, config))
            return made[-1]

    with pytest.raises(RuntimeError, match="no init_op or init_fn or local_init_op"):
        Recording().prepare_session("")
    sm = Recording(ready_op=tf.report_uninitialized_variables())
    with pytest.raises(RuntimeError, match="not make model ready.*Variables not initialized: v"):
        sm.prepare_session("", init_op=tf.no_op())
    assert all(s._closed for s in made)
    sess = sm.prepare_session("", init_fn=lambda s: s.run(v.initializer))
    assert sess.run(v) == 1.0
    sess.close()
    with pytest.raises(ValueError, match="ready_for_local_init_op"):
        tf.train.SessionManager(ready_for_local_init_op=tf.report_uninitialized_variables())


def test_scaffold_uses_collections_and_rejects_ambiguity():
    x, w, loss, step, train = _linear_model()
    init = tf.global_variables_initializer()
    tf.add_to_collection(tf.GraphKeys.INIT_OP, init)
    scaffold = tf.train.Scaffold().finalize()
    try:
        assert scaffold.init_op is init and scaffold.summary_op is None
        assert scaffold.saver is not None and tf.get_default_graph().finalized
    finally:
        tf.get_default_graph()._unsafe_unfinalize()
    copy = tf.train.Scaffold(copy_from_scaffold=scaffold, summary_op=loss)
    assert copy.init_op is init and copy.summary_op is loss
    tf.add_to_collection(tf.GraphKeys.INIT_OP, tf.no_op())
    with pytest.raises(RuntimeError, match="More than one item"):
        tf.train.Scaffold().finalize()
    assert not tf.get_default_graph().finalized


def test_default_local_init_initializes_local_variables_and_tables():
    tf.train.get_or_create_global_step()
    keys = tf.constant(["a", "b"])
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(keys, tf.constant([1, 2], tf.int64)), -1)
    found = table.lookup(tf.constant(["b", "z"]))
    local = tf.Variable(4.0, trainable=False, collections=[tf.GraphKeys.LOCAL_VARIABLES])
    with tf.train.MonitoredTrainingSession() as sess:
        np.testing.assert_array_equal(sess.run(found), [2, -1])
        assert sess.run(local) == 4.0


# ----------------------------------------------------------------------------------------------
# Bounded recovery (tfnb: TF1's _RecoverableSession retried forever)
# ----------------------------------------------------------------------------------------------
_GONE = {"armed": False, "fired": 0}


def _gone_kernel(op, ctx):
    def fail_while_armed(x):
        if _GONE["armed"]:
            _GONE["fired"] += 1
            raise tf.errors.UnavailableError(None, None, "the parameter server is gone")
        return x
    return fail_while_armed


_fail_while_armed = tf.register_op(
    "TestMonitoredUnavailableWhileArmed",
    infer=lambda op: [(op.inputs[0].dtype, op.inputs[0].shape)], kernel=_gone_kernel,
    grad=tf.NOT_DIFFERENTIABLE, stateful=True, side_effects=True, replace=True)


def test_recovery_gives_up_after_max_recovery_attempts(no_leaked_threads):
    w = tf.Variable(0.0, name="w")
    train = tf.assign_add(w, _fail_while_armed(tf.constant(1.0)))
    hook = RecordingHook()
    _GONE.update(armed=False, fired=0)
    with tf.train.MonitoredSession(hooks=[hook], max_recovery_attempts=2,
                                   recovery_timeout_secs=60) as sess:
        assert sess.run(train) == 1.0
        _GONE["armed"] = True
        with pytest.raises(tf.errors.UnavailableError,
                           match="gave up recovering after 2 new sessions"):
            sess.run(train)
        assert _GONE["fired"] == 3  # the first run and one per new session
        assert hook.calls.count("after_create_session") == 3
        # A later call starts a recovery of its own: the task is back, it succeeds.
        _GONE["armed"] = False
        assert sess.run(train) == 1.0  # a new session: w initialized again
        assert hook.calls.count("after_create_session") == 4


def test_each_recovery_has_its_own_bound(tmp_path):
    w = tf.Variable(0.0, name="w")
    step = tf.train.get_or_create_global_step()
    guard = _abort_once(step.value())
    with tf.control_dependencies([guard]):
        train = tf.group(tf.assign_add(w, 1.0), tf.assign_add(step, 1))
    _ABORT.update(armed=False, fired=0)
    with tf.train.MonitoredTrainingSession(
            checkpoint_dir=str(tmp_path), save_checkpoint_steps=1, save_summaries_steps=None,
            log_step_count_steps=None, max_recovery_attempts=1) as sess:
        for i in range(6):
            if i in (2, 4):
                _ABORT["armed"] = True  # two preemptions, each recovered by one new session
            sess.run(train)
        assert _ABORT["fired"] == 2
        assert sess._tf_sess().run([w, step]) == [6.0, 6]


def test_recovery_gives_up_after_recovery_timeout_secs():
    w = tf.Variable(0.0, name="w")
    train = tf.assign_add(w, _fail_while_armed(tf.constant(1.0)))
    _GONE.update(armed=True, fired=0)
    try:
        with tf.train.MonitoredSession(recovery_timeout_secs=0.5) as sess:
            t0 = time.monotonic()
            with pytest.raises(tf.errors.UnavailableError, match="recovery_timeout_secs=0.5"):
                sess.run(train)
            elapsed = time.monotonic() - t0
    finally:
        _GONE["armed"] = False
    assert 0.5 <= elapsed < 5.0
    assert _GONE["fired"] >= 2  # it did try again meanwhile


def test_recovery_bounds_default_and_bad_values():
    tf.Variable(0.0)
    with tf.train.MonitoredSession() as sess:
        assert sess._sess._bound.timeout_secs == 600.0 and sess._sess._bound.max_attempts is None
    for kwargs, message in [({"recovery_timeout_secs": 0}, "recovery_timeout_secs"),
                            ({"recovery_timeout_secs": None}, "recovery_timeout_secs"),
                            ({"max_recovery_attempts": -1}, "max_recovery_attempts"),
                            ({"max_recovery_attempts": 1.5}, "max_recovery_attempts")]:
        with pytest.raises(ValueError, match=message):
            tf.train.MonitoredTrainingSession(**kwargs)
        assert not tf.get_default_graph().finalized

