"""Numba kernels for pooling on NHWC float arrays (``pool_ops`` loads them; needs numba).

Not imported as ``tfnb.ops.pool_kernels``: ``pool_ops._pool_kernels()`` copies this file into
the kernel cache directory (``fusion_codegen.cache_dir()``, never the repository) and imports
the copy from there, so numba's ``cache=True`` keeps the machine code beside it and a later
process loads it instead of compiling again.

Every kernel repeats the NumPy kernel's arithmetic in the same order, so results are
identical bit for bit (NaN, infinities and signed zeros included; one exception: the maximum
of a window holding both 0.0 and -0.0 may have the other sign than NumPy's SIMD ``maximum``
gives, which does not follow its scalar rule):

* ``max_pool``/``avg_pool`` start each window at the position valid for every output
  (``fi``, ``fj``) and then visit the others in row-major order; the maximum is NumPy's
  ``maximum`` (keeps the accumulated value unless the new one is larger or it is NaN).
* ``max_pool_grad`` visits the window positions in row-major order, each over all outputs:
  ``part = rest * hit`` goes to the input pixel and is taken off ``rest``, so the gradient
  goes to the first maximum and a non-finite gradient spreads exactly as NumPy's
  multiplication by ``False`` spreads it. Input pixels receive their contributions in window
  position order, as in NumPy. ``max_pool_grad_grad`` and ``avg_pool_grad`` likewise.

Parallel loops: the forward kernels over (image, output row); the scattering gradients over
images, and channel chunks of them when images are fewer than twice the threads (``nchunk``),
so overlapping windows of one image are scattered by one thread: no races. Inner loops run
over channels (contiguous in NHWC). Compiled without fastmath.

Measured (2 cores, loaded): for a 3x3/2 pool of [128, 24, 24, 64] float32 the kernels take
about 2x the time of reading their operands once from memory; copying each image into column
phases first (so inner loops span a whole output row) was not faster (the copy cost what the
longer loops saved).
"""
import numpy as np
from numba import njit, prange

_JIT = dict(parallel=True, fastmath=False, error_model="numpy", cache=True, nogil=True)


@njit(**_JIT)
def max_pool(x, y, kh, kw, sh, sw, pt, pl, fi, fj):
    n, h, w, c = x.shape
    ho, wo = y.shape[1], y.shape[2]
    for task in prange(n * ho):
        b = task // ho
        oh = task - b * ho
        r0 = oh * sh - pt
        for ow in range(wo):
            c0 = ow * sw - pl
            yr = y[b, oh, ow]
            xr = x[b, r0 + fi, c0 + fj]
            for ch in range(c):
                yr[ch] = xr[ch]
            for i in range(kh):
                ih = r0 + i
                if ih < 0 or ih >= h:
                    continue
                for j in range(kw):
                    iw = c0 + j
                    if iw < 0 or iw >= w or (i == fi and j == fj):
                        continue
                    xr = x[b, ih, iw]
                    for ch in range(c):
                        a = yr[ch]
                        v = xr[ch]
                        yr[ch] = a if (a >= v or a != a) else v


@njit(**_JIT)
def avg_pool(x, y, counts, kh, kw, sh, sw, pt, pl, fi, fj):
    """``counts``: [Ho, Wo] in-bounds pixels per window, in the dtype of ``x``."""
    n, h, w, c = x.shape
    ho, wo = y.shape[1], y.shape[2]
    for task in prange(n * ho):
        b = task // ho
        oh = task - b * ho
        r0 = oh * sh - pt
        for ow in range(wo):
            c0 = ow * sw - pl
            yr = y[b, oh, ow]
            xr = x[b, r0 + fi, c0 + fj]
            for ch in range(c):
                yr[ch] = xr[ch]
            for i in range(kh):
                ih = r0 + i
                if ih < 0 or ih >= h:
                    continue
                for j in range(kw):
                    iw = c0 + j
                    if iw < 0 or iw >= w or (i == fi and j == fj):
                        continue
                    xr = x[b, ih, iw]
                    for ch in range(c):
                        yr[ch] += xr[ch]
            cnt = counts[oh, ow]
            for ch in range(c):
                yr[ch] = yr[ch] / cnt


