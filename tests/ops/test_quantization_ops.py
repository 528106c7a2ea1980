"""Quantized ops and fake quantization: NumPy references of TF's formulas, values TensorFlow
computed (marked), gradients and bad input."""
import numpy as np
import pytest

import tfnb as tf

X = np.array([0.68338907, 3.0126512, -6.0, -5.5, -0.5, 0.0, 0.5, 2.5, 6.0, 7.2], np.float32)


def _run(t):
    with tf.Session() as sess:
        return sess.run(t)


def _round_away(v):
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


# --- NumPy references (TF's quantization_utils.h / quantize_op.cc formulas) ---------------
def ref_min_combined(x, lo, hi, qmin, qmax):
    lo = min(0.0, lo)
    hi = max(0.0, max(hi, lo + max(1.0, abs(lo), abs(hi)) / 100.0))
    v = (np.clip(x.astype(np.float64), lo, hi) - lo) * (qmax - qmin) / (hi - lo)
    if qmin < 0:
        return _round_away(v - (qmax - qmin + 1) / 2.0), lo, hi
    return np.floor(v + 0.5), lo, hi


def ref_min_first(x, lo, hi, qmin, bits):
    steps = 2.0 ** bits
    scale = steps / ((hi - lo) * steps / (steps - 1))
    q = _round_away(x.astype(np.float64) * scale) - _round_away(lo * scale) + qmin
    return np.clip(q, qmin, qmin + steps - 1)


def ref_fake_quant(x, lo, hi, bits, narrow):
    """TF's nudged fake quantization, in float32 as TF computes it."""
    f = np.float32
    qmin, qmax = f(1 if narrow else 0), f(2 ** bits - 1)
    scale = (f(hi) - f(lo)) / (qmax - qmin)
    zp = qmin - f(lo) / scale
    zp = qmin if zp < qmin else qmax if zp > qmax else f(_round_away(zp))
    nlo, nhi = (qmin - zp) * scale, (qmax - zp) * scale
    c = np.clip(x.astype(np.float32), nlo, nhi)
    return np.floor((c - nlo) * (f(1) / scale) + f(0.5)) * scale + nlo, nlo, nhi


# --- quantize / dequantize ----------------------------------------------------------------
@pytest.mark.parametrize("T,qmin,qmax", [(tf.quint8, 0, 255), (tf.qint8, -128, 127),
                                         (tf.quint16, 0, 65535), (tf.qint16, -32768, 32767)])
@pytest.mark.parametrize("lo,hi", [(-6.0, 6.0), (-1.0, 6.5), (0.5, 0.5), (2.0, 3.0)])
def test_quantize_min_combined_and_dequantize(T, qmin, qmax, lo, hi):
    q, a, b = tf.quantize(X, lo, hi, T)
    d = tf.dequantize(q, a, b)
    assert q.dtype == T
    qv, av, bv, dv = _run([q, a, b, d])
    want, wlo, whi = ref_min_combined(X, lo, hi, qmin, qmax)
    np.testing.assert_array_equal(qv, want)
    assert qv.dtype == T.as_numpy_dtype
    np.testing.assert_allclose([av, bv], [wlo, whi], rtol=1e-6)
    level = (whi - wlo) / (qmax - qmin)
    inside = (X >= wlo) & (X <= whi)
    assert np.all(np.abs(dv - X)[inside] <= level / 2 + 1e-5)


def test_quantize_values_tensorflow_computed():
    # tf.quantize(X, -1.0, 6.5, tf.quint8) and (X, -6, 6, tf.qint8), by TensorFlow.
    q = _run(tf.quantize(X, -1.0, 6.5, tf.quint8))
    np.testing.assert_array_equal(q[0][2:], [0, 0, 17, 34, 51, 119, 238, 255])
    q = _run(tf.quantize(X, -6.0, 6.0, tf.qint8))
    np.testing.assert_array_equal(q[0][2:], [-128, -117, -11, -1, 10, 53, 127, 127])


