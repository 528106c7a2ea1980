"""Linear-algebra ops against numpy.linalg on batches, gradients by finite differences
(tests/gradcheck.py), and TF1's typed errors for singular or badly shaped input."""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients, eval_kernels
from tfnb.framework import errors

R = np.random.RandomState(11)


def _run(t, feed=None):
    with tf.Session() as sess:
        return sess.run(t, feed)


def _spd(*batch, n=3):
    """Well-conditioned symmetric positive-definite matrices."""
    a = R.randn(*batch, n, n)
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _well_conditioned(*batch, n=3):
    return R.randn(*batch, n, n) + 3 * np.eye(n)


def test_inverse_determinant_slogdet_forward():
    a = _well_conditioned(2, 4, n=3)
    inv, det, (sign, logabs) = _run([tf.matrix_inverse(a), tf.matrix_determinant(a),
                                     tf.log_matrix_determinant(a)])
    np.testing.assert_allclose(inv, np.linalg.inv(a), rtol=1e-10)
    np.testing.assert_allclose(det, np.linalg.det(a), rtol=1e-10)
    want_sign, want_log = np.linalg.slogdet(a)
    np.testing.assert_allclose(sign, want_sign)
    np.testing.assert_allclose(logabs, want_log, rtol=1e-10)
    np.testing.assert_allclose(_run(tf.matrix_inverse(a, adjoint=True)),
                               np.linalg.inv(np.swapaxes(a, -1, -2)), rtol=1e-10)
    assert tf.matrix_determinant(a).shape.as_list() == [2, 4]
    c = (R.randn(3, 3) + 1j * R.randn(3, 3)).astype(np.complex64)
    np.testing.assert_allclose(_run(tf.linalg.inv(c, adjoint=True)),
                               np.linalg.inv(c.conj().T), rtol=1e-4)


def test_kernels_on_every_backend(backend):
    a = _spd(2)
    got = eval_kernels(tf.cholesky(tf.constant(a)), backend)
    np.testing.assert_allclose(got, np.linalg.cholesky(a), rtol=1e-10)
    got = eval_kernels(tf.matrix_solve(tf.constant(a), tf.constant(np.ones((2, 3, 1)))), backend)
    np.testing.assert_allclose(got, np.linalg.solve(a, np.ones((2, 3, 1))), rtol=1e-10)


@pytest.mark.parametrize("adjoint", [False, True])
def test_inverse_gradient(adjoint):
    check_gradients(lambda x: tf.matrix_inverse(x, adjoint=adjoint), [_well_conditioned(2)],
                    order=2)


def test_determinant_and_slogdet_gradients():
    check_gradients(tf.matrix_determinant, [_well_conditioned(2)], order=2)
    check_gradients(lambda x: tf.log_matrix_determinant(x).log_abs_determinant,
                    [_well_conditioned(2) * np.array([1, -1, 1])[:, None]])


def test_cholesky_forward_and_gradient():
    a = _spd(3)
    np.testing.assert_allclose(_run(tf.cholesky(a)), np.linalg.cholesky(a), rtol=1e-10)
    # The factor reads the lower triangle only: differentiate through a symmetric input.
    check_gradients(lambda x: tf.cholesky(tf.matmul(x, x, transpose_b=True) + 3 * tf.eye(
        3, dtype=tf.float64)), [R.randn(2, 3, 3)])


def test_cholesky_ignores_the_upper_triangle():
    a = _spd(n=3)
    junk = a + np.triu(R.randn(3, 3), 1)
    np.testing.assert_allclose(_run(tf.cholesky(junk)), np.linalg.cholesky(a), rtol=1e-10)


@pytest.mark.parametrize("adjoint", [False, True])
def test_matrix_solve(adjoint):
    a, b = _well_conditioned(2), R.randn(2, 3, 4)
    want = np.linalg.solve(np.swapaxes(a, -1, -2) if adjoint else a, b)
    np.testing.assert_allclose(_run(tf.matrix_solve(a, b, adjoint=adjoint)), want, rtol=1e-10)
    check_gradients(lambda x, y: tf.matrix_solve(x, y, adjoint=adjoint), [a, b])


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_matrix_triangular_solve(lower, adjoint):
    a, b = _well_conditioned(2), R.randn(2, 3, 2)
    tri = np.tril(a) if lower else np.triu(a)
    want = np.linalg.solve(np.swapaxes(tri, -1, -2) if adjoint else tri, b)
    got = _run(tf.matrix_triangular_solve(a, b, lower=lower, adjoint=adjoint))
    np.testing.assert_allclose(got, want, rtol=1e-10)
    check_gradients(lambda x, y: tf.matrix_triangular_solve(x, y, lower=lower, adjoint=adjoint),
                    [a, b])


