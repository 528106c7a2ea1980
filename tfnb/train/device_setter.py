"""``tf.train.replica_device_setter``: put parameters on ps tasks and compute on a worker.

Between-graph replication builds the same graph in every worker process; a device function
decides, op by op, where each node lives. Ops whose type holds state (variables, mutable hash
tables: :data:`STANDARD_PS_OPS`) go to ``ps_device`` with a task chosen by ``ps_strategy``
(round-robin by default; :class:`tfnb.contrib.training.GreedyLoadBalancingStrategy` balances
bytes); every other op goes to ``worker_device``. Fields the op already has from an enclosing
``tf.device`` take precedence (``merge_devices=True``), exactly as in TF1.

Op types: a TF1 ``tf.Variable`` is a ``VariableV2`` node while tfnb's is a resource variable
(``VarHandleOp``), so a ``ps_ops`` list naming ``Variable``/``VariableV2`` also matches
``VarHandleOp`` -- the list means "my variables" in either system.
"""
import hashlib
import logging

from ..framework.device_spec import DeviceSpec
from ..framework.tensor_shape import as_shape
from .server_lib import ClusterSpec

__all__ = ["replica_device_setter", "STANDARD_PS_OPS", "GreedyLoadBalancingStrategy",
           "RandomStrategy", "byte_size_load_fn"]

_log = logging.getLogger("tfnb.train")

# The state-holding op types TF1 places on ps tasks by default (its own list).
STANDARD_PS_OPS = ("Variable", "VariableV2", "AutoReloadVariable", "MutableHashTable",
                   "MutableHashTableV2", "MutableHashTableOfTensors",
                   "MutableHashTableOfTensorsV2", "MutableDenseHashTable",
                   "MutableDenseHashTableV2", "VarHandleOp")

# TF1 op types whose role tfnb fills with another op type.
_TFNB_OP_TYPES = {"Variable": "VarHandleOp", "VariableV2": "VarHandleOp",
                  "AutoReloadVariable": "VarHandleOp"}


class _RoundRobinStrategy:
    """Cycles through ps tasks 0, 1, ..., num_tasks - 1, 0, ... one op at a time."""

    def __init__(self, num_tasks):
        self._num_tasks = num_tasks
        self._next_task = 0

    def __call__(self, unused_op):
        task = self._next_task
        self._next_task = (task + 1) % self._num_tasks
        return task


def _op_type(op):
    """The op type of an Operation, or of a NodeDef-like object (``.op`` is the type)."""
    op_type = getattr(op, "type", None)
    if isinstance(op_type, str):
        return op_type
    op_type = getattr(op, "op", None)
    return op_type if isinstance(op_type, str) else None


class _ReplicaDeviceChooser:
    """The device function :func:`replica_device_setter` returns (as a bound method)."""

    def __init__(self, ps_tasks, ps_device, worker_device, merge_devices, ps_ops, ps_strategy):
        self._ps_tasks = ps_tasks
        self._ps_device = ps_device
        self._worker_device = worker_device
        self._merge_devices = merge_devices
        self._ps_ops = frozenset(ps_ops) | {_TFNB_OP_TYPES[t] for t in ps_ops
                                            if t in _TFNB_OP_TYPES}
        self._ps_strategy = ps_strategy

    def device_function(self, op):
        """The device string for ``op``, given the device it already has (``op.device``)."""
        # merge_devices=False: an op that already has a device keeps it untouched.
        if not self._merge_devices and op.device:
            return op.device
        current = DeviceSpec.from_string(op.device or "")
        if self._ps_tasks and self._ps_device and _op_type(op) in self._ps_ops:
            ps = DeviceSpec.from_string(self._ps_device)
            # Only ask the strategy when the task it picks can survive the merge: the op has
            # no job of its own, or the same job as ps_device.
            if ps.job and (not current.job or current.job == ps.job):
                ps.task = self._ps_strategy(op)
            ps.merge_from(current)
            return ps.to_string()
        worker = DeviceSpec.from_string(self._worker_device or "")
        worker.merge_from(current)
        return worker.to_string()


