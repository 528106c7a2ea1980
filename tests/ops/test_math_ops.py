"""Math ops against NumPy and finite differences.

One table row per op drives three checks: the forward value against a NumPy reference, the
dtype (``sess.run`` result == ``tensor.dtype`` == what TF1 gives, e.g. int32 / int32 -> float64),
and the gradient (tests/gradcheck.py, second order where the row asks for it). Further tests
cover static shape inference, construction-time errors and gradient semantics that finite
differences cannot see (ties, zeros, non-differentiable ops).
"""
import math

import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients, eval_kernels, run_op
from tfnb.framework import errors

R = np.random.RandomState(1234)


def u(*shape, lo=-2.0, hi=2.0, dtype=np.float32):
    """Uniform values in [lo, hi)."""
    return R.uniform(lo, hi, shape).astype(dtype)


def ints(*shape, lo=-9, hi=10, nonzero=False):
    v = R.randint(lo, hi, shape).astype(np.int32)
    if nonzero:
        v[v == 0] = 3
    return v


def bools(*shape):
    return R.rand(*shape) > 0.5


def _np_erf(x):
    return np.vectorize(math.erf, otypes=[x.dtype])(x)


def _np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    r = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return r if keepdims else np.squeeze(r, axis=axis)


def _np_cum(fn, x, axis, exclusive=False, reverse=False):
    if reverse:
        x = np.flip(x, axis)
    r = fn(x, axis=axis).astype(x.dtype)
    if exclusive:
        ident = 0 if fn is np.cumsum else 1
        r = np.concatenate([np.full_like(np.take(r, [0], axis), ident),
                            np.delete(r, -1, axis)], axis)
    return np.flip(r, axis) if reverse else r