def test_cholesky_solve_and_solve_ls():
    a, b = _spd(n=4), R.randn(4, 2)
    np.testing.assert_allclose(_run(tf.cholesky_solve(tf.cholesky(a), b)),
                               np.linalg.solve(a, b), rtol=1e-9)
    tall, rhs = R.randn(6, 3), R.randn(6, 2)
    np.testing.assert_allclose(_run(tf.matrix_solve_ls(tall, rhs)),
                               np.linalg.lstsq(tall, rhs, rcond=None)[0], rtol=1e-8)
    wide, rhs2 = R.randn(2, 4), R.randn(2, 1)  # minimum-norm solution
    np.testing.assert_allclose(_run(tf.linalg.lstsq(wide, rhs2)),
                               np.linalg.pinv(wide) @ rhs2, rtol=1e-8)
    lam = 0.5
    ridge = np.linalg.solve(tall.T @ tall + lam * np.eye(3), tall.T @ rhs)
    np.testing.assert_allclose(_run(tf.matrix_solve_ls(tall, rhs, l2_regularizer=lam)), ridge,
                               rtol=1e-8)
    check_gradients(lambda x, y: tf.matrix_solve_ls(x, y), [tall, rhs])


def test_band_part():
    x = R.randn(2, 4, 5)
    for lo, hi in [(1, 0), (-1, 0), (0, -1), (0, 0), (2, 1), (-1, -1)]:
        rows, cols = np.indices((4, 5))
        keep = ((lo < 0) | (rows - cols <= lo)) & ((hi < 0) | (cols - rows <= hi))
        np.testing.assert_array_equal(_run(tf.matrix_band_part(x, lo, hi)), x * keep)
    check_gradients(lambda t: tf.matrix_band_part(t, 1, 0), [x])
    with pytest.raises(errors.InvalidArgumentError, match="num_lower"):
        _run(tf.matrix_band_part(x, tf.placeholder_with_default(9, []), 0))


@pytest.mark.parametrize("k", [0, 1, -2])
def test_matrix_diag_family(k):
    d = R.randn(2, 3)
    m = _run(tf.linalg.diag(d, k=k))
    want = np.stack([np.diag(row, k) for row in d])
    np.testing.assert_array_equal(m, want)
    np.testing.assert_array_equal(_run(tf.linalg.diag_part(want, k=k)), d)
    x = R.randn(2, 5, 5)
    np.testing.assert_array_equal(_run(tf.linalg.diag_part(x, k=k)),
                                  np.stack([np.diagonal(xi, k) for xi in x]))
    new_diag = R.randn(2, 5 - abs(k))
    want = x.copy()
    for b in range(2):
        r = np.arange(5 - abs(k)) + max(-k, 0)
        want[b, r, r + k] = new_diag[b]
    np.testing.assert_array_equal(_run(tf.linalg.set_diag(x, new_diag, k=k)), want)
    check_gradients(lambda t: tf.linalg.diag(t, k=k), [d])
    check_gradients(lambda t: tf.linalg.diag_part(t, k=k), [x])
    check_gradients(lambda t, s: tf.linalg.set_diag(t, s, k=k), [x, new_diag])


def test_matrix_diag_sizes_and_padding():
    got = _run(tf.linalg.diag([1, 2], k=-1, num_rows=3, num_cols=4))
    assert got.tolist() == [[0, 0, 0, 0], [1, 0, 0, 0], [0, 2, 0, 0]]
    got = _run(tf.linalg.diag([1, 2], k=-1, num_rows=3, padding_value=9))
    assert got.tolist() == [[9, 9], [1, 9], [9, 2]]
    with pytest.raises(errors.InvalidArgumentError, match="does not fit"):
        _run(tf.linalg.diag([1, 2], num_rows=3, num_cols=4))
    assert tf.matrix_diag_part(tf.zeros([3, 4, 2])).shape.as_list() == [3, 2]
    assert _run(tf.matrix_diag_part(np.arange(6).reshape(2, 3))).tolist() == [0, 4]
    with pytest.raises(ValueError, match="diagonal must have shape"):
        tf.matrix_set_diag(tf.zeros([3, 3]), [1.0, 2.0])


