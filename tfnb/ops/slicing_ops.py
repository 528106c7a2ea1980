"""Slicing and reversing: ``slice``, ``strided_slice`` (and ``Tensor.__getitem__``),
``reverse`` and ``reverse_sequence``.

Slice bounds are int tensor inputs, as in TF1; when they are known at construction the
output shape is exact and the kernel binds one Python slice key once.
"""
import builtins

import numpy as np

from ..framework import dtypes
from ..framework.graph import Tensor
from ..framework.registry import register_op
from ..framework.tensor_shape import TensorShape, unknown_shape
from . import core
from .array_ops import (_index_tensor, _shape_of, _static_ints, _vector_len, math, ones_like, pad,
                        shape, stack)
from .core import constant, constant_value, convert_to_tensor, out
from .shape_rules import INDEX, check_dtype

__all__ = [
    "slice", "strided_slice", "reverse", "reverse_v2", "reverse_sequence",
]

# The module exports ``slice`` (tf.slice); kernels use Python's own through this name.
_pyslice = builtins.slice


# ----------------------------------------------------------------------------------------------
# Slice
# ----------------------------------------------------------------------------------------------
def _slice_infer(op):
    x, b, s = op._inputs
    check_dtype(op, b, INDEX, "begin")
    check_dtype(op, s, INDEX, "size")
    dims = x._shape.as_tuple()
    # Partly known bounds (e.g. tf.stack([i, 0])) still give the dims they determine.
    begin = core.constant_value_as_shape(b).as_tuple()
    size_v = _static_ints(s)
    sizes = size_v if size_v is not None else core.constant_value_as_shape(s).as_tuple()
    r = len(dims) if dims is not None else _vector_len(b)
    if r is None and sizes is not None:
        r = len(sizes)
    if r is None:
        return [(x.dtype, unknown_shape())]
    for name, v in (("begin", begin), ("size", sizes)):
        if v is not None and len(v) != r:
            raise ValueError("Length of %s (%d) must equal the rank of the input (%d)"
                             % (name, len(v), r))
    res = []
    for i in range(r):
        d = dims[i] if dims is not None else None
        bi = begin[i] if begin is not None else None
        si = sizes[i] if sizes is not None else None
        if bi is not None and d is not None and bi > d:
            raise ValueError("Expected begin[%d] in [0, %s], but got %d"
                             % (i, "?" if d is None else d, bi))
        if si is not None and si < -1:
            raise ValueError("Expected size[%d] >= -1, but got %d" % (i, si))
        if si is not None and si != -1 and size_v is not None and d is not None \
                and bi is not None and bi + si > d:
            raise ValueError("Expected size[%d] in [0, %d], but got %d" % (i, d - bi, si))
        if si is None or (si == -1 and size_v is None):
            res.append(None)
        elif si == -1:
            res.append(None if d is None or bi is None else d - bi)
        else:
            res.append(si)
    return [(x.dtype, TensorShape(res))]


def _slice_key(x_shape, begin, size_):
    """A basic NumPy index for tf.slice, checking bounds (NumPy would clamp silently)."""
    key = []
    for i, (d, b, s) in enumerate(zip(x_shape, begin, size_)):
        e = d if s == -1 else b + s
        if b < 0 or b > d or e > d or s < -1:
            raise ValueError("Expected begin[%d] in [0, %d] and begin[%d] + size[%d] <= %d, but "
                             "got begin %d and size %d" % (i, d, i, i, d, b, s))
        key.append(_pyslice(b, e))
    return tuple(key) + (Ellipsis,)


def _slice_kernel(op, ctx):
    x = op._inputs[0]
    begin, size_ = _static_ints(op._inputs[1]), _static_ints(op._inputs[2])
    if begin is not None and size_ is not None:
        if x._shape.is_fully_defined():
            key = _slice_key(x._shape.as_tuple(), begin, size_)
            return lambda v, b, s: v[key]
        return lambda v, b, s: v[_slice_key(v.shape, begin, size_)]
    return lambda v, b, s: v[_slice_key(v.shape, b.tolist(), s.tolist())]


