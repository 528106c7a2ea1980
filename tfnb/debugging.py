"""``tf.debugging``: assertions and numeric checks under their namespaced names."""
from .ops.check_ops import *  # noqa: F401,F403
from .ops.logging_ops import add_check_numerics_ops, check_numerics  # noqa: F401
from .ops.logging_ops import verify_tensor_all_finite  # noqa: F401
from .ops.logging_ops import verify_tensor_all_finite as assert_all_finite  # noqa: F401
from .ops.extra_math_ops import is_non_decreasing, is_strictly_increasing  # noqa: F401
from .ops.math_ops import is_finite, is_inf, is_nan  # noqa: F401
