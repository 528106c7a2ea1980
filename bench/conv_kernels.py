"""Convolution kernels of W4/W5 per call: im2col + GEMM against Winograd, and Winograd's pieces.

    python bench/conv_kernels.py [--repeats 15]

For the second conv layers of W4 (x[50,14,14,32], 5x5x32x64) and W5 (x[128,12,12,64], 5x5x64x64),
SAME, float32: the median ms of forward, filter gradient and input gradient with Winograd off
(``TFNB_WINOGRAD=0``: im2col) and on, and the split of one Winograd forward over the whole batch
into tile transform, the 36 GEMMs (with their GFLOP/s) and output transform.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from tfnb.ops import conv_ops, winograd  # noqa: E402

SHAPES = {"W4 conv2": ((50, 14, 14, 32), (5, 5, 32, 64)),
          "W5 conv2": ((128, 12, 12, 64), (5, 5, 64, 64))}
ARGS = ((1, 1), (1, 1), "SAME", None)


def median_ms(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3


def per_call(x, w, dy, repeats):
    return (median_ms(lambda: conv_ops._conv_forward(np, x, w, *ARGS), repeats),
            median_ms(lambda: conv_ops._conv_backprop_filter(np, x, w.shape, dy, *ARGS), repeats),
            median_ms(lambda: conv_ops._conv_backprop_input(np, x.shape, w, dy, *ARGS), repeats))


def pieces(x, w, repeats):
    n, h, wd, c = x.shape
    k, o = w.shape[0], w.shape[3]
    m, a = winograd.TILE[k], winograd.ALPHA
    at, _, bt = winograd.matrices(m, k, "G")
    th, tw = -(-h // m), -(-wd // m)
    tiles = n * th * tw
    v = np.empty((tiles, a * a, c), np.float32)
    mm = np.empty((tiles, a * a, o), np.float32)
    u = np.random.default_rng(1).random((a * a, c, o), dtype=np.float32)
    y = np.empty((n, h, wd, o), np.float32)
    pad = (k - 1) // 2
    t_in = median_ms(lambda: winograd._tile_transform(x, bt, m, pad, pad, 0, n, th, tw, v),
                     repeats)
    t_mm = median_ms(lambda: np.matmul(winograd._view(v, tiles, c), u,
                                       out=winograd._view(mm, tiles, o)), repeats)
    t_out = median_ms(lambda: winograd._output_transform(mm, at, y, 0, n, th, tw), repeats)
    gflop = 2 * a * a * tiles * c * o / 1e9
    return t_in, t_mm, gflop / (t_mm / 1e3), t_out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    a = ap.parse_args()
    print("load average: %.2f %.2f %.2f" % os.getloadavg())
    rng = np.random.default_rng(0)
    for name, (xs, ws) in SHAPES.items():
        x = rng.random(xs, dtype=np.float32)
        w = rng.random(ws, dtype=np.float32)
        dy = rng.random(xs[:3] + ws[3:], dtype=np.float32)
        os.environ["TFNB_WINOGRAD"] = "0"
        before = per_call(x, w, dy, a.repeats)
        os.environ.pop("TFNB_WINOGRAD")
        usable = winograd.usable(np, x.dtype, w.shape, (1, 1), (1, 1))
        after = per_call(x, w, dy, a.repeats)
        print("%s  im2col fwd/filter/input %.2f / %.2f / %.2f ms   default (%s) %.2f / %.2f / %.2f ms"
              % ((name,) + before + ("Winograd" if usable else "im2col",) + after))
        if usable:
            print("          Winograd forward pieces: tiles %.2f ms, 36 GEMMs %.2f ms (%.0f GFLOP/s), "
                  "output %.2f ms" % pieces(x, w, a.repeats))


if __name__ == "__main__":
    main()
