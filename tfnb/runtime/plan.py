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
                 "writes", "ops", "source", "body", "env", "fetch_names", "n_feeds", "traced",
                 "__weakref__")

    def run(self, feed_values):
        return self.fn(feed_values)

    def traced_fn(self):
        """The same step, instrumented to record each op's start/end time and outputs.

        Compiled on first use, so untraced runs pay nothing for tracing."""
        if self.traced is None:
            self.traced = _emit(self, traced=True)
        return self.traced


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
    for j, t in enumerate(feed_tensors):
        names[t] = "f%d" % j
    # Constants folded at compile time: Tensor -> value.
    folded = {}
    counter = itertools.count()
    body = []  # (op, out_names, in_names)
    members = set(ops)
    fetch_set = set(fetch_tensors)
    for op in ops:
        odef = op._op_def
        outs_needed = [t for t in op._outputs]
        # Kernels may skip work for outputs nothing in this plan reads (e.g. a call's stash).
        ctx.live_outputs = frozenset(
            i for i, t in enumerate(op._outputs)
            if t in fetch_set or any(c in members for c in t._consumers))
        try:
            kernel = odef.kernel(op, ctx)
        except errors.OpError as e:
            if e.op is not None:
                raise
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

    ctx.live_outputs = None
    fetch_names = [names[t] for t in fetch_tensors]
    plan = Plan()
    plan.body = body
    plan.env = env
    plan.fetch_names = fetch_names
    plan.n_feeds = len(feed_tensors)
    plan.fn, plan.source, plan.code_name, plan.line_ops = _emit(plan, traced=False)
    plan.traced = None
    plan.feed_tensors = list(feed_tensors)
    plan.feed_checks = [(t, _np_dtype(t), t._shape.as_tuple()) for t in feed_tensors]
    plan.fetch_tensors = list(fetch_tensors)
    plan.ops = ops
    plan.writes = any(op._op_def.side_effects for op in ops)
    return plan


def _emit(plan, traced):
    """Generates, compiles and returns (function, source, code name, {line: op}) for ``plan``.

    One line per kernel call, ``del`` after each value's last use. A traced function also
    takes a ``_rec(index, start_ns, outputs)`` callback called after every op."""
    body, fetch_names = plan.body, plan.fetch_names
    last_use = {}
    for i, (op, k, outs, args) in enumerate(body):
        for a in args:
            last_use[a] = i
    lines = ["def _plan(_feeds%s):" % (", _rec, _now" if traced else "")]
    line_ops = {}
    if plan.n_feeds:
        lines.append("    %s%s = _feeds" % (", ".join("f%d" % j for j in range(plan.n_feeds)),
                                             "," if plan.n_feeds == 1 else ""))
    keep = set(fetch_names)
    for i, (op, k, outs, args) in enumerate(body):
        call = "%s(%s)" % (k, ", ".join(args))
        if traced:
            lines.append("    _t = _now()")
        if not outs:
            line = "    " + call
        elif len(outs) == 1:
            line = "    %s = %s" % (outs[0], call)
        else:
            line = "    %s = %s" % (", ".join(outs), call)
        lines.append(line)
        line_ops[len(lines)] = op
        if traced:
            lines.append("    _rec(%d, _t, (%s%s))" % (i, ", ".join(o for o in outs if o != "_"),
                                                      "," if len(outs) == 1 and outs[0] != "_"
                                                      else ""))
        dead = [a for a in dict.fromkeys(args) if last_use.get(a) == i and a not in keep
                and a.startswith("v")]
        dead += [o for o in outs if o != "_" and o not in last_use and o not in keep]
        if dead:
            lines.append("    del " + ", ".join(dead))
    lines.append("    return (%s%s)" % (", ".join(fetch_names), "," if len(fetch_names) == 1 else ""))
    source = "\n".join(lines) + "\n"
    code_name = "<tfnb-plan-%d%s>" % (next(_plan_counter), "-traced" if traced else "")
    env = plan.env
    exec(compile(source, code_name, "exec"), env)
    return env["_plan"], source, code_name, line_ops


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
    line_maps = {plan.code_name: plan.line_ops}
    if plan.traced is not None:
        line_maps[plan.traced[2]] = plan.traced[3]
    tb = exc.__traceback__
    op = None
    frame_locals = None
    while tb is not None:
        lines = line_maps.get(tb.tb_frame.f_code.co_filename)
        if lines is not None:
            op = lines.get(tb.tb_lineno)
            frame_locals = tb.tb_frame.f_locals
        tb = tb.tb_next
    if op is None:
        return exc if isinstance(exc, errors.OpError) else errors.UnknownError(
            None, None, "%s: %s" % (type(exc).__name__, exc))
    # The kernel's arguments, to report their shapes and dtypes.
    args = next(a for o, _, _, a in plan.body if o is op)
    input_values = [frame_locals.get(a, plan.env.get(a)) for a in args]
    return _wrap_error(exc, op, input_values)


def describe_feed_mismatch(tensor, value_shape):
    return ("Cannot feed value of shape %s for Tensor '%s', which has shape '%s'"
            % (tuple(value_shape), tensor.name, tensor.get_shape()))
