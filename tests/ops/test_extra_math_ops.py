"""TF 1.15's added math ops (inverse hyperbolics, xlogy/xdivy/multiply_no_nan, shifts, lbeta,
polyval, moments, cumulative_logsumexp, monotonicity) and complex numbers (tf.complex,
real/imag/angle and the complex gradients of Mul and RealDiv), against NumPy and finite
differences."""
import math

import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients, eval_kernels

R = np.random.RandomState(21)


def _run(t):
    with tf.Session() as sess:
        return sess.run(t)


UNARY = [("acosh", np.arccosh, 1.2, 4.0), ("asinh", np.arcsinh, -3.0, 3.0),
         ("atanh", np.arctanh, -0.9, 0.9)]


@pytest.mark.parametrize("name, ref, lo, hi", UNARY)
def test_inverse_hyperbolic(name, ref, lo, hi, backend):
    x = R.uniform(lo, hi, (3, 4))
    fn = getattr(tf, name)
    np.testing.assert_allclose(_run(fn(x)), ref(x), rtol=1e-12)
    np.testing.assert_allclose(eval_kernels(fn(tf.constant(x)), backend), ref(x), rtol=1e-12)
    assert getattr(tf.math, name) is fn
    check_gradients(fn, [x], order=2)


def test_xlogy_xdivy_multiply_no_nan():
    x = np.array([0.0, 0.0, 2.0, -1.5])
    y = np.array([0.0, 3.0, 3.0, 0.5])
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_allclose(_run(tf.math.xlogy(x, y)), np.where(x == 0, 0, x * np.log(y)))
        np.testing.assert_allclose(_run(tf.math.xdivy(x, y)), np.where(x == 0, 0, x / y))
    got = _run(tf.math.multiply_no_nan([np.inf, np.nan, 2.0], [0.0, 0.0, 3.0]))
    assert got.tolist() == [0.0, 0.0, 6.0]
    assert _run(tf.math.reciprocal_no_nan([0.0, 4.0])).tolist() == [0.0, 0.25]
    assert _run(tf.math.divide_no_nan([1.0, 1.0], [0.0, 2.0])).tolist() == [0.0, 0.5]
    a, b = R.uniform(0.5, 2, (2, 3)), R.uniform(0.5, 2, (2, 3))
    check_gradients(tf.math.xlogy, [a, b])
    check_gradients(tf.math.xdivy, [a, b])
    check_gradients(tf.math.multiply_no_nan, [a, b])
    check_gradients(tf.math.xlogy, [a, b[0]])  # broadcasting


def test_xlogy_gradient_is_zero_where_x_is_zero():
    x = tf.constant([0.0, 1.0])
    y = tf.constant([0.0, 2.0])
    gx, gy = _run(tf.gradients(tf.math.xlogy(x, y), [x, y]))
    assert gx[0] == 0.0 and gy[0] == 0.0 and gy[1] == 0.5


def test_shifts_and_bitwise_namespace():
    x = np.array([1, -16, 16, 7], np.int32)
    y = np.array([3, 2, 40, -1], np.int32)
    clamped = np.clip(y, 0, 31)
    np.testing.assert_array_equal(_run(tf.bitwise.left_shift(x, y)), np.left_shift(x, clamped))
    np.testing.assert_array_equal(_run(tf.bitwise.right_shift(x, y)),
                                  np.right_shift(x, clamped))
    u = np.array([200, 3], np.uint8)
    np.testing.assert_array_equal(_run(tf.bitwise.left_shift(u, np.uint8(1))),
                                  np.left_shift(u, 1))
    assert _run(tf.bitwise.bitwise_and(12, 10)) == 8
    assert _run(tf.bitwise.bitwise_or(12, 10)) == 14
    assert _run(tf.bitwise.bitwise_xor(12, 10)) == 6
    assert _run(tf.bitwise.invert(np.uint8(1))) == 254
    with pytest.raises(TypeError):
        tf.bitwise.left_shift(1.0, 2.0)


def test_lbeta_polyval_moments():
    x = R.uniform(0.5, 3, (4, 3))
    want = np.array([sum(math.lgamma(v) for v in row) - math.lgamma(row.sum()) for row in x])
    np.testing.assert_allclose(_run(tf.lbeta(x)), want, rtol=1e-10)
    assert _run(tf.lbeta(np.zeros((2, 0)))).tolist() == [0.0, 0.0]
    check_gradients(tf.lbeta, [x])
    np.testing.assert_allclose(_run(tf.math.polyval([2.0, -1.0, 0.5], x)),
                               np.polyval([2.0, -1.0, 0.5], x))
    check_gradients(lambda t: tf.math.polyval([2.0, -1.0, 0.5], t), [x])
    for axis in (None, 0, [1]):
        np.testing.assert_allclose(_run(tf.math.reduce_variance(x, axis=axis)),
                                   np.var(x, axis=None if axis is None else tuple(
                                       np.atleast_1d(axis))), rtol=1e-12)
        np.testing.assert_allclose(_run(tf.math.reduce_std(x, axis=axis, keepdims=True)),
                                   np.std(x, axis=None if axis is None else tuple(
                                       np.atleast_1d(axis)), keepdims=True), rtol=1e-12)
    check_gradients(lambda t: tf.math.reduce_std(t, axis=0), [x])


