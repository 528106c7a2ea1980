"""The ``first_max`` plan pass: a MaxPool's gradient routes by the first maxima its forward
kernel recorded -- the same bits as the gradient that compares the input again (NaN windows,
ties, signed zeros, non-finite gradients), which then need not read the input."""
import gc

import numpy as np
import pytest

import tfnb as tf
from tfnb.core.protobuf.rewriter_config_pb2 import RewriterConfig
from tfnb.ops import pool_ops
from tfnb.runtime.passes import first_max, fusion_codegen

pytestmark = pytest.mark.skipif(not fusion_codegen.available(), reason="numba not installed")


def _config(on):
    return tf.ConfigProto(graph_options=tf.GraphOptions(rewrite_options=RewriterConfig(
        remapping=RewriterConfig.ON if on else RewriterConfig.OFF)))


def _specials(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x = np.round(rng.standard_normal(shape), 1).astype(dtype)  # rounding makes ties
    flat = x.reshape(-1)
    flat[:7] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 3.0, 3.0]
    flat[-3:] = [-0.0, 0.0, -0.0]
    return x


def _pool_and_grad(xv, gv, k, s, padding, fmt, on, numpy_kernels=False, monkeypatch=None):
    if numpy_kernels:
        monkeypatch.setattr(pool_ops, "USE_NUMBA", False)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.as_dtype(xv.dtype), xv.shape)
        ks = [1, 1, k, k] if fmt == "NCHW" else [1, k, k, 1]
        ss = [1, 1, s, s] if fmt == "NCHW" else [1, s, s, 1]
        y = tf.nn.max_pool(x, ks, ss, padding, data_format=fmt)
        dx, = tf.gradients(y, x, grad_ys=tf.constant(gv))
        with tf.Session(config=_config(on)) as sess, np.errstate(all="ignore"):
            vals = sess.run([y, dx], {x: xv})
            fired = sess._last_plan.rewrites.get("first_max", 0)
    if numpy_kernels:
        monkeypatch.setattr(pool_ops, "USE_NUMBA", True)
    return vals, fired


CASES = [((6, 12, 12, 8), 2, 2, "SAME", "NHWC", np.float32),    # tiles
         ((4, 13, 11, 5), 3, 2, "SAME", "NHWC", np.float32),    # overlapping, padded
         ((3, 9, 9, 40), 3, 2, "VALID", "NHWC", np.float64),    # few images: channel chunks
         ((2, 7, 8, 3), 3, 1, "SAME", "NHWC", np.float32),      # stride 1
         ((3, 6, 10, 10), 2, 2, "SAME", "NCHW", np.float32)]


@pytest.mark.parametrize("shape,k,s,padding,fmt,dtype", CASES)
def test_routing_by_recorded_maxima_gives_the_same_bits(monkeypatch, shape, k, s, padding, fmt,
                                                        dtype):
    xv = _specials(shape, dtype, 1)
    hits = []
    get = first_max.FirstMaxima.get
    monkeypatch.setattr(first_max.FirstMaxima, "get",
                        lambda self, y: hits.append(get(self, y)) or hits[-1])
    with tf.Graph().as_default():  # the gradient's shape
        y_shape = tf.nn.max_pool(tf.zeros(shape), [1, 1, k, k] if fmt == "NCHW" else [1, k, k, 1],
                                 [1, 1, s, s] if fmt == "NCHW" else [1, s, s, 1], padding,
                                 data_format=fmt).shape.as_list()
    gv = _specials(y_shape, dtype, 2)
    gv.reshape(-1)[7:10] = [np.inf, np.nan, -1.5]
    on, fired = _pool_and_grad(xv, gv, k, s, padding, fmt, True)
    assert fired == 2 and hits and all(h is not None for h in hits)
    off, fired_off = _pool_and_grad(xv, gv, k, s, padding, fmt, False)
    ref, _ = _pool_and_grad(xv, gv, k, s, padding, fmt, False, True, monkeypatch)
    assert fired_off == 0
    bits = np.int32 if dtype == np.float32 else np.int64
    for a, b in zip(on, off):
        assert np.array_equal(a.view(bits), b.view(bits))
    # The NumPy kernels: the gradient bit for bit but for the sign bit of NaNs (compilers may
    # swap the operands of an addition, and x86 keeps the first NaN's); the maximum too, but
    # for the sign of a zero maximum of a window holding 0.0 and -0.0 (pool_kernels' docstring).
    nan = np.isnan(ref[1])
    assert np.array_equal(np.isnan(on[1]), nan)
    assert np.array_equal(on[1][~nan].view(bits), ref[1][~nan].view(bits))
    np.testing.assert_array_equal(on[0], ref[0])


