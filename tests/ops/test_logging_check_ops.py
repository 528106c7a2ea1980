"""Debugging and assertion ops: Print, print, check_numerics, add_check_numerics_ops, Assert,
assert_*. Expected texts come from TensorFlow 2.21 (compat.v1, graph mode)."""
import collections
import inspect
import logging
import sys

import numpy as np
import pytest

import tfnb as tf
from gradcheck import array_modules, check_gradients
from tfnb.ops.logging_ops import summarize_value
from tfnb.runtime.state import KernelContext, SessionState

NAN, INF = np.nan, np.inf


def _line():
    """The line number of the caller (to check the creation location in error messages)."""
    return inspect.currentframe().f_back.f_lineno


def _where(line):
    return "%s:%d" % (__file__, line)


# ----------------------------------------------------------------------------------------------
# How values are printed: one row per case, both layouts (TF1 Print/Assert, tf.print)
# ----------------------------------------------------------------------------------------------
SUMMARIZE_ROWS = [
    ("f32", np.array([1 / 3., 1e10, 0.1, -2.0, NAN, -INF], np.float32), 6,
     "0.333333343 1e+10 0.1 -2 nan -inf", "[0.333333343 1e+10 0.1 -2 nan -inf]"),
    ("f64", np.array([1 / 3., 1e-7, 123456789.0]), 3,
     "0.33333333333333331 1e-07 123456789", "[0.33333333333333331 1e-07 123456789]"),
    ("f16", np.array([0.1, -0.0, 2.5], np.float16), 3,
     "0.0999755859 -0 2.5", "[0.0999755859 -0 2.5]"),
    ("i32_2d", np.arange(6, dtype=np.int32).reshape(2, 3), 3,
     "[0 1 2]...", "[[0 1 2]\n [3 4 5]]"),
    ("i64_3d", np.arange(24, dtype=np.int64).reshape(2, 3, 4), 5,
     "[[0 1 2 3][4...]]...",
     "[[[0 1 2 3]\n  [4 5 6 7]\n  [8 9 10 11]]\n\n [[12 13 14 15]\n  [16 17 18 19]\n"
     "  [20 21 22 23]]]"),
    ("u8_all", np.arange(5, dtype=np.uint8), -1, "0 1 2 3 4", "[0 1 2 3 4]"),
    ("bool", np.array([True, False, True]), 3, "1 0 1", "[1 0 1]"),
    ("str", np.array([b"ab", b"c\nd", b'q"t', b"\x01"], dtype=object), 3,
     'ab c\\nd q\\"t...', '["ab" "c\\nd" "q\\"t" "\\001"]'),
    ("scalar", np.array(3.5, np.float32), 3, "3.5", "3.5"),
    ("empty", np.zeros((0,), np.float32), 3, "", "[]"),
    ("empty2d", np.zeros((2, 0), np.float32), 3, "", "[\n ...]"),
    ("big2d", np.arange(100, dtype=np.int32).reshape(10, 10), 2, "[0 1...]...",
     "[[0 1 ... 8 9]\n [10 11 ... 18 19]\n ...\n [80 81 ... 88 89]\n [90 91 ... 98 99]]"),
    ("col", np.arange(6, dtype=np.int32).reshape(3, 2, 1), 1, "[[0]]...",
     "[[[0]\n  [1]]\n\n ...\n\n [[4]\n  [5]]]"),
]


@pytest.mark.parametrize("name,value,summarize,v1,v2", SUMMARIZE_ROWS,
                         ids=[r[0] for r in SUMMARIZE_ROWS])
def test_summarize_value_matches_tensorflow(name, value, summarize, v1, v2):
    assert summarize_value(value, summarize) == v1
    assert summarize_value(value, summarize, print_v2=True) == v2


