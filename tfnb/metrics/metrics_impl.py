"""``tf.metrics``: streaming metrics that accumulate over many ``session.run`` calls.

Each metric returns ``(value, update_op)``. Its running totals are *local* variables (in
``GraphKeys.LOCAL_VARIABLES`` and ``GraphKeys.METRIC_VARIABLES``, not trainable, zeros at
first), so ``tf.local_variables_initializer()`` starts (or restarts) a measurement. Running
``update_op`` adds one batch to the totals and returns the metric so far; ``value`` reads the
metric without changing anything. As in TF1, all totals are float32 and a metric with nothing
counted yet is 0 (divisions are ``div_no_nan``).

Example:
    >>> acc, acc_op = tf.metrics.accuracy(labels=y, predictions=tf.argmax(logits, 1))
    >>> sess.run(tf.local_variables_initializer())
    >>> for batch in batches:
    ...     sess.run(acc_op, feed_dict=batch)
    >>> sess.run(acc)                  # the accuracy over every batch run so far
"""
from ..framework import dtypes
from ..framework.graph import GraphKeys, add_to_collections, control_dependencies
from ..losses.losses_impl import _assert_broadcastable
from ..ops import array_ops, math_ops, segment_ops
from ..ops.core import constant, convert_to_tensor
from ..ops.variable_scope import variable_scope
from ..ops.variables import Variable

__all__ = [
    "accuracy", "auc", "false_negatives", "false_negatives_at_thresholds", "false_positives",
    "false_positives_at_thresholds", "mean", "mean_absolute_error", "mean_cosine_distance",
    "mean_iou", "mean_per_class_accuracy", "mean_relative_error", "mean_squared_error",
    "mean_tensor", "percentage_below", "precision", "precision_at_thresholds", "recall",
    "recall_at_thresholds", "root_mean_squared_error", "sensitivity_at_specificity",
    "specificity_at_sensitivity", "true_negatives", "true_negatives_at_thresholds",
    "true_positives", "true_positives_at_thresholds",
]

# Keeps the ends of the threshold grid of auc & co just outside [0, 1].
_KEPSILON = 1e-7


# ----------------------------------------------------------------------------------------------
# Shared pieces: metric variables, shape alignment, weights
# ----------------------------------------------------------------------------------------------
def metric_variable(shape, dtype, validate_shape=True, name=None):
    """A non-trainable local variable of zeros, in the LOCAL and METRIC variable collections."""
    return Variable(lambda: array_ops.zeros(shape, dtype), trainable=False,
                    collections=[GraphKeys.LOCAL_VARIABLES, GraphKeys.METRIC_VARIABLES],
                    validate_shape=validate_shape, name=name)


def _check_collections(metrics_collections, updates_collections):
    for c in (metrics_collections, updates_collections):
        if c is not None and not isinstance(c, (list, tuple)):
            raise ValueError("metrics_collections and updates_collections must be lists or "
                             "tuples of collection names, got %r" % (c,))


def _add_to(collections, tensor):
    if collections:
        add_to_collections(collections, tensor)
    return tensor


def _squeeze_last_if(t, rank_diff_wanted, other):
    """Squeezes ``t``'s last dim when ``t`` has one dim more than ``other`` and it is 1."""
    tr, orank = t.shape.ndims, other.shape.ndims
    if tr is None or orank is None or tr - orank != rank_diff_wanted:
        return t
    last = t.shape.as_tuple()[-1]
    return array_ops.squeeze(t, [-1]) if last in (None, 1) else t


