"""Random ops: distributions, seeding rules, per-session streams, shapes, dtypes, gradients."""
import os
import subprocess
import sys

import numpy as np
import pytest

import tfnb as tf
from tfnb.ops import random_ops

N = 10000


def run(fetches, feed_dict=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed_dict)


# ----------------------------------------------------------------------------------------------
# Distributions: one row per op -> (builder, expected mean, expected std, support check)
# ----------------------------------------------------------------------------------------------
TRUNC_STD = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]

STATS = [
    ("normal", lambda: tf.random_normal([N], mean=1.0, stddev=2.0, seed=1), 1.0, 2.0,
     lambda v: True),
    ("truncated", lambda: tf.truncated_normal([N], mean=-1.0, stddev=0.5, seed=2), -1.0,
     0.5 * TRUNC_STD, lambda v: np.all(np.abs(v + 1.0) <= 1.0)),
    ("uniform", lambda: tf.random_uniform([N], 2.0, 5.0, seed=3), 3.5, 3.0 / np.sqrt(12),
     lambda v: v.min() >= 2.0 and v.max() < 5.0),
    ("uniform01", lambda: tf.random_uniform([N], seed=4), 0.5, 1.0 / np.sqrt(12),
     lambda v: v.min() >= 0.0 and v.max() < 1.0),
    ("uniform_int", lambda: tf.random_uniform([N], 0, 10, dtype=tf.int32, seed=5), 4.5,
     np.sqrt(99 / 12), lambda v: set(np.unique(v)) == set(range(10))),
    ("gamma", lambda: tf.random_gamma([N], 2.0, beta=4.0, seed=6), 0.5, np.sqrt(2.0) / 4,
     lambda v: v.min() > 0),
    ("poisson", lambda: tf.random_poisson(3.0, [N], seed=7), 3.0, np.sqrt(3.0),
     lambda v: np.all(v == np.round(v)) and v.min() >= 0),
]


@pytest.mark.parametrize("name,build,mean,std,support", STATS, ids=[r[0] for r in STATS])
def test_statistics(name, build, mean, std, support):
    v = run(build())
    assert v.shape == (N,)
    assert abs(v.mean() - mean) < 5 * std / np.sqrt(N)
    assert abs(v.std() - std) < 0.05 * std
    assert support(v)


def test_truncated_normal_bound_float16_and_float64():
    for dt in (tf.float16, tf.float64):
        v = run(tf.truncated_normal([N], stddev=3.0, dtype=dt, seed=1))
        assert v.dtype == dt.as_numpy_dtype and np.abs(v).max() <= 6.0


def test_float16_uniform_stays_below_one():
    v = run(tf.random_uniform([N], dtype=tf.float16, seed=1))
    assert v.dtype == np.float16 and v.min() >= 0 and v.max() < 1


# ----------------------------------------------------------------------------------------------
# Output dtypes: the tensor's dtype, the fetched array's dtype, and TF1's choice all agree
# ----------------------------------------------------------------------------------------------
DTYPES = [
    ("normal16", lambda: tf.random_normal([3], dtype=tf.float16), tf.float16),
    ("normal32", lambda: tf.random_normal([3]), tf.float32),
    ("normal64", lambda: tf.random_normal([3], dtype=tf.float64), tf.float64),
    ("truncated64", lambda: tf.truncated_normal([3], dtype=tf.float64), tf.float64),
    ("uniform64", lambda: tf.random_uniform([3], dtype=tf.float64), tf.float64),
    ("uniform_int32", lambda: tf.random_uniform([3], maxval=4, dtype=tf.int32), tf.int32),
    ("uniform_int64", lambda: tf.random_uniform([3], 1, 4, dtype=tf.int64), tf.int64),
    ("multinomial", lambda: tf.multinomial([[0.0, 1.0]], 2), tf.int64),
    ("multinomial32", lambda: tf.multinomial([[0.0, 1.0]], 2, output_dtype=tf.int32), tf.int32),
    ("categorical", lambda: tf.categorical([[0.0, 1.0]], 2), tf.int64),
    ("shuffle_int", lambda: tf.random_shuffle([1, 2, 3]), tf.int32),
    ("shuffle_str", lambda: tf.random_shuffle(["a", "b"]), tf.string),
    ("gamma64", lambda: tf.random_gamma([3], 1.0, dtype=tf.float64), tf.float64),
    ("gamma16", lambda: tf.random_gamma([3], 1.0, dtype=tf.float16), tf.float16),
    ("poisson_int64", lambda: tf.random_poisson([1.0], [3], dtype=tf.int64), tf.int64),
    ("poisson", lambda: tf.random_poisson([1.0], [3]), tf.float32),
]


