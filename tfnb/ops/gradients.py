"""Symbolic reverse-mode differentiation: ``tf.gradients`` adds gradient ops to the graph.

The driver is small on purpose:

1. find the ops on a path from ``xs`` to ``ys`` (forward reachability from xs
   intersected with backward reachability from ys, cut at ``stop_gradients``);
2. visit them in reverse creation order (a reverse topological order); for each,
   sum the gradients that reached its outputs (fan-out), call the op's registered
   gradient function, and hand each input its share;
3. for ops flagged ``broadcasting``, sum each input gradient back to that input's
   shape -- once, here, so no gradient function has to think about broadcasting.

Gradient functions build ordinary graph ops, so the result can be run, placed,
drawn, and differentiated again (second derivatives, ``tf.hessians``).
Gradients of ``gather`` arrive as :class:`IndexedSlices` and stay sparse until
something needs them dense.
"""
import contextlib

from ..framework import dtypes
from ..framework.graph import IndexedSlices, Tensor, get_default_graph
from ..framework.registry import NOT_DIFFERENTIABLE, gradient_function
from . import core

__all__ = ["gradients", "hessians", "stop_gradient", "AggregationMethod"]


class AggregationMethod:
    ADD_N = 0
    DEFAULT = ADD_N
    EXPERIMENTAL_TREE = 1
    EXPERIMENTAL_ACCUMULATE_N = 2


def _as_list(x):
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _to_tensor(x):
    if isinstance(x, Tensor):
        return x
    handle = getattr(x, "_gradient_target", None)
    if handle is not None:
        return handle()
    return core.convert_to_tensor(x)


def _reachable_ops(ys, xs_ops, stop_ops):
    """Ops between xs and ys: backward from ys, then keep those that some x reaches."""
    back = set()
    stack = [y.op for y in ys]
    while stack:
        o = stack.pop()
        if o in back:
            continue
        back.add(o)
        if o in stop_ops:
            continue
        for t in o._inputs:
            stack.append(t._op)
    fwd = set()
    stack = [o for o in xs_ops if o in back]
    while stack:
        o = stack.pop()
        if o in fwd:
            continue
        fwd.add(o)
        for t in o._outputs:
            for c in t._consumers:
                if c in back and c not in fwd:
                    stack.append(c)
    return fwd


def _sum_grads(grads):
    """Sums the gradients reaching one tensor (dense with add_n; all-sparse stays sparse)."""
    grads = [g for g in grads if g is not None]
    if not grads:
        return None
    if len(grads) == 1:
        return grads[0]
    if getattr(grads[0], "dtype", None) is dtypes.variant:  # e.g. TensorArray gradients
        from . import functional_ops  # noqa: F401 - registers AddVariants
        return core.out("AddVariants", grads)
    if all(isinstance(g, IndexedSlices) for g in grads):
        from .array_ops import concat
        return IndexedSlices(concat([g.values for g in grads], 0),
                             concat([g.indices for g in grads], 0), grads[0].dense_shape)
    from .math_ops import add_n
    return add_n([core.convert_to_tensor(g) for g in grads])


def gradients(ys, xs, grad_ys=None, name="gradients", colocate_gradients_with_ops=False,
              gate_gradients=False, aggregation_method=None, stop_gradients=None,
              unconnected_gradients="none"):
    """Symbolic derivatives of ``sum(ys)`` with respect to each of ``xs``.

    Args:
        ys: a Tensor or list of Tensors to differentiate.
        xs: a Tensor/Variable or list of them.
        grad_ys: optional initial gradients for ys (default ones).
        stop_gradients: tensors treated as constants.
        unconnected_gradients: "none" (return None) or "zero" for xs that ys do not depend on.
        colocate_gradients_with_ops: put the gradient ops of each op with that op (the
            forward op's device and colocation group), so that with variables on
            parameter servers their gradients are summed where they live.

    Returns:
        A list with one gradient per x (a Tensor, an IndexedSlices, or None).

    Example:
        >>> x = tf.constant(3.0)
        >>> tf.gradients(x * x, x)[0]   # 2x
    """
    ys = [_to_tensor(y) for y in _as_list(ys)]
    xs = [_to_tensor(x) for x in _as_list(xs)]
    grad_ys = _as_list(grad_ys) if grad_ys is not None else [None] * len(ys)
    if len(grad_ys) != len(ys):
        raise ValueError("Passed %d grad_ys for %d ys" % (len(grad_ys), len(ys)))
    graph = ys[0].graph if ys else get_default_graph()
    stop_ops = {_to_tensor(s).op for s in _as_list(stop_gradients)}
    from .array_ops import ones_like, zeros_like

    with graph.as_default(), graph.name_scope(name + "/" if name.endswith("/") else name):
        xs_ops = {x.op for x in xs}
        between = _reachable_ops(ys, xs_ops, stop_ops)
        pending = {}  # Tensor -> list of gradients reaching it
        for y, gy in zip(ys, grad_ys):
            if gy is None:
                if not y.dtype.is_differentiable:
                    continue  # as TF1: an integer/bool y contributes no gradient
                gy = ones_like(y, name="grad_ys")
            else:
                gy = core.convert_to_tensor(gy, dtype=y.dtype)
            pending.setdefault(y, []).append(gy)
        x_set = set(xs)
        for o in sorted(between, key=lambda o: o._id, reverse=True):
            with _maybe_colocate_with(graph, o, colocate_gradients_with_ops):
                _backprop_op(graph, o, pending, between, stop_ops, xs_ops, x_set)
        result = []
        for x in xs:
            g = _sum_grads(pending.get(x, ()))
            if g is None and unconnected_gradients == "zero":
                g = zeros_like(x)
            result.append(g)
    return result


