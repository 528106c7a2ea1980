"""tf.train.experimental loss scaling (TF 1.15): FixedLossScale, DynamicLossScale,
MixedPrecisionLossScaleOptimizer, enable/disable_mixed_precision_graph_rewrite; a float16 MLP
whose unscaled gradients underflow trains only with the scale."""
import numpy as np
import pytest

import tfnb as tf

exp = tf.train.experimental


def _session():
    s = tf.Session()
    s.run(tf.global_variables_initializer())
    return s


# ----------------------------------------------------------------------------------------------
# The loss scales
# ----------------------------------------------------------------------------------------------
def test_fixed_loss_scale():
    ls = exp.FixedLossScale(128)
    op, apply = ls.update([tf.constant([np.inf])])
    assert apply is True and isinstance(op, tf.Operation)
    s = _session()
    assert s.run(ls()) == 128.0 and ls().dtype is tf.float32
    assert ls.get_config() == {"loss_scale_value": 128.0}
    assert exp.FixedLossScale.from_config(ls.get_config()).get_config() == ls.get_config()
    with pytest.raises(ValueError):
        exp.FixedLossScale(0.5)


def test_dynamic_loss_scale_defaults_and_state_variables():
    ls = exp.DynamicLossScale()
    assert (ls.initial_loss_scale, ls.increment_period, ls.multiplier) == (2.0 ** 15, 2000, 2.0)
    assert ls.get_config() == {"initial_loss_scale": 32768.0, "increment_period": 2000,
                               "multiplier": 2.0}
    s = _session()
    scale = ls()
    s.run(tf.global_variables_initializer())
    assert s.run(scale) == 32768.0
    names = {v.op.name: v for v in tf.global_variables()}
    assert set(names) == {"current_loss_scale", "good_steps"}
    assert names["good_steps"].dtype.base_dtype is tf.int64
    assert not tf.trainable_variables()


def test_dynamic_loss_scale_update_rules():
    ls = exp.DynamicLossScale(initial_loss_scale=4., increment_period=3, multiplier=2.)
    g = tf.placeholder(tf.float32, [2])
    sparse = tf.IndexedSlices(g, tf.constant([0, 1]), tf.constant([5]))
    update, apply = ls.update([g, None, sparse])
    scale = ls()
    s = _session()
    seen = []
    for v in ([1, 2], [1, 2], [1, 2], [1, 2], [np.inf, 0], [1, np.nan], [1, 1], [-np.inf, 1]):
        ok = s.run(apply, {g: v})
        s.run(update, {g: v})
        seen.append((bool(ok), float(s.run(scale))))
    # 3 good steps double the scale; each non-finite step halves it (never below 1).
    assert seen == [(True, 4.0), (True, 4.0), (True, 8.0), (True, 8.0), (False, 4.0),
                    (False, 2.0), (True, 2.0), (False, 1.0)]
    s.run(update, {g: [np.inf, 0]})
    assert s.run(scale) == 1.0


def test_dynamic_loss_scale_does_not_grow_past_float32():
    ls = exp.DynamicLossScale(initial_loss_scale=3e38, increment_period=1)
    update, _ = ls.update([tf.constant([1.0])])
    s = _session()
    s.run(update)
    assert s.run(ls()) == np.float32(3e38)  # 6e38 overflows: kept


def test_get_and_optimizer_arguments():
    from tfnb.train import loss_scale
    assert isinstance(loss_scale.get("dynamic"), exp.DynamicLossScale)
    assert isinstance(loss_scale.get(8), exp.FixedLossScale)
    with pytest.raises(ValueError, match="Could not interpret"):
        loss_scale.get("static")
    with pytest.raises(ValueError, match="instance of Optimizer"):
        exp.MixedPrecisionLossScaleOptimizer("sgd", "dynamic")
    with pytest.raises(ValueError, match="cannot be None"):
        exp.MixedPrecisionLossScaleOptimizer(tf.train.GradientDescentOptimizer(0.1), None)
    opt = exp.MixedPrecisionLossScaleOptimizer(tf.train.AdamOptimizer(), "dynamic")
    assert opt.get_name() == "Adam" and isinstance(opt.loss_scale, exp.DynamicLossScale)


