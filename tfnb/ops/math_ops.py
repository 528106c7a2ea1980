"""Math ops: elementwise arithmetic, comparisons, reductions, matmul, casts.

Each op is one block: registration (shape/dtype rule, kernel, gradient) and the
user-facing function beside it. Binary ops broadcast like NumPy; their
gradients are written for same-shaped operands and the gradients driver sums
them back to each input's shape.
"""
import math

import numpy as np

from ..framework import dtypes
from ..framework.graph import Tensor
from ..framework.registry import NOT_DIFFERENTIABLE, register_op, xp_kernel
from ..framework.tensor_shape import TensorShape, unknown_shape
from . import core
from .core import convert_to_tensor, out
from .shape_rules import (BOOL, FLOATS, FLOATS_COMPLEX, INDEX, INTEGERS, NUMERIC, REAL, SIGNED,
                          broadcast_shape, check_dtype, normalize_axes, reduced_shape, same_dtypes)

__all__ = [
    "add", "subtract", "multiply", "divide", "truediv", "realdiv", "floordiv", "floor_div", "div",
    "mod", "floormod", "truncatemod", "pow", "maximum", "minimum", "squared_difference", "negative",
    "abs", "sign", "square", "sqrt", "rsqrt", "exp", "log", "log1p", "expm1", "sin", "cos", "tan",
    "asin", "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "erf", "erfc", "reciprocal", "round",
    "floor", "ceil", "rint", "is_nan", "is_inf", "is_finite", "lgamma", "digamma", "atan2",
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
    "logical_or", "logical_not", "logical_xor", "cast", "to_float", "to_int32", "to_int64",
    "to_double", "saturate_cast", "add_n", "accumulate_n", "matmul", "reduce_sum", "reduce_mean",
    "reduce_max", "reduce_min", "reduce_prod", "reduce_any", "reduce_all", "reduce_logsumexp",
    "argmax", "argmin", "cumsum", "cumprod", "where", "where_v2", "clip_by_value", "tensordot",
    "einsum", "scalar_mul", "count_nonzero", "div_no_nan", "sum_to_shape_of", "broadcast_like",
    "log_sigmoid", "reduce_euclidean_norm", "conj", "real", "imag",
]



# ----------------------------------------------------------------------------------------------
# Registration helpers for the many one-line elementwise ops
# ----------------------------------------------------------------------------------------------
def _unary_infer(allowed, out_dtype=None):
    def infer(op):
        x = op._inputs[0]
        check_dtype(op, x, allowed)
        return [(out_dtype or x.dtype, x._shape)]
    return infer


def _binary_infer(allowed, out_dtype=None):
    def infer(op):
        d = same_dtypes(op)
        check_dtype(op, op._inputs[0], allowed)
        return [(out_dtype or d, broadcast_shape(op._inputs[0]._shape, op._inputs[1]._shape))]
    return infer


def _unary(name, fn_name, allowed, grad, out_dtype=None, kernel=None):
    register_op(name, infer=_unary_infer(allowed, out_dtype), kernel=kernel or xp_kernel(fn_name),
                grad=grad)

    def wrapper(x, name=None):
        return out(name_, [convert_to_tensor(x)], name=name)
    name_ = name
    return wrapper


def _binary(name, fn_name, allowed, grad, out_dtype=None, kernel=None):
    register_op(name, infer=_binary_infer(allowed, out_dtype), kernel=kernel or xp_kernel(fn_name),
                grad=grad, broadcasting=grad is not NOT_DIFFERENTIABLE)

    def wrapper(x, y, name=None):
        x, y = core.convert_binary(x, y)
        return out(op_type, [x, y], name=name)
    op_type = name
    return wrapper


# ----------------------------------------------------------------------------------------------
# Binary arithmetic
# ----------------------------------------------------------------------------------------------
add = _binary("Add", "add", NUMERIC | {dtypes.string}, lambda op, g: [g, g],
              kernel=lambda op, ctx: (ctx.xp.add if op._inputs[0].dtype is not dtypes.string
                                      else _string_add))
subtract = _binary("Sub", "subtract", NUMERIC, lambda op, g: [g, -g])
multiply = _binary("Mul", "multiply", NUMERIC,
                   lambda op, g: [g * op._inputs[1], g * op._inputs[0]])
realdiv = _binary("RealDiv", "true_divide", FLOATS_COMPLEX,
                  lambda op, g: [g / op._inputs[1],
                                 -g * op._inputs[0] / square(op._inputs[1])])
floordiv = floor_div = _binary("FloorDiv", "floor_divide", REAL, NOT_DIFFERENTIABLE)
floormod = mod = _binary("FloorMod", "mod", REAL,
                         lambda op, g: [g, -g * floor(op._inputs[0] / op._inputs[1])
                                        if op._inputs[0].dtype.is_floating else None])
truncatemod = _binary("TruncateMod", "fmod", REAL, NOT_DIFFERENTIABLE)
maximum = _binary("Maximum", "maximum", REAL,
                  lambda op, g: _select_grads(op, g, greater_equal(op._inputs[0], op._inputs[1])))
minimum = _binary("Minimum", "minimum", REAL,
                  lambda op, g: _select_grads(op, g, less_equal(op._inputs[0], op._inputs[1])))
atan2 = _binary("Atan2", "arctan2", FLOATS,
                lambda op, g: _atan2_grad(op, g))


def _string_add(a, b):
    return np.char.add(a.astype(bytes), b.astype(bytes)).astype(object)


def _select_grads(op, g, mask):
    z = zeros_like_t(g)
    return [where(mask, g, z), where(mask, z, g)]


def zeros_like_t(t):
    from .array_ops import zeros_like
    return zeros_like(t)


def _atan2_grad(op, g):
    y, x = op._inputs
    d = g / (square(x) + square(y))
    return [d * x, -d * y]


def _pow_kernel(op, ctx):
    xp = ctx.xp
    if op._inputs[0].dtype.is_integer:
        def ipow(x, y):
            if xp.any(xp.asarray(y) < 0):
                raise ValueError("Integers to negative integer powers are not allowed")
            return xp.power(x, y)
        return ipow
    return xp.power


def _pow_grad(op, g):
    x, y = op._inputs
    z = op._outputs[0]
    gx = g * y * pow(x, y - 1.0) if x.dtype.is_floating else g * y * pow(x, y - 1)
    safe_log = where(x > 0, log(where(x > 0, x, ones_like_t(x))), zeros_like_t(x))
    gy = g * z * safe_log
    return [gx, gy]


