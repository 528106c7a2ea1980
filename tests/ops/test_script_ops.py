"""tf.py_func / tf.numpy_function: Python functions as ops (tfnb/ops/script_ops.py)."""
import gc
import inspect
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients
from tfnb.ops import script_ops

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _line_of(marker):
    """The line number of the line of this file holding ``marker`` (where an op is created)."""
    src = inspect.getsource(sys.modules[__name__]).splitlines()
    hits = [i + 1 for i, line in enumerate(src) if marker in line and "_line_of" not in line]
    assert len(hits) == 1, hits
    return hits[0]


# ----------------------------------------------------------------------------------------------
# Forward, graph mode
# ----------------------------------------------------------------------------------------------
def test_single_dtype_gives_a_tensor_with_unknown_shape():
    x = tf.placeholder(tf.float32, [3])
    y = tf.py_func(lambda a: np.sinh(a), [x], tf.float32)
    assert isinstance(y, tf.Tensor)
    assert y.dtype == tf.float32 and y.shape.ndims is None
    assert y.op.type == "PyFunc"
    y.set_shape([3])
    assert y.shape.as_list() == [3]
    v = np.array([0.5, -1.0, 2.0], np.float32)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(y, {x: v}), np.sinh(v), rtol=1e-6)


def test_list_tout_gives_a_list_even_for_one_output():
    x = tf.constant([1.0, 2.0])
    (y,) = tf.py_func(lambda a: a * 2, [x], [tf.float32])
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(y), [2.0, 4.0])


def test_several_inputs_and_outputs_of_several_dtypes():
    def split_stats(a, k):
        return a[a > k], np.int32((a > k).sum()), np.float64(a.mean())
    x = tf.placeholder(tf.float32, [None])
    k = tf.constant(0.5)
    big, count, mean = tf.py_func(split_stats, [x, k], [tf.float32, tf.int32, tf.float64])
    assert (big.dtype, count.dtype, mean.dtype) == (tf.float32, tf.int32, tf.float64)
    v = np.array([0.1, 0.9, 2.0, -3.0], np.float32)
    with tf.Session() as sess:
        b, c, m = sess.run([big, count, mean], {x: v})
    np.testing.assert_allclose(b, [0.9, 2.0])
    assert c == 2 and c.dtype == np.int32
    np.testing.assert_allclose(m, v.mean(), rtol=1e-6)


def test_scalar_inputs_arrive_as_numpy_scalars_and_inputs_are_copies():
    seen = []

    def f(s, a):
        seen.append(type(s))
        a += 100.0  # writing into the argument must not change the graph's values
        return a

    c = tf.constant([1.0, 2.0])
    y = tf.py_func(f, [tf.constant(3.0), c], tf.float32)
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(y), [101.0, 102.0])
        np.testing.assert_allclose(sess.run(c), [1.0, 2.0])
        np.testing.assert_allclose(sess.run(y), [101.0, 102.0])
    assert seen[0] is np.float32


def test_strings_in_and_out():
    def shout(s):
        return np.array([w.decode().upper() + "!" for w in s.ravel()])
    y = tf.py_func(shout, [tf.constant(["ab", "c"])], tf.string)
    z = tf.py_func(lambda s: b"one", [tf.constant("x")], tf.string)
    with tf.Session() as sess:
        assert list(sess.run(y)) == [b"AB!", b"C!"]
        assert sess.run(z) == b"one"


def test_empty_tout_returns_the_operation_and_runs_for_its_effect():
    log = []
    x = tf.constant([1, 2, 3])
    op = tf.py_func(lambda a: log.append(int(a.sum())), [x], [])
    assert isinstance(op, tf.Operation) and op.outputs == []
    with tf.Session() as sess:
        sess.run(op)
        sess.run(op)
    assert log == [6, 6]


def test_numpy_function_is_a_stateful_py_func():
    calls = []

    def f(a):
        calls.append(1)
        return a * 3
    y = tf.numpy_function(f, [tf.constant([1, 2])], tf.int32)
    assert y.op.type == "PyFunc"
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y), [3, 6])
        sess.run(y)
    assert len(calls) == 2  # stateful: never cached or folded


def test_stateless_op_type_and_no_constant_folding_at_build_time():
    calls = []

    def f(a):
        calls.append(1)
        return a + 1
    y = tf.py_func(f, [tf.constant([1.0])], tf.float32, stateful=False)
    z = tf.reshape(y, [1])  # shape inference must not call the function
    assert y.op.type == "PyFuncStateless" and calls == []
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(z), [2.0])
    assert len(calls) == 1


def test_bad_arguments_are_rejected_when_the_op_is_created():
    with pytest.raises(ValueError, match="callable"):
        tf.py_func(3, [tf.constant(1.0)], tf.float32)
    with pytest.raises(TypeError, match="list"):
        tf.py_func(lambda a: a, tf.constant(1.0), tf.float32)
    with pytest.raises(TypeError):
        tf.py_func(lambda a: a, [tf.constant(1.0)], "no such dtype")


