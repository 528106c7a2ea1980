"""Matrix products: ``matmul`` (MatMul, BatchMatMul), ``einsum`` and ``tensordot``.

``einsum`` parses its equation against the input ranks once, at construction; the kernel
picks NumPy's einsum loop or a BLAS ``tensordot`` by the contraction's size. Gradients are
products again (matmuls, einsums), so they differentiate twice.
"""
import functools
import string

import numpy as np

from ..framework import dtypes
from ..framework.graph import Tensor
from ..framework.registry import register_op
from ..framework.tensor_shape import TensorShape, shape_str, unknown_shape
from . import core
from .core import convert_to_tensor, out
from .math_ops import cast, conj, equal, ones_like_t, sum_to_shape_of
from .reduction_ops import cumsum
from .shape_rules import (FLOATS_COMPLEX, NUMERIC, broadcast_shape, check_dtype, in_float32,
                          same_dtypes)

__all__ = [
    "matmul", "einsum", "tensordot",
]


# ----------------------------------------------------------------------------------------------
# MatMul
# ----------------------------------------------------------------------------------------------
# TF's MatMul/BatchMatMul type list (no int8/int16, no bool).
_MATMUL_TYPES = FLOATS_COMPLEX | {dtypes.int32, dtypes.int64, dtypes.uint8, dtypes.uint16,
                                  dtypes.uint32, dtypes.uint64}


def _inner_dims_error(op, k1, k2):
    a, b = op._inputs
    return ValueError("Dimensions must be equal, but are %d and %d for '%s' (op: '%s') with input "
                      "shapes: %s, %s." % (k1, k2, op.name, op.type, a._shape, b._shape))


def _matmul_infer(op):
    a, b = op._inputs
    d = same_dtypes(op, ("a", "b"))
    check_dtype(op, a, _MATMUL_TYPES, "a")
    ta, tb = op._attrs["transpose_a"], op._attrs["transpose_b"]
    sa, sb = a._shape.as_tuple(), b._shape.as_tuple()
    for s in (sa, sb):
        if s is not None and len(s) != 2:
            raise ValueError("Shape must be rank 2 but is rank %d for '%s' (op: 'MatMul') with "
                             "input shapes: %s, %s." % (len(s), op.name, shape_str(sa),
                                                        shape_str(sb)))
    m, k1 = (None, None) if sa is None else ((sa[1], sa[0]) if ta else sa)
    k2, n = (None, None) if sb is None else ((sb[1], sb[0]) if tb else sb)
    if k1 is not None and k2 is not None and k1 != k2:
        raise _inner_dims_error(op, k1, k2)
    return [(d, TensorShape([m, n]))]


def _matmul_kernel(op, ctx):
    # float16/bfloat16: float32 BLAS, rounded once (TF's CPU kernels accumulate in float32;
    # NumPy's float16 matmul is an unblocked loop, ml_dtypes' bfloat16 one widens to float32).
    return in_float32(op._inputs[0].dtype, _matmul_fn(op, ctx))


#: Products of fewer multiply-adds than this run on one BLAS thread (see
#: :func:`tfnb.runtime.threads.on_one_blas_thread`). Measured (float32, OpenBLAS 0.3.31, 2 cores,
#: min of 300): the LSTM products of W6 ([20,400]x[400,800], 6.4M) take 158/146/170 us on
#: one thread (x@K, x^T@dz, dz@K^T) and 119/275/186 us on two with the other core free, but
#: up to 16 ms on two beside a busy process (the GEMM waits for its descheduled half). Since
#: OpenBLAS's threads sleep after ~0.1 ms idle (:mod:`tfnb.runtime.threads`) and the thread count
#: follows the load, two threads pay from 4M: W6 [20,400]x[400,800] 166 -> 127 us back to back;
#: W6 steps, runs alternated, quiet: 63.8-87.1 ms with 2^24 here, 59.5-66.1 with 2^22.
SINGLE_THREAD_MACS = 1 << 22

#: ``a @ b.T`` with ``a`` of 2..this many rows is computed as ``(b @ a.T).T``: OpenBLAS's
#: kernels for a transposed B and few rows of A are slow. Measured (float32, one thread, min):
#: [20,800]x[400,800]^T 269 -> 181 us, [4,400]x[800,400]^T 183 -> 78, [64,800]x[400,800]^T
#: 659 -> 500, [400,...] no gain; with one row (a matrix-vector product) no gain either.
NT_SWAP_MAX_ROWS = 96

#: ...and with ``b`` of at least this many elements (below, both ways cost a few us).
NT_SWAP_MIN_ELEMENTS = 1 << 14


