"""Checkpoints: round trip, state file, max_to_keep, typed errors that change nothing,
and atomicity when the saving process is killed."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import tfnb as tf
from tfnb.framework import graph_io

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _model():
    w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2), name="w")
    b = tf.Variable(np.ones(2, np.float32), name="b")
    step = tf.Variable(0, name="step", trainable=False)
    return w, b, step


def test_round_trip_state_file_and_readers(tmp_path):
    w, b, step = _model()
    saver = tf.train.Saver(max_to_keep=2)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        paths = []
        for i in range(3):
            sess.run(step.assign_add(1))
            paths.append(saver.save(sess, str(tmp_path / "model.ckpt"), global_step=step))
        assert paths[-1].endswith("model.ckpt-3")
        assert tf.train.latest_checkpoint(str(tmp_path)) == paths[-1]
        state = tf.train.get_checkpoint_state(str(tmp_path))
        assert state.all_model_checkpoint_paths == paths[1:]
        assert not tf.train.checkpoint_exists(paths[0])  # max_to_keep=2 deleted the oldest
        sess.run(w.assign(tf.zeros([3, 2])))
        saver.restore(sess, paths[-1])
        np.testing.assert_array_equal(sess.run(w), np.arange(6).reshape(3, 2))
        assert sess.run(step) == 3
    assert dict(tf.train.list_variables(str(tmp_path))) == {"b": [2], "step": [], "w": [3, 2]}
    np.testing.assert_array_equal(tf.train.load_variable(paths[-1], "b"), [1.0, 1.0])
    assert sorted(os.listdir(tmp_path)) == ["checkpoint"] + [
        "model.ckpt-%d.%s" % (i, ext) for i in (2, 3)
        for ext in ("data-00000-of-00001", "index", "meta")]  # TensorFlow's V2 layout


def test_tfnb_format_on_request_round_trips_and_plain_numpy_reads_it(tmp_path):
    w, b, step = _model()
    saver = tf.train.Saver(format="tfnb")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        path = saver.save(sess, str(tmp_path / "model.ckpt"), global_step=7)
        sess.run(w.assign(tf.zeros([3, 2])))
        tf.train.Saver().restore(sess, path)  # a default (TensorFlow-format) Saver reads it
        np.testing.assert_array_equal(sess.run(w), np.arange(6).reshape(3, 2))
    index = json.loads((tmp_path / "model.ckpt-7.index").read_text())
    assert index["format"] == "tfnb.checkpoint"
    with np.load(tmp_path / index["data_file"], allow_pickle=False) as z:  # plain numpy reads it
        np.testing.assert_array_equal(z["w"], np.arange(6).reshape(3, 2))
    meta = (tmp_path / "model.ckpt-7.meta").read_bytes()
    assert meta.startswith(graph_io.MAGIC)  # tfnb's meta graph
    with pytest.raises(ValueError, match="format must be"):
        tf.train.Saver(format="v1")


def test_write_version_v1_writes_v2_with_a_warning(tmp_path, caplog):
    w, b, step = _model()
    saver = tf.train.Saver(write_version=tf.train.SaverDef.V1)
    assert "deprecated V1" in caplog.text
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        path = saver.save(sess, str(tmp_path / "m"), write_meta_graph=False)
    assert (tmp_path / "m.data-00000-of-00001").exists()
    assert tf.train.load_variable(path, "step") == 0


def test_without_protobuf_the_checkpoint_is_v2_and_the_meta_graph_tfnbs(tmp_path, monkeypatch,
                                                                         caplog):
    from tfnb.io import protos
    monkeypatch.setattr(protos, "available", lambda: False)
    w, b, step = _model()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        path = saver.save(sess, str(tmp_path / "m"))
    assert "protobuf is not installed" in caplog.text
    assert (tmp_path / "m.data-00000-of-00001").exists()
    assert (tmp_path / "m.meta").read_bytes().startswith(graph_io.MAGIC)
    with tf.Graph().as_default():
        restorer = tf.train.import_meta_graph(path + ".meta")
        with tf.Session() as sess:
            restorer.restore(sess, path)
            np.testing.assert_array_equal(sess.run("w:0"), np.arange(6).reshape(3, 2))


def test_restore_errors_change_nothing(tmp_path):
    w, b, step = _model()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        path = saver.save(sess, str(tmp_path / "m"))
    with tf.Graph().as_default():
        w2 = tf.Variable(np.zeros((2, 2), np.float32), name="w")  # wrong shape
        b2 = tf.Variable(np.full(2, 5.0, np.float32), name="b")
        s2 = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            with pytest.raises(tf.errors.InvalidArgumentError, match="shape"):
                s2.restore(sess, path)
            np.testing.assert_array_equal(sess.run(b2), [5.0, 5.0])  # untouched
            np.testing.assert_array_equal(sess.run(w2), np.zeros((2, 2)))
    with tf.Graph().as_default():
        tf.Variable(1.0, name="missing")
        s3 = tf.train.Saver()
        with tf.Session() as sess:
            with pytest.raises(tf.errors.NotFoundError, match="missing"):
                s3.restore(sess, path)
            with pytest.raises(tf.errors.NotFoundError):
                s3.restore(sess, str(tmp_path / "nothing"))


def test_corrupted_or_truncated_data_is_data_loss(tmp_path):
    w, b, step = _model()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        path = saver.save(sess, str(tmp_path / "m"))
        data = tmp_path / "m.data-00000-of-00001"
        blob = data.read_bytes()
        data.write_bytes(blob[: len(blob) // 2])
        sess.run(w.assign(tf.ones([3, 2])))
        with pytest.raises(tf.errors.DataLossError):
            saver.restore(sess, path)
        np.testing.assert_array_equal(sess.run(w), np.ones((3, 2)))
        (tmp_path / "m.index").write_text("not a table")
        with pytest.raises(tf.errors.DataLossError):
            saver.restore(sess, path)
        np.testing.assert_array_equal(sess.run(w), np.ones((3, 2)))


def test_var_list_dict_maps_names(tmp_path):
    w, b, step = _model()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        path = tf.train.Saver().save(sess, str(tmp_path / "m"), write_meta_graph=False)
    with tf.Graph().as_default():
        other = tf.Variable(np.zeros(2, np.float32), name="other")
        s = tf.train.Saver(var_list={"b": other})
        with tf.Session() as sess:
            s.restore(sess, path)
            np.testing.assert_array_equal(sess.run(other), [1.0, 1.0])


_KILL_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, %r)
    import tfnb as tf
    v = tf.Variable(np.zeros((2000, 2000), np.float32), name="big")
    inc = v.assign_add(tf.ones([2000, 2000]))
    saver = tf.train.Saver(format=sys.argv[2])
    with tf.Session() as sess:
        sess.run(v.initializer)
        saver.save(sess, sys.argv[1], write_meta_graph=False)
        print("first", flush=True)
        while True:
            sess.run(inc)
            saver.save(sess, sys.argv[1], write_meta_graph=False)
""")


@pytest.mark.parametrize("fmt", ["tf", "tfnb"])
def test_killed_during_save_never_destroys_previous_checkpoint(tmp_path, fmt):
    """Saves to one prefix again and again: killed at any moment, the prefix holds a whole
    checkpoint (a V2 re-save alternates shard counts so its data never replaces live data)."""
    prefix = str(tmp_path / "ckpt")
    script = tmp_path / "saver_loop.py"
    script.write_text(_KILL_SCRIPT % ROOT)
    for delay in (0.05, 0.13, 0.29, 0.41, 0.53):
        p = subprocess.Popen([sys.executable, str(script), prefix, fmt], stdout=subprocess.PIPE)
        assert p.stdout.readline().strip() == b"first"
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        p.stdout.close()
        value = tf.train.load_variable(prefix, "big")  # the latest complete checkpoint
        assert value.shape == (2000, 2000) and np.all(value == value[0, 0])
