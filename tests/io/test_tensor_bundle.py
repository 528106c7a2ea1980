"""TensorFlow's V2 checkpoints: the table format, tensor bundles written by real TensorFlow
(tests/fixtures/tf, made by make_fixtures.py) and by tfnb, the Saver in both formats, and
checkpoints that are truncated, corrupted or lie about their sizes."""
import os
import shutil
import struct

import numpy as np
import pytest

import tfnb as tf
from checkpoint_helpers import rewrite_bundle_entry
from tfnb.io import crc32c, sstable, tensor_bundle

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures",
                        "tf")
ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "..", "shared", "tfcompat", "artifacts")
EXPECTED = np.load(os.path.join(FIXTURES, "expected.npz"), allow_pickle=True)


def _fixture(name):
    return os.path.join(FIXTURES, name)


def _copy_checkpoint(src, directory, name="m"):
    dst = os.path.join(str(directory), name)
    base = os.path.basename(src)
    for f in os.listdir(os.path.dirname(src)):
        if f.startswith(base + "."):
            shutil.copy(os.path.join(os.path.dirname(src), f), dst + f[len(base):])
    return dst


# ----------------------------------------------------------------------------------------------
# CRC32C and tables
# ----------------------------------------------------------------------------------------------
def test_crc32c_matches_the_standard_and_the_byte_loop():
    assert crc32c.crc32c(b"123456789") == 0xE3069283
    rng = np.random.RandomState(0)
    for n in (0, 1, 255, 5999, 6000, 1 << 16, (1 << 16) + 12345, 1 << 20):
        data = rng.randint(0, 256, n).astype(np.uint8).tobytes()
        want = crc32c._update_bytes(0xFFFFFFFF, data) ^ 0xFFFFFFFF
        assert crc32c._numpy_crc32c(data) == want
        assert crc32c.crc32c(data) == want
        assert crc32c.crc32c(data[n // 3:], crc32c.crc32c(data[:n // 3])) == want
    for c in (0, 1, 0xFFFFFFFF, 0x12345678):
        assert crc32c.unmask(crc32c.mask(c)) == c


def test_table_round_trip_with_many_blocks_and_prefix_compression():
    items = [(b"key%06d" % i, b"v" * (i % 37)) for i in range(5000)]
    data = sstable.write_table(items, block_size=1024)
    assert sstable.read_table(data) == items
    assert sstable.read_table(sstable.write_table([])) == []
    with pytest.raises(ValueError, match="increasing"):
        sstable.write_table([(b"b", b""), (b"a", b"")])


def test_table_writer_gives_tensorflows_bytes():
    with open(_fixture("dtypes.ckpt.index"), "rb") as f:
        data = f.read()
    assert sstable.write_table(sstable.read_table(data)) == data


def test_damaged_tables_are_table_errors():
    items = [(b"k%03d" % i, b"value") for i in range(100)]
    data = sstable.write_table(items, block_size=256)
    with pytest.raises(sstable.TableError, match="magic"):
        sstable.read_table(data[:-1])
    with pytest.raises(sstable.TableError, match="fewer than"):
        sstable.read_table(data[:20])
    flipped = bytearray(data)
    flipped[40] ^= 0x01
    with pytest.raises(sstable.TableError, match="checksum"):
        sstable.read_table(bytes(flipped))
    # a footer whose index handle points past the blocks
    footer = len(data) - sstable.FOOTER_SIZE
    bad = bytearray(data)
    (offset, size), _ = sstable._decode_handle(data, footer, len(data))
    bad[footer:footer + 40] = (sstable.encode_varint(offset) + sstable.encode_varint(size) +
                               sstable.encode_varint(1 << 40) + sstable.encode_varint(10)
                               ).ljust(40, b"\0")
    with pytest.raises(sstable.TableError, match="beyond"):
        sstable.read_table(bytes(bad))


def _block_table(contents, kind=0):
    """A table whose only data block has ``contents`` (checksum right)."""
    trailer = bytes([kind])
    crc = struct.pack("<I", crc32c.mask(crc32c.crc32c(contents + trailer)))
    out = bytearray(contents + trailer + crc)
    handle = sstable.encode_varint(0) + sstable.encode_varint(len(contents))
    empty = struct.pack("<II", 0, 1)
    meta = sstable.encode_varint(len(out)) + sstable.encode_varint(len(empty))
    out += empty + b"\0" + struct.pack("<I", crc32c.mask(crc32c.crc32c(empty + b"\0")))
    index = sstable.encode_varint(0) + sstable.encode_varint(1) + \
        sstable.encode_varint(len(handle)) + b"z" + handle + struct.pack("<II", 0, 1)
    index_handle = sstable.encode_varint(len(out)) + sstable.encode_varint(len(index))
    out += index + b"\0" + struct.pack("<I", crc32c.mask(crc32c.crc32c(index + b"\0")))
    footer = (meta + index_handle).ljust(40, b"\0") + struct.pack("<Q", sstable.TABLE_MAGIC)
    return bytes(out + footer)


@pytest.mark.parametrize("contents,match", [
    (b"\x00\x03\xff\xff\xff\xff\x0fabc" + struct.pack("<II", 0, 1), "past the block"),
    (b"\x05\x01\x00a" + struct.pack("<II", 0, 1), "shares 5 bytes"),
    (struct.pack("<I", 1000), "restart points"),
    (b"\x00\x01\x00b\x00\x01\x00a" + struct.pack("<II", 0, 1), "increasing order"),
    (b"\x00\x80\x80\x80\x80\x80\x01" + struct.pack("<II", 0, 1), "varint"),
])
def test_hostile_blocks_are_table_errors(contents, match):
    with pytest.raises(sstable.TableError, match=match):
        sstable.read_table(_block_table(contents))


def test_snappy_block_is_refused_clearly():
    good = b"\x00\x01\x01ax" + struct.pack("<II", 0, 1)
    assert sstable.read_table(_block_table(good)) == [(b"a", b"x")]
    with pytest.raises(sstable.UnsupportedTableError, match="snappy"):
        sstable.read_table(_block_table(good, kind=1))


# ----------------------------------------------------------------------------------------------
# Bundles written by TensorFlow
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["dtypes.ckpt", "sharded.ckpt"])
def test_reads_every_dtype_and_shards_written_by_tensorflow(prefix):
    reader = tf.train.NewCheckpointReader(_fixture(prefix))
    names = reader.get_variable_to_shape_map()
    assert names and all(n.startswith(prefix.split(".")[0] + "/") for n in names)
    for name, shape in names.items():
        want = EXPECTED[name]
        got = reader.get_tensor(name)
        assert got.dtype == want.dtype and list(got.shape) == shape == list(want.shape)
        assert got.tolist() == want.tolist(), name
        assert reader.get_variable_to_dtype_map()[name] == tf.as_dtype(want.dtype)


def test_writer_gives_tensorflows_bytes(tmp_path):
    reader = tensor_bundle.BundleReader(_fixture("dtypes.ckpt"))
    values = {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}
    prefix = tensor_bundle.write_bundle(str(tmp_path / "x"), values)
    for suffix in (".index", ".data-00000-of-00001"):
        with open(prefix + suffix, "rb") as a, open(_fixture("dtypes.ckpt") + suffix, "rb") as b:
            assert a.read() == b.read()


@pytest.mark.skipif(not os.path.isdir(ARTIFACTS), reason="needs ../shared/tfcompat/artifacts")
def test_tensorflows_cnn_checkpoint_lists_loads_and_restores_into_a_model_built_in_code():
    want = np.load(os.path.join(ARTIFACTS, "expected.npz"))
    directory = os.path.join(ARTIFACTS, "checkpoint_v2")
    prefix = tf.train.latest_checkpoint(directory)
    assert os.path.basename(prefix) == "model.ckpt-10"
    assert tf.train.list_variables(directory) == [
        ("conv1/b", [8]), ("conv1/w", [5, 5, 1, 8]), ("fc/b", [10]), ("fc/w", [1568, 10]),
        ("global_step", [])]
    np.testing.assert_array_equal(tf.train.load_variable(directory, "fc/w"), want["var/fc/w"])
    with tf.Graph().as_default():
        w = tf.Variable(np.zeros((5, 5, 1, 8), np.float32), name="conv1/w")
        b = tf.Variable(np.zeros(8, np.float32), name="bias")
        step = tf.train.get_or_create_global_step()
        saver = tf.train.Saver({"conv1/w": w, "conv1/b": b, "global_step": step})
        with tf.Session() as sess:
            saver.restore(sess, prefix)
            got_w, got_b, got_step = sess.run([w, b, step])
    np.testing.assert_array_equal(got_w, want["var/conv1/w"])
    np.testing.assert_array_equal(got_b, want["var/conv1/b"])
    assert got_step == 10


# ----------------------------------------------------------------------------------------------
# The Saver in TensorFlow's format
# ----------------------------------------------------------------------------------------------
def test_v2_saver_builds_tensorflows_ops_and_round_trips(tmp_path):
    with tf.Graph().as_default() as g:
        w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2), name="w")
        n = tf.Variable(np.int64(7), name="n")
        saver = tf.train.Saver(write_version=tf.train.SaverDef.V2)
        types = {op.name: op.type for op in g.get_operations()}
        assert types["save/SaveV2"] == "SaveV2" and types["save/RestoreV2"] == "RestoreV2"
        assert types["save/restore_all"] == "NoOp"
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            path = saver.save(sess, str(tmp_path / "model"), global_step=2,
                              write_meta_graph=False)
            assert sorted(os.listdir(tmp_path)) == [
                "checkpoint", "model-2.data-00000-of-00001", "model-2.index"]
            assert tensor_bundle.is_tensor_bundle(path)
            sess.run([w.assign(w * 0.0), n.assign(0)])
            saver.restore(sess, path)
            np.testing.assert_array_equal(sess.run(w), np.arange(6).reshape(3, 2))
            assert sess.run(n) == 7
    assert tf.train.load_variable(str(tmp_path), "n") == 7


