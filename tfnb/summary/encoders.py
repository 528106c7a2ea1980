"""The payloads of summaries: TF's histogram buckets, images as PNG, audio as WAV.

NumPy and the standard library only (zlib, struct), so these run and are tested
without tensorboardX or Pillow. Each follows what TensorFlow's kernels produce,
so TensorBoard draws tfnb summaries exactly as it draws TF's.
"""
import struct
import sys
import zlib

import numpy as np

__all__ = ["histogram_buckets", "images_to_uint8", "encode_png", "encode_wav", "BUCKET_LIMITS"]

_DBL_MAX = sys.float_info.max


def _default_bucket_limits():
    """TF's default histogram buckets: +-1e-12 growing by 10% up to 1e20, 0, and +-DBL_MAX."""
    pos = []
    v = 1e-12
    while v < 1e20:  # multiplied step by step, as TF does, so the limits match bit for bit
        pos.append(v)
        v *= 1.1
    pos.append(_DBL_MAX)
    return np.array([-x for x in reversed(pos)] + [0.0] + pos)


#: Upper limits of TF's default histogram buckets (bucket i holds limit[i-1] <= v < limit[i]).
BUCKET_LIMITS = _default_bucket_limits()


def histogram_buckets(values):
    """The histogram TF's ``HistogramSummary`` computes for ``values``.

    Runs of empty buckets are collapsed into one, which keeps the last limit of the
    run (TF's ``Histogram::EncodeToProto``), so the output stays small.

    NaN cannot be put in a bucket: NaNs are counted in ``num`` and make ``sum`` and
    ``sum_squares`` NaN; +-inf go into the outermost buckets. (TF refuses such input;
    tfnb writes it and the summary op logs a warning.)

    Returns:
        (stats, limits, counts): ``stats`` a dict with min, max, num, sum, sum_squares
        (min/max over the non-NaN values; +-DBL_MAX as in TF when there are none);
        ``limits`` and ``counts`` float64 arrays of the kept buckets.
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    ok = v[~np.isnan(v)]
    idx = np.minimum(np.searchsorted(BUCKET_LIMITS, ok, side="right"), len(BUCKET_LIMITS) - 1)
    counts = np.bincount(idx, minlength=len(BUCKET_LIMITS)).astype(np.float64)
    nonzero = counts > 0
    keep = np.ones_like(nonzero)
    keep[:-1] = nonzero[:-1] | nonzero[1:]  # a bucket with values, or the end of an empty run
    with np.errstate(over="ignore", invalid="ignore"):
        stats = {"min": float(ok.min()) if ok.size else _DBL_MAX,
                 "max": float(ok.max()) if ok.size else -_DBL_MAX,
                 "num": float(v.size), "sum": float(v.sum()), "sum_squares": float(v @ v)}
    return stats, BUCKET_LIMITS[keep], counts[keep]


_BAD_COLOR = np.array([255, 0, 0, 255], dtype=np.uint8)  # TF's default: opaque red


def images_to_uint8(images):
    """Converts a batch ``[n, h, w, c]`` to uint8 the way TF's ``ImageSummary`` does.

    uint8 images are kept. Float images are scaled per image: if no value is negative,
    by ``255 / max``; otherwise by ``127 / max(|min|, |max|)`` around 128; then truncated.
    Pixels with a non-finite channel are painted the first ``c`` channels of opaque red.

    Returns:
        (uint8 images, number of non-finite pixels).
    """
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images, 0
    work = np.float64 if images.dtype == np.float64 else np.float32
    x = images.astype(work)
    finite = np.isfinite(x).all(axis=-1)  # [n, h, w]
    out = np.empty(x.shape, dtype=np.uint8)
    for i in range(x.shape[0]):
        good = x[i][finite[i]]
        lo = float(good.min()) if good.size else np.inf
        hi = float(good.max()) if good.size else -np.inf
        if lo < 0:
            max_val = max(abs(lo), abs(hi))
            scale, offset = (0.0 if max_val < 1e-6 else 127.0 / max_val), 128.0
        else:
            scale, offset = (0.0 if hi < 1e-6 else 255.0 / hi), 0.0
        with np.errstate(invalid="ignore"):
            scaled = x[i] * work(scale) + work(offset)
        out[i] = np.where(finite[i][..., None], scaled, 0).astype(np.uint8)
        out[i][~finite[i]] = _BAD_COLOR[:x.shape[-1]]
    return out, int(np.count_nonzero(~finite))


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(image):
    """A PNG file (bytes) of one uint8 image ``[h, w, c]``, c = 1 (gray), 3 (RGB) or 4 (RGBA)."""
    h, w, c = image.shape
    if h < 1 or w < 1:
        raise ValueError("cannot encode an empty %dx%d image as PNG" % (h, w))
    color_type = {1: 0, 3: 2, 4: 6}[c]
    rows = np.zeros((h, 1 + w * c), dtype=np.uint8)  # each row: filter type 0, then pixels
    rows[:, 1:] = np.ascontiguousarray(image, dtype=np.uint8).reshape(h, w * c)
    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + _png_chunk(b"IEND", b""))


def encode_wav(samples, sample_rate):
    """A 16-bit PCM WAV file (bytes) of float ``samples`` ``[frames, channels]`` in [-1, 1].

    As TF: each sample is rounded (half away from zero) from ``x * 32768`` and clipped
    to int16. NaN samples become silence (0).

    Returns:
        (wav bytes, number of NaN samples).
    """
    x = np.asarray(samples, dtype=np.float64) * 32768.0
    nan = np.isnan(x)
    x[nan] = 0.0
    pcm = np.clip(np.trunc(x + np.copysign(0.5, x)), -32768, 32767).astype("<i2")
    frames, channels = pcm.shape
    rate = int(sample_rate)
    data = pcm.tobytes()
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, 1,
                         channels, rate, rate * channels * 2, channels * 2, 16, b"data", len(data))
    return header + data, int(np.count_nonzero(nan))
