"""``tf.ragged``: building and handling RaggedTensors (tfnb/ops/ragged_ops.py)."""
from .ops.ragged_ops import (RaggedTensorValue, constant, constant_value,  # noqa: F401
                             map_flat_values, row_splits_to_segment_ids,
                             segment_ids_to_row_splits)
