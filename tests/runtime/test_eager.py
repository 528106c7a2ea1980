"""Eager-by-default interactive sessions: values at creation, never stale, TF1 side effects kept."""
import os
import subprocess
import sys

import numpy as np
import pytest

import tfnb as tf
from tfnb.runtime import eager


@pytest.fixture
def interactive():
    g = tf.Graph()
    with g.as_default():
        sess = tf.InteractiveSession(graph=g, eager=True)
        yield sess
        sess.close()


def test_values_shown_at_creation(interactive):
    a = tf.constant([1.0, 2.0])
    b = a * 3.0
    assert "numpy=" in repr(b) and "[3. 6.]" in repr(b)
    np.testing.assert_array_equal(b.numpy(), [3.0, 6.0])
    np.testing.assert_array_equal(np.asarray(b), [3.0, 6.0])
    assert float(tf.reduce_sum(b)) == 9.0


def test_variable_initialized_when_created(interactive):
    W = tf.Variable(tf.zeros([3, 2]))
    assert "numpy=" in repr(W)
    np.testing.assert_array_equal(W.numpy(), np.zeros((3, 2)))


def test_placeholder_downstream_is_symbolic(interactive):
    x = tf.placeholder(tf.float32, [None])
    y = x + 1.0
    assert "numpy" not in repr(y)
    assert interactive.run(y, {x: [1.0]})[0] == 2.0


def test_cached_value_never_stale_after_assign_and_training(interactive):
    v = tf.Variable(1.0)
    y = v * 2.0
    assert y.numpy() == 2.0
    upd = v.assign(5.0)
    assert y.numpy() == 2.0  # assignments do not run at creation (TF1 semantics)
    interactive.run(upd)
    assert y.numpy() == 10.0
    loss = tf.square(v)
    train = tf.train.GradientDescentOptimizer(0.25).minimize(loss)
    assert v.numpy() == 5.0  # building the train op did not train
    interactive.run(train)
    assert v.numpy() == 2.5 and y.numpy() == 5.0 and loss.numpy() == 6.25


def test_reinitializing_resets_and_invalidates(interactive):
    v = tf.Variable(3.0)
    y = v + 1.0
    interactive.run(v.assign_add(1.0))
    assert y.numpy() == 5.0
    interactive.run(tf.global_variables_initializer())
    assert y.numpy() == 4.0


def test_eager_runtime_error_raised_at_creation(interactive):
    a = tf.placeholder_with_default(tf.constant([1.0, 2.0, 3.0]), [None])  # length unknown statically
    with pytest.raises(tf.errors.InvalidArgumentError, match="Reshape"):
        tf.reshape(a, [2])


def test_eval_still_recomputes(interactive):
    v = tf.Variable(1.0)
    assert v.eval() == 1.0
    assert tf.get_default_session() is interactive


def test_switch_turns_eager_off_and_on():
    g = tf.Graph()
    try:
        with g.as_default():
            tf.enable_eager_execution()
            assert tf.executing_eagerly()
            c = tf.constant(2.0) * 2.0
            assert c.numpy() == 4.0
            tf.disable_eager_execution()
            assert not tf.executing_eagerly()
            d = tf.constant(1.0) + 1.0
            assert "numpy" not in repr(d)
    finally:
        eager._eager_mode = None


def test_plain_scripts_are_lazy():
    assert not tf.executing_eagerly()
    c = tf.constant(1.0) + 1.0
    assert "numpy" not in repr(c)


@pytest.fixture
def eager_switch_restored():
    yield
    eager._eager_mode = None


_PLAIN_SCRIPT = """
import tfnb as tf
tf.InteractiveSession()
W = tf.Variable(tf.zeros([3, 2]))
print(W.eval().tolist(), tf.executing_eagerly())
"""


@pytest.mark.parametrize("how", ["script", "python -i"])
def test_interactive_session_is_eager_outside_ipython(how, tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root)
    if how == "script":
        script = tmp_path / "plain.py"
        script.write_text(_PLAIN_SCRIPT)
        cmd, stdin = [sys.executable, "-W", "error", str(script)], None
    else:
        cmd, stdin = [sys.executable, "-W", "error", "-i", "-q"], _PLAIN_SCRIPT
    out = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "[[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]] True" in out.stdout


def test_interactive_session_is_eager_by_default_here():
    sess = tf.InteractiveSession()
    try:
        W = tf.Variable(tf.zeros([3, 2]))
        np.testing.assert_array_equal(W.eval(), np.zeros((3, 2)))
        assert tf.executing_eagerly() and "numpy=" in repr(tf.constant(2.0) * 2.0)
    finally:
        sess.close()
    assert not tf.executing_eagerly()


