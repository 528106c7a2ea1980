"""ConfigProto's thread options and tfnb/runtime/threads.py: validation, the pools they size,
load-adaptive thread counts, the row-block pool."""
import types

import numpy as np
import pytest

import tfnb as tf
from tfnb.runtime import threads


@pytest.fixture
def restore_threads():
    saved = (threads._cap, threads._active, threads._last_check)
    yield
    threads._cap, _, threads._last_check = saved
    threads._apply(saved[1] if saved[1] is not None else threads.intra_op_threads())


@pytest.mark.parametrize("kwargs,err,match", [
    ({"intra_op_parallelism_threads": -1}, ValueError, "intra_op_parallelism_threads must be >="),
    ({"intra_op_parallelism_threads": 2.5}, TypeError, "intra_op_parallelism_threads must be an"),
    ({"intra_op_parallelism_threads": True}, TypeError, "must be an int"),
    ({"inter_op_parallelism_threads": "4"}, TypeError, "inter_op_parallelism_threads must be"),
    ({"intra_op_parallelism_threads": 10 ** 6}, ValueError, "more threads than any machine"),
])
def test_invalid_thread_settings_are_clear_errors(kwargs, err, match):
    with pytest.raises(err, match=match):
        tf.ConfigProto(**kwargs)


def test_invalid_setting_assigned_later_fails_when_the_session_is_made():
    cfg = tf.ConfigProto()
    cfg.intra_op_parallelism_threads = -3
    with pytest.raises(ValueError, match="intra_op_parallelism_threads must be >= 0"):
        tf.Session(config=cfg)


def test_negative_inter_op_is_tf_callers_thread_setting():
    cfg = tf.ConfigProto(inter_op_parallelism_threads=-1)
    assert cfg.inter_op_parallelism_threads == -1


def test_intra_op_threads_size_blas_and_numba(restore_threads, monkeypatch):
    monkeypatch.setenv("TFNB_ADAPTIVE_THREADS", "0")
    with tf.Graph().as_default():
        x = tf.constant(np.ones((64, 64), np.float32))
        with tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=1)) as sess:
            sess.run(tf.matmul(x, x))
            assert threads.intra_op_threads() == 1 and threads.active_threads() == 1
            threadpoolctl = pytest.importorskip("threadpoolctl")
            blas = threadpoolctl.threadpool_info()
            assert all(i["num_threads"] == 1 for i in blas if i["user_api"] == "blas")
            import sys
            if sys.modules.get("numba") is not None:
                threads.numba_threads()
                assert sys.modules["numba"].get_num_threads() == 1


def test_a_later_default_session_keeps_the_configured_pools(restore_threads):
    tf.Session(config=tf.ConfigProto(intra_op_parallelism_threads=1)).close()
    tf.Session().close()
    assert threads.intra_op_threads() == 1


def _fake_clock(monkeypatch, jiffies, own_cpu):
    """Makes threads see time advance 1 s per check, other processes using ``jiffies``."""
    state = {"t": 0.0, "busy": 0, "own": 0.0}

    def monotonic():
        return state["t"]
    monkeypatch.setattr(threads, "time", types.SimpleNamespace(
        monotonic=monotonic, process_time=lambda: state["own"]))
    monkeypatch.setattr(threads, "_busy_jiffies", lambda: state["busy"])
    monkeypatch.setattr(threads.os, "sysconf", lambda name: 100)

    def tick():
        state["t"] += 1.0
        state["busy"] += jiffies
        state["own"] += own_cpu
        threads.on_step()
    return tick


