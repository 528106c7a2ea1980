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
import threading

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
            # As TF1's feed rewrite: a control edge from a fed Placeholder comes from the feed.
            if c not in needed and not (c.type in _PLACEHOLDERS and c._outputs and
                                        c._outputs[0] in feed_set):
                stack.append(c)
    return sorted(needed, key=lambda o: o._id)


_PLACEHOLDERS = ("Placeholder", "PlaceholderV2")


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
    """A compiled step: validated feeds in, fetched values out.

    On one device the plan is a single generated function. On several, it holds one
    :class:`Partition` per device and ``fn`` is a driver that runs them concurrently, one
    executor thread per device, exchanging tensors through a per-step rendezvous.
    """

    __slots__ = ("fn", "feed_tensors", "fetch_tensors", "line_ops", "code_name",
                 "writes", "ops", "source", "body", "env", "fetch_names", "n_feeds", "traced",
                 "placement", "partitions", "device", "rewrites", "__weakref__")

    def traced_fn(self):
        """The same step, instrumented to record each op's start/end time and outputs.

        Compiled on first use, so untraced runs pay nothing for tracing."""
        if self.traced is None:
            self.traced = _emit(self, traced=True)
        return self.traced

    def run_traced(self, feeds, now):
        """Runs the step recording (op, device, start_ns, end_ns, thread, outputs) per op."""
        if self.partitions is None:
            records = []
            tid = threading.get_ident()
            dev = self.device

            def rec(i, t0, outs):
                records.append((self.body[i][0], dev, t0, now(), tid, outs))
            return self.traced_fn()[0](feeds, rec, now), records
        return self.fn.run(feeds, traced=True, now=now)


class Partition:
    """The part of a plan that runs on one device (a generated function with Send/Recv)."""

    __slots__ = ("device", "body", "env", "fetch_names", "n_feeds", "fn", "source", "code_name",
                 "line_ops", "traced", "ops")

    def traced_fn(self):
        if self.traced is None:
            self.traced = _emit(self, traced=True, io=True)
        return self.traced


class TransferOp:
    """A Send or Recv in a partition: what step traces and partition listings show.

    ``tensor`` is the value carried (None for a control edge: then ``control_of`` is the op
    that must run first, and only a token travels); ``key`` names the edge in the step's
    rendezvous; ``peer_device`` is the other end.
    """

    __slots__ = ("name", "type", "device", "tensor_name", "peer", "_attrs", "key", "tensor",
                 "peer_device", "control_of")

    def __init__(self, kind, tensor, device, peer, key=None, control_of=None):
        self.type = kind
        self.tensor = tensor
        self.control_of = control_of
        self.tensor_name = tensor.name if tensor is not None else "^" + control_of.name
        self.device = device.name
        self.peer = peer.name
        self.peer_device = peer
        self.key = key
        self.name = "%s/%s/%s" % (kind.lower(), self.tensor_name.replace(":", "_"),
                                  peer.short_name[1:])
        self._attrs = {"tensor_name": self.tensor_name, "send_device" if kind == "_Recv" else
                       "recv_device": peer.name}

    def __repr__(self):
        return "<%s %s>" % (self.type, self.name)


def _bind(op, ctx, members, fetch_set, read_elsewhere=()):
    """The op's kernel, bound with ``ctx`` (which output indices this plan reads is known).

    ``read_elsewhere``: outputs that readers of a rewritten op read instead (passes)."""
    # Kernels may skip work for outputs nothing in this plan reads (e.g. a call's stash).
    ctx.live_outputs = frozenset(
        i for i, t in enumerate(op._outputs)
        if t in fetch_set or t in read_elsewhere or any(c in members for c in t._consumers))
    try:
        return op._op_def.kernel(op, ctx)
    except errors.OpError as e:
        if e.op is not None:
            raise
        raise type(e)(None, op, "%s\n\t[[%s]]" % (e.message, op.describe())) from None
    finally:
        ctx.live_outputs = None


def _bind_fused(fused, ctx, members, fetch_set, read_elsewhere, names, env, counter):
    """The body entry of a fused group: its kernel reads the group's outside inputs and
    gives the values of its members read outside it."""
    from .passes.fusion import FusedKernel
    from . import threads
    fop, refs, outs = fused
    kernels = [_bind(m, ctx, members, fetch_set, read_elsewhere) for m in fop.ops]
    k = "k%d" % next(counter)
    env[k] = FusedKernel(fop, refs, outs, kernels, _wrap_error, threads)
    return (fop, k, _name_outputs(fop, (), names, counter), [names[t] for t in fop._inputs])


