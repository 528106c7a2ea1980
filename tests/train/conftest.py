"""Fixtures shared by the training tests: thread-leak checks and event-file reading."""
import glob
import os
import threading
import time

import pytest


@pytest.fixture
def no_leaked_threads():
    """Fails the test if it leaves a thread running (5 s grace for threads that are ending)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()
                and not t.name.startswith("tfnb-event-writer")]
        if not left:
            return
        time.sleep(0.02)
    pytest.fail("threads left running: %s" % [t.name for t in left])


@pytest.fixture
def read_events():
    """``read_events(logdir)``: every Event of the event files in ``logdir`` (flushed first)."""
    import tfnb as tf

    def read(logdir):
        cached = tf.summary.FileWriterCache._cache.get(os.fspath(logdir))
        if cached is not None:
            cached.flush()
        events = []
        for path in sorted(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))):
            events.extend(tf.summary.summary_iterator(path))
        return events
    return read
