"""tf.scatter_* and Variable.scatter_*: row updates of a variable, against NumPy."""
import numpy as np
import pytest

import tfnb as tf


def _numpy_scatter(kind, params, indices, updates):
    """The reference: each (index, update row) applied in order."""
    out = params.copy()
    flat = np.asarray(indices).reshape(-1)
    rows = np.broadcast_to(updates, np.shape(indices) + params.shape[1:]).reshape(
        (flat.size,) + params.shape[1:])
    for i, u in zip(flat, rows):
        if kind == "update":
            out[i] = u
        elif kind == "add":
            out[i] += u
        elif kind == "sub":
            out[i] -= u
        elif kind == "mul":
            out[i] *= u
        elif kind == "div":
            out[i] = np.trunc(out[i] / u) if out.dtype.kind == "i" else out[i] / u
        elif kind == "min":
            out[i] = np.minimum(out[i], u)
        else:
            out[i] = np.maximum(out[i], u)
    return out


KINDS = ["update", "add", "sub", "mul", "div", "min", "max"]


@pytest.mark.parametrize("kind", KINDS)
def test_scatter_matches_numpy(kind):
    rng = np.random.RandomState(0)
    params = rng.uniform(1, 2, (5, 3)).astype(np.float32)
    indices = np.array([[4, 0], [2, 0]], np.int32)  # 2-D, with a repeated row
    updates = rng.uniform(1, 2, (2, 2, 3)).astype(np.float32)
    if kind == "update":
        indices = np.array([[4, 0], [2, 1]], np.int32)  # which duplicate wins is unspecified
    v = tf.Variable(params)
    out = getattr(tf, "scatter_" + kind)(v, indices, updates)
    scalar = getattr(tf, "scatter_" + kind)(v, [3], 1.5)  # a scalar update applies to each row
    with tf.Session() as sess:
        sess.run(v.initializer)
        want = _numpy_scatter(kind, params, indices, updates)
        np.testing.assert_allclose(sess.run(out), want, rtol=1e-6)
        np.testing.assert_allclose(sess.run(v), want, rtol=1e-6)
        want = _numpy_scatter(kind, want, [3], np.float32(1.5))
        np.testing.assert_allclose(sess.run(scalar), want, rtol=1e-6)


def test_variable_methods_take_indexed_slices():
    v = tf.Variable(np.zeros((3, 2), np.float32))
    delta = tf.IndexedSlices(tf.constant([[1.0, 2.0], [3.0, 4.0]]), tf.constant([2, 2]))
    add = v.scatter_add(delta)
    upd = v.scatter_update(tf.IndexedSlices(tf.constant([[7.0, 7.0]]), tf.constant([0])))
    with tf.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(add), [[0, 0], [0, 0], [4, 6]])
        np.testing.assert_array_equal(sess.run(upd), [[7, 7], [0, 0], [4, 6]])
    with pytest.raises(TypeError, match="IndexedSlices"):
        v.scatter_add(tf.constant([[1.0, 2.0]]))


def test_integer_division_rounds_toward_zero_and_rejects_zero():
    v = tf.Variable(np.array([[7], [-7], [9]], np.int32))
    div = tf.scatter_div(v, [0, 1, 1, 2], [[2], [2], [-1], [-4]])
    by_zero = tf.scatter_div(v, [2], [[0]])
    with tf.Session() as sess:
        sess.run(v.initializer)
        np.testing.assert_array_equal(sess.run(div), [[3], [3], [-2]])
        with pytest.raises(tf.errors.InvalidArgumentError, match="Integer division by zero"):
            sess.run(by_zero)
        np.testing.assert_array_equal(sess.run(v), [[3], [3], [-2]])


def test_bad_indices_and_shapes():
    v = tf.Variable(np.zeros((4, 2), np.float32), name="table")
    with pytest.raises(ValueError, match="updates.shape"):
        tf.scatter_add(v, [0, 1], np.ones((2, 3), np.float32))
    with pytest.raises(TypeError, match="indices"):
        tf.scatter_add(v, [0.5], np.ones((1, 2), np.float32))
    with pytest.raises(ValueError, match="float64"):  # as TF1: no implicit conversion
        tf.scatter_add(v, [0], tf.ones([1, 2], tf.float64))
    with pytest.raises(ValueError, match="at least 1-D"):
        tf.scatter_add(tf.Variable(1.0), [0], 1.0)
    idx = tf.placeholder(tf.int32, [None])
    upd = tf.placeholder(tf.float32, [None, None])
    op = tf.scatter_sub(v, idx, upd)
    with tf.Session() as sess:
        sess.run(v.initializer)
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"(?s)indices\[1\] = 4 is not in \[0, 4\).*ResourceScatterSub"):
            sess.run(op, {idx: [1, 4], upd: np.ones((2, 2))})
        with pytest.raises(tf.errors.InvalidArgumentError, match="updates.shape"):
            sess.run(op, {idx: [1], upd: np.ones((1, 3))})
        np.testing.assert_array_equal(sess.run(v), np.zeros((4, 2)))  # unchanged


def test_a_failed_step_undoes_its_row_updates():
    v = tf.Variable(np.zeros((3, 2), np.float32))
    x = tf.placeholder(tf.float32, [])
    add = tf.scatter_add(v, [1], [[1.0, 1.0]])
    with tf.control_dependencies([add]):
        check = tf.check_numerics(x, "bad x")
    with tf.Session() as sess:
        sess.run(v.initializer)
        sess.run(check, {x: 1.0})
        with pytest.raises(tf.errors.InvalidArgumentError, match="bad x"):
            sess.run(check, {x: np.nan})
        np.testing.assert_array_equal(sess.run(v), [[0, 0], [1, 1], [0, 0]])
