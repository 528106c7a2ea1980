"""tf.RaggedTensor / tf.ragged and tf.strings.split(result_type="RaggedTensor"): values vs
Python references, nested raggedness, gradients through flat_values, typed errors."""
import numpy as np
import pytest

import tfnb as tf


def _pad(rows, default, depth):
    """Reference padding of nested Python lists to a dense NumPy array."""
    def shape(x, d):
        if d == 0:
            return []
        inner = [shape(r, d - 1) for r in x]
        return [len(x)] + [max((s[i] for s in inner), default=0) for i in range(d - 1)]
    dims = shape(rows, depth)
    out = np.full(dims, default)

    def fill(x, idx):
        for i, r in enumerate(x):
            if isinstance(r, list):
                fill(r, idx + (i,))
            else:
                out[idx + (i,)] = r
    fill(rows, ())
    return out


def test_constant_roundtrip_dtypes_and_ranks():
    rows = [[[1], [2, 3]], [], [[4, 5, 6]]]
    rt = tf.ragged.constant(rows)
    assert rt.ragged_rank == 2 and rt.dtype == tf.int32 and rt.shape.as_list() == [3, None, None]
    uniform = tf.ragged.constant([[[1, 2], [3, 4]], [[5, 6]]], ragged_rank=1)
    assert uniform.ragged_rank == 1 and uniform.shape.as_list() == [2, None, 2]
    assert tf.ragged.constant([[1.5], []]).dtype == tf.float32
    assert tf.ragged.constant([[], []]).dtype == tf.float32
    assert isinstance(tf.ragged.constant([1, 2]), tf.Tensor)  # ragged_rank 0
    with tf.Session() as sess:
        v = sess.run(rt)
        assert v.to_list() == rows and v.ragged_rank == 2
        assert [s.tolist() for s in v.nested_row_splits] == [[0, 2, 2, 3], [0, 1, 3, 6]]
        assert sess.run(uniform).to_list() == [[[1, 2], [3, 4]], [[5, 6]]]
        assert sess.run(tf.ragged.constant([["a", "bc"], []])).to_list() == [[b"a", b"bc"], []]
    assert tf.ragged.constant_value(rows).to_list() == rows
    with pytest.raises(ValueError, match="same nesting depth"):
        tf.ragged.constant([[1, [2]]])
    with pytest.raises(ValueError, match="ragged_rank"):
        tf.ragged.constant([[1, 2]], ragged_rank=2)
    with pytest.raises(ValueError, match="uniform"):
        tf.ragged.constant([[[1, 2], [3]]], ragged_rank=1)


def test_partitions_and_row_queries_match_python():
    rng = np.random.RandomState(1)
    lengths = rng.randint(0, 5, size=7)
    values = rng.randn(lengths.sum()).astype(np.float32)
    splits = np.concatenate([[0], np.cumsum(lengths)])
    rows = [values[a:b].tolist() for a, b in zip(splits[:-1], splits[1:])]
    rowids = np.repeat(np.arange(7), lengths)
    a = tf.RaggedTensor.from_row_splits(values, splits)
    b = tf.RaggedTensor.from_row_lengths(values, lengths)
    c = tf.RaggedTensor.from_value_rowids(values, rowids, nrows=7)
    with tf.Session() as sess:
        for rt in (a, b, c):
            assert sess.run(rt).to_list() == rows
        assert sess.run(a.row_lengths()).tolist() == lengths.tolist()
        assert sess.run(a.value_rowids()).tolist() == rowids.tolist()
        assert sess.run(a.nrows()) == 7
        assert sess.run(tf.ragged.row_splits_to_segment_ids(splits)).tolist() == rowids.tolist()
        assert sess.run(tf.ragged.segment_ids_to_row_splits(rowids, 7)).tolist() == \
            splits.tolist()
        doubled = tf.ragged.map_flat_values(tf.multiply, a, 2.0)
        assert sess.run(doubled).to_list() == [[2 * x for x in r] for r in rows]


def test_nested_to_tensor_and_to_sparse_match_references():
    rows = [[[1, 2], [], [3]], [], [[4], [5, 6, 7]]]
    rt = tf.ragged.constant(rows, dtype=tf.int64)
    dense_ref = _pad(rows, -1, 3)
    coords = [(i, j, k) for i, r in enumerate(rows) for j, s in enumerate(r)
              for k in range(len(s))]
    with tf.Session() as sess:
        assert sess.run(rt.to_tensor(default_value=-1)).tolist() == dense_ref.tolist()
        sp = sess.run(rt.to_sparse())
        assert sp.indices.tolist() == [list(c) for c in coords]
        assert sp.values.tolist() == [1, 2, 3, 4, 5, 6, 7]
        assert sp.dense_shape.tolist() == list(dense_ref.shape)
        assert sess.run(rt.row_lengths()).tolist() == [3, 0, 2]
        assert sess.run(rt.row_lengths(axis=2)).to_list() == [[2, 0, 1], [], [1, 3]]
        inner = tf.ragged.constant([[[1, 2], [3, 4]], [[5, 6]]], ragged_rank=1)
        assert sess.run(inner.to_tensor()).tolist() == [[[1, 2], [3, 4]], [[5, 6], [0, 0]]]