def _slice_grad(op, g):
    x, b, _ = op._inputs
    y = op._outputs[0]
    begin = _static_ints(b)
    if begin is not None and x._shape.is_fully_defined() and y._shape.is_fully_defined():
        paddings = [[bi, d - bi - n] for bi, d, n in zip(begin, x._shape.as_tuple(),
                                                       y._shape.as_tuple())]
    else:
        after = _shape_of(x, b.dtype) - shape(y, out_type=b.dtype) - b
        paddings = stack([b, after], axis=1)
    return [pad(g, paddings), None, None]


register_op("Slice", infer=_slice_infer, kernel=_slice_kernel, grad=_slice_grad)


def slice_(input_, begin, size, name=None):  # noqa: A002, F811 - TF1 argument names
    """The block of ``input_`` starting at ``begin`` with extent ``size`` (-1: to the end).

    Example:
        >>> tf.slice(x, [0, 1, 2], [2, 3, -1])
    """
    x = convert_to_tensor(input_)
    b = _index_tensor(begin)
    s = _index_tensor(size)
    if b.dtype is not s.dtype:
        b, s = (math().cast(t, dtypes.int64) for t in (b, s))
    return out("Slice", [x, b, s], name=name)


# ----------------------------------------------------------------------------------------------
# StridedSlice / StridedSliceGrad, and Tensor.__getitem__
# ----------------------------------------------------------------------------------------------
_SS_MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")


def _ss_key(attrs, begin, end, strides):
    """The NumPy basic index equal to a strided slice (sparse spec -> ints/slices/None/...).

    A trailing Ellipsis is added when there is none: it changes nothing in the selection but
    makes NumPy return a 0-d array rather than a scalar when every axis is shrunk.
    """
    bm, em, elm, nm, sm = (attrs[k] for k in _SS_MASKS)
    key = []
    for i in range(len(begin)):
        bit = 1 << i
        if elm & bit:
            key.append(Ellipsis)
        elif nm & bit:
            key.append(None)
        elif sm & bit:
            key.append(int(begin[i]))
        else:
            if not strides[i]:
                raise ValueError("strides[%d] must be non-zero" % i)
            key.append(_pyslice(None if bm & bit else int(begin[i]),
                                None if em & bit else int(end[i]), int(strides[i])))
    if not elm:
        key.append(Ellipsis)
    return tuple(key)


def _strided_slice_shape(op, x_shape, b, e, s):
    """The static shape of a strided slice of ``x_shape``, as TF's shape function gives it."""
    a = op._attrs
    bm, em, elm, nm, sm = (a[k] for k in _SS_MASKS)
    if bin(elm).count("1") > 1:
        raise ValueError("Multiple ellipses in slice spec not allowed")
    for t, nme in ((b, "begin"), (e, "end"), (s, "strides")):
        check_dtype(op, t, INDEX, nme)
        if t._shape.ndims not in (None, 1):
            raise ValueError("%s must be a vector, got shape %s" % (nme, t._shape))
    if not (b.dtype is e.dtype is s.dtype):
        raise TypeError("begin, end and strides must have the same dtype, got %s, %s and %s"
                        % (b.dtype.name, e.dtype.name, s.dtype.name))
    dims = x_shape.as_tuple()
    strides = _static_ints(s)
    if dims is None or strides is None:
        return unknown_shape()
    if 0 in strides:
        raise ValueError("strides[%d] must be non-zero" % strides.index(0))
    begin, end = _static_ints(b), _static_ints(e)
    n = len(strides)
    consumed = builtins.sum(1 for i in range(n) if not (elm | nm) & (1 << i))
    if consumed > len(dims):
        raise ValueError("Index out of range using input dim %d; input has only %d dims"
                         % (consumed - 1, len(dims)))
    res = []
    dim = 0
    for i in range(n):
        bit = 1 << i
        if elm & bit:
            k = len(dims) - consumed
            res.extend(dims[dim:dim + k])
            dim += k
            continue
        if nm & bit:
            res.append(1)
            continue
        d = dims[dim]
        dim += 1
        if sm & bit:
            if begin is not None and d is not None and not -d <= begin[i] < d:
                raise ValueError("slice index %d of dimension %d out of bounds."
                                 % (begin[i], dim - 1))
            continue
        bi = None if bm & bit else (begin[i] if begin is not None else False)
        ei = None if em & bit else (end[i] if end is not None else False)
        if d is None or bi is False or ei is False:
            res.append(None)
        else:
            res.append(len(range(*_pyslice(bi, ei, strides[i]).indices(d))))
    res.extend(dims[dim:])
    return TensorShape(res)


