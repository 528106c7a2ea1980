"""map_fn / scan / foldl / foldr against NumPy: plain and nested structures, reverse,
initializers, dtype changes, static shapes, numerical gradients, and bad input."""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients

RNG = np.random.RandomState(1)
X = RNG.randn(4, 3)


def _run(fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed)


def _np_scan(fn, xs, a=None, reverse=False):
    order = range(len(xs) - 1, -1, -1) if reverse else range(len(xs))
    out = [None] * len(xs)
    for i in order:
        a = xs[i] if a is None else fn(a, xs[i])
        out[i] = a
    return np.stack(out)


# (name, fn of a float64 tensor x [4, 3], NumPy reference)
CASES = [
    ("map_fn", lambda x: tf.map_fn(lambda r: tf.sin(r) * r, x), lambda x: np.sin(x) * x),
    ("map_fn_to_scalar", lambda x: tf.map_fn(lambda r: tf.reduce_sum(r * r), x),
     lambda x: (x * x).sum(1)),
    ("map_fn_nested", lambda x: tf.map_fn(lambda e: e[0] * e[1]["b"], (x, {"b": x * 2.0}),
                                          dtype=tf.float64), lambda x: 2 * x * x),
    ("scan", lambda x: tf.scan(lambda a, r: a * 0.5 + tf.tanh(r), x),
     lambda x: _np_scan(lambda a, r: a * 0.5 + np.tanh(r), x)),
    ("scan_initializer", lambda x: tf.scan(lambda a, r: a * r, x, initializer=tf.ones(
        [3], tf.float64)), lambda x: np.cumprod(x, 0)),
    ("scan_reverse", lambda x: tf.scan(lambda a, r: a + r * r, x, reverse=True),
     lambda x: _np_scan(lambda a, r: a + r * r, x, reverse=True)),
    ("scan_nested_accumulator", lambda x: tf.scan(
        lambda a, r: (a[0] + r, a[1] * tf.reduce_sum(r)), x,
        initializer=(tf.zeros([3], tf.float64), tf.constant(1.0, tf.float64)))[1],
     lambda x: np.cumprod(x.sum(1))),
    ("scan_inside_map_fn", lambda x: tf.map_fn(lambda r: tf.scan(lambda a, e: a * e + 1.0, r), x),
     lambda x: np.stack([_np_scan(lambda a, e: a * e + 1.0, r) for r in x])),
    ("foldl", lambda x: tf.foldl(lambda a, r: a * 0.9 + r * a, x),
     lambda x: _np_scan(lambda a, r: a * 0.9 + r * a, x)[-1]),
    ("foldl_initializer", lambda x: tf.foldl(lambda a, r: a + tf.reduce_sum(r * r), x,
                                             initializer=tf.constant(0.5, tf.float64)),
     lambda x: 0.5 + (x * x).sum()),
    ("foldr", lambda x: tf.foldr(lambda a, r: a * r + 1.0, x),
     lambda x: _np_scan(lambda a, r: a * r + 1.0, x, reverse=True)[0]),
    ("foldr_nested", lambda x: tf.foldr(lambda a, e: a * 2.0 + e[0] - e[1], (x, x * x),
                                        initializer=tf.zeros([3], tf.float64)),
     lambda x: _np_scan(lambda a, e: a * 2 + e, x - x * x, np.zeros(3), reverse=True)[0]),
]


@pytest.mark.parametrize("name,fn,ref", CASES, ids=[c[0] for c in CASES])
def test_values_static_shapes_and_gradients(name, fn, ref):
    x = tf.placeholder(tf.float64, [4, 3])
    y = fn(x)
    got = _run(y, {x: X})
    np.testing.assert_allclose(got, ref(X), rtol=1e-10)
    assert y.dtype == tf.float64 and got.dtype == np.float64
    assert y.shape.as_list() == list(np.shape(ref(X)))
    check_gradients(fn, [X])


def test_integer_and_dtype_changing_functions():
    v = tf.constant([1, 2, 3])
    assert _run(tf.foldl(lambda a, x: a * 10 + x, v)) == 123
    assert _run(tf.foldr(lambda a, x: a * 10 + x, v)) == 321
    np.testing.assert_array_equal(_run(tf.scan(lambda a, x: a + x, v)), [1, 3, 6])
    m = tf.map_fn(lambda x: (tf.cast(x, tf.float32) / 2, x * x), v, dtype=(tf.float32, tf.int32))
    r = _run(m)
    assert r[0].dtype == np.float32 and r[1].dtype == np.int32
    np.testing.assert_array_equal(r[1], [1, 4, 9])


def test_unknown_length_and_shapes():
    x = tf.placeholder(tf.float32, [None, 2])
    m = tf.map_fn(lambda r: r * 2.0, x)
    s = tf.scan(lambda a, r: a + r, x, reverse=True)
    assert m.shape.as_list() == [None, 2] and s.shape.as_list() == [None, 2]
    xv = np.arange(10, dtype=np.float32).reshape(5, 2)
    r = _run([m, s], {x: xv})
    np.testing.assert_allclose(r[0], xv * 2)
    np.testing.assert_allclose(r[1], np.cumsum(xv[::-1], 0)[::-1])


def test_back_prop_false_gives_no_gradient():
    x = tf.placeholder(tf.float32, [3])
    y = tf.map_fn(lambda e: e * e, x, back_prop=False)
    assert tf.gradients(tf.reduce_sum(y), x) == [None]


def test_bad_input():
    x = tf.constant([[1.0, 2.0]])
    with pytest.raises(ValueError, match="structure"):
        tf.map_fn(lambda r: (r, r), x)
    with pytest.raises(TypeError, match="dtype"):
        tf.map_fn(lambda r: tf.cast(r, tf.int32), x)
    with pytest.raises(ValueError, match="same first dimension"):
        tf.map_fn(lambda e: e[0], (x, tf.constant([1.0, 2.0, 3.0])), dtype=tf.float32)
    with pytest.raises(ValueError, match="scalars"):
        tf.scan(lambda a, e: a + e, tf.constant(1.0))
    with pytest.raises(ValueError, match="structure"):
        tf.scan(lambda a, e: (a, e), x, initializer=tf.zeros([2]))
    with pytest.raises(TypeError, match="callable"):
        tf.foldl(1, x)
