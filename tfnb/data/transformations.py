"""Dataset transformations: map, filter, flat_map, interleave, shuffle, repeat, take,
skip, shard, prefetch and ignore_errors.

Each op is one block: the Python class (what ``Dataset.map`` & co. return), its
registration, and its run-time value and iterator (see tfnb/data/engine.py). Functions are
traced once into graph functions; their plans are bound to the session when the op's
kernel is compiled, their captured tensors are the op's extra inputs.
"""
import logging
import os
import threading

import numpy as np

from ..framework import dtypes, errors
from ..ops import core
from ..ops.random_ops import get_seed
from . import structure as st
from .dataset_ops import (bound_function, int64_arg, register_dataset_op, static_int,
                          trace_dataset_function, Dataset)
from .engine import (AUTOTUNE, DatasetValue, ElementIterator, ParallelMapIterator,
                     PrefetchIterator, scalar_value)

_log = logging.getLogger("tfnb.data")

__all__ = ["MapDataset", "FilterDataset", "FlatMapDataset", "InterleaveDataset",
           "ShuffleDataset", "RepeatDataset", "TakeDataset", "SkipDataset", "ShardDataset",
           "PrefetchDataset", "IgnoreErrorsDataset"]


class _UnaryDataset(Dataset):
    def __init__(self, input_dataset, variant, spec):
        self._input_dataset = input_dataset
        super().__init__(variant, spec)


# ----------------------------------------------------------------------------------------------
# MapDataset / ParallelMapDataset
# ----------------------------------------------------------------------------------------------
class MapDataset(_UnaryDataset):
    """``map_func`` applied to each element (on ``num_parallel_calls`` threads if given)."""

    def __init__(self, input_dataset, map_func, num_parallel_calls=None):
        f, spec = trace_dataset_function(map_func, input_dataset._element_spec, "map")
        ins = [input_dataset._variant_tensor]
        if num_parallel_calls is None:
            variant = core.out("MapDataset", ins + f.captured_inputs, {"f": f})
        else:
            n = core.convert_to_tensor(num_parallel_calls, dtype=dtypes.int32,
                                       name="num_parallel_calls")
            variant = core.out("ParallelMapDataset", ins + [n] + f.captured_inputs, {"f": f})
        super().__init__(input_dataset, variant, spec)


class _MapValue(DatasetValue):
    kind = "MapDataset"

    def __init__(self, source, fn, parallel):
        self.source = source
        self.fn = fn
        self.parallel = parallel

    def make_iterator(self, env):
        src = self.source.make_iterator(env)
        if self.parallel:
            return ParallelMapIterator(src, self.fn, self.parallel, env)
        return _MapIterator(src, self.fn)


class _MapIterator(ElementIterator):
    def __init__(self, src, fn):
        self._src = src
        self._fn = fn

    def get_next(self):
        e = self._src.get_next()
        return None if e is None else tuple(self._fn(e))

    def close(self):
        self._src.close()


def _map_kernel(parallel):
    def make(op, ctx):
        bound = bound_function(op._attrs["f"], ctx)

        def map_dataset(source, *rest):
            if not parallel:
                return _MapValue(source, bound.caller(rest), 0)
            n = scalar_value(rest[0], "num_parallel_calls")
            if n == AUTOTUNE:
                n = os.cpu_count() or 2
            if n <= 0:
                raise errors.InvalidArgumentError(
                    None, None, "num_parallel_calls must be greater than zero, got %d" % n)
            return _MapValue(source, bound.caller(rest[1:]), n)
        return map_dataset
    return make


register_dataset_op("MapDataset", _map_kernel(False), "Applies a function to each element.")
register_dataset_op("ParallelMapDataset", _map_kernel(True),
                    "Applies a function to each element on several threads (order kept).")


# ----------------------------------------------------------------------------------------------
# FilterDataset
# ----------------------------------------------------------------------------------------------
class FilterDataset(_UnaryDataset):
    """The elements for which ``predicate`` returns true."""

    def __init__(self, input_dataset, predicate):
        f, spec = trace_dataset_function(predicate, input_dataset._element_spec, "filter")
        if not (isinstance(spec, st.TensorStructure) and spec.dtype is dtypes.bool_ and
                spec.shape.is_compatible_with([])):
            raise ValueError("`predicate` return type must be convertible to a scalar boolean "
                             "tensor. Was %s." % (spec,))
        variant = core.out("FilterDataset", [input_dataset._variant_tensor] + f.captured_inputs,
                           {"predicate": f})
        super().__init__(input_dataset, variant, input_dataset._element_spec)


