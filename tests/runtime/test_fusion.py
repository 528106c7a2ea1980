"""The subgraph compiler (tfnb/runtime/passes/fusion*.py): fused elementwise groups give the
numbers of the unfused ops (NaN/Inf, integer overflow, broadcasting), the same gradients and
training steps, errors naming the user's op, and the NumPy ops without numba."""
import sys

import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients
from tfnb.core.protobuf.rewriter_config_pb2 import RewriterConfig
from tfnb.framework import errors
from tfnb.ops import core
from tfnb.runtime.passes import fusion
from tfnb.runtime.passes import fusion_codegen as cg

numba_only = pytest.mark.skipif(not cg.available(), reason="numba (tfnb[fast]) not installed")
RNG = np.random.default_rng(7)


def _config(on):
    return tf.ConfigProto(graph_options=tf.GraphOptions(rewrite_options=RewriterConfig(
        remapping=RewriterConfig.ON if on else RewriterConfig.OFF)))


def _run(fetches, feed, on, setup=None):
    with tf.Session(config=_config(on)) as sess:
        if setup is not None:
            sess.run(setup)
        vals = sess.run(fetches, feed)
        return vals, sess._last_plan


def _same(a, b, exact):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    if exact or a.dtype.kind in "iub":
        np.testing.assert_array_equal(a, b)
    else:  # transcendental functions: numba's libm vs NumPy's SIMD loops differ by an ulp
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(np.isinf(a), np.isinf(b))
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _specials(shape, dtype=np.float32):
    x = RNG.standard_normal(shape).astype(dtype) * 3
    flat = x.reshape(-1)
    special = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30]
    flat[:len(special)] = special[:flat.size]
    return x


# (name, builder(placeholders) -> outputs, input arrays, exact)
N, C = 96, 200  # 19200 elements: above fusion.MIN_ELEMENTS
CASES = [
    ("bias_relu", lambda x, b: [tf.nn.relu(tf.nn.bias_add(x, b))],
     [_specials((N, C)), _specials((C,))], True),
    ("relu_grad_chain", lambda g, y: [tf.gradients(tf.nn.relu(y) * g, y, grad_ys=g)[0]],
     [_specials((N, C)), _specials((N, C))], True),
    ("column_broadcast", lambda x, m: [tf.exp(x - m) / (m + 1.0)],
     [_specials((N, C)), _specials((N, 1))], False),
    ("max_min_nan", lambda a, b: [tf.minimum(tf.maximum(a, b), b * 0.5), tf.maximum(b, a) - a],
     [_specials((N, C)), _specials((N, C))[::-1].copy()], True),
    ("transcendental", lambda x: [tf.tanh(x) + tf.sigmoid(x) * tf.log(tf.abs(x) + 1e-3) -
                                  tf.sqrt(tf.square(x)) * tf.rsqrt(x * x + 2.0)],
     [_specials((N, C))], False),
    ("sqrt_log_of_negatives", lambda x: [tf.sqrt(x) + tf.log(x), -tf.exp(x * 100.0)],
     [_specials((N, C))], False),
    ("lstm_gates", lambda i, f, c: [tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(i + f)],
     [_specials((N, C)), _specials((N, C)), _specials((N, C))], False),
    ("div_by_zero", lambda a, b: [a / (b * 0.0) + a, (a - a) / (b - b)],
     [_specials((N, C)), _specials((N, C))], True),
    ("int32_overflow", lambda a, b: [tf.square(a) * b + a, -a - b],
     [RNG.integers(-2**31, 2**31 - 1, (N, C), dtype=np.int32),
      RNG.integers(-2**31, 2**31 - 1, (N, C), dtype=np.int32)], True),
    ("int64_wrap", lambda a, b: [a * b - b, tf.maximum(a, b) + 1],
     [RNG.integers(-2**62, 2**62, (N, C), dtype=np.int64),
      RNG.integers(-2**62, 2**62, (C,), dtype=np.int64)], True),
    ("casts", lambda a, x: [tf.cast(a, tf.float32) * x + tf.cast(tf.cast(x, tf.float64) * 2.0,
                                                                  tf.float32)],
     [RNG.integers(-2**31, 2**31 - 1, (N, C), dtype=np.int32), _specials((N, C))], True),
    ("float64_scalar_and_row", lambda x, r, s: [tf.nn.relu(x * s + r) - s],
     [_specials((N, C), np.float64), _specials((C,), np.float64), np.float64(-1.5)], True),
    ("other_broadcast", lambda x, y: [tf.nn.relu(x + y) * y],
     [_specials((8, 12, C)), _specials((8, 1, C))], True),
    # One op alone whose NumPy kernel makes several passes (fusion.MULTI_PASS): a group of one.
    ("lone_relu_grad", lambda g, y: [core.out("ReluGrad", [g, y])],
     [_specials((N, C)), _specials((N, C))], True),
    ("lone_squared_difference", lambda a, b: [tf.math.squared_difference(a, b)],
     [_specials((N, C)), _specials((N, C))], True),
]


