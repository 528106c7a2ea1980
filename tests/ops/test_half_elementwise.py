"""float16/bfloat16 elementwise ops compute in float32 and round once (math_ops'
``_half_via_float32``): the same bits as the half-precision kernels, op by op, on values that
include zeros of both signs, infinities, NaN, subnormals and the largest finite values."""
import numpy as np
import pytest

import tfnb as tf
from tfnb.framework import dtypes
from tfnb.framework.registry import _REGISTRY
from tfnb.ops import math_ops

UNARY = ["negative", "abs", "sign", "square", "sqrt", "rsqrt", "exp", "log", "log1p", "expm1",
         "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "sigmoid",
         "reciprocal", "round", "floor", "ceil", "rint", "is_nan", "is_inf", "is_finite",
         "nn.relu", "nn.relu6", "nn.elu", "nn.selu", "nn.softplus", "nn.softsign", "math.erf",
         "math.erfc", "math.log_sigmoid"]
BINARY = ["add", "subtract", "multiply", "truediv", "realdiv", "floordiv", "floormod", "pow",
          "maximum", "minimum", "squared_difference", "atan2", "equal", "not_equal", "less",
          "less_equal", "greater", "greater_equal", "div_no_nan", "math.xdivy", "math.xlogy"]


ONE_ROUNDING = {"rsqrt": lambda x: 1 / np.sqrt(x), "sign": np.sign}


def _fn(path):
    obj = tf
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _values(np_dtype, n, seed):
    rng = np.random.default_rng(seed)
    special = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-7, -3e-8, 65504.0,
                        -65504.0, 0.5, 2.0, 3.0, 1e4], np.float32)
    body = (rng.standard_normal(n) * rng.choice([0.01, 1.0, 30.0], n)).astype(np.float32)
    return np.concatenate([special, body]).astype(np_dtype)


def _bits_equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    if a.dtype.kind == "b":
        np.testing.assert_array_equal(a, b)
        return
    fa, fb = a.astype(np.float32), b.astype(np.float32)
    nan = np.isnan(fa)
    np.testing.assert_array_equal(nan, np.isnan(fb))
    np.testing.assert_array_equal(a.view(np.uint16)[~nan], b.view(np.uint16)[~nan])


def _run(fn, xs, dtype, via_float32, monkeypatch):
    monkeypatch.setattr(math_ops, "HALF_VIA_FLOAT32", via_float32)
    with tf.Graph().as_default():
        phs = [tf.placeholder(dtype, x.shape) for x in xs]
        y = fn(*phs)
        with tf.Session() as sess:
            return sess.run(y, dict(zip(phs, xs)))


def _half_types():
    out = [dtypes.float16]
    if dtypes.bfloat16_numpy_type() is not None:
        out.append(dtypes.bfloat16)
    return out


@pytest.mark.parametrize("dtype", _half_types(), ids=lambda d: d.name)
@pytest.mark.parametrize("name", UNARY + BINARY)
def test_float32_compute_gives_the_half_kernels_bits(name, dtype, monkeypatch):
    fn = _fn(name)
    if fn is None:
        pytest.skip("tfnb has no tf.%s" % name)
    npd = dtype.as_numpy_dtype
    x = _values(npd, 300, 1)
    xs = [x] if name in UNARY else [x, _values(npd, 300, 2)[::-1].copy()]
    with np.errstate(all="ignore"):
        try:
            slow = _run(fn, xs, dtype, False, monkeypatch)
        except (tf.errors.InvalidArgumentError, TypeError, ValueError) as e:
            pytest.skip("no %s kernel for %s: %s" % (name, dtype.name, e))
        fast = _run(fn, xs, dtype, True, monkeypatch)
    if name in ONE_ROUNDING:
        # TF's half kernels compute these in float and round once (see _half_via_float32).
        with np.errstate(all="ignore"):
            slow = ONE_ROUNDING[name](*[v.astype(np.float32) for v in xs]).astype(npd)
    _bits_equal(fast, slow)
    if np.asarray(slow).dtype.kind != "b":
        assert np.asarray(fast).dtype == npd


def test_the_listed_ops_cover_the_wrapped_registrations():
    wrapped = {name for name, od in _REGISTRY.items()
               if getattr(od.kernel, "__name__", "").endswith("_half_via_float32")}
    assert {"Add", "Mul", "Sigmoid", "Tanh", "Exp", "Maximum"} <= wrapped
    assert not wrapped & math_ops._HALF_STEPWISE


def test_mixed_precision_speed_path_keeps_float32_and_integers_untouched(monkeypatch):
    for dtype, value in ((tf.float32, np.float32(1.5)), (tf.int32, np.int32(3))):
        assert _run(lambda a: a * a, [np.array([value])], dtype, True, monkeypatch).dtype == \
            np.dtype(dtype.as_numpy_dtype)
