"""File readers: TFRecord framing and CRC32C, TFRecordDataset, FixedLengthRecordDataset
(CIFAR-10 layout), TextLineDataset, the queue-based readers with the input producers, and
typed errors naming the file and the record for corrupt or missing files. Every file is
written by the test itself in the real format."""
import gzip
import os
import struct
import zlib

import numpy as np
import pytest

import tfnb as tf
from tfnb.io import crc32c as crc


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def _write_text(path, text):
    with open(path, "w") as f:
        f.write(text)


def drain(sess, nxt, limit=1000):
    out = []
    for _ in range(limit):
        try:
            out.append(sess.run(nxt))
        except tf.errors.OutOfRangeError:
            return out
    raise AssertionError("no OutOfRangeError")


def values(ds):
    nxt = ds.make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        return drain(sess, nxt)


def bytewise_crc32c(data):
    """An independent bit-by-bit CRC-32C (no table, no lanes)."""
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF


# ----------------------------------------------------------------------------------------------
# CRC32C and TFRecord framing
# ----------------------------------------------------------------------------------------------
def test_crc32c_known_values_and_long_buffers():
    assert crc._numpy_crc32c(b"123456789") == 0xE3069283  # the standard check value
    assert crc._numpy_crc32c(b"") == 0
    rng = np.random.RandomState(0)
    for n in (1, 63, 511, 512, 1000, 4097, 20000):
        data = rng.bytes(n)
        assert crc._numpy_crc32c(data) == bytewise_crc32c(data), n
    data = rng.bytes(3000)
    assert crc._numpy_crc32c(data[1000:], crc._numpy_crc32c(data[:1000])) == \
        bytewise_crc32c(data)
    c = crc.crc32c(b"abc")
    assert crc.unmask(crc.masked_crc32c(b"abc")) == c


def test_tfrecord_framing_bytes(tmp_path):
    path = str(tmp_path / "a.tfrecord")
    with tf.python_io.TFRecordWriter(path) as w:
        w.write(b"hello")
        w.write(b"")
    raw = _read(path)
    assert len(raw) == (16 + 5) + 16

    def masked(data):
        c = bytewise_crc32c(data)
        return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF

    length = struct.pack("<Q", 5)
    assert raw[:8] == length
    assert struct.unpack("<I", raw[8:12])[0] == masked(length)
    assert raw[12:17] == b"hello"
    assert struct.unpack("<I", raw[17:21])[0] == masked(b"hello")
    assert list(tf.python_io.tf_record_iterator(path)) == [b"hello", b""]


@pytest.mark.parametrize("kind", ["GZIP", "ZLIB"])
def test_tfrecord_compression(tmp_path, kind):
    path = str(tmp_path / ("c." + kind))
    records = [os.urandom(n) for n in (0, 10, 3000)]
    opts = tf.python_io.TFRecordOptions(kind)
    with tf.python_io.TFRecordWriter(path, opts) as w:
        for r in records:
            w.write(r)
    raw = _read(path)
    plain = gzip.decompress(raw) if kind == "GZIP" else zlib.decompress(raw)
    assert len(plain) == sum(16 + len(r) for r in records)
    assert list(tf.python_io.tf_record_iterator(path, opts)) == records
    assert values(tf.data.TFRecordDataset(path, compression_type=kind)) == records


def _write_records(path, records):
    with tf.python_io.TFRecordWriter(path) as w:
        for r in records:
            w.write(r)


