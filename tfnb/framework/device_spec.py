"""Device names: ``/job:NAME/replica:R/task:T/device:TYPE:N`` and short forms like ``/cpu:0``.

A :class:`DeviceSpec` holds the five optional fields. ``merge_from`` lets the
fields of an inner ``tf.device`` override the outer ones, which is how nested
device scopes combine in TF1.
"""
import re

__all__ = ["DeviceSpec", "canonical_device"]

_FIELDS = ("job", "replica", "task", "device_type", "device_index")


class DeviceSpec:
    """A (possibly partial) device constraint.

    Example:
        >>> DeviceSpec.from_string("/job:ps/task:1/gpu:0").to_string()
        '/job:ps/task:1/device:GPU:0'
    """

    __slots__ = _FIELDS

    def __init__(self, job=None, replica=None, task=None, device_type=None, device_index=None):
        self.job = job
        self.replica = None if replica is None else int(replica)
        self.task = None if task is None else int(task)
        self.device_type = None if device_type is None else str(device_type).upper()
        self.device_index = None if device_index is None else int(device_index)

    @classmethod
    def from_string(cls, spec):
        return cls().parse_from_string(spec)

    def parse_from_string(self, spec):
        """Parses ``spec`` into this object (fields absent from ``spec`` become None)."""
        for f in _FIELDS:
            setattr(self, f, None)
        if spec is None:
            return self
        if isinstance(spec, DeviceSpec):
            self._copy_from(spec)
            return self
        for part in str(spec).split("/"):
            if not part:
                continue
            pieces = part.split(":")
            key = pieces[0].lower()
            if len(pieces) == 2 and key in ("job", "replica", "task"):
                setattr(self, key, pieces[1] if key == "job" else int(pieces[1]))
            elif len(pieces) == 3 and key == "device":
                self.device_type = pieces[1].upper()
                self.device_index = None if pieces[2] == "*" else int(pieces[2])
            elif len(pieces) == 2 and key == "device" and re.fullmatch(r"[A-Za-z_]+", pieces[1]):
                self.device_type = pieces[1].upper()
            elif len(pieces) == 2 and re.fullmatch(r"[A-Za-z_]+", pieces[0]):
                self.device_type = pieces[0].upper()
                self.device_index = None if pieces[1] == "*" else int(pieces[1])
            elif len(pieces) == 1 and re.fullmatch(r"[A-Za-z_]+", pieces[0]) and key in ("cpu", "gpu"):
                self.device_type = pieces[0].upper()
            else:
                raise ValueError("Unknown attribute: '%s' in '%s'" % (part, spec))
        return self

    def _copy_from(self, other):
        for f in _FIELDS:
            setattr(self, f, getattr(other, f))

    def merge_from(self, other):
        """Overrides this spec's fields with the fields that ``other`` sets."""
        other = other if isinstance(other, DeviceSpec) else DeviceSpec.from_string(other)
        for f in _FIELDS:
            v = getattr(other, f)
            if v is not None:
                setattr(self, f, v)
        return self

    def make_merged_spec(self, other):
        return DeviceSpec(*(getattr(self, f) for f in _FIELDS)).merge_from(other)

    def to_string(self):
        out = []
        if self.job is not None:
            out.append("/job:" + self.job)
        if self.replica is not None:
            out.append("/replica:%d" % self.replica)
        if self.task is not None:
            out.append("/task:%d" % self.task)
        if self.device_type is not None:
            idx = "*" if self.device_index is None else str(self.device_index)
            out.append("/device:%s:%s" % (self.device_type, idx))
        return "".join(out)

    def __eq__(self, other):
        return isinstance(other, DeviceSpec) and self.to_string() == other.to_string()

    def __hash__(self):
        return hash(self.to_string())

    def __repr__(self):
        return "DeviceSpec(%r)" % self.to_string()

    __str__ = to_string


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
    return DeviceSpec.from_string(outer).merge_from(inner).to_string()
