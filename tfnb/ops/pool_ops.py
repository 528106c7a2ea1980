"""Pooling (``max_pool``, ``avg_pool``, ``max_pool_with_argmax`` and their gradients) and local
response normalization: reductions over sliding windows.

Pooling visits the window's kernel positions in row-major order, each visit one strided
operation on a block of images. ``MaxPoolGrad`` recomputes which input won each window (the
first maximum, as TensorFlow's CPU kernel) from the saved input and output. NumPy releases
the GIL inside its loops, so pooling runs its blocks on all cores. Attr checks, geometry,
window views and blocking are shared with convolution (``conv_ops``).

float32/float64 NumPy arrays go to the numba kernels of ``pool_kernels`` when numba is
installed (``USE_NUMBA``): one pass over each image instead of one NumPy operation per window
position, with the NumPy kernels' arithmetic in the same order (identical results).
"""
import functools

import numpy as np

from ..framework import dtypes
from ..framework.registry import register_op
from ..framework.tensor_shape import TensorShape
from . import core
from .conv_ops import (_check_format, _check_padding, _check_window_vector, _fmt_shape,
                       _for_blocks, _from_nhwc, _geometry, _get_sequence, _hw, _nhwc_kernel,
                       _out_and_pads, _pick, _pool_batch_blocks, _pool_blocks, _positions, _rank4,
                       _same_dtypes, _shape_tensor, _sizes_input, _to_nhwc)
from .core import convert_to_tensor, out
from .shape_rules import FLOATS, check_dtype

__all__ = [
    "max_pool", "max_pool2d", "avg_pool", "avg_pool2d", "max_pool_with_argmax",
    "local_response_normalization", "lrn",
]

_POOL_TYPES = FLOATS | {dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64, dtypes.uint8,
                        dtypes.uint16}


# ----------------------------------------------------------------------------------------------
# Pooling: MaxPool, AvgPool and their gradients; MaxPoolWithArgmax
# ----------------------------------------------------------------------------------------------
def _pool_attrs_checked(op):
    a = op._attrs
    fmt = a["data_format"]
    _check_format(fmt)
    _check_padding(a["padding"], (), allow_explicit=False)
    _check_window_vector(a["ksize"], "ksize", fmt)
    _check_window_vector(a["strides"], "strides", fmt)
    return fmt


def _pool_out_dims(a, x_nhwc):
    """Static (Ho, Wo) of pooling NHWC dims ``x_nhwc`` with pooling attrs ``a``."""
    fmt = a.get("data_format", "NHWC")
    k, s = _hw(a["ksize"], fmt), _hw(a["strides"], fmt)
    return tuple(_out_and_pads(x_nhwc[1 + ax], k[ax], s[ax], 1, a["padding"], None)[0]
                 for ax in (0, 1))


def _pool_infer(allowed):
    def infer(op):
        x = op._inputs[0]
        check_dtype(op, x, allowed, "input")
        fmt = _pool_attrs_checked(op)
        xs = _to_nhwc(_rank4(x), fmt)
        ho, wo = _pool_out_dims(op._attrs, xs)
        return [(x.dtype, TensorShape(_from_nhwc((xs[0], ho, wo, xs[3]), fmt)))]
    return infer


def _pool_window(op):
    a = op._attrs
    fmt = a["data_format"]
    return _hw(a["ksize"], fmt), _hw(a["strides"], fmt), a["padding"], fmt


# ----------------------------------------------------------------------------------------------
# Numba kernels (pool_kernels.py), loaded from a copy in the kernel cache directory
# ----------------------------------------------------------------------------------------------
#: Whether float32/float64 pooling on NumPy arrays runs on numba kernels when numba is
#: installed; False: always the NumPy kernels below (same results).
USE_NUMBA = True
_NUMBA_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
#: Input elements below which a numba kernel runs on one thread (waking the pool costs more).
_PARALLEL_ELEMENTS = 1 << 16


def _pool_kernels():
    """The pooling numba kernels (``pool_kernels.py``), or None where numba is unavailable or
    failed to load (``fusion_codegen.kernel_module``: copied into the kernel cache directory
    and imported from there, so numba's machine code is cached beside it, never in the
    repository)."""
    from ..runtime.passes import fusion_codegen
    return fusion_codegen.kernel_module("pool_kernels.py")


