"""Array helpers TF 1.15 has at the top level beyond the classic set: ``repeat``,
``batch_gather``, ``parallel_stack``, ``ensure_shape``, ``broadcast_static_shape``/
``broadcast_dynamic_shape`` and the static-shape utilities ``dimension_value``,
``dimension_at_index`` and ``get_static_value``.

``repeat`` and ``batch_gather`` are compositions of ``gather`` (so their gradients are
gather's); ``EnsureShape`` and ``BroadcastArgs`` are ops with kernels of their own.
"""
import numpy as np

from ..framework import dtypes, errors
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import Dimension, TensorShape, as_shape, unknown_shape
from .array_ops import (_index_tensor, _shape_list, concat, expand_dims, fill, range_, reshape,
                        size, stack)
from .core import constant_value, convert_to_tensor, out
from .indexing_ops import gather
from .math_ops import cast
from .reduction_ops import cumsum, reduce_sum
from .segment_ops import searchsorted
from .shape_rules import INDEX, broadcast_shape, check_dtype

__all__ = ["repeat", "batch_gather", "parallel_stack", "ensure_shape", "broadcast_static_shape",
           "broadcast_dynamic_shape", "dimension_value", "dimension_at_index",
           "get_static_value"]


# ----------------------------------------------------------------------------------------------
# repeat / batch_gather / parallel_stack (compositions)
# ----------------------------------------------------------------------------------------------
def repeat(input, repeats, axis=None, name=None):  # noqa: A002 - TF1 argument names
    """Repeats each element (or each slice along ``axis``) of ``input`` ``repeats`` times;
    ``repeats`` is one number or one per slice. Without ``axis`` the input is flattened.

    Example:
        >>> tf.repeat([1, 2, 3], 2)                       # [1, 1, 2, 2, 3, 3]
        >>> tf.repeat([[1, 2], [3, 4]], [1, 2], axis=0)   # [[1, 2], [3, 4], [3, 4]]
    """
    x = convert_to_tensor(input)
    with x.graph.as_default():
        if axis is None:
            x = reshape(x, [-1])
            axis = 0
        a = int(axis)
        r = x._shape.ndims
        if r is None:
            raise ValueError("repeat needs the rank of input, got shape %s" % x._shape)
        if not -r <= a < r:
            raise ValueError("axis %d is out of range for input of rank %d" % (a, r))
        a %= r
        reps = cast(_index_tensor(repeats), dtypes.int32)
        n = _shape_list(x)[a]
        if reps._shape.ndims == 0:  # the same count for every slice
            reps = fill(stack([n]) if not isinstance(n, int) else [n], reps)
        ends = cumsum(reps)
        # Output position j takes the slice whose cumulative end is the first above j.
        total = reduce_sum(reps)
        positions = range_(total)
        source = searchsorted(expand_dims(ends, 0), expand_dims(positions, 0), side="right")
        return gather(x, reshape(source, [-1]), axis=a, name=name or "repeat")


def batch_gather(params, indices, name=None):
    """Gathers per batch entry: ``out[b..., k] = params[b..., indices[b..., k]]`` where the
    leading (batch) dims of ``params`` and ``indices`` agree and ``indices`` has one more
    dim than the batch.

    Example:
        >>> tf.batch_gather([[10, 11, 12], [20, 21, 22]], [[2, 0], [1, 1]])
        ... # [[12, 10], [21, 21]]
    """
    p = convert_to_tensor(params)
    with p.graph.as_default():
        i = _index_tensor(indices)
        pr, ir = p._shape.ndims, i._shape.ndims
        if pr is None or ir is None:
            raise ValueError("batch_gather needs the ranks of params and indices")
        if ir < 1 or pr < ir:
            raise ValueError("batch_gather: indices (rank %d) must have rank >= 1 and <= the "
                             "rank of params (%d)" % (ir, pr))
        if not p._shape[:ir - 1].is_compatible_with(i._shape[:ir - 1]):
            raise ValueError("batch_gather: the batch dims of params %s and indices %s differ"
                             % (p._shape, i._shape))
        pdims = _shape_list(p)
        batch = pdims[:ir - 1]
        n = pdims[ir - 1]
        flat_batch = size(i) // _shape_list(i)[-1] if ir > 1 else 1
        offsets = reshape(cast(range_(flat_batch), i.dtype) * cast(n, i.dtype), [-1, 1])
        flat_idx = reshape(reshape(i, [flat_batch, -1]) + offsets, [-1])
        flat_params = reshape(p, concat([[-1], pdims[ir:]], 0) if pdims[ir:] else [-1])
        got = gather(flat_params, flat_idx)
        out_shape = batch + [_shape_list(i)[-1]] + pdims[ir:]
        return reshape(got, stack(out_shape) if any(not isinstance(d, int) for d in out_shape)
                       else out_shape, name=name or "batch_gather")


def parallel_stack(values, name="parallel_stack"):
    """Stacks same-shaped tensors along a new first axis (TF1's parallel copy of
    ``tf.stack``; the values need fully known shapes)."""
    ts = [convert_to_tensor(v) for v in values]
    for t in ts:
        if not t._shape.is_fully_defined():
            raise ValueError("parallel_stack needs fully defined shapes, got %s" % t._shape)
    return stack(ts, axis=0, name=name)


