"""Linear algebra on (batches of) matrices: inverse, determinants, Cholesky, solves, band and
diagonal ops, QR, SVD, symmetric eigendecomposition, norms, ``eye``, ``trace``, ``cross``.

Every op works on the last two dims of its input (``[..., M, N]``) and is one call of
``xp.linalg`` (NumPy or CuPy), so batches cost one kernel launch. A matrix that has no
inverse (or no Cholesky factor) raises ``InvalidArgumentError`` with TF1's message, also on
CuPy, which returns NaNs instead of raising: a non-finite result of a finite input is the
signal. Gradients are TF1's formulas written with graph ops (so they differentiate again);
the ops that read only the lower triangle (Cholesky, self_adjoint_eig) give gradients that
respect that.

The ``tf.linalg`` names are in ``tfnb/linalg.py``; TF1's top-level aliases
(``tf.matrix_inverse``, ``tf.cholesky``, ...) are exported here.
"""
import collections

import numpy as np

from ..framework import dtypes, errors
from ..framework.registry import register_op
from ..framework.tensor_shape import TensorShape, unknown_shape
from . import core
from .array_ops import (_index_tensor, _shape_list, broadcast_to, concat, expand_dims, identity,
                        matrix_transpose, ones_like, range_, shape, squeeze, transpose, zeros_like)
from .core import constant, convert_to_tensor, out
from .matmul_ops import matmul
from .math_ops import (abs as abs_, cast, conj, equal, greater, log, multiply, pow as pow_, real,
                       reciprocal, reduce_max, reduce_sum, sqrt, square, where)
from .shape_rules import INDEX, NUMERIC, check_dtype

# TF1's top-level names (tf.cholesky, ...); tfnb/linalg.py adds the tf.linalg-only ones.
__all__ = [
    "matrix_inverse", "matrix_determinant", "log_matrix_determinant", "cholesky",
    "cholesky_solve", "matrix_solve", "matrix_solve_ls", "matrix_triangular_solve",
    "matrix_band_part", "matrix_diag", "matrix_diag_part", "matrix_set_diag", "diag",
    "diag_part", "qr", "svd", "self_adjoint_eig", "self_adjoint_eigvals", "norm", "trace",
    "eye", "cross",
]

#: The dtypes of TF1's linear-algebra kernels.
LINALG = frozenset([dtypes.float32, dtypes.float64, dtypes.complex64, dtypes.complex128])


# ----------------------------------------------------------------------------------------------
# Shared shape rules and checks
# ----------------------------------------------------------------------------------------------
def _matrix_dims(op, t, arg="input", square=False):
    """``t``'s shape as a tuple with rank >= 2 (None if unknown); checks squareness."""
    dims = t._shape.as_tuple()
    if dims is None:
        return None
    if len(dims) < 2:
        raise ValueError("Shape must be at least rank 2 but is rank %d (%s of %s)"
                         % (len(dims), arg, op.type))
    if square and None not in dims[-2:] and dims[-1] != dims[-2]:
        raise ValueError("Dimensions must be equal, but are %d and %d (%s of %s must be square)"
                         % (dims[-2], dims[-1], arg, op.type))
    return dims


def _square_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, LINALG, "input")
    _matrix_dims(op, x, square=True)
    return [(x.dtype, x._shape)]


def _invalid(msg):
    return errors.InvalidArgumentError(None, None, msg)


def _guarded(xp, fn, message):
    """Runs ``fn(x, ...)``, turning a singular input into TF's InvalidArgumentError: NumPy
    raises LinAlgError, CuPy returns NaNs (checked when every input was finite)."""
    def run(*args):
        try:
            res = fn(*args)
        except np.linalg.LinAlgError:
            raise _invalid(message) from None
        first = res[0] if isinstance(res, tuple) else res
        if first.size and not bool(xp.isfinite(first).all()) and all(
                bool(xp.isfinite(a).all()) for a in args):
            raise _invalid(message)
        return res
    return run


def _adjoint(x):
    """Conjugate transpose of the last two dims (a graph op)."""
    return matrix_transpose(x, conjugate=True)


def _check_batch_match(op, a, b, rows_of_b=-2):
    """Checks that ``b``'s rows match square ``a``'s size and the batch dims agree."""
    da, db = a._shape.as_tuple(), b._shape.as_tuple()
    if da is None or db is None:
        return
    if len(db) < 2:
        raise ValueError("Shape must be at least rank 2 but is rank %d (rhs of %s)"
                         % (len(db), op.type))
    if len(da) != len(db) or not TensorShape(da[:-2]).is_compatible_with(TensorShape(db[:-2])):
        raise ValueError("%s: matrix %s and rhs %s must have the same batch dimensions"
                         % (op.type, a._shape, b._shape))
    if da[-1] is not None and db[rows_of_b] is not None and da[-1] != db[rows_of_b]:
        raise ValueError("Dimensions must be equal, but are %d and %d (matrix %s, rhs %s of %s)"
                         % (da[-1], db[rows_of_b], a._shape, b._shape, op.type))


# ----------------------------------------------------------------------------------------------
# MatrixInverse / MatrixDeterminant / LogMatrixDeterminant
# ----------------------------------------------------------------------------------------------
def _inverse_kernel(op, ctx):
    xp = ctx.xp
    adj = op._attrs["adjoint"]

    def inverse(x):
        r = xp.linalg.inv(x)
        return xp.conj(xp.swapaxes(r, -1, -2)) if adj else r
    return _guarded(xp, inverse, "Input is not invertible.")


def _inverse_grad(op, g):
    ainv = op._outputs[0]
    if op._attrs["adjoint"]:  # Y = inv(A)^H
        return [-matmul(ainv, matmul(g, ainv, adjoint_a=True))]
    return [-matmul(ainv, matmul(g, ainv, adjoint_b=True), adjoint_a=True)]


register_op("MatrixInverse", infer=_square_infer, kernel=_inverse_kernel, grad=_inverse_grad,
            doc="inverse of each square matrix (or of its adjoint)")


def matrix_inverse(input, adjoint=False, name=None):  # noqa: A002 - TF1 argument name
    """The inverse of each square matrix in the last two dims of ``input``.

    With ``adjoint=True`` the inverse of its conjugate transpose.

    Raises:
        InvalidArgumentError: (when run) a singular matrix ("Input is not invertible.").

    Example:
        >>> tf.matrix_inverse([[2., 0.], [0., 4.]])      # [[0.5, 0.], [0., 0.25]]
    """
    return out("MatrixInverse", [convert_to_tensor(input)], {"adjoint": bool(adjoint)}, name=name)


