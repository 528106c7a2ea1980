"""``tf.bitwise``: bitwise ops on integer tensors (definitions in tfnb.ops)."""
from .ops.extra_math_ops import left_shift, right_shift  # noqa: F401
from .ops.math_ops import (_bitwise_and as bitwise_and, _bitwise_or as bitwise_or,  # noqa: F401
                           _bitwise_xor as bitwise_xor, _invert as invert)
