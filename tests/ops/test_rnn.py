"""RNN cells and static unrolling against NumPy references; TF1 variable names; masking."""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _run(fetches, feed=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed)


def test_basic_lstm_static_rnn_matches_numpy_and_names():
    rng = np.random.RandomState(0)
    T, B, D, H = 4, 3, 5, 6
    xs_np = rng.randn(T, B, D).astype(np.float32)
    xs = [tf.constant(x) for x in xs_np]
    cell = tf.nn.rnn_cell.BasicLSTMCell(H, forget_bias=1.0)
    outs, state = tf.nn.static_rnn(cell, xs, dtype=tf.float32)
    names = sorted(v.name for v in tf.trainable_variables())
    assert names == ["rnn/basic_lstm_cell/bias:0", "rnn/basic_lstm_cell/kernel:0"]
    k, b = cell.trainable_variables
    res = _run({"outs": outs, "c": state.c, "h": state.h, "k": k, "b": b})
    c = np.zeros((B, H), np.float32)
    h = np.zeros((B, H), np.float32)
    for t in range(T):
        z = np.concatenate([xs_np[t], h], 1) @ res["k"] + res["b"]
        i, j, f, o = np.split(z, 4, axis=1)
        c = c * _sig(f + 1.0) + _sig(i) * np.tanh(j)
        h = np.tanh(c) * _sig(o)
        np.testing.assert_allclose(res["outs"][t], h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res["c"], c, rtol=1e-5, atol=1e-6)


def test_gru_and_basic_rnn_and_multi_cell_names():
    x = [tf.constant(np.ones((2, 3), np.float32))] * 2
    multi = tf.nn.rnn_cell.MultiRNNCell([tf.nn.rnn_cell.GRUCell(4), tf.nn.rnn_cell.BasicRNNCell(5)])
    outs, state = tf.nn.static_rnn(multi, x, dtype=tf.float32)
    names = sorted(v.name for v in tf.trainable_variables())
    assert names == [
        "rnn/multi_rnn_cell/cell_0/gru_cell/candidate/bias:0",
        "rnn/multi_rnn_cell/cell_0/gru_cell/candidate/kernel:0",
        "rnn/multi_rnn_cell/cell_0/gru_cell/gates/bias:0",
        "rnn/multi_rnn_cell/cell_0/gru_cell/gates/kernel:0",
        "rnn/multi_rnn_cell/cell_1/basic_rnn_cell/bias:0",
        "rnn/multi_rnn_cell/cell_1/basic_rnn_cell/kernel:0"]
    assert outs[-1].shape.as_list() == [2, 5] and len(state) == 2
    r = _run(outs[-1])
    assert r.shape == (2, 5) and np.all(np.abs(r) < 1.0)


def test_gru_matches_numpy():
    rng = np.random.RandomState(1)
    x_np = rng.randn(2, 3).astype(np.float32)
    h_np = rng.randn(2, 4).astype(np.float32)
    cell = tf.nn.rnn_cell.GRUCell(4)
    out, _ = cell(tf.constant(x_np), tf.constant(h_np))
    gk, gb, ck, cb = cell.trainable_variables
    r = _run({"out": out, "gk": gk, "gb": gb, "ck": ck, "cb": cb})
    g = _sig(np.concatenate([x_np, h_np], 1) @ r["gk"] + r["gb"])
    rr, u = np.split(g, 2, axis=1)
    c = np.tanh(np.concatenate([x_np, rr * h_np], 1) @ r["ck"] + r["cb"])
    np.testing.assert_allclose(r["out"], u * h_np + (1 - u) * c, rtol=1e-5, atol=1e-6)
    assert np.allclose(r["gb"], 1.0)  # TF1 gate bias initializer


def test_lstm_cell_peepholes_projection_shapes_and_gradient():
    cell = tf.nn.rnn_cell.LSTMCell(5, use_peepholes=True, num_proj=3, cell_clip=2.0)
    x = tf.placeholder(tf.float32, [None, 4])
    outs, state = tf.nn.static_rnn(cell, [x, x], dtype=tf.float32)
    assert outs[0].shape.as_list() == [None, 3]
    assert state.c.shape.as_list() == [None, 5] and state.h.shape.as_list() == [None, 3]
    assert any("w_f_diag" in v.name for v in tf.trainable_variables())
    assert any("projection/kernel" in v.name for v in tf.trainable_variables())
    assert _run(outs[1], {x: np.ones((2, 4))}).shape == (2, 3)


def test_sequence_length_masks_outputs_and_freezes_state():
    cell = tf.nn.rnn_cell.BasicRNNCell(3)
    x_np = np.random.RandomState(2).randn(3, 2, 4).astype(np.float32)
    xs = [tf.constant(v) for v in x_np]
    outs, state = tf.nn.static_rnn(cell, xs, dtype=tf.float32, sequence_length=[1, 3])
    r = _run({"outs": outs, "state": state})
    assert np.all(r["outs"][1][0] == 0) and np.all(r["outs"][2][0] == 0)
    np.testing.assert_allclose(r["state"][0], r["outs"][0][0])
    np.testing.assert_allclose(r["state"][1], r["outs"][2][1])


def test_rnn_gradients_numerically():
    def build(x):
        with tf.variable_scope("g", initializer=tf.constant_initializer(0.1)):
            cell = tf.nn.rnn_cell.BasicLSTMCell(3)
            outs, _ = tf.nn.static_rnn(cell, tf.unstack(x, axis=0), dtype=tf.float64)
        return outs[-1]
    check_gradients(build, [np.random.RandomState(3).randn(3, 2, 2)], atol=1e-6)


def test_dropout_and_residual_wrappers():
    base = tf.nn.rnn_cell.BasicRNNCell(4)
    res = tf.nn.rnn_cell.ResidualWrapper(base)
    x = tf.constant(np.ones((2, 4), np.float32))
    out, _ = res(x, base.zero_state(2, tf.float32))
    drop = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.BasicRNNCell(4), output_keep_prob=0.5,
                                         seed=1)
    out2, _ = drop(x, tf.zeros([2, 4]))
    r = _run({"res": out, "drop": out2})
    assert np.all(r["res"] > 0.0)  # 1 + tanh(...) > 0
    assert r["drop"].shape == (2, 4)


def test_legacy_sequence_loss():
    logits = [tf.constant([[2.0, 0.0], [0.0, 1.0]])] * 2
    targets = [tf.constant([0, 1])] * 2
    weights = [tf.constant([1.0, 1.0])] * 2
    loss = tf.contrib.legacy_seq2seq.sequence_loss(logits, targets, weights)
    l1 = np.log1p(np.exp(-2.0))
    l2 = np.log1p(np.exp(-1.0))
    np.testing.assert_allclose(_run(loss), (l1 + l2) / 2, rtol=1e-6)
    s2s = tf.contrib.seq2seq.sequence_loss(tf.stack(logits, 1), tf.stack(targets, 1),
                                           tf.ones([2, 2]))
    np.testing.assert_allclose(_run(s2s), (l1 + l2) / 2, rtol=1e-6)


def test_cell_rejects_unknown_input_depth():
    cell = tf.nn.rnn_cell.BasicLSTMCell(3)
    with pytest.raises(ValueError, match="inputs.shape"):
        cell(tf.placeholder(tf.float32, [2, None]), cell.zero_state(2, tf.float32))
