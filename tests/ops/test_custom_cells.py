"""User-defined RNN cells that create their variables in ``call`` (TF1: an RNNCell is a layer;
its first call creates, later calls share), with static_rnn and dynamic_rnn."""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients

T, B, D, H = 3, 2, 4, 5


class MyCell(tf.nn.rnn_cell.RNNCell):
    """``h' = tanh([x, h] @ w + b)`` with w and b made by get_variable in ``call``."""

    def __init__(self, units=H, name=None, reuse=None):
        super().__init__(name=name, reuse=reuse)
        self._units = units

    state_size = property(lambda self: self._units)
    output_size = property(lambda self: self._units)

    def call(self, inputs, state):
        depth = inputs.shape[1].value + self._units
        w = tf.get_variable("w", [depth, self._units], dtype=inputs.dtype,
                            initializer=tf.random_normal_initializer(seed=3))
        b = tf.get_variable("b", [self._units], dtype=inputs.dtype,
                            initializer=tf.constant_initializer(0.1))
        out = tf.tanh(tf.matmul(tf.concat([inputs, state], 1), w) + b)
        return out, out


class ProjectedCell(tf.nn.rnn_cell.RNNCell):
    """Wraps a cell and projects its output with ``tf.layers.dense`` inside ``call``."""

    def __init__(self, cell, units):
        super().__init__()
        self._cell = cell
        self._units = units

    state_size = property(lambda self: self._cell.state_size)
    output_size = property(lambda self: self._units)

    def call(self, inputs, state):
        out, new_state = self._cell(inputs, state)
        return tf.layers.dense(out, self._units, name="projection"), new_state


def _numpy_rnn(xs, w, b):
    h = np.zeros((xs.shape[1], w.shape[1]), xs.dtype)
    outs = []
    for x in xs:
        h = np.tanh(np.concatenate([x, h], 1) @ w + b)
        outs.append(h)
    return np.stack(outs), h


def _inputs():
    return np.random.RandomState(0).randn(T, B, D).astype(np.float32)


def test_custom_cell_static_rnn_creates_once_and_shares():
    xs_np = _inputs()
    cell = MyCell()
    outs, state = tf.nn.static_rnn(cell, [tf.constant(x) for x in xs_np], dtype=tf.float32)
    names = [v.name for v in tf.global_variables()]
    assert names == ["rnn/my_cell/w:0", "rnn/my_cell/b:0"]
    assert [v.name for v in cell.trainable_variables] == names
    assert outs[1].op.name.startswith("rnn/my_cell/")  # later calls: the first call's scope
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got_outs, got_state, w, b = sess.run([outs, state] + cell.trainable_variables)
    want_outs, want_state = _numpy_rnn(xs_np, w, b)
    np.testing.assert_allclose(np.stack(got_outs), want_outs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_state, want_state, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b, 0.1)


def test_custom_cell_dynamic_rnn_matches_numpy():
    xs_np = _inputs()
    cell = MyCell(name="custom")
    outs, state = tf.nn.dynamic_rnn(cell, tf.constant(xs_np), dtype=tf.float32,
                                    time_major=True)
    names = [v.name for v in tf.global_variables()]
    assert names == ["rnn/custom/w:0", "rnn/custom/b:0"]
    assert [v.name for v in cell.trainable_variables] == names
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got_outs, got_state, w, b = sess.run([outs, state] + cell.trainable_variables)
    want_outs, want_state = _numpy_rnn(xs_np, w, b)
    np.testing.assert_allclose(got_outs, want_outs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_state, want_state, rtol=1e-5, atol=1e-6)


def test_custom_cell_dynamic_rnn_gradients():
    def fn(x):
        outs, _ = tf.nn.dynamic_rnn(MyCell(3), x, dtype=tf.float64)
        return outs
    check_gradients(fn, [np.random.RandomState(1).randn(2, 3, 2)])


def test_two_cells_and_repeated_calls():
    x = tf.constant(np.ones((B, D), np.float32))
    h = tf.zeros([B, H])
    first, second = MyCell(), MyCell()
    first(x, h)
    first(x, h)  # shares: no new variable
    second(x, h)
    assert [v.op.name for v in tf.global_variables()] == [
        "my_cell/w", "my_cell/b", "my_cell_1/w", "my_cell_1/b"]
    assert [v.op.name for v in second.trainable_variables] == ["my_cell_1/w", "my_cell_1/b"]
    with pytest.raises(ValueError, match="already exists"):
        MyCell(name="my_cell")(x, h)  # reuse unset: TF1 refuses to share silently
    shared = MyCell(name="my_cell", reuse=True)
    shared(x, h)
    assert [v.op.name for v in shared.trainable_variables] == ["my_cell/w", "my_cell/b"]


@pytest.mark.parametrize("unroll", ["static", "dynamic"])
def test_wrapper_creating_a_layer_and_calling_a_cell_in_call(unroll):
    xs_np = _inputs()
    cell = ProjectedCell(tf.nn.rnn_cell.BasicRNNCell(H), 2)
    if unroll == "static":
        outs, state = tf.nn.static_rnn(cell, [tf.constant(x) for x in xs_np], dtype=tf.float32)
        outs = tf.stack(outs)
    else:
        outs, state = tf.nn.dynamic_rnn(cell, tf.constant(xs_np), dtype=tf.float32,
                                        time_major=True)
    names = [v.op.name for v in tf.global_variables()]
    assert names == ["rnn/projected_cell/basic_rnn_cell/kernel",
                     "rnn/projected_cell/basic_rnn_cell/bias",
                     "rnn/projected_cell/projection/kernel",
                     "rnn/projected_cell/projection/bias"]
    assert [v.op.name for v in cell.trainable_variables] == names
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got, k, b, pk, pb = sess.run([outs] + cell.trainable_variables)
    hs, _ = _numpy_rnn(xs_np, k, b)
    np.testing.assert_allclose(got, hs @ pk + pb, rtol=1e-5, atol=1e-6)
