"""Placement: which device runs each op of a plan.

Hard constraints first, then a cost model:

1. **Requests.** ``op.device`` (from ``tf.device`` scopes) is parsed into a partial
   DeviceSpec; the candidates are the session's devices matching it. A request no device
   matches is an error (``InvalidArgumentError`` naming the op and the request), unless
   ``allow_soft_placement``, which widens the request and says so in the reason.
2. **Colocation groups** (union-find): an op with ``tf.colocate_with``, and every op that
   takes a ``resource`` input (variable reads, assigns, optimizer updates) with the op that
   produced the handle -- a variable lives on one device. A group's candidates are the
   intersection of its members'; an empty intersection is an error naming two members.
3. **Kernel availability**: ops whose ``OpDef.device_types`` excludes a device type are
   not placed there (soft placement falls back to a device that has the kernel).
4. **Cost model** for what is left, a HEFT-like list scheduler over ops in topological
   order: an op's time on a device is ``launch + max(flops / rate, bytes / bandwidth)``
   (FLOPs for MatMul/Conv2D/BatchMatMul from static shapes, bytes of inputs and outputs
   otherwise; unknown dimensions count as ``UNKNOWN_DIM``); moving an input between
   devices costs ``latency + bytes / link bandwidth``. Each op goes to the candidate where
   its estimated finish time -- max(device free, inputs arrived) + time -- is earliest.
   A colocation group is placed by its first op and the rest follow.

The result is computed once per plan and kept with it (``Session.placement()``).
"""
from ..framework import errors
from ..framework.device_spec import DeviceSpec
from .devices import LINK_GBPS, LINK_LATENCY_US, NETWORK_GBPS, NETWORK_LATENCY_US

__all__ = ["place", "Placement", "estimate_op_us", "validate_requests"]

UNKNOWN_DIM = 32  # batch-like dimensions the graph leaves open


class Placement:
    """The assignment of a plan's ops to devices, with the reason and estimated cost of each."""

    def __init__(self):
        self.assignment = {}  # Operation -> Device
        self.records = []

    def device_of(self, op):
        return self.assignment[op]

    @property
    def devices(self):
        seen = []
        for d in self.assignment.values():
            if d not in seen:
                seen.append(d)
        return seen

    def table(self):
        """Rows {op, type, requested, assigned, reason, est_us} (for display and tests)."""
        return list(self.records)


def _dims(shape):
    d = shape.as_tuple()
    if d is None:
        return (UNKNOWN_DIM,)
    return tuple(UNKNOWN_DIM if x is None else x for x in d)


def _nbytes(t):
    n = 1
    for x in _dims(t.shape):
        n *= x
    try:
        return n * max(t.dtype.size, 1)
    except (TypeError, AttributeError):
        return n * 4


def _flops(op):
    t = op.type
    if t in ("MatMul", "BatchMatMul"):
        a = _dims(op.inputs[0].shape)
        out = _dims(op.outputs[0].shape)
        k = a[-1] if not op.get_attr("transpose_a" if t == "MatMul" else "adj_x") else a[-2]
        n = 1
        for x in out:
            n *= x
        return 2.0 * n * k
    if t in ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "DepthwiseConv2dNative"):
        f = _dims(op.inputs[1].shape)
        out = _dims(op.outputs[0].shape)
        n = 1
        for x in out:
            n *= x
        per = 1
        for x in f[:-1]:
            per *= x
        return 2.0 * n * per
    return 0.0


def estimate_op_us(op, device):
    """Estimated microseconds ``op`` takes on ``device`` (see the module docstring)."""
    moved = sum(_nbytes(t) for t in op.outputs) + sum(_nbytes(t) for t in op.inputs
                                                        if t.dtype.name != "resource")
    compute = _flops(op) / (device.gflops * 1e3)
    memory = moved / (device.gbps * 1e3)
    return device.launch_us + max(compute, memory)


def transfer_us(tensor, src, dst):
    if src is dst:
        return 0.0
    if src.task_name != dst.task_name:  # two cluster tasks: over the network
        return NETWORK_LATENCY_US + _nbytes(tensor) / (NETWORK_GBPS * 1e3)
    key = (src.device_type, dst.device_type)
    return LINK_LATENCY_US[key] + _nbytes(tensor) / (LINK_GBPS[key] * 1e3)


class _Groups:
    def __init__(self, ops):
        self.parent = {op: op for op in ops}

    def find(self, op):
        p = self.parent
        while p[op] is not op:
            p[op] = p[p[op]]
            op = p[op]
        return op

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra is not rb:
            if ra._id < rb._id:
                self.parent[rb] = ra
            else:
                self.parent[ra] = rb


