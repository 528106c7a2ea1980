"""Sparse tensors: ``tf.SparseTensor`` and the ops over it.

A ``SparseTensor`` is three dense tensors in coordinate (COO) form, as in TF1:
``indices`` (int64 ``[N, rank]``, one row per stored element), ``values`` (``[N]``)
and ``dense_shape`` (int64 ``[rank]``). It is not itself a graph tensor: ops take its
parts as inputs. Fetching one with ``sess.run`` gives a :class:`SparseTensorValue`
(a namedtuple of the three arrays).

Most ops expect indices in row-major (lexicographic) order without repeats, as TF's
kernels do; ``sparse_reorder`` sorts them. Values get gradients where TF1 gives
them (to_dense, reorder, reduce_sum, add, sparse x dense matmul); indices and shapes
never do.

Example:
    >>> sp = tf.SparseTensor(indices=[[0, 1], [2, 0]], values=[1.0, 2.0], dense_shape=[3, 2])
    >>> tf.sparse.to_dense(sp)          # [[0, 1], [0, 0], [2, 0]]
"""
import collections

import numpy as np

from ..framework import dtypes, errors
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape, unknown_shape
from ..runtime.fetch import register_fetch_conversion
from . import array_ops, core, math_ops
from .core import convert_to_tensor, out
from .shape_rules import INDEX, NUMERIC, check_dtype

__all__ = [
    "SparseTensor", "SparseTensorValue", "sparse_tensor_to_dense", "sparse_to_dense",
    "sparse_reorder", "sparse_reduce_sum", "sparse_tensor_dense_matmul", "sparse_add",
    "sparse_retain", "sparse_transpose", "sparse_matmul", "convert_to_tensor_or_sparse_tensor",
]

# The kernels are NumPy code: the placer keeps these ops on a CPU device.
_CPU = ("CPU",)

SparseTensorValue = collections.namedtuple("SparseTensorValue",
                                           ["indices", "values", "dense_shape"])
SparseTensorValue.__doc__ = "The value of a fetched ``SparseTensor``: three NumPy arrays."


class SparseTensor:
    """A sparse tensor: ``values[i]`` sits at ``indices[i]`` of a ``dense_shape`` tensor.

    Args:
        indices: int64 ``[N, rank]`` coordinates of the stored values.
        values: ``[N]`` values, of any dtype.
        dense_shape: int64 ``[rank]`` shape of the dense tensor represented.

    Raises:
        ValueError: the three parts have inconsistent static shapes.

    Example:
        >>> sp = tf.SparseTensor([[0, 0], [1, 2]], [1.0, 2.0], [3, 4])
        >>> sess.run(sp)    # SparseTensorValue(indices=..., values=..., dense_shape=...)
    """

    def __init__(self, indices, values, dense_shape):
        self._indices = convert_to_tensor(indices, dtype=dtypes.int64, name="indices")
        with self._indices.graph.as_default():
            self._values = convert_to_tensor(values, name="values")
            self._dense_shape = convert_to_tensor(dense_shape, dtype=dtypes.int64,
                                                  name="dense_shape")
        ishape = self._indices._shape.with_rank(2)
        vshape = self._values._shape.with_rank(1)
        sshape = self._dense_shape._shape.with_rank(1)
        ishape[0].merge_with(vshape[0])  # as many values as index rows
        ishape[1].merge_with(sshape[0])  # as many index columns as dimensions

    @classmethod
    def from_value(cls, value):
        """A SparseTensor of constants from a :class:`SparseTensorValue` (or a SparseTensor)."""
        if isinstance(value, SparseTensor):
            return value
        return cls(value.indices, value.values, value.dense_shape)

    @property
    def indices(self):
        return self._indices

    @property
    def values(self):
        return self._values

    @property
    def dense_shape(self):
        return self._dense_shape

    @property
    def dtype(self):
        return self._values.dtype

    @property
    def graph(self):
        return self._indices.graph

    @property
    def op(self):
        return self._values.op

    @property
    def shape(self):
        """The static dense shape (dimensions known while the graph is built)."""
        return core.constant_value_as_shape(self._dense_shape)

    def get_shape(self):
        return self.shape

    def consumers(self):
        return sorted(set(self._indices.consumers() + self._values.consumers()
                          + self._dense_shape.consumers()), key=lambda o: o._id)

    def eval(self, feed_dict=None, session=None):
        """Computes this sparse tensor in ``session`` (or the default one): a SparseTensorValue."""
        from ..runtime.session import _session_for
        return _session_for(session, self._values).run(self, feed_dict)

    def __repr__(self):
        return "SparseTensor(indices=%s, values=%s, dense_shape=%s)" % (
            self._indices, self._values, self._dense_shape)


