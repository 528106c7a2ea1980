"""Running a multi-device plan: one executor thread per device, a rendezvous per step.

Each partition is a generated function; its ``_send(key, value)`` puts a tensor in the
step's :class:`Rendezvous` and ``_recv(key)`` waits for it. The calling thread runs the
first device's partition, one worker thread per other device runs theirs. A failure in
any partition aborts the rendezvous, which wakes every waiting ``_recv`` with a
``CancelledError`` -- no thread is left blocked -- and the step raises the first real
error, naming its op.
"""
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

from ..framework import errors

__all__ = ["Rendezvous", "MultiDeviceRunner", "DeviceExecutors"]


class Rendezvous:
    """Tensors in flight between the partitions of one step, keyed by edge."""

    __slots__ = ("_values", "_cond", "_error")

    def __init__(self):
        self._values = {}
        self._cond = threading.Condition()
        self._error = None

    def send(self, key, value):
        with self._cond:
            self._values[key] = value
            self._cond.notify_all()

    def recv(self, key):
        with self._cond:
            while key not in self._values:
                if self._error is not None:
                    raise errors.CancelledError(
                        None, None, "Step aborted while waiting for %s: %s" % (key, self._error))
                self._cond.wait()
            return self._values.pop(key)

    def abort(self, exc):
        with self._cond:
            if self._error is None:
                self._error = exc
            self._cond.notify_all()


class DeviceExecutors:
    """One worker thread per device (created on first use, shut down with the session)."""

    def __init__(self):
        self._pools = {}
        self._lock = threading.Lock()

    def get(self, device):
        with self._lock:
            pool = self._pools.get(device.name)
            if pool is None:
                pool = self._pools[device.name] = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="tfnb-%s" % device.short_name[1:])
            return pool

    def shutdown(self):
        with self._lock:
            for pool in self._pools.values():
                pool.shutdown(wait=True)
            self._pools.clear()


class MultiDeviceRunner:
    """The ``fn`` of a multi-device plan: runs its partitions concurrently, gathers fetches."""

    def __init__(self, plan, executors):
        self.plan = plan
        self.executors = executors
        where = {}
        for pi, part in enumerate(plan.partitions):
            for j, n in enumerate(part.fetch_names):
                where.setdefault(n, (pi, j))
        self.fetch_src = [where[n] for n in plan.fetch_names]

    def __call__(self, feeds):
        return self.run(feeds)

    def run(self, feeds, traced=False, now=None):
        """Returns the fetched values (and, when ``traced``, the per-op records)."""
        from .plan import map_runtime_error
        parts = self.plan.partitions
        rv = Rendezvous()
        records = [] if traced else None

        def work(part):
            try:
                if not traced:
                    return part.fn(feeds, rv.send, rv.recv)
                tid = threading.get_ident()
                dev = part.device.name
                body = part.body

                def rec(i, t0, outs):
                    records.append((body[i][0], dev, t0, now(), tid, outs))
                return part.traced_fn()[0](feeds, rv.send, rv.recv, rec, now)
            except BaseException as exc:
                rv.abort(exc)
                raise

        # Each partition runs in a copy of the caller's context: it shares the step's journal.
        futures = [self.executors.get(p.device).submit(contextvars.copy_context().run, work, p)
                   for p in parts[1:]]
        results = [None] * len(parts)
        failures = []
        try:
            results[0] = work(parts[0])
        except BaseException as exc:  # noqa: BLE001 - collected, re-raised below
            failures.append((parts[0], exc))
        for p, i, fut in zip(parts[1:], range(1, len(parts)), futures):
            try:
                results[i] = fut.result()
            except BaseException as exc:  # noqa: BLE001
                failures.append((p, exc))
        if failures:
            real = [f for f in failures if not isinstance(f[1], errors.CancelledError)]
            part, exc = (real or failures)[0]
            if isinstance(exc, KeyboardInterrupt):
                raise exc
            raise map_runtime_error(part, exc)
        values = tuple(results[pi][j] for pi, j in self.fetch_src)
        return (values, records) if traced else values