def test_quantize_min_first_matches_reference():
    for T, qmin, bits in [(tf.quint8, 0, 8), (tf.qint8, -128, 8), (tf.qint16, -32768, 16)]:
        q, a, b = _run(tf.quantize(X, -2.0, 5.0, T, mode="MIN_FIRST"))
        np.testing.assert_array_equal(q, ref_min_first(X, -2.0, 5.0, qmin, bits))
        d = _run(tf.dequantize(tf.constant(q, T), a, b, mode="MIN_FIRST"))
        inside = (X >= -2.0) & (X <= 5.0)
        assert np.abs(d - X)[inside].max() <= 7.0 / 255 * 0.51 + 1e-6


def test_quantize_scaled_as_tf1_documents():
    # TF 1.15's example: qint8, [-10, 9]: the scale comes from the min side (128 / 10 = 12.8)
    # and max_range becomes 127 / 12.8 = 9.921875.
    x = np.array([-10.0, -3.3, 0.0, 4.96, 9.0, 9.95], np.float32)
    q, a, b = _run(tf.quantize(x, -10.0, 9.0, tf.qint8, mode="SCALED"))
    assert (a, b) == (-10.0, np.float32(9.921875))
    np.testing.assert_array_equal(q, _round_away(np.clip(x, -10, 9.921875) * 12.8))
    even = _run(tf.quantize(np.float32([0.0390625, 0.1171875]), -10.0, 9.0, tf.qint8,
                            mode="SCALED", round_mode="HALF_TO_EVEN"))[0]
    np.testing.assert_array_equal(even, [0, 2])  # 0.5 -> 0, 1.5 -> 2
    d = _run(tf.dequantize(tf.constant(q, tf.qint8), a, b, mode="SCALED"))
    np.testing.assert_allclose(d, q / 12.8, rtol=1e-6)


# --- quantized kernels --------------------------------------------------------------------
def _levels(rng, shape):
    return rng.randint(0, 256, shape).astype(np.uint8)


def _offset(lo, hi):
    return _round_away(0.0 * 255 / (hi - lo)) - _round_away(lo * 256 / ((hi - lo) * 256 / 255))


def test_quantized_matmul_int32_accumulation():
    a = np.array([[186, 31, 120, 1, 65], [231, 169, 57, 35, 102], [119, 11, 174, 82, 91]],
                 np.uint8)
    b = np.array([[128, 142, 99, 53], [140, 121, 170, 84], [203, 68, 6, 196],
                  [47, 127, 244, 131], [204, 100, 180, 232]], np.uint8)
    out, lo, hi = _run(tf.quantization.quantized_matmul(
        tf.constant(a, tf.quint8), tf.constant(b, tf.quint8), -1.0, 2.0, -0.5, 0.7))
    assert out.dtype == np.int32
    want = (a.astype(np.int64) - _offset(-1.0, 2.0)) @ (b.astype(np.int64) - _offset(-0.5, 0.7))
    np.testing.assert_array_equal(out, want)
    # TensorFlow's output for these inputs
    np.testing.assert_array_equal(out[0], [6777, -148, -20735, -5635])
    level = (3.0 / 255) * (1.2 / 255)
    np.testing.assert_allclose([lo, hi], [level * -2 ** 31, level * (2 ** 31 - 1)], rtol=1e-6)
    # transposes
    outt = _run(tf.quantization.quantized_matmul(
        tf.constant(a.T.copy(), tf.quint8), tf.constant(b.T.copy(), tf.quint8), -1.0, 2.0,
        -0.5, 0.7, transpose_a=True, transpose_b=True))[0]
    np.testing.assert_array_equal(outt, want)


def _ref_conv(x, w, stride, padding):
    n, h, wd, c = x.shape
    kh, kw, _, o = w.shape
    if padding == "SAME":
        ho, wo = -(-h // stride), -(-wd // stride)
        ph = max((ho - 1) * stride + kh - h, 0) // 2
        pw = max((wo - 1) * stride + kw - wd, 0) // 2
    else:
        ho, wo, ph, pw = (h - kh) // stride + 1, (wd - kw) // stride + 1, 0, 0
    xp = np.zeros((n, h + kh * 2, wd + kw * 2, c), np.int64)
    xp[:, ph:ph + h, pw:pw + wd] = x
    y = np.zeros((n, ho, wo, o), np.int64)
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw]
            y[:, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [0, 1, 2]))
    return y