@pytest.mark.parametrize("name,build,dtype", DTYPES, ids=[r[0] for r in DTYPES])
def test_output_dtypes(name, build, dtype):
    t = build()
    v = run(t)
    assert t.dtype == dtype
    if dtype is tf.string:
        assert v.dtype == object
    else:
        assert v.dtype == dtype.as_numpy_dtype


@pytest.mark.parametrize("build,err", [
    (lambda: tf.random_normal([2], dtype=tf.int32), TypeError),
    (lambda: tf.truncated_normal([2], dtype=tf.int64), TypeError),
    (lambda: tf.random_uniform([2], dtype=tf.int32), ValueError),  # ints need maxval
    (lambda: tf.random_uniform([2], maxval=2, dtype=tf.bool), ValueError),
    (lambda: tf.random_uniform([2], [0, 1], 5, dtype=tf.int32), ValueError),  # scalar bounds
    (lambda: tf.random_gamma([2], 1.0, dtype=tf.int32), TypeError),
    (lambda: tf.random_poisson([1.0], [2], dtype=tf.bool), TypeError),
    (lambda: tf.multinomial([0.0, 1.0], 2), ValueError),  # logits must be rank 2
    (lambda: tf.multinomial(tf.constant([[0, 1]]), 2), TypeError),
    (lambda: tf.multinomial([[0.0, 1.0]], -1), ValueError),
    (lambda: tf.categorical([[0.0, 1.0]], 2, dtype=tf.int16), ValueError),
], ids=["normal_int", "truncated_int", "uniform_int_no_max", "uniform_bool", "uniform_int_vec",
        "gamma_int", "poisson_bool", "multinomial_rank1", "multinomial_int_logits",
        "multinomial_negative", "categorical_int16"])
def test_bad_arguments_fail_at_construction(build, err):
    with pytest.raises(err):
        build()


def test_uniform_int_empty_range_fails_at_run():
    t = tf.random_uniform([2], 3, 3, dtype=tf.int32)
    with pytest.raises(tf.errors.InvalidArgumentError, match="minval < maxval"):
        run(t)


# ----------------------------------------------------------------------------------------------
# Shapes: static when known at construction, partly known, or only at run time
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape_fn,static", [
    (lambda: [2, 3], [2, 3]),
    (lambda: (2, 3), [2, 3]),
    (lambda: [], []),
    (lambda: tf.TensorShape([2, 3]), [2, 3]),
    (lambda: np.array([2, 3]), [2, 3]),
    (lambda: tf.constant([2, 3]), [2, 3]),
    (lambda: tf.constant([2, 3], dtype=tf.int64), [2, 3]),
    (lambda: tf.shape(tf.zeros([2, 3])), [2, 3]),
    (lambda: [tf.zeros([4, 5]).shape[0], 3], [4, 3]),
])
def test_static_shapes(shape_fn, static):
    for build in (tf.random_normal, tf.truncated_normal, tf.random_uniform):
        t = build(shape_fn())
        assert t.shape.as_list() == static
        assert run(t).shape == tuple(static)


def test_dynamic_shapes():
    p = tf.placeholder(tf.int32, [2])
    n = tf.placeholder(tf.int32, [])
    unknown = tf.placeholder(tf.int32)
    a = tf.random_normal(p)
    b = tf.random_uniform([n, 3], maxval=5, dtype=tf.int32)
    c = tf.truncated_normal(unknown)
    d = tf.multinomial(tf.zeros([3, 4]), n)
    e = tf.random_gamma(p, [1.0, 2.0])
    assert a.shape.as_list() == [None, None]
    assert b.shape.as_list() == [None, 3]
    assert c.shape.ndims is None
    assert d.shape.as_list() == [3, None]
    assert e.shape.as_list() == [None, None, 2]
    va, vb, vc, vd, ve = run([a, b, c, d, e], {p: [4, 1], n: 2, unknown: [1, 2, 3]})
    assert va.shape == (4, 1) and vb.shape == (2, 3) and vc.shape == (1, 2, 3)
    assert vd.shape == (3, 2) and ve.shape == (4, 1, 2)
    with pytest.raises(tf.errors.InvalidArgumentError, match=">= 0"):
        run(a, {p: [2, -1]})


def test_shape_from_a_variable():
    n = tf.Variable(3)
    t = tf.random_uniform([n, 2])
    assert t.shape.as_list() == [None, 2]
    with tf.Session() as sess:
        sess.run(n.initializer)
        assert sess.run(t).shape == (3, 2)


