"""Convolution, pooling and LRN ops against naive NumPy loops and finite differences.

One table row per op drives the forward check (value, dtype == TF1's, static shape), the same
kernels called directly on every available array module, and the float64 gradient check
(second order where the row asks; that exercises the gradients of the backprop ops). Further
tests cover TF's tie rule for max-pool gradients, static shapes with unknown dims, and errors at
construction and at run time.
"""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients, eval_kernels, run_op
from tfnb.framework import errors

R = np.random.RandomState(1234)


def u(*shape, dtype=np.float32):
    return R.uniform(-1.0, 1.0, shape).astype(dtype)


# ----------------------------------------------------------------------------------------------
# Naive references: loops over output pixels and kernel taps, vectorized over batch/channels
# ----------------------------------------------------------------------------------------------
def _pads(size, k, s, d, padding):
    """(before, after) of TF's SAME/VALID rule, or an explicit pair."""
    if padding == "VALID":
        return 0, 0
    if padding == "SAME":
        eff = (k - 1) * d + 1
        total = max((-(-size // s) - 1) * s + eff - size, 0)
        return total // 2, total - total // 2
    return padding


def _geometry(x_shape, k, s, d, padding):
    """Padded NHWC input pads and output size for a window op."""
    ph = _pads(x_shape[1], k[0], s[0], d[0], padding if isinstance(padding, str) else padding[0])
    pw = _pads(x_shape[2], k[1], s[1], d[1], padding if isinstance(padding, str) else padding[1])
    ho = (x_shape[1] + sum(ph) - (k[0] - 1) * d[0] - 1) // s[0] + 1
    wo = (x_shape[2] + sum(pw) - (k[1] - 1) * d[1] - 1) // s[1] + 1
    return ph, pw, ho, wo


def _taps(ho, wo, k, s, d):
    """(a, b, i, j, row, col) for every output pixel (a, b) and tap (i, j) in padded coordinates."""
    for a in range(ho):
        for b in range(wo):
            for i in range(k[0]):
                for j in range(k[1]):
                    yield a, b, i, j, a * s[0] + i * d[0], b * s[1] + j * d[1]


def ref_conv2d(x, w, s=(1, 1), padding="SAME", d=(1, 1)):
    """NHWC convolution; an input depth that is a multiple of the filter's makes groups."""
    ph, pw, ho, wo = _geometry(x.shape, w.shape[:2], s, d, padding)
    xp = np.pad(x.astype(np.float64), ((0, 0), ph, pw, (0, 0)))
    cg, o = w.shape[2], w.shape[3]
    groups = x.shape[3] // cg
    og = o // groups
    y = np.zeros((x.shape[0], ho, wo, o))
    for a, b, i, j, r, c in _taps(ho, wo, w.shape[:2], s, d):
        for g in range(groups):
            y[:, a, b, g * og:(g + 1) * og] += xp[:, r, c, g * cg:(g + 1) * cg] @ w[i, j, :, g * og:(g + 1) * og]
    return y.astype(x.dtype)


def ref_conv2d_backprop_input(x_shape, w, dy, s=(1, 1), padding="SAME", d=(1, 1)):
    ph, pw, ho, wo = _geometry(x_shape, w.shape[:2], s, d, padding)
    n, h, wd, c = x_shape
    dxp = np.zeros((n, h + sum(ph), wd + sum(pw), c))
    for a, b, i, j, r, col in _taps(ho, wo, w.shape[:2], s, d):
        dxp[:, r, col] += dy[:, a, b] @ w[i, j].T
    return dxp[:, ph[0]:ph[0] + h, pw[0]:pw[0] + wd].astype(dy.dtype)


def ref_conv2d_backprop_filter(x, w_shape, dy, s=(1, 1), padding="SAME", d=(1, 1)):
    ph, pw, ho, wo = _geometry(x.shape, w_shape[:2], s, d, padding)
    xp = np.pad(x.astype(np.float64), ((0, 0), ph, pw, (0, 0)))
    dw = np.zeros(w_shape)
    for a, b, i, j, r, c in _taps(ho, wo, w_shape[:2], s, d):
        dw[i, j] += xp[:, r, c].T @ dy[:, a, b]
    return dw.astype(x.dtype)


def ref_depthwise(x, w, s=(1, 1), padding="SAME", d=(1, 1)):
    ph, pw, ho, wo = _geometry(x.shape, w.shape[:2], s, d, padding)
    xp = np.pad(x.astype(np.float64), ((0, 0), ph, pw, (0, 0)))
    c, m = w.shape[2], w.shape[3]
    y = np.zeros((x.shape[0], ho, wo, c, m))
    for a, b, i, j, r, col in _taps(ho, wo, w.shape[:2], s, d):
        y[:, a, b] += xp[:, r, col, :, None] * w[i, j]
    return y.reshape(x.shape[0], ho, wo, c * m).astype(x.dtype)


def _pool_windows(x_shape, k, s, padding):
    """(a, b, rows, cols) for every output: the window clipped to the image (padding excluded)."""
    ph, pw, ho, wo = _geometry(x_shape, k, s, (1, 1), padding)
    for a in range(ho):
        for b in range(wo):
            r0, c0 = a * s[0] - ph[0], b * s[1] - pw[0]
            yield a, b, range(max(r0, 0), min(r0 + k[0], x_shape[1])), \
                range(max(c0, 0), min(c0 + k[1], x_shape[2]))


def ref_pool(x, k, s, padding, kind):
    _, _, ho, wo = _geometry(x.shape, k, s, (1, 1), padding)
    y = np.zeros((x.shape[0], ho, wo, x.shape[3]), x.dtype)
    for a, b, rows, cols in _pool_windows(x.shape, k, s, padding):
        win = x[:, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(np.float64)
        y[:, a, b] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    return y


def _first_max(x, rows, cols, target):
    """(row, col) per (batch, channel) of the first (row-major) element equal to target."""
    n, _, _, c = x.shape
    where = np.full((n, c, 2), -1)
    for r in rows:
        for col in cols:
            new = (x[:, r, col] == target) & (where[..., 0] < 0)
            where[new] = (r, col)
    return where


def ref_max_pool_grad(x, g, k, s, padding):
    """Each output's gradient goes to the first maximum of its window (TF's CPU rule)."""
    dx = np.zeros(x.shape)
    y = ref_pool(x, k, s, padding, "max")
    nn, cc = np.meshgrid(np.arange(x.shape[0]), np.arange(x.shape[3]), indexing="ij")
    for a, b, rows, cols in _pool_windows(x.shape, k, s, padding):
        where = _first_max(x, rows, cols, y[:, a, b])
        np.add.at(dx, (nn, where[..., 0], where[..., 1], cc), g[:, a, b])
    return dx.astype(x.dtype)


def ref_max_pool_grad_grad(x, gg, k, s, padding):
    """Each output takes ``gg`` (input-shaped) at the first maximum of its window."""
    y = ref_pool(x, k, s, padding, "max")
    out = np.zeros(y.shape)
    nn, cc = np.meshgrid(np.arange(x.shape[0]), np.arange(x.shape[3]), indexing="ij")
    for a, b, rows, cols in _pool_windows(x.shape, k, s, padding):
        where = _first_max(x, rows, cols, y[:, a, b])
        out[:, a, b] = gg[nn, where[..., 0], where[..., 1], cc]
    return out.astype(gg.dtype)


def _max_pool_grad(x, dy):
    """MaxPoolGrad(x, max_pool(x), dy): the gradient of a 3x3/2 SAME max pool, built by
    tf.gradients."""
    return tf.gradients(tf.nn.max_pool(x, 3, 2, "SAME"), x, grad_ys=dy)[0]


def _max_pool_grad_grad(x, gg):
    """MaxPoolGradGrad(x, max_pool(x), gg): the gradient of MaxPoolGrad w.r.t. its ``grad``."""
    dy = tf.zeros([2, 3, 3, 3], x.dtype)
    return tf.gradients(_max_pool_grad(x, dy), dy, grad_ys=gg)[0]


def ref_argmax(x, k, s, padding, include_batch=False):
    n, h, w, c = x.shape
    y = ref_pool(x, k, s, padding, "max")
    idx = np.zeros(y.shape, np.int64)
    for a, b, rows, cols in _pool_windows(x.shape, k, s, padding):
        where = _first_max(x, rows, cols, y[:, a, b])
        idx[:, a, b] = (where[..., 0] * w + where[..., 1]) * c + np.arange(c)
    if include_batch:
        idx += np.arange(n).reshape(n, 1, 1, 1) * h * w * c
    return idx


def ref_lrn(x, r=5, bias=1.0, alpha=1.0, beta=0.5):
    x64 = x.astype(np.float64)
    out = np.empty_like(x64)
    for ch in range(x.shape[-1]):
        sq = (x64[..., max(ch - r, 0):ch + r + 1] ** 2).sum(-1)
        out[..., ch] = x64[..., ch] / (bias + alpha * sq) ** beta
    return out.astype(x.dtype)


def nchw(f):
    """The NHWC reference ``f`` applied to NCHW arrays."""
    def g(*arrays):
        conv = [a.transpose(0, 2, 3, 1) if a.ndim == 4 and i == 0 else a for i, a in enumerate(arrays)]
        return f(*conv).transpose(0, 3, 1, 2)
    return g


# ----------------------------------------------------------------------------------------------
# The table
# ----------------------------------------------------------------------------------------------
class Case:
    """One op under test: ``fn`` on one tensor per input, ``ref`` its NumPy value.

    ``grad`` is 0 (not checked), 1 or 2 (order, w.r.t. the float inputs ``wrt``, in float64).
    """

    def __init__(self, name, fn, inputs, ref, dtype=None, grad=1, wrt=None, rtol=1e-5, atol=1e-5):
        self.name, self.fn, self.inputs, self.ref = name, fn, inputs, ref
        self.dtype = np.dtype(dtype or inputs[0].dtype)
        self.grad, self.wrt, self.rtol, self.atol = grad, wrt, rtol, atol

    def __repr__(self):
        return self.name


X = u(2, 5, 5, 3)
X_ODD = u(2, 7, 6, 2)
X_WIDE = u(2, 4, 12, 1)             # one channel, wide rows: the channel-major patch path
W3 = u(3, 3, 3, 4)
DY_S2 = u(1, 2, 2, 3)
POOL_X = u(2, 6, 5, 3)
POOL_DY = u(2, 3, 3, 3)             # the output of a 3x3/2 SAME pool of POOL_X
EX_PAD = [[0, 0], [1, 2], [0, 1], [0, 0]]

CASES = [
    # --- conv2d: NHWC/NCHW, SAME/VALID/explicit, strides, dilations, 1x1, groups, channel-major ---
    Case("conv2d_same", lambda x, w: tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME"), [X, W3],
         lambda x, w: ref_conv2d(x, w), grad=2),
    Case("conv2d_valid", lambda x, w: tf.nn.conv2d(x, w, [1, 1, 1, 1], "VALID"), [X, W3],
         lambda x, w: ref_conv2d(x, w, padding="VALID")),
    Case("conv2d_same_stride2_odd", lambda x, w: tf.nn.conv2d(x, w, [1, 2, 2, 1], "SAME"),
         [X_ODD, u(3, 2, 2, 3)], lambda x, w: ref_conv2d(x, w, (2, 2)), grad=2),
    Case("conv2d_valid_strides_2_1", lambda x, w: tf.nn.conv2d(x, w, [1, 2, 1, 1], "VALID"),
         [X_ODD, u(2, 3, 2, 2)], lambda x, w: ref_conv2d(x, w, (2, 1), "VALID")),
    Case("conv2d_int_strides", lambda x, w: tf.nn.conv2d(x, w, 2, "SAME"), [X_ODD, u(2, 2, 2, 2)],
         lambda x, w: ref_conv2d(x, w, (2, 2))),
    Case("conv2d_dilated", lambda x, w: tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME",
                                                    dilations=[1, 2, 2, 1]),
         [X_ODD, u(3, 2, 2, 2)], lambda x, w: ref_conv2d(x, w, d=(2, 2)), grad=2),
    Case("conv2d_explicit_padding", lambda x, w: tf.nn.conv2d(x, w, [1, 2, 1, 1], EX_PAD),
         [X_ODD, u(3, 3, 2, 2)], lambda x, w: ref_conv2d(x, w, (2, 1), ((1, 2), (0, 1)))),
    Case("conv2d_1x1_stride2", lambda x, w: tf.nn.conv2d(x, w, [1, 2, 2, 1], "VALID"),
         [X_ODD, u(1, 1, 2, 3)], lambda x, w: ref_conv2d(x, w, (2, 2), "VALID")),
    Case("conv2d_grouped", lambda x, w: tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME"),
         [u(1, 4, 4, 4), u(3, 3, 2, 4)], lambda x, w: ref_conv2d(x, w), grad=2),
    Case("conv2d_channel_major", lambda x, w: tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME"),
         [X_WIDE, u(3, 3, 1, 2)], lambda x, w: ref_conv2d(x, w), grad=2),
    Case("conv2d_nchw_stride2", lambda x, w: tf.nn.conv2d(x, w, [1, 1, 2, 2], "SAME",
                                                         data_format="NCHW"),
         [X_ODD.transpose(0, 3, 1, 2).copy(), u(3, 3, 2, 3)],
         nchw(lambda x, w: ref_conv2d(x, w, (2, 2))), grad=2),
    Case("conv2d_float64", lambda x, w: tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME"),
         [X.astype(np.float64), W3.astype(np.float64)], lambda x, w: ref_conv2d(x, w), grad=0),
    Case("conv2d_float16", lambda x, w: tf.nn.conv2d(x, w, [1, 1, 1, 1], "VALID"),
         [X.astype(np.float16), W3.astype(np.float16)],
         lambda x, w: ref_conv2d(x.astype(np.float32), w.astype(np.float32), padding="VALID"),
         grad=0, rtol=1e-2, atol=1e-2),
    Case("conv2d_int32", lambda x, w: tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME"),
         [R.randint(-3, 4, (1, 4, 4, 2)).astype(np.int32), R.randint(-2, 3, (2, 2, 2, 3)).astype(np.int32)],
         lambda x, w: ref_conv2d(x, w), grad=0),
    # --- the backprop ops as user ops, and conv2d_transpose ---
    Case("conv2d_backprop_input", lambda w, dy: tf.nn.conv2d_backprop_input(
        [1, 4, 4, 2], w, dy, [1, 2, 2, 1], "SAME"), [u(3, 3, 2, 3), DY_S2],
         lambda w, dy: ref_conv2d_backprop_input((1, 4, 4, 2), w, dy, (2, 2)), grad=2),
    Case("conv2d_backprop_filter", lambda x, dy: tf.nn.conv2d_backprop_filter(
        x, [3, 3, 2, 3], dy, [1, 2, 2, 1], "SAME"), [u(1, 4, 4, 2), DY_S2],
         lambda x, dy: ref_conv2d_backprop_filter(x, (3, 3, 2, 3), dy, (2, 2)), grad=2),
    Case("conv2d_transpose", lambda v, w: tf.nn.conv2d_transpose(v, w, [1, 4, 3, 2],
                                                                 [1, 2, 2, 1], "SAME"),
         [DY_S2[:, :, :, :2].copy(), u(3, 3, 2, 2)],
         lambda v, w: ref_conv2d_backprop_input((1, 4, 3, 2), w, v, (2, 2)), grad=2),
    Case("conv2d_transpose_valid_tensor_shape", lambda v, w: tf.nn.conv2d_transpose(
        v, w, tf.constant([1, 4, 3, 3]), [1, 1, 1, 1], "VALID"), [u(1, 2, 2, 2), u(3, 2, 3, 2)],
         lambda v, w: ref_conv2d_backprop_input((1, 4, 3, 3), w, v, padding="VALID")),
    # --- depthwise / separable ---
    Case("depthwise_same", lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME"),
         [X, u(3, 3, 3, 2)], lambda x, w: ref_depthwise(x, w), grad=2),
    Case("depthwise_valid_stride2", lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 2, 2, 1],
                                                                       "VALID"),
         [X_ODD, u(2, 3, 2, 1)], lambda x, w: ref_depthwise(x, w, (2, 2), "VALID")),
    Case("depthwise_rate", lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME",
                                                              rate=[2, 2]),
         [X_ODD, u(2, 2, 2, 2)], lambda x, w: ref_depthwise(x, w, d=(2, 2)), grad=1),
    Case("depthwise_nchw", lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 1, 2, 2], "SAME",
                                                              data_format="NCHW"),
         [X_ODD.transpose(0, 3, 1, 2).copy(), u(3, 3, 2, 2)],
         nchw(lambda x, w: ref_depthwise(x, w, (2, 2))), grad=1),
    Case("separable_conv2d", lambda x, dw, pw: tf.nn.separable_conv2d(x, dw, pw, [1, 1, 1, 1],
                                                                      "SAME"),
         [X, u(3, 3, 3, 2), u(1, 1, 6, 2)],
         lambda x, dw, pw: ref_conv2d(ref_depthwise(x, dw), pw), grad=1, rtol=1e-4),
    # --- pooling ---
    Case("max_pool_same_3x3_s2", lambda x: tf.nn.max_pool(x, [1, 3, 3, 1], [1, 2, 2, 1], "SAME"),
         [POOL_X], lambda x: ref_pool(x, (3, 3), (2, 2), "SAME", "max"), grad=2),
    Case("max_pool_valid_2x2", lambda x: tf.nn.max_pool(x, 2, 2, "VALID"), [POOL_X],
         lambda x: ref_pool(x, (2, 2), (2, 2), "VALID", "max"), grad=2),
    Case("max_pool_same_overlap_s1", lambda x: tf.nn.max_pool(x, [1, 2, 3, 1], [1, 1, 1, 1],
                                                              "SAME"),
         [POOL_X], lambda x: ref_pool(x, (2, 3), (1, 1), "SAME", "max")),
    Case("max_pool_nchw", lambda x: tf.nn.max_pool(x, [1, 1, 3, 3], [1, 1, 2, 2], "SAME",
                                                   data_format="NCHW"),
         [POOL_X.transpose(0, 3, 1, 2).copy()],
         nchw(lambda x: ref_pool(x, (3, 3), (2, 2), "SAME", "max"))),
    Case("max_pool_int32", lambda x: tf.nn.max_pool(x, 2, 2, "SAME"),
         [R.randint(-9, 9, (1, 5, 5, 2)).astype(np.int32)],
         lambda x: ref_pool(x, (2, 2), (2, 2), "SAME", "max"), grad=0),
    Case("max_pool2d", lambda x: tf.nn.max_pool2d(x, 3, 1, "VALID"), [POOL_X],
         lambda x: ref_pool(x, (3, 3), (1, 1), "VALID", "max"), grad=0),
    Case("avg_pool_same_3x3_s2", lambda x: tf.nn.avg_pool(x, [1, 3, 3, 1], [1, 2, 2, 1], "SAME"),
         [POOL_X], lambda x: ref_pool(x, (3, 3), (2, 2), "SAME", "avg"), grad=2),
    Case("avg_pool_valid_2x2", lambda x: tf.nn.avg_pool(x, 2, 2, "VALID"), [POOL_X],
         lambda x: ref_pool(x, (2, 2), (2, 2), "VALID", "avg"), grad=2),
    Case("avg_pool_same_overlap", lambda x: tf.nn.avg_pool(x, [1, 3, 2, 1], [1, 1, 2, 1], "SAME"),
         [POOL_X], lambda x: ref_pool(x, (3, 2), (1, 2), "SAME", "avg"), grad=1),
    Case("avg_pool_nchw", lambda x: tf.nn.avg_pool2d(x, 3, 2, "SAME", data_format="NCHW"),
         [POOL_X.transpose(0, 3, 1, 2).copy()],
         nchw(lambda x: ref_pool(x, (3, 3), (2, 2), "SAME", "avg")), grad=1),
    Case("max_pool_with_argmax_output",
         lambda x: tf.nn.max_pool_with_argmax(x, [1, 3, 3, 1], [1, 2, 2, 1], "SAME")[0],
         [POOL_X], lambda x: ref_pool(x, (3, 3), (2, 2), "SAME", "max"), grad=2),
    Case("max_pool_with_argmax_argmax",
         lambda x: tf.nn.max_pool_with_argmax(x, [1, 3, 3, 1], [1, 2, 2, 1], "SAME").argmax,
         [POOL_X], lambda x: ref_argmax(x, (3, 3), (2, 2), "SAME"), dtype=np.int64, grad=0),
    Case("max_pool_with_argmax_batch_int32",
         lambda x: tf.nn.max_pool_with_argmax(x, 2, 2, "VALID", Targmax=tf.int32,
                                              include_batch_in_index=True)[1],
         [POOL_X], lambda x: ref_argmax(x, (2, 2), (2, 2), "VALID", True), dtype=np.int32,
         grad=0),
    Case("max_pool_with_argmax_batch_grad",
         lambda x: tf.nn.max_pool_with_argmax(x, 2, 1, "VALID", include_batch_in_index=True)[0],
         [POOL_X], lambda x: ref_pool(x, (2, 2), (1, 1), "VALID", "max"), grad=2),
    # --- the max-pool backprop ops: MaxPoolGrad (whose gradient w.r.t. dy is MaxPoolGradGrad)
    # and MaxPoolGradGrad (whose gradient w.r.t. gg is MaxPoolGrad), both against references ---
    Case("max_pool_grad", _max_pool_grad, [POOL_X, POOL_DY],
         lambda x, dy: ref_max_pool_grad(x, dy, (3, 3), (2, 2), "SAME"), grad=2),
    Case("max_pool_grad_grad", _max_pool_grad_grad, [POOL_X, POOL_X * 0.5 + 0.25],
         lambda x, gg: ref_max_pool_grad_grad(x, gg, (3, 3), (2, 2), "SAME"), grad=2),
    # --- local response normalization ---
    Case("lrn_defaults", tf.nn.local_response_normalization, [u(1, 2, 3, 12)], ref_lrn),
    Case("lrn_params", lambda x: tf.nn.lrn(x, 2, 1.5, 0.3, 0.75), [u(2, 2, 2, 6)],
         lambda x: ref_lrn(x, 2, 1.5, 0.3, 0.75)),
]