# ----------------------------------------------------------------------------------------------
# tf.Print
# ----------------------------------------------------------------------------------------------
def test_print_is_identity_and_prints_message_and_data(capsys):
    x = tf.placeholder(tf.float32, [None])
    y = tf.Print(x, [x, tf.shape(x), "tag"], message="x, shape: ")
    assert y.op.type == "Print" and y.op.name == "Print"
    assert y.dtype == tf.float32 and y.shape.as_list() == [None]
    assert capsys.readouterr().err == ""  # nothing printed while building
    with tf.Session() as sess:
        out = sess.run(y, {x: [1.0, 2.5, 3.0, 4.0]})
    np.testing.assert_array_equal(out, [1.0, 2.5, 3.0, 4.0])
    assert out.dtype == np.float32
    assert capsys.readouterr().err == "x, shape: [1 2.5 3...][4][tag]\n"


@pytest.mark.parametrize("summarize,expected", [(None, "[0 1 2...]"), (2, "[0 1...]"),
                                                (-1, "[0 1 2 3 4]"), (10, "[0 1 2 3 4]")])
def test_print_summarize(capsys, summarize, expected):
    x = tf.constant(np.arange(5, dtype=np.int32))
    y = tf.Print(tf.constant(0), [x], summarize=summarize)
    with tf.Session() as sess:
        sess.run(y)
    assert capsys.readouterr().err == expected + "\n"


def test_print_first_n_counts_per_session(capsys):
    x = tf.placeholder(tf.int32, [])
    y = tf.Print(x, [x], message="v=", first_n=2)
    with tf.Session() as sess:
        for i in range(4):
            assert sess.run(y, {x: i}) == i
    assert capsys.readouterr().err == "v=[0]\nv=[1]\n"
    with tf.Session() as sess:  # a new session starts counting again
        sess.run(y, {x: 7})
    assert capsys.readouterr().err == "v=[7]\n"


def test_print_runs_only_when_needed(capsys):
    x = tf.constant(1.0)
    tf.Print(x, [x], message="unused")
    z = x + 1.0
    with tf.Session() as sess:
        assert sess.run(z) == 2.0
    assert capsys.readouterr().err == ""


def test_print_gradient_passes_through_to_input():
    check_gradients(lambda x: tf.Print(x, [x], first_n=0) * x, [np.array([0.5, -1.5, 2.0])])
    x = tf.constant([1.0, 2.0])
    d = tf.constant([3.0])
    gx, gd = tf.gradients(tf.reduce_sum(tf.Print(x, [d]) * 2.0), [x, d])
    assert gd is None
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(gx), [2.0, 2.0])


# ----------------------------------------------------------------------------------------------
# tf.print
# ----------------------------------------------------------------------------------------------
def test_print_v2_mixed_inputs_to_stderr(capsys):
    a = tf.constant(np.arange(10, dtype=np.float32))
    b = tf.constant(np.arange(24).reshape(2, 3, 4))
    op = tf.print("hello", a, 3, [1, a], {"k": b, "a": 2})
    assert isinstance(op, tf.Operation) and op.type == "PrintV2" and op.outputs == []
    assert capsys.readouterr().err == ""
    with tf.Session() as sess:
        assert sess.run(op) is None
    assert capsys.readouterr().err == (
        "hello [0 1 2 ... 7 8 9] 3 [1, [0 1 2 ... 7 8 9]] {'a': 2, 'k': [[[0 1 2 3]\n"
        "  [4 5 6 7]\n  [8 9 10 11]]\n\n [[12 13 14 15]\n  [16 17 18 19]\n  [20 21 22 23]]]}\n")


