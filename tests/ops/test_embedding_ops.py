"""embedding_lookup (single, partitioned, max_norm), candidate samplers, accidental hits, and the
sampled losses (nce_loss, sampled_softmax_loss) against NumPy references and finite differences.

The gradients w.r.t. a Variable table must be IndexedSlices (rows used only) so that an optimizer
touches only those rows; the tests check both the sparse structure and the densified values.
"""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients
from tfnb.framework import errors

R = np.random.RandomState(99)
V, D = 10, 3
TABLE = R.randn(V, D).astype(np.float32)


def _run(fetches, feed=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed)


def _dense(sess_value):
    """An IndexedSlicesValue as a dense array (duplicates add up)."""
    out = np.zeros(sess_value.dense_shape, sess_value.values.dtype)
    np.add.at(out, sess_value.indices, sess_value.values)
    return out


# ----------------------------------------------------------------------------------------------
# embedding_lookup
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ids", [np.array(4), np.array([3, 0, 3, 9]), np.array([[1, 2], [2, 2],
                                                                               [7, 0]])],
                         ids=["scalar", "vector", "matrix"])
@pytest.mark.parametrize("kind", ["variable", "tensor"])
@pytest.mark.parametrize("id_dtype", [np.int32, np.int64])
def test_lookup_values_shape_dtype(ids, kind, id_dtype):
    params = tf.Variable(TABLE) if kind == "variable" else tf.constant(TABLE)
    y = tf.nn.embedding_lookup(params, ids.astype(id_dtype))
    assert y.shape.as_list() == list(ids.shape) + [D]
    v = _run(y)
    assert v.dtype == np.float32
    np.testing.assert_array_equal(v, TABLE[ids])


def test_variable_gradient_is_indexed_slices_of_the_rows_used():
    emb = tf.Variable(TABLE)
    ids = tf.placeholder(tf.int32, [None, 2])
    y = tf.nn.embedding_lookup(emb, ids)
    weights = R.randn(3, 2, D).astype(np.float32)
    g = tf.gradients(tf.reduce_sum(y * weights), emb)[0]
    assert isinstance(g, tf.IndexedSlices)
    assert not any(o.type == "ReadVariableOp" for o in tf.get_default_graph().get_operations()
                   if o.name.startswith("embedding_lookup")), "the lookup must not read the table"
    ids_np = np.array([[1, 2], [2, 2], [7, 0]])
    gv = _run(g, {ids: ids_np})
    np.testing.assert_array_equal(gv.indices, ids_np.reshape(-1))
    np.testing.assert_allclose(gv.values, weights.reshape(-1, D))
    expected = np.zeros_like(TABLE)
    np.add.at(expected, ids_np.reshape(-1), weights.reshape(-1, D))
    np.testing.assert_allclose(_dense(gv), expected, rtol=1e-6)
    dense = _run(tf.convert_to_tensor(g), {ids: ids_np})
    np.testing.assert_allclose(dense, expected, rtol=1e-6)


def test_sgd_updates_only_the_rows_used_and_sums_duplicates():
    emb = tf.Variable(TABLE)
    ids = tf.constant([4, 1, 4])
    loss = tf.reduce_sum(tf.nn.embedding_lookup(emb, ids) * tf.constant([[1.0], [2.0], [3.0]]))
    train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        after = sess.run(emb)
    expected = TABLE.copy()
    expected[4] -= 0.5 * 4.0
    expected[1] -= 0.5 * 2.0
    np.testing.assert_allclose(after, expected, rtol=1e-6)


def test_lookup_gradient_numerically_through_tensor_params():
    ids = np.array([[1, 2], [2, 2], [7, 0]])
    check_gradients(lambda p: tf.nn.embedding_lookup(p, ids) ** 2, [TABLE])


