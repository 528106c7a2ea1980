"""SparseTensor and the sparse ops: values against dense NumPy references, TF1's index checks,
fetching (SparseTensorValue), and gradients of the values against finite differences."""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients

R = np.random.RandomState(2024)


def random_sparse(shape, nnz, shuffle=True):
    """(indices int64 [nnz, rank] unique, values float64 [nnz], dense ndarray)."""
    flat = R.choice(int(np.prod(shape)), nnz, replace=False)
    if not shuffle:
        flat = np.sort(flat)
    idx = np.stack(np.unravel_index(flat, shape), axis=1).astype(np.int64)
    vals = R.randn(nnz)
    dense = np.zeros(shape)
    dense[tuple(idx.T)] = vals
    return idx, vals, dense


def _run(fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed)


# ----------------------------------------------------------------------------------------------
# The SparseTensor value
# ----------------------------------------------------------------------------------------------
def test_sparse_tensor_parts_static_shape_and_fetch():
    sp = tf.SparseTensor(indices=[[0, 1], [2, 3]], values=[1.5, -2.0], dense_shape=[3, 4])
    assert sp.indices.dtype == tf.int64 and sp.dense_shape.dtype == tf.int64
    assert sp.dtype == tf.float32 and sp.shape.as_list() == [3, 4]
    assert sp.get_shape().as_list() == [3, 4] and sp.graph is tf.get_default_graph()
    v = _run(sp)
    assert isinstance(v, tf.SparseTensorValue)
    np.testing.assert_array_equal(v.indices, [[0, 1], [2, 3]])
    np.testing.assert_array_equal(v.values, np.float32([1.5, -2.0]))
    np.testing.assert_array_equal(v.dense_shape, [3, 4])
    nested = _run({"sp": sp, "list": [sp.values, sp]})
    assert isinstance(nested["sp"], tf.SparseTensorValue)
    assert isinstance(nested["list"][1], tf.SparseTensorValue)
    with tf.Session() as sess:
        assert isinstance(sp.eval(session=sess), tf.SparseTensorValue)


def test_sparse_tensor_from_value_and_unknown_shape():
    v = tf.SparseTensorValue(np.array([[1]], np.int64), np.array([7], np.int32), np.array([4]))
    sp = tf.SparseTensor.from_value(v)
    np.testing.assert_array_equal(_run(tf.sparse_tensor_to_dense(sp)), [0, 7, 0, 0])
    shape = tf.placeholder(tf.int64, [2])
    sp2 = tf.SparseTensor([[0, 0]], [1.0], shape)
    assert sp2.shape.as_list() == [None, None]


def test_sparse_tensor_rejects_inconsistent_parts():
    with pytest.raises(ValueError):
        tf.SparseTensor(indices=[[0, 1], [1, 1]], values=[1.0], dense_shape=[2, 2])
    with pytest.raises(ValueError):
        tf.SparseTensor(indices=[[0, 1]], values=[1.0], dense_shape=[2, 2, 2])
    with pytest.raises(ValueError):
        tf.SparseTensor(indices=[0, 1], values=[1.0, 2.0], dense_shape=[2])


def test_sparse_tensor_does_not_convert_to_dense_implicitly():
    sp = tf.SparseTensor([[0]], [1.0], [2])
    with pytest.raises(TypeError, match="SparseTensor"):
        tf.convert_to_tensor(sp)
    with pytest.raises(TypeError, match="SparseTensor"):
        tf.add(sp, 1.0)


# ----------------------------------------------------------------------------------------------
# SparseToDense
# ----------------------------------------------------------------------------------------------
def test_to_dense_matches_numpy_with_default_and_dtypes():
    idx, vals, dense = random_sparse((4, 5, 3), 12, shuffle=False)
    sp = tf.SparseTensor(idx, vals.astype(np.float32), [4, 5, 3])
    d, d9 = _run([tf.sparse_tensor_to_dense(sp), tf.sparse.to_dense(sp, default_value=9.0)])
    np.testing.assert_array_equal(d, dense.astype(np.float32))
    want9 = np.full((4, 5, 3), 9.0, np.float32)
    want9[tuple(idx.T)] = vals.astype(np.float32)
    np.testing.assert_array_equal(d9, want9)
    sp_int = tf.SparseTensor([[0, 0], [1, 2]], tf.constant([5, 6], tf.int64), [2, 3])
    got = _run(tf.sparse_tensor_to_dense(sp_int))
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, [[5, 0, 0], [0, 0, 6]])