def _name_outputs(op, feed_set, names, counter):
    """The plan's variable names of ``op``'s outputs (recorded in ``names``); "_" for a fed
    output, whose value is the feed's, not the op's."""
    out_names = []
    for t in op._outputs:
        if t in feed_set:
            out_names.append("_")
        else:
            names[t] = n = "v%d" % next(counter)
            out_names.append(n)
    return out_names


def compile_plan(ctx, fetch_tensors, target_ops, feed_tensors, devices=None, contexts=None,
                 options=None):
    """Builds a :class:`Plan` computing ``fetch_tensors`` and running ``target_ops``.

    Args:
        ctx: the ``KernelContext`` of the default device.
        fetch_tensors: unique Tensors to return, in order.
        target_ops: Operations to run for their effects.
        feed_tensors: Tensors whose values the caller supplies, in order.
        devices, contexts: the session's devices and {device: KernelContext}; with more than
            one device the ops are placed (tfnb/runtime/placer.py) and partitioned. Devices of
            cluster tasks (``device.remote``) have no context here: their ops are placed and
            partitioned but neither bound nor folded, and ``options["runner"](plan)`` runs the
            partitions (tfnb/distribute); a one-device session still checks device requests.
        options: {"allow_soft_placement", "log_device_placement", "log", "transfer_fp16",
            "executors", "runner", "default_task", "graph_options"}. With the key
            "graph_options" (a ``tf.GraphOptions`` or None for TF's defaults) the graph
            optimization passes of tfnb/runtime/passes run; without it (function bodies,
            cluster tasks' partitions) the plan runs the ops as they are.

    Raises:
        InvalidArgumentError: an unfed placeholder is needed, the graph has a cycle, or no
            device satisfies an op's constraints.
    """
    feed_set = set(feed_tensors)
    ops = topological_order(prune(fetch_tensors, target_ops, feed_set))
    options = options or {}
    placement = None
    remote = devices is not None and any(d.remote for d in devices)
    if devices is not None and (len(devices) > 1 or remote):
        from .placer import place
        placement = place(ops, devices, options.get("allow_soft_placement", False),
                          options.get("log_device_placement", False), options.get("log"),
                          options.get("default_task"))
    else:
        if devices:
            from .placer import validate_requests
            validate_requests(ops, devices[0], options.get("allow_soft_placement", False))
        if options.get("log_device_placement") and options.get("log") is not None:
            for op in ops:
                options["log"]("%s: (%s): %s" % (op.name, op.type, ctx.device))

    names = {}       # Tensor -> python expression naming its value
    env = {}         # globals of the generated function(s)
    for j, t in enumerate(feed_tensors):
        names[t] = "f%d" % j
    # Constants folded at compile time: Tensor -> value.
    folded = {}
    counter = itertools.count()
    body = []  # (op, kernel name, output names, input names)
    members = set(ops)
    fetch_set = set(fetch_tensors)
    rewrites = None
    if "graph_options" in options and not remote:
        from .passes import run_passes

        def on_host(op):
            c = contexts.get(placement.device_of(op)) if placement is not None else ctx
            return c is not None and c.xp is np
        rewrites = run_passes(ops, fetch_tensors, target_ops, feed_set,
                              options["graph_options"], placement, on_host)
    read_elsewhere = rewrites.live_targets() if rewrites is not None else ()
    for op in ops:
        if rewrites is not None and op in rewrites.removed:
            for t in op._outputs:  # readers read the value it stands for
                r = rewrites.resolve(t)
                if r is t:
                    v = rewrites.constants.get(t)
                    if v is None:
                        continue  # dead
                    folded[t] = v
                    names[t] = c = "c%d" % next(counter)
                    env[c] = v
                elif r in names:
                    names[t] = names[r]
                    if r in folded:
                        folded[t] = folded[r]
            continue
        odef = op._op_def
        op_ctx = contexts.get(placement.device_of(op)) if placement is not None else ctx
        if op_ctx is None:  # a cluster task's op: that task binds and runs it
            if odef.name == "Placeholder":
                _bind(op, ctx, members, fetch_set)  # raises "You must feed ..." here and now
            out_names = _name_outputs(op, feed_set, names, counter)
            body.append((op, None, out_names, [names[t] for t in op._inputs]))
            continue
        fused = rewrites.fused.get(op) if rewrites is not None else None
        if fused is not None:  # a group of elementwise ops: one generated kernel (passes/fusion)
            body.append(_bind_fused(fused, op_ctx, members, fetch_set, read_elsewhere, names,
                                    env, counter))
            if placement is not None:  # the group runs where its ops were placed
                placement.assignment[fused[0]] = placement.device_of(op)
            continue
        kernel = _bind(op, op_ctx, members, fetch_set, read_elsewhere)
        if rewrites is not None and op in rewrites.kernels:  # a compiled kernel (passes/fusion)
            kernel = rewrites.kernels[op](op, op_ctx, kernel)
        ins = op._inputs if rewrites is None else rewrites.inputs(op)
        if odef.foldable and all(t in folded for t in ins) and \
                all(t not in feed_set for t in op._outputs) and op_ctx.xp is np:
            try:
                with np.errstate(all="ignore"):
                    val = kernel(*[folded[t] for t in ins])
            except Exception:  # noqa: BLE001 - as TF's folding: an op that fails is left to
                pass           # run time, which raises only if it runs (not in an untaken branch)
            else:
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
        out_names = _name_outputs(op, feed_set, names, counter)
        body.append((op, k, out_names, [names[t] for t in ins]))

    plan = Plan()
    plan.feed_tensors = list(feed_tensors)
    plan.fetch_tensors = list(fetch_tensors)
    plan.ops = ops
    plan.rewrites = dict(rewrites.fired) if rewrites is not None else {}
    plan.writes = any(op._op_def.side_effects for op in ops)
    plan.placement = placement
    plan.env = env
    plan.n_feeds = len(feed_tensors)
    plan.traced = None
    plan.fetch_names = [names[t] for t in fetch_tensors]
    devs = placement.devices if placement is not None else []
    if len(devs) <= 1 and not remote:
        plan.partitions = None
        plan.device = devs[0].name if devs else ctx.device
        plan.body = body
        plan.fn, plan.source, plan.code_name, plan.line_ops = _emit(plan, traced=False)
        return plan
    from .executor import MultiDeviceRunner
    plan.partitions = _partition(plan, body, placement, names, fetch_tensors, feed_set,
                                 options.get("transfer_fp16", False))
    plan.body = body
    plan.source = "\n".join(p.source for p in plan.partitions if p.source)
    plan.code_name = None
    plan.line_ops = {}
    plan.device = None
    plan.fn = options["runner"](plan) if remote else MultiDeviceRunner(
        plan, options.get("executors"))
    return plan


