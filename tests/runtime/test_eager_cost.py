"""Eager op creation stays cheap without changing what it computes (issue 14 item 6):
constants evaluated from their attr, one cache entry per tensor, a class-based
``Graph.as_default``. Timing lives in bench/ (workload We)."""
import threading

import numpy as np
import pytest

import tfnb as tf


def test_eager_constant_value_is_its_read_only_attr():
    with tf.Graph().as_default():
        sess = tf.InteractiveSession()
        try:
            c = tf.constant([[1.0, 2.0]])
            v = tf.get_default_graph()._eager_value(c)
            assert v is c.op.get_attr("value") and not v.flags.writeable
            y = c * 2.0 + 1.0
            np.testing.assert_array_equal(np.asarray(y), [[3.0, 5.0]])
            np.testing.assert_array_equal(y.eval(), [[3.0, 5.0]])
        finally:
            sess.close()


def test_eager_values_follow_variable_writes():
    with tf.Graph().as_default():
        sess = tf.InteractiveSession()
        try:
            v = tf.Variable(np.ones((2, 2), np.float32))
            y = v + 1.0
            z = y * 3.0
            np.testing.assert_array_equal(np.asarray(z), np.full((2, 2), 6.0))
            sess.run(tf.assign(v, np.zeros((2, 2), np.float32)))
            np.testing.assert_array_equal(np.asarray(z), np.full((2, 2), 3.0))
            w = z - 1.0  # built on a recomputed value
            np.testing.assert_array_equal(np.asarray(w), np.full((2, 2), 2.0))
        finally:
            sess.close()


def test_as_default_enters_exits_and_decorates():
    g1, g2 = tf.Graph(), tf.Graph()
    outer = tf.get_default_graph()
    with g1.as_default() as entered:
        assert entered is g1 and tf.get_default_graph() is g1
        with pytest.raises(RuntimeError):
            with g2.as_default():
                assert tf.get_default_graph() is g2
                raise RuntimeError("boom")
        assert tf.get_default_graph() is g1
    assert tf.get_default_graph() is outer

    @g2.as_default()
    def build():
        return tf.constant(1.0).graph
    assert build() is g2 and tf.get_default_graph() is outer
    # out-of-order exits (generators closed late) remove the right entry
    c1, c2 = g1.as_default(), g2.as_default()
    c1.__enter__()
    c2.__enter__()
    c1.__exit__(None, None, None)
    assert tf.get_default_graph() is g2
    c2.__exit__(None, None, None)
    assert tf.get_default_graph() is outer


def test_as_default_is_per_thread():
    g = tf.Graph()
    seen = []
    with g.as_default():
        t = threading.Thread(target=lambda: seen.append(tf.get_default_graph() is g))
        t.start()
        t.join()
    assert seen == [False]