# ----------------------------------------------------------------------------------------------
# Errors: typed, naming the op and the line that created it
# ----------------------------------------------------------------------------------------------
def _raiser(exc):
    def func(a):
        raise exc
    return func


@pytest.mark.parametrize("exc, cls", [
    (ValueError("bad value"), tf.errors.InvalidArgumentError),
    (TypeError("bad type"), tf.errors.InvalidArgumentError),
    (StopIteration(), tf.errors.OutOfRangeError),
    (MemoryError("too big"), tf.errors.ResourceExhaustedError),
    (NotImplementedError("later"), tf.errors.UnimplementedError),
    (KeyError("k"), tf.errors.UnknownError),
    (ZeroDivisionError("zero"), tf.errors.UnknownError),
    (RuntimeError("other"), tf.errors.UnknownError),
])
def test_exceptions_become_tf1_error_types_naming_op_and_creation_line(exc, cls):
    x = tf.constant([1.0])
    y = tf.py_func(_raiser(exc), [x], tf.float32, name="my_pyfunc")  # CREATE-RAISER
    with tf.Session() as sess:
        with pytest.raises(cls) as info:
            sess.run(y)
    err = info.value
    assert type(err) is cls
    assert err.op is y.op
    msg = str(err)
    assert "my_pyfunc" in msg and "PyFunc" in msg
    assert "test_script_ops.py:%d" % _line_of("# CREATE-RAISER") in msg
    assert type(exc).__name__ in msg
    assert "raise exc" in msg  # the function's own traceback is part of the message


def test_wrong_number_of_outputs_is_invalid_argument():
    x = tf.constant([1.0])
    y = tf.py_func(lambda a: (a, a), [x], tf.float32, name="two_for_one")
    z1, z2 = tf.py_func(lambda a: a, [x], [tf.float32, tf.float32], name="one_for_two")
    n = tf.py_func(lambda a: None, [x], tf.float32, name="none_for_one")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"returned 2 values, but Tout "
                           r"expects 1[\s\S]*two_for_one"):
            sess.run(y)
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"returned 1 values[\s\S]*one_for_two"):
            sess.run(z1)
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"returned 0 values[\s\S]*none_for_one"):
            sess.run(n)


def test_wrong_dtype_is_invalid_argument_not_a_silent_cast():
    x = tf.constant([1.0, 2.0])
    y = tf.py_func(lambda a: a * 0.5, [x], tf.int32, name="floats_as_ints")  # CREATE-DTYPE
    z = tf.py_func(lambda a: 2.0, [x], tf.float32, name="python_float")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(y)
        msg = str(info.value)
        assert "float32, but Tout says int32" in msg and "floats_as_ints" in msg
        assert "test_script_ops.py:%d" % _line_of("# CREATE-DTYPE") in msg
        with pytest.raises(tf.errors.InvalidArgumentError, match="float64, but Tout says float32"):
            sess.run(z)


def test_returned_shape_must_match_the_shape_set_on_the_output():
    x = tf.placeholder(tf.float32, [None])
    y = tf.py_func(lambda a: np.concatenate([a, a]), [x], tf.float32, name="doubler")
    y.set_shape([3])
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError,
                           match=r"shape \[4\], but its output doubler:0 has static shape \(3,\)"):
            sess.run(y, {x: [1.0, 2.0]})
        np.testing.assert_allclose(sess.run(tf.py_func(lambda a: a, [x], tf.float32), {x: [1.0]}),
                                   [1.0])


def test_a_failing_py_func_leaves_variables_unchanged():
    v = tf.Variable(1.0)
    with tf.control_dependencies([v.assign_add(10.0)]):
        y = tf.py_func(_raiser(ValueError("no")), [tf.constant(0.0)], tf.float32)
    with tf.Session() as sess:
        sess.run(v.initializer)
        with pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(y)
        assert sess.run(v) == 1.0


# ----------------------------------------------------------------------------------------------
# Eager (interactive session): stateful functions run when run, stateless ones when created
# ----------------------------------------------------------------------------------------------
def test_eager_stateful_runs_only_when_the_graph_runs_it():
    g = tf.Graph()
    with g.as_default():
        sess = tf.InteractiveSession(graph=g, eager=True)
        try:
            calls = []

            def f(a):
                calls.append(1)
                return a + 1
            y = tf.py_func(f, [tf.constant([1.0, 2.0])], tf.float32)
            assert calls == []  # not at creation (it may have side effects)
            assert "numpy=" not in repr(y)
            np.testing.assert_allclose(y.eval(), [2.0, 3.0])
            np.testing.assert_allclose(y.numpy(), [2.0, 3.0])
            assert len(calls) == 2  # each evaluation calls it again, as TF1 runs do
            w = tf.numpy_function(f, [tf.constant([0.0])], tf.float32)
            assert len(calls) == 2 and w.op.type == "PyFunc"
        finally:
            sess.close()


