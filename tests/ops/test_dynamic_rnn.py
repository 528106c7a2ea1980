"""dynamic_rnn / bidirectional_dynamic_rnn / raw_rnn: the same outputs, final states and
gradients as the static unrolling on the same weights (with sequence_length masking and
time_major), TF1 variable names, numerical gradients, and bad input."""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients
from tfnb.util import nest

B, T, D, H = 3, 5, 4, 6
RNG = np.random.RandomState(0)
X = RNG.randn(B, T, D)
LENS = np.array([4, 1, 3], np.int32)  # the longest is shorter than T: later steps are zeros


def _run(fetches, feed=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed)


def _cell(kind):
    return {"lstm": lambda: tf.nn.rnn_cell.BasicLSTMCell(H),
            "gru": lambda: tf.nn.rnn_cell.GRUCell(H),
            "multi": lambda: tf.nn.rnn_cell.MultiRNNCell(
                [tf.nn.rnn_cell.LSTMCell(H), tf.nn.rnn_cell.BasicRNNCell(3)])}[kind]()


@pytest.mark.parametrize("kind", ["lstm", "gru", "multi"])
@pytest.mark.parametrize("lengths", [None, LENS], ids=["full", "seq_len"])
@pytest.mark.parametrize("time_major", [False, True], ids=["batch_major", "time_major"])
def test_dynamic_rnn_equals_static_rnn(kind, lengths, time_major):
    x = tf.constant(X.transpose(1, 0, 2) if time_major else X)
    cell = _cell(kind)
    out_d, st_d = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float64,
                                    time_major=time_major)
    names = sorted(v.name for v in tf.global_variables())
    out_s, st_s = tf.nn.static_rnn(cell, tf.unstack(x, axis=0 if time_major else 1),
                                   sequence_length=lengths, dtype=tf.float64)
    assert sorted(v.name for v in tf.global_variables()) == names  # static reused them all
    assert names and all(n.startswith("rnn/") for n in names)
    out_s = tf.stack(out_s, axis=0 if time_major else 1)
    assert out_d.shape.as_list() == out_s.shape.as_list()
    w = tf.constant(RNG.randn(*out_d.shape.as_list()))
    wrt = tf.trainable_variables() + [x]

    def loss(out, st):
        return tf.reduce_sum(out * w) + tf.add_n([tf.reduce_sum(s * s) for s in nest.flatten(st)])
    g_d = tf.gradients(loss(out_d, st_d), wrt)
    g_s = tf.gradients(loss(out_s, st_s), wrt)
    d, s = _run([[out_d, nest.flatten(st_d), g_d], [out_s, nest.flatten(st_s), g_s]])
    for a, b in zip(nest.flatten(d), nest.flatten(s)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    if lengths is not None:  # past each example's length: zero outputs
        out = d[0] if not time_major else d[0].transpose(1, 0, 2)
        for i, n in enumerate(lengths):
            assert np.all(out[i, n:] == 0.0) and np.all(out[i, :n] != 0.0)


def test_lstm_names_initial_state_and_static_shapes():
    x = tf.placeholder(tf.float32, [None, T, D])
    cell = tf.nn.rnn_cell.BasicLSTMCell(H)
    c0 = tf.placeholder(tf.float32, [None, H])
    h0 = tf.placeholder(tf.float32, [None, H])
    init = tf.nn.rnn_cell.LSTMStateTuple(c0, h0)
    out, st = tf.nn.dynamic_rnn(cell, x, initial_state=init)
    assert sorted(v.name for v in tf.global_variables()) == [
        "rnn/basic_lstm_cell/bias:0", "rnn/basic_lstm_cell/kernel:0"]
    assert isinstance(st, tf.nn.rnn_cell.LSTMStateTuple)
    assert out.shape.as_list() == [None, T, H] and st.h.shape.as_list() == [None, H]
    xv = RNG.randn(2, T, D).astype(np.float32)
    cv, hv = RNG.randn(2, H).astype(np.float32), RNG.randn(2, H).astype(np.float32)
    out_s, st_s = tf.nn.static_rnn(cell, tf.unstack(x, axis=1), initial_state=init)
    feed = {x: xv, c0: cv, h0: hv}
    r = _run([out, st, tf.stack(out_s, 1), st_s], feed)
    np.testing.assert_allclose(r[0], r[2], rtol=1e-6)
    np.testing.assert_allclose(r[1].c, r[3].c, rtol=1e-6)
    assert r[0].dtype == np.float32


def test_dynamic_rnn_gradients_numerically():
    def build(x, c0):
        cell = tf.nn.rnn_cell.BasicLSTMCell(3, reuse=tf.AUTO_REUSE, name="c")
        state = tf.nn.rnn_cell.LSTMStateTuple(c0, tf.zeros_like(c0))
        out, st = tf.nn.dynamic_rnn(cell, x, sequence_length=[2, 3], initial_state=state)
        return tf.concat([tf.reshape(out, [-1]), tf.reshape(st.c, [-1])], 0)
    check_gradients(build, [RNG.randn(2, 3, 2), RNG.randn(2, 3)])


def test_bidirectional_dynamic_rnn_matches_two_dynamic_rnns():
    x = tf.constant(X)
    fw, bw = tf.nn.rnn_cell.GRUCell(H), tf.nn.rnn_cell.BasicLSTMCell(H)
    (o_fw, o_bw), (s_fw, s_bw) = tf.nn.bidirectional_dynamic_rnn(
        fw, bw, x, sequence_length=LENS, dtype=tf.float64)
    names = sorted(v.name for v in tf.global_variables())
    assert names[0].startswith("bidirectional_rnn/bw/basic_lstm_cell/")
    assert names[-1].startswith("bidirectional_rnn/fw/gru_cell/")
    assert o_fw.shape.as_list() == [B, T, H] and o_bw.shape.as_list() == [B, T, H]
    fw2 = tf.nn.rnn_cell.GRUCell(H, name="gru_cell", reuse=True)
    bw2 = tf.nn.rnn_cell.BasicLSTMCell(H, name="basic_lstm_cell", reuse=True)
    with tf.variable_scope("bidirectional_rnn"):
        ref_fw, ref_sfw = tf.nn.dynamic_rnn(fw2, x, LENS, dtype=tf.float64, scope="fw")
        rev = tf.reverse_sequence(x, LENS, seq_axis=1, batch_axis=0)
        tmp, ref_sbw = tf.nn.dynamic_rnn(bw2, rev, LENS, dtype=tf.float64, scope="bw")
        ref_bw = tf.reverse_sequence(tmp, LENS, seq_axis=1, batch_axis=0)
    assert sorted(v.name for v in tf.global_variables()) == names
    r = _run([o_fw, o_bw, s_fw, s_bw.c, ref_fw, ref_bw, ref_sfw, ref_sbw.c])
    for a, b in zip(r[:4], r[4:]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    # Without sequence_length the backward RNN reads the whole sequence reversed.
    (_, o_bw_full), _ = tf.nn.bidirectional_dynamic_rnn(fw2, bw2, x, dtype=tf.float64,
                                                         scope="bidirectional_rnn")
    with tf.variable_scope("bidirectional_rnn", reuse=True):
        tmp, _ = tf.nn.dynamic_rnn(bw2, tf.reverse(x, [1]), dtype=tf.float64, scope="bw")
    a, b = _run([o_bw_full, tf.reverse(tmp, [1])])
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_raw_rnn_equals_dynamic_rnn_with_lengths():
    x_tm = tf.constant(X.transpose(1, 0, 2))
    lengths = tf.constant(LENS)
    inputs_ta = tf.TensorArray(tf.float64, size=T).unstack(x_tm)
    cell = tf.nn.rnn_cell.BasicLSTMCell(H, name="lstm")

    def loop_fn(time, cell_output, cell_state, loop_state):
        state = cell.zero_state(B, tf.float64) if cell_output is None else cell_state
        finished = time >= lengths
        nxt = tf.cond(tf.reduce_all(finished), lambda: tf.zeros([B, D], tf.float64),
                      lambda: inputs_ta.read(time))
        return finished, nxt, state, cell_output, None
    out_ta, final, loop_state = tf.nn.raw_rnn(cell, loop_fn)
    assert loop_state is None
    outputs = out_ta.stack()
    same = tf.nn.rnn_cell.BasicLSTMCell(H, name="lstm", reuse=True)
    ref, ref_st = tf.nn.dynamic_rnn(same, x_tm, LENS, dtype=tf.float64, time_major=True)
    g = tf.gradients(tf.reduce_sum(outputs ** 2) + tf.reduce_sum(final.c), x_tm)[0]
    g_ref = tf.gradients(tf.reduce_sum(ref ** 2) + tf.reduce_sum(ref_st.c), x_tm)[0]
    r = _run([outputs, final.c, g, ref, ref_st.c, g_ref])
    assert r[0].shape == (LENS.max(), B, H)
    np.testing.assert_allclose(r[0], r[3][:LENS.max()], rtol=1e-12)
    np.testing.assert_allclose(r[1], r[4], rtol=1e-12)
    np.testing.assert_allclose(r[2], r[5], rtol=1e-12)


def test_bad_input():
    cell = tf.nn.rnn_cell.BasicRNNCell(2)
    x = tf.zeros([3, 4, 5])
    with pytest.raises(ValueError, match="dtype"):
        tf.nn.dynamic_rnn(cell, x)
    with pytest.raises(ValueError, match="rank at least 3"):
        tf.nn.dynamic_rnn(cell, tf.zeros([3, 4]), dtype=tf.float32)
    with pytest.raises(ValueError, match="depth of inputs"):
        tf.nn.dynamic_rnn(cell, tf.placeholder(tf.float32, [3, 4, None]), dtype=tf.float32)
    with pytest.raises(ValueError, match="sequence_length must be a vector"):
        tf.nn.dynamic_rnn(cell, x, sequence_length=[[1]], dtype=tf.float32)
    with pytest.raises(ValueError, match="sequence_length"):
        tf.nn.dynamic_rnn(cell, x, sequence_length=[1, 2], dtype=tf.float32)
    lens = tf.placeholder(tf.int32, [None])
    out, _ = tf.nn.dynamic_rnn(cell, x, sequence_length=lens, dtype=tf.float32, scope="r2")
    with pytest.raises(tf.errors.InvalidArgumentError, match="one entry per batch element"):
        _run(out, {lens: [1, 2]})
