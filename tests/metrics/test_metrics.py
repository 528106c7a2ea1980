"""tf.metrics: streaming values over several batches against NumPy computed on all the data
at once, TF1's variables (local, metric, not trainable), collections and errors."""
import numpy as np
import pytest

import tfnb as tf
from tfnb.framework import errors

R = np.random.RandomState(5)


def _stream(metric_fn, batches, **kw):
    """Builds the metric on placeholders, runs update_op once per batch; returns (value, last
    update result, session-free snapshot of the value before any update)."""
    first = batches[0]
    phs = {k: tf.placeholder(tf.as_dtype(np.asarray(v).dtype),
                             [None] + list(np.shape(v))[1:]) for k, v in first.items()}
    value, update = metric_fn(**phs, **kw)
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        before = sess.run(value)
        last = None
        for b in batches:
            last = sess.run(update, {phs[k]: v for k, v in b.items()})
        return sess.run(value), last, before


def _split(n_batches, **arrays):
    idx = np.array_split(np.arange(len(next(iter(arrays.values())))), n_batches)
    return [{k: v[i] for k, v in arrays.items()} for i in idx]


def test_accuracy_over_batches():
    labels = R.randint(0, 4, 50).astype(np.int64)
    preds = np.where(R.rand(50) < 0.7, labels, R.randint(0, 4, 50)).astype(np.int64)
    value, last, before = _stream(tf.metrics.accuracy, _split(3, labels=labels,
                                                              predictions=preds))
    assert before == 0.0
    np.testing.assert_allclose(value, np.mean(labels == preds), rtol=1e-6)
    assert last == value


def test_accuracy_weights_and_squeezable_dims():
    labels = R.randint(0, 3, (20, 1)).astype(np.int32)        # [n, 1] next to [n]
    preds = R.randint(0, 3, 20).astype(np.int64)
    w = R.rand(20).astype(np.float32)
    value, _, _ = _stream(tf.metrics.accuracy, _split(2, labels=labels, predictions=preds,
                                                      weights=w))
    want = np.sum((labels[:, 0] == preds) * w) / np.sum(w)
    np.testing.assert_allclose(value, want, rtol=1e-5)


def test_metric_variables_are_local_uninitialized_by_global_init_and_resettable():
    x = tf.placeholder(tf.float32, [None])
    m, update = tf.metrics.mean(x)
    assert [v.name for v in tf.local_variables()] == ["mean/total:0", "mean/count:0"]
    assert tf.get_collection(tf.GraphKeys.METRIC_VARIABLES) == tf.local_variables()
    assert tf.trainable_variables() == [] and tf.global_variables() == []
    assert m.op.name == "mean/value" and update.op.name == "mean/update_op"
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        sess.run(update, {x: [1.0, 2.0, 6.0]})
        assert sess.run(m) == 3.0
        sess.run(tf.local_variables_initializer())  # a fresh measurement
        assert sess.run(m) == 0.0
        sess.run(update, {x: [5.0]})
        assert sess.run(m) == 5.0
    _, _ = tf.metrics.mean(x)
    assert tf.local_variables()[-1].name == "mean_1/count:0"


def test_mean_weights_broadcast_and_errors():
    v = R.randn(6, 3).astype(np.float32)
    w = R.rand(6, 1).astype(np.float32)
    value, _, _ = _stream(tf.metrics.mean, _split(2, values=v, weights=w))
    np.testing.assert_allclose(value, np.sum(v * w) / np.sum(np.broadcast_to(w, v.shape)),
                               rtol=1e-5)
    with pytest.raises(ValueError, match="weights can not be broadcast"):
        tf.metrics.mean(tf.zeros([4, 3]), weights=tf.zeros([4, 2]))
    with pytest.raises(ValueError, match="lists or tuples"):
        tf.metrics.mean(tf.zeros([2]), metrics_collections="my_metrics")