class _FilterValue(DatasetValue):
    kind = "FilterDataset"

    def __init__(self, source, fn):
        self.source = source
        self.fn = fn

    def make_iterator(self, env):
        return _FilterIterator(self.source.make_iterator(env), self.fn)


class _FilterIterator(ElementIterator):
    def __init__(self, src, fn):
        self._src = src
        self._fn = fn

    def get_next(self):
        while True:
            e = self._src.get_next()
            if e is None:
                return None
            keep = np.asarray(self._fn(e)[0])
            if keep.shape != ():
                raise errors.InvalidArgumentError(
                    None, None, "Filter predicate `predicate` must return a scalar bool, got "
                    "shape %s" % (keep.shape,))
            if keep:
                return e

    def close(self):
        self._src.close()


def _filter_kernel(op, ctx):
    bound = bound_function(op._attrs["predicate"], ctx)
    return lambda source, *caps: _FilterValue(source, bound.caller(caps))


register_dataset_op("FilterDataset", _filter_kernel,
                    "The elements for which a predicate function returns true.")


# ----------------------------------------------------------------------------------------------
# FlatMapDataset / InterleaveDataset
# ----------------------------------------------------------------------------------------------
def _dataset_fn(fn, input_spec, kind):
    f, spec = trace_dataset_function(fn, input_spec, kind)
    if not isinstance(spec, st.DatasetStructure):
        raise TypeError("`map_func` must return a `Dataset` object. Got %s" % (spec,))
    return f, spec.element_spec


class FlatMapDataset(_UnaryDataset):
    """Maps each element to a dataset (``map_func``) and yields their elements in order."""

    def __init__(self, input_dataset, map_func):
        f, spec = _dataset_fn(map_func, input_dataset._element_spec, "flat_map")
        variant = core.out("FlatMapDataset", [input_dataset._variant_tensor] + f.captured_inputs,
                           {"f": f})
        super().__init__(input_dataset, variant, spec)


class _FlatMapValue(DatasetValue):
    kind = "FlatMapDataset"

    def __init__(self, source, fn):
        self.source = source
        self.fn = fn

    def make_iterator(self, env):
        return _InterleaveIterator(self.source.make_iterator(env), self.fn, 1, 1, env)


class _InterleaveValue(DatasetValue):
    kind = "InterleaveDataset"

    def __init__(self, source, fn, cycle_length, block_length):
        self.source = source
        self.fn = fn
        self.cycle_length = cycle_length
        self.block_length = block_length

    def make_iterator(self, env):
        return _InterleaveIterator(self.source.make_iterator(env), self.fn, self.cycle_length,
                                   self.block_length, env)


class _InterleaveIterator(ElementIterator):
    """TF's interleave order: a cycle of ``cycle_length`` open inner iterators, taking
    ``block_length`` elements from each in turn; an exhausted one is replaced by the
    next input element's dataset in the same slot. ``cycle_length`` 1 is ``flat_map``."""

    def __init__(self, src, fn, cycle_length, block_length, env):
        self._src = src
        self._fn = fn
        self._cycle = [None] * cycle_length
        self._block_length = block_length
        self._env = env
        self._index = 0
        self._block = 0
        self._end_of_input = False
        self._open = 0

    def _advance_cycle(self):
        self._block = 0
        self._index = (self._index + 1) % len(self._cycle)

    def get_next(self):
        while not self._end_of_input or self._open:
            cur = self._cycle[self._index]
            if cur is not None:
                e = cur.get_next()
                if e is not None:
                    self._block += 1
                    if self._block == self._block_length:
                        self._advance_cycle()
                    return e
                cur.close()
                self._cycle[self._index] = None
                self._open -= 1
                self._advance_cycle()
            elif not self._end_of_input:
                x = self._src.get_next()
                if x is None:
                    self._end_of_input = True
                    continue
                value = self._fn(x)[0]
                self._cycle[self._index] = value.make_iterator(self._env)
                self._open += 1
            else:
                self._advance_cycle()
        return None

    def close(self):
        for it in self._cycle:
            if it is not None:
                it.close()
        self._cycle = [None] * len(self._cycle)
        self._open = 0
        self._end_of_input = True
        self._src.close()


