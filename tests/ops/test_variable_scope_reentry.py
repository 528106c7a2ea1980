"""Re-entering a variable scope: op names get a fresh name scope, variable names stay put (TF1).

The expected names follow TF 1.15's ``variable_scope``: a string re-entry opens the name scope
``name`` made unique (``net_1/``) and records it as the scope's ``original_name_scope``; a
re-entry by scope object opens a name scope named after the *last component* of the scope's
name, made unique under the current name scope, and keeps the object's ``original_name_scope``;
``auxiliary_name_scope=False`` opens no name scope at all.
"""
import pytest

import tfnb as tf


def _op(name="op"):
    return tf.identity(tf.constant(1.0, name="c"), name=name)


def test_string_reentry_opens_a_fresh_name_scope():
    with tf.variable_scope("net") as first:
        w = tf.get_variable("w", [1])
        a = _op()
    with tf.variable_scope("net") as second:
        w2 = tf.get_variable("w2", [1])
        b = _op()
    with tf.variable_scope("net"):
        c = _op()
    assert (w.name, w2.name) == ("net/w:0", "net/w2:0")
    assert (a.op.name, b.op.name, c.op.name) == ("net/op", "net_1/op", "net_2/op")
    assert first.name == second.name == "net"
    assert first.original_name_scope == "net/"
    assert second.original_name_scope == "net_1/"


def test_object_reentry_names_ops_by_the_last_component():
    with tf.variable_scope("net") as scope:
        _op()
    with tf.variable_scope(scope) as again:
        v = tf.get_variable("v", [1])
        a = _op()
    assert v.name == "net/v:0" and a.op.name == "net_1/op"
    assert again.name == "net" and again.original_name_scope == "net/"
    with tf.variable_scope("outer"):
        with tf.variable_scope(scope) as inside:
            v3 = tf.get_variable("v3", [1])
            b = _op()
    assert v3.name == "net/v3:0" and b.op.name == "outer/net/op"
    assert inside.name == "net" and inside.original_name_scope == "net/"
    with tf.variable_scope("a"):
        with tf.variable_scope("b") as ab:
            pass
    with tf.variable_scope(ab) as ab2:
        u = tf.get_variable("u", [1])
        c = _op()
    assert u.name == "a/b/u:0" and c.op.name == "b/op"
    assert ab2.original_name_scope == "a/b/"


def test_reuse_true_by_string_and_by_object():
    with tf.variable_scope("net") as scope:
        w = tf.get_variable("w", [2])
        _op()
    with tf.variable_scope("net", reuse=True) as r1:
        w1 = tf.get_variable("w")
        a = _op()
    with tf.variable_scope(scope, reuse=True) as r2:
        w2 = tf.get_variable("w")
        b = _op()
    assert w1 is w and w2 is w
    assert (a.op.name, b.op.name) == ("net_1/op", "net_2/op")
    assert r1.reuse is True and r2.reuse is True and scope.reuse is False
    with pytest.raises(ValueError, match="already exists"):
        with tf.variable_scope(scope):
            tf.get_variable("w", [2])


def test_object_reentry_takes_reuse_from_the_object_not_the_parent():
    with tf.variable_scope("free") as free:
        pass
    with tf.variable_scope("top", reuse=True):
        with tf.variable_scope("inner") as inner:
            assert inner.reuse is True  # by string: inherited
        with tf.variable_scope(free) as jumped:
            assert jumped.reuse is False  # by object: the object's own flag (as TF1)
            v = tf.get_variable("v", [1])
    assert v.name == "free/v:0"


