"""clip_by_norm, global_norm, clip_by_global_norm, clip_by_average_norm: values, dtypes, grads."""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients, run_op

RNG = np.random.RandomState(0)
X = RNG.randn(3, 4)
Y = RNG.randn(5)


def _np_clip_by_norm(t, c, axes=None):
    norm = np.sqrt(np.sum(t * t, axis=None if axes is None else tuple(axes), keepdims=True))
    return t * c / np.maximum(norm, c)


def _np_clip_by_global_norm(ts, c):
    norm = np.sqrt(sum(np.sum(t * t) for t in ts))
    return [t * c / max(norm, c) for t in ts], norm


def _np_clip_by_average_norm(t, c):
    return t * c / max(np.sqrt(np.sum(t * t)) / t.size, c)


# id, fn of tensors, NumPy reference, inputs
ROWS = [
    ("clip_by_norm_clipped", lambda t: tf.clip_by_norm(t, 1.5), lambda t: _np_clip_by_norm(t, 1.5),
     [X]),
    ("clip_by_norm_unclipped", lambda t: tf.clip_by_norm(t, 10.0),
     lambda t: _np_clip_by_norm(t, 10.0), [X]),
    ("clip_by_norm_rows", lambda t: tf.clip_by_norm(t, 1.0, axes=[1]),
     lambda t: _np_clip_by_norm(t, 1.0, [1]), [X]),
    ("clip_by_norm_cols", lambda t: tf.clip_by_norm(t, 0.8, axes=[0]),
     lambda t: _np_clip_by_norm(t, 0.8, [0]), [X]),
    ("global_norm", lambda a, b: tf.global_norm([a, None, b]),
     lambda a, b: np.sqrt(np.sum(a * a) + np.sum(b * b)), [X, Y]),
    ("clip_by_global_norm_first", lambda a, b: tf.clip_by_global_norm([a, b], 2.0)[0][0],
     lambda a, b: _np_clip_by_global_norm([a, b], 2.0)[0][0], [X, Y]),
    ("clip_by_global_norm_second", lambda a, b: tf.clip_by_global_norm([a, b], 2.0)[0][1],
     lambda a, b: _np_clip_by_global_norm([a, b], 2.0)[0][1], [X, Y]),
    ("clip_by_average_norm", lambda t: tf.clip_by_average_norm(t, 0.1),
     lambda t: _np_clip_by_average_norm(t, 0.1), [X]),
    ("clip_by_average_norm_unclipped", lambda t: tf.clip_by_average_norm(t, 5.0),
     lambda t: _np_clip_by_average_norm(t, 5.0), [X]),
]
IDS = [r[0] for r in ROWS]


@pytest.mark.parametrize("name,fn,ref,inputs", ROWS, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_and_dtype(name, fn, ref, inputs, dtype):
    value, t = run_op(fn, [x.astype(dtype) for x in inputs])
    assert value.dtype == dtype and t.dtype.np == dtype
    assert t.shape.as_list() == list(np.shape(ref(*inputs)))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(value, ref(*inputs), rtol=tol, atol=tol)


@pytest.mark.parametrize("name,fn,ref,inputs", ROWS, ids=IDS)
def test_gradients(name, fn, ref, inputs):
    check_gradients(fn, inputs)


def test_zero_tensor_has_finite_gradient():
    x = tf.zeros([3])
    y = tf.clip_by_norm(x, 1.0)
    g, = tf.gradients(tf.reduce_sum(y), x)
    with tf.Session() as sess:
        y_v, g_v = sess.run([y, g])
    np.testing.assert_array_equal(y_v, np.zeros(3))
    np.testing.assert_allclose(g_v, np.ones(3))


def test_indexed_slices_stay_sparse():
    values = tf.constant([[3.0, 4.0], [0.0, 0.0]])
    sl = tf.IndexedSlices(values, tf.constant([2, 0]), tf.constant([4, 2]))
    clipped = tf.clip_by_norm(sl, 2.5)
    assert isinstance(clipped, tf.IndexedSlices) and clipped.indices is sl.indices
    dense = tf.constant([0.0, 12.0])
    (c_sl, none, c_dense), norm = tf.clip_by_global_norm([sl, None, dense], 6.5)
    assert none is None and isinstance(c_sl, tf.IndexedSlices)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(clipped.values), [[1.5, 2.0], [0.0, 0.0]])
        np.testing.assert_allclose(sess.run(norm), 13.0)
        np.testing.assert_allclose(sess.run(tf.global_norm([sl, dense])), 13.0)
        np.testing.assert_allclose(sess.run(c_sl.values), [[1.5, 2.0], [0.0, 0.0]])
        np.testing.assert_allclose(sess.run(c_dense), [0.0, 6.0])


def test_clip_by_global_norm_use_norm_and_non_finite():
    a = tf.constant([1.0, 1.0])
    (c,), n = tf.clip_by_global_norm([a], 1.0, use_norm=tf.constant(4.0))
    (inf_c,), _ = tf.clip_by_global_norm([tf.constant([1.0, np.inf])], 1.0)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(c), [0.25, 0.25])
        assert sess.run(n) == 4.0
        assert np.isnan(sess.run(inf_c)).all()


def test_clip_by_global_norm_gradient_through_list():
    check_gradients(lambda a, b: tf.add_n([tf.reduce_sum(t * t) for t in
                                           tf.clip_by_global_norm([a, b], 1.0)[0]]), [X, Y])


def test_errors():
    with pytest.raises(TypeError, match="t_list should be a sequence"):
        tf.global_norm(tf.constant([1.0]))
    with pytest.raises(TypeError, match="t_list should be a sequence"):
        tf.clip_by_global_norm("abc", 1.0)
    with pytest.raises(ValueError, match="at least one tensor"):
        tf.global_norm([None])


def test_names():
    t = tf.constant([1.0])
    assert tf.clip_by_norm(t, 1.0).op.name == "clip_by_norm"
    assert tf.global_norm([t]).op.name == "global_norm/global_norm"
    assert tf.clip_by_average_norm(t, 1.0).op.name == "clip_by_average_norm"
    clipped, norm = tf.clip_by_global_norm([t, t], 1.0, name="gclip")
    assert norm.op.name == "gclip/global_norm"
    assert [c.op.name for c in clipped] == ["gclip_1/gclip_1/_0", "gclip_1/gclip_1/_1"]