def _partition(plan, body, placement, names, fetch_tensors, feed_set, fp16):
    """Splits ``body`` per device, with one Send/Recv pair per (tensor, destination device).

    A control edge between devices (``tf.control_dependencies`` on an op placed elsewhere)
    becomes a Send/Recv of a token, once per (op, destination device), so the dependency
    holds across devices and tasks too. A cluster task's partition is left unemitted
    (``fn`` None): the runner serializes it for its task.
    """
    order = [d for d in placement.devices]
    per_dev = {d: [] for d in order}
    produced_on = {}  # value name -> (device, tensor)
    received = set()  # (value name or ^op, device)
    ran = {}  # op -> device, for ops in the body (folded ops have no run-time effect)
    for entry in body:
        op = entry[0]
        dev = placement.device_of(op)
        for t, a in zip(op._inputs, entry[3]):
            src = produced_on.get(a)
            if src is None or src[0] is dev or (a, dev) in received:
                continue
            received.add((a, dev))
            if t.dtype.name == "resource" and src[0].task_name != dev.task_name:
                raise errors.InvalidArgumentError(
                    None, op, "Operation %s (op %s) on %s uses %s, a resource held by %s: a "
                    "variable or queue is used on the task that holds it (place the op there, "
                    "or pass it the value rather than the handle)%s" % (
                        op.name, op.type, dev.task_name, t.name, src[0].task_name,
                        " (created at %s)" % op.location if op.location else ""))
            key = "%s->%s" % (a, dev.short_name)
            cast = fp16 and t.dtype.name == "float32"
            per_dev[src[0]].append((TransferOp("_Send", t, src[0], dev, key), "_send", [],
                                    [repr(key), a], cast))
            per_dev[dev].append((TransferOp("_Recv", t, dev, src[0], key), "_recv", [a],
                                 [repr(key)], cast))
        for c in op._control_inputs:
            src_dev = ran.get(c)
            if src_dev is None or src_dev is dev or ("^" + c.name, dev) in received:
                continue
            received.add(("^" + c.name, dev))
            key = "^%s->%s" % (c.name, dev.short_name)
            per_dev[src_dev].append((TransferOp("_Send", None, src_dev, dev, key, c), "_send", [],
                                     [repr(key), "None"], False))
            per_dev[dev].append((TransferOp("_Recv", None, dev, src_dev, key, c), "_recv", [],
                                 [repr(key)], False))
        per_dev[dev].append(entry)
        ran[op] = dev
        for t, n in zip(op._outputs, entry[2]):
            if n != "_":
                produced_on[n] = (dev, t)
    fetch_names = [names[t] for t in fetch_tensors]
    parts = []
    for i, dev in enumerate(order):
        part = Partition()
        part.device = dev
        part.body = per_dev[dev]
        part.env = dict(plan.env)
        part.n_feeds = plan.n_feeds
        part.traced = None
        part.ops = [e[0] for e in part.body if not isinstance(e[0], TransferOp)]
        mine = []
        for n in fetch_names:
            src = produced_on.get(n)
            if (src is not None and src[0] is dev) or (src is None and i == 0 and not dev.remote):
                mine.append(n)
        part.fetch_names = mine
        if dev.remote:
            part.fn, part.source, part.code_name, part.line_ops = None, None, None, {}
        else:
            part.fn, part.source, part.code_name, part.line_ops = _emit(part, traced=False,
                                                                        io=True)
        parts.append(part)
    return parts


