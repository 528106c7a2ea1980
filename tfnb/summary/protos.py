"""TensorBoard's protocol buffers, loaded from tensorboardX on first use.

``import tfnb`` must work with only NumPy installed, so nothing here imports
tensorboardX at module level: :func:`load` does, the first time a summary kernel
is compiled or a FileWriter is made. The TF1 proto classes users touch directly
(``tf.Summary``, ``tf.SessionLog``, ``tf.Event``, ...) are stand-ins that resolve
to tensorboardX's classes when first called, so ``tf.Summary.Value(tag=...)``,
``tf.SessionLog.START`` and ``isinstance(x, tf.Summary)`` behave as in TF1.

tensorboardX ships no ``RunMetadata``/``StepStats`` protos, so :func:`load` defines
them (same field numbers as TensorFlow's ``config.proto``/``step_stats.proto``, so
the bytes TensorBoard reads are the same) from a descriptor built in code: no
generated ``_pb2`` module to tie us to one protobuf version.
"""
import functools
import types

import numpy as np

from ..framework import dtypes as _dtypes
from ..framework.tensor_shape import TensorShape, as_shape

__all__ = ["load", "Summary", "SummaryMetadata", "HistogramProto", "Event", "SessionLog",
           "TaggedRunMetadata", "shape_proto", "tensor_proto", "datatype_enum"]

INSTALL_HINT = ("TensorBoard support needs tensorboardX (and protobuf): "
                "pip install 'tfnb[notebook]'  (or: pip install tensorboardX)")

# Protos defined here, mirroring TensorFlow's; (field name, number, type, repeated).
# A type is a scalar type name, a message of this file, or a '.'-qualified external type.
_PACKAGE = "tfnb.tensorflow"
_MESSAGES = {
    "AllocationDescription": [("requested_bytes", 1, "int64", False),
                              ("allocated_bytes", 2, "int64", False),
                              ("allocator_name", 3, "string", False)],
    "TensorDescription": [("dtype", 1, "enum:.tensorboardX.DataType", False),
                          ("shape", 2, ".tensorboardX.TensorShapeProto", False),
                          ("allocation_description", 4, "AllocationDescription", False)],
    "AllocatorMemoryUsed": [("allocator_name", 1, "string", False),
                            ("total_bytes", 2, "int64", False),
                            ("peak_bytes", 3, "int64", False),
                            ("live_bytes", 4, "int64", False)],
    "NodeOutput": [("slot", 1, "int32", False),
                   ("tensor_description", 3, "TensorDescription", False)],
    "NodeExecStats": [("node_name", 1, "string", False),
                      ("all_start_micros", 2, "int64", False),
                      ("op_start_rel_micros", 3, "int64", False),
                      ("op_end_rel_micros", 4, "int64", False),
                      ("all_end_rel_micros", 5, "int64", False),
                      ("memory", 6, "AllocatorMemoryUsed", True),
                      ("output", 7, "NodeOutput", True),
                      ("timeline_label", 8, "string", False),
                      ("scheduled_micros", 9, "int64", False),
                      ("thread_id", 10, "uint32", False)],
    "DeviceStepStats": [("device", 1, "string", False),
                        ("node_stats", 2, "NodeExecStats", True)],
    "StepStats": [("dev_stats", 1, "DeviceStepStats", True)],
    "RunMetadata": [("step_stats", 1, "StepStats", False),
                    ("partition_graphs", 3, ".tensorboardX.GraphDef", True)],
}


def _step_stats_classes(descriptor_pb2, descriptor_pool, message_factory):
    """Message classes for :data:`_MESSAGES`, registered once in the default pool."""
    fdp = descriptor_pb2.FieldDescriptorProto
    scalars = {"int64": fdp.TYPE_INT64, "int32": fdp.TYPE_INT32, "uint32": fdp.TYPE_UINT32,
               "string": fdp.TYPE_STRING}
    pool = descriptor_pool.Default()
    name = "tfnb/summary/step_stats.proto"
    try:
        pool.FindFileByName(name)
    except KeyError:
        f = descriptor_pb2.FileDescriptorProto(
            name=name, package=_PACKAGE, syntax="proto3",
            dependency=["tensorboardX/proto/graph.proto", "tensorboardX/proto/tensor_shape.proto",
                        "tensorboardX/proto/types.proto"])
        for msg_name, fields in _MESSAGES.items():
            m = f.message_type.add(name=msg_name)
            for field, number, kind, repeated in fields:
                fd = m.field.add(name=field, number=number,
                                 label=fdp.LABEL_REPEATED if repeated else fdp.LABEL_OPTIONAL)
                if kind in scalars:
                    fd.type = scalars[kind]
                elif kind.startswith("enum:"):
                    fd.type, fd.type_name = fdp.TYPE_ENUM, kind[len("enum:"):]
                else:
                    fd.type = fdp.TYPE_MESSAGE
                    fd.type_name = kind if kind.startswith(".") else ".%s.%s" % (_PACKAGE, kind)
        pool.AddSerializedFile(f.SerializeToString())
    return {m: message_factory.GetMessageClass(pool.FindMessageTypeByName(_PACKAGE + "." + m))
            for m in _MESSAGES}


