"""Graph files that came from someone else: bounded decompression, bounded nesting, declared
sizes checked before allocating, and typed errors (``graph_io.DecodeError``, a ValueError)
instead of MemoryError, RecursionError or OverflowError."""
import gzip
import json
import os
import threading
import tracemalloc
import zlib

import numpy as np
import pytest

import tfnb as tf
from tfnb.framework import graph_io
from tfnb.framework.graph_io import DecodeError, GraphDef


def _doc(nodes=(), pad=0):
    """A valid GraphDef's JSON text, with ``pad`` spaces of whitespace inside."""
    head = '{"format": "tfnb.GraphDef", "version": 1, "nodes": %s,' % json.dumps(list(nodes))
    return (head + " " * pad + '"collections": {}}').encode()


def _gzip_stream(head, zeros, tail, level=9):
    """MAGIC + gzip of ``head`` + ``zeros`` spaces + ``tail``, compressed chunk by chunk."""
    c = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [graph_io.MAGIC, c.compress(head)]
    chunk = b" " * (1 << 22)
    left = zeros
    while left:
        out.append(c.compress(chunk[:min(left, len(chunk))]))
        left -= min(left, len(chunk))
    out += [c.compress(tail), c.flush()]
    return b"".join(out)


class _Peak:
    def __enter__(self):
        tracemalloc.start()
        return self

    def __exit__(self, *exc):
        self.value = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def test_gzip_bomb_stops_at_the_configured_limit(monkeypatch):
    head, tail = _doc()[:-len('"collections": {}}')], b'"collections": {}}'
    data = _gzip_stream(head, 64 << 20, tail)  # 64 MiB of whitespace in about 64 KB
    assert len(data) < 1 << 20
    monkeypatch.setenv("TFNB_MAX_GRAPHDEF_BYTES", str(1 << 20))
    with _Peak() as peak:
        with pytest.raises(DecodeError, match=r"more than.*1048576 bytes.*TFNB_MAX_GRAPHDEF_BYTES"):
            GraphDef.FromString(data)
    assert peak.value < (1 << 20) + (2 << 20)  # the limit plus a chunk, never the whole
    monkeypatch.setenv("TFNB_MAX_GRAPHDEF_BYTES", str(128 << 20))
    assert len(GraphDef.FromString(data).node) == 0  # a valid file under the limit is read


@pytest.mark.slow
def test_default_limit_refuses_a_1_5_mb_file_inflating_to_1_5_gb():
    data = _gzip_stream(b"{", 1_500_000_000, b"}")
    assert len(data) < 2 << 20
    limit = graph_io.inflation_limit(len(data), "TFNB_MAX_GRAPHDEF_BYTES")
    assert limit <= 128 << 20  # 64 MiB, or 64 times the compressed size
    with _Peak() as peak:
        with pytest.raises(DecodeError, match="inflate"):
            GraphDef.FromString(data)
    assert peak.value < limit + (4 << 20)


def test_text_larger_than_the_limit_is_refused(monkeypatch):
    monkeypatch.setenv("TFNB_MAX_GRAPHDEF_BYTES", "1000")
    with pytest.raises(DecodeError, match="1000 bytes"):
        GraphDef.FromString(_doc(pad=2000))
    GraphDef.FromString(_doc(pad=100))
    monkeypatch.setenv("TFNB_MAX_GRAPHDEF_BYTES", "lots")
    with pytest.raises(ValueError, match="TFNB_MAX_GRAPHDEF_BYTES"):
        GraphDef.FromString(_doc())


@pytest.mark.parametrize("depth", [150, 5000, 200000])
def test_deeply_nested_json_is_a_decode_error(depth):
    value = "[" * depth + "]" * depth
    text = ('{"format": "tfnb.GraphDef", "version": 1, "nodes": [{"name": "a", "op": "NoOp", '
            '"attr": {"v": %s}}]}' % value).encode()
    with pytest.raises(DecodeError, match="nested"):
        GraphDef.FromString(text)
    with pytest.raises(DecodeError, match="nested"):
        GraphDef.FromString(graph_io.MAGIC + gzip.compress(text))


