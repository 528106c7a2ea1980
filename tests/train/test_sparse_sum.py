"""Summing the repeated rows of an IndexedSlices before a sparse update (optimizer._sum_duplicates):
the numba kernel and the NumPy path against a plain reference (each index's rows added one by one
in the order they occur), bit for bit; the no-repeat fast path; empty inputs; TF's error for bad
indices; and sparse SGD through a session with and without numba."""
import numpy as np
import pytest

import tfnb as tf
from tfnb.runtime.passes import fusion_codegen
from tfnb.framework import errors
from tfnb.ops import embedding_ops as E
from tfnb.train import optimizer as O


def _reference(values, indices):
    """{index: sum of its rows in order of occurrence} (float arithmetic of the values' dtype)."""
    out = {}
    for i, r in enumerate(indices.tolist()):
        out[r] = values[i].copy() if r not in out else out[r] + values[i]
    return out


def _paths(monkeypatch):
    def numba_path(values, indices, n):
        monkeypatch.setattr(O, "USE_NUMBA", True)
        return O._sum_duplicates(np, values, indices, n)

    def numpy_path(values, indices, n):
        monkeypatch.setattr(O, "USE_NUMBA", False)
        return O._sum_duplicates(np, values, indices, n)
    return [numba_path, numpy_path]


def _values(rng, n, row, dtype):
    # Magnitudes over six decades: the order of the additions shows in the last bits.
    v = rng.standard_normal((n,) + row) * 10.0 ** rng.uniform(-3, 3, (n,) + row)
    return v.astype(dtype)


@pytest.mark.parametrize("row", [(), (1,), (5,), (2, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_sums_match_the_sequential_reference_bitwise(monkeypatch, row, dtype, index_dtype):
    rng = np.random.default_rng(3)
    n_rows = 40
    # Zipf-like ids (many repeats of the first rows, as word2vec batches) and a few others.
    indices = np.concatenate([rng.integers(0, 4, 60), rng.integers(0, n_rows, 40)])
    rng.shuffle(indices)
    indices = indices.astype(index_dtype)
    values = _values(rng, indices.size, row, dtype)
    ref = _reference(values, indices)
    for path in _paths(monkeypatch):
        rows, summed = path(values, indices, n_rows)
        assert summed.dtype == dtype and summed.shape == (len(ref),) + row
        assert sorted(rows.tolist()) == sorted(ref)
        for r, s in zip(rows.tolist(), summed):
            np.testing.assert_array_equal(s, ref[r])


def test_no_repeats_returns_the_arguments(monkeypatch):
    values = np.arange(12, dtype=np.float32).reshape(4, 3)
    indices = np.array([7, 2, 9, 0])
    for path in _paths(monkeypatch):
        rows, summed = path(values, indices, 10)
        assert rows is indices and summed is values


@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0)])
def test_empty(monkeypatch, shape):
    values = np.zeros(shape, np.float32)
    indices = np.array([0, 1, 1][:shape[0]], np.int64)
    for path in _paths(monkeypatch):
        rows, summed = path(values, indices, 5)
        assert summed.shape[1:] == shape[1:] and summed.shape[0] == np.unique(indices).size
        assert sorted(rows.tolist()) == sorted(set(indices.tolist()))


def test_kernel_module_missing_falls_back_to_numpy(monkeypatch):
    # as when numba cannot be imported:
    monkeypatch.setitem(fusion_codegen._modules, "sparse_kernels.py", False)
    assert E._sparse_kernels() is None
    values = np.array([[1.0], [2.0], [4.0]], np.float32)
    rows, summed = O._sum_duplicates(np, values, np.array([3, 1, 3]), 5)
    assert dict(zip(rows.tolist(), summed[:, 0].tolist())) == {1: 2.0, 3: 5.0}


@pytest.mark.parametrize("indices, position", [([0, 7, 1], 1), ([2, -1, 9], 1), ([5, 1], 0)])
def test_bad_index_is_tf_error(monkeypatch, indices, position):
    values = np.ones((len(indices), 2), np.float32)
    idx = np.array(indices)
    for path in _paths(monkeypatch):
        with pytest.raises(errors.InvalidArgumentError,
                           match=r"indices\[%d\] = %d is not in \[0, 5\)"
                           % (position, indices[position])):
            path(values, idx, 5)


@pytest.mark.parametrize("use_numba", [True, False])
def test_sparse_sgd_sums_repeats_and_rejects_bad_indices(monkeypatch, use_numba):
    monkeypatch.setattr(O, "USE_NUMBA", use_numba)
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((6, 3)).astype(np.float32)
    w = tf.Variable(w0)
    ids = tf.placeholder(tf.int32, [None])
    loss = tf.reduce_sum(tf.square(tf.nn.embedding_lookup(w, ids)))
    train = tf.train.GradientDescentOptimizer(0.25).minimize(loss)
    feed = np.array([4, 1, 4, 4, 0])
    expected = w0.copy()
    grads = {}
    for i in feed.tolist():
        g = np.float32(2.0) * w0[i]
        grads[i] = g if i not in grads else grads[i] + g
    for i, g in grads.items():
        expected[i] = w0[i] - np.float32(0.25) * g
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train, {ids: feed})
        np.testing.assert_array_equal(sess.run(w), expected)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"is not in \[0, 6\)"):
            sess.run(train, {ids: [1, -2]})
        np.testing.assert_array_equal(sess.run(w), expected)   # nothing was written
