"""Failures in the distributed runtime: typed errors naming op and task, rollback on every task,
dead and silent tasks within a bound, bad targets, and malformed or hostile messages."""
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import tfnb as tf
from cluster_helpers import LocalCluster, free_port, free_ports

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_failing_op_on_a_remote_task_aborts_everywhere_and_rolls_back(cluster):
    with tf.device("/job:ps/task:0"):
        v = tf.Variable([1.0, 2.0], name="v")
        w = tf.Variable(10.0, name="w")
        upd = v.assign_add([1.0, 1.0])
        bump = w.assign_add(1.0)
    idx = tf.placeholder(tf.int32, [None])
    with tf.device("/job:worker/task:1"):
        bad = tf.gather(upd, idx, name="bad_gather")  # the error names this line
    with tf.device("/job:worker/task:0"):
        total = tf.reduce_sum(bad) + bump  # waits for worker 1's tensor when it fails
    with tf.Session(cluster.target()) as s:
        s.run(tf.global_variables_initializer())
        assert s.run(total, {idx: [0, 1]}) == 2.0 + 3.0 + 11.0
        with pytest.raises(tf.errors.InvalidArgumentError) as e:
            s.run(total, {idx: [0, 5]})
        msg = str(e.value)
        assert "bad_gather" in msg and "/job:worker/replica:0/task:1" in msg
        assert "test_failures.py:%d" % bad.op.location.lineno in msg
        assert e.value.op is bad.op
        np.testing.assert_array_equal(s.run(v), [2.0, 3.0])  # as after the good step
        assert s.run(w) == 11.0
        assert s.run(total, {idx: [1]}) == 4.0 + 12.0  # still usable
    # Verdicts are one-way messages: every journal is dropped once they land.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        states = [srv.service.state_info() for srv in cluster.servers.values()]
        if all(st["live_steps"] == 0 and st["pending_journals"] == 0 for st in states):
            break
        time.sleep(0.01)
    assert all(st["live_steps"] == 0 and st["pending_journals"] == 0 for st in states), states


def test_error_on_the_ps_task_after_a_worker_write_rolls_back_the_worker_state(cluster):
    with tf.device("/job:worker/task:1"):
        counter = tf.Variable(0, name="counter")
        inc = counter.assign_add(1)
    with tf.device("/job:ps/task:0"):
        checked = tf.assert_less(inc, 2, message="too big")
    with tf.Session(cluster.target()) as s:
        s.run(counter.initializer)
        s.run(checked)
        with pytest.raises(tf.errors.InvalidArgumentError, match="too big[\\s\\S]*task:0"):
            s.run(checked)
        assert s.run(counter) == 1


def test_unfed_placeholder_and_unknown_scheme_fail_before_anything_runs(cluster):
    x = tf.placeholder(tf.float32, name="needs_feed")
    with tf.device("/job:worker/task:1"):
        y = x * 2.0
    with tf.Session(cluster.target()) as s:
        with pytest.raises(tf.errors.InvalidArgumentError, match="must feed a value for "
                                                                 "placeholder tensor 'needs_feed'"):
            s.run(y)
    with pytest.raises(tf.errors.NotFoundError, match="No session factory"):
        tf.Session("foo://127.0.0.1:1")


def _timeout_config(ms):
    return tf.ConfigProto(operation_timeout_in_ms=ms)


def test_target_that_does_not_exist_or_does_not_answer_fails_within_the_bound():
    port = free_port()
    t0 = time.monotonic()
    with pytest.raises(tf.errors.UnavailableError, match="127.0.0.1:%d" % port):
        tf.Session("grpc://127.0.0.1:%d" % port, config=_timeout_config(500))
    assert time.monotonic() - t0 < 5.0
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (kernel backlog) but never answers
    try:
        addr = "127.0.0.1:%d" % silent.getsockname()[1]
        t0 = time.monotonic()
        with pytest.raises(tf.errors.UnavailableError, match=addr):
            tf.Session("grpc://" + addr, config=_timeout_config(500))
        assert time.monotonic() - t0 < 5.0
    finally:
        silent.close()


def test_target_of_a_stopped_server():
    c = LocalCluster(ps=1, worker=1)
    target = c.target()
    with tf.Session(target, config=_timeout_config(500)) as s:
        assert s.run(tf.constant(1.0) + 1.0) == 2.0
        c.stop()
        t0 = time.monotonic()
        with pytest.raises(tf.errors.UnavailableError, match="task:0 at 127.0.0.1"):
            s.run(tf.constant(1.0) + 2.0)
        assert time.monotonic() - t0 < 5.0
    with pytest.raises(tf.errors.UnavailableError):
        tf.Session(target, config=_timeout_config(300))


