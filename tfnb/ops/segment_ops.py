"""Segments, partitions and counting: ``segment_*``, ``unsorted_segment_*``, ``sparse_segment_*``,
``dynamic_partition``/``dynamic_stitch``, ``sort``/``argsort``, ``setdiff1d``, ``bincount``,
``histogram_fixed_width``, ``confusion_matrix``, ``unravel_index`` and ``searchsorted``.

A *segment* reduction combines the rows of ``data`` that share a segment id:
``out[i] = reduce(data[j] for j with segment_ids[j] == i)``. The sorted ops (``SegmentSum`` ...)
need ids that never decrease and have ``ids[-1] + 1`` rows, empty segments giving 0; the
unsorted ops take any ids, ``num_segments`` rows, drop negative ids and give empty segments
the reduction's identity (as TF: the lowest finite value for max, the highest for min).

Kernels scatter every row at once with ``ufunc.at`` on flat indices (``xp.add.at``,
``xp.maximum.at`` ...), so one ``xp`` code path serves NumPy and CuPy. Bad ids raise
``InvalidArgumentError`` with TF1's messages; gradients follow TF1's (max/min split the
gradient evenly among tied maxima).
"""
import collections

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Tensor, control_dependencies
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape, unknown_shape
from . import core
from .array_ops import (_index_tensor, _shape_list, _static_axis, _static_int, concat, expand_dims,
                        fill, identity, ones_like, range_, rank, reshape, shape, size, stack,
                        transpose, zeros_like)
from .core import constant, constant_value, convert_to_tensor, out
from .indexing_ops import _segment_add, gather, scatter_nd, top_k, unsorted_segment_sum
from .math_ops import (cast, clip_by_value, divide, equal, floor, greater, greater_equal,
                       logical_and, maximum, minimum, multiply, negative, reduce_max, rsqrt, sqrt,
                       where)
from .shape_rules import FLOATS, INDEX, NUMERIC, REAL, check_dtype

__all__ = [
    "segment_sum", "segment_mean", "segment_max", "segment_min", "segment_prod",
    "unsorted_segment_max", "unsorted_segment_min", "unsorted_segment_prod",
    "unsorted_segment_mean", "unsorted_segment_sqrt_n", "sparse_segment_sum",
    "sparse_segment_mean", "sparse_segment_sqrt_n", "dynamic_partition", "dynamic_stitch",
    "sort", "argsort", "setdiff1d", "bincount",
    "histogram_fixed_width", "histogram_fixed_width_bins", "confusion_matrix", "unravel_index",
    "searchsorted",
]


# ----------------------------------------------------------------------------------------------
# Shared kernel pieces: id checks and the scatter-reduce of rows
# ----------------------------------------------------------------------------------------------
_UFUNCS = {"max": "maximum", "min": "minimum", "prod": "multiply"}


def _invalid(msg):
    return errors.InvalidArgumentError(None, None, msg)


def _lowest(np_dtype):
    """TF's ``numeric_limits<T>::lowest()``: the identity of an unsorted segment max."""
    return np.finfo(np_dtype).min if np.dtype(np_dtype).kind == "f" else np.iinfo(np_dtype).min


def _highest(np_dtype):
    return np.finfo(np_dtype).max if np.dtype(np_dtype).kind == "f" else np.iinfo(np_dtype).max


def _identity(kind, np_dtype):
    return {"sum": 0, "prod": 1, "max": _lowest(np_dtype), "min": _highest(np_dtype)}[kind]


def _scatter_reduce(xp, kind, data, ids, num):
    """Reduces the rows of ``data`` (one per entry of ``ids``, ids in [0, num)) into ``num`` rows
    initialised with the reduction's identity. ``ids`` may have several dims (a prefix of data's).
    """
    inner = data.shape[ids.ndim:]
    if kind == "sum":
        return _segment_add(xp, data, ids, num, inner)
    k = int(np.prod(inner, dtype=np.int64))
    res = xp.full(num * k, _identity(kind, data.dtype), dtype=data.dtype)
    flat_ids = ids.reshape(-1).astype(np.int64)
    if k and flat_ids.size:
        flat = (flat_ids[:, None] * k + xp.arange(k)).reshape(-1)
        getattr(xp, _UFUNCS[kind]).at(res, flat, data.reshape(-1))
    return res.reshape((num,) + tuple(inner))


def _counts(xp, ids, num):
    """How many entries of ``ids`` (all in [0, num)) fall in each of the ``num`` segments."""
    return xp.bincount(ids.reshape(-1).astype(np.int64), minlength=num)[:num]


def _divide_rows(xp, total, counts, sqrt=False):
    """``total[i] / counts[i]`` (or ``/ sqrt(counts[i])``) row by row; an empty segment gives 0.

    Integer means truncate toward zero, as C++ integer division does in TF's kernels.
    """
    c = xp.maximum(counts, 1).reshape((-1,) + (1,) * (total.ndim - 1))
    if total.dtype.kind in "iu":
        q = xp.abs(total) // c.astype(total.dtype)
        return xp.where(total < 0, -q, q).astype(total.dtype)
    c = c.astype(total.real.dtype)
    return total / (xp.sqrt(c) if sqrt else c)


def _index_str(shape, flat_index):
    """TF's ``SliceDebugString``: ``[3]`` or ``[1,2]`` for entry ``flat_index`` of ``shape``."""
    if len(shape) <= 1:
        return "[%d]" % flat_index
    return "[%s]" % ",".join(str(int(i)) for i in np.unravel_index(flat_index, shape))


def _check_sorted_ids(ids, rows):
    """Checks sorted segment ids (1-D, non-decreasing, >= 0, one per row); returns ``ids[-1]+1``."""
    if ids.ndim != 1:
        raise _invalid("segment_ids should be a vector, got shape %s" % (list(ids.shape),))
    if ids.shape[0] != rows:
        raise _invalid("segment_ids should be the same size as dimension 0 of input: %d vs %d"
                       % (ids.shape[0], rows))
    if not ids.size:
        return 0
    num = int(ids[-1]) + 1
    if num <= 0:
        raise _invalid("segment ids must be >= 0")
    if ids.size > 1:
        step = ids[1:] - ids[:-1]
        if bool((step < 0).any()):
            i = int((step < 0).argmax()) + 1
            raise _invalid("segment ids are not increasing: segment_ids[%d] = %d follows %d"
                           % (i, int(ids[i]), int(ids[i - 1])))
    if int(ids[0]) < 0:
        raise _invalid("Segment id %d out of range [0, %d), possibly because 'segment_ids' input "
                       "is not sorted." % (int(ids[0]), num))
    return num


