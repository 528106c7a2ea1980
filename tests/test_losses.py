"""tf.losses: every loss x weights x reduction against NumPy, the LOSSES collection, total and
regularization losses, construction-time errors, and gradients (finite differences).

As in TF1 the losses compute in float32, so the gradient checks use float32-sized tolerances.
"""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients

R = np.random.RandomState(5)
LABELS = R.randn(4, 3).astype(np.float32)
PRED = R.randn(4, 3).astype(np.float32)
PROBS = R.uniform(0.05, 0.95, (4, 3)).astype(np.float32)
BINARY = (R.rand(4, 3) > 0.5).astype(np.float32)
CLASSES = np.array([0, 2, 1, 1], np.int32)
ONEHOT = np.eye(3, dtype=np.float32)[CLASSES]

WEIGHTS = {
    "scalar": 1.0,
    "scalar_2": 2.0,
    "zero": 0.0,
    "column": np.array([[1.0], [0.0], [2.0], [0.5]], np.float32),
    "full": (R.rand(4, 3) * (R.rand(4, 3) > 0.3)).astype(np.float32),
}
BATCH_WEIGHTS = {"scalar": 1.0, "zero": 0.0, "batch": np.array([1.0, 0.0, 2.0, 3.0], np.float32)}


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _log_softmax(x):
    s = x - x.max(-1, keepdims=True)
    return s - np.log(np.exp(s).sum(-1, keepdims=True))


def _huber(e, delta=1.0):
    a = np.abs(e)
    q = np.minimum(a, delta)
    return 0.5 * q * q + delta * (a - q)


def _reduce(losses, weights, reduction):
    w = np.broadcast_to(np.asarray(weights, np.float64), losses.shape)
    weighted = losses * w
    if reduction == "none":
        return weighted
    total = weighted.sum()
    denom = {"weighted_sum": 1.0, "weighted_mean": w.sum(),
             "weighted_sum_over_batch_size": losses.size,
             "weighted_sum_by_nonzero_weights": np.count_nonzero(w)}[reduction]
    return total / denom if denom else 0.0 * total


ELEMENTWISE = [
    ("mean_squared_error", lambda w, r: tf.losses.mean_squared_error(LABELS, PRED, w, reduction=r),
     (PRED - LABELS) ** 2),
    ("absolute_difference", lambda w, r: tf.losses.absolute_difference(LABELS, PRED, w,
                                                                        reduction=r),
     np.abs(PRED - LABELS)),
    ("huber_loss", lambda w, r: tf.losses.huber_loss(LABELS, PRED, w, delta=0.7, reduction=r),
     _huber(PRED - LABELS, 0.7)),
    ("log_loss", lambda w, r: tf.losses.log_loss(BINARY, PROBS, w, reduction=r),
     -BINARY * np.log(PROBS + 1e-7) - (1 - BINARY) * np.log(1 - PROBS + 1e-7)),
    ("hinge_loss", lambda w, r: tf.losses.hinge_loss(BINARY, PRED, w, reduction=r),
     np.maximum(0, 1 - (2 * BINARY - 1) * PRED)),
    ("sigmoid_cross_entropy", lambda w, r: tf.losses.sigmoid_cross_entropy(BINARY, PRED, w,
                                                                            reduction=r),
     -BINARY * np.log(_sigmoid(PRED)) - (1 - BINARY) * np.log(1 - _sigmoid(PRED))),
    ("sigmoid_cross_entropy_smoothed", lambda w, r: tf.losses.sigmoid_cross_entropy(
        BINARY, PRED, w, label_smoothing=0.2, reduction=r),
     -(BINARY * 0.8 + 0.1) * np.log(_sigmoid(PRED)) - (0.9 - BINARY * 0.8) * np.log(
         1 - _sigmoid(PRED))),
]
PER_EXAMPLE = [
    ("softmax_cross_entropy", lambda w, r: tf.losses.softmax_cross_entropy(ONEHOT, PRED, w,
                                                                            reduction=r),
     -(ONEHOT * _log_softmax(PRED)).sum(1)),
    ("softmax_cross_entropy_smoothed", lambda w, r: tf.losses.softmax_cross_entropy(
        ONEHOT, PRED, w, label_smoothing=0.3, reduction=r),
     -((ONEHOT * 0.7 + 0.1) * _log_softmax(PRED)).sum(1)),
    ("sparse_softmax_cross_entropy", lambda w, r: tf.losses.sparse_softmax_cross_entropy(
        CLASSES, PRED, w, reduction=r), -_log_softmax(PRED)[np.arange(4), CLASSES]),
    ("sparse_softmax_cross_entropy_column_labels",
     lambda w, r: tf.losses.sparse_softmax_cross_entropy(CLASSES[:, None], PRED, w, reduction=r),
     -_log_softmax(PRED)[np.arange(4), CLASSES]),
    ("cosine_distance", lambda w, r: tf.losses.cosine_distance(
        LABELS / np.linalg.norm(LABELS, axis=1, keepdims=True),
        PRED / np.linalg.norm(PRED, axis=1, keepdims=True), axis=1,
        weights=w if np.ndim(w) == 0 else np.reshape(w, [4, 1]), reduction=r),
     1 - (LABELS * PRED).sum(1) / np.linalg.norm(LABELS, axis=1) / np.linalg.norm(PRED, axis=1)),
]
REDUCTIONS = ["none", "weighted_sum", "weighted_mean", "weighted_sum_over_batch_size",
              "weighted_sum_by_nonzero_weights"]
