"""Variable scopes and ``get_variable``: sharing variables by name, as TF1 does.

A variable scope prefixes the names of variables made with ``get_variable`` and
decides whether an existing variable may be reused. Each graph keeps a store of
the variables created through ``get_variable`` (by full name) and the current
scope. ``variable_scope`` also opens a name scope for the ops created inside
(made unique, so a second ``variable_scope("model", reuse=True)`` -- by name or by
scope object -- puts its ops under ``model_1/`` while its variables stay ``model/...``).

Example:
    >>> with tf.variable_scope("layer"):
    ...     w = tf.get_variable("w", [3, 4])
    >>> with tf.variable_scope("layer", reuse=True):
    ...     assert tf.get_variable("w") is w
"""
import contextlib

from ..framework import dtypes
from ..framework.graph import GraphKeys, _graph_of, get_default_graph
from ..framework.tensor_shape import as_shape
from .core import convert_to_tensor
from .variables import Variable, _lifted_into, _outermost_graph

__all__ = ["VariableScope", "variable_scope", "variable_op_scope", "get_variable",
           "get_local_variable", "get_variable_scope", "AUTO_REUSE", "no_regularizer"]


class _ReuseMode:
    def __repr__(self):
        return "AUTO_REUSE"


#: Reuse a variable if it exists, create it otherwise.
AUTO_REUSE = _ReuseMode()


def no_regularizer(_):
    """Use as ``regularizer=`` to turn off a scope's default regularizer."""
    return None


class VariableScope:
    """The settings new variables inherit: name prefix, reuse, initializer, dtype, regularizer."""

    def __init__(self, reuse, name="", initializer=None, regularizer=None, caching_device=None,
                 partitioner=None, custom_getter=None, name_scope="", dtype=dtypes.float32,
                 use_resource=None, constraint=None):
        self._name = name
        self._reuse = reuse
        self._initializer = initializer
        self._regularizer = regularizer
        self._caching_device = caching_device
        self._partitioner = partitioner
        self._custom_getter = custom_getter
        self._name_scope = name_scope
        self._dtype = dtype
        self._use_resource = use_resource
        self._constraint = constraint

    name = property(lambda self: self._name)
    original_name_scope = property(lambda self: self._name_scope)
    reuse = property(lambda self: self._reuse)
    initializer = property(lambda self: self._initializer)
    regularizer = property(lambda self: self._regularizer)
    dtype = property(lambda self: self._dtype)
    caching_device = property(lambda self: self._caching_device)
    partitioner = property(lambda self: self._partitioner)
    custom_getter = property(lambda self: self._custom_getter)
    use_resource = property(lambda self: self._use_resource)
    constraint = property(lambda self: self._constraint)

    def reuse_variables(self):
        """From now on, ``get_variable`` in this scope returns existing variables."""
        self._reuse = True

    def set_initializer(self, initializer):
        self._initializer = initializer

    def set_regularizer(self, regularizer):
        self._regularizer = regularizer

    def set_dtype(self, dtype):
        self._dtype = dtype

    def set_caching_device(self, caching_device):
        self._caching_device = caching_device

    def set_partitioner(self, partitioner):
        self._partitioner = partitioner

    def set_custom_getter(self, custom_getter):
        self._custom_getter = custom_getter

    def set_use_resource(self, use_resource):
        self._use_resource = use_resource

    def get_variable(self, var_store, name, **kwargs):
        return var_store.get_variable(self, name, **kwargs)

    def global_variables(self):
        return get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES, self._name)

    def trainable_variables(self):
        return get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES, self._name)

    def __repr__(self):
        return "<VariableScope %r reuse=%r>" % (self._name, self._reuse)


