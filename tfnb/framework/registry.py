"""The op registry: what an op *is* (rules), kept apart from nodes in a graph.

Each op type is registered once, in the module of its family (``tfnb/ops/*.py``),
with everything about it side by side:

* ``infer(op) -> [(dtype, shape), ...]``: static dtype/shape inference, run when the
  node is created; raise ``ValueError``/``TypeError`` to reject bad input (the graph
  adds the op's name, input shapes and creation location to the message).
* ``kernel(op, ctx) -> callable``: binds the node's attrs once, when a plan is
  compiled, and returns the function the executor calls with input arrays. It is
  written against ``ctx.xp`` (numpy or cupy), so one code path serves CPU and GPU.
  The callable returns one array, or a tuple for ops with several outputs.
* ``grad(op, *output_grads) -> [input_grad or None, ...]``: the gradient, written
  with graph ops (so it is itself differentiable and visible in the graph).

Flags say how the runtime may treat the op: ``stateful`` ops are never folded,
merged or cached; ``side_effects`` ops (assignments, prints) are not run eagerly
when created in an interactive session; ``broadcasting`` ops get their input
gradients summed back to the input shapes by the gradients driver; ``device_types``
limits where the placer may put the op (None: the ``xp`` kernel runs on every device).
"""

__all__ = ["OpDef", "register_op", "get_op_def", "NOT_DIFFERENTIABLE", "registered_ops"]


class _NotDifferentiable:
    def __repr__(self):
        return "NOT_DIFFERENTIABLE"


#: Marks ops whose inputs get no gradient (``tf.gradients`` returns None through them).
NOT_DIFFERENTIABLE = _NotDifferentiable()

_REGISTRY = {}


class OpDef:
    """The rules of one op type. Nodes (``Operation``) refer to one of these."""

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

    def __repr__(self):
        return "OpDef(%s)" % self.name


def register_op(name, *, infer, kernel, grad=None, stateful=False, side_effects=False,
                broadcasting=False, foldable=None, doc=None, device_types=None):
    """Registers op type ``name``; returns its :class:`OpDef`.

    Raises:
        KeyError: if ``name`` is already registered (one op, one place).
    """
    if name in _REGISTRY:
        raise KeyError("Op type %r is registered twice" % name)
    d = OpDef(name, infer, kernel, grad, stateful, side_effects, broadcasting, foldable, doc,
              device_types)
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
