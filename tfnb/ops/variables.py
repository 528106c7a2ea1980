"""Variables: named state that lives in a session and survives across ``run`` calls.

A ``tf.Variable`` is a handle op (``VarHandleOp``) naming a slot in each
session's state, plus ops that read and write it. As with TF's resource
variables, every *use* of a variable as a tensor creates a fresh
``ReadVariableOp`` in the current context, so a read written inside
``tf.control_dependencies([update])`` really happens after the update.
Writes never mutate the stored array in place; they install a new array, so
values read earlier in a step are unaffected. ``assign``/``assign_add``/``assign_sub``
are atomic even when several threads run steps of one session (as TF1's resource
variables, they always hold the variable's lock; ``use_locking`` is accepted for
compatibility).

Example:
    >>> w = tf.Variable(tf.zeros([2]), name="w")
    >>> inc = w.assign_add([1.0, 2.0])
    >>> with tf.Session() as sess:
    ...     sess.run(w.initializer); sess.run(inc)
"""
import contextlib

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import GraphKeys, get_default_graph, name_scope
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape, as_shape, unknown_shape
from . import core
from .core import convert_to_tensor

__all__ = ["Variable", "VariableV1", "assign", "assign_add", "assign_sub", "scatter_update",
           "scatter_add", "scatter_sub", "scatter_mul", "scatter_div", "scatter_min", "scatter_max",
           "global_variables",
           "all_variables", "trainable_variables", "local_variables", "model_variables",
           "moving_average_variables", "variables_initializer", "initialize_variables",
           "global_variables_initializer", "initialize_all_variables", "local_variables_initializer",
           "initialize_local_variables", "is_variable_initialized", "report_uninitialized_variables",
           "assert_variables_initialized"]


# ----------------------------------------------------------------------------------------------
# Ops
# ----------------------------------------------------------------------------------------------
def _handle_kernel(op, ctx):
    a = op._attrs
    slot = ctx.state.variable_slot(a["shared_name"] or op.name, a["dtype"], a["shape"], op.location)

    def var_handle():
        return slot
    return var_handle


register_op("VarHandleOp", infer=lambda op: [(dtypes.resource, TensorShape([]))],
            kernel=_handle_kernel, grad=NOT_DIFFERENTIABLE, stateful=True,
            doc="The handle of a variable's slot in the running session.")


def _handle_spec(handle):
    """(dtype, shape) a resource handle refers to: from its VarHandleOp, or from the handle
    data a function graph records on the placeholder that captures a handle."""
    a = handle.op._attrs
    if handle.op.type == "VarHandleOp":
        return a["dtype"], a["shape"]
    if "_handle_dtype" in a:
        return a["_handle_dtype"], a["_handle_shape"]
    return None, unknown_shape()


def _read_infer(op):
    dt, shape = _handle_spec(op._inputs[0])
    return [(op._attrs["dtype"], shape)]


register_op("ReadVariableOp", infer=_read_infer,
            kernel=lambda op, ctx: lambda h: h.read(),
            grad=lambda op, g: [g], stateful=True)


def _check_assign_shape(op):
    dt, shape = _handle_spec(op._inputs[0])
    v = op._inputs[1]
    if dt is not None and v.dtype is not dt:
        raise TypeError("Cannot assign a %s value to variable %s of dtype %s"
                        % (v.dtype.name, op._inputs[0].op.name, dt.name))
    if op._attrs.get("validate_shape", True) and not shape.is_compatible_with(v._shape):
        raise ValueError("Shapes %s and %s are incompatible: cannot assign a value of shape %s to "
                         "variable %s" % (shape, v._shape, v._shape, op._inputs[0].op.name))
    return dt or v.dtype, shape if shape.ndims is not None else v._shape


def _assign_infer(op):
    dt, shape = _check_assign_shape(op)
    return [(dt, shape)]