def on_one_thread_when_small(xp, fn, macs):
    """``fn`` for a kernel whose BLAS products total ``macs(*args)`` multiply-adds: run on one
    BLAS thread below :data:`SINGLE_THREAD_MACS` (NumPy arrays; CuPy's ``fn`` as it is)."""
    if xp is not np:
        return fn
    from ..runtime.threads import on_one_blas_thread

    def kernel(*args):
        if macs(*args) < SINGLE_THREAD_MACS:
            return on_one_blas_thread(fn, *args)
        return fn(*args)
    return kernel


def _matmul_fn(op, ctx):
    ta, tb = op._attrs["transpose_a"], op._attrs["transpose_b"]
    xp = ctx.xp
    mm = xp.matmul
    if not ta and not tb:
        fn = mm
    elif ta and tb:
        fn = lambda a, b: mm(a.T, b.T)  # noqa: E731
    elif ta:
        fn = lambda a, b: mm(a.T, b)  # noqa: E731
    else:
        def fn(a, b):
            if 1 < a.shape[0] <= NT_SWAP_MAX_ROWS and b.size >= NT_SWAP_MIN_ELEMENTS:
                return xp.ascontiguousarray(mm(b, a.T).T)
            return mm(a, b.T)
    if xp is not np:
        return fn
    from ..runtime.threads import on_one_blas_thread
    i, j = (1, 0) if ta else (0, 1)  # a's rows, a's columns (the contraction)
    n_ax = 0 if tb else 1            # b's output columns

    def matmul_kernel(a, b):
        if a.ndim == 2 and b.ndim == 2 and a.dtype.char in "fdFD" and \
                a.shape[i] * a.shape[j] * b.shape[n_ax] < SINGLE_THREAD_MACS:
            return on_one_blas_thread(fn, a, b)
        return fn(a, b)
    return matmul_kernel


def _matmul_grad(op, g):
    a, b = conj(op._inputs[0]), conj(op._inputs[1])  # TF's convention (no op for reals)
    ta, tb = op._attrs["transpose_a"], op._attrs["transpose_b"]
    if not ta and not tb:
        return [matmul(g, b, transpose_b=True), matmul(a, g, transpose_a=True)]
    if not ta and tb:
        return [matmul(g, b), matmul(g, a, transpose_a=True)]
    if ta and not tb:
        return [matmul(b, g, transpose_b=True), matmul(a, g)]
    return [matmul(b, g, transpose_a=True, transpose_b=True),
            matmul(g, a, transpose_a=True, transpose_b=True)]


register_op("MatMul", infer=_matmul_infer, kernel=_matmul_kernel, grad=_matmul_grad)


def _batch_matmul_infer(op):
    a, b = op._inputs
    d = same_dtypes(op, ("x", "y"))
    check_dtype(op, a, _MATMUL_TYPES, "x")
    ax, ay = op._attrs["adj_x"], op._attrs["adj_y"]
    sa, sb = a._shape.as_tuple(), b._shape.as_tuple()
    for s in (sa, sb):
        if s is not None and len(s) < 2:
            raise ValueError("Shape must be at least rank 2 but is rank %d for '%s' (op: "
                             "'BatchMatMul') with input shapes: %s, %s."
                             % (len(s), op.name, shape_str(sa), shape_str(sb)))
    if sa is None or sb is None:
        return [(d, unknown_shape())]
    m, k1 = (sa[-1], sa[-2]) if ax else (sa[-2], sa[-1])
    k2, n = (sb[-1], sb[-2]) if ay else (sb[-2], sb[-1])
    if k1 is not None and k2 is not None and k1 != k2:
        raise _inner_dims_error(op, k1, k2)
    batch = broadcast_shape(TensorShape(sa[:-2]), TensorShape(sb[:-2]))
    return [(d, batch.concatenate([m, n]))]


def _batch_matmul_kernel(op, ctx):
    return in_float32(op._inputs[0].dtype, _batch_matmul_fn(op, ctx))


def _batch_matmul_fn(op, ctx):
    ax, ay = op._attrs["adj_x"], op._attrs["adj_y"]
    xp = ctx.xp
    mm = xp.matmul
    if op._inputs[0].dtype.is_complex:  # adj_x/adj_y: the conjugate transpose
        def t(m, i, j):
            return xp.conj(xp.swapaxes(m, i, j))
    else:
        t = xp.swapaxes
    if not ax and not ay:
        return mm
    if ax and ay:
        return lambda a, b: mm(t(a, -1, -2), t(b, -1, -2))
    if ax:
        return lambda a, b: mm(t(a, -1, -2), b)
    return lambda a, b: mm(a, t(b, -1, -2))


