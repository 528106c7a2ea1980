"""tf.nn ops (activations, normalization, dropout, cross-entropies) vs NumPy and finite differences.

One table row per op drives the forward check (value, dtype == TF1's, static shape) and the
float64 gradient check (second order where the row asks for it). Further tests cover
construction-time errors, run-time errors, numerical stability at extreme logits, that the
cross-entropy gradients are the fused ones, dropout's seeding and scaling, and TF's
fused_batch_norm conventions (Bessel-corrected variance out, biased variance inside).
"""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients, eval_kernels, run_op
from tfnb.framework import errors

R = np.random.RandomState(4321)


def u(*shape, lo=-2.0, hi=2.0, dtype=np.float32):
    return R.uniform(lo, hi, shape).astype(dtype)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


_SA, _SS = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _bn_train(x, scale, offset, eps=1e-3, axes=(0, 1, 2), shape=(1, 1, 1, -1)):
    m = x.mean(axis=axes, keepdims=True)
    v = x.var(axis=axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * scale.reshape(shape) + offset.reshape(shape)


def _bn_unbiased_var(x, axes=(0, 1, 2)):
    return x.var(axis=axes, ddof=1)


def _in_top_k(p, t, k):
    tp = p[np.arange(len(t)), t]
    return (p > tp[:, None]).sum(1) < k


class Case:
    """One op under test: ``fn`` on one tensor per input, ``ref`` its NumPy value.

    ``grad`` is 0 (not checked), 1 or 2 (gradient order, w.r.t. the float inputs ``wrt``,
    default all of them, in float64); ``dtype`` the output dtype TF1 gives.
    """

    def __init__(self, name, fn, inputs, ref, dtype=None, grad=0, wrt=None, rtol=1e-5,
                 atol=1e-6):
        self.name, self.fn, self.inputs, self.ref = name, fn, inputs, ref
        self.dtype = np.dtype(dtype or inputs[0].dtype)
        self.grad, self.wrt, self.rtol, self.atol = grad, wrt, rtol, atol

    def __repr__(self):
        return self.name


X = u(3, 5)
Z = u(4, 5, lo=-4, hi=4)
IMG = u(2, 3, 2, 4)
SCALE, OFFSET = u(4, lo=0.5, hi=1.5), u(4)
POP_MEAN, POP_VAR = u(4, lo=-0.5, hi=0.5), u(4, lo=0.5, hi=1.5)
SOFT = _softmax(u(4, 5)).astype(np.float32)
LABELS = np.array([0, 4, 2, 1], np.int32)
BIN = (R.rand(4, 5) > 0.5).astype(np.float32)
FREQ = u(4, 1, lo=0.5, hi=2.0)

CASES = [
    # --- activations ---
    Case("relu", tf.nn.relu, [X], lambda x: np.maximum(x, 0), grad=2),
    Case("relu_int32", tf.nn.relu, [np.array([-3, 0, 5], np.int32)], lambda x: np.maximum(x, 0)),
    Case("relu6", tf.nn.relu6, [X * 4], lambda x: np.clip(x, 0, 6), grad=2),
    Case("crelu", tf.nn.crelu, [X], lambda x: np.concatenate([np.maximum(x, 0),
                                                               np.maximum(-x, 0)], -1), grad=2),
    Case("elu", tf.nn.elu, [X], _elu, grad=2),
    Case("selu", tf.nn.selu, [X], lambda x: _SS * np.where(x > 0, x, _SA * np.expm1(x)),
         grad=2),
    Case("leaky_relu", lambda x: tf.nn.leaky_relu(x, alpha=0.1), [X],
         lambda x: np.where(x > 0, x, 0.1 * x), grad=2),
    Case("leaky_relu_default", tf.nn.leaky_relu, [X], lambda x: np.where(x > 0, x, 0.2 * x),
         grad=1),
    Case("softplus", tf.nn.softplus, [Z], lambda x: np.log1p(np.exp(x)), grad=2),
    Case("softplus_extremes", tf.nn.softplus,
         [np.array([-200.0, -20.0, 0.0, 20.0, 200.0], np.float32)],
         lambda x: np.logaddexp(0, x.astype(np.float64)).astype(np.float32)),
    Case("softsign", tf.nn.softsign, [X], lambda x: x / (1 + np.abs(x)), grad=2),
    Case("nn_sigmoid", tf.nn.sigmoid, [X], _sigmoid, grad=2),
    Case("nn_tanh", tf.nn.tanh, [X], np.tanh, grad=2),
    Case("softmax", tf.nn.softmax, [Z], _softmax, grad=2),
    Case("softmax_axis0", lambda x: tf.nn.softmax(x, axis=0), [Z],
         lambda x: _softmax(x, 0), grad=2),
    Case("log_softmax", tf.nn.log_softmax, [Z], _log_softmax, grad=2),
    Case("log_softmax_dim0", lambda x: tf.nn.log_softmax(x, dim=0), [Z],
         lambda x: _log_softmax(x, 0), grad=2),
    Case("softmax_large_logits", tf.nn.softmax, [np.array([[1000.0, 1001.0, 999.0]], np.float32)],
         lambda x: _softmax(x.astype(np.float64)).astype(np.float32)),
    Case("bias_add", tf.nn.bias_add, [IMG, OFFSET], lambda x, b: x + b, grad=2),
    Case("bias_add_nchw", lambda x, b: tf.nn.bias_add(x, b, data_format="NCHW"),
         [u(2, 4, 3, 2), OFFSET], lambda x, b: x + b.reshape(4, 1, 1), grad=2),
    Case("xw_plus_b", tf.nn.xw_plus_b, [X, u(5, 4), OFFSET], lambda x, w, b: x @ w + b, grad=2,
         rtol=1e-4),
    # --- losses' building blocks ---
    Case("l2_loss", tf.nn.l2_loss, [X], lambda x: np.float32((x.astype(np.float64) ** 2).sum() / 2),
         grad=2, rtol=1e-5),
    Case("l2_normalize", lambda x: tf.nn.l2_normalize(x, axis=1), [X],
         lambda x: x / np.sqrt((x ** 2).sum(1, keepdims=True)), grad=2),
    Case("l2_normalize_all", tf.nn.l2_normalize, [X], lambda x: x / np.sqrt((x ** 2).sum()),
         grad=1),
    # --- moments and batch normalization ---
    Case("moments_mean", lambda x: tf.nn.moments(x, [0, 1, 2])[0], [IMG],
         lambda x: x.mean((0, 1, 2)), grad=2),
    # First order only: as in TF, the mean inside the variance is a stop_gradient, which is
    # exact for first derivatives but not for second ones.
    Case("moments_variance", lambda x: tf.nn.moments(x, [0, 1, 2])[1], [IMG],
         lambda x: x.var((0, 1, 2)), grad=1),
    Case("moments_keep_dims", lambda x: tf.nn.moments(x, [1], keep_dims=True)[1], [X],
         lambda x: x.var(1, keepdims=True), grad=1),
    Case("moments_float16", lambda x: tf.nn.moments(x, [0])[1], [X.astype(np.float16)],
         lambda x: x.astype(np.float32).var(0), rtol=1e-3, atol=1e-3),
    Case("weighted_moments_mean", lambda x, w: tf.nn.weighted_moments(x, [0], w)[0], [Z, FREQ],
         lambda x, w: (x * w).sum(0) / (w + 0 * x).sum(0), grad=1, rtol=1e-5),
    Case("weighted_moments_variance", lambda x, w: tf.nn.weighted_moments(x, [0], w)[1],
         [Z, FREQ], lambda x, w: (w * (x - (x * w).sum(0) / (w + 0 * x).sum(0)) ** 2).sum(0)
         / (w + 0 * x).sum(0), grad=1, rtol=1e-4),
    Case("batch_normalization",
         lambda x, m, v, o, s: tf.nn.batch_normalization(x, m, v, o, s, 1e-3),
         [IMG, POP_MEAN, POP_VAR, OFFSET, SCALE],
         lambda x, m, v, o, s: (x - m) / np.sqrt(v + 1e-3) * s + o, grad=2, rtol=1e-5),
    Case("batch_normalization_no_scale_offset",
         lambda x, m, v: tf.nn.batch_normalization(x, m, v, None, None, 1e-3),
         [IMG, POP_MEAN, POP_VAR], lambda x, m, v: (x - m) / np.sqrt(v + 1e-3), grad=1),
    Case("fused_batch_norm_y", lambda x, s, o: tf.nn.fused_batch_norm(x, s, o)[0],
         [IMG, SCALE, OFFSET], _bn_train, grad=2, rtol=1e-4, atol=1e-5),
    Case("fused_batch_norm_mean", lambda x, s, o: tf.nn.fused_batch_norm(x, s, o)[1],
         [IMG, SCALE, OFFSET], lambda x, s, o: x.mean((0, 1, 2)), grad=1),
    Case("fused_batch_norm_variance", lambda x, s, o: tf.nn.fused_batch_norm(x, s, o)[2],
         [IMG, SCALE, OFFSET], lambda x, s, o: _bn_unbiased_var(x), grad=1, rtol=1e-4),
    Case("fused_batch_norm_nchw", lambda x, s, o: tf.nn.fused_batch_norm(
        x, s, o, data_format="NCHW", epsilon=1e-2)[0], [u(2, 4, 3, 2), SCALE, OFFSET],
         lambda x, s, o: _bn_train(x, s, o, 1e-2, (0, 2, 3), (1, -1, 1, 1)), grad=2, rtol=1e-4,
         atol=1e-5),
    Case("fused_batch_norm_inference", lambda x, s, o, m, v: tf.nn.fused_batch_norm(
        x, s, o, m, v, is_training=False)[0], [IMG, SCALE, OFFSET, POP_MEAN, POP_VAR],
         lambda x, s, o, m, v: (x - m) / np.sqrt(v + 1e-3) * s + o, grad=2, rtol=1e-5),
    Case("fused_batch_norm_avg_mean", lambda x, s, o, m, v: tf.nn.fused_batch_norm(
        x, s, o, m, v, exponential_avg_factor=0.25)[1], [IMG, SCALE, OFFSET, POP_MEAN, POP_VAR],
         lambda x, s, o, m, v: 0.75 * m + 0.25 * x.mean((0, 1, 2)), grad=1, wrt=[0, 3]),
    Case("fused_batch_norm_avg_variance", lambda x, s, o, m, v: tf.nn.fused_batch_norm(
        x, s, o, m, v, exponential_avg_factor=0.25)[2], [IMG, SCALE, OFFSET, POP_MEAN, POP_VAR],
         lambda x, s, o, m, v: 0.75 * v + 0.25 * _bn_unbiased_var(x), grad=1, wrt=[0, 4],
         rtol=1e-5),
    # --- cross-entropies ---
    Case("softmax_xent_v2", lambda lb, lg: tf.nn.softmax_cross_entropy_with_logits_v2(
        labels=lb, logits=lg), [SOFT, Z], lambda lb, lg: -(lb * _log_softmax(lg)).sum(1), grad=1,
         dtype=np.float32),
    Case("softmax_xent_v2_second_order", lambda lg, lb: tf.nn.softmax_cross_entropy_with_logits_v2(
        labels=lb, logits=lg), [Z, SOFT], lambda lg, lb: -(lb * _log_softmax(lg)).sum(1), grad=2,
         wrt=[0]),
    Case("softmax_xent_v1", lambda lg, lb: tf.nn.softmax_cross_entropy_with_logits(
        labels=lb, logits=lg), [Z, SOFT], lambda lg, lb: -(lb * _log_softmax(lg)).sum(1), grad=2,
         wrt=[0]),
    Case("softmax_xent_axis0", lambda lg, lb: tf.nn.softmax_cross_entropy_with_logits_v2(
        labels=lb, logits=lg, axis=0), [Z.T.copy(), SOFT.T.copy()],
         lambda lg, lb: -(lb * _log_softmax(lg, 0)).sum(0), grad=1, wrt=[0]),
    Case("softmax_xent_rank3", lambda lg, lb: tf.nn.softmax_cross_entropy_with_logits_v2(
        labels=lb, logits=lg), [Z.reshape(2, 2, 5), SOFT.reshape(2, 2, 5)],
         lambda lg, lb: -(lb * _log_softmax(lg)).sum(-1), grad=1, wrt=[0]),
    Case("softmax_xent_float16", lambda lg, lb: tf.nn.softmax_cross_entropy_with_logits_v2(
        labels=lb, logits=lg), [Z.astype(np.float16), SOFT.astype(np.float16)],
         lambda lg, lb: -(lb.astype(np.float32) * _log_softmax(lg.astype(np.float32))).sum(1),
         rtol=2e-3, atol=2e-3),
    Case("sparse_softmax_xent", lambda lg, lb: tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=lb, logits=lg), [Z, LABELS], lambda lg, lb: -_log_softmax(lg)[np.arange(4), lb],
         grad=2),
    Case("sparse_softmax_xent_int64_rank2",
         lambda lg, lb: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=lb, logits=lg),
         [Z.reshape(2, 2, 5), LABELS.reshape(2, 2).astype(np.int64)],
         lambda lg, lb: -np.take_along_axis(_log_softmax(lg), lb[..., None], -1)[..., 0], grad=2),
    Case("sigmoid_xent", lambda lg, lb: tf.nn.sigmoid_cross_entropy_with_logits(
        labels=lb, logits=lg), [Z, BIN],
         lambda x, z: -z * np.log(_sigmoid(x)) - (1 - z) * np.log(1 - _sigmoid(x)), grad=2),
    Case("sigmoid_xent_soft_labels", lambda lg, lb: tf.nn.sigmoid_cross_entropy_with_logits(
        labels=lb, logits=lg), [Z, SOFT],
         lambda x, z: -z * np.log(_sigmoid(x)) - (1 - z) * np.log(1 - _sigmoid(x)), grad=2,
         rtol=1e-5),
    Case("weighted_xent", lambda lg, lb: tf.nn.weighted_cross_entropy_with_logits(
        labels=lb, logits=lg, pos_weight=3.0), [Z, SOFT],
         lambda x, z: -3.0 * z * np.log(_sigmoid(x)) - (1 - z) * np.log(1 - _sigmoid(x)),
         grad=2, rtol=1e-5),
    # --- ranking ---
    Case("in_top_k", lambda p, t: tf.nn.in_top_k(p, t, 2), [Z, LABELS],
         lambda p, t: _in_top_k(p, t, 2),
         dtype=np.bool_),
    Case("nn_top_k_values", lambda x: tf.nn.top_k(x, 2).values, [Z],
         lambda x: -np.sort(-x, axis=1)[:, :2], grad=1),
]