def _float_positions(case):
    floats = [i for i, x in enumerate(case.inputs) if np.asarray(x).dtype.kind == "f"]
    return floats if case.wrt is None else [floats[i] for i in case.wrt]


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_forward_value_dtype_and_static_shape(case):
    value, t = run_op(case.fn, case.inputs)
    expected = np.asarray(case.ref(*case.inputs))
    assert value.dtype == t.dtype.as_numpy_dtype, "run result dtype differs from tensor.dtype"
    assert value.dtype == case.dtype, "TF1 gives %s, got %s" % (case.dtype, value.dtype)
    assert t.shape.as_list() == list(value.shape) == list(expected.shape)
    np.testing.assert_allclose(value.astype(np.float64), expected.astype(np.float64),
                               rtol=case.rtol, atol=case.atol)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=repr)
def test_gradient(case):
    floats = _float_positions(case)

    def fn(*phs):
        args = [tf.constant(x) for x in case.inputs]
        for i, p in zip(floats, phs):
            args[i] = p
        return case.fn(*args)

    check_gradients(fn, [case.inputs[i] for i in floats], order=case.grad)


@pytest.mark.parametrize("case", [c for c in CASES if c.inputs[0].dtype != np.float16], ids=repr)
def test_kernels_on_backend(case, backend):
    """The same kernels, called directly with each available array module (NumPy, CuPy)."""
    with tf.Graph().as_default():
        t = case.fn(*[tf.constant(x) for x in case.inputs])
        value = eval_kernels(t, backend)
    assert value.dtype == case.dtype
    np.testing.assert_allclose(value.astype(np.float64),
                               np.asarray(case.ref(*case.inputs)).astype(np.float64),
                               rtol=case.rtol, atol=case.atol)