@pytest.mark.parametrize("stride,padding", [(1, "SAME"), (2, "SAME"), (1, "VALID")])
def test_quantized_conv2d_int32_accumulation(stride, padding):
    rng = np.random.RandomState(1)
    x, w = _levels(rng, (2, 6, 7, 3)), _levels(rng, (3, 3, 3, 4))
    out, lo, hi = _run(tf.nn.quantized_conv2d(
        tf.constant(x, tf.quint8), tf.constant(w, tf.quint8), -0.3, 1.7, -0.9, 0.4,
        [1, stride, stride, 1], padding))
    want = _ref_conv(x.astype(np.int64) - _offset(-0.3, 1.7),
                     w.astype(np.int64) - _offset(-0.9, 0.4), stride, padding)
    np.testing.assert_array_equal(out, want)


def test_quantized_relu_add_bias_pool_requantize():
    rng = np.random.RandomState(2)
    a = _levels(rng, (3, 4))
    zero = _round_away(1.0 * 255 / 3.0)  # level of 0.0 in [-1, 2]
    r, lo, hi = _run(tf.quantization.quantized_relu(tf.constant(a, tf.quint8), -1.0, 2.0))
    np.testing.assert_array_equal(r, np.maximum(a, zero))
    assert (lo, hi) == (-1.0, 2.0)
    r6 = _run(tf.quantization.quantized_relu6(tf.constant(a, tf.quint8), -1.0, 8.0))[0]
    top = ref_min_first(np.float32([0.0, 6.0]), -1.0, 8.0, 0, 8)
    np.testing.assert_array_equal(r6, np.clip(a, top[0], top[1]))
    b = _levels(rng, (4,))

    def deq(q, lo, hi):  # MIN_FIRST dequantization
        step = (hi - lo) / 255
        return _round_away(lo / step) * step + q * step
    for op in (tf.quantization.quantized_add, tf.quantization.quantized_bias_add):
        z, zlo, zhi = _run(op(tf.constant(a, tf.quint8), tf.constant(b, tf.quint8),
                              -1.0, 2.0, -0.5, 0.7))
        assert z.dtype == np.int32 and zlo == -zhi
        got = z.astype(np.float64) * (zhi - zlo) / 2 ** 32
        np.testing.assert_allclose(got, deq(a, -1.0, 2.0) + deq(b, -0.5, 0.7), atol=3e-3)
    x4 = _levels(rng, (1, 4, 4, 2))
    mp = _run(tf.nn.quantized_max_pool(tf.constant(x4, tf.quint8), 0.0, 1.0, [1, 2, 2, 1],
                                       [1, 2, 2, 1], "VALID"))[0]
    np.testing.assert_array_equal(mp, x4.reshape(1, 2, 2, 2, 2, 2).max(axis=(2, 4)))
    ap = _run(tf.nn.quantized_avg_pool(tf.constant(x4, tf.quint8), 0.0, 1.0, [1, 2, 2, 1],
                                       [1, 2, 2, 1], "VALID"))[0]
    assert np.abs(ap - x4.reshape(1, 2, 2, 2, 2, 2).mean(axis=(2, 4))).max() <= 0.5
    # qint32 -> quint8: the levels used, then requantized into them
    q32 = np.array([-2 ** 30, -5, 0, 7, 2 ** 29], np.int32)
    ulo, uhi = _run(tf.quantization.requantization_range(tf.constant(q32, tf.qint32), -3.0, 3.0))
    np.testing.assert_allclose([ulo, uhi], [-1.5, 0.75], rtol=1e-6)
    r8, rlo, rhi = _run(tf.quantization.requantize(tf.constant(q32, tf.qint32), -3.0, 3.0,
                                                   ulo, uhi, tf.quint8))
    f = q32 * 6.0 / 2 ** 32
    np.testing.assert_allclose(rlo + r8 * (rhi - rlo) / 255, f, atol=(uhi - ulo) / 255)
    assert r8[0] == 0 and r8[-1] == 255


