"""Math ops: elementwise arithmetic, comparisons, reductions, matmul, casts.

Each op is one block: registration (shape/dtype rule, kernel, gradient) and the
user-facing function beside it. Binary ops broadcast like NumPy; their
gradients are written for same-shaped operands and the gradients driver sums
them back to each input's shape.
"""
import functools
import math
import string

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Tensor
from ..framework.registry import NOT_DIFFERENTIABLE, register_op, xp_kernel
from ..framework.tensor_shape import TensorShape, shape_str, unknown_shape
from . import core
from .core import convert_to_tensor, out
from .shape_rules import (BOOL, FLOATS, FLOATS_COMPLEX, INTEGERS, NUMERIC, REAL, SIGNED,
                          broadcast_shape, check_dtype, normalize_axes, reduced_shape, same_dtypes)

__all__ = [
    "add", "subtract", "multiply", "divide", "truediv", "realdiv", "floordiv", "floor_div",
    "div", "mod", "floormod", "truncatemod", "truncatediv", "pow", "maximum", "minimum",
    "squared_difference", "negative", "abs", "sign", "square", "sqrt", "rsqrt", "exp", "log",
    "log1p", "expm1", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
    "sigmoid", "erf", "erfc", "reciprocal", "round", "floor", "ceil", "rint", "is_nan",
    "is_inf", "is_finite", "lgamma", "digamma", "polygamma", "zeta", "atan2", "equal",
    "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or",
    "logical_not", "logical_xor", "cast", "to_float", "to_int32", "to_int64", "to_double",
    "to_complex64", "to_complex128", "saturate_cast", "add_n", "accumulate_n", "matmul",
    "reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_any",
    "reduce_all", "reduce_logsumexp", "argmax", "argmin", "arg_max", "arg_min", "cumsum",
    "cumprod", "where", "where_v2", "clip_by_value", "tensordot", "einsum", "scalar_mul",
    "count_nonzero", "div_no_nan", "sum_to_shape_of", "broadcast_like", "log_sigmoid",
    "reduce_euclidean_norm", "conj", "real", "imag",
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
        return out(op_type, [convert_to_tensor(x)], name=name)
    op_type = name
    wrapper.__doc__ = "Elementwise ``%s`` (TF op ``%s``)." % (fn_name or name.lower(), name)
    return wrapper


def _binary(name, fn_name, allowed, grad, out_dtype=None, kernel=None):
    register_op(name, infer=_binary_infer(allowed, out_dtype), kernel=kernel or xp_kernel(fn_name),
                grad=grad, broadcasting=grad is not NOT_DIFFERENTIABLE)

    def wrapper(x, y, name=None):
        x, y = core.convert_binary(x, y)
        return out(op_type, [x, y], name=name)
    op_type = name
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
multiply = _binary("Mul", "multiply", NUMERIC,
                   lambda op, g: [g * op._inputs[1], g * op._inputs[0]])
realdiv = _binary("RealDiv", "true_divide", FLOATS_COMPLEX,
                  lambda op, g: [g / op._inputs[1],
                                 -g * op._inputs[0] / square(op._inputs[1])])


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
    return getattr(special, fn_name, None)


def _erf_kernel(op, ctx):
    fast = _special(ctx.xp, "erf")
    if fast is not None:
        return fast
    verf = np.vectorize(math.erf, otypes=[op._inputs[0].dtype.np])
    return lambda x: verf(x).astype(x.dtype, copy=False)


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


# Digamma, Polygamma and Zeta are computed in float64 with NumPy/CuPy only (SciPy is not a
# dependency): digamma by reflection, upward recurrence and its asymptotic series; the
# Hurwitz zeta function by direct summation up to q + n >= 10 and the Euler-Maclaurin
# formula for the rest; polygamma(n, x) = (-1)^(n+1) n! zeta(n+1, x). Poles and domains
# follow TF (Eigen): digamma and polygamma at non-positive integers, zeta(1, q) and zeta at
# non-positive integer q are infinite or NaN; zeta(s < 1, q) is NaN.

# Bernoulli numbers B_2, B_4, ..., B_24 over (2k)!: the Euler-Maclaurin tail coefficients.
_BERNOULLI_2K = [(1, 6), (-1, 30), (1, 42), (-1, 30), (5, 66), (-691, 2730), (7, 6),
                 (-3617, 510), (43867, 798), (-174611, 330), (854513, 138), (-236364091, 2730)]
_EULER_MACLAURIN = [p / q / math.factorial(2 * k) for k, (p, q) in enumerate(_BERNOULLI_2K, 1)]
# n! for n = 0..170 (171! overflows float64).
_FACTORIALS = np.array([float(math.factorial(n)) for n in range(171)])
_SHIFT = 10.0  # series and recurrences move their argument to at least this


def _digamma_f64(xp, x):
    """psi(x) = d/dx log Gamma(x), elementwise in float64 (NaN at non-positive integers)."""
    x = xp.asarray(x, dtype=np.float64)
    pole = (x <= 0) & (x == xp.floor(x))
    neg = (x < 0) & ~pole
    # Reflection psi(x) = psi(1 - x) - pi / tan(pi x); tan has period pi, so subtracting the
    # nearest integer first keeps pi * x exact for large |x|.
    frac = x - xp.round(x)
    y = xp.where(neg, 1.0 - x, x)
    with np.errstate(all="ignore"):  # tan(0) at integers: masked out below
        res = xp.where(neg, -math.pi / xp.tan(math.pi * frac), 0.0)
    # Recurrence psi(y) = psi(y + 1) - 1 / y until every y is past the asymptotic threshold.
    yf, rf = y.reshape(-1), res.reshape(-1)  # views: updates land in y and res
    todo = xp.nonzero(((y < _SHIFT) & ~pole).reshape(-1))[0]
    while todo.size:
        rf[todo] -= 1.0 / yf[todo]
        yf[todo] += 1.0
        todo = todo[yf[todo] < _SHIFT]
    z = 1.0 / (y * y)
    series = z * (1 / 12 - z * (1 / 120 - z * (1 / 252 - z * (1 / 240 - z * (
        1 / 132 - z * (691 / 32760 - z / 12))))))
    with np.errstate(all="ignore"):
        res = res + xp.log(y) - 0.5 / y - series
    return xp.where(pole, np.nan, res)


def _zeta_f64(xp, s, q):
    """The Hurwitz zeta function sum_k (k + q)^-s, elementwise in float64."""
    s, q = xp.broadcast_arrays(xp.asarray(s, dtype=np.float64), xp.asarray(q, dtype=np.float64))
    q_pole = (q <= 0) & (q == xp.floor(q))
    inf = (s == 1) | ((s > 1) & q_pole)
    ok = (s > 1) & ~q_pole & ~((q <= 0) & (s != xp.floor(s)))  # q^-s is complex otherwise
    res = xp.where(inf, np.inf, np.nan)
    idx = xp.nonzero(ok.reshape(-1))[0]
    if not idx.size:
        return res
    sv, a = s.reshape(-1)[idx], q.reshape(-1)[idx].copy()
    total = xp.zeros_like(a)
    # Direct terms (k + q)^-s until q + k >= 10 and at least 10 terms are in.
    todo = xp.arange(a.size)
    n = 0
    while todo.size:
        total[todo] += a[todo] ** -sv[todo]
        a[todo] += 1.0
        n += 1
        if n >= _SHIFT:
            todo = todo[a[todo] < _SHIFT]
    # Euler-Maclaurin tail from a: a^(1-s)/(s-1) + a^-s/2 + sum_k C_k s(s+1)..(s+2k-2) a^(1-s-2k).
    with np.errstate(all="ignore"):  # a^-s may underflow to 0: the tail is then 0
        t = a ** -sv
        total += a * t / (sv - 1.0) + 0.5 * t
        term = sv * t / a
        for k, c in enumerate(_EULER_MACLAURIN, 1):
            total += c * term
            term = term * ((sv + 2 * k - 1) * (sv + 2 * k) / (a * a))
    flat = res.reshape(-1).copy()
    flat[idx] = total
    return flat.reshape(res.shape)


def _polygamma_f64(xp, n, x):
    """The n-th derivative of digamma, elementwise in float64 (NaN unless n is a whole number)."""
    n, x = xp.broadcast_arrays(xp.asarray(n, dtype=np.float64), xp.asarray(x, dtype=np.float64))
    whole = (n >= 0) & (n == xp.floor(n))
    order = xp.where(whole, n, 0.0)
    fact = xp.asarray(_FACTORIALS)[xp.clip(order, 0, 170).astype(np.int64)]
    fact = xp.where(order > 170, np.inf, fact)
    sign = xp.where(order % 2 == 0, -1.0, 1.0)  # (-1)^(n+1)
    with np.errstate(all="ignore"):
        higher = sign * fact * _zeta_f64(xp, order + 1.0, x)
    res = xp.where(order == 0, _digamma_f64(xp, x), higher)
    return xp.where(whole, res, np.nan)


def _float64_kernel(fn):
    """Kernel factory: ``fn(xp, *inputs)`` computed in float64, cast back to the op's dtype."""
    def make(op, ctx):
        xp = ctx.xp
        dt = op._outputs[0].dtype.np

        def special(*xs):
            with np.errstate(all="ignore"):
                return fn(xp, *xs).astype(dt, copy=False)
        return special
    return make


digamma = _unary("Digamma", None, FLOATS,
                 lambda op, g: [g * polygamma(_scalar_like(1, op._inputs[0]), op._inputs[0])],
                 kernel=_float64_kernel(_digamma_f64))
digamma.__doc__ = "Elementwise ``psi(x)``, the derivative of ``lgamma`` (TF op ``Digamma``)."

polygamma = _binary("Polygamma", None, FLOATS,
                    lambda op, g: [None, g * polygamma(op._inputs[0] + 1.0, op._inputs[1])],
                    kernel=_float64_kernel(_polygamma_f64))
polygamma.__doc__ = """Elementwise ``psi^(a)(x)``, the ``a``-th derivative of digamma.

    ``a`` must hold whole numbers (NaN elsewhere); ``polygamma(0, x)`` is ``digamma(x)``. The
    gradient with respect to ``x`` is ``polygamma(a + 1, x)``; ``a`` gets none (as in TF).

    Example:
        >>> tf.polygamma(1.0, 1.0)   # trigamma(1) = pi**2 / 6
    """

zeta = _binary("Zeta", None, FLOATS,
               lambda op, g: [None, g * -op._inputs[0] * zeta(op._inputs[0] + 1.0,
                                                               op._inputs[1])],
               kernel=_float64_kernel(_zeta_f64))
zeta.__doc__ = """Elementwise Hurwitz zeta function ``sum_k (k + q)^-x`` (TF op ``Zeta``).

    Defined for ``x > 1`` (infinite at ``x == 1``, NaN below); the gradient with respect to
    ``q`` is ``-x * zeta(x + 1, q)``; ``x`` gets none (as in TF).
    """


def _scalar_like(value, t):
    """A scalar constant of ``t``'s dtype, in ``t``'s graph."""
    with t.graph.as_default():
        return core.constant(value, dtype=t.dtype)

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
    if op._inputs[0].dtype.is_complex:
        return lambda x: 1 / (1 + xp.exp(-x))
    fast = _special(xp, "expit")
    if fast is not None:
        return fast

    def sigmoid_(x):
        # exp(-|x|) never overflows; pick the stable form per sign.
        e = xp.exp(-xp.abs(x))
        r = 1 / (1 + e)
        return xp.where(x >= 0, r, e * r)
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
# MatMul
# ----------------------------------------------------------------------------------------------
# TF's MatMul/BatchMatMul type list (no int8/int16, no bool).
_MATMUL_TYPES = FLOATS_COMPLEX | {dtypes.int32, dtypes.int64, dtypes.uint8, dtypes.uint16,
                                  dtypes.uint32, dtypes.uint64}


def _inner_dims_error(op, k1, k2):
    a, b = op._inputs
    return ValueError("Dimensions must be equal, but are %d and %d for '%s' (op: '%s') with input "
                      "shapes: %s, %s." % (k1, k2, op.name, op.type, a._shape, b._shape))


def _matmul_infer(op):
    a, b = op._inputs
    d = same_dtypes(op, ("a", "b"))
    check_dtype(op, a, _MATMUL_TYPES, "a")
    ta, tb = op._attrs["transpose_a"], op._attrs["transpose_b"]
    sa, sb = a._shape.as_tuple(), b._shape.as_tuple()
    for s in (sa, sb):
        if s is not None and len(s) != 2:
            raise ValueError("Shape must be rank 2 but is rank %d for '%s' (op: 'MatMul') with "
                             "input shapes: %s, %s." % (len(s), op.name, shape_str(sa),
                                                        shape_str(sb)))
    m, k1 = (None, None) if sa is None else ((sa[1], sa[0]) if ta else sa)
    k2, n = (None, None) if sb is None else ((sb[1], sb[0]) if tb else sb)
    if k1 is not None and k2 is not None and k1 != k2:
        raise _inner_dims_error(op, k1, k2)
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
    check_dtype(op, a, _MATMUL_TYPES, "x")
    ax, ay = op._attrs["adj_x"], op._attrs["adj_y"]
    sa, sb = a._shape.as_tuple(), b._shape.as_tuple()
    for s in (sa, sb):
        if s is not None and len(s) < 2:
            raise ValueError("Shape must be at least rank 2 but is rank %d for '%s' (op: "
                             "'BatchMatMul') with input shapes: %s, %s."
                             % (len(s), op.name, shape_str(sa), shape_str(sb)))
    if sa is None or sb is None:
        return [(d, unknown_shape())]
    m, k1 = (sa[-1], sa[-2]) if ax else (sa[-2], sa[-1])
    k2, n = (sb[-1], sb[-2]) if ay else (sb[-2], sb[-1])
    if k1 is not None and k2 is not None and k1 != k2:
        raise _inner_dims_error(op, k1, k2)
    batch = broadcast_shape(TensorShape(sa[:-2]), TensorShape(sb[:-2]))
    return [(d, batch.concatenate([m, n]))]


def _batch_matmul_kernel(op, ctx):
    ax, ay = op._attrs["adj_x"], op._attrs["adj_y"]
    xp = ctx.xp
    mm, t = xp.matmul, xp.swapaxes
    if not ax and not ay:
        return mm
    if ax and ay:
        return lambda a, b: mm(t(a, -1, -2), t(b, -1, -2))
    if ax:
        return lambda a, b: mm(t(a, -1, -2), b)
    return lambda a, b: mm(a, t(b, -1, -2))


def _batch_matmul_grad(op, g):
    a, b = op._inputs
    ax, ay = op._attrs["adj_x"], op._attrs["adj_y"]
    if not ax and not ay:
        return [matmul(g, b, adjoint_b=True), matmul(a, g, adjoint_a=True)]
    if not ax and ay:
        return [matmul(g, b), matmul(g, a, adjoint_a=True)]
    if ax and not ay:
        return [matmul(b, g, adjoint_b=True), matmul(a, g)]
    return [matmul(b, g, adjoint_a=True, adjoint_b=True),
            matmul(g, a, adjoint_a=True, adjoint_b=True)]


register_op("BatchMatMul", infer=_batch_matmul_infer, kernel=_batch_matmul_kernel,
            grad=_batch_matmul_grad, broadcasting=True)


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, name=None):
    """Matrix product ``a @ b``; inputs of rank > 2 are batches of matrices.

    Args:
        a, b: tensors of one dtype; batch dimensions (all but the last two) broadcast.
        transpose_a, transpose_b: use the transpose of the last two dims of ``a``/``b``.
        adjoint_a, adjoint_b: the same for real types (conjugate transpose).
        a_is_sparse, b_is_sparse: hints, ignored.
        name: op name.

    Returns:
        ``[..., M, N]`` for ``a`` of ``[..., M, K]`` and ``b`` of ``[..., K, N]``.

    Raises:
        ValueError: at construction, if the inner dimensions differ (naming both shapes).

    Example:
        >>> tf.matmul(tf.ones([2, 3]), tf.ones([3, 4])).shape   # (2, 4)
    """
    if transpose_a and adjoint_a or transpose_b and adjoint_b:
        raise ValueError("Only one of transpose and adjoint may be True for each input.")
    a, b = core.convert_binary(a, b)
    ra, rb = a._shape.ndims, b._shape.ndims
    if ra is not None and rb is not None and 0 < ra <= 2 and 0 < rb <= 2:
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
# The "axis" attr holds the reduction axes known at construction: None (all axes) or a sorted
# tuple, normalized to non-negative values whenever the input rank is known (NumPy takes negative
# axes as they are otherwise). Axes only known at run time are a second input instead.
def _static_axes(op):
    """The op's reduction axes (None = all), or _RUNTIME_AXES when they are an input tensor."""
    return op._attrs["axis"] if len(op._inputs) == 1 else _RUNTIME_AXES


