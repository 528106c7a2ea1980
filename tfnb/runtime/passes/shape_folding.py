"""Constant folding across shapes: ``Shape``/``Size``/``Rank`` of a tensor whose static
shape is known become constants (the plan's own folding then folds what depends on them
only, e.g. the ``BroadcastGradientArgs`` of gradients)."""
import numpy as np


def _value(op):
    dims = op._inputs[0]._shape.as_tuple()
    kind = op._op_def.name
    if kind == "Rank":
        return None if dims is None else np.asarray(len(dims), dtype=np.int32)
    if dims is None or any(d is None for d in dims):
        return None
    npd = op._attrs["out_type"].np
    if kind == "Shape":
        return np.asarray(dims, dtype=npd)
    return np.asarray(int(np.prod(dims, dtype=np.int64)), dtype=npd)


def run(pg):
    for op in pg.ops:
        if op._op_def.name not in ("Shape", "Size", "Rank") or not pg.on_host(op):
            continue
        if op._control_inputs or op in pg.targets or op._outputs[0] in pg.feed_set:
            continue
        v = _value(op)
        if v is not None:
            v.flags.writeable = False
            pg.fold(op, [v])
