"""Python functions as ops: ``tf.py_func`` and ``tf.numpy_function``.

A ``PyFunc`` node calls a Python function on NumPy arrays when it runs. The
function itself is not an attr of the node: it is kept in a process-wide table
under a *token* (a string attr), as in TF1, and lives as long as the graph that
made the node. Consequences, all as in TF1:

* Graph export works (the node holds only the token), but the function cannot be
  serialized: running an imported ``PyFunc`` in a process where that function was
  never created raises ``InvalidArgumentError`` saying so. Tokens carry a per-process
  tag, so an imported node can never call an unrelated function that happens to
  have the same number.
* The op runs on the CPU (its inputs are copied to host memory), is never constant
  folded, and has no gradient (``tf.gradients`` gives None through it) unless
  ``gradient_override_map`` names one registered with ``tf.RegisterGradient``.
* Output shapes are unknown unless set with ``set_shape``; outputs must have exactly
  the dtypes of ``Tout`` (a Python float is float64) and the shapes set.
* An exception in the function becomes a typed error naming the node and where it
  was created: ``ValueError``/``TypeError`` -> ``InvalidArgumentError``,
  ``StopIteration`` -> ``OutOfRangeError``, ``MemoryError`` -> ``ResourceExhaustedError``,
  ``NotImplementedError`` -> ``UnimplementedError``, anything else -> ``UnknownError``;
  the message holds the function's traceback.

In an interactive (eager) session a stateless function (``stateful=False``) runs as
soon as the node is created; a stateful one -- the default, and ``numpy_function`` --
runs only when the graph runs it, like other ops with side effects.
"""
import itertools
import threading
import traceback
import weakref

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import get_default_graph
from ..framework.registry import NOT_DIFFERENTIABLE, PROCESS_TAG, register_op
from ..framework.tensor_shape import shape_str, unknown_shape
from . import core

__all__ = ["py_func", "numpy_function"]


# ----------------------------------------------------------------------------------------------
# The table of Python functions, by token
# ----------------------------------------------------------------------------------------------
class _Registered:
    """A function in the table; the graph holds it, the table only refers to it weakly."""

    __slots__ = ("func", "__weakref__")

    def __init__(self, func):
        self.func = func


_FUNCS = weakref.WeakValueDictionary()
_next_id = itertools.count()
_lock = threading.Lock()


def _register(func, graph):
    while graph.outer_graph is not None:  # a function body's py_func lives with its outer graph
        graph = graph.outer_graph
    entry = _Registered(func)
    graph._owned_callables.append(entry)
    with _lock:
        token = "pyfunc_%d_%s" % (next(_next_id), PROCESS_TAG)
        _FUNCS[token] = entry
    return token


# ----------------------------------------------------------------------------------------------
# Values in and out of the function
# ----------------------------------------------------------------------------------------------
def _argument(value):
    """An input as the function sees it: a fresh host array (a NumPy scalar for rank 0, as TF1),
    so writing into it cannot change a value the graph keeps; C-contiguous, as TF's, even
    where the graph's value is a strided view (a transpose, an NCHW conv's result)."""
    if not isinstance(value, (np.ndarray, np.generic)):
        get = getattr(value, "get", None)  # a CuPy array: copy to the host
        if get is None or not type(value).__module__.startswith("cupy"):
            return value
        value = get()
    arr = np.array(value, copy=True, order="C")
    return arr[()] if arr.ndim == 0 else arr


def _as_array(value):
    """One returned value as a NumPy array (text as an object array of bytes, as TF1)."""
    if type(value).__module__.startswith("cupy"):
        value = value.get()
    arr = np.asarray(value, order="C")
    if arr.dtype.kind == "U":
        return np.vectorize(lambda s: s.encode("utf8"), otypes=[object])(arr)
    if arr.dtype.kind == "S":
        return arr.astype(object)
    return arr


def _results(ret):
    """The list of values ``func`` returned (TF1: a list/tuple is several, None is none)."""
    if isinstance(ret, bytes):
        ret = [ret]
    if isinstance(ret, (list, tuple)):
        return list(ret)
    return [] if ret is None else [ret]


def _dtype_of(arr):
    if arr.dtype.kind == "O":
        if all(isinstance(s, bytes) for s in arr.flat):
            return dtypes.string
        return None
    try:
        return dtypes.as_dtype(arr.dtype)
    except TypeError:
        return None


_ERROR_CLASSES = (
    ((ValueError, TypeError), errors.InvalidArgumentError),
    ((StopIteration,), errors.OutOfRangeError),
    ((MemoryError,), errors.ResourceExhaustedError),
    ((NotImplementedError,), errors.UnimplementedError),
)


def _error_from_exception(exc, func_name):
    """The typed error (TF1's mapping) for an exception raised inside the Python function."""
    cls = errors.UnknownError
    for types, error_class in _ERROR_CLASSES:
        if isinstance(exc, types):
            cls = error_class
            break
    # The traceback from the function's own frame on (this module's frame is left out).
    tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
    text = "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()
    return cls(None, None, "%s: %s (raised in py_func function %s)\n%s"
               % (type(exc).__name__, exc, func_name, text))


# ----------------------------------------------------------------------------------------------
# The PyFunc / PyFuncStateless ops
# ----------------------------------------------------------------------------------------------
def _py_func_infer(op):
    return [(dt, unknown_shape()) for dt in op._attrs["Tout"]]