def _batch_matmul_grad(op, g):
    a, b = op._inputs
    ax, ay = op._attrs["adj_x"], op._attrs["adj_y"]
    if not ax and not ay:
        return [matmul(g, b, adjoint_b=True), matmul(a, g, adjoint_a=True)]
    if not ax and ay:
        return [matmul(g, b), matmul(g, a, adjoint_a=True)]
    if ax and not ay:
        return [matmul(b, g, adjoint_b=True), matmul(a, g)]
    return [matmul(b, g, adjoint_a=True, adjoint_b=True),
            matmul(g, a, adjoint_a=True, adjoint_b=True)]


register_op("BatchMatMul", infer=_batch_matmul_infer, kernel=_batch_matmul_kernel,
            grad=_batch_matmul_grad, broadcasting=True)


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, name=None):
    """Matrix product ``a @ b``; inputs of rank > 2 are batches of matrices.

    Args:
        a, b: tensors of one dtype; batch dimensions (all but the last two) broadcast.
        transpose_a, transpose_b: use the transpose of the last two dims of ``a``/``b``.
        adjoint_a, adjoint_b: use the conjugate transpose (the transpose for real types).
        a_is_sparse, b_is_sparse: hints, ignored.
        name: op name.

    Returns:
        ``[..., M, N]`` for ``a`` of ``[..., M, K]`` and ``b`` of ``[..., K, N]``.

    Raises:
        ValueError: at construction, if the inner dimensions differ (naming both shapes).

    Example:
        >>> tf.matmul(tf.ones([2, 3]), tf.ones([3, 4])).shape   # (2, 4)
    """
    if transpose_a and adjoint_a or transpose_b and adjoint_b:
        raise ValueError("Only one of transpose and adjoint may be True for each input.")
    a, b = core.convert_binary(a, b)
    ra, rb = a._shape.ndims, b._shape.ndims
    if ra is not None and rb is not None and 0 < ra <= 2 and 0 < rb <= 2:
        if adjoint_a:  # MatMul only transposes: conjugate first (nothing for real types)
            a = conj(a)
        if adjoint_b:
            b = conj(b)
        return out("MatMul", [a, b], {"transpose_a": bool(transpose_a or adjoint_a),
                                      "transpose_b": bool(transpose_b or adjoint_b)}, name=name)
    return out("BatchMatMul", [a, b], {"adj_x": bool(transpose_a or adjoint_a),
                                       "adj_y": bool(transpose_b or adjoint_b)}, name=name)


# ----------------------------------------------------------------------------------------------
# Einsum and tensordot
# ----------------------------------------------------------------------------------------------
# An equation is parsed against the input ranks into explicit one-letter labels: "..." becomes
# fresh letters (the broadcast labels, right-aligned as in NumPy), which may broadcast (1 vs n);
# every other label must have one size. The "broadcast" attr lists labels that gradient einsums
# (whose equations are explicit) may broadcast.
def _einsum_spec(op):
    """Parses an Einsum op: (input label strings, output labels, broadcast labels)."""
    return _parse_einsum(op._attrs["equation"], [t._shape for t in op._inputs],
                         op._attrs.get("broadcast", ""))


def _parse_einsum(equation, shapes, broadcast=""):
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError("einsum equation %r has %d inputs, but %d tensors were given"
                         % (equation, len(ins), len(shapes)))
    for s in ins + [rhs]:
        if not all(c in string.ascii_letters for c in s.replace("...", "")):
            raise ValueError("einsum: invalid subscripts %r in equation %r" % (s, equation))
    fresh = [c for c in string.ascii_letters if c not in eq]
    n_ell = []
    for s, shp in zip(ins, shapes):
        k = 0
        if "..." in s:
            if shp.ndims is None:
                raise ValueError("einsum: an input with '...' (subscripts %r) needs a known rank"
                                 % s)
            k = shp.ndims - (len(s) - 3)
            if k < 0:
                raise ValueError("einsum: input with subscripts %r has rank %d" % (s, shp.ndims))
        n_ell.append(k)
    nb = max(n_ell, default=0)
    batch = "".join(fresh[:nb])
    ins = [s.replace("...", batch[nb - k:]) for s, k in zip(ins, n_ell)]
    if not arrow:  # implicit output: the labels used once, sorted
        used = "".join(ins)
        rhs = "".join(sorted(c for c in set(used) if used.count(c) == 1))
    if "..." in rhs:
        rhs = rhs.replace("...", batch)
    elif nb:
        raise ValueError("einsum equation %r needs '...' in its output subscripts, where the "
                         "inputs have broadcast dimensions" % equation)
    for c in rhs:
        if rhs.count(c) > 1 or not any(c in s for s in ins):
            raise ValueError("einsum: output label %r of %r must appear once in the output and "
                             "in some input" % (c, equation))
    return ins, rhs, batch + broadcast


