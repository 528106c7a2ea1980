"""The math ops TF 1.15 has beyond the classic set: inverse hyperbolic functions, ``xlogy``/
``xdivy``/``multiply_no_nan``/``reciprocal_no_nan``, ``nextafter``, bit shifts, ``lbeta``,
``polyval``, ``reduce_variance``/``reduce_std``, ``cumulative_logsumexp``, ``zero_fraction``,
``is_non_decreasing``/``is_strictly_increasing``.

Elementwise ones are registered with ``math_ops``' helpers (one ``xp`` kernel, a gradient
written with graph ops, broadcasting fixed by the gradients driver); the rest are
compositions of existing ops, as in TF1.
"""
import numpy as np

from ..framework import dtypes
from ..framework.registry import NOT_DIFFERENTIABLE
from . import core
from .array_ops import reshape, size, zeros_like
from .core import convert_to_tensor
from .gradients import stop_gradient
from .math_ops import (_binary, _unary, add_n, cast, cosh, equal, exp, greater, greater_equal,
                       log, multiply, not_equal, sinh, sqrt, square, subtract, where)
from .reduction_ops import cumsum, reduce_all, reduce_max, reduce_mean, reduce_sum
from .shape_rules import FLOATS_COMPLEX, INTEGERS, NUMERIC
from .special_math_ops import lgamma

__all__ = ["acosh", "asinh", "atanh", "lbeta", "is_non_decreasing", "is_strictly_increasing"]

# Names only under tf.math (and tf.nn / tf.bitwise), re-exported by those namespaces.
MATH_ONLY = ["xlogy", "xdivy", "multiply_no_nan", "reciprocal_no_nan", "nextafter", "polyval",
             "reduce_variance", "reduce_std", "cumulative_logsumexp", "zero_fraction"]


# ----------------------------------------------------------------------------------------------
# Inverse hyperbolic functions
# ----------------------------------------------------------------------------------------------
acosh = _unary("Acosh", "arccosh", FLOATS_COMPLEX, lambda op, g: [g / sinh(op._outputs[0])])
asinh = _unary("Asinh", "arcsinh", FLOATS_COMPLEX, lambda op, g: [g / cosh(op._outputs[0])])
atanh = _unary("Atanh", "arctanh", FLOATS_COMPLEX,
               lambda op, g: [g / (1.0 - square(op._inputs[0]))])


# ----------------------------------------------------------------------------------------------
# Safe products and quotients: Xlogy, Xdivy, MulNoNan
# ----------------------------------------------------------------------------------------------
def _where_x_zero(xp, x, value):
    """``value`` except where ``x`` is 0, where it is 0 (even if value is inf or nan)."""
    return xp.where(x == 0, xp.zeros((), value.dtype), value)


