"""Step traces: what ran where and when, in TF1's ``StepStats`` shape.

``sess.run(..., options=RunOptions(trace_level=FULL_TRACE), run_metadata=md)`` fills
``md.step_stats`` with one :class:`DeviceStepStats` per device, each holding a
:class:`NodeExecStats` per executed op (start/end in microseconds since the epoch,
thread, and the dtype/shape/bytes of each output). ``tfnb.client.timeline`` turns it
into a Chrome/Perfetto trace; the notebook layer draws it.
"""

__all__ = ["StepStats", "DeviceStepStats", "NodeExecStats", "NodeOutput", "TensorDescription"]


class TensorDescription:
    __slots__ = ("dtype", "shape", "requested_bytes")

    def __init__(self, dtype, shape, requested_bytes):
        self.dtype = dtype
        self.shape = tuple(shape)
        self.requested_bytes = requested_bytes

    def as_dict(self):
        return {"dtype": self.dtype, "shape": list(self.shape), "bytes": self.requested_bytes}


class NodeOutput:
    __slots__ = ("slot", "tensor_description")

    def __init__(self, slot, tensor_description):
        self.slot = slot
        self.tensor_description = tensor_description


class NodeExecStats:
    """One op's execution: ``all_start_micros`` (epoch µs) and offsets relative to it."""

    __slots__ = ("node_name", "op_type", "all_start_micros", "op_start_rel_micros",
                 "op_end_rel_micros", "all_end_rel_micros", "thread_id", "timeline_label",
                 "output", "scheduled_micros")

    def __init__(self, node_name, op_type, start_us, end_us, thread_id, outputs, label=""):
        self.node_name = node_name
        self.op_type = op_type
        self.all_start_micros = start_us
        self.op_start_rel_micros = 0
        self.op_end_rel_micros = end_us - start_us
        self.all_end_rel_micros = end_us - start_us
        self.thread_id = thread_id
        self.timeline_label = label or "%s = %s()" % (node_name, op_type)
        self.output = outputs
        self.scheduled_micros = start_us

    def as_dict(self):
        return {"node_name": self.node_name, "op": self.op_type, "start_us": self.all_start_micros,
                "duration_us": self.all_end_rel_micros, "thread_id": self.thread_id,
                "outputs": [o.tensor_description.as_dict() for o in self.output]}


class DeviceStepStats:
    __slots__ = ("device", "node_stats")

    def __init__(self, device, node_stats=None):
        self.device = device
        self.node_stats = list(node_stats or [])


class StepStats:
    __slots__ = ("dev_stats",)

    def __init__(self, dev_stats=None):
        self.dev_stats = list(dev_stats or [])

    def as_dict(self):
        return {"dev_stats": [{"device": d.device, "node_stats": [n.as_dict() for n in d.node_stats]}
                              for d in self.dev_stats]}
