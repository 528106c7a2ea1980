"""TensorFlow's ``MetaGraphDef``: a graph with its collections and saver, read and written.

:func:`export_meta_graph` writes a tfnb graph as TensorFlow's MetaGraphDef: the GraphDef
(:mod:`tfnb.io.tf_graph_export`), a ``SaverDef``, and the collections TensorFlow knows --
variables as ``VariableDef`` protos (``variables``, ``trainable_variables``, ``global_step``...),
ops and tensors as ``node_list`` (``train_op``, ``saved_model_main_op``...), numbers as
``int64_list``/``float_list``. Collections of other Python objects are left out. A graph
with ops TensorFlow lacks (function graphs of ``While``/``If``...) also carries tfnb's own
GraphDef in the collection ``tfnb_graph_def``, from which tfnb re-imports it exactly
(TensorFlow ignores that collection).

:func:`import_meta_graph` imports TensorFlow's (or tfnb's) MetaGraphDef into the default
graph: the nodes (:mod:`tfnb.io.tf_graph_import`), ``tf.Variable`` objects rebuilt from the
``VariableDef`` protos, the other collections, and a ``tf.train.Saver`` running the meta
graph's own save/restore ops.
"""
import logging

from ..framework import graph_io
from ..framework.graph import Operation, Tensor, get_default_graph
from . import protos, tf_graph_export, tf_graph_import

__all__ = ["export_meta_graph", "import_meta_graph", "read_meta_graph", "variable_def",
           "VARIABLE_COLLECTIONS", "TFNB_GRAPH_KEY"]

_LOG = logging.getLogger("tfnb.io")
TFNB_GRAPH_KEY = "tfnb_graph_def"
# Collections of tf.Variable objects, stored as VariableDef protos (TF's proto registry).
VARIABLE_COLLECTIONS = ("variables", "trainable_variables", "local_variables", "model_variables",
                        "moving_average_variables", "global_step", "metric_variables",
                        "concatenated_variables")


def variable_def(v, export_scope=None):
    """TensorFlow's ``VariableDef`` of a tfnb Variable (a resource variable)."""
    def strip(name):
        if export_scope and name.startswith(export_scope + "/"):
            return name[len(export_scope) + 1:]
        return name
    p = protos.load().VariableDef(variable_name=strip(v._handle.name),
                                  initializer_name=strip(v._initializer_op.name),
                                  snapshot_name=strip(v._snapshot.name),
                                  is_resource=True, trainable=bool(v._trainable))
    if v._initial_value is not None:
        p.initial_value_name = strip(v._initial_value.name)
    return p


def _collection_def(meta, key, items):
    """Adds collection ``key`` to ``meta`` if TensorFlow's proto can hold its items."""
    from ..ops.variables import Variable
    if not items:
        return
    cdef = protos.load().CollectionDef()
    if all(isinstance(x, Variable) for x in items):
        if key not in VARIABLE_COLLECTIONS:
            return
        cdef.bytes_list.value.extend(variable_def(v).SerializeToString() for v in items)
    elif all(isinstance(x, (Tensor, Operation)) for x in items):
        cdef.node_list.value.extend(x.name for x in items)
    elif all(isinstance(x, bool) for x in items):
        return
    elif all(isinstance(x, int) for x in items):
        cdef.int64_list.value.extend(items)
    elif all(isinstance(x, (int, float)) for x in items):
        cdef.float_list.value.extend(float(x) for x in items)
    elif all(isinstance(x, (str, bytes)) for x in items):
        cdef.bytes_list.value.extend(x.encode("utf-8") if isinstance(x, str) else x
                                     for x in items)
    else:
        return
    meta.collection_def[key].CopyFrom(cdef)


def export_meta_graph(filename=None, graph=None, saver_def=None, collection_list=None,
                      as_text=False, clear_devices=False, tags=None):
    """TensorFlow's ``MetaGraphDef`` of ``graph`` (default: the default graph).

    Args:
        filename: if given, also write it there (binary, or text format if ``as_text``).
        graph: the Graph.
        saver_def: a ``SaverDef`` proto (``Saver.as_saver_def()``) to record.
        collection_list: the collection keys to write (default: all).
        clear_devices: leave the nodes' devices empty.
        tags: ``meta_info_def.tags`` (a SavedModel's).

    Returns:
        The MetaGraphDef proto.
    """
    graph = graph or get_default_graph()
    p = protos.load()
    meta = p.MetaGraphDef()  # (tensorflow_version stays empty: TensorFlow parses it as its own)
    meta.meta_info_def.tags.extend(tags or [])
    meta.graph_def.CopyFrom(tf_graph_export.graph_to_tf_graph_def(graph,
                                                                 clear_devices=clear_devices))
    if saver_def is not None:
        meta.saver_def.CopyFrom(protos.coerce(saver_def, "SaverDef"))
    keys = graph.get_all_collection_keys() if collection_list is None else collection_list
    for key in keys:
        if isinstance(key, str):
            _collection_def(meta, key, graph.get_collection(key))
    if tf_graph_export.unsupported_ops(graph):
        native = graph_io.graph_to_def(graph)
        if clear_devices:
            for n in native.node:
                n.device = ""
        meta.collection_def[TFNB_GRAPH_KEY].bytes_list.value.append(native.SerializeToString())
    if filename:
        from ..train.checkpoint_bundle import atomic_write
        data = p.text_format.MessageToString(meta).encode("utf-8") if as_text else \
            meta.SerializeToString()
        atomic_write(filename, data)
    return meta


