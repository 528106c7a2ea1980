"""tf.layers and tf.contrib.layers: variable names/sharing as TF1, values against NumPy."""
import numpy as np
import pytest

import tfnb as tf


def _run(fetches, feed=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed)


def test_dense_names_reuse_and_values():
    x = tf.placeholder(tf.float32, [None, 3])
    y1 = tf.layers.dense(x, 4, activation=tf.nn.relu)
    y2 = tf.layers.dense(x, 2)
    y3 = tf.layers.dense(x, 4, name="fc")
    y4 = tf.layers.dense(x, 4, name="fc", reuse=True)
    names = sorted(v.name for v in tf.trainable_variables())
    assert names == ["dense/bias:0", "dense/kernel:0", "dense_1/bias:0", "dense_1/kernel:0",
                     "fc/bias:0", "fc/kernel:0"]
    xv = np.random.RandomState(0).randn(5, 3).astype(np.float32)
    k = [v for v in tf.trainable_variables() if v.name == "dense/kernel:0"][0]
    r = _run({"y1": y1, "k": k, "y3": y3, "y4": y4}, {x: xv})
    np.testing.assert_allclose(r["y1"], np.maximum(xv @ r["k"], 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r["y3"], r["y4"])
    assert y2.shape.as_list() == [None, 2]


def test_dense_on_rank3_input_and_regularizer_loss():
    x = tf.placeholder(tf.float32, [None, 5, 3])
    layer = tf.layers.Dense(2, kernel_regularizer=lambda w: tf.reduce_sum(tf.abs(w)))
    y = layer(x)
    assert y.shape.as_list() == [None, 5, 2]
    assert len(tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)) == 1
    assert len(layer.trainable_variables) == 2


def test_conv_pool_flatten_shapes_and_values():
    x = tf.placeholder(tf.float32, [None, 8, 8, 3])
    c = tf.layers.conv2d(x, 4, 3, padding="same", activation=tf.nn.relu)
    p = tf.layers.max_pooling2d(c, 2, 2)
    a = tf.layers.average_pooling2d(c, 2, 2)
    f = tf.layers.flatten(p)
    assert c.shape.as_list() == [None, 8, 8, 4]
    assert p.shape.as_list() == [None, 4, 4, 4] and a.shape.as_list() == [None, 4, 4, 4]
    assert f.shape.as_list() == [None, 64]
    kernel = [v for v in tf.trainable_variables() if v.name == "conv2d/kernel:0"][0]
    assert kernel.shape.as_list() == [3, 3, 3, 4]
    xv = np.random.RandomState(1).randn(2, 8, 8, 3).astype(np.float32)
    r = _run({"c": c, "p": p, "k": kernel}, {x: xv})
    pad = np.pad(xv, [(0, 0), (1, 1), (1, 1), (0, 0)])
    ref = np.zeros((2, 8, 8, 4), np.float32)
    for i in range(8):
        for j in range(8):
            ref[:, i, j, :] = np.tensordot(pad[:, i:i + 3, j:j + 3, :], r["k"], axes=3)
    np.testing.assert_allclose(r["c"], np.maximum(ref, 0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(r["p"], r["c"].reshape(2, 4, 2, 4, 2, 4).max(axis=(2, 4)), rtol=1e-6)


def test_dropout_training_flag_bool_and_tensor():
    x = tf.ones([1000])
    assert np.all(_run(tf.layers.dropout(x, rate=0.5, training=False)) == 1.0)
    train_out = _run(tf.layers.dropout(x, rate=0.5, training=True, seed=3))
    assert set(np.unique(train_out)) <= {0.0, 2.0} and 350 < (train_out == 0).sum() < 650
    flag = tf.placeholder(tf.bool, [])
    y = tf.layers.dropout(x, rate=0.5, training=flag, seed=3)
    assert np.all(_run(y, {flag: False}) == 1.0)
    assert (_run(y, {flag: True}) == 0).sum() > 300


def test_batch_normalization_train_and_inference_and_update_ops():
    x = tf.placeholder(tf.float32, [None, 3])
    training = tf.placeholder(tf.bool, [])
    y = tf.layers.batch_normalization(x, training=training, momentum=0.5)
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert len(updates) == 2
    names = sorted(v.name for v in tf.global_variables())
    assert names == ["batch_normalization/beta:0", "batch_normalization/gamma:0",
                     "batch_normalization/moving_mean:0", "batch_normalization/moving_variance:0"]
    xv = np.random.RandomState(2).randn(16, 3).astype(np.float32) * 3 + 5
    mm = [v for v in tf.global_variables() if "moving_mean" in v.name][0]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        out = sess.run(y, {x: xv, training: True})
        np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
        np.testing.assert_allclose(out.std(0), 1, atol=1e-2)
        sess.run(updates, {x: xv, training: True})
        np.testing.assert_allclose(sess.run(mm), 0.5 * xv.mean(0), rtol=1e-5)
        inf = sess.run(y, {x: xv, training: False})
        assert not np.allclose(inf, out)


def test_contrib_layers_initializers_and_regularizers():
    init = tf.contrib.layers.xavier_initializer(seed=1)
    w = tf.get_variable("w", [200, 300], initializer=init)
    l2 = tf.contrib.layers.l2_regularizer(0.5)(tf.constant([3.0, 4.0]))
    l1 = tf.contrib.layers.l1_regularizer(0.1)(tf.constant([3.0, -4.0]))
    wv, l2v, l1v = _run([w, l2, l1])
    limit = np.sqrt(6.0 / (200 + 300))
    assert np.abs(wv).max() <= limit and np.abs(wv).max() > 0.9 * limit
    assert l2v == pytest.approx(0.5 * 25 / 2) and l1v == pytest.approx(0.7)
    with pytest.raises(ValueError):
        tf.contrib.layers.l2_regularizer(-1.0)
    x = tf.placeholder(tf.float32, [None, 4])
    fc = tf.contrib.layers.fully_connected(x, 3)
    assert fc.shape.as_list() == [None, 3]
    assert np.all(_run(fc, {x: np.ones((2, 4))}) >= 0)  # ReLU by default
