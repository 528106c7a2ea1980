"""GraphDef export/import: round trips keep names, attrs, devices, control inputs, collections
and numbers; text and binary forms; clear errors for bad input; no pickle anywhere."""
import gzip
import json
import math
import os
import pickle
import re

import numpy as np
import pytest

import tfnb as tf
from tfnb.framework import graph_format, graph_io
from tfnb.framework.graph_io import (GraphDef, NodeDef, export_meta_graph_dict, import_graph_def,
                                     import_meta_graph_dict, write_graph)

X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0], [-2.0, 0.0, 1.0], [1.5, 1.0, -0.5]], np.float32)
Y = np.array([[1.0], [0.0], [-1.0], [2.0]], np.float32)
LR = 0.05


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------
def _build_model():
    """A tiny linear model with scopes, devices, control deps, collections and odd constants."""
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    y = tf.placeholder(tf.float32, [None, 1], name="y")
    with tf.name_scope("model"):
        with tf.device("/cpu:0"):
            w = tf.Variable(np.linspace(-0.3, 0.3, 3, dtype=np.float32).reshape(3, 1), name="w")
            b = tf.Variable(tf.zeros([1]), name="b")
        pred = tf.matmul(x, w) + b
        loss = tf.reduce_mean(tf.square(pred - y), name="loss")
    with tf.name_scope("extras"):
        flat = tf.reshape(x, [-1], name="flat")            # tuple attr
        col_sums = tf.reduce_sum(x, axis=[0], name="col_sums")  # tuple attr
        big = tf.constant(np.array([2 ** 40, -3], np.int64), name="big")
        flags = tf.constant([True, False, True], name="flags")
        words = tf.constant(["héllo", "", "w\x00rld"], name="words")
        with tf.control_dependencies([loss]):
            after = tf.identity(col_sums, name="after_loss")
    tf.add_to_collection("mine", loss)
    tf.add_to_collection("mine", after.op)
    tf.add_to_collection("mine", "a note")
    tf.add_to_collection("mine", 7)
    tf.add_to_collection(tf.GraphKeys.LOSSES, loss)
    return dict(x=x, y=y, w=w, b=b, loss=loss, flat=flat, col_sums=col_sums, big=big, flags=flags,
                words=words, after=after)


def _add_training(loss, var_list):
    """Plain SGD with tf.gradients + tf.assign_sub (no optimizer classes needed)."""
    grads = tf.gradients(loss, var_list)
    return tf.group(*[tf.assign_sub(v, LR * g) for v, g in zip(var_list, grads)], name="train")


def _train(sess, graph, prefix="", steps=4, train=None):
    loss = graph.get_tensor_by_name(prefix + "model/loss:0")
    train = train or graph.get_operation_by_name(prefix + "train")
    feed = {graph.get_tensor_by_name(prefix + "x:0"): X,
            graph.get_tensor_by_name(prefix + "y:0"): Y}
    out = []
    for _ in range(steps):
        sess.run(train, feed)
        out.append(sess.run(loss, feed))
    return np.array(out)


