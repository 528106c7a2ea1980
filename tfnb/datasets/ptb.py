"""Penn Treebank as Mikolov's ``simple-examples`` ships it, and the TF1 tutorial's reader.

Files: ``ptb.train.txt``, ``ptb.valid.txt``, ``ptb.test.txt`` (one sentence per line, words
separated by spaces, rare words already ``<unk>``), found in ``simple-examples/data/`` or
directly in the given folder, under ``$TFNB_DATA_DIR/ptb`` by default; the archive
``simple-examples.tgz`` there is extracted on first use, or downloaded from Mikolov's site
and checked (it must contain the three files and give the 10,000-word vocabulary).

As in the tutorial's ``reader.py``: a newline becomes ``<eos>``; the vocabulary is built from
the training file, sorted by frequency then alphabetically (id 0 = most frequent); words of
the validation/test files that are not in it are skipped (PTB has none: ``<unk>`` is a word).

Example:
    >>> train, valid, test, vocab = ptb_raw_data("simple-examples/data")
    >>> x, y = ptb_producer(train, batch_size=20, num_steps=20)
"""
import collections
import os
import tarfile

import numpy as np

from ._download import DatasetUnavailableError, data_dir, download

__all__ = ["ptb_raw_data", "ptb_producer", "read_words", "build_vocab", "file_to_word_ids",
           "find_data_path", "DatasetUnavailableError", "FILES"]

URL = "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"
ARCHIVE = "simple-examples.tgz"
FILES = ("ptb.train.txt", "ptb.valid.txt", "ptb.test.txt")
PUBLISHED_VOCAB_SIZE = 10000


def _hint(directory):
    return ("To use PTB offline, download %s and place it (or its simple-examples/data/ folder "
            "with %s) in %s (or set TFNB_DATA_DIR), or pass data_path= a folder holding the "
            "three files." % (URL, ", ".join(FILES), directory))


def read_words(filename):
    """The file's words in order, ``<eos>`` at the end of every line.

    Raises:
        ValueError: the file is empty (no words to model).
    """
    with open(filename, encoding="utf-8") as f:
        words = f.read().replace("\n", " <eos> ").split()
    if not words:
        raise ValueError("%s is empty: a PTB file needs at least one word" % filename)
    return words


def build_vocab(filename):
    """word -> id, most frequent first, ties broken alphabetically (the tutorial's order)."""
    counts = collections.Counter(read_words(filename))
    ordered = sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))
    return {w: i for i, (w, _) in enumerate(ordered)}


def file_to_word_ids(filename, word_to_id):
    """The file's words as ids; words missing from the vocabulary are skipped (as TF1)."""
    return [word_to_id[w] for w in read_words(filename) if w in word_to_id]


def find_data_path(data_path=None, download_ok=True):
    """A folder that holds the three PTB files (extracting / downloading if needed)."""
    candidates = [data_path] if data_path else []
    root = data_dir("ptb")
    candidates += [os.path.join(root, "simple-examples", "data"), root]
    if data_path:
        candidates.insert(1, os.path.join(data_path, "simple-examples", "data"))
    for c in candidates:
        if all(os.path.exists(os.path.join(c, f)) for f in FILES):
            return c
    if data_path:
        raise DatasetUnavailableError("%s does not hold %s.\n%s"
                                      % (data_path, ", ".join(FILES), _hint(root)))
    archive = os.path.join(root, ARCHIVE)
    if not os.path.exists(archive):
        if not download_ok:
            raise DatasetUnavailableError("PTB is not in %s and downloading is off.\n%s"
                                          % (root, _hint(root)))
        download(URL, root, ARCHIVE, _hint(root))
    wanted = ["./simple-examples/data/" + f for f in FILES] + \
        ["simple-examples/data/" + f for f in FILES]
    with tarfile.open(archive, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name in wanted]
        if len({os.path.basename(m.name) for m in members}) != len(FILES):
            raise DatasetUnavailableError("%s does not contain simple-examples/data/%s (not the "
                                          "PTB archive?).\n%s" % (archive, FILES, _hint(root)))
        tar.extractall(root, members=members, filter="data")
    path = os.path.join(root, "simple-examples", "data")
    vocab = build_vocab(os.path.join(path, FILES[0]))
    if len(vocab) != PUBLISHED_VOCAB_SIZE:
        raise DatasetUnavailableError("%s gives a %d-word vocabulary, not PTB's %d: not the PTB "
                                      "archive" % (archive, len(vocab), PUBLISHED_VOCAB_SIZE))
    return path


def ptb_raw_data(data_path=None, download_ok=True):
    """Reads the three files: ``(train_ids, valid_ids, test_ids, vocabulary_size)``."""
    path = find_data_path(data_path, download_ok)
    train, valid, test = (os.path.join(path, f) for f in FILES)
    word_to_id = build_vocab(train)
    return (file_to_word_ids(train, word_to_id), file_to_word_ids(valid, word_to_id),
            file_to_word_ids(test, word_to_id), len(word_to_id))


def ptb_producer(raw_data, batch_size, num_steps, name=None):
    """Cuts the word-id stream into [batch_size, num_steps] inputs and next-word targets.

    The stream is laid out as ``batch_size`` rows read in parallel; step ``i`` of an epoch is
    columns ``[i*num_steps, (i+1)*num_steps)`` and the targets are shifted by one. ``i`` comes
    from ``tf.train.range_input_producer`` (no shuffling), so queue runners must be started;
    ``epoch_size`` (steps per epoch) must be positive, checked when the graph runs.

    Returns:
        (x, y): int32 tensors of shape [batch_size, num_steps].
    """
    import tfnb as tf
    with tf.name_scope(name, "PTBProducer", [raw_data, batch_size, num_steps]):
        ids = tf.convert_to_tensor(np.asarray(raw_data, np.int32), name="raw_data",
                                   dtype=tf.int32)
        batch_len = tf.size(ids) // batch_size
        rows = tf.reshape(ids[0:batch_size * batch_len], [batch_size, batch_len])
        epoch_size = (batch_len - 1) // num_steps
        check = tf.assert_positive(epoch_size,
                                   message="epoch_size == 0, decrease batch_size or num_steps")
        with tf.control_dependencies([check]):
            epoch_size = tf.identity(epoch_size, name="epoch_size")
        i = tf.train.range_input_producer(epoch_size, shuffle=False).dequeue()
        x = tf.strided_slice(rows, [0, i * num_steps], [batch_size, (i + 1) * num_steps])
        x.set_shape([batch_size, num_steps])
        y = tf.strided_slice(rows, [0, i * num_steps + 1], [batch_size, (i + 1) * num_steps + 1])
        y.set_shape([batch_size, num_steps])
        return x, y
