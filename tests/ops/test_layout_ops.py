"""space_to_depth/depth_to_space, space_to_batch(_nd)/batch_to_space(_nd) and roll against
NumPy references written element by element, finite-difference gradients, typed errors."""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients, eval_kernels
from tfnb.framework import errors

R = np.random.RandomState(3)


def _run(t):
    with tf.Session() as sess:
        return sess.run(t)


def _np_space_to_depth(x, bs):
    b, h, w, c = x.shape
    out = np.zeros((b, h // bs, w // bs, bs * bs * c), x.dtype)
    for i in range(h):
        for j in range(w):
            block = (i % bs) * bs + j % bs
            out[:, i // bs, j // bs, block * c:(block + 1) * c] = x[:, i, j, :]
    return out


def _np_space_to_batch(x, block, pads):
    m = len(block)
    x = np.pad(x, [(0, 0)] + [tuple(p) for p in pads] + [(0, 0)] * (x.ndim - m - 1))
    batch = x.shape[0]
    out_spatial = [d // b for d, b in zip(x.shape[1:m + 1], block)]
    out = np.zeros((batch * int(np.prod(block)),) + tuple(out_spatial) + x.shape[m + 1:],
                   x.dtype)
    for pos in np.ndindex(*x.shape[:m + 1]):
        n, sp = pos[0], pos[1:]
        offs = [s % b for s, b in zip(sp, block)]
        flat_off = 0
        for o, b in zip(offs, block):
            flat_off = flat_off * b + o
        out[(flat_off * batch + n,) + tuple(s // b for s, b in zip(sp, block))] = x[pos]
    return out


@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
def test_space_to_depth_and_back(fmt):
    x = R.randn(2, 4, 6, 3)
    want = _np_space_to_depth(x, 2)
    # C order: tests/gradcheck.py perturbs inputs through reshape(-1) views.
    inp = x if fmt == "NHWC" else np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    y = tf.space_to_depth(inp, 2, data_format=fmt)
    got = _run(y)
    if fmt == "NCHW":
        got = got.transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(got, want)
    assert y.shape.as_list() == list(_run(y).shape)
    np.testing.assert_array_equal(_run(tf.depth_to_space(y, 2, data_format=fmt)), inp)
    assert tf.nn.depth_to_space is tf.depth_to_space
    check_gradients(lambda t: tf.space_to_depth(t, 2, data_format=fmt), [inp])
    check_gradients(lambda t: tf.depth_to_space(t, 2, data_format=fmt), [_run(y)])


def test_space_to_depth_kernels_on_every_backend(backend):
    x = R.randn(1, 4, 4, 2)
    np.testing.assert_array_equal(eval_kernels(tf.space_to_depth(tf.constant(x), 2), backend),
                                  _np_space_to_depth(x, 2))


def test_space_to_depth_errors():
    with pytest.raises(ValueError, match="not divisible by block_size"):
        tf.space_to_depth(tf.zeros([1, 5, 4, 1]), 2)
    with pytest.raises(ValueError, match="divisible by block_size"):
        tf.depth_to_space(tf.zeros([1, 2, 2, 3]), 2)
    x = tf.placeholder_with_default(np.zeros((1, 5, 4, 1)), [None, None, None, 1])
    with pytest.raises(errors.InvalidArgumentError, match="should be divisible by block_size"):
        _run(tf.space_to_depth(x, 2))


@pytest.mark.parametrize("shape, block, pads", [
    ((2, 4, 6, 3), [2, 3], [[0, 0], [0, 0]]),
    ((1, 3, 5, 2), [2, 2], [[1, 0], [0, 1]]),
    ((3, 5, 2), [3], [[2, 2]])])
def test_space_to_batch_nd_and_back(shape, block, pads):
    x = R.randn(*shape)
    y = tf.space_to_batch_nd(x, block, pads)
    got = _run(y)
    np.testing.assert_array_equal(got, _np_space_to_batch(x, block, pads))
    assert y.shape.as_list() == list(got.shape)
    np.testing.assert_array_equal(_run(tf.batch_to_space_nd(got, block, pads)), x)
    check_gradients(lambda t: tf.space_to_batch_nd(t, block, pads), [x])
    check_gradients(lambda t: tf.batch_to_space_nd(t, block, pads), [got])


def test_space_to_batch_4d_forms():
    x = R.randn(1, 4, 4, 1)
    y = _run(tf.space_to_batch(x, [[0, 0], [0, 0]], block_size=2))
    np.testing.assert_array_equal(y, _np_space_to_batch(x, [2, 2], [[0, 0], [0, 0]]))
    np.testing.assert_array_equal(_run(tf.batch_to_space(y, [[0, 0], [0, 0]], 2)), x)
    assert _run(tf.nn.space_to_batch(x, [[0, 0], [0, 0]], 2)).shape == (4, 2, 2, 1)
    # TF1's documented example: batch blocks in row-major block order.
    x = np.arange(1, 17, dtype=np.float32).reshape(1, 4, 4, 1)
    got = _run(tf.space_to_batch_nd(x, [2, 2], [[0, 0], [0, 0]]))
    assert got[:, :, :, 0].tolist() == [[[1, 3], [9, 11]], [[2, 4], [10, 12]],
                                        [[5, 7], [13, 15]], [[6, 8], [14, 16]]]


def test_space_to_batch_errors():
    with pytest.raises(ValueError, match="must be divisible by block_shape"):
        tf.space_to_batch_nd(tf.zeros([1, 5, 4, 1]), [2, 2], [[0, 0], [0, 0]])
    with pytest.raises(ValueError, match="non-negative"):
        tf.space_to_batch_nd(tf.zeros([1, 4, 4, 1]), [2, 2], [[-1, 1], [0, 0]])
    with pytest.raises(ValueError, match="not divisible by the product"):
        tf.batch_to_space_nd(tf.zeros([3, 2, 2, 1]), [2, 2], [[0, 0], [0, 0]])
    crops = tf.placeholder_with_default(np.array([[0, 9], [0, 0]], np.int32), [2, 2])
    with pytest.raises(errors.InvalidArgumentError, match="crops"):
        _run(tf.batch_to_space_nd(tf.zeros([4, 2, 2, 1]), [2, 2], crops))


def test_roll():
    x = np.arange(24).reshape(2, 3, 4)
    assert _run(tf.roll([0, 1, 2, 3, 4], shift=2, axis=0)).tolist() == [3, 4, 0, 1, 2]
    np.testing.assert_array_equal(_run(tf.roll(x, [1, -5], [0, 2])),
                                  np.roll(x, [1, -5], axis=[0, 2]))
    np.testing.assert_array_equal(_run(tf.roll(x, [1, 1], [1, 1])), np.roll(x, 2, axis=1))
    assert tf.manip.roll is tf.roll
    check_gradients(lambda t: tf.roll(t, [2, -1], [0, 1]), [R.randn(3, 4)])
    with pytest.raises(ValueError, match="out of range"):
        tf.roll(tf.zeros([2, 2]), 1, 2)
    with pytest.raises(ValueError, match="same size"):
        tf.roll(tf.zeros([2, 2]), [1, 2], [0])