def _assert_same_value(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same_value(x, y)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_same_value(a[k], b[k])
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def _original_graph():
    g = tf.Graph()
    with g.as_default():
        m = _build_model()
        _add_training(m["loss"], [m["w"], m["b"]])
        tf.global_variables_initializer()
    return g, m


# ----------------------------------------------------------------------------------------------
# Round trips
# ----------------------------------------------------------------------------------------------
def test_round_trip_preserves_nodes_exactly():
    g, _ = _original_graph()
    gd = GraphDef.FromString(g.as_graph_def().SerializeToString())
    g2 = tf.Graph()
    with g2.as_default():
        assert import_graph_def(gd, name="") is None
    ops1, ops2 = g.get_operations(), g2.get_operations()
    assert [o.name for o in ops1] == [o.name for o in ops2]
    for a, b in zip(ops1, ops2):
        assert a.type == b.type and a.device == b.device, a.name
        assert [t.name for t in a.inputs] == [t.name for t in b.inputs], a.name
        assert [c.name for c in a.control_inputs] == [c.name for c in b.control_inputs], a.name
        assert [(t.dtype, t.shape) for t in a.outputs] == [(t.dtype, t.shape) for t in b.outputs]
        _assert_same_value(a.attrs, b.attrs)
    w = g2.get_operation_by_name("model/w")
    assert w.device == "/device:CPU:0"
    assert g2.get_operation_by_name("model/b/Assign").device == "/device:CPU:0"
    assert [c.name for c in g2.get_operation_by_name("extras/after_loss").control_inputs] == \
        ["model/loss"]
    # tuple-valued attrs stay tuples (kernels rely on it)
    assert type(g2.get_operation_by_name("extras/flat").get_attr("shape")) is tuple
    assert type(g2.get_operation_by_name("extras/col_sums").get_attr("axis")) is tuple
    const = g2.get_operation_by_name("extras/words").get_attr("value")
    assert not const.flags.writeable


def test_imported_graph_computes_and_trains_the_same():
    g, m = _original_graph()
    with tf.Session(graph=g) as sess:
        sess.run(g.get_operation_by_name("init"))
        expected = _train(sess, g)
        consts = sess.run([m["flat"], m["col_sums"], m["big"], m["flags"], m["words"]], {m["x"]: X})
    gd = GraphDef.from_text(g.as_graph_def().to_text())
    g2 = tf.Graph()
    with g2.as_default():
        import_graph_def(gd)
    with tf.Session(graph=g2) as sess:
        sess.run(g2.get_operation_by_name("import/init"))
        np.testing.assert_allclose(_train(sess, g2, "import/"), expected, rtol=1e-6)
        got = sess.run(["import/extras/flat:0", "import/extras/col_sums:0", "import/extras/big:0",
                        "import/extras/flags:0", "import/extras/words:0"],
                       {"import/x:0": X})
    for a, b in zip(consts, got):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert got[2].dtype == np.int64 and got[2][0] == 2 ** 40
    assert got[4].tolist() == ["héllo".encode(), b"", b"w\x00rld"]


def test_train_after_import_with_gradients_and_assign_sub():
    src = tf.Graph()
    with src.as_default():
        m = _build_model()
    gd = src.as_graph_def()

    def train_in_graph(graph, prefix):
        with graph.as_default():
            train = _add_training(graph.get_tensor_by_name(prefix + "model/loss:0"),
                                  tf.trainable_variables())
            init = tf.global_variables_initializer()
        with tf.Session(graph=graph) as sess:
            sess.run(init)
            return _train(sess, graph, prefix, train=train)

    expected = train_in_graph(src, "")
    g2 = tf.Graph()
    with g2.as_default():
        import_graph_def(gd, name="restored", import_collections=True)
        assert [v.name for v in tf.trainable_variables()] == ["restored/model/w:0",
                                                              "restored/model/b:0"]
    np.testing.assert_allclose(train_in_graph(g2, "restored/"), expected, rtol=1e-6)
    assert expected[-1] < expected[0]
    del m


def test_collections_round_trip_only_when_asked():
    g, _ = _original_graph()
    gd = g.as_graph_def()
    assert set(gd.collections) >= {"mine", "losses", "variables", "trainable_variables"}
    with tf.Graph().as_default() as g2:
        import_graph_def(gd)
        assert g2.get_all_collection_keys() == []
    with tf.Graph().as_default() as g3:
        import_graph_def(gd, import_collections=True)
        mine = g3.get_collection("mine")
        assert mine[0] is g3.get_tensor_by_name("import/model/loss:0")
        assert mine[1] is g3.get_operation_by_name("import/extras/after_loss")
        assert mine[2:] == ["a note", 7]
        gv, tv = tf.global_variables(), tf.trainable_variables()
        assert [v.name for v in gv] == ["import/model/w:0", "import/model/b:0"]
        assert gv[0] is tv[0] and gv[1] is tv[1]
        assert gv[0].initializer is g3.get_operation_by_name("import/model/w/Assign")
        assert gv[0].dtype == tf.float32 and gv[0].shape == tf.TensorShape([3, 1])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_allclose(sess.run(gv[0]).ravel(), [-0.3, 0.0, 0.3], atol=1e-7)


def test_unrepresentable_collections_are_skipped_and_listed():
    g = tf.Graph()
    with g.as_default():
        c = tf.constant(1.0, name="c")
        tf.add_to_collection("ok", c)
        tf.add_to_collection("odd", object())
        tf.add_to_collection("odd", c)
    gd = GraphDef.FromString(g.as_graph_def().SerializeToString())
    assert gd.collections == {"ok": [{"tensor": "c:0"}]}
    assert gd.skipped_collections == ["odd"]


def test_set_shape_refinement_and_colocation_survive():
    g = tf.Graph()
    with g.as_default():
        p = tf.placeholder(tf.float32, None, name="p")
        p.set_shape([2, None])
        q = p * 2.0
        with tf.colocate_with(q):
            r = tf.identity(q, name="r")
    gd = g.as_graph_def()
    with tf.Graph().as_default() as g2:
        import_graph_def(gd, name="")
        assert g2.get_tensor_by_name("p:0").shape.as_list() == [2, None]
        assert g2.get_operation_by_name("r")._colocation is g2.get_operation_by_name(q.op.name)
    assert r.op._colocation is q.op


def test_outer_device_and_name_scopes_apply_to_imported_ops():
    g = tf.Graph()
    with g.as_default():
        a = tf.placeholder(tf.float32, [2], name="a")
        with tf.device("/cpu:0"):
            tf.identity(a, name="b")
    gd = g.as_graph_def()
    with tf.Graph().as_default() as g2:
        with tf.device("/gpu:0"), tf.name_scope("outer"):
            import_graph_def(gd)
        assert g2.get_operation_by_name("outer/import/a").device == "/device:GPU:0"
        assert g2.get_operation_by_name("outer/import/b").device == "/device:CPU:0"


# ----------------------------------------------------------------------------------------------
# input_map / return_elements / naming
# ----------------------------------------------------------------------------------------------
def _feed_graph():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 2], name="x")
        y = tf.reduce_sum(x * 2.0, axis=1, name="y")
        with tf.control_dependencies([y]):
            tf.identity(x, name="z")
    return g.as_graph_def()