class _VariableStore:
    """Per-graph registry of ``get_variable`` variables and the current scope.

    ``scope_counts`` counts how often each variable scope name was opened; it makes
    ``default_name`` scopes unique (``layer``, ``layer_1``) and is reset below a scope when
    that scope closes, so re-entering ``model`` names its unnamed sub-scopes as the first
    time did (TF1's variable-scope store).
    """

    def __init__(self):
        self.vars = {}
        self.current = VariableScope(False)
        self.scope_counts = {}

    def open_scope(self, name):
        self.scope_counts[name] = self.scope_counts.get(name, 0) + 1

    def close_subscopes(self, name):
        prefix = name + "/"
        for k in self.scope_counts:
            if k.startswith(prefix):
                self.scope_counts[k] = 0

    def unique_scope_name(self, parent, prefix):
        """``prefix`` (or ``prefix_N``) unused as a sub-scope of ``parent``."""
        full = parent.name + "/" + prefix if parent.name else prefix
        if not self.scope_counts.get(full):
            return prefix
        i = 1
        while self.scope_counts.get("%s_%d" % (full, i)):
            i += 1
        return "%s_%d" % (prefix, i)

    def get_variable(self, scope, name, shape=None, dtype=None, initializer=None, regularizer=None,
                     reuse=None, trainable=None, collections=None, caching_device=None,
                     partitioner=None, validate_shape=True, use_resource=None, custom_getter=None,
                     constraint=None, synchronization=None, aggregation=None):
        full = scope.name + "/" + name if scope.name else name
        reuse = scope.reuse if reuse is None else reuse
        dtype = dtypes.as_dtype(dtype) if dtype is not None else None
        if full in self.vars:
            if reuse is False:
                raise ValueError(
                    "Variable %s already exists, disallowed. Did you mean to set reuse=True or "
                    "reuse=tf.AUTO_REUSE in VarScope? Originally defined at: %s"
                    % (full, self.vars[full].op.location))
            v = self.vars[full]
            if shape is not None and not as_shape(shape).is_compatible_with(v.shape):
                raise ValueError("Trying to share variable %s, but specified shape %s and found "
                                 "shape %s." % (full, as_shape(shape), v.shape))
            if dtype is not None and dtype is not v.dtype:
                raise ValueError("Trying to share variable %s, but specified dtype %s and found "
                                 "dtype %s." % (full, dtype.name, v.dtype.name))
            return v
        if reuse is True:
            raise ValueError("Variable %s does not exist, or was not created with "
                             "tf.get_variable(). Did you mean to set reuse=tf.AUTO_REUSE in "
                             "VarScope?" % full)
        if partitioner is not None or scope.partitioner is not None:
            raise NotImplementedError("Partitioned variables (partitioner=) are not supported yet "
                                      "(variable %s)" % full)
        initializer = initializer if initializer is not None else scope.initializer
        graph = _outermost_graph()  # in a loop body or branch: made in the outermost graph
        init_value = None
        if initializer is not None and not callable(initializer):
            # The initial value belongs with the variable, outside any body (TF1's init_scope).
            with _lifted_into(graph):
                init_value = convert_to_tensor(initializer, dtype=dtype) if not isinstance(
                    initializer, Variable) else initializer.initialized_value()
            if shape is not None and validate_shape and \
                    not as_shape(shape).is_compatible_with(init_value.shape):
                raise ValueError("If initializer is a constant, do not specify shape (variable %s: "
                                 "shape %s vs initializer shape %s)" % (full, as_shape(shape),
                                                                        init_value.shape))
            dtype = init_value.dtype
        else:
            dtype = dtype or scope.dtype or dtypes.float32
            if shape is None:
                raise ValueError("Shape of a new variable (%s) must be fully defined, but instead "
                                 "was None." % full)
            shape = as_shape(shape)
            if not shape.is_fully_defined() and validate_shape:
                raise ValueError("Shape of a new variable (%s) must be fully defined, but instead "
                                 "was %s." % (full, shape))
            if initializer is None:
                from . import init_ops
                if dtype.is_floating:
                    initializer = init_ops.glorot_uniform_initializer()
                elif dtype.is_integer or dtype.is_bool or dtype is dtypes.string:
                    initializer = init_ops.zeros_initializer()
                else:
                    raise ValueError("An initializer for variable %s of %s is required"
                                     % (full, dtype.name))
            if isinstance(initializer, type):
                initializer = initializer(dtype=dtype)
            shape_list = shape.as_list()

            def init_value_fn():
                return initializer(shape_list, dtype=dtype)
            init_value = init_value_fn
        with graph.as_default(), graph.control_dependencies(None), graph.name_scope(None):
            v = Variable(initial_value=init_value, trainable=trainable, collections=collections,
                         validate_shape=validate_shape, caching_device=caching_device, name=full,
                         dtype=dtype, constraint=constraint)
        self.vars[full] = v
        reg = regularizer if regularizer is not None else scope.regularizer
        if reg is not None:
            with graph.as_default(), graph.name_scope(None), \
                    graph.name_scope(v.op.name + "/Regularizer/"):
                loss = reg(v)
            if loss is not None:
                graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
        return v


