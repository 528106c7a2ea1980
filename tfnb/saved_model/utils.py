"""``TensorInfo`` protos: how a signature names a tensor (TF1's ``tf.saved_model.utils``)."""
from ..framework import dtypes
from ..framework.graph import Tensor, get_default_graph
from ..io import protos

__all__ = ["build_tensor_info", "get_tensor_from_tensor_info"]


def build_tensor_info(tensor):
    """The ``TensorInfo`` of a Tensor: its name, dtype and (possibly partial) shape.

    Raises:
        TypeError: not a Tensor (sparse tensors are not supported).
    """
    if not isinstance(tensor, Tensor):
        raise TypeError("build_tensor_info takes a Tensor, got %s" % type(tensor).__name__)
    info = protos.load().TensorInfo(name=tensor.name, dtype=tensor.dtype.as_datatype_enum)
    dims = tensor.shape.as_tuple()
    if dims is None:
        info.tensor_shape.unknown_rank = True
    else:
        info.tensor_shape.SetInParent()
        for d in dims:
            info.tensor_shape.dim.add(size=-1 if d is None else int(d))
    return info


def get_tensor_from_tensor_info(tensor_info, graph=None, import_scope=None):
    """The Tensor a ``TensorInfo`` names in ``graph`` (default: the default graph).

    Raises:
        ValueError: the TensorInfo names no tensor (a sparse or composite one).
        KeyError: no such tensor in the graph.
    """
    kind = tensor_info.WhichOneof("encoding")
    if kind != "name":
        raise ValueError("TensorInfo encoding %r is not supported (dense tensors only)" % kind)
    graph = graph or get_default_graph()
    name = tensor_info.name
    if import_scope:
        name = import_scope.rstrip("/") + "/" + name
    t = graph.get_tensor_by_name(name)
    if tensor_info.dtype and dtypes.as_dtype(tensor_info.dtype) is not t.dtype:
        raise ValueError("TensorInfo %s has dtype %d but the graph's tensor is %s"
                         % (name, tensor_info.dtype, t.dtype.name))
    return t
