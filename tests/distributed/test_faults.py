"""Faults during replicated training, with real processes on 127.0.0.1 (kill -9): a worker lost
during async and sync training (and coming back), the ps lost (restored from the latest
checkpoint), the chief lost (a new chief resumes from the checkpoints, none corrupted).
Every wait is bounded; every process is stopped by its test."""
import json
import os
import signal
import threading
import time

import numpy as np
import pytest

import tfnb as tf
from replica_programs import ProcCluster, _data, _model, read_json_lines
from tfnb.distribute.training import train


def _regression():
    x, y, loss = _model(tf, np)
    step = tf.train.GradientDescentOptimizer(0.02).minimize(loss)
    return x, y, loss, step


class _Killer:
    """A train() callback that kills (and maybe restarts) a task once the global step passes
    ``at``, and stops the training a while after the task is back and has rejoined."""

    def __init__(self, pc, job, task, at, restart=False, stop_after_rejoin=None):
        self.pc, self.job, self.task, self.at = pc, job, task, at
        self.restart, self.stop_after_rejoin = restart, stop_after_rejoin
        self.killed_at = self.back_at = None
        self.rejoined_step = None
        self.messages = []
        self.last_step = 0

    def __call__(self, msg):
        self.messages.append(msg)
        if msg.get("kind") == "progress":
            self.last_step = max(self.last_step, msg["global_step"])
        if self.killed_at is None and self.last_step >= self.at:
            self.killed_at = time.monotonic()
            self.pc.kill(self.job, self.task)
            if self.restart:
                threading.Thread(target=self._restart, daemon=True).start()
        if msg.get("kind") == "event" and "rejoined" in msg.get("text", "") and \
                self.rejoined_step is None:
            self.rejoined_step = self.last_step
        if self.stop_after_rejoin is not None and self.rejoined_step is not None and \
                self.last_step >= self.rejoined_step + self.stop_after_rejoin:
            return True
        return None

    def _restart(self):
        time.sleep(0.5)
        self.pc.start(self.job, self.task)
        self.back_at = time.monotonic()


def test_worker_killed_during_async_training_the_others_go_on_and_it_rejoins():
    pc = ProcCluster(ps=1, worker=3)
    try:
        X, Y = _data(np)
        with tf.Graph().as_default():
            x, y, loss, step = _regression()
            killer = _Killer(pc, "worker", 2, at=60, restart=True, stop_after_rejoin=60)
            t0 = time.monotonic()
            r = train(step, loss=loss, feeds={x: X, y: Y}, cluster=pc.spec, mode="async",
                      max_steps=100000, batch_size=8, monitor=False, timeout=5.0,
                      callback=killer)
        texts = [t for _, t in r.events]
        assert any("replica 2 (/job:worker/task:2) lost" in t for t in texts), texts
        assert any("replica 2 rejoined" in t for t in texts), texts
        assert killer.rejoined_step is not None and r.global_step >= killer.rejoined_step + 60
        # The others went on while replica 2 was away.
        lost_at = next(t for t, text in r.events if "lost" in text)
        during = [m for m in killer.messages if m.get("kind") == "progress" and
                  m["replica"] in (0, 1) and m["time"] > time.time() - (time.monotonic() - t0)
                  + lost_at]
        assert during
        # Replica 2 trained again after rejoining.
        assert any(m.get("kind") == "progress" and m["replica"] == 2 and
                   m["global_step"] > killer.rejoined_step for m in killer.messages)
        assert r.lost == [] and r.final_loss() < 1.0
    finally:
        pc.stop()


def test_worker_killed_during_sync_training_fails_the_step_in_bounded_time_then_proceeds():
    pc = ProcCluster(ps=1, worker=2)
    try:
        X, Y = _data(np)
        with tf.Graph().as_default():
            x, y, loss, step = _regression()
            killer = _Killer(pc, "worker", 1, at=40, restart=True, stop_after_rejoin=30)
            r = train(step, loss=loss, feeds={x: X, y: Y}, cluster=pc.spec, mode="sync",
                      max_steps=100000, batch_size=8, monitor=False, timeout=3.0,
                      callback=killer)
        lost = next(t for t, text in r.events if "replica 1 (/job:worker/task:1) lost" in text)
        back = next(t for t, text in r.events if "replica 1 rejoined" in text)
        assert back > lost
        # Between the loss and the rejoin, replica 0 made synchronous steps on its own.
        solo = [m for m in killer.messages if m.get("kind") == "progress" and m["replica"] == 0
                and killer.rejoined_step is not None and m["global_step"] < killer.rejoined_step]
        assert solo
        assert any(m.get("kind") == "progress" and m["replica"] == 1 and
                   m["global_step"] > killer.rejoined_step for m in killer.messages)
        assert r.global_step >= killer.rejoined_step + 30 and not r.interrupted
    finally:
        pc.stop()


