"""tf.contrib.seq2seq pieces against NumPy."""
import numpy as np

import tfnb as tf


def test_tile_batch_repeats_each_entry_consecutively():
    x = np.arange(24, dtype=np.float32).reshape(3, 2, 4)
    s = np.array([5, 6, 7], np.int32)
    out = tf.contrib.seq2seq.tile_batch({"x": tf.constant(x), "s": tf.constant(s)}, 2)
    assert out["x"].get_shape().as_list() == [6, 2, 4]
    with tf.Session() as sess:
        got = sess.run(out)
    np.testing.assert_array_equal(got["x"], np.repeat(x, 2, axis=0))
    np.testing.assert_array_equal(got["s"], [5, 5, 6, 6, 7, 7])


def test_tile_batch_unknown_batch_keeps_the_static_rest():
    p = tf.placeholder(tf.float32, [None, 3])
    out = tf.contrib.seq2seq.tile_batch(p, 3)
    assert out.get_shape().as_list() == [None, 3]
    with tf.Session() as sess:
        got = sess.run(out, {p: np.eye(2, 3, dtype=np.float32)})
    np.testing.assert_array_equal(got, np.repeat(np.eye(2, 3), 3, axis=0))
