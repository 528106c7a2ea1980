"""``tf.contrib.data``: the tf.data names of TF 1.3-1.15 programs (tfnb/data)."""
from ..data import (Dataset, FixedLengthRecordDataset, Iterator, TextLineDataset,  # noqa: F401
                    TFRecordDataset)
from ..data.experimental import (AUTOTUNE, bucket_by_sequence_length,  # noqa: F401
                                 group_by_window, ignore_errors, map_and_batch,
                                 parallel_interleave, shuffle_and_repeat, unbatch)
from ..io.tfrecord import TFRecordWriter  # noqa: F401


def batch_and_drop_remainder(batch_size):
    """``Dataset.apply`` transformation: ``batch(batch_size, drop_remainder=True)``."""
    return lambda ds: ds.batch(batch_size, drop_remainder=True)


def padded_batch_and_drop_remainder(batch_size, padded_shapes, padding_values=None):
    """``Dataset.apply`` transformation: ``padded_batch(..., drop_remainder=True)``."""
    return lambda ds: ds.padded_batch(batch_size, padded_shapes, padding_values,
                                      drop_remainder=True)
