"""TensorFlow's MetaGraphDef and SavedModel: files real TensorFlow wrote (tests/fixtures/tf,
../shared/tfcompat/artifacts) load, restore and train on to TensorFlow's numbers; tfnb's own
round trip; missing tags and damaged files are typed errors."""
import os
import shutil

import numpy as np
import pytest

import tfnb as tf
from tfnb.io import tf_meta_graph

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures",
                        "tf")
ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "..", "shared", "tfcompat", "artifacts")
EXPECTED = np.load(os.path.join(FIXTURES, "expected.npz"), allow_pickle=True)
needs_artifacts = pytest.mark.skipif(not os.path.isdir(ARTIFACTS),
                                     reason="needs ../shared/tfcompat/artifacts")


@needs_artifacts
def test_tensorflows_cnn_meta_graph_restores_and_trains_one_more_step(tmp_path):
    want = np.load(os.path.join(ARTIFACTS, "expected.npz"))
    directory = os.path.join(ARTIFACTS, "checkpoint_v2")
    with tf.Graph().as_default():
        saver = tf.train.import_meta_graph(os.path.join(directory, "model.ckpt-10.meta"))
        assert [v.op.name for v in tf.trainable_variables()] == ["conv1/w", "conv1/b", "fc/w",
                                                                  "fc/b"]
        assert tf.train.get_global_step().op.name == "global_step"
        with tf.Session() as sess:
            saver.restore(sess, tf.train.latest_checkpoint(directory))
            np.testing.assert_allclose(sess.run("probs:0", {"x:0": want["x"]}),
                                       want["probs_after_10_steps"], rtol=1e-5, atol=1e-7)
            sess.run(tf.get_collection("train_op")[0], {"x:0": want["x"], "y:0": want["y"]})
            np.testing.assert_allclose(sess.run("probs:0", {"x:0": want["x"]}),
                                       want["probs_after_11_steps"], rtol=1e-5, atol=1e-7)
            assert sess.run(tf.train.get_global_step()) == 11
            # the meta graph's own saver writes a checkpoint TensorFlow's format again
            path = saver.save(sess, str(tmp_path / "again"), global_step=11)
            fc_b = sess.run("fc/b/Read/ReadVariableOp:0")
    np.testing.assert_array_equal(tf.train.load_variable(path, "fc/b"), fc_b)
    assert sorted(os.listdir(tmp_path)) == ["again-11.data-00000-of-00001", "again-11.index",
                                            "again-11.meta", "checkpoint"]


@needs_artifacts
def test_tensorflows_cnn_saved_model_runs_its_signature():
    want = np.load(os.path.join(ARTIFACTS, "expected.npz"))
    with tf.Graph().as_default():
        with tf.Session() as sess:
            meta = tf.saved_model.loader.load(sess, [tf.saved_model.tag_constants.SERVING],
                                              os.path.join(ARTIFACTS, "saved_model"))
            sig = meta.signature_def[
                tf.saved_model.signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY]
            assert sig.method_name == tf.saved_model.signature_constants.PREDICT_METHOD_NAME
            got = sess.run(sig.outputs["probs"].name, {sig.inputs["x"].name: want["x"]})
    np.testing.assert_allclose(got, want["probs_after_10_steps"], rtol=1e-5, atol=1e-7)


def test_linear_fixture_meta_graph_and_saved_model():
    x, y = EXPECTED["linear/x"], EXPECTED["linear/y"]
    directory = os.path.join(FIXTURES, "linear")
    with tf.Graph().as_default():
        saver = tf.train.import_meta_graph(os.path.join(directory, "model.ckpt-3.meta"))
        with tf.Session() as sess:
            saver.restore(sess, tf.train.latest_checkpoint(directory))
            np.testing.assert_allclose(sess.run("out:0", {"x:0": x}),
                                       EXPECTED["linear/out_after_3"], rtol=1e-6)
            sess.run("train", {"x:0": x, "y:0": y})
            np.testing.assert_allclose(sess.run("out:0", {"x:0": x}),
                                       EXPECTED["linear/out_after_4"], rtol=1e-5, atol=1e-6)
    with tf.Graph().as_default(), tf.Session() as sess:
        meta = tf.saved_model.load(sess, ["serve"], os.path.join(FIXTURES, "saved_model"))
        sig = meta.signature_def["serving_default"]
        np.testing.assert_allclose(sess.run(sig.outputs["out"].name, {sig.inputs["x"].name: x}),
                                   EXPECTED["linear/out_after_3"], rtol=1e-6)


def _linear_model():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2) / 10.0, name="w")
    b = tf.Variable(np.zeros(2, np.float32), name="b")
    out = tf.add(tf.matmul(x, w), b, name="out")
    loss = tf.reduce_mean(tf.square(out - 1.0))
    step = tf.train.get_or_create_global_step()
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step, name="train")
    return x, out, train