def _numba_for(xp, a):
    """The numba kernels when ``a`` (a pooling input) should use them, else None."""
    if not USE_NUMBA or xp is not np or a.dtype not in _NUMBA_DTYPES or a.size == 0:
        return None
    return _pool_kernels()


def _numba_setup(x_shape, k, s, padding):
    """(Ho, Wo, top pad, left pad, full position (i, j), tiles, channel chunks) for a numba
    call, after sizing numba's threads for ``x_shape``."""
    from ..runtime import threads
    n, h, w, c = x_shape
    ho, wo, (pt, _), (pl, _) = _geometry(h, w, k, s, (1, 1), padding, None)
    _, _, pos, tiles, full = _positions(h, w, k, s, padding)
    small = n * h * w * c < _PARALLEL_ELEMENTS
    threads.numba_threads(1 if small else None)
    nt = 1 if small else threads.active_threads()
    # The gradients scatter one image per task; too few images: chunks of channels too.
    nchunk = 1 if n >= 2 * nt else max(1, min(-(-2 * nt // n), c // 8))
    return ho, wo, pt, pl, pos[full][2], tiles, nchunk


def _writable(*arrays):
    """C-contiguous, writable arrays (one numba signature per dtype; read-only inputs such
    as constants would compile another)."""
    out_ = []
    for a in arrays:
        a = np.ascontiguousarray(a)
        out_.append(a if a.flags.writeable else a.copy())
    return out_


def _pooled_as(x, y, k, s, padding):
    """Whether ``y`` has the shape of pooled ``x`` (else the NumPy kernel reports the error:
    the numba kernels do not check their indexes)."""
    n, h, w, c = x.shape
    ho, wo, _, _ = _geometry(h, w, k, s, (1, 1), padding, None)
    return tuple(y.shape) == (n, ho, wo, c)


def _counts_2d(h, w, k, s, padding, dtype):
    """[Ho, Wo] in-bounds pixels of each window, in ``dtype``."""
    return np.ascontiguousarray(_window_counts(h, w, k, s, padding)[..., 0], dtype=dtype)


def _numba_max_pool(nk, x, k, s, padding):
    x, = _writable(x)
    ho, wo, pt, pl, (fi, fj), _, _ = _numba_setup(x.shape, k, s, padding)
    y = np.empty((x.shape[0], ho, wo, x.shape[3]), dtype=x.dtype)
    nk.max_pool(x, y, k[0], k[1], s[0], s[1], pt, pl, fi, fj)
    return y


def _numba_avg_pool(nk, x, k, s, padding):
    x, = _writable(x)
    n, h, w, c = x.shape
    ho, wo, pt, pl, (fi, fj), _, _ = _numba_setup(x.shape, k, s, padding)
    y = np.empty((n, ho, wo, c), dtype=x.dtype)
    nk.avg_pool(x, y, _counts_2d(h, w, k, s, padding, x.dtype), k[0], k[1], s[0], s[1],
                pt, pl, fi, fj)
    return y


def _numba_max_pool_grad(nk, x, y, g, k, s, padding):
    x, y, g = _writable(x, y, g)
    _, _, pt, pl, _, tiles, nchunk = _numba_setup(x.shape, k, s, padding)
    dx = np.empty_like(x)
    nk.max_pool_grad(x, y, g, dx, x.dtype.type(0), k[0], k[1], s[0], s[1], pt, pl, nchunk,
                     tiles)
    return dx


def _numba_max_pool_grad_grad(nk, x, y, gg, k, s, padding):
    x, y, gg = _writable(x, y, gg)
    _, _, pt, pl, _, _, _ = _numba_setup(x.shape, k, s, padding)
    res = np.empty_like(y)
    nk.max_pool_grad_grad(x, y, gg, res, x.dtype.type(0), k[0], k[1], s[0], s[1], pt, pl)
    return res


def _numba_avg_pool_grad(nk, x_shape, g, k, s, padding):
    g, = _writable(g)
    _, h, w, c = x_shape
    _, _, pt, pl, _, tiles, nchunk = _numba_setup(x_shape, k, s, padding)
    dx = np.empty(x_shape, dtype=g.dtype)
    nk.avg_pool_grad(g, dx, _counts_2d(h, w, k, s, padding, g.dtype), g.dtype.type(0),
                     k[0], k[1], s[0], s[1], pt, pl, nchunk, tiles)
    return dx


def _to_nhwc_view(a, fmt):
    return a if fmt == "NHWC" else a.transpose(0, 2, 3, 1)


def _from_nhwc_view(a, fmt):
    return a if fmt == "NHWC" else a.transpose(0, 3, 1, 2)


def first_max_kernels(op, link):
    """MaxPool's and MaxPoolGrad's kernels for the ``first_max`` plan pass
    (:mod:`tfnb.runtime.passes.first_max`): ``forward(own)`` wraps MaxPool's kernel ``own`` so it
    also records each window's first maximum in ``link`` (``link.put(y, first)``);
    ``gradient(own)`` wraps MaxPoolGrad's so it routes by them (``link.get(y)``) instead of
    comparing the input with ``y`` again. Both fall back to ``own`` wherever the numba kernels
    do not apply or nothing was recorded for ``y``."""
    k, s, padding, fmt = _pool_window(op)

    def forward(own):
        def max_pool_recording_first(x):
            nk = _numba_for(np, x) if isinstance(x, np.ndarray) and x.ndim == 4 else None
            if nk is None:
                return own(x)
            xn, = _writable(_to_nhwc_view(x, fmt))
            ho, wo, pt, pl, (fi, fj), _, _ = _numba_setup(xn.shape, k, s, padding)
            y = np.empty((xn.shape[0], ho, wo, xn.shape[3]), dtype=xn.dtype)
            first = np.empty(y.shape, np.uint8)
            nk.max_pool_first(xn, y, first, k[0], k[1], s[0], s[1], pt, pl, fi, fj)
            y = _from_nhwc_view(y, fmt)
            link.put(y, first)
            return y
        return max_pool_recording_first

    def gradient(own, relu_grad=None):
        """``relu_grad``: the kernel of a ReluGrad(MaxPoolGrad(x, y, g), x) the result also
        goes through (the pass leaves that op out), or None."""
        def max_pool_grad_by_first(x, y, g):
            first = link.get(y)
            if first is None or not isinstance(g, np.ndarray) or g.shape != y.shape or \
                    g.dtype != y.dtype or x.dtype != y.dtype:
                dx = own(x, y, g)
                return dx if relu_grad is None else relu_grad(dx, x)
            nk = _pool_kernels()
            xn = _to_nhwc_view(x, fmt)
            gn, = _writable(_to_nhwc_view(g, fmt))
            _, _, pt, pl, _, tiles, nchunk = _numba_setup(xn.shape, k, s, padding)
            dx = np.empty(xn.shape, dtype=gn.dtype)
            mask = _writable(xn)[0] if relu_grad is not None else dx  # (unread without relu)
            nk.max_pool_grad_first(first, gn, dx, gn.dtype.type(0), k[0], k[1], s[0], s[1],
                                   pt, pl, nchunk, tiles, mask, gn.dtype.type(1),
                                   relu_grad is not None)
            return _from_nhwc_view(dx, fmt)
        return max_pool_grad_by_first
    return forward, gradient


#: Window positions a ``first`` byte can name (``pool_kernels.NO_MAX`` = 255 is "none").
FIRST_MAX_POSITIONS = 255


# ----------------------------------------------------------------------------------------------
# NumPy kernels (any dtype, any array module)
# ----------------------------------------------------------------------------------------------
def _max_pool_nhwc(xp, x, k, s, padding):
    nk = _numba_for(xp, x)
    if nk is not None:
        return _numba_max_pool(nk, x, k, s, padding)
    n, h, w, c = x.shape
    ho, wo, pos, _, full = _positions(h, w, k, s, padding)
    y = xp.empty((n, ho, wo, c), dtype=x.dtype)

    def block(a, b):
        xb, yb = x[a:b], y[a:b]
        xp.copyto(yb, xb[pos[full][1]])
        for t, (o, i, _) in enumerate(pos):
            if t != full:
                yo = yb[o]
                xp.maximum(yo, xb[i], out=yo)
    _for_blocks(xp, _pool_blocks(x), block)
    return y


def _max_pool_grad_nhwc(xp, x, y, g, k, s, padding):
    """Routes each output's gradient to the first maximum of its window (row-major order)."""
    _check_pool_grad_shapes(y.shape, g.shape)
    nk = _numba_for(xp, x)
    if nk is not None and y.dtype == x.dtype == g.dtype and _pooled_as(x, y, k, s, padding):
        return _numba_max_pool_grad(nk, x, y, g, k, s, padding)
    n, h, w, c = x.shape
    ho, wo, pos, tiles, _ = _positions(h, w, k, s, padding)
    dx = xp.empty_like(x) if tiles else xp.zeros_like(x)
    last = len(pos) - 1

    def block(a, b):
        xb, yb, dxb = x[a:b], y[a:b], dx[a:b]
        rest = g[a:b].copy()   # the part of each gradient not yet given to an earlier maximum
        parts = None if tiles else xp.empty_like(rest)
        hits = xp.empty(rest.shape, dtype=bool)
        for t, (o, i, _) in enumerate(pos):
            hit = xp.equal(xb[i], yb[o], out=hits[o])
            if tiles:
                part = xp.multiply(rest[o], hit, out=dxb[i])
            else:
                part = xp.multiply(rest[o], hit, out=parts[o])
                dxb[i] += part
            if t < last:
                rest[o] -= part
    _for_blocks(xp, _pool_blocks(x), block)
    return dx


def _check_pool_grad_shapes(y_shape, g_shape):
    if tuple(y_shape) != tuple(g_shape):
        raise ValueError("Expected grad shape to be %s, but got %s" % (list(y_shape), list(g_shape)))


def _max_pool_grad_grad_nhwc(xp, x, y, gg, k, s, padding):
    """For each output, the entry of ``gg`` (input-shaped) at the first maximum of its window."""
    nk = _numba_for(xp, x)
    if (nk is not None and y.dtype == x.dtype == gg.dtype and gg.shape == x.shape
            and _pooled_as(x, y, k, s, padding)):
        return _numba_max_pool_grad_grad(nk, x, y, gg, k, s, padding)
    _, h, w, _ = x.shape
    _, _, pos, _, _ = _positions(h, w, k, s, padding)
    res = xp.zeros_like(y)
    free = xp.ones(y.shape, dtype=bool)
    for o, i, _ in pos:
        hit = (x[i] == y[o]) & free[o]
        res[o] += gg[i] * hit
        free[o] &= ~hit
    return res


@functools.lru_cache(maxsize=256)
def _window_counts(h, w, k, s, padding):
    """[Ho, Wo, 1] number of input pixels (padding excluded) in each window (float64)."""
    ho, wo, pos, _, _ = _positions(h, w, k, s, padding)
    counts = np.zeros((ho, wo, 1))
    for o, _, _ in pos:
        counts[o[1:]] += 1
    counts.flags.writeable = False
    return counts


def _avg_pool_nhwc(xp, x, k, s, padding):
    nk = _numba_for(xp, x)
    if nk is not None:
        return _numba_avg_pool(nk, x, k, s, padding)
    n, h, w, c = x.shape
    ho, wo, pos, _, full = _positions(h, w, k, s, padding)
    counts = xp.asarray(_window_counts(h, w, k, s, padding), dtype=x.dtype)
    y = xp.empty((n, ho, wo, c), dtype=x.dtype)

    def block(a, b):
        xb, yb = x[a:b], y[a:b]
        xp.copyto(yb, xb[pos[full][1]])
        for t, (o, i, _) in enumerate(pos):
            if t != full:
                yb[o] += xb[i]
        yb /= counts
    _for_blocks(xp, _pool_blocks(x), block)
    return y


def _avg_pool_grad_nhwc(xp, x_shape, g, k, s, padding):
    n, h, w, c = x_shape
    ho, wo, pos, tiles, _ = _positions(h, w, k, s, padding)
    _check_pool_grad_shapes((n, ho, wo, c), g.shape)
    nk = _numba_for(xp, g)
    if nk is not None:
        return _numba_avg_pool_grad(nk, tuple(x_shape), g, k, s, padding)
    counts = xp.asarray(_window_counts(h, w, k, s, padding), dtype=g.dtype)
    dx = xp.empty(x_shape, dtype=g.dtype) if tiles else xp.zeros(x_shape, dtype=g.dtype)

    def block(a, b):
        share = g[a:b] / counts
        dxb = dx[a:b]
        for o, i, _ in pos:
            if tiles:
                dxb[i] = share[o]
            else:
                dxb[i] += share[o]
    _for_blocks(xp, _pool_batch_blocks(n, h * w * c * g.itemsize), block)
    return dx


def _pool_kernel(fn, n_nhwc):
    """Kernel factory for a pooling op whose first ``n_nhwc`` inputs are image tensors."""
    def make(op, ctx):
        xp = ctx.xp
        k, s, padding, fmt = _pool_window(op)
        return _nhwc_kernel(xp, fmt, lambda *a: fn(xp, *a, k, s, padding), tuple(range(n_nhwc)))
    return make


def _same_as_input0(op):
    x = op._inputs[0]
    return [(x.dtype, x._shape)]


def _max_pool_grad_infer(op, grad_like_input=False):
    """MaxPoolGrad(orig_input, orig_output, grad): grad is output-shaped (input-shaped for
    MaxPoolGradGrad, ``grad_like_input``)."""
    x, y, g = op._inputs
    _same_dtypes(op, (("orig_input", x), ("orig_output", y), ("grad", g)))
    fmt = _pool_attrs_checked(op)
    xs = _to_nhwc(_rank4(x), fmt)
    ho, wo = _pool_out_dims(op._attrs, xs)
    pooled = TensorShape(_from_nhwc((xs[0], ho, wo, xs[3]), fmt))
    for t, what, expect in ((y, "orig_output", pooled),
                            (g, "grad", x._shape if grad_like_input else pooled)):
        _rank4(t)
        if not t._shape.is_compatible_with(expect):
            raise ValueError("%s has shape %s, but %s" % (
                what, _fmt_shape(t._shape), "orig_input has shape %s" % _fmt_shape(expect)
                if expect is x._shape else "pooling the input gives %s" % _fmt_shape(expect)))
    return [(x.dtype, x._shape if not grad_like_input else y._shape)]


def _zeros_like(t):
    from .array_ops import zeros_like
    return zeros_like(t)


register_op("MaxPool", infer=_pool_infer(_POOL_TYPES), kernel=_pool_kernel(_max_pool_nhwc, 1),
            grad=lambda op, g: [out("MaxPoolGrad", [op._inputs[0], op._outputs[0], g],
                                    dict(op._attrs))],
            doc="Max pooling over spatial windows.")
register_op("MaxPoolGrad", infer=_max_pool_grad_infer,
            kernel=_pool_kernel(_max_pool_grad_nhwc, 3),
            grad=lambda op, gg: [_zeros_like(op._inputs[0]), _zeros_like(op._inputs[1]),
                                 out("MaxPoolGradGrad", list(op._inputs[:2]) + [gg],
                                     dict(op._attrs))],
            doc="Gradient of MaxPool: each output's gradient goes to its window's first maximum.")
register_op("MaxPoolGradGrad", infer=lambda op: _max_pool_grad_infer(op, grad_like_input=True),
            kernel=_pool_kernel(_max_pool_grad_grad_nhwc, 3),
            grad=lambda op, g: [_zeros_like(op._inputs[0]), _zeros_like(op._inputs[1]),
                                out("MaxPoolGrad", list(op._inputs[:2]) + [g], dict(op._attrs))],
            doc="Gradient of MaxPoolGrad w.r.t. its grad input: gathers at each window's maximum.")


def _avg_pool_grad_infer(op):
    sizes, g = op._inputs
    check_dtype(op, g, FLOATS, "grad")
    fmt = _pool_attrs_checked(op)
    x_dims = _sizes_input(op, sizes, "orig_input_shape")
    ho, wo = _pool_out_dims(op._attrs, _to_nhwc(x_dims, fmt))
    _rank4(g)
    expect = TensorShape(_from_nhwc((x_dims[0], ho, wo, _to_nhwc(x_dims, fmt)[3]), fmt))
    if not g._shape.is_compatible_with(expect):
        raise ValueError("grad has shape %s, but pooling the input gives %s"
                         % (_fmt_shape(g._shape), _fmt_shape(expect)))
    return [(g.dtype, TensorShape(x_dims))]


def _avg_pool_grad_kernel(op, ctx):
    xp = ctx.xp
    k, s, padding, fmt = _pool_window(op)

    def avg_pool_grad(sizes, g):
        x_shape = _to_nhwc(tuple(int(v) for v in sizes), fmt)
        return _avg_pool_grad_nhwc(xp, x_shape, g, k, s, padding)
    return _nhwc_kernel(xp, fmt, avg_pool_grad, (1,))


register_op("AvgPool", infer=_pool_infer(FLOATS), kernel=_pool_kernel(_avg_pool_nhwc, 1),
            grad=lambda op, g: [out("AvgPoolGrad", [_shape_tensor(op._inputs[0]), g],
                                    dict(op._attrs))],
            doc="Average pooling; SAME windows divide by their count of non-padding pixels.")
register_op("AvgPoolGrad", infer=_avg_pool_grad_infer, kernel=_avg_pool_grad_kernel,
            grad=lambda op, gg: [None, out("AvgPool", [gg], dict(op._attrs))],
            doc="Gradient of AvgPool: each output's gradient shared evenly over its window.")


def _pool_attrs(ksize, strides, padding, data_format, op_name):
    data_format = data_format or "NHWC"
    _check_format(data_format)
    ksize = _get_sequence(ksize, "ksize", data_format)
    if 0 in ksize:
        raise ValueError("`ksize` cannot be zero. Received: ksize=%s" % list(ksize))
    if not isinstance(padding, str):
        raise ValueError("%s supports padding 'SAME' or 'VALID', got %r" % (op_name, padding))
    return {"ksize": ksize, "strides": _get_sequence(strides, "strides", data_format),
            "padding": padding, "data_format": data_format}


def max_pool(value=None, ksize=None, strides=None, padding=None, data_format="NHWC", name=None,
             input=None):  # noqa: A002
    """Max pooling: the largest value of each window, per channel.

    Args:
        value: 4-D tensor, NHWC (or NCHW with ``data_format="NCHW"``); ``input`` is another
            spelling.
        ksize: window size: int or list of 1, 2 or 4 ints (4: in ``data_format`` order, 1 for
            batch and depth).
        strides: the window's stride, the same forms as ``ksize``.
        padding: "SAME" (output ceil(in / stride), padding never wins) or "VALID".
        data_format: "NHWC" or "NCHW".

    Returns:
        The pooled tensor. Its gradient goes to the first maximum of each window (row-major
        order), as TensorFlow's CPU kernel does.

    Example:
        >>> tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
    """
    value = _pick(input, value, "input", "value")
    return out("MaxPool", [convert_to_tensor(value)],
               _pool_attrs(ksize, strides, padding, data_format, "max_pool"), name=name)


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """``max_pool`` under its TF 1.15 name."""
    return max_pool(input, ksize, strides, padding, data_format, name)


def avg_pool(value=None, ksize=None, strides=None, padding=None, data_format="NHWC", name=None,
             input=None):  # noqa: A002
    """Average pooling: the mean of each window, per channel (float types).

    With SAME padding a window that overlaps the border is averaged over its pixels inside the
    image only (padding is not counted), as in TensorFlow. Arguments as for ``max_pool``.
    """
    value = _pick(input, value, "input", "value")
    return out("AvgPool", [convert_to_tensor(value)],
               _pool_attrs(ksize, strides, padding, data_format, "avg_pool"), name=name)


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """``avg_pool`` under its TF 1.15 name."""
    return avg_pool(input, ksize, strides, padding, data_format, name)


def _argmax_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, _POOL_TYPES, "input")
    a = op._attrs
    _check_padding(a["padding"], (), allow_explicit=False)
    _check_window_vector(a["ksize"], "ksize", "NHWC")
    _check_window_vector(a["strides"], "strides", "NHWC")
    if a["Targmax"] not in (dtypes.int32, dtypes.int64):
        raise TypeError("Targmax must be int32 or int64, got %s" % a["Targmax"].name)
    xs = _rank4(x)
    shape = TensorShape((xs[0],) + _pool_out_dims(a, xs) + (xs[3],))
    return [(x.dtype, shape), (a["Targmax"], shape)]


def _argmax_kernel(op, ctx):
    xp = ctx.xp
    a = op._attrs
    k, s, padding = tuple(a["ksize"][1:3]), tuple(a["strides"][1:3]), a["padding"]
    with_batch, idx_dtype = a["include_batch_in_index"], a["Targmax"].np

    def max_pool_with_argmax(x):
        n, h, w, c = x.shape
        ho, wo, (pt, _), (pl, _) = _geometry(h, w, k, s, (1, 1), padding, None)
        _, _, pos, _, _ = _positions(h, w, k, s, padding)
        y = xp.empty((n, ho, wo, c), dtype=x.dtype)
        winner = xp.zeros((n, ho, wo, c), dtype=np.int32)     # number of the winning position
        unset = xp.ones((n, ho, wo, c), dtype=bool)
        for t, (o, i, _) in enumerate(pos):
            better = (x[i] > y[o]) | unset[o]                  # strict: the first maximum stays
            xp.copyto(y[o], x[i], where=better)
            xp.copyto(winner[o], t, where=better)
            unset[o] &= ~better
        ki = xp.asarray([p[2][0] for p in pos])[winner]
        kj = xp.asarray([p[2][1] for p in pos])[winner]
        rows = xp.arange(ho).reshape(1, ho, 1, 1) * s[0] - pt + ki
        cols = xp.arange(wo).reshape(1, 1, wo, 1) * s[1] - pl + kj
        flat = (rows * w + cols) * c + xp.arange(c)
        if with_batch:
            flat = flat + xp.arange(n).reshape(n, 1, 1, 1) * (h * w * c)
        return y, flat.astype(idx_dtype)
    return max_pool_with_argmax


def _flat_argmax(xp, argmax, x_shape, with_batch):
    flat = argmax.astype(np.int64)
    if not with_batch:
        n = x_shape[0]
        flat = flat + xp.arange(n).reshape((n,) + (1,) * (flat.ndim - 1)) * (
            int(np.prod(x_shape[1:])))
    return flat.reshape(-1)


def _grad_with_argmax_kernel(op, ctx):
    xp = ctx.xp
    with_batch = op._attrs["include_batch_in_index"]

    def max_pool_grad_with_argmax(x, g, argmax):
        _check_pool_grad_shapes(argmax.shape, g.shape)
        flat = _flat_argmax(xp, argmax, x.shape, with_batch)
        dx = xp.bincount(flat, weights=g.reshape(-1), minlength=x.size)
        return dx.astype(x.dtype).reshape(x.shape)
    return max_pool_grad_with_argmax


def _grad_grad_with_argmax_kernel(op, ctx):
    xp = ctx.xp
    with_batch = op._attrs["include_batch_in_index"]

    def max_pool_grad_grad_with_argmax(x, gg, argmax):
        return gg.reshape(-1)[_flat_argmax(xp, argmax, x.shape, with_batch)].reshape(argmax.shape)
    return max_pool_grad_grad_with_argmax


register_op("MaxPoolWithArgmax", infer=_argmax_infer, kernel=_argmax_kernel,
            grad=lambda op, g, _: [out("MaxPoolGradWithArgmax",
                                       [op._inputs[0], g, op._outputs[1]], dict(op._attrs))],
            doc="Max pooling that also returns the flat index of each maximum.")
register_op("MaxPoolGradWithArgmax", infer=_same_as_input0, kernel=_grad_with_argmax_kernel,
            grad=lambda op, gg: [_zeros_like(op._inputs[0]),
                                 out("MaxPoolGradGradWithArgmax", [op._inputs[0], gg,
                                                                   op._inputs[2]],
                                     dict(op._attrs)), None],
            doc="Gradient of MaxPoolWithArgmax: scatters grad to the saved argmax positions.")
register_op("MaxPoolGradGradWithArgmax",
            infer=lambda op: [(op._inputs[0].dtype, op._inputs[2]._shape)],
            kernel=_grad_grad_with_argmax_kernel,
            grad=lambda op, g: [_zeros_like(op._inputs[0]),
                                out("MaxPoolGradWithArgmax", [op._inputs[0], g, op._inputs[2]],
                                    dict(op._attrs)), None],
            doc="Gathers an input-shaped tensor at the saved argmax positions.")


def max_pool_with_argmax(input, ksize, strides, padding, data_format="NHWC", Targmax=None,  # noqa: A002,N803
                         name=None, output_dtype=None, include_batch_in_index=False):
    """Max pooling that also returns where each maximum came from.

    Returns:
        (output, argmax): ``argmax`` holds, for each output, the flat index of the (first)
        maximum in its window: ``(y * width + x) * channels + c``, plus
        ``b * height * width * channels`` if ``include_batch_in_index``.
    """
    if data_format != "NHWC":
        raise ValueError("max_pool_with_argmax supports only data_format 'NHWC', got %r"
                         % data_format)
    idx = dtypes.as_dtype(_pick(output_dtype, Targmax, "output_dtype", "Targmax") or dtypes.int64)
    attrs = _pool_attrs(ksize, strides, padding, data_format, "max_pool_with_argmax")
    del attrs["data_format"]
    attrs.update(Targmax=idx, include_batch_in_index=bool(include_batch_in_index))
    o = core.op("MaxPoolWithArgmax", [convert_to_tensor(input)], attrs, name=name)
    return _MaxPoolWithArgmax(*o._outputs)


class _MaxPoolWithArgmax(tuple):
    """(output, argmax), also readable as ``.output`` and ``.argmax`` (TF's namedtuple)."""

    def __new__(cls, output, argmax):
        return super().__new__(cls, (output, argmax))

    output = property(lambda self: self[0])
    argmax = property(lambda self: self[1])


# ----------------------------------------------------------------------------------------------
# Local response normalization
# ----------------------------------------------------------------------------------------------
def _depth_window_sum(xp, v, r):
    """Sum of ``v`` over channels d - r .. d + r (clipped at the edges) for every channel d."""
    acc = v.copy()
    c = v.shape[-1]
    for off in range(1, min(r, c - 1) + 1):
        acc[..., off:] += v[..., :-off]
        acc[..., :-off] += v[..., off:]
    return acc


def _lrn_attrs(op):
    a = op._attrs
    return a["depth_radius"], a["bias"], a["alpha"], a["beta"]


def _lrn_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, FLOATS, "input")
    _rank4(x)
    if op._attrs["depth_radius"] < 0:
        raise ValueError("depth_radius must be non-negative, got %d" % op._attrs["depth_radius"])
    return [(x.dtype, x._shape)]


def _lrn_kernel(op, ctx):
    xp = ctx.xp
    r, bias, alpha, beta = _lrn_attrs(op)

    def lrn_(x):
        norm = _depth_window_sum(xp, x * x, r)
        norm *= alpha
        norm += bias
        return x * norm ** -beta
    return lrn_


def _lrn_grad_kernel(op, ctx):
    xp = ctx.xp
    r, bias, alpha, beta = _lrn_attrs(op)

    def lrn_grad(g, x, y):
        # y = x * N^-beta with N = bias + alpha * S(x^2):
        # dx = g * N^-beta - 2 * alpha * beta * x * S(g * y / N)
        norm = _depth_window_sum(xp, x * x, r)
        norm *= alpha
        norm += bias
        inner = _depth_window_sum(xp, g * y / norm, r)
        return g * norm ** -beta - (2 * alpha * beta) * x * inner
    return lrn_grad


def _lrn_grad_infer(op):
    g, x, y = op._inputs
    _same_dtypes(op, (("input_grads", g), ("input_image", x), ("output_image", y)))
    for t in op._inputs:
        _rank4(t)
    return [(x.dtype, x._shape)]


register_op("LRN", infer=_lrn_infer, kernel=_lrn_kernel,
            grad=lambda op, g: [out("LRNGrad", [g, op._inputs[0], op._outputs[0]],
                                    dict(op._attrs))],
            doc="Local response normalization across channels.")
register_op("LRNGrad", infer=_lrn_grad_infer, kernel=_lrn_grad_kernel,
            doc="Gradient of LRN (TensorFlow defines no gradient for it either).")


def local_response_normalization(input, depth_radius=5, bias=1, alpha=1, beta=0.5,  # noqa: A002
                                 name=None):
    """Local response normalization across the last (depth) dimension of a 4-D tensor.

    ``sqr_sum[a, b, c, d] = sum(input[a, b, c, d - depth_radius : d + depth_radius + 1] ** 2)``
    and ``output = input / (bias + alpha * sqr_sum) ** beta``.
    """
    return out("LRN", [convert_to_tensor(input)],
               {"depth_radius": int(depth_radius), "bias": float(bias), "alpha": float(alpha),
                "beta": float(beta)}, name=name)


lrn = local_response_normalization