def test_print_v2_options(capsys, tmp_path):
    a = tf.constant(np.arange(10, dtype=np.int32))
    b = tf.constant(np.arange(24).reshape(2, 3, 4))
    path = tmp_path / "log.txt"
    ops = [tf.print("sep", a, sep="|", end="END\n", output_stream=sys.stdout),
           tf.print(a, summarize=-1, output_stream=sys.stdout),
           tf.print(b, summarize=1, output_stream=sys.stdout),
           tf.print(tf.constant("lone string"), output_stream=sys.stdout),
           tf.print("x", tf.constant("s"), tf.constant([b"a", b"b"]), tf.constant([True, False]),
                    tf.constant(2.5), output_stream=sys.stdout),
           tf.print("{}", a, summarize=1, output_stream=sys.stdout),
           tf.print(["str", a, ("t", tf.constant("w"))], {"z": "v", "y": [a, 2]},
                    collections.OrderedDict([("b", a), ("a", 1)]), output_stream=sys.stdout),
           tf.print("to file", a, output_stream="file://%s" % path)]
    with tf.Session() as sess:
        for op in ops:
            sess.run(op)
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == (
        "sep|[0 1 2 ... 7 8 9]END\n"
        "[0 1 2 3 4 5 6 7 8 9]\n"
        "[[[0 ... 3]\n  ...\n  [8 ... 11]]\n\n [[12 ... 15]\n  ...\n  [20 ... 23]]]\n"
        "lone string\n"
        'x "s" ["a" "b"] [1 0] 2.5\n'
        "{} [0 ... 9]\n"
        "['str', [0 1 2 ... 7 8 9], ('t', \"w\")] {'y': [[0 1 2 ... 7 8 9], 2], 'z': 'v'} "
        "OrderedDict([('b', [0 1 2 ... 7 8 9]), ('a', 1)])\n")
    assert path.read_text() == "to file [0 1 2 ... 7 8 9]\n"


def test_print_v2_in_control_dependencies(capsys):
    x = tf.placeholder(tf.float32, [2])
    with tf.control_dependencies([tf.print("x =", x)]):
        y = tf.identity(x) * 2.0
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: [1.0, 2.0]}), [2.0, 4.0])
    assert capsys.readouterr().err == "x = [1 2]\n"


def test_print_v2_to_logging(caplog):
    op = tf.print("logged", tf.constant([1, 2]), output_stream=logging.warning)
    with caplog.at_level(logging.INFO, logger="tfnb"), tf.Session() as sess:
        sess.run(op)
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("tfnb", logging.WARNING, "logged [1 2]")]


def test_print_v2_rejects_bad_arguments():
    with pytest.raises(ValueError, match="Unsupported output stream"):
        tf.print("x", output_stream="nowhere")
    with pytest.raises(TypeError, match="sortable keys"):
        tf.print({1: tf.constant(1), "a": tf.constant(2)})
    with pytest.raises(TypeError, match="unexpected keyword"):
        tf.print("x", stream=sys.stdout)


def test_side_effect_ops_wait_for_run_in_eager_session(capsys):
    sess = tf.InteractiveSession(eager=True)
    try:
        x = tf.constant([1.0, 2.0])
        y = tf.Print(x, [x], message="p")
        op = tf.print("q", x)
        bad = tf.Assert(tf.constant(False), ["never at creation"])
        assert capsys.readouterr().err == ""
        sess.run([y, op])
        assert capsys.readouterr().err in ("p[1 2]\nq [1 2]\n", "q [1 2]\np[1 2]\n")
        with pytest.raises(tf.errors.InvalidArgumentError, match="never at creation"):
            sess.run(bad)
    finally:
        sess.close()


# ----------------------------------------------------------------------------------------------
# check_numerics
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [tf.float16, tf.float32, tf.float64])
def test_check_numerics_passes_clean_values(dtype):
    x = tf.placeholder(dtype, [None])
    y = tf.check_numerics(x, "clean")
    assert y.dtype == dtype and y.op.type == "CheckNumerics"
    with tf.Session() as sess:
        out = sess.run(y, {x: [1.0, -2.0, 0.0]})
    assert out.dtype == dtype.as_numpy_dtype
    np.testing.assert_array_equal(out, [1.0, -2.0, 0.0])


@pytest.mark.parametrize("value,what", [([1.0, NAN], "NaN"), ([INF, 1.0], "Inf"),
                                        ([-INF, NAN], "Inf and NaN")])