def _emit(plan, traced, io=False):
    """Generates, compiles and returns (function, source, code name, {line: op}) for ``plan``.

    One line per kernel call, ``del`` after each value's last use. A traced function also
    takes a ``_rec(index, start_ns, outputs)`` callback called after every op; a partition
    (``io``) takes ``_send(key, value)``/``_recv(key)`` for its cross-device edges."""
    body, fetch_names = plan.body, plan.fetch_names
    last_use = {}
    for i, entry in enumerate(body):
        for a in entry[3]:
            last_use[a] = i
    params = ["_feeds"] + (["_send", "_recv"] if io else []) + (["_rec", "_now"] if traced else [])
    lines = ["def _plan(%s):" % ", ".join(params)]
    line_ops = {}
    if plan.n_feeds:
        lines.append("    %s%s = _feeds" % (", ".join("f%d" % j for j in range(plan.n_feeds)),
                                             "," if plan.n_feeds == 1 else ""))
    keep = set(fetch_names)
    for i, entry in enumerate(body):
        op, k, outs, args = entry[:4]
        if k == "_send":
            value = "_to16(%s)" % args[1] if entry[4] else args[1]
            call = "_send(%s, %s)" % (args[0], value)
        elif k == "_recv":
            call = "_to32(_recv(%s))" % args[0] if entry[4] else "_recv(%s)" % args[0]
        else:
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
        if k not in ("_send", "_recv"):
            line_ops[len(lines)] = op
        if traced:
            shown = [o for o in outs if o != "_"] if k != "_send" else [args[1]]
            lines.append("    _rec(%d, _t, (%s%s))" % (i, ", ".join(shown),
                                                      "," if len(shown) == 1 else ""))
        dead = [a for a in dict.fromkeys(args) if last_use.get(a) == i and a not in keep
                and a.startswith("v")]
        dead += [o for o in outs if o != "_" and o not in last_use and o not in keep]
        if dead:
            lines.append("    del " + ", ".join(dead))
    lines.append("    return (%s%s)" % (", ".join(fetch_names), "," if len(fetch_names) == 1 else ""))
    source = "\n".join(lines) + "\n"
    code_name = "<tfnb-plan-%d%s>" % (next(_plan_counter), "-traced" if traced else "")
    env = plan.env
    if io:
        env.setdefault("_to16", lambda v: v.astype(np.float16))
        env.setdefault("_to32", lambda v: v.astype(np.float32))
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
    if getattr(op, "fused_member_errors", False) and isinstance(exc, errors.OpError) \
            and exc.op is not None:
        return exc  # a fused kernel's error already names the member op that failed
    # The kernel's arguments, to report their shapes and dtypes.
    args = next(e[3] for e in plan.body if e[0] is op)
    input_values = [frame_locals.get(a, plan.env.get(a)) for a in args]
    return _wrap_error(exc, op, input_values)


def describe_feed_mismatch(tensor, value_shape):
    return ("Cannot feed value of shape %s for Tensor '%s', which has shape '%s'"
            % (tuple(value_shape), tensor.name, tensor.get_shape()))