@njit(**_JIT)
def max_pool_grad(x, y, g, dx, zero, kh, kw, sh, sw, pt, pl, nchunk, tiles):
    """``dx`` (input-shaped, uninitialized) receives the gradient; ``zero`` is 0 in its
    dtype; ``tiles``: every pixel lies in exactly one window (written, not accumulated).

    Outputs are visited last to first, each window in row-major order: an input pixel then
    receives its parts in window position order (a later output's window holds the pixel at
    an earlier position), the order of the NumPy kernel's sums. Flat arrays and unsigned
    offsets in the channel loops: numba then skips its negative-index wraparound and LLVM
    vectorizes them."""
    n, h, w, c = x.shape
    ho, wo = y.shape[1], y.shape[2]
    xf, yf, gf, df = x.reshape(-1), y.reshape(-1), g.reshape(-1), dx.reshape(-1)
    cs = (c + nchunk - 1) // nchunk
    u0 = np.uint64(0)
    for task in prange(n * nchunk):
        b = task // nchunk
        c0 = (task - b * nchunk) * cs
        ucc = np.uint64(min(c, c0 + cs) - c0)
        if not tiles:
            for p in range(h * w):
                base = np.uint64((b * h * w + p) * c + c0)
                for ch in range(u0, ucc):
                    df[base + ch] = zero
        rest = np.empty(min(c, c0 + cs) - c0, dtype=dx.dtype)
        for oq in range(ho * wo):
            oq2 = ho * wo - 1 - oq
            oh = oq2 // wo
            ow = oq2 - oh * wo
            ob = np.uint64(((b * ho + oh) * wo + ow) * c + c0)
            for ch in range(u0, ucc):
                rest[ch] = gf[ob + ch]
            for i in range(kh):
                ih = oh * sh - pt + i
                if ih < 0 or ih >= h:
                    continue
                for j in range(kw):
                    iw = ow * sw - pl + j
                    if iw < 0 or iw >= w:
                        continue
                    ib = np.uint64(((b * h + ih) * w + iw) * c + c0)
                    if tiles:
                        for ch in range(u0, ucc):
                            r = rest[ch]
                            part = r if xf[ib + ch] == yf[ob + ch] else r * zero
                            df[ib + ch] = part
                            rest[ch] = r - part
                    else:
                        for ch in range(u0, ucc):
                            r = rest[ch]
                            part = r if xf[ib + ch] == yf[ob + ch] else r * zero
                            df[ib + ch] += part
                            rest[ch] = r - part


#: ``first`` of a window whose maximum is NaN (no pixel equals it): no position is hit.
NO_MAX = 255


@njit(**_JIT)
def max_pool_first(x, y, first, kh, kw, sh, sw, pt, pl, fi, fj):
    """``max_pool`` that also records, per output, the row-major window position
    (``i * kw + j``) of the first input pixel equal to the maximum, or :data:`NO_MAX` when none
    is (a NaN maximum): what ``max_pool_grad`` finds by comparing, for ``max_pool_grad_first``.
    The maximum is computed as ``max_pool`` computes it; the positions in a second look at the
    window (still in the core's cache), last to first so that the first equal one stays."""
    n, h, w, c = x.shape
    ho, wo = y.shape[1], y.shape[2]
    xf, yf, ff = x.reshape(-1), y.reshape(-1), first.reshape(-1)
    u0 = np.uint64(0)
    uc = np.uint64(c)
    none = first.dtype.type(NO_MAX)
    for task in prange(n * ho):
        b = task // ho
        oh = task - b * ho
        r0 = oh * sh - pt
        for ow in range(wo):
            c0 = ow * sw - pl
            ob = np.uint64(((b * ho + oh) * wo + ow) * c)
            ib = np.uint64(((b * h + r0 + fi) * w + c0 + fj) * c)
            for ch in range(u0, uc):
                yf[ob + ch] = xf[ib + ch]
                ff[ob + ch] = none
            for i in range(kh):
                ih = r0 + i
                if ih < 0 or ih >= h:
                    continue
                for j in range(kw):
                    iw = c0 + j
                    if iw < 0 or iw >= w or (i == fi and j == fj):
                        continue
                    ib = np.uint64(((b * h + ih) * w + iw) * c)
                    for ch in range(u0, uc):
                        a = yf[ob + ch]
                        v = xf[ib + ch]
                        yf[ob + ch] = a if (a >= v or a != a) else v
            for i in range(kh - 1, -1, -1):
                ih = r0 + i
                if ih < 0 or ih >= h:
                    continue
                for j in range(kw - 1, -1, -1):
                    iw = c0 + j
                    if iw < 0 or iw >= w:
                        continue
                    ib = np.uint64(((b * h + ih) * w + iw) * c)
                    p = first.dtype.type(i * kw + j)
                    for ch in range(u0, uc):
                        ff[ob + ch] = p if xf[ib + ch] == yf[ob + ch] else ff[ob + ch]


