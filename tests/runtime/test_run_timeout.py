"""``RunOptions(timeout_in_ms=...)`` bounds a step's blocking ops, as in TF1.

A step that waits longer than its timeout (a dequeue on an empty queue, a take on an
accumulator without enough gradients, a get_next on a slow input) fails with
``DeadlineExceededError`` and leaves the session as it was: variables rolled back, queue
elements put back, and the iterator's next element still the next one.
"""
import threading
import time

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


def _opts(ms):
    return tf.RunOptions(timeout_in_ms=ms)


def _timed(fn):
    t0 = time.monotonic()
    try:
        fn()
    except tf.errors.DeadlineExceededError as e:
        return time.monotonic() - t0, e
    return time.monotonic() - t0, None


def test_dequeue_times_out_and_state_is_unchanged():
    q = tf.FIFOQueue(10, tf.float32, shapes=[[]])
    v = tf.Variable(0.0)
    with tf.control_dependencies([tf.assign_add(v, 1.0)]):
        batch = q.dequeue_many(3)  # one element is there: it waits for two more
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run(q.enqueue(5.0))
        took, err = _timed(lambda: sess.run(batch, options=_opts(200)))
        assert err is not None, "the dequeue did not time out"
        assert 0.15 <= took < 2.0
        assert sess.run(v) == 0.0          # the assign_add was rolled back
        assert sess.run(q.size()) == 1     # the taken element was put back
        sess.run(q.enqueue_many([[6.0, 7.0]]))
        np.testing.assert_array_equal(sess.run(batch, options=_opts(1000)), [5.0, 6.0, 7.0])


def test_enqueue_on_a_full_queue_times_out():
    q = tf.FIFOQueue(1, tf.float32, shapes=[[]])
    enq = q.enqueue(1.0)
    with tf.Session() as sess:
        sess.run(enq)
        took, err = _timed(lambda: sess.run(enq, options=_opts(100)))
        assert err is not None and took < 2.0
        assert sess.run(q.size()) == 1


def test_accumulator_take_times_out():
    acc = tf.ConditionalAccumulator(tf.float32, shape=[2])
    take = acc.take_grad(2)
    apply = acc.apply_grad(tf.constant([1.0, 2.0]), local_step=0)
    with tf.Session() as sess:
        sess.run(apply)
        took, err = _timed(lambda: sess.run(take, options=_opts(150)))
        assert err is not None and took < 2.0
        assert sess.run(acc.num_accumulated()) == 1
        sess.run(apply)
        np.testing.assert_allclose(sess.run(take, options=_opts(1000)), [1.0, 2.0])


def _slow_gen(delays):
    def gen():
        for i, d in enumerate(delays):
            time.sleep(d)
            yield i
    return gen


@pytest.mark.parametrize("prefetch", [False, True])
def test_get_next_on_a_slow_generator_times_out_without_losing_the_element(prefetch):
    ds = tf.data.Dataset.from_generator(_slow_gen([0.0, 0.6, 0.0]), tf.int64, [])
    if prefetch:
        ds = ds.prefetch(1)
    nxt = ds.make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        assert sess.run(nxt, options=_opts(2000)) == 0
        took, err = _timed(lambda: sess.run(nxt, options=_opts(150)))
        assert err is not None, "get_next did not time out"
        assert took < 0.55
        assert sess.run(nxt, options=_opts(5000)) == 1   # element 1 was not lost
        assert sess.run(nxt) == 2
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(nxt)


def test_a_per_run_timeout_does_not_outlive_its_run():
    q = tf.FIFOQueue(10, tf.float32, shapes=[[]])
    deq = q.dequeue()
    with tf.Session() as sess:
        _timed(lambda: sess.run(deq, options=_opts(50)))

        def feed():
            time.sleep(0.4)
            sess.run(q.enqueue(3.0))
        t = threading.Thread(target=feed)
        t.start()
        assert sess.run(deq) == 3.0  # no timeout now: waits as long as it takes
        t.join()


def test_make_callable_accepts_options():
    q = tf.FIFOQueue(10, tf.float32, shapes=[[]])
    with tf.Session() as sess:
        f = sess.make_callable(q.dequeue(), accept_options=True)
        took, err = _timed(lambda: f(options=_opts(100)))
        assert err is not None and took < 2.0


def test_cluster_step_is_bounded_by_the_run_timeout():
    """A dequeue on another task: the master aborts the step at the run's deadline."""
    import sys
    import os
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "distributed"))
    from cluster_helpers import LocalCluster
    c = LocalCluster(ps=1, worker=1)
    try:
        with tf.device("/job:ps/task:0"):
            q = tf.FIFOQueue(10, tf.float32, shapes=[[]], shared_name="timeout_q")
            v = tf.Variable(0.0)
        with tf.device("/job:worker/task:0"):
            with tf.control_dependencies([tf.assign_add(v, 1.0)]):
                deq = q.dequeue() + 1.0
        with tf.Session(c.target()) as sess:
            sess.run(v.initializer)
            took, err = _timed(lambda: sess.run(deq, options=_opts(300)))
            assert err is not None, "the cluster step did not time out"
            assert 0.25 <= took < 5.0
            assert sess.run(v) == 0.0  # undone on the task
            sess.run(q.enqueue(2.0))
            assert sess.run(deq, options=_opts(5000)) == 3.0
    finally:
        c.stop()
