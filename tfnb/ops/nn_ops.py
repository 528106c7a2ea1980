"""Neural-network ops (``tf.nn``): activations, normalization, dropout, fused cross-entropies.

The cross-entropy ops compute the loss and its gradient in one stable kernel
(log-sum-exp with the max subtracted, ``log1p(exp(-|x|))`` for the logistic
loss), and their gradient functions reuse that precomputed backprop, as TF does:
no ``log(softmax)`` round trip, no overflow. ``fused_batch_norm`` is one op with
its own backward kernel; its second derivatives come from differentiating the
same backward formula written with graph ops.

Convolution, pooling and LRN live in ``conv_ops``; ``tf.nn`` re-exports both.
"""
import numbers

import numpy as np

from ..framework import dtypes
from ..framework.graph import Tensor, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape, unknown_shape
from . import array_ops, core, math_ops, random_ops
from .array_ops import top_k  # noqa: F401 - tf.nn.top_k
from .core import convert_to_tensor, out
from .shape_rules import FLOATS, HALF, INDEX, REAL, check_dtype, in_float32, same_dtypes

__all__ = ["relu", "relu6", "crelu", "elu", "selu", "leaky_relu", "softplus", "softsign",
           "softmax", "log_softmax", "bias_add", "xw_plus_b", "moments", "weighted_moments",
           "batch_normalization", "fused_batch_norm", "dropout", "l2_loss", "l2_normalize",
           "softmax_cross_entropy_with_logits", "softmax_cross_entropy_with_logits_v2",
           "sparse_softmax_cross_entropy_with_logits", "sigmoid_cross_entropy_with_logits",
           "weighted_cross_entropy_with_logits", "in_top_k", "top_k"]


def _same_as_input(allowed=FLOATS):
    def infer(op):
        x = op._inputs[0]
        check_dtype(op, x, allowed, "features")
        return [(x.dtype, x._shape)]
    return infer


def _like_input(i):
    """Shape rule of gradient ops: the output is shaped like input ``i``."""
    return lambda op: [(op._inputs[i].dtype, op._inputs[i]._shape)]


def _is_zero(t):
    """True for the zeros the gradients driver fills in for outputs nobody differentiated."""
    if t is None or t.op.type == "ZerosLike":
        return True
    if t.op.type == "Fill":
        v = core.constant_value(t.op._inputs[-1])
        return v is not None and not np.any(v)
    return False


# ----------------------------------------------------------------------------------------------
# ReLU family (ReluGrad takes the output, Relu6Grad/LeakyReluGrad the input, as in TF)
# ----------------------------------------------------------------------------------------------
register_op("ReluGrad", infer=_like_input(0),
            kernel=lambda op, ctx: lambda g, y: g * (y > 0),
            grad=lambda op, gg: [out("ReluGrad", [gg, op._inputs[1]]), None])
register_op("Relu", infer=_same_as_input(REAL),
            kernel=lambda op, ctx: lambda x: ctx.xp.maximum(x, x.dtype.type(0)),
            grad=lambda op, g: [out("ReluGrad", [g, op._outputs[0]])])


def relu(features, name=None):
    """max(features, 0)."""
    return out("Relu", [convert_to_tensor(features)], name=name)


register_op("Relu6Grad", infer=_like_input(0),
            kernel=lambda op, ctx: lambda g, x: g * ((x > 0) & (x < 6)),
            grad=lambda op, gg: [out("Relu6Grad", [gg, op._inputs[1]]), None])
register_op("Relu6", infer=_same_as_input(REAL),
            kernel=lambda op, ctx: lambda x: ctx.xp.minimum(ctx.xp.maximum(x, x.dtype.type(0)),
                                                            x.dtype.type(6)),
            grad=lambda op, g: [out("Relu6Grad", [g, op._inputs[0]])])


def relu6(features, name=None):
    """min(max(features, 0), 6)."""
    return out("Relu6", [convert_to_tensor(features)], name=name)


def crelu(features, name=None, axis=-1):
    """Concatenated ReLU: ``concat([relu(x), relu(-x)], axis)`` (twice the channels)."""
    with name_scope(name, "CRelu", [features]) as scope:
        x = convert_to_tensor(features)
        return relu(array_ops.concat([x, -x], axis), name=scope)


def _leaky_kernel(op, ctx):
    xp, alpha = ctx.xp, op._attrs["alpha"]
    return lambda x: xp.where(x > 0, x, x * x.dtype.type(alpha))


def _leaky_grad_kernel(op, ctx):
    xp, alpha = ctx.xp, op._attrs["alpha"]
    return lambda g, x: xp.where(x > 0, g, g * g.dtype.type(alpha))


register_op("LeakyReluGrad", infer=_like_input(0), kernel=_leaky_grad_kernel,
            grad=lambda op, gg: [out("LeakyReluGrad", [gg, op._inputs[1]], dict(op._attrs)),
                                 None])
register_op("LeakyRelu", infer=_same_as_input(), kernel=_leaky_kernel,
            grad=lambda op, g: [out("LeakyReluGrad", [g, op._inputs[0]], dict(op._attrs))])


def leaky_relu(features, alpha=0.2, name=None):
    """``x`` where positive, ``alpha * x`` elsewhere (integer features are cast to float32)."""
    x = convert_to_tensor(features, name="features")
    if x.dtype.is_integer:
        x = math_ops.cast(x, dtypes.float32)
    if isinstance(alpha, (Tensor, np.ndarray)):
        a = core.constant_value(alpha) if isinstance(alpha, Tensor) else alpha
        if a is None:  # a run-time alpha: max(alpha * x, x), as TF does for tensors
            return math_ops.maximum(math_ops.cast(alpha, x.dtype) * x, x, name=name)
        alpha = np.asarray(a).item()
    return out("LeakyRelu", [x], {"alpha": float(alpha)}, name=name)


def _elu_kernel(op, ctx):
    xp = ctx.xp
    return lambda x: xp.where(x > 0, x, xp.expm1(xp.minimum(x, x.dtype.type(0))))


register_op("EluGrad", infer=_like_input(0),
            kernel=lambda op, ctx: lambda g, y: ctx.xp.where(y > 0, g, g * (y + 1)),
            grad=lambda op, gg: [out("EluGrad", [gg, op._inputs[1]]),
                                 math_ops.where(op._inputs[1] < 0, gg * op._inputs[0],
                                                array_ops.zeros_like(gg))])
