"""Per-session state: variable slots and per-op resources (random generators, queues).

Two sessions on one graph have independent ``SessionState``: variables live here,
not in the graph. Kernels of stateful ops reach their state through the
``KernelContext`` they are compiled with.
"""
import contextvars
import itertools
import sys
import threading
import time

import numpy as np

from ..framework import errors

__all__ = ["VariableSlot", "SessionState", "KernelContext", "hold_locks", "step_deadline",
           "wait_deadline"]

_slot_order = itertools.count()  # the order in which several slots' locks are taken


class _Rows:
    """A journal entry's saved state for an in-place row update: the rows' old contents."""

    __slots__ = ("indices", "rows")

    def __init__(self, indices, rows):
        self.indices = indices
        self.rows = rows


class VariableSlot:
    """The storage of one variable in one session.

    ``value`` is never mutated while anything else may hold it: a dense write
    installs a new array, so a value read earlier in a step stays what it was.
    Sparse row updates (embeddings) change rows in place only when nothing else
    references the array, and journal the old rows so a failed step can undo them.
    ``version`` counts writes (and undos); it only grows, and it changes whenever the
    value does, so cached eager values can compare the versions they used.

    Several threads may run steps of one session at once (queue runners, training
    threads). ``lock`` (reentrant) makes each change of ``value``/``version``/spare
    atomic; update ops built with ``use_locking=True``, assignments (always, as TF1's
    resource variables) and ``update_rows`` hold it across their read-compute-write,
    so no update is lost. Other updates race ("Hogwild"), but every value a reader
    sees is one some update installed: in-place row updates run under the lock with
    ``_busy`` set, and ``read`` waits for the lock while ``_busy`` is set, so an array
    is only changed in place when no reader holds it or can get it (the reference
    counts this relies on are exact under the GIL).
    """

    __slots__ = ("name", "value", "version", "location", "dtype", "shape", "lock", "order",
                 "_state", "_spare", "_busy")

    def __init__(self, name, dtype=None, shape=None, location=None, state=None):
        self.name = name
        self.value = None
        self.version = 0
        self.location = location
        self.dtype = dtype
        self.shape = shape
        self.lock = threading.RLock()
        self.order = next(_slot_order)
        self._state = state
        self._spare = None  # the value before the last write, reusable once nobody holds it
        self._busy = False  # rows of `value` are being changed in place (under `lock`)

    def read(self):
        v = self.value
        # Checked after taking the reference: an in-place update sets _busy before it counts
        # the references to the array, so either it sees ours (and copies instead) or we see
        # _busy and wait for it to finish.
        if self._busy:
            with self.lock:
                v = self.value
        if v is None:
            where = " (variable created at %s)" % self.location if self.location else ""
            raise errors.FailedPreconditionError(
                None, None, "Attempting to use uninitialized value %s%s" % (self.name, where))
        return v

    def _journal(self):
        return self._state.journal if self._state is not None else None

    def write(self, value):
        """Installs ``value`` (an array nobody else mutates) as the new value."""
        if isinstance(value, np.generic):
            value = np.asarray(value)
        if isinstance(value, np.ndarray) and value.flags.writeable:
            value.flags.writeable = False
        j = self._journal()
        with self.lock:
            old = self.value
            if isinstance(old, np.ndarray) and old is not value:
                self._spare = old
            self.value = value
            self.version += 1
            if j is not None:
                j.append((self, old, self.version - 1, self.version))
        return value

    def spare(self):
        """A writable array shaped like the value, free for an update to write its result
        into (saves allocating, and page-faulting, a fresh large array every step), or None.

        It is the value from before the last write, handed out (once) only when nothing
        else -- a fetched or eager value, a journal of a running step -- references it."""
        with self.lock:
            s, v = self._spare, self.value
            # References: self._spare, the local `s`, and getrefcount's argument.
            if s is None or v is None or s.shape != v.shape or s.dtype != v.dtype or \
                    s.base is not None or sys.getrefcount(s) > 3:
                return None
            self._spare = None
        s.flags.writeable = True
        return s

    def update_rows(self, indices, fn):
        """Applies ``rows = fn(rows)`` to the rows ``indices`` (unique), in place when safe.

        The whole read-compute-write happens under the slot's lock, so concurrent row
        updates never lose each other's rows and no reader sees half-written rows.
        """
        j = self._journal()
        with self.lock:
            v = self.read()
            self._busy = True
            try:
                # References: self.value, the local `v`, and getrefcount's argument.
                if isinstance(v, np.ndarray) and v.base is None and sys.getrefcount(v) <= 3:
                    old_rows = v[indices]
                    new_rows = fn(old_rows)
                    self.version += 1
                    if j is not None:
                        j.append((self, _Rows(indices, old_rows), self.version - 1, self.version))
                    v.flags.writeable = True
                    try:
                        v[indices] = new_rows
                    finally:
                        v.flags.writeable = False
                    return v
            finally:
                self._busy = False
            new = v.copy()
            new[indices] = fn(new[indices])
            return self.write(new)

    def undo(self, entries):
        """Undoes a failed step's ``entries`` (its journal entries for this slot, in order)
        as far as no other step wrote the slot after them.

        Each entry is (saved state, version before, version after). Walking back from the
        latest, an entry is undone only if the slot is still at the version it left behind;
        the first one that another step has written over stops the walk, so another step's
        write -- and anything written before it -- is kept.
        """
        with self.lock:
            at = self.version
            undone = False
            for saved, before, after in reversed(entries):
                if after != at:
                    break
                if isinstance(saved, _Rows):
                    self._restore_rows(saved)
                else:
                    current = self.value
                    if isinstance(current, np.ndarray) and current is not saved:
                        self._spare = current
                    self.value = saved
                at = before
                undone = True
            if undone:
                self.version += 1  # a new version: caches of the undone values are stale

    def _restore_rows(self, saved):
        v = self.value
        self._busy = True
        try:
            # References: self.value, the local `v`, and getrefcount's argument.
            if isinstance(v, np.ndarray) and v.base is None and sys.getrefcount(v) <= 3:
                v.flags.writeable = True
                try:
                    v[saved.indices] = saved.rows
                finally:
                    v.flags.writeable = False
                return
        finally:
            self._busy = False
        new = v.copy()  # a reader holds the updated array: leave it as it saw it
        new[saved.indices] = saved.rows
        if isinstance(new, np.ndarray):
            new.flags.writeable = False
        self.value = new

    @property
    def initialized(self):
        return self.value is not None

    def __repr__(self):
        return "<VariableSlot %s%s>" % (self.name,
                                        "" if self.value is not None else " (uninitialized)")


