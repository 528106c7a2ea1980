"""``tf.math``: math ops under their namespaced names (definitions in tfnb.ops.math_ops)."""
from .ops.array_ops import invert_permutation, top_k, unsorted_segment_sum  # noqa: F401
from .ops.extra_math_ops import *  # noqa: F401,F403
from .ops.extra_math_ops import (cumulative_logsumexp, multiply_no_nan, nextafter,  # noqa: F401
                                 polyval, reciprocal_no_nan, reduce_std, reduce_variance, xdivy,
                                 xlogy, zero_fraction)
from .ops.math_ops import *  # noqa: F401,F403
from .ops.math_ops import div_no_nan as divide_no_nan  # noqa: F401
from .ops.nn_ops import (in_top_k, l2_normalize, log_softmax, softmax, softplus,  # noqa: F401
                         softsign)
from .ops.segment_ops import (bincount, confusion_matrix, segment_max, segment_mean,  # noqa: F401
                              segment_min, segment_prod, segment_sum, unsorted_segment_max,
                              unsorted_segment_mean, unsorted_segment_min, unsorted_segment_prod,
                              unsorted_segment_sqrt_n)
