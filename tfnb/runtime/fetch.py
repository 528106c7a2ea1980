"""Mapping nested fetch structures to a flat list of unique graph elements and back.

``sess.run`` accepts a tensor, an op, a name, a variable, or any nesting of
lists, tuples, namedtuples and dicts of those, and composite values whose type is
registered with :func:`register_fetch_conversion` (``IndexedSlices`` here, ``SparseTensor``
in tfnb/ops/sparse_ops.py). A :class:`FetchMapper` lists the unique tensors to compute
(fetching the same tensor twice computes it once) and rebuilds the caller's structure from
the computed values.
"""
import collections

from ..framework.graph import IndexedSlices, Operation, Tensor

__all__ = ["FetchMapper", "fetch_key", "register_fetch_conversion"]


IndexedSlicesValue = collections.namedtuple("IndexedSlicesValue", ["values", "indices", "dense_shape"])

# (type, split) pairs: ``split(obj) -> (parts, combine)`` turns a composite fetch (an
# IndexedSlices, a SparseTensor) into fetchable parts and their values back into one value.
_fetch_conversions = []


def register_fetch_conversion(cls, split):
    """Teaches ``sess.run`` to fetch instances of ``cls``.

    Args:
        cls: the composite type (e.g. ``SparseTensor``).
        split: ``split(obj) -> (parts, combine)``: ``parts`` is a list of fetches (tensors,
            or anything else ``run`` accepts) and ``combine(values)`` builds the fetched
            value from their values (e.g. a ``SparseTensorValue``).
    """
    _fetch_conversions.append((cls, split))


def _split_indexed_slices(s):
    if s.dense_shape is None:
        return [s.values, s.indices], lambda v: IndexedSlicesValue(v[0], v[1], None)
    return [s.values, s.indices, s.dense_shape], lambda v: IndexedSlicesValue(*v)


register_fetch_conversion(IndexedSlices, _split_indexed_slices)


def fetch_key(fetches):
    """A hashable key describing the fetch structure (for the plan cache)."""
    if isinstance(fetches, (Tensor, Operation, str)):
        return fetches
    if isinstance(fetches, (list, tuple)):
        return (type(fetches),) + tuple(fetch_key(f) for f in fetches)
    if isinstance(fetches, dict):
        return (type(fetches),) + tuple((k, fetch_key(v)) for k, v in fetches.items())
    return fetches


class FetchMapper:
    """Flattens ``fetches`` against ``graph``; ``build(values)`` restores the structure.

    Attributes:
        tensors: unique Tensors to compute.
        targets: unique Operations to run (their fetched value is None).
    """

    def __init__(self, graph, fetches):
        self.tensors = []
        self.targets = []
        self._index = {}
        self._graph = graph
        self._builder = self._map(fetches)

    def _tensor_slot(self, t):
        i = self._index.get(t)
        if i is None:
            i = self._index[t] = len(self.tensors)
            self.tensors.append(t)
        return i

    def _map(self, f):
        if f is None:
            raise TypeError("Fetch argument None has invalid type <class 'NoneType'>")
        for cls, split in _fetch_conversions:
            if isinstance(f, cls):
                parts, combine = split(f)
                subs = [self._map(p) for p in parts]
                return lambda vals: combine([s(vals) for s in subs])
        if isinstance(f, (list, tuple)):
            subs = [self._map(x) for x in f]
            if hasattr(f, "_fields"):  # namedtuple
                cls = type(f)
                return lambda vals: cls(*[s(vals) for s in subs])
            cls = type(f)
            if cls is list:
                return lambda vals: [s(vals) for s in subs]
            if cls is tuple:
                return lambda vals: tuple(s(vals) for s in subs)
            return lambda vals: cls(s(vals) for s in subs)
        if isinstance(f, dict):
            items = [(k, self._map(v)) for k, v in f.items()]
            cls = type(f)
            if cls is dict:
                return lambda vals: {k: s(vals) for k, s in items}
            return lambda vals: cls((k, s(vals)) for k, s in items)
        try:
            el = self._graph.as_graph_element(f, allow_tensor=True, allow_operation=True)
        except TypeError as e:
            raise TypeError("Fetch argument %r has invalid type %r, must be a string or Tensor. "
                            "(%s)" % (f, type(f), e)) from None
        except ValueError as e:
            raise ValueError("Fetch argument %r cannot be interpreted as a Tensor. (%s)"
                             % (f, e)) from None
        except KeyError as e:
            raise ValueError("Fetch argument %r cannot be interpreted as a Tensor. (%s)"
                             % (f, e.args[0])) from None
        if isinstance(el, Operation):
            if el not in self.targets:
                self.targets.append(el)
            return lambda vals: None
        i = self._tensor_slot(el)
        return lambda vals: vals[i]

    def build(self, values):
        return self._builder(values)