@functools.lru_cache(maxsize=None)
def load():
    """The proto modules and classes TensorBoard support uses, importing tensorboardX once.

    Raises:
        ImportError: tensorboardX or protobuf is missing; the message says what to install.
    """
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
        from google.protobuf.message import DecodeError
        from tensorboardX.proto import (attr_value_pb2, event_pb2, graph_pb2, summary_pb2,
                                        tensor_pb2, tensor_shape_pb2)
        from tensorboardX.record_writer import RecordWriter, masked_crc32c
    except ImportError as e:
        raise ImportError("%s (%s)" % (INSTALL_HINT, e)) from e
    ns = types.SimpleNamespace(
        attr_value_pb2=attr_value_pb2, event_pb2=event_pb2, graph_pb2=graph_pb2,
        summary_pb2=summary_pb2, tensor_pb2=tensor_pb2, tensor_shape_pb2=tensor_shape_pb2,
        RecordWriter=RecordWriter, masked_crc32c=masked_crc32c, DecodeError=DecodeError)
    for name, cls in _step_stats_classes(descriptor_pb2, descriptor_pool, message_factory).items():
        setattr(ns, name, cls)
    return ns


# ----------------------------------------------------------------------------------------------
# TF1 proto classes, resolved on first use
# ----------------------------------------------------------------------------------------------
class _LazyProto(type):
    """Metaclass of stand-ins that forward calls and attributes to a tensorboardX proto class."""

    def _target(cls):
        return getattr(getattr(load(), cls._module), cls.__name__)

    def __call__(cls, *args, **kwargs):
        return cls._target()(*args, **kwargs)

    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(cls._target(), name)

    def __instancecheck__(cls, obj):
        return isinstance(obj, cls._target())

    def __repr__(cls):
        return "<class %s.%s (tensorboardX proto, loaded on first use)>" % (cls.__module__,
                                                                             cls.__name__)


def _proto(name, module, doc):
    return _LazyProto(name, (), {"_module": module, "__doc__": doc, "__module__": "tfnb.summary"})


Summary = _proto("Summary", "summary_pb2",
                 "TF's ``Summary`` proto: ``tf.Summary(value=[tf.Summary.Value(tag='loss', "
                 "simple_value=0.5)])``.")
SummaryMetadata = _proto("SummaryMetadata", "summary_pb2",
                         "TF's ``SummaryMetadata`` proto (plugin data, display name, description).")
HistogramProto = _proto("HistogramProto", "summary_pb2", "TF's ``HistogramProto``.")
Event = _proto("Event", "event_pb2", "TF's ``Event`` proto: one record of an event file.")
SessionLog = _proto("SessionLog", "event_pb2",
                    "TF's ``SessionLog`` proto: ``tf.SessionLog(status=tf.SessionLog.START)``; "
                    "statuses START, STOP, CHECKPOINT (with ``checkpoint_path``) and ``msg``.")
TaggedRunMetadata = _proto("TaggedRunMetadata", "event_pb2",
                           "TF's ``TaggedRunMetadata``: a tag and a serialized ``RunMetadata``.")


# ----------------------------------------------------------------------------------------------
# tfnb values -> protos
# ----------------------------------------------------------------------------------------------
def datatype_enum(dtype):
    """TF's ``DataType`` number of ``dtype`` (a DType, NumPy dtype or name); 0 if unknown."""
    try:
        return _dtypes.as_dtype(dtype).as_datatype_enum
    except TypeError:
        return 0


def shape_proto(shape):
    """A ``TensorShapeProto``: unknown dims are -1, an unknown rank sets ``unknown_rank``."""
    shape = shape if isinstance(shape, TensorShape) else as_shape(shape)
    p = load().tensor_shape_pb2.TensorShapeProto()
    dims = shape.as_tuple()
    if dims is None:
        p.unknown_rank = True
    else:
        for d in dims:
            p.dim.add(size=-1 if d is None else int(d))
    return p


def tensor_proto(value, max_content_bytes=None):
    """A ``TensorProto`` holding ``value`` (an array or scalar), as TF's ``make_tensor_proto``.

    Numbers go into ``tensor_content`` (little-endian bytes), strings into ``string_val``.

    Args:
        value: array-like; strings may be ``str`` or ``bytes``.
        max_content_bytes: if the contents are larger, only dtype and shape are recorded
            (a graph drawing needs no multi-megabyte constants).
    """
    arr = np.asarray(value)
    p = load().tensor_pb2.TensorProto(dtype=datatype_enum(arr.dtype))
    p.tensor_shape.CopyFrom(shape_proto(arr.shape))
    if arr.dtype.kind in "OSU":
        items = [s.encode("utf-8") if isinstance(s, str) else bytes(s) for s in arr.reshape(-1)]
        if max_content_bytes is None or sum(len(s) for s in items) <= max_content_bytes:
            p.string_val.extend(items)
    elif max_content_bytes is None or arr.nbytes <= max_content_bytes:
        p.tensor_content = np.ascontiguousarray(arr, arr.dtype.newbyteorder("<")).tobytes()
    return p
