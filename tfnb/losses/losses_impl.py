"""``tf.losses``: weighted, reduced losses that register themselves in the LOSSES collection.

Every loss computes elementwise losses, multiplies them by ``weights`` (a scalar or a
tensor of the losses' rank whose dims are 1 or match), reduces them as ``reduction``
says -- TF1's default divides the weighted sum by the number of non-zero weights --
and adds the result to ``tf.GraphKeys.LOSSES`` so that ``tf.losses.get_total_loss()``
finds it (plus the regularization losses that layers and ``get_variable`` registered).
As in TF1, losses are computed in float32.

Example:
    >>> loss = tf.losses.softmax_cross_entropy(onehot_labels, logits, label_smoothing=0.1)
    >>> total = tf.losses.get_total_loss()      # loss + regularization losses
"""
from ..framework import dtypes
from ..framework.graph import GraphKeys, get_default_graph, name_scope
from ..ops import array_ops, core, math_ops, nn_ops
from ..ops.core import convert_to_tensor
from ..ops.gradients import stop_gradient

__all__ = ["Reduction", "compute_weighted_loss", "add_loss", "get_losses",
           "get_regularization_losses", "get_regularization_loss", "get_total_loss",
           "absolute_difference", "cosine_distance", "hinge_loss", "huber_loss", "log_loss",
           "mean_pairwise_squared_error", "mean_squared_error", "sigmoid_cross_entropy",
           "softmax_cross_entropy", "sparse_softmax_cross_entropy"]


class Reduction:
    """How a loss reduces its weighted elementwise losses to the value returned."""

    NONE = "none"                       #: no reduction: the weighted losses, shaped like them
    SUM = "weighted_sum"                #: sum of the weighted losses
    MEAN = "weighted_mean"              #: SUM divided by the sum of the weights
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"   #: SUM divided by the element count
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"  #: SUM / number of non-zero weights
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls):
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE,
                cls.SUM_OVER_NONZERO_WEIGHTS, cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, key):
        if key not in cls.all():
            raise ValueError("Invalid Reduction Key %s. Key should be one of %s."
                             % (key, cls.all()))


# ----------------------------------------------------------------------------------------------
# The LOSSES collection
# ----------------------------------------------------------------------------------------------
def add_loss(loss, loss_collection=GraphKeys.LOSSES):
    """Adds ``loss`` to ``loss_collection`` (nothing if the collection is None or empty)."""
    if loss_collection:
        get_default_graph().add_to_collection(loss_collection, loss)


def get_losses(scope=None, loss_collection=GraphKeys.LOSSES):
    """The losses in ``loss_collection`` whose names match ``scope``."""
    return get_default_graph().get_collection(loss_collection, scope)


def get_regularization_losses(scope=None):
    """The regularization losses (e.g. from ``get_variable(..., regularizer=...)``)."""
    return get_default_graph().get_collection(GraphKeys.REGULARIZATION_LOSSES, scope)


def get_regularization_loss(scope=None, name="total_regularization_loss"):
    """The sum of the regularization losses, or a constant 0.0 if there are none."""
    losses = get_regularization_losses(scope)
    if losses:
        return math_ops.add_n(losses, name=name)
    return core.constant(0.0)


def get_total_loss(add_regularization_losses=True, name="total_loss", scope=None):
    """The sum of the collected losses (and, by default, the regularization losses).

    Raises:
        ValueError: there is no loss to add.
    """
    losses = get_losses(scope=scope)
    if add_regularization_losses:
        losses = losses + get_regularization_losses(scope=scope)
    if not losses:
        raise ValueError("Inputs must be an iterable of at least one Tensor/IndexedSlices with the "
                         "same dtype and shape: no losses were collected%s."
                         % (" in scope %r" % scope if scope else ""))
    return math_ops.add_n(losses, name=name)


# ----------------------------------------------------------------------------------------------
# Weighting and reduction
# ----------------------------------------------------------------------------------------------
def _assert_broadcastable(weights, values):
    """TF1's rule, checked while building: weights are a scalar, or of the values' rank with
    each dim 1 or equal to the values' dim."""
    wr, vr = weights.shape.ndims, values.shape.ndims
    if wr is None or vr is None or wr == 0:
        return
    prefix = "weights can not be broadcast to values."
    if wr != vr:
        raise ValueError("%s values.rank=%d. weights.rank=%d. values.shape=%s. weights.shape=%s."
                         % (prefix, vr, wr, values.shape, weights.shape))
    for i, (w, v) in enumerate(zip(weights.shape.as_tuple(), values.shape.as_tuple())):
        if w is not None and w != 1 and v is not None and w != v:
            raise ValueError("%s Mismatch at dim %d. values.shape=%s, weights.shape=%s."
                             % (prefix, i, values.shape, weights.shape))


