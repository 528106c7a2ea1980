"""tf.train.Example protos in the protobuf wire format, tf.parse_example /
parse_single_example (FixedLen with defaults, VarLen -> SparseTensor, FixedLenSequence) with
errors naming the record and feature, and tf.decode_raw."""
import numpy as np
import pytest

import tfnb as tf
from tfnb.io import example_proto


def _example(**features):
    feats = {}
    for k, v in features.items():
        if isinstance(v, tf.train.Feature):
            feats[k] = v
        elif all(isinstance(x, bytes) for x in v):
            feats[k] = tf.train.Feature(bytes_list=tf.train.BytesList(value=v))
        elif all(isinstance(x, int) for x in v):
            feats[k] = tf.train.Feature(int64_list=tf.train.Int64List(value=v))
        else:
            feats[k] = tf.train.Feature(float_list=tf.train.FloatList(value=v))
    return tf.train.Example(features=tf.train.Features(feature=feats))


# ----------------------------------------------------------------------------------------------
# Wire format
# ----------------------------------------------------------------------------------------------
def test_wire_bytes_of_small_messages():
    # Int64List: field 1, packed: key 0x0a, length, varints (-1 is ten bytes)
    assert tf.train.Int64List(value=[1, 300]).SerializeToString() == b"\x0a\x03\x01\xac\x02"
    assert tf.train.Int64List(value=[-1]).SerializeToString() == \
        b"\x0a\x0a" + b"\xff" * 9 + b"\x01"
    assert tf.train.FloatList(value=[1.0]).SerializeToString() == b"\x0a\x04\x00\x00\x80\x3f"
    assert tf.train.BytesList(value=[b"ab", b""]).SerializeToString() == b"\x0a\x02ab\x0a\x00"
    # Feature: a set but empty list is present (\x1a\x00); no list set is empty
    assert tf.train.Feature(int64_list=tf.train.Int64List()).SerializeToString() == b"\x1a\x00"
    assert tf.train.Feature().SerializeToString() == b""
    ex = _example(a=[7])
    # Example{features(1){feature(1){key(1) "a", value(2){int64_list(3){value(1) [7]}}}}}
    assert ex.SerializeToString() == \
        b"\x0a\x0c" + b"\x0a\x0a" + b"\x0a\x01a" + b"\x12\x05" + b"\x1a\x03" + b"\x0a\x01\x07"


def test_round_trip_attribute_access_and_map_semantics():
    ex = _example(label=[3, -4], score=[0.5, 1.25], name=[b"x\x00y"])
    back = tf.train.Example.FromString(ex.SerializeToString())
    assert back == ex
    f = back.features.feature
    assert list(f["label"].int64_list.value) == [3, -4]
    assert list(f["score"].float_list.value) == [0.5, 1.25]
    assert f["name"].bytes_list.value[0] == b"x\x00y"
    assert f["name"].WhichOneof("kind") == "bytes_list" and "label" in f
    assert not back.features.feature["new"].HasField("int64_list")  # created on access
    back.features.feature["new"].int64_list.value.append(5)
    assert back.features.feature["new"].WhichOneof("kind") == "int64_list"
    msg = tf.train.Example()
    assert msg.ParseFromString(ex.SerializeToString()) == len(ex.SerializeToString())
    assert msg == ex and 'key: "label"' in str(msg)
    with pytest.raises(TypeError, match="bytes"):
        tf.train.BytesList(value=["text"])
    with pytest.raises(TypeError, match="int"):
        tf.train.Int64List(value=[1.5])
    with pytest.raises(ValueError, match="range"):
        tf.train.Int64List(value=[2 ** 63])
    with pytest.raises(AttributeError, match="CopyFrom"):
        msg.features = tf.train.Features()


def test_decoder_accepts_unpacked_values_and_skips_unknown_fields():
    # int64 7 unpacked (key 0x08), an unknown varint field 5, float 2.0 unpacked (key 0x0d)
    assert list(tf.train.Int64List.FromString(b"\x08\x07\x28\x01").value) == [7]
    assert list(tf.train.FloatList.FromString(b"\x0d\x00\x00\x00\x40").value) == [2.0]
    with pytest.raises(example_proto.DecodeError):
        tf.train.Example.FromString(b"\x0a\x05ab")  # length past the end
    parsed = example_proto.parse_features(_example(a=[1.0, 2.0]).SerializeToString())
    assert parsed["a"][0] == "float" and parsed["a"][1].tolist() == [1.0, 2.0]


def test_sequence_example_round_trip():
    se = tf.train.SequenceExample()
    se.context.feature["len"].int64_list.value.append(2)
    fl = se.feature_lists.feature_list["tokens"]
    fl.feature.add().int64_list.value.extend([1, 2])
    fl.feature.add().int64_list.value.append(3)
    back = tf.train.SequenceExample.FromString(se.SerializeToString())
    assert [list(f.int64_list.value) for f in back.feature_lists.feature_list["tokens"].feature] \
        == [[1, 2], [3]]
    ctx, lists = example_proto.parse_sequence_example(se.SerializeToString())
    assert ctx["len"] == ("int64", [2]) and lists["tokens"][1] == ("int64", [3])