def read_meta_graph(data):
    """A MetaGraphDef proto from binary or text-format bytes (bounded, typed errors)."""
    return tf_graph_import.parse_graph_def(data, "MetaGraphDef")


# ----------------------------------------------------------------------------------------------
# Import
# ----------------------------------------------------------------------------------------------
def _handle_name(graph, name):
    """The resource handle behind a VariableDef's ``variable_name`` (a TF1 reference variable
    is imported as a read of a handle)."""
    t = graph.as_graph_element(name)
    if t.op.type == "ReadVariableOp":
        return t.op.inputs[0].name
    return t.name


def _restore_variable(graph, vdef, prefix, trainable):
    from ..ops.variables import Variable

    def full(name):
        return prefix + name if name else name
    d = {"handle": _handle_name(graph, full(vdef.variable_name)),
         "initializer": full(vdef.initializer_name), "snapshot": full(vdef.snapshot_name),
         "initial_value": full(vdef.initial_value_name) or None,
         "trainable": trainable}
    return Variable(variable_def=d)


def _restore_collections(graph, meta, prefix):
    p = protos.load()
    trainable = set()
    if "trainable_variables" in meta.collection_def:
        for raw in meta.collection_def["trainable_variables"].bytes_list.value:
            trainable.add(p.VariableDef.FromString(raw).variable_name)
    variables = {}
    for key, cdef in sorted(meta.collection_def.items()):
        if key == TFNB_GRAPH_KEY:
            continue
        kind = cdef.WhichOneof("kind")
        try:
            if kind == "node_list":
                for name in cdef.node_list.value:
                    graph.add_to_collection(key, graph.as_graph_element(prefix + name))
            elif kind == "bytes_list" and key in VARIABLE_COLLECTIONS:
                for raw in cdef.bytes_list.value:
                    vdef = p.VariableDef.FromString(raw)
                    v = variables.get(vdef.variable_name)
                    if v is None:
                        v = variables[vdef.variable_name] = _restore_variable(
                            graph, vdef, prefix, vdef.trainable or vdef.variable_name in trainable)
                    graph.add_to_collection(key, v)
            elif kind in ("int64_list", "float_list"):
                for x in getattr(cdef, kind).value:
                    graph.add_to_collection(key, x)
            elif kind == "any_list":
                for x in cdef.any_list.value:
                    graph.add_to_collection(key, x)
            elif kind == "bytes_list":
                _LOG.info("Collection %r of the meta graph holds protos tfnb does not rebuild; "
                          "left out", key)
        except (KeyError, ValueError, TypeError, p.DecodeError) as e:
            raise ValueError("Cannot restore collection %r of the MetaGraphDef: %s" % (key, e)) \
                from None


def import_meta_graph(meta_graph, clear_devices=False, import_scope=None, input_map=None):
    """Imports a TensorFlow ``MetaGraphDef`` (proto or bytes) into the default graph.

    Returns:
        A ``tf.train.Saver`` running the meta graph's save/restore ops (from its SaverDef),
        or None if it has no SaverDef and no variables (as TensorFlow).

    Raises:
        UnimplementedError: a node tfnb cannot import (named).
        ValueError: a malformed graph or collection.
    """
    from ..ops.variables import global_variables
    from ..train.saver import Saver
    if isinstance(meta_graph, (bytes, bytearray, memoryview)):
        meta = read_meta_graph(meta_graph)
    else:
        meta = protos.coerce(meta_graph, "MetaGraphDef")
    graph = get_default_graph()
    embedded = meta.collection_def[TFNB_GRAPH_KEY].bytes_list.value \
        if TFNB_GRAPH_KEY in meta.collection_def else None
    if embedded:
        from ..framework.graph_format import GraphDef
        gd = GraphDef.FromString(embedded[0])
        prefix, _ = graph_io._import(gd, input_map, None, import_scope or "", True,
                                     clear_devices)
    else:
        prefix, _ = tf_graph_import.import_tf_graph_def(meta.graph_def, input_map, None,
                                                        import_scope or "", clear_devices)
        _restore_collections(graph, meta, prefix)
    if meta.HasField("saver_def"):
        sd = protos.load().SaverDef()
        sd.CopyFrom(meta.saver_def)
        for field in ("filename_tensor_name", "save_tensor_name", "restore_op_name"):
            if getattr(sd, field):
                setattr(sd, field, prefix + getattr(sd, field))
        return Saver(saver_def=sd)
    return Saver() if global_variables() else None
