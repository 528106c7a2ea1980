"""``tf.contrib.seq2seq``: sequence_loss over [batch, time, classes] logits."""
from ..ops.rnn import seq2seq_sequence_loss as sequence_loss  # noqa: F401
from ..ops.beam_search import beam_search_decode  # noqa: F401,E402
