"""``tf.data.Dataset``: the base class, its TF1 methods, and the helpers of every dataset op.

A :class:`Dataset` is a graph-level description: creating one adds an op (``RangeDataset``,
``MapDataset``, ...) whose output is a ``variant`` scalar, and the Python object keeps that
tensor and the structure of the elements (``output_types``/``output_shapes``/
``output_classes``). Functions given to ``map``, ``filter``, ``flat_map``... are traced once
into graph functions (tfnb/framework/function.py) whose captured tensors become inputs of the
op. Nothing is read or computed until an iterator (tfnb/data/iterator_ops.py) runs in a
session: then each dataset op's kernel returns a recipe (tfnb/data/engine.py) from which the
iterator makes its element iterators.

The ops live by family -- sources (tfnb/data/sources.py), transformations
(transformations.py), batching and grouping (batching.py), file readers (readers.py) --
each defined in one block: the Python class users call, the op registration (signature and
static checks) and the run-time classes (the dataset value and its iterator).

Example:
    >>> ds = tf.data.Dataset.range(10).map(lambda x: x * 2).batch(4)
    >>> nxt = ds.make_one_shot_iterator().get_next()
    >>> with tf.Session() as sess:
    ...     sess.run(nxt)
    array([0, 2, 4, 6])
"""
import re

import numpy as np

from ..framework import dtypes, errors
from ..framework import function as _function
from ..framework.graph import Tensor, get_default_graph
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape
from ..ops import core
from . import structure as st
from .engine import AUTOTUNE, FunctionCaller

__all__ = ["Dataset", "DatasetV1", "register_dataset_op", "trace_dataset_function",
           "dataset_tensor", "int64_arg", "static_int", "bound_function", "as_array"]

_VARIANT_SPEC = [(dtypes.variant, TensorShape([]))]
_CPU = ("CPU",)


# ----------------------------------------------------------------------------------------------
# Helpers shared by every dataset op
# ----------------------------------------------------------------------------------------------
def register_dataset_op(name, make_value, doc, check=None):
    """Registers a dataset op: output one variant; ``make_value(op, ctx)`` gives the kernel.

    ``check(op)`` runs when a node is created (static argument checks).
    """
    def infer(op):
        if check is not None:
            check(op)
        return _VARIANT_SPEC

    register_op(name, infer=infer, kernel=make_value, grad=NOT_DIFFERENTIABLE, foldable=False,
                device_types=_CPU, doc=doc)


def dataset_tensor(ds, what="input_dataset"):
    if not isinstance(ds, Dataset):
        raise TypeError("%s must be a tf.data.Dataset, got %r" % (what, ds))
    return ds._variant_tensor


def int64_arg(value, name):
    t = core.convert_to_tensor(value, dtype=dtypes.int64, name=name) \
        if not isinstance(value, Tensor) else value
    if t.dtype is dtypes.int32:
        from ..ops.math_ops import cast
        t = cast(t, dtypes.int64)
    if t.dtype is not dtypes.int64:
        raise TypeError("%s must be an int64 tensor, got %s" % (name, t.dtype.name))
    t.shape.with_rank(0)
    return t


def static_int(t):
    v = core.constant_value(t)
    return None if v is None else int(v)


def _fn_name(kind, fn):
    raw = getattr(fn, "__name__", "fn")
    raw = re.sub(r"[^A-Za-z0-9_]", "_", raw).strip("_") or "fn"
    return "Dataset_%s_%s" % (kind, raw)


def trace_dataset_function(fn, input_spec, kind, unpack=True):
    """Traces ``fn`` over elements of ``input_spec`` into a graph function.

    As in TF1, a tuple element is unpacked into positional arguments (a namedtuple or dict
    is passed whole); a returned list becomes a tuple.

    Returns:
        (GraphFunction, spec of the returned structure)
    """
    flat = st.flat_specs(input_spec)
    specs = [(dt, shape, "arg%d" % i) for i, (dt, shape) in enumerate(flat)]
    name = _fn_name(kind, fn)
    box = {}

    def body(*phs):
        args = st.from_components(input_spec, phs)
        res = fn(*args) if unpack and type(args) is tuple else fn(args)
        if isinstance(res, list):
            res = tuple(res)
        res = st.normalize(res)
        box["spec"] = st.spec_of(res)
        return st.to_components(res)

    fg, comps = _function.trace(body, specs, name, get_default_graph())
    with fg.as_default():
        comps = [t if t.graph is fg else fg._capture(t, name) for t in comps]
    return _function.GraphFunction(fg, comps, name), box["spec"]


