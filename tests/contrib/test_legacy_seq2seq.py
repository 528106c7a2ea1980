"""tf.contrib.legacy_seq2seq models: shapes, variable names/sharing, attention vs NumPy."""
import numpy as np
import pytest

import tfnb as tf

L = tf.contrib.legacy_seq2seq


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_attention_decoder_matches_numpy():
    rng = np.random.RandomState(0)
    inputs = [rng.randn(2, 3).astype(np.float32) for _ in range(3)]
    states = rng.randn(2, 4, 5).astype(np.float32)
    h0 = rng.randn(2, 4).astype(np.float32)
    with tf.Graph().as_default():
        cell = tf.nn.rnn_cell.BasicRNNCell(4)
        outs, state = L.attention_decoder([tf.constant(x) for x in inputs], tf.constant(h0),
                                          tf.constant(states), cell, output_size=6)
        assert [o.shape.as_list() for o in outs] == [[2, 6]] * 3
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got, got_state = sess.run([outs, state])
            w = {v.op.name: sess.run(v) for v in tf.global_variables()}
    p = "attention_decoder/"
    assert set(w) == {p + n for n in ("AttnW_0", "AttnV_0", "kernel", "bias",
                                      "basic_rnn_cell/kernel", "basic_rnn_cell/bias",
                                      "Attention_0/kernel", "Attention_0/bias",
                                      "AttnOutputProjection/kernel",
                                      "AttnOutputProjection/bias")}
    feats = states @ w[p + "AttnW_0"][0, 0]

    def attention(h):
        y = h @ w[p + "Attention_0/kernel"] + w[p + "Attention_0/bias"]
        s = (w[p + "AttnV_0"] * np.tanh(feats + y[:, None, :])).sum(2)
        return np.einsum("bt,btd->bd", _softmax(s), states)

    h, attn = h0, np.zeros((2, 5), np.float32)
    for i, x in enumerate(inputs):
        xin = np.concatenate([x, attn], 1) @ w[p + "kernel"] + w[p + "bias"]
        h = np.tanh(np.concatenate([xin, h], 1) @ w[p + "basic_rnn_cell/kernel"]
                    + w[p + "basic_rnn_cell/bias"])
        attn = attention(h)
        out = np.concatenate([h, attn], 1) @ w[p + "AttnOutputProjection/kernel"] + \
            w[p + "AttnOutputProjection/bias"]
        np.testing.assert_allclose(got[i], out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_state, h, rtol=1e-5, atol=1e-5)


def _placeholders(n, dtype=tf.int32, prefix="x"):
    return [tf.placeholder(dtype, [None], name="%s%d" % (prefix, i)) for i in range(n)]


def test_model_with_buckets_shares_variables_and_gives_per_bucket_losses():
    buckets = [(2, 3), (4, 5)]
    with tf.Graph().as_default():
        enc, dec = _placeholders(4, prefix="enc"), _placeholders(6, prefix="dec")
        targets = dec[1:]
        weights = _placeholders(5, tf.float32, prefix="w")
        cell = tf.nn.rnn_cell.GRUCell(8)

        def seq2seq(e, d):
            import copy
            return L.embedding_attention_seq2seq(e, d, copy.deepcopy(cell), 10, 11, 6)

        outputs, losses = L.model_with_buckets(enc, dec, targets, weights, buckets, seq2seq)
        assert [len(o) for o in outputs] == [3, 5]
        assert outputs[0][0].shape.as_list() == [None, 11]
        names = sorted(v.op.name for v in tf.global_variables())
        assert "embedding_attention_seq2seq/rnn/embedding_wrapper/embedding" in names
        assert ("embedding_attention_seq2seq/embedding_attention_decoder/embedding" in names)
        assert any(n.startswith("embedding_attention_seq2seq/embedding_attention_decoder/"
                                "attention_decoder/output_projection_wrapper/") for n in names)
        n_vars = len(names)
        rng = np.random.RandomState(1)
        feed = {p: rng.randint(0, 10, size=3) for p in enc + dec}
        feed.update({p: np.ones(3, np.float32) for p in weights})
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got = sess.run(losses, feed)
            logits = sess.run(outputs[1], feed)
    assert n_vars == len(set(names))          # the second bucket made no new variables
    assert all(np.isfinite(g) and g > 0 for g in got)
    # sequence_loss with unit weights: the mean cross-entropy over steps and batch
    want = np.mean([-np.log(_softmax(lg)[np.arange(3), feed[t]])
                    for lg, t in zip(logits, targets)])
    np.testing.assert_allclose(got[1], want, rtol=1e-5)


def test_model_with_buckets_rejects_short_inputs():
    with tf.Graph().as_default():
        enc = _placeholders(2)
        with pytest.raises(ValueError, match="encoder inputs"):
            L.model_with_buckets(enc, enc, enc, enc, [(3, 2)], lambda e, d: (d, None))


def test_feed_previous_tensor_selects_the_decoder_at_run_time():
    with tf.Graph().as_default():
        enc, dec = _placeholders(3, prefix="e"), _placeholders(3, prefix="d")
        feed_prev = tf.placeholder(tf.bool, [])
        outs, _ = L.embedding_attention_seq2seq(enc, dec, tf.nn.rnn_cell.GRUCell(5), 7, 7, 4,
                                                feed_previous=feed_prev)
        with tf.variable_scope("b"):
            fixed_true, _ = L.embedding_attention_seq2seq(enc, dec, tf.nn.rnn_cell.GRUCell(5),
                                                          7, 7, 4, feed_previous=True)
        n_first = len([v for v in tf.global_variables() if not v.op.name.startswith("b/")])
        n_second = len([v for v in tf.global_variables() if v.op.name.startswith("b/")])
        assert n_first == n_second                           # both decoders share variables
        rng = np.random.RandomState(0)
        feed = {p: rng.randint(0, 7, size=2) for p in enc + dec}
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            # copy the weights so the fixed feed_previous=True model is the same model
            by = {v.op.name: v for v in tf.global_variables()}
            for name, v in by.items():
                if name.startswith("b/"):
                    sess.run(tf.assign(v, by[name[2:]]))
            fed = sess.run(outs, {**feed, feed_prev: True})
            truth = sess.run(outs, {**feed, feed_prev: False})
            want = sess.run(fixed_true, feed)
    np.testing.assert_allclose(fed, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fed[0], truth[0], rtol=1e-5)         # step 0 is the same
    assert not np.allclose(fed[2], truth[2])


def test_output_projection_keeps_cell_outputs_and_rnn_decoder_loop():
    with tf.Graph().as_default():
        enc, dec = _placeholders(2), _placeholders(3, prefix="d")
        w = tf.get_variable("proj_w", [6, 9])
        b = tf.get_variable("proj_b", [9])
        outs, _ = L.embedding_attention_seq2seq(enc, dec, tf.nn.rnn_cell.GRUCell(6), 5, 9, 4,
                                                output_projection=(w, b), feed_previous=True)
        assert outs[0].shape.as_list() == [None, 6]
        x = [tf.constant(np.ones((2, 3), np.float32))] * 3
        r_outs, _ = L.rnn_decoder(x, tf.zeros([2, 4]), tf.nn.rnn_cell.BasicRNNCell(4))
        b_outs, _ = L.basic_rnn_seq2seq(x, x, tf.nn.rnn_cell.BasicRNNCell(4))
        assert len(r_outs) == 3 and b_outs[0].shape.as_list() == [2, 4]
