"""DaskCluster: bring-up on a LocalCluster or an existing Dask cluster, pinning, repr, close, TLS.

Everything listens on 127.0.0.1; every cluster a test starts is closed in the test.
"""
import asyncio
import subprocess
import sys
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

import tfnb as tf  # noqa: E402
from tfnb.distribute.dask_cluster import (INFO_OP, DaskCluster, NotEnoughWorkersError,  # noqa: E402
                                          _hosted_task, task_connection_args)


def _ask(address, security=None, timeout=5.0, op=INFO_OP):
    """The ``op`` answer of the task at ``address`` (host:port or a URL), from this process."""
    from distributed.core import rpc
    scheme = "tls" if address.startswith("tls://") else "tcp"
    url = "%s://%s" % (scheme, address.split("://", 1)[-1])
    args = (security or distributed.Security()).get_connection_args("client")

    async def go():
        async with rpc(url, connection_args=args, timeout=timeout) as r:
            return await asyncio.wait_for(getattr(r, op)(), timeout)
    return asyncio.run(go())


def _descendants():
    """Processes this test process started (multiprocessing's resource tracker excepted: one per
    Python process, shared by everything that uses multiprocessing, it ends with us)."""
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(p.cmdline()) and p.status() != "zombie":
                out.append(p.pid)
        except psutil.NoSuchProcess:
            pass
    return out


def test_core_import_does_not_load_dask():
    code = ("import sys, tfnb, tfnb.distribute; "
            "assert 'distributed' not in sys.modules and 'dask' not in sys.modules, 'dask loaded'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_bad_arguments_start_nothing():
    before = set(_descendants())
    with pytest.raises(ValueError, match="job 'ps' must be an integer >= 0"):
        DaskCluster(ps=-1)
    with pytest.raises(ValueError, match="at least one task"):
        DaskCluster(ps=0, worker=0)
    with pytest.raises(ValueError, match="not valid in a device string"):
        DaskCluster(jobs={"bad/job": 1})
    with pytest.raises(TypeError, match="client must be None, a distributed.Client"):
        DaskCluster(client=3)
    assert set(_descendants()) == before


def test_scheduler_address_that_does_not_answer():
    import socket
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        address = "tcp://127.0.0.1:%d" % s.getsockname()[1]
    t0 = time.monotonic()
    with pytest.raises(tf.errors.UnavailableError, match="Cannot reach the Dask scheduler at "
                                                         + address):
        DaskCluster(client=address, timeout=1.0)
    assert time.monotonic() - t0 < 10


def test_local_cluster_spec_target_pinning_repr_and_close():
    before = set(_descendants())
    t0 = time.monotonic()
    cluster = DaskCluster(ps=1, worker=2, timeout=60)
    try:
        spec = cluster.spec
        assert isinstance(spec, tf.train.ClusterSpec)
        assert spec.jobs == ["ps", "worker"] and spec.num_tasks("worker") == 2
        workers = set(cluster.client.scheduler_info()["workers"])
        assert len(workers) == 3
        pids = set()
        for job, n in (("ps", 1), ("worker", 2)):
            for i in range(n):
                address = spec.task_address(job, i)
                assert address.startswith("127.0.0.1:")
                assert cluster.dask_worker(job, i) == "tcp://" + address
                assert "tcp://" + address in workers
                assert cluster.target(job, i) == "grpc://" + address
                info = _ask(cluster.target(job, i))  # pinned: that worker answers as that task
                assert (info["job"], info["task"]) == (job, i)
                pids.add(info["pid"])
                # ... and serves the task's own handlers (tfnb.distribute.task.TaskService).
                described = _ask(cluster.target(job, i), op="tfnb_cluster")
                assert (described["job"], described["task"]) == (job, i)
                assert [list(t) for t in dict(described["cluster"])["worker"]] == [
                    [0, spec.task_address("worker", 0)], [1, spec.task_address("worker", 1)]]
        assert len(pids) == 3 and all(psutil.pid_exists(p) for p in pids)
        assert cluster.target() == cluster.target("worker", 0)
        with pytest.raises(ValueError, match="No such job in cluster: 'chief'"):
            cluster.target("chief", 0)
        with pytest.raises(ValueError, match="No task with index 2 in job 'worker'"):
            cluster.target("worker", 2)
        assert set(cluster.status().values()) == {"running"}
        text = repr(cluster)
        assert "1 ps, 2 worker" in text and cluster.client.scheduler.address in text
        for job, i in (("ps", 0), ("worker", 0), ("worker", 1)):
            assert "/job:%s/task:%d" % (job, i) in text
            assert cluster.dask_worker(job, i) in text
        assert text.count("running") == 3
        page = cluster._repr_html_()
        assert "<table>" in page and page.count("<tr>") == 4 and "running" in page
        link = cluster.dashboard_link
        assert link.startswith("http://127.0.0.1:") and ('href="%s"' % link) in page
        assert "/job:worker/task:1" in page
        print("bring-up %.1f s" % (time.monotonic() - t0))
    finally:
        cluster.close()
    assert cluster.closed
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids)
    assert set(_descendants()) <= before  # nothing this cluster started is left
    with pytest.raises(tf.errors.UnavailableError, match="is closed"):
        cluster.target()
    assert set(cluster.status().values()) == {"closed"}
    assert "closed" in repr(cluster)
    cluster.close()  # idempotent


