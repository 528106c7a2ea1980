"""Grouping and ordering: ``no_op``, ``group``, ``tuple``.

(``cond`` and ``while_loop`` arrive with the control-flow issue.)
"""
from ..framework.graph import IndexedSlices, Operation, Tensor, get_default_graph
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from . import core

__all__ = ["no_op", "group", "tuple"]

_builtin_tuple = tuple

register_op("NoOp", infer=lambda op: [], kernel=lambda op, ctx: lambda: None,
            grad=NOT_DIFFERENTIABLE, side_effects=True, stateful=True,
            doc="Does nothing; its control inputs give it meaning (tf.group).")


def no_op(name=None):
    """An op that does nothing; useful as a target that waits for its control inputs."""
    return core.op("NoOp", [], name=name or "NoOp", graph=get_default_graph())


def _as_op(x):
    if isinstance(x, Operation):
        return x
    if isinstance(x, (Tensor, IndexedSlices)):
        return x.op
    el = getattr(x, "_as_graph_element", None)
    if el is not None:
        e = el()
        return e if isinstance(e, Operation) else e.op
    raise TypeError("Expected an Operation or Tensor, got %r" % (x,))


def group(*inputs, **kwargs):
    """An op that runs all ``inputs`` (ops or tensors) when it is run.

    Example:
        >>> train = tf.group(update_w, update_b)
    """
    name = kwargs.pop("name", None)
    if kwargs:
        raise TypeError("Unknown keyword arguments: %s" % ", ".join(kwargs))
    ops = []
    for x in inputs:
        if isinstance(x, (list, _builtin_tuple)):
            ops.extend(_as_op(y) for y in x if y is not None)
        elif x is not None:
            ops.append(_as_op(x))
    g = ops[0].graph if ops else get_default_graph()
    with g.as_default(), g.control_dependencies(ops):
        return no_op(name=name or "group_deps")


def tuple(tensors, name=None, control_inputs=None):  # noqa: A001 - TF1 name
    """Returns the same tensors, each available only after all of them are computed."""
    ts = [t for t in tensors if t is not None]
    if not ts:
        return list(tensors)
    deps = [_as_op(t) for t in ts] + [_as_op(c) for c in (control_inputs or [])]
    gate = group(*deps, name=name)
    from .array_ops import identity
    g = ts[0].graph
    res = []
    with g.control_dependencies([gate]):
        for t in tensors:
            res.append(None if t is None else identity(t))
    return res
