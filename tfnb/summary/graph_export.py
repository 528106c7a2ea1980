"""tfnb graphs and step traces as TensorFlow protos, for TensorBoard.

* :func:`graph_def_proto` turns a tfnb ``Graph`` (or tfnb ``GraphDef``) into TF's
  ``GraphDef``: node names, op types, inputs (``"x"``, ``"x:1"``, ``"^ctrl"``), the
  device of each node, and attrs as ``AttrValue`` -- DTypes as ``DataType`` numbers,
  shapes as ``TensorShapeProto``, small constants as ``TensorProto`` -- plus TF's
  ``_output_shapes`` (edge labels) and ``_class: loc:@...`` (colocation). TensorBoard's
  Graphs dashboard draws it and can colour it by device.
* :func:`run_metadata_proto` turns the ``RunMetadata`` filled by a traced
  ``sess.run`` into TF's ``RunMetadata`` proto, which the dashboard's compute-time
  and memory views read.

Attrs with no ``AttrValue`` form (Python callables, dicts) are written as their
``repr`` string: the drawing is informative, never refused.
"""
import re

import numpy as np

from ..framework import dtypes as _dtypes
from ..framework.function import GraphFunction
from ..framework.graph import Graph
from ..framework.graph_io import GraphDef
from ..framework.tensor_shape import TensorShape
from . import protos

__all__ = ["graph_def_proto", "run_metadata_proto"]

# Larger constants are recorded by dtype and shape only; TensorBoard does not show big attrs.
MAX_CONSTANT_BYTES = 1024
_MAX_REPR = 256
_INT64 = (-(1 << 63), (1 << 63) - 1)
_MESSAGE_KINDS = ("shape", "tensor", "func")


# ----------------------------------------------------------------------------------------------
# Attr values
# ----------------------------------------------------------------------------------------------
def _kind(v):
    """Which ``AttrValue`` field holds ``v`` (None if none does)."""
    if isinstance(v, (bool, np.bool_)):
        return "b"
    if isinstance(v, (int, np.integer)):
        return "i" if _INT64[0] <= int(v) <= _INT64[1] else None
    if isinstance(v, (float, np.floating)):
        return "f"
    if isinstance(v, (str, bytes)):
        return "s"
    if isinstance(v, _dtypes.DType):
        return "type"
    if isinstance(v, TensorShape):
        return "shape"
    if isinstance(v, (np.ndarray, np.generic)):
        return "tensor"
    if isinstance(v, GraphFunction):
        return "func"
    return None


def _field_value(kind, v):
    if kind == "s":
        return v.encode("utf-8") if isinstance(v, str) else v
    if kind == "type":
        return v.as_datatype_enum
    if kind == "shape":
        return protos.shape_proto(v)
    if kind == "tensor":
        return protos.tensor_proto(v, MAX_CONSTANT_BYTES)
    if kind == "func":  # named only: tensorboardX's GraphDef has no function library
        return protos.load().attr_value_pb2.NameAttrList(name=v.name)
    return {"b": bool, "i": int, "f": float}[kind](v)


def attr_value(v):
    """``v`` as an ``AttrValue`` proto (None for a None attr)."""
    if v is None:
        return None
    av = protos.load().attr_value_pb2.AttrValue()
    kind = _kind(v)
    if kind in _MESSAGE_KINDS:
        getattr(av, kind).CopyFrom(_field_value(kind, v))
    elif kind is not None:
        setattr(av, kind, _field_value(kind, v))
    elif isinstance(v, (list, tuple)):
        kinds = {_kind(x) for x in v}
        if kinds == {"i", "f"}:
            kinds = {"f"}
        if len(kinds) > 1 or None in kinds:
            av.s = repr(v)[:_MAX_REPR].encode("utf-8")
        elif not kinds:
            av.list.SetInParent()
        else:
            kind, = kinds
            field = getattr(av.list, kind)
            items = [_field_value(kind, x) for x in v]
            if kind in _MESSAGE_KINDS:
                for item in items:
                    field.add().CopyFrom(item)
            else:
                field.extend(items)
    else:
        av.s = repr(v)[:_MAX_REPR].encode("utf-8")
    return av


# ----------------------------------------------------------------------------------------------
# GraphDef
# ----------------------------------------------------------------------------------------------
def _tensor_ref(t):
    return t.op.name if t.value_index == 0 else "%s:%d" % (t.op.name, t.value_index)


