"""A Dask cluster started as a user would on real machines -- ``dask scheduler`` and
``dask worker`` processes from the command line -- hosting a TF1 cluster through
``DaskCluster(client=address)``. Loopback only; every wait bounded; every process killed."""
import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import tfnb as tf  # noqa: E402
from tfnb.distribute.dask_cluster import INFO_OP, DaskCluster  # noqa: E402

DASK = os.path.join(os.path.dirname(sys.executable), "dask")


def _start(args, log):
    """Starts a CLI process in its own session (so its nanny's children can be killed with it)."""
    return subprocess.Popen([DASK] + args, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def _stop(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def _wait_for(predicate, timeout, what, logs):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for %s; logs:\n%s" % (
        what, "\n".join(open(p).read()[-2000:] for p in logs)))


@pytest.fixture
def cli_cluster(tmp_path):
    """(scheduler address, [worker processes]): one scheduler and two single-thread workers."""
    if not os.path.exists(DASK):
        pytest.skip("no dask command line beside this Python")
    scheduler_file = str(tmp_path / "scheduler.json")
    logs = [str(tmp_path / n) for n in ("scheduler.log", "worker0.log", "worker1.log")]
    procs = []
    try:
        with open(logs[0], "w") as log:
            procs.append(_start(["scheduler", "--host", "127.0.0.1", "--port", "0",
                                 "--no-dashboard", "--scheduler-file", scheduler_file], log))
        _wait_for(lambda: os.path.exists(scheduler_file) and os.path.getsize(scheduler_file),
                  60, "the scheduler file", logs[:1])
        with open(scheduler_file) as f:
            address = json.load(f)["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for i in (1, 2):
            with open(logs[i], "w") as log:
                procs.append(_start(["worker", address, "--host", "127.0.0.1", "--nthreads",
                                     "1", "--no-dashboard", "--name", "cli-%d" % (i - 1)], log))
        yield address, procs
    finally:
        for p in reversed(procs):
            _stop(p)


def _ask(url, timeout=5.0):
    from distributed.core import rpc

    async def go():
        async with rpc(url, timeout=timeout) as r:
            return await asyncio.wait_for(getattr(r, INFO_OP)(), timeout)
    return asyncio.run(go())


def _train_mlp(target="", cluster_spec=None, steps=5):
    """A 6-5-3 ReLU MLP, SGD with momentum; on a cluster its variables (and the optimizer's
    slots) live on the ps task, the compute on the worker task. Returns losses and weights."""
    rng = np.random.RandomState(7)
    xs = rng.randn(steps, 16, 6).astype(np.float32)
    labels = rng.randint(0, 3, (steps, 16))
    with tf.Graph().as_default():
        setter = tf.train.replica_device_setter(cluster=cluster_spec) if cluster_spec else None
        with tf.device(setter):
            x = tf.placeholder(tf.float32, [None, 6])
            y = tf.placeholder(tf.int32, [None])
            w1 = tf.Variable(np.linspace(-1, 1, 30, dtype=np.float32).reshape(6, 5), name="w1")
            w2 = tf.Variable(np.linspace(1, -1, 15, dtype=np.float32).reshape(5, 3), name="w2")
            logits = tf.matmul(tf.nn.relu(tf.matmul(x, w1)), w2)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=y, logits=logits))
            train = tf.train.MomentumOptimizer(0.1, 0.9).minimize(loss)
        with tf.Session(target) as sess:
            sess.run(tf.global_variables_initializer())
            losses = [sess.run([loss, train], {x: xs[i], y: labels[i]})[0] for i in range(steps)]
            return np.array(losses), sess.run([w1, w2])


def test_tf_cluster_on_cli_started_dask(cli_cluster):
    address, procs = cli_cluster
    with DaskCluster(ps=1, worker=1, client=address, timeout=60) as cluster:
        assert cluster.client.scheduler.address == address
        spec = cluster.spec
        assert {spec.task_address("ps", 0), spec.task_address("worker", 0)} == {
            a.split("://")[1] for a in cluster.client.scheduler_info()["workers"]}
        for job in ("ps", "worker"):
            info = _ask("tcp://" + spec.task_address(job, 0))
            assert (info["job"], info["task"]) == (job, 0)
        # The CLI workers are named cli-0, cli-1: tasks take them in name order.
        names = {a: w["name"] for a, w in cluster.client.scheduler_info()["workers"].items()}
        assert names[cluster.dask_worker("ps", 0)] == "cli-0"
        assert names[cluster.dask_worker("worker", 0)] == "cli-1"
        assert set(cluster.status().values()) == {"running"}
        # A ps/worker program through the hosted tasks: the numbers of the one-process run.
        losses, weights = _train_mlp(cluster.target("worker", 0), cluster.spec)
        want_losses, want_weights = _train_mlp()
        np.testing.assert_allclose(losses, want_losses, rtol=1e-5, atol=1e-6)
        for got, want in zip(weights, want_weights):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        assert losses[-1] < losses[0]
    # The Dask cluster belongs to the user: it is still up after the TF cluster closed.
    assert all(p.poll() is None for p in procs)
    with distributed.Client(address, set_as_default=False, timeout=30) as client:
        assert len(client.scheduler_info()["workers"]) == 2