def _strided_slice_kernel(op, ctx):
    attrs = {k: op._attrs[k] for k in _SS_MASKS}
    static = [_static_ints(t) for t in op._inputs[1:4]]
    if None not in static:
        key = _ss_key(attrs, *static)
        return lambda x, b, e, s: x[key]
    return lambda x, b, e, s: x[_ss_key(attrs, b.tolist(), e.tolist(), s.tolist())]


def _strided_slice_grad(op, g):
    x, b, e, s = op._inputs
    attrs = {k: op._attrs[k] for k in _SS_MASKS}
    dx = out("StridedSliceGrad", [_shape_of(x, b.dtype), b, e, s, convert_to_tensor(g)], attrs)
    return [dx, None, None, None]


register_op("StridedSlice",
            infer=lambda op: [(op._inputs[0].dtype,
                               _strided_slice_shape(op, op._inputs[0]._shape, *op._inputs[1:]))],
            kernel=_strided_slice_kernel, grad=_strided_slice_grad)


def _strided_slice_grad_infer(op):
    shp, b, e, s, dy = op._inputs
    return [(dy.dtype, core.constant_value_as_shape(shp))]


def _strided_slice_grad_kernel(op, ctx):
    xp = ctx.xp
    attrs = {k: op._attrs[k] for k in _SS_MASKS}
    static = [_static_ints(t) for t in op._inputs[1:4]]
    key = _ss_key(attrs, *static) if None not in static else None
    in_shape = _static_ints(op._inputs[0])

    def scatter(shp, b, e, s, dy):
        res = xp.zeros(in_shape if in_shape is not None else tuple(shp.tolist()), dtype=dy.dtype)
        res[key if key is not None else _ss_key(attrs, b.tolist(), e.tolist(), s.tolist())] = dy
        return res
    return scatter


register_op("StridedSliceGrad", infer=_strided_slice_grad_infer,
            kernel=_strided_slice_grad_kernel,
            grad=lambda op, gg: [None, None, None, None, out(
                "StridedSlice", [convert_to_tensor(gg)] + list(op._inputs[1:4]),
                {k: op._attrs[k] for k in _SS_MASKS})],
            doc="Zeros of the input's shape with the slice's gradient written into the slice.")


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0, var=None, name=None):
    """``input_[begin:end:strides]`` per dimension, with TF1's mask conventions.

    Bit i of ``begin_mask``/``end_mask`` ignores ``begin[i]``/``end[i]`` (full range); of
    ``ellipsis_mask`` makes entry i an ``...``; of ``new_axis_mask`` inserts a size-1 dim; of
    ``shrink_axis_mask`` takes the single index ``begin[i]`` and drops the dim. ``x[...]``
    builds this op.

    Example:
        >>> tf.strided_slice(x, [0, 1], [2, 5], [1, 2])     # x[0:2, 1:5:2]
    """
    x = convert_to_tensor(input_)
    b, e = _index_tensor(begin), _index_tensor(end)
    s = _index_tensor(strides) if strides is not None else ones_like(b)
    attrs = {"begin_mask": int(begin_mask), "end_mask": int(end_mask),
             "ellipsis_mask": int(ellipsis_mask), "new_axis_mask": int(new_axis_mask),
             "shrink_axis_mask": int(shrink_axis_mask)}
    return out("StridedSlice", [x, b, e, s], attrs, name=name or "StridedSlice")


_INDEX_ERROR = ("Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar "
                "tf.int32/tf.int64 tensors are valid indices, got %r")


