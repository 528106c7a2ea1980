"""Segment reductions, partition/stitch, sorting and counting ops against NumPy references
(written row by row, independently of the kernels), finite-difference gradients and TF1's
typed errors for bad ids."""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients, eval_kernels
from tfnb.framework import errors

R = np.random.RandomState(7)


def _run(t, feed=None):
    with tf.Session() as sess:
        return sess.run(t, feed)


def _np_segment(kind, data, ids, num, empty):
    res = []
    for i in range(num):
        rows = data[ids == i]
        if not len(rows):
            res.append(np.full(data.shape[ids.ndim:], empty, data.dtype))
            continue
        fn = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "prod": np.prod}[kind]
        res.append(fn(rows, axis=0).astype(data.dtype))
    return np.array(res, dtype=data.dtype).reshape((num,) + data.shape[ids.ndim:])


SORTED = [("sum", tf.segment_sum), ("mean", tf.segment_mean), ("max", tf.segment_max),
          ("min", tf.segment_min), ("prod", tf.segment_prod)]


@pytest.mark.parametrize("kind, fn", SORTED)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_sorted_segment_forward(kind, fn, dtype):
    data = (R.uniform(-3, 3, (7, 3)) * (10 if dtype == np.int32 else 1)).astype(dtype)
    ids = np.array([0, 0, 1, 3, 3, 3, 5], np.int32)  # segments 2 and 4 are empty
    got = _run(fn(data, ids))
    want = _np_segment(kind, data, ids, 6, 1 if kind == "prod" else 0)
    assert got.dtype == dtype and got.shape == (6, 3)
    if kind == "mean" and dtype == np.int32:  # integer mean truncates toward zero (C++)
        want = np.array([np.trunc(data[ids == i].sum(0) / max((ids == i).sum(), 1))
                         for i in range(6)]).astype(dtype)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert fn(data, ids).shape.as_list() == [6, 3]  # constant ids: the row count is static


@pytest.mark.parametrize("kind, fn", SORTED)
def test_sorted_segment_kernels_on_every_backend(kind, fn, backend):
    data = R.uniform(-3, 3, (5, 2)).astype(np.float32)
    ids = np.array([0, 1, 1, 3, 3], np.int64)
    got = eval_kernels(fn(tf.constant(data), tf.constant(ids)), backend)
    np.testing.assert_allclose(got, _np_segment(kind, data, ids, 4, 1 if kind == "prod" else 0),
                               rtol=1e-6)


def test_sorted_segment_static_shape_with_unknown_ids():
    ids = tf.placeholder(tf.int32, [None])
    x = tf.placeholder(tf.float32, [None, 4])
    y = tf.segment_sum(x, ids)
    assert y.shape.as_list() == [None, 4]
    assert _run(y, {x: np.ones((3, 4)), ids: [0, 0, 1]}).tolist() == [[2.] * 4, [1.] * 4]
    assert _run(y, {x: np.ones((0, 4)), ids: np.zeros(0, np.int32)}).shape == (0, 4)


@pytest.mark.parametrize("kind, fn", SORTED[:4])
def test_sorted_segment_gradients(kind, fn):
    ids = np.array([0, 0, 1, 3, 3], np.int32)
    data = R.uniform(-2, 2, (5, 3))
    check_gradients(lambda x: fn(x, ids), [data])


def test_segment_max_gradient_splits_ties_evenly():
    x = tf.constant([1.0, 3.0, 3.0, 2.0])
    g = tf.gradients(tf.segment_max(x, [0, 0, 0, 1]), x)[0]
    np.testing.assert_allclose(_run(g), [0.0, 0.5, 0.5, 1.0])


def test_segment_prod_has_no_gradient_as_in_tf1():
    x = tf.constant([1.0, 2.0])
    with pytest.raises(LookupError):
        tf.gradients(tf.segment_prod(x, [0, 0]), x)


@pytest.mark.parametrize("ids, message", [
    ([0, 2, 1], r"segment ids are not increasing"),
    ([-1, 0, 1], r"Segment id -1 out of range \[0, 2\)"),
    ([-2, -1, -1], r"segment ids must be >= 0")])