def ones_like_t(t):
    from .array_ops import ones_like
    return ones_like(t)


pow = _binary("Pow", "power", NUMERIC, _pow_grad, kernel=_pow_kernel)  # noqa: A001 - TF1 name


def _sqdiff_grad(op, g):
    d = (op._inputs[0] - op._inputs[1]) * (2.0 if op._inputs[0].dtype.is_floating else 2)
    return [g * d, -(g * d)]


squared_difference = _binary("SquaredDifference", None, NUMERIC, _sqdiff_grad,
                             kernel=lambda op, ctx: lambda x, y: ctx.xp.square(ctx.xp.subtract(x, y)))


def truediv(x, y, name=None):
    """``x / y``; integers are first cast to float (int32 -> float64, as in TF1)."""
    x, y = core.convert_binary(x, y)
    dt = dtypes.TRUEDIV_RESULT.get(x.dtype)
    if dt is not None:
        x, y = cast(x, dt), cast(y, dt)
    return out("RealDiv", [x, y], name=name or "truediv")


def divide(x, y, name=None):
    """``x / y`` (Python 3 division; same as ``truediv``)."""
    return truediv(x, y, name=name or "truediv")


def div(x, y, name=None):
    """TF1 ``tf.div``: floor division for integers, real division for floats."""
    x, y = core.convert_binary(x, y)
    if x.dtype.is_integer:
        return floordiv(x, y, name=name)
    return out("RealDiv", [x, y], name=name)


def div_no_nan(x, y, name=None):
    x, y = core.convert_binary(x, y)
    safe = where(equal(y, 0), ones_like_t(y), y)
    return where(equal(y, 0), zeros_like_t(x * y), x / safe, name=name)


def scalar_mul(scalar, x, name=None):
    return multiply(scalar, x, name=name)


# ----------------------------------------------------------------------------------------------
# Comparisons and logic
# ----------------------------------------------------------------------------------------------
_ALL_CMP = NUMERIC | BOOL | {dtypes.string}
equal = _binary("Equal", "equal", _ALL_CMP, NOT_DIFFERENTIABLE, out_dtype=dtypes.bool_)
not_equal = _binary("NotEqual", "not_equal", _ALL_CMP, NOT_DIFFERENTIABLE, out_dtype=dtypes.bool_)
less = _binary("Less", "less", REAL, NOT_DIFFERENTIABLE, out_dtype=dtypes.bool_)
less_equal = _binary("LessEqual", "less_equal", REAL, NOT_DIFFERENTIABLE, out_dtype=dtypes.bool_)
greater = _binary("Greater", "greater", REAL, NOT_DIFFERENTIABLE, out_dtype=dtypes.bool_)
greater_equal = _binary("GreaterEqual", "greater_equal", REAL, NOT_DIFFERENTIABLE,
                        out_dtype=dtypes.bool_)
logical_and = _binary("LogicalAnd", "logical_and", BOOL, NOT_DIFFERENTIABLE)
logical_or = _binary("LogicalOr", "logical_or", BOOL, NOT_DIFFERENTIABLE)
logical_not = _unary("LogicalNot", "logical_not", BOOL, NOT_DIFFERENTIABLE)


def logical_xor(x, y, name="LogicalXor"):
    return logical_and(logical_or(x, y), logical_not(logical_and(x, y)), name=name)


# ----------------------------------------------------------------------------------------------
# Unary math
# ----------------------------------------------------------------------------------------------
negative = _unary("Neg", "negative", SIGNED, lambda op, g: [-g])
abs = _unary("Abs", "abs", SIGNED, lambda op, g: [g * sign(op._inputs[0])])  # noqa: A001
sign = _unary("Sign", "sign", SIGNED, lambda op, g: [zeros_like_t(op._inputs[0])])
square = _unary("Square", "square", NUMERIC,
                lambda op, g: [g * (op._inputs[0] * (2.0 if op._inputs[0].dtype.is_floating else 2))])
sqrt = _unary("Sqrt", "sqrt", FLOATS_COMPLEX, lambda op, g: [g * 0.5 / op._outputs[0]])
rsqrt = _unary("Rsqrt", None, FLOATS_COMPLEX,
               lambda op, g: [g * -0.5 * op._outputs[0] * square(op._outputs[0])],
               kernel=lambda op, ctx: lambda x: ctx.xp.reciprocal(ctx.xp.sqrt(x)))
exp = _unary("Exp", "exp", FLOATS_COMPLEX, lambda op, g: [g * op._outputs[0]])
log = _unary("Log", "log", FLOATS_COMPLEX, lambda op, g: [g / op._inputs[0]])
log1p = _unary("Log1p", "log1p", FLOATS_COMPLEX, lambda op, g: [g / (1.0 + op._inputs[0])])
expm1 = _unary("Expm1", "expm1", FLOATS_COMPLEX, lambda op, g: [g * (op._outputs[0] + 1.0)])
sin = _unary("Sin", "sin", FLOATS_COMPLEX, lambda op, g: [g * cos(op._inputs[0])])
cos = _unary("Cos", "cos", FLOATS_COMPLEX, lambda op, g: [-g * sin(op._inputs[0])])
tan = _unary("Tan", "tan", FLOATS_COMPLEX,
             lambda op, g: [g * (1.0 + square(op._outputs[0]))])
asin = _unary("Asin", "arcsin", FLOATS, lambda op, g: [g * rsqrt(1.0 - square(op._inputs[0]))])
acos = _unary("Acos", "arccos", FLOATS, lambda op, g: [-g * rsqrt(1.0 - square(op._inputs[0]))])
atan = _unary("Atan", "arctan", FLOATS, lambda op, g: [g / (1.0 + square(op._inputs[0]))])
sinh = _unary("Sinh", "sinh", FLOATS, lambda op, g: [g * cosh(op._inputs[0])])
cosh = _unary("Cosh", "cosh", FLOATS, lambda op, g: [g * sinh(op._inputs[0])])
reciprocal = _unary("Reciprocal", "reciprocal", FLOATS_COMPLEX,
                    lambda op, g: [-g * square(op._outputs[0])])
round = _unary("Round", "round", NUMERIC, lambda op, g: [zeros_like_t(op._inputs[0])],  # noqa: A001
               kernel=lambda op, ctx: (ctx.xp.round if op._inputs[0].dtype.is_floating
                                       else (lambda x: x)))
