"""Dataset sources: tensors, slices, ranges, Python generators, zip and concatenate.

Each op is one block: the Python class (what ``tf.data.Dataset.from_tensor_slices`` & co.
return), its registration, and its run-time value and iterator (see tfnb/data/engine.py).
"""
import numpy as np

from ..framework import dtypes, errors
from ..framework.tensor_shape import Dimension, unknown_shape
from ..ops import core
from ..ops.sparse_ops import SparseTensor
from . import structure as st
from .dataset_ops import (Dataset, as_array, dataset_tensor, int64_arg, register_dataset_op,
                          static_int)
from .engine import DatasetValue, ElementIterator, scalar_value

__all__ = ["TensorDataset", "TensorSliceDataset", "RangeDataset", "GeneratorDataset",
           "ZipDataset", "ConcatenateDataset"]

# ----------------------------------------------------------------------------------------------
# TensorDataset / TensorSliceDataset
# ----------------------------------------------------------------------------------------------
class TensorDataset(Dataset):
    """One element: the given structure of tensors."""

    def __init__(self, tensors):
        value = st.normalize(tensors)
        spec = st.spec_of(value)
        comps = st.to_components(value)
        variant = core.out("TensorDataset", comps, {"kinds": st.flat_kinds(spec)})
        super().__init__(variant, spec)


class _TensorValue(DatasetValue):
    kind = "TensorDataset"

    def __init__(self, element):
        self.element = element

    def make_iterator(self, env):
        return _ListIterator([self.element])


class _ListIterator(ElementIterator):
    def __init__(self, elements):
        self._elements = elements
        self._i = 0

    def get_next(self):
        if self._i >= len(self._elements):
            return None
        self._i += 1
        return self._elements[self._i - 1]


register_dataset_op("TensorDataset",
                    lambda op, ctx: lambda *comps: _TensorValue(tuple(as_array(c) for c in comps)),
                    "A dataset of one element, its input tensors.")


class TensorSliceDataset(Dataset):
    """The slices along dimension 0 of the components (SparseTensors: their rows)."""

    def __init__(self, tensors):
        value = st.normalize(tensors)
        leaves = st.flatten(value)
        if not leaves:
            raise ValueError("from_tensor_slices needs at least one tensor")
        batch = Dimension(None)
        specs = []
        for leaf in leaves:
            if isinstance(leaf, Dataset):
                raise TypeError("from_tensor_slices cannot slice a Dataset")
            if isinstance(leaf, SparseTensor):
                shape = st._sparse_static_shape(leaf)
                if shape.ndims == 0:
                    raise ValueError("Unbatching a sparse tensor is only supported for rank >= 1")
                batch = batch.merge_with(shape[0] if shape.ndims else Dimension(None))
                specs.append(st.SparseStructure(leaf.dtype, shape[1:] if shape.ndims is not None
                                                else unknown_shape()))
                continue
            s = leaf.shape
            if s.ndims == 0:
                raise ValueError("Unbatching a tensor is only supported for rank >= 1 (got %s "
                                 "of shape %s)" % (leaf.name, s))
            if s.ndims is not None:
                try:
                    batch = batch.merge_with(s[0])
                except ValueError:
                    raise ValueError("Dimensions %s and %s are not compatible: all components "
                                     "of from_tensor_slices must have the same size in "
                                     "dimension 0" % (batch, s[0])) from None
            specs.append(st.TensorStructure(leaf.dtype, s[1:] if s.ndims is not None
                                            else unknown_shape()))
        spec = st.pack(value, specs)
        variant = core.out("TensorSliceDataset", st.to_components(value),
                           {"kinds": st.flat_kinds(spec)})
        super().__init__(variant, spec)


def _slice_sparse(indices, values, shape):
    """The rows of a sparse tensor: [(indices, values, shape)] with one dimension less."""
    n = int(shape[0])
    rows = indices[:, 0] if len(indices) else np.zeros([0], np.int64)
    out = []
    for i in range(n):
        sel = rows == i
        out.append((np.ascontiguousarray(indices[sel][:, 1:]), values[sel],
                    np.asarray(shape[1:], np.int64)))
    return out


class _SliceValue(DatasetValue):
    kind = "TensorSliceDataset"

    def __init__(self, comps, kinds):
        self.kinds = kinds
        sizes = []
        self.parts = []  # per leaf: ("dense", array) or ("sparse", [rows])
        i = 0
        while i < len(comps):
            if kinds[i] == "sparse_indices":
                rows = _slice_sparse(*comps[i:i + 3])
                self.parts.append(("sparse", rows))
                sizes.append(len(rows))
                i += 3
            else:
                a = as_array(comps[i])
                if a.ndim == 0:
                    raise errors.InvalidArgumentError(
                        None, None, "from_tensor_slices: component %d is a scalar" % i)
                self.parts.append(("dense", a))
                sizes.append(a.shape[0])
                i += 1
        if len(set(sizes)) > 1:
            raise errors.InvalidArgumentError(
                None, None, "Dimension 0 in both shapes must be equal: the components of "
                "from_tensor_slices have %s slices" % sizes)
        self.n = sizes[0]

    def element(self, j):
        out = []
        for kind, p in self.parts:
            if kind == "sparse":
                out.extend(p[j])
            else:
                out.append(p[j, ...])
        return tuple(out)

    def make_iterator(self, env):
        return _SliceIterator(self)