# ----------------------------------------------------------------------------------------------
# EnsureShape
# ----------------------------------------------------------------------------------------------
def _ensure_shape_infer(op):
    x = op._inputs[0]
    want = op._attrs["shape"]
    if not x._shape.is_compatible_with(want):
        raise ValueError("Shape of tensor %s %s is not compatible with expected shape %s."
                         % (x.name, x._shape, want))
    return [(x.dtype, x._shape.merge_with(want))]


def _ensure_shape_kernel(op, ctx):
    want = op._attrs["shape"]

    def ensure_shape_(x):
        if not TensorShape(x.shape).is_compatible_with(want):
            raise errors.InvalidArgumentError(
                None, None, "Shape of tensor %s [%s] is not compatible with expected shape %s."
                % (op._inputs[0].name, ",".join(str(d) for d in x.shape), _tf_shape(want)))
        return x
    return ensure_shape_


def _tf_shape(s):
    if s.ndims is None:
        return "<unknown>"
    return "[" + ",".join("?" if d is None else str(d) for d in s.as_tuple()) + "]"


register_op("EnsureShape", infer=_ensure_shape_infer, kernel=_ensure_shape_kernel,
            grad=lambda op, g: [g], doc="the input, checked to have a compatible shape")


def ensure_shape(x, shape, name=None):  # noqa: F811 - TF1 argument name
    """``x``, with its shape checked (when run) against ``shape`` (None entries match any
    size) and its static shape refined by it.

    Raises:
        ValueError: the static shapes are incompatible.
        InvalidArgumentError: (when run) the actual shape does not match.

    Example:
        >>> y = tf.ensure_shape(x, [None, 3])    # x: a [?, ?] placeholder; y: [?, 3]
    """
    return out("EnsureShape", [convert_to_tensor(x)], {"shape": as_shape(shape)}, name=name)


# ----------------------------------------------------------------------------------------------
# broadcast_static_shape / BroadcastArgs (broadcast_dynamic_shape)
# ----------------------------------------------------------------------------------------------
def broadcast_static_shape(shape_x, shape_y):
    """The TensorShape two shapes broadcast to (unknown dims stay unknown).

    Raises:
        ValueError: the shapes cannot broadcast.
    """
    return broadcast_shape(as_shape(shape_x), as_shape(shape_y))


def _broadcast_args_infer(op):
    sx, sy = op._inputs
    check_dtype(op, sx, INDEX, "s0")
    if sy.dtype is not sx.dtype:
        raise TypeError("broadcast_dynamic_shape: both shapes must have one dtype, got %s and %s"
                        % (sx.dtype.name, sy.dtype.name))
    vx, vy = constant_value(sx), constant_value(sy)
    n = None
    if sx._shape.ndims == 1 and sy._shape.ndims == 1:
        lx, ly = sx._shape[0].value, sy._shape[0].value
        n = None if lx is None or ly is None else max(lx, ly)
    if vx is not None and vy is not None:
        broadcast_shape(TensorShape(vx.tolist()), TensorShape(vy.tolist()))  # raises early
    return [(sx.dtype, TensorShape([n]) if n is not None else unknown_shape(1))]


def _broadcast_args_kernel(op, ctx):
    def broadcast_args(sx, sy):
        try:
            shp = np.broadcast_shapes(tuple(int(d) for d in sx.tolist()),
                                      tuple(int(d) for d in sy.tolist()))
        except ValueError:
            raise errors.InvalidArgumentError(
                None, None, "Incompatible shapes: [%s] vs. [%s]"
                % (",".join(map(str, sx.tolist())), ",".join(map(str, sy.tolist())))) from None
        return np.asarray(shp, dtype=sx.dtype)
    return broadcast_args


register_op("BroadcastArgs", infer=_broadcast_args_infer, kernel=_broadcast_args_kernel,
            grad=NOT_DIFFERENTIABLE, device_types=("CPU",),
            doc="the shape two shapes broadcast to")


def broadcast_dynamic_shape(shape_x, shape_y):
    """The shape (a 1-D int tensor) that tensors of shapes ``shape_x`` and ``shape_y`` (1-D
    int tensors) broadcast to.

    Raises:
        InvalidArgumentError: (when run) shapes that cannot broadcast.

    Example:
        >>> tf.broadcast_dynamic_shape(tf.shape(a), tf.shape(b))
    """
    sx = _index_tensor(shape_x)
    with sx.graph.as_default():
        sy = cast(_index_tensor(shape_y), sx.dtype)
    return out("BroadcastArgs", [sx, sy], name="BroadcastArgs")


# ----------------------------------------------------------------------------------------------
# Static-shape utilities
# ----------------------------------------------------------------------------------------------
def dimension_value(dimension):
    """The int value of a ``Dimension`` (or int), None when unknown."""
    return dimension.value if isinstance(dimension, Dimension) else dimension


def dimension_at_index(shape, index):  # noqa: F811 - TF1 argument name
    """Dimension ``index`` of ``shape`` as a ``Dimension`` (unknown for an unknown rank)."""
    s = as_shape(shape)
    if s.ndims is None:
        return Dimension(None)
    return s[index]


def get_static_value(tensor, partial=False):
    """The value of ``tensor`` as a NumPy array if it is known while the graph is built
    (constants and what follows from them, static shapes), else None."""
    return constant_value(tensor, partial=partial)
