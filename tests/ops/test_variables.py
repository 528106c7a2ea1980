"""Variables, variable scopes and get_variable, initializers and reads ordered by control deps."""
import numpy as np
import pytest

import tfnb as tf


def test_variable_basics_and_names():
    with tf.name_scope("ns"):
        v = tf.Variable(np.arange(3, dtype=np.float32), name="v")
    assert v.name == "ns/v:0" and v.op.name == "ns/v"
    assert v.dtype == tf.float32 and v.shape.as_list() == [3]
    i = tf.Variable(0)
    assert i.dtype == tf.int32
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(v), [0.0, 1.0, 2.0])
        assert sess.run(v.assign([3.0, 2.0, 1.0]))[0] == 3.0
        assert sess.run(tf.assign_add(v, [1.0, 1.0, 1.0]))[2] == 2.0
        assert sess.run(tf.assign_sub(v, [1.0, 1.0, 1.0]))[2] == 1.0
        assert sess.run(i.assign_add(2)) == 2


def test_assign_checks_shape_and_dtype_at_construction():
    v = tf.Variable([1.0, 2.0])
    with pytest.raises(ValueError, match="incompatible"):
        v.assign([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="dtype"):  # as TF1: conversion to float32 refused
        v.assign(tf.constant([1, 2]))


def test_read_inside_control_dependencies_sees_update():
    a = tf.Variable(1.0)
    add = tf.assign_add(a, 1.0)
    with tf.control_dependencies([add]):
        after = tf.identity(a)
    with tf.Session() as sess:
        sess.run(a.initializer)
        assert sess.run(after) == 2.0
        assert sess.run(after) == 3.0


def test_initialized_value_and_report_uninitialized():
    a = tf.Variable(2.0, name="a")
    b = tf.Variable(a.initialized_value() * 3.0, name="b")
    with tf.Session() as sess:
        names = sess.run(tf.report_uninitialized_variables())
        assert sorted(names) == [b"a", b"b"]
        sess.run(b.initializer)
        assert sess.run(b) == 6.0
        # TF1: initialized_value() reads a's initial value without initializing a ...
        assert not sess.run(tf.is_variable_initialized(a))
        assert list(sess.run(tf.report_uninitialized_variables())) == [b"a"]
        # ... and once a is initialized (and changed), it reads a and never resets it.
        sess.run(a.initializer)
        sess.run(a.assign(5.0))
        sess.run(b.initializer)
        assert sess.run([a, b]) == [5.0, 15.0]


def test_variables_initializer_selective():
    a = tf.Variable(1.0)
    b = tf.Variable(2.0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run([a.assign(5.0), b.assign(6.0)])
        sess.run(tf.variables_initializer([a]))
        assert sess.run([a, b]) == [1.0, 6.0]


def test_get_variable_sharing_and_errors():
    with tf.variable_scope("model"):
        w = tf.get_variable("w", [2, 3], initializer=tf.constant_initializer(0.5)) \
            if hasattr(tf, "constant_initializer") else tf.get_variable(
                "w", initializer=tf.constant(np.full((2, 3), 0.5, np.float32)))
    assert w.name == "model/w:0"
    with tf.variable_scope("model", reuse=True):
        assert tf.get_variable("w") is w
    with tf.variable_scope("model"):
        with pytest.raises(ValueError, match="already exists"):
            tf.get_variable("w", [2, 3])
    with tf.variable_scope("other", reuse=True):
        with pytest.raises(ValueError, match="does not exist"):
            tf.get_variable("x", [1])
    with tf.variable_scope("auto", reuse=tf.AUTO_REUSE):
        a1 = tf.get_variable("a", initializer=tf.constant(1.0))
    with tf.variable_scope("auto", reuse=tf.AUTO_REUSE):
        a2 = tf.get_variable("a", initializer=tf.constant(1.0))
    assert a1 is a2
    with tf.variable_scope("model", reuse=True):
        with pytest.raises(ValueError, match="shape"):
            tf.get_variable("w", [3, 3])


def test_variable_scope_opens_unique_name_scope():
    with tf.variable_scope("s"):
        op1 = tf.constant(1.0, name="c")
    with tf.variable_scope("s", reuse=True):
        op2 = tf.constant(1.0, name="c")
    assert op1.name == "s/c:0" and op2.name == "s_1/c:0"
    with tf.variable_scope(None, default_name="layer") as sc1:
        pass
    with tf.variable_scope(None, default_name="layer") as sc2:
        pass
    assert (sc1.name, sc2.name) == ("layer", "layer_1")
    with tf.variable_scope(sc1):
        v = tf.get_variable("v", initializer=tf.constant(1.0))
    assert v.name == "layer/v:0"


def test_regularizer_adds_loss():
    with tf.variable_scope("r", regularizer=lambda w: tf.reduce_sum(w * w)):
        tf.get_variable("w", initializer=tf.constant([1.0, 2.0]))
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    assert len(losses) == 1
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(losses[0]) == 5.0


def test_variable_values_restored_after_failed_step():
    v = tf.Variable([1.0, 2.0])
    x = tf.placeholder(tf.float32, [None])
    upd = v.assign(x)  # shape checked at run time against the variable's shape
    with tf.Session() as sess:
        sess.run(v.initializer)
        with pytest.raises(tf.errors.InvalidArgumentError, match="wrong shape"):
            sess.run(upd, {x: [1.0, 2.0, 3.0]})
        np.testing.assert_array_equal(sess.run(v), [1.0, 2.0])


def test_spare_buffer_is_handed_out_only_when_nobody_holds_it():
    from tfnb.runtime.state import SessionState
    slot = SessionState().variable_slot("v")
    a, b = np.zeros(3, np.float32), np.ones(3, np.float32)
    slot.write(a)
    slot.write(b)
    held = a  # someone still holds the old value: it must not be overwritten
    assert slot.spare() is None
    del held, a
    s = slot.spare()
    assert s is not None and s.flags.writeable and s is not slot.value
    assert slot.spare() is None  # handed out once


def test_adam_with_spare_buffers_keeps_earlier_reads_intact():
    v = tf.Variable(np.ones(4, np.float32))
    loss = tf.reduce_sum(tf.square(v))
    train = tf.train.AdamOptimizer(0.1).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        history = [sess.run(v)]
        for _ in range(4):
            sess.run(train)
            history.append(sess.run(v))
    assert all(not np.array_equal(a, b) for a, b in zip(history, history[1:]))
    np.testing.assert_allclose(history[1], 0.9, rtol=1e-6)  # Adam's first step is lr * sign
