"""``tensorflow.python.lib.io`` module paths (re-export shims only)."""
from . import file_io, tf_record  # noqa: F401