def _align(predictions, labels=None, weights=None):
    """TF1's ``_remove_squeezable_dimensions``: drops a trailing size-1 dim of ``labels`` or
    ``predictions`` whose ranks differ by one, and squeezes or expands ``weights`` to the
    predictions' rank (a scalar weight stays a scalar). Uses static ranks."""
    predictions = convert_to_tensor(predictions)
    if labels is not None:
        labels = convert_to_tensor(labels)
        labels = _squeeze_last_if(labels, 1, predictions)
        predictions = _squeeze_last_if(predictions, 1, labels)
        if not predictions.shape.is_compatible_with(labels.shape):
            raise ValueError("Shapes %s and %s are incompatible (predictions, labels)"
                             % (predictions.shape, labels.shape))
    if weights is None:
        return predictions, labels, None
    weights = convert_to_tensor(weights)
    wr, pr = weights.shape.ndims, predictions.shape.ndims
    if wr is not None and pr is not None and wr != 0:
        if wr - pr == 1:
            weights = array_ops.squeeze(weights, [-1])
        elif pr - wr == 1:
            weights = array_ops.expand_dims(weights, -1)
    return predictions, labels, weights


def _broadcast_weights(weights, values):
    """``weights`` (float32) broadcast to ``values``' shape, checked as TF1 does."""
    weights = math_ops.cast(weights, dtypes.float32)
    _assert_broadcastable(weights, values)
    if weights.shape.is_fully_defined() and weights.shape == values.shape:
        return weights
    return math_ops.multiply(weights, array_ops.ones_like(values, dtype=dtypes.float32))


def _ratio(num, den, name):
    return math_ops.div_no_nan(num, math_ops.maximum(den, constant(0.0)), name=name)


# ----------------------------------------------------------------------------------------------
# mean and the metrics that are means
# ----------------------------------------------------------------------------------------------
def mean(values, weights=None, metrics_collections=None, updates_collections=None, name=None):
    """The (weighted) mean of ``values`` over every batch ``update_op`` has seen.

    ``update_op`` adds ``sum(values * weights)`` to a ``total`` and ``sum(weights)`` to a
    ``count`` (weights default to 1; a weight of 0 masks a value); the metric is
    ``total / count``.

    Returns:
        ``(mean, update_op)``; both are float32 scalars.
    """
    _check_collections(metrics_collections, updates_collections)
    with variable_scope(name, "mean", (values, weights)):
        values = math_ops.cast(values, dtypes.float32)
        total = metric_variable([], dtypes.float32, name="total")
        count = metric_variable([], dtypes.float32, name="count")
        if weights is None:
            num_values = math_ops.cast(array_ops.size(values), dtypes.float32)
        else:
            values, _, weights = _align(values, None, weights)
            weights = _broadcast_weights(weights, values)
            values = math_ops.multiply(values, weights)
            num_values = math_ops.reduce_sum(weights)
        update_total = total.assign_add(math_ops.reduce_sum(values))
        with control_dependencies(_after(values)):
            update_count = count.assign_add(num_values)
        value = _add_to(metrics_collections, _ratio(total.value(), count.value(), "value"))
        update_op = _add_to(updates_collections, _ratio(update_total, update_count, "update_op"))
        return value, update_op


def _after(values):
    """The control inputs that order a count update after ``values`` (as TF1 does). A fed
    placeholder is ready when the step starts, and tfnb's runtime (unlike TF's, which moves
    control edges of fed placeholders to the feed) would run the placeholder op itself."""
    return [] if values.op.type == "Placeholder" else [values]


def accuracy(labels, predictions, weights=None, metrics_collections=None,
             updates_collections=None, name=None):
    """How often ``predictions`` equals ``labels`` (a weighted :func:`mean` of the matches).

    Example:
        >>> acc, acc_op = tf.metrics.accuracy(labels, tf.argmax(logits, 1))
    """
    predictions, labels, weights = _align(predictions, labels, weights)
    if labels.dtype is not predictions.dtype:
        predictions = math_ops.cast(predictions, labels.dtype)
    is_correct = math_ops.cast(math_ops.equal(predictions, labels), dtypes.float32)
    return mean(is_correct, weights, metrics_collections, updates_collections,
                name or "accuracy")


def mean_absolute_error(labels, predictions, weights=None, metrics_collections=None,
                        updates_collections=None, name=None):
    """The (weighted) mean of ``|predictions - labels|``."""
    predictions, labels, weights = _align(predictions, labels, weights)
    return mean(math_ops.abs(predictions - labels), weights, metrics_collections,
                updates_collections, name or "mean_absolute_error")