def _det_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, LINALG, "input")
    dims = _matrix_dims(op, x, square=True)
    return [(x.dtype, unknown_shape() if dims is None else TensorShape(dims[:-2]))]


def _det_grad(op, g):
    a = op._inputs[0]
    scale = expand_dims(expand_dims(g * op._outputs[0], -1), -1)
    return [scale * matrix_inverse(a, adjoint=True)]


register_op("MatrixDeterminant", infer=_det_infer,
            kernel=lambda op, ctx: ctx.xp.linalg.det, grad=_det_grad,
            doc="determinant of each square matrix")


def matrix_determinant(input, name=None):  # noqa: A002
    """The determinant of each square matrix in the last two dims of ``input``.

    Example:
        >>> tf.matrix_determinant([[1., 2.], [3., 4.]])   # -2.
    """
    return out("MatrixDeterminant", [convert_to_tensor(input)], name=name)


def _slogdet_infer(op):
    spec = _det_infer(op)[0]
    return [spec, spec]


def _slogdet_kernel(op, ctx):
    xp = ctx.xp

    def slogdet(x):
        sign, logabs = xp.linalg.slogdet(x)
        return sign.astype(x.dtype), logabs.astype(x.dtype)
    return slogdet


def _slogdet_grad(op, g_sign, g_logabs):
    a = op._inputs[0]
    return [expand_dims(expand_dims(g_logabs, -1), -1) * matrix_inverse(a, adjoint=True)]


register_op("LogMatrixDeterminant", infer=_slogdet_infer, kernel=_slogdet_kernel,
            grad=_slogdet_grad, doc="sign and log|det| of each square matrix")

SlogdetOutput = collections.namedtuple("LogMatrixDeterminant", ["sign", "log_abs_determinant"])


def log_matrix_determinant(input, name=None):  # noqa: A002
    """``(sign, log|det|)`` of each square matrix: ``det = sign * exp(log_abs_determinant)``,
    without the overflow of computing the determinant itself.

    Example:
        >>> sign, logabs = tf.log_matrix_determinant(1e3 * tf.eye(200))   # 1., 1381.55...
    """
    o = core.op("LogMatrixDeterminant", [convert_to_tensor(input)], name=name)
    return SlogdetOutput(*o._outputs)


def logdet(matrix, name=None):
    """``log(det(matrix))`` of Hermitian positive-definite matrices, via their Cholesky factor.

    Example:
        >>> tf.linalg.logdet([[4., 0.], [0., 9.]])        # log(36.)
    """
    m = convert_to_tensor(matrix)
    with m.graph.as_default():
        chol = cholesky(m)
        logs = log(real(matrix_diag_part(chol)))
        return multiply(constant(2, logs.dtype), reduce_sum(logs, axis=-1), name=name or "logdet")


# ----------------------------------------------------------------------------------------------
# Cholesky / cholesky_solve
# ----------------------------------------------------------------------------------------------
def _cholesky_kernel(op, ctx):
    xp = ctx.xp
    return _guarded(xp, xp.linalg.cholesky, "Cholesky decomposition was not successful. The "
                    "input might not be valid.")


def _cholesky_grad(op, g):
    """TF1's rule (Murray 2016): the factor depends on the lower triangle only, and the
    gradient is symmetrised over it."""
    chol = op._outputs[0]
    eye_ = eye(_shape_list(chol)[-1], dtype=chol.dtype)
    chol_inv = matrix_triangular_solve(chol, broadcast_to(eye_, shape(chol)), lower=True)
    middle = matmul(chol, g, adjoint_a=True)
    middle = matrix_set_diag(middle, 0.5 * matrix_diag_part(middle))
    middle = matrix_band_part(middle, -1, 0)
    ga = matmul(matmul(chol_inv, middle, adjoint_a=True), chol_inv)
    return [0.5 * (ga + _adjoint(ga))]


register_op("Cholesky", infer=_square_infer, kernel=_cholesky_kernel, grad=_cholesky_grad,
            doc="lower-triangular L with L L^H = input (reads the lower triangle)")


def cholesky(input, name=None):  # noqa: A002
    """The lower-triangular Cholesky factor ``L`` (``L @ L^H = input``) of each Hermitian
    positive-definite matrix; only the lower triangle of ``input`` is read.

    Raises:
        InvalidArgumentError: (when run) a matrix that is not positive definite.

    Example:
        >>> tf.cholesky([[4., 2.], [2., 5.]])            # [[2., 0.], [1., 2.]]
    """
    return out("Cholesky", [convert_to_tensor(input)], name=name)


def cholesky_solve(chol, rhs, name=None):
    """Solves ``A X = rhs`` given ``chol``, the Cholesky factor of ``A`` (two triangular solves).

    Example:
        >>> x = tf.cholesky_solve(tf.cholesky(A), b)     # A^-1 b for positive-definite A
    """
    c = convert_to_tensor(chol)
    with c.graph.as_default():
        y = matrix_triangular_solve(c, rhs, lower=True, adjoint=False)
        return matrix_triangular_solve(c, y, lower=True, adjoint=True,
                                       name=name or "cholesky_solve")


# ----------------------------------------------------------------------------------------------
# MatrixSolve / MatrixTriangularSolve / matrix_solve_ls
# ----------------------------------------------------------------------------------------------
def _solve_infer(op):
    a, b = op._inputs
    check_dtype(op, a, LINALG, "matrix")
    if b.dtype is not a.dtype:
        raise TypeError("%s: rhs has dtype %s, matrix has %s" % (op.type, b.dtype.name,
                                                                 a.dtype.name))
    _matrix_dims(op, a, "matrix", square=True)
    _check_batch_match(op, a, b)
    return [(b.dtype, b._shape)]


def _solve_kernel(op, ctx):
    xp = ctx.xp
    adj = op._attrs["adjoint"]

    def solve(a, b):
        if adj:
            a = xp.conj(xp.swapaxes(a, -1, -2))
        return xp.linalg.solve(a, b)
    return _guarded(xp, solve, "Input matrix is not invertible.")


def _solve_grad(op, g):
    a = op._inputs[0]
    adj = op._attrs["adjoint"]
    x = op._outputs[0]
    gb = matrix_solve(a, g, adjoint=not adj)
    ga = -matmul(x, gb, adjoint_b=True) if adj else -matmul(gb, x, adjoint_b=True)
    return [ga, gb]