register_op("Elu", infer=_same_as_input(), kernel=_elu_kernel,
            grad=lambda op, g: [out("EluGrad", [g, op._outputs[0]])])


def elu(features, name=None):
    """Exponential linear unit: ``x`` if x > 0 else ``exp(x) - 1``."""
    return out("Elu", [convert_to_tensor(features)], name=name)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _selu_kernel(op, ctx):
    xp = ctx.xp

    def selu_(x):
        t = x.dtype.type
        neg = xp.expm1(xp.minimum(x, t(0))) * t(_SELU_SCALE * _SELU_ALPHA)
        return xp.where(x > 0, x * t(_SELU_SCALE), neg)
    return selu_


def _selu_grad_kernel(op, ctx):
    xp = ctx.xp

    def selu_grad(g, y):
        t = g.dtype.type
        return xp.where(y > 0, g * t(_SELU_SCALE), g * (y + t(_SELU_SCALE * _SELU_ALPHA)))
    return selu_grad


register_op("SeluGrad", infer=_like_input(0), kernel=_selu_grad_kernel,
            grad=lambda op, gg: [out("SeluGrad", [gg, op._inputs[1]]),
                                 math_ops.where(op._inputs[1] < 0, gg * op._inputs[0],
                                                array_ops.zeros_like(gg))])
register_op("Selu", infer=_same_as_input(), kernel=_selu_kernel,
            grad=lambda op, g: [out("SeluGrad", [g, op._outputs[0]])])


def selu(features, name=None):
    """Scaled ELU (Klambauer et al. 2017): ``scale * (x if x > 0 else alpha * (exp(x) - 1))``."""
    return out("Selu", [convert_to_tensor(features)], name=name)


def softplus(features, name=None):
    """``log(exp(x) + 1)``, computed without overflow (the ``Softplus`` op of math_ops)."""
    return out("Softplus", [convert_to_tensor(features)], name=name)


register_op("Softsign", infer=_same_as_input(),
            kernel=lambda op, ctx: lambda x: x / (1 + ctx.xp.abs(x)),
            grad=lambda op, g: [g / math_ops.square(1.0 + math_ops.abs(op._inputs[0]))])


def softsign(features, name=None):
    """``x / (|x| + 1)``."""
    return out("Softsign", [convert_to_tensor(features)], name=name)


# ----------------------------------------------------------------------------------------------
# Softmax / LogSoftmax (over the last axis; other axes by transposition in the wrapper)
# ----------------------------------------------------------------------------------------------
def _softmax_kernel(op, ctx):
    xp = ctx.xp

    def softmax_(x):
        e = xp.exp(x - x.max(axis=-1, keepdims=True))
        e /= e.sum(axis=-1, keepdims=True)
        return e
    return in_float32(op._inputs[0].dtype, softmax_)


def _softmax_grad(op, g):
    y = op._outputs[0]
    return [(g - math_ops.reduce_sum(g * y, -1, keepdims=True)) * y]


def _log_softmax_kernel(op, ctx):
    xp = ctx.xp

    def log_softmax_(x):
        s = x - x.max(axis=-1, keepdims=True)
        return s - xp.log(xp.exp(s).sum(axis=-1, keepdims=True))
    return in_float32(op._inputs[0].dtype, log_softmax_)


def _log_softmax_grad(op, g):
    return [g - math_ops.reduce_sum(g, -1, keepdims=True) * math_ops.exp(op._outputs[0])]


register_op("Softmax", infer=_same_as_input(), kernel=_softmax_kernel, grad=_softmax_grad)
register_op("LogSoftmax", infer=_same_as_input(), kernel=_log_softmax_kernel,
            grad=_log_softmax_grad)


def _last_axis_op(op_type, logits, axis, name):
    x = convert_to_tensor(logits)
    rank = x._shape.ndims
    if axis is None or axis == -1 or (rank is not None and axis == rank - 1):
        return out(op_type, [x], name=name)
    if rank is None:
        raise ValueError("%s over axis %d needs a known rank" % (op_type, axis))
    if not -rank <= axis < rank:
        raise ValueError("axis %d is out of range for a tensor of rank %d" % (axis, rank))
    axis %= rank
    perm = list(range(rank))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    return array_ops.transpose(out(op_type, [array_ops.transpose(x, perm)]), perm, name=name)


def softmax(logits, axis=None, name=None, dim=None):
    """exp(x) / sum(exp(x)) along ``axis`` (default last), computed stably."""
    return _last_axis_op("Softmax", logits, axis if axis is not None else dim, name)


def log_softmax(logits, axis=None, name=None, dim=None):
    """``x - log(sum(exp(x)))`` along ``axis`` (default last), computed stably."""
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
    rank = op._inputs[0]._shape.ndims
    if op._attrs["data_format"] == "NCHW":
        axes = [0] + list(range(2, rank))
    else:
        axes = list(range(rank - 1))
    return [g, math_ops.reduce_sum(g, axes)]


register_op("BiasAdd", infer=_bias_add_infer, kernel=_bias_add_kernel, grad=_bias_add_grad)


def bias_add(value, bias, data_format=None, name=None):
    """Adds a 1-D ``bias`` along the channel axis of ``value`` (last, or 1 for NCHW)."""
    x, b = core.convert_binary(value, bias)
    return out("BiasAdd", [x, b], {"data_format": data_format or "NHWC"}, name=name)


def xw_plus_b(x, weights, biases, name=None):
    """``matmul(x, weights) + biases`` for a 2-D ``x``."""
    with name_scope(name, "xw_plus_b", [x, weights, biases]) as scope:
        return bias_add(math_ops.matmul(x, weights), biases, name=scope)


# ----------------------------------------------------------------------------------------------
# Moments and batch normalization from ordinary ops
# ----------------------------------------------------------------------------------------------
def _keep_dims(keepdims, keep_dims):
    if keepdims is not None and keep_dims is not None and bool(keepdims) != bool(keep_dims):
        raise ValueError("Cannot specify both 'keepdims' and 'keep_dims'")
    v = keepdims if keepdims is not None else keep_dims
    return bool(v) if v is not None else False


