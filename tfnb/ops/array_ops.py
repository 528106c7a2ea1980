"""Array ops: creating, reshaping, joining, slicing and indexing tensors.

Ops whose extra inputs are usually constants (shapes, axes, permutations) take
them as attrs when they are known while the graph is built, so kernels bind them
once; a run-time tensor is accepted as an input where TF1 code needs it.
"""
import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import IndexedSlices, Tensor
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape, as_shape, unknown_shape
from . import core
from .core import constant, constant_value, convert_to_tensor, out
from .shape_rules import normalize_axes

__all__ = [
    "placeholder", "placeholder_with_default", "identity", "shape", "shape_n", "size", "rank",
    "reshape", "expand_dims", "squeeze", "stack", "pack", "unstack", "unpack", "concat", "fill",
    "zeros", "ones", "zeros_like", "ones_like", "range_", "linspace", "lin_space", "constant",
    "broadcast_to", "convert_to_tensor",
]


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
            kernel=lambda op, ctx: lambda x: x, grad=NOT_DIFFERENTIABLE, foldable=False)


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


register_op("Pack", infer=_pack_infer,
            kernel=lambda op, ctx: lambda *xs: ctx.xp.stack(xs, axis=op._attrs["axis"]),
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


pack = stack


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
    axis = op._attrs["axis"]
    xp = ctx.xp

    def unpack(x):
        a = axis % x.ndim
        return tuple(xp.take(x, i, axis=a) for i in range(x.shape[a]))
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


unpack = unstack


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


register_op("ConcatV2", infer=_concat_infer,
            kernel=lambda op, ctx: lambda *xs: ctx.xp.concatenate(xs, axis=op._attrs["axis"]),
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


def split(value, num_or_size_splits, axis=0, num=None, name="split"):
    from .array_ops_extra import split as _split
    return _split(value, num_or_size_splits, axis, num, name)


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


def broadcast_to(input, shape, name=None):  # noqa: A002, F811
    """Broadcasts ``input`` to ``shape`` (NumPy rules)."""
    x = convert_to_tensor(input)
    target = zeros(shape, dtype=x.dtype)
    return math().broadcast_like(x, target) if name is None else identity(
        math().broadcast_like(x, target), name=name)