def replica_device_setter(ps_tasks=0, ps_device="/job:ps", worker_device="/job:worker",
                          merge_devices=True, cluster=None, ps_ops=None, ps_strategy=None):
    """A device function for ``tf.device`` that places parameters on ps tasks.

    Example:
        >>> cluster = {"ps": ["ps0:2222", "ps1:2222"], "worker": ["w0:2222"]}
        >>> with tf.device(tf.train.replica_device_setter(cluster=cluster)):
        ...     v1 = tf.Variable(1.0)   # /job:ps/task:0
        ...     v2 = tf.Variable(2.0)   # /job:ps/task:1
        ...     y = v1 * v2             # /job:worker

    Args:
        ps_tasks: number of ps tasks; ignored when ``cluster`` is given.
        ps_device: device of the ps job (its ``job`` gets the chosen task); '' for no ps.
        worker_device: device of every op that is not a ps op; '' for none.
        merge_devices: if True, fields an op already has win over these; if False, an op
            that already has any device keeps it unchanged (TF1 deprecates False).
        cluster: a ``ClusterSpec``, a dict accepted by it, or a ``ClusterDef``; the number of
            ps tasks is the size of ``ps_device``'s job in it.
        ps_ops: op types that go to ps (default :data:`STANDARD_PS_OPS`).
        ps_strategy: callable ``op -> ps task index`` (default: round-robin).

    Returns:
        The device function, or None (no placement at all) when there are no ps tasks or the
        cluster has no job named by ``ps_device``.

    Raises:
        TypeError: ``cluster`` is not a valid cluster description, or ``ps_strategy`` is not
            callable.
    """
    if cluster is not None:
        spec = cluster if isinstance(cluster, ClusterSpec) else ClusterSpec(cluster)
        ps_job = DeviceSpec.from_string(ps_device).job
        if ps_job not in spec.jobs:
            return None
        ps_tasks = spec.num_tasks(ps_job)
    if ps_tasks == 0:
        return None
    if ps_ops is None:
        ps_ops = list(STANDARD_PS_OPS)
    if not merge_devices:
        _log.warning("DEPRECATION: It is recommended to set merge_devices=true in "
                     "replica_device_setter")
    if ps_strategy is None:
        ps_strategy = _RoundRobinStrategy(ps_tasks)
    if not callable(ps_strategy):
        raise TypeError("ps_strategy must be callable")
    return _ReplicaDeviceChooser(ps_tasks, ps_device, worker_device, merge_devices, ps_ops,
                                 ps_strategy).device_function


# --- ps strategies (TF1: tf.contrib.training) ---------------------------------------------------
class GreedyLoadBalancingStrategy:
    """Places each ps op on the ps task with the least load so far.

    The load of an op is ``load_fn(op)`` in any consistent unit, e.g. :func:`byte_size_load_fn`
    (bytes of the variable). The result depends on the order ops are created in: each op goes
    greedily to the least-loaded task at that moment (ties to the lowest index).

    Example:
        >>> strategy = GreedyLoadBalancingStrategy(2, byte_size_load_fn)
        >>> setter = tf.train.replica_device_setter(ps_tasks=2, ps_strategy=strategy)

    Args:
        num_tasks: number of ps tasks.
        load_fn: callable ``op -> number``.
    """

    def __init__(self, num_tasks, load_fn):
        self._num_tasks = num_tasks
        self._load_fn = load_fn
        self._ps_loads = [0.0] * num_tasks

    def __call__(self, op):
        task = min(range(self._num_tasks), key=self._ps_loads.__getitem__)
        self._ps_loads[task] += self._load_fn(op)
        return task


class RandomStrategy:
    """Places each ps op on a task chosen by a hash of its name and ``seed`` (deterministic
    across runs and processes, unlike Python's ``hash``)."""

    def __init__(self, num_ps_tasks, seed=0):
        self._num_tasks = num_ps_tasks
        self._seed = seed

    def __call__(self, op):
        key = ("%s_%d" % (op.name, self._seed)).encode("utf-8")
        return int(hashlib.md5(key).hexdigest(), 16) % self._num_tasks


def byte_size_load_fn(op):
    """Bytes of the value a single-output op (typically a variable) holds.

    For a variable op (tfnb's ``VarHandleOp``, whose output is a handle) this is the size of
    the variable it holds, from its ``dtype`` and ``shape`` attributes; for any other op, the
    size of its single output.

    Raises:
        ValueError: the op has not exactly one output, or its shape is not fully defined.
    """
    if _op_type(op) == "VarHandleOp":
        dtype, shape = op.get_attr("dtype"), as_shape(op.get_attr("shape"))
    else:
        outputs = op.outputs
        if not outputs and getattr(op, "op_def", None) is not None:
            # A device function sees the op before its outputs exist: ask its shape rule.
            outputs = op.op_def.infer(op)
            if len(outputs) != 1:
                raise ValueError("Op %s must have a single output" % op.name)
            dtype, shape = outputs[0][0], as_shape(outputs[0][1])
        elif len(outputs) != 1:
            raise ValueError("Op %s must have a single output" % op.name)
        else:
            dtype, shape = outputs[0].dtype, outputs[0].shape
    if not shape.is_fully_defined():
        raise ValueError("Op %s: the shape %s of its value is not fully defined, so its byte "
                         "size is unknown" % (op.name, shape))
    return shape.num_elements() * dtype.size