def test_sparse_to_dense_vector_indices_and_scalar_value():
    got = _run(tf.sparse_to_dense([1, 3], [5], 2.5, default_value=-1.0))
    np.testing.assert_array_equal(got, np.float32([-1, 2.5, -1, 2.5, -1]))


@pytest.mark.parametrize("indices, message", [
    ([[1, 0], [0, 1]], r"indices\[1\] = \[0,1\] is out of order"),
    ([[0, 1], [0, 1]], r"indices\[1\] = \[0,1\] is repeated"),
    ([[0, 1], [2, 0]], r"indices\[1\] = \[2,0\] is out of bounds: need 0 <= index < \[2,2\]"),
    ([[0, -1]], r"indices\[0\] = \[0,-1\] is out of bounds"),
])
def test_to_dense_validates_indices_as_tf(indices, message):
    sp = tf.SparseTensor(indices, [1.0] * len(indices), [2, 2])
    with pytest.raises(tf.errors.InvalidArgumentError, match=message + r"[\s\S]*SparseToDense"):
        _run(tf.sparse_tensor_to_dense(sp))


def test_to_dense_without_validation_accepts_any_order():
    sp = tf.SparseTensor([[1, 0], [0, 1]], [1.0, 2.0], [2, 2])
    np.testing.assert_array_equal(_run(tf.sparse_tensor_to_dense(sp, validate_indices=False)),
                                  [[0, 2], [1, 0]])


def test_to_dense_gradient_for_values_and_default():
    idx, vals, _ = random_sparse((3, 4), 5, shuffle=False)
    check_gradients(lambda v, d: tf.sparse_to_dense(idx, [3, 4], v, d), [vals, np.array(0.3)])


# ----------------------------------------------------------------------------------------------
# SparseReorder
# ----------------------------------------------------------------------------------------------
def test_reorder_sorts_row_major_and_keeps_the_dense_value():
    idx, vals, dense = random_sparse((5, 4, 3), 20)
    sp = tf.SparseTensor(idx, vals, [5, 4, 3])
    ro = tf.sparse_reorder(sp)
    got_idx, got_vals, d = _run([ro.indices, ro.values, tf.sparse_tensor_to_dense(ro)])
    order = np.lexsort(idx.T[::-1])
    np.testing.assert_array_equal(got_idx, idx[order])
    np.testing.assert_array_equal(got_vals, vals[order])
    np.testing.assert_array_equal(d, dense)


def test_reorder_gradient():
    idx, vals, _ = random_sparse((4, 6), 9)
    check_gradients(lambda v: tf.sparse_reorder(tf.SparseTensor(idx, v, [4, 6])).values, [vals])


# ----------------------------------------------------------------------------------------------
# SparseReduceSum
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1, [0, 2], [1, -1]])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce_sum_matches_numpy(axis, keepdims):
    idx, vals, dense = random_sparse((3, 4, 5), 17)
    t = tf.sparse_reduce_sum(tf.SparseTensor(idx, vals, [3, 4, 5]), axis=axis, keepdims=keepdims)
    want = np.sum(dense, axis=None if axis is None else tuple(np.atleast_1d(axis)),
                  keepdims=keepdims)
    assert t.shape.as_list() == list(want.shape)
    np.testing.assert_allclose(_run(t), want, rtol=1e-12)


def test_reduce_sum_legacy_argument_names_and_bad_axis():
    sp = tf.SparseTensor([[0, 1]], [2.0], [2, 3])
    got = _run(tf.sparse_reduce_sum(sp, reduction_axes=1, keep_dims=True))
    np.testing.assert_array_equal(got, np.float32([[2.0], [0.0]]))
    with pytest.raises(ValueError, match="Invalid reduction dimension 2"):
        tf.sparse_reduce_sum(sp, axis=2)