@pytest.mark.parametrize("shape,err", [
    ([2.0, 3.0], TypeError),
    ([[2, 3]], ValueError),
    (5, ValueError),
    ([2, -1], ValueError),
    (tf.TensorShape([None, 3]), ValueError),
    ([None, 3], ValueError),
], ids=["float", "rank2", "scalar", "negative", "partial_shape", "none_dim"])
def test_bad_shapes_fail_at_construction(shape, err):
    with pytest.raises(err):
        tf.random_normal(shape)


def test_bad_shape_tensors_fail_at_construction():
    with pytest.raises(TypeError):
        tf.random_uniform(tf.placeholder(tf.float32, [2]))
    with pytest.raises(ValueError, match="rank 1"):
        tf.random_uniform(tf.placeholder(tf.int32, [2, 2]))


def test_parameter_shapes_broadcast():
    assert tf.random_normal([2, 3], mean=[1.0, 2.0, 3.0]).shape.as_list() == [2, 3]
    assert tf.random_gamma([5], [[1.0], [2.0]], beta=[1.0, 2.0, 3.0]).shape.as_list() == [5, 2, 3]
    assert tf.random_poisson([[1.0, 2.0]], [4, 3]).shape.as_list() == [4, 3, 1, 2]
    v = run(tf.random_normal([2, 3], mean=[0.0, 100.0, -100.0], stddev=0.01, seed=1))
    np.testing.assert_allclose(v.mean(axis=0), [0.0, 100.0, -100.0], atol=0.1)


# ----------------------------------------------------------------------------------------------
# Names (as TF1 builds them)
# ----------------------------------------------------------------------------------------------
def test_names():
    assert tf.random_normal([2], name="rn").name == "rn:0"
    assert tf.random_normal([2]).op.inputs[0].op.type == "Mul"
    assert tf.random_uniform([2]).name == "random_uniform/RandomUniform:0"
    assert tf.random_uniform([2], -1.0, 1.0, name="u").name == "u:0"
    assert tf.random_uniform([2], maxval=5, dtype=tf.int32).name == "random_uniform_1:0"
    assert tf.truncated_normal([2]).name == "truncated_normal:0"
    assert tf.multinomial([[0.0]], 1).name == "multinomial/Multinomial:0"
    assert tf.random_shuffle([1, 2]).name == "RandomShuffle:0"


# ----------------------------------------------------------------------------------------------
# Seeds: TF1's get_seed rules, reproducibility, independent streams
# ----------------------------------------------------------------------------------------------
def test_get_seed_rules():
    assert tf.get_seed(None) == (None, None)
    assert tf.get_seed(5) == (random_ops.DEFAULT_GRAPH_SEED, 5)
    tf.set_random_seed(3)
    g = tf.get_default_graph()
    assert g.seed == 3
    assert tf.get_seed(None) == (3, len(g.get_operations()))
    assert tf.get_seed(7) == (3, 7)
    assert tf.get_seed(2 ** 31 + 5) == (3, 6)  # truncated to 31 bits, as TF
    tf.set_random_seed(0)
    assert tf.get_seed(0) == (0, 2 ** 31 - 1)  # (0, 0) would mean "nondeterministic"


def test_seed_attrs_on_ops():
    def rng_op(t):
        return t.op.inputs[0].op.inputs[0].op
    a = rng_op(tf.random_normal([2]))
    assert (a.get_attr("seed"), a.get_attr("seed2")) == (0, 0)
    b = rng_op(tf.random_normal([2], seed=4))
    assert (b.get_attr("seed"), b.get_attr("seed2")) == (random_ops.DEFAULT_GRAPH_SEED, 4)
    tf.set_random_seed(9)
    c = rng_op(tf.random_normal([2]))
    d = rng_op(tf.random_normal([2]))
    assert c.get_attr("seed") == d.get_attr("seed") == 9
    assert c.get_attr("seed2") != d.get_attr("seed2")


def _program(graph_seed, op_seed):
    with tf.Graph().as_default():
        if graph_seed is not None:
            tf.set_random_seed(graph_seed)
        ts = [tf.random_normal([4], seed=op_seed), tf.truncated_normal([4], seed=op_seed),
              tf.random_uniform([4], seed=op_seed),
              tf.random_uniform([4], maxval=1000, dtype=tf.int64, seed=op_seed),
              tf.random_shuffle(tf.range(10), seed=op_seed),
              tf.multinomial(tf.zeros([2, 50]), 4, seed=op_seed),
              tf.random_gamma([4], 1.5, seed=op_seed), tf.random_poisson(4.0, [4], seed=op_seed)]
        with tf.Session() as sess:
            return [sess.run(ts), sess.run(ts)]


