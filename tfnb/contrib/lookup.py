"""``tf.contrib.lookup``: TF1's lookup tables and vocabulary helpers (tfnb/ops/lookup_ops.py)."""
from ..ops.lookup_ops import (HashTable, KeyValueTensorInitializer,  # noqa: F401
                              TextFileIndex, TextFileInitializer, index_table_from_file,
                              index_table_from_tensor, index_to_string_table_from_file,
                              index_to_string_table_from_tensor)
