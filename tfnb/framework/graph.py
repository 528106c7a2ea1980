"""The dataflow graph: ``Graph``, ``Operation`` (a node) and ``Tensor`` (an edge).

A computation is described first and run later. Creating an op adds a node to a
``Graph``: the node names its op type (whose rules live in the registry), its
input tensors, attributes, device and control inputs, and remembers the user's
line (or notebook cell) that created it. Its output dtypes and shapes are
inferred at once, so mistakes surface at the line that made them. Nothing is
computed here: a ``Session`` (``tfnb.runtime``) prunes, compiles and runs the
graph. Graphs only grow; the ``version`` counts nodes, and plans built for older
versions stay valid because new nodes cannot change the inputs of old ones.

Example:
    >>> g = tf.Graph()
    >>> with g.as_default():
    ...     a = tf.constant(2.0, name="a")
    ...     b = a * 3.0
    >>> b.op.inputs[0] is a
    True
"""
import contextlib
import os
import re
import sys
import threading

from . import dtypes as _dtypes
from . import errors
from .device_spec import DeviceSpec, merge_device
from .registry import _REGISTRY, get_op_def
from .tensor_shape import TensorShape, as_shape, shape_str

__all__ = ["Graph", "Operation", "Tensor", "GraphKeys", "get_default_graph", "reset_default_graph",
           "name_scope", "control_dependencies", "device", "add_to_collection", "get_collection",
           "get_collection_ref", "colocate_with"]

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_VALID_OP_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*$")
_VALID_SCOPE_NAME = re.compile(r"^[A-Za-z0-9_.\\/>-]*$")
# Name bases (scope + requested name) already checked: ``base`` and ``base_N`` are valid.
_valid_bases = set()


# ----------------------------------------------------------------------------------------------
# Where the user created an op
# ----------------------------------------------------------------------------------------------
class SourceLocation:
    """The user's frame that created an op: file, line, function, and notebook cell if any."""

    __slots__ = ("filename", "lineno", "function", "cell", "code")

    def __init__(self, filename, lineno, function, cell=None, code=None):
        self.filename = filename
        self.lineno = lineno
        self.function = function
        self.cell = cell
        self.code = code

    def __str__(self):
        if self.cell is not None:
            return "cell In[%s], line %d" % (self.cell, self.lineno)
        return "%s:%d" % (self.filename, self.lineno)

    def __repr__(self):
        return "SourceLocation(%s in %s)" % (self, self.function)

    def as_dict(self):
        return {"filename": self.filename, "lineno": self.lineno, "function": self.function,
                "cell": self.cell}


_cells = {}  # filename -> the IPython cell compiled from it (a cell's file never changes)


def _notebook_cell(filename):
    """The execution count of the IPython cell compiled from ``filename``, if any."""
    ipy = sys.modules.get("IPython")
    if ipy is None:
        return None
    cell = _cells.get(filename)
    if cell is None:
        cell = _find_notebook_cell(ipy, filename)
        if cell is not None:
            if len(_cells) > 4096:
                _cells.clear()
            _cells[filename] = cell
    return cell


def _find_notebook_cell(ipy, filename):
    m = re.match(r"<ipython-input-(\d+)-", filename)
    if m:
        return int(m.group(1))
    try:
        shell = ipy.get_ipython()
        fmap = getattr(getattr(shell, "compile", None), "_filename_map", None)
        if fmap:
            return fmap.get(filename)
    except Exception:  # noqa: BLE001 - a location is a nicety; never fail op creation for it
        return None
    return None


_pkg_files = set()  # files seen under _PKG_DIR (a set test is cheaper than startswith)


def user_location(skip_package=_PKG_DIR, depth=1):
    """The innermost frame outside the tfnb package (where the user called in).

    The search starts ``depth`` frames above the caller's (1: the caller's caller; a tfnb
    function that is itself in the package may pass 2 to skip its own frame).
    """
    f = sys._getframe(depth)
    if skip_package is _PKG_DIR:
        known = _pkg_files
        while f is not None:
            fn = f.f_code.co_filename
            if fn not in known:
                if not fn.startswith(skip_package):
                    break
                known.add(fn)
            f = f.f_back
    else:
        while f is not None and f.f_code.co_filename.startswith(skip_package):
            f = f.f_back
    if f is None:
        return None
    code = f.f_code
    fn = code.co_filename
    return SourceLocation(fn, f.f_lineno, code.co_name,
                          _notebook_cell(fn) if "IPython" in sys.modules else None)


