"""Device names as the notebook shows them: one canonical name per device, its task, a label.

A device can be written many ways: ``/cpu:0``, ``/device:CPU:0`` and
``/job:localhost/replica:0/task:0/device:CPU:0`` are one device of an in-process session.
Every view (graph colours, placement tables, timeline lanes, profiles) keys devices by
:func:`canonical_device`, so each device gets one colour and one legend entry, and groups
them by :func:`task_of` (``/job:worker/replica:0/task:1``), so a cluster session's devices
appear task by task.

Example:
    >>> canonical_device("/cpu:1")
    '/job:localhost/replica:0/task:0/device:CPU:1'
    >>> device_label("/job:worker/replica:0/task:1/device:CPU:0")
    'worker:1 CPU:0'
"""
import functools

from ..framework.device_spec import DeviceSpec

__all__ = ["canonical_device", "task_of", "device_label", "task_label", "device_sort_key",
           "request_satisfied", "device_colors", "LOCAL_TASK", "DEVICE_PALETTE"]

LOCAL_TASK = "/job:localhost/replica:0/task:0"

# Distinct, light enough for black text (ColorBrewer Set3 + Pastel1 re-ordered so that
# neighbours differ in hue): device i of a sorted list gets colour i.
DEVICE_PALETTE = ("#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69",
                  "#fccde5", "#ffed6f", "#bc80bd", "#ccebc5", "#ffffb3", "#d9d9d9",
                  "#decbe4", "#fed9a6", "#e5d8bd", "#b3cde3")


@functools.lru_cache(maxsize=4096)
def _spec(name):
    try:
        return DeviceSpec.from_string(name)
    except (ValueError, TypeError):
        return None


@functools.lru_cache(maxsize=4096)
def canonical_device(name):
    """The full name of a device: ``/job:J/replica:R/task:T/device:TYPE:N``.

    A name without job is a device of the in-process task (``/job:localhost/replica:0/task:0``);
    missing replica and task are 0. A partial request (no device type or index, e.g.
    ``/job:ps`` or ``/device:GPU:*``) names no single device and is returned in DeviceSpec's
    normal form; an unparsable string comes back unchanged; "" stays "".
    """
    if not name:
        return ""
    spec = _spec(name)
    if spec is None:
        return name
    if spec.device_type is None or spec.device_index is None:
        return spec.to_string()
    job = spec.job if spec.job is not None else "localhost"
    return "/job:%s/replica:%d/task:%d/device:%s:%d" % (
        job, spec.replica or 0, spec.task or 0, spec.device_type, spec.device_index)


def task_of(name):
    """The task a device belongs to (``/job:J/replica:R/task:T``), or "" if it names none."""
    full = canonical_device(name)
    head, sep, _ = full.partition("/device:")
    return head if sep and head.startswith("/job:") else ""


def task_label(task):
    """``/job:worker/replica:0/task:1`` -> ``worker:1`` ("" for the in-process task)."""
    spec = _spec(task) if task else None
    if spec is None or spec.job in (None, "localhost"):
        return ""
    replica = "" if not spec.replica else "r%d:" % spec.replica
    return "%s:%s%d" % (spec.job, replica, spec.task or 0)


def device_label(name):
    """A short label: ``CPU:1`` for an in-process device, ``worker:1 CPU:0`` for a task's."""
    full = canonical_device(name)
    spec = _spec(full) if full else None
    if spec is None or spec.device_type is None:
        return full or "(no device)"
    index = "*" if spec.device_index is None else str(spec.device_index)
    dev = "%s:%s" % (spec.device_type, index)
    task = task_label(task_of(full))
    return "%s %s" % (task, dev) if task else dev


def device_sort_key(name):
    """Orders devices task by task, CPUs before GPUs, by index (unparsable ones last)."""
    spec = _spec(canonical_device(name)) if name else None
    if spec is None:
        return (2, name or "", 0, "", "", 0)
    local = 0 if spec.job in (None, "localhost") else 1
    return (local, spec.job or "", (spec.replica or 0, spec.task or 0),
            spec.device_type or "", "", spec.device_index if spec.device_index is not None else -1)


def request_satisfied(requested, assigned):
    """Whether the device ``assigned`` satisfies the (partial) request ``requested``.

    An empty request is always satisfied; so is an unparsable one (nothing to compare).
    """
    if not requested:
        return True
    req, got = _spec(requested), _spec(canonical_device(assigned))
    if req is None or got is None:
        return True
    for field in ("job", "replica", "task", "device_type", "device_index"):
        want = getattr(req, field)
        have = getattr(got, field)
        if want is None:
            continue
        if field == "job" and want == "localhost" and have is None:
            continue
        if have != want:
            return False
    return True


def device_colors(names):
    """{canonical device: colour}, colours given in sorted device order (distinct up to 16)."""
    devices = sorted({canonical_device(n) for n in names if n}, key=device_sort_key)
    return {d: DEVICE_PALETTE[i % len(DEVICE_PALETTE)] for i, d in enumerate(devices)}
