"""Functions: Python functions turned into graph functions called like one op.

Two decorators, as in TF:

* ``Defun(*input_types, func_name=None, grad_func=None, python_grad_func=None)`` -- TF1's
  ``tensorflow.python.framework.function.Defun``: fixed input dtypes, traced once per graph;
  its gradient is derived automatically unless ``grad_func`` (a Defun taking the inputs and
  the output gradients) or ``python_grad_func(op, *grads)`` is given.
* ``tf.function(fn, input_signature=None)`` -- traces on first call for each input signature
  (dtypes and shapes of tensor arguments, values of Python arguments) and caches the trace.

Either way a call adds ONE ``Call`` node to the graph; its body is a graph of its own that
the executor runs as if the call were a primitive op (tfnb/ops/functional_ops.py).

Example (the seed talk's batch normalization):
    >>> @function.Defun(tf.float32, tf.float32, tf.float32)
    ... def BatchNorm(x, scale, offset):
    ...     mean, var = tf.nn.moments(x, [0])
    ...     return tf.nn.batch_normalization(x, mean, var, offset, scale, 1e-3)
    >>> y = BatchNorm(x, gamma, beta)        # one node; tf.gradients(y, [x, gamma]) works
"""
import re
import sys
import types

from .framework import dtypes
from .framework import function as _fn
from .framework.graph import Tensor, get_default_graph
from .framework.tensor_shape import as_shape, unknown_shape
from .ops import core, functional_ops  # noqa: F401 - the Call op
from .util import nest

__all__ = ["Defun", "function", "TensorSpec"]


class TensorSpec:
    """The dtype and (possibly partial) shape a function argument must have."""

    def __init__(self, shape, dtype=dtypes.float32, name=None):
        self.shape = as_shape(shape)
        self.dtype = dtypes.as_dtype(dtype)
        self.name = name

    def __repr__(self):
        return "TensorSpec(shape=%s, dtype=%s, name=%r)" % (self.shape, self.dtype.name, self.name)


def _call(graph_fn, args, name, op_attrs=None):
    ins = [core.convert_to_tensor(a) for a in args] + graph_fn.captured_inputs
    attrs = {"f": graph_fn}
    attrs.update(op_attrs or {})
    return core.op("Call", ins, attrs, name=name)


class _DefinedFunction:
    """A Defun-decorated function: traced once per graph with the declared input dtypes."""

    def __init__(self, fn, input_types, name, grad_func, python_grad_func, shape_func):
        self._fn = fn
        self._input_types = [dtypes.as_dtype(t) for t in input_types]
        self.name = name or fn.__name__
        self._grad_func = grad_func
        self._python_grad_func = python_grad_func
        self._shape_func = shape_func
        self._traces = {}  # graph -> (GraphFunction, structure)
        self.__doc__ = fn.__doc__
        self.__name__ = self.name

    def _instantiate(self, graph):
        hit = self._traces.get(graph)
        if hit is None:
            specs = [(dt, unknown_shape(), "arg%d" % i) for i, dt in enumerate(self._input_types)]
            fg, res = _fn.trace(self._fn, specs, self.name, graph)
            with fg.as_default():
                flat = [core.convert_to_tensor(t) for t in nest.flatten(res)]
                flat = [t if t.graph is fg else fg._capture(t, self.name) for t in flat]
            hit = self._traces[graph] = (_fn.GraphFunction(fg, flat, self.name), res)
        return hit

    @property
    def definition(self):
        return self._instantiate(get_default_graph())[0]

    def __call__(self, *args, **kwargs):
        name = kwargs.pop("name", None)
        if kwargs:
            raise TypeError("Defun functions take positional arguments only, got %s" % list(kwargs))
        if len(args) != len(self._input_types):
            raise ValueError("%s takes %d inputs, got %d" % (self.name, len(self._input_types),
                                                             len(args)))
        ins = []
        for i, (a, dt) in enumerate(zip(args, self._input_types)):
            t = core.convert_to_tensor(a, dtype=dt) if not isinstance(a, Tensor) else a
            if t.dtype is not dt:
                raise TypeError("%s: input %d must be %s, got %s" % (self.name, i, dt.name,
                                                                      t.dtype.name))
            ins.append(t)
        graph_fn, res = self._instantiate(get_default_graph())
        attrs = {}
        if self._grad_func is not None:
            attrs["grad_func"] = self._grad_func
        if self._python_grad_func is not None:
            attrs["python_grad_func"] = self._python_grad_func
        op = _call(graph_fn, ins, name or self.name, attrs)
        outs = list(op._outputs[:-1])
        if self._shape_func is not None:
            for t, s in zip(outs, self._shape_func(op)):
                t.set_shape(s)
        if not outs:
            return op
        return nest.pack_sequence_as(res, outs) if nest.is_sequence(res) else outs[0]