def test_collections():
    v, u = tf.metrics.mean_squared_error(tf.zeros([2]), tf.ones([2]),
                                         metrics_collections=["m"], updates_collections=["u"])
    assert tf.get_collection("m") == [v] and tf.get_collection("u") == [u]


@pytest.mark.parametrize("name, ref", [
    ("mean_absolute_error", lambda y, p, w: np.sum(np.abs(p - y) * w) / np.sum(w)),
    ("mean_squared_error", lambda y, p, w: np.sum((p - y) ** 2 * w) / np.sum(w)),
    ("root_mean_squared_error", lambda y, p, w: np.sqrt(np.sum((p - y) ** 2 * w) / np.sum(w)))])
def test_regression_errors(name, ref):
    y = R.randn(30, 2).astype(np.float32)
    p = R.randn(30, 2).astype(np.float32)
    w = R.rand(30, 2).astype(np.float32)
    value, _, _ = _stream(getattr(tf.metrics, name), _split(3, labels=y, predictions=p,
                                                            weights=w))
    np.testing.assert_allclose(value, ref(y, p, w), rtol=1e-5)


def test_mean_relative_error_cosine_distance_percentage_below():
    y = R.randn(12).astype(np.float32)
    p = R.randn(12).astype(np.float32)
    norm = np.where(R.rand(12) < 0.3, 0.0, R.rand(12) + 0.5).astype(np.float32)
    value, _, _ = _stream(tf.metrics.mean_relative_error,
                          _split(2, labels=y, predictions=p, normalizer=norm))
    rel = np.where(norm == 0, 0.0, np.abs(y - p) / np.where(norm == 0, 1, norm))
    np.testing.assert_allclose(value, rel.mean(), rtol=1e-5)
    a = R.randn(8, 3)
    b = R.randn(8, 3)
    a = (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)
    b = (b / np.linalg.norm(b, axis=1, keepdims=True)).astype(np.float32)
    value, _, _ = _stream(tf.metrics.mean_cosine_distance, _split(2, labels=a, predictions=b),
                          dim=1)
    np.testing.assert_allclose(value, 1 - np.mean(np.sum(a * b, 1)), rtol=1e-5)
    v = R.randn(40).astype(np.float32)
    value, _, _ = _stream(tf.metrics.percentage_below, _split(4, values=v), threshold=0.3)
    np.testing.assert_allclose(value, np.mean(v < 0.3), rtol=1e-6)


def test_mean_tensor():
    v = R.randn(6, 2, 3).astype(np.float32)
    x = tf.placeholder(tf.float32, [2, 3])
    w = tf.placeholder(tf.float32, [2, 3])
    m, update = tf.metrics.mean_tensor(x, weights=w)
    ws = R.rand(6, 2, 3).astype(np.float32)
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        for vi, wi in zip(v, ws):
            sess.run(update, {x: vi, w: wi})
        np.testing.assert_allclose(sess.run(m), np.sum(v * ws, 0) / np.sum(ws, 0), rtol=1e-5)


def _binary_data(n=60):
    labels = R.rand(n) < 0.4
    preds = R.rand(n) < 0.5
    w = R.rand(n).astype(np.float32)
    return labels, preds, w


@pytest.mark.parametrize("name, want_label, want_pred", [
    ("true_positives", True, True), ("false_positives", False, True),
    ("true_negatives", False, False), ("false_negatives", True, False)])
def test_confusion_counts(name, want_label, want_pred):
    labels, preds, w = _binary_data()
    value, _, _ = _stream(getattr(tf.metrics, name), _split(3, labels=labels.astype(np.int32),
                                                            predictions=preds, weights=w))
    hit = (labels == want_label) & (preds == want_pred)
    np.testing.assert_allclose(value, np.sum(hit * w), rtol=1e-5)