# ----------------------------------------------------------------------------------------------
# parse_example / parse_single_example
# ----------------------------------------------------------------------------------------------
SPEC = {
    "label": tf.FixedLenFeature([], tf.int64),
    "xy": tf.FixedLenFeature([2], tf.float32, default_value=[-1.0, -2.0]),
    "name": tf.FixedLenFeature([], tf.string, default_value=b"?"),
    "ids": tf.VarLenFeature(tf.int64),
    "seq": tf.FixedLenSequenceFeature([2], tf.float32, allow_missing=True),
}


def _batch():
    return [_example(label=[1], xy=[0.5, 1.5], ids=[4, 5, 6], seq=[1.0, 2.0, 3.0, 4.0]).
            SerializeToString(),
            _example(label=[2], name=[b"two"]).SerializeToString()]


def test_parse_example_values_defaults_sparse_and_sequences():
    ser = tf.placeholder(tf.string, [None])
    out = tf.parse_example(ser, SPEC)
    assert out["xy"].shape.as_list() == [None, 2] and isinstance(out["ids"], tf.SparseTensor)
    assert out["seq"].shape.as_list() == [None, None, 2]
    with tf.Session() as sess:
        r = sess.run(out, {ser: _batch()})
    assert r["label"].tolist() == [1, 2]
    np.testing.assert_array_equal(r["xy"], [[0.5, 1.5], [-1.0, -2.0]])
    assert r["name"].tolist() == [b"?", b"two"]
    assert r["ids"].indices.tolist() == [[0, 0], [0, 1], [0, 2]]
    assert r["ids"].values.tolist() == [4, 5, 6] and r["ids"].dense_shape.tolist() == [2, 3]
    np.testing.assert_array_equal(r["seq"], [[[1, 2], [3, 4]], [[0, 0], [0, 0]]])


def test_parse_single_example_shapes():
    out = tf.parse_single_example(tf.constant(_batch()[0]), SPEC)
    assert out["label"].shape.as_list() == [] and out["xy"].shape.as_list() == [2]
    with tf.Session() as sess:
        r = sess.run(out)
    assert r["label"] == 1 and r["ids"].indices.tolist() == [[0], [1], [2]]
    assert r["ids"].dense_shape.tolist() == [3] and r["seq"].shape == (2, 2)


@pytest.mark.parametrize("record,match", [
    (_example(xy=[1.0, 2.0]), r"Index: 1, Feature: label \(data type: int64\) is required"),
    (_example(label=[1.5]), r"Index: 1, Key: label.*Data types don't match. Data type: float "
                            r"but expected type: int64"),
    (_example(label=[1], xy=[1.0, 2.0, 3.0]), r"Key: xy.*Values size: 3 but output shape: \[2\]"),
    (_example(label=[1], seq=[1.0]), r"Key: seq.*not a multiple"),
])
def test_records_not_matching_the_spec_name_record_and_feature(record, match):
    ser = tf.placeholder(tf.string, [None])
    out = tf.parse_example(ser, SPEC)
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match=match):
            sess.run(out, {ser: [_batch()[0], record.SerializeToString()]})


def test_garbage_and_example_names():
    ser = tf.placeholder(tf.string, [None])
    out = tf.parse_example(ser, SPEC, example_names=["first", "second"])
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match="Name: second.*Could not parse example input"):
            sess.run(out, {ser: [_batch()[0], b"\xff\xff\xff"]})


def test_spec_errors_at_construction():
    s = tf.constant([b""])
    with pytest.raises(ValueError, match="need to be known"):
        tf.parse_example(s, {"a": tf.FixedLenFeature([None], tf.int64)})
    with pytest.raises(ValueError, match="Unsupported dtype"):
        tf.parse_example(s, {"a": tf.VarLenFeature(tf.int32)})
    with pytest.raises(ValueError, match="allow_missing"):
        tf.parse_example(s, {"a": tf.FixedLenSequenceFeature([], tf.int64)})
    with pytest.raises(ValueError, match="default_value"):
        tf.parse_example(s, {"a": tf.FixedLenFeature([2], tf.int64, default_value=[1, 2, 3])})


