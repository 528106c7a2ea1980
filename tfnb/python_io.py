"""``tf.python_io``: TFRecord files from Python (tfnb/io/tfrecord.py)."""
from .io.tfrecord import (TFRecordCompressionType, TFRecordOptions,  # noqa: F401
                          TFRecordWriter, tf_record_iterator)
