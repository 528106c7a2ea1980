"""Winograd minimal filtering for stride-1 3x3 and 5x5 convolutions: ``Conv2D``, and through it
the stride-1 ``Conv2DBackpropInput``, and ``Conv2DBackpropFilter``.

``conv_ops`` calls this module where it is faster than its im2col + GEMM (see ``usable``); set
the environment variable ``TFNB_WINOGRAD=0`` to turn it off, ``TFNB_WINOGRAD=1`` to use it even
without numba (read at every call; by default it is used only where numba is installed).

The 1-D algorithm F(m, r) computes m outputs of the correlation of an input segment ``d`` of
alpha = m + r - 1 values with an r-tap filter ``g`` as ``A^T [(G g) * (B^T d)]``: alpha
multiplications instead of m*r. The 2-D algorithm nests it: a tile of alpha x alpha inputs gives
m x m outputs as ``A^T [(G g G^T) * (B^T d B)] A``; over C input and O output channels the
elementwise products become alpha^2 independent GEMMs ``[tiles, C] @ [C, O]``, which do
alpha^2 / (m^2 r^2) of im2col's multiplications: 36/100 for F(2x2, 5x5), 36/144 for F(4x4, 3x3).

Transforms (``derive``) come from the Cook-Toom construction, computed exactly in rationals and
rounded once to float64: with ``E_k`` the alpha x k matrix evaluating a degree-(k-1) polynomial
at the points ``_POINTS`` and at infinity (its leading coefficient), the linear convolution of
two polynomials is ``E_n^-1 [(E_r g) * (E_m a)]``; correlation is its transpose, so
``A = E_m``, ``G = E_r`` and ``B^T = E_n^-T``. Each row of ``B^T`` is scaled to coprime
integers and the inverse scale goes into ``G`` (forward: the filter transform is done in float64
on the small filter) or into ``A^T`` (filter gradient: its output transform is done in float64
on the small accumulated result), so the transforms of the large arrays have small rational
coefficients. The points are {0, 3/2, -3/2, 2/3, -2/3, inf}: a search over 5-point subsets of
small rationals found them among the most accurate in float32 for both filter sizes and both
directions. Float32 error (max |err| / max |y| against float64, random normal data), im2col ->
Winograd: W4 conv2 (x[50,14,14,32], 5x5x32x64) forward 5.5e-7 -> 8.7e-7, input gradient
6.0e-7 -> 1.3e-6, filter gradient 3.6e-7 -> 3.0e-6; W5 conv2 (x[128,12,12,64], 5x5x64x64)
5.8e-7 -> 1.3e-6, 6.1e-7 -> 1.4e-6, 4.1e-7 -> 2.4e-6; 3x3 (x[32,16,16,64], 3x3x64x64)
5.8e-7 -> 2.0e-6, 5.6e-7 -> 1.8e-6, 4.1e-7 -> 1.6e-6 (the textbook {0, +-1, +-2, inf} gives
1.5-4x these errors; F(4x4, 5x5) with 8x8 tiles 5-10x). The 5x5 filter gradient is the least
accurate (6-8x im2col's error): the F(5, 2) output transform weighs large accumulated sums with
small coefficients.

Non-finite values: an inf or nan in a tile would make every output of that tile inf/nan (im2col:
only the outputs whose window holds it). So ``conv2d`` and ``conv2d_backprop_filter`` return
None when their result holds any (one ``sum`` over it: an overflow of the sum also counts), and
``conv_ops`` then computes the op with im2col: the same inf/nan pattern as without Winograd.

The filter gradient ``dW[i, j] = sum_{y, x} xpad[y + i, x + j] dy[y, x]`` is the same kind of
correlation with the roles swapped: for each m x m block of ``dy`` (the "filter") and the
alpha x alpha input tile under it, F(r x r, m x m) gives the r x r contribution; the sum over
blocks and images becomes alpha^2 GEMMs ``[C, tiles] @ [tiles, O]``. Both directions use alpha
= 6 with the same points, so they share ``B^T`` and the input-tile transform: F(2, 5) / F(5, 2)
for 5x5 filters, F(4, 3) / F(3, 4) for 3x3 ones (tile stride m = 2 or 4 either way).

The tile transforms are numba kernels generated from the matrices (coefficients unrolled,
zeros skipped, 1 and -1 as adds), ``parallel=True`` over rows of tiles, channels in chunks of
16 through a small work array (so the unrolled arithmetic vectorizes: written straight over
the big arrays, LLVM kept it scalar for fear of aliasing), compiled on first use and cached on disk
(``cache=True``) in the directory fused elementwise kernels use
(``fusion_codegen.cache_dir()``): about 4 s of compilation per kernel the first time (three
kernels per filter size and dtype), a fraction of a second to load them later. Without numba
the same transforms run as NumPy tensordots on strided tile views (equal results up to
rounding order, but 10-30x slower than im2col: used only when ``TFNB_WINOGRAD=1`` asks).

With SciPy installed too, each convolution is one fused numba kernel (``forward``, used also
for the stride-1 input gradient, and ``filter``): every thread takes blocks of ``bt`` tiles
(:func:`_block_tiles`: their transformed values fill ~512 KiB, ~1 MiB for the filter
gradient) through the tile transform, the alpha^2 GEMMs ``[bt, C] @ [C, O]`` -- one
single-threaded BLAS call each, SciPy's sgemm/dgemm called from the kernel
(:mod:`tfnb.ops.numba_blas`) -- and the output transform (or, for the filter gradient, adds
``V^T D`` into its own float64 sums) while the block is in its core's cache. The unfused path
(transforms over blocks of images, NumPy's batched matmul between them) wrote the 9x larger
transformed arrays to memory and back, and its 36 GEMMs per block each woke both BLAS
threads. Measured (W5's conv2 [128,12,12,64] 5x5x64, quiet, 2 threads): forward 23 -> 13.5 ms,
filter gradient 25 -> 14 ms; its GEMMs alone run at ~190 GFLOP/s in 32-row blocks. The filter
gradient is also more accurate (per-block float32 partial sums: 1.0e-6 vs 2.6e-6 of max |dW|).
"""
import functools
import math
import os
from fractions import Fraction

