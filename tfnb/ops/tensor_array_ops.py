"""``tf.TensorArray``: a list of tensors that loops write and read, as a value.

A TensorArray is carried by one scalar ``variant`` tensor, its *flow*. The flow's
run-time value (:class:`TensorArrayValue`) holds the elements. Ops are functional:
``ta.write(i, x)`` returns a new TensorArray whose flow is the output of a
``TensorArrayWriteV3`` op, so a TensorArray can be a ``while_loop`` variable, a
``cond`` result or a function output like any tensor (``_flat_tensors``/``_from_flat``
let tfnb.util.nest see through it).

Writes cost O(1) without ever changing what an existing value shows. TF1 writes each
index at most once, so every value is a *version* of a shared store: the store keeps
each element with the version that wrote it, and a value sees the elements written at
or before its own version. Writing to the newest version appends in place; writing to
an older one (a second branch from the same flow, rare) copies the visible elements
first. Old versions held elsewhere -- by a loop's gradient stash, the eager cache, a
fetch -- therefore stay valid, with no reference counting.

TF1 semantics, checked at run time (typed ``InvalidArgumentError`` naming the array and
where it was created) and at construction where indices and sizes are constants:
reading past the size, writing an index twice, writing past the size of a fixed-size
array, element shapes that differ (``infer_shape=True``), reading an index twice with
``clear_after_read`` (the default), and reading an unwritten index when the element
shape is unknown (with a known element shape TF1 returns zeros, and so do we: a
``dynamic_rnn`` that stops at the longest sequence stacks zeros for later steps).

Gradients: the gradient of a TensorArray value is a :class:`TensorArrayGradValue`
(index -> gradient, missing entries are zero; None is an all-zero gradient). The
gradient of a read *writes* into it, the gradient of a write *reads* from it -- as
TF1's gradient TensorArrays. No gradient reads a forward flow, so loops stash only the
indices and values the backward pass needs, never TensorArray values.
"""
import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import get_default_graph, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape, as_shape, unknown_shape
from . import core

__all__ = ["TensorArray"]

_VARIANT = (dtypes.variant, TensorShape([]))


# ----------------------------------------------------------------------------------------------
# Run-time values
# ----------------------------------------------------------------------------------------------
class _Info:
    """The fixed facts about one TensorArray at run time."""

    __slots__ = ("label", "dtype", "dynamic", "clear", "identical")

    def __init__(self, label, dtype, dynamic, clear, identical):
        self.label = label
        self.dtype = dtype
        self.dynamic = dynamic
        self.clear = clear
        self.identical = identical


class _Store:
    """Elements shared by the versions along one chain of writes (see the module docstring)."""

    __slots__ = ("items", "stamps", "latest", "cleared", "shape", "info")

    def __init__(self, info, n, shape):
        self.items = [None] * n
        self.stamps = [0] * n      # version that wrote each element; 0 = unwritten
        self.latest = 0            # newest version issued
        self.cleared = set()       # indices read under clear_after_read
        self.shape = shape         # element shape: a tuple with None for unknown dims, or None
        self.info = info


class TensorArrayValue:
    """The run-time value of a TensorArray's flow: one version of a store, and its size."""

    __slots__ = ("_store", "_version", "size")

    def __init__(self, store, version, size):
        self._store = store
        self._version = version
        self.size = size

    def has(self, i):
        stamps = self._store.stamps
        return i < len(stamps) and 0 < stamps[i] <= self._version

    def __repr__(self):
        n = sum(1 for i in range(self.size) if self.has(i))
        return "<%s value: size %d, %d written>" % (self._store.info.label, self.size, n)


class TensorArrayGradValue:
    """The gradient of a TensorArray value: index -> gradient array; absent entries are zero.

    Summing is how gradients meet (the gradients driver's ``AddVariants``, a loop's
    accumulation over iterations), so ``a + b`` costs O(entries of the smaller), with the
    versioning of TensorArrayValue: the sum is the next version of the larger one's store,
    which keeps each entry's history, so the larger value itself still reads as before.
    """

    __slots__ = ("_store", "_version")

    def __init__(self, entries=None, store=None, version=0):
        if store is None:
            store = _GradStore({i: [(0, g)] for i, g in entries.items()})
        self._store = store
        self._version = version

    def get(self, i):
        """The gradient at index ``i`` (None: zero)."""
        hist = self._store.hist.get(i)
        if hist is None:
            return None
        for ver, g in reversed(hist):
            if ver <= self._version:
                return g
        return None

    def items(self):
        return [(i, g) for i, g in ((i, self.get(i)) for i in self._store.hist) if g is not None]

    def __add__(self, other):
        if other is None:
            return self
        a, b = (self, other) if len(self._store.hist) >= len(other._store.hist) else (other, self)
        if a._version != a._store.latest:  # add into the newest of the two, or into a copy
            if b._version != b._store.latest:
                return TensorArrayGradValue(dict(a.items()))._plus(b.items())
            a, b = b, a
        return a._plus(b.items())

    __radd__ = __add__

    def _plus(self, items):
        """The next version of this (newest) value's store, with ``items`` added."""
        store = self._store
        ver = store.latest + 1
        for i, g in items:
            prev = self.get(i)
            store.hist.setdefault(i, []).append((ver, g if prev is None else prev + g))
        store.latest = ver
        return TensorArrayGradValue(store=store, version=ver)

    def __repr__(self):
        return "<TensorArray gradient: indices %s>" % sorted(i for i, _ in self.items())