def test_check_numerics_raises_with_op_and_location(value, what):
    x = tf.placeholder(tf.float32, [2])
    line = _line() + 1
    y = tf.check_numerics(x, "my check", name="checked")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(y, {x: value})
    msg = str(info.value)
    assert msg.startswith("my check : Tensor had %s values" % what)
    assert "checked" in msg and "CheckNumerics" in msg and _where(line) in msg
    assert info.value.op is y.op


def test_check_numerics_on_a_constant_fails_when_run():
    y = tf.check_numerics(tf.constant([1.0, NAN]), "const")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError, match="const : Tensor had NaN"):
            sess.run(y)


def test_check_numerics_rejects_non_float_at_construction():
    with pytest.raises(TypeError, match="not in list of allowed values"):
        tf.check_numerics(tf.constant([1, 2]), "ints")


def test_check_numerics_gradient_passes_through_and_is_checked():
    check_gradients(lambda x: tf.check_numerics(x, "g") * x, [np.array([0.5, -1.5, 2.0])],
                    order=2)
    x = tf.placeholder(tf.float32, [2])
    y = tf.check_numerics(x, "fwd")
    (g,) = tf.gradients(tf.reduce_sum(y * tf.constant([1.0, INF])), [x])
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(g, {x: [1.0, 2.0]})
    assert str(info.value).startswith(
        "Not a number (NaN) or infinity (Inf) values detected in gradient. fwd : Tensor had Inf "
        "values")


def test_verify_tensor_all_finite():
    x = tf.placeholder(tf.float64, [2])
    y = tf.verify_tensor_all_finite(x, "verify")
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: [1.0, 2.0]}), [1.0, 2.0])
        with pytest.raises(tf.errors.InvalidArgumentError, match="verify : Tensor had NaN"):
            sess.run(y, {x: [NAN, 2.0]})


def test_failed_run_leaves_variables_unchanged():
    v = tf.Variable([1.0, 2.0], name="v")
    x = tf.placeholder(tf.float32, [2])
    y = tf.placeholder(tf.float32, [2])
    update = tf.assign(v, x)
    with tf.control_dependencies([update]):  # the write happens before the failing check
        checked = tf.check_numerics(y, "after update")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        with pytest.raises(tf.errors.InvalidArgumentError, match="after update"):
            sess.run([update, checked], {x: [5.0, 6.0], y: [NAN, 0.0]})
        np.testing.assert_array_equal(sess.run(v), [1.0, 2.0])
        sess.run([update, checked], {x: [5.0, 6.0], y: [0.0, 0.0]})
        np.testing.assert_array_equal(sess.run(v), [5.0, 6.0])


@pytest.mark.parametrize("xp", array_modules())
def test_kernels_on_backend(xp, capsys):
    """CheckNumerics, Assert and Print kernels called directly with each array module."""
    x = tf.placeholder(tf.float32, [2])
    ctx = KernelContext(SessionState(), xp=xp)
    check = tf.check_numerics(x, "k").op
    run_check = check.op_def.kernel(check, ctx)
    clean = xp.asarray(np.array([1.0, 2.0], np.float32))
    assert run_check(clean) is clean
    with pytest.raises(tf.errors.InvalidArgumentError, match="k : Tensor had Inf values"):
        run_check(xp.asarray(np.array([1.0, INF], np.float32)))
    a = tf.Assert(tf.constant(True), [x])
    run_assert = a.op_def.kernel(a, ctx)
    run_assert(xp.asarray(np.array(True)), clean)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"assertion failed: \[1 2\]"):
        run_assert(xp.asarray(np.array(False)), clean)
    p = tf.Print(x, [x], message="p").op
    assert p.op_def.kernel(p, ctx)(clean, clean) is clean
    assert capsys.readouterr().err == "p[1 2]\n"