def test_eager_stateless_is_evaluated_at_creation_and_errors_there():
    g = tf.Graph()
    with g.as_default():
        sess = tf.InteractiveSession(graph=g, eager=True)
        try:
            calls = []

            def f(a):
                calls.append(1)
                return a * 10
            y = tf.py_func(f, [tf.constant([1.0, 2.0])], tf.float32, stateful=False)
            assert len(calls) == 1
            assert "numpy=[10. 20.]" in repr(y)
            z = y + 1.0  # downstream ops are eager too
            np.testing.assert_allclose(z.numpy(), [11.0, 21.0])
            assert len(calls) == 1  # the cached value is used
            with pytest.raises(tf.errors.InvalidArgumentError) as info:
                tf.py_func(_raiser(ValueError("eager boom")), [tf.constant(1.0)],  # CREATE-EAGER
                           tf.float32, stateful=False, name="eager_bad")
            assert "eager boom" in str(info.value) and "eager_bad" in str(info.value)
            assert "test_script_ops.py:%d" % _line_of("# CREATE-EAGER") in str(info.value)
        finally:
            sess.close()


# ----------------------------------------------------------------------------------------------
# Gradients: none by default (TF 1.15 registers PyFunc as not differentiable), overridable
# ----------------------------------------------------------------------------------------------
def test_no_gradient_through_py_func_by_default():
    x = tf.constant([1.0, 2.0])
    y = tf.py_func(np.sin, [x], tf.float32)
    z = tf.py_func(np.sin, [x], tf.float32, stateful=False)
    assert tf.gradients(y, x) == [None]
    assert tf.gradients(z, x) == [None]
    (g,) = tf.gradients(y + x, x)  # only the differentiable path
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run(g), [1.0, 1.0])


@tf.RegisterGradient("TestScriptOps_PySinGrad")
def _py_sin_grad(op, dy):
    return [dy * tf.cos(op.inputs[0])]


def test_py_func_gradient_through_override_map_matches_finite_differences():
    def fn(x):
        with tf.get_default_graph().gradient_override_map({"PyFunc": "TestScriptOps_PySinGrad"}):
            y = tf.py_func(np.sin, [x], tf.float64)
        y.set_shape(x.shape)
        return y * x
    check_gradients(fn, [np.random.RandomState(0).randn(2, 3)])


# ----------------------------------------------------------------------------------------------
# Export / import: the node is exported with its token; the function cannot be
# ----------------------------------------------------------------------------------------------
def _build_graph_def(scale):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [2], name="x")
        tf.py_func(lambda a: a * scale, [x], tf.float32, name="scaled")
    return g, g.as_graph_def()


def test_export_keeps_a_token_and_import_runs_in_the_same_process():
    g, gd = _build_graph_def(3.0)
    node = [n for n in gd.node if n.name == "scaled"][0]
    assert node.op == "PyFunc" and isinstance(node.attr["token"], str)
    assert node.attr["Tout"] == [tf.float32]
    with tf.Graph().as_default():
        tf.import_graph_def(gd, name="")
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run("scaled:0", {"x:0": [1.0, 2.0]}), [3.0, 6.0])
    del g


def test_imported_py_func_whose_function_is_gone_raises_a_clear_error():
    g, gd = _build_graph_def(2.0)
    token = [n for n in gd.node if n.name == "scaled"][0].attr["token"]
    assert token in script_ops._FUNCS
    del g
    gc.collect()
    assert token not in script_ops._FUNCS  # the function lived as long as its graph
    with tf.Graph().as_default():
        tf.import_graph_def(gd, name="")
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError,
                               match=r"not registered in this process[\s\S]*cannot be serialized"
                                     r"[\s\S]*node scaled \(op PyFunc\)"):
                sess.run("scaled:0", {"x:0": [1.0, 2.0]})


def test_graph_file_from_another_process_cannot_run_its_py_func(tmp_path):
    path = tmp_path / "graph.pb"
    g, gd = _build_graph_def(5.0)
    path.write_bytes(gd.SerializeToString())
    script = textwrap.dedent("""
        import sys
        import tfnb as tf
        with open(sys.argv[1], "rb") as f:
            gd = tf.GraphDef.FromString(f.read())
        # clear_devices: the graph may have been built under another device (TFNB_TEST_DEVICE)
        tf.import_graph_def(gd, name="", clear_devices=True)
        # a py_func of this process takes the first token number: it must not be called
        tf.py_func(lambda a: a * 0.0 + 99.0, [tf.constant([0.0, 0.0])], tf.float32)
        try:
            tf.Session().run("scaled:0", {"x:0": [1.0, 2.0]})
        except tf.errors.InvalidArgumentError as e:
            print("ERROR:", e)
        """)
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "ERROR:" in out.stdout and "not registered in this process" in out.stdout
    del g