def _check_unsorted_ids(ids, num):
    """Checks unsorted segment ids: each < ``num`` (negative ids are dropped, as TF1)."""
    if num < 0:
        raise _invalid("Input num_segments == %d must not be negative." % num)
    if ids.size and int(ids.max()) >= num:
        i = int((ids.reshape(-1) >= num).argmax())
        raise _invalid("segment_ids%s = %d is out of range [0, %d)"
                       % (_index_str(ids.shape, i), int(ids.reshape(-1)[i]), num))


def _rows_like(v, like):
    """1-D ``v`` reshaped to broadcast over the rows of ``like`` ([n] -> [n, 1, ..., 1])."""
    r = like._shape.ndims
    if r is not None:
        return reshape(v, [-1] + [1] * (r - 1))
    ones = fill(expand_dims(rank(like) - 1, 0), 1)
    return reshape(v, concat([[-1], ones], 0))


# ----------------------------------------------------------------------------------------------
# SegmentSum / SegmentMean / SegmentMax / SegmentMin / SegmentProd (sorted ids)
# ----------------------------------------------------------------------------------------------
def _sorted_infer(allowed):
    def infer(op):
        data, ids = op._inputs
        check_dtype(op, data, allowed, "data")
        check_dtype(op, ids, INDEX, "segment_ids")
        if ids._shape.ndims not in (None, 1):
            raise ValueError("segment_ids should be a vector, got shape %s" % ids._shape)
        dims = data._shape.as_tuple()
        if dims is None:
            return [(data.dtype, unknown_shape())]
        if not dims:
            raise ValueError("data must be at least rank 1, got a scalar")
        if not TensorShape(dims[:1]).is_compatible_with(ids._shape.with_rank(1)):
            raise ValueError("segment_ids should be the same size as dimension 0 of data: "
                             "%s vs %s" % (ids._shape, data._shape))
        v = constant_value(ids)
        num = None if v is None else (int(v[-1]) + 1 if v.size else 0)
        return [(data.dtype, TensorShape((num,) + dims[1:]))]
    return infer


def _sorted_kernel(kind):
    def make(op, ctx):
        xp = ctx.xp

        def segment_reduce(data, ids):
            num = _check_sorted_ids(ids, data.shape[0])
            if kind == "mean":
                return _divide_rows(xp, _scatter_reduce(xp, "sum", data, ids, num),
                                    _counts(xp, ids, num))
            res = _scatter_reduce(xp, kind, data, ids, num)
            if kind in ("max", "min"):  # TF: an empty segment of a sorted reduction is 0
                empty = (_counts(xp, ids, num) == 0).reshape((-1,) + (1,) * (res.ndim - 1))
                res = xp.where(empty, xp.zeros((), res.dtype), res)
            return res
        return segment_reduce
    return make


def _segment_sum_grad(op, g):
    return [gather(g, op._inputs[1]), None]


def _segment_mean_grad(op, g):
    ids = op._inputs[1]
    n = cast(unsorted_segment_sum(ones_like(ids), ids, shape(g)[0]), g.dtype)
    return [gather(divide(g, _rows_like(maximum(n, constant(1, g.dtype)), g)), ids), None]


def _min_or_max_grad(op, g):
    """Each segment's gradient split evenly among the entries equal to its max (min)."""
    data, ids = op._inputs[:2]
    unsorted = len(op._inputs) == 3
    n_out = op._inputs[2] if unsorted else shape(g)[0]
    safe = maximum(ids, constant(0, ids.dtype)) if unsorted else ids
    selected = equal(data, gather(op._outputs[0], safe))
    if unsorted:  # entries with a negative id belong to no segment
        keep = greater_equal(ids, constant(0, ids.dtype))
        extra = (data._shape.ndims or 0) - (ids._shape.ndims or 0)
        for _ in range(extra):
            keep = expand_dims(keep, -1)
        selected = logical_and(selected, keep)
    count = unsorted_segment_sum(cast(selected, g.dtype), ids, n_out)
    share = gather(divide(g, count), safe)
    return [where(selected, share, zeros_like(share))] + [None] * (len(op._inputs) - 1)


_SORTED = {"sum": ("SegmentSum", NUMERIC, _segment_sum_grad),
           "mean": ("SegmentMean", NUMERIC, _segment_mean_grad),
           "max": ("SegmentMax", REAL, _min_or_max_grad),
           "min": ("SegmentMin", REAL, _min_or_max_grad),
           "prod": ("SegmentProd", NUMERIC, None)}  # TF1 defines no SegmentProd gradient
for _kind, (_name, _allowed, _grad) in _SORTED.items():
    register_op(_name, infer=_sorted_infer(_allowed), kernel=_sorted_kernel(_kind), grad=_grad,
                doc="out[i] = %s of the rows of data whose sorted segment id is i" % _kind)


def _sorted_segment(op_type, data, segment_ids, name):
    d = convert_to_tensor(data)
    with d.graph.as_default():
        ids = _index_tensor(segment_ids)
    return out(op_type, [d, ids], name=name)


def segment_sum(data, segment_ids, name=None):
    """Sums the rows of ``data`` per segment; ``segment_ids`` (sorted, >= 0) name each row's.

    The result has ``segment_ids[-1] + 1`` rows; a segment without rows is 0.

    Raises:
        InvalidArgumentError: (when run) ids that decrease or are negative.

    Example:
        >>> tf.segment_sum([[1, 2], [3, 4], [5, 6]], [0, 0, 2])   # [[4, 6], [0, 0], [5, 6]]
    """
    return _sorted_segment("SegmentSum", data, segment_ids, name)


def segment_mean(data, segment_ids, name=None):
    """The mean of each segment's rows (see :func:`segment_sum`); an empty segment is 0."""
    return _sorted_segment("SegmentMean", data, segment_ids, name)


def segment_max(data, segment_ids, name=None):
    """The max of each segment's rows (see :func:`segment_sum`); an empty segment is 0."""
    return _sorted_segment("SegmentMax", data, segment_ids, name)


def segment_min(data, segment_ids, name=None):
    """The min of each segment's rows (see :func:`segment_sum`); an empty segment is 0."""
    return _sorted_segment("SegmentMin", data, segment_ids, name)