def _np_int_mean(x, axis):
    s = np.sum(x, axis=axis, dtype=np.int64)
    n = x.size // s.size
    return (np.sign(s) * (np.abs(s) // n)).astype(x.dtype)


def _np_lgamma(x):
    return np.vectorize(math.lgamma, otypes=[np.float64])(x).astype(x.dtype)


def _np_digamma(x):
    """d/dx lgamma by a 5-point central difference of ``math.lgamma`` in float64 (error ~1e-11
    here): a reference that shares nothing with the kernel (SciPy or a series)."""
    h = 1e-4
    f = np.vectorize(math.lgamma, otypes=[np.float64])
    x64 = x.astype(np.float64)
    d = (f(x64 - 2 * h) - 8 * f(x64 - h) + 8 * f(x64 + h) - f(x64 + 2 * h)) / (12 * h)
    return d.astype(x.dtype)


def _broadcast_like(x, like):
    """The internal BroadcastLike op (the gradient of SumToShapeOf), by its op type."""
    from tfnb.ops.core import out
    return out("BroadcastLike", [x, like])


def _conj_of_complex(re, im):
    """real(conj(re + i im) * c): the gradient w.r.t. ``im`` flips sign if Conj's gradient is not
    conj(g)."""
    z = tf.cast(re, tf.complex128) + tf.cast(im, tf.complex128) * tf.constant(1j, tf.complex128)
    return tf.real(tf.conj(z) * tf.constant(np.array([0.3 + 1.1j, -0.7 + 0.4j, 1.5 - 0.9j,
                                                      -0.2 - 1.3j])))


class Case:
    """One op under test.

    Args:
        name: test id.
        fn: builds the op from one tensor per input.
        inputs: NumPy inputs (their dtypes are the tensors' dtypes).
        ref: NumPy reference of the forward value.
        dtype: the output dtype TF1 gives (default: the first input's).
        grad: 0 (not differentiable here), 1 or 2 (order of the gradient check); the check
            differentiates w.r.t. the float inputs, evaluated in float64.
        rtol, atol: forward tolerances.
    """

    def __init__(self, name, fn, inputs, ref, dtype=None, grad=0, rtol=1e-5, atol=1e-6):
        self.name, self.fn, self.inputs, self.ref = name, fn, inputs, ref
        self.dtype = np.dtype(dtype or inputs[0].dtype)
        self.grad, self.rtol, self.atol = grad, rtol, atol

    def __repr__(self):
        return self.name


# Shared operands: a [3, 4] matrix and a [4] row broadcast against it, positives for log/sqrt.
X, Y, ROW = u(3, 4), u(3, 4), u(4)
POS, POS2 = u(3, 4, lo=0.5, hi=2.0), u(4, lo=0.5, hi=2.0)
I1, I2 = ints(3, 4), ints(3, 4, nonzero=True)
B1, B2 = bools(3, 4), bools(3, 4)
CUBE = u(2, 3, 4)
TIES_FREE = np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::-1] * 0.37 - 1.5
M34, M45, M43, M54 = u(3, 4), u(4, 5), u(4, 3), u(5, 4)
TRIG, UNIT = u(3, 4, lo=-1.2, hi=1.2), u(3, 4, lo=-0.9, hi=0.9)
# lgamma/digamma: positive and negative non-integers, away from the poles
GAMMA_X = np.array([[0.3, 1.7, 4.5, 9.2], [-0.4, -1.6, -2.5, 0.05], [2.0, 3.3, 7.7, 12.1]],
                   np.float32)
GAMMA_X64 = np.array([[0.7, 2.9, 5.5, 14.2], [-0.45, -1.3, -3.5, 0.35], [1.0, 6.3, 21.7, 33.1]])
CPLX = (u(3, 4) + 1j * u(3, 4)).astype(np.complex64)
CASES = [
    # --- binary arithmetic (functions, broadcasting [3, 4] with [4]) ---
    Case("add", tf.add, [X, ROW], np.add, grad=2),
    Case("subtract", tf.subtract, [X, ROW], np.subtract, grad=2),
    Case("multiply", tf.multiply, [X, ROW], np.multiply, grad=2),
    Case("divide", tf.divide, [X, POS2], np.divide, grad=2),
    Case("truediv", tf.truediv, [X, POS], np.true_divide, grad=2),
    Case("realdiv", tf.realdiv, [X, POS], np.true_divide, grad=2),
    Case("floordiv", tf.floordiv, [X, POS], np.floor_divide),
    Case("mod", tf.mod, [X, POS2], np.mod, grad=2),
    Case("pow", tf.pow, [POS, ROW], np.power, grad=2),
    Case("maximum", tf.maximum, [X, Y], np.maximum, grad=2),
    Case("minimum", tf.minimum, [X, ROW], np.minimum, grad=2),
    Case("squared_difference", tf.squared_difference, [X, ROW], lambda a, b: (a - b) ** 2,
         grad=2),
    Case("mul_scalar_matrix", tf.multiply, [np.float32(1.7), X], np.multiply, grad=2),
    Case("sub_column_row", tf.subtract, [u(4, 1), u(3)], np.subtract, grad=2),
    # --- integer arithmetic: Python floor semantics, int32 true division is float64 ---
    Case("add_int32", tf.add, [I1, I2], np.add),
    Case("multiply_int32", tf.multiply, [I1, I2], np.multiply),
    Case("truediv_int32", tf.truediv, [I1, I2], np.true_divide, dtype=np.float64),
    Case("divide_int64", tf.divide, [I1.astype(np.int64), I2.astype(np.int64)], np.true_divide,
         dtype=np.float64),
    Case("truediv_int16", tf.truediv, [I1.astype(np.int16), I2.astype(np.int16)],
         np.true_divide, dtype=np.float32),
    Case("floordiv_int32", tf.floordiv, [I1, I2], np.floor_divide),
    Case("div_int32", tf.div, [I1, I2], np.floor_divide),
    Case("mod_int32", tf.mod, [I1, I2], np.mod),
    Case("truncatemod_int32", tf.truncatemod, [I1, I2], np.fmod),
    Case("pow_int32", tf.pow, [I1, np.abs(I2) % 4], np.power),
    Case("maximum_int32", tf.maximum, [I1, I2], np.maximum),
    # --- Python operators, reflected operators and @ ---
    Case("op_add", lambda a, b: a + b, [X, ROW], np.add, grad=2),
    Case("op_sub", lambda a, b: a - b, [X, ROW], np.subtract, grad=2),
    Case("op_mul", lambda a, b: a * b, [X, ROW], np.multiply, grad=2),
    Case("op_truediv", lambda a, b: a / b, [X, POS], np.true_divide, grad=2),
    Case("op_truediv_int32", lambda a, b: a / b, [I1, I2], np.true_divide, dtype=np.float64),
    Case("op_floordiv_int32", lambda a, b: a // b, [I1, I2], np.floor_divide),
    Case("op_mod_int32", lambda a, b: a % b, [I1, I2], np.mod),
    Case("op_pow", lambda a, b: a ** b, [POS, ROW], np.power, grad=2),
    Case("op_neg", lambda a: -a, [X], np.negative, grad=2),
    Case("op_abs", abs, [X], np.abs, grad=2),
    Case("op_matmul", lambda a, b: a @ b, [M34, M45], np.matmul, grad=2),
    Case("op_radd", lambda a: 2.5 + a, [X], lambda a: 2.5 + a, grad=2),
    Case("op_rsub", lambda a: 2.5 - a, [X], lambda a: 2.5 - a, grad=2),
    Case("op_rmul", lambda a: 3 * a, [I1], lambda a: 3 * a),
    Case("op_rtruediv", lambda a: 2.0 / a, [POS], lambda a: 2.0 / a, grad=2),
    Case("op_rfloordiv", lambda a: 7 // a, [I2], lambda a: 7 // a),
    Case("op_rmod", lambda a: 7 % a, [I2], lambda a: 7 % a),
    Case("op_rpow", lambda a: 2.0 ** a, [X], lambda a: 2.0 ** a, grad=2),
    Case("op_rmatmul", lambda b: M34 @ b, [M45], lambda b: M34 @ b, grad=2),
    # --- unary math ---
    Case("negative", tf.negative, [X], np.negative, grad=2),
    Case("negative_int32", tf.negative, [I1], np.negative),
    Case("abs", tf.abs, [X], np.abs, grad=2),
    Case("abs_int32", tf.abs, [I1], np.abs),
    Case("sign", tf.sign, [X], np.sign, grad=2),
    Case("sign_int32", tf.sign, [I1], np.sign),
    Case("square", tf.square, [X], np.square, grad=2),
    Case("square_int32", tf.square, [I1], np.square),
    Case("sqrt", tf.sqrt, [POS], np.sqrt, grad=2),
    Case("rsqrt", tf.rsqrt, [POS], lambda a: 1 / np.sqrt(a), grad=2),
    Case("exp", tf.exp, [X], np.exp, grad=2),
    Case("log", tf.log, [POS], np.log, grad=2),
    Case("log1p", tf.log1p, [POS], np.log1p, grad=2),
    Case("expm1", tf.expm1, [X], np.expm1, grad=2),
    Case("sin", tf.sin, [X], np.sin, grad=2),
    Case("cos", tf.cos, [X], np.cos, grad=2),
    Case("tanh", tf.tanh, [X], np.tanh, grad=2),
    Case("sigmoid", tf.sigmoid, [X * 4], lambda a: 1 / (1 + np.exp(-a)), grad=2),
    Case("sigmoid_extremes", tf.sigmoid, [np.array([-100.0, -30.0, 0.0, 30.0, 100.0],
                                                   np.float32)],
         lambda a: (1 / (1 + np.exp(-a.astype(np.float64)))).astype(np.float32)),
    Case("erf", tf.erf, [X], _np_erf, grad=2),
    Case("erf_float64", tf.erf, [X.astype(np.float64)], _np_erf),
    Case("reciprocal", tf.reciprocal, [POS], np.reciprocal, grad=2),
    Case("round_half_even", tf.round, [np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.4, 2.6],
                                                np.float32)], np.round),
    Case("round_int32", tf.round, [I1], lambda a: a),
    Case("floor", tf.floor, [X], np.floor),
    Case("ceil", tf.ceil, [X], np.ceil),
    # --- trigonometric, hyperbolic and special functions ---
    Case("tan", tf.tan, [TRIG], np.tan, grad=2),
    Case("asin", tf.asin, [UNIT], np.arcsin, grad=2),
    Case("acos", tf.acos, [UNIT], np.arccos, grad=2),
    Case("atan", tf.atan, [X], np.arctan, grad=2),
    Case("atan2", tf.atan2, [X, Y], np.arctan2, grad=2),
    Case("atan2_broadcast", tf.atan2, [X, ROW], np.arctan2, grad=2),
    Case("atan2_float64", tf.atan2, [X.astype(np.float64), Y.astype(np.float64)], np.arctan2),
    Case("sinh", tf.sinh, [X], np.sinh, grad=2),
    Case("cosh", tf.cosh, [X], np.cosh, grad=2),
    # The second derivative of lgamma needs Digamma's gradient (polygamma(1, x)): grad=1 here.
    Case("lgamma", tf.lgamma, [GAMMA_X], _np_lgamma, grad=1, rtol=1e-5, atol=1e-5),
    Case("lgamma_float64", tf.lgamma, [GAMMA_X64], _np_lgamma,
         rtol=1e-12),
    # Digamma: forward only here (its gradient, polygamma(1, x), is another row's business).
    Case("digamma", tf.digamma, [GAMMA_X], _np_digamma, rtol=1e-5, atol=1e-5),
    Case("digamma_float64", tf.digamma, [GAMMA_X64], _np_digamma,
         rtol=1e-9, atol=1e-9),
    Case("conj_complex64", tf.conj, [CPLX], np.conj),
    Case("conj_complex128_of_gradient", _conj_of_complex, [X.astype(np.float64),
                                                            Y.astype(np.float64)],
         lambda re, im: np.real(np.conj(re + 1j * im) * np.array(
             [0.3 + 1.1j, -0.7 + 0.4j, 1.5 - 0.9j, -0.2 - 1.3j])), grad=2),
    Case("conj_real_is_identity", tf.conj, [X], lambda a: a, grad=2),
    Case("broadcast_like", _broadcast_like, [u(3, 1), B1], lambda x, like: np.broadcast_to(
        x, like.shape), grad=2),
    Case("broadcast_like_row", _broadcast_like, [ROW, CUBE > 0], lambda x, like: np.broadcast_to(
        x, like.shape), grad=2),
    Case("exp_float64", tf.exp, [X.astype(np.float64)], np.exp),
    Case("exp_float16", tf.exp, [X.astype(np.float16)], np.exp, rtol=1e-3),
    # --- matmul, tensordot, einsum ---
    Case("matmul", tf.matmul, [M34, M45], np.matmul, grad=2, rtol=1e-4),
    Case("matmul_transpose_a", lambda a, b: tf.matmul(a, b, transpose_a=True), [M43, M45],
         lambda a, b: a.T @ b, grad=2, rtol=1e-4),
    Case("matmul_transpose_b", lambda a, b: tf.matmul(a, b, transpose_b=True), [M34, M54],
         lambda a, b: a @ b.T, grad=2, rtol=1e-4),
    Case("matmul_transpose_both", lambda a, b: tf.matmul(a, b, True, True), [M43, M54],
         lambda a, b: a.T @ b.T, grad=2, rtol=1e-4),
    Case("matmul_int32", tf.matmul, [I1, I2.T.copy()], np.matmul),
    Case("matmul_chain", lambda a, b, c: tf.matmul(tf.tanh(tf.matmul(a, b)), c),
         [M34, M45, u(5, 2)], lambda a, b, c: np.tanh(a @ b) @ c, grad=2, rtol=1e-4),
    Case("batch_matmul", tf.matmul, [u(2, 3, 4), u(2, 4, 5)], np.matmul, grad=2, rtol=1e-4),
    Case("batch_matmul_broadcast", tf.matmul, [u(2, 1, 3, 4), u(3, 4, 2)], np.matmul, grad=2,
         rtol=1e-4),
    Case("batch_matmul_rank3_rank2", tf.matmul, [u(2, 3, 4), M45], np.matmul, grad=2, rtol=1e-4),
    Case("batch_matmul_adjoint", lambda a, b: tf.matmul(a, b, adjoint_a=True, adjoint_b=True),
         [u(2, 4, 3), u(2, 5, 4)], lambda a, b: np.swapaxes(a, 1, 2) @ np.swapaxes(b, 1, 2),
         grad=2, rtol=1e-4),
    Case("batch_matmul_adjoint_b_bcast", lambda a, b: tf.matmul(a, b, adjoint_b=True),
         [u(2, 3, 4), u(1, 5, 4)], lambda a, b: a @ np.swapaxes(b, 1, 2), grad=2, rtol=1e-4),
    Case("tensordot_1", lambda a, b: tf.tensordot(a, b, 1), [M34, M45],
         lambda a, b: np.tensordot(a, b, 1), grad=2, rtol=1e-4),
    Case("tensordot_0", lambda a, b: tf.tensordot(a, b, 0), [u(2), u(3)],
         lambda a, b: np.tensordot(a, b, 0), grad=2),
    Case("tensordot_2", lambda a, b: tf.tensordot(a, b, 2), [CUBE, u(3, 4, 2)],
         lambda a, b: np.tensordot(a, b, 2), grad=2, rtol=1e-4),
    Case("tensordot_lists", lambda a, b: tf.tensordot(a, b, [[0, 2], [1, 0]]), [CUBE, u(4, 2, 5)],
         lambda a, b: np.tensordot(a, b, [[0, 2], [1, 0]]), grad=2, rtol=1e-4),
    Case("einsum_matmul", lambda a, b: tf.einsum("ij,jk->ik", a, b), [M34, M45], np.matmul,
         grad=2, rtol=1e-4),
    Case("einsum_transpose", lambda a: tf.einsum("ijk->kji", a), [CUBE],
         lambda a: a.transpose(2, 1, 0), grad=2),
    Case("einsum_trace", lambda a: tf.einsum("ii->", a), [u(3, 3)], np.trace, grad=2),
    Case("einsum_diagonal", lambda a: tf.einsum("ii->i", a), [u(3, 3)], np.diagonal, grad=2),
    Case("einsum_row_sum", lambda a: tf.einsum("ij->i", a), [X], lambda a: a.sum(1), grad=2),
    Case("einsum_outer", lambda a, b: tf.einsum("i,j->ij", a, b), [u(3), u(4)], np.outer, grad=2),
    Case("einsum_dot_all", lambda a, b: tf.einsum("ij,ij->", a, b), [X, Y],
         lambda a, b: np.sum(a * b), grad=2, rtol=1e-4),
    Case("einsum_summed_alone", lambda a, b: tf.einsum("ij,jk->k", a, b), [M34, M45],
         lambda a, b: (a @ b).sum(0), grad=2, rtol=1e-4),
    Case("einsum_batch", lambda a, b: tf.einsum("bij,bjk->bik", a, b), [u(2, 3, 4), u(2, 4, 5)],
         np.matmul, grad=2, rtol=1e-4),
    Case("einsum_ellipsis_broadcast", lambda a, b: tf.einsum("...ij,...jk->...ik", a, b),
         [u(2, 1, 3, 4), u(3, 4, 2)], np.matmul, grad=2, rtol=1e-4),
    Case("einsum_implicit", lambda a, b: tf.einsum("ij,jk", a, b), [M34, M45], np.matmul,
         grad=2, rtol=1e-4),
    Case("einsum_three", lambda a, b, c: tf.einsum("ij,jk,kl->il", a, b, c),
         [M34, M45, u(5, 2)], lambda a, b, c: a @ b @ c, grad=2, rtol=1e-4),
    Case("einsum_int32", lambda a, b: tf.einsum("ij,kj->ik", a, b), [I1, I2], lambda a, b: a @ b.T),
    Case("einsum_large_blas", lambda a, b: tf.einsum("ij,kj->ki", a, b), [u(40, 30), u(20, 30)],
         lambda a, b: (a @ b.T).T, rtol=1e-4, atol=1e-5),
    Case("einsum_batch_large", lambda a, b: tf.einsum("bij,bkj->bik", a, b),
         [u(4, 20, 30), u(4, 25, 30)], lambda a, b: a @ np.swapaxes(b, 1, 2), rtol=1e-4,
         atol=1e-5),
    # --- reductions (axis, negative axes, axis lists, keepdims, all axes) ---
    Case("reduce_sum_all", tf.reduce_sum, [CUBE], np.sum, grad=2, rtol=1e-4),
    Case("reduce_sum_axis0", lambda a: tf.reduce_sum(a, 0), [CUBE], lambda a: a.sum(0), grad=2),
    Case("reduce_sum_neg_keep", lambda a: tf.reduce_sum(a, -1, keepdims=True), [CUBE],
         lambda a: a.sum(-1, keepdims=True), grad=2),
    Case("reduce_sum_axes_list", lambda a: tf.reduce_sum(a, [0, -1]), [CUBE],
         lambda a: a.sum((0, 2)), grad=2),
    Case("reduce_sum_all_keep", lambda a: tf.reduce_sum(a, keepdims=True), [CUBE],
         lambda a: a.sum(keepdims=True), grad=2, rtol=1e-4),
    Case("reduce_sum_empty_axes", lambda a: tf.reduce_sum(a, []), [X], lambda a: a, grad=2),
    Case("reduce_sum_reduction_indices", lambda a: tf.reduce_sum(a, reduction_indices=[1],
                                                                 keep_dims=True),
         [X], lambda a: a.sum(1, keepdims=True), grad=1),
    Case("reduce_sum_int32", tf.reduce_sum, [I1], lambda a: a.sum().astype(np.int32)),
    Case("reduce_sum_int32_axis", lambda a: tf.reduce_sum(a, 1), [I1],
         lambda a: a.sum(1).astype(np.int32)),
    Case("reduce_sum_uint8", lambda a: tf.reduce_sum(a, 0),
         [np.array([[200, 100], [100, 7]], np.uint8)],
         lambda a: a.sum(0, dtype=np.uint8)),
    Case("reduce_mean_all", tf.reduce_mean, [CUBE], np.mean, grad=2),
    Case("reduce_mean_axes_keep", lambda a: tf.reduce_mean(a, [1, 2], keepdims=True), [CUBE],
         lambda a: a.mean((1, 2), keepdims=True), grad=2),
    Case("reduce_mean_int32_truncates", lambda a: tf.reduce_mean(a, 1),
         [np.array([[-7, 2], [-1, -2], [5, 4]], np.int32)], lambda a: _np_int_mean(a, 1)),
    Case("reduce_mean_int32_all", tf.reduce_mean, [I1], lambda a: _np_int_mean(a, None)),
    Case("reduce_max_axis", lambda a: tf.reduce_max(a, 1), [TIES_FREE], lambda a: a.max(1),
         grad=2),
    Case("reduce_max_all", tf.reduce_max, [CUBE], np.max, grad=2),
    Case("reduce_max_int32", lambda a: tf.reduce_max(a, -1), [I1], lambda a: a.max(-1)),
    Case("reduce_min_keep", lambda a: tf.reduce_min(a, 0, keepdims=True), [CUBE],
         lambda a: a.min(0, keepdims=True), grad=2),
    Case("reduce_max_empty", lambda a: tf.reduce_max(a, 0), [np.zeros((0, 3), np.float32)],
         lambda a: np.full(3, -np.inf, np.float32)),
    Case("reduce_prod_axis", lambda a: tf.reduce_prod(a, 1), [POS], lambda a: a.prod(1),
         grad=2),
    Case("reduce_prod_axes", lambda a: tf.reduce_prod(a, [0, 2], keepdims=True), [CUBE],
         lambda a: a.prod((0, 2), keepdims=True), grad=2),
    Case("reduce_prod_all", tf.reduce_prod, [u(2, 3, lo=0.5, hi=1.5)], np.prod, grad=2),
    Case("reduce_prod_int32", lambda a: tf.reduce_prod(a, 0), [I2],
         lambda a: a.prod(0).astype(np.int32)),
    Case("reduce_any", lambda a: tf.reduce_any(a, 1), [B1], lambda a: a.any(1)),
    Case("reduce_all", tf.reduce_all, [B1], np.all),
    Case("reduce_all_keep", lambda a: tf.reduce_all(a, -1, keepdims=True), [B1],
         lambda a: a.all(-1, keepdims=True)),
    Case("reduce_logsumexp_axis", lambda a: tf.reduce_logsumexp(a, 1), [X * 5],
         lambda a: _np_logsumexp(a, 1), grad=2),
    Case("reduce_logsumexp_all", tf.reduce_logsumexp, [CUBE], _np_logsumexp, grad=2),
    Case("reduce_logsumexp_keep_neg", lambda a: tf.reduce_logsumexp(a, [-1], keepdims=True),
         [CUBE], lambda a: _np_logsumexp(a, -1, True), grad=2),
    Case("reduce_logsumexp_inf", lambda a: tf.reduce_logsumexp(a, 1),
         [np.array([[-np.inf, 0.0], [1.0, 1000.0], [-np.inf, -np.inf]], np.float32)],
         lambda a: np.array([0.0, 1000.0, -np.inf], np.float32)),
    Case("count_nonzero", tf.count_nonzero, [I1], np.count_nonzero, dtype=np.int64),
    # --- argmax / argmin / cumulative ops ---
    Case("argmax", lambda a: tf.argmax(a, 1), [X], lambda a: a.argmax(1), dtype=np.int64),
    Case("argmax_default_axis", tf.argmax, [X], lambda a: a.argmax(0), dtype=np.int64),
    Case("argmax_ties_first", lambda a: tf.argmax(a, 0),
         [np.array([3.0, 1.0, 3.0], np.float32)], lambda a: a.argmax(0), dtype=np.int64),
    Case("argmin_int32_out", lambda a: tf.argmin(a, -1, output_type=tf.int32), [I1],
         lambda a: a.argmin(-1), dtype=np.int32),
    Case("argmax_bool", tf.argmax, [np.array([False, True, True])], np.argmax, dtype=np.int64),
    Case("cumsum", lambda a: tf.cumsum(a, 1), [X], lambda a: np.cumsum(a, 1), grad=2),
    Case("cumsum_exclusive", lambda a: tf.cumsum(a, 1, exclusive=True), [X],
         lambda a: _np_cum(np.cumsum, a, 1, exclusive=True), grad=2),
    Case("cumsum_reverse", lambda a: tf.cumsum(a, 0, reverse=True), [X],
         lambda a: _np_cum(np.cumsum, a, 0, reverse=True), grad=2),
    Case("cumsum_exclusive_reverse", lambda a: tf.cumsum(a, -1, exclusive=True, reverse=True),
         [CUBE], lambda a: _np_cum(np.cumsum, a, -1, True, True), grad=2),
    Case("cumsum_int32", lambda a: tf.cumsum(a, 1, exclusive=True), [I1],
         lambda a: _np_cum(np.cumsum, a, 1, exclusive=True)),
    Case("cumprod_exclusive_reverse", lambda a: tf.cumprod(a, 1, exclusive=True, reverse=True),
         [POS], lambda a: _np_cum(np.cumprod, a, 1, True, True), grad=2),
    # --- comparisons and logic ---
    Case("equal", tf.equal, [I1, I2], np.equal, dtype=np.bool_),
    Case("not_equal", tf.not_equal, [X, ROW], np.not_equal, dtype=np.bool_),
    Case("less", tf.less, [X, ROW], np.less, dtype=np.bool_),
    Case("less_equal", tf.less_equal, [I1, I2], np.less_equal, dtype=np.bool_),
    Case("greater", tf.greater, [X, Y], np.greater, dtype=np.bool_),
    Case("greater_equal", tf.greater_equal, [I1, I2], np.greater_equal, dtype=np.bool_),
    Case("equal_bool", tf.equal, [B1, B2], np.equal),
    Case("op_lt", lambda a, b: a < b, [X, ROW], np.less, dtype=np.bool_),
    Case("op_le_scalar", lambda a: a <= 0.5, [X], lambda a: a <= 0.5, dtype=np.bool_),
    Case("op_gt", lambda a, b: a > b, [I1, I2], np.greater, dtype=np.bool_),
    Case("op_ge_reflected", lambda a: 0.5 >= a, [X], lambda a: 0.5 >= a, dtype=np.bool_),
    Case("logical_and", tf.logical_and, [B1, B2], np.logical_and),
    Case("logical_or", tf.logical_or, [B1, B2], np.logical_or),
    Case("logical_xor", tf.logical_xor, [B1, B2], np.logical_xor),
    Case("logical_not", tf.logical_not, [B1], np.logical_not),
    Case("op_and", lambda a, b: a & b, [B1, B2], np.logical_and),
    Case("op_or", lambda a, b: a | b, [B1, B2], np.logical_or),
    Case("op_xor", lambda a, b: a ^ b, [B1, B2], np.logical_xor),
    Case("op_invert", lambda a: ~a, [B1], np.logical_not),
    Case("op_and_int32_bitwise", lambda a, b: a & b, [I1, I2], np.bitwise_and),
    Case("op_invert_int32_bitwise", lambda a: ~a, [I1], np.invert),
    # --- where, clip, cast, add_n ---
    Case("where_same_shape", lambda c, a, b: tf.where(c, a, b), [B1, X, Y], np.where, grad=2,
         dtype=np.float32),
    Case("where_vector_selects_rows", lambda c, a, b: tf.where(c, a, b),
         [np.array([True, False, True]), X, Y], lambda c, a, b: np.where(c[:, None], a, b),
         grad=2, dtype=np.float32),
    Case("where_scalar_condition", lambda c, a, b: tf.where(c, a, b), [np.array(False), X, Y],
         np.where, grad=2, dtype=np.float32),
    Case("where_v2_broadcasts", lambda c, a, b: tf.where_v2(c, a, b),
         [np.array([[True, False, False, True]]), X, u(3, 1)], np.where, grad=2,
         dtype=np.float32),
    Case("where_indices", tf.where, [B1], np.argwhere, dtype=np.int64),
    Case("clip_by_value", lambda a: tf.clip_by_value(a, -0.5, 0.7), [X],
         lambda a: np.clip(a, -0.5, 0.7), grad=2),
    # TF clips to the max first, then the min: where min > max the result is min.
    Case("clip_by_value_tensor_bounds", lambda a, lo: tf.clip_by_value(a, lo, 1.0), [X, ROW],
         lambda a, lo: np.maximum(np.minimum(a, 1.0), lo), grad=2),
    Case("clip_by_value_int32", lambda a: tf.clip_by_value(a, -2, 3), [I1],
         lambda a: np.clip(a, -2, 3)),
    Case("cast_float_to_int_truncates", lambda a: tf.cast(a, tf.int32),
         [np.array([-1.7, -0.5, 0.5, 2.9], np.float32)], lambda a: np.trunc(a).astype(np.int32),
         dtype=np.int32),
    Case("cast_int_to_float", lambda a: tf.cast(a, tf.float32), [I1],
         lambda a: a.astype(np.float32), dtype=np.float32),
    Case("cast_bool_to_float", lambda a: tf.cast(a, tf.float32), [B1],
         lambda a: a.astype(np.float32), dtype=np.float32),
    Case("cast_float_to_bool", lambda a: tf.cast(a, tf.bool), [np.array([0.0, -0.5, 2.0],
                                                                       np.float32)],
         lambda a: a != 0, dtype=np.bool_),
    Case("cast_complex_keeps_real_part", lambda a: tf.cast(a, tf.float32), [CPLX], np.real,
         dtype=np.float32),
    Case("cast_float32_to_float64", lambda a: tf.cast(a, tf.float64), [X],
         lambda a: a.astype(np.float64), dtype=np.float64),
    Case("to_float", tf.to_float, [I1], lambda a: a.astype(np.float32), dtype=np.float32),
    Case("add_n", lambda a, b, c: tf.add_n([a, b, c]), [X, Y, POS], lambda a, b, c: a + b + c,
         grad=2),
    Case("add_n_fan_in", lambda a: tf.add_n([a, a * a, tf.sin(a)]), [X],
         lambda a: a + a * a + np.sin(a), grad=2),
    Case("add_n_int32", lambda a, b: tf.add_n([a, b]), [I1, I2], np.add),
    Case("accumulate_n", lambda a, b: tf.accumulate_n([a, b]), [X, Y], np.add, grad=2),
]


def _exact(value):
    """The dtype values are compared in: complex128 for complex results, else float64."""
    return np.complex128 if value.dtype.kind == "c" else np.float64


def _float_positions(case):
    return [i for i, x in enumerate(case.inputs) if np.asarray(x).dtype.kind == "f"]


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_forward_value_dtype_and_static_shape(case):
    value, t = run_op(case.fn, case.inputs)
    value = np.asarray(value)
    expected = np.asarray(case.ref(*case.inputs))
    assert value.dtype == t.dtype.as_numpy_dtype, "run result dtype differs from tensor.dtype"
    assert value.dtype == case.dtype, "TF1 gives %s, got %s" % (case.dtype, value.dtype)
    assert t.shape.is_compatible_with(value.shape), (t.shape, value.shape)
    if case.name != "where_indices":  # its row count is only known at run time
        assert t.shape.as_list() == list(value.shape)
    assert value.shape == expected.shape
    np.testing.assert_allclose(value.astype(_exact(value)), expected.astype(_exact(value)),
                               rtol=case.rtol, atol=case.atol)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=repr)
