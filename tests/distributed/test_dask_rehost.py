"""DaskCluster re-hosting: a task whose Dask worker is killed (kill -9) is hosted again on the
worker the nanny restarts (at a new address); sessions reach it there, its state starts empty;
a replica of tfnb.distribute.train whose worker dies mid-training rejoins and training ends.

Everything on 127.0.0.1, every wait bounded, every cluster closed in its test.
"""
import os
import signal
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

import tfnb as tf  # noqa: E402
from tfnb.distribute import DaskCluster  # noqa: E402
from tfnb.distribute.training import train  # noqa: E402


def _descendants():
    """Processes this test started (multiprocessing's resource tracker excepted)."""
    out = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(p.cmdline()) and p.status() != "zombie":
                out.add(p.pid)
        except psutil.NoSuchProcess:
            pass
    return out


def _wait_moved(cluster, job, task, old_address, timeout):
    """Waits until ``/job:job/task:task`` answers at an address other than ``old_address``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        address = cluster.spec.task_address(job, task)
        if address != old_address and cluster.status(timeout=2.0)[(job, task)] == "running":
            return address
        time.sleep(0.2)
    raise AssertionError("/job:%s/task:%d was not hosted again within %.0f s; events: %s"
                         % (job, task, timeout, cluster.events))


def test_killed_worker_task_is_hosted_again_at_a_new_address():
    config = tf.ConfigProto(operation_timeout_in_ms=3000)
    before_procs = _descendants()
    with DaskCluster(ps=1, worker=2, timeout=60, rehost_interval=0.2) as cluster:
        old = cluster.spec.task_address("worker", 1)
        old_dask_worker = cluster.dask_worker("worker", 1)
        info = cluster.task_info("worker", 1)
        assert info["address"].endswith(old) and info["pid"] != os.getpid()
        g = tf.Graph()
        with g.as_default():
            with tf.device("/job:ps/task:0"):
                p = tf.Variable(3.0, name="p")
            with tf.device("/job:worker/task:1"):
                w = tf.Variable(5.0, name="w")
                total = w + p
        before = tf.Session(cluster.target("worker", 0), graph=g, config=config)
        before.run([p.initializer, w.initializer])
        assert before.run(total) == 8.0

        os.kill(info["pid"], signal.SIGKILL)
        t0 = time.monotonic()
        # The session made before the move keeps the old address: a typed error, no hang.
        with pytest.raises(tf.errors.UnavailableError, match="task:1"):
            before.run(total)
        assert time.monotonic() - t0 < 10
        before.close()

        new = _wait_moved(cluster, "worker", 1, old, timeout=45)
        moved_after = time.monotonic() - t0
        assert cluster.dask_worker("worker", 1) != old_dask_worker
        assert cluster.task_info("worker", 1)["pid"] != info["pid"]
        assert any("hosted again" in text for _, text in cluster.events)
        assert "hosted again 1 time" in repr(cluster)
        assert cluster.status()[("worker", 0)] == cluster.status()[("ps", 0)] == "running"

        # New sessions reach the new address, directly or through a surviving task (which
        # was told). State on the lost task is gone (initialize again); the ps kept its own.
        assert cluster.target("worker", 1).endswith(new)
        with tf.Session(cluster.target("worker", 1), graph=g, config=config) as sess:
            assert sess.run(p) == 3.0
            with pytest.raises(tf.errors.FailedPreconditionError):
                sess.run(total)
            sess.run(w.initializer)
            assert sess.run(total) == 8.0
            sess.run(w.assign(6.0))
        with tf.Session(cluster.target("worker", 0), graph=g, config=config) as sess:
            assert sess.run(total) == 9.0
            rows = {r["op"]: r["assigned"] for r in sess.placement()}
            assert rows["w"].startswith("/job:worker/replica:0/task:1")
        print("re-hosted after %.1f s" % moved_after)
    assert _descendants() <= before_procs  # the restarted worker is stopped too


def _regression():
    rng = np.random.RandomState(0)
    X = rng.randn(256, 4).astype(np.float32)
    Y = (X @ np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32) + 0.1).astype(np.float32)
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    y = tf.placeholder(tf.float32, [None, 1], name="y")
    W = tf.Variable(tf.zeros([4, 1]), name="W")
    b = tf.Variable(tf.zeros([1]), name="b")
    loss = tf.reduce_mean(tf.square(tf.matmul(x, W) + b - y))
    step = tf.train.GradientDescentOptimizer(0.02).minimize(loss)
    return X, Y, x, y, loss, step


def test_async_replica_whose_worker_dies_rejoins_on_the_restarted_worker():
    with DaskCluster(ps=1, worker=2, timeout=60, rehost_interval=0.2) as cluster, \
            tf.Graph().as_default():
        X, Y, x, y, loss, step = _regression()
        pid = cluster.task_info("worker", 1)["pid"]
        state = {"killed": None, "rejoined": None, "step": 0, "after": []}

        def callback(msg):
            if msg.get("kind") == "progress":
                state["step"] = max(state["step"], msg["global_step"])
            if state["killed"] is None and state["step"] >= 40:
                state["killed"] = state["step"]
                os.kill(pid, signal.SIGKILL)
            if msg.get("kind") == "event" and "replica 1 rejoined" in msg.get("text", ""):
                state["rejoined"] = state["step"]
            if msg.get("kind") == "progress" and msg["replica"] == 1 and \
                    state["rejoined"] is not None:
                state["after"].append(msg["global_step"])
        t0 = time.monotonic()
        # max_steps leaves the moved replica time to come back (the nanny's restart and the
        # re-hosting take a few seconds; the surviving replica alone needs longer than that).
        r = train(step, loss=loss, feeds={x: X, y: Y}, cluster=cluster, mode="async",
                  max_steps=1500, batch_size=8, monitor=False, timeout=5.0,
                  callback=callback)
        elapsed = time.monotonic() - t0
        texts = [t for _, t in r.events]
        assert state["killed"] is not None
        assert any("replica 1 (/job:worker/task:1) lost" in t for t in texts), texts
        assert any("replica 1 rejoined" in t for t in texts), texts
        assert state["rejoined"] is not None and r.lost == [], (r.lost, texts)
        assert r.global_step >= 1500 and not r.interrupted
        # The rejoined replica trained on the new worker: its progress after its return.
        assert state["after"] and max(state["after"]) > state["rejoined"]
        assert r.last_loss[1] < 1.0 and elapsed < 90, (r.last_loss, elapsed)
        assert cluster.status()[("worker", 1)] == "running"
        print("elapsed %.1f s, killed at %s, rejoined at %s, events %s" % (
            elapsed, state["killed"], state["rejoined"], texts))
