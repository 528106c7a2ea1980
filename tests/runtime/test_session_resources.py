"""Closing a session closes its resources: iterators' worker threads, queues' waiters, readers.

``Session.close()`` closes every per-session resource that has a ``close()`` at once (TF1's
resource manager is cleared with the session), so threads stop without waiting for the
garbage collector, and the closed session no longer keeps its old state alive.
"""
import gc
import threading
import time
import weakref

import numpy as np
import pytest

import tfnb as tf


@pytest.fixture(autouse=True)
def lazy_graph():
    saved = tf.executing_eagerly()
    tf.disable_eager_execution()
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()
    if saved:
        tf.enable_eager_execution()


def _threads_settle_to(baseline, timeout=3.0):
    """Waits (bounded) until at most ``baseline`` threads run; returns the count then."""
    end = time.monotonic() + timeout
    n = threading.active_count()
    while n > baseline and time.monotonic() < end:
        time.sleep(0.01)
        n = threading.active_count()
    return n


def _pipeline():
    # A prefetch thread under a parallel map's pool: neither may outlive the session.
    ds = tf.data.Dataset.range(1000).prefetch(4).map(lambda x: x * 2, num_parallel_calls=2)
    it = ds.make_initializable_iterator()
    return it, it.get_next()


def test_close_stops_the_iterator_threads_promptly():
    it, nxt = _pipeline()
    baseline = threading.active_count()
    gc.disable()  # the threads must stop because the session closed, not because of the GC
    try:
        sess = tf.Session()
        sess.run(it.initializer)
        assert [sess.run(nxt) for _ in range(3)] == [0, 2, 4]
        assert threading.active_count() > baseline  # prefetch + parallel-map threads run
        sess.close()
        assert _threads_settle_to(baseline) <= baseline
    finally:
        gc.enable()


def test_open_run_close_cycles_leak_no_threads_or_resources():
    it, nxt = _pipeline()
    baseline = threading.active_count()
    states = []
    gc.disable()
    try:
        for i in range(200):
            sess = tf.Session()
            sess.run(it.initializer)
            assert sess.run(nxt) == 0 and sess.run(nxt) == 2
            states.append(weakref.ref(sess._state))
            res = sess._state.resources[("iterator", it._iterator_resource.op.name)]
            sess.close()
            assert not res.initialized  # its element iterator was closed with the session
            assert _threads_settle_to(baseline) <= baseline, "cycle %d" % i
    finally:
        gc.enable()
    gc.collect()
    assert sum(r() is not None for r in states) == 0


def test_closed_session_releases_its_state():
    v = tf.Variable(np.ones((256, 256), np.float32))
    sess = tf.Session()
    sess.run(v.initializer)
    assert sess.run(tf.reduce_sum(v)) == 256 * 256
    old = weakref.ref(sess._state)
    sess.close()
    gc.collect()
    assert old() is None  # the session object lives on, its old state does not
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(v)


def test_close_wakes_a_blocked_dequeue_with_cancelled_error():
    q = tf.FIFOQueue(4, tf.float32, shapes=[[]])
    deq = q.dequeue()
    sess = tf.Session()
    got = []

    def consumer():
        try:
            sess.run(deq)
        except Exception as e:  # noqa: BLE001 - checked below
            got.append(e)

    t = threading.Thread(target=consumer)
    t.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    sess.close()
    t.join(5.0)
    assert not t.is_alive()
    assert time.monotonic() - t0 < 1.0
    assert len(got) == 1 and isinstance(got[0], tf.errors.CancelledError), got


def test_close_of_a_session_on_a_blocked_accumulator_take():
    acc = tf.ConditionalAccumulator(tf.float32, shape=[2])
    take = acc.take_grad(1)
    sess = tf.Session()
    got = []

    def taker():
        try:
            sess.run(take)
        except Exception as e:  # noqa: BLE001 - checked below
            got.append(e)

    t = threading.Thread(target=taker)
    t.start()
    time.sleep(0.2)
    sess.close()
    t.join(5.0)
    assert not t.is_alive()
    assert len(got) == 1 and isinstance(got[0], tf.errors.CancelledError), got
