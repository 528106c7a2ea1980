"""Quantization for inference: TF1's quantized ops and fake quantization.

A quantized tensor is an integer array plus the float range ``[min, max]`` it stands for
(three tensors in the graph). The formulas are TensorFlow's (quantization_utils.h,
quantize_op.cc, dequantize_op.cc, fake_quant_ops_functor.h), written with NumPy:

* ``quantize`` (QuantizeV2) / ``dequantize`` with modes MIN_COMBINED, MIN_FIRST, SCALED;
* ``QuantizedMatMul``/``QuantizedConv2D``: integer inputs minus their zero points,
  accumulated exactly in int32 (float32 GEMMs/convolutions over chunks of the inner
  dimension short enough for every sum to stay below 2**24, summed in int64 -- exact,
  and at BLAS speed); the output range is one level of ``a`` times one level of ``b`` times
  the int32 limits (QuantizationRangeForMultiplication);
* ``QuantizedRelu``/``Relu6``/``ReluX``, ``QuantizedAdd``, ``QuantizedBiasAdd``,
  ``QuantizedMaxPool``/``AvgPool``, ``Requantize``, ``RequantizationRange``;
* ``fake_quant_with_min_max_args/vars/vars_per_channel`` and their gradient ops, with TF's
  nudging of ``[min, max]`` so that 0.0 is exactly representable, and ``narrow_range``.

A range with ``max < min`` is an InvalidArgumentError naming the op; fake quantization
also refuses ``min == max`` (as TF's FakeQuantWithMinMaxArgs). Quantize widens a range
narrower than 1% of its magnitude (TF's ``ensure_minimum_range``), so ``min == max`` works.
"""
import numpy as np

from ..framework import dtypes, errors
from ..framework.registry import NOT_DIFFERENTIABLE, register_op
from ..framework.tensor_shape import TensorShape, unknown_shape
from . import core
from .core import convert_to_tensor

__all__ = [
    "quantize", "quantize_v2", "dequantize", "quantized_matmul", "quantized_conv2d",
    "quantized_relu", "quantized_relu6", "quantized_relu_x", "quantized_add",
    "quantized_bias_add", "quantized_max_pool", "quantized_avg_pool", "requantize",
    "requantization_range", "fake_quant_with_min_max_args",
    "fake_quant_with_min_max_args_gradient", "fake_quant_with_min_max_vars",
    "fake_quant_with_min_max_vars_gradient", "fake_quant_with_min_max_vars_per_channel",
    "fake_quant_with_min_max_vars_per_channel_gradient", "QUANTIZED_TYPES",
]

QUANTIZED_TYPES = (dtypes.qint8, dtypes.quint8, dtypes.qint16, dtypes.quint16, dtypes.qint32)
_MODES = ("MIN_COMBINED", "MIN_FIRST", "SCALED")
_ROUND_MODES = ("HALF_AWAY_FROM_ZERO", "HALF_TO_EVEN")
_SCALAR = TensorShape([])


# ----------------------------------------------------------------------------------------------
# TF's quantization arithmetic (quantization_utils.h), on NumPy arrays
# ----------------------------------------------------------------------------------------------
def _round_away(v):
    """std::round: halves away from zero."""
    return np.copysign(np.floor(np.abs(v) + 0.5), v)


def _steps(dt):
    return float(1 << (dt.size * 8))


def float_to_quantized_unclamped(x, range_min, range_max, dt):
    """TF's FloatToQuantizedUnclamped: int64 levels of ``dt`` for floats ``x``."""
    x = np.asarray(x, np.float64)
    if range_min == range_max:
        return np.full(x.shape, dt.min, np.int64)
    steps = _steps(dt)
    scale = steps / ((range_max - range_min) * (steps / (steps - 1.0)))
    return (_round_away(x * scale) - _round_away(range_min * scale) + dt.min).astype(np.int64)


def float_to_quantized(x, range_min, range_max, dt):
    """TF's FloatToQuantized: levels clamped to ``dt``'s limits, as ``dt``'s NumPy type."""
    q = float_to_quantized_unclamped(x, range_min, range_max, dt)
    return np.clip(q, dt.min, dt.max).astype(dt.np)


def quantized_to_float(q, range_min, range_max, dt):
    """TF's QuantizedToFloat (float64 result)."""
    q = np.asarray(q, np.float64)
    if range_min == range_max:
        return np.full(q.shape, range_min, np.float64)
    steps = _steps(dt)
    scale = (range_max - range_min) * (steps / (steps - 1.0)) / steps
    min_rounded = _round_away(range_min / scale) * scale
    return min_rounded + (q - dt.min) * scale


def float_for_one_level(range_min, range_max, dt):
    return np.float32((range_max - range_min) / (float(dt.max) - float(dt.min)))


def range_for_multiplication(min_a, max_a, dt_a, min_b, max_b, dt_b, dt_c):
    """TF's QuantizationRangeForMultiplication: the float range of a product's levels."""
    level = float_for_one_level(min_a, max_a, dt_a) * float_for_one_level(min_b, max_b, dt_b)
    return np.float32(level * dt_c.min), np.float32(level * dt_c.max)


def requantize_many(q, in_min, in_max, dt_in, out_min, out_max, dt_out):
    """TF's RequantizeManyInNewRange: qint32 -> quint8 in TF's 16-bit fixed point, others
    through float."""
    if dt_in is dtypes.qint32 and dt_out is dtypes.quint8:
        shift = 16
        in_range, out_range = np.float32(in_max - in_min), np.float32(out_max - out_min)
        recip = np.float32(0.0) if out_range == 0 else np.float32(255.0 / out_range)
        rezero = np.float32((in_min + in_max) / 2.0)
        scale_fp = 0 if out_range == 0 else int(255.0 * (1 << shift) * float(in_range)
                                                / float(out_range))
        in_offset_fp = int(float(rezero) * float(recip) * (1 << shift))
        out_offset_fp = 0 if out_range == 0 else int((1 << shift) * (float(out_min) * 255.0)
                                                     / float(out_range))
        v = np.asarray(q).astype(np.int64)  # in place from here: one buffer
        v *= scale_fp
        v >>= 32
        v += in_offset_fp - out_offset_fp + (1 << (shift - 1))
        v >>= shift
        return np.clip(v, 0, 255, out=v).astype(np.uint8)
    return float_to_quantized(quantized_to_float(q, in_min, in_max, dt_in), out_min, out_max,
                              dt_out)