import numpy as np

__all__ = ["derive", "matrices", "usable", "conv2d", "conv2d_backprop_filter"]

#: Finite interpolation points (infinity is always the last one): alpha = 6.
_POINTS = (Fraction(0), Fraction(3, 2), Fraction(-3, 2), Fraction(2, 3), Fraction(-2, 3))
ALPHA = len(_POINTS) + 1
#: Output tile size m of the forward algorithm (= dy block of the filter gradient) per filter size.
TILE = {3: 4, 5: 2}


# ----------------------------------------------------------------------------------------------
# Transform matrices
# ----------------------------------------------------------------------------------------------
def _evaluation(points, k):
    """The len(points)+1 x k matrix evaluating a polynomial of k coefficients (lowest first) at
    ``points`` and, last row, at infinity (its leading coefficient)."""
    return [[p ** j for j in range(k)] for p in points] + [[Fraction(0)] * (k - 1) + [Fraction(1)]]


def _inverse(rows):
    """The inverse of a square matrix of Fractions (Gauss-Jordan, exact)."""
    n = len(rows)
    a = [list(r) + [Fraction(int(i == j)) for j in range(n)] for i, r in enumerate(rows)]
    for c in range(n):
        p = next(i for i in range(c, n) if a[i][c] != 0)
        a[c], a[p] = a[p], a[c]
        pivot = a[c][c]
        a[c] = [v / pivot for v in a[c]]
        for i in range(n):
            if i != c and a[i][c] != 0:
                f = a[i][c]
                a[i] = [u - f * v for u, v in zip(a[i], a[c])]
    return [r[n:] for r in a]


@functools.lru_cache(maxsize=None)
def derive(m, r, points=_POINTS, fold="G"):
    """Exact (A^T, G, B^T) of F(m, r) (tuples of rows of Fractions): m outputs, r taps,
    alpha = m + r - 1 = len(points) + 1. ``fold`` says which of G ("G") or A^T ("A") carries the
    inverse of the row scaling that makes B^T integer."""
    n = m + r - 1
    if len(points) != n - 1 or len(set(points)) != n - 1:
        raise ValueError("F(%d, %d) needs %d distinct finite points" % (m, r, n - 1))
    inv = _inverse(_evaluation(points, n))
    bt = [[inv[j][i] for j in range(n)] for i in range(n)]          # E_n^-T
    scale = []
    for i, row in enumerate(bt):
        den = math.lcm(*[v.denominator for v in row])
        num = math.gcd(*[int(v * den) for v in row])
        scale.append(Fraction(den, num))
        bt[i] = [v * scale[i] for v in row]
    g = _evaluation(points, r)
    at = [list(col) for col in zip(*_evaluation(points, m))]
    if fold == "G":
        g = [[v / scale[i] for v in row] for i, row in enumerate(g)]
    else:
        at = [[v / scale[j] for j, v in enumerate(row)] for row in at]
    return tuple(map(tuple, at)), tuple(map(tuple, g)), tuple(map(tuple, bt))