class _GradStore:
    __slots__ = ("hist", "latest")

    def __init__(self, hist):
        self.hist = hist      # index -> [(version, gradient)], versions ascending
        self.latest = 0


def _fail(store, msg, cls=errors.InvalidArgumentError):
    raise cls(None, None, "%s: %s" % (store.info.label, msg))


def _compatible(shape, dims):
    return shape is None or (len(shape) == len(dims) and
                             all(a is None or a == b for a, b in zip(shape, dims)))


def _check_shape(store, i, x):
    """TF1 (infer_shape=True): every element has the shape of the first one written."""
    if not store.info.identical:
        return
    s = store.shape
    if s is not None and None not in s:
        if s == x.shape:
            return
    elif _compatible(s, x.shape):
        store.shape = tuple(x.shape)
        return
    _fail(store, "Could not write to TensorArray index %d because the value shape is %s which is "
          "incompatible with the TensorArray's inferred element shape: %s (consider setting "
          "infer_shape=False)." % (i, list(x.shape), _shape_text(s)))


def _shape_text(s):
    return "<unknown>" if s is None else "[%s]" % ",".join("?" if d is None else str(d) for d in s)


def _known_shape(store, static):
    """A fully known element shape (for zeros in place of unwritten elements), or None."""
    for s in (store.shape, static):
        if s is not None and None not in s:
            return s
    return None


def _check_writable(v, i):
    store = v._store
    if i < 0 or (i >= v.size and not store.info.dynamic):
        _fail(store, "Tried to write to index %d but array is not resizeable and size is: %d"
              % (i, v.size))
    if i < v.size and 0 < store.stamps[i] <= v._version:  # v.has(i); v.size <= len(stamps)
        _fail(store, "Could not write to TensorArray index %d because it has already been "
              "written to." % i)


def _written(v, updates):
    """A new version of ``v`` with ``updates`` [(index, array)] written (already checked)."""
    store = v._store
    if v._version != store.latest:  # v is an older version: branch off a copy of what it sees
        old = store
        store = _Store(old.info, len(old.items), old.shape)
        for i in range(len(old.items)):
            if v.has(i):
                store.items[i] = old.items[i]
                store.stamps[i] = 1
        store.latest = 1
        store.cleared = set(old.cleared)
        v = TensorArrayValue(store, 1, v.size)
    top = max(i for i, _ in updates) + 1 if updates else 0
    if top > len(store.items):
        grow = top - len(store.items)
        store.items.extend([None] * grow)
        store.stamps.extend([0] * grow)
    ver = store.latest + 1
    items, stamps = store.items, store.stamps
    for i, x in updates:
        items[i] = x
        stamps[i] = ver
    store.latest = ver
    return TensorArrayValue(store, ver, max(v.size, top))


def _one_run(ctx):
    """Whether reads count toward clear_after_read: yes in a compiled plan (one run), not under
    eager evaluation, where each new op reads cached values as if in a run of its own (TF2's
    eager TensorArrays ignore clear_after_read too)."""
    return not ctx.eager


def _read(v, i, static_shape, xp, clear=True):
    """Element ``i`` of ``v`` (zeros if unwritten and the element shape is known)."""
    store = v._store
    info = store.info
    if i < 0 or i >= v.size:
        _fail(store, "Tried to read from index %d but array size is: %d" % (i, v.size))
    if clear and info.clear:
        if i in store.cleared:
            _fail(store, "Could not read index %d twice because it was cleared after a previous "
                  "read (perhaps try setting clear_after_read = false?)." % i)
        store.cleared.add(i)
    if v.has(i):
        return store.items[i]
    shape = _known_shape(store, static_shape)
    if shape is None:
        _fail(store, "Could not read from TensorArray index %d because it has not yet been "
              "written to, and the element shape is not fully defined: %s."
              % (i, _shape_text(store.shape if store.shape is not None else static_shape)))
    return xp.zeros(shape, info.dtype)


