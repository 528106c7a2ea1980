"""``tf.RaggedTensor``: rows of different lengths, as TF represents them.

A ragged tensor is a ``values`` tensor cut into rows by ``row_splits`` (int64, one more
than the rows: row ``i`` is ``values[row_splits[i]:row_splits[i + 1]]``). ``values`` may
itself be a RaggedTensor (nested raggedness, ``ragged_rank`` > 1); the innermost dense
tensor is ``flat_values``. It is not a graph tensor: ops take its parts, and ``sess.run``
gives a :class:`RaggedTensorValue`. Gradients flow through ``flat_values``; the row
partitions are integer bookkeeping.

Example:
    >>> rt = tf.RaggedTensor.from_row_splits([3, 1, 4, 1, 5], [0, 2, 2, 5])
    >>> sess.run(rt.row_lengths())        # [2, 0, 3]
    >>> sess.run(rt).to_list()            # [[3, 1], [], [4, 1, 5]]
"""
import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Tensor, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape
from ..runtime.fetch import register_fetch_conversion
from . import core
from .sparse_ops import SparseTensor

__all__ = ["RaggedTensor", "RaggedTensorValue", "constant", "constant_value",
           "row_splits_to_segment_ids", "segment_ids_to_row_splits", "map_flat_values"]

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
        if n < 0 or (r.size and (np.any(np.diff(r) < 0) or r[0] < 0 or r[-1] >= n)):
            raise errors.InvalidArgumentError(
                None, None, "value_rowids must be sorted and in [0, nrows=%d), got %s"
                % (n, r.tolist()))
        return np.concatenate([[0], np.cumsum(np.bincount(r, minlength=n))]).astype(np.int64)
    return ragged_row_splits_from_rowids


def _check_values_kernel(op, ctx):
    offset = op._attrs["offset"]

    def ragged_check(values, splits):
        _check_splits(splits, np.shape(values)[0] - offset)
        return values
    return ragged_check


def _dense_indices_kernel(op, ctx):
    def ragged_dense_indices(flat_shape, *nested_splits):
        """Row-major dense coordinates of every flat value element, and the dense shape."""
        flat_shape = [int(d) for d in np.asarray(flat_shape).reshape(-1)]
        nrows = len(nested_splits[0]) - 1
        coords = np.arange(nrows, dtype=np.int64)[:, None]
        dims = [nrows]
        for s in nested_splits:
            s = _check_splits(s, None)
            if len(s) - 1 != len(coords):
                raise errors.InvalidArgumentError(
                    None, None, "row_splits %s partition %d values, got %d"
                    % (s.tolist(), len(s) - 1, len(coords)))
            lengths = np.diff(s)
            rowids = np.repeat(np.arange(len(lengths)), lengths)
            within = np.arange(s[-1], dtype=np.int64) - s[:-1][rowids]
            coords = np.concatenate([coords[rowids], within[:, None]], 1)
            dims.append(int(lengths.max(initial=0)))
        if len(coords) != flat_shape[0]:
            raise errors.InvalidArgumentError(
                None, None, "row_splits partition %d values, but flat_values has %d"
                % (len(coords), flat_shape[0]))
        inner = flat_shape[1:]
        if inner:
            k = int(np.prod(inner))
            inner_idx = np.indices(inner).reshape(len(inner), -1).T
            coords = np.concatenate([np.repeat(coords, k, 0),
                                     np.tile(inner_idx, (len(coords), 1))], 1)
        return coords.astype(np.int64), np.asarray(dims + inner, np.int64)
    return ragged_dense_indices


def _dense_indices_infer(op):
    rank = op._attrs["rank"]
    return [(dtypes.int64, TensorShape([None, rank])), (dtypes.int64, TensorShape([rank]))]


register_op("RaggedValueRowIds", infer=lambda op: [(dtypes.int64, TensorShape([None]))],
            kernel=_rowids_kernel, grad=NOT_DIFFERENTIABLE, device_types=_CPU,
            doc="The row of each value of a ragged tensor, from its row_splits.")
register_op("RaggedRowSplitsFromRowIds", infer=lambda op: [(dtypes.int64, TensorShape([None]))],
            kernel=_splits_kernel, grad=NOT_DIFFERENTIABLE, device_types=_CPU,
            doc="row_splits from sorted value row ids and the number of rows.")
