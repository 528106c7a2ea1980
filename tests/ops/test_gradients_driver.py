"""The gradients driver: fan-out sums, broadcasting, None for unconnected, stop_gradient,
grad_ys, second order, hessians, IndexedSlices."""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients


def test_unconnected_is_none_and_zero_option():
    x = tf.placeholder(tf.float32, [2])
    u = tf.Variable(1.0)
    y = tf.reduce_sum(x * x)
    assert tf.gradients(y, u) == [None]
    (z,) = tf.gradients(y, u, unconnected_gradients="zero")
    with tf.Session() as sess:
        sess.run(u.initializer)
        assert sess.run(z) == 0.0


def test_fan_out_and_broadcast_sums():
    check_gradients(lambda x, b: x * x + tf.sin(x) * x + b, [np.random.randn(3, 4), np.random.randn(4)])
    check_gradients(lambda x, s: s * x - x / (s + 3.0), [np.random.randn(2, 3), np.array(0.7)])
    check_gradients(lambda a, b: a - b, [np.random.randn(4, 1), np.random.randn(3)])


def test_unknown_batch_broadcast_gradient_sums_at_run_time():
    x = tf.placeholder(tf.float32, [None, 3])
    b = tf.Variable(np.zeros(3, np.float32))
    (gb,) = tf.gradients(tf.reduce_sum(x + b), b)
    with tf.Session() as sess:
        sess.run(b.initializer)
        np.testing.assert_allclose(sess.run(gb, {x: np.ones((5, 3))}), [5.0, 5.0, 5.0])


def test_stop_gradient_and_stop_gradients_argument():
    x = tf.constant(3.0)
    y = tf.stop_gradient(x * x) + x
    (g,) = tf.gradients(y, x)
    a = tf.constant(2.0)
    b = a * a
    c = b * a
    (ga,) = tf.gradients(c, a, stop_gradients=[b])
    with tf.Session() as sess:
        assert sess.run(g) == 1.0
        assert sess.run(ga) == 4.0  # d(b*a)/da with b constant


def test_grad_ys_and_list_of_ys():
    x = tf.constant([1.0, 2.0])
    y = x * 3.0
    (g,) = tf.gradients(y, x, grad_ys=tf.constant([10.0, 100.0]))
    (g2,) = tf.gradients([y, tf.reduce_sum(x)], x)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(g), [30.0, 300.0])
        np.testing.assert_allclose(sess.run(g2), [4.0, 4.0])


def test_second_derivatives_of_elementwise_and_matmul_chains():
    check_gradients(lambda a, b: tf.tanh(tf.matmul(a, b)) * tf.exp(-tf.square(tf.matmul(a, b))),
                    [np.random.randn(3, 4), np.random.randn(4, 2)], order=2)
    check_gradients(lambda x: tf.sigmoid(x) * tf.log(1.0 + x * x), [np.random.randn(5)], order=2)


def test_hessians_small():
    x = tf.placeholder(tf.float64, [3])
    a = np.random.RandomState(0).randn(3, 3)
    A = tf.constant(a + a.T)
    y = 0.5 * tf.reduce_sum(x * tf.reshape(tf.matmul(A, tf.reshape(x, [3, 1])), [3]))
    (h,) = tf.hessians(y, x)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(h, {x: [1.0, 2.0, 3.0]}), a + a.T, rtol=1e-10)


def test_variable_gradient_sums_over_all_reads():
    v = tf.Variable(2.0)
    y = v * v + v  # three separate reads of v
    (g,) = tf.gradients(y, v)
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(g) == 5.0


def test_no_gradient_registered_raises_lookup_error():
    x = tf.constant([1.0, 2.0])
    y = tf.cast(tf.argmax(x), tf.float32) * x
    (g,) = tf.gradients(y, x)  # argmax is explicitly not differentiable: only the product path
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(g), [1.0, 1.0])
    assert tf.gradients(tf.argmax(x), x) == [None]  # integer ys give no gradient, as TF1
