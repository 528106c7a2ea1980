"""The subgraph compiler: chains and trees of elementwise ops become one generated kernel.

The pass groups connected elementwise ops of one CPU plan (bias add + ReLU, ReluGrad
times the incoming gradient, softmax/xent and LSTM gate arithmetic, ...: the op types of
:data:`.fusion_codegen.RULES`) and records each group on the plan; the plan compiler emits
one call of a :class:`FusedKernel` for it. That kernel is specialised at run time to the
dtypes and the broadcasting layout it sees, generated and compiled by numba (cached by that
structural key, in memory and on disk), and run on the cores numba and
``intra_op_parallelism_threads`` allow. Fusion happens on the plan, after gradients were
built, so gradients are the same ops computed the same way.

What stays with the NumPy kernels (the group's own ops, one after another, exactly as
unfused): values smaller than :data:`MIN_ELEMENTS` (a call of a compiled kernel costs
more than it saves there), a step whose shapes do not give every member the group's full
shape, any failure of the fused path (the NumPy ops then raise the user op's own error),
and everything when numba is not installed (the core needs only NumPy; ``pip install
tfnb[fast]`` brings numba).

Why numba (measured with ``min`` of 15 runs, CPU time, 2-core machine, load average
0.2-0.6; NumPy 2.4, numba 0.68, numexpr 2.14):

=================================================  ======  =============  ===========
kernel                                             NumPy   numba prange   numexpr 2t
=================================================  ======  =============  ===========
bias + ReLU on [50,28,28,32] float32 (W4 conv1)    1.78    0.17 (1t 0.35)  2.8-5.4
ReluGrad: g * (y > 0) on the same shape            0.67    0.26           3.1
Adam update of a 3136x1024 float32 variable        15.0    1.75 (1t 6.0)  12.1
=================================================  ======  =============  ===========

(milliseconds) numexpr lost to plain NumPy on float32 here and cannot express ReluGrad or
NaN-propagating max without ``where``; numba's generated loops win 3-9x. First compile of a
kernel takes ~0.1 s (serial) to ~0.7 s (parallel, first use of the threading layer); the
disk cache makes later processes load it in milliseconds. A call costs ~5 us before the
loop (NumPy's two ops on 4K elements: 4.4 us, fused 5.2; on 16K: 9.0 vs 6.2), hence
:data:`MIN_ELEMENTS`; one thread is as fast as two up to ~64K elements, hence
:data:`PARALLEL_ELEMENTS`. A W4 training step (bias + ReLU groups, compiled Adam; fixed
2 threads, load ~3): 47-48 ms median with fusion, 59-60 ms without.
"""
import functools

import numpy as np

from . import fusion_apply, fusion_codegen as cg

__all__ = ["run", "FusedKernel", "FusedOp", "MIN_ELEMENTS"]

#: Below this many output elements a fused group runs its NumPy ops (no compile either) --
#: for a group of two ops with three inputs and outputs; larger groups fuse from fewer
#: elements (:func:`group_min_elements`).
MIN_ELEMENTS = 1 << 14

#: No group fuses below this many elements, whatever it saves (the compile is not worth it).
#: On W6 (4K-element LSTM cells) this fuses little: the forward cells have Tanh (below), the
#: cell gradients mostly split into pairs of Mul + Sigmoid/TanhGrad that do not pay; 2 of 40
#: form the nine-op group (32 -> 17 us each).
SMALL_GROUP_MIN_ELEMENTS = 1 << 10

# The cost model behind :func:`group_min_elements` (microseconds). Measured (float32, one
# thread, min of 500-3000 calls): a NumPy op on 4K elements ~1.5 us + 0.19 ns/element, the
# fused call ~4 us + 0.4 us per array it views or allocates + 0.04 ns/element and member.
OP_US = 1.5        # a NumPy op's fixed cost (kernel call, dispatch, allocation)
CALL_US = 4.0      # a fused kernel call's fixed cost
IO_US = 0.4        # per external input or output of the fused call (view, allocation)
ELEM_US = 1.5e-4   # per element and member: a NumPy op's pass over memory minus the fused loop's

