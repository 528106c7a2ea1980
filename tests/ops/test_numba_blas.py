"""The numba helpers of the fused kernels: a BLAS GEMM through an address, atomic claims."""
import numpy as np
import pytest

from tfnb.runtime.passes import fusion_codegen

numba = pytest.importorskip("numba") if fusion_codegen.available() else pytest.skip(
    "needs numba", allow_module_level=True)
pytest.importorskip("scipy.linalg.cython_blas")

from tfnb.ops.numba_blas import claim, gemm, gemm_address  # noqa: E402


@numba.njit
def _row_major_product(fn, a, b, c, one, zero):
    # row-major c = a @ b as the column-major c^T = b^T a^T
    gemm(fn, 78, 78, b.shape[1], a.shape[0], a.shape[1], one, b.ctypes.data, b.shape[1],
         a.ctypes.data, a.shape[1], zero, c.ctypes.data, c.shape[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_matches_numpy(dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((7, 5)).astype(dtype)
    b = rng.standard_normal((5, 9)).astype(dtype)
    c = np.full((7, 9), np.nan, dtype)   # beta = 0: BLAS never reads c
    _row_major_product(gemm_address(np.dtype(dtype).name), a, b, c, dtype(1), dtype(0))
    np.testing.assert_allclose(c, a @ b, rtol=0, atol=(1e-5 if dtype == np.float32 else 1e-12)
                               * np.abs(a @ b).max())


@numba.njit(parallel=True)
def _claim_all(counter, seen, n, parts):
    for p in numba.prange(parts):
        while True:
            i = claim(counter)
            if i >= n:
                break
            seen[i] += 1


def test_claims_hand_out_every_block_once():
    seen = np.zeros(10_000, np.int64)
    counter = np.zeros(1, np.int64)
    _claim_all(counter, seen, seen.size, 4)
    assert (seen == 1).all()
    assert counter[0] >= seen.size    # every thread's last claim went past the end