def mean_squared_error(labels, predictions, weights=None, metrics_collections=None,
                       updates_collections=None, name=None):
    """The (weighted) mean of ``(labels - predictions)^2``."""
    predictions, labels, weights = _align(predictions, labels, weights)
    return mean(math_ops.squared_difference(labels, predictions), weights, metrics_collections,
                updates_collections, name or "mean_squared_error")


def root_mean_squared_error(labels, predictions, weights=None, metrics_collections=None,
                            updates_collections=None, name=None):
    """The square root of :func:`mean_squared_error`."""
    _check_collections(metrics_collections, updates_collections)
    predictions, labels, weights = _align(predictions, labels, weights)
    mse, update_mse = mean_squared_error(labels, predictions, weights, None, None,
                                         name or "root_mean_squared_error")
    return (_add_to(metrics_collections, math_ops.sqrt(mse)),
            _add_to(updates_collections, math_ops.sqrt(update_mse)))


def mean_relative_error(labels, predictions, normalizer, weights=None, metrics_collections=None,
                        updates_collections=None, name=None):
    """The (weighted) mean of ``|labels - predictions| / normalizer`` (0 where the normalizer
    is 0)."""
    predictions, labels, weights = _align(predictions, labels, weights)
    normalizer = convert_to_tensor(normalizer)
    predictions, normalizer = _squeeze_last_if(predictions, 1, normalizer), _squeeze_last_if(
        normalizer, 1, predictions)
    if not predictions.shape.is_compatible_with(normalizer.shape):
        raise ValueError("Shapes %s and %s are incompatible (predictions, normalizer)"
                         % (predictions.shape, normalizer.shape))
    relative = math_ops.where(math_ops.equal(normalizer, constant(0.0, normalizer.dtype)),
                              array_ops.zeros_like(labels),
                              math_ops.divide(math_ops.abs(labels - predictions), normalizer))
    return mean(relative, weights, metrics_collections, updates_collections,
                name or "mean_relative_error")


def mean_cosine_distance(labels, predictions, dim, weights=None, metrics_collections=None,
                         updates_collections=None, name=None):
    """``1 - mean(sum(labels * predictions, dim))``: the cosine distance of unit vectors."""
    _check_collections(metrics_collections, updates_collections)
    predictions, labels, weights = _align(predictions, labels, weights)
    radial = math_ops.reduce_sum(math_ops.multiply(predictions, labels), axis=[dim],
                                 keepdims=True)
    mean_distance, update_op = mean(radial, weights, None, None, name or "mean_cosine_distance")
    return (_add_to(metrics_collections, math_ops.subtract(1.0, mean_distance)),
            _add_to(updates_collections, math_ops.subtract(1.0, update_op)))


def percentage_below(values, threshold, weights=None, metrics_collections=None,
                     updates_collections=None, name=None):
    """The (weighted) fraction of ``values`` below ``threshold``."""
    values = convert_to_tensor(values)
    below = math_ops.cast(math_ops.less(values, math_ops.cast(threshold, values.dtype)),
                          dtypes.float32)
    return mean(below, weights, metrics_collections, updates_collections,
                name or "percentage_below_threshold")


def mean_tensor(values, weights=None, metrics_collections=None, updates_collections=None,
                name=None):
    """The elementwise (weighted) mean of ``values`` over batches: a tensor of their shape,
    which must be fully known."""
    _check_collections(metrics_collections, updates_collections)
    with variable_scope(name, "mean", (values, weights)):
        values = math_ops.cast(values, dtypes.float32)
        if not values.shape.is_fully_defined():
            raise ValueError("mean_tensor needs values of a fully known shape, got %s"
                             % values.shape)
        total = metric_variable(values.shape.as_list(), dtypes.float32, name="total_tensor")
        count = metric_variable(values.shape.as_list(), dtypes.float32, name="count_tensor")
        num_values = array_ops.ones_like(values)
        if weights is not None:
            values, _, weights = _align(values, None, weights)
            weights = _broadcast_weights(weights, values)
            values = math_ops.multiply(values, weights)
            num_values = math_ops.multiply(num_values, weights)
        update_total = total.assign_add(values)
        with control_dependencies(_after(values)):
            update_count = count.assign_add(num_values)
        value = _add_to(metrics_collections, _ratio(total.value(), count.value(), "value"))
        update_op = _add_to(updates_collections, _ratio(update_total, update_count, "update_op"))
        return value, update_op


# ----------------------------------------------------------------------------------------------
# Counts: true/false positives/negatives, precision, recall
# ----------------------------------------------------------------------------------------------
def _count_condition(condition, weights, metrics_collections, updates_collections):
    """Sums the weights where the bool tensor ``condition`` is True, over batches."""
    count = metric_variable([], dtypes.float32, name="count")
    values = math_ops.cast(condition, dtypes.float32)
    if weights is not None:
        weights = math_ops.cast(convert_to_tensor(weights), dtypes.float32)
        wr, vr = weights.shape.ndims, values.shape.ndims
        if wr is not None and vr is not None and wr not in (0, vr):
            raise ValueError("weights must be a scalar or of the rank of the values (%d), got "
                             "shape %s" % (vr, weights.shape))
        values = math_ops.multiply(values, weights)
    value = _add_to(metrics_collections, count.value())
    update_op = _add_to(updates_collections, count.assign_add(math_ops.reduce_sum(values)))
    return value, update_op


def _counting_metric(default_name, label_is, prediction_is):
    def metric(labels, predictions, weights=None, metrics_collections=None,
               updates_collections=None, name=None):
        _check_collections(metrics_collections, updates_collections)
        with variable_scope(name, default_name, (predictions, labels, weights)):
            predictions, labels, weights = _align(math_ops.cast(predictions, dtypes.bool_),
                                                  math_ops.cast(labels, dtypes.bool_), weights)
            cond = math_ops.logical_and(
                math_ops.equal(labels, constant(label_is)),
                math_ops.equal(predictions, constant(prediction_is)))
            return _count_condition(cond, weights, metrics_collections, updates_collections)
    metric.__name__ = default_name
    metric.__doc__ = (
        "The (weighted) number of %s: labels %s and predictions %s (both cast to bool).\n\n"
        "    Returns:\n        ``(count, update_op)``, float32 scalars.\n"
        % (default_name.replace("_", " "), label_is, prediction_is))
    return metric


true_positives = _counting_metric("true_positives", True, True)
false_positives = _counting_metric("false_positives", False, True)
true_negatives = _counting_metric("true_negatives", False, False)
false_negatives = _counting_metric("false_negatives", True, False)


def _guarded_ratio(num, other, name):
    """``num / (num + other)``, 0 when nothing was counted (TF1's precision/recall)."""
    den = num + other
    return math_ops.where(math_ops.greater(den, constant(0.0)),
                          math_ops.div_no_nan(num, den), array_ops.zeros_like(den), name=name)


def _ratio_metric(default_name, other_metric, doc):
    def metric(labels, predictions, weights=None, metrics_collections=None,
               updates_collections=None, name=None):
        _check_collections(metrics_collections, updates_collections)
        with variable_scope(name, default_name, (predictions, labels, weights)):
            predictions, labels, weights = _align(math_ops.cast(predictions, dtypes.bool_),
                                                  math_ops.cast(labels, dtypes.bool_), weights)
            tp, tp_update = true_positives(labels, predictions, weights)
            other, other_update = other_metric(labels, predictions, weights)
            value = _add_to(metrics_collections, _guarded_ratio(tp, other, "value"))
            update_op = _add_to(updates_collections,
                                _guarded_ratio(tp_update, other_update, "update_op"))
            return value, update_op
    metric.__name__ = default_name
    metric.__doc__ = doc
    return metric


precision = _ratio_metric("precision", false_positives, """Precision: ``tp / (tp + fp)``.

    ``labels`` and ``predictions`` are cast to bool; weights weigh each example.

    Example:
        >>> prec, prec_op = tf.metrics.precision(labels, predictions)
    """)
