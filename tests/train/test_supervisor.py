"""tf.train.Supervisor: the chief initializes or restores and runs its services (checkpoints,
summaries, steps/sec) as threads that stop within bounds; non-chiefs wait for the chief (and
give up after max_wait_secs); managed_session's handling of errors; bad logdirs."""
import os
import threading
import time

import numpy as np
import pytest

import tfnb as tf
from event_helpers import scalar_values


def _model():
    x = tf.placeholder(tf.float32, [None, 1], name="x")
    w = tf.Variable([[0.0]], name="w")
    step = tf.train.get_or_create_global_step()
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - 2.0 * x))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
    return x, w, step, loss, train


def _events(logdir):
    out = []
    for f in sorted(os.listdir(logdir)):
        if f.startswith("events.out.tfevents"):
            out.extend(tf.summary.summary_iterator(os.path.join(logdir, f)))
    return out


def test_chief_trains_checkpoints_and_writes_summaries(tmp_path, no_leaked_threads):
    x, w, step, loss, train = _model()
    tf.summary.scalar("w_value", tf.reshape(w, []))
    logdir = str(tmp_path)
    sv = tf.train.Supervisor(logdir=logdir, save_model_secs=0.15, save_summaries_secs=0.15)
    assert tf.get_default_graph().finalized and sv.is_chief
    assert sv.global_step is step and sv.saver is not None and sv.summary_op is not None
    data = np.array([[1.0], [2.0]], np.float32)
    with sv.managed_session() as sess:
        assert len(sv._service_threads) == 3 and all(t.is_alive() for t in sv._service_threads)
        while not sv.should_stop():
            _, s = sess.run([train, step], {x: data})
            time.sleep(0.01)
            if s >= 40:
                sv.request_stop()
        final_w = sess.run(w)
    assert s == 40 and sv.should_stop()
    assert not any(t.is_alive() for t in sv._service_threads)
    state = tf.train.get_checkpoint_state(logdir)
    assert state is not None and len(state.all_model_checkpoint_paths) >= 2
    steps = [int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths]
    assert steps == sorted(steps) and steps[0] == 0  # the first save is at once
    assert os.path.exists(os.path.join(logdir, "graph.pbtxt"))
    events = _events(logdir)
    logs = [e.session_log.status for e in events if e.HasField("session_log")]
    assert logs[0] == tf.SessionLog.START and logs[-1] == tf.SessionLog.STOP
    assert tf.SessionLog.CHECKPOINT in logs
    assert len(scalar_values(events, "w_value")) >= 2 and scalar_values(events, "global_step/sec")
    assert any(e.HasField("graph_def") for e in events)
    # A new Supervisor on the same logdir restores the latest checkpoint.
    last = tf.train.latest_checkpoint(logdir)
    tf.reset_default_graph()
    x, w, step, loss, train = _model()
    sv = tf.train.Supervisor(logdir=logdir, save_model_secs=0, save_summaries_secs=0)
    with sv.managed_session() as sess:
        assert sess.run(step) == int(last.rsplit("-", 1)[1])
        # The loop's last run fetched step 40 before its own increment: the step is 41 after
        # it, and a timer save may have caught that.
        assert sess.run(step) <= 41 and sess.run(w).shape == (1, 1)
    assert final_w.shape == (1, 1)


def test_managed_session_reraises_errors_after_stopping_and_ends_on_out_of_range(
        tmp_path, no_leaked_threads):
    x, w, step, loss, train = _model()
    sv = tf.train.Supervisor(logdir=str(tmp_path), save_model_secs=0.1, save_summaries_secs=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="x"):
        with sv.managed_session() as sess:
            sess.run(train)  # x not fed
    assert sess._closed and sv.should_stop()
    assert not any(t.is_alive() for t in sv._service_threads)
    with sv.managed_session() as sess:  # the coordinator is cleared for a new session
        assert not sv.should_stop()
        raise tf.errors.OutOfRangeError(None, None, "input exhausted")
    assert sess._closed