@pytest.mark.parametrize("ids", [np.array(5), np.array([3, 0, 3, 9]),
                                 np.array([[1, 2], [2, 2], [7, 0]])],
                         ids=["scalar", "vector_duplicates", "matrix"])
@pytest.mark.parametrize("shape", ["static", "unknown"])
def test_resource_gather_gradient_numerically(ids, shape):
    """The IndexedSlices gradient of a Variable lookup (ResourceGather) against central
    differences of the loss in the variable's entries; duplicates add up."""
    from gradcheck import numeric_gradients
    table = TABLE.astype(np.float64)
    if shape == "static":
        emb = tf.Variable(table)
    else:  # the gradient then reads the dense shape at run time
        emb = tf.Variable(tf.placeholder_with_default(table, [None, D]), validate_shape=False)
    y = tf.nn.embedding_lookup(emb, ids)
    assert any(o.type == "ResourceGather" for o in tf.get_default_graph().get_operations())
    weights = R.uniform(0.5, 1.5, ids.shape + (D,))
    loss = tf.reduce_sum(tf.sin(y) * y * weights)
    grad = tf.gradients(loss, emb)[0]
    assert isinstance(grad, tf.IndexedSlices)
    new_value = tf.placeholder(tf.float64, [V, D])
    assign = emb.assign(new_value)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        analytic = _dense(sess.run(grad))

        def f(values):
            sess.run(assign, {new_value: values[0]})
            return float(sess.run(loss))
        numeric = numeric_gradients(f, [table.copy()], eps=1e-6)[0]
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
    assert np.count_nonzero(numeric.any(axis=1)) == len(np.unique(ids))


def test_out_of_range_ids_fail_at_run_time():
    emb = tf.Variable(TABLE)
    ids = tf.placeholder(tf.int32, [None])
    y = tf.nn.embedding_lookup(emb, ids)
    with tf.Session() as sess:
        sess.run(emb.initializer)
        with pytest.raises(errors.InvalidArgumentError,
                           match=r"indices\[1\] = 10 is not in \[0, 10\)"):
            sess.run(y, {ids: [0, 10]})
        with pytest.raises(errors.InvalidArgumentError, match=r"-1 is not in"):
            sess.run(y, {ids: [-1]})


@pytest.mark.parametrize("build,exc,match", [
    (lambda: tf.nn.embedding_lookup([], [0]), ValueError, "at least one param"),
    (lambda: tf.nn.embedding_lookup(None, [0]), ValueError, "params must be specified"),
    (lambda: tf.nn.embedding_lookup([tf.constant(TABLE)] * 2, [0], partition_strategy="x"),
     ValueError, "partition strategy"),
    (lambda: tf.nn.embedding_lookup(tf.constant(TABLE), [0.5]), TypeError, "ids"),
], ids=["empty", "none", "strategy", "float_ids"])
def test_lookup_construction_errors(build, exc, match):
    with pytest.raises(exc, match=match):
        build()