def _assign_kernel(op, ctx):
    xp = ctx.xp
    npd = op._inputs[1].dtype.np
    _, shape = _handle_spec(op._inputs[0])
    want = shape.as_tuple() if shape.is_fully_defined() and op._attrs.get("validate_shape", True) \
        else None

    def assign_variable(h, v):
        v = xp.array(v, dtype=npd, copy=True)
        if want is not None and v.shape != want:
            raise errors.InvalidArgumentError(
                None, None, "Trying to assign to variable %s with a value of wrong shape: expected "
                "%s, got %s" % (h.name, list(want), list(v.shape)))
        if xp is np:
            v.flags.writeable = False
        return h.write(v)
    return assign_variable


def _update_kernel(fn_name):
    def make(op, ctx):
        f = getattr(ctx.xp, fn_name)

        def update_variable(h, delta):
            # Atomic, as TF1's resource-variable updates: concurrent steps lose no increment.
            with h.lock:
                old = h.read()
                v = f(old, delta)
                if v.shape != old.shape:
                    raise errors.InvalidArgumentError(
                        None, None, "Cannot update variable %s of shape %s with a value of shape "
                        "%s" % (h.name, list(old.shape), list(np.shape(delta))))
                return h.write(v)
        return update_variable
    return make


for _name, _fn in (("AssignVariableOp", None), ("AssignAddVariableOp", "add"),
                   ("AssignSubVariableOp", "subtract")):
    register_op(_name, infer=_assign_infer,
                kernel=_assign_kernel if _fn is None else _update_kernel(_fn),
                grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True)

# Scatter updates: rows of a variable combined with ``updates`` (TF1's ResourceScatter*).
# Duplicate indices all apply (add/sub/mul/div/min/max accumulate; for update one wins).
_SCATTER_UFUNCS = {"Update": None, "Add": "add", "Sub": "subtract", "Mul": "multiply",
                   "Div": "divide", "Min": "minimum", "Max": "maximum"}


def _scatter_infer(op):
    dt, shape = _handle_spec(op._inputs[0])
    indices, updates = op._inputs[1:]
    what = "%s on variable %s" % (op.type, op._inputs[0].op.name)
    if not indices.dtype.is_integer:
        raise TypeError("%s: indices must be int32 or int64, got %s" % (what, indices.dtype.name))
    if dt is not None and updates.dtype is not dt:
        raise TypeError("%s: updates have dtype %s, the variable has %s"
                        % (what, updates.dtype.name, dt.name))
    if shape.ndims == 0:
        raise ValueError("%s: params must be at least 1-D, got shape %s" % (what, shape))
    if updates._shape.ndims != 0 and shape.ndims is not None and indices._shape.ndims is not None:
        want = indices._shape.concatenate(shape[1:])
        if not want.is_compatible_with(updates._shape):
            raise ValueError("%s: must have updates.shape = indices.shape + params.shape[1:] or "
                             "updates.shape = [], got updates.shape %s, indices.shape %s, "
                             "params.shape %s" % (what, updates._shape, indices._shape, shape))
    return []


def _scatter_kernel(kind):
    def make(op, ctx):
        xp = ctx.xp
        ufunc = None if _SCATTER_UFUNCS[kind] is None else getattr(xp, _SCATTER_UFUNCS[kind])

        def combine(old, inv, upd):
            new = old.copy()  # `old` is journaled: never change it
            if ufunc is None:
                new[inv] = upd
            elif kind == "Div" and new.dtype.kind in "iu":
                if not upd.all():
                    raise errors.InvalidArgumentError(None, None, "Integer division by zero")
                by = xp.ones_like(new)
                xp.multiply.at(by, inv, upd)
                q = xp.abs(new) // xp.abs(by)  # C's division: rounds toward zero
                new = xp.where((new < 0) != (by < 0), -q, q).astype(new.dtype)
            else:
                ufunc.at(new, inv, upd)
            return new

        def scatter(h, indices, updates):
            with h.lock:  # the row update below also locks; the checks see the same value
                v = h.read()
                n = v.shape[0]
                flat = indices.reshape(-1)
                if flat.size and (flat.min() < 0 or flat.max() >= n):
                    i = int(((flat < 0) | (flat >= n)).argmax())
                    raise errors.InvalidArgumentError(
                        None, None, "indices[%d] = %d is not in [0, %d)" % (i, int(flat[i]), n))
                want = indices.shape + v.shape[1:]
                if updates.ndim and updates.shape != want:
                    raise errors.InvalidArgumentError(
                        None, None, "Must have updates.shape = indices.shape + params.shape[1:] "
                        "or updates.shape = [], got updates.shape %s, indices.shape %s, "
                        "params.shape %s" % (list(updates.shape), list(indices.shape),
                                             list(v.shape)))
                upd = xp.broadcast_to(updates.astype(v.dtype, copy=False), want)
                upd = upd.reshape((flat.size,) + v.shape[1:])
                del v  # a reference held here would make the row update copy the variable
                rows, inv = xp.unique(flat, return_inverse=True)
                inv = inv.reshape(-1)
                h.update_rows(rows, lambda old: combine(old, inv, upd))
        return scatter
    return make