rint = _unary("Rint", "rint", FLOATS, lambda op, g: [zeros_like_t(op._inputs[0])])
floor = _unary("Floor", "floor", FLOATS, lambda op, g: [zeros_like_t(op._inputs[0])])
ceil = _unary("Ceil", "ceil", FLOATS, lambda op, g: [zeros_like_t(op._inputs[0])])
is_nan = _unary("IsNan", "isnan", FLOATS, NOT_DIFFERENTIABLE, out_dtype=dtypes.bool_)
is_inf = _unary("IsInf", "isinf", FLOATS, NOT_DIFFERENTIABLE, out_dtype=dtypes.bool_)
is_finite = _unary("IsFinite", "isfinite", FLOATS, NOT_DIFFERENTIABLE, out_dtype=dtypes.bool_)


def _erf_kernel(op, ctx):
    xp = ctx.xp
    try:  # scipy (or cupyx) when available: fast, vectorized
        if xp is np:
            from scipy.special import erf as _erf
        else:  # pragma: no cover - GPU path
            from cupyx.scipy.special import erf as _erf
        return _erf
    except ImportError:
        verf = np.vectorize(math.erf, otypes=[op._inputs[0].dtype.np])
        return lambda x: verf(x).astype(x.dtype) if hasattr(x, "dtype") else verf(x)


erf = _unary("Erf", None, FLOATS,
             lambda op, g: [g * (2.0 / math.sqrt(math.pi)) * exp(-square(op._inputs[0]))],
             kernel=_erf_kernel)


def erfc(x, name=None):
    return subtract(1.0, erf(x), name=name)


def _lgamma_kernel(op, ctx):
    v = np.vectorize(math.lgamma, otypes=[op._inputs[0].dtype.np])
    return lambda x: np.asarray(v(x), dtype=op._inputs[0].dtype.np)


lgamma = _unary("Lgamma", None, FLOATS, lambda op, g: [g * digamma(op._inputs[0])],
                kernel=_lgamma_kernel)


def _digamma_kernel(op, ctx):
    dt = op._inputs[0].dtype.np
    try:
        from scipy.special import digamma as _dg
        return lambda x: np.asarray(_dg(x), dtype=dt)
    except ImportError:
        def dg(x):  # asymptotic series after shifting x above 6
            x = np.asarray(x, dtype=np.float64)
            res = np.zeros_like(x)
            while np.any(x < 6):
                m = x < 6
                res[m] -= 1.0 / x[m]
                x = np.where(m, x + 1, x)
            f = 1.0 / (x * x)
            res += np.log(x) - 0.5 / x - f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (
                1 / 240 - f / 132))))
            return res.astype(dt)
        return dg


digamma = _unary("Digamma", None, FLOATS, NOT_DIFFERENTIABLE, kernel=_digamma_kernel)

# Fused gradient ops: one kernel instead of three for the common activations.
register_op("TanhGrad", infer=lambda op: [(op._inputs[0].dtype, op._inputs[0]._shape)],
            kernel=lambda op, ctx: lambda y, g: g * (1 - y * y),
            grad=lambda op, gg: [gg * -2.0 * op._inputs[1] * op._inputs[0],
                                 out("TanhGrad", [op._inputs[0], gg])])
register_op("SigmoidGrad", infer=lambda op: [(op._inputs[0].dtype, op._inputs[0]._shape)],
            kernel=lambda op, ctx: lambda y, g: g * (y * (1 - y)),
            grad=lambda op, gg: [gg * op._inputs[1] * (1.0 - 2.0 * op._inputs[0]),
                                 out("SigmoidGrad", [op._inputs[0], gg])])

tanh = _unary("Tanh", "tanh", FLOATS_COMPLEX,
              lambda op, g: [out("TanhGrad", [op._outputs[0], g])])


def _sigmoid_kernel(op, ctx):
    xp = ctx.xp

    def sigmoid_(x):
        # exp(-|x|) never overflows; pick the stable form per sign.
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return sigmoid_


sigmoid = _unary("Sigmoid", None, FLOATS_COMPLEX,
                 lambda op, g: [out("SigmoidGrad", [op._outputs[0], g])], kernel=_sigmoid_kernel)


def log_sigmoid(x, name=None):
    x = convert_to_tensor(x)
    return negative(softplus_t(-x), name=name)


def softplus_t(x):
    """log(1 + exp(x)) computed stably (shared with tf.nn.softplus)."""
    return out("Softplus", [x])


def _softplus_kernel(op, ctx):
    xp = ctx.xp
    return lambda x: xp.logaddexp(xp.zeros((), x.dtype), x)


register_op("Softplus", infer=_unary_infer(FLOATS), kernel=_softplus_kernel,
            grad=lambda op, g: [g * sigmoid(op._inputs[0])])


def conj(x, name=None):
    x = convert_to_tensor(x)
    return x if not x.dtype.is_complex else out("Conj", [x], name=name)


register_op("Conj", infer=_unary_infer(FLOATS_COMPLEX), kernel=xp_kernel("conj"),
            grad=lambda op, g: [conj(g)])


def real(x, name=None):
    x = convert_to_tensor(x)
    return x if not x.dtype.is_complex else cast(x, x.dtype.real_dtype, name=name)


def imag(x, name=None):
    x = convert_to_tensor(x)
    if not x.dtype.is_complex:
        return zeros_like_t(x)
    return out("Imag", [x], name=name)


register_op("Imag", infer=lambda op: [(op._inputs[0].dtype.real_dtype, op._inputs[0]._shape)],
            kernel=xp_kernel("imag"), grad=NOT_DIFFERENTIABLE)


# ----------------------------------------------------------------------------------------------
# Cast
# ----------------------------------------------------------------------------------------------
def _cast_kernel(op, ctx):
    dst = op._attrs["DstT"]
    npd = dst.np
    src = op._inputs[0].dtype
    xp = ctx.xp
    if dst is dtypes.bool_:
        return lambda x: xp.not_equal(x, 0)
    if src.is_floating and dst.is_integer:
        # C semantics: truncate toward zero, as TF does.
        return lambda x: xp.trunc(x).astype(npd)
    if dst is dtypes.string:
        return lambda x: np.asarray(x).astype(bytes).astype(object)
    return lambda x: xp.asarray(x).astype(npd)


def _cast_grad(op, g):
    src = op._inputs[0].dtype
    if src.is_differentiable and op._attrs["DstT"].is_differentiable:
        return [cast(g, src)]
    return [None]


