"""The bridge from Python values to graph tensors: ``Const``, ``convert_to_tensor``, ``op()``.

Also ``constant_value``: the value of a tensor when it can be known while the
graph is built (constants, shapes of fully known tensors, and pure functions of
those), which shape inference uses -- e.g. ``reshape(x, tf.stack([n, 12]))``.
"""
import numbers
import weakref

import numpy as np

from ..framework import dtypes
from ..framework.graph import (IndexedSlices, Operation, Tensor, _default_graph_stack,
                               get_default_graph)
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape, as_shape, unknown_shape

__all__ = ["op", "convert_to_tensor", "constant", "constant_value", "constant_value_as_shape",
           "register_tensor_conversion_function", "is_tensor", "convert_n_to_tensor"]


def op(op_type, inputs, attrs=None, name=None, graph=None):
    """Adds an op of type ``op_type``; returns the Operation.

    As in TF1, an op goes into the graph of its inputs (ops without inputs go into
    the default graph); inputs from different graphs are rejected when it is created.
    """
    if graph is None:
        dg = get_default_graph()
        # Inside a function body every op goes into the body (outer inputs get captured).
        graph = dg if not inputs or dg.outer_graph is not None else inputs[0].graph
    return graph._create_op(op_type, list(inputs), attrs if attrs is not None else {}, name)


def out(op_type, inputs, attrs=None, name=None, location=None):
    """Like :func:`op` for single-output ops: returns the output Tensor.

    ``location``: the creation site (``graph.user_location()``) when the caller has it.
    """
    # op()'s body, inlined: one frame less on the path of every wrapper.
    stack = _default_graph_stack.stack
    dg = stack[-1] if stack else get_default_graph()
    graph = dg if not inputs or dg.outer_graph is not None else inputs[0].graph
    return graph._create_op(op_type, list(inputs), attrs if attrs is not None else {},
                            name, location)._outputs[0]


# ----------------------------------------------------------------------------------------------
# Const
# ----------------------------------------------------------------------------------------------
_SCALAR_SHAPE = TensorShape._from_tuple(())  # shapes are immutable: scalars share one


def _const_infer(o):
    a = o._attrs
    v = a["value"]
    shape = getattr(v, "shape", None)
    if shape.__class__ is tuple:  # a NumPy array's shape: ints >= 0 already
        return [(a["dtype"], TensorShape._from_tuple(shape) if shape else _SCALAR_SHAPE)]
    return [(a["dtype"], TensorShape(v.shape))]


def _const_kernel(o, ctx):
    v = o._attrs["value"]
    if ctx.xp is not np:
        v = ctx.xp.asarray(v)

    def const():
        return v
    return const


register_op("Const", infer=_const_infer, kernel=_const_kernel, grad=NOT_DIFFERENTIABLE,
            doc="A constant tensor; its value is an attr, frozen read-only.")


def _assert_compatible(values, dtype):
    """TF1 refuses e.g. a Python float where an integer constant is asked for."""
    if isinstance(values, (list, tuple)):
        for v in values:
            _assert_compatible(v, dtype)
        return
    if isinstance(values, (np.ndarray, np.generic)):
        return
    if dtype.is_integer and isinstance(values, float):
        raise TypeError("Expected %s, got %r of type '%s' instead." % (dtype.name, values,
                                                                         type(values).__name__))
    if dtype.is_bool and isinstance(values, numbers.Number) and not isinstance(values, bool):
        raise TypeError("Expected bool, got %r of type '%s' instead." % (values, type(values).__name__))
    if (dtype.is_numeric or dtype.is_bool) and isinstance(values, (str, bytes)):
        raise TypeError("Expected %s, got %r of type '%s' instead." % (dtype.name, values,
                                                                         type(values).__name__))


def _infer_dtype(value):
    """The dtype TF1 gives a Python/NumPy value: floats -> float32, ints -> int32."""
    if isinstance(value, (np.ndarray, np.generic)):
        if value.dtype.kind in "SUO":
            return dtypes.string
        return dtypes.as_dtype(value.dtype)
    arr = np.asarray(value)
    k = arr.dtype.kind
    if k == "f":
        return dtypes.float32
    if k in "iu":
        if arr.size and (arr.max() > np.iinfo(np.int32).max or arr.min() < np.iinfo(np.int32).min):
            return dtypes.int64
        return dtypes.int32
    if k == "b":
        return dtypes.bool_
    if k == "c":
        return dtypes.complex128
    if k in "SUO":
        return dtypes.string
    raise TypeError("Cannot convert %r to a Tensor: unsupported type %s" % (value, type(value)))


