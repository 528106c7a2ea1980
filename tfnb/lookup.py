"""``tf.lookup``: lookup tables (tfnb/ops/lookup_ops.py)."""
from .ops.lookup_ops import (KeyValueTensorInitializer, StaticHashTable,  # noqa: F401
                             StaticVocabularyTable, TextFileIndex, TextFileInitializer)
from .contrib import lookup as _contrib_lookup  # noqa: F401 - binds tf.contrib.lookup
