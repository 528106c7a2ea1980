"""Batching and grouping: batch, padded_batch, unbatch, group_by_window and
``bucket_by_sequence_length``.

Batching stacks the components of consecutive elements along a new dimension 0. Dense
components must agree in shape (``padded_batch`` pads them to a common shape first); a
``SparseTensor`` component becomes a sparse tensor of one more dimension whose dense shape
is the largest of the batch. ``group_by_window`` routes elements by an int64 key into
windows and turns each full window (and, at the end, each partial one, in key order as TF)
into a dataset with ``reduce_func``; ``bucket_by_sequence_length`` is built on it exactly as
TF 1.15 builds it.

Example:
    >>> ds = tf.data.Dataset.range(1, 4).map(lambda n: tf.fill([n], n))
    >>> ds = ds.padded_batch(2, padded_shapes=[None])   # [[1, 0], [2, 2]], [[3, 3, 3]]
"""
import logging

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Tensor
from ..framework.tensor_shape import TensorShape, as_shape
from ..ops import core
from . import structure as st
from .dataset_ops import (Dataset, bound_function, int64_arg, register_dataset_op, static_int,
                          trace_dataset_function)
from .engine import DatasetValue, ElementIterator, scalar_value

_log = logging.getLogger("tfnb.data")

__all__ = ["BatchDataset", "PaddedBatchDataset", "UnbatchDataset", "GroupByWindowDataset",
           "group_by_window", "bucket_by_sequence_length", "unbatch"]


def _batch_dim(batch_size, drop_remainder):
    n = static_int(batch_size)
    drop = core.constant_value(drop_remainder)
    return n if (n is not None and drop is not None and bool(drop)) else None


def _bool_arg(value, name):
    t = value if isinstance(value, Tensor) else core.convert_to_tensor(value, dtype=dtypes.bool_,
                                                                      name=name)
    if t.dtype is not dtypes.bool_:
        raise TypeError("%s must be a bool tensor, got %s" % (name, t.dtype.name))
    t.shape.with_rank(0)
    return t


def _check_batch_size(op):
    n = static_int(op._inputs[1])
    if n is not None and n <= 0:
        raise ValueError("batch_size must be greater than zero, got %d" % n)


def _collect(src, n, drop):
    """Up to ``n`` elements of ``src`` (None at the end, or for a short batch when ``drop``)."""
    items = []
    while len(items) < n:
        e = src.get_next()
        if e is None:
            break
        items.append(e)
    if drop and 0 < len(items) < n:
        _log.info("batch(drop_remainder=True) dropped the last %d element(s) of its input "
                  "(a batch needs %d)", len(items), n)
        return None
    if not items:
        return None
    return items


def _stack_dense(parts, i):
    first = parts[0].shape
    for j, p in enumerate(parts[1:], 1):
        if p.shape != first:
            raise errors.InvalidArgumentError(
                None, None, "Cannot batch tensors with different shapes in component %d. First "
                "element had shape %s and element %d had shape %s."
                % (i, list(first), j, list(p.shape)))
    return np.stack(parts)


def _stack_sparse(items, i):
    """Batches the sparse triple at components i..i+2 into one of rank + 1."""
    ranks = {len(e[i + 2]) for e in items}
    if len(ranks) != 1:
        raise errors.InvalidArgumentError(
            None, None, "Cannot batch sparse tensors of different ranks in component %d" % i)
    rank = ranks.pop()
    shape = np.max(np.stack([np.asarray(e[i + 2], np.int64) for e in items]), axis=0) \
        if rank else np.zeros([0], np.int64)
    idx, vals = [], []
    for j, e in enumerate(items):
        ind = np.asarray(e[i], np.int64).reshape(-1, rank)
        idx.append(np.concatenate([np.full((len(ind), 1), j, np.int64), ind], axis=1))
        vals.append(np.asarray(e[i + 1]))
    return (np.concatenate(idx, axis=0), np.concatenate(vals, axis=0),
            np.concatenate([[len(items)], shape]).astype(np.int64))


def _batch_components(items, kinds):
    out = []
    i = 0
    while i < len(kinds):
        if kinds[i] == "sparse_indices":
            out.extend(_stack_sparse(items, i))
            i += 3
        else:
            out.append(_stack_dense([np.asarray(e[i]) for e in items], i))
            i += 1
    return tuple(out)