def _fetch_sparse(sp):
    return [sp.indices, sp.values, sp.dense_shape], lambda parts: SparseTensorValue(*parts)


register_fetch_conversion(SparseTensor, _fetch_sparse)


def _no_dense_conversion(value, dtype=None, name=None, as_ref=False):
    raise TypeError("Cannot convert a SparseTensor to a dense Tensor implicitly (dense shape %s); "
                    "use tf.sparse_tensor_to_dense / tf.sparse.to_dense" % (value.shape,))


core.register_tensor_conversion_function(SparseTensor, _no_dense_conversion)


def _as_sparse(sp, what="sp_input"):
    if isinstance(sp, SparseTensorValue):
        return SparseTensor.from_value(sp)
    if not isinstance(sp, SparseTensor):
        raise TypeError("Input %s must be a SparseTensor, got %r" % (what, sp))
    return sp


def convert_to_tensor_or_sparse_tensor(value, dtype=None, name=None):
    """A SparseTensor (a SparseTensorValue becomes one) or else a dense Tensor."""
    if isinstance(value, SparseTensorValue):
        value = SparseTensor.from_value(value)
    if isinstance(value, SparseTensor):
        if dtype is not None and dtypes.as_dtype(dtype) is not value.dtype:
            raise ValueError("Sparse dtype: requested = %s, actual = %s"
                             % (dtypes.as_dtype(dtype).name, value.dtype.name))
        return value
    return convert_to_tensor(value, dtype=dtype, name=name)


# ----------------------------------------------------------------------------------------------
# Index checks shared by the kernels (TF's messages)
# ----------------------------------------------------------------------------------------------
def _fmt(row):
    return ",".join(str(int(i)) for i in row)