def _store(graph=None):
    g = graph or get_default_graph()
    if g._variable_scope_store is None:
        g._variable_scope_store = _VariableStore()
    return g._variable_scope_store


def get_variable_scope():
    """The current :class:`VariableScope`."""
    return _store().current


def get_variable(name, shape=None, dtype=None, initializer=None, regularizer=None, trainable=None,
                 collections=None, caching_device=None, partitioner=None, validate_shape=True,
                 use_resource=None, custom_getter=None, constraint=None, synchronization=None,
                 aggregation=None):
    """Gets the variable ``scope/name``, creating it if the scope's reuse allows.

    The name ignores name scopes (only variable scopes count). Without an
    initializer, floating variables use ``glorot_uniform_initializer`` and integer
    ones zeros, as in TF1.

    Raises:
        ValueError: the variable exists and reuse is off, or it does not exist and reuse is
            on, or its shape/dtype differs from the existing one.
    """
    store = _store()
    scope = store.current
    getter = custom_getter or scope.custom_getter
    kwargs = dict(shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer,
                  trainable=trainable, collections=collections, caching_device=caching_device,
                  partitioner=partitioner, validate_shape=validate_shape, use_resource=use_resource,
                  constraint=constraint)
    if getter is not None:
        def base_getter(name, *args, **kw):
            return store.get_variable(scope, name, *args, **kw)
        full_kwargs = dict(kwargs)
        return getter(base_getter, name, **full_kwargs)
    return store.get_variable(scope, name, **kwargs)


def get_local_variable(name, shape=None, dtype=None, initializer=None, regularizer=None,
                       trainable=False, collections=None, **kwargs):
    collections = list(collections or []) + [GraphKeys.LOCAL_VARIABLES]
    return get_variable(name, shape=shape, dtype=dtype, initializer=initializer,
                        regularizer=regularizer, trainable=False, collections=collections, **kwargs)


@contextlib.contextmanager
def variable_scope(name_or_scope, default_name=None, values=None, initializer=None,
                   regularizer=None, caching_device=None, partitioner=None, custom_getter=None,
                   reuse=None, dtype=None, use_resource=None, constraint=None,
                   auxiliary_name_scope=True):
    """Opens a variable scope (and a name scope) for ``get_variable`` and ops.

    Re-entering a scope follows TF1 exactly: variables keep their names, ops get a fresh,
    unique name scope. By name string, ``variable_scope("net")`` a second time puts ops
    under ``net_1/`` (its ``original_name_scope``). By scope object, the name scope is the
    last component of the scope's name, made unique under the current name scope, and the
    scope keeps its first ``original_name_scope`` (enter ``tf.name_scope(
    scope.original_name_scope)`` to put ops back there). ``auxiliary_name_scope=False``
    opens no name scope.

    Args:
        name_or_scope: a name, or a :class:`VariableScope` to re-enter.
        default_name: name made unique (``name_1``...) when ``name_or_scope`` is None.
        reuse: True, ``tf.AUTO_REUSE``, or None to inherit (once True, inner scopes reuse too;
            a scope object re-entered brings its own flag instead of the parent's).
        auxiliary_name_scope: open a name scope for ops (True) or stay in the current one.

    Example:
        >>> with tf.variable_scope("net") as net:
        ...     w = tf.get_variable("w", [1])
        >>> with tf.variable_scope(net, reuse=True):
        ...     y = tf.identity(tf.get_variable("w"), name="y")
        >>> y.name, w.name
        ('net_1/y:0', 'net/w:0')
    """
    if name_or_scope is None and default_name is None:
        raise TypeError("If default_name is None then name_or_scope is required")
    if reuse is False:
        reuse = None  # TF1: False means inherit
    if not (reuse is True or reuse is None or reuse is AUTO_REUSE):
        raise ValueError("The reuse parameter must be True or False or None.")
    if name_or_scope is not None and not isinstance(name_or_scope, (VariableScope, str)):
        raise TypeError("VariableScope: name_or_scope must be a string or VariableScope.")
    if not isinstance(auxiliary_name_scope, bool):
        raise TypeError("The auxiliary_name_scope must be `True` or `False`, while get %r"
                        % (auxiliary_name_scope,))
    graph = _graph_of(values or [])  # inside a loop body: the body, whatever values say
    with graph.as_default():
        store = _store(graph)
        parent = store.current
        if name_or_scope is None:
            if reuse:
                raise ValueError("reuse=True cannot be used without a name_or_scope")
            short = store.unique_scope_name(parent, default_name)
            ns_name = default_name
        elif isinstance(name_or_scope, VariableScope):
            short = None
            ns_name = name_or_scope.name.split("/")[-1]
        else:
            short = ns_name = name_or_scope
        if not auxiliary_name_scope:  # re-enter the current name scope: ops stay where they are
            current = graph.get_name_scope()
            ns_ctx = graph.name_scope(current + "/" if current else "")
        elif ns_name:
            ns_ctx = graph.name_scope(ns_name)
        else:  # the root variable scope: no name scope
            ns_ctx = contextlib.nullcontext(None)
        with ns_ctx as entered:
            settings = dict(initializer=initializer, regularizer=regularizer,
                            caching_device=caching_device, partitioner=partitioner,
                            custom_getter=custom_getter, dtype=dtype, use_resource=use_resource)
            if short is None:
                scope = _jump_to(name_or_scope, reuse, constraint, settings)
                store.open_scope(scope.name)
                saved_counts = dict(store.scope_counts)
            else:
                scope = _extend(parent, short, reuse, entered, constraint, settings)
                store.open_scope(scope.name)
            store.current = scope
            try:
                yield scope
            finally:
                if short is None:  # leaving a jumped-to scope restores the counts
                    store.scope_counts = saved_counts
                else:
                    store.close_subscopes(scope.name)
                store.current = parent