class _SliceIterator(ElementIterator):
    def __init__(self, value):
        self._v = value
        self._i = 0

    def get_next(self):
        if self._i >= self._v.n:
            return None
        self._i += 1
        return self._v.element(self._i - 1)


register_dataset_op("TensorSliceDataset",
                    lambda op, ctx: lambda *comps: _SliceValue(comps, op._attrs["kinds"]),
                    "The slices of its input tensors along dimension 0, one element each.")


# ----------------------------------------------------------------------------------------------
# RangeDataset
# ----------------------------------------------------------------------------------------------
class RangeDataset(Dataset):
    """int64 ``range(start, stop, step)`` (the arguments may be tensors)."""

    def __init__(self, *args):
        if not 1 <= len(args) <= 3:
            raise ValueError("Invalid arguments to RangeDataset: %r" % (args,))
        if len(args) == 1:
            start, stop, step = 0, args[0], 1
        elif len(args) == 2:
            (start, stop), step = args, 1
        else:
            start, stop, step = args
        ins = [int64_arg(start, "start"), int64_arg(stop, "stop"), int64_arg(step, "step")]
        variant = core.out("RangeDataset", ins, {})
        super().__init__(variant, st.TensorStructure(dtypes.int64, []))


def _range_check(op):
    step = static_int(op._inputs[2])
    if step == 0:
        raise ValueError("step must be a non-zero integer.")


class _RangeValue(DatasetValue):
    kind = "RangeDataset"

    def __init__(self, start, stop, step):
        self.start = scalar_value(start, "start")
        self.stop = scalar_value(stop, "stop")
        self.step = scalar_value(step, "step")
        if self.step == 0:
            raise errors.InvalidArgumentError(None, None, "step must be a non-zero integer.")

    def make_iterator(self, env):
        return _RangeIterator(self)


class _RangeIterator(ElementIterator):
    def __init__(self, v):
        self._next = v.start
        self._stop = v.stop
        self._step = v.step

    def get_next(self):
        n = self._next
        if (self._step > 0 and n >= self._stop) or (self._step < 0 and n <= self._stop):
            return None
        self._next = n + self._step
        return (np.asarray(n, np.int64),)


register_dataset_op("RangeDataset", lambda op, ctx: _RangeValue,
                    "int64 values from start (inclusive) to stop (exclusive) by step.",
                    check=_range_check)


# ----------------------------------------------------------------------------------------------
# GeneratorDataset
# ----------------------------------------------------------------------------------------------
class GeneratorDataset(Dataset):
    """Elements yielded by a Python generator function (``Dataset.from_generator``)."""

    def __init__(self, generator, output_types, output_shapes=None, args=None):
        if not callable(generator):
            raise TypeError("`generator` must be callable.")
        spec = st.from_legacy(output_types, output_shapes)
        if any(not isinstance(s, st.TensorStructure) for s in st.flatten(spec)):
            raise TypeError("from_generator supports dense tensor components only")
        arg_tensors = [core.convert_to_tensor(a) for a in (args or ())]
        variant = core.out("GeneratorDataset", arg_tensors,
                           {"generator": generator, "spec": spec})
        super().__init__(variant, spec)


class _GeneratorValue(DatasetValue):
    kind = "GeneratorDataset"

    def __init__(self, generator, spec, args):
        self.generator = generator
        self.spec = spec
        self.args = [a[()] if a.ndim == 0 else a for a in (np.asarray(x) for x in args)]

    def make_iterator(self, env):
        return _GeneratorIterator(self)


class _GeneratorIterator(ElementIterator):
    def __init__(self, value):
        self._v = value
        self._it = None
        self._done = False

    def get_next(self):
        if self._done:
            return None
        if self._it is None:
            self._it = iter(self._v.generator(*self._v.args))
        try:
            item = next(self._it)
        except StopIteration:
            self._done = True
            return None
        return _convert_generated(item, self._v.spec)

    def close(self):
        it, self._it = self._it, None
        if it is not None and hasattr(it, "close"):
            it.close()