def moments(x, axes, shift=None, name=None, keep_dims=None, keepdims=None):
    """Mean and (biased) variance of ``x`` over ``axes``.

    Args:
        x: a float tensor.
        axes: the axes to reduce, e.g. ``[0]`` for a batch, ``[0, 1, 2]`` for NHWC images.
        shift: unused (as in TF1).
        keep_dims: keep the reduced axes with size 1.

    Returns:
        ``(mean, variance)``; float16 inputs are reduced in float32.

    Example:
        >>> mean, var = tf.nn.moments(x, axes=[0])
    """
    keep = _keep_dims(keepdims, keep_dims)
    with name_scope(name, "moments", [x, axes]):
        x = convert_to_tensor(x, name="x")
        y = math_ops.cast(x, dtypes.float32) if x.dtype in HALF else x
        mean = math_ops.reduce_mean(y, axes, keepdims=True, name="mean")
        from .gradients import stop_gradient
        variance = math_ops.reduce_mean(math_ops.squared_difference(y, stop_gradient(mean)), axes,
                                        keepdims=True, name="variance")
        if not keep:
            mean = array_ops.squeeze(mean, axes)
            variance = array_ops.squeeze(variance, axes)
        if x.dtype in HALF:
            return math_ops.cast(mean, x.dtype), math_ops.cast(variance, x.dtype)
        return mean, variance


def weighted_moments(x, axes, frequency_weights, name=None, keep_dims=None, keepdims=None):
    """Mean and variance of ``x`` over ``axes``, each element counted as often as its weight."""
    keep = _keep_dims(keepdims, keep_dims)
    with name_scope(name, "weighted_moments", [x, frequency_weights, axes]):
        x = convert_to_tensor(x, name="x")
        w = math_ops.cast(convert_to_tensor(frequency_weights, name="frequency_weights"), x.dtype)
        weighted_sum = math_ops.reduce_sum(w * x, axes, keepdims=True, name="weighted_input_sum")
        sum_w = math_ops.reduce_sum(w + array_ops.zeros_like(x), axes, keepdims=True,
                                    name="sum_of_weights")
        mean = math_ops.div_no_nan(weighted_sum, sum_w)
        dist = math_ops.reduce_sum(w * math_ops.squared_difference(x, mean), axes, keepdims=True)
        variance = math_ops.div_no_nan(dist, sum_w)
        if not keep:
            mean = array_ops.squeeze(mean, axes)
            variance = array_ops.squeeze(variance, axes)
        return mean, variance


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """``(x - mean) / sqrt(variance + eps) * scale + offset`` (``offset``/``scale`` may be None).

    Example:
        >>> mean, var = tf.nn.moments(x, [0])
        >>> y = tf.nn.batch_normalization(x, mean, var, beta, gamma, 1e-3)
    """
    with name_scope(name, "batchnorm", [x, mean, variance, scale, offset]):
        x = convert_to_tensor(x)
        variance = convert_to_tensor(variance)
        inv = math_ops.rsqrt(variance + variance_epsilon)
        if scale is not None:
            inv = inv * scale
        shift = offset - mean * inv if offset is not None else -mean * inv
        return x * math_ops.cast(inv, x.dtype) + math_ops.cast(shift, x.dtype)


# ----------------------------------------------------------------------------------------------
# FusedBatchNorm: one pass forward, one backward kernel
# ----------------------------------------------------------------------------------------------
_BN_LAYOUTS = {"NHWC": 4, "NCHW": 4, "NDHWC": 5, "NCDHW": 5}


def _bn_axes(data_format, rank):
    """(reduction axes, channel axis) of a data format."""
    c = 1 if data_format.startswith("NC") else rank - 1
    return tuple(i for i in range(rank) if i != c), c


def _fbn_infer(op):
    x, scale, offset, mean, var = op._inputs
    a = op._attrs
    check_dtype(op, x, FLOATS, "x")
    want = dtypes.float32 if x.dtype in HALF else x.dtype
    for arg, t in (("scale", scale), ("offset", offset), ("mean", mean), ("variance", var)):
        if t.dtype is not want:
            raise TypeError("%s must be %s for x of dtype %s, got %s"
                            % (arg, want.name, x.dtype.name, t.dtype.name))
    rank = _BN_LAYOUTS[a["data_format"]]
    xs = x._shape.with_rank(rank) if x._shape.ndims is not None else unknown_shape(rank)
    c = xs[_bn_axes(a["data_format"], rank)[1]].value
    params = [("scale", scale), ("offset", offset)]
    if not a["is_training"] or a["exponential_avg_factor"] != 1.0:
        params += [("mean", mean), ("variance", var)]
    for arg, t in params:
        s = t._shape.with_rank(1)
        if c is not None and s[0].value not in (None, c):
            raise ValueError("%s must have %d elements (the channels of x %s), got shape %s"
                             % (arg, c, x._shape, t._shape))
    vec = (want, TensorShape([c]))
    return [(x.dtype, xs), vec, vec, vec, vec]


def _fbn_kernel(op, ctx):
    xp = ctx.xp
    a = op._attrs
    eps, training, factor = a["epsilon"], a["is_training"], a["exponential_avg_factor"]
    out_dt = op._inputs[0].dtype.np
    rank = _BN_LAYOUTS[a["data_format"]]
    axes, c_axis = _bn_axes(a["data_format"], rank)

    def bcast(v):
        return v.reshape([-1 if i == c_axis else 1 for i in range(rank)])

    def fused_batch_norm(x, scale, offset, mean, var):
        xu = x.astype(scale.dtype, copy=False)
        if training:
            n = x.size // x.shape[c_axis] if x.shape[c_axis] else 0
            bmean = xu.mean(axis=axes)
            xc = xu - bcast(bmean)
            bvar = xp.square(xc).mean(axis=axes)
            y = xc * bcast(scale * (1 / xp.sqrt(bvar + eps))) + bcast(offset)
            unbiased = bvar * (n / (n - 1) if n > 1 else 1)
            if factor != 1.0:
                run_mean = (1 - factor) * mean + factor * bmean
                run_var = (1 - factor) * var + factor * unbiased
            else:
                run_mean, run_var = bmean, unbiased
            return (y.astype(out_dt, copy=False), run_mean.astype(scale.dtype, copy=False),
                    run_var.astype(scale.dtype, copy=False), bmean, bvar)
        inv = scale * (1 / xp.sqrt(var + eps))
        y = xu * bcast(inv) + bcast(offset - mean * inv)
        return y.astype(out_dt, copy=False), mean, var, mean, var
    return fused_batch_norm