def to_numpy(value, dtype=None):
    """``value`` as a NumPy array of TF's dtype for it (or ``dtype``)."""
    if dtype is None:
        dtype = _infer_dtype(value)
    else:
        dtype = dtypes.as_dtype(dtype)
        _assert_compatible(value, dtype)
    if dtype is dtypes.string:
        arr = np.asarray(value, dtype=object)
        return np.vectorize(lambda s: s.encode() if isinstance(s, str) else s, otypes=[object])(arr) \
            if arr.size else arr, dtype
    try:
        arr = np.asarray(value, dtype=dtype.np)
    except (ValueError, TypeError, OverflowError) as e:
        raise TypeError("Cannot convert %r to a Tensor of dtype %s: %s" % (value, dtype.name, e)) \
            from None
    return arr, dtype


def constant(value, dtype=None, shape=None, name="Const", verify_shape=False):
    """A constant tensor.

    Args:
        value: a Python or NumPy value (scalar or nested lists).
        dtype: element type; default as TF1 infers it (Python float -> float32).
        shape: optional shape; a scalar ``value`` is broadcast to it.

    Example:
        >>> tf.constant(3.5, shape=[2, 2]).shape
        TensorShape([2, 2])
    """
    arr, dt = to_numpy(value, dtype)
    if shape is not None:
        shp = tuple(as_shape(shape).as_list())
        if arr.shape != shp:
            if verify_shape:
                raise TypeError("Expected Tensor's shape: %s, got %s." % (shp, arr.shape))
            if arr.size == 1:
                arr = np.full(shp, arr.reshape(()), dtype=arr.dtype)
            elif arr.size == int(np.prod(shp)):
                arr = arr.reshape(shp)
            else:
                raise TypeError("Eager execution of tf.constant with unsupported shape. Tried to "
                                "convert %d elements to shape %s" % (arr.size, shp))
    arr = np.array(arr, copy=True)
    arr.flags.writeable = False
    return out("Const", [], {"value": arr, "dtype": dt}, name=name)


# ----------------------------------------------------------------------------------------------
# convert_to_tensor
# ----------------------------------------------------------------------------------------------
_conversion_funcs = []  # (base_type, fn(value, dtype, name, as_ref))


def register_tensor_conversion_function(base_type, conversion_func, priority=100):
    """Teaches ``convert_to_tensor`` to accept ``base_type`` (TF1 API)."""
    global _scalar_fast_path
    _conversion_funcs.append((priority, base_type, conversion_func))
    _conversion_funcs.sort(key=lambda e: e[0])
    _scalar_fast_path = not any(issubclass(t, b) for _, b, _ in _conversion_funcs
                                for t in _PY_SCALARS)


# The fast path of binary operators with a Python scalar operand (``x + 1.0``): the Const
# is made exactly as ``convert_to_tensor(value, dtype=x.dtype)`` makes it, minus the
# generic dispatch; off if a conversion function was registered for a scalar type.
_PY_SCALARS = (float, int, bool)
_scalar_fast_path = True
# dtypes (by enum) whose Consts ``to_numpy`` makes with ``np.asarray(value, dtype.np)``.
_FAST_CONST_ENUMS = frozenset(d._enum for d in (
    dtypes.float16, dtypes.float32, dtypes.float64, dtypes.int8, dtypes.int16, dtypes.int32,
    dtypes.int64, dtypes.uint8, dtypes.uint16, dtypes.uint32, dtypes.uint64, dtypes.bool_,
    dtypes.complex64, dtypes.complex128))
# (type, value, dtype) -> the frozen array of a scalar Const. The arrays are read-only, so
# Consts of one scalar may share one (each op is still a node of its own, as in TF1).
_scalar_arrays = {}