register_op("MatrixSolve", infer=_solve_infer, kernel=_solve_kernel, grad=_solve_grad,
            doc="X with matrix @ X = rhs (or adjoint(matrix) @ X = rhs)")


def matrix_solve(matrix, rhs, adjoint=False, name=None):
    """Solves ``matrix @ X = rhs`` (``adjoint(matrix) @ X = rhs`` with ``adjoint=True``)
    for each square ``matrix [..., M, M]`` and ``rhs [..., M, K]``.

    Raises:
        InvalidArgumentError: (when run) a singular matrix.

    Example:
        >>> tf.matrix_solve([[2., 0.], [0., 4.]], [[2.], [2.]])   # [[1.], [0.5]]
    """
    a = convert_to_tensor(matrix)
    with a.graph.as_default():
        b = convert_to_tensor(rhs, dtype=a.dtype)
    return out("MatrixSolve", [a, b], {"adjoint": bool(adjoint)}, name=name)


def _triangular_kernel(op, ctx):
    xp = ctx.xp
    lower, adj = op._attrs["lower"], op._attrs["adjoint"]

    def triangular_solve(a, b):
        n = a.shape[-1]
        tri = xp.tril(a) if lower else xp.triu(a)
        diag = xp.diagonal(a, axis1=-2, axis2=-1)
        if n and bool((diag == 0).any()):
            raise _invalid("Input matrix is not invertible.")
        if adj:
            tri = xp.conj(xp.swapaxes(tri, -1, -2))
        return xp.linalg.solve(tri, b)
    return _guarded(xp, triangular_solve, "Input matrix is not invertible.")


def _triangular_grad(op, g):
    a = op._inputs[0]
    lower, adj = op._attrs["lower"], op._attrs["adjoint"]
    x = op._outputs[0]
    gb = matrix_triangular_solve(a, g, lower=lower, adjoint=not adj)
    ga = -matmul(x, gb, adjoint_b=True) if adj else -matmul(gb, x, adjoint_b=True)
    ga = matrix_band_part(ga, -1, 0) if lower else matrix_band_part(ga, 0, -1)
    return [ga, gb]


register_op("MatrixTriangularSolve", infer=_solve_infer, kernel=_triangular_kernel,
            grad=_triangular_grad,
            doc="X with tri(matrix) @ X = rhs, reading one triangle of matrix")


def matrix_triangular_solve(matrix, rhs, lower=True, adjoint=False, name=None):
    """Solves ``T @ X = rhs`` where ``T`` is the lower (``lower=True``) or upper triangle of
    each square ``matrix``; the other triangle is ignored. ``adjoint`` solves with ``T^H``.

    Example:
        >>> tf.matrix_triangular_solve([[2., 0.], [1., 1.]], [[2.], [3.]])   # [[1.], [2.]]
    """
    a = convert_to_tensor(matrix)
    with a.graph.as_default():
        b = convert_to_tensor(rhs, dtype=a.dtype)
    return out("MatrixTriangularSolve", [a, b], {"lower": bool(lower), "adjoint": bool(adjoint)},
               name=name)


def matrix_solve_ls(matrix, rhs, l2_regularizer=0.0, fast=True, name=None):
    """Least-squares solutions ``X`` of ``matrix @ X = rhs`` (``[..., M, N]``, ``[..., M, K]``),
    minimising ``||matrix @ X - rhs||^2 + l2_regularizer * ||X||^2``.

    As TF1's fast path, by the normal equations and a Cholesky factor: ``(A^H A + l I)^-1 A^H b``
    for ``M >= N``, ``A^H (A A^H + l I)^-1 b`` otherwise.

    Example:
        >>> tf.matrix_solve_ls([[1.], [1.]], [[1.], [3.]])    # [[2.]]
    """
    if not fast:
        raise NotImplementedError("matrix_solve_ls: only fast=True (the normal equations, TF1's "
                                  "default) is implemented")
    a = convert_to_tensor(matrix)
    with a.graph.as_default():
        b = convert_to_tensor(rhs, dtype=a.dtype)
        dims = a._shape.as_tuple()
        if dims is None or len(dims) < 2 or None in dims[-2:]:
            raise ValueError("matrix_solve_ls needs the static matrix size, got shape %s"
                             % a._shape)
        m, n = dims[-2:]
        reg = cast(convert_to_tensor(l2_regularizer), a.dtype)
        if m >= n:
            gram = matmul(a, a, adjoint_a=True)
            gram = gram + reg * eye(n, dtype=a.dtype)
            return cholesky_solve(cholesky(gram), matmul(a, b, adjoint_a=True),
                                  name=name or "matrix_solve_ls")
        gram = matmul(a, a, adjoint_b=True) + reg * eye(m, dtype=a.dtype)
        return matmul(a, cholesky_solve(cholesky(gram), b), adjoint_a=True,
                      name=name or "matrix_solve_ls")


def lstsq(matrix, rhs, l2_regularizer=0.0, fast=True, name=None):
    """``tf.linalg.lstsq``: see :func:`matrix_solve_ls`."""
    return matrix_solve_ls(matrix, rhs, l2_regularizer, fast, name)


# ----------------------------------------------------------------------------------------------
# MatrixBandPart
# ----------------------------------------------------------------------------------------------
def _band_infer(op):
    x, lo, hi = op._inputs
    check_dtype(op, lo, INDEX, "num_lower")
    check_dtype(op, hi, INDEX, "num_upper")
    _matrix_dims(op, x)
    return [(x.dtype, x._shape)]


def _band_kernel(op, ctx):
    xp = ctx.xp

    def band_part(x, lo, hi):
        m, n = x.shape[-2:]
        lo, hi = int(lo), int(hi)
        if lo > m or hi > n:
            raise _invalid("num_lower (%d) must not be greater than the number of rows (%d), "
                           "num_upper (%d) not greater than the columns (%d)" % (lo, m, hi, n))
        d = xp.arange(n)[None, :] - xp.arange(m)[:, None]  # column - row
        keep = xp.ones((m, n), dtype=bool)
        if lo >= 0:
            keep &= d >= -lo
        if hi >= 0:
            keep &= d <= hi
        return xp.where(keep, x, xp.zeros((), x.dtype))
    return band_part


register_op("MatrixBandPart", infer=_band_infer, kernel=_band_kernel,
            grad=lambda op, g: [out("MatrixBandPart", [g] + list(op._inputs[1:])), None, None],
            doc="keeps num_lower sub- and num_upper superdiagonals (negative: all), zeros the rest")