@pytest.mark.parametrize("graph_seed,op_seed", [(5, None), (None, 11), (5, 11)])
def test_same_seeds_same_values_in_new_graphs(graph_seed, op_seed):
    first, again = _program(graph_seed, op_seed), _program(graph_seed, op_seed)
    for a, b in zip(first[0] + first[1], again[0] + again[1]):
        np.testing.assert_array_equal(a, b)


def test_no_seed_is_nondeterministic():
    a, b = _program(None, None), _program(None, None)
    assert not np.array_equal(a[0][0], b[0][0])


def test_different_seeds_different_values():
    a, b = _program(5, None), _program(6, None)
    assert not np.array_equal(a[0][0], b[0][0])
    a, b = _program(None, 1), _program(None, 2)
    assert not np.array_equal(a[0][0], b[0][0])


def test_graph_seed_gives_each_op_its_own_stream():
    tf.set_random_seed(1)
    a = tf.random_normal([50])
    b = tf.random_normal([50])
    va, vb = run([a, b])
    assert not np.array_equal(va, vb)


def test_same_op_seed_same_stream():
    a = tf.random_normal([50], seed=3)
    b = tf.random_normal([50], seed=3)
    va, vb = run([a, b])
    np.testing.assert_array_equal(va, vb)


def test_successive_runs_differ_and_new_sessions_restart():
    t = tf.random_uniform([20], seed=1)
    with tf.Session() as s1:
        r1, r2 = s1.run(t), s1.run(t)
        assert not np.array_equal(r1, r2)
        with tf.Session() as s2:  # a second session has its own generator
            np.testing.assert_array_equal(s2.run(t), r1)
        np.testing.assert_array_equal(s1.run(t), _third_draw())


def _third_draw():
    with tf.Graph().as_default():
        t = tf.random_uniform([20], seed=1)
        with tf.Session() as sess:
            sess.run(t)
            sess.run(t)
            return sess.run(t)


def test_stream_is_shared_by_all_fetches_of_a_session():
    """Changing what is fetched (a new plan) continues the op's stream, as TF's kernels do."""
    t = tf.random_normal([5], seed=2)
    u = t * 2.0
    with tf.Session() as sess:
        a = sess.run(t)
        b, b2 = sess.run([t, u])
        np.testing.assert_array_equal(b2, b * 2.0)  # one draw per run, shared by consumers
        assert not np.array_equal(a, b)


def test_same_values_in_a_new_process():
    code = ("import tfnb as tf\n"
            "tf.set_random_seed(4)\n"
            "t = tf.random_normal([3])\n"
            "s = tf.Session()\n"
            "print(repr(s.run(t).tolist()), repr(s.run(t).tolist()))\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONHASHSEED="123", PYTHONPATH=root)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    with tf.Graph().as_default():
        tf.set_random_seed(4)
        t = tf.random_normal([3])
        with tf.Session() as s:
            assert out.strip() == "%r %r" % (s.run(t).tolist(), s.run(t).tolist())


# ----------------------------------------------------------------------------------------------
# Multinomial and shuffle
# ----------------------------------------------------------------------------------------------
def test_multinomial_frequencies_match_softmax():
    logits = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]]))
    logits += np.array([[3.0], [-40.0]])  # unnormalized
    n = 20000
    v = run(tf.multinomial(tf.constant(logits, tf.float32), n, seed=1))
    assert v.shape == (2, n)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    for row, p in zip(v, probs):
        freq = np.bincount(row, minlength=3) / n
        np.testing.assert_allclose(freq, p, atol=0.015)