def test_input_map_replaces_placeholder_and_return_elements():
    gd = _feed_graph()
    with tf.Graph().as_default():
        c = tf.constant([[1.0, 2.0], [3.0, 4.0]])
        y, z = import_graph_def(gd, input_map={"x:0": c}, return_elements=["y:0", "z"])
        assert isinstance(y, tf.Tensor) and y.name == "import/y:0"
        assert y.shape.as_list() == [2]
        assert isinstance(z, tf.Operation) and z.inputs[0] is c
        y2, = import_graph_def(gd, input_map={"x": [[1.0, 1.0]]}, return_elements=["y:0"])
        assert y2.name == "import_1/y:0"
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run(y), [6.0, 14.0])
            np.testing.assert_allclose(sess.run(y2), [4.0])


def test_control_input_map():
    gd = _feed_graph()
    with tf.Graph().as_default() as g:
        gate = tf.no_op(name="gate")
        z, = import_graph_def(gd, input_map={"^y": gate}, return_elements=["z"])
        assert z.control_inputs == [gate]
        assert g.get_operation_by_name("import/y") is not None


@pytest.mark.parametrize("make_kwargs, message", [
    (lambda: dict(input_map={"nope:0": tf.constant(1.0)}), "not found in graph_def: [nope:0]"),
    (lambda: dict(input_map={"x:3": tf.constant(1.0)}), "not found in graph_def: [x:3]"),
    (lambda: dict(input_map={"x:0": tf.constant([[1, 2]])}), "has dtype int32"),
    (lambda: dict(return_elements=["nope:0"]), "'nope:0' not found"),
    (lambda: dict(return_elements=["y:3"]), "not found in graph_def"),
], ids=["unknown-node", "bad-index", "dtype", "unknown-return", "bad-return-index"])
def test_bad_input_map_and_return_elements(make_kwargs, message):
    gd = _feed_graph()
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=re.escape(message)):
            import_graph_def(gd, **make_kwargs())


