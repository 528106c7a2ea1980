"""Pooling's numba kernels (tfnb/ops/pool_kernels.py) against the NumPy kernels of pool_ops
(identical results: same arithmetic in the same order), naive per-window loops, finite
differences, and the NumPy fallback with numba switched off or absent."""
import itertools
import os

import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients
from tfnb.ops import pool_ops as P
from tfnb.runtime.passes import fusion_codegen

R = np.random.RandomState(4321)
HAS_NUMBA = fusion_codegen.available()
needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="numba not installed")


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------
def _windows(x_shape, k, s, padding):
    """(oh, ow, [(ih, iw) in-bounds, row-major]) for every output of a pool (TF's rules)."""
    _, h, w, _ = x_shape
    ho, wo, (pt, _), (pl, _) = P._geometry(h, w, k, s, (1, 1), padding, None)
    for a in range(ho):
        for b in range(wo):
            r0, c0 = a * s[0] - pt, b * s[1] - pl
            yield a, b, [(r0 + i, c0 + j) for i in range(k[0]) for j in range(k[1])
                         if 0 <= r0 + i < h and 0 <= c0 + j < w]


def naive(kind, x, k, s, padding, g=None):
    """Per-window loops: max / avg forward, or the gradient of max / avg w.r.t. x given g
    (max: each window's gradient to its first maximum; a window holding NaN passes none)."""
    n, _, _, c = x.shape
    outs = list(_windows(x.shape, k, s, padding))
    ho, wo = outs[-1][0] + 1, outs[-1][1] + 1
    y = np.zeros((n, ho, wo, c), x.dtype)
    dx = np.zeros(x.shape, np.float64)
    for a, b, taps in outs:
        for bb in range(n):
            for ch in range(c):
                vals = [x[bb, i, j, ch] for i, j in taps]
                if kind == "max":
                    y[bb, a, b, ch] = np.nan if np.isnan(vals).any() else max(vals)
                elif kind == "avg":
                    y[bb, a, b, ch] = np.mean(np.array(vals, np.float64))
                elif kind == "max_grad":
                    m = np.nan if np.isnan(vals).any() else max(vals)
                    for (i, j), v in zip(taps, vals):
                        if v == m:
                            dx[bb, i, j, ch] += g[bb, a, b, ch]
                            break
                else:  # avg_grad
                    for i, j in taps:
                        dx[bb, i, j, ch] += g[bb, a, b, ch] / len(taps)
    return y if kind in ("max", "avg") else dx


def same_bits(a, b, zero_sign=True):
    """Equal arrays bit for bit (signed zeros included unless not ``zero_sign``); NaN where
    the other has NaN."""
    assert a.dtype == b.dtype and a.shape == b.shape
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    np.testing.assert_array_equal(nan_a, nan_b)
    if not zero_sign:
        a, b = a + 0, b + 0      # -0.0 + 0 is +0.0
    ua = a.view(np.uint32 if a.dtype == np.float32 else np.uint64)
    ub = b.view(ua.dtype)
    np.testing.assert_array_equal(ua[~nan_a], ub[~nan_b])


def both_paths(monkeypatch, fn):
    """fn() with the numba kernels and with the NumPy kernels."""
    monkeypatch.setattr(P, "USE_NUMBA", True)
    fast = fn()
    monkeypatch.setattr(P, "USE_NUMBA", False)
    slow = fn()
    monkeypatch.setattr(P, "USE_NUMBA", True)
    return fast, slow


def all_kernels(x, k, s, padding, g=None, gg=None):
    """Every pooling kernel of pool_ops on NHWC ``x`` (NumPy arrays)."""
    y = P._max_pool_nhwc(np, x, k, s, padding)
    if g is None:
        g = R.standard_normal(y.shape).astype(x.dtype)
    if gg is None:
        gg = R.standard_normal(x.shape).astype(x.dtype)
    return [y, P._avg_pool_nhwc(np, x, k, s, padding),
            P._max_pool_grad_nhwc(np, x, y, g, k, s, padding),
            P._avg_pool_grad_nhwc(np, x.shape, g, k, s, padding),
            P._max_pool_grad_grad_nhwc(np, x, y, gg, k, s, padding)]