def _partitions(strategy, n_parts):
    if strategy == "mod":
        return [TABLE[p::n_parts] for p in range(n_parts)]
    sizes = [V // n_parts + (1 if p < V % n_parts else 0) for p in range(n_parts)]
    offsets = np.cumsum([0] + sizes)
    return [TABLE[offsets[p]:offsets[p + 1]] for p in range(n_parts)]


@pytest.mark.parametrize("strategy", ["mod", "div"])
@pytest.mark.parametrize("n_parts", [2, 3])
def test_partitioned_lookup_and_per_partition_sparse_gradients(strategy, n_parts):
    parts_np = _partitions(strategy, n_parts)
    parts = [tf.Variable(p) for p in parts_np]
    ids_np = np.array([[9, 0, 4], [4, 7, 2]])
    ids = tf.placeholder(tf.int64, [None, 3])
    y = tf.nn.embedding_lookup(parts, ids, partition_strategy=strategy)
    assert y.shape.as_list() == [None, 3, D]
    grads = tf.gradients(tf.reduce_sum(y * y), parts)
    assert all(isinstance(g, tf.IndexedSlices) for g in grads)
    yv, gv = _run([y, grads], {ids: ids_np})
    np.testing.assert_array_equal(yv, TABLE[ids_np])
    full = np.zeros_like(TABLE)
    np.add.at(full, ids_np.reshape(-1), 2 * TABLE[ids_np.reshape(-1)])
    np.testing.assert_allclose(np.concatenate(
        [_dense(g) for g in gv])[np.argsort(np.concatenate(
            [np.arange(V)[p::n_parts] for p in range(n_parts)]))] if strategy == "mod"
        else np.concatenate([_dense(g) for g in gv]), full, rtol=1e-6)


def test_div_partitions_of_unknown_size():
    parts_np = _partitions("div", 3)
    phs = [tf.placeholder(tf.float32, [None, D]) for _ in parts_np]
    y = tf.nn.embedding_lookup(phs, [9, 3, 0, 4], partition_strategy="div")
    v = _run(y, dict(zip(phs, parts_np)))
    np.testing.assert_array_equal(v, TABLE[[9, 3, 0, 4]])


def test_max_norm_clips_each_embedding():
    big = TABLE * 5
    y = tf.nn.embedding_lookup(tf.constant(big), [[1, 2], [3, 1]], max_norm=1.5)
    v = _run(y)
    norms = np.linalg.norm(big[[[1, 2], [3, 1]]], axis=-1, keepdims=True)
    np.testing.assert_allclose(v, big[[[1, 2], [3, 1]]] * np.minimum(1.0, 1.5 / norms), rtol=1e-6)
    parts = tf.nn.embedding_lookup([tf.constant(p) for p in _partitions("mod", 2)],
                                   [[1, 2], [3, 1]], max_norm=1.5)
    np.testing.assert_allclose(_run(parts), TABLE[[[1, 2], [3, 1]]] * np.minimum(
        1.0, 1.5 / np.linalg.norm(TABLE[[[1, 2], [3, 1]]], axis=-1, keepdims=True)), rtol=1e-6)
    check_gradients(lambda p: tf.nn.embedding_lookup(p, [1, 2, 1], max_norm=1.0), [TABLE * 2])


# ----------------------------------------------------------------------------------------------
# Candidate samplers
# ----------------------------------------------------------------------------------------------
TRUE = np.array([[0, 5], [3, 3], [19, 1]], np.int64)


def _log_uniform_p(k, range_max):
    return np.log((k + 2.0) / (k + 1.0)) / np.log(range_max + 1.0)


def _tries_of(p, count):
    """The number of draws that explains a unique sampler's expected count for probability p."""
    return np.log1p(-count) / np.log1p(-p)


@pytest.mark.parametrize("unique", [True, False])
def test_log_uniform_sampler_counts_follow_tf_formulas(unique):
    s, te, se = tf.nn.log_uniform_candidate_sampler(TRUE, 2, 8, unique, 20, seed=3)
    assert (s.dtype, te.dtype, se.dtype) == (tf.int64, tf.float32, tf.float32)
    assert (s.shape.as_list(), te.shape.as_list(), se.shape.as_list()) == ([8], [3, 2], [8])
    sv, tv, sev = _run([s, te, se])
    assert sv.min() >= 0 and sv.max() < 20
    p_true, p_s = _log_uniform_p(TRUE, 20), _log_uniform_p(sv, 20)
    if not unique:
        np.testing.assert_allclose(tv, p_true * 8, rtol=1e-6)
        np.testing.assert_allclose(sev, p_s * 8, rtol=1e-6)
        return
    assert len(set(sv.tolist())) == 8
    tries = _tries_of(p_s, sev)
    n_tries = int(round(tries[0]))
    assert n_tries >= 8
    np.testing.assert_allclose(sev, -np.expm1(n_tries * np.log1p(-p_s)), rtol=1e-5)
    np.testing.assert_allclose(tv, -np.expm1(n_tries * np.log1p(-p_true)), rtol=1e-5)


def test_log_uniform_sampler_distribution():
    s, _, _ = tf.nn.log_uniform_candidate_sampler(TRUE, 2, 4000, False, 50, seed=1)
    counts = np.bincount(_run(s), minlength=50) / 4000
    np.testing.assert_allclose(counts[:5], _log_uniform_p(np.arange(5), 50), atol=0.03)


def test_samplers_are_seeded_per_session_and_redraw_each_run():
    def draws(seed):
        with tf.Graph().as_default():
            s = tf.nn.log_uniform_candidate_sampler(TRUE, 2, 6, True, 1000, seed=seed)[0]
            with tf.Session() as sess:
                return sess.run(s), sess.run(s)
    a, b = draws(5), draws(5)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], a[1])


