"""tf.data: sources, transformations, batching and grouping -- values against Python/NumPy
references, TF1's orders (interleave, group_by_window), static structure, typed errors."""
import threading

import numpy as np
import pytest

import tfnb as tf


def drain(sess, nxt, limit=1000):
    """Every element until OutOfRangeError (which must come)."""
    out = []
    for _ in range(limit):
        try:
            out.append(sess.run(nxt))
        except tf.errors.OutOfRangeError:
            return out
    raise AssertionError("no OutOfRangeError after %d elements" % limit)


def values(ds, limit=1000):
    nxt = ds.make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        return drain(sess, nxt, limit)


# ----------------------------------------------------------------------------------------------
# Sources
# ----------------------------------------------------------------------------------------------
def test_from_tensor_slices_tuple_dict_and_structure():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    y = np.array([1, 2, 3, 4], np.int64)
    ds = tf.data.Dataset.from_tensor_slices((x, {"y": y, "z": x[:, 0]}))
    assert ds.output_types == (tf.float32, {"y": tf.int64, "z": tf.float32})
    assert ds.output_shapes[0].as_list() == [3]
    assert ds.output_classes == (tf.Tensor, {"y": tf.Tensor, "z": tf.Tensor})
    got = values(ds)
    assert len(got) == 4
    for i, (a, d) in enumerate(got):
        np.testing.assert_array_equal(a, x[i])
        assert d["y"] == y[i] and d["z"] == x[i, 0]


def test_from_tensor_slices_list_is_one_tensor_and_sizes_must_agree():
    assert values(tf.data.Dataset.from_tensor_slices([[1, 2], [3, 4]]))[1].tolist() == [3, 4]
    with pytest.raises(ValueError, match="dimension 0"):
        tf.data.Dataset.from_tensor_slices((np.zeros(3), np.zeros(4)))
    with pytest.raises(ValueError, match="rank >= 1"):
        tf.data.Dataset.from_tensor_slices(np.float32(1.0))


def test_from_tensor_slices_sparse_rows():
    sp = tf.SparseTensor([[0, 1], [2, 0], [2, 2]], [1.0, 2.0, 3.0], [3, 4])
    ds = tf.data.Dataset.from_tensor_slices(sp)
    assert ds.output_classes is tf.SparseTensor
    rows = values(ds)
    assert [r.indices.tolist() for r in rows] == [[[1]], [], [[0], [2]]]
    assert [r.values.tolist() for r in rows] == [[1.0], [], [2.0, 3.0]]
    assert all(r.dense_shape.tolist() == [4] for r in rows)


def test_from_tensors_and_range_forms():
    assert values(tf.data.Dataset.from_tensors(np.arange(3)))[0].tolist() == [0, 1, 2]
    assert values(tf.data.Dataset.range(4)) == [0, 1, 2, 3]
    assert values(tf.data.Dataset.range(2, 5)) == [2, 3, 4]
    assert values(tf.data.Dataset.range(10, 0, -3)) == [10, 7, 4, 1]
    assert values(tf.data.Dataset.range(5, 5)) == []
    assert tf.data.Dataset.range(3).output_types == tf.int64
    with pytest.raises(ValueError, match="non-zero"):
        tf.data.Dataset.range(0, 4, 0)


def test_from_generator_values_args_and_errors():
    def gen(n):
        for i in range(n):
            yield np.arange(i), i * 2.5

    ds = tf.data.Dataset.from_generator(gen, (tf.int64, tf.float32),
                                        (tf.TensorShape([None]), tf.TensorShape([])), args=(3,))
    got = values(ds)
    assert [a.tolist() for a, _ in got] == [[], [0], [0, 1]]
    assert [b for _, b in got] == [0.0, 2.5, 5.0] and got[0][1].dtype == np.float32

    bad = tf.data.Dataset.from_generator(lambda: iter([[1, 2], [1, 2, 3]]), tf.int32,
                                         tf.TensorShape([2]))
    nxt = bad.make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        assert sess.run(nxt).tolist() == [1, 2]
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"shape \[3\]"):
            sess.run(nxt)
    wrong_type = tf.data.Dataset.from_generator(lambda: iter([1.5]), tf.int64)
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected type"):
        values(wrong_type)


