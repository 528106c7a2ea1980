"""The fused patch-GEMM convolution kernels (``patch_kernels.py``) against im2col."""

import numpy as np
import pytest

from tfnb.ops import conv_ops
from tfnb.runtime.passes import fusion_codegen

pytestmark = pytest.mark.skipif(
    conv_ops._patch_kernels(np, np.float32) is None if fusion_codegen.available() else True,
    reason="needs numba and scipy")

R = np.random.RandomState(11)

#: (x shape, filter shape, strides, dilations, padding): first layers, strides, dilations,
#: explicit and VALID padding, a block count that leaves a partial last block.
CASES = [((3, 24, 24, 3), (5, 5, 3, 16), (1, 1), (1, 1), "SAME"),
         ((2, 13, 11, 5), (3, 3, 5, 7), (2, 2), (1, 1), "SAME"),
         ((2, 13, 11, 5), (3, 2, 5, 7), (1, 2), (1, 1), "VALID"),
         ((2, 15, 16, 6), (3, 3, 6, 4), (1, 1), (2, 2), "SAME"),
         ((2, 9, 10, 8), (3, 3, 8, 5), (2, 1), (1, 1), [[0, 0], [2, 1], [0, 3], [0, 0]])]




@pytest.mark.parametrize("xs, ws, s, d, padding", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [None, 16])
def test_patch_kernels_match_im2col(monkeypatch, xs, ws, s, d, padding, dtype, rows):
    if rows is not None:  # 16-row blocks: many blocks per thread and a partial last one
        monkeypatch.setattr(conv_ops, "_PATCH_BLOCK_BYTES", 1)
    explicit = None
    if not isinstance(padding, str):
        padding, explicit = "EXPLICIT", tuple(tuple(p) for p in padding)
    x = R.standard_normal(xs).astype(dtype)
    w = R.standard_normal(ws).astype(dtype)
    ref, got = {}, {}
    for fused, out in ((False, ref), (True, got)):
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("TFNB_WINOGRAD", "0")
            if fused:
                mp.setattr(conv_ops, "_patch_gemm_pays", lambda *a: True)
            else:
                mp.setattr(conv_ops, "_patch_kernels", lambda *a: None)
            y = conv_ops._conv_forward(np, x, w, s, d, padding, explicit)
            dy = np.asarray(R.standard_normal(y.shape), dtype) if not fused else ref["dy"]
            out["dy"] = dy
            out["y"] = y
            out["dw"] = conv_ops._conv_backprop_filter(np, x, ws, dy, s, d, padding, explicit)
    tol = 1e-12 if dtype == np.float64 else 2e-6
    for key in ("y", "dw"):
        assert got[key].dtype == dtype and got[key].shape == ref[key].shape
        np.testing.assert_allclose(got[key], ref[key], rtol=0,
                                   atol=tol * np.abs(ref[key]).max())


def test_nonfinite_inputs_spread_as_im2col(monkeypatch):
    x = R.standard_normal((2, 10, 10, 3)).astype(np.float32)
    x[0, 4, 5, 1] = np.nan
    x[1, 0, 0, 2] = np.inf
    w = R.standard_normal((5, 5, 3, 8)).astype(np.float32)
    outs = []
    for fused in (False, True):
        with pytest.MonkeyPatch.context() as mp:
            if fused:
                mp.setattr(conv_ops, "_patch_gemm_pays", lambda *a: True)
            else:
                mp.setattr(conv_ops, "_patch_kernels", lambda *a: None)
            outs.append(conv_ops._conv_forward(np, x, w, (1, 1), (1, 1), "SAME", None))
    assert np.array_equal(np.isnan(outs[0]), np.isnan(outs[1]))
    assert np.array_equal(np.isinf(outs[0]), np.isinf(outs[1]))
    fin = np.isfinite(outs[0])
    np.testing.assert_allclose(outs[1][fin], outs[0][fin], rtol=0,
                               atol=2e-6 * np.abs(outs[0][fin]).max())


def test_input_layer_goes_through_the_patch_kernels(monkeypatch):
    """W5's first layer (K = 75) takes the fused path; a 1x1 filter and K = 25 keep im2col."""
    assert conv_ops._patch_gemm_pays((128, 24, 24, 3), (5, 5, 3, 64), (1, 1))
    assert not conv_ops._patch_gemm_pays((50, 28, 28, 1), (5, 5, 1, 32), (1, 1))
    assert not conv_ops._patch_gemm_pays((8, 14, 14, 256), (1, 1, 256, 256), (2, 2))
    calls = []
    kernels = conv_ops._patch_kernels(np, np.float32)
    real = conv_ops._patch_forward
    monkeypatch.setattr(conv_ops, "_patch_forward",
                        lambda *a: calls.append(a[0] is kernels) or real(*a))
    x = R.standard_normal((2, 12, 12, 3)).astype(np.float32)
    w = R.standard_normal((5, 5, 3, 8)).astype(np.float32)
    conv_ops._conv_forward(np, x, w, (1, 1), (1, 1), "SAME", None)
    assert calls == [True]