# ----------------------------------------------------------------------------------------------
# BatchDatasetV2
# ----------------------------------------------------------------------------------------------
class BatchDataset(Dataset):
    """``batch_size`` consecutive elements stacked (the last batch smaller unless dropped)."""

    def __init__(self, input_dataset, batch_size, drop_remainder=False):
        bs = int64_arg(batch_size, "batch_size")
        drop = _bool_arg(drop_remainder, "drop_remainder")
        leaves = st.flatten(input_dataset._element_spec)
        if any(isinstance(s, st.DatasetStructure) for s in leaves):
            raise TypeError("Cannot batch a dataset whose elements contain datasets")
        n = _batch_dim(bs, drop)
        spec = st.map_structure(lambda s: s.batched(n), input_dataset._element_spec)
        variant = core.out("BatchDatasetV2", [input_dataset._variant_tensor, bs, drop],
                           {"kinds": st.flat_kinds(input_dataset._element_spec)})
        self._input_dataset = input_dataset
        super().__init__(variant, spec)


class _BatchValue(DatasetValue):
    kind = "BatchDataset"

    def __init__(self, source, batch_size, drop, kinds):
        self.source = source
        self.n = scalar_value(batch_size, "batch_size")
        if self.n <= 0:
            raise errors.InvalidArgumentError(None, None, "Batch size must be greater than zero.")
        self.drop = scalar_value(drop, "drop_remainder", bool)
        self.kinds = kinds

    def make_iterator(self, env):
        return _BatchIterator(self, self.source.make_iterator(env))


class _BatchIterator(ElementIterator):
    def __init__(self, v, src):
        self._v = v
        self._src = src

    def get_next(self):
        items = _collect(self._src, self._v.n, self._v.drop)
        return None if items is None else _batch_components(items, self._v.kinds)

    def close(self):
        self._src.close()


register_dataset_op(
    "BatchDatasetV2",
    lambda op, ctx: lambda src, n, drop: _BatchValue(src, n, drop, op._attrs["kinds"]),
    "Stacks batch_size consecutive elements of its input.", check=_check_batch_size)


# ----------------------------------------------------------------------------------------------
# PaddedBatchDatasetV2
# ----------------------------------------------------------------------------------------------
def _padded_shape_tensor(shape, component_shape):
    """A padded shape argument as an int64 vector tensor (-1: pad to the batch's largest)."""
    if isinstance(shape, Tensor):
        t = shape
        if t.dtype is dtypes.int32:
            from ..ops.math_ops import cast
            t = cast(t, dtypes.int64)
        if t.dtype is not dtypes.int64:
            raise TypeError("padded_shapes must be int64 vectors, got %s" % t.dtype.name)
        static = core.constant_value_as_shape(t)
    else:
        static = as_shape(shape)
        if static.ndims is None:
            raise ValueError("padded_shapes must have a known rank, got %s" % static)
        t = core.convert_to_tensor(np.array([-1 if d is None else d for d in static.as_list()],
                                            np.int64), name="padded_shape")
    if not static.is_compatible_with(component_shape) and \
            not (static.ndims is not None and component_shape.ndims == static.ndims and all(
                c is None or p is None or c <= p for c, p in zip(component_shape.as_list(),
                                                                  static.as_list()))):
        raise ValueError("The padded shape %s is not compatible with the corresponding input "
                         "component shape %s." % (static, component_shape))
    return t, static


def _padding_tensor(value, dtype):
    if isinstance(value, Tensor):
        if value.dtype is not dtype:
            raise TypeError("Padding value %s has dtype %s, but the component has dtype %s"
                            % (value.name, value.dtype.name, dtype.name))
        t = value
    else:
        t = core.convert_to_tensor(value, dtype=dtype, name="padding_value")
    t.shape.with_rank(0)
    return t


def _default_padding(dtype):
    return b"" if dtype is dtypes.string else np.zeros([], dtype.np)