def _check_in_bounds(indices, shape):
    """Raises InvalidArgumentError for the first index row outside ``shape``."""
    if not indices.size:
        return
    bad = ((indices < 0) | (indices >= np.asarray(shape, np.int64))).any(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise errors.InvalidArgumentError(
            None, None, "indices[%d] = [%s] is out of bounds: need 0 <= index < [%s]"
            % (i, _fmt(indices[i]), _fmt(shape)))


def _check_ordered(indices):
    """Raises InvalidArgumentError unless index rows are strictly increasing (row-major)."""
    if len(indices) < 2:
        return
    a, b = indices[:-1], indices[1:]
    diff = a != b
    first = np.argmax(diff, axis=1)  # first differing column of each consecutive pair
    rows = np.arange(len(a))
    equal = ~diff.any(axis=1)
    descending = ~equal & (a[rows, first] > b[rows, first])
    bad = equal | descending
    if bad.any():
        i = int(np.argmax(bad))
        what = "is repeated" if equal[i] else (
            "is out of order. Many sparse ops require sorted indices.\n    Use "
            "`tf.sparse.reorder` to create a correctly ordered copy.")
        raise errors.InvalidArgumentError(None, None, "indices[%d] = [%s] %s"
                                          % (i + 1, _fmt(indices[i + 1]), what))


def _row_major_order(indices, shape):
    """The permutation sorting index rows lexicographically (a stable sort)."""
    if indices.shape[1] == 0:
        return np.arange(len(indices))
    return np.lexsort(indices.T[::-1])


def _static_dense_shape(t):
    return core.constant_value_as_shape(t)


# ----------------------------------------------------------------------------------------------
# SparseToDense (sparse_to_dense, sparse_tensor_to_dense)
# ----------------------------------------------------------------------------------------------
def _sparse_to_dense_infer(op):
    idx, shape, values, default = op._inputs
    check_dtype(op, idx, INDEX, "sparse_indices")
    check_dtype(op, shape, INDEX, "output_shape")
    if values.dtype is not default.dtype:
        raise TypeError("Input 'default_value' of 'SparseToDense' Op has type %s that does not "
                        "match type %s of argument 'sparse_values'."
                        % (default.dtype.name, values.dtype.name))
    if default._shape.ndims not in (None, 0):
        raise ValueError("default_value should be a scalar, got shape %s" % default._shape)
    return [(values.dtype, _static_dense_shape(shape))]


def _sparse_to_dense_kernel(op, ctx):
    validate = op._attrs["validate_indices"]

    def sparse_to_dense(indices, shape, values, default):
        shape = np.asarray(shape, np.int64).reshape(-1)
        idx = np.asarray(indices, np.int64)
        idx = idx.reshape(-1, 1) if idx.ndim < 2 else idx  # a scalar or vector: 1-D output
        if idx.shape[1] != shape.size:
            raise errors.InvalidArgumentError(
                None, None, "sparse_indices has %d columns but output_shape has %d dimensions"
                % (idx.shape[1], shape.size))
        if values.ndim and values.shape[0] != idx.shape[0]:
            raise errors.InvalidArgumentError(
                None, None, "sparse_values has incorrect shape %s, should be [] or [%d]"
                % (list(values.shape), idx.shape[0]))
        _check_in_bounds(idx, shape)
        if validate:
            _check_ordered(idx)
        dense = np.full(tuple(shape), default, dtype=values.dtype)
        dense[tuple(idx.T)] = values
        return dense
    return sparse_to_dense


def _sparse_to_dense_grad(op, g):
    idx = op._inputs[0]
    values_grad = array_ops.gather_nd(g, idx) if idx._shape.ndims == 2 else array_ops.gather(g, idx)
    default_grad = math_ops.reduce_sum(g) - math_ops.reduce_sum(values_grad)
    return [None, None, values_grad, default_grad]


register_op("SparseToDense", infer=_sparse_to_dense_infer, kernel=_sparse_to_dense_kernel,
            grad=_sparse_to_dense_grad, device_types=_CPU)


def sparse_to_dense(sparse_indices, output_shape, sparse_values, default_value=0,
                    validate_indices=True, name=None):
    """A dense tensor of ``output_shape`` holding ``sparse_values`` at ``sparse_indices``.

    Args:
        sparse_indices: int ``[N, rank]`` (or ``[N]``/scalar for a 1-D output) coordinates.
        output_shape: int ``[rank]`` dense shape.
        sparse_values: ``[N]`` values, or a scalar used for every index.
        default_value: the value everywhere else.
        validate_indices: require sorted indices without repeats (as TF).
        name: op name.

    Raises:
        InvalidArgumentError: (at run time) an index is out of bounds, repeated or out of order.
    """
    values = convert_to_tensor(sparse_values)
    with values.graph.as_default():
        idx = array_ops._index_tensor(sparse_indices)
        shape = array_ops._index_tensor(output_shape)
        default = convert_to_tensor(default_value, dtype=values.dtype)
    return out("SparseToDense", [idx, shape, values, default],
               {"validate_indices": bool(validate_indices)}, name=name)


def sparse_tensor_to_dense(sp_input, default_value=None, validate_indices=True, name=None):
    """The dense tensor ``sp_input`` represents (``default_value``, 0 by default, elsewhere).

    Example:
        >>> tf.sparse_tensor_to_dense(tf.SparseTensor([[1]], [5], [3]))   # [0, 5, 0]
    """
    sp = _as_sparse(sp_input)
    if default_value is None:
        default_value = b"" if sp.dtype is dtypes.string else 0
    return sparse_to_dense(sp.indices, sp.dense_shape, sp.values, default_value,
                           validate_indices, name=name)


# ----------------------------------------------------------------------------------------------
# SparseReorder
# ----------------------------------------------------------------------------------------------
def _sparse_infer_parts(op):
    idx, values, shape = op._inputs[:3]
    check_dtype(op, idx, {dtypes.int64}, "input_indices")
    check_dtype(op, shape, {dtypes.int64}, "input_shape")
    return idx, values, shape


def _sparse_reorder_infer(op):
    idx, values, _ = _sparse_infer_parts(op)
    return [(dtypes.int64, idx._shape), (values.dtype, values._shape)]


def _sparse_reorder_kernel(op, ctx):
    def sparse_reorder(indices, values, shape):
        _check_in_bounds(indices, shape)
        perm = _row_major_order(indices, shape)
        return indices[perm], values[perm]
    return sparse_reorder


def _sparse_reorder_grad(op, g_indices, g_values):
    # The permutation applied, recovered by reordering the entry numbers 0..N-1 the same way.
    idx, _, shape = op._inputs
    entries = array_ops.range_(array_ops.shape(idx, out_type=dtypes.int64)[0])
    order = out("SparseReorder", [idx, entries, shape], {}).op._outputs[1]
    return [None, array_ops.gather(g_values, array_ops.invert_permutation(order)), None]


register_op("SparseReorder", infer=_sparse_reorder_infer, kernel=_sparse_reorder_kernel,
            grad=_sparse_reorder_grad, device_types=_CPU)


def sparse_reorder(sp_input, name=None):
    """The same sparse tensor with its entries in row-major (lexicographic index) order."""
    sp = _as_sparse(sp_input)
    o = core.op("SparseReorder", [sp.indices, sp.values, sp.dense_shape], name=name)
    return SparseTensor(o._outputs[0], o._outputs[1], sp.dense_shape)


# ----------------------------------------------------------------------------------------------
# SparseReduceSum
# ----------------------------------------------------------------------------------------------
def _reduced_axes(axes, rank):
    return sorted({int(a) % rank for a in np.reshape(axes, [-1])}) if rank else []


def _sparse_reduce_infer(op):
    idx, values, shape = _sparse_infer_parts(op)
    check_dtype(op, values, NUMERIC, "input_values")
    dense = _static_dense_shape(shape)
    axes = core.constant_value(op._inputs[3])
    keep = op._attrs["keep_dims"]
    if dense.ndims is None or axes is None:
        return [(values.dtype, unknown_shape())]
    rank = dense.ndims
    for a in np.reshape(axes, [-1]):
        if not -rank <= a < rank:
            raise ValueError("Invalid reduction dimension %d for input with %d dimensions"
                             % (a, rank))
    red = set(_reduced_axes(axes, rank))
    dims = dense.as_tuple()
    return [(values.dtype, TensorShape([1 if i in red else d for i, d in enumerate(dims)] if keep
                                       else [d for i, d in enumerate(dims) if i not in red]))]


def _sparse_reduce_kernel(op, ctx):
    keep = op._attrs["keep_dims"]

    def sparse_reduce_sum(indices, values, shape, axes):
        rank = shape.size
        for a in np.reshape(axes, [-1]):
            if not -rank <= a < rank:
                raise errors.InvalidArgumentError(
                    None, None, "Invalid reduction dimension %d, for input with %d dimensions."
                    % (a, rank))
        _check_in_bounds(indices, shape)
        red = _reduced_axes(axes, rank)
        kept = [i for i in range(rank) if i not in red]
        if kept:
            out_ = np.zeros(tuple(int(shape[i]) for i in kept), dtype=values.dtype)
            np.add.at(out_, tuple(indices[:, i] for i in kept), values)
        else:
            out_ = np.asarray(np.sum(values, dtype=values.dtype))
        if keep:
            out_ = out_.reshape([1 if i in red else int(shape[i]) for i in range(rank)])
        return out_
    return sparse_reduce_sum


def _sparse_reduce_grad(op, g):
    # Each value's gradient is the output gradient at its index with the reduced axes at 0:
    # dividing an index by the input shape over the kept-dims output shape does exactly that.
    idx, _, shape, axes = op._inputs
    g = convert_to_tensor(g)
    rank = array_ops.size(shape)
    axes = array_ops.reshape(axes, [-1])
    axes64 = math_ops.cast(math_ops.floormod(axes, math_ops.cast(rank, axes.dtype)), dtypes.int64)
    reduced = math_ops.reduce_any(math_ops.equal(array_ops.expand_dims(
        array_ops.range_(math_ops.cast(rank, dtypes.int64)), 1), axes64[None, :]), axis=1)
    kept_shape = math_ops.where(reduced, array_ops.ones_like(shape), shape)
    g_kept = array_ops.reshape(g, kept_shape)
    scale = math_ops.floordiv(shape, kept_shape)
    return [None, array_ops.gather_nd(g_kept, math_ops.floordiv(idx, scale)), None, None]


register_op("SparseReduceSum", infer=_sparse_reduce_infer, kernel=_sparse_reduce_kernel,
            grad=_sparse_reduce_grad, device_types=_CPU)


def sparse_reduce_sum(sp_input, axis=None, keepdims=None, reduction_axes=None, keep_dims=None):
    """Sums a SparseTensor's values over ``axis`` (all axes if None); the result is dense.

    Args:
        sp_input: the SparseTensor.
        axis: an int or list of ints (negative counts from the end); ``reduction_axes`` is
            its deprecated name.
        keepdims: keep reduced axes with length 1 (``keep_dims`` is the deprecated name).

    Example:
        >>> tf.sparse_reduce_sum(sp, axis=1)
    """
    sp = _as_sparse(sp_input)
    if axis is None:
        axis = reduction_axes
    if keep_dims is not None:
        keepdims = keep_dims
    with sp.graph.as_default():
        if axis is None:
            axes = array_ops.range_(0, array_ops.size(sp.dense_shape))
        else:
            axes = array_ops._index_tensor(axis)
    return out("SparseReduceSum", [sp.indices, sp.values, sp.dense_shape, axes],
               {"keep_dims": bool(keepdims)})


# ----------------------------------------------------------------------------------------------
# SparseTensorDenseMatMul
# ----------------------------------------------------------------------------------------------
def _spmm_infer(op):
    idx, values, shape, b = op._inputs
    check_dtype(op, idx, INDEX, "a_indices")
    check_dtype(op, shape, {dtypes.int64}, "a_shape")
    if values.dtype is not b.dtype:
        raise TypeError("Input 'b' of 'SparseTensorDenseMatMul' Op has type %s that does not "
                        "match type %s of argument 'a_values'." % (b.dtype.name, values.dtype.name))
    a_dims = _static_dense_shape(shape)
    if a_dims.ndims not in (None, 2):
        raise ValueError("Shape must be rank 2 but is rank %d for 'a_shape' of "
                         "SparseTensorDenseMatMul" % a_dims.ndims)
    b_dims = b._shape.with_rank(2).as_tuple()
    adj_a, adj_b = op._attrs["adjoint_a"], op._attrs["adjoint_b"]
    m, k1 = ((None, None) if a_dims.ndims is None else
             (a_dims.as_tuple()[::-1] if adj_a else a_dims.as_tuple()))
    k2, n = b_dims[::-1] if adj_b else b_dims
    if k1 is not None and k2 is not None and k1 != k2:
        raise ValueError("Dimensions must be equal, but are %d and %d for "
                         "SparseTensorDenseMatMul (a: %s, b: %s)" % (k1, k2, a_dims, b._shape))
    return [(values.dtype, TensorShape([m, n]))]


def _spmm_kernel(op, ctx):
    adj_a, adj_b = op._attrs["adjoint_a"], op._attrs["adjoint_b"]

    def sparse_dense_matmul(indices, values, shape, b):
        rows, cols = indices[:, 0], indices[:, 1]
        m = int(shape[0])
        if adj_a:
            rows, cols, m = cols, rows, int(shape[1])
            values = np.conj(values)
        bb = np.conj(b.T) if adj_b else b
        k = bb.shape[0]
        if cols.size and (cols.min() < 0 or cols.max() >= k):
            j = int(np.argmax((cols < 0) | (cols >= k)))
            raise errors.InvalidArgumentError(
                None, None, "k (%d) from index[%d,%d] out of bounds (>=%d)"
                % (int(cols[j]), j, 0 if adj_a else 1, k))
        if rows.size and (rows.min() < 0 or rows.max() >= m):
            j = int(np.argmax((rows < 0) | (rows >= m)))
            raise errors.InvalidArgumentError(
                None, None, "m (%d) from index[%d,%d] out of bounds (>=%d)"
                % (int(rows[j]), j, 1 if adj_a else 0, m))
        res = np.zeros((m, bb.shape[1]), dtype=np.result_type(values, bb))
        np.add.at(res, rows, values[:, None] * bb[cols])
        return res
    return sparse_dense_matmul


def _spmm_grad(op, g):
    idx, values, shape, b = op._inputs
    adj_a, adj_b = op._attrs["adjoint_a"], op._attrs["adjoint_b"]
    # d b: A^T (A^H) times g, itself a sparse-dense product.
    gb = out("SparseTensorDenseMatMul", [idx, values, shape, g],
             {"adjoint_a": not adj_a, "adjoint_b": False})
    if adj_b:
        gb = math_ops.conj(array_ops.transpose(gb))
    # d a[i, j] (entry e): the dot product of g's output row and b's row for the entry.
    rows, cols = idx[:, 0], idx[:, 1]
    if adj_a:
        rows, cols = cols, rows
    bb = math_ops.conj(array_ops.transpose(b)) if adj_b else b
    ga = math_ops.reduce_sum(array_ops.gather(g, rows) * array_ops.gather(bb, cols), axis=1)
    if adj_a:
        ga = math_ops.conj(ga)
    return [None, ga, None, gb]


register_op("SparseTensorDenseMatMul", infer=_spmm_infer, kernel=_spmm_kernel, grad=_spmm_grad,
            device_types=_CPU)


def sparse_tensor_dense_matmul(sp_a, b, adjoint_a=False, adjoint_b=False, name=None):
    """The dense product of a rank-2 SparseTensor ``sp_a`` and a dense matrix ``b``.

    Args:
        sp_a: SparseTensor ``[M, K]`` (``[K, M]`` with ``adjoint_a``); any index order.
        b: dense ``[K, N]`` (``[N, K]`` with ``adjoint_b``) of the same dtype.
        adjoint_a, adjoint_b: use the (conjugate) transpose of that operand.

    Returns:
        A dense ``[M, N]`` tensor.
    """
    sp = _as_sparse(sp_a, "sp_a")
    with sp.graph.as_default():
        b = convert_to_tensor(b, dtype=sp.dtype, name="b")
    return out("SparseTensorDenseMatMul", [sp.indices, sp.values, sp.dense_shape, b],
               {"adjoint_a": bool(adjoint_a), "adjoint_b": bool(adjoint_b)}, name=name)


def sparse_matmul(a, b, transpose_a=False, transpose_b=False, a_is_sparse=False,
                  b_is_sparse=False, name=None):
    """TF1 ``tf.sparse_matmul``: a dense matmul whose sparsity hints are ignored."""
    return math_ops.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b, name=name)


