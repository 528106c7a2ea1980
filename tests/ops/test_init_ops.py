"""Initializers: values, statistics against their formulas, dtypes, configs, seeds, errors."""
import math

import numpy as np
import pytest

import tfnb as tf
from tfnb.ops import init_ops


def run(fetches):
    with tf.Session() as sess:
        return sess.run(fetches)


class _Partition:
    """What ``get_variable`` passes for one slice of a partitioned variable."""

    def __init__(self, full_shape, var_offset):
        self.full_shape = full_shape
        self.var_offset = var_offset


# ----------------------------------------------------------------------------------------------
# Deterministic initializers
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("init,shape,dtype,expected", [
    (tf.zeros_initializer(), [2, 3], None, np.zeros((2, 3), np.float32)),
    (tf.zeros_initializer(), [2], tf.int64, np.zeros(2, np.int64)),
    (tf.ones_initializer(dtype=tf.float64), tf.TensorShape([3]), None, np.ones(3)),
    (tf.ones_initializer(), [], tf.int32, np.array(1, np.int32)),
    (tf.constant_initializer(0.5), [2, 2], None, np.full((2, 2), 0.5, np.float32)),
    (tf.constant_initializer([1, 2, 3, 4]), [2, 2], None, np.array([[1, 2], [3, 4]], np.float32)),
    (tf.constant_initializer(list(range(8))), [3, 4], None,
     np.array([[0, 1, 2, 3], [4, 5, 6, 7], [7, 7, 7, 7]], np.float32)),  # last value repeats
    (tf.constant_initializer(np.arange(6.0).reshape(2, 3)), [3, 2], None,
     np.arange(6.0, dtype=np.float32).reshape(3, 2)),
    (tf.constant_initializer([1, 2]), [2], tf.int32, np.array([1, 2], np.int32)),
    (tf.constant_initializer([]), [2], None, np.zeros(2, np.float32)),
    (tf.constant_initializer([[1.0, 2.0]], verify_shape=True), [1, 2], None,
     np.array([[1.0, 2.0]], np.float32)),
    (tf.identity_initializer(), [2, 3], None, np.eye(2, 3, dtype=np.float32)),
    (tf.identity_initializer(gain=3.0), [3, 3], tf.float64, 3 * np.eye(3)),
], ids=["zeros", "zeros_int64", "ones_ctor_dtype", "ones_scalar", "constant_scalar",
        "constant_list", "constant_pad", "constant_array", "constant_int", "constant_empty",
        "constant_verified", "identity", "identity_gain"])
def test_deterministic_values(init, shape, dtype, expected):
    t = init(shape, dtype=dtype)
    v = run(t)
    assert t.dtype.as_numpy_dtype == expected.dtype and v.dtype == expected.dtype
    assert t.shape.as_list() == list(expected.shape)
    np.testing.assert_array_equal(v, expected)


def test_constant_initializer_errors():
    with pytest.raises(ValueError, match="Too many elements"):
        tf.constant_initializer(list(range(8)))([2, 3])
    with pytest.raises(TypeError, match="shape"):
        tf.constant_initializer([1.0, 2.0], verify_shape=True)([2, 1])
    with pytest.raises(TypeError):
        tf.constant_initializer(2.5)([2], dtype=tf.int32)
    with pytest.raises(TypeError, match="Invalid type"):
        tf.constant_initializer({"a": 1})


def test_identity_initializer_checks_and_partitions():
    with pytest.raises(ValueError, match="two-dimensional"):
        tf.identity_initializer()([2, 3, 4])
    part = tf.identity_initializer()([2, 4], partition_info=_Partition([4, 4], [2, 0]))
    np.testing.assert_array_equal(run(part), np.eye(4, dtype=np.float32)[2:])


# ----------------------------------------------------------------------------------------------
# Variance scaling: the sample std is sqrt(scale / n) for every distribution
# ----------------------------------------------------------------------------------------------
def test_compute_fans():
    assert init_ops._compute_fans([]) == (1, 1)
    assert init_ops._compute_fans([7]) == (7, 7)
    assert init_ops._compute_fans([20, 30]) == (20, 30)
    assert init_ops._compute_fans([3, 3, 16, 32]) == (144, 288)
    assert init_ops._compute_fans([5, 4, 8]) == (20, 40)


VS_SHAPE = [200, 100]
CONV_SHAPE = [3, 3, 16, 32]