def _float_positions(case):
    floats = [i for i, x in enumerate(case.inputs) if np.asarray(x).dtype.kind == "f"]
    return floats if case.wrt is None else [floats[i] for i in case.wrt]


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_forward_value_dtype_and_static_shape(case):
    value, t = run_op(case.fn, case.inputs)
    value = np.asarray(value)
    expected = np.asarray(case.ref(*case.inputs))
    assert value.dtype == t.dtype.as_numpy_dtype, "run result dtype differs from tensor.dtype"
    assert value.dtype == case.dtype, "TF1 gives %s, got %s" % (case.dtype, value.dtype)
    assert t.shape.as_list() == list(value.shape)
    assert value.shape == expected.shape
    np.testing.assert_allclose(value.astype(np.float64), expected.astype(np.float64),
                               rtol=case.rtol, atol=case.atol)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=repr)
def test_gradient(case):
    floats = _float_positions(case)

    def fn(*phs):
        args = [tf.constant(x) if np.asarray(x).dtype.kind != "f"
                else tf.constant(np.asarray(x, np.float64)) for x in case.inputs]
        for i, p in zip(floats, phs):
            args[i] = p
        return case.fn(*args)

    check_gradients(fn, [case.inputs[i] for i in floats], order=case.grad)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_kernels_on_backend(case, backend):
    """The same kernels, called directly with each available array module (NumPy, CuPy)."""
    with tf.Graph().as_default():
        t = case.fn(*[tf.constant(x) for x in case.inputs])
        value = eval_kernels(t, backend)
    assert value.dtype == case.dtype
    np.testing.assert_allclose(value.astype(np.float64),
                               np.asarray(case.ref(*case.inputs)).astype(np.float64),
                               rtol=case.rtol, atol=case.atol)


