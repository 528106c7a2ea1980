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


# ----------------------------------------------------------------------------------------------
# The fast paths of op creation (issue 14 item 6) keep what TF1 builds: one Const node per
# Python scalar, the same names, shapes, values, creation sites, errors and gradients.
# ----------------------------------------------------------------------------------------------
import sys  # noqa: E402
import warnings  # noqa: E402

from tfnb.framework import graph as graph_mod  # noqa: E402
from tfnb.ops import core  # noqa: E402
from tfnb.runtime import eager as eager_mod  # noqa: E402


def _structure(g):
    return [(op.name, op.type, [t.name for t in op.inputs], [c.name for c in op.control_inputs],
             [(t.dtype.name, t.shape.as_list() if t.shape.ndims is not None else None)
              for t in op.outputs])
            for op in g.get_operations()]


def _chain(n, eager):
    g = tf.Graph()
    with g.as_default():
        sess = tf.InteractiveSession() if eager else None
        try:
            x = tf.constant(np.zeros((10, 10), np.float32))
            for _ in range(n):
                x = x + 1.0
            val = np.asarray(x) if eager else tf.Session().run(x)
        finally:
            if sess is not None:
                sess.close()
    return g, x, val


def test_scalar_operand_makes_a_new_const_each_time_with_tf1_names():
    g, x, val = _chain(5, eager=True)
    np.testing.assert_array_equal(val, np.full((10, 10), 5.0, np.float32))
    names = [op.name for op in g.get_operations()]
    assert names == ["Const", "Const_1", "add", "Const_2", "add_1", "Const_3", "add_2",
                     "Const_4", "add_3", "Const_5", "add_4"]
    consts = [op for op in g.get_operations() if op.type == "Const"][1:]
    assert len({id(op) for op in consts}) == 5
    for c in consts:
        v = c.get_attr("value")
        assert v.dtype == np.float32 and v.shape == () and v == 1.0 and not v.flags.writeable
        assert c.outputs[0].dtype is tf.float32 and c.outputs[0].shape.as_list() == []
    assert x.name == "add_4:0" and x.shape.as_list() == [10, 10]
    # the eager graph is exactly the graph plain graph mode builds
    g2, _, val2 = _chain(5, eager=False)
    assert _structure(g) == _structure(g2)
    np.testing.assert_array_equal(val, val2)


def test_scalar_operand_dtypes_and_errors_match_convert_to_tensor():
    with tf.Graph().as_default():
        for dt, scalar in [(tf.float32, 2.5), (tf.float64, 2), (tf.int32, 3), (tf.int64, True),
                           (tf.uint8, 7), (tf.float16, 0.5), (tf.bool, True),
                           (tf.complex64, 1.5), (tf.float32, -0.0), (tf.float32, 0.0)]:
            x = tf.constant(np.zeros((2,), dt.as_numpy_dtype))
            op = tf.logical_or if dt is tf.bool else tf.add
            y = (x | scalar) if dt is tf.bool else (x + scalar)
            c = y.op.inputs[1]
            ref = core.convert_to_tensor(scalar, dtype=dt)
            assert c.dtype is dt and c.op.type == "Const" and y.op.type == op(x, x).op.type
            a, b = c.op.get_attr("value"), ref.op.get_attr("value")
            assert a.dtype == b.dtype and a.shape == b.shape and a == b
            assert repr(a.item()) == repr(b.item())  # -0.0 stays -0.0, 0.0 stays 0.0
        # what convert_to_tensor refuses, the operators refuse the same way
        for dt, scalar in [(tf.int32, 1.5), (tf.uint8, -1), (tf.int32, 2 ** 40), (tf.bool, 1)]:
            x = tf.constant(np.zeros((2,), dt.as_numpy_dtype))
            with pytest.raises(TypeError) as ref_err:
                core.convert_to_tensor(scalar, dtype=dt)
            with pytest.raises(TypeError) as err:
                x + scalar if dt is not tf.bool else x | scalar
            assert str(err.value) == str(ref_err.value)


