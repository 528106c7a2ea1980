"""``tf.compat``: tfnb is TF1's API, so ``tf.compat.v1`` is tfnb itself.

``tf.compat.v1.graph_util``, ``tf.compat.v1.train.Saver``... are the same objects as
``tf.graph_util``, ``tf.train.Saver``; ``import tfnb.compat.v1`` works too. String helpers
``as_bytes``/``as_text``/``as_str`` are TF's.
"""
import sys

__all__ = ["v1", "as_bytes", "as_text", "as_str"]

v1 = sys.modules[__name__.rsplit(".", 1)[0]]  # tfnb (being imported: its names fill in)
sys.modules[__name__ + ".v1"] = v1


def as_bytes(bytes_or_text, encoding="utf-8"):
    """``bytes_or_text`` as bytes (text is encoded)."""
    if isinstance(bytes_or_text, (bytes, bytearray)):
        return bytes(bytes_or_text)
    if isinstance(bytes_or_text, str):
        return bytes_or_text.encode(encoding)
    raise TypeError("Expected binary or unicode string, got %r" % (bytes_or_text,))


def as_text(bytes_or_text, encoding="utf-8"):
    """``bytes_or_text`` as str (bytes are decoded)."""
    if isinstance(bytes_or_text, str):
        return bytes_or_text
    if isinstance(bytes_or_text, (bytes, bytearray)):
        return bytes(bytes_or_text).decode(encoding)
    raise TypeError("Expected binary or unicode string, got %r" % (bytes_or_text,))


as_str = as_text
