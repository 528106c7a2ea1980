"""``tf.RaggedTensor`` (ragged rank 1): rows of different lengths, as TF represents them.

A ragged tensor is a flat ``values`` tensor cut into rows by ``row_splits`` (int64, one
more than the rows: row ``i`` is ``values[row_splits[i]:row_splits[i + 1]]``). It is not a
graph tensor: ops take its parts, and ``sess.run`` gives a :class:`RaggedTensorValue`.
Gradients flow through ``values``; the row partition is integer bookkeeping. This covers
what text pipelines use (``from_sparse``/``to_sparse``/``to_tensor``, ``row_lengths``,
``flat_values``, lookups on the values), not nested raggedness.

Example:
    >>> rt = tf.RaggedTensor.from_row_splits([3, 1, 4, 1, 5], [0, 2, 2, 5])
    >>> sess.run(rt.row_lengths())        # [2, 0, 3]
"""
import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Tensor, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape
from ..runtime.fetch import register_fetch_conversion
from . import core
from .sparse_ops import SparseTensor

__all__ = ["RaggedTensor", "RaggedTensorValue"]

_CPU = ("CPU",)


def _check_splits(splits, n_values):
    s = np.asarray(splits, np.int64)
    if s.ndim != 1 or s.size < 1 or s[0] != 0 or np.any(np.diff(s) < 0) or \
            (n_values is not None and s[-1] != n_values):
        raise errors.InvalidArgumentError(
            None, None, "row_splits must be a non-decreasing vector starting at 0 and ending at "
            "the number of values (%s), got %s" % (n_values, s.tolist()))
    return s


def _rowids_kernel(op, ctx):
    def ragged_value_rowids(splits):
        s = _check_splits(splits, None)
        return np.repeat(np.arange(len(s) - 1, dtype=np.int64), np.diff(s))
    return ragged_value_rowids


def _splits_kernel(op, ctx):
    def ragged_row_splits_from_rowids(rowids, nrows):
        r = np.asarray(rowids, np.int64)
        n = int(nrows)
        if r.size and (np.any(np.diff(r) < 0) or r[0] < 0 or r[-1] >= n):
            raise errors.InvalidArgumentError(
                None, None, "value_rowids must be sorted and in [0, nrows=%d), got %s"
                % (n, r.tolist()))
        return np.concatenate([[0], np.cumsum(np.bincount(r, minlength=n))]).astype(np.int64)
    return ragged_row_splits_from_rowids


def _check_values_kernel(op, ctx):
    def ragged_check(values, splits):
        _check_splits(splits, np.shape(values)[0])
        return values
    return ragged_check


register_op("RaggedValueRowIds", infer=lambda op: [(dtypes.int64, TensorShape([None]))],
            kernel=_rowids_kernel, grad=NOT_DIFFERENTIABLE, device_types=_CPU,
            doc="The row of each value of a ragged tensor, from its row_splits.")
register_op("RaggedRowSplitsFromRowIds", infer=lambda op: [(dtypes.int64, TensorShape([None]))],
            kernel=_splits_kernel, grad=NOT_DIFFERENTIABLE, device_types=_CPU,
            doc="row_splits from sorted value row ids and the number of rows.")
register_op("RaggedCheckSplits", infer=lambda op: [(op._inputs[0].dtype, op._inputs[0].shape)],
            kernel=_check_values_kernel, grad=lambda op, g: [g, None], device_types=_CPU,
            doc="Its values input, after checking that row_splits partitions them.")


def _int64(t, name):
    t = t if isinstance(t, Tensor) else core.convert_to_tensor(t, dtype=dtypes.int64, name=name)
    if t.dtype is dtypes.int32:
        from .math_ops import cast
        t = cast(t, dtypes.int64)
    if t.dtype is not dtypes.int64:
        raise TypeError("%s must be int64, got %s" % (name, t.dtype.name))
    return t


