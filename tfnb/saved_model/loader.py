"""Loading SavedModels (TF1's ``tf.saved_model.loader``): TensorFlow's (graph-based, TF1-style)
and tfnb's. The meta graph with the requested tags is imported into the session's graph, its
variables restored from ``variables/variables`` and its main (or legacy init) op run."""
import os

from ..framework import errors
from ..io import tf_graph_import, tf_meta_graph
from ..train.checkpoint_bundle import read_small_file
from . import constants

__all__ = ["load", "maybe_saved_model_directory", "read_saved_model"]


def maybe_saved_model_directory(export_dir):
    """Whether ``export_dir`` looks like a SavedModel (has saved_model.pb or .pbtxt)."""
    return any(os.path.isfile(os.path.join(export_dir, f)) for f in (
        constants.SAVED_MODEL_FILENAME_PB, constants.SAVED_MODEL_FILENAME_PBTXT))


def read_saved_model(export_dir):
    """The ``SavedModel`` proto of ``export_dir`` (bounded read, typed errors).

    Raises:
        IOError: there is no saved_model.pb(txt).
        DataLossError: the file is truncated or not a SavedModel.
    """
    for name in (constants.SAVED_MODEL_FILENAME_PB, constants.SAVED_MODEL_FILENAME_PBTXT):
        path = os.path.join(export_dir, name)
        if os.path.isfile(path):
            data = read_small_file(path, "SavedModel %s" % path)
            try:
                return tf_graph_import.parse_graph_def(data, "SavedModel")
            except ValueError as e:
                raise errors.DataLossError(None, None, "%s: %s" % (path, e)) from None
    raise IOError("SavedModel file does not exist at: %s/{%s|%s}" % (
        export_dir, constants.SAVED_MODEL_FILENAME_PBTXT, constants.SAVED_MODEL_FILENAME_PB))


def _meta_graph(saved_model, tags, export_dir):
    want = set(tags)
    for meta in saved_model.meta_graphs:
        if set(meta.meta_info_def.tags) == want:
            return meta
    found = [sorted(m.meta_info_def.tags) for m in saved_model.meta_graphs]
    raise RuntimeError("MetaGraphDef associated with tags %s could not be found in SavedModel "
                       "%s. Available tag sets: %s" % (sorted(want), export_dir, found))


def load(sess, tags, export_dir, import_scope=None, **saver_kwargs):
    """Loads the meta graph tagged ``tags`` of SavedModel ``export_dir`` into ``sess``.

    Returns:
        The ``MetaGraphDef`` proto loaded (``.signature_def`` names the inputs and outputs).

    Raises:
        RuntimeError: no meta graph has exactly these tags (nothing is imported).
        IOError, DataLossError: no or a damaged saved_model.pb, or damaged variables.
        UnimplementedError: an op tfnb cannot import (nothing is imported).
    """
    tags = [tags] if isinstance(tags, str) else list(tags)
    saved_model = read_saved_model(export_dir)
    meta = _meta_graph(saved_model, tags, export_dir)
    graph = sess.graph
    with graph.as_default():
        saver = tf_meta_graph.import_meta_graph(meta, import_scope=import_scope)
        prefix = os.path.join(export_dir, constants.VARIABLES_DIRECTORY,
                              constants.VARIABLES_FILENAME)
        if saver is not None and os.path.exists(prefix + ".index"):
            saver.restore(sess, prefix)
        init = None
        for key in (constants.MAIN_OP_KEY, constants.LEGACY_INIT_OP_KEY):
            if key in meta.collection_def and meta.collection_def[key].node_list.value:
                name = meta.collection_def[key].node_list.value[0]
                init = graph.get_operation_by_name(
                    (import_scope.rstrip("/") + "/" if import_scope else "") + name)
                break
        if init is not None:
            sess.run(init, feed_dict=_asset_feeds(meta, export_dir, graph, import_scope))
    return meta


def _asset_feeds(meta, export_dir, graph, import_scope):
    """Feeds each asset's filename tensor with its file's path in ``export_dir/assets``."""
    feeds = {}
    for asset in meta.asset_file_def:
        name = asset.tensor_info.name
        if import_scope:
            name = import_scope.rstrip("/") + "/" + name
        feeds[graph.get_tensor_by_name(name)] = os.path.join(
            export_dir, constants.ASSETS_DIRECTORY, asset.filename).encode()
    return feeds or None

