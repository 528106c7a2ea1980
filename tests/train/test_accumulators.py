"""ConditionalAccumulator / SparseConditionalAccumulator: averages vs NumPy, stale gradients
dropped by step, blocking takes that end (gradients, session close, timeout, cancel), shared
names, bad input as typed errors."""
import threading
import time

import numpy as np
import pytest

import tfnb as tf


def _run_in_thread(fn):
    """Starts ``fn`` in a thread; returns (thread, box) where box holds its result or error."""
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            box["error"] = e
    t = threading.Thread(target=target, name="accumulator-test")
    t.start()
    return t, box


def _wait_for_waiting_takes(sess, acc, n, timeout=10):
    """Returns once ``n`` takes wait on ``acc`` in ``sess`` (so the test's order is certain)."""
    deadline = time.monotonic() + timeout
    key = ("accumulator", acc.accumulator_ref.op.get_attr("shared_name") or acc.name)
    while True:
        state = sess._state.resources.get(key)
        if state is not None and len(state._takes) >= n:
            return
        assert time.monotonic() < deadline, "the take never started waiting"
        time.sleep(0.01)


# ----------------------------------------------------------------------------------------------
# Dense
# ----------------------------------------------------------------------------------------------
def test_mean_and_sum_of_applied_gradients():
    g = tf.placeholder(tf.float32, [2, 3])
    step = tf.placeholder(tf.int64, [])
    mean_acc = tf.ConditionalAccumulator(tf.float32, shape=[2, 3])
    sum_acc = tf.ConditionalAccumulator(tf.float32, shape=[2, 3], reduction_type="SUM")
    apply = [mean_acc.apply_grad(g, local_step=step), sum_acc.apply_grad(g, local_step=step)]
    take_mean, take_sum = mean_acc.take_grad(3), sum_acc.take_grad(3)
    count = mean_acc.num_accumulated()
    assert take_mean.dtype == tf.float32 and take_mean.shape.as_list() == [2, 3]
    grads = np.random.RandomState(0).randn(3, 2, 3).astype(np.float32)
    with tf.Session() as sess:
        assert sess.run(count) == 0
        for gr in grads:
            sess.run(apply, {g: gr, step: 0})
        assert sess.run(count) == 3
        mean, total = sess.run([take_mean, take_sum])
        assert sess.run(count) == 0
    np.testing.assert_allclose(mean, grads.mean(0), rtol=1e-6)
    np.testing.assert_allclose(total, grads.sum(0), rtol=1e-6)
    assert mean.dtype == np.float32


def test_stale_gradients_are_dropped_and_each_take_advances_the_step():
    acc = tf.ConditionalAccumulator(tf.float64, shape=[2])
    g = tf.placeholder(tf.float64, [2])
    step = tf.placeholder(tf.int64, [])
    apply = acc.apply_grad(g, local_step=step)
    take = acc.take_grad(1)
    set_step = acc.set_global_step(step)
    count = acc.num_accumulated()
    with tf.Session() as sess:
        sess.run(apply, {g: [1.0, 1.0], step: 0})
        np.testing.assert_array_equal(sess.run(take), [1.0, 1.0])  # the accumulator's step: 1
        sess.run(apply, {g: [5.0, 5.0], step: 0})      # computed at step 0 < 1: dropped
        assert sess.run(count) == 0
        sess.run(apply, {g: [2.0, 4.0], step: 1})      # current
        sess.run(apply, {g: [4.0, 8.0], step: 7})      # ahead of the accumulator: kept
        np.testing.assert_array_equal(sess.run(acc.take_grad(2)), [3.0, 6.0])  # step 2
        sess.run(set_step, {step: 10})
        sess.run(apply, {g: [1.0, 1.0], step: 9})      # dropped
        assert sess.run(count) == 0
        sess.run(apply, {g: [1.0, 1.0], step: 10})
        assert sess.run(count) == 1