_RUNTIME_AXES = object()


def _reduce_infer(allowed):
    def infer(op):
        x = op._inputs[0]
        check_dtype(op, x, allowed, "input")
        keep = op._attrs["keep_dims"]
        axes = _static_axes(op)
        if axes is _RUNTIME_AXES:
            r = x._shape.ndims
            return [(x.dtype, unknown_shape(r) if keep and r is not None else unknown_shape())]
        if axes is None and not keep:
            return [(x.dtype, TensorShape([]))]
        normalize_axes(axes, x._shape.ndims)  # raises for an axis out of range
        return [(x.dtype, reduced_shape(x._shape, axes, keep))]
    return infer


def _reduce_kernel(fn_name, initial=None):
    """Kernel factory for ``xp.<fn_name>`` reductions.

    Integer sums and products pass the output dtype (NumPy would widen to int64);
    ``initial`` gives max/min their identity so empty inputs reduce to -inf/+inf as in TF.
    """
    def make(op, ctx):
        xp = ctx.xp
        f = getattr(xp, fn_name)
        keep = op._attrs["keep_dims"]
        x_dt = op._inputs[0].dtype
        kw = {}
        if x_dt.is_integer and fn_name in ("sum", "prod"):
            kw["dtype"] = x_dt.np
        if initial is not None and xp is np:
            kw["initial"] = initial(x_dt)
        if len(op._inputs) == 1:
            return functools.partial(f, axis=op._attrs["axis"], keepdims=keep, **kw)

        def reduce_dynamic(x, axis):
            return f(x, axis=_runtime_axes(axis, x.ndim), keepdims=keep, **kw)
        return reduce_dynamic
    return make


