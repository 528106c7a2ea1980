"""beam_search_decode (tfnb/ops/beam_search.py) against a plain NumPy beam search.

The reference below is written independently of the graph version: one batch entry at a
time, one hypothesis at a time, candidates in a Python list sorted by (score descending,
flat index ascending) -- the tie rule ``top_k`` follows. Models use float64 and seeded
random weights, so exact score ties do not occur and the token sequences must match exactly.
"""
import numpy as np
import pytest

import tfnb as tf
from tfnb.ops.beam_search import beam_search_decode

V, D, H = 7, 4, 5          # vocabulary, embedding and hidden sizes
START, END = 0, 1
BEAM, MAX_LEN = 3, 6


# ----------------------------------------------------------------------------------------------
# The NumPy reference
# ----------------------------------------------------------------------------------------------
def _log_softmax(z):
    z = z - z.max()
    return z - np.log(np.exp(z).sum())


def _score(log_prob, length, alpha):
    return log_prob / ((5.0 + length) / 6.0) ** alpha


def reference_beam_search(step, state0, start_tokens, end, beam, max_len, alpha=0.0):
    """Beam search with loops. ``step(token, state) -> (logits [V], new_state)`` for ONE
    hypothesis; ``state0[b]`` is batch entry b's initial state.

    Returns (ids [batch, beam, steps], scores, lengths, log_probs); ``steps`` is the longest
    decode of any batch entry (the graph's loop runs until every entry is done).
    """
    decodes = []
    for b, tok0 in enumerate(start_tokens):
        # A hypothesis: [tokens, log_prob, length, finished, state, last token].
        hyps = [[[], 0.0, 0, False, state0[b], tok0]]
        for _ in range(max_len):
            if all(h[3] for h in hyps):
                break
            cands = []
            for j, (toks, lp, n, done, state, last) in enumerate(hyps):
                if done:  # an ended hypothesis only repeats the end token, at no cost
                    cands.append((_score(lp, n, alpha), j * V + end, toks + [end], lp, n, True,
                                  state))
                    continue
                logits, new_state = step(last, state)
                step_lp = _log_softmax(logits)
                for w in range(len(logits)):
                    cands.append((_score(lp + step_lp[w], n + 1, alpha), j * V + w, toks + [w],
                                  lp + step_lp[w], n + 1, w == end, new_state))
            cands.sort(key=lambda c: (-c[0], c[1]))
            hyps = [[c[2], c[3], c[4], c[5], c[6], c[2][-1]] for c in cands[:beam]]
        decodes.append(hyps)
    steps = max(len(hyps[0][0]) for hyps in decodes)
    ids = np.array([[h[0] + [end] * (steps - len(h[0])) for h in hyps] for hyps in decodes],
                   dtype=np.int32).reshape(len(decodes), beam, steps)
    log_probs = np.array([[h[1] for h in hyps] for hyps in decodes])
    lengths = np.array([[h[2] for h in hyps] for hyps in decodes], dtype=np.int32)
    scores = np.array([[_score(h[1], h[2], alpha) for h in hyps] for hyps in decodes])
    return ids, scores, lengths, log_probs


# ----------------------------------------------------------------------------------------------
# A small fixed model: embedding -> one tanh RNN step -> output projection
# ----------------------------------------------------------------------------------------------
def _weights(seed=3, end_bias=0.0):
    rng = np.random.RandomState(seed)
    w = {"emb": rng.randn(V, D), "wx": rng.randn(D, H), "wh": rng.randn(H, H) * 0.8,
         "b": rng.randn(H) * 0.5, "wo": rng.randn(H, V) * 1.5, "bo": rng.randn(V)}
    w["bo"][END] += end_bias
    return w


def np_rnn_step(w):
    def step(token, h):
        h = np.tanh(w["emb"][token] @ w["wx"] + h @ w["wh"] + w["b"])
        return h @ w["wo"] + w["bo"], h
    return step


def tf_rnn_step(w, end_bias=None):
    """The same model in graph ops; ``end_bias`` (a tensor) is added to the end token's logit."""
    bo = tf.constant(w["bo"])
    if end_bias is not None:
        bo = bo + end_bias * tf.one_hot(END, V, dtype=tf.float64)

    def step(tokens, h):
        x = tf.gather(tf.constant(w["emb"]), tokens)
        h = tf.tanh(tf.matmul(x, w["wx"]) + tf.matmul(h, w["wh"]) + w["b"])
        return tf.matmul(h, w["wo"]) + bo, h
    return step


