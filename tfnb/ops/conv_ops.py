"""Convolution: ``tf.nn.conv2d`` and its backprops, ``conv2d_transpose``, depthwise and separable
convolution; and the machinery the pooling ops (``pool_ops``) share: attr checks, TF's
SAME/VALID/EXPLICIT geometry, window views, batch blocking and the kernel thread pool.

The kernels are NumPy (``xp``) calls over blocks of images; Python loops run only over those
blocks and over the few kernel positions of a window, never over pixels:

* ``Conv2D`` is im2col + GEMM. The padded NHWC input is viewed (``as_strided``, no copy) as the
  ``[N, Ho, Wo, kh, kw, C]`` array of all windows; a copy turns a block of images of it into
  the ``[n*Ho*Wo, kh*kw*C]`` patch matrix, and a float32 matmul (BLAS) with the filter seen as
  ``[kh*kw*C, O]`` writes that block of the NHWC output. Blocks of a few MB stay in cache from
  the copy to the GEMM; the whole patch matrix would be 25x the input (118 MB for the CIFAR-10
  tutorial's second layer) and cost as much memory traffic as the GEMM costs arithmetic. With
  few input channels (an image net's first layer) the matrix is built transposed,
  ``[kh*kw*C, n*Ho*Wo]``, from a channel-first copy, so the copy moves whole image rows.
* ``Conv2DBackpropFilter`` sums the GEMMs of the same patch blocks with the output gradient.
* ``Conv2DBackpropInput`` with stride 1 is the forward correlation of the padded output
  gradient with the flipped filter (as above, no scatter); otherwise a GEMM with the transposed
  filter gives the gradient of every patch entry and col2im adds them back, one strided add
  per kernel position.

NCHW inputs are transposed to NHWC views at the kernel boundary, and NCHW results are NCHW
views of NHWC memory (``_nhwc_kernel``), so chains of NCHW ops copy nothing to change layout
(the transposes cancel by strides). As in TensorFlow, the
backprop ops take the shape of the tensor they produce as an input (``input_sizes`` /
``filter_sizes``), and their gradients are written with each other, so second derivatives
work. The pooling and LRN names are re-exported here (``tf.nn`` imports this module).
"""
import functools
import numbers
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..framework import dtypes
from ..framework.registry import register_op
from ..framework.tensor_shape import TensorShape
from . import core, winograd
from .core import constant_value, convert_to_tensor, out
from .shape_rules import FLOATS, check_dtype

__all__ = [
    "conv2d", "conv2d_backprop_input", "conv2d_backprop_filter", "conv2d_transpose",
    "depthwise_conv2d", "depthwise_conv2d_native", "depthwise_conv2d_native_backprop_input",
    "depthwise_conv2d_native_backprop_filter", "separable_conv2d",
]

_CONV_TYPES = FLOATS | {dtypes.int32}
_PADDINGS = ("SAME", "VALID", "EXPLICIT")
_FORMATS = ("NHWC", "NCHW")


# ----------------------------------------------------------------------------------------------
# Attrs: normalization in the wrappers, validation in the shape functions
# ----------------------------------------------------------------------------------------------
def _get_sequence(value, name, data_format):
    """A 4-vector in ``data_format`` order from an int or a list of length 1, 2 or 4 (TF1 rules)."""
    if value is None:
        return (1, 1, 1, 1)
    if isinstance(value, numbers.Integral):
        value = [value]
    value = [int(v) for v in value]
    if len(value) == 4:
        return tuple(value)
    if len(value) == 1:
        value = value * 2
    elif len(value) != 2:
        raise ValueError("%s should be of length 1, 2 or 4. Received: %s=%s of length %d"
                         % (name, name, value, len(value)))
    return tuple([1, 1] + value if data_format == "NCHW" else [1] + value + [1])


def _padding_attrs(padding, data_format):
    """(padding string, explicit paddings as 8 ints or ()) from a string or 4 (before, after) pairs."""
    if isinstance(padding, (list, tuple)):
        pairs = [tuple(int(v) for v in p) for p in padding]
        if len(pairs) != 4 or any(len(p) != 2 for p in pairs):
            raise ValueError("When padding is explicit, it must be a list of 4 [before, after] pairs, "
                             "got %r" % (padding,))
        batch, chan = (0, 1) if data_format == "NCHW" else (0, 3)
        if pairs[batch] != (0, 0) or pairs[chan] != (0, 0):
            raise ValueError("Explicit padding of the batch and depth dimensions must be zero, got %r"
                             % (padding,))
        return "EXPLICIT", tuple(v for p in pairs for v in p)
    return padding, ()


def _check_format(fmt):
    if fmt not in _FORMATS:
        raise ValueError("Attr 'data_format' passed string '%s' not in: \"NHWC\", \"NCHW\"." % fmt)


def _check_padding(padding, explicit, allow_explicit=True):
    allowed = _PADDINGS if allow_explicit else _PADDINGS[:2]
    if padding not in allowed:
        raise ValueError("Attr 'padding' passed string '%s' not in: %s." % (
            padding, ", ".join('"%s"' % p for p in allowed)))
    if padding == "EXPLICIT":
        if len(explicit) != 8 or any(p < 0 for p in explicit):
            raise ValueError("explicit_paddings must hold 8 non-negative values, got %s"
                             % (list(explicit),))
    elif explicit:
        raise ValueError("explicit_paddings are only allowed with padding 'EXPLICIT'")


def _check_window_vector(vec, what, data_format, allow_depth=False):
    """Checks a 4-vector attr (strides, dilations, ksize): positive, 1 in batch (and depth)."""
    if len(vec) != 4:
        raise ValueError("Sliding window %s field must specify 4 dimensions" % what)
    if any(v <= 0 for v in vec):
        raise ValueError("Sliding window %s must be positive in every dimension, got %s"
                         % (what, list(vec)))
    c = 1 if data_format == "NCHW" else 3
    if vec[0] != 1 or (vec[c] != 1 and not allow_depth):
        raise ValueError("Sliding window %s is not supported in the batch and depth dimensions "
                         "(got %s)" % (what, list(vec)))


def _hw(vec, data_format):
    """The (height, width) entries of a 4-vector given in ``data_format`` order."""
    return (vec[2], vec[3]) if data_format == "NCHW" else (vec[1], vec[2])


def _explicit_hw(explicit, data_format):
    if not explicit:
        return None
    pairs = [tuple(explicit[i:i + 2]) for i in range(0, 8, 2)]
    return tuple(_hw(pairs, data_format))


def _to_nhwc(dims, data_format):
    return dims if data_format == "NHWC" else (dims[0], dims[2], dims[3], dims[1])


def _from_nhwc(dims, data_format):
    return dims if data_format == "NHWC" else (dims[0], dims[3], dims[1], dims[2])


def _fmt_shape(s):
    d = s.as_tuple()
    return "<unknown>" if d is None else "[%s]" % ",".join("?" if v is None else str(v) for v in d)


def _rank4(t):
    s = t._shape
    if s.ndims is not None and s.ndims != 4:
        raise ValueError("Shape must be rank 4 but is rank %d" % s.ndims)
    return s.as_tuple() or (None,) * 4


