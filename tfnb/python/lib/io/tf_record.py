"""``from tensorflow.python.lib.io import tf_record``: TFRecord files (tfnb/io/tfrecord.py)."""
from ....io.tfrecord import (TFRecordCompressionType, TFRecordOptions,  # noqa: F401
                             TFRecordWriter, tf_record_iterator)