def _check(got, want):
    ids, scores, lengths, log_probs = want
    np.testing.assert_array_equal(got.predicted_ids, ids)
    np.testing.assert_array_equal(got.lengths, lengths)
    np.testing.assert_allclose(got.scores, scores, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.log_probs, log_probs, rtol=1e-12, atol=1e-12)
    assert got.predicted_ids.dtype == np.int32 and got.lengths.dtype == np.int32
    assert got.scores.dtype == np.float64 and got.log_probs.dtype == np.float64


def _inputs(seed, batch=2):
    rng = np.random.RandomState(seed)
    return rng.randn(batch, H), rng.randint(0, V, size=batch).astype(np.int32)


# ----------------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------------
def test_matches_reference_for_fed_batches_and_repeated_runs():
    w = _weights()
    h0 = tf.placeholder(tf.float64, [None, H])
    start = tf.placeholder(tf.int32, [None])
    out = beam_search_decode(tf_rnn_step(w), h0, start, END, BEAM, MAX_LEN)
    assert out.predicted_ids.shape.as_list() == [None, BEAM, None]
    assert out.scores.shape.as_list() == [None, BEAM] and out.scores.dtype == tf.float64
    assert out.lengths.dtype == tf.int32
    with tf.Session() as sess:
        for seed in (0, 1, 2):
            s0, toks = _inputs(seed)
            want = reference_beam_search(np_rnn_step(w), s0, toks, END, BEAM, MAX_LEN)
            for _ in range(2):  # the same decode twice: TensorArrays and the loop start afresh
                _check(sess.run(out, {h0: s0, start: toks}), want)
        s0, toks = _inputs(5, batch=4)  # another batch size through the same graph
        _check(sess.run(out, {h0: s0, start: toks}),
               reference_beam_search(np_rnn_step(w), s0, toks, END, BEAM, MAX_LEN))


def test_finished_beams_keep_score_and_pad_with_end_token():
    w = _weights()
    s0, toks = _inputs(0)
    with tf.Session() as sess:
        got = sess.run(beam_search_decode(tf_rnn_step(w), tf.constant(s0), toks, END, BEAM,
                                          MAX_LEN))
    ids, lengths = got.predicted_ids, got.lengths
    assert (lengths < ids.shape[-1]).any(), "the fixed model should end some beam early"
    for b in range(ids.shape[0]):
        for j in range(BEAM):
            n = lengths[b, j]
            seq = list(ids[b, j])
            if END in seq:
                assert seq.index(END) == n - 1  # the length counts the first end token
                assert all(t == END for t in seq[n:])
            else:
                assert n == len(seq) == MAX_LEN
    assert (np.diff(got.scores, axis=1) <= 0).all()  # beams sorted best first


def test_number_of_steps_is_decided_at_run_time():
    """A fed bias on the end token's logit: with +40 the best first token ends its beam and the
    other two beams end at step 2; with -40 nothing ends before the bound."""
    w = _weights()
    bias = tf.placeholder(tf.float64, [])
    h0 = tf.placeholder(tf.float64, [None, H])
    out = beam_search_decode(tf_rnn_step(w, bias), h0, tf.constant([2, 4]), END, BEAM, MAX_LEN)
    s0 = _inputs(0)[0]
    with tf.Session() as sess:
        for b, steps in ((40.0, 2), (-40.0, MAX_LEN), (0.0, None)):
            got = sess.run(out, {bias: b, h0: s0})
            want = reference_beam_search(np_rnn_step(_weights(end_bias=b)), s0, [2, 4], END,
                                         BEAM, MAX_LEN)
            _check(got, want)
            if steps is not None:
                assert got.predicted_ids.shape[-1] == steps


def test_steps_stop_early_when_every_beam_has_ended():
    w = _weights(end_bias=2.5)
    s0, toks = _inputs(1)
    want = reference_beam_search(np_rnn_step(w), s0, toks, END, BEAM, 20)
    assert want[0].shape[-1] < 20  # the reference ends before the bound ...
    with tf.Session() as sess:
        got = sess.run(beam_search_decode(tf_rnn_step(w), tf.constant(s0), toks, END, BEAM,
                                          tf.constant(20)))
    _check(got, want)  # ... and so does the graph, after the same number of steps


@pytest.mark.parametrize("alpha", [0.6, 1.5])
def test_length_penalty(alpha):
    w = _weights()
    h0 = tf.placeholder(tf.float64, [None, H])
    start = tf.placeholder(tf.int32, [None])
    weight = tf.placeholder(tf.float64, [])
    out = beam_search_decode(tf_rnn_step(w), h0, start, END, BEAM, MAX_LEN,
                             length_penalty_weight=weight)
    with tf.Session() as sess:
        for seed in (0, 3):
            s0, toks = _inputs(seed)
            want = reference_beam_search(np_rnn_step(w), s0, toks, END, BEAM, MAX_LEN, alpha)
            _check(sess.run(out, {h0: s0, start: toks, weight: alpha}), want)


