"""SavedModels in TensorFlow's layout (TF1's ``tf.saved_model``): ``simple_save``,
``builder.SavedModelBuilder``, ``loader.load``, signatures and constants.

A SavedModel tfnb writes loads in TensorFlow (``tf.saved_model.loader.load``) and in TF
Serving; a TensorFlow SavedModel of a graph-based (TF1-style) model loads in tfnb, which runs
its signatures. Reading and writing needs protobuf (``pip install 'tfnb[tf]'``).

Example:
    >>> tf.saved_model.simple_save(sess, "/tmp/model/1", inputs={"x": x}, outputs={"y": y})
    >>> with tf.Session(graph=tf.Graph()) as sess:
    ...     meta = tf.saved_model.loader.load(sess, ["serve"], "/tmp/model/1")
    ...     sig = meta.signature_def["serving_default"]
    ...     sess.run(sig.outputs["y"].name, {sig.inputs["x"].name: data})
"""
from . import (builder, constants, loader, signature_constants, signature_def_utils,  # noqa: F401
               tag_constants, utils)
from .builder import SavedModelBuilder
from .loader import load, maybe_saved_model_directory
from .signature_def_utils import (build_signature_def, classification_signature_def,
                                  is_valid_signature, predict_signature_def,
                                  regression_signature_def)
from .utils import build_tensor_info, get_tensor_from_tensor_info

__all__ = ["simple_save", "builder", "loader", "signature_def_utils", "signature_constants",
           "tag_constants", "utils", "constants", "SavedModelBuilder", "Builder", "load",
           "maybe_saved_model_directory", "build_signature_def", "predict_signature_def",
           "classification_signature_def", "regression_signature_def", "is_valid_signature",
           "build_tensor_info", "get_tensor_from_tensor_info"]

Builder = SavedModelBuilder


def simple_save(session, export_dir, inputs, outputs, legacy_init_op=None):
    """Saves ``session``'s graph and variables as a SavedModel for serving: tag ``serve``,
    one predict signature ``serving_default`` over ``inputs``/``outputs`` ({key: Tensor})."""
    from ..framework.graph import GraphKeys
    sig = predict_signature_def(inputs, outputs)
    b = SavedModelBuilder(export_dir)
    b.add_meta_graph_and_variables(
        session, tags=[tag_constants.SERVING],
        signature_def_map={signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY: sig},
        assets_collection=session.graph.get_collection(GraphKeys.ASSET_FILEPATHS),
        main_op=legacy_init_op, clear_devices=True)
    b.save()
