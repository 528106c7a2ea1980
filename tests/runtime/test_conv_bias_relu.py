"""The ``conv_bias_relu`` plan pass: Conv2D -> bias add -> Relu as one kernel gives the values
and gradients of the three ops (every convolution path: patch-GEMM, im2col, Winograd and its
non-finite fallback), and leaves plans alone where another op reads the convolution."""
import numpy as np
import pytest

import tfnb as tf
from tfnb.core.protobuf.rewriter_config_pb2 import RewriterConfig
from tfnb.ops import conv_ops

pytestmark = pytest.mark.skipif(not conv_ops.bias_relu_available(np.float32),
                                reason="needs numba and SciPy (the patch kernels)")


def _config(on):
    return tf.ConfigProto(graph_options=tf.GraphOptions(rewrite_options=RewriterConfig(
        remapping=RewriterConfig.ON if on else RewriterConfig.OFF)))


CASES = [  # x shape, filter shape, stride, how the bias is added, non-finite input
    ((6, 12, 12, 3), (5, 5, 3, 16), 1, "add", False),      # patch-GEMM (75-value rows)
    ((6, 12, 12, 3), (3, 3, 3, 16), 2, "bias_add", True),  # patch-GEMM, stride 2, NaN/inf
    ((5, 14, 14, 1), (5, 5, 1, 8), 1, "bias_add", False),  # im2col (25-value rows)
    ((3, 10, 10, 8), (5, 5, 8, 16), 1, "add_rev", False),  # Winograd
    ((3, 10, 10, 8), (3, 3, 8, 16), 1, "add", True),       # Winograd's non-finite fallback
]


@pytest.mark.parametrize("xs,ws,stride,kind,specials", CASES)
def test_fused_conv_gives_the_three_ops_values_and_gradients(xs, ws, stride, kind, specials):
    rng = np.random.default_rng(11)
    xv = rng.standard_normal(xs).astype(np.float32)
    if specials:
        xv.reshape(-1)[:3] = [np.nan, np.inf, -0.0]
    wv = rng.standard_normal(ws).astype(np.float32)
    bv = rng.standard_normal(ws[3]).astype(np.float32)
    bv[0] = -0.0
    out = {}
    for on in (False, True):
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [None] + list(xs[1:]))  # the batch: a run-time shape
            w, b = tf.Variable(wv), tf.Variable(bv)
            c = tf.nn.conv2d(x, w, [1, stride, stride, 1], "SAME")
            z = {"add": lambda: c + b, "add_rev": lambda: b + c,
                 "bias_add": lambda: tf.nn.bias_add(c, b)}[kind]()
            h = tf.nn.relu(z)
            loss = tf.reduce_sum(h * h)
            grads = tf.gradients(loss, [w, b])
            with tf.Session(config=_config(on)) as sess, np.errstate(all="ignore"):
                sess.run(tf.global_variables_initializer())
                out[on] = sess.run([h] + grads, {x: xv})
                plan = sess._last_plan
        if on:
            assert plan.rewrites.get("conv_bias_relu", 0) >= 4
            assert not any(e[0].type == "Conv2D" for e in plan.body)
    for a, b_ in zip(out[False], out[True]):
        assert np.array_equal(a.view(np.int32), b_.view(np.int32))


def test_a_convolution_read_elsewhere_is_left_alone():
    rng = np.random.default_rng(12)
    xv = rng.standard_normal((2, 8, 8, 3)).astype(np.float32)
    with tf.Graph().as_default():
        w = tf.constant(rng.standard_normal((3, 3, 3, 8)).astype(np.float32))
        b = tf.constant(np.ones(8, np.float32))
        c = tf.nn.conv2d(tf.constant(xv), w, [1, 1, 1, 1], "SAME")
        h = tf.nn.relu(c + b)
        with tf.Session() as sess:
            hv, cv = sess.run([h, c])  # the convolution's value is fetched too
            assert "conv_bias_relu" not in sess._last_plan.rewrites
            assert sess.run(tf.nn.relu(c * 2.0 + b)).shape == (2, 8, 8, 8)
            assert "conv_bias_relu" not in sess._last_plan.rewrites  # not a bias add's Relu
    np.testing.assert_allclose(hv, np.maximum(cv + 1, 0), rtol=1e-6)


def test_parts_of_the_chain_on_two_devices_give_the_same_values():
    """Variables on one device, the layer on another (towers): the passes must not make an op
    read a value under a name its device does not receive."""
    rng = np.random.default_rng(13)
    xv = rng.standard_normal((4, 12, 12, 3)).astype(np.float32)
    wv = rng.standard_normal((5, 5, 3, 8)).astype(np.float32) * 0.2
    out = {}
    for on in (False, True):
        with tf.Graph().as_default():
            with tf.device("/cpu:0"):
                w = tf.Variable(wv)
                b = tf.Variable(np.linspace(-0.5, 0.5, 8, dtype=np.float32))
            with tf.device("/cpu:1"):
                x = tf.placeholder(tf.float32, [None, 12, 12, 3])
                h = tf.nn.relu(tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME") + b)
                y = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
                loss = tf.reduce_sum(y * y)
            grads = tf.gradients(loss, [w, b])
            cfg = _config(on)
            cfg.device_count = {"CPU": 2}
            with tf.Session(config=cfg) as sess:
                sess.run(tf.global_variables_initializer())
                out[on] = sess.run([y] + grads, {x: xv})
                if on:  # the MaxPool and its gradient run on one device: that pass applies
                    assert sess._last_plan.rewrites.get("first_max", 0) >= 2
    for a, b_ in zip(out[False], out[True]):
        np.testing.assert_array_equal(a, b_)
