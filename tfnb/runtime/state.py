"""Per-session state: variable slots and per-op resources (random generators, queues).

Two sessions on one graph have independent ``SessionState``: variables live here,
not in the graph. Kernels of stateful ops reach their state through the
``KernelContext`` they are compiled with.
"""
import contextvars
import sys
import threading

import numpy as np

from ..framework import errors

__all__ = ["VariableSlot", "SessionState", "KernelContext"]


class VariableSlot:
    """The storage of one variable in one session.

    ``value`` is never mutated while anything else may hold it: a dense write
    installs a new array, so a value read earlier in a step stays what it was.
    Sparse row updates (embeddings) change rows in place only when nothing else
    references the array, and journal the old rows so a failed step can undo them.
    ``version`` counts writes; cached eager values remember the versions they used.
    """

    __slots__ = ("name", "value", "version", "location", "dtype", "shape", "_state", "_spare")

    def __init__(self, name, dtype=None, shape=None, location=None, state=None):
        self.name = name
        self.value = None
        self.version = 0
        self.location = location
        self.dtype = dtype
        self.shape = shape
        self._state = state
        self._spare = None  # the value before the last write, reusable once nobody holds it

    def read(self):
        v = self.value
        if v is None:
            raise errors.FailedPreconditionError(
                None, None, "Attempting to use uninitialized value %s%s" % (
                    self.name, " (variable created at %s)" % self.location if self.location else ""))
        return v

    def write(self, value):
        """Installs ``value`` (an array nobody else mutates) as the new value."""
        j = self._state.journal if self._state is not None else None
        if j is not None:
            j.append((self, self.value, self.version))
        if isinstance(value, np.generic):
            value = np.asarray(value)
        if isinstance(value, np.ndarray) and value.flags.writeable:
            value.flags.writeable = False
        if isinstance(self.value, np.ndarray) and self.value is not value:
            self._spare = self.value
        self.value = value
        self.version += 1
        return value

    def spare(self):
        """A writable array shaped like the value, free for an update to write its result
        into (saves allocating, and page-faulting, a fresh large array every step), or None.

        It is the value from before the last write, handed out only when nothing else --
        a fetched or eager value, a journal of a running step -- still references it."""
        s, v = self._spare, self.value
        # References: self._spare, the local `s`, and getrefcount's argument.
        if s is None or v is None or s.shape != v.shape or s.dtype != v.dtype or \
                s.base is not None or sys.getrefcount(s) > 3:
            return None
        self._spare = None
        s.flags.writeable = True
        return s

    def update_rows(self, indices, fn):
        """Applies ``rows = fn(rows)`` to the rows ``indices`` (unique), in place when safe."""
        v = self.read()
        # References: self.value, the local `v`, and getrefcount's argument.
        inplace = isinstance(v, np.ndarray) and v.base is None and sys.getrefcount(v) <= 3
        j = self._state.journal if self._state is not None else None
        if inplace:
            old_rows = v[indices]
            if j is not None:
                j.append((self, (indices, old_rows), self.version))
            v.flags.writeable = True
            try:
                v[indices] = fn(old_rows)
            finally:
                v.flags.writeable = False
            self.version += 1
            return v
        new = v.copy()
        new[indices] = fn(new[indices])
        return self.write(new)

    def undo(self, saved, version):
        if isinstance(saved, tuple):  # rows changed in place
            indices, rows = saved
            v = self.value
            v.flags.writeable = True
            v[indices] = rows
            v.flags.writeable = False
        else:
            self.value = saved
        self.version = version + 1 if self.version != version else version

    @property
    def initialized(self):
        return self.value is not None

    def __repr__(self):
        return "<VariableSlot %s%s>" % (self.name, "" if self.value is not None else " (uninitialized)")


# {SessionState: undo list} of the steps running in this context. A context variable, not an
# attribute, so concurrent steps of one session (a queue runner's enqueue beside a training
# step) never journal into, or roll back, each other's writes; the multi-device executor runs
# a step's partitions in copies of the caller's context, so they share its journal.
_journals = contextvars.ContextVar("tfnb_journals", default=None)


class SessionState:
    """All mutable state of one session."""

    def __init__(self):
        self.variables = {}
        self.resources = {}
        self._resource_lock = threading.RLock()

    @property
    def journal(self):
        """While a step that writes variables runs (in this thread): its list of undo entries,
        replayed on failure; else None."""
        j = _journals.get()
        return None if j is None else j.get(self)

    @journal.setter
    def journal(self, value):
        j = dict(_journals.get() or ())
        if value is None:
            j.pop(self, None)
        else:
            j[self] = value
        _journals.set(j or None)

    def variable_slot(self, name, dtype=None, shape=None, location=None):
        slot = self.variables.get(name)
        if slot is None:
            slot = self.variables[name] = VariableSlot(name, dtype, shape, location, self)
        return slot

    def rollback(self, journal):
        for slot, saved, version in reversed(journal):
            slot.undo(saved, version)

    def resource(self, key, factory):
        """The resource stored under ``key`` (e.g. an op's RNG), created on first use."""
        r = self.resources.get(key)
        if r is None:
            with self._resource_lock:  # two threads compiling plans must get one resource
                r = self.resources.get(key)
                if r is None:
                    r = self.resources[key] = factory()
        return r


class KernelContext:
    """What a kernel factory may use: the array module and the session's state."""

    __slots__ = ("xp", "state", "device", "session", "live_outputs", "eager")

    def __init__(self, state, xp=np, device="/device:CPU:0", session=None, eager=False):
        self.xp = xp
        self.state = state
        self.device = device
        self.session = session
        # While a plan is compiled: indices of the current op's outputs the plan uses
        # (None: all of them, e.g. eager evaluation).
        self.live_outputs = None
        # True for kernels bound by the eager evaluator (each op evaluated on its own).
        self.eager = eager
