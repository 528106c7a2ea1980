"""Control flow: ``group``/``tuple``/``no_op`` for ordering, and ``cond``, ``case``,
``switch_case``, ``while_loop`` whose branches and bodies are graph functions.

The ops behind cond/while (``If``/``While``) and the reason for choosing functional
control flow over Switch/Merge frames are in tfnb/ops/functional_ops.py.
"""
from ..framework import dtypes, function
from ..framework.graph import (IndexedSlices, Operation, Tensor, control_dependencies,
                               get_default_graph, name_scope, user_location)
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import as_shape
from ..util import nest
from . import core

__all__ = ["no_op", "group", "tuple", "cond", "case", "switch_case", "while_loop"]

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


# ----------------------------------------------------------------------------------------------
# cond / case / switch_case / while_loop (functional: see tfnb/ops/functional_ops.py for why)
# ----------------------------------------------------------------------------------------------
def _where(op_or_graph):
    loc = user_location()
    return " (created at %s)" % loc if loc is not None else ""


def _as_tensors(flat, what):
    """The outputs of a traced function as tensors of its graph (outer tensors are captured)."""
    g = get_default_graph()
    out = []
    for v in flat:
        if v is None:
            raise TypeError("%s returned None; every output must be a tensor" % what)
        t = core.convert_to_tensor(v)
        out.append(t if t.graph is g else g._capture(t, what))
    return out


def cond(pred, true_fn=None, false_fn=None, strict=False, name=None, fn1=None, fn2=None):
    """Runs ``true_fn()`` if the scalar bool ``pred`` is True at run time, else ``false_fn()``.

    Only the taken branch executes (its side effects are the only ones that happen). The
    branches must return the same structure of tensors with the same dtypes.

    Raises:
        TypeError: ``pred`` is not bool, or the branches' structures/dtypes differ.
        ValueError: ``pred`` is not a scalar.
    """
    true_fn = true_fn if true_fn is not None else fn1
    false_fn = false_fn if false_fn is not None else fn2
    if not callable(true_fn) or not callable(false_fn):
        raise TypeError("true_fn and false_fn must be callable.")
    from . import functional_ops  # noqa: F401 - registers the ops
    with name_scope(name, "cond", [pred]) as scope:
        where = _where(None)
        p = core.convert_to_tensor(pred)
        if p.dtype is not dtypes.bool_:
            raise TypeError("cond %s: pred must be a bool tensor, got %s%s"
                            % (scope[:-1], p.dtype.name, where))
        if p.shape.ndims not in (None, 0):
            raise ValueError("cond %s: pred must be a scalar, got shape %s%s"
                             % (scope[:-1], p.shape, where))
        g = get_default_graph()
        t_fg, t_res = function.trace(true_fn, [], scope + "true_fn", g)
        e_fg, e_res = function.trace(false_fn, [], scope + "false_fn", g)
        try:
            nest.assert_same_structure(t_res, e_res)
        except ValueError as e:
            raise TypeError("cond %s: true_fn and false_fn must return the same structure%s. %s"
                            % (scope[:-1], where, e)) from None
        with t_fg.as_default():
            t_flat = _as_tensors(nest.flatten(t_res), "true_fn of cond " + scope[:-1])
        with e_fg.as_default():
            e_flat = _as_tensors(nest.flatten(e_res), "false_fn of cond " + scope[:-1])
        for i, (a, b) in enumerate(zip(t_flat, e_flat)):
            if a.dtype is not b.dtype:
                raise TypeError("cond %s: output %d is %s in true_fn but %s in false_fn%s"
                                % (scope[:-1], i, a.dtype.name, b.dtype.name, where))
        t_f = function.GraphFunction(t_fg, t_flat, scope + "true_fn")
        e_f = function.GraphFunction(e_fg, e_flat, scope + "false_fn")
        if not t_flat:
            # Only side effects: an If with no data outputs, grouped so it can be run.
            o = core.op("If", [p] + t_f.captured_inputs + e_f.captured_inputs,
                        {"then": t_f, "else": e_f}, name="If")
            return o if t_res is None else nest.pack_sequence_as(t_res, [])
        o = core.op("If", [p] + t_f.captured_inputs + e_f.captured_inputs,
                    {"then": t_f, "else": e_f}, name="If")
        outs = list(o._outputs[:-1])
    if not strict and isinstance(t_res, (list, _builtin_tuple)) and len(t_res) == 1 and \
            not hasattr(t_res, "_fields"):
        return outs[0]
    return nest.pack_sequence_as(t_res, outs)


def case(pred_fn_pairs, default=None, exclusive=False, strict=False, name="case"):
    """The first ``fn`` whose ``pred`` is True (all must be exclusive if ``exclusive``)."""
    if isinstance(pred_fn_pairs, dict):
        pred_fn_pairs = list(pred_fn_pairs.items())
    pairs = list(pred_fn_pairs)
    if not pairs and default is None:
        raise ValueError("case needs at least one (pred, fn) pair or a default")
    with name_scope(name, "case"):
        preds = [core.convert_to_tensor(p) for p, _ in pairs]
        for p in preds:
            if p.dtype is not dtypes.bool_:
                raise TypeError("case: preds must be bool tensors, got %s" % p.dtype.name)
        if default is None:
            *pairs, (last_p, last_fn) = pairs
            preds = preds[:-1]
            default = last_fn
        result_fn = default
        for p, (_, fn) in reversed(list(zip(preds, pairs))):
            result_fn = (lambda p_, fn_, else_: (lambda: cond(p_, fn_, else_, strict=strict)))(
                p, fn, result_fn)
        if exclusive and len(preds) > 1:
            from .math_ops import cast, reduce_sum
            from .check_ops import assert_less_equal
            from .array_ops import stack
            n_true = reduce_sum(cast(stack(preds), dtypes.int32))
            with control_dependencies([assert_less_equal(
                    n_true, 1, message="Input error: exclusive=True: more than 1 condition "
                    "evaluated as True")]):
                return result_fn()
        return result_fn()


