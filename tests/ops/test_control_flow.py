"""cond / case / switch_case / while_loop: values, gradients (numerical), nesting, stashes,
side effects of untaken branches, and construction-time errors naming the construct."""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients


def _run(fetches, feed=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed)


def test_cond_values_structures_and_only_taken_branch_runs():
    p = tf.placeholder(tf.bool, [])
    v = tf.Variable(0.0)

    def t():
        with tf.control_dependencies([v.assign_add(1.0)]):
            return {"a": tf.constant(1.0), "b": (tf.constant([1, 2]), tf.constant(3.0))}

    def f():
        with tf.control_dependencies([v.assign_add(100.0)]):
            return {"a": tf.constant(-1.0), "b": (tf.constant([3, 4]), tf.constant(5.0))}
    out = tf.cond(p, t, f)
    assert out["b"][0].dtype == tf.int32
    with tf.Session() as sess:
        sess.run(v.initializer)
        r = sess.run(out, {p: True})
        assert r["a"] == 1.0 and list(r["b"][0]) == [1, 2]
        assert sess.run(v) == 1.0  # the false branch's assign did not happen
        r = sess.run(out, {p: False})
        assert r["a"] == -1.0 and sess.run(v) == 101.0


def test_cond_gradients_numerically_and_nested():
    def build(x, w):
        inner = lambda: tf.cond(tf.reduce_sum(x) > 100.0, lambda: x * 0.0, lambda: tf.sin(x) * w)
        return tf.cond(tf.reduce_sum(w) > 0.0, inner, lambda: x * x)
    check_gradients(build, [np.random.randn(3), np.abs(np.random.randn(3)) + 0.1])
    check_gradients(build, [np.random.randn(3), -np.abs(np.random.randn(3)) - 0.1])


def test_case_and_switch_case():
    x = tf.placeholder(tf.int32, [])
    r = tf.case([(tf.equal(x, 1), lambda: tf.constant(10)), (tf.equal(x, 2), lambda: tf.constant(20))],
                default=lambda: tf.constant(-1))
    s = tf.switch_case(x, [lambda: tf.constant(0.5), lambda: tf.constant(1.5)],
                       default=lambda: tf.constant(9.0))
    assert [_run(r, {x: i}) for i in (1, 2, 3)] == [10, 20, -1]
    assert [_run(s, {x: i}) for i in (0, 1, 7)] == [0.5, 1.5, 9.0]
    ex = tf.case([(x > 0, lambda: tf.constant(1)), (x > 1, lambda: tf.constant(2))],
                 default=lambda: tf.constant(0), exclusive=True)
    assert _run(ex, {x: 1}) == 1
    with pytest.raises(tf.errors.InvalidArgumentError):
        _run(ex, {x: 5})


def test_while_loop_data_dependent_iterations_and_maximum_iterations():
    n = tf.placeholder(tf.int32, [])
    i, s = tf.while_loop(lambda i, s: i < n, lambda i, s: (i + 1, s + tf.cast(i, tf.float32)),
                         [0, 0.0])
    assert _run([i, s], {n: 5}) == [5, 10.0]
    assert _run([i, s], {n: 0}) == [0, 0.0]
    j = tf.while_loop(lambda j: j < 1000, lambda j: j + 1, [0], maximum_iterations=n)
    assert _run(j, {n: 7}) == 7


def test_while_loop_gradients_numerically_and_reading_a_variable():
    def build(x, w):
        _, y = tf.while_loop(lambda k, y: k < 3, lambda k, y: (k + 1, tf.tanh(y * w) + x),
                             [tf.constant(0), x])
        return y
    check_gradients(build, [np.random.randn(4), np.random.randn(4)])
    v = tf.Variable(np.float32(1.3))
    y = tf.while_loop(lambda k, a: k < 4, lambda k, a: (k + 1, a * v), [0, tf.constant(2.0)])[1]
    (gv,) = tf.gradients(y, v)
    r = _run({"y": y, "g": gv})
    np.testing.assert_allclose(r["y"], 2 * 1.3 ** 4, rtol=1e-6)
    np.testing.assert_allclose(r["g"], 2 * 4 * 1.3 ** 3, rtol=1e-5)


def test_nested_while_loops_gradient():
    def build(x):
        def outer_body(i, acc):
            inner = tf.while_loop(lambda j, a: j < 2, lambda j, a: (j + 1, a * tf.sin(acc) + x),
                                  [0, acc])[1]
            return i + 1, inner
        return tf.while_loop(lambda i, acc: i < 2, outer_body, [0, x])[1]
    check_gradients(build, [np.random.randn(3) * 0.5])


def test_stash_grows_with_iterations_actually_run():
    n = tf.placeholder(tf.int32, [])
    x = tf.constant(np.ones(3, np.float32))
    y = tf.while_loop(lambda k, a: k < n, lambda k, a: (k + 1, a * 1.5), [0, x])[1]
    (g,) = tf.gradients(tf.reduce_sum(y), x)
    while_op = y.op
    stash = while_op.outputs[-1]
    with tf.Session() as sess:
        for k in (0, 3, 11):
            st, gv = sess.run([stash, g], {n: k})
            assert len(st.values) == k
            np.testing.assert_allclose(gv, np.full(3, 1.5 ** k), rtol=1e-6)
        # A run that needs no gradient keeps no stash.
        assert sess.run(y, {n: 3}).tolist() == [3.375] * 3