def test_setting_the_step_backwards_warns_in_the_log_and_takes_effect(caplog):
    acc = tf.ConditionalAccumulator(tf.float32, shape=[])
    step = tf.placeholder(tf.int64, [])
    set_step = acc.set_global_step(step)
    apply = acc.apply_grad(1.0, local_step=step)
    with tf.Session() as sess:
        sess.run(set_step, {step: 5})
        sess.run(set_step, {step: 2})
        assert "smaller value" in caplog.text
        sess.run(apply, {step: 3})  # accepted: the step is now 2
        assert sess.run(acc.num_accumulated()) == 1


def test_take_waits_for_enough_gradients():
    acc = tf.ConditionalAccumulator(tf.float32, shape=[1])
    g = tf.placeholder(tf.float32, [1])
    apply = acc.apply_grad(g)
    take = acc.take_grad(2)
    with tf.Session() as sess:
        t, box = _run_in_thread(lambda: sess.run(take))
        sess.run(apply, {g: [1.0]})
        time.sleep(0.2)
        assert t.is_alive()  # one of two gradients: still waiting
        sess.run(apply, {g: [3.0]})
        t.join(10)
        assert not t.is_alive()
    np.testing.assert_array_equal(box["value"], [2.0])


def test_waiting_takes_are_served_in_order_with_exactly_their_gradients():
    acc = tf.ConditionalAccumulator(tf.float32, shape=[])
    g = tf.placeholder(tf.float32, [])
    step = tf.placeholder(tf.int64, [])
    apply = acc.apply_grad(g, local_step=step)
    take2, take1 = acc.take_grad(2), acc.take_grad(1)
    with tf.Session() as sess:
        t1, box1 = _run_in_thread(lambda: sess.run(take2))
        _wait_for_waiting_takes(sess, acc, 1)  # the 2-take queues first
        t2, box2 = _run_in_thread(lambda: sess.run(take1))
        _wait_for_waiting_takes(sess, acc, 2)
        for v, s in ((1.0, 0), (3.0, 0), (10.0, 1)):  # the first take moved the step to 1
            sess.run(apply, {g: v, step: s})
        t1.join(10)
        t2.join(10)
    assert box1["value"] == 2.0    # the first two gradients, not three
    assert box2["value"] == 10.0


def test_closing_the_session_cancels_a_waiting_take():
    acc = tf.ConditionalAccumulator(tf.float32, shape=[])
    take = acc.take_grad(1)
    sess = tf.Session()
    t, box = _run_in_thread(lambda: sess.run(take))
    _wait_for_waiting_takes(sess, acc, 1)
    start = time.monotonic()
    sess.close()
    t.join(10)
    assert not t.is_alive() and time.monotonic() - start < 5.0
    assert isinstance(box["error"], tf.errors.CancelledError)
    assert "closed" in str(box["error"]) and take.op.name in str(box["error"])


def test_operation_timeout_bounds_a_take():
    acc = tf.ConditionalAccumulator(tf.float32, shape=[])
    apply = acc.apply_grad(1.0)
    take = acc.take_grad(3)
    with tf.Session(config=tf.ConfigProto(operation_timeout_in_ms=300)) as sess:
        sess.run(apply)
        start = time.monotonic()
        with pytest.raises(tf.errors.DeadlineExceededError, match="1 of the 3 gradients"):
            sess.run(take)
        assert 0.25 < time.monotonic() - start < 10.0
        assert sess.run(acc.num_accumulated()) == 1  # nothing consumed
        sess.run(apply)
        sess.run(apply)
        assert sess.run(take) == 1.0


def test_cancel_pending_takes_fails_waiting_takes_and_keeps_the_accumulator_usable():
    acc = tf.ConditionalAccumulator(tf.float32, shape=[])
    take = acc.take_grad(1)
    cancel = acc.cancel_pending_takes()
    apply = acc.apply_grad(4.0)
    with tf.Session() as sess:
        t, box = _run_in_thread(lambda: sess.run(take))
        _wait_for_waiting_takes(sess, acc, 1)
        sess.run(cancel)
        t.join(10)
        assert isinstance(box["error"], tf.errors.CancelledError)
        sess.run(cancel)  # nothing waits: a no-op
        sess.run(apply)
        assert sess.run(take) == 4.0


