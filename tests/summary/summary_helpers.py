"""Readers the summary tests use to check what was written, independent of tfnb's writer.

Event files are read with a TFRecord reader written here (both CRCs checked) and
tensorboardX's ``Event`` class; PNGs are decoded (filter type 0, which tfnb writes)
with zlib; WAVs with the standard ``wave`` module.
"""
import glob
import io
import os
import re
import struct
import wave
import zlib

import numpy as np
from tensorboardX.crc32c import crc32c
from tensorboardX.proto import event_pb2

# events.out.tfevents.<time>.<host, maybe dotted>.<pid>.<counter><suffix>
_COUNTER = re.compile(r"tfevents\.\d+\..+\.\d+\.(\d+)")


def _masked_crc(data):
    crc = crc32c(data) & 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(path):
    with open(path, "rb") as f:
        data = f.read()
    pos, out = 0, []
    while pos < len(data):
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", data[pos + 8:pos + 12])[0] == _masked_crc(header)
        body = data[pos + 12:pos + 12 + length]
        footer = data[pos + 12 + length:pos + 16 + length]
        assert struct.unpack("<I", footer)[0] == _masked_crc(body)
        out.append(body)
        pos += 16 + length
    return out


def event_files(logdir):
    """Event files of ``logdir``, oldest first (tfnb's names end in a per-process counter)."""
    paths = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
    return sorted(paths, key=lambda p: int(_COUNTER.search(os.path.basename(p)).group(1)))


def read_events(path):
    return [event_pb2.Event.FromString(r) for r in read_records(path)]


def summary_values(events):
    """[(step, value proto)] of every summary value, in file order."""
    return [(e.step, v) for e in events if e.HasField("summary") for v in e.summary.value]


def decode_png(data):
    """(height, width, channels, pixels [h, w, c] uint8) of a non-interlaced 8-bit PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        assert struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(kind + body)
        chunks.append((kind, body))
        pos += 12 + n
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8 and interlace == 0
    c = {0: 1, 2: 3, 6: 4}[color]
    raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    rows = np.frombuffer(raw, np.uint8).reshape(h, 1 + w * c)
    assert (rows[:, 0] == 0).all()
    return h, w, c, rows[:, 1:].reshape(h, w, c)


def decode_wav(data):
    """(sample rate, channels, int16 samples [frames, channels])."""
    with wave.open(io.BytesIO(data)) as w:
        assert w.getsampwidth() == 2
        frames = np.frombuffer(w.readframes(w.getnframes()), "<i2")
        return w.getframerate(), w.getnchannels(), frames.reshape(-1, w.getnchannels())
