"""Queues: FIFOQueue, RandomShuffleQueue, PaddingFIFOQueue -- construction checks, run-time
checks naming the op, blocking across threads, close/cancel, per-session state, seeding."""
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import tfnb as tf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK = os.path.join(os.path.dirname(ROOT), "shared", "tfcompat", "check.py")


class _Background:
    """Runs ``fn`` in a thread; ``result()`` joins it and returns the value or raises."""

    def __init__(self, fn, delay=0.0):
        self._value = self._error = None

        def body():
            time.sleep(delay)
            try:
                self._value = fn()
            except Exception as e:  # noqa: BLE001 - handed to the test thread
                self._error = e
        self._thread = threading.Thread(target=body)
        self._thread.start()

    def alive(self):
        return self._thread.is_alive()

    def result(self, timeout=10.0):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "background step did not finish"
        if self._error is not None:
            raise self._error
        return self._value


@pytest.mark.skipif(not os.path.exists(CHECK), reason="../shared/tfcompat is not beside the repo")
def test_tfcompat_fifo_queue_program():
    r = subprocess.run([sys.executable, CHECK, "fifo_queue"], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0 and "1 passed, 0 failed" in r.stdout, r.stdout + r.stderr


# ----------------------------------------------------------------------------------------------
# Construction
# ----------------------------------------------------------------------------------------------
def test_names_dtypes_and_static_shapes():
    q = tf.FIFOQueue(5, [tf.float32, tf.int32], shapes=[[3], []])
    assert q.name == "fifo_queue" and q.queue_ref.dtype == tf.resource
    assert q.dtypes == [tf.float32, tf.int32] and q.names is None
    assert [s.as_list() for s in q.shapes] == [[3], []]
    enq = q.enqueue([[1.0, 2.0, 3.0], 4])
    assert enq.name == "fifo_queue_enqueue" and enq.type == "QueueEnqueueV2"
    assert [t.name for t in enq.inputs][1:] == ["fifo_queue_enqueue/component_0:0",
                                                "fifo_queue_enqueue/component_1:0"]
    assert q.enqueue_many([tf.zeros([2, 3]), tf.zeros([2], tf.int32)]).name == \
        "fifo_queue_EnqueueMany"
    x, y = q.dequeue()
    assert x.name == "fifo_queue_Dequeue:0" and x.shape.as_list() == [3] and y.dtype == tf.int32
    xs, ys = q.dequeue_many(2)
    assert xs.shape.as_list() == [2, 3] and ys.shape.as_list() == [2]
    assert xs.op.name == "fifo_queue_DequeueMany"
    xu, _ = q.dequeue_up_to(2)
    assert xu.shape.as_list() == [None, 3]
    assert q.size().name == "fifo_queue_Size:0" and q.size().dtype == tf.int32
    assert q.is_closed().name == "fifo_queue_Is_Closed:0" and q.is_closed().dtype == tf.bool
    assert q.close().name == "fifo_queue_Close"
    assert q.close(cancel_pending_enqueues=True).get_attr("cancel_pending_enqueues") is True
    with tf.name_scope("inp"):
        q2 = tf.FIFOQueue(3, tf.float32)
    assert q2.name == "inp/fifo_queue" and q2.dequeue().name == "fifo_queue_Dequeue_1:0"
    assert q2.shapes[0].ndims is None and q2.dequeue().shape.ndims is None


def test_single_component_and_named_components():
    q = tf.FIFOQueue(3, tf.float32, shapes=[2])  # one shape, not a list of shapes
    assert isinstance(q.dequeue(), tf.Tensor) and q.dequeue().shape.as_list() == [2]
    nq = tf.FIFOQueue(3, [tf.float32, tf.int32], shapes=[[], []], names=["x", "y"])
    out = nq.dequeue()
    assert set(out) == {"x", "y"} and out["y"].dtype == tf.int32
    enq = nq.enqueue({"y": 2, "x": 1.5})
    with tf.Session() as sess:
        sess.run(enq)
        assert sess.run(out) == {"x": 1.5, "y": 2}


@pytest.mark.parametrize("make, err, match", [
    (lambda: tf.FIFOQueue(5, [tf.float32], shapes=[[1], [2]]), ValueError,
     "same length as dtypes"),
    (lambda: tf.FIFOQueue(5, [tf.float32], names=["a", "b"]), ValueError,
     "same length as the list of dtypes"),
    (lambda: tf.FIFOQueue(5, tf.float32, shapes=[[None]]), ValueError, "fully defined"),
    (lambda: tf.PaddingFIFOQueue(5, tf.int32, shapes=[None]), ValueError, "partial shapes"),
    (lambda: tf.PaddingFIFOQueue(5, [tf.int32, tf.int32], shapes=[[None]]), ValueError,
     "Shapes must be provided for all components"),
])
def test_bad_queue_arguments(make, err, match):
    with pytest.raises(err, match=match):
        make()


def _q():
    return tf.FIFOQueue(5, [tf.float32, tf.int32], shapes=[[3], []])


@pytest.mark.parametrize("build, err, match", [
    (lambda q: q.enqueue([[1.0, 2.0], 4]), ValueError, r"fifo_queue_enqueue.*incompatible"),
    (lambda q: q.enqueue([[1, 2, 3], 4.5]), TypeError, "int32"),
    (lambda q: q.enqueue([[1.0, 2.0, 3.0]]), ValueError, "2 components, but 1"),
    (lambda q: q.enqueue({"a": 1}), ValueError, "must have names"),
    (lambda q: q.enqueue([tf.zeros([3], tf.float64), 1]), ValueError, "float64"),
    (lambda q: q.enqueue_many([tf.zeros([2, 3]), tf.zeros([3], tf.int32)]), ValueError,
     r"fifo_queue_EnqueueMany.*Dimensions 2 and 3 are not compatible"),
    (lambda q: q.enqueue_many([tf.zeros([3]), 1]), ValueError, "incompatible|rank at least"),
    (lambda q: q.enqueue_many([tf.zeros([2, 3]), 1]), ValueError, "rank at least 1"),
    (lambda q: q.dequeue_many(-1), ValueError, "must be >= 0"),
])
def test_enqueue_and_dequeue_checked_at_construction(build, err, match):
    with pytest.raises(err, match=match):
        build(_q())


def test_named_queue_dict_checks():
    nq = tf.FIFOQueue(3, [tf.float32, tf.int32], names=["x", "y"], shapes=[[], []])
    with pytest.raises(ValueError, match="enqueue a dictionary"):
        nq.enqueue([1.0, 2])
    with pytest.raises(ValueError, match="do not match names"):
        nq.enqueue({"x": 1.0})


# ----------------------------------------------------------------------------------------------
# Run-time checks
# ----------------------------------------------------------------------------------------------
def test_enqueue_many_shape_mismatch_at_run_time_names_the_op():
    q = _q()
    p = tf.placeholder(tf.float32, [None, None])
    pi = tf.placeholder(tf.int32, [None])
    enq = q.enqueue_many([p, pi])
    one = tf.placeholder(tf.float32, [None])
    enq_one = q.enqueue([one, 1])
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"(?s)component 0. Expected \[2,3\], got \[2,2\].*"
                                 r"fifo_queue_EnqueueMany") as e:
            sess.run(enq, {p: np.zeros((2, 2)), pi: [1, 2]})
        assert e.value.op is enq
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"component 1. Expected \[2\], got \[3\]"):
            sess.run(enq, {p: np.zeros((2, 3)), pi: [1, 2, 3]})
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"(?s)Expected \[3\], got \[4\].*fifo_queue_enqueue"):
            sess.run(enq_one, {one: np.zeros(4)})
        assert sess.run(q.size()) == 0  # nothing of a rejected batch went in
        sess.run(enq, {p: np.ones((2, 3)), pi: [7, 8]})
        assert sess.run(q.size()) == 2


