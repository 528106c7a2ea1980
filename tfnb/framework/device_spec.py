"""Device names: ``/job:NAME/replica:R/task:T/device:TYPE:N`` and short forms like ``/cpu:0``.

A :class:`DeviceSpec` holds five optional fields. A missing field means "any": ``/job:ps``
is every device of every ps task, ``/task:1`` a task of whatever job an enclosing scope says.
``merge_from`` lets the fields set by one spec override another's, which is how nested
``tf.device`` scopes and device functions (``tf.train.replica_device_setter``) combine.

Parsing follows TF1's ``DeviceSpec.from_string``: components separated by ``/``, each
``job:NAME``, ``replica:R``, ``task:T``, ``device:TYPE:N`` (``N`` may be ``*``) or the
shorthand ``cpu:N`` / ``gpu:N`` (any case, index optional). Differences, all stricter or
additive: job names must be usable in a device string (a letter, then letters, digits or
``_``; TF1's C++ side rejects the others later), replica/task must be integers >= 0, and
``TYPE:N`` shorthands other than cpu/gpu (``/tpu:0``) are read as a device type, so a request
for a device that does not exist fails at placement with the op's name rather than here.
"""
import re

__all__ = ["DeviceSpec", "canonical_device", "merge_device"]

_FIELDS = ("job", "replica", "task", "device_type", "device_index")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_INDEX = re.compile(r"[0-9]+\Z")
_RESERVED = ("job", "replica", "task", "device")


def _as_job(job):
    if job is None:
        return None
    job = str(job)
    if not _NAME.match(job):
        raise ValueError("Malformed job name %r: it must start with a letter and hold only "
                         "letters, digits and '_'" % job)
    return job


def _as_index(value, what):
    if value is None:
        return None
    if isinstance(value, str):
        if not _INDEX.match(value):
            raise ValueError("Malformed %s %r: expected an integer >= 0" % (what, value))
        return int(value)
    value = int(value)
    if value < 0:
        raise ValueError("Malformed %s %r: expected an integer >= 0" % (what, value))
    return value


def _as_device_type(device_type):
    if device_type is None:
        return None
    device_type = str(device_type)
    if not _NAME.match(device_type):
        raise ValueError("Malformed device type %r" % device_type)
    # TF1 upper-cases the historical lower-case spellings only.
    return device_type.upper() if device_type in ("cpu", "gpu") else device_type


