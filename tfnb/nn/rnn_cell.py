"""``tf.nn.rnn_cell``: recurrent cells (definitions in tfnb.ops.rnn_cell_impl)."""
from ..ops.rnn_cell_impl import *  # noqa: F401,F403