for _kind in _SCATTER_UFUNCS:
    register_op("ResourceScatter" + _kind, infer=_scatter_infer, kernel=_scatter_kernel(_kind),
                grad=NOT_DIFFERENTIABLE, stateful=True, side_effects=True,
                doc="var[indices] %s updates, row by row (atomically)"
                % ("=" if _kind == "Update" else _kind.lower()))


register_op("VarIsInitializedOp", infer=lambda op: [(dtypes.bool_, TensorShape([]))],
            kernel=lambda op, ctx: lambda h: np.asarray(h.value is not None),
            grad=NOT_DIFFERENTIABLE, stateful=True)


def _report_kernel(op, ctx):
    def report(*handles):
        return np.array([h.name.encode() for h in handles if h.value is None], dtype=object)
    return report


register_op("ReportUninitializedVariables",
            infer=lambda op: [(dtypes.string, TensorShape([None]))],
            kernel=_report_kernel, grad=NOT_DIFFERENTIABLE, stateful=True)


# ----------------------------------------------------------------------------------------------
# The Variable object
# ----------------------------------------------------------------------------------------------
def _outermost_graph():
    """The graph variables are made in: the default graph, or the graph enclosing the
    function body (``while_loop`` body, ``cond`` branch) being traced."""
    g = get_default_graph()
    while g.outer_graph is not None:
        g = g.outer_graph
    return g


@contextlib.contextmanager
def _lifted_into(graph):
    """TF1's ``init_scope`` for variables: ops go into ``graph`` (the outermost one), with no
    control dependencies, under the name scope the code inside the bodies sees.

    In a loop body ``tf.Variable(..., name="v")`` is ``while/v`` as in TF1: the name scopes
    of the enclosing graphs and of the bodies, outermost first.
    """
    inner = get_default_graph()
    if inner is graph:
        with graph.control_dependencies(None):
            yield
        return
    parts = []
    g = inner
    while g is not None:
        if g.get_name_scope():
            parts.append(g.get_name_scope())
        g = g.outer_graph
    scope = "/".join(reversed(parts))
    with graph.as_default(), graph.control_dependencies(None), \
            graph.name_scope(scope + "/" if scope else None):
        yield


