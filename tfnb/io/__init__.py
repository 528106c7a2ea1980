"""File formats shared by many parts of tfnb (TensorFlow's protocol buffers, checkpoint bundles,
tables, records). Submodules are imported where they are used: ``import tfnb`` needs only NumPy."""


def __getattr__(name):
    """``tf.io``'s public names (TFRecordWriter, parse_example, gfile, ...), on first use
    (tfnb/io/tf_io.py). Modules are imported by name, so ``from . import x`` never recurses."""
    import importlib
    if name == "gfile":
        return importlib.import_module(__name__ + ".gfile")
    if name not in _TF_IO_NAMES:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    return getattr(importlib.import_module(__name__ + ".tf_io"), name)


_TF_IO_NAMES = frozenset([
    "FixedLenFeature", "FixedLenSequenceFeature", "VarLenFeature", "TFRecordCompressionType",
    "TFRecordOptions", "TFRecordWriter", "decode_raw", "matching_files", "parse_example",
    "parse_single_example", "read_file", "tf_record_iterator", "write_file", "decode_png",
    "decode_jpeg", "decode_image", "encode_png", "encode_jpeg", "is_jpeg", "decode_csv"])
