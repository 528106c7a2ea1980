"""Math ops: elementwise arithmetic, comparisons and logic, unary math, casts, ``add_n``,
selection (``where``, ``clip_by_value``), bitwise ops and the operators of ``Tensor``.

Each op is one block: registration (shape/dtype rule, kernel, gradient) and the
user-facing function beside it. Binary ops broadcast like NumPy; their
gradients are written for same-shaped operands and the gradients driver sums
them back to each input's shape.

The other math families have modules of their own, built on this one, and their
public names are re-exported here (``tf.math``, ``from tfnb.ops.math_ops import *``):
reductions and scans (``reduction_ops``), matrix products (``matmul_ops``) and
special functions (``special_math_ops``).
"""
import functools

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Tensor, user_location
from ..framework.registry import NOT_DIFFERENTIABLE, register_op, xp_kernel
from ..framework.tensor_shape import TensorShape
from . import core
from .core import convert_to_tensor, out
from .shape_rules import (BOOL, FLOATS, FLOATS_COMPLEX, INTEGERS, NUMERIC, REAL, SIGNED,
                          broadcast_shape, check_dtype, in_float32, same_dtypes)

__all__ = [
    "add", "subtract", "multiply", "divide", "truediv", "realdiv", "floordiv", "floor_div",
    "div", "mod", "floormod", "truncatemod", "truncatediv", "pow", "maximum", "minimum",
    "squared_difference", "negative", "abs", "sign", "square", "sqrt", "rsqrt", "exp", "log",
    "log1p", "expm1", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
    "sigmoid", "reciprocal", "round", "floor", "ceil", "rint", "is_nan", "is_inf", "is_finite",
    "atan2", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_not", "logical_xor", "cast", "to_float", "to_int32",
    "to_int64", "to_double", "to_complex64", "to_complex128", "saturate_cast", "add_n",
    "accumulate_n", "where", "where_v2", "clip_by_value", "scalar_mul", "div_no_nan",
    "sum_to_shape_of", "broadcast_like", "log_sigmoid", "conj", "real", "imag", "complex",
    "angle",
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
    # The result depends only on the operands' dtypes and static shapes: remembered per
    # (dtypes, dims) for the repeated patterns of eager/notebook code (shapes are immutable).
    memo = {}

    def infer(op):
        ins = op._inputs
        x, y = ins[0], ins[1]
        key = (x._dtype, y._dtype, x._shape._dims, y._shape._dims) if len(ins) == 2 else None
        hit = memo.get(key)
        if hit is not None:
            return [hit]
        d = same_dtypes(op)
        check_dtype(op, x, allowed)
        res = (out_dtype or d, broadcast_shape(x._shape, y._shape))
        if key is None:
            return [res]
        if len(memo) >= 1024:
            memo.clear()
        memo[key] = res
        return [res]
    return infer


#: Whether float16/bfloat16 elementwise ops compute in float32 (see ``_half_via_float32``).
HALF_VIA_FLOAT32 = True
#: Composite ops whose TF kernels round in half precision after each step (Eigen's half
#: arithmetic): they keep the half-precision kernel, which does the same.
_HALF_STEPWISE = {"SquaredDifference", "Xlogy"}


def _half_via_float32(factory, name):
    """A kernel factory computing half-precision operands in float32, rounding the result once.

    NumPy's float16 loops convert each element to float32, call the float32 function and round
    back -- one element at a time (~100x slower than float32 for ``multiply``); ml_dtypes'
    bfloat16 loops do the same. Casting the whole arrays to float32, running the float32
    kernel and rounding its result gives the same bits (float32 holds every product, sum and
    quotient of two half values exactly enough that one rounding equals the direct one), as
    tests/ops/test_half_elementwise.py checks op by op against the half-precision kernels.
    Two ops differ, towards TF: ``Rsqrt`` rounds once (NumPy's half path rounds the square
    root, then its reciprocal; Eigen's half rsqrt computes in float), and ``Sign`` of a
    bfloat16 -0.0 is +0.0 (ml_dtypes keeps the sign; TF's (x > 0) - (x < 0) does not)."""
    if name in _HALF_STEPWISE:
        return factory

    def make(op, ctx):
        kernel = factory(op, ctx)
        if not HALF_VIA_FLOAT32 or ctx.xp is not np or not op._inputs:
            return kernel
        return in_float32(op._inputs[0].dtype, kernel)
    make.__name__ = getattr(factory, "__name__", "kernel") + "_half_via_float32"
    return make


def _unary(name, fn_name, allowed, grad, out_dtype=None, kernel=None):
    register_op(name, infer=_unary_infer(allowed, out_dtype),
                kernel=_half_via_float32(kernel or xp_kernel(fn_name), name), grad=grad)

    def wrapper(x, name=None):
        return out(op_type, [convert_to_tensor(x)], name=name)
    op_type = name
    wrapper.__doc__ = "Elementwise ``%s`` (TF op ``%s``)." % (fn_name or name.lower(), name)
    return wrapper


def _binary(name, fn_name, allowed, grad, out_dtype=None, kernel=None):
    register_op(name, infer=_binary_infer(allowed, out_dtype),
                kernel=_half_via_float32(kernel or xp_kernel(fn_name), name),
                grad=grad, broadcasting=grad is not NOT_DIFFERENTIABLE)

    def wrapper(x, y, name=None):
        x, y = core.convert_binary(x, y)
        return out(op_type, [x, y], name=name)
    op_type = wrapper._op_type = name  # _binop: the operators build this op directly
    wrapper.__doc__ = ("Elementwise ``%s`` (TF op ``%s``), broadcasting like NumPy; the operands "
                       "must have one dtype." % (fn_name or name.lower(), name))
    return wrapper


# ----------------------------------------------------------------------------------------------
# Binary arithmetic
# ----------------------------------------------------------------------------------------------
add = _binary("Add", "add", NUMERIC | {dtypes.string}, lambda op, g: [g, g],
              kernel=lambda op, ctx: (ctx.xp.add if op._inputs[0].dtype is not dtypes.string
                                      else _string_add))
subtract = _binary("Sub", "subtract", NUMERIC, lambda op, g: [g, -g])
# Complex gradients follow TF's convention (g times the conjugate derivative); conj is the
# identity on real tensors (no op added).
multiply = _binary("Mul", "multiply", NUMERIC,
                   lambda op, g: [g * conj(op._inputs[1]), g * conj(op._inputs[0])])
realdiv = _binary("RealDiv", "true_divide", FLOATS_COMPLEX,
                  lambda op, g: [g / conj(op._inputs[1]),
                                 -g * conj(op._inputs[0] / square(op._inputs[1]))])


def _checked_division(fn_name, int_fn=None):
    """Kernel factory for the division ops: on integers a zero divisor raises
    ``InvalidArgumentError: Integer division by zero`` (as TF's kernels do) after one
    vectorised check; floats keep IEEE semantics (inf/nan). ``int_fn(xp)`` overrides
    the integer kernel."""
    def make(op, ctx):
        xp = ctx.xp
        if not op._inputs[0].dtype.is_integer:
            return getattr(xp, fn_name)
        f = int_fn(xp) if int_fn is not None else getattr(xp, fn_name)

        def integer_division(x, y):
            if (y == 0).any():
                raise errors.InvalidArgumentError(None, None, "Integer division by zero")
            return f(x, y)
        return integer_division
    return make


def _truncate_divide(xp):
    """Integer division rounding toward zero: ``x - fmod(x, y)`` is an exact multiple of
    ``y`` nearer to zero than ``x``, so flooring its quotient cannot round (no overflow)."""
    return lambda x, y: xp.floor_divide(x - xp.fmod(x, y), y)


floordiv = floor_div = _binary("FloorDiv", "floor_divide", REAL, NOT_DIFFERENTIABLE,
                               kernel=_checked_division("floor_divide"))
floormod = mod = _binary("FloorMod", "mod", REAL,
                         lambda op, g: [g, -g * floor(op._inputs[0] / op._inputs[1])
                                        if op._inputs[0].dtype.is_floating else None],
                         kernel=_checked_division("mod"))
truncatemod = _binary("TruncateMod", "fmod", REAL, NOT_DIFFERENTIABLE,
                      kernel=_checked_division("fmod"))
# TF registers TruncateDiv kernels for integer types only.
truncatediv = _binary("TruncateDiv", None, INTEGERS, NOT_DIFFERENTIABLE,
                      kernel=_checked_division(None, _truncate_divide))
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
    x, y = (conj(t) for t in op._inputs)
    z = conj(op._outputs[0])
    gx = g * y * pow(x, y - 1) if x.dtype.is_integer else g * y * pow(x, y - 1.0)
    # log(x) where it is defined (x > 0; for complex x, x != 0), else 0 (as TF).
    mask = not_equal(x, 0) if x.dtype.is_complex else greater(x, 0)
    safe_log = where(mask, log(where(mask, x, ones_like_t(x))), zeros_like_t(x))
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
    if x.dtype is not y.dtype:
        raise TypeError("x and y must have the same dtype, got %s != %s"
                        % (x.dtype.name, y.dtype.name))
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
    """``x / y``, with 0 wherever ``y`` is 0 (also for the gradient)."""
    x, y = core.convert_binary(x, y)
    zero = equal(y, 0)
    one_, zero_ = (core.constant(v, dtype=y.dtype) for v in (1, 0))
    return where_v2(zero, zero_, x / where_v2(zero, one_, y), name=name)


def scalar_mul(scalar, x, name=None):
    """Multiplies ``x`` by a scalar.

    Raises:
        ValueError: if ``scalar`` is not 0-d.
    """
    scalar = convert_to_tensor(scalar, dtype=getattr(x, "dtype", None))
    if scalar._shape.ndims is not None and scalar._shape.ndims != 0:
        raise ValueError("Only scalar multiply works, got shape %s" % scalar._shape)
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
# Complex inputs: every rule multiplies g by the *conjugate* derivative (TF's convention, so
# the gradient of a real loss is dL/dRe + i dL/dIm). ``conj`` of a real tensor is the tensor
# itself (no op is added), so real gradients cost nothing extra.
negative = _unary("Neg", "negative", SIGNED, lambda op, g: [-g])
sign = _unary("Sign", "sign", SIGNED, lambda op, g: [zeros_like_t(op._inputs[0])])
square = _unary("Square", "square", NUMERIC,
                lambda op, g: [g * (conj(op._inputs[0]) *
                                    (2.0 if not op._inputs[0].dtype.is_integer else 2))])
sqrt = _unary("Sqrt", "sqrt", FLOATS_COMPLEX, lambda op, g: [g * 0.5 / conj(op._outputs[0])])
rsqrt = _unary("Rsqrt", None, FLOATS_COMPLEX,
               lambda op, g: [g * -0.5 * conj(op._outputs[0] * square(op._outputs[0]))],
               kernel=lambda op, ctx: lambda x: ctx.xp.reciprocal(ctx.xp.sqrt(x)))
exp = _unary("Exp", "exp", FLOATS_COMPLEX, lambda op, g: [g * conj(op._outputs[0])])
log = _unary("Log", "log", FLOATS_COMPLEX, lambda op, g: [g / conj(op._inputs[0])])
log1p = _unary("Log1p", "log1p", FLOATS_COMPLEX,
               lambda op, g: [g / (1.0 + conj(op._inputs[0]))])
expm1 = _unary("Expm1", "expm1", FLOATS_COMPLEX,
               lambda op, g: [g * (conj(op._outputs[0]) + 1.0)])
sin = _unary("Sin", "sin", FLOATS_COMPLEX, lambda op, g: [g * conj(cos(op._inputs[0]))])
cos = _unary("Cos", "cos", FLOATS_COMPLEX, lambda op, g: [-g * conj(sin(op._inputs[0]))])
tan = _unary("Tan", "tan", FLOATS_COMPLEX,
             lambda op, g: [g * (1.0 + square(conj(op._outputs[0])))])
asin = _unary("Asin", "arcsin", FLOATS, lambda op, g: [g * rsqrt(1.0 - square(op._inputs[0]))])
acos = _unary("Acos", "arccos", FLOATS, lambda op, g: [-g * rsqrt(1.0 - square(op._inputs[0]))])
atan = _unary("Atan", "arctan", FLOATS, lambda op, g: [g / (1.0 + square(op._inputs[0]))])
sinh = _unary("Sinh", "sinh", FLOATS, lambda op, g: [g * cosh(op._inputs[0])])
cosh = _unary("Cosh", "cosh", FLOATS, lambda op, g: [g * sinh(op._inputs[0])])
reciprocal = _unary("Reciprocal", "reciprocal", FLOATS_COMPLEX,
                    lambda op, g: [-g * square(conj(op._outputs[0]))])
# Abs of a real tensor; a complex one's modulus is ComplexAbs (below), as in TF.
_abs_real = _unary("Abs", "abs", SIGNED - {dtypes.complex64, dtypes.complex128},
                   lambda op, g: [g * sign(op._inputs[0])])


def _complex_abs_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, {dtypes.complex64, dtypes.complex128})
    return [(x.dtype.real_dtype, x._shape)]


