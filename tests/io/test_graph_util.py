"""tf.graph_util (freezing, pruning, cleaning graphs) and tf.train.init_from_checkpoint."""
import os

import numpy as np
import pytest

import tfnb as tf

X = np.random.RandomState(0).randn(8, 4).astype(np.float32)
Y = (X.sum(axis=1) > 0).astype(np.int32)


def _trained_model():
    """A two-layer classifier of resource variables, trained a few steps."""
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    y = tf.placeholder(tf.int32, [None], name="y")
    with tf.variable_scope("dense"):
        w = tf.get_variable("w", initializer=tf.random_normal([4, 8], seed=1))
        b = tf.get_variable("b", initializer=tf.zeros([8]))
    hidden = tf.nn.relu(tf.matmul(x, w) + b)
    with tf.variable_scope("out"):
        w2 = tf.get_variable("w", initializer=tf.random_normal([8, 2], seed=2))
    logits = tf.matmul(hidden, w2, name="logits")
    tf.nn.softmax(tf.identity(logits, name="logits_copy"), name="probs")
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                         logits=logits))
    return tf.train.GradientDescentOptimizer(0.5).minimize(loss)


def test_freeze_write_as_tensorflow_pb_and_import_predicts_the_same(tmp_path):
    with tf.Graph().as_default() as g:
        train = _trained_model()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(5):
                sess.run(train, {"x:0": X, "y:0": Y})
            want = sess.run("probs:0", {"x:0": X})
            frozen = tf.graph_util.convert_variables_to_constants(sess, sess.graph_def, ["probs"])
    assert type(frozen).DESCRIPTOR.full_name == "tensorflow.GraphDef"
    ops = {n.name: n.op for n in frozen.node}
    assert not {"VarHandleOp", "ReadVariableOp", "AssignVariableOp"} & set(ops.values())
    assert ops["dense/w"] == "Const" and "train" not in ops  # training ops are pruned
    path = tf.train.write_graph(frozen, str(tmp_path), "frozen.pb", as_text=False)
    with open(path, "rb") as f:
        gd = tf.GraphDef.FromString(f.read())
    assert type(gd).DESCRIPTOR.full_name == "tensorflow.GraphDef"  # TensorFlow's format
    with tf.Graph().as_default():
        probs, = tf.import_graph_def(gd, return_elements=["probs:0"], name="frozen")
        with tf.Session() as sess:
            got = sess.run(probs, {"frozen/x:0": X})
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert len(g.get_operations()) > len(frozen.node)


def test_whitelist_and_blacklist_keep_variables():
    with tf.Graph().as_default():
        _trained_model()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            kept = tf.compat.v1.graph_util.convert_variables_to_constants(
                sess, sess.graph_def, ["probs"], variable_names_blacklist=["out/w"])
            only = tf.graph_util.convert_variables_to_constants(
                sess, sess.graph_def, ["probs"], variable_names_whitelist=["dense/b"])
    assert {n.name: n.op for n in kept.node}["out/w"] == "VarHandleOp"
    ops = {n.name: n.op for n in only.node}
    assert ops["dense/b"] == "Const" and ops["dense/w"] == "VarHandleOp"
    assert tf.compat.v1.graph_util is tf.graph_util


def test_extract_sub_graph_keeps_what_the_destinations_need_in_order():
    with tf.Graph().as_default() as g:
        a = tf.constant(1.0, name="a")
        b = tf.constant(2.0, name="b")
        with tf.control_dependencies([b]):
            c = tf.add(a, 1.0, name="c")
        tf.multiply(c, 3.0, name="d")
        tf.constant(9.0, name="unused")
    sub = tf.graph_util.extract_sub_graph(g.as_graph_def(), ["d"])
    names = [n.name for n in sub.node]
    assert "unused" not in names and {"a", "b", "c", "d"} <= set(names)
    assert names == [n for n in (op.name for op in g.get_operations()) if n in names]
    with pytest.raises(TypeError, match="list"):
        tf.graph_util.extract_sub_graph(sub, "d")
    with pytest.raises(AssertionError, match="nothere is not in graph"):
        tf.graph_util.extract_sub_graph(sub, ["nothere"])


def test_remove_training_nodes_splices_identities_and_drops_check_numerics():
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, [2], name="x")
        checked = tf.check_numerics(x, "bad", name="check")
        ident = tf.identity(checked, name="ident")
        kept = tf.identity(ident, name="kept")
        with tf.control_dependencies([kept]):
            tf.identity(x, name="ordered")  # an Identity with a control input stays
        tf.negative(kept, name="out")
    gd = tf.graph_util.remove_training_nodes(g.as_graph_def(), protected_nodes=["kept"])
    nodes = {n.name: n for n in gd.node}
    assert "check" not in nodes and "ident" not in nodes
    assert list(nodes["kept"].input) == ["x"] and list(nodes["out"].input) == ["kept"]
    assert "ordered" in nodes
    with tf.Graph().as_default():
        out, = tf.import_graph_def(gd, return_elements=["out:0"])
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(out, {"import/x:0": [1.0, -2.0]}), [-1.0, 2.0])