def test_zip_nested_and_concatenate_generalizes_shapes():
    a = tf.data.Dataset.range(3)
    b = tf.data.Dataset.from_tensor_slices(np.arange(5, dtype=np.float32) * 2)
    c = tf.data.Dataset.from_tensor_slices(np.ones((4, 2), np.int32))
    z = tf.data.Dataset.zip((a, (b, c)))
    got = values(z)
    assert len(got) == 3  # the shortest
    assert got[2][0] == 2 and got[2][1][0] == 4.0 and got[2][1][1].tolist() == [1, 1]
    x = tf.data.Dataset.from_tensors(np.zeros(2, np.float32))
    y = tf.data.Dataset.from_tensors(np.zeros(3, np.float32))
    assert x.concatenate(y).output_shapes.as_list() == [None]
    assert [v.tolist() for v in values(x.concatenate(y))] == [[0, 0], [0, 0, 0]]
    with pytest.raises(TypeError, match="different types"):
        a.concatenate(b)


# ----------------------------------------------------------------------------------------------
# Transformations
# ----------------------------------------------------------------------------------------------
def test_map_unpacks_tuples_captures_and_parallel_keeps_order():
    w = tf.constant(3.0)
    ds = tf.data.Dataset.from_tensor_slices((np.arange(20, dtype=np.float32),
                                             np.arange(20, dtype=np.int64)))
    seq = ds.map(lambda x, y: (x * w, y + 1))
    par = ds.map(lambda x, y: (x * w, y + 1), num_parallel_calls=4)
    ref = [(np.float32(3 * i), i + 1) for i in range(20)]
    assert values(seq) == ref
    assert values(par) == ref
    listy = ds.map(lambda x, y: [y, x])  # a returned list is a tuple
    assert listy.output_types == (tf.int64, tf.float32)


def test_parallel_map_runs_calls_concurrently():
    barrier = threading.Barrier(3, timeout=10)

    def wait(x):
        barrier.wait()  # completes only when 3 calls are in flight at once
        return x

    ds = tf.data.Dataset.range(6).map(
        lambda x: tf.py_func(wait, [x], tf.int64, stateful=True), num_parallel_calls=3)
    assert values(ds) == list(range(6))


def test_map_error_names_the_inner_op_and_iteration_goes_on():
    ds = tf.data.Dataset.from_tensor_slices(np.array(["1", "x", "3"], dtype=object))
    ds = ds.map(lambda s: tf.string_to_number(s))
    nxt = ds.make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        assert sess.run(nxt) == 1.0
        with pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(nxt)
        assert sess.run(nxt) == 3.0
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(nxt)


def test_filter_and_predicate_checks():
    ds = tf.data.Dataset.range(10).filter(lambda x: tf.equal(x % 3, 0))
    assert values(ds) == [0, 3, 6, 9]
    with pytest.raises(ValueError, match="scalar boolean"):
        tf.data.Dataset.range(3).filter(lambda x: x)


def test_flat_map_and_interleave_follow_tf_order():
    fm = tf.data.Dataset.range(1, 4).flat_map(lambda n: tf.data.Dataset.range(n))
    assert values(fm) == [0, 0, 1, 0, 1, 2]
    # The example of TF's documentation of Dataset.interleave.
    il = tf.data.Dataset.range(1, 6).interleave(
        lambda x: tf.data.Dataset.from_tensors(x).repeat(6), cycle_length=2, block_length=4)
    assert values(il) == [1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 4, 4,
                          5, 5, 5, 5, 5, 5]
    with pytest.raises(TypeError, match="must return a `Dataset`"):
        tf.data.Dataset.range(3).flat_map(lambda x: x)


def test_shuffle_permutes_within_the_window_and_seeds_reproduce():
    ds = tf.data.Dataset.range(50).shuffle(10, seed=3)
    a, b = values(ds), values(ds)
    assert sorted(a) == list(range(50)) and a == b  # a new session: the same seeded order
    assert a != list(range(50))
    assert all(v <= p + 9 for p, v in enumerate(a))  # at most 9 elements ahead
    ep = tf.data.Dataset.range(20).shuffle(20, seed=1).repeat(2)
    got = values(ep)
    assert sorted(got[:20]) == sorted(got[20:]) == list(range(20)) and got[:20] != got[20:]
    fixed = tf.data.Dataset.range(20).shuffle(20, seed=1, reshuffle_each_iteration=False)
    got = values(fixed.repeat(2))
    assert got[:20] == got[20:]