def test_uniform_sampler():
    s, te, se = tf.nn.uniform_candidate_sampler(TRUE, 2, 5, True, 6, seed=2)
    sv, tv, sev = _run([s, te, se])
    assert sorted(set(sv.tolist())) == sorted(sv.tolist()) and sv.max() < 6
    n_tries = int(round(_tries_of(1 / 6, sev[0])))
    np.testing.assert_allclose(sev, -np.expm1(n_tries * np.log1p(-1 / 6)), rtol=1e-5)
    np.testing.assert_allclose(tv, np.full((3, 2), sev[0]))


def test_fixed_unigram_sampler_weights_reserved_ids_and_shards(tmp_path):
    counts = [0.0, 1.0, 4.0, 9.0, 0.0, 16.0]
    s, te, _ = tf.nn.fixed_unigram_candidate_sampler(
        np.array([[2], [7]], np.int64), 1, 3000, False, 8, distortion=0.5, num_reserved_ids=2,
        unigrams=counts, seed=4)
    sv, tv = _run([s, te])
    p = np.array([0, 0, 0, 1, 2, 3, 0, 4], np.float64) / 10
    np.testing.assert_allclose(np.bincount(sv, minlength=8) / 3000, p, atol=0.03)
    np.testing.assert_allclose(tv, 3000 * p[[[2], [7]]], rtol=1e-5)
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("".join("w%d,%g\n" % (i, c) for i, c in enumerate(counts)))
    s2, _, _ = tf.nn.fixed_unigram_candidate_sampler(
        np.array([[2]], np.int64), 1, 2, True, 8, vocab_file=str(vocab), num_reserved_ids=2,
        num_shards=2, shard=1, seed=4)
    picked = set(_run(s2).tolist())  # shard 1 holds the odd ids; id 1 is reserved
    assert len(picked) == 2 and picked <= {3, 5, 7}


def test_all_candidate_sampler():
    s, te, se = tf.nn.all_candidate_sampler(TRUE, 2, 4, True)
    sv, tv, sev = _run([s, te, se])
    np.testing.assert_array_equal(sv, [0, 1, 2, 3])
    np.testing.assert_array_equal(tv, np.ones((3, 2)))
    np.testing.assert_array_equal(sev, np.ones(4))


@pytest.mark.parametrize("build,exc,match", [
    (lambda: tf.nn.log_uniform_candidate_sampler(TRUE, 2, 30, True, 20), ValueError,
     "cannot be greater than range_max"),
    (lambda: tf.nn.log_uniform_candidate_sampler(tf.constant(TRUE, tf.int32), 2, 3, True, 20),
     TypeError, "true_classes"),
    (lambda: tf.nn.log_uniform_candidate_sampler(TRUE, 3, 3, True, 20), ValueError, "num_true"),
    (lambda: tf.nn.uniform_candidate_sampler(TRUE, 2, 0, True, 20), ValueError, "num_sampled"),
    (lambda: tf.nn.fixed_unigram_candidate_sampler(TRUE, 2, 3, True, 20, unigrams=[1.0] * 5),
     ValueError, "range_max"),
], ids=["unique_too_many", "int32_classes", "num_true", "num_sampled", "unigram_length"])
def test_sampler_construction_errors(build, exc, match):
    with pytest.raises(exc, match=match):
        build()


