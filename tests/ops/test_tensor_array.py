"""tf.TensorArray: every op against NumPy (values, dtypes, static shapes, numerical gradients),
TensorArrays as while_loop/cond values, value semantics of versions, and typed errors that
name the array, where it was created and the loop it is in."""
import numpy as np
import pytest

import tfnb as tf
from gradcheck import check_gradients

RNG = np.random.RandomState(0)
X = RNG.randn(3, 2)  # three elements of shape [2]


def _run(fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed)


def _ta(size=3, **kw):
    return tf.TensorArray(tf.float64, size, **kw)


# (name, fn of a float64 tensor x [3, 2], NumPy reference of x)
CASES = [
    ("write_read", lambda x: _ta().write(0, x[0]).write(1, x[1] * 2.0).read(1), lambda x: x[1] * 2),
    ("write_stack_any_order", lambda x: _ta().write(2, x[0]).write(0, x[1]).write(1, x[2]).stack(),
     lambda x: x[[1, 2, 0]]),
    ("unstack_stack", lambda x: _ta().unstack(x * 3.0).stack(), lambda x: x * 3),
    ("unstack_read", lambda x: _ta().unstack(x).read(2), lambda x: x[2]),
    ("gather", lambda x: _ta().unstack(x).gather([2, 0]), lambda x: x[[2, 0]]),
    ("gather_duplicates", lambda x: _ta(clear_after_read=False).unstack(x).gather([1, 1, 0]),
     lambda x: x[[1, 1, 0]]),
    ("scatter_partial_stack", lambda x: _ta().scatter([2, 0], x[:2]).stack(),
     lambda x: np.stack([x[1], np.zeros(2), x[0]])),
    ("write_partial_stack", lambda x: _ta().write(1, x[2]).stack(),
     lambda x: np.stack([np.zeros(2), x[2], np.zeros(2)])),
    ("read_twice_sums", lambda x: (lambda ta: ta.read(0) * 2.0 + ta.read(0) * ta.read(1))(
        _ta(clear_after_read=False).unstack(x)), lambda x: x[0] * 2 + x[0] * x[1]),
    ("concat", lambda x: _ta(2, infer_shape=False).write(0, x[0]).write(
        1, tf.reshape(x[1:], [-1])).concat(), lambda x: np.concatenate([x[0], x[1:].ravel()])),
    ("split_read", lambda x: _ta(2, infer_shape=False).split(tf.reshape(x, [-1]), [2, 4]).read(1),
     lambda x: x.ravel()[2:]),
    ("split_concat", lambda x: _ta(3, infer_shape=False).split(
        tf.reshape(x, [-1]), [1, 0, 5]).concat(), lambda x: x.ravel()),
    ("dynamic_size", lambda x: tf.TensorArray(tf.float64, 0, dynamic_size=True).write(
        3, x[0]).write(1, x[1]).stack(),
     lambda x: np.stack([np.zeros(2), x[1], np.zeros(2), x[0]])),
    ("identity", lambda x: _ta().unstack(x).identity().stack(), lambda x: x),
]


@pytest.mark.parametrize("name,fn,ref", CASES, ids=[c[0] for c in CASES])
def test_op_values_dtypes_and_gradients(name, fn, ref):
    x = tf.placeholder(tf.float64, [3, 2])
    y = fn(x)
    got = _run(y, {x: X})
    assert got.dtype == np.float64 and y.dtype == tf.float64
    np.testing.assert_allclose(got, ref(X), rtol=1e-12)
    assert y.shape.is_compatible_with(got.shape)
    check_gradients(lambda x: tf.reshape(fn(x), got.shape), [X])


@pytest.mark.parametrize("name,fn,ref", CASES, ids=[c[0] for c in CASES])
def test_second_order_gradients(name, fn, ref):
    """Second derivatives through every op's gradient: the TensorArrayGrad* ops (each the
    adjoint of another) and AddVariants (fan-out of a TensorArray's flow) get differentiated."""
    shape = ref(X).shape
    check_gradients(lambda x: tf.reshape(fn(x) * fn(x * x), shape), [X], order=2)


def test_second_order_gradient_through_tensor_arrays():
    check_gradients(lambda x: _ta().unstack(x * x).stack() * _ta().unstack(x).gather([1, 0, 2]),
                    [X], order=2)