def test_killed_worker_is_detected_in_bounded_time():
    """The synchronous step that waits for a killed task fails within the session bound."""
    pc = ProcCluster(ps=1, worker=2)
    try:
        X, Y = _data(np)
        with tf.Graph().as_default():
            x, y, loss, step = _regression()
            killer = _Killer(pc, "worker", 1, at=20)
            seen = []

            def callback(msg):
                killer(msg)
                if msg.get("kind") == "event" and "lost" in msg.get("text", ""):
                    seen.append(time.monotonic())
                return True if seen and msg.get("kind") == "progress" else None
            r = train(step, loss=loss, feeds={x: X, y: Y}, cluster=pc.spec, mode="sync",
                      max_steps=100000, batch_size=8, monitor=False, timeout=2.0,
                      callback=callback)
        assert seen and seen[0] - killer.killed_at < 2 * 2.0 + 1.0
        assert r.lost == [1]
    finally:
        pc.stop()


def _checkpoints(path):
    state = tf.train.get_checkpoint_state(path)
    return [] if state is None else list(state.all_model_checkpoint_paths)


def _readable(prefix):
    reader = tf.train.load_checkpoint(prefix)
    return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}


def test_ps_killed_training_restores_the_latest_checkpoint_and_finishes(tmp_path):
    pc = ProcCluster(ps=1, worker=2)
    try:
        X, Y = _data(np)
        with tf.Graph().as_default():
            x, y, loss, step = _regression()
            killer = _Killer(pc, "ps", 0, at=150, restart=True)
            r = train(step, loss=loss, feeds={x: X, y: Y}, cluster=pc.spec, mode="async",
                      max_steps=600, batch_size=8, monitor=False, timeout=3.0,
                      checkpoint_dir=str(tmp_path), save_checkpoint_secs=0.2,
                      recovery_timeout=60.0, callback=killer)
        texts = [t for _, t in r.events]
        assert any("ps unavailable or reset" in t for t in texts), texts
        restored = [t for t in texts if t.startswith("restored model.ckpt-")]
        assert restored, texts
        assert any("ps recovered at global step" in t for t in texts)
        assert r.global_step >= 600
        # Every checkpoint the state file lists is complete and readable.
        paths = _checkpoints(str(tmp_path))
        assert paths and paths[-1] == r.checkpoint
        for p in paths:
            values = _readable(p)
            assert set(values) >= {"w", "b", "tfnb_train/global_step"}
        assert int(_readable(r.checkpoint)["tfnb_train/global_step"]) >= 600
        assert r.final_loss() < 1.0
    finally:
        pc.stop()


def test_ps_lost_without_checkpoint_dir_is_a_data_loss_error():
    pc = ProcCluster(ps=1, worker=1)
    try:
        X, Y = _data(np)
        with tf.Graph().as_default():
            x, y, loss, step = _regression()
            killer = _Killer(pc, "ps", 0, at=30, restart=True)
            with pytest.raises(tf.errors.DataLossError, match="no checkpoint"):
                train(step, loss=loss, feeds={x: X, y: Y}, cluster=pc.spec, mode="async",
                      max_steps=100000, batch_size=8, monitor=False, timeout=3.0,
                      recovery_timeout=30.0, callback=killer)
    finally:
        pc.stop()


def test_chief_killed_a_new_chief_resumes_from_the_latest_checkpoint(tmp_path):
    pc = ProcCluster(ps=1, worker=2)
    try:
        ckpt = str(tmp_path)
        chief = pc.spawn("train", json.dumps(pc.spec), ckpt, "100000", "async")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(_checkpoints(ckpt)) < 2:
            assert chief.poll() is None, chief.stderr.read()
            time.sleep(0.1)
        assert len(_checkpoints(ckpt)) >= 2
        os.kill(chief.pid, signal.SIGKILL)
        chief.wait(10)
        last = _checkpoints(ckpt)[-1]
        saved_step = int(_readable(last)["tfnb_train/global_step"])
        for p in _checkpoints(ckpt):  # nothing the dead chief left behind is corrupted
            _readable(p)
        target = saved_step + 40
        second = pc.spawn("train", json.dumps(pc.spec), ckpt, str(target), "async")
        out = read_json_lines(second, 120, until=lambda d: "global_step" in d)
        second.wait(30)
        assert out and out[-1]["global_step"] >= target, second.stderr.read()[-3000:]
        assert out[-1]["start"] >= saved_step
        assert any("restored model.ckpt-" in text for _, text in out[-1]["events"])
        assert _checkpoints(ckpt)[-1] == out[-1]["checkpoint"]
        for p in _checkpoints(ckpt):
            _readable(p)
    finally:
        pc.stop()


