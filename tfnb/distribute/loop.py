"""One background event loop per process for tfnb's distributed runtime.

Servers (``tf.train.Server``) and masters (``tf.Session(target)``) in this process share it:
a daemon thread running an asyncio loop (with Tornado's ``IOLoop`` on top, which
``distributed.core.Server`` needs). Synchronous callers submit coroutines with
:func:`run_sync`, which hands them over with ``asyncio.run_coroutine_threadsafe`` and waits
on the returned future -- one wake-up of the loop and one of the caller per call (measured
in :mod:`tfnb.distribute.wire`).
"""
import asyncio
import atexit
import os
import threading

__all__ = ["get_loop", "run_sync", "in_loop_thread"]

_lock = threading.Lock()
_loop = None
_thread = None
_pid = None  # a forked child must not use its parent's loop (its thread did not survive)


def _run(loop, ready):
    asyncio.set_event_loop(loop)
    from tornado.ioloop import IOLoop
    IOLoop.current()  # installs Tornado's wrapper of this asyncio loop for this thread
    loop.call_soon(ready.set)
    try:
        loop.run_forever()
    finally:
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        finally:
            loop.close()


def get_loop():
    """The process's tfnb event loop (started on first use; a daemon thread)."""
    global _loop, _thread, _pid
    with _lock:
        if _loop is None or _loop.is_closed() or _pid != os.getpid():
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            thread = threading.Thread(target=_run, args=(loop, ready), name="tfnb-distributed-loop",
                                      daemon=True)
            thread.start()
            if not ready.wait(30):
                raise RuntimeError("tfnb's event loop thread did not start")
            _loop, _thread, _pid = loop, thread, os.getpid()
        return _loop


def in_loop_thread():
    return _thread is not None and threading.current_thread() is _thread


def run_sync(coro, timeout=None):
    """Runs ``coro`` on the loop and returns its result (re-raising its exception).

    Args:
        coro: a coroutine object.
        timeout: seconds to wait (None: until it finishes; the coroutines bound their own waits).

    Raises:
        RuntimeError: called from the loop thread itself (it would deadlock).
        TimeoutError: ``timeout`` passed (the coroutine is cancelled).
    """
    loop = get_loop()
    if in_loop_thread():
        coro.close()
        raise RuntimeError("run_sync called from tfnb's event loop thread")
    fut = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return fut.result(timeout)
    except BaseException:
        fut.cancel()
        raise


def _shutdown():
    global _loop, _thread
    with _lock:
        loop, thread = _loop, _thread
        _loop = _thread = None
    if loop is None or loop.is_closed() or _pid != os.getpid():
        return
    from . import server as _server
    try:
        fut = asyncio.run_coroutine_threadsafe(_server.close_all_servers(), loop)
        fut.result(10)
    except Exception:  # noqa: BLE001 - best effort at interpreter exit
        pass
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


atexit.register(_shutdown)