def _runtime_axes(axis, rank):
    return tuple(int(a) % max(rank, 1) for a in np.reshape(np.asarray(axis), [-1]))


def _lowest(dt):
    return -np.inf if dt.is_floating else dt.min


def _highest(dt):
    return np.inf if dt.is_floating else dt.max


def _mean_kernel(op, ctx):
    """Float means are ``xp.mean``; integer means truncate toward zero, as TF's do."""
    if not op._inputs[0].dtype.is_integer:
        return _reduce_kernel("mean")(op, ctx)
    xp = ctx.xp
    total = _reduce_kernel("sum")(op, ctx)
    npd = op._inputs[0].dtype.np
    static = len(op._inputs) == 1
    axes = op._attrs["axis"] if static else None

    def int_mean(x, *axis):
        s = total(x, *axis)
        ax = axes if static else _runtime_axes(axis[0], x.ndim)
        n = x.size if ax is None else int(np.prod([x.shape[a] for a in ax]))
        return (xp.sign(s) * (xp.abs(s) // max(n, 1))).astype(npd, copy=False)
    return int_mean


def _reduce_like(op, t, keep_dims=None):
    """Sums ``t`` over the axes ``op`` reduces (with op's keep_dims unless given)."""
    attrs = dict(op._attrs)
    if keep_dims is not None:
        attrs["keep_dims"] = keep_dims
    return out("Sum", [t] + list(op._inputs[1:]), attrs)


def _expand_reduced(op, g, mean=False):
    """Broadcasts a reduction's output (or its gradient) ``g`` back to the input's shape;
    ``mean`` also divides by the number of elements reduced into each output."""
    attrs = {"keep_dims": op._attrs["keep_dims"], "mean": mean}
    if len(op._inputs) == 1:
        attrs["axis"] = op._attrs["axis"]
    return out("ReductionGradBroadcast", [g] + list(op._inputs), attrs)


def _grad_broadcast_infer(op):
    return [(op._inputs[0].dtype, op._inputs[1]._shape)]


def _grad_broadcast_kernel(op, ctx):
    xp = ctx.xp
    a = op._attrs
    static = len(op._inputs) == 2
    if a["keep_dims"] or static and a["axis"] is None:
        def expand(g, x, *axis):
            return xp.broadcast_to(g, x.shape)
    elif static and all(ax >= 0 for ax in a["axis"]):
        axes = a["axis"]

        def expand(g, x):
            return xp.broadcast_to(xp.expand_dims(g, axes), x.shape)
    elif static:
        axes = a["axis"]

        def expand(g, x):
            return xp.broadcast_to(xp.expand_dims(g, tuple(sorted(ax % x.ndim for ax in axes))),
                                   x.shape)
    else:
        def expand(g, x, axis):
            return xp.broadcast_to(
                xp.expand_dims(g, tuple(sorted(set(_runtime_axes(axis, x.ndim))))), x.shape)
    if not a["mean"]:
        return expand

    def expand_mean(g, x, *axis):
        # Dividing the reduced g (not the broadcast result) touches the fewest elements.
        n = x.size // max(g.size, 1)
        return expand(g / g.dtype.type(n) if n > 1 else g, x, *axis)
    return expand_mean


def _grad_broadcast_grad(op, gg):
    a = op._attrs
    attrs = {"keep_dims": a["keep_dims"]}
    if len(op._inputs) == 2:
        attrs["axis"] = a["axis"]
    reduced = out("Mean" if a["mean"] else "Sum", [gg] + list(op._inputs[2:]), attrs)
    return [reduced] + [None] * (len(op._inputs) - 1)


register_op("ReductionGradBroadcast", infer=_grad_broadcast_infer, kernel=_grad_broadcast_kernel,
            grad=_grad_broadcast_grad,
            doc="Broadcasts a reduced tensor back over the reduced axes of its second input "
                "(the shared step of reduction gradients), optionally divided by the count.")


def _sum_grad(op, g):
    return [_expand_reduced(op, g)] + [None] * (len(op._inputs) - 1)


def _mean_grad(op, g):
    return [_expand_reduced(op, g, mean=True)] + [None] * (len(op._inputs) - 1)


def _minmax_grad(op, g):
    """The gradient goes to the elements equal to the extremum, split equally among ties (TF)."""
    x, y = op._inputs[0], op._outputs[0]
    hit = cast(equal(x, _expand_reduced(op, y)), g.dtype)
    count = _reduce_like(op, hit)
    return [hit * _expand_reduced(op, g / count)] + [None] * (len(op._inputs) - 1)


def _prod_others(x, axes):
    """For each element, the product of the other elements of its group along ``axes``.

    Built from exclusive cumulative products (no division, so zeros are exact) and thus
    differentiable again. Over several axes the product factorizes: the others along the
    last axis, times the others (along the remaining axes) of the last axis' full products.
    """
    if not axes:
        return ones_like_t(x)
    a = axes[-1]
    res = cumprod(x, a, exclusive=True) * cumprod(x, a, exclusive=True, reverse=True)
    if len(axes) > 1:
        res = res * _prod_others(reduce_prod(x, a, keepdims=True), axes[:-1])
    return res


def _prod_grad(op, g):
    from .array_ops import reshape, reshape_like
    axes = _static_axes(op)
    x = op._inputs[0]
    if axes is _RUNTIME_AXES:
        raise NotImplementedError("Gradient of reduce_prod over axes given at run time is not "
                                  "supported (op %s); pass a constant axis" % op.name)
    if axes is None:  # all axes: work on the flattened input, whatever its rank
        others = reshape_like(_prod_others(reshape(x, [-1]), (0,)), x)
    else:
        others = _prod_others(x, axes)
    return [_expand_reduced(op, g) * others]


register_op("Sum", infer=_reduce_infer(NUMERIC), kernel=_reduce_kernel("sum"), grad=_sum_grad)
register_op("Mean", infer=_reduce_infer(NUMERIC), kernel=_mean_kernel, grad=_mean_grad)
register_op("Max", infer=_reduce_infer(REAL), kernel=_reduce_kernel("max", _lowest),
            grad=_minmax_grad)
register_op("Min", infer=_reduce_infer(REAL), kernel=_reduce_kernel("min", _highest),
            grad=_minmax_grad)
register_op("Prod", infer=_reduce_infer(NUMERIC), kernel=_reduce_kernel("prod"), grad=_prod_grad)
register_op("Any", infer=_reduce_infer(BOOL), kernel=_reduce_kernel("any"), grad=NOT_DIFFERENTIABLE)
register_op("All", infer=_reduce_infer(BOOL), kernel=_reduce_kernel("all"), grad=NOT_DIFFERENTIABLE)


def _axis_list(axis):
    """A user's axis argument (int, list, array or constant tensor) as a tuple of ints, or a
    Tensor when its value is only known at run time."""
    if isinstance(axis, Tensor):
        v = core.constant_value(axis)
        if v is None:
            return axis
        axis = v
    return tuple(int(a) for a in np.reshape(np.asarray(axis), [-1]))


def _reduce(op_type, input_tensor, axis, keepdims, name, keep_dims=None, reduction_indices=None):
    x = convert_to_tensor(input_tensor)
    if keep_dims is not None:
        keepdims = keep_dims
    if axis is None:
        axis = reduction_indices
    keepdims = bool(keepdims)
    if axis is None:
        return out(op_type, [x], {"axis": None, "keep_dims": keepdims}, name=name)
    axes = _axis_list(axis)
    if isinstance(axes, Tensor):
        return out(op_type, [x, axes], {"keep_dims": keepdims}, name=name)
    rank = x._shape.ndims
    if rank is not None and all(-rank <= a < rank for a in axes):
        axes = normalize_axes(axes, rank)
    return out(op_type, [x], {"axis": tuple(sorted(axes)), "keep_dims": keepdims}, name=name)


def reduce_sum(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """Sum over ``axis`` (all axes if None); integer sums keep their dtype.

    Args:
        input_tensor: the tensor to reduce.
        axis: an int, a list of ints (negative counts from the end) or None for all axes.
        keepdims: keep reduced axes with length 1.
        name: op name.
        reduction_indices, keep_dims: deprecated TF1 spellings of ``axis`` and ``keepdims``.

    Returns:
        The reduced tensor, of ``input_tensor``'s dtype.

    Example:
        >>> tf.reduce_sum(tf.ones([2, 3]), axis=1)   # [3., 3.]
    """
    return _reduce("Sum", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_mean(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                keep_dims=None):
    """Mean over ``axis``; integer inputs give an integer (truncated) mean, as in TF."""
    return _reduce("Mean", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_max(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """Maximum over ``axis``; its gradient is shared equally among tied maxima."""
    return _reduce("Max", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_min(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """Minimum over ``axis``; its gradient is shared equally among tied minima."""
    return _reduce("Min", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_prod(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                keep_dims=None):
    """Product over ``axis``; its gradient is exact when the input holds zeros."""
    return _reduce("Prod", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_any(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """Logical or over ``axis`` of a bool tensor."""
    return _reduce("Any", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_all(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    """Logical and over ``axis`` of a bool tensor."""
    return _reduce("All", input_tensor, axis, keepdims, name, keep_dims, reduction_indices)


def reduce_logsumexp(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                     keep_dims=None):
    """``log(sum(exp(x)))`` over ``axis``, computed stably by subtracting the maximum first."""
    from .gradients import stop_gradient
    x = convert_to_tensor(input_tensor)
    if keep_dims is not None:
        keepdims = keep_dims
    if axis is None:
        axis = reduction_indices
    m = stop_gradient(reduce_max(x, axis, keepdims=True))
    m = where(is_finite(m), m, zeros_like_t(m))
    # Summing m over the reduced (length-1) axes drops them exactly when keepdims is False.
    r = log(reduce_sum(exp(x - m), axis, keepdims=keepdims))
    r = r + reduce_sum(m, axis, keepdims=keepdims)
    return r if name is None else out("Identity", [r], name=name)


def reduce_euclidean_norm(input_tensor, axis=None, keepdims=False, name=None):
    """``sqrt(reduce_sum(square(x)))`` over ``axis``."""
    return sqrt(reduce_sum(square(input_tensor), axis, keepdims), name=name)


def count_nonzero(input_tensor, axis=None, keepdims=None, dtype=dtypes.int64, name=None,
                  reduction_indices=None, keep_dims=None):
    """Number of nonzero elements over ``axis`` (int64 by default)."""
    x = convert_to_tensor(input_tensor)
    nz = cast(not_equal(x, zeros_like_t(x)), dtypes.int64)
    return cast(reduce_sum(nz, axis, keepdims, reduction_indices=reduction_indices,
                           keep_dims=keep_dims), dtype, name=name)


# ----------------------------------------------------------------------------------------------
# ArgMax / ArgMin / Cumsum / Cumprod
# ----------------------------------------------------------------------------------------------
def _arg_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, REAL | BOOL, "input")
    axis, rank = op._attrs["axis"], x._shape.ndims
    if rank is None:
        return [(op._attrs["output_type"], unknown_shape())]
    if not -rank <= axis < rank:
        raise ValueError("Dimension (%d) must be in the range [%d, %d), where %d is the number of "
                         "dimensions in the input." % (axis, -rank, rank, rank))
    return [(op._attrs["output_type"], reduced_shape(x._shape, (axis % rank,), False))]


def _arg_kernel(fn):
    def make(op, ctx):
        f = getattr(ctx.xp, fn)
        axis = op._attrs["axis"]
        npd = op._attrs["output_type"].np
        return lambda x: f(x, axis=axis).astype(npd, copy=False)
    return make


register_op("ArgMax", infer=_arg_infer, kernel=_arg_kernel("argmax"), grad=NOT_DIFFERENTIABLE)
register_op("ArgMin", infer=_arg_infer, kernel=_arg_kernel("argmin"), grad=NOT_DIFFERENTIABLE)


def _const_axis(axis, what):
    if isinstance(axis, Tensor):
        v = core.constant_value(axis)
        if v is None:
            raise NotImplementedError("%s needs an axis known when the graph is built" % what)
        axis = v
    return int(np.asarray(axis).reshape(()))


def _arg(op_type, x, axis, output_type, name, dimension):
    x = convert_to_tensor(x)
    if axis is None:
        axis = dimension if dimension is not None else 0
    axis = _const_axis(axis, op_type)
    return out(op_type, [x], {"axis": axis, "output_type": dtypes.as_dtype(output_type)}, name=name)


def argmax(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    """Index of the largest value along ``axis`` (the first one on ties).

    Args:
        input: a real or bool tensor.
        axis: the axis to reduce (default 0); ``dimension`` is its deprecated TF1 name.
        output_type: int64 (the TF1 default) or int32.
        name: op name.

    Returns:
        A tensor of ``output_type`` with ``axis`` removed.
    """
    return _arg("ArgMax", input, axis, output_type, name, dimension)


def argmin(input, axis=None, name=None, dimension=None, output_type=dtypes.int64):  # noqa: A002
    """Index of the smallest value along ``axis`` (int64 by default, as in TF1)."""
    return _arg("ArgMin", input, axis, output_type, name, dimension)


def arg_max(input, dimension, output_type=dtypes.int64, name=None):  # noqa: A002
    """The TF1 op-level name of :func:`argmax` (``dimension`` is the axis)."""
    return _arg("ArgMax", input, dimension, output_type, name, None)


def arg_min(input, dimension, output_type=dtypes.int64, name=None):  # noqa: A002
    """The TF1 op-level name of :func:`argmin` (``dimension`` is the axis)."""
    return _arg("ArgMin", input, dimension, output_type, name, None)


def _cum_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, NUMERIC)
    rank = x._shape.ndims
    axis = op._attrs["axis"]
    if rank is not None and not -rank <= axis < rank:
        raise ValueError("ScanOp: Expected scan axis in the range [%d, %d), but got %d"
                         % (-rank, rank, axis))
    return [(x.dtype, x._shape)]


def _cum_kernel(fn, ident):
    """Kernel factory for cumulative sums/products; exclusive and reverse are bound here."""
    def make(op, ctx):
        xp = ctx.xp
        f = getattr(xp, fn)
        axis, excl, rev = op._attrs["axis"], op._attrs["exclusive"], op._attrs["reverse"]
        dt = op._outputs[0].dtype.np
        # Index tuples selecting [1:] / [:-1] along `axis`, valid whatever the rank.
        lead = (slice(None),) * axis if axis >= 0 else (Ellipsis,)
        tail = () if axis >= 0 else (slice(None),) * (-axis - 1)
        first, rest, head = lead + (slice(0, 1),) + tail, lead + (slice(1, None),) + tail, \
            lead + (slice(None, -1),) + tail

        def scan(x):
            return f(x, axis=axis, dtype=dt)

        def scan_exclusive(x):
            r = f(x, axis=axis, dtype=dt)
            res = xp.empty_like(r)
            res[first] = ident
            res[rest] = r[head]
            return res

        k = scan_exclusive if excl else scan
        if rev:
            return lambda x: xp.flip(k(xp.flip(x, axis)), axis)
        return k
    return make


def _cumsum_grad(op, g):
    a = op._attrs
    return [cumsum(g, a["axis"], exclusive=a["exclusive"], reverse=not a["reverse"])]


def _cumprod_grad(op, g):
    # As TF: the division by x is div_no_nan, so zeros in x get a zero gradient.
    a = op._attrs
    x, y = op._inputs[0], op._outputs[0]
    s = cumsum(g * y, a["axis"], exclusive=a["exclusive"], reverse=not a["reverse"])
    return [div_no_nan(s, x)]


register_op("Cumsum", infer=_cum_infer, kernel=_cum_kernel("cumsum", 0), grad=_cumsum_grad)
register_op("Cumprod", infer=_cum_infer, kernel=_cum_kernel("cumprod", 1), grad=_cumprod_grad)


def _cum(op_type, x, axis, exclusive, reverse, name):
    x = convert_to_tensor(x)
    return out(op_type, [x], {"axis": _const_axis(axis, op_type), "exclusive": bool(exclusive),
                              "reverse": bool(reverse)}, name=name)


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    """Cumulative sum along ``axis``.

    Args:
        x: a numeric tensor.
        axis: the axis to scan (negative counts from the end).
        exclusive: leave each element out of its own sum (the first output is 0).
        reverse: scan from the end.
        name: op name.

    Returns:
        A tensor of ``x``'s shape and dtype.

    Example:
        >>> tf.cumsum([1, 2, 3], exclusive=True)   # [0, 1, 3]
    """
    return _cum("Cumsum", x, axis, exclusive, reverse, name)


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):
    """Cumulative product along ``axis`` (``exclusive``/``reverse`` as in :func:`cumsum`)."""
    return _cum("Cumprod", x, axis, exclusive, reverse, name)


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
# Einsum and tensordot
# ----------------------------------------------------------------------------------------------
# An equation is parsed against the input ranks into explicit one-letter labels: "..." becomes
# fresh letters (the broadcast labels, right-aligned as in NumPy), which may broadcast (1 vs n);
# every other label must have one size. The "broadcast" attr lists labels that gradient einsums
# (whose equations are explicit) may broadcast.
def _einsum_spec(op):
    """Parses an Einsum op: (input label strings, output labels, broadcast labels)."""
    return _parse_einsum(op._attrs["equation"], [t._shape for t in op._inputs],
                         op._attrs.get("broadcast", ""))


def _parse_einsum(equation, shapes, broadcast=""):
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError("einsum equation %r has %d inputs, but %d tensors were given"
                         % (equation, len(ins), len(shapes)))
    for s in ins + [rhs]:
        if not all(c in string.ascii_letters for c in s.replace("...", "")):
            raise ValueError("einsum: invalid subscripts %r in equation %r" % (s, equation))
    fresh = [c for c in string.ascii_letters if c not in eq]
    n_ell = []
    for s, shp in zip(ins, shapes):
        k = 0
        if "..." in s:
            if shp.ndims is None:
                raise ValueError("einsum: an input with '...' (subscripts %r) needs a known rank"
                                 % s)
            k = shp.ndims - (len(s) - 3)
            if k < 0:
                raise ValueError("einsum: input with subscripts %r has rank %d" % (s, shp.ndims))
        n_ell.append(k)
    nb = max(n_ell, default=0)
    batch = "".join(fresh[:nb])
    ins = [s.replace("...", batch[nb - k:]) for s, k in zip(ins, n_ell)]
    if not arrow:  # implicit output: the labels used once, sorted
        used = "".join(ins)
        rhs = "".join(sorted(c for c in set(used) if used.count(c) == 1))
    if "..." in rhs:
        rhs = rhs.replace("...", batch)
    elif nb:
        raise ValueError("einsum equation %r needs '...' in its output subscripts, where the "
                         "inputs have broadcast dimensions" % equation)
    for c in rhs:
        if rhs.count(c) > 1 or not any(c in s for s in ins):
            raise ValueError("einsum: output label %r of %r must appear once in the output and "
                             "in some input" % (c, equation))
    return ins, rhs, batch + broadcast


def _einsum_infer(op):
    ins, rhs, bcast = _einsum_spec(op)
    same_dtypes(op, tuple("inputs[%d]" % i for i in range(len(op._inputs))))
    check_dtype(op, op._inputs[0], NUMERIC, "inputs")
    sizes = {}  # label -> static size; broadcast labels keep None while only 1s and Nones seen
    seen_unknown = set()
    for spec, t in zip(ins, op._inputs):
        dims = t._shape.as_tuple()
        if dims is None:
            seen_unknown.update(spec)
            continue
        if len(dims) != len(spec):
            raise ValueError("einsum: input with subscripts %r has rank %d" % (spec, len(dims)))
        for c, d in zip(spec, dims):
            old = sizes.get(c)
            if d is None:
                seen_unknown.add(c)
            elif old is None or c in bcast and old == 1:
                sizes[c] = d
            elif old != d and not (c in bcast and d == 1):
                raise ValueError("Dimensions must be equal, but are %d and %d for einsum label %r "
                                 "(equation %r, input shapes %s)" % (old, d, c, op._attrs[
                                     "equation"], ", ".join(str(i._shape) for i in op._inputs)))
    for c in bcast:
        if sizes.get(c) == 1 and c in seen_unknown:
            del sizes[c]  # 1 against an unknown size: the broadcast result is unknown
    return [(op._inputs[0].dtype, TensorShape([sizes.get(c) for c in rhs]))]


# Contractions with fewer multiply-adds than this run in NumPy's C einsum loop; larger ones
# go through BLAS (tensordot), whose fixed cost only pays off from about this size.
_EINSUM_BLAS_MACS = 8192


def _einsum_kernel(op, ctx):
    xp = ctx.xp
    ins, rhs, _ = _einsum_spec(op)
    eq = ",".join(ins) + "->" + rhs
    small = functools.partial(xp.einsum, eq)
    if len(ins) == 1:
        return small
    macs = _macs_fn([t._shape.as_tuple() for t in op._inputs], ins)
    big = (_tensordot_fn(xp, ins, rhs) if len(ins) == 2 else None) or \
        functools.partial(xp.einsum, eq, optimize=True)
    if isinstance(macs, int):  # every size known now: choose once
        return big if macs >= _EINSUM_BLAS_MACS else small

    def einsum_kernel(*xs):
        return (big if macs(xs) >= _EINSUM_BLAS_MACS else small)(*xs)
    return einsum_kernel


def _macs_fn(dims, ins):
    """The product of all label sizes: an int if known statically, else a function of the inputs."""
    where_ = {}
    for i, spec in enumerate(ins):
        for ax, c in enumerate(spec):
            where_.setdefault(c, (i, ax))
    if all(d is not None and None not in d for d in dims):
        return int(np.prod([dims[i][ax] for i, ax in where_.values()]))
    picks = list(where_.values())

    def macs(xs):
        n = 1
        for i, ax in picks:
            n *= xs[i].shape[ax]
        return n
    return macs


def _tensordot_fn(xp, ins, rhs):
    """``xp.tensordot`` plus a transpose for a two-input einsum that is a plain contraction
    (no repeated, summed-out-alone or batch labels); None for other equations."""
    a, b = ins
    if len(set(a)) != len(a) or len(set(b)) != len(b):
        return None
    if any(c not in b and c not in rhs for c in a) or any(c not in a and c not in rhs for c in b):
        return None
    if any(c in b and c in rhs for c in a):
        return None
    summed = [c for c in a if c in b]
    if not summed:
        return None
    axes = ([a.index(c) for c in summed], [b.index(c) for c in summed])
    got = [c for c in a if c not in summed] + [c for c in b if c not in summed]
    perm = tuple(got.index(c) for c in rhs)
    tensordot = xp.tensordot
    if perm == tuple(range(len(perm))):
        return lambda x, y: tensordot(x, y, axes)
    return lambda x, y: xp.transpose(tensordot(x, y, axes), perm)


def _einsum_grad(op, g):
    ins, rhs, bcast = _einsum_spec(op)
    grads = []
    for i, (spec, x) in enumerate(zip(ins, op._inputs)):
        others = [t for j, t in enumerate(op._inputs) if j != i]
        other_specs = [s for j, s in enumerate(ins) if j != i]
        present = set(rhs).union(*other_specs)
        kept = [p for p, c in enumerate(spec) if c in present and spec.index(c) == p]
        target = "".join(spec[p] for p in kept)
        if not others and target == rhs:
            r = g
        else:
            r = out("Einsum", [g] + others,
                    {"equation": ",".join([rhs] + other_specs) + "->" + target, "broadcast": bcast})
        if len(kept) < len(spec):  # repeated or summed-out labels: back to x's layout
            from .array_ops import expand_dims_axes
            r = expand_dims_axes(r, [p for p in range(len(spec)) if p not in kept])
            r = r * _einsum_diagonal_mask(spec, x)
        xt = x._shape.as_tuple()
        if any(c in bcast for c in spec) and (xt is None or None in xt
                                              or r._shape.as_tuple() != xt):
            r = sum_to_shape_of(r, x)  # broadcast labels: sum back where x had length 1
        grads.append(r)
    return grads


def _einsum_diagonal_mask(spec, x):
    """Ones of x's shape, zeroed off the diagonals of labels repeated in ``spec``."""
    mask = ones_like_t(x)
    idx = {}
    for p, c in enumerate(spec):
        if spec.count(c) > 1:
            idx[p] = cumsum(mask, p, exclusive=True)  # the index along axis p
    for p, c in enumerate(spec):
        first = spec.index(c)
        if p != first and p in idx:
            mask = mask * cast(equal(idx[first], idx[p]), x.dtype)
    return mask


register_op("Einsum", infer=_einsum_infer, kernel=_einsum_kernel, grad=_einsum_grad)


def einsum(equation, *inputs, **kwargs):
    """Einstein summation over labelled axes, as ``numpy.einsum``.

    Args:
        equation: e.g. ``'ij,jk->ik'``; ``...`` stands for broadcast dimensions (it must then
            appear in the output too); without ``->`` the output is the labels used once,
            sorted.
        *inputs: tensors of one dtype.
        name: op name (keyword only).

    Returns:
        The contracted tensor.

    Example:
        >>> tf.einsum('bij,bjk->bik', a, b)   # batched matmul
    """
    name = kwargs.pop("name", None)
    if kwargs:
        raise TypeError("einsum() got unexpected keyword arguments: %s" % ", ".join(kwargs))
    ts = [convert_to_tensor(t) for t in inputs]
    return out("Einsum", ts, {"equation": equation.replace(" ", "")}, name=name)


def tensordot(a, b, axes, name=None):
    """Contracts ``a`` and ``b`` over ``axes``.

    Args:
        a, b: tensors of one dtype and known rank.
        axes: an int N (the last N axes of ``a`` with the first N of ``b``), or a pair of axis
            lists ``[axes_a, axes_b]``.
        name: op name.

    Returns:
        A tensor with the free axes of ``a`` followed by those of ``b``.
    """
    a, b = core.convert_binary(a, b)
    ra, rb = a._shape.ndims, b._shape.ndims
    if ra is None or rb is None:
        raise ValueError("tensordot needs inputs of known rank, got %s and %s" % (a.shape, b.shape))
    if isinstance(axes, Tensor):
        v = core.constant_value(axes)
        if v is None:
            raise ValueError("tensordot needs axes known when the graph is built")
        axes = v.tolist()
    if isinstance(axes, int):
        if not 0 <= axes <= min(ra, rb):
            raise ValueError("'axes' must be at most %d, got %d" % (min(ra, rb), axes))
        axes_a, axes_b = list(range(ra - axes, ra)), list(range(axes))
    else:
        axes_a, axes_b = axes
        axes_a = [axes_a] if isinstance(axes_a, int) else list(axes_a)
        axes_b = [axes_b] if isinstance(axes_b, int) else list(axes_b)
        if len(axes_a) != len(axes_b):
            raise ValueError("tensordot: %d axes of a but %d of b" % (len(axes_a), len(axes_b)))
    axes_a = [x % ra for x in axes_a]
    axes_b = [x % rb for x in axes_b]
    letters = string.ascii_letters
    sa = list(letters[:ra])
    sb = list(letters[ra:ra + rb])
    for i, j in zip(axes_a, axes_b):
        sb[j] = sa[i]
    rhs = [c for i, c in enumerate(sa) if i not in axes_a] + [c for j, c in enumerate(sb)
                                                               if j not in axes_b]
    return einsum("%s,%s->%s" % ("".join(sa), "".join(sb), "".join(rhs)), a, b,
                  name=name or "Tensordot")


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