# ----------------------------------------------------------------------------------------------
# SparseAdd / SparseAddGrad / SparseTensorDenseAdd
# ----------------------------------------------------------------------------------------------
def _row_keys(indices):
    """One opaque, hashable-by-bytes key per index row (for exact matching of rows)."""
    idx = np.ascontiguousarray(indices, dtype=np.int64)
    return idx.view(np.dtype((np.void, 8 * idx.shape[1]))).reshape(-1)


def _sparse_add_infer(op):
    a_idx, a_val, a_shape, b_idx, b_val, b_shape, thresh = op._inputs
    for t, n in ((a_idx, "a_indices"), (b_idx, "b_indices"), (a_shape, "a_shape"),
                 (b_shape, "b_shape")):
        check_dtype(op, t, {dtypes.int64}, n)
    check_dtype(op, a_val, NUMERIC, "a_values")
    if b_val.dtype is not a_val.dtype:
        raise TypeError("Input 'b_values' of 'SparseAdd' Op has type %s that does not match "
                        "type %s of argument 'a_values'." % (b_val.dtype.name, a_val.dtype.name))
    sa, sb = _static_dense_shape(a_shape), _static_dense_shape(b_shape)
    if not sa.is_compatible_with(sb):
        raise ValueError("Operands do not have the same dense shape: %s and %s" % (sa, sb))
    rank = a_idx._shape.with_rank(2)[1]
    return [(dtypes.int64, TensorShape([None, rank])), (a_val.dtype, TensorShape([None])),
            (dtypes.int64, a_shape._shape)]


