"""How datasets run: dataset values, element iterators, function calls and worker threads.

A dataset op (``RangeDataset``, ``MapDataset``, ...) is an ordinary graph op whose output is
a ``variant`` scalar. Its kernel returns a :class:`DatasetValue`: an immutable *recipe*
(the op's input values, its functions bound to the session) that makes
:class:`ElementIterator` objects. An iterator op (tfnb/data/iterator_ops.py) keeps one
element iterator per session in the session's state and asks it for the next element.

An element is a tuple of arrays, one per flat component (see tfnb/data/structure.py).
``get_next()`` returns the next element, or ``None`` at the end (and ``None`` again on every
later call). An error raised for one element (a failing map function, a corrupt record)
propagates to the ``get_next`` that asked for it; the iterator stays usable and the next
call goes on with the following element, as in TensorFlow.

Threads: ``prefetch`` runs its input in a background thread, and ``map`` with
``num_parallel_calls`` runs its function on a pool of threads, so input work overlaps the
training step (NumPy kernels release the GIL for large arrays). Worker threads never
outlive their iterator: re-initializing an iterator closes the old one, closing the session
closes the current one (``SessionState.close``), and every wait looks, a few times a second,
whether the session is still open (a cluster task's step may be aborted under it).
"""
import collections
import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import CancelledError as _FutureCancelled
from concurrent.futures import TimeoutError as _FutureTimeout

import numpy as np

from ..framework import errors

__all__ = ["DatasetValue", "ElementIterator", "IterEnv", "FunctionCaller", "PrefetchIterator",
           "ParallelMapIterator", "AUTOTUNE", "scalar_value"]

#: ``num_parallel_calls``/``buffer_size`` value meaning "pick for me" (as tf.data.experimental).
AUTOTUNE = -1
_POLL_SECONDS = 0.05


class IterEnv:
    """What element iterators need from the session that runs them."""

    __slots__ = ("_session", "ctx")

    def __init__(self, ctx):
        self.ctx = ctx
        s = ctx.session
        self._session = weakref.ref(s) if s is not None else (lambda: None)

    @property
    def closed(self):
        s = self._session()
        return s is None or getattr(s, "_closed", False)

    def check_open(self, what):
        if self.closed:
            raise errors.CancelledError(None, None, "%s: the session was closed" % what)


class DatasetValue:
    """The run-time value of a dataset tensor: makes iterators over its elements."""

    #: The op type that produced it (for messages).
    kind = "Dataset"

    def make_iterator(self, env):
        raise NotImplementedError

    def __repr__(self):
        return "<%s value>" % self.kind


class ElementIterator:
    """Iterates over the elements of one dataset value (see the module docstring)."""

    def get_next(self):
        raise NotImplementedError

    def close(self):
        """Stops worker threads and closes inputs (idempotent)."""


class FunctionCaller:
    """A dataset function's compiled plan with the values of its captured tensors:
    ``caller(components) -> [output values]``."""

    __slots__ = ("plan", "captured", "name")

    def __init__(self, plan, captured, name):
        self.plan = plan
        self.captured = list(captured)
        self.name = name

    def __call__(self, components):
        return self.plan(list(components) + self.captured)


def scalar_value(v, what, kind=int):
    """A Python scalar from a 0-d input array; InvalidArgumentError otherwise."""
    a = np.asarray(v)
    if a.ndim != 0:
        raise errors.InvalidArgumentError(None, None, "%s must be a scalar, got shape %s"
                                          % (what, a.shape))
    v = a[()]
    if kind is bytes:
        return v.encode("utf-8") if isinstance(v, str) else bytes(v)
    return kind(v)


class _Raised:
    """An error kept in a buffer in the place of the element it stands for."""

    __slots__ = ("exc",)

    def __init__(self, exc):
        self.exc = exc


def _guarded(fn, *args):
    """Runs ``fn`` as a step's kernels do (NaN/Inf are values, not warnings)."""
    with np.errstate(all="ignore"):
        return fn(*args)


class PrefetchIterator(ElementIterator):
    """Runs ``source`` in a background thread, keeping up to ``size`` elements ready.

    The thread starts with the first ``get_next``; errors are buffered in order and raised
    by the ``get_next`` that reaches them.
    """

    def __init__(self, source, size, env):
        self._source = source
        self._size = max(1, int(size))
        self._env = env
        self._buf = collections.deque()
        self._cond = threading.Condition()
        self._thread = None
        self._stop = False
        self._ended = False

    def _run(self):
        src = self._source
        try:
            while True:
                with self._cond:
                    while len(self._buf) >= self._size and not self._stop:
                        if self._env.closed:
                            return
                        self._cond.wait(_POLL_SECONDS)
                    if self._stop:
                        return
                try:
                    e = _guarded(src.get_next)
                except Exception as exc:  # noqa: BLE001 - handed to the consumer, in order
                    e = _Raised(exc)
                with self._cond:
                    self._buf.append(e)
                    self._cond.notify_all()
                if e is None:
                    return
        finally:
            src.close()

    def get_next(self):
        if self._ended:
            return None
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tfnb-prefetch",
                                                daemon=True)
                self._thread.start()
            while not self._buf:
                if self._stop:
                    raise errors.CancelledError(None, None, "Prefetch: the iterator was closed")
                self._env.check_open("Prefetch")
                if not self._thread.is_alive() and not self._buf:
                    raise errors.CancelledError(None, None, "Prefetch: the input thread stopped")
                self._cond.wait(_POLL_SECONDS)
            e = self._buf.popleft()
            self._cond.notify_all()
        if e is None:
            self._ended = True
            return None
        if isinstance(e, _Raised):
            raise e.exc
        return e

    def close(self):
        with self._cond:
            self._stop = True
            self._cond.notify_all()
            started = self._thread is not None
        if not started:
            self._source.close()


class ParallelMapIterator(ElementIterator):
    """Applies ``fn`` to elements of ``source`` on ``n`` threads, results in input order.

    Up to ``n`` calls are in flight; after handing out an element the next input is
    submitted at once, so the pool keeps working while the caller runs its step.
    """

    def __init__(self, source, fn, n, env):
        self._source = source
        self._fn = fn
        self._n = max(1, int(n))
        self._env = env
        self._pool = None
        self._inflight = collections.deque()
        self._input_done = False
        self._closed = False
        self._lock = threading.Lock()

    def _fill(self):
        while not self._input_done and not self._closed and len(self._inflight) < self._n:
            try:
                e = self._source.get_next()
            except Exception as exc:  # noqa: BLE001 - raised in order by get_next
                fut = Future()
                fut.set_exception(exc)
                self._inflight.append(fut)
                continue
            if e is None:
                self._input_done = True
                break
            with self._lock:  # never start a pool after close() (another thread) took it
                if self._closed:
                    break
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=self._n,
                                                    thread_name_prefix="tfnb-parallel-map")
                self._inflight.append(self._pool.submit(_guarded, self._fn, e))

    def get_next(self):
        if self._closed:
            raise errors.CancelledError(None, None, "ParallelMap: the iterator was closed")
        self._fill()
        if not self._inflight:
            return None
        fut = self._inflight.popleft()
        self._fill()
        while True:
            if self._closed:
                raise errors.CancelledError(None, None, "ParallelMap: the iterator was closed")
            self._env.check_open("ParallelMap")
            try:
                return fut.result(timeout=_POLL_SECONDS)
            except _FutureTimeout:
                continue
            except _FutureCancelled:  # close() cancelled it; the check above says so
                continue

    def close(self):
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self._inflight.clear()
        self._source.close()