def test_reflected_operator_and_name_scope_and_taken_names():
    with tf.Graph().as_default() as g:
        x = tf.constant([1.0, 2.0])
        tf.identity(x, name="add_1")
        a = x + 1.0
        b = 1.0 + x
        with tf.name_scope("scope"):
            c = 10.0 - x
            d = x * 2
        assert [a.name, b.name, c.name, d.name] == ["add:0", "add_2:0", "scope/sub:0",
                                                    "scope/mul:0"]
        assert b.op.inputs[0].op.type == "Const" and b.op.inputs[1] is x
        assert c.op.inputs[0].op.name == "scope/Const" and d.op.inputs[1].op.name == "scope/Const_1"
        assert g.unique_name("Add") == "Add_3"  # case-insensitive, as TF1
        assert g.unique_name("add", mark_as_used=False) == "add_4"
        with pytest.raises(ValueError, match="not a valid node name"):
            tf.add(x, 1.0, name="bad name")
        with pytest.raises(ValueError, match="not a valid node name"):
            tf.add(x, 1.0, name="bad name")  # a refused base is never remembered as valid
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run([a, b, c, d]),
                                          [[2, 3], [2, 3], [9, 8], [2, 4]])


def test_creation_site_of_both_nodes_and_errors_name_it():
    with tf.Graph().as_default():
        sess = tf.InteractiveSession()
        try:
            x = tf.constant(np.ones((2, 3), np.float32))
            line = sys._getframe().f_lineno + 1
            y = x + 1.0
            for op in (y.op, y.op.inputs[1].op):
                assert op.location.filename == __file__ and op.location.lineno == line
                assert op.location.function == "test_creation_site_of_both_nodes_and_errors_name_it"
            line = sys._getframe().f_lineno + 1
            z = 2.0 * x  # the reflected operator
            for op in (z.op, z.op.inputs[0].op):
                assert op.location.filename == __file__ and op.location.lineno == line
            line = sys._getframe().f_lineno + 2
            with pytest.raises(ValueError) as err:
                x + tf.constant(np.ones((4,), np.float32))
            assert "add_1 (op Add)" in str(err.value)
            assert "%s:%d" % (__file__, line) in str(err.value)
            line = sys._getframe().f_lineno + 2
            with pytest.raises(tf.errors.InvalidArgumentError) as err:
                tf.gather(tf.constant([1.0, 2.0]), tf.constant([5]))
            assert "(op GatherV2)" in str(err.value) or "(op Gather" in str(err.value)
            assert "%s:%d" % (__file__, line) in str(err.value)
        finally:
            sess.close()


def test_shape_inference_cache_keeps_broadcasting_and_errors():
    with tf.Graph().as_default():
        a = tf.placeholder(tf.float32, [None, 1])
        b = tf.placeholder(tf.float32, [1, 5])
        for _ in range(2):
            assert (a + b).shape.as_list() == [None, 5]
            assert (b + a).shape.as_list() == [None, 5]
        u = tf.placeholder(tf.float32)
        assert (a + u).shape.ndims is None
        c = tf.placeholder(tf.float32, [3, 4])
        for _ in range(2):  # failures are raised every time, never remembered
            with pytest.raises(ValueError, match="Dimensions must be equal"):
                c + tf.placeholder(tf.float32, [3, 5])
            with pytest.raises(TypeError, match="does not match"):
                c + tf.placeholder(tf.float64, [3, 4])
        assert (tf.constant([1, 2]) < tf.constant([2, 2])).dtype is tf.bool


