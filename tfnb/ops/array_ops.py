"""Array ops: creating, reshaping, joining, splitting, transposing, tiling and padding tensors.

Axes are attrs (they must be known while the graph is built), and so are the
static shapes/sizes of reshape, fill and split (a run-time tensor becomes an input).
Other index-like arguments (permutations, multiples, paddings, slice bounds, ``k``,
``depth``) are int tensor inputs, as in TF1; when their value is known at
construction (``core.constant_value``) shape inference is exact and the kernel
factory binds the value once, so the kernel run on every step does no Python work
per element.

Slicing and reversing (``slicing_ops``) and indexing -- gather/scatter, segment sums,
one-hot, masks, unique, top_k (``indexing_ops``) -- have modules of their own, built on
this one; their public names are re-exported here.
"""
import builtins

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import IndexedSlices, Tensor
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape, as_shape, unknown_shape
from . import core
from .core import constant, constant_value, convert_to_tensor, out
from .shape_rules import INDEX, NUMERIC, check_dtype, normalize_axes

__all__ = [
    "placeholder", "placeholder_with_default", "identity", "shape", "shape_n", "size", "rank",
    "reshape", "bitcast", "expand_dims", "squeeze", "stack", "unstack", "concat", "split",
    "fill", "zeros", "ones", "zeros_like", "ones_like", "range_", "linspace", "lin_space",
    "constant", "broadcast_to", "convert_to_tensor", "transpose", "matrix_transpose",
    "invert_permutation", "tile", "pad", "meshgrid",
]

# The module exports ``slice`` (tf.slice); kernels use Python's own through this name.
_pyslice = builtins.slice


# ----------------------------------------------------------------------------------------------
# Placeholders and identity
# ----------------------------------------------------------------------------------------------
def _placeholder_kernel(op, ctx):
    raise errors.InvalidArgumentError(
        None, op, "You must feed a value for placeholder tensor '%s' with dtype %s%s\n\t[[%s]]" % (
            op.name, op._attrs["dtype"].name,
            "" if op._attrs["shape"].ndims is None else " and shape %s" % _tf_shape_str(
                op._attrs["shape"]), op.describe()))


def _tf_shape_str(s):
    return "[" + ",".join("?" if d is None else str(d) for d in s.as_tuple()) + "]"


register_op("Placeholder", infer=lambda op: [(op._attrs["dtype"], op._attrs["shape"])],
            kernel=_placeholder_kernel, grad=NOT_DIFFERENTIABLE, foldable=False)


def placeholder(dtype, shape=None, name=None):
    """A tensor whose value must be fed to ``run`` (``feed_dict={x: value}``).

    Example:
        >>> x = tf.placeholder(tf.float32, [None, 784])
    """
    shape = unknown_shape() if shape is None else as_shape(shape)
    return out("Placeholder", [], {"dtype": dtypes.as_dtype(dtype), "shape": shape},
               name=name or "Placeholder")


register_op("PlaceholderWithDefault",
            infer=lambda op: [(op._inputs[0].dtype, op._attrs["shape"])],
            kernel=lambda op, ctx: lambda x: x, grad=lambda op, g: [g], foldable=False)


def placeholder_with_default(input, shape, name=None):  # noqa: A002 - TF1 argument name
    """Like ``identity(input)`` unless a value is fed for it."""
    x = convert_to_tensor(input)
    shape = as_shape(shape)
    if not x.shape.is_compatible_with(shape):
        raise ValueError("Default value of shape %s is not compatible with shape %s"
                         % (x.shape, shape))
    return out("PlaceholderWithDefault", [x], {"shape": shape}, name=name)


def _identity_kernel(op, ctx):
    return lambda x: x


register_op("Identity", infer=lambda op: [(op._inputs[0].dtype, op._inputs[0]._shape)],
            kernel=_identity_kernel, grad=lambda op, g: [g])
register_op("StopGradient", infer=lambda op: [(op._inputs[0].dtype, op._inputs[0]._shape)],
            kernel=_identity_kernel, grad=NOT_DIFFERENTIABLE)


def identity(input, name=None):  # noqa: A002
    """Returns a tensor with the same value (a new node; useful with control_dependencies)."""
    if isinstance(input, IndexedSlices):
        return IndexedSlices(identity(input.values, name=name), input.indices, input.dense_shape)
    return out("Identity", [convert_to_tensor(input)], name=name)


# ----------------------------------------------------------------------------------------------
# Shape, Size, Rank
# ----------------------------------------------------------------------------------------------
def _shape_kernel(op, ctx):
    npd = op._attrs["out_type"].np
    xp = ctx.xp
    return lambda x: xp.asarray(x.shape, dtype=npd)


register_op("Shape", infer=lambda op: [(op._attrs["out_type"], TensorShape([op._inputs[0]._shape.ndims]))],
            kernel=_shape_kernel, grad=NOT_DIFFERENTIABLE)
register_op("Size", infer=lambda op: [(op._attrs["out_type"], TensorShape([]))],
            kernel=lambda op, ctx: lambda x: ctx.xp.asarray(x.size, dtype=op._attrs["out_type"].np),
            grad=NOT_DIFFERENTIABLE)
register_op("Rank", infer=lambda op: [(dtypes.int32, TensorShape([]))],
            kernel=lambda op, ctx: lambda x: ctx.xp.asarray(x.ndim, dtype=np.int32),
            grad=NOT_DIFFERENTIABLE)


def shape(input, name=None, out_type=dtypes.int32):  # noqa: A002
    """The dynamic shape of ``input`` as a 1-D int32 tensor (``x.shape`` is the static one)."""
    return out("Shape", [convert_to_tensor(input)], {"out_type": dtypes.as_dtype(out_type)}, name=name)


def shape_n(input, out_type=dtypes.int32, name=None):  # noqa: A002
    return [shape(x, out_type=out_type) for x in input]


def size(input, name=None, out_type=dtypes.int32):  # noqa: A002
    return out("Size", [convert_to_tensor(input)], {"out_type": dtypes.as_dtype(out_type)}, name=name)


def rank(input, name=None):  # noqa: A002
    return out("Rank", [convert_to_tensor(input)], name=name)


# ----------------------------------------------------------------------------------------------
# Reshape
# ----------------------------------------------------------------------------------------------
def _reshape_target(op):
    """The requested shape as a TensorShape (-1 shown as unknown), and whether it is static."""
    if len(op._inputs) == 1:
        return TensorShape([None if d == -1 else d for d in op._attrs["shape"]]), True
    return core.constant_value_as_shape(op._inputs[1]), False