recall = _ratio_metric("recall", false_negatives, """Recall: ``tp / (tp + fn)``.

    ``labels`` and ``predictions`` are cast to bool; weights weigh each example.
    """)


# ----------------------------------------------------------------------------------------------
# Metrics over a grid of thresholds: *_at_thresholds, auc, sensitivity/specificity
# ----------------------------------------------------------------------------------------------
def _confusion_at_thresholds(labels, predictions, thresholds, weights=None,
                             includes=("tp", "fn", "tn", "fp")):
    """Per threshold ``t``, the (weighted) counts of tp/fn/tn/fp when ``predictions > t`` is
    called positive. Returns ``(values, update_ops)``: dicts of float32 ``[len(thresholds)]``
    variables' values and of the ops that add one batch to them."""
    from ..ops.check_ops import assert_greater_equal, assert_less_equal
    for key in includes:
        if key not in ("tp", "fn", "tn", "fp"):
            raise ValueError("Invalid key: %s." % key)
    predictions = convert_to_tensor(predictions)
    with control_dependencies([
            assert_greater_equal(predictions, math_ops.cast(0.0, predictions.dtype),
                                 message="predictions must be in [0, 1]"),
            assert_less_equal(predictions, math_ops.cast(1.0, predictions.dtype),
                              message="predictions must be in [0, 1]")]):
        # identity: the checks also guard float32 predictions, which cast leaves as they are
        # (TF1 then skips them silently).
        predictions = array_ops.identity(math_ops.cast(predictions, dtypes.float32))
        predictions, labels, weights = _align(predictions, math_ops.cast(labels, dtypes.bool_),
                                              weights)
    n = len(thresholds)
    pred_row = array_ops.reshape(predictions, [1, -1])
    label_row = array_ops.reshape(labels, [1, -1])
    thresh = constant([[float(t)] for t in thresholds], dtype=dtypes.float32)  # [n, 1]
    pred_pos = math_ops.greater(pred_row, thresh)                              # [n, batch]
    label_pos = math_ops.logical_and(label_row, array_ops.ones_like(pred_pos))
    w_row = None
    if weights is not None:
        w_row = array_ops.reshape(_broadcast_weights(weights, predictions), [1, -1])
    cases = {"tp": lambda: math_ops.logical_and(label_pos, pred_pos),
             "fn": lambda: math_ops.logical_and(label_pos, math_ops.logical_not(pred_pos)),
             "tn": lambda: math_ops.logical_and(math_ops.logical_not(label_pos),
                                                math_ops.logical_not(pred_pos)),
             "fp": lambda: math_ops.logical_and(math_ops.logical_not(label_pos), pred_pos)}
    names = {"tp": "true_positives", "fn": "false_negatives", "tn": "true_negatives",
             "fp": "false_positives"}
    values, updates = {}, {}
    for key in includes:
        var = metric_variable([n], dtypes.float32, name=names[key])
        hits = math_ops.cast(cases[key](), dtypes.float32)
        if w_row is not None:
            hits = hits * w_row
        updates[key] = var.assign_add(math_ops.reduce_sum(hits, 1))
        values[key] = var.value()
    return values, updates


def _threshold_count(key, default_name):
    def metric(labels, predictions, thresholds, weights=None, metrics_collections=None,
               updates_collections=None, name=None):
        _check_collections(metrics_collections, updates_collections)
        with variable_scope(name, default_name, (predictions, labels, weights)):
            values, updates = _confusion_at_thresholds(labels, predictions, thresholds, weights,
                                                       includes=(key,))
            return (_add_to(metrics_collections, values[key]),
                    _add_to(updates_collections, updates[key]))
    metric.__name__ = default_name + "_at_thresholds"
    metric.__doc__ = ("The (weighted) %s for each threshold ``t`` (a prediction ``> t`` is "
                      "positive); float32 ``[len(thresholds)]``." % default_name.replace("_", " "))
    return metric


true_positives_at_thresholds = _threshold_count("tp", "true_positives")
false_positives_at_thresholds = _threshold_count("fp", "false_positives")
true_negatives_at_thresholds = _threshold_count("tn", "true_negatives")
false_negatives_at_thresholds = _threshold_count("fn", "false_negatives")