def _flat_map_kernel(op, ctx):
    bound = bound_function(op._attrs["f"], ctx)
    return lambda source, *caps: _FlatMapValue(source, bound.caller(caps))


register_dataset_op("FlatMapDataset", _flat_map_kernel,
                    "Maps each element to a dataset and yields their elements in turn.")


class InterleaveDataset(_UnaryDataset):
    """Maps elements to datasets and interleaves ``cycle_length`` of them at a time."""

    def __init__(self, input_dataset, map_func, cycle_length, block_length=1,
                 num_parallel_calls=None):
        f, spec = _dataset_fn(map_func, input_dataset._element_spec, "interleave")
        if cycle_length is None:
            cycle_length = AUTOTUNE
        ins = [input_dataset._variant_tensor, int64_arg(cycle_length, "cycle_length"),
               int64_arg(block_length, "block_length")]
        variant = core.out("InterleaveDataset", ins + f.captured_inputs, {"f": f})
        super().__init__(input_dataset, variant, spec)


def _interleave_kernel(op, ctx):
    bound = bound_function(op._attrs["f"], ctx)

    def interleave_dataset(source, cycle_length, block_length, *caps):
        cycle = scalar_value(cycle_length, "cycle_length")
        block = scalar_value(block_length, "block_length")
        if cycle == AUTOTUNE:
            cycle = os.cpu_count() or 2
        if cycle <= 0:
            raise errors.InvalidArgumentError(None, None, "cycle_length must be greater than "
                                              "zero, got %d" % cycle)
        if block <= 0:
            raise errors.InvalidArgumentError(None, None, "block_length must be greater than "
                                              "zero, got %d" % block)
        return _InterleaveValue(source, bound.caller(caps), cycle, block)
    return interleave_dataset


register_dataset_op("InterleaveDataset", _interleave_kernel,
                    "Interleaves the datasets a function maps elements to.")


# ----------------------------------------------------------------------------------------------
# ShuffleDataset
# ----------------------------------------------------------------------------------------------
class ShuffleDataset(_UnaryDataset):
    """Shuffles with a buffer: each output is drawn uniformly from the next ``buffer_size``."""

    def __init__(self, input_dataset, buffer_size, seed=None, reshuffle_each_iteration=None):
        seed1, seed2 = get_seed(seed)
        ins = [input_dataset._variant_tensor, int64_arg(buffer_size, "buffer_size"),
               int64_arg(seed1 or 0, "seed"), int64_arg(seed2 or 0, "seed2")]
        reshuffle = True if reshuffle_each_iteration is None else bool(reshuffle_each_iteration)
        variant = core.out("ShuffleDataset", ins, {"reshuffle_each_iteration": reshuffle})
        super().__init__(input_dataset, variant, input_dataset._element_spec)


class _ShuffleValue(DatasetValue):
    """Seeds: every iterator of a ``reshuffle_each_iteration=False`` dataset uses the same
    seed (same order); otherwise each new iterator (each epoch of a repeat) draws the next
    seed from a generator seeded once per dataset value, so a re-initialized iterator sees
    the same sequence of orders. Seeds (0, 0) mean fresh entropy."""

    kind = "ShuffleDataset"

    def __init__(self, source, buffer_size, seed, seed2, reshuffle):
        self.source = source
        self.buffer_size = scalar_value(buffer_size, "buffer_size")
        if self.buffer_size <= 0:
            raise errors.InvalidArgumentError(None, None, "buffer_size must be greater than "
                                              "zero, got %d" % self.buffer_size)
        seed, seed2 = scalar_value(seed, "seed"), scalar_value(seed2, "seed2")
        self.seeded = bool(seed or seed2)
        self.seeds = [seed, seed2]
        self.reshuffle = reshuffle
        self._lock = threading.Lock()
        self._seed_stream = np.random.Generator(np.random.PCG64(self.seeds)) \
            if self.seeded else None

    def _rng(self):
        if not self.seeded:
            return np.random.Generator(np.random.PCG64())
        if not self.reshuffle:
            return np.random.Generator(np.random.PCG64(self.seeds))
        with self._lock:
            sub = self._seed_stream.integers(0, 2 ** 63, size=2)
        return np.random.Generator(np.random.PCG64([int(s) for s in sub]))

    def make_iterator(self, env):
        return _ShuffleIterator(self.source.make_iterator(env), self.buffer_size, self._rng())