def test_a_gradient_of_another_pooled_value_compares_as_before():
    rng = np.random.default_rng(3)
    xv = rng.standard_normal((4, 10, 10, 6)).astype(np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, xv.shape)
        y = tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
        dx, = tf.gradients(tf.reduce_sum(y * y), x)
        with tf.Session() as sess:
            y_fed = sess.run(y, {x: xv}) * 2  # not what the MaxPool computed: no recorded maxima
            got = sess.run(dx, {x: xv, y: y_fed})
    ref = pool_ops._max_pool_grad_nhwc(np, xv, y_fed, 2 * y_fed, (2, 2), (2, 2), "SAME")
    np.testing.assert_array_equal(got, ref)


def test_recorded_maxima_live_as_long_as_their_pooled_array():
    table = first_max.FirstMaxima()
    y = np.zeros(3)
    table.put(y, np.ones(3, np.uint8))
    assert table.get(y) is not None and table.get(np.zeros(3)) is None
    del y
    gc.collect()
    assert len(table) == 0


def test_a_pooling_without_its_gradient_is_left_alone():
    with tf.Graph().as_default():
        x = tf.constant(np.ones((2, 8, 8, 3), np.float32))
        y = tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
        with tf.Session() as sess:
            assert sess.run(y).shape == (2, 4, 4, 3)
            assert "first_max" not in (sess._last_plan.rewrites or {})


@pytest.mark.parametrize("k,s,fmt", [(2, 2, "NHWC"), (3, 2, "NHWC"), (3, 2, "NCHW")])
def test_the_relu_gradient_below_a_pool_is_computed_by_the_pool_gradient(k, s, fmt):
    shape = (4, 12, 12, 6) if fmt == "NHWC" else (4, 6, 12, 12)
    xv = _specials(shape, np.float32, 5)
    out = {}
    for on in (False, True):
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, shape)
            b = tf.constant(np.linspace(-1, 1, 6, dtype=np.float32))
            h = tf.nn.relu(tf.nn.bias_add(x * 0.5, b, data_format=fmt))
            ks = [1, 1, k, k] if fmt == "NCHW" else [1, k, k, 1]
            ss = [1, 1, s, s] if fmt == "NCHW" else [1, s, s, 1]
            y = tf.nn.max_pool(h, ks, ss, "SAME", data_format=fmt)
            loss = tf.reduce_sum(y * tf.constant(np.float32(1.5)) - tf.square(y))
            dx, db = tf.gradients(loss, [x, b])
            with tf.Session(config=_config(on)) as sess, np.errstate(all="ignore"):
                out[on] = sess.run([dx, db], {x: xv})
                plan = sess._last_plan
        if on:
            assert plan.rewrites.get("first_max") == 3  # MaxPool, MaxPoolGrad, the ReluGrad
            assert not any(e[0].type == "ReluGrad" for e in plan.body)
    (dx_off, db_off), (dx_on, db_on) = out[False], out[True]
    np.testing.assert_array_equal(dx_on, dx_off)
    assert np.array_equal(np.signbit(dx_on), np.signbit(dx_off))
    # The bias gradient sums the same values; in NCHW their memory order (an NHWC array's view
    # either way, but another one) may change the order of the sum.
    np.testing.assert_allclose(db_on, db_off, rtol=1e-6)
