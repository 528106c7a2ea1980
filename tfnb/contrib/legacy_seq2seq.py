"""``tf.contrib.legacy_seq2seq``: weighted sequence losses over lists of per-step tensors."""
from ..ops.rnn import sequence_loss, sequence_loss_by_example  # noqa: F401