@pytest.fixture
def one_image_blocks(monkeypatch):
    """Makes the kernels that work a block of images at a time use one image per block."""
    from tfnb.ops import conv_ops
    monkeypatch.setattr(conv_ops, "_BLOCK_BYTES", 1)
    monkeypatch.setattr(conv_ops, "_POOL_BLOCK_BYTES", 1)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_forward_in_one_image_blocks(case, one_image_blocks):
    value, _ = run_op(case.fn, case.inputs)
    np.testing.assert_allclose(value.astype(np.float64),
                               np.asarray(case.ref(*case.inputs)).astype(np.float64),
                               rtol=case.rtol, atol=case.atol)


BLOCKED_GRADS = ["conv2d_same", "conv2d_same_stride2_odd", "conv2d_dilated", "conv2d_channel_major",
                 "conv2d_nchw_stride2", "max_pool_same_3x3_s2", "max_pool_valid_2x2",
                 "avg_pool_same_3x3_s2", "avg_pool_valid_2x2"]


@pytest.mark.parametrize("case", [c for c in CASES if c.name in BLOCKED_GRADS], ids=repr)
def test_gradient_in_one_image_blocks(case, one_image_blocks):
    test_gradient(case)


# ----------------------------------------------------------------------------------------------
# Gradients: TF's tie rule, first-layer shapes, float32 kernels matching float64 references
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k,s,padding", [(2, 2, "VALID"), (3, 2, "SAME"), (2, 1, "SAME"),
                                         (3, 3, "SAME")])