def test_static_shapes_size_and_properties():
    ta = tf.TensorArray(tf.float32, size=3)
    assert ta.dtype == tf.float32 and ta.element_shape.ndims is None and not ta.dynamic_size
    assert ta.flow.dtype == tf.variant and ta.handle is ta.flow
    ta2 = ta.write(0, tf.ones([2, 3]))
    assert ta.element_shape.as_list() == [2, 3] and ta2.element_shape.as_list() == [2, 3]
    assert ta2.read(1).shape.as_list() == [2, 3]
    assert ta2.stack().shape.as_list() == [3, 2, 3]
    assert ta2.gather([0, 2]).shape.as_list() == [2, 2, 3]
    assert ta2.concat().shape.as_list() == [None, 3]
    assert tf.TensorArray(tf.float32, 3, element_shape=[None, 4]).stack().shape.as_list() == \
        [3, None, 4]
    assert tf.TensorArray(tf.float32, 3).unstack(tf.ones([3, 4, 5])).element_shape.as_list() == \
        [4, 5]
    dyn = tf.TensorArray(tf.float32, 0, dynamic_size=True).write(3, 1.0)
    assert dyn.stack().shape.as_list() == [None]
    assert _run([dyn.size(), ta2.size()]) == [4, 3]
    assert _run(tf.TensorArray(tf.float32, 0, element_shape=[3]).stack()).shape == (0, 3)
    assert _run(tf.TensorArray(tf.int32, 2).write(0, 7).write(1, 8).stack()).dtype == np.int32


