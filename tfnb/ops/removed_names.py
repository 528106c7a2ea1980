"""Names TensorFlow 1.0 removed from the top-level API, absent from ``tfnb`` as from TF 1.15.

Programs written for TF 0.x call ``tf.mul``, ``tf.select``, ``tf.pack``...; TF 1.15 has
none of them, so using one raises ``AttributeError`` -- here naming its TF 1.x successor.
"""

__all__ = ["REMOVED_IN_TF_1_0", "module_getattr"]

#: Removed name -> the TF 1.x name that replaced it.
REMOVED_IN_TF_1_0 = {
    "mul": "multiply", "sub": "subtract", "neg": "negative", "select": "where",
    "pack": "stack", "unpack": "unstack", "batch_matmul": "matmul", "inv": "reciprocal",
    "complex_abs": "abs", "listdiff": "setdiff1d", "scalar_summary": "summary.scalar",
    "histogram_summary": "summary.histogram", "image_summary": "summary.image",
    "audio_summary": "summary.audio", "merge_summary": "summary.merge",
    "merge_all_summaries": "summary.merge_all",
}


def module_getattr(module_name):
    """A module ``__getattr__`` raising AttributeError, with the successor of a removed name."""
    def __getattr__(name):
        new = REMOVED_IN_TF_1_0.get(name)
        hint = " (removed in TensorFlow 1.0: use tf.%s)" % new if new else ""
        raise AttributeError("module %r has no attribute %r%s" % (module_name, name, hint))
    return __getattr__
