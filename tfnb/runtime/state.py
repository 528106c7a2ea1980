"""Per-session state: variable slots and per-op resources (random generators, queues).

Two sessions on one graph have independent ``SessionState``: variables live here,
not in the graph. Kernels of stateful ops reach their state through the
``KernelContext`` they are compiled with.
"""
import numpy as np

from ..framework import errors

__all__ = ["VariableSlot", "SessionState", "KernelContext"]


class VariableSlot:
    """The storage of one variable in one session.

    ``value`` is an array that is never mutated in place: a write installs a new
    array, so a value read earlier in a step stays what it was. ``version`` counts
    writes; cached eager values remember the versions they were computed from.
    """

    __slots__ = ("name", "value", "version", "location", "dtype", "shape")

    def __init__(self, name, dtype=None, shape=None, location=None):
        self.name = name
        self.value = None
        self.version = 0
        self.location = location
        self.dtype = dtype
        self.shape = shape

    def read(self):
        v = self.value
        if v is None:
            raise errors.FailedPreconditionError(
                None, None, "Attempting to use uninitialized value %s%s" % (
                    self.name, " (variable created at %s)" % self.location if self.location else ""))
        return v

    def write(self, value):
        self.value = value
        self.version += 1
        return value

    @property
    def initialized(self):
        return self.value is not None

    def __repr__(self):
        return "<VariableSlot %s%s>" % (self.name, "" if self.value is not None else " (uninitialized)")


class SessionState:
    """All mutable state of one session."""

    def __init__(self):
        self.variables = {}
        self.resources = {}

    def variable_slot(self, name, dtype=None, shape=None, location=None):
        slot = self.variables.get(name)
        if slot is None:
            slot = self.variables[name] = VariableSlot(name, dtype, shape, location)
        return slot

    def resource(self, key, factory):
        """The resource stored under ``key`` (e.g. an op's RNG), created on first use."""
        r = self.resources.get(key)
        if r is None:
            r = self.resources[key] = factory()
        return r


class KernelContext:
    """What a kernel factory may use: the array module and the session's state."""

    __slots__ = ("xp", "state", "device", "session")

    def __init__(self, state, xp=np, device="/device:CPU:0", session=None):
        self.xp = xp
        self.state = state
        self.device = device
        self.session = session