# ----------------------------------------------------------------------------------------------
# The optimizer
# ----------------------------------------------------------------------------------------------
def test_compute_gradients_scales_the_loss_and_unscales_the_gradients():
    rs = np.random.RandomState(0)
    w = tf.Variable(rs.randn(4, 3).astype(np.float32))
    emb = tf.Variable(rs.randn(6, 3).astype(np.float32))
    x = tf.constant(rs.randn(5, 4).astype(np.float32))
    loss = tf.reduce_sum(tf.square(tf.matmul(x, w))) + tf.reduce_sum(
        tf.nn.embedding_lookup(emb, [1, 4, 4]) * 3.0)
    plain = tf.train.GradientDescentOptimizer(0.1).compute_gradients(loss, [w, emb])
    opt = exp.MixedPrecisionLossScaleOptimizer(tf.train.GradientDescentOptimizer(0.1), 1024)
    scaled = opt.compute_gradients(loss, [w, emb])
    assert isinstance(scaled[1][0], tf.IndexedSlices)
    s = _session()
    (pw, _), (pe, _) = s.run(plain)
    (sw, _), (se, _) = s.run(scaled)
    np.testing.assert_allclose(sw, pw, rtol=1e-6)  # powers of 2: the same gradients
    np.testing.assert_array_equal(se.values, pe.values)
    np.testing.assert_array_equal(se.indices, pe.indices)


@pytest.mark.parametrize("make_opt", [
    pytest.param(lambda: tf.train.GradientDescentOptimizer(0.1), id="sgd"),
    pytest.param(lambda: tf.train.MomentumOptimizer(0.1, 0.9), id="momentum"),
    pytest.param(lambda: tf.train.AdamOptimizer(0.1), id="adam")])
def test_non_finite_step_is_skipped_and_halves_the_scale(make_opt):
    v = tf.Variable([1.0, 2.0])
    p = tf.placeholder(tf.float32, [])
    loss = tf.reduce_sum(v * p)
    ls = exp.DynamicLossScale(initial_loss_scale=8., increment_period=2)
    opt = exp.MixedPrecisionLossScaleOptimizer(make_opt(), ls)
    step = tf.train.get_or_create_global_step()
    train = opt.minimize(loss, global_step=step)
    assert train in tf.get_collection(tf.GraphKeys.TRAIN_OP)
    s = _session()
    scale, good = ls._variables()
    state = [v, step] + opt.variables()

    def snapshot():
        return [np.array(a, copy=True) for a in s.run(state)]

    s.run(train, {p: 1.0})
    assert (s.run(scale), s.run(good), s.run(step)) == (8.0, 1, 1)
    s.run(train, {p: 1.0})
    assert (s.run(scale), s.run(good), s.run(step)) == (16.0, 0, 2)  # doubled after 2 steps
    before = snapshot()
    for bad in (np.inf, np.nan):
        s.run(train, {p: bad})
        after = snapshot()
        for a, b in zip(before, after):  # variable, global step, slots: all unchanged
            np.testing.assert_array_equal(a, b)
    assert s.run(scale) == 4.0 and s.run(good) == 0  # halved twice
    s.run(train, {p: 1.0})
    assert s.run(step) == 3 and not np.array_equal(s.run(v), before[0])
    # Slots are the wrapped optimizer's, named as without the wrapper.
    assert all("cond" not in x.op.name for x in opt.variables())


def test_fixed_scale_applies_every_step_and_sgd_matches_reference():
    v = tf.Variable([1.0, -1.0])
    loss = tf.reduce_sum(tf.square(v))
    opt = exp.MixedPrecisionLossScaleOptimizer(tf.train.GradientDescentOptimizer(0.25), 64.)
    train = opt.minimize(loss)
    s = _session()
    want = np.array([1.0, -1.0], np.float32)
    for _ in range(3):
        s.run(train)
        want = want - np.float32(0.25) * 2 * want
        np.testing.assert_allclose(s.run(v), want, rtol=1e-6)


def test_loss_scale_state_is_checkpointed(tmp_path):
    v = tf.Variable(1.0)
    p = tf.placeholder(tf.float32, [])
    ls = exp.DynamicLossScale(initial_loss_scale=64., increment_period=5)
    train = exp.MixedPrecisionLossScaleOptimizer(tf.train.GradientDescentOptimizer(0.1),
                                                 ls).minimize(v * p)
    saver = tf.train.Saver()
    s = _session()
    s.run(train, {p: np.inf})
    s.run(train, {p: 1.0})
    path = saver.save(s, str(tmp_path / "m"))
    s.run(tf.global_variables_initializer())
    saver.restore(s, path)
    scale, good = ls._variables()
    assert (s.run(scale), s.run(good)) == (32.0, 1)
    assert tf.train.NewCheckpointReader(path).get_tensor("current_loss_scale") == 32.0


