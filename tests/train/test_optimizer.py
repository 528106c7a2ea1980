"""Optimizer base + gradient descent: minimize, compute/apply_gradients, global_step, errors."""
import numpy as np
import pytest

import tfnb as tf


def test_gradient_descent_matches_numpy():
    rng = np.random.RandomState(0)
    x_np = rng.randn(8, 3).astype(np.float32)
    y_np = rng.randn(8, 1).astype(np.float32)
    w0 = rng.randn(3, 1).astype(np.float32)
    x = tf.placeholder(tf.float32, [None, 3])
    y = tf.placeholder(tf.float32, [None, 1])
    w = tf.Variable(w0)
    loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
    step = tf.Variable(0, trainable=False)
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
    w_ref = w0.astype(np.float64)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(5):
            sess.run(train, {x: x_np, y: y_np})
            grad = 2 * x_np.T @ (x_np @ w_ref - y_np) / len(x_np)
            w_ref = w_ref - 0.1 * grad
        np.testing.assert_allclose(sess.run(w), w_ref, rtol=1e-5)
        assert sess.run(step) == 5


def test_compute_and_apply_gradients_with_var_list():
    a = tf.Variable(1.0)
    b = tf.Variable(1.0)
    loss = a * a + 3.0 * b
    opt = tf.train.GradientDescentOptimizer(0.5)
    gv = opt.compute_gradients(loss, var_list=[b])
    assert [v for _, v in gv] == [b]
    train = opt.apply_gradients(gv)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        assert sess.run([a, b]) == [1.0, -0.5]


def test_learning_rate_tensor_and_errors():
    v = tf.Variable(2.0)
    lr = tf.placeholder(tf.float32, [])
    train = tf.train.GradientDescentOptimizer(lr).minimize(v * v)
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run(train, {lr: 0.25})
        assert sess.run(v) == 1.0
    c = tf.constant(1.0)
    with pytest.raises(ValueError, match="No variables to optimize|No gradients"):
        tf.train.GradientDescentOptimizer(0.1).minimize(c * 2.0, var_list=[])
    unrelated = tf.Variable(1.0)
    with pytest.raises(ValueError, match="No gradients provided"):
        tf.train.GradientDescentOptimizer(0.1).minimize(c * 2.0, var_list=[unrelated])
    with pytest.raises(TypeError, match="string"):
        tf.train.GradientDescentOptimizer(tf.constant("x")).minimize(v * v)