register_op("RaggedCheckSplits", infer=lambda op: [(op._inputs[0].dtype, op._inputs[0].shape)],
            kernel=_check_values_kernel, grad=lambda op, g: [g, None], device_types=_CPU,
            doc="Its values input, after checking that row_splits partitions its first "
                "dimension less attr offset (1 when the values are inner row_splits).")
register_op("RaggedDenseIndices", infer=_dense_indices_infer, kernel=_dense_indices_kernel,
            grad=NOT_DIFFERENTIABLE, device_types=_CPU,
            doc="Dense coordinates of the elements of a ragged tensor's flat_values (given "
                "its shape and nested row_splits) and its padded dense shape.")


def _int64(t, name):
    t = t if isinstance(t, Tensor) else core.convert_to_tensor(t, dtype=dtypes.int64, name=name)
    if t.dtype is dtypes.int32:
        from .math_ops import cast
        t = cast(t, dtypes.int64)
    if t.dtype is not dtypes.int64:
        raise TypeError("%s must be int64, got %s" % (name, t.dtype.name))
    return t


def _values_input(values):
    if isinstance(values, (Tensor, RaggedTensor)):
        return values
    return core.convert_to_tensor(values, name="values")


class RaggedTensor:
    """Rows of different lengths: ``values`` (a Tensor or a RaggedTensor) partitioned by
    ``row_splits``."""

    def __init__(self, values, row_splits, internal=False):
        if not internal:
            raise ValueError("Build a RaggedTensor with RaggedTensor.from_row_splits, "
                             "from_row_lengths, from_value_rowids, from_tensor or from_sparse")
        self._values = values
        self._row_splits = row_splits

    # --- construction ---
    @classmethod
    def from_row_splits(cls, values, row_splits, name=None, validate=True):
        """Row ``i`` is ``values[row_splits[i]:row_splits[i + 1]]``.

        Raises:
            InvalidArgumentError (at run time, ``validate``): ``row_splits`` is not a
                non-decreasing vector from 0 to the number of values.
        """
        with name_scope(name, "RaggedFromRowSplits"):
            values = _values_input(values)
            splits = _int64(row_splits, "row_splits")
            splits.shape.with_rank(1)
            if isinstance(values, RaggedTensor):
                if validate:  # the outer splits must cover the inner rows
                    inner = core.out("RaggedCheckSplits", [values.row_splits, splits],
                                     {"offset": 1})
                    values = RaggedTensor(values.values, inner, internal=True)
            else:
                values.shape.with_rank_at_least(1)
                if validate:
                    values = core.out("RaggedCheckSplits", [values, splits], {"offset": 0})
            return cls(values, splits, internal=True)

    @classmethod
    def from_row_lengths(cls, values, row_lengths, name=None, validate=True):
        """Row ``i`` has ``row_lengths[i]`` values."""
        from .array_ops import concat
        from .reduction_ops import cumsum
        with name_scope(name, "RaggedFromRowLengths"):
            lengths = _int64(row_lengths, "row_lengths")
            splits = concat([core.convert_to_tensor([0], dtype=dtypes.int64), cumsum(lengths)],
                            0)
            return cls.from_row_splits(values, splits, validate=validate)

    @classmethod
    def from_value_rowids(cls, values, value_rowids, nrows=None, name=None, validate=True):
        """Value ``j`` is in row ``value_rowids[j]`` (sorted); ``nrows`` defaults to one
        past the last row id."""
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
    def from_nested_row_splits(cls, flat_values, nested_row_splits, name=None, validate=True):
        """Nested raggedness: ``nested_row_splits`` from the outermost partition inwards."""
        if isinstance(nested_row_splits, (Tensor, np.ndarray)):
            raise TypeError("nested_row_splits must be a list of Tensors")
        with name_scope(name, "RaggedFromNestedRowSplits"):
            result = flat_values
            for splits in reversed(list(nested_row_splits)):
                result = cls.from_row_splits(result, splits, validate=validate)
            return result

    @classmethod
    def from_nested_row_lengths(cls, flat_values, nested_row_lengths, name=None,
                                validate=True):
        """Nested raggedness from row lengths, outermost first."""
        with name_scope(name, "RaggedFromNestedRowlengths"):
            result = flat_values
            for lengths in reversed(list(nested_row_lengths)):
                result = cls.from_row_lengths(result, lengths, validate=validate)
            return result

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

    @classmethod
    def from_tensor(cls, tensor, lengths=None, padding=None, ragged_rank=1, name=None):
        """The rows of a dense ``tensor`` (rank >= 2): whole rows, the first ``lengths[i]``
        of row ``i``, or each row without its trailing ``padding`` elements.

        Raises:
            ValueError: both ``lengths`` and ``padding``, or ``ragged_rank`` other than 1.
        """
        from .array_ops import shape as shape_of, fill
        from .indexing_ops import boolean_mask, sequence_mask
        from .math_ops import cast, equal, logical_not, multiply
        from .reduction_ops import reduce_all, reduce_max
        from .array_ops import range_, expand_dims
        if lengths is not None and padding is not None:
            raise ValueError("Specify lengths or padding, but not both")
        if ragged_rank != 1:
            raise ValueError("tfnb's RaggedTensor.from_tensor supports ragged_rank=1, got %r"
                             % (ragged_rank,))
        with name_scope(name, "RaggedFromTensor"):
            tensor = tensor if isinstance(tensor, Tensor) else core.convert_to_tensor(
                tensor, name="tensor")
            rank = tensor.shape.with_rank_at_least(2).ndims
            dims = shape_of(tensor, out_type=dtypes.int64)
            ncols = dims[1]
            if padding is not None:
                pad = core.convert_to_tensor(padding, dtype=tensor.dtype, name="padding")
                is_pad = equal(tensor, pad)
                if rank > 2:
                    is_pad = reduce_all(is_pad, axis=list(range(2, rank)))
                col = expand_dims(range_(ncols, dtype=dtypes.int64) + 1, 0)
                lengths = reduce_max(multiply(cast(logical_not(is_pad), dtypes.int64), col),
                                     axis=1)
            elif lengths is None:
                lengths = fill(dims[:1], ncols)
            lengths = _int64(lengths, "lengths")
            mask = sequence_mask(lengths, maxlen=ncols)
            values = boolean_mask(tensor, mask)
            return cls.from_row_lengths(values, lengths, validate=False)

    # --- parts ---
    @property
    def values(self):
        return self._values

    @property
    def flat_values(self):
        v = self._values
        return v.flat_values if isinstance(v, RaggedTensor) else v

    @property
    def row_splits(self):
        return self._row_splits

    @property
    def nested_row_splits(self):
        v = self._values
        inner = v.nested_row_splits if isinstance(v, RaggedTensor) else ()
        return (self._row_splits,) + inner

    @property
    def ragged_rank(self):
        v = self._values
        return 1 + (v.ragged_rank if isinstance(v, RaggedTensor) else 0)

    @property
    def dtype(self):
        return self._values.dtype

    @property
    def graph(self):
        return self._row_splits.graph

    @property
    def shape(self):
        n = self._row_splits.shape.with_rank(1)[0].value
        return TensorShape([None if n is None else n - 1, None]).concatenate(
            self._values.shape[1:])

    def get_shape(self):
        return self.shape

    def nrows(self, out_type=dtypes.int64, name=None):
        """The number of rows (scalar)."""
        from .array_ops import shape
        return shape(self._row_splits, out_type=out_type)[0] - 1

    def row_lengths(self, axis=1, name=None):
        """The length of each row (int64); ``axis=2`` the lengths of the inner rows."""
        if axis == 1:
            return self._row_splits[1:] - self._row_splits[:-1]
        if axis > 1 and isinstance(self._values, RaggedTensor):
            return self.with_values(self._values.row_lengths(axis - 1))
        raise ValueError("axis %r is not a ragged dimension of %r" % (axis, self))

    def nested_row_lengths(self, name=None):
        """Row lengths of every ragged dimension, outermost first."""
        return tuple(s[1:] - s[:-1] for s in self.nested_row_splits)

    def row_starts(self, name=None):
        return self._row_splits[:-1]

    def row_limits(self, name=None):
        return self._row_splits[1:]

    def value_rowids(self, name=None):
        """The row of each of ``values`` (int64)."""
        return core.out("RaggedValueRowIds", [self._row_splits], {}, name=name)

    def with_values(self, new_values):
        return RaggedTensor(new_values, self._row_splits, internal=True)

    def with_flat_values(self, new_values):
        v = self._values
        if isinstance(v, RaggedTensor):
            return self.with_values(v.with_flat_values(new_values))
        return self.with_values(new_values)

    # --- conversions ---
    def _dense_indices(self):
        """(indices of every flat_values element in the padded dense tensor, dense shape)."""
        from .array_ops import shape
        flat = self.flat_values
        rank = flat.shape.ndims
        if rank is None:
            raise ValueError("flat_values of %r must have a known rank" % (self,))
        o = core.op("RaggedDenseIndices", [shape(flat, out_type=dtypes.int64)]
                    + list(self.nested_row_splits), {"rank": self.ragged_rank + rank})
        return o._outputs

    def to_sparse(self, name=None):
        """A SparseTensor of the padded dense shape (``[nrows, longest row, ...]``)."""
        from .array_ops import reshape
        with name_scope(name, "RaggedToSparse"):
            indices, dense_shape = self._dense_indices()
            flat = self.flat_values
            values = flat if flat.shape.ndims == 1 else reshape(flat, [-1])
            return SparseTensor(indices, values, dense_shape)

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
    """The value of a fetched RaggedTensor: NumPy ``values`` (an array, or a
    RaggedTensorValue when nested) and ``row_splits``."""

    def __init__(self, values, row_splits):
        self.values = values
        self.row_splits = row_splits

    @property
    def flat_values(self):
        v = self.values
        return v.flat_values if isinstance(v, RaggedTensorValue) else v

    @property
    def nested_row_splits(self):
        v = self.values
        inner = v.nested_row_splits if isinstance(v, RaggedTensorValue) else ()
        return (self.row_splits,) + inner

    @property
    def ragged_rank(self):
        v = self.values
        return 1 + (v.ragged_rank if isinstance(v, RaggedTensorValue) else 0)

    @property
    def dtype(self):
        return self.flat_values.dtype

    @property
    def shape(self):
        v = self.values
        inner = v.shape[1:] if isinstance(v, RaggedTensorValue) else tuple(np.shape(v)[1:])
        return (len(self.row_splits) - 1, None) + inner

    def row_lengths(self):
        return np.diff(self.row_splits)

    def to_list(self):
        """The rows as nested Python lists."""
        v = self.values
        rows = v.to_list() if isinstance(v, RaggedTensorValue) else v.tolist()
        return [rows[a:b] for a, b in zip(self.row_splits[:-1], self.row_splits[1:])]

    def __repr__(self):
        return "tf.RaggedTensorValue(values=%r, row_splits=%r)" % (self.values, self.row_splits)