@numba_only
@pytest.mark.parametrize("name,build,inputs,exact", CASES, ids=[c[0] for c in CASES])
def test_fused_values_equal_unfused(name, build, inputs, exact):
    with tf.Graph().as_default():
        phs = [tf.placeholder(tf.as_dtype(np.asarray(v).dtype), np.shape(v)) for v in inputs]
        outs = build(*phs)
        feed = dict(zip(phs, inputs))
        with np.errstate(all="ignore"):
            off, plan_off = _run(outs, feed, False)
            on, plan_on = _run(outs, feed, True)
    assert "fusion" not in plan_off.rewrites
    assert plan_on.rewrites.get("fusion", 0) >= 1
    assert any(e[0].type == fusion.FUSED_TYPE for e in plan_on.body)
    if name.startswith("lone_"):
        assert [len(e[0].ops) for e in plan_on.body if e[0].type == fusion.FUSED_TYPE] == [1]
    for a, b in zip(off, on):
        _same(a, b, exact)


@numba_only
def test_small_values_run_the_numpy_ops_and_dynamic_shapes_recompile_nothing():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, None])
        y = tf.nn.relu(x * 2.0 + 1.0)
        with tf.Session(config=_config(True)) as sess:
            for shape in [(3, 4), (200, 100), (100, 200), (2, 2)]:
                v = _specials(shape)
                with np.errstate(all="ignore"):
                    np.testing.assert_array_equal(sess.run(y, {x: v}),
                                                  np.maximum(v * 2 + 1, 0).astype(np.float32))
            assert sess._last_plan.rewrites["fusion"] == 1


@numba_only
def test_broadcast_mismatch_at_run_time_names_the_user_op():
    with tf.Graph().as_default():
        a = tf.placeholder(tf.float32, [None, None])
        b = tf.placeholder(tf.float32, [None, None])
        y = tf.nn.relu(tf.add(a, b, name="user_add") * 3.0)
        with tf.Session(config=_config(True)) as sess:
            with pytest.raises(errors.InvalidArgumentError) as e:
                sess.run(y, {a: np.ones((200, 100), np.float32), b: np.ones((200, 99), np.float32)})
            assert "user_add" in str(e.value) and "Add" in str(e.value)
            # The session is fine afterwards.
            assert sess.run(y, {a: np.ones((200, 100), np.float32),
                                b: np.ones((1, 100), np.float32)}).shape == (200, 100)


@numba_only
def test_gradients_through_fused_kernels(monkeypatch):
    monkeypatch.setattr(fusion, "MIN_ELEMENTS", 1)  # fuse the small arrays of the check too
    x = RNG.standard_normal((4, 5))
    b = RNG.standard_normal((5,))
    check_gradients(lambda x, b: tf.tanh(tf.nn.relu(x + b) * x) + tf.sigmoid(x - b) / (b * b + 1.0),
                    [x, b])


def _tiny_cnn_steps(on, steps=3):
    rng = np.random.default_rng(0)
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        x = tf.placeholder(tf.float32, [None, 12, 12, 1])
        y = tf.placeholder(tf.float32, [None, 10])
        w1 = tf.Variable(rng.standard_normal((5, 5, 1, 8)).astype(np.float32) * 0.3)
        b1 = tf.Variable(np.full(8, 0.01, np.float32))
        h = tf.nn.relu(tf.nn.conv2d(x, w1, [1, 1, 1, 1], "SAME") + b1)
        h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
        h = tf.reshape(h, [-1, 6 * 6 * 8])
        w2 = tf.Variable(rng.standard_normal((288, 10)).astype(np.float32) * 0.1)
        b2 = tf.Variable(np.zeros(10, np.float32))
        logits = tf.matmul(h, w2) + b2
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
        train = tf.train.AdamOptimizer(1e-2).minimize(loss)
        xs = rng.random((16, 12, 12, 1), dtype=np.float32)
        ys = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 16)]
        with tf.Session(config=_config(on)) as sess:
            sess.run(tf.global_variables_initializer())
            losses = [sess.run([train, loss], {x: xs, y: ys})[1] for _ in range(steps)]
            rewrites = sess._last_plan.rewrites
            return losses, sess.run(tf.trainable_variables()), rewrites