@pytest.fixture
def dask_client():
    """A LocalCluster of 3 single-thread worker processes on loopback, and a client to it."""
    with distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as lc, \
            distributed.Client(lc, set_as_default=False) as client:
        yield client


def test_existing_cluster_is_used_as_is_and_shortage_is_a_bounded_typed_error(dask_client):
    address = dask_client.scheduler.address
    first = DaskCluster(ps=1, worker=1, client=dask_client, timeout=20)
    try:
        hosted = dask_client.run(_hosted_task)
        assert sorted(v[1:] for v in hosted.values() if v) == [("ps", 0), ("worker", 0)]
        # A second TF cluster on the same Dask cluster, by scheduler address: it takes the
        # one worker that hosts nothing.
        with DaskCluster(ps=0, worker=1, client=address, timeout=20) as second:
            free = [a for a, v in hosted.items() if v is None]
            assert second.dask_worker("worker", 0) == free[0]
            assert _ask(second.target())["job"] == "worker"
            # No free worker left: a typed error in bounded time, naming needed and available.
            t0 = time.monotonic()
            with pytest.raises(NotEnoughWorkersError) as err:
                DaskCluster(ps=1, worker=1, client=dask_client, timeout=1.5)
            assert time.monotonic() - t0 < 10
            assert isinstance(err.value, tf.errors.UnavailableError)
            assert (err.value.needed, err.value.available) == (2, 0)
            assert "needs 2 Dask workers" in str(err.value) and address in str(err.value)
        # Fewer Dask workers than tasks at all.
        t0 = time.monotonic()
        with pytest.raises(NotEnoughWorkersError, match=r"needs 5 Dask workers .*has 3") as err:
            DaskCluster(ps=2, worker=3, client=dask_client, timeout=1.0)
        assert time.monotonic() - t0 < 10 and err.value.available == 3
        assert _ask(first.target("ps", 0))["job"] == "ps"  # the failures left `first` alone
    finally:
        first.close()
    # Closing stopped the tasks but left the Dask cluster, its workers and the client alone.
    assert dask_client.status == "running"
    assert len(dask_client.scheduler_info()["workers"]) == 3
    assert all(v is None for v in dask_client.run(_hosted_task).values())
    assert dask_client.submit(lambda x: x + 1, 1).result(timeout=10) == 2


def test_tls_end_to_end():
    security = distributed.Security.temporary()
    with DaskCluster(ps=1, worker=1, security=security, timeout=60) as cluster:
        assert cluster.client.scheduler.address.startswith("tls://127.0.0.1:")
        target = cluster.target("worker", 0)
        assert target.startswith("tls://127.0.0.1:")
        assert cluster.dask_worker("ps", 0) == "tls://" + cluster.spec.task_address("ps", 0)
        assert _ask(target, security)["job"] == "worker"
        assert _ask(target, security, op="tfnb_cluster")["protocol"] == "tls"
        assert set(cluster.status().values()) == {"running"}
        # This process reaches the tasks with the cluster's credentials ...
        assert task_connection_args(target)["require_encryption"]
        assert task_connection_args(target)["ssl_context"] is not None
        # ... and a client without them gets nowhere, in bounded time.
        t0 = time.monotonic()
        with pytest.raises(OSError):  # CommClosedError: the TLS handshake fails
            _ask("tcp://" + cluster.spec.task_address("worker", 0), timeout=2.0)
        assert time.monotonic() - t0 < 10
    assert not task_connection_args(target).get("require_encryption")  # forgotten on close


