"""Ops that move blocks of elements between dimensions: ``space_to_depth``/``depth_to_space``,
``space_to_batch(_nd)``/``batch_to_space(_nd)`` and ``roll``.

Each kernel is a reshape, a transpose and a reshape (plus padding or cropping), so it costs
one copy on NumPy or CuPy; each op's gradient is its inverse op.
"""
import numpy as np

from ..framework import errors
from ..framework.registry import register_op
from ..framework.tensor_shape import TensorShape, unknown_shape
from .array_ops import _index_tensor, _static_ints
from .core import constant_value, convert_to_tensor, out
from .shape_rules import INDEX, check_dtype

__all__ = ["space_to_depth", "depth_to_space", "space_to_batch", "space_to_batch_nd",
           "batch_to_space", "batch_to_space_nd", "roll"]


def _invalid(msg):
    return errors.InvalidArgumentError(None, None, msg)


# ----------------------------------------------------------------------------------------------
# SpaceToDepth / DepthToSpace
# ----------------------------------------------------------------------------------------------
def _nhwc(op, dims):
    """``(batch, height, width, depth)`` of a 4-D shape in the op's data format."""
    if op._attrs["data_format"] == "NCHW":
        return dims[0], dims[2], dims[3], dims[1]
    return dims


def _from_nhwc(op, b, h, w, c):
    return (b, c, h, w) if op._attrs["data_format"] == "NCHW" else (b, h, w, c)


def _mul(a, k):
    return None if a is None else a * k


def _div(a, k):
    return None if a is None else a // k


def _space_to_depth_infer(op):
    x = op._inputs[0]
    bs = op._attrs["block_size"]
    dims = x._shape.as_tuple()
    if dims is None:
        return [(x.dtype, unknown_shape(4))]
    if len(dims) != 4:
        raise ValueError("Shape must be rank 4 but is rank %d (input of %s)" % (len(dims),
                                                                                 op.type))
    b, h, w, c = _nhwc(op, dims)
    if op.type == "SpaceToDepth":
        for d, what in ((h, "height"), (w, "width")):
            if d is not None and d % bs:
                raise ValueError("Image %s %d is not divisible by block_size %d (SpaceToDepth)"
                                 % (what, d, bs))
        return [(x.dtype, TensorShape(_from_nhwc(op, b, _div(h, bs), _div(w, bs),
                                                 _mul(c, bs * bs))))]
    if c is not None and c % (bs * bs):
        raise ValueError("Input depth dimension %d should be divisible by block_size*block_size "
                         "= %d (DepthToSpace)" % (c, bs * bs))
    return [(x.dtype, TensorShape(_from_nhwc(op, b, _mul(h, bs), _mul(w, bs),
                                             _div(c, bs * bs))))]


def _to_nhwc(xp, op, x):
    return xp.transpose(x, (0, 2, 3, 1)) if op._attrs["data_format"] == "NCHW" else x


def _back(xp, op, x):
    return xp.transpose(x, (0, 3, 1, 2)) if op._attrs["data_format"] == "NCHW" else x


