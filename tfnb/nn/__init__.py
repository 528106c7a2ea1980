"""``tf.nn``: neural-network ops (re-exports; definitions live in tfnb.ops)."""
from ..ops.conv_ops import *  # noqa: F401,F403
from ..ops.embedding_ops import *  # noqa: F401,F403
from ..ops.extra_math_ops import zero_fraction  # noqa: F401
from ..ops.layout_ops import depth_to_space, space_to_batch, space_to_depth  # noqa: F401
from ..ops.math_ops import sigmoid, tanh  # noqa: F401
from ..ops.nn_ops import *  # noqa: F401,F403
from ..ops.quantization_ops import (quantized_avg_pool, quantized_conv2d,  # noqa: F401
                                    quantized_max_pool, quantized_relu_x)
from ..ops.rnn import (bidirectional_dynamic_rnn, dynamic_rnn, raw_rnn,  # noqa: F401
                       static_bidirectional_rnn, static_rnn)
from . import rnn_cell  # noqa: F401