@pytest.mark.parametrize("axis", [None, 1, [0, 2]])
def test_reduce_sum_gradient(axis):
    idx, vals, _ = random_sparse((3, 4, 2), 10)
    check_gradients(lambda v: tf.sparse_reduce_sum(tf.SparseTensor(idx, v, [3, 4, 2]), axis=axis),
                    [vals])


# ----------------------------------------------------------------------------------------------
# SparseTensorDenseMatMul
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("adjoint_a", [False, True])
@pytest.mark.parametrize("adjoint_b", [False, True])
def test_sparse_dense_matmul_matches_numpy(adjoint_a, adjoint_b):
    idx, vals, dense = random_sparse((4, 6), 11)  # unordered indices are fine here
    a = dense.T if adjoint_a else dense
    k = a.shape[1]
    b = R.randn(3, k) if adjoint_b else R.randn(k, 3)
    t = tf.sparse_tensor_dense_matmul(tf.SparseTensor(idx, vals, [4, 6]), b,
                                      adjoint_a=adjoint_a, adjoint_b=adjoint_b)
    want = a @ (b.T if adjoint_b else b)
    assert t.shape.as_list() == list(want.shape)
    np.testing.assert_allclose(_run(t), want, rtol=1e-12)


@pytest.mark.parametrize("adjoint_a", [False, True])
@pytest.mark.parametrize("adjoint_b", [False, True])
def test_sparse_dense_matmul_gradients(adjoint_a, adjoint_b):
    idx, vals, _ = random_sparse((4, 5), 8)
    k = 4 if adjoint_a else 5
    b = R.randn(3, k) if adjoint_b else R.randn(k, 3)
    check_gradients(lambda v, b_: tf.sparse_tensor_dense_matmul(
        tf.SparseTensor(idx, v, [4, 5]), b_, adjoint_a=adjoint_a, adjoint_b=adjoint_b), [vals, b])


def test_sparse_dense_matmul_shape_errors():
    sp = tf.SparseTensor([[0, 4]], [1.0], [2, 5])
    with pytest.raises(ValueError, match="Dimensions must be equal, but are 5 and 3"):
        tf.sparse_tensor_dense_matmul(sp, tf.ones([3, 2]))
    bad = tf.SparseTensor([[0, 7]], [1.0], [2, 5])  # index beyond the dense shape
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"k \(7\) from index\[0,1\] out of"):
        _run(tf.sparse_tensor_dense_matmul(bad, tf.ones([5, 2])))


# ----------------------------------------------------------------------------------------------
# SparseAdd
# ----------------------------------------------------------------------------------------------
def test_sparse_add_of_two_sparse_tensors():
    ia, va, da = random_sparse((4, 5), 9, shuffle=False)
    ib, vb, db = random_sparse((4, 5), 7, shuffle=False)
    s = tf.sparse_add(tf.SparseTensor(ia, va, [4, 5]), tf.SparseTensor(ib, vb, [4, 5]))
    assert isinstance(s, tf.SparseTensor)
    v = _run(s)
    np.testing.assert_array_equal(v.dense_shape, [4, 5])
    np.testing.assert_array_equal(v.indices, v.indices[np.lexsort(v.indices.T[::-1])])
    keys = set(map(tuple, ia)) | set(map(tuple, ib))
    assert len(v.values) == len(keys)
    got = np.zeros((4, 5))
    got[tuple(v.indices.T)] = v.values
    np.testing.assert_allclose(got, da + db, rtol=1e-12)