def _sparse_add_kernel(op, ctx):
    def sparse_add(a_idx, a_val, a_shape, b_idx, b_val, b_shape, thresh):
        if not np.array_equal(a_shape, b_shape):
            raise errors.InvalidArgumentError(
                None, None, "Operands do not have the same ranks; got shapes: [%s] and [%s]"
                % (_fmt(a_shape), _fmt(b_shape)))
        _check_in_bounds(a_idx, a_shape)
        _check_in_bounds(b_idx, b_shape)
        idx = np.concatenate([a_idx, b_idx]).astype(np.int64, copy=False)
        vals = np.concatenate([a_val, b_val])
        order = _row_major_order(idx, a_shape)
        idx, vals = idx[order], vals[order]
        new = np.ones(len(idx), bool)
        if len(idx) > 1:
            new[1:] = (idx[1:] != idx[:-1]).any(axis=1)
        starts = np.flatnonzero(new)
        sums = np.add.reduceat(vals, starts) if len(vals) else vals
        keep = np.abs(sums) >= thresh
        return idx[starts][keep], sums[keep].astype(a_val.dtype, copy=False), a_shape
    return sparse_add


def _sparse_add_grad(op, g_idx, g_val, g_shape):
    a_idx, _, _, b_idx = op._inputs[:4]
    ga, gb = core.op("SparseAddGrad", [g_val, a_idx, b_idx, op._outputs[0]])._outputs
    return [None, ga, None, None, gb, None, None]