def test_v2_saver_meta_graph_round_trip_trains_on_identically(tmp_path):
    xv = np.ones((2, 3), np.float32)
    with tf.Graph().as_default():
        x, out, train = _linear_model()
        saver = tf.train.Saver(write_version=tf.train.SaverDef.V2)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train, {x: xv})
            path = saver.save(sess, str(tmp_path / "m"), global_step=1)
            sess.run(train, {x: xv})
            want = sess.run(out, {x: xv})
        exported = saver.export_meta_graph()
        assert exported.saver_def.restore_op_name == "save/restore_all"
        assert {n.op for n in exported.graph_def.node} >= {"SaveV2", "RestoreV2", "MatMul"}
    with open(path + ".meta", "rb") as f:
        meta = tf_meta_graph.read_meta_graph(f.read())
    assert meta.saver_def.version == tf.train.SaverDef.V2 and "variables" in meta.collection_def
    assert tf_meta_graph.TFNB_GRAPH_KEY not in meta.collection_def  # TF can run every op
    with tf.Graph().as_default():
        saver = tf.train.import_meta_graph(path + ".meta")
        assert sorted(v.op.name for v in tf.global_variables()) == ["b", "global_step", "w"]
        with tf.Session() as sess:
            saver.restore(sess, path)
            assert sess.run(tf.train.get_global_step()) == 1
            sess.run("train", {"x:0": xv})
            np.testing.assert_allclose(sess.run("out:0", {"x:0": xv}), want, rtol=1e-6)


def test_v2_saver_meta_graph_of_a_while_loop_carries_tfnbs_graph(tmp_path):
    with tf.Graph().as_default():
        v = tf.Variable(2.0, name="v")
        n = tf.placeholder(tf.int32, [], name="n")
        _, out = tf.while_loop(lambda i, a: i < n, lambda i, a: (i + 1, a * v), [0, 1.0])
        tf.identity(out, name="out")
        saver = tf.train.Saver(write_version=tf.train.SaverDef.V2)
        with tf.Session() as sess:
            sess.run(v.initializer)
            path = saver.save(sess, str(tmp_path / "loop"))
    with tf.Graph().as_default():
        saver = tf.train.import_meta_graph(path + ".meta")
        with tf.Session() as sess:
            saver.restore(sess, path)
            assert sess.run("out:0", {"n:0": 3}) == 8.0


def test_saved_model_round_trip_and_signature_utils(tmp_path):
    export = str(tmp_path / "model" / "1")
    xv = np.ones((2, 3), np.float32)
    with tf.Graph().as_default():
        x, out, _ = _linear_model()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sig = tf.saved_model.predict_signature_def({"x": x}, {"out": out})
            assert sig.inputs["x"].name == "x:0" and sig.inputs["x"].dtype == 1
            assert [d.size for d in sig.inputs["x"].tensor_shape.dim] == [-1, 3]
            assert tf.saved_model.is_valid_signature(sig)
            init = tf.no_op(name="init_tables")
            b = tf.saved_model.builder.SavedModelBuilder(export)
            b.add_meta_graph_and_variables(sess, ["serve"], {"serving_default": sig},
                                           main_op=init)
            b.add_meta_graph(["eval"])
            with pytest.raises(AssertionError, match="already"):
                b.add_meta_graph(["eval"])
            b.save()
            want = sess.run(out, {x: xv})
            with pytest.raises(AssertionError, match="isn't empty"):
                tf.saved_model.builder.SavedModelBuilder(export)
    assert sorted(os.listdir(export)) == ["saved_model.pb", "variables"]
    with tf.Graph().as_default() as g, tf.Session() as sess:
        meta = tf.saved_model.loader.load(sess, ["serve"], export)
        assert list(meta.meta_info_def.tags) == ["serve"]
        assert g.get_operation_by_name("init_tables").type == "NoOp"
        s = meta.signature_def["serving_default"]
        t = tf.saved_model.utils.get_tensor_from_tensor_info(s.outputs["out"])
        np.testing.assert_allclose(sess.run(t, {s.inputs["x"].name: xv}), want)
    with tf.Graph().as_default(), tf.Session() as sess:
        assert list(tf.saved_model.loader.load(sess, ["eval"], export).meta_info_def.tags) == \
            ["eval"]


def test_missing_tags_and_damaged_saved_models_are_typed_errors(tmp_path):
    export = str(tmp_path / "m")
    with tf.Graph().as_default():
        x, out, _ = _linear_model()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            tf.saved_model.simple_save(sess, export, {"x": x}, {"out": out})
    with tf.Graph().as_default() as g, tf.Session() as sess:
        with pytest.raises(RuntimeError, match=r"tags \['train'\] could not be found.*serve"):
            tf.saved_model.loader.load(sess, ["train"], export)
        assert g.get_operations() == []
    damaged = str(tmp_path / "damaged")
    shutil.copytree(export, damaged)
    with open(os.path.join(damaged, "saved_model.pb"), "rb") as f:
        data = f.read()
    with open(os.path.join(damaged, "saved_model.pb"), "wb") as f:
        f.write(data[:len(data) // 2])
    with tf.Graph().as_default(), tf.Session() as sess:
        with pytest.raises(tf.errors.DataLossError, match="saved_model.pb"):
            tf.saved_model.loader.load(sess, ["serve"], damaged)
    shutil.rmtree(damaged)
    shutil.copytree(export, damaged)
    data_file = os.path.join(damaged, "variables", "variables.data-00000-of-00001")
    with open(data_file, "r+b") as f:
        f.seek(3)
        byte = f.read(1)
        f.seek(3)
        f.write(bytes([byte[0] ^ 0xFF]))
    with tf.Graph().as_default(), tf.Session() as sess:
        with pytest.raises(tf.errors.DataLossError, match="checksum"):
            tf.saved_model.loader.load(sess, ["serve"], damaged)
    with pytest.raises(IOError, match="does not exist"):
        with tf.Graph().as_default(), tf.Session() as sess:
            tf.saved_model.loader.load(sess, ["serve"], str(tmp_path))