def test_sparse_add_threshold_drops_small_sums():
    a = tf.SparseTensor([[0, 0], [0, 1], [1, 1]], [1.0, 0.05, 2.0], [2, 2])
    b = tf.SparseTensor([[0, 0], [1, 1]], [-1.0, 0.5], [2, 2])
    v = _run(tf.sparse_add(a, b, threshold=0.1))
    np.testing.assert_array_equal(v.indices, [[1, 1]])
    np.testing.assert_array_equal(v.values, np.float32([2.5]))
    v0 = _run(tf.sparse_add(a, b))  # threshold 0 keeps the exact zero sum
    np.testing.assert_array_equal(v0.indices, [[0, 0], [0, 1], [1, 1]])
    np.testing.assert_array_equal(v0.values, np.float32([0.0, 0.05, 2.5]))
    # Entries dropped by the threshold get no gradient.
    va = tf.constant([1.0, 0.05, 2.0])
    s = tf.sparse_add(tf.SparseTensor(a.indices, va, [2, 2]), b, threshold=0.1)
    np.testing.assert_array_equal(_run(tf.gradients(tf.reduce_sum(s.values * 3.0), va)[0]),
                                  np.float32([0.0, 0.0, 3.0]))


def test_sparse_add_gradients_reach_both_operands():
    ia, va, _ = random_sparse((3, 4), 6, shuffle=False)
    ib, vb, _ = random_sparse((3, 4), 5, shuffle=False)
    check_gradients(lambda x, y: tf.reshape(tf.sparse_tensor_to_dense(tf.sparse_add(
        tf.SparseTensor(ia, x, [3, 4]), tf.SparseTensor(ib, y, [3, 4]))), [3, 4]), [va, vb])


def test_sparse_add_with_a_dense_tensor_is_dense():
    idx, vals, dense = random_sparse((3, 4), 5)
    d = R.randn(3, 4)
    t = tf.sparse_add(tf.constant(d), tf.SparseTensor(idx, vals, [3, 4]))
    assert isinstance(t, tf.Tensor) and t.shape.as_list() == [3, 4]
    np.testing.assert_allclose(_run(t), d + dense, rtol=1e-12)
    check_gradients(lambda v, x: tf.sparse_add(tf.SparseTensor(idx, v, [3, 4]), x), [vals, d])


def test_sparse_add_needs_a_sparse_operand_and_equal_shapes():
    with pytest.raises(TypeError, match="SparseTensor"):
        tf.sparse_add(tf.ones([2]), tf.ones([2]))
    with pytest.raises(ValueError, match="same dense shape"):
        tf.sparse_add(tf.SparseTensor([[0]], [1.0], [2]), tf.SparseTensor([[0]], [1.0], [3]))


# ----------------------------------------------------------------------------------------------
# Compositions
# ----------------------------------------------------------------------------------------------
def test_retain_transpose_and_from_dense():
    idx, vals, dense = random_sparse((3, 4), 6, shuffle=False)
    sp = tf.SparseTensor(idx, vals, [3, 4])
    keep = np.array([True, False, True, True, False, True])
    kept = _run(tf.sparse_tensor_to_dense(tf.sparse_retain(sp, keep)))
    want = np.zeros((3, 4))
    want[tuple(idx[keep].T)] = vals[keep]
    np.testing.assert_array_equal(kept, want)
    tr = tf.sparse_transpose(sp)
    np.testing.assert_array_equal(_run(tf.sparse_tensor_to_dense(tr)), dense.T)
    fd = tf.sparse.from_dense(tf.constant(dense))
    v = _run(fd)
    np.testing.assert_array_equal(v.indices, idx)
    np.testing.assert_array_equal(v.values, vals)
    np.testing.assert_array_equal(v.dense_shape, [3, 4])


def test_sparse_namespace_names():
    sp = tf.SparseTensor([[0, 1]], [3.0], [2, 2])
    np.testing.assert_array_equal(_run(tf.sparse.to_dense(tf.sparse.reorder(sp))), [[0, 3], [0, 0]])
    np.testing.assert_array_equal(_run(tf.sparse.reduce_sum(sp, 1)), [3.0, 0.0])
    np.testing.assert_array_equal(_run(tf.sparse.sparse_dense_matmul(sp, tf.ones([2, 1]))),
                                  [[3.0], [0.0]])
    assert tf.sparse.SparseTensor is tf.SparseTensor