def test_threads_follow_the_cores_other_processes_leave(restore_threads, monkeypatch):
    monkeypatch.delenv("TFNB_ADAPTIVE_THREADS", raising=False)
    monkeypatch.setattr(threads, "system_threads", lambda: 4)
    threads.configure(0)
    assert threads.active_threads() == 4
    # Others busy on 2 cores (300 jiffies/s in all, 100 of them ours): 2 threads.
    tick = _fake_clock(monkeypatch, jiffies=300, own_cpu=1.0)
    tick()
    tick()
    assert threads.active_threads() == 2
    # The machine quiet again (only our own CPU time): back to the cap.
    monkeypatch.setattr(threads, "_last_check", None)
    tick = _fake_clock(monkeypatch, jiffies=100, own_cpu=1.0)
    tick()
    tick()
    assert threads.active_threads() == 4


def test_an_explicit_cap_bounds_the_adaptive_count(restore_threads, monkeypatch):
    monkeypatch.setattr(threads, "system_threads", lambda: 4)
    threads.configure(3)
    tick = _fake_clock(monkeypatch, jiffies=100, own_cpu=1.0)  # quiet machine
    tick()
    tick()
    assert threads.active_threads() == 3
    tick = _fake_clock(monkeypatch, jiffies=500, own_cpu=1.0)  # others on all 4 cores
    monkeypatch.setattr(threads, "_last_check", None)
    tick()
    tick()
    assert threads.active_threads() == 1  # never 0


def test_parallel_blocks_cover_every_row_once(restore_threads):
    threads._apply(3)
    out = np.zeros(1001, np.int64)

    def fn(a, b):
        out[a:b] += 1
    threads.parallel_blocks(fn, 1001)
    assert (out == 1).all()
    threads.parallel_blocks(fn, 1)
    assert out[0] == 2 and (out[1:] == 1).all()


_SPIN_PROBE = r"""
import ctypes, json, os
import numpy as np
a = np.arange(512 * 512, dtype=np.float32).reshape(512, 512) % 7
before = a @ a                                    # OpenBLAS's pool exists, spinning at 2^28
import sys, threading
import tfnb as tf
from threadpoolctl import ThreadpoolController
got = []
def run():
    with tf.Session() as sess:
        got.append(sess.run(tf.matmul(tf.constant(a), tf.constant(a))))
if sys.argv[1] == "thread":
    t = threading.Thread(target=run)
    t.start()
    t.join()
else:
    run()
after = got[0]
libs = ThreadpoolController().select(internal_api="openblas").lib_controllers
print(json.dumps({"timeouts": [ctypes.CDLL(l.filepath).openblas_thread_timeout() for l in libs],
                  "threads": [l.num_threads for l in libs],
                  "env": os.environ.get("OPENBLAS_THREAD_TIMEOUT"),
                  "same": bool(np.array_equal(before, after) and np.array_equal(a @ a, before))}))
"""


@pytest.mark.parametrize("user_value, where", [(None, "main"), ("20", "main"), (None, "thread")])
def test_first_session_shortens_openblas_spin_unless_the_user_chose(user_value, where):
    """OpenBLAS's idle threads spin 2^28 cycles by default; the first session makes the loaded
    libraries re-read ``OPENBLAS_THREAD_TIMEOUT`` (set to 2^BLAS_THREAD_TIMEOUT cycles) and
    restart their pools; products stay exact and parallel. A user's own value is kept; a
    first session made outside the main thread (a Dask task) leaves the pool alone."""
    import json
    import os
    import subprocess
    import sys
    pytest.importorskip("threadpoolctl")
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_THREAD_TIMEOUT", "GOTO_THREAD_TIMEOUT")}
    if user_value is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = user_value
    out = subprocess.run([sys.executable, "-c", _SPIN_PROBE, where], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    if not got["timeouts"]:
        pytest.skip("NumPy's BLAS is not OpenBLAS here")
    assert got["same"]
    if where == "thread":   # OpenBLAS reports 0: no value read from the environment
        assert got["env"] is None and set(got["timeouts"]) == {0}
        return
    want = int(user_value or threads.BLAS_THREAD_TIMEOUT)
    assert got["env"] == str(want)
    assert got["timeouts"] == [want] * len(got["timeouts"])