def _space_to_depth_kernel(op, ctx):
    xp = ctx.xp
    bs = op._attrs["block_size"]

    def space_to_depth_(x):
        x = _to_nhwc(xp, op, x)
        b, h, w, c = x.shape
        if h % bs or w % bs:
            raise _invalid("Image height %d and width %d should be divisible by block_size: %d"
                           % (h, w, bs))
        y = x.reshape(b, h // bs, bs, w // bs, bs, c).transpose(0, 1, 3, 2, 4, 5)
        return _back(xp, op, y.reshape(b, h // bs, w // bs, bs * bs * c))
    return space_to_depth_


def _depth_to_space_kernel(op, ctx):
    xp = ctx.xp
    bs = op._attrs["block_size"]

    def depth_to_space_(x):
        x = _to_nhwc(xp, op, x)
        b, h, w, c = x.shape
        if c % (bs * bs):
            raise _invalid("Input depth dimension %d should be divisible by: %d" % (c, bs * bs))
        y = x.reshape(b, h, w, bs, bs, c // (bs * bs)).transpose(0, 1, 3, 2, 4, 5)
        return _back(xp, op, y.reshape(b, h * bs, w * bs, c // (bs * bs)))
    return depth_to_space_


def _inverse(op_type):
    return lambda op, g: [out(op_type, [g], dict(op._attrs))]


register_op("SpaceToDepth", infer=_space_to_depth_infer, kernel=_space_to_depth_kernel,
            grad=_inverse("DepthToSpace"),
            doc="moves block_size x block_size spatial blocks into the depth dimension")
register_op("DepthToSpace", infer=_space_to_depth_infer, kernel=_depth_to_space_kernel,
            grad=_inverse("SpaceToDepth"),
            doc="moves depth into block_size x block_size spatial blocks")


def _depth_op(op_type, x, block_size, data_format, name):
    bs = int(block_size)
    if bs < 2:
        raise ValueError("block_size must be at least 2, got %d" % bs)
    if data_format not in ("NHWC", "NCHW"):
        raise ValueError("data_format must be 'NHWC' or 'NCHW', got %r" % (data_format,))
    return out(op_type, [convert_to_tensor(x)], {"block_size": bs, "data_format": data_format},
               name=name)


def space_to_depth(input, block_size, name=None, data_format="NHWC"):  # noqa: A002
    """Moves each ``block_size x block_size`` block of pixels into the channels:
    ``[b, h, w, c] -> [b, h/bs, w/bs, c*bs*bs]`` (channel index ``(dy*bs + dx)*c + k``).

    Example:
        >>> tf.space_to_depth(tf.reshape(tf.range(4), [1, 2, 2, 1]), 2)   # [[[[0, 1, 2, 3]]]]
    """
    return _depth_op("SpaceToDepth", input, block_size, data_format, name)


def depth_to_space(input, block_size, name=None, data_format="NHWC"):  # noqa: A002
    """The inverse of :func:`space_to_depth`: ``[b, h, w, c] -> [b, h*bs, w*bs, c/(bs*bs)]``."""
    return _depth_op("DepthToSpace", input, block_size, data_format, name)


# ----------------------------------------------------------------------------------------------
# SpaceToBatchND / BatchToSpaceND
# ----------------------------------------------------------------------------------------------
def _block_infer(op):
    x, block, pads = op._inputs
    check_dtype(op, block, INDEX, "block_shape")
    check_dtype(op, pads, INDEX, "paddings" if op.type == "SpaceToBatchND" else "crops")
    bv, pv = _static_ints(block), constant_value(pads)
    dims = x._shape.as_tuple()
    m = block._shape[0].value if block._shape.ndims == 1 else None
    if bv is not None:
        m = len(bv)
        if any(b < 1 for b in bv):
            raise ValueError("block_shape must be positive, got %s" % (list(bv),))
    if pv is not None:
        pv = np.asarray(pv).reshape(-1, 2)
        if m is not None and pv.shape[0] != m:
            raise ValueError("%s: paddings/crops must have shape [%d, 2], got %s"
                             % (op.type, m, list(pv.shape)))
        if (pv < 0).any():
            raise ValueError("%s: paddings/crops must be non-negative, got %s"
                             % (op.type, pv.tolist()))
    if dims is None or m is None:
        return [(x.dtype, unknown_shape())]
    if len(dims) < m + 1:
        raise ValueError("input rank should be >= %d (1 + len(block_shape)), got shape %s"
                         % (m + 1, x._shape))
    if bv is None or pv is None:
        return [(x.dtype, unknown_shape(len(dims)))]
    prod = int(np.prod(bv))
    spatial = []
    for d, b, (p0, p1) in zip(dims[1:m + 1], bv, pv.tolist()):
        if d is None:
            spatial.append(None)
        elif op.type == "SpaceToBatchND":
            if (d + p0 + p1) % b:
                raise ValueError("padded shape %d (dim %d + paddings %d, %d) must be divisible "
                                 "by block_shape %d" % (d + p0 + p1, d, p0, p1, b))
            spatial.append((d + p0 + p1) // b)
        else:
            if d * b - p0 - p1 < 0:
                raise ValueError("crops %d, %d are larger than the dimension %d" % (p0, p1,
                                                                                    d * b))
            spatial.append(d * b - p0 - p1)
    batch = dims[0]
    if op.type == "SpaceToBatchND":
        batch = _mul(batch, prod)
    elif batch is not None:
        if batch % prod:
            raise ValueError("input batch %d is not divisible by the product of block_shape %d"
                             % (batch, prod))
        batch //= prod
    return [(x.dtype, TensorShape((batch,) + tuple(spatial) + dims[m + 1:]))]


def _space_to_batch_kernel(op, ctx):
    xp = ctx.xp

    def space_to_batch_nd_(x, block, pads):
        bs = [int(b) for b in block.tolist()]
        pv = np.asarray(pads.tolist(), dtype=np.int64).reshape(-1, 2)
        m = len(bs)
        if pv.shape[0] != m or (pv < 0).any() or min(bs, default=1) < 1 or x.ndim < m + 1:
            raise _invalid("bad block_shape %s or paddings %s for input of shape %s"
                           % (bs, pv.tolist(), list(x.shape)))
        width = [(0, 0)] + [tuple(p) for p in pv.tolist()] + [(0, 0)] * (x.ndim - m - 1)
        x = xp.pad(x, width)
        batch, rest = x.shape[0], x.shape[m + 1:]
        split = [batch]
        for d, b in zip(x.shape[1:m + 1], bs):
            if d % b:
                raise _invalid("padded_shape[%d]=%d is not divisible by block_shape[%d]=%d"
                               % (bs.index(b), d, bs.index(b), b))
            split += [d // b, b]
        y = x.reshape(split + list(rest))
        # [batch, s0, b0, s1, b1, ..., rest] -> [b0, b1, ..., batch, s0, s1, ..., rest]
        perm = [2 + 2 * i for i in range(m)] + [0] + [1 + 2 * i for i in range(m)] + \
            list(range(1 + 2 * m, y.ndim))
        y = y.transpose(perm)
        return y.reshape([batch * int(np.prod(bs, dtype=np.int64))] +
                         [d // b for d, b in zip(x.shape[1:m + 1], bs)] + list(rest))
    return space_to_batch_nd_


def _batch_to_space_kernel(op, ctx):
    def batch_to_space_nd_(x, block, crops):
        bs = [int(b) for b in block.tolist()]
        cv = np.asarray(crops.tolist(), dtype=np.int64).reshape(-1, 2)
        m = len(bs)
        prod = int(np.prod(bs, dtype=np.int64))
        if cv.shape[0] != m or (cv < 0).any() or min(bs, default=1) < 1 or x.ndim < m + 1:
            raise _invalid("bad block_shape %s or crops %s for input of shape %s"
                           % (bs, cv.tolist(), list(x.shape)))
        if x.shape[0] % prod:
            raise _invalid("Input batch dimension (%d) is not divisible by product of block "
                           "sizes (%d)" % (x.shape[0], prod))
        batch, spatial, rest = x.shape[0] // prod, x.shape[1:m + 1], x.shape[m + 1:]
        y = x.reshape(bs + [batch] + list(spatial) + list(rest))
        # [b0, ..., batch, s0, ..., rest] -> [batch, s0, b0, s1, b1, ..., rest]
        perm = [m]
        for i in range(m):
            perm += [m + 1 + i, i]
        perm += list(range(2 * m + 1, y.ndim))
        y = y.transpose(perm).reshape([batch] + [s * b for s, b in zip(spatial, bs)] +
                                      list(rest))
        index = [slice(None)]
        for (c0, c1), full in zip(cv.tolist(), y.shape[1:m + 1]):
            if c0 + c1 > full:
                raise _invalid("crops %d, %d are larger than the dimension %d" % (c0, c1, full))
            index.append(slice(c0, full - c1))
        return y[tuple(index)]
    return batch_to_space_nd_


register_op("SpaceToBatchND", infer=_block_infer, kernel=_space_to_batch_kernel,
            grad=lambda op, g: [out("BatchToSpaceND", [g] + list(op._inputs[1:])), None, None],
            doc="zero-pads the spatial dims, then moves block_shape blocks into the batch")
register_op("BatchToSpaceND", infer=_block_infer, kernel=_batch_to_space_kernel,
            grad=lambda op, g: [out("SpaceToBatchND", [g] + list(op._inputs[1:])), None, None],
            doc="moves batch blocks back into the spatial dims, then crops them")


def _block_args(block_shape, pads):
    b = _index_tensor(block_shape)
    return b, convert_to_tensor(pads, dtype=b.dtype)


def space_to_batch_nd(input, block_shape, paddings, name=None):  # noqa: A002
    """Zero-pads spatial dims ``1..M`` of ``input`` by ``paddings`` (``[M, 2]``), splits them
    into ``block_shape`` blocks and moves the blocks into the batch dimension:
    ``[batch, *spatial, *rest] -> [batch*prod(block_shape), *padded_spatial/block_shape, *rest]``.

    Example:
        >>> tf.space_to_batch_nd(tf.reshape(tf.range(4), [1, 2, 2, 1]), [2, 2], [[0, 0], [0, 0]])
        ... # shape [4, 1, 1, 1]: values 0, 1, 2, 3
    """
    x = convert_to_tensor(input)
    with x.graph.as_default():
        b, p = _block_args(block_shape, paddings)
    return out("SpaceToBatchND", [x, b, p], name=name)


def batch_to_space_nd(input, block_shape, crops, name=None):  # noqa: A002
    """The inverse of :func:`space_to_batch_nd`, cropping ``crops`` (``[M, 2]``) afterwards."""
    x = convert_to_tensor(input)
    with x.graph.as_default():
        b, c = _block_args(block_shape, crops)
    return out("BatchToSpaceND", [x, b, c], name=name)


def _square_block(block_size, block_shape, what):
    if block_size is not None and block_shape is not None:
        raise ValueError("%s: give block_size or block_shape, not both" % what)
    if block_shape is not None:
        return block_shape
    if block_size is None:
        raise ValueError("%s needs block_size" % what)
    return [int(block_size)] * 2


def space_to_batch(input, paddings, block_size=None, name=None, block_shape=None):  # noqa: A002
    """:func:`space_to_batch_nd` of a 4-D ``[batch, h, w, c]`` input with a square block."""
    return space_to_batch_nd(input, _square_block(block_size, block_shape, "space_to_batch"),
                             paddings, name=name)


def batch_to_space(input, crops, block_size, name=None, block_shape=None):  # noqa: A002
    """:func:`batch_to_space_nd` of a 4-D input with a square block."""
    return batch_to_space_nd(input, _square_block(block_size, block_shape, "batch_to_space"),
                             crops, name=name)


# ----------------------------------------------------------------------------------------------
# Roll
# ----------------------------------------------------------------------------------------------
def _roll_infer(op):
    x, shift, axis = op._inputs
    check_dtype(op, shift, INDEX, "shift")
    check_dtype(op, axis, INDEX, "axis")
    if shift._shape.ndims not in (None, 0, 1) or axis._shape.ndims not in (None, 0, 1):
        raise ValueError("shift and axis must be scalars or vectors, got %s and %s"
                         % (shift._shape, axis._shape))
    if not shift._shape.is_compatible_with(axis._shape):
        raise ValueError("shift and axis must have the same size, got %s and %s"
                         % (shift._shape, axis._shape))
    av, r = _static_ints(axis), x._shape.ndims
    if av is not None and r is not None:
        for a in av:
            if not -r <= a < r:
                raise ValueError("axis %d is out of range for input of rank %d" % (a, r))
    return [(x.dtype, x._shape)]


def _roll_kernel(op, ctx):
    xp = ctx.xp

    def roll_(x, shift, axis):
        shifts = [int(s) for s in np.reshape(shift.tolist(), [-1])]
        axes = [int(a) for a in np.reshape(axis.tolist(), [-1])]
        if len(shifts) != len(axes):
            raise _invalid("shift and axis must have the same size, got %d and %d"
                           % (len(shifts), len(axes)))
        for a in axes:
            if not -x.ndim <= a < x.ndim:
                raise _invalid("axis %d is out of range for input of rank %d" % (a, x.ndim))
        return xp.roll(x, shifts, axes) if axes else x.copy()
    return roll_


register_op("Roll", infer=_roll_infer, kernel=_roll_kernel,
            grad=lambda op, g: [out("Roll", [g, -op._inputs[1], op._inputs[2]]), None, None],
            doc="shifts elements cyclically along the given axes")


def roll(input, shift, axis, name=None):  # noqa: A002
    """Rolls ``input`` by ``shift`` places along ``axis`` (elements that fall off one end come
    back at the other); ``shift`` and ``axis`` may be lists of the same length.

    Example:
        >>> tf.roll([0, 1, 2, 3, 4], shift=2, axis=0)     # [3, 4, 0, 1, 2]
    """
    x = convert_to_tensor(input)
    with x.graph.as_default():
        s = _index_tensor(shift)
        a = _index_tensor(axis)
    return out("Roll", [x, s, a], name=name)