def _case_list():
    rng = np.random.RandomState(7)
    cases = []
    for padding in ("SAME", "VALID"):
        for _ in range(14):
            k = tuple(int(v) for v in rng.randint(1, 4, 2))
            s = tuple(int(v) for v in rng.randint(1, 4, 2))
            h, w = (int(v) for v in rng.randint(max(k) if padding == "VALID" else 1, 10, 2))
            cases.append(((int(rng.randint(1, 4)), h, w, int(rng.randint(1, 6))), k, s, padding))
    cases += [((1, 9, 9, 64), (3, 3), (2, 2), "SAME"),    # one image: channel chunks
              ((2, 6, 6, 3), (2, 2), (2, 2), "VALID"),    # windows tile the input
              ((4, 24, 24, 16), (3, 3), (2, 2), "SAME"),  # big enough for several threads
              ((3, 5, 7, 2), (1, 1), (3, 2), "SAME")]
    return cases


CASES = _case_list()


# ----------------------------------------------------------------------------------------------
# numba == NumPy == naive loops
# ----------------------------------------------------------------------------------------------
@needs_numba
@pytest.mark.parametrize("shape,k,s,padding", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numba_matches_numpy_and_naive(monkeypatch, shape, k, s, padding, dtype):
    x = R.standard_normal(shape).astype(dtype)
    y0 = P._max_pool_nhwc(np, x, k, s, padding)
    g = R.standard_normal(y0.shape).astype(dtype)
    gg = R.standard_normal(shape).astype(dtype)
    fast, slow = both_paths(monkeypatch, lambda: all_kernels(x, k, s, padding, g, gg))
    for a, b in zip(fast, slow):
        same_bits(a, b)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(fast[0], naive("max", x, k, s, padding))
    np.testing.assert_allclose(fast[1], naive("avg", x, k, s, padding), **tol)
    np.testing.assert_allclose(fast[2], naive("max_grad", x, k, s, padding, g), **tol)
    np.testing.assert_allclose(fast[3], naive("avg_grad", x, k, s, padding, g), **tol)


@needs_numba
@pytest.mark.parametrize("k,s,padding", [((2, 2), (2, 2), "VALID"), ((3, 3), (2, 2), "SAME"),
                                         ((2, 3), (1, 1), "SAME"), ((3, 3), (3, 3), "SAME")])
def test_ties_send_the_gradient_to_the_first_maximum(monkeypatch, k, s, padding):
    x = np.round(R.uniform(-1, 1, (2, 7, 6, 3))).astype(np.float32)   # mostly -1, 0, 1: ties
    x[0, :4, :4] = 0.5
    y = P._max_pool_nhwc(np, x, k, s, padding)
    g = np.arange(1, 1 + y.size, dtype=np.float32).reshape(y.shape)  # sums stay exact
    fast, slow = both_paths(monkeypatch,
                            lambda: P._max_pool_grad_nhwc(np, x, y, g, k, s, padding))
    same_bits(fast, slow)
    np.testing.assert_array_equal(fast, naive("max_grad", x, k, s, padding, g))


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k,s,padding", [((3, 3), (2, 2), "SAME"), ((2, 2), (2, 2), "VALID"),
                                         ((2, 2), (1, 1), "VALID")])
