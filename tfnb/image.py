"""``tf.image``: image operations (tfnb/ops/image_ops.py)."""
from .ops.image_ops import *  # noqa: F401,F403
from .ops.image_ops import __all__  # noqa: F401