def _check_index(idx):
    """``idx`` as a Python int or a scalar int tensor; rejects anything else like TF1."""
    if isinstance(idx, Tensor) or hasattr(idx, "_dense_tensor"):
        t = convert_to_tensor(idx)
        if t.dtype not in INDEX or t._shape.ndims not in (None, 0):
            raise TypeError(_INDEX_ERROR % (idx,))
        return t
    if isinstance(idx, (float, np.floating, str, bytes)):
        raise TypeError(_INDEX_ERROR % (idx,))
    try:
        return int(idx.__index__()) if hasattr(idx, "__index__") else int(idx.value)
    except (AttributeError, TypeError):
        raise TypeError(_INDEX_ERROR % (idx,)) from None


def _slice_helper(tensor, slice_spec):
    """``tensor[spec]``: ints, slices (any bounds/steps), ``...``, ``tf.newaxis``, int tensors.

    Example:
        >>> x[:, 1:4, :]      # [None, 5, 6] -> [None, 3, 6]
        >>> x[..., ::-1, tf.newaxis]
    """
    if not isinstance(slice_spec, (list, tuple)):
        slice_spec = [slice_spec]
    begin, end, strides = [], [], []
    masks = dict.fromkeys(_SS_MASKS, 0)
    for i, s in enumerate(slice_spec):
        bit = 1 << i
        if isinstance(s, _pyslice):
            for v, lst, mask in ((s.start, begin, "begin_mask"), (s.stop, end, "end_mask")):
                if v is None:
                    lst.append(0)
                    masks[mask] |= bit
                else:
                    lst.append(_check_index(v))
            strides.append(1 if s.step is None else _check_index(s.step))
        elif s is Ellipsis or s is None:
            begin.append(0)
            end.append(0)
            strides.append(1)
            masks["ellipsis_mask" if s is Ellipsis else "new_axis_mask"] |= bit
        else:
            v = _check_index(s)
            begin.append(v)
            # The end of a shrunk axis is never read (TF uses begin + 1); a tensor index reuses
            # begin there rather than adding an op.
            end.append(v + 1 if isinstance(v, int) else v)
            strides.append(1)
            masks["shrink_axis_mask"] |= bit
    if masks["ellipsis_mask"] & (masks["ellipsis_mask"] - 1):
        raise ValueError("Multiple ellipses in slice spec not allowed")
    tensors = [v for v in begin + end + strides if isinstance(v, Tensor)]
    dt = dtypes.int64 if builtins.any(t.dtype is dtypes.int64 for t in tensors) else dtypes.int32
    with tensor.graph.as_default():
        parts = [_pack_index(v, dt) for v in (begin, end, strides)]
    return out("StridedSlice", [tensor] + parts, masks, name="strided_slice")


def _pack_index(values, dt):
    """A 1-D ``dt`` tensor for ``values`` (ints and scalar int tensors)."""
    if not builtins.any(isinstance(v, Tensor) for v in values):
        return constant(np.asarray(values, dtype=dt.np))
    parts = []
    for v in values:
        if not isinstance(v, Tensor):
            v = constant(v, dtype=dt)
        elif v.dtype is not dt:
            v = math().cast(v, dt)
        parts.append(v)
    return stack(parts)


Tensor.__getitem__ = _slice_helper


# ----------------------------------------------------------------------------------------------
# ReverseV2
# ----------------------------------------------------------------------------------------------
def _reverse_infer(op):
    x = op._inputs[0]
    r = x._shape.ndims
    if r is not None:
        for a in op._attrs["axis"]:
            if not -r <= a < r:
                raise ValueError("'axis'[%d] = %d is out of valid range [%d, %d)" % (
                    op._attrs["axis"].index(a), a, -r, r))
        axes = [a % r for a in op._attrs["axis"]]
        if len(set(axes)) != len(axes):
            raise ValueError("axis %s specifies a dimension more than once"
                             % (list(op._attrs["axis"]),))
    return [(x.dtype, x._shape)]


def _reverse_kernel(op, ctx):
    xp = ctx.xp
    axis = op._attrs["axis"]
    r = op._inputs[0]._shape.ndims
    if r is None:
        return lambda x: xp.flip(x, axis) if axis else x
    axes = {a % r for a in axis}
    key = tuple(_pyslice(None, None, -1) if i in axes else _pyslice(None) for i in range(r))
    return lambda x: x[key]


register_op("ReverseV2", infer=_reverse_infer, kernel=_reverse_kernel,
            grad=lambda op, g: [reverse(g, op._attrs["axis"])])