def test_repeat_take_skip_shard():
    assert values(tf.data.Dataset.range(3).repeat(2)) == [0, 1, 2, 0, 1, 2]
    assert values(tf.data.Dataset.range(3).repeat().take(7)) == [0, 1, 2, 0, 1, 2, 0]
    assert values(tf.data.Dataset.range(0).repeat()) == []  # an empty input ends a repeat
    assert values(tf.data.Dataset.range(6).skip(4)) == [4, 5]
    assert values(tf.data.Dataset.range(6).skip(-1)) == []
    assert values(tf.data.Dataset.range(6).take(-1)) == list(range(6))
    assert values(tf.data.Dataset.range(10).shard(4, 3)) == [3, 7]
    with pytest.raises(ValueError, match="index"):
        tf.data.Dataset.range(10).shard(2, 2)
    n = tf.placeholder(tf.int64, [])
    it = tf.data.Dataset.range(10).shard(n, 0).make_initializable_iterator()
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="num_shards"):
            sess.run(it.initializer, {n: 0})


def test_cache_in_memory_runs_the_input_once():
    calls = []

    def count(x):
        calls.append(int(x))
        return x

    ds = tf.data.Dataset.range(4).map(lambda x: tf.py_func(count, [x], tf.int64, stateful=True))
    ds = ds.cache().repeat(3)
    assert values(ds) == [0, 1, 2, 3] * 3
    assert calls == [0, 1, 2, 3]


def test_cache_to_file_is_reused_by_another_session(tmp_path):
    calls = []

    def count(x):
        calls.append(int(x))
        return x

    prefix = str(tmp_path / "cache")
    ds = tf.data.Dataset.from_tensor_slices(np.array(["a", "bc"], dtype=object))
    ds = tf.data.Dataset.zip((ds, tf.data.Dataset.range(2).map(
        lambda x: tf.py_func(count, [x], tf.int64, stateful=True))))
    cached = ds.cache(prefix)
    first = values(cached)
    second = values(cached)
    assert first == second == [(b"a", 0), (b"bc", 1)]
    assert calls == [0, 1]


def test_prefetch_runs_ahead_in_another_thread():
    produced = []
    main = threading.get_ident()

    def note(x):
        produced.append((int(x), threading.get_ident()))
        return x

    ds = tf.data.Dataset.range(5).map(lambda x: tf.py_func(note, [x], tf.int64, stateful=True))
    nxt = ds.prefetch(3).make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        assert sess.run(nxt) == 0
        deadline = threading.Event()
        for _ in range(1000):  # the buffer refills while this thread does nothing
            if len(produced) >= 4:
                break
            deadline.wait(0.01)
        assert len(produced) >= 4
        assert drain(sess, nxt) == [1, 2, 3, 4]
    assert all(tid != main for _, tid in produced)


def test_ignore_errors_drops_failing_elements_and_reports_them(caplog):
    ds = tf.data.Dataset.from_tensor_slices(np.array(["1", "x", "3"], dtype=object))
    ds = ds.map(lambda s: tf.string_to_number(s)).apply(tf.data.experimental.ignore_errors())
    with caplog.at_level("WARNING", logger="tfnb.data"):
        assert values(ds) == [1.0, 3.0]
    assert "dropped an element (1 so far): InvalidArgumentError" in caplog.text


# ----------------------------------------------------------------------------------------------
# Batching and grouping
# ----------------------------------------------------------------------------------------------
def test_batch_static_shapes_remainder_and_mismatch():
    ds = tf.data.Dataset.from_tensor_slices(np.arange(10, dtype=np.float32).reshape(5, 2))
    b = ds.batch(2)
    assert b.output_shapes.as_list() == [None, 2]
    assert ds.batch(2, drop_remainder=True).output_shapes.as_list() == [2, 2]
    got = values(b)
    assert [g.shape for g in got] == [(2, 2), (2, 2), (1, 2)]
    np.testing.assert_array_equal(np.concatenate(got), np.arange(10).reshape(5, 2))
    assert len(values(ds.batch(2, drop_remainder=True))) == 2
    ragged = tf.data.Dataset.range(1, 4).map(lambda n: tf.range(n))
    nxt = ragged.batch(3).make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="different shapes in "
                           "component 0"):
            sess.run(nxt)


def test_batch_of_sparse_tensors():
    def to_sparse(n):
        return tf.SparseTensor(tf.reshape(tf.range(n), [-1, 1]),
                               tf.ones([tf.cast(n, tf.int32)], tf.float32), tf.reshape(n, [1]))

    ds = tf.data.Dataset.range(1, 4).map(to_sparse).batch(3)
    assert ds.output_classes is tf.SparseTensor
    (sp,) = values(ds)
    dense = np.zeros(sp.dense_shape, np.float32)
    dense[tuple(sp.indices.T)] = sp.values
    np.testing.assert_array_equal(dense, [[1, 0, 0], [1, 1, 0], [1, 1, 1]])