def test_tfrecord_dataset_multiple_files_and_interleaved_reads(tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    _write_records(a, [b"a0", b"a1", b"a2"])
    _write_records(b, [b"b0"])
    assert values(tf.data.TFRecordDataset([a, b])) == [b"a0", b"a1", b"a2", b"b0"]
    assert values(tf.data.TFRecordDataset([a, b], num_parallel_reads=2)) == \
        [b"a0", b"b0", b"a1", b"a2"]


@pytest.mark.parametrize("damage,match", [
    (lambda raw: raw[:-3], r"truncated record at offset 18 in .*bad"),
    (lambda raw: raw[:18 + 5], r"truncated record at offset 18"),
    (lambda raw: raw[:30] + bytes([raw[30] ^ 1]) + raw[31:], r"corrupted \(data CRC"),
    (lambda raw: raw[:18] + b"\x09" + raw[19:], r"corrupted \(length CRC mismatch\) record at "
                                                r"offset 18"),
])
def test_corrupt_tfrecords_raise_data_loss_naming_file_and_offset(tmp_path, damage, match):
    path = str(tmp_path / "bad")
    _write_records(path, [b"ab", b"0123456789abcdef"])
    raw = _read(path)
    _write(path, damage(raw))
    with pytest.raises(tf.errors.DataLossError, match=match):
        list(tf.python_io.tf_record_iterator(path))
    nxt = tf.data.TFRecordDataset(path).make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        assert sess.run(nxt) == b"ab"  # the good record before the damage is delivered
        with pytest.raises(tf.errors.DataLossError, match=match):
            sess.run(nxt)


def test_missing_file_is_not_found(tmp_path):
    missing = str(tmp_path / "nope.tfrecord")
    with pytest.raises(tf.errors.NotFoundError, match="nope.tfrecord"):
        list(tf.python_io.tf_record_iterator(missing))
    with pytest.raises(tf.errors.NotFoundError, match="nope.tfrecord"):
        values(tf.data.TextLineDataset(missing))


# ----------------------------------------------------------------------------------------------
# Fixed-length records (CIFAR-10's binary format)
# ----------------------------------------------------------------------------------------------
def _cifar_file(path, labels, images, header=b"", footer=b""):
    with open(path, "wb") as f:
        f.write(header)
        for lab, img in zip(labels, images):
            f.write(bytes([lab]))
            f.write(img.tobytes())
        f.write(footer)


def test_fixed_length_records_cifar_layout_with_header_and_footer(tmp_path):
    rng = np.random.RandomState(1)
    imgs = rng.randint(0, 256, (3, 3, 4, 4)).astype(np.uint8)  # CHW, small
    path = str(tmp_path / "batch.bin")
    _cifar_file(path, [7, 1, 9], imgs, header=b"HEAD", footer=b"FOOTER")
    rec = 1 + 3 * 4 * 4
    ds = tf.data.FixedLengthRecordDataset([path], rec, header_bytes=4, footer_bytes=6)

    def decode(v):
        r = tf.decode_raw(v, tf.uint8)
        return tf.cast(r[0], tf.int32), tf.transpose(tf.reshape(r[1:], [3, 4, 4]), [1, 2, 0])

    got = values(ds.map(decode))
    assert [g[0] for g in got] == [7, 1, 9]
    for (_, img), ref in zip(got, imgs):
        np.testing.assert_array_equal(img, ref.transpose(1, 2, 0))


@pytest.mark.parametrize("compression", [None, "GZIP", "ZLIB"])
def test_fixed_length_wrong_size_raises_after_complete_records(tmp_path, compression):
    path = str(tmp_path / "short.bin")
    data = b"".join(bytes([i]) * 5 for i in range(3)) + b"xy"  # 3 records + 2 stray bytes
    if compression == "GZIP":
        data = gzip.compress(data)
    elif compression == "ZLIB":
        data = zlib.compress(data)
    _write(path, data)
    nxt = tf.data.FixedLengthRecordDataset(path, 5, compression_type=compression) \
        .make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        assert [sess.run(nxt) for _ in range(3)] == [b"\0" * 5, b"\1" * 5, b"\2" * 5]
        with pytest.raises(tf.errors.DataLossError,
                           match=r"short.bin.*body length 17.*the 2 bytes at offset 15 \(record "
                                 r"3\)"):
            sess.run(nxt)
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(nxt)
    _write(path, b"abc")
    with pytest.raises(tf.errors.DataLossError, match="fewer than its header"):
        values(tf.data.FixedLengthRecordDataset(path, 5, header_bytes=2, footer_bytes=2))


# ----------------------------------------------------------------------------------------------
# Text lines
# ----------------------------------------------------------------------------------------------
def test_text_lines_endings_last_line_empty_file_and_gzip(tmp_path):
    a = tmp_path / "a.txt"
    a.write_bytes(b"one\r\ntwo\n\nlast")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    gz = tmp_path / "c.txt.gz"
    gz.write_bytes(gzip.compress(b"x\ny\n"))
    assert values(tf.data.TextLineDataset([str(a), str(empty)])) == [b"one", b"two", b"", b"last"]
    assert values(tf.data.TextLineDataset(str(empty))) == []  # TF: no lines, no error
    assert values(tf.data.TextLineDataset(str(gz), compression_type="GZIP")) == [b"x", b"y"]
    with pytest.raises(TypeError, match="tf.string"):
        tf.data.TextLineDataset(tf.constant([1, 2]))


def test_list_files_matches_sorted_and_errors_without_match(tmp_path):
    for n in ("b.txt", "a.txt", "c.dat"):
        (tmp_path / n).write_text(n)
    ds = tf.data.Dataset.list_files(str(tmp_path / "*.txt"), shuffle=False)
    assert values(ds) == [str(tmp_path / n).encode() for n in ("a.txt", "b.txt")]
    shuffled = values(tf.data.Dataset.list_files(str(tmp_path / "*"), seed=1))
    assert sorted(shuffled) == sorted(str(tmp_path / n).encode() for n in ("a.txt", "b.txt",
                                                                          "c.dat"))
    with pytest.raises(tf.errors.InvalidArgumentError, match="No files matched"):
        values(tf.data.Dataset.list_files(str(tmp_path / "*.none")))


# ----------------------------------------------------------------------------------------------
# Queue-based readers and input producers
# ----------------------------------------------------------------------------------------------
def _run_queue_reader(read_fn, files, n_reads, **producer):
    q = tf.train.string_input_producer(files, shuffle=False, **producer)
    out = read_fn(q)
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess=sess, coord=coord)
        try:
            got = [sess.run(out) for _ in range(n_reads)]
        finally:
            coord.request_stop()
            coord.join(threads, stop_grace_period_secs=5)
    return got