def _stacked(v, indices, static_shape, xp, clear):
    if not len(indices):
        shape = _known_shape(v._store, static_shape)
        if shape is None:
            _fail(v._store, "TensorArray has size zero, but element shape %s is not fully "
                  "defined. Currently only static shapes are supported when packing zero-size "
                  "TensorArrays." % _shape_text(static_shape), errors.UnimplementedError)
        return xp.zeros((0,) + tuple(shape), v._store.info.dtype)
    return xp.stack([_read(v, int(i), static_shape, xp, clear) for i in indices])


def _static_shape_attr(op):
    s = op._attrs["element_shape"]
    return None if s.ndims is None else s.as_tuple()


# ----------------------------------------------------------------------------------------------
# Forward ops
# ----------------------------------------------------------------------------------------------
def _check_int_scalar(t, what):
    if t.dtype is not dtypes.int32:
        raise TypeError("%s must be int32, got %s" % (what, t.dtype.name))
    if t.shape.ndims not in (None, 0):
        raise ValueError("%s must be a scalar, got shape %s" % (what, t.shape))


def _check_flow(t):
    if t.dtype is not dtypes.variant:
        raise TypeError("expected a TensorArray flow (variant), got %s" % t.dtype.name)


def _create_infer(op):
    _check_int_scalar(op._inputs[0], "size")
    return [_VARIANT]


def _create_kernel(op, ctx):
    a = op._attrs
    label = "TensorArray %s%s" % (a["tensor_array_name"] or op.name,
                                  " (created at %s)" % op._location if op._location else "")
    info = _Info(label, a["dtype"].np, a["dynamic_size"], a["clear_after_read"],
                 a["identical_element_shapes"])
    shape = _static_shape_attr(op)

    def tensor_array(size):
        n = int(size)
        if n < 0:
            raise errors.InvalidArgumentError(None, None, "%s: Size should be >= 0, got %d"
                                              % (label, n))
        return TensorArrayValue(_Store(info, n, shape), 0, n)
    return tensor_array


register_op("TensorArrayV3", infer=_create_infer, kernel=_create_kernel, grad=NOT_DIFFERENTIABLE,
            stateful=True, doc="A new, empty TensorArray of the given size (its flow value).")


def _write_infer(op):
    _check_flow(op._inputs[0])
    _check_int_scalar(op._inputs[1], "index")
    return [_VARIANT]


def _write_kernel(op, ctx):
    def write(v, index, value):
        i = int(index)
        store = v._store
        _check_writable(v, i)
        if store.shape != value.shape:
            _check_shape(store, i, value)
        ver = v._version
        if ver == store.latest and i < v.size:  # the common case, in place: O(1)
            ver += 1
            store.items[i] = value
            store.stamps[i] = ver
            store.latest = ver
            return TensorArrayValue(store, ver, v.size)
        return _written(v, [(i, value)])
    return write


def _write_grad(op, g):
    _, index, value = op._inputs
    return [g, None, core.out("TensorArrayGradRead", [g, index, value])]


register_op("TensorArrayWriteV3", infer=_write_infer, kernel=_write_kernel, grad=_write_grad,
            doc="Writes one element; returns the new flow.")


def _read_infer(op):
    _check_flow(op._inputs[0])
    _check_int_scalar(op._inputs[1], "index")
    return [(op._attrs["dtype"], op._attrs["element_shape"])]


def _read_kernel(op, ctx):
    shape = _static_shape_attr(op)
    xp = ctx.xp
    clear = _one_run(ctx)

    def read(v, index):
        i = int(index)
        store = v._store
        if 0 <= i < v.size and 0 < store.stamps[i] <= v._version:  # written: the common case
            if clear and store.info.clear:
                if i in store.cleared:
                    return _read(v, i, shape, xp, clear)  # raises the error
                store.cleared.add(i)
            return store.items[i]
        return _read(v, i, shape, xp, clear)
    return read


register_op("TensorArrayReadV3", infer=_read_infer, kernel=_read_kernel,
            grad=lambda op, g: [core.out("TensorArrayGradWrite", [g, op._inputs[1]]), None],
            stateful=True, doc="Reads one element (stateful: clear_after_read marks it read).")


def _size_kernel(op, ctx):
    xp = ctx.xp
    return lambda v: xp.asarray(v.size, dtype=np.int32)


register_op("TensorArraySizeV3", infer=lambda op: [(dtypes.int32, TensorShape([]))],
            kernel=_size_kernel,
            grad=NOT_DIFFERENTIABLE, doc="The current number of elements.")


