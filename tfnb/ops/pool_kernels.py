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
    dtype; ``tiles``: every pixel lies in exactly one window (written, not accumulated)."""
    n, h, w, c = x.shape
    ho, wo = y.shape[1], y.shape[2]
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
        rest = np.empty((ho, wo, cc), dtype=dx.dtype)
        for oh in range(ho):
            for ow in range(wo):
                gr = g[b, oh, ow, c0:c1]
                rr = rest[oh, ow]
                for ch in range(cc):
                    rr[ch] = gr[ch]
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
                        xr = x[b, ih, iw, c0:c1]
                        yr = y[b, oh, ow, c0:c1]
                        dr = dx[b, ih, iw, c0:c1]
                        rr = rest[oh, ow]
                        if tiles:
                            for ch in range(cc):
                                r = rr[ch]
                                part = r if xr[ch] == yr[ch] else r * zero
                                dr[ch] = part
                                rr[ch] = r - part
                        else:
                            for ch in range(cc):
                                r = rr[ch]
                                part = r if xr[ch] == yr[ch] else r * zero
                                dr[ch] += part
                                rr[ch] = r - part


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