def test_control_dependencies_and_device_functions_on_the_fast_path():
    g, other = tf.Graph(), tf.Graph()
    with g.as_default():
        x = tf.constant([1.0, 2.0])
        first = tf.no_op(name="first")
        with g.control_dependencies([first]):
            y = x + 1.0
        assert y.op.control_inputs == [first]
        assert y.op.inputs[1].op.control_inputs == [first]
        assert first._control_outputs == [y.op.inputs[1].op, y.op]
        assert x.op.control_inputs == [] and not x.op._control_outputs
        seen = []

        def fn(op):
            seen.append((op.type, tf.get_default_graph() is g))
            return "/cpu:0"
    with other.as_default():  # x's graph is not the default one: the Const still goes in g
        with g.device(fn):
            z = x * 3.0
    assert z.graph is g and z.op.inputs[1].op.graph is g
    assert seen == [("Const", True), ("Mul", False)]  # as before: Const built under g
    assert z.op.device == "/device:CPU:0"


def test_conversion_function_for_a_scalar_type_turns_the_fast_path_off(monkeypatch):
    monkeypatch.setattr(core, "_conversion_funcs", list(core._conversion_funcs))
    monkeypatch.setattr(core, "_scalar_fast_path", True)
    calls = []

    def conv(value, dtype=None, name=None, as_ref=False):
        calls.append(value)
        return core.constant(value * 10, dtype=dtype)
    core.register_tensor_conversion_function(float, conv)
    assert core._scalar_fast_path is False
    with tf.Graph().as_default():
        y = tf.constant([1.0]) + 2.0
        assert calls == [2.0]
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(y), [21.0])


def test_gradients_and_variables_after_eager_ops():
    with tf.Graph().as_default():
        sess = tf.InteractiveSession()
        try:
            v = tf.Variable(np.array([1.0, 2.0], np.float32))
            y = v * 3.0 + 1.0
            z = 2.0 * y - 0.5
            np.testing.assert_array_equal(np.asarray(z), [7.5, 13.5])
            (g,) = tf.gradients(tf.reduce_sum(z), [v])
            np.testing.assert_array_equal(sess.run(g), [6.0, 6.0])
            sess.run(v.assign([0.0, 1.0]))
            np.testing.assert_array_equal(np.asarray(z), [1.5, 7.5])
        finally:
            sess.close()


@pytest.mark.parametrize("fast_state", [True, False])
def test_eager_kernels_ignore_float_errors_and_keep_the_users_state(monkeypatch, fast_state):
    if not fast_state:  # NumPy 1.x path: np.errstate
        monkeypatch.setattr(eager_mod, "_fp_state", None)
    with tf.Graph().as_default():
        sess = tf.InteractiveSession()
        try:
            x = tf.constant([1.0, 0.0, -1.0])
            before = np.geterr()
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                y = x / 0.0
                with np.errstate(all="raise"):
                    w = tf.log(x)
                    assert np.geterr()["divide"] == "raise"  # the user's state is back
            assert np.geterr() == before
            np.testing.assert_array_equal(np.asarray(y), [np.inf, np.nan, -np.inf])
            np.testing.assert_array_equal(np.asarray(w), [0.0, -np.inf, np.nan])
        finally:
            sess.close()


def test_creation_site_walk_skips_package_frames_only():
    loc = graph_mod.user_location()
    assert loc.filename == __file__ and loc.function == (
        "test_creation_site_walk_skips_package_frames_only")
    # another prefix walks with startswith (the same answer for an equal prefix)
    import os
    loc2 = graph_mod.user_location(skip_package=os.path.dirname(__file__) + os.sep)
    assert not loc2.filename.startswith(os.path.dirname(__file__))
    prefix = "".join(graph_mod._PKG_DIR)
    assert prefix is not graph_mod._PKG_DIR
    same = graph_mod.user_location(skip_package=prefix)
    assert (same.filename, same.lineno) == (__file__, sys._getframe().f_lineno - 1)
    with tf.Graph().as_default():
        y = tf.add(tf.constant(1.0), 2.0)  # the plain function (not the operator)
        assert y.op.location.filename == __file__
        assert y.op.inputs[1].op.location.lineno == y.op.location.lineno