class Variable:
    """A variable: state in the session, read and written by ops of the graph.

    Args:
        initial_value: a Tensor or value convertible to one (or a callable returning it).
        trainable: add to ``TRAINABLE_VARIABLES`` (optimizers' default var_list).
        collections: graph collections to add it to (default ``[GLOBAL_VARIABLES]``).
        validate_shape: require the initial value's shape to be fully known.
        name: name of the handle op (made unique; ``v.name`` is ``name + ":0"``).
        dtype: convert the initial value to this dtype.

    The value belongs to each session: initialize it with ``sess.run(v.initializer)``
    or ``tf.global_variables_initializer()``; reading it before raises
    ``FailedPreconditionError``. In an interactive (eager) session it is initialized
    at once. Made inside a ``while_loop`` body or a ``cond`` branch, the variable and its
    initial value go into the outermost graph (TF1's ``init_scope``): an initial value
    computed in the body is an error there, a callable one runs outside the body.
    """

    def __init__(self, initial_value=None, trainable=None, collections=None, validate_shape=True,
                 caching_device=None, name=None, variable_def=None, dtype=None,
                 expected_shape=None, import_scope=None, constraint=None, use_resource=None,
                 synchronization=None, aggregation=None, shape=None):
        if variable_def is not None:
            self._init_from_def(variable_def, import_scope)
            return
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        trainable = True if trainable is None else bool(trainable)
        if collections is None:
            collections = [GraphKeys.GLOBAL_VARIABLES]
        collections = list(collections)
        if trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
            collections.append(GraphKeys.TRAINABLE_VARIABLES)
        graph = _outermost_graph()
        self._graph = graph
        self._trainable = trainable
        self._constraint = constraint
        self._save_slice_info = None
        with _lifted_into(graph), name_scope(name, "Variable") as scope:
            handle_name = scope[:-1]
            with name_scope("Initializer"):
                if callable(initial_value):
                    initial_value = initial_value()
                init = convert_to_tensor(initial_value, dtype=dtype, name="initial_value")
            if init.graph is not graph and init.graph.outer_graph is not None:
                raise ValueError(
                    "Initializer for variable %s is from inside a control-flow construct, such "
                    "as a loop or conditional (tensor %s). When creating a variable inside a "
                    "loop or conditional, use a lambda as the initializer."
                    % (handle_name, init.name))
            if init.dtype is dtypes.resource:
                raise TypeError("A variable cannot hold a resource handle")
            var_shape = init.shape if shape is None else as_shape(shape)
            if validate_shape and not var_shape.is_fully_defined():
                raise ValueError("initial_value must have a shape specified: %s" % init)
            if not validate_shape and shape is None:
                var_shape = unknown_shape()
            self._dtype = init.dtype
            self._shape = var_shape
            self._initial_value = init
            self._handle = core.op("VarHandleOp", [], {
                "dtype": init.dtype, "shape": var_shape, "shared_name": handle_name,
                "container": ""}, name=handle_name + "/")._outputs[0]
            self._initializer_op = self._assign_op("AssignVariableOp", init, "Assign",
                                                   validate_shape).op
            ev = graph._eager_evaluator
            if ev is not None:
                shown = ev.value(init)
                if shown is not None:  # initialize with the value the user saw (random inits)
                    ev.session.run(self._initializer_op, {init: shown})
            with name_scope("Read"):
                self._snapshot = self._read("ReadVariableOp")
        self._caching_device = caching_device
        for c in collections:
            graph.add_to_collection(c, self)

    def _init_from_def(self, d, import_scope):
        """Rebuilds a Variable object over an imported graph (see graph_io)."""
        g = get_default_graph()
        prefix = (import_scope + "/") if import_scope else ""
        self._graph = g
        self._handle = g.as_graph_element(prefix + d["handle"])
        self._initializer_op = g.as_graph_element(prefix + d["initializer"])
        self._snapshot = g.as_graph_element(prefix + d["snapshot"])
        self._initial_value = g.as_graph_element(prefix + d["initial_value"]) \
            if d.get("initial_value") else None
        self._trainable = d.get("trainable", True)
        self._dtype = self._snapshot.dtype
        self._shape = self._snapshot.shape
        self._constraint = None
        self._caching_device = None
        self._save_slice_info = None

    def to_def(self, export_scope=None):
        def strip(n):
            if export_scope and n.startswith(export_scope + "/"):
                return n[len(export_scope) + 1:]
            return n
        return {"handle": strip(self._handle.name), "initializer": strip(self._initializer_op.name),
                "snapshot": strip(self._snapshot.name), "trainable": self._trainable,
                "initial_value": strip(self._initial_value.name) if self._initial_value is not None
                else None}

    to_proto = to_def

    @staticmethod
    def from_proto(variable_def, import_scope=None):
        return Variable(variable_def=variable_def, import_scope=import_scope)

    # --- ops on the variable ---
    def _read(self, name="ReadVariableOp"):
        """A read op: on the variable's device, outside any colocation (TF1's ``value()``).

        A read made inside another variable's ``colocate_with`` (an optimizer update, a
        moving average) stays with the variable it reads and its value travels, so the two
        variables may live on different devices. In a function body the read goes into the
        body (the handle is captured there) with the body's scopes.
        """
        g = self._graph
        device = self._handle.op._device
        if get_default_graph().outer_graph is not None or not (
                device or g._device_stack or g._colocation_stack):  # nothing to clear or set
            return core.out("ReadVariableOp", [self._handle], {"dtype": self._dtype}, name=name)
        with g.colocate_with(None, ignore_existing=True), g.device(device):
            return core.out("ReadVariableOp", [self._handle], {"dtype": self._dtype}, name=name)

    def _assign_op(self, op_type, value, name, validate_shape=True):
        # Inside a function body the op goes into the body (the handle is captured);
        # elsewhere into the variable's graph.
        g = get_default_graph()
        with (g if g.outer_graph is not None else self._graph).as_default():
            v = convert_to_tensor(value, dtype=self._dtype)
            return core.out(op_type, [self._handle, v], {"validate_shape": validate_shape}, name=name)

    def value(self):
        """A tensor reading the variable now (a new read op in the current context, placed
        on the variable's device whatever the colocation and device scopes around it)."""
        return self._read()

    def read_value(self):
        """Like :meth:`value`, with the read op under a ``Read`` name scope."""
        with name_scope("Read"):
            return self._read()

    def _dense_tensor(self, dtype=None, name=None):
        if dtype is not None and dtypes.as_dtype(dtype) is not self._dtype:
            raise ValueError("Incompatible type conversion requested to type '%s' for variable of "
                             "type '%s'" % (dtypes.as_dtype(dtype).name, self._dtype.name))
        return self._read()

    def _as_graph_element(self):
        return self._snapshot

    def _gradient_target(self):
        return self._handle

    def assign(self, value, use_locking=None, name=None, read_value=True):
        """Sets the variable to ``value`` when run; the op's output is the new value."""
        return self._assign_op("AssignVariableOp", value, name or "AssignVariableOp")

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        return self._assign_op("AssignAddVariableOp", delta, name or "AssignAddVariableOp")

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        return self._assign_op("AssignSubVariableOp", delta, name or "AssignSubVariableOp")

    def _scatter_op(self, kind, indices, updates, name):
        """Runs ``ResourceScatter<kind>``; returns a read of the variable after it (as TF1)."""
        g = get_default_graph()
        with (g if g.outer_graph is not None else self._graph).as_default():
            with name_scope(name, "Scatter" + kind):
                indices = convert_to_tensor(indices)
                updates = convert_to_tensor(updates, dtype=self._dtype)
                op = core.op("ResourceScatter" + kind, [self._handle, indices, updates],
                             {"dtype": self._dtype}, name="ResourceScatter" + kind)
                with get_default_graph().control_dependencies([op]):
                    return self._read()

    def _scatter_delta(self, kind, sparse_delta, name):
        from ..framework.graph import IndexedSlices
        if not isinstance(sparse_delta, IndexedSlices):
            raise TypeError("sparse_delta is not IndexedSlices: %s" % (sparse_delta,))
        return self._scatter_op(kind, sparse_delta.indices, sparse_delta.values, name)

    # Row updates (an IndexedSlices of new rows/deltas). They are always atomic: the lock is
    # held from reading the rows to writing them; use_locking is accepted for compatibility.
    def scatter_update(self, sparse_delta, use_locking=False, name=None):
        """``var[indices] = values`` for an IndexedSlices ``sparse_delta``."""
        return self._scatter_delta("Update", sparse_delta, name)

    def scatter_add(self, sparse_delta, use_locking=False, name=None):
        """``var[indices] += values`` (duplicate indices add up)."""
        return self._scatter_delta("Add", sparse_delta, name)

    def scatter_sub(self, sparse_delta, use_locking=False, name=None):
        return self._scatter_delta("Sub", sparse_delta, name)

    def scatter_mul(self, sparse_delta, use_locking=False, name=None):
        return self._scatter_delta("Mul", sparse_delta, name)

    def scatter_div(self, sparse_delta, use_locking=False, name=None):
        return self._scatter_delta("Div", sparse_delta, name)

    def scatter_min(self, sparse_delta, use_locking=False, name=None):
        return self._scatter_delta("Min", sparse_delta, name)

    def scatter_max(self, sparse_delta, use_locking=False, name=None):
        return self._scatter_delta("Max", sparse_delta, name)

    def load(self, value, session=None):
        """Writes ``value`` into the variable in ``session`` (default session) right away."""
        from ..runtime.session import _session_for
        sess = _session_for(session, self._handle)
        ph_val = np.asarray(value, dtype=self._dtype.np)
        sess.run(self.assign(core.constant(ph_val)).op)

    def eval(self, session=None):
        return self._snapshot.eval(session=session)

    def numpy(self):
        return self._snapshot.numpy()

    def initialized_value(self):
        """The variable's value if it is initialized, else its initial value (TF1's cond).

        It never writes the variable: evaluating it (say, in another variable's
        initializer) leaves an initialized variable as it is."""
        from .control_flow_ops import cond
        with self._graph.as_default(), self._graph.control_dependencies(None):
            return cond(is_variable_initialized(self), self.read_value,
                        lambda: self._initial_value)

    # --- properties ---
    @property
    def name(self):
        return self._handle.name

    @property
    def op(self):
        return self._handle.op

    @property
    def handle(self):
        return self._handle

    @property
    def dtype(self):
        return self._dtype

    @property
    def shape(self):
        return self._shape

    def get_shape(self):
        return self._shape

    def set_shape(self, shape):
        self._shape = self._shape.merge_with(shape)

    @property
    def graph(self):
        return self._graph

    @property
    def device(self):
        return self._handle.op.device

    @property
    def initializer(self):
        return self._initializer_op

    @property
    def initial_value(self):
        return self._initial_value

    @property
    def trainable(self):
        return self._trainable

    @property
    def constraint(self):
        return self._constraint

    def __repr__(self):
        ev = self._graph._eager_evaluator
        v = None if ev is None else ev.value(self._snapshot)
        base = "<tf.Variable '%s' shape=%s dtype=%s" % (self.name, self._shape, self._dtype.name)
        if v is not None:
            return base + ", numpy=\n%s>" % np.array2string(np.asarray(v), threshold=100)
        return base + ">"

    # Rich display in Jupyter (tfnb.notebook, imported only then).
    def _repr_mimebundle_(self, include=None, exclude=None):
        from ..notebook.reprs import variable_bundle
        return variable_bundle(self)

    def _repr_html_(self):
        from ..notebook.reprs import variable_bundle
        return variable_bundle(self)["text/html"]

    def __iter__(self):
        return iter(self._read())

    def __array__(self, dtype=None, copy=None):
        v = np.asarray(self.numpy())
        return v if dtype is None else v.astype(dtype)