class _ShuffleIterator(ElementIterator):
    def __init__(self, src, size, rng):
        self._src = src
        self._size = size
        self._rng = rng
        self._buf = []
        self._input_done = False

    def get_next(self):
        while not self._input_done and len(self._buf) < self._size:
            e = self._src.get_next()
            if e is None:
                self._input_done = True
                break
            self._buf.append(e)
        if not self._buf:
            return None
        j = int(self._rng.integers(len(self._buf)))
        out = self._buf[j]
        self._buf[j] = self._buf[-1]
        self._buf.pop()
        return out

    def close(self):
        self._buf = []
        self._src.close()


register_dataset_op(
    "ShuffleDataset",
    lambda op, ctx: lambda src, size, s1, s2: _ShuffleValue(
        src, size, s1, s2, op._attrs["reshuffle_each_iteration"]),
    "Shuffles its input with a buffer of buffer_size elements.")


# ----------------------------------------------------------------------------------------------
# RepeatDataset / TakeDataset / SkipDataset / ShardDataset
# ----------------------------------------------------------------------------------------------
class RepeatDataset(_UnaryDataset):
    def __init__(self, input_dataset, count=None):
        count = int64_arg(-1 if count is None else count, "count")
        variant = core.out("RepeatDataset", [input_dataset._variant_tensor, count], {})
        super().__init__(input_dataset, variant, input_dataset._element_spec)


class _RepeatValue(DatasetValue):
    kind = "RepeatDataset"

    def __init__(self, source, count):
        self.source = source
        self.count = scalar_value(count, "count")

    def make_iterator(self, env):
        return _RepeatIterator(self.source, self.count, env)


class _RepeatIterator(ElementIterator):
    """``count`` passes (negative: forever); an empty pass ends an endless repeat."""

    def __init__(self, source, count, env):
        self._source = source
        self._left = count
        self._env = env
        self._it = None
        self._got = False

    def get_next(self):
        while self._left != 0:
            if self._it is None:
                self._it = self._source.make_iterator(self._env)
                self._got = False
            e = self._it.get_next()
            if e is not None:
                self._got = True
                return e
            self._it.close()
            self._it = None
            if self._left > 0:
                self._left -= 1
            elif not self._got:
                self._left = 0  # the input is empty: repeating it forever gives nothing
        return None

    def close(self):
        if self._it is not None:
            self._it.close()
            self._it = None
        self._left = 0


register_dataset_op("RepeatDataset", lambda op, ctx: _RepeatValue,
                    "Its input repeated count times (-1: forever).")


class TakeDataset(_UnaryDataset):
    def __init__(self, input_dataset, count):
        variant = core.out("TakeDataset", [input_dataset._variant_tensor,
                                           int64_arg(count, "count")], {})
        super().__init__(input_dataset, variant, input_dataset._element_spec)


class SkipDataset(_UnaryDataset):
    def __init__(self, input_dataset, count):
        variant = core.out("SkipDataset", [input_dataset._variant_tensor,
                                           int64_arg(count, "count")], {})
        super().__init__(input_dataset, variant, input_dataset._element_spec)


class ShardDataset(_UnaryDataset):
    def __init__(self, input_dataset, num_shards, index):
        ins = [input_dataset._variant_tensor, int64_arg(num_shards, "num_shards"),
               int64_arg(index, "index")]
        variant = core.out("ShardDataset", ins, {})
        super().__init__(input_dataset, variant, input_dataset._element_spec)


def _shard_check(op):
    n, i = static_int(op._inputs[1]), static_int(op._inputs[2])
    if n is not None and n <= 0:
        raise ValueError("num_shards must be greater than zero, got %d" % n)
    if i is not None and (i < 0 or (n is not None and i >= n)):
        raise ValueError("index must be in [0, num_shards), got index %d for %s shards" % (i, n))


class _SliceOfValue(DatasetValue):
    """Take, Skip and Shard: which input positions to keep."""

    def __init__(self, kind, source, a, b=None):
        self.kind = kind
        self.source = source
        self.a = scalar_value(a, "count" if b is None else "num_shards")
        self.b = None if b is None else scalar_value(b, "index")
        if kind == "ShardDataset" and (self.a <= 0 or not 0 <= self.b < self.a):
            raise errors.InvalidArgumentError(
                None, None, "Shard: num_shards must be > 0 and 0 <= index < num_shards, got "
                "num_shards %d and index %d" % (self.a, self.b))

    def make_iterator(self, env):
        return _SliceOfIterator(self, self.source.make_iterator(env))


