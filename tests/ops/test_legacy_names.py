"""TF1 legacy names audited against the TF 1.15 API: the ones it has behave as in TF1, the ones
TF 1.0 removed (tf.mul, tf.select, tf.pack, ...) fail with AttributeError as in TF 1.15."""
import numpy as np
import pytest

import tfnb as tf


def _run(t):
    with tf.Session() as sess:
        return sess.run(t)


@pytest.mark.parametrize("old, new", [("mul", "multiply"), ("sub", "subtract"),
                                      ("neg", "negative"), ("select", "where"),
                                      ("pack", "stack"), ("unpack", "unstack")])
def test_names_removed_in_tf_1_0_raise_attribute_error(old, new):
    assert not hasattr(tf, old)
    with pytest.raises(AttributeError, match=r"module 'tfnb' has no attribute '%s' \(removed in "
                                             r"TensorFlow 1.0: use tf.%s\)" % (old, new)):
        getattr(tf, old)


def test_unknown_names_raise_the_plain_attribute_error():
    with pytest.raises(AttributeError, match=r"^module 'tfnb' has no attribute 'no_such_op'$"):
        tf.no_such_op  # noqa: B018


def test_arg_max_and_arg_min():
    m = np.random.RandomState(3).randn(3, 5).astype(np.float32)
    x = tf.constant(m)
    a0, a1, n1, a32 = _run([tf.arg_max(x, 0), tf.arg_max(x, dimension=1), tf.arg_min(x, 1),
                            tf.arg_max(x, 1, output_type=tf.int32)])
    np.testing.assert_array_equal(a0, np.argmax(m, 0))
    np.testing.assert_array_equal(a1, np.argmax(m, 1))
    np.testing.assert_array_equal(n1, np.argmin(m, 1))
    assert a0.dtype == np.int64 and a32.dtype == np.int32
    assert tf.arg_max(x, 0).op.type == "ArgMax" and tf.arg_min(x, 0).op.type == "ArgMin"


@pytest.mark.parametrize("fn, dtype, op_name", [
    (tf.to_float, tf.float32, "ToFloat"), (tf.to_double, tf.float64, "ToDouble"),
    (tf.to_int32, tf.int32, "ToInt32"), (tf.to_int64, tf.int64, "ToInt64"),
    (tf.to_complex64, tf.complex64, "ToComplex64"),
    (tf.to_complex128, tf.complex128, "ToComplex128")])
def test_to_casts(fn, dtype, op_name):
    t = fn(tf.constant([1.7, -1.7, 2.5, -0.2]))
    assert t.dtype == dtype and t.op.name == op_name
    v = _run(t)
    want = np.array([1.7, -1.7, 2.5, -0.2], np.float32)
    np.testing.assert_array_equal(v, np.trunc(want).astype(dtype.np) if dtype.is_integer
                                  else want.astype(dtype.np))


def test_div_is_python2_division():
    a = tf.constant([7, -7, 7, -7])
    b = tf.constant([2, 2, -2, -2])
    di, df = _run([tf.div(a, b), tf.div(tf.cast(a, tf.float32), tf.cast(b, tf.float32))])
    np.testing.assert_array_equal(di, [3, -4, -4, 3])
    assert di.dtype == np.int32
    np.testing.assert_array_equal(df, np.float32([3.5, -3.5, -3.5, 3.5]))


def test_initialize_all_variables_runs_the_initializers():
    v = tf.Variable(3.0)
    with tf.Session() as sess:
        sess.run(tf.initialize_all_variables())
        assert sess.run(v) == 3.0


def test_bitcast_as_tf():
    f2i, i2f, u8, from_u8, same = _run([
        tf.bitcast(tf.constant([1.0, -2.5, 0.0]), tf.int32),
        tf.bitcast(tf.constant([1065353216, -1071644672]), tf.float32),
        tf.bitcast(tf.constant([258, -1]), tf.uint8),
        tf.bitcast(tf.constant([[1, 2], [255, 255]], tf.uint8), tf.int16),
        tf.bitcast(tf.constant(1.0), tf.int32)])
    np.testing.assert_array_equal(f2i, np.float32([1.0, -2.5, 0.0]).view(np.int32))
    np.testing.assert_array_equal(i2f, np.float32([1.0, -2.5]))
    assert u8.shape == (2, 4) and u8.dtype == np.uint8
    np.testing.assert_array_equal(u8, np.int32([258, -1]).view(np.uint8).reshape(2, 4))
    np.testing.assert_array_equal(from_u8, np.int16([513, -1]))
    assert same == 1065353216 and same.shape == ()
    assert tf.bitcast(tf.ones([2, 3], tf.float64), tf.int16).shape.as_list() == [2, 3, 4]
    with pytest.raises(ValueError, match="last dimension"):
        tf.bitcast(tf.ones([2, 3], tf.uint8), tf.int32)
    with pytest.raises(TypeError, match="bool"):
        tf.bitcast(tf.constant([True]), tf.uint8)
    p = tf.placeholder(tf.uint8, [None])
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="Cannot bitcast"):
            sess.run(tf.bitcast(p, tf.int16), {p: [1, 2, 3]})
    assert tf.gradients(tf.bitcast(tf.constant([1.0]), tf.int32), []) == []


def test_other_tf1_math_names_exist():
    for name in ("realdiv", "div_no_nan", "truncatediv", "truncatemod", "floor_div", "polygamma",
                 "zeta", "sparse_tensor_to_dense", "SparseTensorValue"):
        assert hasattr(tf, name), name
    np.testing.assert_array_equal(_run(tf.div_no_nan(tf.constant([1.0, 2.0]),
                                                     tf.constant([0.0, 4.0]))), [0.0, 0.5])