def switch_case(branch_index, branch_fns, default=None, name="switch_case"):
    """Runs ``branch_fns[branch_index]`` (or ``default`` when out of range; else the last)."""
    if isinstance(branch_fns, dict):
        items = sorted(branch_fns.items())
    else:
        items = list(enumerate(branch_fns))
    with name_scope(name, "switch_case"):
        idx = core.convert_to_tensor(branch_index)
        if not idx.dtype.is_integer:
            raise TypeError("branch_index must be an integer tensor, got %s" % idx.dtype.name)
        from .math_ops import equal
        pairs = [(equal(idx, k), fn) for k, fn in items]
        return case(pairs, default=default if default is not None else items[-1][1])


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10,
               back_prop=True, swap_memory=False, name=None, maximum_iterations=None,
               return_same_structure=False):
    """Repeats ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``; differentiable.

    The number of iterations is decided at run time. ``body`` must return the same
    structure and dtypes as ``loop_vars``; a shape may only change across iterations if
    ``shape_invariants`` allows it.

    Raises:
        ValueError/TypeError: at construction, naming the loop, for a structure, dtype or
            shape mismatch, or a non-scalar-bool condition.
    """
    if not callable(cond) or not callable(body):
        raise TypeError("cond and body must be callable.")
    from . import functional_ops  # noqa: F401 - registers the ops
    single = not isinstance(loop_vars, (list, _builtin_tuple)) or hasattr(loop_vars, "_flat_tensors")
    structure = [loop_vars] if single else loop_vars
    with name_scope(name, "while") as scope:
        loop = scope[:-1]
        where = _where(None)
        flat = [core.convert_to_tensor(v) for v in nest.flatten(structure)]
        if shape_invariants is not None:
            inv = nest.flatten([shape_invariants] if single else shape_invariants)
            if len(inv) != len(flat):
                raise ValueError("while loop %s: shape_invariants has %d entries for %d loop "
                                 "variables%s" % (loop, len(inv), len(flat), where))
            inv = [as_shape(s) for s in inv]
            for t, s in zip(flat, inv):
                if not s.is_compatible_with(t.shape):
                    raise ValueError("while loop %s: loop variable %s has shape %s, not compatible "
                                     "with its shape invariant %s%s" % (loop, t.name, t.shape, s,
                                                                        where))
        else:
            inv = [t.shape for t in flat]
        specs = [(t.dtype, s, "loop_var") for t, s in zip(flat, inv)]
        g = get_default_graph()

        def packed(fn):
            return lambda *xs: fn(*nest.pack_sequence_as(structure, list(xs)))
        c_fg, pred = function.trace(packed(cond), specs, scope + "cond", g)
        with c_fg.as_default():
            pred = core.convert_to_tensor(pred)
        if pred.dtype is not dtypes.bool_:
            raise TypeError("while loop %s: cond must return a bool tensor, got %s%s"
                            % (loop, pred.dtype.name, where))
        if pred.shape.ndims not in (None, 0):
            raise ValueError("while loop %s: cond must return a scalar, got shape %s%s"
                             % (loop, pred.shape, where))
        b_fg, res = function.trace(packed(body), specs, scope + "body", g)
        if len(nest.flatten(structure)) == 1 and not nest.is_sequence(res):
            res = [res]  # a one-variable loop's body may return the bare tensor
        try:
            nest.assert_same_structure(structure, list(res) if isinstance(res, _builtin_tuple) and
                                       not hasattr(res, "_fields") and isinstance(structure, list)
                                       else res)
        except ValueError as e:
            raise ValueError("while loop %s: body must return the same structure as loop_vars%s."
                             " %s" % (loop, where, e)) from None
        with b_fg.as_default():
            res_flat = _as_tensors(nest.flatten(res), "body of while loop " + loop)
        for i, (t, r, s) in enumerate(zip(flat, res_flat, inv)):
            if r.dtype is not t.dtype:
                raise TypeError("while loop %s: loop variable %d enters the loop as %s but the body "
                                "returns %s%s" % (loop, i, t.dtype.name, r.dtype.name, where))
            if not s.is_compatible_with(r.shape) or (s.ndims is not None and r.shape.ndims is None):
                raise ValueError(
                    "while loop %s: input tensor %s enters the loop with shape %s, but has shape "
                    "%s after one iteration. To allow the shape to vary across iterations, use "
                    "the `shape_invariants` argument of tf.while_loop to specify a less-specific "
                    "shape%s." % (loop, t.name, s, r.shape, where))
        c_f = function.GraphFunction(c_fg, [pred], scope + "cond")
        b_f = function.GraphFunction(b_fg, res_flat, scope + "body")
        ins = flat + c_f.captured_inputs + b_f.captured_inputs
        if maximum_iterations is not None:
            ins.append(core.convert_to_tensor(maximum_iterations, dtype=dtypes.int32)
                       if not isinstance(maximum_iterations, core.Tensor) else maximum_iterations)
        o = core.op("While", ins, {"cond": c_f, "body": b_f, "back_prop": bool(back_prop),
                                   "has_max": maximum_iterations is not None,
                                   "parallel_iterations": int(parallel_iterations)}, name="While")
        outs = list(o._outputs[:-1])
    result = nest.pack_sequence_as(structure, outs)
    if single or (not return_same_structure and len(outs) == 1 and isinstance(result, list)):
        return result[0]
    return result