# ----------------------------------------------------------------------------------------------
# add_check_numerics_ops
# ----------------------------------------------------------------------------------------------
def test_add_check_numerics_ops_catches_nan_from_log():
    x = tf.placeholder(tf.float32, [2])
    y = tf.log(x)
    z = tf.cast(tf.shape(y), tf.int64)  # no float output: not checked
    check = tf.add_check_numerics_ops()
    assert check.type == "NoOp"
    checked = sorted(c.inputs[0].name for c in check.control_inputs)
    assert checked == ["Log:0", "Placeholder:0"]
    assert z.dtype == tf.int64
    later = tf.check_numerics(x * 2.0, "later")  # created after: not covered
    assert later.op not in check.control_inputs
    with tf.Session() as sess:
        np.testing.assert_allclose(sess.run([y, check], {x: [1.0, np.e]})[0], [0.0, 1.0],
                                   rtol=1e-6)
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run([y, check], {x: [-1.0, 1.0]})
    assert str(info.value).startswith("Log:0 : Tensor had NaN values")


# ----------------------------------------------------------------------------------------------
# Assert
# ----------------------------------------------------------------------------------------------
def test_assert_op_runtime_failure_message():
    x = tf.placeholder(tf.int32, [None])
    line = _line() + 1
    a = tf.Assert(tf.reduce_all(x > 0), [x, "hi", x], summarize=2)
    assert a.type == "Assert" and a.name == "Assert/Assert" and a.outputs == []
    with tf.Session() as sess:
        sess.run(a, {x: [1, 2, 3]})
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(a, {x: [-1, 2, 3]})
    msg = str(info.value)
    assert msg.startswith("assertion failed: [-1 2...] [hi] [-1 2...]")
    assert "Assert/Assert" in msg and _where(line) in msg


def test_assert_op_checks_condition():
    with pytest.raises(TypeError, match="condition"):
        tf.Assert(tf.constant(1), ["int condition"])
    c = tf.placeholder(tf.bool, [None])
    a = tf.Assert(c, ["data"])
    with tf.Session() as sess:
        sess.run(a, {c: [True]})  # legacy shape [1] is accepted, as in TF
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"In\[0\] should be a scalar"):
            sess.run(a, {c: [True, True]})


def test_assert_in_control_dependencies():
    x = tf.placeholder(tf.float32, [None])
    y = tf.placeholder(tf.float32, [None])
    with tf.control_dependencies([tf.assert_equal(x, y)]):
        out = tf.identity(x)
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(out, {x: [1.0, 2.0], y: [1.0, 2.0]}), [1.0, 2.0])
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(out, {x: [1.0, 2.0], y: [1.0, 3.0]})
    assert str(info.value).startswith(
        "assertion failed: [Condition x == y did not hold element-wise:] [x (Placeholder:0) = ] "
        "[1 2] [y (Placeholder_1:0) = ] [1 3]")


# (function, sym, passing (x, y), failing (x, y))
BINARY_ROWS = [
    (tf.assert_equal, "==", ([1, 2], [1, 2]), ([1, 2], [1, 3])),
    (tf.assert_none_equal, "!=", ([1, 2], [3, 4]), ([1, 2], [3, 2])),
    (tf.assert_less, "<", ([1, 2], [2, 3]), ([1, 2], [2, 2])),
    (tf.assert_less_equal, "<=", ([1, 2], [1, 3]), ([1, 4], [1, 3])),
    (tf.assert_greater, ">", ([2, 3], [1, 2]), ([2, 2], [1, 2])),
    (tf.assert_greater_equal, ">=", ([2, 3], [2, 2]), ([2, 1], [2, 2])),
]


@pytest.mark.parametrize("fn,sym,good,bad", BINARY_ROWS, ids=[r[0].__name__ for r in BINARY_ROWS])
def test_binary_asserts_static(fn, sym, good, bad):
    ok = fn(tf.constant(good[0]), tf.constant(good[1]))
    assert ok.type == "NoOp"
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        fn(tf.constant(bad[0], name="a"), tf.constant(bad[1], name="b"), message="static")
    assert str(info.value) == (
        "static\nCondition x %s y did not hold element-wise:\nx (a:0) = \n%s\ny (b:0) = \n%s"
        % (sym, np.array(bad[0]), np.array(bad[1])))


