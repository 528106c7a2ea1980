"""Indexing: ``gather``/``gather_nd``, ``scatter_nd``, ``unsorted_segment_sum``, ``one_hot``,
``boolean_mask``/``sequence_mask``, ``unique`` and ``top_k``.

The gradient of ``gather`` along axis 0 is an ``IndexedSlices`` (only the gathered rows), so
optimizers update just those rows; an ``IndexedSlices`` converts to a dense tensor with one
``UnsortedSegmentSum`` (duplicate indices add up).
"""
import builtins
import collections

import numpy as np

from ..framework import dtypes
from ..framework.graph import IndexedSlices, Tensor
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape, unknown_shape
from . import core
from .array_ops import (_index_tensor, _pyslice, _shape_arg, _shape_list, _shape_of,
                        _static_axis, _static_int, _static_ints, expand_dims, math, range_,
                        reshape, transpose)
from .core import constant, constant_value, convert_to_tensor, out
from .shape_rules import INDEX, check_dtype

__all__ = [
    "gather", "gather_nd", "scatter_nd", "unsorted_segment_sum", "one_hot", "boolean_mask",
    "sequence_mask", "unique", "unique_with_counts", "top_k",
]


# ----------------------------------------------------------------------------------------------
# GatherV2 (gradient: IndexedSlices for axis 0) / UnsortedSegmentSum / IndexedSlices -> dense
# ----------------------------------------------------------------------------------------------
def _gather_infer(op):
    params, indices = op._inputs
    check_dtype(op, indices, INDEX, "indices")
    axis = op._attrs["axis"]
    dims, idims = params._shape.as_tuple(), indices._shape.as_tuple()
    if dims is None:
        return [(params.dtype, unknown_shape())]
    if not -len(dims) <= axis < len(dims):
        raise ValueError("Shape must be at least rank %d but is rank %d (gather axis %d)"
                         % ((axis if axis >= 0 else -axis - 1) + 1, len(dims), axis))
    a = axis % len(dims)
    if idims is None:
        return [(params.dtype, unknown_shape())]
    return [(params.dtype, TensorShape(dims[:a] + idims + dims[a + 1:]))]


def _gather_kernel(op, ctx):
    xp = ctx.xp
    axis = op._attrs["axis"]
    return lambda params, indices: xp.take(params, indices, axis=axis)


def _gather_grad(op, g):
    params, indices = op._inputs
    dims = params._shape.as_tuple()
    axis = op._attrs["axis"]
    if dims is None:
        raise ValueError("The gradient of gather needs the rank of params %s" % params.name)
    a = axis % len(dims)
    g = convert_to_tensor(g)
    if a == 0:
        # Sparse: only the gathered rows get gradient (optimizers update just those rows).
        values = g if indices._shape.ndims == 1 else reshape(g, [-1] + _shape_list(params)[1:])
        flat = indices if indices._shape.ndims == 1 else reshape(indices, [-1])
        return [IndexedSlices(values, flat, _shape_of(params)), None]
    # Dense for other axes: bring the gathered axis to the front, segment-sum it, move it back.
    pdims = _shape_list(params)
    outer, inner = pdims[:a], pdims[a + 1:]
    values = reshape(g, outer + [-1] + inner)
    r = len(dims)
    front = transpose(values, [a] + list(range(a)) + list(range(a + 1, r)))
    summed = unsorted_segment_sum(front, reshape(indices, [-1]), pdims[a])
    return [transpose(summed, list(range(1, a + 1)) + [0] + list(range(a + 1, r))), None]


register_op("GatherV2", infer=_gather_infer, kernel=_gather_kernel, grad=_gather_grad)


def gather(params, indices, validate_indices=None, name=None, axis=None, batch_dims=0):
    """Gathers slices of ``params`` along ``axis`` at ``indices`` (any shape).

    The output shape is ``params.shape[:axis] + indices.shape + params.shape[axis + 1:]``.
    The gradient w.r.t. ``params`` along axis 0 is an ``IndexedSlices`` (sparse rows).

    Example:
        >>> tf.gather(embeddings, ids)                 # [vocab, d], [batch] -> [batch, d]
        >>> tf.gather(x, [3, 1], axis=1)
    """
    if batch_dims:
        raise ValueError("gather: batch_dims=%r is not supported (only 0)" % (batch_dims,))
    p = convert_to_tensor(params)
    i = _index_tensor(indices)
    a = 0 if axis is None else _static_axis(axis, "gather")
    return out("GatherV2", [p, i], {"axis": a}, name=name or "GatherV2")