def _stack_infer(op):
    _check_flow(op._inputs[0])
    return [(op._attrs["dtype"], TensorShape([op._attrs["num_elements"]]).concatenate(
        op._attrs["element_shape"]))]


def _stack_kernel(op, ctx):
    shape = _static_shape_attr(op)
    xp = ctx.xp
    clear = _one_run(ctx)
    return lambda v: _stacked(v, range(v.size), shape, xp, clear)


register_op("TensorArrayStack", infer=_stack_infer, kernel=_stack_kernel,
            grad=lambda op, g: [core.out("TensorArrayGradUnstack", [g])], stateful=True,
            doc="All elements stacked along a new first dimension.")


def _gather_infer(op):
    _check_flow(op._inputs[0])
    idx = op._inputs[1]
    if idx.dtype is not dtypes.int32 or idx.shape.ndims not in (None, 1):
        raise ValueError("indices must be an int32 vector, got %s%s" % (idx.dtype.name, idx.shape))
    n = idx.shape.as_tuple()[0] if idx.shape.ndims == 1 else None
    return [(op._attrs["dtype"], TensorShape([n]).concatenate(op._attrs["element_shape"]))]


def _gather_kernel(op, ctx):
    shape = _static_shape_attr(op)
    xp = ctx.xp
    clear = _one_run(ctx)
    return lambda v, indices: _stacked(v, indices.tolist(), shape, xp, clear)


register_op("TensorArrayGatherV3", infer=_gather_infer, kernel=_gather_kernel,
            grad=lambda op, g: [core.out("TensorArrayGradWrite", [g, op._inputs[1]]), None],
            stateful=True, doc="The elements at ``indices``, stacked.")


def _scatter_updates(v, indices, value):
    """Checks and returns [(index, row)] for writing the rows of ``value`` at ``indices``."""
    store = v._store
    if value.ndim < 1 or value.shape[0] != len(indices):
        _fail(store, "Expected len(indices) == values.shape[0], but saw: %d vs. %d"
              % (len(indices), value.shape[0] if value.ndim else 0))
    if indices and not store.info.dynamic and max(indices) >= v.size:
        _fail(store, "Max scatter index must be < array size (%d vs. %d)" % (max(indices), v.size))
    seen = set()
    for i in indices:
        if i in seen:
            _fail(store, "Could not write to TensorArray index %d because it has already been "
                  "written to." % i)
        seen.add(i)
        _check_writable(v, i)
    updates = [(i, value[k]) for k, i in enumerate(indices)]
    for i, x in updates:
        _check_shape(store, i, x)
    return updates


def _unstack_kernel(op, ctx):
    def unstack(v, value):
        if value.ndim < 1:
            _fail(v._store, "Unstack needs a value of rank >= 1, got a scalar")
        return _written(v, _scatter_updates(v, list(range(value.shape[0])), value))
    return unstack


def _scatter_kernel(op, ctx):
    def scatter(v, indices, value):
        return _written(v, _scatter_updates(v, indices.tolist(), value))
    return scatter


def _flow_infer(op):
    _check_flow(op._inputs[0])
    return [_VARIANT]


register_op("TensorArrayUnstack", infer=_flow_infer, kernel=_unstack_kernel,
            grad=lambda op, g: [g, core.out("TensorArrayGradStack", [g, op._inputs[1]])],
            doc="Writes the rows of a tensor as elements 0..n-1.")
register_op("TensorArrayScatterV3", infer=_flow_infer, kernel=_scatter_kernel,
            grad=lambda op, g: [g, None, core.out("TensorArrayGradRead",
                                                  [g, op._inputs[1], op._inputs[2]])],
            doc="Writes the rows of a tensor at the given indices.")


def _concat_infer(op):
    _check_flow(op._inputs[0])
    es = op._attrs["element_shape"]
    rest = es[1:] if es.ndims else unknown_shape()
    return [(op._attrs["dtype"], TensorShape([None]).concatenate(rest)),
            (dtypes.int64, TensorShape([None]))]


def _concat_kernel(op, ctx):
    shape = _static_shape_attr(op)
    xp = ctx.xp
    clear = _one_run(ctx)

    def concat(v):
        store = v._store
        if v.size == 0:
            if shape is None or None in shape[1:] or not shape:
                _fail(store, "TensorArray has size zero, but element shape (except the first "
                      "dimension) %s is not fully defined." % _shape_text(shape),
                      errors.UnimplementedError)
            return xp.zeros((0,) + shape[1:], store.info.dtype), xp.zeros(0, np.int64)
        parts = [_read(v, i, shape, xp, clear) for i in range(v.size)]
        for i, p in enumerate(parts):
            if p.ndim == 0:
                _fail(store, "Concat saw a scalar shape at index %d but requires at least vectors."
                      % i)
        return xp.concatenate(parts), xp.asarray([p.shape[0] for p in parts], np.int64)
    return concat