class DeviceSpec:
    """A (possibly partial) device constraint; TF1's mutable ``tf.DeviceSpec``.

    Example:
        >>> DeviceSpec.from_string("/job:ps/task:1/gpu:0").to_string()
        '/job:ps/task:1/device:GPU:0'
        >>> outer = DeviceSpec.from_string("/job:worker/task:1")
        >>> outer.merge_from(DeviceSpec(device_type="CPU", device_index=0))
        >>> str(outer)
        '/job:worker/task:1/device:CPU:0'

    Args:
        job: job name, e.g. ``"ps"``.
        replica: replica index.
        task: task index within the job.
        device_type: ``"CPU"``, ``"GPU"``...
        device_index: index of the device of that type; None means any.

    Raises:
        ValueError: a malformed field (job name, negative or non-integer index).
    """

    __slots__ = ("_job", "_replica", "_task", "_device_type", "_device_index")

    def __init__(self, job=None, replica=None, task=None, device_type=None, device_index=None):
        self.job = job
        self.replica = replica
        self.task = task
        self.device_type = device_type
        self.device_index = device_index

    # --- fields (setters normalise as TF1's DeviceSpecV1 does) ---
    @property
    def job(self):
        return self._job

    @job.setter
    def job(self, value):
        self._job = _as_job(value)

    @property
    def replica(self):
        return self._replica

    @replica.setter
    def replica(self, value):
        self._replica = _as_index(value, "replica")

    @property
    def task(self):
        return self._task

    @task.setter
    def task(self, value):
        self._task = _as_index(value, "task")

    @property
    def device_type(self):
        return self._device_type

    @device_type.setter
    def device_type(self, value):
        self._device_type = _as_device_type(value)

    @property
    def device_index(self):
        return self._device_index

    @device_index.setter
    def device_index(self, value):
        self._device_index = _as_index(value, "device index")

    # --- parsing and printing ---
    @classmethod
    def from_string(cls, spec):
        """A new spec parsed from ``spec`` (a string, a DeviceSpec, or None for no constraint)."""
        return cls().parse_from_string(spec)

    def parse_from_string(self, spec):
        """Parses ``spec`` into this object (fields absent from it become None); returns self.

        Raises:
            ValueError: an unknown component, two device types, or a malformed value.
        """
        if isinstance(spec, DeviceSpec):
            values = tuple(getattr(spec, f) for f in _FIELDS)
        else:
            values = _parse(spec)
        for f, v in zip(_FIELDS, values):
            setattr(self, f, v)
        return self

    def to_string(self):
        """``/job:J/replica:R/task:T/device:TYPE:N`` with the unset fields left out."""
        out = []
        if self._job is not None:
            out.append("/job:" + self._job)
        if self._replica is not None:
            out.append("/replica:%d" % self._replica)
        if self._task is not None:
            out.append("/task:%d" % self._task)
        if self._device_type is not None:
            index = "*" if self._device_index is None else str(self._device_index)
            out.append("/device:%s:%s" % (self._device_type, index))
        return "".join(out)

    __str__ = to_string

    # --- combining ---
    def merge_from(self, dev):
        """Sets each field that ``dev`` (a DeviceSpec or a device string) sets; keeps the rest."""
        dev = dev if isinstance(dev, DeviceSpec) else DeviceSpec.from_string(dev)
        for f in _FIELDS:
            v = getattr(dev, f)
            if v is not None:
                setattr(self, f, v)

    def make_merged_spec(self, dev):
        """A new spec: this one with the fields that ``dev`` sets taking precedence."""
        merged = self.replace()
        merged.merge_from(dev)
        return merged

    def replace(self, **kwargs):
        """A new spec with the given fields replaced (``None`` clears one)."""
        fields = {f: getattr(self, f) for f in _FIELDS}
        fields.update(kwargs)
        return DeviceSpec(**fields)

    def __eq__(self, other):
        return isinstance(other, DeviceSpec) and self.to_string() == other.to_string()

    def __hash__(self):
        return hash(self.to_string())

    def __repr__(self):
        return "DeviceSpec(%r)" % self.to_string()


def _parse(spec):
    """(job, replica, task, device_type, device_index) of a device string, as raw values."""
    job = replica = task = device_type = device_index = None
    if spec is None:
        return job, replica, task, device_type, device_index
    if isinstance(spec, bytes):
        spec = spec.decode("utf-8")
    if not isinstance(spec, str):
        raise TypeError("A device must be a string or a DeviceSpec, got %r" % (spec,))
    for part in spec.split("/"):
        if not part:
            continue
        y = part.split(":")
        key = y[0]
        is_type = None
        if len(y) == 2 and key in ("job", "replica", "task"):
            if key == "job":
                job = y[1]
            elif key == "replica":
                replica = y[1]
            else:
                task = y[1]
        elif len(y) in (1, 2) and key.upper() in ("CPU", "GPU"):
            is_type = (key.upper(), y[1] if len(y) == 2 else "*")
        elif len(y) == 3 and key == "device":
            is_type = (y[1], y[2])
        elif len(y) == 2 and _NAME.match(key) and key.lower() not in _RESERVED \
                and (y[1] == "*" or _INDEX.match(y[1])):
            is_type = (key.upper(), y[1])  # tfnb: "/tpu:0" -> a TPU request placement rejects
        else:
            raise ValueError("Unknown attribute: '%s' in '%s'" % (key, spec))
        if is_type is not None:
            if device_type is not None:
                raise ValueError("Cannot specify multiple device types: %s" % spec)
            device_type = is_type[0]
            device_index = None if is_type[1] == "*" else is_type[1]
    try:
        DeviceSpec(job, replica, task, device_type, device_index)
    except ValueError as e:
        raise ValueError("%s in device %r" % (e, spec)) from None
    return job, replica, task, device_type, device_index


def canonical_device(spec):
    """Normalizes a device string (``/gpu:0`` -> ``/device:GPU:0``); '' for no constraint."""
    if not spec:
        return ""
    return DeviceSpec.from_string(spec).to_string()


def merge_device(outer, inner):
    """How a nested ``tf.device(inner)`` combines with the enclosing ``outer`` string."""
    if not outer:
        return canonical_device(inner)
    if not inner:
        return outer
    return DeviceSpec.from_string(outer).make_merged_spec(inner).to_string()
