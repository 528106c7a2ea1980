"""Interactive-session lifetime: the default-session stack, TF1's warning, and freeing graphs.

An ``InteractiveSession`` installs itself as the default session until ``close()``; a second
one warns as TF1 does and becomes the default. Sessions and graphs nobody references are
freed: a notebook that runs ``reset_default_graph()`` + ``InteractiveSession()`` thousands of
times keeps one graph alive, not thousands.
"""
import gc
import tracemalloc
import warnings
import weakref

import pytest

import tfnb as tf
from tfnb.runtime import eager

ALREADY_ACTIVE = "An interactive session is already active"


def _cycle(graphs=None):
    """One notebook cell of the leak report: new graph, new session, a few eager ops."""
    tf.reset_default_graph()
    if graphs is not None:
        graphs.append(weakref.ref(tf.get_default_graph()))
    tf.InteractiveSession()
    a = tf.constant([1.0, 2.0])
    b = tf.reduce_sum(a * 3.0)
    v = tf.Variable(tf.zeros([3, 2]))
    assert b.eval() == 9.0 and v.eval().shape == (3, 2)


def _close_default_sessions():
    while isinstance(tf.get_default_session(), tf.InteractiveSession):
        tf.get_default_session().close()


@pytest.fixture(autouse=True)
def _no_leftover_sessions():
    yield
    _close_default_sessions()
    eager._eager_mode = None


def test_close_removes_the_session_from_the_default_stack():
    sess = tf.InteractiveSession()
    assert tf.get_default_session() is sess
    sess.close()
    assert tf.get_default_session() is None
    sess.close()  # closing twice is harmless
    with pytest.raises(RuntimeError, match="closed Session"):
        sess.run(tf.constant(1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tf.InteractiveSession().close()  # nothing active any more: no warning


def test_a_second_session_warns_as_tf1_and_becomes_the_default():
    first = tf.InteractiveSession()
    with pytest.warns(UserWarning, match=ALREADY_ACTIVE) as record:
        second = tf.InteractiveSession()
    assert "explicitly call `InteractiveSession.close()`" in str(record[0].message)
    assert record[0].filename == __file__  # points at the user's line
    assert tf.get_default_session() is second
    second.close()
    assert tf.get_default_session() is first  # as TF1: the previous one is the default again
    first.close()
    assert tf.get_default_session() is None


def test_closing_out_of_order_keeps_the_newest_default():
    first = tf.InteractiveSession()
    with pytest.warns(UserWarning, match=ALREADY_ACTIVE):
        second = tf.InteractiveSession()
    first.close()
    assert tf.get_default_session() is second
    second.close()
    assert tf.get_default_session() is None


def test_a_shadowed_session_nobody_references_is_freed():
    tf.InteractiveSession()  # result unused: it must stay the default session
    gc.collect()
    first = tf.get_default_session()
    assert isinstance(first, tf.InteractiveSession)
    first_ref = weakref.ref(first)
    del first
    with pytest.warns(UserWarning, match=ALREADY_ACTIVE):
        second = tf.InteractiveSession()
    gc.collect()
    assert first_ref() is None
    assert tf.get_default_session() is second
    second.close()
    assert tf.get_default_session() is None


def test_with_block_inside_an_interactive_session():
    inter = tf.InteractiveSession()
    with tf.Session() as sess:
        assert tf.get_default_session() is sess
    assert tf.get_default_session() is inter
    inter.close()


def test_explicit_graph_is_the_default_graph_until_close():
    g = tf.Graph()
    sess = tf.InteractiveSession(graph=g)
    assert tf.get_default_graph() is g
    c = tf.constant(3.0) * 2.0
    assert c.graph is g and c.eval() == 6.0
    with pytest.raises(AssertionError, match="nested graphs"):
        tf.reset_default_graph()  # as TF1: g is on the default-graph stack
    sess.close()
    assert tf.get_default_graph() is not g


def test_sessions_of_other_threads_are_not_default_here():
    import threading
    made = []
    t = threading.Thread(target=lambda: made.append(tf.InteractiveSession(graph=tf.Graph())))
    t.start()
    t.join()
    assert tf.get_default_session() is None
    with pytest.warns(UserWarning, match=ALREADY_ACTIVE):  # TF1 counts open sessions globally
        mine = tf.InteractiveSession()
    made[0].close()  # closing from another thread removes it from its thread's stack
    assert tf.get_default_session() is mine
    mine.close()


def test_user_session_replaces_the_attached_eager_session_silently():
    tf.enable_eager_execution()  # what a notebook gets: an eager session on the default graph
    attached = tf.get_default_session()
    assert attached is not None and tf.executing_eagerly()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mine = tf.InteractiveSession()
    assert attached._closed and tf.get_default_session() is mine
    assert tf.executing_eagerly()  # the user's session is eager now
    tf.disable_eager_execution()  # turns eager off but keeps the user's session running
    assert not tf.executing_eagerly() and not mine._closed
    v = tf.Variable(1.0)
    with pytest.raises(tf.errors.FailedPreconditionError):
        v.eval()
    mine.run(v.initializer)
    assert v.eval() == 1.0
    mine.close()


def test_reset_and_interactive_cycles_keep_one_graph_alive():
    graphs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # each cycle leaves its session open
        for _ in range(200):
            _cycle(graphs)
    gc.collect()
    alive = sum(r() is not None for r in graphs)
    assert alive <= 1, "%d of 200 graphs still alive" % alive


def test_reset_and_interactive_cycles_keep_memory_flat():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(20):  # warm up caches that are allowed to fill once
            _cycle()
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(300):
                _cycle()
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    # Leaking the graphs costs ~20 kB a cycle (6 MB here); what remains is a few hundred
    # bytes a cycle that tracemalloc keeps itself (the file names of generated plan code).
    assert grown < 1_000_000, "memory grew by %.1f MB over 300 cycles" % (grown / 2**20)