def test_each_saver_restores_the_other_format(tmp_path):
    with tf.Graph().as_default():
        w = tf.Variable(np.ones((2, 2), np.float32), name="w")
        with tf.Session() as sess:
            sess.run(w.initializer)
            tfnb_path = tf.train.Saver(format="tfnb").save(sess, str(tmp_path / "a"),
                                                           write_meta_graph=False)
            tf_path = tf.train.Saver().save(sess, str(tmp_path / "b"), write_meta_graph=False)
    assert not tensor_bundle.is_tensor_bundle(tfnb_path) and \
        tensor_bundle.is_tensor_bundle(tf_path)
    for fmt, path in (("tfnb", tf_path), ("tf", tfnb_path), (None, tfnb_path)):
        with tf.Graph().as_default():
            v = tf.Variable(np.zeros((2, 2), np.float32), name="w")
            with tf.Session() as sess:
                tf.train.Saver(format=fmt).restore(sess, path)
                np.testing.assert_array_equal(sess.run(v), np.ones((2, 2)))


def test_v2_restore_of_a_mismatched_shape_names_the_variable_and_changes_nothing(tmp_path):
    with tf.Graph().as_default():
        a = tf.Variable(np.ones((2, 2), np.float32), name="a")
        with tf.Session() as sess:
            sess.run(a.initializer)
            path = tf.train.Saver({"a": a, "x": a}, write_version=tf.train.SaverDef.V2).save(
                sess, str(tmp_path / "m"), write_meta_graph=False)
    with tf.Graph().as_default():
        u = tf.Variable(np.zeros((2, 2), np.float32), name="u")
        v = tf.Variable(np.zeros((3, 2), np.float32), name="v")
        saver = tf.train.Saver({"a": u, "x": v}, write_version=tf.train.SaverDef.V2)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match=r"variable v.*expected \[3, 2\], got \[2, 2\]"):
                saver.restore(sess, path)
            np.testing.assert_array_equal(sess.run(u), np.zeros((2, 2)))  # rolled back
        with tf.Session() as sess:
            with pytest.raises(tf.errors.NotFoundError, match="Key y not found"):
                tf.train.Saver({"y": u}, write_version=tf.train.SaverDef.V2).restore(sess, path)
            with pytest.raises(tf.errors.InvalidArgumentError, match="expected dtype int32"):
                w = tf.Variable(np.zeros((2, 2), np.int32), name="w")
                tf.train.Saver({"a": w}, write_version=tf.train.SaverDef.V2).restore(sess, path)