def test_compute_accidental_hits():
    sampled = np.array([5, 3, 8, 0, 3], np.int64)
    idx, ids, w = tf.nn.compute_accidental_hits(TRUE, sampled, num_true=2)
    iv, dv, wv = _run([idx, ids, w])
    assert (iv.dtype, dv.dtype, wv.dtype) == (np.int32, np.int64, np.float32)
    # Row 0 (0, 5) hits positions 3 and 0; row 1 (3, 3) hits the last 3 (position 4) twice.
    assert sorted(zip(iv.tolist(), dv.tolist())) == [(0, 0), (0, 3), (1, 4), (1, 4)]
    np.testing.assert_array_equal(wv, np.full(4, -np.finfo(np.float32).max))


# ----------------------------------------------------------------------------------------------
# nce_loss / sampled_softmax_loss
# ----------------------------------------------------------------------------------------------
NC, ND, NB, NS, NT = 12, 4, 3, 5, 2
W = R.randn(NC, ND)
B = R.randn(NC)
X = R.randn(NB, ND)
LABELS = np.array([[1, 3], [4, 4], [11, 7]], np.int64)
SAMPLED = np.array([3, 8, 0, 11, 5], np.int64)
TRUE_EXP = R.uniform(0.2, 1.0, (NB, NT)).astype(np.float32)
SAMP_EXP = R.uniform(0.2, 1.0, NS).astype(np.float32)


def _ref_logits(w, b, x, remove_hits):
    true_logits = np.einsum("bd,btd->bt", x, w[LABELS]) + b[LABELS] - np.log(TRUE_EXP)
    samp = x @ w[SAMPLED].T + b[SAMPLED] - np.log(SAMP_EXP)
    if remove_hits:
        for i in range(NB):
            for j in range(NT):
                hit = np.flatnonzero(SAMPLED == LABELS[i, j])
                if hit.size:
                    samp[i, hit[-1]] += -np.finfo(np.float32).max
    return np.concatenate([true_logits, samp], 1)


def _ref_nce(w, b, x, remove_hits=False):
    z = _ref_logits(w, b, x, remove_hits)
    y = np.concatenate([np.full((NB, NT), 1.0 / NT), np.zeros((NB, NS))], 1)
    return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).sum(1)


def _ref_sampled_softmax(w, b, x, remove_hits=True):
    z = _ref_logits(w, b, x, remove_hits)
    y = np.concatenate([np.full((NB, NT), 1.0 / NT), np.zeros((NB, NS))], 1)
    s = z - z.max(1, keepdims=True)
    return -(y * (s - np.log(np.exp(s).sum(1, keepdims=True)))).sum(1)


def _sampled_values():
    return (tf.constant(SAMPLED), tf.constant(TRUE_EXP), tf.constant(SAMP_EXP))


LOSSES = [
    ("nce", lambda w, b, x: tf.nn.nce_loss(w, b, LABELS, x, NS, NC, num_true=NT,
                                           sampled_values=_sampled_values()), _ref_nce),
    ("nce_remove_hits", lambda w, b, x: tf.nn.nce_loss(
        w, b, LABELS, x, NS, NC, num_true=NT, sampled_values=_sampled_values(),
        remove_accidental_hits=True), lambda w, b, x: _ref_nce(w, b, x, True)),
    ("sampled_softmax", lambda w, b, x: tf.nn.sampled_softmax_loss(
        w, b, LABELS, x, NS, NC, num_true=NT, sampled_values=_sampled_values()),
     _ref_sampled_softmax),
    ("sampled_softmax_keep_hits", lambda w, b, x: tf.nn.sampled_softmax_loss(
        w, b, LABELS, x, NS, NC, num_true=NT, sampled_values=_sampled_values(),
        remove_accidental_hits=False), lambda w, b, x: _ref_sampled_softmax(w, b, x, False)),
]