def test_fixed_length_reader_keys_and_values(tmp_path):
    a, b = str(tmp_path / "a.bin"), str(tmp_path / "b.bin")
    _write(a, b"HHaaabbb")
    _write(b, b"HHccc")
    reader = tf.FixedLengthRecordReader(record_bytes=3, header_bytes=2)
    got = _run_queue_reader(lambda q: reader.read(q), [a, b], 4)
    assert [v for _, v in got] == [b"aaa", b"bbb", b"ccc", b"aaa"]  # the producer cycles
    assert [k for k, _ in got][:3] == [(a + ":0").encode(), (a + ":1").encode(),
                                       (b + ":0").encode()]


def test_text_line_reader_skips_headers_and_counts(tmp_path):
    path = str(tmp_path / "t.csv")
    _write_text(path, "h1\nh2\nx\ny\n")
    reader = tf.TextLineReader(skip_header_lines=2)
    got = _run_queue_reader(lambda q: (reader.read(q), reader.num_records_produced()),
                            [path], 2)
    assert [kv[1] for kv, _ in got] == [b"x", b"y"]
    assert got[0][0][0] == (path + ":3").encode()
    assert got[1][1] == 2


def test_tfrecord_and_whole_file_readers_with_num_epochs(tmp_path):
    path = str(tmp_path / "r.tfrecord")
    _write_records(path, [b"r0", b"r1"])
    reader = tf.TFRecordReader()
    q = tf.train.string_input_producer([path], num_epochs=2, shuffle=False)
    key, value = reader.read(q)
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess=sess, coord=coord)
        got = drain(sess, value)
        coord.request_stop()
        coord.join(threads)
    assert got == [b"r0", b"r1", b"r0", b"r1"]  # two epochs, then the queue is closed
    whole = tf.WholeFileReader()
    got = _run_queue_reader(lambda q: whole.read(q), [path], 1)
    assert got[0] == (path.encode(), _read(path))


def test_read_up_to_and_corrupt_file_in_a_reader(tmp_path):
    good = str(tmp_path / "g.bin")
    _write(good, b"aabbc")
    reader = tf.FixedLengthRecordReader(record_bytes=2)
    q = tf.FIFOQueue(4, tf.string, shapes=[[]])
    keys, vals = reader.read_up_to(q, 5)
    with tf.Session() as sess:
        sess.run(q.enqueue_many([[good]]))
        sess.run(q.close())
        with pytest.raises(tf.errors.DataLossError, match=r"g.bin.*offset 4 \(record 2\)"):
            sess.run(vals)