def test_nested_splits_are_validated():
    inner = tf.RaggedTensor.from_row_splits([1, 2, 3], [0, 1, 3])  # 2 inner rows
    bad = tf.RaggedTensor.from_row_splits(inner, [0, 1, 3])  # claims 3 inner rows
    good = tf.RaggedTensor.from_nested_row_splits(tf.constant([1, 2, 3]),
                                                  [[0, 2], [0, 1, 3]])
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="row_splits"):
            sess.run(bad)
        assert sess.run(good).to_list() == [[[1], [2, 3]]]
        with pytest.raises(tf.errors.InvalidArgumentError, match="value_rowids"):
            sess.run(tf.RaggedTensor.from_value_rowids([1, 2], [1, 0]))


def test_from_tensor_padding_lengths_and_gradient():
    x = np.array([[1, 2, 0], [0, 0, 0], [3, 0, 4]], np.float32)
    by_pad = tf.RaggedTensor.from_tensor(x, padding=0)
    by_len = tf.RaggedTensor.from_tensor(x, lengths=[1, 3, 0])
    whole = tf.RaggedTensor.from_tensor(x)
    inner_pad = tf.RaggedTensor.from_tensor([[[1, 2], [0, 0]], [[3, 0], [4, 4]]],
                                            padding=[0, 0])
    xt = tf.constant(x)
    w = tf.constant(np.arange(9, dtype=np.float32).reshape(3, 3))
    padded = tf.RaggedTensor.from_tensor(xt, lengths=[2, 0, 3]).to_tensor()
    (g,) = tf.gradients(tf.reduce_sum(padded * w[:, :3]), [xt])
    with tf.Session() as sess:
        assert sess.run(by_pad).to_list() == [[1, 2], [], [3, 0, 4]]
        assert sess.run(by_len).to_list() == [[1], [0, 0, 0], []]
        assert sess.run(whole).to_list() == x.tolist()
        assert sess.run(inner_pad).to_list() == [[[1, 2]], [[3, 0], [4, 4]]]
        mask = np.array([[1, 1, 0], [0, 0, 0], [1, 1, 1]], np.float32)
        assert sess.run(g).tolist() == (mask * np.arange(9).reshape(3, 3)).tolist()
    with pytest.raises(ValueError, match="not both"):
        tf.RaggedTensor.from_tensor(x, lengths=[1, 1, 1], padding=0)


def test_strings_split_ragged_matches_python_split():
    text = ["the cat  sat", "", "one", " lead and trail "]
    rt = tf.strings.split(text, result_type="RaggedTensor")
    rt_sep = tf.strings.split(text, sep=" ", result_type="RaggedTensor")
    rt_v1 = tf.string_split(text, delimiter=" a", result_type="RaggedTensor")
    scalar = tf.strings.split("x y", result_type="RaggedTensor")
    grid = tf.strings.split([["a b", "c"], ["d", "e f g"]], result_type="RaggedTensor")
    grid_sparse = tf.strings.split([["a b", "c"], ["d", "e f g"]])
    with tf.Session() as sess:
        assert sess.run(rt).to_list() == [s.encode().split() for s in text]
        assert sess.run(rt_sep).to_list() == [s.encode().split(b" ") for s in text]
        assert sess.run(rt_v1).to_list() == [
            [t for t in s.replace("a", " ").encode().split(b" ") if t] for s in text]
        assert sess.run(scalar).to_list() == [[b"x", b"y"]]
        assert sess.run(grid).to_list() == [[[b"a", b"b"], [b"c"]], [[b"d"], [b"e", b"f", b"g"]]]
        sp = sess.run(grid_sparse)  # TF: the nested result's to_sparse()
        assert sp.dense_shape.tolist() == [2, 2, 3]
        assert sp.indices.tolist() == [[0, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0], [1, 1, 0],
                                       [1, 1, 1], [1, 1, 2]]
        assert sess.run(tf.strings.length(rt.flat_values)).tolist() == [3, 3, 3, 3, 4, 3, 5]
    with pytest.raises(ValueError, match="result_type"):
        tf.strings.split(text, result_type="Dense")


def test_lookup_on_nested_ragged_keeps_partitions():
    rt = tf.ragged.constant([[["a", "b"], []], [["c"]]])
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(["a", "c"], np.array([1, 3], np.int64)), 0)
    with tf.Session() as sess:
        sess.run(tf.tables_initializer())
        assert sess.run(table.lookup(rt)).to_list() == [[[1, 0], []], [[3]]]