# ----------------------------------------------------------------------------------------------
# Tensor
# ----------------------------------------------------------------------------------------------
class Tensor:
    """A symbolic handle to one output of an :class:`Operation`.

    A Tensor holds no value; it names an edge of the graph. Its dtype is fixed
    and its static shape may be partly unknown. ``sess.run(t)`` or ``t.eval()``
    computes its value. In an interactive session values are computed as soon as
    possible and shown by ``repr`` and ``.numpy()``.
    """

    __slots__ = ("_op", "_value_index", "_dtype", "_shape", "_consumers", "_name", "__weakref__")

    # NumPy must defer to our reflected operators (np_array + tensor -> Tensor).
    __array_priority__ = 100

    def __init__(self, op, value_index, dtype, shape):
        self._op = op
        self._value_index = value_index
        self._dtype = dtype
        self._shape = shape
        self._consumers = []
        self._name = None

    @property
    def op(self):
        return self._op

    @property
    def value_index(self):
        return self._value_index

    @property
    def dtype(self):
        return self._dtype

    @property
    def graph(self):
        return self._op._graph

    @property
    def name(self):
        if self._name is None:
            self._name = "%s:%d" % (self._op._name, self._value_index)
        return self._name

    @property
    def device(self):
        return self._op.device

    @property
    def shape(self):
        return self._shape

    def get_shape(self):
        return self._shape

    def set_shape(self, shape):
        """Refines the static shape; fails if ``shape`` contradicts what is known."""
        try:
            self._shape = self._shape.merge_with(as_shape(shape))
        except ValueError:
            raise ValueError("Tensor %s has shape %s, which is not compatible with %s"
                             % (self.name, self._shape, as_shape(shape))) from None

    def consumers(self):
        return list(self._consumers)

    def eval(self, feed_dict=None, session=None):
        """Runs the graph to compute this tensor, in ``session`` or the default session."""
        from ..runtime.session import _session_for
        return _session_for(session, self).run(self, feed_dict)

    def numpy(self):
        """This tensor's value as a NumPy array (computed now if needed)."""
        from ..runtime.session import _value_now
        return _value_now(self)

    def __array__(self, dtype=None, copy=None):
        import numpy as np
        v = np.asarray(self.numpy())
        return v if dtype is None else v.astype(dtype)

    def _as_graph_element(self):
        return self

    def _shape_as_list(self):
        return self._shape.as_list() if self._shape.ndims is not None else None

    def __iter__(self):
        n = self._shape.ndims
        if n is None or n == 0:
            raise TypeError("Tensor objects are only iterable when the first dimension is known "
                            "(%s has shape %s)" % (self.name, self._shape))
        first = self._shape.as_tuple()[0]
        if first is None:
            raise TypeError("Cannot iterate over a tensor with unknown first dimension "
                            "(%s has shape %s)" % (self.name, self._shape))
        return (self[i] for i in range(first))

    def __bool__(self):
        v = self.graph._eager_value(self)
        if v is None:
            raise TypeError("Using a `tf.Tensor` as a Python `bool` is not allowed in graph "
                            "execution. Use `if t is not None:` instead of `if t:` or use "
                            "tf.cond to execute subgraphs conditioned on the value of a tensor.")
        return bool(v)

    def __len__(self):
        d = self._shape.as_tuple()
        if d is None or not d or d[0] is None:
            raise TypeError("len is not well defined for symbolic Tensor %s (shape %s)"
                            % (self.name, self._shape))
        return d[0]

    def __float__(self):
        return float(self.numpy())

    def __int__(self):
        return int(self.numpy())

    def __index__(self):
        v = self.graph._eager_value(self)
        if v is None or not self._dtype.is_integer:
            raise TypeError("Only integer scalar tensors with a computed value can be used as "
                            "an index (%s)" % self.name)
        return int(v)

    def __repr__(self):
        return self.graph._tensor_repr(self)

    def __str__(self):
        return self.__repr__()

    # Rich display in Jupyter; tfnb.notebook is imported only when a notebook asks.
    def _repr_mimebundle_(self, include=None, exclude=None):
        from ..notebook.reprs import tensor_bundle
        return tensor_bundle(self)

    def _repr_html_(self):
        from ..notebook.reprs import tensor_bundle
        return tensor_bundle(self)["text/html"]

    # Operators (+, *, [], @, ...) are attached by tfnb.ops.math_ops / array_ops.


class IndexedSlices:
    """A sparse set of rows of a dense tensor: ``values[i]`` is row ``indices[i]``.

    The gradient of ``gather``/``embedding_lookup`` is an IndexedSlices so that an
    optimizer updates only the rows that were used.
    """

    def __init__(self, values, indices, dense_shape=None):
        self.values = values
        self.indices = indices
        self.dense_shape = dense_shape

    @property
    def dtype(self):
        return self.values.dtype

    @property
    def graph(self):
        return self.values.graph

    @property
    def name(self):
        return self.values.name

    @property
    def op(self):
        return self.values.op

    @property
    def device(self):
        return self.values.device

    def get_shape(self):
        return self.values.get_shape()

    def __repr__(self):
        return "IndexedSlices(indices=%s, values=%s, dense_shape=%s)" % (
            self.indices, self.values, self.dense_shape)