class PaddedBatchDataset(Dataset):
    """Batches elements after padding each dense component to ``padded_shapes``."""

    def __init__(self, input_dataset, batch_size, padded_shapes, padding_values=None,
                 drop_remainder=False):
        spec = input_dataset._element_spec
        leaves = st.flatten(spec)
        for s in leaves:
            if not isinstance(s, st.TensorStructure):
                raise TypeError("Padded batching of components of type %s is not currently "
                                "supported." % s.output_class.__name__)
        if isinstance(padded_shapes, list) and isinstance(spec, tuple):
            padded_shapes = tuple(padded_shapes)
        shape_leaves = _leaves_like(spec, padded_shapes, "padded_shapes")
        if padding_values is None:
            padding_values = st.map_structure(lambda s: _default_padding(s.dtype), spec)
        pad_leaves = _leaves_like(spec, padding_values, "padding_values")
        bs = int64_arg(batch_size, "batch_size")
        drop = _bool_arg(drop_remainder, "drop_remainder")
        n = _batch_dim(bs, drop)
        shapes, pads, out_specs = [], [], []
        for s, p, v in zip(leaves, shape_leaves, pad_leaves):
            t, static = _padded_shape_tensor(p, s.shape)
            shapes.append(t)
            pads.append(_padding_tensor(v, s.dtype))
            if static.ndims is None:
                static = TensorShape([None] * s.shape.ndims) if s.shape.ndims is not None \
                    else static
            out_specs.append(st.TensorStructure(s.dtype, TensorShape([n]).concatenate(static)))
        variant = core.out("PaddedBatchDatasetV2",
                           [input_dataset._variant_tensor, bs] + shapes + pads + [drop],
                           {"n_components": len(leaves)})
        self._input_dataset = input_dataset
        super().__init__(variant, st.pack(spec, out_specs))


def _leaves_like(spec, value, what):
    """The leaves of ``value`` (nested like ``spec``; a shape may be a list of dims)."""
    if not isinstance(spec, (tuple, dict)):
        return [value]
    if isinstance(spec, dict):
        if not isinstance(value, dict) or set(value) != set(spec):
            raise ValueError("%s must have the same structure as the dataset elements %s, got %r"
                             % (what, st.output_types(spec), value))
        out = []
        for k in sorted(spec):
            out.extend(_leaves_like(spec[k], value[k], what))
        return out
    if not isinstance(value, (tuple, list)) or len(value) != len(spec):
        raise ValueError("%s must have the same structure as the dataset elements %s, got %r"
                         % (what, st.output_types(spec), value))
    out = []
    for s, v in zip(spec, value):
        out.extend(_leaves_like(s, v, what))
    return out


class _PaddedBatchValue(DatasetValue):
    kind = "PaddedBatchDataset"

    def __init__(self, source, batch_size, shapes, pads, drop):
        self.source = source
        self.n = scalar_value(batch_size, "batch_size")
        if self.n <= 0:
            raise errors.InvalidArgumentError(None, None, "Batch size must be greater than zero.")
        self.shapes = [np.asarray(s, np.int64).reshape(-1) for s in shapes]
        self.pads = [np.asarray(p) for p in pads]
        self.drop = scalar_value(drop, "drop_remainder", bool)

    def make_iterator(self, env):
        return _PaddedBatchIterator(self, self.source.make_iterator(env))


def _pad_stack(parts, padded, pad_value, i):
    rank = len(padded)
    dims = []
    for d in range(rank):
        if any(p.ndim != rank for p in parts):
            bad = next(p for p in parts if p.ndim != rank)
            raise errors.InvalidArgumentError(
                None, None, "All elements in a batch must have the same rank as the padded shape "
                "for component %d: expected rank %d but got element with rank %d"
                % (i, rank, bad.ndim))
        biggest = max(p.shape[d] for p in parts)
        if padded[d] >= 0:
            if biggest > padded[d]:
                raise errors.InvalidArgumentError(
                    None, None, "Attempted to pad to a smaller size than the input element: "
                    "component %d has size %d in dimension %d, padded shape %s"
                    % (i, biggest, d, padded.tolist()))
            dims.append(int(padded[d]))
        else:
            dims.append(int(biggest))
    if rank == 0 and any(p.ndim != 0 for p in parts):
        raise errors.InvalidArgumentError(None, None, "All elements in a batch must have the same "
                                          "rank as the padded shape for component %d" % i)
    out = np.full([len(parts)] + dims, pad_value[()], dtype=parts[0].dtype)
    for j, p in enumerate(parts):
        out[(j,) + tuple(slice(0, s) for s in p.shape)] = p
    return out