def _fbn_grad(op, g_y, g_mean, g_var, g_r1, g_r2):
    x, scale, offset, mean, var = op._inputs
    a = op._attrs
    attrs = {k: a[k] for k in ("epsilon", "data_format", "is_training")}
    r1, r2 = op._outputs[3], op._outputs[4]
    dx, dscale, doffset = core.op("FusedBatchNormGrad", [g_y, x, scale, r1, r2], attrs)._outputs
    dmean = dvar = None
    if not a["is_training"]:
        # y depends on the supplied statistics too: y = (x - mean) * scale * rsqrt(var + eps) + ...
        axes, _ = _bn_axes(a["data_format"], _BN_LAYOUTS[a["data_format"]])
        inv = math_ops.rsqrt(var + a["epsilon"])
        gsum = math_ops.reduce_sum(math_ops.cast(g_y, scale.dtype), axes)
        dmean = -gsum * scale * inv
        xc = math_ops.cast(x, scale.dtype) - _bcast_channels(mean, a)
        dvar = -0.5 * scale * inv * inv * inv * math_ops.reduce_sum(
            math_ops.cast(g_y, scale.dtype) * xc, axes)
        dmean, dvar = _add_grads(dmean, g_mean, g_r1), _add_grads(dvar, g_var, g_r2)
    else:
        dx = dx + _bn_stats_grad(x, scale, a, g_mean, g_var, g_r1, g_r2)
        f = a["exponential_avg_factor"]
        if f != 1.0:
            dmean = None if _is_zero(g_mean) else g_mean * (1.0 - f)
            dvar = None if _is_zero(g_var) else g_var * (1.0 - f)
    return [dx, dscale, doffset, dmean, dvar]


def _bcast_channels(v, a):
    """Reshapes a per-channel vector to broadcast against x."""
    rank = _BN_LAYOUTS[a["data_format"]]
    _, c = _bn_axes(a["data_format"], rank)
    return array_ops.reshape(v, [-1 if i == c else 1 for i in range(rank)])


def _add_grads(*gs):
    gs = [g for g in gs if not _is_zero(g)]
    return math_ops.add_n(gs) if gs else None