def _complex_abs_grad(op, g):
    """``d|z| = Re(conj(z) dz) / |z|``: in TF's convention ``g * z / |z|`` (0 at z = 0)."""
    z, r = op._inputs[0], op._outputs[0]
    return [div_no_nan(complex(g, zeros_like_t(g)) * z, complex(r, zeros_like_t(r)))]


register_op("ComplexAbs", infer=_complex_abs_infer, kernel=xp_kernel("abs"),
            grad=_complex_abs_grad, doc="The modulus of each complex number (a real tensor).")


def abs(x, name=None):  # noqa: A001 - TF1 name
    """Elementwise absolute value; of a complex tensor its modulus (op ``ComplexAbs``), real.

    Example:
        >>> tf.abs(tf.complex(3.0, 4.0))   # 5.0 (float32)
    """
    x = convert_to_tensor(x)
    if x.dtype.is_complex:
        return out("ComplexAbs", [x], name=name)
    return _abs_real(x, name=name)


# Rounding has no gradient in TF (tf.gradients gives None through it); Sign's is zeros.
round = _unary("Round", "round", NUMERIC, NOT_DIFFERENTIABLE,  # noqa: A001 - TF1 name
               kernel=lambda op, ctx: (ctx.xp.round if op._inputs[0].dtype.is_floating
                                       else (lambda x: x)))