def test_beam_width_one_and_full_width():
    w = _weights()
    s0, toks = _inputs(2)
    with tf.Session() as sess:
        for beam in (1, V):
            got = sess.run(beam_search_decode(tf_rnn_step(w), s0, toks, END, beam, 4))
            _check(got, reference_beam_search(np_rnn_step(w), s0, toks, END, beam, 4))
        # One step with beam_width == vocab: every token of the single live beam, best first.
        got = sess.run(beam_search_decode(tf_rnn_step(w), s0, toks, END, V, 1))
    _check(got, reference_beam_search(np_rnn_step(w), s0, toks, END, V, 1))
    assert sorted(got.predicted_ids[0, :, 0]) == list(range(V))


def test_zero_steps_and_interactive_session():
    w = _weights()
    s0, toks = _inputs(0)
    with tf.Session() as sess:
        got = sess.run(beam_search_decode(tf_rnn_step(w), s0, toks, END, BEAM, 0))
    assert got.predicted_ids.shape == (2, BEAM, 0)
    np.testing.assert_array_equal(got.lengths, np.zeros((2, BEAM)))
    np.testing.assert_array_equal(got.log_probs, [[0.0, -np.inf, -np.inf]] * 2)
    sess = tf.InteractiveSession()
    try:
        out = beam_search_decode(tf_rnn_step(w), s0, toks, END, BEAM, MAX_LEN)
        want = reference_beam_search(np_rnn_step(w), s0, toks, END, BEAM, MAX_LEN)
        for _ in range(2):
            np.testing.assert_array_equal(out.predicted_ids.eval(), want[0])
    finally:
        sess.close()


def test_lstm_cell_with_variables_and_tuple_state():
    """A tf.nn.rnn_cell cell inside step_fn: its variables are created in the loop body (lifted
    to the outer graph) and its LSTMStateTuple state is reordered along with the beams."""
    tf.set_random_seed(7)
    rng = np.random.RandomState(11)
    emb = rng.randn(V, D)
    cell = tf.nn.rnn_cell.BasicLSTMCell(H)
    proj = tf.constant(rng.randn(H, V) * 2.0)

    def step(tokens, state):
        out, new_state = cell(tf.gather(emb, tokens), state)
        return tf.matmul(out, proj), new_state

    c0 = tf.placeholder(tf.float64, [None, H])
    h0 = tf.placeholder(tf.float64, [None, H])
    out = beam_search_decode(step, tf.nn.rnn_cell.LSTMStateTuple(c0, h0), [0, 3], END, BEAM,
                             MAX_LEN)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        kernel, bias = sess.run(cell.variables)
        pw = sess.run(proj)
        sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731

        def np_step(token, state):
            c, h = state
            i, j, f, o = np.split(np.concatenate([emb[token], h]) @ kernel + bias, 4)
            c = c * sig(f + 1.0) + sig(i) * np.tanh(j)
            h = np.tanh(c) * sig(o)
            return h @ pw, (c, h)
        s0 = rng.randn(2, H), rng.randn(2, H)
        got = sess.run(out, {c0: s0[0], h0: s0[1]})
    _check(got, reference_beam_search(np_step, list(zip(*s0)), [0, 3], END, BEAM, MAX_LEN))


def test_construction_errors():
    w = _weights()
    h0 = tf.zeros([2, H], tf.float64)
    with pytest.raises(ValueError, match="beam_width"):
        beam_search_decode(tf_rnn_step(w), h0, [0, 0], END, 0, 3)
    with pytest.raises(ValueError, match="start_tokens must be a vector"):
        beam_search_decode(tf_rnn_step(w), h0, [[0, 0]], END, 2, 3)
    with pytest.raises(ValueError, match="smaller than beam_width"):
        beam_search_decode(tf_rnn_step(w), h0, [0, 0], END, V + 1, 3)
    with pytest.raises(TypeError, match="float32 logits; expected float64"):
        beam_search_decode(lambda t, h: (tf.zeros([6, V]), h), h0, [0, 0], END, 3, 3)
    with pytest.raises(ValueError, match=r"logits \[batch \* beam, vocab\]"):
        beam_search_decode(lambda t, h: (tf.zeros([6, V, 1], tf.float64), h), h0, [0, 0], END,
                           3, 3)