@njit(**_JIT)
def max_pool_grad_first(first, g, dx, zero, kh, kw, sh, sw, pt, pl, nchunk, tiles, relu_out,
                        one, relu):
    """``max_pool_grad`` from the positions ``max_pool_first`` recorded, without reading the
    input again: the same parts (a hit is the recorded position) in the same order. (Kept
    apart from ``max_pool_grad``, whose loops it repeats: one kernel choosing the hit test by a
    flag ran 1.5-2.4x slower, its channel loops no longer vectorized.)

    ``relu``: the result is also taken through ReluGrad with ``relu_out`` (the pooling's input,
    a ReLU's output; input-shaped): ``dx * (1 if relu_out > 0 else 0)`` as ReluGrad computes it,
    while each image's values are still in the core's cache."""
    n, h, w, c = dx.shape
    ho, wo = g.shape[1], g.shape[2]
    ff, gf, df, mf = first.reshape(-1), g.reshape(-1), dx.reshape(-1), relu_out.reshape(-1)
    cs = (c + nchunk - 1) // nchunk
    u0 = np.uint64(0)
    for task in prange(n * nchunk):
        b = task // nchunk
        c0 = (task - b * nchunk) * cs
        ucc = np.uint64(min(c, c0 + cs) - c0)
        if not tiles:
            for p in range(h * w):
                base = np.uint64((b * h * w + p) * c + c0)
                for ch in range(u0, ucc):
                    df[base + ch] = zero
        rest = np.empty(min(c, c0 + cs) - c0, dtype=dx.dtype)
        for oq in range(ho * wo):
            oq2 = ho * wo - 1 - oq
            oh = oq2 // wo
            ow = oq2 - oh * wo
            ob = np.uint64(((b * ho + oh) * wo + ow) * c + c0)
            for ch in range(u0, ucc):
                rest[ch] = gf[ob + ch]
            for i in range(kh):
                ih = oh * sh - pt + i
                if ih < 0 or ih >= h:
                    continue
                for j in range(kw):
                    iw = ow * sw - pl + j
                    if iw < 0 or iw >= w:
                        continue
                    ib = np.uint64(((b * h + ih) * w + iw) * c + c0)
                    p = first.dtype.type(i * kw + j)
                    if tiles and relu:
                        for ch in range(u0, ucc):
                            r = rest[ch]
                            part = r if ff[ob + ch] == p else r * zero
                            df[ib + ch] = part * (one if mf[ib + ch] > zero else zero)
                            rest[ch] = r - part
                    elif tiles:
                        for ch in range(u0, ucc):
                            r = rest[ch]
                            part = r if ff[ob + ch] == p else r * zero
                            df[ib + ch] = part
                            rest[ch] = r - part
                    else:
                        for ch in range(u0, ucc):
                            r = rest[ch]
                            part = r if ff[ob + ch] == p else r * zero
                            df[ib + ch] += part
                            rest[ch] = r - part
        if relu and not tiles:
            for p in range(h * w):
                base = np.uint64((b * h * w + p) * c + c0)
                for ch in range(u0, ucc):
                    df[base + ch] = df[base + ch] * (one if mf[base + ch] > zero else zero)


@njit(**_JIT)
def max_pool_grad_grad(x, y, gg, res, zero, kh, kw, sh, sw, pt, pl):
    """``res`` (output-shaped) = ``gg`` at each window's first maximum (plus ``gg * 0`` of the
    other positions, as NumPy's sum of ``gg * hit``)."""
    n, h, w, c = x.shape
    ho, wo = y.shape[1], y.shape[2]
    for task in prange(n * ho):
        b = task // ho
        oh = task - b * ho
        r0 = oh * sh - pt
        free = np.empty(c, dtype=np.bool_)
        for ow in range(wo):
            c0 = ow * sw - pl
            rr = res[b, oh, ow]
            yr = y[b, oh, ow]
            for ch in range(c):
                rr[ch] = zero
                free[ch] = True
            for i in range(kh):
                ih = r0 + i
                if ih < 0 or ih >= h:
                    continue
                for j in range(kw):
                    iw = c0 + j
                    if iw < 0 or iw >= w:
                        continue
                    xr = x[b, ih, iw]
                    gr = gg[b, ih, iw]
                    for ch in range(c):
                        v = gr[ch]
                        hit = free[ch] & (xr[ch] == yr[ch])
                        rr[ch] += v if hit else v * zero
                        free[ch] = free[ch] & ~hit


@njit(**_JIT)
def avg_pool_grad(g, dx, counts, zero, kh, kw, sh, sw, pt, pl, nchunk, tiles):
    """``dx`` (input-shaped, uninitialized) receives ``g / count`` of every window covering
    each pixel, added in window position order."""
    n, h, w, c = dx.shape
    ho, wo = g.shape[1], g.shape[2]
    cs = (c + nchunk - 1) // nchunk
    for task in prange(n * nchunk):
        b = task // nchunk
        c0 = (task - b * nchunk) * cs
        c1 = min(c, c0 + cs)
        cc = c1 - c0
        if not tiles:
            for ih in range(h):
                for iw in range(w):
                    dr = dx[b, ih, iw, c0:c1]
                    for ch in range(cc):
                        dr[ch] = zero
        share = np.empty((ho, wo, cc), dtype=dx.dtype)
        for oh in range(ho):
            for ow in range(wo):
                cnt = counts[oh, ow]
                gr = g[b, oh, ow, c0:c1]
                sr = share[oh, ow]
                for ch in range(cc):
                    sr[ch] = gr[ch] / cnt
        for i in range(kh):
            for j in range(kw):
                for oh in range(ho):
                    ih = oh * sh - pt + i
                    if ih < 0 or ih >= h:
                        continue
                    for ow in range(wo):
                        iw = ow * sw - pl + j
                        if iw < 0 or iw >= w:
                            continue
                        dr = dx[b, ih, iw, c0:c1]
                        sr = share[oh, ow]
                        if tiles:
                            for ch in range(cc):
                                dr[ch] = sr[ch]
                        else:
                            for ch in range(cc):
                                dr[ch] += sr[ch]