# ----------------------------------------------------------------------------------------------
# decode_raw
# ----------------------------------------------------------------------------------------------
def test_decode_raw_types_endianness_and_errors():
    x = np.array([1, -2, 70000], np.int32)
    s = tf.constant([x.tobytes(), (x * 2).tobytes()])
    big = tf.constant([x.astype(">i4").tobytes()])
    bad = tf.placeholder(tf.string, [None])
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(tf.decode_raw(s, tf.int32)), [x, x * 2])
        np.testing.assert_array_equal(sess.run(tf.decode_raw(big, tf.int32,
                                                             little_endian=False)), [x])
        assert sess.run(tf.decode_raw(tf.constant(b"\x01\x02"), tf.uint8)).tolist() == [1, 2]
        with pytest.raises(tf.errors.InvalidArgumentError, match="not a multiple of 4"):
            sess.run(tf.decode_raw(bad, tf.int32), {bad: [b"abc"]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="same size"):
            sess.run(tf.decode_raw(bad, tf.uint8), {bad: [b"ab", b"abc"]})
    assert tf.decode_raw(s, tf.float32).shape.as_list() == [2, None]


def _protobuf_example_classes():
    """TensorFlow's Example messages built with the protobuf package from a descriptor."""
    pb = pytest.importorskip("google.protobuf")
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    del pb
    fd = descriptor_pb2.FileDescriptorProto(name="tfnb_test_example.proto",
                                            package="tfnb_test", syntax="proto3")
    F = descriptor_pb2.FieldDescriptorProto

    def msg(name, *fields, map_entry=False):
        m = fd.message_type.add(name=name)
        if map_entry:
            m.options.map_entry = True
        for fname, num, ftype, label, tname, packed in fields:
            f = m.field.add(name=fname, number=num, type=ftype, label=label)
            if tname:
                f.type_name = tname
            if packed:
                f.options.packed = True
        return m

    rep, opt = F.LABEL_REPEATED, F.LABEL_OPTIONAL
    msg("BytesList", ("value", 1, F.TYPE_BYTES, rep, None, False))
    msg("FloatList", ("value", 1, F.TYPE_FLOAT, rep, None, True))
    msg("Int64List", ("value", 1, F.TYPE_INT64, rep, None, True))
    feature = msg("Feature", ("bytes_list", 1, F.TYPE_MESSAGE, opt, ".tfnb_test.BytesList", False),
                  ("float_list", 2, F.TYPE_MESSAGE, opt, ".tfnb_test.FloatList", False),
                  ("int64_list", 3, F.TYPE_MESSAGE, opt, ".tfnb_test.Int64List", False))
    feature.oneof_decl.add(name="kind")
    for f in feature.field:
        f.oneof_index = 0
    features = msg("Features", ("feature", 1, F.TYPE_MESSAGE, rep,
                                ".tfnb_test.Features.FeatureEntry", False))
    entry = features.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=opt)
    entry.field.add(name="value", number=2, type=F.TYPE_MESSAGE, label=opt,
                    type_name=".tfnb_test.Feature")
    msg("Example", ("features", 1, F.TYPE_MESSAGE, opt, ".tfnb_test.Features", False))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tfnb_test.Example"))


def test_same_bytes_as_the_protobuf_package():
    PbExample = _protobuf_example_classes()
    ours = _example(label=[5, -7], score=[0.25, -1e30], name=[b"\x00abc", b""], empty=[])
    pb = PbExample()
    f = pb.features.feature
    f["label"].int64_list.value.extend([5, -7])
    f["score"].float_list.value.extend([0.25, -1e30])
    f["name"].bytes_list.value.extend([b"\x00abc", b""])
    f["empty"].bytes_list.SetInParent()
    assert ours.SerializeToString() == pb.SerializeToString(deterministic=True)
    back = PbExample.FromString(ours.SerializeToString())
    assert list(back.features.feature["label"].int64_list.value) == [5, -7]
    mine = tf.train.Example.FromString(pb.SerializeToString())
    assert mine == ours


def test_decode_csv_types_quotes_defaults_and_errors():
    lines = tf.placeholder(tf.string, [None])
    cols = tf.decode_csv(lines, [[0], [0.0], tf.constant([], tf.string), [-1]],
                         field_delim=",")
    with tf.Session() as sess:
        a, b, c, d = sess.run(cols, {lines: ['1,2.5,"x, ""y""",7', '3,,z,']})
        assert a.tolist() == [1, 3] and a.dtype == np.int32
        assert b.tolist() == [2.5, 0.0] and b.dtype == np.float32
        assert c.tolist() == [b'x, "y"', b"z"] and d.tolist() == [7, -1]
        with pytest.raises(tf.errors.InvalidArgumentError, match="Expect 4 fields but have 3 "
                           "in record 1"):
            sess.run(cols, {lines: ["1,2,x,4", "1,2,x"]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="Field 2 is required"):
            sess.run(cols, {lines: ["1,2,,4"]})
        with pytest.raises(tf.errors.InvalidArgumentError, match="Field 0 in record 0 is not a "
                           "valid int"):
            sess.run(cols, {lines: ["1.5,2,x,4"]})
    sel = tf.decode_csv(tf.constant(["a|b|c"]), [[""], [""]], field_delim="|",
                        select_cols=[0, 2])
    with tf.Session() as sess:
        assert [v.tolist() for v in sess.run(sel)] == [[b"a"], [b"c"]]