class _PaddedBatchIterator(ElementIterator):
    def __init__(self, v, src):
        self._v = v
        self._src = src

    def get_next(self):
        v = self._v
        items = _collect(self._src, v.n, v.drop)
        if items is None:
            return None
        return tuple(_pad_stack([np.asarray(e[i]) for e in items], v.shapes[i], v.pads[i], i)
                     for i in range(len(v.shapes)))

    def close(self):
        self._src.close()


def _padded_batch_kernel(op, ctx):
    k = op._attrs["n_components"]

    def padded_batch(src, n, *rest):
        return _PaddedBatchValue(src, n, rest[:k], rest[k:2 * k], rest[2 * k])
    return padded_batch


register_dataset_op("PaddedBatchDatasetV2", _padded_batch_kernel,
                    "Pads and stacks batch_size consecutive elements of its input.",
                    check=_check_batch_size)


# ----------------------------------------------------------------------------------------------
# UnbatchDataset
# ----------------------------------------------------------------------------------------------
class UnbatchDataset(Dataset):
    """Splits each element along dimension 0 into that many elements."""

    def __init__(self, input_dataset):
        spec = input_dataset._element_spec
        for s in st.flatten(spec):
            if not isinstance(s, st.TensorStructure):
                raise TypeError("unbatch supports dense tensor components only")
            if s.shape.ndims == 0:
                raise ValueError("Cannot unbatch an input with scalar components.")
        out = st.map_structure(lambda s: s.unbatched(), spec)
        variant = core.out("UnbatchDataset", [input_dataset._variant_tensor], {})
        self._input_dataset = input_dataset
        super().__init__(variant, out)


class _UnbatchValue(DatasetValue):
    kind = "UnbatchDataset"

    def __init__(self, source):
        self.source = source

    def make_iterator(self, env):
        return _UnbatchIterator(self.source.make_iterator(env))


class _UnbatchIterator(ElementIterator):
    def __init__(self, src):
        self._src = src
        self._cur = None
        self._i = 0

    def get_next(self):
        while self._cur is None or self._i >= len(self._cur[0]):
            e = self._src.get_next()
            if e is None:
                return None
            arrays = [np.asarray(c) for c in e]
            sizes = {a.shape[0] if a.ndim else -1 for a in arrays}
            if len(sizes) != 1 or -1 in sizes:
                raise errors.InvalidArgumentError(
                    None, None, "Input element must have the same batch size in each component. "
                    "Component sizes: %s" % [a.shape[:1] for a in arrays])
            self._cur, self._i = arrays, 0
        self._i += 1
        return tuple(a[self._i - 1, ...] for a in self._cur)

    def close(self):
        self._src.close()


register_dataset_op("UnbatchDataset", lambda op, ctx: _UnbatchValue,
                    "Splits each element of its input along dimension 0.")


def unbatch():
    """``tf.data.experimental.unbatch()``: a transformation for ``Dataset.apply``."""
    return lambda ds: UnbatchDataset(ds)


# ----------------------------------------------------------------------------------------------
# GroupByWindowDataset
# ----------------------------------------------------------------------------------------------
def _scalar_int64_fn(fn, spec, kind, what):
    f, out = trace_dataset_function(fn, spec, kind)
    if not (isinstance(out, st.TensorStructure) and out.dtype is dtypes.int64 and
            out.shape.is_compatible_with([])):
        raise ValueError("`%s` must return a single tf.int64 tensor. Got %s" % (what, out))
    return f


