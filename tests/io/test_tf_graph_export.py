"""tfnb graphs written as TensorFlow GraphDefs: tfnb -> file -> tfnb gives the same numbers,
training included; what TensorFlow lacks travels as tfnb-native nodes. (That real TensorFlow
runs these files is checked by tests/fixtures/tf/check_tf_reads_tfnb.py, run by hand.)"""
import os

import numpy as np
import pytest

import tfnb as tf
from tfnb.io import protos, tf_graph_export

RNG = np.random.RandomState(3)
X = RNG.rand(2, 6, 6, 3).astype(np.float32)
Y = np.eye(2, dtype=np.float32)


def _model():
    """A small CNN with a training step (conv, pooling, reshape, concat, mean, softmax loss)."""
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 6, 6, 3], name="x")
        y = tf.placeholder(tf.float32, [None, 2], name="y")
        w = tf.Variable(RNG.randn(3, 3, 3, 4).astype(np.float32), name="w")
        h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME"),
                                      tf.constant(np.linspace(-1, 1, 4).astype(np.float32))))
        h = tf.reshape(tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME"), [-1, 36])
        a, b = tf.split(h, [16, 20], axis=1)
        h = tf.concat([b, a, tf.reduce_mean(h, axis=1, keepdims=True)], 1)
        v = tf.Variable(RNG.randn(37, 2).astype(np.float32), name="v")
        logits = tf.add(tf.matmul(h, v), 0.1, name="logits")
        tf.nn.softmax(logits, name="probs")
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y,
                                                                        logits=logits))
        tf.train.GradientDescentOptimizer(0.1).minimize(loss, name="train")
        tf.global_variables_initializer()
    return g


def _run(graph, steps=1):
    with tf.Session(graph=graph) as sess:
        sess.run("init")
        out = [sess.run("probs:0", {"x:0": X})]
        for _ in range(steps):
            sess.run("train", {"x:0": X, "y:0": Y})
            out.append(sess.run("probs:0", {"x:0": X}))
    return out


def test_model_round_trips_through_tensorflows_graph_def_and_trains_identically():
    g = _model()
    assert tf_graph_export.unsupported_ops(g) == []
    gd = tf_graph_export.graph_to_tf_graph_def(g)
    types = {n.op for n in gd.node}
    assert {"AddV2", "VarHandleOp", "ResourceApplyGradientDescent", "BroadcastTo"} <= types
    assert "Add" not in types and "ReductionGradBroadcast" not in types
    reshape = [n for n in gd.node if n.op == "Reshape"][0]
    assert [n.op for n in gd.node if n.name == reshape.input[1]] == ["Const"]
    want = _run(g, steps=2)
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(protos.load().GraphDef.FromString(gd.SerializeToString()), name="")
    for a, b in zip(_run(g2, steps=2), want):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("as_text", [False, True])
def test_write_graph_in_tensorflows_format(tmp_path, as_text):
    g = _model()
    path = tf.train.write_graph(g, str(tmp_path), "g.pbtxt" if as_text else "g.pb",
                                as_text=as_text, format="tf")
    with open(path, "rb") as f:
        data = f.read()
    assert data.startswith(b"node {") if as_text else not data.startswith(b"{")
    gd = tf.GraphDef.FromString(data)
    assert type(gd).DESCRIPTOR.full_name == "tensorflow.GraphDef"
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(gd, name="")
    np.testing.assert_allclose(_run(g2)[1], _run(g)[1], rtol=1e-6)
    # a TensorFlow proto is written as such; a graph TensorFlow's format holds is by default
    assert tf.train.write_graph(gd, str(tmp_path), "again.pb", as_text=False)
    with open(os.path.join(str(tmp_path), "again.pb"), "rb") as f:
        assert f.read() == gd.SerializeToString()
    default = tf.train.write_graph(g, str(tmp_path), "default.pb", as_text=as_text)
    with open(default, "rb") as f:
        assert f.read() == data
    tfnb_path = tf.train.write_graph(g, str(tmp_path), "tfnb.json", format="tfnb")
    with open(tfnb_path, "rb") as f:
        assert f.read().startswith(b"{")


def test_ops_tensorflow_lacks_travel_as_native_nodes_and_strict_refuses_them():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [3], name="x")
        tf.identity(tf.reduce_logsumexp(tf.sparse.to_dense(tf.SparseTensor(
            [[0], [2]], x[:2], [3])) + x), name="out")
    missing = tf_graph_export.unsupported_ops(g)
    assert missing
    gd = tf_graph_export.graph_to_tf_graph_def(g)
    native = [n for n in gd.node if tf_graph_export.NATIVE_ATTR in n.attr]
    assert {n.op for n in native} == set(missing)
    with pytest.raises(TypeError, match="no counterpart"):
        tf_graph_export.graph_to_tf_graph_def(g, strict=True)
    xv = np.array([0.5, -1.0, 2.0], np.float32)
    with tf.Session(graph=g) as sess:
        want = sess.run("out:0", {"x:0": xv})
    with tf.Graph().as_default():
        tf.import_graph_def(gd, name="")
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run("out:0", {"x:0": xv}), want, rtol=1e-6)


def test_assign_outputs_become_reads_after_the_assignment():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(1.0, name="v")
        doubled = tf.identity(v.assign(v * 2.0), name="doubled")
        tf.global_variables_initializer()
    gd = tf_graph_export.graph_to_tf_graph_def(g)
    ident = [n for n in gd.node if n.name == "doubled"][0]
    read = [n for n in gd.node if n.name == ident.input[0]][0]
    assert read.op == "ReadVariableOp" and "^" + doubled.op.inputs[0].op.name in read.input
    with tf.Graph().as_default():
        tf.import_graph_def(gd, name="")
        with tf.Session() as sess:
            sess.run("init")
            assert sess.run("doubled:0") == 2.0 and sess.run("doubled:0") == 4.0