register_op("SparseAdd", infer=_sparse_add_infer, kernel=_sparse_add_kernel,
            grad=_sparse_add_grad, device_types=_CPU)


def _sparse_add_grad_kernel(op, ctx):
    def sparse_add_grad(g, a_idx, b_idx, sum_idx):
        keys = _row_keys(sum_idx)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]

        def pick(idx):
            k = _row_keys(idx)
            pos = np.clip(np.searchsorted(sorted_keys, k), 0, max(len(keys) - 1, 0))
            if not len(keys):
                return np.zeros(len(idx), g.dtype)
            hit = sorted_keys[pos] == k  # entries dropped by the threshold get no gradient
            return np.where(hit, g[order[pos]], np.zeros((), g.dtype))
        return pick(a_idx), pick(b_idx)
    return sparse_add_grad


register_op("SparseAddGrad",
            infer=lambda op: [(op._inputs[0].dtype, TensorShape([op._inputs[1]._shape[0]])),
                              (op._inputs[0].dtype, TensorShape([op._inputs[2]._shape[0]]))],
            kernel=_sparse_add_grad_kernel, grad=NOT_DIFFERENTIABLE, device_types=_CPU,
            doc="The gradient of SparseAdd's sum values, routed back to each operand's entries.")


def _sparse_dense_add_infer(op):
    idx, values, shape, b = op._inputs
    check_dtype(op, idx, INDEX, "a_indices")
    if values.dtype is not b.dtype:
        raise TypeError("Input 'b' of 'SparseTensorDenseAdd' Op has type %s that does not match "
                        "type %s of argument 'a_values'." % (b.dtype.name, values.dtype.name))
    return [(b.dtype, b._shape.merge_with(_static_dense_shape(shape)))]