def matrix_band_part(input, num_lower, num_upper, name=None):  # noqa: A002
    """Zeros each matrix outside a band: ``num_lower`` subdiagonals and ``num_upper``
    superdiagonals are kept (a negative count keeps that whole triangle).

    Example:
        >>> tf.matrix_band_part(x, -1, 0)     # the lower triangle
        >>> tf.matrix_band_part(x, 0, 0)      # the diagonal
    """
    x = convert_to_tensor(input)
    with x.graph.as_default():
        lo = _index_tensor(num_lower)
        hi = convert_to_tensor(num_upper, dtype=lo.dtype)
    return out("MatrixBandPart", [x, lo, hi], name=name)


# ----------------------------------------------------------------------------------------------
# MatrixDiag / MatrixDiagPart / MatrixSetDiag (one diagonal k) and Diag / DiagPart (any rank)
# ----------------------------------------------------------------------------------------------
def _diag_geometry(k, length=None, rows=None, cols=None):
    """Rows/columns of a matrix holding diagonal ``k`` of ``length`` (TF's rules), or the
    length of diagonal ``k`` of a ``rows x cols`` matrix."""
    if length is not None:
        min_rows, min_cols = length + max(-k, 0), length + max(k, 0)
        if rows is None and cols is None:
            rows = cols = max(min_rows, min_cols)
        elif rows is None:
            rows = min_rows
        elif cols is None:
            cols = min_cols
        return rows, cols
    return max(min(rows + min(k, 0), cols - max(k, 0)), 0)


def _diag_positions(xp, k, length):
    r = xp.arange(length) + max(-k, 0)
    return r, r + k


def _matrix_diag_infer(op):
    d = op._inputs[0]
    check_dtype(op, d, NUMERIC | {dtypes.bool_}, "diagonal")
    dims = d._shape.as_tuple()
    if dims is None:
        return [(d.dtype, unknown_shape())]
    if not dims:
        raise ValueError("Shape must be at least rank 1 but is rank 0 (diagonal of MatrixDiag)")
    k, rows, cols = op._attrs["k"], op._attrs["num_rows"], op._attrs["num_cols"]
    if dims[-1] is None:
        return [(d.dtype, TensorShape(dims[:-1] + (rows, cols)))]
    return [(d.dtype, TensorShape(dims[:-1] + _diag_geometry(k, dims[-1], rows, cols)))]


def _matrix_diag_kernel(op, ctx):
    xp = ctx.xp
    k, rows, cols = op._attrs["k"], op._attrs["num_rows"], op._attrs["num_cols"]
    pad = op._attrs["padding_value"]

    def matrix_diag_(d):
        length = d.shape[-1]
        m, n = _diag_geometry(k, length, rows, cols)
        if _diag_geometry(k, rows=m, cols=n) != length:
            raise _invalid("The number of diagonal elements (%d) does not fit diagonal %d of a "
                           "%dx%d matrix" % (length, k, m, n))
        res = xp.full(d.shape[:-1] + (m, n), pad, dtype=d.dtype)
        r, c = _diag_positions(xp, k, length)
        res[..., r, c] = d
        return res
    return matrix_diag_


def _matrix_diag_part_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, NUMERIC | {dtypes.bool_}, "input")
    dims = _matrix_dims(op, x)
    if dims is None:
        return [(x.dtype, unknown_shape())]
    m, n = dims[-2:]
    length = None if None in (m, n) else _diag_geometry(op._attrs["k"], rows=m, cols=n)
    return [(x.dtype, TensorShape(dims[:-2] + (length,)))]


def _matrix_diag_part_kernel(op, ctx):
    xp = ctx.xp
    k = op._attrs["k"]

    def matrix_diag_part_(x):
        m, n = x.shape[-2:]
        if not -m < k < n and m and n:
            raise _invalid("diagonal index k = %d is out of bounds for a %dx%d matrix" % (k, m, n))
        r, c = _diag_positions(xp, k, _diag_geometry(k, rows=m, cols=n))
        return x[..., r, c]
    return matrix_diag_part_


def _matrix_set_diag_infer(op):
    x, d = op._inputs
    if d.dtype is not x.dtype:
        raise TypeError("MatrixSetDiag: diagonal has dtype %s, input has %s"
                        % (d.dtype.name, x.dtype.name))
    dims = _matrix_dims(op, x)
    if dims is not None and None not in dims[-2:]:
        length = _diag_geometry(op._attrs["k"], rows=dims[-2], cols=dims[-1])
        want = TensorShape(dims[:-2] + (length,))
        if not want.is_compatible_with(d._shape):
            raise ValueError("MatrixSetDiag: diagonal must have shape %s for input %s, got %s"
                             % (want, x._shape, d._shape))
    return [(x.dtype, x._shape)]


def _matrix_set_diag_kernel(op, ctx):
    xp = ctx.xp
    k = op._attrs["k"]

    def matrix_set_diag_(x, d):
        m, n = x.shape[-2:]
        length = _diag_geometry(k, rows=m, cols=n)
        if d.shape != x.shape[:-2] + (length,):
            raise _invalid("diagonal must have shape %s for input %s, got %s"
                           % (list(x.shape[:-2] + (length,)), list(x.shape), list(d.shape)))
        res = x.copy()
        r, c = _diag_positions(xp, k, length)
        res[..., r, c] = d
        return res
    return matrix_set_diag_


def _diag_attrs(op):
    return {"k": op._attrs["k"]}


register_op("MatrixDiag", infer=_matrix_diag_infer, kernel=_matrix_diag_kernel,
            grad=lambda op, g: [out("MatrixDiagPart", [g], _diag_attrs(op))],
            doc="batch of matrices with the given diagonal k, padding elsewhere")
register_op("MatrixDiagPart", infer=_matrix_diag_part_infer, kernel=_matrix_diag_part_kernel,
            grad=lambda op, g: [out("MatrixSetDiag", [zeros_like(op._inputs[0]), g],
                                    _diag_attrs(op))],
            doc="diagonal k of each matrix")
register_op("MatrixSetDiag", infer=_matrix_set_diag_infer, kernel=_matrix_set_diag_kernel,
            grad=lambda op, g: [out("MatrixSetDiag", [g, zeros_like(op._inputs[1])],
                                    _diag_attrs(op)),
                                out("MatrixDiagPart", [g], _diag_attrs(op))],
            doc="each matrix with diagonal k replaced")