def _bn_stats_grad(x, scale, a, g_mean, g_var, g_r1, g_r2):
    """Gradient reaching x through the batch statistics that training mode outputs."""
    rank = _BN_LAYOUTS[a["data_format"]]
    axes, c = _bn_axes(a["data_format"], rank)
    f = a["exponential_avg_factor"]
    xs = x._shape.as_tuple()
    n = int(np.prod([xs[i] for i in axes])) if None not in xs else None
    total = 0.0
    if n is None and not all(_is_zero(g) for g in (g_mean, g_var, g_r1, g_r2)):
        n_t = math_ops.cast(array_ops.size(x) // array_ops.shape(x)[c], scale.dtype)
    else:
        n_t = float(n or 1)
    xu = math_ops.cast(x, scale.dtype)
    xc = None
    for g, coef, centered in ((g_mean, f, False), (g_r1, 1.0, False),
                              (g_var, f, True), (g_r2, 1.0, True)):
        if _is_zero(g):
            continue
        if not centered:
            total = total + _bcast_channels(g * coef, a) / n_t
            continue
        if xc is None:
            mean = math_ops.reduce_mean(xu, axes, keepdims=True)
            xc = xu - mean
        denom = (n_t - 1.0 if n is None or n > 1 else 1.0) if g is g_var else n_t
        total = total + _bcast_channels(g * (2.0 * coef), a) * xc / denom
    if isinstance(total, float):
        return array_ops.zeros_like(x)
    return math_ops.cast(total, x.dtype)


def _fbn_grad_kernel(op, ctx):
    xp = ctx.xp
    a = op._attrs
    eps, training = a["epsilon"], a["is_training"]
    rank = _BN_LAYOUTS[a["data_format"]]
    axes, c_axis = _bn_axes(a["data_format"], rank)
    x_dt = op._inputs[1].dtype.np

    def bcast(v):
        return v.reshape([-1 if i == c_axis else 1 for i in range(rank)])

    def fused_batch_norm_grad(g, x, scale, mean, var):
        gu = g.astype(scale.dtype, copy=False)
        xu = x.astype(scale.dtype, copy=False)
        inv = 1 / xp.sqrt(var + eps)
        xhat = (xu - bcast(mean)) * bcast(inv)
        doffset = gu.sum(axis=axes)
        dscale = (gu * xhat).sum(axis=axes)
        if training:
            n = x.size // x.shape[c_axis] if x.shape[c_axis] else 1
            dx = (gu - bcast(doffset / n) - xhat * bcast(dscale / n)) * bcast(scale * inv)
        else:
            dx = gu * bcast(scale * inv)
        return dx.astype(x_dt, copy=False), dscale, doffset
    return fused_batch_norm_grad


def _bn_backprop_graph(g, x, scale, mean, var, a):
    """The backward formula of FusedBatchNormGrad written with graph ops (for 2nd derivatives)."""
    rank = _BN_LAYOUTS[a["data_format"]]
    axes, c = _bn_axes(a["data_format"], rank)
    gu, xu = math_ops.cast(g, scale.dtype), math_ops.cast(x, scale.dtype)
    if a["is_training"]:
        mean = math_ops.reduce_mean(xu, axes, keepdims=True)
        xc = xu - mean
        inv = math_ops.rsqrt(math_ops.reduce_mean(xc * xc, axes, keepdims=True) + a["epsilon"])
        xhat = xc * inv
        dscale = math_ops.reduce_sum(gu * xhat, axes)
        doffset = math_ops.reduce_sum(gu, axes)
        gmean = math_ops.reduce_mean(gu, axes, keepdims=True)
        gxhat = math_ops.reduce_mean(gu * xhat, axes, keepdims=True)
        dx = (gu - gmean - xhat * gxhat) * inv * _bcast_channels(scale, a)
    else:
        inv = _bcast_channels(math_ops.rsqrt(var + a["epsilon"]), a)
        xhat = (xu - _bcast_channels(mean, a)) * inv
        dscale = math_ops.reduce_sum(gu * xhat, axes)
        doffset = math_ops.reduce_sum(gu, axes)
        dx = gu * inv * _bcast_channels(scale, a)
    return [math_ops.cast(dx, x.dtype), dscale, doffset]


def _fbn_grad_grad(op, *grads):
    from .gradients import gradients
    g, x, scale, mean, var = op._inputs
    a = op._attrs
    ys = _bn_backprop_graph(g, x, scale, mean, var, a)
    pairs = [(y, gy) for y, gy in zip(ys, grads) if not _is_zero(gy)]
    wrt = [g, x, scale] + ([] if a["is_training"] else [mean, var])
    res = gradients([y for y, _ in pairs], wrt, grad_ys=[gy for _, gy in pairs],
                    stop_gradients=wrt)
    return res + [None] * (5 - len(res))


register_op("FusedBatchNormGrad", infer=lambda op: [(op._inputs[1].dtype, op._inputs[1]._shape),
                                                     (op._inputs[2].dtype, op._inputs[2]._shape),
                                                     (op._inputs[2].dtype, op._inputs[2]._shape)],
            kernel=_fbn_grad_kernel, grad=_fbn_grad_grad,
            doc="(dx, dscale, doffset) of FusedBatchNorm from the saved batch statistics.")
register_op("FusedBatchNorm", infer=_fbn_infer, kernel=_fbn_kernel, grad=_fbn_grad,
            doc="Batch normalization in one op: (y, running mean, running variance, saved mean, "
                "saved variance).")


def fused_batch_norm(x, scale, offset, mean=None, variance=None, epsilon=0.001, data_format="NHWC",
                     is_training=True, name=None, exponential_avg_factor=1.0):
    """Batch normalization of a 4-D (or 5-D) tensor in one op.

    Args:
        x: ``[N, H, W, C]`` (or NCHW, NDHWC, NCDHW per ``data_format``) float tensor.
        scale, offset: per-channel ``[C]`` tensors (float32 for float16 ``x``).
        mean, variance: population statistics; required when ``is_training`` is False
            or ``exponential_avg_factor`` != 1.
        epsilon: added to the variance (at least 1.001e-5, as TF/cuDNN require).
        is_training: normalize with the batch's own statistics.
        exponential_avg_factor: the running statistics returned are
            ``(1 - f) * mean + f * batch_mean`` (likewise the variance).

    Returns:
        ``(y, batch_mean, batch_variance)``. In training, the variance returned is
        the unbiased (Bessel-corrected) one, meant for moving averages, while ``y``
        uses the biased one -- as TF does.

    Example:
        >>> y, m, v = tf.nn.fused_batch_norm(images, gamma, beta)
    """
    if data_format not in _BN_LAYOUTS:
        raise ValueError("data_format must be one of %s, got %r"
                         % (sorted(_BN_LAYOUTS), data_format))
    if (not is_training or exponential_avg_factor != 1.0) and (mean is None or variance is None):
        raise ValueError("Both `mean` and `variance` must be a 1D tensor when `is_training` is "
                         "False or `exponential_avg_factor` != 1.0.")
    with name_scope(name, "FusedBatchNorm", [x, scale, offset]) as scope:
        x = convert_to_tensor(x, name="input")
        u = dtypes.float32 if x.dtype in HALF else x.dtype
        scale = convert_to_tensor(scale, name="scale", preferred_dtype=u)
        offset = convert_to_tensor(offset, name="offset", preferred_dtype=u)
        mean = core.constant(np.zeros([0], u.np), name="mean") if mean is None else \
            convert_to_tensor(mean, name="mean", preferred_dtype=u)
        variance = core.constant(np.zeros([0], u.np), name="variance") if variance is None else \
            convert_to_tensor(variance, name="variance", preferred_dtype=u)
        attrs = {"epsilon": float(max(epsilon, 1.001e-5)), "data_format": data_format,
                 "is_training": bool(is_training),
                 "exponential_avg_factor": float(exponential_avg_factor)}
        o = core.op("FusedBatchNorm", [x, scale, offset, mean, variance], attrs, name=scope)
        return o._outputs[0], o._outputs[1], o._outputs[2]


# ----------------------------------------------------------------------------------------------
# Dropout
# ----------------------------------------------------------------------------------------------
def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    """Zeroes each element with probability ``rate`` and scales the rest by ``1 / (1 - rate)``.

    Args:
        x: a float tensor.
        keep_prob: probability of keeping an element (TF1); give this or ``rate``.
        noise_shape: shape of the random keep mask, broadcast against ``x``
            (e.g. ``[batch, 1]`` drops whole rows).
        seed: op-level seed (see ``tf.set_random_seed``).
        rate: probability of dropping an element (``1 - keep_prob``).

    Returns:
        A tensor like ``x``; with ``keep_prob=1`` (``rate=0``) as a Python number, ``x`` itself.

    Example:
        >>> h = tf.nn.dropout(h, keep_prob=0.5)
    """
    if keep_prob is not None and rate is not None:
        raise ValueError("Cannot specify both 'rate' and 'keep_prob'.")
    if keep_prob is not None:
        if not isinstance(keep_prob, (numbers.Real, Tensor)):
            raise ValueError("`keep_prob` must be a floating point number or Tensor, got %r"
                             % (keep_prob,))
        rate = 1 - keep_prob
    if rate is None:
        raise ValueError("`rate` must be provided. Received: rate=None")
    with name_scope(name, "dropout", [x]) as scope:
        is_number = isinstance(rate, numbers.Real)
        if is_number and not 0 <= rate < 1:
            raise ValueError("rate must be a scalar tensor or a float in the range [0, 1), got %g"
                             % rate)
        x = convert_to_tensor(x, name="x")
        if not x.dtype.is_floating:
            raise ValueError("x has to be a floating point tensor since it's going to be scaled. "
                             "Got a %s tensor instead." % x.dtype.name)
        if is_number and rate == 0:
            return x
        if is_number:
            scaled = x * core.constant(1.0 / (1.0 - rate), dtype=x.dtype)
            rate_t = core.constant(rate, dtype=x.dtype)
        else:
            rate_t = math_ops.cast(convert_to_tensor(rate, name="rate"), x.dtype)
            if rate_t._shape.ndims not in (None, 0):
                raise ValueError("rate must be a scalar, got shape %s" % rate_t._shape)
            scaled = x / (1.0 - rate_t)
        if noise_shape is None:
            noise_shape = array_ops.shape(x) if not x._shape.is_fully_defined() else x._shape
        noise = random_ops.random_uniform(noise_shape, dtype=x.dtype, seed=seed)
        keep = math_ops.greater_equal(noise, rate_t)
        ret = math_ops.where(keep, scaled, array_ops.zeros_like(scaled), name=scope)
        ret.set_shape(x._shape)  # a rate of unknown shape is still a scalar
        return ret


# ----------------------------------------------------------------------------------------------
# L2 loss / normalize
# ----------------------------------------------------------------------------------------------
register_op("L2Loss", infer=lambda op: [(_check_float(op), TensorShape([]))],
            kernel=lambda op, ctx: lambda x: ctx.xp.asarray(
                ctx.xp.vdot(x, x) / 2 if x.size else 0, dtype=x.dtype),
            grad=lambda op, g: [op._inputs[0] * g])


def _check_float(op):
    check_dtype(op, op._inputs[0], FLOATS, "t")
    return op._inputs[0].dtype


def l2_loss(t, name=None):
    """``sum(t ** 2) / 2`` as a scalar (the weight-decay term)."""
    return out("L2Loss", [convert_to_tensor(t)], name=name)


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """``x / sqrt(max(sum(x ** 2, axis), epsilon))`` along ``axis`` (all axes if None)."""
    if axis is None:
        axis = dim
    with name_scope(name, "l2_normalize", [x]) as scope:
        x = convert_to_tensor(x, name="x")
        square_sum = math_ops.reduce_sum(math_ops.square(x), axis, keepdims=True)
        inv_norm = math_ops.rsqrt(math_ops.maximum(square_sum,
                                                   core.constant(epsilon, dtype=x.dtype)))
        return math_ops.multiply(x, inv_norm, name=scope)


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
        s = xp.subtract(logits, logits.max(axis=1, keepdims=True))
        e = xp.exp(s)
        sum_e = e.sum(axis=1, keepdims=True)
        t = xp.subtract(xp.log(sum_e), s, out=s)
        loss = xp.multiply(labels, t, out=t).sum(axis=1)
        backprop = xp.divide(e, sum_e, out=e)
        backprop -= labels  # TF's backprop (exact when each label row sums to 1)
        return loss, backprop
    return xent


def _softmax_second_order(logits, g_backprop):
    """What a gradient on the backprop output (softmax - labels) adds to the logits' gradient."""
    sm = softmax(logits)
    return (g_backprop - math_ops.reduce_sum(g_backprop * sm, -1, keepdims=True)) * sm


def _xent_grad(op, g_loss, g_backprop):
    logits = op._inputs[0]
    g = array_ops.expand_dims(g_loss, -1)
    d_logits = g * op._outputs[1]
    d_labels = -g * log_softmax(logits)
    if not _is_zero(g_backprop):
        d_logits = d_logits + _softmax_second_order(logits, g_backprop)
    return [d_logits, d_labels]


register_op("SoftmaxCrossEntropyWithLogits", infer=_xent_infer, kernel=_xent_kernel,
            grad=_xent_grad)


def _flatten_to_2d(t, axis, rank):
    """Moves ``axis`` last and flattens the rest: the fused op works on [batch, classes].

    ``rank`` is the logits' rank (labels of unknown rank take the logits' layout)."""
    if rank == 2 and axis in (-1, 1):
        return t, None
    if rank is None:
        raise ValueError("softmax_cross_entropy_with_logits needs logits of known rank")
    if rank == 0:
        raise ValueError("Logits cannot be scalars - received shape %s." % t._shape)
    axis %= rank
    if axis != rank - 1:
        perm = [i for i in range(rank) if i != axis] + [axis]
        t = array_ops.transpose(t, perm)
    dims = t._shape.as_tuple()
    batch_shape = dims[:-1] if dims is not None and None not in dims[:-1] \
        else array_ops.shape(t)[:-1]
    n_cls = dims[-1] if dims is not None else None
    return array_ops.reshape(t, [-1, n_cls if n_cls is not None else array_ops.shape(t)[-1]]), \
        batch_shape


def _named_only(_sentinel, fn_name):
    if _sentinel is not None:
        raise ValueError("Only call `%s` with named arguments (labels=..., logits=..., ...)"
                         % fn_name)


def _precise(logits):
    """float16/bfloat16 logits are computed in float32 (as TF does); returns (logits, result
    dtype)."""
    if logits.dtype in HALF:
        return math_ops.cast(logits, dtypes.float32), logits.dtype
    return logits, None


def softmax_cross_entropy_with_logits_v2(_sentinel=None, labels=None, logits=None, dim=-1,
                                         name=None, axis=None):
    """Cross-entropy between ``labels`` (a distribution) and softmax(``logits``), per example.

    Gradients flow to both logits and labels (use stop_gradient on labels if needed).

    Raises:
        ValueError: at construction if the shapes of logits and labels differ.
    """
    _named_only(_sentinel, "softmax_cross_entropy_with_logits")
    if labels is None or logits is None:
        raise ValueError("Both labels and logits must be provided.")
    axis = dim if axis is None else axis
    with name_scope(name, "softmax_cross_entropy_with_logits", [logits, labels]) as scope:
        logits = convert_to_tensor(logits, name="logits")
        logits, back = _precise(logits)
        labels = convert_to_tensor(labels, name="labels", preferred_dtype=logits.dtype)
        labels = math_ops.cast(labels, logits.dtype)
        if not logits._shape.is_compatible_with(labels._shape):
            raise ValueError("logits and labels must have the same shape, received (%s vs %s)."
                             % (logits._shape, labels._shape))
        rank = logits._shape.ndims if logits._shape.ndims is not None else labels._shape.ndims
        lg, batch = _flatten_to_2d(logits, axis, rank)
        lb, _ = _flatten_to_2d(labels, axis, rank)
        loss = core.op("SoftmaxCrossEntropyWithLogits", [lg, lb],
                       name=scope if batch is None and back is None else None)._outputs[0]
        if back is not None:
            loss = math_ops.cast(loss, back, name=None if batch is not None else scope)
        if batch is not None:
            loss = array_ops.reshape(loss, batch, name=scope)
        return loss


def softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, dim=-1, name=None,
                                      axis=None):
    """TF1's original version: no gradient flows into ``labels``."""
    from .gradients import stop_gradient
    _named_only(_sentinel, "softmax_cross_entropy_with_logits")
    if labels is not None:
        labels = stop_gradient(labels)
    return softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits, dim=dim, name=name,
                                                axis=axis)


