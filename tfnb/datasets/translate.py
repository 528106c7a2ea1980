"""A translation corpus as plain parallel text files, and the TF1 translate tutorial's steps.

A corpus is two files with the same number of lines, sentence ``i`` of one language on line
``i`` of its file (WMT / Europarl style, e.g. ``giga-fren.release2.fixed.en`` and ``.fr``,
``newstest2013.en`` and ``.fr``). The steps follow the tutorial's ``data_utils.py``:
:func:`basic_tokenizer` (split on spaces and punctuation), :func:`create_vocabulary`
(``_PAD _GO _EOS _UNK`` then words by falling frequency, digits normalized to 0),
:func:`data_to_token_ids` (one line of ids per sentence), and ``translate.py``'s
:func:`read_data`, which puts each pair in the first bucket it fits.

Unlike TF1, which dropped them silently, pairs longer than the largest bucket are counted:
the list :func:`read_data` returns carries ``dropped`` / ``total`` and the count is logged.

Files are looked for where the caller says (or under ``$TFNB_DATA_DIR/translate``); the
WMT corpora are several GB and are not downloaded here: :func:`find_corpus` says what to
place where.
"""
import collections
import os
import re

from ._download import DatasetUnavailableError, data_dir

__all__ = ["basic_tokenizer", "create_vocabulary", "initialize_vocabulary",
           "sentence_to_token_ids", "data_to_token_ids", "prepare_data", "read_data",
           "find_corpus", "BucketedData", "BUCKETS", "PAD_ID", "GO_ID", "EOS_ID", "UNK_ID",
           "DatasetUnavailableError"]

_PAD, _GO, _EOS, _UNK = b"_PAD", b"_GO", b"_EOS", b"_UNK"
START_VOCAB = [_PAD, _GO, _EOS, _UNK]
PAD_ID, GO_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
BUCKETS = [(5, 10), (10, 15), (20, 25), (40, 50)]

_WORD_SPLIT = re.compile(b"([.,!?\"':;)(])")
_DIGIT_RE = re.compile(br"\d")

WMT_HINT = ("The TF1 tutorial trains on WMT'15 English-French: the training pair "
            "giga-fren.release2.fixed.{en,fr} from http://www.statmt.org/wmt10/training-giga-fren.tar "
            "and the development pair newstest2013.{en,fr} from "
            "http://www.statmt.org/wmt15/dev-v2.tgz; any parallel corpus with one sentence per line "
            "(e.g. Europarl europarl-v7.fr-en.{en,fr}) works the same way.")


def _bytes(s):
    return s.encode("utf-8") if isinstance(s, str) else bytes(s)


def basic_tokenizer(sentence):
    """Splits on whitespace, then splits off ``. , ! ? " ' : ; ) (`` as tokens (bytes)."""
    words = []
    for fragment in _bytes(sentence).strip().split():
        words.extend(_WORD_SPLIT.split(fragment))
    return [w for w in words if w]


def _tokens(line, tokenizer, normalize_digits):
    tokens = tokenizer(line) if tokenizer else basic_tokenizer(line)
    tokens = [_bytes(t) for t in tokens]
    return [_DIGIT_RE.sub(b"0", t) for t in tokens] if normalize_digits else tokens


def create_vocabulary(vocabulary_path, data_path, max_vocabulary_size, tokenizer=None,
                      normalize_digits=True):
    """Writes the vocabulary of ``data_path`` (one token a line), if the file is not there yet.

    Order: the four special symbols, then tokens by falling count (ties: first seen first),
    cut to ``max_vocabulary_size`` entries in all.
    """
    if os.path.exists(vocabulary_path):
        return vocabulary_path
    counts = collections.Counter()
    with open(data_path, "rb") as f:
        for line in f:
            counts.update(_tokens(line, tokenizer, normalize_digits))
    ordered = START_VOCAB + sorted(counts, key=counts.get, reverse=True)
    ordered = ordered[:max_vocabulary_size]
    tmp = vocabulary_path + ".part"
    with open(tmp, "wb") as f:
        for w in ordered:
            f.write(w + b"\n")
    os.replace(tmp, vocabulary_path)
    return vocabulary_path


def initialize_vocabulary(vocabulary_path):
    """(token -> id dict, list of tokens) from a vocabulary file.

    Raises:
        ValueError: the file does not exist.
    """
    if not os.path.exists(vocabulary_path):
        raise ValueError("Vocabulary file %s not found." % vocabulary_path)
    with open(vocabulary_path, "rb") as f:
        rev_vocab = [line.strip() for line in f]
    return {w: i for i, w in enumerate(rev_vocab)}, rev_vocab


def sentence_to_token_ids(sentence, vocabulary, tokenizer=None, normalize_digits=True):
    """Token ids of ``sentence``; unknown tokens get ``UNK_ID``."""
    return [vocabulary.get(t, UNK_ID) for t in _tokens(sentence, tokenizer, normalize_digits)]


