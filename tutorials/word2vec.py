"""word2vec skip-gram with NCE (TF1's word2vec_basic), nearest neighbours, PCA plot, projector files.

Corpus: text8 (``tfnb.datasets.text8``) by default. Offline, ``TFNB_WORD2VEC_SOURCE=pydocs``
uses a real English text that ships with Python itself: the docstrings of the standard
library's modules, classes and functions, cleaned as text8 is (lowercase letters and spaces).

    python tutorials/word2vec.py                       # text8, 100001 steps as the tutorial
    TFNB_WORD2VEC_SOURCE=pydocs TFNB_TUTORIAL_STEPS=2000 python tutorials/word2vec.py
"""
import ast
import collections
import math
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import tfnb as tf  # noqa: E402
from tfnb.contrib.tensorboard.plugins import projector  # noqa: E402
from tfnb.datasets import text8  # noqa: E402


def python_docs_words(max_words=None):
    """Words of the docstrings in Python's standard library, in file order, text8-cleaned."""
    stdlib = os.path.dirname(os.__file__)
    words = []
    for name in sorted(os.listdir(stdlib)):
        if not name.endswith(".py"):
            continue
        try:
            with open(os.path.join(stdlib, name), encoding="utf-8") as f:
                tree = ast.parse(f.read())
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)):
                doc = ast.get_docstring(node)
                if doc:
                    words.extend(re.sub("[^a-z]+", " ", doc.lower()).split())
        if max_words and len(words) >= max_words:
            return words[:max_words]
    return words


def load_words(source=None, max_words=None):
    """(words, description of the corpus)."""
    source = source or os.environ.get("TFNB_WORD2VEC_SOURCE", "text8")
    if source == "text8":
        words = text8.read_data(text8.maybe_download())
        return words[:max_words] if max_words else words, "text8 (%d words)" % len(words)
    if source == "pydocs":
        words = python_docs_words(max_words)
        return words, ("Python %d.%d standard-library docstrings (%d words; offline stand-in "
                       "for text8)" % (sys.version_info[0], sys.version_info[1], len(words)))
    raise ValueError("unknown corpus %r (use 'text8' or 'pydocs')" % (source,))