def _requested(op, default=None):
    """The op's device request as a DeviceSpec (None: no constraint).

    With ``default`` (the session's own task in a cluster session) a request that names no
    job is completed as TF1 does: it runs on the session's task (job, replica and task taken
    from ``default`` where the request leaves them open); no request at all means that task.
    """
    spec = DeviceSpec.from_string(op.device) if op.device else None
    if default is None:
        return spec
    if spec is None:
        return DeviceSpec(default.job, default.replica, default.task)
    if spec.job is None:
        return DeviceSpec(default.job, default.replica if spec.replica is None else spec.replica,
                          default.task if spec.task is None else spec.task, spec.device_type,
                          spec.device_index)
    return spec


def _no_device_error(op, devices):
    return errors.InvalidArgumentError(
        None, op, "Cannot assign a device for operation %s (op %s): could not satisfy explicit "
        "device specification %r because no device of this session matches it (available: %s)%s"
        % (op.name, op.type, op.device, ", ".join(d.short_name for d in devices), _where(op)))


def _first_task(devices, spec):
    """TF1 assigns an op whose request leaves the task open to the first matching task."""
    if spec is None or spec.job is None or spec.task is not None or len(devices) < 2:
        return devices
    first = min((d.replica, d.task) for d in devices)
    return [d for d in devices if (d.replica, d.task) == first]


def validate_requests(ops, device, allow_soft_placement=False):
    """Checks the device requests of ``ops`` against a one-device session's ``device``.

    A one-device session places nothing, but a request it cannot satisfy is still an error
    (TF1), also for ops that constant folding removes. Soft placement lets a request for another
    device type or index run on ``device``, never one for another job or task.

    Raises:
        InvalidArgumentError: naming the op and its request.
    """
    seen = {}
    for op in ops:
        request = op._device
        if not request:
            continue
        ok = seen.get(request)
        if ok is None:
            spec = DeviceSpec.from_string(request)
            ok = seen[request] = (device.matches(spec), device.matches_task(spec))
        if not ok[0] and not (allow_soft_placement and ok[1]):
            raise _no_device_error(op, [device])


