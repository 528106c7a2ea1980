"""Neural-network ops (``tf.nn``): activations, softmax and the fused cross-entropies.

The cross-entropy ops compute the loss and its gradient in one stable kernel
(log-sum-exp with the max subtracted), and their gradient functions reuse that
precomputed backprop, as TF does: no ``log(softmax)`` round trip, no overflow.
"""
from ..framework.registry import register_op
from ..framework.tensor_shape import TensorShape
from . import core
from .core import convert_to_tensor, out
from .shape_rules import FLOATS, INDEX, check_dtype, same_dtypes

__all__ = ["relu", "softmax", "log_softmax", "bias_add", "softmax_cross_entropy_with_logits",
           "softmax_cross_entropy_with_logits_v2", "sparse_softmax_cross_entropy_with_logits",
           "xw_plus_b"]


def _same_as_input(op):
    x = op._inputs[0]
    check_dtype(op, x, FLOATS, "features")
    return [(x.dtype, x._shape)]


# ----------------------------------------------------------------------------------------------
# ReLU
# ----------------------------------------------------------------------------------------------
def _relu_grad_kernel(op, ctx):
    return lambda g, y: g * (y > 0)


register_op("ReluGrad", infer=lambda op: [(op._inputs[0].dtype, op._inputs[0]._shape)],
            kernel=_relu_grad_kernel,
            grad=lambda op, gg: [out("ReluGrad", [gg, op._inputs[1]]), None])
register_op("Relu", infer=_same_as_input,
            kernel=lambda op, ctx: lambda x: ctx.xp.maximum(x, x.dtype.type(0)),
            grad=lambda op, g: [out("ReluGrad", [g, op._outputs[0]])])


def relu(features, name=None):
    """max(features, 0)."""
    return out("Relu", [convert_to_tensor(features)], name=name)


# ----------------------------------------------------------------------------------------------
# Softmax / LogSoftmax (over the last axis; other axes by transposition in the wrapper)
# ----------------------------------------------------------------------------------------------
def _softmax_kernel(op, ctx):
    xp = ctx.xp

    def softmax_(x):
        e = xp.exp(x - x.max(axis=-1, keepdims=True))
        e /= e.sum(axis=-1, keepdims=True)
        return e
    return softmax_


def _softmax_grad(op, g):
    y = op._outputs[0]
    from .math_ops import reduce_sum
    return [(g - reduce_sum(g * y, -1, keepdims=True)) * y]


def _log_softmax_kernel(op, ctx):
    xp = ctx.xp

    def log_softmax_(x):
        s = x - x.max(axis=-1, keepdims=True)
        return s - xp.log(xp.exp(s).sum(axis=-1, keepdims=True))
    return log_softmax_


def _log_softmax_grad(op, g):
    from .math_ops import exp, reduce_sum
    return [g - reduce_sum(g, -1, keepdims=True) * exp(op._outputs[0])]


register_op("Softmax", infer=_same_as_input, kernel=_softmax_kernel, grad=_softmax_grad)
register_op("LogSoftmax", infer=_same_as_input, kernel=_log_softmax_kernel, grad=_log_softmax_grad)


def _last_axis_op(op_type, logits, axis, name):
    x = convert_to_tensor(logits)
    rank = x._shape.ndims
    if axis is None or axis == -1 or (rank is not None and axis == rank - 1):
        return out(op_type, [x], name=name)
    if rank is None:
        raise ValueError("%s over axis %d needs a known rank" % (op_type, axis))
    from .array_ops import transpose
    axis %= rank
    perm = list(range(rank))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    return transpose(out(op_type, [transpose(x, perm)]), perm, name=name)


def softmax(logits, axis=None, name=None, dim=None):
    """exp(x) / sum(exp(x)) along ``axis`` (default last), computed stably."""
    return _last_axis_op("Softmax", logits, axis if axis is not None else dim, name)


def log_softmax(logits, axis=None, name=None, dim=None):
    return _last_axis_op("LogSoftmax", logits, axis if axis is not None else dim, name)


# ----------------------------------------------------------------------------------------------
# BiasAdd
# ----------------------------------------------------------------------------------------------
def _bias_add_infer(op):
    x, b = op._inputs
    same_dtypes(op, ("value", "bias"))
    if b._shape.ndims not in (None, 1):
        raise ValueError("Shape must be rank 1 but is rank %d for bias" % b._shape.ndims)
    xs = x._shape.as_tuple()
    if xs is not None and len(xs) < 2:
        raise ValueError("Shape must be at least rank 2 but is rank %d" % len(xs))
    c_axis = -1 if op._attrs["data_format"] != "NCHW" else 1
    if xs is not None:
        c, bn = xs[c_axis], b._shape.as_tuple()[0] if b._shape.ndims else None
        if c is not None and bn is not None and c != bn:
            raise ValueError("Dimensions must be equal, but are %d and %d for bias_add with input "
                             "shapes %s, %s" % (c, bn, x._shape, b._shape))
    return [(x.dtype, x._shape)]