class hold_locks:
    """``with hold_locks(slots):`` holds the locks of ``slots`` (in one global order, so two
    updates locking overlapping sets never deadlock): TF1's ``use_locking``."""

    __slots__ = ("slots",)

    def __init__(self, slots):
        self.slots = sorted(set(slots), key=_order_of) if len(slots) > 1 else slots

    def __enter__(self):
        taken = []
        try:
            for s in self.slots:
                s.lock.acquire()
                taken.append(s)
        except BaseException:  # e.g. KeyboardInterrupt between two acquires
            for s in reversed(taken):
                s.lock.release()
            raise

    def __exit__(self, *exc):
        for s in reversed(self.slots):
            s.lock.release()
        return False


def _order_of(slot):
    return slot.order


# {SessionState: undo list} of the steps running in this context. A context variable, not an
# attribute, so concurrent steps of one session (a queue runner's enqueue beside a training
# step) never journal into, or roll back, each other's writes; the multi-device executor runs
# a step's partitions in copies of the caller's context, so they share its journal.
_journals = contextvars.ContextVar("tfnb_journals", default=None)


# The time.monotonic() by which the running step must end: RunOptions.timeout_in_ms (else
# ConfigProto.operation_timeout_in_ms) from its start; None: no bound. A context variable, so
# it follows the step into the partitions the multi-device executor runs in copies of the
# caller's context, and never leaks into another thread's step.
_step_deadline = contextvars.ContextVar("tfnb_step_deadline", default=None)


def step_deadline():
    """The monotonic deadline of the step running in this context, or None."""
    return _step_deadline.get()


def wait_deadline(timeout_s=None):
    """The deadline of a blocking wait starting now: ``timeout_s`` seconds (None: unbounded),
    and never later than the running step's deadline (``RunOptions.timeout_in_ms``)."""
    step = _step_deadline.get()
    if timeout_s is None:
        return step
    own = time.monotonic() + timeout_s
    return own if step is None or own < step else step


class SessionState:
    """All mutable state of one session.

    ``resources`` maps a key (``("queue", name)``, ``("iterator", name)``, ...) to an op's
    per-session object. :meth:`close` (run by ``Session.close()``) closes every resource
    that has a ``close()`` method taking no arguments: an iterator stops its prefetch and
    parallel-map threads, a queue or accumulator fails its waiting ops with
    ``CancelledError``. This happens when the session closes, not when the garbage
    collector finds the state.
    """

    def __init__(self):
        self.variables = {}
        self.resources = {}
        self._resource_lock = threading.RLock()
        self.closed = False

    @property
    def journal(self):
        """While a step that writes variables runs (in this thread): its list of undo entries
        ``(slot, saved state, version before, version after)``, replayed on failure; else None."""
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
            with self._resource_lock:  # two threads compiling plans must get one slot
                slot = self.variables.get(name)
                if slot is None:
                    slot = self.variables[name] = VariableSlot(name, dtype, shape, location, self)
        return slot

    def rollback(self, journal):
        """Undoes a failed step's writes that no other step has written over since.

        A step's writes are visible to concurrent steps before it ends (as in TF1, which
        never undoes a write); a write another step made after it -- even one computed
        from the failed step's value -- is kept, and so are the failed step's earlier
        writes to that variable."""
        per_slot = {}
        for slot, saved, before, after in journal:
            per_slot.setdefault(slot, []).append((saved, before, after))
        for slot, entries in per_slot.items():
            slot.undo(entries)

    def resource(self, key, factory):
        """The resource stored under ``key`` (e.g. an op's RNG), created on first use.

        Raises:
            CancelledError: the state was closed (a plan compiled while its session closed).
        """
        r = self.resources.get(key)
        if r is None:
            with self._resource_lock:  # two threads compiling plans must get one resource
                r = self.resources.get(key)
                if r is None:
                    if self.closed:
                        raise errors.CancelledError(
                            None, None, "Session state closed: cannot create resource %r"
                            % (key,))
                    r = self.resources[key] = factory()
        return r

    def close(self):
        """Closes the resources that have a ``close()`` and drops all state (idempotent).

        Each resource is closed once, outside the lock (closing one may wait briefly for
        its threads); an error closing one does not keep the others open.
        """
        with self._resource_lock:
            self.closed = True
            resources = list(self.resources.values())
            self.resources = {}
            self.variables = {}
        first_error = None
        for r in resources:
            close = getattr(type(r), "close", None)
            if close is None:
                continue
            try:
                r.close()
            except Exception as e:  # noqa: BLE001 - close the rest, then report the first
                if first_error is None:
                    first_error = e
        if first_error is not None:
            raise first_error


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
