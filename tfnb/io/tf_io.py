"""The public names of ``tf.io`` (TF 1.15), served lazily by ``tfnb/io/__init__.py``
(whose ``_TF_IO_NAMES`` lists them)."""
from ..ops.io_ops import matching_files, read_file, write_file  # noqa: F401
from ..ops.parsing_ops import (FixedLenFeature, FixedLenSequenceFeature,  # noqa: F401
                               VarLenFeature, decode_csv, decode_raw, parse_example,
                               parse_single_example)
from . import gfile  # noqa: F401
from .tfrecord import (TFRecordCompressionType, TFRecordOptions,  # noqa: F401
                       TFRecordWriter, tf_record_iterator)


def __getattr__(name):
    if name in ("decode_png", "decode_jpeg", "decode_image", "encode_png", "encode_jpeg",
                "is_jpeg"):
        from ..ops import image_ops
        return getattr(image_ops, name)
    raise AttributeError("module 'tfnb.io' has no attribute %r" % name)