@pytest.mark.parametrize("scale,mode,distribution,shape,n", [
    (1.0, "fan_in", "truncated_normal", VS_SHAPE, 200),
    (2.0, "fan_out", "normal", VS_SHAPE, 100),
    (1.0, "fan_avg", "untruncated_normal", VS_SHAPE, 150),
    (3.0, "fan_in", "uniform", VS_SHAPE, 200),
    (2.0, "fan_in", "truncated_normal", CONV_SHAPE, 144),
    (1.0, "fan_out", "uniform", CONV_SHAPE, 288),
    (1.0, "fan_avg", "Untruncated_Normal", CONV_SHAPE, 216),
])
def test_variance_scaling_std_matches_formula(scale, mode, distribution, shape, n):
    init = tf.variance_scaling_initializer(scale=scale, mode=mode, distribution=distribution,
                                           seed=1)
    t = init(shape)
    v = run(t)
    assert t.shape.as_list() == shape and v.dtype == np.float32
    std = math.sqrt(scale / n)
    assert abs(v.std() - std) < 0.03 * std
    assert abs(v.mean()) < 5 * std / math.sqrt(v.size)
    if distribution == "uniform":
        assert np.abs(v).max() <= math.sqrt(3.0) * std * (1 + 1e-6)
    elif "untruncated" not in distribution.lower():
        assert np.abs(v).max() <= 2 * std / init_ops._TRUNCATED_STD * (1 + 1e-6)


def test_variance_scaling_uses_the_full_shape_of_a_partition():
    init = tf.variance_scaling_initializer(mode="fan_in", distribution="uniform", seed=2)
    v = run(init([100, 400], partition_info=_Partition([10000, 400], [0, 0])))
    assert np.abs(v).max() <= math.sqrt(3.0 / 10000)


@pytest.mark.parametrize("init,std", [
    (tf.glorot_uniform_initializer(seed=1), math.sqrt(2.0 / 300)),
    (tf.glorot_normal_initializer(seed=1), math.sqrt(2.0 / 300)),
    (tf.uniform_unit_scaling_initializer(factor=1.5, seed=1), 1.5 / math.sqrt(200)),
    (tf.random_normal_initializer(mean=1.0, stddev=0.5, seed=1), 0.5),
    (tf.truncated_normal_initializer(stddev=0.5, seed=1), 0.5 * init_ops._TRUNCATED_STD),
    (tf.random_uniform_initializer(-2.0, 2.0, seed=1), 4.0 / math.sqrt(12)),
], ids=["glorot_uniform", "glorot_normal", "unit_scaling", "normal", "truncated", "uniform"])
def test_random_initializer_std(init, std):
    v = run(init([200, 100]))
    assert abs(v.std() - std) < 0.03 * std


def test_random_initializer_dtypes():
    assert run(tf.random_normal_initializer()([2], dtype=tf.float64)).dtype == np.float64
    assert run(tf.truncated_normal_initializer(dtype=tf.float16)([2])).dtype == np.float16
    v = run(tf.random_uniform_initializer(0, 5)([50], dtype=tf.int32))
    assert v.dtype == np.int32 and v.min() >= 0 and v.max() < 5
    # As in TF1, Glorot initializers ignore the constructor's dtype (the call's is used).
    assert tf.glorot_uniform_initializer(dtype=tf.float64)([2, 2]).dtype == tf.float32
    assert tf.glorot_normal_initializer()([2, 2], dtype=tf.float64).dtype == tf.float64


@pytest.mark.parametrize("build,err", [
    (lambda: tf.random_normal_initializer(dtype=tf.int32), ValueError),
    (lambda: tf.truncated_normal_initializer(dtype=tf.int32), ValueError),
    (lambda: tf.variance_scaling_initializer(dtype=tf.int64), ValueError),
    (lambda: tf.orthogonal_initializer(dtype=tf.int32), ValueError),
    (lambda: tf.variance_scaling_initializer(scale=0.0), ValueError),
    (lambda: tf.variance_scaling_initializer(mode="fan_sum"), ValueError),
    (lambda: tf.variance_scaling_initializer(distribution="cauchy"), ValueError),
    (lambda: tf.random_uniform_initializer(dtype=tf.int32)([2]), ValueError),  # needs maxval
    (lambda: tf.orthogonal_initializer()([3]), ValueError),
], ids=["normal_int", "truncated_int", "vs_int", "orthogonal_int", "scale", "mode",
        "distribution", "uniform_int_no_max", "orthogonal_1d"])