def segment_prod(data, segment_ids, name=None):
    """The product of each segment's rows (see :func:`segment_sum`); an empty segment is 1.

    Not differentiable, as in TF1.
    """
    return _sorted_segment("SegmentProd", data, segment_ids, name)


# ----------------------------------------------------------------------------------------------
# UnsortedSegmentMax / UnsortedSegmentMin / UnsortedSegmentProd (UnsortedSegmentSum lives in
# indexing_ops: IndexedSlices densify through it)
# ----------------------------------------------------------------------------------------------
def _unsorted_infer(allowed):
    def infer(op):
        data, ids, n = op._inputs
        check_dtype(op, data, allowed, "data")
        check_dtype(op, ids, INDEX, "segment_ids")
        check_dtype(op, n, INDEX, "num_segments")
        num = _static_int(n)
        if num is not None and num < 0:
            raise ValueError("num_segments must be non-negative, got %d" % num)
        dims, idims = data._shape.as_tuple(), ids._shape.as_tuple()
        if dims is None or idims is None:
            return [(data.dtype, unknown_shape())]
        if len(idims) > len(dims) or not TensorShape(dims[:len(idims)]).is_compatible_with(
                ids._shape):
            raise ValueError("data.shape = %s does not start with segment_ids.shape = %s"
                             % (data._shape, ids._shape))
        return [(data.dtype, TensorShape((num,) + dims[len(idims):]))]
    return infer


def _unsorted_kernel(kind):
    def make(op, ctx):
        xp = ctx.xp

        def unsorted_segment_reduce(data, ids, n):
            num = int(n)
            _check_unsorted_ids(ids, num)
            if data.shape[:ids.ndim] != ids.shape:
                raise _invalid("data.shape = %s does not start with segment_ids.shape = %s"
                               % (list(data.shape), list(ids.shape)))
            if ids.size and int(ids.min()) < 0:  # negative ids are dropped
                keep = ids >= 0
                data, ids = data[keep], ids[keep]
            return _scatter_reduce(xp, kind, data, ids, num)
        return unsorted_segment_reduce
    return make


def _unsorted_prod_grad(op, g):
    """TF1's rule: a segment without zeros gives prod / x; with one zero, only the zero entry
    gets the product of the others; with two or more, every entry gets 0."""
    data, ids, n = op._inputs
    is_zero = equal(data, constant(0, data.dtype))
    zeros_in = unsorted_segment_sum(cast(is_zero, dtypes.int32), ids, n)
    g = where(greater(zeros_in, constant(1, dtypes.int32)), zeros_like(g), g)
    ones = ones_like(data)
    non_zero = where(is_zero, ones, data)
    prod_non_zero = out("UnsortedSegmentProd", [non_zero, ids, n])
    safe = maximum(ids, constant(0, ids.dtype))
    keep = greater_equal(ids, constant(0, ids.dtype))
    extra = (data._shape.ndims or 0) - (ids._shape.ndims or 0)
    for _ in range(extra):
        keep = expand_dims(keep, -1)
    prod_all = gather(op._outputs[0], safe)
    prod_others = gather(prod_non_zero, safe)
    partial = where(is_zero, prod_others, divide(prod_all, non_zero))
    gx = gather(g, safe) * partial
    return [where(logical_and(keep, ones_like(gx, dtype=dtypes.bool_)), gx, zeros_like(gx)),
            None, None]


for _kind, _name, _allowed, _grad in (("max", "UnsortedSegmentMax", REAL, _min_or_max_grad),
                                      ("min", "UnsortedSegmentMin", REAL, _min_or_max_grad),
                                      ("prod", "UnsortedSegmentProd", NUMERIC,
                                       _unsorted_prod_grad)):
    register_op(_name, infer=_unsorted_infer(_allowed), kernel=_unsorted_kernel(_kind),
                grad=_grad, doc="out[i] = %s of the rows of data with segment id i "
                "(negative ids dropped)" % _kind)


def _unsorted_segment(op_type, data, segment_ids, num_segments, name):
    d = convert_to_tensor(data)
    with d.graph.as_default():
        ids = _index_tensor(segment_ids)
        n = num_segments if isinstance(num_segments, Tensor) else constant(int(num_segments),
                                                                           dtype=ids.dtype)
    return out(op_type, [d, ids, n], name=name)


def unsorted_segment_max(data, segment_ids, num_segments, name=None):
    """The max of the rows of ``data`` per segment id, ids in any order.

    ``segment_ids`` has the shape of a prefix of ``data``'s; the result has ``num_segments``
    rows. Negative ids are dropped; an empty segment is the dtype's lowest finite value.

    Raises:
        InvalidArgumentError: (when run) an id >= ``num_segments``.

    Example:
        >>> tf.unsorted_segment_max([3., 1., 5.], [1, 1, 0], 2)    # [5., 3.]
    """
    return _unsorted_segment("UnsortedSegmentMax", data, segment_ids, num_segments, name)


def unsorted_segment_min(data, segment_ids, num_segments, name=None):
    """The min per segment id (see :func:`unsorted_segment_max`); empty: the highest value."""
    return _unsorted_segment("UnsortedSegmentMin", data, segment_ids, num_segments, name)


def unsorted_segment_prod(data, segment_ids, num_segments, name=None):
    """The product per segment id (see :func:`unsorted_segment_max`); an empty segment is 1."""
    return _unsorted_segment("UnsortedSegmentProd", data, segment_ids, num_segments, name)


def _segment_sizes(data, ids, num_segments):
    """How many rows each segment has (at least 1), shaped to broadcast over the segments."""
    d = convert_to_tensor(data)
    ids = _index_tensor(ids)
    n = unsorted_segment_sum(ones_like(ids, dtype=d.dtype), ids, num_segments)
    n = maximum(n, constant(1, d.dtype))
    extra = (d._shape.ndims or 0) - (ids._shape.ndims or 0)
    return reshape(n, _shape_list(n) + [1] * extra) if extra else n


def unsorted_segment_mean(data, segment_ids, num_segments, name=None):
    """The mean of the rows of ``data`` per segment id (see :func:`unsorted_segment_max`);
    an empty segment is 0."""
    d = convert_to_tensor(data)
    with d.graph.as_default():
        total = unsorted_segment_sum(d, segment_ids, num_segments)
        return divide(total, _segment_sizes(d, segment_ids, num_segments), name=name)