# ----------------------------------------------------------------------------------------------
# Shared checks
# ----------------------------------------------------------------------------------------------
def _scalar(v, what):
    a = np.asarray(v)
    if a.size != 1:
        raise errors.InvalidArgumentError(None, None, "%s must be a scalar, got shape %s"
                                          % (what, list(a.shape)))
    return float(a.reshape(()))


def _range(vmin, vmax, what="min", strict=False):
    lo, hi = _scalar(vmin, what + "_min" if what != "min" else "min"), \
        _scalar(vmax, what + "_max" if what != "min" else "max")
    if hi < lo or (strict and hi == lo) or not (np.isfinite(lo) and np.isfinite(hi)):
        raise errors.InvalidArgumentError(
            None, None, "%s range [%g, %g] is invalid: max must be larger than min"
            % (what, lo, hi))
    return lo, hi


def _check_type(op, t, allowed, what):
    if t.dtype not in allowed:
        raise TypeError("%s of %s must be one of %s, got %s" % (
            what, op.type, ", ".join(d.name for d in allowed), t.dtype.name))


def _check_float_scalars(op, first):
    for t in op._inputs[first:]:
        if t.dtype is not dtypes.float32:
            raise TypeError("the range inputs of %s must be float32, got %s"
                            % (op.type, t.dtype.name))
        if t._shape.ndims not in (None, 0) and t._shape.num_elements() not in (None, 1):
            raise ValueError("the range inputs of %s must be scalars, got shape %s"
                             % (op.type, t._shape))


def _q_dtype(v, what):
    d = dtypes.as_dtype(v)
    if d not in QUANTIZED_TYPES:
        raise TypeError("%s must be a quantized type (%s), got %s"
                        % (what, ", ".join(q.name for q in QUANTIZED_TYPES), d.name))
    return d


def _ranges_out(op_out_dtype, shape):
    return [(op_out_dtype, shape), (dtypes.float32, _SCALAR), (dtypes.float32, _SCALAR)]


def _f32(v):
    return np.asarray(v, np.float32)


# ----------------------------------------------------------------------------------------------
# QuantizeV2 / Dequantize
# ----------------------------------------------------------------------------------------------
def _quantize_infer(op):
    x = op._inputs[0]
    if x.dtype is not dtypes.float32:
        raise TypeError("input of QuantizeV2 must be float32, got %s" % x.dtype.name)
    _check_float_scalars(op, 1)
    return _ranges_out(op._attrs["T"], x._shape)


def _quantize_kernel(op, ctx):
    dt, mode, rmode = op._attrs["T"], op._attrs["mode"], op._attrs["round_mode"]
    lo_t, hi_t = float(dt.min), float(dt.max)

    def quantize_v2(x, vmin, vmax):
        in_min, in_max = _range(vmin, vmax, "input")
        min_range = min(0.0, in_min)
        eps = max(1.0, max(abs(in_min), abs(in_max))) / 100.0
        max_range = max(0.0, max(in_max, min_range + eps))
        min_range, max_range = np.float32(min_range), np.float32(max_range)
        x = _f32(x)
        if mode == "MIN_COMBINED":
            scale = np.float32((hi_t - lo_t) / (float(max_range) - float(min_range)))
            v = (np.clip(x, min_range, max_range) - min_range) * scale
            if dt.min < 0:
                q = _round_away(v - np.float32((hi_t - lo_t + 1) / 2.0))
            else:
                q = np.floor(v + np.float32(0.5))
        elif mode == "MIN_FIRST":
            q = float_to_quantized(x, float(min_range), float(max_range), dt)
        else:  # SCALED
            big = np.finfo(np.float32).max
            from_min = np.float32(lo_t / min_range) if lo_t * min_range > 0 else big
            from_max = np.float32(hi_t / max_range) if hi_t * max_range > 0 else big
            scale = np.float32(min(from_min, from_max))
            min_range, max_range = np.float32(lo_t / scale), np.float32(hi_t / scale)
            v = np.clip(x, min_range, max_range) * scale
            q = np.rint(v) if rmode == "HALF_TO_EVEN" else _round_away(v)
        q = np.clip(q, lo_t, hi_t).astype(dt.np)
        return q, _f32(min_range), _f32(max_range)
    return quantize_v2


register_op("QuantizeV2", infer=_quantize_infer, kernel=_quantize_kernel,
            grad=NOT_DIFFERENTIABLE, doc="float -> quantized levels of T for [min, max]")


def _mode_attrs(mode, round_mode, T=None):
    if mode not in _MODES:
        raise ValueError("mode must be one of %s, got %r" % (", ".join(_MODES), mode))
    if round_mode not in _ROUND_MODES:
        raise ValueError("round_mode must be one of %s, got %r" % (", ".join(_ROUND_MODES),
                                                                 round_mode))
    if round_mode == "HALF_TO_EVEN" and mode != "SCALED":
        raise ValueError("Round mode 'HALF_TO_EVEN' is only supported for mode 'SCALED', "
                         "but mode is '%s'." % mode)
    return {"mode": mode, "round_mode": round_mode}


def quantize(input, min_range, max_range, T, mode="MIN_COMBINED",  # noqa: A002
             round_mode="HALF_AWAY_FROM_ZERO", name=None):
    """Quantizes float ``input`` for the range [min_range, max_range] (TF's QuantizeV2).

    Returns:
        (output, output_min, output_max): levels of type ``T`` and the range they stand for
        (the given range widened to hold 0.0 and at least 1% of its magnitude; SCALED makes
        it symmetric to ``T``'s limits).

    Example:
        >>> q, lo, hi = tf.quantize([0.0, 1.0, 6.0], 0.0, 6.0, tf.quint8)  # [0, 43, 255]
    """
    attrs = dict(_mode_attrs(mode, round_mode), T=_q_dtype(T, "T"))
    ins = [convert_to_tensor(input, dtype=dtypes.float32),
           convert_to_tensor(min_range, dtype=dtypes.float32),
           convert_to_tensor(max_range, dtype=dtypes.float32)]
    return list(core.op("QuantizeV2", ins, attrs, name=name)._outputs)


