"""Reductions and scans: ``reduce_*``, ``count_nonzero``, ``argmax``/``argmin``, ``cumsum``,
``cumprod``.

Reduction axes known at construction are an attr (normalized when the rank is known); axes
known only at run time are a second input. Gradients broadcast the output gradient back over
the reduced axes with one shared op (``ReductionGradBroadcast``).
"""
import functools

import numpy as np

from ..framework import dtypes
from ..framework.graph import Tensor
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape, unknown_shape
from . import core
from .core import convert_to_tensor, out
from .math_ops import (cast, conj, div_no_nan, equal, exp, is_finite, log, not_equal,
                       ones_like_t, sqrt, square, sum_leading_axes, where, zeros_like_t)
from .shape_rules import BOOL, HALF, NUMERIC, REAL, check_dtype, normalize_axes, reduced_shape

__all__ = [
    "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_any",
    "reduce_all", "reduce_logsumexp", "reduce_euclidean_norm", "count_nonzero", "argmax",
    "argmin", "arg_max", "arg_min", "cumsum", "cumprod",
]


# ----------------------------------------------------------------------------------------------
# Reductions
# ----------------------------------------------------------------------------------------------
# The "axis" attr holds the reduction axes known at construction: None (all axes) or a sorted
# tuple, normalized to non-negative values whenever the input rank is known (NumPy takes negative
# axes as they are otherwise). Axes only known at run time are a second input instead.
def _static_axes(op):
    """The op's reduction axes (None = all), or _RUNTIME_AXES when they are an input tensor."""
    return op._attrs["axis"] if len(op._inputs) == 1 else _RUNTIME_AXES


_RUNTIME_AXES = object()


def _reduce_infer(allowed):
    def infer(op):
        x = op._inputs[0]
        check_dtype(op, x, allowed, "input")
        keep = op._attrs["keep_dims"]
        axes = _static_axes(op)
        if axes is _RUNTIME_AXES:
            r = x._shape.ndims
            return [(x.dtype, unknown_shape(r) if keep and r is not None else unknown_shape())]
        if axes is None and not keep:
            return [(x.dtype, TensorShape([]))]
        normalize_axes(axes, x._shape.ndims)  # raises for an axis out of range
        return [(x.dtype, reduced_shape(x._shape, axes, keep))]
    return infer


def _reduce_kernel(fn_name, initial=None):
    """Kernel factory for ``xp.<fn_name>`` reductions.

    Integer sums and products pass the output dtype (NumPy would widen to int64);
    ``initial`` gives max/min their identity so empty inputs reduce to -inf/+inf as in TF.
    """
    def make(op, ctx):
        xp = ctx.xp
        f = getattr(xp, fn_name)
        keep = op._attrs["keep_dims"]
        x_dt = op._inputs[0].dtype
        kw = {}
        if x_dt.is_integer and fn_name in ("sum", "prod"):
            kw["dtype"] = x_dt.np
        if initial is not None and xp is np:
            kw["initial"] = initial(x_dt)
        axes = op._attrs["axis"] if len(op._inputs) == 1 else None
        if fn_name == "sum" and axes and axes == tuple(range(len(axes))) \
                and x_dt not in HALF:
            fn = _leading_sum(xp, f, axes, keep, x_dt.np, kw)
        elif len(op._inputs) == 1:
            fn = functools.partial(f, axis=op._attrs["axis"], keepdims=keep, **kw)
        else:
            def fn(x, axis):
                return f(x, axis=_runtime_axes(axis, x.ndim), keepdims=keep, **kw)
        if x_dt in HALF and fn_name in ("sum", "prod", "mean"):
            # Accumulate float16/bfloat16 in float32, as TF's CPU kernels do (ml_dtypes'
            # bfloat16 sum would round every partial sum); the result is rounded once.
            return _half_reduction(fn, x_dt.np)
        return fn
    return make


def _leading_sum(xp, f, axes, keep, npd, kw):
    """A sum over the leading axes (bias gradients): folded rows (``math_ops.sum_leading_axes``)
    where that applies."""
    n = len(axes)

    def sum_leading(x):
        s = sum_leading_axes(xp, x, n, npd)
        if s is None:
            return f(x, axis=axes, keepdims=keep, **kw)
        return s.reshape((1,) * n + s.shape) if keep else s
    return sum_leading