# ----------------------------------------------------------------------------------------------
# Static shapes and construction-time errors
# ----------------------------------------------------------------------------------------------
def _ph(shape, dtype=tf.float32):
    return tf.placeholder(dtype, shape)


SHAPES = [
    ("relu", lambda: tf.nn.relu(_ph([None, 3])), [None, 3]),
    ("softmax_axis", lambda: tf.nn.softmax(_ph([None, 3, 4]), axis=1), [None, 3, 4]),
    ("softmax_xent", lambda: tf.nn.softmax_cross_entropy_with_logits_v2(
        labels=_ph([None, 3]), logits=_ph([None, 3])), [None]),
    ("softmax_xent_rank3", lambda: tf.nn.softmax_cross_entropy_with_logits_v2(
        labels=_ph([2, 5, 3]), logits=_ph([2, 5, 3])), [2, 5]),
    ("sparse_xent", lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=_ph([None], tf.int32), logits=_ph([None, 3])), [None]),
    ("sparse_xent_rank3", lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=_ph([2, 7], tf.int64), logits=_ph([2, 7, 3])), [2, 7]),
    ("sigmoid_xent", lambda: tf.nn.sigmoid_cross_entropy_with_logits(
        labels=_ph([None, 3]), logits=_ph([4, None])), [4, 3]),
    ("fused_batch_norm", lambda: tf.nn.fused_batch_norm(_ph([None, 5, 5, 3]), _ph([3]),
                                                        _ph([3]))[0], [None, 5, 5, 3]),
    ("fused_batch_norm_mean", lambda: tf.nn.fused_batch_norm(_ph([None, 5, 5, 3]), _ph([None]),
                                                             _ph([None]))[1], [3]),
    ("moments", lambda: tf.nn.moments(_ph([None, 4, 6]), [0, 1])[0], [6]),
    ("l2_loss", lambda: tf.nn.l2_loss(_ph([None, 4])), []),
    ("in_top_k", lambda: tf.nn.in_top_k(_ph([None, 4]), _ph([None], tf.int32), 1), [None]),
    ("softmax_xent_labels_of_unknown_rank", lambda: tf.nn.softmax_cross_entropy_with_logits_v2(
        labels=_ph(None), logits=_ph([None, 2, 3])), [None, 2]),
    ("dropout", lambda: tf.nn.dropout(_ph([None, 4]), keep_prob=0.5), [None, 4]),
    ("dropout_keep_prob_of_unknown_shape", lambda: tf.nn.dropout(_ph([2, 4]), keep_prob=_ph(None)),
     [2, 4]),
]