def matrix_diag(diagonal, name="diag", k=0, num_rows=-1, num_cols=-1, padding_value=0):
    """Matrices with ``diagonal`` (``[..., L]``) on diagonal ``k`` (0 main, > 0 above) and
    ``padding_value`` elsewhere; ``num_rows``/``num_cols`` (-1: the smallest that fits).

    Example:
        >>> tf.matrix_diag([1, 2])                  # [[1, 0], [0, 2]]
        >>> tf.linalg.diag([1, 2], k=1)             # [[0, 1, 0], [0, 0, 2], [0, 0, 0]]
    """
    d = convert_to_tensor(diagonal)
    if not isinstance(k, (int, np.integer)):
        raise ValueError("matrix_diag: k must be one Python int (a diagonal), got %r" % (k,))
    attrs = {"k": int(k), "num_rows": None if int(num_rows) < 0 else int(num_rows),
             "num_cols": None if int(num_cols) < 0 else int(num_cols),
             "padding_value": np.asarray(padding_value, dtype=d.dtype.np).item()}
    return out("MatrixDiag", [d], attrs, name=name)


def matrix_diag_part(input, name="diag_part", k=0, padding_value=0):  # noqa: A002
    """Diagonal ``k`` of each matrix in the last two dims of ``input`` (``[..., min(M, N)]``
    for ``k=0``).

    Example:
        >>> tf.matrix_diag_part([[1, 2], [3, 4]])      # [1, 4]
    """
    if not isinstance(k, (int, np.integer)):
        raise ValueError("matrix_diag_part: k must be one Python int, got %r" % (k,))
    return out("MatrixDiagPart", [convert_to_tensor(input)], {"k": int(k)}, name=name)


def matrix_set_diag(input, diagonal, name="set_diag", k=0):  # noqa: A002
    """``input`` with diagonal ``k`` of each matrix replaced by ``diagonal``.

    Example:
        >>> tf.matrix_set_diag(tf.zeros([2, 2]), [1., 2.])     # [[1., 0.], [0., 2.]]
    """
    if not isinstance(k, (int, np.integer)):
        raise ValueError("matrix_set_diag: k must be one Python int, got %r" % (k,))
    x = convert_to_tensor(input)
    with x.graph.as_default():
        d = convert_to_tensor(diagonal, dtype=x.dtype)
    return out("MatrixSetDiag", [x, d], {"k": int(k)}, name=name)


def _diag_infer(op):
    d = op._inputs[0]
    check_dtype(op, d, NUMERIC, "diagonal")
    if d._shape.ndims == 0:
        raise ValueError("Shape must be at least rank 1 but is rank 0 (diagonal of Diag)")
    return [(d.dtype, d._shape.concatenate(d._shape) if d._shape.ndims is not None
             else unknown_shape())]


def _diag_kernel(op, ctx):
    xp = ctx.xp

    def diag_(d):
        n = d.size
        res = xp.zeros((n, n), dtype=d.dtype)
        res[xp.arange(n), xp.arange(n)] = d.reshape(-1)
        return res.reshape(d.shape + d.shape)
    return diag_


def _diag_part_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, NUMERIC, "input")
    dims = x._shape.as_tuple()
    if dims is None:
        return [(x.dtype, unknown_shape())]
    if not dims or len(dims) % 2:
        raise ValueError("Input must have even and non-zero rank, got shape %s" % x._shape)
    h = len(dims) // 2
    if not TensorShape(dims[:h]).is_compatible_with(TensorShape(dims[h:])):
        raise ValueError("Invalid shape %s: the first half of the dims must equal the second"
                         % x._shape)
    return [(x.dtype, TensorShape(dims[:h]).merge_with(TensorShape(dims[h:])))]


def _diag_part_kernel(op, ctx):
    xp = ctx.xp

    def diag_part_(x):
        h = x.ndim // 2
        if x.shape[:h] != x.shape[h:]:
            raise _invalid("Invalid shape %s: the first half of the dims must equal the second"
                           % list(x.shape))
        n = int(np.prod(x.shape[:h], dtype=np.int64))
        return x.reshape(n, n)[xp.arange(n), xp.arange(n)].reshape(x.shape[:h])
    return diag_part_


register_op("Diag", infer=_diag_infer, kernel=_diag_kernel,
            grad=lambda op, g: [out("DiagPart", [g])],
            doc="tensor of shape s + s with diagonal[i...] at [i..., i...]")
register_op("DiagPart", infer=_diag_part_infer, kernel=_diag_part_kernel,
            grad=lambda op, g: [out("Diag", [g])], doc="the diagonal of a shape s + s tensor")


def diag(diagonal, name=None):
    """A tensor of shape ``s + s`` (``s = diagonal.shape``) with ``diagonal`` on its diagonal.

    Example:
        >>> tf.diag([1, 2, 3])      # the 3x3 matrix with 1, 2, 3 on the diagonal
    """
    return out("Diag", [convert_to_tensor(diagonal)], name=name)


def diag_part(input, name=None):  # noqa: A002
    """The diagonal of a tensor of shape ``s + s`` (the inverse of :func:`diag`)."""
    return out("DiagPart", [convert_to_tensor(input)], name=name)


# ----------------------------------------------------------------------------------------------
# Qr / Svd / SelfAdjointEigV2
# ----------------------------------------------------------------------------------------------
QrOutput = collections.namedtuple("Qr", ["q", "r"])


def _qr_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, LINALG, "input")
    dims = _matrix_dims(op, x)
    if dims is None:
        return [(x.dtype, unknown_shape())] * 2
    m, n = dims[-2:]
    batch = dims[:-2]
    full = op._attrs["full_matrices"]
    p = None if None in (m, n) else min(m, n)
    qcols, rrows = (m, m) if full else (p, p)
    return [(x.dtype, TensorShape(batch + (m, qcols))),
            (x.dtype, TensorShape(batch + (rrows, n)))]


def _qr_kernel(op, ctx):
    xp = ctx.xp
    mode = "complete" if op._attrs["full_matrices"] else "reduced"

    def qr_(x):
        q, r = xp.linalg.qr(x, mode=mode)
        return q, r
    return qr_


