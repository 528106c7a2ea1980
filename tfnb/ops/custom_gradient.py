"""``tf.custom_gradient``: a function whose gradient you write yourself.

How it works in a graph (as TF1): the decorated ``f(*x)`` builds its ops and returns
``(y, grad_fn)``. Its results ``y``, its inputs ``x`` and a read of every trainable
variable ``f`` read are passed together through one ``IdentityN`` op, created under
``gradient_override_map({"IdentityN": <a fresh name>})`` with ``grad_fn`` registered
under that name. ``tf.gradients`` therefore meets the ``IdentityN`` first: it hands the
gradients of ``y`` to ``grad_fn`` and sends its answers to ``x`` (and the variables)
directly, while the ops inside ``f`` get no gradient at all.

The registered gradient lives as long as the graph that uses it. Its name carries a
per-process tag, so a graph imported from another process never picks up an unrelated
gradient of this one (it has none: ``tf.gradients`` raises ``LookupError``, as TF1).
"""
import functools
import inspect
import itertools

from ..framework.graph import GraphKeys, Tensor, get_default_graph
from ..framework.registry import PROCESS_TAG, register_gradient, register_op
from ..util import nest
from . import core

__all__ = ["custom_gradient", "identity_n"]

_uid = itertools.count()


# ----------------------------------------------------------------------------------------------
# IdentityN: several tensors passed through unchanged (one gradient per output)
# ----------------------------------------------------------------------------------------------
def _identity_n_kernel(op, ctx):
    if len(op._inputs) == 1:
        return lambda x: x
    return lambda *xs: xs


register_op("IdentityN", infer=lambda op: [(t.dtype, t._shape) for t in op._inputs],
            kernel=_identity_n_kernel, grad=lambda op, *grads: list(grads),
            doc="Returns its inputs unchanged (one node for a list of tensors).")


def identity_n(input, name=None):  # noqa: A002 - TF1 argument name
    """Returns a list of tensors with the same values as ``input`` (a list), from one op."""
    ts = [core.convert_to_tensor(x) for x in input]
    return list(core.op("IdentityN", ts, name=name)._outputs)


# ----------------------------------------------------------------------------------------------
# custom_gradient
# ----------------------------------------------------------------------------------------------
def _variables_read(graph, first_op_id):
    """The trainable variables read by ops created from ``first_op_id`` on, in first-read order."""
    by_handle = {v._handle: v for v in _root_graph(graph).get_collection(
        GraphKeys.TRAINABLE_VARIABLES) if getattr(v, "_handle", None) is not None}
    for outer, inner in getattr(graph, "captures", ()):  # in a function body: captured handles
        if outer in by_handle:
            by_handle[inner] = by_handle[outer]
    found = []
    for op in graph._ops[first_op_id:]:
        if op.type == "ReadVariableOp":
            v = by_handle.get(op._inputs[0])
            if v is not None and v not in found:
                found.append(v)
    return found


def _accepts_variables(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "variables" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _root_graph(graph):
    while graph.outer_graph is not None:
        graph = graph.outer_graph
    return graph


def custom_gradient(f):
    """Decorator defining a function together with its gradient.

    ``f(*x)`` returns ``(y, grad_fn)``: ``y`` a Tensor or a (nested) list of Tensors,
    ``grad_fn(*dy)`` the gradients of the inputs ``x`` given the gradients ``dy`` of ``y``
    (a Tensor or a list, one per input; None for an input without gradient). If ``f``
    reads trainable variables that are not inputs, ``grad_fn`` must accept
    ``variables=None`` -- the list of those variables -- and return ``(dx, dvars)``.

    Example (a numerically stable gradient for log(1 + e^x)):
        >>> @tf.custom_gradient
        ... def log1pexp(x):
        ...     e = tf.exp(x)
        ...     def grad(dy):
        ...         return dy * (1 - 1 / (1 + e))
        ...     return tf.log(1 + e), grad

    Raises:
        ValueError: called with keyword arguments (as TF1 in graph mode).
        TypeError: ``f`` reads variables but ``grad_fn`` does not accept ``variables``.
    """

    @functools.wraps(f)
    def decorated(*args, **kwargs):
        if kwargs:
            raise ValueError("The custom_gradient decorator currently supports keywords "
                             "arguments only when eager execution is enabled.")
        args = [core.convert_to_tensor(x) for x in args]
        graph = get_default_graph()
        first = graph.version
        result, grad_fn = f(*args)
        variables = _variables_read(graph, first)
        if variables and not _accepts_variables(grad_fn):
            raise TypeError("If using @custom_gradient with a function that uses variables, "
                            "then grad_fn must accept a keyword argument 'variables'.")
        flat_result = [core.convert_to_tensor(y) for y in nest.flatten(result)]
        n = len(flat_result)

        def grad(op, *result_grads):
            result_grads = result_grads[:n]
            if variables:
                input_grads, variable_grads = grad_fn(*result_grads, variables=variables)
                if len(variable_grads) != len(variables):
                    raise ValueError("Must return gradient for each variable from "
                                     "@custom_gradient grad_fn.")
            else:
                input_grads, variable_grads = grad_fn(*result_grads), []
            input_grads = nest.flatten(input_grads)
            if len(input_grads) != len(args):
                raise ValueError("@custom_gradient grad_fn of %s returned %d gradients for %d "
                                 "inputs" % (f.__name__, len(input_grads), len(args)))
            return [None] * n + list(input_grads) + list(variable_grads)

        name = "CustomGradient-%d-%s" % (next(_uid), PROCESS_TAG)
        # The gradient lives as long as the graph (a function body's: its outermost graph).
        register_gradient(name, grad, owner=_root_graph(graph)._owned_callables)
        reads = [v.value() for v in variables]
        with graph.gradient_override_map({"IdentityN": name}):
            outs = identity_n(flat_result + args + reads)
        for y, o in zip(flat_result, outs):
            if isinstance(y, Tensor):
                o.set_shape(y.shape)
        return nest.pack_sequence_as(result, outs[:n])

    return decorated
