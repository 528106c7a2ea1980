"""``tf.data.experimental``: transformations for ``Dataset.apply`` and tuning constants."""
from .batching import bucket_by_sequence_length, group_by_window, unbatch  # noqa: F401
from .engine import AUTOTUNE  # noqa: F401
from .iterator_ops import (get_output_classes, get_output_shapes,  # noqa: F401
                           get_output_types)

__all__ = ["AUTOTUNE", "bucket_by_sequence_length", "group_by_window", "unbatch",
           "ignore_errors", "shuffle_and_repeat", "map_and_batch", "parallel_interleave"]


def ignore_errors():
    """Drops the elements whose computation raised an error (e.g. corrupt records)."""
    from .transformations import IgnoreErrorsDataset
    return lambda ds: IgnoreErrorsDataset(ds)


def shuffle_and_repeat(buffer_size, count=None, seed=None):
    """``shuffle(buffer_size, seed)`` then ``repeat(count)``, reshuffling every epoch."""
    return lambda ds: ds.shuffle(buffer_size, seed, True).repeat(count)


def map_and_batch(map_func, batch_size, num_parallel_batches=None, drop_remainder=False,
                  num_parallel_calls=None):
    """``map(map_func, num_parallel_calls)`` then ``batch(batch_size, drop_remainder)``."""
    if num_parallel_calls is None and num_parallel_batches is not None:
        num_parallel_calls = num_parallel_batches * batch_size if isinstance(
            batch_size, int) else num_parallel_batches
    return lambda ds: ds.map(map_func, num_parallel_calls).batch(batch_size, drop_remainder)


def parallel_interleave(map_func, cycle_length, block_length=1, sloppy=False,
                        buffer_output_elements=None, prefetch_input_elements=None):
    """Interleave in TF's deterministic order (``sloppy`` is accepted; the order is kept)."""
    return lambda ds: ds.interleave(map_func, cycle_length, block_length)