@pytest.mark.parametrize("build,expected", [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_static_shape(build, expected):
    t = build()
    assert t.shape.as_list() == expected


ERRORS = [
    ("softmax_xent_shape_mismatch", lambda: tf.nn.softmax_cross_entropy_with_logits_v2(
        labels=_ph([4, 3]), logits=_ph([4, 5])), ValueError, "same shape"),
    ("softmax_xent_positional", lambda: tf.nn.softmax_cross_entropy_with_logits(
        _ph([4, 3]), _ph([4, 3])), ValueError, "named arguments"),
    ("sparse_xent_rank_mismatch", lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=_ph([4, 1], tf.int32), logits=_ph([4, 3])), ValueError, "Rank mismatch"),
    ("sparse_xent_batch_mismatch", lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=_ph([5], tf.int32), logits=_ph([4, 3])), ValueError, "Shape mismatch"),
    ("sparse_xent_label_out_of_range", lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.constant([0, 3]), logits=_ph([2, 3])), ValueError, "outside the valid range"),
    ("sparse_xent_negative_label", lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.constant([[0, -1]]), logits=_ph([1, 2, 3])), ValueError, "valid range"),
    ("sparse_xent_float_labels", lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=_ph([2]), logits=_ph([2, 3])), TypeError, "labels"),
    ("sigmoid_xent_shape_mismatch", lambda: tf.nn.sigmoid_cross_entropy_with_logits(
        labels=_ph([4, 3]), logits=_ph([4, 2])), ValueError, "same shape"),
    ("weighted_xent_no_weight", lambda: tf.nn.weighted_cross_entropy_with_logits(
        labels=_ph([4]), logits=_ph([4])), ValueError, "pos_weight"),
    ("relu_string", lambda: tf.nn.relu(tf.constant(["a"])), TypeError, "features"),
    ("elu_int", lambda: tf.nn.elu(tf.constant([1])), TypeError, "features"),
    ("bias_add_channels", lambda: tf.nn.bias_add(_ph([2, 3]), _ph([4])), ValueError,
     "Dimensions must be equal"),
    ("fused_batch_norm_no_stats", lambda: tf.nn.fused_batch_norm(
        _ph([1, 2, 2, 3]), _ph([3]), _ph([3]), is_training=False), ValueError, "mean"),
    ("fused_batch_norm_rank", lambda: tf.nn.fused_batch_norm(_ph([2, 3]), _ph([3]), _ph([3])),
     ValueError, "rank"),
    ("fused_batch_norm_channels", lambda: tf.nn.fused_batch_norm(_ph([1, 2, 2, 3]), _ph([4]),
                                                                 _ph([4])), ValueError, "channels"),
    ("fused_batch_norm_format", lambda: tf.nn.fused_batch_norm(
        _ph([1, 2, 2, 3]), _ph([3]), _ph([3]), data_format="HWCN"), ValueError, "data_format"),
    ("dropout_rate_1", lambda: tf.nn.dropout(_ph([3]), rate=1.0), ValueError, "range"),
    ("dropout_both", lambda: tf.nn.dropout(_ph([3]), keep_prob=0.5, rate=0.5), ValueError,
     "both"),
    ("dropout_neither", lambda: tf.nn.dropout(_ph([3])), ValueError, "rate"),
    ("dropout_int", lambda: tf.nn.dropout(tf.constant([1, 2]), rate=0.5), ValueError,
     "floating"),
    ("in_top_k_float64", lambda: tf.nn.in_top_k(_ph([2, 3], tf.float64), _ph([2], tf.int32), 1),
     TypeError, "predictions"),
    ("in_top_k_batch", lambda: tf.nn.in_top_k(_ph([2, 3]), _ph([3], tf.int32), 1), ValueError,
     "targets"),
]


