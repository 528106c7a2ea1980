"""``tf.manip``: TF 1.15's namespace of tensor manipulations (re-exports)."""
from .ops.array_ops import reshape, tile  # noqa: F401
from .ops.indexing_ops import gather_nd, scatter_nd  # noqa: F401
from .ops.layout_ops import batch_to_space_nd, roll, space_to_batch_nd  # noqa: F401
from .ops.slicing_ops import reverse  # noqa: F401
