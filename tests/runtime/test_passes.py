"""Graph optimization passes (tfnb/runtime/passes): same values with each pass on and off,
and each one fires (fewer kernels in the emitted plan); the TF1 option classes that switch
them."""
import numpy as np
import pytest

import tfnb as tf
from tfnb.core.protobuf.rewriter_config_pb2 import RewriterConfig
from tfnb.ops import core
from tfnb.runtime.passes import enabled_passes

OFF = RewriterConfig.OFF


def _off_config(**kw):
    """Every pass off."""
    return tf.ConfigProto(graph_options=tf.GraphOptions(
        optimizer_options=tf.OptimizerOptions(opt_level=tf.OptimizerOptions.L0),
        rewrite_options=RewriterConfig(disable_meta_optimizer=True)), **kw)


def _kernels(plan):
    return len(plan.body)


def _run(config, fetches, feed=None, setup=None):
    with tf.Session(config=config) as sess:
        if setup is not None:
            sess.run(setup)
        values = sess.run(fetches, feed)
        return values, sess.cached_plans()[-1]


def _compare(fetches, feed=None, setup=None, config_on=None, **tol):
    """Runs with the passes on and off; asserts equal values; returns (plan_on, plan_off)."""
    on, plan_on = _run(config_on, fetches, feed, setup)
    kw = {"device_count": config_on.device_count} if config_on is not None else {}
    off, plan_off = _run(_off_config(**kw), fetches, feed, setup)
    flat = (lambda v: list(v) if isinstance(v, (list, tuple)) else [v])
    for a, b in zip(flat(on), flat(off)):
        np.testing.assert_allclose(a, b, **(tol or {"rtol": 0, "atol": 0}))
    assert plan_off.rewrites == {}
    return plan_on, plan_off


# --- options -----------------------------------------------------------------------------
def test_default_options_enable_every_pass():
    assert enabled_passes(None) == ("shape_folding", "arithmetic", "cse", "identity", "dead_code",
                                    "sum_of_products", "conv_bias_relu", "first_max",
                                    "fusion")
    assert enabled_passes(tf.GraphOptions()) == enabled_passes(None)


def test_tf1_switches_map_to_passes():
    L0 = tf.OptimizerOptions.L0
    g = tf.GraphOptions(optimizer_options=tf.OptimizerOptions(opt_level=L0))
    assert "cse" not in enabled_passes(g) and "shape_folding" not in enabled_passes(g)
    g = tf.GraphOptions(optimizer_options=tf.OptimizerOptions(
        opt_level=L0, do_common_subexpression_elimination=True, do_constant_folding=True))
    assert {"cse", "shape_folding"} <= set(enabled_passes(g))
    # As TF1: L1 turns CSE on whatever the flag says.
    g = tf.GraphOptions(optimizer_options=tf.OptimizerOptions(
        do_common_subexpression_elimination=False))
    assert "cse" in enabled_passes(g)
    g = tf.GraphOptions(rewrite_options=RewriterConfig(arithmetic_optimization=OFF,
                                                       dependency_optimization=OFF,
                                                       disable_model_pruning=True))
    assert enabled_passes(g) == ("shape_folding", "cse", "conv_bias_relu", "first_max",
                                 "fusion")
    g = tf.GraphOptions(rewrite_options=RewriterConfig(optimizers=["arithmetic"]))
    assert enabled_passes(g) == ("arithmetic", "cse", "sum_of_products")
    g = tf.GraphOptions(rewrite_options=RewriterConfig(optimizers=["remap"]))
    assert enabled_passes(g) == ("cse", "conv_bias_relu", "first_max", "fusion")


def test_invalid_options_are_clear_errors():
    with pytest.raises(ValueError, match='no "do_cse" field'):
        tf.OptimizerOptions(do_cse=True)
    with pytest.raises(ValueError, match="opt_level: unknown enum value 7"):
        tf.OptimizerOptions(opt_level=7)
    with pytest.raises(ValueError, match="arithmetic_optimization: unknown enum value 9"):
        RewriterConfig(arithmetic_optimization=9)
    with pytest.raises(TypeError, match="disable_model_pruning must be a bool"):
        RewriterConfig(disable_model_pruning="yes")
    with pytest.raises(ValueError, match="unknown optimizer 'arithmatic'"):
        RewriterConfig(optimizers=["arithmatic"])
    with pytest.raises(TypeError, match="optimizer_options must be a OptimizerOptions"):
        tf.GraphOptions(optimizer_options=RewriterConfig())
    with pytest.raises(TypeError, match="graph_options must be a tf.GraphOptions"):
        tf.ConfigProto(graph_options={"opt_level": 0})
    g = tf.GraphOptions()
    with pytest.raises(ValueError, match="no \"bogus\" field"):
        g.bogus = 1
    g.rewrite_options.constant_folding = RewriterConfig.OFF  # nested messages are mutable
    assert "shape_folding" not in enabled_passes(g)