def test_write_returns_new_values_and_old_versions_keep_their_contents():
    a, b, c = (tf.constant([float(i)]) for i in (1, 2, 3))
    ta0 = tf.TensorArray(tf.float32, 2, clear_after_read=False)
    ta1 = ta0.write(0, a)
    ta2 = ta1.write(1, b)
    ta1b = ta1.write(1, c)  # a second write from the same older value: a separate array
    r = _run({"ta1": ta1.stack(), "ta2": ta2.stack(), "ta1b": ta1b.stack(), "ta0": ta0.stack()})
    np.testing.assert_array_equal(r["ta1"], [[1.0], [0.0]])
    np.testing.assert_array_equal(r["ta2"], [[1.0], [2.0]])
    np.testing.assert_array_equal(r["ta1b"], [[1.0], [3.0]])
    np.testing.assert_array_equal(r["ta0"], [[0.0], [0.0]])
    dyn = tf.TensorArray(tf.float32, 0, dynamic_size=True)
    first = dyn.write(0, 1.0).write(1, 2.0).write(2, 3.0)
    second = dyn.write(0, 5.0).write(1, 6.0)  # a branch from the empty array grows on its own
    r = _run([first.stack(), second.stack(), second.size()])
    np.testing.assert_array_equal(r[0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(r[1], [5.0, 6.0])
    assert r[2] == 2


def test_tensor_array_written_in_while_loop_and_stacked_after_with_gradients():
    def build(x, w):
        inp = tf.TensorArray(tf.float64, 4).unstack(x)

        def body(i, h, out):
            h = tf.tanh(h * w + inp.read(i))
            return i + 1, h, out.write(i, h)
        _, h, out = tf.while_loop(lambda i, h, o: i < 4, body,
                                  [tf.constant(0), tf.zeros([2], tf.float64),
                                   tf.TensorArray(tf.float64, 4)])
        return out.stack() + h
    x, w = RNG.randn(4, 2), RNG.randn(2)
    xs, ws = tf.placeholder(tf.float64, [4, 2]), tf.placeholder(tf.float64, [2])
    got = _run(build(xs, ws), {xs: x, ws: w})
    h, hs = np.zeros(2), []
    for t in range(4):
        h = np.tanh(h * w + x[t])
        hs.append(h)
    np.testing.assert_allclose(got, np.stack(hs) + h, rtol=1e-12)
    check_gradients(build, [x, w])


def test_loop_reading_what_it_wrote_and_nested_loops_gradients():
    def recurrence(x, w):  # element i is computed from element i - 1 of the same array
        ta = tf.TensorArray(tf.float64, 5, clear_after_read=False).write(0, x)

        def body(i, ta):
            prev = ta.read(i - 1)
            return i + 1, ta.write(i, tf.sin(prev) * w + prev)
        return tf.while_loop(lambda i, ta: i < 5, body, [1, ta])[1].stack()

    def nested(x):  # an inner loop with its own dynamic-size array per outer iteration
        inp = tf.TensorArray(tf.float64, 3).unstack(x)

        def outer(i, out):
            row = inp.read(i)

            def inner(j, rta, acc):
                acc = acc * row + 1.0
                return j + 1, rta.write(j, acc), acc
            _, rta, _ = tf.while_loop(lambda j, *_: j < 2 + i, inner, [
                0, tf.TensorArray(tf.float64, 0, dynamic_size=True), tf.ones([2], tf.float64)])
            return i + 1, out.write(i, tf.reduce_sum(rta.stack(), 0))
        return tf.while_loop(lambda i, o: i < 3, outer, [0, tf.TensorArray(tf.float64, 3)])[1] \
            .stack()
    x, w = RNG.randn(2), RNG.randn(2)
    xs, ws = tf.placeholder(tf.float64, [2]), tf.placeholder(tf.float64, [2])
    got = _run(recurrence(xs, ws), {xs: x, ws: w})
    ref = [x]
    for _ in range(4):
        ref.append(np.sin(ref[-1]) * w + ref[-1])
    np.testing.assert_allclose(got, np.stack(ref), rtol=1e-12)
    check_gradients(recurrence, [x, w])
    check_gradients(nested, [RNG.randn(3, 2)])


def test_dynamic_size_array_in_loop_with_run_time_trip_count():
    n = tf.placeholder(tf.int32, [])
    x = tf.placeholder(tf.float64, [])

    def body(i, ta, acc):
        acc = acc * x
        return i + 1, ta.write(i, acc), acc
    _, ta, _ = tf.while_loop(lambda i, *_: i < n, body,
                             [0, tf.TensorArray(tf.float64, 0, dynamic_size=True),
                              tf.constant(1.0, tf.float64)])
    s = ta.stack()
    g = tf.gradients(tf.reduce_sum(s), x)[0]
    r = _run([s, ta.size(), g], {n: 4, x: 2.0})
    np.testing.assert_allclose(r[0], [2.0, 4.0, 8.0, 16.0])
    assert r[1] == 4
    np.testing.assert_allclose(r[2], 1 + 2 * 2 + 3 * 4 + 4 * 8)


def test_captured_tensor_array_gradient_when_loop_runs_zero_times():
    x = tf.placeholder(tf.float64, [3])
    n = tf.placeholder(tf.int32, [])
    ta = tf.TensorArray(tf.float64, 3).unstack(x)
    _, s = tf.while_loop(lambda i, s: i < n, lambda i, s: (i + 1, s + ta.read(i)),
                         [0, tf.constant(0.0, tf.float64)])
    g = tf.gradients(s * 2.0, x)[0]
    xv = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(_run(g, {x: xv, n: 2}), [2.0, 2.0, 0.0])
    np.testing.assert_allclose(_run(g, {x: xv, n: 0}), [0.0, 0.0, 0.0])


def test_cond_returns_a_tensor_array():
    p = tf.placeholder(tf.bool, [])
    x = tf.placeholder(tf.float64, [2])
    ta = tf.TensorArray(tf.float64, 2).write(0, x)
    out = tf.cond(p, lambda: ta.write(1, x * 2.0), lambda: ta.write(1, x * 3.0))
    assert isinstance(out, tf.TensorArray) and out.element_shape.as_list() == [2]
    s = out.stack()
    g = tf.gradients(tf.reduce_sum(s), x)[0]
    np.testing.assert_allclose(_run([s, g], {p: True, x: [1.0, 2.0]})[1], [3.0, 3.0])
    np.testing.assert_allclose(_run([s, g], {p: False, x: [1.0, 2.0]})[0], [[1, 2], [3, 6]])


def test_eager_interactive_values_and_reads_in_separate_evaluations():
    g = tf.Graph()
    with g.as_default():
        sess = tf.InteractiveSession(graph=g, eager=True)
        ta1 = tf.TensorArray(tf.float32, 3).write(0, 1.0).write(1, 2.0)
        np.testing.assert_array_equal(ta1.write(2, 3.0).stack().numpy(), [1.0, 2.0, 3.0])
        ta2 = ta1.write(2, 5.0)  # branches off ta1: the first stack is unaffected
        np.testing.assert_array_equal(ta2.stack().numpy(), [1.0, 2.0, 5.0])
        assert ta2.read(0).numpy() == 1.0  # each eager evaluation is a run of its own
        np.testing.assert_array_equal(tf.map_fn(lambda v: v * 2.0, tf.constant([1.0, 2.0]))
                                      .numpy(), [2.0, 4.0])
        with pytest.raises(tf.errors.InvalidArgumentError, match="twice"):
            sess.run([ta2.stack(), ta2.read(0)])  # one run: clear_after_read holds
        sess.close()


# ----------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------
def _raises(cls, fetch_fn, match):
    with pytest.raises(cls, match=match) as e:
        fetch_fn()
    return str(e.value)


def test_construction_time_errors_name_the_array_and_location():
    ta = tf.TensorArray(tf.float32, 2, tensor_array_name="steps")
    msg = _raises(tf.errors.InvalidArgumentError, lambda: ta.read(3),
                  "Tried to read from index 3 but array size is: 2")
    assert "TensorArray steps" in msg and "test_tensor_array.py" in msg
    _raises(tf.errors.InvalidArgumentError, lambda: ta.write(2, 1.0), "not resizeable")
    _raises(tf.errors.InvalidArgumentError, lambda: ta.write(0, 1.0).write(0, 2.0),
            "index 0 because it has already been written")
    _raises(tf.errors.InvalidArgumentError, lambda: ta.unstack([1.0, 2.0]).write(1, 3.0),
            "already been written")
    _raises(tf.errors.InvalidArgumentError, lambda: tf.TensorArray(tf.float32, 2).read(0),
            "not yet been written")
    _raises(TypeError, lambda: ta.write(0, tf.constant(1)), "dtype is float32 but .* int32")
    _raises(ValueError, lambda: ta.write(0, [1.0, 2.0]).write(1, [1.0, 2.0, 3.0]),
            "Inconsistent shapes")
    _raises(ValueError, lambda: tf.TensorArray(tf.float32, 2, element_shape=[2]).write(
        0, [1.0, 2.0, 3.0]), "Inconsistent shapes")
    _raises(ValueError, lambda: tf.TensorArray(tf.float32), "Size must be provided")


def test_run_time_errors_are_typed_and_named():
    i = tf.placeholder(tf.int32, [])
    v = tf.placeholder(tf.float32, [None])
    ta = tf.TensorArray(tf.float32, 2, tensor_array_name="acts")
    msg = _raises(tf.errors.InvalidArgumentError, lambda: _run(ta.write(0, 1.0).read(i), {i: 5}),
                  "Tried to read from index 5 but array size is: 2")
    assert "TensorArray acts (created at" in msg and "TensorArrayReadV3" in msg
    _raises(tf.errors.InvalidArgumentError,
            lambda: _run(ta.write(i, 1.0).write(0, 2.0).stack(), {i: 0}), "already been written")
    _raises(tf.errors.InvalidArgumentError, lambda: _run(ta.write(i, 1.0).stack(), {i: 2}),
            "not resizeable and size is: 2")
    _raises(tf.errors.InvalidArgumentError,
            lambda: _run(tf.TensorArray(tf.float32, size=i).read(0), {i: 2}),
            "not yet been written to, and the element shape is not fully defined")
    np.testing.assert_array_equal(_run(ta.write(i, 1.0).read(0), {i: 1}), 0.0)  # as TF1
    t2 = ta.write(0, 1.0)
    _raises(tf.errors.InvalidArgumentError, lambda: _run([t2.read(i), t2.stack()], {i: 0}),
            "Could not read index 0 twice because it was cleared")
    t3 = tf.TensorArray(tf.float32, 2).write(0, v)
    _raises(tf.errors.InvalidArgumentError,
            lambda: _run(t3.write(1, v[1:]).stack(), {v: [1.0, 2.0]}), "inferred element shape")
    _raises(tf.errors.UnimplementedError, lambda: _run(tf.TensorArray(tf.float32, 0).stack()),
            "size zero")


def test_error_inside_a_loop_names_the_loop():
    ta = tf.TensorArray(tf.float32, 3, tensor_array_name="outs")

    def body(i, ta):
        return i + 1, ta.write(i // 2, tf.cast(i, tf.float32))
    _, ta = tf.while_loop(lambda i, ta: i < 3, body, [0, ta], name="collect")
    msg = _raises(tf.errors.InvalidArgumentError, lambda: _run(ta.stack()),
                  "index 0 because it has already been written")
    assert "TensorArray outs" in msg and "collect" in msg
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"in loop/branch collect_1/body"):
        tf.while_loop(lambda i, ta: i < 3, lambda i, ta: (i + 1, ta.write(5, 1.0)), [0, ta],
                      name="collect")