def _convert_generated(item, spec):
    """A generated Python value checked against ``spec`` and turned into component arrays."""
    if isinstance(item, list) and isinstance(spec, tuple):
        item = tuple(item)
    try:
        st.assert_same_structure(spec, item if isinstance(item, (tuple, dict)) else item,
                                 "element and output_types")
        leaves = st.flatten(item)
    except (TypeError, ValueError):
        raise errors.InvalidArgumentError(
            None, None, "`generator` yielded an element that did not match the expected "
            "structure. The expected structure was %s, but the yielded element was %r."
            % (st.output_types(spec), item)) from None
    out = []
    for v, s in zip(leaves, st.flatten(spec)):
        try:
            if s.dtype is dtypes.string:
                a = core.to_numpy(v, dtypes.string)[0]
            else:
                a = np.asarray(v)
                if a.dtype.kind in "SUO" or (a.dtype.kind == "f" and s.dtype.is_integer):
                    raise TypeError("got %s" % a.dtype)
                a = a.astype(s.dtype.np, copy=False)
        except (TypeError, ValueError) as e:
            raise errors.InvalidArgumentError(
                None, None, "`generator` yielded an element that could not be converted to the "
                "expected type. The expected type was %s, but the yielded element was %r (%s)."
                % (s.dtype.name, v, e)) from None
        dims = s.shape.as_tuple()
        if dims is not None and (len(dims) != a.ndim or any(
                d is not None and d != n for d, n in zip(dims, a.shape))):
            raise errors.InvalidArgumentError(
                None, None, "`generator` yielded an element of shape %s where an element of "
                "shape %s was expected." % (list(a.shape), s.shape))
        out.append(a)
    return tuple(out)


register_dataset_op(
    "GeneratorDataset",
    lambda op, ctx: lambda *args: _GeneratorValue(op._attrs["generator"], op._attrs["spec"],
                                                  args),
    "Elements yielded by a Python generator (called once per iterator).")


# ----------------------------------------------------------------------------------------------
# ZipDataset / ConcatenateDataset
# ----------------------------------------------------------------------------------------------
class ZipDataset(Dataset):
    """Elements of several datasets, side by side, nested like ``datasets``."""

    def __init__(self, datasets):
        leaves = st.flatten(datasets)
        for d in leaves:
            if not isinstance(d, Dataset):
                raise TypeError("The argument to `Dataset.zip()` must be a (nested) structure of "
                                "`Dataset` objects, got %r" % (d,))
        spec = st.pack(datasets, [d._element_spec for d in leaves])
        sizes = [len(st.flat_specs(d._element_spec)) for d in leaves]
        variant = core.out("ZipDataset", [d._variant_tensor for d in leaves], {"sizes": sizes})
        self._datasets = datasets
        super().__init__(variant, spec)


class _ZipValue(DatasetValue):
    kind = "ZipDataset"

    def __init__(self, inputs):
        self.inputs = inputs

    def make_iterator(self, env):
        return _ZipIterator([d.make_iterator(env) for d in self.inputs])


class _ZipIterator(ElementIterator):
    def __init__(self, its):
        self._its = its
        self._done = False

    def get_next(self):
        if self._done:
            return None
        out = []
        for it in self._its:
            e = it.get_next()
            if e is None:
                self._done = True
                return None
            out.extend(e)
        return tuple(out)

    def close(self):
        for it in self._its:
            it.close()


register_dataset_op("ZipDataset", lambda op, ctx: lambda *ds: _ZipValue(ds),
                    "The elements of its input datasets side by side; ends with the shortest.")


def _most_specific(a, b, what):
    """The element spec of ``a`` and ``b`` combined (dtypes equal, shapes generalized)."""
    try:
        st.assert_same_structure(a, b)
    except TypeError:
        raise TypeError("%s: the datasets have different structures: %s vs %s"
                        % (what, st.output_types(a), st.output_types(b))) from None
    leaves = []
    for x, y in zip(st.flatten(a), st.flatten(b)):
        if type(x) is not type(y) or x.dtype is not y.dtype:
            raise TypeError("%s: the datasets have different types %s and %s"
                            % (what, st.output_types(a), st.output_types(b)))
        if isinstance(x, st.DatasetStructure):
            leaves.append(x)
        else:
            leaves.append(type(x)(x.dtype, x.shape.most_specific_compatible_shape(y.shape)))
    return st.pack(a, leaves)


class ConcatenateDataset(Dataset):
    """The elements of ``input_dataset`` followed by those of ``dataset_to_concatenate``."""

    def __init__(self, input_dataset, dataset_to_concatenate):
        dataset_tensor(dataset_to_concatenate, "dataset")
        spec = _most_specific(input_dataset._element_spec, dataset_to_concatenate._element_spec,
                              "concatenate")
        variant = core.out("ConcatenateDataset", [input_dataset._variant_tensor,
                                                  dataset_to_concatenate._variant_tensor], {})
        super().__init__(variant, spec)


class _ConcatValue(DatasetValue):
    kind = "ConcatenateDataset"

    def __init__(self, a, b):
        self.parts = (a, b)

    def make_iterator(self, env):
        return _ChainIterator(self.parts, env)


class _ChainIterator(ElementIterator):
    def __init__(self, parts, env):
        self._parts = list(parts)
        self._env = env
        self._it = None

    def get_next(self):
        while True:
            if self._it is None:
                if not self._parts:
                    return None
                self._it = self._parts.pop(0).make_iterator(self._env)
            e = self._it.get_next()
            if e is not None:
                return e
            self._it.close()
            self._it = None

    def close(self):
        if self._it is not None:
            self._it.close()
        self._parts = []


register_dataset_op("ConcatenateDataset", lambda op, ctx: _ConcatValue,
                    "The elements of the first dataset, then those of the second.")