class GroupByWindowDataset(Dataset):
    """Groups elements by ``key_func`` into windows of ``window_size_func(key)`` elements
    and maps each window (a dataset) with ``reduce_func(key, window)``."""

    def __init__(self, input_dataset, key_func, reduce_func, window_size_func):
        spec = input_dataset._element_spec
        key_f = _scalar_int64_fn(key_func, spec, "group_by_window_key", "key_func")
        size_f = _scalar_int64_fn(window_size_func, st.TensorStructure(dtypes.int64, []),
                                  "group_by_window_size", "window_size_func")
        reduce_f, out = trace_dataset_function(
            reduce_func, (st.TensorStructure(dtypes.int64, []), st.DatasetStructure(spec)),
            "group_by_window_reduce")
        if not isinstance(out, st.DatasetStructure):
            raise TypeError("`reduce_func` must return a `Dataset` object. Got %s" % (out,))
        caps = [key_f.captured_inputs, reduce_f.captured_inputs, size_f.captured_inputs]
        variant = core.out("GroupByWindowDataset",
                           [input_dataset._variant_tensor] + caps[0] + caps[1] + caps[2],
                           {"key_func": key_f, "reduce_func": reduce_f,
                            "window_size_func": size_f, "n_captured": [len(c) for c in caps]})
        self._input_dataset = input_dataset
        super().__init__(variant, out.element_spec)


class _WindowValue(DatasetValue):
    """A window: the elements of one group, as a dataset."""

    kind = "Window"

    def __init__(self, elements):
        self.elements = elements

    def make_iterator(self, env):
        from .sources import _ListIterator
        return _ListIterator(self.elements)


class _GroupByWindowValue(DatasetValue):
    kind = "GroupByWindowDataset"

    def __init__(self, source, key_fn, reduce_fn, size_fn):
        self.source = source
        self.key_fn = key_fn
        self.reduce_fn = reduce_fn
        self.size_fn = size_fn

    def make_iterator(self, env):
        return _GroupByWindowIterator(self, self.source.make_iterator(env), env)


class _GroupByWindowIterator(ElementIterator):
    """TF's order: read input until a group fills its window, then yield that window's
    reduced dataset in full; at the end of input flush the groups by increasing key."""

    def __init__(self, v, src, env):
        self._v = v
        self._src = src
        self._env = env
        self._groups = {}
        self._sizes = {}
        self._current = None
        self._end_of_input = False

    def _flush(self, key):
        window = self._groups.pop(key)
        self._sizes.pop(key, None)
        value = self._v.reduce_fn([np.asarray(key, np.int64), _WindowValue(window)])[0]
        self._current = value.make_iterator(self._env)

    def get_next(self):
        while True:
            if self._current is not None:
                e = self._current.get_next()
                if e is not None:
                    return e
                self._current.close()
                self._current = None
            if self._end_of_input:
                if not self._groups:
                    return None
                self._flush(min(self._groups))
                continue
            e = self._src.get_next()
            if e is None:
                self._end_of_input = True
                continue
            key = np.asarray(self._v.key_fn(e)[0])
            if key.shape != () or key.dtype != np.int64:
                raise errors.InvalidArgumentError(
                    None, None, "`key_func` must return a single int64 scalar, got %s of shape %s"
                    % (key.dtype, key.shape))
            key = int(key)
            if key not in self._groups:
                size = int(np.asarray(self._v.size_fn([np.asarray(key, np.int64)])[0]))
                if size <= 0:
                    raise errors.InvalidArgumentError(
                        None, None, "Window size must be greater than zero, but got %d." % size)
                self._groups[key] = []
                self._sizes[key] = size
            self._groups[key].append(e)
            if len(self._groups[key]) == self._sizes[key]:
                self._flush(key)

    def close(self):
        if self._current is not None:
            self._current.close()
        self._groups = {}
        self._src.close()


def _group_by_window_kernel(op, ctx):
    a = op._attrs
    key_b = bound_function(a["key_func"], ctx)
    reduce_b = bound_function(a["reduce_func"], ctx)
    size_b = bound_function(a["window_size_func"], ctx)
    nk, nr, _ = a["n_captured"]

    def group_by_window(src, *caps):
        return _GroupByWindowValue(src, key_b.caller(caps[:nk]), reduce_b.caller(caps[nk:nk + nr]),
                                   size_b.caller(caps[nk + nr:]))
    return group_by_window


register_dataset_op("GroupByWindowDataset", _group_by_window_kernel,
                    "Groups elements by key into windows and reduces each window to a dataset.")