def test_names_clash_get_suffixes_and_stay_reserved():
    gd = _feed_graph()
    with tf.Graph().as_default() as g:
        tf.constant(0.0, name="y")
        y, = import_graph_def(gd, name="", return_elements=["y:0"])
        assert y.name == "y_1:0"
        assert g.get_operation_by_name("x").type == "Placeholder"
        # imported names are reserved: new ops do not collide with them
        assert tf.constant(1.0, name="x").name == "x_1:0"
        assert tf.identity(y, name="z").name == "z_1:0"
    src = tf.Graph()
    with src.as_default():
        tf.constant(1.0, name="c")
        tf.constant(2.0, name="c_1")
    with tf.Graph().as_default() as g:
        tf.constant(0.0, name="c")
        c, c1 = import_graph_def(src.as_graph_def(), name="", return_elements=["c:0", "c_1:0"])
        assert (c.name, c1.name) == ("c_2:0", "c_1:0")  # a suffix never takes an imported name


def test_as_graph_def_from_version_and_add_shapes():
    g = tf.Graph()
    with g.as_default():
        tf.constant(1.0, name="a")
        v = g.version
        tf.constant([1.0, 2.0], name="b")
        tf.add_to_collection("c", 1)
    gd = g.as_graph_def(from_version=v, add_shapes=True)
    assert [n.name for n in gd.node] == ["b"] and gd.collections == {}
    assert gd.node[0].attr["_output_shapes"] == [tf.TensorShape([2])]
    with tf.Graph().as_default() as g2:
        import_graph_def(gd)
        assert "_output_shapes" not in g2.get_operation_by_name("import/b").attrs


def test_node_def_of_an_operation_is_plain_json():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 2], name="x")
        with tf.device("/cpu:0"):
            s = tf.reduce_sum(x, axis=1, name="s")
    d = s.op.node_def
    assert d["name"] == "s" and d["op"] == "Sum" and d["input"] == ["x"]
    assert d["device"] == "/device:CPU:0" and d["attr"]["axis"] == {"tuple": [1]}
    assert json.loads(json.dumps(d)) == d


def test_hand_built_graph_def():
    gd = GraphDef()
    gd.node.add(name="a", op="Const", attr={"value": np.array([1.0, 2.0], np.float32),
                                             "dtype": tf.float32})
    gd.node.add(name="b", op="Neg", input=["a"])
    with tf.Graph().as_default():
        b, = import_graph_def(gd, return_elements=["b:0"])
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(b), [-1.0, -2.0])
    assert len(gd.node) == 2 and [n.name for n in gd.node] == ["a", "b"]
    assert gd.node[1] == NodeDef(name="b", op="Neg", input=["a"])
    assert json.loads(str(gd.node[1]))["op"] == "Neg"


def test_out_of_order_nodes_are_imported_in_dependency_order():
    gd = _feed_graph()
    gd.node.reverse()
    with tf.Graph().as_default():
        y, = import_graph_def(gd, return_elements=["y:0"])
        assert y.op.inputs[0].op.name == "import/mul"