def unsorted_segment_sqrt_n(data, segment_ids, num_segments, name=None):
    """Each segment's sum divided by the square root of its row count (empty: 0)."""
    d = convert_to_tensor(data)
    with d.graph.as_default():
        total = unsorted_segment_sum(d, segment_ids, num_segments)
        return multiply(total, rsqrt(_segment_sizes(d, segment_ids, num_segments)), name=name)


# ----------------------------------------------------------------------------------------------
# SparseSegmentSum / Mean / SqrtN (and their ...WithNumSegments forms): rows data[indices]
# ----------------------------------------------------------------------------------------------
def _sparse_segment_infer(allowed):
    def infer(op):
        data, indices, ids = op._inputs[:3]
        check_dtype(op, data, allowed, "data")
        check_dtype(op, indices, INDEX, "indices")
        check_dtype(op, ids, INDEX, "segment_ids")
        for t, what in ((indices, "indices"), (ids, "segment_ids")):
            if t._shape.ndims not in (None, 1):
                raise ValueError("%s should be a vector, got shape %s" % (what, t._shape))
        if not indices._shape.with_rank(1).is_compatible_with(ids._shape.with_rank(1)):
            raise ValueError("segment_ids and indices should have same size: %s vs %s"
                             % (ids._shape, indices._shape))
        dims = data._shape.as_tuple()
        if dims is None:
            return [(data.dtype, unknown_shape())]
        if not dims:
            raise ValueError("data must be at least rank 1, got a scalar")
        if len(op._inputs) == 4:
            num = _static_int(op._inputs[3])
        else:
            v = constant_value(ids)
            num = None if v is None else (int(v[-1]) + 1 if v.size else 0)
        return [(data.dtype, TensorShape((num,) + dims[1:]))]
    return infer


def _sparse_segment_kernel(kind):
    def make(op, ctx):
        xp = ctx.xp

        def sparse_segment_reduce(data, indices, ids, *num_segments):
            if indices.shape != ids.shape or indices.ndim != 1:
                raise _invalid("segment_ids and indices should have same size: %s vs %s"
                               % (list(ids.shape), list(indices.shape)))
            rows = data.shape[0]
            bad = (indices < 0) | (indices >= rows)
            if bool(bad.any()):
                i = int(bad.argmax())
                raise _invalid("Bad: indices[%d] == %d out of range [0, %d)"
                               % (i, int(indices[i]), rows))
            num = _check_sorted_ids(ids, ids.shape[0])
            if num_segments:
                n = int(num_segments[0])
                if num > n:
                    raise _invalid("segment ids must be < num_segments: segment_ids[%d] = %d, "
                                   "num_segments = %d" % (ids.size - 1, num - 1, n))
                num = n
            total = _scatter_reduce(xp, "sum", xp.take(data, indices, axis=0), ids, num)
            if kind == "sum":
                return total
            return _divide_rows(xp, total, _counts(xp, ids, num), sqrt=kind == "sqrt_n")
        return sparse_segment_reduce
    return make


def _sparse_segment_grad(kind):
    def grad(op, g):
        data, indices, ids = op._inputs[:3]
        g = convert_to_tensor(g)
        if kind != "sum":
            n = unsorted_segment_sum(ones_like(ids, dtype=g.dtype), ids, shape(g)[0])
            n = maximum(n, constant(1, g.dtype))
            g = divide(g, _rows_like(n if kind == "mean" else sqrt(n), g))
        rows = shape(data, out_type=indices.dtype)[0]
        return [unsorted_segment_sum(gather(g, ids), indices, rows)] + [None] * (
            len(op._inputs) - 1)
    return grad


for _kind, _base, _allowed in (("sum", "SparseSegmentSum", REAL),
                               ("mean", "SparseSegmentMean", FLOATS),
                               ("sqrt_n", "SparseSegmentSqrtN", FLOATS)):
    for _name in (_base, _base + "WithNumSegments"):
        register_op(_name, infer=_sparse_segment_infer(_allowed),
                    kernel=_sparse_segment_kernel(_kind), grad=_sparse_segment_grad(_kind),
                    doc="out[i] = %s of data[indices[j]] over j with (sorted) segment_ids[j] == i"
                    % _kind)


def _sparse_segment(op_type, data, indices, segment_ids, name, num_segments):
    d = convert_to_tensor(data)
    with d.graph.as_default():
        ins = [d, _index_tensor(indices), _index_tensor(segment_ids)]
        if num_segments is not None:
            ins.append(num_segments if isinstance(num_segments, Tensor)
                       else constant(int(num_segments), dtype=dtypes.int32))
            op_type += "WithNumSegments"
    return out(op_type, ins, name=name)


def sparse_segment_sum(data, indices, segment_ids, name=None, num_segments=None):
    """Sums ``data[indices[j]]`` per sorted segment id ``segment_ids[j]``.

    Like ``segment_sum(gather(data, indices), segment_ids)`` without materialising the
    gathered rows; ``num_segments`` fixes the number of output rows.

    Example:
        >>> c = [[1, 2, 3, 4], [-1, -2, -3, -4], [5, 6, 7, 8]]
        >>> tf.sparse_segment_sum(c, [0, 1], [0, 0])     # [[0, 0, 0, 0]]
        >>> tf.sparse_segment_sum(c, [0, 2], [0, 1])     # [[1, 2, 3, 4], [5, 6, 7, 8]]
    """
    return _sparse_segment("SparseSegmentSum", data, indices, segment_ids, name, num_segments)


def sparse_segment_mean(data, indices, segment_ids, name=None, num_segments=None):
    """The mean of ``data[indices[j]]`` per sorted segment id (see :func:`sparse_segment_sum`)."""
    return _sparse_segment("SparseSegmentMean", data, indices, segment_ids, name, num_segments)


def sparse_segment_sqrt_n(data, indices, segment_ids, name=None, num_segments=None):
    """The sum of ``data[indices[j]]`` per segment divided by the square root of its size."""
    return _sparse_segment("SparseSegmentSqrtN", data, indices, segment_ids, name, num_segments)


