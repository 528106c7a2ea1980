"""The sum_of_products pass (tfnb/runtime/passes/sum_of_products.py): an AddN of per-step
products (an unrolled RNN's weight and bias gradients) as one product of stacked factors.
Values agree with NumPy's term-by-term sums to float32 rounding; gradients of an unrolled LSTM
agree with the pass off; it stays away from fetched terms and variable factors."""
import numpy as np
import pytest

import tfnb as tf
from tfnb.core.protobuf.rewriter_config_pb2 import RewriterConfig
from tfnb.framework import errors

RNG = np.random.default_rng(11)


def _config(on):
    return tf.ConfigProto(graph_options=tf.GraphOptions(rewrite_options=RewriterConfig(
        arithmetic_optimization=RewriterConfig.ON if on else RewriterConfig.OFF)))


def _run(fetches, feed=None, on=True, setup=None):
    with tf.Session(config=_config(on)) as sess:
        if setup is not None:
            sess.run(setup)
        vals = sess.run(fetches, feed)
        return vals, sess._last_plan.rewrites


def _close(got, terms, dtype):
    """|got - sum| within float rounding of the terms' magnitudes."""
    ref = np.zeros_like(terms[0], dtype=np.float64)
    mag = np.zeros_like(ref)
    for t in terms:
        ref += t
        mag += np.abs(t)
    eps = np.finfo(dtype).eps
    assert got.dtype == dtype
    assert np.all(np.abs(got - ref) <= 8 * eps * (mag + 1e-30))


@pytest.mark.parametrize("ta,tb", [(True, False), (False, True), (False, False), (True, True)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_addn_of_products_is_one_product(ta, tb, dtype):
    n, m, k, p = 6, 7, 5, 9
    xs = [RNG.standard_normal((k, m) if ta else (m, k)).astype(dtype) for _ in range(n)]
    ys = [RNG.standard_normal((p, k) if tb else (k, p)).astype(dtype) for _ in range(n)]
    with tf.Graph().as_default():
        ph = [tf.placeholder(dtype, x.shape) for x in xs + ys]
        prods = [tf.matmul(a, b, transpose_a=ta, transpose_b=tb) for a, b in zip(ph[:n], ph[n:])]
        s = tf.add_n(prods)
        feed = dict(zip(ph, xs + ys))
        got, rewrites = _run(s, feed)
        off, r_off = _run(s, feed, on=False)
    assert rewrites["sum_of_products"] == n + 2 and "sum_of_products" not in r_off
    terms = [(a.T if ta else a).astype(np.float64) @ (b.T if tb else b).astype(np.float64)
             for a, b in zip(xs, ys)]
    _close(got, terms, dtype)
    _close(off, terms, dtype)


def test_contraction_lengths_may_differ_per_term():
    xs = [RNG.standard_normal((r, 4)).astype(np.float32) for r in (1, 3, 2, 5)]
    ys = [RNG.standard_normal((r, 6)).astype(np.float32) for r in (1, 3, 2, 5)]
    with tf.Graph().as_default():
        s = tf.add_n([tf.matmul(tf.constant(a) * 1.0, tf.constant(b) * 1.0, transpose_a=True)
                      for a, b in zip(xs, ys)])
        got, rewrites = _run(s)
    assert "sum_of_products" in rewrites
    _close(got, [a.T.astype(np.float64) @ b for a, b in zip(xs, ys)], np.float32)


def test_bias_gradient_sums_stacked_rows():
    gs = [RNG.standard_normal((20, 8)).astype(np.float32) for _ in range(5)]
    with tf.Graph().as_default():
        b = tf.Variable(np.zeros(8, np.float32))
        ph = [tf.placeholder(tf.float32, g.shape) for g in gs]
        ys = [p + b for p in ph]
        grad = tf.gradients(ys, b, grad_ys=ph)[0]
        feed = dict(zip(ph, gs))
        got, rewrites = _run(grad, feed, setup=tf.global_variables_initializer())
    assert rewrites.get("sum_of_products", 0) >= 5
    _close(got, [g.sum(0, dtype=np.float64) for g in gs], np.float32)


def _lstm_grads(on, steps=6):
    rng = np.random.default_rng(4)
    x0 = rng.standard_normal((steps, 8, 10)).astype(np.float32)
    with tf.Graph().as_default():
        k = tf.Variable(rng.standard_normal((10 + 12, 48)).astype(np.float32) * 0.3)
        bias = tf.Variable(np.zeros(48, np.float32))
        c = h = tf.zeros([8, 12])
        for t in range(steps):
            z = tf.matmul(tf.concat([tf.constant(x0[t]), h], 1), k) + bias
            i, j, f, o = tf.split(z, 4, axis=1)
            c = c * tf.sigmoid(f) + tf.sigmoid(i) * tf.tanh(j)
            h = tf.tanh(c) * tf.sigmoid(o)
        loss = tf.reduce_sum(h * h)
        grads = tf.gradients(loss, [k, bias])
        return _run(grads, on=on, setup=tf.global_variables_initializer())


def test_unrolled_lstm_gradients_equal_with_the_pass_off():
    (gk, gb), rewrites = _lstm_grads(True)
    (ok, ob), r_off = _lstm_grads(False)
    assert rewrites["sum_of_products"] >= 2 * (6 + 2) and "sum_of_products" not in r_off
    np.testing.assert_allclose(gk, ok, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gb, ob, rtol=1e-5, atol=1e-6)


def test_left_alone_when_a_term_is_fetched_or_too_few_or_a_factor_is_a_variable():
    a = [RNG.standard_normal((3, 4)).astype(np.float32) for _ in range(5)]
    with tf.Graph().as_default():
        cs = [tf.constant(x) * 2.0 for x in a]
        prods = [tf.matmul(x, x, transpose_a=True) for x in cs]
        _, r = _run([tf.add_n(prods), prods[2]])          # a term is fetched
        assert "sum_of_products" not in r
        _, r = _run(tf.add_n(prods[:3]))                   # three terms: below MIN_TERMS
        assert "sum_of_products" not in r
        v = tf.Variable(np.ones((3, 4), np.float32))
        s = tf.add_n([tf.matmul(v.read_value() if hasattr(v, "read_value") else v, x,
                                transpose_a=True) for x in cs])
        got, r = _run(s, setup=tf.global_variables_initializer())
        assert "sum_of_products" not in r
        _close(got, [np.ones((4, 3)) @ (2 * x) for x in a], np.float32)


def test_shape_mismatch_still_raises_the_addn_error():
    with tf.Graph().as_default():
        ph = [tf.placeholder(tf.float32, [None, None]) for _ in range(8)]
        s = tf.add_n([tf.matmul(a, b, transpose_a=True) for a, b in zip(ph[:4], ph[4:])])
        feed = {p: np.ones((2, 3), np.float32) for p in ph}
        feed[ph[7]] = np.ones((2, 5), np.float32)  # the last product is [3, 5]
        with tf.Session(config=_config(True)) as sess:
            with pytest.raises(errors.InvalidArgumentError):
                sess.run(s, feed)
            feed[ph[7]] = np.ones((2, 3), np.float32)
            np.testing.assert_allclose(sess.run(s, feed), np.full((3, 3), 8.0))
            assert sess._last_plan.rewrites["sum_of_products"] == 6