# ----------------------------------------------------------------------------------------------
# Formats and errors
# ----------------------------------------------------------------------------------------------
def test_text_and_binary_forms_parse_to_the_same_graph_def():
    g, _ = _original_graph()
    gd = g.as_graph_def()
    text, binary = gd.to_text(), gd.SerializeToString()
    assert binary.startswith(graph_io.MAGIC) and binary == gd.SerializeToString()
    assert str(gd) == text
    doc = json.loads(text)
    assert doc["format"] == "tfnb.GraphDef" and doc["version"] == 1
    assert doc["producer"] == "tfnb " + tf.__version__
    assert GraphDef.FromString(binary) == gd == GraphDef.FromString(text.encode())
    assert GraphDef.from_text(text) == gd
    parsed = GraphDef()
    assert parsed.ParseFromString(binary) == len(binary)
    assert parsed == gd and gd.ByteSize() == len(binary)
    assert len(binary) < len(text)


ATTR_VALUES = [
    None, True, False, 0, -7, 2 ** 70, 1.5, float("nan"), float("inf"), -float("inf"), "text",
    "ünï", b"\x00\xffbytes", 1 + 2j, [], [1, 2], (), (3,), (1, (2, [3, (4,)])), [(1, 2), None],
    {"k": (1, 2), "n": {"m": [tf.int64]}}, tf.float32, tf.string, tf.resource,
    tf.TensorShape(None), tf.TensorShape([]), tf.TensorShape([None, 3]),
    np.array(3.5, np.float32), np.arange(6, dtype=np.float16).reshape(2, 3),
    np.array([[1.0, -0.0], [np.inf, np.nan]], np.float64), np.array([2 ** 62, -1], np.int64),
    np.array([1, 2], np.int8), np.array([65535], np.uint16), np.array([2 ** 64 - 1], np.uint64),
    np.array([True, False]), np.array([1 + 2j], np.complex64), np.array([1 - 1j], np.complex128),
    np.zeros((0, 3), np.int32), np.array([b"a", b"", b"\x00"], dtype=object),
    np.array(b"scalar", dtype=object), np.arange(4, dtype=">i4"), np.float32(2.5), np.int64(-3),
    np.bool_(True),
]


@pytest.mark.parametrize("value", ATTR_VALUES, ids=lambda v: type(v).__name__)
def test_attr_value_round_trip(value):
    encoded = json.loads(json.dumps(graph_io._encode(value), allow_nan=False))
    decoded = graph_io._decode(encoded)
    if isinstance(value, np.ndarray) and value.dtype.byteorder == ">":
        value = value.astype(value.dtype.newbyteorder("="))
        assert decoded.dtype.isnative
    if isinstance(value, np.ndarray):
        assert decoded.dtype == value.dtype and decoded.shape == value.shape
        np.testing.assert_array_equal(decoded, value)
        assert not decoded.flags.writeable
    elif isinstance(value, np.generic):
        assert type(decoded) is type(value) and decoded == value
    else:
        _assert_same_value(value, decoded)


@pytest.mark.parametrize("bad", [object(), {1: 2}, np.array([1], dtype="datetime64[s]"),
                                 np.array([1, "x"], dtype=object), {1, 2}])
def test_unencodable_values_raise_type_error(bad):
    with pytest.raises(TypeError):
        graph_io._encode(bad)


def test_callable_attr_export_names_op_and_attr():
    g = tf.Graph()
    with g.as_default():
        x = tf.constant(1.0, name="x")
        g._create_op("Identity", [x], {"fn": lambda v: v}, name="holder")
    with pytest.raises(TypeError, match=r"attr 'fn' of node 'holder' \(op Identity\).*callable"):
        g.as_graph_def()


def _small_binary():
    return _feed_graph().SerializeToString()


def _flip(data, pos):
    return data[:pos] + bytes([data[pos] ^ 0xFF]) + data[pos + 1:]