register_op("Cast", infer=lambda op: [(op._attrs["DstT"], op._inputs[0]._shape)],
            kernel=_cast_kernel, grad=_cast_grad)


def cast(x, dtype, name=None):
    """Casts ``x`` to ``dtype`` (floats to ints truncate toward zero; nonzero -> True)."""
    dtype = dtypes.as_dtype(dtype)
    if isinstance(x, Tensor) or hasattr(x, "_dense_tensor"):
        x = convert_to_tensor(x)
    else:
        x = convert_to_tensor(x)
    if x.dtype is dtype:
        return x if name is None else out("Identity", [x], name=name)
    return out("Cast", [x], {"SrcT": x.dtype, "DstT": dtype}, name=name or "Cast")


def saturate_cast(value, dtype, name=None):
    value = convert_to_tensor(value)
    dtype = dtypes.as_dtype(dtype)
    if value.dtype.is_numeric and dtype.is_numeric and not dtype.is_complex:
        lo, hi = max(value.dtype.min, dtype.min), min(value.dtype.max, dtype.max)
        value = clip_by_value(value, lo, hi)
    return cast(value, dtype, name=name)


def to_float(x, name="ToFloat"):
    return cast(x, dtypes.float32, name=name)


def to_double(x, name="ToDouble"):
    return cast(x, dtypes.float64, name=name)


def to_int32(x, name="ToInt32"):
    return cast(x, dtypes.int32, name=name)


def to_int64(x, name="ToInt64"):
    return cast(x, dtypes.int64, name=name)


# ----------------------------------------------------------------------------------------------
# AddN
# ----------------------------------------------------------------------------------------------
def _add_n_infer(op):
    d = same_dtypes(op, tuple("inputs[%d]" % i for i in range(len(op._inputs))))
    check_dtype(op, op._inputs[0], NUMERIC, "inputs")
    shape = op._inputs[0]._shape
    for t in op._inputs[1:]:
        try:
            shape = shape.merge_with(t._shape)
        except ValueError:
            raise ValueError("Shapes must be equal: %s vs %s" % (shape, t._shape)) from None
    return [(d, shape)]


def _add_n_kernel(op, ctx):
    n = len(op._inputs)
    if n == 2:
        return ctx.xp.add

    def add_n_(*xs):
        acc = xs[0] + xs[1]
        for x in xs[2:]:
            acc += x  # acc is a fresh array owned by this kernel
        return acc
    return add_n_ if n > 1 else (lambda x: x)


register_op("AddN", infer=_add_n_infer, kernel=_add_n_kernel,
            grad=lambda op, g: [g] * len(op._inputs))


def add_n(inputs, name=None):
    """Sums a list of same-shaped tensors elementwise."""
    if not inputs:
        raise ValueError("inputs must be a non-empty list of tensors")
    ts = [convert_to_tensor(t) for t in inputs]
    if len(ts) == 1 and name is None:
        return ts[0]
    return out("AddN", ts, name=name)


def accumulate_n(inputs, shape=None, tensor_dtype=None, name=None):
    return add_n(inputs, name=name)


# ----------------------------------------------------------------------------------------------
# MatMul
# ----------------------------------------------------------------------------------------------
def _matmul_infer(op):
    a, b = op._inputs
    d = same_dtypes(op, ("a", "b"))
    check_dtype(op, a, NUMERIC - {dtypes.uint8, dtypes.uint16, dtypes.uint32, dtypes.uint64}, "a")
    ta, tb = op._attrs["transpose_a"], op._attrs["transpose_b"]
    sa, sb = a._shape.as_tuple(), b._shape.as_tuple()
    if sa is not None and len(sa) != 2 or sb is not None and len(sb) != 2:
        raise ValueError("Shape must be rank 2 but is rank %d" % (len(sa) if sa is not None
                                                                  and len(sa) != 2 else len(sb)))
    m, k1 = (None, None) if sa is None else ((sa[1], sa[0]) if ta else sa)
    k2, n = (None, None) if sb is None else ((sb[1], sb[0]) if tb else sb)
    if k1 is not None and k2 is not None and k1 != k2:
        raise ValueError("Dimensions must be equal, but are %d and %d for '%s' (op: 'MatMul') "
                         "with input shapes: %s, %s." % (k1, k2, op.name, a._shape, b._shape))
    return [(d, TensorShape([m, n]))]


def _matmul_kernel(op, ctx):
    ta, tb = op._attrs["transpose_a"], op._attrs["transpose_b"]
    mm = ctx.xp.matmul
    if not ta and not tb:
        return mm
    if ta and tb:
        return lambda a, b: mm(a.T, b.T)
    if ta:
        return lambda a, b: mm(a.T, b)
    return lambda a, b: mm(a, b.T)


def _matmul_grad(op, g):
    a, b = op._inputs
    ta, tb = op._attrs["transpose_a"], op._attrs["transpose_b"]
    if not ta and not tb:
        return [matmul(g, b, transpose_b=True), matmul(a, g, transpose_a=True)]
    if not ta and tb:
        return [matmul(g, b), matmul(g, a, transpose_a=True)]
    if ta and not tb:
        return [matmul(b, g, transpose_b=True), matmul(a, g)]
    return [matmul(b, g, transpose_a=True, transpose_b=True),
            matmul(g, a, transpose_a=True, transpose_b=True)]


register_op("MatMul", infer=_matmul_infer, kernel=_matmul_kernel, grad=_matmul_grad)


def _batch_matmul_infer(op):
    a, b = op._inputs
    d = same_dtypes(op, ("x", "y"))
    ax, ay = op._attrs["adj_x"], op._attrs["adj_y"]
    sa, sb = a._shape.as_tuple(), b._shape.as_tuple()
    if sa is None or sb is None:
        return [(d, unknown_shape())]
    if len(sa) < 2 or len(sb) < 2:
        raise ValueError("BatchMatMul needs rank >= 2 inputs, got %s and %s" % (a._shape, b._shape))
    m, k1 = (sa[-1], sa[-2]) if ax else (sa[-2], sa[-1])
    k2, n = (sb[-1], sb[-2]) if ay else (sb[-2], sb[-1])
    if k1 is not None and k2 is not None and k1 != k2:
        raise ValueError("Dimensions must be equal, but are %d and %d for '%s' with input shapes: "
                         "%s, %s." % (k1, k2, op.name, a._shape, b._shape))
    batch = broadcast_shape(TensorShape(sa[:-2]), TensorShape(sb[:-2]))
    return [(d, batch.concatenate([m, n]))]