@numba_only
def test_training_steps_equal_with_fusion(monkeypatch):
    monkeypatch.setattr(fusion, "MIN_ELEMENTS", 1)
    l_off, w_off, r_off = _tiny_cnn_steps(False)
    l_on, w_on, r_on = _tiny_cnn_steps(True)
    # bias+ReLU groups (a conv's: the conv_bias_relu pass, 4 rewrites) and Adam updates
    assert "fusion" not in r_off and r_on["fusion"] + r_on.get("conv_bias_relu", 0) // 4 >= 5
    np.testing.assert_allclose(l_on, l_off, rtol=1e-6)
    for a, b in zip(w_on, w_off):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@numba_only
def test_compiled_adam_is_bitwise_the_numpy_rule():
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((160, 128)).astype(np.float32)  # 20480 elements: compiled
    g0 = rng.standard_normal((160, 128)).astype(np.float32)

    def steps(on):
        with tf.Graph().as_default():
            w = tf.Variable(w0)
            train = tf.train.AdamOptimizer(0.05).apply_gradients([(tf.constant(g0), w)])
            with tf.Session(config=_config(on)) as sess:
                sess.run(tf.global_variables_initializer())
                for _ in range(3):
                    sess.run(train)
                rewrites = sess._last_plan.rewrites
                return sess.run(tf.global_variables()), rewrites
    off, r_off = steps(False)
    on, r_on = steps(True)
    assert r_on.get("fusion") == 1 and "fusion" not in r_off
    for a, b in zip(on, off):
        np.testing.assert_array_equal(a, b)


