"""The structure of dataset elements: nesting, component specs, flattening.

An element of a dataset is a nested structure -- tuples (and namedtuples) and dicts -- whose
leaves are dense tensors, sparse tensors or (for ``group_by_window``'s windows) datasets.
As in ``tf.data``, a Python *list* is not a structure but a tensor: ``from_tensor_slices([1,
2])`` slices one tensor, and a function that returns a list returns a tuple.

In the graph, and at run time, an element is a flat list of *components*:

* a dense tensor is one component;
* a ``SparseTensor`` is three: indices (int64 ``[N, rank]``), values (``[N]``) and
  dense_shape (int64 ``[rank]``);
* a dataset is one ``variant`` component (its run-time value is a dataset value).

A :class:`TensorStructure`/:class:`SparseStructure`/:class:`DatasetStructure` describes one
leaf; the nested structure of them is the dataset's *element spec*, from which TF1's
``output_types``, ``output_shapes`` and ``output_classes`` are read.
"""
from ..framework import dtypes
from ..framework.graph import Tensor
from ..framework.tensor_shape import TensorShape, as_shape, unknown_shape
from ..ops import core
from ..ops.sparse_ops import SparseTensor, SparseTensorValue

__all__ = ["TensorStructure", "SparseStructure", "DatasetStructure", "flatten", "pack",
           "map_structure", "normalize", "spec_of", "flat_specs", "flat_kinds", "to_components",
           "from_components", "assert_same_structure", "output_types", "output_shapes",
           "output_classes", "from_legacy", "is_compatible", "HasElementSpec"]


# ----------------------------------------------------------------------------------------------
# Nesting: tuples, namedtuples and dicts are structure; everything else is a leaf
# ----------------------------------------------------------------------------------------------
def _is_nested(x):
    return isinstance(x, (tuple, dict))


def flatten(structure):
    """The leaves of ``structure`` in order (dict entries by sorted key)."""
    if isinstance(structure, dict):
        out = []
        for k in sorted(structure):
            out.extend(flatten(structure[k]))
        return out
    if isinstance(structure, tuple):
        out = []
        for s in structure:
            out.extend(flatten(s))
        return out
    return [structure]


def _pack(structure, it):
    if isinstance(structure, dict):
        vals = {k: _pack(structure[k], it) for k in sorted(structure)}
        return type(structure)((k, vals[k]) for k in structure)
    if isinstance(structure, tuple):
        vals = [_pack(s, it) for s in structure]
        return type(structure)(*vals) if hasattr(structure, "_fields") else tuple(vals)
    return next(it)


def pack(structure, leaves):
    """Rebuilds ``structure`` with ``leaves`` (in :func:`flatten`'s order)."""
    leaves = list(leaves)
    it = iter(leaves)
    out = _pack(structure, it)
    if next(it, _END) is not _END:
        raise ValueError("Structure has %d leaves, got %d values" % (len(flatten(structure)),
                                                                     len(leaves)))
    return out


_END = object()


def map_structure(fn, structure):
    return pack(structure, [fn(x) for x in flatten(structure)])


def _shape_signature(x):
    if isinstance(x, dict):
        return ("dict", tuple((k, _shape_signature(x[k])) for k in sorted(x)))
    if isinstance(x, tuple):
        return ("tuple", tuple(_shape_signature(s) for s in x))
    return "."


def assert_same_structure(a, b, what="structures"):
    """Raises ``TypeError`` unless ``a`` and ``b`` nest the same way."""
    if _shape_signature(a) != _shape_signature(b):
        raise TypeError("The two %s don't have the same nested structure: %s vs %s"
                        % (what, _describe(a), _describe(b)))


def _describe(x):
    if isinstance(x, dict):
        return "{%s}" % ", ".join("%r: %s" % (k, _describe(x[k])) for k in sorted(x))
    if isinstance(x, tuple):
        return "(%s)" % ", ".join(_describe(s) for s in x)
    return repr(x)