def _maybe_colocate_with(graph, op, colocate):
    """With ``colocate_gradients_with_ops``, the gradient ops of ``op`` (the sums of its
    output gradients included) are colocated with it, as TF1 does."""
    if colocate:
        return graph._colocate_with_for_gradient(op, None)
    return contextlib.nullcontext()


def _backprop_op(graph, o, pending, between, stop_ops, xs_ops, x_set):
    """Sums the gradients that reached ``o``'s outputs and hands each input its share."""
    from .array_ops import zeros_like
    from .math_ops import sum_to_shape_of
    out_grads = [_sum_grads(pending.get(t, ())) for t in o._outputs]
    for t, g in zip(o._outputs, out_grads):
        if g is not None:
            pending[t] = [g]
    if o in stop_ops or all(g is None for g in out_grads):
        return
    if not o._inputs or (o in xs_ops and all(t in x_set for t in o._outputs)
                         and not any(t.op in between for t in o._inputs)):
        return
    odef = o._op_def
    gfn = _gradient_function(o)
    if gfn is NOT_DIFFERENTIABLE:
        return
    if gfn is None:
        if not any(t.op in between for t in o._inputs):
            return
        raise LookupError("No gradient defined for operation '%s' (op type: %s)"
                          % (o.name, o.type))
    # Missing output gradients are zeros (only for float outputs).
    full = []
    for t, g in zip(o._outputs, out_grads):
        if g is None and t.dtype.is_differentiable:
            g = zeros_like(t)
        full.append(g)
    with graph.name_scope(o.name + "_grad"):
        in_grads = _as_list(gfn(o, *full))
    if len(in_grads) != len(o._inputs):
        raise ValueError("Gradient function for %s (op type %s) returned %d gradients, "
                         "expected %d" % (o.name, o.type, len(in_grads), len(o._inputs)))
    for t, g in zip(o._inputs, in_grads):
        if g is None or t.op not in between and t not in x_set:
            continue
        if not _carries_gradient(t.dtype) and t not in x_set:
            continue
        if odef.broadcasting and isinstance(g, Tensor):
            gs, ts = g._shape.as_tuple(), t._shape.as_tuple()
            if not (gs is not None and gs == ts and None not in gs):
                g = sum_to_shape_of(g, t)
        pending.setdefault(t, []).append(g)


def _carries_gradient(dtype):
    """Float/complex tensors carry gradients; so do ``variant`` values such as TensorArrays,
    whose gradients are values of the same kind (a missing one stays None: zero)."""
    return dtype.is_differentiable or dtype is dtypes.variant


def _gradient_function(op):
    """The gradient of ``op``: the one registered under the name its creation recorded
    (``Graph.gradient_override_map``), else its op type's (None when there is none)."""
    name = op._attrs.get("_gradient_op_type", op.type)
    try:
        return gradient_function(name)
    except LookupError:
        return None


def stop_gradient(input, name=None):  # noqa: A002 - TF1 argument name
    """Identity in the forward pass; blocks gradients from flowing through it."""
    return core.out("StopGradient", [core.convert_to_tensor(input)], name=name)


def hessians(ys, xs, name="hessians", colocate_gradients_with_ops=False, gate_gradients=False,
             aggregation_method=None):
    """Second derivatives of ``sum(ys)`` w.r.t. each x, shaped ``x.shape + x.shape``."""
    from .array_ops import concat, reshape, shape, stack
    xs = [_to_tensor(x) for x in _as_list(xs)]
    out = []
    for x in xs:
        g = gradients(ys, x, name=name,
                      colocate_gradients_with_ops=colocate_gradients_with_ops)[0]
        if g is None:
            out.append(None)
            continue
        n = x.shape.num_elements()
        if n is None:
            raise ValueError("tf.hessians needs a fully known shape for %s, got %s" % (x.name, x.shape))
        flat = reshape(core.convert_to_tensor(g), [-1])
        rows = []
        for i in range(n):
            gi = gradients(flat[i], x, name=name,
                           colocate_gradients_with_ops=colocate_gradients_with_ops)[0]
            rows.append(zeros_like_static(x) if gi is None else reshape(core.convert_to_tensor(gi), [-1]))
        h = stack(rows)
        out.append(reshape(h, concat([shape(x), shape(x)], 0)))
    return out


def zeros_like_static(x):
    from .array_ops import zeros
    return zeros([x.shape.num_elements()], dtype=x.dtype)