def test_multinomial_never_draws_impossible_classes():
    v = run(tf.categorical([[-np.inf, 0.0, -np.inf, 1.0]], 1000, seed=2))
    assert set(np.unique(v)) == {1, 3}
    assert run(tf.multinomial(tf.zeros([0, 3]), 4)).shape == (0, 4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_classes"):
        run(tf.multinomial(tf.zeros([2, 0]), 4))


def test_shuffle_permutes_rows():
    x = np.arange(40).reshape(20, 2)
    t = tf.random_shuffle(x, seed=1)
    assert t.shape.as_list() == [20, 2]
    with tf.Session() as sess:
        a, b = sess.run(t), sess.run(t)
    for v in (a, b):
        np.testing.assert_array_equal(np.sort(v[:, 0]), x[:, 0])
        np.testing.assert_array_equal(v[:, 1], v[:, 0] + 1)  # rows stay whole
    assert not np.array_equal(a, b)
    assert run(tf.random_shuffle(5)) == 5


# ----------------------------------------------------------------------------------------------
# Gradients flow to the distribution parameters, not through the sampling ops
# ----------------------------------------------------------------------------------------------
def test_gradients_to_mean_and_stddev():
    mean = tf.constant(1.5)
    stddev = tf.constant(2.0)
    x = tf.random_normal([100], mean, stddev, seed=1)
    gm, gs = tf.gradients(tf.reduce_sum(x), [mean, stddev])
    xv, gmv, gsv = run([x, gm, gs])
    assert gmv == pytest.approx(100.0)
    assert gsv == pytest.approx(np.sum((xv - 1.5) / 2.0), rel=1e-4)


def test_gradients_to_uniform_bounds_and_gamma_rate():
    lo, hi = tf.constant(-1.0), tf.constant(3.0)
    u = tf.random_uniform([50], lo, hi, seed=1)
    glo, ghi = tf.gradients(tf.reduce_sum(u), [lo, hi])
    uv, glov, ghiv = run([u, glo, ghi])
    r = (uv + 1.0) / 4.0
    assert ghiv == pytest.approx(r.sum(), rel=1e-4)
    assert glov == pytest.approx((1 - r).sum(), rel=1e-4)
    beta = tf.constant(2.0)
    g = tf.random_gamma([50], 3.0, beta=beta, seed=1)
    (gb,) = tf.gradients(tf.reduce_sum(g), [beta])
    gv, gbv = run([g, gb])
    assert gbv == pytest.approx(-np.sum(gv) / 2.0, rel=1e-4)


def test_sampling_ops_are_not_differentiable():
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    assert tf.gradients(tf.reduce_sum(tf.random_shuffle(x)), [x]) == [None]
    assert tf.gradients(tf.reduce_sum(tf.cast(tf.multinomial(x, 3), tf.float32)), [x]) == [None]
    alpha = tf.constant(2.0)
    with pytest.raises(LookupError, match="RandomGamma"):
        tf.gradients(tf.reduce_sum(tf.random_gamma([3], alpha)), [alpha])


# ----------------------------------------------------------------------------------------------
# Use with variables and interactive (eager) sessions
# ----------------------------------------------------------------------------------------------
def test_variable_from_random_normal():
    v = tf.Variable(tf.random_normal([3, 4], seed=1))
    assert v.shape.as_list() == [3, 4] and v.dtype == tf.float32
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(v)
        np.testing.assert_array_equal(sess.run(v), first)  # a variable keeps its value
        sess.run(v.initializer)
        assert not np.array_equal(sess.run(v), first)  # re-initializing draws anew
    with tf.Graph().as_default():
        w = tf.Variable(tf.random_normal([3, 4], seed=1))
        with tf.Session() as sess:
            sess.run(w.initializer)
            np.testing.assert_array_equal(sess.run(w), first)


def test_interactive_session_values_and_consumers_agree():
    g = tf.Graph()
    with g.as_default():
        sess = tf.InteractiveSession(graph=g, eager=True)
        try:
            x = tf.random_uniform([4], seed=3)
            y = x * 2.0
            np.testing.assert_array_equal(y.numpy(), x.numpy() * 2.0)
            assert x.numpy().dtype == np.float32
        finally:
            sess.close()


class _DeviceModule:
    """A stand-in for CuPy: NumPy functions, plus transfers that are counted."""

    def __init__(self):
        self.to_device = 0
        self.to_host = 0

    def __getattr__(self, name):
        return getattr(np, name)

    def asarray(self, a):
        self.to_device += 1
        return np.asarray(a)

    def asnumpy(self, a):
        self.to_host += 1
        return np.asarray(a)


def test_device_kernels_sample_on_host_and_copy_to_device():
    from tfnb.runtime.state import KernelContext, SessionState
    p = tf.placeholder(tf.int32, [2])
    cases = [(tf.random_normal([2, 3], seed=1), []),
             (tf.random_normal(p, seed=1), [np.array([2, 3], np.int32)]),
             (tf.multinomial(tf.zeros([2, 3]), 4, seed=1), [np.zeros((2, 3), np.float32)]),
             (tf.random_shuffle(tf.zeros([5, 2]), seed=1), [np.arange(10.0).reshape(5, 2)])]
    for t, args in cases:
        op = t.op if t.op.type != "Add" else t.op.inputs[0].op.inputs[0].op
        xp = _DeviceModule()
        out = op.op_def.kernel(op, KernelContext(SessionState(), xp=xp))(*args)
        assert xp.to_device == 1 and xp.to_host == (len(args) if op.type != "RandomShuffle" else 0)
        ref = op.op_def.kernel(op, KernelContext(SessionState()))(*args)
        np.testing.assert_array_equal(out, ref)  # the same numbers on every device