def _segment_add(xp, values, ids, num, inner):
    """Sums rows of ``values`` (one per id) into ``num`` rows of shape ``inner``; ids < 0 dropped.

    ``add.at`` on a flat view with flat indices is several times faster than on 2-D rows.
    """
    k = int(np.prod(inner, dtype=np.int64))
    res = xp.zeros(num * k, dtype=values.dtype)
    ids = ids.reshape(-1)
    vals = values.reshape(ids.size, k)
    if ids.size and int(ids.min()) < 0:
        keep = ids >= 0
        ids, vals = ids[keep], vals[keep]
    if k == 1:
        xp.add.at(res, ids, vals.reshape(-1))
    elif k:
        flat = (ids.astype(np.int64)[:, None] * k + xp.arange(k)).reshape(-1)
        xp.add.at(res, flat, vals.reshape(-1))
    return res.reshape((num,) + tuple(inner))


def _uss_infer(op):
    data, ids, n = op._inputs
    check_dtype(op, ids, INDEX, "segment_ids")
    check_dtype(op, n, INDEX, "num_segments")
    num = _static_int(n)
    dims, idims = data._shape.as_tuple(), ids._shape.as_tuple()
    if dims is None or idims is None:
        return [(data.dtype, unknown_shape())]
    if len(idims) > len(dims) or not TensorShape(dims[:len(idims)]).is_compatible_with(ids._shape):
        raise ValueError("data.shape = %s does not start with segment_ids.shape = %s"
                         % (data._shape, ids._shape))
    return [(data.dtype, TensorShape((num,) + dims[len(idims):]))]


def _uss_kernel(op, ctx):
    xp = ctx.xp
    num = _static_int(op._inputs[2])

    def uss(data, ids, n):
        nn = num if num is not None else int(n)
        return _segment_add(xp, data, ids, nn, data.shape[ids.ndim:])
    return uss


def _uss_grad(op, g):
    data, ids, _ = op._inputs
    safe = math().maximum(ids, constant(0, dtype=ids.dtype))
    gathered = gather(g, safe)
    keep = math().cast(math().greater_equal(ids, constant(0, dtype=ids.dtype)), g.dtype)
    extra = (data._shape.ndims or 0) - (ids._shape.ndims or 0)
    if extra:
        keep = reshape(keep, _shape_list(ids) + [1] * extra)
    return [gathered * keep, None, None]


register_op("UnsortedSegmentSum", infer=_uss_infer, kernel=_uss_kernel, grad=_uss_grad)


def unsorted_segment_sum(data, segment_ids, num_segments, name=None):
    """``out[i] = sum of data[j...] over j with segment_ids[j] == i``; negative ids are dropped.

    Example:
        >>> tf.unsorted_segment_sum([1., 2., 3.], [0, 2, 0], 3)    # [4., 0., 2.]
    """
    d = convert_to_tensor(data)
    ids = _index_tensor(segment_ids)
    n = num_segments if isinstance(num_segments, Tensor) else constant(int(num_segments),
                                                                       dtype=ids.dtype)
    return out("UnsortedSegmentSum", [d, ids, n], name=name)


def _indexed_slices_to_tensor(value, dtype=None, name=None, as_ref=False):
    """Densifies an IndexedSlices (duplicate indices add up) with one UnsortedSegmentSum."""
    if dtype is not None and dtypes.as_dtype(dtype) is not value.dtype:
        raise ValueError("Tensor conversion requested dtype %s for IndexedSlices with dtype %s"
                         % (dtypes.as_dtype(dtype).name, value.dtype.name))
    if value.dense_shape is None:
        raise ValueError("Tensor conversion requested for IndexedSlices without dense_shape: %s"
                         % (value,))
    ds = convert_to_tensor(value.dense_shape)
    n = _static_ints(ds)
    with value.values.graph.as_default():
        num = n[0] if n is not None else ds[0]
        dense = unsorted_segment_sum(value.values, value.indices, num, name=name)
    dense.set_shape(core.constant_value_as_shape(ds))
    return dense