def _check_label_range(labels, n_classes):
    """Raises at construction for constant labels outside [0, n_classes)."""
    v = core.constant_value(labels)
    if v is None or n_classes is None or not v.size:
        return
    bad = v[(v < 0) | (v >= n_classes)]
    if bad.size:
        raise ValueError("Received a label value of %d which is outside the valid range of "
                         "[0, %d)." % (int(bad.reshape(-1)[0]), n_classes))


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
    _check_label_range(labels, ls[1].value if ls.ndims else None)
    return [(logits.dtype, TensorShape([ls.as_tuple()[0] if ls.ndims else None])),
            (logits.dtype, ls)]


def _sparse_xent_kernel(op, ctx):
    xp = ctx.xp

    def sparse_xent(logits, labels):
        n, k = logits.shape
        if labels.shape != (n,):
            raise ValueError("logits and labels must have the same first dimension, got logits "
                             "shape %s and labels shape %s"
                             % (list(logits.shape), list(labels.shape)))
        if n and (labels.min() < 0 or labels.max() >= k):
            bad = labels[(labels < 0) | (labels >= k)][0]
            raise ValueError("Received a label value of %d which is outside the valid range of "
                             "[0, %d)." % (int(bad), k))
        if xp is np and logits.size >= _XENT_BLOCKED_ELEMENTS:
            loss = np.empty(n, logits.dtype)
            backprop = np.empty_like(logits)

            def rows(a, b):
                for r0 in range(a, b, _XENT_BLOCK_ROWS):
                    _sparse_xent_rows(xp, logits, labels, loss, backprop, r0,
                                      min(b, r0 + _XENT_BLOCK_ROWS))
            from ..runtime.threads import parallel_blocks
            parallel_blocks(rows, n, min_rows=_XENT_BLOCK_ROWS)
            return loss, backprop
        loss = xp.empty(n, logits.dtype)
        backprop = xp.empty_like(logits)
        _sparse_xent_rows(xp, logits, labels, loss, backprop, 0, n)
        return loss, backprop
    return sparse_xent