# ----------------------------------------------------------------------------------------------
# Operation
# ----------------------------------------------------------------------------------------------
class Operation:
    """A node of the graph: an op type applied to input tensors, with attributes.

    The node holds only what is particular to it (inputs, attrs, device, control
    inputs, where it was created). What the op type means -- its shape rule,
    kernel and gradient -- lives in its :class:`~tfnb.framework.registry.OpDef`.
    """

    __slots__ = ("_graph", "_name", "_op_def", "_inputs", "_control_inputs", "_outputs", "_attrs",
                 "_device", "_id", "_location", "_control_outputs", "_colocation", "__weakref__")

    def __init__(self, graph, op_def, name, inputs, attrs, device, location, op_id):
        self._graph = graph
        self._name = name
        self._op_def = op_def
        self._inputs = tuple(inputs)
        self._control_inputs = ()  # a list once there are any (most nodes have none)
        self._control_outputs = ()
        self._outputs = ()
        self._attrs = attrs
        self._device = device
        self._id = op_id
        self._location = location
        self._colocation = None

    @property
    def name(self):
        return self._name

    @property
    def type(self):
        return self._op_def.name

    @property
    def op_def(self):
        return self._op_def

    @property
    def graph(self):
        return self._graph

    @property
    def inputs(self):
        return self._inputs

    @property
    def outputs(self):
        return list(self._outputs)

    @property
    def control_inputs(self):
        return list(self._control_inputs)

    @property
    def device(self):
        return self._device

    @property
    def attrs(self):
        return dict(self._attrs)

    @property
    def location(self):
        """Where the user created this op (:class:`SourceLocation`), or None."""
        return self._location

    @property
    def traceback(self):
        loc = self._location
        return [] if loc is None else [(loc.filename, loc.lineno, loc.function, loc.code)]

    @property
    def node_def(self):
        """A plain-dict description of the node (name, op, inputs, attrs, device)."""
        from .graph_io import node_to_dict
        return node_to_dict(self)

    def get_attr(self, name):
        try:
            return self._attrs[name]
        except KeyError:
            raise ValueError("Operation %r has no attr named %r." % (self._name, name)) from None

    def _set_attr(self, name, value):
        self._attrs[name] = value
        self._graph._mutated()

    def _set_device(self, device):
        self._device = merge_device("", device) if device else ""
        self._graph._mutated()

    def values(self):
        return tuple(self._outputs)

    def run(self, feed_dict=None, session=None):
        """Runs this op (for its side effects) in ``session`` or the default session."""
        from ..runtime.session import _session_for
        _session_for(session, self).run(self, feed_dict)

    def _add_control_input(self, op):
        if not isinstance(op, Operation):
            raise TypeError("op must be an Operation: %s" % (op,))
        if op not in self._control_inputs:
            if self._control_inputs.__class__ is tuple:
                self._control_inputs = list(self._control_inputs)
            self._control_inputs.append(op)
            op._add_control_output(self)
            self._graph._mutated()

    def _add_control_output(self, op):
        if self._control_outputs.__class__ is tuple:
            self._control_outputs = [op]
        else:
            self._control_outputs.append(op)

    def _add_control_inputs(self, ops):
        for op in ops:
            self._add_control_input(op)

    def _update_input(self, index, tensor):
        """Replaces input ``index`` (used by graph rewriting; may create a cycle)."""
        old = self._inputs[index]
        if tensor.dtype != old.dtype:
            raise TypeError("Cannot update input %d of %s: dtype %s != %s"
                            % (index, self._name, tensor.dtype.name, old.dtype.name))
        old._consumers.remove(self)
        tensor._consumers.append(self)
        self._inputs = self._inputs[:index] + (tensor,) + self._inputs[index + 1:]
        self._graph._mutated()

    def describe(self, input_values=None):
        """One line naming this node for error messages: name, type, inputs, location."""
        if input_values is not None:
            ins = ", ".join(_describe_value(v) for v in input_values)
        else:
            ins = ", ".join("%s%s" % (t.dtype.name, shape_str(t._shape.as_tuple()))
                            for t in self._inputs)
        where = " (created at %s)" % self._location if self._location else ""
        return "node %s (op %s) with inputs (%s)%s" % (self._name, self.type, ins, where)

    def __repr__(self):
        return self._graph._op_repr(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        from ..notebook.reprs import operation_bundle
        return operation_bundle(self)

    def _repr_html_(self):
        from ..notebook.reprs import operation_bundle
        return operation_bundle(self)["text/html"]

    def __str__(self):
        return "name: %r\nop: %r\ninputs: %s" % (self._name, self.type,
                                                 [t.name for t in self._inputs])


def _describe_value(v):
    dtype = getattr(v, "dtype", None)
    shape = getattr(v, "shape", None)
    if dtype is not None and shape is not None:
        try:
            name = _dtypes.as_dtype(dtype).name
        except TypeError:
            name = str(dtype)
        return "%s%s" % (name, shape_str(tuple(shape)))
    return type(v).__name__


# ----------------------------------------------------------------------------------------------
# Device scopes and colocation (used by Graph.device / Graph.colocate_with)
# ----------------------------------------------------------------------------------------------
_merged_devices = {}  # (scope string, op's device so far) -> merged device; scopes are few


def _device_scope_entry(device_name_or_function):
    """What ``Graph.device`` keeps for a scope: a canonical string, a function, or None.

    Strings are parsed here, so a malformed one fails where the scope is entered (TF1).
    """
    d = device_name_or_function
    if d is None or (callable(d) and not isinstance(d, DeviceSpec)):
        return d
    if isinstance(d, (str, bytes, DeviceSpec)):
        return DeviceSpec.from_string(d).to_string()
    raise TypeError("tf.device expects a device string, a DeviceSpec, a function or None, "
                    "got %r" % (d,))


def _merged_scope_device(scope, device):
    """``device`` with the fields it lacks filled from the enclosing scope string ``scope``."""
    key = (scope, device)
    merged = _merged_devices.get(key)
    if merged is None:
        if len(_merged_devices) > 4096:
            _merged_devices.clear()
        merged = _merged_devices[key] = DeviceSpec.from_string(scope).make_merged_spec(
            DeviceSpec.from_string(device)).to_string()
    return merged


def _device_function_result(fn, op, result):
    """The canonical device string a device function returned for ``op``."""
    if isinstance(result, DeviceSpec):
        return result.to_string()
    if not isinstance(result, (str, bytes)):
        raise TypeError("Device function %s returned %r for %s: a device function must return "
                        "a device string or a DeviceSpec" % (getattr(fn, "__qualname__", fn),
                                                             result, op.describe()))
    try:
        return DeviceSpec.from_string(result).to_string()
    except ValueError as e:
        raise ValueError("Device function %s returned a malformed device for %s: %s"
                         % (getattr(fn, "__qualname__", fn), op.describe(), e)) from None


def _colocation_target(value):
    """The Operation that ``colocate_with(value)`` colocates with (a variable's handle op)."""
    if isinstance(value, Operation):
        return value
    if isinstance(value, (Tensor, IndexedSlices)):
        return value.op
    handle = getattr(value, "handle", None)  # a variable: colocate with the op holding it
    if isinstance(handle, Tensor):
        return handle.op
    conv = getattr(value, "_as_graph_element", None)
    if conv is not None:
        element = conv()
        if isinstance(element, (Tensor, Operation)):
            return element.op if isinstance(element, Tensor) else element
    raise TypeError("colocate_with expects an Operation, a Tensor or a Variable, got %r"
                    % (value,))


# ----------------------------------------------------------------------------------------------
# Graph
# ----------------------------------------------------------------------------------------------
class GraphKeys:
    """Standard collection names, as in TF1."""
    GLOBAL_VARIABLES = "variables"
    VARIABLES = "variables"
    LOCAL_VARIABLES = "local_variables"
    METRIC_VARIABLES = "metric_variables"
    MODEL_VARIABLES = "model_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    SUMMARIES = "summaries"
    QUEUE_RUNNERS = "queue_runners"
    TABLE_INITIALIZERS = "table_initializer"
    ASSET_FILEPATHS = "asset_filepaths"
    MOVING_AVERAGE_VARIABLES = "moving_average_variables"
    REGULARIZATION_LOSSES = "regularization_losses"
    CONCATENATED_VARIABLES = "concatenated_variables"
    SAVERS = "savers"
    WEIGHTS = "weights"
    BIASES = "biases"
    ACTIVATIONS = "activations"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"
    SAVEABLE_OBJECTS = "saveable_objects"
    RESOURCES = "resources"
    LOCAL_RESOURCES = "local_resources"
    TRAINABLE_RESOURCE_VARIABLES = "trainable_resource_variables"
    INIT_OP = "init_op"
    LOCAL_INIT_OP = "local_init_op"
    READY_OP = "ready_op"
    READY_FOR_LOCAL_INIT_OP = "ready_for_local_init_op"
    SUMMARY_OP = "summary_op"
    GLOBAL_STEP = "global_step"
    EVAL_STEP = "eval_step"
    TRAIN_OP = "train_op"
    COND_CONTEXT = "cond_context"
    WHILE_CONTEXT = "while_context"


class Graph:
    """A dataflow graph: a growing set of Operations connected by Tensors.

    Besides the nodes, a graph keeps the construction context -- the name-scope
    stack, control-dependency and device scopes -- and named collections
    (variables, losses, update ops). ``as_default()`` makes it the graph new ops
    go into. A graph is not thread-safe for concurrent construction.

    Example:
        >>> g = tf.Graph()
        >>> with g.as_default(), tf.name_scope("layer"):
        ...     w = tf.constant([1.0], name="w")
        >>> w.name
        'layer/w:0'
    """

    def __init__(self):
        self._ops = []
        self._ops_by_name = {}
        self._names_in_use = {}
        self._name_stack = ""
        self._control_dependencies_stack = []
        self._device_stack = []  # outermost first: canonical device strings, functions, None
        self._colocation_stack = []
        self._collections = {}
        self._finalized = False
        self._mutation_count = 0
        self._seed = None
        self._gradient_override_map = {}
        self._prevented_feeding = set()
        self._prevented_fetching = set()
        self._eager_evaluator = None  # set by tfnb.runtime for interactive (eager) evaluation
        self._lock = threading.RLock()
        self._functions = {}
        self._variable_scope_store = None  # owned by tfnb.ops.variable_scope
        # Python callables that live as long as this graph (py_func bodies, custom gradients).
        self._owned_callables = []

    # --- identity / version ---
    @property
    def version(self):
        """Number of ops created so far; grows with every new node."""
        return len(self._ops)

    @property
    def mutation_count(self):
        """Bumped when an existing node changes (control input, rewired input, attr)."""
        return self._mutation_count

    def _mutated(self):
        self._mutation_count += 1

    @property
    def seed(self):
        return self._seed

    @seed.setter
    def seed(self, value):
        self._seed = value

    @property
    def finalized(self):
        return self._finalized

    def finalize(self):
        """Makes the graph read-only: adding ops afterwards raises RuntimeError."""
        self._finalized = True

    def _unsafe_unfinalize(self):
        self._finalized = False

    # --- defaults ---
    def as_default(self):
        """Context manager that makes this graph the default graph."""
        return _default_graph_stack.get_controller(self)

    # --- ops and lookup ---
    def get_operations(self):
        return list(self._ops)

    def get_operation_by_name(self, name):
        if not isinstance(name, str):
            raise TypeError("Operation names are strings (or similar), not %s." % type(name).__name__)
        op = self._ops_by_name.get(name)
        if op is None:
            raise KeyError("The name %r refers to an Operation not in the graph." % name)
        return op

    def _get_operation_by_name_unsafe(self, name):
        return self._ops_by_name.get(name)

    def get_tensor_by_name(self, name):
        if not isinstance(name, str):
            raise TypeError("Tensor names are strings (or similar), not %s." % type(name).__name__)
        return self.as_graph_element(name, allow_tensor=True, allow_operation=False)

    def as_graph_element(self, obj, allow_tensor=True, allow_operation=True):
        """Resolves a Tensor, Operation, Variable or name string to an element of this graph."""
        conv = getattr(obj, "_as_graph_element", None)
        if conv is not None and not isinstance(obj, (Tensor, Operation)):
            obj = conv()
        if isinstance(obj, str):
            name = obj
            if ":" in name and allow_tensor:
                op_name, _, idx = name.rpartition(":")
                try:
                    idx = int(idx)
                except ValueError:
                    raise ValueError("The name %r looks like a Tensor name, but is not a valid one."
                                     % name) from None
                op = self._ops_by_name.get(op_name)
                if op is None:
                    raise KeyError("The name %r refers to a Tensor which does not exist. The "
                                   "operation, %r, does not exist in the graph." % (name, op_name))
                if idx >= len(op._outputs):
                    raise KeyError("The name %r refers to a Tensor which does not exist. The "
                                   "operation, %r, exists but only has %d outputs."
                                   % (name, op_name, len(op._outputs)))
                return op._outputs[idx]
            if ":" in name:
                raise ValueError("Name %r appears to refer to a Tensor, not an Operation." % name)
            op = self._ops_by_name.get(name)
            if op is None:
                raise KeyError("The name %r refers to an Operation not in the graph." % name)
            if not allow_operation:
                raise ValueError("The name %r refers to an Operation, not a Tensor. Tensor names "
                                 "must be of the form \"<op_name>:<output_index>\"." % name)
            return op
        if isinstance(obj, Tensor) and allow_tensor:
            if obj.graph is not self:
                raise ValueError("Tensor %s is not an element of this graph." % obj.name)
            return obj
        if isinstance(obj, Operation) and allow_operation:
            if obj._graph is not self:
                raise ValueError("Operation %s is not an element of this graph." % obj.name)
            return obj
        raise TypeError("Can not convert a %s into a %s." % (
            type(obj).__name__, "Tensor or Operation" if allow_operation and allow_tensor
            else "Tensor" if allow_tensor else "Operation"))

    # --- op creation ---
    def create_op(self, op_type, inputs, dtypes=None, input_types=None, name=None, attrs=None,
                  op_def=None, compute_shapes=True, compute_device=True):
        """Adds a node of type ``op_type`` (TF1-compatible signature; dtypes are inferred)."""
        return self._create_op(op_type, list(inputs), dict(attrs or {}), name)

    def _create_op(self, op_type, inputs, attrs, name=None, location=None):
        """Creates, checks and adds one node. Shape/dtype inference runs here."""
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")
        op_def = _REGISTRY.get(op_type)
        if op_def is None:
            op_def = get_op_def(op_type)  # raises KeyError naming the type
        for i, t in enumerate(inputs):
            if t.__class__ is not Tensor and not isinstance(t, Tensor):
                raise TypeError("Input to op %s must be a Tensor, got %r" % (op_type, t))
            if t._op._graph is not self:
                inputs[i] = self._capture(t, name or op_type)
        if location is None:
            location = user_location()
        if name and name.endswith("/"):  # an exact name (a name scope's, or an imported node's)
            name = name[:-1]
            self._names_in_use.setdefault(name.lower(), 1)
            if not _VALID_OP_NAME.match(name):
                raise ValueError("'%s' is not a valid node name" % name)
        else:
            base = name or op_type
            if self._name_stack:
                base = self._name_stack + "/" + base
            name = self.unique_name(name or op_type, mark_as_used=True)
            # ``name`` is ``base`` or ``base_N``: valid exactly when ``base`` is.
            if base not in _valid_bases:
                if not _VALID_OP_NAME.match(name):
                    raise ValueError("'%s' is not a valid node name" % name)
                if len(_valid_bases) > 8192:
                    _valid_bases.clear()
                _valid_bases.add(base)
        if self._gradient_override_map:
            mapped = self._gradient_override_map.get(op_type)
            if mapped is not None:  # as TF1: the override is recorded on the op at creation
                attrs = dict(attrs, _gradient_op_type=mapped)
        op = Operation(self, op_def, name, inputs, attrs, "", location, len(self._ops))
        try:
            specs = op_def.infer(op)
        except (ValueError, TypeError) as e:
            raise type(e)("%s: %s" % (op.describe(), e)) from None
        if specs.__class__ is list and len(specs) == 1:
            dt, sh = specs[0]
            op._outputs = (Tensor(op, 0, dt, sh if sh.__class__ is TensorShape else as_shape(sh)),)
        else:
            op._outputs = tuple(Tensor(op, i, dt, sh if isinstance(sh, TensorShape)
                                       else as_shape(sh)) for i, (dt, sh) in enumerate(specs))
        ctrl = self._current_control_dependencies(inputs) if self._control_dependencies_stack \
            else ()
        if ctrl:
            op._control_inputs = ctrl
        # As TF1, device functions see the whole op (type, attrs, outputs, control inputs);
        # nothing outside the op changes until they have all succeeded.
        if self._device_stack:
            op._device = self._apply_device_functions(op)
        if self._colocation_stack:
            self._apply_colocation(op)
        with self._lock:
            if name in self._ops_by_name:
                raise ValueError("Duplicate node name in graph: '%s'" % name)
            self._ops_by_name[name] = op
            self._ops.append(op)
            for t in inputs:
                t._consumers.append(op)
            for c in ctrl:
                c._add_control_output(op)
        if self._eager_evaluator is not None:
            self._eager_evaluator._on_op_created(op)
        return op

    def _capture(self, tensor, op_name):
        """An outer tensor used by an op of this graph: an error here; function graphs
        (tfnb.framework.function.FuncGraph) turn it into an input of the function."""
        raise ValueError(
            "Tensor %s must be from the same graph as the op being created (%s): it belongs to "
            "another graph%s." % (tensor.name, op_name, " (created at %s)" % tensor._op._location
                                  if tensor._op._location else ""))

    @property
    def outer_graph(self):
        """The graph enclosing this one (None for a top-level graph)."""
        return None

    # --- naming ---
    def unique_name(self, name, mark_as_used=True):
        """``name`` under the current name scope, suffixed ``_N`` if already taken."""
        names = self._names_in_use
        if self._name_stack:
            name = self._name_stack + "/" + name
        key = name.lower()
        i = names.get(key, 0)
        if mark_as_used:
            names[key] = i + 1
        if i > 0:
            base = key
            key = f"{base}_{i}"
            while key in names:
                i += 1
                key = f"{base}_{i}"
            if mark_as_used:
                names[key] = 1
            name = key if name == base else f"{name}_{i}"
        return name

    def get_name_scope(self):
        return self._name_stack

    @contextlib.contextmanager
    def name_scope(self, name):
        """Pushes a name scope; yields the scope string (ending in '/') for use as a prefix.

        ``None``/'' resets to the root; a name ending in '/' re-enters that exact
        scope; otherwise the name is made unique ("layer", "layer_1", ...).
        """
        old = self._name_stack
        if not name:
            new = ""
        elif name.endswith("/"):
            new = name[:-1]
        else:
            if not _VALID_SCOPE_NAME.match(name):
                raise ValueError("'%s' is not a valid scope name" % name)
            new = self.unique_name(name)
        self._name_stack = new
        try:
            yield (new + "/") if new else ""
        finally:
            self._name_stack = old

    # --- control dependencies ---
    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        """Ops created inside run only after ``control_inputs``; ``None`` clears the scope."""
        if control_inputs is None:
            saved = self._control_dependencies_stack
            self._control_dependencies_stack = []
            try:
                yield
            finally:
                self._control_dependencies_stack = saved
            return
        ops = []
        for c in control_inputs:
            if hasattr(c, "_as_graph_element") and not isinstance(c, (Tensor, Operation)):
                c = c._as_graph_element()
            if isinstance(c, IndexedSlices):
                c = c.op
            c = self.as_graph_element(c)
            ops.append(c.op if isinstance(c, Tensor) else c)
        self._control_dependencies_stack.append(ops)
        try:
            yield
        finally:
            self._control_dependencies_stack.pop()

    def _current_control_dependencies(self, inputs):
        if not self._control_dependencies_stack:
            return []
        input_ops = {t._op for t in inputs}
        out = []
        for frame in self._control_dependencies_stack:
            for op in frame:
                if op not in input_ops and op not in out:
                    out.append(op)
        return out

    # --- devices ---
    @contextlib.contextmanager
    def device(self, device_name_or_function):
        """Ops created inside get a device from this scope and the ones around it.

        Each new op goes through the device scopes innermost first, as in TF1:

        * a device string (or ``DeviceSpec``) fills only the fields the op does not have yet
          from inner scopes, so inner fields win (``/job:ps`` around ``/gpu:0`` gives
          ``/job:ps/device:GPU:0``); ``''`` changes nothing;
        * a function is called with the new :class:`Operation` (its outputs exist and
          ``op.device`` is what the inner scopes gave it) and its result, a device string or
          ``DeviceSpec``, replaces the op's device;
        * ``None`` stops: scopes outside it are ignored.

        Ops created inside ``colocate_with`` do not see the scopes around it (see there).

        Example:
            >>> with g.device("/job:worker/task:1"):
            ...     with g.device(tf.train.replica_device_setter(ps_tasks=2)):
            ...         v = tf.Variable(1.0)    # /job:ps/task:0: the setter's job wins
            ...         y = v * 2.0             # /job:worker/task:1: task from the outer scope

        Raises:
            ValueError: a malformed device string (when the scope is entered).
            TypeError: something that is not a string, DeviceSpec, function or None.
            RuntimeError: device scopes exited out of order.
        """
        entry = _device_scope_entry(device_name_or_function)
        stack = self._device_stack
        stack.append(entry)
        depth = len(stack)
        try:
            yield
        finally:
            if len(stack) != depth or stack[-1] is not entry:
                raise RuntimeError("Exiting device scope without proper scope nesting.")
            stack.pop()

    def _apply_device_functions(self, op):
        """The device of ``op`` from the device scopes, innermost first (TF1's order)."""
        dev = op._device
        for scope in reversed(self._device_stack):
            if scope is None:
                break
            if isinstance(scope, str):
                if scope:
                    dev = _merged_scope_device(scope, dev)
                continue
            op._device = dev  # the function sees what the inner scopes decided
            dev = _device_function_result(scope, op, scope(op))
        return dev

    def _apply_colocation(self, op):
        """Colocates a new op with the targets of the enclosing ``colocate_with`` scopes.

        As TF 1.15: the op takes the device of the outermost target that has one (over any
        device its own scopes gave it), and joins the target's colocation group (recorded
        as its root, the ``loc:@`` name a TF1 ``_class`` attr would hold). With nested
        targets of different groups only the innermost group is recorded.
        """
        for target in self._colocation_stack:
            if target._device:
                op._device = target._device
                break
        inner = self._colocation_stack[-1]
        op._colocation = inner._colocation if inner._colocation is not None else inner

    @contextlib.contextmanager
    def colocate_with(self, op, ignore_existing=False):
        """Ops created inside are placed on the device of ``op``, whatever it turns out to be.

        As TF1, colocation is stronger than device scopes: inside, the enclosing
        ``device()`` scopes and functions (a ``replica_device_setter``) are not applied, and
        each new op takes ``op``'s device if it has one; ``device()`` scopes opened inside
        still apply when ``op`` has none. A Variable stands for the op that holds it.

        Args:
            op: an Operation, Tensor or Variable; None (with ``ignore_existing=True``)
                clears colocation and device scopes alike.
            ignore_existing: forget the enclosing colocation scopes instead of adding to them.

        Raises:
            ValueError: ``op`` is None but ``ignore_existing`` is False.
            TypeError: ``op`` is not an Operation, Tensor or Variable.
        """
        if op is None and not ignore_existing:
            raise ValueError("Trying to reset colocation (op is None) but ignore_existing is "
                             "not True")
        target = None if op is None else _colocation_target(op)
        saved_devices, saved_colocation = self._device_stack, self._colocation_stack
        self._device_stack = []
        stack = [] if ignore_existing else saved_colocation
        self._colocation_stack = stack + [target] if target is not None else list(stack)
        try:
            yield
        finally:
            self._device_stack, self._colocation_stack = saved_devices, saved_colocation

    def _colocate_with_for_gradient(self, op, gradient_uid, ignore_existing=False):
        """``colocate_with`` for gradient ops (TF1's name; tfnb has no gradient contexts)."""
        del gradient_uid
        return self.colocate_with(op, ignore_existing)

    # --- collections ---
    def add_to_collection(self, name, value):
        self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names, value):
        if isinstance(names, str):
            names = [names]
        for n in set(names):
            self.add_to_collection(n, value)

    def get_collection_ref(self, name):
        return self._collections.setdefault(name, [])

    def get_collection(self, name, scope=None):
        items = self._collections.get(name, [])
        if scope is None:
            return list(items)
        pattern = re.compile(scope)
        out = []
        for item in items:
            nm = getattr(item, "name", None)
            if nm is not None and pattern.match(nm):
                out.append(item)
        return out

    def get_all_collection_keys(self):
        return [k for k in self._collections if isinstance(k, str)]

    def clear_collection(self, name):
        self._collections.pop(name, None)

    # --- feeding / fetching policy ---
    def prevent_feeding(self, tensor):
        self._prevented_feeding.add(tensor)

    def is_feedable(self, tensor):
        return tensor not in self._prevented_feeding

    def prevent_fetching(self, op):
        self._prevented_fetching.add(op)

    def is_fetchable(self, tensor_or_op):
        op = tensor_or_op.op if isinstance(tensor_or_op, Tensor) else tensor_or_op
        return op not in self._prevented_fetching

    @contextlib.contextmanager
    def gradient_override_map(self, op_type_map):
        """Ops of the mapped types created inside use another registered gradient.

        Each op created in the block whose type is a key records the mapped name (attr
        ``_gradient_op_type``); ``tf.gradients`` then uses the gradient registered under
        that name with ``tf.RegisterGradient``, even outside the block, as in TF1.

        Example:
            >>> with g.gradient_override_map({"Identity": "ClipGrad"}):
            ...     y = tf.identity(x)   # d y / d x is now _clip_grad's

        Raises:
            TypeError: ``op_type_map`` does not map strings to strings.
        """
        if not isinstance(op_type_map, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in op_type_map.items()):
            raise TypeError("op_type_map must be a dictionary mapping strings to strings")
        # Changed in place: function graphs share this dict with their outer graph.
        current = self._gradient_override_map
        saved = {k: current[k] for k in op_type_map if k in current}
        current.update(op_type_map)
        try:
            yield
        finally:
            for k in op_type_map:
                if k in saved:
                    current[k] = saved[k]
                else:
                    current.pop(k, None)

    # --- export ---
    def as_graph_def(self, from_version=None, add_shapes=False):
        from .graph_io import graph_to_def
        return graph_to_def(self, from_version=from_version, add_shapes=add_shapes)

    # --- display hooks (the runtime / notebook layer fills these in) ---
    def _repr_mimebundle_(self, include=None, exclude=None):
        """In Jupyter a graph draws itself (tfnb.notebook, imported only then)."""
        from ..notebook.reprs import graph_bundle
        return graph_bundle(self)

    def _repr_html_(self):
        from ..notebook.reprs import graph_bundle
        return graph_bundle(self)["text/html"]

    def _eager_value(self, tensor):
        s = self._eager_evaluator
        return None if s is None else s._cached_value(tensor)

    def _tensor_repr(self, t):
        shape = "shape=%s" % (t._shape,) if t._shape.ndims is not None else "shape=<unknown>"
        v = self._eager_value(t)
        if v is not None:
            import numpy as np
            text = np.array2string(np.asarray(v), threshold=100)
            sep = "\n" if "\n" in text else ""
            return "<tf.Tensor '%s' %s dtype=%s numpy=%s%s>" % (t.name, shape, t._dtype.name, sep,
                                                                 text)
        return "<tf.Tensor '%s' %s dtype=%s>" % (t.name, shape, t._dtype.name)

    def _op_repr(self, op):
        return "<tf.Operation '%s' type=%s>" % (op._name, op.type)