register_op("TensorArrayConcatV3", infer=_concat_infer, kernel=_concat_kernel,
            grad=lambda op, g, _: [core.out("TensorArrayGradSplit", [g, op._outputs[1]])],
            stateful=True, doc="All elements concatenated along their first dimension; lengths.")


def _split_infer(op):
    _check_flow(op._inputs[0])
    if op._inputs[2].dtype is not dtypes.int64:
        raise TypeError("lengths must be int64, got %s" % op._inputs[2].dtype.name)
    return [_VARIANT]


def _split_kernel(op, ctx):
    def split(v, value, lengths):
        store = v._store
        lens = lengths.tolist()
        if value.ndim < 1 or sum(lens) != value.shape[0]:
            _fail(store, "Expected sum of lengths to be equal to values.shape[0], but sum of "
                  "lengths is %d and value's shape is: %s" % (sum(lens), list(value.shape)))
        if not store.info.dynamic and len(lens) > v.size:
            _fail(store, "Expected lengths to have at most %d elements (the array size), got %d"
                  % (v.size, len(lens)))
        updates, start = [], 0
        for i, n in enumerate(lens):
            _check_writable(v, i)
            updates.append((i, value[start:start + n]))
            start += n
        for i, x in updates:
            _check_shape(store, i, x)
        return _written(v, updates)
    return split


register_op("TensorArraySplitV3", infer=_split_infer, kernel=_split_kernel,
            grad=lambda op, g: [g, core.out("TensorArrayGradConcat", [g, op._inputs[2],
                                                                     op._inputs[1]]), None],
            doc="Splits a tensor along its first dimension into elements of the given lengths.")


# ----------------------------------------------------------------------------------------------
# Gradient ops: between arrays and TensorArrayGradValues (each the adjoint of another)
# ----------------------------------------------------------------------------------------------
def _grad_write_kernel(op, ctx):
    """g at ``index`` (a scalar), or the rows of g at ``indices`` (duplicates add up)."""
    def grad_write(g, index):
        if index.ndim == 0:
            return TensorArrayGradValue({int(index): g})
        out = {}
        for k, i in enumerate(index.tolist()):
            prev = out.get(i)
            out[i] = g[k] if prev is None else prev + g[k]
        return TensorArrayGradValue(out)
    return grad_write


def _grad_read_kernel(op, ctx):
    """The gradient entries at ``index`` (scalar) or ``indices``, shaped like ``like``."""
    xp = ctx.xp

    def grad_read(gv, index, like):
        if gv is None:
            return xp.zeros_like(like)
        if index.ndim == 0:
            g = gv.get(int(index))
            return g if g is not None else xp.zeros_like(like)
        rows = []
        for k, i in enumerate(index.tolist()):
            g = gv.get(i)
            rows.append(g if g is not None else xp.zeros_like(like[k]))
        return xp.stack(rows) if rows else xp.zeros_like(like)
    return grad_read


def _grad_unstack_kernel(op, ctx):
    return lambda g: TensorArrayGradValue({i: g[i] for i in range(g.shape[0])})


def _grad_stack_kernel(op, ctx):
    xp = ctx.xp

    def grad_stack(gv, like):
        if gv is None:
            return xp.zeros_like(like)
        rows = []
        for i in range(like.shape[0]):
            g = gv.get(i)
            rows.append(g if g is not None else xp.zeros_like(like[i]))
        return xp.stack(rows) if rows else xp.zeros_like(like)
    return grad_stack


def _grad_split_kernel(op, ctx):
    def grad_split(g, lengths):
        out, start = {}, 0
        for i, n in enumerate(lengths.tolist()):
            out[i] = g[start:start + n]
            start += n
        return TensorArrayGradValue(out)
    return grad_split


def _grad_concat_kernel(op, ctx):
    xp = ctx.xp

    def grad_concat(gv, lengths, like):
        if gv is None:
            return xp.zeros_like(like)
        parts, start = [], 0
        for i, n in enumerate(lengths.tolist()):
            g = gv.get(i)
            parts.append(g if g is not None else xp.zeros_like(like[start:start + n]))
            start += n
        return xp.concatenate(parts) if parts else xp.zeros_like(like)
    return grad_concat


def _like_infer(op):
    like = op._inputs[-1]
    return [(like.dtype, like._shape)]