@pytest.mark.parametrize("data, message", [
    (b"garbage", "Not a tfnb GraphDef"),
    (b"", "Not a tfnb GraphDef"),
    (b"\x08\x01\x12\x03abc", "protobuf"),
    (graph_io.MAGIC + b"not gzip", "Corrupt binary GraphDef"),
    ("truncated", "Corrupt binary GraphDef"),
    ("flipped", "Corrupt binary GraphDef"),
    (b'{"format": "tfnb.GraphDef", "version": 1, "nodes": [', "invalid JSON"),
    (b'{"format": "other"}', "Not a tfnb GraphDef"),
    (b'{"format": "tfnb.GraphDef", "version": 99, "nodes": []}', "newer"),
    (b'{"format": "tfnb.GraphDef", "version": 1, "nodes": [{"name": "a", "op": "Const", '
     b'"attr": {"value": {"tensor": {"dtype": "float32", "shape": [3], "b64": "AAAA"}}}}]}',
     "Malformed node 'a'.*needs 12"),
    (b'{"format": "tfnb.GraphDef", "version": 1, "nodes": [{"name": "a", "op": "Const", '
     b'"attr": {"v": {"pickle": "x"}}}]}', "Malformed node 'a'.*bad 'pickle' value"),
    (b'{"format": "tfnb.GraphDef", "version": 1, "nodes": [{"name": "a", "op": "Const", '
     b'"attr": {"v": {"tensor": {"dtype": "object", "shape": [], "b64": ""}}}}]}',
     "unsupported array dtype"),
])
def test_garbage_and_tampered_data_give_clear_errors(data, message):
    if data == "truncated":
        data = _small_binary()[:-9]
    elif data == "flipped":
        data = _flip(_small_binary(), len(graph_io.MAGIC) + 40)
    with pytest.raises(ValueError, match=message):
        GraphDef.FromString(data)


def test_import_rejects_unknown_ops_missing_inputs_and_altered_nodes():
    d = _feed_graph().as_dict()
    unknown = json.loads(json.dumps(d))
    unknown["nodes"][1]["op"] = "LaunchMissiles"
    missing = json.loads(json.dumps(d))
    missing["nodes"] = missing["nodes"][1:]
    altered = json.loads(json.dumps(d))
    altered["nodes"][0]["attr"]["dtype"] = {"dtype": "int32"}
    newer = json.loads(json.dumps(d))
    with tf.Graph().as_default() as g:
        with pytest.raises(ValueError, match="'LaunchMissiles', which is not registered"):
            import_graph_def(GraphDef.from_dict(unknown))
        with pytest.raises(ValueError, match="has input 'x', but the GraphDef has no node 'x'"):
            import_graph_def(GraphDef.from_dict(missing))
        assert g.get_operations() == []  # nothing imported when validation fails
        with pytest.raises(ValueError, match="produces \\['int32'\\].*recorded \\['float32'\\]"):
            import_graph_def(GraphDef.from_dict(altered))
        gd = GraphDef.from_dict(newer)
        gd.version = graph_io.VERSION + 1
        with pytest.raises(ValueError, match="format version %d, newer" % (graph_io.VERSION + 1)):
            import_graph_def(gd)
        with pytest.raises(TypeError, match="graph_def must be a GraphDef"):
            import_graph_def(b"bytes")


def test_cycles_are_reported():
    gd = GraphDef()
    gd.node.add(name="a", op="Identity", input=["b"])
    gd.node.add(name="b", op="Identity", input=["a"])
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="cycle"):
            import_graph_def(gd)


def test_no_pickle_in_the_module(monkeypatch):
    for module in (graph_io, graph_format):
        with open(module.__file__, encoding="utf-8") as f:
            source = f.read()
        assert not re.search(r"^\s*(import|from)\s+(c?pickle|dill|marshal|shelve)\b", source,
                             re.M)
        assert "allow_pickle" not in source

    def refuse(*args, **kwargs):
        raise AssertionError("pickle was used")
    for fn in ("dumps", "loads", "dump", "load"):
        monkeypatch.setattr(pickle, fn, refuse)
    g, _ = _original_graph()
    data = g.as_graph_def().SerializeToString()
    with tf.Graph().as_default():
        import_graph_def(GraphDef.FromString(data), import_collections=True)
    assert json.loads(gzip.decompress(data[len(graph_io.MAGIC):]))["format"] == "tfnb.GraphDef"


