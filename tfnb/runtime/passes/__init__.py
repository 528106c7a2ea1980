"""Graph optimization passes, run when a plan is compiled (tfnb/runtime/plan.py).

The passes never change the user's graph. Each is a function ``fn(pg)`` over a
:class:`PlanGraph` -- the pruned, ordered ops of one plan -- that records rewrites on it:

* ``pg.replace(op, tensors)``: the op's outputs are the given tensors' values (it is not
  run; its consumers read those tensors instead);
* ``pg.fold(op, values)``: the op's outputs are constants known at compile time;
* ``pg.rewire(op, inputs)``: the op runs on other inputs with the same values' meaning;
* ``pg.fuse(fused_op, refs, outputs)``: a group of elementwise ops runs as one generated
  kernel (:mod:`.fusion`) at the place of its last op.

The plan compiler then binds and emits only the ops left, so the emitted plan has fewer
kernel calls. What no pass may do: remove or merge an op that is stateful, has side
effects, is fetched, is a target, has a fed output or takes part in a control
dependency; move a value across devices. Errors of the ops that remain name the user's
ops as before (a merged op's error names the op that was kept).

Passes run in the order of :data:`PASSES`; which run is decided by the session's
``ConfigProto.graph_options`` (see :mod:`.config`).
"""
from . import (arithmetic, conv_bias_relu, cse, dead_code, first_max, fusion, identity,
               shape_folding, sum_of_products)
from .config import GraphOptions, OptimizerOptions, RewriterConfig, enabled_passes

__all__ = ["PlanGraph", "PASSES", "register_pass", "run_passes", "GraphOptions",
           "OptimizerOptions", "RewriterConfig", "enabled_passes"]

#: name -> pass function, in the order they run.
PASSES = {}


def register_pass(name, fn):
    """Adds (or replaces) the pass ``name``; passes run in registration order."""
    PASSES[name] = fn


register_pass("shape_folding", shape_folding.run)
register_pass("arithmetic", arithmetic.run)
register_pass("identity", identity.run)
register_pass("cse", cse.run)
register_pass("dead_code", dead_code.run)
register_pass("sum_of_products", sum_of_products.run)
register_pass("conv_bias_relu", conv_bias_relu.run)
register_pass("first_max", first_max.run)
register_pass("fusion", fusion.run)


class PlanGraph:
    """The ops of one plan and the rewrites recorded on them by passes.

    Attributes:
        ops: the pruned ops in topological order.
        alias: {Tensor: Tensor} -- the first computes the same value as the second.
        constants: {Tensor: ndarray} -- values known at compile time.
        rewired: {Operation: tuple of Tensors} -- inputs replacing ``op.inputs``.
        removed: ops the plan does not run.
        fused: {last op of a group: (FusedOp, refs, output member indices)}.
        kernels: {op: factory(op, ctx, own kernel) -> compiled kernel used instead}.
        fired: {pass name: number of rewrites}.
    """

    def __init__(self, ops, fetch_tensors, target_ops, feed_set, placement=None,
                 on_host=None):
        self.ops = ops
        self.members = set(ops)
        self.fetch_tensors = list(fetch_tensors)
        self.fetch_set = set(fetch_tensors)
        self.targets = set(target_ops)
        self.feed_set = feed_set
        self.placement = placement
        self.on_host = on_host or (lambda op: True)
        self.alias = {}
        self.constants = {}
        self.rewired = {}
        self.removed = set()
        self.fused = {}
        self.kernels = {}
        self.fired = {}
        self.current = None  # the pass running (for ``fired``)

    # --- queries ---------------------------------------------------------------------------
    def resolve(self, t):
        """The tensor whose value ``t`` stands for after the rewrites so far."""
        alias = self.alias
        while t in alias:
            t = alias[t]
        return t

    def inputs(self, op):
        """``op``'s inputs after the rewrites so far."""
        if not self.alias and not self.rewired:
            return op._inputs
        return tuple(self.resolve(t) for t in self.rewired.get(op, op._inputs))

    def device_of(self, op):
        """(requested device string, placed device or None)."""
        return op._device, (self.placement.device_of(op) if self.placement is not None else None)

    def same_device(self, a, b):
        if self.placement is None:
            return True  # one device runs the whole plan
        where = self.placement.assignment
        if a not in where or b not in where:
            return True  # a fed value: every partition reads the feeds
        return where[a] is where[b]

    def readers(self):
        """{Tensor: [ops reading it]} among the ops the plan still runs, inputs after the
        rewrites so far (computed now: later rewrites do not update it)."""
        readers = {}
        for op in self.ops:
            if op not in self.removed:
                for t in self.inputs(op):
                    readers.setdefault(t, []).append(op)
        return readers

    def constant_value(self, t):
        """The compile-time value of ``t`` (resolved), or None."""
        t = self.resolve(t)
        if t in self.feed_set:
            return None
        v = self.constants.get(t)
        if v is None and t._op._op_def.name == "Const" and t._op in self.members:
            v = t._op._attrs["value"]
        return v

    def removable(self, op):
        """Whether ``op`` may be left out of the plan (its outputs stand for other values)."""
        odef = op._op_def
        if odef.stateful or odef.side_effects or op in self.targets or op in self.removed:
            return False
        if op._control_inputs or any(c in self.members for c in op._control_outputs):
            return False
        for t in op._outputs:
            if t in self.fetch_set or t in self.feed_set or t.dtype.name == "resource":
                return False
        return True

    # --- rewrites --------------------------------------------------------------------------
    def _count(self):
        self.fired[self.current] = self.fired.get(self.current, 0) + 1

    def replace(self, op, tensors):
        """Records that ``op``'s outputs have the values of ``tensors``; ``op`` is not run."""
        for t, r in zip(op._outputs, tensors):
            self.alias[t] = r
        self.removed.add(op)
        self._count()

    def fold(self, op, values):
        """Records ``op``'s outputs as compile-time constants; ``op`` is not run."""
        for t, v in zip(op._outputs, values):
            self.constants[t] = v
        self.removed.add(op)
        self._count()

    def rewire(self, op, inputs):
        """Records that ``op`` reads ``inputs`` instead of its own."""
        self.rewired[op] = tuple(inputs)
        self._count()

    def fuse(self, fused_op, refs, outputs):
        """Records that ``fused_op.ops`` run as one kernel where the last of them runs."""
        members = fused_op.ops
        self.fused[members[-1]] = (fused_op, refs, outputs)
        self.removed.update(members[:-1])
        self._count()

    def compile_kernel(self, op, factory):
        """Records that ``op`` runs a compiled kernel, ``factory(op, ctx, own_kernel)``."""
        self.kernels[op] = factory
        self._count()

    def drop(self, op):
        """Records that ``op`` is dead (nothing in the plan needs it)."""
        self.removed.add(op)
        self._count()

    def live_targets(self):
        """Tensors other ops' values now stand for (their producers must compute them)."""
        return {self.resolve(t) for t in self.alias}


def run_passes(ops, fetch_tensors, target_ops, feed_set, graph_options=None, placement=None,
               on_host=None):
    """Runs the enabled passes over a plan's ops; returns the :class:`PlanGraph` or None.

    None when no pass is enabled or none changed anything (the plan compiles as before).
    """
    names = enabled_passes(graph_options)
    if not names or not ops:
        return None
    pg = PlanGraph(ops, fetch_tensors, target_ops, feed_set, placement, on_host)
    for name in names:
        fn = PASSES.get(name)
        if fn is None:
            continue
        pg.current = name
        fn(pg)
    pg.current = None
    return pg if pg.fired else None
