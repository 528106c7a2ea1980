"""``tf.train.Coordinator``: stopping a set of threads together, and reporting their errors.

Threads (QueueRunner threads, a training loop) poll ``should_stop()``; any of them may
``request_stop()`` -- with the exception that made it stop -- and the main thread's
``join()`` waits for all of them, then re-raises the first reported exception.
``OutOfRangeError`` (an input queue closed and drained: the normal end of an epoch
loop) stops the threads without being reported.

Example:
    >>> coord = tf.train.Coordinator()
    >>> threads = tf.train.start_queue_runners(sess, coord)
    >>> try:
    ...     while not coord.should_stop():
    ...         sess.run(train_op)
    ... except tf.errors.OutOfRangeError:
    ...     pass
    ... finally:
    ...     coord.request_stop()
    >>> coord.join(threads)
"""
import contextlib
import logging
import sys
import threading
import time

from ..framework import errors

__all__ = ["Coordinator"]

_log = logging.getLogger("tfnb.train")


class Coordinator:
    """Coordinates the termination of a set of threads.

    Args:
        clean_stop_exception_types: exception types that stop the threads without being
            re-raised by :meth:`join` (default ``(tf.errors.OutOfRangeError,)``).
    """

    def __init__(self, clean_stop_exception_types=None):
        if clean_stop_exception_types is None:
            clean_stop_exception_types = (errors.OutOfRangeError,)
        self._clean_stop_exception_types = tuple(clean_stop_exception_types)
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._exc_info_to_raise = None
        self._joined = False
        self._registered_threads = set()

    def _filter_exception(self, ex):
        """``ex`` unless it is a clean-stop exception (then None)."""
        value = ex[1] if isinstance(ex, tuple) else ex
        if isinstance(value, self._clean_stop_exception_types):
            return None
        return ex

    def request_stop(self, ex=None):
        """Asks every coordinated thread to stop; records ``ex`` (the first one wins).

        Args:
            ex: an exception, or a ``sys.exc_info()`` tuple, to re-raise in :meth:`join`.
                Called from an ``except`` block, an exception object keeps its traceback.

        Raises:
            The exception ``ex``, if the coordinator was already joined (nobody would see it).
        """
        with self._lock:
            ex = self._filter_exception(ex)
            if self._joined:
                if isinstance(ex, tuple):
                    raise ex[1].with_traceback(ex[2])
                if ex is not None:
                    raise ex
            if self._stop_event.is_set():
                return
            if ex is not None and self._exc_info_to_raise is None:
                if isinstance(ex, tuple):
                    info = ex
                else:
                    info = sys.exc_info()
                    if info[1] is not ex:
                        info = (type(ex), ex, ex.__traceback__)
                if not isinstance(info[1], BaseException):
                    raise TypeError("ex must be an exception or a sys.exc_info() tuple, got %r"
                                    % (ex,))
                _log.info("Error reported to Coordinator: %s: %s", info[0].__name__, info[1])
                self._exc_info_to_raise = info
            self._stop_event.set()

    def clear_stop(self):
        """Clears the stop request and the recorded exception, so the coordinator can be reused."""
        with self._lock:
            self._joined = False
            self._exc_info_to_raise = None
            if self._stop_event.is_set():
                self._stop_event.clear()

    def should_stop(self):
        """True once a stop was requested."""
        return self._stop_event.is_set()

    @contextlib.contextmanager
    def stop_on_exception(self):
        """A context in which any exception requests a stop (and is recorded) instead of raising.

        Example:
            >>> with coord.stop_on_exception():
            ...     while not coord.should_stop():
            ...         sess.run(train_op)
        """
        try:
            yield
        except BaseException:  # noqa: BLE001 - recorded, re-raised by join()
            self.request_stop(ex=sys.exc_info())

    def wait_for_stop(self, timeout=None):
        """Waits until a stop is requested; returns True if it was, False on timeout."""
        return self._stop_event.wait(timeout)

    def register_thread(self, thread):
        """Adds ``thread`` to the threads :meth:`join` waits for."""
        with self._lock:
            self._registered_threads.add(thread)

    def join(self, threads=None, stop_grace_period_secs=120, ignore_live_threads=False):
        """Waits for the threads to finish, then re-raises the first reported exception.

        It waits until all threads have ended or a stop is requested, then up to
        ``stop_grace_period_secs`` more for the remaining threads to end.

        Args:
            threads: threads to join, besides the registered ones.
            stop_grace_period_secs: how long threads may take to stop after the request.
            ignore_live_threads: only log (do not raise) if threads are still alive then.

        Raises:
            The exception passed to :meth:`request_stop`, if any; else RuntimeError if
            threads are still running after the grace period (unless ``ignore_live_threads``).
        """
        with self._lock:
            threads = list(self._registered_threads.union(threads or ()))
        while any(t.is_alive() for t in threads) and not self.wait_for_stop(0.1):
            pass
        deadline = time.monotonic() + stop_grace_period_secs
        for t in threads:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            t.join(left)
        stragglers = [t.name for t in threads if t.is_alive()]
        with self._lock:
            self._joined = True
            self._registered_threads = set()
            if self._exc_info_to_raise:
                info = self._exc_info_to_raise
                raise info[1].with_traceback(info[2])
            if stragglers:
                if ignore_live_threads:
                    _log.info("Coordinator stopped with threads still running: %s",
                              " ".join(stragglers))
                else:
                    raise RuntimeError("Coordinator stopped with threads still running: %s"
                                       % " ".join(stragglers))

    @property
    def joined(self):
        """True once :meth:`join` has returned (or raised)."""
        return self._joined

    def raise_requested_exception(self):
        """Re-raises the exception passed to :meth:`request_stop`, if any."""
        with self._lock:
            if self._exc_info_to_raise:
                info = self._exc_info_to_raise
                raise info[1].with_traceback(info[2])