def _bias_add_kernel(op, ctx):
    if op._attrs["data_format"] == "NCHW":
        return lambda x, b: x + b.reshape((-1,) + (1,) * (x.ndim - 2))
    return ctx.xp.add


def _bias_add_grad(op, g):
    from .math_ops import reduce_sum
    x = op._inputs[0]
    rank = x._shape.ndims
    if op._attrs["data_format"] == "NCHW":
        axes = [0] + list(range(2, rank))
    else:
        axes = list(range(rank - 1))
    return [g, reduce_sum(g, axes)]


register_op("BiasAdd", infer=_bias_add_infer, kernel=_bias_add_kernel, grad=_bias_add_grad)


def bias_add(value, bias, data_format=None, name=None):
    """Adds a 1-D ``bias`` along the channel axis of ``value`` (last, or 1 for NCHW)."""
    x, b = core.convert_binary(value, bias)
    return out("BiasAdd", [x, b], {"data_format": data_format or "NHWC"}, name=name)


def xw_plus_b(x, weights, biases, name=None):
    from .math_ops import matmul
    return bias_add(matmul(x, weights), biases, name=name)


# ----------------------------------------------------------------------------------------------
# Fused softmax cross-entropy
# ----------------------------------------------------------------------------------------------
def _xent_infer(op):
    logits, labels = op._inputs
    same_dtypes(op, ("features", "labels"))
    check_dtype(op, logits, FLOATS, "features")
    try:
        s = logits._shape.merge_with(labels._shape)
    except ValueError:
        raise ValueError("logits and labels must be broadcastable: logits_size=%s labels_size=%s"
                         % (logits._shape, labels._shape)) from None
    s = s.with_rank(2) if s.ndims is not None else TensorShape([None, None])
    return [(logits.dtype, TensorShape([s.as_tuple()[0]])), (logits.dtype, s)]


def _xent_kernel(op, ctx):
    xp = ctx.xp

    def xent(logits, labels):
        if logits.shape != labels.shape:
            raise ValueError("logits and labels must be same size: logits_size=%s labels_size=%s"
                             % (list(logits.shape), list(labels.shape)))
        s = logits - logits.max(axis=1, keepdims=True)
        e = xp.exp(s)
        sum_e = e.sum(axis=1, keepdims=True)
        loss = (labels * (xp.log(sum_e) - s)).sum(axis=1)
        backprop = e / sum_e - labels  # TF's backprop (exact when each label row sums to 1)
        return loss, backprop
    return xent


def _xent_grad(op, g_loss, g_backprop):
    from .array_ops import expand_dims
    from .math_ops import reduce_sum
    logits = op._inputs[0]
    backprop = op._outputs[1]
    g = expand_dims(g_loss, -1)
    d_logits = g * backprop
    d_labels = -g * log_softmax(logits)
    if g_backprop is not None and g_backprop.op.type not in ("ZerosLike", "Fill"):
        sm = softmax(logits)
        d_logits = d_logits + (g_backprop - reduce_sum(g_backprop * sm, -1, keepdims=True)) * sm
    return [d_logits, d_labels]


register_op("SoftmaxCrossEntropyWithLogits", infer=_xent_infer, kernel=_xent_kernel, grad=_xent_grad)


def _flatten_to_2d(t, axis):
    """Moves ``axis`` last and flattens the rest: the fused op works on [batch, classes]."""
    from .array_ops import reshape, shape, transpose
    rank = t._shape.ndims
    if rank == 2 and axis in (-1, 1):
        return t, None
    if rank is None:
        raise ValueError("softmax_cross_entropy_with_logits needs logits of known rank")
    axis %= rank
    if axis != rank - 1:
        perm = [i for i in range(rank) if i != axis] + [axis]
        t = transpose(t, perm)
    batch_shape = shape(t)[:-1] if not t._shape[:-1].is_fully_defined() else t._shape[:-1].as_list()
    n_cls = t._shape.as_tuple()[-1]
    return reshape(t, [-1, n_cls if n_cls is not None else shape(t)[-1]]), batch_shape


