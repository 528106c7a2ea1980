"""Shared static-shape rules used by op definitions (broadcasting, reductions, dtype sets)."""
import numpy as np

from ..framework import dtypes
from ..framework.tensor_shape import TensorShape, unknown_shape

# bfloat16 is in TF1's type lists of most float ops; here it computes through ml_dtypes.
FLOATS = frozenset([dtypes.float16, dtypes.bfloat16, dtypes.float32, dtypes.float64])
FLOATS_COMPLEX = FLOATS | {dtypes.complex64, dtypes.complex128}
INTEGERS = frozenset([dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64, dtypes.uint8,
                      dtypes.uint16, dtypes.uint32, dtypes.uint64])
SIGNED = FLOATS_COMPLEX | {dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64}
NUMERIC = FLOATS_COMPLEX | INTEGERS
REAL = FLOATS | INTEGERS
INDEX = frozenset([dtypes.int32, dtypes.int64])
# Half-precision floats: NumPy computes them slowly and, for sums, loses precision (ml_dtypes'
# bfloat16 sums round every partial sum), so products and reductions run in float32.
HALF = frozenset([dtypes.float16, dtypes.bfloat16])
BOOL = frozenset([dtypes.bool_])


def check_dtype(op, tensor, allowed, arg="x"):
    if tensor.dtype not in allowed:
        names = ", ".join(sorted(d.name for d in allowed))
        raise TypeError("Value passed to parameter '%s' has DataType %s not in list of allowed "
                        "values: %s" % (arg, tensor.dtype.name, names))


def same_dtypes(op, names=("x", "y")):
    ins = op._inputs
    d0 = ins[0].dtype
    for n, t in zip(names[1:], ins[1:]):
        if t.dtype is not d0:
            raise TypeError("Input '%s' of '%s' Op has type %s that does not match type %s of "
                            "argument '%s'." % (n, op.type, t.dtype.name, d0.name, names[0]))
    return d0


def broadcast_shape(a, b):
    """Static result shape of broadcasting TensorShapes ``a`` and ``b`` (NumPy rules)."""
    da, db = a.as_tuple(), b.as_tuple()
    if da is None or db is None:
        return unknown_shape()
    n = max(len(da), len(db))
    da = (1,) * (n - len(da)) + da
    db = (1,) * (n - len(db)) + db
    out = []
    for x, y in zip(da, db):
        if x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        elif x is None:
            out.append(y)
        elif y is None or x == y:
            out.append(x)
        else:
            raise ValueError("Dimensions must be equal, but are %d and %d (incompatible shapes "
                             "for broadcasting: %s and %s)" % (x, y, a, b))
    return TensorShape(out)


def normalize_axes(axes, rank, op_name="op"):
    """Axes as a sorted tuple of non-negative ints (None -> all axes); checks the range."""
    if axes is None:
        return None if rank is None else tuple(range(rank))
    if isinstance(axes, int):
        axes = (axes,)
    out = []
    for a in axes:
        a = int(a)
        if rank is not None:
            if not -rank <= a < rank:
                raise ValueError("Invalid reduction dimension %d for input with %d dimensions."
                                 % (a, rank))
            a %= rank
        out.append(a)
    return tuple(sorted(set(out)))


def reduced_shape(shape, axes, keepdims):
    """Static shape of a reduction of ``shape`` over ``axes`` (None = all)."""
    dims = shape.as_tuple()
    if dims is None:
        return unknown_shape()
    if axes is None:
        axes = tuple(range(len(dims)))
    if any(a < 0 for a in axes):
        return unknown_shape()
    if keepdims:
        return TensorShape([1 if i in axes else d for i, d in enumerate(dims)])
    return TensorShape([d for i, d in enumerate(dims) if i not in axes])


def in_float32(dtype, fn):
    """``fn`` for ``dtype`` tensors: for half types, on float32 copies of its half-precision
    arguments with a float32 result rounded once back to ``dtype`` (TF's CPU kernels for half
    types accumulate in float32; other arguments and results, e.g. a comparison's booleans,
    pass as they are); else ``fn``."""
    if dtype not in HALF:
        return fn
    npd = dtype.np
    f32 = np.float32

    def half_via_float32(*xs):
        r = fn(*[x.astype(f32) if getattr(x, "dtype", None) == npd else x for x in xs])
        return r.astype(npd) if getattr(r, "dtype", None) == f32 else r
    return half_via_float32