def _sparse_dense_add_kernel(op, ctx):
    def sparse_dense_add(indices, values, shape, b):
        if tuple(shape) != b.shape:
            raise errors.InvalidArgumentError(
                None, None, "Dimension mismatch: sparse shape [%s] vs dense shape %s"
                % (_fmt(shape), list(b.shape)))
        _check_in_bounds(indices, shape)
        res = np.array(b, copy=True)
        np.add.at(res, tuple(indices.T), values)
        return res
    return sparse_dense_add


register_op("SparseTensorDenseAdd", infer=_sparse_dense_add_infer, kernel=_sparse_dense_add_kernel,
            grad=lambda op, g: [None, array_ops.gather_nd(g, op._inputs[0]), None, g],
            device_types=_CPU)


def sparse_add(a, b, threshold=None, thresh=None):
    """``a + b`` where at least one operand is a SparseTensor.

    Two SparseTensors give a SparseTensor (entries at the same index add up; a sum whose
    magnitude is below ``threshold`` is dropped; indices come out in row-major order). A
    SparseTensor and a dense tensor give a dense tensor.

    Args:
        a, b: SparseTensors, or one SparseTensor and one dense tensor, of one dtype and shape.
        threshold: the magnitude below which a summed entry is dropped (default 0: keep all).
        thresh: the deprecated name of ``threshold``.
    """
    if threshold is None:
        threshold = 0 if thresh is None else thresh
    a_sparse = isinstance(a, (SparseTensor, SparseTensorValue))
    b_sparse = isinstance(b, (SparseTensor, SparseTensorValue))
    if not a_sparse and not b_sparse:
        raise TypeError("At least one input should be SparseTensor; do you mean to use tf.add?")
    if a_sparse and b_sparse:
        a, b = _as_sparse(a, "a"), _as_sparse(b, "b")
        with a.graph.as_default():
            t = convert_to_tensor(threshold, dtype=a.dtype.real_dtype, name="threshold")
        o = core.op("SparseAdd", [a.indices, a.values, a.dense_shape, b.indices, b.values,
                                  b.dense_shape, t])
        return SparseTensor(*o._outputs)
    sp, dense = (_as_sparse(a, "a"), b) if a_sparse else (_as_sparse(b, "b"), a)
    with sp.graph.as_default():
        dense = convert_to_tensor(dense, dtype=sp.dtype)
    return out("SparseTensorDenseAdd", [sp.indices, sp.values, sp.dense_shape, dense])