def test_gradient(case):
    floats = _float_positions(case)

    def fn(*phs):
        args = [tf.constant(x) for x in case.inputs]
        for i, p in zip(floats, phs):
            args[i] = p
        return case.fn(*args)

    check_gradients(fn, [case.inputs[i] for i in floats], order=case.grad)


@pytest.mark.parametrize("case", [c for c in CASES if c.name != "where_indices"], ids=repr)
def test_kernels_on_backend(case, backend):
    """The same kernels, run directly with each available array module (NumPy, CuPy)."""
    with tf.Graph().as_default():
        t = case.fn(*[tf.constant(x) for x in case.inputs])
        value = eval_kernels(t, backend)
    assert value.dtype == case.dtype
    np.testing.assert_allclose(value.astype(_exact(value)),
                               np.asarray(case.ref(*case.inputs)).astype(_exact(value)),
                               rtol=case.rtol, atol=case.atol)


def test_special_functions_without_scipy(monkeypatch):
    """Without SciPy, digamma/lgamma/erf use their own series: the same values."""
    import sys
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.special", None)
    for fn, x, ref, rtol in [(tf.digamma, GAMMA_X64, _np_digamma, 1e-9),
                             (tf.lgamma, GAMMA_X64, _np_lgamma, 1e-12),
                             (tf.erf, X.astype(np.float64), _np_erf, 1e-12)]:
        value, _ = run_op(fn, [x])
        np.testing.assert_allclose(value, ref(x), rtol=rtol, atol=1e-12, err_msg=fn.__name__)