@pytest.mark.parametrize("fn,sym,good,bad", BINARY_ROWS, ids=[r[0].__name__ for r in BINARY_ROWS])
def test_binary_asserts_dynamic(fn, sym, good, bad):
    x = tf.placeholder(tf.int32, [2], name="xp")
    y = tf.placeholder(tf.int32, [2], name="yp")
    line = _line() + 1
    a = fn(x, y, message="dyn")
    assert a.type == "Assert" and a.name == "%s/Assert/Assert" % fn.__name__
    with tf.Session() as sess:
        sess.run(a, {x: good[0], y: good[1]})
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(a, {x: bad[0], y: bad[1]})
    msg = str(info.value)
    assert msg.startswith(
        "assertion failed: [dyn] [Condition x %s y did not hold element-wise:] [x (xp:0) = ] "
        "[%d %d] [y (yp:0) = ] [%d %d]" % ((sym,) + tuple(bad[0]) + tuple(bad[1])))
    assert _where(line) in msg


def test_binary_assert_options():
    x = tf.constant([1.0, 2.0])
    assert tf.assert_equal(x, x).type == "NoOp"
    with pytest.raises(TypeError):  # TF does not convert the other operand's dtype
        tf.assert_less(tf.placeholder(tf.float32), 2)
    p = tf.placeholder(tf.int32, [None])
    a = tf.assert_less(p, 10, data=["custom", p], summarize=1, name="limit")
    assert a.name == "limit/Assert/Assert"
    with tf.Session() as sess:
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(a, {p: [20, 30]})
    assert str(info.value).startswith("assertion failed: [custom] [20...]\n")


# (function, sym, passing x, failing x)
SIGN_ROWS = [
    (tf.assert_positive, ">", [1, 2], [1, 0]),
    (tf.assert_negative, "<", [-1, -2], [-1, 0]),
    (tf.assert_non_negative, ">=", [0, 2], [0, -2]),
    (tf.assert_non_positive, "<=", [0, -2], [0, 2]),
]


@pytest.mark.parametrize("fn,sym,good,bad", SIGN_ROWS, ids=[r[0].__name__ for r in SIGN_ROWS])
def test_sign_asserts(fn, sym, good, bad):
    assert fn(tf.constant(good, tf.float32)).type == "NoOp"
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        fn(tf.constant(bad, tf.float32, name="c"), message="m")
    assert str(info.value) == ("m.  \nCondition x %s 0 did not hold element-wise:\nx (c:0) = \n%s"
                               % (sym, np.array(bad, np.float32)))
    x = tf.placeholder(tf.int64, [None], name="v")
    a = fn(x)
    assert a.type == "Assert"
    with tf.Session() as sess:
        sess.run(a, {x: good})
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(a, {x: bad})
    assert str(info.value).startswith(
        "assertion failed: [] [Condition x %s 0 did not hold element-wise:] [x (v:0) = ] [%d %d]"
        % ((sym,) + tuple(bad)))


def test_assert_near():
    assert tf.assert_near(tf.constant([1.0, 2.0]), tf.constant([1.0, 2.0])).type == "NoOp"
    x = tf.placeholder(tf.float32, [2])
    a = tf.assert_near(x, [1.0, 2.0], atol=0.1, rtol=0.0)
    with tf.Session() as sess:
        sess.run(a, {x: [1.05, 1.95]})
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            sess.run(a, {x: [1.5, 2.0]})
    assert "x and y not equal to tolerance rtol = 0.0, atol = 0.1" in str(info.value)
    assert "[1.5 2]" in str(info.value)