def _py_func_kernel(op, ctx):
    token = op._attrs["token"]
    func_name = op._attrs.get("_func_name", "?")
    entry = _FUNCS.get(token)
    if entry is None:
        raise errors.InvalidArgumentError(
            None, None, "The Python function %r of this py_func (token %r) is not registered in "
            "this process: a graph keeps only a token for it, because a Python function cannot "
            "be serialized. Create the op with tf.py_func in this process (e.g. rebuild the "
            "graph from code) instead of importing it." % (func_name, token))
    func = entry.func
    touts = op._attrs["Tout"]
    outputs = op._outputs
    xp = ctx.xp

    def py_func(*args):
        try:
            ret = func(*[_argument(a) for a in args])
        except Exception as exc:  # noqa: BLE001 - every exception becomes a typed error
            raise _error_from_exception(exc, func_name) from None
        results = _results(ret)
        if len(results) != len(touts):
            raise errors.InvalidArgumentError(
                None, None, "py_func function %s returned %d values, but Tout expects %d"
                % (func_name, len(results), len(touts)))
        vals = []
        for i, (r, want, t) in enumerate(zip(results, touts, outputs)):
            try:
                arr = _as_array(r)
            except Exception as exc:  # noqa: BLE001 - e.g. a ragged list
                raise errors.InvalidArgumentError(
                    None, None, "value %d returned by py_func function %s cannot be made an "
                    "array: %s: %s" % (i, func_name, type(exc).__name__, exc)) from None
            got = _dtype_of(arr)
            if got is not want:
                hint = " (return e.g. np.asarray(x, np.%s))" % want.np.name \
                    if got is not None and (want.is_numeric or want.is_bool) else ""
                raise errors.InvalidArgumentError(
                    None, None, "value %d returned by py_func function %s is %s, but Tout says "
                    "%s%s" % (i, func_name, got.name if got is not None else
                              "of Python type %s" % type(r).__name__, want.name, hint))
            if not t._shape.is_compatible_with(arr.shape):
                raise errors.InvalidArgumentError(
                    None, None, "value %d returned by py_func function %s has shape %s, but its "
                    "output %s has static shape %s" % (i, func_name, shape_str(arr.shape),
                                                       t.name, t._shape))
            if xp is not np and got is not dtypes.string:
                arr = xp.asarray(arr)
            vals.append(arr)
        if not vals:
            return None
        return vals[0] if len(vals) == 1 else tuple(vals)
    return py_func


register_op("PyFunc", infer=_py_func_infer, kernel=_py_func_kernel, grad=NOT_DIFFERENTIABLE,
            stateful=True, side_effects=True, foldable=False, device_types=("CPU",),
            doc="Calls a Python function on NumPy arrays (stateful: run only when the graph runs).")
register_op("PyFuncStateless", infer=_py_func_infer, kernel=_py_func_kernel,
            grad=NOT_DIFFERENTIABLE, foldable=False, device_types=("CPU",),
            doc="Calls a pure Python function on NumPy arrays.")


def py_func(func, inp, Tout, stateful=True, name=None):  # noqa: N803 - TF1 argument name
    """Wraps a Python function working on NumPy arrays as an op of the graph.

    Args:
        func: called with one NumPy array per input (a NumPy scalar for rank 0); returns
            an array (or a value NumPy converts) per output -- a list/tuple for several,
            None for none. Outputs must have exactly the dtypes of ``Tout``.
        inp: a list of tensors (or values convertible to tensors).
        Tout: a dtype (the op has one output, returned as a Tensor) or a list of dtypes
            (a list of Tensors is returned; an empty list returns the Operation).
        stateful: False promises ``func`` is pure: the op may then be merged with an
            equal one and, in an interactive session, is evaluated when created.
        name: a name for the op.

    Returns:
        A Tensor, a list of Tensors, or an Operation (see ``Tout``). Their shapes are
        unknown: give them with ``set_shape``.

    Example:
        >>> def clip_and_count(x):
        ...     return np.clip(x, 0, 1), np.int32((x > 1).sum())
        >>> y, n = tf.py_func(clip_and_count, [x], [tf.float32, tf.int32])
        >>> y.set_shape(x.shape)

    Note:
        ``func`` is not part of a GraphDef: an exported graph keeps only a token for it
        and cannot run its ``PyFunc`` nodes in another process (see the module docstring).

    Raises:
        ValueError: ``func`` is not callable.
        TypeError: ``inp`` is not a list or ``Tout`` names no dtype.
    """
    if not callable(func):
        raise ValueError("Expected func to be callable, got func of type %s" % type(func))
    if not isinstance(inp, (list, tuple)):
        raise TypeError("Expected list for 'input' argument to 'PyFunc' Op, not %r." % (inp,))
    single = not isinstance(Tout, (list, tuple))
    touts = [dtypes.as_dtype(t) for t in ([Tout] if single else Tout)]
    inputs = [core.convert_to_tensor(x) for x in inp]
    graph = get_default_graph()
    if inputs and graph.outer_graph is None:
        graph = inputs[0].graph  # as core.op: the op goes into the graph of its inputs
    token = _register(func, graph)
    attrs = {"token": token, "Tin": [t.dtype for t in inputs], "Tout": touts,
             "_func_name": getattr(func, "__qualname__", None) or type(func).__name__}
    op_type = "PyFunc" if stateful else "PyFuncStateless"
    op = core.op(op_type, inputs, attrs, name=name, graph=graph)
    outs = op.outputs
    if not touts:
        return op
    return outs[0] if single else outs


def numpy_function(func, inp, Tout, name=None):  # noqa: N803 - TF1 argument name
    """``tf.py_func`` with ``stateful=True`` (TF 1.15's name for it)."""
    return py_func(func, inp, Tout, stateful=True, name=name)
