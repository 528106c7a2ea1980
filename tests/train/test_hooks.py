"""The standard SessionRunHooks: when they act (steps and seconds), what they write (checkpoints,
summaries, logs), how they stop training, and their errors."""
import json
import logging
import os
import threading
import time

import numpy as np
import pytest

import tfnb as tf
from event_helpers import scalar_values


def _counter_model():
    """w += 1 and the global step += 1 per run; the loss is 10 - w."""
    w = tf.Variable(0.0, name="w")
    step = tf.train.get_or_create_global_step()
    loss = 10.0 - w
    with tf.control_dependencies([loss]):  # fetched with `train`, the loss is the one before it
        train = tf.group(tf.assign_add(w, 1.0), tf.assign_add(step, 1))
    return w, step, train, loss


def _train(hooks, train, checkpoint_dir=None, max_runs=100, **kwargs):
    runs = 0
    with tf.train.MonitoredTrainingSession(checkpoint_dir=checkpoint_dir, hooks=hooks,
                                           **kwargs) as sess:
        while not sess.should_stop() and runs < max_runs:
            sess.run(train)
            runs += 1
    return runs


# ----------------------------------------------------------------------------------------------
# SecondOrStepTimer
# ----------------------------------------------------------------------------------------------
def test_second_or_step_timer_by_steps():
    timer = tf.train.SecondOrStepTimer(every_steps=3)
    assert timer.should_trigger_for_step(0)  # the first call always triggers
    assert timer.update_last_triggered_step(0) == (None, None)
    assert not timer.should_trigger_for_step(0) and not timer.should_trigger_for_step(2)
    assert timer.should_trigger_for_step(3)
    elapsed, steps = timer.update_last_triggered_step(4)
    assert steps == 4 and elapsed >= 0 and timer.last_triggered_step() == 4
    with pytest.raises(ValueError, match="Either"):
        tf.train.SecondOrStepTimer()
    with pytest.raises(ValueError, match="both"):
        tf.train.SecondOrStepTimer(every_secs=1, every_steps=1)