#: Members that keep a group at :data:`MIN_ELEMENTS`: numba calls libm's scalar functions where
#: NumPy has SIMD loops (ns/element, float32: tanh 11.4 vs 0.47, exp 2.4 vs 0.56, log 2.6
#: vs 0.39), so a small group with them is slower fused (W6's LSTM cell, 4K elements:
#: 102 us fused, 56 us as NumPy ops). Sigmoid is no such op (numba 2.5, SciPy's expit 3.4).
SLOW_IN_NUMBA = frozenset({"Tanh", "Exp", "Log"})

#: Ops whose NumPy kernels make several passes over memory: alone (no fusible neighbour) they
#: still run as a fused kernel, in one pass and on the intra-op threads. Measured (ReluGrad of
#: W4's conv1, [50,28,28,32] float32, 2 cores): NumPy 0.46-0.63 ms, fused 0.2 ms.
MULTI_PASS = frozenset({"ReluGrad", "SquaredDifference", "TanhGrad", "SigmoidGrad", "Rsqrt"})

#: From this many elements a fused loop runs on the intra-op threads (below, on one).
PARALLEL_ELEMENTS = 1 << 17

FUSED_TYPE = "_FusedElementwise"


def _dtype_ok(op):
    rule = cg.RULES.get(op._op_def.name)
    if rule is None:
        return False
    dts = [t.dtype.name for t in op._outputs] + [t.dtype.name for t in op._inputs]
    if not all(d in rule[0] for d in dts[:1]):
        return False
    kind = op._op_def.name
    if kind == "Cast":
        return cg.fusible_cast(op._inputs[0].dtype.name, op._outputs[0].dtype.name)
    if kind == "BiasAdd" and op._attrs.get("data_format") == "NCHW":
        return False
    return all(d == dts[0] for d in dts)


def group_min_elements(types, n_io):
    """The elements from which a group of ops of ``types`` with ``n_io`` external inputs and
    outputs runs fused: where the NumPy ops' fixed costs and passes over memory exceed the
    fused call's, within [:data:`SMALL_GROUP_MIN_ELEMENTS`, :data:`MIN_ELEMENTS`]
    (:data:`MIN_ELEMENTS` for groups with a member in :data:`SLOW_IN_NUMBA`)."""
    n_ops = len(types)
    if n_ops < 2 or SLOW_IN_NUMBA.intersection(types):
        return MIN_ELEMENTS
    n = (CALL_US + IO_US * n_io - OP_US * n_ops) / (ELEM_US * n_ops)
    return int(min(MIN_ELEMENTS, max(SMALL_GROUP_MIN_ELEMENTS, n)))


class FusedOp:
    """What a plan, a step trace and a partition see in place of a fused group."""

    type = FUSED_TYPE
    fused_member_errors = True  # errors raised by its kernel name the member op

    def __init__(self, members, inputs, outputs):
        self.ops = members
        self._inputs = tuple(inputs)
        self._outputs = list(outputs)
        last = members[-1]
        self.name = "%s/fused_%d" % (last.name, len(members))
        self._device = last._device
        self.device = last.device
        self._attrs = {"fused_ops": [op.name for op in members]}
        self._control_inputs = ()

    @property
    def inputs(self):
        return self._inputs

    @property
    def outputs(self):
        return self._outputs

    def describe(self, input_values=None):
        return "fused kernel of %s" % ", ".join(
            "%s (op %s)" % (op.name, op.type) for op in self.ops)

    def __repr__(self):
        return "<%s of %s>" % (FUSED_TYPE, ", ".join(op.name for op in self.ops))


