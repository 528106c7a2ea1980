"""Compile once, run many: turning (fetches, feeds) into a flat Python function.

``compile_plan`` does all analysis up front:

1. prune: walk back from the fetched tensors and target ops over data and control
   edges, stopping at fed tensors; an unfed placeholder on the way is an error;
2. order: creation order is a topological order unless nodes were rewired later,
   in which case Kahn's algorithm runs (and reports cycles);
3. bind: each op's kernel factory is called once with the session's context,
   attrs are bound, and pure ops whose inputs are all constants are folded;
4. emit: the steps become the source of one Python function, one line per op
   (``v7 = k3(v5, c2)``), with ``del`` after each value's last use so memory is
   released as soon as possible. Running a cached plan therefore costs one Python
   call per kernel -- no interpreter loop, no dictionary lookups.

A run-time exception is mapped back to its op by the line number of the
generated code; the op's name, type, input shapes/dtypes and creation location
go into the typed error.
"""
import itertools

import numpy as np

from ..framework import errors
from ..framework.graph import op_error

__all__ = ["Plan", "compile_plan", "prune"]

_plan_counter = itertools.count()


def prune(fetch_tensors, target_ops, feed_set):
    """Ops needed to compute the fetches and run the targets, given the fed tensors.

    Returns:
        (ops, unfed_placeholders): ops in creation order; placeholders reached but not fed.
    """
    needed = set()
    stack = [t.op for t in fetch_tensors if t not in feed_set] + list(target_ops)
    while stack:
        op = stack.pop()
        if op in needed:
            continue
        needed.add(op)
        for t in op._inputs:
            if t not in feed_set and t._op not in needed:
                stack.append(t._op)
        for c in op._control_inputs:
            if c not in needed:
                stack.append(c)
    return sorted(needed, key=lambda o: o._id)


def topological_order(ops):
    """Orders ``ops`` so each comes after its inputs; raises on a cycle."""
    members = set(ops)
    ok = True
    for op in ops:
        for t in op._inputs:
            if t._op in members and t._op._id >= op._id:
                ok = False
                break
        if ok:
            for c in op._control_inputs:
                if c in members and c._id >= op._id:
                    ok = False
                    break
        if not ok:
            break
    if ok:
        return ops
    indeg = {op: 0 for op in ops}
    succ = {op: [] for op in ops}
    for op in ops:
        preds = {t._op for t in op._inputs if t._op in members}
        preds.update(c for c in op._control_inputs if c in members)
        indeg[op] = len(preds)
        for p in preds:
            succ[p].append(op)
    ready = sorted((op for op in ops if indeg[op] == 0), key=lambda o: o._id)
    order = []
    while ready:
        op = ready.pop(0)
        order.append(op)
        for s in succ[op]:
            indeg[s] -= 1
            if indeg[s] == 0:
                ready.append(s)
    if len(order) != len(ops):
        cyc = sorted((op for op in ops if indeg[op] > 0), key=lambda o: o._id)
        raise errors.InvalidArgumentError(
            None, cyc[0], "Graph is invalid, contains a cycle with %d nodes, including: %s"
            % (len(cyc), ", ".join(o.name for o in cyc[:5])))
    return order


class Plan:
    """A compiled step: validated feeds in, fetched values out."""

    __slots__ = ("fn", "feed_tensors", "feed_checks", "fetch_tensors", "line_ops", "code_name",
                 "writes", "ops", "source", "__weakref__")

    def run(self, feed_values):
        return self.fn(feed_values)


def _np_dtype(tensor):
    return tensor.dtype.np


