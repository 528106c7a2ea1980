"""TensorFlow's protocol buffer messages (GraphDef, MetaGraphDef, SavedModel, ...), loaded lazily.

The schemas are TensorFlow's public ``.proto`` files (in ``tensorflow/`` below this folder,
Apache-2.0, see LICENSE), compiled by protoc into one descriptor set, ``tf_protos.binpb``
(``regenerate.py`` remakes both). :func:`load` reads that set into a descriptor pool of
tfnb's own and returns the message classes, so:

* no generated ``_pb2`` code ties tfnb to one protobuf release (any protobuf >= 4.23 works);
* the classes never clash with TensorFlow's or tensorboardX's in the same process (their
  full names are TensorFlow's, ``tensorflow.GraphDef``..., so the bytes, the text form and
  ``Any`` type URLs are exactly TensorFlow's);
* ``import tfnb`` needs no protobuf: only code that reads or writes these formats calls
  :func:`load`, which raises ImportError with an install hint when protobuf is missing.

Example:
    >>> from tfnb.io import protos
    >>> gd = protos.load().GraphDef.FromString(open("frozen.pb", "rb").read())
"""
import functools
import os
import types

__all__ = ["load", "available", "INSTALL_HINT", "coerce"]

INSTALL_HINT = ("Reading or writing TensorFlow's file formats needs protobuf: "
                "pip install 'tfnb[tf]'  (or: pip install protobuf)")
DESCRIPTOR_SET = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tf_protos.binpb")

# Short name -> full name of the messages tfnb uses.
_MESSAGES = {
    "GraphDef": "tensorflow.GraphDef", "NodeDef": "tensorflow.NodeDef",
    "AttrValue": "tensorflow.AttrValue", "NameAttrList": "tensorflow.NameAttrList",
    "TensorProto": "tensorflow.TensorProto", "TensorShapeProto": "tensorflow.TensorShapeProto",
    "VersionDef": "tensorflow.VersionDef", "FunctionDef": "tensorflow.FunctionDef",
    "FunctionDefLibrary": "tensorflow.FunctionDefLibrary", "OpDef": "tensorflow.OpDef",
    "MetaGraphDef": "tensorflow.MetaGraphDef", "CollectionDef": "tensorflow.CollectionDef",
    "SignatureDef": "tensorflow.SignatureDef", "TensorInfo": "tensorflow.TensorInfo",
    "AssetFileDef": "tensorflow.AssetFileDef", "SaverDef": "tensorflow.SaverDef",
    "SavedModel": "tensorflow.SavedModel", "VariableDef": "tensorflow.VariableDef",
    "SaveSliceInfoDef": "tensorflow.SaveSliceInfoDef",
    "BundleHeaderProto": "tensorflow.BundleHeaderProto",
    "BundleEntryProto": "tensorflow.BundleEntryProto",
    "TensorSliceProto": "tensorflow.TensorSliceProto",
    "CheckpointState": "tensorflow.CheckpointState",
    "Any": "google.protobuf.Any",
}


def _message_class(pool, full_name):
    from google.protobuf import message_factory
    descriptor = pool.FindMessageTypeByName(full_name)
    get = getattr(message_factory, "GetMessageClass", None)
    if get is not None:
        return get(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)  # protobuf < 4.22


@functools.lru_cache(maxsize=None)
def load():
    """A namespace of TensorFlow's message classes (``load().GraphDef``...), built once.

    Also holds ``DecodeError`` (protobuf's), ``text_format`` (protobuf's module), ``pool``
    (the descriptor pool) and ``DataType`` (``{"DT_FLOAT": 1, ...}``).

    Raises:
        ImportError: protobuf is not installed (the message says what to install).
    """
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, text_format
        from google.protobuf.message import DecodeError
    except ImportError as e:
        raise ImportError("%s (%s)" % (INSTALL_HINT, e)) from e
    with open(DESCRIPTOR_SET, "rb") as f:
        files = descriptor_pb2.FileDescriptorSet.FromString(f.read()).file
    pool = descriptor_pool.DescriptorPool()
    for fdp in files:  # protoc lists every file after the files it imports
        pool.Add(fdp)
    ns = types.SimpleNamespace(pool=pool, DecodeError=DecodeError, text_format=text_format)
    for short, full in _MESSAGES.items():
        setattr(ns, short, _message_class(pool, full))
    ns.DataType = {v.name: v.number for v in pool.FindEnumTypeByName("tensorflow.DataType").values}
    return ns


def available():
    """Whether protobuf is installed, so TensorFlow's formats can be written (never raises)."""
    try:
        load()
    except ImportError:
        return False
    return True


def coerce(message, short_name):
    """``message`` as tfnb's class ``short_name``: itself, or parsed from its bytes when it is
    another library's class of the same message (TensorFlow's own ``GraphDef``...).

    Raises:
        TypeError: ``message`` is not a protobuf message of that type.
    """
    cls = getattr(load(), short_name)
    if isinstance(message, cls):
        return message
    descriptor = getattr(message, "DESCRIPTOR", None)
    name = getattr(descriptor, "full_name", None)
    if name is None or not hasattr(message, "SerializeToString") or \
            name.rpartition(".")[2] != short_name:
        raise TypeError("Expected a %s protocol buffer, got %s" % (short_name,
                                                                    type(message).__name__))
    return cls.FromString(message.SerializeToString())
