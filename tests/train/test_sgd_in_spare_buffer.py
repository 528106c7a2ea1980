"""The dense SGD update of a large variable reuses the variable's previous buffer: the same bits
as ``var - lr * grad``, and values fetched earlier are never overwritten."""
import numpy as np

import tfnb as tf
from tfnb.train import optimizer


def test_large_sgd_update_is_exact_and_keeps_fetched_values():
    rng = np.random.default_rng(0)
    shape = (300, 400)
    assert np.prod(shape) >= optimizer._GD_IN_SPARE_ELEMENTS
    w0 = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    v = tf.Variable(w0)
    step = tf.train.GradientDescentOptimizer(0.37).apply_gradients([(tf.constant(g), v)])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        ref, held = w0.copy(), []
        for _ in range(6):
            sess.run(step)
            ref = ref - np.float32(0.37) * g
            got = sess.run(v)
            assert np.array_equal(got, ref)
            held.append((got, ref.copy()))
        for got, want in held:   # every earlier fetch still holds its own step's value
            assert np.array_equal(got, want)
