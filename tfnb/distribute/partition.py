"""A plan's partition for one cluster task, written as data (``tfnb.Partition`` JSON).

The master places and partitions a step exactly as for local devices
(:func:`tfnb.runtime.plan.compile_plan`); a partition whose device is a task's is written here
as::

    {"format": "tfnb.Partition", "version": 1, "device": "/job:ps/replica:0/task:0/device:CPU:0",
     "graph": GraphDef,            # its ops in execution order (graph_io's JSON form)
     "feeds": [".feed.0", ...],    # Placeholders standing for the values the master feeds
     "fetches": ["mul:0", ...],    # tensors the task returns to the master
     "locations": {"mul": SITE, ...},             # creation sites, for error messages
     "function_locations": {FUNCTION NAME: {"op": SITE}}}  # ... of the ops of its functions

Cross-device edges are ``_Send``/``_Recv`` nodes (attrs ``key``, ``tensor_name``,
``send_device``/``recv_device``, ``recv_task``, ``recv_address``, ``fp16``), control edges are a
``_Send`` with no input and a ``_Recv`` its consumers take as a control input. Inputs
produced in another partition become the ``_Recv`` node's output; fed values become
Placeholders. Devices and colocations are dropped: placement is done.
"""
import hashlib
import json

from ..framework import dtypes, errors
from ..framework.graph_io import GraphDef, NodeDef, _LibraryWriter, _encode, node_to_dict
from ..framework.tensor_shape import TensorShape
from ..runtime.plan import TransferOp
from .task import PARTITION_FORMAT

__all__ = ["serialize_partition", "RemotePartition"]


class RemotePartition:
    """A partition ready to send: its bytes, content handle, and how to feed and read it.

    Attributes:
        device: the task's Device. address: its comm address. task: ``/job:J/replica:0/task:K``.
        data: the ``tfnb.Partition`` JSON bytes. handle: their SHA-256 (hex).
        feed_indices: which of the step's feeds the task needs, in its order.
        fetch_names: plan value names the task returns, in order.
        writes: whether it may write variables (so it keeps an undo journal).
        ops: its graph ops (for mapping a task's error back to the client's op).
    """

    __slots__ = ("device", "address", "task", "data", "handle", "feed_indices", "fetch_names",
                 "writes", "ops", "part")


def _ref(op_name, index):
    return op_name if index == 0 else "%s:%d" % (op_name, index)