def test_supervisor_chief_killed_restarts_from_its_checkpoint(tmp_path):
    """The seed slide's program: kill -9 the chief while it trains; a new chief process
    restores the latest checkpoint onto the (live) ps -- the global step and every variable go
    back to the checkpoint's -- and with a second worker the training finishes.

    As in TF1, a checkpoint's name is the global step read just before its values are saved,
    while training goes on: ``model.ckpt-65`` may hold global_step 66. What the restore must
    give back is the content of the checkpoint the state file names."""
    pc = ProcCluster(jobs={"ps": 1, "worker": 2}, start=False)
    try:
        pc.start("ps", 0)
        logdir, spec, max_steps = str(tmp_path), json.dumps(pc.spec), 400
        chief = pc.spawn("slide", spec, "0", logdir, str(max_steps), "0.3")
        read_json_lines(chief, 60, until=lambda d: d.get("ready"))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(_checkpoints(logdir)) < 2:
            assert chief.poll() is None, chief.stderr.read()[-3000:]
            time.sleep(0.05)
        assert len(_checkpoints(logdir)) >= 2
        progress = read_json_lines(chief, 10, until=lambda d: d.get("global_step", 0) > 0 and
                                   "local" in d)
        os.kill(chief.pid, signal.SIGKILL)
        chief.wait(10)
        reached = max(d["global_step"] for d in progress)
        for p in _checkpoints(logdir):  # nothing the dead chief wrote is corrupted
            _readable(p)
        latest = _checkpoints(logdir)[-1]  # what the new chief's prepare_session restores
        assert latest == tf.train.latest_checkpoint(logdir)
        saved = _readable(latest)
        named = int(latest.rsplit("-", 1)[1])
        assert saved["global_step"] >= named  # the name was read before the values
        chief2 = pc.spawn("slide", spec, "0", logdir, str(max_steps), "0.3")
        ready = read_json_lines(chief2, 60, until=lambda d: d.get("ready"))
        assert ready and ready[-1]["global_step"] == saved["global_step"], (
            ready, latest, saved, reached, chief2.stderr.read()[-3000:])
        restored = ready[-1]["variables"]
        assert sorted(restored) == sorted(saved)
        for name, value in saved.items():
            np.testing.assert_array_equal(np.asarray(restored[name], value.dtype), value,
                                          err_msg=name)
        other = pc.spawn("slide", spec, "1", logdir, str(max_steps), "0.3")
        finals = [read_json_lines(p, 180, until=lambda d: d.get("done")) for p in (chief2, other)]
        assert all(f and f[-1].get("done") for f in finals), [
            p.stderr.read()[-2000:] for p in (chief2, other)]
        assert max(f[-1]["global_step"] for f in finals) >= max_steps
        assert finals[1][-1]["local"] > 0
        for p in _checkpoints(logdir):
            _readable(p)
    finally:
        pc.stop()


def test_dask_worker_killed_during_async_training_is_reported_and_the_rest_finish():
    """On a DaskCluster without re-hosting the nanny restarts a killed worker at a new address,
    which hosts no task: the replica is reported lost and the other one finishes the training.
    (With re-hosting, the default, it rejoins: tests/distributed/test_dask_rehost.py.)"""
    pytest.importorskip("distributed")
    from tfnb.distribute import DaskCluster
    X, Y = _data(np)
    with DaskCluster(ps=1, worker=2, timeout=60, rehost=False) as cluster, \
            tf.Graph().as_default():
        x, y, loss, step = _regression()
        address = cluster.dask_worker("worker", 1)
        pid = cluster.client.run(os.getpid, workers=[address])[address]
        state = {"killed": False}

        def callback(msg):
            if not state["killed"] and msg.get("kind") == "progress" and \
                    msg["global_step"] >= 60:
                state["killed"] = True
                os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        r = train(step, loss=loss, feeds={x: X, y: Y}, cluster=cluster, mode="async",
                  steps=500, batch_size=8, monitor=False, timeout=5.0, callback=callback)
        assert state["killed"] and r.lost == [1], r.events
        assert any("replica 1 (/job:worker/task:1) lost" in t for _, t in r.events)
        assert r.global_step >= 500 and time.monotonic() - t0 < 120
        assert cluster.status()[("worker", 0)] == "running"