rint = _unary("Rint", "rint", FLOATS, NOT_DIFFERENTIABLE)
floor = _unary("Floor", "floor", FLOATS, NOT_DIFFERENTIABLE)
ceil = _unary("Ceil", "ceil", FLOATS, NOT_DIFFERENTIABLE)
is_nan = _unary("IsNan", "isnan", FLOATS, NOT_DIFFERENTIABLE, out_dtype=dtypes.bool_)
is_inf = _unary("IsInf", "isinf", FLOATS, NOT_DIFFERENTIABLE, out_dtype=dtypes.bool_)
is_finite = _unary("IsFinite", "isfinite", FLOATS, NOT_DIFFERENTIABLE, out_dtype=dtypes.bool_)


def _special(xp, fn_name):
    """``scipy.special.<fn_name>`` (cupyx's for CuPy) when installed, else None: fast ufuncs
    that keep float32 as float32."""
    try:
        if xp is np:
            import scipy.special as special
        else:  # pragma: no cover - GPU path
            import cupyx.scipy.special as special
    except ImportError:
        return None
    f = getattr(special, fn_name, None)
    if f is None:
        return None

    def keep_dtype(x):
        # SciPy widens float16 (and ml_dtypes' bfloat16) to float32/64: compute in float32
        # and round back, as TF's half kernels do.
        if x.dtype.itemsize == 2 and x.dtype.kind in "fV":
            return f(x.astype(np.float32)).astype(x.dtype)
        return f(x)
    return keep_dtype