def _ratio_at_thresholds(default_name, other, doc):
    def metric(labels, predictions, thresholds, weights=None, metrics_collections=None,
               updates_collections=None, name=None):
        _check_collections(metrics_collections, updates_collections)
        with variable_scope(name, default_name, (predictions, labels, weights)):
            values, updates = _confusion_at_thresholds(labels, predictions, thresholds, weights,
                                                       includes=("tp", other))
            short = default_name.split("_")[0]

            def compute(tp, o, which):
                return math_ops.divide(tp, _KEPSILON + tp + o, name="%s_%s" % (short, which))
            return (_add_to(metrics_collections, compute(values["tp"], values[other], "value")),
                    _add_to(updates_collections, compute(updates["tp"], updates[other],
                                                         "update_op")))
    metric.__name__ = default_name
    metric.__doc__ = doc
    return metric


precision_at_thresholds = _ratio_at_thresholds(
    "precision_at_thresholds", "fp",
    "Precision ``tp / (tp + fp + 1e-7)`` for each threshold (a prediction ``> t`` is positive).")
recall_at_thresholds = _ratio_at_thresholds(
    "recall_at_thresholds", "fn",
    "Recall ``tp / (tp + fn + 1e-7)`` for each threshold (a prediction ``> t`` is positive).")


def _threshold_grid(num_thresholds, upper=1.0 + _KEPSILON):
    inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    return [0.0 - _KEPSILON] + inner + [upper]


def auc(labels, predictions, weights=None, num_thresholds=200, metrics_collections=None,
        updates_collections=None, curve="ROC", name=None, summation_method="trapezoidal",
        thresholds=None):
    """The area under the ROC (or PR) curve, by a Riemann sum over ``num_thresholds``
    thresholds evenly spaced in [0, 1] (or the given ``thresholds``).

    ``predictions`` must lie in [0, 1] (checked when run); ``labels`` are cast to bool.
    ``summation_method``: ``'trapezoidal'``, ``'careful_interpolation'`` (PR: interpolates
    precision), ``'minoring'`` or ``'majoring'``.

    Example:
        >>> auc, auc_op = tf.metrics.auc(labels, tf.sigmoid(logits))
    """
    _check_collections(metrics_collections, updates_collections)
    with variable_scope(name, "auc", (labels, predictions, weights)):
        if curve not in ("ROC", "PR"):
            raise ValueError("curve must be either ROC or PR, %s unknown" % (curve,))
        if summation_method not in ("trapezoidal", "careful_interpolation", "minoring",
                                    "majoring"):
            raise ValueError("Invalid summation_method: %s" % summation_method)
        if thresholds is not None:
            grid = [0.0 - _KEPSILON] + sorted(float(t) for t in thresholds) + [1.0 + _KEPSILON]
        else:
            grid = _threshold_grid(num_thresholds)
        n = len(grid)
        values, updates = _confusion_at_thresholds(labels, predictions, grid, weights)
        epsilon = 1.0e-6

        def head(t):
            return t[:n - 1]

        def tail(t):
            return t[1:]

        def interpolate_pr_auc(tp, fp, fn):
            """Davis & Goadrich: precision interpolated between thresholds."""
            dtp = head(tp) - tail(tp)
            p = tp + fp
            slope = _ratio(dtp, head(p) - tail(p), "prec_slope")
            intercept = tail(tp) - slope * tail(p)
            both = math_ops.logical_and(math_ops.greater(head(p), 0.0),
                                        math_ops.greater(tail(p), 0.0))
            p_ratio = math_ops.where(both, _ratio(head(p), tail(p), "recall_relative_ratio"),
                                     array_ops.ones_like(tail(p)))
            increments = _ratio(slope * (dtp + intercept * math_ops.log(p_ratio)),
                                tail(tp) + tail(fn), "pr_auc_increment")
            return math_ops.reduce_sum(increments, name="interpolate_pr_auc")

        def compute(tp, fn, tn, fp, which):
            if curve == "PR" and summation_method == "careful_interpolation":
                return array_ops.identity(interpolate_pr_auc(tp, fp, fn), name=which)
            rec = math_ops.divide(tp + epsilon, tp + fn + epsilon)
            if curve == "ROC":
                x, y = math_ops.divide(fp, fp + tn + epsilon), rec
            else:
                x, y = rec, math_ops.divide(tp + epsilon, tp + fp + epsilon)
            width = head(x) - tail(x)
            if summation_method in ("trapezoidal", "careful_interpolation"):
                height = (head(y) + tail(y)) / 2.0
            elif summation_method == "minoring":
                height = math_ops.minimum(head(y), tail(y))
            else:
                height = math_ops.maximum(head(y), tail(y))
            return math_ops.reduce_sum(math_ops.multiply(width, height), name=which)

        value = compute(values["tp"], values["fn"], values["tn"], values["fp"], "value")
        update_op = compute(updates["tp"], updates["fn"], updates["tn"], updates["fp"],
                            "update_op")
        return _add_to(metrics_collections, value), _add_to(updates_collections, update_op)