def _qr_grad(op, dq, dr):
    """TF1's rule, for ``M >= N`` with reduced factors (or square matrices)."""
    q, r = op._outputs
    qd, rd = q._shape.as_tuple(), r._shape.as_tuple()
    if qd is None or rd is None or None in rd[-2:] or None in qd[-2:]:
        raise NotImplementedError("QrGrad not implemented with dynamic shapes.")
    if rd[-2] > rd[-1] and qd[-2] == qd[-1]:
        raise NotImplementedError("QrGrad not implemented when ncols > nrows or full_matrices "
                                  "is true and ncols != nrows.")
    if qd[-2] < rd[-1]:
        raise NotImplementedError("QrGrad not implemented when ncols > nrows.")
    dq = convert_to_tensor(dq)
    dr = convert_to_tensor(dr)
    qdq = matmul(q, dq, adjoint_a=True)
    rdr = matmul(r, dr, adjoint_b=True)
    tril = matrix_band_part((qdq - _adjoint(qdq)) + (rdr - _adjoint(rdr)), -1, 0)

    def times_r_inv_adjoint(x):  # x @ R^-H, by a triangular solve with R
        return _adjoint(matrix_triangular_solve(r, _adjoint(x), lower=False))
    return [matmul(q, dr + times_r_inv_adjoint(tril)) + times_r_inv_adjoint(dq - matmul(q, qdq))]


register_op("Qr", infer=_qr_infer, kernel=_qr_kernel, grad=_qr_grad,
            doc="Q (orthonormal columns) and upper-triangular R with Q R = input")


def qr(input, full_matrices=False, name=None):  # noqa: A002
    """The QR decomposition of each matrix: ``q`` with orthonormal columns, ``r`` upper
    triangular, ``q @ r == input``. ``full_matrices`` makes ``q`` square (``[..., M, M]``).

    Example:
        >>> q, r = tf.qr(a)
    """
    o = core.op("Qr", [convert_to_tensor(input)], {"full_matrices": bool(full_matrices)},
                name=name)
    return QrOutput(*o._outputs)


def _svd_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, LINALG, "input")
    dims = _matrix_dims(op, x)
    real_dt = x.dtype.real_dtype
    if dims is None:
        return [(real_dt, unknown_shape()), (x.dtype, unknown_shape()),
                (x.dtype, unknown_shape())]
    m, n = dims[-2:]
    batch = dims[:-2]
    p = None if None in (m, n) else min(m, n)
    if not op._attrs["compute_uv"]:
        return [(real_dt, TensorShape(batch + (p,))), (x.dtype, TensorShape([0])),
                (x.dtype, TensorShape([0]))]
    ucols, vcols = (m, n) if op._attrs["full_matrices"] else (p, p)
    return [(real_dt, TensorShape(batch + (p,))), (x.dtype, TensorShape(batch + (m, ucols))),
            (x.dtype, TensorShape(batch + (n, vcols)))]


def _svd_kernel(op, ctx):
    xp = ctx.xp
    uv, full = op._attrs["compute_uv"], op._attrs["full_matrices"]

    def svd_(x):
        if not uv:
            s = xp.linalg.svd(x, compute_uv=False)
            empty = xp.zeros([0], x.dtype)
            return s.astype(s.dtype), empty, empty
        u, s, vh = xp.linalg.svd(x, full_matrices=full)
        return s, u, xp.conj(xp.swapaxes(vh, -1, -2))
    return _guarded(xp, svd_, "SVD did not converge")


def _svd_grad(op, gs, gu, gv):
    """The gradient of ``A = U S V^H`` for real inputs (TF1 supports the same cases): with
    ``F_ij = 1 / (s_j^2 - s_i^2)`` (0 on the diagonal), ``J = F o (U^T dU)``, ``K = F o (V^T dV)``,
    ``dA = U (diag(dS) + (J + J^T) S + S (K + K^T)) V^T + (I - U U^T) dU S^-1 V^T
    + U S^-1 dV^T (I - V V^T)``. Repeated singular values make it infinite, as in TF1."""
    a = op._inputs[0]
    if not op._attrs["compute_uv"]:
        _, u, v = svd(a, compute_uv=True)
        return [matmul(u, matmul(matrix_diag(cast(gs, a.dtype)), v, adjoint_b=True))]
    if a.dtype.is_complex:
        raise NotImplementedError("SVD gradient is not implemented for complex types and "
                                  "compute_uv=True.")
    s, u, v = op._outputs
    dims = a._shape.as_tuple()
    if dims is None or None in dims[-2:]:
        raise NotImplementedError("SVD gradient has not been implemented for input with "
                                  "unknown inner matrix shape.")
    m, n = dims[-2:]
    if op._attrs["full_matrices"] and m != n:
        raise NotImplementedError("svd gradient is implemented for full_matrices=True only "
                                  "for square matrices")
    gu, gv = convert_to_tensor(gu), convert_to_tensor(gv)
    p = min(m, n)
    s2 = square(s)
    eye_p = eye(p, dtype=s.dtype)
    f = reciprocal(expand_dims(s2, -2) - expand_dims(s2, -1) + eye_p) * (1 - eye_p)
    j = f * matmul(u, gu, adjoint_a=True)
    k = f * matmul(v, gv, adjoint_a=True)
    s_mat = matrix_diag(s)
    inner = matrix_diag(gs) + matmul(j + matrix_transpose(j), s_mat) + matmul(
        s_mat, k + matrix_transpose(k))
    ga = matmul(u, matmul(inner, v, adjoint_b=True))
    s_inv = matrix_diag(reciprocal(s))
    if m > n:
        ga = ga + matmul(gu - matmul(u, matmul(u, gu, adjoint_a=True)),
                         matmul(s_inv, v, adjoint_b=True))
    elif n > m:
        ga = ga + matmul(matmul(u, s_inv), matrix_transpose(gv - matmul(
            v, matmul(v, gv, adjoint_a=True))))
    return [ga]


register_op("Svd", infer=_svd_infer, kernel=_svd_kernel, grad=_svd_grad,
            doc="singular values s and vectors u, v with input = u diag(s) v^H")


def svd(tensor, full_matrices=False, compute_uv=True, name=None):
    """The singular value decomposition ``tensor = u @ diag(s) @ adjoint(v)`` of each matrix.

    Returns ``s`` (descending) alone when ``compute_uv=False``, else ``(s, u, v)``; note that
    ``v`` is not transposed (unlike NumPy's ``vh``). ``full_matrices`` makes ``u``, ``v``
    square.

    Example:
        >>> s, u, v = tf.svd(a)
        >>> tf.svd(a, compute_uv=False)              # the singular values only
    """
    o = core.op("Svd", [convert_to_tensor(tensor)],
                {"full_matrices": bool(full_matrices), "compute_uv": bool(compute_uv)},
                name=name)
    return o._outputs[0] if not compute_uv else tuple(o._outputs)