# --- fake quantization --------------------------------------------------------------------
@pytest.mark.parametrize("lo,hi,bits,narrow", [(-6.0, 6.0, 8, False), (-0.3, 1.7, 8, True),
                                               (0.1, 2.0, 4, False), (-2.5, -0.5, 8, False),
                                               (-1.0, 1.0, 16, True)])
def test_fake_quant_args_and_vars_nudge_like_tf(lo, hi, bits, narrow):
    want, nlo, nhi = ref_fake_quant(X, lo, hi, bits, narrow)
    y1 = _run(tf.fake_quant_with_min_max_args(X, min=lo, max=hi, num_bits=bits,
                                              narrow_range=narrow))
    y2 = _run(tf.quantization.fake_quant_with_min_max_vars(X, lo, hi, num_bits=bits,
                                                           narrow_range=narrow))
    np.testing.assert_allclose(y1, want, atol=1e-6)
    np.testing.assert_array_equal(y1, y2)
    g = np.linspace(0, 1, X.size).astype(np.float32)
    dx, dmin, dmax = _run(tf.fake_quant_with_min_max_vars_gradient(g, X, lo, hi, bits, narrow))
    inside = (X >= np.float32(nlo)) & (X <= np.float32(nhi))
    np.testing.assert_allclose(dx, g * inside)
    np.testing.assert_allclose([dmin, dmax], [g[X < np.float32(nlo)].sum(),
                                              g[X > np.float32(nhi)].sum()], rtol=1e-6)


def test_fake_quant_values_tensorflow_computed():
    y = _run(tf.fake_quant_with_min_max_args(X, min=-0.3, max=1.7, narrow_range=True))
    np.testing.assert_allclose(y, [0.68503934, 1.7007874, -0.2992126, -0.2992126, -0.2992126,
                                   0.0, 0.503937, 1.7007874, 1.7007874, 1.7007874], atol=2e-7)


def test_fake_quant_gradients_through_tf_gradients():
    x = tf.constant(X)
    vmin, vmax = tf.constant(-1.0), tf.constant(2.0)
    w = tf.constant(np.arange(X.size, dtype=np.float32))
    y = tf.fake_quant_with_min_max_vars(x, vmin, vmax)
    ya = tf.fake_quant_with_min_max_args(x, min=-1.0, max=2.0)
    gx, gmin, gmax = tf.gradients(tf.reduce_sum(y * w), [x, vmin, vmax])
    gxa = tf.gradients(tf.reduce_sum(ya * w), x)[0]
    gx, gmin, gmax, gxa = _run([gx, gmin, gmax, gxa])
    _, nlo, nhi = ref_fake_quant(X, -1.0, 2.0, 8, False)
    inside = (X >= nlo) & (X <= nhi)
    np.testing.assert_array_equal(gx, np.arange(X.size) * inside)
    np.testing.assert_array_equal(gxa, gx)
    assert gmin == np.arange(X.size)[X < nlo].sum() and gmax == np.arange(X.size)[X > nhi].sum()


def test_fake_quant_per_channel():
    x = np.random.RandomState(3).uniform(-4, 4, (6, 3)).astype(np.float32)
    mn, mx = np.float32([-1.0, 0.2, -3.0]), np.float32([1.0, 2.0, 3.0])
    y = _run(tf.fake_quant_with_min_max_vars_per_channel(x, mn, mx, num_bits=6, narrow_range=True))
    g = np.ones_like(x)
    dx, dmin, dmax = _run(tf.fake_quant_with_min_max_vars_per_channel_gradient(
        g, x, mn, mx, num_bits=6, narrow_range=True))
    for c in range(3):
        want, nlo, nhi = ref_fake_quant(x[:, c], mn[c], mx[c], 6, True)
        np.testing.assert_allclose(y[:, c], want, atol=1e-6)
        assert dmin[c] == (x[:, c] < np.float32(nlo)).sum()
        assert dmax[c] == (x[:, c] > np.float32(nhi)).sum()