def _einsum_infer(op):
    ins, rhs, bcast = _einsum_spec(op)
    same_dtypes(op, tuple("inputs[%d]" % i for i in range(len(op._inputs))))
    check_dtype(op, op._inputs[0], NUMERIC, "inputs")
    sizes = {}  # label -> static size; broadcast labels keep None while only 1s and Nones seen
    seen_unknown = set()
    for spec, t in zip(ins, op._inputs):
        dims = t._shape.as_tuple()
        if dims is None:
            seen_unknown.update(spec)
            continue
        if len(dims) != len(spec):
            raise ValueError("einsum: input with subscripts %r has rank %d" % (spec, len(dims)))
        for c, d in zip(spec, dims):
            old = sizes.get(c)
            if d is None:
                seen_unknown.add(c)
            elif old is None or c in bcast and old == 1:
                sizes[c] = d
            elif old != d and not (c in bcast and d == 1):
                raise ValueError("Dimensions must be equal, but are %d and %d for einsum label %r "
                                 "(equation %r, input shapes %s)" % (old, d, c, op._attrs[
                                     "equation"], ", ".join(str(i._shape) for i in op._inputs)))
    for c in bcast:
        if sizes.get(c) == 1 and c in seen_unknown:
            del sizes[c]  # 1 against an unknown size: the broadcast result is unknown
    return [(op._inputs[0].dtype, TensorShape([sizes.get(c) for c in rhs]))]


# Contractions with fewer multiply-adds than this run in NumPy's C einsum loop; larger ones
# go through BLAS (tensordot), whose fixed cost only pays off from about this size.
_EINSUM_BLAS_MACS = 8192


def _einsum_kernel(op, ctx):
    return in_float32(op._inputs[0].dtype, _einsum_fn(op, ctx))


def _einsum_fn(op, ctx):
    xp = ctx.xp
    ins, rhs, _ = _einsum_spec(op)
    eq = ",".join(ins) + "->" + rhs
    small = functools.partial(xp.einsum, eq)
    if len(ins) == 1:
        return small
    macs = _macs_fn([t._shape.as_tuple() for t in op._inputs], ins)
    big = (_tensordot_fn(xp, ins, rhs) if len(ins) == 2 else None) or \
        functools.partial(xp.einsum, eq, optimize=True)
    if isinstance(macs, int):  # every size known now: choose once
        return big if macs >= _EINSUM_BLAS_MACS else small

    def einsum_kernel(*xs):
        return (big if macs(xs) >= _EINSUM_BLAS_MACS else small)(*xs)
    return einsum_kernel


def _macs_fn(dims, ins):
    """The product of all label sizes: an int if known statically, else a function of the inputs."""
    where_ = {}
    for i, spec in enumerate(ins):
        for ax, c in enumerate(spec):
            where_.setdefault(c, (i, ax))
    if all(d is not None and None not in d for d in dims):
        return int(np.prod([dims[i][ax] for i, ax in where_.values()]))
    picks = list(where_.values())

    def macs(xs):
        n = 1
        for i, ax in picks:
            n *= xs[i].shape[ax]
        return n
    return macs


def _tensordot_fn(xp, ins, rhs):
    """``xp.tensordot`` plus a transpose for a two-input einsum that is a plain contraction
    (no repeated, summed-out-alone or batch labels); None for other equations."""
    a, b = ins
    if len(set(a)) != len(a) or len(set(b)) != len(b):
        return None
    if any(c not in b and c not in rhs for c in a) or any(c not in a and c not in rhs for c in b):
        return None
    if any(c in b and c in rhs for c in a):
        return None
    summed = [c for c in a if c in b]
    if not summed:
        return None
    axes = ([a.index(c) for c in summed], [b.index(c) for c in summed])
    got = [c for c in a if c not in summed] + [c for c in b if c not in summed]
    perm = tuple(got.index(c) for c in rhs)
    tensordot = xp.tensordot
    if perm == tuple(range(len(perm))):
        return lambda x, y: tensordot(x, y, axes)
    return lambda x, y: xp.transpose(tensordot(x, y, axes), perm)