core.register_tensor_conversion_function(IndexedSlices, _indexed_slices_to_tensor)


# ----------------------------------------------------------------------------------------------
# GatherNd / ScatterNd
# ----------------------------------------------------------------------------------------------
def _gather_nd_infer(op):
    params, indices = op._inputs
    check_dtype(op, indices, INDEX, "indices")
    dims, idims = params._shape.as_tuple(), indices._shape.as_tuple()
    if idims is None or not idims or idims[-1] is None:
        return [(params.dtype, unknown_shape())]
    k = idims[-1]
    if dims is None:
        return [(params.dtype, unknown_shape())]
    if k > len(dims):
        raise ValueError("indices.shape[-1] must be <= params.rank, but saw indices shape %s and "
                         "params shape %s" % (indices._shape, params._shape))
    return [(params.dtype, TensorShape(idims[:-1] + dims[k:]))]


def _gather_nd_kernel(op, ctx):
    xp = ctx.xp

    def gather_nd(params, indices):
        k = indices.shape[-1]
        if k == 0:
            return xp.broadcast_to(params, indices.shape[:-1] + params.shape).copy()
        # Ellipsis: a fully-indexed (0-d) result stays an array.
        return params[tuple(indices[..., i] for i in range(k)) + (Ellipsis,)]
    return gather_nd


def _gather_nd_grad(op, g):
    params, indices = op._inputs
    return [scatter_nd(indices, g, _shape_of(params, indices.dtype)), None]


register_op("GatherNd", infer=_gather_nd_infer, kernel=_gather_nd_kernel, grad=_gather_nd_grad)


def gather_nd(params, indices, name=None, batch_dims=0):
    """Gathers slices of ``params`` addressed by the last dimension of ``indices``.

    ``out[i...] = params[indices[i..., 0], ..., indices[i..., K-1], ...]``.

    Example:
        >>> tf.gather_nd([[1, 2], [3, 4]], [[0, 1], [1, 0]])    # [2, 3]
    """
    if batch_dims:
        raise ValueError("gather_nd: batch_dims=%r is not supported (only 0)" % (batch_dims,))
    return out("GatherNd", [convert_to_tensor(params), _index_tensor(indices)], name=name)


def _scatter_nd_infer(op):
    indices, updates, s = op._inputs
    check_dtype(op, indices, INDEX, "indices")
    check_dtype(op, s, INDEX, "shape")
    target = core.constant_value_as_shape(s)
    idims, udims, tdims = (t.as_tuple() for t in (indices._shape, updates._shape, target))
    if None not in (idims, udims, tdims) and idims and idims[-1] is not None:
        k = idims[-1]
        want = TensorShape(idims[:-1] + tdims[k:])
        if k > len(tdims) or not want.is_compatible_with(updates._shape):
            raise ValueError("The outer %d dimensions of indices.shape=%s must match the outer %d "
                             "dimensions of updates.shape=%s, and the inner dimensions of "
                             "updates must match shape[%d:] of shape=%s" % (
                                 len(idims) - 1, indices._shape, len(idims) - 1, updates._shape,
                                 k, target))
    return [(updates.dtype, target)]


def _scatter_nd_kernel(op, ctx):
    xp = ctx.xp
    static = _static_ints(op._inputs[2])

    def scatter_nd_(indices, updates, s):
        shp = static if static is not None else tuple(s.tolist())
        k = indices.shape[-1]
        lead = shp[:k]
        flat = xp.ravel_multi_index(tuple(indices[..., i].reshape(-1) for i in range(k)), lead) \
            if k else xp.zeros(int(np.prod(indices.shape[:-1])), dtype=np.int64)
        return _segment_add(xp, updates, flat, int(np.prod(lead, dtype=np.int64)),
                            shp[k:]).reshape(shp)
    return scatter_nd_


register_op("ScatterNd", infer=_scatter_nd_infer, kernel=_scatter_nd_kernel,
            grad=lambda op, g: [None, gather_nd(g, op._inputs[0]), None])


def scatter_nd(indices, updates, shape, name=None):  # noqa: F811 - TF1 argument name
    """Zeros of ``shape`` with ``updates`` added at ``indices`` (duplicates add up).

    Example:
        >>> tf.scatter_nd([[1], [3]], [9., 10.], [5])    # [0, 9, 0, 10, 0]
    """
    i = _index_tensor(indices)
    return out("ScatterNd", [i, convert_to_tensor(updates), _index_tensor(_shape_arg(shape))],
               name=name)