def _half_reduction(fn, npd):
    def half_reduce(x, *axis):
        return fn(x.astype(np.float32), *axis).astype(npd)
    return half_reduce


def _runtime_axes(axis, rank):
    return tuple(int(a) % max(rank, 1) for a in np.reshape(np.asarray(axis), [-1]))


def _lowest(dt):
    return -np.inf if dt.is_floating else dt.min


def _highest(dt):
    return np.inf if dt.is_floating else dt.max


def _mean_kernel(op, ctx):
    """Float means are ``xp.mean``; integer means truncate toward zero, as TF's do."""
    if not op._inputs[0].dtype.is_integer:
        return _reduce_kernel("mean")(op, ctx)
    xp = ctx.xp
    total = _reduce_kernel("sum")(op, ctx)
    npd = op._inputs[0].dtype.np
    static = len(op._inputs) == 1
    axes = op._attrs["axis"] if static else None

    def int_mean(x, *axis):
        s = total(x, *axis)
        ax = axes if static else _runtime_axes(axis[0], x.ndim)
        n = x.size if ax is None else int(np.prod([x.shape[a] for a in ax]))
        return (xp.sign(s) * (xp.abs(s) // max(n, 1))).astype(npd, copy=False)
    return int_mean


def _reduce_like(op, t, keep_dims=None):
    """Sums ``t`` over the axes ``op`` reduces (with op's keep_dims unless given)."""
    attrs = dict(op._attrs)
    if keep_dims is not None:
        attrs["keep_dims"] = keep_dims
    return out("Sum", [t] + list(op._inputs[1:]), attrs)


def _expand_reduced(op, g, mean=False):
    """Broadcasts a reduction's output (or its gradient) ``g`` back to the input's shape;
    ``mean`` also divides by the number of elements reduced into each output."""
    attrs = {"keep_dims": op._attrs["keep_dims"], "mean": mean}
    if len(op._inputs) == 1:
        attrs["axis"] = op._attrs["axis"]
    return out("ReductionGradBroadcast", [g] + list(op._inputs), attrs)


def _grad_broadcast_infer(op):
    return [(op._inputs[0].dtype, op._inputs[1]._shape)]


def _grad_broadcast_kernel(op, ctx):
    xp = ctx.xp
    a = op._attrs
    static = len(op._inputs) == 2
    if a["keep_dims"] or static and a["axis"] is None:
        def expand(g, x, *axis):
            return xp.broadcast_to(g, x.shape)
    elif static and all(ax >= 0 for ax in a["axis"]):
        axes = a["axis"]

        def expand(g, x):
            return xp.broadcast_to(xp.expand_dims(g, axes), x.shape)
    elif static:
        axes = a["axis"]

        def expand(g, x):
            return xp.broadcast_to(xp.expand_dims(g, tuple(sorted(ax % x.ndim for ax in axes))),
                                   x.shape)
    else:
        def expand(g, x, axis):
            return xp.broadcast_to(
                xp.expand_dims(g, tuple(sorted(set(_runtime_axes(axis, x.ndim))))), x.shape)
    if not a["mean"]:
        return expand

    def expand_mean(g, x, *axis):
        # Dividing the reduced g (not the broadcast result) touches the fewest elements.
        n = x.size // max(g.size, 1)
        return expand(g / g.dtype.type(n) if n > 1 else g, x, *axis)
    return expand_mean


def _grad_broadcast_grad(op, gg):
    a = op._attrs
    attrs = {"keep_dims": a["keep_dims"]}
    if len(op._inputs) == 2:
        attrs["axis"] = a["axis"]
    reduced = out("Mean" if a["mean"] else "Sum", [gg] + list(op._inputs[2:]), attrs)
    return [reduced] + [None] * (len(op._inputs) - 1)


register_op("ReductionGradBroadcast", infer=_grad_broadcast_infer, kernel=_grad_broadcast_kernel,
            grad=_grad_broadcast_grad,
            doc="Broadcasts a reduced tensor back over the reduced axes of its second input "
                "(the shared step of reduction gradients), optionally divided by the count.")


def _sum_grad(op, g):
    return [_expand_reduced(op, g)] + [None] * (len(op._inputs) - 1)


def _mean_grad(op, g):
    return [_expand_reduced(op, g, mean=True)] + [None] * (len(op._inputs) - 1)


def _minmax_grad(op, g):
    """The gradient goes to the elements equal to the extremum, split equally among ties (TF)."""
    x, y = op._inputs[0], op._outputs[0]
    hit = cast(equal(x, _expand_reduced(op, y)), g.dtype)
    count = _reduce_like(op, hit)
    return [hit * _expand_reduced(op, g / count)] + [None] * (len(op._inputs) - 1)


def _prod_others(x, axes):
    """For each element, the product of the other elements of its group along ``axes``.

    Built from exclusive cumulative products (no division, so zeros are exact) and thus
    differentiable again. Over several axes the product factorizes: the others along the
    last axis, times the others (along the remaining axes) of the last axis' full products.
    """
    if not axes:
        return ones_like_t(x)
    a = axes[-1]
    res = cumprod(x, a, exclusive=True) * cumprod(x, a, exclusive=True, reverse=True)
    if len(axes) > 1:
        res = res * _prod_others(reduce_prod(x, a, keepdims=True), axes[:-1])
    return res


def _prod_grad(op, g):
    from .array_ops import reshape, reshape_like
    axes = _static_axes(op)
    x = op._inputs[0]
    if axes is _RUNTIME_AXES:
        raise NotImplementedError("Gradient of reduce_prod over axes given at run time is not "
                                  "supported (op %s); pass a constant axis" % op.name)
    if axes is None:  # all axes: work on the flattened input, whatever its rank
        others = reshape_like(_prod_others(reshape(x, [-1]), (0,)), x)
    else:
        others = _prod_others(x, axes)
    return [_expand_reduced(op, g) * conj(others)]  # TF's complex convention (no op for reals)


register_op("Sum", infer=_reduce_infer(NUMERIC), kernel=_reduce_kernel("sum"), grad=_sum_grad)
register_op("Mean", infer=_reduce_infer(NUMERIC), kernel=_mean_kernel, grad=_mean_grad)
register_op("Max", infer=_reduce_infer(REAL), kernel=_reduce_kernel("max", _lowest),
            grad=_minmax_grad)
register_op("Min", infer=_reduce_infer(REAL), kernel=_reduce_kernel("min", _highest),
            grad=_minmax_grad)
register_op("Prod", infer=_reduce_infer(NUMERIC), kernel=_reduce_kernel("prod"), grad=_prod_grad)
register_op("Any", infer=_reduce_infer(BOOL), kernel=_reduce_kernel("any"), grad=NOT_DIFFERENTIABLE)
register_op("All", infer=_reduce_infer(BOOL), kernel=_reduce_kernel("all"), grad=NOT_DIFFERENTIABLE)


def _axis_list(axis):
    """A user's axis argument (int, list, array or constant tensor) as a tuple of ints, or a
    Tensor when its value is only known at run time."""
    if isinstance(axis, Tensor):
        v = core.constant_value(axis)
        if v is None:
            return axis
        axis = v
    return tuple(int(a) for a in np.reshape(np.asarray(axis), [-1]))


def _reduce(op_type, input_tensor, axis, keepdims, name, keep_dims=None, reduction_indices=None):
    x = convert_to_tensor(input_tensor)
    if keep_dims is not None:
        keepdims = keep_dims
    if axis is None:
        axis = reduction_indices
    keepdims = bool(keepdims)
    if axis is None:
        return out(op_type, [x], {"axis": None, "keep_dims": keepdims}, name=name)
    axes = _axis_list(axis)
    if isinstance(axes, Tensor):
        return out(op_type, [x, axes], {"keep_dims": keepdims}, name=name)
    rank = x._shape.ndims
    if rank is not None and all(-rank <= a < rank for a in axes):
        axes = normalize_axes(axes, rank)
    return out(op_type, [x], {"axis": tuple(sorted(axes)), "keep_dims": keepdims}, name=name)


def reduce_sum(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """Sum over ``axis`` (all axes if None); integer sums keep their dtype.

    Args:
        input_tensor: the tensor to reduce.
        axis: an int, a list of ints (negative counts from the end) or None for all axes.
        keepdims: keep reduced axes with length 1.
        name: op name.
        reduction_indices, keep_dims: deprecated TF1 spellings of ``axis`` and ``keepdims``.

    Returns:
        The reduced tensor, of ``input_tensor``'s dtype.

    Example:
        >>> tf.reduce_sum(tf.ones([2, 3]), axis=1)   # [3., 3.]
    """
    return _reduce("Sum", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_mean(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                keep_dims=None):
    """Mean over ``axis``; integer inputs give an integer (truncated) mean, as in TF."""
    return _reduce("Mean", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_max(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """Maximum over ``axis``; its gradient is shared equally among tied maxima."""
    return _reduce("Max", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_min(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """Minimum over ``axis``; its gradient is shared equally among tied minima."""
    return _reduce("Min", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_prod(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                keep_dims=None):
    """Product over ``axis``; its gradient is exact when the input holds zeros."""
    return _reduce("Prod", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_any(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """Logical or over ``axis`` of a bool tensor."""
    return _reduce("Any", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_all(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """Logical and over ``axis`` of a bool tensor."""
    return _reduce("All", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_logsumexp(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                     keep_dims=None):
    """``log(sum(exp(x)))`` over ``axis``, computed stably by subtracting the maximum first."""
    from .gradients import stop_gradient
    x = convert_to_tensor(input_tensor)
    if keep_dims is not None:
        keepdims = keep_dims
    if axis is None:
        axis = reduction_indices
    m = stop_gradient(reduce_max(x, axis, keepdims=True))
    m = where(is_finite(m), m, zeros_like_t(m))
    # Summing m over the reduced (length-1) axes drops them exactly when keepdims is False.
    r = log(reduce_sum(exp(x - m), axis, keepdims=keepdims))
    r = r + reduce_sum(m, axis, keepdims=keepdims)
    return r if name is None else out("Identity", [r], name=name)


def reduce_euclidean_norm(input_tensor, axis=None, keepdims=False, name=None):
    """``sqrt(reduce_sum(square(x)))`` over ``axis``."""
    return sqrt(reduce_sum(square(input_tensor), axis, keepdims), name=name)


def count_nonzero(input_tensor, axis=None, keepdims=None, dtype=dtypes.int64, name=None,
                  reduction_indices=None, keep_dims=None):
    """Number of nonzero elements over ``axis`` (int64 by default)."""
    x = convert_to_tensor(input_tensor)
    nz = cast(not_equal(x, zeros_like_t(x)), dtypes.int64)
    return cast(reduce_sum(nz, axis, keepdims, reduction_indices=reduction_indices,
                           keep_dims=keep_dims), dtype, name=name)


# ----------------------------------------------------------------------------------------------
# ArgMax / ArgMin / Cumsum / Cumprod
# ----------------------------------------------------------------------------------------------
def _arg_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, REAL | BOOL, "input")
    axis, rank = op._attrs["axis"], x._shape.ndims
    if rank is None:
        return [(op._attrs["output_type"], unknown_shape())]
    if not -rank <= axis < rank:
        raise ValueError("Dimension (%d) must be in the range [%d, %d), where %d is the number of "
                         "dimensions in the input." % (axis, -rank, rank, rank))
    return [(op._attrs["output_type"], reduced_shape(x._shape, (axis % rank,), False))]


def _arg_kernel(fn):
    def make(op, ctx):
        f = getattr(ctx.xp, fn)
        axis = op._attrs["axis"]
        npd = op._attrs["output_type"].np
        return lambda x: f(x, axis=axis).astype(npd, copy=False)
    return make


register_op("ArgMax", infer=_arg_infer, kernel=_arg_kernel("argmax"), grad=NOT_DIFFERENTIABLE)
register_op("ArgMin", infer=_arg_infer, kernel=_arg_kernel("argmin"), grad=NOT_DIFFERENTIABLE)


def _const_axis(axis, what):
    if isinstance(axis, Tensor):
        v = core.constant_value(axis)
        if v is None:
            raise NotImplementedError("%s needs an axis known when the graph is built" % what)
        axis = v
    return int(np.asarray(axis).reshape(()))


def _arg(op_type, x, axis, output_type, name, dimension):
    x = convert_to_tensor(x)
    if axis is None:
        axis = dimension if dimension is not None else 0
    axis = _const_axis(axis, op_type)
    return out(op_type, [x], {"axis": axis, "output_type": dtypes.as_dtype(output_type)}, name=name)


def argmax(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    """Index of the largest value along ``axis`` (the first one on ties).

    Args:
        input: a real or bool tensor.
        axis: the axis to reduce (default 0); ``dimension`` is its deprecated TF1 name.
        output_type: int64 (the TF1 default) or int32.
        name: op name.

    Returns:
        A tensor of ``output_type`` with ``axis`` removed.
    """
    return _arg("ArgMax", input, axis, output_type, name, dimension)


def argmin(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    """Index of the smallest value along ``axis`` (int64 by default, as in TF1)."""
    return _arg("ArgMin", input, axis, output_type, name, dimension)


def arg_max(input, dimension, output_type=dtypes.int64, name=None):  # noqa: A002
    """The TF1 op-level name of :func:`argmax` (``dimension`` is the axis)."""
    return _arg("ArgMax", input, dimension, output_type, name, None)


def arg_min(input, dimension, output_type=dtypes.int64, name=None):  # noqa: A002
    """The TF1 op-level name of :func:`argmin` (``dimension`` is the axis)."""
    return _arg("ArgMin", input, dimension, output_type, name, None)


def _cum_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, NUMERIC)
    rank = x._shape.ndims
    axis = op._attrs["axis"]
    if rank is not None and not -rank <= axis < rank:
        raise ValueError("ScanOp: Expected scan axis in the range [%d, %d), but got %d"
                         % (-rank, rank, axis))
    return [(x.dtype, x._shape)]


def _cum_kernel(fn, ident):
    """Kernel factory for cumulative sums/products; exclusive and reverse are bound here."""
    def make(op, ctx):
        xp = ctx.xp
        f = getattr(xp, fn)
        axis, excl, rev = op._attrs["axis"], op._attrs["exclusive"], op._attrs["reverse"]
        dt = op._outputs[0].dtype.np
        # Index tuples selecting [1:] / [:-1] along `axis`, valid whatever the rank.
        lead = (slice(None),) * axis if axis >= 0 else (Ellipsis,)
        tail = () if axis >= 0 else (slice(None),) * (-axis - 1)
        first, rest, head = lead + (slice(0, 1),) + tail, lead + (slice(1, None),) + tail, \
            lead + (slice(None, -1),) + tail

        def scan(x):
            return f(x, axis=axis, dtype=dt)

        def scan_exclusive(x):
            r = f(x, axis=axis, dtype=dt)
            res = xp.empty_like(r)
            res[first] = ident
            res[rest] = r[head]
            return res

        k = scan_exclusive if excl else scan
        if rev:
            return lambda x: xp.flip(k(xp.flip(x, axis)), axis)
        return k
    return make


def _cumsum_grad(op, g):
    a = op._attrs
    return [cumsum(g, a["axis"], exclusive=a["exclusive"], reverse=not a["reverse"])]


def _cumprod_grad(op, g):
    # As TF: the division by x is div_no_nan, so zeros in x get a zero gradient.
    a = op._attrs
    x, y = op._inputs[0], op._outputs[0]
    s = cumsum(g * conj(y), a["axis"], exclusive=a["exclusive"], reverse=not a["reverse"])
    return [div_no_nan(s, conj(x))]  # complex: the conjugate derivative, as every rule


register_op("Cumsum", infer=_cum_infer, kernel=_cum_kernel("cumsum", 0), grad=_cumsum_grad)
register_op("Cumprod", infer=_cum_infer, kernel=_cum_kernel("cumprod", 1), grad=_cumprod_grad)


def _cum(op_type, x, axis, exclusive, reverse, name):
    x = convert_to_tensor(x)
    return out(op_type, [x], {"axis": _const_axis(axis, op_type), "exclusive": bool(exclusive),
                              "reverse": bool(reverse)}, name=name)


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    """Cumulative sum along ``axis``.

    Args:
        x: a numeric tensor.
        axis: the axis to scan (negative counts from the end).
        exclusive: leave each element out of its own sum (the first output is 0).
        reverse: scan from the end.
        name: op name.

    Returns:
        A tensor of ``x``'s shape and dtype.

    Example:
        >>> tf.cumsum([1, 2, 3], exclusive=True)   # [0, 1, 3]
    """
    return _cum("Cumsum", x, axis, exclusive, reverse, name)


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    """Cumulative product along ``axis`` (``exclusive``/``reverse`` as in :func:`cumsum`)."""
    return _cum("Cumprod", x, axis, exclusive, reverse, name)