@functools.lru_cache(maxsize=None)
def matrices(m, r, fold="G"):
    """``derive(m, r)`` as float64 arrays (read-only)."""
    out = []
    for mat in derive(m, r, _POINTS, fold):
        a = np.array([[float(v) for v in row] for row in mat])
        a.flags.writeable = False
        out.append(a)
    return tuple(out)


# ----------------------------------------------------------------------------------------------
# Dispatch
# ----------------------------------------------------------------------------------------------
#: Fewest input and output channels for which the alpha^2 GEMMs beat im2col (measured: with
#: C = 1 or 3, first layers, the transforms cost more than the multiplications they save).
MIN_CHANNELS = 8

#: None: not yet checked; tests set False to force the NumPy transforms.
_USE_NUMBA = None


def enabled():
    """``TFNB_WINOGRAD``: "0" off; "1" on (with the NumPy transforms if numba is missing);
    unset or anything else: on where numba is available (the NumPy transforms are 10-30x
    slower than im2col: they are the reference and the fallback, not a speed path)."""
    flag = os.environ.get("TFNB_WINOGRAD", "")
    if flag == "0":
        return False
    return flag == "1" or _numba()


def usable(xp, dtype, w_shape, s, d, groups=1):
    """Whether a convolution with this filter shape and these attrs goes through Winograd."""
    kh, kw, c, o = w_shape
    return (xp is np and s == (1, 1) and d == (1, 1) and groups == 1 and enabled()
            and kh == kw and kh in TILE and np.dtype(dtype) in (np.float32, np.float64)
            and c >= MIN_CHANNELS and o >= MIN_CHANNELS)


def _numba():
    """Whether the numba kernels are used (numba importable; checked once, lazily)."""
    global _USE_NUMBA
    if _USE_NUMBA is None:
        from ..runtime.passes import fusion_codegen
        _USE_NUMBA = fusion_codegen.available()
    return _USE_NUMBA


# ----------------------------------------------------------------------------------------------
# Tile transforms: out[a*A + b, t, c] = sum_ij L[a, i] tile_t[i, j, c] L[b, j] over S x S tiles of
# a NHWC array read at stride ``step`` from (-pt, -pl), zero outside; and the output transform
# y[n, ty*m + i, tx*m + j, o] = sum_ab L[i, a] M[a*A + b, t, o] L[j, b], cropped.
# ----------------------------------------------------------------------------------------------
def _np_tiles(x, pt, pl, n0, n1, th, tw, step, size):
    """[n, th, tw, size, size, C] strided view of zero-padded tiles of images n0:n1."""
    n, h, w, c = x.shape
    hp, wp = (th - 1) * step + size, (tw - 1) * step + size
    xp = np.zeros((n1 - n0, hp, wp, c), x.dtype)
    rows, cols = max(0, min(h, hp - pt)), max(0, min(w, wp - pl))
    xp[:, pt:pt + rows, pl:pl + cols] = x[n0:n1, :rows, :cols]
    sn, sh, sw, sc = xp.strides
    return np.lib.stride_tricks.as_strided(
        xp, (n1 - n0, th, tw, size, size, c), (sn, sh * step, sw * step, sh, sw, sc))


def _np_tile_transform(x, mat, step, pt, pl, n0, n1, th, tw, out):
    lt = mat.astype(x.dtype)
    tiles = _np_tiles(x, pt, pl, n0, n1, th, tw, step, mat.shape[1])
    u = np.tensordot(lt, tiles, ([1], [3]))                   # [a, n, th, tw, j, c]
    u = np.tensordot(u, lt, ([4], [1]))                       # [a, n, th, tw, c, b]
    a = mat.shape[0]
    out.reshape(n1 - n0, th, tw, a, a, -1)[...] = u.transpose(1, 2, 3, 0, 5, 4)


def _np_output_transform(mx, mat, y, n0, th, tw):
    m, a = mat.shape
    n1 = n0 + mx.shape[0] // (th * tw)
    lt = mat.astype(mx.dtype)
    u = np.tensordot(lt, mx.reshape(n1 - n0, th, tw, a, a, -1), ([1], [3]))   # [i, n,.., b, o]
    u = np.tensordot(u, lt, ([4], [1]))                       # [i, n, th, tw, o, j]
    u = u.transpose(1, 2, 0, 3, 5, 4).reshape(n1 - n0, th * m, tw * m, -1)
    y[n0:n1] = u[:, :y.shape[1], :y.shape[2]]


# --- numba kernels, generated from the matrices --------------------------------------------------
#: Bumped when the generated source changes meaning.
_FORMAT = 7


