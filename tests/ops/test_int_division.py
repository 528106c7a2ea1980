"""Integer division and modulo by zero raise as in TF1; floats keep IEEE inf/nan.

Covers every way to divide integers (tf.floordiv, tf.div, tf.truncatediv, tf.floormod,
tf.mod, tf.truncatemod, ``//`` and ``%``) fed at run time, constant-folded when the plan is
compiled, and evaluated eagerly in an interactive session; plus the values for nonzero
divisors of both signs against NumPy.
"""
import numpy as np
import pytest

import tfnb as tf

DIVISIONS = [
    ("floordiv", lambda x, y: tf.floordiv(x, y), "FloorDiv"),
    ("floor_div", lambda x, y: tf.floor_div(x, y), "FloorDiv"),
    ("div", lambda x, y: tf.div(x, y), "FloorDiv"),
    ("truncatediv", lambda x, y: tf.truncatediv(x, y), "TruncateDiv"),
    ("floormod", lambda x, y: tf.floormod(x, y), "FloorMod"),
    ("mod", lambda x, y: tf.mod(x, y), "FloorMod"),
    ("truncatemod", lambda x, y: tf.truncatemod(x, y), "TruncateMod"),
    ("operator_floordiv", lambda x, y: x // y, "FloorDiv"),
    ("operator_mod", lambda x, y: x % y, "FloorMod"),
]
INT_DTYPES = [tf.int8, tf.int16, tf.int32, tf.int64, tf.uint8]


@pytest.mark.parametrize("dtype", INT_DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("name, fn, op_type", DIVISIONS, ids=[d[0] for d in DIVISIONS])
def test_fed_zero_divisor_raises_naming_the_op(name, fn, op_type, dtype):
    x = tf.placeholder(dtype, [None])
    y = tf.placeholder(dtype, [None])
    z = fn(x, y)
    assert z.op.type == op_type
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"Integer division by zero[\s\S]*%s \(op %s\)" % (z.op.name,
                                                                                  op_type)):
            sess.run(z, {x: [7, 5, 3], y: [2, 0, 1]})
        # The same plan computes fine once the divisor has no zero.
        assert sess.run(z, {x: [7, 5, 3], y: [2, 1, 1]}).dtype == dtype.np


@pytest.mark.parametrize("name, fn, op_type", DIVISIONS, ids=[d[0] for d in DIVISIONS])
def test_constant_folded_zero_divisor_raises_when_run(name, fn, op_type):
    z = fn(tf.constant([5, 6]), tf.constant([1, 0]))  # building the graph does not raise
    s = fn(tf.constant(3, tf.int64), tf.constant(0, tf.int64))
    with tf.Session() as sess:
        for t in (z, s):
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match="Integer division by zero[\\s\\S]*%s" % t.op.name):
                sess.run(t)


def test_python_scalar_zero_divisor():
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="Integer division by zero"):
            sess.run(tf.constant(3) // 0)
        with pytest.raises(tf.errors.InvalidArgumentError, match="Integer division by zero"):
            sess.run(7 % tf.constant([2, 0]))


def test_failing_fold_in_untaken_cond_branch_does_not_raise():
    p = tf.placeholder(tf.bool, [])
    r = tf.cond(p, lambda: tf.constant(1), lambda: tf.constant(1) // 0)
    with tf.Session() as sess:
        assert sess.run(r, {p: True}) == 1
        with pytest.raises(tf.errors.InvalidArgumentError, match="Integer division by zero"):
            sess.run(r, {p: False})


def test_error_leaves_variables_unchanged():
    v = tf.Variable(10)
    y = tf.placeholder(tf.int32, [])
    step = v.assign(v // y)
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(step, {y: 2}) == 5
        with pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(step, {y: 0})
        assert sess.run(v) == 5


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_values_for_nonzero_divisors_of_both_signs(dtype):
    big = np.iinfo(dtype).max // 3
    a = np.array([7, -7, 7, -7, 0, 9, -9, big, -big, 1], dtype)
    b = np.array([2, 2, -2, -2, 3, -4, 4, 7, 7, -1], dtype)
    x, y = tf.constant(a), tf.constant(b)
    with tf.Session() as sess:
        fd, fm, td, tm, dv, op_d, op_m = sess.run([tf.floordiv(x, y), tf.floormod(x, y),
                                                   tf.truncatediv(x, y), tf.truncatemod(x, y),
                                                   tf.div(x, y), x // y, x % y])
    q_trunc = np.array([int(abs(int(i)) // abs(int(j))) * (1 if (i < 0) == (j < 0) else -1)
                        for i, j in zip(a, b)], dtype)  # exact integer truncation
    np.testing.assert_array_equal(fd, np.floor_divide(a, b))
    np.testing.assert_array_equal(dv, np.floor_divide(a, b))
    np.testing.assert_array_equal(op_d, np.floor_divide(a, b))
    np.testing.assert_array_equal(fm, np.mod(a, b))
    np.testing.assert_array_equal(op_m, np.mod(a, b))
    np.testing.assert_array_equal(td, q_trunc)
    np.testing.assert_array_equal(tm, a - q_trunc * b)
    for r in (fd, fm, td, tm):
        assert r.dtype == dtype


def test_float_division_by_zero_is_inf_and_nan():
    a = np.array([7.0, -7.0, 0.0, 3.0], np.float32)
    zero = np.zeros(4, np.float32)
    x, z = tf.constant(a), tf.constant(zero)
    with tf.Session() as sess:
        fd, td, dv, rd, fm = sess.run([tf.floordiv(x, z), x / z, tf.div(x, z), tf.realdiv(x, z),
                                       tf.floormod(x, z)])
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(fd, np.floor_divide(a, zero))
        np.testing.assert_array_equal(td, a / zero)
        np.testing.assert_array_equal(dv, a / zero)
        np.testing.assert_array_equal(rd, a / zero)
    assert np.isinf(td[:2]).all() and np.isnan(td[2])
    assert np.isnan(fm).all() and fm.dtype == np.float32


def test_truncatediv_is_for_integers():
    with pytest.raises(TypeError, match="float32 not in list of allowed values"):
        tf.truncatediv(tf.constant([1.0]), tf.constant([2.0]))


def test_integer_zero_divisor_in_eager_mode_raises_at_creation_and_graph_stays_usable():
    g = tf.Graph()
    with g.as_default():
        sess = tf.InteractiveSession(graph=g, eager=True)
        try:
            a = tf.constant([5, 6])
            b = tf.constant([1, 0])
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match=r"Integer division by zero[\s\S]*floordiv \(op FloorDiv\)"):
                a // b
            with pytest.raises(tf.errors.InvalidArgumentError, match="Integer division by zero"):
                tf.truncatemod(a, 0)
            # The graph keeps working: new ops are evaluated eagerly, variables initialize,
            # sessions run, and the failed node fails again (only) when it is run.
            c = a + b
            np.testing.assert_array_equal(c.numpy(), [6, 6])
            v = tf.Variable(4)
            w = v // 2
            assert w.numpy() == 2
            sess.run(v.assign(9))
            assert w.numpy() == 4
            np.testing.assert_array_equal(sess.run(a // tf.constant([2, 3])), [2, 2])
            failed = g.get_tensor_by_name("floordiv:0")
            with pytest.raises(tf.errors.InvalidArgumentError, match="Integer division by zero"):
                sess.run(failed)
            assert (a // tf.constant([1, 2])).op.name == "floordiv_3"  # a fresh name
        finally:
            sess.close()