# ----------------------------------------------------------------------------------------------
# DynamicPartition / DynamicStitch
# ----------------------------------------------------------------------------------------------
def _partition_infer(op):
    data, parts = op._inputs
    check_dtype(op, parts, frozenset([dtypes.int32]), "partitions")
    n = op._attrs["num_partitions"]
    dims, pdims = data._shape.as_tuple(), parts._shape.as_tuple()
    if dims is None or pdims is None:
        return [(data.dtype, unknown_shape())] * n
    if len(pdims) > len(dims) or not TensorShape(dims[:len(pdims)]).is_compatible_with(
            parts._shape):
        raise ValueError("data.shape must start with partitions.shape, got data.shape = %s, "
                         "partitions.shape = %s" % (data._shape, parts._shape))
    return [(data.dtype, TensorShape((None,) + dims[len(pdims):]))] * n


def _partition_kernel(op, ctx):
    xp = ctx.xp
    n = op._attrs["num_partitions"]

    def dynamic_partition_(data, parts):
        if data.shape[:parts.ndim] != parts.shape:
            raise _invalid("data.shape must start with partitions.shape, got data.shape = %s, "
                           "partitions.shape = %s" % (list(data.shape), list(parts.shape)))
        flat = parts.reshape(-1)
        bad = (flat < 0) | (flat >= n)
        if bool(bad.any()):
            i = int(bad.argmax())
            raise _invalid("partitions%s = %d is not in [0, %d)"
                           % (_index_str(parts.shape, i), int(flat[i]), n))
        rows = data.reshape((flat.size,) + data.shape[parts.ndim:])
        # One stable sort groups the rows by partition, keeping their order inside each.
        order = xp.argsort(flat, kind="stable")
        ends = np.cumsum(np.asarray(_counts(xp, flat, n).tolist(), dtype=np.int64))
        grouped = rows[order]
        starts = np.concatenate([[0], ends[:-1]])
        return tuple(grouped[int(s):int(e)] for s, e in zip(starts, ends))
    return dynamic_partition_


def _partition_grad(op, *grads):
    """The gradient rows go back where their data rows came from: stitch them by position."""
    data, parts = op._inputs
    n = op._attrs["num_partitions"]
    positions = reshape(range_(size(parts)), shape(parts))
    sources = dynamic_partition(positions, parts, n)
    stitched = dynamic_stitch(sources, [convert_to_tensor(g) for g in grads])
    return [reshape(stitched, shape(data)), None]


register_op("DynamicPartition", infer=_partition_infer, kernel=_partition_kernel,
            grad=_partition_grad, doc="splits data into num_partitions tensors by partitions")


def dynamic_partition(data, partitions, num_partitions, name=None):
    """Splits ``data`` into ``num_partitions`` tensors: row ``j`` goes to ``partitions[j]``.

    ``partitions`` (int32) has the shape of a prefix of ``data``'s; rows keep their order.

    Raises:
        InvalidArgumentError: (when run) a partition outside [0, num_partitions).

    Example:
        >>> tf.dynamic_partition([10, 20, 30, 40], [0, 1, 0, 1], 2)   # [[10, 30], [20, 40]]
    """
    n = int(num_partitions)
    if n < 1:
        raise ValueError("num_partitions must be at least 1, got %d" % n)
    d = convert_to_tensor(data)
    with d.graph.as_default():
        p = convert_to_tensor(partitions, dtype=dtypes.int32)
    o = core.op("DynamicPartition", [d, p], {"num_partitions": n}, name=name)
    return list(o._outputs)


def _stitch_infer(op):
    n = op._attrs["N"]
    idx, data = op._inputs[:n], op._inputs[n:]
    for t in idx:
        check_dtype(op, t, frozenset([dtypes.int32]), "indices")
    dt = data[0].dtype
    inner = None
    for i, d in zip(idx, data):
        if d.dtype is not dt:
            raise TypeError("DynamicStitch: data[%d] has dtype %s, data[0] has %s"
                            % (data.index(d), d.dtype.name, dt.name))
        dims, idims = d._shape.as_tuple(), i._shape.as_tuple()
        if dims is None or idims is None:
            continue
        if len(idims) > len(dims) or not TensorShape(dims[:len(idims)]).is_compatible_with(
                i._shape):
            raise ValueError("data[k].shape = %s does not start with indices[k].shape = %s"
                             % (d._shape, i._shape))
        rest = TensorShape(dims[len(idims):])
        if inner is not None and not inner.is_compatible_with(rest):
            raise ValueError("DynamicStitch: data shapes %s and %s disagree after the indices' "
                             "dims" % (inner, rest))
        inner = rest if inner is None else inner.merge_with(rest)
    values = [constant_value(i) for i in idx]
    rows = None
    if all(v is not None for v in values):
        rows = max([int(v.max()) + 1 for v in values if v.size] or [0])
    if inner is None or inner.ndims is None:
        return [(dt, unknown_shape())]
    return [(dt, TensorShape((rows,)).concatenate(inner))]


def _stitch_kernel(op, ctx):
    xp = ctx.xp
    n = op._attrs["N"]

    def dynamic_stitch_(*ins):
        idx, data = ins[:n], ins[n:]
        inner = None
        for k, (i, d) in enumerate(zip(idx, data)):
            if d.shape[:i.ndim] != i.shape:
                raise _invalid("data[%d].shape = %s does not start with indices[%d].shape = %s"
                               % (k, list(d.shape), k, list(i.shape)))
            rest = d.shape[i.ndim:]
            if inner is not None and rest != inner:
                raise _invalid("Need data[0].shape[%d:] = data[%d].shape[%d:], got %s and %s"
                               % (idx[0].ndim, k, i.ndim, list(inner), list(rest)))
            inner = rest
        flat_idx = xp.concatenate([i.reshape(-1) for i in idx])
        if flat_idx.size and int(flat_idx.min()) < 0:
            raise _invalid("indices contain a negative value %d" % int(flat_idx.min()))
        rows = int(flat_idx.max()) + 1 if flat_idx.size else 0
        flat_data = xp.concatenate([d.reshape((-1,) + tuple(inner)) for d in data])
        res = xp.zeros((rows,) + tuple(inner), dtype=flat_data.dtype)
        # Later entries win on duplicate indices (TF1's order): assign in order, last write wins.
        last = xp.zeros(rows, dtype=np.int64) - 1
        xp.maximum.at(last, flat_idx, xp.arange(flat_idx.size))
        filled = last >= 0
        res[filled] = flat_data[last[filled]]
        return res
    return dynamic_stitch_


def _stitch_grad(op, g):
    n = op._attrs["N"]
    g = convert_to_tensor(g)
    return [None] * n + [gather(g, i) for i in op._inputs[:n]]


