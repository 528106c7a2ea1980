"""Digamma, Polygamma and Zeta: NumPy-only kernels against scipy.special, and their gradients.

SciPy is a dev dependency only; the kernels must not need it. The second derivative of
``lgamma`` goes through Digamma's gradient (``polygamma(1, x)``), so it is checked too.
"""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients

special = pytest.importorskip("scipy.special")

R = np.random.RandomState(77)
# Away from the poles at non-positive integers, both signs, tiny and huge magnitudes.
X = np.concatenate([R.uniform(-12.0, 30.0, 300), [1e-9, 1e-3, 0.5, 1.4616321449683622, 9.999,
                                                  10.0, 1e5, 1e12, -0.5, -3.25, -1e6 - 0.3]])


def _run(t):
    with tf.Session() as sess:
        return sess.run(t)


def _assert_close(got, want, rtol):
    finite = np.isfinite(want)
    np.testing.assert_array_equal(np.isfinite(got), finite)
    err = np.abs(got[finite] - want[finite]) / np.maximum(np.abs(want[finite]), 1.0)
    assert err.max() < rtol, err.max()


def test_digamma_float64_matches_scipy():
    _assert_close(_run(tf.digamma(tf.constant(X))), special.digamma(X), 1e-10)


def test_digamma_float32_is_float32():
    x = X.astype(np.float32)
    got = _run(tf.digamma(tf.constant(x)))
    assert got.dtype == np.float32
    _assert_close(got.astype(np.float64), special.digamma(x.astype(np.float64)), 1e-5)


@pytest.mark.parametrize("n", [1, 2, 3, 6, 12])
def test_polygamma_matches_scipy(n):
    x = X[X > -12.0]
    got = _run(tf.polygamma(tf.constant(np.full_like(x, n)), tf.constant(x)))
    want = special.polygamma(n, x)
    finite = np.isfinite(want)
    rel = np.abs(got[finite] - want[finite]) / np.abs(want[finite])
    assert rel.max() < 1e-10, rel.max()


def test_polygamma_zero_is_digamma_and_non_whole_order_is_nan():
    x = np.array([0.3, 2.0, -1.5])
    got = _run(tf.polygamma(tf.constant([0.0, 0.0, 0.0], tf.float64), tf.constant(x)))
    np.testing.assert_allclose(got, special.digamma(x), rtol=1e-12)
    assert np.isnan(_run(tf.polygamma(tf.constant([1.5, -1.0]), tf.constant([2.0, 2.0])))).all()


@pytest.mark.parametrize("s", [1.001, 1.5, 2.0, 3.3, 7.0, 25.0])
def test_zeta_matches_scipy(s):
    q = np.concatenate([R.uniform(1e-3, 60.0, 200), [1e-6, 9.5, 10.0, 1e4, 1e7]])
    got = _run(tf.zeta(tf.constant(np.full_like(q, s)), tf.constant(q)))
    want = special.zeta(s, q)
    rel = np.abs(got - want) / np.abs(want)
    assert rel.max() < 1e-10, rel.max()


def test_zeta_negative_q_with_whole_s_matches_scipy():
    q = np.array([-0.5, -2.25, -7.75, -30.1])
    for s in (2.0, 3.0, 6.0):
        got = _run(tf.zeta(tf.constant(np.full_like(q, s)), tf.constant(q)))
        np.testing.assert_allclose(got, special.zeta(s, q), rtol=1e-10)


def test_poles_and_domains_as_tf():
    z = _run(tf.zeta(tf.constant([1.0, 0.5, 2.0, 2.5, -1.0]),
                     tf.constant([1.0, 1.0, 0.0, -1.5, 2.0])))
    assert z[0] == np.inf and np.isnan(z[1]) and z[2] == np.inf and np.isnan(z[3])
    assert np.isnan(z[4])
    d = _run(tf.digamma(tf.constant([0.0, -1.0, -7.0, np.inf, np.nan])))
    assert np.isnan(d[[0, 1, 2, 4]]).all() and d[3] == np.inf
    assert _run(tf.polygamma(tf.constant(1.0), tf.constant(0.0))) == np.inf


def test_special_functions_need_no_scipy(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_scipy(name, *args, **kwargs):
        if name.startswith("scipy"):
            raise ImportError("scipy hidden by the test")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_scipy)
    x = np.array([0.25, 3.0, -2.5])
    got = _run([tf.digamma(tf.constant(x)), tf.polygamma(tf.constant(2.0, tf.float64),
                                                         tf.constant(x)),
                tf.zeta(tf.constant(3.0, tf.float64), tf.constant(x))])
    monkeypatch.undo()
    np.testing.assert_allclose(got[0], special.digamma(x), rtol=1e-12)
    np.testing.assert_allclose(got[1], special.polygamma(2, x), rtol=1e-12)
    np.testing.assert_allclose(got[2], special.zeta(3.0, x), rtol=1e-12)


POINTS = [np.array([0.7, 2.5, 6.0, -1.5, 13.0])]


def test_lgamma_second_derivative_is_trigamma():
    x = tf.constant(POINTS[0])
    d2 = tf.gradients(tf.gradients(tf.reduce_sum(tf.lgamma(x)), x)[0], x)[0]
    np.testing.assert_allclose(_run(d2), special.polygamma(1, POINTS[0]), rtol=1e-12)


def test_lgamma_and_digamma_gradients_second_order():
    check_gradients(tf.lgamma, POINTS, order=2)
    check_gradients(tf.digamma, POINTS, order=2)


def test_polygamma_gradient_in_x_and_none_in_order():
    n = np.array([1.0, 2.0, 0.0, 3.0, 1.0])
    check_gradients(lambda x: tf.polygamma(tf.constant(n), x), POINTS, order=2)
    a = tf.placeholder(tf.float64, [5])
    assert tf.gradients(tf.polygamma(a, tf.constant(POINTS[0])), a) == [None]


def test_zeta_gradient_in_q_and_none_in_s():
    s = np.array([2.0, 3.5, 1.5, 4.0, 2.25])
    q = [np.array([0.7, 2.5, 6.0, 1.5, 11.0])]
    check_gradients(lambda q_: tf.zeta(tf.constant(s), q_), q, order=2)
    x = tf.placeholder(tf.float64, [5])
    assert tf.gradients(tf.zeta(x, tf.constant(q[0])), x) == [None]


def test_broadcasting_and_static_shape():
    z = tf.zeta(tf.constant([[2.0], [3.0]]), tf.constant([1.0, 2.0, 3.0]))
    assert z.shape.as_list() == [2, 3]
    np.testing.assert_allclose(_run(z), special.zeta([[2.0], [3.0]], [1.0, 2.0, 3.0]), rtol=1e-6)
    with pytest.raises(TypeError, match="int32"):
        tf.polygamma(tf.constant(1), tf.constant(2))