def reverse(tensor, axis, name=None):
    """Reverses ``tensor`` along each dimension in ``axis`` (a list of ints).

    Example:
        >>> tf.reverse([[1, 2, 3]], [1])    # [[3, 2, 1]]
    """
    if isinstance(axis, Tensor):
        v = constant_value(axis)
        if v is None:
            raise ValueError("reverse: axis must be known while the graph is built, got %s"
                             % (axis,))
        axis = v
    axis = tuple(int(a) for a in np.reshape(axis, [-1]))
    return out("ReverseV2", [convert_to_tensor(tensor)], {"axis": axis}, name=name)


reverse_v2 = reverse


# ----------------------------------------------------------------------------------------------
# ReverseSequence
# ----------------------------------------------------------------------------------------------
def _reverse_sequence_infer(op):
    x, lengths = op._inputs
    check_dtype(op, lengths, INDEX, "seq_lengths")
    sa, ba = op._attrs["seq_axis"], op._attrs["batch_axis"]
    dims = x._shape.as_tuple()
    if lengths._shape.ndims not in (None, 1):
        raise ValueError("seq_lengths must be 1-D, got shape %s" % lengths._shape)
    if dims is not None:
        for nme, a in (("seq_axis", sa), ("batch_axis", ba)):
            if not 0 <= a < len(dims):
                raise ValueError("%s = %d out of range for an input of rank %d"
                                 % (nme, a, len(dims)))
        if sa == ba:
            raise ValueError("seq_axis == batch_axis == %d" % sa)
        n = _vector_len(lengths)
        if n is not None and dims[ba] is not None and n != dims[ba]:
            raise ValueError("Dimensions must be equal, but are %d and %d (seq_lengths vs input "
                             "dim %d)" % (n, dims[ba], ba))
    return [(x.dtype, x._shape)]


def _reverse_sequence_kernel(op, ctx):
    xp = ctx.xp
    sa, ba = op._attrs["seq_axis"], op._attrs["batch_axis"]

    def reverse_seq(x, lengths):
        n = x.shape[sa]
        if lengths.size and (int(lengths.max()) > n or int(lengths.min()) < 0):
            raise ValueError("seq_lengths must be in [0, %d], got %s" % (n, lengths.tolist()))
        t = xp.arange(n)
        lens = lengths.astype(t.dtype)[:, None]
        src = xp.where(t < lens, lens - 1 - t, t)  # [batch, time]: where each output step reads
        if ba > sa:
            src = src.T
        view = [1] * x.ndim
        view[ba], view[sa] = x.shape[ba], n
        return xp.take_along_axis(x, xp.broadcast_to(src.reshape(view), x.shape), axis=sa)
    return reverse_seq


register_op("ReverseSequence", infer=_reverse_sequence_infer, kernel=_reverse_sequence_kernel,
            grad=lambda op, g: [out("ReverseSequence", [convert_to_tensor(g), op._inputs[1]],
                                    dict(op._attrs)), None])


def reverse_sequence(input, seq_lengths, seq_axis=None, batch_axis=None, name=None,  # noqa: A002
                     seq_dim=None, batch_dim=None):
    """Reverses the first ``seq_lengths[i]`` steps (along ``seq_axis``) of each example i.

    Example:
        >>> tf.reverse_sequence([[1, 2, 3], [4, 5, 6]], [2, 3], seq_axis=1)  # [[2,1,3],[6,5,4]]
    """
    sa = seq_axis if seq_axis is not None else seq_dim
    ba = batch_axis if batch_axis is not None else batch_dim
    if sa is None:
        raise ValueError("reverse_sequence needs seq_axis")
    x = convert_to_tensor(input)
    r = x._shape.ndims
    sa, ba = int(sa), 0 if ba is None else int(ba)
    if r is not None:
        sa, ba = sa % r if sa < 0 else sa, ba % r if ba < 0 else ba
    return out("ReverseSequence", [x, _index_tensor(seq_lengths)],
               {"seq_axis": sa, "batch_axis": ba}, name=name)


slice = slice_  # noqa: A001 - the TF1 name tf.slice; module code uses _pyslice for Python's
