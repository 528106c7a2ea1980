"""tf.lookup tables: values vs Python dict references and TensorFlow's OOV buckets, typed
errors, text-file vocabularies, TF1 spellings, eager InteractiveSession behaviour."""
import numpy as np
import pytest

import tfnb as tf


def _init_and_run(fetches):
    with tf.Session() as sess:
        sess.run(tf.tables_initializer())
        return sess.run(fetches)


def test_string_and_int64_keys_match_a_dict():
    rng = np.random.RandomState(0)
    keys = ["w%d" % i for i in range(50)]
    vals = (rng.permutation(2000)[:50] - 1000).astype(np.int64)  # distinct
    queries = ["w%d" % i for i in rng.randint(0, 80, size=40)]
    ref = dict(zip(keys, vals.tolist()))
    s_table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, vals), -7)
    i_table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(vals), tf.constant(np.arange(50.0),
                                                                           tf.float32)), 0.5)
    iq = np.concatenate([vals[:10], [5000, -5000]]).astype(np.int64)
    got_s, got_i, size = _init_and_run([s_table.lookup(tf.constant(queries)),
                                        i_table.lookup(tf.constant(iq)), s_table.size()])
    assert got_s.tolist() == [ref.get(q, -7) for q in queries]
    index = {v: float(i) for i, v in enumerate(vals.tolist())}
    assert got_i.tolist() == [index.get(q, 0.5) for q in iq.tolist()]
    assert size == 50


def test_vocabulary_table_oov_buckets_equal_tensorflow():
    # Expected ids computed by TensorFlow 2.21 (tf.compat.v1, StaticVocabularyTable).
    ints = tf.lookup.StaticVocabularyTable(tf.lookup.KeyValueTensorInitializer(
        tf.constant([10, 20], tf.int64), tf.range(2, dtype=tf.int64)), 5)
    words = tf.lookup.StaticVocabularyTable(tf.lookup.KeyValueTensorInitializer(
        ["a", "b", "c"], tf.range(3, dtype=tf.int64)), 7)
    got_i, got_w, size = _init_and_run([
        ints.lookup(tf.constant([10, 7, 99, 20, 123456789, -3], tf.int64)),
        words.lookup(tf.constant(["a", "zebra", "", "c", "Apple", "b b"])), words.size()])
    assert got_i.tolist() == [0, 5, 4, 1, 3, 6]
    assert got_w.tolist() == [0, 8, 9, 2, 4, 6]
    assert size == 10


def test_errors_are_typed():
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(["a", "b"], np.array([1, 2], np.int64)), -1)
    looked = table.lookup(tf.constant(["a"]))
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="Table not initialized"):
            sess.run(looked)
    with pytest.raises(TypeError, match="Signature mismatch"):
        table.lookup(tf.constant([1], tf.int64))
    with pytest.raises(ValueError):  # keys and values of different lengths
        tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(["a", "b"], np.array([1], np.int64)), -1)
    with pytest.raises(TypeError):  # default value of another dtype than the values
        tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(["a"], np.array([1], np.int64)), "x")
    with pytest.raises(ValueError, match="oov_buckets"):
        tf.lookup.StaticVocabularyTable(tf.lookup.KeyValueTensorInitializer(
            ["a"], np.array([0], np.int64)), 0)
    dup = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(["a", "a"], np.array([1, 2], np.int64)), -1)
    same = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(["a", "a"], np.array([3, 3], np.int64)), -1)
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="Key b'a' has 1"):
            sess.run(dup.initializer)
        with pytest.raises(tf.errors.FailedPreconditionError, match="not initialized"):
            sess.run(dup.size())  # the failed initialization left the table empty
        sess.run(same.initializer)  # a repeated key with the same value is fine (as TF)
        assert sess.run(same.size()) == 1


def test_text_file_initializer_columns_and_line_numbers(tmp_path):
    path = tmp_path / "vocab.tsv"
    path.write_text("apple\t7\nbanana\t-2\ncherry\t40\n")
    by_col = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
        str(path), tf.string, 0, tf.int64, 1), -1)
    by_line = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
        str(path), tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER, tf.string,
        tf.lookup.TextFileIndex.WHOLE_LINE), "?")
    a, b = _init_and_run([by_col.lookup(tf.constant(["cherry", "apple", "kiwi"])),
                          by_line.lookup(tf.constant([1, 3], tf.int64))])
    assert a.tolist() == [40, 7, -1] and b.tolist() == [b"banana\t-2", b"?"]
    bad = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
        str(path), tf.string, 0, tf.int64, 2), -1)
    missing = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
        str(tmp_path / "nope.txt"), tf.string, 0, tf.int64, 1), -1)
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="columns"):
            sess.run(bad.initializer)
        with pytest.raises(tf.errors.NotFoundError):
            sess.run(missing.initializer)
    with pytest.raises(ValueError, match="Signature mismatch"):
        tf.lookup.TextFileInitializer(str(path), tf.string,
                                      tf.lookup.TextFileIndex.LINE_NUMBER, tf.int64, 1)


def test_tf1_spellings():
    table = tf.contrib.lookup.HashTable(
        tf.contrib.lookup.KeyValueTensorInitializer(["x", "y"], np.array([4, 5], np.int64)), 0)
    to_word = tf.contrib.lookup.index_to_string_table_from_tensor(["zero", "one"],
                                                                  default_value="none")
    to_id = tf.contrib.lookup.index_table_from_tensor(tf.constant(["p", "q"]))
    assert table.initializer in tf.get_collection(tf.GraphKeys.TABLE_INITIALIZERS)
    got = _init_and_run([table.lookup(tf.constant(["y", "z"])),
                         to_word.lookup(tf.constant([1, 5], tf.int64)),
                         to_id.lookup(tf.constant(["q", "r"]))])
    assert [g.tolist() for g in got] == [[5, 0], [b"one", b"none"], [1, -1]]


def test_eager_interactive_session_initializes_on_run_only():
    g = tf.Graph()
    with g.as_default():
        sess = tf.InteractiveSession(graph=g)
        try:
            table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(["a", "b"], np.array([1, 2], np.int64)), -1)
            early = table.lookup(tf.constant(["b", "c"]))  # created before initialization
            with pytest.raises(tf.errors.FailedPreconditionError):
                early.eval()
            tf.tables_initializer().run()
            assert early.eval().tolist() == [2, -1]
            late = table.lookup(tf.constant(["a"]))
            assert late.eval().tolist() == [1] and table.size().eval() == 2
        finally:
            sess.close()