def _nodes_of_graph(graph):
    """(name, op, inputs, device, attrs, outputs, colocate_with) of each op, in creation order."""
    for op in graph.get_operations():
        inputs = [_tensor_ref(t) for t in op.inputs] + ["^" + c.name for c in op.control_inputs]
        coloc = op._colocation.name if op._colocation is not None else None
        yield (op.name, op.type, inputs, op.device, op._attrs,
               [(t.dtype, t.shape) for t in op.outputs], coloc)


def _nodes_of_graph_def(gd):
    for n in gd.node:
        yield n.name, n.op, n.input, n.device, n.attr, n.outputs, n.colocate_with


def graph_def_proto(graph):
    """TF's ``GraphDef`` proto of a tfnb graph, for TensorBoard's Graphs dashboard.

    Args:
        graph: a tfnb ``Graph`` or ``GraphDef``; a TF ``GraphDef`` proto (or its bytes)
            is passed through.

    Returns:
        a ``GraphDef`` proto (tensorboardX's class, wire-compatible with TF's).

    Raises:
        TypeError: ``graph`` is none of these.
    """
    pb = protos.load().graph_pb2
    if isinstance(graph, pb.GraphDef):
        return graph
    if isinstance(graph, bytes):
        return pb.GraphDef.FromString(graph)
    if isinstance(graph, Graph):
        nodes = _nodes_of_graph(graph)
    elif isinstance(graph, GraphDef):
        nodes = _nodes_of_graph_def(graph)
    else:
        raise TypeError("Expected a tfnb Graph or GraphDef, got %s" % type(graph).__name__)
    out = pb.GraphDef()
    for name, op_type, inputs, device, attrs, outputs, coloc in nodes:
        node = out.node.add(name=name, op=op_type, input=inputs, device=device or "")
        for key, value in attrs.items():
            av = attr_value(value)
            if av is not None:
                node.attr[key].CopyFrom(av)
        if outputs:
            shapes = node.attr["_output_shapes"].list.shape
            for _, shape in outputs:
                shapes.add().CopyFrom(protos.shape_proto(shape))
        if coloc:
            node.attr["_class"].list.s.append(("loc:@" + coloc).encode("utf-8"))
    return out


# ----------------------------------------------------------------------------------------------
# RunMetadata
# ----------------------------------------------------------------------------------------------
def _allocator(device):
    m = re.search(r"device:([A-Za-z_]+)", device or "")
    return m.group(1).lower() if m else "cpu"


def _node_stats_proto(dst, n, allocator):
    dst.node_name = n.node_name
    dst.all_start_micros = int(n.all_start_micros)
    dst.op_start_rel_micros = int(n.op_start_rel_micros)
    dst.op_end_rel_micros = int(n.op_end_rel_micros)
    dst.all_end_rel_micros = int(n.all_end_rel_micros)
    dst.scheduled_micros = int(n.scheduled_micros)
    dst.thread_id = int(n.thread_id) & 0xFFFFFFFF  # TF's field is uint32
    dst.timeline_label = n.timeline_label
    total = 0
    for o in n.output:
        desc = o.tensor_description
        out = dst.output.add(slot=int(o.slot))
        td = out.tensor_description
        td.dtype = protos.datatype_enum(desc.dtype)
        td.shape.CopyFrom(protos.shape_proto(desc.shape))  # set even for scalars: readers expect it
        td.allocation_description.requested_bytes = int(desc.requested_bytes)
        td.allocation_description.allocated_bytes = int(desc.requested_bytes)
        td.allocation_description.allocator_name = allocator
        total += int(desc.requested_bytes)
    dst.memory.add(allocator_name=allocator, total_bytes=total, peak_bytes=total)


def run_metadata_proto(run_metadata):
    """TF's ``RunMetadata`` proto of a tfnb ``tf.RunMetadata`` (step stats, partition graphs).

    Args:
        run_metadata: a ``tf.RunMetadata`` filled by ``sess.run(..., options=
            tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE), run_metadata=md)``.
            One without a trace gives an empty ``step_stats``.

    Returns:
        the proto; each op's outputs (dtype, shape, bytes) and a memory record summing them.
    """
    md = protos.load().RunMetadata()
    step_stats = getattr(run_metadata, "step_stats", None)
    md.step_stats.SetInParent()
    for dev in step_stats.dev_stats if step_stats is not None else ():
        d = md.step_stats.dev_stats.add(device=dev.device)
        allocator = _allocator(dev.device)
        for n in dev.node_stats:
            _node_stats_proto(d.node_stats.add(), n, allocator)
    for g in getattr(run_metadata, "partition_graphs", None) or ():
        md.partition_graphs.add().CopyFrom(graph_def_proto(g))
    return md