# ----------------------------------------------------------------------------------------------
# Leaf specs
# ----------------------------------------------------------------------------------------------
class TensorStructure:
    """A dense tensor leaf: dtype and (possibly partial) shape."""

    __slots__ = ("dtype", "shape")
    n_components = 1

    def __init__(self, dtype, shape):
        self.dtype = dtypes.as_dtype(dtype)
        self.shape = as_shape(shape)

    @property
    def output_class(self):
        return Tensor

    def components(self):
        return [(self.dtype, self.shape)]

    def kinds(self):
        return ["dense"]

    def is_compatible_with(self, other):
        return type(other) is TensorStructure and other.dtype is self.dtype and \
            self.shape.is_compatible_with(other.shape)

    def batched(self, n):
        return TensorStructure(self.dtype, TensorShape([n]).concatenate(self.shape))

    def unbatched(self):
        s = self.shape.with_rank_at_least(1)
        return TensorStructure(self.dtype, s[1:])

    def __repr__(self):
        return "TensorStructure(%s, %s)" % (self.dtype.name, self.shape)


class SparseStructure:
    """A ``SparseTensor`` leaf: value dtype and dense shape (three components)."""

    __slots__ = ("dtype", "shape")
    n_components = 3

    def __init__(self, dtype, shape):
        self.dtype = dtypes.as_dtype(dtype)
        self.shape = as_shape(shape)

    @property
    def output_class(self):
        return SparseTensor

    def components(self):
        rank = self.shape.ndims
        return [(dtypes.int64, TensorShape([None, rank])), (self.dtype, TensorShape([None])),
                (dtypes.int64, TensorShape([rank]))]

    def kinds(self):
        return ["sparse_indices", "sparse_values", "sparse_shape"]

    def is_compatible_with(self, other):
        return type(other) is SparseStructure and other.dtype is self.dtype and \
            self.shape.is_compatible_with(other.shape)

    def batched(self, n):
        return SparseStructure(self.dtype, TensorShape([n]).concatenate(self.shape))

    def __repr__(self):
        return "SparseStructure(%s, %s)" % (self.dtype.name, self.shape)


class DatasetStructure:
    """A nested dataset leaf (a window of ``group_by_window``): one variant component."""

    __slots__ = ("element_spec",)
    n_components = 1
    dtype = dtypes.variant
    shape = TensorShape([])

    def __init__(self, element_spec):
        self.element_spec = element_spec

    @property
    def output_class(self):
        from .dataset_ops import Dataset
        return Dataset

    def components(self):
        return [(dtypes.variant, TensorShape([]))]

    def kinds(self):
        return ["dataset"]

    def is_compatible_with(self, other):
        return type(other) is DatasetStructure and is_compatible(self.element_spec,
                                                                 other.element_spec)

    def __repr__(self):
        return "DatasetStructure(%r)" % (self.element_spec,)


def _is_spec(x):
    return isinstance(x, (TensorStructure, SparseStructure, DatasetStructure))


# ----------------------------------------------------------------------------------------------
# Values <-> specs <-> flat components
# ----------------------------------------------------------------------------------------------
def normalize(value, dtype_hint=None):
    """``value`` as a structure of Tensors, SparseTensors and Datasets (lists -> tensors)."""
    from .dataset_ops import Dataset

    def leaf(v):
        if isinstance(v, (Tensor, SparseTensor, Dataset)):
            return v
        if isinstance(v, SparseTensorValue):
            return SparseTensor.from_value(v)
        return core.convert_to_tensor(v)

    if isinstance(value, list):
        return leaf(value)
    return map_structure(leaf, value)


def spec_of(value):
    """The element spec of a normalized structure."""
    from .dataset_ops import Dataset

    def leaf(v):
        if isinstance(v, Tensor):
            return TensorStructure(v.dtype, v.shape)
        if isinstance(v, SparseTensor):
            return SparseStructure(v.dtype, _sparse_static_shape(v))
        if isinstance(v, Dataset):
            return DatasetStructure(v._element_spec)
        raise TypeError("Unsupported dataset element component %r" % (v,))
    return map_structure(leaf, value)


def _sparse_static_shape(sp):
    rank = sp.indices.shape.with_rank(2)[1].value
    if rank is None:
        rank = sp.dense_shape.shape.with_rank(1)[0].value
    shape = core.constant_value_as_shape(sp.dense_shape)
    if shape.ndims is None and rank is not None:
        shape = unknown_shape(rank)
    return shape


def flat_specs(spec):
    """[(dtype, shape)] of the flat components of ``spec``."""
    out = []
    for leaf in flatten(spec):
        out.extend(leaf.components())
    return out


def flat_kinds(spec):
    """Per flat component: "dense", "sparse_indices/values/shape" or "dataset"."""
    out = []
    for leaf in flatten(spec):
        out.extend(leaf.kinds())
    return out