#: Logits from which the sparse cross-entropy runs in blocks of rows, on the intra-op threads:
#: each block's passes (max, subtract, exp, sum, divide) then run over data in the core's
#: cache. W6's [400, 10000] float32 (median of 30, 2 cores, quiet): 5.0-5.8 ms in one piece,
#: 4.6-4.7 in 64-row blocks on one thread, 3.2 on two (the same values, bit for bit).
_XENT_BLOCKED_ELEMENTS = 1 << 20
_XENT_BLOCK_ROWS = 64


def _sparse_xent_rows(xp, logits, labels, loss, backprop, r0, r1):
    """Rows r0:r1 of the loss and backprop, in the backprop's own buffer (s, exp(s) and the
    backprop are one array: two fewer allocations and passes than three)."""
    s = backprop[r0:r1]
    lg = logits[r0:r1]
    xp.subtract(lg, lg.max(axis=1, keepdims=True), out=s)
    rows = xp.arange(r1 - r0)
    lb = labels[r0:r1]
    s_label = s[rows, lb]
    xp.exp(s, out=s)
    sum_e = s.sum(axis=1, keepdims=True)
    loss[r0:r1] = xp.log(sum_e[:, 0]) - s_label
    xp.divide(s, sum_e, out=s)
    s[rows, lb] -= 1


def _sparse_xent_grad(op, g_loss, g_backprop):
    d_logits = array_ops.expand_dims(g_loss, -1) * op._outputs[1]
    if not _is_zero(g_backprop):
        d_logits = d_logits + _softmax_second_order(op._inputs[0], g_backprop)
    return [d_logits, None]


register_op("SparseSoftmaxCrossEntropyWithLogits", infer=_sparse_xent_infer,
            kernel=_sparse_xent_kernel, grad=_sparse_xent_grad)


def sparse_softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """Cross-entropy of softmax(``logits``) against integer class ``labels`` (no one-hot).

    Args:
        labels: int32/int64 class ids of shape ``logits.shape[:-1]``.
        logits: float ``[..., num_classes]``.

    Raises:
        ValueError: at construction if the ranks/shapes disagree, or constant labels are
            outside [0, num_classes).
        InvalidArgumentError: at run time for a label outside [0, num_classes).
    """
    _named_only(_sentinel, "sparse_softmax_cross_entropy_with_logits")
    with name_scope(name, "SparseSoftmaxCrossEntropyWithLogits", [labels, logits]) as scope:
        labels = convert_to_tensor(labels, name="labels")
        logits = convert_to_tensor(logits, name="logits")
        logits, back = _precise(logits)
        lrank, xrank = labels._shape.ndims, logits._shape.ndims
        if xrank == 0:
            raise ValueError("Logits cannot be scalars - received shape %s." % logits._shape)
        if lrank is not None and xrank is not None and lrank != xrank - 1:
            raise ValueError("Rank mismatch: Rank of labels (received %d) should equal rank of "
                             "logits minus 1 (received %d)." % (lrank, xrank))
        if lrank is not None and xrank is not None and \
                not labels._shape.is_compatible_with(logits._shape[:-1]):
            raise ValueError("Shape mismatch: The shape of labels (received %s) should equal the "
                             "shape of logits except for the last dimension (received %s)."
                             % (labels._shape, logits._shape))
        flat = lrank != 1
        if flat:
            n_cls = logits._shape.as_tuple()[-1] if xrank is not None else None
            lg = array_ops.reshape(logits, [-1, n_cls if n_cls is not None
                                            else array_ops.shape(logits)[-1]])
            lb = array_ops.reshape(labels, [-1])
        else:
            lg, lb = logits, labels
        last = scope if not flat and back is None else None
        loss = core.op("SparseSoftmaxCrossEntropyWithLogits", [lg, lb], name=last)._outputs[0]
        if back is not None:
            loss = math_ops.cast(loss, back, name=None if flat else scope)
        if flat:
            shp = labels._shape.as_list() if labels._shape.is_fully_defined() \
                else array_ops.shape(labels)
            loss = array_ops.reshape(loss, shp, name=scope)
        return loss


# ----------------------------------------------------------------------------------------------
# Fused sigmoid (logistic) cross-entropy
# ----------------------------------------------------------------------------------------------
def _logistic_shapes(logits, labels):
    try:
        return logits._shape.merge_with(labels._shape)
    except ValueError:
        raise ValueError("logits and labels must have the same shape (%s vs %s)"
                         % (logits._shape, labels._shape)) from None


def _sigmoid_xent_infer(op):
    logits, labels = op._inputs
    check_dtype(op, logits, FLOATS, "logits")
    same_dtypes(op, ("logits", "labels"))
    s = _logistic_shapes(logits, labels)
    return [(logits.dtype, s), (logits.dtype, s)]