def test_max_pool_gradient_goes_to_first_maximum_on_ties(k, s, padding):
    x = np.round(R.uniform(-1, 1, (2, 6, 5, 3))).astype(np.float32)   # mostly -1, 0, 1: ties
    x[0, :3, :3] = 0.0
    y = tf.nn.max_pool(tf.constant(x), k, s, padding)
    g = np.arange(1, 1 + np.prod(y.shape.as_list()), dtype=np.float32).reshape(y.shape.as_list())
    (dx,) = tf.gradients(y, tf.get_default_graph().get_operations()[0].outputs[0], grad_ys=g)
    with tf.Session() as sess:
        got = sess.run(dx)
    np.testing.assert_array_equal(got, ref_max_pool_grad(x, g, (k, k), (s, s), padding))


def test_max_pool_grad_grad_gathers_at_first_maximum():
    x = np.zeros((1, 4, 4, 1), np.float32)
    x[0, 1, 1, 0] = x[0, 2, 3, 0] = 1.0
    xt = tf.constant(x)
    y = tf.nn.max_pool(xt, 2, 2, "VALID")
    dy = tf.placeholder(tf.float32, [1, 2, 2, 1])
    (dx,) = tf.gradients(y, xt, grad_ys=dy)
    gg = tf.constant(np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1))
    (ddy,) = tf.gradients(dx, dy, grad_ys=gg)
    with tf.Session() as sess:
        got = sess.run(ddy, {dy: np.ones((1, 2, 2, 1))})
    # windows' first maxima: (1,1), (0,2) (all zero: first), (2,0) (all zero: first), (2,3)
    np.testing.assert_array_equal(got[0, :, :, 0], [[5.0, 2.0], [8.0, 11.0]])