register_op("TensorArrayGradWrite", infer=lambda op: [_VARIANT], kernel=_grad_write_kernel,
            grad=lambda op, g: [core.out("TensorArrayGradRead", [g, op._inputs[1], op._inputs[0]]),
                                None],
            doc="Gradient of a read/gather: a TensorArray gradient holding g at the indices.")
register_op("TensorArrayGradRead", infer=_like_infer, kernel=_grad_read_kernel,
            grad=lambda op, g: [core.out("TensorArrayGradWrite", [g, op._inputs[1]]), None, None],
            doc="Gradient of a write/scatter: the entries at the indices (zeros where none).")
register_op("TensorArrayGradUnstack", infer=lambda op: [_VARIANT], kernel=_grad_unstack_kernel,
            grad=lambda op, g: [core.out("TensorArrayGradStack", [g, op._inputs[0]])],
            doc="Gradient of a stack: the rows of g as a TensorArray gradient.")
register_op("TensorArrayGradStack", infer=_like_infer, kernel=_grad_stack_kernel,
            grad=lambda op, g: [core.out("TensorArrayGradUnstack", [g]), None],
            doc="Gradient of an unstack: entries 0..n-1 stacked (zeros where none).")
register_op("TensorArrayGradSplit", infer=lambda op: [_VARIANT], kernel=_grad_split_kernel,
            grad=lambda op, g: [core.out("TensorArrayGradConcat", [g, op._inputs[1],
                                                                   op._inputs[0]]), None],
            doc="Gradient of a concat: g split by the elements' lengths.")
register_op("TensorArrayGradConcat", infer=_like_infer, kernel=_grad_concat_kernel,
            grad=lambda op, g: [core.out("TensorArrayGradSplit", [g, op._inputs[1]]), None, None],
            doc="Gradient of a split: the entries concatenated (zeros where none).")


# ----------------------------------------------------------------------------------------------
# The TensorArray class
# ----------------------------------------------------------------------------------------------
class _Meta:
    """What the graph knows about one TensorArray, shared by all the objects of its chain of
    writes (and their copies inside loop bodies), so a shape learned in a loop is known after."""

    __slots__ = ("dtype", "element_shape", "dynamic_size", "clear_after_read", "infer_shape",
                 "label")

    def __init__(self, dtype, element_shape, dynamic_size, clear_after_read, infer_shape, label):
        self.dtype = dtype
        self.element_shape = element_shape
        self.dynamic_size = dynamic_size
        self.clear_after_read = clear_after_read
        self.infer_shape = infer_shape
        self.label = label


def _const_int(t):
    v = core.constant_value(t)
    return None if v is None else int(v)


def _const_ints(t):
    v = core.constant_value(t)
    return None if v is None else [int(i) for i in np.asarray(v).reshape(-1)]