class _SliceOfIterator(ElementIterator):
    def __init__(self, v, src):
        self._v = v
        self._src = src
        self._pos = 0

    def get_next(self):
        v = self._v
        while True:
            if v.kind == "TakeDataset" and 0 <= v.a <= self._pos:
                self._src.close()  # as TF: the input is released once count elements are taken
                return None
            if v.kind == "SkipDataset" and v.a < 0:
                while self._src.get_next() is not None:
                    pass
                return None
            e = self._src.get_next()
            if e is None:
                return None
            pos = self._pos
            self._pos += 1
            if v.kind == "SkipDataset" and pos < v.a:
                continue
            if v.kind == "ShardDataset" and pos % v.a != v.b:
                continue
            return e

    def close(self):
        self._src.close()


for _kind in ("TakeDataset", "SkipDataset"):
    register_dataset_op(_kind, (lambda k: lambda op, ctx: lambda src, n: _SliceOfValue(
        k, src, n))(_kind), "The first count elements (take) or all after them (skip).")
register_dataset_op("ShardDataset",
                    lambda op, ctx: lambda src, n, i: _SliceOfValue("ShardDataset", src, n, i),
                    "Every num_shards-th element of its input, starting at index.",
                    check=_shard_check)


# ----------------------------------------------------------------------------------------------
# PrefetchDataset
# ----------------------------------------------------------------------------------------------
class PrefetchDataset(_UnaryDataset):
    def __init__(self, input_dataset, buffer_size):
        variant = core.out("PrefetchDataset", [input_dataset._variant_tensor,
                                               int64_arg(buffer_size, "buffer_size")], {})
        super().__init__(input_dataset, variant, input_dataset._element_spec)


class _PrefetchValue(DatasetValue):
    kind = "PrefetchDataset"

    def __init__(self, source, size):
        self.source = source
        self.size = scalar_value(size, "buffer_size")
        if self.size == AUTOTUNE:
            self.size = 4
        if self.size < 0:
            raise errors.InvalidArgumentError(None, None, "buffer_size must be >= 0 or "
                                              "AUTOTUNE, got %d" % self.size)

    def make_iterator(self, env):
        src = self.source.make_iterator(env)
        if self.size == 0:
            return src
        return PrefetchIterator(src, self.size, env)


register_dataset_op("PrefetchDataset", lambda op, ctx: _PrefetchValue,
                    "Prepares up to buffer_size elements of its input in a background thread.")


# ----------------------------------------------------------------------------------------------
# IgnoreErrorsDataset (tf.data.experimental.ignore_errors)
# ----------------------------------------------------------------------------------------------
class IgnoreErrorsDataset(_UnaryDataset):
    def __init__(self, input_dataset):
        variant = core.out("IgnoreErrorsDataset", [input_dataset._variant_tensor], {})
        super().__init__(input_dataset, variant, input_dataset._element_spec)


class _IgnoreErrorsValue(DatasetValue):
    kind = "IgnoreErrorsDataset"

    def __init__(self, source):
        self.source = source

    def make_iterator(self, env):
        return _IgnoreErrorsIterator(self.source.make_iterator(env))


class _IgnoreErrorsIterator(ElementIterator):
    """Skips the elements whose computation failed; ``dropped`` counts them, and each one is
    reported on the ``tfnb.data`` logger (nothing is dropped silently)."""

    def __init__(self, src):
        self._src = src
        self.dropped = 0

    def get_next(self):
        while True:
            try:
                return self._src.get_next()
            except errors.OpError as e:
                if isinstance(e, (errors.CancelledError, errors.OutOfRangeError)):
                    raise
                self.dropped += 1
                _log.warning("ignore_errors: dropped an element (%d so far): %s: %s",
                             self.dropped, type(e).__name__, e.message.split("\n")[0])

    def close(self):
        self._src.close()


register_dataset_op("IgnoreErrorsDataset", lambda op, ctx: _IgnoreErrorsValue,
                    "Its input without the elements whose computation raised an error.")