def _const(v, dt):
    return "%s(%r)" % (dt, float(v))


def _lincomb(coeffs, names, dt):
    """Source of sum(c * name) skipping zero coefficients; 1 and -1 as additions."""
    terms = []
    for c, nm in zip(coeffs, names):
        if c == 0:
            continue
        if c == 1:
            terms.append(("+", nm))
        elif c == -1:
            terms.append(("-", nm))
        else:
            terms.append(("+", "%s * %s" % (_const(c, dt), nm)))
    if not terms:
        return _const(0, dt)
    src = ("-" if terms[0][0] == "-" else "") + terms[0][1]
    for sign, t in terms[1:]:
        src += " %s %s" % (sign, t)
    return src


def _transform_lines(mat, src, dst, dt):
    """Lines computing dst_a_b = sum L[a, i] src_i_j L[b, j] (two passes through t_a_j)."""
    a, s = len(mat), len(mat[0])
    lines = []
    for p in range(a):
        for j in range(s):
            lines.append("t%d_%d = %s" % (p, j, _lincomb(mat[p], ["%s%d_%d" % (src, i, j)
                                                                 for i in range(s)], dt)))
    for p in range(a):
        for q in range(a):
            lines.append("%s%d_%d = %s" % (dst, p, q, _lincomb(mat[q], ["t%d_%d" % (p, j)
                                                                      for j in range(s)], dt)))
    return lines


#: Channels per chunk in the kernels: a chunk's inputs and results live in a small per-thread
#: work array whose row offsets LLVM can see are constant, so the arithmetic loop over the chunk
#: vectorizes (over the big arrays themselves, 36 streams at unknown distances keep it scalar).
_CHUNK = 16