def _scalar_array(value, dtype):
    """The read-only array ``constant(value, dtype)`` holds for a Python scalar ``value``."""
    cls = value.__class__
    key = (cls, value, dtype) if value else (cls, repr(value), dtype)  # -0.0 is not 0.0
    arr = _scalar_arrays.get(key)
    if arr is None:
        arr, _ = to_numpy(value, dtype)  # raises as constant() does
        arr = np.array(arr, copy=True)
        arr.flags.writeable = False
        if len(_scalar_arrays) >= 4096:
            _scalar_arrays.clear()
        _scalar_arrays[key] = arr
    return arr




def is_tensor(x):
    return isinstance(x, (Tensor, IndexedSlices)) or hasattr(x, "_dense_tensor")


def convert_to_tensor(value, dtype=None, name=None, preferred_dtype=None, dtype_hint=None):
    """Converts a Tensor, Variable, NumPy array or Python value into a Tensor.

    Raises:
        ValueError: ``value`` is a Tensor whose dtype differs from ``dtype``.
        TypeError: ``value`` cannot be represented with ``dtype``.
    """
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype is not dtype:
            raise ValueError("Tensor conversion requested dtype %s for Tensor with dtype %s: %r"
                             % (dtype.name, value.dtype.name, value))
        return value
    dense = getattr(value, "_dense_tensor", None)
    if dense is not None:
        return dense(dtype=dtype, name=name)
    for _, base, fn in _conversion_funcs:
        if isinstance(value, base):
            t = fn(value, dtype=dtype, name=name, as_ref=False)
            if t is not NotImplemented:
                return t
    if isinstance(value, Operation):
        raise TypeError("Can't convert Operation '%s' to Tensor (target dtype=%s, name=%s)"
                        % (value.name, dtype, name))
    if isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) or hasattr(v, "_dense_tensor")
                                                for v in _flatten(value)):
        from .array_ops import stack
        return stack(_pack_nested(value, dtype), name=name or "packed")
    if dtype is None and preferred_dtype is not None:
        try:
            return constant(value, dtype=preferred_dtype, name=name or "Const")
        except (TypeError, ValueError):
            pass
    if dtype is None and dtype_hint is not None:
        try:
            return constant(value, dtype=dtype_hint, name=name or "Const")
        except (TypeError, ValueError):
            pass
    if dtype is not None and isinstance(value, np.ndarray) and value.dtype.kind == "f" \
            and dtype.is_integer:
        raise TypeError("Cannot convert a float array to a %s Tensor" % dtype.name)
    return constant(value, dtype=dtype, name=name or "Const")


def _flatten(value):
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _flatten(v)
    else:
        yield value


def _pack_nested(value, dtype):
    from .array_ops import stack
    out_list = []
    for v in value:
        if isinstance(v, (list, tuple)):
            out_list.append(stack(_pack_nested(v, dtype)))
        else:
            out_list.append(convert_to_tensor(v, dtype=dtype))
    return out_list


def convert_n_to_tensor(values, dtype=None, name=None):
    return [convert_to_tensor(v, dtype=dtype) for v in values]


def convert_binary(x, y, location=None):
    """Converts the operands of a binary op: a Python value takes the other's dtype and graph.

    ``location``: the creation site of the binary op, if the caller has it (for the Const
    of a Python scalar operand, made on the same line).
    """
    tx, ty = x.__class__, y.__class__
    # Fast path for a Tensor and a Python scalar: the Const that
    # ``with t.graph.as_default(): convert_to_tensor(scalar, dtype=t.dtype)`` makes, made
    # directly (not where a device function might look at the default graph).
    if tx is Tensor:
        if ty is Tensor:
            return x, y
        if ty in _PY_SCALARS and _scalar_fast_path:
            dt = x._dtype
            g = x._op._graph
            if dt._enum in _FAST_CONST_ENUMS and not g._device_stack:
                return x, g._create_op("Const", [], {"value": _scalar_array(y, dt), "dtype": dt},
                                       "Const", location)._outputs[0]
    elif ty is Tensor and tx in _PY_SCALARS and _scalar_fast_path:
        dt = y._dtype
        g = y._op._graph
        if dt._enum in _FAST_CONST_ENUMS and not g._device_stack:
            return g._create_op("Const", [], {"value": _scalar_array(x, dt), "dtype": dt},
                                "Const", location)._outputs[0], y
    if isinstance(x, Tensor) or hasattr(x, "_dense_tensor"):
        x = convert_to_tensor(x)
        if not isinstance(y, Tensor):
            with x.graph.as_default():
                y = convert_to_tensor(y, dtype=x.dtype)
    elif isinstance(y, Tensor) or hasattr(y, "_dense_tensor"):
        y = convert_to_tensor(y)
        with y.graph.as_default():
            x = convert_to_tensor(x, dtype=y.dtype)
    else:
        x = convert_to_tensor(x)
        y = convert_to_tensor(y, dtype=x.dtype)
    return x, y