def data_to_token_ids(data_path, target_path, vocabulary_path, tokenizer=None,
                      normalize_digits=True):
    """Writes ``target_path``: each line of ``data_path`` as space-separated ids (if absent)."""
    if os.path.exists(target_path):
        return target_path
    vocab, _ = initialize_vocabulary(vocabulary_path)
    tmp = target_path + ".part"
    with open(data_path, "rb") as src, open(tmp, "w") as out:
        for line in src:
            ids = sentence_to_token_ids(line, vocab, tokenizer, normalize_digits)
            out.write(" ".join(str(i) for i in ids) + "\n")
    os.replace(tmp, target_path)
    return target_path


def prepare_data(data_dir_, from_train_path, to_train_path, from_dev_path, to_dev_path,
                 from_vocabulary_size, to_vocabulary_size, tokenizer=None):
    """Vocabularies from the training pair and id files for training and development pairs.

    Returns:
        (from_train_ids, to_train_ids, from_dev_ids, to_dev_ids, from_vocab, to_vocab) paths.
    """
    for p in (from_train_path, to_train_path, from_dev_path, to_dev_path):
        if not os.path.exists(p):
            raise DatasetUnavailableError("%s not found.\n%s" % (p, WMT_HINT))
    to_vocab = os.path.join(data_dir_, "vocab%d.to" % to_vocabulary_size)
    from_vocab = os.path.join(data_dir_, "vocab%d.from" % from_vocabulary_size)
    create_vocabulary(to_vocab, to_train_path, to_vocabulary_size, tokenizer)
    create_vocabulary(from_vocab, from_train_path, from_vocabulary_size, tokenizer)

    def ids(path, size, vocab):
        return data_to_token_ids(path, path + (".ids%d" % size), vocab, tokenizer)
    return (ids(from_train_path, from_vocabulary_size, from_vocab),
            ids(to_train_path, to_vocabulary_size, to_vocab),
            ids(from_dev_path, from_vocabulary_size, from_vocab),
            ids(to_dev_path, to_vocabulary_size, to_vocab), from_vocab, to_vocab)


class BucketedData(list):
    """One list of ``[source_ids, target_ids + [EOS_ID]]`` pairs per bucket, plus counts.

    Attributes:
        total: pairs read; dropped: pairs longer than the largest bucket (not in any list);
        buckets: the (source_size, target_size) of each list.
    """

    def __init__(self, buckets):
        super().__init__([] for _ in buckets)
        self.buckets = list(buckets)
        self.total = 0
        self.dropped = 0

    def sizes(self):
        return [len(b) for b in self]

    def report(self):
        return ("%d pairs read: %s per bucket %s; %d dropped (longer than the largest bucket %s)"
                % (self.total, self.sizes(), self.buckets, self.dropped, self.buckets[-1]))


def read_data(source_path, target_path, max_size=None, buckets=None, source_vocab_size=None,
              target_vocab_size=None):
    """Reads id files into buckets: a pair goes to the first bucket with
    ``len(source) < source_size`` and ``len(target) + 1 < target_size`` (the ``+1`` is EOS).

    Args:
        max_size: read at most this many pairs (all when None or 0).
        source_vocab_size, target_vocab_size: when given, an id outside the vocabulary is an
            error naming the file and line.

    Raises:
        ValueError: the files have different numbers of lines, a line is not integers, or an
            id is outside the vocabulary.
    """
    buckets = buckets or BUCKETS
    data = BucketedData(buckets)

    def parse(line, path, n, vocab_size):
        try:
            ids = [int(x) for x in line.split()]
        except ValueError:
            raise ValueError("%s line %d: not a line of token ids: %r" % (path, n, line[:80])) \
                from None
        if vocab_size is not None:
            for i in ids:
                if not 0 <= i < vocab_size:
                    raise ValueError("%s line %d: token id %d is outside the vocabulary "
                                     "[0, %d)" % (path, n, i, vocab_size))
        return ids
    with open(source_path) as src, open(target_path) as tgt:
        n = 0
        while not max_size or n < max_size:
            s, t = src.readline(), tgt.readline()
            if not s and not t:
                break
            n += 1
            if not s or not t:
                raise ValueError("%s and %s have different numbers of lines (%s ends at line %d)"
                                 % (source_path, target_path,
                                    source_path if not s else target_path, n - 1))
            source_ids = parse(s, source_path, n, source_vocab_size)
            target_ids = parse(t, target_path, n, target_vocab_size) + [EOS_ID]
            data.total += 1
            for bucket_id, (source_size, target_size) in enumerate(buckets):
                if len(source_ids) < source_size and len(target_ids) < target_size:
                    data[bucket_id].append([source_ids, target_ids])
                    break
            else:
                data.dropped += 1
    if data.dropped:
        from .. import logging as tf_logging
        tf_logging.warning("read_data(%s, %s): %s", source_path, target_path, data.report())
    return data


def find_corpus(prefix, source_lang="en", target_lang="fr", directory=None):
    """The pair ``prefix.<source_lang>``, ``prefix.<target_lang>`` in ``directory``.

    Raises:
        DatasetUnavailableError: a file is missing (saying what to place where).
    """
    directory = directory or data_dir("translate")
    paths = tuple(os.path.join(directory, "%s.%s" % (prefix, lang))
                  for lang in (source_lang, target_lang))
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise DatasetUnavailableError("missing %s.\n%s Place the two files in %s (or set "
                                      "TFNB_DATA_DIR)." % (", ".join(missing), WMT_HINT, directory))
    return paths