def test_nan_inf_and_signed_zeros_as_numpy(monkeypatch, dtype, k, s, padding):
    x = R.standard_normal((3, 8, 7, 4)).astype(dtype)
    x[0, 1, 1, 0] = x[1, 5, 2, 3] = x[2, 0, 0, 1] = np.nan
    x[0, 3:6, 3:6, 1] = -np.inf                  # whole windows of -inf
    x[1, 2, 4, 2] = np.inf
    x[2, 4:, :, 2] = -0.0
    x[2, 4:, ::2, 3] = 0.0
    x[2, 4:, 1::2, 3] = -0.0
    y = P._max_pool_nhwc(np, x, k, s, padding)
    g = R.standard_normal(y.shape).astype(dtype)
    g[0, 0, 0, 0], g[1, 1, 1, 1], g[2, 0, 1, 2] = np.inf, np.nan, -np.inf
    g[2, 1, :, 3] = -0.0
    gg = R.standard_normal(x.shape).astype(dtype)
    gg[0, 1, 1, 1] = np.inf
    with np.errstate(invalid="ignore"):   # NumPy's inf * False warns
        fast, slow = both_paths(monkeypatch, lambda: all_kernels(x, k, s, padding, g, gg))
    # The sign of a zero maximum of 0.0 and -0.0 follows NumPy's SIMD loops, not specified.
    same_bits(fast[0], slow[0], zero_sign=False)
    for a, b in zip(fast[1:], slow[1:]):
        same_bits(a, b)
    np.testing.assert_array_equal(fast[0], naive("max", x, k, s, padding))   # NaN propagates
    finite_g = np.where(np.isfinite(g), g, 1).astype(dtype)
    dx = P._max_pool_grad_nhwc(np, x, y, finite_g, k, s, padding)
    np.testing.assert_allclose(dx, naive("max_grad", x, k, s, padding, finite_g), rtol=1e-6)


@needs_numba
@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
def test_public_api_both_formats(monkeypatch, fmt):
    x = R.standard_normal((2, 9, 7, 5)).astype(np.float32)          # NHWC values
    xin = x if fmt == "NHWC" else x.transpose(0, 3, 1, 2).copy()
    ks = [1, 3, 3, 1] if fmt == "NHWC" else [1, 1, 3, 3]
    st = [1, 2, 2, 1] if fmt == "NHWC" else [1, 1, 2, 2]

    def run():
        with tf.Graph().as_default():
            xt = tf.constant(xin)
            ym = tf.nn.max_pool(xt, ks, st, "SAME", data_format=fmt)
            ya = tf.nn.avg_pool(xt, ks, st, "SAME", data_format=fmt)
            gm, ga = tf.gradients(ym, xt)[0], tf.gradients(ya, xt)[0]
            with tf.Session() as sess:
                return sess.run([ym, ya, gm, ga])
    fast, slow = both_paths(monkeypatch, run)
    for a, b in zip(fast, slow):
        same_bits(a, b)
    back = (lambda t: t) if fmt == "NHWC" else (lambda t: t.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(back(fast[0]), naive("max", x, (3, 3), (2, 2), "SAME"))
    np.testing.assert_allclose(back(fast[1]), naive("avg", x, (3, 3), (2, 2), "SAME"),
                               rtol=1e-6, atol=1e-6)
    ones = np.ones(back(fast[0]).shape, np.float32)
    np.testing.assert_allclose(back(fast[2]), naive("max_grad", x, (3, 3), (2, 2), "SAME", ones))
    np.testing.assert_allclose(back(fast[3]), naive("avg_grad", x, (3, 3), (2, 2), "SAME", ones),
                               rtol=1e-6)


@needs_numba
@pytest.mark.parametrize("pool", ["max", "avg"])
@pytest.mark.parametrize("k,s,padding", [(3, 2, "SAME"), (2, 1, "VALID"), (2, 3, "SAME")])
def test_gradients_match_finite_differences(pool, k, s, padding):
    x = R.permutation(2 * 7 * 6 * 3).reshape(2, 7, 6, 3) / 10.0   # distinct: no ties under eps
    fn = tf.nn.max_pool if pool == "max" else tf.nn.avg_pool
    check_gradients(lambda t: fn(t, k, s, padding), [x], order=2 if pool == "max" else 1)


@needs_numba
def test_numba_kernels_are_used_and_cached_outside_the_repository(monkeypatch):
    calls = []
    real = P._numba_max_pool_grad
    monkeypatch.setattr(P, "_numba_max_pool_grad", lambda *a: calls.append(1) or real(*a))
    x = R.standard_normal((2, 6, 6, 3)).astype(np.float32)
    y = P._max_pool_nhwc(np, x, (2, 2), (2, 2), "VALID")
    P._max_pool_grad_nhwc(np, x, y, y, (2, 2), (2, 2), "VALID")
    assert calls == [1]
    mod = P._pool_kernels()
    assert os.path.dirname(mod.__file__) == fusion_codegen.cache_dir()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(P.__file__)))
    assert not os.path.abspath(mod.__file__).startswith(repo + os.sep)