def test_disable_eager_execution_gives_tf1_lazy_interactive_sessions(eager_switch_restored):
    tf.disable_eager_execution()
    sess = tf.InteractiveSession()
    try:
        assert not tf.executing_eagerly()
        W = tf.Variable(tf.zeros([3, 2]))
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value"):
            W.eval()
        tf.global_variables_initializer().run()
        assert W.eval().shape == (3, 2)
    finally:
        sess.close()
    tf.enable_eager_execution()  # opting in again: the default graph turns eager
    assert tf.executing_eagerly()
    tf.get_default_session().close()


def test_tf_session_stays_lazy():
    v = tf.Variable(2.0)
    y = v * 3.0
    with tf.Session() as sess:
        assert not tf.executing_eagerly() and "numpy" not in repr(y)
        with pytest.raises(tf.errors.FailedPreconditionError):
            sess.run(y)
        sess.run(v.initializer)
        assert sess.run(y) == 6.0


def _seeded_program(make_session):
    """A TF1 program with seeded random initializers; returns what it shows and computes."""
    g = tf.Graph()
    with g.as_default():
        sess = make_session(g)
        tf.set_random_seed(1234)
        a = tf.Variable(tf.random_normal([3]), name="a")                   # graph seed only
        b = tf.Variable(tf.truncated_normal([2, 2], stddev=0.1, seed=7))   # graph + op seed
        c = tf.get_variable("c", [2, 3])                                    # glorot uniform
        d = tf.get_variable("d", [4], initializer=tf.random_uniform_initializer(-1.0, 1.0))
        r = tf.random_uniform([4], seed=3)
        noisy = tf.while_loop(lambda i, x: i < 2,
                              lambda i, x: (i + 1, x + tf.random_normal([2], seed=9)),
                              [0, tf.zeros([2])])[1]
        shown = None  # what an eager session initialized the variables with, at creation
        if isinstance(sess, tf.InteractiveSession):
            shown = [sess.run(t) for t in (a, b, c, d)]
        init = tf.global_variables_initializer()
        runs = []
        for _ in range(2):  # TF1 re-draws on every run of the initializer
            sess.run(init)
            runs.append(sess.run([a, b, c, d, r, noisy]))
        sess.close()
        return shown, runs


def test_seeded_initializers_give_tf1_numbers_in_an_eager_interactive_session():
    shown, eager_runs = _seeded_program(lambda g: tf.InteractiveSession(graph=g))
    _, lazy_runs = _seeded_program(lambda g: tf.Session(graph=g))
    for eager_run, lazy_run in zip(eager_runs, lazy_runs):
        for e, l in zip(eager_run, lazy_run):
            np.testing.assert_array_equal(e, l)
    for s, first in zip(shown, eager_runs[0]):  # initialized at creation with the first draw
        np.testing.assert_array_equal(s, first)
    assert not np.array_equal(eager_runs[0][0], eager_runs[1][0])  # the stream moved on


def test_shown_random_value_is_the_first_run_value(interactive):
    r = tf.random_normal([3], seed=11)
    shown = r.numpy()
    assert "numpy=" in repr(r)
    np.testing.assert_array_equal(r.eval(), shown)      # eager evaluation drew from a copy
    assert not np.array_equal(r.eval(), shown)           # later runs continue the stream


def test_ipython_is_eager_by_default_and_locations_name_the_cell():
    ipy = pytest.importorskip("IPython.core.interactiveshell")
    shell = ipy.InteractiveShell.instance()
    try:
        res = shell.run_cell("import tfnb as tf\nx = tf.constant([1.0, 2.0])\ny = x * 2.0\ny",
                             store_history=True)
        assert res.error_in_exec is None
        y = shell.user_ns["y"]
        assert "numpy=[2. 4.]" in repr(y)
        assert str(y.op.location).startswith("cell In[") and y.op.location.lineno == 3
    finally:
        tf.get_default_graph()._eager_evaluator.session.close()
        ipy.InteractiveShell.clear_instance()
        tf.reset_default_graph()


def _random_loop_program(make_session):
    """A while loop drawing random numbers, run with its gradient (the plan that stashes)."""
    g = tf.Graph()
    with g.as_default():
        sess = make_session(g)
        x = tf.Variable(tf.ones([2]))
        sess.run(x.initializer)
        w = tf.while_loop(lambda i, a: i < 2,
                          lambda i, a: (i + 1, a * tf.random_normal([2], seed=9)), [0, x])[1]
        grad = tf.gradients(tf.reduce_sum(w), x)[0]
        runs = [sess.run([w, grad]) for _ in range(2)]
        sess.close()
        return runs


def test_function_bodies_evaluated_eagerly_keep_the_sessions_random_streams():
    eager_runs = _random_loop_program(lambda g: tf.InteractiveSession(graph=g))
    lazy_runs = _random_loop_program(lambda g: tf.Session(graph=g))
    for eager_run, lazy_run in zip(eager_runs, lazy_runs):
        for e, l in zip(eager_run, lazy_run):
            np.testing.assert_array_equal(e, l)
