"""``tf.math``: math ops under their namespaced names (definitions in tfnb.ops.math_ops)."""
from .ops.array_ops import invert_permutation, top_k, unsorted_segment_sum  # noqa: F401
from .ops.math_ops import *  # noqa: F401,F403
from .ops.nn_ops import log_softmax, softmax  # noqa: F401
from .ops.segment_ops import (bincount, confusion_matrix, segment_max, segment_mean,  # noqa: F401
                              segment_min, segment_prod, segment_sum, unsorted_segment_max,
                              unsorted_segment_mean, unsorted_segment_min, unsorted_segment_prod,
                              unsorted_segment_sqrt_n)