def place(ops, devices, allow_soft_placement=False, log_device_placement=False, log=None,
          default_task=None):
    """Assigns each of ``ops`` (topologically ordered) to one of ``devices``.

    Args:
        default_task: in a cluster session, a DeviceSpec of the session's own task: requests
            without a job are completed with it (see :func:`_requested`), and a request naming a
            job but no task goes to that job's first task (TF1), so every client places a
            variable on the same task.

    Raises:
        InvalidArgumentError: a request or colocation no device satisfies (without soft
            placement; soft placement relaxes the device type and index, never the job or
            task), naming the op and the constraint.
    """
    pl = Placement()
    members = set(ops)
    groups = _Groups(ops)
    for op in ops:
        if op._colocation is not None and op._colocation in members:
            groups.union(op, op._colocation)
        if op._op_def.name in ("Call", "While", "If", "CallGrad", "WhileGrad", "IfGrad") and \
                default_task is None:
            continue  # a function may read variables on other devices: handles travel
        # (not between cluster tasks: a function runs where the variables it uses live)
        for t in op._inputs:
            if t._op in members and (t.dtype.name == "resource" or (
                    default_task is not None and t.dtype.name == "variant")):
                groups.union(op, t._op)  # (a variant -- a function's stash -- never leaves
                #                           its process either)
    # Candidates per op, then per group.
    soft_notes = {}
    cands = {}
    for op in ops:
        spec = _requested(op, default_task)
        types = op._op_def.device_types
        ok = [d for d in devices if (spec is None or d.matches(spec)) and
              (types is None or d.device_type in types)]
        if not ok:
            if spec is not None and not any(d.matches_task(spec) for d in devices):
                raise _no_device_error(op, devices)  # an unknown job/task: soft or not
            if spec is not None and not allow_soft_placement:
                matching = [d for d in devices if d.matches(spec)]
                if matching:  # the requested device exists, but the op has no kernel there
                    raise errors.InvalidArgumentError(
                        None, op, "Cannot assign a device for operation %s (op %s): no kernel for "
                        "device type %s is registered (kernels: %s); requested %r%s"
                        % (op.name, op.type, matching[0].device_type, ", ".join(types),
                           op.device, _where(op)))
                raise _no_device_error(op, devices)
            ok = [d for d in devices if (types is None or d.device_type in types) and
                  (spec is None or d.matches_task(spec))]
            if not ok:
                raise _no_device_error(op, devices)
            if spec is not None:
                soft_notes[op] = "soft placement: %r is not available" % op.device
        cands[op] = _first_task(ok, spec) if default_task is not None else ok
    # A group's binding constraints come from its anchors -- the ops that own a resource
    # (variable handles) and explicit tf.colocate_with targets. Other members follow the
    # group: their own device requests yield (the reason says so), as TF1's colocation does.
    anchors = {}
    for op in ops:
        target = op._colocation
        if target is not None:
            if target not in cands:  # a colocation target outside this plan still binds
                spec = _requested(target, default_task)
                cands[target] = [d for d in devices if spec is None or d.matches(spec)]
                if default_task is not None:
                    cands[target] = _first_task(cands[target], spec)
            anchors.setdefault(groups.find(op), set()).add(target)
        if any(t.dtype.name == "resource" for t in op._outputs):
            anchors.setdefault(groups.find(op), set()).add(op)
    group_cands = {}
    for root, anchor_set in anchors.items():
        ordered = sorted(anchor_set, key=lambda o: o._id)
        inter, first = list(cands[ordered[0]]), ordered[0]
        for a in ordered[1:]:
            nxt = [d for d in inter if d in cands[a]]
            if not nxt:
                if not allow_soft_placement:
                    raise errors.InvalidArgumentError(
                        None, a, "Cannot colocate nodes %s and %s: %s requests %r and %s requests "
                        "%r, and both must run on one device (a resource and its users, or "
                        "tf.colocate_with)%s" % (first.name, a.name, first.name,
                                                 first.device or "any device", a.name,
                                                 a.device or "any device", _where(a)))
                soft_notes[a] = "soft placement: colocation with %s overrides %r" % (first.name,
                                                                                      a.device)
                continue
            inter = nxt
        group_cands[root] = (inter, first)
    # In a cluster session an op that names no job only defaults to the session's task: in a
    # group it follows the members that do name one.
    weak = {op for op in ops if default_task is not None and
            (not op.device or DeviceSpec.from_string(op.device).job is None)}
    strong_group = set()
    for op in ops:
        root = groups.find(op)
        if root not in group_cands:  # no anchor: the members' requests all bind
            group_cands[root] = (list(cands[op]), op)
            if op not in weak:
                strong_group.add(root)
            continue
        options, leader = group_cands[root]
        if op is not leader and op not in anchors.get(root, ()) and op.device and \
                not any(d in cands[op] for d in options):
            soft_notes[op] = "request %r yields to colocation with %s" % (op.device, leader.name)
        if root not in anchors:
            inter = [d for d in options if d in cands[op]]
            if not inter and op in weak:
                inter = options
            elif not inter and root not in strong_group and op not in weak:
                inter, leader = list(cands[op]), op
            if op not in weak:
                strong_group.add(root)
            if not inter:
                if not allow_soft_placement:
                    raise errors.InvalidArgumentError(
                        None, op, "Cannot colocate nodes %s and %s: no device satisfies both "
                        "%r and %r%s" % (leader.name, op.name, leader.device, op.device,
                                         _where(op)))
                inter = options
            group_cands[root] = (inter, leader)
    # List scheduling.
    free_at = {d: 0.0 for d in devices}
    finish = {}
    group_dev = {}
    for op in ops:
        root = groups.find(op)
        options, leader = group_cands[root]
        if root in group_dev:
            dev = group_dev[root]
            reason = "colocated with %s" % leader.name if leader is not op else "group"
        else:
            best = None
            for d in options:
                ready = free_at[d]
                for t in op._inputs:
                    src = pl.assignment.get(t._op)
                    if src is not None:
                        ready = max(ready, finish[t._op] + transfer_us(t, src, d))
                eft = ready + estimate_op_us(op, d)
                if best is None or eft < best[0] - 1e-9:
                    best = (eft, d)
            dev = best[1]
            group_dev[root] = dev
            if len(options) == 1:
                reason = "requested %r" % op.device if op.device else (
                    "only device" if len(devices) == 1 else
                    "the session's own task (no request)" if default_task is not None else
                    "colocation/kernel constraint")
                if leader is not op:
                    reason = "colocated with %s" % leader.name
            else:
                reason = "cost model: earliest finish among %d devices" % len(options)
        if op in soft_notes:
            reason = soft_notes[op] + "; " + reason
        cost = estimate_op_us(op, dev)
        start = free_at[dev]
        for t in op._inputs:
            src = pl.assignment.get(t._op)
            if src is not None:
                start = max(start, finish[t._op] + transfer_us(t, src, dev))
        finish[op] = start + cost
        free_at[dev] = finish[op]
        pl.assignment[op] = dev
        pl.records.append({"op": op.name, "type": op.type, "requested": op.device or "",
                           "assigned": dev.name, "reason": reason, "est_us": round(cost, 3)})
        if log_device_placement and log is not None:
            log("%s: (%s): %s [%s]" % (op.name, op.type, dev.name, reason))
    return pl


def _where(op):
    return " (created at %s)" % op.location if op.location is not None else ""