for _name in ("DynamicStitch", "ParallelDynamicStitch"):
    register_op(_name, infer=_stitch_infer, kernel=_stitch_kernel, grad=_stitch_grad,
                doc="merged[indices[m][i...]] = data[m][i...]")


def _stitch(op_type, indices, data, name):
    if len(indices) != len(data) or not indices:
        raise ValueError("%s needs as many data tensors as index tensors (and at least one), "
                         "got %d and %d" % (op_type, len(indices), len(data)))
    ds = [convert_to_tensor(d) for d in data]
    with ds[0].graph.as_default():
        idx = [convert_to_tensor(i, dtype=dtypes.int32) for i in indices]
    return out(op_type, idx + ds, {"N": len(idx)}, name=name)


def dynamic_stitch(indices, data, name=None):
    """Merges ``data`` tensors into one: ``merged[indices[m][i]] = data[m][i]``.

    The inverse of :func:`dynamic_partition`; on duplicate indices the later entry wins.

    Example:
        >>> tf.dynamic_stitch([[0, 2], [1, 3]], [[10, 30], [20, 40]])   # [10, 20, 30, 40]
    """
    return _stitch("DynamicStitch", list(indices), list(data), name)


def parallel_dynamic_stitch(indices, data, name=None):
    """Like :func:`dynamic_stitch` (TF runs it in parallel; duplicates then win in any order)."""
    return _stitch("ParallelDynamicStitch", list(indices), list(data), name)


# ----------------------------------------------------------------------------------------------
# sort / argsort (built from TopKV2 as in TF1, so their gradient is top_k's)
# ----------------------------------------------------------------------------------------------
def _sort_along(values, axis, direction, want_indices, name):
    x = convert_to_tensor(values)
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError("Unknown direction %r: use 'ASCENDING' or 'DESCENDING'" % (direction,))
    a = _static_axis(axis, "sort")
    r = x._shape.ndims
    if r is None:
        raise ValueError("sort needs the rank of values, got shape %s" % x._shape)
    if not -r <= a < r:
        raise ValueError("axis %d is out of range for values of rank %d" % (a, r))
    a %= r
    with x.graph.as_default():
        perm = None
        if a != r - 1:  # top_k works on the last axis: swap `a` with it, and back afterwards
            perm = list(range(r))
            perm[a], perm[-1] = perm[-1], perm[a]
            x = transpose(x, perm)
        key = negative(x) if direction == "ASCENDING" else x
        k = _shape_list(x)[-1]
        res = top_k(key, k if isinstance(k, Tensor) else constant(k, dtype=dtypes.int32))
        v = res.indices if want_indices else res.values
        if not want_indices and direction == "ASCENDING":
            v = negative(v)
        if perm is not None:
            v = transpose(v, perm)
    return identity(v, name=name or ("argsort" if want_indices else "sort"))


def sort(values, axis=-1, direction="ASCENDING", name=None):
    """``values`` sorted along ``axis`` (a constant), ascending or descending.

    Example:
        >>> tf.sort([3, 1, 2])                            # [1, 2, 3]
        >>> tf.sort([[3., 1.], [0., 2.]], axis=0, direction="DESCENDING")
    """
    return _sort_along(values, axis, direction, False, name)


def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None):
    """The int32 indices that sort ``values`` along ``axis``; ties keep their order.

    Example:
        >>> tf.argsort([3, 1, 2])                         # [1, 2, 0]
    """
    return _sort_along(values, axis, direction, True, name)


# ----------------------------------------------------------------------------------------------
# ListDiff (setdiff1d)
# ----------------------------------------------------------------------------------------------
SetDiffOutput = collections.namedtuple("ListDiff", ["out", "idx"])


def _listdiff_infer(op):
    x, y = op._inputs
    if x.dtype is not y.dtype:
        raise TypeError("setdiff1d: x and y must have one dtype, got %s and %s"
                        % (x.dtype.name, y.dtype.name))
    for t, what in ((x, "x"), (y, "y")):
        if t._shape.ndims not in (None, 1):
            raise ValueError("%s should be a 1-D vector, got shape %s" % (what, t._shape))
    return [(x.dtype, TensorShape([None])), (op._attrs["out_idx"], TensorShape([None]))]


def _listdiff_kernel(op, ctx):
    xp = ctx.xp
    idx_np = op._attrs["out_idx"].np

    def listdiff(x, y):
        keep = ~xp.isin(x, y)
        return x[keep], xp.nonzero(keep)[0].astype(idx_np)
    return listdiff


register_op("ListDiff", infer=_listdiff_infer, kernel=_listdiff_kernel, grad=NOT_DIFFERENTIABLE,
            doc="the entries of x that are not in y, and their positions in x")


def setdiff1d(x, y, index_dtype=dtypes.int32, name=None):
    """The entries of 1-D ``x`` not in ``y`` (in order, duplicates kept) and their indices.

    Example:
        >>> out, idx = tf.setdiff1d([1, 2, 3, 4, 5, 6], [1, 3, 5])   # [2, 4, 6], [1, 3, 5]
    """
    xt = convert_to_tensor(x)
    with xt.graph.as_default():
        yt = convert_to_tensor(y, dtype=xt.dtype)
    o = core.op("ListDiff", [xt, yt], {"out_idx": dtypes.as_dtype(index_dtype)}, name=name)
    return SetDiffOutput(*o._outputs)


# ----------------------------------------------------------------------------------------------
# Bincount / HistogramFixedWidth
# ----------------------------------------------------------------------------------------------
def _bincount_infer(op):
    arr, size, weights = op._inputs
    check_dtype(op, arr, frozenset([dtypes.int32]), "arr")
    check_dtype(op, size, frozenset([dtypes.int32]), "size")
    if size._shape.ndims not in (None, 0):
        raise ValueError("size should be a scalar, got shape %s" % size._shape)
    return [(weights.dtype, TensorShape([_static_int(size)]))]


def _bincount_kernel(op, ctx):
    xp = ctx.xp

    def bincount_(arr, size, weights):
        n = int(size)
        if n < 0:
            raise _invalid("size (%d) must be non-negative" % n)
        flat = arr.reshape(-1)
        if flat.size and int(flat.min()) < 0:
            raise _invalid("Input arr must be non-negative!")
        if weights.size and weights.shape != arr.shape:
            raise _invalid("weights and arr must have the same shape, got %s and %s"
                           % (list(weights.shape), list(arr.shape)))
        keep = flat < n  # values beyond size are not counted (maxlength)
        w = weights.reshape(-1)[keep] if weights.size else None
        counts = xp.bincount(flat[keep], weights=w, minlength=n)[:n]
        return counts.astype(weights.dtype)
    return bincount_


