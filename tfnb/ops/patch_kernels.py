"""Numba kernels for convolutions as patch-matrix GEMMs without the patch matrix in memory
(``conv_ops`` loads them through ``fusion_codegen.kernel_module``; needs numba and SciPy).

im2col builds the whole [N*Ho*Wo, kh*kw*C] patch matrix before one big GEMM: for an input
layer (W5's conv1: [128, 24, 24, 3] with 5x5 filters) that is 22 MB written and read back
from memory around a GEMM of inner dimension 75. Here each thread builds the patch rows of a
block of ``bt`` output pixels in a small buffer that stays in its core's cache and multiplies
it at once with one single-threaded GEMM (SciPy's, called through
:mod:`tfnb.ops.numba_blas`, whose address ``gemm_fn`` comes as an argument so numba caches
the machine code):

``one`` is 1 in the arrays' dtype (the GEMM's alpha).

* ``forward``: ``y[block] = patches[block] @ w2`` ([bt, K] @ [K, O], written straight into y:
  a block of output pixels is a block of rows of NHWC y);
* ``filter_grad``: ``acc[p] += patches[block]^T @ dy[block]`` per thread ``p``, in float64
  (the caller sums the threads' parts).

K is ordered (i, j, c), as an HWIO filter's first three axes, so ``w2 = w.reshape(K, O)``.
Positions outside the input read as zeros (the padding). Strides and dilations are general.
Not imported as ``tfnb.ops.patch_kernels``: loaded from a copy in the kernel cache directory.
"""
import numpy as np
from numba import njit, prange

from tfnb.ops.numba_blas import claim, gemm

_JIT = dict(parallel=True, fastmath=False, error_model="numpy", cache=True, nogil=True)


@njit(inline="always")
def _patch_rows(x, a, t0, bn, ho, wo, kh, kw, sh, sw, dh, dw, pt, pl):
    """a[b, (i*kw + j)*C + c] <- x[img, oy*sh - pt + i*dh, ox*sw - pl + j*dw, c] (0 outside)
    for the output pixels t0 .. t0+bn-1 (row-major over image, oy, ox). Without dilation
    along the width, the kw*C values of one filter row are one contiguous run of x: one
    copy loop (an input layer's C = 3 makes the per-position loops too short to be fast)."""
    n, h, w, c = x.shape
    xf = x.reshape(-1)
    af = a.reshape(-1)
    kk = a.shape[1]
    per = ho * wo
    run = kw * c
    # Unsigned offsets in the copy loops: numba then skips its negative-index wraparound,
    # and LLVM vectorizes them (2.4x faster for W5's conv1).
    zero = np.uint64(0)
    urun = np.uint64(run)
    uc = np.uint64(c)
    for b in range(bn):
        t = t0 + b
        img = t // per
        r = t - img * per
        oy = r // wo
        ox = r - oy * wo
        ix0 = ox * sw - pl
        inside = dw == 1 and ix0 >= 0 and ix0 + kw <= w
        for i in range(kh):
            iy = oy * sh - pt + i * dh
            dst = np.uint64(b * kk + i * run)
            if iy < 0 or iy >= h:
                for q in range(zero, urun):
                    af[dst + q] = 0
            elif inside:
                off = np.uint64(((img * h + iy) * w + ix0) * c)
                for q in range(zero, urun):
                    af[dst + q] = xf[off + q]
            else:
                for j in range(kw):
                    ix = ix0 + j * dw
                    col = dst + np.uint64(j * c)
                    if 0 <= ix < w:
                        off = np.uint64(((img * h + iy) * w + ix) * c)
                        for cc in range(zero, uc):
                            af[col + cc] = xf[off + cc]
                    else:
                        for cc in range(zero, uc):
                            af[col + cc] = 0


@njit(**_JIT)
def forward(x, w2, y, kh, kw, sh, sw, dh, dw, pt, pl, bt, gemm_fn, threads, one, counter,
            bias, relu):
    """``relu``: each block of outputs, still in the core's cache, becomes ``relu(y + bias)``
    (``bias`` [O]; ``bias_relu_rows``' arithmetic) -- a convolution, bias add and ReLU in one
    pass over the output."""
    n = x.shape[0]
    ho, wo, o = y.shape[1], y.shape[2], y.shape[3]
    k = w2.shape[0]
    total = n * ho * wo
    nblk = (total + bt - 1) // bt
    parts = max(1, min(threads, nblk))
    zero = one - one
    item = y.itemsize
    for p in prange(parts):
        a = np.empty((bt, k), x.dtype)
        while True:   # blocks claimed one at a time: a slower thread takes fewer
            blk = claim(counter)
            if blk >= nblk:
                break
            t0 = blk * bt
            bn = min(bt, total - t0)
            _patch_rows(x, a, t0, bn, ho, wo, kh, kw, sh, sw, dh, dw, pt, pl)
            # column-major: y[t0:t0+bn]^T (o x bn) = w2^T (o x k) @ a^T (k x bn)
            gemm(gemm_fn, 78, 78, o, bn, k, one, w2.ctypes.data, o, a.ctypes.data, k, zero,
                 y.ctypes.data + np.uint64(t0 * o * item), o)
            if relu:
                _bias_relu(y.reshape(-1), bias, t0, bn, o)
    return 0


@njit(inline="always")
def _bias_relu(yf, bias, r0, rows, o):
    """yf[(r0 + r) * o + j] = relu(yf[...] + bias[j]) for rows r0 .. r0+rows-1: the fused
    elementwise kernel's arithmetic (``v if v >= 0 or v != v else 0``: NaN stays NaN, -0.0
    stays -0.0)."""
    zero = bias.dtype.type(0)
    uo = np.uint64(o)
    u0 = np.uint64(0)
    for r in range(rows):
        base = np.uint64((r0 + r) * o)
        for j in range(u0, uo):
            v = yf[base + j] + bias[j]
            yf[base + j] = v if (v >= zero or v != v) else zero


@njit(**_JIT)
def bias_relu_rows(y2, bias, rows_per_task):
    """In place: every row of ``y2`` [M, O] becomes ``relu(row + bias)`` (as ``_bias_relu``)."""
    m, o = y2.shape
    yf = y2.reshape(-1)
    tasks = (m + rows_per_task - 1) // rows_per_task
    for t in prange(tasks):
        r0 = t * rows_per_task
        _bias_relu(yf, bias, r0, min(rows_per_task, m - r0), o)
    return 0


@njit(**_JIT)
def filter_grad(x, dy, acc, kh, kw, sh, sw, dh, dw, pt, pl, bt, gemm_fn, one):
    n = x.shape[0]
    ho, wo, o = dy.shape[1], dy.shape[2], dy.shape[3]
    k = acc.shape[1]
    total = n * ho * wo
    nblk = (total + bt - 1) // bt
    parts = acc.shape[0]
    zero = one - one
    item = dy.itemsize
    for p in prange(parts):
        a = np.empty((bt, k), x.dtype)
        part = np.empty((k, o), x.dtype)
        for blk in range(p, nblk, parts):
            t0 = blk * bt
            bn = min(bt, total - t0)
            _patch_rows(x, a, t0, bn, ho, wo, kh, kw, sh, sw, dh, dw, pt, pl)
            # column-major: part^T (o x k) = dy[t0:t0+bn]^T (o x bn) @ a (bn x k)
            gemm(gemm_fn, 78, 84, o, k, bn, one, dy.ctypes.data + np.uint64(t0 * o * item), o,
                 a.ctypes.data, k, zero, part.ctypes.data, o)
            for i in range(k):
                for j in range(o):
                    acc[p, i, j] += part[i, j]
    return 0