@pytest.mark.parametrize("dtype", [np.float16, np.int32])
def test_other_dtypes_keep_numpy(monkeypatch, dtype):
    monkeypatch.setattr(P, "_numba_max_pool", None)     # would fail if called
    monkeypatch.setattr(P, "_numba_avg_pool", None)
    x = (R.standard_normal((2, 5, 5, 3)) * 10).astype(dtype)
    np.testing.assert_array_equal(P._max_pool_nhwc(np, x, (3, 3), (2, 2), "SAME"),
                                  naive("max", x, (3, 3), (2, 2), "SAME"))


def test_fallback_without_numba(monkeypatch):
    """numba absent (the availability flag off): the NumPy kernels, same numbers."""
    x = R.standard_normal((2, 7, 8, 3)).astype(np.float32)
    ref = all_kernels(x, (3, 2), (2, 2), "SAME", g=np.ones((2, 4, 4, 3), np.float32), gg=x)
    monkeypatch.setattr(fusion_codegen, "_available", False)
    monkeypatch.setattr(fusion_codegen, "_modules", {})
    for name in ("_numba_max_pool", "_numba_avg_pool", "_numba_max_pool_grad",
                 "_numba_avg_pool_grad", "_numba_max_pool_grad_grad"):
        monkeypatch.setattr(P, name, None)              # would fail if called
    got = all_kernels(x, (3, 2), (2, 2), "SAME", g=np.ones((2, 4, 4, 3), np.float32), gg=x)
    assert P._pool_kernels() is None
    for a, b in zip(got, ref):
        same_bits(a, b)
    np.testing.assert_array_equal(got[0], naive("max", x, (3, 2), (2, 2), "SAME"))


@needs_numba
def test_read_only_and_strided_inputs(monkeypatch):
    x = R.standard_normal((3, 9, 9, 6)).astype(np.float32)
    ro = x.copy()
    ro.flags.writeable = False
    strided = np.ascontiguousarray(x.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)
    g = R.standard_normal((3, 5, 5, 6)).astype(np.float32)
    for arr in (ro, strided):
        fast, slow = both_paths(monkeypatch, lambda: all_kernels(arr, (3, 3), (2, 2), "SAME",
                                                                 g=g, gg=x))
        for a, b in zip(fast, slow):
            same_bits(a, b)


@needs_numba
def test_wrong_grad_shape_still_raises(monkeypatch):
    x = R.standard_normal((2, 6, 6, 3)).astype(np.float32)
    y = P._max_pool_nhwc(np, x, (2, 2), (2, 2), "VALID")
    with pytest.raises(ValueError):
        P._max_pool_grad_nhwc(np, x, y, y[:, :2], (2, 2), (2, 2), "VALID")
    with pytest.raises(ValueError):   # orig_output of the wrong shape: the NumPy kernel's error
        P._max_pool_grad_nhwc(np, x, y[:, :2], y[:, :2], (2, 2), (2, 2), "VALID")


def test_case_list_covers_the_brief():
    ks = {k for _, k, _, _ in CASES}
    ss = {s for _, _, s, _ in CASES}
    assert {v for k in ks for v in k} == {1, 2, 3} and {v for s in ss for v in s} == {1, 2, 3}
    assert any(h % 2 and w % 2 for (_, h, w, _), _, _, _ in CASES)
    assert list(itertools.islice((p for *_, p in CASES), 0, None)).count("VALID") >= 10
