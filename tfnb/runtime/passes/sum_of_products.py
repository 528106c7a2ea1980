"""Sums of products as one product: the weight gradient of an unrolled RNN in one GEMM.

A variable used at every step of an unrolled loop (an RNN cell's kernel, W6's LSTM) gets the
AddN of one gradient product per step, ``x_1^T dz_1 + ... + x_T^T dz_T``: T small GEMMs and
T - 1 passes over the result. That sum is one product of the stacked factors,
``[x_1; ...; x_T]^T [dz_1; ...; dz_T]``, which this pass computes instead -- the AddN runs
on the factors (rewired) with a kernel that concatenates them and calls the MatMul's own
kernel once; the per-step MatMuls are left out. Likewise an AddN of ``SumToShapeOf(g_t,
bias)`` (the bias gradient of every step) sums the stacked ``g_t`` once.

The values are the same sums added in another order (BLAS's over the stacked contraction
instead of term by term), so they agree to float32 rounding, not bit for bit. Measured on
W6 ([20,400]^T x [20,800], 20 terms, one thread, load ~3): 20 GEMMs 2.9-4.0 ms + AddN
1.3 ms -> concatenations 0.2 ms + one GEMM 2.6 ms per layer.

What qualifies: an AddN on the host of at least :data:`MIN_TERMS` inputs that are each the
only use of a MatMul (all with the same transpose flags and dtype) or of a SumToShapeOf
(all against a ``like`` of one known shape, of a lower rank than ``g``), ops that the plan may
leave out (:meth:`PlanGraph.removable`), on the AddN's device, whose factors are not read
from variables (their buffers could change between the product and the sum). Runs unless
``rewrite_options.arithmetic_optimization=OFF``. At run time any failure (e.g. factors whose
shapes do not stack) computes the terms one by one, as the plan would have.
"""
__all__ = ["run", "MIN_TERMS"]

#: AddNs of fewer terms are left alone (the concatenation would cost about what it saves).
MIN_TERMS = 4

_FLOATS = ("float32", "float64")
# Producers whose outputs may share memory with state that later ops change.
_STATEFUL_READS = ("ReadVariableOp", "Identity", "VariableV2", "Variable", "RefIdentity")


def _term(pg, t, addn, readers):
    """The op producing term ``t`` of ``addn`` if the pass may leave it out, else None."""
    p = t._op
    if p not in pg.members or p in pg.removed or not pg.removable(p) or not pg.on_host(p):
        return None
    if not pg.same_device(addn, p) or len(p._outputs) != 1:
        return None
    if readers.get(t) != [addn] or t.dtype.name not in _FLOATS:
        return None
    factors = pg.inputs(p)
    if p._op_def.name == "SumToShapeOf":
        factors = factors[:1]  # ``like`` gives only its shape (an array's shape never changes)
    for x in factors:
        src = x._op
        if src._op_def.stateful or src._op_def.name in _STATEFUL_READS or \
                x.dtype.name == "resource" or not pg.same_device(addn, src):
            return None
    return p


def _contraction_axes(p):
    """The axes of a MatMul's two factors that it sums over."""
    ta, tb = p._attrs["transpose_a"], p._attrs["transpose_b"]
    return (0 if ta else 1), (1 if tb else 0)


def _rank(t):
    return t._shape.ndims


def _plan(pg, addn, producers):
    """(kind, factor lists) when the producers stack, else None."""
    first = producers[0]
    kind = first._op_def.name
    if any(p._op_def.name != kind for p in producers):
        return None
    ins = [pg.inputs(p) for p in producers]
    if kind == "MatMul":
        flags = (first._attrs["transpose_a"], first._attrs["transpose_b"])
        for p, (a, b) in zip(producers, ins):
            if (p._attrs["transpose_a"], p._attrs["transpose_b"]) != flags or \
                    _rank(a) != 2 or _rank(b) != 2 or a.dtype != b.dtype:
                return None
        return kind, [i[0] for i in ins], [i[1] for i in ins]
    if kind == "SumToShapeOf":
        like = ins[0][1]
        shape = like._shape.as_tuple()
        for g, lk in ins:
            rg = _rank(g)
            if lk is not like and (shape is None or None in shape or
                                   lk._shape.as_tuple() != shape):
                return None  # the same tensor, or tensors of one fully known shape
            if rg is None or _rank(like) is None or rg <= _rank(like):
                return None  # stacking on axis 0 is only right where axis 0 is summed away
        return kind, [i[0] for i in ins], [like]
    return None


def _factory(kind, producers, n):
    """The rewired AddN's kernel: the stacked product, or the terms one by one on failure."""
    first = producers[0]

    def make(op, ctx, add_n):
        term = first._op_def.kernel(first, ctx)
        xp = ctx.xp
        if kind == "MatMul":
            ax_a, ax_b = _contraction_axes(first)

            def stacked(*xs):
                try:
                    a = xp.concatenate(xs[:n], axis=ax_a)
                    b = xp.concatenate(xs[n:], axis=ax_b)
                except ValueError:
                    return add_n(*[term(x, y) for x, y in zip(xs[:n], xs[n:])])
                return term(a, b)
            return stacked

        def stacked_sum(*xs):
            like = xs[n]
            try:
                g = xp.concatenate(xs[:n], axis=0)
            except ValueError:
                return add_n(*[term(x, like) for x in xs[:n]])
            return term(g, like)
        return stacked_sum
    return make


def run(pg):
    readers = None
    for op in pg.ops:
        if op._op_def.name != "AddN" or op in pg.removed or not pg.on_host(op):
            continue
        ins = pg.inputs(op)
        if len(ins) < MIN_TERMS or len(set(ins)) != len(ins) or \
                op._outputs[0].dtype.name not in _FLOATS:
            continue
        if readers is None:
            readers = pg.readers()
        producers = [_term(pg, t, op, readers) for t in ins]
        if any(p is None for p in producers):
            continue
        plan = _plan(pg, op, producers)
        if plan is None:
            continue
        kind, left, right = plan
        for p in producers:
            pg.drop(p)
        pg.rewire(op, tuple(left) + tuple(right))
        pg.compile_kernel(op, _factory(kind, producers, len(left)))
        for p in producers:  # the readers map sees the AddN reading the factors now
            for x in pg.inputs(p):
                lst = readers.setdefault(x, [])
                if p in lst:
                    lst.remove(p)
                lst.append(op)