def _chunk_lines(s_in, s_out, mat, dt):
    """The unrolled transform of one chunk of channels: inputs in rows 0..s_in^2 of the work
    array ``W`` [s_in^2 + s_out^2, _CHUNK], results to the rows after them. The trip count is a
    constant, so LLVM unrolls it into whole vectors (a partial last chunk computes unused
    columns and only its valid ones are copied out)."""
    n_in = s_in * s_in
    lines = ["for cc in range(%d):" % _CHUNK]
    lines += ["    d%d_%d = W[%d, cc]" % (k // s_in, k % s_in, k) for k in range(n_in)]
    lines += ["    " + ln for ln in _transform_lines(mat, "d", "v", dt)]
    lines += ["    W[%d, cc] = v%d_%d" % (n_in + k, k // s_out, k % s_out)
              for k in range(s_out * s_out)]
    return lines


def _tile_source(name, mat, dt):
    """out[t, a*A + b, c] = sum_ij L[a, i] x[n, y0 + i, x0 + j, c] L[b, j] (zero outside x)."""
    a, s = len(mat), len(mat[0])
    lines = [
        "def %s(x, step, pt, pl, n0, th, tw, ntiles, out):" % name,
        "    h, w = x.shape[1], x.shape[2]",
        "    nch = np.uint64(x.shape[3])",
        "    zero = np.uint64(0)",
        "    chunk = np.uint64(%d)" % _CHUNK,
        "    rows = ntiles // tw",
        "    for q in prange(rows):",
        "        n = n0 + q // th",
        "        y0 = (q % th) * step - pt",
        "        W = np.zeros((%d, %d), x.dtype)" % (s * s + a * a, _CHUNK),
        "        for tx in range(tw):",
        "            t = q * tw + tx",
        "            x0 = tx * step - pl",
        "            for c0 in range(zero, nch, chunk):",
        "                cn = min(chunk, nch - c0)"]
    lines += _gather_lines("x", s, "y0", "x0", "n", "h", "w", 16)
    lines += [" " * 16 + ln for ln in _chunk_lines(s, a, mat, dt)]
    lines += [
        "                for k in range(%d):" % (a * a),
        "                    for cc in range(cn):",
        "                        out[t, k, c0 + cc] = W[%d + k, cc]" % (s * s)]
    return lines


def _output_source(name, mat, dt):
    """y[n, ty*m + i, tx*m + j, o] = sum_ab L[i, a] mx[t, a*A + b, o] L[j, b], cropped."""
    m, a = len(mat), len(mat[0])
    lines = [
        "def %s(mx, y, n0, th, tw, ntiles):" % name,
        "    ho, wo = y.shape[1], y.shape[2]",
        "    nch = np.uint64(y.shape[3])",
        "    zero = np.uint64(0)",
        "    chunk = np.uint64(%d)" % _CHUNK,
        "    rows = ntiles // tw",
        "    for q in prange(rows):",
        "        n = n0 + q // th",
        "        y0 = (q %% th) * %d" % m,
        "        W = np.zeros((%d, %d), y.dtype)" % (a * a + m * m, _CHUNK),
        "        for tx in range(tw):",
        "            t = q * tw + tx",
        "            x0 = tx * %d" % m]
    lines += _output_block("mx[t, k, c0 + cc]", "nch", mat, "n", dt, 12)
    return lines


def _gather_lines(src, s, y0, x0, n, limit_h, limit_w, indent):
    """Lines loading the s x s tile of channels c0:c0+cn of NHWC ``src`` at (y0, x0) of image n
    into rows 0..s*s of the work array ``W`` (zeros outside ``src``)."""
    pad = " " * indent
    return [pad + ln for ln in [
        "for i in range(%d):" % s,
        "    for j in range(%d):" % s,
        "        k = i * %d + j" % s,
        "        if 0 <= %s + i < %s and 0 <= %s + j < %s:" % (y0, limit_h, x0, limit_w),
        "            for cc in range(cn):",
        "                W[k, cc] = %s[%s, %s + i, %s + j, c0 + cc]" % (src, n, y0, x0),
        "        else:",
        "            for cc in range(cn):",
        "                W[k, cc] = 0"]]


def _output_block(load, nch, mat, img, dt, indent):
    """Lines transforming the alpha^2 GEMM results of one tile (``load``: the expression of
    point k, channel c0 + cc) chunk by chunk of channels into the m x m outputs of image
    ``img`` at (y0, x0) of ``y``, cropped to its height and width."""
    m, a = len(mat), len(mat[0])
    lines = ["for c0 in range(zero, %s, chunk):" % nch,
             "    cn = min(chunk, %s - c0)" % nch,
             "    for k in range(%d):" % (a * a),
             "        for cc in range(cn):",
             "            W[k, cc] = %s" % load]
    lines += ["    " + ln for ln in _chunk_lines(a, m, mat, dt)]
    lines += ["    for i in range(min(%d, ho - y0)):" % m,
              "        for j in range(min(%d, wo - x0)):" % m,
              "            for cc in range(cn):",
              "                y[%s, y0 + i, x0 + j, c0 + cc] = W[%d + i * %d + j, cc]"
              % (img, a * a, m)]
    return [" " * indent + ln for ln in lines]


def _fused_header(name, params, out, parts):
    """The first lines of a fused kernel: sizes, block count, unsigned channel loop bounds."""
    return ["def %s(%s):" % (name, params),
            "    n, h, w, c = x.shape",
            "    ho, wo, o = %s.shape[1], %s.shape[2], %s.shape[3]" % (out, out, out),
            "    per = th * tw",
            "    total = n * per",
            "    nblk = (total + bt - 1) // bt",
            "    parts = %s" % parts,
            "    zero = np.uint64(0)",
            "    chunk = np.uint64(%d)" % _CHUNK,
            "    nc = np.uint64(c)",
            "    no = np.uint64(o)"]


def _tile_position(m, pt, pl):
    """Lines (16 spaces deep) locating tile ``t0 + b``: its image and top-left (y0, x0)."""
    return [" " * 16 + ln for ln in [
        "t = t0 + b",
        "img = t // per",
        "r = t - img * per",
        "y0 = (r // tw) * %d%s" % (m, pt),
        "x0 = (r %% tw) * %d%s" % (m, pl)]]


def _tile_block(src, size, mat, nch, limit_h, limit_w, dst, dt):
    """Lines (16 spaces deep) transforming the size x size tile of ``src`` at (y0, x0) of image
    ``img``, chunk by chunk of channels, into ``dst[k, b, :]`` for the alpha^2 points k."""
    a2 = len(mat) * len(mat)
    lines = ["for c0 in range(zero, %s, chunk):" % nch,
             "    cn = min(chunk, %s - c0)" % nch]
    lines += _gather_lines(src, size, "y0", "x0", "img", limit_h, limit_w, 4)
    lines += ["    " + ln for ln in _chunk_lines(size, len(mat), mat, dt)]
    lines += ["    for k in range(%d):" % a2,
              "        for cc in range(cn):",
              "            %s[k, b, c0 + cc] = W[%d + k, cc]" % (dst, size * size)]
    return [" " * 16 + ln for ln in lines]


def _input_tiles(buffers, work_rows, m, s, bt_mat, dt, dynamic):
    """The per-thread loop of a fused kernel up to the input tiles' transform into ``V``:
    thread ``p`` allocates its buffers (``V``, ``buffers``, the work array ``W``) and takes
    blocks p, p + parts, ... -- or, ``dynamic``, claims the next block from ``counter`` until
    none is left (forward kernels: a block's outputs do not depend on who computes it) --; in
    each, tile ``t0 + b`` of x goes into ``V[:, b, :]``."""
    a2 = len(bt_mat) * len(bt_mat)
    lines = ["    for p in prange(parts):",
             "        V = np.zeros((%d, bt, c), x.dtype)" % a2]
    lines += ["        " + ln for ln in buffers]
    lines += ["        W = np.zeros((%d, %d), x.dtype)" % (work_rows, _CHUNK)]
    lines += (["        while True:",
               "            blk = claim(counter)",
               "            if blk >= nblk:",
               "                break"] if dynamic else
              ["        for blk in range(p, nblk, parts):"])
    lines += ["            t0 = blk * bt",
              "            bn = min(bt, total - t0)",
              "            for b in range(bn):"]
    lines += _tile_position(m, " - pt", " - pl")
    return lines + _tile_block("x", s, bt_mat, "nc", "h", "w", "V", dt)


def _fused_forward_source(name, bt_mat, at_mat, dt):
    """One kernel for the whole Winograd correlation: blocks of ``bt`` tiles, one block at a time
    per thread, go through the tile transform, alpha^2 single-threaded GEMMs (SciPy's BLAS)
    and the output transform while they are in the core's cache."""
    a, s = len(bt_mat), len(bt_mat[0])
    m = len(at_mat)
    a2 = a * a
    lines = _fused_header(name, "x, u, y, pt, pl, th, tw, bt, gemm_fn, threads, counter", "y",
                          "max(1, min(threads, nblk))")
    lines += _input_tiles(["M = np.empty((%d, bt, o), x.dtype)" % a2],
                          max(s * s + a2, a2 + m * m), m, s, bt_mat, dt, True)
    lines += [
        "            for k in range(%d):" % a2,
        "                gemm(gemm_fn, 78, 78, o, bn, c, %s(1), u[k].ctypes.data, o,"
        " V[k].ctypes.data, c, %s(0), M[k].ctypes.data, o)" % (dt, dt),
        "            for b in range(bn):"]
    lines += _tile_position(m, "", "")
    lines += _output_block("M[k, b, c0 + cc]", "no", at_mat, "img", dt, 16)
    return lines + ["    return 0"]


def _fused_filter_source(name, bt_mat, g_mat, dt):
    """The filter gradient in one kernel: per block of ``bt`` tiles, the input tiles' and the
    output-gradient blocks' transforms, then per alpha^2 point the GEMM ``V^T D`` (the block's
    tiles are its inner dimension) added into this thread's float64 sums ``acc[p]``."""
    a, s = len(bt_mat), len(bt_mat[0])
    m = len(g_mat[0])
    a2 = a * a
    lines = _fused_header(name, "x, dy, acc, pt, pl, th, tw, bt, gemm_fn", "dy", "acc.shape[0]")
    lines += _input_tiles(["D = np.zeros((%d, bt, o), x.dtype)" % a2,
                           "P = np.empty((c, o), x.dtype)"],
                          max(s * s, m * m) + a2, m, s, bt_mat, dt, False)
    lines += [" " * 16 + "y0 += pt", " " * 16 + "x0 += pl"]
    lines += _tile_block("dy", m, g_mat, "no", "ho", "wo", "D", dt)
    lines += [
        "            for k in range(%d):" % a2,
        "                gemm(gemm_fn, 78, 84, o, c, bn, %s(1), D[k].ctypes.data, o,"
        " V[k].ctypes.data, c, %s(0), P.ctypes.data, o)" % (dt, dt),
        "                for i in range(c):",
        "                    for j in range(o):",
        "                        acc[p, k, i, j] += P[i, j]",
        "    return 0"]
    return lines


def _exact(mat):
    """Rows of float64 values as exact Python floats (for keys and literals)."""
    return tuple(tuple(float(v) for v in row) for row in np.asarray(mat))


_SOURCES = {"tile": _tile_source, "output": _output_source,
            "forward": _fused_forward_source, "filter": _fused_filter_source}


def _kernel(kind, mats, dtype):
    """The numba kernel ``kind`` (a key of ``_SOURCES``) for the transform matrices ``mats``
    (one or two) and ``dtype``."""
    from ..runtime.passes import fusion_codegen
    mats = tuple(_exact(mat) for mat in mats)
    dt = np.dtype(dtype).name

    def source(name):
        lines = _SOURCES[kind](name, *mats, dt)
        return "\n".join(["import numba", "import numpy as np", "from numba import njit, prange",
                          "from tfnb.ops.numba_blas import claim, gemm",
                          "from numpy import float32, float64", "", "",
                          "@njit(parallel=True, fastmath=False, error_model='numpy', cache=True,"
                          " nogil=True)"] + lines) + "\n"
    return fusion_codegen.compile_kernel((_FORMAT, kind, mats, dt), source, prefix="winograd")


def _view(buf, rows, cols):
    """The [A*A, rows, cols] matrices (GEMM operands) in the tile-major buffer ``buf``
    [>= rows, A*A, cols]: each tile's transformed values are contiguous."""
    return buf[:rows].transpose(1, 0, 2)


def _tile_transform(x, mat, step, pt, pl, n0, n1, th, tw, buf):
    """buf [>= T, A*A, C] <- transformed S x S tiles of images n0:n1 of ``x``."""
    t = (n1 - n0) * th * tw
    if _numba():
        _kernel("tile", (mat,), x.dtype)(x, step, pt, pl, n0, th, tw, t, buf)
    else:
        _np_tile_transform(x, mat, step, pt, pl, n0, n1, th, tw, buf[:t])


def _output_transform(buf, mat, y, n0, n1, th, tw):
    """y[n0:n1] <- output transform of buf [>= T, A*A, O], cropped to y's height and width."""
    t = (n1 - n0) * th * tw
    if _numba():
        _kernel("output", (mat,), y.dtype)(buf, y, n0, th, tw, t)
    else:
        _np_output_transform(buf[:t], mat, y, n0, th, tw)


# ----------------------------------------------------------------------------------------------
# Convolutions
# ----------------------------------------------------------------------------------------------
#: Bytes of transformed tiles (input and GEMM output) per block of images: they are written by
#: one pass and read by the next, so a block stays in the last-level cache between them.
_BLOCK_BYTES = 4 << 20


def _blocks(n, per_image):
    nb = max(1, min(n, _BLOCK_BYTES // max(per_image, 1)))
    return [(a, min(n, a + nb)) for a in range(0, n, nb)], nb


def _finite(a):
    """Whether every value of ``a`` is finite (or None; one pass, no temporary)."""
    return a is None or bool(np.isfinite(a.sum()))


#: Bytes of one thread's transformed tiles and GEMM results in the fused kernels: a block of
#: tiles goes through the tile transform, the alpha^2 GEMMs and the output transform inside the
#: core's own cache (L2 is 1 MiB per core here). Measured on W4/W5's conv2, quiet: forward
#: 13.5-14.5 ms (W5) and 4.8-4.9 ms (W4) for 128 KiB to 2 MiB; the filter gradient, whose
#: GEMMs' inner dimension is the block, wants twice as much (W5 26 ms at 256 KiB, 17.9 at
#: 512 KiB, 14.0 at 1 MiB, 15.3 at 2 MiB).
_FUSED_BLOCK_BYTES = 512 << 10

#: None: not yet checked; tests set False to force the unfused path.
_USE_FUSED = None


_GEMM = {}


def gemm_fn(dtype):
    """The address of SciPy's GEMM for ``dtype`` (float32 or float64), passed to the kernels."""
    name = np.dtype(dtype).name
    fn = _GEMM.get(name)
    if fn is None:
        from .numba_blas import gemm_address
        fn = _GEMM[name] = gemm_address(name)
    return fn


def fused_available():
    """Whether the fused kernels run: numba, and SciPy's BLAS (the kernels call its GEMM
    through :mod:`tfnb.ops.numba_blas`)."""
    global _USE_FUSED
    if not _numba():
        return False
    if _USE_FUSED is None:
        try:
            gemm_fn(np.float32)
        except Exception:  # noqa: BLE001 - no SciPy (or no cython_blas): the unfused path
            _USE_FUSED = False
        else:
            from ..runtime import threads
            threads.blas_libraries_changed()
            _USE_FUSED = True
    return _USE_FUSED


def _block_tiles(c, o, itemsize, blocks=1):
    """Tiles per block of the fused kernels: ALPHA^2 * tiles * (c + o) values in ``blocks``
    times :data:`_FUSED_BLOCK_BYTES`, a multiple of 8 between 8 and 256 (the GEMMs' rows, or
    their inner dimension)."""
    bt = blocks * _FUSED_BLOCK_BYTES // (ALPHA * ALPHA * (c + o) * itemsize)
    return int(min(256, max(8, bt - bt % 8)))


def fused_parts(per_thread=1):
    """How many parts (``prange`` iterations: one per thread) a fused kernel's work is split
    into. numba's OpenMP schedule is static (its ``parallel_chunksize`` did not change that
    here), so the forward kernels balance their blocks themselves (``numba_blas.claim``)."""
    import numba
    return per_thread * numba.get_num_threads()


def run_fused(fn, *args):
    """Runs the fused kernel ``fn``, its GEMMs each on one BLAS thread (one per numba thread)."""
    from ..runtime import threads
    return threads.on_one_blas_thread(fn, *args)


def conv2d(x, w, pads, ho, wo):
    """Stride-1 correlation of NHWC ``x`` with HWIO ``w`` (3x3 or 5x5), top/left padding
    ``pads``, output ho x wo (the bottom/right padding is implied, zeros); None when a result
    is not finite (see the module docstring: the caller computes it directly)."""
    x = np.ascontiguousarray(x)
    n, _, _, c = x.shape
    r, _, _, o = w.shape
    m, a = TILE[r], ALPHA
    at, g, bt = matrices(m, r, "G")
    u = np.einsum("ai,ijco,bj->abco", g, w.astype(np.float64), g, optimize=True)
    u = np.ascontiguousarray(u.reshape(a * a, c, o), dtype=x.dtype)
    th, tw = -(-ho // m), -(-wo // m)
    tiles = th * tw
    y = np.empty((n, ho, wo, o), x.dtype)
    if fused_available():
        run_fused(_kernel("forward", (bt, at), x.dtype), x, u, y, pads[0], pads[1], th, tw,
                  _block_tiles(c, o, x.itemsize), gemm_fn(x.dtype), fused_parts(),
                  np.zeros(1, np.int64))
        return y if _finite(y) else None
    blocks, nb = _blocks(n, tiles * a * a * (c + o) * x.itemsize)
    vbuf = np.empty((nb * tiles, a * a, c), x.dtype)
    mbuf = np.empty((nb * tiles, a * a, o), x.dtype)
    for n0, n1 in blocks:
        t = (n1 - n0) * tiles
        _tile_transform(x, bt, m, pads[0], pads[1], n0, n1, th, tw, vbuf)
        np.matmul(_view(vbuf, t, c), u, out=_view(mbuf, t, o))
        _output_transform(mbuf, at, y, n0, n1, th, tw)
    return y if _finite(y) else None


def conv2d_backprop_filter(x, dy, r, pads):
    """The gradient of an r x r HWIO filter of the stride-1 correlation ``conv2d`` of NHWC ``x``
    with top/left padding ``pads`` that gave the output gradient ``dy``; None when it is not
    finite (as ``conv2d``)."""
    x = np.ascontiguousarray(x)
    dy = np.ascontiguousarray(dy, dtype=x.dtype)
    n, ho, wo, o = dy.shape
    c = x.shape[3]
    m, a = TILE[r], ALPHA
    at, g, bt = matrices(r, m, "A")
    th, tw = -(-ho // m), -(-wo // m)
    tiles = th * tw
    if fused_available():
        # One part per thread, blocks assigned statically: each part sums its blocks into its
        # own float64 [alpha^2, C, O], so the result does not depend on thread timing.
        parts = max(1, min(fused_parts(), -(-n * tiles // 8)))
        accs = np.zeros((parts, a * a, c, o), np.float64)
        run_fused(_kernel("filter", (bt, g), x.dtype), x, dy, accs, pads[0],
                            pads[1], th, tw, _block_tiles(c, o, x.itemsize, 2),
                            gemm_fn(x.dtype))
        acc = accs.sum(axis=0)
    else:
        blocks, nb = _blocks(n, tiles * a * a * (c + o) * x.itemsize)
        vbuf = np.empty((nb * tiles, a * a, c), x.dtype)
        dbuf = np.empty((nb * tiles, a * a, o), x.dtype)
        acc = np.zeros((a * a, c, o), np.float64)
        part = np.empty((a * a, c, o), x.dtype)
        for n0, n1 in blocks:
            t = (n1 - n0) * tiles
            _tile_transform(x, bt, m, pads[0], pads[1], n0, n1, th, tw, vbuf)
            _tile_transform(dy, g, m, 0, 0, n0, n1, th, tw, dbuf)
            np.matmul(_view(vbuf, t, c).transpose(0, 2, 1), _view(dbuf, t, o), out=part)
            acc += part
    dw = np.einsum("ia,abco,jb->ijco", at, acc.reshape(a, a, c, o), at,
                   optimize=True)
    dw = dw.astype(x.dtype)
    return dw if _finite(dw) else None