def group_by_window(key_func, reduce_func, window_size=None, window_size_func=None):
    """``tf.data.experimental.group_by_window``: a transformation for ``Dataset.apply``.

    Args:
        key_func: element -> int64 scalar key.
        reduce_func: (key, window dataset) -> dataset.
        window_size: elements per window, or
        window_size_func: key -> int64 window size.
    """
    if window_size is not None:
        if window_size_func is not None:
            raise ValueError("Either the `window_size` argument or the `window_size_func` "
                             "argument must be specified.")

        def window_size_func(_key):
            return core.convert_to_tensor(window_size, dtype=dtypes.int64)
    elif window_size_func is None:
        raise ValueError("Either the `window_size` argument or the `window_size_func` argument "
                         "must be specified.")
    return lambda ds: GroupByWindowDataset(ds, key_func, reduce_func, window_size_func)


def bucket_by_sequence_length(element_length_func, bucket_boundaries, bucket_batch_sizes,
                              padded_shapes=None, padding_values=None,
                              pad_to_bucket_boundary=False, no_padding=False,
                              drop_remainder=False):
    """``tf.data.experimental.bucket_by_sequence_length``: batches elements of similar length.

    An element of length ``L`` goes to the bucket ``i`` with ``boundaries[i-1] <= L <
    boundaries[i]`` and is batched (padded) with others of its bucket, ``bucket_batch_sizes[i]``
    at a time.

    Raises:
        ValueError: ``len(bucket_batch_sizes) != len(bucket_boundaries) + 1``.
    """
    from ..framework.graph import control_dependencies
    from ..ops import array_ops, check_ops, indexing_ops, math_ops, reduction_ops
    if len(bucket_batch_sizes) != len(bucket_boundaries) + 1:
        raise ValueError("len(bucket_batch_sizes) must equal len(bucket_boundaries) + 1")
    batch_sizes = list(bucket_batch_sizes)

    def element_to_bucket_id(*args):
        seq_length = element_length_func(*args)
        boundaries = list(bucket_boundaries)
        buckets_min = [np.iinfo(np.int32).min] + boundaries
        buckets_max = boundaries + [np.iinfo(np.int32).max]
        conditions = math_ops.logical_and(math_ops.less_equal(buckets_min, seq_length),
                                          math_ops.less(seq_length, buckets_max))
        return reduction_ops.reduce_min(math_ops.where(conditions))

    def window_size_fn(bucket_id):
        sizes = core.convert_to_tensor(np.asarray(batch_sizes, np.int64))
        return indexing_ops.gather(sizes, bucket_id)

    def make_padded_shapes(shapes, none_filler=None):
        def pad(shape):
            shape = as_shape(shape)
            if shape.ndims is None:
                raise ValueError("padded_shapes cannot be inferred from a shape of unknown rank")
            dims = shape.as_list()
            if none_filler is None:
                return TensorShape(dims)
            return array_ops.stack([none_filler if d is None else
                                    core.convert_to_tensor(d, dtype=dtypes.int64) for d in dims])
        return st.map_structure(pad, shapes) if isinstance(shapes, (tuple, dict)) else pad(shapes)

    def batching_fn(bucket_id, grouped_dataset):
        batch_size = window_size_fn(bucket_id)
        if no_padding:
            return grouped_dataset.batch(batch_size, drop_remainder=drop_remainder)
        none_filler = None
        if pad_to_bucket_boundary:
            check = check_ops.assert_less(
                bucket_id, core.convert_to_tensor(len(batch_sizes) - 1, dtype=dtypes.int64),
                message="When pad_to_bucket_boundary=True, elements must have length < "
                "max(bucket_boundaries).")
            with control_dependencies([check]):
                boundaries = core.convert_to_tensor(np.asarray(bucket_boundaries, np.int64))
                none_filler = indexing_ops.gather(boundaries, bucket_id) - 1
        shapes = make_padded_shapes(padded_shapes or grouped_dataset.output_shapes,
                                    none_filler=none_filler)
        return grouped_dataset.padded_batch(batch_size, shapes, padding_values,
                                            drop_remainder=drop_remainder)

    return group_by_window(element_to_bucket_id, batching_fn, window_size_func=window_size_fn)