def test_shared_name_makes_one_accumulator_per_session_and_sessions_are_independent():
    a = tf.ConditionalAccumulator(tf.float32, shape=[], shared_name="grads")
    b = tf.ConditionalAccumulator(tf.float32, shape=[], shared_name="grads")
    other = tf.ConditionalAccumulator(tf.float32, shape=[])
    with tf.Session() as s1, tf.Session() as s2:
        s1.run([a.apply_grad(1.0), b.apply_grad(3.0), other.apply_grad(7.0)])
        assert s1.run(a.num_accumulated()) == 2 and s1.run(b.num_accumulated()) == 2
        assert s1.run(other.num_accumulated()) == 1
        assert s2.run(a.num_accumulated()) == 0
        assert s1.run(b.take_grad(2)) == 2.0


def test_shared_name_with_a_different_spec_is_an_error():
    a = tf.ConditionalAccumulator(tf.float32, shape=[2], shared_name="g")
    b = tf.ConditionalAccumulator(tf.float32, shape=[3], shared_name="g")
    with tf.Session() as sess:
        sess.run(a.num_accumulated())
        with pytest.raises(tf.errors.InvalidArgumentError, match="Shared accumulator 'g'"):
            sess.run(b.num_accumulated())


def test_bad_gradients_are_typed_errors():
    with pytest.raises(ValueError):
        tf.ConditionalAccumulator(tf.float32, shape=[2]).apply_grad([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="int32"):
        tf.ConditionalAccumulator(tf.int32, shape=[2])
    with pytest.raises(ValueError, match="reduction_type"):
        tf.ConditionalAccumulator(tf.float32, reduction_type="MAX")
    with pytest.raises(TypeError, match="local_step"):
        tf.ConditionalAccumulator(tf.float32).apply_grad(1.0, local_step=0.5)
    acc = tf.ConditionalAccumulator(tf.float32, shape=[None])
    g = tf.placeholder(tf.float32, [None])
    apply = acc.apply_grad(g)
    take = acc.take_grad(tf.placeholder_with_default(1, []))
    with tf.Session() as sess:
        sess.run(apply, {g: [1.0, 2.0]})
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"Shape mismatch: expected \[2\], "
                                                                 r"got \[3\]") as e:
            sess.run(apply, {g: [1.0, 2.0, 3.0]})
        assert apply.name in str(e.value)
        assert sess.run(acc.num_accumulated()) == 1  # the bad gradient changed nothing
        with pytest.raises(tf.errors.InvalidArgumentError, match="must be positive"):
            sess.run(take, {take.op.inputs[1]: 0})
        np.testing.assert_array_equal(sess.run(take), [1.0, 2.0])


def test_accumulator_ops_ignore_control_dependencies_and_run_on_the_cpu():
    x = tf.constant(1.0)
    with tf.control_dependencies([x.op]):
        acc = tf.ConditionalAccumulator(tf.float32, shape=[])
    assert acc.accumulator_ref.op.control_inputs == []
    assert acc.accumulator_ref.op.type == "ResourceConditionalAccumulator"
    assert "ConditionalAccumulator" in repr(acc)


# ----------------------------------------------------------------------------------------------
# Sparse
# ----------------------------------------------------------------------------------------------
def _sparse_reference(grads, mean=True):
    """Row-wise sums (duplicates in one gradient summed) and, for the mean, /gradients per row."""
    sums, counts = {}, {}
    for idx, vals in grads:
        per_grad = {}
        for i, v in zip(idx, vals):
            per_grad[i] = per_grad.get(i, 0) + v
        for i, v in per_grad.items():
            sums[i] = sums.get(i, 0) + v
            counts[i] = counts.get(i, 0) + 1
    keys = sorted(sums)
    rows = np.array([sums[k] / (counts[k] if mean else 1) for k in keys])
    return np.array(keys, np.int64), rows