def _forward_operator(name):
    def op_method(self, *args):
        return getattr(self._read(), name)(*args)
    op_method.__name__ = name
    return op_method


for _op_name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
                 "__rtruediv__", "__div__", "__rdiv__", "__floordiv__", "__rfloordiv__", "__mod__",
                 "__rmod__", "__pow__", "__rpow__", "__matmul__", "__rmatmul__", "__neg__",
                 "__abs__", "__lt__", "__le__", "__gt__", "__ge__", "__getitem__", "__and__",
                 "__rand__", "__or__", "__ror__", "__invert__"):
    setattr(Variable, _op_name, _forward_operator(_op_name))

VariableV1 = Variable


# ----------------------------------------------------------------------------------------------
# Functions
# ----------------------------------------------------------------------------------------------
def _as_variable(ref):
    if isinstance(ref, Variable):
        return ref
    raise TypeError("Expected a tf.Variable, got %r" % (ref,))


def assign(ref, value, validate_shape=None, use_locking=None, name=None):
    """``ref = value`` when run; returns the assigned value."""
    v = _as_variable(ref)
    return v._assign_op("AssignVariableOp", value, name or "Assign",
                        True if validate_shape is None else validate_shape)


def assign_add(ref, value, use_locking=None, name=None):
    return _as_variable(ref).assign_add(value, name=name or "AssignAdd")