# ----------------------------------------------------------------------------------------------
# The default-graph stack
# ----------------------------------------------------------------------------------------------
class _DefaultGraphStack(threading.local):
    def __init__(self):
        super().__init__()
        self.stack = []
        self.global_default = None

    def get_default(self):
        if self.stack:
            return self.stack[-1]
        if self.global_default is None:
            self.global_default = Graph()
            _on_new_default_graph(self.global_default)
        return self.global_default

    def reset(self):
        if self.stack:
            raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs. If "
                                 "you need a cleared graph, exit the nesting and create a new graph.")
        self.global_default = None

    def get_controller(self, graph):
        return _GraphController(self, graph)


class _GraphController(contextlib.ContextDecorator):
    """``with graph.as_default():`` -- a plain class, not a generator: entered once per binary
    op with a Python operand, it must cost little."""

    __slots__ = ("_stack", "_graph")

    def __init__(self, stack, graph):
        self._stack = stack
        self._graph = graph

    def __enter__(self):
        self._stack.stack.append(self._graph)
        return self._graph

    def __exit__(self, *exc):
        stack, graph = self._stack.stack, self._graph
        if stack and stack[-1] is graph:
            stack.pop()
        elif graph in stack:
            stack.remove(graph)
        return False


_default_graph_stack = _DefaultGraphStack()
# Called with each new global default graph (the runtime uses it to attach an eager session).
_new_default_graph_hooks = []