# ----------------------------------------------------------------------------------------------
# Static shape inference
# ----------------------------------------------------------------------------------------------
def _ph(shape, dtype=tf.float32):
    return tf.placeholder(dtype, shape)


SHAPES = [
    ("add_none_row", lambda: _ph([None, 3]) + _ph([3]), [None, 3]),
    ("add_none_column", lambda: _ph([None, 1]) + _ph([3]), [None, 3]),
    ("add_none_none", lambda: _ph([None]) + _ph([None]), [None]),
    ("add_one_none", lambda: _ph([1]) + _ph([None]), [None]),
    ("add_unknown_rank", lambda: _ph(None) + _ph([3]), None),
    ("compare_broadcast", lambda: _ph([None, 3]) < _ph([2, 1]), [2, 3]),
    ("squared_difference", lambda: tf.squared_difference(_ph([None, 3]), _ph([4, 1])), [4, 3]),
    ("matmul", lambda: tf.matmul(_ph([None, 3]), _ph([3, None])), [None, None]),
    ("matmul_transpose_b", lambda: tf.matmul(_ph([None, 3]), _ph([5, 3]), transpose_b=True),
     [None, 5]),
    ("matmul_unknown_rank", lambda: tf.matmul(_ph(None), _ph([3, 4])), None),
    ("batch_matmul", lambda: tf.matmul(_ph([None, 2, 3]), _ph([3, 4])), [None, 2, 4]),
    ("batch_matmul_broadcast", lambda: tf.matmul(_ph([None, 1, 2, 3]), _ph([5, 3, 4])),
     [None, 5, 2, 4]),
    ("reduce_axis0", lambda: tf.reduce_sum(_ph([None, 3]), 0), [3]),
    ("reduce_keepdims", lambda: tf.reduce_max(_ph([None, 3]), 1, keepdims=True), [None, 1]),
    ("reduce_all_axes", lambda: tf.reduce_mean(_ph([None, 3])), []),
    ("reduce_all_axes_unknown_rank", lambda: tf.reduce_sum(_ph(None)), []),
    ("reduce_unknown_rank_axis", lambda: tf.reduce_sum(_ph(None), 1), None),
    ("reduce_runtime_axis", lambda: tf.reduce_sum(_ph([2, 3, 4]), _ph([1], tf.int32)), None),
    ("reduce_runtime_axis_keep", lambda: tf.reduce_sum(_ph([2, 3, 4]), _ph([1], tf.int32),
                                                       keepdims=True), [None, None, None]),
    ("logsumexp", lambda: tf.reduce_logsumexp(_ph([None, 3]), 1), [None]),
    ("argmax", lambda: tf.argmax(_ph([None, 5]), 1), [None]),
    ("argmax_unknown_rank", lambda: tf.argmax(_ph(None), 1), None),
    ("cumsum", lambda: tf.cumsum(_ph([None, 5]), 1), [None, 5]),
    ("where_rows", lambda: tf.where(_ph([None], tf.bool), _ph([None, 4]), _ph([5, None])),
     [5, 4]),
    ("where_unknown_condition_rank", lambda: tf.where(_ph(None, tf.bool), _ph([2, 2]),
                                                      _ph([2, 2])), [2, 2]),
    ("where_indices", lambda: tf.where(_ph([None, 4], tf.bool)), [None, 2]),
    ("cast", lambda: tf.cast(_ph([None, 2]), tf.int32), [None, 2]),
    ("add_n_merges", lambda: tf.add_n([_ph([None, 2]), _ph([3, None])]), [3, 2]),
    ("clip", lambda: tf.clip_by_value(_ph([None, 3]), 0.0, 1.0), [None, 3]),
    ("tensordot", lambda: tf.tensordot(_ph([None, 3, 4]), _ph([4, 5]), 1), [None, 3, 5]),
    ("tensordot_lists", lambda: tf.tensordot(_ph([None, 3, 4]), _ph([3, 4, 5]),
                                             [[1, 2], [0, 1]]), [None, 5]),
    ("einsum", lambda: tf.einsum("bij,jk->bik", _ph([None, 3, 4]), _ph([4, None])),
     [None, 3, None]),
    ("einsum_ellipsis", lambda: tf.einsum("...ij,...jk->...ik", _ph([2, 1, 3, 4]),
                                          _ph([None, 4, 2])), [2, None, 3, 2]),
]


