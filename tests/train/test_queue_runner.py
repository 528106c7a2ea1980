"""QueueRunner, Coordinator, start_queue_runners, batch/shuffle_batch: input threads that feed
a training loop and stop cleanly (no thread left running), errors reported through join."""
import threading
import time

import numpy as np
import pytest

import tfnb as tf


@pytest.fixture
def no_leaked_threads():
    """Fails the test if it leaves a thread running."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not left:
            return
        time.sleep(0.02)
    pytest.fail("threads left running: %s" % [t.name for t in left])


def _dataset(n=64):
    rng = np.random.RandomState(0)
    x = rng.randn(n, 3).astype(np.float32)
    w = np.array([[1.0], [-2.0], [0.5]], np.float32)
    return x, x @ w + 0.25


def test_queue_runners_feed_a_training_loop_and_stop_cleanly(no_leaked_threads):
    data_x, data_y = _dataset()
    # One example per enqueue, picked by a random index: the classic TF1 input pipeline.
    idx = tf.random_uniform([], 0, len(data_x), dtype=tf.int32, seed=1)
    example_x = tf.gather(tf.constant(data_x), idx)
    example_y = tf.gather(tf.constant(data_y), idx)
    bx, by = tf.train.shuffle_batch([example_x, example_y], batch_size=16, capacity=64,
                                    min_after_dequeue=16, num_threads=2, seed=3)
    assert bx.shape.as_list() == [16, 3] and by.shape.as_list() == [16, 1]
    w = tf.Variable(tf.zeros([3, 1]))
    b = tf.Variable(0.0)
    loss = tf.reduce_mean(tf.square(tf.matmul(bx, w) + b - by))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    assert len(tf.get_collection(tf.GraphKeys.QUEUE_RUNNERS)) == 1
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        assert len(threads) == 3 and all(t.daemon for t in threads)
        assert threads[0].name.startswith("QueueRunnerThread-shuffle_batch/random_shuffle_queue")
        losses = []
        for _ in range(150):
            if coord.should_stop():
                break
            losses.append(sess.run([train, loss])[1])
        coord.request_stop()
        coord.join(threads, stop_grace_period_secs=5)
        assert not any(t.is_alive() for t in threads)
        assert losses[-1] < 0.05 * losses[0]
        np.testing.assert_allclose(sess.run(w).ravel(), [1.0, -2.0, 0.5], atol=0.1)


def test_runner_closes_its_queue_when_input_runs_out(no_leaked_threads):
    source = tf.FIFOQueue(10, tf.int32, shapes=[[]])
    fill = source.enqueue_many([tf.range(7)])
    doubled = source.dequeue() * 2
    batches = tf.train.batch([doubled], batch_size=3, allow_smaller_final_batch=True)
    assert batches.shape.as_list() == [None]
    with tf.Session() as sess:
        sess.run(fill)
        sess.run(source.close())
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        got = []
        try:
            while not coord.should_stop():
                got.append(sess.run(batches).tolist())
        except tf.errors.OutOfRangeError:
            coord.request_stop()
        coord.join(threads)  # OutOfRangeError is a clean stop: nothing raised
    assert got == [[0, 2, 4], [6, 8, 10], [12]]


def test_thread_error_is_reported_through_join(no_leaked_threads):
    x = tf.placeholder_with_default(np.float32(np.nan), [])
    q = tf.FIFOQueue(4, tf.float32, shapes=[[]])
    qr = tf.train.QueueRunner(q, [q.enqueue([tf.check_numerics(x, "input is bad")])])
    tf.train.add_queue_runner(qr)
    with tf.Session() as sess:
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        assert coord.wait_for_stop(5.0)
        with pytest.raises(tf.errors.InvalidArgumentError, match="input is bad"):
            coord.join(threads)
        assert coord.joined


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_without_coordinator_errors_are_recorded_on_the_runner(no_leaked_threads):
    q = tf.FIFOQueue(4, tf.float32, shapes=[[]])
    bad = tf.check_numerics(tf.constant(np.inf, tf.float32), "inf here")
    qr = tf.train.QueueRunner(q, [q.enqueue([bad])])
    with tf.Session() as sess:
        threads = qr.create_threads(sess, start=True)
        assert len(threads) == 1 and not threads[0].daemon
        threads[0].join(5.0)
    assert len(qr.exceptions_raised) == 1
    assert isinstance(qr.exceptions_raised[0], tf.errors.InvalidArgumentError)


def test_create_threads_once_per_session_and_start_later(no_leaked_threads):
    q = tf.FIFOQueue(2, tf.int32, shapes=[[]])
    qr = tf.train.QueueRunner(q, [q.enqueue([1])] * 2)
    assert qr.name == "fifo_queue" and qr.queue is q and len(qr.enqueue_ops) == 2
    assert qr.close_op.type == "QueueCloseV2" and qr.cancel_op.get_attr("cancel_pending_enqueues")
    assert qr.queue_closed_exception_types == (tf.errors.OutOfRangeError,)
    with tf.Session() as sess:
        coord = tf.train.Coordinator()
        threads = qr.create_threads(sess, coord=coord)
        assert len(threads) == 3 and not any(t.is_alive() for t in threads)
        assert qr.create_threads(sess, coord=coord) == []  # already created for this session
        for t in threads:
            t.start()
        np.testing.assert_array_equal(sess.run(q.dequeue_many(4)), [1, 1, 1, 1])
        coord.request_stop()
        coord.join()  # the registered threads
    with pytest.raises(ValueError, match="needs a queue"):
        tf.train.QueueRunner(q, [])


def test_start_queue_runners_needs_a_session():
    with pytest.raises(ValueError, match="No default session"):
        tf.train.start_queue_runners()


def test_default_session_and_custom_collection(no_leaked_threads):
    q = tf.FIFOQueue(3, tf.int32, shapes=[[]])
    tf.train.add_queue_runner(tf.train.QueueRunner(q, [q.enqueue([5])]), collection="mine")
    assert tf.get_collection(tf.GraphKeys.QUEUE_RUNNERS) == []
    with tf.Session() as sess:
        coord = tf.train.Coordinator()
        assert tf.train.start_queue_runners(coord=coord) == []
        threads = tf.train.start_queue_runners(coord=coord, collection="mine")
        assert sess.run(q.dequeue()) == 5
        coord.request_stop()
        coord.join(threads)


def test_closing_the_session_ends_runner_threads(no_leaked_threads):
    q = tf.FIFOQueue(2, tf.int32, shapes=[[]])
    tf.train.add_queue_runner(tf.train.QueueRunner(q, [q.enqueue([1])]))
    coord = tf.train.Coordinator()
    with tf.Session() as sess:
        threads = tf.train.start_queue_runners(sess, coord)
        assert sess.run(q.dequeue()) == 1
    # No request_stop: the closed session cancels the blocked enqueue; the error stops the rest.
    with pytest.raises((tf.errors.CancelledError, RuntimeError)):
        coord.join(threads, stop_grace_period_secs=5)


# ----------------------------------------------------------------------------------------------
# batch and shuffle_batch
# ----------------------------------------------------------------------------------------------
def test_batch_structures_names_and_summaries(no_leaked_threads):
    x = tf.constant([1.0, 2.0])
    y = tf.constant(3)
    b = tf.train.batch([x, y], 4)
    assert [t.name for t in b] == ["batch:0", "batch:1"]
    assert b[0].shape.as_list() == [4, 2] and b[1].shape.as_list() == [4]
    single = tf.train.batch([x], 4)
    assert isinstance(single, tf.Tensor) and single.name == "batch_1:0"
    d = tf.train.batch({"a": x, "b": y}, 4, allow_smaller_final_batch=True)
    assert set(d) == {"a", "b"} and d["a"].shape.as_list() == [None, 2]
    many = tf.train.batch([tf.zeros([5, 2])], 3, enqueue_many=True)
    assert many.shape.as_list() == [3, 2]
    sb = tf.train.shuffle_batch([x, y], 4, capacity=20, min_after_dequeue=5, seed=3)
    assert [t.name for t in sb] == ["shuffle_batch:0", "shuffle_batch:1"]
    tags = [t.op.name for t in tf.get_collection(tf.GraphKeys.SUMMARIES)]
    assert tags == ["batch/fraction_of_32_full", "batch_1/fraction_of_32_full",
                    "batch_2/fraction_of_32_full", "batch_3/fraction_of_32_full",
                    "shuffle_batch/fraction_over_5_of_15_full"]
    with tf.Session() as sess:
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        bx, by = sess.run(b)
        np.testing.assert_array_equal(bx, [[1.0, 2.0]] * 4)
        np.testing.assert_array_equal(by, [3, 3, 3, 3])
        assert sorted(sess.run(sb)[1].tolist()) == [3, 3, 3, 3]
        assert sess.run(d)["a"].shape[1] == 2
        coord.request_stop()
        coord.join(threads)


def test_batch_shape_errors():
    with pytest.raises(ValueError, match="fully defined"):
        tf.train.batch([tf.placeholder(tf.float32, [None])], 3)
    with pytest.raises(ValueError, match="rank"):
        tf.train.batch([tf.placeholder(tf.float32)], 3)
    with pytest.raises(ValueError, match="at least one tensor"):
        tf.train.batch([], 3)
    with pytest.raises(ValueError, match="bigger than min_after_dequeue"):
        tf.train.shuffle_batch([tf.constant(1.0)], 2, capacity=10, min_after_dequeue=10)


def test_batch_dynamic_pad(no_leaked_threads):
    source = tf.FIFOQueue(5, tf.int32)  # elements of varying length
    fill = [source.enqueue([tf.constant(v)]) for v in ([1, 2, 3], [4], [5, 6])]
    item = source.dequeue()
    item.set_shape([None])
    padded = tf.train.batch([item], 3, dynamic_pad=True)
    assert padded.shape.as_list() == [3, None]
    with tf.Session() as sess:
        for f in fill:
            sess.run(f)
        sess.run(source.close())  # else the runner would wait on `source` until stopped
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess, coord)
        np.testing.assert_array_equal(sess.run(padded), [[1, 2, 3], [4, 0, 0], [5, 6, 0]])
        coord.request_stop()
        coord.join(threads)


# ----------------------------------------------------------------------------------------------
# Coordinator
# ----------------------------------------------------------------------------------------------
def test_coordinator_stop_requests_and_clean_stop_exceptions():
    coord = tf.train.Coordinator()
    assert not coord.should_stop() and not coord.wait_for_stop(0.01)
    coord.request_stop(tf.errors.OutOfRangeError(None, None, "end of epoch"))
    assert coord.should_stop() and coord.wait_for_stop(0.01)
    coord.join([])  # a clean stop: nothing raised
    coord.clear_stop()
    assert not coord.should_stop() and not coord.joined
    with coord.stop_on_exception():
        raise ValueError("boom")
    assert coord.should_stop()
    coord.request_stop(KeyError("later"))  # only the first exception is kept
    with pytest.raises(ValueError, match="boom"):
        coord.raise_requested_exception()
    with pytest.raises(ValueError, match="boom"):
        coord.join()
    with pytest.raises(TypeError, match="after join"):  # nobody would see it otherwise
        coord.request_stop(TypeError("after join"))


def test_coordinator_join_waits_for_threads_and_reports_stragglers(no_leaked_threads):
    coord = tf.train.Coordinator(clean_stop_exception_types=())
    release = threading.Event()

    def worker():
        with coord.stop_on_exception():
            while not coord.should_stop():
                time.sleep(0.005)
            release.wait(5.0)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    coord.request_stop()
    with pytest.raises(RuntimeError, match="threads still running"):
        coord.join(threads, stop_grace_period_secs=0.05)
    release.set()
    coord.clear_stop()
    coord.request_stop()
    coord.join(threads, stop_grace_period_secs=5)
    coord.clear_stop()
    coord.request_stop(tf.errors.OutOfRangeError(None, None, "x"))  # not clean any more
    with pytest.raises(tf.errors.OutOfRangeError):
        coord.join()


def test_coordinator_join_returns_when_threads_end_without_stop(no_leaked_threads):
    coord = tf.train.Coordinator()
    t = threading.Thread(target=time.sleep, args=(0.05,))
    coord.register_thread(t)
    t.start()
    coord.join(stop_grace_period_secs=1)
    assert not t.is_alive() and not coord.should_stop()
