"""Gradients of complex inputs follow TF's convention: the conjugate derivative.

For a real loss ``L(z)``, ``tf.gradients(L, z)`` is ``dL/dRe(z) + i dL/dIm(z)``. Each check
builds ``z = complex(a, b)`` from real float64 inputs and the real loss
``L = real(sum(f(z) * conj(w)))`` for a fixed complex ``w`` (so both the real and the imaginary
part of ``f`` matter); the gradient with respect to ``a`` and ``b`` runs through ``f``'s rule
and Complex's (``[real(g), imag(g)]``), and is compared with central differences.
"""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients

R = np.random.RandomState(7)
SHAPE = (2, 3)
W = R.randn(*SHAPE) + 1j * R.randn(*SHAPE)


@pytest.fixture(autouse=True)
def lazy_graph():
    saved = tf.executing_eagerly()
    tf.disable_eager_execution()
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()
    if saved:
        tf.enable_eager_execution()


def _real_loss(f, w=W):
    def loss(a, b):
        fz = f(tf.complex(a, b))
        return tf.real(fz * tf.conj(tf.constant(w, fz.dtype)))
    return loss


def _inputs(shape=SHAPE, away_from_zero=False):
    a, b = R.randn(*shape), R.randn(*shape)
    if away_from_zero:  # log, sqrt, 1/z: stay off the branch cut and the pole
        a = np.abs(a) + 0.5
    return [a, b]


UNARY = {
    "square": tf.square,
    "exp": tf.exp,
    "log": tf.log,
    "log1p": tf.log1p,
    "expm1": tf.expm1,
    "sqrt": tf.sqrt,
    "rsqrt": tf.rsqrt,
    "reciprocal": tf.reciprocal,
    "tanh": tf.tanh,
    "sigmoid": tf.sigmoid,
    "sin": tf.sin,
    "cos": tf.cos,
    "tan": tf.tan,
    "pow_const": lambda z: tf.pow(z, tf.constant(2.5 - 0.5j, z.dtype)),
    "div": lambda z: tf.constant(1.5 + 2j, z.dtype) / z,
    "reduce_prod": lambda z: tf.reduce_prod(z, axis=1, keepdims=True) * z,
    "cumprod": lambda z: tf.cumprod(z, axis=1),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_rules_give_the_conjugate_derivative(name):
    away = name in ("log", "log1p", "sqrt", "rsqrt", "reciprocal", "pow_const", "div", "tan")
    check_gradients(_real_loss(UNARY[name]), _inputs(away_from_zero=away), rtol=1e-5, atol=1e-6)


def test_pow_gradient_in_the_exponent():
    base = np.abs(R.randn(*SHAPE)) + 0.5 + 0.3j

    def f(z):
        return tf.pow(tf.constant(base), z)
    check_gradients(_real_loss(f), _inputs())


def test_complex_abs_is_real_with_the_modulus_gradient():
    z = tf.complex(tf.constant([3.0, 0.0]), tf.constant([4.0, 0.0]))
    r = tf.abs(z)
    assert r.dtype == tf.float32
    g, = tf.gradients(r, z)
    with tf.Session() as s:
        np.testing.assert_allclose(s.run(r), [5.0, 0.0])
        np.testing.assert_allclose(s.run(g), [0.6 + 0.8j, 0.0])  # z / |z|, 0 at 0
    wr = R.randn(*SHAPE)
    check_gradients(lambda a, b: tf.abs(tf.complex(a, b)) * wr, _inputs())


@pytest.mark.parametrize("ta,tb,adj", [(False, False, False), (True, False, False),
                                       (False, True, False), (True, True, True),
                                       (True, False, True)])
def test_matmul_gradients(ta, tb, adj):
    wb = R.randn(3, 3) + 1j * R.randn(3, 3)

    def f(z):  # z used as both operands, each transposed/adjointed or not
        zz = tf.matmul(z, z, transpose_a=ta and not adj, transpose_b=tb and not adj,
                       adjoint_a=ta and adj, adjoint_b=tb and adj)
        return tf.matmul(zz, tf.constant(wb))
    check_gradients(_real_loss(f, R.randn(3, 3) + 1j * R.randn(3, 3)), _inputs((3, 3)))


def test_batch_matmul_adjoint_forward_and_gradients():
    x = R.randn(2, 3, 3) + 1j * R.randn(2, 3, 3)
    y = R.randn(2, 3, 3) + 1j * R.randn(2, 3, 3)
    with tf.Session() as s:
        got = s.run(tf.matmul(tf.constant(x), tf.constant(y), adjoint_a=True, adjoint_b=True))
        got2 = s.run(tf.matmul(tf.constant(x[0]), tf.constant(y[0]), adjoint_a=True))
    np.testing.assert_allclose(got, np.conj(np.swapaxes(x, 1, 2)) @ np.conj(np.swapaxes(y, 1, 2)))
    np.testing.assert_allclose(got2, np.conj(x[0].T) @ y[0])
    w = R.randn(2, 3, 3) + 1j * R.randn(2, 3, 3)
    for adj in [(False, False), (True, False), (False, True), (True, True)]:
        def f(z, adj=adj):
            return tf.matmul(z, tf.constant(y), adjoint_a=adj[0], adjoint_b=adj[1])
        check_gradients(_real_loss(f, w), _inputs((2, 3, 3)))


def test_einsum_gradient():
    y = R.randn(3, 4) + 1j * R.randn(3, 4)
    w = R.randn(2, 4) + 1j * R.randn(2, 4)
    check_gradients(_real_loss(lambda z: tf.einsum("ij,jk->ik", z, tf.constant(y)), w),
                    _inputs())


def test_real_gradients_add_no_conj_ops():
    x = tf.placeholder(tf.float32, [2, 3])
    y = tf.reduce_sum(tf.exp(x) * tf.sqrt(x) + tf.tanh(tf.matmul(x, x, transpose_b=True))[0, 0])
    tf.gradients(y, x)
    assert not [op for op in tf.get_default_graph().get_operations() if op.type == "Conj"]