register_op("Bincount", infer=_bincount_infer, kernel=_bincount_kernel, grad=NOT_DIFFERENTIABLE,
            doc="counts (or sums weights) of each value in [0, size)")


def bincount(arr, weights=None, minlength=None, maxlength=None, dtype=dtypes.int32):
    """How often each value in [0, max(arr)] occurs in the non-negative int32 ``arr``.

    With ``weights`` (same shape) each occurrence adds its weight instead of 1. The
    result has ``max(arr) + 1`` entries (0 for an empty ``arr``), at least ``minlength``
    and at most ``maxlength``.

    Example:
        >>> tf.bincount([1, 1, 3])                          # [0, 2, 0, 1]
        >>> tf.bincount([1, 1, 3], weights=[.5, .5, 2.])    # [0., 1., 0., 2.]
    """
    from .math_ops import reduce_prod
    a = convert_to_tensor(arr, dtype=dtypes.int32)
    with a.graph.as_default():
        nonempty = cast(greater(reduce_prod(shape(a)), constant(0)), dtypes.int32)
        n = nonempty * (reduce_max(a) + 1)
        if minlength is not None:
            n = maximum(convert_to_tensor(minlength, dtype=dtypes.int32), n)
        if maxlength is not None:
            n = minimum(convert_to_tensor(maxlength, dtype=dtypes.int32), n)
        if weights is not None:
            w = convert_to_tensor(weights)
            return unsorted_segment_sum(w, a, n)
        return out("Bincount", [a, n, constant(np.zeros([0], dtypes.as_dtype(dtype).np))],
                   name="bincount")


def _histogram_infer(op):
    values, value_range, nbins = op._inputs
    check_dtype(op, values, REAL, "values")
    if value_range.dtype is not values.dtype:
        raise TypeError("value_range must have the dtype of values (%s), got %s"
                        % (values.dtype.name, value_range.dtype.name))
    if not value_range._shape.is_compatible_with(TensorShape([2])):
        raise ValueError("value_range should be a vector of 2 elements, got shape %s"
                         % value_range._shape)
    check_dtype(op, nbins, frozenset([dtypes.int32]), "nbins")
    n = _static_int(nbins)
    if n is not None and n <= 0:
        raise ValueError("nbins should be a positive number, but got %d" % n)
    return [(op._attrs["dtype"], TensorShape([n]))]


def _histogram_kernel(op, ctx):
    xp = ctx.xp
    out_np = op._attrs["dtype"].np

    def histogram(values, value_range, nbins):
        n = int(nbins)
        lo, hi = (float(v) for v in value_range.tolist())
        if n <= 0:
            raise _invalid("nbins should be a positive number, but got '%d'" % n)
        if not lo < hi:
            raise _invalid("value_range should satisfy value_range[0] < value_range[1], but got "
                           "'[%r, %r]'" % (lo, hi))
        step = (hi - lo) / n
        v = xp.maximum(values.reshape(-1).astype(np.float64), lo)
        bins = xp.minimum((v - lo) / step, n - 1).astype(np.int64)
        return xp.bincount(bins, minlength=n)[:n].astype(out_np)
    return histogram


register_op("HistogramFixedWidth", infer=_histogram_infer, kernel=_histogram_kernel,
            grad=NOT_DIFFERENTIABLE, doc="counts of values in nbins equal-width bins")


def histogram_fixed_width(values, value_range, nbins=100, dtype=dtypes.int32, name=None):
    """Counts ``values`` in ``nbins`` equal bins spanning ``value_range = [lo, hi]``.

    Values below ``lo`` count in the first bin, values from ``hi`` up in the last.

    Example:
        >>> tf.histogram_fixed_width([-1., 0., 1.5, 2., 5., 15], [0., 5.], nbins=5)
        ... # [2, 1, 1, 0, 2]
    """
    v = convert_to_tensor(values)
    with v.graph.as_default():
        r = convert_to_tensor(value_range, dtype=v.dtype)
        n = convert_to_tensor(nbins, dtype=dtypes.int32)
    return out("HistogramFixedWidth", [v, r, n], {"dtype": dtypes.as_dtype(dtype)},
               name=name or "histogram_fixed_width")


def histogram_fixed_width_bins(values, value_range, nbins=100, dtype=dtypes.int32, name=None):
    """The bin (in [0, nbins)) of each entry of ``values``, with the bins of
    :func:`histogram_fixed_width`; the result has the shape of ``values``."""
    v = convert_to_tensor(values)
    with v.graph.as_default():
        r = convert_to_tensor(value_range, dtype=v.dtype)
        nf = cast(convert_to_tensor(nbins, dtype=dtypes.int32), v.dtype)
        scaled = divide(v - r[0], r[1] - r[0])
        idx = floor(nf * scaled)
        idx = clip_by_value(idx, constant(0, v.dtype), nf - constant(1, v.dtype))
        return cast(idx, dtypes.as_dtype(dtype), name=name or "histogram_fixed_width_bins")


# ----------------------------------------------------------------------------------------------
# confusion_matrix (a ScatterNd of ones, as TF1 builds it)
# ----------------------------------------------------------------------------------------------
def confusion_matrix(labels, predictions, num_classes=None, dtype=dtypes.int32, name=None,
                     weights=None):
    """The ``[num_classes, num_classes]`` matrix counting (label, prediction) pairs.

    Rows are true labels, columns predictions; ``weights`` replaces the count of 1 per pair.
    Without ``num_classes`` it is ``max(labels, predictions) + 1``.

    Raises:
        InvalidArgumentError: (when run) a negative label or prediction, or one not below
            ``num_classes``.

    Example:
        >>> tf.confusion_matrix([1, 2, 4], [2, 2, 4])    # 5x5, ones at (1,2), (2,2), (4,4)
    """
    from .check_ops import assert_less, assert_non_negative
    lab = convert_to_tensor(labels)
    with lab.graph.as_default():
        pred = convert_to_tensor(predictions)
        lab, pred = cast(lab, dtypes.int64), cast(pred, dtypes.int64)
        checks = [assert_non_negative(lab, message="`labels` contains negative values"),
                  assert_non_negative(pred, message="`predictions` contains negative values")]
        if num_classes is None:
            n = maximum(reduce_max(pred), reduce_max(lab)) + constant(1, dtypes.int64)
        else:
            n = cast(convert_to_tensor(num_classes), dtypes.int64)
            checks += [assert_less(lab, n, message="`labels` out of bound"),
                       assert_less(pred, n, message="`predictions` out of bound")]
        with control_dependencies(checks):
            lab, pred = identity(lab), identity(pred)
        dt = dtypes.as_dtype(dtype)
        w = ones_like(pred, dtype=dt) if weights is None else cast(convert_to_tensor(weights), dt)
        idx = stack([lab, pred], axis=1)
        return scatter_nd(idx, w, stack([n, n]), name=name or "confusion_matrix")


