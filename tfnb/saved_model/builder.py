"""Writing SavedModels in TensorFlow's layout (TF1's ``tf.saved_model.builder``)::

    export_dir/saved_model.pb          a SavedModel proto: one MetaGraphDef per tag set
    export_dir/variables/variables.*   the variables, a TensorFlow V2 checkpoint
    export_dir/assets/                 asset files (AssetFileDef records in the meta graph)

The meta graphs are TensorFlow's (tfnb.io.tf_meta_graph), with their signatures, the
``SaverDef`` of a Saver that writes TensorFlow's format, and the main/legacy init op, so
TensorFlow (and TF Serving) load what tfnb writes.
"""
import os
import shutil

from ..framework import errors
from ..framework.graph import Operation, Tensor
from ..io import protos, tf_meta_graph
from ..train.checkpoint_bundle import atomic_write
from . import constants

__all__ = ["SavedModelBuilder"]


class SavedModelBuilder:
    """Builds a SavedModel in ``export_dir``: ``add_meta_graph_and_variables`` once, then
    ``add_meta_graph`` for other tag sets, then ``save``.

    Raises:
        AssertionError: ``export_dir`` exists and is not empty (as TensorFlow).

    Example:
        >>> b = tf.saved_model.builder.SavedModelBuilder("/tmp/model/1")
        >>> b.add_meta_graph_and_variables(sess, [tf.saved_model.tag_constants.SERVING],
        ...     signature_def_map={"serving_default": sig})
        >>> b.save()
    """

    def __init__(self, export_dir):
        if os.path.exists(export_dir):
            if os.listdir(export_dir):
                raise AssertionError("Export directory already exists, and isn't empty. Please "
                                     "choose a different export directory, or delete all the "
                                     "contents of the specified directory: %s" % export_dir)
        else:
            os.makedirs(export_dir)
        self._export_dir = export_dir
        self._saved_model = protos.load().SavedModel(
            saved_model_schema_version=constants.SAVED_MODEL_SCHEMA_VERSION)
        self._has_saved_variables = False
        self._saver_def = None
        self._tag_sets = set()

    def _check_tags(self, tags):
        tags = [tags] if isinstance(tags, str) else list(tags or [])
        key = frozenset(tags)
        if key in self._tag_sets:
            raise AssertionError("A meta graph with tags %s was added already" % sorted(tags))
        return tags, key

    def _assets(self, meta, assets_collection):
        """Copies asset files into ``assets/`` and records them as AssetFileDef protos."""
        p = protos.load()
        for t in assets_collection or []:
            if not isinstance(t, Tensor) or t.op.type != "Const":
                raise ValueError("Assets must be string Const tensors naming files, got %r" % (t,))
            path = t.op.get_attr("value").item()
            path = path.decode() if isinstance(path, bytes) else str(path)
            folder = os.path.join(self._export_dir, constants.ASSETS_DIRECTORY)
            os.makedirs(folder, exist_ok=True)
            shutil.copyfile(path, os.path.join(folder, os.path.basename(path)))
            asset = p.AssetFileDef(filename=os.path.basename(path))
            asset.tensor_info.name = t.name
            meta.collection_def[constants.ASSETS_KEY].any_list.value.add().Pack(asset)
            meta.asset_file_def.add().CopyFrom(asset)

    def _add(self, graph, tags, signature_def_map, assets_collection, init_op, clear_devices):
        for key, sig in (signature_def_map or {}).items():
            for info in list(sig.inputs.values()) + list(sig.outputs.values()):
                graph.get_tensor_by_name(info.name)  # KeyError if the signature names no tensor
        collections = [k for k in graph.get_all_collection_keys()
                       if k not in (constants.MAIN_OP_KEY, constants.LEGACY_INIT_OP_KEY)]
        meta = tf_meta_graph.export_meta_graph(graph=graph, saver_def=self._saver_def,
                                               collection_list=collections,
                                               clear_devices=clear_devices, tags=tags)
        for key, sig in (signature_def_map or {}).items():
            meta.signature_def[key].CopyFrom(protos.coerce(sig, "SignatureDef"))
        if init_op is not None:
            key, op = init_op
            if isinstance(op, Tensor):
                op = op.op
            if not isinstance(op, Operation):
                raise TypeError("%s must be an Operation, got %r" % (key, op))
            meta.collection_def[key].node_list.value.append(op.name)
        self._assets(meta, assets_collection)
        self._saved_model.meta_graphs.add().CopyFrom(meta)

    def add_meta_graph_and_variables(self, sess, tags, signature_def_map=None,
                                     assets_collection=None, legacy_init_op=None,
                                     clear_devices=False, main_op=None, strip_default_attrs=False,
                                     saver=None):
        """Saves the variables of ``sess`` and the meta graph of its graph under ``tags``."""
        from ..train.saver import Saver
        if self._has_saved_variables:
            raise AssertionError("Graph state including variables and assets has already been "
                                 "saved. Please invoke `add_meta_graph()` instead.")
        tags, key = self._check_tags(tags)
        graph = sess.graph
        with graph.as_default():
            if saver is None:
                saver = Saver(allow_empty=True)
            elif not saver._tf_format:
                raise ValueError("The saver of a SavedModel must write TensorFlow's format: "
                                 "tf.train.Saver() (not format='tfnb')")
        folder = os.path.join(self._export_dir, constants.VARIABLES_DIRECTORY)
        os.makedirs(folder, exist_ok=True)
        saver.save(sess, os.path.join(folder, constants.VARIABLES_FILENAME),
                   write_meta_graph=False, write_state=False)
        self._saver_def = saver.as_saver_def()
        init = (constants.MAIN_OP_KEY, main_op) if main_op is not None else \
            (constants.LEGACY_INIT_OP_KEY, legacy_init_op) if legacy_init_op is not None else None
        self._add(graph, tags, signature_def_map, assets_collection, init, clear_devices)
        self._tag_sets.add(key)
        self._has_saved_variables = True

    def add_meta_graph(self, tags, signature_def_map=None, assets_collection=None,
                       legacy_init_op=None, clear_devices=False, main_op=None,
                       strip_default_attrs=False, saver=None):
        """Adds the default graph's meta graph under ``tags`` (variables saved before)."""
        from ..framework.graph import get_default_graph
        if not self._has_saved_variables:
            raise AssertionError("Graph state including variables and assets has not been saved "
                                 "yet. Please invoke `add_meta_graph_and_variables()` first.")
        tags, key = self._check_tags(tags)
        init = (constants.MAIN_OP_KEY, main_op) if main_op is not None else \
            (constants.LEGACY_INIT_OP_KEY, legacy_init_op) if legacy_init_op is not None else None
        self._add(get_default_graph(), tags, signature_def_map, assets_collection, init,
                  clear_devices)
        self._tag_sets.add(key)

    def save(self, as_text=False):
        """Writes ``saved_model.pb`` (or ``.pbtxt``) atomically; returns its path."""
        if not self._saved_model.meta_graphs:
            raise errors.FailedPreconditionError(None, None, "The SavedModel has no meta graph; "
                                                 "call add_meta_graph_and_variables first")
        if as_text:
            path = os.path.join(self._export_dir, constants.SAVED_MODEL_FILENAME_PBTXT)
            data = protos.load().text_format.MessageToString(self._saved_model).encode()
        else:
            path = os.path.join(self._export_dir, constants.SAVED_MODEL_FILENAME_PB)
            data = self._saved_model.SerializeToString()
        atomic_write(path, data)
        return path.encode()

