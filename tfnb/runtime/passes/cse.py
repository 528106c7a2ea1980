"""Common-subexpression elimination: of two pure ops with the same type, attrs, inputs,
control inputs and device (inputs that are equal small constants count as the same), the
later is left out and its readers read the earlier.

Only ops with inputs take part (constants are folded anyway; placeholders, variables and
random ops are never merged), and only when every attr is a plain value (numbers,
strings, dtypes, shapes, small arrays): an op carrying a function or a Python object is
left alone.
"""
import numpy as np

_UNHASHABLE = object()
_MAX_ARRAY_BYTES = 1 << 16


def _frozen(v):
    """A hashable stand-in for attr value ``v``, or ``_UNHASHABLE``."""
    if v is None or isinstance(v, (bool, int, float, str, bytes)):
        return (type(v).__name__, v)
    if isinstance(v, (list, tuple)):
        items = tuple(_frozen(x) for x in v)
        return _UNHASHABLE if any(x is _UNHASHABLE for x in items) else ("seq", items)
    if isinstance(v, np.ndarray):
        if v.dtype.kind == "O" or v.nbytes > _MAX_ARRAY_BYTES:
            return _UNHASHABLE
        return ("nd", v.dtype.str, v.shape, v.tobytes())
    if isinstance(v, np.generic):
        return ("np", v.dtype.str, v.tobytes())
    kind = type(v).__name__
    if kind == "DType":
        return ("dtype", v.name)
    if kind == "TensorShape":
        return ("shape", v.as_tuple())
    return _UNHASHABLE


def _key(pg, op):
    attrs = []
    for k in sorted(op._attrs):
        f = _frozen(op._attrs[k])
        if f is _UNHASHABLE:
            return None
        attrs.append((k, f))
    ins = []
    for t in pg.inputs(op):  # equal small constants count as the same input
        c = pg.constant_value(t)
        f = _frozen(c) if isinstance(c, np.ndarray) else _UNHASHABLE
        ins.append(t if f is _UNHASHABLE else ("const", f))
    dev = pg.device_of(op)
    return (op._op_def.name, dev[0], id(dev[1]), tuple(ins), tuple(attrs),
            tuple(op._control_inputs))


def run(pg):
    seen = {}
    for op in pg.ops:
        odef = op._op_def
        if not op._inputs or odef.stateful or odef.side_effects or op in pg.removed:
            continue
        if any(t in pg.feed_set or t.dtype.name == "resource" for t in op._outputs):
            continue
        key = _key(pg, op)
        if key is None:
            continue
        first = seen.get(key)
        if first is None:
            seen[key] = op
        elif pg.removable(op) and not op._control_inputs:
            pg.replace(op, first._outputs)
