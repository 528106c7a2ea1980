"""tensor_scatter_update/add/sub and scatter_nd_update/add/sub on variables, against NumPy
loops; gradients; out-of-range indices are InvalidArgumentError and change nothing."""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients
from tfnb.framework import errors

R = np.random.RandomState(9)


def _np_scatter(kind, target, indices, updates):
    res = target.copy()
    k = indices.shape[-1]
    for idx, upd in zip(indices.reshape(-1, k), updates.reshape((-1,) + target.shape[k:])):
        where = tuple(idx)
        if kind == "update":
            res[where] = upd
        elif kind == "add":
            res[where] += upd
        else:
            res[where] -= upd
    return res


CASES = [((5,), np.array([[1], [3]]), (2,)),
         ((3, 4), np.array([[2, 1], [0, 3], [2, 1]]), (3,)),   # duplicates
         ((3, 4, 2), np.array([[[1], [2]]]), (1, 2, 4, 2))]


@pytest.mark.parametrize("kind", ["update", "add", "sub"])
@pytest.mark.parametrize("shape, indices, ushape", CASES)
def test_tensor_scatter(kind, shape, indices, ushape):
    t = R.randn(*shape)
    u = R.randn(*ushape)
    fn = getattr(tf, "tensor_scatter_" + kind)
    got = tf.Session().run(fn(t, indices, u))
    if kind == "update" and len(indices.reshape(-1, indices.shape[-1])) != len(
            {tuple(r) for r in indices.reshape(-1, indices.shape[-1])}):
        # Duplicate indices: one of the updates wins (TF1 leaves which one unspecified).
        assert got[2, 1] in (u[0], u[2])
        got[2, 1] = u[2]
    np.testing.assert_allclose(got, _np_scatter(kind, t, indices, u))
    assert getattr(tf, "tensor_scatter_nd_" + kind) is fn


@pytest.mark.parametrize("kind", ["add", "sub", "update"])
def test_tensor_scatter_gradients(kind):
    idx = np.array([[2, 1], [0, 3]])
    fn = getattr(tf, "tensor_scatter_" + kind)
    check_gradients(lambda t, u: fn(t, idx, u), [R.randn(3, 4), R.randn(2)])


def test_tensor_scatter_errors():
    with pytest.raises(ValueError, match="updates must have shape"):
        tf.tensor_scatter_update(tf.zeros([3, 4]), [[0], [1]], tf.zeros([2, 3]))
    bad = tf.placeholder_with_default(np.array([[0, 4]]), [1, 2])
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"indices\[0\] = \[0, 4\] does not index into shape \[3, 4\]"):
        tf.Session().run(tf.tensor_scatter_add(tf.zeros([3, 4]), bad, [1.0]))


@pytest.mark.parametrize("kind", ["update", "add", "sub"])
def test_scatter_nd_on_variables(kind):
    init = R.randn(3, 4, 2)
    idx = np.array([[2, 1], [0, 3], [2, 2]])
    upd = R.randn(3, 2)
    v = tf.Variable(init)
    op = getattr(tf, "scatter_nd_" + kind)(v, idx, upd)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run(op), _np_scatter(kind, init, idx, upd))
        np.testing.assert_allclose(sess.run(v), _np_scatter(kind, init, idx, upd))


def test_scatter_nd_add_duplicates_and_bad_index_leaves_variable_unchanged():
    v = tf.Variable(np.zeros(4))
    add = tf.scatter_nd_add(v, [[1], [1], [3]], [1.0, 2.0, 5.0])
    bad = tf.scatter_nd_update(v, tf.placeholder_with_default([[1], [4]], [2, 1]), [7.0, 8.0])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(add).tolist() == [0.0, 3.0, 0.0, 5.0]
        with pytest.raises(errors.InvalidArgumentError, match="does not index into shape"):
            sess.run(bad)
        assert sess.run(v).tolist() == [0.0, 3.0, 0.0, 5.0]
    with pytest.raises(TypeError, match="dtype"):
        tf.scatter_nd_update(tf.Variable([1, 2]), [[0]], tf.constant([1.0]))