@pytest.mark.parametrize("fn,ref", [c[1:] for c in LOSSES], ids=[c[0] for c in LOSSES])
def test_sampled_losses_forward(fn, ref):
    loss = fn(tf.constant(W.astype(np.float32)), tf.constant(B.astype(np.float32)),
              tf.constant(X.astype(np.float32)))
    assert loss.shape.as_list() == [NB] and loss.dtype == tf.float32
    np.testing.assert_allclose(_run(loss), ref(W, B, X), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fn,ref", [c[1:] for c in LOSSES], ids=[c[0] for c in LOSSES])
def test_sampled_losses_gradients(fn, ref):
    check_gradients(fn, [W, B, X], order=2)


def test_nce_partitioned_weights_and_variable_gradients_are_sparse():
    w_vars = [tf.Variable(W[p::2].astype(np.float32)) for p in range(2)]
    b_var = tf.Variable(B.astype(np.float32))
    x = tf.constant(X.astype(np.float32))
    loss = tf.nn.nce_loss(w_vars, b_var, LABELS, x, NS, NC, num_true=NT,
                          sampled_values=_sampled_values())
    grads = tf.gradients(tf.reduce_sum(loss), w_vars + [b_var])
    assert all(isinstance(g, tf.IndexedSlices) for g in grads)
    lv, gb = _run([loss, grads[-1]])
    np.testing.assert_allclose(lv, _ref_nce(W, B, X), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.sort(gb.indices), np.sort(np.concatenate(
        [LABELS.reshape(-1), SAMPLED])))


def test_nce_with_default_sampler_trains_a_tiny_word2vec():
    tf.set_random_seed(1)
    vocab, dim, batch = 40, 8, 16
    rng = np.random.RandomState(0)
    inputs = tf.placeholder(tf.int32, [batch])
    labels = tf.placeholder(tf.int32, [batch, 1])
    emb = tf.Variable(rng.uniform(-1, 1, (vocab, dim)).astype(np.float32))
    w = tf.Variable((rng.randn(vocab, dim) / np.sqrt(dim)).astype(np.float32))
    b = tf.Variable(np.zeros(vocab, np.float32))
    loss = tf.reduce_mean(tf.nn.nce_loss(w, b, labels, tf.nn.embedding_lookup(emb, inputs),
                                         num_sampled=6, num_classes=vocab))
    train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    centers = rng.randint(0, vocab, batch)
    feed = {inputs: centers, labels: ((centers + 1) % vocab)[:, None]}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = np.mean([sess.run(loss, feed) for _ in range(5)])
        for _ in range(200):
            sess.run(train, feed)
        last = np.mean([sess.run(loss, feed) for _ in range(5)])
    assert np.isfinite(last) and last < 0.5 * first


@pytest.mark.parametrize("build,exc,match", [
    (lambda: tf.nn.nce_loss(tf.constant(W), tf.constant(B), LABELS[:, :1], tf.constant(X), NS, NC,
                            num_true=2), ValueError, "num_true"),
    (lambda: tf.nn.nce_loss(tf.constant(W), tf.constant(B), LABELS, tf.constant(X[:, :2]), NS, NC,
                            num_true=2, sampled_values=_sampled_values()), ValueError,
     "dimension"),
    (lambda: tf.nn.sampled_softmax_loss(tf.constant(W), tf.constant(B), LABELS, tf.constant(X),
                                        20, NC, num_true=2), ValueError, "range_max"),
], ids=["labels_num_true", "inputs_dim", "too_many_samples"])
def test_sampled_loss_construction_errors(build, exc, match):
    with pytest.raises(exc, match=match):
        build()
