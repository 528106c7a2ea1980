"""Special functions: ``erf``/``erfc``, ``lgamma``, ``digamma``, ``polygamma`` and ``zeta``.

Elementwise ops like those of ``math_ops`` (registered with its helpers); their kernels
need NumPy (or CuPy) only. ``erf`` uses SciPy's ufunc when it is installed, for speed.
"""
import math

import numpy as np

from . import core
from .math_ops import _binary, _special, _unary, exp, square, subtract
from .shape_rules import FLOATS

__all__ = [
    "erf", "erfc", "lgamma", "digamma", "polygamma", "zeta",
]


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
