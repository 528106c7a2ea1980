"""Lookup tables (vocabularies of text pipelines) and ragged tensors: values, per-session
state, initialization rules and typed errors."""
import numpy as np
import pytest

import tfnb as tf


def test_static_hash_table_lookup_size_and_default():
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(["a", "b", "c"], np.array([1, 2, 3], np.int64)), -1)
    out = table.lookup(tf.constant([["a", "x"], ["c", "b"]]))
    assert out.shape.as_list() == [2, 2] and out.dtype == tf.int64
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="not initialized"):
            sess.run(out)
        sess.run(tf.tables_initializer())
        assert sess.run(out).tolist() == [[1, -1], [3, 2]]
        assert sess.run(table.size()) == 3
        sess.run(tf.tables_initializer())  # the same entries again: allowed
    with pytest.raises(TypeError, match="Signature mismatch"):
        table.lookup(tf.constant([1, 2], tf.int64))


def test_int_keys_string_values_and_sparse_keys():
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant([3, 7], tf.int64), ["three", "seven"]),
        "?")
    sp = tf.SparseTensor([[0, 0], [1, 1]], tf.constant([7, 9], tf.int64), [2, 2])
    looked = table.lookup(sp)
    with tf.Session() as sess:
        sess.run(tf.tables_initializer())
        v = sess.run(looked)
    assert v.values.tolist() == [b"seven", b"?"] and v.indices.tolist() == [[0, 0], [1, 1]]


def test_duplicate_keys_with_different_values_are_rejected():
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(["a", "a"], np.array([1, 2], np.int64)), -1)
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="different value for same key"):
            sess.run(table.initializer)


def test_vocabulary_table_oov_buckets_follow_tf():
    vocab = ["the", "cat"]
    table = tf.lookup.StaticVocabularyTable(
        tf.lookup.KeyValueTensorInitializer(vocab, tf.range(2, dtype=tf.int64)), 3)
    words = tf.constant(["the", "bird", "cat", "Hello", "TensorFlow", "2.x"])
    with tf.Session() as sess:
        sess.run(tf.tables_initializer())
        ids = sess.run(table.lookup(words))
        size = sess.run(table.size())
    # OOV ids: 2 + Fingerprint64 % 3; TF documents to_hash_bucket_fast(["Hello",
    # "TensorFlow", "2.x"], 3) == [0, 2, 2]; TF 2.21 gives "bird" bucket 0
    assert ids.tolist() == [0, 2, 1, 2, 4, 4] and size == 5


def test_text_file_vocabularies_and_index_helpers(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("<unk>\nhello\nworld\n")
    to_id = tf.contrib.lookup.index_table_from_file(str(path), default_value=0)
    to_word = tf.contrib.lookup.index_to_string_table_from_file(str(path))
    from_list = tf.contrib.lookup.index_table_from_tensor(["x", "y"], num_oov_buckets=1)
    short = tf.contrib.lookup.index_table_from_file(str(path), vocab_size=10)
    ids = to_id.lookup(tf.constant(["world", "nope", "hello"]))
    words = to_word.lookup(tf.constant([2, 0, 7], tf.int64))
    with tf.Session() as sess:
        sess.run([to_id.initializer, to_word.initializer, from_list.initializer])
        assert sess.run(ids).tolist() == [2, 0, 1]
        assert sess.run(words).tolist() == [b"world", b"<unk>", b"UNK"]
        assert sess.run(from_list.lookup(tf.constant(["y", "zz"]))).tolist() == [1, 2]
        with pytest.raises(tf.errors.InvalidArgumentError, match="expected 10 but got 3"):
            sess.run(short.initializer)


def test_tables_are_per_session_state():
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(["k"], np.array([5], np.int64)), -1)
    v = table.lookup(tf.constant("k"))
    with tf.Session() as s1, tf.Session() as s2:
        s1.run(table.initializer)
        assert s1.run(v) == 5
        with pytest.raises(tf.errors.FailedPreconditionError):
            s2.run(v)


def test_ragged_tensor_parts_conversions_and_lookups():
    rt = tf.RaggedTensor.from_row_splits(tf.constant([3, 1, 4, 1, 5], tf.int64), [0, 2, 2, 5])
    assert rt.shape.as_list() == [3, None]
    sp = rt.to_sparse()
    dense = rt.to_tensor(default_value=-1)
    from_sp = tf.RaggedTensor.from_sparse(tf.SparseTensor([[0, 0], [2, 0], [2, 1]], [7, 8, 9],
                                                          [3, 4]))
    from_ids = tf.RaggedTensor.from_value_rowids(tf.constant([1.0, 2.0, 3.0]), [0, 0, 2])
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant([1, 3], tf.int64),
                                            tf.constant([10, 30], tf.int64)), 0)
    looked = table.lookup(rt)
    with tf.Session() as sess:
        sess.run(tf.tables_initializer())
        v = sess.run(rt)
        assert v.to_list() == [[3, 1], [], [4, 1, 5]]
        assert sess.run(rt.row_lengths()).tolist() == [2, 0, 3]
        assert sess.run(sp).indices.tolist() == [[0, 0], [0, 1], [2, 0], [2, 1], [2, 2]]
        assert sess.run(dense).tolist() == [[3, 1, -1], [-1, -1, -1], [4, 1, 5]]
        assert sess.run(from_sp).to_list() == [[7], [], [8, 9]]
        assert sess.run(from_ids).to_list() == [[1.0, 2.0], [], [3.0]]
        assert sess.run(looked).to_list() == [[30, 10], [], [0, 10, 0]]
        bad = tf.RaggedTensor.from_row_splits([1, 2], [0, 3])
        with pytest.raises(tf.errors.InvalidArgumentError, match="row_splits"):
            sess.run(bad.values)
    values = tf.constant([1.0, 2.0, 3.0])
    padded = tf.RaggedTensor.from_row_lengths(values, [1, 2]).to_tensor()
    (g,) = tf.gradients(tf.reduce_sum(padded * tf.constant([[1.0, 5.0], [2.0, 3.0]])), [values])
    with tf.Session() as sess:
        assert sess.run(g).tolist() == [1.0, 2.0, 3.0]  # each value's place in the padded rows