def test_precision_and_recall():
    labels, preds, w = _binary_data()
    tp = np.sum((labels & preds) * w)
    fp = np.sum((~labels & preds) * w)
    fn = np.sum((labels & ~preds) * w)
    batches = _split(3, labels=labels, predictions=preds.astype(np.int64), weights=w)
    np.testing.assert_allclose(_stream(tf.metrics.precision, batches)[0], tp / (tp + fp),
                               rtol=1e-5)
    np.testing.assert_allclose(_stream(tf.metrics.recall, batches)[0], tp / (tp + fn),
                               rtol=1e-5)
    # Nothing predicted positive yet: precision is 0, not NaN.
    assert _stream(tf.metrics.precision, [{"labels": np.array([True]),
                                           "predictions": np.array([False])}])[0] == 0.0


def test_counts_and_ratios_at_thresholds():
    labels = R.rand(50) < 0.5
    scores = R.rand(50).astype(np.float32)
    w = R.rand(50).astype(np.float32)
    th = [0.0, 0.25, 0.5, 0.9]
    batches = _split(2, labels=labels, predictions=scores, weights=w)
    pos = scores[None, :] > np.array(th)[:, None]
    tp = np.sum((pos & labels) * w, 1)
    fp = np.sum((pos & ~labels) * w, 1)
    fn = np.sum((~pos & labels) * w, 1)
    tn = np.sum((~pos & ~labels) * w, 1)
    for name, want in [("true_positives", tp), ("false_positives", fp),
                       ("false_negatives", fn), ("true_negatives", tn)]:
        got = _stream(getattr(tf.metrics, name + "_at_thresholds"), batches, thresholds=th)[0]
        np.testing.assert_allclose(got, want, rtol=1e-5)
    np.testing.assert_allclose(_stream(tf.metrics.precision_at_thresholds, batches,
                                       thresholds=th)[0], tp / (tp + fp + 1e-7), rtol=1e-5)
    np.testing.assert_allclose(_stream(tf.metrics.recall_at_thresholds, batches,
                                       thresholds=th)[0], tp / (tp + fn + 1e-7), rtol=1e-5)


def _np_curve(labels, scores, grid):
    pos = scores[None, :] > np.array(grid)[:, None]
    tp = (pos & labels).sum(1).astype(np.float64)
    fp = (pos & ~labels).sum(1).astype(np.float64)
    fn = (~pos & labels).sum(1).astype(np.float64)
    tn = (~pos & ~labels).sum(1).astype(np.float64)
    return tp, fp, fn, tn


def test_auc_roc_matches_the_rank_statistic():
    scores = R.rand(2000).astype(np.float32)
    labels = R.rand(2000) < scores                   # informative scores
    value, last, _ = _stream(tf.metrics.auc, _split(4, labels=labels, predictions=scores),
                             num_thresholds=1000)
    exact = np.mean(scores[labels][:, None] > scores[~labels][None, :])
    assert abs(value - exact) < 2e-3 and last == value


@pytest.mark.parametrize("curve", ["ROC", "PR"])
@pytest.mark.parametrize("method", ["trapezoidal", "minoring", "majoring"])
def test_auc_riemann_sums(curve, method):
    scores = R.rand(300).astype(np.float32)
    labels = R.rand(300) < scores
    n = 50
    grid = [-1e-7] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + 1e-7]
    tp, fp, fn, tn = _np_curve(labels, scores, grid)
    eps = 1e-6
    rec = (tp + eps) / (tp + fn + eps)
    if curve == "ROC":
        x, y = fp / (fp + tn + eps), rec
    else:
        x, y = rec, (tp + eps) / (tp + fp + eps)
    h = {"trapezoidal": (y[:-1] + y[1:]) / 2, "minoring": np.minimum(y[:-1], y[1:]),
         "majoring": np.maximum(y[:-1], y[1:])}[method]
    value = _stream(tf.metrics.auc, _split(3, labels=labels, predictions=scores),
                    num_thresholds=n, curve=curve, summation_method=method)[0]
    np.testing.assert_allclose(value, np.sum((x[:-1] - x[1:]) * h), rtol=1e-4)