# ----------------------------------------------------------------------------------------------
# OneHot
# ----------------------------------------------------------------------------------------------
def _one_hot_infer(op):
    indices, depth, on, off = op._inputs
    if indices.dtype not in (dtypes.uint8, dtypes.int32, dtypes.int64):
        raise TypeError("Value passed to parameter 'indices' has DataType %s not in list of "
                        "allowed values: uint8, int32, int64" % indices.dtype.name)
    check_dtype(op, depth, frozenset([dtypes.int32]), "depth")
    if on.dtype is not off.dtype:
        raise TypeError("on_value (%s) and off_value (%s) must have the same dtype"
                        % (on.dtype.name, off.dtype.name))
    d = _static_int(depth)
    if d is not None and d < 0:
        raise ValueError("depth must be non-negative, got: %d" % d)
    dims = indices._shape.as_tuple()
    axis = op._attrs["axis"]
    if dims is None:
        return [(on.dtype, unknown_shape())]
    if not -1 <= axis <= len(dims):
        raise ValueError("Expected axis to be -1 or between [0, %d).  But received: %d"
                         % (len(dims) + 1, axis))
    res = list(dims)
    res.insert(len(dims) if axis == -1 else axis, d)
    return [(on.dtype, TensorShape(res))]


def _one_hot_kernel(op, ctx):
    xp = ctx.xp
    axis = op._attrs["axis"]
    depth = _static_int(op._inputs[1])
    rank = op._inputs[0]._shape.ndims

    def positions(d, r):
        a = r if axis == -1 else axis
        return xp.arange(d).reshape((d,) + (1,) * (r - a)), a
    if depth is not None and rank is not None:
        ar, a = positions(depth, rank)
        return lambda ind, d, on, off: xp.where(xp.expand_dims(ind, a) == ar, on, off)

    def one_hot_(ind, d, on, off):
        ar_, a_ = positions(int(d), ind.ndim)
        return xp.where(xp.expand_dims(ind, a_) == ar_, on, off)
    return one_hot_


register_op("OneHot", infer=_one_hot_infer, kernel=_one_hot_kernel, grad=NOT_DIFFERENTIABLE)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """One-hot vectors: ``on_value`` at each index, ``off_value`` elsewhere.

    Indices outside [0, depth) (e.g. -1) give all-``off_value`` vectors.

    The dtype is ``dtype`` if given, else that of ``on_value``/``off_value``, else float32.
    The new dimension of size ``depth`` goes at ``axis`` (default: last).

    Example:
        >>> tf.one_hot([0, 2], depth=3)     # [[1., 0., 0.], [0., 0., 1.]]
    """
    ind = convert_to_tensor(indices)
    given = {"on_value": on_value, "off_value": off_value}
    inferred = {}
    for key, v in given.items():
        if v is not None:
            inferred[key] = v.dtype if isinstance(v, Tensor) else core._infer_dtype(v)
    if dtype is not None:
        dt = dtypes.as_dtype(dtype)
        for key, v in given.items():
            if isinstance(v, Tensor) and v.dtype is not dt:
                raise TypeError("dtype %s of %s does not match dtype parameter %s"
                                % (v.dtype.name, key, dt.name))
    else:
        if len(inferred) == 2 and inferred["on_value"] is not inferred["off_value"]:
            raise TypeError("dtype %s of on_value does not match dtype %s of off_value"
                            % (inferred["on_value"].name, inferred["off_value"].name))
        dt = inferred.get("on_value") or inferred.get("off_value") or dtypes.float32
    with ind.graph.as_default():
        # As TF1, the defaults are the Python ints 1 and 0 (so dtype=tf.bool needs explicit values).
        on = convert_to_tensor(1 if on_value is None else on_value, dtype=dt)
        off = convert_to_tensor(0 if off_value is None else off_value, dtype=dt)
        d = depth if isinstance(depth, Tensor) else constant(int(depth), dtype=dtypes.int32)
    return out("OneHot", [ind, d, on, off], {"axis": -1 if axis is None else int(axis)},
               name=name or "one_hot")