def _sigmoid_xent_kernel(op, ctx):
    xp = ctx.xp

    def sigmoid_xent(x, z):
        if x.shape != z.shape:
            raise ValueError("logits and labels must have the same shape (%s vs %s)"
                             % (list(x.shape), list(z.shape)))
        if x.ndim == 0 or x.dtype.type not in (np.float32, np.float64):
            return _sigmoid_xent_stepwise(xp, x, z)
        # loss = max(x, 0) - x * z + log1p(exp(-|x|)): exp never overflows. In place where
        # the buffers allow (each NumPy pass over a small array costs about a microsecond).
        e = xp.abs(x)
        xp.negative(e, out=e)
        xp.exp(e, out=e)
        loss = xp.maximum(x, 0)
        t = xp.multiply(x, z)
        loss -= t
        loss += xp.log1p(e, out=t)
        # sigmoid(x) - z, reused by the gradient: exp(min(x, 0)) is where(x >= 0, 1, e)
        # exactly (and NumPy's where with a scalar is the slowest pass of all).
        e += 1
        backprop = xp.minimum(x, 0)
        xp.exp(backprop, out=backprop)
        backprop /= e
        backprop -= z
        return loss, backprop
    return sigmoid_xent


def _sigmoid_xent_stepwise(xp, x, z):
    """The kernel for half types (each step rounds to the type) and scalars (no buffers to
    reuse). log1p(e) is log(u) corrected for the rounding of u = 1 + e (Goldberg)."""
    e = xp.exp(-xp.abs(x))
    u = 1 + e
    loss = xp.maximum(x, 0) - x * z + (xp.log(u) - ((u - 1) - e) / u)
    backprop = xp.where(x >= 0, 1, e) / u - z
    return loss, backprop


def _sigmoid_xent_grad(op, g, g_backprop):
    x = op._inputs[0]
    d_logits = g * op._outputs[1]
    d_labels = -g * x
    if not _is_zero(g_backprop):
        s = math_ops.sigmoid(x)
        d_logits = d_logits + g_backprop * s * (1.0 - s)
        d_labels = d_labels - g_backprop
    return [d_logits, d_labels]


register_op("SigmoidCrossEntropyWithLogits", infer=_sigmoid_xent_infer,
            kernel=_sigmoid_xent_kernel, grad=_sigmoid_xent_grad,
            doc="(elementwise logistic loss, its backprop sigmoid(x) - z), stable for any x.")


def _logistic_args(_sentinel, labels, logits, fn_name):
    _named_only(_sentinel, fn_name)
    if labels is None or logits is None:
        raise ValueError("Both labels and logits must be provided.")
    logits = convert_to_tensor(logits, name="logits")
    labels = convert_to_tensor(labels, name="labels", preferred_dtype=logits.dtype)
    _logistic_shapes(logits, labels)
    return logits, labels


def sigmoid_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """Elementwise ``-z log(sigmoid(x)) - (1 - z) log(1 - sigmoid(x))``, computed stably.

    Args:
        labels: targets ``z`` in [0, 1], same shape and dtype as ``logits``.
        logits: ``x``.

    Raises:
        ValueError: at construction when the shapes differ.

    Example:
        >>> tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=x)
    """
    with name_scope(name, "logistic_loss", [logits, labels]) as scope:
        logits, labels = _logistic_args(_sentinel, labels, logits,
                                        "sigmoid_cross_entropy_with_logits")
        return core.op("SigmoidCrossEntropyWithLogits", [logits, labels], name=scope)._outputs[0]


def weighted_cross_entropy_with_logits(labels=None, logits=None, pos_weight=None, name=None,
                                       targets=None):
    """Logistic loss with the positive term weighted by ``pos_weight``.

    ``(1 - z) * x + (1 + (pos_weight - 1) * z) * softplus(-x)``: stable for any x.
    """
    if labels is None:
        labels = targets
    elif targets is not None:
        raise ValueError("Cannot specify both 'labels' and 'targets'.")
    if pos_weight is None:
        raise ValueError("pos_weight must be provided.")
    with name_scope(name, "logistic_loss", [logits, labels]) as scope:
        logits, labels = _logistic_args(None, labels, logits, "weighted_cross_entropy_with_logits")
        log_weight = 1 + (pos_weight - 1) * labels
        return math_ops.add((1 - labels) * logits, log_weight * softplus(-logits), name=scope)


# ----------------------------------------------------------------------------------------------
# InTopK
# ----------------------------------------------------------------------------------------------
def _in_top_k_infer(op):
    pred, targets, k = op._inputs
    check_dtype(op, pred, {dtypes.float32}, "predictions")
    check_dtype(op, targets, INDEX, "targets")
    check_dtype(op, k, INDEX, "k")
    ps = pred._shape.with_rank(2) if pred._shape.ndims is not None else unknown_shape(2)
    ts = targets._shape.with_rank(1) if targets._shape.ndims is not None else unknown_shape(1)
    if k._shape.ndims not in (None, 0):
        raise ValueError("k must be a scalar, got shape %s" % k._shape)
    try:
        batch = ps[:1].merge_with(ts)
    except ValueError:
        raise ValueError("First dimension of predictions %s must match length of targets %s"
                         % (ps[0], ts[0])) from None
    return [(dtypes.bool_, batch)]


def _in_top_k_kernel(op, ctx):
    xp = ctx.xp

    def in_top_k_(pred, targets, k):
        n, c = pred.shape
        if targets.shape != (n,):
            raise ValueError("First dimension of predictions %d must match length of targets %d"
                             % (n, targets.shape[0]))
        valid = (targets >= 0) & (targets < c)
        t = xp.where(valid, targets, 0)
        target_pred = pred[xp.arange(n), t]
        more = (pred > target_pred[:, None]).sum(axis=1)
        # TF cannot say for a row with a non-finite prediction: false.
        return valid & xp.isfinite(pred).all(axis=1) & (more < k)
    return in_top_k_


register_op("InTopKV2", infer=_in_top_k_infer, kernel=_in_top_k_kernel, grad=NOT_DIFFERENTIABLE)


def in_top_k(predictions, targets, k, name=None):
    """Whether each target class is among the ``k`` largest predictions of its row.

    Ties count in the target's favour; a row with a non-finite prediction or an
    out-of-range target gives False.

    Example:
        >>> correct = tf.nn.in_top_k(logits, labels, 1)
    """
    pred = convert_to_tensor(predictions, name="predictions")
    targets = convert_to_tensor(targets, name="targets")
    k = convert_to_tensor(k, name="k", dtype=targets.dtype if not isinstance(k, Tensor) else None)
    return out("InTopKV2", [pred, targets, k], name=name)
