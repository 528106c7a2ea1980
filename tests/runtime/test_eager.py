"""Eager-by-default interactive sessions: values at creation, never stale, TF1 side effects kept."""
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