def test_sorted_segment_bad_ids_are_invalid_argument(ids, message):
    y = tf.segment_sum([1.0, 2.0, 3.0], tf.placeholder_with_default(ids, [3]))
    with pytest.raises(errors.InvalidArgumentError, match=message) as e:
        _run(y)
    assert "SegmentSum" in str(e.value)


def test_sorted_segment_static_errors():
    with pytest.raises(ValueError, match="should be the same size"):
        tf.segment_sum(tf.zeros([3, 2]), tf.zeros([4], tf.int32))
    with pytest.raises(ValueError, match="should be a vector"):
        tf.segment_sum(tf.zeros([3, 2]), tf.zeros([3, 1], tf.int32))
    with pytest.raises(TypeError, match="segment_ids"):
        tf.segment_sum(tf.zeros([3]), tf.zeros([3], tf.float32))
    with pytest.raises(TypeError, match="data"):
        tf.segment_max(tf.zeros([2], tf.complex64), [0, 1])


UNSORTED = [("max", tf.unsorted_segment_max), ("min", tf.unsorted_segment_min),
            ("prod", tf.unsorted_segment_prod), ("sum", tf.unsorted_segment_sum),
            ("mean", tf.unsorted_segment_mean)]


@pytest.mark.parametrize("kind, fn", UNSORTED)
def test_unsorted_segment_forward(kind, fn):
    data = R.uniform(-3, 3, (2, 4, 3)).astype(np.float32)
    ids = np.array([[2, -1, 0, 2], [0, 4, -1, 2]], np.int32)  # 2-D ids; 1 and 3 empty
    got = _run(fn(data, ids, 5))
    f32 = np.finfo(np.float32)
    empty = {"max": f32.min, "min": f32.max, "prod": 1, "sum": 0, "mean": 0}[kind]
    np.testing.assert_allclose(got, _np_segment(kind, data, ids, 5, empty), rtol=1e-6)
    assert got.shape == (5, 3) and fn(data, ids, 5).shape.as_list() == [5, 3]


def test_unsorted_segment_sqrt_n():
    data = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], np.float32)
    got = _run(tf.unsorted_segment_sqrt_n(data, [1, 1, 0], 3))
    np.testing.assert_allclose(got, [[5, 6], [4 / np.sqrt(2), 6 / np.sqrt(2)], [0, 0]],
                               rtol=1e-6)


def test_unsorted_segment_integer_empty_is_the_type_limit():
    got = _run(tf.unsorted_segment_max(tf.constant([3, 1], tf.int32), [1, 1], 2))
    assert got.tolist() == [np.iinfo(np.int32).min, 3]


@pytest.mark.parametrize("kind, fn", UNSORTED)
def test_unsorted_segment_gradients(kind, fn):
    # No empty segment: max/min would give the dtype's lowest/highest value there.
    ids = np.array([2, -1, 0, 2, 0, 1], np.int32)
    data = R.uniform(0.5, 2, (6, 2)) * R.choice([-1, 1], (6, 2))
    check_gradients(lambda x: fn(x, ids, 3), [data])


def test_unsorted_segment_prod_gradient_with_zeros():
    # Segment 0 has one zero (only it gets the product of the others), segment 1 two zeros.
    x = tf.constant([0.0, 2.0, 3.0, 0.0, 0.0, 5.0])
    g = tf.gradients(tf.unsorted_segment_prod(x, [0, 0, 0, 1, 1, 1], 2), x)[0]
    np.testing.assert_allclose(_run(g), [6.0, 0.0, 0.0, 0.0, 0.0, 0.0])


def test_unsorted_segment_out_of_range_id():
    y = tf.unsorted_segment_max(tf.ones([2, 2]), tf.placeholder_with_default([[0, 1], [3, 0]],
                                                                             [2, 2]), 3)
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"segment_ids\[1,0\] = 3 is out of range \[0, 3\)"):
        _run(y)