def bound_function(f, ctx):
    """Graph function ``f`` bound to a session at kernel time: ``.caller(captured_values)``."""
    return _BoundFunction(f, ctx)


class _BoundFunction:
    __slots__ = ("f", "plan")

    def __init__(self, f, ctx):
        self.f = f
        self.plan = f.forward_plan(ctx, False)

    def caller(self, captured):
        return FunctionCaller(self.plan, captured, self.f.name)


def as_array(v):
    return np.asarray(v)


# ----------------------------------------------------------------------------------------------
# The Dataset base class (TF1's DatasetV1 API)
# ----------------------------------------------------------------------------------------------
class Dataset(st.HasElementSpec):
    """A sequence of elements, each a structure of tensors (TF1's ``tf.data.Dataset``).

    Build one from a source (``from_tensor_slices``, ``range``, a reader such as
    ``TFRecordDataset``), chain transformations (``map``, ``shuffle``, ``batch``...), then
    iterate with ``make_one_shot_iterator()`` or ``make_initializable_iterator()``.
    """

    def __init__(self, variant_tensor, element_spec):
        self._variant_tensor = variant_tensor
        self._element_spec = element_spec

    # --- structure: output_types/output_shapes/output_classes/element_spec (HasElementSpec) ---
    def __repr__(self):
        return "<%s shapes: %s, types: %s>" % (type(self).__name__, self.output_shapes,
                                              self.output_types)

    # --- sources ---
    @staticmethod
    def from_tensors(tensors):
        """A dataset of one element: ``tensors``."""
        from .sources import TensorDataset
        return TensorDataset(tensors)

    @staticmethod
    def from_tensor_slices(tensors):
        """The slices of ``tensors`` along their first dimension, one element each."""
        from .sources import TensorSliceDataset
        return TensorSliceDataset(tensors)

    @staticmethod
    def from_sparse_tensor_slices(sparse_tensor):
        """The rows of a SparseTensor, one (rank - 1) SparseTensor per element."""
        from .sources import TensorSliceDataset
        return TensorSliceDataset(sparse_tensor)

    @staticmethod
    def from_generator(generator, output_types, output_shapes=None, args=None):
        """Elements produced by the Python generator ``generator(*args)`` (one per iterator)."""
        from .sources import GeneratorDataset
        return GeneratorDataset(generator, output_types, output_shapes, args)

    @staticmethod
    def range(*args):
        """``range(stop)``, ``range(start, stop)``, ``range(start, stop, step)`` as int64."""
        from .sources import RangeDataset
        return RangeDataset(*args)

    @staticmethod
    def zip(datasets):
        """Elements of several datasets side by side (a nested structure of datasets)."""
        from .sources import ZipDataset
        return ZipDataset(datasets)

    @staticmethod
    def list_files(file_pattern, shuffle=None, seed=None):
        """The file names matching ``file_pattern`` (a glob), shuffled unless ``shuffle=False``."""
        from .readers import list_files
        return list_files(file_pattern, shuffle, seed)

    # --- transformations ---
    def concatenate(self, dataset):
        from .sources import ConcatenateDataset
        return ConcatenateDataset(self, dataset)

    def map(self, map_func, num_parallel_calls=None):
        """Applies ``map_func`` to each element; ``num_parallel_calls`` runs that many at once
        (results stay in input order)."""
        from .transformations import MapDataset
        return MapDataset(self, map_func, num_parallel_calls)

    def filter(self, predicate):
        """The elements for which ``predicate`` (a scalar bool function) is true."""
        from .transformations import FilterDataset
        return FilterDataset(self, predicate)

    def flat_map(self, map_func):
        """Maps each element to a dataset and flattens them in order."""
        from .transformations import FlatMapDataset
        return FlatMapDataset(self, map_func)

    def interleave(self, map_func, cycle_length=AUTOTUNE, block_length=1,
                   num_parallel_calls=None):
        """Maps elements to datasets and interleaves ``cycle_length`` of them, ``block_length``
        elements at a time, in TF's deterministic order (``num_parallel_calls`` is accepted;
        the inner datasets are read in the calling thread -- put a ``prefetch`` after)."""
        from .transformations import InterleaveDataset
        return InterleaveDataset(self, map_func, cycle_length, block_length, num_parallel_calls)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=None):
        """Shuffles with a buffer of ``buffer_size`` elements (uniformly when it holds all)."""
        from .transformations import ShuffleDataset
        return ShuffleDataset(self, buffer_size, seed, reshuffle_each_iteration)

    def repeat(self, count=None):
        """Repeats the dataset ``count`` times (None or -1: forever)."""
        from .transformations import RepeatDataset
        return RepeatDataset(self, count)

    def take(self, count):
        from .transformations import TakeDataset
        return TakeDataset(self, count)

    def skip(self, count):
        from .transformations import SkipDataset
        return SkipDataset(self, count)

    def shard(self, num_shards, index):
        """Every ``num_shards``-th element, starting at ``index``."""
        from .transformations import ShardDataset
        return ShardDataset(self, num_shards, index)

    def cache(self, filename=""):
        """Keeps the elements of the first full pass, in memory or in ``filename``."""
        from .readers import CacheDataset
        return CacheDataset(self, filename)

    def prefetch(self, buffer_size):
        """Prepares up to ``buffer_size`` elements in a background thread."""
        from .transformations import PrefetchDataset
        return PrefetchDataset(self, buffer_size)

    def batch(self, batch_size, drop_remainder=False):
        """Stacks ``batch_size`` consecutive elements (the last batch may be smaller)."""
        from .batching import BatchDataset
        return BatchDataset(self, batch_size, drop_remainder)

    def padded_batch(self, batch_size, padded_shapes, padding_values=None, drop_remainder=False):
        """Like ``batch``, padding each component to ``padded_shapes`` (None: the batch's max)."""
        from .batching import PaddedBatchDataset
        return PaddedBatchDataset(self, batch_size, padded_shapes, padding_values,
                                  drop_remainder)

    def apply(self, transformation_func):
        """``transformation_func(self)``, which must return a Dataset (``tf.data.experimental``)."""
        ds = transformation_func(self)
        if not isinstance(ds, Dataset):
            raise TypeError("`transformation_func` must return a Dataset. Got: %r" % (ds,))
        return ds

    def unbatch(self):
        from .batching import UnbatchDataset
        return UnbatchDataset(self)

    # --- iterators ---
    def make_one_shot_iterator(self):
        """An iterator that initializes itself on first use (no placeholders allowed)."""
        from .iterator_ops import Iterator
        return Iterator._one_shot(self)

    def make_initializable_iterator(self, shared_name=None):
        """An iterator to be initialized by running its ``initializer`` (may be fed)."""
        from .iterator_ops import Iterator
        return Iterator._initializable(self, shared_name)

    def __iter__(self):
        """Iterates in the default session, eagerly (notebooks): yields fetched elements."""
        from ..runtime.eager import executing_eagerly
        from ..runtime.session import get_default_session
        sess = get_default_session()
        if not executing_eagerly() or sess is None:
            raise RuntimeError("dataset.__iter__() is only supported when eager execution is "
                               "enabled; use make_one_shot_iterator().get_next() in graph mode")
        nxt = self.make_one_shot_iterator().get_next()
        while True:
            try:
                yield sess.run(nxt)
            except errors.OutOfRangeError:
                return


DatasetV1 = Dataset


class _VariantDataset(Dataset):
    """A dataset given as a variant tensor (a function argument, e.g. a window)."""