# ----------------------------------------------------------------------------------------------
# BooleanMask / BooleanMaskGrad, SequenceMask
# ----------------------------------------------------------------------------------------------
def _boolean_mask_infer(op):
    x, mask = op._inputs
    if mask.dtype is not dtypes.bool_:
        raise TypeError("mask must be a bool tensor, got %s" % mask.dtype.name)
    k = mask._shape.ndims
    axis = op._attrs["axis"]
    if k is None:
        raise ValueError("Number of mask dimensions must be specified, even if some dimensions "
                         "are None.  E.g. shape=[None] is ok, but shape=None is not.")
    if k == 0:
        raise ValueError("mask cannot be scalar.")
    dims = x._shape.as_tuple()
    if dims is None:
        return [(x.dtype, unknown_shape())]
    if axis + k > len(dims):
        raise ValueError("mask of rank %d at axis %d does not fit a tensor of rank %d"
                         % (k, axis, len(dims)))
    part = TensorShape(dims[axis:axis + k])
    if not part.is_compatible_with(mask._shape):
        raise ValueError("Shapes %s and %s are incompatible" % (part, mask._shape))
    return [(x.dtype, TensorShape(dims[:axis] + (None,) + dims[axis + k:]))]


def _boolean_mask_kernel(op, ctx):
    pre = (_pyslice(None),) * op._attrs["axis"]
    return lambda x, mask: x[pre + (mask,)]


def _boolean_mask_grad_kernel(op, ctx):
    xp = ctx.xp
    axis = op._attrs["axis"]
    pre = (_pyslice(None),) * axis

    def scatter(mask, g):
        res = xp.zeros(g.shape[:axis] + mask.shape + g.shape[axis + 1:], dtype=g.dtype)
        res[pre + (mask,)] = g
        return res
    return scatter


def _boolean_mask_grad_infer(op):
    mask, g = op._inputs
    dims, mdims = g._shape.as_tuple(), mask._shape.as_tuple()
    if dims is None or mdims is None:
        return [(g.dtype, unknown_shape())]
    a = op._attrs["axis"]
    return [(g.dtype, TensorShape(dims[:a] + mdims + dims[a + 1:]))]


register_op("BooleanMask", infer=_boolean_mask_infer, kernel=_boolean_mask_kernel,
            grad=lambda op, g: [out("BooleanMaskGrad", [op._inputs[1], convert_to_tensor(g)],
                                    {"axis": op._attrs["axis"]}), None])
register_op("BooleanMaskGrad", infer=_boolean_mask_grad_infer, kernel=_boolean_mask_grad_kernel,
            grad=lambda op, gg: [None, boolean_mask(gg, op._inputs[0], axis=op._attrs["axis"])],
            doc="Zeros of the masked tensor's shape with the gradient written where mask is True.")


def boolean_mask(tensor, mask, name="boolean_mask", axis=None):
    """The entries of ``tensor`` where ``mask`` is True, flattened over the mask's dims.

    ``mask`` (bool, rank k, static rank) covers dims ``axis .. axis+k-1`` of ``tensor``.

    Example:
        >>> tf.boolean_mask([1, 2, 3], [True, False, True])    # [1, 3]
    """
    x = convert_to_tensor(tensor)
    m = convert_to_tensor(mask)
    if m.dtype is not dtypes.bool_ and (m.dtype.is_integer or m.dtype.is_floating):
        m = math().not_equal(m, constant(0, dtype=m.dtype))  # TF1 keeps the non-zero entries
    a = 0 if axis is None else _static_axis(axis, "boolean_mask")
    if a < 0:
        if x._shape.ndims is None:
            raise ValueError("boolean_mask: a negative axis needs the rank of the tensor")
        a %= x._shape.ndims
    return out("BooleanMask", [x, m], {"axis": a}, name=name)


def _static_maxlen(op):
    """maxlen if known at construction: given, or the max of constant lengths."""
    if len(op._inputs) == 2:
        return _static_int(op._inputs[1])
    v = constant_value(op._inputs[0])
    return None if v is None else builtins.max(int(v.max()), 0) if v.size else 0


def _sequence_mask_infer(op):
    lengths = op._inputs[0]
    check_dtype(op, lengths, INDEX, "lengths")
    m = _static_maxlen(op)
    dims = lengths._shape.as_tuple()
    if dims is None:
        return [(op._attrs["dtype"], unknown_shape())]
    return [(op._attrs["dtype"], TensorShape(dims + (m,)))]