class TensorArray:
    """A list of same-typed tensors, readable and writable at run-time indices (TF1 API).

    Each mutating method returns a new TensorArray (use the result: ``ta = ta.write(i, x)``).
    Typical use collects one tensor per loop iteration and stacks them after the loop.

    Args:
        dtype: element dtype.
        size: initial number of elements (an int32 scalar, may be a tensor).
        dynamic_size: if True, writes past the end grow the array.
        clear_after_read: if True (the default), an element can be read only once.
        tensor_array_name: a name for error messages (default: the op's name).
        handle, flow: wrap an existing flow (``handle`` is a synonym of ``flow`` in tfnb).
        infer_shape: if True, all elements must have one shape, learned from the first write.
        element_shape: the elements' (possibly partial) shape.
        name: the op's name.

    Example:
        >>> ta = tf.TensorArray(tf.float32, size=3)
        >>> ta = ta.write(0, 1.0).write(1, 2.0).write(2, 3.0)
        >>> ta.stack()          # [1., 2., 3.]
    """

    def __init__(self, dtype, size=None, dynamic_size=None, clear_after_read=None,
                 tensor_array_name=None, handle=None, flow=None, infer_shape=True,
                 element_shape=None, colocate_with_first_write_call=True, name=None):
        dtype = dtypes.as_dtype(dtype)
        es = unknown_shape() if element_shape is None else as_shape(element_shape)
        if handle is not None and flow is None:
            flow = handle
        if flow is not None:
            if size is not None:
                raise ValueError("Cannot provide both a flow (handle) and a size at the same time")
            flow = core.convert_to_tensor(flow)
            _check_flow(flow)
            self._meta = _Meta(dtype, es, bool(dynamic_size),
                               True if clear_after_read is None else bool(clear_after_read),
                               bool(infer_shape), "TensorArray " + flow.op.name)
            self._flow = flow
            self._size = None
            self._written = None
            return
        if size is None:
            raise ValueError("Size must be provided if handle is not provided")
        clear = True if clear_after_read is None else bool(clear_after_read)
        with name_scope(name, "TensorArray") as scope:
            size_t = core.convert_to_tensor(size, dtype=dtypes.int32, name="size")
            op = core.op("TensorArrayV3", [size_t], {
                "dtype": dtype, "element_shape": es, "dynamic_size": bool(dynamic_size),
                "clear_after_read": clear, "identical_element_shapes": bool(infer_shape),
                "tensor_array_name": tensor_array_name or ""}, name=scope)
        loc = op._location
        label = "TensorArray %s%s" % (tensor_array_name or op.name,
                                      " (created at %s)" % loc if loc else "")
        self._meta = _Meta(dtype, es, bool(dynamic_size), clear, bool(infer_shape), label)
        self._flow = op._outputs[0]
        self._size = _const_int(size_t)
        self._written = frozenset() if self._size is not None else None

    def _next(self, flow, size, written):
        ta = TensorArray.__new__(TensorArray)
        ta._meta = self._meta
        ta._flow = flow
        ta._size = size
        ta._written = written
        return ta

    # --- nest / loop-variable protocol ---
    def _flat_tensors(self):
        return [self._flow]

    def _from_flat(self, tensors):
        (flow,) = tensors
        return self._next(flow, None if self._meta.dynamic_size else self._size, None)

    # --- properties ---
    @property
    def flow(self):
        """The variant tensor carrying this TensorArray's value."""
        return self._flow

    @property
    def handle(self):
        """The flow (tfnb has no separate resource handle: a TensorArray is a value)."""
        return self._flow

    @property
    def dtype(self):
        return self._meta.dtype

    @property
    def element_shape(self):
        return self._meta.element_shape

    @property
    def dynamic_size(self):
        return self._meta.dynamic_size

    def __repr__(self):
        return "<tf.TensorArray '%s' dtype=%s element_shape=%s>" % (
            self._flow.name, self._meta.dtype.name, self._meta.element_shape)

    # --- construction-time checks ---
    def _error(self, msg):
        g = get_default_graph()
        inside = " (in loop/branch %s)" % g.name if g.outer_graph is not None else ""
        raise errors.InvalidArgumentError(None, None, "%s%s: %s" % (self._meta.label, inside, msg))

    def _merge_shape(self, shape):
        m = self._meta
        if not m.infer_shape:
            return
        if not shape.is_compatible_with(m.element_shape):
            raise ValueError("%s: Inconsistent shapes: saw %s but expected %s (and "
                             "infer_shape=True)" % (m.label, shape, m.element_shape))
        m.element_shape = m.element_shape.merge_with(shape)

    def _value(self, value, what="value"):
        v = core.convert_to_tensor(value, preferred_dtype=self._meta.dtype, name=what)
        if v.dtype is not self._meta.dtype:
            raise TypeError("%s: TensorArray dtype is %s but Op is trying to write dtype %s"
                            % (self._meta.label, self._meta.dtype.name, v.dtype.name))
        return v

    def _check_new(self, indices):
        """Static write checks; returns the known written set (or None) after the write."""
        if indices is None:
            return None
        m = self._meta
        for i in indices:
            if i < 0 or (self._size is not None and i >= self._size and not m.dynamic_size):
                self._error("Tried to write to index %d but array is not resizeable and size is: "
                            "%s" % (i, self._size))
        if self._written is None:
            return None
        dup = sorted(set(self._written) & set(indices)) or \
            sorted(i for i in set(indices) if indices.count(i) > 1)
        if dup:
            self._error("Could not write to TensorArray index %d because it has already been "
                        "written to." % dup[0])
        return self._written | frozenset(indices)

    def _grown(self, indices):
        """The static size after writing ``indices`` (None: unknown)."""
        if not self._meta.dynamic_size:
            return self._size
        if indices is None or self._size is None:
            return None
        return max([self._size] + [i + 1 for i in indices])

    def _read_attrs(self):
        return {"dtype": self._meta.dtype, "element_shape": self._meta.element_shape}

    # --- the TF1 methods ---
    def identity(self):
        """The same TensorArray through an Identity op (useful with control dependencies)."""
        from .array_ops import identity
        return self._next(identity(self._flow), self._size, self._written)

    def size(self, name=None):
        """The number of elements (an int32 scalar tensor)."""
        return core.out("TensorArraySizeV3", [self._flow], name=name or "TensorArraySizeV3")

    def read(self, index, name=None):
        """Element ``index`` (a tensor of the element shape)."""
        index_t = core.convert_to_tensor(index, dtype=dtypes.int32, name="index")
        i = _const_int(index_t)
        if i is not None and self._size is not None and not 0 <= i < self._size:
            self._error("Tried to read from index %d but array size is: %d" % (i, self._size))
        if i is not None and self._written is not None and not self._written and \
                not self._meta.element_shape.is_fully_defined():
            self._error("Could not read from TensorArray index %d because it has not yet been "
                        "written to, and the element shape is not fully defined: %s."
                        % (i, self._meta.element_shape))
        return core.out("TensorArrayReadV3", [self._flow, index_t], self._read_attrs(),
                        name=name or "TensorArrayReadV3")

    def write(self, index, value, name=None):
        """A TensorArray with ``value`` written at ``index``.

        Raises:
            TypeError: ``value``'s dtype is not the array's.
            ValueError: ``value``'s shape differs from the element shape (infer_shape=True).
            InvalidArgumentError: a constant ``index`` is out of range or already written.
        """
        with name_scope(name, "TensorArrayWrite"):
            index_t = core.convert_to_tensor(index, dtype=dtypes.int32, name="index")
            v = self._value(value)
            self._merge_shape(v.shape)
            i = _const_int(index_t)
            written = self._check_new([i] if i is not None else None)
            flow = core.out("TensorArrayWriteV3", [self._flow, index_t, v],
                            name="TensorArrayWriteV3")
        return self._next(flow, self._grown([i] if i is not None else None), written)

    def stack(self, name=None):
        """All elements stacked into one tensor of shape ``[size] + element_shape``."""
        with name_scope(name, "TensorArrayStack"):
            attrs = self._read_attrs()
            attrs["num_elements"] = None if self._meta.dynamic_size else self._size
            return core.out("TensorArrayStack", [self._flow], attrs, name="TensorArrayStack")

    def gather(self, indices, name=None):
        """The elements at ``indices``, stacked."""
        idx = core.convert_to_tensor(indices, dtype=dtypes.int32, name="indices")
        return core.out("TensorArrayGatherV3", [self._flow, idx], self._read_attrs(),
                        name=name or "TensorArrayGatherV3")

    def concat(self, name=None):
        """All elements concatenated along their first dimension."""
        return core.op("TensorArrayConcatV3", [self._flow], self._read_attrs(),
                       name=name or "TensorArrayConcatV3")._outputs[0]

    def unstack(self, value, name=None):
        """A TensorArray whose elements 0..n-1 are the rows of ``value``."""
        with name_scope(name, "TensorArrayUnstack"):
            v = self._value(value)
            if v.shape.ndims == 0:
                raise ValueError("%s: unstack needs a value of rank >= 1, got a scalar"
                                 % self._meta.label)
            if v.shape.ndims is not None:
                self._merge_shape(v.shape[1:])
            n = v.shape.as_tuple()[0] if v.shape.ndims else None
            idx = list(range(n)) if n is not None else None
            written = self._check_new(idx)
            flow = core.out("TensorArrayUnstack", [self._flow, v], name="TensorArrayUnstack")
        return self._next(flow, self._grown(idx), written)

    def scatter(self, indices, value, name=None):
        """A TensorArray with the rows of ``value`` written at ``indices``."""
        with name_scope(name, "TensorArrayScatter"):
            idx_t = core.convert_to_tensor(indices, dtype=dtypes.int32, name="indices")
            v = self._value(value)
            if v.shape.ndims is not None and v.shape.ndims >= 1:
                self._merge_shape(v.shape[1:])
            idx = _const_ints(idx_t)
            written = self._check_new(idx)
            flow = core.out("TensorArrayScatterV3", [self._flow, idx_t, v],
                            name="TensorArrayScatterV3")
        return self._next(flow, self._grown(idx), written)

    def split(self, value, lengths, name=None):
        """A TensorArray whose element i is the next ``lengths[i]`` rows of ``value``."""
        with name_scope(name, "TensorArraySplit"):
            v = self._value(value)
            lengths_t = core.convert_to_tensor(lengths, dtype=dtypes.int64, name="lengths")
            lens = _const_ints(lengths_t)
            if v.shape.ndims is not None and v.shape.ndims >= 1:
                first = lens[0] if lens and min(lens) == max(lens) else None
                self._merge_shape(TensorShape([first]).concatenate(v.shape[1:]))
            idx = list(range(len(lens))) if lens is not None else None
            written = self._check_new(idx)
            flow = core.out("TensorArraySplitV3", [self._flow, v, lengths_t],
                            name="TensorArraySplitV3")
        return self._next(flow, self._grown(idx), written)

    def close(self, name=None):
        """An op that does nothing (a TensorArray value needs no closing); TF1 API."""
        from .control_flow_ops import no_op
        return no_op(name=name or "TensorArrayClose")
