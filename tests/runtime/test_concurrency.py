"""Several threads running steps of one session (queue runners, TF1 training threads).

Updates with ``use_locking=True`` (and assignments, which TF1's resource variables
always lock) lose nothing; updates without it may race but every value anybody sees
is one some update wrote; a failed step's rollback never undoes another step's write.
"""
import sys
import threading

import numpy as np
import pytest

import tfnb as tf
from tfnb.ops import core
from tfnb.runtime.state import SessionState

JOIN_SECONDS = 120


@pytest.fixture(autouse=True)
def _frequent_thread_switches():
    """Threads switch every 10 us instead of every 5 ms, so races show up in short runs."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def _run_threads(*bodies, stop=None):
    """Runs each callable in its own thread, all starting together; re-raises the first
    failure (after setting the Event ``stop``, if given, so that readers end)."""
    errors = []
    start = threading.Barrier(len(bodies))  # all start together: their steps overlap

    def guarded(body):
        try:
            start.wait(JOIN_SECONDS)
            body()
        except BaseException as exc:  # noqa: BLE001 - reported in the test's thread
            errors.append(exc)
            if stop is not None:
                stop.set()

    threads = [threading.Thread(target=guarded, args=(b,), daemon=True) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_SECONDS)
    assert not any(t.is_alive() for t in threads), "threads still running after %ds" % JOIN_SECONDS
    if errors:
        raise errors[0]


def _repeat(n, fn):
    def body():
        for _ in range(n):
            fn()
    return body


# ----------------------------------------------------------------------------------------------
# Locked updates are exact
# ----------------------------------------------------------------------------------------------
def test_assign_add_and_assign_sub_lose_no_update():
    up = tf.Variable(0, dtype=tf.int64)
    down = tf.Variable(np.zeros(3), dtype=tf.float64)
    inc = up.assign_add(tf.constant(1, tf.int64), use_locking=True).op
    dec = tf.assign_sub(down, tf.constant([1.0, 2.0, 3.0], tf.float64), use_locking=True).op
    n = 3000
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        _run_threads(*[_repeat(n, lambda: sess.run(inc)) for _ in range(4)],
                     *[_repeat(n, lambda: sess.run(dec)) for _ in range(4)])
        assert sess.run(up) == 4 * n
        np.testing.assert_array_equal(sess.run(down), [-4.0 * n, -8.0 * n, -12.0 * n])


def test_scatter_updates_lose_no_update():
    table = tf.Variable(np.zeros((16, 64)), dtype=tf.float64)
    ids = np.array([3, 0, 3, 15, 7, 0, 3])  # overlapping rows, repeated within one update
    add = tf.scatter_add(table, ids, np.ones((7, 64))).op
    sub = tf.scatter_sub(table, ids[::2], np.full((4, 64), 0.5)).op
    n = 1000
    with tf.Session() as sess:
        sess.run(table.initializer)
        _run_threads(*[_repeat(n, lambda: sess.run(add)) for _ in range(3)],
                     _repeat(n, lambda: sess.run(sub)))
        want = np.zeros((16, 64))
        np.add.at(want, ids, 3.0 * n)
        np.add.at(want, ids[::2], -0.5 * n)
        np.testing.assert_array_equal(sess.run(table), want)


_OPTIMIZERS = {
    "GradientDescent": lambda: tf.train.GradientDescentOptimizer(0.01, use_locking=True),
    "Momentum": lambda: tf.train.MomentumOptimizer(0.01, 0.9, use_locking=True),
    "Nesterov": lambda: tf.train.MomentumOptimizer(0.01, 0.9, use_locking=True,
                                                   use_nesterov=True),
    "Adagrad": lambda: tf.train.AdagradOptimizer(0.1, use_locking=True),
    "Adadelta": lambda: tf.train.AdadeltaOptimizer(1.0, use_locking=True),
    "RMSProp": lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.5, use_locking=True),
    "CenteredRMSProp": lambda: tf.train.RMSPropOptimizer(0.01, centered=True, use_locking=True),
    "Ftrl": lambda: tf.train.FtrlOptimizer(0.1, l1_regularization_strength=0.001,
                                           use_locking=True),
}


def _constant_gradient_update(make_opt, sparse):
    """(variable, optimizer, update op) where every step applies the same gradient, so the
    result after n updates does not depend on which thread ran which (only on n)."""
    # 1024 elements: NumPy releases the GIL while it computes, so updates overlap.
    w = tf.Variable(np.linspace(-1.0, 1.0, 1024).reshape(8, 128), dtype=tf.float64)
    coef = tf.constant(np.linspace(0.1, 2.0, 1024).reshape(8, 128), tf.float64)
    if sparse:
        rows = tf.constant([4, 1, 1, 3], tf.int32)  # a repeated row: duplicates are summed
        loss = tf.reduce_sum(tf.gather(w, rows) * tf.gather(coef, rows))
    else:
        loss = tf.reduce_sum(w * coef)
    opt = make_opt()
    grads = opt.compute_gradients(loss, [w])
    assert isinstance(grads[0][0], tf.IndexedSlices) == sparse
    return w, opt, opt.apply_gradients(grads)


def _state_after(make_opt, sparse, threads, steps):
    tf.reset_default_graph()
    w, opt, train = _constant_gradient_update(make_opt, sparse)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        _run_threads(*[_repeat(steps, lambda: sess.run(train)) for _ in range(threads)])
        return [sess.run(w)] + [sess.run(opt.get_slot(w, s)) for s in opt.get_slot_names()]


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("kind", sorted(_OPTIMIZERS))
def test_locked_optimizer_updates_lose_no_step(kind, sparse):
    n = 1000
    threaded = _state_after(_OPTIMIZERS[kind], sparse, 4, n)
    sequential = _state_after(_OPTIMIZERS[kind], sparse, 1, 4 * n)
    for got, want in zip(threaded, sequential):
        np.testing.assert_array_equal(got, want)


def test_locked_adam_update_loses_no_step():
    # Adam's beta powers are separate variables that the optimizer updates with a read and
    # an assign (racy across steps in TF1 too): here they are constants, so every step applies
    # the same update and only their number matters.
    def state_after(threads, steps, use_locking=True):
        tf.reset_default_graph()
        w = tf.Variable(np.linspace(-1.0, 1.0, 8), dtype=tf.float64)
        m = tf.Variable(np.zeros(8), dtype=tf.float64)
        v = tf.Variable(np.zeros(8), dtype=tf.float64)
        scalars = [tf.constant(x, tf.float64) for x in (0.9, 0.999, 0.01, 0.9, 0.999, 1e-8)]
        grad = tf.constant(np.arange(1.0, 9.0), tf.float64)
        step = core.op("ResourceApplyAdam", [w.handle, m.handle, v.handle] + scalars + [grad],
                       {"use_locking": use_locking})
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            _run_threads(*[_repeat(steps, lambda: sess.run(step)) for _ in range(threads)])
            return sess.run([w, m, v])

    n = 200
    for got, want in zip(state_after(4, n), state_after(1, 4 * n)):
        np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------------------------------------
# Unlocked ("Hogwild") updates race, but only whole values are ever seen
# ----------------------------------------------------------------------------------------------
def test_unlocked_dense_updates_only_install_whole_values():
    # Adam writes into spare buffers of the variable and its slots. Every element of w, m and
    # v gets the same update, so any value some step installed has all elements equal.
    w = tf.Variable(np.zeros(1 << 16, np.float32))
    loss = tf.reduce_sum(w)
    opt = tf.train.AdamOptimizer(0.01)  # use_locking=False
    train = opt.minimize(loss)
    watched = [w, opt.get_slot(w, "m"), opt.get_slot(w, "v")]
    snapshots = [tf.identity(x) for x in watched]  # one read each (each use of x reads anew)
    spread = [tf.reduce_max(x) - tf.reduce_min(x) for x in snapshots]
    stop = threading.Event()
    seen = []

    def reader():
        while not stop.is_set():
            seen.append(max(sess.run(spread)))

    def trainer():
        try:
            for _ in range(60):
                sess.run(train)
        finally:
            stop.set()

    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        _run_threads(trainer, trainer, trainer, reader, reader, stop=stop)
        seen.append(max(sess.run(spread)))
    assert seen and max(seen) == 0.0


def test_unlocked_row_updates_only_show_whole_rows():
    # Sparse gradient descent changes rows in place. Each row gets a gradient with all its
    # elements equal, so every row anybody reads has all its elements equal.
    table = tf.Variable(np.zeros((64, 4096), np.float32))
    ids = tf.placeholder(tf.int32, [None])
    loss = tf.reduce_sum(tf.nn.embedding_lookup(table, ids))
    train = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    snapshot = tf.identity(table)
    row_spread = tf.reduce_max(tf.reduce_max(snapshot, 1) - tf.reduce_min(snapshot, 1))
    stop = threading.Event()
    seen = []

    def reader():
        while not stop.is_set():
            seen.append(sess.run(row_spread))
            seen.append(np.ptp(sess.run(table), axis=1).max())

    def trainer(seed):
        rng = np.random.RandomState(seed)

        def body():
            try:
                for _ in range(150):
                    sess.run(train, {ids: rng.choice(64, 48, replace=False)})
            finally:
                stop.set()
        return body

    with tf.Session() as sess:
        sess.run(table.initializer)
        _run_threads(trainer(1), trainer(2), reader, reader, stop=stop)
        seen.append(np.ptp(sess.run(table), axis=1).max())
    assert seen and max(seen) == 0.0


# ----------------------------------------------------------------------------------------------
# A failed step undoes only its own writes
# ----------------------------------------------------------------------------------------------
def test_failed_steps_never_undo_concurrent_increments():
    counter = tf.Variable(0, dtype=tf.int64)
    inc = counter.assign_add(tf.constant(1, tf.int64)).op
    zero = tf.placeholder(tf.int64, [])
    x = tf.placeholder(tf.float32, [200, 200])
    touch = counter.assign_add(zero)  # installs a new value (the same number), then fails:
    with tf.control_dependencies([touch]):
        failing = tf.check_numerics(tf.matmul(x, x), "bad input")
    bad = {zero: 0, x: np.full((200, 200), np.nan, np.float32)}
    n = 1000
    failures = []

    def fail_repeatedly():
        for _ in range(200):
            with pytest.raises(tf.errors.InvalidArgumentError, match="bad input"):
                sess.run(failing, bad)
            failures.append(1)

    with tf.Session() as sess:
        sess.run(counter.initializer)
        _run_threads(*[_repeat(n, lambda: sess.run(inc)) for _ in range(3)],
                     fail_repeatedly, fail_repeatedly)
        assert len(failures) == 400
        assert sess.run(counter) == 3 * n


def test_rollback_keeps_a_write_made_while_the_failing_step_ran():
    # Deterministic: the failing step assigns, then waits on a queue; meanwhile another
    # step writes the variable; then the failing step gets a bad value and rolls back.
    v = tf.Variable(1.0)
    rows = tf.Variable(np.zeros((4, 2), np.float32))

    def row_step(row):  # sparse gradient descent: rows[row] -= 0.5, in place
        loss = tf.reduce_sum(tf.nn.embedding_lookup(rows, tf.constant([row])))
        return tf.train.GradientDescentOptimizer(0.5).minimize(loss)

    q = tf.FIFOQueue(1, tf.float32, shapes=[[]])
    feed = tf.placeholder(tf.float32, [])
    enqueue = q.enqueue(feed)
    first = tf.group(v.assign(2.0), row_step(0))
    with tf.control_dependencies([first]):
        waits = tf.check_numerics(q.dequeue(), "bad value")
    other = tf.group(v.assign(3.0), row_step(3))
    config = tf.ConfigProto(operation_timeout_in_ms=JOIN_SECONDS * 1000)
    with tf.Session(config=config) as sess:
        sess.run(tf.global_variables_initializer())
        started = threading.Event()

        def failing_step():
            started.set()
            with pytest.raises(tf.errors.InvalidArgumentError, match="bad value"):
                sess.run(waits)

        def other_step():
            assert started.wait(JOIN_SECONDS)
            for _ in range(JOIN_SECONDS * 100):  # until the failing step has written both
                value, table = sess.run([v, rows])
                if value == 2.0 and table[0, 0] == -0.5:
                    break
                threading.Event().wait(0.01)
            else:
                raise AssertionError("the failing step never wrote")
            sess.run(other)
            sess.run(enqueue, {feed: np.nan})

        _run_threads(failing_step, other_step)
        assert sess.run(v) == 3.0  # today's rollback restored 1.0 over it
        # rows: the other step wrote after the failing one, so the failing step's row stays
        # (rollback never undoes what another step may have built on)
        np.testing.assert_array_equal(sess.run(rows), [[-.5, -.5], [0, 0], [0, 0], [-.5, -.5]])

        # Without another write in between, the failed step's writes are all undone.
        def alone():
            with pytest.raises(tf.errors.InvalidArgumentError, match="bad value"):
                sess.run(waits)
        _run_threads(alone, lambda: sess.run(enqueue, {feed: np.inf}))
        assert sess.run(v) == 3.0
        np.testing.assert_array_equal(sess.run(rows), [[-.5, -.5], [0, 0], [0, 0], [-.5, -.5]])


# ----------------------------------------------------------------------------------------------
# The journal rule, unit by unit
# ----------------------------------------------------------------------------------------------
def _step(state):
    """Starts a 'step' in this thread: returns its journal (as Session._call does)."""
    state.journal = []
    return state.journal


def test_rollback_undoes_only_writes_nobody_replaced():
    state = SessionState()
    a, b = state.variable_slot("a"), state.variable_slot("b")
    a.write(np.float32(1))
    b.write(np.float32(1))
    journal = _step(state)
    a.write(np.float32(2))
    b.write(np.float32(2))
    b.write(np.float32(3))  # two writes of one step: both undone
    state.journal = None
    a.write(np.float32(7))  # another step writes a after the failing step did
    versions = (a.version, b.version)
    state.rollback(journal)
    assert a.read() == 7 and a.version == versions[0]  # kept
    assert b.read() == 1 and b.version > versions[1]  # undone, with a new version


def test_rollback_stops_at_the_first_write_of_another_step():
    state = SessionState()
    a = state.variable_slot("a")
    a.write(np.float32(1))
    journal = _step(state)
    a.write(np.float32(2))
    state.journal = None
    a.write(np.float32(5))  # another step, between two writes of the failing step
    state.journal = journal
    a.write(np.float32(6))
    state.journal = None
    state.rollback(journal)
    # The failing step's last write is undone back to the other step's 5; its first write
    # (under 5) is not.
    assert a.read() == 5


def test_rollback_of_in_place_rows():
    state = SessionState()
    t = state.variable_slot("t")
    t.write(np.zeros((3, 2), np.float32))
    journal = _step(state)
    before = t.version
    t.update_rows(np.array([1]), lambda r: r + 1)
    v = t.read()
    assert t.version > before
    held = v.copy()  # nobody holds the array: the undo restores the rows in place
    del v
    state.journal = None
    state.rollback(journal)
    assert not t.read().any() and t.version > before + 1
    np.testing.assert_array_equal(held, [[0, 0], [1, 1], [0, 0]])

    journal = _step(state)
    t.update_rows(np.array([2]), lambda r: r + 4)
    reader = t.read()  # a reader holds the updated array: the undo must not change it
    state.journal = None
    state.rollback(journal)
    np.testing.assert_array_equal(reader, [[0, 0], [0, 0], [4, 4]])
    assert t.read() is not reader and not t.read().any()

    journal = _step(state)
    t.update_rows(np.array([0]), lambda r: r + 1)
    state.journal = None
    t.update_rows(np.array([2]), lambda r: r + 9)  # another step's rows, after: both kept
    state.rollback(journal)
    np.testing.assert_array_equal(t.read(), [[1, 1], [0, 0], [9, 9]])


def test_versions_only_grow():
    state = SessionState()
    s = state.variable_slot("s")
    seen = [s.version]
    s.write(np.zeros(2))
    seen.append(s.version)
    journal = _step(state)
    s.write(np.ones(2))
    seen.append(s.version)
    state.journal = None
    state.rollback(journal)
    seen.append(s.version)
    s.update_rows(np.array([0]), lambda r: r + 1)
    seen.append(s.version)
    assert seen == sorted(set(seen))