def test_must_run_on_cpu_and_tensor_shape_from_node_def_name():
    with tf.Graph().as_default() as g:
        i = tf.constant([1, 2], name="i")
        f = tf.constant([1.0], name="f")
        tf.cast(i, tf.float32, name="cast")
        v = tf.Variable(1.0, name="v")
    gd = tf.graph_util.extract_sub_graph(g.as_graph_def(), ["i", "f", "cast", "v"])
    nodes = {n.name: n for n in gd.node}
    assert tf.graph_util.must_run_on_cpu(nodes["i"]) and tf.graph_util.must_run_on_cpu(i.op)
    assert not tf.graph_util.must_run_on_cpu(nodes["f"]) and not tf.graph_util.must_run_on_cpu(f.op)
    assert tf.graph_util.must_run_on_cpu(nodes["cast"])
    assert not tf.graph_util.must_run_on_cpu(nodes["v"])
    assert tf.graph_util.must_run_on_cpu(v.op, pin_variables_on_cpu=True)
    assert tf.graph_util.tensor_shape_from_node_def_name(g, "i").as_list() == [2]
    assert tf.graph_util.tensor_shape_from_node_def_name(g, "f:0").as_list() == [1]


# ----------------------------------------------------------------------------------------------
# init_from_checkpoint
# ----------------------------------------------------------------------------------------------
VALUES = {"old/w": np.arange(6, dtype=np.float32).reshape(2, 3),
          "old/inner/b": np.array([7.0, 8.0], np.float32), "top": np.float32(5.0)}


def _checkpoint(directory, fmt):
    with tf.Graph().as_default():
        with tf.variable_scope("old"):
            tf.get_variable("w", initializer=VALUES["old/w"])
            with tf.variable_scope("inner"):
                tf.get_variable("b", initializer=VALUES["old/inner/b"])
        tf.get_variable("top", initializer=VALUES["top"])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return tf.train.Saver(format=fmt).save(sess, os.path.join(str(directory), "m"))


def _new_variables():
    with tf.variable_scope("new"):
        w = tf.get_variable("w", [2, 3])
        with tf.variable_scope("inner"):
            b = tf.get_variable("b", [2])
    return w, b


@pytest.mark.parametrize("fmt", ["tf", "tfnb"])
def test_init_from_checkpoint_maps_scopes_names_and_variables(tmp_path, fmt):
    path = _checkpoint(tmp_path, fmt)
    with tf.Graph().as_default():
        w, b = _new_variables()
        top = tf.get_variable("renamed_top", [])
        other = tf.Variable(np.zeros(2, np.float32), name="plain")
        tf.train.init_from_checkpoint(str(tmp_path), {"old/": "new/", "top": "renamed_top"})
        tf.train.init_from_checkpoint(path, {"old/inner/b": other})
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got = sess.run([w, b, top, other])
    for value, want in zip(got, [VALUES["old/w"], VALUES["old/inner/b"], VALUES["top"],
                                 VALUES["old/inner/b"]]):
        np.testing.assert_array_equal(value, want)


def test_init_from_checkpoint_root_mapping(tmp_path):
    path = _checkpoint(tmp_path, "tf")
    with tf.Graph().as_default():
        with tf.variable_scope("old"):
            w = tf.get_variable("w", [2, 3])
        top = tf.get_variable("top", [])
        tf.train.init_from_checkpoint(path, {"/": "/"})  # every variable from the same name
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(w), VALUES["old/w"])
            assert sess.run(top) == 5.0
    with tf.Graph().as_default():
        w, b = _new_variables()
        tf.train.init_from_checkpoint(path, {"old/inner/": "new/inner/"})
        with tf.Session() as sess:
            sess.run(b.initializer)
            np.testing.assert_array_equal(sess.run(b), VALUES["old/inner/b"])


def test_init_from_checkpoint_errors(tmp_path):
    path = _checkpoint(tmp_path, "tf")
    with tf.Graph().as_default():
        _new_variables()
        wrong = tf.get_variable("wrong", [4])
        with pytest.raises(ValueError, match="nope is not found"):
            tf.train.init_from_checkpoint(path, {"nope": "wrong"})
        with pytest.raises(ValueError, match=r"Shape of variable wrong.*old/w"):
            tf.train.init_from_checkpoint(path, {"old/w": wrong})
        with pytest.raises(ValueError, match="should map to scope only"):
            tf.train.init_from_checkpoint(path, {"old/w": "new/"})
        with pytest.raises(ValueError,
                           match=r"Tensor old/missing/inner/b \(inner/b in old/missing/\)"):
            tf.train.init_from_checkpoint(path, {"old/missing/": "new/"})
        with pytest.raises(tf.errors.NotFoundError):
            tf.train.init_from_checkpoint(str(tmp_path / "none"), {"/": "/"})


def test_checkpoint_reader_functions_exist_and_read_both_formats(tmp_path):
    for fmt in ("tf", "tfnb"):
        (tmp_path / fmt).mkdir()
        path = _checkpoint(tmp_path / fmt, fmt)
        assert tf.train.list_variables(path) == [("old/inner/b", [2]), ("old/w", [2, 3]),
                                                 ("top", [])]
        np.testing.assert_array_equal(tf.train.load_variable(path, "old/w"), VALUES["old/w"])
        reader = tf.train.NewCheckpointReader(path)
        assert reader.has_tensor("top") and reader.get_variable_to_shape_map()["old/w"] == [2, 3]
