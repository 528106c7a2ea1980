"""Arithmetic simplification: ops that return one of their inputs unchanged are left out.

* ``x * 1``, ``1 * x``, ``x + 0``, ``0 + x``, ``x - 0``, ``x / 1`` -- only where the
  constant cannot broadcast ``x`` to a bigger shape (every dimension of the constant is 1
  or equal to ``x``'s known dimension) and the result has ``x``'s dtype;
* ``Cast`` to the dtype its input already has;
* ``Transpose(Transpose(x, p), q)`` whose permutations compose to the identity;
* ``Reshape(x, s)`` where ``x``'s static shape is fully known and already ``s``;
* ``Reshape(Reshape(x, s1), s2)``: the outer reshape reads ``x`` (the inner one then
  becomes dead unless something else reads it).
"""
import numpy as np

# op type -> (input positions that may be the neutral constant, neutral value)
_NEUTRAL = {
    "Mul": ((0, 1), 1), "Add": ((0, 1), 0), "AddV2": ((0, 1), 0), "Sub": ((1,), 0),
    "RealDiv": ((1,), 1), "Div": ((1,), 1),
}


def _keeps_shape(x, c):
    """Whether broadcasting ``x`` against an array of shape ``c`` leaves ``x``'s shape."""
    dims = x._shape.as_tuple()
    if dims is None or len(c) > len(dims):
        return False
    return all(ci == 1 or xi == ci for ci, xi in zip(reversed(c), reversed(dims)))


def _neutral_operand(pg, op, positions, neutral):
    ins = pg.inputs(op)
    out = op._outputs[0]
    for i in positions:
        c = pg.constant_value(ins[i])
        if c is None or not isinstance(c, np.ndarray) or c.dtype.kind not in "biufc":
            continue
        x = ins[1 - i]
        if x.dtype != out.dtype or not _keeps_shape(x, c.shape):
            continue
        if c.size and np.all(c == neutral):
            return x
    return None


def _perm(pg, t):
    v = pg.constant_value(t)
    return None if v is None else [int(i) for i in np.asarray(v).reshape(-1)]


def _simplified(pg, op):
    """The tensor ``op``'s output equals, or None."""
    kind = op._op_def.name
    ins = pg.inputs(op)
    if kind in _NEUTRAL:
        return _neutral_operand(pg, op, *_NEUTRAL[kind])
    if kind == "Cast":
        return ins[0] if ins[0].dtype == op._outputs[0].dtype else None
    if kind == "Transpose":
        inner = ins[0]._op
        if inner._op_def.name != "Transpose" or ins[0] in pg.feed_set:
            return None
        p, q = _perm(pg, ins[1]), _perm(pg, pg.inputs(inner)[1])
        if p is None or q is None or len(p) != len(q):
            return None
        if [q[i] for i in p] == list(range(len(p))) and pg.same_device(op, inner):
            return pg.inputs(inner)[0]
        return None
    if kind == "Reshape":
        x = ins[0]
        dims, out = x._shape.as_tuple(), op._outputs[0]._shape.as_tuple()
        if dims is not None and out is not None and None not in dims and dims == out:
            return x
    return None


def run(pg):
    for op in pg.ops:
        kind = op._op_def.name
        if kind not in _NEUTRAL and kind not in ("Cast", "Transpose", "Reshape"):
            continue
        if pg.removable(op):
            src = _simplified(pg, op)
            if src is not None:
                pg.replace(op, [src])
                continue
        if kind == "Reshape" and op not in pg.removed:  # a fetched reshape may still read x
            ins = pg.inputs(op)
            inner = ins[0]._op
            if inner._op_def.name == "Reshape" and ins[0] not in pg.feed_set \
                    and pg.same_device(op, inner) and inner not in pg.removed:
                pg.rewire(op, (pg.inputs(inner)[0],) + ins[1:])
