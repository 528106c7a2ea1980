"""CRC-32C (Castagnoli), as TFRecord framing and TensorFlow's checkpoints use it, with NumPy only.

A CRC register is updated byte by byte (``crc = T[(crc ^ b) & 0xff] ^ (crc >> 8)``), which
is slow in Python. The update is linear over GF(2), so a long buffer is cut into K equal
*lanes* processed side by side as one NumPy vector (one vectorized step per byte of a lane)
and the lanes' registers are then combined pairwise: the register after ``A + B`` is
``shift_{len(B)}(reg(A)) ^ reg_0(B)``, where ``shift_n`` -- running n zero bytes through the
register -- is a 32x32 bit matrix applied with four 256-entry tables. Short buffers take the
plain byte loop.

``mask`` is TensorFlow's ``crc32c::Mask`` (rotate right by 15 bits, add 0xa282ead8), the form
TFRecord framing and tensor bundles store; ``masked_crc32c(data)`` is ``mask(crc32c(data))``.
Where the ``google_crc32c`` package is installed, its C implementation is used instead.
This is tfnb's one CRC-32C (``tfnb.io.sstable`` and ``tfnb.io.tensor_bundle`` use it too).
"""
import numpy as np

__all__ = ["crc32c", "masked_crc32c", "mask", "unmask"]

_POLY = 0x82F63B78
_MASK_DELTA = 0xA282EAD8
_SMALL = 6000         # below this many bytes the byte loop is faster (measured)
_MAX_LANES = 1 << 16


def _make_table():
    t = np.zeros(256, np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        t[i] = c
    return t


_TABLE = _make_table()
_TABLE_LIST = [int(v) for v in _TABLE]


def _update_bytes(crc, data):
    t = _TABLE_LIST
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


# --- linear maps on the 32-bit register, as the images of the 32 unit vectors ---------------
def _apply(cols, v):
    out = 0
    i = 0
    while v:
        if v & 1:
            out ^= cols[i]
        v >>= 1
        i += 1
    return out


def _compose(a, b):
    """The map ``a(b(x))``."""
    return [_apply(a, c) for c in b]


_ONE_ZERO_BYTE = [_update_bytes(1 << i, b"\0") for i in range(32)]
_shift_cache = {}


def _shift_map(n):
    """Columns of the map "run n zero bytes through the register" (cached)."""
    hit = _shift_cache.get(n)
    if hit is not None:
        return hit
    result = [1 << i for i in range(32)]  # identity
    power = _ONE_ZERO_BYTE
    k = n
    while k:
        if k & 1:
            result = _compose(power, result)
        k >>= 1
        if k:
            power = _compose(power, power)
    if len(_shift_cache) > 256:
        _shift_cache.clear()
    _shift_cache[n] = result
    return result


_table_cache = {}


def _shift_tables(n):
    """Four 256-entry uint32 tables applying ``_shift_map(n)`` one input byte at a time."""
    hit = _table_cache.get(n)
    if hit is not None:
        return hit
    cols = _shift_map(n)
    tables = np.zeros((4, 256), np.uint32)
    for k in range(4):
        for b in range(256):
            tables[k, b] = _apply(cols, b << (8 * k))
    if len(_table_cache) > 64:
        _table_cache.clear()
    _table_cache[n] = tables
    return tables


def _shift_vec(regs, n):
    t = _shift_tables(n)
    return (t[0][regs & 0xFF] ^ t[1][(regs >> 8) & 0xFF] ^ t[2][(regs >> 16) & 0xFF]
            ^ t[3][regs >> 24])


def _update_lanes(crc, buf):
    """The register after ``buf`` (length a multiple of the lane count) from ``crc``."""
    n = len(buf)
    lanes = min(_MAX_LANES, 1 << (max(n // 64, 1).bit_length() - 1))
    length = n // lanes
    head = lanes * length
    block = np.frombuffer(buf, np.uint8, head).reshape(lanes, length).T.copy()
    regs = np.zeros(lanes, np.uint32)
    regs[0] = crc
    table = _TABLE
    for j in range(length):
        regs = table[(regs ^ block[j]) & 0xFF] ^ (regs >> 8)
    span = length
    while len(regs) > 1:  # combine neighbours: reg(A + B) = shift_len(B)(reg(A)) ^ reg0(B)
        regs = _shift_vec(regs[0::2], span) ^ regs[1::2]
        span *= 2
    crc = int(regs[0])
    return crc, head


def _update(crc, data):
    view = memoryview(data).cast("B")
    while len(view) >= _SMALL:
        crc, used = _update_lanes(crc, view)
        view = view[used:]
    return _update_bytes(crc, bytes(view))


def _numpy_crc32c(data, crc=0):
    return _update(crc ^ 0xFFFFFFFF, data) ^ 0xFFFFFFFF


def _fast_backend():
    try:
        import google_crc32c
    except ImportError:
        return None
    if getattr(google_crc32c, "implementation", "c") != "c":
        return None
    return lambda data, crc=0: google_crc32c.extend(crc, bytes(data))


_BACKEND = _fast_backend()


def crc32c(data, crc=0):
    """The CRC-32C of ``data`` (bytes-like), continuing from ``crc``."""
    if _BACKEND is not None:
        return _BACKEND(data, crc)
    return _numpy_crc32c(data, crc)


def mask(crc):
    """The stored (masked) form of a CRC: a CRC of data that holds CRCs would be degenerate."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def masked_crc32c(data):
    """TFRecord's masked CRC-32C of ``data``."""
    return mask(crc32c(data))


def unmask(masked):
    """The CRC a masked value stands for."""
    rot = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF
