"""tf.import_graph_def of GraphDefs written by real TensorFlow (tests/fixtures/tf and, where
present, ../shared/tfcompat/artifacts): the outputs equal what TensorFlow computed."""
import os

import numpy as np
import pytest

import tfnb as tf
from tfnb.framework.graph_io import DecodeError
from tfnb.io import protos, tf_graph_import

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures",
                        "tf")
ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "..", "shared", "tfcompat", "artifacts")
EXPECTED = np.load(os.path.join(FIXTURES, "expected.npz"), allow_pickle=True)
needs_artifacts = pytest.mark.skipif(not os.path.isdir(ARTIFACTS),
                                     reason="needs ../shared/tfcompat/artifacts")


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _graph_def(name):
    return tf.GraphDef.FromString(_read(os.path.join(FIXTURES, name)))


@needs_artifacts
def test_frozen_cnn_parses_imports_with_input_map_and_runs():
    want = np.load(os.path.join(ARTIFACTS, "expected.npz"))
    gd = tf.GraphDef()
    assert gd.ParseFromString(_read(os.path.join(ARTIFACTS, "frozen_cnn.pb"))) > 0
    assert {n.op for n in gd.node} >= {"Conv2D", "AddV2", "MaxPool", "Softmax"}
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, [None, 28, 28, 1], name="images")
        probs, conv = tf.import_graph_def(gd, input_map={"x:0": x},
                                          return_elements=["probs:0", "Conv2D"])
        assert probs.name == "import/probs:0" and conv.type == "Conv2D"
        assert g.get_tensor_by_name("import/probs:0") is probs
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run(probs, {x: want["x"]}),
                                       want["probs_after_10_steps"], rtol=1e-5, atol=1e-7)


@needs_artifacts
@pytest.mark.parametrize("name", ["graph.pb", "graph.pbtxt"])
def test_tensorflows_training_graph_imports_in_binary_and_text(name):
    gd = tf.GraphDef.FromString(_read(os.path.join(ARTIFACTS, name)))
    with tf.Graph().as_default() as g:
        tf.import_graph_def(gd, name="")
        assert g.get_operation_by_name("train").type == "AssignAddVariableOp"
        assert g.get_operation_by_name("conv1/w").type == "VarHandleOp"
        assert g.get_tensor_by_name("probs:0").shape.as_list() == [None, 10]


@pytest.mark.parametrize("name,x,y", [("mlp.pb", "mlp/x", "mlp/probs"),
                                      ("mlp.pbtxt", "mlp/x", "mlp/probs"),
                                      ("bn_conv.pb", "bn/x", "bn/y")])
def test_frozen_models_compute_what_tensorflow_computed(name, x, y):
    gd = _graph_def(name)
    with tf.Graph().as_default():
        out, = tf.import_graph_def(gd, return_elements=[y + ":0"], name="m")
        with tf.Session() as sess:
            got = sess.run(out, {"m/%s:0" % x: EXPECTED[x]})
    np.testing.assert_allclose(got, EXPECTED[y], rtol=1e-5, atol=1e-6)
    if name == "bn_conv.pb":
        assert "FusedBatchNormV3" in {n.op for n in gd.node}


def test_constants_of_every_dtype_in_content_and_repeated_fields():
    gd = _graph_def("consts.pb")
    kinds = {n.name: ("content" if n.attr["value"].tensor.tensor_content else "fields")
             for n in gd.node}
    assert set(kinds.values()) == {"content", "fields"}
    with tf.Graph().as_default():
        tf.import_graph_def(gd, name="")
        with tf.Session() as sess:
            for key in [k for k in EXPECTED.files if k.startswith("consts/")]:
                got, want = sess.run("c/%s:0" % key.split("/")[1]), EXPECTED[key]
                assert got.dtype == want.dtype and got.shape == want.shape, key
                assert got.tolist() == want.tolist(), key