# --- each pass ---------------------------------------------------------------------------
def test_arithmetic_simplification_fires_and_keeps_values():
    x = tf.placeholder(tf.float32, [None, 3])
    y = x * 1.0 + 0.0
    y = 1.0 * y - tf.constant(np.zeros(3, np.float32))
    y = tf.transpose(tf.transpose(y, [1, 0]), [1, 0])
    # tf.cast returns its input when the dtype already matches: build the node itself
    # (an imported GraphDef may hold one).
    y = tf.raw_ops.Cast(x=y, DstT=tf.float32) if hasattr(tf, "raw_ops") else \
        core.out("Cast", [y], {"DstT": tf.float32})
    assert y.op.type == "Cast"
    y = y / 1.0
    r = tf.reshape(tf.reshape(y, [3, -1]), [-1])
    z = tf.exp(y) + tf.reduce_sum(r)
    feed = {x: np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5}
    on, off = _compare(z, feed)
    assert on.rewrites["arithmetic"] >= 8
    assert _kernels(on) <= _kernels(off) - 8
    g = tf.GraphOptions(rewrite_options=RewriterConfig(arithmetic_optimization=OFF))
    _, only_off = _run(tf.ConfigProto(graph_options=g), z, feed)
    assert "arithmetic" not in only_off.rewrites


def test_broadcasting_and_dtype_changes_are_not_removed():
    x = tf.placeholder(tf.float32, [1, 3])
    ones = lambda *shape: tf.constant(np.ones(shape, np.float32))  # noqa: E731
    grows = x * ones(2, 3)         # 1 broadcasts x to [2, 3]: not removable
    u = tf.placeholder(tf.float32, [None, 3])
    maybe = u * ones(2, 3)          # u's first dim may be 1: not removable
    keeps = u * ones(1, 3)          # removable
    i = tf.placeholder(tf.int32, [3])
    casted = tf.cast(i, tf.float32)      # a real cast: stays
    feed = {x: np.ones((1, 3), np.float32), u: np.full((1, 3), 2.0, np.float32),
            i: [1, 2, 3]}
    on, off = _compare([grows, maybe, keeps, casted], feed)
    (g, m, k, c), _ = _run(None, [grows, maybe, keeps, casted], feed)
    assert g.shape == (2, 3) and m.shape == (2, 3) and k.shape == (1, 3) and c.dtype == np.float32
    assert on.rewrites.get("arithmetic", 0) == 0  # all four are fetched, none removed
    s = tf.reduce_sum(grows) + tf.reduce_sum(maybe) + tf.reduce_sum(keeps) + tf.reduce_sum(casted)
    on, off = _compare(s, feed)
    assert on.rewrites["arithmetic"] == 1  # only u * ones([1, 3])


def test_cse_merges_pure_ops_only():
    x = tf.placeholder(tf.float32, [4])
    a = tf.exp(x) * 2.0
    b = tf.exp(x) * 2.0
    r1 = tf.random_uniform([4])
    r2 = tf.random_uniform([4])
    total = a + b
    on, off = _compare(total, {x: np.linspace(-1, 1, 4, dtype=np.float32)})
    assert on.rewrites["cse"] == 2 and _kernels(on) == _kernels(off) - 2
    with tf.Session() as sess:
        v1, v2 = sess.run([r1 + 0.0, r2 + 0.0])
        assert not np.array_equal(v1, v2)  # two random ops stay two
        assert "cse" not in sess.cached_plans()[-1].rewrites


def test_cse_never_merges_reads_of_a_variable_across_an_assign():
    v = tf.Variable(1.0, use_resource=True) if "use_resource" in \
        tf.Variable.__init__.__code__.co_varnames else tf.Variable(1.0)
    r1 = v.read_value() * 3.0 if hasattr(v, "read_value") else tf.identity(v) * 3.0
    with tf.control_dependencies([r1]):
        up = tf.assign(v, 5.0)
    with tf.control_dependencies([up]):
        r2 = (v.read_value() if hasattr(v, "read_value") else tf.identity(v)) * 3.0
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        a, b = sess.run([r1, r2])
        assert (a, b) == (3.0, 15.0)


def test_cse_keeps_outputs_only_the_merged_op_read():
    x = tf.placeholder(tf.float32, [5])
    m1, v1 = tf.nn.moments(x, axes=[0])
    m2, v2 = tf.nn.moments(x, axes=[0])
    u1 = tf.unique(tf.cast(x, tf.int32))
    u2 = tf.unique(tf.cast(x, tf.int32))
    out = [m1 + 0.0, v2 * 1.5, tf.reduce_sum(u1.y), tf.reduce_sum(u2.idx)]
    feed = {x: np.array([3, 1, 3, 2, 1], np.float32)}
    on, _ = _compare(out, feed)
    assert on.rewrites["cse"] >= 3


