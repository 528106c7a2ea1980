"""The SigmoidCrossEntropyWithLogits kernel (in-place float32/float64 path) against a float64
reference and the stepwise kernel: special values, soft labels, scalars, float16."""
import numpy as np
import pytest

import tfnb as tf
from tfnb.ops import nn_ops as N


class _Ctx:
    xp = np


def _kernel():
    return N._sigmoid_xent_kernel(None, _Ctx())


def _reference(x, z):
    x64, z64 = x.astype(np.float64), z.astype(np.float64)
    loss = np.maximum(x64, 0) - x64 * z64 + np.log1p(np.exp(-np.abs(x64)))
    return loss, 1.0 / (1.0 + np.exp(-x64)) - z64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_float64_reference_and_stepwise_backprop(dtype):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((16, 9)) * 10.0 ** rng.uniform(-4, 2.5, (16, 9))).astype(dtype)
    z = rng.random((16, 9)).astype(dtype)
    z[:, 0], z[:, 1] = 1, 0
    loss, back = _kernel()(x, z)
    assert loss.dtype == back.dtype == dtype and loss.shape == back.shape == x.shape
    ref_loss, ref_back = _reference(x, z)
    tol = 2e-6 if dtype == np.float32 else 1e-14
    # the loss cancels (max(x, 0) - x z) for soft labels: compare to the size of the terms
    scale = np.maximum(np.abs(x.astype(np.float64)), 1.0)
    assert np.all(np.abs(loss - ref_loss) <= tol * scale)
    np.testing.assert_allclose(back, ref_back, rtol=tol, atol=tol)
    # sigmoid(x) - z is the stepwise kernel's exactly
    np.testing.assert_array_equal(back, N._sigmoid_xent_stepwise(np, x, z)[1])


def test_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, 100.0, -100.0, np.nan, 1e-30, -1e-30],
                 np.float32)
    z = np.array([1, 0, 1, 0, 1, 0, 1, 0.5, 0.5], np.float32)
    with np.errstate(all="ignore"):   # inf * 0 (as TF: NaN)
        loss, back = _kernel()(x, z)
        old_loss, old_back = N._sigmoid_xent_stepwise(np, x, z)
    np.testing.assert_array_equal(back, old_back)
    np.testing.assert_array_equal(np.isnan(loss), np.isnan(old_loss))
    ok = ~np.isnan(loss)
    np.testing.assert_allclose(loss[ok], old_loss[ok], rtol=1e-6)
    # large |x| with the right label: the loss is exp(-|x|) itself, not 0 (log1p, not log)
    l2, _ = _kernel()(np.array([30.0, -30.0], np.float32), np.array([1.0, 0.0], np.float32))
    np.testing.assert_allclose(l2, np.exp(-30.0), rtol=1e-6)


def test_inputs_are_not_written():
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    z = np.full((3, 4), 0.25, np.float32)
    x.flags.writeable = z.flags.writeable = False
    _kernel()(x, z)
    np.testing.assert_array_equal(x, np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4))


@pytest.mark.parametrize("dtype", [tf.float16, tf.float32, tf.float64])
def test_through_a_session_scalar_and_matrix(dtype):
    for shape in [(), (2, 3)]:
        xv = np.full(shape, 0.7) if shape == () else np.array([[-2.0, 0.0, 3.0], [1.0, -0.5, 8.0]])
        zv = np.full(shape, 0.3) if shape == () else np.array([[1.0, 0.0, 1.0], [0.5, 0.0, 0.0]])
        x = tf.constant(xv, dtype)
        loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.constant(zv, dtype), logits=x)
        (g,) = tf.gradients(tf.reduce_sum(loss), [x])
        with tf.Session() as sess:
            lv, gv = sess.run([loss, g])
        ref_loss, ref_back = _reference(np.asarray(xv), np.asarray(zv))
        tol = 2e-3 if dtype == tf.float16 else 1e-6
        np.testing.assert_allclose(lv, ref_loss, rtol=tol, atol=tol)
        np.testing.assert_allclose(gv, ref_back, rtol=tol, atol=tol)