def test_sparse_segment_ops():
    c = np.array([[1, 2, 3, 4], [-1, -2, -3, -4], [5, 6, 7, 8]], np.float32)
    assert _run(tf.sparse_segment_sum(c, [0, 1], [0, 0])).tolist() == [[0, 0, 0, 0]]
    np.testing.assert_allclose(_run(tf.sparse_segment_sum(c, [0, 2], [0, 1])), c[[0, 2]])
    got = _run(tf.sparse_segment_mean(c, [0, 1, 2, 2], [0, 0, 2, 2], num_segments=4))
    np.testing.assert_allclose(got, [(c[0] + c[1]) / 2, 0 * c[0], c[2], 0 * c[0]])
    got = _run(tf.sparse_segment_sqrt_n(c, [0, 1, 2], [0, 0, 1]))
    np.testing.assert_allclose(got, [(c[0] + c[1]) / np.sqrt(2), c[2]], rtol=1e-6)
    y = tf.sparse_segment_sum(c, [0, 2], [0, 1], num_segments=3)
    assert y.op.type == "SparseSegmentSumWithNumSegments" and y.shape.as_list() == [3, 4]


@pytest.mark.parametrize("fn", [tf.sparse_segment_sum, tf.sparse_segment_mean,
                                tf.sparse_segment_sqrt_n])
def test_sparse_segment_gradients(fn):
    data = R.uniform(-2, 2, (4, 3))
    check_gradients(lambda x: fn(x, [3, 1, 1, 0, 3], [0, 0, 1, 3, 3]), [data])


def test_sparse_segment_bad_index():
    y = tf.sparse_segment_sum(tf.ones([3, 2]), tf.placeholder_with_default([0, 3], [2]), [0, 0])
    with pytest.raises(errors.InvalidArgumentError, match=r"indices\[1\] == 3 out of range"):
        _run(y)


def test_dynamic_partition_and_stitch_round_trip():
    data = R.uniform(-1, 1, (6, 2)).astype(np.float32)
    parts = np.array([2, 0, 2, 1, 0, 2], np.int32)
    outs = tf.dynamic_partition(data, parts, 3)
    assert len(outs) == 3 and outs[0].shape.as_list() == [None, 2]
    got = _run(outs)
    for p in range(3):
        np.testing.assert_array_equal(got[p], data[parts == p])
    idx = tf.dynamic_partition(np.arange(6, dtype=np.int32), parts, 3)
    np.testing.assert_array_equal(_run(tf.dynamic_stitch(idx, outs)), data)