ROWS = [(n, fn, ref, wn, r) for n, fn, ref in ELEMENTWISE for wn in WEIGHTS for r in REDUCTIONS] \
    + [(n, fn, ref, wn, r) for n, fn, ref in PER_EXAMPLE for wn in BATCH_WEIGHTS
       for r in REDUCTIONS]


@pytest.mark.parametrize("name,fn,ref,wname,reduction", ROWS,
                         ids=["%s-%s-%s" % (r[0], r[3], r[4]) for r in ROWS])
def test_loss_values(name, fn, ref, wname, reduction):
    w = WEIGHTS.get(wname, BATCH_WEIGHTS.get(wname))
    ref = np.asarray(ref, np.float64)
    if name.startswith("cosine"):
        ref = ref[:, None]
    wb = w if np.ndim(w) == 0 or np.ndim(w) == ref.ndim else np.reshape(w, ref.shape)
    loss = fn(w, reduction)
    assert loss.dtype == tf.float32
    expected = _reduce(ref, wb, reduction)
    assert loss.shape.as_list() == list(np.shape(expected))
    with tf.Session() as sess:
        value = sess.run(loss)
    assert value.dtype == np.float32
    np.testing.assert_allclose(value, expected, rtol=2e-5, atol=1e-6)
    assert tf.get_collection(tf.GraphKeys.LOSSES) == [loss]


def test_default_reduction_is_sum_by_nonzero_weights():
    assert tf.losses.Reduction.SUM_OVER_NONZERO_WEIGHTS == "weighted_sum_by_nonzero_weights"
    assert tf.losses.Reduction.SUM_BY_NONZERO_WEIGHTS == "weighted_sum_by_nonzero_weights"
    loss = tf.losses.mean_squared_error(LABELS, PRED, WEIGHTS["column"])
    with tf.Session() as sess:
        value = sess.run(loss)
    np.testing.assert_allclose(value, ((PRED - LABELS) ** 2 * WEIGHTS["column"]).sum() / 9,
                               rtol=1e-6)


def test_mean_pairwise_squared_error():
    w = np.array([[1.0], [0.0], [2.0], [0.5]], np.float32)
    loss = tf.losses.mean_pairwise_squared_error(LABELS, PRED, w)
    d = (PRED - LABELS).astype(np.float64)
    per = [np.mean([(d[b, i] - d[b, j]) ** 2 for i in range(3) for j in range(3) if i != j])
           for b in range(4)]
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(loss), (np.array(per) * w[:, 0]).sum(), rtol=1e-5)
    assert tf.losses.get_losses() == [loss]


def test_dtypes_follow_tf1():
    """Regression losses compute in float32; cross-entropies cast back to the logits' dtype."""
    x64 = PRED.astype(np.float64)
    assert tf.losses.mean_squared_error(LABELS.astype(np.float64), x64).dtype == tf.float32
    assert tf.losses.sigmoid_cross_entropy(BINARY, x64).dtype == tf.float64
    assert tf.losses.softmax_cross_entropy(ONEHOT, x64).dtype == tf.float64
    assert tf.losses.sparse_softmax_cross_entropy(CLASSES, x64).dtype == tf.float64


# ----------------------------------------------------------------------------------------------
# Collections, total and regularization losses
# ----------------------------------------------------------------------------------------------
def test_loss_collection_total_and_regularization():
    a = tf.losses.mean_squared_error(LABELS, PRED)
    tf.losses.absolute_difference(LABELS, PRED, loss_collection=None)
    with tf.variable_scope("head"):
        b = tf.losses.hinge_loss(BINARY, PRED)
    extra = tf.constant(0.25)
    tf.losses.add_loss(extra)
    assert tf.losses.get_losses() == [a, b, extra]
    assert tf.losses.get_losses(scope="head") == [b]
    assert tf.losses.get_regularization_losses() == []
    zero_reg = tf.losses.get_regularization_loss()
    v = tf.get_variable("v", [3], initializer=tf.ones_initializer(),
                        regularizer=lambda t: 0.5 * tf.reduce_sum(t * t))
    assert len(tf.losses.get_regularization_losses()) == 1
    reg = tf.losses.get_regularization_loss()
    total = tf.losses.get_total_loss()
    total_no_reg = tf.losses.get_total_loss(add_regularization_losses=False)
    assert total.op.name == "total_loss" and reg.op.name == "total_regularization_loss"
    with tf.Session() as sess:
        sess.run(v.initializer)
        av, bv, zr, rv, tv, tn = sess.run([a, b, zero_reg, reg, total, total_no_reg])
    assert zr == 0.0 and rv == pytest.approx(1.5)
    np.testing.assert_allclose(tv, av + bv + 0.25 + 1.5, rtol=1e-6)
    np.testing.assert_allclose(tn, av + bv + 0.25, rtol=1e-6)