def _broadcast_weights(weights, values):
    if weights.shape.is_fully_defined() and weights.shape == values.shape:
        return weights
    return weights * array_ops.ones_like(values)


def _num_elements(losses):
    with name_scope(None, "num_elements"):
        return math_ops.cast(array_ops.size(losses), losses.dtype)


def _num_present(losses, weights, per_batch=False):
    """The number of elements with a non-zero weight (per batch entry if ``per_batch``)."""
    if isinstance(weights, float) and weights != 0.0:
        return _num_elements(losses)
    with name_scope(None, "num_present") as scope:
        weights = math_ops.cast(weights, dtypes.float32)
        present = math_ops.where(math_ops.equal(weights, 0.0), array_ops.zeros_like(weights),
                                 array_ops.ones_like(weights))
        present = _broadcast_weights(present, losses)
        if per_batch:
            rank = present.shape.ndims
            axes = list(range(1, rank)) if rank is not None else \
                array_ops.range_(1, array_ops.rank(present))
            return math_ops.reduce_sum(present, axes, keepdims=True, name=scope)
        return math_ops.reduce_sum(present, name=scope)


def compute_weighted_loss(losses, weights=1.0, scope=None, loss_collection=GraphKeys.LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weights ``losses``, reduces them per ``reduction``, adds the result to ``loss_collection``.

    Args:
        losses: elementwise losses.
        weights: a scalar, or a tensor of the losses' rank whose dims are 1 or match.
        reduction: a :class:`Reduction` key.

    Returns:
        The loss: a scalar, or the weighted losses for ``Reduction.NONE``; of the dtype of
        ``losses``.

    Raises:
        ValueError: ``weights`` cannot be broadcast to ``losses``, or an unknown reduction.
    """
    Reduction.validate(reduction)
    with name_scope(scope, "weighted_loss", (losses, weights)):
        losses = convert_to_tensor(losses)
        w = convert_to_tensor(weights, preferred_dtype=dtypes.float32)
        _assert_broadcastable(w, losses)
        input_dtype = losses.dtype
        losses = math_ops.cast(losses, dtypes.float32)
        w = math_ops.cast(w, dtypes.float32)
        weighted = math_ops.multiply(losses, w)
        if reduction == Reduction.NONE:
            loss = weighted
        else:
            loss = math_ops.reduce_sum(weighted)
            if reduction == Reduction.MEAN:
                loss = math_ops.div_no_nan(loss, math_ops.reduce_sum(
                    array_ops.ones_like(losses) * w), name="value")
            elif reduction == Reduction.SUM_BY_NONZERO_WEIGHTS:
                loss = math_ops.div_no_nan(loss, _num_present(losses, weights), name="value")
            elif reduction == Reduction.SUM_OVER_BATCH_SIZE:
                loss = math_ops.div_no_nan(loss, _num_elements(losses), name="value")
        loss = math_ops.cast(loss, input_dtype)
        add_loss(loss, loss_collection)
        return loss


def _require(**args):
    for k, v in args.items():
        if v is None:
            raise ValueError("Argument `%s` must not be None." % k)


def _float_pair(labels, predictions):
    """Both cast to float32 with compatible shapes (TF1's losses compute in float32)."""
    predictions = math_ops.cast(convert_to_tensor(predictions), dtypes.float32)
    labels = math_ops.cast(convert_to_tensor(labels), dtypes.float32)
    _assert_compatible(predictions, labels)
    return labels, predictions


def _assert_compatible(a, b):
    if not a.shape.is_compatible_with(b.shape):
        raise ValueError("Shapes %s and %s are incompatible" % (a.shape, b.shape))


# ----------------------------------------------------------------------------------------------
# Regression losses
# ----------------------------------------------------------------------------------------------
def mean_squared_error(labels, predictions, weights=1.0, scope=None,
                       loss_collection=GraphKeys.LOSSES,
                       reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weighted ``(predictions - labels) ** 2``, reduced (default: mean over non-zero weights).

    Example:
        >>> loss = tf.losses.mean_squared_error(y, y_hat)
    """
    _require(labels=labels, predictions=predictions)
    with name_scope(scope, "mean_squared_error", (predictions, labels, weights)) as scope:
        labels, predictions = _float_pair(labels, predictions)
        losses = math_ops.squared_difference(predictions, labels)
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def absolute_difference(labels, predictions, weights=1.0, scope=None,
                        loss_collection=GraphKeys.LOSSES,
                        reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weighted L1 loss ``|predictions - labels|``."""
    _require(labels=labels, predictions=predictions)
    with name_scope(scope, "absolute_difference", (predictions, labels, weights)) as scope:
        labels, predictions = _float_pair(labels, predictions)
        losses = math_ops.abs(math_ops.subtract(predictions, labels))
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def huber_loss(labels, predictions, weights=1.0, delta=1.0, scope=None,
               loss_collection=GraphKeys.LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """``0.5 * e ** 2`` for ``|e| <= delta``, linear ``delta * (|e| - delta / 2)`` beyond."""
    _require(labels=labels, predictions=predictions)
    with name_scope(scope, "huber_loss", (predictions, labels, weights)) as scope:
        labels, predictions = _float_pair(labels, predictions)
        abs_error = math_ops.abs(math_ops.subtract(predictions, labels))
        quadratic = math_ops.minimum(abs_error, delta)
        linear = math_ops.subtract(abs_error, quadratic)
        losses = math_ops.add(math_ops.multiply(0.5, math_ops.multiply(quadratic, quadratic)),
                              math_ops.multiply(delta, linear))
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def cosine_distance(labels, predictions, axis=None, weights=1.0, scope=None,
                    loss_collection=GraphKeys.LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS,
                    dim=None):
    """``1 - sum(labels * predictions, axis)`` for unit-normalized inputs."""
    if axis is None:
        axis = dim
    elif dim is not None:
        raise ValueError("Cannot specify both 'axis' and 'dim'")
    if axis is None:
        raise ValueError("You must specify argument `axis`.")
    _require(labels=labels, predictions=predictions)
    with name_scope(scope, "cosine_distance_loss", (predictions, labels, weights)) as scope:
        labels, predictions = _float_pair(labels, predictions)
        radial = math_ops.multiply(predictions, labels)
        losses = 1 - math_ops.reduce_sum(radial, axis=(axis,), keepdims=True)
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def mean_pairwise_squared_error(labels, predictions, weights=1.0, scope=None,
                                loss_collection=GraphKeys.LOSSES):
    """Mean over pairs of elements (within each batch entry) of the squared difference of
    their differences: invariant to a per-example shift of the predictions."""
    _require(labels=labels, predictions=predictions)
    with name_scope(scope, "mean_pairwise_squared_error", (predictions, labels, weights)):
        labels, predictions = _float_pair(labels, predictions)
        w = math_ops.cast(convert_to_tensor(weights, preferred_dtype=dtypes.float32),
                          dtypes.float32)
        _assert_broadcastable(w, labels)
        diffs = math_ops.subtract(predictions, labels)
        rank = diffs.shape.ndims
        axes = list(range(1, rank)) if rank is not None else \
            array_ops.range_(1, array_ops.rank(diffs))
        sum_sq = math_ops.reduce_sum(math_ops.square(diffs), axes, keepdims=True)
        n = _num_present(diffs, w, per_batch=True)
        term1 = 2.0 * math_ops.div_no_nan(sum_sq, math_ops.maximum(n - 1, 0.0), name="value")
        sum_diff = math_ops.reduce_sum(diffs, axes, keepdims=True)
        term2 = 2.0 * math_ops.div_no_nan(math_ops.square(sum_diff),
                                          math_ops.maximum(n * (n - 1), 0.0), name="value")
        loss = math_ops.reduce_sum(math_ops.multiply(term1 - term2, w))
        mean_loss = math_ops.where(math_ops.reduce_sum(n) > 0, loss, array_ops.zeros_like(loss),
                                   name="value")
        add_loss(mean_loss, loss_collection)
        return mean_loss


# ----------------------------------------------------------------------------------------------
# Classification losses
# ----------------------------------------------------------------------------------------------
def log_loss(labels, predictions, weights=1.0, epsilon=1e-7, scope=None,
             loss_collection=GraphKeys.LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Binary cross-entropy of probabilities: ``-y log(p + eps) - (1 - y) log(1 - p + eps)``."""
    _require(labels=labels, predictions=predictions)
    with name_scope(scope, "log_loss", (predictions, labels, weights)) as scope:
        labels, predictions = _float_pair(labels, predictions)
        losses = -math_ops.multiply(labels, math_ops.log(predictions + epsilon)) - \
            math_ops.multiply(1 - labels, math_ops.log(1 - predictions + epsilon))
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def hinge_loss(labels, logits, weights=1.0, scope=None, loss_collection=GraphKeys.LOSSES,
               reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """``max(0, 1 - y * logits)`` with 0/1 ``labels`` mapped to ``y`` = -1/+1."""
    _require(labels=labels, logits=logits)
    with name_scope(scope, "hinge_loss", (logits, labels, weights)) as scope:
        labels, logits = _float_pair(labels, logits)
        ones = array_ops.ones_like(labels)
        signs = math_ops.subtract(2 * labels, ones)
        losses = nn_ops.relu(math_ops.subtract(ones, math_ops.multiply(signs, logits)))
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def sigmoid_cross_entropy(multi_class_labels, logits, weights=1.0, label_smoothing=0, scope=None,
                          loss_collection=GraphKeys.LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weighted logistic loss; ``label_smoothing`` moves targets towards 1/2:
    ``z * (1 - s) + s / 2``."""
    _require(multi_class_labels=multi_class_labels, logits=logits)
    with name_scope(scope, "sigmoid_cross_entropy_loss",
                    (logits, multi_class_labels, weights)) as scope:
        logits = convert_to_tensor(logits)
        labels = math_ops.cast(multi_class_labels, logits.dtype)
        _assert_compatible(logits, labels)
        if label_smoothing > 0:
            labels = labels * (1 - label_smoothing) + 0.5 * label_smoothing
        losses = nn_ops.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits,
                                                          name="xentropy")
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def softmax_cross_entropy(onehot_labels, logits, weights=1.0, label_smoothing=0, scope=None,
                          loss_collection=GraphKeys.LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weighted softmax cross-entropy per example (``weights`` of shape [batch] or scalar).

    ``label_smoothing`` ``s`` mixes the one-hot targets with the uniform distribution:
    ``onehot * (1 - s) + s / num_classes``. No gradient flows into the labels.

    Example:
        >>> loss = tf.losses.softmax_cross_entropy(tf.one_hot(y, 10), logits)
    """
    _require(onehot_labels=onehot_labels, logits=logits)
    with name_scope(scope, "softmax_cross_entropy_loss", (logits, onehot_labels, weights)) as scope:
        logits = convert_to_tensor(logits)
        labels = math_ops.cast(onehot_labels, logits.dtype)
        _assert_compatible(logits, labels)
        if label_smoothing > 0:
            n = labels.shape[-1].value if labels.shape.ndims else None
            num_classes = core.constant(float(n), dtype=logits.dtype) if n is not None else \
                math_ops.cast(array_ops.shape(labels)[-1], logits.dtype)
            labels = labels * (1.0 - label_smoothing) + label_smoothing / num_classes
        labels = stop_gradient(labels, name="labels_stop_gradient")
        losses = nn_ops.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits,
                                                             name="xentropy")
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def _remove_squeezable_dimensions(labels, logits, weights):
    """Squeezes a trailing size-1 dim off labels ([batch, 1] -> [batch]) and weights, as TF1."""
    labels, logits = convert_to_tensor(labels), convert_to_tensor(logits)
    lr, pr = labels.shape.ndims, logits.shape.ndims
    if lr is not None and pr is not None:
        diff = pr - lr
        if diff == 2 and logits.shape[-1].is_compatible_with(1):
            logits = array_ops.squeeze(logits, [-1])
        elif diff == 0 and labels.shape[-1].is_compatible_with(1):
            labels = array_ops.squeeze(labels, [-1])
    weights = convert_to_tensor(weights, preferred_dtype=dtypes.float32)
    lr, wr = labels.shape.ndims, weights.shape.ndims
    if lr is not None and wr is not None and wr - lr == 1:
        weights = array_ops.squeeze(weights, [-1])
    return labels, logits, weights


def sparse_softmax_cross_entropy(labels, logits, weights=1.0, scope=None,
                                 loss_collection=GraphKeys.LOSSES,
                                 reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Weighted softmax cross-entropy against integer class ``labels`` ([batch] or [batch, 1]).

    Raises:
        ValueError: at construction for mismatched shapes or constant labels out of range.
    """
    _require(labels=labels, logits=logits)
    with name_scope(scope, "sparse_softmax_cross_entropy_loss", (logits, labels, weights)) as scope:
        labels, logits, weights = _remove_squeezable_dimensions(labels, logits, weights)
        losses = nn_ops.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits,
                                                                 name="xentropy")
        return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)