def _on_new_default_graph(g):
    for hook in _new_default_graph_hooks:
        hook(g)


def get_default_graph():
    """The graph new ops go into: the innermost ``as_default()`` graph, else a global one."""
    return _default_graph_stack.get_default()


def reset_default_graph():
    """Replaces the global default graph with a new, empty one."""
    _default_graph_stack.reset()


def _install_default_graph(graph):
    """Makes ``graph`` this thread's default graph until the returned function is called.

    For ``InteractiveSession(graph=g)``, which (as in TF1) keeps ``g`` the default graph
    from creation to ``close()``, however calls interleave; the uninstall may run in any
    thread and removes exactly this entry.
    """
    stack = _default_graph_stack.stack
    stack.append(graph)

    def uninstall():
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is graph:
                del stack[i]
                return
    return uninstall


def _graph_of(values):
    """The graph ops on ``values`` (Tensors/Operations/Variables) go into.

    Outside function bodies it is the graph of the first value that has one (TF1 builds
    into the values' graph even when another is the default). While a function body (a
    ``cond`` branch, a ``while_loop`` body) is being traced it is always the default graph,
    as TF's ``building_function`` rule: values of enclosing graphs are captured as inputs of
    the body, and a value of an unrelated graph fails when the op is created. A value of a
    finished body graph never redirects ops into that body.
    """
    default = get_default_graph()
    for v in values:
        if isinstance(v, (Tensor, Operation)):
            g = v.graph
        else:
            g = getattr(v, "graph", None)
            if not isinstance(g, Graph):
                continue
        if g is default or default.outer_graph is not None or g.outer_graph is not None:
            return default
        return g
    return default