def serialize_partition(part, plan):
    """The :class:`RemotePartition` for ``part`` (a Partition of ``plan`` on a task's device).

    Raises:
        UnimplementedError: an op of the partition cannot be written down (e.g. an attr holding
            a Python callable), naming the op.
    """
    dev = part.device
    nodes = []
    refs = {}        # plan value name -> "node:i" inside this partition
    ctrl_refs = {}   # client op name -> node a consumer takes as "^node" here
    feeds = {}       # feed index -> placeholder node name
    feed_tensors = plan.feed_tensors
    lib = _LibraryWriter(False)
    locations = {}
    counter = [0]

    def fresh(prefix):
        counter[0] += 1
        return ".%s.%d" % (prefix, counter[0])

    def ref(a):
        r = refs.get(a)
        if r is not None:
            return r
        if a.startswith("f"):
            j = int(a[1:])
            name = feeds.get(j)
            if name is None:
                t = feed_tensors[j]
                name = feeds[j] = ".feed.%d" % j
                nodes.append({"name": name, "op": "Placeholder", "input": [], "device": "",
                              "attr": {"dtype": _encode(t.dtype), "shape": _encode(t._shape)},
                              "outputs": [{"dtype": t.dtype.name,
                                           "shape": _encode(t._shape)["shape"]}]})
            return name
        if a.startswith("c"):  # a value folded on the master
            value = plan.env[a]
            name = fresh("const")
            nodes.append(_const_node(name, value))
            refs[a] = name
            return name
        raise errors.InternalError(None, None, "partition for %s uses value %s that nothing "
                                   "produces" % (dev.name, a))

    op_set = set(part.ops)
    for entry in part.body:
        op = entry[0]
        if isinstance(op, TransferOp):
            cast = bool(entry[4])
            if op.type == "_Recv":
                name = fresh("recv")
                if op.tensor is None:
                    dt, shape = dtypes.float32, TensorShape([0])
                    ctrl_refs[op.control_of.name] = name
                else:
                    dt, shape = op.tensor.dtype, op.tensor._shape
                    refs[entry[2][0]] = name
                attr = {"key": op.key, "dtype": _encode(dt), "shape": _encode(shape),
                        "fp16": cast, "tensor_name": op.tensor_name,
                        "send_device": op.peer, "recv_device": op.device}
                nodes.append({"name": name, "op": "_Recv", "input": [], "device": "",
                              "attr": attr, "outputs": [{"dtype": dt.name,
                                                         "shape": _encode(shape)["shape"]}]})
            else:
                peer = op.peer_device
                inputs = [ref(entry[3][1])] if op.tensor is not None else \
                    ["^" + op.control_of.name]
                attr = {"key": op.key, "fp16": cast, "tensor_name": op.tensor_name,
                        "send_device": op.device, "recv_device": op.peer,
                        "recv_task": peer.task_name, "recv_address": peer.address}
                nodes.append({"name": fresh("send"), "op": "_Send", "input": inputs, "device": "",
                              "attr": attr, "outputs": []})
            continue
        try:
            d = node_to_dict(op, False, lib)
        except TypeError as e:
            raise errors.UnimplementedError(
                None, op, "Operation %s (op %s) cannot run on task %s: %s" % (
                    op.name, op.type, dev.task_name, e)) from None
        inputs = [ref(a) for a in entry[3]]
        for c in op._control_inputs:
            if c.name in ctrl_refs:
                inputs.append("^" + ctrl_refs[c.name])
            elif c in op_set:
                inputs.append("^" + c.name)
        d["input"] = inputs
        d["device"] = ""
        d.pop("colocate_with", None)
        nodes.append(d)
        if op.location is not None:
            locations[op.name] = _location(op.location)
        for i, o in enumerate(entry[2]):
            if o != "_":
                refs[o] = _ref(op.name, i)
    function_locations = {}
    for f in list(lib._ids):
        locs = function_locations.setdefault(f.name, {})
        for fop in f._forward_ops():
            if fop.location is not None:
                locs[fop.name] = _location(fop.location)
    gd = GraphDef([NodeDef.from_dict(n) for n in nodes], library=lib.library)
    fetch_names = list(part.fetch_names)
    doc = {"format": PARTITION_FORMAT, "version": 1, "device": dev.name,
           "graph": gd.as_dict(), "feeds": [feeds[j] for j in sorted(feeds)],
           "fetches": [_tensor_name(refs[n]) for n in fetch_names], "locations": locations,
           "function_locations": function_locations}
    rp = RemotePartition()
    rp.device = dev
    rp.address = dev.address
    rp.task = dev.task_name
    rp.data = json.dumps(doc, separators=(",", ":"), allow_nan=False).encode("utf-8")
    rp.handle = hashlib.sha256(rp.data).hexdigest()
    rp.feed_indices = sorted(feeds)
    rp.fetch_names = fetch_names
    rp.writes = any(e[0]._op_def.side_effects for e in part.body
                    if not isinstance(e[0], TransferOp))
    rp.ops = part.ops
    rp.part = part
    return rp


def _location(loc):
    return loc.as_dict() if hasattr(loc, "as_dict") else str(loc)


def _tensor_name(ref):
    return ref if ":" in ref else ref + ":0"


def _const_node(name, value):
    import numpy as np
    arr = np.asarray(value)
    dt = dtypes.as_dtype(arr.dtype)
    return {"name": name, "op": "Const", "input": [], "device": "",
            "attr": {"value": _encode(arr), "dtype": _encode(dt)},
            "outputs": [{"dtype": dt.name, "shape": list(arr.shape)}]}