class FusedKernel:
    """One fused group's kernel: ``kernel(*external inputs) -> external outputs``.

    Args:
        fop: the :class:`FusedOp`.
        refs: per member, its inputs as ("in", j) / ("op", i) references.
        out_members: member indices whose values are the external outputs, in order.
        kernels: the members' own NumPy kernels (bound), for the unfused path.
        wrap_error: ``wrap_error(exc, op, input_values)`` -> the typed error naming ``op``.
    """

    def __init__(self, fop, refs, out_members, kernels, wrap_error, threads=None):
        self.fop = fop
        self.refs = refs
        self.out_members = out_members
        self.kernels = kernels
        self.wrap_error = wrap_error
        self.threads = threads
        self.members = [(op._op_def.name, op._attrs, op._outputs[0].dtype.name)
                        for op in fop.ops]
        self.out_dtypes = [np.dtype(fop.ops[m]._outputs[0].dtype.name) for m in out_members]
        self.min_elements = group_min_elements([m[0] for m in self.members],
                                               len(fop._inputs) + len(out_members))
        self._calls = {}  # ((shape, dtype) of each input) -> how to run them (``_prepare``)

    def __call__(self, *xs):
        try:
            sig = tuple((x.shape, x.dtype) for x in xs)
        except AttributeError:  # a non-array value: NumPy's kernels take it
            return self.unfused(*xs)
        perm = _memory_order(xs)
        if perm is not None:
            # Strided views of one memory order (an NCHW conv's NHWC result): run on the
            # contiguous views and give the results back in that order, as NumPy's ops would.
            r, inv = len(perm), tuple(np.argsort(perm))
            res = self(*[x.reshape((1,) * (r - x.ndim) + x.shape).transpose(perm) for x in xs])
            if isinstance(res, tuple):
                return tuple(o.transpose(inv) for o in res)
            return res.transpose(inv)
        call = self._calls.get(sig)
        if call is None:
            call = self._prepare(xs, sig)
        if call is not None:
            if call[0] is not None:
                try:
                    return self._fused(xs, call)
                except Exception:  # noqa: BLE001 - the NumPy ops below give the op's own error
                    self._calls[sig] = call = (None,) + call[1:]
            shape = call[1]
            at_least = self.threads.MIN_PARALLEL_ELEMENTS if self.threads is not None else None
            if at_least is not None and len(shape) and shape[0] > 1 and \
                    call[2] >= at_least and self.threads.active_threads() > 1:
                return self._blocked(xs, shape)
        return self.unfused(*xs)

    def unfused(self, *xs):
        """The members' NumPy kernels one after another (what the plan ran before fusion)."""
        vals = []
        for op, kernel, refs in zip(self.fop.ops, self.kernels, self.refs):
            args = [xs[r[1]] if r[0] == "in" else vals[r[1]] for r in refs]
            try:
                vals.append(kernel(*args))
            except Exception as e:  # noqa: BLE001 - re-raised as the op's typed error
                raise self.wrap_error(e, op, args) from None
        outs = tuple(vals[m] for m in self.out_members)
        return outs if len(outs) != 1 else outs[0]

    def _prepare(self, xs, sig):
        """How to run inputs of signature ``sig``: (compiled fn or None, output shape, size,
        mode, (M, K), kinds), or None where the NumPy ops must run (a member would not have
        the full shape, a broadcast error, too few elements). Cached per signature."""
        call = None
        if all(isinstance(x, np.ndarray) for x in xs):
            try:
                shapes = []
                for refs in self.refs:
                    shapes.append(np.broadcast_shapes(
                        *[sig[r[1]][0] if r[0] == "in" else shapes[r[1]] for r in refs]))
                full = shapes[-1]
                size = int(np.prod(full, dtype=np.int64))
                if all(s == full for s in shapes) and size >= self.min_elements:
                    call = (None, full, size) + cg.layout([x.shape for x in xs], full)
            except ValueError:
                call = None
        if call is not None and cg.available():
            mode, kinds = call[3], ["f" if c == "b" else c for c in call[5]]
            in_dtypes = tuple(x.dtype.name for x in xs)
            key = (tuple((n, d, tuple(r)) for (n, _, d), r in zip(self.members, self.refs)),
                   tuple(self.out_members), in_dtypes, tuple(kinds), mode)
            try:
                fn = cg.compile_kernel(key, lambda name: cg.generate_source(
                    name, [(n, a, d, r) for (n, a, d), r in zip(self.members, self.refs)],
                    len(xs), in_dtypes, kinds, mode, self.out_members))
            except Exception:  # noqa: BLE001 - numba cannot build it: NumPy for this signature
                fn = None
            call = (fn,) + call[1:]
        if len(self._calls) < 64:
            self._calls[sig] = call
        return call

    def _fused(self, xs, call):
        fn, shape, size, mode, (m, k), kinds = call
        view = (m,) if mode == "flat" else (m, k)
        args = []
        for x, kind in zip(xs, kinds):
            if kind == "f":
                x = x.reshape(view) if x.flags.c_contiguous else \
                    np.ascontiguousarray(x).reshape(view)
            elif kind == "b":
                x = np.ascontiguousarray(np.broadcast_to(x, shape)).reshape(view)
            else:
                x = x.reshape(-1)
            args.append(x)
        outs = [np.empty(shape, d) for d in self.out_dtypes]
        if self.threads is not None:
            # Small loops on one thread: waking the pool costs more than it saves there.
            self.threads.numba_threads(1 if size < PARALLEL_ELEMENTS else None)
        fn(m, k, *args, *[o.reshape(view) for o in outs])
        return tuple(outs) if len(outs) != 1 else outs[0]

    def _blocked(self, xs, shape):
        """The NumPy ops on blocks of rows, on the intra-op threads (NumPy drops the GIL)."""
        outs = [np.empty(shape, d) for d in self.out_dtypes]
        r = len(shape)
        cut = [x.ndim == r and x.shape[0] == shape[0] for x in xs]

        def block(a, b):
            vals = self.unfused(*[x[a:b] if c else x for x, c in zip(xs, cut)])
            for o, v in zip(outs, vals if len(outs) != 1 else (vals,)):
                o[a:b] = v
        self.threads.parallel_blocks(block, shape[0])
        return tuple(outs) if len(outs) != 1 else outs[0]