def test_assert_rank_family_static():
    m = tf.constant(np.zeros((2, 3), np.float32), name="m")
    assert tf.assert_rank(m, 2).type == "NoOp"
    assert tf.assert_rank_at_least(m, 1).type == "NoOp"
    assert tf.assert_rank_in(m, [1, 2]).type == "NoOp"
    with pytest.raises(ValueError, match=r"^msg\.  Tensor m:0 must have rank 3\.  Received rank "
                                         r"2, shape \(2, 3\)$"):
        tf.assert_rank(m, 3, message="msg")
    with pytest.raises(ValueError, match="must have rank at least 3.  Received rank 2"):
        tf.assert_rank_at_least(m, 3)
    with pytest.raises(ValueError, match=r"must have rank in \(0, 1\).  Received rank 2"):
        tf.assert_rank_in(m, (0, 1))
    with pytest.raises(ValueError, match="Rank must be a scalar"):
        tf.assert_rank(m, [2])
    with pytest.raises(TypeError, match="must be of type tf.int32"):
        tf.assert_rank(m, tf.constant(2, tf.int64))


def test_assert_rank_family_dynamic():
    x = tf.placeholder(tf.float32, name="u")  # unknown rank
    r = tf.placeholder(tf.int32, name="r")
    checks = {"rank": tf.assert_rank(x, 2), "at_least": tf.assert_rank_at_least(x, 2),
              "in": tf.assert_rank_in(x, [0, 2]), "fed_rank": tf.assert_rank(x, r)}
    assert all(c.type == "Assert" for c in checks.values())
    with tf.Session() as sess:
        sess.run(list(checks.values()), {x: np.zeros((2, 2)), r: 2})
        for key in ("rank", "at_least", "in"):
            with pytest.raises(tf.errors.InvalidArgumentError) as info:
                sess.run(checks[key], {x: np.zeros(3)})
            assert "Tensor u:0 must have rank" in str(info.value)
            assert "[Received shape: ] [3]" in str(info.value)
        with pytest.raises(tf.errors.InvalidArgumentError, match="Rank must be a scalar"):
            sess.run(checks["fed_rank"], {x: np.zeros((2, 2)), r: [2]})


def test_static_type_checks():
    i = tf.constant([1, 2], name="i")
    f = tf.constant([1.0], name="f")
    assert tf.assert_type(i, tf.int32).type == "NoOp"
    with pytest.raises(TypeError, match=r"^m\.  i:0 must be of type tf.float32; got tf.int32$"):
        tf.assert_type(i, tf.float32, message="m")
    assert tf.assert_integer(i).type == "NoOp"
    with pytest.raises(TypeError, match="Expected \"x\" to be integer type.  Found: f:0 of dtype "
                                        "<dtype: 'float32'>"):
        tf.assert_integer(f)
    s = tf.constant(3.0)
    assert tf.assert_scalar(s) is s
    with pytest.raises(ValueError, match=r"Expected scalar shape for f:0, saw shape: \(1,\)\."):
        tf.assert_scalar(f)
    with pytest.raises(ValueError, match="Expected scalar shape"):
        tf.assert_scalar(tf.placeholder(tf.float32))  # unknown rank is not known to be scalar
    assert tf.is_numeric_tensor(f) and not tf.is_numeric_tensor(tf.constant(True))
    assert not tf.is_numeric_tensor(1.0)
    assert tf.assert_same_float_dtype([f, None, tf.constant(2.0)]) == tf.float32
    assert tf.assert_same_float_dtype() == tf.float32
    with pytest.raises(ValueError, match="must be of the same type"):
        tf.assert_same_float_dtype([f, tf.constant(1.0, tf.float64)])
    with pytest.raises(ValueError, match="Expected floating point type"):
        tf.assert_same_float_dtype([i])


@pytest.mark.parametrize("values,ok", [([1, 2], True), ((1,), True), ({"a": 1}, True),
                                       (np.array([1]), False), ("ab", False), (b"ab", False),
                                       (3, False)])
def test_assert_proper_iterable(values, ok):
    if ok:
        tf.assert_proper_iterable(values)
    else:
        with pytest.raises(TypeError, match="Expected argument \"values\" to be"):
            tf.assert_proper_iterable(values)
    with pytest.raises(TypeError, match="proper"):
        tf.assert_proper_iterable(tf.constant([1]))