def _eig_infer(op):
    x = op._inputs[0]
    check_dtype(op, x, LINALG, "input")
    dims = _matrix_dims(op, x, square=True)
    real_dt = x.dtype.real_dtype
    if dims is None:
        return [(real_dt, unknown_shape()), (x.dtype, unknown_shape())]
    n = dims[-1] if dims[-1] is not None else dims[-2]
    vecs = TensorShape(dims[:-2] + (n, n)) if op._attrs["compute_v"] else TensorShape([0])
    return [(real_dt, TensorShape(dims[:-2] + (n,))), (x.dtype, vecs)]


def _eig_kernel(op, ctx):
    xp = ctx.xp
    compute_v = op._attrs["compute_v"]

    def eigh(x):
        if not compute_v:
            return xp.linalg.eigvalsh(x), xp.zeros([0], x.dtype)
        e, v = xp.linalg.eigh(x)
        return e, v
    return _guarded(xp, eigh, "Self-adjoint eigen decomposition was not successful. The input "
                    "might not be valid.")


def _eig_grad(op, ge, gv):
    """TF1's rule; the op reads the lower triangle only, so the gradient is lower-triangular."""
    a = op._inputs[0]
    e = op._outputs[0]
    ge = cast(convert_to_tensor(ge), a.dtype)
    if op._attrs["compute_v"]:
        v = op._outputs[1]
        n = _shape_list(a)[-1]
        eye_n = eye(n, dtype=e.dtype)
        diff = expand_dims(e, -2) - expand_dims(e, -1)
        f = cast(reciprocal(diff + eye_n) * (1 - eye_n), a.dtype)
        inner = matrix_diag(ge) + f * matmul(v, convert_to_tensor(gv), adjoint_a=True)
    else:
        _, v = self_adjoint_eig(a)
        inner = matrix_diag(ge)
    ga = matmul(v, matmul(inner, v, adjoint_b=True))
    ga = matrix_band_part(ga + _adjoint(ga), -1, 0)
    return [matrix_set_diag(ga, 0.5 * matrix_diag_part(ga))]


register_op("SelfAdjointEigV2", infer=_eig_infer, kernel=_eig_kernel, grad=_eig_grad,
            doc="eigenvalues (ascending) and eigenvectors of Hermitian matrices (lower triangle)")


def self_adjoint_eig(tensor, name=None):
    """Eigenvalues ``e`` (ascending) and eigenvectors ``v`` (columns) of each Hermitian
    matrix, read from its lower triangle: ``tensor @ v = v @ diag(e)``.

    Example:
        >>> e, v = tf.self_adjoint_eig([[2., 1.], [1., 2.]])     # e = [1., 3.]
    """
    o = core.op("SelfAdjointEigV2", [convert_to_tensor(tensor)], {"compute_v": True}, name=name)
    return tuple(o._outputs)


def self_adjoint_eigvals(tensor, name=None):
    """The eigenvalues (ascending) of each Hermitian matrix (see :func:`self_adjoint_eig`)."""
    o = core.op("SelfAdjointEigV2", [convert_to_tensor(tensor)], {"compute_v": False}, name=name)
    return o._outputs[0]


# ----------------------------------------------------------------------------------------------
# Cross
# ----------------------------------------------------------------------------------------------
def _cross_infer(op):
    a, b = op._inputs
    check_dtype(op, a, NUMERIC - {dtypes.complex64, dtypes.complex128}, "a")
    if b.dtype is not a.dtype:
        raise TypeError("Cross: b has dtype %s, a has %s" % (b.dtype.name, a.dtype.name))
    if not a._shape.is_compatible_with(b._shape):
        raise ValueError("Cross: a and b must have the same shape, got %s and %s"
                         % (a._shape, b._shape))
    s = a._shape.merge_with(b._shape)
    if s.ndims == 0 or (s.ndims is not None and s[-1].value not in (None, 3)):
        raise ValueError("Cross: the last dimension of a and b must be 3, got shape %s" % s)
    return [(a.dtype, s)]


def _cross_kernel(op, ctx):
    xp = ctx.xp

    def cross_(a, b):
        if a.shape != b.shape or not a.ndim or a.shape[-1] != 3:
            raise _invalid("Cross: a and b must have the same shape ending in 3, got %s and %s"
                           % (list(a.shape), list(b.shape)))
        return xp.cross(a, b)
    return cross_


register_op("Cross", infer=_cross_infer, kernel=_cross_kernel,
            grad=lambda op, g: [cross(op._inputs[1], g), cross(g, op._inputs[0])],
            doc="pairwise cross product of 3-vectors")


def cross(a, b, name=None):
    """The cross product of the 3-vectors in the last dim of ``a`` and ``b``.

    Example:
        >>> tf.cross([1., 0., 0.], [0., 1., 0.])     # [0., 0., 1.]
    """
    at = convert_to_tensor(a)
    with at.graph.as_default():
        bt = convert_to_tensor(b, dtype=at.dtype)
    return out("Cross", [at, bt], name=name)


# ----------------------------------------------------------------------------------------------
# Compositions: eye, trace, adjoint, matvec, norm, pinv, matrix_rank
# ----------------------------------------------------------------------------------------------
def eye(num_rows, num_columns=None, batch_shape=None, dtype=dtypes.float32, name=None):
    """The identity matrix ``[num_rows, num_columns]`` (square by default), optionally
    repeated over ``batch_shape``. Sizes may be tensors.

    Example:
        >>> tf.eye(2)                        # [[1., 0.], [0., 1.]]
        >>> tf.eye(2, 3, batch_shape=[4])    # shape [4, 2, 3]
    """
    dt = dtypes.as_dtype(dtype)
    rows = range_(num_rows)
    cols = rows if num_columns is None else range_(num_columns)
    m = cast(equal(expand_dims(rows, 1), expand_dims(cols, 0)), dt)
    if batch_shape is None:
        return identity(m, name=name or "eye")
    batch = _index_tensor(batch_shape)
    full = concat([cast(batch, dtypes.int32), shape(m)], 0)
    return broadcast_to(m, full, name=name or "eye")


def trace(x, name=None):
    """The sum of the main diagonal of each matrix in the last two dims of ``x``.

    Example:
        >>> tf.trace([[1, 2], [3, 4]])       # 5
    """
    t = convert_to_tensor(x)
    with t.graph.as_default():
        return reduce_sum(matrix_diag_part(t), axis=-1, name=name or "trace")


def adjoint(matrix, name=None):
    """The conjugate transpose of each matrix in the last two dims."""
    return matrix_transpose(matrix, name=name or "adjoint", conjugate=True)


