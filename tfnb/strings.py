"""``tf.strings``: string ops under TF 1.15's namespaced names (tfnb.ops.string_ops)."""
from .ops.string_ops import (as_string, length, lower, reduce_join, regex_full_match,  # noqa: F401
                             regex_replace, split, string_join as join, string_strip as strip,
                             string_to_hash_bucket_fast as to_hash_bucket_fast,
                             string_to_number as to_number, substr, unsorted_segment_join,
                             upper)