def test_shape_invariants():
    x = tf.constant(np.zeros((1, 2), np.float32))
    with pytest.raises(ValueError, match="shape_invariants") as e:
        tf.while_loop(lambda a: tf.shape(a)[0] < 4, lambda a: tf.concat([a, a], 0), [x])
    assert "while" in str(e.value) and "test_control_flow.py" in str(e.value)
    y = tf.while_loop(lambda a: tf.shape(a)[0] < 4, lambda a: tf.concat([a, a], 0), [x],
                      shape_invariants=[tf.TensorShape([None, 2])])
    assert y.shape.as_list() == [None, 2]
    assert _run(y).shape == (4, 2)


def test_bad_inputs_are_clear_errors_at_construction():
    with pytest.raises(TypeError, match="pred must be a bool"):
        tf.cond(tf.constant(1.0), lambda: 1.0, lambda: 2.0)
    with pytest.raises(ValueError, match="scalar"):
        tf.cond(tf.constant([True, False]), lambda: 1.0, lambda: 2.0)
    with pytest.raises(TypeError, match="same structure"):
        tf.cond(tf.constant(True), lambda: (1.0, 2.0), lambda: 1.0)
    with pytest.raises(TypeError, match="float32 in true_fn but int32"):
        tf.cond(tf.constant(True), lambda: tf.constant(1.0), lambda: tf.constant(1))
    with pytest.raises(ValueError, match="same structure"):
        tf.while_loop(lambda a, b: a < 3, lambda a, b: a + 1, [0, 1])
    with pytest.raises(TypeError, match="enters the loop as int32"):
        tf.while_loop(lambda a: a < 3, lambda a: tf.cast(a, tf.float32), [0])
    with pytest.raises(TypeError, match="bool"):
        tf.while_loop(lambda a: a, lambda a: a + 1, [0])


def test_defun_batch_norm_from_the_seed_slides():
    from tfnb import function

    @function.Defun(tf.float32, tf.float32, tf.float32)
    def BatchNorm(x, scale, offset):
        mean, var = tf.nn.moments(x, [0])
        return tf.nn.batch_normalization(x, mean, var, offset, scale, 1e-3)

    x = tf.placeholder(tf.float32, [None, 3])
    gamma = tf.Variable(np.array([1.0, 2.0, 0.5], np.float32))
    beta = tf.Variable(np.array([0.0, 1.0, -1.0], np.float32))
    before = len(tf.get_default_graph().get_operations())
    y = BatchNorm(x, gamma, beta)
    added = tf.get_default_graph().get_operations()[before:]
    # One node for the function (plus the reads that turn the variable arguments into tensors).
    assert [op.type for op in added if op.type != "ReadVariableOp"] == ["Call"]
    assert y.op.type == "Call"
    xv = np.random.RandomState(0).randn(6, 3).astype(np.float32)
    mean, var = xv.mean(0), xv.var(0)
    ref = (xv - mean) / np.sqrt(var + 1e-3) * [1.0, 2.0, 0.5] + [0.0, 1.0, -1.0]
    np.testing.assert_allclose(_run(y, {x: xv}), ref, rtol=1e-4, atol=1e-5)

    def build(xx, sc, off):
        return BatchNorm(tf.cast(xx, tf.float32), tf.cast(sc, tf.float32), tf.cast(off, tf.float32))
    # float32 body: check the derived gradient against finite differences loosely
    check_gradients(lambda a, b, c: tf.reshape(tf.cast(build(a, b, c), tf.float64), [4, 3]),
                    [xv[:4].astype(np.float64), np.array([1.0, 2.0, 0.5]), np.zeros(3)],
                    eps=1e-3, rtol=2e-2, atol=2e-2)


def test_defun_grad_func_and_python_grad_func():
    from tfnb import function

    @function.Defun(tf.float32, tf.float32)
    def FakeGrad(x, dy):
        return dy * 100.0

    @function.Defun(tf.float32, grad_func=FakeGrad)
    def Square(x):
        return x * x

    @function.Defun(tf.float32, python_grad_func=lambda op, dy: [dy * -1.0])
    def Neg(x):
        return x * 3.0
    x = tf.constant(2.0)
    g1 = tf.gradients(Square(x), x)[0]
    g2 = tf.gradients(Neg(x), x)[0]
    assert _run([Square(x), g1, g2]) == [4.0, 100.0, -1.0]


def test_tf_function_traces_once_per_signature():
    calls = []

    @tf.function
    def f(a, scale):
        calls.append(1)
        return a * scale

    x = tf.placeholder(tf.float32, [None])
    y1 = f(x, 2.0)
    y2 = f(x, 2.0)
    y3 = f(x, 3.0)  # a different Python argument: a new trace
    assert len(calls) == 2 and f.trace_count == 2
    assert _run([y1, y2, y3], {x: [1.0, 2.0]})[2].tolist() == [3.0, 6.0]