# --- bad input ----------------------------------------------------------------------------
def test_bad_ranges_are_invalid_argument_errors_naming_the_op():
    with pytest.raises(tf.errors.InvalidArgumentError, match="my_quantize.*|max must be larger"):
        _run(tf.quantize(X, 3.0, 1.0, tf.quint8, name="my_quantize"))
    with pytest.raises(tf.errors.InvalidArgumentError, match="min has to be smaller than max"):
        _run(tf.fake_quant_with_min_max_args(X, min=1.0, max=1.0))
    with pytest.raises(tf.errors.InvalidArgumentError, match="min has to be smaller than max"):
        _run(tf.fake_quant_with_min_max_vars(X, 2.0, -2.0))
    with pytest.raises(tf.errors.InvalidArgumentError, match="QuantizedMatMul"):
        q = tf.constant(np.zeros((2, 2), np.uint8), tf.quint8)
        _run(tf.quantization.quantized_matmul(q, q, 1.0, 0.0, 0.0, 1.0))
    with pytest.raises(tf.errors.InvalidArgumentError, match="requested_output_min must be <= 0"):
        q = tf.constant(np.zeros(3, np.int32), tf.qint32)
        _run(tf.quantization.requantize(q, -1.0, 1.0, 0.5, 1.0, tf.quint8))


def test_bad_attributes_and_types():
    with pytest.raises(ValueError, match="num_bits must be between 2 and 16"):
        tf.fake_quant_with_min_max_args(X, num_bits=1)
    with pytest.raises(ValueError, match="mode must be one of"):
        tf.quantize(X, 0.0, 1.0, tf.quint8, mode="MAX_FIRST")
    with pytest.raises(ValueError, match="only supported for mode 'SCALED'"):
        tf.quantize(X, 0.0, 1.0, tf.quint8, round_mode="HALF_TO_EVEN")
    with pytest.raises(TypeError, match="T must be a quantized type"):
        tf.quantize(X, 0.0, 1.0, tf.int8)
    with pytest.raises(TypeError, match="a of QuantizedMatMul must be one of"):
        tf.quantization.quantized_matmul(tf.constant(np.ones((2, 2), np.float32)),
                                         tf.constant(np.ones((2, 2), np.uint8), tf.quint8),
                                         0.0, 1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="Dimensions must be equal"):
        q = tf.constant(np.zeros((2, 3), np.uint8), tf.quint8)
        tf.quantization.quantized_matmul(q, q, 0.0, 1.0, 0.0, 1.0)
    assert tf.quint8.is_quantized and not tf.quint8.is_integer and tf.qint8.min == -128
    assert tf.as_dtype(np.uint8) is tf.uint8  # NumPy types stay plain integers


def test_quantized_matmul_long_inner_dimension_is_exact():
    rng = np.random.RandomState(4)
    a, b = _levels(rng, (4, 700)), _levels(rng, (700, 3))  # sums beyond float32's 2**24
    out = _run(tf.quantization.quantized_matmul(
        tf.constant(a, tf.quint8), tf.constant(b, tf.quint8), -1.0, 2.0, -0.5, 0.7))[0]
    want = (a.astype(np.int64) - _offset(-1.0, 2.0)) @ (b.astype(np.int64) - _offset(-0.5, 0.7))
    np.testing.assert_array_equal(out, want)
    # 16-bit levels (float64 accumulation); an int32 overflow wraps as TF's int32 sums do
    a16 = rng.randint(-32768, 32768, (2, 40)).astype(np.int16)
    b16 = rng.randint(-32768, 32768, (40, 2)).astype(np.int16)
    out16 = _run(tf.quantization.quantized_matmul(
        tf.constant(a16, tf.qint16), tf.constant(b16, tf.qint16), -1.0, 1.0, -1.0, 1.0,
        Tactivation=tf.qint16))[0]
    steps = 2.0 ** 16
    off = -32768 - _round_away(-1.0 * steps / (2.0 * steps / (steps - 1)))
    want16 = (a16.astype(np.int64) - off) @ (b16.astype(np.int64) - off)
    np.testing.assert_array_equal(out16, want16.astype(np.int32))