# Fused gradient ops: one kernel instead of three for the common activations.
register_op("TanhGrad", infer=lambda op: [(op._inputs[0].dtype, op._inputs[0]._shape)],
            kernel=lambda op, ctx: lambda y, g: g * (1 - y * y),
            grad=lambda op, gg: [gg * -2.0 * conj(op._inputs[1]) * conj(op._inputs[0]),
                                 out("TanhGrad", [conj(op._inputs[0]), gg])])
register_op("SigmoidGrad", infer=lambda op: [(op._inputs[0].dtype, op._inputs[0]._shape)],
            kernel=lambda op, ctx: lambda y, g: g * (y * (1 - y)),
            grad=lambda op, gg: [gg * conj(op._inputs[1]) * (1.0 - 2.0 * conj(op._inputs[0])),
                                 out("SigmoidGrad", [conj(op._inputs[0]), gg])])

tanh = _unary("Tanh", "tanh", FLOATS_COMPLEX,
              lambda op, g: [out("TanhGrad", [conj(op._outputs[0]), g])])


def _sigmoid_kernel(op, ctx):
    """1 / (1 + exp(-x)) in one buffer: exp(-x) overflows to inf for x < -88 (float32) and the
    result is then 0, its limit (plans run with NumPy's warnings off); elsewhere within 1 ulp
    of SciPy's ``expit``, and 3x faster than it on W6's [20, 400] gates (8.3 vs 27 us: expit is
    not vectorized)."""
    xp = ctx.xp
    if op._inputs[0].dtype.is_complex:
        return lambda x: 1 / (1 + xp.exp(-x))

    def sigmoid_(x):
        half = x.dtype.itemsize == 2   # float16/bfloat16: in float32, rounded once (as TF)
        out = xp.negative(x, dtype=xp.float32) if half else xp.negative(x)
        xp.exp(out, out=out)
        out += 1
        xp.reciprocal(out, out=out)
        return out.astype(x.dtype) if half else out
    return sigmoid_