def test_diag_and_diag_part_any_rank():
    d = R.randn(2, 3)
    full = _run(tf.diag(d))
    assert full.shape == (2, 3, 2, 3)
    want = np.zeros((2, 3, 2, 3))
    for i in range(2):
        for j in range(3):
            want[i, j, i, j] = d[i, j]
    np.testing.assert_array_equal(full, want)
    np.testing.assert_array_equal(_run(tf.diag_part(full)), d)
    check_gradients(tf.diag, [d])
    check_gradients(tf.diag_part, [R.randn(3, 3)])
    with pytest.raises(ValueError, match="even and non-zero rank"):
        tf.diag_part(tf.zeros([2, 3, 4]))


@pytest.mark.parametrize("shape, full", [((4, 3), False), ((3, 3), False), ((2, 5, 3), False),
                                         ((3, 3), True)])
def test_qr(shape, full):
    a = R.randn(*shape)
    q, r = _run(tf.qr(a, full_matrices=full))
    np.testing.assert_allclose(q @ r, a, atol=1e-12)
    np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(
        np.eye(q.shape[-1]), q.shape[:-2] + (q.shape[-1],) * 2), atol=1e-12)
    np.testing.assert_array_equal(r, np.triu(r))
    check_gradients(lambda x: tf.add_n([tf.reduce_sum(t) for t in tf.qr(x, full_matrices=full)]),
                    [a])
    check_gradients(lambda x: tf.qr(x, full_matrices=full).q, [a])


def test_qr_full_matrices_of_a_tall_matrix():
    q, r = _run(tf.qr(R.randn(5, 3), full_matrices=True))
    assert q.shape == (5, 5) and r.shape == (5, 3)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3), (2, 4, 3)])
def test_svd(shape):
    a = R.randn(*shape)
    s, u, v = _run(tf.svd(a))
    np.testing.assert_allclose(s, np.linalg.svd(a, compute_uv=False), rtol=1e-10)
    np.testing.assert_allclose(u @ (s[..., :, None] * np.swapaxes(v, -1, -2)), a, atol=1e-12)
    np.testing.assert_allclose(_run(tf.svd(a, compute_uv=False)), s, rtol=1e-12)
    check_gradients(lambda x: tf.svd(x, compute_uv=False), [a])
    check_gradients(lambda x: tf.svd(x)[0], [a])
    # Singular vectors are defined up to sign: differentiate sign-free functions of them.
    check_gradients(lambda x: tf.square(tf.svd(x)[1]), [a])
    check_gradients(lambda x: tf.square(tf.svd(x)[2]), [a])


def test_svd_full_matrices_shapes():
    s, u, v = _run(tf.svd(R.randn(5, 3), full_matrices=True))
    assert s.shape == (3,) and u.shape == (5, 5) and v.shape == (3, 3)


def test_self_adjoint_eig():
    a = _spd(2)
    e, v = _run(tf.self_adjoint_eig(a))
    np.testing.assert_allclose(e, np.linalg.eigvalsh(a), rtol=1e-10)
    np.testing.assert_allclose(a @ v, v * e[..., None, :], atol=1e-10)
    np.testing.assert_allclose(_run(tf.self_adjoint_eigvals(a)), e, rtol=1e-12)
    # The op reads the lower triangle: finite differences of the raw input see that too.
    check_gradients(tf.self_adjoint_eigvals, [a])
    check_gradients(lambda x: tf.self_adjoint_eig(x)[0], [a])
    check_gradients(lambda x: tf.square(tf.self_adjoint_eig(x)[1]), [a])


@pytest.mark.parametrize("ord_, axis", [("euclidean", None), (1, None), (np.inf, None),
                                        (3, 1), (2, 0), ("fro", (0, 1)), (1, (0, 1)),
                                        (np.inf, (-2, -1)), (2, (0, 1)), ("euclidean", (1, 0))])
def test_norm(ord_, axis):
    x = R.randn(3, 4)
    got = _run(tf.norm(x, ord=ord_, axis=axis))
    if axis is None:
        want = np.linalg.norm(x.reshape(-1), 2 if ord_ == "euclidean" else ord_)
    elif isinstance(axis, tuple):
        want = np.linalg.norm(x, "fro" if ord_ == "euclidean" else ord_, axis=axis)
    else:
        want = np.linalg.norm(x, ord_, axis=axis)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    keep = _run(tf.norm(x, ord=ord_, axis=axis, keepdims=True))
    assert keep.ndim == 2
    check_gradients(lambda t: tf.norm(t, ord=ord_, axis=axis), [x])


