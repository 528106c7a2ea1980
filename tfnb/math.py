"""``tf.math``: math ops under their namespaced names (definitions in tfnb.ops.math_ops)."""
from .ops.array_ops import top_k, unsorted_segment_sum  # noqa: F401
from .ops.math_ops import *  # noqa: F401,F403
from .ops.nn_ops import log_softmax, softmax  # noqa: F401