# ----------------------------------------------------------------------------------------------
# Compositions: from_dense, retain, transpose
# ----------------------------------------------------------------------------------------------
def from_dense(tensor, name=None):
    """The SparseTensor of the nonzero entries of dense ``tensor`` (``tf.sparse.from_dense``)."""
    x = convert_to_tensor(tensor)
    with x.graph.as_default():
        zero = b"" if x.dtype is dtypes.string else 0
        indices = math_ops.where(math_ops.not_equal(x, core.constant(zero, dtype=x.dtype)))
        return SparseTensor(indices, array_ops.gather_nd(x, indices, name=name),
                            array_ops.shape(x, out_type=dtypes.int64))


def sparse_retain(sp_input, to_retain):
    """The entries of ``sp_input`` where the bool vector ``to_retain`` is True (same shape)."""
    sp = _as_sparse(sp_input)
    with sp.graph.as_default():
        keep = convert_to_tensor(to_retain, dtype=dtypes.bool_)
        if keep._shape.ndims not in (None, 1):
            raise ValueError("to_retain must be a vector, got shape %s" % keep._shape)
        where = array_ops.reshape(math_ops.where(keep), [-1])
        return SparseTensor(array_ops.gather(sp.indices, where),
                            array_ops.gather(sp.values, where), sp.dense_shape)


def sparse_transpose(sp_input, perm=None, name=None):
    """Permutes the dimensions of a SparseTensor (reversed by default); output is reordered."""
    sp = _as_sparse(sp_input)
    with sp.graph.as_default():
        if perm is None:
            rank = array_ops.size(sp.dense_shape)
            perm = array_ops.range_(rank - 1, -1, -1)
        perm = array_ops._index_tensor(perm)
        indices = array_ops.gather(sp.indices, perm, axis=1)
        shape = array_ops.gather(sp.dense_shape, perm)
        return sparse_reorder(SparseTensor(indices, sp.values, shape), name=name)