def _sequence_mask_kernel(op, ctx):
    xp = ctx.xp
    npd = op._attrs["dtype"].np
    static = _static_maxlen(op)

    def mask_(lengths, maxlen=None):
        if static is not None:
            m = static
        elif maxlen is not None:
            m = int(maxlen)
        else:
            m = int(lengths.max()) if lengths.size else 0
        r = xp.arange(builtins.max(m, 0), dtype=lengths.dtype) < lengths[..., None]
        return r if npd is np.bool_ else r.astype(npd)
    return mask_


register_op("SequenceMask", infer=_sequence_mask_infer, kernel=_sequence_mask_kernel,
            grad=NOT_DIFFERENTIABLE)


def sequence_mask(lengths, maxlen=None, dtype=dtypes.bool_, name=None):
    """``mask[i..., j] = j < lengths[i...]`` for j in [0, maxlen) (default maxlen: max length).

    Example:
        >>> tf.sequence_mask([1, 3], 4)    # [[T, F, F, F], [T, T, T, F]]
    """
    n = _index_tensor(lengths)
    ins = [n]
    if maxlen is not None:
        with n.graph.as_default():
            ins.append(math().cast(maxlen, n.dtype) if isinstance(maxlen, Tensor)
                       else constant(int(maxlen), dtype=n.dtype))
    return out("SequenceMask", ins, {"dtype": dtypes.as_dtype(dtype)}, name=name or "SequenceMask")


# ----------------------------------------------------------------------------------------------
# Unique / UniqueWithCounts
# ----------------------------------------------------------------------------------------------
UniqueOutput = collections.namedtuple("Unique", ["y", "idx"])
UniqueWithCountsOutput = collections.namedtuple("UniqueWithCounts", ["y", "idx", "count"])


def _unique_infer(op):
    x = op._inputs[0]
    if x._shape.ndims not in (None, 1):
        raise ValueError("Shape must be rank 1 but is rank %d" % x._shape.ndims)
    idx_dt = op._attrs["out_idx"]
    specs = [(x.dtype, TensorShape([None])), (idx_dt, x._shape.with_rank(1))]
    if op._attrs["counts"]:
        specs.append((idx_dt, TensorShape([None])))
    return specs


def _unique_kernel(op, ctx):
    xp = ctx.xp
    idx_np = op._attrs["out_idx"].np
    counts = op._attrs["counts"]

    def unique_(x):
        # TF orders the unique values by first occurrence; NumPy sorts them. Reorder.
        res = xp.unique(x, return_index=True, return_inverse=True, return_counts=counts)
        u, first, inv = res[:3]
        order = xp.argsort(first, kind="stable")
        rank_of = xp.empty_like(order)
        rank_of[order] = xp.arange(order.size)
        outs = (u[order], rank_of[inv.reshape(-1)].astype(idx_np))
        return outs + (res[3][order].astype(idx_np),) if counts else outs
    return unique_


register_op("Unique", infer=_unique_infer, kernel=_unique_kernel, grad=NOT_DIFFERENTIABLE)


def unique(x, out_idx=dtypes.int32, name=None):
    """The distinct values of 1-D ``x`` in order of first occurrence, and each entry's index.

    Returns:
        A namedtuple ``(y, idx)`` with ``x == gather(y, idx)``.

    Example:
        >>> y, idx = tf.unique([3, 1, 3, 2])    # y = [3, 1, 2], idx = [0, 1, 0, 2]
    """
    o = core.op("Unique", [convert_to_tensor(x)],
                {"out_idx": dtypes.as_dtype(out_idx), "counts": False}, name=name)
    return UniqueOutput(*o._outputs)


def unique_with_counts(x, out_idx=dtypes.int32, name=None):
    """Like :func:`unique`, plus how many times each distinct value occurs."""
    o = core.op("Unique", [convert_to_tensor(x)],
                {"out_idx": dtypes.as_dtype(out_idx), "counts": True},
                name=name or "UniqueWithCounts")
    return UniqueWithCountsOutput(*o._outputs)


# ----------------------------------------------------------------------------------------------
# TopKV2 (exported here as top_k; tf.nn.top_k in TF1)
# ----------------------------------------------------------------------------------------------
TopKOutput = collections.namedtuple("TopKV2", ["values", "indices"])