# ----------------------------------------------------------------------------------------------
# Geometry: TF's SAME / VALID / EXPLICIT rules
# ----------------------------------------------------------------------------------------------
def _out_and_pads(size, k, stride, dilation, padding, explicit):
    """Output length and (before, after) padding along one spatial axis (size may be None).

    SAME: out = ceil(in / stride); pad_total = max((out - 1) * stride + eff_k - in, 0), with
    pad_before = pad_total // 2. VALID: no padding, out = (in - eff_k) // stride + 1.
    """
    eff = (k - 1) * dilation + 1
    if padding == "SAME":
        if size is None:
            return None, None
        n_out = -(-size // stride)
        total = max((n_out - 1) * stride + eff - size, 0)
        return n_out, (total // 2, total - total // 2)
    before, after = explicit if padding == "EXPLICIT" else (0, 0)
    if size is None:
        return None, (before, after)
    span = size + before + after - eff
    if span < 0:
        raise ValueError("Negative dimension size caused by subtracting %d from %d"
                         % (eff, size + before + after))
    return span // stride + 1, (before, after)


@functools.lru_cache(maxsize=1024)
def _geometry(h, w, k, s, d, padding, explicit):
    """(Ho, Wo, (top, bottom), (left, right)) for an input of spatial size h x w."""
    ex = explicit or ((0, 0), (0, 0))
    ho, ph = _out_and_pads(h, k[0], s[0], d[0], padding, ex[0])
    wo, pw = _out_and_pads(w, k[1], s[1], d[1], padding, ex[1])
    return ho, wo, ph, pw


def _span(n, n_out, stride, offset):
    """For kernel offset ``offset`` (row of the window minus padding): the outputs whose window
    row lands inside [0, n), and the input rows they read: (out slice, in slice) or None."""
    lo = -(offset // stride) if offset < 0 else 0            # ceil(-offset / stride)
    hi = min(n_out, (n - offset + stride - 1) // stride)
    if hi <= lo:
        return None
    return slice(lo, hi), slice(lo * stride + offset, (hi - 1) * stride + offset + 1, stride)


@functools.lru_cache(maxsize=1024)
def _positions(h, w, k, s, padding):
    """The kernel positions of a pooling window, for an input of spatial size h x w.

    Returns (Ho, Wo, positions, tiles, full): ``positions`` lists, in row-major window order,
    (out index, in index, (i, j)) for every position (i, j) that falls inside the input for at
    least one output; the indexes (into NHWC arrays) cover just those outputs. ``tiles`` says
    every input pixel lies in exactly one window (a gradient can be written, not accumulated);
    ``full`` is the number of a position valid for every output (there is one for SAME and VALID).
    """
    ho, wo, (pt, pb), (pl, pr) = _geometry(h, w, k, s, (1, 1), padding, None)
    pos, full = [], None
    for i in range(k[0]):
        sh = _span(h, ho, s[0], i - pt)
        for j in range(k[1]):
            sw = _span(w, wo, s[1], j - pl)
            if sh is None or sw is None:
                continue
            if full is None and sh[0] == slice(0, ho) and sw[0] == slice(0, wo):
                full = len(pos)
            pos.append(((slice(None), sh[0], sw[0]), (slice(None), sh[1], sw[1]), (i, j)))
    tiles = k == s and not (pt or pb or pl or pr) and h == ho * s[0] and w == wo * s[1]
    return ho, wo, tuple(pos), tiles, full


def _pad_hw(xp, x, ph, pw, axes=(1, 2)):
    """4-D ``x`` zero-padded on its two spatial ``axes``; ``x`` itself if there is no padding."""
    (pt, pb), (pl, pr) = ph, pw
    if not (pt or pb or pl or pr):
        return x
    a, b = axes
    shape = list(x.shape)
    h, w = shape[a], shape[b]
    shape[a] += pt + pb
    shape[b] += pl + pr
    out_ = xp.empty(shape, dtype=x.dtype)
    for axis, before, n in ((a, pt, h), (b, pl, w)):       # zero the borders only
        for border in (slice(0, before), slice(before + n, None)):
            idx = [slice(None)] * 4
            idx[axis] = border
            out_[tuple(idx)] = 0
    inner = [slice(None)] * 4
    inner[a], inner[b] = slice(pt, pt + h), slice(pl, pl + w)
    out_[tuple(inner)] = x
    return out_


def _windows(xp, xpad, ho, wo, k, s, d):
    """The [N, Ho, Wo, kh, kw, C] view of all windows of padded NHWC ``xpad`` (no copy)."""
    sn, sh, sw, sc = xpad.strides
    return xp.lib.stride_tricks.as_strided(
        xpad, (xpad.shape[0], ho, wo, k[0], k[1], xpad.shape[3]),
        (sn, sh * s[0], sw * s[1], sh * d[0], sw * d[1], sc))


# ----------------------------------------------------------------------------------------------
# Conv2D kernels (NHWC arrays, HWIO filters; ``groups`` > 1 when the input depth is a multiple of
# the filter's input depth, as TF allows)
# ----------------------------------------------------------------------------------------------
#: Bytes of patch matrix built at a time. A whole patch matrix can be 25x the input (118 MB
#: for the CIFAR-10 tutorial's second layer); a block about half a last-level cache is mostly
#: still cached when the GEMM reads it, and the GEMMs stay few: every BLAS call synchronizes
#: BLAS's threads, which costs little on an idle machine but a scheduler time slice each on a
#: busy one (4 MB blocks ran 1.4x slower than 16 MB blocks at a load of 3 on 2 cores).
_BLOCK_BYTES = 16 << 20


def _batch_blocks(n, per_image_bytes, budget=None):
    """Ranges (a, b) of images covering 0..n, each holding about ``budget`` bytes (at least one
    image), and the images per block."""
    nb = max(1, min(n, (budget or _BLOCK_BYTES) // max(per_image_bytes, 1)))
    return [(a, min(n, a + nb)) for a in range(0, n, nb)], nb


#: Input bytes pooled at a time: pooling makes one pass over its arrays per window position,
#: and blocks of this size keep those passes in cache.
_POOL_BLOCK_BYTES = 4 << 20


def _pool_batch_blocks(n, per_image_bytes):
    """The blocks of images pooling works on (see ``_batch_blocks``)."""
    return _batch_blocks(n, per_image_bytes, _POOL_BLOCK_BYTES)[0]


def _pool_blocks(x):
    return _pool_batch_blocks(x.shape[0], x[:1].nbytes)


def _thread_count():
    """The cores this process may use, capped at 4 and by the thread limits set for BLAS."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        v = os.environ.get(var, "")
        if v.isdigit() and int(v) > 0:
            n = min(n, int(v))
    return min(4, n)


#: Threads for pooling, which is memory-bound: NumPy releases the GIL inside its loops, so
#: blocks of images proceed on every core. (Patch copies stay on one thread: they alternate
#: with GEMMs whose BLAS threads still hold the other cores.)
_THREADS = _thread_count()
_executor = None
_executor_lock = threading.Lock()


def _forget_executor():
    """A forked child has none of the parent's threads: it starts its own pool when needed."""
    global _executor, _executor_lock
    _executor, _executor_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_executor)


def _for_blocks(xp, blocks, fn):
    """Calls ``fn(a, b)`` for every block: on the CPU's cores in parallel when there are several
    (the blocks must write disjoint memory), in order on other devices."""
    global _executor
    if xp is not np or _THREADS < 2 or len(blocks) < 2:
        for a, b in blocks:
            fn(a, b)
        return
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(_THREADS, thread_name_prefix="tfnb-conv")
    for f in [_executor.submit(fn, a, b) for a, b in blocks]:
        f.result()


def _channel_major(c, kw, wo, s):
    """Whether to build the patch matrix as [K, M]: the copy then moves runs of Wo floats
    instead of runs of kw*C, which pays when kw*C is small (grayscale or RGB input layers)."""
    return s[1] == 1 and c * kw * 2 <= wo


def _patch_blocks(xp, x, k, s, d, geo):
    """The patch matrix of NHWC ``x``, a block of images at a time.

    Yields (a, b, cols, channel_major) for images a:b: ``cols`` is [M, K] with M over
    (n, ho, wo) and K over (i, j, c), the order of an HWIO filter's first three axes, or [K, M]
    when ``channel_major``. Blocks are built in one reused buffer: use each before the next.
    """
    n, _, _, c = x.shape
    ho, wo, ph, pw = geo
    kk = k[0] * k[1] * c
    if k == (1, 1) and not (ph[0] or ph[1] or pw[0] or pw[1]):
        xs = x[:, ::s[0], ::s[1]][:, :ho, :wo] if s != (1, 1) else x
        yield 0, n, xp.ascontiguousarray(xs).reshape(n * ho * wo, c), False
        return
    channel_major = _channel_major(c, k[1], wo, s)
    if channel_major:
        xt = xp.ascontiguousarray(_pad_hw(xp, x.transpose(3, 0, 1, 2), ph, pw, axes=(2, 3)))
        sc, sn, sh, sw = xt.strides
        view = xp.lib.stride_tricks.as_strided(
            xt, (k[0], k[1], c, n, ho, wo), (sh * d[0], sw * d[1], sc, sn, sh * s[0], sw * s[1]))
    else:
        view = _windows(xp, _pad_hw(xp, x, ph, pw), ho, wo, k, s, d)
    per_image = ho * wo * kk
    blocks, nb = _batch_blocks(n, per_image * x.itemsize)
    buf = xp.empty(nb * per_image, dtype=x.dtype)
    for a, b in blocks:
        src = view[:, :, :, a:b] if channel_major else view[a:b]
        dst = buf[:src.size].reshape(src.shape)
        xp.copyto(dst, src)
        yield a, b, (dst.reshape(kk, -1) if channel_major else dst.reshape(-1, kk)), channel_major


def _grouped_patches(xp, x, k, s, d, geo, groups):
    """[G, M, kh*kw*Cg] patch matrices, one per group of input channels."""
    n, _, _, c = x.shape
    ho, wo, ph, pw = geo
    view = _windows(xp, _pad_hw(xp, x, ph, pw), ho, wo, k, s, d)
    view = view.reshape(n, ho, wo, k[0], k[1], groups, c // groups).transpose(5, 0, 1, 2, 3, 4, 6)
    return xp.ascontiguousarray(view).reshape(groups, n * ho * wo, -1)


def _check_depths(c, w_shape):
    """The number of groups; raises if the depths do not divide."""
    cg, o = w_shape[2], w_shape[3]
    if cg == 0 or c % cg:
        raise ValueError("input depth must be evenly divisible by filter depth: %d vs %d" % (c, cg))
    groups = c // cg
    if o % groups:
        raise ValueError("output depth %d is not a multiple of the number of groups %d" % (o, groups))
    return groups


def _check_out_backprop(op_type, dy_shape, expected):
    if tuple(dy_shape) != tuple(expected):
        raise ValueError("%s: Size of out_backprop doesn't match computed: actual = %s, "
                         "computed = %s" % (op_type, list(dy_shape), list(expected)))


#: Rows (output pixels) of the patch block a thread builds and multiplies at once in the
#: patch-GEMM kernels (``patch_kernels.py``): [bt, kh*kw*C] stays in the core's cache.
_PATCH_BLOCK_BYTES = 256 << 10


def _patch_kernels(xp, dtype):
    """The fused patch-GEMM kernels where they apply (NumPy float32/float64 arrays, numba and
    SciPy's BLAS installed), else None: im2col then runs."""
    if xp is not np or np.dtype(dtype) not in (np.float32, np.float64) or not winograd.fused_available():
        return None
    from ..runtime.passes import fusion_codegen
    return fusion_codegen.kernel_module("patch_kernels.py")


def _patch_gemm_pays(x_shape, w_shape, s):
    """Where the fused patch-GEMM beats im2col: patch rows of 48 to 640 values. Measured
    (float32, 2 threads, medians of 11, three runs; forward / filter gradient, ms, im2col ->
    fused): W5's conv1 [128,24,24,3] 5x5x64 8.6-10.5 -> 7.2-9.0 / 11.1-20.2 -> 9.0-11.2;
    [32,32,32,64] 3x3x128 stride 2 9.2-11.2 -> 8.6-10.2 / 10.0-11.7 -> 9.1-11.1. Slower where
    rows are short or long: W4's conv1 (K = 25) 0.8 -> 1.6 / 0.9 -> 1.9; [8,28,28,128]
    3x3x256 stride 2 (K = 1152) 6.3-6.7 -> 6.5-7.2; 1x1 filters (im2col copies nothing)."""
    kh, kw, c, _ = w_shape
    return kh * kw > 1 and 48 <= kh * kw * c <= 640


def _patch_rows_per_block(k, itemsize):
    return int(max(16, min(2048, _PATCH_BLOCK_BYTES // max(1, k * itemsize))))


def _patch_forward(kernels, x, w, s, d, geo, bias=None):
    """``bias``: the result is ``relu(conv + bias)``, computed block by block (see
    :func:`conv2d_bias_relu`)."""
    n, _, _, c = x.shape
    kh, kw, _, o = w.shape
    ho, wo, ph, pw = geo
    x = np.ascontiguousarray(x)
    w2 = np.ascontiguousarray(w.reshape(kh * kw * c, o), dtype=x.dtype)
    y = np.empty((n, ho, wo, o), x.dtype)
    winograd.run_fused(
        kernels.forward, x, w2, y, kh, kw, s[0], s[1], d[0], d[1], ph[0], pw[0],
        _patch_rows_per_block(kh * kw * c, x.itemsize), winograd.gemm_fn(x.dtype),
        winograd.fused_parts(), x.dtype.type(1), np.zeros(1, np.int64),
        np.zeros(1, x.dtype) if bias is None else bias, bias is not None)
    return y


#: Output rows per task of the in-place bias + ReLU (``patch_kernels.bias_relu_rows``).
_BIAS_RELU_ROWS = 256


def conv2d_bias_relu(x, w, bias, s, d, padding, explicit):
    """``relu(conv2d(x, w) + bias)`` for NHWC NumPy arrays -- the values of the three ops, with
    the bias add and ReLU done as the fused elementwise kernel does them (``v`` if ``v >= 0``
    or NaN, else 0) -- in one pass over the output: inside the patch-GEMM kernel where that
    path computes the convolution, else in place right after it. For the ``conv_bias_relu``
    plan pass; needs the patch kernels (numba and SciPy: :func:`bias_relu_available`)."""
    kernels = _patch_kernels(np, x.dtype)
    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    bias = np.ascontiguousarray(bias, dtype=x.dtype)
    if bias.shape != (o,):
        raise ValueError("bias of shape %s for a convolution with %d output channels"
                         % (list(bias.shape), o))
    groups = _check_depths(c, w.shape)
    geo = _geometry(h, wd, (kh, kw), s, d, padding, explicit)
    if groups == 1 and not winograd.usable(np, x.dtype, w.shape, s, d) and \
            _patch_gemm_pays(x.shape, w.shape, s):
        return _patch_forward(kernels, x, w, s, d, geo, bias)
    y = np.ascontiguousarray(_conv_forward(np, x, w, s, d, padding, explicit))
    if y.size:
        from ..runtime import threads
        rows = y.size // o
        threads.numba_threads(1 if y.size < (1 << 16) else None)
        kernels.bias_relu_rows(y.reshape(rows, o), bias, _BIAS_RELU_ROWS)
    return y


def bias_relu_available(dtype):
    """Whether :func:`conv2d_bias_relu` can run for ``dtype`` here."""
    return np.dtype(dtype) in (np.float32, np.float64) and _patch_kernels(np, dtype) is not None


def _patch_filter_grad(kernels, x, w_shape, dy, s, d, geo):
    n, _, _, c = x.shape
    kh, kw, _, o = w_shape
    ho, wo, ph, pw = geo
    x = np.ascontiguousarray(x)
    dy = np.ascontiguousarray(dy, dtype=x.dtype)
    k = kh * kw * c
    bt = _patch_rows_per_block(k, x.itemsize)
    parts = max(1, min(winograd.fused_parts(), -(-n * ho * wo // bt)))
    acc = np.zeros((parts, k, o), np.float64)
    winograd.run_fused(
        kernels.filter_grad, x, dy, acc, kh, kw, s[0], s[1], d[0], d[1], ph[0], pw[0], bt,
        winograd.gemm_fn(x.dtype), x.dtype.type(1))
    return acc.sum(axis=0).astype(x.dtype).reshape(w_shape)


def _conv_forward(xp, x, w, s, d, padding, explicit):
    n, h, wd, c = x.shape
    kh, kw, cg, o = w.shape
    groups = _check_depths(c, w.shape)
    geo = _geometry(h, wd, (kh, kw), s, d, padding, explicit)
    ho, wo = geo[:2]
    if groups == 1 and winograd.usable(xp, x.dtype, w.shape, s, d):
        y = winograd.conv2d(x, w, (geo[2][0], geo[3][0]), ho, wo)
        if y is not None:  # None: a non-finite value, whose spread im2col keeps exact
            return y
    if groups > 1:
        cols = _grouped_patches(xp, x, (kh, kw), s, d, geo, groups)
        og = o // groups
        wg = w.reshape(kh, kw, cg, groups, og).transpose(3, 0, 1, 2, 4).reshape(groups, -1, og)
        return xp.matmul(cols, wg).transpose(1, 0, 2).reshape(n, ho, wo, o)
    kernels = _patch_kernels(xp, x.dtype)
    if kernels is not None and _patch_gemm_pays(x.shape, w.shape, s):
        return _patch_forward(kernels, x, w, s, d, geo)
    y = xp.empty((n, ho * wo, o), dtype=x.dtype)
    w2 = w.reshape(kh * kw * c, o)
    for a, b, cols, channel_major in _patch_blocks(xp, x, (kh, kw), s, d, geo):
        xp.matmul(cols.T if channel_major else cols, w2, out=y[a:b].reshape(-1, o))
    return y.reshape(n, ho, wo, o)


def _conv_backprop_filter(xp, x, w_shape, dy, s, d, padding, explicit):
    n, h, wd, c = x.shape
    kh, kw, cg, o = w_shape
    groups = _check_depths(c, w_shape)
    geo = _geometry(h, wd, (kh, kw), s, d, padding, explicit)
    ho, wo = geo[:2]
    _check_out_backprop("Conv2DBackpropFilter", dy.shape, (n, ho, wo, o))
    if groups == 1 and winograd.usable(xp, x.dtype, w_shape, s, d):
        dw = winograd.conv2d_backprop_filter(x, dy, kh, (geo[2][0], geo[3][0]))
        if dw is not None:
            return dw
    dy2 = dy.reshape(-1, o)
    if groups > 1:
        cols = _grouped_patches(xp, x, (kh, kw), s, d, geo, groups)
        dyg = dy2.reshape(-1, groups, o // groups).transpose(1, 0, 2)
        dw = xp.matmul(cols.transpose(0, 2, 1), dyg).reshape(groups, kh, kw, cg, o // groups)
        return xp.ascontiguousarray(dw.transpose(1, 2, 3, 0, 4)).reshape(w_shape)
    kernels = _patch_kernels(xp, x.dtype)
    if kernels is not None and _patch_gemm_pays(x.shape, w_shape, s):
        return _patch_filter_grad(kernels, x, w_shape, dy, s, d, geo)
    dw = xp.zeros((kh * kw * c, o), dtype=dy.dtype)
    for a, b, cols, channel_major in _patch_blocks(xp, x, (kh, kw), s, d, geo):
        dw += _matmul_long_inner(xp, cols if channel_major else cols.T,
                                 dy2[a * ho * wo:b * ho * wo])
    return dw.reshape(w_shape)


#: OpenBLAS runs a GEMM on the calling thread alone when m*n*k is at most this (its
#: SMP_THRESHOLD_MIN * GEMM_MULTITHREAD_THRESHOLD).
_ONE_THREAD_GEMM = 65536 * 4


def _matmul_long_inner(xp, a, b):
    """``a @ b`` for a small result and a long inner dimension (a first layer's filter gradient:
    [25, 39200] @ [39200, 32]). Multithreaded OpenBLAS splits such a product between threads
    that each stream the whole inner dimension, and on a busy machine a call now and then
    stalls for up to a second waiting for a descheduled thread. Stacked products over slices of
    the inner dimension, each below OpenBLAS's threading threshold, never wait for a thread."""
    m, k = a.shape
    n = b.shape[1]
    kc = _ONE_THREAD_GEMM // max(m * n, 1)
    if xp is not np or m * n * k <= _ONE_THREAD_GEMM or kc < 64:
        return xp.matmul(a, b)
    nk = k // kc
    split = nk * kc
    parts = xp.matmul(a[:, :split].reshape(m, nk, kc).transpose(1, 0, 2),
                      b[:split].reshape(nk, kc, n))
    res = parts.sum(axis=0)
    if split < k:
        res += xp.matmul(a[:, split:], b[split:])
    return res


def _as_forward_pads(size, n_out, k, d, before):
    """Padding of the output gradient for a stride-1 backprop-input computed as a forward
    correlation with the flipped filter: (before, after), or None when the forward padding
    exceeded the kernel (the gradient would need cropping)."""
    span = (k - 1) * d
    pads = (span - before, size + before - n_out)
    return pads if min(pads) >= 0 else None


def _conv_backprop_input(xp, x_shape, w, dy, s, d, padding, explicit):
    n, h, wd, c = x_shape
    kh, kw, cg, o = w.shape
    groups = _check_depths(c, w.shape)
    ho, wo, (pt, pb), (pl, pr) = _geometry(h, wd, (kh, kw), s, d, padding, explicit)
    _check_out_backprop("Conv2DBackpropInput", dy.shape, (n, ho, wo, o))
    og = o // groups
    if groups == 1 and (kh, kw) == (1, 1) and s == (1, 1) and not (pt or pb or pl or pr):
        return xp.matmul(dy.reshape(-1, o), w.reshape(c, o).T).reshape(x_shape)
    if groups == 1 and s == (1, 1) and (
            o <= 4 * c or winograd.usable(xp, dy.dtype, (kh, kw, o, c), s, d)):
        # A stride-1 input gradient is the forward correlation of the padded output gradient
        # with the flipped, transposed filter: one blocked im2col + GEMM, and no col2im. Its
        # patches hold kh*kw*O values per pixel against col2im's kh*kw*C strided adds, which
        # cost about 3-4 times as much per value: with many more output channels, col2im wins.
        ph, pw = _as_forward_pads(h, ho, kh, d[0], pt), _as_forward_pads(wd, wo, kw, d[1], pl)
        if ph is not None and pw is not None:
            flipped = xp.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2))
            return _conv_forward(xp, dy, flipped, (1, 1), d, "EXPLICIT", (ph, pw))
    if groups > 1:
        wg = w.reshape(kh, kw, cg, groups, og).transpose(3, 4, 0, 1, 2).reshape(groups, og, -1)
        dcols = xp.matmul(dy.reshape(-1, groups, og).transpose(1, 0, 2), wg)
        dcols = dcols.reshape(groups, n, ho, wo, kh, kw, cg).transpose(1, 2, 3, 4, 5, 0, 6)
        return _col2im(xp, dcols, x_shape, (kh, kw), s, d, (pt, pb), (pl, pr))
    # GEMM with the transposed filter gives the gradient of every patch entry, then col2im:
    # both a block of images at a time, so the patch gradients stay in cache.
    dxp = xp.zeros((n, h + pt + pb, wd + pl + pr, c), dtype=dy.dtype)
    per_image = ho * wo * kh * kw * c
    blocks, nb = _batch_blocks(n, per_image * dy.itemsize)
    buf = xp.empty(nb * per_image, dtype=dy.dtype)
    w2t = w.reshape(-1, o).T
    dy2 = dy.reshape(-1, o)
    for a, b in blocks:
        dcols = buf[:(b - a) * per_image].reshape((b - a) * ho * wo, -1)
        xp.matmul(dy2[a * ho * wo:b * ho * wo], w2t, out=dcols)
        _col2im_add(dxp[a:b], dcols.reshape(b - a, ho, wo, kh, kw, 1, c), (kh, kw), s, d)
    return _crop(xp, dxp, x_shape, pt, pl)


def _col2im_add(dxp, dcols, k, s, d):
    """Adds patch gradients ``dcols`` [N, Ho, Wo, kh, kw, G, Cg] onto the padded NHWC grid
    ``dxp``: one strided add per kernel position."""
    n, ho, wo = dcols.shape[:3]
    grid = dxp.reshape(dxp.shape[:3] + dcols.shape[5:])
    for i in range(k[0]):
        rows = slice(i * d[0], i * d[0] + (ho - 1) * s[0] + 1, s[0])
        for j in range(k[1]):
            cols = slice(j * d[1], j * d[1] + (wo - 1) * s[1] + 1, s[1])
            grid[:, rows, cols] += dcols[:, :, :, i, j]


def _col2im(xp, dcols, x_shape, k, s, d, ph, pw):
    n, h, w, c = x_shape
    dxp = xp.zeros((n, h + ph[0] + ph[1], w + pw[0] + pw[1], c), dtype=dcols.dtype)
    _col2im_add(dxp, dcols, k, s, d)
    return _crop(xp, dxp, x_shape, ph[0], pw[0])


def _crop(xp, dxp, x_shape, top, left):
    """The unpadded NHWC gradient inside the padded grid ``dxp``."""
    if dxp.shape[1:3] == tuple(x_shape[1:3]):
        return dxp
    return xp.ascontiguousarray(dxp[:, top:top + x_shape[1], left:left + x_shape[2]])


def _nhwc_kernel(xp, fmt, fn, nhwc_args):
    """Wraps an NHWC kernel ``fn`` for ``fmt``: the 4-D arguments at positions ``nhwc_args``
    are viewed as NHWC and the result is given back in ``fmt``.

    For NCHW the result is the NCHW-shaped *view* of the kernel's NHWC array (no copy): the
    next NCHW conv or pool views it as NHWC again, which is then C-contiguous, and NumPy's
    elementwise ops in between (bias add, ReLU and their gradients) keep its memory order. So
    a chain of NCHW ops runs in NHWC memory with no transposing copy between its ops; a copy
    is made only where a value must be C-contiguous (a fetch, a py_func argument, the wire).
    """
    if fmt == "NHWC":
        return fn

    def nchw(*args):
        args = [a.transpose(0, 2, 3, 1) if i in nhwc_args else a for i, a in enumerate(args)]
        return fn(*args).transpose(0, 3, 1, 2)
    return nchw


# ----------------------------------------------------------------------------------------------
# Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter
# ----------------------------------------------------------------------------------------------
def _window_attrs(op):
    """(strides, dilations, padding, explicit pads) of a conv node, spatial (h, w) order."""
    a = op._attrs
    fmt = a["data_format"]
    return (_hw(a["strides"], fmt), _hw(a["dilations"], fmt), a["padding"],
            _explicit_hw(a["explicit_paddings"], fmt))


def _check_conv_attrs(op):
    a = op._attrs
    fmt = a["data_format"]
    _check_format(fmt)
    _check_padding(a["padding"], a["explicit_paddings"])
    _check_window_vector(a["strides"], "strides", fmt)
    _check_window_vector(a["dilations"], "dilations", fmt)
    return fmt


def _conv_out_shape(op, x_nhwc, w_dims):
    """Static NHWC output shape of a conv node from its NHWC input dims and filter dims."""
    s, d, padding, explicit = _window_attrs(op)
    dims = []
    for axis in (0, 1):
        size, k = x_nhwc[1 + axis], w_dims[axis]
        if k is None:
            dims.append(None)
            continue
        n_out, _ = _out_and_pads(size, k, s[axis], d[axis], padding,
                                 explicit[axis] if explicit else None)
        dims.append(n_out)
    return x_nhwc[0], dims[0], dims[1]


def _same_dtypes(op, named):
    """TF's check that the (name, tensor) pairs ``named`` share one dtype."""
    name0, t0 = named[0]
    for name, t in named[1:]:
        if t.dtype is not t0.dtype:
            raise TypeError("Input '%s' of '%s' Op has type %s that does not match type %s of "
                            "argument '%s'." % (name, op.type, t.dtype.name, t0.dtype.name, name0))


def _check_filter_depth(op, c, cg, o, shapes):
    """Input depth must be a multiple of the filter's (groups); ``shapes`` names both for errors."""
    if c is not None and cg is not None and (cg == 0 or c % cg):
        raise ValueError("Depth of input (%s) is not a multiple of input depth of filter (%s) for "
                         "'%s' with input shapes: %s, %s." % ((c, cg, op.name) + shapes))
    if c is not None and cg and o is not None and o % (c // cg):
        raise ValueError("Depth of output (%d) is not a multiple of the number of groups (%d) for "
                         "'%s' with input shapes: %s, %s." % ((o, c // cg, op.name) + shapes))


def _conv2d_infer(op):
    x, w = op._inputs
    _same_dtypes(op, (("input", x), ("filter", w)))
    check_dtype(op, x, _CONV_TYPES, "input")
    fmt = _check_conv_attrs(op)
    xs = _to_nhwc(_rank4(x), fmt)
    ws = _rank4(w)
    _check_filter_depth(op, xs[3], ws[2], ws[3], (_fmt_shape(x._shape), _fmt_shape(w._shape)))
    n, ho, wo = _conv_out_shape(op, xs, ws)
    return [(x.dtype, TensorShape(_from_nhwc((n, ho, wo, ws[3]), fmt)))]


def _conv2d_kernel(op, ctx):
    xp = ctx.xp
    s, d, padding, explicit = _window_attrs(op)
    return _nhwc_kernel(xp, op._attrs["data_format"],
                        lambda x, w: _conv_forward(xp, x, w, s, d, padding, explicit), (0,))


def _shape_tensor(t):
    """``t``'s shape as an int32 tensor: a constant when fully known while the graph is built."""
    if t._shape.is_fully_defined():
        return core.constant(np.array(t._shape.as_list(), np.int32))
    from .array_ops import shape
    return shape(t)


def _conv2d_grad(op, g):
    x, w = op._inputs
    return [out("Conv2DBackpropInput", [_shape_tensor(x), w, g], dict(op._attrs)),
            out("Conv2DBackpropFilter", [x, _shape_tensor(w), g], dict(op._attrs))]


def _sizes_input(op, t, what):
    """The static shape named by a 1-D int32 ``*_sizes`` input (dims unknown where not static)."""
    check_dtype(op, t, frozenset([dtypes.int32, dtypes.int64]), what)
    if t._shape.ndims is not None and t._shape.ndims != 1:
        raise ValueError("%s must be 1-D, got shape %s" % (what, t._shape))
    if t._shape.as_tuple() not in (None, (None,), (4,)):
        raise ValueError("%s must have 4 elements, got shape %s" % (what, t._shape))
    shape = core.constant_value_as_shape(t)
    return shape.as_tuple() if shape.ndims == 4 else (None,) * 4


def _check_backprop_shapes(op, x_nhwc, w_dims, dy, fmt):
    """Checks that out_backprop has the shape a forward conv of x_nhwc by w_dims would have."""
    dys = _to_nhwc(_rank4(dy), fmt)
    if w_dims[3] is not None and dys[3] is not None and w_dims[3] != dys[3]:
        raise ValueError("Dimensions must be equal, but are %d and %d (filter output depth and "
                         "out_backprop depth)" % (w_dims[3], dys[3]))
    n, ho, wo = _conv_out_shape(op, x_nhwc, w_dims)
    for name, want, got in (("batch", n, dys[0]), ("height", ho, dys[1]), ("width", wo, dys[2])):
        if want is not None and got is not None and want != got:
            raise ValueError("%s: Size of out_backprop doesn't match computed: actual = %d, "
                             "computed = %d (%s)" % (op.type, got, want, name))


def _backprop_input_infer(op):
    sizes, w, dy = op._inputs
    _same_dtypes(op, (("filter", w), ("out_backprop", dy)))
    check_dtype(op, w, _CONV_TYPES, "filter")
    fmt = _check_conv_attrs(op)
    x_dims = _sizes_input(op, sizes, "input_sizes")
    x_nhwc = _to_nhwc(x_dims, fmt)
    ws = _rank4(w)
    _check_filter_depth(op, x_nhwc[3], ws[2], ws[3],
                        (_fmt_shape(TensorShape(x_dims)), _fmt_shape(w._shape)))
    _check_backprop_shapes(op, x_nhwc, ws, dy, fmt)
    return [(w.dtype, TensorShape(x_dims))]


def _backprop_input_kernel(op, ctx):
    xp = ctx.xp
    s, d, padding, explicit = _window_attrs(op)
    fmt = op._attrs["data_format"]

    def backprop_input(sizes, w, dy):
        x_shape = _to_nhwc(tuple(int(v) for v in sizes), fmt)
        return _conv_backprop_input(xp, x_shape, w, dy, s, d, padding, explicit)
    return _nhwc_kernel(xp, fmt, backprop_input, (2,))


def _backprop_input_grad(op, g):
    _, w, dy = op._inputs
    return [None, out("Conv2DBackpropFilter", [g, _shape_tensor(w), dy], dict(op._attrs)),
            out("Conv2D", [g, w], dict(op._attrs))]


def _backprop_filter_infer(op):
    x, sizes, dy = op._inputs
    _same_dtypes(op, (("input", x), ("out_backprop", dy)))
    check_dtype(op, x, _CONV_TYPES, "input")
    fmt = _check_conv_attrs(op)
    w_dims = _sizes_input(op, sizes, "filter_sizes")
    x_nhwc = _to_nhwc(_rank4(x), fmt)
    _check_filter_depth(op, x_nhwc[3], w_dims[2], w_dims[3],
                        (_fmt_shape(x._shape), _fmt_shape(TensorShape(w_dims))))
    _check_backprop_shapes(op, x_nhwc, w_dims, dy, fmt)
    return [(x.dtype, TensorShape(w_dims))]


def _backprop_filter_kernel(op, ctx):
    xp = ctx.xp
    s, d, padding, explicit = _window_attrs(op)
    fmt = op._attrs["data_format"]

    def backprop_filter(x, sizes, dy):
        return _conv_backprop_filter(xp, x, tuple(int(v) for v in sizes), dy, s, d, padding,
                                     explicit)
    if fmt == "NHWC":
        return backprop_filter
    return lambda x, sizes, dy: backprop_filter(x.transpose(0, 2, 3, 1), sizes,
                                                dy.transpose(0, 2, 3, 1))


def _backprop_filter_grad(op, g):
    x, _, dy = op._inputs
    return [out("Conv2DBackpropInput", [_shape_tensor(x), g, dy], dict(op._attrs)), None,
            out("Conv2D", [x, g], dict(op._attrs))]


register_op("Conv2D", infer=_conv2d_infer, kernel=_conv2d_kernel, grad=_conv2d_grad,
            doc="2-D convolution (cross-correlation) of an image batch with a filter bank.")
register_op("Conv2DBackpropInput", infer=_backprop_input_infer, kernel=_backprop_input_kernel,
            grad=_backprop_input_grad, doc="Gradient of Conv2D w.r.t. its input; conv2d_transpose.")
register_op("Conv2DBackpropFilter", infer=_backprop_filter_infer, kernel=_backprop_filter_kernel,
            grad=_backprop_filter_grad, doc="Gradient of Conv2D w.r.t. its filter.")


def _conv_attrs(strides, padding, data_format, dilations, use_cudnn_on_gpu=True):
    data_format = data_format or "NHWC"
    _check_format(data_format)
    padding, explicit = _padding_attrs(padding, data_format)
    return {"strides": _get_sequence(strides, "strides", data_format), "padding": padding,
            "explicit_paddings": explicit, "data_format": data_format,
            "dilations": _get_sequence(dilations, "dilations", data_format),
            "use_cudnn_on_gpu": bool(use_cudnn_on_gpu)}


def _pick(new, old, new_name, old_name):
    """TF's deprecated-argument lookup: one of two spellings of an argument."""
    if new is not None and old is not None:
        raise ValueError("Cannot specify both '%s' and '%s'" % (new_name, old_name))
    return new if new is not None else old


def conv2d(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True,  # noqa: A002
           data_format="NHWC", dilations=(1, 1, 1, 1), name=None, filters=None):
    """2-D convolution (cross-correlation, as in TF) of a batch of images with a filter bank.

    Args:
        input: [batch, height, width, in_channels] tensor (NHWC; [batch, in_channels, height,
            width] with ``data_format="NCHW"``); float16/32/64 or int32.
        filter: [filter_height, filter_width, in_channels, out_channels] tensor of the same dtype.
            An input depth that is a multiple of in_channels makes a grouped convolution.
        strides: int or list of 1, 2 or 4 ints (4: in ``data_format`` order, batch and depth 1).
        padding: "SAME" (output size ceil(in / stride)), "VALID" (no padding), or a list of 4
            [before, after] pairs (explicit padding, zeros for batch and depth).
        data_format: "NHWC" (default) or "NCHW".
        dilations: int or list of 1, 2 or 4 ints: the spacing of the kernel's taps.
        filters: another spelling of ``filter``.

    Returns:
        The [batch, out_height, out_width, out_channels] result (NCHW order for "NCHW").

    Raises:
        ValueError: at construction, for non-rank-4 arguments, depths that do not divide, bad
            strides/dilations/padding/data_format, or an input smaller than the filter (VALID).

    Example:
        >>> x = tf.placeholder(tf.float32, [None, 28, 28, 1])
        >>> tf.nn.conv2d(x, tf.zeros([5, 5, 1, 32]), strides=[1, 1, 1, 1], padding="SAME").shape
        TensorShape([None, 28, 28, 32])
    """
    filter = _pick(filters, filter, "filters", "filter")  # noqa: A001
    if filter is None:
        raise ValueError("conv2d needs a filter")
    x, w = core.convert_binary(input, filter)
    return out("Conv2D", [x, w], _conv_attrs(strides, padding, data_format, dilations,
                                             use_cudnn_on_gpu), name=name)


def conv2d_backprop_input(input_sizes, filter=None, out_backprop=None, strides=None,  # noqa: A002
                          padding=None, use_cudnn_on_gpu=True, data_format="NHWC",
                          dilations=(1, 1, 1, 1), name=None, filters=None):
    """The gradient of ``conv2d`` with respect to its input, of shape ``input_sizes``."""
    filter = _pick(filters, filter, "filters", "filter")  # noqa: A001
    w, dy = core.convert_binary(filter, out_backprop)
    sizes = convert_to_tensor(input_sizes, dtype=dtypes.int32)
    return out("Conv2DBackpropInput", [sizes, w, dy],
               _conv_attrs(strides, padding, data_format, dilations, use_cudnn_on_gpu), name=name)


def conv2d_backprop_filter(input, filter_sizes, out_backprop, strides, padding,  # noqa: A002
                           use_cudnn_on_gpu=True, data_format="NHWC", dilations=(1, 1, 1, 1),
                           name=None):
    """The gradient of ``conv2d`` with respect to its filter, of shape ``filter_sizes``."""
    x, dy = core.convert_binary(input, out_backprop)
    sizes = convert_to_tensor(filter_sizes, dtype=dtypes.int32)
    return out("Conv2DBackpropFilter", [x, sizes, dy],
               _conv_attrs(strides, padding, data_format, dilations, use_cudnn_on_gpu), name=name)


def conv2d_transpose(value=None, filter=None, output_shape=None, strides=None,  # noqa: A002
                     padding="SAME", data_format="NHWC", name=None, input=None, filters=None,
                     dilations=None):
    """The transpose of ``conv2d`` (sometimes called deconvolution): ``Conv2DBackpropInput``.

    Args:
        value: [batch, height, width, in_channels] tensor (``input`` is another spelling).
        filter: [height, width, output_channels, in_channels] tensor (``filters`` too).
        output_shape: 1-D tensor or list of 4 ints, the shape of the result.
        strides, padding, data_format, dilations: as for the ``conv2d`` this transposes.

    Returns:
        A tensor of shape ``output_shape``.
    """
    value = _pick(input, value, "input", "value")
    filter = _pick(filters, filter, "filters", "filter")  # noqa: A001
    w, x = core.convert_binary(filter, value)
    fmt = data_format or "NHWC"
    c_axis = 1 if fmt == "NCHW" else 3
    xs, ws = x._shape.as_tuple(), w._shape.as_tuple()
    if xs is not None and ws is not None and len(xs) == 4 and len(ws) == 4 \
            and None not in (xs[c_axis], ws[3]) and xs[c_axis] != ws[3]:
        raise ValueError("input channels does not match filter's input channels, %d != %d"
                         % (xs[c_axis], ws[3]))
    sizes = convert_to_tensor(output_shape, dtype=dtypes.int32)
    if sizes._shape.as_tuple() not in (None, (None,), (4,)):
        raise ValueError("output_shape must have shape (4,), got %s" % sizes._shape)
    static = constant_value(sizes)
    if static is not None and ws is not None and len(ws) == 4 and ws[2] is not None \
            and int(static[c_axis]) != ws[2]:
        raise ValueError("output_shape does not match filter's output channels, %d != %d"
                         % (int(static[c_axis]), ws[2]))
    return out("Conv2DBackpropInput", [sizes, w, x],
               _conv_attrs(strides, padding, fmt, dilations), name=name or "conv2d_transpose")


# ----------------------------------------------------------------------------------------------
# Depthwise convolution: each input channel convolved with its own `channel_multiplier` filters
# ----------------------------------------------------------------------------------------------
def _depthwise_forward(xp, x, w, s, d, padding, explicit):
    n, h, wd, c = x.shape
    kh, kw, cw, m = w.shape
    if cw != c:
        raise ValueError("input depth %d does not match the filter's input depth %d" % (c, cw))
    ho, wo, ph, pw = _geometry(h, wd, (kh, kw), s, d, padding, explicit)
    win = _windows(xp, _pad_hw(xp, x, ph, pw), ho, wo, (kh, kw), s, d)
    y = xp.zeros((n, ho, wo, c, m), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            y += win[:, :, :, i, j, :, None] * w[i, j]
    return y.reshape(n, ho, wo, c * m)


def _depthwise_backprop_input(xp, x_shape, w, dy, s, d, padding, explicit):
    n, h, wd, c = x_shape
    kh, kw, _, m = w.shape
    ho, wo, (pt, pb), (pl, pr) = _geometry(h, wd, (kh, kw), s, d, padding, explicit)
    _check_out_backprop("DepthwiseConv2dNativeBackpropInput", dy.shape, (n, ho, wo, c * m))
    dy5 = dy.reshape(n, ho, wo, c, m)
    dxp = xp.zeros((n, h + pt + pb, wd + pl + pr, c), dtype=dy.dtype)
    for i in range(kh):
        rows = slice(i * d[0], i * d[0] + (ho - 1) * s[0] + 1, s[0])
        for j in range(kw):
            cols = slice(j * d[1], j * d[1] + (wo - 1) * s[1] + 1, s[1])
            dxp[:, rows, cols] += (dy5 * w[i, j]).sum(axis=-1)
    if pt or pb or pl or pr:
        dxp = xp.ascontiguousarray(dxp[:, pt:pt + h, pl:pl + wd])
    return dxp


def _depthwise_backprop_filter(xp, x, w_shape, dy, s, d, padding, explicit):
    n, h, wd, c = x.shape
    kh, kw, _, m = w_shape
    ho, wo, ph, pw = _geometry(h, wd, (kh, kw), s, d, padding, explicit)
    _check_out_backprop("DepthwiseConv2dNativeBackpropFilter", dy.shape, (n, ho, wo, c * m))
    win = _windows(xp, _pad_hw(xp, x, ph, pw), ho, wo, (kh, kw), s, d)
    dy5 = dy.reshape(n, ho, wo, c, m)
    dw = xp.empty(w_shape, dtype=dy.dtype)
    for i in range(kh):
        for j in range(kw):
            dw[i, j] = xp.einsum("nhwc,nhwcm->cm", win[:, :, :, i, j], dy5)
    return dw


def _depthwise_infer(op):
    x, w = op._inputs
    _same_dtypes(op, (("input", x), ("filter", w)))
    check_dtype(op, x, FLOATS, "input")
    fmt = _check_conv_attrs(op)
    xs = _to_nhwc(_rank4(x), fmt)
    ws = _rank4(w)
    _check_depthwise_depth(xs[3], ws[2], (x._shape, w._shape))
    n, ho, wo = _conv_out_shape(op, xs, ws)
    c = xs[3] if xs[3] is not None else ws[2]
    c_out = c * ws[3] if c is not None and ws[3] is not None else None
    return [(x.dtype, TensorShape(_from_nhwc((n, ho, wo, c_out), fmt)))]


def _check_depthwise_depth(c, cw, shapes):
    if c is not None and cw is not None and c != cw:
        raise ValueError("Dimensions must be equal, but are %d and %d (input depth and the "
                         "filter's input depth) with input shapes: %s, %s."
                         % ((c, cw) + tuple(_fmt_shape(s) for s in shapes)))


def _depthwise_kernel(fn, nhwc_args, shape_arg):
    """Kernel factory: ``fn(xp, a, b, c?, s, d, padding, explicit)``; the input at ``shape_arg``
    (if any) is a shape that is converted to NHWC order."""
    def make(op, ctx):
        xp = ctx.xp
        s, d, padding, explicit = _window_attrs(op)
        fmt = op._attrs["data_format"]

        def kernel(*args):
            if shape_arg is not None:
                sizes = tuple(int(v) for v in args[shape_arg])
                args = list(args)
                args[shape_arg] = _to_nhwc(sizes, fmt) if shape_arg == 0 else sizes
            return fn(xp, *args, s, d, padding, explicit)
        if fmt == "NHWC":
            return kernel
        if shape_arg == 1:     # the filter gradient is not an image: transpose its inputs only
            return lambda x, sizes, dy: kernel(x.transpose(0, 2, 3, 1), sizes,
                                               dy.transpose(0, 2, 3, 1))
        return _nhwc_kernel(xp, fmt, kernel, nhwc_args)
    return make


def _depthwise_backprop_input_infer(op):
    sizes, w, dy = op._inputs
    _same_dtypes(op, (("filter", w), ("out_backprop", dy)))
    check_dtype(op, w, FLOATS, "filter")
    fmt = _check_conv_attrs(op)
    x_dims = _sizes_input(op, sizes, "input_sizes")
    x_nhwc = _to_nhwc(x_dims, fmt)
    ws = _rank4(w)
    _check_depthwise_depth(x_nhwc[3], ws[2], (TensorShape(x_dims), w._shape))
    return [(w.dtype, TensorShape(x_dims))]


def _depthwise_backprop_filter_infer(op):
    x, sizes, dy = op._inputs
    _same_dtypes(op, (("input", x), ("out_backprop", dy)))
    check_dtype(op, x, FLOATS, "input")
    fmt = _check_conv_attrs(op)
    w_dims = _sizes_input(op, sizes, "filter_sizes")
    _check_depthwise_depth(_to_nhwc(_rank4(x), fmt)[3], w_dims[2], (x._shape, TensorShape(w_dims)))
    return [(x.dtype, TensorShape(w_dims))]


register_op("DepthwiseConv2dNative", infer=_depthwise_infer,
            kernel=_depthwise_kernel(_depthwise_forward, (0,), None),
            grad=lambda op, g: [
                out("DepthwiseConv2dNativeBackpropInput",
                    [_shape_tensor(op._inputs[0]), op._inputs[1], g], dict(op._attrs)),
                out("DepthwiseConv2dNativeBackpropFilter",
                    [op._inputs[0], _shape_tensor(op._inputs[1]), g], dict(op._attrs))],
            doc="Depthwise 2-D convolution: channel c of the input makes output channels "
                "c*multiplier ... c*multiplier + multiplier - 1.")
register_op("DepthwiseConv2dNativeBackpropInput", infer=_depthwise_backprop_input_infer,
            kernel=_depthwise_kernel(_depthwise_backprop_input, (2,), 0),
            grad=lambda op, g: [
                None,
                out("DepthwiseConv2dNativeBackpropFilter",
                    [g, _shape_tensor(op._inputs[1]), op._inputs[2]], dict(op._attrs)),
                out("DepthwiseConv2dNative", [g, op._inputs[1]], dict(op._attrs))],
            doc="Gradient of DepthwiseConv2dNative w.r.t. its input.")
register_op("DepthwiseConv2dNativeBackpropFilter", infer=_depthwise_backprop_filter_infer,
            kernel=_depthwise_kernel(_depthwise_backprop_filter, (0, 2), 1),
            grad=lambda op, g: [
                out("DepthwiseConv2dNativeBackpropInput",
                    [_shape_tensor(op._inputs[0]), g, op._inputs[2]], dict(op._attrs)),
                None,
                out("DepthwiseConv2dNative", [op._inputs[0], g], dict(op._attrs))],
            doc="Gradient of DepthwiseConv2dNative w.r.t. its filter.")


def depthwise_conv2d_native(input, filter, strides, padding, data_format="NHWC",  # noqa: A002
                            dilations=(1, 1, 1, 1), name=None):
    """Depthwise convolution with a [kh, kw, in_channels, channel_multiplier] filter."""
    x, w = core.convert_binary(input, filter)
    return out("DepthwiseConv2dNative", [x, w],
               _depthwise_attrs(strides, padding, data_format, dilations), name=name)


def _depthwise_attrs(strides, padding, data_format, dilations):
    attrs = _conv_attrs(strides, padding, data_format, dilations)
    del attrs["use_cudnn_on_gpu"]
    return attrs


def depthwise_conv2d_native_backprop_input(input_sizes, filter, out_backprop, strides,  # noqa: A002
                                           padding, data_format="NHWC", dilations=(1, 1, 1, 1),
                                           name=None):
    """The gradient of ``depthwise_conv2d_native`` with respect to its input."""
    w, dy = core.convert_binary(filter, out_backprop)
    return out("DepthwiseConv2dNativeBackpropInput",
               [convert_to_tensor(input_sizes, dtype=dtypes.int32), w, dy],
               _depthwise_attrs(strides, padding, data_format, dilations), name=name)


def depthwise_conv2d_native_backprop_filter(input, filter_sizes, out_backprop, strides,  # noqa: A002
                                            padding, data_format="NHWC", dilations=(1, 1, 1, 1),
                                            name=None):
    """The gradient of ``depthwise_conv2d_native`` with respect to its filter."""
    x, dy = core.convert_binary(input, out_backprop)
    return out("DepthwiseConv2dNativeBackpropFilter",
               [x, convert_to_tensor(filter_sizes, dtype=dtypes.int32), dy],
               _depthwise_attrs(strides, padding, data_format, dilations), name=name)


def _rate_as_dilations(rate, dilations, strides, data_format):
    rate = _pick(dilations, rate, "dilations", "rate")
    if rate is None:
        return None
    rate = [int(r) for r in (rate if isinstance(rate, (list, tuple)) else [rate, rate])]
    if len(rate) == 4:
        rate = list(_hw(rate, data_format or "NHWC"))
    if any(r > 1 for r in rate) and any(v > 1 for v in _hw(
            _get_sequence(strides, "strides", data_format or "NHWC"), data_format or "NHWC")):
        raise ValueError("strides > window_strides not supported: strides > 1 not supported in "
                         "conjunction with dilation_rate > 1")
    return rate


def depthwise_conv2d(input, filter, strides, padding, rate=None, name=None,  # noqa: A002
                     data_format=None, dilations=None):
    """Depthwise 2-D convolution: each input channel is convolved with its own filters.

    Args:
        input: 4-D tensor, NHWC (or NCHW).
        filter: [filter_height, filter_width, in_channels, channel_multiplier].
        strides: list of 4 ints (batch and depth 1).
        padding: "SAME" or "VALID".
        rate: dilation rate [rate_height, rate_width] (strides must then be 1).

    Returns:
        [batch, out_height, out_width, in_channels * channel_multiplier]; output channel
        ``c * channel_multiplier + m`` is input channel c convolved with ``filter[:, :, c, m]``.
    """
    dil = _rate_as_dilations(rate, dilations, strides, data_format)
    return depthwise_conv2d_native(input, filter, strides, padding, data_format or "NHWC",
                                   dilations=dil, name=name or "depthwise")


def separable_conv2d(input, depthwise_filter, pointwise_filter, strides, padding,  # noqa: A002
                     rate=None, name=None, data_format=None, dilations=None):
    """A depthwise convolution followed by a 1x1 convolution that mixes channels.

    Args:
        depthwise_filter: [kh, kw, in_channels, channel_multiplier].
        pointwise_filter: [1, 1, in_channels * channel_multiplier, out_channels].
    """
    fmt = data_format or "NHWC"
    pw = convert_to_tensor(pointwise_filter)
    ps = pw._shape.as_tuple()
    if ps is not None and len(ps) == 4 and (ps[0] not in (1, None) or ps[1] not in (1, None)):
        raise ValueError("Pointwise filter must be 1x1, got shape %s" % _fmt_shape(pw._shape))
    depthwise = depthwise_conv2d(input, depthwise_filter, strides, padding, rate=rate,
                                 data_format=fmt, dilations=dilations, name="depthwise")
    return conv2d(depthwise, pw, [1, 1, 1, 1], "VALID", data_format=fmt,
                  name=name or "separable_conv2d")


# ----------------------------------------------------------------------------------------------
# Pooling and LRN (built on the machinery above), re-exported under their TF1 module
# ----------------------------------------------------------------------------------------------
from . import pool_ops  # noqa: E402
from .pool_ops import *  # noqa: E402,F401,F403

__all__ += pool_ops.__all__