def test_stateless_if_and_while_with_the_function_library():
    gd = _graph_def("cond_while.pb")
    assert {"StatelessIf", "StatelessWhile"} <= {n.op for n in gd.node} and gd.library.function
    with tf.Graph().as_default() as g:
        tf.import_graph_def(gd, name="")
        assert {op.type for op in g.get_operations()} >= {"If", "While"}
        with tf.Session() as sess:
            for k in range(2):
                got = sess.run("z:0", {"x:0": EXPECTED["cond_while/x%d" % k],
                                       "n:0": EXPECTED["cond_while/n%d" % k]})
                np.testing.assert_allclose(got, EXPECTED["cond_while/z%d" % k], rtol=1e-6)


def test_tf1_loops_are_refused_clearly_and_nothing_is_added():
    gd = _graph_def("tf1_loop.pb")
    with tf.Graph().as_default() as g:
        with pytest.raises(tf.errors.UnimplementedError,
                           match=r"TF1's frame-based control flow.*StatelessWhile"):
            tf.import_graph_def(gd)
        assert g.get_operations() == []


def test_an_op_tfnb_lacks_is_unimplemented_naming_it_and_nothing_is_added():
    gd = _graph_def("mlp.pb")
    gd.node[-1].op = "FancyNewOp"
    with tf.Graph().as_default() as g:
        with pytest.raises(tf.errors.UnimplementedError, match=r"'mlp/probs'.*'FancyNewOp'"):
            tf.import_graph_def(gd)
        assert g.get_operations() == []


def test_prefixes_return_elements_and_bad_requests():
    gd = _graph_def("mlp.pb")
    with tf.Graph().as_default():
        a, = tf.import_graph_def(gd, return_elements=["mlp/probs:0"])
        b, = tf.import_graph_def(gd, return_elements=["mlp/probs:0"])
        c, = tf.import_graph_def(gd, return_elements=["mlp/probs:0"], name="net")
        assert (a.name, b.name, c.name) == ("import/mlp/probs:0", "import_1/mlp/probs:0",
                                            "net/mlp/probs:0")
        with pytest.raises(ValueError, match="not found"):
            tf.import_graph_def(gd, return_elements=["nope:0"])
        with pytest.raises(ValueError, match="not found in graph_def"):
            tf.import_graph_def(gd, input_map={"nope:0": tf.constant(1.0)})


def test_truncated_and_flipped_files_are_decode_errors():
    data = _read(os.path.join(FIXTURES, "mlp.pb"))
    for bad in (data[:len(data) // 2], data[:-3], data[:7] + b"\xff\xff" + data[9:]):
        with pytest.raises(DecodeError, match="Not a tfnb GraphDef.*TensorFlow's GraphDef"):
            tf.GraphDef.FromString(bad)


def test_hostile_tensor_protos():
    p = protos.load()
    t = p.TensorProto(dtype=1, tensor_content=b"\0" * 8)
    t.tensor_shape.dim.add(size=3)
    with pytest.raises(ValueError, match="8 bytes of tensor_content.*needs 12"):
        tf_graph_import.tensor_proto_to_ndarray(t)
    huge = p.TensorProto(dtype=1, float_val=[1.0])
    huge.tensor_shape.dim.add(size=1 << 40)
    with pytest.raises(ValueError, match="more than the limit"):
        tf_graph_import.tensor_proto_to_ndarray(huge)
    splat = p.TensorProto(dtype=3, int_val=[1, 2])
    splat.tensor_shape.dim.add(size=4)
    assert tf_graph_import.tensor_proto_to_ndarray(splat).tolist() == [1, 2, 2, 2]
    unknown = p.TensorProto(dtype=99)  # no such DataType (bfloat16, 14, is read now)
    with pytest.raises(tf.errors.UnimplementedError, match="DataType 99"):
        tf_graph_import.tensor_proto_to_ndarray(unknown)
