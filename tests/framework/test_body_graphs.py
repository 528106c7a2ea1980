"""Code inside ``while_loop`` bodies and ``cond`` branches (function graphs) as TF1 runs it:
ops on values of enclosing graphs stay in the body (``name_scope(..., values)`` keeps the
body graph), and variables made there -- by ``get_variable``, ``tf.Variable`` or layers --
live in the outermost graph with their initial values (TF1's ``init_scope``).
"""
import numpy as np
import pytest

import tfnb as tf


def _loop(body, n, init=0.0):
    return tf.while_loop(lambda i, a: i < n, body, [tf.constant(0), tf.constant(init)])[1]


# --- name_scope / variable_scope with values of an enclosing graph ----------------------------
def test_embedding_lookup_of_outer_params_in_cond_in_while_loop():
    p = np.arange(12, dtype=np.float32).reshape(6, 2)
    params = tf.constant(p)

    def body(i, acc):
        ids = tf.stack([i, i + 1])
        v = tf.cond(i > 1, lambda: tf.reduce_sum(tf.nn.embedding_lookup(params, ids)),
                    lambda: tf.constant(0.0))
        return i + 1, acc + v

    r = _loop(body, 4)
    (g,) = tf.gradients(r, params)
    want_g = np.zeros_like(p)
    for i in (2, 3):
        want_g[[i, i + 1]] += 1.0
    with tf.Session() as sess:
        got, got_g = sess.run([r, tf.convert_to_tensor(g)])
    assert got == pytest.approx(sum(p[[i, i + 1]].sum() for i in (2, 3)))
    np.testing.assert_allclose(got_g, want_g)


def test_name_scopes_with_outer_values_keep_the_body_graph():
    outer = tf.constant([1.0, 2.0], name="outer")
    seen = {}

    def body(i, acc):
        body_graph = tf.get_default_graph()
        with tf.name_scope(None, "scaled", [outer]) as scope:
            seen["name_scope"] = (tf.get_default_graph() is body_graph, scope)
            y = tf.multiply(outer, 2.0, name="y")
        with tf.variable_scope(None, default_name="vs", values=[outer]):
            seen["variable_scope"] = tf.get_default_graph() is body_graph
            z = tf.reduce_sum(y, name="z")
        seen["y"] = y
        return i + 1, acc + z

    r = _loop(body, 3)
    assert seen["name_scope"] == (True, "scaled/")
    assert seen["variable_scope"] is True
    assert seen["y"].graph is not r.graph and seen["y"].graph.outer_graph is r.graph
    with tf.Session() as sess:
        assert sess.run(r) == pytest.approx(18.0)


def test_name_scope_outside_bodies_still_follows_the_values_graph():
    g = tf.Graph()
    with g.as_default():
        a = tf.constant(1.0)
    with tf.name_scope("in_g", values=[a]):
        b = tf.identity(a)
    assert b.graph is g and b.op.name == "in_g/Identity"


def test_a_tensor_leaked_from_a_body_does_not_redirect_ops_into_the_body():
    leaked = []

    def body(i, acc):
        leaked.append(acc * 2.0)
        return i + 1, acc + 1.0

    r = _loop(body, 2)
    with tf.name_scope(None, "use", [leaked[0]]) as scope:
        assert tf.get_default_graph() is r.graph and scope == "use/"
        c = tf.constant(1.0)
    assert c.graph is r.graph


# --- variables made in bodies -----------------------------------------------------------------
def test_get_variable_with_a_value_initializer_in_a_while_body():
    made = []

    def body(i, acc):
        with tf.variable_scope("cell", reuse=tf.AUTO_REUSE):
            w = tf.get_variable("w", initializer=np.array([1.0, 2.0, 3.0], np.float32))
            s = tf.get_variable("s", initializer=[0.5, 0.5, 0.5])
        made.append((w, s))
        return i + 1, acc + tf.reduce_sum(w * s)

    r = _loop(body, 3)
    w, s = made[0]
    root = tf.get_default_graph()
    assert w.graph is root and w.initial_value.graph is root and w.initializer.graph is root
    assert [v.op.name for v in tf.global_variables()] == ["cell/w", "cell/s"]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(r) == pytest.approx(9.0)
        np.testing.assert_allclose(sess.run(w), [1.0, 2.0, 3.0])


def test_get_variable_with_a_value_initializer_in_a_cond_branch():
    pred = tf.placeholder(tf.bool, [])

    def branch():
        v = tf.get_variable("b", initializer=np.float32(4.0))
        return v * 2.0

    out = tf.cond(pred, branch, lambda: tf.constant(-1.0))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(out, {pred: True}) == 8.0
        assert sess.run(out, {pred: False}) == -1.0


def test_tf_variable_in_while_and_cond_bodies_is_made_outside_them():
    made = {}

    def body(i, acc):
        v = tf.Variable(np.full([3], 2.0, np.float32), name="v")
        u = tf.Variable(lambda: tf.ones([3]) * 3.0, name="u")
        c = tf.cond(i >= 0, lambda: tf.Variable(5.0, name="c").read_value(),
                    lambda: tf.constant(0.0))
        made.update(v=v, u=u)
        return i + 1, acc + tf.reduce_sum(v) + tf.reduce_sum(u) + c

    r = _loop(body, 2)
    root = tf.get_default_graph()
    names = [v.op.name for v in tf.global_variables()]
    assert names == ["while/v", "while/u", "while/cond/c"]
    for v in tf.global_variables():
        assert v.graph is root and v.initializer.graph is root
        assert v.initial_value.graph is root
    assert made["v"].initial_value.op.name == "while/v/Initializer/initial_value"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(r) == pytest.approx(2 * (6.0 + 9.0 + 5.0))


def test_a_variable_initialized_from_a_body_tensor_is_refused():
    def body(i, acc):
        tf.Variable(acc * 2.0, name="bad")
        return i + 1, acc

    with pytest.raises(ValueError, match="control-flow construct.*use a lambda"):
        _loop(body, 2)
    assert tf.global_variables() == []


def test_layers_dense_in_a_while_body_shares_one_set_of_variables():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)

    def body(i, acc):
        y = tf.layers.dense(acc, 3, kernel_initializer=tf.constant_initializer(0.5),
                            bias_initializer=tf.constant_initializer(np.float32(0.1)),
                            name="d", reuse=tf.AUTO_REUSE)
        return i + 1, y

    r = tf.while_loop(lambda i, a: i < 2, body, [tf.constant(0), tf.constant(x)])[1]
    assert [v.op.name for v in tf.trainable_variables()] == ["d/kernel", "d/bias"]
    want = x
    for _ in range(2):
        want = want @ np.full((3, 3), 0.5, np.float32) + 0.1
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run(r), want, rtol=1e-6)