def _xlogy_kernel(op, ctx):
    xp = ctx.xp

    def xlogy_(x, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            return _where_x_zero(xp, x, x * xp.log(y))
    return xlogy_


def _xdivy_kernel(op, ctx):
    xp = ctx.xp

    def xdivy_(x, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            return _where_x_zero(xp, x, x / y)
    return xdivy_


def _mul_no_nan_kernel(op, ctx):
    xp = ctx.xp

    def mul_no_nan_(x, y):
        with np.errstate(invalid="ignore"):
            return _where_x_zero(xp, xp.broadcast_to(y, xp.broadcast_shapes(x.shape, y.shape)),
                                 x * y)
    return mul_no_nan_


def _nonzero_as(x):
    return cast(not_equal(x, core.constant(0, x.dtype)), x.dtype)


xlogy = _binary("Xlogy", None, FLOATS_COMPLEX,
                lambda op, g: [g * xlogy(_nonzero_as(op._inputs[0]), op._inputs[1]),
                               g * xdivy(op._inputs[0], op._inputs[1])],
                kernel=_xlogy_kernel)
xlogy.__doc__ = "``x * log(y)``, 0 where ``x`` is 0 (even if ``y`` is 0)."
xdivy = _binary("Xdivy", None, FLOATS_COMPLEX,
                lambda op, g: [g * xdivy(_nonzero_as(op._inputs[0]), op._inputs[1]),
                               g * xdivy(-op._inputs[0], square(op._inputs[1]))],
                kernel=_xdivy_kernel)
xdivy.__doc__ = "``x / y``, 0 where ``x`` is 0 (even if ``y`` is 0)."
multiply_no_nan = _binary("MulNoNan", None, FLOATS_COMPLEX,
                          lambda op, g: [multiply_no_nan(g, op._inputs[1]),
                                         multiply_no_nan(op._inputs[0], g)],
                          kernel=_mul_no_nan_kernel)
multiply_no_nan.__doc__ = "``x * y``, 0 where ``y`` is 0 (even if ``x`` is inf or nan)."
nextafter = _binary("NextAfter", "nextafter", frozenset([dtypes.float32, dtypes.float64]),
                    NOT_DIFFERENTIABLE)
nextafter.__doc__ = "The next representable value after ``x1`` in the direction of ``x2``."


def reciprocal_no_nan(x, name=None):
    """``1 / x``, 0 where ``x`` is 0."""
    from .math_ops import div_no_nan
    x = convert_to_tensor(x)
    return div_no_nan(core.constant(1, x.dtype), x, name=name or "reciprocal_no_nan")


# ----------------------------------------------------------------------------------------------
# Bit shifts (tf.bitwise): the shift is clamped to [0, bits - 1], as TF's kernels do
# ----------------------------------------------------------------------------------------------
def _shift_kernel(fn_name):
    def make(op, ctx):
        xp = ctx.xp
        f = getattr(xp, fn_name)

        def shift(x, y):
            bits = x.dtype.itemsize * 8
            return f(x, xp.clip(y, 0, bits - 1).astype(x.dtype, copy=False))
        return shift
    return make


left_shift = _binary("LeftShift", None, INTEGERS, NOT_DIFFERENTIABLE,
                     kernel=_shift_kernel("left_shift"))
left_shift.__doc__ = "``x << y`` elementwise (y clamped to [0, bits-1])."
right_shift = _binary("RightShift", None, INTEGERS, NOT_DIFFERENTIABLE,
                      kernel=_shift_kernel("right_shift"))
right_shift.__doc__ = "``x >> y`` elementwise, arithmetic for signed types (y clamped)."


# ----------------------------------------------------------------------------------------------
# Compositions
# ----------------------------------------------------------------------------------------------
def lbeta(x, name=None):
    """``log(|Beta(x)|)`` along the last dimension: ``sum(lgamma(x)) - lgamma(sum(x))``.

    An empty last dimension gives ``log(1) = 0`` (TF1's convention).

    Example:
        >>> tf.lbeta([[1.0, 2.0]])          # [log(1/2)]
    """
    x = convert_to_tensor(x)
    with x.graph.as_default():
        log_prod_gamma = reduce_sum(lgamma(x), axis=[-1])
        log_gamma_sum = lgamma(reduce_sum(x, axis=[-1]))
        value = subtract(log_prod_gamma, log_gamma_sum)
        dims = x._shape.as_tuple()
        if dims is not None and dims and dims[-1] == 0:
            return zeros_like(value, name=name or "lbeta")
        return multiply(value, core.constant(1, value.dtype), name=name or "lbeta")


def polyval(coeffs, x, name=None):
    """The polynomial ``coeffs[0] * x**(n-1) + ... + coeffs[n-1]`` at ``x`` (Horner's rule);
    ``coeffs`` is a list of tensors (or numbers) that broadcast with ``x``.

    Example:
        >>> tf.math.polyval([2.0, 0.0, 1.0], 3.0)     # 2*9 + 1 = 19.
    """
    if not isinstance(coeffs, (list, tuple)):
        raise ValueError("Argument coeffs must be list type found %s." % type(coeffs))
    x = convert_to_tensor(x)
    with x.graph.as_default():
        if not coeffs:
            return zeros_like(x, name=name or "polyval")
        p = convert_to_tensor(coeffs[0], dtype=x.dtype)
        for c in coeffs[1:]:
            p = convert_to_tensor(c, dtype=x.dtype) + p * x
        return multiply(p, core.constant(1, x.dtype), name=name or "polyval")


def reduce_variance(input_tensor, axis=None, keepdims=False, name=None):
    """The (population) variance of ``input_tensor`` over ``axis`` (all axes by default).

    Example:
        >>> tf.math.reduce_variance([[1., 2.], [3., 4.]])       # 1.25
    """
    x = convert_to_tensor(input_tensor)
    with x.graph.as_default():
        mean = reduce_mean(x, axis=axis, keepdims=True)
        return reduce_mean(square(x - mean), axis=axis, keepdims=keepdims,
                           name=name or "reduce_variance")


def reduce_std(input_tensor, axis=None, keepdims=False, name=None):
    """The (population) standard deviation over ``axis``: ``sqrt(reduce_variance)``."""
    x = convert_to_tensor(input_tensor)
    with x.graph.as_default():
        return sqrt(reduce_variance(x, axis=axis, keepdims=keepdims), name=name or "reduce_std")


def cumulative_logsumexp(x, axis=0, exclusive=False, reverse=False, name=None):
    """``log(cumsum(exp(x)))`` along ``axis`` without overflow (the max along the axis is
    taken out first). ``exclusive``/``reverse`` as for ``tf.cumsum``; an exclusive first
    entry is ``-inf``.

    Example:
        >>> tf.math.cumulative_logsumexp([0.0, 0.0])       # [0., log(2)]
    """
    x = convert_to_tensor(x)
    with x.graph.as_default():
        m = stop_gradient(reduce_max(x, axis=axis, keepdims=True))
        m = where(greater_equal(m, core.constant(np.finfo(x.dtype.np).min, x.dtype)), m,
                  zeros_like(m))
        total = cumsum(exp(x - m), axis=axis, exclusive=exclusive, reverse=reverse)
        return add_n([log(total), m + zeros_like(x)], name=name or "cumulative_logsumexp")


def zero_fraction(value, name=None):
    """The fraction (float32) of the entries of ``value`` that are 0 (a sparsity summary).

    Example:
        >>> tf.nn.zero_fraction(tf.nn.relu(h))
    """
    v = convert_to_tensor(value)
    with v.graph.as_default():
        zero = equal(v, core.constant(0, v.dtype))
        return reduce_mean(cast(zero, dtypes.float32), name=name or "zero_fraction")


def _monotone(x, strict, name):
    x = convert_to_tensor(x)
    if x.dtype not in NUMERIC - {dtypes.complex64, dtypes.complex128}:
        raise TypeError("Expected x to be a real numeric tensor, got %s" % x.dtype.name)
    with x.graph.as_default():
        flat = reshape(x, [-1])
        n = size(flat)
        from .slicing_ops import strided_slice
        head = strided_slice(flat, [0], [-1])
        tail = strided_slice(flat, [1], [n])
        cmp = greater(tail, head) if strict else greater_equal(tail, head)
        return reduce_all(cmp, name=name)


def is_non_decreasing(x, name=None):
    """True if the entries of ``x`` (flattened) never decrease (True for fewer than 2).

    Example:
        >>> tf.is_non_decreasing([1, 1, 2])        # True
    """
    return _monotone(x, False, name or "is_non_decreasing")


def is_strictly_increasing(x, name=None):
    """True if the entries of ``x`` (flattened) strictly increase (True for fewer than 2)."""
    return _monotone(x, True, name or "is_strictly_increasing")