sigmoid = _unary("Sigmoid", None, FLOATS_COMPLEX,
                 lambda op, g: [out("SigmoidGrad", [conj(op._outputs[0]), g])],
                 kernel=_sigmoid_kernel)


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
            kernel=xp_kernel("imag"),
            grad=lambda op, g: [complex(zeros_like_t(g), g)])  # d imag(z) = imag(dz)


def _complex_infer(op):
    re, im = op._inputs
    if re.dtype not in (dtypes.float32, dtypes.float64) or im.dtype is not re.dtype:
        raise TypeError("complex: real and imag must both be float32 or both float64, got %s "
                        "and %s" % (re.dtype.name, im.dtype.name))
    return [(dtypes.complex64 if re.dtype is dtypes.float32 else dtypes.complex128,
             broadcast_shape(re._shape, im._shape))]


def _complex_kernel(op, ctx):
    xp = ctx.xp
    npd = dtypes.complex64.np if op._inputs[0].dtype is dtypes.float32 else np.complex128

    def complex_(re, im):
        z = xp.empty(xp.broadcast_shapes(re.shape, im.shape), dtype=npd)
        z.real, z.imag = re, im
        return z
    return complex_


register_op("Complex", infer=_complex_infer, kernel=_complex_kernel,
            grad=lambda op, g: [real(g), imag(g)], broadcasting=True,
            doc="real + i * imag")


def complex(real, imag, name=None):  # noqa: A001 - TF1 name
    """The complex tensor ``real + 1j * imag`` (float32 -> complex64, float64 -> complex128).

    Example:
        >>> tf.complex([2.25, 3.25], [4.75, 5.75])     # [2.25+4.75j, 3.25+5.75j]
    """
    re, im = core.convert_binary(real, imag)
    return out("Complex", [re, im], name=name)


def _angle_grad(op, g):
    """``d angle(z) = imag(dz / z)``; in TF's convention for complex gradients that is
    ``-complex(g, 0) / complex(imag(z), real(z))``."""
    z = op._inputs[0]
    return [-complex(g, zeros_like_t(g)) / complex(imag(z), real(z))]


register_op("Angle", infer=lambda op: [(op._inputs[0].dtype.real_dtype, op._inputs[0]._shape)],
            kernel=xp_kernel("angle"), grad=_angle_grad, doc="the argument of each complex")


def angle(input, name=None):  # noqa: A002 - TF1 argument name
    """The argument (phase, in (-pi, pi]) of each complex number; 0 or pi for reals.

    Example:
        >>> tf.angle(tf.complex(0.0, 1.0))      # pi / 2
    """
    x = convert_to_tensor(input)
    if not x.dtype.is_complex:
        return where(less(x, zeros_like_t(x)), _pi_like(x), zeros_like_t(x), name=name)
    return out("Angle", [x], name=name)