def _batch_matmul_kernel(op, ctx):
    ax, ay = op._attrs["adj_x"], op._attrs["adj_y"]
    xp = ctx.xp

    def bmm(a, b):
        if ax:
            a = xp.swapaxes(a, -1, -2)
        if ay:
            b = xp.swapaxes(b, -1, -2)
        return xp.matmul(a, b)
    return bmm


def _batch_matmul_grad(op, g):
    a, b = op._inputs
    ax, ay = op._attrs["adj_x"], op._attrs["adj_y"]
    if not ax and not ay:
        return [matmul(g, b, adjoint_b=True), matmul(a, g, adjoint_a=True)]
    if not ax and ay:
        return [matmul(g, b), matmul(g, a, adjoint_a=True)]
    if ax and not ay:
        return [matmul(b, g, adjoint_b=True), matmul(a, g)]
    return [matmul(b, g, adjoint_a=True, adjoint_b=True), matmul(g, a, adjoint_a=True, adjoint_b=True)]


register_op("BatchMatMul", infer=_batch_matmul_infer, kernel=_batch_matmul_kernel,
            grad=_batch_matmul_grad, broadcasting=True)


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, name=None):
    """Matrix product ``a @ b``; rank > 2 inputs are batches of matrices (broadcast).

    Raises:
        ValueError: at construction, if the inner dimensions differ.
    """
    a, b = core.convert_binary(a, b)
    ra, rb = a._shape.ndims, b._shape.ndims
    if ra == 2 and rb == 2:
        return out("MatMul", [a, b], {"transpose_a": bool(transpose_a or adjoint_a),
                                      "transpose_b": bool(transpose_b or adjoint_b)}, name=name)
    return out("BatchMatMul", [a, b], {"adj_x": bool(transpose_a or adjoint_a),
                                       "adj_y": bool(transpose_b or adjoint_b)}, name=name)


# ----------------------------------------------------------------------------------------------
# Broadcast helpers used by gradients (sum back to an input's shape, and the reverse)
# ----------------------------------------------------------------------------------------------
def _sum_to(xp, g, shape):
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, d in enumerate(shape)
                                      if d == 1 and g.shape[i + lead] != 1)
    s = xp.sum(g, axis=axes, keepdims=True, dtype=g.dtype) if axes else g
    return s.reshape(shape)


register_op("SumToShapeOf",
            infer=lambda op: [(op._inputs[0].dtype, op._inputs[1]._shape)],
            kernel=lambda op, ctx: lambda g, like: _sum_to(ctx.xp, g, like.shape),
            grad=lambda op, gg: [broadcast_like(gg, op._inputs[0]), None],
            doc="Sums a broadcast gradient back to the shape of its second input.")
register_op("BroadcastLike",
            infer=lambda op: [(op._inputs[0].dtype, op._inputs[1]._shape)],
            kernel=lambda op, ctx: lambda x, like: ctx.xp.broadcast_to(x, like.shape),
            grad=lambda op, g: [sum_to_shape_of(g, op._inputs[0]), None],
            doc="Broadcasts the first input to the shape of the second.")


def sum_to_shape_of(g, like):
    return out("SumToShapeOf", [g, like], name="SumToShape")


def broadcast_like(x, like):
    return out("BroadcastLike", [x, like])


# ----------------------------------------------------------------------------------------------
# Reductions
# ----------------------------------------------------------------------------------------------
def _static_axes(op):
    """The reduction axes known at construction (attr), or None when given as a tensor input."""
    return op._attrs.get("axis", None) if len(op._inputs) == 1 else _UNKNOWN_AXES


_UNKNOWN_AXES = object()


def _reduce_infer(allowed, out_dtype=None):
    def infer(op):
        x = op._inputs[0]
        check_dtype(op, x, allowed, "input")
        axes = _static_axes(op)
        keep = op._attrs["keep_dims"]
        if axes is _UNKNOWN_AXES:
            r = x._shape.ndims
            return [(out_dtype or x.dtype, unknown_shape(r) if keep and r is not None
                     else unknown_shape())]
        return [(out_dtype or x.dtype, reduced_shape(x._shape, axes, keep))]
    return infer


def _reduce_kernel(fn_name, int_mean=False, pass_dtype=False):
    def make(op, ctx):
        xp = ctx.xp
        f = getattr(xp, fn_name)
        keep = op._attrs["keep_dims"]
        kw = {"dtype": op._outputs[0].dtype.np} if pass_dtype else {}
        if len(op._inputs) == 1:
            axes = op._attrs["axis"]

            def reduce_static(x):
                r = f(x, axis=axes, keepdims=keep, **kw)
                return r if not int_mean else _int_mean(xp, x, r, axes)
            return reduce_static

        def reduce_dynamic(x, axis):
            ax = tuple(int(a) % max(x.ndim, 1) for a in np.reshape(np.asarray(axis), [-1]))
            r = f(x, axis=ax, keepdims=keep, **kw)
            return r if not int_mean else _int_mean(xp, x, r, ax)
        return reduce_dynamic
    return make