def compile_plan(ctx, fetch_tensors, target_ops, feed_tensors):
    """Builds a :class:`Plan` computing ``fetch_tensors`` and running ``target_ops``.

    Args:
        ctx: the session's ``KernelContext``.
        fetch_tensors: unique Tensors to return, in order.
        target_ops: Operations to run for their effects.
        feed_tensors: Tensors whose values the caller supplies, in order.

    Raises:
        InvalidArgumentError: an unfed placeholder is needed, or the graph has a cycle.
    """
    feed_set = set(feed_tensors)
    ops = topological_order(prune(fetch_tensors, target_ops, feed_set))

    names = {}       # Tensor -> python expression naming its value
    env = {}         # globals of the generated function
    lines = []
    line_ops = {}
    for j, t in enumerate(feed_tensors):
        names[t] = "f%d" % j
    # Constants folded at compile time: Tensor -> value.
    folded = {}
    counter = itertools.count()
    body = []  # (op, out_names, in_names)
    for op in ops:
        odef = op._op_def
        outs_needed = [t for t in op._outputs]
        try:
            kernel = odef.kernel(op, ctx)
        except errors.OpError as e:
            raise type(e)(None, op, "%s\n\t[[%s]]" % (e.message, op.describe())) from None
        ins = op._inputs
        if odef.foldable and all(t in folded for t in ins) and all(t not in feed_set for t in op._outputs):
            try:
                with np.errstate(all="ignore"):
                    val = kernel(*[folded[t] for t in ins])
            except Exception as e:  # noqa: BLE001 - reported with the op's name
                raise _wrap_error(e, op, [folded[t] for t in ins]) from None
            vals = val if len(op._outputs) != 1 else (val,)
            for t, v in zip(op._outputs, vals):
                if isinstance(v, np.ndarray) and v.flags.writeable:
                    v.flags.writeable = False
                folded[t] = v
                c = "c%d" % next(counter)
                env[c] = v
                names[t] = c
            continue
        k = "k%d" % next(counter)
        env[k] = kernel
        out_names = []
        for t in outs_needed:
            if t in feed_set:
                out_names.append("_")
            else:
                n = "v%d" % next(counter)
                names[t] = n
                out_names.append(n)
        body.append((op, k, out_names, [names[t] for t in ins]))

    # Last use of every value name, to emit `del` right after it.
    fetch_names = [names[t] for t in fetch_tensors]
    last_use = {}
    for i, (op, k, outs, args) in enumerate(body):
        for a in args:
            last_use[a] = i
    lines.append("def _plan(_feeds):")
    if feed_tensors:
        lines.append("    %s%s = _feeds" % (", ".join("f%d" % j for j in range(len(feed_tensors))),
                                             "," if len(feed_tensors) == 1 else ""))
    keep = set(fetch_names)
    for i, (op, k, outs, args) in enumerate(body):
        call = "%s(%s)" % (k, ", ".join(args))
        if not outs:
            line = "    " + call
        elif len(outs) == 1:
            line = "    %s = %s" % (outs[0], call)
        else:
            line = "    %s = %s" % (", ".join(outs), call)
        lines.append(line)
        line_ops[len(lines)] = op
        dead = [a for a in dict.fromkeys(args) if last_use.get(a) == i and a not in keep
                and a.startswith("v")]
        dead += [o for o in outs if o != "_" and o not in last_use and o not in keep]
        if dead:
            lines.append("    del " + ", ".join(dead))
    lines.append("    return (%s%s)" % (", ".join(fetch_names), "," if len(fetch_names) == 1 else ""))
    source = "\n".join(lines) + "\n"
    code_name = "<tfnb-plan-%d>" % next(_plan_counter)
    code = compile(source, code_name, "exec")
    exec(code, env)

    plan = Plan()
    plan.fn = env["_plan"]
    plan.source = source
    plan.code_name = code_name
    plan.line_ops = line_ops
    plan.feed_tensors = list(feed_tensors)
    plan.feed_checks = [(t, _np_dtype(t), t._shape.as_tuple()) for t in feed_tensors]
    plan.fetch_tensors = list(fetch_tensors)
    plan.ops = ops
    plan.writes = any(op._op_def.side_effects for op in ops)
    return plan


def _wrap_error(exc, op, input_values=None):
    """A typed OpError naming ``op`` for an exception raised by its kernel."""
    if isinstance(exc, errors.OpError):
        cls, msg = type(exc), exc.message
    elif isinstance(exc, MemoryError):
        cls, msg = errors.ResourceExhaustedError, "OOM when computing: %s" % (exc,)
    elif isinstance(exc, (ValueError, IndexError, TypeError, ZeroDivisionError, KeyError,
                          FloatingPointError, OverflowError, ArithmeticError)):
        cls, msg = errors.InvalidArgumentError, "%s: %s" % (type(exc).__name__, exc)
    else:
        cls, msg = errors.UnknownError, "%s: %s" % (type(exc).__name__, exc)
    return op_error(cls, op, msg, input_values)


def map_runtime_error(plan, exc):
    """Finds which op of ``plan`` raised ``exc`` and returns the typed error to raise."""
    tb = exc.__traceback__
    op = None
    frame_locals = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == plan.code_name:
            op = plan.line_ops.get(tb.tb_lineno)
            frame_locals = tb.tb_frame.f_locals
        tb = tb.tb_next
    if op is None:
        return exc if isinstance(exc, errors.OpError) else errors.UnknownError(
            None, None, "%s: %s" % (type(exc).__name__, exc))
    input_values = None
    if frame_locals is not None:
        # Recover the kernel's arguments from the generated line to report their shapes.
        src = plan.source.splitlines()[_line_of(plan, op) - 1]
        arg_text = src[src.index("(") + 1: src.rindex(")")]
        args = [a.strip() for a in arg_text.split(",") if a.strip()]
        env = plan.fn.__globals__
        input_values = [frame_locals.get(a, env.get(a)) for a in args]
    return _wrap_error(exc, op, input_values)


def _line_of(plan, op):
    for ln, o in plan.line_ops.items():
        if o is op:
            return ln
    return 1


def describe_feed_mismatch(tensor, value_shape):
    return ("Cannot feed value of shape %s for Tensor '%s', which has shape '%s'"
            % (tuple(value_shape), tensor.name, tensor.get_shape()))