def to_components(value):
    """The flat component tensors of a normalized structure (one per component)."""
    from .dataset_ops import Dataset
    out = []
    for v in flatten(value):
        if isinstance(v, SparseTensor):
            out.extend([v.indices, v.values, v.dense_shape])
        elif isinstance(v, Dataset):
            out.append(v._variant_tensor)
        else:
            out.append(v)
    return out


def from_components(spec, tensors):
    """Rebuilds the structure ``spec`` describes from its flat component tensors."""
    from .dataset_ops import _VariantDataset
    tensors = list(tensors)
    leaves = []
    i = 0
    for leaf in flatten(spec):
        if isinstance(leaf, SparseStructure):
            sp = SparseTensor(tensors[i], tensors[i + 1], tensors[i + 2])
            leaves.append(sp)
        elif isinstance(leaf, DatasetStructure):
            leaves.append(_VariantDataset(tensors[i], leaf.element_spec))
        else:
            t = tensors[i]
            if leaf.shape.ndims is not None:
                t.set_shape(leaf.shape)
            leaves.append(t)
        i += leaf.n_components
    if i != len(tensors):
        raise ValueError("Expected %d component tensors, got %d" % (i, len(tensors)))
    return pack(spec, leaves)


def is_compatible(a, b):
    """Whether element specs ``a`` and ``b`` nest alike, with compatible dtypes and shapes."""
    if _shape_signature(a) != _shape_signature(b):
        return False
    return all(x.is_compatible_with(y) for x, y in zip(flatten(a), flatten(b)))


# ----------------------------------------------------------------------------------------------
# TF1's output_types / output_shapes / output_classes
# ----------------------------------------------------------------------------------------------
def output_types(spec):
    return map_structure(lambda s: output_types(s.element_spec)
                         if isinstance(s, DatasetStructure) else s.dtype, spec)


def output_shapes(spec):
    return map_structure(lambda s: output_shapes(s.element_spec)
                         if isinstance(s, DatasetStructure) else s.shape, spec)


def output_classes(spec):
    return map_structure(lambda s: s.output_class, spec)


class HasElementSpec:
    """TF1's structure properties of an object with an ``_element_spec`` (datasets, iterators)."""

    @property
    def output_types(self):
        """The dtypes of an element's components, nested like the element."""
        return output_types(self._element_spec)

    @property
    def output_shapes(self):
        """The static shapes of an element's components, nested like the element."""
        return output_shapes(self._element_spec)

    @property
    def output_classes(self):
        """``tf.Tensor``/``tf.SparseTensor`` per component, nested like the element."""
        return output_classes(self._element_spec)

    @property
    def element_spec(self):
        return self._element_spec


def from_legacy(types, shapes=None, classes=None):
    """An element spec from TF1's (output_types, output_shapes, output_classes)."""
    if shapes is None:
        shapes = map_structure(lambda _: unknown_shape(), types)
    else:
        shapes = _shapes_like(types, shapes)
    if classes is None:
        classes = map_structure(lambda _: Tensor, types)
    t_leaves = flatten(types)
    s_leaves = flatten(shapes)
    c_leaves = flatten(classes)
    if not (len(t_leaves) == len(s_leaves) == len(c_leaves)):
        raise TypeError("output_types, output_shapes and output_classes must have the same "
                        "structure")
    leaves = []
    for t, s, c in zip(t_leaves, s_leaves, c_leaves):
        if c is SparseTensor:
            leaves.append(SparseStructure(t, s))
        else:
            leaves.append(TensorStructure(t, s))
    return pack(types, leaves)


def _shapes_like(types, shapes):
    """``shapes`` nested like ``types`` (a single shape may be a list of dims)."""
    if not _is_nested(types):
        return as_shape(shapes)
    if isinstance(types, dict):
        if not isinstance(shapes, dict) or set(shapes) != set(types):
            raise TypeError("output_shapes must have the same structure as output_types")
        return type(types)((k, _shapes_like(types[k], shapes[k])) for k in types)
    if not isinstance(shapes, (tuple, list)) or len(shapes) != len(types):
        raise TypeError("output_shapes must have the same structure as output_types")
    vals = [_shapes_like(t, s) for t, s in zip(types, shapes)]
    return type(types)(*vals) if hasattr(types, "_fields") else tuple(vals)