def _memory_order(xs):
    """The axis order in which every input of the output's full shape is C-contiguous, where
    that is not the given order (all inputs then arrays, the others broadcast); else None."""
    if all(x.flags.c_contiguous for x in xs):
        return None
    r = max(x.ndim for x in xs)
    n = max(x.size for x in xs)
    full = [x for x in xs if x.ndim == r and x.size == n]
    if r < 2 or n < 2 or any(x.shape != full[0].shape for x in full):
        return None
    a = full[0]
    perm = tuple(sorted(range(r), key=lambda i: (-a.strides[i], i)))
    if perm == tuple(range(r)):
        return None
    for x in full:
        if not x.transpose(perm).flags.c_contiguous:
            return None
    return perm


def _static_size(t):
    """The elements of ``t``'s static shape, or None where it is not fully known."""
    dims = t.shape.as_tuple() if hasattr(t.shape, "as_tuple") else None
    if dims is None or any(d is None for d in dims):
        return None
    n = 1
    for d in dims:
        n *= d
    return n


def _statically_small(t, at_least=None):
    """Whether ``t``'s static shape is fully known and below ``at_least`` (default: the
    smallest size any group fuses from): such a value would always run unfused, so the plan
    (and its traces) keep the user's ops."""
    n = _static_size(t)
    return n is not None and n < (min(SMALL_GROUP_MIN_ELEMENTS, MIN_ELEMENTS)
                                  if at_least is None else at_least)


