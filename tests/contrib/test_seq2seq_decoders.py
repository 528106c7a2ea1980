"""tf.contrib.seq2seq attention, decoders and beam search against NumPy references."""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients

S2S = tf.contrib.seq2seq


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _log_softmax(x):
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def _values(sess):
    return {v.op.name: sess.run(v) for v in tf.global_variables()}


def _masked(score, lengths):
    s = score.copy()
    for b, n in enumerate(lengths):
        s[b, n:] = -np.inf
    return s


RNG = np.random.RandomState(0)
MEMORY = RNG.randn(2, 4, 3).astype(np.float32)
LENGTHS = np.array([4, 2], np.int32)
QUERY = RNG.randn(2, 5).astype(np.float32)


@pytest.mark.parametrize("normalize", [False, True])
def test_bahdanau_scores_alignments_and_context(normalize):
    with tf.Graph().as_default():
        mech = S2S.BahdanauAttention(5, tf.constant(MEMORY), LENGTHS, normalize=normalize)
        align, state = mech(tf.constant(QUERY), mech.initial_state(2, tf.float32))
        context = tf.squeeze(tf.matmul(tf.expand_dims(align, 1), mech.values), [1])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got_a, got_c, w = sess.run([align, context]) + [_values(sess)]
    names = {"memory_layer/kernel", "bahdanau_attention/query_layer/kernel",
             "bahdanau_attention/attention_v"}
    if normalize:
        names |= {"bahdanau_attention/attention_g", "bahdanau_attention/attention_b"}
        np.testing.assert_allclose(w["bahdanau_attention/attention_g"], np.sqrt(1 / 5.),
                                   rtol=1e-6)
    assert set(w) == names
    mem = MEMORY * (np.arange(4)[None, :] < LENGTHS[:, None])[:, :, None]
    keys = mem @ w["memory_layer/kernel"]
    q = (QUERY @ w["bahdanau_attention/query_layer/kernel"])[:, None, :]
    v = w["bahdanau_attention/attention_v"]
    if normalize:
        v = w["bahdanau_attention/attention_g"] * v / np.sqrt((v ** 2).sum())
        score = (v * np.tanh(keys + q + w["bahdanau_attention/attention_b"])).sum(2)
    else:
        score = (v * np.tanh(keys + q)).sum(2)
    want = _softmax(_masked(score, LENGTHS))
    np.testing.assert_allclose(got_a, want, rtol=1e-5, atol=1e-6)
    assert np.all(got_a[1, 2:] == 0)
    np.testing.assert_allclose(got_c, np.einsum("bt,btd->bd", want, mem), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("scale", [False, True])
def test_luong_scores_alignments(scale):
    with tf.Graph().as_default():
        mech = S2S.LuongAttention(5, tf.constant(MEMORY), LENGTHS, scale=scale)
        align, _ = mech(tf.constant(QUERY), None)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            if scale:
                sess.run(tf.assign(tf.global_variables()[-1], 0.7))
            got, w = sess.run(align), _values(sess)
    assert set(w) == {"memory_layer/kernel"} | ({"luong_attention/attention_g"} if scale else set())
    mem = MEMORY * (np.arange(4)[None, :] < LENGTHS[:, None])[:, :, None]
    score = np.einsum("bu,btu->bt", QUERY, mem @ w["memory_layer/kernel"])
    if scale:
        score = 0.7 * score
    np.testing.assert_allclose(got, _softmax(_masked(score, LENGTHS)), rtol=1e-5, atol=1e-6)


def test_luong_query_depth_must_match():
    with tf.Graph().as_default():
        mech = S2S.LuongAttention(4, tf.constant(MEMORY))
        with pytest.raises(ValueError, match="num_units"):
            mech(tf.constant(QUERY), None)


def test_attention_wrapper_one_step_and_state():
    x = RNG.randn(2, 3).astype(np.float32)
    with tf.Graph().as_default():
        mech = S2S.LuongAttention(4, tf.constant(MEMORY), LENGTHS)
        cell = S2S.AttentionWrapper(tf.nn.rnn_cell.BasicRNNCell(4), mech,
                                    attention_layer_size=6, alignment_history=True)
        assert cell.output_size == 6
        state0 = cell.zero_state(2, tf.float32)
        state0 = state0.clone(cell_state=tf.constant(np.full((2, 4), 0.1, np.float32)))
        out, state1 = cell(tf.constant(x), state0)
        out2, state2 = cell(tf.constant(x), state1)
        history = state2.alignment_history.stack()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got, s1, got2, hist = sess.run([out, state1._replace(alignment_history=()), out2,
                                             history])
            w = _values(sess)
    assert set(w) == {"memory_layer/kernel", "attention_wrapper/basic_rnn_cell/kernel",
                      "attention_wrapper/basic_rnn_cell/bias",
                      "attention_wrapper/attention_layer/kernel"}
    mem = MEMORY * (np.arange(4)[None, :] < LENGTHS[:, None])[:, :, None]
    keys = mem @ w["memory_layer/kernel"]

    def step(att, h):
        inp = np.concatenate([x, att], 1)
        h = np.tanh(np.concatenate([inp, h], 1) @ w["attention_wrapper/basic_rnn_cell/kernel"]
                    + w["attention_wrapper/basic_rnn_cell/bias"])
        a = _softmax(_masked(np.einsum("bu,btu->bt", h, keys), LENGTHS))
        ctx = np.einsum("bt,btd->bd", a, mem)
        return np.concatenate([h, ctx], 1) @ w["attention_wrapper/attention_layer/kernel"], h, a

    att1, h1, a1 = step(np.zeros((2, 6), np.float32), np.full((2, 4), 0.1, np.float32))
    np.testing.assert_allclose(got, att1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s1.cell_state, h1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s1.alignments, a1, rtol=1e-5, atol=1e-6)
    assert s1.time == 1
    att2, _, a2 = step(att1, h1)
    np.testing.assert_allclose(got2, att2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hist, np.stack([a1, a2]), rtol=1e-5, atol=1e-6)


# -- a tiny decoder with fixed weights: embedding 6x3, BasicRNNCell(4), Dense(6) -------------
VOCAB, GO, EOS = 6, 0, 1


def _tiny_model(seed=3):
    rng = np.random.RandomState(seed)
    return dict(emb=rng.randn(VOCAB, 3).astype(np.float32),
                kernel=rng.randn(7, 4).astype(np.float32),
                bias=rng.randn(4).astype(np.float32) * 0.1,
                proj=(rng.randn(4, VOCAB) * 2).astype(np.float32),
                h0=rng.randn(2, 4).astype(np.float32))


def _build_tiny(p, init_state=None):
    cell = tf.nn.rnn_cell.BasicRNNCell(4)
    proj = tf.layers.Dense(VOCAB, use_bias=False, name="proj")
    return cell, proj


def _assign_tiny(sess, p):
    by_name = {v.op.name: v for v in tf.global_variables()}
    for name, v in by_name.items():
        key = ("kernel" if name.endswith("basic_rnn_cell/kernel") else
               "bias" if name.endswith("basic_rnn_cell/bias") else
               "proj" if name.endswith("proj/kernel") else None)
        assert key is not None, name
        sess.run(tf.assign(v, p[key]))


def _np_step(p, tokens, h):
    h = np.tanh(np.concatenate([p["emb"][tokens], h], 1) @ p["kernel"] + p["bias"])
    return h @ p["proj"], h


def test_greedy_decoding_matches_numpy():
    p = _tiny_model()
    with tf.Graph().as_default():
        cell, proj = _build_tiny(p)
        helper = S2S.GreedyEmbeddingHelper(tf.constant(p["emb"]), tf.fill([2], GO), EOS)
        decoder = S2S.BasicDecoder(cell, helper, tf.constant(p["h0"]), output_layer=proj)
        out, state, lengths = S2S.dynamic_decode(decoder, maximum_iterations=7)
        assert out.sample_id.shape.as_list() == [2, None]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            _assign_tiny(sess, p)
            ids, logits, got_len = sess.run([out.sample_id, out.rnn_output, lengths])
    tokens, h = np.array([GO, GO]), p["h0"]
    want_ids, want_logits, want_len, done = [], [], np.zeros(2, int), np.zeros(2, bool)
    for t in range(7):
        logits_t, h = _np_step(p, tokens, h)
        tokens = logits_t.argmax(1)
        want_ids.append(tokens)
        want_logits.append(logits_t)
        want_len[~done] = t + 1
        done |= tokens == EOS
        if done.all():
            break
    np.testing.assert_array_equal(ids, np.stack(want_ids, 1))
    np.testing.assert_allclose(logits, np.stack(want_logits, 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got_len, want_len)


def _np_beam_search(p, h0, k, alpha, max_steps):
    """TF 1.15's beam search rules, per batch entry, in plain NumPy."""
    results = []
    for b in range(h0.shape[0]):
        h = np.repeat(h0[b:b + 1], k, 0)
        tokens = np.full(k, GO)
        log_probs = np.array([0.0] + [-np.inf] * (k - 1))
        finished = np.array([False] + [True] * (k - 1))
        lengths = np.zeros(k, np.int64)
        steps_ids, steps_parents = [], []
        for t in range(max_steps):
            logits, h_new = _np_step(p, tokens, h)
            lp = _log_softmax(logits.astype(np.float64))
            lp[finished] = np.finfo(np.float32).min
            lp[finished, EOS] = 0.0
            total = log_probs[:, None] + lp
            grow = np.ones((k, VOCAB), np.int64)
            grow[:, EOS] = 0
            grow[finished] = 0
            cand_len = lengths[:, None] + grow
            scores = total / (((5.0 + cand_len) / 6.0) ** alpha) if alpha else total
            flat = scores.reshape(-1)
            order = sorted(range(flat.size), key=lambda i: (-flat[i], i))[:k]
            beams, words = np.array(order) // VOCAB, np.array(order) % VOCAB
            log_probs = total.reshape(-1)[order]
            was = finished[beams]
            finished = was | (words == EOS)
            lengths = lengths[beams] + (~was)
            h, tokens = h_new[beams], words
            steps_ids.append(words)
            steps_parents.append(beams)
            if finished.all():
                break
        ids, parents = np.array(steps_ids), np.array(steps_parents)
        n = min(len(ids), int(lengths.max()))
        out = np.full(ids.shape, EOS)
        for j in range(k):
            beam = j
            for t in range(n - 1, -1, -1):
                out[t, j] = ids[t, beam]
                beam = parents[t, beam]
        results.append((out, lengths))
    return results


@pytest.mark.parametrize("alpha", [0.0, 1.5])
def test_beam_search_decoder_matches_numpy(alpha):
    p = _tiny_model(seed=5)
    k = 3
    with tf.Graph().as_default():
        cell, proj = _build_tiny(p)
        h0 = S2S.tile_batch(tf.constant(p["h0"]), k)
        decoder = S2S.BeamSearchDecoder(cell, tf.constant(p["emb"]), tf.fill([2], GO), EOS,
                                        h0, beam_width=k, output_layer=proj,
                                        length_penalty_weight=alpha)
        out, state, lengths = S2S.dynamic_decode(decoder, maximum_iterations=6)
        assert isinstance(out, S2S.FinalBeamSearchDecoderOutput)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            _assign_tiny(sess, p)
            ids, got_len, st_len = sess.run([out.predicted_ids, lengths, state.lengths])
    want = _np_beam_search(p, p["h0"], k, alpha, 6)
    for b, (w_ids, w_len) in enumerate(want):
        np.testing.assert_array_equal(ids[b][:len(w_ids)], w_ids)   # [time, beam]
        np.testing.assert_array_equal(got_len[b], w_len)
        np.testing.assert_array_equal(st_len[b], w_len)


def test_beam_search_length_penalty_changes_the_ranking_input():
    # the penalty is applied: with alpha > 0 the scores differ from the log-probs
    p = _tiny_model(seed=5)
    with tf.Graph().as_default():
        cell, proj = _build_tiny(p)
        decoder = S2S.BeamSearchDecoder(cell, tf.constant(p["emb"]), tf.fill([2], GO), EOS,
                                        S2S.tile_batch(tf.constant(p["h0"]), 2), beam_width=2,
                                        output_layer=proj, length_penalty_weight=1.0)
        out, state, _ = S2S.dynamic_decode(decoder, maximum_iterations=3)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            _assign_tiny(sess, p)
            scores, lp, lens = sess.run([out.beam_search_decoder_output.scores[:, -1],
                                         state.log_probs, state.lengths])
    np.testing.assert_allclose(scores, lp / ((5.0 + lens) / 6.0), rtol=1e-5)


def test_gather_tree_follows_parents_and_pads_with_end():
    step_ids = np.array([[[2, 3, 4]], [[5, 6, 7]], [[8, 9, 10]]], np.int32)
    parents = np.array([[[0, 0, 0]], [[1, 2, 0]], [[2, 1, 1]]], np.int32)
    with tf.Graph().as_default(), tf.Session() as sess:
        got = sess.run(S2S.gather_tree(step_ids, parents, [3], end_token=11))
        short = sess.run(S2S.gather_tree(step_ids, parents, [2], end_token=11))
    np.testing.assert_array_equal(got[:, 0, :], [[2, 4, 4], [7, 6, 6], [8, 9, 10]])
    np.testing.assert_array_equal(short[:, 0, :], [[3, 4, 2], [5, 6, 7], [11, 11, 11]])


def test_training_decoder_gradients_match_finite_differences():
    mem = RNG.randn(2, 3, 2)
    targets = RNG.randn(2, 3, 2)

    def fn(memory, inputs):
        with tf.variable_scope("m", initializer=tf.random_normal_initializer(seed=1)):
            mech = S2S.BahdanauAttention(3, memory, [3, 2], normalize=True, dtype=tf.float64)
            cell = S2S.AttentionWrapper(tf.nn.rnn_cell.BasicRNNCell(3), mech,
                                        attention_layer_size=2)
            helper = S2S.TrainingHelper(inputs, [3, 2])
            decoder = S2S.BasicDecoder(cell, helper, cell.zero_state(2, tf.float64),
                                       output_layer=tf.layers.Dense(4, name="proj"))
            out, _, _ = S2S.dynamic_decode(decoder, impute_finished=True)
        return tf.reshape(out.rnn_output, [2, 3, 4])

    check_gradients(fn, [mem, targets], rtol=1e-4, atol=1e-6)


def test_training_helper_impute_finished_zeros_outputs_and_keeps_state():
    x = RNG.randn(2, 4, 3).astype(np.float32)
    with tf.Graph().as_default():
        cell = tf.nn.rnn_cell.BasicRNNCell(4)
        helper = S2S.TrainingHelper(tf.constant(x), [4, 2])
        decoder = S2S.BasicDecoder(cell, helper, cell.zero_state(2, tf.float32))
        out, state, lengths = S2S.dynamic_decode(decoder, impute_finished=True)
        ref, ref_state = tf.nn.dynamic_rnn(cell, tf.constant(x), sequence_length=[4, 2],
                                           dtype=tf.float32)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got, got_state, got_len, want, want_state = sess.run(
                [out.rnn_output, state, lengths, ref, ref_state])
    np.testing.assert_array_equal(got_len, [4, 2])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_state, want_state, rtol=1e-5, atol=1e-6)
    assert np.all(got[1, 2:] == 0)