def test_bad_arguments(build, err):
    with pytest.raises(err):
        build()


# ----------------------------------------------------------------------------------------------
# Orthogonal
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,gain,dtype", [
    ([6, 6], 1.0, tf.float32),
    ([10, 4], 2.0, tf.float64),     # tall: orthonormal columns
    ([3, 8], 1.0, tf.float64),      # wide: orthonormal rows
    ([3, 3, 4, 8], 0.5, tf.float32),  # conv kernel flattened to [36, 8]
])
def test_orthogonal(shape, gain, dtype):
    t = tf.orthogonal_initializer(gain=gain, seed=3)(shape, dtype=dtype)
    v = run(t)
    assert t.shape.as_list() == shape and v.dtype == dtype.as_numpy_dtype
    m = v.reshape(-1, shape[-1])
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    tol = 1e-5 if dtype is tf.float32 else 1e-12
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(len(gram)), atol=tol * 10)


def test_orthogonal_float16():
    v = run(tf.orthogonal_initializer(seed=1)([4, 4], dtype=tf.float16))
    assert v.dtype == np.float16
    np.testing.assert_allclose(v.astype(np.float32).T @ v.astype(np.float32), np.eye(4),
                               atol=5e-3)


# ----------------------------------------------------------------------------------------------
# Configs, seeds, variables
# ----------------------------------------------------------------------------------------------
CONFIGS = [
    (tf.zeros_initializer(), {"dtype": "float32"}),
    (tf.ones_initializer(tf.int32), {"dtype": "int32"}),
    (tf.constant_initializer([1, 2]), {"value": [1, 2], "dtype": "float32"}),
    (tf.random_uniform_initializer(-1.0, 1.0, seed=2),
     {"minval": -1.0, "maxval": 1.0, "seed": 2, "dtype": "float32"}),
    (tf.random_normal_initializer(0.5, 2.0), {"mean": 0.5, "stddev": 2.0, "seed": None,
                                              "dtype": "float32"}),
    (tf.truncated_normal_initializer(dtype=tf.float64), {"mean": 0.0, "stddev": 1.0, "seed": None,
                                                         "dtype": "float64"}),
    (tf.uniform_unit_scaling_initializer(2.0), {"factor": 2.0, "seed": None, "dtype": "float32"}),
    (tf.variance_scaling_initializer(2.0, "fan_out", "uniform", seed=1),
     {"scale": 2.0, "mode": "fan_out", "distribution": "uniform", "seed": 1, "dtype": "float32"}),
    (tf.glorot_uniform_initializer(seed=4), {"seed": 4, "dtype": "float32"}),
    (tf.glorot_normal_initializer(), {"seed": None, "dtype": "float32"}),
    (tf.orthogonal_initializer(gain=2.0), {"gain": 2.0, "seed": None, "dtype": "float32"}),
    (tf.identity_initializer(gain=0.5), {"gain": 0.5, "dtype": "float32"}),
]


@pytest.mark.parametrize("init,config", CONFIGS, ids=[type(c[0]).__name__ for c in CONFIGS])
def test_get_config_round_trip(init, config):
    assert init.get_config() == config
    again = type(init).from_config(init.get_config())
    assert type(again) is type(init) and again.get_config() == config


def test_class_names_as_tf1():
    assert tf.zeros_initializer is init_ops.Zeros
    assert tf.variance_scaling_initializer is init_ops.VarianceScaling
    assert issubclass(tf.glorot_uniform_initializer, init_ops.VarianceScaling)
    assert type(tf.orthogonal_initializer()).__name__ == "Orthogonal"


def _seeded_values(graph_seed):
    with tf.Graph().as_default():
        tf.set_random_seed(graph_seed)
        inits = [tf.glorot_uniform_initializer(), tf.variance_scaling_initializer(),
                 tf.orthogonal_initializer(), tf.random_normal_initializer(seed=4)]
        return run([i([5, 3]) for i in inits])


def test_seeded_initializers_are_reproducible():
    a, b, c = _seeded_values(1), _seeded_values(1), _seeded_values(2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_variables_from_initializers():
    w = tf.Variable(tf.glorot_uniform_initializer(seed=1)(tf.TensorShape([4, 3])), name="w")
    b = tf.Variable(tf.zeros_initializer()([3]), name="b")
    y = tf.matmul(tf.ones([2, 4]), w) + b
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(y).shape == (2, 3)
        assert np.abs(sess.run(w)).max() <= math.sqrt(6.0 / 7)
