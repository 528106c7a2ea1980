"""Winograd convolutions (tfnb/ops/winograd.py): the derived transforms (exact identities), the
forward, input- and filter-gradient kernels against float64 im2col on many shapes, with the
numba kernels and with the NumPy fallback, the dispatch rules, the public API (NHWC and NCHW)
and finite differences."""
import os
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients
from tfnb.ops import conv_ops, winograd
from tfnb.runtime.passes import fusion_codegen

R = np.random.RandomState(7)

def _scipy_blas():
    try:
        import scipy.linalg.cython_blas  # noqa: F401
        return True
    except ImportError:
        return False


_NO_NUMBA = pytest.mark.skipif(not fusion_codegen.available(), reason="numba not installed")
#: (numba transforms, fused kernels): the NumPy reference, the numba transforms around NumPy's
#: batched GEMMs, and the fused numba kernels calling SciPy's GEMM per block of tiles.
BACKENDS = [pytest.param((False, False), id="numpy"),
            pytest.param((True, False), id="numba", marks=_NO_NUMBA),
            pytest.param((True, True), id="fused", marks=[_NO_NUMBA, pytest.mark.skipif(
                not _scipy_blas(), reason="scipy not installed")])]


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    monkeypatch.setattr(winograd, "_USE_NUMBA", request.param[0])
    monkeypatch.setattr(winograd, "_USE_FUSED", request.param[1])
    monkeypatch.setenv("TFNB_WINOGRAD", "1")     # on even with the (slow) NumPy transforms
    return request.param[0]


def _im2col(fn, *args):
    """``fn`` (a conv_ops kernel) with Winograd turned off: the im2col reference."""
    old = os.environ.get("TFNB_WINOGRAD")
    os.environ["TFNB_WINOGRAD"] = "0"
    try:
        return fn(np, *args)
    finally:
        if old is None:
            del os.environ["TFNB_WINOGRAD"]
        else:
            os.environ["TFNB_WINOGRAD"] = old


# ----------------------------------------------------------------------------------------------
# Transforms
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("m, r, fold", [(4, 3, "G"), (2, 5, "G"), (3, 4, "A"), (5, 2, "A"),
                                        (2, 3, "G"), (4, 5, "A")])
def test_transforms_exact_identity(m, r, fold):
    """A^T [(G g) * (B^T d)] == correlate(d, g), exactly in rationals; the float64 matrices are
    those rationals rounded, so the identity holds in float64 to rounding."""
    n = m + r - 1
    pts = winograd._POINTS if n == winograd.ALPHA else tuple(
        Fraction(v) for v in (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2))[:n - 1])
    at, g, bt = winograd.derive(m, r, pts, fold)
    assert all(v.denominator == 1 for row in bt for v in row)     # B^T scaled to integers
    rng = np.random.RandomState(m * 10 + r)
    for _ in range(5):
        d = [Fraction(int(v)) for v in rng.randint(-50, 50, n)]
        k = [Fraction(int(v), 7) for v in rng.randint(-50, 50, r)]
        gk = [sum(a * b for a, b in zip(row, k)) for row in g]
        bd = [sum(a * b for a, b in zip(row, d)) for row in bt]
        y = [sum(a * b * c for a, b, c in zip(row, gk, bd)) for row in at]
        assert y == [sum(d[i + j] * k[j] for j in range(r)) for i in range(m)]
    if n == winograd.ALPHA:
        at64, g64, bt64 = winograd.matrices(m, r, fold)
        for _ in range(5):
            d, k = rng.standard_normal(n), rng.standard_normal(r)
            y = at64 @ ((g64 @ k) * (bt64 @ d))
            ref = np.correlate(d, k, "valid")
            np.testing.assert_allclose(y, ref, rtol=1e-13, atol=1e-13 * np.abs(ref).max())


def test_transforms_share_input_matrix():
    """Forward F(m, r) and filter-gradient F(r, m) use the same B^T (one input-tile kernel)."""
    for r, m in winograd.TILE.items():
        assert np.array_equal(winograd.matrices(m, r, "G")[2], winograd.matrices(r, m, "A")[2])