def _pi_like(x):
    from .array_ops import fill, shape
    return fill(shape(x), core.constant(np.pi, dtype=x.dtype))


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
    if src.is_complex and not dst.is_complex:  # TF keeps the real part (NumPy would warn)
        return lambda x: xp.real(x).astype(npd)
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


def to_complex64(x, name="ToComplex64"):
    return cast(x, dtypes.complex64, name=name)


def to_complex128(x, name="ToComplex128"):
    return cast(x, dtypes.complex128, name=name)


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
# Broadcast helpers used by gradients (sum back to an input's shape, and the reverse)
# ----------------------------------------------------------------------------------------------
#: Row width (elements) that a large sum over leading axes folds its rows into. NumPy sums a
#: C-contiguous [R, C] over axis 0 one row after another, and short rows make that slow: a bias
#: gradient of W4's conv1 ([50,28,28,32] to [32]) took 0.63 ms as [39200, 32] rows and 0.11 ms
#: as [1225, 1024] rows summed and then folded ([32, 32] to [32]); fewer terms in each running
#: sum, too (1225 + 32 instead of 39200).
FOLD_WIDTH = 1024
_FOLD_MIN_ELEMENTS = 1 << 15


@functools.lru_cache(maxsize=256)
def _fold_factor(rows, cols):
    """The most rows (at least 2) of ``cols`` values that fit in :data:`FOLD_WIDTH` and divide
    ``rows``; 1 when none does."""
    for k in range(min(rows, FOLD_WIDTH // max(cols, 1)), 1, -1):
        if rows % k == 0:
            return k
    return 1


def sum_leading_axes(xp, x, n_axes, dtype):
    """``x`` summed over its first ``n_axes`` axes in rows folded to :data:`FOLD_WIDTH`, or
    None where that does not apply (small, not C-contiguous, no fold factor): sum it as usual."""
    if x.size < _FOLD_MIN_ELEMENTS or not x.flags.c_contiguous or not 0 < n_axes < x.ndim:
        return None
    rest = x.shape[n_axes:]
    cols = int(np.prod(rest, dtype=np.int64))
    rows = x.size // cols
    k = _fold_factor(rows, cols)
    if k < 2:
        return None
    folded = x.reshape(rows // k, k * cols)
    if xp is np and x.size >= _SPLIT_SUM_ELEMENTS and folded.shape[0] >= 2 * _SPLIT_PARTS:
        wide = _split_row_sum(folded, dtype)
    else:
        wide = xp.sum(folded, axis=0, dtype=dtype)
    return xp.sum(wide.reshape(k, cols), axis=0, dtype=dtype).reshape(rest)


#: From this many elements a folded sum runs as :data:`_SPLIT_PARTS` row ranges on the
#: intra-op threads (NumPy's reduction runs on one): W5's first bias gradient, [73728, 64]
#: folded to [4608, 1024], 0.78 ms in a step on one thread.
_SPLIT_SUM_ELEMENTS = 1 << 20
#: Always this many parts, whatever the thread count, so the sum's order (and bits) is fixed.
_SPLIT_PARTS = 4


def _split_row_sum(a, dtype):
    """``a.sum(axis=0)`` as the sum, in order, of the sums of :data:`_SPLIT_PARTS` row ranges,
    computed on the intra-op threads."""
    from ..runtime import threads
    n = a.shape[0]
    bounds = [n * p // _SPLIT_PARTS for p in range(_SPLIT_PARTS + 1)]
    parts = np.empty((_SPLIT_PARTS, a.shape[1]), dtype)

    def run(p0, p1):
        for p in range(p0, p1):
            np.sum(a[bounds[p]:bounds[p + 1]], axis=0, dtype=dtype, out=parts[p])
    threads.parallel_blocks(run, _SPLIT_PARTS)
    total = parts[0].copy()
    for p in range(1, _SPLIT_PARTS):
        total += parts[p]
    return total


def _sum_to(xp, g, shape):
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, d in enumerate(shape)
                                      if d == 1 and g.shape[i + lead] != 1)
    if not axes:
        return g.reshape(shape)
    if axes == tuple(range(len(axes))):
        s = sum_leading_axes(xp, g, len(axes), g.dtype)
        if s is not None:
            return s.reshape(shape)
    return xp.sum(g, axis=axes, keepdims=True, dtype=g.dtype).reshape(shape)


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
# Select (where) and clip
# ----------------------------------------------------------------------------------------------
def _select_dtypes(op):
    c, x, y = op._inputs
    if c.dtype is not dtypes.bool_:
        raise TypeError("Input 'condition' of '%s' Op has type %s that does not match expected "
                        "type of bool." % (op.type, c.dtype.name))
    if x.dtype is not y.dtype:
        raise TypeError("Input 'e' of '%s' Op has type %s that does not match type %s of "
                        "argument 't'." % (op.type, y.dtype.name, x.dtype.name))


def _is_row_select(c_rank, x_rank):
    """TF1 `Select`: a vector condition picks whole rows of higher-rank x and y."""
    return c_rank == 1 and x_rank is not None and x_rank > 1


def _select_infer(op):
    _select_dtypes(op)
    c, x, y = op._inputs
    if _is_row_select(c._shape.ndims, x._shape.ndims):
        try:
            s = x._shape.merge_with(y._shape)
        except ValueError:
            raise ValueError("x and y must have the same shape, got %s and %s"
                             % (x._shape, y._shape)) from None
        if s[0].value is not None and c._shape[0].value not in (None, s[0].value):
            raise ValueError("condition of length %s cannot select rows of shape %s"
                             % (c._shape[0].value, s))
        return [(x.dtype, s)]
    if c._shape.ndims is None and x._shape.is_compatible_with(y._shape):
        return [(x.dtype, x._shape.merge_with(y._shape))]  # x and y fix the shape (TF1)
    return [(x.dtype, broadcast_shape(broadcast_shape(c._shape, x._shape), y._shape))]


def _select_kernel(op, ctx):
    c, x, _ = op._inputs
    xp = ctx.xp

    def select_rows(c, a, b):
        return xp.where(c.reshape((-1,) + (1,) * (a.ndim - 1)), a, b)

    if _is_row_select(c._shape.ndims, x._shape.ndims):
        return select_rows
    if c._shape.ndims is None or x._shape.ndims is None:
        # Ranks known only at run time: decide there.
        def select_any_rank(c, a, b):
            return (select_rows if _is_row_select(c.ndim, a.ndim) else xp.where)(c, a, b)
        return select_any_rank
    return xp.where


def _select_grad(op, g):
    c = op._inputs[0]
    z = zeros_like_t(g)
    return [None, out(op.type, [c, g, z]), out(op.type, [c, z, g])]


register_op("Select", infer=_select_infer, kernel=_select_kernel, grad=_select_grad,
            broadcasting=True)


def _select_v2_infer(op):
    _select_dtypes(op)
    c, x, y = op._inputs
    return [(x.dtype, broadcast_shape(broadcast_shape(c._shape, x._shape), y._shape))]


register_op("SelectV2", infer=_select_v2_infer, kernel=xp_kernel("where"), grad=_select_grad,
            broadcasting=True)


def _where_indices_kernel(op, ctx):
    xp = ctx.xp
    return lambda c: xp.argwhere(c).astype(np.int64, copy=False)


register_op("Where", infer=lambda op: [(dtypes.int64,
                                        TensorShape([None, op._inputs[0]._shape.ndims]))],
            kernel=_where_indices_kernel, grad=NOT_DIFFERENTIABLE)


def _where(op_type, condition, x, y, name):
    c = convert_to_tensor(condition)
    if x is None and y is None:
        return out("Where", [c], name=name)
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    x, y = core.convert_binary(x, y)
    return out(op_type, [c, x, y], name=name)


def where(condition, x=None, y=None, name=None):
    """Picks from ``x`` where ``condition`` is True, else from ``y`` (TF1 ``Select``).

    ``condition`` has the shape of ``x`` and ``y``, or is a vector that picks whole rows
    (the first dimension) of higher-rank ``x`` and ``y``. With only ``condition``, returns
    the coordinates of its True elements, an int64 matrix with one row per element.

    Args:
        condition: a bool tensor.
        x, y: tensors of the same dtype and shape (or both None).
        name: op name.

    Returns:
        A tensor like ``x``, or the int64 coordinates.

    Example:
        >>> tf.where([True, False], [[1, 2], [3, 4]], [[5, 6], [7, 8]])   # [[1, 2], [7, 8]]
    """
    return _where("Select", condition, x, y, name)


def where_v2(condition, x=None, y=None, name=None):
    """Like :func:`where`, with NumPy broadcasting among ``condition``, ``x`` and ``y``."""
    return _where("SelectV2", condition, x, y, name)


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """Clamps ``t`` elementwise to ``[clip_value_min, clip_value_max]``.

    The gradient flows to ``t`` where it is inside the range (boundaries included).

    Raises:
        ValueError: if the bounds would broadcast ``t`` to a larger shape.
    """
    t = convert_to_tensor(t)
    r = maximum(minimum(t, clip_value_max), clip_value_min, name=name)
    if r._shape.ndims is not None and t._shape.ndims is not None and (
            r._shape.ndims != t._shape.ndims or not r._shape.is_compatible_with(t._shape)):
        raise ValueError("Shapes %s and %s are incompatible: clip bounds must not broadcast t"
                         % (r._shape, t._shape))
    return r


# ----------------------------------------------------------------------------------------------
# Bitwise ops (the integer meaning of &, |, ^ and ~ on tensors)
# ----------------------------------------------------------------------------------------------
_bitwise_and = _binary("BitwiseAnd", "bitwise_and", INTEGERS, NOT_DIFFERENTIABLE)
_bitwise_or = _binary("BitwiseOr", "bitwise_or", INTEGERS, NOT_DIFFERENTIABLE)
_bitwise_xor = _binary("BitwiseXor", "bitwise_xor", INTEGERS, NOT_DIFFERENTIABLE)
_invert = _unary("Invert", "invert", INTEGERS, NOT_DIFFERENTIABLE)


def _logical_or_bitwise(logical, bitwise):
    """``&``/``|``/``^`` on tensors: logical for bool operands, bitwise for integers (as TF)."""
    def op(x, y, name=None):
        x, y = core.convert_binary(x, y)
        return (bitwise if x.dtype.is_integer else logical)(x, y, name=name)
    return op


# ----------------------------------------------------------------------------------------------
# The other math families (built on the ops above), re-exported under their TF1 module
# ----------------------------------------------------------------------------------------------
from . import matmul_ops, reduction_ops, special_math_ops  # noqa: E402
from .matmul_ops import *  # noqa: E402,F401,F403
from .reduction_ops import *  # noqa: E402,F401,F403
from .special_math_ops import *  # noqa: E402,F401,F403

__all__ += reduction_ops.__all__ + matmul_ops.__all__ + special_math_ops.__all__


# ----------------------------------------------------------------------------------------------
# Operators on Tensor
# ----------------------------------------------------------------------------------------------
def _binop(fn, opname):
    op_type = getattr(fn, "_op_type", None)
    if op_type is not None:
        # fn is a plain _binary wrapper: do what it does, finding the creation site once
        # for the op and the Const of a Python scalar operand (``x + 1.0``).
        def forward(x, y):
            loc = user_location(depth=2)  # from the caller of the operator
            x, y = core.convert_binary(x, y, loc)
            return out(op_type, [x, y], name=opname, location=loc)

        def reflected(y, x):
            loc = user_location(depth=2)  # from the caller of the operator
            x, y = core.convert_binary(x, y, loc)
            return out(op_type, [x, y], name=opname, location=loc)
        return forward, reflected

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
        "mod": (floormod, "mod"), "pow": (pow, "pow"), "matmul": (matmul_ops.matmul, "matmul"),
        "and": (_logical_or_bitwise(logical_and, _bitwise_and), "and"),
        "or": (_logical_or_bitwise(logical_or, _bitwise_or), "or"),
        "xor": (_logical_or_bitwise(logical_xor, _bitwise_xor), "xor"),
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
    Tensor.__invert__ = lambda x: (_invert if x.dtype.is_integer else logical_not)(x)


_install_operators()