@pytest.mark.parametrize("build,exc,match", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_construction_errors(build, exc, match):
    with pytest.raises(exc, match=match):
        build()


# ----------------------------------------------------------------------------------------------
# Run-time errors and numerical stability
# ----------------------------------------------------------------------------------------------
def test_sparse_xent_label_out_of_range_at_run_time():
    labels = _ph([None], tf.int32)
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=tf.zeros([2, 3]))
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError, match=r"label value of 3 .*\[0, 3\)"):
            sess.run(loss, {labels: [0, 3]})
        np.testing.assert_allclose(sess.run(loss, {labels: [0, 2]}), [np.log(3)] * 2, rtol=1e-6)


def test_softmax_xent_fed_shape_mismatch_at_run_time():
    lg, lb = _ph([None, None]), _ph([None, None])
    loss = tf.nn.softmax_cross_entropy_with_logits_v2(labels=lb, logits=lg)
    with tf.Session() as sess, pytest.raises(errors.InvalidArgumentError, match="same size"):
        sess.run(loss, {lg: np.zeros((2, 3)), lb: np.zeros((2, 4))})


def test_cross_entropies_are_stable_at_extreme_logits():
    logits_np = np.array([[1000.0, -1000.0, 0.0], [-1e4, 1e4, 50.0]], np.float32)
    logits = tf.constant(logits_np)
    onehot = tf.constant([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    dense = tf.nn.softmax_cross_entropy_with_logits_v2(labels=onehot, logits=logits)
    sparse = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[1, 0], logits=logits)
    sig = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(logits), logits=logits)
    weighted = tf.nn.weighted_cross_entropy_with_logits(labels=tf.ones_like(logits),
                                                        logits=logits, pos_weight=2.0)
    grads = tf.gradients([dense, sparse, sig, weighted], logits)
    with tf.Session() as sess:
        d, s, g, w, gl = sess.run([dense, sparse, sig, weighted, grads[0]])
    np.testing.assert_allclose(d, [2000.0, 2e4], rtol=1e-6)
    np.testing.assert_allclose(s, d)
    np.testing.assert_allclose(g, np.logaddexp(0, -logits_np.astype(np.float64)), rtol=1e-6)
    np.testing.assert_allclose(w, 2 * g, rtol=1e-6)
    assert np.all(np.isfinite(gl))