def test_enable_and_disable_mixed_precision_graph_rewrite():
    from tfnb.train import loss_scale
    opt = tf.train.MomentumOptimizer(0.1, 0.9)
    wrapped = exp.enable_mixed_precision_graph_rewrite(opt)
    assert isinstance(wrapped, exp.MixedPrecisionLossScaleOptimizer)
    assert wrapped._optimizer is opt and isinstance(wrapped.loss_scale, exp.DynamicLossScale)
    assert loss_scale._REWRITE["enabled"]
    assert isinstance(exp.enable_mixed_precision_graph_rewrite(
        tf.train.GradientDescentOptimizer(1.0), loss_scale=16).loss_scale, exp.FixedLossScale)
    with pytest.raises(ValueError, match="must not already be"):
        exp.enable_mixed_precision_graph_rewrite(wrapped)
    exp.disable_mixed_precision_graph_rewrite()
    assert not loss_scale._REWRITE["enabled"]


# ----------------------------------------------------------------------------------------------
# Why: float16 gradients that underflow without the scale
# ----------------------------------------------------------------------------------------------
def _float16_mlp(scale, master_weights):
    """A float16 MLP whose loss is multiplied by 1e-6: its gradient w.r.t. the logits (~1e-8)
    is below float16's smallest subnormal (6e-8), so unscaled it rounds to 0."""
    rs = np.random.RandomState(0)
    x = rs.randn(64, 8).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
    vdt = tf.float32 if master_weights else tf.float16
    w1 = tf.get_variable("w1", [8, 16], vdt, tf.glorot_uniform_initializer(seed=1))
    w2 = tf.get_variable("w2", [16, 2], vdt, tf.glorot_uniform_initializer(seed=2))

    def f16(w):  # float32 master weights computed with in float16 (TF's mixed precision)
        return tf.cast(w, tf.float16) if master_weights else w
    h = tf.nn.relu(tf.matmul(tf.constant(x, tf.float16), f16(w1)))
    logits = tf.matmul(h, f16(w2))
    xent = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                         logits=logits))
    loss = xent * tf.constant(1e-6, tf.float16)
    opt = tf.train.GradientDescentOptimizer(6e4)  # 6e4 * 1e-6: 0.06 on the cross-entropy
    if scale:
        opt = exp.MixedPrecisionLossScaleOptimizer(opt, "dynamic")
    gvs = opt.compute_gradients(loss)
    train = opt.apply_gradients(gvs)
    s = _session()
    grads = s.run([g for g, _ in gvs])
    before = float(s.run(xent))
    for _ in range(60):
        s.run(train)
    return grads, before, float(s.run(xent))


@pytest.mark.parametrize("master_weights", [False, True], ids=["float16_vars", "float32_master"])
def test_float16_mlp_trains_only_with_loss_scaling(master_weights):
    grads, before, after = _float16_mlp(scale=False, master_weights=master_weights)
    assert all(not g.any() for g in grads)  # every gradient underflowed to exactly 0
    assert after == before  # nothing moves
    tf.reset_default_graph()
    grads, before, after = _float16_mlp(scale=True, master_weights=master_weights)
    assert all(g.any() for g in grads) and all(np.isfinite(g).all() for g in grads)
    assert after < 0.5 * before, (before, after)


def test_bfloat16_variables_with_dynamic_loss_scale():
    pytest.importorskip("ml_dtypes")
    rs = np.random.RandomState(1)
    x = tf.constant(rs.randn(32, 4), tf.bfloat16)
    w = tf.Variable(rs.randn(4, 1).astype(np.float32) * 0, dtype=tf.float32)
    target = tf.constant(rs.randn(32, 1), tf.bfloat16)
    wb = tf.cast(w, tf.bfloat16)
    loss = tf.reduce_mean(tf.square(tf.matmul(x, wb) - target))
    train = exp.MixedPrecisionLossScaleOptimizer(tf.train.GradientDescentOptimizer(0.1),
                                                 "dynamic").minimize(loss)
    s = _session()
    l0 = float(s.run(loss))
    for _ in range(30):
        s.run(train)
    assert float(s.run(loss)) < l0