def _top_k_infer(op):
    x, k = op._inputs
    check_dtype(op, k, frozenset([dtypes.int32]), "k")
    if not (x.dtype.is_floating or x.dtype.is_integer):
        raise TypeError("top_k needs a real numeric input, got %s" % x.dtype.name)
    kv = _static_int(k)
    if kv is not None and kv < 0:
        raise ValueError("Need k >= 0, got %d" % kv)
    dims = x._shape.as_tuple()
    if dims is None:
        return [(x.dtype, unknown_shape()), (dtypes.int32, unknown_shape())]
    if not dims:
        raise ValueError("input must be at least 1-D, got a scalar")
    if kv is not None and dims[-1] is not None and dims[-1] < kv:
        raise ValueError("input must have last dimension >= k = %d but is %d" % (kv, dims[-1]))
    s = TensorShape(dims[:-1] + (kv,))
    return [(x.dtype, s), (dtypes.int32, s)]


def _top_k_smallest(xp, key, k):
    """Indices of the ``k`` smallest keys per row, ordered by (key, index), in O(n) + O(k log k).

    A partition finds each row's k-th key ``t``; all keys < t are taken, then the first
    (by index) of the keys == t until there are k; the k survivors are then sorted stably.
    """
    n = key.shape[-1]
    t = xp.partition(key, k - 1, axis=-1)[..., k - 1:k]
    less = key < t
    eq = key == t
    need = k - less.sum(axis=-1, keepdims=True)
    sel = less | (eq & (xp.cumsum(eq, axis=-1) <= need))
    cols = xp.nonzero(sel.reshape(-1, n))[1].reshape(key.shape[:-1] + (k,))
    order = xp.argsort(xp.take_along_axis(key, cols, axis=-1), axis=-1, kind="stable")
    return xp.take_along_axis(cols, order, axis=-1)


def _top_k_kernel(op, ctx):
    xp = ctx.xp
    k_static = _static_int(op._inputs[1])
    # An order-reversing key keeps the search ascending and stable: ties go to the lower index.
    negate = (lambda x: -x) if op._inputs[0].dtype.is_floating else (lambda x: ~x)

    def top_k_(x, k):
        kk = k_static if k_static is not None else int(k)
        n = x.shape[-1]
        if n < kk:
            raise ValueError("input must have at least k=%d columns, got %d" % (kk, n))
        if n >= 64 and 0 < kk * 8 <= n:
            idx = _top_k_smallest(xp, negate(x), kk)
        else:
            idx = xp.argsort(negate(x), axis=-1, kind="stable")[..., :kk]
        return xp.take_along_axis(x, idx, axis=-1), idx.astype(np.int32)
    return top_k_


def _top_k_grad(op, g_values, g_indices):
    """Scatters the values' gradient back to the positions they came from (flat ScatterNd)."""
    x = op._inputs[0]
    idx = op._outputs[1]
    in_dims = _shape_list(x)
    n = in_dims[-1]
    k = _shape_list(idx)[-1]
    idx2 = reshape(idx, [-1, k])
    rows = _shape_list(idx2)[0]
    offsets = range_(0, rows * n, n) if isinstance(rows * n, Tensor) or isinstance(n, Tensor) \
        else constant(np.arange(0, rows * n, n, dtype=np.int32))
    flat = reshape(idx2 + expand_dims(offsets, -1), [-1, 1])
    total = rows * n
    dense = scatter_nd(flat, reshape(g_values, [-1]), [total])
    return [reshape(dense, in_dims), None]


register_op("TopKV2", infer=_top_k_infer, kernel=_top_k_kernel, grad=_top_k_grad)


def top_k(input, k=1, sorted=True, name=None):  # noqa: A002 - TF1 argument names
    """The ``k`` largest entries of the last dimension, in descending order, and their indices.

    Ties go to the lower index. Returns a namedtuple ``(values, indices)`` (indices int32).

    Example:
        >>> values, indices = tf.nn.top_k(logits, k=5)
    """
    x = convert_to_tensor(input)
    kt = k if isinstance(k, Tensor) else constant(int(k), dtype=dtypes.int32)
    o = core.op("TopKV2", [x, kt], {"sorted": bool(sorted)}, name=name)
    return TopKOutput(*o._outputs)