def sensitivity_at_specificity(labels, predictions, specificity, weights=None,
                               num_thresholds=200, metrics_collections=None,
                               updates_collections=None, name=None):
    """The sensitivity (recall) at the threshold whose specificity is nearest ``specificity``."""
    if not 0 <= specificity <= 1:
        raise ValueError("`specificity` must be in the range [0, 1].")
    _check_collections(metrics_collections, updates_collections)
    with variable_scope(name, "sensitivity_at_specificity", (predictions, labels, weights)):
        values, updates = _confusion_at_thresholds(labels, predictions,
                                                   _threshold_grid(num_thresholds), weights)

        def compute(tp, tn, fp, fn, which):
            specificities = math_ops.divide(tn, tn + fp + _KEPSILON)
            i = math_ops.cast(math_ops.argmin(math_ops.abs(specificities - specificity), 0),
                              dtypes.int32)
            return math_ops.divide(tp[i], tp[i] + fn[i] + _KEPSILON, name=which)
        return (_add_to(metrics_collections, compute(values["tp"], values["tn"], values["fp"],
                                                     values["fn"], "value")),
                _add_to(updates_collections, compute(updates["tp"], updates["tn"],
                                                     updates["fp"], updates["fn"], "update_op")))


def specificity_at_sensitivity(labels, predictions, sensitivity, weights=None,
                               num_thresholds=200, metrics_collections=None,
                               updates_collections=None, name=None):
    """The specificity at the threshold whose sensitivity is nearest ``sensitivity`` (the
    last such threshold on ties)."""
    if not 0 <= sensitivity <= 1:
        raise ValueError("`sensitivity` must be in the range [0, 1].")
    _check_collections(metrics_collections, updates_collections)
    with variable_scope(name, "specificity_at_sensitivity", (predictions, labels, weights)):
        grid = _threshold_grid(num_thresholds, upper=1.0 - _KEPSILON)
        values, updates = _confusion_at_thresholds(labels, predictions, grid, weights)

        def compute(tp, tn, fp, fn, which):
            gap = math_ops.abs(math_ops.divide(tp, tp + fn + _KEPSILON) - sensitivity)
            at_min = math_ops.cast(math_ops.equal(gap, math_ops.reduce_min(gap)), dtypes.int64)
            i = math_ops.cast(math_ops.argmax(math_ops.cumsum(at_min), 0), dtypes.int32)
            return math_ops.divide(tn[i], tn[i] + fp[i] + _KEPSILON, name=which)
        return (_add_to(metrics_collections, compute(values["tp"], values["tn"], values["fp"],
                                                     values["fn"], "value")),
                _add_to(updates_collections, compute(updates["tp"], updates["tn"],
                                                     updates["fp"], updates["fn"], "update_op")))


# ----------------------------------------------------------------------------------------------
# Per-class metrics: mean_per_class_accuracy, mean_iou
# ----------------------------------------------------------------------------------------------
def _flat(t):
    t = convert_to_tensor(t)
    return array_ops.reshape(t, [-1]) if t.shape.ndims is None or t.shape.ndims > 1 else t


