"""MatMul's kernel choices for small products (tfnb/ops/matmul_ops.py): ``a @ b.T`` with few
rows of ``a`` computed as ``(b @ a.T).T``, products under SINGLE_THREAD_MACS on one BLAS thread
(tfnb/runtime/threads.on_one_blas_thread). Values and gradients are NumPy's."""
import numpy as np
import pytest

import tfnb as tf
from tfnb.ops import matmul_ops
from tfnb.runtime import threads


@pytest.fixture
def restore_threads():
    saved = (threads._cap, threads._active, threads._last_check, threads._blas)
    yield
    threads._cap, _, threads._last_check, threads._blas = saved
    threads._single = 0
    threads._apply(saved[1] if saved[1] is not None else threads.intra_op_threads())


def _run(t):
    with tf.Session() as sess:
        return sess.run(t)


@pytest.mark.parametrize("m", [1, 2, 20, 96, 97, 300])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transposed_b_matches_numpy_for_every_row_count(m, dtype):
    rng = np.random.default_rng(m)
    a = rng.standard_normal((m, 300)).astype(dtype)
    b = rng.standard_normal((200, 300)).astype(dtype)
    with tf.Graph().as_default():
        got = _run(tf.matmul(a, b, transpose_b=True))
    assert got.flags.c_contiguous and got.shape == (m, 200) and got.dtype == dtype
    np.testing.assert_allclose(got, a @ b.T, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-5 if dtype == np.float32 else 1e-12)


def test_transposed_b_with_both_transposes_and_ints():
    rng = np.random.default_rng(1)
    a = rng.integers(-5, 5, (8, 200)).astype(np.int32)
    b = rng.integers(-5, 5, (300, 200)).astype(np.int32)
    with tf.Graph().as_default():
        got = _run(tf.matmul(a, b, transpose_b=True))
        both = _run(tf.matmul(a.T.copy(), b, transpose_a=True, transpose_b=True))
    np.testing.assert_array_equal(got, a @ b.T)
    np.testing.assert_array_equal(both, a @ b.T)


def test_lstm_sized_gradients_match_numpy():
    """The W6 products and their gradients: dz @ K^T (swapped) and x^T @ dz."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((20, 400)).astype(np.float32)
    k = rng.standard_normal((400, 800)).astype(np.float32)
    g = rng.standard_normal((20, 800)).astype(np.float32)
    with tf.Graph().as_default():
        tx, tk = tf.constant(x), tf.constant(k)
        y = tf.matmul(tx, tk)
        dx, dk = tf.gradients(y, [tx, tk], grad_ys=tf.constant(g))
        got = _run([y, dx, dk])
    for v, ref in zip(got, (x @ k, g @ k.T, x.T @ g)):
        np.testing.assert_allclose(v, ref, rtol=1e-4, atol=1e-4)


def test_finite_differences_through_swapped_product():
    rng = np.random.default_rng(3)
    a0 = rng.standard_normal((4, 130)).astype(np.float64)
    b0 = rng.standard_normal((140, 130)).astype(np.float64)
    with tf.Graph().as_default():
        a = tf.placeholder(tf.float64, a0.shape)
        b = tf.constant(b0)
        loss = tf.reduce_sum(tf.square(tf.matmul(a, b, transpose_b=True)))
        grad = tf.gradients(loss, a)[0]
        with tf.Session() as sess:
            g = sess.run(grad, {a: a0})
            eps = 1e-6
            for idx in [(0, 0), (3, 129), (2, 64)]:
                ap, am = a0.copy(), a0.copy()
                ap[idx] += eps
                am[idx] -= eps
                fd = (sess.run(loss, {a: ap}) - sess.run(loss, {a: am})) / (2 * eps)
                assert abs(fd - g[idx]) <= 1e-5 * max(1.0, abs(fd))


class _FakeBlas:
    def __init__(self):
        self.calls = []

    def set_num_threads(self, n):
        self.calls.append(n)


def test_small_products_run_on_one_blas_thread_and_restore_the_count(restore_threads):
    fake = _FakeBlas()
    threads._blas = (fake,)
    threads._active = 2
    seen = []

    def probe(a, b):
        seen.append(list(fake.calls))
        return a @ b
    a = np.ones((3, 4), np.float32)
    r = threads.on_one_blas_thread(probe, a, a.T)
    assert seen == [[1]] and fake.calls == [1, 2]
    np.testing.assert_array_equal(r, a @ a.T)
    # Nested (a concurrent call): only the outermost sets and restores.
    fake.calls.clear()
    threads.on_one_blas_thread(lambda: threads.on_one_blas_thread(lambda: None))
    assert fake.calls == [1, 2]
    # An error inside still restores.
    fake.calls.clear()
    with pytest.raises(ZeroDivisionError):
        threads.on_one_blas_thread(lambda: 1 / 0)
    assert fake.calls == [1, 2] and threads._single == 0


def test_a_count_change_during_a_single_thread_call_is_applied_after_it(restore_threads):
    fake = _FakeBlas()
    threads._blas = (fake,)
    threads._active = 2

    def adapt():
        threads._apply(1)
        assert fake.calls == [1]  # not applied while the call runs
    threads.on_one_blas_thread(adapt)
    assert fake.calls == [1, 1] and threads.active_threads() == 1


def test_no_blas_control_or_one_thread_calls_directly(restore_threads):
    fake = _FakeBlas()
    threads._blas = (fake,)
    threads._active = 1
    assert threads.on_one_blas_thread(lambda x: x + 1, 1) == 2 and fake.calls == []
    threads._blas = ()  # threadpoolctl missing
    threads._active = 2
    assert threads.on_one_blas_thread(lambda x: x + 1, 1) == 2


def test_matmul_kernel_routes_by_size(restore_threads, monkeypatch):
    fake = _FakeBlas()
    calls = []
    real = threads.on_one_blas_thread
    monkeypatch.setattr(threads, "on_one_blas_thread",
                        lambda fn, *args: calls.append(args[0].shape) or real(fn, *args))
    monkeypatch.setattr(matmul_ops, "SINGLE_THREAD_MACS", 1000)
    small, big = np.ones((5, 6), np.float32), np.ones((20, 60), np.float32)
    with tf.Graph().as_default():
        with tf.Session() as sess:
            threads._blas = (fake,)
            threads._active = 2
            r1 = sess.run(tf.matmul(small, small, transpose_b=True))   # 150 MACs
            r2 = sess.run(tf.matmul(big, big, transpose_b=True))       # 24000 MACs
    assert calls == [(5, 6)]
    np.testing.assert_array_equal(r1, small @ small.T)
    np.testing.assert_array_equal(r2, big @ big.T)