def _ops_between(t, stop_op):
    """Op types computing ``t`` from the outputs of ``stop_op``."""
    seen, stack, types = set(), [t.op], set()
    while stack:
        o = stack.pop()
        if o in seen or o is stop_op:
            continue
        seen.add(o)
        types.add(o.type)
        stack.extend(i.op for i in o.inputs)
    return types


@pytest.mark.parametrize("which", ["dense", "sparse", "sigmoid"])
def test_cross_entropy_gradients_are_fused(which):
    """d loss / d logits reuses the fused op's backprop: no Softmax/Log/Exp is recomputed."""
    logits = _ph([2, 3])
    if which == "dense":
        loss = tf.nn.softmax_cross_entropy_with_logits(labels=tf.ones([2, 3]) / 3, logits=logits)
    elif which == "sparse":
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 2], logits=logits)
    else:
        loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones([2, 3]), logits=logits)
    fused = next(o for o in tf.get_default_graph().get_operations() if "CrossEntropy" in o.type)
    g = tf.gradients(tf.reduce_sum(loss), logits)[0]
    types = _ops_between(g, fused)
    assert not types & {"Softmax", "LogSoftmax", "Log", "Exp", "Log1p"}, types


# ----------------------------------------------------------------------------------------------
# Dropout
# ----------------------------------------------------------------------------------------------
def test_dropout_keep_prob_one_is_identity():
    x = tf.constant([1.0, 2.0])
    assert tf.nn.dropout(x, keep_prob=1.0) is x
    assert tf.nn.dropout(x, rate=0.0) is x