class Defun:
    """Decorator: ``@Defun(tf.float32, ...)`` defines a graph function (TF1 API)."""

    def __init__(self, *input_types, **kwargs):
        self._input_types = input_types
        self._name = kwargs.pop("func_name", None)
        self._grad_func = kwargs.pop("grad_func", None)
        self._python_grad_func = kwargs.pop("python_grad_func", None)
        self._shape_func = kwargs.pop("shape_func", None)
        kwargs.pop("noinline", None)
        kwargs.pop("out_names", None)
        if kwargs:
            raise ValueError("Unknown keyword arguments: %s" % list(kwargs))

    def __call__(self, fn):
        return _DefinedFunction(fn, self._input_types, self._name, self._grad_func,
                                self._python_grad_func, self._shape_func)


class Function:
    """A ``tf.function``: traces ``fn`` per input signature and calls the trace as one op."""

    def __init__(self, fn, input_signature=None, name=None):
        self._fn = fn
        self._signature = None if input_signature is None else list(input_signature)
        raw = name or getattr(fn, "__name__", "function")
        self.name = re.sub(r"[^A-Za-z0-9_.\-]", "_", raw).strip("_") or "function"  # a node name
        self._cache = {}
        self.__doc__ = fn.__doc__
        self.__name__ = self.name

    def _key(self, graph, args):
        key = [id(graph)]
        for a in args:
            if isinstance(a, Tensor) or hasattr(a, "_dense_tensor"):
                t = core.convert_to_tensor(a)
                key.append(("T", t.dtype.name, t.shape.as_tuple()))
            else:
                key.append(("P", repr(a)))
        return tuple(key)

    def get_concrete_function(self, *args):
        graph = get_default_graph()
        if self._signature is not None:
            if len(args) != len(self._signature):
                raise TypeError("%s expects %d arguments (input_signature), got %d"
                                % (self.name, len(self._signature), len(args)))
            specs = self._signature
            tensor_pos = list(range(len(specs)))
        else:
            specs, tensor_pos = [], []
            for i, a in enumerate(args):
                if isinstance(a, Tensor) or hasattr(a, "_dense_tensor"):
                    t = core.convert_to_tensor(a)
                    specs.append(TensorSpec(t.shape, t.dtype))
                    tensor_pos.append(i)
        key = self._key(graph, args) if self._signature is None else (id(graph),)
        hit = self._cache.get(key)
        if hit is None:
            def body(*phs):
                full = list(args)
                for i, ph in zip(tensor_pos, phs):
                    full[i] = ph
                return self._fn(*full)
            fg, res = _fn.trace(body, [(s.dtype, s.shape, s.name or "arg") for s in specs],
                                self.name, graph)
            with fg.as_default():
                flat = [core.convert_to_tensor(t) for t in nest.flatten(res)]
                flat = [t if t.graph is fg else fg._capture(t, self.name) for t in flat]
            hit = self._cache[key] = (_fn.GraphFunction(fg, flat, self.name), res, tensor_pos)
        return hit

    def __call__(self, *args):
        graph_fn, res, tensor_pos = self.get_concrete_function(*args)
        ins = []
        for i in tensor_pos:
            spec_dt = graph_fn.arg_inputs[len(ins)].dtype
            ins.append(core.convert_to_tensor(args[i], dtype=spec_dt))
            expected = graph_fn.arg_inputs[len(ins) - 1].shape
            if not expected.is_compatible_with(ins[-1].shape):
                raise ValueError("%s: argument %d has shape %s, incompatible with the input "
                                 "signature %s" % (self.name, i, ins[-1].shape, expected))
        op = _call(graph_fn, ins, self.name)
        outs = list(op._outputs[:-1])
        if not outs:
            return op if res is None else res
        return nest.pack_sequence_as(res, outs) if nest.is_sequence(res) else outs[0]

    @property
    def trace_count(self):
        return len(self._cache)


def function(func=None, input_signature=None, autograph=False, experimental_compile=None,
             jit_compile=None, reduce_retracing=False, name=None):
    """Decorator tracing ``func`` into a graph function (cache keyed by input signature)."""
    if func is None:
        return lambda f: Function(f, input_signature, name)
    return Function(func, input_signature, name)


class _CallableModule(types.ModuleType):
    """``tfnb.function`` is both this module (``tfnb.function.Defun``) and the decorator."""

    def __call__(self, *args, **kwargs):
        return function(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