# --- TF programs on the hosted tasks ------------------------------------------------------------
def _softmax_graph(device_fn=None):
    """Softmax regression with its parameters placed by ``device_fn``; (x, y, w, b, step,
    loss, train) of a new default graph."""
    with tf.device(device_fn):
        x = tf.placeholder(tf.float32, [None, 4], name="x")
        y = tf.placeholder(tf.float32, [None, 3], name="y")
        w = tf.Variable(np.zeros((4, 3), np.float32), name="w")
        b = tf.Variable(np.zeros(3, np.float32), name="b")
        step = tf.train.get_or_create_global_step()
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(
            labels=y, logits=tf.matmul(x, w) + b))
        train = tf.train.GradientDescentOptimizer(0.5).minimize(loss, global_step=step)
    return x, y, w, b, step, loss, train


def _batches():
    rng = np.random.RandomState(3)
    xs = rng.randn(6, 8, 4).astype(np.float32)
    ys = np.eye(3, dtype=np.float32)[np.argmax(xs @ rng.randn(4, 3), axis=-1)]
    return xs, ys


def _train(target="", config=None, cluster_spec=None, worker=0):
    """Losses and final (w, b, step) of 6 SGD steps; on a cluster the parameters live on ps."""
    xs, ys = _batches()
    with tf.Graph().as_default():
        setter = None if cluster_spec is None else tf.train.replica_device_setter(
            cluster=cluster_spec, worker_device="/job:worker/task:%d" % worker)
        x, y, w, b, step, loss, train = _softmax_graph(setter)
        with tf.Session(target, config=config) as sess:
            sess.run(tf.global_variables_initializer())
            losses = [sess.run([loss, train], {x: xs[i], y: ys[i]})[0] for i in range(6)]
            return np.array(losses), sess.run([w, b, step])


def test_ps_worker_program_matches_one_process_and_state_lives_on_ps():
    before = set(_descendants())
    want_losses, (want_w, want_b, want_step) = _train()
    # rehost=False: the ps task stays lost (re-hosting: tests/distributed/test_dask_rehost.py;
    # with it the status below was "running" once the nanny's restart hosted the task again).
    with DaskCluster(ps=1, worker=2, timeout=60, rehost=False) as cluster:
        losses, (w, b, step) = _train(cluster.target("worker", 0), cluster_spec=cluster.spec)
        np.testing.assert_allclose(losses, want_losses, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(w, want_w, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(b, want_b, rtol=1e-6, atol=1e-6)
        assert step == want_step == 6
        # Another client, through the other worker task, sees the parameters on ps: no init.
        with tf.Graph().as_default():
            _, _, w2, _, step2, _, _ = _softmax_graph(tf.train.replica_device_setter(
                cluster=cluster.spec, worker_device="/job:worker/task:1"))
            with tf.Session(cluster.target("worker", 1)) as sess:
                got_w, got_step = sess.run([w2, step2])
                rows = {r["op"]: r["assigned"] for r in sess.placement()}
        np.testing.assert_array_equal(got_w, w)
        assert got_step == 6 and rows["w"].startswith("/job:ps/replica:0/task:0")
        # The ps task's process dies (its Dask worker with it): the next step is a typed
        # error in bounded time naming the task, and status() shows it.
        ps_pid = _ask(cluster.target("ps", 0))["pid"]
        psutil.Process(ps_pid).kill()
        with tf.Graph().as_default():
            _, _, w3, _, _, _, _ = _softmax_graph(tf.train.replica_device_setter(
                cluster=cluster.spec))
            t0 = time.monotonic()
            with pytest.raises(tf.errors.UnavailableError, match=cluster.spec.task_address(
                    "ps", 0)):
                with tf.Session(cluster.target("worker", 0),
                                config=tf.ConfigProto(operation_timeout_in_ms=2000)) as sess:
                    sess.run(w3)
            assert time.monotonic() - t0 < 10
        states = cluster.status(timeout=2.0)
        assert states[("ps", 0)] in ("lost", "unreachable: OSError")
        assert states[("worker", 0)] == states[("worker", 1)] == "running"
        target = cluster.target()
    # A closed cluster's target: nothing answers there any more.
    t0 = time.monotonic()
    with pytest.raises(tf.errors.UnavailableError):
        tf.Session(target, config=tf.ConfigProto(operation_timeout_in_ms=1000))
    assert time.monotonic() - t0 < 5
    assert set(_descendants()) <= before  # the worker the nanny restarted is gone too


def test_tls_session_on_the_cluster():
    want_losses, (want_w, _, _) = _train()
    with DaskCluster(ps=1, worker=1, security=distributed.Security.temporary(),
                     timeout=60) as cluster:
        assert cluster.target().startswith("tls://")
        losses, (w, _, step) = _train(cluster.target(), cluster.session_config(),
                                      cluster_spec=cluster.spec)
    np.testing.assert_allclose(losses, want_losses, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(w, want_w, rtol=1e-6, atol=1e-6)
    assert step == 6