def _reshape_infer(op):
    x = op._inputs[0]
    target, static = _reshape_target(op)
    n_in = x._shape.num_elements()
    if static:
        req = op._attrs["shape"]
        if req.count(-1) > 1:
            raise ValueError("Cannot infer multiple unknown dimensions in shape %s" % (list(req),))
        known = int(np.prod([d for d in req if d != -1]))
        if n_in is not None:
            if -1 in req:
                if known == 0 or n_in % known:
                    raise ValueError("Cannot reshape a tensor with %d elements to shape %s"
                                     % (n_in, list(req)))
                target = TensorShape([n_in // known if d == -1 else d for d in req])
            elif known != n_in:
                raise ValueError("Cannot reshape a tensor with %d elements to shape %s (%d elements)"
                                 % (n_in, list(req), known))
    return [(x.dtype, target)]


def _reshape_kernel(op, ctx):
    if len(op._inputs) == 1:
        shp = tuple(op._attrs["shape"])
        return lambda x: x.reshape(shp)
    return lambda x, s: x.reshape(tuple(int(d) for d in s))


def _reshape_grad(op, g):
    return [reshape_like(g, op._inputs[0])] + [None] * (len(op._inputs) - 1)


register_op("Reshape", infer=_reshape_infer, kernel=_reshape_kernel, grad=_reshape_grad)


def reshape_like(g, like):
    """Reshapes ``g`` to the (static or run-time) shape of ``like``."""
    s = like._shape
    if s.is_fully_defined():
        return reshape(g, s.as_list())
    return reshape(g, shape(like))


def reshape(tensor, shape, name=None):  # noqa: F811 - TF1 argument name shadows the function
    """Gives ``tensor`` a new shape with the same elements; one dim may be -1 (inferred).

    Raises:
        ValueError: at construction, when the element counts cannot match.
    """
    x = convert_to_tensor(tensor)
    if isinstance(shape, TensorShape):
        shape = shape.as_list()
    if not isinstance(shape, Tensor):
        if isinstance(shape, (list, tuple)) and any(isinstance(d, Tensor) for d in shape):
            shape = stack([convert_to_tensor(d, dtype=dtypes.int32) if not isinstance(d, Tensor)
                           else d for d in shape])
        else:
            return out("Reshape", [x], {"shape": tuple(int(d) for d in np.reshape(shape, [-1]))},
                       name=name)
    v = constant_value(shape)
    if v is not None:
        return out("Reshape", [x], {"shape": tuple(int(d) for d in v.reshape(-1))}, name=name)
    return out("Reshape", [x, shape], name=name)


# ----------------------------------------------------------------------------------------------
# Bitcast
# ----------------------------------------------------------------------------------------------
def _itemsize(dt):
    return np.dtype(dt.np).itemsize


def _bitcast_infer(op):
    x, dst = op._inputs[0], op._attrs["type"]
    check_dtype(op, x, NUMERIC, "input")
    if dst not in NUMERIC:
        raise TypeError("Value passed to parameter 'type' has DataType %s not in list of allowed "
                        "values: %s" % (dst.name, ", ".join(sorted(d.name for d in NUMERIC))))
    n_in, n_out = _itemsize(x.dtype), _itemsize(dst)
    dims = x._shape.as_tuple()
    if n_in == n_out or dims is None:
        return [(dst, x._shape if n_in == n_out else unknown_shape())]
    if n_in > n_out:
        return [(dst, TensorShape(dims + (n_in // n_out,)))]
    if not dims or dims[-1] not in (None, n_out // n_in):
        raise ValueError("Cannot bitcast from %s to %s: the last dimension of shape %s must be %d"
                         % (x.dtype.name, dst.name, x._shape, n_out // n_in))
    return [(dst, TensorShape(dims[:-1]))]


def _bitcast_kernel(op, ctx):
    xp = ctx.xp
    dst = op._attrs["type"].np
    n_in, n_out = _itemsize(op._inputs[0].dtype), _itemsize(op._attrs["type"])

    def bitcast(x):
        x = xp.ascontiguousarray(x).reshape(x.shape)  # (ascontiguousarray makes 0-d 1-d)
        if n_in < n_out:  # the last axis (of n_out / n_in items) becomes one item
            if not x.ndim or x.shape[-1] != n_out // n_in:
                raise errors.InvalidArgumentError(
                    None, None, "Cannot bitcast from %s to %s: shape %s" % (
                        op._inputs[0].dtype.name, op._attrs["type"].name, list(x.shape)))
            return x.view(dst).reshape(x.shape[:-1])
        # A trailing axis of length 1 (legal for 0-d inputs too) becomes n_in / n_out items.
        bits = x.reshape(x.shape + (1,)).view(dst)
        return bits.reshape(x.shape) if n_in == n_out else bits
    return bitcast


register_op("Bitcast", infer=_bitcast_infer, kernel=_bitcast_kernel, grad=NOT_DIFFERENTIABLE)


def bitcast(input, type, name=None):  # noqa: A002 - TF1 argument names
    """Reinterprets the bytes of ``input`` as ``type`` without copying values.

    A narrower ``type`` adds a trailing dimension of ``sizeof(input) / sizeof(type)``; a wider
    one needs that as the last dimension and removes it (bytes in machine order, as TF).

    Example:
        >>> tf.bitcast(tf.constant([1.0]), tf.int32)   # [1065353216]
    """
    return out("Bitcast", [convert_to_tensor(input)], {"type": dtypes.as_dtype(type)}, name=name)


# ----------------------------------------------------------------------------------------------
# ExpandDims / Squeeze
# ----------------------------------------------------------------------------------------------
def _expand_infer(op):
    x = op._inputs[0]
    dims = x._shape.as_tuple()
    if dims is None:
        return [(x.dtype, unknown_shape())]
    axes = op._attrs["axes"]
    out_rank = len(dims) + len(axes)
    res = list(dims)
    for a in sorted(a % out_rank for a in axes):
        res.insert(a, 1)
    return [(x.dtype, TensorShape(res))]


def _expand_kernel(op, ctx):
    axes = op._attrs["axes"]
    xp = ctx.xp

    def expand(x):
        n = x.ndim + len(axes)
        return xp.expand_dims(x, tuple(a % n for a in axes))
    return expand


register_op("ExpandDims", infer=_expand_infer, kernel=_expand_kernel,
            grad=lambda op, g: [reshape_like(g, op._inputs[0])])


def expand_dims(input, axis=None, name=None, dim=None):  # noqa: A002
    """Inserts a dimension of size 1 at ``axis`` (negative counts from the end)."""
    if axis is None:
        axis = dim
    if isinstance(axis, Tensor):
        axis = int(constant_value(axis))
    x = convert_to_tensor(input)
    r = x._shape.ndims
    axis = int(axis)
    if r is not None and not -r - 1 <= axis <= r:
        raise ValueError("axis %d out of range for expand_dims of a rank-%d tensor" % (axis, r))
    return out("ExpandDims", [x], {"axes": (axis,)}, name=name)


def expand_dims_axes(x, axes):
    """Inserts size-1 dims at the given output positions (used by reduction gradients)."""
    return out("ExpandDims", [x], {"axes": tuple(axes)})


def _squeeze_infer(op):
    x = op._inputs[0]
    dims = x._shape.as_tuple()
    axes = op._attrs["squeeze_dims"]
    if dims is None:
        return [(x.dtype, unknown_shape())]
    if axes:
        axes = normalize_axes(axes, len(dims))
        for a in axes:
            if dims[a] not in (None, 1):
                raise ValueError("Can not squeeze dim[%d], expected a dimension of 1, got %d"
                                 % (a, dims[a]))
        return [(x.dtype, TensorShape([d for i, d in enumerate(dims) if i not in axes]))]
    if None in dims:
        return [(x.dtype, unknown_shape())]
    return [(x.dtype, TensorShape([d for d in dims if d != 1]))]


def _squeeze_kernel(op, ctx):
    axes = op._attrs["squeeze_dims"]
    xp = ctx.xp
    if axes:
        return lambda x: xp.squeeze(x, axis=tuple(a % x.ndim for a in axes))
    return lambda x: xp.squeeze(x)


register_op("Squeeze", infer=_squeeze_infer, kernel=_squeeze_kernel,
            grad=lambda op, g: [reshape_like(g, op._inputs[0])])


def squeeze(input, axis=None, name=None, squeeze_dims=None):  # noqa: A002
    """Removes dimensions of size 1 (all of them, or those in ``axis``)."""
    if axis is None:
        axis = squeeze_dims
    if isinstance(axis, int):
        axis = [axis]
    x = convert_to_tensor(input)
    return out("Squeeze", [x], {"squeeze_dims": tuple(axis or ())}, name=name)


# ----------------------------------------------------------------------------------------------
# Pack (stack) / Unpack (unstack) / Concat
# ----------------------------------------------------------------------------------------------
def _pack_infer(op):
    ins = op._inputs
    d = ins[0].dtype
    s = ins[0]._shape
    for t in ins[1:]:
        if t.dtype is not d:
            raise TypeError("stack: all inputs must have dtype %s, got %s" % (d.name, t.dtype.name))
        try:
            s = s.merge_with(t._shape)
        except ValueError:
            raise ValueError("Shapes of all inputs must match: values[0].shape = %s != values[%d]"
                             ".shape = %s" % (ins[0]._shape, ins.index(t), t._shape)) from None
    dims = s.as_tuple()
    if dims is None:
        return [(d, unknown_shape())]
    axis = op._attrs["axis"]
    r = len(dims) + 1
    if not -r <= axis < r:
        raise ValueError("axis = %d not in [%d, %d)" % (axis, -r, r))
    res = list(dims)
    res.insert(axis % r, len(ins))
    return [(d, TensorShape(res))]


def _pack_kernel(op, ctx):
    stack_, axis = ctx.xp.stack, op._attrs["axis"]
    return lambda *xs: stack_(xs, axis=axis)


register_op("Pack", infer=_pack_infer, kernel=_pack_kernel,
            grad=lambda op, g: unstack(g, num=len(op._inputs), axis=op._attrs["axis"]))


def stack(values, axis=0, name="stack"):
    """Stacks same-shaped tensors along a new ``axis``."""
    if isinstance(values, Tensor):
        return values if name is None else identity(values)
    ts = [convert_to_tensor(v) for v in values]
    if not ts:
        raise ValueError("stack needs at least one tensor")
    dt = next((t.dtype for t in ts if t.op.type != "Const"), ts[0].dtype)
    ts = [t if t.dtype is dt else _recast_const(t, dt) for t in ts]
    return out("Pack", ts, {"axis": int(axis)}, name=name)


def _recast_const(t, dt):
    v = constant_value(t)
    if v is None or t.op.type != "Const":
        return t
    return constant(v, dtype=dt)



def _unpack_infer(op):
    x = op._inputs[0]
    axis, num = op._attrs["axis"], op._attrs["num"]
    dims = x._shape.as_tuple()
    if dims is None:
        return [(x.dtype, unknown_shape())] * num
    r = len(dims)
    a = axis % r
    rest = TensorShape(dims[:a] + dims[a + 1:])
    return [(x.dtype, rest)] * num


def _unpack_kernel(op, ctx):
    axis, num = op._attrs["axis"], op._attrs["num"]
    rank = op._inputs[0]._shape.ndims
    if rank is not None:
        # Views, one basic index each; the trailing Ellipsis keeps 0-d results arrays.
        keys = [(_pyslice(None),) * (axis % rank) + (i, Ellipsis) for i in range(num)]
        return lambda x: tuple(x[k] for k in keys)

    def unpack(x):
        pre = (_pyslice(None),) * (axis % x.ndim)
        return tuple(x[pre + (i, Ellipsis)] for i in range(x.shape[axis]))
    return unpack


def _unpack_grad(op, *grads):
    full = [g if g is not None else zeros_like(t) for g, t in zip(grads, op._outputs)]
    return [stack(full, axis=op._attrs["axis"])]


register_op("Unpack", infer=_unpack_infer, kernel=_unpack_kernel, grad=_unpack_grad)


def unstack(value, num=None, axis=0, name="unstack"):
    """Splits ``value`` along ``axis`` into a list of tensors of one lower rank."""
    x = convert_to_tensor(value)
    dims = x._shape.as_tuple()
    if num is None:
        if dims is None or dims[axis] is None:
            raise ValueError("Cannot infer num from shape %s" % x.shape)
        num = dims[axis]
    if dims is not None and not -len(dims) <= axis < len(dims):
        raise ValueError("axis = %d not in [%d, %d)" % (axis, -len(dims), len(dims)))
    if dims is not None and dims[axis] is not None and dims[axis] != num:
        raise ValueError("Cannot unstack %d values from axis %d of size %d" % (num, axis, dims[axis]))
    o = core.op("Unpack", [x], {"axis": int(axis), "num": int(num)}, name=name)
    return list(o._outputs)



def _concat_infer(op):
    ins = op._inputs
    axis = op._attrs["axis"]
    d = ins[0].dtype
    rank = None
    for t in ins:
        if t.dtype is not d:
            raise TypeError("ConcatOp: all inputs must have dtype %s, got %s" % (d.name, t.dtype.name))
        if t._shape.ndims is not None:
            if rank is not None and t._shape.ndims != rank:
                raise ValueError("Shape must be rank %d but is rank %d for '%s' (inputs %s)"
                                 % (rank, t._shape.ndims, op.name, [str(i.shape) for i in ins]))
            rank = t._shape.ndims
    if rank is None:
        return [(d, unknown_shape())]
    if not -rank <= axis < rank:
        raise ValueError("ConcatOp : Expected concatenating dimensions in the range [%d, %d), but "
                         "got %d" % (-rank, rank, axis))
    a = axis % rank
    res = [None] * rank
    total = 0
    for t in ins:
        dims = t._shape.as_tuple()
        if dims is None:
            total = None
            continue
        for i, dd in enumerate(dims):
            if i == a:
                continue
            if res[i] is None:
                res[i] = dd
            elif dd is not None and dd != res[i]:
                raise ValueError("Dimension %d in both shapes must be equal, but are %d and %d. "
                                 "Shapes are %s" % (i, res[i], dd, [str(x.shape) for x in ins]))
        if total is not None:
            total = None if dims[a] is None else total + dims[a]
    res[a] = total
    return [(d, TensorShape(res))]


def _concat_grad(op, g):
    axis = op._attrs["axis"]
    ins = op._inputs
    dims = [t._shape.as_tuple() for t in ins]
    rank = next(len(d) for d in dims if d is not None)
    a = axis % rank
    sizes = [None if d is None else d[a] for d in dims]
    if None in sizes:
        sizes_t = stack([shape(t)[a] for t in ins])
        return split(g, sizes_t, axis=a, num=len(ins))
    return split(g, sizes, axis=a)


def _concat_kernel(op, ctx):
    concatenate, axis = ctx.xp.concatenate, op._attrs["axis"]
    return lambda *xs: concatenate(xs, axis=axis)


register_op("ConcatV2", infer=_concat_infer, kernel=_concat_kernel,
            grad=_concat_grad)


def concat(values, axis, name="concat"):
    """Joins tensors along an existing ``axis``.

    Example:
        >>> tf.concat([a, b], axis=1)
    """
    if isinstance(axis, Tensor):
        axis = int(constant_value(axis))
    ts = [convert_to_tensor(v) for v in values]
    if len(ts) == 1:
        return identity(ts[0], name=name)
    return out("ConcatV2", ts, {"axis": int(axis)}, name=name)


# ----------------------------------------------------------------------------------------------
# Split (a count) / SplitV (sizes, one may be -1)
# ----------------------------------------------------------------------------------------------
def _split_axis(op, x):
    """The split axis made non-negative (None when the rank is unknown); checks the range."""
    axis = op._attrs["axis"]
    r = x._shape.ndims
    if r is None:
        return None
    if not -r <= axis < r:
        raise ValueError("axis = %d not in [%d, %d)" % (axis, -r, r))
    return axis % r


def _split_outputs(x, a, sizes):
    """One (dtype, shape) per output: ``x``'s shape with dim ``a`` set to each size (None = ?)."""
    dims = x._shape.as_tuple()
    if dims is None:
        return [(x.dtype, unknown_shape())] * len(sizes)
    return [(x.dtype, TensorShape(dims[:a] + (s,) + dims[a + 1:])) for s in sizes]


def _split_infer(op):
    x = op._inputs[0]
    n = op._attrs["num_split"]
    a = _split_axis(op, x)
    if n < 1:
        raise ValueError("num_split must be >= 1, got %d" % n)
    d = None if a is None else x._shape.as_tuple()[a]
    if d is not None and d % n:
        raise ValueError("Dimension size must be evenly divisible by %d but is %d" % (n, d))
    return _split_outputs(x, a, [None if d is None else d // n] * n)


def _split_kernel(op, ctx):
    n, axis = op._attrs["num_split"], op._attrs["axis"]
    if n == 1:
        return lambda x: x
    xp = ctx.xp
    return lambda x: tuple(xp.split(x, n, axis=axis))


def _split_grad(op, *grads):
    if any(g is None for g in grads):
        return [None]
    return [concat(list(grads), op._attrs["axis"])]


register_op("Split", infer=_split_infer, kernel=_split_kernel, grad=_split_grad)


def _resolve_sizes(sizes, d):
    """``sizes`` with its -1 (if any) filled in from dim ``d`` (None when unknowable)."""
    if -1 not in sizes:
        return list(sizes)
    rest = d - (builtins.sum(sizes) + 1) if d is not None else None
    return [rest if s == -1 else s for s in sizes]


def _splitv_infer(op):
    x = op._inputs[0]
    a = _split_axis(op, x)
    d = None if a is None else x._shape.as_tuple()[a]
    n = op._attrs["num_split"]
    if len(op._inputs) == 2:
        check_dtype(op, op._inputs[1], INDEX, "size_splits")
        return _split_outputs(x, a, [None] * n)
    sizes = op._attrs["sizes"]
    if sizes.count(-1) > 1 or builtins.any(s < -1 for s in sizes):
        raise ValueError("size_splits may contain at most one -1 and no other negative values, "
                         "got %s" % (list(sizes),))
    known = builtins.sum(s for s in sizes if s != -1)
    if d is not None and ((-1 not in sizes and known != d) or known > d):
        raise ValueError("can't split axis of size %d into pieces of size %s" % (d, list(sizes)))
    return _split_outputs(x, a, _resolve_sizes(sizes, d))


def _splitv_kernel(op, ctx):
    xp = ctx.xp
    axis = op._attrs["axis"]
    if len(op._inputs) == 1:
        sizes = op._attrs["sizes"]
        if len(sizes) == 1:
            return lambda x: x
        if -1 not in sizes:
            bounds = np.cumsum(sizes)
            total = int(bounds[-1])
            rank = op._inputs[0]._shape.ndims
            if rank is not None:
                pre = (_pyslice(None),) * (axis % rank)
                keys = [pre + (_pyslice(int(b) - s, int(b)), Ellipsis)
                        for b, s in zip(bounds, sizes)]

                def splitv_static(x):
                    if x.shape[axis] != total:
                        raise ValueError("Determined shape must either match input shape along "
                                         "split_dim exactly if fully specified, or be less than "
                                         "the size of the input along split_dim if not fully "
                                         "specified. Got: %d vs %d" % (total, x.shape[axis]))
                    return tuple(x[k] for k in keys)
                return splitv_static

        def splitv(x):
            s = _resolve_sizes(sizes, x.shape[axis])
            if builtins.min(s) < 0 or builtins.sum(s) != x.shape[axis]:
                raise ValueError("can't split axis of size %d into pieces of size %s"
                                 % (x.shape[axis], list(sizes)))
            return tuple(xp.split(x, np.cumsum(s[:-1]).tolist(), axis=axis))
        return splitv

    num = op._attrs["num_split"]

    def splitv_dynamic(x, size_splits):
        s = _resolve_sizes(size_splits.tolist(), x.shape[axis])
        if len(s) != num or builtins.min(s) < 0 or builtins.sum(s) != x.shape[axis]:
            raise ValueError("can't split axis of size %d into %d pieces of size %s"
                             % (x.shape[axis], num, size_splits.tolist()))
        parts = tuple(xp.split(x, np.cumsum(s[:-1]).tolist(), axis=axis))
        return parts if num != 1 else parts[0]
    return splitv_dynamic


def _splitv_grad(op, *grads):
    if any(g is None for g in grads):
        return [None] * len(op._inputs)
    return [concat(list(grads), op._attrs["axis"])] + [None] * (len(op._inputs) - 1)


register_op("SplitV", infer=_splitv_infer, kernel=_splitv_kernel, grad=_splitv_grad)


def split(value, num_or_size_splits, axis=0, num=None, name="split"):
    """Splits ``value`` along ``axis`` into a list of tensors.

    Args:
        value: the tensor to split.
        num_or_size_splits: an int (that many equal parts) or a 1-D list/tensor of sizes,
            one of which may be -1 (the rest of the dimension).
        axis: the dimension to split (must be known while the graph is built).
        num: the number of outputs when sizes are a tensor of unknown length.

    Returns:
        A list of tensors.

    Example:
        >>> a, b, c = tf.split(x, 3, axis=1)          # x: [None, 3, 4] -> three [None, 1, 4]
        >>> left, right = tf.split(x, [1, -1], axis=2)
    """
    x = convert_to_tensor(value)
    axis = _static_axis(axis, "split")
    if isinstance(num_or_size_splits, (int, np.integer)) and not isinstance(num_or_size_splits,
                                                                            bool):
        o = core.op("Split", [x], {"axis": axis, "num_split": int(num_or_size_splits)}, name=name)
        return list(o._outputs)
    sizes = num_or_size_splits
    if isinstance(sizes, (list, tuple)) and builtins.any(isinstance(v, Tensor) for v in sizes):
        sizes = _index_tensor(sizes)
    if isinstance(sizes, Tensor):
        v = constant_value(sizes)
        if v is None:
            if sizes._shape.ndims == 0:
                raise ValueError("Rank-0 tensors are not supported as the num_or_size_splits "
                                 "argument to split. Argument provided: %s" % (sizes,))
            if num is None:
                num = sizes._shape.as_tuple()[0] if sizes._shape.ndims == 1 else None
                if num is None:
                    raise ValueError("Cannot infer num from shape %s" % sizes._shape)
            o = core.op("SplitV", [x, sizes], {"axis": axis, "num_split": int(num)}, name=name)
            return list(o._outputs)
        if v.ndim == 0:
            raise ValueError("Rank-0 tensors are not supported as the num_or_size_splits "
                             "argument to split. Argument provided: %s" % (sizes,))
        sizes = v
    sizes = tuple(int(s) for s in np.reshape(sizes, [-1]))
    if not sizes:
        raise ValueError("Cannot split into zero pieces")
    if num is not None and num != len(sizes):
        raise ValueError("num = %d does not match the %d sizes %s" % (num, len(sizes), list(sizes)))
    o = core.op("SplitV", [x], {"axis": axis, "num_split": len(sizes), "sizes": sizes}, name=name)
    return list(o._outputs)


def _static_axis(axis, what):
    """``axis`` as a Python int; a tensor must have a value known at graph construction."""
    if isinstance(axis, Tensor):
        v = constant_value(axis)
        if v is None:
            raise ValueError("%s: axis must be known while the graph is built, got %s"
                             % (what, axis))
        axis = v
    return int(np.reshape(axis, ()))


# ----------------------------------------------------------------------------------------------
# Fill, zeros, ones, *_like, range, linspace, broadcast_to
# ----------------------------------------------------------------------------------------------
def _fill_infer(op):
    if len(op._inputs) == 1:
        return [(op._inputs[0].dtype, TensorShape(op._attrs["shape"]))]
    return [(op._inputs[1].dtype, core.constant_value_as_shape(op._inputs[0]))]


def _fill_kernel(op, ctx):
    xp = ctx.xp
    if len(op._inputs) == 1:
        shp = tuple(op._attrs["shape"])
        return lambda v: xp.full(shp, v, dtype=v.dtype)
    return lambda dims, v: xp.full(tuple(int(d) for d in dims), v, dtype=v.dtype)


register_op("Fill", infer=_fill_infer, kernel=_fill_kernel,
            grad=lambda op, g: [None] * (len(op._inputs) - 1) + [math().reduce_sum(g)],
            foldable=True)


def math():
    from . import math_ops
    return math_ops


def fill(dims, value, name=None):
    """A tensor of shape ``dims`` filled with ``value``."""
    v = convert_to_tensor(value)
    dims = _shape_arg(dims)  # a list holding tensors is packed, as TF1 does
    if not isinstance(dims, Tensor):
        dims = np.asarray(dims.as_list() if isinstance(dims, TensorShape) else dims, dtype=np.int64)
        if dims.ndim != 1 and dims.size:
            raise ValueError("dims must be a vector, got shape %s" % (dims.shape,))
        return out("Fill", [v], {"shape": tuple(int(d) for d in dims.reshape(-1))}, name=name)
    c = constant_value(dims)
    if c is not None:
        return out("Fill", [v], {"shape": tuple(int(d) for d in c.reshape(-1))}, name=name)
    return out("Fill", [dims, v], name=name)


def _shape_arg(shape_):
    if isinstance(shape_, TensorShape):
        return shape_.as_list()
    if isinstance(shape_, (list, tuple)) and any(isinstance(d, Tensor) for d in shape_):
        return stack([convert_to_tensor(d, dtype=dtypes.int32) for d in shape_])
    return shape_


def zeros(shape, dtype=dtypes.float32, name=None):
    """A tensor of zeros. Example: ``tf.zeros([784, 10])``."""
    dtype = dtypes.as_dtype(dtype)
    return fill(_shape_arg(shape), np.zeros((), dtype.np if dtype is not dtypes.string else object),
                name=name or "zeros")


def ones(shape, dtype=dtypes.float32, name=None):
    dtype = dtypes.as_dtype(dtype)
    return fill(_shape_arg(shape), np.ones((), dtype.np), name=name or "ones")


def _like_infer(op):
    x = op._inputs[0]
    return [(op._attrs.get("dtype") or x.dtype, x._shape)]


def _like_kernel(value):
    def make(op, ctx):
        xp = ctx.xp
        dt = (op._attrs.get("dtype") or op._inputs[0].dtype).np
        return lambda x: xp.full(x.shape, value, dtype=dt)
    return make


register_op("ZerosLike", infer=_like_infer, kernel=_like_kernel(0), grad=NOT_DIFFERENTIABLE)
register_op("OnesLike", infer=_like_infer, kernel=_like_kernel(1), grad=NOT_DIFFERENTIABLE)


def _like(op_type, fill_value, tensor, dtype, name):
    x = convert_to_tensor(tensor)
    dtype = None if dtype is None else dtypes.as_dtype(dtype)
    if x._shape.is_fully_defined():
        dt = dtype or x.dtype
        return fill(x._shape.as_list(), np.array(fill_value, dt.np), name=name)
    return out(op_type, [x], {"dtype": dtype}, name=name)


def zeros_like(tensor, dtype=None, name=None, optimize=True):
    """Zeros with the shape (static or run-time) and dtype of ``tensor``."""
    return _like("ZerosLike", 0, tensor, dtype, name)


def ones_like(tensor, dtype=None, name=None, optimize=True):
    return _like("OnesLike", 1, tensor, dtype, name)


def _range_infer(op):
    vals = [constant_value(t) for t in op._inputs]
    if all(v is not None for v in vals):
        s, lim, d = (float(v) for v in vals)
        n = max(0, int(np.ceil((lim - s) / d))) if d != 0 else None
        return [(op._inputs[0].dtype, TensorShape([n]))]
    return [(op._inputs[0].dtype, TensorShape([None]))]


def _range_kernel(op, ctx):
    npd = op._inputs[0].dtype.np
    xp = ctx.xp

    def range_kernel(s, lim, d):
        if d == 0:
            raise ValueError("Requires delta != 0")
        return xp.arange(s, lim, d, dtype=npd)
    return range_kernel


register_op("Range", infer=_range_infer, kernel=_range_kernel, grad=NOT_DIFFERENTIABLE)


def range_(start, limit=None, delta=1, dtype=None, name="range"):
    """``tf.range``: like Python's range, as a 1-D tensor."""
    if limit is None:
        start, limit = 0, start
    vals = [start, limit, delta]
    if dtype is None:
        dt = dtypes.int32
        for v in vals:
            d = v.dtype if isinstance(v, Tensor) else core._infer_dtype(v)
            if d.is_floating or (d is dtypes.int64 and not dt.is_floating):
                dt = d if d.is_floating or dt is dtypes.int32 else dt
    else:
        dt = dtypes.as_dtype(dtype)
    ts = [math().cast(v, dt) if isinstance(v, Tensor) else constant(v, dtype=dt) for v in vals]
    return out("Range", ts, name=name)


def _linspace_infer(op):
    n = constant_value(op._inputs[2])
    return [(op._inputs[0].dtype, TensorShape([None if n is None else int(n)]))]


register_op("LinSpace", infer=_linspace_infer,
            kernel=lambda op, ctx: lambda a, b, n: ctx.xp.linspace(a, b, int(n),
                                                                  dtype=op._inputs[0].dtype.np),
            grad=NOT_DIFFERENTIABLE)


def linspace(start, stop, num, name=None, axis=0):
    a = convert_to_tensor(start)
    b = convert_to_tensor(stop, dtype=a.dtype)
    n = convert_to_tensor(num, dtype=dtypes.int32) if not isinstance(num, Tensor) else num
    return out("LinSpace", [a, b, n], name=name)


lin_space = linspace


# ----------------------------------------------------------------------------------------------
# Helpers for index-like tensor arguments
# ----------------------------------------------------------------------------------------------
def _index_tensor(value, name=None):
    """An integer tensor for a shape/index-like argument (empty lists give int32)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, TensorShape):
        value = value.as_list()
    symbolic = hasattr(value, "_dense_tensor") or (
        isinstance(value, (list, tuple)) and builtins.any(
            isinstance(v, Tensor) or hasattr(v, "_dense_tensor") for v in core._flatten(value)))
    if not symbolic and np.size(value) == 0:
        return constant(np.zeros(np.shape(value), np.int32), name=name or "Const")
    t = convert_to_tensor(value, name=name)  # Python ints: int32 (int64 if large); NumPy: kept
    if not t.dtype.is_integer:
        raise TypeError("Expected int32 or int64 values, got %r" % (value,))
    return t


def _static_ints(t):
    """The value of int tensor ``t`` as a tuple of ints, if known at construction."""
    v = constant_value(t)
    return None if v is None else tuple(int(i) for i in np.reshape(v, [-1]))


def _static_int(t):
    v = constant_value(t)
    return None if v is None else int(np.reshape(v, ()))


def _vector_len(t):
    """The static length of 1-D tensor ``t`` (None if unknown)."""
    dims = t._shape.as_tuple()
    return None if dims is None or len(dims) != 1 else dims[0]


def _shape_list(t, out_type=dtypes.int32):
    """``t``'s shape as a list: ints where static, scalar tensors (``shape(t)[i]``) elsewhere."""
    dims = t._shape.as_tuple()
    if dims is None:
        raise ValueError("%s needs a known rank here, got shape %s" % (t.name, t._shape))
    dyn = None
    res = []
    for i, d in enumerate(dims):
        if d is None:
            if dyn is None:
                dyn = shape(t, out_type=out_type)
            res.append(dyn[i])
        else:
            res.append(d)
    return res


def _shape_of(t, out_type=dtypes.int32):
    """``shape(t)``, as a constant when the static shape is fully known."""
    if t._shape.is_fully_defined():
        return constant(np.array(t._shape.as_list(), dtype=dtypes.as_dtype(out_type).np))
    return shape(t, out_type=out_type)


# ----------------------------------------------------------------------------------------------
# BroadcastTo
# ----------------------------------------------------------------------------------------------
def _broadcast_to_infer(op):
    x, s = op._inputs
    check_dtype(op, s, INDEX, "shape")
    target = core.constant_value_as_shape(s)
    dims, tdims = x._shape.as_tuple(), target.as_tuple()
    if tdims is None:
        return [(x.dtype, unknown_shape())]
    if dims is None:
        return [(x.dtype, target)]
    if len(dims) > len(tdims):
        raise ValueError("Rank of input (%d) must be no greater than rank of output shape (%d)"
                         % (len(dims), len(tdims)))
    res = list(tdims)
    off = len(tdims) - len(dims)
    for i, d in enumerate(dims):
        t = tdims[off + i]
        if d is None or d == 1:
            continue
        if t is None:
            res[off + i] = d
        elif t != d:
            raise ValueError("Dimensions must be equal, but are %d and %d (cannot broadcast %s to "
                             "%s)" % (d, t, x._shape, target))
    return [(x.dtype, TensorShape(res))]


def _broadcast_to_kernel(op, ctx):
    xp = ctx.xp
    target = _static_ints(op._inputs[1])
    if target is not None:
        return lambda x, s: xp.broadcast_to(x, target)
    return lambda x, s: xp.broadcast_to(x, tuple(s.tolist()))


# The gradients driver sums the output gradient back to the input's shape (broadcasting=True).
register_op("BroadcastTo", infer=_broadcast_to_infer, kernel=_broadcast_to_kernel,
            grad=lambda op, g: [g, None], broadcasting=True)


def broadcast_to(input, shape, name=None):  # noqa: A002, F811 - TF1 argument names
    """Broadcasts ``input`` to ``shape`` (NumPy rules), without copying on the CPU.

    Example:
        >>> tf.broadcast_to([1.0, 2.0], [3, 2]).shape
        TensorShape([3, 2])
    """
    x = convert_to_tensor(input)
    return out("BroadcastTo", [x, _index_tensor(_shape_arg(shape))], name=name)


# ----------------------------------------------------------------------------------------------
# Transpose / InvertPermutation
# ----------------------------------------------------------------------------------------------
def _transpose_infer(op):
    x, p = op._inputs
    check_dtype(op, p, INDEX, "perm")
    perm = _static_ints(p)
    dims = x._shape.as_tuple()
    if perm is None:
        n = len(dims) if dims is not None else _vector_len(p)
        return [(x.dtype, unknown_shape(n))]
    if dims is not None and len(perm) != len(dims):
        raise ValueError("Dimension must be %d but is %d for transpose with perm %s"
                         % (len(dims), len(perm), list(perm)))
    if sorted(perm) != list(range(len(perm))):
        raise ValueError("%s is not a valid permutation of 0..%d" % (list(perm), len(perm) - 1))
    if dims is None:
        return [(x.dtype, unknown_shape(len(perm)))]
    return [(x.dtype, TensorShape([dims[i] for i in perm]))]


def _transpose_kernel(op, ctx):
    perm = _static_ints(op._inputs[1])
    if perm is not None:
        return lambda x, p: x.transpose(perm)
    return lambda x, p: x.transpose(tuple(p.tolist()))


def _transpose_grad(op, g):
    p = op._inputs[1]
    perm = _static_ints(p)
    inv = np.argsort(perm).astype(np.int32) if perm is not None else invert_permutation(p)
    return [transpose(g, inv), None]


register_op("Transpose", infer=_transpose_infer, kernel=_transpose_kernel, grad=_transpose_grad)


def transpose(a, perm=None, name="transpose", conjugate=False):
    """Permutes the dimensions of ``a``: output dim i is input dim ``perm[i]``.

    Args:
        a: a tensor.
        perm: a permutation of its dimensions (default: reversed, i.e. a matrix transpose).
        conjugate: also conjugate complex values.

    Example:
        >>> tf.transpose(x, perm=[0, 2, 1])
    """
    x = convert_to_tensor(a)
    if perm is None:
        r = x._shape.ndims
        perm = list(range(r - 1, -1, -1)) if r is not None else range_(rank(x) - 1, -1, -1)
    y = out("Transpose", [x, _index_tensor(perm)], name=name)
    if conjugate and x.dtype.is_complex:
        y = math().conj(y)
    return y


def matrix_transpose(a, name="matrix_transpose", conjugate=False):
    """Transposes the last two dimensions of ``a`` (a batch of matrices)."""
    x = convert_to_tensor(a)
    r = x._shape.ndims
    if r is None or r < 2:
        raise ValueError("Argument 'a' should be a (batch) matrix, with rank >= 2. Found: %s"
                         % x._shape)
    return transpose(x, list(range(r - 2)) + [r - 1, r - 2], name=name, conjugate=conjugate)


def _invert_permutation_kernel(op, ctx):
    xp = ctx.xp

    def invert(p):
        res = xp.empty_like(p)
        res[p] = xp.arange(p.size, dtype=p.dtype)
        return res
    return invert


register_op("InvertPermutation",
            infer=lambda op: [(op._inputs[0].dtype, op._inputs[0]._shape.with_rank(1))],
            kernel=_invert_permutation_kernel, grad=NOT_DIFFERENTIABLE)


def invert_permutation(x, name=None):
    """The inverse permutation: ``y[x[i]] = i``."""
    return out("InvertPermutation", [_index_tensor(x)], name=name)


# ----------------------------------------------------------------------------------------------
# Tile / TileGrad
# ----------------------------------------------------------------------------------------------
def _tile_infer(op):
    x, m = op._inputs
    check_dtype(op, m, INDEX, "multiples")
    dims = x._shape.as_tuple()
    mult = core.constant_value_as_shape(m).as_tuple()
    static = _static_ints(m)
    if static is not None and builtins.any(k < 0 for k in static):
        raise ValueError("Expected multiples >= 0, got %s" % (list(static),))
    if dims is not None and mult is not None and len(dims) != len(mult):
        raise ValueError("Shape must be rank %d but is rank %d: multiples %s for input shape %s"
                         % (len(dims), len(mult), list(mult), x._shape))
    if mult is None:
        return [(x.dtype, unknown_shape(None if dims is None else len(dims)))]
    if dims is None:
        dims = (None,) * len(mult)
    return [(x.dtype, TensorShape([0 if k == 0 else None if d is None or k is None else d * k
                                   for d, k in zip(dims, mult)]))]


def _tile_kernel(op, ctx):
    xp = ctx.xp
    reps = _static_ints(op._inputs[1])

    def tile_with(x, r):
        # One copy: broadcast a (1, d0, 1, d1, ...) view to (m0, d0, m1, d1, ...), then reshape.
        if len(r) != x.ndim:
            raise ValueError("Expected multiples argument to be a vector of length %d but got "
                             "length %d" % (x.ndim, len(r)))
        s = x.shape
        view = x.reshape(tuple(v for d in s for v in (1, d)))
        big = xp.broadcast_to(view, tuple(v for d, k in zip(s, r) for v in (k, d)))
        return big.reshape(tuple(d * k for d, k in zip(s, r)))
    if reps is not None:
        return lambda x, m: tile_with(x, reps)
    return lambda x, m: tile_with(x, tuple(m.tolist()))


def _tile_grad(op, g):
    x, m = op._inputs
    return [out("TileGrad", [convert_to_tensor(g), m, _shape_of(x, m.dtype)]), None]


register_op("Tile", infer=_tile_infer, kernel=_tile_kernel, grad=_tile_grad)


def _tile_grad_kernel(op, ctx):
    reps = _static_ints(op._inputs[1])
    in_shape = _static_ints(op._inputs[2])

    def tile_grad_with(g, r, s):
        axes = tuple(range(0, 2 * len(s), 2))
        return g.reshape(tuple(v for d, k in zip(s, r) for v in (k, d))).sum(axis=axes,
                                                                             dtype=g.dtype)
    if reps is not None and in_shape is not None:
        return lambda g, m, s: tile_grad_with(g, reps, in_shape)
    return lambda g, m, s: tile_grad_with(g, m.tolist(), s.tolist())


register_op("TileGrad",
            infer=lambda op: [(op._inputs[0].dtype, core.constant_value_as_shape(op._inputs[2]))],
            kernel=_tile_grad_kernel,
            grad=lambda op, gg: [tile(gg, op._inputs[1]), None, None],
            doc="Sums the tiles of a Tile output's gradient back to the input's shape.")


def tile(input, multiples, name=None):  # noqa: A002 - TF1 argument name
    """Repeats ``input`` ``multiples[i]`` times along dimension i.

    Example:
        >>> tf.tile([[1, 2]], [2, 3]).shape
        TensorShape([2, 6])
    """
    return out("Tile", [convert_to_tensor(input), _index_tensor(multiples)], name=name)


# ----------------------------------------------------------------------------------------------
# Pad (PadV2: constant) / MirrorPad (REFLECT, SYMMETRIC) / MirrorPadGrad
# ----------------------------------------------------------------------------------------------
def _static_paddings(t):
    v = constant_value(t)
    return None if v is None else tuple((int(a), int(b)) for a, b in np.reshape(v, [-1, 2]))


def _pad_infer_shape(op, x, p, mode=None):
    check_dtype(op, p, INDEX, "paddings")
    dims = x._shape.as_tuple()
    pdims = p._shape.as_tuple()
    if pdims is not None and (len(pdims) != 2 or pdims[1] not in (None, 2)):
        raise ValueError("paddings must be a matrix with 2 columns, got shape %s" % p._shape)
    n = pdims[0] if pdims is not None else None
    if dims is not None and n is not None and n != len(dims):
        raise ValueError("The first dimension of paddings must be the rank of inputs: %d vs %d "
                         "(paddings shape %s, input shape %s)" % (n, len(dims), p._shape, x._shape))
    pads = _static_paddings(p)
    if pads is None:
        r = len(dims) if dims is not None else n
        return unknown_shape(r)
    if builtins.any(a < 0 or b < 0 for a, b in pads):
        raise ValueError("Paddings must be non-negative, got %s" % ([list(q) for q in pads],))
    if dims is None:
        dims = (None,) * len(pads)
    if mode is not None:
        off = 1 if mode == "REFLECT" else 0
        for i, (d, (a, b)) in enumerate(zip(dims, pads)):
            if d is not None and (a > d - off or b > d - off):
                raise ValueError("paddings must be %s the dimension size: %d, %d not %s %d "
                                 "(dimension %d)" % ("less than" if off else "no greater than", a,
                                                     b, "less than" if off else "<=", d, i))
    return TensorShape([None if d is None else d + a + b for d, (a, b) in zip(dims, pads)])


def _padv2_infer(op):
    x, p, c = op._inputs
    if c.dtype is not x.dtype or c._shape.ndims not in (None, 0):
        raise ValueError("constant_values must be a scalar of dtype %s, got %s %s"
                         % (x.dtype.name, c.dtype.name, c._shape))
    return [(x.dtype, _pad_infer_shape(op, x, p))]


def _padv2_kernel(op, ctx):
    xp = ctx.xp
    pads = _static_paddings(op._inputs[1])

    def pad_with(x, c, pads_):
        res = xp.full(tuple(d + a + b for d, (a, b) in zip(x.shape, pads_)), c, dtype=x.dtype)
        res[tuple(_pyslice(a, a + d) for d, (a, b) in zip(x.shape, pads_))] = x
        return res
    if pads is not None:
        return lambda x, p, c: pad_with(x, c, pads)
    return lambda x, p, c: pad_with(x, c, [tuple(r) for r in p.tolist()])


def _padv2_grad(op, g):
    x, p, _ = op._inputs
    pads = _static_paddings(p)
    begin = [a for a, _ in pads] if pads is not None else p[:, 0]
    return [slice(g, begin, _shape_of(x, p.dtype)), None, None]


register_op("PadV2", infer=_padv2_infer, kernel=_padv2_kernel, grad=_padv2_grad)


def _mirror_pad_kernel(op, ctx):
    xp = ctx.xp
    mode = op._attrs["mode"].lower()
    off = 1 if mode == "reflect" else 0
    pads = _static_paddings(op._inputs[1])
    dims = op._inputs[0]._shape.as_tuple()
    # NumPy repeats the reflection for paddings TF rejects: check what construction could not.
    check = dims is None or None in dims or pads is None

    def mirror(x, pads_):
        if check:
            for d, (a, b) in zip(x.shape, pads_):
                if a > d - off or b > d - off or a < 0 or b < 0:
                    raise ValueError("paddings must be %s the dimension size: %d, %d vs %d"
                                     % ("less than" if off else "no greater than", a, b, d))
        return xp.pad(x, pads_, mode=mode)
    if pads is not None:
        return lambda x, p: mirror(x, pads)
    return lambda x, p: mirror(x, [tuple(r) for r in p.tolist()])


register_op("MirrorPad",
            infer=lambda op: [(op._inputs[0].dtype,
                               _pad_infer_shape(op, op._inputs[0], op._inputs[1],
                                                op._attrs["mode"]))],
            kernel=_mirror_pad_kernel,
            grad=lambda op, g: [out("MirrorPadGrad", [convert_to_tensor(g), op._inputs[1]],
                                    {"mode": op._attrs["mode"]}), None])


def _mirror_pad_grad_infer(op):
    g, p = op._inputs
    check_dtype(op, p, INDEX, "paddings")
    pads = _static_paddings(p)
    dims = g._shape.as_tuple()
    if pads is None or dims is None:
        return [(g.dtype, unknown_shape(None if dims is None else len(dims)))]
    return [(g.dtype, TensorShape([None if d is None else d - a - b
                                   for d, (a, b) in zip(dims, pads)]))]


def _mirror_pad_grad_kernel(op, ctx):
    """Folds each padded border back (flipped) onto the cells it mirrors, one axis at a time."""
    xp = ctx.xp
    off = 1 if op._attrs["mode"] == "REFLECT" else 0
    pads = _static_paddings(op._inputs[1])

    def fold(g, pads_):
        for ax, (a, b) in enumerate(pads_):
            if not a and not b:
                continue
            pre = (_pyslice(None),) * ax
            n = g.shape[ax] - a - b
            core_ = g[pre + (_pyslice(a, a + n),)].copy()
            if a:
                core_[pre + (_pyslice(off, off + a),)] += xp.flip(g[pre + (_pyslice(0, a),)], ax)
            if b:
                core_[pre + (_pyslice(n - off - b, n - off),)] += xp.flip(
                    g[pre + (_pyslice(a + n, a + n + b),)], ax)
            g = core_
        return g
    if pads is not None:
        return lambda g, p: fold(g, pads)
    return lambda g, p: fold(g, [tuple(r) for r in p.tolist()])


register_op("MirrorPadGrad", infer=_mirror_pad_grad_infer, kernel=_mirror_pad_grad_kernel,
            grad=lambda op, gg: [out("MirrorPad", [convert_to_tensor(gg), op._inputs[1]],
                                     {"mode": op._attrs["mode"]}), None],
            doc="The gradient of MirrorPad: borders added back onto the cells they copy.")


def pad(tensor, paddings, mode="CONSTANT", name=None, constant_values=0):
    """Pads ``tensor`` with ``paddings[i] = [before, after]`` entries along dimension i.

    Args:
        tensor: the tensor to pad.
        paddings: an int [rank, 2] list or tensor.
        mode: "CONSTANT" (fill with ``constant_values``), "REFLECT" (mirror without the edge) or
            "SYMMETRIC" (mirror with the edge); case-insensitive.
        constant_values: the fill value for "CONSTANT" (a scalar of ``tensor``'s dtype).

    Example:
        >>> tf.pad([[1, 2, 3]], [[1, 1], [2, 2]], mode="REFLECT")
    """
    x = convert_to_tensor(tensor)
    p = _index_tensor(paddings)
    m = str(mode).upper()
    if m == "CONSTANT":
        if not isinstance(constant_values, Tensor) and np.all(np.asarray(constant_values) == 0):
            # The default 0 means "zero of the dtype" (False, b"", ...), as TF1's Pad op.
            constant_values = np.zeros((), x.dtype.np) if x.dtype is not dtypes.string else b""
        with x.graph.as_default():
            c = convert_to_tensor(constant_values, dtype=x.dtype)
        return out("PadV2", [x, p, c], name=name or "Pad")
    if m in ("REFLECT", "SYMMETRIC"):
        return out("MirrorPad", [x, p], {"mode": m}, name=name or "MirrorPad")
    raise ValueError("Unknown padding mode: %s" % (mode,))


# ----------------------------------------------------------------------------------------------
# meshgrid
# ----------------------------------------------------------------------------------------------
def meshgrid(*args, **kwargs):
    """Coordinate grids from 1-D tensors (``indexing="xy"``: Cartesian, ``"ij"``: matrix).

    Example:
        >>> X, Y = tf.meshgrid([1, 2, 3], [4, 5])     # both [2, 3]
    """
    indexing = kwargs.pop("indexing", "xy")
    kwargs.pop("name", None)
    if kwargs:
        raise TypeError("'%s' is an invalid keyword argument for this function"
                        % next(iter(kwargs)))
    if indexing not in ("xy", "ij"):
        raise ValueError("indexing parameter must be either 'xy' or 'ij'")
    ts = [reshape(convert_to_tensor(a), [-1]) for a in args]
    n = len(ts)
    sizes = [t._shape.as_tuple()[0] if t._shape.as_tuple()[0] is not None else size(t)
             for t in ts]
    cols = [[1] * i + [-1] + [1] * (n - i - 1) for i in range(n)]
    if indexing == "xy" and n > 1:
        cols[0], cols[1] = [1, -1] + [1] * (n - 2), [-1, 1] + [1] * (n - 2)
        sizes[0], sizes[1] = sizes[1], sizes[0]
    return [broadcast_to(reshape(t, c), sizes) for t, c in zip(ts, cols)]


# ----------------------------------------------------------------------------------------------
# Slicing and indexing (built on the ops above), re-exported under their TF1 module
# ----------------------------------------------------------------------------------------------
from . import indexing_ops, slicing_ops  # noqa: E402
from .indexing_ops import *  # noqa: E402,F401,F403
from .indexing_ops import TopKOutput, UniqueOutput, UniqueWithCountsOutput  # noqa: E402,F401
from .slicing_ops import *  # noqa: E402,F401,F403
from .slicing_ops import slice_  # noqa: E402,F401

__all__ += slicing_ops.__all__ + indexing_ops.__all__