@pytest.mark.parametrize("reduction", ["MEAN", "SUM"])
def test_sparse_accumulator_averages_row_by_row(reduction):
    acc = tf.SparseConditionalAccumulator(tf.float64, shape=[6, 2], reduction_type=reduction)
    idx = tf.placeholder(tf.int32, [None])
    vals = tf.placeholder(tf.float64, [None, 2])
    apply = acc.apply_indexed_slices_grad(tf.IndexedSlices(vals, idx, tf.constant([6, 2])))
    taken = acc.take_indexed_slices_grad(3)
    rng = np.random.RandomState(1)
    grads = [([4, 1, 4], rng.randn(3, 2)), ([0, 1], rng.randn(2, 2)), ([5], rng.randn(1, 2))]
    with tf.Session() as sess:
        for i, v in grads:
            sess.run(apply, {idx: i, vals: v})
        out = sess.run(taken)
    want_idx, want_rows = _sparse_reference(grads, mean=reduction == "MEAN")
    np.testing.assert_array_equal(out.indices, want_idx)
    np.testing.assert_allclose(out.values, want_rows, rtol=1e-12)
    np.testing.assert_array_equal(out.dense_shape, [6, 2])


def test_sparse_accumulator_drops_stale_gradients_and_reports_unknown_first_dim():
    acc = tf.SparseConditionalAccumulator(tf.float32, shape=())
    step = tf.placeholder(tf.int64, [])
    apply = acc.apply_grad([2, 0], [[1.0], [2.0]], local_step=step)
    indices, values, shape = acc.take_grad(1)
    with tf.Session() as sess:
        sess.run(apply, {step: 0})
        i, v, s = sess.run([indices, values, shape])
        np.testing.assert_array_equal(i, [0, 2])
        np.testing.assert_array_equal(v, [[2.0], [1.0]])
        np.testing.assert_array_equal(s, [-1, 1])  # shape () leaves dimension 0 unknown
        sess.run(apply, {step: 0})  # the step is now 1: dropped
        assert sess.run(acc.num_accumulated()) == 0


def test_sparse_bad_input_is_a_typed_error_and_changes_nothing():
    acc = tf.SparseConditionalAccumulator(tf.float32, shape=[4, 2])
    idx = tf.placeholder(tf.int64, [None])
    vals = tf.placeholder(tf.float32, None)
    apply = acc.apply_grad(idx, vals, grad_shape=[4, 2])
    count = acc.num_accumulated()
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="exceeded limits"):
            sess.run(apply, {idx: [1, 4], vals: np.ones((2, 2))})
        with pytest.raises(tf.errors.InvalidArgumentError, match="exceeded limits"):
            sess.run(apply, {idx: [-1], vals: np.ones((1, 2))})
        with pytest.raises(tf.errors.InvalidArgumentError, match="Expected 2 non-empty"):
            sess.run(apply, {idx: [1, 2], vals: np.ones((3, 2))})
        with pytest.raises(tf.errors.InvalidArgumentError, match="values dim 1 to be 2"):
            sess.run(apply, {idx: [1], vals: np.ones((1, 3))})
        assert sess.run(count) == 0
        sess.run(apply, {idx: [1], vals: np.ones((1, 2))})
        with pytest.raises(tf.errors.InvalidArgumentError, match="values rank 2, got 3"):
            sess.run(apply, {idx: [1], vals: np.ones((1, 2, 1))})
        assert sess.run(count) == 1
    with pytest.raises(TypeError, match="needs a SparseConditionalAccumulator"):
        tf.get_default_graph().create_op(
            "SparseAccumulatorTakeGradient",
            [tf.ConditionalAccumulator(tf.float32).accumulator_ref, tf.constant(1)],
            attrs={"dtype": tf.float32})