def assign_sub(ref, value, use_locking=None, name=None):
    return _as_variable(ref).assign_sub(value, name=name or "AssignSub")


def _scatter_function(kind, locking_default, rule):
    def scatter(ref, indices, updates, use_locking=locking_default, name=None):
        return _as_variable(ref)._scatter_op(kind, indices, updates, name)
    scatter.__name__ = "scatter_" + kind.lower()
    scatter.__doc__ = (
        "``%s`` row by row when run; returns ``ref``'s value after it.\n\n"
        "    ``updates.shape`` is ``indices.shape + ref.shape[1:]`` (or ``[]``); duplicate indices "
        "all apply.\n    Each call is atomic (``use_locking`` is accepted for compatibility).\n\n"
        "    Example:\n        >>> tf.%s(v, [0, 2], [[1.0, 1.0], [2.0, 2.0]])"
        % (rule, scatter.__name__))
    return scatter


scatter_update = _scatter_function("Update", True, "ref[indices] = updates")
scatter_add = _scatter_function("Add", False, "ref[indices] += updates")
scatter_sub = _scatter_function("Sub", False, "ref[indices] -= updates")
scatter_mul = _scatter_function("Mul", False, "ref[indices] *= updates")
scatter_div = _scatter_function("Div", False, "ref[indices] /= updates")
scatter_min = _scatter_function("Min", False, "ref[indices] = min(ref[indices], updates)")
scatter_max = _scatter_function("Max", False, "ref[indices] = max(ref[indices], updates)")