def test_saving_again_replaces_the_files_and_deletion_removes_v2_shards(tmp_path):
    with tf.Graph().as_default():
        w = tf.Variable(np.ones(3, np.float32), name="w")
        saver = tf.train.Saver(write_version=tf.train.SaverDef.V2, max_to_keep=1)
        with tf.Session() as sess:
            sess.run(w.initializer)
            saver.save(sess, str(tmp_path / "m"), global_step=1, write_meta_graph=False)
            saver.save(sess, str(tmp_path / "m"), global_step=2, write_meta_graph=False)
            # Again to the same prefix: the new data goes to other names (2 shards, the
            # second empty) and the old data file goes only after the new index is in place.
            sess.run(w.assign([5.0, 6.0, 7.0]))
            saver.save(sess, str(tmp_path / "m"), global_step=2, write_meta_graph=False)
            assert sorted(os.listdir(tmp_path)) == ["checkpoint", "m-2.data-00000-of-00002",
                                                    "m-2.data-00001-of-00002", "m-2.index"]
            assert (tmp_path / "m-2.data-00001-of-00002").stat().st_size == 0
            np.testing.assert_array_equal(tf.train.load_variable(str(tmp_path / "m-2"), "w"),
                                          [5.0, 6.0, 7.0])
            saver.save(sess, str(tmp_path / "m"), global_step=2, write_meta_graph=False)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "m-2.data-00000-of-00001", "m-2.index"]