def quantize_v2(input, min_range, max_range, T, mode="MIN_COMBINED", name=None,  # noqa: A002
                round_mode="HALF_AWAY_FROM_ZERO"):
    """TF1's ``tf.quantize_v2`` (the same op as :func:`quantize`)."""
    return quantize(input, min_range, max_range, T, mode, round_mode, name)


def _dequantize_infer(op):
    x = op._inputs[0]
    if x.dtype not in QUANTIZED_TYPES:
        raise TypeError("input of Dequantize must be a quantized type, got %s" % x.dtype.name)
    _check_float_scalars(op, 1)
    return [(dtypes.float32, x._shape)]


def _dequantize_kernel(op, ctx):
    dt, mode = op._inputs[0].dtype, op._attrs["mode"]
    lo_t, hi_t = float(dt.min), float(dt.max)

    def dequantize_(q, vmin, vmax):
        lo, hi = _range(vmin, vmax, "input")
        if mode == "MIN_COMBINED":
            scale = np.float32((hi - lo) / (hi_t - lo_t))
            half = np.float32((hi_t - lo_t + 1) / 2.0) if dt.min < 0 else np.float32(0)
            return (q.astype(np.float32) + half) * scale + np.float32(lo)
        if mode == "MIN_FIRST":
            return quantized_to_float(q, lo, hi, dt).astype(np.float32)
        scale = np.float32(hi / hi_t) if dt.min == 0 else np.float32(max(lo / lo_t, hi / hi_t))
        return q.astype(np.float32) * scale
    return dequantize_


register_op("Dequantize", infer=_dequantize_infer, kernel=_dequantize_kernel,
            grad=NOT_DIFFERENTIABLE, doc="quantized levels -> float")


def dequantize(input, min_range, max_range, mode="MIN_COMBINED", name=None):  # noqa: A002
    """The floats quantized ``input`` stands for in [min_range, max_range] (TF's Dequantize)."""
    attrs = _mode_attrs(mode, "HALF_AWAY_FROM_ZERO")
    del attrs["round_mode"]
    ins = [convert_to_tensor(input), convert_to_tensor(min_range, dtype=dtypes.float32),
           convert_to_tensor(max_range, dtype=dtypes.float32)]
    return core.out("Dequantize", ins, attrs, name=name)


