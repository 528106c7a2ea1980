"""Sums over leading axes (bias gradients) fold their rows: same values as a float64 sum."""
import numpy as np
import pytest

import tfnb as tf
from tfnb.ops import math_ops


@pytest.mark.parametrize("shape, n_axes", [((50, 28, 28, 32), 3), ((4099, 16), 1),
                                           ((256, 7, 7, 3), 2), ((1024, 40), 1)])
def test_folded_sum_matches_float64(shape, n_axes):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ref = x.astype(np.float64).sum(axis=tuple(range(n_axes)))
    s = math_ops.sum_leading_axes(np, x, n_axes, np.float32)
    if s is None:  # no fold factor (4099 rows is prime): the caller sums as usual
        assert shape[0] == 4099
        return
    assert s.dtype == np.float32 and s.shape == shape[n_axes:]
    np.testing.assert_allclose(s, ref, rtol=1e-5, atol=1e-3)


def test_fold_does_not_apply_to_small_or_strided_values():
    x = np.ones((64, 32), np.float32)
    assert math_ops.sum_leading_axes(np, x, 1, np.float32) is None  # small
    big = np.ones((4096, 64), np.float32)[:, ::2]
    assert math_ops.sum_leading_axes(np, big, 1, np.float32) is None  # not contiguous
    assert math_ops.sum_leading_axes(np, np.ones((4096, 64), np.float32), 2, np.float32) is None


def test_reduce_sum_and_bias_gradient_use_it_with_the_right_numbers():
    rng = np.random.default_rng(1)
    xv = rng.standard_normal((20, 14, 14, 32)).astype(np.float32)
    iv = rng.integers(-1000, 1000, (4096, 16)).astype(np.int32)
    with tf.Graph().as_default():
        x = tf.constant(xv)
        b = tf.Variable(np.zeros(32, np.float32))
        s = tf.reduce_sum(x, [0, 1, 2])
        sk = tf.reduce_sum(x, [0, 1], keepdims=True)
        si = tf.reduce_sum(tf.constant(iv), 0)
        gb, = tf.gradients(tf.reduce_sum((x + b) * x), [b])
        gba, = tf.gradients(tf.reduce_sum(tf.nn.bias_add(x, b) * x), [b])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            s, sk, si, gb, gba = sess.run([s, sk, si, gb, gba])
    x64 = xv.astype(np.float64)
    np.testing.assert_allclose(s, x64.sum((0, 1, 2)), rtol=1e-5, atol=1e-3)
    assert sk.shape == (1, 1, 14, 32)
    np.testing.assert_allclose(sk, x64.sum((0, 1), keepdims=True), rtol=1e-5, atol=1e-3)
    assert si.dtype == np.int32 and np.array_equal(si, iv.sum(0))
    np.testing.assert_allclose(gb, x64.sum((0, 1, 2)), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(gba, x64.sum((0, 1, 2)), rtol=1e-5, atol=1e-3)


def test_large_sums_split_in_fixed_parts_give_the_same_bits_on_any_thread_count(monkeypatch):
    from tfnb.runtime import threads
    x = np.random.default_rng(2).standard_normal((64, 24, 24, 64)).astype(np.float32)
    out = []
    for n in (1, 2, 3):
        monkeypatch.setattr(threads, "active_threads", lambda n=n: n)
        out.append(math_ops.sum_leading_axes(np, x, 3, np.float32))
    assert all(np.array_equal(o.view(np.int32), out[0].view(np.int32)) for o in out)
    np.testing.assert_allclose(out[0], x.astype(np.float64).sum((0, 1, 2)), rtol=1e-5, atol=1e-3)