# ----------------------------------------------------------------------------------------------
# Hostile bundles: typed errors naming the file
# ----------------------------------------------------------------------------------------------
def _restore_fails(prefix, error, match):
    with tf.Graph().as_default():
        v = tf.Variable(np.zeros((3, 4), np.float32), name="v")
        with tf.Session() as sess:
            sess.run(v.initializer)
            with pytest.raises(error, match=match):
                tf.train.Saver({"dtypes/float32": v}).restore(sess, prefix)
            np.testing.assert_array_equal(sess.run(v), np.zeros((3, 4)))


def test_truncated_index_is_data_loss(tmp_path):
    prefix = _copy_checkpoint(_fixture("dtypes.ckpt"), tmp_path)
    with open(prefix + ".index", "rb") as f:
        data = f.read()
    for cut in (10, len(data) // 2, len(data) - 1):
        with open(prefix + ".index", "wb") as f:
            f.write(data[:cut])
        with pytest.raises(tf.errors.DataLossError, match=r"m\.index.*(truncated|corrupted)"):
            tf.train.NewCheckpointReader(prefix)
        _restore_fails(prefix, tf.errors.DataLossError, r"m\.index")


def test_bit_flips_in_data_and_index_are_data_loss(tmp_path):
    prefix = _copy_checkpoint(_fixture("dtypes.ckpt"), tmp_path)
    reader = tf.train.NewCheckpointReader(prefix)
    entry = reader._tensors["dtypes/float32"]
    path = prefix + ".data-00000-of-00001"
    with open(path, "r+b") as f:
        f.seek(entry.offset + 5)
        byte = f.read(1)
        f.seek(entry.offset + 5)
        f.write(bytes([byte[0] ^ 0x10]))
    with pytest.raises(tf.errors.DataLossError, match=r"m\.data-00000-of-00001.*checksum"):
        tf.train.NewCheckpointReader(prefix).get_tensor("dtypes/float32")
    _restore_fails(prefix, tf.errors.DataLossError, "checksum")
    np.testing.assert_array_equal(tf.train.NewCheckpointReader(prefix).get_tensor("dtypes/int8"),
                                  EXPECTED["dtypes/int8"])  # other tensors still read
    with open(prefix + ".index", "r+b") as f:
        f.seek(30)
        byte = f.read(1)
        f.seek(30)
        f.write(bytes([byte[0] ^ 0x01]))
    with pytest.raises(tf.errors.DataLossError, match=r"m\.index.*checksum"):
        tf.train.NewCheckpointReader(prefix)


@pytest.mark.parametrize("fields,error,match", [
    ({"size": 1 << 40, "shape": [1 << 38]}, tf.errors.DataLossError, "truncated"),
    ({"shape": [3, 5]}, tf.errors.DataLossError, "holds 48 bytes; it needs 60"),
    ({"shape": [1 << 62, 1 << 62]}, tf.errors.DataLossError, "more than 2\\*\\*63"),
    ({"offset": 1 << 50}, tf.errors.DataLossError, "truncated"),
    ({"shard": 3}, tf.errors.DataLossError, "data shard 3 of 1"),
    ({"dtype": 21}, tf.errors.UnimplementedError, "DataType 21"),  # variant
])
def test_entries_that_lie_are_refused_before_allocation(tmp_path, fields, error, match):
    prefix = _copy_checkpoint(_fixture("dtypes.ckpt"), tmp_path)
    rewrite_bundle_entry(prefix, "dtypes/float32", **fields)
    with pytest.raises(error, match=match):
        tf.train.NewCheckpointReader(prefix).get_tensor("dtypes/float32")


def test_missing_shard_and_shards_that_are_not_files_are_data_loss(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("ckpt")
    prefix = _copy_checkpoint(_fixture("sharded.ckpt"), tmp_path)
    os.remove(prefix + ".data-00001-of-00002")
    reader = tf.train.NewCheckpointReader(prefix)
    reader.get_tensor("sharded/a")
    with pytest.raises(tf.errors.DataLossError, match=r"data-00001-of-00002.*missing"):
        reader.get_tensor("sharded/b")
    os.mkfifo(prefix + ".data-00001-of-00002")
    with pytest.raises(tf.errors.DataLossError, match="not a regular file"):
        reader.get_tensor("sharded/b")
    os.remove(prefix + ".data-00001-of-00002")
    outside = tmp_path_factory.mktemp("elsewhere")
    shutil.copy(_fixture("sharded.ckpt.data-00001-of-00002"), outside / "x")
    os.symlink(str(outside / "x"), prefix + ".data-00001-of-00002")
    with pytest.raises(tf.errors.DataLossError, match="outside the checkpoint's directory"):
        reader.get_tensor("sharded/b")


def test_index_too_large_is_refused_before_reading(tmp_path, monkeypatch):
    prefix = _copy_checkpoint(_fixture("dtypes.ckpt"), tmp_path)
    monkeypatch.setenv("TFNB_MAX_CHECKPOINT_INDEX_BYTES", "100")
    with pytest.raises(tf.errors.ResourceExhaustedError, match=r"m\.index.*100 bytes"):
        tf.train.NewCheckpointReader(prefix)


def test_header_problems(tmp_path):
    prefix = _copy_checkpoint(_fixture("dtypes.ckpt"), tmp_path)
    with open(prefix + ".index", "rb") as f:
        items = sstable.read_table(f.read())
    cases = [(items[1:], tf.errors.DataLossError, "no header"),
             ([(b"", b"\x08\x00")] + items[1:], tf.errors.DataLossError, "0 data shards"),
             ([(b"", b"\x08\x01\x1a\x02\x10\x05")] + items[1:], tf.errors.UnimplementedError,
              "version 5"),
             ([(b"", b"\x08\x01\x0f")] + items[1:], tf.errors.DataLossError, "wire type")]
    for table, error, match in cases:
        with open(prefix + ".index", "wb") as f:
            f.write(sstable.write_table(table))
        with pytest.raises(error, match=match):
            tf.train.NewCheckpointReader(prefix)


def test_an_index_that_is_a_fifo_never_blocks(tmp_path):
    prefix = str(tmp_path / "m")
    os.mkfifo(prefix + ".index")
    assert not tensor_bundle.is_tensor_bundle(prefix)
    with pytest.raises(tf.errors.DataLossError, match="not a regular file"):
        tf.train.NewCheckpointReader(prefix)