# ----------------------------------------------------------------------------------------------
# QuantizedMatMul / QuantizedConv2D: int32 accumulation
# ----------------------------------------------------------------------------------------------
def _exact_chunk(dta, off_a, dtb, off_b):
    """How many products of offset levels float32 sums exactly (every partial sum below
    2**24); 0 when too few for float32 to pay (16-bit levels: float64 then, exact below 2**53)."""
    span_a = max(abs(dta.min - off_a), abs(dta.max - off_a), 1)
    span_b = max(abs(dtb.min - off_b), abs(dtb.max - off_b), 1)
    k = int((2 ** 24 - 1) // (span_a * span_b))
    return k if k >= 16 else 0


def _int_accumulate(k, chunk, product):
    """The exact int32 sum over an inner dimension of length ``k``: ``product(a, b, dtype)``
    computes the partial sum over inner indices [a, b) on BLAS; float32 chunks of ``chunk``
    terms each are exact, and their sum is taken in int64 (then wrapped to int32, as TF's
    int32 accumulators wrap)."""
    if not chunk:
        return product(0, k, np.float64).astype(np.int64).astype(np.int32)
    if chunk >= k:
        return product(0, k, np.float32).astype(np.int32)
    total = None
    for a in range(0, k, chunk):
        part = product(a, min(k, a + chunk), np.float32).astype(np.int64)
        if total is None:
            total = part
        else:
            total += part
    return total.astype(np.int32)


def _quantized_matmul_infer(op):
    a, b = op._inputs[:2]
    _check_type(op, a, QUANTIZED_TYPES, "a")
    _check_type(op, b, QUANTIZED_TYPES, "b")
    _check_float_scalars(op, 2)
    ta, tb = op._attrs["transpose_a"], op._attrs["transpose_b"]
    da, db = a._shape.as_tuple(), b._shape.as_tuple()
    if (da is not None and len(da) != 2) or (db is not None and len(db) != 2):
        raise ValueError("QuantizedMatMul takes matrices, got shapes %s and %s"
                         % (a._shape, b._shape))
    m = k1 = k2 = n = None
    if da is not None:
        m, k1 = (da[1], da[0]) if ta else da
    if db is not None:
        k2, n = (db[1], db[0]) if tb else db
    if k1 is not None and k2 is not None and k1 != k2:
        raise ValueError("Dimensions must be equal, but are %d and %d for QuantizedMatMul with "
                         "shapes %s and %s" % (k1, k2, a._shape, b._shape))
    return _ranges_out(op._attrs["Toutput"], TensorShape([m, n]))


def _quantized_matmul_kernel(op, ctx):
    dta, dtb, dtc = op._inputs[0].dtype, op._inputs[1].dtype, op._attrs["Toutput"]
    ta, tb = op._attrs["transpose_a"], op._attrs["transpose_b"]

    def quantized_matmul(a, b, min_a, max_a, min_b, max_b):
        lo_a, hi_a = _range(min_a, max_a, "a")
        lo_b, hi_b = _range(min_b, max_b, "b")
        off_a = float(float_to_quantized_unclamped(0.0, lo_a, hi_a, dta))
        off_b = float(float_to_quantized_unclamped(0.0, lo_b, hi_b, dtb))
        a2, b2 = (a.T if ta else a), (b.T if tb else b)

        def product(i, j, acc_t):
            fa = a2[:, i:j].astype(acc_t)
            fa -= acc_t(off_a)
            fb = b2[i:j].astype(acc_t)
            fb -= acc_t(off_b)
            return fa @ fb
        acc = _int_accumulate(a2.shape[1], _exact_chunk(dta, off_a, dtb, off_b), product)
        lo_c, hi_c = range_for_multiplication(lo_a, hi_a, dta, lo_b, hi_b, dtb, dtc)
        return acc, _f32(lo_c), _f32(hi_c)
    return quantized_matmul


register_op("QuantizedMatMul", infer=_quantized_matmul_infer, kernel=_quantized_matmul_kernel,
            grad=NOT_DIFFERENTIABLE, doc="quantized a @ b accumulated in int32")


def _q_inputs(values, float_from=2):
    out = [convert_to_tensor(v) for v in values[:float_from]]
    return out + [convert_to_tensor(v, dtype=dtypes.float32) for v in values[float_from:]]


def quantized_matmul(a, b, min_a, max_a, min_b, max_b, Toutput=dtypes.qint32,
                     transpose_a=False, transpose_b=False, Tactivation=dtypes.quint8,
                     name=None):
    """``a @ b`` of quantized matrices, accumulated in int32 (TF's QuantizedMatMul).

    Returns:
        (out, min_out, max_out): qint32 levels and the float range they stand for.
    """
    attrs = {"Toutput": _q_dtype(Toutput, "Toutput"), "transpose_a": bool(transpose_a),
             "transpose_b": bool(transpose_b), "Tactivation": _q_dtype(Tactivation, "Tactivation")}
    return list(core.op("QuantizedMatMul", _q_inputs([a, b, min_a, max_a, min_b, max_b]),
                        attrs, name=name)._outputs)


def _conv_helpers():
    from . import conv_ops
    return conv_ops


def _quantized_conv_infer(op):
    x, w = op._inputs[:2]
    _check_type(op, x, QUANTIZED_TYPES, "input")
    _check_type(op, w, QUANTIZED_TYPES, "filter")
    _check_float_scalars(op, 2)
    a = op._attrs
    conv = _conv_helpers()
    if a["padding"] not in ("SAME", "VALID"):
        raise ValueError("padding must be SAME or VALID, got %r" % (a["padding"],))
    for key in ("strides", "dilations"):
        v = a[key]
        if len(v) != 4 or v[0] != 1 or v[3] != 1:
            raise ValueError("QuantizedConv2D %s must be [1, h, w, 1], got %s" % (key, list(v)))
    xs, ws = x._shape.as_tuple(), w._shape.as_tuple()
    if (xs is not None and len(xs) != 4) or (ws is not None and len(ws) != 4):
        raise ValueError("QuantizedConv2D takes a 4-D input and filter, got %s and %s"
                         % (x._shape, w._shape))
    xs = xs or (None,) * 4
    ws = ws or (None,) * 4
    if xs[3] is not None and ws[2] is not None and xs[3] != ws[2]:
        raise ValueError("input depth %d does not match the filter's %d" % (xs[3], ws[2]))
    dims = []
    for axis in (0, 1):
        size, k = xs[1 + axis], ws[axis]
        if size is None or k is None:
            dims.append(None)
            continue
        dims.append(conv._out_and_pads(size, k, a["strides"][1 + axis],
                                       a["dilations"][1 + axis], a["padding"], None)[0])
    return _ranges_out(a["out_type"], TensorShape([xs[0], dims[0], dims[1], ws[3]]))


def _quantized_conv_kernel(op, ctx):
    dtx, dtw, dtc = op._inputs[0].dtype, op._inputs[1].dtype, op._attrs["out_type"]
    a = op._attrs
    s, d, padding = tuple(a["strides"][1:3]), tuple(a["dilations"][1:3]), a["padding"]
    conv = _conv_helpers()

    def quantized_conv2d(x, w, min_x, max_x, min_w, max_w):
        lo_x, hi_x = _range(min_x, max_x, "input")
        lo_w, hi_w = _range(min_w, max_w, "filter")
        off_x = float(float_to_quantized_unclamped(0.0, lo_x, hi_x, dtx))
        off_w = float(float_to_quantized_unclamped(0.0, lo_w, hi_w, dtw))
        # Padding holds float 0.0, i.e. level off_x: zero after the offset is subtracted.
        per_channel = w.shape[0] * w.shape[1]
        chunk = _exact_chunk(dtx, off_x, dtw, off_w) // max(per_channel, 1)

        def product(i, j, acc_t):  # input channels [i, j)
            fx = x[..., i:j].astype(acc_t)
            fx -= acc_t(off_x)
            fw = w[:, :, i:j].astype(acc_t)
            fw -= acc_t(off_w)
            return conv._conv_forward(np, fx, fw, s, d, padding, None)
        acc = _int_accumulate(x.shape[-1], chunk, product)
        lo_c, hi_c = range_for_multiplication(lo_x, hi_x, dtx, lo_w, hi_w, dtw, dtc)
        return acc, _f32(lo_c), _f32(hi_c)
    return quantized_conv2d


register_op("QuantizedConv2D", infer=_quantized_conv_infer, kernel=_quantized_conv_kernel,
            grad=NOT_DIFFERENTIABLE, doc="quantized NHWC convolution accumulated in int32")


def quantized_conv2d(input, filter, min_input, max_input, min_filter, max_filter,  # noqa: A002
                     strides, padding, out_type=dtypes.qint32, dilations=(1, 1, 1, 1),
                     name=None):
    """NHWC convolution of quantized ``input`` and ``filter`` in int32 (TF's QuantizedConv2D).

    Returns:
        (output, min_output, max_output).
    """
    attrs = {"out_type": _q_dtype(out_type, "out_type"), "strides": list(strides),
             "padding": padding.decode() if isinstance(padding, bytes) else padding,
             "dilations": list(dilations)}
    return list(core.op("QuantizedConv2D",
                        _q_inputs([input, filter, min_input, max_input, min_filter, max_filter]),
                        attrs, name=name)._outputs)


# ----------------------------------------------------------------------------------------------
# QuantizedRelu / Relu6 / ReluX
# ----------------------------------------------------------------------------------------------
def _quantized_relu_infer(op):
    x = op._inputs[0]
    _check_type(op, x, QUANTIZED_TYPES, "features")
    _check_float_scalars(op, 1)
    if op._attrs["out_type"] is not x.dtype:
        raise TypeError("%s has kernels for out_type == Tinput only, got %s -> %s"
                        % (op.type, x.dtype.name, op._attrs["out_type"].name))
    return _ranges_out(x.dtype, x._shape)


def _quantized_relu_kernel(op, ctx):
    dt = op._inputs[0].dtype
    kind = op._op_def.name

    def quantized_relu(x, vmin, vmax, *cap):
        lo, hi = _range(vmin, vmax, "features")
        zero = float_to_quantized(0.0, lo, hi, dt)
        y = np.maximum(x, zero)
        if kind != "QuantizedRelu":
            top = 6.0 if kind == "QuantizedRelu6" else _scalar(cap[0], "max_value")
            y = np.minimum(y, float_to_quantized(top, lo, hi, dt))
        return y.astype(dt.np), _f32(lo), _f32(hi)
    return quantized_relu


for _name in ("QuantizedRelu", "QuantizedRelu6"):
    register_op(_name, infer=_quantized_relu_infer, kernel=_quantized_relu_kernel,
                grad=NOT_DIFFERENTIABLE, doc="relu on quantized levels (range unchanged)")


def _quantized_relu_x_infer(op):
    x = op._inputs[0]
    _check_type(op, x, QUANTIZED_TYPES, "features")
    _check_float_scalars(op, 1)
    return _ranges_out(x.dtype, x._shape)


register_op("QuantizedReluX", infer=_quantized_relu_x_infer,
            kernel=lambda op, ctx: (lambda f: (lambda x, cap, lo, hi: f(x, lo, hi, cap)))(
                _quantized_relu_kernel(op, ctx)),
            grad=NOT_DIFFERENTIABLE, doc="min(max(x, 0), max_value) on quantized levels")


def quantized_relu(features, min_features, max_features, out_type=dtypes.quint8, name=None):
    """``max(features, 0)`` on quantized levels; the range is unchanged (TF's QuantizedRelu)."""
    return list(core.op("QuantizedRelu", _q_inputs([features, min_features, max_features], 1),
                        {"out_type": _q_dtype(out_type, "out_type")}, name=name)._outputs)


def quantized_relu6(features, min_features, max_features, out_type=dtypes.quint8, name=None):
    """``min(max(features, 0), 6)`` on quantized levels (TF's QuantizedRelu6)."""
    return list(core.op("QuantizedRelu6", _q_inputs([features, min_features, max_features], 1),
                        {"out_type": _q_dtype(out_type, "out_type")}, name=name)._outputs)


def quantized_relu_x(features, max_value, min_features, max_features, out_type=dtypes.quint8,
                     name=None):
    """``min(max(features, 0), max_value)`` on quantized levels (TF's QuantizedReluX)."""
    return list(core.op("QuantizedReluX",
                        _q_inputs([features, max_value, min_features, max_features], 1),
                        {"out_type": _q_dtype(out_type, "out_type")}, name=name)._outputs)


# ----------------------------------------------------------------------------------------------
# QuantizedAdd / QuantizedBiasAdd: both operands mapped into one int32 range, then added
# ----------------------------------------------------------------------------------------------
def _dequantized_levels(q, lo, hi, dt):
    """``quantized_to_float`` of an 8/16-bit tensor through a table of its levels (float64)."""
    if dt.size > 2:
        return quantized_to_float(q, lo, hi, dt)
    table = quantized_to_float(np.arange(dt.min, dt.max + 1), lo, hi, dt)
    return table[q.astype(np.intp) - dt.min] if dt.min else table[q]


def _round_away_inplace(v):
    """:func:`_round_away` of a float64 array, reusing its buffer."""
    sign = np.signbit(v)
    np.abs(v, out=v)
    v += 0.5
    np.floor(v, out=v)
    np.negative(v, out=v, where=sign)
    return v


def _levels_in(q, lo, hi, dt, out_lo, out_hi, dt_out):
    """TF's linear map of ``dt`` levels into the levels of another range (int64)."""
    z0 = quantized_to_float(0, lo, hi, dt)
    z1 = quantized_to_float(1, lo, hi, dt)
    base = float_to_quantized_unclamped(z0, out_lo, out_hi, dt_out)
    mult = float_to_quantized_unclamped(z1, out_lo, out_hi, dt_out) - base
    return base + q.astype(np.int64) * mult


def _quantized_add_infer(op):
    x, y = op._inputs[:2]
    _check_type(op, x, QUANTIZED_TYPES, "x")
    _check_type(op, y, QUANTIZED_TYPES, "y")
    _check_float_scalars(op, 2)
    from .shape_rules import broadcast_shape
    return _ranges_out(op._attrs["Toutput"], broadcast_shape(x._shape, y._shape))


def _quantized_add_kernel(op, ctx):
    dtx, dty, dtz = op._inputs[0].dtype, op._inputs[1].dtype, op._attrs["Toutput"]
    bias = op._op_def.name == "QuantizedBiasAdd"

    def quantized_add(x, y, min_x, max_x, min_y, max_y):
        lo_x, hi_x = _range(min_x, max_x, "x", strict=True)
        lo_y, hi_y = _range(min_y, max_y, "y", strict=True)
        if bias:
            if y.ndim != 1 or x.shape[-1:] != y.shape:
                raise errors.InvalidArgumentError(None, None, "bias must be 1-D with the input's "
                                                  "last dimension, got %s and %s"
                                                  % (list(x.shape), list(y.shape)))
            hi_z = np.float32(max(hi_x, -lo_x, hi_y, -lo_y) * (1 << 17))
        else:
            big = max(abs(min(lo_x, lo_y)), abs(max(hi_x, hi_y)))
            hi_z = np.float32(big * (1 << 14))
        lo_z = -hi_z
        if bias:  # each value dequantized, then both summed in the output's levels
            steps = _steps(dtz)
            scale = (steps - 1.0) / (float(hi_z) - float(lo_z))
            total = _dequantized_levels(x, lo_x, hi_x, dtx)
            total += quantized_to_float(y, lo_y, hi_y, dty)
            total *= scale
            z = _round_away_inplace(total).astype(np.int64)
            z += int(dtz.min - _round_away(float(lo_z) * scale))
        else:  # TF's linear map of each operand's levels into the output's
            z = _levels_in(x, lo_x, hi_x, dtx, lo_z, hi_z, dtz) + \
                _levels_in(y, lo_y, hi_y, dty, lo_z, hi_z, dtz)
        return np.clip(z, dtz.min, dtz.max).astype(dtz.np), _f32(lo_z), _f32(hi_z)
    return quantized_add


register_op("QuantizedAdd", infer=_quantized_add_infer, kernel=_quantized_add_kernel,
            grad=NOT_DIFFERENTIABLE, doc="x + y of quantized tensors, in a shared int32 range")
def _quantized_bias_add_infer(op):
    _quantized_add_infer(op)
    return _ranges_out(op._attrs["Toutput"], op._inputs[0]._shape)


register_op("QuantizedBiasAdd", infer=_quantized_bias_add_infer,
            kernel=_quantized_add_kernel, grad=NOT_DIFFERENTIABLE,
            doc="input + bias (last dimension) of quantized tensors")


def quantized_add(x, y, min_x, max_x, min_y, max_y, Toutput=dtypes.qint32, name=None):
    """``x + y`` of quantized tensors (broadcasting), as qint32 (TF's QuantizedAdd)."""
    return list(core.op("QuantizedAdd", _q_inputs([x, y, min_x, max_x, min_y, max_y]),
                        {"Toutput": _q_dtype(Toutput, "Toutput")}, name=name)._outputs)


def quantized_bias_add(input, bias, min_input, max_input, min_bias, max_bias,  # noqa: A002
                       out_type=dtypes.qint32, name=None):
    """``input + bias`` of quantized tensors, as qint32 (TF's QuantizedBiasAdd)."""
    return list(core.op("QuantizedBiasAdd",
                        _q_inputs([input, bias, min_input, max_input, min_bias, max_bias]),
                        {"Toutput": _q_dtype(out_type, "out_type")}, name=name)._outputs)


# ----------------------------------------------------------------------------------------------
# QuantizedMaxPool / QuantizedAvgPool (levels are monotonic in the float values)
# ----------------------------------------------------------------------------------------------
def _quantized_pool_infer(op):
    from . import pool_ops
    x = op._inputs[0]
    _check_type(op, x, QUANTIZED_TYPES, "input")
    _check_float_scalars(op, 1)
    a = op._attrs
    for key in ("ksize", "strides"):
        if len(a[key]) != 4 or a[key][0] != 1 or a[key][3] != 1:
            raise ValueError("%s %s must be [1, h, w, 1], got %s" % (op.type, key, list(a[key])))
    if a["padding"] not in ("SAME", "VALID"):
        raise ValueError("padding must be SAME or VALID, got %r" % (a["padding"],))
    xs = x._shape.as_tuple()
    if xs is None:
        return _ranges_out(x.dtype, unknown_shape(4))
    if len(xs) != 4:
        raise ValueError("%s takes a 4-D NHWC input, got shape %s" % (op.type, x._shape))
    ho, wo = pool_ops._pool_out_dims(dict(a, data_format="NHWC"), xs)
    return _ranges_out(x.dtype, TensorShape([xs[0], ho, wo, xs[3]]))


def _quantized_pool_kernel(op, ctx):
    from . import pool_ops
    a = op._attrs
    k, s, padding = tuple(a["ksize"][1:3]), tuple(a["strides"][1:3]), a["padding"]
    avg = op._op_def.name == "QuantizedAvgPool"
    dt = op._inputs[0].dtype

    def quantized_pool(x, vmin, vmax):
        lo, hi = _range(vmin, vmax, "input")
        if avg:
            y = _round_away(pool_ops._avg_pool_nhwc(np, x.astype(np.float64), k, s, padding))
            y = np.clip(y, dt.min, dt.max).astype(dt.np)
        else:
            y = pool_ops._max_pool_nhwc(np, x, k, s, padding)
        return y, _f32(lo), _f32(hi)
    return quantized_pool


for _name in ("QuantizedMaxPool", "QuantizedAvgPool"):
    register_op(_name, infer=_quantized_pool_infer, kernel=_quantized_pool_kernel,
                grad=NOT_DIFFERENTIABLE, doc="pooling on quantized levels (range unchanged)")


def _pool(kind, input, min_input, max_input, ksize, strides, padding, name):  # noqa: A002
    attrs = {"ksize": list(ksize), "strides": list(strides),
             "padding": padding.decode() if isinstance(padding, bytes) else padding}
    return list(core.op(kind, _q_inputs([input, min_input, max_input], 1), attrs,
                        name=name)._outputs)


def quantized_max_pool(input, min_input, max_input, ksize, strides, padding,  # noqa: A002
                       name=None):
    """Max pooling (NHWC) of quantized levels (TF's QuantizedMaxPool)."""
    return _pool("QuantizedMaxPool", input, min_input, max_input, ksize, strides, padding, name)


def quantized_avg_pool(input, min_input, max_input, ksize, strides, padding,  # noqa: A002
                       name=None):
    """Average pooling (NHWC) of quantized levels, rounded (TF's QuantizedAvgPool)."""
    return _pool("QuantizedAvgPool", input, min_input, max_input, ksize, strides, padding, name)


# ----------------------------------------------------------------------------------------------
# Requantize / RequantizationRange
# ----------------------------------------------------------------------------------------------
def _requantize_infer(op):
    x = op._inputs[0]
    _check_type(op, x, QUANTIZED_TYPES, "input")
    _check_float_scalars(op, 1)
    return _ranges_out(op._attrs["out_type"], x._shape)


def _requantize_kernel(op, ctx):
    dt_in, dt_out = op._inputs[0].dtype, op._attrs["out_type"]

    def requantize_(q, in_min, in_max, req_min, req_max):
        lo, hi = _range(in_min, in_max, "input")
        rlo, rhi = _scalar(req_min, "requested_output_min"), _scalar(req_max,
                                                                    "requested_output_max")
        if rlo > 0.0:
            raise errors.InvalidArgumentError(
                None, None, "requested_output_min must be <= 0, but got %g" % rlo)
        if rhi < rlo:
            raise errors.InvalidArgumentError(
                None, None, "requested_output_max must be >= requested_output_min, but got %g "
                "and %g" % (rhi, rlo))
        y = requantize_many(q, lo, hi, dt_in, rlo, rhi, dt_out)
        return y, _f32(rlo), _f32(rhi)
    return requantize_


register_op("Requantize", infer=_requantize_infer, kernel=_requantize_kernel,
            grad=NOT_DIFFERENTIABLE, doc="levels of one range -> levels of a requested range")


def requantize(input, input_min, input_max,  # noqa: A002
               requested_output_min, requested_output_max,
               out_type, name=None):
    """Maps quantized ``input`` (usually qint32) into ``[requested_output_min,
    requested_output_max]`` with type ``out_type`` (TF's Requantize)."""
    return list(core.op("Requantize", _q_inputs([input, input_min, input_max,
                                                 requested_output_min, requested_output_max], 1),
                        {"out_type": _q_dtype(out_type, "out_type")}, name=name)._outputs)


def _requantization_range_kernel(op, ctx):
    dt = op._inputs[0].dtype

    def requantization_range(q, vmin, vmax):
        lo, hi = _range(vmin, vmax, "input")
        if q.size == 0:
            return _f32(0.0), _f32(0.0)
        used = quantized_to_float(np.array([q.min(), q.max()]), lo, hi, dt)
        return _f32(used[0]), _f32(used[1])
    return requantization_range


def _requantization_range_infer(op):
    _check_type(op, op._inputs[0], QUANTIZED_TYPES, "input")
    _check_float_scalars(op, 1)
    return [(dtypes.float32, _SCALAR)] * 2


register_op("RequantizationRange", infer=_requantization_range_infer,
            kernel=_requantization_range_kernel, grad=NOT_DIFFERENTIABLE,
            doc="the float range the levels of a quantized tensor actually use")


def requantization_range(input, input_min, input_max, name=None):  # noqa: A002
    """(output_min, output_max): the range ``input``'s levels use (TF's RequantizationRange)."""
    return list(core.op("RequantizationRange", _q_inputs([input, input_min, input_max], 1), {},
                        name=name)._outputs)


# ----------------------------------------------------------------------------------------------
# Fake quantization (quantization-aware training)
# ----------------------------------------------------------------------------------------------
def _quant_limits(num_bits, narrow_range):
    return (1 if narrow_range else 0), (1 << num_bits) - 1


def nudge(vmin, vmax, num_bits, narrow_range):
    """TF's Nudge: (nudged_min, nudged_max, scale) in float32, so 0.0 is a level exactly."""
    qmin, qmax = _quant_limits(num_bits, narrow_range)
    vmin, vmax = np.float32(vmin), np.float32(vmax)
    qmin_f, qmax_f = np.float32(qmin), np.float32(qmax)
    scale = (vmax - vmin) / (qmax_f - qmin_f)
    zero_from_min = qmin_f - vmin / scale
    if zero_from_min < qmin_f:
        zero = qmin
    elif zero_from_min > qmax_f:
        zero = qmax
    else:
        zero = int(_round_away(zero_from_min))
    zero = np.float32(zero)
    return (qmin_f - zero) * scale, (qmax_f - zero) * scale, scale


def _fake_quant(x, nmin, nmax, scale):
    clamped = np.minimum(np.maximum(x, nmin), nmax)
    inv = np.float32(1.0) / scale
    return (np.floor((clamped - nmin) * inv + np.float32(0.5)) * scale + nmin).astype(np.float32)


def _check_bits(num_bits, narrow_range):
    if isinstance(num_bits, bool) or not isinstance(num_bits, (int, np.integer)) or \
            not 2 <= num_bits <= 16:
        raise ValueError("num_bits must be between 2 and 16, inclusive, got %r" % (num_bits,))
    return {"num_bits": int(num_bits), "narrow_range": bool(narrow_range)}


def _fq_range(vmin, vmax):
    lo, hi = float(vmin), float(vmax)
    if not lo < hi:
        raise errors.InvalidArgumentError(
            None, None, "min has to be smaller than max, was: %g >= %g" % (lo, hi))
    return lo, hi


def _float_input(op, t, what="inputs"):
    if t.dtype is not dtypes.float32:
        raise TypeError("%s of %s must be float32, got %s" % (what, op.type, t.dtype.name))


def _fq_args_infer(op):
    _float_input(op, op._inputs[0])
    return [(dtypes.float32, op._inputs[0]._shape)]


def _fq_args_kernel(op, ctx):
    a = op._attrs

    def fake_quant_args(x):
        nmin, nmax, scale = nudge(*_fq_range(a["min"], a["max"]), a["num_bits"],
                                  a["narrow_range"])
        return _fake_quant(_f32(x), nmin, nmax, scale)
    return fake_quant_args


def _fq_args_grad_kernel(op, ctx):
    a = op._attrs

    def fake_quant_args_gradient(g, x):
        nmin, nmax, _ = nudge(*_fq_range(a["min"], a["max"]), a["num_bits"], a["narrow_range"])
        return (g * ((x >= nmin) & (x <= nmax))).astype(np.float32)
    return fake_quant_args_gradient


def _fq_args_attrs(op):
    return {k: op._attrs[k] for k in ("min", "max", "num_bits", "narrow_range")}


register_op("FakeQuantWithMinMaxArgs", infer=_fq_args_infer, kernel=_fq_args_kernel,
            grad=lambda op, g: [core.out("FakeQuantWithMinMaxArgsGradient",
                                         [g, op._inputs[0]], _fq_args_attrs(op))],
            doc="quantize-dequantize to num_bits levels of the nudged [min, max]")
def _fq_args_grad_infer(op):
    _float_input(op, op._inputs[0], "gradients")
    _float_input(op, op._inputs[1])
    return [(dtypes.float32, op._inputs[1]._shape)]


register_op("FakeQuantWithMinMaxArgsGradient", infer=_fq_args_grad_infer,
            kernel=_fq_args_grad_kernel, grad=NOT_DIFFERENTIABLE,
            doc="gradients where the input lies inside the nudged range, else 0")


def fake_quant_with_min_max_args(inputs, min=-6.0, max=6.0, num_bits=8,  # noqa: A002
                                 narrow_range=False, name=None):
    """Quantizes and dequantizes ``inputs`` for the fixed range [min, max] (nudged so 0.0 is
    a level); the gradient passes where the input is inside the range.

    Example:
        >>> tf.fake_quant_with_min_max_args([0.1, 7.0], min=0.0, max=6.0)  # [0.0941, 6.0]
    """
    attrs = dict(_check_bits(num_bits, narrow_range), min=float(min), max=float(max))
    return core.out("FakeQuantWithMinMaxArgs",
                    [convert_to_tensor(inputs, dtype=dtypes.float32)], attrs, name=name)


def fake_quant_with_min_max_args_gradient(gradients, inputs, min=-6.0, max=6.0,  # noqa: A002
                                          num_bits=8, narrow_range=False, name=None):
    """The gradient of :func:`fake_quant_with_min_max_args` (TF's op of that name)."""
    attrs = dict(_check_bits(num_bits, narrow_range), min=float(min), max=float(max))
    return core.out("FakeQuantWithMinMaxArgsGradient",
                    [convert_to_tensor(gradients, dtype=dtypes.float32),
                     convert_to_tensor(inputs, dtype=dtypes.float32)], attrs, name=name)


def _per_channel_ranges(x, vmin, vmax, per_channel):
    vmin, vmax = _f32(vmin), _f32(vmax)
    if per_channel:
        d = x.shape[-1] if x.ndim else None
        if vmin.shape != (d,) or vmax.shape != (d,):
            raise errors.InvalidArgumentError(
                None, None, "min and max must have the shape of the inputs' last dimension "
                "[%s], got %s and %s" % (d, list(vmin.shape), list(vmax.shape)))
        return list(zip(vmin.tolist(), vmax.tolist()))
    return [(_scalar(vmin, "min"), _scalar(vmax, "max"))]


def _nudged(x, vmin, vmax, a, per_channel):
    """(nudged_min, nudged_max, scale) arrays broadcasting against ``x``."""
    ranges = [nudge(*_fq_range(lo, hi), a["num_bits"], a["narrow_range"])
              for lo, hi in _per_channel_ranges(x, vmin, vmax, per_channel)]
    cols = [np.array(c, np.float32) for c in zip(*ranges)]
    return cols if per_channel else [c.reshape(()) for c in cols]


def _fq_vars_infer(op):
    _float_input(op, op._inputs[0])
    for t in op._inputs[1:3]:
        _float_input(op, t, "min/max")
    per_channel = op._op_def.name.endswith("PerChannel")
    want = 1 if per_channel else 0
    for t in op._inputs[1:3]:
        if t._shape.ndims is not None and t._shape.ndims != want:
            raise ValueError("%s: min and max must be %s, got shape %s" % (
                op.type, "1-D" if per_channel else "scalars", t._shape))
    return [(dtypes.float32, op._inputs[0]._shape)]


def _fq_vars_kernel(op, ctx):
    a = op._attrs
    per_channel = op._op_def.name.endswith("PerChannel")

    def fake_quant_vars(x, vmin, vmax):
        x = _f32(x)
        nmin, nmax, scale = _nudged(x, vmin, vmax, a, per_channel)
        return _fake_quant(x, nmin, nmax, scale)
    return fake_quant_vars


def _fq_vars_grad_kernel(op, ctx):
    a = op._attrs
    per_channel = op._op_def.name.startswith("FakeQuantWithMinMaxVarsPerChannel")

    def fake_quant_vars_gradient(g, x, vmin, vmax):
        g, x = _f32(g), _f32(x)
        nmin, nmax, _ = _nudged(x, vmin, vmax, a, per_channel)
        below, above = x < nmin, x > nmax
        axes = tuple(range(x.ndim - 1)) if per_channel else None
        d_x = np.where(below | above, np.float32(0), g).astype(np.float32)
        d_min = np.sum(np.where(below, g, np.float32(0)), axis=axes, dtype=np.float32)
        d_max = np.sum(np.where(above, g, np.float32(0)), axis=axes, dtype=np.float32)
        return d_x, _f32(d_min), _f32(d_max)
    return fake_quant_vars_gradient


def _fq_vars_grad_infer(op):
    for t in op._inputs:
        _float_input(op, t)
    x = op._inputs[1]
    return [(dtypes.float32, x._shape), (dtypes.float32, op._inputs[2]._shape),
            (dtypes.float32, op._inputs[3]._shape)]


def _fq_bits_attrs(op):
    return {"num_bits": op._attrs["num_bits"], "narrow_range": op._attrs["narrow_range"]}


for _name in ("FakeQuantWithMinMaxVars", "FakeQuantWithMinMaxVarsPerChannel"):
    register_op(_name, infer=_fq_vars_infer, kernel=_fq_vars_kernel,
                grad=(lambda grad_name: lambda op, g: core.op(
                    grad_name, [g] + list(op._inputs), _fq_bits_attrs(op)).outputs)(
                        _name + "Gradient"),
                doc="quantize-dequantize to num_bits levels of the nudged [min, max] inputs")
    register_op(_name + "Gradient", infer=_fq_vars_grad_infer, kernel=_fq_vars_grad_kernel,
                grad=NOT_DIFFERENTIABLE,
                doc="gradients wrt inputs (inside the range), min (below) and max (above)")


def _fq_vars(kind, inputs, min, max, num_bits, narrow_range, name):  # noqa: A002
    ins = [convert_to_tensor(v, dtype=dtypes.float32) for v in (inputs, min, max)]
    return core.out(kind, ins, _check_bits(num_bits, narrow_range), name=name)


def fake_quant_with_min_max_vars(inputs, min, max, num_bits=8, narrow_range=False,  # noqa: A002
                                 name=None):
    """Fake quantization with the range given by scalar tensors (usually variables trained
    with the model): gradients flow to ``inputs`` inside the nudged range, to ``min`` from
    inputs below it and to ``max`` from inputs above it."""
    return _fq_vars("FakeQuantWithMinMaxVars", inputs, min, max, num_bits, narrow_range, name)


def fake_quant_with_min_max_vars_per_channel(inputs, min, max, num_bits=8,  # noqa: A002
                                             narrow_range=False, name=None):
    """Fake quantization with one range per channel (last dimension; ``min``/``max`` 1-D)."""
    return _fq_vars("FakeQuantWithMinMaxVarsPerChannel", inputs, min, max, num_bits,
                    narrow_range, name)


def _fq_vars_gradient(kind, gradients, inputs, min, max,  # noqa: A002
                      num_bits, narrow_range, name):
    ins = [convert_to_tensor(v, dtype=dtypes.float32) for v in (gradients, inputs, min, max)]
    return list(core.op(kind, ins, _check_bits(num_bits, narrow_range), name=name)._outputs)


def fake_quant_with_min_max_vars_gradient(gradients, inputs, min, max, num_bits=8,  # noqa: A002
                                          narrow_range=False, name=None):
    """(backprops_wrt_input, backprop_wrt_min, backprop_wrt_max) of fake_quant_with_min_max_vars."""
    return _fq_vars_gradient("FakeQuantWithMinMaxVarsGradient", gradients, inputs, min, max,
                             num_bits, narrow_range, name)


def fake_quant_with_min_max_vars_per_channel_gradient(gradients, inputs, min, max,  # noqa: A002
                                                      num_bits=8, narrow_range=False, name=None):
    """The per-channel version of :func:`fake_quant_with_min_max_vars_gradient`."""
    return _fq_vars_gradient("FakeQuantWithMinMaxVarsPerChannelGradient", gradients, inputs,
                             min, max, num_bits, narrow_range, name)