# ----------------------------------------------------------------------------------------------
# Files and meta graphs
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("as_text", [True, False])
def test_write_graph_in_tfnbs_format(tmp_path, as_text):
    g, _ = _original_graph()
    logdir = tmp_path / "new" / "dir"
    name = "graph.pbtxt" if as_text else "graph.pb"
    path = write_graph(g, str(logdir), name, as_text=as_text, format="tfnb")
    assert path == os.path.join(str(logdir), name)
    assert os.listdir(logdir) == [os.path.basename(path)]  # no temp files left behind
    with open(path, "rb") as f:
        data = f.read()
    assert data.startswith(b"{") if as_text else data.startswith(graph_io.MAGIC)
    assert GraphDef.FromString(data) == g.as_graph_def()
    # a GraphDef is accepted too, and rewriting replaces the file
    assert write_graph(g.as_graph_def(), str(logdir), os.path.basename(path), as_text,
                       format="tfnb") == path
    assert os.listdir(logdir) == [os.path.basename(path)]


@pytest.mark.parametrize("as_text", [True, False])
def test_write_graph_defaults_to_tensorflows_format_when_it_holds_the_graph(tmp_path, as_text):
    g, m = _original_graph()
    name = "graph.pbtxt" if as_text else "graph.pb"
    for source in (g, g.as_graph_def()):  # a Graph, or tfnb's GraphDef of it
        path = write_graph(source, str(tmp_path), name, as_text=as_text)
        assert os.listdir(tmp_path) == [name]
        with open(path, "rb") as f:
            data = f.read()
        assert data.startswith(b"node {") if as_text else data[:1] == b"\n"  # GraphDef field 1
        gd = GraphDef.FromString(data)
        assert type(gd).DESCRIPTOR.full_name == "tensorflow.GraphDef"
    with tf.Session(graph=g) as sess:
        sess.run(g.get_operation_by_name("init"))
        expected = _train(sess, g)
    with tf.Graph().as_default() as g2:
        import_graph_def(gd)
    with tf.Session(graph=g2) as sess:
        sess.run(g2.get_operation_by_name("import/init"))
        np.testing.assert_allclose(_train(sess, g2, "import/"), expected, rtol=1e-6)


def test_write_graph_keeps_tfnbs_format_for_graphs_tensorflows_cannot_hold(tmp_path):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [], name="x")
        tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * x), [0, x], name="loop")
    path = write_graph(g, str(tmp_path), "loop.pb", as_text=False)
    with open(path, "rb") as f:
        assert f.read().startswith(graph_io.MAGIC)  # While's function graphs: tfnb's format


def test_meta_graph_dict_round_trip():
    g, _ = _original_graph()
    meta = export_meta_graph_dict(g, clear_devices=True)
    meta["saver_def"] = {"filename_tensor_name": "save/Const:0"}  # callers may add entries
    meta = json.loads(json.dumps(meta))
    assert meta["format"] == "tfnb.MetaGraphDef"
    with tf.Graph().as_default() as g2:
        var_list = import_meta_graph_dict(meta, import_scope="m")
        assert sorted(var_list) == ["model/b:0", "model/w:0"]
        assert var_list["model/w:0"] is tf.global_variables()[0]
        assert var_list["model/w:0"].name == "m/model/w:0"
        assert g2.get_operation_by_name("m/model/w").device == ""
        with tf.Session() as sess:
            sess.run(g2.get_operation_by_name("m/init"))
            assert _train(sess, g2, "m/", steps=2).shape == (2,)
    with tf.Graph().as_default():
        assert sorted(import_meta_graph_dict(meta)) == ["model/b:0", "model/w:0"]
    with pytest.raises(ValueError, match="MetaGraphDef"):
        import_meta_graph_dict({"format": "tfnb.GraphDef"})