def _einsum_grad(op, g):
    ins, rhs, bcast = _einsum_spec(op)
    grads = []
    for i, (spec, x) in enumerate(zip(ins, op._inputs)):
        others = [conj(t) for j, t in enumerate(op._inputs) if j != i]  # TF's convention
        other_specs = [s for j, s in enumerate(ins) if j != i]
        present = set(rhs).union(*other_specs)
        kept = [p for p, c in enumerate(spec) if c in present and spec.index(c) == p]
        target = "".join(spec[p] for p in kept)
        if not others and target == rhs:
            r = g
        else:
            r = out("Einsum", [g] + others,
                    {"equation": ",".join([rhs] + other_specs) + "->" + target, "broadcast": bcast})
        if len(kept) < len(spec):  # repeated or summed-out labels: back to x's layout
            from .array_ops import expand_dims_axes
            r = expand_dims_axes(r, [p for p in range(len(spec)) if p not in kept])
            r = r * _einsum_diagonal_mask(spec, x)
        xt = x._shape.as_tuple()
        if any(c in bcast for c in spec) and (xt is None or None in xt
                                              or r._shape.as_tuple() != xt):
            r = sum_to_shape_of(r, x)  # broadcast labels: sum back where x had length 1
        grads.append(r)
    return grads


def _einsum_diagonal_mask(spec, x):
    """Ones of x's shape, zeroed off the diagonals of labels repeated in ``spec``."""
    mask = ones_like_t(x)
    idx = {}
    for p, c in enumerate(spec):
        if spec.count(c) > 1:
            idx[p] = cumsum(mask, p, exclusive=True)  # the index along axis p
    for p, c in enumerate(spec):
        first = spec.index(c)
        if p != first and p in idx:
            mask = mask * cast(equal(idx[first], idx[p]), x.dtype)
    return mask


register_op("Einsum", infer=_einsum_infer, kernel=_einsum_kernel, grad=_einsum_grad)


def einsum(equation, *inputs, **kwargs):
    """Einstein summation over labelled axes, as ``numpy.einsum``.

    Args:
        equation: e.g. ``'ij,jk->ik'``; ``...`` stands for broadcast dimensions (it must then
            appear in the output too); without ``->`` the output is the labels used once,
            sorted.
        *inputs: tensors of one dtype.
        name: op name (keyword only).

    Returns:
        The contracted tensor.

    Example:
        >>> tf.einsum('bij,bjk->bik', a, b)   # batched matmul
    """
    name = kwargs.pop("name", None)
    if kwargs:
        raise TypeError("einsum() got unexpected keyword arguments: %s" % ", ".join(kwargs))
    ts = [convert_to_tensor(t) for t in inputs]
    return out("Einsum", ts, {"equation": equation.replace(" ", "")}, name=name)


def tensordot(a, b, axes, name=None):
    """Contracts ``a`` and ``b`` over ``axes``.

    Args:
        a, b: tensors of one dtype and known rank.
        axes: an int N (the last N axes of ``a`` with the first N of ``b``), or a pair of axis
            lists ``[axes_a, axes_b]``.
        name: op name.

    Returns:
        A tensor with the free axes of ``a`` followed by those of ``b``.
    """
    a, b = core.convert_binary(a, b)
    ra, rb = a._shape.ndims, b._shape.ndims
    if ra is None or rb is None:
        raise ValueError("tensordot needs inputs of known rank, got %s and %s" % (a.shape, b.shape))
    if isinstance(axes, Tensor):
        v = core.constant_value(axes)
        if v is None:
            raise ValueError("tensordot needs axes known when the graph is built")
        axes = v.tolist()
    if isinstance(axes, int):
        if not 0 <= axes <= min(ra, rb):
            raise ValueError("'axes' must be at most %d, got %d" % (min(ra, rb), axes))
        axes_a, axes_b = list(range(ra - axes, ra)), list(range(axes))
    else:
        axes_a, axes_b = axes
        axes_a = [axes_a] if isinstance(axes_a, int) else list(axes_a)
        axes_b = [axes_b] if isinstance(axes_b, int) else list(axes_b)
        if len(axes_a) != len(axes_b):
            raise ValueError("tensordot: %d axes of a but %d of b" % (len(axes_a), len(axes_b)))
    axes_a = [x % ra for x in axes_a]
    axes_b = [x % rb for x in axes_b]
    letters = string.ascii_letters
    sa = list(letters[:ra])
    sb = list(letters[ra:ra + rb])
    for i, j in zip(axes_a, axes_b):
        sb[j] = sa[i]
    rhs = [c for i, c in enumerate(sa) if i not in axes_a] + [c for j, c in enumerate(sb)
                                                               if j not in axes_b]
    return einsum("%s,%s->%s" % ("".join(sa), "".join(sb), "".join(rhs)), a, b,
                  name=name or "Tensordot")