def test_conv_gradients_float32_match_references():
    """The W4-style float32 path (channel-major first layer, pixel-major second) end to end."""
    x, w1, w2 = u(3, 8, 8, 1), u(5, 5, 1, 4), u(3, 3, 4, 5)
    xt, w1t, w2t = tf.constant(x), tf.constant(w1), tf.constant(w2)
    h = tf.nn.conv2d(xt, w1t, [1, 1, 1, 1], "SAME")
    y = tf.nn.conv2d(h, w2t, [1, 1, 1, 1], "SAME")
    dy = u(3, 8, 8, 5)
    g_h, g_w1, g_w2 = tf.gradients(y, [h, w1t, w2t], grad_ys=dy)
    with tf.Session() as sess:
        vh, vg_h, vg_w1, vg_w2 = sess.run([h, g_h, g_w1, g_w2])
    assert vg_w1.dtype == vg_w2.dtype == vg_h.dtype == np.float32
    np.testing.assert_allclose(vg_w2, ref_conv2d_backprop_filter(vh, w2.shape, dy), rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(vg_h, ref_conv2d_backprop_input(vh.shape, w2, dy), rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(vg_w1, ref_conv2d_backprop_filter(
        x, w1.shape, ref_conv2d_backprop_input(vh.shape, w2, dy)), rtol=1e-4, atol=1e-4)


def test_long_inner_products_in_single_thread_slices():
    """The filter gradient of a first layer is a small product over a long inner dimension,
    computed as a sum of slices; it must equal the plain product (remainder slice included)."""
    from tfnb.ops import conv_ops
    a, b = u(25, 20011), u(20011, 32)
    np.testing.assert_allclose(conv_ops._matmul_long_inner(np, a, b),
                               a.astype(np.float64) @ b.astype(np.float64), rtol=1e-4, atol=1e-3)


def test_lrn_gradient():
    check_gradients(lambda x: tf.nn.lrn(x, 2, 1.5, 0.3, 0.75), [u(1, 2, 2, 6)])


def test_gradient_ops_are_tf_ops():
    x = tf.placeholder(tf.float32, [None, 6, 6, 2])
    w = tf.Variable(np.ones((3, 3, 2, 4), np.float32))
    y = tf.nn.avg_pool(tf.nn.max_pool(tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME"), 2, 2, "SAME"),
                       2, 1, "VALID")
    gx, gw = tf.gradients(y, [x, w])
    assert gx.op.type == "Conv2DBackpropInput"
    assert gw.op.type == "Conv2DBackpropFilter"
    types = {o.type for o in tf.get_default_graph().get_operations()}
    assert {"MaxPoolGrad", "AvgPoolGrad"} <= types


# ----------------------------------------------------------------------------------------------
# Static shapes and construction-time errors
# ----------------------------------------------------------------------------------------------
def _ph(shape, dtype=tf.float32):
    return tf.placeholder(dtype, shape)


SHAPES = [
    ("conv2d_unknown_batch", lambda: tf.nn.conv2d(_ph([None, 28, 28, 1]), _ph([5, 5, 1, 32]),
                                                  [1, 1, 1, 1], "SAME"), [None, 28, 28, 32]),
    ("conv2d_same_stride", lambda: tf.nn.conv2d(_ph([None, 7, 8, 3]), _ph([3, 3, 3, 5]),
                                                [1, 2, 3, 1], "SAME"), [None, 4, 3, 5]),
    ("conv2d_valid_dilated", lambda: tf.nn.conv2d(_ph([1, 9, 9, 3]), _ph([3, 3, 3, 5]), 1,
                                                  "VALID", dilations=2), [1, 5, 5, 5]),
    ("conv2d_unknown_width", lambda: tf.nn.conv2d(_ph([None, 8, None, 3]), _ph([3, 3, 3, 5]),
                                                  1, "SAME"), [None, 8, None, 5]),
    ("conv2d_unknown_filter", lambda: tf.nn.conv2d(_ph([2, 8, 8, 3]), _ph([None, 3, 3, 5]),
                                                   1, "VALID"), [2, None, 6, 5]),
    ("conv2d_nchw", lambda: tf.nn.conv2d(_ph([None, 3, 8, 8]), _ph([3, 3, 3, 5]), [1, 1, 2, 2],
                                         "SAME", data_format="NCHW"), [None, 5, 4, 4]),
    ("conv2d_explicit", lambda: tf.nn.conv2d(_ph([None, 8, 8, 3]), _ph([3, 3, 3, 5]), 1, EX_PAD),
     [None, 9, 7, 5]),
    ("conv2d_grad_input_unknown_batch", lambda: tf.gradients(
        tf.nn.conv2d(_ph([None, 8, 8, 3]), tf.ones([3, 3, 3, 5]), 1, "SAME"),
        tf.get_default_graph().get_operations()[0].outputs[0])[0], [None, 8, 8, 3]),
    ("conv2d_transpose_tensor_shape", lambda: tf.nn.conv2d_transpose(
        _ph([None, 4, 4, 3]), _ph([3, 3, 5, 3]), tf.stack([tf.shape(_ph([None]))[0], 8, 8, 5]),
        [1, 2, 2, 1]), [None, 8, 8, 5]),
    ("depthwise", lambda: tf.nn.depthwise_conv2d(_ph([None, 8, 8, 3]), _ph([3, 3, 3, 2]),
                                                 [1, 2, 2, 1], "SAME"), [None, 4, 4, 6]),
    ("max_pool", lambda: tf.nn.max_pool(_ph([None, 28, 28, 32]), [1, 2, 2, 1], [1, 2, 2, 1],
                                        "SAME"), [None, 14, 14, 32]),
    ("max_pool_3x3_s2_same", lambda: tf.nn.max_pool(_ph([None, 24, 24, 64]), 3, 2, "SAME"),
     [None, 12, 12, 64]),
    ("avg_pool_valid", lambda: tf.nn.avg_pool(_ph([4, 7, 7, 2]), 3, 2, "VALID"), [4, 3, 3, 2]),
    ("argmax", lambda: tf.nn.max_pool_with_argmax(_ph([None, 6, 6, 2]), 2, 2, "SAME")[1],
     [None, 3, 3, 2]),
    ("lrn", lambda: tf.nn.lrn(_ph([None, 4, 4, 8])), [None, 4, 4, 8]),
]


@pytest.mark.parametrize("build,expected", [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_static_shape(build, expected):
    assert build().shape.as_list() == expected


def _conv(x_shape, w_shape, strides=(1, 1, 1, 1), padding="SAME", **kw):
    return lambda: tf.nn.conv2d(_ph(x_shape), _ph(w_shape), strides, padding, **kw)


ERRORS = [
    ("conv_depth", _conv([None, 8, 8, 3], [3, 3, 4, 5]), ValueError,
     r"Depth of input \(3\) is not a multiple of input depth of filter \(4\).*"
     r"\[\?,8,8,3\], \[3,3,4,5\]"),
    ("conv_groups_out_depth", _conv([None, 8, 8, 4], [3, 3, 2, 5]), ValueError,
     "not a multiple of the number of groups"),
    ("conv_strides_len", _conv([1, 8, 8, 3], [3, 3, 3, 5], [1, 1, 1]), ValueError,
     "strides should be of length 1, 2 or 4"),
    ("conv_strides_batch", _conv([1, 8, 8, 3], [3, 3, 3, 5], [2, 1, 1, 1]), ValueError,
     "batch and depth"),
    ("conv_strides_zero", _conv([1, 8, 8, 3], [3, 3, 3, 5], [1, 0, 1, 1]), ValueError,
     "must be positive"),
    ("conv_padding", _conv([1, 8, 8, 3], [3, 3, 3, 5], padding="FOO"), ValueError,
     "Attr 'padding' passed string 'FOO'"),
    ("conv_padding_lowercase", _conv([1, 8, 8, 3], [3, 3, 3, 5], padding="same"), ValueError,
     "not in"),
    ("conv_explicit_batch_pad", _conv([1, 8, 8, 3], [3, 3, 3, 5], padding=[[1, 0], [1, 1], [1, 1],
                                                                          [0, 0]]),
     ValueError, "batch and depth dimensions must be zero"),
    ("conv_rank_input", _conv([8, 8, 3], [3, 3, 3, 5]), ValueError,
     "Shape must be rank 4 but is rank 3"),
    ("conv_rank_filter", _conv([1, 8, 8, 3], [3, 3, 5]), ValueError,
     "Shape must be rank 4 but is rank 3"),
    ("conv_valid_too_small", _conv([None, 8, 8, 3], [9, 9, 3, 5], padding="VALID"), ValueError,
     "Negative dimension size caused by subtracting 9 from 8"),
    ("conv_data_format", _conv([1, 8, 8, 3], [3, 3, 3, 5], data_format="NWHC"), ValueError,
     "data_format"),
    ("conv_dtype_mismatch", lambda: tf.nn.conv2d(_ph([1, 8, 8, 3]), _ph([3, 3, 3, 5], tf.float64),
                                                 1, "SAME"),
     TypeError, "does not match type float32"),
    ("conv_dtype_bool", lambda: tf.nn.conv2d(_ph([1, 8, 8, 3], tf.bool), _ph([3, 3, 3, 5], tf.bool),
                                             1, "SAME"), TypeError, "not in list of allowed"),
    ("conv_both_filter_spellings", lambda: tf.nn.conv2d(_ph([1, 8, 8, 3]), _ph([3, 3, 3, 5]), 1,
                                                        "SAME", filters=_ph([3, 3, 3, 5])),
     ValueError, "both"),
    ("transpose_in_channels", lambda: tf.nn.conv2d_transpose(
        _ph([None, 8, 8, 3]), _ph([3, 3, 5, 4]), [4, 16, 16, 5], [1, 2, 2, 1]), ValueError,
     "input channels does not match filter's input channels, 3 != 4"),
    ("transpose_out_channels", lambda: tf.nn.conv2d_transpose(
        _ph([None, 8, 8, 3]), _ph([3, 3, 5, 3]), [4, 16, 16, 6], [1, 2, 2, 1]), ValueError,
     "output_shape does not match filter's output channels, 6 != 5"),
    ("transpose_spatial", lambda: tf.nn.conv2d_transpose(
        _ph([4, 8, 8, 3]), _ph([3, 3, 5, 3]), [4, 20, 16, 5], [1, 2, 2, 1]), ValueError,
     "Size of out_backprop doesn't match computed"),
    ("backprop_filter_depth", lambda: tf.nn.conv2d_backprop_filter(
        _ph([1, 4, 4, 3]), [3, 3, 2, 5], _ph([1, 4, 4, 5]), [1, 1, 1, 1], "SAME"), ValueError,
     r"Depth of input \(3\) is not a multiple of input depth of filter \(2\)"),
    ("backprop_input_out_depth", lambda: tf.nn.conv2d_backprop_input(
        [1, 4, 4, 3], _ph([3, 3, 3, 5]), _ph([1, 4, 4, 6]), [1, 1, 1, 1], "SAME"), ValueError,
     "Dimensions must be equal, but are 5 and 6"),
    ("depthwise_depth", lambda: tf.nn.depthwise_conv2d(_ph([None, 8, 8, 3]), _ph([3, 3, 4, 2]),
                                                       [1, 1, 1, 1], "SAME"), ValueError,
     "Dimensions must be equal, but are 3 and 4"),
    ("depthwise_rate_and_stride", lambda: tf.nn.depthwise_conv2d(
        _ph([None, 8, 8, 3]), _ph([3, 3, 3, 2]), [1, 2, 2, 1], "SAME", rate=[2, 2]), ValueError,
     "dilation_rate > 1"),
    ("pool_ksize_len", lambda: tf.nn.max_pool(_ph([1, 8, 8, 3]), [1, 2, 2], [1, 2, 2, 1], "SAME"),
     ValueError, "ksize should be of length 1, 2 or 4"),
    ("pool_ksize_zero", lambda: tf.nn.max_pool(_ph([1, 8, 8, 3]), [1, 0, 2, 1], 2, "SAME"),
     ValueError, "`ksize` cannot be zero"),
    ("pool_ksize_negative", lambda: tf.nn.avg_pool(_ph([1, 8, 8, 3]), [1, -2, 2, 1], 2, "SAME"),
     ValueError, "ksize must be positive"),
    ("pool_ksize_depth", lambda: tf.nn.max_pool(_ph([1, 8, 8, 3]), [1, 2, 2, 3], 2, "SAME"),
     ValueError, "batch and depth"),
    ("pool_stride_zero", lambda: tf.nn.max_pool(_ph([1, 8, 8, 3]), 2, [1, 0, 2, 1], "SAME"),
     ValueError, "strides must be positive"),
    ("pool_padding", lambda: tf.nn.max_pool(_ph([1, 8, 8, 3]), 2, 2, "FOO"), ValueError,
     "Attr 'padding' passed string 'FOO'"),
    ("pool_explicit_padding", lambda: tf.nn.max_pool(_ph([1, 8, 8, 3]), 2, 2, EX_PAD), ValueError,
     "'SAME' or 'VALID'"),
    ("pool_rank", lambda: tf.nn.max_pool(_ph([8, 8, 3]), 2, 2, "SAME"), ValueError,
     "Shape must be rank 4 but is rank 3"),
    ("pool_valid_too_small", lambda: tf.nn.max_pool(_ph([None, 8, 8, 3]), 9, 1, "VALID"),
     ValueError, "Negative dimension size caused by subtracting 9 from 8"),
    ("avg_pool_int", lambda: tf.nn.avg_pool(_ph([1, 4, 4, 1], tf.int32), 2, 2, "VALID"), TypeError,
     "not in list of allowed values"),
    ("argmax_nchw", lambda: tf.nn.max_pool_with_argmax(_ph([1, 4, 4, 1]), 2, 2, "VALID",
                                                       data_format="NCHW"), ValueError, "NHWC"),
    ("lrn_rank", lambda: tf.nn.lrn(_ph([3, 3, 3])), ValueError, "Shape must be rank 4"),
    ("lrn_int", lambda: tf.nn.lrn(_ph([1, 3, 3, 3], tf.int32)), TypeError, "not in list"),
]


@pytest.mark.parametrize("build,exc,match", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_construction_errors(build, exc, match):
    with pytest.raises(exc, match=match):
        build()


def test_construction_error_names_the_op_and_shapes():
    with pytest.raises(ValueError) as info:
        tf.nn.conv2d(_ph([None, 8, 8, 3]), _ph([3, 3, 4, 5]), 1, "SAME", name="my_conv")
    msg = str(info.value)
    assert "my_conv" in msg and "Conv2D" in msg and "[?,8,8,3]" in msg and "[3,3,4,5]" in msg


def test_run_time_errors_name_the_op():
    x = _ph([None, None, None, 3])
    y = tf.nn.conv2d(x, tf.ones([5, 5, 3, 2]), 1, "VALID", name="small")
    dy = _ph([None, None, None, 2])
    dx = tf.nn.conv2d_backprop_input(tf.shape(x), tf.ones([5, 5, 3, 2]), dy, 1, "VALID",
                                     name="bp")
    with tf.Session() as sess:
        with pytest.raises(errors.InvalidArgumentError, match="small"):
            sess.run(y, {x: np.zeros((1, 4, 4, 3))})
        with pytest.raises(errors.InvalidArgumentError, match="doesn't match computed"):
            sess.run(dx, {x: np.zeros((1, 6, 6, 3)), dy: np.zeros((1, 3, 2, 2))})


def test_unknown_batch_runs_with_any_batch():
    x = _ph([None, 6, 6, 1])
    w = tf.constant(u(3, 3, 1, 2))
    y = tf.nn.max_pool(tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME")), 2, 2, "SAME")
    (g,) = tf.gradients(tf.reduce_sum(y), w)
    with tf.Session() as sess:
        for n in (1, 3):
            xv = u(n, 6, 6, 1)
            yv, gv = sess.run([y, g], {x: xv})
            np.testing.assert_allclose(
                yv, ref_pool(np.maximum(ref_conv2d(xv, sess.run(w)), 0), (2, 2), (2, 2), "SAME",
                             "max"), rtol=1e-5, atol=1e-6)
            assert gv.shape == (3, 3, 1, 2) and gv.dtype == np.float32