def _int_mean(xp, x, s, axes):
    n = x.size if axes is None else int(np.prod([x.shape[a] for a in axes]))
    return (xp.sign(s) * (xp.abs(s) // max(n, 1))).astype(x.dtype)


def _mean_kernel(op, ctx):
    if op._inputs[0].dtype.is_integer:
        return _reduce_kernel("sum", int_mean=True, pass_dtype=True)(op, ctx)
    return _reduce_kernel("mean", pass_dtype=True)(op, ctx)


def _expand_reduced(op, g):
    """Reshapes a reduction's gradient to keepdims form and broadcasts it to the input."""
    x = op._inputs[0]
    if not op._attrs["keep_dims"]:
        axes = _static_axes(op)
        if axes is _UNKNOWN_AXES:
            raise NotImplementedError("Gradient of a reduction over run-time axes is not supported "
                                      "(op %s); pass a constant axis" % op.name)
        rank = x._shape.ndims
        if axes is None:
            if rank is None:
                raise ValueError("Gradient of full reduction needs a known input rank (op %s)"
                                 % op.name)
            axes = tuple(range(rank))
        from .array_ops import expand_dims_axes
        g = expand_dims_axes(g, axes)
    return broadcast_like(g, x)


def _sum_grad(op, g):
    return [_expand_reduced(op, g)] + [None] * (len(op._inputs) - 1)


def _reduced_count(op):
    """Number of elements reduced into each output element (a float tensor)."""
    from .array_ops import size
    x, y = op._inputs[0], op._outputs[0]
    nx, ny = x._shape.num_elements(), y._shape.num_elements()
    if nx is not None and ny is not None:
        return constant_like(nx // max(ny, 1), x.dtype)
    return cast(size(x), x.dtype) / cast(maximum(size(y), 1), x.dtype)


def constant_like(v, dtype):
    return core.constant(v, dtype=dtype)


def _mean_grad(op, g):
    return [_expand_reduced(op, g) / _reduced_count(op)] + [None] * (len(op._inputs) - 1)


def _minmax_grad(op, g):
    x, y = op._inputs[0], op._outputs[0]
    yb = _expand_reduced(op, y)
    gb = _expand_reduced(op, g)
    eq = cast(equal(x, yb), g.dtype)
    num = _expand_reduced(op, _reduce_like(op, eq))
    return [gb * eq / num] + [None] * (len(op._inputs) - 1)


def _reduce_like(op, t):
    """Sums ``t`` over the same axes as ``op`` reduces (keeping op's keep_dims)."""
    attrs = dict(op._attrs)
    return out("Sum", [t] + list(op._inputs[1:]), attrs)


def _prod_others(xp, x, axes):
    """For each element, the product of the other elements in its reduction group."""
    axes = tuple(range(x.ndim)) if axes is None else axes
    rest = [a for a in range(x.ndim) if a not in axes]
    perm = list(axes) + rest
    xt = xp.transpose(x, perm)
    shp = xt.shape
    n = int(np.prod(shp[:len(axes)])) if axes else 1
    flat = xt.reshape(n, -1)
    ones = xp.ones((1, flat.shape[1]), x.dtype)
    left = xp.concatenate([ones, xp.cumprod(flat[:-1], axis=0)], 0)
    right = xp.concatenate([xp.cumprod(flat[::-1][:-1], axis=0)[::-1], ones], 0)
    res = (left * right).reshape(shp)
    return xp.transpose(res, np.argsort(perm))


def _prod_grad(op, g):
    axes = _static_axes(op)
    if axes is _UNKNOWN_AXES:
        raise NotImplementedError("Gradient of reduce_prod over run-time axes (op %s)" % op.name)
    others = out("ProdOthers", [op._inputs[0]], {"axis": axes})
    return [_expand_reduced(op, g) * others] + [None] * (len(op._inputs) - 1)


register_op("ProdOthers", infer=lambda op: [(op._inputs[0].dtype, op._inputs[0]._shape)],
            kernel=lambda op, ctx: lambda x: _prod_others(ctx.xp, x, op._attrs["axis"]),
            grad=None, doc="Helper of reduce_prod's gradient (product of the other elements).")

register_op("Sum", infer=_reduce_infer(NUMERIC), kernel=_reduce_kernel("sum", pass_dtype=True),
            grad=_sum_grad)
register_op("Mean", infer=_reduce_infer(NUMERIC), kernel=_mean_kernel, grad=_mean_grad)
register_op("Max", infer=_reduce_infer(REAL), kernel=_reduce_kernel("max"), grad=_minmax_grad)
register_op("Min", infer=_reduce_infer(REAL), kernel=_reduce_kernel("min"), grad=_minmax_grad)
register_op("Prod", infer=_reduce_infer(NUMERIC), kernel=_reduce_kernel("prod", pass_dtype=True),
            grad=_prod_grad)
register_op("Any", infer=_reduce_infer(BOOL), kernel=_reduce_kernel("any"), grad=NOT_DIFFERENTIABLE)
register_op("All", infer=_reduce_infer(BOOL), kernel=_reduce_kernel("all"), grad=NOT_DIFFERENTIABLE)


def _reduce(op_type, input_tensor, axis, keepdims, name, keep_dims=None, reduction_indices=None):
    x = convert_to_tensor(input_tensor)
    if keep_dims is not None:
        keepdims = keep_dims
    if axis is None and reduction_indices is not None:
        axis = reduction_indices
    keepdims = bool(keepdims)
    if axis is None:
        return out(op_type, [x], {"axis": None, "keep_dims": keepdims}, name=name)
    if isinstance(axis, Tensor):
        v = core.constant_value(axis)
        if v is None:
            return out(op_type, [x, axis], {"keep_dims": keepdims}, name=name)
        axis = v.tolist()
    if isinstance(axis, np.ndarray):
        axis = axis.tolist()
    axes = normalize_axes(axis if isinstance(axis, (list, tuple)) else [axis], x._shape.ndims)
    if x._shape.ndims is None and any(a < 0 for a in axes):
        axis_t = core.constant(list(axes), dtype=dtypes.int32)
        return out(op_type, [x, axis_t], {"keep_dims": keepdims}, name=name)
    return out(op_type, [x], {"axis": axes, "keep_dims": keepdims}, name=name)


def reduce_sum(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """Sum over ``axis`` (all axes if None). Example: ``tf.reduce_sum(x, axis=1)``."""
    return _reduce("Sum", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_mean(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                keep_dims=None):
    """Mean over ``axis``; integer inputs give an integer (truncated) mean, as in TF."""
    return _reduce("Mean", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_max(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    return _reduce("Max", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_min(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    return _reduce("Min", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_prod(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                keep_dims=None):
    return _reduce("Prod", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_any(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    return _reduce("Any", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_all(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    return _reduce("All", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_logsumexp(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                     keep_dims=None):
    """log(sum(exp(x))) computed stably by subtracting the max first."""
    from .gradients import stop_gradient
    x = convert_to_tensor(input_tensor)
    if keep_dims is not None:
        keepdims = keep_dims
    if axis is None:
        axis = reduction_indices
    m = stop_gradient(reduce_max(x, axis, keepdims=True))
    m = where(is_finite(m), m, zeros_like_t(m))
    r = log(reduce_sum(exp(x - m), axis, keepdims=True)) + m
    if not keepdims:
        from .array_ops import squeeze
        ax = None if axis is None else (list(axis) if isinstance(axis, (list, tuple)) else [axis])
        r = squeeze(r, ax) if ax is not None else reshape_scalar(r)
    return r if name is None else out("Identity", [r], name=name)


def reshape_scalar(r):
    from .array_ops import reshape
    return reshape(r, [])


def reduce_euclidean_norm(input_tensor, axis=None, keepdims=False, name=None):
    return sqrt(reduce_sum(square(input_tensor), axis, keepdims), name=name)


def count_nonzero(input_tensor, axis=None, keepdims=None, dtype=dtypes.int64, name=None,
                  reduction_indices=None, keep_dims=None):
    x = convert_to_tensor(input_tensor)
    nz = cast(not_equal(x, zeros_like_t(x)), dtypes.int64)
    return cast(reduce_sum(nz, axis, keepdims, reduction_indices=reduction_indices,
                           keep_dims=keep_dims), dtype, name=name)


# ----------------------------------------------------------------------------------------------
# ArgMax / ArgMin / Cumsum
# ----------------------------------------------------------------------------------------------
def _arg_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, REAL, "input")
    axis = op._attrs["axis"]
    return [(op._attrs["output_type"], reduced_shape(x._shape, (axis,), False))]


def _arg_kernel(fn):
    def make(op, ctx):
        f = getattr(ctx.xp, fn)
        axis = op._attrs["axis"]
        npd = op._attrs["output_type"].np
        return lambda x: f(x, axis=axis).astype(npd, copy=False)
    return make


register_op("ArgMax", infer=_arg_infer, kernel=_arg_kernel("argmax"), grad=NOT_DIFFERENTIABLE)
register_op("ArgMin", infer=_arg_infer, kernel=_arg_kernel("argmin"), grad=NOT_DIFFERENTIABLE)


def _arg(op_type, x, axis, output_type, name, dimension):
    x = convert_to_tensor(x)
    if axis is None:
        axis = dimension if dimension is not None else 0
    if isinstance(axis, Tensor):
        v = core.constant_value(axis)
        if v is None:
            raise NotImplementedError("%s needs a constant axis" % op_type)
        axis = int(v)
    (axis,) = normalize_axes([int(axis)], x._shape.ndims)
    return out(op_type, [x], {"axis": axis, "output_type": dtypes.as_dtype(output_type)}, name=name)


def argmax(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    """Index of the largest value along ``axis`` (int64 by default, as in TF1)."""
    return _arg("ArgMax", input, axis, output_type, name, dimension)


def argmin(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    return _arg("ArgMin", input, axis, output_type, name, dimension)


def _cum_kernel(fn):
    def make(op, ctx):
        xp = ctx.xp
        f = getattr(xp, fn)
        axis, excl, rev = op._attrs["axis"], op._attrs["exclusive"], op._attrs["reverse"]
        ident = 0 if fn == "cumsum" else 1
        dt = op._outputs[0].dtype.np

        def cum(x):
            if rev:
                x = xp.flip(x, axis)
            r = f(x, axis=axis, dtype=dt)
            if excl:
                pad = xp.full_like(xp.take(r, [0], axis=axis), ident)
                r = xp.concatenate([pad, xp.take(r, range(r.shape[axis] - 1), axis=axis)], axis)
            if rev:
                r = xp.flip(r, axis)
            return r
        return cum
    return make


def _cumsum_grad(op, g):
    a = op._attrs
    return [cumsum(g, a["axis"], exclusive=a["exclusive"], reverse=not a["reverse"])]


def _cumprod_grad(op, g):
    a = op._attrs
    x, y = op._inputs[0], op._outputs[0]
    return [cumsum(g * y, a["axis"], exclusive=a["exclusive"], reverse=not a["reverse"]) / x]


register_op("Cumsum", infer=_unary_infer(NUMERIC), kernel=_cum_kernel("cumsum"), grad=_cumsum_grad)
register_op("Cumprod", infer=_unary_infer(NUMERIC), kernel=_cum_kernel("cumprod"), grad=_cumprod_grad)


def _cum(op_type, x, axis, exclusive, reverse, name):
    x = convert_to_tensor(x)
    if isinstance(axis, Tensor):
        axis = int(core.constant_value(axis))
    (axis,) = normalize_axes([axis], x._shape.ndims)
    return out(op_type, [x], {"axis": axis, "exclusive": bool(exclusive), "reverse": bool(reverse)},
               name=name)


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    return _cum("Cumsum", x, axis, exclusive, reverse, name)


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    return _cum("Cumprod", x, axis, exclusive, reverse, name)


# ----------------------------------------------------------------------------------------------
# Select (where) and clip
# ----------------------------------------------------------------------------------------------
def _select_infer(op):
    c, x, y = op._inputs
    if c.dtype is not dtypes.bool_:
        raise TypeError("condition must be bool, got %s" % c.dtype.name)
    if x.dtype is not y.dtype:
        raise TypeError("x and y must have the same dtype, got %s and %s"
                        % (x.dtype.name, y.dtype.name))
    if c._shape.ndims == 1 and (x._shape.ndims or 0) > 1:
        # TF1 row selection: a vector condition picks whole rows.
        s = x._shape.merge_with(y._shape)
        if s[0].value is not None and c._shape[0].value not in (None, s[0].value):
            raise ValueError("condition of length %s cannot select rows of shape %s"
                             % (c._shape[0], s))
        return [(x.dtype, s)]
    s = broadcast_shape(broadcast_shape(c._shape, x._shape), y._shape)
    return [(x.dtype, s)]


def _select_grad(op, g):
    c = op._inputs[0]
    z = zeros_like_t(g)
    return [None, where(c, g, z), where(c, z, g)]


def _select_kernel(op, ctx):
    c, x, _ = op._inputs
    xp = ctx.xp
    if c._shape.ndims == 1 and x._shape.ndims not in (None, 1):
        # TF1 `Select`: a vector condition picks whole rows of higher-rank x/y.
        return lambda c, a, b: xp.where(c.reshape((-1,) + (1,) * (a.ndim - 1)), a, b)
    return xp.where


register_op("Select", infer=_select_infer, kernel=_select_kernel, grad=_select_grad,
            broadcasting=True)


def _where_indices_kernel(op, ctx):
    xp = ctx.xp
    return lambda c: xp.argwhere(c).astype(np.int64)


register_op("Where", infer=lambda op: [(dtypes.int64, TensorShape([None, op._inputs[0]._shape.ndims]))],
            kernel=_where_indices_kernel, grad=NOT_DIFFERENTIABLE)


def where(condition, x=None, y=None, name=None):
    """``tf.where(c, x, y)`` picks from x where c is True, else y; ``tf.where(c)`` gives indices."""
    c = convert_to_tensor(condition)
    if x is None and y is None:
        return out("Where", [c], name=name)
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    x, y = core.convert_binary(x, y)
    return out("Select", [c, x, y], name=name)


def where_v2(condition, x=None, y=None, name=None):
    return where(condition, x, y, name)


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """Clamps ``t`` elementwise to [min, max]; gradient flows where not clipped."""
    t = convert_to_tensor(t)
    return minimum(maximum(t, clip_value_min), clip_value_max, name=name)


# ----------------------------------------------------------------------------------------------
# Einsum and tensordot
# ----------------------------------------------------------------------------------------------
def _parse_einsum(eq, n_in):
    eq = eq.replace(" ", "")
    if "->" in eq:
        lhs, rhs = eq.split("->")
    else:
        lhs = eq
        letters = [c for c in lhs.replace(",", "") if c.isalpha()]
        rhs = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    ins = lhs.split(",")
    if len(ins) != n_in:
        raise ValueError("einsum equation %r has %d inputs, got %d tensors" % (eq, len(ins), n_in))
    if "." in eq:
        raise NotImplementedError("einsum with ellipsis is not supported yet: %r" % eq)
    return ins, rhs


def _einsum_infer(op):
    ins, rhs = _parse_einsum(op._attrs["equation"], len(op._inputs))
    same_dtypes(op, tuple("inputs[%d]" % i for i in range(len(op._inputs))))
    sizes = {}
    for spec, t in zip(ins, op._inputs):
        dims = t._shape.as_tuple()
        if dims is None:
            continue
        if len(dims) != len(spec):
            raise ValueError("einsum: input with subscripts %r has rank %d" % (spec, len(dims)))
        for c, d in zip(spec, dims):
            if d is None:
                continue
            if sizes.get(c, d) != d:
                raise ValueError("einsum: dimension %r is %d in one input and %d in another"
                                 % (c, sizes[c], d))
            sizes[c] = d
    return [(op._inputs[0].dtype, TensorShape([sizes.get(c) for c in rhs]))]


def _einsum_grad(op, g):
    ins, rhs = _parse_einsum(op._attrs["equation"], len(op._inputs))
    grads = []
    for i, spec in enumerate(ins):
        others = [t for j, t in enumerate(op._inputs) if j != i]
        other_specs = [s for j, s in enumerate(ins) if j != i]
        present = set(rhs) | set("".join(other_specs))
        missing = [c for c in spec if c not in present]
        if missing or len(set(spec)) != len(spec):
            raise NotImplementedError("einsum gradient for %r (summed-out or repeated index in one "
                                      "input)" % op._attrs["equation"])
        eq = ",".join([rhs] + other_specs) + "->" + spec
        grads.append(einsum(eq, g, *others))
    return grads


register_op("Einsum", infer=_einsum_infer,
            kernel=lambda op, ctx: lambda *xs: ctx.xp.einsum(op._attrs["equation"], *xs,
                                                             optimize=len(xs) > 2),
            grad=_einsum_grad)


def einsum(equation, *inputs, **kwargs):
    """Einstein summation, e.g. ``tf.einsum('ij,jk->ik', a, b)``."""
    name = kwargs.pop("name", None)
    ts = [convert_to_tensor(t) for t in inputs]
    return out("Einsum", ts, {"equation": equation.replace(" ", "")}, name=name)


def tensordot(a, b, axes, name=None):
    """Contracts ``a`` and ``b`` over ``axes`` (an int N or a pair of axis lists)."""
    a, b = core.convert_binary(a, b)
    ra, rb = a._shape.ndims, b._shape.ndims
    if ra is None or rb is None:
        raise ValueError("tensordot needs inputs of known rank, got %s and %s" % (a.shape, b.shape))
    if isinstance(axes, Tensor):
        axes = core.constant_value(axes).tolist()
    if isinstance(axes, int):
        axes_a, axes_b = list(range(ra - axes, ra)), list(range(axes))
    else:
        axes_a, axes_b = axes
        axes_a = [axes_a] if isinstance(axes_a, int) else list(axes_a)
        axes_b = [axes_b] if isinstance(axes_b, int) else list(axes_b)
    axes_a = [x % ra for x in axes_a]
    axes_b = [x % rb for x in axes_b]
    letters = "abcdefghijklmnopqrstuvwxyz"
    sa = list(letters[:ra])
    sb = list(letters[ra:ra + rb])
    for i, j in zip(axes_a, axes_b):
        sb[j] = sa[i]
    rhs = [c for i, c in enumerate(sa) if i not in axes_a] + [c for j, c in enumerate(sb)
                                                               if j not in axes_b]
    return einsum("%s,%s->%s" % ("".join(sa), "".join(sb), "".join(rhs)), a, b, name=name)


# ----------------------------------------------------------------------------------------------
# Operators on Tensor
# ----------------------------------------------------------------------------------------------
def _binop(fn, opname):
    def forward(x, y):
        return fn(x, y, name=opname)

    def reflected(y, x):
        x, y = core.convert_binary(x, y)
        return fn(x, y, name=opname)
    return forward, reflected


def _install_operators():
    ops = {
        "add": (add, "add"), "sub": (subtract, "sub"), "mul": (multiply, "mul"),
        "truediv": (truediv, "truediv"), "floordiv": (floordiv, "floordiv"),
        "mod": (floormod, "mod"), "pow": (pow, "pow"), "matmul": (matmul, "matmul"),
        "and": (logical_and, "and"), "or": (logical_or, "or"), "xor": (logical_xor, "xor"),
    }
    for key, (fn, nm) in ops.items():
        f, r = _binop(fn, nm)
        setattr(Tensor, "__%s__" % key, f)
        setattr(Tensor, "__r%s__" % key, r)
    Tensor.__div__ = Tensor.__truediv__
    Tensor.__rdiv__ = Tensor.__rtruediv__
    Tensor.__lt__ = lambda x, y: less(x, y)
    Tensor.__le__ = lambda x, y: less_equal(x, y)
    Tensor.__gt__ = lambda x, y: greater(x, y)
    Tensor.__ge__ = lambda x, y: greater_equal(x, y)
    Tensor.__neg__ = lambda x: negative(x, name="neg")
    Tensor.__abs__ = lambda x: abs(x, name="Abs")
    Tensor.__invert__ = lambda x: logical_not(x, name="LogicalNot")


_install_operators()