def test_moderate_nesting_still_reads():
    value = {"tuple": [{"tuple": [[1, 2], [3]]}, "x"]}
    text = _doc([{"name": "a", "op": "NoOp", "attr": {"v": value}}])
    assert GraphDef.FromString(text).node[0].attr["v"] == (([1, 2], [3]), "x")


@pytest.mark.parametrize("array, match", [
    ({"dtype": "float32", "shape": [0, 10 ** 30], "b64": ""}, "shape"),
    ({"dtype": "float32", "shape": [2 ** 63, 0], "b64": ""}, "shape"),
    ({"dtype": "float32", "shape": [1] * 300, "b64": "AAAAAA=="}, "shape"),
    ({"dtype": "string", "shape": [0, 10 ** 30], "strings": []}, "shape"),
    ({"dtype": "float32", "shape": [10 ** 12], "b64": "AAAA"}, "needs 4000000000000"),
    ({"dtype": "float32", "shape": [3], "b64": "A" * 4000}, "needs 12"),
])
def test_declared_array_shapes_are_checked_before_decoding(array, match):
    text = _doc([{"name": "a", "op": "Const", "attr": {"value": {"tensor": array}}}])
    with pytest.raises(ValueError, match="Malformed node 'a'.*" + match):
        GraphDef.FromString(text)


@pytest.mark.parametrize("shape", [[2 ** 64], [-1], [1] * 300])
def test_recorded_output_shapes_are_bounded(shape):
    text = _doc([{"name": "a", "op": "NoOp", "outputs": [{"dtype": "float32", "shape": shape}]}])
    with pytest.raises(ValueError, match="Malformed node 'a'.*shape"):
        GraphDef.FromString(text)


def test_error_messages_preview_huge_or_deep_values():
    deep = "[" * 900 + "]" * 900
    text = _doc([{"name": "a", "op": "NoOp", "attr": {"v": {"pickle": "x" * 10 ** 6}}}])
    with pytest.raises(ValueError, match="bad 'pickle' value") as info:
        GraphDef.FromString(text)
    assert len(str(info.value)) < 400
    gd = {"format": "tfnb.GraphDef", "version": 1,
          "nodes": [{"name": "a", "op": "NoOp", "attr": {"v": {"tuple": json.loads(deep)}}}]}
    with pytest.raises(ValueError, match="nested"):
        GraphDef.from_dict(gd)


def test_read_graph_def_refuses_fifos_devices_and_large_files(tmp_path, monkeypatch):
    g = tf.Graph()
    with g.as_default():
        tf.constant(np.arange(3.0), name="c")
    path = tf.train.write_graph(g, str(tmp_path), "g.pb", as_text=False)
    assert [n.name for n in graph_io.read_graph_def(path).node] == ["c"]
    monkeypatch.setenv("TFNB_MAX_GRAPHDEF_BYTES", "10")
    with pytest.raises(DecodeError, match="10 bytes"):
        graph_io.read_graph_def(path)
    monkeypatch.delenv("TFNB_MAX_GRAPHDEF_BYTES")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for bad in (str(fifo), "/dev/zero", str(tmp_path)):
        with pytest.raises(DecodeError, match="not a regular file"):
            graph_io.read_graph_def(bad)


def test_import_meta_graph_of_a_fifo_does_not_block(tmp_path):
    fifo = tmp_path / "model.meta"
    os.mkfifo(fifo)
    outcome = []

    def read():
        try:
            with tf.Graph().as_default():
                tf.train.import_meta_graph(str(fifo))
            outcome.append(None)
        except Exception as e:  # noqa: BLE001 - checked below
            outcome.append(e)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(20)
    if reader.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(20)
        pytest.fail("import_meta_graph blocked on a FIFO")
    assert isinstance(outcome[0], DecodeError) and "not a regular file" in str(outcome[0])


def test_base64_length_is_checked_before_decoding():
    doc = json.loads(_doc([{"name": "a", "op": "Const", "attr": {"value": {"tensor": {
        "dtype": "float32", "shape": [3], "b64": "A" * (32 << 20)}}}}]))
    with _Peak() as peak:
        with pytest.raises(ValueError, match="Malformed node 'a'.*needs 12 bytes"):
            GraphDef.from_dict(doc)
    assert peak.value < 1 << 20  # the 24 MiB the text stands for were never decoded
