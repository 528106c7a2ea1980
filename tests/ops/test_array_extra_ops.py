"""repeat, batch_gather, parallel_stack, ensure_shape, broadcast_static/dynamic_shape and the
static-shape utilities, against NumPy; gradients through repeat and batch_gather."""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients
from tfnb.framework import errors

R = np.random.RandomState(2)


def _run(t, feed=None):
    with tf.Session() as sess:
        return sess.run(t, feed)


@pytest.mark.parametrize("shape, repeats, axis", [
    ((3,), 2, None), ((2, 3), [1, 0, 3], 1), ((2, 3), 3, 0), ((2, 2, 2), [2, 1], -1),
    ((0, 2), 2, 0)])
def test_repeat(shape, repeats, axis):
    x = R.randn(*shape)
    np.testing.assert_array_equal(_run(tf.repeat(x, repeats, axis=axis)),
                                  np.repeat(x, repeats, axis=axis))
    if x.size:
        check_gradients(lambda t: tf.repeat(t, repeats, axis=axis), [x])


def test_repeat_with_a_tensor_count():
    n = tf.placeholder(tf.int32, [])
    assert _run(tf.repeat([1, 2], n), {n: 3}).tolist() == [1, 1, 1, 2, 2, 2]


def test_batch_gather():
    p = R.randn(2, 3, 5, 4)
    idx = R.randint(0, 5, (2, 3, 6))
    want = np.take_along_axis(p, idx[..., None], axis=2)
    got = _run(tf.batch_gather(p, idx))
    np.testing.assert_array_equal(got, want)
    assert _run(tf.batch_gather([5, 6, 7], [2, 0])).tolist() == [7, 5]
    check_gradients(lambda t: tf.batch_gather(t, idx), [p])
    with pytest.raises(ValueError, match="batch dims"):
        tf.batch_gather(tf.zeros([2, 5]), tf.zeros([3, 1], tf.int32))


def test_parallel_stack_and_ensure_shape():
    assert _run(tf.parallel_stack([[1, 2], [3, 4]])).tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match="fully defined"):
        tf.parallel_stack([tf.placeholder(tf.float32, [None])])
    x = tf.placeholder(tf.float32, [None, None])
    y = tf.ensure_shape(x, [None, 3])
    assert y.shape.as_list() == [None, 3]
    assert _run(y, {x: np.ones((2, 3))}).shape == (2, 3)
    with pytest.raises(errors.InvalidArgumentError, match="not compatible with expected shape"):
        _run(y, {x: np.ones((2, 2))})
    with pytest.raises(ValueError, match="not compatible"):
        tf.ensure_shape(tf.zeros([2, 2]), [3, 2])
    g = tf.gradients(tf.reduce_sum(tf.ensure_shape(x, [None, 3]) * 2.0), x)[0]
    assert _run(g, {x: np.ones((1, 3))}).tolist() == [[2.0, 2.0, 2.0]]


def test_broadcast_shapes_and_static_utilities():
    assert tf.broadcast_static_shape(tf.TensorShape([None, 1, 3]),
                                     tf.TensorShape([4, 1])).as_list() == [None, 4, 3]
    with pytest.raises(ValueError):
        tf.broadcast_static_shape(tf.TensorShape([2]), tf.TensorShape([3]))
    assert _run(tf.broadcast_dynamic_shape([2, 1, 3], [4, 1])).tolist() == [2, 4, 3]
    bad = tf.broadcast_dynamic_shape(tf.placeholder_with_default([2, 3], [2]), [4])
    with pytest.raises(errors.InvalidArgumentError, match="Incompatible shapes"):
        _run(bad)
    s = tf.TensorShape([3, None])
    assert tf.dimension_value(s[0]) == 3 and tf.dimension_value(s[1]) is None
    assert tf.dimension_value(5) == 5
    assert tf.dimension_at_index(s, 0).value == 3
    assert tf.dimension_at_index(tf.TensorShape(None), 4).value is None
    assert tf.get_static_value(tf.constant([1, 2]) * 2).tolist() == [2, 4]
    assert tf.get_static_value(tf.placeholder(tf.float32)) is None