def test_auc_pr_careful_interpolation_approaches_average_precision():
    scores = R.rand(3000).astype(np.float32)
    labels = R.rand(3000) < scores ** 2
    value = _stream(tf.metrics.auc, _split(2, labels=labels, predictions=scores),
                    num_thresholds=500, curve="PR", summation_method="careful_interpolation")[0]
    order = np.argsort(-scores)
    hits = labels[order]
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    average_precision = np.sum(precision_at * hits) / hits.sum()
    assert abs(value - average_precision) < 5e-3


def test_auc_rejects_predictions_outside_unit_interval():
    with pytest.raises(errors.InvalidArgumentError, match=r"predictions must be in \[0, 1\]"):
        tf.metrics.auc(tf.constant([True, False]), tf.constant([0.5, 1.5]))  # known: at once
    a, op = tf.metrics.auc(tf.constant([True, False]),
                           tf.placeholder_with_default([0.5, 1.5], [2]))
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        with pytest.raises(errors.InvalidArgumentError, match=r"predictions must be in \[0, 1\]"):
            sess.run(op)
        assert sess.run(a) == 0.0  # the failed update changed nothing
    with pytest.raises(ValueError, match="curve must be either ROC or PR"):
        tf.metrics.auc(tf.constant([True]), tf.constant([0.5]), curve="XY")


def test_sensitivity_and_specificity_at():
    scores = R.rand(400).astype(np.float32)
    labels = R.rand(400) < scores
    n = 200
    grid = [-1e-7] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + 1e-7]
    tp, fp, fn, tn = _np_curve(labels, scores, grid)
    spec = tn / (tn + fp + 1e-7)
    i = np.argmin(np.abs(spec - 0.7))
    got = _stream(tf.metrics.sensitivity_at_specificity, _split(2, labels=labels,
                                                               predictions=scores),
                  specificity=0.7)[0]
    np.testing.assert_allclose(got, tp[i] / (tp[i] + fn[i] + 1e-7), rtol=1e-5)
    grid2 = grid[:-1] + [1 - 1e-7]
    tp, fp, fn, tn = _np_curve(labels, scores, grid2)
    gap = np.abs(tp / (tp + fn + 1e-7) - 0.8)
    j = np.nonzero(gap == gap.min())[0][-1]
    got = _stream(tf.metrics.specificity_at_sensitivity, _split(2, labels=labels,
                                                               predictions=scores),
                  sensitivity=0.8)[0]
    np.testing.assert_allclose(got, tn[j] / (tn[j] + fp[j] + 1e-7), rtol=1e-5)
    with pytest.raises(ValueError, match="specificity"):
        tf.metrics.sensitivity_at_specificity(tf.constant([True]), tf.constant([0.5]), 1.5)


def test_mean_per_class_accuracy_and_mean_iou():
    labels = R.randint(0, 4, 80).astype(np.int64)
    preds = np.where(R.rand(80) < 0.6, labels, R.randint(0, 4, 80)).astype(np.int64)
    preds[preds == 3] = 2  # class 3 never predicted
    batches = _split(3, labels=labels, predictions=preds)
    per_class = [np.mean(preds[labels == c] == c) for c in range(5) if (labels == c).any()]
    got = _stream(tf.metrics.mean_per_class_accuracy, batches, num_classes=5)[0]
    np.testing.assert_allclose(got, np.sum(per_class) / 5, rtol=1e-5)  # TF1 averages all 5
    cm = np.zeros((5, 5))
    np.add.at(cm, (labels, preds), 1)
    tp = np.diag(cm)
    den = cm.sum(0) + cm.sum(1) - tp
    want = np.sum(tp[den > 0] / den[den > 0]) / np.sum(den > 0)
    value, last, _ = _stream(tf.metrics.mean_iou, batches, num_classes=5)
    np.testing.assert_allclose(value, want, rtol=1e-5)
    np.testing.assert_array_equal(last, cm)  # update_op returns the confusion matrix