def test_dropout_scales_kept_units_and_gradient_is_the_mask():
    x_np = R.uniform(1.0, 2.0, (50, 40)).astype(np.float32)
    x = tf.constant(x_np)
    y = tf.nn.dropout(x, keep_prob=0.25, seed=3)
    g = tf.gradients(tf.reduce_sum(y), x)[0]
    with tf.Session() as sess:
        yv, gv = sess.run([y, g])
    kept = yv != 0
    assert 0.15 < kept.mean() < 0.35
    np.testing.assert_allclose(yv[kept], x_np[kept] * 4, rtol=1e-6)
    np.testing.assert_allclose(gv, kept * 4.0)
    assert yv.dtype == np.float32


def test_dropout_is_seeded_and_redraws_each_run():
    def draw(seed, runs=2):
        with tf.Graph().as_default():
            y = tf.nn.dropout(tf.ones([100]), rate=0.5, seed=seed)
            with tf.Session() as sess:
                return [sess.run(y) for _ in range(runs)]
    a, b = draw(7), draw(7)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], a[1])
    assert not np.array_equal(draw(8)[0], a[0])


def test_dropout_noise_shape_and_tensor_rate():
    rate = tf.placeholder(tf.float32, [])
    y = tf.nn.dropout(tf.ones([30, 4]), rate=rate, noise_shape=[30, 1], seed=1)
    with tf.Session() as sess:
        v = sess.run(y, {rate: 0.5})
    rows = v[:, 0]
    assert np.all(v == rows[:, None]), "noise_shape [30, 1] keeps or drops whole rows"
    assert set(np.unique(rows)) <= {0.0, 2.0}


# ----------------------------------------------------------------------------------------------
# fused_batch_norm conventions
# ----------------------------------------------------------------------------------------------
def test_fused_batch_norm_float16_with_float32_statistics():
    x_np = IMG.astype(np.float16)
    y, m, v = tf.nn.fused_batch_norm(tf.constant(x_np), SCALE, OFFSET)
    assert (y.dtype, m.dtype, v.dtype) == (tf.float16, tf.float32, tf.float32)
    with tf.Session() as sess:
        yv, vv = sess.run([y, v])
    np.testing.assert_allclose(yv, _bn_train(x_np.astype(np.float32), SCALE, OFFSET), atol=1e-2)
    np.testing.assert_allclose(vv, _bn_unbiased_var(x_np.astype(np.float32)), rtol=1e-3)


def test_fused_batch_norm_minimum_epsilon_and_inference_passthrough():
    y, m, v = tf.nn.fused_batch_norm(IMG, SCALE, OFFSET, POP_MEAN, POP_VAR, epsilon=0.0,
                                     is_training=False)
    with tf.Session() as sess:
        yv, mv, vv = sess.run([y, m, v])
    np.testing.assert_allclose(yv, (IMG - POP_MEAN) / np.sqrt(POP_VAR + 1.001e-5) * SCALE + OFFSET,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(mv, POP_MEAN)
    np.testing.assert_array_equal(vv, POP_VAR)


def test_in_top_k_ties_nonfinite_and_out_of_range():
    pred = tf.constant([[1.0, 2.0, 2.0], [1.0, np.nan, 0.0], [3.0, 1.0, 0.0], [0.0, 1.0, 2.0]])
    r = tf.nn.in_top_k(pred, tf.constant([1, 0, 5, 0], tf.int64), 1)
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(r), [True, False, False, False])
