"""Graph construction: names, scopes, collections, control deps, lookup, shapes, locations."""
import numpy as np
import pytest

import tfnb as tf


def test_default_graph_stack_and_reset():
    g0 = tf.get_default_graph()
    g = tf.Graph()
    with g.as_default():
        assert tf.get_default_graph() is g
        c = tf.constant(1.0)
        assert c.graph is g
    assert tf.get_default_graph() is g0
    tf.reset_default_graph()
    assert tf.get_default_graph() is not g0


def test_unique_names_and_name_scopes():
    a = tf.constant(1.0, name="a")
    a1 = tf.constant(1.0, name="a")
    assert (a.op.name, a1.op.name) == ("a", "a_1")
    with tf.name_scope("outer") as s:
        assert s == "outer/"
        x = tf.constant(1.0, name="x")
        with tf.name_scope("inner"):
            y = tf.constant(2.0, name="y")
    assert x.name == "outer/x:0" and y.name == "outer/inner/y:0"
    with tf.name_scope("outer") as s2:
        assert s2 == "outer_1/"
    with tf.name_scope("outer/"):  # re-enter exactly
        z = tf.constant(3.0, name="z")
    assert z.name == "outer/z:0"
    with tf.name_scope("outer"):
        with tf.name_scope(None):
            r = tf.constant(0.0, name="root")
    assert r.name == "root:0"


def test_name_scope_with_default_name_and_values():
    g = tf.Graph()
    with g.as_default():
        t = tf.constant(1.0)
    with tf.name_scope(None, "Default", [t]) as s:
        assert s == "Default/"
        assert tf.get_default_graph() is g


def test_control_dependencies_and_clearing():
    a = tf.constant(1.0)
    b = tf.constant(2.0)
    with tf.control_dependencies([a]):
        c = tf.identity(b)
        with tf.control_dependencies(None):
            d = tf.identity(b)
        with tf.control_dependencies([b.op]):
            e = tf.identity(a)  # a is an input: not repeated as a control input
    assert c.op.control_inputs == [a.op]
    assert d.op.control_inputs == []
    assert e.op.control_inputs == [b.op]


def test_collections_with_scope_filter():
    with tf.name_scope("m"):
        v = tf.Variable(1.0, name="v")
    w = tf.Variable(2.0, name="w", trainable=False)
    assert tf.global_variables() == [v, w]
    assert tf.trainable_variables() == [v]
    assert tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES, scope="m") == [v]
    tf.add_to_collection("losses", v)
    ref = tf.get_collection_ref("losses")
    ref.append(w)
    assert tf.get_collection("losses") == [v, w]


def test_lookup_by_name():
    with tf.name_scope("s"):
        c = tf.constant([1, 2], name="c")
    g = tf.get_default_graph()
    assert g.get_operation_by_name("s/c") is c.op
    assert g.get_tensor_by_name("s/c:0") is c
    with pytest.raises(KeyError):
        g.get_operation_by_name("nope")
    with pytest.raises(KeyError):
        g.get_tensor_by_name("s/c:3")
    with pytest.raises(ValueError):
        g.get_tensor_by_name("s/c")


def test_finalize_blocks_new_ops():
    g = tf.Graph()
    with g.as_default():
        tf.constant(1.0)
        g.finalize()
        with pytest.raises(RuntimeError, match="finalized"):
            tf.constant(2.0)


def test_static_shape_inference_fails_at_construction_with_both_shapes():
    a = tf.placeholder(tf.float32, [3, 4])
    b = tf.placeholder(tf.float32, [5, 6])
    with pytest.raises(ValueError) as e:
        tf.matmul(a, b)
    msg = str(e.value)
    assert "(3, 4)" in msg and "(5, 6)" in msg and "MatMul" in msg
    assert "test_graph.py" in msg  # the creation location


def test_op_from_another_graph_is_rejected():
    g1, g2 = tf.Graph(), tf.Graph()
    with g1.as_default():
        a = tf.constant(1.0)
    with g2.as_default():
        b = tf.constant(2.0)
        with pytest.raises(ValueError, match="same graph"):
            tf.add_n([b, a])


def test_op_location_points_at_user_line():
    c = tf.constant(1.0)
    d = c * 2.0  # this line
    loc = d.op.location
    assert loc.filename.endswith("test_graph.py")
    import inspect
    assert loc.lineno == inspect.currentframe().f_lineno - 4


def test_set_shape_and_tensor_shape_api():
    x = tf.placeholder(tf.float32)
    assert x.shape.ndims is None
    x.set_shape([None, 3])
    x.set_shape([2, None])
    assert x.shape.as_list() == [2, 3]
    with pytest.raises(ValueError):
        x.set_shape([3, 3])
    s = tf.TensorShape([None, 4])
    assert s.merge_with([5, None]).as_list() == [5, 4]
    assert s.is_compatible_with([7, 4]) and not s.is_compatible_with([7, 5])
    assert s[1].value == 4 and int(s[1]) == 4 and s[0].value is None
    assert tf.TensorShape(None).ndims is None
    assert str(s) == "(?, 4)"
    assert s.num_elements() is None and tf.TensorShape([2, 3]).num_elements() == 6


def test_dtypes_api():
    assert tf.float32.as_numpy_dtype is np.float32
    assert tf.as_dtype(np.int64) is tf.int64 and tf.as_dtype("float64") is tf.float64
    assert tf.float16.is_floating and tf.int8.is_integer and not tf.bool.is_numeric
    assert tf.uint8.is_unsigned and tf.int32.max == 2 ** 31 - 1
    assert tf.float32 == np.float32 and tf.float32 != tf.float64
    with pytest.raises(TypeError):
        tf.as_dtype("no-such-type")


def test_graph_version_grows_and_plans_stay_valid():
    x = tf.placeholder(tf.float32, [])
    y = x + 1.0
    with tf.Session() as sess:
        assert sess.run(y, {x: 1.0}) == 2.0
        n = len(sess.cached_plans())
        v = tf.get_default_graph().version
        z = y * 3.0  # growing the graph leaves the old plan cached and valid
        assert tf.get_default_graph().version > v
        assert sess.run(y, {x: 2.0}) == 3.0
        assert len(sess.cached_plans()) == n
        assert sess.run(z, {x: 1.0}) == 6.0


def test_device_scope_is_recorded():
    with tf.device("/cpu:0"):
        a = tf.constant(1.0)
        with tf.device("/job:ps"):
            b = tf.constant(1.0)
    assert a.device == "/device:CPU:0"
    assert b.device == "/job:ps/device:CPU:0"


def test_device_function_sees_the_op():
    def place(op):
        return "/job:ps/task:0" if op.type == "VarHandleOp" else "/job:worker"
    with tf.device(place):
        v = tf.Variable(1.0)
        c = tf.constant(2.0)
    assert v.op.device == "/job:ps/task:0" and c.device == "/job:worker"