# --- the graph transform: a trained deep-MNIST-like CNN -> eight-bit inference -------------
def _train_mnist_cnn(data, steps=150):
    rng = np.random.RandomState(0)
    x = tf.placeholder(tf.float32, [None, 784], name="images")
    y = tf.placeholder(tf.float32, [None, 10])
    h = tf.reshape(x, [-1, 28, 28, 1])
    for i, (k, c) in enumerate([(5, 8), (5, 16)]):
        w = tf.Variable(rng.normal(0, 0.1, (k, k, int(h.shape[-1]), c)).astype(np.float32))
        b = tf.Variable(np.full(c, 0.1, np.float32))
        h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(h, w, [1, 1, 1, 1], "SAME"), b))
        h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    h = tf.reshape(h, [-1, 7 * 7 * 16])
    w1 = tf.Variable(rng.normal(0, 0.05, (784, 64)).astype(np.float32))
    b1 = tf.Variable(np.full(64, 0.1, np.float32))
    h = tf.nn.relu(tf.matmul(h, w1) + b1)
    w2 = tf.Variable(rng.normal(0, 0.1, (64, 10)).astype(np.float32))
    b2 = tf.Variable(np.zeros(10, np.float32))
    logits = tf.matmul(h, w2) + b2
    probs = tf.nn.softmax(logits, name="probs")
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
    train = tf.train.AdamOptimizer(2e-3).minimize(loss)
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    for i in range(steps):
        lo = (i * 50) % (len(data.train.images) - 50)
        sess.run(train, {x: data.train.images[lo:lo + 50], y: data.train.labels[lo:lo + 50]})
    return sess, x, probs


def test_quantize_graph_of_a_trained_cnn():
    from tfnb.datasets import mnist
    from tfnb.tools.quantize_graph import quantize_graph
    try:
        data = mnist.read_data_sets(None, one_hot=True, source="mnist5k")
    except (mnist.DatasetUnavailableError, ImportError, OSError) as e:
        pytest.skip("the bundled MNIST subset is not available: %s" % e)
    with tf.Graph().as_default():
        sess, x, probs = _train_mnist_cnn(data)
        images, labels = data.test.images, data.test.labels.argmax(1)
        float_acc = (sess.run(probs, {x: images}).argmax(1) == labels).mean()
        result = quantize_graph(sess, [x], [probs])
        sess.close()
    text = result.report()
    assert set(result.quantized.values()) == {"Conv2D", "BiasAdd", "Relu", "MaxPool", "Reshape",
                                              "MatMul", "Add"}
    assert [t for t, _ in result.float_ops.values()] == ["Softmax"]
    assert "Softmax" in text and "left in float" in text
    assert result.quantized_weight_bytes * 4 == result.float_weight_bytes
    types = {op.type for op in result.graph.get_operations()}
    assert {"QuantizedConv2D", "QuantizedMatMul", "QuantizedRelu", "QuantizedMaxPool",
            "QuantizedBiasAdd", "Requantize"} <= types
    assert not types & {"Conv2D", "MatMul", "VarHandleOp", "ReadVariableOp"}
    with tf.Session(graph=result.graph) as s:
        q_probs = s.run(result.outputs[0], {result.inputs[0]: images})
    q_acc = (q_probs.argmax(1) == labels).mean()
    print("float32 accuracy %.4f, eight-bit accuracy %.4f (MNIST 5k subset, %d test images)"
          % (float_acc, q_acc, len(labels)))
    assert float_acc > 0.85
    assert q_acc >= float_acc - 0.02