class RaggedTensor:
    """Rows of different lengths: ``values`` partitioned by ``row_splits``."""

    def __init__(self, values, row_splits, internal=False):
        if not internal:
            raise ValueError("Build a RaggedTensor with RaggedTensor.from_row_splits, "
                             "from_row_lengths, from_value_rowids or from_sparse")
        self._values = values
        self._row_splits = row_splits

    # --- construction ---
    @classmethod
    def from_row_splits(cls, values, row_splits, name=None, validate=True):
        with name_scope(name, "RaggedFromRowSplits"):
            values = values if isinstance(values, Tensor) else core.convert_to_tensor(
                values, name="values")
            values.shape.with_rank_at_least(1)
            splits = _int64(row_splits, "row_splits")
            splits.shape.with_rank(1)
            if validate:
                values = core.out("RaggedCheckSplits", [values, splits], {})
            return cls(values, splits, internal=True)

    @classmethod
    def from_row_lengths(cls, values, row_lengths, name=None, validate=True):
        from .array_ops import concat
        from .reduction_ops import cumsum
        with name_scope(name, "RaggedFromRowLengths"):
            lengths = _int64(row_lengths, "row_lengths")
            splits = concat([core.convert_to_tensor([0], dtype=dtypes.int64), cumsum(lengths)],
                            0)
            return cls.from_row_splits(values, splits, validate=validate)

    @classmethod
    def from_value_rowids(cls, values, value_rowids, nrows=None, name=None, validate=True):
        from .array_ops import concat
        from .reduction_ops import reduce_max
        with name_scope(name, "RaggedFromValueRowIds"):
            rowids = _int64(value_rowids, "value_rowids")
            if nrows is None:  # one past the last row id (0 without values)
                nrows = reduce_max(concat([rowids + 1, core.convert_to_tensor(
                    [0], dtype=dtypes.int64)], 0))
            splits = core.out("RaggedRowSplitsFromRowIds", [rowids, _int64(nrows, "nrows")], {})
            return cls.from_row_splits(values, splits, validate=validate)

    @classmethod
    def from_sparse(cls, st_input, name=None):
        """The rows of a 2-D SparseTensor (indices in row-major order), values left-aligned."""
        if not isinstance(st_input, SparseTensor):
            raise TypeError("from_sparse expects a SparseTensor, got %r" % (st_input,))
        st_input.indices.shape.with_rank(2)[1].merge_with(2)
        from .slicing_ops import strided_slice
        with name_scope(name, "RaggedFromSparse"):
            rows = strided_slice(st_input.indices, [0, 0], [0, 1], end_mask=1,
                                 shrink_axis_mask=2)
            nrows = strided_slice(st_input.dense_shape, [0], [1], shrink_axis_mask=1)
            splits = core.out("RaggedRowSplitsFromRowIds", [rows, nrows], {})
            return cls(st_input.values, splits, internal=True)

    # --- parts ---
    @property
    def values(self):
        return self._values

    @property
    def flat_values(self):
        return self._values

    @property
    def row_splits(self):
        return self._row_splits

    @property
    def nested_row_splits(self):
        return (self._row_splits,)

    @property
    def ragged_rank(self):
        return 1

    @property
    def dtype(self):
        return self._values.dtype

    @property
    def graph(self):
        return self._values.graph

    @property
    def shape(self):
        n = self._row_splits.shape.with_rank(1)[0].value
        return TensorShape([None if n is None else n - 1, None]).concatenate(
            self._values.shape[1:])

    def get_shape(self):
        return self.shape

    def nrows(self, out_type=dtypes.int64, name=None):
        from .array_ops import shape
        return shape(self._row_splits, out_type=out_type)[0] - 1

    def row_lengths(self, name=None):
        """The length of each row (int64)."""
        return self._row_splits[1:] - self._row_splits[:-1]

    def row_starts(self, name=None):
        return self._row_splits[:-1]

    def row_limits(self, name=None):
        return self._row_splits[1:]

    def value_rowids(self, name=None):
        return core.out("RaggedValueRowIds", [self._row_splits], {}, name=name)

    def with_values(self, new_values):
        return RaggedTensor(new_values, self._row_splits, internal=True)

    def with_flat_values(self, new_values):
        return self.with_values(new_values)

    # --- conversions ---
    def to_sparse(self, name=None):
        """A SparseTensor of dense shape ``[nrows, longest row] + values.shape[1:]``."""
        from .array_ops import concat, range_, shape, stack
        from .indexing_ops import gather
        from .reduction_ops import reduce_max
        with name_scope(name, "RaggedToSparse"):
            rowids = self.value_rowids()
            n = shape(self._values, out_type=dtypes.int64)[0]
            cols = range_(n, dtype=dtypes.int64) - gather(self._row_splits, rowids)
            lengths = self.row_lengths()
            width = reduce_max(concat([lengths, core.convert_to_tensor([0], dtype=dtypes.int64)],
                                      0))
            dense_shape = stack([self.nrows(), width])
            return SparseTensor(stack([rowids, cols], axis=1), self._values, dense_shape)

    def to_tensor(self, default_value=None, name=None):
        """A dense tensor, rows padded with ``default_value`` (0 / b"") to the longest."""
        from .sparse_ops import sparse_tensor_to_dense
        if default_value is None:
            default_value = b"" if self.dtype is dtypes.string else 0
        with name_scope(name, "RaggedToTensor"):
            return sparse_tensor_to_dense(self.to_sparse(), default_value=default_value)

    def __repr__(self):
        return "tf.RaggedTensor(values=%s, row_splits=%s)" % (self._values, self._row_splits)


class RaggedTensorValue:
    """The value of a fetched RaggedTensor: NumPy ``values`` and ``row_splits``."""

    def __init__(self, values, row_splits):
        self.values = values
        self.row_splits = row_splits

    @property
    def flat_values(self):
        return self.values

    def row_lengths(self):
        return np.diff(self.row_splits)

    def to_list(self):
        v = self.values
        return [v[a:b].tolist() for a, b in zip(self.row_splits[:-1], self.row_splits[1:])]

    def __repr__(self):
        return "tf.RaggedTensorValue(values=%r, row_splits=%r)" % (self.values, self.row_splits)


def _fetch_ragged(rt):
    return [rt.values, rt.row_splits], lambda v: RaggedTensorValue(v[0], v[1])


register_fetch_conversion(RaggedTensor, _fetch_ragged)