def test_unshaped_queue_batch_mismatch_and_dequeue_many_need_shapes():
    q = tf.FIFOQueue(5, [tf.float32, tf.int32])
    a = tf.placeholder(tf.float32)
    b = tf.placeholder(tf.int32)
    enq = q.enqueue_many([a, b])
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="same size in the 0th"):
            sess.run(enq, {a: np.zeros((2, 4)), b: [1, 2, 3]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="rank >= 1"):
            sess.run(enq, {a: 1.0, b: [1]})
        sess.run(enq, {a: np.zeros((2, 4)), b: [1, 2]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="require the components to have "
                                                                 "specified shapes"):
            sess.run(q.dequeue_many(1))
        x, y = sess.run(q.dequeue())
        assert x.shape == (4,) and x.dtype == np.float32 and y == 1


def test_enqueued_values_are_copied_and_fetches_are_writable():
    q = tf.FIFOQueue(5, tf.float32, shapes=[[2]])
    p = tf.placeholder(tf.float32, [2])
    enq = q.enqueue([p])
    value = np.array([1.0, 2.0], np.float32)
    with tf.Session() as sess:
        sess.run(enq, {p: value})
        value[0] = 99.0  # the caller's array changes after the enqueue
        got = sess.run(q.dequeue())
        np.testing.assert_array_equal(got, [1.0, 2.0])
        got[1] = 5.0  # fetched values are the caller's to keep


def test_dequeue_results_have_declared_dtypes():
    q = tf.FIFOQueue(8, [tf.float64, tf.int64, tf.bool, tf.string], shapes=[[], [2], [], []])
    enq = q.enqueue_many([[1.5, 2.5], [[1, 2], [3, 4]], [True, False], ["a", "b"]])
    one = q.dequeue()
    many = q.dequeue_many(1)
    with tf.Session() as sess:
        sess.run(enq)
        for got, t in zip(sess.run(one) + sess.run(many), one + many):
            if t.dtype == tf.string:  # fetched strings are bytes, as in TF1
                assert np.asarray(got, dtype=object).ravel()[0] in (b"a", b"b"), t
            else:
                assert np.asarray(got).dtype == t.dtype.np, t
        assert sess.run(q.size()) == 0


# ----------------------------------------------------------------------------------------------
# Blocking and close
# ----------------------------------------------------------------------------------------------
def test_blocking_dequeue_is_woken_by_another_threads_enqueue():
    q = tf.FIFOQueue(5, tf.float32, shapes=[[]])
    x = tf.placeholder(tf.float32, [])
    enq = q.enqueue([x])
    deq = q.dequeue()
    many = q.dequeue_many(3)
    with tf.Session() as sess:
        producer = _Background(lambda: sess.run(enq, {x: 4.5}), delay=0.1)
        assert sess.run(deq) == 4.5
        producer.result()
        # A batch larger than what is there waits for the rest, element by element.
        consumer = _Background(lambda: sess.run(many))
        for v in (1.0, 2.0, 3.0):
            time.sleep(0.02)
            sess.run(enq, {x: v})
        np.testing.assert_array_equal(consumer.result(), [1.0, 2.0, 3.0])


def test_blocking_enqueue_waits_for_space_and_batches_may_exceed_capacity():
    q = tf.FIFOQueue(2, tf.int32, shapes=[[]])
    enq = q.enqueue_many([tf.range(5)])
    many = q.dequeue_many(5)
    with tf.Session() as sess:
        producer = _Background(lambda: sess.run(enq))
        np.testing.assert_array_equal(sess.run(many), np.arange(5))
        producer.result()
        assert sess.run(q.size()) == 0


def test_close_out_of_range_and_cancelled_enqueue():
    q = tf.FIFOQueue(5, tf.float32, shapes=[[]])
    enq = q.enqueue_many([[1.0, 2.0]])
    deq = q.dequeue()
    with tf.Session() as sess:
        sess.run(enq)
        assert not sess.run(q.is_closed())
        sess.run(q.close())
        assert sess.run(q.is_closed())
        with pytest.raises(tf.errors.CancelledError, match="'fifo_queue' is closed"):
            sess.run(enq)
        with pytest.raises(tf.errors.OutOfRangeError,
                           match=r"(?s)insufficient elements \(requested 3, current size 2\)"
                                 r".*fifo_queue_DequeueMany"):
            sess.run(q.dequeue_many(3))
        assert sess.run(q.size()) == 2  # a failed dequeue keeps the elements
        assert sess.run(deq) == 1.0
        np.testing.assert_array_equal(sess.run(q.dequeue_up_to(5)), [2.0])
        with pytest.raises(tf.errors.OutOfRangeError, match="requested 1, current size 0"):
            sess.run(deq)
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(q.dequeue_up_to(5))
        with pytest.raises(tf.errors.CancelledError, match="already closed"):
            sess.run(q.close())
        sess.run(q.close(cancel_pending_enqueues=True))  # no error when already closed


def test_close_wakes_a_waiting_dequeue_with_out_of_range():
    q = tf.FIFOQueue(5, tf.float32, shapes=[[]])
    with tf.Session() as sess:
        waiter = _Background(lambda: sess.run(q.dequeue_many(2)))
        sess.run(q.enqueue([1.0]))
        time.sleep(0.1)
        sess.run(q.close())
        with pytest.raises(tf.errors.OutOfRangeError):
            waiter.result()
        assert sess.run(q.size()) == 1  # the element it held went back


def test_cancel_pending_enqueues_and_plain_close_waits_for_them():
    q = tf.FIFOQueue(1, tf.int32, shapes=[[]])
    x = tf.placeholder(tf.int32, [])
    enq = q.enqueue([x])
    with tf.Session() as sess:
        sess.run(enq, {x: 1})
        blocked = _Background(lambda: sess.run(enq, {x: 2}))
        time.sleep(0.1)
        assert blocked.alive()
        sess.run(q.close(cancel_pending_enqueues=True))
        with pytest.raises(tf.errors.CancelledError, match="Enqueue operation was cancelled"):
            blocked.result()
        assert sess.run(q.dequeue()) == 1

    with tf.Session() as sess:
        sess.run(enq, {x: 1})
        pending = _Background(lambda: sess.run(enq, {x: 2}))
        time.sleep(0.05)
        closing = _Background(lambda: sess.run(q.close()))
        time.sleep(0.1)
        assert pending.alive() and closing.alive()  # the close waits behind the enqueue
        assert sess.run(q.dequeue()) == 1
        pending.result()
        closing.result()
        assert sess.run(q.dequeue()) == 2
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(q.dequeue())


def test_session_close_and_timeout_end_waits():
    q = tf.FIFOQueue(5, tf.float32, shapes=[[]])
    deq = q.dequeue()
    sess = tf.Session()
    waiter = _Background(lambda: sess.run(deq))
    time.sleep(0.1)
    sess.close()
    with pytest.raises(tf.errors.CancelledError, match="session was closed"):
        waiter.result()
    with tf.Session(config=tf.ConfigProto(operation_timeout_in_ms=100)) as sess:
        t0 = time.monotonic()
        with pytest.raises(tf.errors.DeadlineExceededError, match="(?s)Timed out.*fifo_queue_Deq"):
            sess.run(deq)
        assert time.monotonic() - t0 < 5


# ----------------------------------------------------------------------------------------------
# State: per session, shared names, failed steps
# ----------------------------------------------------------------------------------------------
def test_sessions_have_their_own_queues_and_shared_names_share():
    q = tf.FIFOQueue(5, tf.int32, shapes=[[]], shared_name="common")
    q2 = tf.FIFOQueue(5, tf.int32, shapes=[[]], shared_name="common")
    other = tf.FIFOQueue(5, tf.int32, shapes=[[]], shared_name="common")
    enq = q.enqueue_many([[1, 2, 3]])
    with tf.Session() as s1, tf.Session() as s2:
        s1.run(enq)
        assert s1.run(q.size()) == 3 and s2.run(q.size()) == 0
        assert s1.run(q2.dequeue()) == 1  # another handle, the same queue
        assert s1.run(other.size()) == 2
    clash = tf.FIFOQueue(9, tf.int32, shapes=[[]], shared_name="common")
    with tf.Session() as sess:
        sess.run(q.size())
        with pytest.raises(tf.errors.InvalidArgumentError, match="Shared queue 'common'"):
            sess.run(clash.size())


def test_dequeued_elements_stay_consumed_when_the_step_fails():
    q = tf.FIFOQueue(5, tf.float32, shapes=[[]])
    v = tf.Variable(0.0)
    x = q.dequeue()
    with tf.control_dependencies([v.assign_add(x)]):
        checked = tf.check_numerics(tf.log(tf.identity(x)), "bad")
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run(q.enqueue_many([[-1.0, 2.0]]))
        with pytest.raises(tf.errors.InvalidArgumentError, match="bad"):
            sess.run(checked)
        assert sess.run(v) == 0.0  # the variable write was rolled back ...
        assert sess.run(q.size()) == 1  # ... the dequeue was not (as in TensorFlow)
        sess.run(checked)
        assert sess.run(v) == 2.0


def test_a_failing_step_never_rolls_back_another_threads_writes():
    gate = tf.FIFOQueue(1, tf.float32, shapes=[[]])
    never = tf.FIFOQueue(1, tf.float32, shapes=[[]])
    v = tf.Variable(0.0)
    with tf.control_dependencies([gate.dequeue()]):
        inc = v.assign_add(1.0)
    with tf.control_dependencies([gate.enqueue([0.0])]):
        waits = never.dequeue()
    with tf.control_dependencies([waits]):
        doomed = v.assign_add(100.0)
    with tf.Session() as sess:
        sess.run(v.initializer)
        main = _Background(lambda: sess.run(inc))      # starts its step, waits on `gate`
        time.sleep(0.1)
        other = _Background(lambda: sess.run(doomed))  # opens `gate` mid-step, waits on `never`
        main.result()                                  # `main` wrote v while `other` ran
        sess.run(never.close())
        with pytest.raises(tf.errors.OutOfRangeError):
            other.result()                             # its failure undoes only its own writes
        assert sess.run(v) == 1.0


def test_interactive_session_does_not_run_queue_ops_at_creation():
    sess = tf.InteractiveSession(eager=True)
    try:
        q = tf.FIFOQueue(3, tf.float32, shapes=[[]])
        size = q.size()
        enq = q.enqueue([1.0])
        deq = q.dequeue()
        assert size.eval() == 0
        sess.run(enq)
        assert size.eval() == 1
        assert deq.eval() == 1.0
        assert size.eval() == 0
    finally:
        sess.close()


def test_queue_graph_survives_graph_def_round_trip():
    q = tf.FIFOQueue(4, [tf.float32, tf.int32], shapes=[[2], []], name="q")
    q.enqueue_many([[[1.0, 2.0], [3.0, 4.0]], [5, 6]], name="fill")
    q.dequeue_many(2, name="take")
    gd = tf.get_default_graph().as_graph_def()
    with tf.Graph().as_default() as g:
        tf.import_graph_def(gd, name="")
        take = g.get_operation_by_name("take")
        assert take.outputs[0].shape.as_list() == [2, 2]
        with tf.Session() as sess:
            sess.run(g.get_operation_by_name("fill"))
            x, y = sess.run(list(take.outputs))
    np.testing.assert_array_equal(x, [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(y, [5, 6])


# ----------------------------------------------------------------------------------------------
# RandomShuffleQueue and PaddingFIFOQueue
# ----------------------------------------------------------------------------------------------
def test_random_shuffle_queue_respects_min_after_dequeue():
    q = tf.RandomShuffleQueue(10, 3, tf.int32, shapes=[[]], seed=7)
    enq = q.enqueue_many([tf.range(5)])
    with tf.Session(config=tf.ConfigProto(operation_timeout_in_ms=150)) as sess:
        sess.run(enq)
        assert sorted(sess.run(q.dequeue_many(2))) != []
        assert sess.run(q.size()) == 3
        with pytest.raises(tf.errors.DeadlineExceededError):  # would leave fewer than 3
            sess.run(q.dequeue())
        assert sess.run(q.size()) == 3
        sess.run(q.close())  # once closed, the rest drains
        assert len(sess.run(q.dequeue_up_to(10))) == 3
        with pytest.raises(tf.errors.OutOfRangeError, match="RandomShuffleQueue"):
            sess.run(q.dequeue())


def test_random_shuffle_queue_is_seeded():
    def order(seed, graph_seed=None):
        with tf.Graph().as_default() as g:
            if graph_seed is not None:
                g.seed = graph_seed
            q = tf.RandomShuffleQueue(20, 0, tf.int32, shapes=[[]], seed=seed)
            enq = q.enqueue_many([tf.range(20)])
            with tf.Session() as sess:
                sess.run(enq)
                return sess.run(q.dequeue_many(20)).tolist()
    a = order(3)
    assert sorted(a) == list(range(20)) and a != list(range(20))
    assert order(3) == a and order(4) != a
    assert order(None, graph_seed=5) == order(None, graph_seed=5)


def test_padding_fifo_queue_pads_batches():
    q = tf.PaddingFIFOQueue(5, [tf.int32, tf.float32], shapes=[[None], [2]])
    x = tf.placeholder(tf.int32, [None])
    enq = q.enqueue([x, [1.0, 2.0]])
    one = q.dequeue()
    many = q.dequeue_many(2)
    assert many[0].shape.as_list() == [2, None] and many[1].shape.as_list() == [2, 2]
    with tf.Session() as sess:
        for v in ([1, 2, 3], [4], [5, 6]):
            sess.run(enq, {x: v})
        np.testing.assert_array_equal(sess.run(one)[0], [1, 2, 3])
        a, b = sess.run(many)
        np.testing.assert_array_equal(a, [[4, 0], [5, 6]])
        assert a.dtype == np.int32 and b.shape == (2, 2)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"Expected \[\?\], got \[1,2\]"):
            sess.run(q.enqueue([tf.placeholder_with_default(np.zeros((1, 2), np.int32), None),
                                [0.0, 0.0]]))
        sess.run(q.close())
        a, _ = sess.run(q.dequeue_many(0))
        assert a.shape == (0, 0)