def test_norm_bad_arguments():
    with pytest.raises(ValueError, match="supported matrix norm"):
        tf.norm(tf.zeros([2, 2]), ord=3, axis=[0, 1])
    with pytest.raises(ValueError, match="supported vector norm"):
        tf.norm(tf.zeros([2]), ord=-1)
    with pytest.raises(ValueError, match="tuple of 2 unique integers"):
        tf.norm(tf.zeros([2, 2]), axis=(1, 1))


def test_trace_eye_cross_and_compositions():
    x = R.randn(2, 3, 3)
    np.testing.assert_allclose(_run(tf.trace(x)), np.trace(x, axis1=-2, axis2=-1))
    check_gradients(tf.trace, [x])
    assert _run(tf.eye(2, 3, batch_shape=[4])).shape == (4, 2, 3)
    np.testing.assert_array_equal(_run(tf.eye(3, dtype=tf.int32)), np.eye(3, dtype=np.int32))
    n = tf.placeholder(tf.int32, [])
    assert _run(tf.eye(n), {n: 2}).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    a, b = R.randn(4, 3), R.randn(4, 3)
    np.testing.assert_allclose(_run(tf.cross(a, b)), np.cross(a, b))
    check_gradients(tf.cross, [a, b])
    with pytest.raises(ValueError, match="must be 3"):
        tf.cross(tf.zeros([2, 4]), tf.zeros([2, 4]))
    spd = _spd(2)
    np.testing.assert_allclose(_run(tf.linalg.logdet(spd)), np.linalg.slogdet(spd)[1])
    check_gradients(lambda t: tf.linalg.logdet(tf.matmul(t, t, transpose_b=True) + 3 * tf.eye(
        3, dtype=tf.float64)), [R.randn(3, 3)])
    m = R.randn(5, 3)
    np.testing.assert_allclose(_run(tf.linalg.pinv(m)), np.linalg.pinv(m), rtol=1e-8)
    assert _run(tf.linalg.matrix_rank(np.outer([1.0, 2, 3], [1.0, 1, 2]))) == 1
    np.testing.assert_allclose(_run(tf.linalg.matvec(x, np.ones(3))), x @ np.ones(3))
    np.testing.assert_allclose(_run(tf.linalg.adjoint(x)), np.swapaxes(x, -1, -2))
    nx, nn = _run(tf.linalg.normalize(m, axis=1))
    np.testing.assert_allclose(nx, m / np.linalg.norm(m, axis=1, keepdims=True))


@pytest.mark.parametrize("build, message", [
    (lambda a: tf.matrix_inverse(a), "Input is not invertible"),
    (lambda a: tf.matrix_solve(a, np.ones((3, 1))), "Input matrix is not invertible"),
    (lambda a: tf.matrix_triangular_solve(a, np.ones((3, 1))), "Input matrix is not invertible"),
    (lambda a: tf.cholesky(a), "Cholesky decomposition was not successful")])
def test_singular_matrices_are_invalid_argument(build, message):
    singular = tf.placeholder_with_default(np.zeros((3, 3)), [3, 3])
    y = build(singular)
    with pytest.raises(errors.InvalidArgumentError, match=message) as e:
        _run(y)
    assert y.op.type in str(e.value)


def test_static_shape_errors():
    with pytest.raises(ValueError, match="must be square"):
        tf.matrix_inverse(tf.zeros([2, 3]))
    with pytest.raises(ValueError, match="at least rank 2"):
        tf.cholesky(tf.zeros([3]))
    with pytest.raises(ValueError, match="Dimensions must be equal"):
        tf.matrix_solve(tf.eye(2), tf.zeros([3, 1]))
    with pytest.raises(TypeError, match="int32 not in list"):
        tf.matrix_determinant(tf.zeros([2, 2], tf.int32))
    x = tf.placeholder(tf.float64, [None, 4, 4])
    assert tf.matrix_determinant(x).shape.as_list() == [None]
    assert tf.svd(tf.zeros([7, 5, 3]))[1].shape.as_list() == [7, 5, 3]