def test_dynamic_stitch_later_entries_win_and_gaps_are_zero():
    got = _run(tf.dynamic_stitch([[0, 3], [3, 1]], [[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(got, [1.0, 4.0, 0.0, 3.0])
    m = tf.dynamic_stitch([6, [4, 1], [[5, 2], [0, 3]]],
                          [[61, 62], [[41, 42], [11, 12]], [[[51, 52], [21, 22]],
                                                            [[1, 2], [31, 32]]]])
    np.testing.assert_array_equal(_run(m), [[1, 2], [11, 12], [21, 22], [31, 32], [41, 42],
                                            [51, 52], [61, 62]])
    assert m.shape.as_list() == [7, 2]


def test_dynamic_partition_gradient():
    parts = np.array([1, 0, 1, 1], np.int32)
    check_gradients(lambda x: tf.reshape(tf.concat(tf.dynamic_partition(x, parts, 2), 0), [4, 2]),
                    [R.uniform(-1, 1, (4, 2))])


def test_dynamic_stitch_gradient():
    check_gradients(lambda a, b: tf.dynamic_stitch([[0, 2], [1, 3]], [a, b]),
                    [R.uniform(-1, 1, (2, 3)), R.uniform(-1, 1, (2, 3))])


def test_dynamic_partition_errors():
    p = tf.placeholder_with_default([0, 5], [2])
    with pytest.raises(errors.InvalidArgumentError, match=r"partitions\[1\] = 5 is not in"):
        _run(tf.dynamic_partition([1.0, 2.0], p, 2))
    with pytest.raises(ValueError, match="must start with partitions.shape"):
        tf.dynamic_partition(tf.zeros([3]), tf.zeros([4], tf.int32), 2)


@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("direction", ["ASCENDING", "DESCENDING"])
def test_sort_and_argsort(axis, direction):
    x = R.randint(-5, 5, (4, 6, 3)).astype(np.float32)  # ties: argsort must be stable
    s = _run(tf.sort(x, axis=axis, direction=direction))
    a = _run(tf.argsort(x, axis=axis, direction=direction))
    key = x if direction == "ASCENDING" else -x
    want_idx = np.argsort(key, axis=axis, kind="stable")
    np.testing.assert_array_equal(a, want_idx)
    np.testing.assert_array_equal(s, np.take_along_axis(x, want_idx, axis=axis))
    assert a.dtype == np.int32


def test_sort_gradient():
    check_gradients(lambda x: tf.sort(x, axis=0), [R.permutation(12).reshape(4, 3) * 0.5])


def test_setdiff1d():
    o, i = _run(tf.setdiff1d([1, 2, 3, 4, 5, 6, 2], [1, 3, 5]))
    assert o.tolist() == [2, 4, 6, 2] and i.tolist() == [1, 3, 5, 6]
    o, i = _run(tf.setdiff1d([1, 2], [2], index_dtype=tf.int64))
    assert o.tolist() == [1] and i.dtype == np.int64


def test_bincount():
    arr = R.randint(0, 6, 40).astype(np.int32)
    np.testing.assert_array_equal(_run(tf.bincount(arr)), np.bincount(arr))
    np.testing.assert_array_equal(_run(tf.bincount(arr, minlength=9)), np.bincount(arr, None, 9))
    np.testing.assert_array_equal(_run(tf.bincount(arr, maxlength=3)), np.bincount(arr)[:3])
    w = R.uniform(0, 1, 40).astype(np.float32)
    np.testing.assert_allclose(_run(tf.bincount(arr, weights=w)), np.bincount(arr, w), rtol=1e-5)
    assert _run(tf.bincount(np.zeros([0], np.int32))).shape == (0,)
    with pytest.raises(errors.InvalidArgumentError, match="must be non-negative"):
        _run(tf.bincount(tf.placeholder_with_default([1, -1], [2])))


def test_histogram_fixed_width():
    v = R.uniform(-3, 8, 200)
    got = _run(tf.histogram_fixed_width(v, [0.0, 5.0], nbins=5))
    bins = np.clip(np.floor((v - 0.0) / 1.0), 0, 4).astype(int)
    np.testing.assert_array_equal(got, np.bincount(bins, minlength=5))
    got = _run(tf.histogram_fixed_width_bins(v, [0.0, 5.0], nbins=5))
    np.testing.assert_array_equal(got, bins)
    with pytest.raises(errors.InvalidArgumentError, match="value_range"):
        _run(tf.histogram_fixed_width([1.0], tf.placeholder_with_default([2.0, 1.0], [2])))


def test_confusion_matrix():
    labels, preds = [1, 2, 4, 2], [2, 2, 4, 0]
    want = np.zeros((5, 5), np.int32)
    for a, b in zip(labels, preds):
        want[a, b] += 1
    np.testing.assert_array_equal(_run(tf.confusion_matrix(labels, preds)), want)
    np.testing.assert_array_equal(_run(tf.math.confusion_matrix(labels, preds, num_classes=6,
                                                                weights=[1., 2., 3., 4.],
                                                                dtype=tf.float32)).sum(), 10.0)
    with pytest.raises(errors.InvalidArgumentError, match="out of bound"):
        _run(tf.confusion_matrix(labels, preds, num_classes=3))


def test_unravel_index_and_searchsorted():
    np.testing.assert_array_equal(_run(tf.unravel_index([2, 5, 7], [3, 3])),
                                  np.array(np.unravel_index([2, 5, 7], (3, 3))))
    assert _run(tf.unravel_index(5, [3, 3])).tolist() == [1, 2]
    with pytest.raises(errors.InvalidArgumentError, match="out of bound"):
        _run(tf.unravel_index(tf.placeholder_with_default(9, []), [3, 3]))
    seq = np.sort(R.randint(0, 10, (3, 8)), axis=1).astype(np.float32)
    vals = R.randint(-1, 11, (3, 5)).astype(np.float32)
    for side in ("left", "right"):
        got = _run(tf.searchsorted(seq, vals, side=side))
        want = np.stack([np.searchsorted(s, v, side=side) for s, v in zip(seq, vals)])
        np.testing.assert_array_equal(got, want)