# ----------------------------------------------------------------------------------------------
# Static values
# ----------------------------------------------------------------------------------------------
_static_cache = weakref.WeakKeyDictionary()
_NONE = object()
_STATIC_LIMIT = 4096  # largest output (elements) evaluated while building the graph


def constant_value(tensor, partial=False):
    """The value of ``tensor`` if it can be known at graph-construction time, else None."""
    if not isinstance(tensor, Tensor):
        return None
    hit = _static_cache.get(tensor, _NONE)
    if hit is not _NONE:
        return hit
    val = _compute_static(tensor)
    _static_cache[tensor] = val
    return val


def _compute_static(t):
    o = t.op
    typ = o.type
    if typ == "Const":
        return o._attrs["value"]
    if typ == "Shape":
        s = o._inputs[0]._shape
        return np.array(s.as_list(), dtype=t.dtype.np) if s.is_fully_defined() else None
    if typ == "Size":
        n = o._inputs[0]._shape.num_elements()
        return None if n is None else np.array(n, dtype=t.dtype.np)
    if typ == "Rank":
        r = o._inputs[0]._shape.ndims
        return None if r is None else np.array(r, dtype=np.int32)
    odef = o._op_def
    if not odef.foldable or odef.stateful:
        return None
    n = t._shape.num_elements()
    if n is None or n > _STATIC_LIMIT:
        return None
    ins = []
    for i in o._inputs:
        v = constant_value(i)
        if v is None:
            return None
        ins.append(v)
    from ..runtime.state import KernelContext
    try:
        with np.errstate(all="ignore"):
            res = odef.kernel(o, KernelContext(None))(*ins)
    except Exception:  # noqa: BLE001 - not knowable now; the run will report it
        return None
    if len(o._outputs) != 1:
        res = res[t.value_index]
    return np.asarray(res)


def constant_value_as_shape(tensor):
    """A TensorShape from a 1-D int tensor whose entries may be partly known (-1 -> unknown)."""
    v = constant_value(tensor)
    if v is not None:
        return TensorShape([None if d < 0 else int(d) for d in np.reshape(v, [-1])])
    o = tensor.op
    if o.type == "Shape":
        return o._inputs[0]._shape
    if o.type == "Pack":
        dims = []
        for i in o._inputs:
            c = constant_value(i)
            dims.append(None if c is None or int(c) < 0 else int(c))
        return TensorShape(dims)
    if o.type == "ConcatV2":
        s = TensorShape([])
        for i in o._inputs:  # the axis is an attr, every input is a part
            s = s.concatenate(constant_value_as_shape(i))
        return s
    if o.type == "StridedSlice" and o._inputs[0].op.type == "Shape":
        src = o._inputs[0].op._inputs[0]._shape
        b, e, st = (constant_value(i) for i in o._inputs[1:4])
        a = o._attrs
        if src.ndims is not None and b is not None and e is not None and st is not None \
                and not a.get("shrink_axis_mask") and not a.get("new_axis_mask") \
                and not a.get("ellipsis_mask"):
            beg = None if a.get("begin_mask") & 1 else int(b[0])
            end = None if a.get("end_mask") & 1 else int(e[0])
            return TensorShape(list(src.as_tuple()[beg:end:int(st[0])]))
    rank = tensor._shape.as_tuple()
    if rank is not None and len(rank) == 1 and rank[0] is not None:
        return unknown_shape(rank[0])
    return unknown_shape()