def softmax_cross_entropy_with_logits_v2(_sentinel=None, labels=None, logits=None, dim=-1,
                                         name=None, axis=None):
    """Cross-entropy between ``labels`` (a distribution) and softmax(``logits``), per example.

    Gradients flow to both logits and labels (use stop_gradient on labels if needed).
    """
    if _sentinel is not None:
        raise ValueError("Only call softmax_cross_entropy_with_logits with named arguments "
                         "(labels=..., logits=...)")
    if labels is None or logits is None:
        raise ValueError("Both labels and logits must be provided.")
    axis = dim if axis is None else axis
    logits = convert_to_tensor(logits)
    labels = convert_to_tensor(labels, dtype=logits.dtype) if not isinstance(
        labels, core.Tensor) else labels
    if labels.dtype is not logits.dtype:
        from .math_ops import cast
        labels = cast(labels, logits.dtype)
    lg, batch = _flatten_to_2d(logits, axis)
    lb, _ = _flatten_to_2d(labels, axis)
    loss = core.op("SoftmaxCrossEntropyWithLogits", [lg, lb], name=name)._outputs[0]
    if batch is not None:
        from .array_ops import reshape
        loss = reshape(loss, batch)
    return loss


def softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, dim=-1, name=None,
                                      axis=None):
    """TF1's original version: no gradient flows into ``labels``."""
    from .gradients import stop_gradient
    if labels is not None:
        labels = stop_gradient(labels)
    return softmax_cross_entropy_with_logits_v2(_sentinel, labels=labels, logits=logits, dim=dim,
                                                name=name, axis=axis)


def _sparse_xent_infer(op):
    logits, labels = op._inputs
    check_dtype(op, logits, FLOATS, "features")
    check_dtype(op, labels, INDEX, "labels")
    ls, lb = logits._shape, labels._shape
    if ls.ndims is not None and ls.ndims != 2:
        raise ValueError("logits must be 2-D, but got shape %s" % ls)
    if lb.ndims is not None and lb.ndims != 1:
        raise ValueError("labels must be 1-D, but got shape %s" % lb)
    if ls.ndims is not None and lb.ndims is not None and \
            not ls[:1].is_compatible_with(lb):
        raise ValueError("logits and labels must have the same first dimension, got logits shape "
                         "%s and labels shape %s" % (ls, lb))
    return [(logits.dtype, TensorShape([ls.as_tuple()[0] if ls.ndims else None])),
            (logits.dtype, ls)]


def _sparse_xent_kernel(op, ctx):
    xp = ctx.xp

    def sparse_xent(logits, labels):
        n, k = logits.shape
        if labels.shape != (n,):
            raise ValueError("logits and labels must have the same first dimension, got logits "
                             "shape %s and labels shape %s" % (list(logits.shape), list(labels.shape)))
        if n and (labels.min() < 0 or labels.max() >= k):
            bad = labels[(labels < 0) | (labels >= k)][0]
            raise ValueError("Received a label value of %d which is outside the valid range of "
                             "[0, %d)." % (int(bad), k))
        s = logits - logits.max(axis=1, keepdims=True)
        e = xp.exp(s)
        sum_e = e.sum(axis=1, keepdims=True)
        rows = xp.arange(n)
        loss = xp.log(sum_e[:, 0]) - s[rows, labels]
        backprop = e / sum_e
        backprop[rows, labels] -= 1
        return loss, backprop
    return sparse_xent


def _sparse_xent_grad(op, g_loss, g_backprop):
    from .array_ops import expand_dims
    return [expand_dims(g_loss, -1) * op._outputs[1], None]


register_op("SparseSoftmaxCrossEntropyWithLogits", infer=_sparse_xent_infer,
            kernel=_sparse_xent_kernel, grad=_sparse_xent_grad)


def sparse_softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """Cross-entropy of softmax(``logits``) against integer class ``labels`` (no one-hot).

    Raises:
        ValueError: at construction if the shapes disagree.
        InvalidArgumentError: at run time for a label outside [0, num_classes).
    """
    if _sentinel is not None:
        raise ValueError("Only call sparse_softmax_cross_entropy_with_logits with named arguments")
    logits = convert_to_tensor(logits)
    labels = convert_to_tensor(labels)
    lrank = labels._shape.ndims
    if lrank is not None and lrank != 1:
        from .array_ops import reshape
        if logits._shape.ndims is not None and logits._shape.ndims != lrank + 1:
            raise ValueError("Rank mismatch: Rank of labels (received %d) should equal rank of "
                             "logits minus 1 (received %d)." % (lrank, logits._shape.ndims))
        flat_logits = reshape(logits, [-1, logits._shape.as_tuple()[-1]])
        loss = core.op("SparseSoftmaxCrossEntropyWithLogits",
                       [flat_logits, reshape(labels, [-1])])._outputs[0]
        from .array_ops import shape
        return reshape(loss, shape(labels), name=name)
    return core.op("SparseSoftmaxCrossEntropyWithLogits", [logits, labels], name=name)._outputs[0]