@contextlib.contextmanager
def reenter_with_original_name_scope(scope, reuse=None):
    """Re-enters ``scope`` and puts the ops made inside under its ``original_name_scope``.

    This is how TF1's layers and RNN cells call themselves again: the variables are
    shared and every call's ops go under the scope the first call opened (``dense/``),
    not under a fresh ``dense_1/``.
    """
    with variable_scope(scope, reuse=reuse, auxiliary_name_scope=False) as vs:
        with get_default_graph().name_scope(scope.original_name_scope):
            yield vs


def _jump_to(target, reuse, constraint, settings):
    """The scope a re-entry by object opens: a copy of ``target`` with the given overrides."""
    scope = VariableScope(
        target.reuse if not reuse else reuse, name=target.name,
        initializer=target.initializer, regularizer=target.regularizer,
        caching_device=target.caching_device, partitioner=target.partitioner,
        custom_getter=target.custom_getter, name_scope=target.original_name_scope,
        dtype=target.dtype, use_resource=target.use_resource, constraint=constraint)
    _override(scope, target.custom_getter, settings)
    return scope


def _extend(parent, short, reuse, entered_name_scope, constraint, settings):
    """The scope ``parent/short``: inherits the parent's settings (and reuse, once set)."""
    scope = VariableScope(
        reuse or parent.reuse, name=parent.name + "/" + short if parent.name else short,
        initializer=parent.initializer, regularizer=parent.regularizer,
        caching_device=parent.caching_device, partitioner=parent.partitioner,
        custom_getter=parent.custom_getter,
        name_scope=short if entered_name_scope is None else entered_name_scope,
        dtype=parent.dtype, use_resource=parent.use_resource, constraint=constraint)
    _override(scope, parent.custom_getter, settings)
    return scope


def _override(scope, outer_getter, settings):
    """Applies the settings given to ``variable_scope`` (None: keep what the scope has)."""
    if settings["initializer"] is not None:
        scope.set_initializer(settings["initializer"])
    if settings["regularizer"] is not None:
        scope.set_regularizer(settings["regularizer"])
    if settings["caching_device"] is not None:
        scope.set_caching_device(settings["caching_device"])
    if settings["partitioner"] is not None:
        scope.set_partitioner(settings["partitioner"])
    if settings["custom_getter"] is not None:
        scope.set_custom_getter(_chain_getters(settings["custom_getter"], outer_getter))
    if settings["dtype"] is not None:
        scope.set_dtype(settings["dtype"])
    if settings["use_resource"] is not None:
        scope.set_use_resource(settings["use_resource"])


def _chain_getters(inner, outer):
    if inner is None:
        return outer
    if outer is None:
        return inner

    def chained(getter, *args, **kwargs):
        return inner(lambda *a, **k: outer(getter, *a, **k), *args, **kwargs)
    return chained


def variable_op_scope(values, name_or_scope, default_name=None, **kwargs):
    """Deprecated TF1 spelling of ``variable_scope(name_or_scope, default_name, values)``."""
    return variable_scope(name_or_scope, default_name=default_name, values=values, **kwargs)
