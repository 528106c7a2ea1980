"""``tf.contrib.rnn``: cells and static RNNs under their contrib names."""
from ..ops.rnn import static_bidirectional_rnn, static_rnn  # noqa: F401
from ..ops.rnn_cell_impl import *  # noqa: F401,F403
from ..ops.rnn_cell_impl import AttentionCellWrapper  # noqa: F401 - contrib only, as in TF1