def test_total_loss_without_losses_raises():
    with pytest.raises(ValueError, match="at least one"):
        tf.losses.get_total_loss()


def test_compute_weighted_loss_directly():
    losses = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    loss = tf.losses.compute_weighted_loss(losses, weights=tf.constant([[0.0], [1.0]]),
                                           reduction=tf.losses.Reduction.MEAN)
    with tf.Session() as sess:
        assert sess.run(loss) == pytest.approx(3.5)
    assert tf.losses.get_losses() == [loss]


# ----------------------------------------------------------------------------------------------
# Errors at construction
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("build,exc,match", [
    (lambda: tf.losses.mean_squared_error(LABELS, PRED[:, :2]), ValueError, "incompatible"),
    (lambda: tf.losses.mean_squared_error(LABELS, PRED, weights=np.ones((3, 3), np.float32)),
     ValueError, "can not be broadcast.*dim 0"),
    (lambda: tf.losses.mean_squared_error(LABELS, PRED, weights=np.ones(3, np.float32)),
     ValueError, "can not be broadcast.*rank"),
    (lambda: tf.losses.softmax_cross_entropy(ONEHOT[:, :2], PRED), ValueError, "incompatible"),
    (lambda: tf.losses.sparse_softmax_cross_entropy(np.array([0, 3, 1, 1]), PRED), ValueError,
     "outside the valid range"),
    (lambda: tf.losses.sparse_softmax_cross_entropy(CLASSES[:3], PRED), ValueError, "mismatch"),
    (lambda: tf.losses.sigmoid_cross_entropy(BINARY[:2], PRED), ValueError, "incompatible"),
    (lambda: tf.losses.mean_squared_error(None, PRED), ValueError, "labels"),
    (lambda: tf.losses.cosine_distance(LABELS, PRED), ValueError, "axis"),
    (lambda: tf.losses.compute_weighted_loss(PRED, reduction="mean"), ValueError,
     "Invalid Reduction Key"),
], ids=["shape", "weights_dim", "weights_rank", "softmax_shape", "sparse_label_range",
        "sparse_batch", "sigmoid_shape", "none_labels", "cosine_axis", "reduction_key"])
def test_construction_errors(build, exc, match):
    with pytest.raises(exc, match=match):
        build()


# ----------------------------------------------------------------------------------------------
# Gradients (float32 inside, so float32-sized steps and tolerances)
# ----------------------------------------------------------------------------------------------
W_COL = WEIGHTS["column"]
GRADS = [
    ("mean_squared_error", lambda p: tf.losses.mean_squared_error(LABELS, p, W_COL), PRED),
    ("absolute_difference", lambda p: tf.losses.absolute_difference(LABELS, p, W_COL), PRED),
    ("huber_loss", lambda p: tf.losses.huber_loss(LABELS, p, W_COL, delta=0.7), PRED),
    ("log_loss", lambda p: tf.losses.log_loss(BINARY, p, W_COL), PROBS),
    ("hinge_loss", lambda p: tf.losses.hinge_loss(BINARY, p, W_COL), PRED),
    ("sigmoid_cross_entropy", lambda p: tf.losses.sigmoid_cross_entropy(
        BINARY, p, W_COL, label_smoothing=0.1), PRED),
    ("softmax_cross_entropy", lambda p: tf.losses.softmax_cross_entropy(
        ONEHOT, p, BATCH_WEIGHTS["batch"], label_smoothing=0.1), PRED),
    ("sparse_softmax_cross_entropy", lambda p: tf.losses.sparse_softmax_cross_entropy(
        CLASSES, p, BATCH_WEIGHTS["batch"]), PRED),
    ("mean_pairwise_squared_error", lambda p: tf.losses.mean_pairwise_squared_error(
        LABELS, p, W_COL), PRED),
    ("cosine_distance", lambda p: tf.losses.cosine_distance(LABELS, p, axis=1), PRED),
]


@pytest.mark.parametrize("fn,x", [g[1:] for g in GRADS], ids=[g[0] for g in GRADS])
def test_gradients(fn, x):
    check_gradients(lambda p: tf.cast(fn(p), tf.float64), [x], eps=1e-3, rtol=2e-3, atol=2e-4)