# ----------------------------------------------------------------------------------------------
# Kernels vs float64 im2col
# ----------------------------------------------------------------------------------------------
CASES = [
    # x shape, filter shape, padding
    ((2, 12, 12, 16), (5, 5, 16, 24), "SAME"),
    ((3, 13, 11, 10), (5, 5, 10, 9), "SAME"),
    ((2, 13, 11, 10), (5, 5, 10, 9), "VALID"),
    ((1, 9, 10, 17), (3, 3, 17, 13), "SAME"),
    ((2, 7, 9, 16), (3, 3, 16, 12), "VALID"),
    ((1, 5, 6, 8), (5, 5, 8, 8), "SAME"),                 # smaller than one tile's input
    ((2, 3, 2, 20), (3, 3, 20, 17), "SAME"),
    ((1, 8, 7, 9), (3, 3, 9, 11), ((0, 2), (3, 1))),      # explicit, asymmetric
    ((2, 10, 9, 12), (5, 5, 12, 8), ((4, 0), (1, 2))),
]


def _args(xs, ws, padding):
    if isinstance(padding, str):
        return padding, None
    return "EXPLICIT", tuple(padding)


@pytest.mark.parametrize("xs, ws, padding", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernels_match_im2col(backend, xs, ws, padding, dtype):
    if backend and dtype == np.float64 and xs[1] != 13:
        pytest.skip("numba float64 kernels: one case is enough (compile time)")
    pad, explicit = _args(xs, ws, padding)
    x64, w64 = R.standard_normal(xs), R.standard_normal(ws)
    y64 = _im2col(conv_ops._conv_forward, x64, w64, (1, 1), (1, 1), pad, explicit)
    dy64 = R.standard_normal(y64.shape)
    dx64 = _im2col(conv_ops._conv_backprop_input, xs, w64, dy64, (1, 1), (1, 1), pad, explicit)
    dw64 = _im2col(conv_ops._conv_backprop_filter, x64, ws, dy64, (1, 1), (1, 1), pad, explicit)
    x, w, dy = x64.astype(dtype), w64.astype(dtype), dy64.astype(dtype)
    assert winograd.usable(np, dtype, ws, (1, 1), (1, 1))
    calls = []
    real_conv, real_filt = winograd.conv2d, winograd.conv2d_backprop_filter
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(winograd, "conv2d", lambda *a: calls.append("c") or real_conv(*a))
        mp.setattr(winograd, "conv2d_backprop_filter",
                   lambda *a: calls.append("f") or real_filt(*a))
        y = conv_ops._conv_forward(np, x, w, (1, 1), (1, 1), pad, explicit)
        dx = conv_ops._conv_backprop_input(np, xs, w, dy, (1, 1), (1, 1), pad, explicit)
        dw = conv_ops._conv_backprop_filter(np, x, ws, dy, (1, 1), (1, 1), pad, explicit)
    assert calls[0] == "c" and calls[-1] == "f"
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for got, ref in ((y, y64), (dx, dx64), (dw, dw64)):
        assert got.dtype == dtype and got.shape == ref.shape
        err = np.abs(got - ref).max() / np.abs(ref).max()
        assert err < tol, err


@pytest.mark.parametrize("budget", [None, 2 << 10])
def test_numba_and_numpy_agree(monkeypatch, budget):
    """The three paths agree; ``budget`` 2 KiB makes the fused kernels' blocks 8 tiles (many
    blocks per thread, a partial last one: 3 * 6 * 7 = 126 tiles)."""
    if not fusion_codegen.available():
        pytest.skip("numba not installed")
    if budget is not None:
        monkeypatch.setattr(winograd, "_FUSED_BLOCK_BYTES", budget)
    x = R.standard_normal((3, 11, 14, 19)).astype(np.float32)
    w = R.standard_normal((3, 3, 19, 21)).astype(np.float32)
    dy = R.standard_normal((3, 11, 14, 21)).astype(np.float32)
    out = {}
    for flags in ((True, True), (True, False), (False, False)):
        if flags[1] and not _scipy_blas():
            continue
        monkeypatch.setattr(winograd, "_USE_NUMBA", flags[0])
        monkeypatch.setattr(winograd, "_USE_FUSED", flags[1])
        out[flags] = (winograd.conv2d(x, w, (1, 1), 11, 14),
                      winograd.conv2d_backprop_filter(x, dy, 3, (1, 1)))
    ref = out[(False, False)]
    for flags, got in out.items():
        for a, b in zip(got, ref):
            np.testing.assert_allclose(a, b, rtol=0, atol=2e-6 * np.abs(b).max())


def test_float32_accuracy_vs_im2col(backend):
    """Float32 Winograd error (vs float64) stays within a few times im2col's float32 error."""
    xs, ws = (8, 14, 14, 32), (5, 5, 32, 64)
    x64, w64 = R.standard_normal(xs), R.standard_normal(ws)
    y64 = _im2col(conv_ops._conv_forward, x64, w64, (1, 1), (1, 1), "SAME", None)
    dy64 = R.standard_normal(y64.shape)
    dw64 = _im2col(conv_ops._conv_backprop_filter, x64, ws, dy64, (1, 1), (1, 1), "SAME", None)
    x, w, dy = (a.astype(np.float32) for a in (x64, w64, dy64))

    def err(a, ref):
        return np.abs(a - ref).max() / np.abs(ref).max()
    e_fwd = err(conv_ops._conv_forward(np, x, w, (1, 1), (1, 1), "SAME", None), y64)
    e_im2col = err(_im2col(conv_ops._conv_forward, x, w, (1, 1), (1, 1), "SAME", None), y64)
    e_filt = err(conv_ops._conv_backprop_filter(np, x, ws, dy, (1, 1), (1, 1), "SAME", None), dw64)
    assert e_fwd < 5e-6 and e_fwd < 5 * e_im2col, (e_fwd, e_im2col)
    assert e_filt < 1e-5, e_filt


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_nonfinite_values_spread_exactly_as_im2col(backend, bad):
    """A Winograd tile mixes all its inputs, so an inf/nan would spread over its whole output
    tile: such results are computed with im2col instead (the same inf/nan pattern as TF)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 12, 12, 8)).astype(np.float32)
    x[0, 5, 6, 2] = bad
    w = rng.standard_normal((3, 3, 8, 8)).astype(np.float32)
    dy = rng.standard_normal((2, 12, 12, 8)).astype(np.float32)
    dy[1, 0, 3, 1] = bad
    args = ((1, 1), (1, 1), "SAME", None)
    with np.errstate(invalid="ignore", over="ignore"):
        for got, ref in [
                (conv_ops._conv_forward(np, x, w, *args),
                 _im2col(conv_ops._conv_forward, x, w, *args)),
                (conv_ops._conv_backprop_input(np, x.shape, w, dy, *args),
                 _im2col(conv_ops._conv_backprop_input, x.shape, w, dy, *args)),
                (conv_ops._conv_backprop_filter(np, x, w.shape, dy, *args),
                 _im2col(conv_ops._conv_backprop_filter, x, w.shape, dy, *args))]:
            np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
            np.testing.assert_array_equal(np.isinf(got), np.isinf(ref))
            assert np.isfinite(got).any()
            fin = np.isfinite(ref)
            np.testing.assert_allclose(got[fin], ref[fin], rtol=1e-5, atol=1e-5)


def test_finite_inputs_whose_result_overflows_fall_back_too(backend):
    x = np.full((1, 8, 8, 8), 3e37, np.float32)
    w = np.ones((3, 3, 8, 8), np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        got = conv_ops._conv_forward(np, x, w, (1, 1), (1, 1), "SAME", None)
        ref = _im2col(conv_ops._conv_forward, x, w, (1, 1), (1, 1), "SAME", None)
    np.testing.assert_array_equal(got, ref)


# ----------------------------------------------------------------------------------------------
# Dispatch
# ----------------------------------------------------------------------------------------------
def test_usable_rules(monkeypatch):
    monkeypatch.setenv("TFNB_WINOGRAD", "1")
    ok = (np, np.float32, (3, 3, 16, 16), (1, 1), (1, 1))
    assert winograd.usable(*ok)
    assert winograd.usable(np, np.float64, (5, 5, 8, 32), (1, 1), (1, 1))
    assert not winograd.usable(np, np.float32, (3, 3, 16, 16), (2, 2), (1, 1))
    assert not winograd.usable(np, np.float32, (3, 3, 16, 16), (1, 1), (2, 2))
    assert not winograd.usable(np, np.float32, (3, 3, 16, 16), (1, 1), (1, 1), groups=2)
    for shape in ((1, 1, 16, 16), (7, 7, 16, 16), (3, 5, 16, 16), (5, 5, 3, 64), (5, 5, 1, 32)):
        assert not winograd.usable(np, np.float32, shape, (1, 1), (1, 1))
    assert not winograd.usable(np, np.int32, (3, 3, 16, 16), (1, 1), (1, 1))
    assert not winograd.usable(np, np.float16, (3, 3, 16, 16), (1, 1), (1, 1))
    monkeypatch.setenv("TFNB_WINOGRAD", "0")
    assert not winograd.usable(*ok)
    monkeypatch.delenv("TFNB_WINOGRAD")               # default: only with numba
    monkeypatch.setattr(winograd, "_USE_NUMBA", False)
    assert not winograd.usable(*ok)
    monkeypatch.setattr(winograd, "_USE_NUMBA", True)
    assert winograd.usable(*ok)


def test_env_switch_uses_im2col(monkeypatch):
    monkeypatch.setenv("TFNB_WINOGRAD", "0")
    monkeypatch.setattr(winograd, "conv2d", None)                  # would fail if called
    monkeypatch.setattr(winograd, "conv2d_backprop_filter", None)
    x = R.standard_normal((1, 6, 6, 8)).astype(np.float32)
    w = R.standard_normal((3, 3, 8, 8)).astype(np.float32)
    y = conv_ops._conv_forward(np, x, w, (1, 1), (1, 1), "SAME", None)
    conv_ops._conv_backprop_filter(np, x, w.shape, y, (1, 1), (1, 1), "SAME", None)


def test_import_does_not_load_numba():
    code = ("import sys, tfnb, tfnb.ops.winograd; "
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------------------------
# Public API and finite differences
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["NHWC", "NCHW"])
def test_public_api_conv2d_and_gradients(backend, fmt, monkeypatch):
    x = R.standard_normal((2, 10, 11, 12)).astype(np.float32)
    w = R.standard_normal((5, 5, 12, 16)).astype(np.float32)
    if fmt == "NCHW":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def run():
        with tf.Graph().as_default():
            xt, wt = tf.constant(x), tf.constant(w)
            y = tf.nn.conv2d(xt, wt, strides=[1, 1, 1, 1], padding="SAME", data_format=fmt)
            loss = tf.reduce_sum(y * y)
            gx, gw = tf.gradients(loss, [xt, wt])
            with tf.Session() as sess:
                return sess.run([y, gx, gw])
    got = run()
    monkeypatch.setenv("TFNB_WINOGRAD", "0")
    ref = run()
    for a, b in zip(got, ref):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=0, atol=3e-5 * np.abs(b).max())


def test_gradients_finite_differences(monkeypatch):
    monkeypatch.setattr(winograd, "_USE_NUMBA", False)   # float64 NumPy transforms
    monkeypatch.setenv("TFNB_WINOGRAD", "1")
    assert winograd.usable(np, np.float64, (3, 3, 8, 8), (1, 1), (1, 1))
    x = R.uniform(-1, 1, (1, 5, 6, 8))
    w = R.uniform(-1, 1, (3, 3, 8, 8))
    check_gradients(lambda a, b: tf.nn.conv2d(a, b, [1, 1, 1, 1], "SAME"), [x, w])