def test_padded_batch_values_defaults_and_errors():
    ds = tf.data.Dataset.range(1, 5).map(lambda n: (tf.fill([tf.cast(n, tf.int32)], n),
                                                     tf.cast(n, tf.float32)))
    pb = ds.padded_batch(2, padded_shapes=([None], []), padding_values=(tf.constant(-1, tf.int64),
                                                                         0.0))
    got = values(pb)
    assert got[0][0].tolist() == [[1, -1], [2, 2]] and got[1][0].tolist() == [[3, 3, 3, -1],
                                                                                [4, 4, 4, 4]]
    fixed = ds.padded_batch(4, padded_shapes=([5], []))
    assert fixed.output_shapes[0].as_list() == [None, 5]
    assert values(fixed)[0][0][0].tolist() == [1, 0, 0, 0, 0]
    small = ds.padded_batch(4, padded_shapes=([2], []))
    nxt = small.make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="smaller size"):
            sess.run(nxt)
    with pytest.raises(ValueError, match="not compatible"):
        ds.padded_batch(2, padded_shapes=([None, None], []))


def test_unbatch_inverts_batch():
    ds = tf.data.Dataset.range(7).batch(3).apply(tf.data.experimental.unbatch())
    assert values(ds) == list(range(7))


def test_group_by_window_order_and_window_sizes():
    ds = tf.data.Dataset.range(10).apply(tf.data.experimental.group_by_window(
        key_func=lambda x: x % 3, reduce_func=lambda k, w: w.batch(4),
        window_size_func=lambda k: k + 2))
    got = [v.tolist() for v in values(ds)]
    # windows of 2 (key 0), 3 (key 1), 4 (key 2), each emitted when it fills: [0, 3] at 3,
    # [1, 4, 7] at 7, [6, 9] at 9; key 2's partial window is flushed at the end
    assert got == [[0, 3], [1, 4, 7], [6, 9], [2, 5, 8]]
    with pytest.raises(ValueError, match="int64"):
        tf.data.Dataset.range(3).apply(tf.data.experimental.group_by_window(
            lambda x: tf.cast(x, tf.int32), lambda k, w: w, 2))


def test_bucket_by_sequence_length_pads_per_bucket():
    seqs = [np.arange(n, dtype=np.int64) + 1 for n in (1, 5, 2, 6, 3, 1)]
    ds = tf.data.Dataset.from_generator(lambda: iter(seqs), tf.int64, tf.TensorShape([None]))
    out = ds.apply(tf.data.experimental.bucket_by_sequence_length(
        lambda s: tf.shape(s)[0], bucket_boundaries=[3], bucket_batch_sizes=[2, 2],
        pad_to_bucket_boundary=False))
    got = [b.tolist() for b in values(out)]
    # lengths 1 5 2 6 3 1: bucket 0 fills at the 3rd element, bucket 1 at the 4th; the partial
    # buckets are flushed at the end in key order
    assert got == [[[1, 0], [1, 2]], [[1, 2, 3, 4, 5, 0], [1, 2, 3, 4, 5, 6]], [[1]], [[1, 2, 3]]]
    bounded = ds.take(3).apply(tf.data.experimental.bucket_by_sequence_length(
        lambda s: tf.shape(s)[0], [3, 7], [2, 2, 2], pad_to_bucket_boundary=True))
    assert [b.shape for b in values(bounded)] == [(2, 2), (1, 6)]
    with pytest.raises(ValueError, match="bucket_batch_sizes"):
        tf.data.experimental.bucket_by_sequence_length(lambda s: 1, [3], [2])


def test_contrib_data_names_of_older_programs():
    ds = tf.contrib.data.Dataset.range(5).apply(tf.contrib.data.batch_and_drop_remainder(2))
    assert ds.output_shapes.as_list() == [2]
    assert [v.tolist() for v in values(ds)] == [[0, 1], [2, 3]]
    sr = tf.data.Dataset.range(3).apply(tf.contrib.data.shuffle_and_repeat(3, count=2, seed=1))
    got = values(sr)
    assert sorted(got[:3]) == sorted(got[3:]) == [0, 1, 2]
    mb = tf.data.Dataset.range(5).apply(tf.contrib.data.map_and_batch(lambda x: x * 2, 2))
    assert [v.tolist() for v in values(mb)] == [[0, 2], [4, 6], [8]]