_TASK_SCRIPT = """
import json, sys
import tfnb as tf
cluster = tf.train.ClusterSpec(json.loads(sys.argv[1]))
server = tf.train.Server(cluster, job_name="worker", task_index=1)
print("ready", flush=True)
server.join()
"""


def _start_task_process(spec):
    proc = subprocess.Popen([sys.executable, "-c", _TASK_SCRIPT, json.dumps(spec)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    if not ready or proc.stdout.readline().strip() != "ready":
        proc.kill()
        proc.wait(10)
        raise RuntimeError("task process did not start: %s" % proc.stderr.read()[-2000:])
    return proc


@pytest.mark.slow
def test_killed_task_is_unavailable_within_the_bound_and_the_rest_stays_usable():
    import tfnb.distribute.server as server_lib
    ports = free_ports(3)
    spec = {"ps": ["127.0.0.1:%d" % ports[0]],
            "worker": ["127.0.0.1:%d" % ports[1], "127.0.0.1:%d" % ports[2]]}
    cluster = tf.train.ClusterSpec(spec)
    servers = [server_lib.Server(cluster, "ps", 0), server_lib.Server(cluster, "worker", 0)]
    proc = _start_task_process(spec)
    try:
        with tf.device("/job:ps/task:0"):
            v = tf.Variable(1.0, name="v")
            upd = v.assign_add(1.0)
        with tf.device("/job:worker/task:1"):
            q = tf.FIFOQueue(2, tf.float32, shapes=[], name="q")
            remote = upd * 10.0
            blocked = upd + q.dequeue()  # waits for an element that never comes
        with tf.device("/job:worker/task:0"):
            local = v.read_value() * 2.0
        bound_ms = 1500
        with tf.Session(servers[1].target, config=_timeout_config(bound_ms)) as s:
            s.run(v.initializer)
            assert s.run(remote) == 20.0
            # A frozen task (no answers, connections open: a network cut looks the same) is
            # found out by the liveness probes.
            os.kill(proc.pid, signal.SIGSTOP)
            try:
                t0 = time.monotonic()
                with pytest.raises(tf.errors.UnavailableError, match="task:1 at %s.*no answer"
                                   % spec["worker"][1]):
                    s.run(remote)
                assert time.monotonic() - t0 < 2.5 * bound_ms / 1000.0
                assert s.run(v) == 2.0  # ps undid the frozen step's write
            finally:
                os.kill(proc.pid, signal.SIGCONT)
            assert s.run(remote) == 30.0  # back again
            s.run(v.assign(2.0))
            # A step in flight when the task dies: the step fails, ps rolls back its write.
            errs = []

            def run_blocked():
                try:
                    s.run(blocked)
                except tf.errors.OpError as e:
                    errs.append((e, time.monotonic()))
            t = threading.Thread(target=run_blocked)
            t.start()
            time.sleep(0.5)
            killed_at = time.monotonic()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            t.join(10)
            assert not t.is_alive()
            e, when = errs[0]
            assert isinstance(e, tf.errors.UnavailableError)
            assert "/job:worker/replica:0/task:1" in str(e) and spec["worker"][1] in str(e)
            assert when - killed_at < 2 * bound_ms / 1000.0
            assert s.run(v) == 2.0  # the in-flight step's write was undone
            # Fetching from the dead task: a typed error naming it, in bounded time.
            t0 = time.monotonic()
            with pytest.raises(tf.errors.UnavailableError, match="task:1 at %s" % spec["worker"][1]):
                s.run(remote)
            assert time.monotonic() - t0 < 3 * bound_ms / 1000.0
            assert s.run(v) == 2.0
            # Steps that do not involve the dead task still run.
            assert s.run(local) == 4.0
            assert s.run(upd) == 3.0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
        for srv in servers:
            srv.stop()


# --- hostile and malformed messages -----------------------------------------------------------
class _Evil:
    """Unpickling this creates a file: proof that something was executed."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _raw_call(address, msg, **kw):
    from distributed.comm import connect
    from tfnb.distribute.loop import run_sync

    async def go():
        comm = await connect("tcp://" + address, timeout=5)
        try:
            await comm.write(msg, **kw)
            return await comm.read()
        finally:
            comm.abort()
    return run_sync(go(), timeout=20)


def test_pickled_objects_are_refused_without_being_executed(tmp_path):
    from distributed.protocol.serialize import Serialize, ToPickle
    server = tf.train.Server.create_local_server()
    try:
        address = server.target[len("grpc://"):]
        marker = tmp_path / "executed"
        reply = _raw_call(address, {"op": "tfnb_ping", "x": ToPickle(_Evil(str(marker)))})
        assert reply["status"] == "error" and "pickled" in reply["message"]
        reply = _raw_call(address, {"op": "tfnb_recv", "step": 1, "key": "k",
                                    "tensor": Serialize(_Evil(str(marker)))},
                          serializers=["pickle"])
        assert reply["status"] == "error" and "refused" in reply["message"]
        assert not marker.exists()
        assert _raw_call(address, {"op": "tfnb_ping"})["status"] == "ok"
    finally:
        server.stop()


def test_malformed_and_truncated_messages_get_errors_and_never_crash_the_task():
    server = tf.train.Server.create_local_server()
    try:
        address = server.target[len("grpc://"):]
        host, port = address.rsplit(":", 1)
        # Wrong field types for a handler: an error reply.
        reply = _raw_call(address, {"op": "tfnb_run", "handle": 3, "step": "x", "feeds": 7})
        assert reply["status"] == "error" and "refused a malformed message" in reply["message"]
        reply = _raw_call(address, {"op": "tfnb_register", "handle": "00", "partition": b"{}"})
        assert reply["status"] == "error" and "does not match" in reply["message"]
        # A bad tensor header.
        from distributed.protocol.serialize import Serialized
        bad = Serialized({"serializer": "tfnb-array", "dtype": "float32", "shape": [4]}, [b"12"])
        reply = _raw_call(address, {"op": "tfnb_recv", "step": 1, "key": "k", "tensor": bad})
        assert reply["status"] == "error" and "needs 16 bytes" in reply["message"]
        # Raw bytes: garbage msgpack in a well-formed frame, then a broken frame table.
        frames = [b"\xc1\xc1\xc1"]
        body = struct.pack("Q", len(frames)) + struct.pack("Q", len(frames[0])) + frames[0]
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.settimeout(5)
            _handshake(s)
            s.sendall(struct.pack("Q", len(body)) + body)
            assert b"malformed" in _read_reply(s)
            bogus = struct.pack("Q", 1 << 40) + struct.pack("Q", 1)
            s.sendall(struct.pack("Q", len(bogus)) + bogus)
            assert b"malformed frame table" in _read_reply(s)
        # Truncated: a header promising more than is sent, then the connection closes.
        with socket.create_connection((host, int(port)), timeout=5) as s:
            _handshake(s)
            s.sendall(struct.pack("Q", 1000) + b"short")
        # Oversized header claim: refused without reading (and without allocating) it.
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.settimeout(5)
            _handshake(s)
            s.sendall(struct.pack("Q", 1 << 50))
            assert b"exceeds the limit" in _read_reply(s)
        assert _raw_call(address, {"op": "tfnb_ping"})["status"] == "ok"
        with tf.Session(server.target) as sess:
            assert sess.run(tf.constant(3.0) * 2.0) == 6.0
    finally:
        server.stop()


def _frames_message(msg):
    import msgpack
    frames = [msgpack.dumps(msg, use_bin_type=True)]
    block = struct.pack("Q", len(frames)) + b"".join(struct.pack("Q", len(f)) for f in frames) + \
        b"".join(frames)
    return struct.pack("Q", len(block)) + block


def _handshake(s):
    """distributed's comm handshake: both sides send a small dict first."""
    s.sendall(_frames_message({"compression": None, "python": [3, 11, 0],
                               "pickle-protocol": 5}))
    _read_reply(s)


def _read_reply(s):
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf
    (size,) = struct.unpack("Q", exact(8))
    return exact(size)


def test_operation_timeout_is_a_step_deadline_that_frees_the_blocked_task(cluster):
    with tf.device("/job:worker/task:1"):
        q = tf.FIFOQueue(3, tf.float32, shapes=[], shared_name="dq", name="q")
        taken = q.dequeue() * 1.0
    with tf.device("/job:ps/task:0"):
        v = tf.Variable(0.0, name="v")
        upd = v.assign_add(1.0)
    with tf.device("/job:worker/task:1"):
        both = taken + upd
    with tf.Session(cluster.target(), config=_timeout_config(400)) as s:
        s.run(v.initializer)
        t0 = time.monotonic()
        with pytest.raises(tf.errors.DeadlineExceededError, match="task:1"):
            s.run(both)  # the queue is empty: the dequeue would wait forever
        assert time.monotonic() - t0 < 2.0
        assert s.run(v) == 0.0  # ps rolled back
        s.run(q.enqueue(5.0))
        assert s.run(both) == 6.0  # the aborted dequeue took nothing
    service = cluster.servers[("worker", 1)].service
    deadline = time.monotonic() + 5
    while service.state_info()["live_steps"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert service.state_info()["live_steps"] == 0


def test_target_that_is_not_a_tfnb_task():
    from distributed.core import Server
    from tfnb.distribute.loop import run_sync

    async def start():
        s = Server({}, needs_workdir=False)
        await s.listen("tcp://127.0.0.1:0")
        return s
    plain = run_sync(start())
    try:
        with pytest.raises(tf.errors.UnimplementedError, match="does not serve tfnb tasks"):
            tf.Session("grpc://" + plain.address.split("://")[1], config=_timeout_config(1000))
    finally:
        run_sync(plain.close())


_WORKER_SCRIPT = """
import json, sys
import numpy as np
import tfnb as tf
spec, index = json.loads(sys.argv[1]), int(sys.argv[2])
cluster = tf.train.ClusterSpec(spec)
server = tf.train.Server(cluster, job_name="worker", task_index=index)
with tf.device(tf.train.replica_device_setter(
        cluster=cluster, worker_device="/job:worker/task:%d" % index)):
    w = tf.Variable(np.zeros(3, np.float32), name="w")
    step = tf.Variable(0, name="global_step", trainable=False)
    x = tf.constant(np.full(3, index + 1.0, np.float32))
    train = tf.group(w.assign_add(x), step.assign_add(1))
with tf.Session(server.target) as sess:
    for _ in range(5):
        sess.run(train)
print("done", flush=True)
server.stop()
"""


@pytest.mark.slow
def test_between_graph_replication_two_worker_processes_share_ps_variables():
    """Classic TF1 launch: one Server per process; two worker programs update the same ps
    variables (their own graphs, their own sessions)."""
    ports = free_ports(3)
    spec = {"ps": ["127.0.0.1:%d" % ports[0]],
            "worker": ["127.0.0.1:%d" % ports[1], "127.0.0.1:%d" % ports[2]]}
    ps = tf.train.Server(spec, job_name="ps", task_index=0)
    try:
        with tf.device("/job:ps/task:0"):
            w = tf.Variable(np.zeros(3, np.float32), name="w")
            step = tf.Variable(0, name="global_step", trainable=False)
        with tf.Session(ps.target) as s:  # the chief's initialization
            s.run(tf.global_variables_initializer())
        procs = [subprocess.Popen([sys.executable, "-c", _WORKER_SCRIPT, json.dumps(spec), str(i)],
                                  cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for i in range(2)]
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0 and "done" in out, err[-2000:]
        with tf.Session(ps.target) as s:
            np.testing.assert_array_equal(s.run(w), [15.0, 15.0, 15.0])  # 5 * 1 + 5 * 2
            assert s.run(step) == 10
    finally:
        ps.stop()


def test_monitored_session_gives_up_within_its_bound_when_the_ps_stops():
    ports = free_ports(2)
    spec = tf.train.ClusterSpec({"ps": ["127.0.0.1:%d" % ports[0]],
                                 "worker": ["127.0.0.1:%d" % ports[1]]})
    ps = tf.train.Server(spec, job_name="ps", task_index=0)
    worker = tf.train.Server(spec, job_name="worker", task_index=0)
    with tf.Graph().as_default():
        with tf.device("/job:ps/task:0"):
            w = tf.Variable(1.0, name="w")
        with tf.device("/job:worker/task:0"):
            out = w * 2.0
        config = tf.ConfigProto(operation_timeout_in_ms=500)
        outcome = {}
        try:
            with tf.train.MonitoredTrainingSession(master=worker.target, config=config,
                                                   recovery_timeout_secs=1.0) as sess:
                assert sess.run(out) == 2.0
                ps.stop()

                def step():  # in a thread: a recovery that never gives up must not hang pytest
                    t0 = time.monotonic()
                    try:
                        sess.run(out)
                    except Exception as e:  # noqa: BLE001 - checked below
                        outcome["error"] = e
                    outcome["secs"] = time.monotonic() - t0

                runner = threading.Thread(target=step, daemon=True)
                runner.start()
                runner.join(15.0)
                assert not runner.is_alive(), "the recovery did not give up within 15 s"
                raise outcome["error"]
        except tf.errors.UnavailableError as e:
            assert "gave up recovering" in str(e)
            assert "task:0 at 127.0.0.1:%d" % ports[0] in str(e)
        else:
            pytest.fail("no UnavailableError")
        # one session creation = one failed step (~1.5 x the bound) + back-off; the bound is 1 s
        assert outcome["secs"] < 8.0, outcome
    worker.stop()
