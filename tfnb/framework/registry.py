"""The op registry: what an op *is* (rules), kept apart from nodes in a graph.

This is a public API: ``tf.register_op`` defines a new op type, built-in or yours,
with everything about it side by side:

* ``infer(op) -> [(dtype, shape), ...]``: static dtype/shape inference, run when the
  node is created; raise ``ValueError``/``TypeError`` to reject bad input (the graph
  adds the op's name, input shapes and creation location to the message). Unknown
  dimensions are ``None``; a shape may be a ``TensorShape``, a list or a tuple.
* ``kernel(op, ctx) -> callable``: binds the node's attrs once, when a plan is
  compiled, and returns the function the executor calls with input arrays. It is
  written against ``ctx.xp`` (numpy or cupy), so one code path serves CPU and GPU.
  The callable returns one array, or a tuple for ops with several outputs.
* ``grad(op, *output_grads) -> [input_grad or None, ...]``: the gradient, written
  with graph ops (so it is itself differentiable and visible in the graph);
  :data:`NOT_DIFFERENTIABLE` says the inputs get no gradient, ``None`` that no gradient
  is defined (``tf.gradients`` through the op raises ``LookupError``).

Flags say how the runtime may treat the op: ``stateful`` ops are never folded,
merged or cached; ``side_effects`` ops (assignments, prints) are not run eagerly
when created in an interactive session; ``broadcasting`` ops get their input
gradients summed back to the input shapes by the gradients driver; ``device_types``
limits where the placer may put the op (None: the ``xp`` kernel runs on every device).

The returned :class:`OpDef` is callable: ``my_op(x, y, name=None, **attrs)`` adds a
node to the graph of its inputs and returns its output (a list for several outputs,
the Operation for none). README.md ("Adding an op") walks through a complete example.

Gradient functions also live in a *gradient registry* keyed by name, as in TF1:
``tf.RegisterGradient("Name")`` registers one, ``Graph.gradient_override_map`` makes the
ops created inside use it, and ``tf.NotDifferentiable("OpType")`` marks an op type
that has no gradient as not differentiable. An op type's own ``grad`` is its entry.

Example:
    >>> def _infer(op):
    ...     return [(op.inputs[0].dtype, op.inputs[0].shape)]
    >>> cube = tf.register_op(
    ...     "Cube", infer=_infer,
    ...     kernel=lambda op, ctx: lambda x: x * x * x,
    ...     grad=lambda op, dy: [3.0 * dy * tf.square(op.inputs[0])])
    >>> cube(tf.constant([2.0]))      # a Tensor: [8.]
"""
import os
import sys
import threading
import weakref

__all__ = ["OpDef", "register_op", "get_op_def", "NOT_DIFFERENTIABLE", "registered_ops",
           "register_gradient", "gradient_function", "RegisterGradient", "no_gradient",
           "NotDifferentiable", "NoGradient"]


class _NotDifferentiable:
    def __repr__(self):
        return "NOT_DIFFERENTIABLE"


#: Marks ops whose inputs get no gradient (``tf.gradients`` returns None through them).
NOT_DIFFERENTIABLE = _NotDifferentiable()

_REGISTRY = {}
_lock = threading.RLock()
#: A random tag of this process, part of the names that stand for Python objects of this
#: process (py_func tokens, custom gradients) so that a graph file from elsewhere never
#: refers to an unrelated object that happens to have the same number.
PROCESS_TAG = os.urandom(4).hex()


class OpDef:
    """The rules of one op type. Nodes (``Operation``) refer to one of these.

    Made by :func:`register_op`; see the module docstring for what each field means.
    Calling it adds a node: ``op_def(*inputs, name=None, **attrs)``.
    """

    __slots__ = ("name", "infer", "kernel", "grad", "stateful", "side_effects", "broadcasting",
                 "foldable", "doc", "device_types")

    def __init__(self, name, infer, kernel, grad=None, stateful=False, side_effects=False,
                 broadcasting=False, foldable=None, doc=None, device_types=None):
        self.name = name
        self.infer = infer
        self.kernel = kernel
        self.grad = grad
        self.stateful = stateful
        self.side_effects = side_effects
        self.broadcasting = broadcasting
        # Constant folding is allowed for pure ops unless the op opts out (e.g. huge outputs).
        self.foldable = (not stateful) if foldable is None else foldable
        self.doc = doc
        # Device types with a kernel ("CPU", "GPU"); None: the xp kernel runs everywhere.
        self.device_types = None if device_types is None else tuple(device_types)

    def __call__(self, *inputs, name=None, **attrs):
        """Adds a node of this op type; returns its output Tensor (a list of them for several
        outputs, the Operation for none). Inputs are converted with ``tf.convert_to_tensor``."""
        from ..ops import core
        op = core.op(self.name, [core.convert_to_tensor(x) for x in inputs], attrs, name=name)
        outs = op.outputs
        if not outs:
            return op
        return outs[0] if len(outs) == 1 else outs

    def __repr__(self):
        return "OpDef(%s)" % self.name