@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumulative_logsumexp(exclusive, reverse):
    x = R.uniform(-50, 50, (3, 5))
    got = _run(tf.math.cumulative_logsumexp(x, axis=1, exclusive=exclusive, reverse=reverse))
    want = np.zeros_like(x)
    for i in range(3):
        for j in range(5):
            k = list(range(j + 1, 5) if reverse else range(j)) if exclusive else \
                list(range(j, 5) if reverse else range(j + 1))
            want[i, j] = np.logaddexp.reduce(x[i, k]) if k else -np.inf
    np.testing.assert_allclose(got, want, rtol=1e-10)
    if not exclusive:
        check_gradients(lambda t: tf.math.cumulative_logsumexp(t, axis=1, reverse=reverse),
                        [x / 20])


def test_zero_fraction_monotonicity_nextafter():
    assert _run(tf.nn.zero_fraction([0, 1, 0, 3])) == 0.5
    assert _run(tf.math.zero_fraction(tf.zeros([2, 2]))) == 1.0
    assert _run(tf.is_non_decreasing([1, 1, 2])) and not _run(tf.is_non_decreasing([2, 1]))
    assert _run(tf.is_strictly_increasing([[1, 2], [3, 4]]))
    assert not _run(tf.math.is_strictly_increasing([1, 1, 2]))
    assert _run(tf.is_strictly_increasing([5])) and _run(tf.is_non_decreasing(np.zeros(0)))
    x = np.array([1.0, 0.0], np.float32)
    np.testing.assert_array_equal(_run(tf.math.nextafter(x, np.float32(2.0))),
                                  np.nextafter(x, np.float32(2.0)))


def test_math_namespace_aliases():
    for name in ("in_top_k", "l2_normalize", "softplus", "softsign", "invert_permutation",
                 "bincount", "confusion_matrix", "segment_sum", "unsorted_segment_mean"):
        assert hasattr(tf.math, name), name


# ----------------------------------------------------------------------------------------------
# Complex numbers
# ----------------------------------------------------------------------------------------------
def test_complex_real_imag_angle_forward():
    re = np.array([2.25, -3.25, 0.0], np.float32)
    im = np.array([4.75, 5.75, -1.0], np.float32)
    z = tf.complex(re, im)
    assert z.dtype == tf.complex64
    got = _run(z)
    np.testing.assert_array_equal(got, re + 1j * im)
    assert tf.complex(np.float64(1.0), np.zeros(3)).dtype == tf.complex128
    np.testing.assert_allclose(_run(tf.angle(z)), np.angle(re + 1j * im), rtol=1e-6)
    np.testing.assert_array_equal(_run(tf.angle([-1.0, 2.0])), np.float32([np.pi, 0.0]))
    np.testing.assert_array_equal(_run(tf.imag(z)), im)
    with pytest.raises(TypeError, match="float32 or both float64"):
        tf.complex(tf.constant(1.0), tf.constant(1.0, tf.float64))


def test_complex_gradients():
    x, y = R.randn(2, 3), R.randn(2, 3)
    check_gradients(lambda a, b: tf.real(tf.complex(a, b)) * 2.0 + tf.imag(tf.complex(a, b)),
                    [x, y])
    check_gradients(lambda a, b: tf.angle(tf.complex(a, b)), [x, y])
    check_gradients(lambda a, b: tf.imag(tf.complex(a, b[0])), [x, y])  # broadcasting
    w_value = R.randn(2, 3) + 1j * R.randn(2, 3)

    def products(a, b):  # Mul and RealDiv of complex tensors (TF's conjugate convention)
        z = tf.complex(a, b)
        w = tf.constant(w_value)
        return tf.real(z * w) + tf.imag(w * z * z) + tf.real(w / z) + tf.imag(z / w)
    check_gradients(products, [x, y])


def test_debugging_namespace_predicates():
    assert _run(tf.debugging.is_non_decreasing([1, 1, 2]))
    assert not _run(tf.debugging.is_strictly_increasing([1, 1, 2]))
    assert _run(tf.debugging.is_nan([1.0, np.nan])).tolist() == [False, True]
    assert _run(tf.debugging.is_inf([np.inf, 1.0])).tolist() == [True, False]
    assert _run(tf.debugging.is_finite([np.inf, 1.0])).tolist() == [False, True]