def mean_per_class_accuracy(labels, predictions, num_classes, weights=None,
                            metrics_collections=None, updates_collections=None, name=None):
    """The mean over classes of each class's accuracy (its examples predicted right).

    ``labels`` and ``predictions`` are class ids in [0, num_classes), flattened.
    """
    _check_collections(metrics_collections, updates_collections)
    with variable_scope(name, "mean_accuracy", (predictions, labels, weights)):
        labels = _flat(math_ops.cast(labels, dtypes.int64))
        predictions = _flat(predictions)
        if not predictions.shape.is_compatible_with(labels.shape):
            raise ValueError("Shapes %s and %s are incompatible (predictions, labels)"
                             % (predictions.shape, labels.shape))
        total = metric_variable([num_classes], dtypes.float32, name="total")
        count = metric_variable([num_classes], dtypes.float32, name="count")
        ones = array_ops.ones_like(labels, dtype=dtypes.float32)
        if labels.dtype is not predictions.dtype:
            predictions = math_ops.cast(predictions, labels.dtype)
        is_correct = math_ops.cast(math_ops.equal(predictions, labels), dtypes.float32)
        if weights is not None:
            w = _flat(math_ops.cast(weights, dtypes.float32))
            is_correct, ones = is_correct * w, ones * w
        from ..ops.variables import scatter_add
        update_total = scatter_add(total, labels, ones)
        update_count = scatter_add(count, labels, is_correct)

        def compute(c, t, which):
            return math_ops.reduce_mean(_ratio(c, t, None), name=which)
        return (_add_to(metrics_collections, compute(count.value(), total.value(),
                                                     "mean_accuracy")),
                _add_to(updates_collections, compute(update_count, update_total, "update_op")))


def mean_iou(labels, predictions, num_classes, weights=None, metrics_collections=None,
             updates_collections=None, name=None):
    """The mean over classes of intersection-over-union ``tp / (tp + fp + fn)``, from a
    streaming ``[num_classes, num_classes]`` confusion matrix (classes never seen nor
    predicted are left out of the mean).

    Returns:
        ``(mean_iou, update_op)``; ``update_op`` returns the updated confusion matrix.
    """
    _check_collections(metrics_collections, updates_collections)
    with variable_scope(name, "mean_iou", (predictions, labels, weights)):
        predictions, labels = convert_to_tensor(predictions), convert_to_tensor(labels)
        if not predictions.shape.is_compatible_with(labels.shape):
            raise ValueError("Shapes %s and %s are incompatible (predictions, labels)"
                             % (predictions.shape, labels.shape))
        total_cm = metric_variable([num_classes, num_classes], dtypes.float64,
                                   name="total_confusion_matrix")
        w = None if weights is None else _flat(weights)
        batch_cm = segment_ops.confusion_matrix(
            _flat(math_ops.cast(labels, dtypes.int64)),
            _flat(math_ops.cast(predictions, dtypes.int64)), num_classes, weights=w,
            dtype=dtypes.float64)
        update_op = total_cm.assign_add(batch_cm)

        cm = math_ops.cast(total_cm.value(), dtypes.float32)
        from ..ops.linalg_ops import diag_part
        tp = diag_part(cm)
        denominator = math_ops.reduce_sum(cm, 0) + math_ops.reduce_sum(cm, 1) - tp
        valid = math_ops.reduce_sum(math_ops.cast(math_ops.not_equal(denominator, 0.0),
                                                  dtypes.float32))
        safe = math_ops.where(math_ops.greater(denominator, 0.0), denominator,
                              array_ops.ones_like(denominator))
        iou_sum = math_ops.reduce_sum(math_ops.divide(tp, safe), name="mean_iou")
        value = math_ops.where(math_ops.greater(valid, 0.0), math_ops.div_no_nan(iou_sum, valid),
                               constant(0.0))
        return _add_to(metrics_collections, value), _add_to(updates_collections, update_op)