def test_second_or_step_timer_by_seconds(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    timer = tf.train.SecondOrStepTimer(every_secs=10)
    timer.update_last_triggered_step(0)
    now[0] += 9.9
    assert not timer.should_trigger_for_step(100)
    now[0] += 0.1
    assert timer.should_trigger_for_step(1)
    assert timer.update_last_triggered_step(1) == pytest.approx((10.0, 1))


# ----------------------------------------------------------------------------------------------
# StopAtStepHook
# ----------------------------------------------------------------------------------------------
def test_stop_at_step_hook_last_step_and_num_steps():
    w, step, train, loss = _counter_model()
    assert _train([tf.train.StopAtStepHook(last_step=4)], train) == 4
    # num_steps counts from the step when the session starts: a step counter of 2 runs 5 more.
    set_two = tf.assign(step, 2)
    scaffold = tf.train.Scaffold(init_fn=lambda scaffold, sess: sess.run(set_two))
    with tf.train.SingularMonitoredSession(hooks=[tf.train.StopAtStepHook(num_steps=5)],
                                           scaffold=scaffold) as sess:
        runs = 0
        while not sess.should_stop():
            sess.run(train)
            runs += 1
        assert sess.raw_session().run(step) == 7 and runs == 5
    with pytest.raises(ValueError, match="One of"):
        tf.train.StopAtStepHook()
    with pytest.raises(ValueError, match="Only one"):
        tf.train.StopAtStepHook(num_steps=1, last_step=1)


def test_step_hooks_need_a_global_step():
    tf.Variable(1.0)
    with pytest.raises(RuntimeError, match="Global step should be created to use StopAtStepHook"):
        tf.train.MonitoredSession(hooks=[tf.train.StopAtStepHook(last_step=1)])
    assert not tf.get_default_graph().finalized


# ----------------------------------------------------------------------------------------------
# CheckpointSaverHook
# ----------------------------------------------------------------------------------------------
class _Listener(tf.train.CheckpointSaverListener):
    def __init__(self, stop_after=None):
        self.events = []
        self.stop_after = stop_after

    def begin(self):
        self.events.append("begin")

    def before_save(self, session, global_step_value):
        self.events.append(("before_save", int(global_step_value)))

    def after_save(self, session, global_step_value):
        self.events.append(("after_save", int(global_step_value)))
        return self.stop_after is not None and global_step_value >= self.stop_after

    def end(self, session, global_step_value):
        self.events.append(("end", int(global_step_value)))


def test_checkpoint_saver_hook_saves_at_start_every_n_steps_and_at_end(tmp_path):
    w, step, train, loss = _counter_model()
    listener = _Listener()
    saver_hook = tf.train.CheckpointSaverHook(str(tmp_path), save_steps=3, listeners=[listener])
    assert _train([saver_hook, tf.train.StopAtStepHook(last_step=7)], train) == 7
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert [int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths] == [0, 3, 6, 7]
    assert listener.events == ["begin"] + [e for s in (0, 3, 6, 7) for e in
                                           (("before_save", s), ("after_save", s))] + [("end", 7)]
    # Each checkpoint holds the state at its step.
    for s in (0, 3, 6, 7):
        assert tf.train.load_variable(str(tmp_path / ("model.ckpt-%d" % s)), "w") == s
    assert os.path.exists(tmp_path / "graph.pbtxt")


def test_a_listener_can_stop_training(tmp_path):
    w, step, train, loss = _counter_model()
    hook = tf.train.CheckpointSaverHook(str(tmp_path), save_steps=2,
                                        listeners=[_Listener(stop_after=4)])
    assert _train([hook], train) == 4


def test_checkpoint_saver_hook_by_seconds(tmp_path, monkeypatch):
    w, step, train, loss = _counter_model()
    now = [0.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    hook = tf.train.CheckpointSaverHook(str(tmp_path), save_secs=60)
    with tf.train.SingularMonitoredSession(hooks=[hook]) as sess:
        for _ in range(3):
            sess.run(train)      # under a minute: no save
        now[0] = 61.0
        sess.run(train)          # step 4
        now[0] = 62.0
        sess.run(train)
    saved = tf.train.get_checkpoint_state(str(tmp_path)).all_model_checkpoint_paths
    assert [int(p.rsplit("-", 1)[1]) for p in saved] == [0, 4, 5]


def test_checkpoint_saver_hook_argument_errors(tmp_path):
    w, step, train, loss = _counter_model()
    saver = tf.train.Saver()
    with pytest.raises(ValueError, match="both saver and scaffold"):
        tf.train.CheckpointSaverHook(str(tmp_path), save_steps=1, saver=saver,
                                     scaffold=tf.train.Scaffold())
    with pytest.raises(ValueError):
        tf.train.CheckpointSaverHook(str(tmp_path))
    # Two savers in SAVERS (added by the user, as in TF1): ambiguous without an explicit one.
    tf.add_to_collection(tf.GraphKeys.SAVERS, saver)
    tf.add_to_collection(tf.GraphKeys.SAVERS, tf.train.Saver())
    with pytest.raises(RuntimeError, match="More than one item in collection savers"):
        with tf.train.MonitoredSession(hooks=[tf.train.CheckpointSaverHook(str(tmp_path),
                                                                           save_steps=1)]):
            pass


# ----------------------------------------------------------------------------------------------
# Summaries and step counting
# ----------------------------------------------------------------------------------------------
def test_summary_saver_hook_writes_every_n_steps(tmp_path, read_events):
    w, step, train, loss = _counter_model()
    summary = tf.summary.scalar("w_value", w)
    hook = tf.train.SummarySaverHook(save_steps=3, output_dir=str(tmp_path), summary_op=summary)
    _train([hook, tf.train.StopAtStepHook(last_step=8)], train)
    events = read_events(str(tmp_path))
    # Every 3 steps from the first run; the summary op was created after the train op, so
    # in the same run it reads w after the update (tfnb runs a step's ops in creation order).
    assert scalar_values(events, "w_value") == [(1, 1.0), (4, 4.0), (7, 7.0)]
    starts = [e.step for e in events if e.HasField("session_log")
              and e.session_log.status == e.session_log.START]
    assert starts == [1]
    with pytest.raises(ValueError, match="Exactly one of scaffold or summary_op"):
        tf.train.SummarySaverHook(save_steps=1)


def test_step_counter_hook_records_steps_per_second(tmp_path, read_events):
    w, step, train, loss = _counter_model()
    sleep = tf.py_func(lambda: time.sleep(0.01) or np.float32(0), [], tf.float32)
    with tf.control_dependencies([sleep]):
        slow_train = tf.group(train)
    hook = tf.train.StepCounterHook(every_n_steps=5, output_dir=str(tmp_path))
    _train([hook, tf.train.StopAtStepHook(last_step=16)], slow_train)
    rates = scalar_values(read_events(str(tmp_path)), "global_step/sec")
    assert [s for s, _ in rates] == [6, 11, 16]
    assert all(0 < r < 110 for _, r in rates)  # a step takes at least 10 ms
    with pytest.raises(ValueError, match="exactly one"):
        tf.train.StepCounterHook(every_n_steps=None)


# ----------------------------------------------------------------------------------------------
# NaN, logging, final ops, feeds, profiling
# ----------------------------------------------------------------------------------------------
def test_nan_tensor_hook_fails_and_no_checkpoint_holds_the_nan(tmp_path):
    w = tf.Variable(2.0, name="w")
    step = tf.train.get_or_create_global_step()
    loss = tf.sqrt(w - 1.2)  # NaN once w < 1.2: at w = 1.0, the third run
    with tf.control_dependencies([loss]):
        # The update that makes the loss NaN also makes w NaN (as a NaN gradient would).
        train = tf.group(tf.assign(w, w - 0.5 + 0.0 * loss), tf.assign_add(step, 1))
    with pytest.raises(tf.train.NanLossDuringTrainingError, match="NaN loss"):
        _train([tf.train.NanTensorHook(loss)], train, checkpoint_dir=str(tmp_path),
               save_checkpoint_steps=1, save_summaries_steps=None)
    # The NaN step was not checkpointed (the NaN check runs before the checkpoint hook, and
    # no final checkpoint is written after an error): the latest holds step 2, w = 1.0.
    last = tf.train.latest_checkpoint(str(tmp_path))
    assert last.endswith("model.ckpt-2") and tf.train.load_variable(last, "w") == 1.0
    tf.reset_default_graph()
    w = tf.Variable(0.0, name="w")
    step = tf.train.get_or_create_global_step()
    nan_loss = tf.where(w >= 2.0, np.nan, 1.0)
    with tf.control_dependencies([nan_loss]):
        train = tf.group(tf.assign_add(w, 1.0), tf.assign_add(step, 1))
    runs = _train([tf.train.NanTensorHook(nan_loss, fail_on_nan_loss=False)], train)
    assert runs == 3  # the NaN is seen in the third run, which then stops training


def test_logging_tensor_hook_every_n_iter_at_end_and_formatter(caplog):
    w, step, train, loss = _counter_model()
    caplog.set_level(logging.INFO, logger="tfnb.train")
    hook = tf.train.LoggingTensorHook({"weight": w, "loss": "sub:0"}, every_n_iter=2,
                                      at_end=True)
    _train([hook, tf.train.StopAtStepHook(last_step=5)], train)
    lines = [r.getMessage() for r in caplog.records if "weight =" in r.getMessage()]
    assert [ln.split(" (")[0] for ln in lines] == [
        "loss = 10.0, weight = 0.0", "loss = 8.0, weight = 2.0", "loss = 6.0, weight = 4.0",
        "loss = 5.0, weight = 5.0"]
    caplog.clear()
    tf.reset_default_graph()
    w, step, train, loss = _counter_model()
    hook = tf.train.LoggingTensorHook([w], every_n_iter=10, formatter=lambda v: "w is %g" % v[w])
    _train([hook, tf.train.StopAtStepHook(last_step=2)], train)
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("w is")] == \
        ["w is 0"]
    with pytest.raises(ValueError, match="every_n_iter"):
        tf.train.LoggingTensorHook([w], every_n_iter=0)
    with pytest.raises(ValueError, match="exactly one"):
        tf.train.LoggingTensorHook([w])


def test_final_ops_hook_and_feed_fn_hook():
    w, step, train, loss = _counter_model()
    x = tf.placeholder(tf.float32, [])
    scaled = tf.assign_add(w, x)
    final = tf.train.FinalOpsHook({"w": w.value(), "twice": 2.0 * w.value()})
    fed = iter([1.0, 2.0, 3.0])
    feeder = tf.train.FeedFnHook(lambda: {x: next(fed)})
    with tf.train.MonitoredSession(hooks=[final, feeder]) as sess:
        for _ in range(3):
            sess.run(scaled)
        assert final.final_ops_values is None
    assert final.final_ops_values == {"w": 6.0, "twice": 12.0}


def test_global_step_waiter_hook_waits_for_the_step_and_is_bounded(monkeypatch):
    w, step, train, loss = _counter_model()
    monkeypatch.setattr(tf.train.GlobalStepWaiterHook, "_POLL_SECS", 0.02)
    set_five = tf.assign(step, 5)
    with tf.train.SingularMonitoredSession(hooks=[tf.train.GlobalStepWaiterHook(5)]) as sess:
        raw = sess.raw_session()
        t = threading.Timer(0.3, lambda: raw.run(set_five))
        t.start()
        start = time.monotonic()
        sess.run(train)  # waits for step 5, then runs
        waited = time.monotonic() - start
        t.join()
        assert 0.25 < waited < 5 and sess.run(step) == 6
    tf.reset_default_graph()
    w, step, train, loss = _counter_model()
    hook = tf.train.GlobalStepWaiterHook(100, max_wait_secs=0.3)
    with tf.train.SingularMonitoredSession(hooks=[hook]) as sess:
        with pytest.raises(tf.errors.DeadlineExceededError, match="step 100"):
            sess.run(train)


def test_profiler_hook_writes_chrome_traces(tmp_path):
    w, step, train, loss = _counter_model()
    hook = tf.train.ProfilerHook(save_steps=2, output_dir=str(tmp_path))
    _train([hook, tf.train.StopAtStepHook(last_step=4)], train)
    traces = sorted(f for f in os.listdir(tmp_path) if f.startswith("timeline-"))
    assert traces == ["timeline-1.json", "timeline-3.json"]
    with open(tmp_path / traces[0]) as f:
        events = json.load(f)["traceEvents"]
    assert any("AssignAdd" in str(e.get("args", {})) or "AssignAdd" in e.get("name", "")
               for e in events)