def register_op(name, *, infer, kernel, grad=None, stateful=False, side_effects=False,
                broadcasting=False, foldable=None, doc=None, device_types=None, replace=False):
    """Registers op type ``name``; returns its :class:`OpDef` (callable to add nodes).

    Args:
        name: the op type (``Operation.type``), e.g. ``"MySoftplus"``.
        infer: ``infer(op) -> [(dtype, shape), ...]``, one pair per output.
        kernel: ``kernel(op, ctx) -> fn``; ``fn(*input_arrays)`` computes with ``ctx.xp``.
        grad: ``grad(op, *output_grads) -> [input_grad or None, ...]`` built from graph ops,
            :data:`NOT_DIFFERENTIABLE`, or None (no gradient defined).
        stateful, side_effects, broadcasting, foldable, device_types: see the module docstring.
        doc: one line saying what the op computes (shown in graph drawings).
        replace: allow replacing an op type registered before (re-running a notebook
            cell); nodes already created keep the rules they were created with.

    Raises:
        KeyError: if ``name`` is already registered and ``replace`` is false (one op, one place).
    """
    if not isinstance(name, str) or not name:
        raise TypeError("An op type must be a non-empty string, got %r" % (name,))
    d = OpDef(name, infer, kernel, grad, stateful, side_effects, broadcasting, foldable, doc,
              device_types)
    with _lock:
        if name in _REGISTRY and not replace:
            raise KeyError("Op type %r is registered twice" % name)
        _REGISTRY[name] = d
    return d


def get_op_def(name):
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError("Op type not registered '%s'" % name) from None


def registered_ops():
    return dict(_REGISTRY)


def xp_kernel(fn_name):
    """Kernel factory for ops that are exactly one ``xp`` function (``xp.add``)."""
    def make(op, ctx):
        return getattr(ctx.xp, fn_name)
    make.__name__ = "xp_" + fn_name
    return make


# ----------------------------------------------------------------------------------------------
# The gradient registry (TF1's tf.RegisterGradient / tf.NotDifferentiable)
# ----------------------------------------------------------------------------------------------
# name -> (gradient function or NOT_DIFFERENTIABLE, where it was registered)
_GRADIENTS = {}
# Gradients that live only as long as their graph (tf.custom_gradient): name -> _OwnedGradient.
_OWNED_GRADIENTS = weakref.WeakValueDictionary()


class _OwnedGradient:
    __slots__ = ("fn", "__weakref__")

    def __init__(self, fn):
        self.fn = fn


def _caller(depth):
    """``"function file:line"`` of the frame ``depth`` levels above this call."""
    f = sys._getframe(depth)
    return "%s %s:%d" % (f.f_code.co_name, f.f_code.co_filename, f.f_lineno)


def _previous_registration(name):
    if name in _GRADIENTS:
        return _GRADIENTS[name][1]
    if name in _OWNED_GRADIENTS:
        return "a tf.custom_gradient function"
    d = _REGISTRY.get(name)
    if d is not None and d.grad is not None:
        return "the definition of op type %r" % name
    return None


def register_gradient(name, fn, owner=None, location=None):
    """Registers gradient function ``fn`` (or :data:`NOT_DIFFERENTIABLE`) under ``name``.

    ``name`` is an op type without a gradient, or any other name that ops refer to
    through ``Graph.gradient_override_map``. With ``owner`` (a list kept alive by a
    graph), the entry lives only as long as that list.

    Raises:
        KeyError: ``name`` already has a gradient (TF1's "Registering two gradient").
    """
    if not isinstance(name, str):
        raise TypeError("op_type must be a string")
    with _lock:
        prev = _previous_registration(name)
        if prev is not None:
            raise KeyError("Registering two gradient with name '%s'! (Previous registration was "
                           "in %s)" % (name, prev))
        if owner is not None:
            entry = _OwnedGradient(fn)
            owner.append(entry)
            _OWNED_GRADIENTS[name] = entry
        else:
            _GRADIENTS[name] = (fn, location or _caller(2))


def gradient_function(name):
    """The gradient registered under ``name``: a function or :data:`NOT_DIFFERENTIABLE`.

    Raises:
        LookupError: nothing is registered under ``name``.
    """
    entry = _GRADIENTS.get(name)
    if entry is not None:
        return entry[0]
    owned = _OWNED_GRADIENTS.get(name)
    if owned is not None:
        return owned.fn
    d = _REGISTRY.get(name)
    if d is not None and d.grad is not None:
        return d.grad
    raise LookupError("gradient registry has no entry for: %s" % name)


class RegisterGradient:
    """Decorator registering a gradient function under a name (TF1's ``tf.RegisterGradient``).

    The function takes ``(op, *output_grads)`` and returns one gradient (or None) per
    input of ``op``. The name is an op type that has no gradient yet, or a new name
    that ``Graph.gradient_override_map`` maps op types to.

    Example:
        >>> @tf.RegisterGradient("ClipGrad")
        ... def _clip_grad(op, dy):
        ...     return [tf.clip_by_value(dy, -1.0, 1.0)]
        >>> with tf.get_default_graph().gradient_override_map({"Identity": "ClipGrad"}):
        ...     y = tf.identity(x)

    Raises:
        TypeError: ``op_type`` is not a string.
        KeyError: a gradient is already registered under that name (as TF1).
    """

    def __init__(self, op_type):
        if not isinstance(op_type, str):
            raise TypeError("op_type must be a string")
        self._op_type = op_type

    def __call__(self, f):
        register_gradient(self._op_type, f, location=_caller(2))
        return f


def no_gradient(op_type):
    """Declares op type ``op_type`` not differentiable: ``tf.gradients`` gives None through it.

    TF1 spells it ``tf.NotDifferentiable`` (also ``tf.NoGradient``; TF 1.15 adds
    ``tf.no_gradient``). Use it for your own op types registered without ``grad``.

    Raises:
        TypeError: ``op_type`` is not a string.
        KeyError: ``op_type`` already has a gradient (as TF1).
    """
    if not isinstance(op_type, str):
        raise TypeError("op_type must be a string")
    register_gradient(op_type, NOT_DIFFERENTIABLE, location=_caller(2))


NotDifferentiable = no_gradient
NoGradient = no_gradient