@pytest.mark.parametrize("build,expected", [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_static_shape(build, expected):
    t = build()
    got = None if t.shape.ndims is None else t.shape.as_list()
    assert got == expected


def test_static_dtypes_of_mixed_ops():
    i = _ph([2], tf.int32)
    assert (i / i).dtype == tf.float64
    assert (i // i).dtype == tf.int32
    assert tf.argmax(_ph([2, 3]), 1).dtype == tf.int64
    assert tf.reduce_sum(i).dtype == tf.int32
    assert tf.reduce_mean(i).dtype == tf.int32
    assert (_ph([2]) < 1.0).dtype == tf.bool
    assert tf.where(_ph([2], tf.bool)).dtype == tf.int64
    assert tf.count_nonzero(_ph([2])).dtype == tf.int64


# ----------------------------------------------------------------------------------------------
# Errors at construction
# ----------------------------------------------------------------------------------------------
ERRORS = [
    ("matmul_inner_dims", lambda: tf.matmul(tf.ones([3, 4]), tf.ones([5, 6])), ValueError,
     ["(3, 4)", "(5, 6)", "MatMul", "4 and 5"]),
    ("batch_matmul_inner_dims", lambda: tf.matmul(tf.ones([2, 3, 4]), tf.ones([2, 5, 6])),
     ValueError, ["(2, 3, 4)", "(2, 5, 6)", "BatchMatMul"]),
    ("batch_matmul_batch_dims", lambda: tf.matmul(tf.ones([2, 3, 4]), tf.ones([3, 4, 6])),
     ValueError, ["BatchMatMul"]),
    ("matmul_rank1", lambda: tf.matmul(tf.ones([3]), tf.ones([3, 4])), ValueError,
     ["rank 2", "MatMul"]),
    ("matmul_bool", lambda: tf.matmul(tf.constant([[True]]), tf.constant([[True]])), TypeError,
     ["bool"]),
    ("add_float_int", lambda: tf.add(tf.constant(1.0), tf.constant(1)), TypeError,
     ["int32", "float32", "Add"]),
    ("op_add_float_int", lambda: tf.constant([1.0]) + tf.constant([1]), TypeError, ["Add"]),
    ("truediv_float_int", lambda: tf.truediv(tf.constant(1.0), tf.constant(2)), TypeError,
     ["float32", "int32"]),
    ("python_float_into_int", lambda: tf.constant(1) + 1.5, TypeError, ["int32"]),
    ("broadcast_mismatch", lambda: tf.ones([3, 4]) + tf.ones([3]), ValueError,
     ["[3,4]", "[3]", "Add"]),
    ("sqrt_int", lambda: tf.sqrt(tf.constant(4)), TypeError, ["int32", "Sqrt"]),
    ("neg_bool", lambda: -tf.constant(True), TypeError, ["bool"]),
    ("logical_and_float", lambda: tf.logical_and(tf.ones([2]), tf.ones([2])), TypeError,
     ["float32", "LogicalAnd"]),
    ("reduce_axis_out_of_range", lambda: tf.reduce_sum(tf.ones([3, 4]), axis=2), ValueError,
     ["Invalid reduction dimension 2", "Sum", "[3,4]"]),
    ("reduce_negative_axis_out_of_range", lambda: tf.reduce_max(tf.ones([3, 4]), [-3]),
     ValueError, ["Max"]),
    ("reduce_any_float", lambda: tf.reduce_any(tf.ones([2])), TypeError, ["float32"]),
    ("reduce_mean_bool", lambda: tf.reduce_mean(tf.constant([True])), TypeError, ["bool"]),
    ("argmax_axis", lambda: tf.argmax(tf.ones([3, 4]), 2), ValueError, ["ArgMax", "[-2, 2)"]),
    ("cumsum_axis", lambda: tf.cumsum(tf.ones([3, 4]), 3), ValueError, ["Cumsum"]),
    ("where_rows_mismatch", lambda: tf.where(tf.constant([True, False]), tf.ones([3, 4]),
                                             tf.ones([3, 4])), ValueError, ["Select"]),
    ("where_dtypes", lambda: tf.where(tf.constant([True]), tf.ones([1]), tf.constant([1])),
     TypeError, ["int32", "float32"]),
    ("where_condition_not_bool", lambda: tf.where(tf.constant([1]), tf.ones([1]), tf.ones([1])),
     TypeError, ["condition", "bool"]),
    ("where_one_of_x_y", lambda: tf.where(tf.constant([True]), tf.ones([1])), ValueError, []),
    ("add_n_shapes", lambda: tf.add_n([tf.ones([3, 4]), tf.ones([4, 3])]), ValueError, ["AddN"]),
    ("add_n_dtypes", lambda: tf.add_n([tf.ones([2]), tf.constant([1, 2])]), TypeError, ["AddN"]),
    ("add_n_empty", lambda: tf.add_n([]), ValueError, []),
    ("clip_broadcasts_t", lambda: tf.clip_by_value(tf.ones([3]), tf.zeros([2, 3]), 1.0),
     ValueError, []),
    ("einsum_label_sizes", lambda: tf.einsum("ij,jk->ik", tf.ones([3, 4]), tf.ones([3, 4])),
     ValueError, ["4 and 3", "ij,jk->ik"]),
    ("einsum_rank", lambda: tf.einsum("ij->i", tf.ones([3])), ValueError, ["rank 1"]),
    ("einsum_inputs", lambda: tf.einsum("ij,jk->ik", tf.ones([3, 4])), ValueError, ["inputs"]),
    ("einsum_ellipsis_not_in_output", lambda: tf.einsum("...ij->ij", tf.ones([2, 3, 4])),
     ValueError, ["..."]),
    ("einsum_unknown_output_label", lambda: tf.einsum("ij->k", tf.ones([3, 4])), ValueError,
     ["'k'"]),
    ("tensordot_dims", lambda: tf.tensordot(tf.ones([3, 4]), tf.ones([3, 4]), 1), ValueError,
     ["4 and 3"]),
    ("scalar_mul_vector", lambda: tf.scalar_mul(tf.ones([2]), tf.ones([2])), ValueError,
     ["scalar"]),
]


@pytest.mark.parametrize("build,exc,fragments", [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_construction_error(build, exc, fragments):
    with pytest.raises(exc) as info:
        build()
    for f in fragments:
        assert f in str(info.value), "%r not in %r" % (f, str(info.value))


def test_einsum_with_sizes_known_only_at_run_time_small_and_large():
    a = tf.placeholder(tf.float32, [None, 30])
    b = tf.placeholder(tf.float32, [None, 30])
    y = tf.einsum("ij,kj->ki", a, b)
    with tf.Session() as sess:
        for n in (2, 50):
            a_np, b_np = u(n, 30), u(n, 30)
            np.testing.assert_allclose(sess.run(y, {a: a_np, b: b_np}), b_np @ a_np.T, rtol=1e-4,
                                       atol=1e-5)


def test_where_decides_row_selection_at_run_time_when_ranks_are_unknown():
    c = tf.placeholder(tf.bool)
    x, y = tf.placeholder(tf.float32), tf.placeholder(tf.float32)
    r = tf.where(c, x, y)
    with tf.Session() as sess:
        rows = sess.run(r, {c: [True, False], x: np.ones((2, 3)), y: np.zeros((2, 3))})
        same = sess.run(r, {c: [[True, False]], x: np.ones((1, 2)), y: np.zeros((1, 2))})
    np.testing.assert_array_equal(rows, [[1, 1, 1], [0, 0, 0]])
    np.testing.assert_array_equal(same, [[1, 0]])


def test_int_pow_to_negative_power_fails_at_run_time_naming_the_op():
    p = tf.pow(tf.constant([2, 3]), tf.constant([-1, 2]))
    with tf.Session() as sess, pytest.raises(errors.InvalidArgumentError, match="Pow"):
        sess.run(p)


# ----------------------------------------------------------------------------------------------
# Gradient semantics beyond finite differences
# ----------------------------------------------------------------------------------------------
def _grads(ys, xs, feed=None):
    with tf.Session() as sess:
        return sess.run(tf.gradients(ys, xs), feed)


def test_broadcast_gradients_sum_back_with_unknown_batch():
    x = tf.placeholder(tf.float32, [None, 3])
    b = tf.placeholder(tf.float32, [3])
    s = tf.placeholder(tf.float32, [])
    c = tf.placeholder(tf.float32, [4, 1])
    y = tf.reduce_sum((x + b) * s) + tf.reduce_sum(c - b)
    x_np, b_np = np.ones((5, 3), np.float32), np.array([1.0, 2.0, 3.0], np.float32)
    gx, gb, gs, gc = _grads(y, [x, b, s, c], {x: x_np, b: b_np, s: 2.0, c: np.zeros((4, 1))})
    np.testing.assert_allclose(gx, np.full((5, 3), 2.0))
    np.testing.assert_allclose(gb, np.full(3, 5 * 2.0 - 4.0))  # 5 rows of x, 4 rows of c
    np.testing.assert_allclose(gs, np.sum(x_np + b_np))
    np.testing.assert_allclose(gc, np.full((4, 1), 3.0))
    assert gb.dtype == np.float32 and gs.shape == () and gc.shape == (4, 1)


def test_fan_out_accumulates_second_order():
    check_gradients(lambda x: x * x + tf.sin(x) * x + tf.reduce_sum(x) * tf.exp(x), [u(2, 3)],
                    order=2)


def test_reduce_max_and_min_split_gradient_among_ties():
    x = tf.constant([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [5.0, 1.0, 0.0]])
    g_rows, g_all, g_min = _grads([tf.reduce_max(x, 1)], [x]) + _grads(tf.reduce_max(x), [x]) \
        + _grads(tf.reduce_min(x, 0, keepdims=True), [x])
    np.testing.assert_allclose(g_rows, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3], [1, 0, 0]])
    np.testing.assert_allclose(g_all, [[0, 0, 0], [0, 0, 0], [1, 0, 0]])
    np.testing.assert_allclose(g_min, [[1, 0, 0], [0, 0, 0], [0, 1, 1]])


def _np_prod_others(x, axis):
    """Product of the other elements along ``axis`` (brute force)."""
    xm = np.moveaxis(x, axis, -1)
    res = np.empty_like(xm)
    for k in range(xm.shape[-1]):
        res[..., k] = np.prod(np.delete(xm, k, -1), -1)
    return np.moveaxis(res, -1, axis)


def test_reduce_prod_gradient_with_zeros():
    x_np = np.array([[1.0, 0.0, 3.0], [0.0, 2.0, 0.0], [5.0, 1.0, 2.0]])
    x = tf.constant(x_np)
    g1, g0 = _grads(tf.reduce_prod(x, 1), x) + _grads(tf.reduce_prod(x, 0), x)
    np.testing.assert_allclose(g1, [[0, 3, 0], [0, 0, 0], [2, 10, 5]])
    np.testing.assert_allclose(g0, [[0, 2, 0], [5, 0, 6], [0, 0, 0]])
    np.testing.assert_allclose(g1, _np_prod_others(x_np, 1))
    one_zero = np.array([[1.5, 2.0], [0.0, -1.0]])
    c = tf.constant(one_zero)
    (g_all,) = _grads(tf.reduce_prod(c), c)
    np.testing.assert_allclose(g_all, [[0, 0], [-3.0, 0]])
    for axis in (None, 1, [0, 1], -1):
        check_gradients(lambda a: tf.reduce_prod(a, axis), [x_np])
        check_gradients(lambda a: tf.reduce_prod(a, axis), [one_zero])


def test_clip_by_value_gradient_is_one_inside_and_on_the_bounds():
    x = tf.constant([-1.0, -0.5, 0.0, 0.5, 1.0])
    (g,) = _grads(tf.clip_by_value(x, -0.5, 0.5), x)
    np.testing.assert_allclose(g, [0, 1, 1, 1, 0])


def test_maximum_gradient_goes_to_x_on_ties():
    x, y = tf.constant([1.0, 2.0, 3.0]), tf.constant([1.0, 1.0, 4.0])
    np.testing.assert_allclose(_grads(tf.maximum(x, y), [x, y]), [[1, 1, 0], [0, 0, 1]])
    np.testing.assert_allclose(_grads(tf.minimum(x, y), [x, y]), [[1, 0, 1], [0, 1, 0]])


def test_cast_gradient_casts_back_and_stops_at_integers():
    x = tf.placeholder(tf.float64, [3])
    c = np.array([1.5, -2.0, 0.25])
    (g,) = tf.gradients(tf.reduce_sum(tf.cast(x, tf.float32) * c.astype(np.float32)), x)
    assert g.dtype == tf.float64
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(g, {x: np.ones(3)}), c)
    assert tf.gradients(tf.cast(tf.cast(x, tf.int32), tf.float64), x) == [None]


@pytest.mark.parametrize("build", [tf.round, tf.floor, tf.ceil,
                                   lambda x: tf.cast(tf.argmax(x, 0), tf.float32),
                                   lambda x: tf.floordiv(x, 2.0),
                                   lambda x: tf.cast(tf.cast(x, tf.int32), tf.float32),
                                   lambda x: tf.cast(x < 0.0, tf.float32)],
                         ids=["round", "floor", "ceil", "argmax", "floordiv", "cast_int",
                              "comparison"])
def test_non_differentiable_ops_give_none(build):
    x = tf.constant([1.5, 2.0])
    assert tf.gradients(build(x), x) == [None]


def test_sign_gradient_is_zeros():
    x = tf.constant([1.5, -2.0])
    np.testing.assert_allclose(_grads(tf.sign(x), x)[0], [0.0, 0.0])


def test_cumprod_gradient_with_zeros_matches_tf():
    # TF divides by x with div_no_nan, so a zero gets a zero gradient.
    x = tf.constant([[1.0, 0.0, 3.0], [2.0, 2.0, 2.0]])
    w = tf.constant([[0.5, 1.0, 1.5], [1.0, 1.0, 1.0]])
    (g,) = _grads(tf.reduce_sum(tf.cumprod(x, 1) * w), x)
    np.testing.assert_allclose(g, [[0.5, 0.0, 0.0], [1 + 2 + 4, 2 + 4, 4]])


def test_reduction_gradients_with_run_time_axes_and_unknown_rank():
    x = tf.placeholder(tf.float64)
    axis = tf.placeholder(tf.int32, [None])
    x_np = np.arange(24.0).reshape(2, 3, 4) / 10.0
    ys = [tf.reduce_sum(x, -1), tf.reduce_mean(x, axis), tf.reduce_max(x, axis, keepdims=True),
          tf.reduce_logsumexp(x, -2), tf.reduce_prod(x, -1), tf.reduce_sum(x)]
    gs = [_grads(y, x, {x: x_np, axis: [0, 2]})[0] for y in ys]
    np.testing.assert_allclose(gs[0], np.ones_like(x_np))
    np.testing.assert_allclose(gs[1], np.full_like(x_np, 1 / 8))
    expected_max = np.zeros_like(x_np)
    expected_max[1, :, 3] = 1
    np.testing.assert_allclose(gs[2], expected_max)
    e = np.exp(x_np - x_np.max(1, keepdims=True))
    np.testing.assert_allclose(gs[3], e / e.sum(1, keepdims=True))
    np.testing.assert_allclose(gs[4], _np_prod_others(x_np, -1))
    np.testing.assert_allclose(gs[5], np.ones_like(x_np))


def test_reduce_sum_with_run_time_axis_value_and_second_order():
    x = tf.placeholder(tf.float64, [2, 3])
    axis = tf.placeholder(tf.int32, [])
    y = tf.reduce_sum(tf.square(tf.reduce_sum(x * x, axis)))
    (g,) = tf.gradients(y, x)
    (gg,) = tf.gradients(tf.reduce_sum(g), x)
    x_np = np.arange(6.0).reshape(2, 3)
    with tf.Session() as sess:
        g_v, gg_v = sess.run([g, gg], {x: x_np, axis: 1})
    s = (x_np ** 2).sum(1, keepdims=True)
    np.testing.assert_allclose(g_v, 4 * s * x_np)
    # d/dx_ij of sum_k 4 s_i x_ik = 4 (s_i + 2 x_ij sum_k x_ik)
    np.testing.assert_allclose(gg_v, 4 * (s + 2 * x_np * x_np.sum(1, keepdims=True)))


def test_python_operators_build_the_expected_ops():
    a, b = tf.constant([1.0, 2.0]), tf.constant([[1.0], [2.0]])
    assert (a + b).op.type == "Add" and (a - b).op.type == "Sub" and (a * b).op.type == "Mul"
    assert (a / b).op.type == "RealDiv" and (a // b).op.type == "FloorDiv"
    assert (a % b).op.type == "FloorMod" and (a ** b).op.type == "Pow"
    assert (b @ tf.ones([1, 3])).op.type == "MatMul"
    assert (2.0 - a).op.inputs[1] is a
    assert (-a).op.type == "Neg" and abs(a).op.type == "Abs"
    assert (~(a < b)).op.type == "LogicalNot"