def test_slice_and_range_input_producers():
    x = np.arange(6).reshape(3, 2)
    y = np.array([10, 11, 12])
    xs, ys = tf.train.slice_input_producer([x, y], shuffle=False)
    r = tf.train.range_input_producer(4, shuffle=False).dequeue()
    with tf.Session() as sess:
        coord = tf.train.Coordinator()
        threads = tf.train.start_queue_runners(sess=sess, coord=coord)
        got = [sess.run([xs, ys]) for _ in range(4)]
        rs = [sess.run(r) for _ in range(5)]
        coord.request_stop()
        coord.join(threads)
    assert [g[1] for g in got] == [10, 11, 12, 10]
    assert got[1][0].tolist() == [2, 3]
    assert rs == [0, 1, 2, 3, 0]
    with pytest.raises(ValueError, match="non-null"):
        tf.train.string_input_producer([])


# ----------------------------------------------------------------------------------------------
# gfile
# ----------------------------------------------------------------------------------------------
def test_gfile_functions_and_errors(tmp_path):
    d = str(tmp_path / "x" / "y")
    tf.gfile.MakeDirs(d)
    tf.gfile.MakeDirs(d)  # exists: fine
    assert tf.gfile.IsDirectory(d) and tf.gfile.Exists(d)
    f = os.path.join(d, "f.txt")
    with tf.gfile.GFile(f, "w") as fh:
        fh.write("line1\nline2\n")
    with tf.gfile.Open(f) as fh:
        assert list(fh) == ["line1\n", "line2\n"]
    with tf.gfile.GFile(f, "rb") as fh:
        assert fh.read(5) == b"line1" and fh.tell() == 5
    assert tf.gfile.Stat(f).length == 12 and not tf.gfile.Stat(f).is_directory
    assert tf.gfile.ListDirectory(d) == ["f.txt"]
    assert tf.gfile.Glob(os.path.join(d, "*.txt")) == [f]
    tf.gfile.Copy(f, f + ".bak")
    with pytest.raises(tf.errors.AlreadyExistsError):
        tf.gfile.Copy(f, f + ".bak")
    tf.gfile.Rename(f + ".bak", f + ".2")
    walked = list(tf.gfile.Walk(str(tmp_path)))
    assert walked[0][0] == str(tmp_path) and walked[-1][2] == ["f.txt", "f.txt.2"]
    tf.gfile.Remove(f + ".2")
    with pytest.raises(tf.errors.NotFoundError, match="f.txt.2"):
        tf.gfile.Remove(f + ".2")
    with pytest.raises(tf.errors.NotFoundError):
        tf.gfile.GFile(str(tmp_path / "missing")).read()
    with pytest.raises(tf.errors.NotFoundError):
        tf.gfile.ListDirectory(str(tmp_path / "missing"))
    with pytest.raises(tf.errors.UnimplementedError, match="gs"):
        tf.gfile.Exists("gs://bucket/x")
    tf.gfile.DeleteRecursively(str(tmp_path / "x"))
    assert not tf.gfile.Exists(d)
    from tfnb.python.platform import gfile as legacy
    assert legacy.Exists is tf.gfile.Exists and tf.io.gfile.exists is tf.gfile.Exists


def test_read_write_file_ops(tmp_path):
    path = str(tmp_path / "w.bin")
    w = tf.write_file(path, tf.constant(b"\x00\x01bytes"))
    r = tf.read_file(path)
    with tf.Session() as sess:
        sess.run(w)
        assert sess.run(r) == b"\x00\x01bytes"
        with pytest.raises(tf.errors.NotFoundError, match="nothere"):
            sess.run(tf.read_file(str(tmp_path / "nothere")))


def test_after_a_damaged_file_reading_goes_on_with_the_next(tmp_path):
    bad, good = str(tmp_path / "bad"), str(tmp_path / "good")
    _write_records(bad, [b"b0", b"b1", b"b2"])
    raw = _read(bad)
    _write(bad, raw[:20] + bytes([raw[20] ^ 1]) + raw[21:])  # damage record 1's length CRC
    _write_records(good, [b"g0"])
    nxt = tf.data.TFRecordDataset([bad, good]).make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        assert sess.run(nxt) == b"b0"
        with pytest.raises(tf.errors.DataLossError, match="offset 18 in .*bad"):
            sess.run(nxt)
        assert drain(sess, nxt) == [b"g0"]
    dropped = tf.data.TFRecordDataset([bad, good]).apply(tf.data.experimental.ignore_errors())
    assert values(dropped) == [b"b0", b"g0"]