# ----------------------------------------------------------------------------------------------
# Module-level context managers and collection helpers (tf.name_scope, tf.device, ...)
# ----------------------------------------------------------------------------------------------
class name_scope:
    """``with tf.name_scope(name, default_name, values) as scope:`` -- prefixes op names."""

    def __init__(self, name, default_name=None, values=None):
        self._name = default_name if name is None else name
        self._values = values
        self._ctx = None
        self._graph_ctx = None

    def __enter__(self):
        g = _graph_of(self._values or [])
        if g is not get_default_graph():
            self._graph_ctx = g.as_default()
            self._graph_ctx.__enter__()
        self._ctx = g.name_scope(self._name)
        return self._ctx.__enter__()

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
        if self._graph_ctx is not None:
            self._graph_ctx.__exit__(*exc)
        return False


def control_dependencies(control_inputs):
    return get_default_graph().control_dependencies(control_inputs)


def device(device_name_or_function):
    """``with tf.device("/cpu:0"):`` -- constrains where the ops created inside run."""
    return get_default_graph().device(device_name_or_function)


def colocate_with(op, ignore_existing=False):
    return get_default_graph().colocate_with(op, ignore_existing)


def add_to_collection(name, value):
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names, value):
    get_default_graph().add_to_collections(names, value)


def get_collection(key, scope=None):
    return get_default_graph().get_collection(key, scope)


def get_collection_ref(key):
    return get_default_graph().get_collection_ref(key)


def get_name_scope():
    return get_default_graph().get_name_scope()


def op_error(cls, op, message, input_values=None):
    """Builds a typed run-time error whose message names ``op`` and where it was created."""
    return cls(None, op, "%s\n\t[[%s]]" % (message, op.describe(input_values)) if op is not None
               else message)

