"""``tf.contrib``: the TF1 contrib names that classic notebooks use (re-exports only)."""
from . import layers, legacy_seq2seq, opt, rnn, seq2seq, training  # noqa: F401
from . import tensorboard  # noqa: F401 - tf.contrib.tensorboard.plugins.projector
from . import slim  # noqa: F401 - tf.contrib.slim.prefetch_queue
