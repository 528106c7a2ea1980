"""text8: the first 10^8 bytes of English Wikipedia, cleaned to one line of lowercase words.

``text8.zip`` (31,344,016 bytes) holds a single file ``text8``. It is looked for in
``$TFNB_DATA_DIR/text8`` (default ``~/.cache/tfnb/text8``) and downloaded from Matt Mahoney's
site when absent, its size checked as the word2vec tutorial does. :func:`read_data` and
:func:`build_dataset` are the tutorial's (``word2vec_basic.py``) reading and vocabulary steps.
"""
import collections
import os
import zipfile

from ._download import DatasetUnavailableError, data_dir, download

__all__ = ["maybe_download", "read_data", "build_dataset", "DatasetUnavailableError"]

URL = "http://mattmahoney.net/dc/text8.zip"
FILENAME = "text8.zip"
EXPECTED_BYTES = 31344016


def _hint(directory):
    return ("To use text8 offline, download %s (%d bytes) into %s (or set TFNB_DATA_DIR)."
            % (URL, EXPECTED_BYTES, directory))


def maybe_download(directory=None, download_ok=True):
    """Path of ``text8.zip``, downloading and size-checking it if needed."""
    directory = directory or data_dir("text8")
    path = os.path.join(directory, FILENAME)
    if os.path.exists(path):
        if os.path.getsize(path) != EXPECTED_BYTES:
            raise DatasetUnavailableError("%s has %d bytes, not text8's %d (truncated?).\n%s"
                                          % (path, os.path.getsize(path), EXPECTED_BYTES,
                                             _hint(directory)))
        return path
    if not download_ok:
        raise DatasetUnavailableError("text8 is not in %s and downloading is off.\n%s"
                                      % (directory, _hint(directory)))
    return download(URL, directory, FILENAME, _hint(directory), size=EXPECTED_BYTES)


def read_data(filename):
    """The words of the first file inside the zip archive ``filename``.

    Raises:
        ValueError: the archive is empty or holds no words.
    """
    with zipfile.ZipFile(filename) as z:
        names = z.namelist()
        if not names:
            raise ValueError("%s: the zip archive is empty" % filename)
        words = z.read(names[0]).decode("utf-8").split()
    if not words:
        raise ValueError("%s: %s holds no words" % (filename, names[0]))
    return words


def build_dataset(words, n_words):
    """Maps words to ids: the ``n_words - 1`` most common get ids 1.., the rest ``UNK`` (0).

    Returns:
        data (ids of ``words``), count (``[['UNK', n_unknown], (word, count), ...]``),
        dictionary (word -> id), reversed_dictionary (id -> word).
    """
    if n_words < 1:
        raise ValueError("n_words must be at least 1 (for UNK), got %d" % n_words)
    count = [["UNK", -1]]
    count.extend(collections.Counter(words).most_common(n_words - 1))
    dictionary = {word: i for i, (word, _) in enumerate(count)}
    data = [dictionary.get(w, 0) for w in words]
    count[0][1] = sum(1 for i in data if i == 0)
    reversed_dictionary = {i: w for w, i in dictionary.items()}
    return data, count, dictionary, reversed_dictionary