def test_identity_removal_keeps_fetched_and_control_identities():
    x = tf.placeholder(tf.float32, [3])
    y = tf.identity(tf.identity(tf.identity(x))) + 1.0
    fetched = tf.identity(x)
    with tf.control_dependencies([y]):
        gated = tf.identity(x)
    out = [y * 2.0, fetched, gated + 0.5]
    feed = {x: np.array([1.0, 2.0, 3.0], np.float32)}
    on, off = _compare(out, feed)
    assert on.rewrites["identity"] == 3
    assert _kernels(on) == _kernels(off) - 3


def test_shape_folding_of_static_shapes():
    x = tf.placeholder(tf.float32, [2, 3])
    d = tf.placeholder(tf.float32, [None, 3])
    s = tf.cast(tf.size(x), tf.float32) + tf.cast(tf.reduce_prod(tf.shape(x)), tf.float32)
    s += tf.cast(tf.rank(d), tf.float32)
    dyn = tf.shape(d)  # unknown dim: stays a kernel
    feed = {x: np.ones((2, 3), np.float32), d: np.ones((4, 3), np.float32)}
    on, off = _compare([s, dyn], feed)
    assert on.rewrites["shape_folding"] == 3
    vals, _ = _run(None, [s, dyn], feed)
    assert vals[0] == 14.0 and list(vals[1]) == [4, 3]
    assert _kernels(on) <= 1  # only Shape(d) runs


def test_gradients_of_a_cnn_unchanged_and_smaller():
    rng = np.random.RandomState(0)
    x = tf.placeholder(tf.float32, [2, 8, 8, 1])  # static batch: gradients' shapes fold
    w1 = tf.constant(rng.randn(3, 3, 1, 4).astype(np.float32) * 0.3)
    b1 = tf.constant(rng.randn(4).astype(np.float32) * 0.1)
    h = tf.nn.relu(tf.nn.conv2d(x, w1, [1, 1, 1, 1], "SAME") + b1)
    h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    flat = tf.reshape(tf.reshape(h, [2, 4, 16]), [-1, 4 * 4 * 4])
    w2 = tf.constant(rng.randn(64, 10).astype(np.float32) * 0.1)
    logits = tf.identity(tf.matmul(flat, w2), name="logits")  # as TF1 models name outputs
    labels = tf.one_hot([1, 3], 10)
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=labels,
                                                                       logits=logits))
    grads = tf.gradients(loss * 1.0, [x, w1, b1, w2])
    feed = {x: rng.randn(2, 8, 8, 1).astype(np.float32)}
    on, off = _compare(grads + [loss], feed, rtol=1e-6, atol=1e-7)
    assert _kernels(on) < _kernels(off)
    assert on.rewrites.get("identity", 0) > 0 and on.rewrites.get("arithmetic", 0) > 0


def test_control_flow_values_unchanged():
    x = tf.placeholder(tf.float32, [3])
    i0 = tf.constant(0)

    def body(i, acc):
        return i + 1, tf.identity(acc * 1.0) * 1.5 + tf.exp(x * 0.0)

    _, acc = tf.while_loop(lambda i, a: i < 4, body, [i0, x])
    c = tf.cond(tf.reduce_sum(x) > 0, lambda: tf.identity(x) * 2.0, lambda: x - 0.0)
    loss = tf.reduce_sum(acc) + tf.reduce_sum(c)
    g = tf.gradients(loss, x)[0]
    for v in ([1.0, 2.0, 3.0], [-1.0, -2.0, 0.5]):
        _compare([acc, c, g], {x: np.array(v, np.float32)})


def test_ops_on_two_devices_are_not_merged():
    x = tf.placeholder(tf.float32, [4])
    with tf.device("/cpu:0"):
        a = tf.exp(x)
        moved = x * 2.0
    with tf.device("/cpu:1"):
        b = tf.exp(x)
        across = tf.identity(moved)  # a copy to another device: stays
    out = a + b + across
    feed = {x: np.arange(4, dtype=np.float32)}
    cfg = tf.ConfigProto(device_count={"CPU": 2})
    on, off = _compare(out, feed, config_on=cfg)
    assert "cse" not in on.rewrites
    placed = {op.name: on.placement.device_of(op).short_name for op in on.ops}
    assert placed[a.op.name] != placed[b.op.name]
    assert any(e[0] is across.op for e in on.body if not isinstance(e[0], type(None)))


def test_errors_still_name_the_users_op():
    x = tf.placeholder(tf.float32, [None, None])
    y = tf.identity(x) * 1.0
    z = tf.matmul(y, tf.identity(y), name="my_matmul")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="my_matmul"):
            sess.run(z, {x: np.ones((2, 3), np.float32)})
        assert sess.cached_plans()[-1].rewrites.get("identity") == 2