def run(pg):
    """Finds the fusible groups of ``pg`` and records them (``pg.fuse``)."""
    if not cg.available():
        return
    for op in pg.ops:  # optimizer updates with a compiled kernel
        factory = fusion_apply.COMPILED.get(op._op_def.name)
        if factory is not None and pg.on_host(op) and op not in pg.removed and \
                op._inputs[-1].dtype.name in ("float32", "float64"):
            pg.compile_kernel(op, functools.partial(factory, min_elements=MIN_ELEMENTS))
    pos = {op: i for i, op in enumerate(pg.ops)}
    candidates = set()
    static = set()  # tensors the plan compiler folds to constants (all inputs constant)
    for op in pg.ops:
        ins = pg.inputs(op)
        if all(x in static or pg.constant_value(x) is not None for x in ins) and \
                op._op_def.foldable and not any(t in pg.feed_set for t in op._outputs):
            static.update(op._outputs)
            continue
        if op in pg.removed or op._control_inputs or not pg.on_host(op) \
                or len(op._outputs) != 1 or not _dtype_ok(op) or op in pg.kernels:
            continue  # (an op given another kernel by an earlier pass keeps it)
        if any(c in pg.members for c in op._control_outputs) or op in pg.targets:
            continue
        t = op._outputs[0]
        if t in pg.feed_set or _statically_small(t):
            continue
        candidates.add(op)
    if not candidates:
        return
    readers = pg.readers()
    # Grow groups in plan order: an op joins the groups of its fusible producers (on its
    # device) when no op outside them reads their values before it (the group runs where its
    # last op runs, so such a reader would find no value yet).
    group_of = {}

    def can_extend(g, op):
        for m in g:
            for r in readers.get(m._outputs[0], ()):
                if r is not op and group_of.get(r) is not g and pos[r] < pos[op]:
                    return False
        return True

    for op in pg.ops:
        if op not in candidates:
            continue
        joined = []
        for x in pg.inputs(op):
            g = group_of.get(x._op)
            if g is not None and all(g is not j for j in joined) and \
                    pg.same_device(op, x._op) and can_extend(g, op):
                joined.append(g)
        mine = joined[0] if joined else []
        for g in joined[1:]:
            mine.extend(g)
            for q in g:
                group_of[q] = mine
        mine.append(op)
        group_of[op] = mine
    seen = set()
    for op in pg.ops:
        g = group_of.get(op)
        if g is None or id(g) in seen:
            continue
        seen.add(id(g))
        if len(g) < 2 and g[0]._op_def.name not in MULTI_PASS:
            continue
        g.sort(key=pos.get)
        _record(pg, g, pos, readers)


def _record(pg, group, pos, readers):
    members = set(group)
    anchor = pos[group[-1]]
    inputs, refs, index = [], [], {}
    for i, op in enumerate(group):
        index[op._outputs[0]] = i
    for op in group:
        r = []
        for x in pg.inputs(op):
            if x in index and x._op in members:
                r.append(("op", index[x]))
                continue
            if x not in inputs:
                inputs.append(x)
            r.append(("in", inputs.index(x)))
        refs.append(r)
    outs = []
    aliased = pg.live_targets()
    for i, op in enumerate(group):
        t = op._outputs[0]
        outside = [c for c in readers.get(t, ()) if c not in members]
        if any(pos[c] < anchor for c in outside):
            return  # a reader runs before the group's last op: leave the group unfused
        if t in aliased and i != len(group) - 1:
            return  # an op left out reads it under another name, maybe before the anchor
        if outside or t in pg.fetch_set or t in aliased or i == len(group) - 1:
            outs.append(i)
    if _statically_small(group[-1]._outputs[0],
                         group_min_elements([op._op_def.name for op in group],
                                            len(inputs) + len(outs))):
        return  # would always run its NumPy ops: the plan keeps the user's ops
    fop = FusedOp(group, inputs, [group[i]._outputs[0] for i in outs])
    pg.fuse(fop, refs, outs)