def matvec(a, b, transpose_a=False, adjoint_a=False, a_is_sparse=False, b_is_sparse=False,
           name=None):
    """``a @ b`` for matrices ``a [..., M, N]`` and vectors ``b [..., N]`` -> ``[..., M]``."""
    bt = convert_to_tensor(b)
    with bt.graph.as_default():
        prod = matmul(a, expand_dims(bt, -1), transpose_a=transpose_a, adjoint_a=adjoint_a)
        return squeeze(prod, axis=[-1], name=name or "matvec")


_VECTOR_ORDS = ("euclidean", 1, 2, np.inf)
_MATRIX_ORDS = ("euclidean", "fro", 1, 2, np.inf)


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None,  # noqa: A002
         keep_dims=None):
    """Vector norms (over ``axis``, or all entries when None) and matrix norms (``axis`` a
    pair): ``'euclidean'``/``'fro'``, ``1``, ``2``, ``np.inf`` and, for vectors, any ``p > 0``.

    Example:
        >>> tf.norm([3., 4.])                            # 5.
        >>> tf.norm(m, ord=1, axis=[-2, -1])             # max column sum
    """
    if keepdims is not None and keep_dims is not None and keepdims != keep_dims:
        raise ValueError("keep_dims and keepdims disagree")
    keep = bool(keepdims if keepdims is not None else keep_dims)
    is_matrix = isinstance(axis, (tuple, list)) and len(axis) == 2
    if is_matrix:
        axis = tuple(axis)
        if not all(isinstance(a, (int, np.integer)) for a in axis) or axis[0] == axis[1]:
            raise ValueError("'axis' must be None, an integer, or a tuple of 2 unique integers")
        if ord not in _MATRIX_ORDS:
            raise ValueError("'ord' must be a supported matrix norm in %s, got %s"
                             % (list(_MATRIX_ORDS), ord))
    else:
        if axis is not None and not isinstance(axis, (int, np.integer)):
            raise ValueError("'axis' must be None, an integer, or a tuple of 2 unique integers")
        if ord not in _VECTOR_ORDS and (isinstance(ord, str) or not np.isreal(ord) or ord <= 0):
            raise ValueError("'ord' must be a supported vector norm, got %s" % ord)
        axis = None if axis is None else (int(axis),)
    x = convert_to_tensor(tensor)
    with x.graph.as_default():
        if ord in ("fro", "euclidean", 2, 2.0) and not (is_matrix and ord in (2, 2.0)):
            res = sqrt(real(reduce_sum(x * conj(x), axis, keepdims=True)))
            res = cast(res, x.dtype) if x.dtype.is_complex else res
        elif is_matrix and ord in (2, 2.0):
            res = _matrix_two_norm(x, axis)
        else:
            mag = abs_(x)
            if ord == 1:
                res = reduce_sum(mag, None if axis is None else axis[0], keepdims=True)
                if is_matrix:
                    res = reduce_max(res, axis[1], keepdims=True)
            elif ord == np.inf:
                if is_matrix:
                    mag = reduce_sum(mag, axis[1], keepdims=True)
                res = reduce_max(mag, None if axis is None else axis[0], keepdims=True)
            else:
                p = constant(float(ord), mag.dtype)
                res = pow_(reduce_sum(pow_(mag, p), axis, keepdims=True), 1.0 / p)
        if not keep:
            res = squeeze(res, axis=None if axis is None else list(axis))
        return identity(res, name=name or "norm")


def _matrix_two_norm(x, axis):
    """The largest singular value of the matrices spanning ``axis``, kept as size-1 dims."""
    r = x._shape.ndims
    if r is None:
        raise ValueError("norm(ord=2) of matrices needs the rank of the input, got shape %s"
                         % x._shape)
    ax = [a % r for a in axis]
    rest = [d for d in range(r) if d not in ax]
    perm = rest + ax
    s = svd(transpose(x, perm), compute_uv=False)
    top = expand_dims(reduce_max(abs_(s), axis=-1, keepdims=True), -1)
    inverse = [perm.index(d) for d in range(r)]
    return cast(transpose(top, inverse), x.dtype) if x.dtype.is_complex else transpose(top,
                                                                                       inverse)


def normalize(tensor, ord="euclidean", axis=None, name=None):  # noqa: A002
    """``(tensor / norm, norm)`` with the norm of :func:`norm` kept over ``axis``."""
    x = convert_to_tensor(tensor)
    with x.graph.as_default():
        n = norm(x, ord=ord, axis=axis, keepdims=True)
        return identity(x / n, name=name or "normalize"), n


def pinv(a, rcond=None, validate_args=False, name=None):
    """The Moore-Penrose pseudo-inverse of each matrix, from its SVD; singular values below
    ``rcond * max(s)`` (default ``10 * max(M, N) * eps``) are treated as zero."""
    x = convert_to_tensor(a)
    with x.graph.as_default():
        dims = x._shape.as_tuple()
        if rcond is None:
            if dims is None or None in dims[-2:]:
                raise ValueError("pinv needs the static matrix size for the default rcond")
            rcond = 10.0 * max(dims[-2:]) * np.finfo(x.dtype.real_dtype.np).eps
        s, u, v = svd(x, full_matrices=False, compute_uv=True)
        cutoff = cast(rcond, s.dtype) * reduce_max(s, axis=-1, keepdims=True)
        keep = greater(s, cutoff)
        safe = where(keep, s, ones_like(s))
        s_inv = where(keep, reciprocal(safe), zeros_like(s))
        return matmul(v * expand_dims(cast(s_inv, x.dtype), -2), u, adjoint_b=True,
                      name=name or "pinv")


def matrix_rank(a, tol=None, validate_args=False, name=None):
    """The number of singular values above ``tol`` (default ``max(s) * max(M, N) * eps``)."""
    x = convert_to_tensor(a)
    with x.graph.as_default():
        s = svd(x, compute_uv=False)
        if tol is None:
            dims = x._shape.as_tuple()
            if dims is None or None in dims[-2:]:
                raise ValueError("matrix_rank needs the static matrix size for the default tol")
            eps = np.finfo(x.dtype.real_dtype.np).eps
            tol = reduce_max(s, axis=-1, keepdims=True) * constant(max(dims[-2:]) * eps,
                                                                   s.dtype)
        else:
            tol = cast(convert_to_tensor(tol), s.dtype)
        return reduce_sum(cast(greater(s, tol), dtypes.int32), axis=-1,
                          name=name or "matrix_rank")
