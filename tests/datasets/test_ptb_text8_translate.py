"""PTB reader/producer, text8 reading and vocabulary, translation tokenizer/vocabulary/buckets."""
import zipfile

import numpy as np
import pytest

import tfnb as tf
from tfnb.datasets import ptb, text8, translate


def _read(path):
    with open(path) as f:
        return f.read()


def _write_ptb(d, train="b a c a\nb a\n", valid="a b\n", test="c c zz\n"):
    for name, text in zip(ptb.FILES, (train, valid, test)):
        (d / name).write_text(text)
    return str(d)


def test_ptb_vocab_by_frequency_then_alphabet_and_eos(tmp_path):
    path = _write_ptb(tmp_path)
    assert ptb.read_words(str(tmp_path / "ptb.train.txt")) == \
        ["b", "a", "c", "a", "<eos>", "b", "a", "<eos>"]
    # a:3, <eos>:2, b:2, c:1 -> ties alphabetical ('<' sorts before 'b')
    assert ptb.build_vocab(str(tmp_path / "ptb.train.txt")) == {"a": 0, "<eos>": 1, "b": 2, "c": 3}
    train, valid, test, v = ptb.ptb_raw_data(path)
    assert train == [2, 0, 3, 0, 1, 2, 0, 1] and valid == [0, 2, 1]
    assert test == [3, 3, 1] and v == 4  # 'zz' is not in the vocabulary: skipped, as TF1


def test_ptb_empty_file_and_missing_files(tmp_path):
    _write_ptb(tmp_path, train="")
    with pytest.raises(ValueError, match="ptb.train.txt is empty"):
        ptb.ptb_raw_data(str(tmp_path))
    with pytest.raises(ptb.DatasetUnavailableError, match="simple-examples.tgz"):
        ptb.ptb_raw_data(str(tmp_path / "nowhere"))


def test_ptb_producer_matches_numpy_layout():
    raw = list(range(25))
    with tf.Graph().as_default():
        x, y = ptb.ptb_producer(raw, batch_size=3, num_steps=2)
        with tf.Session() as sess:
            coord = tf.train.Coordinator()
            threads = tf.train.start_queue_runners(sess, coord)
            got = [sess.run([x, y]) for _ in range(4)]
            coord.request_stop()
            coord.join(threads)
    rows = np.arange(24).reshape(3, 8)  # batch_len 8 -> epoch_size (8-1)//2 = 3
    for i, (xv, yv) in enumerate(got):
        j = i % 3
        np.testing.assert_array_equal(xv, rows[:, 2 * j:2 * j + 2])
        np.testing.assert_array_equal(yv, rows[:, 2 * j + 1:2 * j + 3])


def test_ptb_producer_epoch_size_zero_is_an_error():
    # the sizes are static, so (as in TF1) the assertion fails when the graph is built
    with tf.Graph().as_default():
        with pytest.raises(tf.errors.InvalidArgumentError, match="epoch_size == 0"):
            ptb.ptb_producer(list(range(5)), batch_size=5, num_steps=3)


def test_text8_read_and_build_dataset(tmp_path):
    p = tmp_path / "text8.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("text8", " the cat the dog the cat a")
    words = text8.read_data(str(p))
    assert words == ["the", "cat", "the", "dog", "the", "cat", "a"]
    data, count, d, rd = text8.build_dataset(words, 3)
    assert count == [["UNK", 2], ("the", 3), ("cat", 2)]
    assert data == [1, 2, 1, 0, 1, 2, 0] and rd[2] == "cat" and d["the"] == 1
    with pytest.raises(text8.DatasetUnavailableError, match="text8.zip"):
        text8.maybe_download(str(tmp_path / "none"), download_ok=False)
    p.write_bytes(b"x" * 10)
    with pytest.raises(text8.DatasetUnavailableError, match="10 bytes, not text8's 31344016"):
        text8.maybe_download(str(tmp_path), download_ok=False)


def test_translate_tokenizer_vocabulary_ids(tmp_path):
    assert translate.basic_tokenizer("I'm here, 2 times!") == \
        [b"I", b"'", b"m", b"here", b",", b"2", b"times", b"!"]
    src = tmp_path / "train.en"
    src.write_text("the cat sat .\nthe dog sat 42 .\n")
    vocab_path = str(tmp_path / "vocab.en")
    translate.create_vocabulary(vocab_path, str(src), 7)
    vocab, rev = translate.initialize_vocabulary(vocab_path)
    # specials, then by count (the:2, sat:2, .:2 in first-seen order), cut at 7 entries
    assert rev == [b"_PAD", b"_GO", b"_EOS", b"_UNK", b"the", b"sat", b"."]
    assert translate.sentence_to_token_ids("the 99 sat", vocab) == [4, 3, 5]
    ids = translate.data_to_token_ids(str(src), str(tmp_path / "train.ids"), vocab_path)
    assert _read(ids) == "4 3 5 6\n4 3 5 3 6\n"
    with pytest.raises(ValueError, match="not found"):
        translate.initialize_vocabulary(str(tmp_path / "nope"))


def test_translate_read_data_buckets_and_counts_dropped(tmp_path, caplog):
    lengths = [(3, 3), (4, 9), (9, 13), (30, 40), (39, 48), (40, 10), (5, 49)]
    s, t = tmp_path / "s.ids", tmp_path / "t.ids"
    s.write_text("".join(" ".join(["5"] * a) + "\n" for a, _ in lengths))
    t.write_text("".join(" ".join(["6"] * b) + "\n" for _, b in lengths))
    data = translate.read_data(str(s), str(t))
    assert data.sizes() == [1, 2, 0, 2] and data.total == 7 and data.dropped == 2
    assert data[0][0] == [[5, 5, 5], [6, 6, 6, translate.EOS_ID]]
    assert "2 dropped" in data.report()
    assert translate.read_data(str(s), str(t), max_size=2).total == 2
    with pytest.raises(ValueError, match="line 1: token id 5 is outside the vocabulary"):
        translate.read_data(str(s), str(t), source_vocab_size=5)
    t.write_text("6\n")
    with pytest.raises(ValueError, match="different numbers of lines"):
        translate.read_data(str(s), str(t))


def test_translate_prepare_data_and_offline(tmp_path):
    for name, text in {"tr.en": "a b .\nb c\n", "tr.fr": "x y\ny z .\n",
                       "dev.en": "a c\n", "dev.fr": "z q\n"}.items():
        (tmp_path / name).write_text(text)
    out = translate.prepare_data(str(tmp_path), str(tmp_path / "tr.en"), str(tmp_path / "tr.fr"),
                                 str(tmp_path / "dev.en"), str(tmp_path / "dev.fr"), 10, 10)
    assert _read(out[2]) == "5 7\n"  # b:2 first, then a . c in first-seen order
    assert _read(out[3]) == "6 3\n"
    with pytest.raises(translate.DatasetUnavailableError, match="giga-fren"):
        translate.find_corpus("newstest2013", directory=str(tmp_path))