def test_nested_reentry():
    with tf.variable_scope("outer"):
        with tf.variable_scope("inner") as inner:
            w = tf.get_variable("w", [1])
            a = _op()
    with tf.variable_scope("outer"):
        with tf.variable_scope("inner", reuse=True):
            w2 = tf.get_variable("w")
            b = _op()
    with tf.variable_scope("outer", reuse=True):
        with pytest.raises(ValueError, match="already exists"):  # the object's reuse=False
            with tf.variable_scope(inner):
                tf.get_variable("w")
        with tf.variable_scope(inner, reuse=True):
            w3 = tf.get_variable("w")
            c = _op()
    assert w2 is w and w3 is w and w.name == "outer/inner/w:0"
    assert (a.op.name, b.op.name, c.op.name) == (
        "outer/inner/op", "outer_1/inner/op", "outer_2/inner_1/op")


def test_auxiliary_name_scope_false():
    with tf.variable_scope("net") as scope:
        _op()
    with tf.variable_scope(scope, auxiliary_name_scope=False) as s:
        v = tf.get_variable("v", [1])
        a = _op()
        with tf.name_scope(s.original_name_scope):
            b = _op()
    assert v.name == "net/v:0"
    assert a.op.name == "op" and b.op.name == "net/op_1"
    assert s.original_name_scope == "net/"
    with tf.variable_scope("fresh", auxiliary_name_scope=False) as f:
        u = tf.get_variable("u", [1])
        c = _op()
    assert u.name == "fresh/u:0" and c.op.name == "op_1" and f.original_name_scope == ""
    with tf.name_scope("ns"):
        with tf.variable_scope("fresh2", auxiliary_name_scope=False) as f2:
            d = _op()
    assert d.op.name == "ns/op" and f2.original_name_scope == "ns/"
    with pytest.raises(TypeError, match="auxiliary_name_scope"):
        with tf.variable_scope("x", auxiliary_name_scope=1):
            pass


def test_default_names_restart_when_the_parent_is_reentered():
    with tf.variable_scope("model"):
        with tf.variable_scope(None, default_name="layer") as l0:
            tf.get_variable("w", [1])
        with tf.variable_scope(None, default_name="layer") as l1:
            a = _op()
    with tf.variable_scope("model", reuse=True):
        with tf.variable_scope(None, default_name="layer") as l2:
            w = tf.get_variable("w")
            b = _op()
    assert (l0.name, l1.name, l2.name) == ("model/layer", "model/layer_1", "model/layer")
    assert w.name == "model/layer/w:0"
    assert (a.op.name, b.op.name) == ("model/layer_1/op", "model_1/layer/op")
    with tf.variable_scope("model") as m:
        pass
    for _ in range(2):  # an object re-entry restores the counts on exit
        with tf.variable_scope(m):
            with tf.variable_scope(None, default_name="block") as blk:
                pass
        assert blk.name == "model/block"
    with pytest.raises(ValueError, match="reuse=True cannot be used without a name_or_scope"):
        with tf.variable_scope(None, default_name="d", reuse=True):
            pass


def test_root_scope_reentry_opens_no_name_scope():
    root = tf.get_variable_scope()
    with tf.name_scope("ns"):
        with tf.variable_scope(root) as r:
            v = tf.get_variable("rv", [1])
            a = _op()
    assert r.name == "" and v.name == "rv:0" and a.op.name == "ns/op"


def test_reentry_settings_override_the_object():
    init = tf.constant_initializer(3.0)
    with tf.variable_scope("net", initializer=init, dtype=tf.float64) as scope:
        pass
    with tf.variable_scope(scope):
        v = tf.get_variable("v", [2])
    with tf.variable_scope(scope, dtype=tf.float32):
        u = tf.get_variable("u", [2])
    assert v.dtype == tf.float64 and u.dtype == tf.float32
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert list(sess.run(v)) == [3.0, 3.0]


def test_layers_keep_their_ops_under_the_original_name_scope():
    x = tf.placeholder(tf.float32, [None, 3])
    layer = tf.layers.Dense(2)
    y1 = layer(x)
    y2 = layer(x)
    assert y1.op.name.startswith("dense/") and y2.op.name.startswith("dense/")
    assert sorted(v.name for v in tf.trainable_variables()) == ["dense/bias:0", "dense/kernel:0"]