def _fetch_ragged(rt):
    def combine(v):
        value = v[0]
        for splits in reversed(v[1:]):
            value = RaggedTensorValue(value, splits)
        return value
    return [rt.flat_values] + list(rt.nested_row_splits), combine


register_fetch_conversion(RaggedTensor, _fetch_ragged)


# ----------------------------------------------------------------------------------------------
# tf.ragged
# ----------------------------------------------------------------------------------------------
def _is_list(x):
    return isinstance(x, (list, tuple))


def _nesting(pylist):
    """(depth of the scalars, or None if there are none; deepest list nesting)."""
    if not _is_list(pylist):
        return 0, 0
    scalar_depths, list_depth = set(), 1
    for item in pylist:
        d, ld = _nesting(item)
        if d is not None:
            scalar_depths.add(d + 1)
        list_depth = max(list_depth, ld + 1)
    if len(scalar_depths) > 1:
        raise ValueError("all scalar values must have the same nesting depth")
    return (scalar_depths.pop() if scalar_depths else None), list_depth


def _ragged_parts(pylist, dtype, ragged_rank, inner_shape):
    """(flat values as a NumPy array, nested row_splits) of a nested Python list."""
    if not _is_list(pylist):
        raise TypeError("pylist must be a (nested) list, got %r" % (pylist,))
    scalar_depth, list_depth = _nesting(pylist)
    inner_rank = len(inner_shape) if inner_shape is not None else None
    depth = scalar_depth if scalar_depth is not None else \
        list_depth + (inner_rank or 0) - (1 if inner_rank else 0)
    if ragged_rank is None:
        ragged_rank = max(0, depth - 1 - (inner_rank or 0)) if scalar_depth is not None \
            else max(0, list_depth - 1)
    if ragged_rank < 0 or (scalar_depth is not None and ragged_rank >= scalar_depth):
        raise ValueError("Invalid pylist=%r: incompatible with ragged_rank=%d"
                         % (pylist, ragged_rank))
    nested_splits, items = [], list(pylist)
    for _ in range(ragged_rank):
        lengths = []
        for row in items:
            if not _is_list(row):
                raise ValueError("Invalid pylist=%r: incompatible with ragged_rank=%d"
                                 % (pylist, ragged_rank))
            lengths.append(len(row))
        nested_splits.append(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
        items = [x for row in items for x in row]
    np_dtype = None if dtype is None else (object if dtype is dtypes.string else dtype.np)
    try:
        if inner_shape is not None:
            flat = np.array(items, dtype=np_dtype).reshape([len(items)] + list(inner_shape))
        elif items:
            flat = np.array(items, dtype=np_dtype)
            if flat.dtype == object and np_dtype is None:
                if not all(isinstance(x, (bytes, str)) for x in np.ravel(flat)):
                    raise ValueError("inner values are not uniform")
        else:
            extra = max(0, (scalar_depth or 0) - ragged_rank - 1)
            flat = np.zeros([0] * (1 + extra), dtype=np_dtype or np.float32)
    except ValueError as e:
        raise ValueError("Invalid pylist=%r: the values below ragged_rank=%d must form a "
                         "uniform array (%s)" % (pylist, ragged_rank, e)) from None
    return flat, nested_splits


def constant(pylist, dtype=None, ragged_rank=None, inner_shape=None, name=None,
             row_splits_dtype=dtypes.int64):
    """A RaggedTensor of constants from a nested Python list (``tf.ragged.constant``).

    Args:
        pylist: nested lists of scalars, all at the same depth.
        dtype: the element dtype (default: inferred; float32 without scalars).
        ragged_rank: how many dimensions are ragged (default: all but the innermost).
        inner_shape: the shape of the uniform innermost values.

    Returns:
        A RaggedTensor, or a Tensor when ``ragged_rank`` is 0.

    Raises:
        ValueError: scalars at different depths, or uniform dimensions that are not.
    """
    dtype = None if dtype is None else dtypes.as_dtype(dtype)
    flat, nested_splits = _ragged_parts(pylist, dtype, ragged_rank, inner_shape)
    with name_scope(name, "RaggedConstant"):
        # Without a dtype, the scalars convert as Python values do in tf.constant
        # (int -> int32, float -> float32).
        values = core.convert_to_tensor(flat if dtype is not None or not flat.size
                                        else flat.tolist(), dtype=dtype, name="values")
        if not nested_splits:
            return values
        splits = [core.convert_to_tensor(s, dtype=dtypes.int64, name="row_splits")
                  for s in nested_splits]
        return RaggedTensor.from_nested_row_splits(values, splits, validate=False)


def constant_value(pylist, dtype=None, ragged_rank=None, inner_shape=None,
                   row_splits_dtype="int64"):
    """A RaggedTensorValue (NumPy parts) from a nested Python list."""
    dtype = None if dtype is None else dtypes.as_dtype(dtype)
    flat, nested_splits = _ragged_parts(pylist, dtype, ragged_rank, inner_shape)
    value = flat
    for splits in reversed(nested_splits):
        value = RaggedTensorValue(value, splits)
    return value


def row_splits_to_segment_ids(splits, name=None, out_type=None):
    """The row of each value (``value_rowids``) from ``row_splits``."""
    return core.out("RaggedValueRowIds", [_int64(splits, "splits")], {},
                    name=name or "RaggedSplitsToSegmentIds")


def segment_ids_to_row_splits(segment_ids, num_segments=None, out_type=None, name=None):
    """``row_splits`` from sorted segment ids (``num_segments`` defaults to max + 1)."""
    from .array_ops import concat
    from .reduction_ops import reduce_max
    with name_scope(name, "SegmentIdsToRaggedSplits"):
        ids = _int64(segment_ids, "segment_ids")
        if num_segments is None:
            num_segments = reduce_max(concat([ids + 1, core.convert_to_tensor(
                [0], dtype=dtypes.int64)], 0))
        return core.out("RaggedRowSplitsFromRowIds", [ids, _int64(num_segments,
                                                                  "num_segments")], {})


def map_flat_values(op, *args, **kwargs):
    """``op`` applied to the flat_values of the RaggedTensor arguments (which must share
    their row partitions); the result keeps the partition of the first one."""
    first = []

    def unwrap(x):
        if isinstance(x, RaggedTensor):
            first.append(x)
            return x.flat_values
        if isinstance(x, (list, tuple)):
            return type(x)(unwrap(i) for i in x)
        if isinstance(x, dict):
            return {k: unwrap(v) for k, v in x.items()}
        return x
    args = unwrap(args)
    kwargs = unwrap(kwargs)
    if not first:
        return op(*args, **kwargs)
    return first[0].with_flat_values(op(*args, **kwargs))