def test_without_numba_the_plan_runs_the_numpy_ops(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` fails
    monkeypatch.setattr(cg, "_available", None)
    assert not cg.available()
    x = _specials((N, C))
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [N, C])
        y = tf.nn.relu(p + 1.0) * p
        with np.errstate(all="ignore"):
            vals, plan = _run(y, {p: x}, True)
            np.testing.assert_array_equal(vals, np.maximum(x + 1, 0) * x)
    assert "fusion" not in plan.rewrites


@numba_only
def test_fused_group_survives_numba_failing_at_run_time(monkeypatch):
    x = _specials((N, C))
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [N, C])
        y = tf.nn.relu(p - 1.0) * p
        with tf.Session(config=_config(True)) as sess:
            sess.run(y, {p: x[:1].repeat(N, 0)})  # the plan holds a compiled fused group now
            kernel = next(v for v in sess._last_plan.env.values()
                          if isinstance(v, fusion.FusedKernel))
            (sig, call), = kernel._calls.items()
            assert call[0] is not None

            def broken(*args):
                raise RuntimeError("numba went away")
            kernel._calls[sig] = (broken,) + call[1:]
            with np.errstate(all="ignore"):
                np.testing.assert_array_equal(sess.run(y, {p: x}), np.maximum(x - 1, 0) * x)
            assert kernel._calls[sig][0] is None  # NumPy from then on


def test_blocked_numpy_path_equals_unfused(monkeypatch):
    """Without numba, large groups run their NumPy ops on row blocks on the intra-op pool."""
    from tfnb.runtime import threads
    monkeypatch.setattr(cg, "_available", False)
    monkeypatch.setattr(threads, "MIN_PARALLEL_ELEMENTS", 1)
    monkeypatch.setattr(threads, "_active", 2)
    with tf.Graph().as_default():
        a = tf.placeholder(tf.float32, [N, C])
        b = tf.placeholder(tf.float32, [C])
        ops = [tf.add(a, b), tf.nn.relu(tf.add(a, b))]
        plan_ops = [o.op for o in ops]
        fop = fusion.FusedOp(plan_ops, [a, b], [ops[0], ops[1]])
        kernel = fusion.FusedKernel(
            fop, [[("in", 0), ("in", 1)], [("op", 0)]], [0, 1],
            [np.add, lambda v: np.maximum(v, np.float32(0))], None, threads)
        x, r = _specials((N, C)), _specials((C,))
        s, y = kernel(x, r)
        np.testing.assert_array_equal(s, x + r)
        np.testing.assert_array_equal(y, np.maximum(x + r, 0))


def test_layout_classifies_broadcasting():
    assert cg.layout([(4, 5), (1,)], (4, 5)) == ("flat", (20, 1), ["f", "s"])
    assert cg.layout([(4, 5, 6), (6,)], (4, 5, 6)) == ("grid", (20, 6), ["f", "r"])
    assert cg.layout([(4, 5), (4, 1)], (4, 5)) == ("grid", (4, 5), ["f", "c"])
    assert cg.layout([(4, 5, 6), (4, 1, 6)], (4, 5, 6))[2] == ["f", "b"]


def test_generated_kernels_live_outside_the_repository():
    import os
    import tfnb
    repo = os.path.dirname(os.path.dirname(os.path.abspath(tfnb.__file__)))
    assert not os.path.abspath(cg.cache_dir()).startswith(repo + os.sep)


@pytest.fixture
def small_groups(monkeypatch):
    monkeypatch.setattr(fusion, "SMALL_GROUP_MIN_ELEMENTS", 1 << 10)


def test_group_threshold_follows_the_group(small_groups):
    two = fusion.group_min_elements(["Mul", "Add"], 3)
    nine = fusion.group_min_elements(["Mul", "SigmoidGrad", "TanhGrad"] * 3, 11)
    assert fusion.SMALL_GROUP_MIN_ELEMENTS <= nine < two <= fusion.MIN_ELEMENTS
    assert fusion.group_min_elements(["Relu"], 2) == fusion.MIN_ELEMENTS
    for slow in fusion.SLOW_IN_NUMBA:  # numba's scalar libm calls: only the old threshold
        assert fusion.group_min_elements(["Mul", slow] * 4, 3) == fusion.MIN_ELEMENTS


def _small_group(x, y, z):
    a = x * y
    b = a - z * 0.5
    c = tf.sigmoid(b) * x + tf.maximum(a, z)
    return [c * c + b, b]


@pytest.mark.parametrize("on_numba", [True, False])
def test_small_group_of_many_ops_fuses_and_equals_numpy_ops(on_numba, monkeypatch,
                                                           small_groups):
    if on_numba and not cg.available():
        pytest.skip("numba (tfnb[fast]) not installed")
    if not on_numba:  # the fallback: no numba, the NumPy ops
        monkeypatch.setattr(cg, "_available", False)
    xs = [_specials((20, 200)) for _ in range(3)]  # 4000 elements, under MIN_ELEMENTS
    with tf.Graph().as_default():
        ps = [tf.placeholder(tf.float32, [20, 200]) for _ in range(3)]
        outs = _small_group(*ps)
        feed = dict(zip(ps, xs))
        with np.errstate(all="ignore"):
            off, _ = _run(outs, feed, False)
            on, plan_on = _run(outs, feed, True)
    fused = [e for e in plan_on.body if e[0].type == fusion.FUSED_TYPE]
    assert bool(fused) == on_numba
    for a, b in zip(off, on):
        _same(a, b, False)


@numba_only
def test_small_group_with_tanh_keeps_the_user_ops(small_groups):
    x = _specials((20, 200))
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [20, 200])
        y = tf.tanh(p * 2.0 + 1.0) * p
        with np.errstate(all="ignore"):
            vals, plan = _run(y, {p: x}, True)
            np.testing.assert_allclose(vals, np.tanh(x * 2 + 1) * x, rtol=1e-6)
    assert "fusion" not in plan.rewrites


@numba_only
def test_lstm_cell_gradients_equal_with_small_group_fusion(small_groups):
    rng = np.random.default_rng(5)
    x0 = rng.standard_normal((20, 30)).astype(np.float32)
    k0 = rng.standard_normal((30 + 50, 200)).astype(np.float32) * 0.2

    def grads(on):
        with tf.Graph().as_default():
            x = tf.constant(x0)
            k = tf.Variable(k0)
            c = h = tf.zeros([20, 50])
            for _ in range(3):
                z = tf.matmul(tf.concat([x, h], 1), k)
                i, j, f, o = tf.split(z, 4, axis=1)
                c = c * tf.sigmoid(f) + tf.sigmoid(i) * tf.tanh(j)
                h = tf.tanh(c) * tf.sigmoid(o)
            g = tf.gradients(tf.reduce_sum(h * h), k)[0]
            with tf.Session(config=_config(on)) as sess:
                sess.run(tf.global_variables_initializer())
                return sess.run(g)
    np.testing.assert_allclose(grads(True), grads(False), rtol=1e-5, atol=1e-6)