# ----------------------------------------------------------------------------------------------
# UnravelIndex / searchsorted (LowerBound, UpperBound)
# ----------------------------------------------------------------------------------------------
def _unravel_infer(op):
    indices, dims = op._inputs
    check_dtype(op, indices, INDEX, "indices")
    if dims.dtype is not indices.dtype:
        raise TypeError("unravel_index: dims must have the dtype of indices (%s), got %s"
                        % (indices.dtype.name, dims.dtype.name))
    if indices._shape.ndims not in (None, 0, 1):
        raise ValueError("The indices can only be scalar or vector, got shape %s"
                         % indices._shape)
    if dims._shape.ndims not in (None, 1):
        raise ValueError("The dims must be a vector, got shape %s" % dims._shape)
    d = dims._shape[0].value if dims._shape.ndims == 1 else None
    if indices._shape.ndims == 0:
        return [(indices.dtype, TensorShape([d]))]
    n = indices._shape[0].value if indices._shape.ndims == 1 else None
    return [(indices.dtype, TensorShape([d, n]) if indices._shape.ndims == 1
             else unknown_shape())]


def _unravel_kernel(op, ctx):
    xp = ctx.xp

    def unravel(indices, dims):
        shp = tuple(int(d) for d in dims.tolist())
        total = int(np.prod(shp, dtype=np.int64))
        if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= total):
            raise _invalid("index is out of bound as with dims (%s)" % ",".join(map(str, shp)))
        return xp.stack(xp.unravel_index(indices, shp)).astype(indices.dtype)
    return unravel


register_op("UnravelIndex", infer=_unravel_infer, kernel=_unravel_kernel,
            grad=NOT_DIFFERENTIABLE, doc="flat indices -> coordinates in an array of shape dims")


def unravel_index(indices, dims, name=None):
    """The coordinates of flat ``indices`` in an array of shape ``dims``.

    A scalar index gives a ``[len(dims)]`` vector, a vector of N gives ``[len(dims), N]``.

    Example:
        >>> tf.unravel_index([2, 5, 7], [3, 3])     # [[0, 1, 2], [2, 2, 1]]
    """
    i = _index_tensor(indices)
    with i.graph.as_default():
        d = convert_to_tensor(dims, dtype=i.dtype)
    return out("UnravelIndex", [i, d], name=name)


def _bound_infer(op):
    seq, values = op._inputs
    if seq.dtype is not values.dtype:
        raise TypeError("searchsorted: sorted_sequence and values must have one dtype, got %s "
                        "and %s" % (seq.dtype.name, values.dtype.name))
    check_dtype(op, seq, REAL, "sorted_inputs")
    s, v = seq._shape, values._shape
    if s.ndims is not None and v.ndims is not None:
        if s.ndims != v.ndims or not s[:-1].is_compatible_with(v[:-1]):
            raise ValueError("searchsorted: sorted_sequence %s and values %s must have the same "
                             "leading dimensions" % (s, v))
    return [(op._attrs["out_type"], v)]


def _bound_kernel(op, ctx):
    xp = ctx.xp
    right = op.type == "UpperBound"
    out_np = op._attrs["out_type"].np

    def bound(seq, values):
        if seq.shape[:-1] != values.shape[:-1]:
            raise _invalid("Leading dim_size of both tensors must match: %s vs %s"
                           % (list(seq.shape), list(values.shape)))
        rows, n, m = int(np.prod(seq.shape[:-1], dtype=np.int64)), seq.shape[-1], values.shape[-1]
        # Merge each row's sequence and values in one lexicographic sort by (row, value, tag);
        # a value's answer is how many sequence entries of its row precede it. The tag orders
        # equal keys: values before sequence entries for the lower bound, after for the upper.
        row_s = xp.repeat(xp.arange(rows), n)
        row_v = xp.repeat(xp.arange(rows), m)
        keys = xp.concatenate([seq.reshape(-1), values.reshape(-1)])
        row = xp.concatenate([row_s, row_v])
        is_seq = xp.concatenate([xp.ones(rows * n, np.int64), xp.zeros(rows * m, np.int64)])
        tag = is_seq if not right else 1 - is_seq
        order = xp.lexsort(xp.stack([tag, keys, row]))
        seq_before = xp.cumsum(is_seq[order]) - is_seq[order]
        res = xp.empty(keys.size, np.int64)
        res[order] = seq_before
        found = res[rows * n:] - row_v * n
        return found.reshape(values.shape).astype(out_np)
    return bound


for _name in ("LowerBound", "UpperBound"):
    register_op(_name, infer=_bound_infer, kernel=_bound_kernel, grad=NOT_DIFFERENTIABLE,
                doc="per row, where values would go in the sorted sequence (%s)"
                % ("first position" if _name == "LowerBound" else "after equal entries"))


def searchsorted(sorted_sequence, values, side="left", out_type=dtypes.int32, name=None):
    """Where each of ``values`` would be inserted to keep the last axis of ``sorted_sequence``
    sorted (both have the same leading dims); ``side='left'`` gives the first such position,
    ``'right'`` the last.

    Example:
        >>> tf.searchsorted([[0, 3, 9, 9, 10]], [[2, 4, 9]])    # [[1, 2, 2]]
    """
    if side not in ("left", "right"):
        raise ValueError("side must be either 'right' or 'left', got %r" % (side,))
    s = convert_to_tensor(sorted_sequence)
    with s.graph.as_default():
        v = convert_to_tensor(values, dtype=s.dtype)
    return out("LowerBound" if side == "left" else "UpperBound", [s, v],
               {"out_type": dtypes.as_dtype(out_type)}, name=name or "searchsorted")