def test_a_failing_service_thread_stops_the_supervisor(tmp_path, no_leaked_threads):
    x, w, step, loss, train = _model()
    sv = tf.train.Supervisor(logdir=str(tmp_path), save_model_secs=0, save_summaries_secs=0)
    calls = []

    def service(n):
        calls.append(n)
        if len(calls) == 3:
            raise ValueError("service failed")

    with pytest.raises(ValueError, match="service failed"):
        with sv.managed_session() as sess:
            sv.loop(0.02, service, args=(7,))
            assert sv.wait_for_stop(5)  # the error stopped the coordinator
    assert calls == [7, 7, 7]
    with pytest.raises(ValueError, match="Coordinator"):
        tf.train.LooperThread(object(), 1)
    with pytest.raises(ValueError, match="target"):
        tf.train.LooperThread(tf.train.Coordinator(), 1, args=(1,))


def test_stop_is_bounded_even_while_a_service_saves(tmp_path, no_leaked_threads):
    x, w, step, loss, train = _model()
    sv = tf.train.Supervisor(logdir=str(tmp_path), save_model_secs=0.01, save_summaries_secs=0,
                             stop_grace_secs=5)
    sess = sv.prepare_or_wait_for_session()
    time.sleep(0.2)
    start = time.monotonic()
    sv.stop()
    assert time.monotonic() - start < 4
    sess.close()


def test_without_logdir_no_services_and_summary_computed_needs_a_writer():
    x, w, step, loss, train = _model()
    sv = tf.train.Supervisor()
    sess = sv.prepare_or_wait_for_session()
    assert sv._service_threads == [] and sv.summary_writer is None and sv.save_path is None
    assert sess.run(step) == 0
    with pytest.raises(RuntimeError, match="summary writer"):
        sv.summary_computed(sess, b"")
    sv.stop()
    sess.close()


def test_non_chief_without_a_chief_gives_up_after_max_wait_secs():
    with tf.device("/cpu:0"):
        x, w, step, loss, train = _model()
    sv = tf.train.Supervisor(is_chief=False, recovery_wait_secs=0.1)
    start = time.monotonic()
    with pytest.raises(tf.errors.DeadlineExceededError, match="not ready"):
        sv.prepare_or_wait_for_session(max_wait_secs=0.5)
    assert 0.3 < time.monotonic() - start < 5
    with pytest.raises(RuntimeError, match="Only chief"):
        sv.start_standard_services(None)


def test_non_chief_needs_placed_variables():
    _model()
    with pytest.raises(ValueError, match="must have their device set: w"):
        tf.train.Supervisor(is_chief=False)
    assert not tf.get_default_graph().finalized


class _SharedSessionManager(tf.train.SessionManager):
    """Sessions that all see one session's state, as sessions on a cluster target do."""

    def __init__(self, shared, **kwargs):
        super().__init__(**kwargs)
        self._shared = shared

    def _new_session(self, master, config):
        shared = self._shared

        class Connection:
            def __getattr__(self, name):
                return getattr(shared, name)

            def close(self):
                pass
        return Connection()


def test_non_chief_waits_until_the_chief_initialized(no_leaked_threads):
    with tf.device("/cpu:0"):
        x, w, step, loss, train = _model()
    init = tf.global_variables_initializer()
    ready = tf.report_uninitialized_variables()
    shared = tf.Session()
    manager = _SharedSessionManager(shared, ready_op=ready, recovery_wait_secs=0.05)
    sv = tf.train.Supervisor(is_chief=False, session_manager=manager)
    timer = threading.Timer(0.3, lambda: shared.run(init))
    timer.start()
    start = time.monotonic()
    sess = sv.prepare_or_wait_for_session(max_wait_secs=10)
    timer.join()
    assert 0.25 < time.monotonic() - start < 5
    sess.run(train, {x: [[1.0]]})
    assert shared.run(step) == 1
    sv.stop()
    shared.close()


def test_unwritable_logdir_fails_at_construction(tmp_path):
    _model()
    blocker = tmp_path / "file"
    blocker.write_text("keep")
    with pytest.raises((tf.errors.FailedPreconditionError, tf.errors.PermissionDeniedError)):
        tf.train.Supervisor(logdir=str(blocker / "logs"))
    assert blocker.read_text() == "keep"