def global_variables(scope=None):
    return get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


all_variables = global_variables


def trainable_variables(scope=None):
    return get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def local_variables(scope=None):
    return get_default_graph().get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def model_variables(scope=None):
    return get_default_graph().get_collection(GraphKeys.MODEL_VARIABLES, scope)


def moving_average_variables(scope=None):
    return get_default_graph().get_collection(GraphKeys.MOVING_AVERAGE_VARIABLES, scope)


def variables_initializer(var_list, name="init"):
    """One op that runs the initializers of ``var_list``."""
    from .control_flow_ops import group, no_op
    if var_list:
        return group(*[v.initializer for v in var_list], name=name)
    return no_op(name=name)


initialize_variables = variables_initializer


def global_variables_initializer():
    """Initializes every variable in ``GLOBAL_VARIABLES`` when run."""
    return variables_initializer(global_variables())


initialize_all_variables = global_variables_initializer


def local_variables_initializer():
    return variables_initializer(local_variables())


initialize_local_variables = local_variables_initializer


def is_variable_initialized(variable):
    return core.out("VarIsInitializedOp", [_as_variable(variable)._handle])


def report_uninitialized_variables(var_list=None, name="report_uninitialized_variables"):
    """A 1-D string tensor naming the variables not yet initialized in the session.

    As TF1 builds it: one ``VarIsInitializedOp`` per variable (each runs where its variable
    lives, so the variables may be on different tasks of a cluster -- one op reading every
    handle would have to run on all of them at once), then the names are masked.
    """
    from .array_ops import boolean_mask, stack
    from .math_ops import logical_not
    if var_list is None:
        var_list = global_variables() + local_variables()
    if not var_list:
        return core.constant(np.array([], dtype=object), dtype=dtypes.string, name=name)
    with name_scope(name):
        flags = [is_variable_initialized(v) for v in var_list]
        names = core.constant(np.array([v.op.name.encode() for v in var_list], dtype=object),
                              dtype=dtypes.string)
        return boolean_mask(names, logical_not(stack(flags)))


def assert_variables_initialized(var_list=None):
    from .control_flow_ops import group
    var_list = global_variables() if var_list is None else var_list
    return group(*[core.out("ReadVariableOp", [v._handle], {"dtype": v.dtype}) for v in var_list])