class SkipGramBatches:
    """(centre word, context word) batches over the id stream, as word2vec_basic's generate_batch."""

    def __init__(self, data, seed=0):
        self.data = data
        self.index = 0
        self.rng = np.random.RandomState(seed)

    def next(self, batch_size, num_skips, skip_window):
        assert batch_size % num_skips == 0 and num_skips <= 2 * skip_window
        batch = np.empty(batch_size, np.int32)
        labels = np.empty((batch_size, 1), np.int32)
        span = 2 * skip_window + 1
        buffer = collections.deque(maxlen=span)
        if self.index + span > len(self.data):
            self.index = 0
        buffer.extend(self.data[self.index:self.index + span])
        self.index += span
        for i in range(batch_size // num_skips):
            context = [w for w in range(span) if w != skip_window]
            for j, c in enumerate(self.rng.choice(context, num_skips, replace=False)):
                batch[i * num_skips + j] = buffer[skip_window]
                labels[i * num_skips + j, 0] = buffer[c]
            if self.index == len(self.data):
                buffer.extend(self.data[0:span])
                self.index = span
            else:
                buffer.append(self.data[self.index])
                self.index += 1
        self.index = (self.index + len(self.data) - span) % len(self.data)
        return batch, labels


def build_model(vocabulary_size, embedding_size=128, num_sampled=64, learning_rate=1.0):
    train_inputs = tf.placeholder(tf.int32, shape=[None], name="train_inputs")
    train_labels = tf.placeholder(tf.int32, shape=[None, 1], name="train_labels")
    valid_ids = tf.placeholder(tf.int32, shape=[None], name="valid_ids")
    with tf.name_scope("embeddings"):
        embeddings = tf.Variable(tf.random_uniform([vocabulary_size, embedding_size], -1.0, 1.0,
                                                  seed=1), name="embeddings")
        embed = tf.nn.embedding_lookup(embeddings, train_inputs)
    with tf.name_scope("weights"):
        nce_weights = tf.Variable(tf.truncated_normal(
            [vocabulary_size, embedding_size], stddev=1.0 / math.sqrt(embedding_size), seed=2))
    with tf.name_scope("biases"):
        nce_biases = tf.Variable(tf.zeros([vocabulary_size]))
    with tf.name_scope("loss"):
        loss = tf.reduce_mean(tf.nn.nce_loss(weights=nce_weights, biases=nce_biases,
                                             labels=train_labels, inputs=embed,
                                             num_sampled=num_sampled,
                                             num_classes=vocabulary_size))
    tf.summary.scalar("loss", loss)
    with tf.name_scope("optimizer"):
        optimizer = tf.train.GradientDescentOptimizer(learning_rate).minimize(loss)
    norm = tf.sqrt(tf.reduce_sum(tf.square(embeddings), 1, keepdims=True))
    normalized = embeddings / norm
    similarity = tf.matmul(tf.nn.embedding_lookup(normalized, valid_ids), normalized,
                           transpose_b=True)
    return dict(inputs=train_inputs, labels=train_labels, valid_ids=valid_ids, loss=loss,
                train_op=optimizer, embeddings=embeddings, normalized=normalized,
                similarity=similarity, summary=tf.summary.merge_all())


def nearest(sess, model, reverse_dictionary, words, dictionary, top_k=8):
    """word -> its top_k nearest words by cosine similarity of the embeddings."""
    ids = [dictionary[w] for w in words if w in dictionary]
    sim = sess.run(model["similarity"], {model["valid_ids"]: ids})
    return {reverse_dictionary[i]: [reverse_dictionary[j] for j in (-row).argsort()[1:top_k + 1]]
            for i, row in zip(ids, sim)}


def pca_2d(vectors):
    centred = vectors - vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def plot_pca(points, labels, path):
    """Scatter of the 2-D points with their words (matplotlib PNG, or an SVG written by hand)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return _svg(points, labels, os.path.splitext(path)[0] + ".svg")
    fig, ax = plt.subplots(figsize=(9, 9))
    ax.scatter(points[:, 0], points[:, 1], s=8)
    for (x, y), w in zip(points, labels):
        ax.annotate(w, (x, y), xytext=(4, 2), textcoords="offset points", fontsize=8)
    ax.set_title("word2vec embeddings, first two principal components")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _svg(points, labels, path):
    lo, hi = points.min(0), points.max(0)
    xy = 20 + (points - lo) / np.maximum(hi - lo, 1e-9) * 560
    items = ["<circle cx='%.1f' cy='%.1f' r='2'/><text x='%.1f' y='%.1f' font-size='9'>%s</text>"
             % (x, 600 - y, x + 3, 598 - y, w) for (x, y), w in zip(xy, labels)]
    with open(path, "w") as f:
        f.write("<svg xmlns='http://www.w3.org/2000/svg' width='600' height='600'>%s</svg>"
                % "".join(items))
    return path


def write_projector(sess, model, reverse_dictionary, log_dir, writer):
    """metadata.tsv, a checkpoint holding the embeddings, and projector_config.pbtxt."""
    with open(os.path.join(log_dir, "metadata.tsv"), "w") as f:
        for i in range(len(reverse_dictionary)):
            f.write(reverse_dictionary[i] + "\n")
    saver = tf.train.Saver([model["embeddings"]])
    ckpt = saver.save(sess, os.path.join(log_dir, "model.ckpt"))
    config = projector.ProjectorConfig()
    emb = config.embeddings.add()
    emb.tensor_name = model["embeddings"].name
    emb.metadata_path = "metadata.tsv"
    projector.visualize_embeddings(writer, config)
    return ckpt


def train(words, log_dir, vocabulary_size=50000, steps=100001, batch_size=128,
          embedding_size=128, skip_window=1, num_skips=2, num_sampled=64, learning_rate=1.0,
          valid_words=None, report_every=10000, callback=None, plot_words=200):
    """Trains skip-gram on ``words``; returns losses, neighbours over time and file paths."""
    data, count, dictionary, reverse_dictionary = text8.build_dataset(words, vocabulary_size)
    vocabulary_size = len(dictionary)
    valid_words = valid_words or [w for w, _ in count[1:17]]
    os.makedirs(log_dir, exist_ok=True)
    batches = SkipGramBatches(data)
    result = {"losses": [], "neighbours": [], "vocabulary_size": vocabulary_size}
    with tf.Graph().as_default():
        model = build_model(vocabulary_size, embedding_size, num_sampled, learning_rate)
        with tf.Session() as sess:
            writer = tf.summary.FileWriter(log_dir, sess.graph)
            sess.run(tf.global_variables_initializer())
            for step in range(steps):
                x, y = batches.next(batch_size, num_skips, skip_window)
                feed = {model["inputs"]: x, model["labels"]: y}
                _, loss, summ = sess.run([model["train_op"], model["loss"], model["summary"]],
                                         feed)
                writer.add_summary(summ, step)
                result["losses"].append(float(loss))
                if callback is not None:
                    callback(step, loss)
                if (step + 1) % report_every == 0 or step + 1 == steps:
                    nn = nearest(sess, model, reverse_dictionary, valid_words, dictionary)
                    result["neighbours"].append((step + 1, nn))
                    for w, near in list(nn.items())[:8]:
                        print("Nearest to %s: %s" % (w, ", ".join(near)))
            final = sess.run(model["normalized"])
            result["checkpoint"] = write_projector(sess, model, reverse_dictionary, log_dir, writer)
            writer.close()
    top = min(plot_words, vocabulary_size)
    result["plot"] = plot_pca(pca_2d(final[:top]), [reverse_dictionary[i] for i in range(top)],
                              os.path.join(log_dir, "pca.png"))
    result["embeddings"] = final
    result["dictionary"] = dictionary
    return result


if __name__ == "__main__":
    from tutorials import common
    ws, desc = load_words()
    print("corpus:", desc)
    train(ws, "/tmp/tfnb/word2vec", steps=common.steps(100001))
